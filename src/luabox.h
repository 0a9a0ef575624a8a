/*
 * The Lua sandbox: one lua_State with an allow-listed library, a memory cap,
 * and an instruction cap plus a wall-clock deadline per call. It knows
 * nothing of the daemon: the Lua host (luahost.c) adds the script API.
 *
 * What a script gets: the base functions but load, loadfile, dofile,
 * require, raw*, getmetatable, setmetatable, collectgarbage, print and warn;
 * string without dump (find, match, gmatch and gsub with a step budget);
 * table (sort and move bounded); math; utf8; os.time, os.clock, os.date;
 * coroutine (every new coroutine runs under the same hook). Text chunks
 * only. The string metatable is locked and its __index frozen.
 *
 * Limits: the allocator refuses to grow past the memory cap; a count hook
 * and a call hook charge instructions and check the deadline. A limit
 * exceeded ends the whole call: pcall, xpcall and coroutine.resume inside
 * the script cannot catch it.
 */
#ifndef TREMPLIN_LUABOX_H
#define TREMPLIN_LUABOX_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

struct luabox;

struct luabox_limits {
	size_t memory; /* bytes the state may hold */
	int64_t instructions; /* VM instructions (and pattern steps) per call */
	int64_t time_ms; /* wall clock per call */
};

enum luabox_status {
	LB_OK = 0,
	LB_ERROR, /* the script raised an error (or returned one) */
	LB_LIMIT_MEMORY,
	LB_LIMIT_INSTRUCTIONS,
	LB_LIMIT_TIME,
};

/* Most table.sort sorts and table.move moves in one call. */
#define LUABOX_MAX_SORT 100000
#define LUABOX_MAX_MOVE (1 << 20)
/* Longest format os.date takes. */
#define LUABOX_MAX_DATE_FORMAT 256
/* Largest chunk luabox_load takes. */
#define LUABOX_MAX_CHUNK (1 << 20)

/*
 * A new sandbox. ud is the caller's, returned by luabox_ud. NULL with err
 * set when the state cannot be made within the limits.
 */
struct luabox *luabox_new(const struct luabox_limits *, void *ud, char *err, size_t errlen);
void luabox_free(struct luabox *);
lua_State *luabox_state(struct luabox *);
/* The sandbox a state (or any of its coroutines) belongs to, and its ud. */
struct luabox *luabox_of(lua_State *);
void *luabox_ud(lua_State *);

/*
 * Run fn in protected mode, under the limits, with a traceback message
 * handler: fn finds arg with lua_touserdata(L, 1), pushes what it calls and
 * calls it with lua_call. Everything that touches the state (building
 * arguments, reading results) belongs in fn: outside a protected call a
 * memory error would abort the process. On failure *err is a malloc'd
 * message with its traceback (the caller frees it). Not re-entrant.
 */
enum luabox_status luabox_run(struct luabox *, lua_CFunction fn, void *arg, char **err);
const char *luabox_status_name(enum luabox_status);

/*
 * Inside fn: compile a text chunk (a binary chunk is refused) with the
 * sandbox's globals as its environment. As luaL_loadbufferx: LUA_OK and
 * the function pushed, or an error status and its message pushed.
 */
int luabox_loadchunk(lua_State *, const char *chunkname, const char *text, size_t len);

/*
 * use(name)'s libraries, run once per state, the same in the daemon and in a
 * worker (each finds a library's text its own way). luabox_use_cached
 * pushes the value of a library that has run and returns 1, raises when the
 * library is used again while it loads (a cycle), else returns 0 with
 * nothing pushed. luabox_use_run runs text as "@lib/<name>.lua", marked as
 * loading until it ends (error or not), keeps its value (true for nil) for
 * the next use(), pushes it and returns 1.
 */
int luabox_use_cached(lua_State *, const char *name);
/* Whether name (len bytes) is a library's name: [a-z][a-z0-9_]*, at most 32 bytes. */
int luabox_lib_name(const char *name, size_t len);
/* use()'s argument at idx, checked by luabox_lib_name (raises otherwise). */
const char *luabox_check_lib_name(lua_State *, int idx);
int luabox_use_run(lua_State *, const char *name, const char *text, size_t len);

/* Inside a call: charge work done in C to the instruction budget (may raise). */
void luabox_charge(lua_State *, int64_t units);
/*
 * Inside a call, for C code that cannot raise (it holds what a raise would
 * leak): charge units, and check that bytes more than the state holds fit
 * under the memory cap. -1 when a limit is passed: the call is then killed
 * (the caller frees what it holds and raises any error; the kill is what
 * the call ends with).
 */
int luabox_spend(lua_State *, int64_t units, size_t bytes);
/*
 * tostring without addresses: a table, a function, a coroutine show their
 * type only, json.null "null". Pushes the text and returns it.
 */
const char *luabox_tolstring(lua_State *, int idx, size_t *len);
/*
 * print's text: every value on the stack as luabox_tolstring writes it,
 * separated by tabs, pushed on the stack; the string and *len.
 */
const char *luabox_print_text(lua_State *, size_t *len);
/* Whether a call is running (the host refuses some functions outside one). */
int luabox_in_call(struct luabox *);

/* Bytes the state holds now, and the most it held. */
size_t luabox_memory(struct luabox *);
size_t luabox_memory_peak(struct luabox *);
const struct luabox_limits *luabox_limits(struct luabox *);

/*
 * Push a read-only view of the table at idx: indexing, # and pairs work;
 * assigning raises "read-only table". (Scripts have no rawset.)
 */
void luabox_push_readonly(lua_State *, int idx);
/* When the value at idx is such a view: push the table it shows and return 1; else 0. */
int luabox_readonly_backing(lua_State *, int idx);

#endif
