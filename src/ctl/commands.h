/*
 * tremplinctl's commands: one table, from which come the dispatch, the
 * checks of the number of arguments and the usage that `tremplinctl help`
 * prints; tremplinctl(1) describes the same commands (tests/integration/
 * test_tremplinctl.py checks both ways).
 */
#ifndef TREMPLINCTL_COMMANDS_H
#define TREMPLINCTL_COMMANDS_H

#include <stddef.h>

#include "ctl.h"

struct command {
	const char *name;
	const char *usage; /* its arguments, for the usage; "" if none */
	/* One line for the usage, or more separated by '\n'. */
	const char *help;
	int min_args;
	int max_args; /* -1: the command checks its own arguments */
	int local; /* talks to no daemon */
	/* argv[0] is the command's name, as for a main(); argc counts it. */
	int (*run)(const struct ctl *, int argc, char **argv);
};

extern const struct command commands[];
extern const size_t ncommands;

/* The command named name, or NULL. */
const struct command *command_find(const char *name);

/* demo: fills a new database with demo data (cmd_demo.c). */
int cmd_demo(const struct ctl *, int, char **);

/* alerts: list, acknowledge or resolve alerts (cmd_alerts.c). */
int cmd_alerts(const struct ctl *, int, char **);

#endif
