/*
 * events.c's dispatcher on a real SQLite file: the cursors a round moved
 * saved in one commit, payloads read once per round and shared, subscribers
 * at different cursors in one round, a crash before the round's commit
 * re-delivering (never skipping), failures and asynchronous handlers saved.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "db.h"
#include "events.h"
#include "handlers.h"
#include "log.h"

#define MAXREC 1024

struct fixture {
	char dir[64];
	char path[PATH_MAX];
	struct event_base *base;
	struct db *db;
	struct events *ev;
};

/* What one subscriber was handed, and what it does. */
struct rec {
	int n;
	int64_t ids[MAXREC];
	json_t *kept[MAXREC]; /* payloads held, as an asynchronous handler does */
	int keep;
	int64_t fail_on; /* EVENT_FAILED for this event id */
	int64_t pending_on; /* EVENT_PENDING for this event id */
	int64_t crash_on; /* the process ends in the handler of this event id */
	int all_pending; /* EVENT_PENDING for every event */
};

static int owner;

static int
handler(const struct event_rec *e, void *arg)
{
	struct rec *r = arg;

	if (r->crash_on == e->id)
		_exit(0); /* the others have handled it; nothing is committed after */
	if (r->fail_on == e->id)
		return EVENT_FAILED;
	if (r->n < MAXREC) {
		r->ids[r->n] = e->id;
		if (r->keep)
			r->kept[r->n] = json_incref((json_t *)e->payload);
	}
	r->n++;
	return r->pending_on == e->id || r->all_pending ? EVENT_PENDING : EVENT_DONE;
}

/* A subscriber of events_set_text: what it was handed. */
struct texts {
	int n, trees;
	char *text[MAXREC];
};

static int
text_handler(const struct event_rec *e, void *arg)
{
	struct texts *x = arg;

	x->trees += e->payload != NULL;
	if (x->n < MAXREC)
		x->text[x->n] = strdup(e->payload_text ? e->payload_text : "(null)");
	x->n++;
	return EVENT_DONE;
}

static void
rec_clear(struct rec *r)
{
	for (int i = 0; i < r->n && i < MAXREC; i++)
		json_decref(r->kept[i]);
	memset(r, 0, sizeof(*r));
}

static void
open_all(struct fixture *f)
{
	static const struct db_module *const mods[] = { &core_module };
	char err[512];

	assert_non_null(f->base = event_base_new());
	if (db_open(f->path, &f->db, err, sizeof(err)) != 0 ||
	    db_migrate(f->db, mods, 1, err, sizeof(err)) != 0)
		fail_msg("db: %s", err);
	assert_non_null(f->ev = events_new(f->base, f->db, 0));
}

static void
close_all(struct fixture *f)
{
	events_free(f->ev);
	db_close(f->db);
	event_base_free(f->base);
	f->ev = NULL;
	f->db = NULL;
	f->base = NULL;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_events.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	open_all(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char p[PATH_MAX + 8];

	if (f->ev != NULL)
		close_all(f);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* n events in one write transaction, as an API write makes them; the last id. */
static int64_t
publish(struct fixture *f, int n)
{
	int64_t id = -1;

	assert_int_equal(db_begin(f->db), 0);
	for (int i = 0; i < n; i++) {
		id = events_publish(f->ev, i % 2 ? "thing.updated" : "thing.created", "thing/1",
		    json_pack("{s:{s:i, s:s}}", "object", "id", i + 1, "name", "Atelier"), 0,
		    "test");
		assert_true(id > 0);
	}
	assert_int_equal(db_commit(f->db), 0);
	return id;
}

static int
count_commit(void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int64_t
saved_cursor(struct db *db, const char *name, int64_t *failures)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(
	    sqlite3_prepare_v2(db_handle(db),
	        "SELECT last_id, failures FROM event_cursors WHERE subscriber = ?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		if (failures != NULL)
			*failures = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return v;
}

static void
set_cursor(struct db *db, const char *name, int64_t last_id)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(db_handle(db),
	                     "INSERT INTO event_cursors (subscriber, last_id, updated_at)"
	                     " VALUES (?, ?, '2026-12-04T00:00:00Z')",
	                     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, last_id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* Each of ids[] is first + 1, first + 2, ... last: in order, none twice, none missing. */
static void
assert_run(const struct rec *r, int64_t first, int64_t last)
{
	assert_int_equal(r->n, last - first);
	for (int i = 0; i < r->n; i++)
		assert_int_equal(r->ids[i], first + 1 + i);
}

static void
test_events__round_of_three_subscribers__cursors_saved_in_one_commit(void **state)
{
	static const char *const names[] = { "t/a", "t/b", "t/c" };
	struct fixture *f = *state;
	struct rec r[3];
	int commits = 0;
	int64_t last;

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 3; i++)
		assert_int_equal(events_subscribe(f->ev, &owner, names[i], "*", handler, &r[i]), 0);
	event_base_dispatch(f->base);

	/* One event per write, as the API makes them: each round carries one. */
	for (int k = 0; k < 5; k++) {
		last = publish(f, 1);
		sqlite3_commit_hook(db_handle(f->db), count_commit, &commits);
		event_base_dispatch(f->base);
		sqlite3_commit_hook(db_handle(f->db), NULL, NULL);
		assert_int_equal(commits, k + 1);
		for (int i = 0; i < 3; i++)
			assert_int_equal(saved_cursor(f->db, names[i], NULL), last);
	}
	for (int i = 0; i < 3; i++)
		assert_run(&r[i], last - 5, last);
}

static void
test_events__payload__read_once_and_shared_by_the_round(void **state)
{
	struct fixture *f = *state;
	struct rec r[3];
	char name[16];
	int64_t last;

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "t/%d", i);
		r[i].keep = 1;
		assert_int_equal(events_subscribe(f->ev, &owner, name, "*", handler, &r[i]), 0);
	}
	event_base_dispatch(f->base);
	last = publish(f, 10);
	event_base_dispatch(f->base);
	for (int i = 0; i < 3; i++)
		assert_run(&r[i], last - 10, last);
	for (int k = 0; k < 10; k++) {
		assert_int_equal(json_integer_value(json_object_get(
		                     json_object_get(r[0].kept[k], "object"), "id")),
		    k + 1);
		assert_ptr_equal(r[1].kept[k], r[0].kept[k]);
		assert_ptr_equal(r[2].kept[k], r[0].kept[k]);
	}
	for (int i = 0; i < 3; i++)
		rec_clear(&r[i]);
}

static const char *
kept_name(const struct rec *r, int k)
{
	return json_string_value(json_object_get(json_object_get(r->kept[k], "object"), "name"));
}

static void
test_events__payload_as_committed__not_a_rolled_back_one_nor_changed_after(void **state)
{
	struct fixture *f = *state;
	struct rec r;
	json_t *mine;
	int64_t a, b;

	memset(&r, 0, sizeof(r));
	r.keep = 1;
	assert_int_equal(events_subscribe(f->ev, &owner, "t/p", "*", handler, &r), 0);
	event_base_dispatch(f->base);

	/* An event rolled back: its id goes to the next one, with another payload. */
	assert_int_equal(db_begin(f->db), 0);
	a = events_publish(f->ev, "thing.created", "thing/1",
	    json_pack("{s:{s:s}}", "object", "name", "rolled back"), 0, "test");
	db_rollback(f->db);
	/* The caller keeps a part of the payload and changes it after the commit. */
	mine = json_pack("{s:s}", "name", "as committed");
	assert_int_equal(db_begin(f->db), 0);
	b = events_publish(
	    f->ev, "thing.created", "thing/1", json_pack("{s:O}", "object", mine), 0, "test");
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(b, a);
	json_object_set_new(mine, "name", json_string("changed after"));
	json_decref(mine);

	event_base_dispatch(f->base);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ids[0], b);
	assert_string_equal(kept_name(&r, 0), "as committed");
	rec_clear(&r);
}

/* The payload of event id as stored. */
static char *
stored_payload(struct db *db, int64_t id)
{
	sqlite3_stmt *st;
	char *text = NULL;

	assert_int_equal(sqlite3_prepare_v2(db_handle(db),
	                     "SELECT payload FROM events WHERE id = ?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		text = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_non_null(text);
	return text;
}

static void
test_events__payload_given__kept_as_given_the_parts_held_elsewhere_copied(void **state)
{
	struct fixture *f = *state;
	struct rec r;
	json_t *given, *name, *changed;
	int64_t id[3];

	memset(&r, 0, sizeof(r));
	r.keep = 1;
	assert_int_equal(events_subscribe(f->ev, &owner, "t/g", "*", handler, &r), 0);
	event_base_dispatch(f->base);

	assert_int_equal(db_begin(f->db), 0);
	/* Given whole: nobody else holds it, the journal keeps it rather than a copy. */
	given = json_pack("{s:{s:s, s:[i, i], s:n}}", "object", "name", "given", "list", 1, 2, "x");
	id[0] = events_publish(f->ev, "thing.created", "thing/1", given, 0, "test");
	/* A string the caller keeps and changes after the commit. */
	name = json_string("before");
	id[1] = events_publish(f->ev, "thing.updated", "thing/1",
	    json_pack("{s:{s:O}, s:[s]}", "object", "name", name, "changed", "name"), 0, "test");
	/* A list of changes the caller keeps and appends to after. */
	changed = json_pack("[s]", "name");
	id[2] = events_publish(f->ev, "thing.updated", "thing/1",
	    json_pack("{s:{s:s}, s:O}", "object", "name", "third", "changed", changed), 0, "test");
	assert_int_equal(db_commit(f->db), 0);
	json_string_set(name, "after");
	json_decref(name);
	json_array_append_new(changed, json_string("kind"));
	json_decref(changed);

	event_base_dispatch(f->base);
	assert_int_equal(r.n, 3);
	assert_ptr_equal(r.kept[0], given);
	assert_string_equal(kept_name(&r, 1), "before");
	assert_int_equal(json_array_size(json_object_get(r.kept[2], "changed")), 1);
	/* What each subscriber is handed writes the text the journal stored. */
	for (int k = 0; k < 3; k++) {
		char *want = stored_payload(f->db, id[k]),
		     *got = json_dumps(r.kept[k], JSON_COMPACT);
		assert_int_equal(r.ids[k], id[k]);
		assert_string_equal(got, want);
		free(want);
		free(got);
	}
	rec_clear(&r);
}

static void
test_events__subscribers_at_different_cursors__each_its_own_events_in_order(void **state)
{
	/* Cursors before, inside, at the end of and past the first batch (256 events). */
	static const int64_t at[] = { 0, 10, 256, 300, 599, 600 };
	static struct rec r[6];
	struct fixture *f = *state;
	char name[16];

	memset(r, 0, sizeof(r));
	assert_int_equal(publish(f, 600), 600);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "t/%d", i);
		set_cursor(f->db, name, at[i]);
		assert_int_equal(events_subscribe(f->ev, &owner, name, "*", handler, &r[i]), 0);
	}
	event_base_dispatch(f->base);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "t/%d", i);
		assert_run(&r[i], at[i], 600);
		assert_int_equal(saved_cursor(f->db, name, NULL), 600);
	}
	/* A type filter moves the cursor past what it does not match. */
	struct rec odd;
	memset(&odd, 0, sizeof(odd));
	assert_int_equal(
	    events_subscribe(f->ev, &owner, "t/odd", "thing.updated", handler, &odd), 0);
	assert_int_equal(publish(f, 4), 604);
	event_base_dispatch(f->base);
	assert_int_equal(odd.n, 2);
	assert_int_equal(odd.ids[0], 602);
	assert_int_equal(odd.ids[1], 604);
	assert_int_equal(saved_cursor(f->db, "t/odd", NULL), 604);
	for (int i = 0; i < 6; i++)
		assert_run(&r[i], at[i], 604);
}

static void
test_events__crash_before_the_rounds_commit__round_delivered_again_never_skipped(void **state)
{
	static const char *const names[] = { "t/a", "t/b", "t/c" };
	struct fixture *f = *state;
	struct rec r[3];
	int64_t first, last;
	pid_t pid;
	int status;

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 3; i++)
		assert_int_equal(events_subscribe(f->ev, &owner, names[i], "*", handler, &r[i]), 0);
	event_base_dispatch(f->base);
	first = saved_cursor(f->db, "t/a", NULL);
	last = publish(f, 5);
	/* The events are committed, not yet dispatched; the journal goes (no round ran). */
	close_all(f);

	/* A daemon that dies in t/c's handler of the third event, after t/a and t/b handled all five. */
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		memset(r, 0, sizeof(r));
		r[2].crash_on = first + 3;
		open_all(f);
		for (int i = 0; i < 3; i++)
			if (events_subscribe(f->ev, &owner, names[i], "*", handler, &r[i]) != 0)
				_exit(2);
		event_base_dispatch(f->base);
		_exit(3); /* not reached: the handler ended the process */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Restart: nothing of the cut round was marked, so all three get it whole. */
	open_all(f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(saved_cursor(f->db, names[i], NULL), first);
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 3; i++)
		assert_int_equal(events_subscribe(f->ev, &owner, names[i], "*", handler, &r[i]), 0);
	event_base_dispatch(f->base);
	for (int i = 0; i < 3; i++) {
		assert_run(&r[i], first, last);
		assert_int_equal(saved_cursor(f->db, names[i], NULL), last);
	}
}

static void
test_events__failure__counted_and_saved_others_go_on(void **state)
{
	struct fixture *f = *state;
	struct rec ok, bad;
	int64_t first, failures = -1;

	memset(&ok, 0, sizeof(ok));
	memset(&bad, 0, sizeof(bad));
	assert_int_equal(events_subscribe(f->ev, &owner, "t/ok", "*", handler, &ok), 0);
	assert_int_equal(events_subscribe(f->ev, &owner, "t/bad", "*", handler, &bad), 0);
	event_base_dispatch(f->base);
	first = saved_cursor(f->db, "t/ok", NULL);
	bad.fail_on = first + 2;
	publish(f, 3);
	/* One round: the failing subscriber backs off (its retry is a second away). */
	event_base_loop(f->base, EVLOOP_ONCE);
	assert_run(&ok, first, first + 3);
	assert_run(&bad, first, first + 1);
	assert_int_equal(saved_cursor(f->db, "t/ok", NULL), first + 3);
	assert_int_equal(saved_cursor(f->db, "t/bad", &failures), first + 1);
	assert_int_equal(failures, 1);

	json_t *subs = events_subscriptions_json(f->ev, &owner), *b = NULL, *x;
	size_t i;
	json_array_foreach (subs, i, x)
		if (strcmp(json_string_value(json_object_get(x, "name")), "t/bad") == 0)
			b = x;
	assert_non_null(b);
	assert_int_equal(json_integer_value(json_object_get(b, "failures")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(b, "last_error")), "event"));
	json_decref(subs);
}

static void
test_events__pending_then_done__saved_by_the_next_round_then_goes_on(void **state)
{
	struct fixture *f = *state;
	struct rec r;
	int64_t first;

	memset(&r, 0, sizeof(r));
	assert_int_equal(events_subscribe(f->ev, &owner, "t/async", "*", handler, &r), 0);
	event_base_dispatch(f->base);
	first = saved_cursor(f->db, "t/async", NULL);
	r.pending_on = first + 1;
	publish(f, 3);
	event_base_dispatch(f->base);
	/* Handed the first, pending: no more until it is done, cursor unmoved. */
	assert_run(&r, first, first + 1);
	assert_int_equal(saved_cursor(f->db, "t/async", NULL), first);
	events_done(f->ev, "t/async", first + 2, 1, NULL); /* not the pending one: ignored */
	events_done(f->ev, "t/async", first + 1, 1, NULL);
	event_base_dispatch(f->base);
	assert_run(&r, first, first + 3);
	assert_int_equal(saved_cursor(f->db, "t/async", NULL), first + 3);
}

static void
test_events__unsubscribe_and_free__what_was_handled_is_saved(void **state)
{
	struct fixture *f = *state;
	struct rec r;
	int64_t first, last;
	static int other;

	memset(&r, 0, sizeof(r));
	assert_int_equal(events_subscribe(f->ev, &other, "t/gone", "*", handler, &r), 0);
	event_base_dispatch(f->base);
	first = saved_cursor(f->db, "t/gone", NULL);
	r.pending_on = first + 2;
	last = publish(f, 3);
	event_base_dispatch(f->base);
	assert_run(&r, first, first + 2);
	/* Done, then gone before any round ran: the unsubscription saves it. */
	events_done(f->ev, "t/gone", first + 2, 1, NULL);
	events_unsubscribe_owner(f->ev, &other);
	assert_int_equal(saved_cursor(f->db, "t/gone", NULL), first + 2);
	assert_int_equal(events_subscribe(f->ev, &other, "t/gone", "*", handler, &r), 0);
	event_base_dispatch(f->base);
	assert_run(&r, first, last);
	assert_int_equal(saved_cursor(f->db, "t/gone", NULL), last);
}

static void
test_events__text_subscriber__payloads_as_stored_the_others_parsed(void **state)
{
	struct fixture *f = *state;
	struct texts x;
	struct rec r;
	int64_t first, last;

	memset(&x, 0, sizeof(x));
	memset(&r, 0, sizeof(r));
	r.keep = 1;
	assert_int_equal(events_subscribe(f->ev, &owner, "t/text", "*", text_handler, &x), 0);
	assert_int_equal(events_set_text(f->ev, "t/text"), 0);
	assert_int_equal(events_set_text(f->ev, "t/nobody"), -1);
	assert_int_equal(events_subscribe(f->ev, &owner, "t/tree", "*", handler, &r), 0);
	event_base_dispatch(f->base);
	first = saved_cursor(f->db, "t/tree", NULL);
	publish(f, 3);
	/* And events this process did not publish (another's, or before a restart). */
	assert_int_equal(
	    sqlite3_exec(db_handle(f->db),
	        "INSERT INTO events (type, subject, payload, actor, created_at) VALUES"
	        " ('thing.created', 'thing/2', '{\"object\":{\"id\":7,\"name\":\"\\u00e9\"}}',"
	        " 'test', '2026-12-04T00:00:00Z')",
	        NULL, NULL, NULL),
	    SQLITE_OK);
	last = first + 4;
	events_kick(f->ev);
	event_base_dispatch(f->base);
	assert_run(&r, first, last);
	assert_int_equal(x.n, 4);
	assert_int_equal(x.trees, 0); /* never a parsed payload */
	for (int k = 0; k < 4; k++) {
		/* The text as stored, which the other subscriber was handed parsed. */
		json_t *parsed = json_loads(x.text[k], 0, NULL);
		char *stored = stored_payload(f->db, first + 1 + k);
		assert_string_equal(x.text[k], stored);
		free(stored);
		assert_non_null(parsed);
		assert_true(json_equal(parsed, r.kept[k]));
		json_decref(parsed);
		free(x.text[k]);
	}
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r.kept[3], "object"), "name")),
	    "\xc3\xa9");
	rec_clear(&r);
}

static void
test_events__window__up_to_n_in_flight_the_cursor_past_finished_ones_only(void **state)
{
	struct fixture *f = *state;
	unsigned char done[64] = { 0 };
	struct rec r;
	int64_t first, last;

	memset(&r, 0, sizeof(r));
	r.all_pending = 1;
	assert_int_equal(events_subscribe(f->ev, &owner, "t/win", "*", handler, &r), 0);
	assert_int_equal(events_set_window(f->ev, "t/win", 8), 0);
	event_base_dispatch(f->base);
	first = saved_cursor(f->db, "t/win", NULL);
	last = publish(f, 20);
	event_base_dispatch(f->base);
	/* Eight handed, none finished: the cursor has not moved. */
	assert_run(&r, first, first + 8);
	assert_int_equal(saved_cursor(f->db, "t/win", NULL), first);
	/* Finished out of order: the cursor passes only the contiguous ones. */
	events_done(f->ev, "t/win", first + 2, 1, NULL);
	events_done(f->ev, "t/win", first + 3, 1, NULL);
	event_base_dispatch(f->base);
	assert_int_equal(r.n, 8); /* more than half the window in flight: no round */
	assert_int_equal(saved_cursor(f->db, "t/win", NULL), first);
	events_done(f->ev, "t/win", first + 1, 1, NULL);
	event_base_dispatch(f->base);
	assert_int_equal(r.n, 8); /* 4 to 8 still in flight: five, more than half */
	events_done(f->ev, "t/win", first + 4, 1, NULL);
	event_base_dispatch(f->base);
	/* 1 to 4 finished: the cursor at 4, and four more handed (the window's room). */
	assert_int_equal(saved_cursor(f->db, "t/win", NULL), first + 4);
	assert_run(&r, first, first + 12);
	done[1] = done[2] = done[3] = done[4] = 1;
	/* The rest finished in order, as handed, until every event was. */
	while (r.n > 0 && r.ids[r.n - 1] < last) {
		for (int i = 0; i < r.n; i++)
			if (!done[r.ids[i] - first]) {
				done[r.ids[i] - first] = 1;
				events_done(f->ev, "t/win", r.ids[i], 1, NULL);
			}
		event_base_dispatch(f->base);
	}
	for (int i = 0; i < r.n; i++)
		if (!done[r.ids[i] - first])
			events_done(f->ev, "t/win", r.ids[i], 1, NULL);
	event_base_dispatch(f->base);
	assert_run(&r, first, last);
	assert_int_equal(saved_cursor(f->db, "t/win", NULL), last);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_events__round_of_three_subscribers__cursors_saved_in_one_commit),
		T(test_events__payload__read_once_and_shared_by_the_round),
		T(test_events__payload_given__kept_as_given_the_parts_held_elsewhere_copied),
		T(test_events__payload_as_committed__not_a_rolled_back_one_nor_changed_after),
		T(test_events__subscribers_at_different_cursors__each_its_own_events_in_order),
		T(test_events__crash_before_the_rounds_commit__round_delivered_again_never_skipped),
		T(test_events__failure__counted_and_saved_others_go_on),
		T(test_events__pending_then_done__saved_by_the_next_round_then_goes_on),
		T(test_events__unsubscribe_and_free__what_was_handled_is_saved),
		T(test_events__text_subscriber__payloads_as_stored_the_others_parsed),
		T(test_events__window__up_to_n_in_flight_the_cursor_past_finished_ones_only),
	};
#undef T

	log_init(1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
