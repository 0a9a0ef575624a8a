/*
 * The Lua marshalling of the script API (scriptlib.c), in a sandbox as the
 * host runs it: JSON values pushed as Lua values (events, views, options)
 * and read back as JSON, and json.decode / json.encode called from Lua.
 * The first byte picks the flags; the rest is JSON text, or (flag 4) a
 * program that builds a Lua value as a script could (tables with any keys,
 * cycles, read-only views, NaN, functions) for scriptlib_to_json, which
 * json.encode and the host use on what scripts give.
 */
#include "fuzz.h"

#include <math.h>

#include <jansson.h>
#include <lua.h>

#include "json.h"
#include "luabox.h"
#include "scriptlib.h"

struct input {
	const char *text;
	size_t len;
	unsigned flags;
	size_t json_flags;
};

static int64_t
fixed_now(void *arg)
{
	(void)arg;
	return 1767225600000; /* 2026-01-01 */
}

static const struct scriptlib_clock clock_fixed = { fixed_now, NULL };

/*
 * What a value becomes after a trip through Lua: an object's null members
 * are dropped (a table cannot hold nil) and an empty array is an empty
 * table, which encodes as {}.
 */
static json_t *
through_lua(const json_t *j)
{
	const char *k;
	json_t *v, *out;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		out = json_object();
		json_object_foreach ((json_t *)j, k, v)
			if (!json_is_null(v))
				json_object_set_new(out, k, through_lua(v));
		return out;
	case JSON_ARRAY:
		if (json_array_size(j) == 0)
			return json_object();
		out = json_array();
		json_array_foreach (j, i, v)
			json_array_append_new(out, through_lua(v));
		return out;
	default:
		return json_copy((json_t *)j);
	}
}

static int
open_entry(lua_State *L)
{
	scriptlib_open(L, &clock_fixed);
	return 0;
}

/* json.encode(v) from Lua: the text, which the caller pops. */
static const char *
lua_encode(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_getglobal(L, "json");
	lua_getfield(L, -1, "encode");
	lua_remove(L, -2);
	lua_pushvalue(L, idx);
	FUZZ_CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK);
	FUZZ_CHECK(lua_type(L, -1) == LUA_TSTRING);
	return lua_tostring(L, -1);
}

/* json.decode(text) from Lua: the value (or nil), which the caller pops. */
static void
lua_decode(lua_State *L, const char *text, size_t len)
{
	lua_getglobal(L, "json");
	lua_getfield(L, -1, "decode");
	lua_remove(L, -2);
	lua_pushlstring(L, text, len);
	lua_call(L, 1, 1);
}

/* A table without a metatable: a script's own, not a read-only view. */
static int
plain_table(lua_State *L, int idx)
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return 0;
	if (lua_getmetatable(L, idx)) {
		lua_pop(L, 1);
		return 0;
	}
	return 1;
}

/* A Lua value from a small program; what scriptlib_to_json gives must be valid JSON. */
static void
build_value(lua_State *L, const unsigned char *p, size_t n)
{
	static const double reals[] = { 0.5, -0.0, 1e308, -1e-308, 3.0, 0.0 };
	int base = lua_gettop(L);
	char err[256];
	json_t *j;

	for (size_t i = 0; i < n && lua_gettop(L) - base < 200; i++) {
		unsigned char op = p[i] % 12, arg = i + 1 < n ? p[i + 1] : 0;
		int top = lua_gettop(L);

		FUZZ_CHECK(lua_checkstack(L, 4));
		switch (op) {
		case 0:
			lua_pushnil(L);
			break;
		case 1:
			lua_pushboolean(L, arg & 1);
			i++;
			break;
		case 2:
			lua_pushinteger(L, (lua_Integer)(signed char)arg);
			i++;
			break;
		case 3:
			lua_pushnumber(L,
			    arg % 8 == 6       ? NAN
			        : arg % 8 == 7 ? INFINITY
			                       : reals[arg % 8]);
			i++;
			break;
		case 4: {
			size_t len = arg % 16;
			if (i + 2 + len > n)
				len = n - (i + 2 < n ? i + 2 : n);
			lua_pushlstring(L, (const char *)p + i + 2, len);
			i += 1 + len;
			break;
		}
		case 5:
			lua_newtable(L);
			break;
		case 6: /* t[k] = v: t, k, v on top; t a plain table */
			if (top - base >= 3 && plain_table(L, -3) && !lua_isnil(L, -2) &&
			    !(lua_type(L, -2) == LUA_TNUMBER &&
			        lua_tonumber(L, -2) != lua_tonumber(L, -2))) {
				lua_rawset(L, -3);
			}
			break;
		case 7: /* t[arg] = v */
			if (top - base >= 2 && plain_table(L, -2))
				lua_rawseti(L, -2, arg % 8);
			i++;
			break;
		case 8:
			lua_getglobal(L, "json");
			lua_getfield(L, -1, "null");
			lua_remove(L, -2);
			break;
		case 9: /* a value already built: shared tables and cycles */
			if (top > base)
				lua_pushvalue(L, base + 1 + arg % (top - base));
			i++;
			break;
		case 10: /* as the host shows options: one view per table, never a view of a view */
			if (top > base && plain_table(L, -1))
				luabox_push_readonly(L, -1);
			break;
		case 11:
			lua_pushcfunction(L, open_entry);
			break;
		}
	}
	if (lua_gettop(L) == base)
		return;
	j = scriptlib_to_json(L, -1, err, sizeof(err));
	FUZZ_CHECK(lua_gettop(L) >= base);
	if (j == NULL)
		FUZZ_CHECK(err[0] != '\0');
	else {
		char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		FUZZ_CHECK(text != NULL);
		FUZZ_CHECK(json_nesting_depth(text, strlen(text)) <= SCRIPTLIB_JSON_DEPTH + 1);
		free(text);
		json_decref(j);
	}
	lua_settop(L, base);
}

static int
marshal_entry(lua_State *L)
{
	struct input *in = lua_touserdata(L, 1);
	struct scriptlib_guard *g;
	char err[256];
	int top;

	if (in->flags & 4) {
		build_value(L, (const unsigned char *)in->text, in->len);
		return 0;
	}
	g = scriptlib_push_guard(L);
	/* C side: as the host hands an event's payload or a view's rows to a script. */
	g->json = json_loadb(in->text, in->len, in->json_flags, NULL);
	if (g->json != NULL && json_nesting_depth(in->text, in->len) <= SCRIPTLIB_JSON_DEPTH) {
		json_t *back, *want;
		scriptlib_push_json(L, g->json, in->flags & SCRIPTLIB_READONLY);
		back = scriptlib_to_json(L, -1, err, sizeof(err));
		FUZZ_CHECK(back != NULL);
		want = through_lua(g->json);
		FUZZ_CHECK(json_equal(back, want));
		json_decref(want);
		json_decref(back);
		lua_pop(L, 1);
	}
	scriptlib_release(g);

	/* Lua side: what decode gives, encode writes, and that text reads the same. */
	top = lua_gettop(L);
	lua_decode(L, in->text, in->len);
	if (!lua_isnil(L, -1)) {
		const char *t1 = lua_encode(L, -1);
		lua_decode(L, t1, strlen(t1));
		FUZZ_CHECK(!lua_isnil(L, -1));
		const char *t2 = lua_encode(L, -1);
		FUZZ_CHECK(strcmp(t1, t2) == 0);
	}
	lua_settop(L, top);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Far above what 4 KiB of input needs: a limit reached here would be a finding. */
	static const struct luabox_limits limits = { 256u << 20, 1000000000, 600000 };
	static struct luabox *box;
	struct input in;
	char *err = NULL, msg[256];
	enum luabox_status st;

	if (box == NULL) {
		box = luabox_new(&limits, NULL, msg, sizeof(msg));
		FUZZ_CHECK(box != NULL);
		FUZZ_CHECK(luabox_run(box, open_entry, NULL, &err) == LB_OK);
	}
	if (size < 1)
		return 0;
	in.text = (const char *)data + 1;
	in.len = size - 1;
	in.flags = (data[0] & 1 ? SCRIPTLIB_READONLY : 0) | (data[0] & 4);
	in.json_flags =
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | (data[0] & 2 ? JSON_ALLOW_NUL : 0);
	st = luabox_run(box, marshal_entry, &in, &err);
	if (st != LB_OK)
		fprintf(stderr, "fuzz_lua: %s: %s\n", luabox_status_name(st), err ? err : "?");
	FUZZ_CHECK(st == LB_OK);
	free(err);
	return 0;
}
