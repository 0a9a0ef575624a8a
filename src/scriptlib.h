/*
 * The pure part of the script API: json (encode, decode, null) and date
 * (calendar days on the Europe/Paris calendar), plus the conversions
 * between JSON values and Lua values that the host uses for events, views
 * and options. Everything here runs inside a sandbox call (luabox_run).
 */
#ifndef TREMPLIN_SCRIPTLIB_H
#define TREMPLIN_SCRIPTLIB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <lua.h>

/* Deepest nesting json.encode writes and json.decode reads. */
#define SCRIPTLIB_JSON_DEPTH 32
/*
 * Most values (each scalar, array and object) one conversion to JSON writes.
 * A table counts each time it appears: a few shared tables can stand for
 * billions of values, work and memory the C code would spend beyond the
 * script's limits.
 */
#define SCRIPTLIB_JSON_MAX_VALUES 200000
/*
 * What one JSON node made or read in C is charged: instructions, and bytes
 * that must fit under the memory cap besides what the state holds (a
 * jansson node and its share of a table, roughly, plus a string's bytes).
 */
#define SCRIPTLIB_JSON_NODE_COST 4
#define SCRIPTLIB_JSON_NODE_BYTES 64

struct scriptlib_clock {
	int64_t (*now_ms)(void *arg); /* ms since the epoch */
	void *arg;
};

/*
 * Set the globals json and date. clock gives date.today() and date.now();
 * it must outlive the state.
 */
void scriptlib_open(lua_State *, const struct scriptlib_clock *clock);

/* Every table made read-only (options). */
#define SCRIPTLIB_READONLY 0x1

/*
 * Push j as a Lua value. Objects become tables whose null members are left
 * out; arrays become sequences where null is json.null (to keep the
 * positions). May raise (memory): the caller must own j outside the state,
 * or guard it.
 */
void scriptlib_push_json(lua_State *, const json_t *j, unsigned flags);
/*
 * The value at idx as JSON: a sequence is an array, a table with string keys
 * an object, an empty table {}; json.null and nil are null. NULL with err
 * set for what JSON cannot hold (mixed keys, functions, NaN, invalid UTF-8,
 * nesting deeper than SCRIPTLIB_JSON_DEPTH, more than SCRIPTLIB_JSON_MAX_VALUES
 * values).
 */
json_t *scriptlib_to_json(lua_State *, int idx, char *err, size_t errlen);

/*
 * A guard: a userdata pushed on the stack that releases what it holds
 * (json_decref, free) when it is collected, so that a C function may raise
 * while it holds them. scriptlib_release frees them at once and disarms it.
 */
struct scriptlib_guard {
	json_t *json;
	void *mem;
};
struct scriptlib_guard *scriptlib_push_guard(lua_State *);
void scriptlib_release(struct scriptlib_guard *);

#endif
