"""The script API on a real daemon: on, every, view, notify, log, print,
options, http, json, date, use, script; the configuration of scripts; the
failure policy; reload by SIGHUP and by POST /v1/plugins/reload.

Scripts report what they saw in the daemon's log ("script NAME: ..."), or
in the outbox; the tests read both.
"""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

import lua_support as ls
import tremplin_test as tt

CLOCK = "2026-03-02T08:00:00Z"  # a Monday; 09:00 in Paris


def one(make_daemon, text, name="probe", role="coordinator", options=None, files=None,
        section=None, **kw):
    """A daemon running the one script `text` as `name`."""
    sec = {"role": role}
    if options is not None:
        sec["options"] = options
    sec.update(section or {})
    f = {"rules/%s.lua" % name: text}
    f.update(files or {})
    return ls.script_daemon(make_daemon, {name: sec}, f, **kw)


def results(d, name="probe", since=0):
    """The RESULT lines a probe logged: {key: decoded JSON}."""
    out = {}
    for line in ls.script_lines(d, name, since):
        m = re.match(r"RESULT (\S+) (.*)$", line)
        if m:
            out[m.group(1)] = json.loads(m.group(2))
    return out


PROBE = """
local function result(key, value) log("info", "RESULT " .. key .. " " .. json.encode(value)) end
local function err(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(e)
end
"""


# -- on ----------------------------------------------------------------------


def test_on__structure_created__handler_gets_the_event(make_daemon):
    d = one(make_daemon, PROBE + """
on("structure.created", function(e)
  result("event", {id = e.id, type = e.type, subject = e.subject, actor = e.actor,
                   name = e.payload.object.name, kind = e.payload.object.kind,
                   has_created_at = type(e.created_at) == "string"})
end)
on("structure.*", function(e) result("prefix", e.type) end)
on("*", function(e) result("star", e.type) end)
""")
    s = d.create("/v1/structures", tt.structure_body(name="Atelier Vélo"))
    tt.wait_for("three handlers", lambda: len(results(d)) == 3)
    r = results(d)
    assert r["event"]["type"] == "structure.created"
    assert r["event"]["subject"] == "structure/%d" % s["id"]
    assert (r["event"]["name"], r["event"]["kind"]) == ("Atelier Vélo", "ACI")
    assert r["event"]["actor"] == tt.SELF_USER and r["event"]["has_created_at"]
    assert r["prefix"] == r["star"] == "structure.created"
    subs = {x["name"]: x for x in ls.item(d, "probe")["subscriptions"]}
    assert sorted(subs) == ["probe/on:*", "probe/on:structure.*", "probe/on:structure.created"]
    tt.wait_for("delivered counted",
                lambda: all(x["delivered"] >= 1 for x in ls.item(d, "probe")["subscriptions"]))


def test_on__cursor__events_while_stopped_delivered_after_restart(make_daemon):
    d = one(make_daemon, PROBE + """
on("structure.created", function(e) result("seen" .. e.id, e.subject) end)
""")
    d.stop()
    # Written by another daemon process on the same database: no script runs there.
    d.settings["extra"]["scripts"] = {}
    d.write_config()
    d.start()
    s = d.create("/v1/structures", tt.structure_body())
    d.stop()
    d.settings["extra"]["scripts"] = {"probe": {"role": "coordinator"}}
    d.write_config()
    offset = d.log_size()
    d.start()
    tt.wait_for("the event of the downtime", lambda: results(d, since=offset))
    assert list(results(d, since=offset).values()) == ["structure/%d" % s["id"]]


@pytest.mark.parametrize("code, words", [
    ("on('bad type!', print)", "is not an event type"),
    ("on('a*b', print)", "is not an event type"),
    ("on('structure.created')", "function expected"),
    ("every(0, print)", "whole seconds"),
    ("every('1x', print)", "whole seconds"),
    ("every(0.5, print)", "whole seconds"),
    ("every(1, print, {when = 'now'})", "unknown option"),
    ("every(1, print, {name = 'Bad Name'})", "[a-z0-9_]"),
    ("every(1, print, {name = 'a'}) every(2, print, {name = 'a'})", "two timers"),
])
def test_registration__bad_arguments__refused_at_load(make_daemon, code, words):
    d = one(make_daemon, code + "\n")
    p = ls.item(d, "probe")
    assert p["state"] == "disabled_failed", p
    assert words in p["last_error"], p


def test_registration__after_load__refused(make_daemon):
    d = one(make_daemon, """
every(1, function() on("structure.created", print) end, {immediately = true})
""", section={"limits": {"max_failures": 1}})
    p = ls.wait_state(d, "probe", "disabled_failed")
    assert "on() is called when the script loads" in p["last_error"], p


# -- every -------------------------------------------------------------------


def test_every__runs_each_period_and_immediately(make_daemon):
    d = one(make_daemon, PROBE + """
local n = 0
every(1, function() n = n + 1 log("info", "tick " .. n) end)
every("1d", function() log("info", "daily") end, {name = "daily", immediately = true})
""")
    ls.wait_line(d, "probe", "daily")
    ls.wait_line(d, "probe", "tick 2")
    timers = {t["name"]: t for t in ls.item(d, "probe")["script"]["timers"]}
    assert timers["probe/every1"]["period_s"] == 1 and timers["probe/every1"]["runs"] >= 2
    assert timers["probe/daily"] == {"name": "probe/daily", "period_s": 86400, "runs": 1}
    # Durable: after a restart the daily run is not due again.
    offset = d.log_size()
    d.restart()
    ls.wait_line(d, "probe", "tick 1", since=offset)
    assert "daily" not in ls.script_lines(d, "probe", since=offset)


# -- view --------------------------------------------------------------------


def add_employee(d, structure_id, end_date, start_date="2025-09-01", referent=None,
                 exit_review_on=None, ended_on=None, exit_on=None, status="in_pathway"):
    """An employee and one contract, written straight into the database."""
    now = "2026-01-01T00:00:00Z"
    con = sqlite3.connect(d.database, timeout=10)
    try:
        cur = con.execute(
            "INSERT INTO employees (structure_id, first_name, last_name, birth_date,"
            " prescriber_kind, referent_cip_id, status, last_contact_at, created_at, updated_at)"
            " VALUES (?, 'Prénom', 'Nom', '1990-05-04', 'france_travail', ?, ?, ?, ?, ?)",
            (structure_id, referent, status, now, now, now))
        emp = cur.lastrowid
        cur = con.execute(
            "INSERT INTO contracts (employee_id, structure_id, start_date, end_date,"
            " initial_end_date, weekly_hours, ended_on, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 26, ?, ?, ?)",
            (emp, structure_id, start_date, end_date, end_date, ended_on, now, now))
        contract = cur.lastrowid
        if exit_on:
            con.execute("INSERT INTO exits (employee_id, exit_date, category, created_at,"
                        " updated_at) VALUES (?, ?, 'autre', ?, ?)", (emp, exit_on, now, now))
        if exit_review_on:
            con.execute("INSERT INTO reviews (employee_id, kind, planned_on, created_at,"
                        " updated_at) VALUES (?, 'exit', ?, ?, ?)",
                        (emp, exit_review_on, now, now))
        con.commit()
        return emp, contract
    finally:
        con.close()


VIEWS = PROBE + """
on("structure.created", function()
  result("structures", view("structures.v1"))
  result("staff", view("staff.v1"))
  result("cips", view("staff.v1", {role = "cip"}))
  result("ending", view("contracts_ending.v1", {date = "2026-03-02", days = 30}))
  result("errors", {
    err(view, "nope.v1"),
    err(view, "contracts_ending.v1", {date = "2026-03-02"}),
    err(view, "contracts_ending.v1", {date = "02/03/2026", days = 3}),
    err(view, "contracts_ending.v1", {date = "2026-03-02", days = -1}),
    err(view, "contracts_ending.v1", {date = "2026-03-02", days = 3, extra = 1}),
    err(view, "staff.v1", {role = "boss"}),
    err(view, "staff.v1", {1, 2}),
  })
end)
"""


def test_view__rows_and_parameters(make_daemon):
    d = one(make_daemon, VIEWS)
    cip = d.create("/v1/staff", tt.staff_body(role="cip", name="Conseillère"))
    st = d.create("/v1/structures", tt.structure_body(name="Premier"))
    d.stop()
    e1, c1 = add_employee(d, st["id"], "2026-03-12", referent=cip["id"])
    e2, c2 = add_employee(d, st["id"], "2026-04-20")                       # 49 days: out
    e3, c3 = add_employee(d, st["id"], "2026-03-20", exit_review_on="2026-03-15")
    e4, c4 = add_employee(d, st["id"], "2026-03-05", ended_on="2026-02-01")  # ended early
    e5, c5 = add_employee(d, st["id"], "2026-03-31", start_date="2026-03-05")  # not started
    e6, c6 = add_employee(d, st["id"], "2026-03-25", exit_on="2026-03-25", status="exited")
    # Exited, then back in the pathway on the same contract: its end matters again.
    e7, c7 = add_employee(d, st["id"], "2026-03-28", exit_on="2026-02-20")
    d.start()
    offset = d.log_size()
    d.create("/v1/structures", tt.structure_body(name="Second"))
    tt.wait_for("the view results", lambda: "errors" in results(d, since=offset))
    r = results(d, since=offset)
    assert [s["name"] for s in r["structures"]][:2] == ["Premier", "Second"]
    assert set(r["structures"][0]) == {"id", "name", "siret", "kind"}  # null annexe left out
    assert {s["role"] for s in r["staff"]} == {"admin", "coordinator", "cip", "eti"}
    assert all(s["active"] is True for s in r["staff"]) and "email" not in r["staff"][0]
    assert [s["id"] for s in r["cips"]] == sorted(
        s["id"] for s in r["staff"] if s["role"] == "cip")
    # The person as a notice may name them: first name and initial.
    assert {row.pop("employee_display") for row in r["ending"]} == {"Prénom N."}
    assert r["ending"] == [
        {"contract_id": c1, "employee_id": e1, "structure_id": st["id"],
         "end_date": "2026-03-12", "referent_cip_id": cip["id"], "exit_review_planned": False},
        {"contract_id": c3, "employee_id": e3, "structure_id": st["id"],
         "end_date": "2026-03-20", "exit_review_planned": True},
        {"contract_id": c7, "employee_id": e7, "structure_id": st["id"],
         "end_date": "2026-03-28", "exit_review_planned": False},
    ]
    errors = r["errors"]
    assert "no view named 'nope.v1'" in errors[0]
    assert "missing parameter 'days'" in errors[1]
    assert "'date' must be a date" in errors[2]
    assert "'days' must be an integer from 0 to 3660" in errors[3]
    assert "unknown parameter 'extra'" in errors[4]
    assert "'role' must be eti, cip, coordinator or admin" in errors[5]
    assert "parameters must be a table of names" in errors[6]


@pytest.mark.parametrize("role, allowed", [
    ("eti", True), ("cip", True), ("coordinator", True), ("admin", False)])
def test_view__role__decides_what_a_script_reads(make_daemon, role, allowed):
    d = one(make_daemon, PROBE + """
every(1, function()
  result("structures", #view("structures.v1") >= 0)
  local ok, e = pcall(view, "contracts_ending.v1", {date = "2026-03-02", days = 30})
  result("contracts", ok or e)
end, {immediately = true})
""", role=role)
    tt.wait_for("results", lambda: "contracts" in results(d))
    r = results(d)
    assert r["structures"] is True
    if allowed:
        assert r["contracts"] is True, r
    else:
        assert "may not be read by the admin role" in r["contracts"], r


# -- notify ------------------------------------------------------------------


def test_notify__queued_once_per_dedup_key(make_daemon):
    d = one(make_daemon, PROBE + """
on("structure.created", function(e)
  local first = notify{kind = "test.kind", recipient_role = "cip", message = "Bonjour, à faire",
                       dedup_key = "k1"}
  local second = notify{kind = "test.kind", recipient_role = "cip", message = "encore",
                        dedup_key = "k1"}
  local keyless = notify{kind = "test.kind", recipient_role = "coordinator", message = "sans clé"}
  result("notify", {first, second, keyless})
end)
""")
    d.create("/v1/structures", tt.structure_body())
    tt.wait_for("notify", lambda: "notify" in results(d))
    assert results(d)["notify"] == [True, False, True]
    # The call's notifications commit when it returns, just after its log line.
    rows = tt.wait_for("the outbox rows", lambda: ls.outbox(d))
    assert [(r["source"], r["kind"], r["recipient_role"], r["recipient_staff_id"],
             r["employee_id"], r["message"], r["dedup_key"], r["status"]) for r in rows] == [
        ("lua:probe", "test.kind", "cip", None, None, "Bonjour, à faire", "lua:probe:k1",
         "pending"),
        ("lua:probe", "test.kind", "coordinator", None, None, "sans clé", None, "pending"),
    ]


def test_notify__staff_and_employee_checked(make_daemon):
    d = one(make_daemon, PROBE + """
on("structure.created", function(e)
  local sid = tonumber(e.payload.object.name:match("staff(%d+)"))
  local eid = tonumber(e.payload.object.name:match("emp(%d+)"))
  if not sid then return end
  result("ok", notify{kind = "k", recipient_staff_id = sid, employee_id = eid, message = "m"})
end)
""")
    cip = d.create("/v1/staff", tt.staff_body(role="cip"))
    st = d.create("/v1/structures", tt.structure_body(name="Base"))
    d.stop()
    emp, _ = add_employee(d, st["id"], "2026-03-12")
    d.start()
    d.create("/v1/structures", tt.structure_body(name="staff%d emp%d" % (cip["id"], emp)))
    tt.wait_for("ok", lambda: "ok" in results(d))
    row = tt.wait_for("the outbox row", lambda: ls.outbox(d))[-1]
    assert (row["recipient_staff_id"], row["employee_id"], row["recipient_role"]) == (
        cip["id"], emp, None)


NOTIFY_ERRORS = [
    ("{kind = 'k', recipient_role = 'cip', message = 'm', extra = 1}", "unknown field 'extra'"),
    ("{recipient_role = 'cip', message = 'm'}", "kind is required"),
    ("{kind = 'Bad Kind', recipient_role = 'cip', message = 'm'}", "kind is required"),
    ("{kind = 'k', message = 'm'}", "give one recipient"),
    ("{kind = 'k', recipient_role = 'cip', recipient_staff_id = 1, message = 'm'}",
     "give one recipient"),
    ("{kind = 'k', recipient_role = 'boss', message = 'm'}", "is not a role"),
    ("{kind = 'k', recipient_staff_id = 999999, message = 'm'}", "not an active staff account"),
    ("{kind = 'k', recipient_staff_id = -1, message = 'm'}", "positive integer"),
    ("{kind = 'k', recipient_role = 'cip', employee_id = 999999, message = 'm'}",
     "is not an employee"),
    ("{kind = 'k', recipient_role = 'cip'}", "message is required"),
    ("{kind = 'k', recipient_role = 'cip', message = ''}", "message is required"),
    ("{kind = 'k', recipient_role = 'cip', message = 'a\\0b'}", "message is required"),
    ("{kind = 'k', recipient_role = 'cip', message = '\\255'}", "message is required"),
    ("{kind = 'k', recipient_role = 'cip', message = string.rep('é', 1001)}",
     "message is required"),
    ("{kind = 'k', recipient_role = 'cip', message = 'm', dedup_key = ''}", "dedup_key"),
    ("{kind = 'k', recipient_role = 'cip', message = 'm', dedup_key = 12}", "must be a string"),
    ("'not a table'", "table expected"),
]


def test_notify__invalid__refused_with_the_reason_and_nothing_written(make_daemon):
    calls = "\n".join("  errors[#errors + 1] = err(notify, %s)" % c for c, _ in NOTIFY_ERRORS)
    d = one(make_daemon, PROBE + """
on("structure.created", function(e)
  local errors = {}
%s
  for i, e in ipairs(errors) do result("error" .. i, e) end
  result("done", #errors)
end)
""" % calls)
    d.create("/v1/structures", tt.structure_body())
    tt.wait_for("errors", lambda: "done" in results(d))
    r = results(d)
    assert r["done"] == len(NOTIFY_ERRORS)
    got = [r["error%d" % (i + 1)] for i in range(len(NOTIFY_ERRORS))]
    for (code, words), msg in zip(NOTIFY_ERRORS, got):
        assert words in msg, (code, msg)
    assert ls.outbox(d) == []


def test_notify__failed_call__writes_nothing(make_daemon):
    d = one(make_daemon, """
on("structure.created", function(e)
  notify{kind = "k", recipient_role = "cip", message = "first", dedup_key = "a"}
  error("after the notify")
end)
""", section={"limits": {"max_failures": 1}})
    d.create("/v1/structures", tt.structure_body())
    ls.wait_state(d, "probe", "disabled_failed")
    assert ls.outbox(d) == []


# -- log, print, options, script, json, date, use ----------------------------


def test_log_and_print__levels_one_line_each(make_daemon):
    d = one(make_daemon, """
log("info", "line\\none")
log("warning", "careful")
log("error", "broken")
log("debug", "hidden at info level")
print("printed", 1, true, nil)
local ok, e = pcall(log, "loud", "x")
log("info", "bad level: " .. tostring(not ok and e:match("invalid option") ~= nil))
""")
    lines = ls.script_lines(d, "probe")
    assert "line\\none" in lines  # escaped: a script cannot start a log line of its own
    assert "careful" in lines and "error: broken" in lines
    assert "hidden at info level" not in lines
    assert "printed\\t1\\ttrue\\tnil" in lines
    assert "bad level: true" in lines


def test_options_and_script__read_only(make_daemon):
    d = one(make_daemon, PROBE + """
result("options", {days = options.days, hosts = options.hosts, nested = options.sub.x,
                   n = #options.hosts})
local keys = {} for k in pairs(options) do keys[#keys + 1] = k end table.sort(keys)
result("keys", keys)
result("errors", {err(function() options.days = 1 end), err(function() options.sub.x = 2 end),
                  err(function() script.name = "x" end),
                  -- pairs() hands out no backing table, at any level
                  err(function() local _, raw = pairs(options) raw.days = 9999 end),
                  err(function() local _, raw = pairs(options.sub) raw.x = 9 end),
                  err(function() local _, raw = pairs(script) raw.role = "admin" end),
                  err(function() for _, v in pairs(options) do
                    if type(v) == "table" then v.x = 3 end end end)})
local f, st = pairs(options.sub)
local k, v = f(st, nil)
result("iterated", {k = k, v = v, days = options.days, x = options.sub.x, role = script.role})
result("script", {name = script.name, role = script.role})
""", options={"days": 12, "hosts": ["a", "b"], "sub": {"x": 1}}, role="cip")
    r = results(d)
    assert r["options"] == {"days": 12, "hosts": ["a", "b"], "nested": 1, "n": 2}
    assert r["keys"] == ["days", "hosts", "sub"]
    assert len(r["errors"]) == 7 and all("read-only" in e for e in r["errors"]), r["errors"]
    assert r["iterated"] == {"k": "x", "v": 1, "days": 12, "x": 1, "role": "cip"}
    assert r["script"] == {"name": "probe", "role": "cip"}


def test_json_and_date__on_the_test_clock(make_daemon):
    # 23:30 UTC on 2 March is 00:30 on 3 March in Paris (winter time).
    d = one(make_daemon, PROBE + """
result("today", date.today())
result("now", date.now())
result("json", json.decode(json.encode({a = {1, 2, json.null}, b = "é"})))
result("week", {date.start_of_week(date.today()), date.weekday(date.today()),
                date.business_days(date.today(), date.add_days(date.today(), 7)),
                date.business_days("2026-05-11", "2026-05-18", true)})
result("bad", err(date.add_days, "2026-02-30", 1))
""", clock="2026-03-02T23:30:00Z")
    r = results(d)
    assert r["today"] == "2026-03-03"
    assert r["now"].startswith("2026-03-02T23:3")
    assert r["json"] == {"a": [1, 2, None], "b": "é"}  # json.null encodes as null
    assert r["week"] == ["2026-03-02", 2, 5, 4]  # Ascension on 14 May 2026
    assert "is not a date" in r["bad"]
    assert "TREMPLIN_TEST_CLOCK is set" in d.log()


def test_use__library_loaded_once_from_lib(make_daemon):
    d = one(make_daemon, PROBE + """
local a = use("counter")
local b = use("counter")
result("same", a == b and a.loads() == 1)
result("alert", type(use("alert").once))
result("errors", {err(use, "../etc"), err(use, "missing"), err(use, "broken"),
                  err(use, "counter\\0x")})
""", files={"lib/counter.lua": "local n = (n or 0) + 1\nreturn {loads = function() return n end}\n",
            "lib/alert.lua": open(os.path.join(ls.TOP_LUA, "lib", "alert.lua")).read(),
            "lib/broken.lua": "return {\n"})
    r = results(d)
    assert r["same"] is True and r["alert"] == "function"
    assert "not a library name" in r["errors"][0]
    assert "cannot open" in r["errors"][1] and "missing.lua" in r["errors"][1]
    assert "lib/broken.lua:" in r["errors"][2]
    assert "not a library name" in r["errors"][3]  # a NUL does not cut the name short


# -- http --------------------------------------------------------------------


@pytest.fixture(scope="module")
def https_server():
    """The test HTTPS server of tests/net, with a CA made for this run."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a test CA")
    tmp = tempfile.mkdtemp(prefix="tremplin-lua-net-")
    net = os.path.join(tt.TOP_SRCDIR, "tests", "net")
    subprocess.run(["sh", os.path.join(net, "make-ca.sh"), tmp], check=True,
                   capture_output=True)
    proc = subprocess.Popen([sys.executable, os.path.join(net, "server.py"), "--cert",
                             os.path.join(tmp, "server.pem"), "--key",
                             os.path.join(tmp, "server.key")],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        yield {"port": port, "ca": os.path.join(tmp, "ca.pem")}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


HTTP_PROBE = PROBE + """
local base = "https://localhost:" .. options.port
on("structure.created", function()
  http{url = base .. "/echo", method = "POST", body = json.encode({x = 1}),
       headers = {["Content-Type"] = "application/json", ["X-Probe"] = "yes"},
       callback = function(r)
         local e = json.decode(r.body)
         result("echo", {ok = r.ok, status = r.status, method = e.method, body = e.body,
                         probe = e.headers["x-probe"], ctype = r.content_type})
       end}
  http{url = base .. "/ratelimit", callback = function(r)
         result("ratelimit", {status = r.status, retry_after = r.retry_after}) end}
  http{url = base .. "/big", max_bytes = 1000, callback = function(r)
         result("big", {ok = r.ok, error = r.error}) end}
  http{url = base .. "/slow", timeout_ms = 300, callback = function(r)
         result("slow", {ok = r.ok, error = r.error}) end}
  http{url = base .. "/redirect", callback = function(r)
         result("redirect", {status = r.status}) end}
  result("refused", {
    err(http, {url = "https://example.org/", callback = print}),
    err(http, {url = "https://localhost:1/", callback = print}),
    err(http, {url = "http://localhost:" .. options.port .. "/ok", callback = print}),
    err(http, {url = "https://user:pw@localhost:" .. options.port .. "/ok", callback = print}),
    err(http, {url = base .. "/ok"}),
    err(http, {url = base .. "/ok", callback = print, method = "TRACE"}),
    err(http, {url = base .. "/ok", callback = print, headers = {["X-A"] = "a\\r\\nB: c"}}),
    err(http, {url = base .. "/ok", callback = print, follow_redirects = true}),
  })
end)
"""


def test_http__allowed_host__answers_reach_the_callback(make_daemon, https_server):
    port = https_server["port"]
    d = one(make_daemon, HTTP_PROBE, options={"port": port},
            section={"http_hosts": ["localhost:%d" % port]},
            extra={"ca_file": https_server["ca"]})
    d.create("/v1/structures", tt.structure_body())
    tt.wait_for("every callback", lambda: {"echo", "ratelimit", "big", "slow", "redirect",
                                           "refused"} <= set(results(d)))
    r = results(d)
    assert r["echo"] == {"ok": True, "status": 200, "method": "POST", "body": '{"x":1}',
                         "probe": "yes", "ctype": "application/json"}
    assert r["ratelimit"] == {"status": 429, "retry_after": 7}
    assert r["big"] == {"ok": False, "error": "too_big"}
    assert r["slow"] == {"ok": False, "error": "timeout"}
    assert r["redirect"] == {"status": 302}  # never followed: it could leave the allowed hosts
    refused = r["refused"]
    assert "example.org" in refused[0] and "http_hosts" in refused[0]
    assert "port 1" in refused[1]
    assert "only https://" in refused[2]
    assert "no user information" in refused[3]
    assert "callback is required" in refused[4]
    assert "method is GET" in refused[5]
    assert "bad name or value" in refused[6]
    assert "unknown field 'follow_redirects'" in refused[7]
    assert ls.item(d, "probe")["script"]["http_in_flight"] == 0


def test_http__in_flight_when_reloaded__cancelled_cleanly(make_daemon, https_server):
    port = https_server["port"]
    text = PROBE + """
on("structure.created", function()
  http{url = "https://localhost:%d/slow", timeout_ms = 60000,
       callback = function(r) result("late", r) end}
end)
""" % port
    d = one(make_daemon, text, section={"http_hosts": ["localhost:%d" % port]},
            extra={"ca_file": https_server["ca"]})
    d.create("/v1/structures", tt.structure_body())
    tt.wait_for("a request in flight",
                lambda: ls.item(d, "probe")["script"]["http_in_flight"] == 1)
    ls.set_scripts(d, {"probe": {"role": "coordinator", "http_hosts": ["localhost:%d" % port]}},
                   {"rules/probe.lua": text + "\n-- changed\n"})
    assert ls.reload_post(d).status == 200
    assert ls.item(d, "probe")["script"]["http_in_flight"] == 0
    time.sleep(0.5)
    assert "late" not in results(d)


# -- failures ----------------------------------------------------------------


def test_failures__three_in_a_row__disabled_with_traceback(make_daemon):
    d = one(make_daemon, """
local function inner() error("this goes wrong") end
every(1, function() inner() end, {immediately = true})
""")
    p = ls.wait_state(d, "probe", "disabled_failed")
    err = p["last_error"]
    assert err.startswith("disabled after 3 failures in a row: every() job probe/every1"), err
    assert "rules/probe.lua:2: this goes wrong" in err and "stack traceback:" in err, err
    assert "in upvalue 'inner'" in err or "in local 'inner'" in err, err
    assert p["script"]["failures"] == 3 and p["script"]["failures_in_row"] == 3
    assert p["version"] is None and p["script"]["timers"] == []
    warn = [x for x in ls.script_lines(d, "probe") if "failed" in x or "disabled" in x]
    assert len(warn) == 3 and "stack traceback" not in d.log()


def test_failures__a_success_resets_the_count(make_daemon):
    d = one(make_daemon, """
local n = 0
every(1, function()
  n = n + 1
  if n % 2 == 1 then error("odd run " .. n) end
  log("info", "even run " .. n)
end, {immediately = true})
""", section={"limits": {"max_failures": 2}})
    ls.wait_line(d, "probe", "even run 4")
    p = ls.item(d, "probe")
    assert p["state"] == "enabled" and p["script"]["failures"] >= 2
    assert "odd run" in p["last_error"]


def test_failures__event_handler__retried_then_disabled_event_kept(make_daemon):
    d = one(make_daemon, """
on("structure.created", function(e) error("cannot handle " .. e.subject) end)
""")
    s = d.create("/v1/structures", tt.structure_body())
    p = ls.wait_state(d, "probe", "disabled_failed")
    assert "cannot handle structure/%d" % s["id"] in p["last_error"]
    # The event was not skipped: its cursor stays before it.
    cursor = d.sql("SELECT last_id FROM event_cursors WHERE subscriber = ?",
                   ("probe/on:structure.created",))[0][0]
    assert cursor < max(r[0] for r in d.sql("SELECT id FROM events"))


def test_failures__failing_callback__not_forgiven_by_the_job(make_daemon):
    """The job succeeds every time; the http{} callback it starts fails every time."""
    d = one(make_daemon, """
every(1, function()
  http{url = "https://localhost:1/", callback = function(r) error("callback fails") end}
end, {immediately = true})
""", section={"http_hosts": ["localhost:1"], "limits": {"max_failures": 2}})
    p = ls.wait_state(d, "probe", "disabled_failed")
    err = p["last_error"]
    assert err.startswith("disabled after 2 failures in a row: http{} callback"), err
    assert "callback fails" in err, err


# -- quotas across calls -------------------------------------------------------


def test_quotas__notifications_across_calls__disabled_with_the_reason(make_daemon):
    """Three notifications per call, every second: the hourly quota (5) and the
    outbox quota (4 pending) each stop their script at its second call, which
    writes nothing."""
    text = """
local n = 0
every(1, function()
  for i = 1, 3 do
    n = n + 1
    notify{kind = "q", recipient_role = "cip", message = "x", dedup_key = "k" .. n}
  end
end, {immediately = true})
"""
    d = ls.script_daemon(make_daemon, {
        "hourly": {"role": "cip", "limits": {"notifications_per_hour": 5}},
        "pending": {"role": "cip", "limits": {"outbox_pending": 4}},
    }, {"rules/hourly.lua": text, "rules/pending.lua": text})
    for name, words in (("hourly", "quota notifications_per_hour: more than 5"),
                        ("pending", "quota outbox_pending: 4 notifications")):
        p = ls.wait_state(d, name, "disabled_failed")
        assert p["last_error"].startswith("disabled: " + words), p["last_error"]
        assert "every() job %s/every1" % name in p["last_error"], p["last_error"]
        rows = ls.outbox(d, "source = ?", ("lua:" + name,))
        assert [r["dedup_key"] for r in rows] == ["lua:%s:k%d" % (name, i) for i in (1, 2, 3)]


def test_quotas__outbox_pending__without_a_channel_only_the_last_day_counts(make_daemon):
    """A site with no delivery channel reads its alerts in Tremplin: what no
    channel was to take does not pile up against outbox_pending past a day."""
    text = """
local n = tonumber(options.first)
every(43200, function()
  for i = n, n + 2 do
    notify{kind = "q", recipient_role = "cip", message = "x", dedup_key = "k" .. i}
  end
end, {immediately = true})
"""
    section = {"role": "cip", "limits": {"outbox_pending": 4}, "options": {"first": "1"}}
    d = ls.script_daemon(make_daemon, {"s": section}, {"rules/s.lua": text}, start=False)
    ls.start_daemon(d, "2026-03-02T08:00:00Z")
    tt.wait_for("three queued", lambda: len(ls.outbox(d, "source = 'lua:s'")) == 3)
    d.stop()
    # Two days later, three more: the first three are a day old, not waiting for anyone.
    ls.set_scripts(d, {"s": dict(section, options={"first": "4"})})
    ls.start_daemon(d, "2026-03-04T08:00:00Z")
    tt.wait_for("six queued", lambda: len(ls.outbox(d, "source = 'lua:s'")) == 6)
    assert ls.item(d, "s")["state"] == "enabled", ls.item(d, "s")
    # 12.5 hours later, three more: with the three of the last day, past the quota.
    d.stop()
    ls.set_scripts(d, {"s": dict(section, options={"first": "7"})})
    ls.start_daemon(d, "2026-03-04T20:30:00Z")
    p = ls.wait_state(d, "s", "disabled_failed")
    assert "quota outbox_pending: 4 notifications" in p["last_error"], p["last_error"]
    assert len(ls.outbox(d, "source = 'lua:s'")) == 6


def test_quotas__http_per_minute_and_cpu__disabled_with_the_reason(make_daemon):
    d = ls.script_daemon(make_daemon, {
        "chain": {"role": "cip", "http_hosts": ["localhost:1"],
                  "limits": {"http_per_minute": 6}},
        "busy": {"role": "cip", "limits": {"cpu_ms_per_minute": 25, "time_ms": 10000}},
    }, {"rules/chain.lua": """
local function go() for k = 1, 2 do
  http{url = "https://localhost:1/", callback = function(r) go() end} end end
every(60, go, {immediately = true})
""", "rules/busy.lua": """
every(1, function() local t = os.clock() while os.clock() - t < 0.01 do end end,
      {immediately = true})
"""})
    p = ls.wait_state(d, "chain", "disabled_failed")
    assert p["last_error"].startswith(
        "disabled: quota http_per_minute: more than 6 requests"), p["last_error"]
    p = ls.wait_state(d, "busy", "disabled_failed")
    assert p["last_error"].startswith(
        "disabled: quota cpu_ms_per_minute: its calls took more than 25 ms"), p["last_error"]
    assert p["script"]["calls"] >= 3, p


# -- configuration -----------------------------------------------------------


@pytest.mark.parametrize("section, words", [
    ({}, "scripts.probe.role: missing"),
    ({"role": "boss"}, "scripts.probe.role: unknown role 'boss'"),
    ({"role": "cip", "colour": "red"}, "scripts.probe.colour: unknown setting"),
    ({"role": "cip", "options": "x"}, "scripts.probe.options: expected a table"),
    ({"role": "cip", "http_hosts": ["Example.org"]}, "scripts.probe.http_hosts[1]"),
    ({"role": "cip", "http_hosts": ["a.org:99999"]}, "scripts.probe.http_hosts[1]"),
    ({"role": "cip", "limits": {"time_ms": 0}}, "scripts.probe.limits.time_ms: expected an"),
    ({"role": "cip", "limits": {"memory_mib": 4096}}, "scripts.probe.limits.memory_mib"),
    ({"role": "cip", "limits": {"cpu": 1}}, "scripts.probe.limits.cpu: unknown limit"),
    ({"role": "cip", "enabled": "yes"}, "scripts.probe.enabled: expected true or false"),
    ({"role": "cip", "file": ""}, "scripts.probe.file"),
    ({"role": "cip", "options": {"api_token": "s3cret"}}, "holds a secret"),
])
def test_config__bad_section__refused_with_file_and_line(make_daemon, section, words):
    d = ls.script_daemon(make_daemon, {"probe": section}, start=False)
    p = d.run("-n")
    assert p.returncode != 0
    assert words in p.stderr, p.stderr
    m = re.search(re.escape(d.conf) + r":(\d+): ", p.stderr)
    if "secret" not in words:
        assert m, p.stderr
        line = open(d.conf).read().splitlines()[int(m.group(1)) - 1]
        assert "scripts" in line or "probe" in line or list(section)[-1] in line, line


def test_config__names__valid_and_not_a_plugin(make_daemon):
    d = ls.script_daemon(make_daemon, {"Bad": {"role": "cip"}}, start=False)
    p = d.run("-n")
    assert "scripts.Bad: not a script name" in p.stderr, p.stderr
    d = ls.script_daemon(make_daemon, {"example": {"role": "cip"}}, start=False,
                         plugins={"example": {"enabled": False}})
    p = d.run("-n")
    assert "scripts.example: a plugin has this name already" in p.stderr, p.stderr


def test_config__disabled_or_missing_file__reported(make_daemon):
    d = ls.script_daemon(make_daemon, {
        "off": {"role": "cip", "enabled": False},
        "missing": {"role": "cip"},
        "elsewhere": {"role": "cip", "file": "site/other.lua"},
    }, {"rules/off.lua": "log('info', 'should not run')\n",
        "site/other.lua": "-- elsewhere: from another file\n"})
    its = ls.items(d)
    assert (its["off"]["state"], its["off"]["last_error"]) == (
        "disabled_config", "enabled = false in the configuration")
    assert its["missing"]["state"] == "disabled_failed"
    assert "cannot open" in its["missing"]["last_error"]
    assert "rules/missing.lua" in its["missing"]["last_error"]
    assert its["elsewhere"]["state"] == "enabled"
    assert its["elsewhere"]["script"]["file"] == "site/other.lua"
    assert its["elsewhere"]["description"] == "elsewhere: from another file"
    assert "should not run" not in d.log()


# -- reload ------------------------------------------------------------------


V1 = PROBE + 'on("structure.created", function(e) result("v1", e.subject) end)\n'
V2 = PROBE + 'on("structure.created", function(e) result("v2", e.subject) end)\n'


def test_reload__sighup__changed_script_reloaded_cursor_kept(make_daemon):
    d = one(make_daemon, V1)
    first = ls.item(d, "probe")["version"]
    d.create("/v1/structures", tt.structure_body())
    tt.wait_for("v1", lambda: "v1" in results(d))
    ls.write_files(d.lua_dir, {"rules/probe.lua": V2})
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    d.wait_log("configuration reloaded", since=offset)
    p = ls.item(d, "probe")
    assert p["state"] == "enabled" and p["version"] != first and p["last_error"] is None
    s = d.create("/v1/structures", tt.structure_body())
    tt.wait_for("v2", lambda: "v2" in results(d, since=offset))
    assert results(d, since=offset) == {"v2": "structure/%d" % s["id"]}  # no replay


def test_reload__unchanged__keeps_running_untouched(make_daemon):
    d = one(make_daemon, V1 + 'log("info", "loaded")\n')
    assert ls.reload_post(d).status == 200
    assert ls.script_lines(d, "probe").count("loaded") == 1


def test_reload__broken_version__previous_keeps_running(make_daemon):
    d = one(make_daemon, V1)
    first = ls.item(d, "probe")["version"]
    ls.write_files(d.lua_dir, {"rules/probe.lua": "on('structure.created', function(e)\n"})
    a = ls.reload_post(d)
    assert a.status == 200, a
    p = {x["name"]: x for x in a.body["items"]}["probe"]
    assert p["state"] == "enabled" and p["version"] == first, p
    assert p["last_error"].startswith("reload refused, the running version %s stays" % first)
    assert "rules/probe.lua:2:" in p["last_error"], p
    d.create("/v1/structures", tt.structure_body())
    tt.wait_for("the old version still handles events", lambda: "v1" in results(d))
    # A version that loops when it loads is refused the same way.
    ls.write_files(d.lua_dir, {"rules/probe.lua": "while true do end\n"})
    p = {x["name"]: x for x in ls.reload_post(d).body["items"]}["probe"]
    assert p["state"] == "enabled" and p["version"] == first
    assert "instruction limit exceeded" in p["last_error"] and "while loading" in p["last_error"]


def test_reload__added_removed_and_retried(make_daemon):
    d = one(make_daemon, "error('not yet')\n")
    assert ls.item(d, "probe")["state"] == "disabled_failed"
    ls.set_scripts(d, {"probe": {"role": "cip"}, "added": {"role": "eti"}},
                   {"rules/probe.lua": V1, "rules/added.lua": "-- added\n"})
    a = ls.reload_post(d)
    assert a.status == 200
    assert {x["name"]: x["state"] for x in a.body["items"] if x["kind"] == "lua"} == {
        "added": "enabled", "probe": "enabled"}
    ls.set_scripts(d, {"added": {"role": "eti"}})
    a = ls.reload_post(d)
    assert [x["name"] for x in a.body["items"] if x["kind"] == "lua"] == ["added"]
    assert "script probe: no longer in the configuration; stopped" in d.log()


def test_reload__invalid_configuration__409_nothing_changes(make_daemon):
    d = one(make_daemon, V1)
    before = ls.item(d, "probe")
    ls.set_scripts(d, {"probe": {"role": "boss"}})
    a = ls.reload_post(d)
    assert a.status == 409, a
    assert a.error["code"] == "conflict"
    assert "scripts.probe.role: unknown role 'boss'" in a.error["message"]
    assert ls.item(d, "probe")["version"] == before["version"]


@pytest.mark.parametrize("who", ["coordinator", "cip", "eti"])
def test_reload__post__admin_only(make_daemon, who):
    tt.needs_root(tt.user_of(who))
    d = one(make_daemon, V1)
    a = ls.reload_post(d, who=who)
    assert a.status == 403, a
    if who == "coordinator":
        assert "probe" in tt.plugins_of(d, who="coordinator")
