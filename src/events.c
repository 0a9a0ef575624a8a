#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

#include "authz.h"
#include "db.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "util.h"

#define DISPATCH_BATCH 256 /* events read per subscriber per round */
#define ROUND_BATCHES 8 /* batches a round keeps for subscribers at other cursors */
#define PUBLISHED 2048 /* payloads kept from publish to dispatch, by id modulo this */
#define DISPATCH_BUDGET_MS 20 /* then the loop serves requests again */
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)
#define WINDOW_MAX 256 /* events an asynchronous subscriber may have in flight */

struct sub {
	TAILQ_ENTRY(sub) entry;
	const void *owner;
	char *name;
	char *type;
	event_fn fn;
	void *arg;
	int64_t cursor; /* the last event handled (or skipped as not matching) */
	int dirty; /* cursor or counters differ from the database's row */
	/*
	 * The events handed to an asynchronous handler and not all finished:
	 * win[0] the oldest. The cursor only passes contiguous finished ones,
	 * so a crash re-delivers from the first unfinished (at least once,
	 * never skipped). `next` is the last event handed or skipped.
	 */
	int window; /* how many may be in flight at once: 1 unless set */
	int text; /* takes payloads as text (events_set_text) */
	int win_n;
	int64_t win[WINDOW_MAX];
	unsigned char win_done[WINDOW_MAX];
	int64_t next;
	int64_t delivered;
	int64_t failures;
	int64_t backoff_ms;
	int64_t retry_at; /* monotonic ms; 0 when not backing off */
	char last_error[256];
	int dead; /* unsubscribed while the dispatcher runs: freed after it */
};

TAILQ_HEAD(sublist, sub);

/*
 * A payload as it was published, so that the dispatcher need not parse it
 * again (parsing is most of its work): a tree nobody else holds (see
 * keep_payload), used only for the row of that id whose stored text is the
 * same (an id rolled back may be given to another event). Dropped once
 * every subscriber has gone past it.
 */
struct published {
	int64_t id;
	char *text;
	json_t *payload;
};

struct events {
	struct event_base *base;
	struct db *db;
	struct event *ev;
	int delay_ms;
	int64_t scheduled_at; /* monotonic ms of the armed dispatch, 0 when none */
	int dispatching;
	struct sublist subs;
	struct published pub[PUBLISHED];
	struct json_buf text; /* the payload being published, reused */
	sqlite3_stmt *insert; /* db_stmt's, kept: its cache lives as long as db */
	time_t now; /* the second now_text writes */
	char now_text[32];
};

struct row {
	int64_t id;
	const char *type, *subject, *actor, *created_at; /* in text */
	const char *payload_text; /* in text; parsed when a subscriber first takes the row */
	char *text; /* the five strings, one allocation */
	json_t *payload; /* NULL until then */
};

/*
 * Every event with id > after, up to `limit` (at most DISPATCH_BATCH) of
 * them, read once in a round and handed to every subscriber whose cursor
 * falls in it: the payload is const for handlers, so they can share it.
 */
struct batch {
	int64_t after;
	int limit; /* full when n == limit: more may follow */
	int n;
	struct row rows[DISPATCH_BATCH];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dispatch_cb(evutil_socket_t, short, void *);

static void
published_drop(struct published *p)
{
	free(p->text);
	json_decref(p->payload);
	memset(p, 0, sizeof(*p));
}
static void flush(struct events *);

#define KEEP_DEPTH 64 /* deeper than this, a part is copied whole */

/*
 * Make v, whose reference the journal holds, a tree that no one else can
 * change: each part that another reference also reaches (the caller's
 * object in {"object": after}, a "changed" list set with json_object_set)
 * is replaced by a deep copy; a part only this reference reaches is kept
 * as it is, since whoever built it gave it to the journal. null, true and
 * false are jansson's constants. 0, or -1 when out of memory.
 */
static int
keep_parts(json_t *v, int depth)
{
	json_t *c;

	if (json_is_object(v)) {
		for (void *it = json_object_iter(v); it != NULL;
		     it = json_object_iter_next(v, it)) {
			json_t *x = json_object_iter_value(it);
			if (x->refcount == (size_t)-1)
				continue;
			if (x->refcount == 1 && depth < KEEP_DEPTH) {
				if (keep_parts(x, depth + 1) == -1)
					return -1;
				continue;
			}
			if ((c = json_deep_copy(x)) == NULL ||
			    json_object_iter_set_new(v, it, c) == -1)
				return -1;
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *x = json_array_get(v, i);
			if (x->refcount == (size_t)-1)
				continue;
			if (x->refcount == 1 && depth < KEEP_DEPTH) {
				if (keep_parts(x, depth + 1) == -1)
					return -1;
				continue;
			}
			if ((c = json_deep_copy(x)) == NULL || json_array_set_new(v, i, c) == -1)
				return -1;
		}
	}
	return 0;
}

/* Takes the reference to v; returns a tree only the journal holds, or NULL. */
static json_t *
keep_payload(json_t *v)
{
	json_t *c;

	if (v->refcount == 1)
		return keep_parts(v, 0) == 0 ? v : (json_decref(v), NULL);
	c = json_deep_copy(v);
	json_decref(v);
	return c;
}

static void
schedule(struct events *ev, int64_t in_ms)
{
	int64_t at = mono_ms() + in_ms;
	struct timeval tv = { (time_t)(in_ms / 1000), (suseconds_t)((in_ms % 1000) * 1000) };

	if (ev->scheduled_at != 0 && ev->scheduled_at <= at)
		return;
	ev->scheduled_at = at;
	evtimer_add(ev->ev, &tv);
}

struct events *
events_new(struct event_base *base, struct db *db, int delay_ms)
{
	struct events *ev = calloc(1, sizeof(*ev));

	if (ev == NULL)
		fatal("calloc");
	ev->base = base;
	ev->db = db;
	ev->delay_ms = delay_ms;
	TAILQ_INIT(&ev->subs);
	if ((ev->ev = evtimer_new(base, dispatch_cb, ev)) == NULL)
		fatalx("events: evtimer_new");
	return ev;
}

static void
sub_free(struct sub *s)
{
	free(s->name);
	free(s->type);
	free(s);
}

void
events_free(struct events *ev)
{
	struct sub *s;

	if (ev == NULL)
		return;
	flush(ev);
	while ((s = TAILQ_FIRST(&ev->subs)) != NULL) {
		TAILQ_REMOVE(&ev->subs, s, entry);
		sub_free(s);
	}
	for (int i = 0; i < PUBLISHED; i++)
		published_drop(&ev->pub[i]);
	json_buf_free(&ev->text);
	event_free(ev->ev);
	free(ev);
}

void
events_set_delay(struct events *ev, int delay_ms)
{
	ev->delay_ms = delay_ms;
}

void
events_kick(struct events *ev)
{
	schedule(ev, ev->delay_ms);
}

int64_t
events_publish(struct events *ev, const char *type, const char *subject, json_t *payload,
    int64_t actor_id, const char *actor)
{
	static const char sql[] = "INSERT INTO events (type, subject, payload, actor_id, actor,"
	                          " created_at) VALUES (?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st = ev->insert != NULL ? ev->insert : (ev->insert = db_stmt(ev->db, sql));
	time_t now = tr_now();
	int64_t id;
	int rc;

	if (payload == NULL)
		payload = json_object();
	/* The same text as json_dumps(JSON_COMPACT), into a buffer kept for the next event. */
	if (st == NULL || json_dump_compact(payload, &ev->text) == -1) {
		json_decref(payload);
		return -1;
	}
	if (now != ev->now || ev->now_text[0] == '\0') {
		tr_rfc3339(now, ev->now_text, sizeof(ev->now_text));
		ev->now = now;
	}
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ev->text.data, (int)ev->text.len, SQLITE_STATIC);
	if (actor_id > 0)
		sqlite3_bind_int64(st, 4, actor_id);
	sqlite3_bind_text(st, 5, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, ev->now_text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE) {
		if (!db_full(ev->db, NULL))
			log_warnx("events: cannot record %s %s: %s", type, subject,
			    sqlite3_errmsg(db_handle(ev->db)));
		json_decref(payload);
		return -1;
	}
	id = sqlite3_last_insert_rowid(db_handle(ev->db));
	if (!TAILQ_EMPTY(&ev->subs)) {
		struct published *p = &ev->pub[id % PUBLISHED];
		published_drop(p);
		/* Kept, not copied, where the caller gave it whole: the text was written from it. */
		if ((p->payload = keep_payload(payload)) != NULL &&
		    (p->text = malloc(ev->text.len + 1)) != NULL) {
			memcpy(p->text, ev->text.data, ev->text.len + 1);
			p->id = id;
		} else
			published_drop(p);
	} else
		json_decref(payload);
	/* Dispatch runs from the loop, after the caller's commit (or finds nothing after a rollback). */
	events_kick(ev);
	return id;
}

int64_t
events_publish_by(struct events *ev, const struct identity *who, const char *type,
    const char *subject, json_t *payload)
{
	return events_publish(ev, type, subject, payload, who->staff_id, who->unix_user);
}

int64_t
events_publish_change(struct events *ev, const struct identity *who, const char *kind, int64_t id,
    json_t *after, json_t *before)
{
	char type[64], subject[96];
	json_t *payload = json_pack("{s:O}", "object", after);

	snprintf(type, sizeof(type), "%s.%s", kind, before ? "updated" : "created");
	snprintf(subject, sizeof(subject), "%s/%lld", kind, (long long)id);
	if (before != NULL) {
		json_t *changed = json_array();
		const char *k;
		json_t *v;
		json_object_foreach (after, k, v) {
			if (strcmp(k, "updated_at") != 0 &&
			    !json_equal(v, json_object_get(before, k)))
				json_array_append_new(changed, json_string(k));
		}
		json_object_set_new(payload, "changed", changed);
	}
	return events_publish_by(ev, who, type, subject, payload);
}

static int
type_matches(const char *pattern, const char *type)
{
	size_t n = strlen(pattern);

	if (strcmp(pattern, "*") == 0)
		return 1;
	if (n >= 2 && pattern[n - 2] == '.' && pattern[n - 1] == '*')
		return strncmp(pattern, type, n - 1) == 0;
	return strcmp(pattern, type) == 0;
}

static struct sub *
find_sub(struct events *ev, const char *name)
{
	struct sub *s;

	TAILQ_FOREACH (s, &ev->subs, entry)
		if (!s->dead && strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* Write one subscriber's cursor and counters; 0 when written. */
static int
write_cursor(struct events *ev, struct sub *s)
{
	static const char sql[] =
	    "INSERT INTO event_cursors (subscriber, last_id, delivered, failures, last_error,"
	    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (subscriber) DO UPDATE SET"
	    " last_id = ?2, delivered = ?3, failures = ?4, last_error = ?5, updated_at = ?6";
	sqlite3_stmt *st = db_stmt(ev->db, sql);
	char now[32];
	int rc;

	if (st == NULL)
		return -1;
	tr_rfc3339(tr_now(), now, sizeof(now));
	sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, s->cursor);
	sqlite3_bind_int64(st, 3, s->delivered);
	sqlite3_bind_int64(st, 4, s->failures);
	if (s->last_error[0])
		sqlite3_bind_text(st, 5, s->last_error, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc == SQLITE_DONE)
		return 0;
	/* A full disk is logged once, by the store. */
	if (!db_full(ev->db, NULL))
		log_warnx("events: cannot save the cursor of %s: %s", s->name,
		    sqlite3_errmsg(db_handle(ev->db)));
	return -1;
}

/*
 * Save every cursor that moved in one transaction: one commit per dispatch
 * round, not one per subscriber. It runs after the round's handlers (which
 * may use the database), so a crash before its commit re-delivers the
 * round to every subscriber and never skips an event. On failure the
 * cursors stay in memory, marked, and are saved at the next chance.
 */
static void
flush(struct events *ev)
{
	struct sub *s;
	int n = 0, own, ok = 1;

	TAILQ_FOREACH (s, &ev->subs, entry)
		if (!s->dead && s->dirty)
			n++;
	if (n == 0)
		return;
	/* Within a transaction left open by a caller, the saves go with it. */
	own = sqlite3_get_autocommit(db_handle(ev->db));
	if (own && db_begin(ev->db) == -1)
		return;
	TAILQ_FOREACH (s, &ev->subs, entry) {
		if (!s->dead && s->dirty && write_cursor(ev, s) == -1) {
			ok = 0;
			break;
		}
	}
	if (own) {
		if (!ok)
			db_rollback(ev->db);
		else if (db_commit(ev->db) == -1)
			ok = 0;
	}
	if (!ok)
		return;
	TAILQ_FOREACH (s, &ev->subs, entry)
		if (!s->dead)
			s->dirty = 0;
}

int
events_subscribe(struct events *ev, const void *owner, const char *name, const char *type,
    event_fn fn, void *arg)
{
	static const char load[] =
	    "SELECT last_id, delivered, failures, coalesce(last_error, '') FROM event_cursors"
	    " WHERE subscriber = ?";
	static const char newest[] = "SELECT coalesce(max(id), 0) FROM events";
	struct sub *s;
	sqlite3_stmt *st;

	if (name == NULL || type == NULL || fn == NULL || *name == '\0' || *type == '\0') {
		log_warnx("events: a subscription needs a name, a type and a handler");
		return -1;
	}
	if (find_sub(ev, name) != NULL) {
		log_warnx("events: %s is already subscribed", name);
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("calloc");
	s->owner = owner;
	s->name = strdup(name);
	s->type = strdup(type);
	s->fn = fn;
	s->arg = arg;
	s->cursor = -1;
	s->window = 1;
	if ((st = db_stmt(ev->db, load)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		s->cursor = sqlite3_column_int64(st, 0);
		s->delivered = sqlite3_column_int64(st, 1);
		s->failures = sqlite3_column_int64(st, 2);
		json_safe_text(
		    s->last_error, sizeof(s->last_error), (const char *)sqlite3_column_text(st, 3));
	}
	db_done(st);
	if (s->cursor < 0) {
		/* A new subscriber starts now: it is not handed the whole history. */
		if ((st = db_stmt(ev->db, newest)) == NULL)
			goto fail;
		if (sqlite3_step(st) == SQLITE_ROW)
			s->cursor = sqlite3_column_int64(st, 0);
		db_done(st);
		if (s->cursor < 0)
			goto fail;
		/* Kept marked and saved with the next round if this fails. */
		s->dirty = write_cursor(ev, s) == -1;
	}
	s->next = s->cursor;
	TAILQ_INSERT_TAIL(&ev->subs, s, entry);
	log_debug("events: %s subscribed to %s after event %lld", name, type, (long long)s->cursor);
	events_kick(ev);
	return 0;
fail:
	log_warnx("events: cannot subscribe %s: %s", name, sqlite3_errmsg(db_handle(ev->db)));
	sub_free(s);
	return -1;
}

void
events_unsubscribe_owner(struct events *ev, const void *owner)
{
	struct sub *s, *next;

	/* What the owner's subscribers handled is saved before they go. */
	TAILQ_FOREACH (s, &ev->subs, entry)
		if (s->owner == owner && !s->dead && s->dirty) {
			flush(ev);
			break;
		}
	for (s = TAILQ_FIRST(&ev->subs); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->owner != owner || s->dead)
			continue;
		if (ev->dispatching) {
			s->dead = 1;
			continue;
		}
		TAILQ_REMOVE(&ev->subs, s, entry);
		sub_free(s);
	}
}

static void
reap(struct events *ev)
{
	struct sub *s, *next;

	for (s = TAILQ_FIRST(&ev->subs); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->dead) {
			TAILQ_REMOVE(&ev->subs, s, entry);
			sub_free(s);
		}
	}
}

static void
failed(struct events *ev, struct sub *s, int64_t id, const char *why)
{
	s->failures++;
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_FIRST_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	s->retry_at = mono_ms() + s->backoff_ms;
	/* Shown in the subscriptions list: a handler's text, made fit for JSON. */
	json_safe_format(s->last_error, sizeof(s->last_error), "event %lld: %s", (long long)id,
	    why ? why : "the handler failed");
	/* On a full disk every retry fails alike: the store logged the episode. */
	if (db_full(ev->db, NULL))
		log_debug("events: %s failed on event %lld (%s) on a full disk; retry in %lld ms",
		    s->name, (long long)id, why ? why : "the handler failed",
		    (long long)s->backoff_ms);
	else
		log_warnx("events: %s failed on event %lld (%s); retry in %lld ms", s->name,
		    (long long)id, why ? why : "the handler failed", (long long)s->backoff_ms);
	s->dirty = 1;
}

/* Pass the cursor over the finished events at the window's head. */
static void
win_advance(struct sub *s)
{
	int k = 0;

	while (k < s->win_n && s->win_done[k])
		k++;
	if (k == 0)
		return;
	memmove(s->win, s->win + k, (size_t)(s->win_n - k) * sizeof(s->win[0]));
	memmove(s->win_done, s->win_done + k, (size_t)(s->win_n - k));
	s->win_n -= k;
	/* Emptied: the events skipped after the last one handed are passed too. */
	s->cursor = s->win_n == 0 ? s->next : s->win[0] - 1;
	s->dirty = 1;
}

int
events_set_window(struct events *ev, const char *name, int n)
{
	struct sub *s = find_sub(ev, name);

	if (s == NULL)
		return -1;
	s->window = n < 1 ? 1 : n > WINDOW_MAX ? WINDOW_MAX : n;
	return 0;
}

int
events_set_text(struct events *ev, const char *name)
{
	struct sub *s = find_sub(ev, name);

	if (s == NULL)
		return -1;
	s->text = 1;
	return 0;
}

void
events_done(struct events *ev, const char *name, int64_t event_id, int ok, const char *error)
{
	struct sub *s = find_sub(ev, name);
	int k;

	for (k = 0; s != NULL && k < s->win_n && s->win[k] != event_id; k++)
		;
	if (s == NULL || k == s->win_n || s->win_done[k]) {
		/* With a window, an answer for an event dropped by an earlier failure. */
		if (s == NULL || s->window == 1)
			log_warnx("events: %s: no event %lld pending", name, (long long)event_id);
		else
			log_debug("events: %s: event %lld no more pending (handed again)", name,
			    (long long)event_id);
		return;
	}
	if (ok) {
		s->win_done[k] = 1;
		s->delivered++;
		s->backoff_ms = 0;
		s->retry_at = 0;
		win_advance(s);
	} else {
		/*
		 * Retried from the first unfinished event: those in flight after
		 * it are dropped (their answers ignored) and handed again.
		 */
		win_advance(s);
		s->win_n = 0;
		s->next = s->cursor;
		failed(ev, s, event_id, error);
	}
	/*
	 * The next round saves it (with the others' cursors) and, unless it
	 * backs off, goes on. While half a window is still in flight the
	 * handler has work: the round (its cursor commit) waits, so a window
	 * costs one commit per half of it, not one per event.
	 */
	if (s->window > 1 && s->win_n > s->window / 2 && s->retry_at == 0)
		return;
	schedule(ev, 0);
}

/* A row's five strings copied in one allocation (a batch holds up to DISPATCH_BATCH rows). */
static void
row_strings(struct row *r, sqlite3_stmt *st)
{
	static const int cols[5] = { 1, 2, 4, 5, 3 };
	const char *v[5];
	size_t len[5], total = 0, off = 0;
	const char **to[5] = { &r->type, &r->subject, &r->actor, &r->created_at, &r->payload_text };

	for (int i = 0; i < 5; i++) {
		v[i] = (const char *)sqlite3_column_text(st, cols[i]);
		len[i] = v[i] != NULL ? (size_t)sqlite3_column_bytes(st, cols[i]) : 0;
		total += len[i] + 1;
	}
	if ((r->text = malloc(total)) == NULL)
		fatal("malloc");
	for (int i = 0; i < 5; i++) {
		if (len[i] > 0)
			memcpy(r->text + off, v[i], len[i]);
		r->text[off + len[i]] = '\0';
		*to[i] = r->text + off;
		off += len[i] + 1;
	}
}

#if defined(__SANITIZE_ADDRESS__)
#define CHECK_KEPT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHECK_KEPT 1
#endif
#endif

/*
 * In the sanitizer build (the tests'), a payload kept from publish must
 * still write its stored text: a caller that changed what it gave away
 * (through a pointer it kept) would show subscribers something else.
 */
static void
kept_unchanged(const struct published *p)
{
#ifdef CHECK_KEPT
	struct json_buf b = { NULL, 0, 0 };

	if (json_dump_compact(p->payload, &b) == -1 || strcmp(b.data, p->text) != 0)
		fatalx("events: event %lld: its payload was changed after it was published",
		    (long long)p->id);
	json_buf_free(&b);
#else
	(void)p;
#endif
}

/* Read up to limit events after `after` into b; -1 on a database error. */
static int
load_batch(struct events *ev, int64_t after, int limit, struct batch *b)
{
	static const char sql[] = "SELECT id, type, subject, payload, actor, created_at FROM events"
	                          " WHERE id > ? ORDER BY id LIMIT ?";
	sqlite3_stmt *st = db_stmt(ev->db, sql);
	int rc = SQLITE_DONE;

	b->after = after;
	b->limit = limit;
	b->n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	while (b->n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct row *r = &b->rows[b->n++];
		r->id = sqlite3_column_int64(st, 0);
		row_strings(r, st);
		const struct published *p = &ev->pub[r->id % PUBLISHED];
		r->payload = NULL;
		if (p->id == r->id && p->payload != NULL && strcmp(p->text, r->payload_text) == 0) {
			r->payload = json_incref(p->payload);
			kept_unchanged(p);
		}
	}
	if (b->n == limit)
		rc = SQLITE_DONE;
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
free_batch(struct batch *b)
{
	if (b == NULL)
		return;
	for (int i = 0; i < b->n; i++) {
		free(b->rows[i].text);
		json_decref(b->rows[i].payload);
	}
	free(b);
}

/* The batches read in one round, shared by its subscribers. */
struct round {
	struct batch *b[ROUND_BATCHES];
	int next; /* the slot the next batch read takes (the oldest goes) */
};

/*
 * The events after `cursor` as the round has them: a batch read this round
 * holds them when it started at or before the cursor and either reaches
 * past it or was not full (then it held every event there was). Otherwise
 * read one. *first: the index of the first event after the cursor.
 */
static struct batch *
round_batch(struct events *ev, struct round *rd, int64_t cursor, int limit, int *first)
{
	struct batch *b;
	int i;

	for (i = 0; i < ROUND_BATCHES; i++) {
		b = rd->b[i];
		if (b == NULL || b->after > cursor)
			continue;
		if (b->n == b->limit && b->rows[b->n - 1].id <= cursor)
			continue;
		for (*first = 0; *first < b->n && b->rows[*first].id <= cursor; (*first)++)
			;
		return b;
	}
	if ((b = malloc(sizeof(*b))) == NULL)
		fatal("malloc");
	if (load_batch(ev, cursor, limit, b) == -1) {
		log_warnx("events: cannot read the journal: %s", sqlite3_errmsg(db_handle(ev->db)));
		free_batch(b);
		return NULL;
	}
	/* Handlers have returned: nothing still points into the batch it replaces. */
	free_batch(rd->b[rd->next]);
	rd->b[rd->next] = b;
	rd->next = (rd->next + 1) % ROUND_BATCHES;
	*first = 0;
	return b;
}

/*
 * Hand one subscriber its next events. Rows are read into memory first so
 * that handlers may use the database freely; the cursor is saved at the end
 * of the round. Stops early when the round has used its time. Returns 1
 * when more may wait.
 */
static int
dispatch_one(struct events *ev, struct round *rd, struct sub *s, int64_t start)
{
	int first, i;
	/*
	 * With events in flight, the subscriber takes no more than its window's
	 * room: reading more would read (and free) rows it cannot take.
	 */
	int room = s->win_n > 0 && s->window - s->win_n < DISPATCH_BATCH ? s->window - s->win_n
	                                                                 : DISPATCH_BATCH;
	struct batch *b = round_batch(ev, rd, s->next, room, &first);

	if (b == NULL)
		return 0;
	for (i = first; i < b->n; i++) {
		struct row *r = &b->rows[i];
		/* The loop serves requests again; the rest waits for the next round. */
		if (i > first && mono_ms() - start > DISPATCH_BUDGET_MS)
			return !s->dead && s->win_n < s->window && s->retry_at == 0;
		struct event_rec rec = { r->id, r->type, r->subject, NULL, r->actor, r->created_at,
			r->payload_text[0] ? r->payload_text : "{}" };
		if (!type_matches(s->type, rec.type)) {
			s->next = rec.id;
			if (s->win_n == 0) {
				s->cursor = rec.id;
				s->dirty = 1;
			}
			continue;
		}
		/* Parsed once, for the first subscriber that takes it (most of a round's work). */
		if (!s->text && r->payload == NULL &&
		    (r->payload = json_loads(rec.payload_text, 0, NULL)) == NULL)
			r->payload = json_object();
		rec.payload = s->text ? NULL : r->payload;
		int rc = s->fn(&rec, s->arg);
		if (s->dead)
			break;
		if (rc == EVENT_DONE && s->win_n == 0) {
			s->cursor = s->next = rec.id;
			s->delivered++;
			s->backoff_ms = 0;
			s->retry_at = 0;
			s->dirty = 1;
		} else if (rc == EVENT_DONE || rc == EVENT_PENDING) {
			/* Behind events in flight, a finished one waits for them. */
			s->win[s->win_n] = rec.id;
			s->win_done[s->win_n] = rc == EVENT_DONE;
			s->win_n++;
			s->next = rec.id;
			if (rc == EVENT_DONE)
				s->delivered++;
			if (s->win_n >= s->window) {
				i++;
				break;
			}
		} else {
			/* Retried from the cursor: the events in flight are handed again. */
			s->win_n = 0;
			s->next = s->cursor;
			failed(ev, s, rec.id, NULL);
			break;
		}
	}
	/* The batch was full and this subscriber went through it: more may wait. */
	return !s->dead && i == b->n && b->n == b->limit && s->win_n < s->window &&
	    s->retry_at == 0;
}

/* Drop the published payloads every subscriber has gone past. */
static void
forget_delivered(struct events *ev)
{
	int64_t least = INT64_MAX;
	struct sub *s;

	TAILQ_FOREACH (s, &ev->subs, entry)
		if (s->cursor < least)
			least = s->cursor;
	for (int i = 0; i < PUBLISHED; i++)
		if (ev->pub[i].payload != NULL && ev->pub[i].id <= least)
			published_drop(&ev->pub[i]);
}

static void
dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct events *ev = arg;
	int64_t start = mono_ms(), now, next_retry = 0;
	struct round rd;
	struct sub *s;
	int more = 0;

	(void)fd, (void)what;
	ev->scheduled_at = 0;
	ev->dispatching = 1;
	memset(&rd, 0, sizeof(rd));
	/*
	 * Each round starts where the last one stopped: the subscriber served
	 * goes to the back, so a slow one with a backlog cannot starve the others.
	 */
	int nsubs = 0;
	TAILQ_FOREACH (s, &ev->subs, entry)
		nsubs++;
	for (int i = 0; i < nsubs && (s = TAILQ_FIRST(&ev->subs)) != NULL; i++) {
		TAILQ_REMOVE(&ev->subs, s, entry);
		TAILQ_INSERT_TAIL(&ev->subs, s, entry);
		now = mono_ms();
		if (s->dead || s->win_n >= s->window)
			continue;
		if (s->retry_at != 0 && s->retry_at > now) {
			if (next_retry == 0 || s->retry_at < next_retry)
				next_retry = s->retry_at;
			continue;
		}
		if (now - start > DISPATCH_BUDGET_MS) {
			/* Not served this round: put it back in front for the next. */
			TAILQ_REMOVE(&ev->subs, s, entry);
			TAILQ_INSERT_HEAD(&ev->subs, s, entry);
			more = 1;
			break;
		}
		more |= dispatch_one(ev, &rd, s, start);
		if (!s->dead && s->retry_at != 0 && (next_retry == 0 || s->retry_at < next_retry))
			next_retry = s->retry_at;
	}
	ev->dispatching = 0;
	flush(ev);
	for (int i = 0; i < ROUND_BATCHES; i++)
		free_batch(rd.b[i]);
	reap(ev);
	forget_delivered(ev);
	if (more)
		schedule(ev, 0);
	else if (next_retry != 0)
		schedule(ev, next_retry - mono_ms() > 0 ? next_retry - mono_ms() : 0);
}

json_t *
events_subscriptions_json(struct events *ev, const void *owner)
{
	json_t *a = json_array();
	struct sub *s;

	TAILQ_FOREACH (s, &ev->subs, entry) {
		if (s->owner != owner || s->dead)
			continue;
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:I, s:I, s:I, s:s?, s:b}", "name", s->name, "type",
		        s->type, "cursor", (json_int_t)s->cursor, "delivered",
		        (json_int_t)s->delivered, "failures", (json_int_t)s->failures, "last_error",
		        s->last_error[0] ? s->last_error : NULL, "pending", s->win_n > 0));
	}
	return a;
}

void
events_backlog(
    struct events *ev, void (*fn)(const char *name, int64_t pending, void *arg), void *arg)
{
	/* The same three forms as type_matches(): "*", "prefix.*", an exact type. */
	static const char sql[] =
	    "SELECT count(*) FROM events WHERE id > ?1 AND (?2 = '*' OR type = ?2 OR"
	    " (substr(?2, -2) = '.*' AND substr(type, 1, length(?2) - 1) ="
	    " substr(?2, 1, length(?2) - 1)))";
	struct sub *s;

	TAILQ_FOREACH (s, &ev->subs, entry) {
		sqlite3_stmt *st;
		int64_t n = -1;

		if (s->dead)
			continue;
		if ((st = db_stmt(ev->db, sql)) != NULL) {
			sqlite3_bind_int64(st, 1, s->cursor);
			sqlite3_bind_text(st, 2, s->type, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				n = sqlite3_column_int64(st, 0);
			db_done(st);
		}
		fn(s->name, n, arg);
	}
}
