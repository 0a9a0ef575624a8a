/*
 * Timers on the libevent loop: one-shot and periodic, with jitter, on a
 * clock the tests can drive. A periodic timer that has a durable name keeps
 * its last run in the database, so that a run that fell due while the daemon
 * was down happens once at start (not once per missed period).
 */
#ifndef TREMPLIN_SCHEDULER_H
#define TREMPLIN_SCHEDULER_H

#include <stdint.h>

struct event_base;
struct db;
struct sched;
struct sched_timer;

/* Milliseconds since the Unix epoch, from the scheduler's clock. */
typedef int64_t (*sched_clock_fn)(void *arg);
/* Called on the loop when a timer fires; `now` is the clock's time in ms. */
typedef void (*sched_fn)(struct sched_timer *, int64_t now, void *arg);

/*
 * A scheduler on base. db may be NULL (then no durable timers). clock NULL
 * means the real clock (CLOCK_REALTIME). Durable timers live in the table
 * `timers` of the core module (migration 2). base must not be NULL, and
 * sched_free must not be called from inside a timer callback. A handle is
 * valid until it is cancelled or, for a one-shot, until its callback returns.
 */
struct sched *sched_new(
    struct event_base *base, struct db *db, sched_clock_fn clock, void *clock_arg);
/* Cancel every timer and free. */
void sched_free(struct sched *);
int64_t sched_now(struct sched *);

/*
 * Add a timer. owner groups timers to cancel them together (a plugin); name
 * is its durable name ("example/cleanup") or NULL for a transient timer.
 * delay_ms: first run after this many ms (one-shot) — for a periodic timer
 * with a durable name the first run is computed from its last recorded run.
 * period_ms: 0 for one-shot. jitter_ms: each run is delayed by a uniform
 * random amount in [0, jitter_ms]. Returns NULL (logged) on bad arguments.
 */
struct sched_timer *sched_add(struct sched *, const void *owner, const char *name, int64_t delay_ms,
    int64_t period_ms, int64_t jitter_ms, sched_fn fn, void *arg);
/* Cancel one timer (safe from inside its own callback). */
void sched_cancel(struct sched_timer *);
/* Cancel every timer of owner. */
void sched_cancel_owner(struct sched *, const void *owner);

/*
 * Run every timer due at the clock's current time. The loop calls it from
 * its timer event; tests with their own clock call it after moving it.
 * Returns the number of callbacks run.
 */
int sched_run_due(struct sched *);
/* ms until the next timer is due (-1 when none): for tests and the loop. */
int64_t sched_next_in(struct sched *);

/* Stats for GET /v1/plugins and tests. */
int64_t sched_timer_runs(const struct sched_timer *);

#endif
