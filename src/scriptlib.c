/*
 * json and date for scripts. The conversions check the Lua stack at every
 * level and never recurse deeper than SCRIPTLIB_JSON_DEPTH, so hostile input
 * costs an error, not the daemon's C stack.
 */
#include "scriptlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "calendar.h"
#include "json.h"
#include "luabox.h"
#include "util.h"

static const char null_key; /* json.null is a light userdata: this address */
static const char guard_meta[] = "tremplin.guard";

/* ---- guards ---- */

void
scriptlib_release(struct scriptlib_guard *g)
{
	json_decref(g->json);
	free(g->mem);
	g->json = NULL;
	g->mem = NULL;
}

static int
guard_gc(lua_State *L)
{
	scriptlib_release(lua_touserdata(L, 1));
	return 0;
}

struct scriptlib_guard *
scriptlib_push_guard(lua_State *L)
{
	struct scriptlib_guard *g = lua_newuserdatauv(L, sizeof(*g), 0);

	g->json = NULL;
	g->mem = NULL;
	if (luaL_newmetatable(L, guard_meta)) {
		lua_pushcfunction(L, guard_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushliteral(L, "locked");
		lua_setfield(L, -2, "__metatable");
	}
	lua_setmetatable(L, -2);
	return g;
}

/* ---- JSON -> Lua ---- */

static void
push_json(lua_State *L, const json_t *j, unsigned flags, int depth)
{
	size_t i;
	const char *k;
	json_t *v;

	if (depth > SCRIPTLIB_JSON_DEPTH)
		luaL_error(L, "JSON nested deeper than %d levels", SCRIPTLIB_JSON_DEPTH);
	luaL_checkstack(L, 4, "JSON nested too deeply");
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		lua_createtable(L, 0, (int)json_object_size(j));
		json_object_foreach ((json_t *)j, k, v) {
			if (json_is_null(v))
				continue;
			push_json(L, v, flags, depth + 1);
			lua_setfield(L, -2, k);
		}
		break;
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(j), 0);
		json_array_foreach (j, i, v) {
			push_json(L, v, flags, depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(j), json_string_length(j));
		return;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(j));
		return;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(j));
		return;
	case JSON_TRUE:
	case JSON_FALSE:
		lua_pushboolean(L, json_is_true(j));
		return;
	case JSON_NULL:
		lua_pushlightuserdata(L, (void *)&null_key);
		return;
	}
	if (flags & SCRIPTLIB_READONLY) {
		luabox_push_readonly(L, -1);
		lua_remove(L, -2);
	}
}

void
scriptlib_push_json(lua_State *L, const json_t *j, unsigned flags)
{
	push_json(L, j, flags, 0);
}

/* ---- Lua -> JSON ---- */

struct enc {
	lua_State *L;
	char *err;
	size_t errlen;
	size_t values;
	size_t bytes; /* what the tree holds, roughly: it lies outside the Lua state */
};

static json_t *enc_value(struct enc *, int idx, int depth);

/* The table at idx (absolute): an array when its keys are exactly 1..n. */
static json_t *
enc_table(struct enc *e, int idx, int depth)
{
	lua_State *L = e->L;
	lua_Integer count = 0, max = 0;
	int strings = 0, others = 0;
	json_t *out;

	if (luabox_readonly_backing(L, idx)) {
		out = enc_table(e, lua_gettop(L), depth);
		lua_pop(L, 1);
		return out;
	}
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (lua_type(L, -2) == LUA_TSTRING)
			strings++;
		else if (lua_isinteger(L, -2) && lua_tointeger(L, -2) > 0) {
			lua_Integer k = lua_tointeger(L, -2);
			if (k > max)
				max = k;
		} else
			others++;
		count++;
		lua_pop(L, 1);
	}
	if (others > 0 || (strings > 0 && strings != count)) {
		snprintf(e->err, e->errlen,
		    "a table mixes keys JSON cannot hold (use names only, or 1..n)");
		return NULL;
	}
	if (strings == 0 && count > 0) {
		if (max != count) {
			snprintf(e->err, e->errlen, "an array has holes (use json.null for null)");
			return NULL;
		}
		out = json_array();
		for (lua_Integer i = 1; i <= count; i++) {
			lua_rawgeti(L, idx, i);
			json_t *v = enc_value(e, lua_gettop(L), depth + 1);
			lua_pop(L, 1);
			if (v == NULL || json_array_append_new(out, v) == -1) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	out = json_object();
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		size_t klen;
		const char *k = lua_tolstring(L, -2, &klen);
		json_t *v = enc_value(e, lua_gettop(L), depth + 1);
		if (v != NULL && strlen(k) != klen) {
			/* json_object_set_new would have taken v; it is not called. */
			json_decref(v);
			v = NULL;
			snprintf(e->err, e->errlen, "a key holds a NUL");
		}
		if (v == NULL || json_object_set_new(out, k, v) == -1) {
			if (e->err[0] == '\0')
				snprintf(
				    e->err, e->errlen, "a key is not valid UTF-8 or holds a NUL");
			lua_pop(L, 2);
			json_decref(out);
			return NULL;
		}
		lua_pop(L, 1);
	}
	return out;
}

static json_t *
enc_value(struct enc *e, int idx, int depth)
{
	lua_State *L = e->L;

	if (depth > SCRIPTLIB_JSON_DEPTH) {
		snprintf(e->err, e->errlen, "nested deeper than %d levels (or a cycle)",
		    SCRIPTLIB_JSON_DEPTH);
		return NULL;
	}
	if (!lua_checkstack(L, 4)) {
		snprintf(e->err, e->errlen, "nested too deeply");
		return NULL;
	}
	if (++e->values > SCRIPTLIB_JSON_MAX_VALUES) {
		snprintf(e->err, e->errlen,
		    "more than %d values (a table counts each time it appears)",
		    SCRIPTLIB_JSON_MAX_VALUES);
		return NULL;
	}
	/*
	 * Each node costs work and memory outside the state: charged as it is
	 * made (a batch at a time), so a tree of shared tables meets the
	 * script's own limits long before the node cap.
	 */
	e->bytes += SCRIPTLIB_JSON_NODE_BYTES;
	if (lua_type(L, idx) == LUA_TSTRING)
		e->bytes += lua_rawlen(L, idx);
	if (e->values % 256 == 0 &&
	    luabox_spend(L, 256 * SCRIPTLIB_JSON_NODE_COST, e->bytes) == -1) {
		snprintf(e->err, e->errlen, "a limit was passed");
		return NULL;
	}
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		if (!isfinite(lua_tonumber(L, idx))) {
			snprintf(e->err, e->errlen, "NaN and infinities have no JSON form");
			return NULL;
		}
		return json_real(lua_tonumber(L, idx));
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		json_t *j = json_stringn(s, len);
		if (j == NULL)
			snprintf(e->err, e->errlen, "a string is not valid UTF-8");
		return j;
	}
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == &null_key)
			return json_null();
		break;
	case LUA_TTABLE:
		return enc_table(e, idx, depth);
	default:
		break;
	}
	snprintf(e->err, e->errlen, "a %s has no JSON form", luaL_typename(L, idx));
	return NULL;
}

json_t *
scriptlib_to_json(lua_State *L, int idx, char *err, size_t errlen)
{
	struct enc e = { L, err, errlen, 0, 0 };

	err[0] = '\0';
	return enc_value(&e, lua_absindex(L, idx), 0);
}

static int
json_encode(lua_State *L)
{
	char err[256];
	struct scriptlib_guard *g;
	json_t *j;

	luaL_checkany(L, 1);
	g = scriptlib_push_guard(L);
	if ((j = scriptlib_to_json(L, 1, err, sizeof(err))) == NULL)
		return luaL_error(L, "json.encode: %s", err);
	g->json = j;
	g->mem = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (g->mem == NULL)
		return luaL_error(L, "json.encode: out of memory");
	lua_pushstring(L, g->mem);
	scriptlib_release(g);
	return 1;
}

/*
 * About how many values a JSON text makes, counted before parsing for the
 * tree lies outside the state: the root, one more per ',' and per ':' (an
 * object's key), and one per container that is not empty, outside strings.
 */
static size_t
json_nodes(const char *buf, size_t len)
{
	size_t n = 1;
	int in_string = 0, opened = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (opened && c != ']' && c != '}')
			n++;
		opened = c == '[' || c == '{';
		if (c == '"')
			in_string = 1;
		else if (c == ',' || c == ':')
			n++;
	}
	return n;
}

/* json.decode(text): the value, or nil and why. */
static int
json_decode(lua_State *L)
{
	size_t len, nodes;
	const char *s = luaL_checklstring(L, 1, &len);
	struct scriptlib_guard *g;
	json_error_t jerr;

	luabox_charge(L, (int64_t)(len / 8));
	if (json_nesting_depth(s, len) > SCRIPTLIB_JSON_DEPTH) {
		luaL_pushfail(L);
		lua_pushfstring(L, "nested deeper than %d levels", SCRIPTLIB_JSON_DEPTH);
		return 2;
	}
	if ((nodes = json_nodes(s, len)) > SCRIPTLIB_JSON_MAX_VALUES) {
		luaL_pushfail(L);
		lua_pushfstring(L, "more than %d values", SCRIPTLIB_JSON_MAX_VALUES);
		return 2;
	}
	/* The tree jansson builds: its nodes charged, its memory checked against the cap. */
	if (luabox_spend(L, (int64_t)nodes * SCRIPTLIB_JSON_NODE_COST,
	        nodes * SCRIPTLIB_JSON_NODE_BYTES + len) == -1)
		return luaL_error(L, "json.decode: a limit was passed");
	g = scriptlib_push_guard(L);
	if ((g->json = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		luaL_pushfail(L);
		lua_pushfstring(L, "line %d: %s", jerr.line, jerr.text);
		return 2;
	}
	scriptlib_push_json(L, g->json, 0);
	scriptlib_release(g);
	return 1;
}

/* ---- date ---- */

static const struct scriptlib_clock *
clock_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static int64_t
check_day(lua_State *L, int arg)
{
	size_t len;
	const char *s = luaL_checklstring(L, arg, &len);
	int64_t day;

	if (cal_parse(s, len, &day) == -1)
		luaL_error(L, "bad argument #%d: '%s' is not a date (YYYY-MM-DD, %d to %d)", arg, s,
		    CAL_YEAR_MIN, CAL_YEAR_MAX);
	return day;
}

static int
push_day(lua_State *L, int64_t day)
{
	char buf[CAL_DATE_LEN];

	if (cal_format(day, buf, sizeof(buf)) == -1)
		return luaL_error(L, "the date falls outside %d to %d", CAL_YEAR_MIN, CAL_YEAR_MAX);
	lua_pushstring(L, buf);
	return 1;
}

static int
date_today(lua_State *L)
{
	const struct scriptlib_clock *c = clock_of(L);

	return push_day(L, cal_paris_day(c->now_ms(c->arg)));
}

static int
date_now(lua_State *L)
{
	const struct scriptlib_clock *c = clock_of(L);
	char buf[32];
	int64_t ms = c->now_ms(c->arg);

	tr_rfc3339((time_t)(ms / 1000), buf, sizeof(buf));
	lua_pushstring(L, buf);
	return 1;
}

static int
date_days_between(lua_State *L)
{
	int64_t a = check_day(L, 1), b = check_day(L, 2);

	lua_pushinteger(L, b - a);
	return 1;
}

static int
date_add_days(lua_State *L)
{
	int64_t d = check_day(L, 1);
	lua_Integer n = luaL_checkinteger(L, 2);

	if (n > 200 * 366 || n < -200 * 366)
		return luaL_error(L, "date.add_days: %I days is too far", n);
	return push_day(L, d + n);
}

static int
date_business_days(lua_State *L)
{
	int64_t a = check_day(L, 1), b = check_day(L, 2);

	lua_pushinteger(L, cal_business_days(a, b, lua_toboolean(L, 3)));
	return 1;
}

static int
date_is_business_day(lua_State *L)
{
	lua_pushboolean(L, cal_is_business_day(check_day(L, 1), lua_toboolean(L, 2)));
	return 1;
}

static int
date_is_holiday(lua_State *L)
{
	lua_pushboolean(L, cal_is_holiday_fr(check_day(L, 1)));
	return 1;
}

static int
date_start_of_week(lua_State *L)
{
	return push_day(L, cal_start_of_week(check_day(L, 1)));
}

static int
date_weekday(lua_State *L)
{
	lua_pushinteger(L, cal_weekday(check_day(L, 1)));
	return 1;
}

void
scriptlib_open(lua_State *L, const struct scriptlib_clock *clock)
{
	static const luaL_Reg json_fns[] = {
		{ "encode", json_encode },
		{ "decode", json_decode },
		{ NULL, NULL },
	};
	static const luaL_Reg date_fns[] = {
		{ "today", date_today },
		{ "now", date_now },
		{ "days_between", date_days_between },
		{ "add_days", date_add_days },
		{ "business_days", date_business_days },
		{ "is_business_day", date_is_business_day },
		{ "is_holiday", date_is_holiday },
		{ "start_of_week", date_start_of_week },
		{ "weekday", date_weekday },
		{ NULL, NULL },
	};

	lua_pushglobaltable(L);
	luaL_newlib(L, json_fns);
	lua_pushlightuserdata(L, (void *)&null_key);
	lua_setfield(L, -2, "null");
	lua_setfield(L, -2, "json");
	luaL_newlibtable(L, date_fns);
	lua_pushlightuserdata(L, (void *)(uintptr_t)clock);
	luaL_setfuncs(L, date_fns, 1);
	lua_setfield(L, -2, "date");
	lua_pop(L, 1);
}
