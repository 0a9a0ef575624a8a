/*
 * The Lua host's own header, shared by its three files: luahost.c (scripts
 * and their versions: load, reload, disable), luajobs.c (the job queue: every
 * call into a script is a job, run within its budget) and luaapi.c (what a
 * script may call: on, every, view, notify, http, json, log...). Not for
 * the rest of the daemon, which sees luahost.h.
 */
#ifndef TREMPLIN_LUAHOST_INT_H
#define TREMPLIN_LUAHOST_INT_H

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

enum script_state { SS_ENABLED, SS_DISABLED_FAILED, SS_DISABLED_CONFIG, SS_LOADING };

struct version;

struct lsub {
	TAILQ_ENTRY(lsub) entry;
	struct version *v;
	char name[200]; /* durable: "<script>/on:<type>" */
	char type[128];
	int ref; /* the handler, in the registry */
	int failures_in_row;
};

struct ltimer {
	TAILQ_ENTRY(ltimer) entry;
	struct version *v;
	char name[100]; /* durable: "<script>/<label>" */
	int64_t period_s;
	int immediately;
	int ref;
	int queued; /* a run waits in the job queue: the next one is skipped */
	int failures_in_row;
	struct sched_timer *t;
};

struct lhttp {
	TAILQ_ENTRY(lhttp) entry;
	struct version *v;
	int ref; /* the callback */
	int64_t id; /* in a worker: the worker's name for the callback */
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
	/* Failures in a row of the http{} callbacks: a success elsewhere forgives none. */
	int http_failures_in_row;
	/* For the call that runs. */
	int notifies, logs, logs_dropped;
	int64_t pending; /* the script's notifications waiting in the outbox, when known */
	int pending_known;
	/* In worker mode: the worker, the text it loads again when restarted, its memory. */
	struct lworker *w;
	char *text;
	size_t text_len;
	size_t memory;
};

/* A quota across calls: what was used in the window that began at start_us. */
struct quota {
	int64_t start_us;
	int64_t used;
};

struct script {
	TAILQ_ENTRY(script) entry;
	struct luahost *h;
	char name[33];
	enum script_state state;
	char *last_error;
	char file[PATH_MAX]; /* as configured, for messages */
	struct version *cur;
	struct version *next; /* loading in its worker: replaces cur once loaded */
	int failures_in_row;
	int disk_full; /* the last call failed because the disk is full: not its fault */
	int64_t calls, failures;
	int seen;
	/* Quotas across calls (limits.*), kept across versions; reset by a reload. */
	struct quota q_notify, q_http, q_cpu;
	char quota_reason[256]; /* a quota was passed: the script goes after this call */
};

enum job_kind { JOB_EVENT, JOB_TIMER, JOB_HTTP };

#define LH_EVENT_WINDOW 256 /* events of one subscription queued at once */

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
	char *payload_text; /* for a worker: the payload as stored, instead */
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
	int workers; /* scripts in worker processes (script_workers) */
	int applied; /* luahost_apply ran once: later loads do not wait */
	int nloading; /* versions loading in their workers */
	struct event *ev_loaded; /* tells the waiters once none is loading */
	TAILQ_HEAD(, lwaiter) waiters;
};

/* Told once no version loads (luahost_when_loaded). */
struct lwaiter {
	TAILQ_ENTRY(lwaiter) entry;
	void (*fn)(void *);
	void *arg;
};

/* A script's text, for lh_main_entry. */
struct chunk {
	const char *name;
	const char *text;
	size_t len;
};

/* Shared between the three files. */
long lh_limit(const struct version *v, const char *name);
int lh_quota_left(struct quota *q, int64_t window_us, int64_t max, int64_t n);
int lh_quota_fail(lua_State *L, struct version *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int lh_main_entry(lua_State *L);
int64_t lh_mono_us(void);
void lh_set_error(struct script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *lh_log_text(const char *msg, size_t len, char *buf, size_t size);
const char *lh_first_line(const char *msg, char *buf, size_t size);
/* An interval's text, "<n>s", "<n>m", "<n>h" or "<n>d": seconds; 0 when it is not one. */
int64_t lh_interval(const char *);
/*
 * use(name)'s library lib/<name>.lua of the script directory (the name
 * checked, at most MAX_LIB_BYTES): its text malloc'd in *text, or -1 and why.
 */
int lh_read_lib(
    const struct luahost *, const char *name, char **text, size_t *len, char *err, size_t errlen);
struct version *lh_version_of(lua_State *L);
void lh_version_stop(struct version *v);
void lh_job_free(struct job *j);
void lh_drop_events(struct luahost *, const struct lsub *);
char *lh_xstrdup(const char *s);
enum luabox_status lh_call(struct version *v, lua_CFunction fn, void *arg, char **err);
void lh_jobs_cb(evutil_socket_t fd, short what, void *arg);
const char *lh_net_error_name(int e);
int lh_disables(const struct version *v, enum luabox_status st, const int *row);
int lh_outcome(struct version *v, enum luabox_status st, char *err, const char *what, int *row);
int lh_event_cb(const struct event_rec *rec, void *arg);
void lh_timer_cb(struct sched_timer *t, int64_t now, void *arg);
void lh_http_cb(const struct net_result *res, void *arg);
int lh_setup_entry(lua_State *L);
/* luaapi.c's checks and effects, shared with the worker's calls (luaproc.c). */
int view_audit(struct luahost *h, struct version *v, const struct view *view, const json_t *rows);
int valid_utf8_text(const char *s, size_t len, size_t max_chars, int newlines);
int64_t outbox_pending(struct db *db, const char *source);
void log_line(struct version *v, const char *level, const char *msg, size_t len);
int url_allowed(struct version *v, const char *url, char *err, size_t errlen);
int framing_header(const char *name);
/* Site scripts in worker processes (luaproc.c). */
struct lworker;
/* Starts the load: 0, then its outcome goes to lh_loaded; -1 with *err when it cannot start. */
int lp_load(struct version *v, const char *text, size_t len, char **err);
/* A version loaded in its worker (err NULL) or not (err, taken): 1 when v was stopped. */
int lh_loaded(struct version *v, char *err);
void lp_version_stop(struct version *v);
int lp_run_jobs(struct luahost *h);
void lp_shutdown(void); /* reap the killed workers left */

#endif
