/*
 * Timers on the libevent loop. One evtimer serves the whole scheduler: it is
 * armed for the earliest due timer after every change and every run.
 *
 * Timers live in one unsorted TAILQ. A daemon has tens of timers (a few per
 * plugin), so finding the earliest is a short scan; a list also lets a
 * callback cancel any timer (mark it dead) and add timers (append) while
 * sched_run_due walks it, with no index to keep in step as a heap would need.
 * Dead timers are freed only when no pass is walking the list.
 *
 * The scheduler borrows base and db: both must outlive it. A timer belongs
 * to the scheduler: the caller's handle stays valid until the timer is
 * cancelled, or, for a one-shot, until its callback returns.
 */
#include "scheduler.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "db.h"
#include "log.h"

#define SCHED_NAME_MAX 200
/* Re-arm at least this often, so a far-off due never overflows a timeval. */
#define SCHED_MAX_SLEEP_MS (3600 * 1000)

struct sched_timer {
	TAILQ_ENTRY(sched_timer) entry;
	struct sched *s;
	const void *owner;
	char *name; /* owned; NULL for a transient timer */
	int durable; /* last run kept in the timers table */
	int64_t base; /* nominal due, before jitter: periods count from here */
	int64_t due; /* base + this run's jitter */
	int64_t period;
	int64_t jitter;
	int64_t runs;
	sched_fn fn;
	void *arg;
	int dead; /* cancelled or a finished one-shot: freed by reap() */
	int pending; /* due in the pass sched_run_due is making */
};

TAILQ_HEAD(sched_timers, sched_timer);

struct sched {
	struct event_base *base;
	struct db *db;
	sched_clock_fn clock;
	void *clock_arg;
	struct event *ev;
	struct sched_timers timers;
	int running; /* inside sched_run_due: do not free, do not re-arm */
	uint64_t rng[4]; /* xoshiro256** state, seeded once from getrandom(2) */
};

static const char select_sql[] = "SELECT last_run_ms FROM timers WHERE name = ?";
static const char upsert_sql[] =
    "INSERT INTO timers (name, last_run_ms) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET last_run_ms = excluded.last_run_ms";

static int64_t
real_clock(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Saturating: a huge delay means "never", not a wrap into the past. */
static int64_t
add_ms(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(uint64_t st[4])
{
	uint64_t r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;

	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rotl(st[3], 45);
	return r;
}

static void
rng_seed(struct sched *s)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		/* Jitter only spreads load: a weak seed is acceptable, silence is not. */
		log_warn("sched: getrandom");
		seed = (uint64_t)real_clock(NULL) ^ ((uint64_t)getpid() << 32);
	}
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&seed);
}

/* Uniform in [0, max], without modulo bias (as arc4random_uniform). */
static int64_t
jitter(struct sched *s, int64_t max)
{
	uint64_t n, lim, r;

	if (max <= 0)
		return 0;
	n = (uint64_t)max + 1;
	lim = -n % n; /* 2^64 mod n: drawing below it would favour small values */
	do
		r = rng_next(s->rng);
	while (r < lim);
	return (int64_t)(r % n);
}

static void
set_base(struct sched_timer *t, int64_t base)
{
	t->base = base;
	t->due = add_ms(base, jitter(t->s, t->jitter));
}

static void
rearm(struct sched *s)
{
	int64_t in;
	struct timeval tv;

	if (s->running)
		return; /* sched_run_due re-arms once it is done */
	if ((in = sched_next_in(s)) < 0) {
		evtimer_del(s->ev);
		return;
	}
	if (in > SCHED_MAX_SLEEP_MS)
		in = SCHED_MAX_SLEEP_MS;
	tv.tv_sec = in / 1000;
	tv.tv_usec = (in % 1000) * 1000;
	evtimer_add(s->ev, &tv);
}

static void
reap(struct sched *s)
{
	struct sched_timer *t, *next;

	for (t = TAILQ_FIRST(&s->timers); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (!t->dead)
			continue;
		TAILQ_REMOVE(&s->timers, t, entry);
		free(t->name);
		free(t);
	}
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sched_run_due(arg);
}

struct sched *
sched_new(struct event_base *base, struct db *db, sched_clock_fn clock, void *clock_arg)
{
	struct sched *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("calloc");
	s->base = base;
	s->db = db;
	s->clock = clock ? clock : real_clock;
	s->clock_arg = clock_arg;
	TAILQ_INIT(&s->timers);
	if ((s->ev = evtimer_new(base, on_event, s)) == NULL)
		fatalx("sched: evtimer_new failed");
	rng_seed(s);
	return s;
}

/* Not from inside a timer callback: the pass would walk freed timers. */
void
sched_free(struct sched *s)
{
	struct sched_timer *t;

	if (s == NULL)
		return;
	TAILQ_FOREACH (t, &s->timers, entry)
		t->dead = 1;
	reap(s);
	event_free(s->ev);
	free(s);
}

int64_t
sched_now(struct sched *s)
{
	return s->clock(s->clock_arg);
}

/* The recorded last run of a durable timer: 1 and *out, or 0 when none (or unreadable). */
static int
last_run(struct sched *s, const char *name, int64_t *out)
{
	sqlite3_stmt *st = db_stmt(s->db, select_sql);
	int rc, found = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		found = 1;
	} else if (rc != SQLITE_DONE)
		log_warnx("sched: %s: cannot read the last run: %s", name,
		    sqlite3_errmsg(db_handle(s->db)));
	db_done(st);
	return found;
}

/* A failure costs at most one extra run after a restart: warn and go on. */
static void
record_run(struct sched *s, const char *name, int64_t when)
{
	sqlite3_stmt *st;
	int rc;

	if (db_begin(s->db) == -1) {
		log_warnx("sched: %s: last run not recorded (database busy or failing)", name);
		return;
	}
	if ((st = db_stmt(s->db, upsert_sql)) == NULL) {
		db_rollback(s->db);
		log_warnx("sched: %s: last run not recorded", name);
		return;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, when);
	rc = sqlite3_step(st);
	db_done(st);
	/* A full disk is logged once per episode, by the store. */
	if (rc != SQLITE_DONE) {
		if (!db_full(s->db, NULL))
			log_warnx("sched: %s: last run not recorded: %s", name,
			    sqlite3_errmsg(db_handle(s->db)));
		db_rollback(s->db);
	} else if (db_commit(s->db) == -1 && !db_full(s->db, NULL))
		log_warnx("sched: %s: last run not recorded (commit failed)", name);
}

static int
check_args(struct sched *s, const char *name, int64_t delay_ms, int64_t period_ms,
    int64_t jitter_ms, sched_fn fn)
{
	char why[128] = "";
	struct sched_timer *t;

	if (s == NULL)
		snprintf(why, sizeof(why), "no scheduler");
	else if (fn == NULL)
		snprintf(why, sizeof(why), "no callback");
	else if (delay_ms < 0)
		snprintf(why, sizeof(why), "negative delay_ms (%" PRId64 ")", delay_ms);
	else if (period_ms < 0)
		snprintf(why, sizeof(why), "negative period_ms (%" PRId64 ")", period_ms);
	else if (jitter_ms < 0)
		snprintf(why, sizeof(why), "negative jitter_ms (%" PRId64 ")", jitter_ms);
	else if (period_ms > 0 && jitter_ms > period_ms)
		snprintf(why, sizeof(why),
		    "jitter_ms (%" PRId64 ") longer than period_ms (%" PRId64 ")", jitter_ms,
		    period_ms);
	else if (name != NULL && name[0] == '\0')
		snprintf(why, sizeof(why), "empty name");
	else if (name != NULL && strnlen(name, SCHED_NAME_MAX + 1) > SCHED_NAME_MAX)
		snprintf(why, sizeof(why), "name longer than %d bytes", SCHED_NAME_MAX);
	else if (name != NULL && s->db != NULL && period_ms > 0) {
		/* Two timers on one record would each skip the other's runs. */
		TAILQ_FOREACH (t, &s->timers, entry)
			if (!t->dead && t->durable && strcmp(t->name, name) == 0)
				snprintf(why, sizeof(why), "durable name already in use");
	}
	if (why[0] == '\0')
		return 0;
	if (name != NULL)
		log_warnx("sched: timer \"%.*s\" refused: %s", SCHED_NAME_MAX, name, why);
	else
		log_warnx("sched: timer refused: %s", why);
	return -1;
}

struct sched_timer *
sched_add(struct sched *s, const void *owner, const char *name, int64_t delay_ms, int64_t period_ms,
    int64_t jitter_ms, sched_fn fn, void *arg)
{
	struct sched_timer *t;
	int64_t now, last;

	if (check_args(s, name, delay_ms, period_ms, jitter_ms, fn) == -1)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("calloc");
	if (name != NULL && (t->name = strdup(name)) == NULL)
		fatal("strdup");
	t->s = s;
	t->owner = owner;
	t->durable = name != NULL && s->db != NULL && period_ms > 0;
	t->period = period_ms;
	t->jitter = jitter_ms;
	t->fn = fn;
	t->arg = arg;
	now = sched_now(s);
	if (t->durable && last_run(s, name, &last)) {
		/*
		 * Missed while the daemon was down: once, now (plus jitter,
		 * like every run). A last run in the future (the clock was set
		 * back) waits one period at most.
		 */
		int64_t base = add_ms(last, period_ms);

		if (base < now)
			base = now;
		if (base > add_ms(now, period_ms))
			base = add_ms(now, period_ms);
		set_base(t, base);
	} else
		set_base(t, add_ms(now, delay_ms));
	TAILQ_INSERT_TAIL(&s->timers, t, entry);
	rearm(s);
	return t;
}

void
sched_cancel(struct sched_timer *t)
{
	struct sched *s;

	if (t == NULL || t->dead)
		return;
	s = t->s;
	t->dead = 1;
	if (!s->running)
		reap(s);
	rearm(s);
}

void
sched_cancel_owner(struct sched *s, const void *owner)
{
	struct sched_timer *t;

	TAILQ_FOREACH (t, &s->timers, entry)
		if (t->owner == owner)
			t->dead = 1;
	if (!s->running)
		reap(s);
	rearm(s);
}

/* After a run at now: the next slot, counted from the last so runs do not drift. */
static void
reschedule(struct sched_timer *t, int64_t now)
{
	int64_t next = add_ms(t->base, t->period);

	/*
	 * Even the latest jitter of the next slot is past: the clock jumped or
	 * the loop stalled. Count from now rather than run once per missed slot.
	 */
	if (add_ms(next, t->jitter) <= now)
		next = add_ms(now, t->period);
	set_base(t, next);
}

int
sched_run_due(struct sched *s)
{
	struct sched_timer *t;
	int64_t now;
	int n = 0;

	if (s->running)
		return 0; /* called from a callback: the outer pass carries on */
	now = sched_now(s);
	/* Decide what is due first: timers added by callbacks wait for the next pass. */
	TAILQ_FOREACH (t, &s->timers, entry)
		t->pending = !t->dead && t->due <= now;
	s->running = 1;
	TAILQ_FOREACH (t, &s->timers, entry) {
		if (!t->pending || t->dead)
			continue;
		t->pending = 0;
		t->runs++;
		n++;
		t->fn(t, now, t->arg);
		if (t->durable)
			record_run(s, t->name, now);
		if (t->period == 0)
			t->dead = 1;
		else if (!t->dead)
			reschedule(t, now);
	}
	s->running = 0;
	reap(s);
	rearm(s);
	return n;
}

int64_t
sched_next_in(struct sched *s)
{
	struct sched_timer *t;
	int64_t now = sched_now(s), min = INT64_MAX;
	int any = 0;

	TAILQ_FOREACH (t, &s->timers, entry) {
		if (t->dead)
			continue;
		any = 1;
		if (t->due < min)
			min = t->due;
	}
	if (!any)
		return -1;
	return min > now ? min - now : 0;
}

int64_t
sched_timer_runs(const struct sched_timer *t)
{
	return t->runs;
}
