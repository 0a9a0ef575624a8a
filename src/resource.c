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
#include "handlers.h"
#include "events.h"
#include "log.h"
#include "server.h"
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

/* ---- SQL built from the columns ---- */

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

static void
init_one(struct resource *res)
{
	char cols[2048] = "", marks[512] = "", sets[2048] = "";
	size_t nins = 0;

	for (size_t i = 0; i < res->ncols; i++) {
		const struct column *c = &res->cols[i];
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
	res->sql_select = build("SELECT %s FROM %s WHERE id = ?", cols, res->table);
	res->sql_insert =
	    build("INSERT INTO %s (%s) VALUES (%s)", res->table, strchr(cols, ',') + 2, marks);
	res->sql_update = build("UPDATE %s SET %s WHERE id = ?", res->table, sets);
	if (res->parent != NULL) {
		/*
		 * One level: the parent's rows are a person's (employee_id), and
		 * whom they are hidden from is the person's file (no row rule).
		 */
		if (res->parent->parent != NULL || !res->parent->child ||
		    res->parent->visible != NULL || !res->child)
			fatalx("resource %s: its parent must be a plain child of the employee",
			    res->name);
		res->sql_list = build("SELECT %s FROM %s WHERE %s IN (SELECT id FROM %s WHERE"
		                      " employee_id = ?1) AND id > ?2 ORDER BY id LIMIT ?3",
		    cols, res->table, res->parent_col, res->parent->table);
		res->sql_children = build("SELECT %s FROM %s WHERE %s = ? ORDER BY id", cols,
		    res->table, res->parent_col);
	} else if (res->child)
		res->sql_list =
		    build("SELECT %s FROM %s WHERE employee_id = ?1 AND id > ?2 ORDER BY id"
		          " LIMIT ?3",
		        cols, res->table);
}

void
resources_init(void)
{
	for (size_t i = 0; i < nall_resources; i++)
		if (all_resources[i]->sql_select == NULL)
			init_one(all_resources[i]);
}

/* ---- rows ---- */

static const struct column *
find_col(const struct resource *res, const char *name)
{
	for (size_t i = 0; i < res->ncols; i++)
		if (strcmp(res->cols[i].name, name) == 0)
			return &res->cols[i];
	return NULL;
}

static json_t *
row_json(const struct resource *res, sqlite3_stmt *st)
{
	json_t *o = db_row_to_json(st);

	for (size_t i = 0; i < res->ncols; i++) {
		const struct column *c = &res->cols[i];
		json_t *v = json_object_get(o, c->name);
		if (json_is_null(v))
			continue;
		if (c->type == COL_BOOL)
			json_object_set_new(o, c->name, json_boolean(json_integer_value(v)));
		else if (c->type == COL_REAL && json_is_integer(v))
			json_object_set_new(o, c->name, json_real((double)json_integer_value(v)));
		else if (c->type == COL_NAMES) {
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
	const char *v;

	if (res->sensitive_row != NULL)
		return res->sensitive_row(row);
	if (res->sensitive_key == NULL || res->sensitive_values == NULL)
		return 0;
	if ((v = json_string_value(json_object_get(row, res->sensitive_key))) == NULL)
		return 0;
	for (const char *const *p = res->sensitive_values; *p; p++)
		if (strcmp(*p, v) == 0)
			return 1;
	return 0;
}

static enum category
col_category(const struct resource *res, const struct column *c, const json_t *row)
{
	if (res->sensitive_col != NULL && strcmp(res->sensitive_col, c->name) == 0 &&
	    resource_sensitive_row(res, row))
		return CAT_SENSITIVE;
	return c->cat;
}

json_t *
resource_view(const struct resource *res, const struct access *a, json_t *row, unsigned *cats)
{
	json_t *out;
	unsigned shown = 0;
	int personal = 0;

	if (res->visible && !res->visible(a, row))
		return NULL;
	out = json_object();
	for (size_t i = 0; i < res->ncols; i++) {
		const struct column *c = &res->cols[i];
		enum category cat = col_category(res, c, row);
		json_t *v = json_object_get(row, c->name);
		if (v == NULL || !policy_can_read(a, cat))
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
	if (!personal) {
		json_decref(out);
		return NULL;
	}
	*cats |= shown;
	return out;
}

int
resource_expand(struct tremplin_request *r, const struct resource *res, const struct access *a,
    json_t *view, unsigned *cats)
{
	int readable = res->ncomputed == 0;

	if (res->expand == NULL)
		return 0;
	for (size_t i = 0; i < res->ncomputed; i++)
		readable |= policy_can_read(a, res->computed[i].cat);
	if (!readable)
		return 0; /* nothing it would add may be shown */
	if (res->expand(r, a, view, cats) == -1)
		return -1;
	/* The policy, here once for every hook: what it added follows the table. */
	for (size_t i = 0; i < res->ncomputed; i++) {
		const struct computed *c = &res->computed[i];
		json_t *v = json_object_get(view, c->name);
		if (v == NULL)
			continue;
		if (!policy_can_read(a, c->cat))
			json_object_del(view, c->name);
		else if (policy_audited(c->cat) && !json_is_null(v))
			*cats |= 1u << c->cat;
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
	/* The records that belong to this one, nested under their key. */
	for (size_t i = 0; i < nall_resources; i++) {
		const struct resource *sub = all_resources[i];
		if (sub->parent != res)
			continue;
		json_t *items = resource_children(
		    r, sub, json_integer_value(json_object_get(row, "id")), a, cats);
		if (items == NULL) {
			json_decref(v);
			return NULL;
		}
		json_object_set_new(v, sub->nested_as, items);
	}
	if (resource_expand(r, res, a, v, cats) == -1) {
		json_decref(v);
		return NULL;
	}
	return v;
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
	if (res->parent != NULL) {
		int dberr, rc;
		json_t *p = resource_load(r, res->parent,
		    json_integer_value(json_object_get(row, res->parent_col)), &dberr);
		if (p == NULL)
			return -1;
		rc = resource_employee(r, res->parent, p, employee_id);
		json_decref(p);
		return rc;
	}
	*employee_id = json_integer_value(json_object_get(row, res->child ? "employee_id" : "id"));
	return 0;
}

/*
 * The person a row belongs to and the caller's access to them: 0, or -1
 * when the row is hidden from the caller or its person is gone.
 */
static int
row_person(struct tremplin_request *r, const struct resource *res, const json_t *row,
    int64_t *employee_id, struct access *a)
{
	if (!res->child) {
		/* The employee's own row names its referents: no second query. */
		*employee_id = json_integer_value(json_object_get(row, "id"));
		access_of_employee_row(r, row, a);
	} else if (resource_employee(r, res, row, employee_id) == -1 ||
	    access_for_employee(r, *employee_id, a) == -1)
		return -1;
	return res->visible != NULL && !res->visible(a, row) ? -1 : 0;
}

json_t *
resource_children(struct tremplin_request *r, const struct resource *res, int64_t parent_id,
    const struct access *a, unsigned *cats)
{
	sqlite3_stmt *st = db_stmt(r->srv->db, res->sql_children);
	json_t *items;
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, parent_id);
	items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = row_json(res, st);
		json_t *v = resource_view(res, a, row, cats);
		/* Its computed fields (a PASS prolongation's dates) come with it. */
		int bad = v != NULL && resource_expand(r, res, a, v, cats) == -1;
		json_decref(row);
		if (bad) {
			json_decref(v);
			rc = SQLITE_ERROR;
			break;
		}
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

/* The value of one column: its type and bounds. */
static int
check_value(struct tremplin_request *r, const struct column *c, json_t *v, struct tremplin_error *e)
{
	const char *why;

	switch (c->type) {
	case COL_TEXT:
		if (!json_is_string(v))
			goto type;
		if ((why = check_text(json_string_value(v), c->max ? c->max : 200)) != NULL) {
			input_error_set(
			    e, 422, "validation_failed", c->name, "%s %s", c->name, why);
			return -1;
		}
		return 0;
	case COL_DATE:
		if (!json_is_string(v))
			goto type;
		if (!valid_date(json_string_value(v))) {
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s must be a date YYYY-MM-DD that exists", c->name);
			return -1;
		}
		return 0;
	case COL_INT:
		if (!json_is_integer(v))
			goto type;
		if (json_integer_value(v) < c->min || json_integer_value(v) > c->max) {
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s must be from %d to %d", c->name, c->min, c->max);
			return -1;
		}
		return 0;
	case COL_REAL:
		if (!json_is_number(v))
			goto type;
		if (json_number_value(v) < c->min || json_number_value(v) > c->max) {
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s must be from %d to %d", c->name, c->min, c->max);
			return -1;
		}
		return 0;
	case COL_BOOL:
		if (!json_is_boolean(v))
			goto type;
		return 0;
	case COL_ENUM:
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
	case COL_STAFF:
		if (!json_is_integer(v))
			goto type;
		if (!staff_active(r, json_integer_value(v))) {
			input_error_set(e, 422, "validation_failed", c->name,
			    "%s is not an active staff account", c->name);
			return -1;
		}
		return 0;
	case COL_NAMES: {
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
		const struct column *c = find_col(res, k);
		if (c == NULL) {
			char q[JSON_NAME_QUOTED];
			input_error_set(e, 400, "unknown_field", k, "%s is not a known field",
			    json_safe_text(q, sizeof(q), k));
			return -1;
		}
		if (c->flags & COL_SERVER) {
			input_error_set(
			    e, 422, "validation_failed", k, "%s is set by the server", k);
			return -1;
		}
		if (before != NULL && (c->flags & COL_FIXED)) {
			input_error_set(e, 422, "validation_failed", k, "%s cannot be changed", k);
			return -1;
		}
		/*
		 * The category the value will have and, on a change, the one it
		 * had: a health barrier's detail stays the referent's to change
		 * even when the same patch moves the barrier out of health.
		 */
		enum category cat = col_category(res, c, merged);
		enum category was = before != NULL ? col_category(res, c, before) : cat;
		if (!policy_can_write(a, cat) || !policy_can_write(a, was)) {
			input_error_set(e, 403, "forbidden", k, "the %s role may not write %s",
			    role_name(a->role), k);
			return -1;
		}
		*cats |= 1u << cat | 1u << was;
		if (json_is_null(v)) {
			if (!(c->flags & COL_NULLABLE)) {
				input_error_set(
				    e, 422, "validation_failed", k, "%s may not be null", k);
				return -1;
			}
			continue;
		}
		if (check_value(r, c, v, e) == -1)
			return -1;
	}
	if (before == NULL)
		for (size_t i = 0; i < res->ncols; i++) {
			const struct column *c = &res->cols[i];
			json_t *cur = json_object_get(merged, c->name);
			if ((c->flags & COL_REQUIRED) && (cur == NULL || json_is_null(cur))) {
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
bind_value(sqlite3_stmt *st, int i, const struct column *c, json_t *v)
{
	if (v == NULL || json_is_null(v)) {
		sqlite3_bind_null(st, i);
		return;
	}
	switch (c->type) {
	case COL_INT:
	case COL_STAFF:
		sqlite3_bind_int64(st, i, json_integer_value(v));
		break;
	case COL_REAL:
		sqlite3_bind_double(st, i, json_number_value(v));
		break;
	case COL_BOOL:
		sqlite3_bind_int(st, i, json_is_true(v));
		break;
	case COL_NAMES: {
		char *t = json_dumps(v, JSON_COMPACT);
		sqlite3_bind_text(st, i, t, -1, free);
		break;
	}
	default:
		sqlite3_bind_text(st, i, json_string_value(v), -1, SQLITE_TRANSIENT);
	}
}

/* Journal a change without the values: subscribers read what their role allows. */
int
resource_publish(struct tremplin_request *r, const struct resource *res, int64_t id,
    int64_t employee_id, const json_t *row, json_t *changed)
{
	char type[64], subject[64];
	json_t *payload = json_pack("{s:I, s:o}", "id", (json_int_t)id, "changed",
	    changed ? json_incref(changed) : json_array());

	if (employee_id > 0)
		json_object_set_new(payload, "employee_id", json_integer(employee_id));
	/* The parent's id (a renewal's contract_id), like employee_id: no values. */
	if (res->parent != NULL)
		json_object_set_new(payload, res->parent_col,
		    json_integer(json_integer_value(json_object_get(row, res->parent_col))));
	snprintf(type, sizeof(type), "%s.%s", res->name, changed ? "updated" : "created");
	snprintf(subject, sizeof(subject), "%s/%lld", res->name, (long long)id);
	return events_publish_by(r->srv->events, &r->who, type, subject, payload) < 0 ? -1 : 0;
}

/* ---- handlers ---- */

static const struct resource *
route_resource(struct tremplin_request *r)
{
	return r->route->arg;
}

static int
deny_non_personal(struct tremplin_request *r)
{
	if (policy_personal_data(r->who.role))
		return 0;
	api_error(r, 403, "forbidden", NULL, "the %s role reads no personal data",
	    role_name(r->who.role));
	return -1;
}

/* Whether the caller may read anything at all of this resource. */
static int
readable_at_all(const struct resource *res, const struct access *a)
{
	struct access ref = *a;

	/* A column readable by the referent is readable "at all" by a CIP. */
	ref.referent_cip = a->role == ROLE_CIP;
	for (size_t i = 0; i < res->ncols; i++)
		if (res->cols[i].cat != CAT_NONE && policy_can_read(&ref, res->cols[i].cat))
			return 1;
	return 0;
}

void
resource_list(struct tremplin_request *r)
{
	const struct resource *res = route_resource(r);
	static const char *const params[] = { "limit", "cursor", NULL };
	int64_t employee_id = r->ids[0], after, last = 0;
	struct access a;
	unsigned cats = 0;
	int limit, rc, n = 0;

	if (deny_non_personal(r) == -1 || api_query_only(r, params) == -1 ||
	    api_page(r, &limit, &after) == -1)
		return;
	if (access_for_employee(r, employee_id, &a) == -1) {
		api_error(r, 404, "not_found", NULL, "no employee %lld", (long long)employee_id);
		return;
	}
	if (!readable_at_all(res, &a)) {
		api_error(r, 403, "forbidden", NULL, "the %s role may not read %ss",
		    role_name(a.role), res->name);
		return;
	}
	sqlite3_stmt *st = db_stmt(r->srv->db, res->sql_list);
	if (st == NULL) {
		api_internal(r, "prepare");
		return;
	}
	sqlite3_bind_int64(st, 1, employee_id);
	sqlite3_bind_int64(st, 2, after);
	/*
	 * Rows hidden from the caller neither count towards the page nor end it:
	 * a cursor on a hidden row, or a next page of hidden rows only, would
	 * tell that they exist. Stepping stops once a row past the page shows.
	 */
	sqlite3_bind_int(st, 3, -1);
	json_t *items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		unsigned rowcats = 0;
		json_t *row = row_json(res, st);
		json_t *v = resource_show(r, res, &a, row, &rowcats);
		json_decref(row);
		if (v == NULL)
			continue;
		if (++n > limit) {
			json_decref(v);
			break;
		}
		last = sqlite3_column_int64(st, 0);
		cats |= rowcats;
		json_array_append_new(items, v);
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(items);
		api_internal(r, "list");
		return;
	}
	if (cats != 0 &&
	    audit_record(r->srv->audit, &r->who, "read", employee_id, res->table, cats)) {
		json_decref(items);
		audit_refuse(r, "read");
		return;
	}
	api_reply(r, 200, api_list(items, n > limit ? last : 0));
}

void
resource_get(struct tremplin_request *r)
{
	const struct resource *res = route_resource(r);
	struct access a;
	unsigned cats = 0;
	int dberr;

	if (deny_non_personal(r) == -1)
		return;
	json_t *row = resource_load(r, res, r->ids[0], &dberr);
	if (row == NULL) {
		if (dberr)
			api_internal(r, "load");
		else
			api_error(r, 404, "not_found", NULL, "no %s %lld", res->name,
			    (long long)r->ids[0]);
		return;
	}
	int64_t employee_id = 0;
	json_t *v = row_person(r, res, row, &employee_id, &a) == 0
	    ? resource_show(r, res, &a, row, &cats)
	    : NULL;
	json_decref(row);
	/* Hidden answers as absent: the caller cannot tell it exists. */
	if (v == NULL) {
		api_error(r, 404, "not_found", NULL, "no %s %lld", res->name, (long long)r->ids[0]);
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
		const struct column *c = &res->cols[i];
		if (c->def != NULL && json_object_get(obj, c->name) == NULL)
			json_object_set_new(
			    obj, c->name, json_loads(c->def, JSON_DECODE_ANY, NULL));
	}
}

/* Insert or update one row; writes the audit entry and the event; commits. */
static int
write_row(struct tremplin_request *r, const struct resource *res, json_t *obj, int64_t *id,
    int64_t employee_id, json_t *changed, unsigned cats)
{
	struct db *db = r->srv->db;
	sqlite3_stmt *st;
	int n = 1, rc;

	if (db_begin(db) == -1)
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
			db_rollback(db);
			return -3;
		}
		goto fail;
	}
	if (*id == 0)
		*id = sqlite3_last_insert_rowid(db_handle(db));
	if (res->after_write && res->after_write(r, obj, *id) == -1)
		goto fail;
	if (employee_id == 0)
		employee_id = *id; /* the employee itself */
	if ((res->child || changed != NULL) && employee_touch(r, employee_id) == -1)
		goto fail;
	if (resource_publish(r, res, *id, employee_id, obj, changed) == -1)
		goto fail;
	/* Recorded before the commit: an unrecorded write never lands. */
	if (audit_record(r->srv->audit, &r->who, changed ? "update" : "create", employee_id,
	        res->table, cats) == -1)
		goto fail;
	if (db_commit(db) == -1)
		return -1;
	return 0;
fail:
	/* A full disk is logged once per episode, by the store; api_internal says the rest. */
	if (!db_full(db, NULL) && !db_full(audit_db(r->srv->audit), NULL))
		log_warnx("%s: write failed: %s", res->table, sqlite3_errmsg(db_handle(db)));
	db_rollback(db);
	return -1;
}

static void
reply_row(struct tremplin_request *r, const struct resource *res, int64_t id,
    const struct access *a, int created)
{
	char loc[96];
	unsigned cats = 0;
	int dberr;
	json_t *row = resource_load(r, res, id, &dberr);
	json_t *v = row ? resource_show(r, res, a, row, &cats) : NULL;

	json_decref(row);
	if (v == NULL)
		v = json_pack("{s:I}", "id", (json_int_t)id);
	if (created) {
		snprintf(loc, sizeof(loc), "/v1/%s/%lld", res->plural, (long long)id);
		api_reply_created(r, loc, v);
	} else
		api_reply(r, 200, v);
}

void
resource_create(struct tremplin_request *r)
{
	const struct resource *res = route_resource(r);
	int64_t employee_id = res->child ? r->ids[0] : 0, id = 0;
	struct tremplin_error e;
	struct access a;
	unsigned cats = 0;

	if (deny_non_personal(r) == -1)
		return;
	if (res->parent != NULL) {
		/* The route names the parent: the person is its person. */
		int dberr;
		json_t *p = resource_load(r, res->parent, r->ids[0], &dberr);
		if (p == NULL && dberr) {
			api_internal(r, "load");
			return;
		}
		if (p == NULL || row_person(r, res->parent, p, &employee_id, &a) == -1) {
			json_decref(p);
			api_error(r, 404, "not_found", NULL, "no %s %lld", res->parent->name,
			    (long long)r->ids[0]);
			return;
		}
		json_decref(p);
	} else if (res->child) {
		if (access_for_employee(r, employee_id, &a) == -1) {
			api_error(
			    r, 404, "not_found", NULL, "no employee %lld", (long long)employee_id);
			return;
		}
	} else {
		memset(&a, 0, sizeof(a));
		a.role = r->who.role;
		a.staff_id = r->who.staff_id;
		/*
		 * The CIP who opens a file holds it until a referent is named, so
		 * may name one (themselves or a colleague): a new file holds
		 * nothing a referent's rights would reveal. Once it exists, only
		 * the coordinator or its referent changes the referent.
		 */
		a.referent_cip = a.role == ROLE_CIP;
	}
	json_t *obj = json_deep_copy(r->body);
	apply_defaults(res, obj);
	/* Server columns first: the cross-field rules may need whose it is. */
	if (res->parent != NULL)
		json_object_set_new(obj, res->parent_col, json_integer(r->ids[0]));
	else if (res->child)
		json_object_set_new(obj, "employee_id", json_integer(employee_id));
	if (check_input(r, res, &a, r->body, NULL, obj, &cats, &e) == -1 ||
	    (res->check && res->check(r, obj, NULL, &e) == -1)) {
		json_decref(obj);
		api_input_error(r, &e);
		return;
	}
	char now[32];
	tr_rfc3339(tr_now(), now, sizeof(now));
	for (size_t i = 0; i < res->ncols; i++)
		if (strcmp(res->cols[i].name, "created_at") == 0 ||
		    strcmp(res->cols[i].name, "updated_at") == 0 ||
		    strcmp(res->cols[i].name, "last_contact_at") == 0)
			json_object_set_new(obj, res->cols[i].name, json_string(now));
	if (res->author_col != NULL)
		json_object_set_new(obj, res->author_col, json_integer(r->who.staff_id));
	int rc = write_row(r, res, obj, &id, employee_id, NULL, cats);
	json_decref(obj);
	if (rc == -2) {
		api_error(r, 503, "unavailable", NULL, "the database is busy; try again");
		return;
	}
	if (rc == -3) {
		api_error(r, 409, "conflict", NULL, "this %s exists already", res->name);
		return;
	}
	if (rc == -1) {
		api_internal(r, "create");
		return;
	}
	if (!res->child) {
		/* The creator sees the new file with the rights it now has on it. */
		access_for_employee(r, id, &a);
	}
	reply_row(r, res, id, &a, 1);
}

void
resource_update(struct tremplin_request *r)
{
	const struct resource *res = route_resource(r);
	struct tremplin_error e;
	struct access a;
	unsigned cats = 0;
	int dberr;

	if (deny_non_personal(r) == -1)
		return;
	json_t *before = resource_load(r, res, r->ids[0], &dberr);
	if (before == NULL) {
		if (dberr)
			api_internal(r, "load");
		else
			api_error(r, 404, "not_found", NULL, "no %s %lld", res->name,
			    (long long)r->ids[0]);
		return;
	}
	int64_t employee_id = 0;
	unsigned seen = 0;
	json_t *view = row_person(r, res, before, &employee_id, &a) == 0
	    ? resource_view(res, &a, before, &seen)
	    : NULL;
	/* What the caller may not see, it may not change either: it does not exist. */
	if (view == NULL) {
		json_decref(before);
		api_error(r, 404, "not_found", NULL, "no %s %lld", res->name, (long long)r->ids[0]);
		return;
	}
	json_decref(view);
	json_t *obj = json_deep_copy(before);
	json_merge_patch(obj, r->body);
	/* A null that the merge patch removed is still a value to store: NULL. */
	if (check_input(r, res, &a, r->body, before, obj, &cats, &e) == -1 ||
	    (res->check && res->check(r, obj, before, &e) == -1)) {
		json_decref(obj);
		json_decref(before);
		api_input_error(r, &e);
		return;
	}
	char now[32];
	tr_rfc3339(tr_now(), now, sizeof(now));
	if (find_col(res, "updated_at"))
		json_object_set_new(obj, "updated_at", json_string(now));
	json_t *changed = json_array();
	const char *k;
	json_t *v;
	json_object_foreach (r->body, k, v)
		if (!json_equal(json_object_get(before, k), json_object_get(obj, k)) &&
		    !(json_is_null(v) && json_is_null(json_object_get(before, k))))
			json_array_append_new(changed, json_string(k));
	int64_t id = r->ids[0];
	int rc = write_row(r, res, obj, &id, res->child ? employee_id : 0, changed, cats);
	json_decref(changed);
	json_decref(obj);
	json_decref(before);
	if (rc == -2) {
		api_error(r, 503, "unavailable", NULL, "the database is busy; try again");
		return;
	}
	if (rc == -3) {
		api_error(r, 409, "conflict", NULL, "this %s exists already", res->name);
		return;
	}
	if (rc == -1) {
		api_internal(r, "update");
		return;
	}
	if (!res->child)
		access_for_employee(r, id, &a);
	reply_row(r, res, id, &a, 0);
}

void
policy_show(struct tremplin_request *r)
{
	json_t *resources = json_object();

	for (size_t i = 0; i < nall_resources; i++) {
		const struct resource *res = all_resources[i];
		json_t *fields = json_object();
		for (size_t j = 0; j < res->ncols; j++) {
			const struct column *c = &res->cols[j];
			json_t *cats = json_array();
			json_array_append_new(cats, json_string(category_name(c->cat)));
			if (res->sensitive_col != NULL && strcmp(res->sensitive_col, c->name) == 0)
				json_array_append_new(
				    cats, json_string(category_name(CAT_SENSITIVE)));
			json_object_set_new(fields, c->name, cats);
		}
		/* Computed fields are fields to the caller: listed with the columns, and apart. */
		json_t *computed = json_array();
		for (size_t j = 0; j < res->ncomputed; j++) {
			const struct computed *c = &res->computed[j];
			json_object_set_new(
			    fields, c->name, json_pack("[s]", category_name(c->cat)));
			json_array_append_new(computed, json_string(c->name));
		}
		json_t *o = json_pack(
		    "{s:s, s:o, s:o}", "path", res->plural, "fields", fields, "computed", computed);
		/* Records shown inside this one: key -> resource name. */
		json_t *nested = json_object();
		for (size_t k = 0; k < nall_resources; k++)
			if (all_resources[k]->parent == res)
				json_object_set_new(nested, all_resources[k]->nested_as,
				    json_string(all_resources[k]->name));
		json_object_set_new(o, "nested", nested);
		/* Which rows make sensitive_col sensitive, for those who check the answers. */
		json_object_set_new(o, "sensitive_when", json_null());
		if (res->sensitive_col != NULL && res->sensitive_key != NULL) {
			json_t *values = json_array();
			for (const char *const *p = res->sensitive_values; p && *p; p++)
				json_array_append_new(values, json_string(*p));
			json_object_set_new(o, "sensitive_when",
			    json_pack("{s:s, s:o}", "field", res->sensitive_key, "values", values));
		}
		json_object_set_new(resources, res->name, o);
	}
	api_reply(r, 200,
	    json_pack("{s:o, s:o, s:[sss]}", "categories", policy_json(), "resources", resources,
	        "personal_data_roles", "eti", "cip", "coordinator"));
}
