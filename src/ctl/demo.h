/*
 * Demo data: a realistic insertion workshop, or N generated pathways with
 * years of history, written straight into a new database with the daemon's
 * own migrations (tremplinctl demo, bench/pathway.c).
 */
#ifndef TREMPLIN_DEMO_H
#define TREMPLIN_DEMO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Give a demo staff account to a Unix user. account is the demo user name
 * without its "demo-" prefix: "coordinator", "cip", "eti1", "eti2" ("eti"
 * is "eti1"); generated workshops add "cip2", "eti3"...
 */
struct demo_as {
	const char *account;
	const char *unix_user;
};

struct demo_options {
	const char *database; /* a new file, or an empty one */
	int employees; /* 0: the hand-written workshop of twelve */
	int years; /* of history, with employees */
	uint64_t seed; /* with employees: the same seed and day give the same data */
	const struct demo_as *as;
	size_t nas;
};

struct demo_counts {
	long structures, staff, employees, candidates, in_pathway, exited, contracts, renewals,
	    passes, welcome, barriers, observations, goals, reviews, notes, exits;
};

/*
 * Create the database, migrate it and fill it, in batches of transactions.
 * Refuses a file that exists and is not empty; removes what it created when
 * it fails. 0, or -1 with err set.
 */
int demo_create(const struct demo_options *, struct demo_counts *, char *err, size_t errlen);

/*
 * The production plugin's month for the workshop (demo_production.c): its
 * migrations, then the rows, in a transaction of its own. 0, or -1 with err.
 */
struct db;
int demo_production(struct db *, int64_t structure, int64_t today, char *err, size_t errlen);

/* The names of the demo's staff accounts, for messages: NULL when unknown. */
const char *demo_account_name(const char *account);

/*
 * The skills plugin's part of the demo workshop (demo_skills.c): its schema,
 * run with the core's, and its rows, written after the workshop's.
 */
struct db;
struct db_module;
const struct db_module *demo_skills_module(void);
int demo_skills(struct db *, int64_t today, char *err, size_t errlen);

#endif
