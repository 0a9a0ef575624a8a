"""The example plugin against a real tremplind: its commented configuration
(example.conf) loads and is checked by `tremplind -n`, its count of events
survives a restart, and its declared record (checkin) has the routes, the
rules and the policy the host derives from the declaration.

Run by `make check` (tests/run-integration.sh collects plugins/*/tests); alone,
from the build directory:
  TOP_SRCDIR=$PWD/../.. TOP_BUILDDIR=$PWD TREMPLIND=$PWD/tremplind \\
    TREMPLINCTL=$PWD/tremplinctl python3 -m pytest -q -p no:cacheprovider \\
    ../../plugins/example/tests
"""

import json
import os

import pytest

import tremplin_test as tt

CONF = os.path.join(tt.TOP_SRCDIR, "plugins", "example", "example.conf")


def with_example_conf(d, replace=None):
    """d's configuration with example.conf's `plugins` table, as an operator would paste it."""
    with open(CONF) as f:
        section = f.read()
    if replace is not None:
        section = section.replace(*replace)
        assert replace[1] in section, replace
    tt.openapi_plugins({"example": {}})
    d.write_config(d.config_text(plugins=None) + section)


def counts(d, who="admin"):
    a = d.get("/v1/example/counts", who=who)
    assert a.status == 200, a
    return {i["type"]: i["count"] for i in a.body["items"]}


# -- configuration ---------------------------------------------------------------


def test_example_conf__loads__enabled(make_daemon):
    d = make_daemon(start=False, plugin_files=["example"])
    with_example_conf(d)
    d.start()
    p = tt.plugins_of(d)["example"]
    assert (p["state"], p["last_error"]) == ("enabled", None), p
    assert "plugin example 1.0.0 enabled" in d.log()


@pytest.mark.parametrize("replace, field", [
    (("= 3600", "= 0"), "summary_interval"),
    (("= 3600", "= 86401"), "summary_interval"),
    (("= 3600", "= \"3600\""), "summary_interval"),
    (("= 3600", "= 1.5"), "summary_interval"),
    (("summary_interval = 3600", "summary_intervall = 3600"), "summary_intervall: unknown"),
])
def test_example_conf__bad_setting__disabled_config_naming_it(make_daemon, replace, field):
    d = make_daemon(start=False, plugin_files=["example"])
    with_example_conf(d, replace)
    d.start()
    p = tt.plugins_of(d)["example"]
    assert p["state"] == "disabled_config" and field in p["last_error"], p
    assert d.get("/v1/example/counts").status == 404
    assert d.get("/v1/health").status == 200


# tremplind -n loads, initialises and configures the plugin without starting it:
# its subscription and timer are checked, not registered.
@pytest.mark.parametrize("replace, field", [
    (None, None),
    (("= 3600", "= 0"), "summary_interval"),
    (("summary_interval = 3600", "summary_intervall = 3600"), "summary_intervall: unknown"),
])
def test_example_conf__checked_by_n(make_daemon, replace, field):
    d = make_daemon(start=False, plugin_files=["example"])
    with_example_conf(d, replace)
    p = d.run("-n")
    assert p.returncode in (0, 78), (p.returncode, p.stdout + p.stderr)
    if field is None:
        assert p.returncode == 0, p.stdout + p.stderr
    else:
        assert p.returncode == 78 and "plugin example" in p.stderr and field in p.stderr, p.stderr


# -- its own machinery: counting events --------------------------------------------


def test_counts__events_by_type__kept_across_restart(make_daemon):
    d = make_daemon(plugin_files=["example"], plugins={"example": {"summary_interval": 60}})
    p = tt.plugins_of(d)["example"]
    assert (p["state"], p["version"]) == ("enabled", "1.0.0"), p
    assert [(s["name"], s["type"]) for s in p["subscriptions"]] == [("example/counter", "*")]
    # It subscribed after the bootstrap accounts' events: it counts from there.
    assert counts(d) == {}

    s1 = d.create("/v1/structures", tt.structure_body())
    d.create("/v1/structures", tt.structure_body())
    assert d.patch("/v1/structures/%d" % s1["id"], {"name": "Renommé"}).status == 200
    d.create("/v1/staff", tt.staff_body())
    want = {"structure.created": 2, "structure.updated": 1, "staff.created": 1}
    tt.wait_for("the counts", lambda: counts(d) == want)
    assert counts(d, who="coordinator") == want

    d.restart()
    assert counts(d) == want
    d.create("/v1/structures", tt.structure_body())
    want["structure.created"] += 1
    tt.wait_for("the count after the restart", lambda: counts(d) == want)
    sub = tt.plugins_of(d)["example"]["subscriptions"][0]
    assert (sub["delivered"], sub["failures"], sub["pending"]) == (5, 0, False), sub
    assert sub["cursor"] == d.get("/v1/events?limit=500").body["items"][-1]["id"]
    d.stop()
    assert d.sql("SELECT version FROM schema_migrations WHERE module = 'example'") == [(1,), (2,)]
    assert d.sql("SELECT count(*) FROM sqlite_master WHERE name = 'example_counts'") == [(1,)]


# -- a person's record: checkin ----------------------------------------------------


@pytest.fixture(scope="module")
def plugged(module_daemons):
    """One daemon with the example, and an employee whose referents are the bootstrap CIP and ETI."""
    d = module_daemons(plugin_files=["example"], plugins={"example": {}})
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    body = {"structure_id": structure, "first_name": "Camille", "last_name": tt.unique("E"),
            "birth_date": "1988-03-02", "prescriber_kind": "france_travail",
            "referent_cip_id": staff["bin"]["id"], "referent_eti_id": staff["sys"]["id"]}
    employee = d.create("/v1/employees", body, who="cip")["id"]
    return {"d": d, "employee": employee, "eti_id": staff["sys"]["id"]}


def checkins(p, employee=None):
    """The collection of a person's check-ins (the plugged employee's by default)."""
    return "/v1/example/employees/%d/checkins" % (employee or p["employee"])


def rows(d):
    return d.sql("SELECT id, day, present, hours, incident, medical_detail FROM example_checkins"
                 " ORDER BY id")


def test_checkin__eti_creates__201_location_author_and_stamps(plugged):
    d = plugged["d"]
    a = d.post(checkins(plugged), {"day": "2026-03-02", "present": True, "hours": 7,
                                   "note": "débroussaillage"}, who="eti")
    assert a.status == 201, a
    assert a.headers["Location"] == "/v1/example/checkins/%d" % a.body["id"]
    b = a.body
    assert (b["employee_id"], b["day"], b["present"], b["hours"], b["incident"]) == (
        plugged["employee"], "2026-03-02", True, 7, "none"), b
    assert b["created_by"] == plugged["eti_id"] and b["created_at"] == b["updated_at"], b
    assert d.get(a.headers["Location"], who="cip").body["note"] == "débroussaillage"
    # The host names the person and the author beside their ids, as for its own records.
    assert b["employee_name"].startswith("Camille ") and b["created_by_name"] == "Encadrant ETI"


def test_checkin__list__filters_and_day_fixed(plugged):
    d = plugged["d"]
    for day, present in (("2026-04-01", True), ("2026-04-02", False), ("2026-04-03", True)):
        assert d.post(checkins(plugged), {"day": day, "present": present}, who="eti").status == 201
    a = d.get(checkins(plugged) + "?from=2026-04-01&to=2026-04-02", who="coordinator")
    assert a.status == 200, a
    assert [i["day"] for i in a.body["items"]] == ["2026-04-01", "2026-04-02"]
    a = d.get(checkins(plugged) + "?from=2026-04-01&present=false", who="eti")
    assert [i["day"] for i in a.body["items"]] == ["2026-04-02"]
    a = d.get(checkins(plugged) + "?present=maybe", who="eti")
    assert (a.status, a.error["field"]) == (400, "present"), a
    first = d.get(checkins(plugged) + "?from=2026-04-01", who="eti").body["items"][0]
    a = d.patch("/v1/example/checkins/%d" % first["id"], {"day": "2026-04-09"}, who="eti")
    assert (a.status, a.error["field"]) == (422, "day"), a
    # One check-in a day: the table's UNIQUE answers 409.
    a = d.post(checkins(plugged), {"day": "2026-04-01", "present": True}, who="eti")
    assert a.status == 409, a


@pytest.mark.parametrize("body, field", [
    ({"day": "2026-05-04", "present": False, "hours": 3}, "hours"),
    ({"day": "2026-05-04", "present": True, "medical_detail": "entorse"}, "medical_detail"),
    ({"day": "2026-05-04", "present": True, "incident": "near_miss",
      "medical_detail": "entorse"}, "medical_detail"),
    ({"day": "2026-05-04", "present": True, "hours": 11}, "hours"),
    ({"day": "2026-02-30", "present": True}, "day"),
    ({"day": "2026-05-04", "present": True, "incident": "fire"}, "incident"),
    ({"present": True}, "day"),
])
def test_checkin__bad_input__422_naming_the_field_nothing_written(plugged, body, field):
    d = plugged["d"]
    before = rows(d)
    a = d.post(checkins(plugged), body, who="eti")
    assert (a.status, a.error["code"], a.error["field"]) == (422, "validation_failed", field), a
    assert rows(d) == before


def test_checkin__patch_breaking_the_rule__422_row_unchanged(plugged):
    d = plugged["d"]
    c = d.create(checkins(plugged), {"day": "2026-05-11", "present": True, "hours": 6}, who="eti")
    before = rows(d)
    a = d.patch("/v1/example/checkins/%d" % c["id"], {"present": False}, who="eti")
    assert (a.status, a.error["field"]) == (422, "hours"), a
    assert rows(d) == before
    a = d.patch("/v1/example/checkins/%d" % c["id"], {"present": False, "hours": None}, who="eti")
    assert a.status == 200 and a.body["present"] is False and a.body["hours"] is None, a


def test_checkin__injury_detail__the_referent_cips_alone(plugged):
    d = plugged["d"]
    c = d.create(checkins(plugged), {"day": "2026-06-01", "present": True, "hours": 2,
                                     "incident": "injury"}, who="eti")
    path = "/v1/example/checkins/%d" % c["id"]
    # The detail of an injury is sensitive: the ETI who writes the check-in may not write it...
    a = d.patch(path, {"medical_detail": "entorse de la cheville"}, who="eti")
    assert (a.status, a.error["field"]) == (403, "medical_detail"), a
    # ...the referent CIP may, and alone reads it back.
    a = d.patch(path, {"medical_detail": "entorse de la cheville"}, who="cip")
    assert a.status == 200 and a.body["medical_detail"] == "entorse de la cheville", a
    assert "medical_detail" not in d.get(path, who="eti").body
    assert "medical_detail" not in d.get(path, who="coordinator").body
    assert d.get(path, who="cip").body["medical_detail"] == "entorse de la cheville"
    # The CIP reads attendance but does not write it.
    a = d.patch(path, {"hours": 3}, who="cip")
    assert (a.status, a.error["field"]) == (403, "hours"), a
    # A delete takes every value of the row: no role writes both attendance and the
    # sensitive detail; once the referent CIP has cleared it, the ETI may.
    for who in ("eti", "cip", "coordinator"):
        assert d.call("DELETE", path, who=who).status == 403, who
    assert d.patch(path, {"medical_detail": None}, who="cip").status == 200
    assert d.call("DELETE", path, who="eti").status == 200
    assert d.get(path, who="cip").status == 404


def test_checkin__admin__never_reaches_it(plugged):
    d = plugged["d"]
    c = d.create(checkins(plugged), {"day": "2026-06-08", "present": True}, who="eti")
    assert d.get("/v1/example/checkins/%d" % c["id"]).status == 403
    assert d.get(checkins(plugged)).status == 403
    assert d.post(checkins(plugged), {"day": "2026-06-09", "present": True}).status == 403


def test_checkin__journaled_without_values(plugged):
    d = plugged["d"]
    c = d.create(checkins(plugged), {"day": "2026-06-15", "present": True,
                                     "note": "valeur-témoin"}, who="eti")
    events = [e for e in d.list_all("/v1/events", who="coordinator")
              if e["subject"] == "example.checkin/%d" % c["id"]]
    assert [e["type"] for e in events] == ["example.checkin.created"], events
    assert events[0]["payload"] == {"id": c["id"], "changed": [],
                                    "employee_id": plugged["employee"]}, events[0]
    assert "valeur-témoin" not in str(events)


def test_checkin__delete__row_gone_and_journaled(plugged):
    d = plugged["d"]
    c = d.create(checkins(plugged), {"day": "2026-06-22", "present": True}, who="eti")
    a = d.call("DELETE", "/v1/example/checkins/%d" % c["id"], who="eti")
    assert a.status == 200 and a.body == {"id": c["id"], "deleted": True}, a
    assert d.get("/v1/example/checkins/%d" % c["id"], who="eti").status == 404
    assert d.sql("SELECT count(*) FROM example_checkins WHERE id = ?", (c["id"],)) == [(0,)]


def test_checkin__in_the_policy_as_declared(plugged):
    r = plugged["d"].get("/v1/policy", who="coordinator").body["resources"]["example.checkin"]
    assert (r["module"], r["owner"], r["personal"]) == ("example", "person", True), r
    assert r["item"] == "/v1/example/checkins"
    assert r["collection"] == "/v1/example/employees/{id}/checkins"
    assert r["ops"] == ["get", "list", "create", "update", "delete"]
    assert r["fields"]["medical_detail"] == ["safety", "sensitive"]
    assert r["fields"]["hours"] == ["attendance"] and r["fields"]["note"] == ["production"]
    assert r["sensitive_when"] == {"field": "incident", "values": ["injury"]}


def test_checkin__exported_then_erased__even_once_the_plugin_is_unloaded(make_daemon):
    d = make_daemon(plugin_files=["example"], plugins={"example": {}})
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    cip = d.get("/v1/whoami", who="cip").body["id"]
    employee = d.create("/v1/employees", {
        "structure_id": structure, "first_name": "Lou", "last_name": tt.unique("E"),
        "birth_date": "1990-01-01", "prescriber_kind": "france_travail",
        "referent_cip_id": cip}, who="cip")["id"]
    d.create(checkins(None, employee), {"day": "2026-07-01", "present": True}, who="coordinator")
    export = "/v1/employees/%d/export" % employee
    a = d.get(export, who="coordinator")
    assert [r["day"] for r in a.body["records"]["example.checkin"]] == ["2026-07-01"], a.body
    assert a.body["not_loaded"] == [], a.body

    # Unloaded: its rows cannot be shown by its rules, but the export says they are there...
    d.stop()
    d.write_config(plugins={})
    d.start()
    a = d.get(export, who="coordinator")
    assert "example.checkin" not in a.body["records"], a.body
    assert [(x["record"], x["plugin"], x["rows"]) for x in a.body["not_loaded"]] == [
        ("example.checkin", "example", 1)], a.body
    assert a.body["complete"] is False
    # ...and the erasure takes them with the file.
    a = d.call("DELETE", "/v1/employees/%d" % employee, {"reason": "request"}, who="coordinator")
    assert a.status == 200, a
    d.stop()
    assert d.sql("SELECT count(*) FROM example_checkins WHERE employee_id = ?",
                 (employee,)) == [(0,)]


# -- a view of its data, for site scripts ---------------------------------------------


ABSENCES = """
every(1, function()
  local ok, rows = pcall(view, "example.absences.v1", { day = "2026-05-04" })
  log("info", "RESULT " .. json.encode(ok and rows or tostring(rows)))
end, { immediately = true })
"""


@pytest.mark.parametrize("role, allowed", [("eti", True), ("cip", True), ("admin", False)])
def test_absences_view__read_by_a_site_script_under_its_role(make_daemon, role, allowed):
    import lua_support as ls

    d = ls.script_daemon(make_daemon, {"probe": {"role": role}},
                         {"rules/probe.lua": ABSENCES}, start=False,
                         plugin_files=["example"], plugins={"example": {}})
    d.start()
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    people = []
    for present in (False, True):
        people.append(d.create("/v1/employees", {
            "structure_id": structure, "first_name": "Lou", "last_name": tt.unique("V"),
            "birth_date": "1990-01-01", "prescriber_kind": "france_travail"}, who="cip")["id"])
        assert d.post(checkins(None, people[-1]), {"day": "2026-05-04", "present": present},
                      who="eti").status == 201
    # The script runs every second: a line once the rows are there (or the refusal).
    want = [{"employee_id": people[0], "day": "2026-05-04"}]

    def seen():
        for line in ls.script_lines(d, "probe"):
            if line.startswith("RESULT "):
                got = line[len("RESULT "):]
                if not allowed:
                    return "may not be read by the admin role" in got
                if json.loads(got) == want:
                    return True
        return False

    tt.wait_for("the script's reading of the view", seen)
