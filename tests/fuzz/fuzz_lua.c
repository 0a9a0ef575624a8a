/*
 * The Lua marshalling of the script API (scriptlib.c), in a sandbox as the
 * host runs it: JSON values pushed as Lua values (events, views, options)
 * and read back as JSON, and json.decode / json.encode called from Lua.
 * The first byte picks the flags; the rest is JSON text.
 */
#include "fuzz.h"

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

static int
marshal_entry(lua_State *L)
{
	struct input *in = lua_touserdata(L, 1);
	struct scriptlib_guard *g = scriptlib_push_guard(L);
	char err[256];
	int top;

	/* C side: as the host hands an event's payload or a view's rows to a script. */
	g->json = json_loadb(in->text, in->len, in->json_flags, NULL);
	if (g->json != NULL && json_nesting_depth(in->text, in->len) <= SCRIPTLIB_JSON_DEPTH) {
		json_t *back, *want;
		scriptlib_push_json(L, g->json, in->flags);
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
	in.flags = data[0] & 1 ? SCRIPTLIB_READONLY : 0;
	in.json_flags =
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | (data[0] & 2 ? JSON_ALLOW_NUL : 0);
	st = luabox_run(box, marshal_entry, &in, &err);
	if (st != LB_OK)
		fprintf(stderr, "fuzz_lua: %s: %s\n", luabox_status_name(st), err ? err : "?");
	FUZZ_CHECK(st == LB_OK);
	free(err);
	return 0;
}
