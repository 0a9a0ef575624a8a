/*
 * Named, versioned, read-only views of the data for site scripts. A view is
 * a fixed SELECT with named parameters and the set of roles that may read
 * it; a script reads with the role its configuration gives it. Scripts never
 * write SQL: a change of shape is a new version ("contracts_ending.v2"),
 * and the old one stays as long as scripts use it.
 */
#ifndef TREMPLIN_VIEWS_H
#define TREMPLIN_VIEWS_H

#include <stddef.h>

#include <jansson.h>

#include "authz.h"
#include "policy.h"

struct db;

enum view_param_type {
	VP_DATE, /* "YYYY-MM-DD" */
	VP_INT, /* an integer in [min, max] */
	VP_ROLE, /* eti, cip, coordinator or admin */
};

struct view_param {
	const char *name; /* bound to :name in the SQL */
	enum view_param_type type;
	int required;
	long long min, max;
};

struct view {
	const char *name; /* "<what>.v<version>" */
	const char *description;
	const char *sql; /* static text: the statement cache keys on it */
	const struct view_param *params;
	size_t nparams;
	const char *const *booleans; /* columns read as 0/1 and given as booleans; NULL-ended */
	unsigned roles; /* ROLEBIT()s that may read it */
	/*
	 * What it shows, as policy categories (1 << enum category). Reads of a
	 * view that shows an audited category are recorded in the audit log,
	 * one entry per person of its employee_id column, as reads of the API.
	 */
	unsigned categories;
};

/* Rows a view gives at most: past that the call fails (narrow the parameters). */
#define VIEW_MAX_ROWS 5000

const struct view *view_find(const char *name);
/*
 * Add a view of a plugin's own data (its params array is the registry's to
 * free; its texts the plugin's, alive while it is loaded): -1 when the name
 * is taken or the registry full. Removed with view_remove_owner.
 */
int view_add(const struct view *, const void *owner);
void view_remove_owner(const void *owner);
/* The registry, for documentation and tests. */
const struct view *view_list(size_t *n);

/* The audited categories a view shows: 0 when its reads are not recorded. */
unsigned view_audited(const struct view *);
/*
 * The distinct values of the employee_id column of rows (a view's
 * answer), in a new array the caller frees; *n of them (0: NULL).
 */
int64_t *view_employees(const json_t *rows, size_t *n);

/*
 * Run view `name` for a reader of `role` with params (a JSON object, or
 * NULL). On success *rows is a new array of objects (NULL columns left out).
 * -1 with err set: unknown view, role refused, a bad or unknown parameter,
 * too many rows, a database error. Every statement is reset before this
 * returns.
 */
int view_run(struct db *, const char *name, enum role, const json_t *params, json_t **rows,
    char *err, size_t errlen);

#endif
