#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "db.h"
#include "log.h"
#include "util.h"

static void
now_text(int64_t now_ms, char *buf, size_t size)
{
	tr_rfc3339((time_t)(now_ms / 1000), buf, size);
}

int
outbox_check(struct db *db, const struct outbox_entry *e, char *why, size_t whylen)
{
	int rc;

	if (e->recipient_staff_id > 0 &&
	    (rc = db_row_exists(db, "SELECT 1 FROM staff WHERE id = ? AND active = 1",
	         e->recipient_staff_id)) != 1) {
		snprintf(why, whylen,
		    rc == 0 ? "recipient_staff_id %lld is not an active staff account"
		            : "cannot check recipient_staff_id %lld",
		    (long long)e->recipient_staff_id);
		return -1;
	}
	if (e->employee_id > 0 &&
	    (rc = db_row_exists(db, "SELECT 1 FROM employees WHERE id = ?", e->employee_id)) != 1) {
		snprintf(why, whylen,
		    rc == 0 ? "employee_id %lld is not an employee"
		            : "cannot check employee_id %lld",
		    (long long)e->employee_id);
		return -1;
	}
	return 0;
}

int
outbox_queue(struct db *db, const struct outbox_entry *e, int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO outbox (source, kind, recipient_role, recipient_staff_id, employee_id,"
	    " message, dedup_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (dedup_key) DO NOTHING";
	sqlite3_stmt *st = db_stmt(db, sql);
	char now[32];
	int rc, changes;

	if (st == NULL)
		return -1;
	tr_rfc3339(tr_now(), now, sizeof(now));
	sqlite3_bind_text(st, 1, e->source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, e->kind, -1, SQLITE_TRANSIENT);
	if (e->recipient_role != NULL)
		sqlite3_bind_text(st, 3, e->recipient_role, -1, SQLITE_TRANSIENT);
	if (e->recipient_staff_id > 0)
		sqlite3_bind_int64(st, 4, e->recipient_staff_id);
	if (e->employee_id > 0)
		sqlite3_bind_int64(st, 5, e->employee_id);
	sqlite3_bind_text(st, 6, e->message, -1, SQLITE_TRANSIENT);
	if (e->dedup_key != NULL)
		sqlite3_bind_text(st, 7, e->dedup_key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, now, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	changes = sqlite3_changes(db_handle(db));
	db_done(st);
	if (rc != SQLITE_DONE) {
		if (!db_full(db, NULL))
			log_warnx(
			    "outbox: cannot queue %s: %s", e->kind, sqlite3_errmsg(db_handle(db)));
		return -1;
	}
	if (changes == 0)
		return 0;
	int64_t rowid = sqlite3_last_insert_rowid(db_handle(db));
	/* What staff see of it, in the same transaction. */
	if (alerts_from_outbox(db, e, rowid) == -1) {
		if (!db_full(db, NULL))
			log_warnx("outbox: cannot make the alert of %s: %s", e->kind,
			    sqlite3_errmsg(db_handle(db)));
		return -1;
	}
	if (id != NULL)
		*id = rowid;
	return 1;
}

/*
 * Each claimed entry's recipients as the alerts core resolved them (its
 * account, or its role's active accounts when it was queued), with what a
 * channel needs to reach them: {staff_id, name, email} (email null when the
 * account has none).
 */
static int
add_recipients(struct db *db, json_t *claimed)
{
	static const char sql[] =
	    "SELECT s.id AS staff_id, s.name, s.email FROM alert_recipients r"
	    " JOIN staff s ON s.id = r.staff_id WHERE r.alert_id = ?1 AND s.active = 1"
	    " AND ((r.via = 'staff' AND r.staff_id = ?2) OR r.via = 'role:' || ?3) ORDER BY s.id";
	size_t i;
	json_t *e;

	json_array_foreach (claimed, i, e) {
		sqlite3_stmt *st = db_stmt(db, sql);
		json_t *who = json_array();
		const char *role = json_string_value(json_object_get(e, "recipient_role"));
		int rc;

		if (st == NULL) {
			json_decref(who);
			return -1;
		}
		sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(e, "alert_id")));
		sqlite3_bind_int64(
		    st, 2, json_integer_value(json_object_get(e, "recipient_staff_id")));
		if (role != NULL)
			sqlite3_bind_text(st, 3, role, -1, SQLITE_TRANSIENT);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			json_array_append_new(who, db_row_to_json(st));
		db_done(st);
		json_object_set_new(e, "recipients", who);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Run one statement binding channel as ?1: 0, or -1 on an error. */
static int
exec_channel(struct db *db, const char *sql, const char *channel)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, channel, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

json_t *
outbox_claim(struct db *db, const char *channel, int max, int64_t lease_ms, int64_t now_ms)
{
	/*
	 * A channel's first claim marks where it starts: at what no channel
	 * has taken yet, else at what comes next (a channel added later does
	 * not send what another delivered long ago).
	 */
	static const char start[] =
	    "INSERT INTO outbox_channel_starts (channel, from_id) VALUES (?1,"
	    " coalesce((SELECT min(id) FROM outbox WHERE status = 'pending'),"
	    " (SELECT coalesce(max(id), 0) + 1 FROM outbox)))"
	    " ON CONFLICT (channel) DO NOTHING";
	/*
	 * One statement: what is due for this channel (never taken by it,
	 * pending past its next attempt, or claimed with an ended lease)
	 * becomes claimed by it.
	 */
	static const char take[] =
	    "INSERT INTO outbox_channels (outbox_id, channel, status, attempts, lease_until,"
	    " updated_at) SELECT o.id, ?1, 'claimed', 1, ?2, ?3 FROM outbox o"
	    " LEFT JOIN outbox_channels c ON c.outbox_id = o.id AND c.channel = ?1"
	    " WHERE o.id >= (SELECT from_id FROM outbox_channel_starts WHERE channel = ?1)"
	    " AND (c.status IS NULL"
	    "  OR (c.status = 'pending' AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= ?4))"
	    "  OR (c.status = 'claimed' AND c.lease_until <= ?4))"
	    " ORDER BY o.id LIMIT ?5"
	    " ON CONFLICT (outbox_id, channel) DO UPDATE SET status = 'claimed',"
	    " lease_until = excluded.lease_until, attempts = attempts + 1,"
	    " updated_at = excluded.updated_at RETURNING outbox_id";
	static const char row[] =
	    "SELECT o.id, o.source, o.kind, o.recipient_role, o.recipient_staff_id, o.employee_id,"
	    " o.message, c.attempts, o.alert_id FROM outbox o JOIN outbox_channels c"
	    " ON c.outbox_id = o.id AND c.channel = ?1 WHERE o.id = ?2";
	sqlite3_stmt *st;
	int64_t ids[500];
	size_t n = 0;
	json_t *out;
	char now[32];
	int rc;

	if (channel == NULL || max < 0 || max > (int)TR_NELEM(ids) ||
	    exec_channel(db, start, channel) == -1)
		return NULL;
	if (max == 0)
		return json_array();
	if ((st = db_stmt(db, take)) == NULL)
		return NULL;
	now_text(now_ms, now, sizeof(now));
	sqlite3_bind_text(st, 1, channel, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now_ms + lease_ms);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now_ms);
	sqlite3_bind_int(st, 5, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < TR_NELEM(ids))
		ids[n++] = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return NULL;
	/* Claimed now: were the rest to fail, their lease ends and they come again. */
	qsort(ids, n, sizeof(ids[0]), cmp_id);
	out = json_array();
	for (size_t i = 0; i < n; i++) {
		if ((st = db_stmt(db, row)) == NULL) {
			json_decref(out);
			return NULL;
		}
		sqlite3_bind_text(st, 1, channel, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, ids[i]);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			json_array_append_new(out, db_row_to_json(st));
		db_done(st);
		if (rc != SQLITE_ROW) {
			json_decref(out);
			return NULL;
		}
	}
	if (add_recipients(db, out) == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}

int
outbox_done(struct db *db, const char *channel, int64_t id, int ok, const char *error,
    int64_t retry_at_ms, int64_t now_ms)
{
	static const char sql[] =
	    "UPDATE outbox_channels SET status = ?1, next_attempt_at = ?2, last_error = ?3,"
	    " lease_until = NULL, updated_at = ?4"
	    " WHERE outbox_id = ?5 AND channel = ?6 AND status = 'claimed'";
	/* The entry's own status: taken by a channel (sent), or given up by all so far. */
	static const char entry[] =
	    "UPDATE outbox SET status = CASE WHEN ?1 THEN 'sent' ELSE 'failed' END,"
	    " updated_at = ?2 WHERE id = ?3 AND (status = 'pending' OR (?1 AND status = 'failed'))";
	/* What the channel has finished from its start on is behind it: later claims skip it. */
	static const char advance[] =
	    "UPDATE outbox_channel_starts SET from_id = coalesce((SELECT min(o.id) FROM outbox o"
	    " LEFT JOIN outbox_channels c ON c.outbox_id = o.id AND c.channel = ?1"
	    " WHERE o.id >= from_id AND (c.status IS NULL OR c.status IN ('claimed', 'pending'))),"
	    " (SELECT coalesce(max(id), 0) + 1 FROM outbox)) WHERE channel = ?1";
	sqlite3_stmt *st = db_stmt(db, sql);
	char now[32];
	int rc, changes;

	if (st == NULL || channel == NULL)
		return -1;
	now_text(now_ms, now, sizeof(now));
	sqlite3_bind_text(st, 1,
	    ok                    ? "sent"
	        : retry_at_ms > 0 ? "pending"
	                          : "failed",
	    -1, SQLITE_STATIC);
	if (!ok && retry_at_ms > 0)
		sqlite3_bind_int64(st, 2, retry_at_ms);
	if (!ok && error != NULL)
		sqlite3_bind_text(st, 3, error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, id);
	sqlite3_bind_text(st, 6, channel, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	changes = sqlite3_changes(db_handle(db));
	db_done(st);
	if (rc != SQLITE_DONE || changes != 1)
		return -1;
	if (ok || retry_at_ms <= 0) {
		if ((st = db_stmt(db, entry)) == NULL)
			return -1;
		sqlite3_bind_int(st, 1, ok != 0);
		sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, id);
		rc = sqlite3_step(st);
		db_done(st);
		if (rc != SQLITE_DONE || exec_channel(db, advance, channel) == -1)
			return -1;
	}
	return 0;
}

int
outbox_forget_employee(struct db *db, int64_t employee_id)
{
	static const char sql[] = "DELETE FROM outbox WHERE employee_id = ?";
	sqlite3_stmt *st = db_stmt(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee_id);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? alerts_forget_employee(db, employee_id) : -1;
}
