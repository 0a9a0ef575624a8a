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

/* For staff: worklists, the team, people, indicators, as tables (cmd_staff.c). */
int cmd_people(const struct ctl *, int, char **);
int cmd_team(const struct ctl *, int, char **);
int cmd_reviews(const struct ctl *, int, char **);
int cmd_ending(const struct ctl *, int, char **);
int cmd_welcome(const struct ctl *, int, char **);
int cmd_goals(const struct ctl *, int, char **);
int cmd_entry_reviews(const struct ctl *, int, char **);
int cmd_indicators(const struct ctl *, int, char **);

/* demo: fills a new database with demo data (cmd_demo.c). */
int cmd_demo(const struct ctl *, int, char **);
/* retention: --dry-run lists what would be purged, --confirm lets a held purge go. */
int cmd_retention(const struct ctl *, int, char **);
/* registry status|sync: the registry plugin's state, a run now (cmd_registry.c). */
int cmd_registry(const struct ctl *, int, char **);

/* skills: the skills plugin's commands (cmd_skills.c). */
int cmd_skills(const struct ctl *, int, char **);
/* production: the production plugin's reports (cmd_production.c). */
int cmd_production(const struct ctl *, int, char **);

/* alerts: list, acknowledge or resolve alerts (cmd_alerts.c). */
int cmd_alerts(const struct ctl *, int, char **);

#endif
