/*
 * The person's rights (../shared/domain/DOMAIN.md, "Confidentiality"): to
 * read everything held about them, including who viewed the file (the
 * export); to have the file erased; and to have it purged once it has not
 * been touched for the retention period. Erasure and retention leave only
 * anonymous counts (indicator_counts) so that the structure's indicators
 * survive the people they were computed from.
 *
 * The export walks the registry of records, the kernel's and the plugins',
 * so a record declared there is exported with the others; the erasure
 * walks the catalogue of every person-linked table ever declared (a
 * plugin's too, loaded or not), then the schema's ON DELETE CASCADE takes
 * what hangs on the employee in the kernel's tables.
 */
#include "rights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "audit.h"
#include "calendar.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "handlers.h"
#include "kernel.h"
#include "log.h"
#include "outbox.h"
#include "resource.h"
#include "server.h"
#include "scheduler.h"
#include "util.h"

#define DAY_MS (86400LL * 1000)
/* Files purged per pass: a long backlog is worked off in passes a second apart. */
#define PURGE_BATCH 200

/* Every category a file's records may hold: what an erasure removes. */
static unsigned
file_categories(void)
{
	unsigned cats = 0;

	for (size_t i = 0; i < resource_count(); i++)
		if (resource_at(i)->person)
			cats |= resource_categories(resource_at(i));
	return cats;
}

/* ---- export ---- */

/* Every row of one child resource of the file, as the caller may see it. */
static json_t *
export_rows(struct tremplin_request *r, const struct resource *res, const struct access *a,
    int64_t employee_id, unsigned *audited, unsigned *shown)
{
	sqlite3_stmt *st = db_stmt(r->srv->db, res->sql_by_person);
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	json_t *out;
	int rc;

	if (st == NULL)
		return NULL;
	/* The ids first: loading a row (and its expand hook) uses other statements. */
	sqlite3_bind_int64(st, 1, employee_id);
	sqlite3_bind_int64(st, 2, 0);
	sqlite3_bind_int(st, 3, -1); /* no limit */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((ids = reallocarray(ids, cap, sizeof(*ids))) == NULL)
				fatal("reallocarray");
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		free(ids);
		return NULL;
	}
	out = json_array();
	for (size_t i = 0; i < n; i++) {
		int dberr;
		json_t *row = resource_load(r, res, ids[i], &dberr), *v;
		if (row == NULL) {
			if (!dberr)
				continue; /* gone meanwhile */
			json_decref(out);
			free(ids);
			return NULL;
		}
		v = resource_show(r, res, a, row, audited);
		json_decref(row);
		if (v == NULL)
			continue; /* a row the caller may not see */
		*shown |= resource_shown(res, v);
		json_array_append_new(out, v);
	}
	free(ids);
	return out;
}

static const char *
staff_name(struct tremplin_request *r, int64_t id, char *buf, size_t size)
{
	static const char sql[] = "SELECT name FROM staff WHERE id = ?";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);

	buf[0] = '\0';
	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		tr_strlcpy(buf, (const char *)sqlite3_column_text(st, 0), size);
	db_done(st);
	return buf[0] ? buf : NULL;
}

/*
 * Who read or wrote the file, from the audit log: when, who (the staff
 * member's name and role, or the script or job), what, which categories.
 */
static json_t *
viewed_by(struct tremplin_request *r, int64_t employee_id)
{
	json_t *out = json_array();
	int64_t after = 0, last;
	struct audit_filter f = { .employee_id = employee_id };

	do {
		json_t *page = audit_list(r->srv->audit, &f, after, API_LIST_MAX, &last);
		size_t i;
		json_t *e;
		if (page == NULL) {
			json_decref(out);
			return NULL;
		}
		json_array_foreach (page, i, e) {
			char name[801]; /* 200 characters of up to 4 bytes */
			json_t *sid = json_object_get(e, "staff_id");
			const char *who = json_is_integer(sid)
			    ? staff_name(r, json_integer_value(sid), name, sizeof(name))
			    : NULL;
			json_t *o = json_pack("{s:O, s:s, s:O, s:O, s:O, s:O}", "at",
			    json_object_get(e, "at"), "name",
			    who ? who : json_string_value(json_object_get(e, "unix_user")), "role",
			    json_object_get(e, "role"), "action", json_object_get(e, "action"),
			    "resource", json_object_get(e, "resource"), "categories",
			    json_object_get(e, "categories"));
			json_array_append_new(out, o);
			after = json_integer_value(json_object_get(e, "id"));
		}
		json_decref(page);
	} while (last > 0);
	return out;
}

/*
 * Records held about the person by a plugin that is no longer loaded: the
 * catalogue still knows their table; the export says they are there (how
 * many rows, of which plugin) since they cannot be shown by their rules.
 */
static json_t *
catalogue_absent(struct tremplin_request *r, int64_t employee_id)
{
	static const char sql[] = "SELECT name, module, tbl, person_where FROM record_catalogue"
	                          " ORDER BY name";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	json_t *out = json_array();
	int rc;

	if (st == NULL) {
		json_decref(out);
		return NULL;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char *q;
		sqlite3_stmt *cs;
		if (resource_find(name) != NULL)
			continue;
		if (asprintf(&q, "SELECT count(*) FROM %s WHERE %s",
		        (const char *)sqlite3_column_text(st, 2),
		        (const char *)sqlite3_column_text(st, 3)) == -1)
			fatal("asprintf");
		/* Not cached: a plugin gone is a rare visitor. */
		if (sqlite3_prepare_v2(db_handle(r->srv->db), q, -1, &cs, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(cs, 1, employee_id);
			if (sqlite3_step(cs) == SQLITE_ROW && sqlite3_column_int64(cs, 0) > 0)
				json_array_append_new(out,
				    json_pack("{s:s, s:s, s:I, s:s}", "record", name, "plugin",
				        (const char *)sqlite3_column_text(st, 1), "rows",
				        (json_int_t)sqlite3_column_int64(cs, 0), "note",
				        "held by a plugin that is not loaded: ask the operator"));
			sqlite3_finalize(cs);
		}
		free(q);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/*
 * GET /v1/employees/{id}/export. Who may export follows DOMAIN.md: the
 * coordinator, and the CIP of the files they are the referent of; not the
 * ETI, not the operator (refused by the route). The export goes through
 * the policy as every read does, so the referent CIP's export is the
 * complete one (health and justice details included): the one to hand to
 * the person. "complete" says whether the caller's export is.
 */
void
employee_export(struct tremplin_request *r)
{
	int64_t employee_id = r->ids[0];
	unsigned audited = 0, shown = 1u << CAT_IDENTITY;
	struct access a;
	char now[32];
	int dberr, complete = 1;

	if (r->who.role != ROLE_COORDINATOR && r->who.role != ROLE_CIP) {
		api_error(r, 403, "forbidden", NULL, "the %s role may not export a file",
		    role_name(r->who.role));
		return;
	}
	if (access_for_employee(r, employee_id, &a) == -1) {
		api_error(r, 404, "not_found", NULL, "no employee %lld", (long long)employee_id);
		return;
	}
	if (a.role == ROLE_CIP && !a.referent_cip) {
		api_error(r, 403, "forbidden", NULL,
		    "only the referent CIP or the coordinator may export this file");
		return;
	}
	json_t *row = resource_load(r, resource_person(), employee_id, &dberr);
	json_t *emp = row ? resource_show(r, resource_person(), &a, row, &audited) : NULL;
	json_decref(row);
	if (emp == NULL) {
		api_internal(r, "export: load employee");
		return;
	}
	json_t *records = json_object();
	for (size_t i = 0; i < resource_count(); i++) {
		const struct resource *res = resource_at(i);
		/* The person above; a record shown inside its parent comes there. */
		if (!res->person || res->is_person ||
		    (res->parent != NULL && res->parent->person && res->decl->nested_as != NULL))
			continue;
		json_t *rows = export_rows(r, res, &a, employee_id, &audited, &shown);
		if (rows == NULL) {
			json_decref(records);
			json_decref(emp);
			api_internal(r, "export: load records");
			return;
		}
		/* The kernel's records by their path, as before; a plugin's by "<plugin>.<name>". */
		json_object_set_new(records, res->embedded ? res->plural : res->name, rows);
	}
	json_t *absent = catalogue_absent(r, employee_id);
	if (absent == NULL) {
		json_decref(records);
		json_decref(emp);
		api_internal(r, "export: catalogue");
		return;
	}
	for (int c = CAT_NONE + 1; c < CAT_MAX; c++)
		complete = complete && policy_can_read(&a, (enum category)c);
	/* Recorded first, so that the export lists itself among the reads. */
	if (audit_record(r->srv->audit, &r->who, "export", employee_id, "employees",
	        audited | shown) == -1) {
		json_decref(records);
		json_decref(emp);
		audit_refuse(r, "export");
		return;
	}
	json_t *seen = viewed_by(r, employee_id);
	if (seen == NULL) {
		json_decref(records);
		json_decref(emp);
		api_internal(r, "export: audit log");
		return;
	}
	tr_rfc3339(tr_now(), now, sizeof(now));
	api_reply(r, 200,
	    json_pack("{s:s, s:b, s:o, s:o, s:o, s:o}", "exported_at", now, "complete",
	        complete && json_array_size(absent) == 0, "employee", emp, "records", records,
	        "not_loaded", absent, "viewed_by", seen));
}

/* ---- erasure and retention: what both do ---- */

static int
exec_id(struct db *db, const char *sql, int64_t id)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * What else the indicators count (indicators.c), so that a purge does not
 * change a past year's figures: the hiring by its year, each year under
 * contract, the pathway's length by the exit's year, reviews due and held
 * on time by the year they were planned for.
 */
static const char *const file_counts[] = {
	"INSERT INTO indicator_counts (structure_id, year, metric, n)"
	" SELECT e.structure_id, CAST(substr(min(c.start_date), 1, 4) AS INTEGER), 'hired', 1"
	" FROM contracts c JOIN employees e ON e.id = c.employee_id WHERE c.employee_id = ?1"
	" GROUP BY e.id ON CONFLICT (structure_id, year, metric) DO UPDATE SET n = n + 1",
	"WITH RECURSIVE span (y, last) AS (SELECT CAST(substr(min(start_date), 1, 4) AS INTEGER),"
	"  CAST(substr(max(coalesce(ended_on, end_date)), 1, 4) AS INTEGER) FROM contracts"
	"  WHERE employee_id = ?1 UNION ALL SELECT y + 1, last FROM span WHERE y < last)"
	" INSERT INTO indicator_counts (structure_id, year, metric, n)"
	" SELECT (SELECT structure_id FROM employees WHERE id = ?1), y, 'in_pathway', 1 FROM span"
	" WHERE y IS NOT NULL ON CONFLICT (structure_id, year, metric) DO UPDATE SET n = n + 1",
	"INSERT INTO indicator_counts (structure_id, year, metric, n)"
	" SELECT e.structure_id, CAST(substr(x.exit_date, 1, 4) AS INTEGER), m.metric,"
	"  CASE m.metric WHEN 'pathway.exits' THEN 1 ELSE"
	"  CAST(julianday(x.exit_date) - julianday(h.hired) AS INTEGER) END"
	" FROM exits x JOIN employees e ON e.id = x.employee_id"
	" JOIN (SELECT min(start_date) AS hired FROM contracts WHERE employee_id = ?1) h"
	" JOIN (SELECT 'pathway.days' AS metric UNION ALL SELECT 'pathway.exits') m"
	" WHERE x.employee_id = ?1 AND h.hired IS NOT NULL"
	" ON CONFLICT (structure_id, year, metric) DO UPDATE SET n = n + excluded.n",
	"INSERT INTO indicator_counts (structure_id, year, metric, n)"
	" SELECT e.structure_id, CAST(substr(r.planned_on, 1, 4) AS INTEGER), m.metric,"
	"  sum(m.metric = 'reviews.due' OR (r.held_on IS NOT NULL AND r.held_on <= r.planned_on))"
	" FROM reviews r JOIN employees e ON e.id = r.employee_id"
	" JOIN (SELECT 'reviews.due' AS metric UNION ALL SELECT 'reviews.on_time') m"
	" WHERE r.employee_id = ?1"
	" GROUP BY 1, 2, 3 ON CONFLICT (structure_id, year, metric) DO UPDATE SET n = n + "
	"excluded.n",
};

/*
 * The anonymous counts a file leaves behind: its exit, by the exit's year
 * and category (the rate of sorties dynamiques), file_counts, and that a
 * file was erased or purged, by the year it happened.
 */
static int
count_file(struct db *db, int64_t id, const char *metric, int year)
{
	static const char exits[] =
	    "INSERT INTO indicator_counts (structure_id, year, metric, n)"
	    " SELECT e.structure_id, CAST(substr(x.exit_date, 1, 4) AS INTEGER),"
	    "  'exits.' || x.category, 1"
	    " FROM exits x JOIN employees e ON e.id = x.employee_id WHERE x.employee_id = ?"
	    " ON CONFLICT (structure_id, year, metric) DO UPDATE SET n = n + 1";
	static const char gone[] =
	    "INSERT INTO indicator_counts (structure_id, year, metric, n)"
	    " SELECT structure_id, ?2, ?3, 1 FROM employees WHERE id = ?1"
	    " ON CONFLICT (structure_id, year, metric) DO UPDATE SET n = n + 1";
	sqlite3_stmt *st;
	int rc;

	if (exec_id(db, exits, id) == -1)
		return -1;
	for (size_t i = 0; i < TR_NELEM(file_counts); i++)
		if (exec_id(db, file_counts[i], id) == -1)
			return -1;
	if ((st = db_stmt(db, gone)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, year);
	sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Every person-linked table ever declared, loaded or not, the deepest
 * first: the person's rows go in the same transaction as the file. A table
 * its plugin dropped is skipped (logged); any other failure fails the
 * erasure.
 */
static int
erase_catalogue(struct db *db, int64_t id)
{
	static const char sql[] =
	    "SELECT name, tbl, person_where FROM record_catalogue ORDER BY depth DESC, name";
	sqlite3_stmt *st = db_stmt(db, sql);
	char **stmts = NULL;
	size_t n = 0, cap = 0;
	int rc, ok = 1;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap &&
		    (stmts = reallocarray(stmts, cap = cap ? cap * 2 : 16, sizeof(*stmts))) == NULL)
			fatal("reallocarray");
		if (asprintf(&stmts[n++], "DELETE FROM %s WHERE %s",
		        (const char *)sqlite3_column_text(st, 1),
		        (const char *)sqlite3_column_text(st, 2)) == -1)
			fatal("asprintf");
	}
	db_done(st);
	ok = rc == SQLITE_DONE;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *d;
		if (ok && sqlite3_prepare_v2(db_handle(db), stmts[i], -1, &d, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(d, 1, id);
			ok = sqlite3_step(d) == SQLITE_DONE;
			sqlite3_finalize(d);
		} else if (ok) {
			const char *why = sqlite3_errmsg(db_handle(db));
			if (strstr(why, "no such table") == NULL)
				ok = 0;
			log_warnx("erasure: %s: %s", stmts[i], why);
		}
		free(stmts[i]);
	}
	free(stmts);
	return ok ? 0 : -1;
}

struct removal {
	const char *action; /* for the audit: erase, purge */
	const char *metric; /* employees.erased, employees.purged */
	const char *event; /* employee.erased, employee.purged */
	const char *reason; /* the erasure's reason, or NULL */
	int64_t staff_id; /* who: a staff account, or 0 for the daemon */
	const char *actor, *role;
};

/*
 * Remove one file in one transaction: counts, the file (its records
 * follow by ON DELETE CASCADE), its pending notices, an event without
 * personal data, the audit entry. 0 done, 1 no such file, -1 failed (logged),
 * -2 the database is busy.
 */
static int
remove_file(struct server *srv, int64_t id, const struct removal *how)
{
	static const char exists[] = "SELECT structure_id FROM employees WHERE id = ?";
	static const char file[] = "DELETE FROM employees WHERE id = ?";
	struct db *db = srv->db;
	char subject[64], today[CAL_DATE_LEN];
	int64_t structure_id = 0;
	sqlite3_stmt *st;
	int rc;

	if (db_begin(db) == -1)
		return -2;
	if ((st = db_stmt(db, exists)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		structure_id = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc == SQLITE_DONE) {
		db_rollback(db);
		return 1;
	}
	if (rc != SQLITE_ROW)
		goto fail;
	cal_format(cal_paris_day(tr_now_ms()), today, sizeof(today));
	if (count_file(db, id, how->metric, atoi(today)) == -1)
		goto fail;
	/* Notices not yet sent would name a person who is no longer on file. */
	if (outbox_forget_employee(db, id) == -1 || erase_catalogue(db, id) == -1 ||
	    exec_id(db, file, id) == -1)
		goto fail;
	json_t *payload =
	    json_pack("{s:I, s:I}", "id", (json_int_t)id, "structure_id", (json_int_t)structure_id);
	if (how->reason != NULL)
		json_object_set_new(payload, "reason", json_string(how->reason));
	snprintf(subject, sizeof(subject), "employee/%lld", (long long)id);
	if (events_publish(srv->events, how->event, subject, payload, how->staff_id, how->actor) <
	    0)
		goto fail;
	/* Recorded before the commit: an unrecorded removal never lands. */
	if (audit_record_as(srv->audit, how->staff_id, how->actor, how->role, how->action, id,
	        "employees", file_categories()) == -1)
		goto fail;
	if (db_commit(db) == -1)
		return -1;
	return 0;
fail:
	log_warnx("%s of employee %lld failed: %s", how->action, (long long)id,
	    sqlite3_errmsg(db_handle(db)));
	db_rollback(db);
	return -1;
}

/*
 * The old versions of the removed file's pages stay in the -wal file until
 * a checkpoint overwrites the database and truncates it; secure_delete has
 * zeroed them in the new versions. Readers (a backup, sqlite3 on the file)
 * can hold the truncation off: then it is tried again every second until it
 * succeeds, logged once when it starts failing and once when it is done.
 */
#define SCRUB_RETRY_MS 1000

static struct sched_timer *scrub_retry; /* pending retry, or NULL */
static int scrub_failures;

static void scrub_tick(struct sched_timer *, int64_t now, void *arg);

static void
scrub_wal(struct server *srv)
{
	int rc = db_checkpoint_truncate(srv->db);

	if (rc == 0) {
		if (scrub_failures > 0)
			log_info("db: the WAL holding removed files truncated after %d tries",
			    scrub_failures + 1);
		scrub_failures = 0;
		return;
	}
	if (scrub_failures++ == 0)
		log_warnx("db: the WAL still holds removed files (%s): retrying every %d ms",
		    rc == 1 ? "readers prevent its truncation" : "checkpoint failed",
		    SCRUB_RETRY_MS);
	if (scrub_retry == NULL)
		scrub_retry = sched_add(
		    srv->sched, &scrub_retry, NULL, SCRUB_RETRY_MS, 0, 0, scrub_tick, srv);
}

static void
scrub_tick(struct sched_timer *t, int64_t now, void *arg)
{
	(void)t;
	(void)now;
	scrub_retry = NULL; /* a one-shot's handle ends with its callback */
	scrub_wal(arg);
}

/* ---- erasure on request ---- */

/* Why a file is erased before its time (GDPR art. 17 and 21, or a file made in error). */
static const char *const erase_reasons[] = { "request", "objection", "unlawful", "error", NULL };

/*
 * DELETE /v1/employees/{id}, body {"reason": ...}. The coordinator alone:
 * erasure is the structure's decision as the data controller, and cannot
 * be undone; the referent CIP passes the person's request on. The reason
 * is required so that a bare DELETE erases nothing; it is a code, so that
 * no personal data reaches the journal.
 */
void
employee_erase(struct tremplin_request *r)
{
	const char *k, *reason = NULL;
	json_t *v;
	struct removal how = {
		.action = "erase",
		.metric = "employees.erased",
		.event = "employee.erased",
		.staff_id = r->who.staff_id,
		.actor = r->who.unix_user,
		.role = role_name(r->who.role),
	};

	if (r->who.role != ROLE_COORDINATOR) {
		api_error(r, 403, "forbidden", NULL,
		    "only the coordinator may erase a file (the %s role may not)",
		    role_name(r->who.role));
		return;
	}
	json_object_foreach (r->body, k, v) {
		if (strcmp(k, "reason") != 0) {
			api_error(r, 400, "unknown_field", k, "%s is not a known field", k);
			return;
		}
		reason = json_string_value(v);
	}
	for (const char *const *p = erase_reasons; reason != NULL && *p != NULL; p++)
		if (strcmp(*p, reason) == 0)
			how.reason = *p;
	if (how.reason == NULL) {
		api_error(r, 422, "validation_failed", "reason",
		    "reason must be one of request, objection, unlawful, error");
		return;
	}
	switch (remove_file(r->srv, r->ids[0], &how)) {
	case 0:
		log_info("employee %lld erased by %s (%s)", (long long)r->ids[0], r->who.unix_user,
		    how.reason);
		scrub_wal(r->srv);
		api_reply(r, 200,
		    json_pack("{s:I, s:b, s:s}", "id", (json_int_t)r->ids[0], "erased", 1, "reason",
		        how.reason));
		return;
	case 1:
		api_error(r, 404, "not_found", NULL, "no employee %lld", (long long)r->ids[0]);
		return;
	case -2:
		api_error(r, 503, "unavailable", NULL, "the database is busy; try again");
		return;
	default:
		api_internal(r, "erase");
	}
}

/* ---- retention ---- */

static void retention_tick(struct sched_timer *, int64_t now, void *arg);

int
retention_run(struct server *srv, int64_t now_ms, int *more)
{
	static const char due[] =
	    "SELECT e.id FROM employees e WHERE " RETENTION_DUE_WHERE " ORDER BY e.id LIMIT ?3";
	struct removal how = {
		.action = "purge",
		.metric = "employees.purged",
		.event = "employee.purged",
		.actor = "retention",
		.role = "daemon",
	};
	char cutoff[32], today[CAL_DATE_LEN];
	int64_t ids[PURGE_BATCH];
	int n = 0, purged = 0, rc;
	sqlite3_stmt *st;

	*more = 0;
	retention_bounds(srv, now_ms, cutoff, sizeof(cutoff), today, sizeof(today));
	if ((st = db_stmt(srv->db, due)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, today, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, PURGE_BATCH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc != SQLITE_DONE) {
		log_warnx(
		    "retention: cannot list the files due: %s", sqlite3_errmsg(db_handle(srv->db)));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if ((rc = remove_file(srv, ids[i], &how)) < 0) {
			/* Busy or failing: the next pass tries again. */
			*more = 1;
			break;
		}
		purged += rc == 0;
	}
	*more = *more || n == PURGE_BATCH;
	return purged;
}

void
retention_bounds(
    struct server *srv, int64_t now_ms, char *cutoff, size_t csize, char *today, size_t tsize)
{
	tr_rfc3339(
	    (time_t)(now_ms / 1000 - (int64_t)srv->conf->retention_days * 86400), cutoff, csize);
	cal_format(cal_paris_day(now_ms), today, tsize);
}

/* The second and later passes of a run: no new check of the hold. */
static void
retention_pass(struct sched_timer *t, int64_t now, void *arg)
{
	struct server *srv = arg;
	int more, n, aged;

	(void)t;
	n = retention_run(srv, now, &more);
	if (n > 0) {
		log_info("retention: %d files not touched for %d days purged", n,
		    srv->conf->retention_days);
		scrub_wal(srv);
	}
	if (more) {
		/* The rest in a second, so that requests are served meanwhile. */
		sched_add(srv->sched, srv, NULL, 1000, 0, 0, retention_pass, srv);
		return;
	}
	retention_hold_done();
	/* The audit log's own retention (audit_retention_days). */
	if ((aged = audit_purge(srv->audit, now)) < 0)
		log_warnx("retention: the audit log's old entries could not be dropped");
	else if (aged > 0)
		log_info("retention: %d audit entries past %d days dropped", aged,
		    srv->conf->audit_retention_days);
}

static void
retention_tick(struct sched_timer *t, int64_t now, void *arg)
{
	struct server *srv = arg;
	int aged;

	if (retention_hold_check(srv, now) == 0) {
		retention_pass(t, now, arg);
		return;
	}
	/* Held: the audit log's own retention still runs. */
	if ((aged = audit_purge(srv->audit, now)) > 0)
		log_info("retention: %d audit entries past %d days dropped", aged,
		    srv->conf->audit_retention_days);
}

void
retention_now(struct server *srv)
{
	sched_add(srv->sched, srv, NULL, 0, 0, 0, retention_tick, srv);
}

int
retention_start(struct server *srv)
{
	retention_hold_start(srv);
	/*
	 * Durable: a run missed while the daemon was down (or a clock moved on)
	 * happens once at start; the first start ever runs at once too.
	 */
	return sched_add(srv->sched, srv, "core/retention", 0, DAY_MS, 0, retention_tick, srv) ==
	        NULL
	    ? -1
	    : 0;
}
