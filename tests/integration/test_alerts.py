"""Alerts (issue 13): every outbox entry is an alert staff see, acknowledge and resolve.

The shipped rule lua/rules/contract_ending.lua raises them on a real daemon
with the test clock; people and contracts are written into the database
while the daemon is stopped, as in test_lua_rule.py.
"""

import json
import os
import shutil
import sqlite3

import pytest

import lua_support as ls
import tremplin_test as tt

MONDAY = "2026-03-02T08:00:00Z"
TUESDAY = "2026-03-03T08:00:05Z"


def add_person(d, structure_id, end_date, referent=None, start_date="2025-09-01"):
    now = "2026-01-01T00:00:00Z"
    con = sqlite3.connect(d.database, timeout=10)
    try:
        emp = con.execute(
            "INSERT INTO employees (structure_id, first_name, last_name, birth_date,"
            " prescriber_kind, referent_cip_id, status, last_contact_at, created_at, updated_at)"
            " VALUES (?, 'Camille', 'Martin', '1988-02-11', 'france_travail', ?, 'active', ?, ?,"
            " ?)", (structure_id, referent, now, now, now)).lastrowid
        contract = con.execute(
            "INSERT INTO contracts (employee_id, structure_id, start_date, end_date,"
            " initial_end_date, weekly_hours, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 26, ?, ?)",
            (emp, structure_id, start_date, end_date, end_date, now, now)).lastrowid
        con.commit()
        return emp, contract
    finally:
        con.close()


def plan_exit_review(d, emp, day):
    con = sqlite3.connect(d.database, timeout=10)
    con.execute("INSERT INTO reviews (employee_id, kind, planned_on, created_at, updated_at)"
                " VALUES (?, 'exit', ?, 'x', 'x')", (emp, day))
    con.commit()
    con.close()


@pytest.fixture
def world(make_daemon):
    d = ls.script_daemon(make_daemon, {}, start=False, script_dir=ls.TOP_LUA)
    d.start()
    st = d.create("/v1/structures", tt.structure_body(name="Atelier Bois"))
    ids = {who: d.get("/v1/whoami", who=who).body["id"]
           for who in ("admin", "coordinator", "cip", "eti")}
    other_cip = d.create("/v1/staff", tt.staff_body(role="cip", name="Autre CIP"))
    d.stop()
    w = {"d": d, "ids": ids, "other_cip": other_cip["id"]}
    # The bootstrap CIP is the referent: one alert to them and the coordinators.
    w["soon"] = add_person(d, st["id"], "2026-03-12", referent=ids["cip"])
    # No referent: every CIP and the coordinators.
    w["no_referent"] = add_person(d, st["id"], "2026-03-07")
    d.settings["extra"]["scripts"] = {"contract_ending": {"role": "coordinator"}}
    d.write_config()
    return w


def alerts(d, who="admin", query=""):
    return d.list_all("/v1/alerts", query, who=who)


def wait_alerts(d, n):
    return tt.wait_for("%d alerts" % n,
                       lambda: (lambda a: a if len(a) == n else None)(alerts(d, "coordinator")))


def test_alerts__rule_fires__one_alert_per_subject_to_the_right_people(world):
    d, ids = world["d"], world["ids"]
    ls.start_daemon(d, clock=MONDAY)
    got = wait_alerts(d, 2)
    soon_emp, _ = world["soon"]
    nr_emp, _ = world["no_referent"]
    by_emp = {a["employee"]["id"]: a for a in got}
    assert sorted(by_emp[soon_emp]["recipients"]) == sorted([ids["cip"], ids["coordinator"]])
    assert sorted(by_emp[nr_emp]["recipients"]) == sorted(
        [ids["cip"], world["other_cip"], ids["coordinator"]])
    for a in got:
        assert (a["kind"], a["state"], a["source"]) == (
            "contract_ending", "open", "lua:contract_ending")
        assert a["mine"] is True and a["restricted"] is False
        assert a["employee"]["last_name"] == "Martin"
    # Four notifications in the outbox (one per recipient), two alerts.
    assert len(ls.outbox(d, "source = 'lua:contract_ending'")) == 4

    # The ETI is told nothing and sees nothing; the CIP sees both, as theirs.
    assert alerts(d, "eti") == []
    cip = alerts(d, "cip")
    assert {a["employee_id"] for a in cip} == {soon_emp, nr_emp}
    # The operator sees that alerts exist, not about whom nor what they say.
    admin = alerts(d, "admin")
    assert len(admin) == 2
    for a in admin:
        assert a["restricted"] is True and a["mine"] is False
        assert "message" not in a and "employee" not in a and "employee_id" not in a
    a = d.get("/v1/alerts?employee_id=%d" % soon_emp, who="admin")
    assert a.status == 403 and a.body["error"]["field"] == "employee_id"

    # The next day: the rule fires again, nothing piles up.
    d.stop()
    ls.start_daemon(d, clock=TUESDAY)
    tt.wait_for("the second run",
                lambda: ls.item(d, "contract_ending")["script"]["calls"] >= 3)
    assert len(alerts(d, "coordinator")) == 2


def test_alerts__mine_first_and_filters(world):
    d, ids = world["d"], world["ids"]
    # A notification to the coordinator alone, about nobody: the CIP does not get it.
    ls.start_daemon(d, clock=MONDAY)
    wait_alerts(d, 2)
    con = sqlite3.connect(d.database, timeout=10)
    soon = con.execute("SELECT id FROM alerts WHERE employee_id = ?",
                       (world["soon"][0],)).fetchone()[0]
    con.close()
    # The admin is no recipient: none is theirs; the CIP's come first for them.
    assert [a["mine"] for a in alerts(d, "admin")] == [False, False]
    assert d.post("/v1/alerts/%d/ack" % soon, None, who="cip").status == 200
    acked = alerts(d, "coordinator", "state=acknowledged")
    assert [a["id"] for a in acked] == [soon]
    assert acked[0]["acknowledged_by"] == ids["cip"] and acked[0]["acknowledged_at"]
    assert [a["id"] for a in alerts(d, "coordinator", "state=open")] != [soon]
    assert [a["employee_id"] for a in alerts(
        d, "coordinator", "employee_id=%d" % world["no_referent"][0])] == [
        world["no_referent"][0]]
    assert alerts(d, "coordinator", "kind=pass_ending") == []
    # Pages of one follow the same order.
    first = d.get("/v1/alerts?limit=1", who="coordinator").body
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = d.get("/v1/alerts?limit=1&cursor=" + first["next_cursor"], who="coordinator").body
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {
        a["id"] for a in alerts(d, "coordinator")}
    for q, field in (("state=done", "state"), ("employee_id=x", "employee_id"),
                     ("limit=0", "limit"), ("colour=red", "colour")):
        a = d.get("/v1/alerts?" + q, who="coordinator")
        assert a.status == 400 and a.body["error"]["field"] == field, (q, a)


def test_alerts__ack_and_resolve__who_and_when(world):
    d, ids = world["d"], world["ids"]
    ls.start_daemon(d, clock=MONDAY)
    got = {a["employee"]["id"]: a["id"] for a in wait_alerts(d, 2)}
    soon = got[world["soon"][0]]
    # Not the ETI's: not there for them.
    a = d.post("/v1/alerts/%d/ack" % soon, None, who="eti")
    assert a.status == 404, a
    # The operator may not act on an alert about a person it may not read.
    a = d.post("/v1/alerts/%d/resolve" % soon, None, who="admin")
    assert a.status == 403, a
    a = d.post("/v1/alerts/%d/ack" % soon, None, who="cip")
    assert a.status == 200 and a.body["state"] == "acknowledged", a
    assert a.body["acknowledged_by"] == ids["cip"]
    # Acknowledged twice: who did first stays.
    a = d.post("/v1/alerts/%d/ack" % soon, None, who="coordinator")
    assert a.status == 200 and a.body["acknowledged_by"] == ids["cip"], a
    a = d.post("/v1/alerts/%d/resolve" % soon, None, who="coordinator")
    assert a.status == 200, a
    assert (a.body["state"], a.body["resolved_by"], a.body["resolved_reason"]) == (
        "resolved", ids["coordinator"], "staff")
    a = d.post("/v1/alerts/%d/resolve" % soon, None, who="cip")
    assert a.status == 409 and a.body["error"]["field"] == "state", a
    assert d.post("/v1/alerts/999999/ack", None, who="coordinator").status == 404
    # Resolved by a person while the cause lasts: the rule does not raise it again.
    d.stop()
    ls.start_daemon(d, clock=TUESDAY)
    tt.wait_for("the second run",
                lambda: ls.item(d, "contract_ending")["script"]["calls"] >= 3)
    assert [a["state"] for a in alerts(d, "coordinator", "employee_id=%d" % world["soon"][0])
            ] == ["resolved"]


def test_alerts__cause_gone__the_rule_resolves_its_alert(world):
    d = world["d"]
    ls.start_daemon(d, clock=MONDAY)
    wait_alerts(d, 2)
    d.stop()
    plan_exit_review(d, world["soon"][0], "2026-03-10")
    ls.start_daemon(d, clock=TUESDAY)
    ls.wait_line(d, "contract_ending", "1 alert(s) of contracts ending resolved")
    by_emp = {a["employee"]["id"]: a for a in alerts(d, "coordinator")}
    done = by_emp[world["soon"][0]]
    assert (done["state"], done["resolved_reason"], done["resolved_by"]) == (
        "resolved", "rule", None)
    assert by_emp[world["no_referent"][0]]["state"] == "open"
    assert len(by_emp) == 2


@pytest.mark.parametrize("workers", [False, True], ids=["in_process", "workers"])
def test_alerts__lua_resolve__bad_arguments_name_the_problem(make_daemon, workers):
    files = {"rules/r.lua": (
        "notify { kind = 'k', recipient_role = 'coordinator', dedup_key = 'k:1:coordinator',"
        " message = 'Un message.' }\n"
        "notify { kind = 'k', recipient_role = 'coordinator', dedup_key = 'k:2:coordinator',"
        " message = 'Un autre.' }\n"
        "assert(resolve('k:9') == 0)\n"
        "assert(resolve { prefix = 'k:', keep = { 'k:2' } } == 1)\n"
        "local ok, why = pcall(resolve, 12)\n"
        "log('info', 'bad: ' .. tostring(why))\n")}
    # resolve() is the same in a worker process (forwarded to the daemon, written with
    # the call's notifications) as in-process.
    d = ls.script_daemon(make_daemon, {"r": {"role": "coordinator"}}, files=files,
                         clock=MONDAY, extra={"script_workers": workers})
    ls.wait_line(d, "r", "bad: ")
    line = ls.wait_line(d, "r", "bad: ")
    assert "resolve: give a key, or {prefix = ..., keep = {...}}" in line
    got = {a["message"]: a for a in alerts(d, "coordinator")}
    assert got["Un message."]["state"] == "resolved"
    assert got["Un message."]["resolved_reason"] == "rule"
    assert got["Un autre."]["state"] == "open"


def test_alerts__tremplinctl(world):
    d = world["d"]
    ls.start_daemon(d, clock=MONDAY)
    wait_alerts(d, 2)
    p = tt.ctl("alerts", "--state", "open", socket_path=d.socket, user="bin")
    assert p.returncode == 0, p
    listed = json.loads(p.stdout)["items"]
    assert len(listed) == 2 and all(a["mine"] for a in listed)
    p = tt.ctl("alerts", "ack", str(listed[0]["id"]), socket_path=d.socket, user="bin")
    assert p.returncode == 0 and json.loads(p.stdout)["state"] == "acknowledged", p
    p = tt.ctl("alerts", "resolve", str(listed[0]["id"]), socket_path=d.socket, user="bin")
    assert p.returncode == 0 and json.loads(p.stdout)["state"] == "resolved", p
    p = tt.ctl("alerts", "--state", "closed", socket_path=d.socket)
    assert p.returncode == 1 and "(champ : state)" in p.stderr, p
    p = tt.ctl("alerts", "--colour", "red", socket_path=d.socket)
    assert p.returncode == 64 and "usage : tremplinctl alerts" in p.stderr, p


def test_alerts__erasure_forgets_them(world):
    d = world["d"]
    ls.start_daemon(d, clock=MONDAY)
    wait_alerts(d, 2)
    emp = world["soon"][0]
    a = d.call("DELETE", "/v1/employees/%d" % emp, {"reason": "request"}, who="coordinator")
    assert a.status in (200, 204), a
    left = alerts(d, "coordinator")
    assert [x["employee_id"] for x in left] == [world["no_referent"][0]]
    assert d.sql("SELECT count(*) FROM alerts WHERE employee_id = ?", (emp,)) == [(0,)]


def test_alerts__to_the_referents__or_the_role(world):
    d, ids = world["d"], world["ids"]
    soon, nr = world["soon"][0], world["no_referent"][0]
    files = {"rules/r.lua": (
        "local alert = use('alert')\n"
        "for _, e in ipairs({ %d, %d }) do\n"
        "  alert.once { kind = 'k', about = e, employee_id = e, referents = { 'cip', 'eti' },"
        " message = 'Un message.' }\n"
        "end\n" % (soon, nr))}
    ls.set_scripts(d, {"r": {"role": "coordinator"}}, files=files)
    d.settings["extra"]["script_dir"] = d.lua_dir = os.path.join(d.dir, "lua")
    os.makedirs(os.path.join(d.lua_dir, "lib"), exist_ok=True)
    shutil.copy(os.path.join(ls.TOP_LUA, "lib", "alert.lua"), os.path.join(d.lua_dir, "lib"))
    ls.write_files(d.lua_dir, files)
    d.write_config()
    ls.start_daemon(d, clock=MONDAY)
    got = {a["employee_id"]: a for a in wait_alerts(d, 2)}
    # The referent CIP; no referent ETI: every ETI. No referent at all: every CIP and ETI.
    assert sorted(got[soon]["recipients"]) == sorted([ids["cip"], ids["eti"]])
    assert sorted(got[nr]["recipients"]) == sorted([ids["cip"], world["other_cip"], ids["eti"]])
