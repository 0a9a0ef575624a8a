#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "calendar.h"
#include "db.h"
#include "handlers.h"
#include "server.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "resource.h"
#include "util.h"

struct audit {
	struct db *db;
	int retention_days;
};

static const struct migration audit_migrations[] = {
	{ 1,
	    "CREATE TABLE audit_log ("
	    "  id INTEGER PRIMARY KEY,"
	    "  at TEXT NOT NULL,"
	    "  staff_id INTEGER,"
	    "  unix_user TEXT NOT NULL,"
	    "  role TEXT NOT NULL,"
	    "  action TEXT NOT NULL,"
	    "  employee_id INTEGER,"
	    "  resource TEXT NOT NULL,"
	    "  categories TEXT NOT NULL);"
	    "CREATE INDEX audit_employee ON audit_log (employee_id, id);"
	    "CREATE TABLE audit_settings (retention_days INTEGER NOT NULL);"
	    "INSERT INTO audit_settings VALUES (365);"
	    /* Append-only: the log cannot be rewritten, only aged out. */
	    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log"
	    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	    "CREATE TRIGGER audit_no_early_delete BEFORE DELETE ON audit_log"
	    " WHEN OLD.at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now',"
	    "  '-' || (SELECT retention_days FROM audit_settings) || ' days')"
	    " BEGIN SELECT RAISE(ABORT, 'audit entries are kept for the retention period'); END;" },
	{ 2,
	    /* "What did this account read this week": by account, and by time. */
	    "CREATE INDEX audit_staff ON audit_log (staff_id, id);"
	    "CREATE INDEX audit_at ON audit_log (at);" },
};

static const struct db_module audit_module = {
	.name = "audit",
	.migrations = audit_migrations,
	.nmigrations = TR_NELEM(audit_migrations),
};

int
audit_open(const char *path, int retention_days, struct audit **out, char *err, size_t errlen)
{
	/* Only when it changes: a start on a full disk must not need to write. */
	static const char setret[] =
	    "UPDATE audit_settings SET retention_days = ?1 WHERE retention_days IS NOT ?1";
	const struct db_module *mods[] = { &audit_module };
	struct audit *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL)
		fatal("calloc");
	a->retention_days = retention_days;
	if (db_open(path, &a->db, err, errlen) == -1 ||
	    db_migrate(a->db, mods, 1, err, errlen) == -1) {
		audit_close(a);
		return -1;
	}
	sqlite3_stmt *st = db_stmt(a->db, setret);
	if (st == NULL) {
		snprintf(err, errlen, "%s: cannot set the retention", path);
		audit_close(a);
		return -1;
	}
	sqlite3_bind_int(st, 1, retention_days);
	int rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE && db_full(a->db, NULL)) {
		/* Reads must go on; entries younger than the recorded retention are kept. */
		log_warnx("%s: the disk is full: the retention of %d days is not recorded; free "
		          "space, then restart",
		    path, retention_days);
	} else if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: cannot set the retention", path);
		audit_close(a);
		return -1;
	}
	*out = a;
	return 0;
}

struct db *
audit_db(struct audit *a)
{
	return a ? a->db : NULL;
}

void
audit_refuse(struct tremplin_request *r, const char *what)
{
	if (db_fault(r->srv->audit->db, NULL, 0) == DB_FAULT_FULL)
		api_error(r, 507, "insufficient_storage", NULL,
		    "the disk holding the audit log is full: this %s cannot be recorded, so it is "
		    "refused; retry once space is freed",
		    what);
	else
		api_error(r, 503, "unavailable", NULL, "the audit log cannot record this %s", what);
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	db_close(a->db);
	free(a);
}

int
audit_record_as(struct audit *a, int64_t staff_id, const char *actor, const char *role,
    const char *action, int64_t employee_id, const char *resource, unsigned categories)
{
	static const char sql[] =
	    "INSERT INTO audit_log (at, staff_id, unix_user, role, action,"
	    " employee_id, resource, categories) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	char now[32], cats[256];
	size_t off = 0;

	cats[0] = '\0';
	for (int c = 1; c < CAT_MAX; c++) {
		if (!(categories & (1u << c)))
			continue;
		int w = snprintf(cats + off, sizeof(cats) - off, "%s%s", off ? "," : "",
		    category_name((enum category)c));
		if (w < 0 || (size_t)w >= sizeof(cats) - off)
			break;
		off += (size_t)w;
	}
	tr_rfc3339(tr_now(), now, sizeof(now));
	sqlite3_stmt *st = db_stmt(a->db, sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	if (staff_id > 0)
		sqlite3_bind_int64(st, 2, staff_id);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, action, -1, SQLITE_STATIC);
	if (employee_id > 0)
		sqlite3_bind_int64(st, 6, employee_id);
	sqlite3_bind_text(st, 7, resource, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, cats, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE) {
		/* A full disk is logged once per episode, by the store. */
		if (!db_full(a->db, NULL))
			log_warnx("audit: cannot record %s of %s: %s", action, resource,
			    sqlite3_errmsg(db_handle(a->db)));
		return -1;
	}
	return 0;
}

int
audit_record(struct audit *a, const struct identity *who, const char *action, int64_t employee_id,
    const char *resource, unsigned categories)
{
	return audit_record_as(a, who->staff_id, who->unix_user, role_name(who->role), action,
	    employee_id, resource, categories);
}

int
audit_record_many(struct audit *a, const char *actor, const char *role, const char *action,
    const int64_t *ids, size_t n, const char *resource, unsigned categories)
{
	/* One commit, not one fsync per entry: a view may name thousands of people. */
	if (db_begin(a->db) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (audit_record_as(a, 0, actor, role, action, ids[i], resource, categories) ==
		    -1) {
			db_rollback(a->db);
			return -1;
		}
	return db_commit(a->db);
}

json_t *
audit_list(struct audit *a, const struct audit_filter *f, int64_t after, int limit, int64_t *last)
{
	static const char sql[] =
	    "SELECT id, at, staff_id, unix_user, role, action, employee_id, resource, categories"
	    " FROM audit_log WHERE id > ?1 AND (?2 = 0 OR employee_id = ?2)"
	    " AND (?4 = 0 OR staff_id = ?4) AND (?5 IS NULL OR at >= ?5)"
	    " AND (?6 IS NULL OR at < ?6) ORDER BY id LIMIT ?3";
	sqlite3_stmt *st = db_stmt(a->db, sql);
	char since[32], until[32];
	json_t *items;
	int rc, n = 0;

	*last = 0;
	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, f->employee_id);
	sqlite3_bind_int(st, 3, limit + 1);
	sqlite3_bind_int64(st, 4, f->staff_id);
	/* at is RFC 3339 UTC to the second: as text, it sorts as time does. */
	if (f->has_since) {
		tr_rfc3339((time_t)f->since, since, sizeof(since));
		sqlite3_bind_text(st, 5, since, -1, SQLITE_TRANSIENT);
	}
	if (f->has_until) {
		tr_rfc3339((time_t)f->until, until, sizeof(until));
		sqlite3_bind_text(st, 6, until, -1, SQLITE_TRANSIENT);
	}
	items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > limit)
			break;
		*last = sqlite3_column_int64(st, 0);
		json_t *o = db_row_to_json(st);
		/* The categories as a list, not the storage's comma-joined text. */
		json_t *cats = json_array();
		char buf[256], *save = NULL;
		tr_strlcpy(buf, (const char *)sqlite3_column_text(st, 8), sizeof(buf));
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(cats, json_string(t));
		json_object_set_new(o, "categories", cats);
		json_array_append_new(items, o);
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(items);
		return NULL;
	}
	if (n <= limit)
		*last = 0;
	return items;
}

int
audit_purge(struct audit *a, int64_t now_ms)
{
	static const char sql[] = "DELETE FROM audit_log WHERE at <= ?";
	char cutoff[32];
	time_t t = (time_t)(now_ms / 1000) - (time_t)a->retention_days * 86400;

	tr_rfc3339(t, cutoff, sizeof(cutoff));
	sqlite3_stmt *st = db_stmt(a->db, sql);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? sqlite3_changes(db_handle(a->db)) : -1;
}

/*
 * A bound of ?since= or ?until=: a Paris calendar day (since: its first
 * second; until: the first second of the next day, so that the day is in),
 * or an RFC 3339 date-time (until: that second included). 0, or -1 after a 400.
 */
static int
time_bound(struct tremplin_request *r, const char *name, int is_until, int *has, int64_t *out)
{
	const char *v = api_query(r, name);
	int64_t day;

	if (v == NULL)
		return 0;
	if (cal_parse(v, strlen(v), &day) == 0)
		*out = cal_paris_midnight(day + (is_until ? 1 : 0));
	else if (cal_parse_instant(v, out) == 0)
		*out += is_until ? 1 : 0;
	else {
		api_error(r, 400, "bad_request", name,
		    "%s must be a date (YYYY-MM-DD, a day in Paris) or an RFC 3339 date-time "
		    "(2026-12-04T09:30:00Z)",
		    name);
		return -1;
	}
	*has = 1;
	return 0;
}

void
audit_api_list(struct tremplin_request *r)
{
	static const char *const params[] = { "limit", "cursor", "employee_id", "staff_id", "since",
		"until", NULL };
	const char *emp = api_query(r, "employee_id"), *staff = api_query(r, "staff_id");
	struct audit_filter f = { 0 };
	int64_t after, last;
	int limit;

	if (api_query_only(r, params) == -1 || api_page(r, &limit, &after) == -1)
		return;
	if (emp != NULL && tr_parse_i64(emp, 1, INT64_MAX, &f.employee_id) == -1) {
		api_error(r, 400, "bad_request", "employee_id", "employee_id must be an id");
		return;
	}
	if (staff != NULL && staff_filter_id(r, staff, &f.staff_id) == -1) {
		api_error(r, 400, "bad_request", "staff_id",
		    "staff_id must be a staff account's id, or me");
		return;
	}
	if (time_bound(r, "since", 0, &f.has_since, &f.since) == -1 ||
	    time_bound(r, "until", 1, &f.has_until, &f.until) == -1)
		return;
	if (f.has_since && f.has_until && f.until <= f.since) {
		api_error(r, 400, "bad_request", "until", "until is before since");
		return;
	}
	json_t *items = audit_list(r->srv->audit, &f, after, limit, &last), *it;
	size_t i;
	if (items == NULL) {
		api_internal(r, "audit log");
		return;
	}
	/* Who and about whom, by name: a person's only for a role that reads personal data. */
	json_array_foreach (items, i, it) {
		int64_t sid = json_integer_value(json_object_get(it, "staff_id"));
		int64_t person = json_integer_value(json_object_get(it, "employee_id"));
		json_t *sn = sid > 0 ? staff_display_name(r, sid) : NULL;
		json_t *pn = person > 0 && policy_personal_data(r->who.role)
		    ? person_display_name(r, person)
		    : NULL;
		json_object_set_new(it, "staff_name", sn ? sn : json_null());
		json_object_set_new(it, "employee_name", pn ? pn : json_null());
	}
	api_reply(r, 200, api_list(items, last));
}
