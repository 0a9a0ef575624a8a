/*
 * Table-driven resources of a person's file (the employee and the follow-up
 * records): one description per resource — its columns, their types and
 * their confidentiality category — and one set of handlers for all of them,
 * so that validation, the policy, the audit log and the journal are applied
 * the same way everywhere.
 */
#ifndef TREMPLIN_RESOURCE_H
#define TREMPLIN_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "json.h"
#include "policy.h"

struct tremplin_request;

enum col_type {
	COL_TEXT, /* max: characters */
	COL_DATE, /* YYYY-MM-DD, a real calendar day */
	COL_INT, /* min..max */
	COL_REAL, /* min..max */
	COL_BOOL,
	COL_ENUM, /* one of values[] */
	COL_STAFF, /* the id of an active staff account (role checked by the resource) */
	COL_NAMES, /* a JSON array of short strings, stored as JSON text */
};

#define COL_REQUIRED 0x1 /* must be given on create */
#define COL_NULLABLE 0x2 /* null clears it */
#define COL_SERVER 0x4 /* set by the server: never taken from input */
#define COL_FIXED 0x8 /* taken on create, never changed */

struct column {
	const char *name;
	enum col_type type;
	unsigned flags;
	enum category cat;
	int min, max;
	const char *const *values; /* COL_ENUM: NULL-terminated */
	const char *def; /* JSON text of the value on create when absent */
};

/* A field the server computes for the view (a PASS's end): not a column. */
struct computed {
	const char *name;
	enum category cat;
};

struct resource {
	const char *name; /* singular, for events and the audit: "barrier" */
	const char *plural; /* its path: /v1/<plural>/{id} */
	const char *table;
	const struct column *cols; /* the first is "id"; a child's second is "employee_id" */
	size_t ncols;
	int child; /* belongs to an employee (employee_id column, or through its parent) */
	/*
	 * Belongs to a row of another child resource (a contract's renewals):
	 * parent_col holds that row's id and the person is the parent's. Its
	 * routes take the parent's id (POST /v1/contracts/{id}/renewals); the
	 * parent shows its rows nested (expand, resource_children); sql_list
	 * still lists one person's rows, through the parent, for walkers of
	 * all_resources. Such a resource has child set and no employee_id; its
	 * parent is a child of the employee with no row rule (visible).
	 */
	const struct resource *parent;
	const char *parent_col;
	const char *nested_as; /* the key of its rows in the parent's view: "renewals" */
	/*
	 * Cross-field rules on the whole object (after a merge patch); before is
	 * NULL on create. Sets e and returns -1 to refuse.
	 */
	int (*check)(
	    struct tremplin_request *, json_t *obj, const json_t *before, struct tremplin_error *e);
	/* Row rules beyond the columns' categories (the ETI sees shared barriers only). */
	int (*visible)(const struct access *, const json_t *row);
	/*
	 * A column's category may depend on the row: sensitive_col is
	 * CAT_SENSITIVE in the rows where sensitive_key holds one of
	 * sensitive_values (a health barrier's detail), or, for a rule no list
	 * says, where sensitive_row is true. GET /v1/policy shows the list.
	 */
	const char *sensitive_col;
	const char *sensitive_key;
	const char *const *sensitive_values; /* NULL-terminated */
	int (*sensitive_row)(const json_t *row);
	const char *author_col; /* set on create to the caller's staff id: "created_by" */
	/* More writes in the same transaction (an exit sets the pathway's status). */
	int (*after_write)(struct tremplin_request *, json_t *obj, int64_t id);
	/*
	 * Computed fields added to the view (a PASS's status today). Each is
	 * declared in computed[] with its category: the policy applies to it as
	 * to a column (after expand, a field the caller may not read is removed
	 * and audited ones shown are counted), and GET /v1/policy lists it. The
	 * hook is not called when the caller may read none of them; it need not
	 * check the policy itself. Children (parent) are nested by resource_show
	 * itself. Used by get, list and export.
	 */
	int (*expand)(
	    struct tremplin_request *, const struct access *, json_t *view, unsigned *cats);
	const struct computed *computed;
	size_t ncomputed;
	/* SQL built once from the columns; sql_children: the rows of one parent. */
	char *sql_select, *sql_insert, *sql_update, *sql_list, *sql_children;
};

/* Build every resource's SQL; once, at start. */
void resources_init(void);

/* The access of the caller to one person's file; -1 when the person does not exist. */
int access_for_employee(struct tremplin_request *, int64_t employee_id, struct access *out);
/* The same from the person's row as loaded (its referent_cip_id and referent_eti_id). */
void access_of_employee_row(struct tremplin_request *, const json_t *employee, struct access *out);

/* The generic handlers; a resource is chosen by the route's arg. */
void resource_list(
    struct tremplin_request *); /* GET /v1/employees/{id}/<things> (or the parent's path) */
void resource_create(
    struct tremplin_request *); /* POST /v1/employees/{id}/<things> (or the parent's) */
void resource_get(struct tremplin_request *); /* GET /v1/<things>/{id} */
void resource_update(struct tremplin_request *); /* PATCH /v1/<things>/{id} */

/*
 * The object as the caller may see it: fields of categories it may not read
 * are absent. Adds to *cats the audited categories it shows. NULL when the
 * row itself is hidden from the caller.
 */
json_t *resource_view(const struct resource *, const struct access *, json_t *row, unsigned *cats);
/* resource_view, then the resource's nested records (expand). */
json_t *resource_show(struct tremplin_request *, const struct resource *, const struct access *,
    json_t *row, unsigned *cats);
/* The current row of a statement selecting the resource's columns, as JSON, raw (no policy). */
json_t *resource_row(const struct resource *, sqlite3_stmt *);
/* Load one row as JSON, raw (no policy). NULL when absent; *dberr on a failure. */
json_t *resource_load(struct tremplin_request *, const struct resource *, int64_t id, int *dberr);
/*
 * The resource's expand hook on a view, then the policy on its computed
 * fields (those the caller may not read are removed); -1 on a failure.
 */
int resource_expand(struct tremplin_request *, const struct resource *, const struct access *,
    json_t *view, unsigned *cats);
/* Whether res's sensitive_col is CAT_SENSITIVE in this row. */
int resource_sensitive_row(const struct resource *, const json_t *row);
/* Record that the person's file was touched now (for retention). */
int employee_touch(struct tremplin_request *, int64_t employee_id);
/*
 * The person a row belongs to (through its parent when it has one): 0 and
 * *employee_id, or -1 when the parent is gone or on a database error.
 */
int resource_employee(
    struct tremplin_request *, const struct resource *, const json_t *row, int64_t *employee_id);
/*
 * The rows of res whose parent is parent_id, each as the caller may see it
 * (resource_view): an array, in creation order; NULL on a database error.
 * For expand hooks.
 */
json_t *resource_children(struct tremplin_request *, const struct resource *res, int64_t parent_id,
    const struct access *, unsigned *cats);
/*
 * Journal a change of one row: "<name>.created" (changed NULL) or
 * "<name>.updated" with the names of the changed fields; never the values.
 * Inside the caller's transaction.
 */
int resource_publish(struct tremplin_request *, const struct resource *, int64_t id,
    int64_t employee_id, const json_t *row, json_t *changed);

/*
 * The checks of a create body (before NULL) or a patch against the columns
 * and the caller's rights, as the handlers make them; merged is the object
 * as it will be. For tests and fuzzing: the handlers call it themselves.
 */
int resource_check_input(struct tremplin_request *, const struct resource *, const struct access *,
    json_t *in, const json_t *before, const json_t *merged, unsigned *cats,
    struct tremplin_error *);

/* Values checks shared with the hand-written modules (contracts, PASS). */
int valid_date(const char *);
/* Days since 1970-01-01 for a valid date. */
int64_t date_days(const char *);
void date_from_days(int64_t days, char *buf, size_t size);
/* Today on the Europe/Paris calendar. */
void date_today(char *buf, size_t size);

/* Every resource, the employee first (resources.c): export and /v1/policy walk it. */
extern struct resource *const all_resources[];
extern const size_t nall_resources;

extern struct resource res_employee, res_welcome, res_barrier, res_observation, res_goal,
    res_review, res_note, res_exit;
/* contracts.c */
extern struct resource res_contract, res_contract_renewal, res_contract_suspension,
    res_ai_placement;
extern struct resource res_pass, res_pass_suspension, res_pass_prolongation;

#endif
