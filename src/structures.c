/* Structures (SIAE): name, SIRET, kind, annexe financière. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "events.h"
#include "handlers.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "validate.h"

#define STRUCTURE_COLUMNS "id, name, siret, kind, annexe_financiere, created_at, updated_at"

static const struct field_spec structure_fields[] = {
	{ "id", FT_INTEGER, FF_READONLY },
	{ "name", FT_STRING, FF_REQUIRED },
	{ "siret", FT_STRING, FF_REQUIRED },
	{ "kind", FT_STRING, FF_REQUIRED },
	{ "annexe_financiere", FT_STRING, FF_NULLABLE },
	{ "created_at", FT_STRING, FF_READONLY },
	{ "updated_at", FT_STRING, FF_READONLY },
};

/* Field checks on a whole structure (after a merge patch too). */
static int
structure_valid(json_t *o, struct tremplin_error *e)
{
	const char *why, *kind = json_str(o, "kind"), *af = json_str(o, "annexe_financiere");

	if ((why = valid_label(json_str(o, "name"), 200)) != NULL) {
		input_error_set(e, 422, "validation_failed", "name", "name %s", why);
		return -1;
	}
	if ((why = valid_siret(json_str(o, "siret"))) != NULL) {
		input_error_set(e, 422, "validation_failed", "siret", "siret %s", why);
		return -1;
	}
	if ((why = valid_structure_kind(kind)) != NULL) {
		input_error_set(e, 422, "validation_failed", "kind", "kind %s", why);
		return -1;
	}
	if (af != NULL && (why = valid_annexe_financiere(af, kind)) != NULL) {
		input_error_set(
		    e, 422, "validation_failed", "annexe_financiere", "annexe_financiere %s", why);
		return -1;
	}
	return 0;
}

/* The structure with this id, or NULL (and *dberr set on a database failure). */
static json_t *
structure_load(struct db *db, int64_t id, int *dberr)
{
	static const char sql[] = "SELECT " STRUCTURE_COLUMNS " FROM structures WHERE id = ?";
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
		o = db_row_to_json(st);
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

void
structures_create(struct tremplin_request *r)
{
	static const char sql[] = "INSERT INTO structures (name, siret, kind, annexe_financiere,"
	                          " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)";
	struct db *db = r->srv->db;
	struct tremplin_error e;
	char now[32], loc[64];
	int dberr;

	if (json_check_fields(r->body, structure_fields, TR_NELEM(structure_fields), 1, &e) == -1 ||
	    structure_valid(r->body, &e) == -1) {
		api_input_error(r, &e);
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
	sqlite3_bind_text(st, 1, json_str(r->body, "name"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, json_str(r->body, "siret"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, json_str(r->body, "kind"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, json_str(r->body, "annexe_financiere"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int unique = rc != SQLITE_DONE && is_unique_violation(db);
	db_done(st);
	if (rc != SQLITE_DONE) {
		db_rollback(db);
		if (unique)
			api_error(r, 409, "conflict", "siret",
			    "a structure with siret %s already exists", json_str(r->body, "siret"));
		else
			api_internal(r, "insert structure");
		return;
	}
	int64_t id = sqlite3_last_insert_rowid(db_handle(db));
	json_t *o = structure_load(db, id, &dberr);
	if (o == NULL ||
	    events_publish_change(r->srv->events, &r->who, "structure", id, o, NULL) < 0 ||
	    db_commit(db) == -1) {
		json_decref(o);
		db_rollback(db);
		api_internal(r, "commit structure");
		return;
	}
	snprintf(loc, sizeof(loc), "/v1/structures/%lld", (long long)id);
	api_reply_created(r, loc, o);
}

void
structures_get(struct tremplin_request *r)
{
	int dberr;
	json_t *o = structure_load(r->srv->db, r->ids[0], &dberr);

	if (o == NULL) {
		if (dberr)
			api_internal(r, "load structure");
		else
			api_error(
			    r, 404, "not_found", NULL, "no structure %lld", (long long)r->ids[0]);
		return;
	}
	api_reply(r, 200, o);
}

void
structures_list(struct tremplin_request *r)
{
	static const char sql[] =
	    "SELECT " STRUCTURE_COLUMNS " FROM structures"
	    " WHERE id > ?1 AND (?2 IS NULL OR kind = ?2) ORDER BY id LIMIT ?3";
	static const char *const params[] = { "limit", "cursor", "kind", NULL };
	const char *kind = api_query(r, "kind"), *why;
	int limit, rc, n = 0;
	int64_t after, last = 0;

	if (api_query_only(r, params) == -1 || api_page(r, &limit, &after) == -1)
		return;
	if (kind != NULL && (why = valid_structure_kind(kind)) != NULL) {
		api_error(r, 400, "bad_request", "kind", "kind %s", why);
		return;
	}
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	if (st == NULL) {
		api_internal(r, "prepare");
		return;
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	/* One more than asked tells whether another page follows. */
	sqlite3_bind_int(st, 3, limit + 1);
	json_t *items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > limit)
			break;
		last = sqlite3_column_int64(st, 0);
		json_array_append_new(items, db_row_to_json(st));
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(items);
		api_internal(r, "list structures");
		return;
	}
	api_reply(r, 200, api_list(items, n > limit ? last : 0));
}

void
structures_update(struct tremplin_request *r)
{
	static const char sql[] = "UPDATE structures SET name = ?, siret = ?, kind = ?,"
	                          " annexe_financiere = ?, updated_at = ? WHERE id = ?";
	struct db *db = r->srv->db;
	struct tremplin_error e;
	char now[32];
	int dberr;

	if (json_check_fields(r->body, structure_fields, TR_NELEM(structure_fields), 0, &e) == -1) {
		api_input_error(r, &e);
		return;
	}
	json_t *o = structure_load(db, r->ids[0], &dberr);
	if (o == NULL) {
		if (dberr)
			api_internal(r, "load structure");
		else
			api_error(
			    r, 404, "not_found", NULL, "no structure %lld", (long long)r->ids[0]);
		return;
	}
	json_t *before = json_deep_copy(o);
	json_merge_patch(o, r->body);
	if (structure_valid(o, &e) == -1) {
		json_decref(before);
		json_decref(o);
		api_input_error(r, &e);
		return;
	}
	tr_rfc3339(tr_now(), now, sizeof(now));
	if (db_begin(db) == -1) {
		json_decref(before);
		json_decref(o);
		api_error(r, 503, "unavailable", NULL, "the database is busy; try again");
		return;
	}
	sqlite3_stmt *st = db_stmt(db, sql);
	if (st == NULL) {
		json_decref(before);
		json_decref(o);
		db_rollback(db);
		api_internal(r, "prepare");
		return;
	}
	sqlite3_bind_text(st, 1, json_str(o, "name"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, json_str(o, "siret"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, json_str(o, "kind"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, json_str(o, "annexe_financiere"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, r->ids[0]);
	int rc = sqlite3_step(st);
	int unique = rc != SQLITE_DONE && is_unique_violation(db);
	db_done(st);
	if (rc != SQLITE_DONE) {
		db_rollback(db);
		if (unique)
			api_error(r, 409, "conflict", "siret",
			    "a structure with siret %s already exists", json_str(o, "siret"));
		else
			api_internal(r, "update structure");
		json_decref(before);
		json_decref(o);
		return;
	}
	json_decref(o);
	o = structure_load(db, r->ids[0], &dberr);
	if (o == NULL ||
	    events_publish_change(r->srv->events, &r->who, "structure", r->ids[0], o, before) < 0 ||
	    db_commit(db) == -1) {
		json_decref(before);
		json_decref(o);
		db_rollback(db);
		api_internal(r, "commit structure");
		return;
	}
	json_decref(before);
	api_reply(r, 200, o);
}
