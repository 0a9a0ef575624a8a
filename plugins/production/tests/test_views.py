"""The production plugin's views (CONTRACTS.md), read by a site script as the
coordinator: hours_below_contract.v1, absences.v1, incidents.v1, work_orders.v1."""

import json

import lua_support as ls
import tremplin_test as tt

P = "/v1/production"

PROBE = """
local function show(name, params)
  local ok, rows = pcall(view, name, params)
  log("info", "RESULT " .. name .. " " .. json.encode(ok and rows or tostring(rows)))
end
show("production.hours_below_contract.v1", { date = "2026-03-25", weeks = 2 })
show("production.absences.v1", { from = "2026-03-09", to = "2026-03-15" })
show("production.incidents.v1", { since = "2026-03-01" })
show("production.work_orders.v1", { id = WO })
"""


def test_views__read_by_a_site_script(make_daemon):
    tt.openapi_plugins({"production": {}})
    d = ls.script_daemon(make_daemon, {}, start=False, plugin_files=["production"],
                         plugins={"production": {}})
    d.start()
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    people = []
    for contract in (True, True, False):
        e = d.create("/v1/employees", {
            "structure_id": structure, "first_name": "Lou", "last_name": tt.unique("V"),
            "birth_date": "1990-01-01", "prescriber_kind": "france_travail",
            "referent_cip_id": staff["bin"]["id"]}, who="cip")["id"]
        if contract:
            d.create("/v1/employees/%d/contracts" % e, {
                "start_date": "2026-01-15", "end_date": "2026-05-14", "weekly_hours": 26},
                who="cip")
        people.append(e)
    below, once, none = people

    def days(employee, dates, hours):
        for day in dates:
            a = d.post(P + "/team-attendance", {"date": day, "entries": [
                {"employee_id": employee, "slot": "day", "status": "present",
                 "hours": hours}]}, who="eti")
            assert a.status == 200, a

    # Weeks of 9 and 16 March: 21 h and 24.5 h against 26 -> below twice.
    days(below, ("2026-03-09", "2026-03-10", "2026-03-11"), 7)
    days(below, ("2026-03-16", "2026-03-17", "2026-03-18"), 7)
    days(below, ("2026-03-19",), 3.5)
    # 26 h then 21 h: below once only.
    days(once, ("2026-03-09", "2026-03-10", "2026-03-11"), 7)
    days(once, ("2026-03-12",), 5)
    days(once, ("2026-03-16", "2026-03-17", "2026-03-18"), 7)
    # No contract: no weekly hours to compare with.
    days(none, ("2026-03-09", "2026-03-16"), 1)
    a = d.post(P + "/team-attendance", {"date": "2026-03-13", "entries": [
        {"employee_id": once, "slot": "afternoon", "status": "absent",
         "reason": "unjustified"}]}, who="eti")
    assert a.status == 200, a
    client = d.create(P + "/clients", {"structure_id": structure, "name": "Mairie",
                                       "kind": "local_authority"}, who="eti")["id"]
    order = d.create(P + "/orders", {"structure_id": structure, "client_id": client,
                                     "title": "Berges"}, who="eti")["id"]
    wo = d.create(P + "/orders/%d/work_orders" % order, {
        "name": "Fauchage", "site": "Quai Nord", "start_date": "2026-03-02",
        "end_date": "2026-03-31", "team": "berges"}, who="eti")["id"]
    inc = d.create(P + "/incidents", {"structure_id": structure, "kind": "near_miss",
                                      "occurred_on": "2026-03-10", "description": "Glissade",
                                      "work_order_id": wo}, who="eti")["id"]
    inc2 = d.create(P + "/incidents", {"structure_id": structure, "kind": "incident",
                                       "occurred_on": "2026-03-12", "description": "Coupure"},
                    who="eti")["id"]
    d.create(P + "/employees/%d/incident_people" % below,
             {"incident_id": inc2, "involvement": "hurt"}, who="eti")
    d.create(P + "/employees/%d/incident_people" % once,
             {"incident_id": inc2, "involvement": "witness"}, who="eti")
    d.stop()
    ls.set_scripts(d, {"probe": {"role": "coordinator"}},
                   {"rules/probe.lua": PROBE.replace("WO", str(wo))})
    d.start()

    def results():
        got = {}
        for line in ls.script_lines(d, "probe"):
            if line.startswith("RESULT "):
                name, rows = line[len("RESULT "):].split(" ", 1)
                got[name] = json.loads(rows)
        return got if len(got) == 4 else None

    got = tt.wait_for("the script's readings", results)
    assert got["production.hours_below_contract.v1"] == [
        {"employee_id": below, "weeks_below": 2, "contract_weekly_hours": 26,
         "last_week_hours": 24.5}], got
    assert got["production.absences.v1"] == [
        {"employee_id": once, "date": "2026-03-13", "slot": "afternoon",
         "reason": "unjustified"}], got
    assert got["production.incidents.v1"] == [
        {"incident_id": inc, "occurred_on": "2026-03-10", "kind": "near_miss",
         "structure_id": structure},
        {"incident_id": inc2, "occurred_on": "2026-03-12", "kind": "incident",
         "structure_id": structure, "hurt_employee_id": below}], got
    assert got["production.work_orders.v1"] == [
        {"id": wo, "name": "Fauchage", "site": "Quai Nord", "start_date": "2026-03-02",
         "end_date": "2026-03-31"}], got
