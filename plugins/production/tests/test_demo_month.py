"""tremplinctl demo's production month: the workshop's database, served by a daemon that
loads the plugin, gives real figures in every report."""

import csv
import io
import os
import subprocess

import tremplin_test as tt

P = "/v1/production"
ADMIN_ONLY = [{"name": "Opératrice", "unix_user": "@daemon", "role": "admin"}]
AS = ["--as", "cip=" + tt.ROLE_USERS["cip"], "--as", "coordinator=" + tt.ROLE_USERS["coordinator"],
      "--as", "eti1=" + tt.ROLE_USERS["eti"]]
CLOCK = "2026-03-02T10:00:00Z"  # the month shown: February 2026


def test_demo__a_production_month_in_every_report(make_daemon):
    tt.openapi_plugins({"production": {}})
    d = make_daemon(start=False, staff=ADMIN_ONLY, plugin_files=["production"],
                    plugins={"production": {}})
    env = dict(os.environ, TREMPLIN_TEST_CLOCK=CLOCK)
    r = subprocess.run([tt.TREMPLINCTL, "demo", "--database", d.database] + AS,
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    tt.check_sanitizers(r.stdout + r.stderr)
    d.start()
    p = tt.plugins_of(d)["production"]
    assert p["state"] == "enabled", p
    structure = d.get("/v1/structures", who="coordinator").body["items"][0]["id"]
    clients = d.list_all(P + "/clients", who="coordinator")
    assert sorted(c["kind"] for c in clients) == ["company", "local_authority",
                                                  "local_authority"], clients

    m = d.get(P + "/reports/monthly-hours?structure=%d&month=2026-02" % structure,
              who="coordinator")
    assert m.status == 200, m
    assert len(m.body["items"]) >= 4 and m.body["totals"]["hours_worked"] > 100, m.body
    assert m.body["totals"]["absences"]["unjustified"] == 7, m.body
    assert m.body["totals"]["late_minutes"] == 20, m.body
    c = d.call("GET", P + "/reports/monthly-hours?structure=%d&month=2026-02&format=csv"
               % structure, who="coordinator")
    rows = list(csv.DictReader(io.StringIO(c.raw.decode("utf-8-sig"), newline=""),
                               delimiter=";"))
    assert len(rows) == len(m.body["items"])
    assert round(sum(float(r["Heures travaillées"].replace(",", ".")) for r in rows), 2) == \
        m.body["totals"]["hours_worked"]

    i = d.get(P + "/reports/indicators?structure=%d&from=2026-02-01&to=2026-02-28" % structure,
              who="coordinator").body
    assert i["hours_worked"] == m.body["totals"]["hours_worked"], i
    assert 0 < i["hours_worked_rate"] <= 100 and i["absenteeism_rate"] > 0, i
    assert i["orders"]["in_progress"] == 2 and i["incidents"]["near_misses"] == 1, i

    plan = d.get(P + "/planning?from=2026-02-02&to=2026-02-08&team=%s"
                 % "%C3%89quipe%20entretien", who="eti").body
    assert plan["people"] and all(x["days"] for x in plan["people"]), plan
    order = d.list_all(P + "/orders", who="coordinator")[0]["id"]
    prog = d.get(P + "/orders/%d/progress" % order, who="coordinator").body
    assert prog["assigned_hours"] > 0 and prog["quantities"][0]["done"] > 0, prog
