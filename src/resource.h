/*
 * The record framework: a record type is declared once (struct
 * tremplin_record, in the SDK header) by the kernel or by a plugin, through
 * the same host call; registering it resolves its categories, its owner and
 * its parent, builds its SQL, adds its routes to the router and its entry
 * to the catalogue of person-linked tables. One set of handlers serves every
 * record, so that validation, the policy, the audit log and the journal are
 * applied the same way everywhere.
 */
#ifndef TREMPLIN_RESOURCE_H
#define TREMPLIN_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>
#include <tremplin/plugin.h>

#include "json.h"
#include "policy.h"

struct router;
struct db;

#define RESOURCE_MAX 256
#define RESOURCE_NAME_MAX 80

/* A registered record type: its declaration, resolved. */
struct resource {
	const struct tremplin_record *decl;
	void *arg; /* handed to the declaration's hooks */
	const void *owner; /* the module that declared it (its plugin record), for unloading */
	char module[33]; /* "kernel" or the plugin's name */
	int embedded; /* declared by a module in the daemon's image (the kernel) */
	char name[RESOURCE_NAME_MAX]; /* "barrier", or "<plugin>.<name>" */
	char base[48]; /* "/v1" or "/v1/<plugin>" */
	const char *plural, *table;
	const struct tremplin_column *cols; /* the first is "id" */
	size_t ncols;
	enum category *cat; /* per column */
	enum category *comp_cat; /* per computed field */
	const struct resource **ref; /* per column: a REF column's record type */
	enum category sensitive_base; /* sensitive_col's category when the row is not sensitive */
	const struct resource *parent;
	const char *parent_col;
	const char *person_col; /* the column naming the person, or NULL (through the parent) */
	int person; /* holds a person's data: person_col, or a parent that does */
	int is_person; /* the person's own record (person_col is "id") */
	int depth; /* 0 for a root; erasure removes the deepest first */
	unsigned ops;
	/* SQL built from the columns. */
	char *sql_select, *sql_insert, *sql_update, *sql_delete;
	char *sql_by_person; /* rows of one person (?1), after id ?2, limit ?3 */
	char *sql_by_parent; /* rows of one parent row (?1), after ?2, limit ?3 */
	char *sql_all; /* every row after ?1, limit ?2 (records of nobody) */
	char *person_where; /* a WHERE clause selecting one person's (?1) rows */
	uint64_t shared_mask; /* the columns the ETI reads on shared rows (decl->shared_fields) */
	int shared_idx; /* decl->shared_col's index, or -1 */
};

/*
 * Register a record type declared by module (its name: "kernel" or the
 * plugin's; embedded: a module of the daemon's image, whose names and tables
 * take no prefix) with its routes under base. -1 with err (one line, naming
 * the field) when the declaration is refused: then nothing is registered.
 * rt NULL: no routes; db NULL: the table is not checked (tremplind -n).
 */
struct resource_module {
	const void *owner; /* removed with it: resource_unregister_owner */
	const char *name;
	const char *base; /* "/v1", "/v1/<plugin>" */
	int embedded;
};
int resource_register(struct router *, struct db *, const struct resource_module *,
    const struct tremplin_record *, void *arg, char *err, size_t errlen);
/* Forget every record type of owner (a plugin being unloaded); its routes too. */
void resource_unregister_owner(struct router *, const void *owner);
/* Forget every record type (shutdown). */
void resource_unregister_all(struct router *);

/* The registry, in registration order (the person's record first). */
size_t resource_count(void);
const struct resource *resource_at(size_t i);
/* A record type by its name ("pass", "example.mood"); NULL when none. */
const struct resource *resource_find(const char *name);
/* The person's own record (the kernel's "employee"); NULL before the kernel registers. */
const struct resource *resource_person(void);

/* The access of the caller to one person's file; -1 when the person does not exist. */
int access_for_employee(struct tremplin_request *, int64_t employee_id, struct access *out);
/* The same from the person's row as loaded (its referent_cip_id and referent_eti_id). */
void access_of_employee_row(struct tremplin_request *, const json_t *employee, struct access *out);
/* As hooks and plugins see it. */
void access_public(const struct access *, struct tremplin_access *out);

/*
 * The caller's rights on row id of res (the person's file it is in, its row
 * rules), or, id 0, on a new row under scope (a person, a parent row, or
 * nothing): the handlers' own rules, for plugins' host calls. -1 with e
 * (404 for what the caller may not see, 500 on a database failure).
 */
int resource_access(struct tremplin_request *, const struct resource *, int64_t id, int64_t scope,
    int64_t *employee_id, struct access *, struct tremplin_error *);

/* The generic handlers; a record is chosen by the route's arg. */
void resource_list(struct tremplin_request *);
void resource_create(struct tremplin_request *);
void resource_get(struct tremplin_request *);
/* GET of one row of res, for a hand-written route that adds to it (a PASS on a day). */
void resource_get_as(struct tremplin_request *, const struct resource *);
void resource_update(struct tremplin_request *);
void resource_delete(struct tremplin_request *);

/*
 * The object as the caller may see it: fields of categories it may not read
 * are absent. Adds to *cats the audited categories it shows. NULL when the
 * row itself is hidden from the caller.
 */
json_t *resource_view(const struct resource *, const struct access *, json_t *row, unsigned *cats);
/* resource_view, then the nested records and the computed fields (expand). */
json_t *resource_show(struct tremplin_request *, const struct resource *, const struct access *,
    json_t *row, unsigned *cats);
/* The current row of a statement selecting the record's columns, as JSON, raw (no policy). */
json_t *resource_row(const struct resource *, sqlite3_stmt *);
/* Load one row as JSON, raw (no policy). NULL when absent; *dberr on a failure. */
json_t *resource_load(struct tremplin_request *, const struct resource *, int64_t id, int *dberr);
/* Whether res's sensitive_col is CAT_SENSITIVE in this row. */
int resource_sensitive_row(const struct resource *, const json_t *row);
/* The categories of the non-null fields of a view. */
unsigned resource_shown(const struct resource *, const json_t *view);
/* Every category a record's fields may hold. */
unsigned resource_categories(const struct resource *);
/* Record that the person's file was touched now (for retention). */
int employee_touch(struct tremplin_request *, int64_t employee_id);
/*
 * The person a row belongs to (through its parents): 0 and *employee_id
 * (0 for a record of nobody), or -1 when a parent is gone or on a database
 * error.
 */
int resource_employee(
    struct tremplin_request *, const struct resource *, const json_t *row, int64_t *employee_id);
/*
 * The rows of res whose parent is parent_id, each as the caller may see it
 * (resource_show): an array, in creation order; NULL on a database error.
 */
json_t *resource_children(struct tremplin_request *, const struct resource *res, int64_t parent_id,
    const struct access *, unsigned *cats);
/*
 * Journal a change of one row: "<name>.created" (changed NULL), "<name>.updated"
 * with the names of the changed fields, never the values. Inside the
 * caller's transaction.
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

/*
 * Create (id 0: *id set) or merge-patch a row through the record's rules,
 * as the generic handlers do, for plugins' host calls: a = the rights it
 * writes with; the audit and the journal name r's caller (or the actor
 * given in r). 0, or -1 with e set.
 */
int resource_write(struct tremplin_request *, const struct resource *, const struct access *,
    int64_t parent_id, json_t *in, int64_t *id, struct tremplin_error *e);

/*
 * Add beside each id of a staff account or a person in view its display
 * name, as far as a (the caller's rights on the row's person) reads it:
 * referent_cip_id -> referent_cip_name, employee_id -> employee_name,
 * done_by -> done_by_name. Used by resource_show.
 */
void resource_names(
    struct tremplin_request *, const struct resource *, const struct access *, json_t *view);
/* A staff account's name, or NULL (a new reference). */
json_t *staff_display_name(struct tremplin_request *, int64_t staff_id);
/* A person's "first last", or NULL (a new reference): the caller must read identity. */
json_t *person_display_name(struct tremplin_request *, int64_t employee_id);
/* The caller's staff id for "me" in a filter, else v parsed as an id: 0 and *id, or -1. */
int staff_filter_id(struct tremplin_request *, const char *v, int64_t *id);

/* The records' part of GET /v1/policy: name -> fields, categories, paths. */
json_t *resource_policy_json(void);

/* Values checks shared with the hand-written modules (contracts, PASS). */
int valid_date(const char *);
/* Days since 1970-01-01 for a valid date. */
int64_t date_days(const char *);
void date_from_days(int64_t days, char *buf, size_t size);
/* Today on the Europe/Paris calendar. */
void date_today(char *buf, size_t size);

#endif
