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
#include "luahost_int.h"

static const char *const state_names[] = {
	[SS_ENABLED] = "enabled",
	[SS_DISABLED_FAILED] = "disabled_failed",
	[SS_DISABLED_CONFIG] = "disabled_config",
	[SS_LOADING] = "loading",
};

int64_t
lh_mono_us(void)
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

void
lh_set_error(struct script *s, const char *fmt, ...)
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

/*
 * Text of a script for the log, on one line: control characters (C0, DEL,
 * and the C1 ones a terminal also obeys) become escapes (\n, \r, \t,
 * \xHH), so that a script can neither forge a line nor drive a terminal.
 * Cut at size - 1 bytes, between escapes.
 */
const char *
lh_log_text(const char *msg, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		unsigned char c = (unsigned char)msg[i];
		char esc[5];
		size_t n;
		if (c == 0xc2 && i + 1 < len && (unsigned char)msg[i + 1] >= 0x80 &&
		    (unsigned char)msg[i + 1] <= 0x9f) {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)msg[++i]);
			n = 4;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			n = 4;
		} else {
			esc[0] = (char)c;
			n = 1;
		}
		if (o + n >= size)
			break;
		memcpy(buf + o, esc, n);
		o += n;
	}
	buf[o] = '\0';
	return buf;
}

/* The first line of a message, for the log (the traceback stays in last_error), escaped. */
const char *
lh_first_line(const char *msg, char *buf, size_t size)
{
	return lh_log_text(msg, strcspn(msg, "\n"), buf, size);
}

struct version *
lh_version_of(lua_State *L)
{
	return luabox_ud(L);
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
		lh_job_free(j);
	}
}

/* One load fewer: once none is left, the waiters are told from the loop. */
static void
loading_done(struct luahost *h)
{
	struct timeval now = { 0, 0 };

	if (--h->nloading == 0)
		evtimer_add(h->ev_loaded, &now);
}

static void
loaded_cb(evutil_socket_t fd, short what, void *arg)
{
	struct luahost *h = arg;
	struct lwaiter *wt;

	(void)fd, (void)what;
	while (h->nloading == 0 && (wt = TAILQ_FIRST(&h->waiters)) != NULL) {
		TAILQ_REMOVE(&h->waiters, wt, entry);
		wt->fn(wt->arg);
		free(wt);
	}
}

int
luahost_when_loaded(struct luahost *h, void (*fn)(void *), void *arg)
{
	struct lwaiter *wt;

	if (h == NULL || h->nloading == 0)
		return 0;
	if ((wt = calloc(1, sizeof(*wt))) == NULL)
		fatal("calloc");
	wt->fn = fn;
	wt->arg = arg;
	TAILQ_INSERT_TAIL(&h->waiters, wt, entry);
	return 1;
}

/* Undo everything v registered, close its state, free it. */
void
lh_version_stop(struct version *v)
{
	struct luahost *h = v->s->h;
	struct lsub *sub;
	struct ltimer *t;

	v->stopping = 1;
	if (v->s->next == v) {
		/* A load given up (superseded, disabled, shut down): no outcome follows. */
		v->s->next = NULL;
		loading_done(h);
	}
	if (v->w != NULL)
		lp_version_stop(v); /* the worker goes first: nothing more comes from it */
	free(v->text);
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
		if (events_subscribe(h->srv->events, v, sub->name, sub->type, lh_event_cb, sub) ==
		    -1) {
			snprintf(
			    err, errlen, "cannot subscribe to %s (the log says why)", sub->type);
			return -1;
		} else {
			/* Events queue for the script (or its worker) without a wait between them. */
			events_set_window(h->srv->events, sub->name, LH_EVENT_WINDOW);
			/* A worker is sent the payloads as they are stored. */
			if (h->workers)
				events_set_text(h->srv->events, sub->name);
		}
	TAILQ_FOREACH (t, &v->timers, entry) {
		int64_t period = t->period_s * 1000;
		t->t = sched_add(h->srv->sched, v, t->name, t->immediately ? 0 : period, period, 0,
		    lh_timer_cb, t);
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
	if (s->h->workers) {
		/* In a worker process of its own: its sandbox is there; the outcome follows. */
		s->next = v;
		s->h->nloading++;
		if (lp_load(v, text, len, err) == -1) {
			if (*err == NULL)
				*err = lh_xstrdup("out of memory");
			lh_version_stop(v);
			return NULL;
		}
		return v;
	}
	if ((v->box = luabox_new(&limits, v, e, sizeof(e))) == NULL) {
		*err = lh_xstrdup(e);
		json_decref(v->section);
		free(v);
		return NULL;
	}
	v->loading = 1;
	st = lh_call(v, lh_setup_entry, v, err);
	if (st == LB_OK) {
		snprintf(chunkname, sizeof(chunkname), "@%s", s->file);
		struct chunk c = { chunkname, text, len };
		st = lh_call(v, lh_main_entry, &c, err);
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
			*err = lh_xstrdup("out of memory");
		lh_version_stop(v);
		return NULL;
	}
	return v;
}

int64_t
lh_interval(const char *s)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || n <= 0 || n > MAX_PERIOD_S || end[0] == '\0' || end[1] != '\0')
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
	return 0;
}

/* ---- scripts ---- */

/* A file's whole text, at most max bytes, NUL-terminated and malloc'd in *text. */
static int
read_text(const char *path, size_t max, char **text, size_t *len, char *err, size_t errlen)
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
	if ((size_t)sb.st_size > max) {
		snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
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

int
lh_read_lib(
    const struct luahost *h, const char *name, char **text, size_t *len, char *err, size_t errlen)
{
	char path[PATH_MAX], e[PATH_MAX + 64];

	/* Checked again: the name may come from a worker. */
	if (!luabox_lib_name(name, strlen(name))) {
		snprintf(err, errlen, "use: '%s' is not a library name ([a-z][a-z0-9_]*)", name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/lib/%s.lua", h->script_dir, name);
	if (read_text(path, MAX_LIB_BYTES, text, len, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "use: %s", e);
		return -1;
	}
	return 0;
}

static void
script_path(const struct luahost *h, const char *file, char *path, size_t size)
{
	if (file[0] == '/')
		tr_strlcpy(path, file, size);
	else if (snprintf(path, size, "%s/%s", h->script_dir, file) >= (int)size)
		path[0] = '\0'; /* too long: read_text says it cannot open "" */
}

/*
 * A version of s was loaded (nv), or not (err, taken): the running one
 * gives way to it, or stays with the reason.
 */
static void
version_ready(struct script *s, struct version *nv, char *err)
{
	char path[PATH_MAX], e[PATH_MAX + 256];

	if (nv != NULL && s->quota_reason[0] != '\0') {
		if (asprintf(&err, "quota %s (while loading)", s->quota_reason) == -1)
			err = NULL;
		if (err == NULL)
			err = lh_xstrdup("out of memory");
		lh_version_stop(nv);
		nv = NULL;
	}
	if (nv == NULL) {
		char line[300];
		s->quota_reason[0] = '\0'; /* the running version, if any, did not pass it */
		if (s->cur != NULL) {
			lh_set_error(s, "reload refused, the running version %s stays: %s",
			    s->cur->digest, err);
			log_warnx("script %s: reload refused, the running version stays: %s",
			    s->name, lh_first_line(err, line, sizeof(line)));
		} else {
			s->state = SS_DISABLED_FAILED;
			lh_set_error(s, "%s", err);
			log_warnx("script %s: refused: %s", s->name,
			    lh_first_line(err, line, sizeof(line)));
		}
		free(err);
		return;
	}
	if (s->cur != NULL) {
		lh_version_stop(s->cur);
		s->cur = NULL;
	}
	if (version_start(nv, e, sizeof(e)) == -1) {
		lh_version_stop(nv);
		s->state = SS_DISABLED_FAILED;
		lh_set_error(s, "%s", e);
		log_warnx("script %s: refused: %s", s->name, e);
		return;
	}
	s->cur = nv;
	s->state = SS_ENABLED;
	s->failures_in_row = 0;
	lh_set_error(s, NULL);
	script_path(s->h, s->file, path, sizeof(path));
	log_info("script %s %s loaded from %s (%s; %zu bytes of memory)", s->name, nv->digest, path,
	    nv->description[0] ? nv->description : "no description",
	    nv->box ? luabox_memory(nv->box) : nv->memory);
}

int
lh_loaded(struct version *v, char *err)
{
	struct script *s = v->s;

	if (s->next == v) {
		s->next = NULL;
		loading_done(s->h);
	}
	if (err != NULL) {
		lh_version_stop(v);
		version_ready(s, NULL, err);
		return 1;
	}
	version_ready(s, v, NULL);
	return s->cur != v;
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
		if (s->next != NULL)
			lh_version_stop(s->next);
		if (s->cur != NULL) {
			log_info("script %s: disabled by the configuration", s->name);
			lh_version_stop(s->cur);
			s->cur = NULL;
		}
		s->state = SS_DISABLED_CONFIG;
		lh_set_error(s, "enabled = false in the configuration");
		return;
	}
	script_path(h, file, path, sizeof(path));
	if (read_text(path, LUABOX_MAX_CHUNK, &text, &len, e, sizeof(e)) == -1) {
		if (s->next != NULL)
			lh_version_stop(s->next);
		if (s->cur != NULL) {
			lh_set_error(s, "reload refused, the running version %s stays: %s",
			    s->cur->digest, e);
			log_warnx("script %s: %s", s->name, s->last_error);
		} else {
			s->state = SS_DISABLED_FAILED;
			lh_set_error(s, "%s", e);
			log_warnx("script %s: refused: %s", s->name, e);
		}
		return;
	}
	digest_of(text, len, digest, sizeof(digest));
	if (s->next != NULL && strcmp(digest, s->next->digest) == 0 &&
	    json_equal(section, s->next->section)) {
		free(text);
		return; /* the same one loads already */
	}
	if (s->next != NULL)
		lh_version_stop(s->next); /* superseded */
	if (s->cur != NULL && strcmp(digest, s->cur->digest) == 0 &&
	    json_equal(section, s->cur->section)) {
		free(text);
		return; /* unchanged: it runs on */
	}
	/* A new version starts with fresh quotas (a reload is the operator's word). */
	memset(&s->q_notify, 0, sizeof(s->q_notify));
	memset(&s->q_http, 0, sizeof(s->q_http));
	memset(&s->q_cpu, 0, sizeof(s->q_cpu));
	s->quota_reason[0] = '\0';
	nv = version_load(s, section, text, len, &err);
	free(text);
	if (nv != NULL && s->next == nv) {
		/* Loading in its worker: the running version, if any, serves meanwhile. */
		if (s->cur == NULL)
			s->state = SS_LOADING;
		return;
	}
	version_ready(s, nv, err);
}

static void
script_free(struct script *s)
{
	if (s->next != NULL)
		lh_version_stop(s->next);
	if (s->cur != NULL)
		lh_version_stop(s->cur);
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
	h->script_dir = lh_xstrdup(conf->script_dir);
	h->allow_http = conf->allow_http;
	h->workers = conf->script_workers;
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
	/* At start, before the daemon serves: the scripts load in parallel, awaited here. */
	if (!h->applied) {
		h->applied = 1;
		while (h->nloading > 0)
			if (event_base_loop(h->srv->base, EVLOOP_ONCE) == -1)
				fatalx("luahost: the event loop failed");
	}
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
	TAILQ_INIT(&h->waiters);
	if ((h->ev_jobs = evtimer_new(srv->base, lh_jobs_cb, h)) == NULL ||
	    (h->ev_loaded = evtimer_new(srv->base, loaded_cb, h)) == NULL)
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
	lp_shutdown();
	/* No load is left either: whoever waited is told now. */
	loaded_cb(-1, 0, h);
	event_free(h->ev_loaded);
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
		        (json_int_t)(v ? (v->box ? luabox_memory(v->box) : v->memory) : 0),
		        "memory_limit_bytes", (json_int_t)(lim ? json_integer_value(lim) << 20 : 0),
		        "calls", (json_int_t)s->calls, "failures", (json_int_t)s->failures,
		        "failures_in_row", (json_int_t)s->failures_in_row, "timers", timers,
		        "http_in_flight", (json_int_t)(v ? v->nhttp : 0)));
		/* A new version loads in its worker (the running one, if any, serves meanwhile). */
		json_object_set_new(
		    json_object_get(o, "script"), "loading", json_boolean(s->next != NULL));
		json_array_append_new(items, o);
	}
	return items;
}
