/*
 * lua_event: what handing one event to a Lua handler costs, beside the same
 * handler in C, in the same run; and the memory of one loaded script.
 *
 * Linked with the daemon's own libtremplin.a. Each side: a fresh database
 * (db_open + db_migrate of the core module), an event_base, events_new, a
 * scheduler, and one subscriber on "bench.tick" whose handler reads two
 * fields of the payload, sums one, counts, and checks that ids arrive in
 * order:
 *
 * - C: events_subscribe with a C function returning EVENT_DONE, as a C
 *   plugin's handler does;
 * - Lua: the Lua host (luahost_apply) with one script whose on() handler
 *   does the same, in the sandbox, with the default limits.
 *
 * N events are journaled first (transactions of 1000, not timed); then the
 * loop runs until it has nothing left: every event handled and the cursor
 * saved. Per event: that time / N. The Lua side takes the daemon's path:
 * calls run at once while a loop iteration's budget lasts, then as jobs.
 *
 * Also, the call alone: N calls of the handler through luabox_run with the
 * event built as a Lua table, beside N direct calls of the C handler.
 *
 * Memory: what the Lua state of the bench script and of the shipped rule
 * lua/rules/contract_ending.lua hold once loaded (GET /v1/plugins's
 * memory_bytes).
 *
 * Rounds alternate which side goes first; medians are printed. Nothing is
 * asserted about time; a lost or misordered event fails the run.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <lauxlib.h>
#include <sqlite3.h>

#include "config.h"
#include "luamsg.h"
#include "db.h"
#include "events.h"
#include "handlers.h"
#include "kernel/kernel.h"
#include "log.h"
#include "luabox.h"
#include "luahost.h"
#include "scriptlib.h"
#include "server.h"
#include "scheduler.h"
#include "util.h"

#define MAX_ROUNDS 64

static const char script[] =
    "-- bench: sums payload.n of bench.tick events\n"
    "local sum, count, last = 0, 0, 0\n"
    "on('bench.tick', function(e)\n"
    "  if e.id <= last or e.payload.kind ~= 'tick' then error('out of order') end\n"
    "  last = e.id\n"
    "  sum = sum + e.payload.n\n"
    "  count = count + 1\n"
    "end)\n";

struct tally {
	int64_t sum, count, last, bad;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The C twin of the script's handler. */
static int
c_handler(const struct event_rec *e, void *arg)
{
	struct tally *t = arg;
	const char *kind = json_string_value(json_object_get(e->payload, "kind"));

	if (e->id <= t->last || kind == NULL || strcmp(kind, "tick") != 0)
		t->bad++;
	t->last = e->id;
	t->sum += json_integer_value(json_object_get(e->payload, "n"));
	t->count++;
	return EVENT_DONE;
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

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) == EOF)
		fatal("%s", path);
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

static json_t *
scripts_section(const char *name, const char *file)
{
	return json_pack("{s:{s:b, s:s, s:s, s:{}, s:[], s:{s:i, s:i, s:i, s:i}}}", name, "enabled",
	    1, "role", "coordinator", "file", file, "options", "http_hosts", "limits", "memory_mib",
	    8, "instructions", 1000000, "time_ms", 50, "max_failures", 3);
}

struct side {
	struct server srv;
	struct config conf;
	char path[1024];
};

static void
side_open(struct side *s, const char *dir, const char *what, int round)
{
	const struct db_module *mods[] = { &core_module, kernel_db_module() };
	char err[512];

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s/%s-r%d.db", dir, what, round);
	if (db_open(s->path, &s->srv.db, err, sizeof(err)) == -1 ||
	    db_migrate(s->srv.db, mods, TR_NELEM(mods), err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((s->srv.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	s->srv.events = events_new(s->srv.base, s->srv.db, 0);
	s->srv.sched = sched_new(s->srv.base, s->srv.db, NULL, NULL);
}

static void
side_close(struct side *s)
{
	luahost_free(s->srv.lua);
	sched_free(s->srv.sched);
	events_free(s->srv.events);
	event_base_free(s->srv.base);
	db_close(s->srv.db);
	remove_db(s->path);
	json_decref(s->conf.scripts);
}

/* N events, journaled in transactions of 1000 before the clock starts. */
static void
publish(struct side *s, int n)
{
	for (int i = 0; i < n;) {
		if (db_begin(s->srv.db) == -1)
			fatalx("begin");
		for (int end = i + 1000; i < n && i < end; i++) {
			char subject[32];
			snprintf(subject, sizeof(subject), "bench/%d", i + 1);
			if (events_publish(s->srv.events, "bench.tick", subject,
			        json_pack("{s:s, s:i}", "kind", "tick", "n", i % 7), 0,
			        "bench") < 0)
				fatalx("publish");
		}
		if (db_commit(s->srv.db) == -1)
			fatalx("commit");
	}
}

static double
run_c(const char *dir, int n, int round)
{
	struct side s;
	struct tally t = { 0, 0, 0, 0 };
	int owner;
	double t0, t1;

	side_open(&s, dir, "c", round);
	if (events_subscribe(s.srv.events, &owner, "c/tick", "bench.tick", c_handler, &t) == -1)
		fatalx("subscribe");
	event_base_loop(s.srv.base, EVLOOP_NONBLOCK);
	publish(&s, n);
	t0 = now_s();
	event_base_dispatch(s.srv.base);
	t1 = now_s();
	if (t.count != n || t.bad != 0)
		fatalx("c: %lld of %d events handled, %lld out of order", (long long)t.count, n,
		    (long long)t.bad);
	events_unsubscribe_owner(s.srv.events, &owner);
	side_close(&s);
	return (t1 - t0) / n * 1e6;
}

/* Workers keep the loop busy (their sockets): it is left when every event was handed. */
struct watch {
	struct side *s;
	struct event *ev;
	int n;
};

static void
watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	json_t *items = luahost_json(w->s->srv.lua);
	json_t *sub = json_array_get(json_object_get(json_array_get(items, 0), "subscriptions"), 0);
	struct timeval tv = { 0, 1000 };

	(void)fd, (void)what;
	/* Handed, and its cursor saved (the journal's round after the last answer). */
	if ((json_integer_value(json_object_get(sub, "delivered")) >= w->n &&
	        query_i64(w->s->srv.db, "SELECT last_id FROM event_cursors WHERE subscriber = ?",
	            "bench/on:bench.tick") ==
	            query_i64(w->s->srv.db, "SELECT max(id) FROM events", NULL)) ||
	    strcmp(json_string_value(json_object_get(json_array_get(items, 0), "state")),
	        "enabled") != 0)
		event_base_loopbreak(w->s->srv.base);
	else
		evtimer_add(w->ev, &tv);
	json_decref(items);
}

/* CPU seconds used by this process (who = RUSAGE_SELF) or its reaped children. */
static double
cpu_s(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) == -1)
		fatal("getrusage");
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* In worker runs: CPU us per event of the daemon's loop and of the worker (its load included). */
static double cpu_daemon_us, cpu_worker_us;

static double
run_lua(const char *dir, const char *scripts, int n, int round, int64_t *memory, int workers)
{
	struct side s;
	double t0, t1, c0, c1, k0 = cpu_s(RUSAGE_CHILDREN);
	struct watch w = { &s, NULL, n };
	struct timeval tv = { 0, 1000 };

	side_open(&s, dir, workers ? "worker" : "lua", round);
	s.conf.script_workers = workers;
	s.conf.script_dir = (char *)scripts;
	s.conf.scripts = scripts_section("bench", "rules/bench.lua");
	s.srv.lua = luahost_new(&s.srv);
	luahost_apply(s.srv.lua, &s.conf);
	event_base_loop(s.srv.base, EVLOOP_NONBLOCK);
	publish(&s, n);
	t0 = now_s();
	c0 = cpu_s(RUSAGE_SELF);
	if (workers) {
		w.ev = evtimer_new(s.srv.base, watch_cb, &w);
		evtimer_add(w.ev, &tv);
	}
	event_base_dispatch(s.srv.base);
	t1 = now_s();
	c1 = cpu_s(RUSAGE_SELF);
	if (w.ev != NULL)
		event_free(w.ev);
	json_t *items = luahost_json(s.srv.lua), *sub;
	json_t *item = json_array_get(items, 0);
	sub = json_array_get(json_object_get(item, "subscriptions"), 0);
	if (json_integer_value(json_object_get(sub, "delivered")) != n ||
	    json_integer_value(json_object_get(sub, "failures")) != 0 ||
	    strcmp(json_string_value(json_object_get(item, "state")), "enabled") != 0)
		fatalx("lua: %s", json_dumps(item, JSON_COMPACT));
	if (query_i64(s.srv.db, "SELECT last_id FROM event_cursors WHERE subscriber = ?",
	        "bench/on:bench.tick") != query_i64(s.srv.db, "SELECT max(id) FROM events", NULL))
		fatalx("lua: the cursor is not at the last event");
	*memory =
	    json_integer_value(json_object_get(json_object_get(item, "script"), "memory_bytes"));
	json_decref(items);
	side_close(&s);
	if (workers) {
		cpu_daemon_us = (c1 - c0) / n * 1e6;
		cpu_worker_us = (cpu_s(RUSAGE_CHILDREN) - k0) / n * 1e6;
	}
	return (t1 - t0) / n * 1e6;
}

/* ---- view() round trips ---- */

/*
 * The load of a script whose main chunk reads structures.v1 n times (with),
 * or runs the same loop without the read: seconds. The difference over n is
 * what one view() costs, in-process or in a worker (a message each way).
 */
static double
view_load(const char *dir, const char *scripts, int n, int workers, int with)
{
	struct side s;
	char path[1300], text[300];
	double t0, t1;

	snprintf(text, sizeof(text), "-- vbench\nlocal k = 0\nfor i = 1, %d do %s k = k + 1 end\n",
	    n, with ? "local rows = view('structures.v1')" : "");
	snprintf(path, sizeof(path), "%s/rules/vbench.lua", scripts);
	write_file(path, text);
	side_open(&s, dir, workers ? "view-worker" : "view-lua", with);
	s.conf.script_workers = workers;
	s.conf.script_dir = (char *)scripts;
	s.conf.scripts = json_pack("{s:{s:b, s:s, s:s, s:{}, s:[], s:{s:i, s:i, s:i, s:i}}}",
	    "vbench", "enabled", 1, "role", "coordinator", "file", "rules/vbench.lua", "options",
	    "http_hosts", "limits", "memory_mib", 64, "instructions", 1000000000, "time_ms", 60000,
	    "max_failures", 3);
	s.srv.lua = luahost_new(&s.srv);
	t0 = now_s();
	luahost_apply(s.srv.lua, &s.conf);
	t1 = now_s();
	json_t *items = luahost_json(s.srv.lua);
	if (strcmp(json_string_value(json_object_get(json_array_get(items, 0), "state")),
	        "enabled") != 0)
		fatalx("view bench: %s", json_dumps(items, JSON_COMPACT));
	json_decref(items);
	side_close(&s);
	unlink(path);
	return t1 - t0;
}

static double
view_us(const char *dir, const char *scripts, int n, int workers)
{
	double with = view_load(dir, scripts, n, workers, 1);
	double without = view_load(dir, scripts, n, workers, 0);

	return (with - without) / n * 1e6;
}

/* ---- the call alone ---- */

struct call_arg {
	json_t *payload;
	int64_t id;
};

static int
handler_entry(lua_State *L)
{
	struct call_arg *a = lua_touserdata(L, 1);

	lua_getglobal(L, "handler");
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, a->id);
	lua_setfield(L, -2, "id");
	lua_pushliteral(L, "bench.tick");
	lua_setfield(L, -2, "type");
	lua_pushliteral(L, "bench/1");
	lua_setfield(L, -2, "subject");
	lua_pushliteral(L, "bench");
	lua_setfield(L, -2, "actor");
	lua_pushliteral(L, "2026-11-23T09:00:00Z");
	lua_setfield(L, -2, "created_at");
	scriptlib_push_json(L, a->payload, 0);
	lua_setfield(L, -2, "payload");
	lua_call(L, 1, 0);
	return 0;
}

static int
define_entry(lua_State *L)
{
	static const char text[] =
	    "local sum, count, last = 0, 0, 0\n"
	    "function handler(e)\n"
	    "  if e.id <= last or e.payload.kind ~= 'tick' then error('out of order') end\n"
	    "  last = e.id sum = sum + e.payload.n count = count + 1\n"
	    "end\n";

	if (luabox_loadchunk(L, "=bench", text, sizeof(text) - 1) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	return 0;
}

static void
calls_alone(int n, double *lua_us, double *c_us)
{
	struct luabox_limits lim = { 8u << 20, 1000000, 50 };
	struct call_arg a = { json_pack("{s:s, s:i}", "kind", "tick", "n", 3), 0 };
	struct event_rec rec = { 0, "bench.tick", "bench/1", a.payload, "bench",
		"2026-11-23T09:00:00Z", NULL };
	struct tally t = { 0, 0, 0, 0 };
	char e[256], *err = NULL;
	struct luabox *b = luabox_new(&lim, NULL, e, sizeof(e));
	double t0;

	if (b == NULL || luabox_run(b, define_entry, NULL, &err) != LB_OK)
		fatalx("calls: %s", err ? err : e);
	t0 = now_s();
	for (int i = 1; i <= n; i++) {
		a.id = i;
		if (luabox_run(b, handler_entry, &a, &err) != LB_OK)
			fatalx("calls: %s", err);
	}
	*lua_us = (now_s() - t0) / n * 1e6;
	t0 = now_s();
	for (int i = 1; i <= n; i++) {
		rec.id = i;
		c_handler(&rec, &t);
	}
	*c_us = (now_s() - t0) / n * 1e6;
	if (t.count != n || t.bad != 0)
		fatalx("calls: the C handler miscounted");
	luabox_free(b);
	json_decref(a.payload);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* What the shipped rule's state holds once loaded. */
static int64_t
rule_memory(const char *dir, const char *topdir)
{
	struct side s;
	char lua[1024];
	int64_t m;

	snprintf(lua, sizeof(lua), "%s/lua", topdir);
	side_open(&s, dir, "rule", 0);
	s.conf.script_dir = lua;
	s.conf.scripts = scripts_section("contract_ending", "rules/contract_ending.lua");
	s.srv.lua = luahost_new(&s.srv);
	luahost_apply(s.srv.lua, &s.conf);
	json_t *items = luahost_json(s.srv.lua), *item = json_array_get(items, 0);
	if (strcmp(json_string_value(json_object_get(item, "state")), "enabled") != 0)
		fatalx("the rule did not load: %s", json_dumps(item, JSON_COMPACT));
	m = json_integer_value(json_object_get(json_object_get(item, "script"), "memory_bytes"));
	json_decref(items);
	side_close(&s);
	return m;
}

static void
usage(void)
{
	fprintf(stderr, "usage: lua_event [-w] [-n events] [-r rounds] [-d dir] [-t topdir]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *topdir = ".";
	int n = 20000, rounds = 5, c;
	double cu[MAX_ROUNDS], lu[MAX_ROUNDS], wu[MAX_ROUNDS], ratio[MAX_ROUNDS],
	    wratio[MAX_ROUNDS], dcpu[MAX_ROUNDS], wcpu[MAX_ROUNDS], lua_call_us, c_call_us;
	int only_workers = 0;
	int64_t wmemory = 0;

	/* The Lua workers' process: this program again (luaproc.c execs /proc/self/exe -L). */
	if (argc == 2 && strcmp(argv[1], "-L") == 0)
		return luaworker_main(3);
	char tmpl[1024], scripts[1100], rules[1200];
	int64_t v, memory = 0;

	while ((c = getopt(argc, argv, "d:n:r:t:w")) != -1) {
		switch (c) {
		case 'w':
			only_workers = 1;
			break;
		case 'd':
			dir = optarg;
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
		case 't':
			topdir = optarg;
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
		snprintf(tmpl, sizeof(tmpl), "%s/tremplin-bench-lua.XXXXXX", t ? t : "/tmp");
		if ((dir = mkdtemp(tmpl)) == NULL)
			fatal("mkdtemp %s", tmpl);
	}
	snprintf(scripts, sizeof(scripts), "%s/lua", dir);
	snprintf(rules, sizeof(rules), "%s/rules", scripts);
	if ((mkdir(scripts, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(rules, 0700) == -1 && errno != EEXIST))
		fatal("mkdir %s", rules);
	snprintf(rules, sizeof(rules), "%s/rules/bench.lua", scripts);
	write_file(rules, script);

	printf("lua_event: %d events per run, one subscriber on \"bench.tick\", %d rounds per "
	       "side, alternating which goes first\n",
	    n, rounds);
	printf("%s, SQLite %s, libevent %s; databases in %s\n", LUA_RELEASE, sqlite3_libversion(),
	    event_get_version(), dir);
	if (only_workers) {
		/* For profiling: the worker side alone. */
		for (int r = 0; r < rounds; r++) {
			wu[r] = run_lua(dir, scripts, n, r, &wmemory, 1);
			dcpu[r] = cpu_daemon_us;
			wcpu[r] = cpu_worker_us;
		}
		printf("Lua handler in a worker process, us per event: %.2f (CPU: daemon %.2f, "
		       "worker %.2f)\n",
		    median(wu, rounds), median(dcpu, rounds), median(wcpu, rounds));
		return 0;
	}
	for (int r = 0; r < rounds; r++) {
		if (r % 2 == 0)
			cu[r] = run_c(dir, n, r);
		lu[r] = run_lua(dir, scripts, n, r, &memory, 0);
		wu[r] = run_lua(dir, scripts, n, r, &wmemory, 1);
		dcpu[r] = cpu_daemon_us;
		wcpu[r] = cpu_worker_us;
		if (r % 2 == 1)
			cu[r] = run_c(dir, n, r);
		ratio[r] = lu[r] / cu[r];
		wratio[r] = wu[r] / cu[r];
	}
	calls_alone(n, &lua_call_us, &c_call_us);
	double vl[MAX_ROUNDS], vw[MAX_ROUNDS];
	for (int r = 0; r < rounds; r++) {
		vl[r] = view_us(dir, scripts, n, 0);
		vw[r] = view_us(dir, scripts, n, 1);
	}
	printf("\nthrough the journal (dispatch, handler, cursor), us per event:\n");
	printf("  C handler    %8.2f\n", median(cu, rounds));
	printf("  Lua handler  %8.2f\n", median(lu, rounds));
	printf("  Lua / C      %8.2f\n", median(ratio, rounds));
	printf("  Lua handler in a worker process (script_workers)  %8.2f\n", median(wu, rounds));
	printf("  worker / C   %8.2f\n", median(wratio, rounds));
	printf("  CPU in the worker run, us per event: daemon %.2f, worker %.2f\n",
	    median(dcpu, rounds), median(wcpu, rounds));
	printf("view('structures.v1') from a script, us per call (empty table):\n");
	printf("  in-process   %8.2f\n", median(vl, rounds));
	printf("  in a worker  %8.2f\n", median(vw, rounds));
	printf("the call alone (the event built as a Lua table, the handler run under the limits), "
	       "us per call:\n");
	printf("  C handler    %8.3f\n", c_call_us);
	printf("  Lua handler  %8.3f\n", lua_call_us);
	printf("memory of a loaded script (its Lua state, bytes):\n");
	printf("  the bench script                 %8lld\n", (long long)memory);
	printf("  lua/rules/contract_ending.lua    %8lld\n", (long long)rule_memory(dir, topdir));

	unlink(rules);
	snprintf(rules, sizeof(rules), "%s/rules", scripts);
	rmdir(rules);
	rmdir(scripts);
	if (dir == tmpl && rmdir(dir) == -1)
		log_warn("rmdir %s", dir);
	return 0;
}
