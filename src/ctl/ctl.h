/*
 * tremplinctl: what its parts share, the program's name, its exit statuses,
 * its global options and its output helpers (tremplinctl.c).
 *
 * The CLI is a client of the API, not a part of the daemon: only the demo
 * (demo.c, cmd_demo.c) includes the daemon's headers, because it writes a
 * database with the daemon's own code.
 */
#ifndef TREMPLINCTL_CTL_H
#define TREMPLINCTL_CTL_H

#include <stdio.h>

#include <jansson.h>

#define PROG "tremplinctl"

enum {
	EXIT_ERR = 1, /* the daemon refused, or a local failure */
	EXIT_USAGE = 64, /* as EX_USAGE in sysexits.h */
	EXIT_NOANSWER = 69, /* as EX_UNAVAILABLE: cannot connect, timeout, connection lost */
};

struct ctl {
	const char *socket;
	int quiet;
};

/* The usage, its commands from the table in commands.c. */
void usage(FILE *);

/* Text from the daemon may echo user input; keep control characters away
 * from the terminal. */
void put_clean(FILE *, const char *);

/* Prints j indented on stdout, unless quiet: 0 or EXIT_ERR. */
int print_json(const struct ctl *, json_t *j);

#endif
