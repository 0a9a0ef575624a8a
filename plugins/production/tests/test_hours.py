"""Planning by the hours against a real daemon: a time range (slot "hours",
start_time/end_time) beside the half-days, every refusal across both kinds, the
supervision warning, the week view, tremplinctl, the configured half-days and
the migration of a database planned by half-days only."""

import json
import sqlite3

import pytest

import tremplin_test as tt

P = "/v1/production"


def staffed(d):
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    client = d.create(P + "/clients", {"structure_id": structure, "name": "Mairie",
                                       "kind": "local_authority"}, who="eti")
    order = d.create(P + "/orders", {"structure_id": structure, "client_id": client["id"],
                                     "title": "Berges", "start_date": "2026-01-01",
                                     "end_date": "2026-06-30"}, who="coordinator")
    return {"d": d, "structure": structure, "order": order["id"],
            "cip": staff["bin"]["id"], "eti": staff["sys"]["id"]}


@pytest.fixture(scope="module")
def prod(module_daemons):
    tt.openapi_plugins({"production": {}})
    d = module_daemons(plugin_files=["production"], plugins={"production": {}})
    return staffed(d)


def person(p, weekly=26, start="2026-01-15", end="2026-05-14"):
    d = p["d"]
    e = d.create("/v1/employees", {
        "structure_id": p["structure"], "first_name": "Lou", "last_name": tt.unique("H"),
        "birth_date": "1990-05-02", "prescriber_kind": "france_travail",
        "referent_cip_id": p["cip"], "referent_eti_id": p["eti"]}, who="cip")["id"]
    c = d.create("/v1/employees/%d/contracts" % e, {
        "start_date": start, "end_date": end, "weekly_hours": weekly}, who="cip")["id"]
    b = d.create(P + "/briefings", {"structure_id": p["structure"], "topic": "Sécurité",
                                    "held_on": start}, who="eti")["id"]
    d.create(P + "/employees/%d/briefing_attendances" % e, {"briefing_id": b}, who="eti")
    return e, c


def work_order(p, team="berges", equipment=()):
    return p["d"].create(P + "/orders/%d/work_orders" % p["order"], {
        "name": "Taille " + tt.unique(), "site": "Quai Sud", "start_date": "2026-01-05",
        "end_date": "2026-06-30", "team": team, "equipment": list(equipment)}, who="eti")["id"]


def timed(p, e, wo, date, start, end, **more):
    body = {"work_order_id": wo, "date": date, "slot": "hours", "start_time": start,
            "end_time": end}
    body.update(more)
    return p["d"].post(P + "/employees/%d/assignments" % e, body, who="eti")


def half(p, e, wo, date, slot="morning", **more):
    body = {"work_order_id": wo, "date": date, "slot": slot}
    body.update(more)
    return p["d"].post(P + "/employees/%d/assignments" % e, body, who="eti")


def count(d):
    return d.sql("SELECT count(*) FROM production_assignments")[0][0]


def test_hours__bad_ranges_refused_naming_the_field(prod):
    d = prod["d"]
    e, _c = person(prod)
    wo = work_order(prod)
    before = count(d)
    for start, end, field in (("09:10", "10:00", "start_time"), ("9:00", "10:00", "start_time"),
                              ("09:00", "09:50", "end_time"), ("10:00", "10:00", "end_time"),
                              ("11:00", "10:00", "end_time"), ("09:00", "24:15", "end_time"),
                              ("07:00", "17:15", "end_time"),
                              (None, "10:00", "start_time")):
        a = timed(prod, e, wo, "2026-01-19", start, end)
        assert (a.status, a.error["field"]) == (422, field), (start, end, a)
    a = half(prod, e, wo, "2026-01-19", start_time="09:00", end_time="10:00")
    assert (a.status, a.error["field"]) == (422, "start_time"), a
    assert count(d) == before


def test_hours__overlap_with_half_days_and_ranges_at_their_boundaries(prod):
    d = prod["d"]
    e, _c = person(prod, weekly=35)
    wo = work_order(prod)
    assert half(prod, e, wo, "2026-01-19", "morning").status == 201
    # The morning is 08:00-12:00: ending at 08:00 or starting at 12:00 touches it only.
    a = timed(prod, e, wo, "2026-01-19", "07:00", "08:00")
    assert a.status == 201 and a.body["hours"] == 1, a
    a = timed(prod, e, wo, "2026-01-19", "12:00", "13:30")
    assert a.status == 201 and a.body["hours"] == 1.5, a
    assert (a.body["start_time"], a.body["end_time"]) == ("12:00", "13:30"), a.body
    # Crossing the morning's end, or another range, is a double booking.
    for start, end in (("11:45", "12:15"), ("07:45", "08:15"), ("12:30", "13:00"),
                       ("06:00", "15:00")):
        a = timed(prod, e, wo, "2026-01-19", start, end)
        assert (a.status, a.error["field"]) == (422, "slot"), (start, end, a)
        assert "already planned" in a.error["message"], a
    # A half-day over a range: the afternoon (13:30-17:00) after 12:00-13:30 fits...
    assert half(prod, e, wo, "2026-01-19", "afternoon").status == 201
    # ...and a range first refuses the half-day it crosses.
    assert timed(prod, e, wo, "2026-01-20", "16:30", "18:00").status == 201
    a = half(prod, e, wo, "2026-01-20", "afternoon")
    assert (a.status, a.error["field"]) == (422, "slot"), a
    assert half(prod, e, wo, "2026-01-20", "morning").status == 201
    # Moving a range onto another is refused the same way; onto itself is no conflict.
    r = timed(prod, e, wo, "2026-01-21", "09:00", "10:00").body
    a = d.patch(P + "/assignments/%d" % r["id"], {"start_time": "09:30", "end_time": "10:30"},
                who="eti")
    assert a.status == 200 and a.body["hours"] == 1, a
    a = d.patch(P + "/assignments/%d" % r["id"], {"slot": "afternoon", "start_time": None,
                                                   "end_time": None}, who="eti")
    assert a.status == 200 and a.body["start_time"] is None, a


def test_hours__week_counts_real_hours_of_ranges_and_half_days(prod):
    e, _c = person(prod, weekly=26)
    wo = work_order(prod)
    # 6 half-days of 3.5 h (21) and 09:00-13:30 (4.5) fill 25.5; a further 30 min fit, 45 not.
    for date, slot in (("2026-02-02", "morning"), ("2026-02-02", "afternoon"),
                       ("2026-02-03", "morning"), ("2026-02-03", "afternoon"),
                       ("2026-02-04", "morning"), ("2026-02-04", "afternoon")):
        assert half(prod, e, wo, date, slot).status == 201
    assert timed(prod, e, wo, "2026-02-05", "09:00", "13:30").status == 201
    a = timed(prod, e, wo, "2026-02-06", "09:00", "09:45")
    assert (a.status, a.error["field"]) == (422, "hours"), a
    # The client's hours for a range are not believed: its span is.
    assert timed(prod, e, wo, "2026-02-06", "09:00", "09:30", hours=0.25).status == 201
    a = half(prod, e, wo, "2026-02-06", "afternoon", hours=0.25)
    assert (a.status, a.error["field"]) == (422, "hours"), a


def test_hours__contract_suspension_equipment_absence(prod):
    d = prod["d"]
    e, contract = person(prod, start="2026-03-02", end="2026-07-31")
    wo = work_order(prod, equipment=["Gants"])
    a = timed(prod, e, wo, "2026-02-27", "09:00", "10:00")
    assert (a.status, a.error["field"]) == (422, "date") and "contract" in a.error["message"], a
    a = timed(prod, e, wo, "2026-03-03", "09:00", "10:00")
    assert (a.status, a.error["field"]) == (422, "work_order_id"), a
    d.create(P + "/employees/%d/equipment" % e, {"item": "gants", "issued_on": "2026-03-02"},
             who="eti")
    d.create("/v1/contracts/%d/suspensions" % contract, {
        "start_date": "2026-03-04", "end_date": "2026-03-04", "reason": "illness"}, who="cip")
    a = timed(prod, e, wo, "2026-03-04", "09:00", "10:00")
    assert (a.status, a.error["field"]) == (422, "date"), a
    # Absent in the afternoon: a range crossing 13:30 is refused, one ending there is not.
    a = d.post(P + "/team-attendance", {"date": "2026-03-05", "entries": [
        {"employee_id": e, "slot": "afternoon", "status": "absent", "reason": "training"}]},
        who="eti")
    assert a.status == 200, a
    a = timed(prod, e, wo, "2026-03-05", "12:00", "14:00")
    assert (a.status, a.error["field"]) == (422, "date") and "absent" in a.error["message"], a
    assert timed(prod, e, wo, "2026-03-05", "12:00", "13:30").status == 201


def test_hours__planning_warning_week_view_and_ctl(prod):
    d = prod["d"]
    team = tt.unique("equipe")
    e, _c = person(prod)
    wo = work_order(prod, team=team)
    d.create(P + "/work_orders/%d/supervisions" % wo, {"date": "2026-03-09", "slot": "morning",
                                                        "staff_id": prod["eti"]}, who="eti")
    # The ETI supervises the morning: 09:00-11:30 is covered, 12:00-13:00 is not.
    a = d.post(P + "/planning", {"work_order_id": wo, "date": "2026-03-09",
                                 "start_time": "09:00", "end_time": "11:30",
                                 "employee_ids": [e]}, who="eti")
    assert a.status == 201 and a.body["warnings"] == [], a
    assert a.body["items"][0]["slot"] == "hours" and a.body["items"][0]["hours"] == 2.5, a
    a = d.post(P + "/planning", {"work_order_id": wo, "date": "2026-03-09", "slot": "hours",
                                 "start_time": "12:00", "end_time": "13:00",
                                 "employee_ids": [e]}, who="eti")
    assert a.status == 201, a
    assert [w["code"] for w in a.body["warnings"]] == ["no_supervisor"], a
    a = d.post(P + "/planning", {"work_order_id": wo, "date": "2026-03-09",
                                 "start_time": "11:00", "end_time": "12:00",
                                 "employee_ids": [e]}, who="eti")
    assert (a.status, a.error["field"]) == (422, "employee_ids[0].slot"), a
    # tremplinctl plans a range too; its usage errors exit 64.
    eti = tt.user_of("eti")
    r = tt.ctl("production", "plan", str(wo), "2026-03-10", "--from", "14:00", "--to", "16:15",
               str(e), socket_path=d.socket, user=eti)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["items"][0]["end_time"] == "16:15", r.stdout
    r = tt.ctl("production", "plan", str(wo), "2026-03-10", "--from", "16:00", "--to", "17:00",
               str(e), socket_path=d.socket, user=eti)
    assert r.returncode == 1 and "slot" in r.stderr, r.stderr
    for args in ((str(wo), "2026-03-10", "--from", "9h", "--to", "10:00", str(e)),
                 (str(wo), "2026-03-10", "evening", str(e)),
                 (str(wo), "2026-03-10", "morning")):
        r = tt.ctl("production", "plan", *args, socket_path=d.socket)
        assert r.returncode == 64, (args, r.stderr)
    w = d.get(P + "/planning?from=2026-03-09&to=2026-03-15&team=" + team, who="eti").body
    days = w["people"][0]["days"]
    assert set(days["2026-03-09"]) == {"09:00-11:30", "12:00-13:00"}, days
    cell = days["2026-03-09"]["09:00-11:30"]
    assert (cell["start_time"], cell["end_time"], cell["hours"], cell["site"]) == \
        ("09:00", "11:30", 2.5, "Quai Sud"), cell
    assert days["2026-03-10"]["14:00-16:15"]["hours"] == 2.25, days


def test_hours__half_days_configured__and_checked(make_daemon):
    tt.openapi_plugins({"production": {}})
    conf = {"production": {"morning": "07:30-11:30", "afternoon": "12:30-16:00"}}
    d = make_daemon(plugin_files=["production"], plugins=conf)
    p = staffed(d)
    e, _c = person(p)
    wo = work_order(p)
    assert half(p, e, wo, "2026-01-19", "morning").status == 201
    # 11:30-12:30 sits between the configured half-days; 07:00-07:45 crosses 07:30.
    assert timed(p, e, wo, "2026-01-19", "11:30", "12:30").status == 201
    a = timed(p, e, wo, "2026-01-19", "07:00", "07:45")
    assert (a.status, a.error["field"]) == (422, "slot"), a
    d.stop()
    d.write_config(d.config_text(plugins={"production": {"morning": "08:00-07:00"}}))
    r = d.run("-n")
    assert r.returncode == 78 and "morning" in r.stderr, r.stderr


def test_migration__a_half_day_database_gains_time_ranges(make_daemon):
    tt.openapi_plugins({"production": {}})
    d = make_daemon(plugin_files=["production"], plugins={"production": {}})
    p = staffed(d)
    e, _c = person(p)
    wo = work_order(p)
    kept = half(p, e, wo, "2026-01-19", "morning").body
    d.stop()
    # Back to the schema of version 3: the half-day's UNIQUE, no time columns.
    con = sqlite3.connect(d.database)
    con.executescript(
        "CREATE TABLE old (id INTEGER PRIMARY KEY AUTOINCREMENT, employee_id INTEGER NOT NULL,"
        " work_order_id INTEGER NOT NULL, date TEXT NOT NULL, slot TEXT NOT NULL,"
        " hours REAL NOT NULL DEFAULT 3.5, created_by INTEGER, created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL, UNIQUE (employee_id, date, slot));"
        "INSERT INTO old SELECT id, employee_id, work_order_id, date, slot, hours, created_by,"
        " created_at, updated_at FROM production_assignments;"
        "DROP TABLE production_assignments; ALTER TABLE old RENAME TO production_assignments;"
        "CREATE INDEX production_assignments_date ON production_assignments (date,"
        " work_order_id);")
    n = con.execute("DELETE FROM schema_migrations WHERE module LIKE '%production%'"
                    " AND version = 4").rowcount
    con.commit()
    con.close()
    assert n == 1
    d.start()
    got = d.get(P + "/assignments/%d" % kept["id"], who="eti")
    assert got.status == 200 and got.body["slot"] == "morning", got
    assert got.body["start_time"] is None and got.body["hours"] == 3.5, got.body
    assert timed(p, e, wo, "2026-01-19", "12:00", "13:00").status == 201
    assert timed(p, e, wo, "2026-01-19", "13:00", "13:30").status == 201
    assert json.loads(json.dumps(d.sql(
        "SELECT max(version) FROM schema_migrations WHERE module LIKE '%production%'"))) == [[4]]
