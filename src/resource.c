/*
 * The generic handlers of a person's file. Every read goes through
 * resource_view (fields the caller may not read are absent; rows it may not
 * see do not exist) and every write through check_input (a field it may not
 * write is refused by name). Reads of audited categories and all writes are
 * recorded in the audit log before the answer or the commit.
 */
#include "resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "calendar.h"
#include "audit.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "router.h"
#include "handlers.h"
#include "server.h"
#include "textfold.h"
#include "util.h"
#include "validate.h"

/* ---- dates: the Europe/Paris calendar (calendar.h) ---- */

int
valid_date(const char *s)
{
	int64_t d;

	return s != NULL && cal_parse(s, strlen(s), &d) == 0;
}

int64_t
date_days(const char *s)
{
	int64_t d = 0;

	cal_parse(s, strlen(s), &d);
	return d;
}

void
date_from_days(int64_t days, char *buf, size_t size)
{
	if (cal_format(days, buf, size) == -1)
		tr_strlcpy(buf, "", size);
}

void
date_today(char *buf, size_t size)
{
	date_from_days(cal_paris_day(tr_now_ms()), buf, size);
}

/* ---- the catalogue of person-linked tables ---- */

/*
 * Every person-linked table ever declared, with the clause that selects one
 * person's rows: erasure and retention use it, so that a plugin no longer
 * loaded still has its data erased, and the export says it is there.
 * Written only when something changed, so that a start on a full disk
 * writes nothing.
 */
static int
catalogue_note(struct db *db, const struct resource *res)
{
	static const char get[] =
	    "SELECT module, tbl, person_where, depth FROM record_catalogue WHERE name = ?";
	static const char put[] =
	    "INSERT INTO record_catalogue (name, module, tbl, person_where, depth, declared_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO UPDATE SET module = ?2,"
	    " tbl = ?3, person_where = ?4, depth = ?5, declared_at = ?6";
	sqlite3_stmt *st = db_stmt(db, get);
	char now[32];
	int same = 0, rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, res->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		same = strcmp((const char *)sqlite3_column_text(st, 0), res->module) == 0 &&
		    strcmp((const char *)sqlite3_column_text(st, 1), res->table) == 0 &&
		    strcmp((const char *)sqlite3_column_text(st, 2), res->person_where) == 0 &&
		    sqlite3_column_int(st, 3) == res->depth;
	db_done(st);
	if (same)
		return 0;
	if ((st = db_stmt(db, put)) == NULL)
		return -1;
	tr_rfc3339(tr_now(), now, sizeof(now));
	sqlite3_bind_text(st, 1, res->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, res->module, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, res->table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, res->person_where, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, res->depth);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- the registry ---- */

static struct resource *registry[RESOURCE_MAX];
static size_t nregistry;

size_t
resource_count(void)
{
	return nregistry;
}

const struct resource *
resource_at(size_t i)
{
	return i < nregistry ? registry[i] : NULL;
}

const struct resource *
resource_find(const char *name)
{
	for (size_t i = 0; i < nregistry; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

const struct resource *
resource_person(void)
{
	for (size_t i = 0; i < nregistry; i++)
		if (registry[i]->is_person)
			return registry[i];
	return NULL;
}

static const struct tremplin_column *
find_col(const struct resource *res, const char *name)
{
	for (size_t i = 0; i < res->ncols; i++)
		if (strcmp(res->cols[i].name, name) == 0)
			return &res->cols[i];
	return NULL;
}

static size_t
col_index(const struct resource *res, const struct tremplin_column *c)
{
	return (size_t)(c - res->cols);
}

static char *build(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
build(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	return s;
}

/* Names that go into SQL and paths: [a-z][a-z0-9_]*, at most max characters. */
static int
valid_ident(const char *s, size_t max)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* The filters' clauses, from ?4 on: "AND (?4 IS NULL OR col = ?4) ...". */
static void
filter_sql(const struct tremplin_record *d, char *buf, size_t size)
{
	static const char *const ops[] = { [TREMPLIN_FILTER_EQ] = "=",
		[TREMPLIN_FILTER_FROM] = ">=",
		[TREMPLIN_FILTER_TO] = "<=" };

	buf[0] = '\0';
	for (size_t i = 0; i < d->nfilters; i++) {
		size_t n = strlen(buf);
		snprintf(buf + n, size - n, " AND (?%zu IS NULL OR %s %s ?%zu)", i + 4,
		    d->filters[i].column, ops[d->filters[i].op], i + 4);
	}
}

static void
build_sql(struct resource *res)
{
	char cols[4096] = "", marks[1024] = "", sets[4096] = "", filters[2048];
	size_t nins = 0;

	for (size_t i = 0; i < res->ncols; i++) {
		const struct tremplin_column *c = &res->cols[i];
		size_t n = strlen(cols);
		snprintf(cols + n, sizeof(cols) - n, "%s%s", i ? ", " : "", c->name);
		if (i == 0)
			continue; /* the id */
		n = strlen(marks);
		snprintf(marks + n, sizeof(marks) - n, "%s?", nins ? ", " : "");
		n = strlen(sets);
		snprintf(sets + n, sizeof(sets) - n, "%s%s = ?", nins ? ", " : "", c->name);
		nins++;
	}
	filter_sql(res->decl, filters, sizeof(filters));
	res->sql_select = build("SELECT %s FROM %s WHERE id = ?", cols, res->table);
	res->sql_insert =
	    build("INSERT INTO %s (%s) VALUES (%s)", res->table, strchr(cols, ',') + 2, marks);
	res->sql_update = build("UPDATE %s SET %s WHERE id = ?", res->table, sets);
	res->sql_delete = build("DELETE FROM %s WHERE id = ?", res->table);
	if (res->is_person)
		res->person_where = build("id = ?1");
	else if (res->person_col != NULL)
		res->person_where = build("%s = ?1", res->person_col);
	else if (res->parent != NULL && res->parent->person)
		res->person_where = build("%s IN (SELECT id FROM %s WHERE %s)", res->parent_col,
		    res->parent->table, res->parent->person_where);
	if (res->person_where != NULL)
		res->sql_by_person =
		    build("SELECT %s FROM %s WHERE (%s) AND id > ?2%s ORDER BY id LIMIT ?3", cols,
		        res->table, res->person_where, filters);
	if (res->parent != NULL)
		res->sql_by_parent =
		    build("SELECT %s FROM %s WHERE %s = ?1 AND id > ?2%s ORDER BY id LIMIT ?3",
		        cols, res->table, res->parent_col, filters);
	res->sql_all = build(
	    "SELECT %s FROM %s WHERE id > ?2%s ORDER BY id LIMIT ?3", cols, res->table, filters);
}

static void
resource_free(struct resource *res)
{
	free(res->cat);
	free(res->ref);
	free(res->comp_cat);
	free(res->sql_select);
	free(res->sql_insert);
	free(res->sql_update);
	free(res->sql_delete);
	free(res->sql_by_person);
	free(res->sql_by_parent);
	free(res->sql_all);
	free(res->person_where);
	free(res);
}

/* Whether a column's value is the server's to set. */
static int
server_col(const struct resource *res, const struct tremplin_column *c)
{
	return (c->flags &
	           (TREMPLIN_COL_SERVER | TREMPLIN_COL_AUTHOR | TREMPLIN_COL_STAMP |
	               TREMPLIN_COL_CREATED)) != 0 ||
	    c == res->cols || (res->person_col && strcmp(c->name, res->person_col) == 0) ||
	    (res->parent_col && strcmp(c->name, res->parent_col) == 0);
}

static int refuse_decl(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse_decl(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
resolve_columns(struct resource *res, const char *module, char *err, size_t errlen)
{
	const struct tremplin_record *d = res->decl;

	if (d->columns == NULL || d->ncolumns < 2 || d->ncolumns > 64)
		return refuse_decl(err, errlen, "columns: 2 to 64, the first named \"id\"");
	if (strcmp(d->columns[0].name ? d->columns[0].name : "", "id") != 0)
		return refuse_decl(err, errlen, "columns: the first is \"id\"");
	res->cat = calloc(d->ncolumns, sizeof(*res->cat));
	res->ref = calloc(d->ncolumns, sizeof(*res->ref));
	res->comp_cat = calloc(d->ncomputed ? d->ncomputed : 1, sizeof(*res->comp_cat));
	if (res->cat == NULL || res->comp_cat == NULL || res->ref == NULL)
		fatal("calloc");
	for (size_t i = 0; i < d->ncolumns; i++) {
		const struct tremplin_column *c = &d->columns[i];
		if (!valid_ident(c->name, 48))
			return refuse_decl(err, errlen, "column %zu: a name is [a-z][a-z0-9_]*", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(d->columns[j].name, c->name) == 0)
				return refuse_decl(
				    err, errlen, "column %s: declared twice", c->name);
		if (c->type < TREMPLIN_COL_TEXT || c->type > TREMPLIN_COL_REF)
			return refuse_decl(err, errlen, "column %s: unknown type", c->name);
		if (c->type == TREMPLIN_COL_ENUM && (c->values == NULL || c->values[0] == NULL))
			return refuse_decl(err, errlen, "column %s: an enum needs values", c->name);
		if (c->type == TREMPLIN_COL_REF) {
			/* Its own module's, or the kernel's: another plugin may be unloaded alone. */
			char qualified[RESOURCE_NAME_MAX];
			snprintf(
			    qualified, sizeof(qualified), "%s.%s", module, c->ref ? c->ref : "");
			if (c->ref != NULL && (res->ref[i] = resource_find(qualified)) == NULL &&
			    ((res->ref[i] = resource_find(c->ref)) == NULL ||
			        !res->ref[i]->embedded))
				res->ref[i] = NULL;
			if (res->ref[i] == NULL)
				return refuse_decl(err, errlen,
				    "column %s: ref names no record type of its module or the "
				    "kernel "
				    "declared before it",
				    c->name);
		}
		if (c->category == NULL) {
			res->cat[i] = CAT_NONE;
			continue;
		}
		if ((res->cat[i] = category_from_name(c->category)) == CAT_MAX)
			return refuse_decl(err, errlen,
			    "column %s: unknown category \"%s\" (GET /v1/policy lists them)",
			    c->name, c->category);
	}
	for (size_t i = 0; i < d->ncomputed; i++) {
		const struct tremplin_computed *c = &d->computed[i];
		if (c->name == NULL || c->category == NULL ||
		    (res->comp_cat[i] = category_from_name(c->category)) == CAT_MAX)
			return refuse_decl(err, errlen,
			    "computed field %zu: a name and a known category are needed", i);
	}
	return 0;
}

/* A person's data must say what it is: every field a caller gives has a category. */
static int
check_person_categories(const struct resource *res, char *err, size_t errlen)
{
	for (size_t i = 0; i < res->ncols; i++) {
		const struct tremplin_column *c = &res->cols[i];
		if (server_col(res, c))
			continue;
		if (res->cat[i] == CAT_NONE)
			return refuse_decl(err, errlen,
			    "column %s: a person's record names the category of each field "
			    "(GET /v1/policy lists them)",
			    c->name);
	}
	return 0;
}

static int
resolve_owner(struct resource *res, const char *module, char *err, size_t errlen)
{
	const struct tremplin_record *d = res->decl;

	switch (d->owner) {
	case TREMPLIN_OWNER_NONE:
		res->person_col = d->person_col;
		break;
	case TREMPLIN_OWNER_PERSON:
		res->person_col = d->person_col ? d->person_col : "employee_id";
		break;
	case TREMPLIN_OWNER_RECORD: {
		char qualified[RESOURCE_NAME_MAX];
		if (d->parent == NULL || d->parent_col == NULL)
			return refuse_decl(
			    err, errlen, "a record's record names parent and parent_col");
		snprintf(qualified, sizeof(qualified), "%s.%s", module, d->parent);
		/* Its own module's, or the kernel's: another plugin may be unloaded alone. */
		if ((res->parent = resource_find(qualified)) == NULL &&
		    ((res->parent = resource_find(d->parent)) == NULL || !res->parent->embedded))
			return refuse_decl(err, errlen,
			    "parent %s: no such record type declared before it", d->parent);
		if (find_col(res, d->parent_col) == NULL)
			return refuse_decl(
			    err, errlen, "parent_col %s: not a declared column", d->parent_col);
		res->parent_col = d->parent_col;
		res->person_col = d->person_col;
		res->depth = res->parent->depth + 1;
		if (d->nested_as != NULL && !valid_ident(d->nested_as, 48))
			return refuse_decl(err, errlen, "nested_as: [a-z][a-z0-9_]*");
		break;
	}
	default:
		return refuse_decl(err, errlen, "owner: TREMPLIN_OWNER_NONE, _PERSON or _RECORD");
	}
	if (res->person_col != NULL) {
		if (find_col(res, res->person_col) == NULL)
			return refuse_decl(
			    err, errlen, "person_col %s: not a declared column", res->person_col);
		res->is_person = strcmp(res->person_col, "id") == 0;
		if (res->is_person && (!res->embedded || resource_person() != NULL))
			return refuse_decl(
			    err, errlen, "only the kernel declares the person's record");
	}
	res->person = res->person_col != NULL || (res->parent != NULL && res->parent->person);
	if (res->person && !res->is_person && resource_person() == NULL)
		return refuse_decl(err, errlen, "the person's record is not declared yet");
	return 0;
}

/* ?q= searches text columns; what is shared with the ETI is a BOOL column's choice. */
static int
check_search_shared(struct resource *res, char *err, size_t errlen)
{
	const struct tremplin_record *d = res->decl;
	const struct tremplin_column *c;

	for (size_t i = 0; d->search != NULL && d->search[i] != NULL; i++)
		if ((c = find_col(res, d->search[i])) == NULL || c->type != TREMPLIN_COL_TEXT)
			return refuse_decl(
			    err, errlen, "search %s: not a declared text column", d->search[i]);
	res->shared_idx = -1;
	if (d->shared_col == NULL)
		return d->shared_fields == NULL
		    ? 0
		    : refuse_decl(err, errlen, "shared_fields: shared_col is needed");
	if ((c = find_col(res, d->shared_col)) == NULL || c->type != TREMPLIN_COL_BOOL)
		return refuse_decl(
		    err, errlen, "shared_col %s: not a declared bool column", d->shared_col);
	res->shared_idx = (int)col_index(res, c);
	for (size_t i = 0; d->shared_fields != NULL && d->shared_fields[i] != NULL; i++) {
		if ((c = find_col(res, d->shared_fields[i])) == NULL)
			return refuse_decl(err, errlen, "shared_fields %s: not a declared column",
			    d->shared_fields[i]);
		res->shared_mask |= (uint64_t)1 << col_index(res, c);
	}
	return 0;
}

static int
check_filters(const struct resource *res, char *err, size_t errlen)
{
	const struct tremplin_record *d = res->decl;

	if (d->nfilters > 16)
		return refuse_decl(err, errlen, "filters: at most 16");
	for (size_t i = 0; i < d->nfilters; i++) {
		const struct tremplin_filter *f = &d->filters[i];
		if (!valid_ident(f->name, 48) || strcmp(f->name, "limit") == 0 ||
		    strcmp(f->name, "cursor") == 0)
			return refuse_decl(err, errlen, "filter %zu: a name is [a-z][a-z0-9_]*", i);
		if (f->column == NULL || find_col(res, f->column) == NULL)
			return refuse_decl(
			    err, errlen, "filter %s: not a declared column", f->name);
		if (f->op < TREMPLIN_FILTER_EQ || f->op > TREMPLIN_FILTER_TO)
			return refuse_decl(err, errlen, "filter %s: unknown op", f->name);
	}
	return 0;
}

/* The collection's path: where a record's rows are listed and created. */
static void
collection_path(const struct resource *res, char *buf, size_t size)
{
	const char *seg = res->decl->collection ? res->decl->collection : res->plural;

	if (res->is_person || (res->parent == NULL && res->person_col == NULL))
		snprintf(buf, size, "%s/%s", res->base, seg);
	else if (res->parent == NULL)
		snprintf(buf, size, "%s/employees/{id}/%s", res->base, seg);
	else
		snprintf(buf, size, "%s/%s/{id}/%s", res->base, res->parent->plural, seg);
}

static void resource_get_route(struct tremplin_request *);
static int categorised(const struct resource *);

static int
add_routes(struct router *rt, struct resource *res, char *err, size_t errlen)
{
	char coll[256], item[256];
	unsigned flags = res->person ? RF_PERSONAL : 0;
	const struct {
		unsigned op, method;
		const char *path;
		route_fn fn;
		unsigned flags;
	} routes[] = {
		{ TREMPLIN_OP_LIST, M_GET, coll, resource_list, 0 },
		{ TREMPLIN_OP_CREATE, M_POST, coll, resource_create, RF_BODY },
		{ TREMPLIN_OP_GET, M_GET, item, resource_get_route, 0 },
		{ TREMPLIN_OP_UPDATE, M_PATCH, item, resource_update, RF_BODY },
		{ TREMPLIN_OP_DELETE, M_DELETE, item, resource_delete, 0 },
	};

	/*
	 * A record of nobody's lets in the roles its categories let read (GET)
	 * or write (the others): a role that may write none of it is refused
	 * before its body is read. A person's file lets in the staff who read
	 * personal data, and its rows and fields decide the rest.
	 */
	unsigned readers = ROLES_STAFF, writers = ROLES_STAFF;
	if (!res->person) {
		readers = writers = 0;
		for (size_t i = 0; i < res->ncols; i++) {
			/*
			 * Ids and timestamps ("none") let nobody in to a categorised
			 * record, as readable_at_all says: else the admin passes the
			 * route and meets a 404 where it should meet a 403.
			 */
			if (res->cat[i] == CAT_NONE && categorised(res))
				continue;
			readers |= policy_roles(res->cat[i], 0);
			if (!server_col(res, &res->cols[i]))
				writers |= policy_roles(res->cat[i], 1);
		}
		/* No role at all: a bit none has (0 would mean "decided by the action"). */
		readers = readers ? readers : 1u << ROLE_MAX;
		writers = writers ? writers : 1u << ROLE_MAX;
	}
	collection_path(res, coll, sizeof(coll));
	snprintf(item, sizeof(item), "%s/%s/{id}", res->base, res->plural);
	for (size_t i = 0; i < TR_NELEM(routes); i++) {
		if (!(res->ops & routes[i].op))
			continue;
		struct route r = {
			.method = routes[i].method,
			.pattern = routes[i].path,
			.fn = routes[i].fn,
			.action = ACT_PLUGIN_ROUTE,
			.flags = flags | routes[i].flags,
			.roles = routes[i].method == M_GET ? readers : writers,
			.arg = res,
			.owner = res, /* removed with the record type */
		};
		if (router_add(rt, &r) == -1) {
			router_remove_owner(rt, res);
			return refuse_decl(err, errlen, "route %s %s is taken already",
			    routes[i].method == M_GET         ? "GET"
			        : routes[i].method == M_POST  ? "POST"
			        : routes[i].method == M_PATCH ? "PATCH"
			                                      : "DELETE",
			    routes[i].path);
		}
	}
	return 0;
}

int
resource_register(struct router *rt, struct db *db, const struct resource_module *m,
    const struct tremplin_record *d, void *arg, char *err, size_t errlen)
{
	struct resource *res;
	const char *module = m->name;
	int kernel = m->embedded;

	if (d == NULL || d->size != sizeof(*d))
		return refuse_decl(err, errlen,
		    "record: declared with another SDK (size %u, this tremplind's is %zu)",
		    d ? d->size : 0, sizeof(*d));
	if (!valid_ident(d->name, 40) || !valid_ident(d->plural, 40) || !valid_ident(d->table, 63))
		return refuse_decl(err, errlen,
		    "record %s: name, plural and table are [a-z][a-z0-9_]*",
		    d->name && valid_ident(d->name, 40) ? d->name : "?");
	if (!kernel &&
	    (strncmp(d->table, module, strlen(module)) != 0 || d->table[strlen(module)] != '_'))
		return refuse_decl(
		    err, errlen, "record %s: its table must be named \"%s_...\"", d->name, module);
	if (nregistry == RESOURCE_MAX)
		return refuse_decl(err, errlen, "record %s: too many record types", d->name);
	if ((res = calloc(1, sizeof(*res))) == NULL)
		fatal("calloc");
	res->decl = d;
	res->arg = arg;
	res->owner = m->owner;
	res->embedded = m->embedded;
	tr_strlcpy(res->module, module, sizeof(res->module));
	if (kernel)
		tr_strlcpy(res->name, d->name, sizeof(res->name));
	else
		snprintf(res->name, sizeof(res->name), "%s.%s", module, d->name);
	tr_strlcpy(res->base, m->base, sizeof(res->base));
	res->plural = d->plural;
	res->table = d->table;
	res->cols = d->columns;
	res->ncols = d->ncolumns;
	res->ops = d->ops ? d->ops : TREMPLIN_OPS_DEFAULT;
	if (resource_find(res->name) != NULL) {
		resource_free(res);
		return refuse_decl(err, errlen, "record %s: declared twice", d->name);
	}
	if (resolve_columns(res, module, err, errlen) == -1 ||
	    resolve_owner(res, module, err, errlen) == -1 ||
	    ((d->journal != TREMPLIN_JOURNAL_IDS &&
	         (res->person || d->journal != TREMPLIN_JOURNAL_ROW)) &&
	        refuse_decl(err, errlen,
	            "journal: a person's record journals ids and changed names only") == -1) ||
	    (res->person && check_person_categories(res, err, errlen) == -1) ||
	    check_filters(res, err, errlen) == -1 || check_search_shared(res, err, errlen) == -1) {
		char why[512];
		tr_strlcpy(why, err, sizeof(why));
		snprintf(err, errlen, "record %s: %s", d->name, why);
		resource_free(res);
		return -1;
	}
	if (d->sensitive_col != NULL) {
		const struct tremplin_column *c = find_col(res, d->sensitive_col);
		if (c == NULL) {
			resource_free(res);
			return refuse_decl(err, errlen, "record %s: sensitive_col %s: not a column",
			    d->name, d->sensitive_col);
		}
		res->sensitive_base = res->cat[col_index(res, c)];
	}
	build_sql(res);
	/* The table must exist with every declared column: a typo is found now, not on a write. */
	if (db != NULL && db_stmt(db, res->sql_select) == NULL) {
		resource_free(res);
		return refuse_decl(err, errlen,
		    "record %s: table %s does not hold the declared columns (the daemon's log "
		    "says which)",
		    d->name, d->table);
	}
	if (rt != NULL && add_routes(rt, res, err, errlen) == -1) {
		resource_free(res);
		return -1;
	}
	registry[nregistry++] = res;
	if (res->person && db != NULL && catalogue_note(db, res) == -1)
		log_warnx(
		    "record %s: the catalogue of personal tables could not be written", res->name);
	return 0;
}

void
resource_unregister_owner(struct router *rt, const void *owner)
{
	size_t i, j;

	for (i = j = 0; i < nregistry; i++) {
		if (registry[i]->owner == owner) {
			if (rt != NULL)
				router_remove_owner(rt, registry[i]);
			resource_free(registry[i]);
			continue;
		}
		registry[j++] = registry[i];
	}
	nregistry = j;
}

void
resource_unregister_all(struct router *rt)
{
	while (nregistry > 0) {
		const void *owner = registry[nregistry - 1]->owner;
		resource_unregister_owner(rt, owner);
	}
}

/* ---- rows ---- */

static json_t *
row_json(const struct resource *res, sqlite3_stmt *st)
{
	json_t *o = db_row_to_json(st);

	for (size_t i = 0; i < res->ncols; i++) {
		const struct tremplin_column *c = &res->cols[i];
		json_t *v = json_object_get(o, c->name);
		if (json_is_null(v))
			continue;
		if (c->type == TREMPLIN_COL_BOOL)
			json_object_set_new(o, c->name, json_boolean(json_integer_value(v)));
		else if (c->type == TREMPLIN_COL_REAL && json_is_integer(v))
			json_object_set_new(o, c->name, json_real((double)json_integer_value(v)));
		else if (c->type == TREMPLIN_COL_NAMES) {
			json_t *a = json_loads(json_string_value(v), 0, NULL);
			json_object_set_new(o, c->name, a ? a : json_array());
		}
	}
	return o;
}

json_t *
resource_row(const struct resource *res, sqlite3_stmt *st)
{
	return row_json(res, st);
}

json_t *
resource_load(struct tremplin_request *r, const struct resource *res, int64_t id, int *dberr)
{
	sqlite3_stmt *st = db_stmt(r->srv->db, res->sql_select);
	json_t *o = NULL;
	int rc;

	*dberr = 0;
	if (st == NULL) {
		*dberr = 1;
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		o = row_json(res, st);
	else if (rc != SQLITE_DONE)
		*dberr = 1;
	db_done(st);
	return o;
}

int
resource_sensitive_row(const struct resource *res, const json_t *row)
{
	const struct tremplin_record *d = res->decl;
	const char *v;

	if (d->sensitive_row != NULL)
		return d->sensitive_row(row);
	if (d->sensitive_key == NULL || d->sensitive_values == NULL)
		return 0;
	if ((v = json_string_value(json_object_get(row, d->sensitive_key))) == NULL)
		return 0;
	for (const char *const *p = d->sensitive_values; *p; p++)
		if (strcmp(*p, v) == 0)
			return 1;
	return 0;
}

static enum category
col_category(const struct resource *res, size_t i, const json_t *row)
{
	const char *sc = res->decl->sensitive_col;

	if (sc != NULL && strcmp(sc, res->cols[i].name) == 0 && resource_sensitive_row(res, row))
		return CAT_SENSITIVE;
	return res->cat[i];
}

void
access_public(const struct access *a, struct tremplin_access *out)
{
	out->role = ROLEBIT(a->role);
	out->staff_id = a->staff_id;
	out->referent_cip = a->referent_cip;
	out->referent_eti = a->referent_eti;
}

/* The CIP shared this row with the ETI (shared_col), and column i is one it then reads. */
static int
shared_read(const struct resource *res, const struct access *a, size_t i, const json_t *row)
{
	return a->role == ROLE_ETI && res->shared_idx >= 0 && (res->shared_mask >> i & 1) &&
	    json_is_true(json_object_get(row, res->cols[res->shared_idx].name));
}

static int
row_visible(const struct resource *res, const struct access *a, const json_t *row)
{
	struct tremplin_access pa;

	if (res->decl->visible == NULL)
		return 1;
	access_public(a, &pa);
	return res->decl->visible(&pa, row, res->arg);
}

/* Whether any column has a category: a plugin's referential may have none. */
static int
categorised(const struct resource *res)
{
	for (size_t i = 0; i < res->ncols; i++)
		if (res->cat[i] != CAT_NONE)
			return 1;
	return 0;
}

json_t *
resource_view(const struct resource *res, const struct access *a, json_t *row, unsigned *cats)
{
	json_t *out;
	unsigned shown = 0;
	int personal = 0;

	if (!row_visible(res, a, row))
		return NULL;
	out = json_object();
	for (size_t i = 0; i < res->ncols; i++) {
		const struct tremplin_column *c = &res->cols[i];
		enum category cat = col_category(res, i, row);
		json_t *v = json_object_get(row, c->name);
		if (v == NULL ||
		    (!policy_can_read(a, cat) &&
		        (cat == CAT_SENSITIVE || !shared_read(res, a, i, row))))
			continue;
		json_object_set(out, c->name, v);
		personal |= cat != CAT_NONE;
		if (policy_audited(cat) && !json_is_null(v))
			shown |= 1u << cat;
	}
	/*
	 * A record of which the caller may read nothing but ids and dates (a CIP
	 * note for the ETI) does not exist for it: that it exists, and when it
	 * was written, is already more than the policy grants.
	 */
	if (!personal && categorised(res)) {
		json_decref(out);
		return NULL;
	}
	*cats |= shown;
	return out;
}

unsigned
resource_shown(const struct resource *res, const json_t *view)
{
	unsigned cats = 0;

	for (size_t i = 0; i < res->ncols; i++) {
		json_t *v = json_object_get(view, res->cols[i].name);
		if (v != NULL && !json_is_null(v) && res->cat[i] != CAT_NONE)
			cats |= 1u << col_category(res, i, view);
	}
	for (size_t i = 0; i < res->decl->ncomputed; i++) {
		json_t *v = json_object_get(view, res->decl->computed[i].name);
		if (v != NULL && !json_is_null(v) && res->comp_cat[i] != CAT_NONE)
			cats |= 1u << res->comp_cat[i];
	}
	return cats;
}

unsigned
resource_categories(const struct resource *res)
{
	unsigned cats = 0;

	for (size_t i = 0; i < res->ncols; i++)
		if (res->cat[i] != CAT_NONE)
			cats |= 1u << res->cat[i];
	for (size_t i = 0; i < res->decl->ncomputed; i++)
		if (res->comp_cat[i] != CAT_NONE)
			cats |= 1u << res->comp_cat[i];
	if (res->decl->sensitive_col != NULL)
		cats |= 1u << CAT_SENSITIVE;
	return cats;
}

/*
 * A hook that began a transaction and returned (a plugin's, by mistake)
 * would hold every write of the daemon: rolled back, logged, and the
 * request fails. 1 when it did.
 */
static int
hook_left_open(struct tremplin_request *r, const struct resource *res, int was, const char *hook)
{
	if (!was || sqlite3_get_autocommit(db_handle(r->srv->db)))
		return 0;
	db_rollback(r->srv->db);
	log_warnx("record %s: its %s hook left a transaction open: rolled back", res->name, hook);
	return 1;
}

static int
resource_expand(struct tremplin_request *r, const struct resource *res, const struct access *a,
    json_t *view, unsigned *cats)
{
	const struct tremplin_record *d = res->decl;
	struct tremplin_access pa;
	int readable = d->ncomputed == 0;

	if (d->expand == NULL)
		return 0;
	for (size_t i = 0; i < d->ncomputed; i++)
		readable |= policy_can_read(a, res->comp_cat[i]);
	if (!readable)
		return 0; /* nothing it would add may be shown */
	access_public(a, &pa);
	int was = sqlite3_get_autocommit(db_handle(r->srv->db));
	if (d->expand(r, &pa, view, res->arg) == -1 || hook_left_open(r, res, was, "expand"))
		return -1;
	/* The policy, here once for every hook: what it added follows the table. */
	for (size_t i = 0; i < d->ncomputed; i++) {
		json_t *v = json_object_get(view, d->computed[i].name);
		if (v == NULL)
			continue;
		if (!policy_can_read(a, res->comp_cat[i]))
			json_object_del(view, d->computed[i].name);
		else if (policy_audited(res->comp_cat[i]) && !json_is_null(v))
			*cats |= 1u << res->comp_cat[i];
	}
	return 0;
}

json_t *
resource_show(struct tremplin_request *r, const struct resource *res, const struct access *a,
    json_t *row, unsigned *cats)
{
	json_t *v = resource_view(res, a, row, cats);

	if (v == NULL)
		return NULL;
	/* The records that belong to this one, nested under their key, to any depth. */
	for (size_t i = 0; i < nregistry; i++) {
		const struct resource *sub = registry[i];
		if (sub->parent != res || sub->decl->nested_as == NULL)
			continue;
		json_t *items = resource_children(
		    r, sub, json_integer_value(json_object_get(row, "id")), a, cats);
		if (items == NULL) {
			json_decref(v);
			return NULL;
		}
		json_object_set_new(v, sub->decl->nested_as, items);
	}
	if (resource_expand(r, res, a, v, cats) == -1) {
		json_decref(v);
		return NULL;
	}
	resource_names(r, res, a, v);
	return v;
}

json_t *
staff_display_name(struct tremplin_request *r, int64_t staff_id)
{
	static const char sql[] = "SELECT name FROM staff WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	json_t *name = NULL;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, staff_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		name = json_string((const char *)sqlite3_column_text(st, 0));
	db_done(st);
	return name;
}

json_t *
person_display_name(struct tremplin_request *r, int64_t employee_id)
{
	static const char sql[] =
	    "SELECT first_name || ' ' || last_name FROM employees WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	json_t *name = NULL;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, employee_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		name = json_string((const char *)sqlite3_column_text(st, 0));
	db_done(st);
	return name;
}

/* referent_cip_id -> referent_cip_name; done_by -> done_by_name. */
static void
name_key(const char *col, char *buf, size_t size)
{
	size_t n = strlen(col);

	if (n > 3 && strcmp(col + n - 3, "_id") == 0)
		snprintf(buf, size, "%.*s_name", (int)(n - 3), col);
	else
		snprintf(buf, size, "%s_name", col);
}

/* 1: column i names a staff account, 2: a person, 0: neither (or a column has the name). */
static int
named_column(const struct resource *res, size_t i, char *key, size_t size)
{
	const struct resource *person = resource_person();
	const struct tremplin_column *c = &res->cols[i];
	int staff = c->type == TREMPLIN_COL_STAFF ||
	    (c->type == TREMPLIN_COL_INT && (c->flags & TREMPLIN_COL_AUTHOR));
	int who = !res->is_person &&
	    ((res->person_col != NULL && strcmp(c->name, res->person_col) == 0) ||
	        (c->type == TREMPLIN_COL_REF && res->ref[i] == person && person != NULL));

	if (!staff && !who)
		return 0;
	name_key(c->name, key, size);
	if (find_col(res, key) != NULL)
		return 0;
	return staff ? 1 : 2;
}

void
resource_names(
    struct tremplin_request *r, const struct resource *res, const struct access *a, json_t *view)
{
	for (size_t i = 0; i < res->ncols; i++) {
		json_t *id = json_object_get(view, res->cols[i].name), *name = NULL;
		char key[64];
		int kind = named_column(res, i, key, sizeof(key));

		/* An id the caller does not read has no name beside it either. */
		if (!json_is_integer(id) || kind == 0)
			continue;
		if (kind == 1)
			name = staff_display_name(r, json_integer_value(id));
		else if (policy_can_read(a, CAT_IDENTITY))
			name = person_display_name(r, json_integer_value(id));
		if (name != NULL)
			json_object_set_new(view, key, name);
	}
}

void
access_of_employee_row(struct tremplin_request *r, const json_t *employee, struct access *out)
{
	memset(out, 0, sizeof(*out));
	out->role = r->who.role;
	out->staff_id = r->who.staff_id;
	out->referent_cip =
	    json_integer_value(json_object_get(employee, "referent_cip_id")) == r->who.staff_id;
	out->referent_eti =
	    json_integer_value(json_object_get(employee, "referent_eti_id")) == r->who.staff_id;
}

int
access_for_employee(struct tremplin_request *r, int64_t employee_id, struct access *out)
{
	static const char sql[] =
	    "SELECT referent_cip_id, referent_eti_id FROM employees WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int rc;

	access_of_employee_row(r, NULL, out);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->referent_cip = sqlite3_column_int64(st, 0) == r->who.staff_id;
		out->referent_eti = sqlite3_column_int64(st, 1) == r->who.staff_id;
	}
	db_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
resource_employee(
    struct tremplin_request *r, const struct resource *res, const json_t *row, int64_t *employee_id)
{
	if (res->person_col != NULL) {
		*employee_id = json_integer_value(json_object_get(row, res->person_col));
		return 0;
	}
	if (res->parent != NULL && res->parent->person) {
		int dberr, rc;
		json_t *p = resource_load(r, res->parent,
		    json_integer_value(json_object_get(row, res->parent_col)), &dberr);
		if (p == NULL)
			return -1;
		rc = resource_employee(r, res->parent, p, employee_id);
		json_decref(p);
		return rc;
	}
	*employee_id = 0;
	return 0;
}

/* The caller's rights on a record of nobody's: its role alone. */
static void
access_role(struct tremplin_request *r, struct access *a)
{
	access_of_employee_row(r, NULL, a);
}

/*
 * The person a row belongs to and the caller's access to them: 0, or -1
 * when the row is hidden from the caller or its person is gone.
 */
static int
row_person(struct tremplin_request *r, const struct resource *res, const json_t *row,
    int64_t *employee_id, struct access *a)
{
	if (res->is_person) {
		/* The person's own row names its referents: no second query. */
		*employee_id = json_integer_value(json_object_get(row, "id"));
		access_of_employee_row(r, row, a);
	} else if (resource_employee(r, res, row, employee_id) == -1)
		return -1;
	else if (*employee_id == 0)
		access_role(r, a);
	else if (access_for_employee(r, *employee_id, a) == -1)
		return -1;
	return row_visible(res, a, row) ? 0 : -1;
}

json_t *
resource_children(struct tremplin_request *r, const struct resource *res, int64_t parent_id,
    const struct access *a, unsigned *cats)
{
	sqlite3_stmt *st = db_stmt(r->srv->db, res->sql_by_parent);
	json_t *items;
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, parent_id);
	sqlite3_bind_int64(st, 2, 0);
	sqlite3_bind_int(st, 3, -1);
	items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = row_json(res, st);
		json_t *v = resource_show(r, res, a, row, cats);
		json_decref(row);
		if (v != NULL)
			json_array_append_new(items, v);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		json_decref(items);
		return NULL;
	}
	return items;
}

int
employee_touch(struct tremplin_request *r, int64_t employee_id)
{
	static const char sql[] = "UPDATE employees SET last_contact_at = ? WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	char now[32];
	int rc;

	if (st == NULL)
		return -1;
	tr_rfc3339(tr_now(), now, sizeof(now));
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, employee_id);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
/* ---- input ---- */

static int
staff_active(struct tremplin_request *r, int64_t id)
{
	static const char sql[] = "SELECT 1 FROM staff WHERE id = ? AND active = 1";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int found;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, id);
	found = sqlite3_step(st) == SQLITE_ROW;
	db_done(st);
	return found;
}

/*
 * Labels (up to 200 characters) are one line; longer texts (notes, review
 * content) may hold line breaks and tabs, and are held to their length all
 * the same.
 */
static const char *
check_text(const char *s, int max)
{
	return valid_text(s, max, max <= 200 ? VALID_LINE : VALID_LINES);
}

/* Whether a row of a record type exists (a REF column's target). */
static int
ref_exists(struct tremplin_request *r, const struct resource *to, int64_t id)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE id = ?", to->table);
	return db_row_exists(r->srv->db, sql, id) == 1;
}

/* The value of one column: its type and bounds. */
static int
check_value(struct tremplin_request *r, const struct resource *res, const struct tremplin_column *c,
    json_t *v, struct tremplin_error *e)
{
	const char *why;

	switch (c->type) {
	case TREMPLIN_COL_TEXT:
		if (!json_is_string(v))
			goto type;
		if ((why = check_text(json_string_value(v), c->max > 0 ? (int)c->max : 200)) !=
		    NULL) {
			input_error_set(
			    e, 422, "validation_failed", c->name, "%s %s", c->name, why);
			return -1;
		}
		return 0;
	case TREMPLIN_COL_DATE:
		if (!json_is_string(v))
			goto type;
		if (!valid_date(json_string_value(v))) {
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s must be a date YYYY-MM-DD that exists", c->name);
			return -1;
		}
		return 0;
	case TREMPLIN_COL_INT:
		if (!json_is_integer(v))
			goto type;
		if ((c->min != 0 || c->max != 0) &&
		    ((double)json_integer_value(v) < c->min ||
		        (double)json_integer_value(v) > c->max)) {
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s must be from %.15g to %.15g", c->name, c->min, c->max);
			return -1;
		}
		return 0;
	case TREMPLIN_COL_REAL:
		if (!json_is_number(v))
			goto type;
		if ((c->min != 0 || c->max != 0) &&
		    (json_number_value(v) < c->min || json_number_value(v) > c->max)) {
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s must be from %.15g to %.15g", c->name, c->min, c->max);
			return -1;
		}
		return 0;
	case TREMPLIN_COL_BOOL:
		if (!json_is_boolean(v))
			goto type;
		return 0;
	case TREMPLIN_COL_ENUM:
		if (!json_is_string(v))
			goto type;
		for (const char *const *p = c->values; *p; p++)
			if (strcmp(*p, json_string_value(v)) == 0)
				return 0;
		{
			char list[512] = "";
			for (const char *const *p = c->values; *p; p++) {
				size_t n = strlen(list);
				snprintf(list + n, sizeof(list) - n, "%s%s",
				    p == c->values ? "" : ", ", *p);
			}
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s must be one of %s", c->name, list);
		}
		return -1;
	case TREMPLIN_COL_STAFF:
		if (!json_is_integer(v))
			goto type;
		if (!staff_active(r, json_integer_value(v))) {
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s is not an active staff account", c->name);
			return -1;
		}
		return 0;
	case TREMPLIN_COL_REF:
		if (!json_is_integer(v))
			goto type;
		if (!ref_exists(r, res->ref[col_index(res, c)], json_integer_value(v))) {
			input_error_set(e, 422, "validation_failed", c->name, "%s is not a %s",
			    c->name, c->ref);
			return -1;
		}
		return 0;
	case TREMPLIN_COL_NAMES: {
		size_t i;
		json_t *n;
		if (!json_is_array(v))
			goto type;
		if (json_array_size(v) > 20) {
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s holds at most 20 names", c->name);
			return -1;
		}
		json_array_foreach (v, i, n)
			if (!json_is_string(n) || valid_label(json_string_value(n), 200) != NULL) {
				input_error_set(e, 422, "validation_failed", c->name,
				    "%s must be a list of names", c->name);
				return -1;
			}
		return 0;
	}
	}
type:
	input_error_set(e, 422, "validation_failed", c->name, "%s has the wrong type", c->name);
	return -1;
}

/*
 * Check a create body (before == NULL) or a patch against the columns and
 * the caller's rights. merged is the object as it will be (for categories
 * that depend on the row).
 */
static int
check_input(struct tremplin_request *r, const struct resource *res, const struct access *a,
    json_t *in, const json_t *before, const json_t *merged, unsigned *cats,
    struct tremplin_error *e)
{
	const char *k;
	json_t *v;

	json_object_foreach (in, k, v) {
		const struct tremplin_column *c = find_col(res, k);
		if (c == NULL) {
			char q[JSON_NAME_QUOTED];
			input_error_set(e, 400, "unknown_field", k, "%s is not a known field",
			    json_safe_text(q, sizeof(q), k));
			return -1;
		}
		if (server_col(res, c)) {
			input_error_set(
			    e, 422, "validation_failed", k, "%s is set by the server", k);
			return -1;
		}
		if (before != NULL && (c->flags & TREMPLIN_COL_FIXED)) {
			input_error_set(e, 422, "validation_failed", k, "%s cannot be changed", k);
			return -1;
		}
		/*
		 * The category the value will have and, on a change, the one it
		 * had: a health barrier's detail stays the referent's to change
		 * even when the same patch moves the barrier out of health.
		 */
		size_t i = col_index(res, c);
		enum category cat = col_category(res, i, merged);
		enum category was = before != NULL ? col_category(res, i, before) : cat;
		if (!policy_can_write(a, cat) || !policy_can_write(a, was)) {
			input_error_set(e, 403, "forbidden", k, "the %s role may not write %s",
			    role_name(a->role), k);
			return -1;
		}
		*cats |= 1u << cat | 1u << was;
		if (json_is_null(v)) {
			if (!(c->flags & TREMPLIN_COL_NULLABLE)) {
				input_error_set(
				    e, 422, "validation_failed", k, "%s may not be null", k);
				return -1;
			}
			continue;
		}
		if (check_value(r, res, c, v, e) == -1)
			return -1;
	}
	if (before == NULL)
		for (size_t i = 0; i < res->ncols; i++) {
			const struct tremplin_column *c = &res->cols[i];
			json_t *cur = json_object_get(merged, c->name);
			if ((c->flags & TREMPLIN_COL_REQUIRED) &&
			    (cur == NULL || json_is_null(cur))) {
				input_error_set(e, 422, "validation_failed", c->name,
				    "%s is required", c->name);
				return -1;
			}
		}
	return 0;
}

int
resource_check_input(struct tremplin_request *r, const struct resource *res, const struct access *a,
    json_t *in, const json_t *before, const json_t *merged, unsigned *cats,
    struct tremplin_error *e)
{
	return check_input(r, res, a, in, before, merged, cats, e);
}

static void
bind_value(sqlite3_stmt *st, int i, const struct tremplin_column *c, json_t *v)
{
	if (v == NULL || json_is_null(v)) {
		sqlite3_bind_null(st, i);
		return;
	}
	switch (c->type) {
	case TREMPLIN_COL_INT:
	case TREMPLIN_COL_STAFF:
	case TREMPLIN_COL_REF:
		sqlite3_bind_int64(st, i, json_integer_value(v));
		break;
	case TREMPLIN_COL_REAL:
		sqlite3_bind_double(st, i, json_number_value(v));
		break;
	case TREMPLIN_COL_BOOL:
		sqlite3_bind_int(st, i, json_is_true(v));
		break;
	case TREMPLIN_COL_NAMES: {
		char *t = json_dumps(v, JSON_COMPACT);
		sqlite3_bind_text(st, i, t, -1, free);
		break;
	}
	default:
		sqlite3_bind_text(st, i, json_string_value(v), -1, SQLITE_TRANSIENT);
	}
}

/* Journal a change without the values: subscribers read what their role allows. */
static int
publish_change(struct tremplin_request *r, const struct resource *res, int64_t id,
    int64_t employee_id, const json_t *row, const char *what, json_t *changed)
{
	char type[128], subject[128];
	json_t *payload = json_pack("{s:I}", "id", (json_int_t)id);

	if (changed != NULL)
		json_object_set(payload, "changed", changed);
	else if (strcmp(what, "created") == 0)
		json_object_set_new(payload, "changed", json_array());
	if (employee_id > 0)
		json_object_set_new(payload, "employee_id", json_integer(employee_id));
	/* The parent's id (a renewal's contract_id), like employee_id: no values. */
	if (res->parent != NULL)
		json_object_set_new(payload, res->parent_col,
		    json_integer(json_integer_value(json_object_get(row, res->parent_col))));
	snprintf(type, sizeof(type), "%s.%s", res->name, what);
	snprintf(subject, sizeof(subject), "%s/%lld", res->name, (long long)id);
	return events_publish_by(r->srv->events, &r->who, type, subject, payload) < 0 ? -1 : 0;
}

int
resource_publish(struct tremplin_request *r, const struct resource *res, int64_t id,
    int64_t employee_id, const json_t *row, json_t *changed)
{
	if (res->decl->journal == TREMPLIN_JOURNAL_ROW && !res->person) {
		/* A record of nobody's that journals its row: the row as stored now. */
		char type[128], subject[128];
		int dberr;
		json_t *now = resource_load(r, res, id, &dberr);
		if (now == NULL)
			return -1;
		json_t *payload = json_pack("{s:o}", "object", now);
		if (changed != NULL)
			json_object_set(payload, "changed", changed);
		snprintf(type, sizeof(type), "%s.%s", res->name, changed ? "updated" : "created");
		snprintf(subject, sizeof(subject), "%s/%lld", res->name, (long long)id);
		return events_publish_by(r->srv->events, &r->who, type, subject, payload) < 0 ? -1
		                                                                              : 0;
	}
	return publish_change(
	    r, res, id, employee_id, row, changed ? "updated" : "created", changed);
}

/*
 * Run the writes of one change in a transaction: the caller's, when one is
 * open (a plugin's), inside a savepoint; else one of its own.
 */
static int
write_begin(struct db *db, int *own)
{
	*own = sqlite3_get_autocommit(db_handle(db));
	if (*own)
		return db_begin(db);
	sqlite3_stmt *st = db_stmt(db, "SAVEPOINT record_write");
	int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
write_end(struct db *db, int own, int ok)
{
	if (own) {
		if (ok)
			return db_commit(db);
		db_rollback(db);
		return 0;
	}
	sqlite3_stmt *st;
	if (!ok && (st = db_stmt(db, "ROLLBACK TO record_write")) != NULL) {
		sqlite3_step(st);
		db_done(st);
	}
	if ((st = db_stmt(db, "RELEASE record_write")) == NULL)
		return -1;
	int rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The column a UNIQUE constraint refused the last write on ("" when several). */
static char unique_field[64];

/* Insert or update one row; writes the audit entry and the event; commits. */
static int
write_row(struct tremplin_request *r, const struct resource *res, json_t *obj, int64_t *id,
    int64_t employee_id, json_t *changed, unsigned cats)
{
	struct db *db = r->srv->db;
	sqlite3_stmt *st;
	int n = 1, rc, own;

	if (write_begin(db, &own) == -1)
		return -2;
	st = db_stmt(db, *id ? res->sql_update : res->sql_insert);
	if (st == NULL)
		goto fail;
	for (size_t i = 1; i < res->ncols; i++)
		bind_value(st, n++, &res->cols[i], json_object_get(obj, res->cols[i].name));
	if (*id)
		sqlite3_bind_int64(st, n, *id);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE) {
		if (sqlite3_extended_errcode(db_handle(db)) == SQLITE_CONSTRAINT_UNIQUE) {
			/* "UNIQUE constraint failed: staff.unix_user": the field to name. */
			const char *msg = sqlite3_errmsg(db_handle(db)), *m = strrchr(msg, '.');
			const struct tremplin_column *c =
			    m != NULL && strchr(msg, ',') == NULL ? find_col(res, m + 1) : NULL;
			/* Named when it is one field the caller gave; else the row as a whole. */
			tr_strlcpy(unique_field, c != NULL && !server_col(res, c) ? c->name : "",
			    sizeof(unique_field));
			write_end(db, own, 0);
			return -3;
		}
		goto fail;
	}
	if (*id == 0)
		*id = sqlite3_last_insert_rowid(db_handle(db));
	if (res->decl->after_write && res->decl->after_write(r, obj, *id, res->arg) == -1)
		goto fail;
	if (res->is_person)
		employee_id = *id;
	if (employee_id > 0 && (!res->is_person || changed != NULL) &&
	    employee_touch(r, employee_id) == -1)
		goto fail;
	if (resource_publish(r, res, *id, employee_id, obj, changed) == -1)
		goto fail;
	/*
	 * A person's data: recorded before the commit, so that an unrecorded
	 * write never lands. A record of nobody's (a structure, a client) is
	 * journaled with its actor, which is its history.
	 */
	if (res->person &&
	    audit_record(r->srv->audit, &r->who, changed ? "update" : "create", employee_id,
	        res->table, cats) == -1)
		goto fail;
	if (write_end(db, own, 1) == -1)
		return -1;
	return 0;
fail:
	/* A full disk is logged once per episode, by the store; api_internal says the rest. */
	if (!db_full(db, NULL) && !db_full(audit_db(r->srv->audit), NULL))
		log_warnx("%s: write failed: %s", res->table, sqlite3_errmsg(db_handle(db)));
	write_end(db, own, 0);
	return -1;
}

/* ---- handlers ---- */

static const struct resource *
route_resource(struct tremplin_request *r)
{
	return r->route->arg;
}

/* Whether the caller may read anything at all of this record. */
static int
readable_at_all(const struct resource *res, const struct access *a)
{
	struct access ref = *a;

	/* A column readable by the referent is readable "at all" by a CIP. */
	ref.referent_cip = a->role == ROLE_CIP;
	if (a->role == ROLE_ETI && res->shared_mask != 0)
		return 1; /* what the CIP shares with it */
	for (size_t i = 0; i < res->ncols; i++)
		if (res->cat[i] != CAT_NONE && policy_can_read(&ref, res->cat[i]))
			return 1;
	/* A record of no category at all (a plugin's referential) reads as "none". */
	return !categorised(res) && policy_can_read(&ref, CAT_NONE);
}

static void
not_found(struct tremplin_request *r, const char *what, int64_t id)
{
	api_error(r, 404, "not_found", NULL, "no %s %lld", what, (long long)id);
}

/* The row the route names ({id}), raw; NULL once 404 or the failure is answered. */
static json_t *
route_row(struct tremplin_request *r, const struct resource *res)
{
	int dberr;
	json_t *row = resource_load(r, res, r->ids[0], &dberr);

	if (row == NULL && dberr)
		api_internal(r, "load");
	else if (row == NULL)
		not_found(r, res->decl->name, r->ids[0]);
	return row;
}

static int
readable_cat(const struct resource *res, const struct access *a, size_t i)
{
	return res->cat[i] == CAT_NONE || policy_can_read(a, res->cat[i]);
}

/*
 * The declared filters' values, bound from ?4 on; a filter on a field the
 * caller may not read is refused (its answers would tell the value).
 */
static int
bind_filters(struct tremplin_request *r, const struct resource *res, const struct access *a,
    sqlite3_stmt *st)
{
	const struct tremplin_record *d = res->decl;

	for (size_t i = 0; i < d->nfilters; i++) {
		const struct tremplin_filter *f = &d->filters[i];
		const char *v = api_query(r, f->name);
		const struct tremplin_column *c = find_col(res, f->column);
		struct tremplin_error e;
		json_t *j = NULL;
		int64_t n;

		if (v == NULL)
			continue;
		if (!readable_cat(res, a, col_index(res, c))) {
			api_error(r, 403, "forbidden", f->name, "the %s role may not filter on %s",
			    role_name(a->role), f->name);
			return -1;
		}
		switch (c->type) {
		case TREMPLIN_COL_INT:
		case TREMPLIN_COL_STAFF:
		case TREMPLIN_COL_REF:
			if (c->type == TREMPLIN_COL_STAFF) {
				if (staff_filter_id(r, v, &n) == -1) {
					api_error(r, 400, "bad_request", f->name,
					    "%s must be a staff id or me (for a staff account)",
					    f->name);
					return -1;
				}
			} else if (c->type != TREMPLIN_COL_INT) {
				/* An id: a positive integer. */
				if (tr_parse_i64(v, 1, INT64_MAX, &n) == -1) {
					api_error(r, 400, "bad_request", f->name,
					    "%s must be an id", f->name);
					return -1;
				}
			} else if (tr_parse_i64(v, INT64_MIN + 1, INT64_MAX, &n) == -1 ||
			    (c->max > c->min && ((double)n < c->min || (double)n > c->max))) {
				api_error(r, 400, "bad_request", f->name,
				    "%s must be an integer from %.15g to %.15g", f->name, c->min,
				    c->max);
				return -1;
			}
			sqlite3_bind_int64(st, (int)i + 4, n);
			continue;
		case TREMPLIN_COL_BOOL:
			if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
				api_error(r, 400, "bad_request", f->name,
				    "%s must be true or false", f->name);
				return -1;
			}
			sqlite3_bind_int(st, (int)i + 4, strcmp(v, "true") == 0);
			continue;
		case TREMPLIN_COL_REAL:
			j = json_real(strtod(v, NULL));
			break;
		default:
			j = json_string(v);
		}
		if (j == NULL ||
		    (c->type != TREMPLIN_COL_TEXT && check_value(r, res, c, j, &e) == -1)) {
			json_decref(j);
			api_error(r, 400, "bad_request", f->name, "%s: %s", f->name,
			    j ? e.message : "not a value");
			return -1;
		}
		if (c->type == TREMPLIN_COL_REAL)
			sqlite3_bind_double(st, (int)i + 4, json_real_value(j));
		else
			sqlite3_bind_text(st, (int)i + 4, v, -1, SQLITE_TRANSIENT);
		json_decref(j);
	}
	return 0;
}

int
staff_filter_id(struct tremplin_request *r, const char *v, int64_t *id)
{
	if (strcmp(v, "me") == 0) {
		*id = r->who.staff_id;
		return *id > 0 ? 0 : -1;
	}
	return tr_parse_i64(v, 1, INT64_MAX, id);
}

/* The query parameters a list takes: the page, the declared filters and the search. */
static int
list_params(struct tremplin_request *r, const struct resource *res)
{
	const char *names[20] = { "limit", "cursor", "q" };
	size_t n = res->decl->search != NULL ? 3 : 2;

	for (size_t i = 0; i < res->decl->nfilters && n < TR_NELEM(names) - 1; i++)
		names[n++] = res->decl->filters[i].name;
	names[n] = NULL;
	return api_query_only(r, names);
}

/* ?q=, folded into fq (empty: no search); -1 once the refusal is answered. */
static int
search_query(struct tremplin_request *r, const struct resource *res, const struct access *a,
    char *fq, size_t size)
{
	const char *q = res->decl->search != NULL ? api_query(r, "q") : NULL;

	if (q == NULL)
		return 0;
	if (strlen(q) > 200) {
		api_error(r, 400, "bad_request", "q", "q must be at most 200 bytes");
		return -1;
	}
	/* Searching a field tells its value: only for those who read it. */
	for (size_t i = 0; res->decl->search[i] != NULL; i++)
		if (!readable_cat(res, a, col_index(res, find_col(res, res->decl->search[i])))) {
			api_error(r, 403, "forbidden", "q", "the %s role may not search %ss",
			    role_name(a->role), res->decl->name);
			return -1;
		}
	text_fold(q, fq, size);
	return 0;
}

/* Whether every word of the folded query is in the row's searched columns. */
static int
search_match(const struct resource *res, const json_t *row, const char *fq)
{
	char text[1024], folded[1024];
	size_t n = 0;

	text[0] = '\0';
	for (size_t i = 0; res->decl->search[i] != NULL; i++) {
		const char *v = json_str((json_t *)row, res->decl->search[i]);
		int w = snprintf(text + n, sizeof(text) - n, "%s ", v ? v : "");
		if (w < 0 || (size_t)w >= sizeof(text) - n)
			break;
		n += (size_t)w;
	}
	text_fold(text, folded, sizeof(folded));
	return text_fold_match(folded, fq);
}

void
resource_list(struct tremplin_request *r)
{
	const struct resource *res = route_resource(r);
	int64_t scope = 0, after, last = 0, person = 0;
	struct access a;
	unsigned cats = 0;
	int limit, rc, n = 0, per_row = 0;
	const char *sql;
	char fq[256];

	fq[0] = '\0';
	if (list_params(r, res) == -1 || api_page(r, &limit, &after) == -1)
		return;
	if (res->is_person) {
		sql = res->sql_all;
		per_row = 1; /* each person's row gives the caller's access to it */
		access_role(r, &a);
	} else if (res->parent != NULL) {
		int dberr;
		json_t *p = resource_load(r, res->parent, r->ids[0], &dberr);
		if (p == NULL && dberr) {
			api_internal(r, "load");
			return;
		}
		if (p == NULL || row_person(r, res->parent, p, &person, &a) == -1) {
			json_decref(p);
			not_found(r, res->parent->name, r->ids[0]);
			return;
		}
		json_decref(p);
		scope = r->ids[0];
		sql = res->sql_by_parent;
		/* A row naming its own person (an assignment under a work order) is that person's. */
		per_row = res->person_col != NULL;
	} else if (res->person_col != NULL) {
		person = scope = r->ids[0];
		if (access_for_employee(r, person, &a) == -1) {
			not_found(r, "employee", person);
			return;
		}
		sql = res->sql_by_person;
	} else {
		access_role(r, &a);
		sql = res->sql_all;
	}
	if (!readable_at_all(res, &a)) {
		api_error(r, 403, "forbidden", NULL, "the %s role may not read %ss",
		    role_name(a.role), res->decl->name);
		return;
	}
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	if (st == NULL) {
		api_internal(r, "prepare");
		return;
	}
	if (scope)
		sqlite3_bind_int64(st, 1, scope);
	sqlite3_bind_int64(st, 2, after);
	/*
	 * Rows hidden from the caller neither count towards the page nor end it:
	 * a cursor on a hidden row, or a next page of hidden rows only, would
	 * tell that they exist. Stepping stops once a row past the page shows.
	 */
	sqlite3_bind_int(st, 3, -1);
	if (bind_filters(r, res, &a, st) == -1 || search_query(r, res, &a, fq, sizeof(fq)) == -1) {
		db_done(st);
		return;
	}
	json_t *items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		unsigned rowcats = 0;
		struct access ra = a;
		int64_t who = person;
		json_t *row = row_json(res, st);
		if (fq[0] != '\0' && !search_match(res, row, fq)) {
			json_decref(row);
			continue;
		}
		if (per_row && row_person(r, res, row, &who, &ra) == -1) {
			json_decref(row);
			continue;
		}
		json_t *v = resource_show(r, res, &ra, row, &rowcats);
		json_decref(row);
		if (v == NULL)
			continue;
		if (++n > limit) {
			json_decref(v);
			break;
		}
		last = sqlite3_column_int64(st, 0);
		json_array_append_new(items, v);
		/* One audit entry per person whose audited data was shown. */
		if (per_row && rowcats != 0 &&
		    audit_record(r->srv->audit, &r->who, "read", who, res->table, rowcats)) {
			db_done(st);
			json_decref(items);
			audit_refuse(r, "read");
			return;
		}
		cats |= rowcats;
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(items);
		api_internal(r, "list");
		return;
	}
	if (!per_row && cats != 0 &&
	    audit_record(r->srv->audit, &r->who, "read", person, res->table, cats)) {
		json_decref(items);
		audit_refuse(r, "read");
		return;
	}
	api_reply(r, 200, api_list(items, n > limit ? last : 0));
}

/* GET <path>/{id} as routed: it takes no query parameter. */
static void
resource_get_route(struct tremplin_request *r)
{
	if (api_query_only(r, (const char *const[]){ NULL }) == -1)
		return;
	resource_get(r);
}

void
resource_get(struct tremplin_request *r)
{
	resource_get_as(r, route_resource(r));
}

void
resource_get_as(struct tremplin_request *r, const struct resource *res)
{
	struct access a;
	unsigned cats = 0;

	json_t *row = route_row(r, res);
	if (row == NULL)
		return;
	int64_t employee_id = 0;
	json_t *v = row_person(r, res, row, &employee_id, &a) == 0
	    ? resource_show(r, res, &a, row, &cats)
	    : NULL;
	json_decref(row);
	/* Hidden answers as absent: the caller cannot tell it exists. */
	if (v == NULL) {
		not_found(r, res->decl->name, r->ids[0]);
		return;
	}
	if (cats != 0 &&
	    audit_record(r->srv->audit, &r->who, "read", employee_id, res->table, cats)) {
		json_decref(v);
		audit_refuse(r, "read");
		return;
	}
	api_reply(r, 200, v);
}

/* Fill defaults for columns absent from a create body. */
static void
apply_defaults(const struct resource *res, json_t *obj)
{
	for (size_t i = 0; i < res->ncols; i++) {
		const struct tremplin_column *c = &res->cols[i];
		if (c->def != NULL && json_object_get(obj, c->name) == NULL)
			json_object_set_new(
			    obj, c->name, json_loads(c->def, JSON_DECODE_ANY, NULL));
	}
}

/* The server's columns of a write: stamps, the author. */
static void
apply_server(struct tremplin_request *r, const struct resource *res, json_t *obj, int create)
{
	char now[32];

	tr_rfc3339(tr_now(), now, sizeof(now));
	for (size_t i = 0; i < res->ncols; i++) {
		const struct tremplin_column *c = &res->cols[i];
		if ((c->flags & TREMPLIN_COL_STAMP) ||
		    (create && (c->flags & TREMPLIN_COL_CREATED)))
			json_object_set_new(obj, c->name, json_string(now));
		if (create && (c->flags & TREMPLIN_COL_AUTHOR))
			json_object_set_new(obj, c->name,
			    r->who.staff_id > 0 ? json_integer(r->who.staff_id) : json_null());
	}
}

static void
write_error(struct tremplin_request *r, const struct resource *res, int rc, const char *what)
{
	if (rc == -2)
		api_error(r, 503, "unavailable", NULL, "the database is busy; try again");
	else if (rc == -3)
		api_error(r, 409, "conflict", NULL, "this %s exists already", res->decl->name);
	else
		api_internal(r, what);
}

/*
 * The rights a create is made with, from the route: the person's file, the
 * parent row's, or the role alone. -1 (and *e) when the parent or the
 * person is not there for the caller.
 */
static int
create_access(struct tremplin_request *r, const struct resource *res, int64_t scope,
    int64_t *employee_id, struct access *a, struct tremplin_error *e)
{
	*employee_id = 0;
	if (res->parent != NULL) {
		int dberr;
		json_t *p = resource_load(r, res->parent, scope, &dberr);
		if (p == NULL && dberr) {
			input_error_set(e, 500, "internal", NULL, "cannot load the parent");
			return -1;
		}
		if (p == NULL || row_person(r, res->parent, p, employee_id, a) == -1) {
			json_decref(p);
			input_error_set(e, 404, "not_found", NULL, "no %s %lld",
			    res->parent->decl->name, (long long)scope);
			return -1;
		}
		json_decref(p);
	} else if (res->is_person) {
		access_role(r, a);
		/*
		 * The CIP who opens a file holds it until a referent is named, so
		 * may name one (themselves or a colleague): a new file holds
		 * nothing a referent's rights would reveal. Once it exists, only
		 * the coordinator or its referent changes the referent.
		 */
		a->referent_cip = a->role == ROLE_CIP;
	} else if (res->person_col != NULL) {
		*employee_id = scope;
		if (access_for_employee(r, scope, a) == -1) {
			input_error_set(
			    e, 404, "not_found", NULL, "no employee %lld", (long long)scope);
			return -1;
		}
	} else
		access_role(r, a);
	return 0;
}

int
resource_access(struct tremplin_request *r, const struct resource *res, int64_t id, int64_t scope,
    int64_t *employee_id, struct access *a, struct tremplin_error *e)
{
	int dberr;
	json_t *row;

	if (id == 0)
		return create_access(r, res, scope, employee_id, a, e);
	if ((row = resource_load(r, res, id, &dberr)) == NULL ||
	    row_person(r, res, row, employee_id, a) == -1) {
		/* Hidden answers as absent: the caller cannot tell it exists. */
		input_error_set(e, row == NULL && dberr ? 500 : 404,
		    row == NULL && dberr ? "internal" : "not_found", NULL, "no %s %lld",
		    res->decl->name, (long long)id);
		json_decref(row);
		return -1;
	}
	json_decref(row);
	return 0;
}

/* The record's cross-field rules, as its module's code. */
static int
run_check(struct tremplin_request *r, const struct resource *res, json_t *obj, const json_t *before,
    struct tremplin_error *e)
{
	int rc;

	if (res->decl->check == NULL)
		return 0;
	e->status = 0;
	int was = sqlite3_get_autocommit(db_handle(r->srv->db));
	rc = res->decl->check(r, obj, before, e, res->arg);
	if (hook_left_open(r, res, was, "check")) {
		input_error_set(e, 500, "internal", NULL, "%s: its rules left a transaction open",
		    res->decl->name);
		return -1;
	}
	if (rc == -1 && e->status == 0)
		input_error_set(
		    e, 422, "validation_failed", NULL, "%s refused by its rules", res->decl->name);
	return rc;
}

/*
 * Equal as stored: a REAL column holds 7.0 whether 7 or 7.0 was sent, so
 * numbers compare by value (jansson's json_equal tells 7 from 7.0).
 */
static int
same_value(json_t *a, json_t *b)
{
	if (json_is_number(a) && json_is_number(b) && (json_is_real(a) || json_is_real(b)))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b);
}

int
resource_write(struct tremplin_request *r, const struct resource *res, const struct access *a,
    int64_t scope, json_t *in, int64_t *id, struct tremplin_error *e)
{
	unsigned cats = 0;
	int rc, dberr;

	if (*id == 0) {
		int64_t employee_id = 0;
		json_t *obj = json_deep_copy(in);
		apply_defaults(res, obj);
		/* Server columns first: the cross-field rules may need whose it is. */
		if (res->parent != NULL)
			json_object_set_new(obj, res->parent_col, json_integer(scope));
		else if (res->person_col != NULL && !res->is_person)
			json_object_set_new(obj, res->person_col, json_integer(scope));
		if (res->parent != NULL || (res->person_col != NULL && !res->is_person)) {
			int64_t p = 0;
			if (resource_employee(r, res, obj, &p) == 0)
				employee_id = p;
		}
		if (check_input(r, res, a, in, NULL, obj, &cats, e) == -1 ||
		    run_check(r, res, obj, NULL, e) == -1) {
			json_decref(obj);
			return -1;
		}
		apply_server(r, res, obj, 1);
		rc = write_row(r, res, obj, id, employee_id, NULL, cats);
		json_decref(obj);
	} else {
		json_t *before = resource_load(r, res, *id, &dberr);
		int64_t employee_id = 0;
		if (before == NULL) {
			input_error_set(e, dberr ? 500 : 404, dberr ? "internal" : "not_found",
			    NULL, "no %s %lld", res->decl->name, (long long)*id);
			return -1;
		}
		resource_employee(r, res, before, &employee_id);
		json_t *obj = json_deep_copy(before);
		json_merge_patch(obj, in);
		if (check_input(r, res, a, in, before, obj, &cats, e) == -1 ||
		    run_check(r, res, obj, before, e) == -1) {
			json_decref(obj);
			json_decref(before);
			return -1;
		}
		json_t *changed = json_array();
		const char *k;
		json_t *v;
		json_object_foreach (in, k, v)
			if (!same_value(json_object_get(before, k), json_object_get(obj, k)) &&
			    !(json_is_null(v) && json_is_null(json_object_get(before, k))))
				json_array_append_new(changed, json_string(k));
		/* A patch that changes nothing writes nothing: no event, no audit entry. */
		if (json_array_size(changed) == 0) {
			json_decref(changed);
			json_decref(obj);
			json_decref(before);
			return 0;
		}
		apply_server(r, res, obj, 0);
		rc = write_row(r, res, obj, id, employee_id, changed, cats);
		json_decref(changed);
		json_decref(obj);
		json_decref(before);
	}
	if (rc == -2)
		input_error_set(e, 503, "unavailable", NULL, "the database is busy; try again");
	else if (rc == -3 && unique_field[0] != '\0') {
		const char *v = json_string_value(json_object_get(in, unique_field));
		char q[JSON_NAME_QUOTED];
		input_error_set(e, 409, "conflict", unique_field,
		    "a %s with this %s (%s) already exists", res->decl->name, unique_field,
		    v ? json_safe_text(q, sizeof(q), v) : "the same value");
	} else if (rc == -3)
		input_error_set(
		    e, 409, "conflict", NULL, "this %s exists already", res->decl->name);
	else if (rc == -1)
		input_error_set(e, 500, "internal", NULL, "the write failed");
	return rc == 0 ? 0 : rc;
}

static void
reply_row(struct tremplin_request *r, const struct resource *res, int64_t id,
    const struct access *a, int created)
{
	char loc[256];
	unsigned cats = 0;
	int dberr;
	json_t *row = resource_load(r, res, id, &dberr);
	json_t *v = row ? resource_show(r, res, a, row, &cats) : NULL;

	json_decref(row);
	if (v == NULL)
		v = json_pack("{s:I}", "id", (json_int_t)id);
	if (created) {
		snprintf(loc, sizeof(loc), "%s/%s/%lld", res->base, res->plural, (long long)id);
		api_reply_created(r, loc, v);
	} else
		api_reply(r, 200, v);
}

/* A write's failure, as the handler tells it. */
static void
reply_write_error(
    struct tremplin_request *r, const struct resource *res, int rc, struct tremplin_error *e)
{
	if (e->status == 500 || (rc == -1 && e->status == 0))
		api_internal(r, "write");
	else if (rc == -1 || rc == -3)
		api_input_error(r, e); /* a refusal, or the conflict naming its field */
	else
		write_error(r, res, rc, "write");
}

void
resource_create(struct tremplin_request *r)
{
	const struct resource *res = route_resource(r);
	struct tremplin_error e = { 0 };
	struct access a;
	int64_t employee_id, id = 0;
	int rc;

	if (create_access(r, res, r->nids > 0 ? r->ids[0] : 0, &employee_id, &a, &e) == -1) {
		if (e.status == 500)
			api_internal(r, "load");
		else
			api_input_error(r, &e);
		return;
	}
	rc = resource_write(r, res, &a, r->nids > 0 ? r->ids[0] : 0, r->body, &id, &e);
	if (rc != 0) {
		reply_write_error(r, res, rc, &e);
		return;
	}
	if (res->is_person) {
		/* The creator sees the new file with the rights it now has on it. */
		access_for_employee(r, id, &a);
	}
	reply_row(r, res, id, &a, 1);
}

void
resource_update(struct tremplin_request *r)
{
	const struct resource *res = route_resource(r);
	struct tremplin_error e = { 0 };
	struct access a;
	int rc;

	json_t *before = route_row(r, res);
	if (before == NULL)
		return;
	int64_t employee_id = 0, id = r->ids[0];
	unsigned seen = 0;
	json_t *view = row_person(r, res, before, &employee_id, &a) == 0
	    ? resource_view(res, &a, before, &seen)
	    : NULL;
	json_decref(before);
	/* What the caller may not see, it may not change either: it does not exist. */
	if (view == NULL) {
		not_found(r, res->decl->name, r->ids[0]);
		return;
	}
	json_decref(view);
	if ((rc = resource_write(r, res, &a, 0, r->body, &id, &e)) != 0) {
		reply_write_error(r, res, rc, &e);
		return;
	}
	if (res->is_person)
		access_for_employee(r, id, &a);
	reply_row(r, res, id, &a, 0);
}

/* The rows of every record type that hang on this one, deepest first. */
static int
delete_children(struct tremplin_request *r, const struct resource *res, int64_t id)
{
	for (size_t i = 0; i < nregistry; i++) {
		const struct resource *sub = registry[i];
		if (sub->parent != res)
			continue;
		sqlite3_stmt *st = db_stmt(r->srv->db, sub->sql_by_parent);
		int64_t *ids = NULL;
		size_t n = 0, cap = 0;
		int rc;
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, 0);
		sqlite3_bind_int(st, 3, -1);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap &&
			    (ids = reallocarray(ids, cap = cap ? cap * 2 : 16, sizeof(*ids))) ==
			        NULL)
				fatal("reallocarray");
			ids[n++] = sqlite3_column_int64(st, 0);
		}
		db_done(st);
		for (size_t k = 0; rc == SQLITE_DONE && k < n; k++) {
			if (delete_children(r, sub, ids[k]) == -1)
				rc = SQLITE_ERROR;
			else if ((st = db_stmt(r->srv->db, sub->sql_delete)) == NULL)
				rc = SQLITE_ERROR;
			else {
				sqlite3_bind_int64(st, 1, ids[k]);
				if (sqlite3_step(st) != SQLITE_DONE)
					rc = SQLITE_ERROR;
				db_done(st);
			}
		}
		free(ids);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

/* DELETE <path>/{id}, where the record declares it: the row and what hangs on it. */
void
resource_delete(struct tremplin_request *r)
{
	const struct resource *res = route_resource(r);
	struct db *db = r->srv->db;
	struct access a;
	int64_t employee_id = 0;
	unsigned cats = 0;
	int own;

	json_t *before = route_row(r, res);
	if (before == NULL)
		return;
	if (row_person(r, res, before, &employee_id, &a) == -1) {
		json_decref(before);
		not_found(r, res->decl->name, r->ids[0]);
		return;
	}
	/*
	 * Deleting a row removes each of its values: the caller must be able to
	 * write them all. A null holds none: an injury's check-in without a
	 * medical detail is the ETI's to delete; with one, the referent CIP
	 * clears it first (the ETI may not destroy what it may not read).
	 */
	for (size_t i = 1; i < res->ncols; i++) {
		enum category c = col_category(res, i, before);
		json_t *v = json_object_get(before, res->cols[i].name);
		if (server_col(res, &res->cols[i]) || v == NULL || json_is_null(v))
			continue;
		if (!policy_can_write(&a, c)) {
			json_decref(before);
			api_error(r, 403, "forbidden", NULL, "the %s role may not delete a %s",
			    role_name(a.role), res->decl->name);
			return;
		}
		cats |= 1u << c;
	}
	json_decref(before);
	if (write_begin(db, &own) == -1) {
		api_error(r, 503, "unavailable", NULL, "the database is busy; try again");
		return;
	}
	sqlite3_stmt *st = NULL;
	int ok =
	    delete_children(r, res, r->ids[0]) == 0 && (st = db_stmt(db, res->sql_delete)) != NULL;
	if (ok) {
		sqlite3_bind_int64(st, 1, r->ids[0]);
		ok = sqlite3_step(st) == SQLITE_DONE;
		db_done(st);
	}
	ok = ok && (employee_id == 0 || employee_touch(r, employee_id) == 0) &&
	    publish_change(r, res, r->ids[0], employee_id, NULL, "deleted", NULL) == 0 &&
	    (!res->person ||
	        audit_record(r->srv->audit, &r->who, "delete", employee_id, res->table, cats) == 0);
	if (write_end(db, own, ok) == -1 || !ok) {
		api_internal(r, "delete");
		return;
	}
	api_reply(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)r->ids[0], "deleted", 1));
}

/* ---- the policy, as GET /v1/policy shows it ---- */

static const char *
owner_name(const struct resource *res)
{
	if (res->is_person)
		return "person_self";
	if (res->parent != NULL)
		return "record";
	return res->person_col ? "person" : "none";
}

json_t *
resource_policy_json(void)
{
	json_t *resources = json_object();

	for (size_t i = 0; i < nregistry; i++) {
		const struct resource *res = registry[i];
		const struct tremplin_record *d = res->decl;
		char coll[256];
		json_t *fields = json_object();
		for (size_t j = 0; j < res->ncols; j++) {
			const struct tremplin_column *c = &res->cols[j];
			json_t *cats = json_array();
			json_array_append_new(cats, json_string(category_name(res->cat[j])));
			if (d->sensitive_col != NULL && strcmp(d->sensitive_col, c->name) == 0)
				json_array_append_new(
				    cats, json_string(category_name(CAT_SENSITIVE)));
			json_object_set_new(fields, c->name, cats);
		}
		/* Computed fields are fields to the caller: listed with the columns, and apart. */
		json_t *computed = json_array();
		for (size_t j = 0; j < d->ncomputed; j++) {
			json_object_set_new(fields, d->computed[j].name,
			    json_pack("[s]", category_name(res->comp_cat[j])));
			json_array_append_new(computed, json_string(d->computed[j].name));
		}
		collection_path(res, coll, sizeof(coll));
		json_t *ops = json_array();
		static const struct {
			unsigned op;
			const char *name;
		} opnames[] = { { TREMPLIN_OP_GET, "get" }, { TREMPLIN_OP_LIST, "list" },
			{ TREMPLIN_OP_CREATE, "create" }, { TREMPLIN_OP_UPDATE, "update" },
			{ TREMPLIN_OP_DELETE, "delete" } };
		for (size_t j = 0; j < TR_NELEM(opnames); j++)
			if (res->ops & opnames[j].op)
				json_array_append_new(ops, json_string(opnames[j].name));
		json_t *o = json_pack("{s:s, s:s, s:s++, s:s, s:s, s:b, s:o, s:o, s:o}", "path",
		    res->plural, "module", res->module, "item", res->base, "/", res->plural,
		    "collection", coll, "owner", owner_name(res), "personal", res->person, "fields",
		    fields, "computed", computed, "ops", ops);
		json_object_set_new(
		    o, "parent", res->parent ? json_string(res->parent->name) : json_null());
		/* Fields the server sets, and fields taken on create and never changed. */
		json_t *server = json_array(), *fixed = json_array();
		for (size_t j = 0; j < res->ncols; j++) {
			if (server_col(res, &res->cols[j]))
				json_array_append_new(server, json_string(res->cols[j].name));
			else if (res->cols[j].flags & TREMPLIN_COL_FIXED)
				json_array_append_new(fixed, json_string(res->cols[j].name));
		}
		json_object_set_new(o, "server", server);
		json_object_set_new(o, "fixed", fixed);
		/* Records shown inside this one: key -> record name. */
		json_t *nested = json_object();
		for (size_t k = 0; k < nregistry; k++)
			if (registry[k]->parent == res && registry[k]->decl->nested_as != NULL)
				json_object_set_new(nested, registry[k]->decl->nested_as,
				    json_string(registry[k]->name));
		json_object_set_new(o, "nested", nested);
		/*
		 * Display names beside ids: name -> {of: the id's field, person}; shown
		 * when the id is, a person's only to those who read identity.
		 */
		json_t *names = json_object();
		for (size_t j = 0; j < res->ncols; j++) {
			char key[64];
			int kind = named_column(res, j, key, sizeof(key));
			if (kind != 0)
				json_object_set_new(names, key,
				    json_pack("{s:s, s:b}", "of", res->cols[j].name, "person",
				        kind == 2));
		}
		json_object_set_new(o, "names", names);
		/* What the ETI reads too on the rows the CIP shares with it. */
		json_object_set_new(o, "shared_with_eti", json_null());
		if (res->shared_idx >= 0) {
			json_t *sf = json_array();
			for (size_t j = 0; j < res->ncols; j++)
				if (res->shared_mask >> j & 1)
					json_array_append_new(sf, json_string(res->cols[j].name));
			json_object_set_new(o, "shared_with_eti",
			    json_pack("{s:s, s:o}", "field", res->cols[res->shared_idx].name,
			        "fields", sf));
		}
		/* Which rows make sensitive_col sensitive, for those who check the answers. */
		json_object_set_new(o, "sensitive_when", json_null());
		if (d->sensitive_col != NULL && d->sensitive_key != NULL) {
			json_t *values = json_array();
			for (const char *const *p = d->sensitive_values; p && *p; p++)
				json_array_append_new(values, json_string(*p));
			json_object_set_new(o, "sensitive_when",
			    json_pack("{s:s, s:o}", "field", d->sensitive_key, "values", values));
		}
		json_object_set_new(resources, res->name, o);
	}
	return resources;
}

void
policy_show(struct tremplin_request *r)
{
	api_reply(r, 200,
	    json_pack("{s:o, s:o, s:[sss]}", "categories", policy_json(), "resources",
	        resource_policy_json(), "personal_data_roles", "eti", "cip", "coordinator"));
}
