/*
 * recorder: a test plugin. Two subscriptions on every event: "all" records
 * each event it is handed; "picky" fails on the types listed in its
 * configuration (fail_types) and records the others. A route lists what
 * each recorded, so tests can see delivery, order and isolation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tremplin/plugin.h>

struct recorder {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	json_t *fail_types;
};

static const struct tremplin_migration migrations[] = {
	{ 1,
	    "CREATE TABLE recorder_events (sub TEXT NOT NULL, id INTEGER NOT NULL,"
	    " type TEXT NOT NULL, seen INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (sub, id))" },
};

static int
record(struct recorder *r, const char *sub, const struct tremplin_event *e)
{
	static const char sql[] = "INSERT INTO recorder_events (sub, id, type) VALUES (?, ?, ?)"
	                          " ON CONFLICT (sub, id) DO UPDATE SET seen = seen + 1";
	sqlite3_stmt *st = r->host->stmt(r->self, sql);
	int rc;

	if (st == NULL)
		return TREMPLIN_EVENT_FAILED;
	sqlite3_bind_text(st, 1, sub, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, e->id);
	sqlite3_bind_text(st, 3, e->type, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	r->host->stmt_done(st);
	return rc == SQLITE_DONE ? TREMPLIN_EVENT_DONE : TREMPLIN_EVENT_FAILED;
}

static int
on_all(const struct tremplin_event *e, void *arg)
{
	return record(arg, "all", e);
}

static int
on_picky(const struct tremplin_event *e, void *arg)
{
	struct recorder *r = arg;
	size_t i;
	json_t *t;

	json_array_foreach (r->fail_types, i, t)
		if (strcmp(json_string_value(t), e->type) == 0)
			return TREMPLIN_EVENT_FAILED;
	return record(r, "picky", e);
}

/* GET /v1/recorder/events?sub=all -> {"items": [{"id", "type", "seen"}]} in id order */
static void
list(struct tremplin_request *req, void *arg)
{
	static const char sql[] =
	    "SELECT id, type, seen FROM recorder_events WHERE sub = ? ORDER BY id";
	struct recorder *r = arg;
	const char *sub = r->host->request_query(req, "sub");
	sqlite3_stmt *st = r->host->stmt(r->self, sql);
	json_t *items = json_array();

	sqlite3_bind_text(st, 1, sub ? sub : "all", -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items,
		    json_pack("{s:I, s:s, s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
		        "type", (const char *)sqlite3_column_text(st, 1), "seen",
		        (json_int_t)sqlite3_column_int64(st, 2)));
	r->host->stmt_done(st);
	r->host->reply(req, 200, json_pack("{s:o}", "items", items));
}

/* A view of its own rows, for scripts and for itself (GET /v1/recorder/view). */
static const struct tremplin_view events_view = {
	.size = sizeof(struct tremplin_view),
	.name = "recorder.events.v1",
	.description = "the events the recorder saw",
	.sql = "SELECT id, type, sub FROM recorder_events ORDER BY sub, id",
	.roles = TREMPLIN_ROLES_STAFF,
};

static void
view(struct tremplin_request *req, void *arg)
{
	struct recorder *r = arg;
	char err[256];
	json_t *rows;

	if (r->host->view(r->self, req, "recorder.events.v1", NULL, &rows, err, sizeof(err)) != 0) {
		r->host->reply_error(req, 400, "bad_request", NULL, "%s", err);
		return;
	}
	r->host->reply(req, 200, json_pack("{s:o}", "items", rows));
}

static int
rec_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -1;
	r->host = host;
	r->self = self;
	r->fail_types = json_array();
	*ctx = r;
	static const char *const query[] = { "sub", NULL };
	const struct tremplin_route_spec events = { .size = sizeof(events),
		.methods = TREMPLIN_GET,
		.path = "/events",
		.roles = TREMPLIN_ROLES_STAFF,
		.query = query,
		.fn = list,
		.arg = r };
	const struct tremplin_route_spec viewr = { .size = sizeof(viewr),
		.methods = TREMPLIN_GET,
		.path = "/view",
		.roles = TREMPLIN_ROLES_STAFF,
		.fn = view,
		.arg = r };
	return host->migrations(self, migrations, 1) || host->route(self, &events) ||
	    host->route(self, &viewr) || host->view_register(self, &events_view) ||
	    host->subscribe(self, "all", "*", on_all, r) ||
	    host->subscribe(self, "picky", "*", on_picky, r);
}

static int
rec_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	struct recorder *r = ctx;
	const char *key;
	json_t *v, *t;
	size_t i;

	json_object_foreach ((json_t *)section, key, v) {
		if (strcmp(key, "fail_types") != 0) {
			snprintf(err, errlen, "%s: unknown setting", key);
			return -1;
		}
		if (!json_is_array(v)) {
			snprintf(err, errlen, "fail_types: expected a list of event types");
			return -1;
		}
		json_array_foreach (v, i, t)
			if (!json_is_string(t)) {
				snprintf(
				    err, errlen, "fail_types[%zu]: expected an event type", i + 1);
				return -1;
			}
	}
	v = json_object_get(section, "fail_types");
	json_decref(r->fail_types);
	r->fail_types = v ? json_deep_copy(v) : json_array();
	return 0;
}

static int
rec_start(void *ctx)
{
	(void)ctx;
	return 0;
}

static void
rec_stop(void *ctx)
{
	struct recorder *r = ctx;

	json_decref(r->fail_types);
	free(r);
}

TREMPLIN_PLUGIN(.name = "recorder", .version = "0.0.1", .description = "test: records events",
    .init = rec_init, .config = rec_config, .start = rec_start, .stop = rec_stop);
