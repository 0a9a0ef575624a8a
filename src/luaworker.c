/*
 * The Lua worker: one site script's sandbox in a process of its own
 * (tremplind -L, started by luaproc.c with the socket as fd 3). It reads no
 * file and opens no connection: whatever the script asks of the daemon
 * (views, notifications, requests, libraries, log lines) is a message, and
 * the daemon decides. Its memory is capped by the kernel (RLIMIT_AS, set by
 * the parent) besides the sandbox's allocator, and the parent kills it when
 * a call passes its wall-clock deadline, so a C call that runs long (a
 * comparison of huge strings, a sort) holds this process, never the daemon.
 */
#include "luamsg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#ifdef __linux__
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "luabox.h"
#include "scriptlib.h"
#include "util.h"

/* ---- frames ---- */

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

char *
luamsg_frame(const json_t *msg, size_t *len)
{
	char *text = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY), *out;
	size_t n;
	uint32_t be;

	if (text == NULL)
		return NULL;
	n = strlen(text);
	if (n > LUAMSG_MAX || (out = malloc(n + 4)) == NULL) {
		free(text);
		return NULL;
	}
	be = htonl((uint32_t)n);
	memcpy(out, &be, 4);
	memcpy(out + 4, text, n);
	free(text);
	*len = n + 4;
	return out;
}

int
luamsg_write(int fd, const json_t *msg)
{
	size_t len;
	char *f = luamsg_frame(msg, &len);
	int rc;

	if (f == NULL)
		return -1;
	rc = write_all(fd, f, len);
	free(f);
	return rc;
}

json_t *
luamsg_read(int fd)
{
	uint32_t be;
	size_t n;
	char *buf;
	json_t *j;

	if (read_all(fd, (char *)&be, 4) == -1)
		return NULL;
	n = ntohl(be);
	if (n > LUAMSG_MAX || (buf = malloc(n ? n : 1)) == NULL)
		return NULL;
	if (read_all(fd, buf, n) == -1) {
		free(buf);
		return NULL;
	}
	j = json_loadb(buf, n, JSON_ALLOW_NUL, NULL);
	free(buf);
	return json_is_object(j) ? j : (json_decref(j), NULL);
}

/* ---- the worker ---- */

struct worker {
	int fd;
	struct luabox *box;
	int64_t now_ms; /* the daemon's clock, as the job gave it */
	struct scriptlib_clock clock;
	int loading;
	json_t *subs, *timers; /* what the main chunk registered */
	int refs[64 + 16]; /* handlers, then timers, in the registry */
	int nsubs, ntimers;
	int logs, logs_dropped; /* of the running call: past 50, not even sent */
	int skipping; /* an event failed: the events sent after it are not run, until "resume" */
};

static struct worker W;

static int64_t
worker_now(void *arg)
{
	(void)arg;
	return W.now_ms;
}

/*
 * The calls of a batch that ended well, answered together: one "done" of
 * {"calls": n} stands for n of them, so the daemon is woken once for many
 * events. Sent before any other message (order holds), at the batch's end,
 * and as soon as the calls held began more than a millisecond ago: a call
 * held is then answered at most a millisecond and the next call after it
 * began, within the daemon's deadline (time_ms plus 200 ms) whatever the
 * next call takes within its own limit.
 */
static struct {
	int calls;
	struct timespec since; /* when the first call held began */
} OK;

static int64_t
since_ns(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000000000 + (now.tv_nsec - t->tv_nsec);
}

static void
ok_flush(void)
{
	json_t *m;

	if (OK.calls == 0)
		return;
	m = json_pack("{s:s, s:{s:s, s:i, s:I, s:i}}", "call", "done", "args", "status", "ok",
	    "calls", OK.calls, "memory", (json_int_t)luabox_memory(W.box), "logs_dropped", 0);
	OK.calls = 0;
	if (m == NULL || luamsg_write(W.fd, m) == -1)
		_exit(1);
	json_decref(m);
}

static void
send_or_exit(json_t *msg)
{
	ok_flush();
	if (luamsg_write(W.fd, msg) == -1)
		_exit(1);
	json_decref(msg);
}

/*
 * Jobs that came while a call waited for its answer (the daemon sends the
 * next batch of events before the last one ends): run after it, in order.
 * At most 2 * LUAMSG_EVENT_BATCH - 1 events wait behind the running call
 * (luamsg.h), each message at least one, and a "resume".
 */
static struct {
	json_t *m[2 * LUAMSG_EVENT_BATCH + 8];
	size_t head, n;
} STASH;

static json_t *
next_job(void)
{
	json_t *m;

	if (STASH.n > 0) {
		m = STASH.m[STASH.head];
		STASH.head = (STASH.head + 1) % TR_NELEM(STASH.m);
		STASH.n--;
		return m;
	}
	return luamsg_read(W.fd);
}

/*
 * A call to the daemon, answered before the script goes on: the answer's
 * value pushed (decoded), or a Lua error with the daemon's reason.
 */
static int
hostcall(lua_State *L, const char *name, json_t *args)
{
	struct scriptlib_guard *g = scriptlib_push_guard(L);
	json_t *ans, *v;

	send_or_exit(json_pack("{s:s, s:o}", "call", name, "args", args));
	while ((ans = luamsg_read(W.fd)) != NULL && json_object_get(ans, "call") != NULL) {
		if (STASH.n == TR_NELEM(STASH.m))
			_exit(1);
		STASH.m[(STASH.head + STASH.n++) % TR_NELEM(STASH.m)] = ans;
	}
	if (ans == NULL)
		_exit(1);
	g->json = ans;
	if ((v = json_object_get(ans, "error")) != NULL)
		return luaL_error(L, "%s", json_string_value(v) ? json_string_value(v) : "error");
	scriptlib_push_json(L, json_object_get(ans, "reply"), 0);
	return 1;
}

/* Arguments as JSON, or a Lua error naming the function. */
static json_t *
arg_json(lua_State *L, int idx, const char *fn)
{
	char err[256];
	json_t *j = scriptlib_to_json(L, idx, err, sizeof(err));

	if (j == NULL)
		luaL_error(L, "%s: %s", fn, err);
	return j;
}

static int
w_on(lua_State *L)
{
	const char *type = luaL_checkstring(L, 1);

	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!W.loading)
		return luaL_error(L, "on() is called when the script loads, not later");
	if (W.nsubs >= 64)
		return luaL_error(L, "on: at most 64 handlers per script");
	lua_pushvalue(L, 2);
	W.refs[W.nsubs++] = luaL_ref(L, LUA_REGISTRYINDEX);
	json_array_append_new(W.subs, json_string(type));
	return 0;
}

static int
w_every(lua_State *L)
{
	json_t *t;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!W.loading)
		return luaL_error(L, "every() is called when the script loads, not later");
	if (W.ntimers >= 16)
		return luaL_error(L, "every: at most 16 timers per script");
	t = json_object();
	if (lua_type(L, 1) == LUA_TNUMBER && lua_isinteger(L, 1))
		json_object_set_new(t, "interval", json_integer(lua_tointeger(L, 1)));
	else if (lua_type(L, 1) == LUA_TSTRING)
		json_object_set_new(t, "interval", json_string(lua_tostring(L, 1)));
	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		json_t *o = scriptlib_to_json(L, 3, (char[128]){ 0 }, 128);
		if (o == NULL) {
			json_decref(t);
			return luaL_error(L, "every: the options are name and immediately");
		}
		json_object_set_new(t, "options", o);
	}
	lua_pushvalue(L, 2);
	W.refs[64 + W.ntimers++] = luaL_ref(L, LUA_REGISTRYINDEX);
	json_array_append_new(W.timers, t);
	return 0;
}

static int
w_view(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	json_t *args = json_pack("{s:s}", "name", name);

	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		struct scriptlib_guard *g = scriptlib_push_guard(L);
		g->json = args;
		json_object_set_new(args, "params", arg_json(L, 2, "view"));
		g->json = NULL;
	}
	return hostcall(L, "view", args);
}

static int
w_notify(lua_State *L)
{
	size_t len;

	luaL_checktype(L, 1, LUA_TTABLE);
	/* Not UTF-8: the daemon's own words, as it cannot be sent to it. */
	if (lua_getfield(L, 1, "message") == LUA_TSTRING) {
		const char *m = lua_tolstring(L, -1, &len);
		json_t *j = json_stringn(m, len);
		if (j == NULL)
			return luaL_error(L,
			    "notify: message is required: UTF-8 text of 1 to 1000 characters, no "
			    "control characters but new lines");
		json_decref(j);
	}
	if (lua_getfield(L, 1, "dedup_key") == LUA_TSTRING) {
		const char *m = lua_tolstring(L, -1, &len);
		json_t *j = json_stringn(m, len);
		if (j == NULL)
			return luaL_error(L, "notify: dedup_key is text of 1 to 200 characters");
		json_decref(j);
	}
	lua_settop(L, 1);
	return hostcall(L, "notify", arg_json(L, 1, "notify"));
}

/* resolve(key) or resolve{prefix =, keep = {keys}}: checked and named by the daemon. */
static int
w_resolve(lua_State *L)
{
	json_t *a;

	if (lua_type(L, 1) == LUA_TSTRING) {
		size_t len;
		const char *k = lua_tolstring(L, 1, &len);
		if ((a = json_pack("{s:s%}", "key", k, len)) == NULL)
			return luaL_error(L, "resolve: a key is text of at most 200 characters");
	} else if (lua_type(L, 1) == LUA_TTABLE) {
		size_t len;
		if (lua_getfield(L, 1, "prefix") != LUA_TSTRING)
			return luaL_error(L, "resolve: prefix must be a string");
		const char *p = lua_tolstring(L, -1, &len);
		json_t *keep = json_array();
		if ((a = json_pack("{s:s%, s:o}", "prefix", p, len, "keep", keep)) == NULL)
			return luaL_error(L, "resolve: prefix is text of at most 200 characters");
		if (lua_getfield(L, 1, "keep") == LUA_TTABLE) {
			for (lua_Integer i = 1; lua_geti(L, -1, i) != LUA_TNIL; i++) {
				const char *k = lua_type(L, -1) == LUA_TSTRING
				    ? lua_tolstring(L, -1, &len)
				    : NULL;
				json_t *x = k && i <= 5000 ? json_stringn(k, len) : NULL;
				if (x == NULL) {
					json_decref(a);
					return luaL_error(L,
					    "resolve: keep must be a list of at most 5000 keys of "
					    "at "
					    "most 200 characters");
				}
				json_array_append_new(keep, x);
				lua_pop(L, 1);
			}
		} else if (!lua_isnil(L, -1)) {
			json_decref(a);
			return luaL_error(L, "resolve: keep must be a list of keys");
		}
	} else
		return luaL_error(L, "resolve: give a key, or {prefix = ..., keep = {...}}");
	lua_settop(L, 1);
	return hostcall(L, "resolve", a);
}

static const char http_key;
static lua_Integer http_next;

static int
w_http(lua_State *L)
{
	json_t *args;

	luaL_checktype(L, 1, LUA_TTABLE);
	if (lua_getfield(L, 1, "callback") != LUA_TFUNCTION)
		return luaL_error(L, "http: callback is required (a function)");
	/* The table without its callback, as JSON. */
	lua_newtable(L);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		if (lua_type(L, -2) == LUA_TSTRING &&
		    strcmp(lua_tostring(L, -2), "callback") == 0) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_settable(L, -4);
	}
	args = arg_json(L, -1, "http");
	json_object_set_new(args, "id", json_integer(++http_next));
	hostcall(L, "http", args);
	/* Started: its callback waits under its id. */
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &http_key) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &http_key);
	}
	lua_pushvalue(L, 2);
	lua_rawseti(L, -2, http_next);
	lua_pushboolean(L, 1);
	return 1;
}

static void
log_msg(const char *level, const char *text, size_t len)
{
	json_t *t;

	/* The daemon keeps 50 lines a call (MAX_LOG_PER_CALL): the rest are counted here. */
	if (W.logs >= 50) {
		W.logs_dropped++;
		return;
	}
	W.logs++;
	/* The daemon logs 1000 bytes at most: cut here, between characters. */
	size_t n = len < 1000 ? len : 1000;
	while (n > 0 && n < len && ((unsigned char)text[n] & 0xc0) == 0x80)
		n--;
	t = json_stringn(text, n);

	if (t == NULL) /* not UTF-8: the daemon logs it as bytes it escapes */
		t = json_string("(a line that is not UTF-8)");
	send_or_exit(
	    json_pack("{s:s, s:{s:s, s:o}}", "call", "log", "args", "level", level, "text", t));
}

static int
w_log(lua_State *L)
{
	static const char *const levels[] = { "debug", "info", "warning", "error", NULL };
	int level = luaL_checkoption(L, 1, NULL, levels);
	size_t len;
	const char *msg = luaL_checklstring(L, 2, &len);

	log_msg(levels[level], msg, len);
	return 0;
}

static int
w_print(lua_State *L)
{
	size_t len;
	const char *msg = luabox_print_text(L, &len);

	log_msg("info", msg, len);
	return 0;
}

static int
w_use(lua_State *L)
{
	const char *name = luabox_check_lib_name(L, 1);
	const char *text;
	size_t len;

	if (luabox_use_cached(L, name))
		return 1;
	hostcall(L, "use", json_pack("{s:s}", "name", name)); /* the text, checked */
	text = lua_tolstring(L, -1, &len);
	return luabox_use_run(L, name, text ? text : "", text ? len : 0);
}

/*
 * A script function that is only a call to the daemon: its arguments as a
 * JSON array, the daemon's answer its value. A function added to the host
 * is one name in `forwarded` below and one row in luaproc.c's calls[]
 * (whose handler gets that array).
 */
static int
w_forward(lua_State *L)
{
	const char *name = lua_tostring(L, lua_upvalueindex(1));
	int n = lua_gettop(L);
	json_t *args = json_array();
	struct scriptlib_guard *g = scriptlib_push_guard(L);

	g->json = args;
	for (int i = 1; i <= n; i++)
		json_array_append_new(args, arg_json(L, i, name));
	g->json = NULL;
	return hostcall(L, name, args);
}

static const char *const forwarded[] = { NULL };

/* ---- jobs ---- */

static int
setup_entry(lua_State *L)
{
	static const luaL_Reg api[] = {
		{ "on", w_on },
		{ "every", w_every },
		{ "view", w_view },
		{ "notify", w_notify },
		{ "resolve", w_resolve },
		{ "log", w_log },
		{ "print", w_print },
		{ "http", w_http },
		{ "use", w_use },
		{ NULL, NULL },
	};
	json_t *a = lua_touserdata(L, 1);

	scriptlib_open(L, &W.clock);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, api, 0);
	for (size_t i = 0; forwarded[i] != NULL; i++) {
		lua_pushstring(L, forwarded[i]);
		lua_pushcclosure(L, w_forward, 1);
		lua_setfield(L, -2, forwarded[i]);
	}
	scriptlib_push_json(L, json_object_get(a, "options"), SCRIPTLIB_READONLY);
	lua_setfield(L, -2, "options");
	lua_createtable(L, 0, 2);
	lua_pushstring(L, json_string_value(json_object_get(a, "name")));
	lua_setfield(L, -2, "name");
	lua_pushstring(L, json_string_value(json_object_get(a, "role")));
	lua_setfield(L, -2, "role");
	luabox_push_readonly(L, -1);
	lua_setfield(L, -3, "script");
	return 0;
}

static int
main_entry(lua_State *L)
{
	json_t *a = lua_touserdata(L, 1);
	const char *text = json_string_value(json_object_get(a, "text"));

	if (luabox_loadchunk(L, json_string_value(json_object_get(a, "chunkname")), text,
	        json_string_length(json_object_get(a, "text"))) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	return 0;
}

/* An event of a batch: [sub, id, type, subject, actor, created_at, payload]. */
static int
event_entry(lua_State *L)
{
	static const char *const fields[] = { "id", "type", "subject", "actor", "created_at",
		"payload" };
	json_t *a = lua_touserdata(L, 1);
	json_int_t i = json_integer_value(json_array_get(a, 0));

	if (i < 0 || i >= W.nsubs)
		return luaL_error(L, "no such handler");
	lua_rawgeti(L, LUA_REGISTRYINDEX, W.refs[i]);
	lua_createtable(L, 0, (int)TR_NELEM(fields));
	for (size_t k = 0; k < TR_NELEM(fields); k++) {
		json_t *x = json_array_get(a, k + 1);
		if (x == NULL || json_is_null(x))
			continue;
		scriptlib_push_json(L, x, 0);
		lua_setfield(L, -2, fields[k]);
	}
	lua_call(L, 1, 0);
	return 0;
}

static int
timer_entry(lua_State *L)
{
	json_t *a = lua_touserdata(L, 1);
	json_int_t i = json_integer_value(json_object_get(a, "timer"));

	if (i < 0 || i >= W.ntimers)
		return luaL_error(L, "no such timer");
	lua_rawgeti(L, LUA_REGISTRYINDEX, W.refs[64 + i]);
	lua_call(L, 0, 0);
	return 0;
}

static int
http_entry(lua_State *L)
{
	json_t *a = lua_touserdata(L, 1);
	lua_Integer id = (lua_Integer)json_integer_value(json_object_get(a, "id"));

	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &http_key) != LUA_TTABLE ||
	    lua_rawgeti(L, -1, id) != LUA_TFUNCTION)
		return 0; /* a callback of an earlier worker: gone with it */
	lua_pushnil(L);
	lua_rawseti(L, -3, id);
	scriptlib_push_json(L, json_object_get(a, "response"), 0);
	lua_call(L, 1, 0);
	return 0;
}

static enum luabox_status
load(json_t *a, char **err)
{
	const json_t *lim = json_object_get(a, "limits");
	struct luabox_limits limits = {
		.memory = (size_t)json_integer_value(json_object_get(lim, "memory_mib")) << 20,
		.instructions = json_integer_value(json_object_get(lim, "instructions")),
		.time_ms = json_integer_value(json_object_get(lim, "time_ms")),
	};
	char e[512];
	enum luabox_status st;

	if (W.box != NULL) {
		*err = strdup("this worker has a script already");
		return LB_ERROR;
	}
	if ((W.box = luabox_new(&limits, &W, e, sizeof(e))) == NULL) {
		*err = strdup(e);
		return LB_ERROR;
	}
	W.subs = json_array();
	W.timers = json_array();
	W.loading = 1;
	st = luabox_run(W.box, setup_entry, a, err);
	if (st == LB_OK)
		st = luabox_run(W.box, main_entry, a, err);
	W.loading = 0;
	return st;
}

/*
 * A seccomp filter: the worker reads and writes its socket, manages its
 * memory, reads clocks and exits; any other system call fails with EPERM
 * (opening a file, a socket, exec, kill...). Where seccomp is missing, the
 * other walls stand (no file descriptors but the socket, no privileges,
 * RLIMIT_AS).
 */
static void
confine(void)
{
#if defined(__linux__) && defined(__x86_64__)
#define ALLOW(nr)                                                                                  \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                                           \
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		ALLOW(SYS_read),
		ALLOW(SYS_write),
		ALLOW(SYS_brk),
		ALLOW(SYS_mmap),
		ALLOW(SYS_munmap),
		ALLOW(SYS_mremap),
		ALLOW(SYS_madvise),
		ALLOW(SYS_mprotect),
		ALLOW(SYS_fstat),
		ALLOW(SYS_getrandom),
		ALLOW(SYS_sched_yield),
		ALLOW(SYS_sigaltstack),
		ALLOW(SYS_rt_sigaction),
		ALLOW(SYS_clock_gettime),
		ALLOW(SYS_gettimeofday),
		ALLOW(SYS_clock_nanosleep),
		ALLOW(SYS_futex),
		ALLOW(SYS_rt_sigreturn),
		ALLOW(SYS_rt_sigprocmask),
		ALLOW(SYS_getpid),
		ALLOW(SYS_exit),
		ALLOW(SYS_exit_group),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
#undef ALLOW
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };

	/* What glibc would open or ask later: the time zone, now. */
	tzset();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		return; /* not available here (the other walls stand) */
#endif
}

/*
 * Several events in one message: each runs as its own call; those that end
 * well are answered together (ok_flush), one that fails by its own "done",
 * and it ends the batch (the parent hands the rest again, after the
 * journal's retry). Returns the status of the last call run.
 */
static enum luabox_status
events_batch(json_t *a)
{
	json_t *items = json_object_get(a, "items"), *it, *done;
	enum luabox_status st = LB_OK;
	size_t i;

	json_array_foreach (items, i, it) {
		char *err = NULL;

		struct timespec started;

		W.logs = W.logs_dropped = 0;
		clock_gettime(CLOCK_MONOTONIC, &started);
		st = luabox_run(W.box, event_entry, it, &err);
		if (st == LB_OK && W.logs_dropped == 0) {
			if (OK.calls++ == 0)
				OK.since = started;
			if (since_ns(&OK.since) > 1000000)
				ok_flush();
			continue;
		}
		done = json_pack("{s:s, s:{s:s, s:s?, s:I, s:i}}", "call", "done", "args", "status",
		    luabox_status_name(st), "error", err, "memory",
		    (json_int_t)luabox_memory(W.box), "logs_dropped", W.logs_dropped);
		free(err);
		send_or_exit(done);
		if (st != LB_OK)
			break;
	}
	ok_flush();
	return st;
}

int
luaworker_main(int fd)
{
	json_t *m;

	confine();
	W.fd = fd;
	W.clock.now_ms = worker_now;
	while ((m = next_job()) != NULL) {
		const char *call = json_string_value(json_object_get(m, "call"));
		json_t *a = json_object_get(m, "args"), *done;
		enum luabox_status st = LB_ERROR;
		char *err = NULL;

		W.now_ms = json_integer_value(json_object_get(a, "now_ms"));
		W.logs = W.logs_dropped = 0;
		if (call != NULL && strcmp(call, "resume") == 0) {
			W.skipping = 0;
			json_decref(m);
			continue;
		}
		if (call != NULL && strcmp(call, "events") == 0 && W.box != NULL) {
			/* After a failed event, those sent behind it go back to the daemon's queue. */
			if (!W.skipping && events_batch(a) != LB_OK)
				W.skipping = 1;
			json_decref(m);
			continue;
		}
		if (call == NULL)
			err = strdup("a message without a call");
		else if (strcmp(call, "load") == 0)
			st = load(a, &err);
		else if (W.box == NULL)
			err = strdup("no script loaded");
		else if (strcmp(call, "timer") == 0)
			st = luabox_run(W.box, timer_entry, a, &err);
		else if (strcmp(call, "http_answer") == 0)
			st = luabox_run(W.box, http_entry, a, &err);
		else
			err = strdup("unknown call");
		done = json_pack("{s:s, s:{s:s, s:s?, s:I, s:i}}", "call", "done", "args", "status",
		    luabox_status_name(st), "error", err, "memory",
		    (json_int_t)(W.box ? luabox_memory(W.box) : 0), "logs_dropped", W.logs_dropped);
		if (call != NULL && strcmp(call, "load") == 0 && st == LB_OK) {
			json_object_set(json_object_get(done, "args"), "subs", W.subs);
			json_object_set(json_object_get(done, "args"), "timers", W.timers);
		}
		free(err);
		json_decref(m);
		send_or_exit(done);
	}
	return 0;
}
