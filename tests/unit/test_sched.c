/* scheduler.c: one-shot and periodic timers, jitter, durable last runs, cancelling from callbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "db.h"
#include "handlers.h"
#include "log.h"
#include "scheduler.h"

/* The fake clock the tests move; an epoch-like start, as the real clock gives. */
#define T0 INT64_C(1700000000000)
static int64_t fake_now;

static int64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct fixture {
	struct event_base *base;
	struct sched *s;
	struct db *db;
	char dir[64];
	char path[PATH_MAX];
};

/* What a callback saw, and what it should do to the scheduler. */
struct rec {
	int n;
	int64_t nows[16];
	int64_t runs_seen;
	struct sched *s;
	struct sched_timer *other; /* cancelled by cancel_other() */
	int64_t add_delay; /* added by add_one() */
	struct rec *added_rec;
	struct sched_timer *added;
	struct db *db; /* left in a transaction by leave_tx_open() */
};

static void
note(struct sched_timer *t, int64_t now, void *arg)
{
	struct rec *r = arg;

	if (r->n < (int)(sizeof(r->nows) / sizeof(r->nows[0])))
		r->nows[r->n] = now;
	r->n++;
	r->runs_seen = sched_timer_runs(t);
}

static void
cancel_self(struct sched_timer *t, int64_t now, void *arg)
{
	note(t, now, arg);
	sched_cancel(t);
}

static void
cancel_other(struct sched_timer *t, int64_t now, void *arg)
{
	struct rec *r = arg;

	note(t, now, arg);
	sched_cancel(r->other);
	r->other = NULL;
}

static void
add_one(struct sched_timer *t, int64_t now, void *arg)
{
	struct rec *r = arg;

	note(t, now, arg);
	if (r->added == NULL)
		r->added = sched_add(r->s, NULL, NULL, r->add_delay, 0, 0, note, r->added_rec);
}

static void
leave_tx_open(struct sched_timer *t, int64_t now, void *arg)
{
	struct rec *r = arg;

	note(t, now, arg);
	assert_int_equal(db_begin(r->db), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->base = event_base_new()) == NULL)
		return -1;
	fake_now = T0;
	f->s = sched_new(f->base, NULL, fake_clock, NULL);
	*state = f;
	return 0;
}

static int
setup_db(void **state)
{
	static const struct db_module *const mods[] = { &core_module };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL || (f->base = event_base_new()) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_sched.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (db_open(f->path, &f->db, err, sizeof(err)) != 0 ||
	    db_migrate(f->db, mods, 1, err, sizeof(err)) != 0) {
		print_error("db: %s\n", err);
		return -1;
	}
	fake_now = T0;
	f->s = sched_new(f->base, f->db, fake_clock, NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char p[PATH_MAX + 8];

	sched_free(f->s);
	db_close(f->db);
	if (f->dir[0] != '\0') {
		for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
			unlink(p);
		}
		rmdir(f->dir);
	}
	event_base_free(f->base);
	free(f);
	return 0;
}

static void
set_last_run(struct db *db, const char *name, int64_t ms)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(db_handle(db),
	                     "INSERT INTO timers (name, last_run_ms) VALUES (?, ?)", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ms);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* The recorded last run, or -1 when there is none. */
static int64_t
get_last_run(struct db *db, const char *name)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(db_handle(db),
	                     "SELECT last_run_ms FROM timers WHERE name = ?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
test_sched__no_timers__next_in_minus_one_run_due_zero(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(sched_next_in(f->s), -1);
	assert_int_equal(sched_run_due(f->s), 0);
	assert_int_equal(sched_now(f->s), T0);
}

static void
test_sched__one_shot__fires_once_at_its_time_not_before(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	assert_non_null(sched_add(f->s, NULL, NULL, 500, 0, 0, note, &r));
	assert_int_equal(sched_next_in(f->s), 500);
	fake_now = T0 + 499;
	assert_int_equal(sched_run_due(f->s), 0);
	assert_int_equal(sched_next_in(f->s), 1);
	fake_now = T0 + 500;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.nows[0], T0 + 500);
	assert_int_equal(r.runs_seen, 1);
	fake_now = T0 + 100000;
	assert_int_equal(sched_run_due(f->s), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(sched_next_in(f->s), -1);
}

static void
test_sched__next_in__earliest_of_several(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	sched_add(f->s, NULL, NULL, 300, 0, 0, note, &r);
	sched_add(f->s, NULL, NULL, 100, 0, 0, note, &r);
	sched_add(f->s, NULL, NULL, 200, 1000, 0, note, &r);
	assert_int_equal(sched_next_in(f->s), 100);
	fake_now = T0 + 150;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(sched_next_in(f->s), 50);
	/* Two due in one pass: both run, once each. */
	fake_now = T0 + 300;
	assert_int_equal(sched_run_due(f->s), 2);
	assert_int_equal(r.n, 3);
	assert_int_equal(sched_next_in(f->s), 900);
}

static void
test_sched__periodic__fires_every_period_without_drift(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };
	struct sched_timer *t = sched_add(f->s, NULL, NULL, 100, 1000, 0, note, &r);

	assert_non_null(t);
	for (int i = 0; i < 10; i++) {
		int64_t due = T0 + 100 + i * INT64_C(1000);

		fake_now = due - 1;
		assert_int_equal(sched_run_due(f->s), 0);
		/* Run late: the next run is still counted from the due time. */
		fake_now = due + 37;
		assert_int_equal(sched_run_due(f->s), 1);
		assert_int_equal(sched_next_in(f->s), 1000 - 37);
	}
	assert_int_equal(r.n, 10);
	assert_int_equal(sched_timer_runs(t), 10);
}

static void
test_sched__periodic_jitter__stays_within_bounds_over_many_runs(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };
	int64_t lo = INT64_MAX, hi = -1;

	assert_non_null(sched_add(f->s, NULL, NULL, 1000, 1000, 300, note, &r));
	for (int k = 1; k <= 2000; k++) {
		int64_t j;

		/* At the nominal slot, what is left is this run's jitter. */
		fake_now = T0 + k * INT64_C(1000);
		j = sched_next_in(f->s);
		assert_in_range(j, 0, 300);
		lo = j < lo ? j : lo;
		hi = j > hi ? j : hi;
		fake_now += j;
		assert_int_equal(sched_run_due(f->s), 1);
	}
	assert_int_equal(r.n, 2000);
	/* Fresh jitter each run, not one value drawn once. */
	assert_true(lo < 100 && hi > 200);
}

static void
test_sched__one_shot_jitter__within_bounds(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	for (int i = 0; i < 200; i++) {
		struct sched_timer *t = sched_add(f->s, NULL, NULL, 50, 0, 20, note, &r);

		assert_in_range(sched_next_in(f->s), 50, 70);
		sched_cancel(t);
	}
	assert_int_equal(sched_next_in(f->s), -1);
	assert_int_equal(r.n, 0);
}

static void
test_sched__clock_jumps_far_ahead__runs_once_then_regular(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	sched_add(f->s, NULL, NULL, 100, 100, 0, note, &r);
	fake_now = T0 + 100;
	assert_int_equal(sched_run_due(f->s), 1);
	/* 100 periods missed: one run, no burst. */
	fake_now = T0 + 10050;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(sched_run_due(f->s), 0);
	/* Then every period, counted from the jump. */
	assert_int_equal(sched_next_in(f->s), 100);
	fake_now = T0 + 10149;
	assert_int_equal(sched_run_due(f->s), 0);
	fake_now = T0 + 10150;
	assert_int_equal(sched_run_due(f->s), 1);
	fake_now = T0 + 10250;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(r.n, 4);
}

static void
test_sched__cancel_from_own_callback__no_more_runs(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	sched_add(f->s, NULL, NULL, 10, 10, 0, cancel_self, &r);
	fake_now = T0 + 10;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(sched_next_in(f->s), -1);
	fake_now = T0 + 1000;
	assert_int_equal(sched_run_due(f->s), 0);
	assert_int_equal(r.n, 1);
}

static void
test_sched__cancel_one_shot_from_own_callback__harmless(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	sched_add(f->s, NULL, NULL, 10, 0, 0, cancel_self, &r);
	fake_now = T0 + 10;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(sched_next_in(f->s), -1);
	assert_int_equal(r.n, 1);
}

static void
test_sched__cancel_other_due_in_same_pass__other_never_runs(void **state)
{
	struct fixture *f = *state;
	struct rec a = { 0 }, b = { 0 };

	sched_add(f->s, NULL, NULL, 10, 0, 0, cancel_other, &a);
	a.other = sched_add(f->s, NULL, NULL, 10, 10, 0, note, &b);
	fake_now = T0 + 10;
	assert_int_equal(sched_run_due(f->s), 1);
	fake_now = T0 + 1000;
	assert_int_equal(sched_run_due(f->s), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 0);
	assert_int_equal(sched_next_in(f->s), -1);
}

static void
test_sched__cancel_other_that_already_ran_in_pass__safe(void **state)
{
	struct fixture *f = *state;
	struct rec a = { 0 }, b = { 0 };

	/* b runs first in the pass, then a cancels it. */
	a.other = sched_add(f->s, NULL, NULL, 10, 10, 0, note, &b);
	sched_add(f->s, NULL, NULL, 10, 0, 0, cancel_other, &a);
	fake_now = T0 + 10;
	assert_int_equal(sched_run_due(f->s), 2);
	assert_int_equal(b.n, 1);
	fake_now = T0 + 1000;
	assert_int_equal(sched_run_due(f->s), 0);
	assert_int_equal(sched_next_in(f->s), -1);
}

static void
test_sched__add_from_callback__new_timer_runs_when_due(void **state)
{
	struct fixture *f = *state;
	struct rec added = { 0 };
	struct rec a = { .s = f->s, .add_delay = 50, .added_rec = &added };

	sched_add(f->s, NULL, NULL, 100, 0, 0, add_one, &a);
	fake_now = T0 + 100;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_non_null(a.added);
	assert_int_equal(sched_next_in(f->s), 50);
	fake_now = T0 + 150;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(added.n, 1);
	assert_int_equal(added.nows[0], T0 + 150);
}

static void
test_sched__add_due_now_from_callback__waits_for_next_pass(void **state)
{
	struct fixture *f = *state;
	struct rec added = { 0 };
	struct rec a = { .s = f->s, .add_delay = 0, .added_rec = &added };

	sched_add(f->s, NULL, NULL, 100, 0, 0, add_one, &a);
	fake_now = T0 + 100;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(added.n, 0);
	assert_int_equal(sched_next_in(f->s), 0);
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(added.n, 1);
}

static void
test_sched__cancel_owner__only_that_owners_timers_stop(void **state)
{
	struct fixture *f = *state;
	static const int owner1 = 1, owner2 = 2;
	struct rec r1 = { 0 }, r2 = { 0 };

	sched_add(f->s, &owner1, NULL, 10, 10, 0, note, &r1);
	sched_add(f->s, &owner1, NULL, 20, 0, 0, note, &r1);
	sched_add(f->s, &owner2, NULL, 10, 10, 0, note, &r2);
	sched_cancel_owner(f->s, &owner1);
	fake_now = T0 + 100;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(r1.n, 0);
	assert_int_equal(r2.n, 1);
	assert_int_equal(sched_next_in(f->s), 10);
}

static void
test_sched__bad_arguments__refused(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };
	char name[202];

	assert_null(sched_add(f->s, NULL, NULL, 10, 0, 0, NULL, &r));
	assert_null(sched_add(f->s, NULL, NULL, -1, 0, 0, note, &r));
	assert_null(sched_add(f->s, NULL, NULL, 10, -1, 0, note, &r));
	assert_null(sched_add(f->s, NULL, NULL, 10, 0, -1, note, &r));
	assert_null(sched_add(f->s, NULL, NULL, 10, 100, 101, note, &r));
	assert_null(sched_add(f->s, NULL, "", 10, 100, 0, note, &r));
	memset(name, 'x', 201);
	name[201] = '\0';
	assert_null(sched_add(f->s, NULL, name, 10, 100, 0, note, &r));
	assert_int_equal(sched_next_in(f->s), -1);
	/* At the limits: accepted. */
	name[200] = '\0';
	assert_non_null(sched_add(f->s, NULL, name, 10, 100, 100, note, &r));
	assert_non_null(sched_add(f->s, NULL, NULL, 0, 0, 5000, note, &r));
}

static void
test_sched__huge_delay__never_due_no_overflow(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	assert_non_null(sched_add(f->s, NULL, NULL, INT64_MAX, INT64_MAX, INT64_MAX, note, &r));
	assert_true(sched_next_in(f->s) > 0);
	fake_now = T0 + INT64_C(1000000000000);
	assert_int_equal(sched_run_due(f->s), 0);
}

static void
test_sched__periodic_missed_while_down__runs_once_at_start(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };
	struct sched_timer *t;

	set_last_run(f->db, "test/cleanup", T0 - 3 * 60000);
	t = sched_add(f->s, NULL, "test/cleanup", 5000, 60000, 0, note, &r);
	assert_non_null(t);
	assert_int_equal(sched_next_in(f->s), 0);
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(sched_run_due(f->s), 0);
	fake_now = T0 + 59999;
	assert_int_equal(sched_run_due(f->s), 0);
	assert_int_equal(sched_timer_runs(t), 1);
	assert_int_equal(get_last_run(f->db, "test/cleanup"), T0);
	/* Then every period from that run, each recorded. */
	fake_now = T0 + 60000;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(get_last_run(f->db, "test/cleanup"), T0 + 60000);
}

static void
test_sched__periodic_run_recently__waits_rest_of_period(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	set_last_run(f->db, "test/sync", T0 - 10000);
	assert_non_null(sched_add(f->s, NULL, "test/sync", 0, 60000, 0, note, &r));
	assert_int_equal(sched_next_in(f->s), 50000);
	fake_now = T0 + 49999;
	assert_int_equal(sched_run_due(f->s), 0);
	fake_now = T0 + 50000;
	assert_int_equal(sched_run_due(f->s), 1);
}

static void
test_sched__last_run_in_future__waits_one_period_at_most(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	/* The clock was set back a day since the last run. */
	set_last_run(f->db, "test/sync", T0 + 86400000);
	assert_non_null(sched_add(f->s, NULL, "test/sync", 0, 60000, 0, note, &r));
	assert_int_equal(sched_next_in(f->s), 60000);
}

static void
test_sched__durable_without_record__waits_its_delay_then_records(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	assert_non_null(sched_add(f->s, NULL, "test/new", 5000, 60000, 0, note, &r));
	assert_int_equal(sched_next_in(f->s), 5000);
	fake_now = T0 + 4999;
	assert_int_equal(sched_run_due(f->s), 0);
	assert_int_equal(get_last_run(f->db, "test/new"), -1);
	fake_now = T0 + 5000;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(get_last_run(f->db, "test/new"), T0 + 5000);
}

static void
test_sched__durable_after_restart__runs_from_recorded_run(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	sched_add(f->s, NULL, "test/restart", 1000, 60000, 0, note, &r);
	fake_now = T0 + 1000;
	assert_int_equal(sched_run_due(f->s), 1);
	/* The daemon stops, starts again 20 s later: 40 s are left. */
	sched_free(f->s);
	fake_now = T0 + 21000;
	f->s = sched_new(f->base, f->db, fake_clock, NULL);
	sched_add(f->s, NULL, "test/restart", 1000, 60000, 0, note, &r);
	assert_int_equal(sched_next_in(f->s), 40000);
}

static void
test_sched__one_shot_with_name__not_recorded(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };

	assert_non_null(sched_add(f->s, NULL, "test/once", 10, 0, 0, note, &r));
	fake_now = T0 + 10;
	assert_int_equal(sched_run_due(f->s), 1);
	assert_int_equal(get_last_run(f->db, "test/once"), -1);
}

static void
test_sched__durable_name_twice__second_refused(void **state)
{
	struct fixture *f = *state;
	struct rec r = { 0 };
	struct sched_timer *t;

	t = sched_add(f->s, NULL, "test/dup", 10, 100, 0, note, &r);
	assert_non_null(t);
	assert_null(sched_add(f->s, NULL, "test/dup", 10, 100, 0, note, &r));
	/* Free again once the first is cancelled. */
	sched_cancel(t);
	assert_non_null(sched_add(f->s, NULL, "test/dup", 10, 100, 0, note, &r));
}

static void
test_sched__record_fails__warned_and_timer_goes_on(void **state)
{
	struct fixture *f = *state;
	struct rec r = { .db = f->db };

	/* The callback leaves a transaction open, so the record cannot begin its own. */
	sched_add(f->s, NULL, "test/failing", 10, 100, 0, leave_tx_open, &r);
	fake_now = T0 + 10;
	assert_int_equal(sched_run_due(f->s), 1);
	db_rollback(f->db);
	assert_int_equal(get_last_run(f->db, "test/failing"), -1);
	assert_int_equal(sched_next_in(f->s), 100);
}

struct loop_rec {
	struct event_base *base;
	int fired;
};

static void
fire_and_break(struct sched_timer *t, int64_t now, void *arg)
{
	struct loop_rec *l = arg;

	(void)t;
	(void)now;
	l->fired++;
	event_base_loopbreak(l->base);
}

static void
test_sched__real_clock_one_shot__fires_on_the_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct loop_rec l = { .base = base };
	struct timeval safety = { 60, 0 }; /* only to give up: the timer breaks the loop */
	struct sched *s;

	(void)state;
	assert_non_null(base);
	s = sched_new(base, NULL, NULL, NULL);
	assert_true(sched_now(s) > T0);
	assert_non_null(sched_add(s, NULL, NULL, 20, 0, 0, fire_and_break, &l));
	event_base_loopexit(base, &safety);
	event_base_dispatch(base);
	assert_int_equal(l.fired, 1);
	assert_int_equal(sched_next_in(s), -1);
	sched_free(s);
	event_base_free(base);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TDB(fn) cmocka_unit_test_setup_teardown(fn, setup_db, teardown)
	const struct CMUnitTest tests[] = {
		T(test_sched__no_timers__next_in_minus_one_run_due_zero),
		T(test_sched__one_shot__fires_once_at_its_time_not_before),
		T(test_sched__next_in__earliest_of_several),
		T(test_sched__periodic__fires_every_period_without_drift),
		T(test_sched__periodic_jitter__stays_within_bounds_over_many_runs),
		T(test_sched__one_shot_jitter__within_bounds),
		T(test_sched__clock_jumps_far_ahead__runs_once_then_regular),
		T(test_sched__cancel_from_own_callback__no_more_runs),
		T(test_sched__cancel_one_shot_from_own_callback__harmless),
		T(test_sched__cancel_other_due_in_same_pass__other_never_runs),
		T(test_sched__cancel_other_that_already_ran_in_pass__safe),
		T(test_sched__add_from_callback__new_timer_runs_when_due),
		T(test_sched__add_due_now_from_callback__waits_for_next_pass),
		T(test_sched__cancel_owner__only_that_owners_timers_stop),
		T(test_sched__bad_arguments__refused),
		T(test_sched__huge_delay__never_due_no_overflow),
		TDB(test_sched__periodic_missed_while_down__runs_once_at_start),
		TDB(test_sched__periodic_run_recently__waits_rest_of_period),
		TDB(test_sched__last_run_in_future__waits_one_period_at_most),
		TDB(test_sched__durable_without_record__waits_its_delay_then_records),
		TDB(test_sched__durable_after_restart__runs_from_recorded_run),
		TDB(test_sched__one_shot_with_name__not_recorded),
		TDB(test_sched__durable_name_twice__second_refused),
		TDB(test_sched__record_fails__warned_and_timer_goes_on),
		cmocka_unit_test(test_sched__real_clock_one_shot__fires_on_the_loop),
	};
#undef T
#undef TDB

	log_init(1, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
