/*
 * events: how many events per second the journal records and hands to three
 * subscribers, beside raw batched INSERTs of the same rows, in the same run.
 *
 * Journal side: a fresh database (db_open + db_migrate of the core module),
 * events_new(base, db, 0) and three subscribers on "*". A publisher on the
 * event loop writes one transaction of B events per loop callback, as one
 * API write does, so the dispatcher runs between writes as it does in
 * tremplind. It publishes as resource_publish does for a structure (a
 * record that journals its row): the object as loaded after the write,
 * given to the payload {"object": ...} (built before the clock starts, as
 * the raw side's text is); or, with -P change, with events_publish_change
 * of an object the caller keeps (what the kernel did before structures
 * became records, and staff.c still does), which the journal copies. Timed from the
 * first publish until the loop has nothing left to do: every subscriber has
 * handled every event and its cursor is saved.
 *
 * Baseline: another fresh database opened the same way (same pragmas, same
 * table and index), the same rows inserted with one prepared statement in
 * BEGIN IMMEDIATE transactions of the same B.
 *
 * Each batch size runs ROUNDS times per side, alternating which side goes
 * first; the table shows medians, and the median and range of the per-round
 * ratios. Nothing is asserted about time; a wrong count or cursor fails.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "db.h"
#include "events.h"
#include "handlers.h"
#include "identity.h"
#include "log.h"
#include "util.h"

#define MAX_BATCHES 8
#define MAX_ROUNDS 64
#define NSUBS 3

static const char *const kinds[] = { "ACI", "AI", "EI", "ETTI", "EITI" };
#define NKINDS ((int)TR_NELEM(kinds))

/* The same statement text as events_publish, so the baseline writes the same rows. */
static const char raw_sql[] = "INSERT INTO events (type, subject, payload, actor_id, actor,"
                              " created_at) VALUES (?, ?, ?, ?, ?, ?)";

struct rows {
	int n;
	json_t **objects; /* what a handler has in hand after its write */
	char **subjects; /* "structure/<id>" */
	char **payloads; /* {"object": ...} as events_publish stores it */
};

struct subscriber {
	const char *name;
	int64_t count;
	int64_t last_id;
	int64_t per_kind[NKINDS + 1];
	int64_t bad; /* out of order, or a payload without its object */
};

struct publisher {
	struct events *ev;
	struct db *db;
	struct event *timer;
	const struct rows *rows;
	json_t **given; /* -P record: each event's object, handed to its payload */
	const struct identity *who;
	int batch;
	int next;
	int failed;
	double busy; /* seconds spent inside the write transactions */
};

struct result {
	double rate; /* events (or rows) per second */
	double publish_share; /* journal: time in the write transactions / total */
	double commits; /* commits per event, all of them: writes and cursor saves */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
count_commit(void *arg)
{
	(*(int64_t *)arg)++;
	return 0;
}

static void
rows_build(struct rows *r, int n)
{
	char name[64], siret[16], annexe[32], subject[48];

	r->n = n;
	r->objects = calloc((size_t)n, sizeof(*r->objects));
	r->subjects = calloc((size_t)n, sizeof(*r->subjects));
	r->payloads = calloc((size_t)n, sizeof(*r->payloads));
	if (r->objects == NULL || r->subjects == NULL || r->payloads == NULL)
		fatal("calloc");
	for (int i = 0; i < n; i++) {
		json_t *wrap;
		snprintf(name, sizeof(name), "Atelier chantier d'insertion n° %d", i + 1);
		snprintf(siret, sizeof(siret), "%014d", 73282932 + i);
		snprintf(annexe, sizeof(annexe), "%s 075 %02d %04d", kinds[i % NKINDS], 21 + i % 5,
		    i % 10000);
		snprintf(subject, sizeof(subject), "structure/%d", i + 1);
		r->objects[i] =
		    json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "id", i + 1, "name", name,
		        "siret", siret, "kind", kinds[i % NKINDS], "annexe_financiere", annexe,
		        "created_at", "2026-11-23T09:00:00Z", "updated_at", "2026-11-23T09:00:00Z");
		wrap = json_pack("{s:O}", "object", r->objects[i]);
		if (r->objects[i] == NULL || wrap == NULL)
			fatalx("json_pack");
		r->payloads[i] = json_dumps(wrap, JSON_COMPACT);
		r->subjects[i] = strdup(subject);
		json_decref(wrap);
		if (r->payloads[i] == NULL || r->subjects[i] == NULL)
			fatalx("out of memory");
	}
}

static void
rows_free(struct rows *r)
{
	for (int i = 0; i < r->n; i++) {
		json_decref(r->objects[i]);
		free(r->subjects[i]);
		free(r->payloads[i]);
	}
	free(r->objects);
	free(r->subjects);
	free(r->payloads);
}

static struct db *
fresh_db(const char *dir, const char *what, int round, int batch, char *path, size_t len)
{
	const struct db_module *mods[] = { &core_module };
	struct db *db;
	char err[512];

	snprintf(path, len, "%s/%s-b%d-r%d.db", dir, what, batch, round);
	if (db_open(path, &db, err, sizeof(err)) == -1 ||
	    db_migrate(db, mods, TR_NELEM(mods), err, sizeof(err)) == -1)
		fatalx("%s", err);
	return db;
}

static void
remove_db(const char *path)
{
	char p[1100];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* A subscriber's work: read the payload's object, count it by kind, check the order. */
static int
on_event(const struct event_rec *e, void *arg)
{
	struct subscriber *s = arg;
	const char *kind =
	    json_string_value(json_object_get(json_object_get(e->payload, "object"), "kind"));
	int k;

	if (e->id <= s->last_id || kind == NULL)
		s->bad++;
	s->last_id = e->id;
	for (k = 0; k < NKINDS; k++)
		if (strcmp(kind ? kind : "", kinds[k]) == 0)
			break;
	s->per_kind[k]++;
	s->count++;
	return EVENT_DONE;
}

/* One write as an API handler makes it: a transaction of B events, then back to the loop. */
static void
publish_cb(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval now = { 0, 0 };
	struct publisher *p = arg;
	int end = p->next + p->batch;
	double t0 = now_s();

	(void)fd, (void)what;
	if (end > p->rows->n)
		end = p->rows->n;
	if (db_begin(p->db) == -1) {
		p->failed = 1;
		return;
	}
	for (; p->next < end; p->next++) {
		int64_t id;
		if (p->given != NULL) {
			/* resource_publish of a record journaling its row, on create. */
			char type[128], subject[128];
			json_t *payload = json_pack("{s:o}", "object", p->given[p->next]);
			p->given[p->next] = NULL;
			snprintf(type, sizeof(type), "%s.%s", "structure", "created");
			snprintf(subject, sizeof(subject), "%s/%lld", "structure",
			    (long long)p->next + 1);
			id = events_publish_by(p->ev, p->who, type, subject, payload);
		} else
			id = events_publish_change(p->ev, p->who, "structure", p->next + 1,
			    p->rows->objects[p->next], NULL);
		if (id < 0) {
			db_rollback(p->db);
			p->failed = 1;
			return;
		}
	}
	if (db_commit(p->db) == -1) {
		p->failed = 1;
		return;
	}
	p->busy += now_s() - t0;
	if (p->next < p->rows->n)
		evtimer_add(p->timer, &now);
}

static int64_t
query_i64(struct db *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
		fatalx("%s: %s", sql, sqlite3_errmsg(db_handle(db)));
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static struct result
run_journal(
    const char *dir, const struct rows *rows, int batch, int round, int delay_ms, int change)
{
	static const struct timeval now = { 0, 0 };
	static const char *const names[NSUBS] = { "bench/a", "bench/b", "bench/c" };
	struct identity who = { .staff_id = 1, .role = ROLE_ADMIN };
	struct subscriber subs[NSUBS];
	struct publisher pub;
	struct result res;
	struct event_base *base;
	struct events *ev;
	struct db *db;
	char path[1024];
	int64_t commits = 0, max_id;
	double t0, t1;
	int owner;

	tr_strlcpy(who.unix_user, "bench", sizeof(who.unix_user));
	db = fresh_db(dir, "journal", round, batch, path, sizeof(path));
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	ev = events_new(base, db, delay_ms);
	memset(subs, 0, sizeof(subs));
	for (int i = 0; i < NSUBS; i++) {
		subs[i].name = names[i];
		if (events_subscribe(ev, &owner, names[i], "*", on_event, &subs[i]) == -1)
			fatalx("cannot subscribe %s", names[i]);
	}
	/* The subscriptions' first (empty) dispatch round, outside the measure. */
	event_base_loop(base, EVLOOP_NONBLOCK);

	memset(&pub, 0, sizeof(pub));
	pub.ev = ev;
	pub.db = db;
	pub.rows = rows;
	pub.who = &who;
	pub.batch = batch;
	if (!change) {
		/* What resource_load gives the handler after its write: an object of its own. */
		if ((pub.given = calloc((size_t)rows->n, sizeof(*pub.given))) == NULL)
			fatal("calloc");
		for (int i = 0; i < rows->n; i++)
			if ((pub.given[i] = json_deep_copy(rows->objects[i])) == NULL)
				fatalx("json_deep_copy");
	}
	if ((pub.timer = evtimer_new(base, publish_cb, &pub)) == NULL)
		fatalx("evtimer_new");
	sqlite3_commit_hook(db_handle(db), count_commit, &commits);

	t0 = now_s();
	evtimer_add(pub.timer, &now);
	/* Returns when nothing is pending: all published, all dispatched, cursors saved. */
	event_base_dispatch(base);
	t1 = now_s();

	sqlite3_commit_hook(db_handle(db), NULL, NULL);
	if (pub.failed)
		fatalx("journal: a write failed (b=%d, round %d)", batch, round);
	max_id = query_i64(db, "SELECT max(id) FROM events", NULL);
	if (query_i64(db, "SELECT count(*) FROM events", NULL) != rows->n)
		fatalx("journal: %d events expected in the journal", rows->n);
	for (int i = 0; i < NSUBS; i++) {
		int64_t cursor = query_i64(
		    db, "SELECT last_id FROM event_cursors WHERE subscriber = ?", names[i]);
		if (subs[i].count != rows->n || subs[i].bad != 0 || cursor != max_id)
			fatalx("journal: %s handled %lld of %d events (%lld out of order or "
			       "malformed), cursor %lld, newest event %lld",
			    names[i], (long long)subs[i].count, rows->n, (long long)subs[i].bad,
			    (long long)cursor, (long long)max_id);
	}

	event_free(pub.timer);
	if (pub.given != NULL)
		for (int i = 0; i < rows->n; i++)
			json_decref(pub.given[i]);
	free(pub.given);
	events_free(ev);
	event_base_free(base);
	db_close(db);
	remove_db(path);
	res.rate = rows->n / (t1 - t0);
	res.publish_share = pub.busy / (t1 - t0);
	res.commits = (double)commits / rows->n;
	return res;
}

static struct result
run_raw(const char *dir, const struct rows *rows, int batch, int round)
{
	struct result res;
	struct db *db;
	sqlite3_stmt *st;
	char path[1024], now[32];
	int64_t commits = 0;
	double t0, t1;

	db = fresh_db(dir, "raw", round, batch, path, sizeof(path));
	if ((st = db_stmt(db, raw_sql)) == NULL)
		fatalx("raw: cannot prepare the insert");
	sqlite3_commit_hook(db_handle(db), count_commit, &commits);

	t0 = now_s();
	for (int i = 0; i < rows->n;) {
		int end = i + batch < rows->n ? i + batch : rows->n;
		if (db_begin(db) == -1)
			fatalx("raw: begin");
		for (; i < end; i++) {
			tr_rfc3339(time(NULL), now, sizeof(now));
			sqlite3_bind_text(st, 1, "structure.created", -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, rows->subjects[i], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, rows->payloads[i], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, 1);
			sqlite3_bind_text(st, 5, "bench", -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				fatalx("raw: insert: %s", sqlite3_errmsg(db_handle(db)));
			db_done(st);
		}
		if (db_commit(db) == -1)
			fatalx("raw: commit");
	}
	t1 = now_s();

	sqlite3_commit_hook(db_handle(db), NULL, NULL);
	if (query_i64(db, "SELECT count(*) FROM events", NULL) != rows->n)
		fatalx("raw: %d rows expected", rows->n);
	db_close(db);
	remove_db(path);
	res.rate = rows->n / (t1 - t0);
	res.publish_share = 1;
	res.commits = (double)commits / rows->n;
	return res;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v. */
static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: events [-v] [-n events] [-b batch,...] [-r rounds] [-d dir]"
	    " [-D delay_ms] [-o journal|raw] [-P record|change]\n");
	exit(2);
}

static int
parse_batches(const char *s, int *out)
{
	char buf[128], *tok, *save = NULL;
	int64_t v;
	int n = 0;

	tr_strlcpy(buf, s, sizeof(buf));
	for (tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		if (n == MAX_BATCHES || tr_parse_i64(tok, 1, 1000000, &v) == -1)
			return -1;
		out[n++] = (int)v;
	}
	return n;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	int batches[MAX_BATCHES], nbatches, rounds = 5, n = 20000, verbose = 0, c;
	int delay_ms = 0, journal = 1, raw = 1, change = 0;
	char tmpl[1024];
	struct rows rows;
	int64_t v;

	nbatches = parse_batches("1,100", batches);
	while ((c = getopt(argc, argv, "b:D:d:n:o:P:r:v")) != -1) {
		switch (c) {
		case 'b':
			if ((nbatches = parse_batches(optarg, batches)) <= 0)
				usage();
			break;
		case 'D':
			if (tr_parse_i64(optarg, 0, 60000, &v) == -1)
				usage();
			delay_ms = (int)v;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'o':
			/* One side alone, to profile it. */
			journal = strcmp(optarg, "journal") == 0;
			raw = strcmp(optarg, "raw") == 0;
			if (!journal && !raw)
				usage();
			break;
		case 'P':
			/* How the events are published: see the top of this file. */
			if (strcmp(optarg, "change") == 0)
				change = 1;
			else if (strcmp(optarg, "record") == 0)
				change = 0;
			else
				usage();
			break;
		case 'n':
			if (tr_parse_i64(optarg, 1, 10000000, &v) == -1)
				usage();
			n = (int)v;
			break;
		case 'r':
			if (tr_parse_i64(optarg, 1, MAX_ROUNDS, &v) == -1)
				usage();
			rounds = (int)v;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init(1, LOG_LEVEL_WARNING);
	if (dir == NULL) {
		const char *t = getenv("TMPDIR");
		snprintf(tmpl, sizeof(tmpl), "%s/tremplin-bench-events.XXXXXX", t ? t : "/tmp");
		if ((dir = mkdtemp(tmpl)) == NULL)
			fatal("mkdtemp %s", tmpl);
	}
	rows_build(&rows, n);

	printf("events: %d events per run, 3 subscribers on \"*\", %d rounds per side and batch,"
	       " alternating which side goes first; dispatch delay %d ms;\n"
	       "published %s\n",
	    n, rounds, delay_ms,
	    change ? "with events_publish_change of an object the caller keeps (-P change)"
	           : "as resource_publish does, the object given to the payload (-P record)");
	printf("SQLite %s, libevent %s, jansson %s; databases in %s\n", sqlite3_libversion(),
	    event_get_version(), JANSSON_VERSION, dir);
	printf("journal+dispatch: events/s from the first publish until all 3 subscribers have "
	       "handled every event and saved their cursors\n");
	printf("raw inserts: rows/s of the same rows, one prepared INSERT, same transactions\n");
	printf("ratio: median (and range) of the per-round ratios; publish: share of the journal's "
	       "time spent in the write transactions;\n"
	       "commits/event: journal (writes + cursor saves) and raw\n\n");
	printf("%6s %8s %18s %14s %6s %-11s %8s %15s\n", "batch", "events", "journal+dispatch/s",
	    "raw inserts/s", "ratio", "(min-max)", "publish", "commits/event");
	fflush(stdout);

	for (int b = 0; b < nbatches; b++) {
		double jr[MAX_ROUNDS], rr[MAX_ROUNDS], ratio[MAX_ROUNDS], share[MAX_ROUNDS];
		double jc[MAX_ROUNDS], rc[MAX_ROUNDS], lo, hi;
		for (int r = 0; r < rounds; r++) {
			struct result j = { 0, 0, 0 }, w = { 0, 0, 0 };
			if (r % 2 == 0 && journal)
				j = run_journal(dir, &rows, batches[b], r, delay_ms, change);
			if (raw)
				w = run_raw(dir, &rows, batches[b], r);
			if (r % 2 == 1 && journal)
				j = run_journal(dir, &rows, batches[b], r, delay_ms, change);
			jr[r] = j.rate;
			rr[r] = w.rate;
			ratio[r] = w.rate > 0 ? j.rate / w.rate : 0;
			share[r] = j.publish_share;
			jc[r] = j.commits;
			rc[r] = w.commits;
			if (verbose)
				fprintf(stderr,
				    "  b=%d round %d: journal %.0f/s (publish %.0f%%, %.3f "
				    "commits/event), raw %.0f/s, ratio %.3f\n",
				    batches[b], r + 1, j.rate, 100 * j.publish_share, j.commits,
				    w.rate, ratio[r]);
		}
		lo = hi = ratio[0];
		for (int r = 1; r < rounds; r++) {
			lo = ratio[r] < lo ? ratio[r] : lo;
			hi = ratio[r] > hi ? ratio[r] : hi;
		}
		char span[32], commits[32];
		snprintf(span, sizeof(span), "(%.2f-%.2f)", lo, hi);
		snprintf(commits, sizeof(commits), "%.3f / %.3f", median(jc, rounds),
		    median(rc, rounds));
		printf("%6d %8d %18.0f %14.0f %6.2f %-11s %7.0f%% %15s\n", batches[b], n,
		    median(jr, rounds), median(rr, rounds), median(ratio, rounds), span,
		    100 * median(share, rounds), commits);
		fflush(stdout);
	}
	rows_free(&rows);
	if (dir == tmpl && rmdir(dir) == -1)
		log_warn("rmdir %s", dir);
	return 0;
}
