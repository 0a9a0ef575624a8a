/*
 * example: the model plugin. It keeps a count of the events of each type
 * (one subscription, one migration), serves the counts (one route) and logs
 * a summary on a period (one timer). Copy it to start a plugin.
 *
 * Configuration (tremplin.conf):
 *   plugins = { example = { summary_interval = 3600 } }   -- seconds, 1..86400
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tremplin/plugin.h>

struct example {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	long long interval;
};

static const struct tremplin_migration migrations[] = {
	{ 1,
	    "CREATE TABLE example_counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL,"
	    " last_id INTEGER NOT NULL)" },
};

/* At least once: the same event may come twice after a crash, so it counts once. */
static int
on_event(const struct tremplin_event *e, void *arg)
{
	static const char sql[] = "INSERT INTO example_counts (type, n, last_id) VALUES (?1, 1, ?2)"
	                          " ON CONFLICT (type) DO UPDATE SET n = n + 1, last_id = ?2"
	                          " WHERE last_id < ?2";
	struct example *x = arg;
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	int rc;

	if (st == NULL)
		return TREMPLIN_EVENT_FAILED;
	sqlite3_bind_text(st, 1, e->type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, e->id);
	rc = sqlite3_step(st);
	x->host->stmt_done(st);
	return rc == SQLITE_DONE ? TREMPLIN_EVENT_DONE : TREMPLIN_EVENT_FAILED;
}

/* GET /v1/example/counts: {"items": [{"type", "count", "last_id"}]} */
static void
get_counts(struct tremplin_request *req, void *arg)
{
	static const char sql[] = "SELECT type, n, last_id FROM example_counts ORDER BY type";
	struct example *x = arg;
	sqlite3_stmt *st = x->host->stmt(x->self, sql);
	json_t *items = json_array();

	if (st == NULL) {
		json_decref(items);
		x->host->reply_error(req, 500, "internal", NULL, "cannot read the counts");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items,
		    json_pack("{s:s, s:I, s:I}", "type", (const char *)sqlite3_column_text(st, 0),
		        "count", (json_int_t)sqlite3_column_int64(st, 1), "last_id",
		        (json_int_t)sqlite3_column_int64(st, 2)));
	x->host->stmt_done(st);
	x->host->reply(req, 200, json_pack("{s:o}", "items", items));
}

static void
summary(int64_t now_ms, void *arg)
{
	static const char sql[] = "SELECT coalesce(sum(n), 0), count(*) FROM example_counts";
	struct example *x = arg;
	sqlite3_stmt *st = x->host->stmt(x->self, sql);

	(void)now_ms;
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		x->host->log(x->self, TREMPLIN_LOG_INFO, "summary: %lld events of %lld types",
		    (long long)sqlite3_column_int64(st, 0), (long long)sqlite3_column_int64(st, 1));
	x->host->stmt_done(st);
}

static int
example_init(const struct tremplin_host *host, struct tremplin_plugin *self, void **ctx)
{
	struct example *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	x->host = host;
	x->self = self;
	x->interval = 3600;
	*ctx = x;
	if (host->migrations(self, migrations, 1) != 0 ||
	    host->route(self, TREMPLIN_GET, "/counts",
	        TREMPLIN_ROLE_COORDINATOR | TREMPLIN_ROLE_ADMIN, 0, get_counts, x) != 0 ||
	    host->subscribe(self, "counter", "*", on_event, x) != 0) {
		free(x);
		*ctx = NULL;
		return -1;
	}
	return 0;
}

/* Check everything first; take the new values only when all are good. */
static int
example_config(void *ctx, const json_t *section, char *err, size_t errlen)
{
	struct example *x = ctx;
	const char *key;
	json_t *v;
	long long interval = 3600;

	json_object_foreach ((json_t *)section, key, v) {
		if (strcmp(key, "summary_interval") != 0) {
			snprintf(err, errlen, "%s: unknown setting", key);
			return -1;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 86400) {
			snprintf(err, errlen, "summary_interval: expected seconds from 1 to 86400");
			return -1;
		}
		interval = json_integer_value(v);
	}
	x->interval = interval;
	return 0;
}

static int
example_start(void *ctx)
{
	struct example *x = ctx;

	/* A tenth of the period as jitter: several daemons never summarise in step. */
	return x->host->every(
	    x->self, "summary", x->interval * 1000, x->interval * 100, summary, x);
}

static void
example_stop(void *ctx)
{
	free(ctx);
}

TREMPLIN_PLUGIN(.name = "example", .version = "1.0.0",
    .description = "counts events by type; the model for other plugins", .init = example_init,
    .config = example_config, .start = example_start, .stop = example_stop);
