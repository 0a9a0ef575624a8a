/*
 * The Lua host. A configured script is a `struct script`; each text of it
 * that loaded is a `struct version`: its sandbox and what it registered
 * (subscriptions, timers, requests in flight), all owned by the version and
 * undone with it. A reload builds the new version next to the running one
 * and swaps only when the new one has loaded.
 *
 * on() and every() only record while the main chunk runs; the version
 * registers them with the event journal and the scheduler once it has
 * loaded, so that a version that fails to load never touched them, and the
 * durable names (cursors, last runs) pass from one version to the next.
 */
#include "luahost.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <lauxlib.h>
#include <openssl/evp.h>

#include "audit.h"
#include "authz.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "luabox.h"
#include "scriptlib.h"
#include "net.h"
#include "outbox.h"
#include "server.h"
#include "scheduler.h"
#include "util.h"
#include "views.h"

#define MAX_NOTIFY_PER_CALL 1000
#define MAX_LOG_PER_CALL 50
#define MAX_LOG_BYTES 1000
#define MAX_MESSAGE_CHARS 1000
#define MAX_HTTP_IN_FLIGHT 8
#define MAX_HTTP_HEADERS 32
#define HTTP_TIMEOUT_MS 10000
#define HTTP_MAX_TIMEOUT_MS 60000
#define HTTP_MAX_BYTES (1u << 20)
#define MIN_PERIOD_S 1
#define MAX_PERIOD_S (366 * 86400)
/*
 * The calls of one loop iteration, made at once from the callbacks of the
 * event journal and of the scheduler or from the job queue, start only
 * while those before them in the iteration took less than this; the others
 * wait for the next iteration, in the job queue. So a request waiting on the
 * loop waits for this budget plus one call (its time limit at most), and
 * quick handlers cost no extra loop iteration or cursor write.
 */
#define SYNC_BUDGET_US 2000
#define MAX_LIB_BYTES (256 * 1024)

enum script_state { SS_ENABLED, SS_DISABLED_FAILED, SS_DISABLED_CONFIG };

static const char *const state_names[] = {
	[SS_ENABLED] = "enabled",
	[SS_DISABLED_FAILED] = "disabled_failed",
	[SS_DISABLED_CONFIG] = "disabled_config",
};

struct version;

struct lsub {
	TAILQ_ENTRY(lsub) entry;
	struct version *v;
	char name[200]; /* durable: "<script>/on:<type>" */
	char type[128];
	int ref; /* the handler, in the registry */
};

struct ltimer {
	TAILQ_ENTRY(ltimer) entry;
	struct version *v;
	char name[100]; /* durable: "<script>/<label>" */
	int64_t period_s;
	int immediately;
	int ref;
	int queued; /* a run waits in the job queue: the next one is skipped */
	struct sched_timer *t;
};

struct lhttp {
	TAILQ_ENTRY(lhttp) entry;
	struct version *v;
	int ref; /* the callback */
};

struct version {
	struct script *s;
	struct luabox *box;
	json_t *section; /* the configuration it was loaded with */
	enum role role;
	char digest[17];
	char description[161];
	TAILQ_HEAD(, lsub) subs;
	TAILQ_HEAD(, ltimer) timers;
	TAILQ_HEAD(, lhttp) http;
	int nsubs, ntimers, nhttp;
	int loading; /* the main chunk runs: on() and every() record */
	int stopping; /* being torn down: callbacks only free */
	/* For the call that runs. */
	int notifies, logs, logs_dropped;
};

struct script {
	TAILQ_ENTRY(script) entry;
	struct luahost *h;
	char name[33];
	enum script_state state;
	char *last_error;
	char file[PATH_MAX]; /* as configured, for messages */
	struct version *cur;
	int failures_in_row;
	int disk_full; /* the last call failed because the disk is full: not its fault */
	int64_t calls, failures;
	int seen;
};

enum job_kind { JOB_EVENT, JOB_TIMER, JOB_HTTP };

struct job {
	TAILQ_ENTRY(job) entry;
	enum job_kind kind;
	struct version *v;
	struct lsub *sub;
	struct ltimer *timer;
	struct lhttp *http;
	/* an event */
	int64_t event_id;
	char *type, *subject, *actor, *created_at;
	json_t *payload;
	/* an answer */
	int error;
	char *error_text, *content_type, *body;
	size_t body_len;
	long status;
	int64_t retry_after;
};

struct luahost {
	struct server *srv;
	struct timeval iteration; /* the loop's cached time when sync_used began */
	int64_t sync_used; /* us of calls made at once in this iteration */
	char *script_dir;
	int allow_http;
	TAILQ_HEAD(, script) scripts;
	TAILQ_HEAD(, job) jobs;
	struct event *ev_jobs;
	struct scriptlib_clock clock;
	int tx_open; /* the running call's notifications: one transaction */
};

static void version_stop(struct version *);

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
host_now(void *arg)
{
	struct luahost *h = arg;

	return sched_now(h->srv->sched);
}

static void set_error(struct script *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct script *s, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) == -1)
			msg = NULL;
		va_end(ap);
	}
	free(s->last_error);
	s->last_error = msg;
}

/* The first line of a message, for the log (the traceback stays in last_error). */
static const char *
first_line(const char *msg, char *buf, size_t size)
{
	size_t n = strcspn(msg, "\n");

	if (n >= size)
		n = size - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
	return buf;
}

static struct version *
version_of(lua_State *L)
{
	return luabox_ud(L);
}

/* ---- the job queue ---- */

static void
job_free(struct job *j)
{
	free(j->type);
	free(j->subject);
	free(j->actor);
	free(j->created_at);
	json_decref(j->payload);
	free(j->error_text);
	free(j->content_type);
	free(j->body);
	free(j);
}

static struct job *
job_new(enum job_kind kind, struct version *v)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		fatal("calloc");
	j->kind = kind;
	j->v = v;
	return j;
}

static void
enqueue(struct luahost *h, struct job *j)
{
	struct timeval now = { 0, 0 };

	TAILQ_INSERT_TAIL(&h->jobs, j, entry);
	evtimer_add(h->ev_jobs, &now);
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		fatal("strdup");
	return d;
}

/* ---- calls ---- */

/*
 * Run fn in v's sandbox; then commit (or, on failure, roll back) the
 * notifications the call queued. what names the call in messages.
 */
static enum luabox_status
call(struct version *v, lua_CFunction fn, void *arg, char **err)
{
	struct luahost *h = v->s->h;
	enum luabox_status st;

	v->notifies = v->logs = v->logs_dropped = 0;
	st = luabox_run(v->box, fn, arg, err);
	v->s->calls++;
	if (v->logs_dropped > 0)
		log_warnx("script %s: %d log lines dropped (at most %d per call)", v->s->name,
		    v->logs_dropped, MAX_LOG_PER_CALL);
	if (h->tx_open) {
		h->tx_open = 0;
		if (st != LB_OK)
			db_rollback(h->srv->db);
		else if (db_commit(h->srv->db) == -1) {
			st = LB_ERROR;
			if (asprintf(err,
			        "notify: the notifications of this call could not be "
			        "committed: %s",
			        sqlite3_errmsg(db_handle(h->srv->db))) == -1)
				*err = NULL;
		}
	}
	/*
	 * A full disk fails notify(), audited view() reads and the commit alike:
	 * the call is retried as a failure is, but it does not count against
	 * the script, and the store has logged the episode already.
	 */
	v->s->disk_full =
	    st == LB_ERROR && (db_full(h->srv->db, NULL) || db_full(audit_db(h->srv->audit), NULL));
	return st;
}

/*
 * Count the outcome of a call of the running version; disable the script
 * when it passed a limit or failed too often. Returns 1 when v was stopped
 * (and freed). Takes err.
 */
static long
max_failures(const struct version *v)
{
	return (long)json_integer_value(
	    json_object_get(json_object_get(v->section, "limits"), "max_failures"));
}

/* Whether outcome() will disable the script after a call that ended with st. */
static int
disables(const struct version *v, enum luabox_status st)
{
	return st != LB_OK &&
	    (st != LB_ERROR || (!v->s->disk_full && v->s->failures_in_row + 1 >= max_failures(v)));
}

static int
outcome(struct version *v, enum luabox_status st, char *err, const char *what)
{
	struct script *s = v->s;
	char line[300];
	long max = max_failures(v);

	if (st == LB_OK) {
		s->failures_in_row = 0;
		free(err);
		return 0;
	}
	if (err == NULL)
		err = xstrdup("out of memory");
	if (st == LB_ERROR && s->disk_full) {
		set_error(s, "%s: %s (the disk is full: retried, not counted)", what, err);
		log_debug("script %s: %s failed on a full disk: %s", s->name, what,
		    first_line(err, line, sizeof(line)));
		free(err);
		return 0;
	}
	s->failures++;
	s->failures_in_row++;
	if (st != LB_ERROR) {
		set_error(s, "disabled: %s: %s", what, err);
		log_warnx("script %s: disabled: %s: %s", s->name, what,
		    first_line(err, line, sizeof(line)));
	} else if (s->failures_in_row >= max) {
		set_error(s, "disabled after %d failures in a row: %s: %s", s->failures_in_row,
		    what, err);
		log_warnx("script %s: disabled after %d failures in a row: %s: %s", s->name,
		    s->failures_in_row, what, first_line(err, line, sizeof(line)));
	} else {
		set_error(s, "%s: %s", what, err);
		log_warnx("script %s: %s failed (%d in a row): %s", s->name, what,
		    s->failures_in_row, first_line(err, line, sizeof(line)));
		free(err);
		return 0;
	}
	free(err);
	s->state = SS_DISABLED_FAILED;
	s->cur = NULL;
	version_stop(v);
	return 1;
}

static int
event_entry(lua_State *L)
{
	struct job *j = lua_touserdata(L, 1);

	lua_rawgeti(L, LUA_REGISTRYINDEX, j->sub->ref);
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, j->event_id);
	lua_setfield(L, -2, "id");
	lua_pushstring(L, j->type);
	lua_setfield(L, -2, "type");
	lua_pushstring(L, j->subject);
	lua_setfield(L, -2, "subject");
	lua_pushstring(L, j->actor);
	lua_setfield(L, -2, "actor");
	lua_pushstring(L, j->created_at);
	lua_setfield(L, -2, "created_at");
	scriptlib_push_json(L, j->payload, 0);
	lua_setfield(L, -2, "payload");
	lua_call(L, 1, 0);
	return 0;
}

static int
timer_entry(lua_State *L)
{
	struct job *j = lua_touserdata(L, 1);

	lua_rawgeti(L, LUA_REGISTRYINDEX, j->timer->ref);
	lua_call(L, 0, 0);
	return 0;
}

static const char *
net_error_name(int e)
{
	static const char *const names[] = {
		[NET_OK] = "ok",
		[NET_E_TIMEOUT] = "timeout",
		[NET_E_CONNECT] = "connect",
		[NET_E_TLS] = "tls",
		[NET_E_TOO_BIG] = "too_big",
		[NET_E_PROTOCOL] = "protocol",
		[NET_E_CANCELLED] = "cancelled",
		[NET_E_INTERNAL] = "internal",
	};

	return e >= 0 && e < (int)TR_NELEM(names) && names[e] ? names[e] : "internal";
}

static int
http_entry(lua_State *L)
{
	struct job *j = lua_touserdata(L, 1);

	lua_rawgeti(L, LUA_REGISTRYINDEX, j->http->ref);
	luaL_unref(L, LUA_REGISTRYINDEX, j->http->ref);
	j->http->ref = LUA_NOREF;
	lua_createtable(L, 0, 6);
	lua_pushboolean(L, j->error == NET_OK);
	lua_setfield(L, -2, "ok");
	if (j->error == NET_OK) {
		lua_pushinteger(L, j->status);
		lua_setfield(L, -2, "status");
		lua_pushlstring(L, j->body ? j->body : "", j->body_len);
		lua_setfield(L, -2, "body");
		if (j->content_type != NULL) {
			lua_pushstring(L, j->content_type);
			lua_setfield(L, -2, "content_type");
		}
		if (j->retry_after >= 0) {
			lua_pushinteger(L, j->retry_after);
			lua_setfield(L, -2, "retry_after");
		}
	} else {
		lua_pushstring(L, net_error_name(j->error));
		lua_setfield(L, -2, "error");
		lua_pushstring(L, j->error_text);
		lua_setfield(L, -2, "error_text");
	}
	lua_call(L, 1, 0);
	return 0;
}

/* An event handler's call; done or failed goes to the journal unless the script goes. */
static enum luabox_status
run_event(struct luahost *h, struct job *j, int pending)
{
	struct version *v = j->v;
	char *err = NULL, what[300];
	enum luabox_status st;

	snprintf(what, sizeof(what), "on(\"%s\") handler, event %lld", j->sub->type,
	    (long long)j->event_id);
	st = call(v, event_entry, j, &err);
	/*
	 * The journal retries a failed event with backoff. When the script is
	 * disabled instead, its subscription goes, and the event stays after
	 * its saved cursor for the next version.
	 */
	if (pending && !disables(v, st))
		events_done(h->srv->events, j->sub->name, j->event_id, st == LB_OK,
		    st == LB_OK ? NULL : luabox_status_name(st));
	outcome(v, st, err, what);
	return st;
}

static void
run_timer(struct job *j)
{
	struct version *v = j->v;
	char *err = NULL, what[300];
	enum luabox_status st;

	snprintf(what, sizeof(what), "every() job %s", j->timer->name);
	st = call(v, timer_entry, j, &err);
	outcome(v, st, err, what);
}

static void
run_job(struct luahost *h, struct job *j)
{
	struct version *v = j->v;
	char *err = NULL;
	enum luabox_status st;

	switch (j->kind) {
	case JOB_EVENT:
		run_event(h, j, 1);
		break;
	case JOB_TIMER:
		j->timer->queued = 0;
		run_timer(j);
		break;
	case JOB_HTTP:
		st = call(v, http_entry, j, &err);
		free(j->http);
		j->http = NULL;
		outcome(v, st, err, "http{} callback");
		break;
	}
}

/* Whether a call may run now: the calls of this loop iteration are within budget. */
static int
may_run_now(struct luahost *h)
{
	struct timeval tv;

	if (event_base_gettimeofday_cached(h->srv->base, &tv) == -1)
		return 0;
	if (tv.tv_sec != h->iteration.tv_sec || tv.tv_usec != h->iteration.tv_usec) {
		h->iteration = tv;
		h->sync_used = 0;
	}
	return h->sync_used < SYNC_BUDGET_US;
}

static void
jobs_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	luahost_run_jobs(arg);
}

int
luahost_run_jobs(struct luahost *h)
{
	struct job *j;
	int n = 0;

	/* The budget is shared with the calls made at once in this loop iteration. */
	while ((j = TAILQ_FIRST(&h->jobs)) != NULL && may_run_now(h)) {
		int64_t t0 = mono_us();
		TAILQ_REMOVE(&h->jobs, j, entry);
		run_job(h, j);
		job_free(j);
		h->sync_used += mono_us() - t0;
		n++;
	}
	if (!TAILQ_EMPTY(&h->jobs)) {
		struct timeval now = { 0, 0 };
		evtimer_add(h->ev_jobs, &now);
	}
	return n;
}

/* ---- callbacks from the core: each becomes a job ---- */

static int
event_cb(const struct event_rec *rec, void *arg)
{
	struct lsub *sub = arg;
	struct luahost *h = sub->v->s->h;
	struct job *j;

	if (sub->v->stopping)
		return EVENT_FAILED;
	if (may_run_now(h)) {
		/* Borrowed for the call: the journal holds the record meanwhile. */
		struct job now = { .kind = JOB_EVENT,
			.v = sub->v,
			.sub = sub,
			.event_id = rec->id,
			.type = (char *)rec->type,
			.subject = (char *)rec->subject,
			.actor = (char *)rec->actor,
			.created_at = (char *)rec->created_at,
			.payload = (json_t *)rec->payload };
		int64_t t0 = mono_us();
		enum luabox_status st = run_event(h, &now, 0);
		h->sync_used += mono_us() - t0;
		/* If the script went, the journal sees its subscription gone and stops there. */
		return st == LB_OK ? EVENT_DONE : EVENT_FAILED;
	}
	j = job_new(JOB_EVENT, sub->v);
	j->sub = sub;
	j->event_id = rec->id;
	j->type = xstrdup(rec->type);
	j->subject = xstrdup(rec->subject);
	j->actor = xstrdup(rec->actor);
	j->created_at = xstrdup(rec->created_at);
	j->payload = json_incref((json_t *)rec->payload);
	enqueue(h, j);
	return EVENT_PENDING;
}

static void
timer_cb(struct sched_timer *t, int64_t now, void *arg)
{
	struct ltimer *lt = arg;
	struct luahost *h = lt->v->s->h;
	struct job *j;

	(void)t, (void)now;
	if (lt->v->stopping || lt->queued)
		return;
	if (may_run_now(h)) {
		struct job run = { .kind = JOB_TIMER, .v = lt->v, .timer = lt };
		int64_t t0 = mono_us();
		run_timer(&run);
		h->sync_used += mono_us() - t0;
		return;
	}
	lt->queued = 1;
	j = job_new(JOB_TIMER, lt->v);
	j->timer = lt;
	enqueue(h, j);
}

static void
http_cb(const struct net_result *res, void *arg)
{
	struct lhttp *rq = arg;
	struct version *v = rq->v;
	struct job *j;

	TAILQ_REMOVE(&v->http, rq, entry);
	v->nhttp--;
	if (v->stopping) {
		free(rq); /* the state goes with the version: no unref */
		return;
	}
	j = job_new(JOB_HTTP, v);
	j->http = rq;
	j->error = (int)res->error;
	j->error_text = xstrdup(res->error_text);
	j->status = res->status;
	j->retry_after = res->retry_after_s;
	j->content_type = res->content_type ? xstrdup(res->content_type) : NULL;
	if (res->error == NET_OK) {
		if ((j->body = malloc(res->body_len + 1)) == NULL)
			fatal("malloc");
		memcpy(j->body, res->body, res->body_len);
		j->body[res->body_len] = '\0';
		j->body_len = res->body_len;
	}
	enqueue(v->s->h, j);
}

/* ---- the script API ---- */

/* on(event_type, handler) */
static int
l_on(lua_State *L)
{
	struct version *v = version_of(L);
	size_t len;
	const char *type = luaL_checklstring(L, 1, &len);
	struct lsub *sub, *other;
	int n = 1;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!v->loading)
		return luaL_error(L, "on() is called when the script loads, not later");
	if (len == 0 || len >= sizeof(sub->type) ||
	    strspn(type,
	        "abcdefghijklmnopqrstuvwxyz"
	        "0123456789_.*") != len ||
	    (strchr(type, '*') != NULL && strcmp(type, "*") != 0 &&
	        (len < 2 || strcmp(type + len - 2, ".*") != 0 ||
	            strchr(type, '*') != type + len - 1)))
		return luaL_error(L,
		    "on: '%s' is not an event type (\"structure.created\", \"structure.*\" or "
		    "\"*\")",
		    type);
	if (v->nsubs >= 64)
		return luaL_error(L, "on: at most 64 handlers per script");
	TAILQ_FOREACH (other, &v->subs, entry)
		n += strcmp(other->type, type) == 0;
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return luaL_error(L, "out of memory");
	TAILQ_INSERT_TAIL(&v->subs, sub, entry);
	v->nsubs++;
	sub->v = v;
	sub->ref = LUA_NOREF;
	tr_strlcpy(sub->type, type, sizeof(sub->type));
	if (n == 1)
		snprintf(sub->name, sizeof(sub->name), "%s/on:%s", v->s->name, type);
	else
		snprintf(sub->name, sizeof(sub->name), "%s/on:%s#%d", v->s->name, type, n);
	lua_pushvalue(L, 2);
	sub->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/* An interval: seconds, or "<n>s", "<n>m", "<n>h", "<n>d". 0 when it is not one. */
static int64_t
interval_s(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TNUMBER) {
		if (!lua_isinteger(L, idx))
			return 0;
		return lua_tointeger(L, idx);
	}
	if (lua_type(L, idx) == LUA_TSTRING) {
		const char *s = lua_tostring(L, idx);
		char *end;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (errno || end == s || n <= 0 || n > MAX_PERIOD_S || end[0] == '\0' ||
		    end[1] != '\0')
			return 0;
		switch (*end) {
		case 's':
			return n;
		case 'm':
			return n * 60;
		case 'h':
			return n * 3600;
		case 'd':
			return n * 86400;
		}
	}
	return 0;
}

/* every(interval, fn [, {name = "...", immediately = true}]) */
static int
l_every(lua_State *L)
{
	struct version *v = version_of(L);
	int64_t period = interval_s(L, 1);
	char label[40];
	int immediately = 0;
	struct ltimer *t, *other;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!v->loading)
		return luaL_error(L, "every() is called when the script loads, not later");
	if (period < MIN_PERIOD_S || period > MAX_PERIOD_S)
		return luaL_error(L,
		    "every: the interval is whole seconds from %d to %d, or \"30s\", \"15m\", "
		    "\"6h\", \"1d\"",
		    MIN_PERIOD_S, MAX_PERIOD_S);
	snprintf(label, sizeof(label), "every%d", v->ntimers + 1);
	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		lua_pushnil(L);
		while (lua_next(L, 3) != 0) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
			if (strcmp(k, "name") == 0) {
				size_t len;
				const char *name = lua_tolstring(L, -1, &len);
				if (lua_type(L, -1) != LUA_TSTRING || len == 0 || len > 32 ||
				    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
					return luaL_error(
					    L, "every: name is [a-z0-9_], at most 32");
				tr_strlcpy(label, name, sizeof(label));
			} else if (strcmp(k, "immediately") == 0) {
				if (lua_type(L, -1) != LUA_TBOOLEAN)
					return luaL_error(L, "every: immediately is true or false");
				immediately = lua_toboolean(L, -1);
			} else
				return luaL_error(L,
				    "every: unknown option '%s' (expected name, immediately)", k);
			lua_pop(L, 1);
		}
	}
	if (v->ntimers >= 16)
		return luaL_error(L, "every: at most 16 timers per script");
	TAILQ_FOREACH (other, &v->timers, entry)
		if (strcmp(strchr(other->name, '/') + 1, label) == 0)
			return luaL_error(L, "every: two timers are named '%s'", label);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return luaL_error(L, "out of memory");
	TAILQ_INSERT_TAIL(&v->timers, t, entry);
	v->ntimers++;
	t->v = v;
	t->ref = LUA_NOREF;
	t->period_s = period;
	t->immediately = immediately;
	snprintf(t->name, sizeof(t->name), "%s/%s", v->s->name, label);
	lua_pushvalue(L, 2);
	t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/*
 * A read of social or sensitive data through a view is recorded as a read
 * through the API is: one entry per person it names, the script as actor.
 */
static int
view_audit(struct luahost *h, struct version *v, const struct view *view, const json_t *rows)
{
	unsigned cats = view_audited(view);
	char actor[64];
	int64_t none = 0, *ids;
	size_t n;
	int rc;

	if (cats == 0 || json_array_size(rows) == 0)
		return 0;
	snprintf(actor, sizeof(actor), "lua:%s", v->s->name);
	ids = view_employees(rows, &n);
	rc = audit_record_many(h->srv->audit, actor, role_name(v->role), "read", n ? ids : &none,
	    n ? n : 1, view->name, cats);
	free(ids);
	return rc;
}

/* view(name, params): the rows, a list of tables. */
static int
l_view(lua_State *L)
{
	struct version *v = version_of(L);
	struct luahost *h = v->s->h;
	const char *name = luaL_checkstring(L, 1);
	struct scriptlib_guard *g;
	json_t *params = NULL, *rows;
	char err[512];

	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		if ((params = scriptlib_to_json(L, 2, err, sizeof(err))) == NULL)
			return luaL_error(L, "view %s: %s", name, err);
	}
	g = scriptlib_push_guard(L);
	g->json = params;
	if (view_run(h->srv->db, name, v->role, params, &rows, err, sizeof(err)) == -1)
		return luaL_error(L, "%s", err);
	scriptlib_release(g);
	g->json = rows;
	if (view_audit(h, v, view_find(name), rows) == -1)
		return luaL_error(L, "view %s: the audit log cannot record this read", name);
	luabox_charge(L, (int64_t)json_array_size(rows) * 50);
	scriptlib_push_json(L, rows, 0);
	scriptlib_release(g);
	return 1;
}

static int
valid_utf8_text(const char *s, size_t len, size_t max_chars, int newlines)
{
	size_t chars = 0;

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80      ? 1
		    : (c & 0xe0) == 0xc0 ? 2
		    : (c & 0xf0) == 0xe0 ? 3
		    : (c & 0xf8) == 0xf0 ? 4
		                         : 0;
		if (n == 0 || i + n > len)
			return 0;
		if (n == 1 && (c < 0x20 || c == 0x7f) && !(newlines && c == '\n'))
			return 0;
		for (size_t k = 1; k < n; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				return 0;
		i += n;
		chars++;
	}
	if (chars == 0 || chars > max_chars)
		return 0;
	/* Overlong forms and surrogates: let jansson's strict check decide. */
	json_t *j = json_stringn(s, len);
	json_decref(j);
	return j != NULL;
}

/* Whether the statement finds a row for id (reset before it returns). */
static int
row_exists(struct db *db, const char *sql, int64_t id)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	int found;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	found = sqlite3_step(st) == SQLITE_ROW;
	db_done(st);
	return found;
}

/* A string field of the table at 1, or NULL; the table keeps it alive. */
static const char *
opt_string(lua_State *L, const char *field, size_t *len)
{
	int t = lua_getfield(L, 1, field);
	const char *s;

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return NULL;
	}
	if (t != LUA_TSTRING)
		luaL_error(L, "notify: %s must be a string", field);
	s = lua_tolstring(L, -1, len);
	lua_pop(L, 1);
	return s;
}

static int64_t
opt_id(lua_State *L, const char *field)
{
	int t = lua_getfield(L, 1, field);
	int64_t id;

	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
		luaL_error(L, "notify: %s must be a positive integer", field);
	id = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return id;
}

/*
 * notify{kind =, recipient_role = | recipient_staff_id =, employee_id =,
 * message =, dedup_key =}: queue a notification in the outbox. true when
 * queued, false when one with the same dedup_key already was.
 */
static int
l_notify(lua_State *L)
{
	static const char staff_sql[] = "SELECT 1 FROM staff WHERE id = ? AND active = 1";
	static const char employee_sql[] = "SELECT 1 FROM employees WHERE id = ?";
	static const char *const fields[] = { "kind", "recipient_role", "recipient_staff_id",
		"employee_id", "message", "dedup_key" };
	struct version *v = version_of(L);
	struct luahost *h = v->s->h;
	struct db *db = h->srv->db;
	size_t kind_len, role_len, msg_len, key_len;
	const char *kind, *role, *msg, *key;
	int64_t staff_id, employee_id;
	char source[64], full_key[300];
	int changes;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		size_t i;
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
		for (i = 0; i < TR_NELEM(fields) && strcmp(k, fields[i]) != 0; i++)
			;
		if (i == TR_NELEM(fields))
			return luaL_error(L,
			    "notify: unknown field '%s' (expected kind, recipient_role or "
			    "recipient_staff_id, employee_id, message, dedup_key)",
			    k);
		lua_pop(L, 1);
	}
	kind = opt_string(L, "kind", &kind_len);
	role = opt_string(L, "recipient_role", &role_len);
	msg = opt_string(L, "message", &msg_len);
	key = opt_string(L, "dedup_key", &key_len);
	staff_id = opt_id(L, "recipient_staff_id");
	employee_id = opt_id(L, "employee_id");
	if (kind == NULL || kind_len == 0 || kind_len > 64 || kind[0] < 'a' || kind[0] > 'z' ||
	    strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_.") != kind_len)
		return luaL_error(L,
		    "notify: kind is required: what happened, [a-z][a-z0-9_.]*, at most 64 "
		    "(e.g. \"contract_ending\")");
	if ((role == NULL) == (staff_id == 0))
		return luaL_error(
		    L, "notify: give one recipient: recipient_role or recipient_staff_id");
	if (role != NULL && role_from_name(role) == ROLE_NONE)
		return luaL_error(L,
		    "notify: recipient_role '%s' is not a role (eti, cip, coordinator or admin)",
		    role);
	if (msg == NULL || !valid_utf8_text(msg, msg_len, MAX_MESSAGE_CHARS, 1))
		return luaL_error(L,
		    "notify: message is required: UTF-8 text of 1 to %d characters, no control "
		    "characters but new lines",
		    MAX_MESSAGE_CHARS);
	if (key != NULL &&
	    (key_len == 0 || key_len > 200 || !valid_utf8_text(key, key_len, 200, 0)))
		return luaL_error(L, "notify: dedup_key is text of 1 to 200 characters");
	if (v->notifies >= MAX_NOTIFY_PER_CALL)
		return luaL_error(
		    L, "notify: at most %d notifications per call", MAX_NOTIFY_PER_CALL);
	if (staff_id != 0 && row_exists(db, staff_sql, staff_id) != 1)
		return luaL_error(L, "notify: recipient_staff_id %I is not an active staff account",
		    (lua_Integer)staff_id);
	if (employee_id != 0 && row_exists(db, employee_sql, employee_id) != 1)
		return luaL_error(
		    L, "notify: employee_id %I is not an employee", (lua_Integer)employee_id);

	/* One transaction for the call: committed after it returns, dropped if it fails. */
	if (!h->tx_open) {
		if (db_begin(db) == -1)
			return luaL_error(L, "notify: the database is busy; try again later");
		h->tx_open = 1;
	}
	snprintf(source, sizeof(source), "lua:%s", v->s->name);
	/* Keys are the script's own: another script cannot collide with them. */
	if (key != NULL)
		snprintf(full_key, sizeof(full_key), "lua:%s:%s", v->s->name, key);
	{
		char kindz[65], rolez[16];
		struct outbox_entry e = { .source = source,
			.kind = kindz,
			.recipient_role = role != NULL ? rolez : NULL,
			.recipient_staff_id = staff_id,
			.employee_id = employee_id,
			.message = msg,
			.dedup_key = key != NULL ? full_key : NULL };
		snprintf(kindz, sizeof(kindz), "%.*s", (int)kind_len, kind);
		if (role != NULL)
			snprintf(rolez, sizeof(rolez), "%.*s", (int)role_len, role);
		if ((changes = outbox_queue(db, &e, NULL)) == -1)
			return luaL_error(
			    L, "notify: cannot queue it: %s", sqlite3_errmsg(db_handle(db)));
	}
	v->notifies++;
	lua_pushboolean(L, changes > 0);
	return 1;
}

static void
log_line(struct version *v, const char *level, const char *msg, size_t len)
{
	char clean[MAX_LOG_BYTES + 1];
	size_t n = len < MAX_LOG_BYTES ? len : MAX_LOG_BYTES;

	if (v->logs >= MAX_LOG_PER_CALL) {
		v->logs_dropped++;
		return;
	}
	v->logs++;
	/* One line per call: no control characters reach the log. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)msg[i];
		clean[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	clean[n] = '\0';
	if (strcmp(level, "debug") == 0)
		log_debug("script %s: %s", v->s->name, clean);
	else if (strcmp(level, "info") == 0)
		log_info("script %s: %s", v->s->name, clean);
	else
		log_warnx("script %s: %s%s", v->s->name,
		    strcmp(level, "error") == 0 ? "error: " : "", clean);
}

/* log(level, message): level is "debug", "info", "warning" or "error". */
static int
l_log(lua_State *L)
{
	static const char *const levels[] = { "debug", "info", "warning", "error", NULL };
	int level = luaL_checkoption(L, 1, NULL, levels);
	size_t len;
	const char *msg = luaL_checklstring(L, 2, &len);

	log_line(version_of(L), levels[level], msg, len);
	return 0;
}

/* print(...): log at info level, arguments separated by tabs. */
static int
l_print(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_Buffer b;
	size_t len;

	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		luaL_tolstring(L, i, NULL);
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	const char *msg = lua_tolstring(L, -1, &len);
	log_line(version_of(L), "info", msg, len);
	return 0;
}

/*
 * Whether url may be fetched by v: https (or http when the daemon allows
 * it), no user information, a host (and port) in the script's http_hosts.
 */
static int
url_allowed(struct version *v, const char *url, char *err, size_t errlen)
{
	json_t *hosts = json_object_get(v->section, "http_hosts"), *e;
	char *scheme = NULL, *host = NULL, *user = NULL, *port = NULL;
	CURLU *u = curl_url();
	int ok = 0;
	size_t i;

	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		snprintf(err, errlen, "'%s' is not a URL", url);
		goto out;
	}
	if (strcmp(scheme, "https") != 0 && !(strcmp(scheme, "http") == 0 && v->s->h->allow_http)) {
		snprintf(err, errlen, "%s: only https:// URLs", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "%s: no user information in URLs", url);
		goto out;
	}
	json_array_foreach (hosts, i, e) {
		const char *allowed = json_string_value(e), *colon = strchr(allowed, ':');
		size_t n = colon ? (size_t)(colon - allowed) : strlen(allowed);
		const char *default_port = strcmp(scheme, "https") == 0 ? "443" : "80";
		if (strlen(host) == n && strncasecmp(host, allowed, n) == 0 &&
		    strcmp(port, colon ? colon + 1 : default_port) == 0)
			ok = 1;
	}
	if (!ok)
		snprintf(err, errlen, "%s: host %s (port %s) is not in this script's http_hosts",
		    url, host, port);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/*
 * http{url =, method =, headers =, body =, timeout_ms =, max_bytes =,
 * callback = function(response) ... end}: start a request; the callback
 * runs later with {ok, status, body, content_type, retry_after} or {ok =
 * false, error, error_text}.
 */
static int
l_http(lua_State *L)
{
	static const char *const fields[] = { "url", "method", "headers", "body", "timeout_ms",
		"max_bytes", "callback" };
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };
	struct version *v = version_of(L);
	struct luahost *h = v->s->h;
	struct net_header hdrs[MAX_HTTP_HEADERS];
	struct net_spec spec;
	size_t nhdrs = 0, body_len = 0, i;
	const char *url, *method = "GET", *body = NULL;
	lua_Integer timeout = HTTP_TIMEOUT_MS, max_bytes = HTTP_MAX_BYTES;
	char err[512];
	struct lhttp *rq;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkstack(L, 20, "http");
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
		for (i = 0; i < TR_NELEM(fields) && strcmp(k, fields[i]) != 0; i++)
			;
		if (i == TR_NELEM(fields))
			return luaL_error(L,
			    "http: unknown field '%s' (expected url, method, headers, body, "
			    "timeout_ms, max_bytes, callback)",
			    k);
		lua_pop(L, 1);
	}
	/* Every value stays on the stack, so the strings live through net_start. */
	if (lua_getfield(L, 1, "url") != LUA_TSTRING)
		return luaL_error(L, "http: url is required (a string)");
	url = lua_tostring(L, -1);
	if (lua_getfield(L, 1, "method") != LUA_TNIL) {
		method = lua_tostring(L, -1);
		for (i = 0; method && i < TR_NELEM(methods) && strcmp(method, methods[i]); i++)
			;
		if (method == NULL || i == TR_NELEM(methods))
			return luaL_error(
			    L, "http: method is GET, POST, PUT, PATCH, DELETE or HEAD");
	}
	if (lua_getfield(L, 1, "body") != LUA_TNIL) {
		if (lua_type(L, -1) != LUA_TSTRING)
			return luaL_error(L, "http: body must be a string (json.encode a table)");
		body = lua_tolstring(L, -1, &body_len);
	}
	if (lua_getfield(L, 1, "timeout_ms") != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
		    lua_tointeger(L, -1) > HTTP_MAX_TIMEOUT_MS)
			return luaL_error(
			    L, "http: timeout_ms is an integer from 1 to %d", HTTP_MAX_TIMEOUT_MS);
		timeout = lua_tointeger(L, -1);
	}
	if (lua_getfield(L, 1, "max_bytes") != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
		    lua_tointeger(L, -1) > (lua_Integer)HTTP_MAX_BYTES)
			return luaL_error(
			    L, "http: max_bytes is an integer from 1 to %d", (int)HTTP_MAX_BYTES);
		max_bytes = lua_tointeger(L, -1);
	}
	if (lua_getfield(L, 1, "callback") != LUA_TFUNCTION)
		return luaL_error(L, "http: callback is required (a function)");
	int cb = lua_gettop(L);
	if (lua_getfield(L, 1, "headers") != LUA_TNIL) {
		int t = lua_gettop(L);
		if (!lua_istable(L, t))
			return luaL_error(L, "http: headers must be a table of names and values");
		lua_pushnil(L);
		while (lua_next(L, t) != 0) {
			if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
				return luaL_error(L, "http: headers are names and string values");
			const char *name = lua_tostring(L, -2), *value = lua_tostring(L, -1);
			if (nhdrs == MAX_HTTP_HEADERS)
				return luaL_error(L, "http: at most %d headers", MAX_HTTP_HEADERS);
			if (name[0] == '\0' || strpbrk(name, ": \t\r\n") != NULL ||
			    strpbrk(value, "\r\n") != NULL)
				return luaL_error(
				    L, "http: header '%s' has a bad name or value", name);
			hdrs[nhdrs++] = (struct net_header){ name, value };
			/* Keep key and value referenced from the table: pop the value only. */
			lua_pop(L, 1);
		}
	}
	if (!url_allowed(v, url, err, sizeof(err)))
		return luaL_error(L, "http: %s", err);
	if (v->nhttp >= MAX_HTTP_IN_FLIGHT)
		return luaL_error(
		    L, "http: at most %d requests in flight per script", MAX_HTTP_IN_FLIGHT);
	if (v->stopping)
		return luaL_error(L, "http: the script is being stopped");
	lua_pushvalue(L, cb);
	int ref = luaL_ref(L, LUA_REGISTRYINDEX);
	if ((rq = calloc(1, sizeof(*rq))) == NULL) {
		luaL_unref(L, LUA_REGISTRYINDEX, ref);
		return luaL_error(L, "out of memory");
	}
	rq->v = v;
	rq->ref = ref;
	spec = (struct net_spec){
		.method = method,
		.url = url,
		.headers = hdrs,
		.nheaders = nhdrs,
		.body = body,
		.body_len = body_len,
		.timeout_ms = (long)timeout,
		.max_bytes = (size_t)max_bytes,
		.follow_redirects = 0, /* a redirect could leave the allowed hosts */
	};
	TAILQ_INSERT_TAIL(&v->http, rq, entry);
	v->nhttp++;
	if (net_start(h->srv->net, v, &spec, http_cb, rq, err, sizeof(err)) == NULL) {
		TAILQ_REMOVE(&v->http, rq, entry);
		v->nhttp--;
		free(rq);
		luaL_unref(L, LUA_REGISTRYINDEX, ref);
		return luaL_error(L, "http: %s", err);
	}
	lua_pushboolean(L, 1);
	return 1;
}

static const char libs_key;

/* use(name): run lib/<name>.lua of the script directory once; its value. */
static int
l_use(lua_State *L)
{
	struct version *v = version_of(L);
	size_t len;
	const char *name = luaL_checklstring(L, 1, &len);
	char path[PATH_MAX], chunk[64];
	struct scriptlib_guard *g;
	struct stat sb;
	ssize_t n;
	int fd;

	if (len == 0 || len > 32 || name[0] < 'a' || name[0] > 'z' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
		return luaL_error(L, "use: '%s' is not a library name ([a-z][a-z0-9_]*)", name);
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &libs_key) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &libs_key);
	}
	int libs = lua_gettop(L);
	if (lua_getfield(L, libs, name) != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	snprintf(path, sizeof(path), "%s/lib/%s.lua", v->s->h->script_dir, name);
	snprintf(chunk, sizeof(chunk), "@lib/%s.lua", name);
	g = scriptlib_push_guard(L);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return luaL_error(L, "use: cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_size > MAX_LIB_BYTES) {
		close(fd);
		return luaL_error(
		    L, "use: %s is not a regular file of at most %d bytes", path, MAX_LIB_BYTES);
	}
	if ((g->mem = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return luaL_error(L, "use: out of memory");
	}
	n = read(fd, g->mem, (size_t)sb.st_size);
	close(fd);
	if (n != sb.st_size)
		return luaL_error(L, "use: cannot read %s", path);
	int status = luabox_loadchunk(L, chunk, g->mem, (size_t)n);
	scriptlib_release(g);
	if (status != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, libs, name);
	return 1;
}

static int
setup_entry(lua_State *L)
{
	static const luaL_Reg api[] = {
		{ "on", l_on },
		{ "every", l_every },
		{ "view", l_view },
		{ "notify", l_notify },
		{ "log", l_log },
		{ "print", l_print },
		{ "http", l_http },
		{ "use", l_use },
		{ NULL, NULL },
	};
	struct version *v = lua_touserdata(L, 1);

	scriptlib_open(L, &v->s->h->clock);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, api, 0);
	scriptlib_push_json(L, json_object_get(v->section, "options"), SCRIPTLIB_READONLY);
	lua_setfield(L, -2, "options");
	lua_createtable(L, 0, 2);
	lua_pushstring(L, v->s->name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, role_name(v->role));
	lua_setfield(L, -2, "role");
	luabox_push_readonly(L, -1);
	lua_setfield(L, -3, "script");
	return 0;
}

struct chunk {
	const char *name;
	const char *text;
	size_t len;
};

static int
main_entry(lua_State *L)
{
	struct chunk *c = lua_touserdata(L, 1);

	if (luabox_loadchunk(L, c->name, c->text, c->len) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	return 0;
}

/* ---- versions ---- */

static void
purge_jobs(struct luahost *h, struct version *v)
{
	struct job *j, *next;

	for (j = TAILQ_FIRST(&h->jobs); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (j->v != v)
			continue;
		TAILQ_REMOVE(&h->jobs, j, entry);
		free(j->http);
		job_free(j);
	}
}

/* Undo everything v registered, close its state, free it. */
static void
version_stop(struct version *v)
{
	struct luahost *h = v->s->h;
	struct lsub *sub;
	struct ltimer *t;

	v->stopping = 1;
	/* Requests first: their callbacks run now and only free. */
	net_cancel_owner(h->srv->net, v);
	sched_cancel_owner(h->srv->sched, v);
	events_unsubscribe_owner(h->srv->events, v);
	purge_jobs(h, v);
	while ((sub = TAILQ_FIRST(&v->subs)) != NULL) {
		TAILQ_REMOVE(&v->subs, sub, entry);
		free(sub);
	}
	while ((t = TAILQ_FIRST(&v->timers)) != NULL) {
		TAILQ_REMOVE(&v->timers, t, entry);
		free(t);
	}
	luabox_free(v->box);
	json_decref(v->section);
	free(v);
}

/* Register what the main chunk recorded. -1 with err (the caller stops v). */
static int
version_start(struct version *v, char *err, size_t errlen)
{
	struct luahost *h = v->s->h;
	struct lsub *sub;
	struct ltimer *t;

	TAILQ_FOREACH (sub, &v->subs, entry)
		if (events_subscribe(h->srv->events, v, sub->name, sub->type, event_cb, sub) ==
		    -1) {
			snprintf(
			    err, errlen, "cannot subscribe to %s (the log says why)", sub->type);
			return -1;
		}
	TAILQ_FOREACH (t, &v->timers, entry) {
		int64_t period = t->period_s * 1000;
		t->t = sched_add(
		    h->srv->sched, v, t->name, t->immediately ? 0 : period, period, 0, timer_cb, t);
		if (t->t == NULL) {
			snprintf(
			    err, errlen, "cannot start the timer %s (the log says why)", t->name);
			return -1;
		}
	}
	return 0;
}

static void
digest_of(const char *text, size_t len, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return;
	for (unsigned i = 0; i < mdlen && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The first line of a leading "--" comment. */
static void
description_of(const char *text, size_t len, char *out, size_t size)
{
	size_t i = 0, n;

	out[0] = '\0';
	if (len < 2 || text[0] != '-' || text[1] != '-')
		return;
	i = 2;
	while (i < len && (text[i] == '-' || text[i] == ' ' || text[i] == '\t'))
		i++;
	n = 0;
	while (i + n < len && text[i + n] != '\n' && text[i + n] != '\r')
		n++;
	if (n >= size) /* cut between characters: a cut one would void the description */
		for (n = size - 1; n > 0 && ((unsigned char)text[i + n] & 0xc0) == 0x80;)
			n--;
	memcpy(out, text + i, n);
	out[n] = '\0';
	json_t *j = json_string(out);
	if (j == NULL)
		out[0] = '\0'; /* not UTF-8: no description */
	json_decref(j);
}

/* Make and load a version of s from text; NULL with *err (malloc'd). */
static struct version *
version_load(struct script *s, const json_t *section, const char *text, size_t len, char **err)
{
	const json_t *lim = json_object_get(section, "limits");
	struct luabox_limits limits = {
		.memory = (size_t)json_integer_value(json_object_get(lim, "memory_mib")) << 20,
		.instructions = json_integer_value(json_object_get(lim, "instructions")),
		.time_ms = json_integer_value(json_object_get(lim, "time_ms")),
	};
	char e[512], chunkname[PATH_MAX + 1];
	struct version *v = calloc(1, sizeof(*v));
	enum luabox_status st;

	if (v == NULL)
		fatal("calloc");
	v->s = s;
	v->section = json_deep_copy(section);
	v->role = role_from_name(json_string_value(json_object_get(section, "role")));
	TAILQ_INIT(&v->subs);
	TAILQ_INIT(&v->timers);
	TAILQ_INIT(&v->http);
	digest_of(text, len, v->digest, sizeof(v->digest));
	description_of(text, len, v->description, sizeof(v->description));
	if ((v->box = luabox_new(&limits, v, e, sizeof(e))) == NULL) {
		*err = xstrdup(e);
		json_decref(v->section);
		free(v);
		return NULL;
	}
	v->loading = 1;
	st = call(v, setup_entry, v, err);
	if (st == LB_OK) {
		snprintf(chunkname, sizeof(chunkname), "@%s", s->file);
		struct chunk c = { chunkname, text, len };
		st = call(v, main_entry, &c, err);
	}
	v->loading = 0;
	if (st != LB_OK) {
		if (st != LB_ERROR && *err != NULL) {
			char *m = NULL;
			if (asprintf(&m, "%s (while loading)", *err) != -1) {
				free(*err);
				*err = m;
			}
		}
		if (*err == NULL)
			*err = xstrdup("out of memory");
		version_stop(v);
		return NULL;
	}
	return v;
}

/* ---- scripts ---- */

static int
read_script(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		close(fd);
		return -1;
	}
	if (sb.st_size > LUABOX_MAX_CHUNK) {
		snprintf(err, errlen, "%s is larger than %d bytes", path, LUABOX_MAX_CHUNK);
		close(fd);
		return -1;
	}
	if ((*text = malloc((size_t)sb.st_size + 1)) == NULL)
		fatal("malloc");
	n = read(fd, *text, (size_t)sb.st_size);
	close(fd);
	if (n != sb.st_size) {
		snprintf(err, errlen, "cannot read %s", path);
		free(*text);
		return -1;
	}
	(*text)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

static void
script_apply(struct luahost *h, struct script *s, const json_t *section)
{
	const char *file = json_string_value(json_object_get(section, "file"));
	char path[PATH_MAX], e[PATH_MAX + 256], digest[17];
	char *text = NULL, *err = NULL;
	size_t len;
	struct version *nv;

	tr_strlcpy(s->file, file, sizeof(s->file));
	if (!json_is_true(json_object_get(section, "enabled"))) {
		if (s->cur != NULL) {
			log_info("script %s: disabled by the configuration", s->name);
			version_stop(s->cur);
			s->cur = NULL;
		}
		s->state = SS_DISABLED_CONFIG;
		set_error(s, "enabled = false in the configuration");
		return;
	}
	if (file[0] == '/')
		tr_strlcpy(path, file, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s/%s", h->script_dir, file);
	if (read_script(path, &text, &len, e, sizeof(e)) == -1) {
		if (s->cur != NULL) {
			set_error(s, "reload refused, the running version %s stays: %s",
			    s->cur->digest, e);
			log_warnx("script %s: %s", s->name, s->last_error);
		} else {
			s->state = SS_DISABLED_FAILED;
			set_error(s, "%s", e);
			log_warnx("script %s: refused: %s", s->name, e);
		}
		return;
	}
	digest_of(text, len, digest, sizeof(digest));
	if (s->cur != NULL && strcmp(digest, s->cur->digest) == 0 &&
	    json_equal(section, s->cur->section)) {
		free(text);
		return; /* unchanged: it runs on */
	}
	nv = version_load(s, section, text, len, &err);
	free(text);
	if (nv == NULL) {
		char line[300];
		if (s->cur != NULL) {
			set_error(s, "reload refused, the running version %s stays: %s",
			    s->cur->digest, err);
			log_warnx("script %s: reload refused, the running version stays: %s",
			    s->name, first_line(err, line, sizeof(line)));
		} else {
			s->state = SS_DISABLED_FAILED;
			set_error(s, "%s", err);
			log_warnx(
			    "script %s: refused: %s", s->name, first_line(err, line, sizeof(line)));
		}
		free(err);
		return;
	}
	if (s->cur != NULL) {
		version_stop(s->cur);
		s->cur = NULL;
	}
	if (version_start(nv, e, sizeof(e)) == -1) {
		version_stop(nv);
		s->state = SS_DISABLED_FAILED;
		set_error(s, "%s", e);
		log_warnx("script %s: refused: %s", s->name, e);
		return;
	}
	s->cur = nv;
	s->state = SS_ENABLED;
	s->failures_in_row = 0;
	set_error(s, NULL);
	log_info("script %s %s loaded from %s (%s; %zu bytes of memory)", s->name, nv->digest, path,
	    nv->description[0] ? nv->description : "no description", luabox_memory(nv->box));
}

static void
script_free(struct script *s)
{
	if (s->cur != NULL)
		version_stop(s->cur);
	free(s->last_error);
	free(s);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
luahost_apply(struct luahost *h, const struct config *conf)
{
	struct script *s, *next;
	const char *name;
	json_t *section;
	size_t n = json_object_size(conf->scripts), k = 0;
	const char **names = calloc(n ? n : 1, sizeof(*names));

	if (names == NULL)
		fatal("calloc");
	free(h->script_dir);
	h->script_dir = xstrdup(conf->script_dir);
	h->allow_http = conf->allow_http;
	TAILQ_FOREACH (s, &h->scripts, entry)
		s->seen = 0;
	json_object_foreach (conf->scripts, name, section)
		names[k++] = name;
	qsort(names, n, sizeof(*names), cmp_names);
	for (k = 0; k < n; k++) {
		TAILQ_FOREACH (s, &h->scripts, entry)
			if (strcmp(s->name, names[k]) == 0)
				break;
		if (s == NULL) {
			if ((s = calloc(1, sizeof(*s))) == NULL)
				fatal("calloc");
			s->h = h;
			s->state = SS_DISABLED_FAILED;
			tr_strlcpy(s->name, names[k], sizeof(s->name));
			/* In name order, as GET /v1/plugins lists them. */
			struct script *after = NULL, *o;
			TAILQ_FOREACH (o, &h->scripts, entry)
				if (strcmp(o->name, s->name) < 0)
					after = o;
			if (after == NULL)
				TAILQ_INSERT_HEAD(&h->scripts, s, entry);
			else
				TAILQ_INSERT_AFTER(&h->scripts, after, s, entry);
		}
		s->seen = 1;
		script_apply(h, s, json_object_get(conf->scripts, names[k]));
	}
	free(names);
	for (s = TAILQ_FIRST(&h->scripts); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->seen)
			continue;
		log_info("script %s: no longer in the configuration; stopped", s->name);
		TAILQ_REMOVE(&h->scripts, s, entry);
		script_free(s);
	}
}

struct luahost *
luahost_new(struct server *srv)
{
	struct luahost *h = calloc(1, sizeof(*h));

	if (h == NULL)
		fatal("calloc");
	h->srv = srv;
	TAILQ_INIT(&h->scripts);
	TAILQ_INIT(&h->jobs);
	h->clock.now_ms = host_now;
	h->clock.arg = h;
	if ((h->ev_jobs = evtimer_new(srv->base, jobs_cb, h)) == NULL)
		fatalx("luahost: evtimer_new");
	return h;
}

void
luahost_free(struct luahost *h)
{
	struct script *s;

	if (h == NULL)
		return;
	while ((s = TAILQ_FIRST(&h->scripts)) != NULL) {
		TAILQ_REMOVE(&h->scripts, s, entry);
		if (s->cur != NULL)
			log_info("script %s: stopping", s->name);
		script_free(s);
	}
	/* Every job belonged to a version: none is left. */
	event_free(h->ev_jobs);
	free(h->script_dir);
	free(h);
}

json_t *
luahost_json(struct luahost *h)
{
	json_t *items = json_array();
	struct script *s;

	if (h == NULL)
		return items;
	TAILQ_FOREACH (s, &h->scripts, entry) {
		struct version *v = s->cur;
		json_t *timers = json_array();
		if (v != NULL) {
			struct ltimer *t;
			TAILQ_FOREACH (t, &v->timers, entry)
				json_array_append_new(timers,
				    json_pack("{s:s, s:I, s:I}", "name", t->name, "period_s",
				        (json_int_t)t->period_s, "runs",
				        (json_int_t)(t->t ? sched_timer_runs(t->t) : 0)));
		}
		const json_t *lim =
		    v ? json_object_get(json_object_get(v->section, "limits"), "memory_mib") : NULL;
		json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}", "name", s->name, "kind",
		    "lua", "state", state_names[s->state], "version", v ? v->digest : NULL,
		    "description", v && v->description[0] ? v->description : NULL, "last_error",
		    s->last_error);
		json_object_set_new(o, "subscriptions",
		    v ? events_subscriptions_json(h->srv->events, v) : json_array());
		json_object_set_new(o, "script",
		    json_pack("{s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:o, s:I}", "file", s->file,
		        "role", v ? role_name(v->role) : NULL, "memory_bytes",
		        (json_int_t)(v ? luabox_memory(v->box) : 0), "memory_limit_bytes",
		        (json_int_t)(lim ? json_integer_value(lim) << 20 : 0), "calls",
		        (json_int_t)s->calls, "failures", (json_int_t)s->failures,
		        "failures_in_row", (json_int_t)s->failures_in_row, "timers", timers,
		        "http_in_flight", (json_int_t)(v ? v->nhttp : 0)));
		json_array_append_new(items, o);
	}
	return items;
}
