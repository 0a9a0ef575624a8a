/*
 * The script sandbox and the pure parts of the script API: luabox.c (the
 * allow-list, the limits and that a script cannot catch them), luapattern.c
 * (the same answers as the stock string library, and a budget), calendar.c
 * and scriptlib.c (json, date). The host's bindings (on, every, view,
 * notify, http) are tested against a real daemon in
 * tests/integration/test_lua_*.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "calendar.h"
#include "luabox.h"
#include "luapattern.h"
#include "scriptlib.h"

/*
 * A test of one limit gives the others room: the wall clock (which a busy or
 * sanitized run stretches) never ends a call these tests expect another limit
 * to end, and a memory bomb has instructions to spare (memory_only).
 */
#define ROOM_MS 60000
#define ROOM_INSTRUCTIONS (INT64_C(1) << 60)
static const struct luabox_limits small = { 4u << 20, 1000000, ROOM_MS };
static const struct luabox_limits memory_only = { 4u << 20, ROOM_INSTRUCTIONS, ROOM_MS };

/* ---- running code in a sandbox ---- */

static int64_t fixed_now = INT64_C(1772438400000); /* 2026-03-02T08:00:00Z */

static int64_t
fixed_clock(void *arg)
{
	(void)arg;
	return fixed_now;
}

static const struct scriptlib_clock test_clock = { fixed_clock, NULL };

struct code {
	const char *text;
	int with_lib; /* json and date */
};

static int
run_entry(lua_State *L)
{
	struct code *c = lua_touserdata(L, 1);

	if (c->with_lib)
		scriptlib_open(L, &test_clock);
	if (luabox_loadchunk(L, "=test", c->text, strlen(c->text)) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	return 0;
}

/* Run text in a fresh sandbox; *msg (if not NULL) gets the error, to free. */
static enum luabox_status
run_limits(const struct luabox_limits *lim, const char *text, char **msg)
{
	char e[256];
	struct luabox *b = luabox_new(lim, NULL, e, sizeof(e));
	struct code c = { text, 1 };
	char *err = NULL;
	enum luabox_status st;

	assert_non_null(b);
	st = luabox_run(b, run_entry, &c, &err);
	luabox_free(b);
	if (msg != NULL)
		*msg = err;
	else
		free(err);
	return st;
}

static enum luabox_status
run(const char *text, char **msg)
{
	return run_limits(&small, text, msg);
}

static void
expect_ok(const char *text)
{
	char *msg = NULL;
	enum luabox_status st = run(text, &msg);

	if (st != LB_OK)
		fail_msg("expected success, got %s: %s\n--- script:\n%s", luabox_status_name(st),
		    msg ? msg : "", text);
	free(msg);
}

/* Run text under `small`, or `memory_only` when the memory cap is what must end it. */
static void
expect_status(const char *text, enum luabox_status want, const char *words)
{
	char *msg = NULL;
	enum luabox_status st;

	st = run_limits(want == LB_LIMIT_MEMORY ? &memory_only : &small, text, &msg);
	if (st != want)
		fail_msg("expected %s, got %s: %s\n--- script:\n%s", luabox_status_name(want),
		    luabox_status_name(st), msg ? msg : "", text);
	if (words != NULL && (msg == NULL || strstr(msg, words) == NULL))
		fail_msg("expected '%s' in the message, got: %s", words, msg ? msg : "(none)");
	free(msg);
}

/* ---- the environment ---- */

static void
test_sandbox__dangerous_names__absent(void **state)
{
	(void)state;
	expect_ok(
	    "for _, n in ipairs({'load', 'loadfile', 'dofile', 'require', 'rawget', 'rawset',"
	    " 'rawequal', 'rawlen', 'getmetatable', 'setmetatable', 'collectgarbage', 'print',"
	    " 'warn', 'io', 'debug', 'package', 'module', 'newproxy', 'loadstring', 'unpack'}) do"
	    "  assert(_G[n] == nil, n .. ' is reachable')"
	    " end"
	    " assert(string.dump == nil, 'string.dump')"
	    " for _, n in ipairs({'execute', 'exit', 'getenv', 'remove', 'rename', 'tmpname',"
	    " 'setlocale'}) do assert(os[n] == nil, 'os.' .. n) end"
	    " assert(os.time and os.clock and os.date)");
}

static void
test_sandbox__allowed_library__works(void **state)
{
	(void)state;
	expect_ok(
	    "assert(string.format('%d-%s', 3, 'x') == '3-x')"
	    " assert(('abc'):upper() == 'ABC')"
	    " assert(table.concat({1, 2, 3}, ',') == '1,2,3')"
	    " local t = {3, 1, 2} table.sort(t) assert(t[1] == 1 and t[3] == 3)"
	    " assert(math.floor(2.5) == 2 and math.type(1) == 'integer')"
	    " assert(utf8.len('été') == 3)"
	    " assert(type(os.time()) == 'number')"
	    " local ok, e = pcall(error, 'boom') assert(not ok and e == 'boom')"
	    " local ok2, e2 = xpcall(function() error('x', 0) end, function(m) return m .. '!' end)"
	    " assert(not ok2 and e2 == 'x!')"
	    " local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * "
	    "2 end)"
	    " local _, r1 = coroutine.resume(co, 1) local _, r2 = coroutine.resume(co, 10)"
	    " assert(r1 == 2 and r2 == 20 and coroutine.status(co) == 'dead')"
	    " local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)"
	    " assert(gen() == 1 and gen() == 2)"
	    " assert(select('#', 1, 2, 3) == 3 and tostring(12) == '12' and tonumber('0x10') == 16)"
	    " assert(_G == _G._G and _VERSION == 'Lua 5.4')");
}

static void
test_sandbox__string_metatable__locked_and_frozen(void **state)
{
	(void)state;
	/* Changing the script's own string table does not change the methods of strings. */
	expect_ok("string.upper = function() return 'pwned' end"
	          " string.len = nil"
	          " assert(('abc'):upper() == 'ABC')"
	          " assert(('abc'):len() == 3)");
	expect_status("local s = ('x').upper; ('x').foo = 1", LB_ERROR, "attempt to index");
	/* No route to the metatable: no getmetatable, no debug. */
	expect_status("getmetatable('').__index.upper = nil", LB_ERROR, "getmetatable");
}

static void
test_sandbox__binary_chunk__refused(void **state)
{
	char e[128];
	struct luabox *b = luabox_new(&small, NULL, e, sizeof(e));
	struct code c = { "\x1bLua\x54\x00garbage", 0 };
	char *err = NULL;

	(void)state;
	assert_non_null(b);
	assert_int_equal(luabox_run(b, run_entry, &c, &err), LB_ERROR);
	assert_non_null(strstr(err, "binary chunks are refused"));
	free(err);
	luabox_free(b);
}

/* ---- limits ---- */

static void
test_limit__endless_loop__instructions(void **state)
{
	(void)state;
	expect_status("while true do end", LB_LIMIT_INSTRUCTIONS, "instruction limit");
	expect_status("::top:: goto top", LB_LIMIT_INSTRUCTIONS, "instruction limit");
	expect_status("local function f() return f() end f()", LB_LIMIT_INSTRUCTIONS, NULL);
}

static void
test_limit__slow_loop__wall_clock(void **state)
{
	struct luabox_limits lim = { 4u << 20, ROOM_INSTRUCTIONS, 100 };
	char *msg = NULL;

	(void)state;
	assert_int_equal(run_limits(&lim, "while true do end", &msg), LB_LIMIT_TIME);
	assert_non_null(strstr(msg, "time limit exceeded"));
	free(msg);
	/* A loop of calls to a C function that each take a while: stopped between two calls. */
	assert_int_equal(
	    run_limits(
	        &lim, "local s = string.rep('é', 500000) while true do utf8.len(s) end", &msg),
	    LB_LIMIT_TIME);
	free(msg);
}

static void
test_limit__memory_bombs__memory(void **state)
{
	(void)state;
	expect_status("local t = {} while true do t[#t + 1] = {} end", LB_LIMIT_MEMORY,
	    "memory limit exceeded");
	expect_status("local s = 'x' while true do s = s .. s end", LB_LIMIT_MEMORY, NULL);
	expect_status("local s = string.rep('x', 1 << 30)", LB_LIMIT_MEMORY, NULL);
	expect_status("local t = {} for i = 1, 1e8 do t[i] = i end", LB_LIMIT_MEMORY, NULL);
	expect_status("local s = string.rep('ab', 1e6, ',') local t = {} for w in s:gmatch('[^,]+')"
	              " do t[#t + 1] = w .. #t end",
	    LB_LIMIT_MEMORY, NULL);
}

static void
test_limit__pcall_and_xpcall__cannot_catch_it(void **state)
{
	(void)state;
	expect_status("while true do pcall(function() while true do end end) end",
	    LB_LIMIT_INSTRUCTIONS, NULL);
	expect_status("while true do pcall(function() local t = {} while true do t[#t+1] = {} end"
	              " end) end",
	    LB_LIMIT_MEMORY, NULL);
	expect_status("while true do xpcall(function() while true do end end,"
	              " function(m) return m end) end",
	    LB_LIMIT_INSTRUCTIONS, NULL);
	/* A handler that loops, a handler that fails. */
	expect_status("xpcall(function() while true do end end, function() while true do end end)",
	    LB_LIMIT_INSTRUCTIONS, NULL);
	expect_status("while true do xpcall(error, function() error('again') end) end",
	    LB_LIMIT_INSTRUCTIONS, NULL);
	/* Lua would run a handler with hooks off after a hook's error: ours runs watched. */
	expect_status(
	    "xpcall(error, function() while true do end end)", LB_LIMIT_INSTRUCTIONS, NULL);
	expect_status("xpcall(function() while true do end end, function() local t = {} while true"
	              " do t[#t + 1] = {} end end)",
	    LB_LIMIT_INSTRUCTIONS, NULL);
}

static void
test_limit__error_in_error_handler__contained(void **state)
{
	(void)state;
	expect_ok("local ok, e = xpcall(error, function() error('in the handler') end)"
	          " assert(not ok)");
	/* A handler that recurses: the stack it builds meets the memory cap first. */
	char *msg = NULL;
	enum luabox_status st = run("local function h() return h() + 1 end xpcall(error, h)", &msg);
	assert_true(st == LB_LIMIT_MEMORY || st == LB_LIMIT_INSTRUCTIONS);
	free(msg);
}

static void
test_limit__coroutines__same_limits(void **state)
{
	(void)state;
	expect_status(
	    "coroutine.wrap(function() while true do end end)()", LB_LIMIT_INSTRUCTIONS, NULL);
	expect_status("local co = coroutine.create(function() while true do end end)"
	              " while true do coroutine.resume(co) end",
	    LB_LIMIT_INSTRUCTIONS, NULL);
	expect_status("while true do local co = coroutine.create(function() while true do"
	              " coroutine.yield() end end) for i = 1, 100 do coroutine.resume(co) end end",
	    LB_LIMIT_INSTRUCTIONS, NULL);
	expect_status("local co = coroutine.wrap(function() local t = {} while true do"
	              " t[#t + 1] = {} end end) pcall(co) while true do end",
	    LB_LIMIT_MEMORY, NULL);
	/* Nested coroutines, each catching what the inner one raised. */
	expect_status("local function nest(n) if n == 0 then while true do end end"
	              " local co = coroutine.create(nest) return coroutine.resume(co, n - 1) end"
	              " while true do pcall(nest, 20) end",
	    LB_LIMIT_INSTRUCTIONS, NULL);
}

static void
test_limit__deep_recursion__contained(void **state)
{
	char *msg = NULL;
	enum luabox_status st;

	(void)state;
	st = run("local function f(n) return 1 + f(n + 1) end f(1)", &msg);
	assert_true(st == LB_ERROR || st == LB_LIMIT_MEMORY);
	free(msg);
	/* Through C: string.gsub calling itself. */
	st = run("local function f(s) return (s:gsub('.', f)) end f('abc')", &msg);
	assert_true(st == LB_ERROR || st == LB_LIMIT_MEMORY || st == LB_LIMIT_INSTRUCTIONS);
	free(msg);
}

static void
test_limit__pathological_patterns__stopped(void **state)
{
	(void)state;
	/* With the b, a lazy match finds it at once; without, it would backtrack for ages. */
	expect_ok("assert(string.find(string.rep('a', 1e5) .. 'b', '.-.-.-.-.-.-b') == 1)");
	expect_status("string.find(string.rep('a', 1e5), '.-.-.-.-.-.-b')", LB_LIMIT_INSTRUCTIONS,
	    "instruction limit");
	expect_status("string.match(string.rep('a', 3e4), '(.-)%1$')", LB_LIMIT_INSTRUCTIONS, NULL);
	expect_status("for _ in string.gmatch(string.rep('a', 1e5), '.-.-.-x') do end",
	    LB_LIMIT_INSTRUCTIONS, NULL);
	expect_status(
	    "string.gsub(string.rep('a', 1e5), '.-.-.-x', '')", LB_LIMIT_INSTRUCTIONS, NULL);
	/* Not catchable either. */
	expect_status("while true do pcall(string.find, string.rep('a', 1e4), '.-.-.-.-b') end",
	    LB_LIMIT_INSTRUCTIONS, NULL);
}

static void
test_limit__bounded_table_functions__refused(void **state)
{
	(void)state;
	expect_status("table.move({}, 1, 1e9, 2)", LB_ERROR, "table.move");
	struct luabox_limits big = { 32u << 20, 10000000, ROOM_MS };
	char *msg = NULL;
	assert_int_equal(
	    run_limits(&big, "local t = {} for i = 1, 200000 do t[i] = i end table.sort(t)", &msg),
	    LB_ERROR);
	assert_non_null(strstr(msg, "table.sort"));
	free(msg);
	expect_status("table.unpack({}, 1, 1e7)", LB_ERROR, NULL);
	expect_ok("local t = {5, 4, 3} table.sort(t, function(a, b) return a < b end)"
	          " assert(t[1] == 3) local m = table.move({1, 2, 3}, 1, 3, 2) assert(m[4] == 3)");
}

static void
test_limit__state_survives_a_kill__next_call_runs(void **state)
{
	char e[128];
	struct luabox *b = luabox_new(&small, NULL, e, sizeof(e));
	struct code loop = { "while true do end", 0 }, ok = { "local x = 1 + 1", 0 };
	char *err = NULL;

	(void)state;
	assert_int_equal(luabox_run(b, run_entry, &loop, &err), LB_LIMIT_INSTRUCTIONS);
	free(err);
	assert_int_equal(luabox_run(b, run_entry, &ok, &err), LB_OK);
	assert_null(err);
	assert_true(luabox_memory(b) > 0 && luabox_memory(b) <= small.memory);
	luabox_free(b);
}

static void
test_errors__traceback__names_the_line(void **state)
{
	char *msg = NULL;

	(void)state;
	assert_int_equal(
	    run("local function inner() error('broken here') end\ninner()", &msg), LB_ERROR);
	assert_non_null(strstr(msg, "test:1: broken here"));
	assert_non_null(strstr(msg, "stack traceback:"));
	assert_non_null(strstr(msg, "inner"));
	free(msg);
	assert_int_equal(run("error({})", &msg), LB_ERROR);
	assert_non_null(strstr(msg, "error object is a table value"));
	free(msg);
	assert_int_equal(run("local x = ", &msg), LB_ERROR);
	assert_non_null(strstr(msg, "test:1:"));
	free(msg);
}

/* ---- patterns: the stock library's answers ---- */

/*
 * The stock functions in `string`, ours in P: every combination below must
 * give the same results, or the same error (function names aside).
 */
static const char differential[] =
    "local subjects = { '', 'hello world', 'aaa', '  x = 10  ', 'key=value; k2=v2',"
    "  '((a)(b))', 'THE (quick) fox', 'abc123def456', 'a\\0b\\0c', 'été', '[]]', '%a%b',"
    "  'abcabc', 'f(a(b)c)d', 'one two  three', 'x.y.z', '$^' }\n"
    "local patterns = { '', 'h', 'o', '.', 'l+', 'l*', 'l-', 'l?', '^h', 'd$', '^$', '$',"
    "  '(%a+) (%a+)', '()ll()', '%d+', '%D+', '[%a_][%w_]*', '[^%s]+', '^%s*(.-)%s*$',"
    "  '(%w+)=(%w+)', '%b()', '%f[%w]%w+', '%f[%W]', '(a)%1', '(%a)%1', '[]]', '[^]]',"
    "  '[a-c]+', '[a-]', '[%]]', '%', '[a', '(', ')', '%b', '%bx', '%f', '%fx', '(()', '%1',"
    "  '(a)%2', 'x*$', '.-b', 'a-', '[%d%.]+', '%.', '%%', '^(%s*)', '(.)(.)(.)(.)', '%w*',"
    "  '\\0', '[\\0b]', '(h)(e)(l)(l)(o)', 'a*b?', '[%a-z]', '[z-a]', '.-$', '^.-', '%s+$',"
    "  '(x)()', '%z', '[^%a%d]+', 'é', '[é]', '%B()', '%1x', '(%1)', '^^', '$$', 'a$b' }\n"
    "local inits = { false, 1, 2, -1, -3, 0, 5, 100, -100 }\n"
    "local function norm(...)\n"
    "  local r = table.pack(...)\n"
    "  for i = 1, r.n do if type(r[i]) == 'string' then\n"
    "    r[i] = r[i]:gsub(\"to '[^']*'\", 'to F') end end\n"
    "  return r\n"
    "end\n"
    "local function same(what, a, b)\n"
    "  if a.n ~= b.n then error(what .. ': ' .. a.n .. ' values against ' .. b.n) end\n"
    "  for i = 1, a.n do if a[i] ~= b[i] then\n"
    "    error(what .. ': value ' .. i .. ': ' .. tostring(a[i]) .. ' against ' .. "
    "tostring(b[i]))\n"
    "  end end\n"
    "end\n"
    "local function both(name, f, g, ...)\n"
    "  same(name, norm(pcall(f, ...)), norm(pcall(g, ...)))\n"
    "end\n"
    "local function collect(gm, ...)\n"
    "  local ok, it = pcall(gm, ...)\n"
    "  if not ok then return norm(false, it) end\n"
    "  local out = {}\n"
    "  local ok2, e = pcall(function() for a, b, c in it do out[#out + 1] = tostring(a) .. '|' .."
    "    tostring(b) .. '|' .. tostring(c) if #out > 200 then break end end end)\n"
    "  if not ok2 then return norm(false, e) end\n"
    "  return table.pack(true, table.concat(out, ';'))\n"
    "end\n"
    "local count = 0\n"
    "for _, s in ipairs(subjects) do for _, p in ipairs(patterns) do\n"
    "  for _, i in ipairs(inits) do\n"
    "    local init = i or nil\n"
    "    local what = string.format('%q %q %s', s, p, tostring(init))\n"
    "    both('find ' .. what, string.find, P.find, s, p, init)\n"
    "    both('plain find ' .. what, string.find, P.find, s, p, init, true)\n"
    "    both('match ' .. what, string.match, P.match, s, p, init)\n"
    "    same('gmatch ' .. what, collect(string.gmatch, s, p, init), collect(P.gmatch, s, p, "
    "init))\n"
    "    count = count + 4\n"
    "  end\n"
    "  for _, r in ipairs({ '<%0>', '%2-%1', '%%', 'x', '%', '%a', '', '%9' }) do\n"
    "    for _, n in ipairs({ false, 0, 1, 2 }) do\n"
    "      local what = string.format('gsub %q %q %q %s', s, p, r, tostring(n))\n"
    "      both(what, string.gsub, P.gsub, s, p, r, n or nil)\n"
    "      count = count + 1\n"
    "    end\n"
    "  end\n"
    "  local t = { a = 'A', l = false, h = 42, [' '] = '_' }\n"
    "  both('gsub table ' .. s .. p, string.gsub, P.gsub, s, p, t)\n"
    "  both('gsub function ' .. s .. p, string.gsub, P.gsub, s, p,\n"
    "    function(a, b) if a == 'l' then return nil end return '[' .. tostring(a) .. tostring(b) "
    ".. ']' end)\n"
    "  both('gsub bad value ' .. s .. p, string.gsub, P.gsub, s, p, function() return {} end)\n"
    "  count = count + 3\n"
    "end end\n"
    "both('gsub bad repl', string.gsub, P.gsub, 'x', 'x', true)\n"
    "both('find no args', string.find, P.find)\n"
    "both('too many captures', string.find, P.find, 'x', string.rep('()', 40))\n"
    "both('pattern too complex', string.find, P.find, string.rep('a', 300), string.rep('a?', 300) "
    ".. string.rep('a', 300))\n"
    "return count\n";

static void
test_patterns__differential__same_as_stock_string_library(void **state)
{
	lua_State *L = luaL_newstate();

	(void)state;
	luaL_openlibs(L);
	lua_newtable(L);
	luapattern_register(L, -1, NULL);
	lua_setglobal(L, "P");
	if (luaL_loadstring(L, differential) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
		fail_msg("%s", lua_tostring(L, -1));
	assert_true(lua_tointeger(L, -1) > 10000);
	lua_close(L);
}

static int64_t charged;

static void
count_charge(lua_State *L, int64_t steps)
{
	(void)L;
	charged += steps;
}

static void
test_patterns__budget__charged_for_backtracking(void **state)
{
	static const struct luapattern_budget budget = { count_charge };
	lua_State *L = luaL_newstate();

	(void)state;
	luaL_openlibs(L);
	lua_newtable(L);
	luapattern_register(L, -1, &budget);
	lua_setglobal(L, "P");
	charged = 0;
	assert_int_equal(luaL_dostring(L, "P.find(string.rep('a', 2000), '.-.-b')"), LUA_OK);
	/* Quadratic: about 2000 * 2000 / 2 steps. */
	assert_true(charged > 1000000);
	charged = 0;
	assert_int_equal(luaL_dostring(L, "P.find('hello', 'l+')"), LUA_OK);
	assert_true(charged < 100);
	lua_close(L);
}

/* ---- calendar ---- */

static int64_t
day(const char *s)
{
	int64_t d;

	assert_int_equal(cal_parse(s, strlen(s), &d), 0);
	return d;
}

static void
test_calendar__parse_and_format__round_trip(void **state)
{
	char buf[CAL_DATE_LEN];
	int64_t d;

	(void)state;
	assert_int_equal(day("1970-01-01"), 0);
	assert_int_equal(day("2000-03-01") - day("2000-02-28"), 2);
	assert_int_equal(day("2100-03-01") - day("2100-02-28"), 1);
	for (d = day("1900-01-01"); d <= day("2199-12-31"); d += 37) {
		assert_int_equal(cal_format(d, buf, sizeof(buf)), 0);
		assert_int_equal(day(buf), d);
	}
	const char *bad[] = { "2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "26-01-01",
		"2026-01-32", "1899-12-31", "2200-01-01", "2026/01/01", "2026-01-01x", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cal_parse(bad[i], strlen(bad[i]), &d), -1);
	assert_int_equal(cal_format(day("1900-01-01") - 1, buf, sizeof(buf)), -1);
}

static void
test_calendar__weekdays_and_weeks(void **state)
{
	(void)state;
	assert_int_equal(cal_weekday(day("2026-03-02")), 1); /* a Monday */
	assert_int_equal(cal_weekday(day("2026-03-08")), 7);
	assert_int_equal(cal_weekday(day("1969-12-31")), 3);
	assert_int_equal(cal_start_of_week(day("2026-03-08")), day("2026-03-02"));
	assert_int_equal(cal_start_of_week(day("2026-03-02")), day("2026-03-02"));
	assert_int_equal(cal_start_of_week(day("2026-01-01")), day("2025-12-29"));
}

static void
test_calendar__paris_day__follows_summer_time(void **state)
{
	(void)state;
	/* 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC. */
	assert_int_equal(cal_paris_offset(1774745999), 3600); /* 2026-03-29T00:59:59Z */
	assert_int_equal(cal_paris_offset(1774746000), 7200); /* 2026-03-29T01:00:00Z */
	assert_int_equal(cal_paris_offset(1792889999), 7200); /* 2026-10-25T00:59:59Z */
	assert_int_equal(cal_paris_offset(1792890000), 3600);
	/* 22:30 UTC in winter is 23:30 in Paris, the same day; in summer 00:30 the next. */
	assert_int_equal(cal_paris_day(INT64_C(1767997800000)), day("2026-01-09"));
	assert_int_equal(cal_paris_day(INT64_C(1783722600000)), day("2026-07-11"));
}

static void
test_calendar__instants__rfc3339_and_paris_midnight(void **state)
{
	static const char *const bad[] = { "2026-12-04", "2026-12-04T10:00:00",
		"2026-12-04 10:00:00Z", "2026-12-04T24:00:00Z", "2026-12-04T10:60:00Z",
		"2026-02-30T10:00:00Z", "2026-12-04T10:00:00.Z", "2026-12-04T10:00:00+0100",
		"2026-12-04T10:00:00+01:00x", "2026-12-04T10:00:00+24:00", "2026-12-04T1:00:00Z",
		"" };
	int64_t t;

	(void)state;
	assert_int_equal(cal_parse_instant("2026-12-04T10:00:00Z", &t), 0);
	assert_int_equal(t, 1796378400);
	assert_int_equal(cal_parse_instant("2026-12-04t10:00:00.999z", &t), 0);
	assert_int_equal(t, 1796378400);
	assert_int_equal(cal_parse_instant("2026-12-04T11:00:00+01:00", &t), 0);
	assert_int_equal(t, 1796378400);
	assert_int_equal(cal_parse_instant("2026-12-04T08:30:00-01:30", &t), 0);
	assert_int_equal(t, 1796378400);
	assert_int_equal(cal_parse_instant("2016-12-31T23:59:60Z", &t), 0);
	assert_int_equal(t, 1483228799);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cal_parse_instant(bad[i], &t), -1);
	assert_int_equal(cal_parse_instant(NULL, &t), -1);
	/* Paris midnight: 23:00 UTC the day before in winter, 22:00 in summer. */
	assert_int_equal(cal_paris_midnight(day("2026-12-04")), 1796338800);
	assert_int_equal(cal_paris_midnight(day("2026-07-11")), 1783720800);
	/* The days of the switches begin before them. */
	assert_int_equal(cal_paris_midnight(day("2026-03-29")), 1774738800);
	assert_int_equal(cal_paris_midnight(day("2026-10-25")), 1792879200);
}

static void
test_calendar__french_holidays_and_business_days(void **state)
{
	(void)state;
	assert_int_equal(cal_easter(2024), day("2024-03-31"));
	assert_int_equal(cal_easter(2025), day("2025-04-20"));
	assert_int_equal(cal_easter(2026), day("2026-04-05"));
	assert_int_equal(cal_easter(2038), day("2038-04-25"));
	assert_true(cal_is_holiday_fr(day("2026-04-06"))); /* Easter Monday */
	assert_true(cal_is_holiday_fr(day("2026-05-14"))); /* Ascension */
	assert_true(cal_is_holiday_fr(day("2026-05-25"))); /* Whit Monday */
	assert_true(cal_is_holiday_fr(day("2026-07-14")));
	assert_false(cal_is_holiday_fr(day("2026-07-15")));
	/* A week: five business days; with 14 July on a Tuesday, four. */
	assert_int_equal(cal_business_days(day("2026-07-13"), day("2026-07-20"), 0), 5);
	assert_int_equal(cal_business_days(day("2026-07-13"), day("2026-07-20"), 1), 4);
	assert_int_equal(cal_business_days(day("2026-07-20"), day("2026-07-13"), 1), -4);
	assert_int_equal(cal_business_days(day("2026-03-07"), day("2026-03-09"), 0), 0);
	/* 2008: Ascension on 1 May is counted once. */
	assert_int_equal(cal_business_days(day("2008-05-01"), day("2008-05-02"), 1), 0);
	assert_int_equal(cal_business_days(day("2008-04-28"), day("2008-05-05"), 1), 4);
	/* Against a day-by-day count over two years. */
	int64_t a = day("2025-11-17"), b = day("2027-12-02"), n = 0;
	for (int64_t d = a; d < b; d++)
		n += cal_is_business_day(d, 1);
	assert_int_equal(cal_business_days(a, b, 1), n);
}

/* ---- json and date for scripts ---- */

static void
test_scriptlib__json__round_trips_and_limits(void **state)
{
	(void)state;
	expect_ok(
	    "local s = json.encode({b = 1, a = {1, 2.5, 'x', true, json.null}, c = {}})"
	    " assert(s == '{\"a\":[1,2.5,\"x\",true,null],\"b\":1,\"c\":{}}', s)"
	    " local v = json.decode('{\"x\": [1, null, {\"y\": null, \"z\": \"é\"}], \"n\": null}')"
	    " assert(v.x[1] == 1 and v.x[2] == json.null and v.x[3].y == nil)"
	    " assert(v.x[3].z == 'é' and v.n == nil)"
	    " assert(json.decode('12') == 12 and json.decode('\"s\"') == 's')"
	    " local bad, why = json.decode('{\"a\":') assert(bad == nil and why)"
	    " local deep = string.rep('[', 40) .. string.rep(']', 40)"
	    " local d, dwhy = json.decode(deep) assert(d == nil and dwhy:find('deeper'))"
	    " local dup = json.decode('{\"a\":1,\"a\":2}') assert(dup == nil)");
	expect_status("local t = {} t.self = t json.encode(t)", LB_ERROR, "deeper");
	expect_status("json.encode({1, 2, nil, 4})", LB_ERROR, NULL);
	expect_status("json.encode({1, x = 2})", LB_ERROR, "mixes");
	expect_status("json.encode(function() end)", LB_ERROR, "no JSON form");
	expect_status("json.encode(0/0)", LB_ERROR, "NaN");
	expect_status("json.encode('\\255')", LB_ERROR, "UTF-8");
}

/* jansson's allocations still live: what json.encode leaves behind. */
static long jansson_live;

static void *
counting_malloc(size_t n)
{
	void *p = malloc(n);

	if (p != NULL)
		jansson_live++;
	return p;
}

static void
counting_free(void *p)
{
	if (p != NULL)
		jansson_live--;
	free(p);
}

/*
 * Found by tests/fuzz/fuzz_lua: a key holding a NUL was refused, but the
 * value already converted was not freed; a script calling json.encode in a
 * pcall loop grew the daemon's memory outside its own limit.
 */
static void
test_scriptlib__json_encode_key_with_nul__refused_and_nothing_kept(void **state)
{
	(void)state;
	json_set_alloc_funcs(counting_malloc, counting_free);
	jansson_live = 0;
	expect_status("json.encode({['a\\0b'] = string.rep('x', 100)})", LB_ERROR, "NUL");
	expect_ok("for i = 1, 50 do"
	          " assert(not pcall(json.encode, {['k\\0'] = {1, 2.5, 'x', {y = true}}})) end");
	json_set_alloc_funcs(malloc, free);
	assert_int_equal(jansson_live, 0);
}

/*
 * Found by tests/fuzz/fuzz_lua: a table holding the same table twice, 18
 * levels deep, is 2^19 values to encode. That work and its memory are the C
 * code's: each node is charged to the script's limits as it is made, and
 * there is a cap on the values.
 */
static void
test_scriptlib__json_encode_shared_tables__refused_past_the_values_limit(void **state)
{
	(void)state;
	/* Each node is charged as it is made: the memory cap (4 MiB here) ends it first. */
	expect_status("local t = {} for i = 1, 18 do t = {t, t} end json.encode(t)",
	    LB_LIMIT_MEMORY, "memory limit");
	expect_ok("local t = {} for i = 1, 10 do t = {t, t} end"
	          " assert(#json.encode(t) > 2000)");
}

static void
test_scriptlib__date__paris_calendar(void **state)
{
	(void)state;
	/* The test clock: 2026-03-02T08:00:00Z, a Monday. */
	expect_ok("assert(date.today() == '2026-03-02', date.today())"
	          " assert(date.now() == '2026-03-02T08:00:00Z')"
	          " assert(date.days_between('2026-03-02', '2026-03-12') == 10)"
	          " assert(date.days_between('2026-03-12', '2026-03-02') == -10)"
	          " assert(date.add_days('2026-02-27', 2) == '2026-03-01')"
	          " assert(date.add_days('2024-02-28', 1) == '2024-02-29')"
	          " assert(date.start_of_week('2026-03-08') == '2026-03-02')"
	          " assert(date.weekday('2026-03-08') == 7)"
	          " assert(date.business_days('2026-07-13', '2026-07-20') == 5)"
	          " assert(date.business_days('2026-07-13', '2026-07-20', true) == 4)"
	          " assert(date.is_holiday('2026-12-25') and not date.is_holiday('2026-12-24'))"
	          " assert(date.is_business_day('2026-03-02') and not "
	          "date.is_business_day('2026-03-07'))");
	expect_status("date.add_days('2026-02-30', 1)", LB_ERROR, "is not a date");
	expect_status("date.add_days('2199-12-31', 1)", LB_ERROR, "outside");
	expect_status("date.days_between('2026-03-02')", LB_ERROR, NULL);
}

static int
readonly_entry(lua_State *L)
{
	json_t *j =
	    json_loads("{\"days\": 30, \"hosts\": [\"a\", \"b\"], \"sub\": {\"x\": 1}}", 0, NULL);
	struct scriptlib_guard *g = scriptlib_push_guard(L);

	g->json = j;
	lua_pushglobaltable(L);
	scriptlib_push_json(L, j, SCRIPTLIB_READONLY);
	lua_setfield(L, -2, "options");
	scriptlib_release(g);
	const char *text = lua_touserdata(L, 1);
	if (luabox_loadchunk(L, "=test", text, strlen(text)) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 0);
	return 0;
}

static void
test_scriptlib__options__read_only_at_every_level(void **state)
{
	char e[128];
	struct luabox *b = luabox_new(&small, NULL, e, sizeof(e));
	char *err = NULL;
	const char *ok = "assert(options.days == 30 and #options.hosts == 2 and options.sub.x == 1)"
	                 " local n = 0 for k, v in pairs(options) do n = n + 1 end assert(n == 3)"
	                 " for i, h in ipairs(options.hosts) do assert(h) end"
	                 " assert(not pcall(function() options.days = 1 end))"
	                 " assert(not pcall(function() options.sub.x = 2 end))"
	                 " assert(not pcall(function() options.hosts[3] = 'c' end))"
	                 " assert(not pcall(table.insert, options.hosts, 'c'))"
	                 " assert(options.days == 30 and options.sub.x == 1)";

	(void)state;
	assert_int_equal(luabox_run(b, readonly_entry, (void *)ok, &err), LB_OK);
	free(err);
	assert_int_equal(luabox_run(b, readonly_entry, (void *)"options.new = 1", &err), LB_ERROR);
	assert_non_null(strstr(err, "read-only"));
	free(err);
	luabox_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox__dangerous_names__absent),
		cmocka_unit_test(test_sandbox__allowed_library__works),
		cmocka_unit_test(test_sandbox__string_metatable__locked_and_frozen),
		cmocka_unit_test(test_sandbox__binary_chunk__refused),
		cmocka_unit_test(test_limit__endless_loop__instructions),
		cmocka_unit_test(test_limit__slow_loop__wall_clock),
		cmocka_unit_test(test_limit__memory_bombs__memory),
		cmocka_unit_test(test_limit__pcall_and_xpcall__cannot_catch_it),
		cmocka_unit_test(test_limit__error_in_error_handler__contained),
		cmocka_unit_test(test_limit__coroutines__same_limits),
		cmocka_unit_test(test_limit__deep_recursion__contained),
		cmocka_unit_test(test_limit__pathological_patterns__stopped),
		cmocka_unit_test(test_limit__bounded_table_functions__refused),
		cmocka_unit_test(test_limit__state_survives_a_kill__next_call_runs),
		cmocka_unit_test(test_errors__traceback__names_the_line),
		cmocka_unit_test(test_patterns__differential__same_as_stock_string_library),
		cmocka_unit_test(test_patterns__budget__charged_for_backtracking),
		cmocka_unit_test(test_calendar__parse_and_format__round_trip),
		cmocka_unit_test(test_calendar__weekdays_and_weeks),
		cmocka_unit_test(test_calendar__paris_day__follows_summer_time),
		cmocka_unit_test(test_calendar__instants__rfc3339_and_paris_midnight),
		cmocka_unit_test(test_calendar__french_holidays_and_business_days),
		cmocka_unit_test(test_scriptlib__json__round_trips_and_limits),
		cmocka_unit_test(
		    test_scriptlib__json_encode_key_with_nul__refused_and_nothing_kept),
		cmocka_unit_test(
		    test_scriptlib__json_encode_shared_tables__refused_past_the_values_limit),
		cmocka_unit_test(test_scriptlib__date__paris_calendar),
		cmocka_unit_test(test_scriptlib__options__read_only_at_every_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
