/* Logging in one family, after OpenBSD's log.c: stderr in the foreground, syslog otherwise. */
#ifndef TREMPLIN_LOG_H
#define TREMPLIN_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_WARNING = 0, LOG_LEVEL_INFO = 1, LOG_LEVEL_DEBUG = 2 };

void log_init(int foreground, int level);
void log_setlevel(int level);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
