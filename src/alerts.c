#include "alerts.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "policy.h"
#include "resource.h"
#include "server.h"
#include "util.h"

/* Mine first: the sort key of a row is mine * MINE_BIT + id (ids stay below 2^40). */
#define MINE_BIT ((int64_t)1 << 40)

int
alerts_key_of(const struct outbox_entry *e, char *buf, size_t size)
{
	char suffix[48];
	size_t len, slen;

	if (e->dedup_key == NULL)
		return -1;
	if (e->recipient_staff_id > 0)
		snprintf(suffix, sizeof(suffix), ":staff%lld", (long long)e->recipient_staff_id);
	else if (e->recipient_role != NULL)
		snprintf(suffix, sizeof(suffix), ":%s", e->recipient_role);
	else
		suffix[0] = '\0';
	len = strlen(e->dedup_key);
	slen = strlen(suffix);
	/* The recipient at the end is dropped only when it is this entry's. */
	if (slen > 0 && len > slen && strcmp(e->dedup_key + len - slen, suffix) == 0)
		len -= slen;
	if (len >= size)
		return -1;
	memcpy(buf, e->dedup_key, len);
	buf[len] = '\0';
	return 0;
}

static int
exec_ok(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
alerts_from_outbox(struct db *db, const struct outbox_entry *e, int64_t outbox_id)
{
	static const char find[] =
	    "SELECT id FROM alerts WHERE alert_key = ? AND state != 'resolved'";
	static const char add[] =
	    "INSERT INTO alerts (source, kind, alert_key, employee_id, message, created_at,"
	    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
	static const char to_staff[] = "INSERT OR IGNORE INTO alert_recipients (alert_id, staff_id,"
	                               " via) VALUES (?, ?, 'staff')";
	static const char to_role[] =
	    "INSERT OR IGNORE INTO alert_recipients (alert_id, staff_id, via)"
	    " SELECT ?1, id, 'role:' || ?2 FROM staff WHERE role = ?2 AND active = 1";
	static const char link[] = "UPDATE outbox SET alert_id = ? WHERE id = ?";
	char key[320], now[32];
	int has_key = alerts_key_of(e, key, sizeof(key)) == 0;
	int64_t alert_id = 0;
	sqlite3_stmt *st;
	int rc;

	if (has_key) {
		if ((st = db_stmt(db, find)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			alert_id = sqlite3_column_int64(st, 0);
		db_done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return -1;
	}
	if (alert_id == 0) {
		if ((st = db_stmt(db, add)) == NULL)
			return -1;
		tr_rfc3339(tr_now(), now, sizeof(now));
		sqlite3_bind_text(st, 1, e->source, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, e->kind, -1, SQLITE_TRANSIENT);
		if (has_key)
			sqlite3_bind_text(st, 3, key, -1, SQLITE_TRANSIENT);
		if (e->employee_id > 0)
			sqlite3_bind_int64(st, 4, e->employee_id);
		sqlite3_bind_text(st, 5, e->message, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, now, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 7, now, -1, SQLITE_TRANSIENT);
		if (exec_ok(st) == -1)
			return -1;
		alert_id = sqlite3_last_insert_rowid(db_handle(db));
	}
	if (e->recipient_staff_id > 0) {
		if ((st = db_stmt(db, to_staff)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, alert_id);
		sqlite3_bind_int64(st, 2, e->recipient_staff_id);
	} else {
		if ((st = db_stmt(db, to_role)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, alert_id);
		sqlite3_bind_text(
		    st, 2, e->recipient_role ? e->recipient_role : "", -1, SQLITE_TRANSIENT);
	}
	if (exec_ok(st) == -1)
		return -1;
	if ((st = db_stmt(db, link)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, alert_id);
	sqlite3_bind_int64(st, 2, outbox_id);
	return exec_ok(st);
}

int
alerts_resolve_by_rule(struct db *db, const char *source, const char *key, const char *prefix,
    const char *keep_json, int64_t *n)
{
	static const char sql[] =
	    "UPDATE alerts SET state = 'resolved', resolved_by = NULL, resolved_at = ?1,"
	    " resolved_reason = 'rule', updated_at = ?1 WHERE source = ?2 AND state != 'resolved'"
	    " AND alert_key IS NOT NULL AND (alert_key = ?3 OR (?3 IS NULL"
	    " AND substr(alert_key, 1, length(?4)) = ?4"
	    " AND alert_key NOT IN (SELECT value FROM json_each(coalesce(?5, '[]')))))";
	sqlite3_stmt *st = db_stmt(db, sql);
	char now[32];

	*n = 0;
	if (st == NULL || (key == NULL && prefix == NULL))
		return -1;
	tr_rfc3339(tr_now(), now, sizeof(now));
	sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, source, -1, SQLITE_TRANSIENT);
	if (key != NULL)
		sqlite3_bind_text(st, 3, key, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_text(st, 4, prefix, -1, SQLITE_TRANSIENT);
	if (keep_json != NULL)
		sqlite3_bind_text(st, 5, keep_json, -1, SQLITE_TRANSIENT);
	if (exec_ok(st) == -1)
		return -1;
	*n = sqlite3_changes(db_handle(db));
	return 0;
}

int
alerts_forget_employee(struct db *db, int64_t employee_id)
{
	static const char sql[] = "DELETE FROM alerts WHERE employee_id = ?";
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, employee_id);
	return exec_ok(st);
}

/* Coordinators and admins see every alert; the others theirs only. */
static int
sees_all(const struct tremplin_request *r)
{
	return r->who.role == ROLE_COORDINATOR || r->who.role == ROLE_ADMIN;
}

/*
 * What the caller may read of the person an alert is about: the message
 * and who it is only for those who may read the person's identity (the
 * operator never: it reads no personal data). 1 may, 0 may not, -1 error.
 */
static int
may_read_person(struct tremplin_request *r, int64_t employee_id)
{
	struct access a;

	if (employee_id <= 0)
		return 1;
	if (!policy_personal_data(r->who.role))
		return 0;
	if (access_for_employee(r, employee_id, &a) == -1)
		return 0; /* erased meanwhile: nothing to show */
	return policy_can_read(&a, CAT_IDENTITY);
}

/* The alert of the row st is on, as the caller may see it. NULL on an error. */
static json_t *
alert_json(struct tremplin_request *r, sqlite3_stmt *row)
{
	static const char rcpt[] =
	    "SELECT staff_id FROM alert_recipients WHERE alert_id = ? ORDER BY staff_id";
	static const char person[] = "SELECT first_name, last_name FROM employees WHERE id = ?";
	json_t *o = db_row_to_json(row), *ids = json_array();
	int64_t id = json_integer_value(json_object_get(o, "id"));
	int64_t emp = json_integer_value(json_object_get(o, "employee_id"));
	sqlite3_stmt *st;
	int rc, may;

	json_object_set_new(
	    o, "mine", json_boolean(json_integer_value(json_object_get(o, "mine"))));
	if ((st = db_stmt(r->srv->db, rcpt)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(ids, json_integer(sqlite3_column_int64(st, 0)));
	db_done(st);
	if (rc != SQLITE_DONE)
		goto fail;
	json_object_set_new(o, "recipients", ids);
	ids = NULL;
	may = may_read_person(r, emp);
	if (!may) {
		/* Least data: what happened and its state, not about whom nor the text. */
		json_object_del(o, "employee_id");
		json_object_del(o, "message");
		json_object_set_new(o, "restricted", json_true());
		return o;
	}
	json_object_set_new(o, "restricted", json_false());
	if (emp > 0) {
		if ((st = db_stmt(r->srv->db, person)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, emp);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			json_object_set_new(o, "employee",
			    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)emp, "first_name",
			        (const char *)sqlite3_column_text(st, 0), "last_name",
			        (const char *)sqlite3_column_text(st, 1)));
		db_done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto fail;
	}
	return o;
fail:
	json_decref(ids);
	json_decref(o);
	return NULL;
}

#define ALERT_COLUMNS                                                                              \
	"a.id, a.source, a.kind, a.employee_id, a.message, a.state, a.acknowledged_by,"            \
	" a.acknowledged_at, a.resolved_by, a.resolved_at, a.resolved_reason, a.created_at,"       \
	" a.updated_at, EXISTS (SELECT 1 FROM alert_recipients x WHERE x.alert_id = a.id"          \
	" AND x.staff_id = ?1) AS mine"

void
alerts_list(struct tremplin_request *r)
{
	static const char sql[] =
	    "SELECT * FROM (SELECT " ALERT_COLUMNS " FROM alerts a"
	    " WHERE (?2 IS NULL OR a.state = ?2) AND (?3 IS NULL OR a.kind = ?3)"
	    " AND (?4 IS NULL OR a.employee_id = ?4))"
	    " WHERE (?5 OR mine) AND mine * ?6 + id < ?7 ORDER BY mine * ?6 + id DESC LIMIT ?8";
	static const char *const params[] = { "limit", "cursor", "state", "kind", "employee_id",
		NULL };
	const char *state = api_query(r, "state"), *kind = api_query(r, "kind"),
	           *emp = api_query(r, "employee_id");
	int64_t from, emp_id = 0, last = 0;
	int limit, rc, n = 0;

	if (api_query_only(r, params) == -1 || api_page(r, &limit, &from) == -1)
		return;
	if (state != NULL && strcmp(state, "open") != 0 && strcmp(state, "acknowledged") != 0 &&
	    strcmp(state, "resolved") != 0) {
		api_error(
		    r, 400, "bad_request", "state", "state must be open, acknowledged or resolved");
		return;
	}
	if (kind != NULL && (kind[0] == '\0' || strlen(kind) > 64)) {
		api_error(r, 400, "bad_request", "kind", "kind must be 1 to 64 characters");
		return;
	}
	if (emp != NULL) {
		if (tr_parse_i64(emp, 1, INT64_MAX, &emp_id) == -1) {
			api_error(r, 400, "bad_request", "employee_id",
			    "employee_id must be an employee's id (an integer >= 1)");
			return;
		}
		/* Whom alerts are about is personal: not a filter for the operator. */
		if (!policy_personal_data(r->who.role)) {
			api_error(r, 403, "forbidden", "employee_id",
			    "the %s role reads no personal data: employee_id is not a filter it "
			    "may "
			    "use",
			    role_name(r->who.role));
			return;
		}
	}
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	if (st == NULL) {
		api_internal(r, "prepare");
		return;
	}
	sqlite3_bind_int64(st, 1, r->who.staff_id);
	if (state != NULL)
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	if (kind != NULL)
		sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	if (emp_id > 0)
		sqlite3_bind_int64(st, 4, emp_id);
	sqlite3_bind_int(st, 5, sees_all(r));
	sqlite3_bind_int64(st, 6, MINE_BIT);
	sqlite3_bind_int64(st, 7, from > 0 ? from : INT64_MAX);
	sqlite3_bind_int(st, 8, limit + 1);
	json_t *items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > limit)
			break;
		last = sqlite3_column_int64(st, 0) + (sqlite3_column_int64(st, 13) ? MINE_BIT : 0);
		json_t *o = alert_json(r, st);
		if (o == NULL) {
			rc = SQLITE_ERROR;
			break;
		}
		json_array_append_new(items, o);
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(items);
		api_internal(r, "list alerts");
		return;
	}
	api_reply(r, 200, api_list(items, n > limit ? last : 0));
}

/* The alert {id} as the caller sees it; NULL after replying (404, 500). */
static json_t *
alert_load(struct tremplin_request *r)
{
	static const char sql[] = "SELECT " ALERT_COLUMNS " FROM alerts a WHERE a.id = ?2";
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	json_t *o = NULL;
	int rc;

	if (st == NULL) {
		api_internal(r, "prepare");
		return NULL;
	}
	sqlite3_bind_int64(st, 1, r->who.staff_id);
	sqlite3_bind_int64(st, 2, r->ids[0]);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		o = alert_json(r, st);
	db_done(st);
	if (rc == SQLITE_ROW && o == NULL) {
		api_internal(r, "read alert");
		return NULL;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		api_internal(r, "read alert");
		return NULL;
	}
	/* Another's alert is not there for a CIP or an ETI. */
	if (o == NULL || (!sees_all(r) && !json_is_true(json_object_get(o, "mine")))) {
		json_decref(o);
		api_error(r, 404, "not_found", NULL, "no alert %lld", (long long)r->ids[0]);
		return NULL;
	}
	return o;
}

static void
alert_change(struct tremplin_request *r, int resolve)
{
	static const char ack[] =
	    "UPDATE alerts SET state = 'acknowledged', acknowledged_by = ?1, acknowledged_at = ?2,"
	    " updated_at = ?2 WHERE id = ?3 AND state = 'open'";
	static const char res[] =
	    "UPDATE alerts SET state = 'resolved', resolved_by = ?1, resolved_at = ?2,"
	    " resolved_reason = 'staff', updated_at = ?2 WHERE id = ?3 AND state != 'resolved'";
	json_t *o = alert_load(r);
	const char *state;
	char now[32];
	sqlite3_stmt *st;
	int rc;

	if (o == NULL)
		return;
	state = json_string_value(json_object_get(o, "state"));
	/*
	 * Its recipients and the coordinators act on an alert; the operator
	 * only on one about nobody (it may not read the person).
	 */
	if (!json_is_true(json_object_get(o, "mine")) && r->who.role != ROLE_COORDINATOR &&
	    json_is_true(json_object_get(o, "restricted"))) {
		json_decref(o);
		api_error(r, 403, "forbidden", NULL,
		    "the alert is about a person the %s role may not read: its recipients or a "
		    "coordinator act on it",
		    role_name(r->who.role));
		return;
	}
	if (strcmp(state, "resolved") == 0) {
		json_decref(o);
		api_error(r, 409, "conflict", "state", "the alert is resolved already");
		return;
	}
	int acknowledged = strcmp(state, "acknowledged") == 0;
	json_decref(o);
	if (!resolve && acknowledged) {
		/* Acknowledging twice changes nothing: who acknowledged first stays. */
		if ((o = alert_load(r)) != NULL)
			api_reply(r, 200, o);
		return;
	}
	if ((st = db_stmt(r->srv->db, resolve ? res : ack)) == NULL) {
		api_internal(r, "prepare");
		return;
	}
	tr_rfc3339(tr_now(), now, sizeof(now));
	sqlite3_bind_int64(st, 1, r->who.staff_id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, r->ids[0]);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE) {
		api_internal(r, resolve ? "resolve alert" : "acknowledge alert");
		return;
	}
	log_info("alert %lld %s by staff %lld", (long long)r->ids[0],
	    resolve ? "resolved" : "acknowledged", (long long)r->who.staff_id);
	if ((o = alert_load(r)) != NULL)
		api_reply(r, 200, o);
}

void
alerts_ack(struct tremplin_request *r)
{
	alert_change(r, 0);
}

void
alerts_resolve(struct tremplin_request *r)
{
	alert_change(r, 1);
}
