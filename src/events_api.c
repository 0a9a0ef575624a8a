/* GET /v1/events: the journal, for coordinators and admins. */
#include <string.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "server.h"
#include "util.h"

void
events_list(struct tremplin_request *r)
{
	/* ?2 is a type or a prefix ending in ".*" (passed as a LIKE pattern without the star). */
	static const char sql[] = "SELECT id, type, subject, payload, actor, created_at FROM events"
	                          " WHERE id > ?1 AND (?2 IS NULL OR type = ?2 OR (?3 IS NOT NULL "
	                          "AND substr(type, 1, length(?3)) = ?3))"
	                          " ORDER BY id LIMIT ?4";
	static const char *const params[] = { "limit", "cursor", "after", "type", NULL };
	const char *after = api_query(r, "after"), *type = api_query(r, "type");
	char prefix[128];
	int limit, rc, n = 0;
	int64_t from, last = 0, v;

	if (api_query_only(r, params) == -1 || api_page(r, &limit, &from) == -1)
		return;
	if (after != NULL) {
		if (api_query(r, "cursor") != NULL) {
			api_error(r, 400, "bad_request", "after", "give after or cursor, not both");
			return;
		}
		if (tr_parse_i64(after, 0, INT64_MAX, &v) == -1) {
			api_error(r, 400, "bad_request", "after",
			    "after must be an event id (an integer >= 0)");
			return;
		}
		from = v;
	}
	prefix[0] = '\0';
	/* "*" means every type, as it does for subscriptions. */
	if (type != NULL && strcmp(type, "*") == 0)
		type = NULL;
	if (type != NULL) {
		size_t len = strlen(type);
		if (len == 0 || len >= sizeof(prefix)) {
			api_error(r, 400, "bad_request", "type",
			    "type must be an event type or a prefix such as structure.*");
			return;
		}
		if (len >= 2 && type[len - 2] == '.' && type[len - 1] == '*') {
			memcpy(prefix, type, len - 1);
			prefix[len - 1] = '\0';
		}
	}
	sqlite3_stmt *st = db_stmt(r->srv->db, sql);
	if (st == NULL) {
		api_internal(r, "prepare");
		return;
	}
	sqlite3_bind_int64(st, 1, from);
	if (type != NULL && prefix[0] == '\0')
		sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	else if (prefix[0] != '\0') {
		sqlite3_bind_text(st, 2, "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, prefix, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int(st, 4, limit + 1);
	json_t *items = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++n > limit)
			break;
		last = sqlite3_column_int64(st, 0);
		json_t *o = db_row_to_json(st);
		json_t *payload = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
		json_object_set_new(o, "payload", payload ? payload : json_object());
		json_array_append_new(items, o);
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		json_decref(items);
		api_internal(r, "list events");
		return;
	}
	api_reply(r, 200, api_list(items, n > limit ? last : 0));
}
