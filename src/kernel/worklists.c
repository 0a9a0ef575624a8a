/*
 * Worklists across files: what a CIP, an ETI or the coordinator has to do
 * next, over every file they may read (reviews due, contracts and PASS IAE
 * ending, welcome items left undone, goals past their deadline, people
 * without an entry review a month after hiring), and the caseload itself.
 *
 * Each list is a query for candidate rows, then each row is read through
 * the record framework as the caller may see it (resource_show): a row, or
 * a field, the caller may not read is not in the list, and reads of audited
 * categories are recorded per person, as a GET of each would be. A list
 * names the person and the referents beside their ids (resource_names).
 *
 * Not paged: a worklist is bounded by its dates and a caseload by its
 * filters; past WORKLIST_MAX rows it says "truncated".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "config.h"
#include "csv.h"
#include "db.h"
#include "kernel.h"
#include "resource.h"
#include "server.h"
#include "util.h"

#define WORKLIST_MAX 2000

/* The filters every worklist takes, bound as ?1..?4 (NULL: any). */
struct wl_filters {
	int64_t structure_id, cip, eti;
	const char *team;
};

static const char *const common_params[] = { "structure_id", "referent_cip_id", "referent_eti_id",
	"team", "format" };

/* The query parameters of one list: the common ones and its own. */
static int
wl_params(struct tremplin_request *r, const char *const *own, struct wl_filters *f)
{
	const char *names[16];
	size_t n = 0;
	const char *v;

	for (size_t i = 0; i < TR_NELEM(common_params); i++)
		names[n++] = common_params[i];
	for (; own != NULL && *own != NULL && n < TR_NELEM(names) - 1; own++)
		names[n++] = *own;
	names[n] = NULL;
	if (api_query_only(r, names) == -1 || csv_format_ok(r) == -1)
		return -1;
	memset(f, 0, sizeof(*f));
	if ((v = api_query(r, "structure_id")) != NULL &&
	    tr_parse_i64(v, 1, INT64_MAX, &f->structure_id) == -1) {
		api_error(r, 400, "bad_request", "structure_id", "structure_id must be an id");
		return -1;
	}
	if ((v = api_query(r, "referent_cip_id")) != NULL && staff_filter_id(r, v, &f->cip) == -1) {
		api_error(r, 400, "bad_request", "referent_cip_id",
		    "referent_cip_id must be a staff id or me (for a staff account)");
		return -1;
	}
	if ((v = api_query(r, "referent_eti_id")) != NULL && staff_filter_id(r, v, &f->eti) == -1) {
		api_error(r, 400, "bad_request", "referent_eti_id",
		    "referent_eti_id must be a staff id or me (for a staff account)");
		return -1;
	}
	f->team = api_query(r, "team");
	return 0;
}

/* ?name=: an integer from min to max, def when absent; -1 once answered. */
static int
int_param(struct tremplin_request *r, const char *name, int64_t min, int64_t max, int64_t def,
    int64_t *out)
{
	const char *v = api_query(r, name);

	*out = def;
	if (v != NULL && tr_parse_i64(v, min, max, out) == -1) {
		api_error(r, 400, "bad_request", name, "%s must be an integer from %lld to %lld",
		    name, (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

/* ?name=: a date (YYYY-MM-DD), or NULL; -1 once answered. */
static int
date_param(struct tremplin_request *r, const char *name, const char **out)
{
	*out = api_query(r, name);
	if (*out != NULL && !valid_date(*out)) {
		api_error(r, 400, "bad_request", name, "%s must be a date (YYYY-MM-DD)", name);
		return -1;
	}
	return 0;
}

/* The common filters in ?1..?4 of a statement on employees e. */
#define WL_WHERE                                                                                   \
	"(?1 IS NULL OR e.structure_id = ?1) AND (?2 IS NULL OR e.referent_cip_id = ?2)"           \
	" AND (?3 IS NULL OR e.referent_eti_id = ?3) AND (?4 IS NULL OR e.team = ?4)"
/* The person's hiring: the start of their first contract. */
#define WL_HIRED "(SELECT min(c.start_date) FROM contracts c WHERE c.employee_id = e.id)"

static sqlite3_stmt *
wl_stmt(struct tremplin_request *r, const char *sql, const struct wl_filters *f)
{
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);

	if (st == NULL) {
		api_internal(r, "prepare");
		return NULL;
	}
	if (f->structure_id)
		sqlite3_bind_int64(st, 1, f->structure_id);
	if (f->cip)
		sqlite3_bind_int64(st, 2, f->cip);
	if (f->eti)
		sqlite3_bind_int64(st, 3, f->eti);
	if (f->team)
		sqlite3_bind_text(st, 4, f->team, -1, SQLITE_TRANSIENT);
	return st;
}

/* One worklist being built: its items, and the audit of what it shows. */
struct wl {
	struct tremplin_request *r;
	json_t *items;
	int truncated;
	int failed;
};

static void
copy(json_t *to, const char *key, const json_t *from, const char *from_key)
{
	json_t *v = json_object_get(from, from_key);

	if (v != NULL)
		json_object_set(to, key, v);
}

/*
 * A new item naming person employee_id as the caller may read them, and the
 * caller's rights on the file in *a; NULL when the person is not there.
 */
static json_t *
wl_person(struct wl *w, int64_t employee_id, struct access *a)
{
	const struct resource *person = resource_person();
	int dberr;
	unsigned cats = 0;
	json_t *row = resource_load(w->r, person, employee_id, &dberr), *v, *item;

	if (row == NULL) {
		w->failed |= dberr;
		return NULL;
	}
	access_of_employee_row(w->r, row, a);
	v = resource_view(person, a, row, &cats);
	json_decref(row);
	if (v == NULL)
		return NULL;
	resource_names(w->r, person, a, v);
	item = json_pack("{s:I}", "employee_id", (json_int_t)employee_id);
	if (json_object_get(v, "first_name") != NULL) {
		json_t *n = person_display_name(w->r, employee_id);
		if (n != NULL)
			json_object_set_new(item, "employee_name", n);
	}
	copy(item, "first_name", v, "first_name");
	copy(item, "last_name", v, "last_name");
	copy(item, "structure_id", v, "structure_id");
	copy(item, "team", v, "team");
	copy(item, "status", v, "status");
	copy(item, "referent_cip_id", v, "referent_cip_id");
	copy(item, "referent_cip_name", v, "referent_cip_name");
	copy(item, "referent_eti_id", v, "referent_eti_id");
	copy(item, "referent_eti_name", v, "referent_eti_name");
	json_decref(v);
	return item;
}

/* Row id of res as the caller may see it (a: its rights on the person); NULL when hidden. */
static json_t *
wl_record(struct wl *w, const char *name, int64_t id, const struct access *a)
{
	const struct resource *res = resource_find(name);
	int dberr;
	unsigned cats = 0;
	json_t *row = resource_load(w->r, res, id, &dberr), *v;

	if (row == NULL) {
		w->failed |= dberr;
		return NULL;
	}
	v = resource_show(w->r, res, a, row, &cats);
	json_decref(row);
	if (v != NULL && cats != 0) {
		int64_t employee_id = json_integer_value(json_object_get(v, "employee_id"));
		if (audit_record(
		        w->r->srv->audit, &w->r->who, "read", employee_id, res->table, cats) != 0)
			w->failed = 2;
	}
	return v;
}

static int
wl_add(struct wl *w, json_t *item)
{
	if (json_array_size(w->items) >= WORKLIST_MAX) {
		w->truncated = 1;
		json_decref(item);
		return -1;
	}
	json_array_append_new(w->items, item);
	return 0;
}

static int64_t
days_between(const char *from, const char *to)
{
	return date_days(to) - date_days(from);
}

/* An item and where the query put it: equal dates keep the query's order. */
struct sorted {
	json_t *v;
	size_t i;
};

static int
by_date(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	const char *dx = json_string_value(json_object_get(x->v, "sort_date"));
	const char *dy = json_string_value(json_object_get(y->v, "sort_date"));
	int c = strcmp(dx ? dx : "", dy ? dy : "");

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Items in date order (sort_date, dropped), then the answer: JSON or CSV. */
static void
wl_reply(
    struct wl *w, const char *as_of, const struct csv_col *cols, size_t ncols, const char *filename)
{
	struct tremplin_request *r = w->r;
	size_t n = json_array_size(w->items);
	struct sorted *v;

	if (w->failed) {
		json_decref(w->items);
		if (w->failed == 2)
			audit_refuse(r, "read");
		else
			api_internal(r, "worklist");
		return;
	}
	if (n > 1 && json_object_get(json_array_get(w->items, 0), "sort_date") != NULL &&
	    (v = calloc(n, sizeof(*v))) != NULL) {
		for (size_t i = 0; i < n; i++) {
			v[i].v = json_incref(json_array_get(w->items, i));
			v[i].i = i;
		}
		qsort(v, n, sizeof(*v), by_date);
		json_array_clear(w->items);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(w->items, v[i].v);
		free(v);
	}
	for (size_t i = 0; i < n; i++)
		json_object_del(json_array_get(w->items, i), "sort_date");
	if (csv_wanted(r)) {
		csv_reply(r, cols, ncols, w->items, filename);
		json_decref(w->items);
		return;
	}
	api_reply(r, 200,
	    json_pack(
	        "{s:o, s:s, s:b}", "items", w->items, "as_of", as_of, "truncated", w->truncated));
}

static int
wl_begin(struct wl *w, struct tremplin_request *r)
{
	memset(w, 0, sizeof(*w));
	w->r = r;
	w->items = json_array();
	return w->items != NULL ? 0 : -1;
}

#define PERSON_COLS                                                                                \
	{ "last_name", "Nom", CSV_TEXT }, { "first_name", "Prénom", CSV_TEXT },                    \
	    { "team", "Équipe", CSV_TEXT }, { "referent_cip_name", "CIP référent", CSV_TEXT },     \
	{                                                                                          \
		"referent_eti_name", "ETI référent", CSV_TEXT                                      \
	}

/* ---- reviews due or overdue ---- */

static const struct csv_col review_cols[] = {
	PERSON_COLS,
	{ "review_kind", "Bilan", CSV_TEXT },
	{ "planned_on", "Prévu le", CSV_DATE },
	{ "overdue", "En retard", CSV_BOOL },
	{ "days_late", "Jours de retard", CSV_INT },
};

static void
worklist_reviews(struct tremplin_request *r, void *arg)
{
	static const char *const own[] = { "from", "to", "days", NULL };
	static const char sql[] = "SELECT rv.id, rv.employee_id, rv.planned_on FROM reviews rv"
	                          " JOIN employees e ON e.id = rv.employee_id"
	                          " WHERE rv.held_on IS NULL AND e.status != 'exited'"
	                          " AND (?5 IS NULL OR rv.planned_on >= ?5) AND rv.planned_on <= ?6"
	                          " AND " WL_WHERE " ORDER BY rv.planned_on, rv.id";
	struct wl_filters f;
	const char *from, *to;
	char today[11], until[11];
	int64_t days;
	struct wl w;
	int rc;

	(void)arg;
	if (wl_params(r, own, &f) == -1 || date_param(r, "from", &from) == -1 ||
	    date_param(r, "to", &to) == -1 || int_param(r, "days", 0, 3660, 14, &days) == -1)
		return;
	date_today(today, sizeof(today));
	if (to == NULL) {
		date_from_days(date_days(today) + days, until, sizeof(until));
		to = until;
	}
	sqlite3_stmt *st = wl_stmt(r, sql, &f);
	if (st == NULL || wl_begin(&w, r) == -1)
		return;
	if (from != NULL)
		sqlite3_bind_text(st, 5, from, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, to, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && !w.failed) {
		struct access a;
		json_t *item = wl_person(&w, sqlite3_column_int64(st, 1), &a), *rv;
		if (item == NULL)
			continue;
		rv = wl_record(&w, "review", sqlite3_column_int64(st, 0), &a);
		const char *planned = json_str(rv, "planned_on");
		if (rv == NULL || planned == NULL) {
			json_decref(rv);
			json_decref(item);
			continue;
		}
		int64_t late = days_between(planned, today);
		json_object_set_new(item, "review_id", json_integer(sqlite3_column_int64(st, 0)));
		copy(item, "review_kind", rv, "kind");
		copy(item, "planned_on", rv, "planned_on");
		copy(item, "sort_date", rv, "planned_on");
		json_object_set_new(item, "overdue", json_boolean(late > 0));
		json_object_set_new(item, "days_late", json_integer(late > 0 ? late : 0));
		json_decref(rv);
		if (wl_add(&w, item) == -1)
			break;
	}
	db_done(st);
	w.failed |= rc != SQLITE_ROW && rc != SQLITE_DONE;
	wl_reply(&w, today, review_cols, TR_NELEM(review_cols), "bilans.csv");
}

/* ---- contracts and PASS IAE ending ---- */

static const struct csv_col ending_cols[] = {
	PERSON_COLS,
	{ "what", "Échéance", CSV_TEXT },
	{ "end_date", "Date de fin", CSV_DATE },
	{ "days_left", "Jours restants", CSV_INT },
};

static void
worklist_ending(struct tremplin_request *r, void *arg)
{
	static const char *const own[] = { "days", NULL };
	static const char contracts[] =
	    "SELECT c.id, c.employee_id FROM contracts c JOIN employees e ON e.id = c.employee_id"
	    " WHERE c.ended_on IS NULL AND c.start_date <= ?5 AND c.end_date >= ?5"
	    " AND c.end_date <= ?6 AND e.status != 'exited' AND " WL_WHERE
	    " ORDER BY c.end_date, c.id";
	/* A PASS's end moves with its suspensions: the record computes it (end_date). */
	static const char passes[] =
	    "SELECT p.id, p.employee_id FROM passes p JOIN employees e ON e.id = p.employee_id"
	    " WHERE e.status != 'exited' AND " WL_WHERE " ORDER BY p.id";
	struct wl_filters f;
	char today[11], until[11];
	int64_t days;
	struct wl w;
	int rc = SQLITE_DONE;

	(void)arg;
	if (wl_params(r, own, &f) == -1 || int_param(r, "days", 0, 3660, 30, &days) == -1)
		return;
	date_today(today, sizeof(today));
	date_from_days(date_days(today) + days, until, sizeof(until));
	if (wl_begin(&w, r) == -1)
		return;
	for (int k = 0; k < 2 && !w.failed && !w.truncated; k++) {
		sqlite3_stmt *st = wl_stmt(r, k == 0 ? contracts : passes, &f);
		if (st == NULL) {
			json_decref(w.items);
			return;
		}
		if (k == 0) {
			sqlite3_bind_text(st, 5, today, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 6, until, -1, SQLITE_STATIC);
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && !w.failed) {
			struct access a;
			json_t *item = wl_person(&w, sqlite3_column_int64(st, 1), &a), *v;
			if (item == NULL)
				continue;
			v = wl_record(
			    &w, k == 0 ? "contract" : "pass", sqlite3_column_int64(st, 0), &a);
			const char *end = json_str(v, "end_date");
			if (v == NULL || end == NULL || strcmp(end, today) < 0 ||
			    strcmp(end, until) > 0) {
				json_decref(v);
				json_decref(item);
				continue;
			}
			json_object_set_new(
			    item, "what", json_string(k == 0 ? "contract" : "pass"));
			json_object_set_new(item, k == 0 ? "contract_id" : "pass_id",
			    json_integer(sqlite3_column_int64(st, 0)));
			copy(item, "end_date", v, "end_date");
			copy(item, "sort_date", v, "end_date");
			json_object_set_new(
			    item, "days_left", json_integer(days_between(today, end)));
			json_decref(v);
			if (wl_add(&w, item) == -1)
				break;
		}
		db_done(st);
		w.failed |= rc != SQLITE_ROW && rc != SQLITE_DONE;
	}
	wl_reply(&w, today, ending_cols, TR_NELEM(ending_cols), "echeances.csv");
}

/* ---- welcome items not done ---- */

static const struct csv_col welcome_cols[] = {
	PERSON_COLS,
	{ "hired_on", "Embauché le", CSV_DATE },
	{ "label", "Étape d'accueil", CSV_TEXT },
	{ "days_since_hiring", "Jours depuis l'embauche", CSV_INT },
};

/* 1 when the item is done for the person, 0 when not, -1 on a failure. */
static int
welcome_done(struct tremplin_request *r, int64_t employee_id, const char *item)
{
	static const char sql[] = "SELECT 1 FROM welcome_items WHERE employee_id = ? AND item = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee_id);
	sqlite3_bind_text(st, 2, item, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void
worklist_welcome(struct tremplin_request *r, void *arg)
{
	static const char *const own[] = { "days", NULL };
	static const char sql[] = "SELECT id, hired FROM (SELECT e.id, " WL_HIRED " AS hired"
	                          " FROM employees e WHERE e.status = 'in_pathway' AND " WL_WHERE
	                          ") WHERE hired <= ?5 ORDER BY hired, id";
	const struct config *c = r->srv->conf;
	struct wl_filters f;
	char today[11], since[11];
	int64_t days;
	struct wl w;
	int rc;

	(void)arg;
	if (wl_params(r, own, &f) == -1 || int_param(r, "days", 0, 3660, 7, &days) == -1)
		return;
	date_today(today, sizeof(today));
	date_from_days(date_days(today) - days, since, sizeof(since));
	sqlite3_stmt *st = wl_stmt(r, sql, &f);
	if (st == NULL || wl_begin(&w, r) == -1)
		return;
	sqlite3_bind_text(st, 5, since, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && !w.failed && !w.truncated) {
		struct access a;
		int64_t id = sqlite3_column_int64(st, 0);
		char hired[11];
		json_t *person = wl_person(&w, id, &a);
		if (person == NULL)
			continue;
		if (!policy_can_read(&a, CAT_WELCOME)) {
			json_decref(person);
			continue;
		}
		tr_strlcpy(hired, (const char *)sqlite3_column_text(st, 1), sizeof(hired));
		for (size_t i = 0; i < c->nwelcome; i++) {
			int done = welcome_done(r, id, c->welcome[i].code);
			if (done == -1) {
				w.failed = 1;
				break;
			}
			if (done)
				continue;
			json_t *item = json_deep_copy(person);
			json_object_set_new(item, "hired_on", json_string(hired));
			json_object_set_new(item, "sort_date", json_string(hired));
			json_object_set_new(item, "item", json_string(c->welcome[i].code));
			json_object_set_new(item, "label", json_string(c->welcome[i].label));
			json_object_set_new(
			    item, "days_since_hiring", json_integer(days_between(hired, today)));
			if (wl_add(&w, item) == -1)
				break;
		}
		json_decref(person);
	}
	db_done(st);
	w.failed |= rc != SQLITE_ROW && rc != SQLITE_DONE;
	wl_reply(&w, today, welcome_cols, TR_NELEM(welcome_cols), "accueil.csv");
}

/* ---- goals past their deadline ---- */

static const struct csv_col goal_cols[] = {
	PERSON_COLS,
	{ "goal", "Objectif", CSV_TEXT },
	{ "deadline", "Échéance", CSV_DATE },
	{ "days_late", "Jours de retard", CSV_INT },
};

static void
worklist_goals(struct tremplin_request *r, void *arg)
{
	static const char sql[] = "SELECT g.id, g.employee_id FROM goals g"
	                          " JOIN employees e ON e.id = g.employee_id"
	                          " WHERE g.status = 'open' AND g.deadline IS NOT NULL"
	                          " AND g.deadline < ?5 AND e.status != 'exited' AND " WL_WHERE
	                          " ORDER BY g.deadline, g.id";
	struct wl_filters f;
	char today[11];
	struct wl w;
	int rc;

	(void)arg;
	if (wl_params(r, NULL, &f) == -1)
		return;
	date_today(today, sizeof(today));
	sqlite3_stmt *st = wl_stmt(r, sql, &f);
	if (st == NULL || wl_begin(&w, r) == -1)
		return;
	sqlite3_bind_text(st, 5, today, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && !w.failed) {
		struct access a;
		json_t *item = wl_person(&w, sqlite3_column_int64(st, 1), &a), *g;
		if (item == NULL)
			continue;
		g = wl_record(&w, "goal", sqlite3_column_int64(st, 0), &a);
		const char *deadline = json_str(g, "deadline");
		if (g == NULL || deadline == NULL) {
			json_decref(g);
			json_decref(item);
			continue;
		}
		json_object_set_new(item, "goal_id", json_integer(sqlite3_column_int64(st, 0)));
		copy(item, "goal", g, "text");
		copy(item, "deadline", g, "deadline");
		copy(item, "sort_date", g, "deadline");
		json_object_set_new(item, "days_late", json_integer(days_between(deadline, today)));
		json_decref(g);
		if (wl_add(&w, item) == -1)
			break;
	}
	db_done(st);
	w.failed |= rc != SQLITE_ROW && rc != SQLITE_DONE;
	wl_reply(&w, today, goal_cols, TR_NELEM(goal_cols), "objectifs.csv");
}

/* ---- no entry review a month after hiring ---- */

static const struct csv_col entry_cols[] = {
	PERSON_COLS,
	{ "hired_on", "Embauché le", CSV_DATE },
	{ "days_since_hiring", "Jours depuis l'embauche", CSV_INT },
	{ "entry_review_planned_on", "Bilan d'entrée prévu le", CSV_DATE },
};

static void
worklist_entry_reviews(struct tremplin_request *r, void *arg)
{
	static const char sql[] =
	    "SELECT id, hired, (SELECT min(planned_on) FROM reviews rv WHERE rv.employee_id = x.id"
	    "  AND rv.kind = 'entry') FROM (SELECT e.id, " WL_HIRED " AS hired"
	    " FROM employees e WHERE e.status = 'in_pathway' AND " WL_WHERE ") x"
	    " WHERE hired <= date(?5, '-1 month') AND NOT EXISTS (SELECT 1 FROM reviews rv"
	    "  WHERE rv.employee_id = x.id AND rv.kind = 'entry' AND rv.held_on IS NOT NULL)"
	    " ORDER BY hired, id";
	struct wl_filters f;
	char today[11];
	struct wl w;
	int rc;

	(void)arg;
	if (wl_params(r, NULL, &f) == -1)
		return;
	date_today(today, sizeof(today));
	sqlite3_stmt *st = wl_stmt(r, sql, &f);
	if (st == NULL || wl_begin(&w, r) == -1)
		return;
	sqlite3_bind_text(st, 5, today, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && !w.failed) {
		struct access a;
		json_t *item = wl_person(&w, sqlite3_column_int64(st, 0), &a);
		const char *hired = (const char *)sqlite3_column_text(st, 1);
		const char *planned = (const char *)sqlite3_column_text(st, 2);
		if (item == NULL)
			continue;
		/* That a review is planned or held is review metadata. */
		if (!policy_can_read(&a, CAT_REVIEW_META)) {
			json_decref(item);
			continue;
		}
		json_object_set_new(item, "hired_on", json_string(hired));
		json_object_set_new(item, "sort_date", json_string(hired));
		json_object_set_new(
		    item, "days_since_hiring", json_integer(days_between(hired, today)));
		json_object_set_new(item, "entry_review_planned_on",
		    planned != NULL ? json_string(planned) : json_null());
		if (wl_add(&w, item) == -1)
			break;
	}
	db_done(st);
	w.failed |= rc != SQLITE_ROW && rc != SQLITE_DONE;
	wl_reply(&w, today, entry_cols, TR_NELEM(entry_cols), "bilans_entree.csv");
}

/* ---- the caseload ---- */

static const struct csv_col caseload_cols[] = {
	PERSON_COLS,
	{ "status", "Statut", CSV_TEXT },
	{ "hired_on", "Embauché le", CSV_DATE },
	{ "contract_end", "Fin du contrat", CSV_DATE },
	{ "next_review_on", "Prochain bilan", CSV_DATE },
};

static void
worklist_caseload(struct tremplin_request *r, void *arg)
{
	static const char *const own[] = { "status", NULL };
	static const char sql[] =
	    "SELECT e.id, " WL_HIRED ","
	    " (SELECT max(c.end_date) FROM contracts c WHERE c.employee_id = e.id"
	    "   AND c.ended_on IS NULL),"
	    " (SELECT min(rv.planned_on) FROM reviews rv WHERE rv.employee_id = e.id"
	    "   AND rv.held_on IS NULL)"
	    " FROM employees e WHERE (?5 IS NULL OR e.status = ?5) AND " WL_WHERE
	    " ORDER BY e.last_name, e.first_name, e.id";
	static const char *const statuses[] = { "candidate", "in_pathway", "exited", NULL };
	struct wl_filters f;
	const char *status;
	char today[11];
	struct wl w;
	int rc, ok = 0;

	(void)arg;
	if (wl_params(r, own, &f) == -1)
		return;
	if ((status = api_query(r, "status")) != NULL) {
		for (const char *const *s = statuses; *s; s++)
			ok |= strcmp(*s, status) == 0;
		if (!ok) {
			api_error(r, 400, "bad_request", "status",
			    "status must be candidate, in_pathway or exited");
			return;
		}
	}
	date_today(today, sizeof(today));
	sqlite3_stmt *st = wl_stmt(r, sql, &f);
	if (st == NULL || wl_begin(&w, r) == -1)
		return;
	if (status != NULL)
		sqlite3_bind_text(st, 5, status, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && !w.failed) {
		struct access a;
		json_t *item = wl_person(&w, sqlite3_column_int64(st, 0), &a);
		if (item == NULL)
			continue;
		/* Contract dates are identity; a review's date, review metadata. */
		for (int k = 1; k <= 3; k++) {
			const char *v = (const char *)sqlite3_column_text(st, k);
			static const char *const keys[] = { NULL, "hired_on", "contract_end",
				"next_review_on" };
			if (k == 3 && !policy_can_read(&a, CAT_REVIEW_META))
				continue;
			json_object_set_new(item, keys[k], v ? json_string(v) : json_null());
		}
		if (wl_add(&w, item) == -1)
			break;
	}
	db_done(st);
	w.failed |= rc != SQLITE_ROW && rc != SQLITE_DONE;
	/* In name order: without sort_date, wl_reply keeps it. */
	wl_reply(&w, today, caseload_cols, TR_NELEM(caseload_cols), "portefeuille.csv");
}

#define PERSONAL TREMPLIN_ROUTE_PERSONAL
#define STAFF TREMPLIN_ROLES_STAFF
#define COMMON "structure_id", "referent_cip_id", "referent_eti_id", "team", "format"
static const char *const q_reviews[] = { COMMON, "from", "to", "days", NULL };
static const char *const q_days[] = { COMMON, "days", NULL };
static const char *const q_common[] = { COMMON, NULL };
static const char *const q_caseload[] = { COMMON, "status", NULL };

const struct tremplin_route_spec worklist_routes[] = {
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/worklists/reviews", STAFF, PERSONAL,
	    q_reviews, worklist_reviews, NULL },
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/worklists/ending", STAFF, PERSONAL,
	    q_days, worklist_ending, NULL },
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/worklists/welcome", STAFF, PERSONAL,
	    q_days, worklist_welcome, NULL },
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/worklists/goals", STAFF, PERSONAL,
	    q_common, worklist_goals, NULL },
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/worklists/entry_reviews", STAFF,
	    PERSONAL, q_common, worklist_entry_reviews, NULL },
	{ sizeof(struct tremplin_route_spec), TREMPLIN_GET, "/worklists/caseload", STAFF, PERSONAL,
	    q_caseload, worklist_caseload, NULL },
};
const size_t nworklist_routes = TR_NELEM(worklist_routes);
