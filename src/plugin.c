/*
 * The C plugin loader and the host table. A plugin reaches the daemon only
 * through the table below; every registration it makes (routes,
 * subscriptions, timers, requests in flight) is owned by its record, so a
 * refused or stopped plugin leaves nothing behind.
 */
#include "plugin.h"

#include <assert.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <tremplin/plugin.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "net.h"
#include "router.h"
#include "scheduler.h"
#include "server.h"
#include "util.h"
#include "validate.h"

/* The SDK's constants are the daemon's own: a mismatch is a build error. */
#define SAME(a, b) ((int)(a) == (int)(b))
static_assert(SAME(TREMPLIN_GET, M_GET) && SAME(TREMPLIN_POST, M_POST) &&
        SAME(TREMPLIN_PATCH, M_PATCH) && SAME(TREMPLIN_PUT, M_PUT) &&
        SAME(TREMPLIN_DELETE, M_DELETE),
    "method bits");
static_assert(SAME(TREMPLIN_ROLE_ETI, ROLEBIT(ROLE_ETI)) &&
        SAME(TREMPLIN_ROLE_CIP, ROLEBIT(ROLE_CIP)) &&
        SAME(TREMPLIN_ROLE_COORDINATOR, ROLEBIT(ROLE_COORDINATOR)) &&
        SAME(TREMPLIN_ROLE_ADMIN, ROLEBIT(ROLE_ADMIN)),
    "role bits");
static_assert(SAME(TREMPLIN_EVENT_DONE, EVENT_DONE) && SAME(TREMPLIN_EVENT_FAILED, EVENT_FAILED) &&
        SAME(TREMPLIN_EVENT_PENDING, EVENT_PENDING),
    "event results");
static_assert(SAME(TREMPLIN_HTTP_TIMEOUT, NET_E_TIMEOUT) && SAME(TREMPLIN_HTTP_TLS, NET_E_TLS) &&
        SAME(TREMPLIN_HTTP_CANCELLED, NET_E_CANCELLED) &&
        SAME(TREMPLIN_HTTP_INTERNAL, NET_E_INTERNAL),
    "http errors");
static_assert(SAME(TREMPLIN_FIELD_STRING, FT_STRING) && SAME(TREMPLIN_FIELD_INTEGER, FT_INTEGER) &&
        SAME(TREMPLIN_FIELD_REQUIRED, FF_REQUIRED) && SAME(TREMPLIN_FIELD_READONLY, FF_READONLY),
    "field tables");

#define PLUGIN_MAX_ROUTES 256
#define PLUGIN_MAX_FIELDS 64

enum plugin_state { PS_LOADING, PS_ENABLED, PS_DISABLED_FAILED, PS_DISABLED_CONFIG };

static const char *const state_names[] = {
	[PS_LOADING] = "loading",
	[PS_ENABLED] = "enabled",
	[PS_DISABLED_FAILED] = "disabled_failed",
	[PS_DISABLED_CONFIG] = "disabled_config",
};

/* A callback and its argument, as a plugin gave them; owned by the plugin's record. */
struct hook {
	TAILQ_ENTRY(hook) entry;
	struct tremplin_plugin *p;
	union {
		tremplin_event_fn event;
		tremplin_timer_fn timer;
		tremplin_http_fn http;
		tremplin_route_fn route;
	} fn;
	void *arg;
	int oneshot; /* freed after it ran once */
};
TAILQ_HEAD(hooklist, hook);

struct tremplin_plugin {
	TAILQ_ENTRY(tremplin_plugin) entry;
	struct plugins *set;
	char name[33];
	char path[PATH_MAX];
	void *dl;
	const struct tremplin_plugin_desc *desc;
	void *ctx;
	enum plugin_state state;
	char last_error[512];
	json_t *section;
	struct migration *migrations;
	struct db_module module;
	struct hooklist hooks;
	int initialised;
};
TAILQ_HEAD(pluginlist, tremplin_plugin);

struct plugins {
	struct server *srv;
	struct pluginlist list;
	struct route routes[PLUGIN_MAX_ROUTES];
	char *patterns[PLUGIN_MAX_ROUTES];
	size_t nroutes;
};

static const struct tremplin_host host;

/* ---- registrations ---- */

static struct hook *
hook_new(struct tremplin_plugin *p, void *arg, int oneshot)
{
	struct hook *h = calloc(1, sizeof(*h));

	if (h == NULL)
		fatal("calloc");
	h->p = p;
	h->arg = arg;
	h->oneshot = oneshot;
	TAILQ_INSERT_TAIL(&p->hooks, h, entry);
	return h;
}

static void
hook_free(struct hook *h)
{
	TAILQ_REMOVE(&h->p->hooks, h, entry);
	free(h);
}

/* Undo everything p registered: routes, subscriptions, timers, requests. */
static void
unregister(struct tremplin_plugin *p)
{
	struct plugins *set = p->set;
	struct hook *h;
	size_t i, j;

	/* Requests first: their callbacks run now, with TREMPLIN_HTTP_CANCELLED. */
	if (set->srv->net)
		net_cancel_owner(set->srv->net, p);
	if (set->srv->sched)
		sched_cancel_owner(set->srv->sched, p);
	if (set->srv->events)
		events_unsubscribe_owner(set->srv->events, p);
	for (i = j = 0; i < set->nroutes; i++) {
		const struct hook *rh = set->routes[i].arg;
		if (rh->p == p) {
			free(set->patterns[i]);
			continue;
		}
		set->routes[j] = set->routes[i];
		set->patterns[j] = set->patterns[i];
		j++;
	}
	set->nroutes = j;
	while ((h = TAILQ_FIRST(&p->hooks)) != NULL)
		hook_free(h);
}

/* ---- the host table ---- */

static void
h_log(struct tremplin_plugin *p, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	switch (level) {
	case TREMPLIN_LOG_WARNING:
		log_warnx("plugin %s: %s", p->name, msg);
		break;
	case TREMPLIN_LOG_INFO:
		log_info("plugin %s: %s", p->name, msg);
		break;
	default:
		log_debug("plugin %s: %s", p->name, msg);
	}
}

static const json_t *
h_config(struct tremplin_plugin *p)
{
	return p->section;
}

static int
h_migrations(struct tremplin_plugin *p, const struct tremplin_migration *m, size_t n)
{
	if (p->state != PS_LOADING || p->migrations != NULL || n == 0 || n > 1000) {
		h_log(p, TREMPLIN_LOG_WARNING, "migrations are given once, in init");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (m[i].sql == NULL || m[i].version != (int)i + 1) {
			h_log(p, TREMPLIN_LOG_WARNING,
			    "migration %zu: versions must run 1, 2, 3...", i);
			return -1;
		}
	if ((p->migrations = calloc(n, sizeof(*p->migrations))) == NULL)
		fatal("calloc");
	for (size_t i = 0; i < n; i++) {
		p->migrations[i].version = m[i].version;
		p->migrations[i].sql = m[i].sql; /* static text of the plugin, alive while loaded */
	}
	p->module.name = p->name;
	p->module.migrations = p->migrations;
	p->module.nmigrations = n;
	return 0;
}

static sqlite3_stmt *
h_stmt(struct tremplin_plugin *p, const char *sql)
{
	return db_stmt(p->set->srv->db, sql);
}

static void
h_stmt_done(sqlite3_stmt *st)
{
	db_done(st);
}

static int
h_begin(struct tremplin_plugin *p)
{
	return db_begin(p->set->srv->db);
}

static int
h_commit(struct tremplin_plugin *p)
{
	return db_commit(p->set->srv->db);
}

static void
h_rollback(struct tremplin_plugin *p)
{
	db_rollback(p->set->srv->db);
}

/* The route trampoline: the router calls it with the request. */
static void
route_call(struct tremplin_request *r)
{
	const struct hook *h = r->route->arg;

	if (h->p->state != PS_ENABLED) {
		api_error(r, 503, "unavailable", NULL, "plugin %s is disabled", h->p->name);
		return;
	}
	h->fn.route((struct tremplin_request *)r, h->arg);
}

static int
valid_route_path(const char *path)
{
	if (path[0] != '/' || strlen(path) > 200 || strstr(path, "//") != NULL)
		return 0;
	for (const char *c = path; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '/' ||
		        *c == '-' || *c == '_' || *c == '{' || *c == '}'))
			return 0;
	return 1;
}

static int
h_route(struct tremplin_plugin *p, unsigned methods, const char *path, unsigned roles,
    unsigned flags, tremplin_route_fn fn, void *arg)
{
	struct plugins *set = p->set;
	char pattern[256];

	if (p->state != PS_LOADING) {
		h_log(p, TREMPLIN_LOG_WARNING, "routes are registered in init");
		return -1;
	}
	if (fn == NULL || path == NULL || !valid_route_path(path) || methods == 0 ||
	    (methods & ~(unsigned)(M_GET | M_POST | M_PATCH | M_PUT | M_DELETE)) != 0 ||
	    roles == 0 || (roles & ~(unsigned)TREMPLIN_ROLES_STAFF) != 0 ||
	    (flags & ~(unsigned)TREMPLIN_ROUTE_BODY) != 0) {
		h_log(p, TREMPLIN_LOG_WARNING, "route %s: bad path, methods, roles or flags",
		    path ? path : "(null)");
		return -1;
	}
	if (set->nroutes == PLUGIN_MAX_ROUTES) {
		h_log(p, TREMPLIN_LOG_WARNING, "route %s: too many routes", path);
		return -1;
	}
	snprintf(pattern, sizeof(pattern), "/v1/%s%s", p->name, strcmp(path, "/") ? path : "");
	struct hook *h = hook_new(p, arg, 0);
	h->fn.route = fn;
	set->patterns[set->nroutes] = strdup(pattern);
	set->routes[set->nroutes] = (struct route){
		.method = methods,
		.pattern = set->patterns[set->nroutes],
		.fn = route_call,
		.action = ACT_PLUGIN_ROUTE,
		.flags = (flags & TREMPLIN_ROUTE_BODY) ? RF_BODY : 0,
		.roles = roles,
		.arg = h,
	};
	set->nroutes++;
	return 0;
}

static json_t *
h_request_body(struct tremplin_request *req)
{
	return ((struct tremplin_request *)req)->body;
}

static int64_t
h_request_id(struct tremplin_request *req, int index)
{
	struct tremplin_request *r = (struct tremplin_request *)req;

	return index >= 0 && index < r->nids ? r->ids[index] : -1;
}

static const char *
h_request_query(struct tremplin_request *req, const char *name)
{
	return api_query((struct tremplin_request *)req, name);
}

static void
h_request_caller(struct tremplin_request *req, struct tremplin_caller *out)
{
	struct tremplin_request *r = (struct tremplin_request *)req;

	out->staff_id = r->who.staff_id;
	out->unix_user = r->who.unix_user;
	out->role = role_name(r->who.role);
}

static void
h_reply(struct tremplin_request *req, int status, json_t *body)
{
	struct tremplin_request *r = (struct tremplin_request *)req;

	if (r->replied) {
		json_decref(body);
		log_warnx("plugin route %s replied twice", r->route->pattern);
		return;
	}
	if (body == NULL)
		body = json_object();
	api_reply(r, status, body);
}

static void
h_reply_error(struct tremplin_request *req, int status, const char *code, const char *field,
    const char *fmt, ...)
{
	struct tremplin_request *r = (struct tremplin_request *)req;
	va_list ap;

	if (r->replied)
		return;
	va_start(ap, fmt);
	api_verror(r, status, code, field, fmt, ap);
	va_end(ap);
}

static int
h_check_fields(
    struct tremplin_request *req, json_t *obj, const struct tremplin_field *f, size_t n, int whole)
{
	struct field_spec specs[PLUGIN_MAX_FIELDS];
	struct tremplin_error e;

	if (n > PLUGIN_MAX_FIELDS || obj == NULL) {
		api_error((struct tremplin_request *)req, 500, "internal", NULL, "bad field table");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		specs[i] = (struct field_spec){ f[i].name, (enum field_type)f[i].type, f[i].flags };
	if (json_check_fields(obj, specs, n, whole, &e) == -1) {
		api_input_error((struct tremplin_request *)req, &e);
		return -1;
	}
	return 0;
}

static int
h_publish(struct tremplin_plugin *p, struct tremplin_request *req, const char *type,
    const char *subject, json_t *payload)
{
	struct events *ev = p->set->srv->events;
	size_t n = strlen(p->name);
	char actor[64];

	/* A plugin speaks for itself: it cannot forge the core's or another plugin's events. */
	if (type == NULL || subject == NULL || strncmp(type, p->name, n) != 0 || type[n] != '.' ||
	    type[n + 1] == '\0') {
		h_log(p, TREMPLIN_LOG_WARNING, "event type %s must start with \"%s.\"",
		    type ? type : "(null)", p->name);
		json_decref(payload);
		return -1;
	}
	if (req != NULL)
		return events_publish_by(
		           ev, &((struct tremplin_request *)req)->who, type, subject, payload) < 0
		    ? -1
		    : 0;
	snprintf(actor, sizeof(actor), "plugin:%s", p->name);
	return events_publish(ev, type, subject, payload, 0, actor) < 0 ? -1 : 0;
}

static int
event_call(const struct event_rec *rec, void *arg)
{
	struct hook *h = arg;
	struct tremplin_event e = { rec->id, rec->type, rec->subject, rec->payload, rec->actor,
		rec->created_at };

	return h->fn.event(&e, h->arg);
}

static int
h_subscribe(
    struct tremplin_plugin *p, const char *name, const char *type, tremplin_event_fn fn, void *arg)
{
	char full[128];

	if (name == NULL || fn == NULL || strlen(name) > 64) {
		h_log(p, TREMPLIN_LOG_WARNING, "a subscription needs a short name and a handler");
		return -1;
	}
	snprintf(full, sizeof(full), "%s/%s", p->name, name);
	struct hook *h = hook_new(p, arg, 0);
	h->fn.event = fn;
	if (events_subscribe(p->set->srv->events, p, full, type, event_call, h) == -1) {
		hook_free(h);
		return -1;
	}
	return 0;
}

static void
h_event_done(struct tremplin_plugin *p, const char *name, int64_t id, int ok, const char *error)
{
	char full[128];

	snprintf(full, sizeof(full), "%s/%s", p->name, name ? name : "");
	events_done(p->set->srv->events, full, id, ok, error);
}

static void
timer_call(struct sched_timer *t, int64_t now, void *arg)
{
	struct hook *h = arg;

	(void)t;
	h->fn.timer(now, h->arg);
	if (h->oneshot)
		hook_free(h);
}

static int
h_every(struct tremplin_plugin *p, const char *name, int64_t period_ms, int64_t jitter_ms,
    tremplin_timer_fn fn, void *arg)
{
	char full[128];

	if (name == NULL || fn == NULL || strlen(name) > 64 || period_ms <= 0) {
		h_log(p, TREMPLIN_LOG_WARNING,
		    "a periodic timer needs a short name, a period and a handler");
		return -1;
	}
	snprintf(full, sizeof(full), "%s/%s", p->name, name);
	struct hook *h = hook_new(p, arg, 0);
	h->fn.timer = fn;
	if (sched_add(p->set->srv->sched, p, full, period_ms, period_ms, jitter_ms, timer_call,
	        h) == NULL) {
		hook_free(h);
		return -1;
	}
	return 0;
}

static int
h_after(struct tremplin_plugin *p, int64_t delay_ms, tremplin_timer_fn fn, void *arg)
{
	if (fn == NULL || delay_ms < 0)
		return -1;
	struct hook *h = hook_new(p, arg, 1);
	h->fn.timer = fn;
	if (sched_add(p->set->srv->sched, p, NULL, delay_ms, 0, 0, timer_call, h) == NULL) {
		hook_free(h);
		return -1;
	}
	return 0;
}

static int64_t
h_now_ms(struct tremplin_plugin *p)
{
	return sched_now(p->set->srv->sched);
}

static void
http_call(const struct net_result *res, void *arg)
{
	struct hook *h = arg;
	struct tremplin_http_response r = { (int)res->error, res->error_text, res->status,
		res->retry_after_s, res->content_type, res->body, res->body_len };

	h->fn.http(&r, h->arg);
	hook_free(h);
}

static int
h_http(struct tremplin_plugin *p, const struct tremplin_http_request *rq, tremplin_http_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct net_header hdrs[32];
	struct net_spec spec;

	if (rq == NULL || fn == NULL || rq->nheaders > TR_NELEM(hdrs)) {
		snprintf(err, errlen, "bad request description");
		return -1;
	}
	for (size_t i = 0; i < rq->nheaders; i++)
		hdrs[i] = (struct net_header){ rq->headers[i].name, rq->headers[i].value };
	spec = (struct net_spec){
		.method = rq->method ? rq->method : "GET",
		.url = rq->url,
		.headers = hdrs,
		.nheaders = rq->nheaders,
		.body = rq->body,
		.body_len = rq->body_len,
		.timeout_ms = rq->timeout_ms,
		.max_bytes = rq->max_bytes,
		.follow_redirects = rq->follow_redirects,
	};
	struct hook *h = hook_new(p, arg, 1);
	h->fn.http = fn;
	if (net_start(p->set->srv->net, p, &spec, http_call, h, err, errlen) == NULL) {
		hook_free(h);
		return -1;
	}
	return 0;
}

static const struct tremplin_host host = {
	.abi = TREMPLIN_PLUGIN_ABI,
	.size = sizeof(struct tremplin_host),
	.daemon_version = PACKAGE_VERSION,
	.log = h_log,
	.config = h_config,
	.migrations = h_migrations,
	.stmt = h_stmt,
	.stmt_done = h_stmt_done,
	.begin = h_begin,
	.commit = h_commit,
	.rollback = h_rollback,
	.route = h_route,
	.request_body = h_request_body,
	.request_id = h_request_id,
	.request_query = h_request_query,
	.request_caller = h_request_caller,
	.reply = h_reply,
	.reply_error = h_reply_error,
	.check_fields = h_check_fields,
	.publish = h_publish,
	.subscribe = h_subscribe,
	.event_done = h_event_done,
	.every = h_every,
	.after = h_after,
	.now_ms = h_now_ms,
	.http = h_http,
	.valid_siret = valid_siret,
	.valid_email = valid_email,
	.valid_label = valid_label,
};

/* ---- the loader ---- */

static int
valid_plugin_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z' || strcmp(s, "core") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	/* Its routes live under /v1/<name>/: the core's own paths are taken. */
	static const char *const taken[] = { "health", "whoami", "backup", "structures", "staff",
		"plugins", "events" };
	for (size_t i = 0; i < TR_NELEM(taken); i++)
		if (strcmp(s, taken[i]) == 0)
			return 0;
	return 1;
}

/* major.minor must match: a patch release keeps the plugin ABI. */
static int
same_series(const char *a, const char *b)
{
	unsigned amaj, amin, bmaj, bmin;

	if (a == NULL || sscanf(a, "%u.%u", &amaj, &amin) != 2 ||
	    sscanf(b, "%u.%u", &bmaj, &bmin) != 2)
		return 0;
	return amaj == bmaj && amin == bmin;
}

static int refuse(struct tremplin_plugin *p, enum plugin_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct tremplin_plugin *p, enum plugin_state st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* Shown by GET /v1/plugins; a dlerror() may quote a file name that is not UTF-8. */
	json_safe_vformat(p->last_error, sizeof(p->last_error), fmt, ap);
	va_end(ap);
	p->state = st;
	log_warnx("plugin %s: refused (%s): %s", p->name, state_names[st], p->last_error);
	return -1;
}

/* Drop what a refused plugin holds, and unload its code unless init ran. */
static void
unload(struct tremplin_plugin *p)
{
	unregister(p);
	if (p->initialised && p->desc->stop)
		p->desc->stop(p->ctx);
	p->initialised = 0;
	p->ctx = NULL;
	free(p->migrations);
	p->migrations = NULL;
	p->module.nmigrations = 0;
	/*
	 * Once init was called (desc is set just before), the daemon may hold
	 * pointers into the plugin's image: the statement cache keys on its SQL
	 * text. Unmapping it would leave them dangling, so it stays mapped.
	 */
	if (p->dl && p->desc == NULL)
		dlclose(p->dl);
	p->dl = NULL;
	p->desc = NULL;
}

/* The section handed to the plugin: without the loader's own key. */
static json_t *
plugin_section(const json_t *section)
{
	json_t *s = json_is_object(section) ? json_deep_copy(section) : json_object();

	json_object_del(s, "enabled");
	return s;
}

static int
load_one(struct plugins *set, struct tremplin_plugin *p, const json_t *section)
{
	struct server *srv = set->srv;
	const struct tremplin_plugin_desc *d;
	char err[512] = "";

	json_t *enabled = json_object_get(section, "enabled");
	if (enabled != NULL && !json_is_boolean(enabled))
		return refuse(p, PS_DISABLED_CONFIG, "enabled: expected true or false");
	if (json_is_false(enabled))
		return refuse(p, PS_DISABLED_CONFIG, "enabled = false in the configuration");
	if (!valid_plugin_name(p->name))
		return refuse(p, PS_DISABLED_CONFIG,
		    "not a plugin name: [a-z][a-z0-9_]*, at most 32, not a core path");
	snprintf(p->path, sizeof(p->path), "%s/%s.so", srv->conf->plugin_dir, p->name);
	if ((p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return refuse(p, PS_DISABLED_FAILED, "cannot load %s: %s", p->path, dlerror());
	if ((d = dlsym(p->dl, TREMPLIN_PLUGIN_SYMBOL)) == NULL)
		return refuse(
		    p, PS_DISABLED_FAILED, "%s has no %s symbol", p->path, TREMPLIN_PLUGIN_SYMBOL);
	if (d->abi != TREMPLIN_PLUGIN_ABI)
		return refuse(p, PS_DISABLED_FAILED,
		    "built for plugin ABI %u, this tremplind has %u", d->abi, TREMPLIN_PLUGIN_ABI);
	if (d->size != sizeof(*d))
		return refuse(p, PS_DISABLED_FAILED,
		    "descriptor is %u bytes, this tremplind expects %zu (rebuild it against this "
		    "SDK)",
		    d->size, sizeof(*d));
	if (!same_series(d->built_for, PACKAGE_VERSION))
		return refuse(p, PS_DISABLED_FAILED, "built for tremplind %s, this is %s",
		    d->built_for ? d->built_for : "(none)", PACKAGE_VERSION);
	if (d->name == NULL || strcmp(d->name, p->name) != 0)
		return refuse(p, PS_DISABLED_FAILED, "%s holds plugin '%s', not '%s'", p->path,
		    d->name ? d->name : "(none)", p->name);
	if (d->init == NULL || d->start == NULL || d->stop == NULL || d->version == NULL)
		return refuse(
		    p, PS_DISABLED_FAILED, "descriptor lacks init, start, stop or version");
	p->desc = d;
	p->section = plugin_section(section);

	if (d->init(&host, p, &p->ctx) != 0)
		return refuse(p, PS_DISABLED_FAILED, "init failed");
	p->initialised = 1;
	if (d->config != NULL && d->config(p->ctx, p->section, err, sizeof(err)) != 0)
		return refuse(p, PS_DISABLED_CONFIG, "configuration refused: %s",
		    err[0] ? err : "no reason given");
	if (p->module.nmigrations > 0) {
		const struct db_module *mods[] = { &p->module };
		if (db_migrate(srv->db, mods, 1, err, sizeof(err)) == -1)
			return refuse(p, PS_DISABLED_FAILED, "%s", err);
	}
	p->state = PS_ENABLED;
	if (d->start(p->ctx) != 0)
		return refuse(p, PS_DISABLED_FAILED, "start failed");
	log_info(
	    "plugin %s %s enabled (%s)", p->name, d->version, d->description ? d->description : "");
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct plugins *
plugins_load(struct server *srv, char *err, size_t errlen)
{
	struct plugins *set = calloc(1, sizeof(*set));
	const char *name;
	json_t *section;

	if (set == NULL)
		fatal("calloc");
	set->srv = srv;
	TAILQ_INIT(&set->list);
	srv->plugins = set;
	/* In name order: the same configuration loads the same way every time. */
	size_t nkeys = json_object_size(srv->conf->plugins), k = 0;
	const char **keys = calloc(nkeys ? nkeys : 1, sizeof(*keys));
	if (keys == NULL)
		fatal("calloc");
	json_object_foreach (srv->conf->plugins, name, section)
		keys[k++] = name;
	qsort(keys, nkeys, sizeof(*keys), cmp_names);
	for (k = 0; k < nkeys; k++) {
		name = keys[k];
		section = json_object_get(srv->conf->plugins, name);
		struct tremplin_plugin *p = calloc(1, sizeof(*p));
		if (p == NULL)
			fatal("calloc");
		p->set = set;
		p->state = PS_LOADING;
		TAILQ_INIT(&p->hooks);
		tr_strlcpy(p->name, name, sizeof(p->name));
		TAILQ_INSERT_TAIL(&set->list, p, entry);
		if (strlen(name) >= sizeof(p->name)) {
			refuse(p, PS_DISABLED_CONFIG, "name longer than 32 characters");
			continue;
		}
		if (load_one(set, p, section) == 0)
			continue;
		unload(p);
		/* Strict: anything the operator asked for and did not get stops the start. */
		if (srv->conf->plugin_strict &&
		    !json_is_false(json_object_get(section, "enabled"))) {
			snprintf(err, errlen, "plugin %s refused and plugin_strict is set: %s",
			    p->name, p->last_error);
			free(keys);
			return NULL;
		}
	}
	free(keys);
	return set;
}

void
plugins_reconfigure(struct plugins *set, const json_t *sections)
{
	struct tremplin_plugin *p;
	char err[512];

	TAILQ_FOREACH (p, &set->list, entry) {
		const json_t *s = json_object_get(sections, p->name);
		if (s == NULL) {
			log_warnx(
			    "plugin %s: no longer in the configuration; it is unloaded at restart",
			    p->name);
			continue;
		}
		if (p->state != PS_ENABLED || p->desc->config == NULL)
			continue;
		json_t *ns = plugin_section(s);
		if (json_equal(ns, p->section)) {
			json_decref(ns);
			continue;
		}
		err[0] = '\0';
		if (p->desc->config(p->ctx, ns, err, sizeof(err)) != 0) {
			json_safe_format(p->last_error, sizeof(p->last_error),
			    "new configuration refused, the previous one stays: %s", err);
			log_warnx("plugin %s: %s", p->name, p->last_error);
			json_decref(ns);
			continue;
		}
		json_decref(p->section);
		p->section = ns;
		p->last_error[0] = '\0';
		log_info("plugin %s: configuration reloaded", p->name);
	}
	const char *name;
	json_t *s;
	json_object_foreach ((json_t *)sections, name, s) {
		int known = 0;
		TAILQ_FOREACH (p, &set->list, entry)
			known |= strcmp(p->name, name) == 0;
		if (!known)
			log_warnx(
			    "plugin %s: new in the configuration; it is loaded at restart", name);
	}
}

void
plugins_free(struct plugins *set)
{
	struct tremplin_plugin *p;

	if (set == NULL)
		return;
	while ((p = TAILQ_FIRST(&set->list)) != NULL) {
		TAILQ_REMOVE(&set->list, p, entry);
		if (p->desc != NULL)
			log_info("plugin %s: stopping", p->name);
		unload(p);
		json_decref(p->section);
		free(p);
	}
	for (size_t i = 0; i < set->nroutes; i++)
		free(set->patterns[i]);
	free(set);
}

const struct route *
plugins_routes(struct plugins *set, size_t *n)
{
	*n = set ? set->nroutes : 0;
	return set ? set->routes : NULL;
}

json_t *
plugins_json(struct plugins *set)
{
	json_t *items = json_array();
	struct tremplin_plugin *p;

	if (set == NULL)
		return items;
	TAILQ_FOREACH (p, &set->list, entry) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}", "name", p->name, "kind",
		    "c", "state", state_names[p->state], "version",
		    p->desc ? p->desc->version : NULL, "description",
		    p->desc ? p->desc->description : NULL, "last_error",
		    p->last_error[0] ? p->last_error : NULL);
		json_object_set_new(o, "subscriptions",
		    p->set->srv->events ? events_subscriptions_json(p->set->srv->events, p)
		                        : json_array());
		json_array_append_new(items, o);
	}
	return items;
}
