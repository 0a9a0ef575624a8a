"""Hostile site scripts: the table shared by test_lua_sandbox.py and bench/sandbox_health.py.

HOSTILE maps a name to (the body of an event handler, words its failure must
hold, the limit it tests). A test of one limit gives the others room
(limits_for): a memory bomb runs with time and instructions to spare, so that
only the memory cap can end it, however slow the machine; a loop tested
against the instruction limit gets a minute of wall clock; the time-limit
cases get instructions to spare. Scripts that test no limit (escapes,
refusals) get room in all three.
"""

INSTR = "instruction limit exceeded"
MEMORY = "memory limit exceeded"
TIME = "time limit exceeded"

# The limits a script has when its section says nothing (tremplin.conf(5)).
DEFAULT_LIMITS = {"memory_mib": 8, "instructions": 1000000, "time_ms": 50}
# Far more than any hostile script below needs to reach the limit it tests.
ROOM = {"memory_mib": 64, "instructions": 10 ** 9, "time_ms": 60000}

# name -> (the body of the handler, words the reason must hold (a tuple: any of
# them), the limit under test: "memory_mib", "instructions", "time_ms" or None)
HOSTILE = {
    "endless_loop": ("while true do end", INSTR, "instructions"),
    "goto_loop": ("::top:: goto top", INSTR, "instructions"),
    "tail_call_loop": ("local function f() return f() end f()", INSTR, "instructions"),
    "table_bomb": ("local t = {} while true do t[#t + 1] = {} end", MEMORY, "memory_mib"),
    "string_rep_bomb": ("local s = string.rep('x', 1 << 30)", MEMORY, "memory_mib"),
    "concat_bomb": ("local s = 'x' while true do s = s .. s end", MEMORY, "memory_mib"),
    "array_bomb": ("local t = {} for i = 1, 1e9 do t[i] = i end", MEMORY, "memory_mib"),
    "pcall_swallows_loop": ("while true do pcall(function() while true do end end) end",
                            INSTR, "instructions"),
    "pcall_swallows_memory": ("while true do pcall(string.rep, 'x', 1 << 30) end", MEMORY,
                              "memory_mib"),
    "xpcall_failing_handler": (
        "while true do xpcall(error, function() error('again') end) end", INSTR,
        "instructions"),
    "xpcall_looping_handler": (
        "xpcall(function() while true do end end, function() while true do end end)", INSTR,
        "instructions"),
    "coroutine_wrap_dodge": ("coroutine.wrap(function() while true do end end)()", INSTR,
                             "instructions"),
    "coroutine_resume_dodge": (
        "local co = coroutine.create(function() while true do end end)"
        " while true do coroutine.resume(co) end", INSTR, "instructions"),
    "coroutine_yield_loop": (
        "local co = coroutine.wrap(function() while true do coroutine.yield() end end)"
        " while true do co() end", INSTR, "instructions"),
    "deep_recursion": ("local function f(n) return 1 + f(n + 1) end f(1)",
                       ("stack overflow", MEMORY), "memory_mib"),
    "c_recursion": ("local function f(s) return (s:gsub('.', f)) end f('abc')",
                    ("stack overflow", "C stack"), None),
    "pattern_backtracking": ("string.find(string.rep('a', 1e5), '.-.-.-.-.-.-b')", INSTR,
                             "instructions"),
    "pattern_backreference": ("string.match(string.rep('a', 1e5), '(.-)%1$')", INSTR,
                              "instructions"),
    "gsub_backtracking": ("string.gsub(string.rep('a', 1e5), '.-.-.-x', '')", INSTR,
                          "instructions"),
    "sort_comparator_loop": (
        "table.sort({3, 2, 1}, function(a, b) while true do end end)", INSTR, "instructions"),
    "slow_loop": ("while true do end", TIME, "time_ms"),
    "slow_c_calls": ("local s = string.rep('é', 1e6) while true do utf8.len(s) end", TIME,
                     "time_ms"),
    "os_execute": ("os.execute('touch /tmp/tremplin-pwned')", "field 'execute'", None),
    "io_open": ("io.open('/etc/passwd')", "global 'io'", None),
    "load_binary_chunk": ("load('\\27Lua\\84\\0')()", "global 'load'", None),
    "binary_library": ("use('bytecode')", "binary chunks are refused", None),
    "string_dump": ("string.dump(function() end)", "field 'dump'", None),
    "debug_library": ("debug.getregistry()", "global 'debug'", None),
    "string_metatable": ("getmetatable('').__index.rep = nil", "global 'getmetatable'", None),
    "string_method_injection": ("('x').__index = {}", "attempt to index", None),
    "setmetatable_globals": ("setmetatable(_G, {__index = function() end})",
                             "global 'setmetatable'", None),
    "rawset": ("rawset(_G, 'x', 1)", "global 'rawset'", None),
    "collectgarbage": ("collectgarbage('stop')", "global 'collectgarbage'", None),
    "require": ("require('os')", "global 'require'", None),
    "dofile": ("dofile('/etc/passwd')", "global 'dofile'", None),
    "package_loadlib": ("package.loadlib('libc.so.6', 'system')", "global 'package'", None),
    "table_move_bomb": ("table.move({}, 1, 1e12, 2)", "table.move", None),
    "notify_flood": (
        "for i = 1, 1e6 do notify{kind = 'flood', recipient_role = 'cip', message = 'x',"
        " dedup_key = 'k' .. i} end", "at most 1000 notifications", None),
    "log_flood": ("while true do log('warning', 'spam\\nINJECTED line') end", INSTR,
                  "instructions"),
    "http_metadata": (
        "http{url = 'https://169.254.169.254/latest/meta-data/', callback = print}",
        "not in this script's http_hosts", None),
    "view_sql_injection": ("view('staff.v1', {role = \"admin' OR 1=1 --\"})",
                           "must be eti, cip, coordinator or admin", None),
    "huge_error": ("error(string.rep('x', 1e6))", "xxxxxxxx", None),
    "yield_outside": ("coroutine.yield()", "outside a coroutine", None),
    # Issue 15's findings.
    "http_smuggling": (
        "for _, h in ipairs{'Content-Length', 'transfer-encoding', 'HOST', 'Connection',"
        " 'Expect', 'Upgrade', 'TE', 'Trailer'} do"
        "  local ok, e = pcall(http, {url = 'https://localhost/', headers = {[h] = '0'},"
        "    body = 'TRACE /x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n', callback = print})"
        "  assert(not ok and e:find(\"is not the script's to set\", 1, true), h)"
        " end error('all eight refused')", "all eight refused", None),
    "options_backing_table": ("local _, raw = pairs(options) raw.days = 9999",
                              "read-only table", None),
    "script_backing_table": ("local _, raw = pairs(script) raw.role = 'admin'",
                             "read-only table", None),
    "log_injection": ("error('x\\rtremplind: info: FORGED\\27[2K\\194\\155')", "FORGED",
                      None),
    "address_leaks": (
        "local s = tostring(print) .. tostring({}) .. tostring(json.null)"
        " .. tostring(coroutine.create(print)) .. string.format('%s %10s', {}, print)"
        " assert(not s:find('0x') and not s:find('%x%x%x%x%x%x'), s)"
        " string.format('%-5p', 'x')", "%p is not available", None),
    "use_cycle": ("use('cycle_a')", "a cycle of use()", None),
    "json_shared_tables": (
        "local l1 = {} for i = 1, 100 do l1[i] = i end"
        " local l2 = {} for i = 1, 100 do l2[i] = l1 end"
        " local l3 = {} for i = 1, 100 do l3[i] = l2 end"
        " local l4 = {} for i = 1, 100 do l4[i] = l3 end"
        " while true do pcall(json.encode, l4) end", INSTR, "instructions"),
    "json_shared_memory": (
        "local l1 = {} for i = 1, 100 do l1[i] = i end"
        " local l2 = {} for i = 1, 100 do l2[i] = l1 end"
        " local l3 = {} for i = 1, 100 do l3[i] = l2 end"
        " json.encode(l3)", MEMORY, "memory_mib"),
    "view_shared_tables": (
        "local l1 = {} for i = 1, 100 do l1[i] = i end"
        " local l2 = {} for i = 1, 100 do l2[i] = l1 end"
        " local l3 = {} for i = 1, 100 do l3[i] = l2 end"
        " view('staff.v1', {role = l3})", MEMORY, "memory_mib"),
    "json_decode_nodes": (
        "local t, why = json.decode('[' .. ('{}'):rep(1100000, ',') .. ']') error(why)",
        "more than 200000 values", None),
    "json_decode_memory": ("json.decode('[' .. ('{}'):rep(150000, ',') .. ']')", MEMORY,
                           "memory_mib"),
    "os_date_format": ("os.date(('%n'):rep(1.8e6))", "longer than 256 bytes", None),
    # Quotas across calls (their limits in QUOTAS): a pcall that catches the
    # error changes nothing, the script goes.
    "notify_quota_hour": (
        "for i = 1, 10 do pcall(notify, {kind = 'q', recipient_role = 'cip',"
        " message = 'x', dedup_key = 'q' .. i}) end", "notifications_per_hour", None),
    "notify_quota_pending": (
        "for i = 1, 10 do notify{kind = 'q', recipient_role = 'cip',"
        " message = 'x', dedup_key = 'p' .. i} end", "outbox_pending", None),
    "http_quota": (
        "local function go() for k = 1, 2 do"
        "  http{url = 'https://localhost:1/', callback = function(r) go() end} end end go()",
        "http_per_minute", None),
    "cpu_quota": ("local t = os.clock() while os.clock() - t < 0.03 do end",
                  "cpu_ms_per_minute", None),
}

# The quotas a script is tested against, and what else its section needs.
QUOTAS = {
    "notify_flood": {"notifications_per_hour": 10 ** 6, "outbox_pending": 10 ** 6},
    "notify_quota_hour": {"notifications_per_hour": 5},
    "notify_quota_pending": {"outbox_pending": 3},
    "http_quota": {"http_per_minute": 6},
    "cpu_quota": {"cpu_ms_per_minute": 20},
}
SECTIONS = {"http_quota": {"http_hosts": ["localhost:1"]}}
# The call a script is disabled in, when not its event handler.
WHERE = {"http_quota": "http{} callback"}

LIB_FILES = {
    # A compiled chunk's header: use() must refuse it as binary.
    "lib/bytecode.lua": b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08xV\x00\x00",
    # use() in a cycle: refused with a message, not a C stack overflow.
    "lib/cycle_a.lua": "return use('cycle_b')\n",
    "lib/cycle_b.lua": "return use('cycle_a')\n",
}


def reasons(name):
    """The words (a tuple, any of them) the failure of script `name` must hold."""
    words = HOSTILE[name][1]
    return words if isinstance(words, tuple) else (words,)


def limits_for(name):
    """The limits of script `name`: its own at the default, room in the others."""
    tested = HOSTILE[name][2]
    lim = dict(ROOM)
    if tested is not None:
        lim[tested] = DEFAULT_LIMITS[tested]
    lim.update(QUOTAS.get(name, {}))
    return lim


def section(name, role="coordinator", **limits):
    """The configuration section of hostile script `name`."""
    sec = {"role": role, "limits": dict(limits_for(name), **limits)}
    sec.update(SECTIONS.get(name, {}))
    return sec


def script_text(name, body):
    return ("-- %s: hostile\n"
            "on('structure.created', function(event)\n"
            "  %s\n"
            "end)\n" % (name, body))


def attack_files():
    """The files of every hostile script, and of a well-behaved bystander and the
    issue's lazy match that succeeds at once: {relative path: text}."""
    files = dict(LIB_FILES)
    for name, (body, _, _) in HOSTILE.items():
        files["rules/%s.lua" % name] = script_text(name, body)
    files["rules/bystander.lua"] = (
        "-- bystander: counts structures\n"
        "on('structure.created', function(e) log('info', 'saw ' .. e.subject) end)\n")
    files["rules/pattern_issue_example.lua"] = (
        "-- pattern_issue_example\n"
        "on('structure.created', function(e)\n"
        "  local i = string.find(string.rep('a', 1e5) .. 'b', '.-.-.-.-.-.-b')\n"
        "  log('info', 'found at ' .. i)\n"
        "end)\n")
    return files
