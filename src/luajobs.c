/* The job queue of the Lua host: every call into a script is a job (luahost_int.h). */
#include "luahost_int.h"

/* ---- the job queue ---- */

void
lh_job_free(struct job *j)
{
	free(j->type);
	free(j->subject);
	free(j->actor);
	free(j->created_at);
	json_decref(j->payload);
	free(j->payload_text);
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

/*
 * After a failed event the journal hands the subscription's later events
 * again from the failed one: the copies queued meanwhile go unrun.
 */
void
lh_drop_events(struct luahost *h, const struct lsub *sub)
{
	struct job *j, *next;

	for (j = TAILQ_FIRST(&h->jobs); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (j->kind == JOB_EVENT && j->sub == sub) {
			TAILQ_REMOVE(&h->jobs, j, entry);
			lh_job_free(j);
		}
	}
}

char *
lh_xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		fatal("strdup");
	return d;
}

/* ---- quotas ---- */

long
lh_limit(const struct version *v, const char *name)
{
	return (long)json_integer_value(
	    json_object_get(json_object_get(v->section, "limits"), name));
}

/*
 * Whether n more fit in q, counted over windows of window_us (a window
 * begins with the first use after the last one ended). Does not count them.
 */
int
lh_quota_left(struct quota *q, int64_t window_us, int64_t max, int64_t n)
{
	int64_t now = lh_mono_us();

	if (max <= 0) /* not set (a section not from the configuration): no quota */
		return 1;
	if (q->start_us == 0 || now - q->start_us >= window_us) {
		q->start_us = now;
		q->used = 0;
	}
	return q->used + n <= max;
}

/*
 * A quota is passed: the script is disabled after this call whatever it
 * does (a pcall that catches the error changes nothing). Raises.
 */
int
lh_quota_fail(lua_State *L, struct version *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->s->quota_reason, sizeof(v->s->quota_reason), fmt, ap);
	va_end(ap);
	return luaL_error(L, "quota: %s", v->s->quota_reason);
}

/* ---- calls ---- */

/*
 * Run fn in v's sandbox; then commit (or, on failure, roll back) the
 * notifications the call queued. what names the call in messages.
 */
enum luabox_status
lh_call(struct version *v, lua_CFunction fn, void *arg, char **err)
{
	struct luahost *h = v->s->h;
	enum luabox_status st;

	struct quota *cpu = &v->s->q_cpu;
	int64_t t0 = lh_mono_us(), max_us = (int64_t)lh_limit(v, "cpu_ms_per_minute") * 1000;

	v->notifies = v->logs = v->logs_dropped = 0;
	v->pending_known = 0;
	st = luabox_run(v->box, fn, arg, err);
	v->s->calls++;
	/* The time calls take, per minute: many calls within their own limits hold the loop too. */
	if (!lh_quota_left(cpu, 60 * 1000000, max_us, lh_mono_us() - t0) &&
	    v->s->quota_reason[0] == '\0')
		snprintf(v->s->quota_reason, sizeof(v->s->quota_reason),
		    "cpu_ms_per_minute: its calls took more than %ld ms within a minute",
		    lh_limit(v, "cpu_ms_per_minute"));
	cpu->used += lh_mono_us() - t0;
	/* A call in which a quota was passed fails, even if it caught the error: nothing it wrote stays. */
	if (st == LB_OK && v->s->quota_reason[0] != '\0') {
		st = LB_ERROR;
		if (asprintf(err, "quota %s", v->s->quota_reason) == -1)
			*err = NULL;
	}
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

/*
 * Whether outcome() will disable the script after a call that ended with st.
 * row: the failures in a row of the entry point called (a handler, a job,
 * the http{} callbacks), for a success of one forgives no other's.
 */
int
lh_disables(const struct version *v, enum luabox_status st, const int *row)
{
	return st != LB_OK &&
	    (v->s->quota_reason[0] != '\0' || st != LB_ERROR ||
	        (!v->s->disk_full && *row + 1 >= max_failures(v)));
}

int
lh_outcome(struct version *v, enum luabox_status st, char *err, const char *what, int *row)
{
	struct script *s = v->s;
	char line[300];
	long max = max_failures(v);

	if (s->quota_reason[0] != '\0') {
		/* Past a quota: disabled, whether this call failed or not. */
		if (st != LB_OK) {
			s->failures++;
			s->failures_in_row = ++*row;
		}
		lh_set_error(s, "disabled: quota %s (%s)", s->quota_reason, what);
		log_warnx("script %s: disabled: quota %s (%s)", s->name, s->quota_reason, what);
		free(err);
		s->state = SS_DISABLED_FAILED;
		s->cur = NULL;
		lh_version_stop(v);
		return 1;
	}
	if (st == LB_OK) {
		*row = 0;
		s->failures_in_row = 0;
		free(err);
		return 0;
	}
	if (err == NULL)
		err = lh_xstrdup("out of memory");
	if (st == LB_ERROR && s->disk_full) {
		lh_set_error(s, "%s: %s (the disk is full: retried, not counted)", what, err);
		log_debug("script %s: %s failed on a full disk: %s", s->name, what,
		    lh_first_line(err, line, sizeof(line)));
		free(err);
		return 0;
	}
	s->failures++;
	s->failures_in_row = ++*row;
	if (st != LB_ERROR) {
		lh_set_error(s, "disabled: %s: %s", what, err);
		log_warnx("script %s: disabled: %s: %s", s->name, what,
		    lh_first_line(err, line, sizeof(line)));
	} else if (s->failures_in_row >= max) {
		lh_set_error(s, "disabled after %d failures in a row: %s: %s", s->failures_in_row,
		    what, err);
		log_warnx("script %s: disabled after %d failures in a row: %s: %s", s->name,
		    s->failures_in_row, what, lh_first_line(err, line, sizeof(line)));
	} else {
		lh_set_error(s, "%s: %s", what, err);
		log_warnx("script %s: %s failed (%d in a row): %s", s->name, what,
		    s->failures_in_row, lh_first_line(err, line, sizeof(line)));
		free(err);
		return 0;
	}
	free(err);
	s->state = SS_DISABLED_FAILED;
	s->cur = NULL;
	lh_version_stop(v);
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
	/* Queued as text for a worker (the host has changed mode since): parsed here. */
	if (j->payload == NULL &&
	    (j->payload = json_loads(j->payload_text ? j->payload_text : "{}", 0, NULL)) == NULL)
		j->payload = json_object();
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

const char *
lh_net_error_name(int e)
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
		lua_pushstring(L, lh_net_error_name(j->error));
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
	st = lh_call(v, event_entry, j, &err);
	/*
	 * The journal retries a failed event with backoff. When the script is
	 * disabled instead, its subscription goes, and the event stays after
	 * its saved cursor for the next version.
	 */
	if (pending && !lh_disables(v, st, &j->sub->failures_in_row)) {
		if (st != LB_OK)
			lh_drop_events(h, j->sub);
		events_done(h->srv->events, j->sub->name, j->event_id, st == LB_OK,
		    st == LB_OK ? NULL : luabox_status_name(st));
	}
	lh_outcome(v, st, err, what, &j->sub->failures_in_row);
	return st;
}

static void
run_timer(struct job *j)
{
	struct version *v = j->v;
	char *err = NULL, what[300];
	enum luabox_status st;

	snprintf(what, sizeof(what), "every() job %s", j->timer->name);
	st = lh_call(v, timer_entry, j, &err);
	lh_outcome(v, st, err, what, &j->timer->failures_in_row);
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
		st = lh_call(v, http_entry, j, &err);
		free(j->http);
		j->http = NULL;
		lh_outcome(v, st, err, "http{} callback", &v->http_failures_in_row);
		break;
	}
}

/* Whether a call may run now: the calls of this loop iteration are within budget. */
static int
may_run_now(struct luahost *h)
{
	struct timeval tv;

	if (h->workers) /* every call goes to a worker: none runs on the loop */
		return 0;
	if (event_base_gettimeofday_cached(h->srv->base, &tv) == -1)
		return 0;
	if (tv.tv_sec != h->iteration.tv_sec || tv.tv_usec != h->iteration.tv_usec) {
		h->iteration = tv;
		h->sync_used = 0;
	}
	return h->sync_used < SYNC_BUDGET_US;
}

void
lh_jobs_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	luahost_run_jobs(arg);
}

int
luahost_run_jobs(struct luahost *h)
{
	struct job *j;
	int n = 0;

	if (h->workers)
		return lp_run_jobs(h);
	/* The budget is shared with the calls made at once in this loop iteration. */
	while ((j = TAILQ_FIRST(&h->jobs)) != NULL && may_run_now(h)) {
		int64_t t0 = lh_mono_us();
		TAILQ_REMOVE(&h->jobs, j, entry);
		run_job(h, j);
		lh_job_free(j);
		h->sync_used += lh_mono_us() - t0;
		n++;
	}
	if (!TAILQ_EMPTY(&h->jobs)) {
		struct timeval now = { 0, 0 };
		evtimer_add(h->ev_jobs, &now);
	}
	return n;
}

/* ---- callbacks from the core: each becomes a job ---- */

int
lh_event_cb(const struct event_rec *rec, void *arg)
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
		int64_t t0 = lh_mono_us();
		enum luabox_status st = run_event(h, &now, 0);
		h->sync_used += lh_mono_us() - t0;
		/* If the script went, the journal sees its subscription gone and stops there. */
		return st == LB_OK ? EVENT_DONE : EVENT_FAILED;
	}
	j = job_new(JOB_EVENT, sub->v);
	j->sub = sub;
	j->event_id = rec->id;
	j->type = lh_xstrdup(rec->type);
	j->subject = lh_xstrdup(rec->subject);
	j->actor = lh_xstrdup(rec->actor);
	j->created_at = lh_xstrdup(rec->created_at);
	if (rec->payload != NULL)
		j->payload = json_incref((json_t *)rec->payload);
	else
		j->payload_text = lh_xstrdup(rec->payload_text);
	enqueue(h, j);
	return EVENT_PENDING;
}

void
lh_timer_cb(struct sched_timer *t, int64_t now, void *arg)
{
	struct ltimer *lt = arg;
	struct luahost *h = lt->v->s->h;
	struct job *j;

	(void)t, (void)now;
	if (lt->v->stopping || lt->queued)
		return;
	if (may_run_now(h)) {
		struct job run = { .kind = JOB_TIMER, .v = lt->v, .timer = lt };
		int64_t t0 = lh_mono_us();
		run_timer(&run);
		h->sync_used += lh_mono_us() - t0;
		return;
	}
	lt->queued = 1;
	j = job_new(JOB_TIMER, lt->v);
	j->timer = lt;
	enqueue(h, j);
}

void
lh_http_cb(const struct net_result *res, void *arg)
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
	j->error_text = lh_xstrdup(res->error_text);
	j->status = res->status;
	j->retry_after = res->retry_after_s;
	j->content_type = res->content_type ? lh_xstrdup(res->content_type) : NULL;
	if (res->error == NET_OK) {
		if ((j->body = malloc(res->body_len + 1)) == NULL)
			fatal("malloc");
		memcpy(j->body, res->body, res->body_len);
		j->body[res->body_len] = '\0';
		j->body_len = res->body_len;
	}
	enqueue(v->s->h, j);
}
