/*
 * The Lua sandbox. A state is built in an empty environment from an allow
 * list (never by removing entries from a full one), and every entry into it
 * goes through luabox_run: lua_pcall with a traceback handler, under three
 * limits.
 *
 * - Memory: the allocator refuses to grow past the cap. Lua then collects
 *   and tries once more; a second refusal in a row is an out-of-memory.
 * - Instructions: a count hook every HOOK_STEP VM instructions; the
 *   pattern functions and the bounded table functions charge their own work.
 * - Wall clock: checked by the count hook and by a call hook (so that a loop
 *   of calls to a slow C function is stopped between two calls), against a
 *   CLOCK_MONOTONIC deadline. A single C function runs to its end: those of
 *   the sandbox are linear in memory the cap bounds, or charge their steps.
 *
 * A limit exceeded "kills" the call: the hook raises, and keeps raising at
 * every chance, and the wrapped pcall, xpcall and coroutine.resume raise the
 * kill again instead of returning it, so a script cannot catch it and carry
 * on. Coroutines get the hook when they are made (lua_sethook is per
 * thread). No script code ever runs as a message handler: Lua runs those
 * with hooks off after an error raised by a hook.
 */
#include "luabox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "luapattern.h"

#define HOOK_STEP 1000
#define HOOK_MASK (LUA_MASKCOUNT | LUA_MASKCALL)
/* What the traceback handler may use past the cap to describe a failure. */
#define HANDLER_HEADROOM (256u * 1024)
#define MAX_ERROR 4096

struct luabox {
	lua_State *L;
	void *ud;
	struct luabox_limits lim;
	size_t mem, peak;
	int64_t used; /* instructions charged in this call */
	int64_t deadline; /* monotonic ns */
	int in_call;
	int in_handler;
	enum luabox_status killed; /* LB_OK while the call may go on */
	int oom_pending; /* the last allocation was refused */
	int oom; /* two refusals in a row: really out of memory */
	char kill_msg[128];
};

/* Registry keys: their addresses. */
static const char kill_key;

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct luabox *
luabox_of(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

void *
luabox_ud(lua_State *L)
{
	return luabox_of(L)->ud;
}

lua_State *
luabox_state(struct luabox *b)
{
	return b->L;
}

int
luabox_in_call(struct luabox *b)
{
	return b->in_call;
}

size_t
luabox_memory(struct luabox *b)
{
	return b->mem;
}

size_t
luabox_memory_peak(struct luabox *b)
{
	return b->peak;
}

const struct luabox_limits *
luabox_limits(struct luabox *b)
{
	return &b->lim;
}

const char *
luabox_status_name(enum luabox_status st)
{
	switch (st) {
	case LB_OK:
		return "ok";
	case LB_ERROR:
		return "error";
	case LB_LIMIT_MEMORY:
		return "memory limit";
	case LB_LIMIT_INSTRUCTIONS:
		return "instruction limit";
	case LB_LIMIT_TIME:
		return "time limit";
	}
	return "?";
}

static void
kill(struct luabox *b, enum luabox_status why)
{
	if (b->killed != LB_OK)
		return;
	b->killed = why;
	switch (why) {
	case LB_LIMIT_MEMORY:
		snprintf(b->kill_msg, sizeof(b->kill_msg), "memory limit exceeded (%zu bytes)",
		    b->lim.memory);
		break;
	case LB_LIMIT_INSTRUCTIONS:
		snprintf(b->kill_msg, sizeof(b->kill_msg),
		    "instruction limit exceeded (%lld per call)", (long long)b->lim.instructions);
		break;
	case LB_LIMIT_TIME:
		snprintf(b->kill_msg, sizeof(b->kill_msg), "time limit exceeded (%lld ms per call)",
		    (long long)b->lim.time_ms);
		break;
	default:
		break;
	}
}

/* Raise the kill: a string made when the state was, so raising allocates nothing. */
static int
raise_kill(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &kill_key);
	return lua_error(L);
}

static void *
box_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct luabox *b = ud;
	void *p;

	if (ptr == NULL)
		osize = 0; /* then osize says what kind of object it is */
	if (nsize == 0) {
		free(ptr);
		b->mem -= osize;
		return NULL;
	}
	if (nsize > osize) {
		size_t grow = nsize - osize;
		/*
		 * Describing a failure, and unwinding a killed call (no script code
		 * runs then: the hooks raise at its first call), may go a little
		 * past the cap: refusing there would only make Lua collect in vain.
		 */
		size_t cap =
		    b->lim.memory + (b->in_handler || b->killed != LB_OK ? HANDLER_HEADROOM : 0);

		if (grow > cap || b->mem > cap - grow)
			goto refuse;
	}
	if ((p = realloc(ptr, nsize)) == NULL) {
		/* Lua assumes a block never fails to shrink: keep the old one. */
		if (nsize <= osize)
			return ptr;
		goto refuse;
	}
	b->mem = b->mem - osize + nsize;
	if (b->mem > b->peak)
		b->peak = b->mem;
	b->oom_pending = 0;
	return p;
refuse:
	if (b->oom_pending)
		b->oom = 1;
	b->oom_pending = 1;
	return NULL;
}

/* Raise when a limit is passed (or was: a killed call raises at every chance). */
static void
check(lua_State *L, struct luabox *b)
{
	if (b->killed == LB_OK) {
		if (b->used > b->lim.instructions)
			kill(b, LB_LIMIT_INSTRUCTIONS);
		else if (mono_ns() > b->deadline)
			kill(b, LB_LIMIT_TIME);
		else
			return;
	}
	raise_kill(L);
}

static void
box_hook(lua_State *L, lua_Debug *ar)
{
	struct luabox *b = luabox_of(L);

	if (!b->in_call || b->in_handler)
		return;
	if (ar->event == LUA_HOOKCOUNT)
		b->used += HOOK_STEP;
	check(L, b);
}

void
luabox_charge(lua_State *L, int64_t units)
{
	struct luabox *b = luabox_of(L);

	if (!b->in_call || b->in_handler)
		return;
	b->used += units > 0 ? units : 0;
	check(L, b);
}

int
luabox_spend(lua_State *L, int64_t units, size_t bytes)
{
	struct luabox *b = luabox_of(L);

	if (!b->in_call || b->in_handler)
		return 0;
	b->used += units > 0 ? units : 0;
	if (b->killed == LB_OK) {
		if (b->used > b->lim.instructions)
			kill(b, LB_LIMIT_INSTRUCTIONS);
		else if (bytes > b->lim.memory || b->mem > b->lim.memory - bytes)
			kill(b, LB_LIMIT_MEMORY);
		else if (mono_ns() > b->deadline)
			kill(b, LB_LIMIT_TIME);
	}
	return b->killed == LB_OK ? 0 : -1;
}

static void
pattern_charge(lua_State *L, int64_t steps)
{
	luabox_charge(L, steps);
}

static const struct luapattern_budget pattern_budget = { pattern_charge };

/* After a protected call inside the script: a memory error or a kill goes on up. */
static void
rethrow_kills(lua_State *L, int status)
{
	struct luabox *b = luabox_of(L);

	if (status == LUA_ERRMEM || (status != LUA_OK && status != LUA_YIELD && b->oom))
		kill(b, LB_LIMIT_MEMORY);
	if (b->killed != LB_OK)
		raise_kill(L);
}

static int
finish_pcall(lua_State *L, int status, lua_KContext extra)
{
	rethrow_kills(L, status);
	if (status != LUA_OK && status != LUA_YIELD) {
		lua_pushboolean(L, 0);
		lua_pushvalue(L, -2);
		return 2;
	}
	return lua_gettop(L) - (int)extra;
}

static int
box_pcall(lua_State *L)
{
	int status;

	luaL_checkany(L, 1);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
	return finish_pcall(L, status, 0);
}

/*
 * xpcall without handing the handler to Lua: an error raised by a hook
 * leaves hooks off until the protected call returns, so a handler Lua
 * called at the error would run unwatched. It runs here instead, once the
 * call has unwound (hooks back on). With no debug library a script cannot
 * tell the difference; if the handler fails, its error is the result.
 */
static int
finish_xpcall(lua_State *L, int status, lua_KContext extra)
{
	rethrow_kills(L, status);
	if (status == LUA_OK || status == LUA_YIELD)
		return lua_gettop(L) - (int)extra;
	lua_pushvalue(L, 2);
	lua_insert(L, -2);
	status = lua_pcall(L, 1, 1, 0);
	rethrow_kills(L, status);
	lua_pushboolean(L, 0);
	lua_insert(L, -2);
	return 2;
}

static int
box_xpcall(lua_State *L)
{
	int n = lua_gettop(L), status;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	/* f, handler, args -> f, handler, true, f, args */
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2);
	status = lua_pcallk(L, n - 2, LUA_MULTRET, 0, 2, finish_xpcall);
	return finish_xpcall(L, status, 2);
}

/* ---- coroutines: the hook on every one, kills not caught by resume ---- */

static int
co_create(lua_State *L)
{
	lua_State *co;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	co = lua_newthread(L);
	lua_sethook(co, box_hook, HOOK_MASK, HOOK_STEP);
	lua_pushvalue(L, 1);
	lua_xmove(L, co, 1);
	return 1;
}

/* Resume co with narg arguments from L: the results moved to L, or -1 and the error. */
static int
co_resume_from(lua_State *L, lua_State *co, int narg)
{
	lua_Debug ar;
	int status, nres;

	if (co == L) {
		lua_pushliteral(L, "cannot resume non-suspended coroutine");
		return -1;
	}
	if (lua_status(co) == LUA_OK) {
		if (lua_getstack(co, 0, &ar)) {
			lua_pushliteral(L, "cannot resume non-suspended coroutine");
			return -1;
		}
		if (lua_gettop(co) == 0) {
			lua_pushliteral(L, "cannot resume dead coroutine");
			return -1;
		}
	} else if (lua_status(co) != LUA_YIELD) {
		lua_pushliteral(L, "cannot resume dead coroutine");
		return -1;
	}
	if (!lua_checkstack(co, narg)) {
		lua_pushliteral(L, "too many arguments to resume");
		return -1;
	}
	lua_xmove(L, co, narg);
	status = lua_resume(co, L, narg, &nres);
	rethrow_kills(L, status);
	if (status == LUA_OK || status == LUA_YIELD) {
		if (!lua_checkstack(L, nres + 1)) {
			lua_pop(co, nres);
			lua_pushliteral(L, "too many results to resume");
			return -1;
		}
		lua_xmove(co, L, nres);
		return nres;
	}
	lua_xmove(co, L, 1);
	return -1;
}

static int
co_resume(lua_State *L)
{
	lua_State *co = lua_tothread(L, 1);
	int r;

	luaL_argexpected(L, co != NULL, 1, "coroutine");
	r = co_resume_from(L, co, lua_gettop(L) - 1);
	if (r < 0) {
		lua_pushboolean(L, 0);
		lua_insert(L, -2);
		return 2;
	}
	lua_pushboolean(L, 1);
	lua_insert(L, -(r + 1));
	return r + 1;
}

static int
co_wrapped(lua_State *L)
{
	lua_State *co = lua_tothread(L, lua_upvalueindex(1));
	int r = co_resume_from(L, co, lua_gettop(L));

	if (r < 0) {
		if (lua_type(L, -1) == LUA_TSTRING) {
			luaL_where(L, 1);
			lua_insert(L, -2);
			lua_concat(L, 2);
		}
		return lua_error(L);
	}
	return r;
}

static int
co_wrap(lua_State *L)
{
	co_create(L);
	lua_pushcclosure(L, co_wrapped, 1);
	return 1;
}

/* ---- bounded table functions ---- */

static int
call_upvalue(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

static int
box_sort(lua_State *L)
{
	lua_Integer n;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = luaL_len(L, 1);
	if (n > LUABOX_MAX_SORT)
		return luaL_error(L, "table.sort: more than %d elements", LUABOX_MAX_SORT);
	luabox_charge(L, n);
	return call_upvalue(L);
}

static int
box_move(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);

	if (e >= f) {
		if (f <= 0 && e >= LUA_MAXINTEGER + f)
			return luaL_error(L, "table.move: too many elements to move");
		if (e - f >= LUABOX_MAX_MOVE)
			return luaL_error(L, "table.move: more than %d elements", LUABOX_MAX_MOVE);
		luabox_charge(L, e - f + 1);
	}
	return call_upvalue(L);
}

/* ---- no addresses: tostring, print and string.format ---- */

const char *
luabox_print_text(lua_State *L, size_t *len)
{
	int n = lua_gettop(L);
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		luabox_tolstring(L, i, NULL);
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	return lua_tolstring(L, -1, len);
}

const char *
luabox_tolstring(lua_State *L, int idx, size_t *len)
{
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
	case LUA_TBOOLEAN:
	case LUA_TNUMBER:
	case LUA_TSTRING:
		return luaL_tolstring(L, idx, len);
	case LUA_TLIGHTUSERDATA: /* the only one a script sees is json.null */
		lua_pushliteral(L, "null");
		break;
	default:
		/* "table: 0x55d0..." would show where the daemon's heap lies. */
		lua_pushstring(L, luaL_typename(L, idx));
		break;
	}
	return lua_tolstring(L, -1, len);
}

static int
box_tostring(lua_State *L)
{
	luaL_checkany(L, 1);
	luabox_tolstring(L, 1, NULL);
	return 1;
}

/* string.format without %p, and with tables, functions... as tostring shows them. */
static int
box_format(lua_State *L)
{
	size_t len;
	const char *fmt = luaL_checklstring(L, 1, &len);
	int n = lua_gettop(L);

	for (size_t i = 0; i < len; i++) {
		if (fmt[i] != '%')
			continue;
		if (++i < len && fmt[i] == '%')
			continue;
		while (i < len && strchr("-+ #0123456789.", fmt[i]) != NULL)
			i++;
		if (i < len && fmt[i] == 'p')
			return luaL_error(L, "string.format: %%p is not available");
	}
	for (int k = 2; k <= n; k++) {
		int t = lua_type(L, k);
		if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA ||
		    t == LUA_TTHREAD || t == LUA_TLIGHTUSERDATA) {
			luabox_tolstring(L, k, NULL);
			lua_replace(L, k);
		}
	}
	return call_upvalue(L);
}

/* os.date: strftime's work grows with the format; a long one held the loop. */
static int
box_date(lua_State *L)
{
	size_t len = 0;

	if (lua_type(L, 1) == LUA_TSTRING)
		lua_tolstring(L, 1, &len);
	if (len > LUABOX_MAX_DATE_FORMAT)
		return luaL_error(
		    L, "os.date: the format is longer than %d bytes", LUABOX_MAX_DATE_FORMAT);
	return call_upvalue(L);
}

/* ---- read-only tables ---- */

static int
ro_newindex(lua_State *L)
{
	return luaL_error(L, "attempt to modify a read-only table");
}

/* The table a proxy shows: its metatable's __index. */
static void
ro_backing(lua_State *L)
{
	if (!lua_getmetatable(L, 1))
		luaL_error(L, "not a read-only table");
	lua_getfield(L, -1, "__index");
}

static int
ro_len(lua_State *L)
{
	ro_backing(L);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
	return 1;
}

/*
 * pairs() of a read-only view: the backing table stays an upvalue of the
 * iterator, never a value the script gets (pairs used to return it as the
 * iterator's state, and a script could write through it).
 */
static int
ro_next(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_next(L, lua_upvalueindex(1)))
		return 2;
	lua_pushnil(L);
	return 1;
}

static int
ro_pairs(lua_State *L)
{
	ro_backing(L);
	lua_pushcclosure(L, ro_next, 1);
	lua_pushvalue(L, 1); /* the state: the view itself */
	lua_pushnil(L);
	return 3;
}

int
luabox_readonly_backing(lua_State *L, int idx)
{
	int top = lua_gettop(L);

	idx = lua_absindex(L, idx);
	if (!lua_getmetatable(L, idx))
		return 0;
	if (lua_getfield(L, -1, "__newindex") != LUA_TFUNCTION ||
	    lua_tocfunction(L, -1) != ro_newindex || lua_getfield(L, -2, "__index") != LUA_TTABLE) {
		lua_settop(L, top);
		return 0;
	}
	lua_replace(L, -3);
	lua_pop(L, 1);
	return 1;
}

void
luabox_push_readonly(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_newtable(L);
	lua_createtable(L, 0, 5);
	lua_pushvalue(L, idx);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, ro_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushcfunction(L, ro_len);
	lua_setfield(L, -2, "__len");
	lua_pushcfunction(L, ro_pairs);
	lua_setfield(L, -2, "__pairs");
	lua_pushliteral(L, "read-only");
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
}

/* ---- building the environment ---- */

/* Copy names[] from the table at src to the table at dst. */
static void
copy_fields(lua_State *L, int src, int dst, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		lua_getfield(L, src, names[i]);
		lua_setfield(L, dst, names[i]);
	}
}

/* Open a library without putting it in any global table; leaves it on the stack. */
static int
open_lib(lua_State *L, const char *name, lua_CFunction open)
{
	luaL_requiref(L, name, open, 0);
	return lua_gettop(L);
}

#define NAMES(a) a, sizeof(a) / sizeof(a[0])

/* env[name] = a fresh table holding only the listed functions of that library. */
static void
copy_lib(
    lua_State *L, int env, const char *name, lua_CFunction open, const char *const *names, size_t n)
{
	int lib = open_lib(L, name, open);

	lua_newtable(L);
	copy_fields(L, lib, lua_gettop(L), names, n);
	lua_setfield(L, env, name);
	lua_settop(L, env);
}

static int
setup(lua_State *L)
{
	static const char *const base[] = { "assert", "error", "ipairs", "next", "pairs", "select",
		"tonumber", "tostring", "type", "_VERSION" };
	static const char *const string[] = { "byte", "char", "format", "len", "lower", "rep",
		"reverse", "sub", "upper", "pack", "packsize", "unpack" };
	static const char *const table[] = { "concat", "insert", "pack", "remove", "unpack" };
	static const char *const math[] = { "abs", "ceil", "cos", "deg", "exp", "floor", "fmod",
		"huge", "log", "max", "maxinteger", "min", "mininteger", "modf", "pi", "rad",
		"random", "randomseed", "sin", "sqrt", "tan", "tointeger", "type", "ult", "acos",
		"asin", "atan" };
	static const char *const utf8[] = { "char", "charpattern", "codes", "codepoint", "len",
		"offset" };
	static const char *const os[] = { "clock", "date", "time" };
	static const char *const coroutine[] = { "yield", "status", "running", "isyieldable",
		"close" };
	int env, lib, t;

	lua_newtable(L);
	env = lua_gettop(L);

	lib = open_lib(L, "_G", luaopen_base);
	copy_fields(L, lib, env, NAMES(base));
	lua_pushcfunction(L, box_pcall);
	lua_setfield(L, env, "pcall");
	lua_pushcfunction(L, box_xpcall);
	lua_setfield(L, env, "xpcall");
	lua_pushcfunction(L, box_tostring);
	lua_setfield(L, env, "tostring");
	lua_pushvalue(L, env);
	lua_setfield(L, env, "_G");
	lua_settop(L, env);

	/* string: the script's own table, and a frozen one behind the string metatable. */
	lib = open_lib(L, "string", luaopen_string);
	for (int copy = 0; copy < 2; copy++) {
		lua_newtable(L);
		t = lua_gettop(L);
		copy_fields(L, lib, t, NAMES(string));
		lua_getfield(L, lib, "format");
		lua_pushcclosure(L, box_format, 1);
		lua_setfield(L, t, "format");
		luapattern_register(L, t, &pattern_budget);
	}
	lua_setfield(L, env, "string"); /* the second copy */
	luabox_push_readonly(L, -1); /* the first, frozen */
	lua_pushliteral(L, "");
	if (!lua_getmetatable(L, -1))
		return luaL_error(L, "no string metatable");
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_settop(L, env);

	lib = open_lib(L, "table", luaopen_table);
	lua_newtable(L);
	t = lua_gettop(L);
	copy_fields(L, lib, t, NAMES(table));
	lua_getfield(L, lib, "sort");
	lua_pushcclosure(L, box_sort, 1);
	lua_setfield(L, t, "sort");
	lua_getfield(L, lib, "move");
	lua_pushcclosure(L, box_move, 1);
	lua_setfield(L, t, "move");
	lua_setfield(L, env, "table");
	lua_settop(L, env);

	copy_lib(L, env, "math", luaopen_math, NAMES(math));

	copy_lib(L, env, "utf8", luaopen_utf8, NAMES(utf8));

	copy_lib(L, env, "os", luaopen_os, NAMES(os));
	lua_getfield(L, env, "os");
	lua_getfield(L, -1, "date");
	lua_pushcclosure(L, box_date, 1);
	lua_setfield(L, -2, "date");
	lua_settop(L, env);

	lib = open_lib(L, "coroutine", luaopen_coroutine);
	lua_newtable(L);
	t = lua_gettop(L);
	copy_fields(L, lib, t, NAMES(coroutine));
	lua_pushcfunction(L, co_create);
	lua_setfield(L, t, "create");
	lua_pushcfunction(L, co_wrap);
	lua_setfield(L, t, "wrap");
	lua_pushcfunction(L, co_resume);
	lua_setfield(L, t, "resume");
	lua_setfield(L, env, "coroutine");
	lua_settop(L, env);

	/* The environment becomes the globals; the full libraries are dropped. */
	lua_pushvalue(L, env);
	lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);

	lua_pushliteral(L, "limit exceeded");
	lua_rawsetp(L, LUA_REGISTRYINDEX, &kill_key);
	return 0;
}

struct luabox *
luabox_new(const struct luabox_limits *lim, void *ud, char *err, size_t errlen)
{
	struct luabox *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->ud = ud;
	b->lim = *lim;
	if ((b->L = lua_newstate(box_alloc, b)) == NULL) {
		snprintf(err, errlen, "cannot create a Lua state within %zu bytes", lim->memory);
		free(b);
		return NULL;
	}
	lua_pushcfunction(b->L, setup);
	if (lua_pcall(b->L, 0, 0, 0) != LUA_OK) {
		snprintf(err, errlen, "cannot set up the sandbox: %s",
		    lua_type(b->L, -1) == LUA_TSTRING ? lua_tostring(b->L, -1) : "out of memory");
		luabox_free(b);
		return NULL;
	}
	lua_sethook(b->L, box_hook, HOOK_MASK, HOOK_STEP);
	return b;
}

void
luabox_free(struct luabox *b)
{
	if (b == NULL)
		return;
	b->in_call = 0;
	lua_close(b->L);
	free(b);
}

int
luabox_loadchunk(lua_State *L, const char *chunkname, const char *text, size_t len)
{
	if (len > LUABOX_MAX_CHUNK) {
		lua_pushfstring(L, "%s: larger than %d bytes", chunkname, LUABOX_MAX_CHUNK);
		return LUA_ERRSYNTAX;
	}
	if (len > 0 && text[0] == LUA_SIGNATURE[0]) {
		lua_pushfstring(L, "%s: binary chunks are refused", chunkname);
		return LUA_ERRSYNTAX;
	}
	return luaL_loadbufferx(L, text, len, chunkname, "t");
}

static const char libs_key;
static const char loading_key; /* libs[name] while its chunk runs */

int
luabox_lib_name(const char *name, size_t len)
{
	return len > 0 && len <= 32 && name[0] >= 'a' && name[0] <= 'z' &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == len;
}

const char *
luabox_check_lib_name(lua_State *L, int idx)
{
	size_t len;
	const char *name = luaL_checklstring(L, idx, &len);

	if (!luabox_lib_name(name, len))
		luaL_error(L, "use: '%s' is not a library name ([a-z][a-z0-9_]*)", name);
	return name;
}

/* Push the state's table of libraries, made on first use. */
static int
libs_table(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &libs_key) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, LUA_REGISTRYINDEX, &libs_key);
	}
	return lua_gettop(L);
}

int
luabox_use_cached(lua_State *L, const char *name)
{
	int libs = libs_table(L);

	if (lua_getfield(L, libs, name) == LUA_TLIGHTUSERDATA &&
	    lua_touserdata(L, -1) == &loading_key)
		return luaL_error(
		    L, "use: '%s' is used again while it loads (a cycle of use())", name);
	if (!lua_isnil(L, -1)) {
		lua_remove(L, libs);
		return 1;
	}
	lua_pop(L, 2);
	return 0;
}

/* The to-be-closed value of a use(): the library no longer loads, whichever way it ended. */
static int
use_close(lua_State *L)
{
	lua_rawgeti(L, 1, 1); /* libs */
	lua_rawgeti(L, 1, 2); /* name */
	lua_pushvalue(L, -1);
	if (lua_rawget(L, -3) == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == &loading_key) {
		lua_pop(L, 1);
		lua_pushnil(L);
		lua_rawset(L, -3);
	}
	return 0;
}

int
luabox_use_run(lua_State *L, const char *name, const char *text, size_t len)
{
	char chunk[64];
	int libs = libs_table(L);

	/* Marked as loading until the calling function returns: a cycle is refused. */
	lua_createtable(L, 2, 0);
	lua_pushvalue(L, libs);
	lua_rawseti(L, -2, 1);
	lua_pushstring(L, name);
	lua_rawseti(L, -2, 2);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, use_close);
	lua_setfield(L, -2, "__close");
	lua_setmetatable(L, -2);
	lua_toclose(L, -1);
	lua_pushlightuserdata(L, (void *)&loading_key);
	lua_setfield(L, libs, name);
	snprintf(chunk, sizeof(chunk), "@lib/%s.lua", name);
	if (luabox_loadchunk(L, chunk, text, len) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, libs, name);
	return 1;
}

/* The message handler of luabox_run: the message and where it came from. */
static int
traceback(lua_State *L)
{
	struct luabox *b = luabox_of(L);
	const char *msg;

	b->in_handler = 1;
	if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER)
		msg = lua_tostring(L, 1);
	else
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	b->in_handler = 0;
	return 1;
}

static char *
error_text(struct luabox *b, enum luabox_status st, const char *msg)
{
	char *out = malloc(MAX_ERROR);
	const char *tb;

	if (out == NULL)
		return NULL;
	if (msg == NULL)
		msg = "";
	if (st == LB_ERROR)
		snprintf(out, MAX_ERROR, "%s", *msg ? msg : "error");
	else if ((tb = strstr(msg, "stack traceback:")) != NULL)
		snprintf(out, MAX_ERROR, "%s\n%s", b->kill_msg, tb);
	else
		snprintf(out, MAX_ERROR, "%s", b->kill_msg);
	return out;
}

enum luabox_status
luabox_run(struct luabox *b, lua_CFunction fn, void *arg, char **err)
{
	lua_State *L = b->L;
	int top = lua_gettop(L), status;
	enum luabox_status st;

	*err = NULL;
	if (b->in_call) {
		*err = strdup("the sandbox is already running a call");
		return LB_ERROR;
	}
	/* Light C functions and a light userdata: pushing them allocates nothing. */
	lua_pushcfunction(L, traceback);
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, arg);
	b->used = 0;
	b->killed = LB_OK;
	b->oom = b->oom_pending = 0;
	b->deadline = mono_ns() + b->lim.time_ms * 1000000;
	b->in_call = 1;
	status = lua_pcall(L, 1, 0, top + 1);
	b->in_call = 0;
	b->in_handler = 0;
	if (status == LUA_OK)
		st = LB_OK;
	else if (b->killed != LB_OK)
		st = b->killed;
	else if (status == LUA_ERRMEM || b->oom) {
		kill(b, LB_LIMIT_MEMORY);
		st = LB_LIMIT_MEMORY;
	} else
		st = LB_ERROR;
	if (st != LB_OK) {
		const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		*err = error_text(b, st, msg);
	}
	lua_settop(L, top);
	b->killed = LB_OK;
	b->oom = b->oom_pending = 0;
	return st;
}
