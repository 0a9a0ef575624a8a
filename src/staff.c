/* Staff accounts: who may call the API, as which role. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "events.h"
#include "handlers.h"
#include "identity.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "validate.h"

#define STAFF_COLUMNS "id, name, unix_user, role, email, active, bootstrap, created_at, updated_at"

static const struct field_spec staff_fields[] = {
	{ "id", FT_INTEGER, FF_READONLY },
	{ "name", FT_STRING, FF_REQUIRED },
	{ "unix_user", FT_STRING, FF_REQUIRED },
	{ "role", FT_STRING, FF_REQUIRED },
	{ "email", FT_STRING, FF_NULLABLE },
	{ "active", FT_BOOLEAN, 0 },
	{ "bootstrap", FT_BOOLEAN, FF_READONLY },
	{ "created_at", FT_STRING, FF_READONLY },
	{ "updated_at", FT_STRING, FF_READONLY },
};

static int
staff_valid(json_t *o, struct tremplin_error *e)
{
	const char *why, *email = json_str(o, "email");

	if ((why = valid_label(json_str(o, "name"), 200)) != NULL) {
		input_error_set(e, 422, "validation_failed", "name", "name %s", why);
		return -1;
	}
	if ((why = valid_unix_user(json_str(o, "unix_user"))) != NULL) {
		input_error_set(e, 422, "validation_failed", "unix_user", "unix_user %s", why);
		return -1;
	}
	if (role_from_name(json_str(o, "role")) == ROLE_NONE) {
		input_error_set(e, 422, "validation_failed", "role",
		    "role must be one of eti, cip, coordinator, admin");
		return -1;
	}
	if (email != NULL && (why = valid_email(email)) != NULL) {
		input_error_set(e, 422, "validation_failed", "email", "email %s", why);
		return -1;
	}
	return 0;
}

/* SQLite keeps booleans as 0/1; the API speaks true/false. */
static json_t *
staff_json(sqlite3_stmt *st)
{
	json_t *o = db_row_to_json(st);

	json_object_set_new(
	    o, "active", json_boolean(json_integer_value(json_object_get(o, "active"))));
	json_object_set_new(
	    o, "bootstrap", json_boolean(json_integer_value(json_object_get(o, "bootstrap"))));
	return o;
}

static json_t *
staff_load(struct db *db, int64_t id, int *dberr)
{
	static const char sql[] = "SELECT " STAFF_COLUMNS " FROM staff WHERE id = ?";
	sqlite3_stmt *st = db_stmt(db, sql);
	json_t *o = NULL;
	int rc;

	*dberr = 0;
	if (st == NULL) {
		*dberr = 1;
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		o = staff_json(st);
	else if (rc != SQLITE_DONE)
		*dberr = 1;
	db_done(st);
	return o;
}

static int
is_unique_violation(struct db *db)
{
	return sqlite3_extended_errcode(db_handle(db)) == SQLITE_CONSTRAINT_UNIQUE;
}

static void
bind_staff(sqlite3_stmt *st, json_t *o)
{
	json_t *active = json_object_get(o, "active");

	sqlite3_bind_text(st, 1, json_str(o, "name"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, json_str(o, "unix_user"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, json_str(o, "role"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, json_str(o, "email"), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, active == NULL || json_is_true(active));
}

void
staff_create(struct tremplin_request *r)
{
	static const char sql[] = "INSERT INTO staff (name, unix_user, role, email, active,"
	                          " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?6, ?6)";
	struct db *db = r->srv->db;
	struct tremplin_error e;
	char now[32], loc[64];
	int dberr;

	if (json_check_fields(r->body, staff_fields, TR_NELEM(staff_fields), 1, &e) == -1 ||
	    staff_valid(r->body, &e) == -1) {
		api_input_error(r, &e);
		return;
	}
	if (!authz_may_grant(r->who.role, role_from_name(json_str(r->body, "role")))) {
		api_error(r, 403, "forbidden", "role", "the %s role may not create %s accounts",
		    role_name(r->who.role), json_str(r->body, "role"));
		return;
	}
	tr_rfc3339(tr_now(), now, sizeof(now));
	if (db_begin(db) == -1) {
		api_error(r, 503, "unavailable", NULL, "the database is busy; try again");
		return;
	}
	sqlite3_stmt *st = db_stmt(db, sql);
	if (st == NULL) {
		db_rollback(db);
		api_internal(r, "prepare");
		return;
	}
	bind_staff(st, r->body);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int unique = rc != SQLITE_DONE && is_unique_violation(db);
	db_done(st);
	if (rc != SQLITE_DONE) {
		db_rollback(db);
		if (unique)
			api_error(r, 409, "conflict", "unix_user",
			    "a staff account for unix_user %s already exists",
			    json_str(r->body, "unix_user"));
		else
			api_internal(r, "insert staff");
		return;
	}
	int64_t id = sqlite3_last_insert_rowid(db_handle(db));
	json_t *o = staff_load(db, id, &dberr);
	if (o == NULL || events_publish_change(r->srv->events, &r->who, "staff", id, o, NULL) < 0 ||
	    db_commit(db) == -1) {
		json_decref(o);
		db_rollback(db);
		api_internal(r, "commit staff");
		return;
	}
	identity_invalidate();
	log_info("staff: %s created account %lld (%s, %s)", r->who.unix_user, (long long)id,
	    json_str(o, "unix_user"), json_str(o, "role"));
	snprintf(loc, sizeof(loc), "/v1/staff/%lld", (long long)id);
	api_reply_created(r, loc, o);
}

void
staff_get(struct tremplin_request *r)
{
	int dberr;
	json_t *o = staff_load(r->srv->db, r->ids[0], &dberr);

	if (o == NULL) {
		if (dberr)
			api_internal(r, "load staff");
		else
			api_error(r, 404, "not_found", NULL, "no staff account %lld",
			    (long long)r->ids[0]);
		return;
	}
	api_reply(r, 200, o);
}

void
staff_list(struct tremplin_request *r)
{
	static const char sql[] = "SELECT " STAFF_COLUMNS " FROM staff WHERE id > ?1"
	                          " AND (?2 IS NULL OR role = ?2) AND (?3 IS NULL OR active = ?3)"
	                          " ORDER BY id LIMIT ?4";
	static const char *const params[] = { "limit", "cursor", "role", "active", NULL };
	const char *role = api_query(r, "role"), *active = api_query(r, "active");
	int limit, rc, n = 0;
	int64_t after, last = 0;

	if (api_query_only(r, params) == -1 || api_page(r, &limit, &after) == -1)
		return;
	if (role != NULL && role_from_name(role) == ROLE_NONE) {
		api_error(r, 400, "bad_request", "role",
		    "role must be one of eti, cip, coordinator, admin");
		return;
	}
	if (active != NULL && strcmp(active, "true") != 0 && strcmp(active, "false") != 0) {
		api_error(r, 400, "bad_request", "active", "active must be true or false");
		return;
	}
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	if (st == NULL) {
		api_internal(r, "prepare");
		return;
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	if (active != NULL)
		sqlite3_bind_int(st, 3, strcmp(active, "true") == 0);
	sqlite3_bind_int(st, 4, limit + 1);
	json_t *items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > limit)
			break;
		last = sqlite3_column_int64(st, 0);
		json_array_append_new(items, staff_json(st));
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(items);
		api_internal(r, "list staff");
		return;
	}
	api_reply(r, 200, api_list(items, n > limit ? last : 0));
}

/* The rules on who may change whom, checked before anything is written. */
static int
staff_may_update(struct tremplin_request *r, json_t *cur, json_t *next)
{
	enum role cur_role = role_from_name(json_str(cur, "role"));
	enum role new_role = role_from_name(json_str(next, "role"));
	int self = json_integer_value(json_object_get(cur, "id")) == r->who.staff_id;

	if (json_is_true(json_object_get(cur, "bootstrap"))) {
		api_error(r, 409, "conflict", NULL,
		    "staff account %s is defined in the configuration file; change it there",
		    json_str(cur, "unix_user"));
		return 0;
	}
	if (!authz_may_grant(r->who.role, cur_role) || !authz_may_grant(r->who.role, new_role)) {
		api_error(r, 403, "forbidden", "role", "the %s role may not manage %s accounts",
		    role_name(r->who.role),
		    role_name(cur_role == ROLE_ADMIN ? cur_role : new_role));
		return 0;
	}
	if (self && new_role != cur_role) {
		api_error(r, 422, "validation_failed", "role", "you may not change your own role");
		return 0;
	}
	if (self && !json_is_true(json_object_get(next, "active"))) {
		api_error(r, 422, "validation_failed", "active",
		    "you may not deactivate your own account");
		return 0;
	}
	return 1;
}

void
staff_update(struct tremplin_request *r)
{
	static const char sql[] = "UPDATE staff SET name = ?, unix_user = ?, role = ?, email = ?,"
	                          " active = ?, updated_at = ? WHERE id = ?";
	struct db *db = r->srv->db;
	struct tremplin_error e;
	char now[32];
	int dberr;

	if (json_check_fields(r->body, staff_fields, TR_NELEM(staff_fields), 0, &e) == -1) {
		api_input_error(r, &e);
		return;
	}
	json_t *cur = staff_load(db, r->ids[0], &dberr);
	if (cur == NULL) {
		if (dberr)
			api_internal(r, "load staff");
		else
			api_error(r, 404, "not_found", NULL, "no staff account %lld",
			    (long long)r->ids[0]);
		return;
	}
	json_t *o = json_deep_copy(cur);
	json_merge_patch(o, r->body);
	if (!json_object_get(o, "active"))
		json_object_set_new(o, "active", json_true());
	if (staff_valid(o, &e) == -1) {
		api_input_error(r, &e);
		goto out;
	}
	if (!staff_may_update(r, cur, o))
		goto out;
	tr_rfc3339(tr_now(), now, sizeof(now));
	if (db_begin(db) == -1) {
		api_error(r, 503, "unavailable", NULL, "the database is busy; try again");
		goto out;
	}
	sqlite3_stmt *st = db_stmt(db, sql);
	if (st == NULL) {
		db_rollback(db);
		api_internal(r, "prepare");
		goto out;
	}
	bind_staff(st, o);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->ids[0]);
	int rc = sqlite3_step(st);
	int unique = rc != SQLITE_DONE && is_unique_violation(db);
	db_done(st);
	if (rc != SQLITE_DONE) {
		db_rollback(db);
		if (unique)
			api_error(r, 409, "conflict", "unix_user",
			    "a staff account for unix_user %s already exists",
			    json_str(o, "unix_user"));
		else
			api_internal(r, "update staff");
		goto out;
	}
	json_decref(o);
	o = staff_load(db, r->ids[0], &dberr);
	if (o == NULL ||
	    events_publish_change(r->srv->events, &r->who, "staff", r->ids[0], o, cur) < 0 ||
	    db_commit(db) == -1) {
		db_rollback(db);
		api_internal(r, "commit staff");
		goto out;
	}
	identity_invalidate();
	log_info("staff: %s updated account %lld", r->who.unix_user, (long long)r->ids[0]);
	api_reply(r, 200, o);
	o = NULL;
out:
	json_decref(o);
	json_decref(cur);
}

/* The account's id for unix_user, 0 when none, -1 on a database error. */
static int64_t
staff_id_of(struct db *db, const char *unix_user)
{
	static const char sql[] = "SELECT id FROM staff WHERE unix_user = ?";
	sqlite3_stmt *st = db_stmt(db, sql);
	int64_t id = -1;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, unix_user, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		id = 0;
	db_done(st);
	return id;
}

/* Journal what the configuration changed, as the change of an actor named "configuration". */
static int
bootstrap_event(struct db *db, struct events *ev, int64_t id, json_t *before)
{
	static const struct identity conf_actor = { .unix_user = "configuration" };
	const char *keys[] = { "name", "role", "email", "active", "bootstrap" };
	int dberr, changed = before == NULL;
	json_t *after = staff_load(db, id, &dberr);

	if (after == NULL)
		return -1;
	for (size_t i = 0; i < TR_NELEM(keys) && !changed; i++)
		changed =
		    !json_equal(json_object_get(after, keys[i]), json_object_get(before, keys[i]));
	int rc = changed
	    ? (events_publish_change(ev, &conf_actor, "staff", id, after, before) < 0 ? -1 : 0)
	    : 0;
	json_decref(after);
	return rc;
}

int
staff_bootstrap(struct db *db, struct events *ev, const struct config *c, char *err, size_t errlen)
{
	static const char sql[] =
	    "INSERT INTO staff (name, unix_user, role, email, active, bootstrap, created_at,"
	    " updated_at) VALUES (?1, ?2, ?3, ?4, 1, 1, ?5, ?5)"
	    " ON CONFLICT (unix_user) DO UPDATE SET name = ?1, role = ?3, email = ?4, active = 1,"
	    " bootstrap = 1, updated_at = CASE WHEN (name, role, coalesce(email, ''), active)"
	    "  IS NOT (?1, ?3, coalesce(?4, ''), 1) THEN ?5 ELSE updated_at END"
	    /* An account as the file has it already is not written: a start writes nothing. */
	    " WHERE (name, role, coalesce(email, ''), active, bootstrap)"
	    "  IS NOT (?1, ?3, coalesce(?4, ''), 1, 1)";
	static const char unmark[] = "UPDATE staff SET bootstrap = 0 WHERE id = ?";
	static const char marked[] = "SELECT id FROM staff WHERE bootstrap = 1";
	json_t **before = calloc(c->nstaff ? c->nstaff : 1, sizeof(*before));
	int64_t *ids = calloc(c->nstaff ? c->nstaff : 1, sizeof(*ids));
	json_t *dropped = json_array(), *o;
	sqlite3_stmt *st = NULL;
	char now[32];
	size_t i, j;
	int rc = -1;

	if (before == NULL || ids == NULL)
		fatal("calloc");
	tr_rfc3339(tr_now(), now, sizeof(now));
	if (db_begin(db) == -1) {
		snprintf(err, errlen, "cannot update bootstrap staff accounts: database busy");
		goto out;
	}
	/* The accounts as they are, to journal only what the configuration changes. */
	for (i = 0; i < c->nstaff; i++) {
		int dberr = 0;
		if ((ids[i] = staff_id_of(db, c->staff[i].unix_user)) < 0)
			goto fail;
		if (ids[i] > 0 && (before[i] = staff_load(db, ids[i], &dberr)) == NULL)
			goto fail;
	}
	/* The accounts the file no longer names lose their bootstrap mark: a change too. */
	if ((st = db_stmt(db, marked)) == NULL)
		goto fail;
	int scan;
	while ((scan = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		for (j = 0; j < c->nstaff && ids[j] != id; j++)
			;
		if (j == c->nstaff)
			json_array_append_new(dropped, json_integer(id));
	}
	if (scan != SQLITE_DONE)
		goto fail;
	db_done(st);
	st = NULL;
	json_array_foreach (dropped, j, o) {
		int dberr = 0;
		json_t *was = staff_load(db, json_integer_value(o), &dberr);
		if (was == NULL)
			goto fail;
		json_array_set_new(dropped, j, was);
	}
	/* An account dropped from the file stays, managed through the API from now on. */
	json_array_foreach (dropped, j, o) {
		if ((st = db_stmt(db, unmark)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(o, "id")));
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
		db_done(st);
		st = NULL;
	}
	for (i = 0; i < c->nstaff; i++) {
		const struct conf_staff *s = &c->staff[i];
		if ((st = db_stmt(db, sql)) == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->unix_user, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, role_name(s->role), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, s->email, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
		int step = sqlite3_step(st);
		db_done(st);
		st = NULL;
		if (step != SQLITE_DONE)
			goto fail;
		if (ids[i] == 0)
			ids[i] = sqlite3_last_insert_rowid(db_handle(db));
		if (bootstrap_event(db, ev, ids[i], before[i]) == -1)
			goto fail;
	}
	json_array_foreach (dropped, j, o) {
		if (bootstrap_event(db, ev, json_integer_value(json_object_get(o, "id")), o) == -1)
			goto fail;
	}
	if (db_commit(db) == -1)
		goto fail;
	identity_invalidate();
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "cannot update bootstrap staff accounts: %s",
	    sqlite3_errmsg(db_handle(db)));
	db_done(st);
	db_rollback(db);
out:
	for (i = 0; i < c->nstaff; i++)
		json_decref(before[i]);
	free(before);
	free(ids);
	json_decref(dropped);
	return rc;
}
