/* Small helpers the C library of Debian 12 lacks. */
#ifndef TREMPLIN_UTIL_H
#define TREMPLIN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

size_t tr_strlcpy(char *dst, const char *src, size_t size);
/* Format t (UTC) as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes). */
void tr_rfc3339(time_t t, char *buf, size_t size);
/*
 * The length (1 to 4) of the UTF-8 character at s, of which n bytes are
 * there; 0 when s does not start one (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), as jansson judges it too.
 */
size_t tr_utf8_char(const char *s, size_t n);
/* The longest prefix of s, at most max bytes, that does not end inside a character. */
size_t tr_utf8_cut(const char *s, size_t max);
/* Parse a decimal int64 in [min, max]; the whole string must be digits. */
int tr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * The daemon's civil clock: the time stamped on records and used for
 * dates, retention and dated rules. It is the real clock, shifted by an
 * offset only the tests set (TREMPLIN_TEST_CLOCK). Timeouts and caches use
 * the real clocks, not this one.
 */
void tr_clock_set_offset(int64_t ms);
int64_t tr_now_ms(void);
time_t tr_now(void);

#define TR_NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
