"""The escape and exhaustion suite: hostile site scripts against a real daemon.

Every hostile script below runs in one daemon, each in its own sandbox, with
the default limits (8 MiB, 1e6 instructions and 50 ms per call) and
max_failures = 1. Each attacks from an event handler: creating one structure
sets them all off, one after the other, while a second connection keeps
asking GET /v1/health. Each must end contained (its script disabled with the
reason, or its call failed) and the health answers must keep coming, each
within 100 ms.

The issue's example of pathological matching,
string.find(string.rep("a", 1e5) .. "b", ".-.-.-.-.-.-b"), finds its match at
once (the lazy items stop at the first b); the suite runs the variant without
the b, which would backtrack for ages, and the issue's own form as a script
that must simply succeed.
"""

import threading
import time

import pytest

import lua_support as ls
import tremplin_test as tt

HEALTH_BOUND_S = 0.100  # the bound for one GET /v1/health during the attack

INSTR = "instruction limit exceeded"
MEMORY = "memory limit exceeded"
TIME = "time limit exceeded"
# Which of the two stops a loop first depends on the machine (and on sanitizers).
LOOP = (INSTR, TIME)

# name -> (the body of the handler, words the reason must hold; a tuple: any of them)
HOSTILE = {
    "endless_loop": ("while true do end", LOOP),
    "goto_loop": ("::top:: goto top", LOOP),
    "tail_call_loop": ("local function f() return f() end f()", LOOP),
    "table_bomb": ("local t = {} while true do t[#t + 1] = {} end", MEMORY),
    "string_rep_bomb": ("local s = string.rep('x', 1 << 30)", MEMORY),
    "concat_bomb": ("local s = 'x' while true do s = s .. s end", MEMORY),
    "array_bomb": ("local t = {} for i = 1, 1e9 do t[i] = i end", MEMORY),
    "pcall_swallows_loop": ("while true do pcall(function() while true do end end) end", LOOP),
    "pcall_swallows_memory": ("while true do pcall(string.rep, 'x', 1 << 30) end", MEMORY),
    "xpcall_failing_handler": (
        "while true do xpcall(error, function() error('again') end) end", LOOP),
    "xpcall_looping_handler": (
        "xpcall(function() while true do end end, function() while true do end end)", LOOP),
    "coroutine_wrap_dodge": ("coroutine.wrap(function() while true do end end)()", LOOP),
    "coroutine_resume_dodge": (
        "local co = coroutine.create(function() while true do end end)"
        " while true do coroutine.resume(co) end", LOOP),
    "coroutine_yield_loop": (
        "local co = coroutine.wrap(function() while true do coroutine.yield() end end)"
        " while true do co() end", LOOP),
    "deep_recursion": ("local function f(n) return 1 + f(n + 1) end f(1)",
                       ("stack overflow", MEMORY)),
    "c_recursion": ("local function f(s) return (s:gsub('.', f)) end f('abc')",
                    ("stack overflow", "C stack", MEMORY, LOOP)),
    "pattern_backtracking": ("string.find(string.rep('a', 1e5), '.-.-.-.-.-.-b')", LOOP),
    "pattern_backreference": ("string.match(string.rep('a', 1e5), '(.-)%1$')", LOOP),
    "gsub_backtracking": ("string.gsub(string.rep('a', 1e5), '.-.-.-x', '')", LOOP),
    "sort_comparator_loop": (
        "table.sort({3, 2, 1}, function(a, b) while true do end end)", LOOP),
    "slow_c_calls": ("local s = string.rep('é', 1e6) while true do utf8.len(s) end",
                     (TIME, LOOP)),
    "os_execute": ("os.execute('touch /tmp/tremplin-pwned')", "field 'execute'"),
    "io_open": ("io.open('/etc/passwd')", "global 'io'"),
    "load_binary_chunk": ("load('\\27Lua\\84\\0')()", "global 'load'"),
    "binary_library": ("use('bytecode')", "binary chunks are refused"),
    "string_dump": ("string.dump(function() end)", "field 'dump'"),
    "debug_library": ("debug.getregistry()", "global 'debug'"),
    "string_metatable": ("getmetatable('').__index.rep = nil", "global 'getmetatable'"),
    "string_method_injection": ("('x').__index = {}", "attempt to index"),
    "setmetatable_globals": ("setmetatable(_G, {__index = function() end})", "global 'setmetatable'"),
    "rawset": ("rawset(_G, 'x', 1)", "global 'rawset'"),
    "collectgarbage": ("collectgarbage('stop')", "global 'collectgarbage'"),
    "require": ("require('os')", "global 'require'"),
    "dofile": ("dofile('/etc/passwd')", "global 'dofile'"),
    "package_loadlib": ("package.loadlib('libc.so.6', 'system')", "global 'package'"),
    "table_move_bomb": ("table.move({}, 1, 1e12, 2)", "table.move"),
    "notify_flood": (
        "for i = 1, 1e6 do notify{kind = 'flood', recipient_role = 'cip', message = 'x',"
        " dedup_key = 'k' .. i} end", "at most 1000 notifications"),
    "log_flood": ("while true do log('warning', 'spam\\nINJECTED line') end", LOOP),
    "http_metadata": (
        "http{url = 'https://169.254.169.254/latest/meta-data/', callback = print}",
        "not in this script's http_hosts"),
    "view_sql_injection": ("view('staff.v1', {role = \"admin' OR 1=1 --\"})",
                           "must be eti, cip, coordinator or admin"),
    "huge_error": ("error(string.rep('x', 1e6))", "xxxxxxxx"),
    "yield_outside": ("coroutine.yield()", "outside a coroutine"),
}

LIB_FILES = {
    # A compiled chunk's header: use() must refuse it as binary.
    "lib/bytecode.lua": b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08xV\x00\x00",
}


def script_text(name, body):
    return ("-- %s: hostile\n"
            "on('structure.created', function(event)\n"
            "  %s\n"
            "end)\n" % (name, body))


@pytest.fixture(scope="module")
def attacked(module_daemons):
    """The daemon after the attack, the health latencies measured during it."""
    files = dict(LIB_FILES)
    scripts = {}
    for name, (body, _) in HOSTILE.items():
        files["rules/%s.lua" % name] = script_text(name, body)
        scripts[name] = {"role": "coordinator", "limits": {"max_failures": 1}}
    # A well-behaved script beside them, that must keep working.
    files["rules/bystander.lua"] = (
        "-- bystander: counts structures\n"
        "on('structure.created', function(e) log('info', 'saw ' .. e.subject) end)\n")
    scripts["bystander"] = {"role": "coordinator"}
    # The issue's own example: a lazy match that succeeds at once.
    files["rules/pattern_issue_example.lua"] = (
        "-- pattern_issue_example\n"
        "on('structure.created', function(e)\n"
        "  local i = string.find(string.rep('a', 1e5) .. 'b', '.-.-.-.-.-.-b')\n"
        "  log('info', 'found at ' .. i)\n"
        "end)\n")
    scripts["pattern_issue_example"] = {"role": "coordinator"}
    d = ls.script_daemon(module_daemons, scripts, files)
    for name in HOSTILE:
        assert ls.item(d, name)["state"] == "enabled", ls.item(d, name)

    latencies, stop, errors = [], threading.Event(), []

    def poll():
        try:
            with d.new_client() as c:
                while not stop.is_set():
                    t0 = time.monotonic()
                    a = c.get("/v1/health")
                    latencies.append(time.monotonic() - t0)
                    if a.status != 200:
                        errors.append(a)
        except Exception as e:  # noqa: B902 - reported by the test
            errors.append(e)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        d.create("/v1/structures", tt.structure_body())

        def all_done():
            its = ls.items(d)
            return all(its[n]["state"] == "disabled_failed" for n in HOSTILE)
        tt.wait_for("every hostile script disabled", all_done, timeout=120)
        ls.wait_line(d, "bystander", "saw structure/")
        ls.wait_line(d, "pattern_issue_example", "found at 1")
    finally:
        stop.set()
        poller.join()
    d.latencies = latencies
    d.poll_errors = errors
    return d


def test_attack__health_answers_within_100ms_throughout(attacked):
    assert attacked.poll_errors == []
    assert len(attacked.latencies) >= 10, attacked.latencies
    worst = max(attacked.latencies)
    print("health during the attack: %d calls, worst %.1f ms" % (len(attacked.latencies),
                                                                worst * 1000))
    assert worst < HEALTH_BOUND_S, "GET /v1/health took %.1f ms during the attack" % (
        worst * 1000)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile__contained__disabled_with_the_reason(attacked, name):
    p = ls.item(attacked, name)
    assert p["state"] == "disabled_failed", p
    err = p["last_error"]
    words = HOSTILE[name][1]
    words = words if isinstance(words, tuple) else (words,)
    assert any(w in err for w in words), (name, err)
    assert err.startswith("disabled"), err
    assert "on(\"structure.created\") handler" in err, err
    assert p["subscriptions"] == [] and p["version"] is None, p
    assert len(err) <= 4200, len(err)


def test_hostile__limits_report_where__traceback(attacked):
    err = ls.item(attacked, "endless_loop")["last_error"]
    assert "stack traceback:" in err and "rules/endless_loop.lua:3" in err, err


def test_hostile__escapes_left_nothing(attacked):
    import os
    assert not os.path.exists("/tmp/tremplin-pwned")
    assert ls.outbox(attacked, "source = ?", ("lua:notify_flood",)) == []
    spam = [x for x in ls.script_lines(attacked, "log_flood") if "spam" in x]
    assert 1 <= len(spam) <= 50, len(spam)
    assert all("\n" not in x for x in spam)
    assert any("spam INJECTED line" in x for x in spam)
    assert "log lines dropped" in attacked.log()


def test_hostile__the_others_run_on(attacked):
    assert ls.item(attacked, "bystander")["state"] == "enabled"
    assert ls.item(attacked, "pattern_issue_example")["state"] == "enabled"
    # And the daemon still takes writes and hands out events.
    before = len(ls.script_lines(attacked, "bystander"))
    attacked.create("/v1/structures", tt.structure_body())
    tt.wait_for("the bystander's second event",
                lambda: len(ls.script_lines(attacked, "bystander")) > before)
    assert attacked.get("/v1/health").status == 200


def test_hostile__at_load__refused_and_reported(make_daemon):
    """The same attacks in the main chunk: the script never starts."""
    picks = ["endless_loop", "table_bomb", "xpcall_looping_handler", "os_execute",
             "string_dump", "pattern_backtracking"]
    files, scripts = dict(LIB_FILES), {}
    for name in picks:
        files["rules/%s.lua" % name] = "-- %s at load\n%s\n" % (name, HOSTILE[name][0])
        scripts[name] = {"role": "eti"}
        if HOSTILE[name][1] == MEMORY:
            # The memory cap is the limit under test: under ASan on a loaded
            # machine, 50 ms of allocating may end before the memory does.
            scripts[name]["limits"] = {"time_ms": 5000}
    d = ls.script_daemon(make_daemon, scripts, files)
    for name in picks:
        p = ls.item(d, name)
        assert p["state"] == "disabled_failed", p
        words = HOSTILE[name][1]
        words = words if isinstance(words, tuple) else (words,)
        assert any(w in p["last_error"] for w in words), p
    assert d.get("/v1/health").status == 200
