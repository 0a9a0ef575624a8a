/*
 * misbehave: a test plugin that does what the SDK must stop or must serve,
 * so that tests/integration/test_plugin_sdk.py proves the host's enforcement
 * and its calls against a real daemon.
 *
 * One source, several builds: MB_NAME names the plugin; MB_DECL picks a
 * defect of its declarations the loader must refuse (0: none):
 *   1 a person's record with a column of an unknown category
 *   2 a person's record with an input column naming no category
 *   3 a record whose table is not named <plugin>_...
 *   4 a record whose parent does not exist
 *   5 a migration that creates a table not named <plugin>_...
 * Without a defect it has the routes below (POST bodies are JSON objects).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tremplin/plugin.h>

#ifndef MB_NAME
#define MB_NAME "misbehave"
#endif
#ifndef MB_DECL
#define MB_DECL 0
#endif

struct mb {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	int64_t leaked_event; /* the event whose first delivery left its transaction open */
};

static const struct tremplin_migration migrations[] = {
	{ 1,
	    "CREATE TABLE " MB_NAME "_items (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " label TEXT NOT NULL);"
	    "CREATE TABLE " MB_NAME "_log (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " what TEXT NOT NULL, result TEXT NOT NULL);"
	    "CREATE TABLE " MB_NAME "_notes (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " employee_id INTEGER NOT NULL, mood TEXT, remark TEXT, created_at TEXT);"
	    "CREATE TABLE " MB_NAME "_things (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " label TEXT NOT NULL, created_at TEXT NOT NULL);"
#if MB_DECL == 5
	    "CREATE TABLE sneaky_copy (x TEXT);"
#endif
	},
};

/* ---- declarations (the defective builds) ---- */

#if MB_DECL >= 1 && MB_DECL <= 4
static const struct tremplin_column note_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
#if MB_DECL == 1
	{ .name = "mood", .type = TREMPLIN_COL_TEXT, .category = "astrology" },
#elif MB_DECL == 2
	{ .name = "mood", .type = TREMPLIN_COL_TEXT },
#else
	{ .name = "mood", .type = TREMPLIN_COL_TEXT, .category = "attendance" },
#endif
	{ .name = "remark", .type = TREMPLIN_COL_TEXT, .category = "production" },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
};

static const struct tremplin_record note = {
	.size = sizeof(struct tremplin_record),
	.name = "note",
	.plural = "notes",
#if MB_DECL == 3
	.table = "notes",
#else
	.table = MB_NAME "_notes",
#endif
	.columns = note_columns,
	.ncolumns = sizeof(note_columns) / sizeof(note_columns[0]),
#if MB_DECL == 4
	.owner = TREMPLIN_OWNER_RECORD,
	.parent = "nosuchparent",
	.parent_col = "employee_id",
#else
	.owner = TREMPLIN_OWNER_PERSON,
#endif
};
#endif

/*
 * thing: a record whose hooks, by its label, try to take the host's
 * transaction: "check-begin" begins one in the check hook, "after-commit" and
 * "after-rollback" end the host's in after_write, "expand-begin" begins one
 * when it is shown.
 */
static const struct tremplin_column thing_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "label", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_REQUIRED },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
};

static const struct tremplin_computed thing_computed[] = {
	{ .name = "shown", .category = "none" },
};

static int thing_check(
    struct tremplin_request *, json_t *, const json_t *, struct tremplin_error *, void *);
static int thing_after(struct tremplin_request *, json_t *, int64_t, void *);
static int thing_expand(
    struct tremplin_request *, const struct tremplin_access *, json_t *, void *);

__attribute__((unused)) static const struct tremplin_record thing = {
	.size = sizeof(struct tremplin_record),
	.name = "thing",
	.plural = "things",
	.table = MB_NAME "_things",
	.columns = thing_columns,
	.ncolumns = sizeof(thing_columns) / sizeof(thing_columns[0]),
	.owner = TREMPLIN_OWNER_NONE,
	.computed = thing_computed,
	.ncomputed = 1,
	.check = thing_check,
	.after_write = thing_after,
	.expand = thing_expand,
};

/* ---- helpers ---- */

static int
exec1(struct mb *m, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = m->host->stmt(m->self, sql);
	int rc;

	if (st == NULL)
		return -1;
	if (a != NULL)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	m->host->stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
add_item(struct mb *m, const char *label)
{
	return exec1(m, "INSERT INTO " MB_NAME "_items (label) VALUES (?1)", label, NULL);
}

/* A result for the tests to read, in a transaction of its own. */
static void
log_result(struct mb *m, const char *what, json_t *result)
{
	char *text = json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	json_decref(result);
	if (text == NULL)
		return;
	if (m->host->begin(m->self) == 0) {
		if (exec1(m, "INSERT INTO " MB_NAME "_log (what, result) VALUES (?1, ?2)", what,
		        text) == 0)
			m->host->commit(m->self);
		else
			m->host->rollback(m->self);
	}
	free(text);
}

static const char *
body_str(struct tremplin_request *req, struct mb *m, const char *key)
{
	return json_string_value(json_object_get(m->host->request_body(req), key));
}

static int
labelled(const json_t *obj, const char *label)
{
	const char *l = json_string_value(json_object_get(obj, "label"));

	return l != NULL && strcmp(l, label) == 0;
}

static int
thing_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct mb *m = arg;

	(void)req, (void)before, (void)e;
	if (labelled(obj, "check-begin"))
		m->host->begin(m->self);
	return 0;
}

static int
thing_after(struct tremplin_request *req, json_t *obj, int64_t id, void *arg)
{
	struct mb *m = arg;

	(void)req, (void)id;
	if (labelled(obj, "after-commit"))
		m->host->commit(m->self);
	if (labelled(obj, "after-rollback"))
		m->host->rollback(m->self);
	return 0;
}

static int
thing_expand(struct tremplin_request *req, const struct tremplin_access *a, json_t *view, void *arg)
{
	struct mb *m = arg;

	(void)req, (void)a;
	if (labelled(view, "expand-begin"))
		m->host->begin(m->self);
	json_object_set_new(view, "shown", json_true());
	return 0;
}

/* ---- the SQL authorizer ---- */

/* POST /sql {"sql"}: prepare it through host->stmt and run it to its end. */
static void
run_sql(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	const char *sql = body_str(req, m, "sql");
	sqlite3_stmt *st = sql ? m->host->stmt(m->self, sql) : NULL;
	json_t *rows = json_array();
	int rc;

	if (st == NULL) {
		json_decref(rows);
		m->host->reply(req, 200, json_pack("{s:b}", "prepared", 0));
		return;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(rows,
		    sqlite3_column_type(st, 0) == SQLITE_NULL
		        ? json_null()
		        : json_string((const char *)sqlite3_column_text(st, 0)));
	m->host->stmt_done(st);
	m->host->reply(req, 200,
	    json_pack("{s:b, s:b, s:o}", "prepared", 1, "done", rc == SQLITE_DONE, "rows", rows));
}

/* ---- transactions ---- */

/* POST /leak: writes in a transaction and returns with it open. */
static void
leak_route(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;

	if (m->host->begin(m->self) != 0 || add_item(m, "leaked-route") != 0) {
		m->host->reply_error(req, 500, "internal", NULL, "cannot write");
		return;
	}
	m->host->reply_header(req, "Location", "/v1/" MB_NAME "/items/999999");
	m->host->reply(req, 201, json_pack("{s:s}", "label", "leaked-route"));
}

static void
leak_timer(int64_t now, void *arg)
{
	struct mb *m = arg;

	(void)now;
	if (m->host->begin(m->self) == 0)
		add_item(m, "leaked-timer");
}

/* POST /leak-timer: a timer that leaves its transaction open. */
static void
leak_timer_route(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;

	if (m->host->after(m->self, 0, leak_timer, m) <= 0) {
		m->host->reply_error(req, 500, "internal", NULL, "no timer");
		return;
	}
	m->host->reply(req, 202, NULL);
}

/* Its first delivery of an event leaves the transaction open; the retry writes and commits. */
static int
on_leak(const struct tremplin_event *e, void *arg)
{
	struct mb *m = arg;

	if (m->host->begin(m->self) != 0)
		return TREMPLIN_EVENT_FAILED;
	if (m->leaked_event != e->id) {
		m->leaked_event = e->id;
		add_item(m, "leaked-event");
		return TREMPLIN_EVENT_DONE;
	}
	if (add_item(m, "event-retried") != 0 || m->host->commit(m->self) != 0) {
		m->host->rollback(m->self);
		return TREMPLIN_EVENT_FAILED;
	}
	return TREMPLIN_EVENT_DONE;
}

/* POST /leak-event: publishes misbehave.leak, which on_leak handles. */
static void
leak_event_route(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	int rc = -1;

	if (m->host->begin(m->self) == 0) {
		rc = m->host->publish(m->self, req, MB_NAME ".leak", MB_NAME "/1", json_object());
		if (rc == 0)
			rc = m->host->commit(m->self);
		else
			m->host->rollback(m->self);
	}
	m->host->reply(req, rc == 0 ? 202 : 500, NULL);
}

struct txn_job {
	struct mb *m;
	const char *label;
	int fail;
};

static int
txn_fn(void *arg)
{
	struct txn_job *j = arg;

	if (add_item(j->m, j->label) != 0)
		return -1;
	return j->fail ? -1 : 0;
}

/* POST /txn {"label", "fail"}: host->transaction around one insert. */
static void
txn_route(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	json_t *body = m->host->request_body(req);
	struct txn_job j = { m, body_str(req, m, "label"),
		json_is_true(json_object_get(body, "fail")) };
	int rc;

	if (j.label == NULL) {
		m->host->reply_error(req, 422, "validation_failed", "label", "label is required");
		return;
	}
	rc = m->host->transaction(m->self, txn_fn, &j);
	m->host->reply(req, 200, json_pack("{s:i}", "rc", rc));
}

/* POST /publish-outside: publish with no transaction open (refused). */
static void
publish_outside(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	int rc = m->host->publish(m->self, req, MB_NAME ".outside", MB_NAME "/1", json_object());

	m->host->reply(req, 200, json_pack("{s:i}", "rc", rc));
}

/* ---- statements by their text ---- */

/*
 * GET /cache: one buffer, refilled with other SQL; then more texts than the
 * host keeps statements for (SQL built with its values), each of which must
 * answer its own value.
 */
static void
cache_route(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	char sql[64];
	json_t *got = json_array();
	int right = 0;

	for (int i = 1; i <= 2; i++) {
		snprintf(sql, sizeof(sql), "SELECT 'statement %d'", i);
		sqlite3_stmt *st = m->host->stmt(m->self, sql);
		if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(
			    got, json_string((const char *)sqlite3_column_text(st, 0)));
		m->host->stmt_done(st);
	}
	for (int i = 0; i < 600; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d + 0", i);
		sqlite3_stmt *st = m->host->stmt(m->self, sql);
		if (st != NULL && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == i)
			right++;
		m->host->stmt_done(st);
	}
	m->host->reply(req, 200, json_pack("{s:o, s:i}", "got", got, "right", right));
}

/* ---- what an HTTP API needs ---- */

/* POST /items {"label"}: 201 with its Location. */
static void
create_item(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	const char *label = body_str(req, m, "label");
	char loc[64];
	int64_t id;

	if (label == NULL) {
		m->host->reply_error(req, 422, "validation_failed", "label", "label is required");
		return;
	}
	if (m->host->begin(m->self) != 0)
		goto fail;
	if (add_item(m, label) != 0) {
		m->host->rollback(m->self);
		goto fail;
	}
	sqlite3_stmt *st = m->host->stmt(m->self, "SELECT max(id) FROM " MB_NAME "_items");
	id = st != NULL && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	m->host->stmt_done(st);
	if (m->host->commit(m->self) != 0)
		goto fail;
	snprintf(loc, sizeof(loc), "/v1/" MB_NAME "/items/%lld", (long long)id);
	if (m->host->reply_header(req, "Location", loc) != 0)
		goto fail;
	m->host->reply(req, 201, json_pack("{s:I, s:s}", "id", (json_int_t)id, "label", label));
	return;
fail:
	m->host->reply_error(req, 500, "internal", NULL, "cannot write");
}

/* GET /items?limit&cursor: the page helpers. */
static void
list_items(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	int limit;
	int64_t after, last = 0;
	json_t *items = json_array();

	if (m->host->page(req, &limit, &after) != 0) {
		json_decref(items);
		return;
	}
	sqlite3_stmt *st = m->host->stmt(
	    m->self, "SELECT id, label FROM " MB_NAME "_items WHERE id > ?1 ORDER BY id LIMIT ?2");
	if (st == NULL) {
		json_decref(items);
		m->host->reply_error(req, 500, "internal", NULL, "cannot read");
		return;
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit + 1);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if ((int)json_array_size(items) == limit) {
			last = json_integer_value(
			    json_object_get(json_array_get(items, limit - 1), "id"));
			break;
		}
		json_array_append_new(items,
		    json_pack("{s:I, s:s}", "id", (json_int_t)sqlite3_column_int64(st, 0), "label",
		        (const char *)sqlite3_column_text(st, 1)));
	}
	m->host->stmt_done(st);
	m->host->reply(req, 200, m->host->list(items, last));
}

/* GET /codes/{code}?lang: a string path parameter and a declared query parameter. */
static void
get_code(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	const char *lang = m->host->request_query(req, "lang");

	m->host->reply(req, 200,
	    json_pack("{s:s?, s:s?}", "code", m->host->request_param(req, "code"), "lang", lang));
}

/* GET /personal: marked personal, so never served to the admin. */
static void
personal(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;

	m->host->reply(req, 200, json_pack("{s:b}", "personal", 1));
}

static void
timer_ran(int64_t now, void *arg)
{
	(void)now;
	log_result(arg, "timer", json_string("ran"));
}

static void
timer_cancelled(int64_t now, void *arg)
{
	(void)now;
	log_result(arg, "timer", json_string("cancelled but ran"));
}

/* POST /cancel: a timer due now, cancelled, then one due later that runs. */
static void
cancel_route(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	int64_t id = m->host->after(m->self, 0, timer_cancelled, m);
	int first = m->host->cancel(m->self, id);
	int again = m->host->cancel(m->self, id);

	m->host->after(m->self, 50, timer_ran, m);
	m->host->reply(req, 200,
	    json_pack("{s:I, s:i, s:i}", "id", (json_int_t)id, "cancel", first, "again", again));
}

/* GET /log: what timers recorded, in order. */
static void
get_log(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	sqlite3_stmt *st =
	    m->host->stmt(m->self, "SELECT what, result FROM " MB_NAME "_log ORDER BY id");
	json_t *items = json_array();

	while (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items,
		    json_pack("{s:s, s:o}", "what", (const char *)sqlite3_column_text(st, 0),
		        "result",
		        json_loads(
		            (const char *)sqlite3_column_text(st, 1), JSON_DECODE_ANY, NULL)));
	m->host->stmt_done(st);
	m->host->reply(req, 200, json_pack("{s:o}", "items", items));
}

/* ---- kernel records, from a timer (req NULL) ---- */

struct kernel_job {
	struct mb *m;
	json_t *body; /* {"op", "record", "id", "parent", "obj"} */
};

static void
kernel_timer(int64_t now, void *arg)
{
	struct kernel_job *j = arg;
	struct mb *m = j->m;
	const char *op = json_string_value(json_object_get(j->body, "op"));
	const char *name = json_string_value(json_object_get(j->body, "record"));
	int64_t id = json_integer_value(json_object_get(j->body, "id"));
	json_t *obj = json_object_get(j->body, "obj");
	struct tremplin_error e;
	json_t *out, *view = NULL;
	int64_t rc;

	(void)now;
	memset(&e, 0, sizeof(e));
	if (strcmp(op, "update") == 0)
		rc = m->host->record_update(m->self, NULL, name, id, obj, &e);
	else if (strcmp(op, "create") == 0)
		rc = m->host->record_create(m->self, NULL, name, id, obj, &e);
	else {
		view = m->host->record_get(m->self, NULL, name, id, &e);
		rc = view != NULL ? 0 : -1;
	}
	out = json_pack("{s:I}", "rc", (json_int_t)rc);
	if (rc < 0)
		json_object_set_new(out, "error",
		    json_pack("{s:i, s:s?, s:s, s:s}", "status", e.status, "code", e.code, "field",
		        e.field, "message", e.message));
	if (view != NULL)
		json_object_set_new(out, "view", view);
	log_result(m, "kernel", out);
	json_decref(j->body);
	free(j);
}

/* POST /kernel {"op", "record", "id", "obj"}: done by a timer, on the plugin's own. */
static void
kernel_route(struct tremplin_request *req, void *arg)
{
	struct mb *m = arg;
	struct kernel_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		m->host->reply_error(req, 500, "internal", NULL, "no memory");
		return;
	}
	j->m = m;
	j->body = json_deep_copy(m->host->request_body(req));
	if (m->host->after(m->self, 0, kernel_timer, j) <= 0) {
		json_decref(j->body);
		free(j);
		m->host->reply_error(req, 500, "internal", NULL, "no timer");
		return;
	}
	m->host->reply(req, 202, NULL);
}

/* ---- the descriptor ---- */

static int
mb_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	struct mb *m = calloc(1, sizeof(*m));
	static const char *const page_query[] = { "limit", "cursor", NULL };
	static const char *const code_query[] = { "lang", NULL };
	const unsigned staff = TREMPLIN_ROLES_STAFF, body = TREMPLIN_ROUTE_BODY;
	const struct tremplin_route_spec routes[] = {
		{ sizeof(routes[0]), TREMPLIN_POST, "/sql", staff, body, NULL, run_sql, m },
		{ sizeof(routes[0]), TREMPLIN_POST, "/leak", staff, body, NULL, leak_route, m },
		{ sizeof(routes[0]), TREMPLIN_POST, "/leak-timer", staff, body, NULL,
		    leak_timer_route, m },
		{ sizeof(routes[0]), TREMPLIN_POST, "/leak-event", staff, body, NULL,
		    leak_event_route, m },
		{ sizeof(routes[0]), TREMPLIN_POST, "/txn", staff, body, NULL, txn_route, m },
		{ sizeof(routes[0]), TREMPLIN_POST, "/publish-outside", staff, body, NULL,
		    publish_outside, m },
		{ sizeof(routes[0]), TREMPLIN_GET, "/cache", staff, 0, NULL, cache_route, m },
		{ sizeof(routes[0]), TREMPLIN_POST, "/items", staff, body, NULL, create_item, m },
		{ sizeof(routes[0]), TREMPLIN_GET, "/items", staff, 0, page_query, list_items, m },
		{ sizeof(routes[0]), TREMPLIN_GET, "/codes/{code}", staff, 0, code_query, get_code,
		    m },
		{ sizeof(routes[0]), TREMPLIN_GET, "/personal", staff, TREMPLIN_ROUTE_PERSONAL,
		    NULL, personal, m },
		{ sizeof(routes[0]), TREMPLIN_POST, "/cancel", staff, body, NULL, cancel_route, m },
		{ sizeof(routes[0]), TREMPLIN_GET, "/log", staff, 0, NULL, get_log, m },
		{ sizeof(routes[0]), TREMPLIN_POST, "/kernel", staff, body, NULL, kernel_route, m },
	};

	if (m == NULL)
		return -1;
	m->host = host;
	m->self = self;
	*ctx = m;
	if (host->migrations(self, migrations, 1) != 0)
		return -1;
#if MB_DECL == 0
	/*
	 * migration_formerly: refused for a version it did not give, its own
	 * name, an old version below 1, twice for one version. The one it keeps
	 * names a module no database holds: the step runs as any other.
	 */
	if (host->migration_formerly(self, 2, "ghost", 1) != -1 ||
	    host->migration_formerly(self, 1, MB_NAME, 1) != -1 ||
	    host->migration_formerly(self, 1, "ghost", 0) != -1 ||
	    host->migration_formerly(self, 1, NULL, 1) != -1 ||
	    host->migration_formerly(self, 1, "ghost", 1) != 0 ||
	    host->migration_formerly(self, 1, "ghost", 2) != -1)
		return -1;
#endif
#if MB_DECL >= 1 && MB_DECL <= 4
	if (host->record(self, &note, m) != 0)
		return -1;
#else
	if (host->record(self, &thing, m) != 0)
		return -1;
#endif
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (host->route(self, &routes[i]) != 0)
			return -1;
	return host->subscribe(self, "leaker", MB_NAME ".leak", on_leak, m);
}

/* Settings: level (1..5); leak (true: config returns with a transaction open). */
static int
mb_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	struct mb *m = ctx;
	const char *key;
	json_t *v;

	json_object_foreach (section, key, v) {
		if (strcmp(key, "leak") == 0) {
			if (json_is_true(v))
				m->host->begin(m->self);
			continue;
		}
		if (strcmp(key, "level") != 0) {
			snprintf(err, errlen, "%s: unknown setting", key);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5) {
			snprintf(err, errlen, "level: expected an integer from 1 to 5");
			return -1;
		}
	}
	return 0;
}

static int
mb_start(void *ctx)
{
	(void)ctx;
	return 0;
}

static void
mb_stop(void *ctx)
{
	free(ctx);
}

TREMPLIN_PLUGIN(.name = MB_NAME, .version = "0.0.1",
    .description = "test: misbehaves, so the host's enforcement is seen", .init = mb_init,
    .config = mb_config, .start = mb_start, .stop = mb_stop);
