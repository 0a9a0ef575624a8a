/*
 * example: the model plugin. Copy the directory to start one.
 *
 * It shows the two kinds of things a plugin does:
 *   - a record about a person, declared once (checkin: the ETI's morning
 *     check-in of an employee): the host derives its routes, validation,
 *     policy, audit, journal, export, erasure and retention from the
 *     declaration, so the plugin never handles a person's data by hand;
 *   - its own machinery: a count of the events of each type (a migration,
 *     a subscription, a hand-written route, a periodic timer).
 *
 * The layout (README.md says more):
 *   example.c       the descriptor, the life cycle, the declarations, the hooks
 *   rules.c/.h      the rules, as pure functions (tests/test_rules.c)
 *   migrations.c/.h the schema, append only
 *   example.conf    its configuration section, commented
 *   tests/          unit tests of the rules, integration tests against tremplind
 *
 * Configuration (tremplin.conf; example.conf is the commented copy):
 *   plugins = { example = { summary_interval = 3600 } }   -- seconds, 1..86400
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tremplin/plugin.h>

#include "migrations.h"
#include "rules.h"

struct example {
	const struct tremplin_host *host;
	struct tremplin_plugin *self;
	long long interval;
};

/* ---- a person's record, declared ---- */

static const char *const incidents[] = { "none", "near_miss", "injury", NULL };
/* An injury's medical details are health data: the referent CIP's alone. */
static const char *const injury[] = { "injury", NULL };

static const struct tremplin_column checkin_columns[] = {
	{ .name = "id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "employee_id", .type = TREMPLIN_COL_INT, .flags = TREMPLIN_COL_SERVER },
	{ .name = "day",
	    .type = TREMPLIN_COL_DATE,
	    .flags = TREMPLIN_COL_REQUIRED | TREMPLIN_COL_FIXED,
	    .category = "attendance" },
	{ .name = "present",
	    .type = TREMPLIN_COL_BOOL,
	    .flags = TREMPLIN_COL_REQUIRED,
	    .category = "attendance" },
	{ .name = "hours",
	    .type = TREMPLIN_COL_REAL,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "attendance",
	    .min = 0,
	    .max = 10 },
	{ .name = "incident",
	    .type = TREMPLIN_COL_ENUM,
	    .category = "safety",
	    .values = incidents,
	    .def = "\"none\"" },
	{ .name = "medical_detail",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "safety",
	    .max = 500 },
	{ .name = "note",
	    .type = TREMPLIN_COL_TEXT,
	    .flags = TREMPLIN_COL_NULLABLE,
	    .category = "production",
	    .max = 500 },
	{ .name = "created_by",
	    .type = TREMPLIN_COL_STAFF,
	    .flags = TREMPLIN_COL_AUTHOR | TREMPLIN_COL_NULLABLE,
	    .category = "attendance" },
	{ .name = "created_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_CREATED },
	{ .name = "updated_at", .type = TREMPLIN_COL_TEXT, .flags = TREMPLIN_COL_STAMP },
};

static const struct tremplin_filter checkin_filters[] = {
	{ .name = "from", .column = "day", .op = TREMPLIN_FILTER_FROM },
	{ .name = "to", .column = "day", .op = TREMPLIN_FILTER_TO },
	{ .name = "present", .column = "present", .op = TREMPLIN_FILTER_EQ },
};

/*
 * Cross-field rules, on the object as it will be stored (after the merge
 * patch): rules.c decides, this hook only reads the values and names the
 * field it refuses.
 */
static int
checkin_check(struct tremplin_request *req, json_t *obj, const json_t *before,
    struct tremplin_error *e, void *arg)
{
	struct example *x = arg;
	json_t *hours = json_object_get(obj, "hours");
	json_t *detail = json_object_get(obj, "medical_detail");
	enum checkin_verdict v;

	(void)req, (void)before;
	v = checkin_rules(json_is_true(json_object_get(obj, "present")),
	    json_is_number(hours) ? json_number_value(hours) : 0,
	    json_string_value(json_object_get(obj, "incident")),
	    detail != NULL && !json_is_null(detail));
	if (v != CHECKIN_OK)
		return x->host->error(e, 422, checkin_field(v), "%s", checkin_reason(v));
	return 0;
}

static const struct tremplin_record checkin = {
	.size = sizeof(struct tremplin_record),
	.name = "checkin",
	.plural = "checkins",
	.table = "example_checkins",
	.columns = checkin_columns,
	.ncolumns = sizeof(checkin_columns) / sizeof(checkin_columns[0]),
	.owner = TREMPLIN_OWNER_PERSON,
	.ops = TREMPLIN_OPS_DEFAULT | TREMPLIN_OP_DELETE,
	.filters = checkin_filters,
	.nfilters = sizeof(checkin_filters) / sizeof(checkin_filters[0]),
	.sensitive_col = "medical_detail",
	.sensitive_key = "incident",
	.sensitive_values = injury,
	.check = checkin_check,
};

/*
 * A view of its own data for site scripts (a rule on repeated absences): who
 * was absent on a day. It shows attendance, so the admin may not read it.
 */
static const struct tremplin_view_param absent_params[] = {
	{ .name = "day", .type = TREMPLIN_VIEW_DATE, .required = 1 },
};
static const char *const absent_categories[] = { "attendance", NULL };
static const struct tremplin_view absent_view = {
	.size = sizeof(struct tremplin_view),
	.name = "example.absences.v1",
	.description = "who was recorded absent on a day: employee_id, day",
	.sql = "SELECT employee_id, day FROM example_checkins WHERE day = :day AND present = 0"
	       " ORDER BY employee_id",
	.params = absent_params,
	.nparams = 1,
	.roles = TREMPLIN_ROLE_ETI | TREMPLIN_ROLE_CIP | TREMPLIN_ROLE_COORDINATOR,
	.categories = absent_categories,
};

/* ---- its own machinery: counting events ---- */

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

/* GET /v1/example/counts: {"items": [{"type", "count", "last_id"}]}; no personal data. */
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
	const struct tremplin_route_spec counts = {
		.size = sizeof(counts),
		.methods = TREMPLIN_GET,
		.path = "/counts",
		.roles = TREMPLIN_ROLE_COORDINATOR | TREMPLIN_ROLE_ADMIN,
		.fn = get_counts,
		.arg = x,
	};
	if (host->migrations(self, example_migrations, example_nmigrations) != 0 ||
	    host->record(self, &checkin, x) != 0 || host->view_register(self, &absent_view) != 0 ||
	    host->route(self, &counts) != 0 ||
	    host->subscribe(self, "counter", "*", on_event, x) != 0) {
		free(x);
		*ctx = NULL;
		return -1;
	}
	return 0;
}

/* Check everything first; take the new values only when all are good. */
static int
example_config(void *ctx, json_t *section, char *err, size_t errlen)
{
	struct example *x = ctx;
	const char *key;
	json_t *v;
	long long interval = 3600;

	json_object_foreach (section, key, v) {
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
    .description = "morning check-ins of employees, and a count of events by type",
    .init = example_init, .config = example_config, .start = example_start, .stop = example_stop);
