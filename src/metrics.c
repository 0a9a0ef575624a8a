/*
 * GET /v1/metrics: the Prometheus text exposition format (version 0.0.4).
 * Request counters live here, in a fixed table keyed by (route template,
 * method, status); the rest is read when asked (file sizes, the outbox, the
 * subscribers' backlog, plugin and script states), so a scrape costs a few
 * small queries and nothing is kept that could go stale.
 */
#include "metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "api.h"
#include "audit.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "luahost.h"
#include "plugins.h"
#include "server.h"
#include "util.h"

/* Routes x methods x statuses seen: a few hundred; beyond, counted as "other". */
#define MSLOTS 2048
#define MROUTE_MAX 128

struct mslot {
	char route[MROUTE_MAX];
	char method[12];
	int status;
	uint64_t n;
};

static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
	5, 10 };
/* A string literal, without its NUL. */
#define ADDS(out, lit) evbuffer_add((out), (lit), sizeof(lit) - 1)

#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static struct {
	struct mslot slots[MSLOTS];
	size_t used;
	uint64_t le[NBUCKETS]; /* non-cumulative here; summed when printed */
	uint64_t count;
	double sum;
	int retention_held;
} m;

static uint32_t
fnv(const char *s, uint32_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void
metrics_request(const char *route, const char *method, int status, double seconds)
{
	const char *r = route ? route : "none";
	uint32_t h = fnv(method, fnv(r, 2166136261u)) ^ (uint32_t)status * 2654435761u;
	size_t i = h % MSLOTS;

	/* Keep a quarter free so that probing stays short; the rest goes to "other". */
	for (size_t tries = 0; tries < MSLOTS; tries++, i = (i + 1) % MSLOTS) {
		struct mslot *s = &m.slots[i];

		if (s->n == 0) {
			if (m.used >= MSLOTS * 3 / 4 && strcmp(r, "other") != 0) {
				metrics_request("other", method, status, seconds);
				return;
			}
			tr_strlcpy(s->route, r, sizeof(s->route));
			tr_strlcpy(s->method, method, sizeof(s->method));
			s->status = status;
			m.used++;
		} else if (s->status != status || strcmp(s->route, r) != 0 ||
		    strcmp(s->method, method) != 0)
			continue;
		s->n++;
		break;
	}
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= buckets[b]) {
			m.le[b]++;
			break;
		}
	m.count++;
	m.sum += seconds;
}

void
metrics_set_retention_held(int held)
{
	m.retention_held = held;
}

/* A label value: backslash, double quote and newline escaped. */
static void
put_label(struct evbuffer *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(out, "\\%c", *v);
		else if (*v == '\n')
			ADDS(out, "\\n");
		else
			evbuffer_add(out, v, 1);
	}
}

static void
family(struct evbuffer *out, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
file_size(struct evbuffer *out, const char *file, const char *path, const char *suffix)
{
	char p[4096];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s%s", path, suffix) >= (int)sizeof(p))
		return;
	evbuffer_add_printf(out, "tremplin_database_size_bytes{file=\"%s\"} %lld\n", file,
	    stat(p, &st) == 0 ? (long long)st.st_size : 0LL);
}

static void
backlog_line(const char *name, int64_t pending, void *arg)
{
	struct evbuffer *out = arg;

	if (pending < 0)
		return;
	ADDS(out, "tremplin_events_pending{subscriber=\"");
	put_label(out, name);
	evbuffer_add_printf(out, "\"} %lld\n", (long long)pending);
}

static void
requests(struct evbuffer *out)
{
	uint64_t cum = 0;

	family(out, "tremplin_http_requests_total", "counter",
	    "API requests answered, by route template, method and status.");
	for (size_t i = 0; i < MSLOTS; i++) {
		const struct mslot *s = &m.slots[i];

		if (s->n == 0)
			continue;
		ADDS(out, "tremplin_http_requests_total{route=\"");
		put_label(out, s->route);
		ADDS(out, "\",method=\"");
		put_label(out, s->method);
		evbuffer_add_printf(
		    out, "\",status=\"%d\"} %llu\n", s->status, (unsigned long long)s->n);
	}
	family(out, "tremplin_http_request_duration_seconds", "histogram",
	    "Time from a request's dispatch to its answer.");
	for (size_t b = 0; b < NBUCKETS; b++) {
		cum += m.le[b];
		evbuffer_add_printf(out,
		    "tremplin_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
		    (unsigned long long)cum);
	}
	evbuffer_add_printf(out,
	    "tremplin_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "tremplin_http_request_duration_seconds_sum %.6f\n"
	    "tremplin_http_request_duration_seconds_count %llu\n",
	    (unsigned long long)m.count, m.sum, (unsigned long long)m.count);
}

static void
outbox(struct evbuffer *out, struct db *db)
{
	static const char sql[] =
	    "SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status";
	/* Shown at 0 when empty, so that an alert on them has a series to watch. */
	static const char *const known[] = { "pending", "claimed", "sent", "failed" };
	int seen[4] = { 0 };
	sqlite3_stmt *st;

	family(out, "tremplin_outbox_messages", "gauge",
	    "Notifications in the outbox, by state (pending: waiting to be sent).");
	if ((st = db_stmt(db, sql)) == NULL)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);

		for (size_t k = 0; k < 4; k++)
			if (state && strcmp(state, known[k]) == 0)
				seen[k] = 1;
		ADDS(out, "tremplin_outbox_messages{state=\"");
		put_label(out, state ? state : "");
		evbuffer_add_printf(out, "\"} %lld\n", (long long)sqlite3_column_int64(st, 1));
	}
	db_done(st);
	for (size_t k = 0; k < 4; k++)
		if (!seen[k])
			evbuffer_add_printf(
			    out, "tremplin_outbox_messages{state=\"%s\"} 0\n", known[k]);
}

/* The C plugins and the scripts: one series per state (1 for the current one), and failures. */
static void
plugins(struct evbuffer *out, struct server *srv)
{
	static const char *const states[] = { "loading", "enabled", "disabled_failed",
		"disabled_config" };
	json_t *items = plugins_json(srv->plugins), *scripts = luahost_json(srv->lua), *p;
	size_t i;

	family(out, "tremplin_plugin_state", "gauge",
	    "1 for the state each C plugin and Lua script is in, 0 for the others.");
	json_array_extend(items, scripts);
	json_array_foreach (items, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *kind = json_string_value(json_object_get(p, "kind"));
		const char *state = json_string_value(json_object_get(p, "state"));

		for (size_t k = 0; name && k < TR_NELEM(states); k++) {
			ADDS(out, "tremplin_plugin_state{plugin=\"");
			put_label(out, name);
			evbuffer_add_printf(out, "\",kind=\"%s\",state=\"%s\"} %d\n",
			    kind && strcmp(kind, "lua") == 0 ? "lua" : "c", states[k],
			    state && strcmp(state, states[k]) == 0);
		}
	}
	family(out, "tremplin_plugin_failures_total", "counter",
	    "Failed callbacks of each C plugin since the daemon started.");
	json_array_foreach (items, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *kind = json_string_value(json_object_get(p, "kind"));

		if (name == NULL || (kind && strcmp(kind, "lua") == 0))
			continue;
		ADDS(out, "tremplin_plugin_failures_total{plugin=\"");
		put_label(out, name);
		evbuffer_add_printf(out, "\"} %lld\n",
		    (long long)json_integer_value(json_object_get(p, "failures")));
	}
	family(out, "tremplin_script_failures_total", "counter",
	    "Failed calls of each Lua site script (a script that fails too often is disabled).");
	json_array_foreach (scripts, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		json_t *f = json_object_get(json_object_get(p, "script"), "failures");

		if (name == NULL)
			continue;
		if (f == NULL)
			f = json_object_get(p, "failures");
		ADDS(out, "tremplin_script_failures_total{script=\"");
		put_label(out, name);
		evbuffer_add_printf(out, "\"} %lld\n", (long long)json_integer_value(f));
	}
	json_decref(items);
	json_decref(scripts);
}

void
metrics_serve(struct tremplin_request *r)
{
	struct server *srv = r->srv;
	struct evbuffer *out = evhttp_request_get_output_buffer(r->req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	family(out, "tremplin_build_info", "gauge", "The daemon's version, as a label.");
	evbuffer_add_printf(out, "tremplin_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	family(out, "tremplin_uptime_seconds", "gauge", "Seconds since the daemon started.");
	evbuffer_add_printf(
	    out, "tremplin_uptime_seconds %lld\n", (long long)(time(NULL) - srv->started));
	requests(out);
	family(out, "tremplin_database_size_bytes", "gauge",
	    "Sizes of the database, its write-ahead log and the audit log.");
	file_size(out, "database", db_path(srv->db), "");
	file_size(out, "database_wal", db_path(srv->db), "-wal");
	file_size(out, "audit", srv->conf->audit_database, "");
	file_size(out, "audit_wal", srv->conf->audit_database, "-wal");
	family(out, "tremplin_events_pending", "gauge",
	    "Events journaled and not yet handed to each subscriber.");
	events_backlog(srv->events, backlog_line, out);
	outbox(out, srv->db);
	plugins(out, srv);
	family(out, "tremplin_retention_held", "gauge",
	    "1 while a purge larger than retention_hold_percent waits for an admin's "
	    "confirmation.");
	evbuffer_add_printf(out, "tremplin_retention_held %d\n", m.retention_held);

	evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	r->status = 200;
	evhttp_send_reply(r->req, 200, NULL, NULL);
	r->replied = 1;
}
