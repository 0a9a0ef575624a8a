/*
 * Retention's safety net. The daily job purges the files past
 * retention_days (rights.c); an import of old history, a clock set years
 * ahead or a retention_days lowered by mistake would purge many at once, for
 * good. So a run that would purge more than retention_hold_percent of the
 * files purges nothing: it says so loudly at each run and waits until an
 * admin, having listed what would go (GET /v1/retention, `tremplinctl
 * retention --dry-run`), confirms that count (POST /v1/retention/confirm).
 * The first run on a database and the first after a long stop always say
 * how many files they purge.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "calendar.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "rights.h"
#include "server.h"
#include "util.h"

#define LONG_STOP_MS (7LL * 86400 * 1000)
/* Files listed by a dry run at most; the count is always whole. */
#define LIST_MAX 10000

static struct {
	int held; /* a run waits for an admin */
	int confirmed; /* the admin confirmed: the run under way purges all it finds */
	int64_t due, total; /* as the last check counted them */
	int noted; /* the start's notice given */
	int64_t last_run_ms; /* of the job before this start; 0: never ran */
	int known; /* last_run_ms was read */
} h;

void
retention_hold_start(struct server *srv)
{
	static const char sql[] = "SELECT last_run_ms FROM timers WHERE name = 'core/retention'";
	sqlite3_stmt *st = db_stmt(srv->db, sql);

	memset(&h, 0, sizeof(h));
	if (st == NULL)
		return;
	if (sqlite3_step(st) == SQLITE_ROW)
		h.last_run_ms = sqlite3_column_int64(st, 0);
	h.known = 1;
	db_done(st);
}

/* The files due now and all files: -1 when the database does not answer. */
static int
count(struct server *srv, int64_t now_ms, int64_t *due, int64_t *total)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM employees e WHERE " RETENTION_DUE_WHERE
	    "), (SELECT count(*) FROM employees)";
	char cutoff[32], today[CAL_DATE_LEN];
	sqlite3_stmt *st;
	int rc;

	retention_bounds(srv, now_ms, cutoff, sizeof(cutoff), today, sizeof(today));
	if ((st = db_stmt(srv->db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, today, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*due = sqlite3_column_int64(st, 0);
		*total = sqlite3_column_int64(st, 1);
	}
	db_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
over_share(const struct config *c, int64_t due, int64_t total)
{
	return c->retention_hold_percent < 100 && due > 0 &&
	    due * 100 > total * (int64_t)c->retention_hold_percent;
}

int
retention_hold_check(struct server *srv, int64_t now_ms)
{
	const struct config *c = srv->conf;

	if (count(srv, now_ms, &h.due, &h.total) == -1)
		return 0; /* the purge itself will fail and say why */
	if (!h.noted && h.known) {
		h.noted = 1;
		if (h.last_run_ms == 0 && h.due > 0)
			log_warnx("WARNING: retention: first run on this database: %lld of %lld "
			          "files are past retention_days (%d days without contact)",
			    (long long)h.due, (long long)h.total, c->retention_days);
		else if (h.last_run_ms != 0 && now_ms - h.last_run_ms > LONG_STOP_MS && h.due > 0)
			/* In days to the nearest: the last run came seconds after its start. */
			log_warnx("WARNING: retention: first run after %lld days without one (the "
			          "daemon was stopped, or its clock moved): %lld of %lld files are "
			          "past retention_days (%d days without contact)",
			    (long long)((now_ms - h.last_run_ms + 43200000) / 86400000),
			    (long long)h.due, (long long)h.total, c->retention_days);
	}
	if (h.confirmed || !over_share(c, h.due, h.total)) {
		if (h.held)
			log_info("retention: no purge waits any more");
		h.held = 0;
		metrics_set_retention_held(0);
		return 0;
	}
	h.held = 1;
	metrics_set_retention_held(1);
	log_warnx("WARNING: retention: HELD: %lld of %lld files (more than retention_hold_percent, "
	          "%d%%) are due for purge; nothing is purged until an admin confirms: "
	          "`tremplinctl retention --dry-run` lists them, `tremplinctl retention "
	          "--confirm %lld` purges them",
	    (long long)h.due, (long long)h.total, c->retention_hold_percent, (long long)h.due);
	return 1;
}

void
retention_hold_done(void)
{
	h.confirmed = 0;
}

/* GET /v1/retention: what a run now would purge, ids and dates only (a dry run). */
void
retention_show(struct tremplin_request *r)
{
	static const char sql[] = "SELECT e.id, e.structure_id, e.last_contact_at FROM employees e"
	                          " WHERE " RETENTION_DUE_WHERE " ORDER BY e.id LIMIT ?3";
	struct server *srv = r->srv;
	int64_t now = tr_now_ms(), due, total;
	char cutoff[32], today[CAL_DATE_LEN], last[32];
	json_t *files = json_array();
	sqlite3_stmt *st;
	int rc;

	if (api_query_only(r, (const char *const[]){ NULL }) == -1) {
		json_decref(files);
		return;
	}
	retention_bounds(srv, now, cutoff, sizeof(cutoff), today, sizeof(today));
	if (count(srv, now, &due, &total) == -1 || (st = db_stmt(srv->db, sql)) == NULL) {
		json_decref(files);
		api_internal(r, "retention dry run");
		return;
	}
	sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, today, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, LIST_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(files,
		    json_pack("{s:I, s:I, s:s}", "id", (json_int_t)sqlite3_column_int64(st, 0),
		        "structure_id", (json_int_t)sqlite3_column_int64(st, 1), "last_contact_at",
		        (const char *)sqlite3_column_text(st, 2)));
	db_done(st);
	if (rc != SQLITE_DONE) {
		json_decref(files);
		api_internal(r, "retention dry run");
		return;
	}
	if (h.last_run_ms > 0)
		tr_rfc3339((time_t)(h.last_run_ms / 1000), last, sizeof(last));
	api_reply(r, 200,
	    json_pack("{s:i, s:i, s:s, s:I, s:I, s:b, s:b, s:s?, s:o}", "retention_days",
	        srv->conf->retention_days, "hold_percent", srv->conf->retention_hold_percent,
	        "cutoff", cutoff, "total", (json_int_t)total, "due", (json_int_t)due, "held",
	        h.held, "would_hold", over_share(srv->conf, due, total), "last_run_at",
	        h.last_run_ms > 0 ? last : NULL, "files", files));
}

/* POST /v1/retention/confirm {"due": N}: N is the count the admin saw listed. */
void
retention_confirm(struct tremplin_request *r)
{
	json_t *v = json_object_get(r->body, "due");
	const char *key;
	json_t *val;
	int64_t due, total;

	json_object_foreach (r->body, key, val)
		if (strcmp(key, "due") != 0) {
			char q[JSON_NAME_QUOTED];
			api_error(r, 400, "unknown_field", key,
			    "%s is not a field of a confirmation",
			    json_safe_text(q, sizeof(q), key));
			return;
		}
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		api_error(r, 422, "validation_failed", "due",
		    "due must be the number of files the dry run listed (an integer, at least 1)");
		return;
	}
	if (!h.held) {
		api_error(
		    r, 409, "conflict", NULL, "no purge is held: there is nothing to confirm");
		return;
	}
	if (count(r->srv, tr_now_ms(), &due, &total) == -1) {
		api_internal(r, "retention count");
		return;
	}
	if (due != json_integer_value(v)) {
		api_error(r, 409, "conflict", "due",
		    "%lld files are due now, not %lld: list them again (tremplinctl retention "
		    "--dry-run) and confirm that count",
		    (long long)due, (long long)json_integer_value(v));
		return;
	}
	h.confirmed = 1;
	log_warnx("WARNING: retention: the purge of %lld of %lld files confirmed by %s; purging",
	    (long long)due, (long long)total, r->who.unix_user);
	retention_now(r->srv);
	api_reply(r, 202, json_pack("{s:I, s:b}", "due", (json_int_t)due, "confirmed", 1));
}
