/*
 * Site scripts in worker processes (script_workers = true): the daemon's
 * side. Each script runs in a process of its own (tremplind -L, luaworker.c)
 * that shares nothing with the daemon but a socketpair; jobs go in as
 * messages (luamsg.h) and the worker's calls come back as messages, which
 * this file answers with luaapi.c's checks and effects.
 *
 * One worker per script, not a pool: a worker killed for one script's sake
 * takes no other script's state with it, and a restart reloads one text.
 *
 * The core never waits on a worker: a job is written and the answer read
 * by the event loop, and a call that passes its time limit plus a grace
 * period is ended by SIGKILL (the script is then disabled with the
 * reason). Loading a script (on a reload, or a worker started again) is a
 * job like the others, within the time limit plus a start allowance; the
 * running version serves until the new one has loaded (luahost.c).
 *
 * The notifications of a call are kept here until its "done" and written
 * then in one transaction (never one left open across loop iterations), or
 * dropped when it failed. A worker that dies (killed from outside, or
 * crashed) fails the call it ran, which the journal retries; it is started
 * again with the same text, and the script's cursors and timers, kept by
 * the daemon, are untouched.
 */
#include "luahost_int.h"
#include "alerts.h"
#include "luamsg.h"

#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#define GRACE_MS 200 /* past a call's time limit, before SIGKILL */
#define START_MS 3000 /* to start a worker and load, besides the time limit */
/* A worker's address space besides its script's memory: the binary, libraries, stacks. */
#define BASE_AS ((rlim_t)768 << 20)

#if defined(__SANITIZE_ADDRESS__)
#define NO_RLIMIT_AS 1 /* ASan maps terabytes of shadow memory */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_RLIMIT_AS 1
#endif
#endif

struct lworker {
	struct version *v;
	pid_t pid;
	int fd;
	struct bufferevent *bev; /* once loaded: the loop reads it */
	struct event *deadline;
	struct job *job; /* the job it runs; NULL when idle */
	TAILQ_HEAD(jobbatch, job) batch; /* events sent after job, to run after it in order */
	int nbatch;
	json_t *notes; /* the running call's notifications */
	int64_t started_us;
	int statfd; /* /proc/<pid>/schedstat: the CPU time it used, as the kernel counts it */
	int64_t cpu_ns; /* what statfd said last */
	int64_t charge_us; /* CPU the next finish charges to cpu_ms_per_minute; -1: wall-clock */
	int64_t host_us; /* the daemon's time answering its calls (views...) since cpu_ns */
	int load_tries; /* loads given up for want of a CPU, in a row */
	int dead;
	int loading; /* LOAD_* while its "load" runs or waits; 0 after */
	TAILQ_ENTRY(lworker) waiting;
};

#define LOAD_FIRST 1 /* a new version (at start or on a reload): luahost.c decides */
#define LOAD_AGAIN 2 /* a running version whose worker died: started again */
#define LOAD_WAITING 3 /* a new version waiting for its turn (see lp_load) */

/*
 * New versions load a few at a time, as many as the machine has CPUs: the
 * main chunks run under a wall-clock limit, and sixty loading at once on two
 * CPUs would pass it for want of a CPU (at start, every script loads).
 */
static TAILQ_HEAD(, lworker) waiting = TAILQ_HEAD_INITIALIZER(waiting);
static int loads_running;

static int64_t
limit_of(const struct version *v, const char *name)
{
	return (int64_t)lh_limit(v, name);
}

/* ---- the worker's calls ---- */

static json_t *
call_view(struct version *v, json_t *a, char *err, size_t errlen)
{
	struct luahost *h = v->s->h;
	const char *name = json_string_value(json_object_get(a, "name"));
	json_t *rows;

	if (name == NULL) {
		snprintf(err, errlen, "view: the name is a string");
		return NULL;
	}
	if (view_run(h->srv->db, name, v->role, json_object_get(a, "params"), &rows, err, errlen) ==
	    -1)
		return NULL;
	if (view_audit(h, v, view_find(name), rows) == -1) {
		json_decref(rows);
		snprintf(err, errlen, "view %s: the audit log cannot record this read", name);
		return NULL;
	}
	return rows;
}

/* A string member, or NULL; -1 when present and not a string. */
static int
opt_str(json_t *a, const char *k, const char **s, size_t *len)
{
	json_t *x = json_object_get(a, k);

	*s = NULL;
	*len = 0;
	if (x == NULL)
		return 0;
	if (!json_is_string(x))
		return -1;
	*s = json_string_value(x);
	*len = json_string_length(x);
	return 0;
}

static int
opt_pos(json_t *a, const char *k, int64_t *id)
{
	json_t *x = json_object_get(a, k);

	*id = 0;
	if (x == NULL)
		return 0;
	if (!json_is_integer(x) || json_integer_value(x) <= 0)
		return -1;
	*id = json_integer_value(x);
	return 0;
}

static json_t *
call_notify(struct version *v, json_t *a, char *err, size_t errlen)
{
	static const char *const fields[] = { "kind", "recipient_role", "recipient_staff_id",
		"employee_id", "message", "dedup_key" };
	struct lworker *w = v->w;
	struct db *db = v->s->h->srv->db;
	const char *k, *kind, *role, *msg, *key;
	size_t kind_len, role_len, msg_len, key_len, i;
	int64_t staff_id, employee_id;
	char full_key[300], source[64];
	json_t *x, *note;

	if (!json_is_object(a)) {
		snprintf(err, errlen, "notify: a table of fields");
		return NULL;
	}
	json_object_foreach (a, k, x) {
		for (i = 0; i < TR_NELEM(fields) && strcmp(k, fields[i]) != 0; i++)
			;
		if (i == TR_NELEM(fields)) {
			snprintf(err, errlen,
			    "notify: unknown field '%s' (expected kind, recipient_role or "
			    "recipient_staff_id, employee_id, message, dedup_key)",
			    k);
			return NULL;
		}
	}
	/* In-process order and words: the fields checked one by one. */
	{
		static const char *const strs[] = { "kind", "recipient_role", "message",
			"dedup_key" };
		const char **out[] = { &kind, &role, &msg, &key };
		size_t *lens[] = { &kind_len, &role_len, &msg_len, &key_len };
		for (i = 0; i < TR_NELEM(strs); i++)
			if (opt_str(a, strs[i], out[i], lens[i]) == -1) {
				snprintf(err, errlen, "notify: %s must be a string", strs[i]);
				return NULL;
			}
		if (opt_pos(a, "recipient_staff_id", &staff_id) == -1) {
			snprintf(
			    err, errlen, "notify: recipient_staff_id must be a positive integer");
			return NULL;
		}
		if (opt_pos(a, "employee_id", &employee_id) == -1) {
			snprintf(err, errlen, "notify: employee_id must be a positive integer");
			return NULL;
		}
	}
	if (kind == NULL || kind_len == 0 || kind_len > 64 || kind[0] < 'a' || kind[0] > 'z' ||
	    strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_.") != kind_len) {
		snprintf(err, errlen,
		    "notify: kind is required: what happened, [a-z][a-z0-9_.]*, at most 64");
		return NULL;
	}
	if ((role == NULL) == (staff_id == 0)) {
		snprintf(err, errlen,
		    "notify: give one recipient: recipient_role or recipient_staff_id");
		return NULL;
	}
	if (role != NULL && role_from_name(role) == ROLE_NONE) {
		snprintf(err, errlen,
		    "notify: recipient_role '%s' is not a role (eti, cip, coordinator or admin)",
		    role);
		return NULL;
	}
	if (msg == NULL || !valid_utf8_text(msg, msg_len, MAX_MESSAGE_CHARS, 1)) {
		snprintf(err, errlen,
		    "notify: message is required: UTF-8 text of 1 to %d characters, no control "
		    "characters but new lines",
		    MAX_MESSAGE_CHARS);
		return NULL;
	}
	if (key != NULL &&
	    (key_len == 0 || key_len > 200 || !valid_utf8_text(key, key_len, 200, 0))) {
		snprintf(err, errlen, "notify: dedup_key is text of 1 to 200 characters");
		return NULL;
	}
	if (v->notifies >= MAX_NOTIFY_PER_CALL) {
		snprintf(
		    err, errlen, "notify: at most %d notifications per call", MAX_NOTIFY_PER_CALL);
		return NULL;
	}
	/* The quotas, as in-process (luaapi.c's notify_quotas). */
	if (!lh_quota_left(&v->s->q_notify, (int64_t)3600 * 1000000,
	        limit_of(v, "notifications_per_hour"), 1)) {
		snprintf(v->s->quota_reason, sizeof(v->s->quota_reason),
		    "notifications_per_hour: more than %lld notifications queued within an hour",
		    (long long)limit_of(v, "notifications_per_hour"));
		snprintf(err, errlen, "quota: %s", v->s->quota_reason);
		return NULL;
	}
	snprintf(source, sizeof(source), "lua:%s", v->s->name);
	if (!v->pending_known) {
		if ((v->pending = outbox_pending(db, source)) == -1) {
			snprintf(err, errlen, "notify: the outbox cannot be read; try again later");
			return NULL;
		}
		v->pending_known = 1;
	}
	if (v->pending + 1 > limit_of(v, "outbox_pending")) {
		snprintf(v->s->quota_reason, sizeof(v->s->quota_reason),
		    "outbox_pending: %lld notifications of this script wait in the outbox (at "
		    "most %lld)",
		    (long long)v->pending, (long long)limit_of(v, "outbox_pending"));
		snprintf(err, errlen, "quota: %s", v->s->quota_reason);
		return NULL;
	}
	{
		struct outbox_entry who = { .recipient_staff_id = staff_id,
			.employee_id = employee_id };
		char why[128];
		if (outbox_check(db, &who, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "notify: %s", why);
			return NULL;
		}
	}
	v->notifies++;
	/* Queued once per key: already in the outbox, or earlier in this call. */
	if (key != NULL) {
		snprintf(full_key, sizeof(full_key), "lua:%s:%.*s", v->s->name, (int)key_len, key);
		json_array_foreach (w->notes, i, x) {
			const char *other = json_string_value(json_object_get(x, "dedup_key"));
			if (other != NULL && strcmp(other, full_key) == 0)
				return json_false();
		}
		sqlite3_stmt *st = db_stmt(db, "SELECT 1 FROM outbox WHERE dedup_key = ?");
		int found;
		if (st == NULL) {
			snprintf(err, errlen, "notify: the outbox cannot be read; try again later");
			return NULL;
		}
		sqlite3_bind_text(st, 1, full_key, -1, SQLITE_TRANSIENT);
		found = sqlite3_step(st) == SQLITE_ROW;
		db_done(st);
		if (found)
			return json_false();
	}
	note = json_pack("{s:s, s:s%, s:s%, s:I, s:I, s:s%}", "source", source, "kind", kind,
	    kind_len, "recipient_role", role ? role : "", role ? role_len : 0, "recipient_staff_id",
	    (json_int_t)staff_id, "employee_id", (json_int_t)employee_id, "message", msg, msg_len);
	if (note == NULL) {
		snprintf(err, errlen, "notify: out of memory");
		return NULL;
	}
	if (key != NULL)
		json_object_set_new(note, "dedup_key", json_string(full_key));
	json_array_append_new(w->notes, note);
	v->s->q_notify.used++;
	v->pending++;
	return json_true();
}

/* One resolve note applied: its count in *n. -1 on a database error. */
static int
apply_resolve(struct db *db, const json_t *r, int64_t *n)
{
	const char *keep = json_string_value(json_object_get(r, "keep"));

	return alerts_resolve_by_rule(db, json_string_value(json_object_get(r, "source")),
	    json_string_value(json_object_get(r, "key")),
	    json_string_value(json_object_get(r, "prefix")), keep, n);
}

/* The call's notes (notifications and resolves) in order, in the open transaction. */
static int
apply_notes(struct version *v, struct db *db)
{
	size_t i;
	json_t *n;
	int64_t count;

	json_array_foreach (v->w->notes, i, n) {
		const json_t *r = json_object_get(n, "resolve");
		if (r != NULL) {
			if (apply_resolve(db, r, &count) == -1)
				return -1;
			continue;
		}
		const char *role = json_string_value(json_object_get(n, "recipient_role"));
		struct outbox_entry e = {
			.source = json_string_value(json_object_get(n, "source")),
			.kind = json_string_value(json_object_get(n, "kind")),
			.recipient_role = role && role[0] ? role : NULL,
			.recipient_staff_id =
			    json_integer_value(json_object_get(n, "recipient_staff_id")),
			.employee_id = json_integer_value(json_object_get(n, "employee_id")),
			.message = json_string_value(json_object_get(n, "message")),
			.dedup_key = json_string_value(json_object_get(n, "dedup_key")),
		};
		if (outbox_queue(db, &e, NULL) == -1)
			return -1;
	}
	return 0;
}

/* Write the call's notifications and resolves, in one transaction: -1 with err. */
static int
commit_notes(struct version *v, char **err)
{
	struct db *db = v->s->h->srv->db;

	if (json_array_size(v->w->notes) == 0)
		return 0;
	if (db_begin(db) == -1)
		goto fail;
	if (apply_notes(v, db) == -1) {
		db_rollback(db);
		goto fail;
	}
	if (db_commit(db) == -1)
		goto fail;
	return 0;
fail:
	if (asprintf(err, "notify: the notifications of this call could not be committed: %s",
	        sqlite3_errmsg(db_handle(db))) == -1)
		*err = NULL;
	return -1;
}

/*
 * resolve() from a worker: {key} or {prefix, keep}. Kept with the call's
 * notifications and written with them when the call succeeds, in order (as
 * in-process, where both go in the call's transaction). The count it
 * returns is what the call's notes so far and this resolve would do: they
 * are applied in a transaction rolled back at once.
 */
static json_t *
call_resolve(struct version *v, json_t *a, char *err, size_t errlen)
{
	struct db *db = v->s->h->srv->db;
	const char *key = json_string_value(json_object_get(a, "key"));
	const char *prefix = json_string_value(json_object_get(a, "prefix"));
	json_t *keep = json_object_get(a, "keep"), *full_keep = NULL, *x, *r;
	char source[64], full[300], *keep_text = NULL;
	int64_t n = 0;
	size_t i;
	int rc;

	snprintf(source, sizeof(source), "lua:%s", v->s->name);
	if ((key == NULL) == (prefix == NULL) ||
	    (key == NULL && keep != NULL && !json_is_array(keep))) {
		snprintf(err, errlen, "resolve: give a key, or {prefix = ..., keep = {...}}");
		return NULL;
	}
	if (snprintf(full, sizeof(full), "lua:%s:%s", v->s->name, key ? key : prefix) >=
	    (int)sizeof(full)) {
		snprintf(err, errlen, "resolve: a key is at most 200 characters");
		return NULL;
	}
	if (prefix != NULL) {
		full_keep = json_array();
		json_array_foreach (keep, i, x) {
			char k[300];
			if (!json_is_string(x) || i >= 5000 ||
			    snprintf(k, sizeof(k), "lua:%s:%s", v->s->name, json_string_value(x)) >=
			        (int)sizeof(k)) {
				json_decref(full_keep);
				snprintf(err, errlen,
				    "resolve: keep must be a list of at most 5000 keys of at most "
				    "200 "
				    "characters");
				return NULL;
			}
			json_array_append_new(full_keep, json_string(k));
		}
		if ((keep_text = json_dumps(full_keep, JSON_COMPACT)) == NULL) {
			json_decref(full_keep);
			snprintf(err, errlen, "resolve: out of memory");
			return NULL;
		}
		json_decref(full_keep);
	}
	r = json_pack("{s:s, s:s}", "source", source, key ? "key" : "prefix", full);
	if (r != NULL && keep_text != NULL)
		json_object_set_new(r, "keep", json_string(keep_text));
	free(keep_text);
	if (r == NULL) {
		snprintf(err, errlen, "resolve: out of memory");
		return NULL;
	}
	if (db_begin(db) == -1) {
		json_decref(r);
		snprintf(err, errlen, "resolve: the database is busy; try again later");
		return NULL;
	}
	rc = apply_notes(v, db) == -1 ? -1 : apply_resolve(db, r, &n);
	db_rollback(db);
	if (rc == -1) {
		json_decref(r);
		snprintf(err, errlen, "resolve: %s", sqlite3_errmsg(db_handle(db)));
		return NULL;
	}
	json_array_append_new(v->w->notes, json_pack("{s:o}", "resolve", r));
	return json_integer((json_int_t)n);
}

static json_t *
call_use(struct version *v, json_t *a, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(a, "name"));
	json_t *out;
	char *text;
	size_t len;

	if (lh_read_lib(v->s->h, name ? name : "", &text, &len, err, errlen) == -1)
		return NULL;
	if (len > 0 && text[0] == LUA_SIGNATURE[0]) {
		free(text);
		snprintf(err, errlen, "use: @lib/%s.lua: binary chunks are refused", name);
		return NULL;
	}
	if ((out = json_stringn(text, len)) == NULL)
		snprintf(err, errlen, "use: lib/%s.lua is not UTF-8 text", name);
	free(text);
	return out;
}

static json_t *
call_log(struct version *v, json_t *a, char *err, size_t errlen)
{
	const char *level = json_string_value(json_object_get(a, "level"));
	json_t *t = json_object_get(a, "text");

	(void)err, (void)errlen;
	if (level == NULL || !json_is_string(t) ||
	    (strcmp(level, "debug") && strcmp(level, "info") && strcmp(level, "warning") &&
	        strcmp(level, "error")))
		level = "warning";
	log_line(v, level, json_string_value(t) ? json_string_value(t) : "", json_string_length(t));
	return NULL;
}

/* http{...} without its callback (the worker keeps it under args.id): checked as in-process. */
static json_t *
call_http(struct version *v, json_t *a, char *err, size_t errlen)
{
	static const char *const fields[] = { "url", "method", "headers", "body", "timeout_ms",
		"max_bytes", "id" };
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };
	struct net_header hdrs[MAX_HTTP_HEADERS];
	struct net_spec spec;
	size_t nhdrs = 0, i;
	const char *k, *url, *method = "GET";
	json_int_t timeout = HTTP_TIMEOUT_MS, max_bytes = HTTP_MAX_BYTES;
	json_t *x, *body = json_object_get(a, "body");
	struct lhttp *rq;

	json_object_foreach (a, k, x) {
		for (i = 0; i < TR_NELEM(fields) && strcmp(k, fields[i]) != 0; i++)
			;
		if (i == TR_NELEM(fields)) {
			snprintf(err, errlen,
			    "http: unknown field '%s' (expected url, method, headers, body, "
			    "timeout_ms, max_bytes, callback)",
			    k);
			return NULL;
		}
	}
	if ((url = json_string_value(json_object_get(a, "url"))) == NULL) {
		snprintf(err, errlen, "http: url is required (a string)");
		return NULL;
	}
	if ((x = json_object_get(a, "method")) != NULL) {
		method = json_string_value(x);
		for (i = 0; method && i < TR_NELEM(methods) && strcmp(method, methods[i]); i++)
			;
		if (method == NULL || i == TR_NELEM(methods)) {
			snprintf(
			    err, errlen, "http: method is GET, POST, PUT, PATCH, DELETE or HEAD");
			return NULL;
		}
	}
	if (body != NULL && !json_is_string(body)) {
		snprintf(err, errlen, "http: body must be a string (json.encode a table)");
		return NULL;
	}
	if ((x = json_object_get(a, "timeout_ms")) != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 1 ||
		    json_integer_value(x) > HTTP_MAX_TIMEOUT_MS) {
			snprintf(err, errlen, "http: timeout_ms is an integer from 1 to %d",
			    HTTP_MAX_TIMEOUT_MS);
			return NULL;
		}
		timeout = json_integer_value(x);
	}
	if ((x = json_object_get(a, "max_bytes")) != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 1 ||
		    json_integer_value(x) > (json_int_t)HTTP_MAX_BYTES) {
			snprintf(err, errlen, "http: max_bytes is an integer from 1 to %d",
			    (int)HTTP_MAX_BYTES);
			return NULL;
		}
		max_bytes = json_integer_value(x);
	}
	if ((x = json_object_get(a, "headers")) != NULL) {
		const char *name;
		json_t *val;
		if (!json_is_object(x)) {
			snprintf(err, errlen, "http: headers must be a table of names and values");
			return NULL;
		}
		json_object_foreach (x, name, val) {
			const char *value = json_string_value(val);
			if (value == NULL) {
				snprintf(err, errlen, "http: headers are names and string values");
				return NULL;
			}
			if (nhdrs == MAX_HTTP_HEADERS) {
				snprintf(err, errlen, "http: at most %d headers", MAX_HTTP_HEADERS);
				return NULL;
			}
			if (name[0] == '\0' || strpbrk(name, ": \t\r\n") != NULL ||
			    strpbrk(value, "\r\n") != NULL ||
			    strlen(value) != json_string_length(val)) {
				snprintf(
				    err, errlen, "http: header '%s' has a bad name or value", name);
				return NULL;
			}
			if (framing_header(name)) {
				snprintf(err, errlen,
				    "http: header '%s' is not the script's to set (the daemon "
				    "frames "
				    "the request: no Content-Length, Transfer-Encoding, Host, "
				    "Connection, Expect, Upgrade, TE, Trailer, Keep-Alive, "
				    "Proxy-*)",
				    name);
				return NULL;
			}
			hdrs[nhdrs++] = (struct net_header){ name, value };
		}
	}
	if (!url_allowed(v, url, err, errlen)) {
		char m[512];
		snprintf(m, sizeof(m), "http: %s", err);
		snprintf(err, errlen, "%s", m);
		return NULL;
	}
	if (v->nhttp >= MAX_HTTP_IN_FLIGHT) {
		snprintf(err, errlen, "http: at most %d requests in flight per script",
		    MAX_HTTP_IN_FLIGHT);
		return NULL;
	}
	if (!lh_quota_left(&v->s->q_http, 60 * 1000000, limit_of(v, "http_per_minute"), 1)) {
		snprintf(v->s->quota_reason, sizeof(v->s->quota_reason),
		    "http_per_minute: more than %lld requests started within a minute",
		    (long long)limit_of(v, "http_per_minute"));
		snprintf(err, errlen, "quota: %s", v->s->quota_reason);
		return NULL;
	}
	v->s->q_http.used++;
	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		fatal("calloc");
	rq->v = v;
	rq->ref = LUA_NOREF;
	rq->id = json_integer_value(json_object_get(a, "id"));
	spec = (struct net_spec){
		.method = method,
		.url = url,
		.headers = hdrs,
		.nheaders = nhdrs,
		.body = body ? json_string_value(body) : NULL,
		.body_len = body ? json_string_length(body) : 0,
		.timeout_ms = (long)timeout,
		.max_bytes = (size_t)max_bytes,
		.follow_redirects = 0,
	};
	TAILQ_INSERT_TAIL(&v->http, rq, entry);
	v->nhttp++;
	if (net_start(v->s->h->srv->net, v, &spec, lh_http_cb, rq, err, errlen) == NULL) {
		TAILQ_REMOVE(&v->http, rq, entry);
		v->nhttp--;
		free(rq);
		char m[512];
		snprintf(m, sizeof(m), "http: %s", err);
		snprintf(err, errlen, "%s", m);
		return NULL;
	}
	return json_true();
}

/*
 * The calls a worker may make: a name, its handler (a reply, or NULL with
 * err), and whether the worker waits for the answer. A new script function
 * is one more row (and a stub in luaworker.c).
 */
static const struct {
	const char *name;
	json_t *(*fn)(struct version *, json_t *args, char *err, size_t errlen);
	int answered;
} calls[] = {
	{ "view", call_view, 1 },
	{ "notify", call_notify, 1 },
	{ "resolve", call_resolve, 1 },
	{ "use", call_use, 1 },
	{ "http", call_http, 1 },
	{ "log", call_log, 0 },
};

/* The answer to a worker's call, or NULL when none is due. */
static json_t *
answer(struct version *v, const char *name, json_t *args)
{
	char err[1024] = "";
	json_t *r;

	for (size_t i = 0; i < TR_NELEM(calls); i++) {
		if (strcmp(calls[i].name, name) != 0)
			continue;
		r = calls[i].fn(v, args, err, sizeof(err));
		if (!calls[i].answered) {
			json_decref(r);
			return NULL;
		}
		if (r != NULL)
			return json_pack("{s:o}", "reply", r);
		return json_pack("{s:s}", "error", err[0] ? err : "error");
	}
	snprintf(err, sizeof(err), "no such call: %s", name);
	return json_pack("{s:s}", "error", err);
}

/* ---- starting and stopping ---- */

static void
drop_privileges(void)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	if ((pw = getpwnam("nobody")) == NULL || setgroups(0, NULL) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
		_exit(126);
}

static int
spawn(struct lworker *w, char *err, size_t errlen)
{
	char path[64];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* The child: fd 3 the socket, nothing else open but stderr. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], 3) == -1)
			_exit(127);
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
		int null = open("/dev/null", O_RDWR);
		if (null != -1) {
			dup2(null, 0);
			dup2(null, 1);
			if (null > 3)
				close(null);
		}
#ifndef NO_RLIMIT_AS
		rlim_t as = BASE_AS + ((rlim_t)limit_of(w->v, "memory_mib") << 21);
		struct rlimit rl = { as, as };
		setrlimit(RLIMIT_AS, &rl);
#endif
		struct rlimit nofile = { 8, 8 }, core = { 0, 0 };
		setrlimit(RLIMIT_NOFILE, &nofile);
		setrlimit(RLIMIT_CORE, &core);
		/* Busy workers must not starve the daemon of the CPU: it serves first. */
		setpriority(PRIO_PROCESS, 0, 10);
		drop_privileges();
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		execl("/proc/self/exe", "tremplind-lua", "-L", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	w->pid = pid;
	w->fd = sv[0];
	w->dead = 0;
	w->cpu_ns = 0;
	w->charge_us = -1;
	w->host_us = 0;
	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)pid);
	w->statfd = open(path, O_RDONLY | O_CLOEXEC);
	return 0;
}

/* The CPU time the worker has used (ns), or -1 when the kernel does not say. */
static int64_t
cpu_used(struct lworker *w)
{
	char buf[96];
	ssize_t n;

	if (w->statfd < 0 || (n = pread(w->statfd, buf, sizeof(buf) - 1, 0)) <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

/*
 * What the calls a "done" answers used since the last one: the worker's CPU
 * time and the daemon's time answering them (a view() is worked by the
 * daemon), not the time the worker waited for a CPU (it runs at nice 10).
 * Wall-clock when /proc does not say (finish then measures it).
 */
static void
cpu_sample(struct lworker *w)
{
	int64_t now = cpu_used(w);

	w->charge_us = -1;
	if (now >= 0 && w->cpu_ns > 0 && now >= w->cpu_ns)
		w->charge_us = (now - w->cpu_ns) / 1000 + w->host_us;
	if (now >= 0)
		w->cpu_ns = now;
	w->host_us = 0;
}

/*
 * A call that passed time_ms (wall-clock) with less than half of it spent
 * on a CPU (cpu_us; -1 when unknown): the host kept its worker from running
 * (other work, the worker's nice 10, a stop). The call still ended there,
 * but it is a failure, tried again and counted towards max_failures, not a
 * limit that disables the script at once.
 */
static int
starved(const struct lworker *w, int64_t cpu_us)
{
	return cpu_us >= 0 && cpu_us * 2 < limit_of(w->v, "time_ms") * 1000;
}

/*
 * Killed workers not yet reaped: waiting for one to die (it must be
 * scheduled to, on a busy machine) would hold the loop; a timer reaps them.
 */
static pid_t zombies[256];
static size_t nzombies;
static struct event *ev_zombies;

static void
zombies_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, 50000 };
	size_t i = 0;

	(void)fd, (void)what, (void)arg;
	while (i < nzombies) {
		pid_t r = waitpid(zombies[i], NULL, WNOHANG);
		if (r == zombies[i] || (r == -1 && errno == ECHILD))
			zombies[i] = zombies[--nzombies];
		else
			i++;
	}
	if (nzombies > 0)
		evtimer_add(ev_zombies, &tv);
}

void
lp_shutdown(void)
{
	while (nzombies > 0)
		waitpid(zombies[--nzombies], NULL, 0);
	if (ev_zombies != NULL)
		event_free(ev_zombies);
	ev_zombies = NULL;
}

static void
reap(struct lworker *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		if (waitpid(w->pid, NULL, WNOHANG) != w->pid) {
			struct timeval tv = { 0, 10000 };
			if (ev_zombies == NULL &&
			    (ev_zombies = evtimer_new(w->v->s->h->srv->base, zombies_cb, NULL)) ==
			        NULL)
				fatalx("luaproc: evtimer_new");
			if (nzombies < TR_NELEM(zombies))
				zombies[nzombies++] = w->pid;
			else /* unlikely: then wait, as a last resort */
				waitpid(w->pid, NULL, 0);
			evtimer_add(ev_zombies, &tv);
		}
		w->pid = 0;
	}
	if (w->bev != NULL) {
		bufferevent_free(w->bev); /* closes fd */
		w->bev = NULL;
	} else if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->statfd >= 0)
		close(w->statfd);
	w->statfd = -1;
	w->dead = 1;
}

static void read_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void deadline_cb(evutil_socket_t fd, short what, void *arg);
static void died(struct lworker *w, const char *why);
static void restart(struct lworker *w);

/*
 * Start the worker and send it the script to load: its answer comes to the
 * loop (read_cb, then load_done), within the time limit plus START_MS or the
 * worker is killed (deadline_cb). Its calls are answered meanwhile. 0, or
 * -1 with *err.
 */
static int
load_start(struct version *v, char **err)
{
	struct lworker *w = v->w;
	char e[512], chunkname[PATH_MAX + 1];
	int64_t ms = limit_of(v, "time_ms") + START_MS;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	size_t len;
	char *f;
	json_t *m;

	if (spawn(w, e, sizeof(e)) == -1) {
		*err = lh_xstrdup(e);
		return -1;
	}
	snprintf(chunkname, sizeof(chunkname), "@%s", v->s->file);
	m = json_pack("{s:s, s:{s:s, s:s, s:s%, s:s, s:O, s:O, s:I}}", "call", "load", "args",
	    "name", v->s->name, "role", role_name(v->role), "text", v->text, v->text_len,
	    "chunkname", chunkname, "options", json_object_get(v->section, "options"), "limits",
	    json_object_get(v->section, "limits"), "now_ms",
	    (json_int_t)sched_now(v->s->h->srv->sched));
	f = m ? luamsg_frame(m, &len) : NULL;
	json_decref(m);
	if (f == NULL) {
		*err = lh_xstrdup("the script is not UTF-8 text");
		reap(w);
		return -1;
	}
	if (evutil_make_socket_nonblocking(w->fd) == -1 ||
	    (w->bev = bufferevent_socket_new(v->s->h->srv->base, w->fd, BEV_OPT_CLOSE_ON_FREE)) ==
	        NULL)
		fatalx("luaproc: bufferevent");
	bufferevent_setcb(w->bev, read_cb, NULL, event_cb, w);
	bufferevent_enable(w->bev, EV_READ);
	if (bufferevent_write(w->bev, f, len) == -1)
		fatalx("luaproc: cannot queue a message to a worker");
	free(f);
	w->loading = LOAD_FIRST;
	v->loading = 1;
	v->notifies = v->logs = v->logs_dropped = 0;
	v->pending_known = 0;
	json_decref(w->notes);
	w->notes = json_array();
	evtimer_assign(w->deadline, v->s->h->srv->base, deadline_cb, w);
	evtimer_add(w->deadline, &tv);
	return 0;
}

static enum luabox_status
status_of(const char *name)
{
	static const enum luabox_status all[] = { LB_OK, LB_ERROR, LB_LIMIT_MEMORY,
		LB_LIMIT_INSTRUCTIONS, LB_LIMIT_TIME };

	for (size_t i = 0; i < TR_NELEM(all); i++)
		if (name != NULL && strcmp(name, luabox_status_name(all[i])) == 0)
			return all[i];
	return LB_ERROR;
}

/* An interval: seconds, or "<n>s", "<n>m", "<n>h", "<n>d". 0 when it is not one. */
static int64_t
interval_of(const json_t *x)
{
	if (json_is_integer(x))
		return json_integer_value(x);
	if (json_is_string(x))
		return lh_interval(json_string_value(x));
	return 0;
}

/* What the main chunk registered, checked as on() and every() check it in-process. */
static int
registrations(struct version *v, const json_t *done, char *err, size_t errlen)
{
	const json_t *subs = json_object_get(done, "subs"),
	             *timers = json_object_get(done, "timers");
	size_t i;
	json_t *x;

	json_array_foreach (subs, i, x) {
		const char *type = json_string_value(x);
		size_t len = type ? strlen(type) : 0;
		struct lsub *sub, *other;
		int n = 1;
		if (len == 0 || len >= sizeof(sub->type) ||
		    strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_.*") != len ||
		    (strchr(type, '*') != NULL && strcmp(type, "*") != 0 &&
		        (len < 2 || strcmp(type + len - 2, ".*") != 0 ||
		            strchr(type, '*') != type + len - 1))) {
			snprintf(err, errlen,
			    "on: '%s' is not an event type (\"structure.created\", "
			    "\"structure.*\" or \"*\")",
			    type ? type : "");
			return -1;
		}
		TAILQ_FOREACH (other, &v->subs, entry)
			n += strcmp(other->type, type) == 0;
		if ((sub = calloc(1, sizeof(*sub))) == NULL)
			fatal("calloc");
		TAILQ_INSERT_TAIL(&v->subs, sub, entry);
		v->nsubs++;
		sub->v = v;
		sub->ref = (int)i; /* the worker's index */
		tr_strlcpy(sub->type, type, sizeof(sub->type));
		if (n == 1)
			snprintf(sub->name, sizeof(sub->name), "%s/on:%s", v->s->name, type);
		else
			snprintf(sub->name, sizeof(sub->name), "%s/on:%s#%d", v->s->name, type, n);
	}
	json_array_foreach (timers, i, x) {
		int64_t period = interval_of(json_object_get(x, "interval"));
		const json_t *o = json_object_get(x, "options"), *val;
		const char *k;
		char label[40];
		int immediately = 0;
		struct ltimer *t, *other;
		if (period < MIN_PERIOD_S || period > MAX_PERIOD_S) {
			snprintf(err, errlen,
			    "every: the interval is whole seconds from %d to %d, or \"30s\", "
			    "\"15m\", \"6h\", \"1d\"",
			    MIN_PERIOD_S, MAX_PERIOD_S);
			return -1;
		}
		snprintf(label, sizeof(label), "every%zu", i + 1);
		json_object_foreach ((json_t *)o, k, val) {
			if (strcmp(k, "name") == 0) {
				const char *name = json_string_value(val);
				size_t len = name ? strlen(name) : 0;
				if (len == 0 || len > 32 ||
				    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len) {
					snprintf(
					    err, errlen, "every: name is [a-z0-9_], at most 32");
					return -1;
				}
				tr_strlcpy(label, name, sizeof(label));
			} else if (strcmp(k, "immediately") == 0) {
				if (!json_is_boolean(val)) {
					snprintf(
					    err, errlen, "every: immediately is true or false");
					return -1;
				}
				immediately = json_is_true(val);
			} else {
				snprintf(err, errlen,
				    "every: unknown option '%s' (expected name, immediately)", k);
				return -1;
			}
		}
		TAILQ_FOREACH (other, &v->timers, entry)
			if (strcmp(strchr(other->name, '/') + 1, label) == 0) {
				snprintf(err, errlen, "every: two timers are named '%s'", label);
				return -1;
			}
		if ((t = calloc(1, sizeof(*t))) == NULL)
			fatal("calloc");
		TAILQ_INSERT_TAIL(&v->timers, t, entry);
		v->ntimers++;
		t->v = v;
		t->ref = (int)i;
		t->period_s = period;
		t->immediately = immediately;
		snprintf(t->name, sizeof(t->name), "%s/%s", v->s->name, label);
	}
	return 0;
}

static int
loads_max(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* Start the new versions waiting, while there is room. */
static void
loads_next(void)
{
	struct lworker *w;
	char *err;

	while (loads_running < loads_max() && (w = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, w, waiting);
		w->loading = 0;
		err = NULL;
		if (load_start(w->v, &err) == 0) {
			loads_running++;
			continue;
		}
		lh_loaded(w->v, err ? err : lh_xstrdup("out of memory")); /* stops it */
	}
}

static void
loads_next_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	loads_next();
}

int
lp_load(struct version *v, const char *text, size_t len, char **err)
{
	struct lworker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		fatal("calloc");
	w->v = v;
	w->fd = -1;
	w->statfd = -1;
	w->charge_us = -1;
	TAILQ_INIT(&w->batch);
	v->w = w;
	if ((v->text = malloc(len + 1)) == NULL)
		fatal("malloc");
	memcpy(v->text, text, len);
	v->text[len] = '\0';
	v->text_len = len;
	if ((w->deadline = evtimer_new(v->s->h->srv->base, NULL, NULL)) == NULL)
		fatalx("luaproc: evtimer_new");
	*err = NULL;
	w->loading = LOAD_WAITING;
	TAILQ_INSERT_TAIL(&waiting, w, waiting);
	loads_next();
	return 0;
}

/*
 * A main chunk that passed time_ms with less than half of it on a CPU (the
 * worker's, since it started, and the daemon's answering it): its worker
 * waited for one (a busy start). Loaded again in a new worker, up to
 * max_failures times in a row: 0 when it is, -1 when the load fails as it is.
 */
static int
load_starved(struct lworker *w)
{
	struct version *v = w->v;
	int64_t now = cpu_used(w), cpu_us = now >= 0 ? now / 1000 + w->host_us : -1;
	int mode = w->loading;
	char *err = NULL;

	if (!starved(w, cpu_us) || w->load_tries + 1 >= limit_of(v, "max_failures"))
		return -1;
	w->load_tries++;
	evtimer_del(w->deadline);
	reap(w);
	log_warnx("script %s: its main chunk passed its time limit (%lld ms) with %lld ms on a "
	          "CPU, its worker waiting for one; loading it again (%d of %lld)",
	    v->s->name, (long long)limit_of(v, "time_ms"), (long long)(cpu_us / 1000),
	    w->load_tries + 1, (long long)limit_of(v, "max_failures"));
	if (load_start(v, &err) == -1) {
		free(err);
		return -1;
	}
	w->loading = mode;
	return 0;
}

/*
 * The end of a load: its "done" (a), or NULL when the worker died or was
 * killed (why). A new version's outcome goes to lh_loaded; a worker started
 * again must load as before, or its script is disabled. 1 when the version
 * was stopped (w is then freed).
 */
static int
load_done(struct lworker *w, const json_t *a, const char *why)
{
	struct version *v = w->v;
	struct script *s = v->s;
	int again = w->loading == LOAD_AGAIN;
	char *err = NULL, e[512];

	if (a != NULL &&
	    status_of(json_string_value(json_object_get(a, "status"))) == LB_LIMIT_TIME &&
	    load_starved(w) == 0)
		return 0;
	w->load_tries = 0;
	evtimer_del(w->deadline);
	w->loading = 0;
	v->loading = 0;
	if (!again)
		loads_running--;
	/* Its calls' CPU counts from here: loading is not a call. */
	w->cpu_ns = cpu_used(w);
	w->host_us = 0;
	if (a == NULL)
		err = lh_xstrdup(why);
	else {
		enum luabox_status st = status_of(json_string_value(json_object_get(a, "status")));
		v->memory = (size_t)json_integer_value(json_object_get(a, "memory"));
		if (!again)
			s->calls += 2; /* the setup and the main chunk, as in-process */
		if (st != LB_OK) {
			const char *msg = json_string_value(json_object_get(a, "error"));
			if (asprintf(&err, "%s%s", msg ? msg : luabox_status_name(st),
			        st != LB_ERROR ? " (while loading)" : "") == -1)
				err = lh_xstrdup("out of memory");
		} else if (again &&
		    (json_array_size(json_object_get(a, "subs")) != (size_t)v->nsubs ||
		        json_array_size(json_object_get(a, "timers")) != (size_t)v->ntimers))
			err = lh_xstrdup("the script loads differently in its new worker");
		else if (!again && registrations(v, a, e, sizeof(e)) == -1)
			err = lh_xstrdup(e);
		else if (commit_notes(v, &err) == -1 && err == NULL)
			err = lh_xstrdup("out of memory");
	}
	json_decref(w->notes);
	w->notes = NULL;
	if (!again) {
		int stopped = lh_loaded(v, err);
		loads_next();
		return stopped;
	}
	if (err != NULL) {
		lh_set_error(s, "disabled: its worker could not be started again: %s", err);
		log_warnx("script %s: %s", s->name, s->last_error);
		free(err);
		s->state = SS_DISABLED_FAILED;
		s->cur = NULL;
		lh_version_stop(v);
		return 1;
	}
	lp_run_jobs(s->h);
	return 0;
}

void
lp_version_stop(struct version *v)
{
	struct lworker *w = v->w;
	struct job *j;

	if (w == NULL)
		return;
	if (w->loading == LOAD_WAITING)
		TAILQ_REMOVE(&waiting, w, waiting);
	else if (w->loading == LOAD_FIRST) {
		/* Given up: another may start, from the loop (the caller is stopping v). */
		struct timeval now = { 0, 0 };
		loads_running--;
		w->loading = 0;
		if (event_base_once(
		        v->s->h->srv->base, -1, EV_TIMEOUT, loads_next_cb, NULL, &now) == -1)
			fatalx("luaproc: event_base_once");
	}
	reap(w);
	event_free(w->deadline);
	if (w->job != NULL) {
		free(w->job->http);
		lh_job_free(w->job);
	}
	while ((j = TAILQ_FIRST(&w->batch)) != NULL) {
		TAILQ_REMOVE(&w->batch, j, entry);
		lh_job_free(j);
	}
	json_decref(w->notes);
	free(w);
	v->w = NULL;
}

/* ---- jobs ---- */

static json_t *
job_message(struct version *v, struct job *j)
{
	json_int_t now = (json_int_t)sched_now(v->s->h->srv->sched);

	switch (j->kind) {
	case JOB_EVENT: /* sent by send_events */
		break;
	case JOB_TIMER:
		return json_pack("{s:s, s:{s:i, s:I}}", "call", "timer", "args", "timer",
		    j->timer->ref, "now_ms", now);
	case JOB_HTTP: {
		json_t *r;
		if (j->error == NET_OK) {
			json_t *body = json_stringn(j->body ? j->body : "", j->body_len);
			if (body == NULL) /* scripts in workers take text bodies */
				r = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "protocol",
				    "error_text", "the answer's body is not UTF-8 text");
			else {
				r = json_pack("{s:b, s:I, s:o}", "ok", 1, "status",
				    (json_int_t)j->status, "body", body);
				if (j->content_type != NULL)
					json_object_set_new(
					    r, "content_type", json_string(j->content_type));
				if (j->retry_after >= 0)
					json_object_set_new(r, "retry_after",
					    json_integer((json_int_t)j->retry_after));
			}
		} else
			r = json_pack("{s:b, s:s, s:s}", "ok", 0, "error",
			    lh_net_error_name(j->error), "error_text",
			    j->error_text ? j->error_text : "");
		return json_pack("{s:s, s:{s:I, s:I, s:o}}", "call", "http_answer", "args", "id",
		    (json_int_t)j->http->id, "now_ms", now, "response", r);
	}
	}
	return NULL;
}

static int finish(struct lworker *w, enum luabox_status st, char *err);

#define EVENT_BATCH LUAMSG_EVENT_BATCH

/* j is the call the worker runs now: its state and deadline start. */
static void
begin_call(struct lworker *w, struct job *j)
{
	struct version *v = w->v;
	int64_t ms = limit_of(v, "time_ms") + GRACE_MS;
	struct timeval tv;

	w->job = j;
	w->started_us = lh_mono_us();
	json_decref(w->notes);
	w->notes = json_array();
	v->notifies = v->logs = v->logs_dropped = 0;
	v->pending_known = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_assign(w->deadline, v->s->h->srv->base, deadline_cb, w);
	evtimer_add(w->deadline, &tv);
}

/* The batch's events not run back in front of the queue, in their order. */
static void
requeue(struct lworker *w)
{
	struct luahost *h = w->v->s->h;
	struct job *k;

	while ((k = TAILQ_LAST(&w->batch, jobbatch)) != NULL) {
		TAILQ_REMOVE(&w->batch, k, entry);
		TAILQ_INSERT_HEAD(&h->jobs, k, entry);
	}
	w->nbatch = 0;
}

/*
 * One event of a batch, [sub, id, type, subject, actor, created_at,
 * payload], added to b: the payload as the journal stores it (JSON the
 * daemon wrote), the rest written by jansson. -1 when it cannot be.
 */
static int
add_event_item(struct evbuffer *b, const struct job *j)
{
	char head[2048], *big = NULL;
	json_t *x = json_pack("[i, I, s, s, s, s]", j->sub->ref, (json_int_t)j->event_id, j->type,
	    j->subject, j->actor, j->created_at);
	size_t n = x ? json_dumpb(x, head, sizeof(head), JSON_COMPACT) : 0;
	const char *h = head;
	int rc = -1;

	if (n > sizeof(head)) {
		if ((big = json_dumps(x, JSON_COMPACT)) == NULL)
			n = 0;
		h = big;
	}
	/* The head without its closing bracket, then the payload. */
	if (n >= 2 && evbuffer_add(b, h, n - 1) == 0 && evbuffer_add(b, ",", 1) == 0) {
		if (j->payload_text != NULL)
			rc = evbuffer_add(b, j->payload_text, strlen(j->payload_text));
		else {
			char *p = json_dumps(
			    j->payload ? j->payload : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
			rc = p ? evbuffer_add(b, p, strlen(p)) : -1;
			free(p);
		}
		if (rc == 0)
			rc = evbuffer_add(b, "]", 1);
	}
	free(big);
	json_decref(x);
	return rc;
}

/* The "events" message of the jobs in q, framed, in a new buffer; NULL when too large. */
static struct evbuffer *
events_message(struct jobbatch *q, int64_t now)
{
	struct evbuffer *b = evbuffer_new();
	unsigned char hdr[4];
	struct job *k;
	size_t len;
	int rc;

	if (b == NULL)
		fatalx("luaproc: evbuffer_new");
	rc = evbuffer_add_printf(
	    b, "{\"call\":\"events\",\"args\":{\"now_ms\":%lld,\"items\":[", (long long)now);
	TAILQ_FOREACH (k, q, entry) {
		if (rc >= 0 && k != TAILQ_FIRST(q))
			rc = evbuffer_add(b, ",", 1);
		if (rc >= 0)
			rc = add_event_item(b, k);
	}
	if (rc >= 0)
		rc = evbuffer_add(b, "]}}", 3);
	len = evbuffer_get_length(b);
	if (rc < 0 || len > LUAMSG_MAX) {
		evbuffer_free(b);
		return NULL;
	}
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	if (evbuffer_prepend(b, hdr, 4) == -1)
		fatalx("luaproc: evbuffer_prepend");
	return b;
}

/* Hand j (a timer or an HTTP answer) to the idle worker w. 1 when that stopped the script. */
static int
send_job(struct lworker *w, struct job *j)
{
	json_t *m = job_message(w->v, j);
	size_t len;
	char *f = m ? luamsg_frame(m, &len) : NULL;

	json_decref(m);
	begin_call(w, j);
	if (f == NULL || bufferevent_write(w->bev, f, len) == -1) {
		free(f);
		/* Cannot be said to the worker: failed as an error of the call. */
		return finish(w, LB_ERROR, lh_xstrdup("the job could not be sent to the worker"));
	}
	free(f);
	return 0;
}

/*
 * The events queued for v from j (an event), up to EVENT_BATCH, sent in one
 * message: the worker runs them in order, each a call of its own, and
 * answers those that ended well together, so that a handler's events cost
 * a message each way per batch, not per event. Taken only up to v's next
 * job of another kind, so v's jobs keep their order.
 *
 * While the worker runs events, the next batch is sent before it has
 * finished (pipelined, while less than a batch waits behind its call): it never
 * waits for the daemon between batches, and the daemon reads the answers
 * while it runs. After an event fails the worker skips the events sent
 * after it until the daemon's "resume" (see finish), as they go back to
 * the queue. 1 when that stopped the script.
 */
static int
send_events(struct lworker *w, struct job *j)
{
	struct version *v = w->v;
	struct luahost *h = v->s->h;
	struct jobbatch more = TAILQ_HEAD_INITIALIZER(more);
	struct evbuffer *msg;
	struct job *k, *next;
	int64_t now = sched_now(h->srv->sched);
	int n = 1, idle = w->job == NULL;

	TAILQ_INSERT_TAIL(&more, j, entry);
	for (k = TAILQ_FIRST(&h->jobs); k != NULL && n < EVENT_BATCH; k = next) {
		next = TAILQ_NEXT(k, entry);
		if (k->v != v)
			continue;
		if (k->kind != JOB_EVENT)
			break;
		TAILQ_REMOVE(&h->jobs, k, entry);
		TAILQ_INSERT_TAIL(&more, k, entry);
		n++;
	}
	for (;;) {
		msg = events_message(&more, now);
		if (msg != NULL || n == 1)
			break;
		/* Too large together: one at a time, the others back in front of the queue. */
		while ((k = TAILQ_LAST(&more, jobbatch)) != j) {
			TAILQ_REMOVE(&more, k, entry);
			TAILQ_INSERT_HEAD(&h->jobs, k, entry);
		}
		n = 1;
	}
	TAILQ_REMOVE(&more, j, entry);
	if (idle)
		begin_call(w, j);
	else {
		TAILQ_INSERT_TAIL(&w->batch, j, entry);
		w->nbatch++;
	}
	while ((k = TAILQ_FIRST(&more)) != NULL) {
		TAILQ_REMOVE(&more, k, entry);
		TAILQ_INSERT_TAIL(&w->batch, k, entry);
		w->nbatch++;
	}
	if (msg == NULL || bufferevent_write_buffer(w->bev, msg) == -1) {
		if (msg != NULL)
			evbuffer_free(msg);
		/* Cannot be said to the worker: failed as an error of the call. */
		if (!idle) {
			/* Behind the running call: lost with the worker, which goes. */
			died(w, "a batch of events could not be written to it");
			return 1;
		}
		return finish(w, LB_ERROR, lh_xstrdup("the job could not be sent to the worker"));
	}
	evbuffer_free(msg);
	return 0;
}

/*
 * The job the worker ran ended with st: what the in-process host does after
 * a call (lh_call, then run_event/run_timer's accounting). Returns 1 when the
 * version was stopped (w is then freed).
 */
static int
finish(struct lworker *w, enum luabox_status st, char *err)
{
	struct version *v = w->v;
	struct script *s = v->s;
	struct luahost *h = s->h;
	struct job *j = w->job;
	int64_t used = w->charge_us >= 0 ? w->charge_us : lh_mono_us() - w->started_us;
	char what[300];
	int *row, stopped;

	evtimer_del(w->deadline);
	w->job = NULL;
	s->calls++;
	if (st == LB_LIMIT_TIME && starved(w, w->charge_us)) {
		free(err);
		if (asprintf(&err,
		        "time limit exceeded (%lld ms per call) with %lld ms on a CPU (its worker "
		        "waited for one: a failure, not a limit)",
		        (long long)limit_of(v, "time_ms"), (long long)(w->charge_us / 1000)) == -1)
			err = NULL;
		st = LB_ERROR;
	}
	if (w->charge_us > 0)
		w->charge_us = 0; /* charged once, to the first call a "done" answers */
	if (v->logs_dropped > 0)
		log_warnx("script %s: %d log lines dropped (at most %d per call)", s->name,
		    v->logs_dropped, MAX_LOG_PER_CALL);
	if (!lh_quota_left(
	        &s->q_cpu, 60 * 1000000, limit_of(v, "cpu_ms_per_minute") * 1000, used) &&
	    s->quota_reason[0] == '\0')
		snprintf(s->quota_reason, sizeof(s->quota_reason),
		    "cpu_ms_per_minute: its calls took more than %lld ms within a minute",
		    (long long)limit_of(v, "cpu_ms_per_minute"));
	s->q_cpu.used += used;
	if (st == LB_OK && s->quota_reason[0] != '\0') {
		st = LB_ERROR;
		free(err);
		if (asprintf(&err, "quota %s", s->quota_reason) == -1)
			err = NULL;
	}
	/* Written only by a call that succeeded and passed no quota. */
	if (st == LB_OK && commit_notes(v, &err) == -1)
		st = LB_ERROR;
	/*
	 * The worker ends a batch at a failure: the rest goes back to the queue,
	 * and it skips the events sent after it until it reads "resume".
	 */
	if (st != LB_OK) {
		requeue(w);
		if (j->kind == JOB_EVENT && w->bev != NULL) {
			json_t *m = json_pack("{s:s}", "call", "resume");
			size_t len;
			char *f = m ? luamsg_frame(m, &len) : NULL;
			if (f == NULL || bufferevent_write(w->bev, f, len) == -1)
				fatalx("luaproc: cannot queue a message to a worker");
			json_decref(m);
			free(f);
		}
	}
	json_decref(w->notes);
	w->notes = NULL;
	/* As in-process: a call failed by a full disk is retried, not counted. */
	s->disk_full =
	    st == LB_ERROR && (db_full(h->srv->db, NULL) || db_full(audit_db(h->srv->audit), NULL));
	switch (j->kind) {
	case JOB_EVENT:
		snprintf(what, sizeof(what), "on(\"%s\") handler, event %lld", j->sub->type,
		    (long long)j->event_id);
		row = &j->sub->failures_in_row;
		if (!lh_disables(v, st, row)) {
			if (st != LB_OK)
				lh_drop_events(h, j->sub);
			events_done(h->srv->events, j->sub->name, j->event_id, st == LB_OK,
			    st == LB_OK ? NULL : luabox_status_name(st));
		}
		break;
	case JOB_TIMER:
		snprintf(what, sizeof(what), "every() job %s", j->timer->name);
		j->timer->queued = 0;
		row = &j->timer->failures_in_row;
		break;
	default:
		snprintf(what, sizeof(what), "http{} callback");
		row = &v->http_failures_in_row;
		free(j->http);
		j->http = NULL;
		break;
	}
	lh_job_free(j);
	stopped = lh_outcome(v, st, err, what, row);
	return stopped;
}

/* The worker went (killed, crashed): its call failed; started again for the next ones. */
static void
died(struct lworker *w, const char *why)
{
	struct version *v = w->v;
	struct script *s = v->s;
	char text[128];

	reap(w);
	/*
	 * Killed or crashed while loading again: counted as a failed call, and
	 * started once more, up to max_failures in a row.
	 */
	if (w->loading == LOAD_AGAIN && ++s->failures_in_row < limit_of(v, "max_failures")) {
		evtimer_del(w->deadline);
		w->loading = 0;
		v->loading = 0;
		json_decref(w->notes);
		w->notes = NULL;
	} else if (w->loading) {
		snprintf(text, sizeof(text), "the worker died while loading the script (%s)", why);
		load_done(w, NULL, text);
		return;
	}
	if (w->job != NULL) {
		char *msg = NULL;
		if (asprintf(&msg, "the worker process died (%s)", why) == -1)
			msg = NULL;
		if (finish(w, LB_ERROR, msg))
			return;
	}
	log_warnx("script %s: its worker process died (%s); starting another", s->name, why);
	restart(w);
}

/* Another worker for w's version, which loads it again; its jobs wait meanwhile. */
static void
restart(struct lworker *w)
{
	struct version *v = w->v;
	struct script *s = v->s;
	char *err = NULL;

	if (load_start(v, &err) == -1) {
		lh_set_error(
		    s, "disabled: its worker could not be started again: %s", err ? err : "?");
		log_warnx("script %s: %s", s->name, s->last_error);
		free(err);
		s->state = SS_DISABLED_FAILED;
		s->cur = NULL;
		lh_version_stop(v);
		return;
	}
	w->loading = LOAD_AGAIN;
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lworker *w = arg;
	char *err = NULL;

	(void)fd, (void)what;
	if (w->loading) {
		if (load_starved(w) == 0)
			return;
		reap(w);
		load_done(w, NULL, "the worker did not answer in time (killed)");
		return;
	}
	if (w->job == NULL)
		return;
	int64_t now = cpu_used(w),
	        cpu_us = now >= 0 && w->cpu_ns > 0 ? (now - w->cpu_ns) / 1000 + w->host_us : -1;
	if (starved(w, cpu_us)) {
		if (asprintf(&err,
		        "time limit exceeded (%lld ms per call) with %lld ms on a CPU: the call "
		        "did "
		        "not end, its worker process was killed (it waited for a CPU: a failure, "
		        "not "
		        "a limit)",
		        (long long)limit_of(w->v, "time_ms"), (long long)(cpu_us / 1000)) == -1)
			err = NULL;
		reap(w);
		w->charge_us = cpu_us; /* the quota counts what it had, as for a call that ended */
		if (finish(w, LB_ERROR, err))
			return;
		w->charge_us = -1;
		log_warnx("script %s: its worker process was killed at the time limit, having "
		          "waited for a CPU; starting another",
		    w->v->s->name);
		restart(w);
		return;
	}
	if (asprintf(&err,
	        "time limit exceeded (%lld ms per call): the call did not end, its worker "
	        "process was killed",
	        (long long)limit_of(w->v, "time_ms")) == -1)
		err = NULL;
	reap(w);
	/* A limit: the script is disabled and its worker stays down. */
	finish(w, LB_LIMIT_TIME, err);
}

/*
 * A "done": the call the worker ran ended, or {"calls": n, "status": "ok"}
 * for n calls of a batch that ended well, in order. 1 when that stopped the
 * script (w is then freed), -1 on a malformed one. Answers beyond the calls
 * given are ignored.
 */
static int
done(struct lworker *w, json_t *a)
{
	struct luahost *h = w->v->s->h;
	const char *e = json_string_value(json_object_get(a, "error"));
	enum luabox_status st = status_of(json_string_value(json_object_get(a, "status")));
	json_int_t ncalls = 1;

	if (json_object_get(a, "calls") != NULL) {
		ncalls = json_integer_value(json_object_get(a, "calls"));
		if (ncalls < 1 || st != LB_OK)
			return -1;
	}
	w->v->memory = (size_t)json_integer_value(json_object_get(a, "memory"));
	w->v->logs_dropped += (int)json_integer_value(json_object_get(a, "logs_dropped"));
	cpu_sample(w);
	while (ncalls-- > 0 && w->job != NULL) {
		if (finish(w, st, e && ncalls == 0 ? lh_xstrdup(e) : NULL))
			return 1;
		struct job *k = TAILQ_FIRST(&w->batch);
		if (k != NULL) {
			/* The batch's next event, which the worker runs now. */
			TAILQ_REMOVE(&w->batch, k, entry);
			w->nbatch--;
			begin_call(w, k);
		}
	}
	w->charge_us = -1; /* a call ended otherwise (killed, died) is charged wall-clock */
	lp_run_jobs(h);
	return 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct lworker *w = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		unsigned char hdr[4];
		uint32_t n;
		json_t *m;
		if (evbuffer_copyout(in, hdr, 4) < 4)
			return;
		n = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) |
		    hdr[3];
		if (n > LUAMSG_MAX) {
			died(w, "a message too large");
			return;
		}
		if (evbuffer_get_length(in) < 4 + (size_t)n)
			return;
		evbuffer_drain(in, 4);
		m = json_loadb((const char *)evbuffer_pullup(in, n), n, JSON_ALLOW_NUL, NULL);
		evbuffer_drain(in, n);
		const char *call = json_string_value(json_object_get(m, "call"));
		json_t *a = json_object_get(m, "args");
		if (call == NULL) {
			json_decref(m);
			died(w, "a message that is not one");
			return;
		}
		if (strcmp(call, "done") == 0 && w->loading) {
			int rc = load_done(w, a, NULL);
			json_decref(m);
			if (rc == 1)
				return; /* w is gone */
			continue;
		}
		if (strcmp(call, "done") == 0) {
			int rc = done(w, a);
			json_decref(m);
			if (rc == 1)
				return; /* w is gone */
			if (rc == -1) {
				died(w, "a malformed answer");
				return;
			}
			continue;
		}
		int64_t t0 = lh_mono_us();
		json_t *ans = w->job || w->loading ? answer(w->v, call, a) : NULL;
		if (w->job != NULL || w->loading)
			w->host_us += lh_mono_us() - t0;
		json_decref(m);
		if (ans != NULL) {
			size_t len;
			char *f = luamsg_frame(ans, &len);
			json_decref(ans);
			if (f == NULL || bufferevent_write(bev, f, len) == -1) {
				free(f);
				died(w, "its answer could not be written");
				return;
			}
			free(f);
		}
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct lworker *w = arg;
	int status = 0;
	char why[64];

	(void)bev;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* Reaped by died(); say how it ended when it did already. */
	if (w->pid > 0 && waitpid(w->pid, &status, WNOHANG) == w->pid) {
		w->pid = 0;
		if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "signal %d", WTERMSIG(status));
		else
			snprintf(why, sizeof(why), "exit %d", WEXITSTATUS(status));
	} else
		snprintf(why, sizeof(why), "its socket closed");
	died(w, why);
}

int
lp_run_jobs(struct luahost *h)
{
	struct job *j, *next;
	int n = 0;

	for (j = TAILQ_FIRST(&h->jobs); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		struct lworker *w = j->v->w;
		if (w == NULL || w->dead || w->bev == NULL || w->loading)
			continue;
		/* Busy: only events behind events, pipelined (send_events). */
		if (w->job != NULL &&
		    (j->kind != JOB_EVENT || w->job->kind != JOB_EVENT || w->nbatch >= EVENT_BATCH))
			continue;
		TAILQ_REMOVE(&h->jobs, j, entry);
		n++;
		/* Its script may have gone, and its jobs, or a batch taken some. */
		(void)(j->kind == JOB_EVENT ? send_events(w, j) : send_job(w, j));
		next = TAILQ_FIRST(&h->jobs);
	}
	return n;
}
