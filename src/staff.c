/* Staff accounts: who may call the API, as which role (a record), and the bootstrap ones. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

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

static const char *const staff_roles[] = { "eti", "cip", "coordinator", "admin", NULL };

/*
 * Staff accounts, a record of nobody's registered by the kernel module:
 * every staff role reads them, coordinators and the admin write them (each
 * within what authz_may_grant lets it grant).
 */
static const struct tremplin_column staff_cols[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "name",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "staff_accounts",
	    .max = 200 },
	{ .name = "unix_user",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "staff_accounts",
	    .max = 32 },
	{ .name = "role",
	    .type = TREMPLIN_COL_ENUM,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "staff_accounts",
	    .values = staff_roles },
	{ .name = "email",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "staff_accounts",
	    .max = 254 },
	{ .name = "active",
	    .type = TREMPLIN_COL_BOOL,
	    .category = "staff_accounts",
	    .def = "true" },
	/* Defined by the configuration file: changed there, not through the API. */
	{ .name = "bootstrap",
	    .type = TREMPLIN_COL_BOOL,
	    .flags = TREMPLIN_COL_SERVER,
	    .category = "staff_accounts",
	    .def = "false" },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
	{ .name = "updated_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_STAMP },
};

static const struct tremplin_filter staff_filters[] = {
	{ .name = "role", .column = "role", .op = TREMPLIN_FILTER_EQ },
	{ .name = "active", .column = "active", .op = TREMPLIN_FILTER_EQ },
};

/* The shape of the values, and who may change whom, before anything is written. */
static int
staff_check(struct tremplin_request *r, json_t *o, const json_t *before, struct tremplin_error *e,
    void *arg)
{
	const char *why, *email = json_str(o, "email");
	enum role new_role = role_from_name(json_str(o, "role"));

	(void)arg;
	if ((why = valid_unix_user(json_str(o, "unix_user"))) != NULL) {
		input_error_set(e, 422, "validation_failed", "unix_user", "unix_user %s", why);
		return -1;
	}
	if (email != NULL && (why = valid_email(email)) != NULL) {
		input_error_set(e, 422, "validation_failed", "email", "email %s", why);
		return -1;
	}
	if (before == NULL) {
		if (!authz_may_grant(r->who.role, new_role)) {
			input_error_set(e, 403, "forbidden", "role",
			    "the %s role may not create %s accounts", role_name(r->who.role),
			    role_name(new_role));
			return -1;
		}
		return 0;
	}
	enum role cur_role = role_from_name(json_str((json_t *)before, "role"));
	int self = json_integer_value(json_object_get(before, "id")) == r->who.staff_id;
	if (json_is_true(json_object_get(before, "bootstrap"))) {
		input_error_set(e, 409, "conflict", NULL,
		    "staff account %s is defined in the configuration file; change it there",
		    json_str((json_t *)before, "unix_user"));
		return -1;
	}
	if (!authz_may_grant(r->who.role, cur_role) || !authz_may_grant(r->who.role, new_role)) {
		input_error_set(e, 403, "forbidden", "role",
		    "the %s role may not manage %s accounts", role_name(r->who.role),
		    role_name(cur_role == ROLE_ADMIN ? cur_role : new_role));
		return -1;
	}
	if (self && new_role != cur_role) {
		input_error_set(
		    e, 422, "validation_failed", "role", "you may not change your own role");
		return -1;
	}
	if (self && !json_is_true(json_object_get(o, "active"))) {
		input_error_set(e, 422, "validation_failed", "active",
		    "you may not deactivate your own account");
		return -1;
	}
	return 0;
}

/*
 * An account for a user this host does not know is accepted (the user may be
 * made later, or come from a directory not reachable now), but the caller is
 * told at once: a Warning header (RFC 9110's 299, which tremplinctl prints)
 * and the log.
 */
static void
warn_unknown_user(struct tremplin_request *r, const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[4096], text[256];

	if (user == NULL || (getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res != NULL))
		return;
	snprintf(text, sizeof(text),
	    "299 tremplind \"unix_user %s is not a user of this host: the account cannot call "
	    "the API until that user exists\"",
	    user);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Warning", text);
	log_warnx("staff: unix_user %s is not a user of this host (account saved by %s)", user,
	    r->who.unix_user);
}

/* Who may call the API has changed: the identities the daemon caches are dropped. */
static int
staff_written(struct tremplin_request *r, json_t *obj, int64_t id, void *arg)
{
	(void)arg;
	identity_invalidate();
	warn_unknown_user(r, json_string_value(json_object_get(obj, "unix_user")));
	log_info("staff: %s %s account %lld (%s, %s)", r->who.unix_user,
	    json_object_get(obj, "id") == NULL ? "created" : "updated", (long long)id,
	    json_string_value(json_object_get(obj, "unix_user")),
	    json_string_value(json_object_get(obj, "role")));
	return 0;
}

static const char *const staff_search[] = { "name", NULL };

const struct tremplin_record rec_staff = {
	.size = sizeof(struct tremplin_record),
	.search = staff_search,
	.name = "staff",
	.plural = "staff",
	.table = "staff",
	.columns = staff_cols,
	.ncolumns = TR_NELEM(staff_cols),
	.owner = TREMPLIN_OWNER_NONE,
	.ops = TREMPLIN_OP_GET | TREMPLIN_OP_LIST | TREMPLIN_OP_CREATE | TREMPLIN_OP_UPDATE,
	.filters = staff_filters,
	.nfilters = TR_NELEM(staff_filters),
	.journal = TREMPLIN_JOURNAL_ROW,
	.check = staff_check,
	.after_write = staff_written,
};

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
