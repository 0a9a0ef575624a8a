"""docs/openapi.json is sound, and openapi_check.check() tells good answers from bad.

No daemon: the answers here are synthetic.
"""

import copy
import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import openapi_check as oc  # noqa: E402

JSON = {"Content-Type": "application/json", "Cache-Control": "no-store"}

STRUCTURE = {
    "id": 3,
    "name": "Les Jardins du Thaurion",
    "siret": "73282932000074",
    "kind": "ACI",
    "annexe_financiere": "ACI023201111A0M0",
    "created_at": "2026-11-23T09:00:00Z",
    "updated_at": "2026-11-23T09:05:00Z",
}

STAFF = {
    "id": 12,
    "name": "Alice Martin",
    "unix_user": "alice",
    "role": "cip",
    "email": None,
    "active": True,
    "bootstrap": False,
    "created_at": "2026-11-23T09:00:00Z",
    "updated_at": "2026-11-23T09:00:00Z",
}


def err(code, message="something", field=None):
    e = {"code": code, "message": message}
    if field:
        e["field"] = field
    return {"error": e}


def raw(obj):
    return (json.dumps(obj) + "\n").encode()


def rejects(match, *args):
    with pytest.raises(AssertionError, match=match):
        oc.check(*args)


def test_document_is_sound():
    assert oc.load()["openapi"] == "3.1.0"
    assert oc.check_document()


def test_load_is_cached():
    assert oc.load() is oc.load()


def core_routes(tmp_path):
    """(METHOD, pattern) of every route the daemon serves but the plugins' (each plugin's
    README describes its own): the platform's table and the kernel's routes, derived
    from the records it declares, as `tremplind -n -r` prints them from the shipped
    configuration, with the plugins it loads taken from the build tree."""
    top = os.environ.get("TOP_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    build = os.environ.get("TOP_BUILDDIR", top)
    daemon = os.environ.get("TREMPLIND") or os.path.join(build, "tremplind")
    with open(os.path.join(top, "etc", "tremplin.conf"), encoding="utf-8") as f:
        text = f.read()
    for name, where in (("plugin_dir", os.path.join(build, "plugins")),
                        ("script_dir", os.path.join(top, "lua"))):
        text, n = re.subn(r'(?m)^%s = "[^"]*"$' % name, '%s = "%s"' % (name, where), text)
        assert n == 1, name
    conf = tmp_path / "tremplin.conf"
    conf.write_text(text, encoding="utf-8")
    p = subprocess.run([daemon, "-n", "-r", "-f", str(conf)],
                       cwd=top, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    plugins = {d for d in os.listdir(os.path.join(top, "plugins"))
               if os.path.isdir(os.path.join(top, "plugins", d))}
    routes = set()
    for line in p.stdout.splitlines():
        methods, pattern = line.split(" ", 1) if ", " not in line else line.rsplit(" ", 1)
        if pattern.split("/")[2] in plugins:
            continue
        for m in methods.split(", "):
            routes.add((m, pattern))
    return routes


def test_document_describes_the_whole_api(tmp_path):
    doc = oc.load()
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m != "parameters"}
    routes = core_routes(tmp_path)
    assert ("GET", "/v1/health") in routes and ("PATCH", "/v1/exits/{id}") in routes
    assert ops - routes == set(), "documented but not routed"
    assert routes - ops == set(), "routed but not documented in docs/openapi.json"
    for name in ("Error", "Health", "WhoAmI", "Structure", "StructureCreate", "StructurePatch",
                 "StructureList", "Staff", "StaffCreate", "StaffPatch", "StaffList",
                 "PluginList", "Plugin", "PluginSubscription", "EventList", "Event",
                 "Policy", "AuditList", "Employee", "EmployeeCreate", "EmployeePatch",
                 "EmployeeList", "WelcomeChecklist", "WelcomeItem", "PersonEventPayload"):
        assert name in doc["components"]["schemas"]


def test_records_of_a_persons_file__marked_for_the_policy():
    """Every record a person's file returns is x-policy and closed; requests list their fields."""
    s = oc.load()["components"]["schemas"]
    for name in ("Employee", "WelcomeItem", "Barrier", "Observation", "Goal", "Review", "Note",
                 "Exit", "WelcomeChecklistItem"):
        assert s[name].get("x-policy") is True, name
        assert s[name]["additionalProperties"] is False, name
    for name in ("Employee", "WelcomeItem", "Barrier", "Observation", "Goal", "Review", "Note",
                 "Exit"):
        for kind in ("Create", "Patch"):
            body = s[name + kind]
            assert body["additionalProperties"] is False and body["properties"], name + kind
            # A request lists only fields the record has, never server-set ones.
            assert set(body["properties"]) <= set(s[name]["properties"]) - {
                "id", "employee_id", "created_at", "updated_at", "last_contact_at"}, name + kind


def test_person_event_payload__ids_and_field_names_only():
    ev = {"id": 9, "type": "barrier.updated", "subject": "barrier/4",
          "payload": {"id": 4, "employee_id": 2, "changed": ["severity"]},
          "actor": "bin", "created_at": "2026-11-23T09:00:00Z"}
    oc.check("GET", "/v1/events", 200, JSON, {"items": [ev], "next_cursor": None})
    leaky = dict(ev, payload=dict(ev["payload"], detail="diabète"))
    rejects("does not match", "GET", "/v1/events", 200, JSON,
            {"items": [leaky], "next_cursor": None})


# -- correct answers ----------------------------------------------------------


def test_accepts_a_correct_answer():
    oc.check("GET", "/v1/structures/3", 200, JSON, raw(STRUCTURE))
    # Already parsed, a query string, a null optional field, headers as pairs.
    s = dict(STRUCTURE, annexe_financiere=None)
    oc.check("GET", "/v1/structures/3?x=1", 200, list(JSON.items()), s)
    oc.check("GET", "/v1/staff?limit=1&role=cip", 200, JSON,
             {"items": [STAFF], "next_cursor": "AAAAAAAAAAw"})
    oc.check("GET", "/v1/staff", 200, JSON, {"items": [], "next_cursor": None})


def test_accepts_created_with_location():
    oc.check("POST", "/v1/staff", 201, dict(JSON, Location="/v1/staff/12"), raw(STAFF))


def test_accepts_errors():
    oc.check("PATCH", "/v1/staff/12", 422, JSON,
             err("validation_failed", "you may not change your own role", "role"))
    oc.check("POST", "/v1/structures", 400, JSON, err("unknown_field", "x is not a known field", "x"))
    oc.check("GET", "/v1/structures/99", 404, JSON, err("not_found", "no structure 99"))


def test_accepts_health_ok_and_degraded():
    ok = {"status": "ok"}
    oc.check("GET", "/v1/health", 200, JSON, {"status": "ok", "reason": None, "version": "0.1.0",
                                              "uptime_seconds": 0, "database": ok,
                                              "audit_log": ok})
    oc.check("GET", "/v1/health", 503, JSON, {"status": "degraded", "version": "0.1.0",
                                              "reason": "the database does not answer",
                                              "uptime_seconds": 9,
                                              "database": {"status": "failing"},
                                              "audit_log": ok})
    oc.check("GET", "/v1/health", 503, JSON, {"status": "degraded", "version": "0.1.0",
                                              "reason": "disk full: the last write to the "
                                              "audit log failed at 2026-12-04T10:30:00Z",
                                              "uptime_seconds": 9, "database": ok,
                                              "audit_log": {"status": "full"}})
    oc.check("GET", "/v1/health", 503, JSON, err("unavailable", "the database does not answer"))
    # Degraded says why.
    rejects("not valid under any", "GET", "/v1/health", 503, JSON,
            {"status": "degraded", "reason": None, "version": "0.1.0", "uptime_seconds": 9,
             "database": {"status": "full"}, "audit_log": ok})


def test_backup_checks_content_type_only():
    oc.check("GET", "/v1/backup", 200, {"Content-Type": "application/vnd.sqlite3"},
             b"SQLite format 3\0...")
    oc.check("GET", "/v1/backup", 200, {"Content-Type": "application/pkcs7-mime"},
             b"\x30\x80\x06\x09...")
    rejects("Content-Type", "GET", "/v1/backup", 200, JSON, b"{}")


def test_unknown_path_is_a_json_404():
    oc.check("GET", "/nope", 404, JSON, err("not_found", "no such resource: /nope"))
    # An {id} the router does not take is no path either.
    oc.check("GET", "/v1/staff/012", 404, JSON, err("not_found", "no such resource"))
    oc.check("POST", "/v1/staff/abc", 404, JSON, err("not_found", "no such resource"))
    oc.check("GET", "/v1/staff/", 404, JSON, err("not_found", "no such resource"))
    # Identity comes before routing.
    oc.check("GET", "/nope", 403, JSON, err("forbidden", "unknown caller"))
    rejects("must be 404", "GET", "/nope", 200, JSON, {})
    rejects("does not match", "GET", "/nope", 404, JSON, {"error": "not_found"})
    rejects("does not match", "GET", "/nope", 404, JSON, err("conflict"))


def test_unknown_method_is_a_405_with_allow():
    oc.check("DELETE", "/v1/staff/12", 405, dict(JSON, Allow="GET, PATCH"),
             err("method_not_allowed", "/v1/staff/12 allows GET, PATCH"))
    oc.check("HEAD", "/v1/health", 405, dict(JSON, Allow="GET"), b"")
    rejects("must be 405", "PUT", "/v1/staff", 200, JSON, {})
    rejects("Allow", "DELETE", "/v1/staff/12", 405, dict(JSON, Allow="GET"),
            err("method_not_allowed"))


# -- drift the tests must catch -----------------------------------------------


def test_rejects_an_extra_property():
    s = dict(STRUCTURE, owner="x")
    rejects(r"(?s)does not match.*owner", "GET", "/v1/structures/3", 200, JSON, raw(s))
    e = err("not_found", "no structure 9")
    e["error"]["hint"] = "x"
    rejects("does not match", "GET", "/v1/structures/9", 404, JSON, e)


def test_rejects_a_missing_required_property():
    s = dict(STAFF)
    del s["bootstrap"]
    rejects(r"'bootstrap' is a required property", "GET", "/v1/staff/12", 200, JSON, raw(s))
    rejects("next_cursor", "GET", "/v1/staff", 200, JSON, {"items": []})


def test_rejects_an_unlisted_status():
    rejects(r"^POST /v1/staff answered 418, not in docs/openapi\.json", "POST", "/v1/staff", 418,
            JSON, err("internal"))
    rejects(r"^GET /v1/staff/12 answered 409, not in docs/openapi\.json", "GET",
            "/v1/staff/12?x=1", 409, JSON, err("conflict"))


def test_rejects_wrong_values():
    bad = [
        dict(STRUCTURE, siret="7328293200007"),
        dict(STRUCTURE, kind="SCOP"),
        dict(STRUCTURE, created_at="2026-11-23 09:00:00"),
        dict(STRUCTURE, id="3"),
        dict(STRUCTURE, annexe_financiere=""),
    ]
    for s in bad:
        rejects("does not match", "GET", "/v1/structures/3", 200, JSON, s)
    rejects("does not match", "GET", "/v1/staff/12", 200, JSON, dict(STAFF, active=1))
    rejects("does not match", "GET", "/v1/staff", 200, JSON, {"items": [], "next_cursor": 0})
    # The error code must be the one of its status.
    rejects("does not match", "GET", "/v1/structures/9", 404, JSON, err("conflict"))
    rejects("does not match", "GET", "/v1/staff?x=1", 400, JSON, err("unknown_field", "x", "x"))
    rejects("does not match", "GET", "/v1/health", 200, JSON,
            {"status": "degraded", "version": "0.1.0", "uptime_seconds": 1,
             "database": {"status": "failing"}})


def test_rejects_a_missing_location_and_a_bad_one():
    rejects("Location", "POST", "/v1/structures", 201, JSON, raw(STRUCTURE))
    rejects("Location", "POST", "/v1/structures", 201, dict(JSON, Location="/v1/staff/3"),
            raw(STRUCTURE))


def test_rejects_a_body_that_is_not_json():
    rejects("not JSON", "GET", "/v1/whoami", 200, JSON, b"<html>")
    rejects("Content-Type", "GET", "/v1/whoami", 200, {"Content-Type": "text/html"}, b"<html>")


def test_check_document_finds_faults(tmp_path):
    doc = copy.deepcopy(oc.load())
    doc["components"]["schemas"]["Structure"]["properties"]["x"] = {"$ref": "#/components/schemas/Nope"}
    del doc["paths"]["/v1/whoami"]["get"]["responses"]
    doc["components"]["schemas"]["Staff"]["additionalProperties"] = True
    p = tmp_path / "openapi.json"
    p.write_text(json.dumps(doc))
    try:
        with pytest.raises(oc.DocumentError, match="Nope"):
            oc.check_document(str(p))
        del doc["components"]["schemas"]["Structure"]["properties"]["x"]
        p.write_text(json.dumps(doc))
        oc._docs.clear()
        with pytest.raises(oc.DocumentError) as e:
            oc.check_document(str(p))
        assert "GET /v1/whoami has no responses" in str(e.value)
        assert "additionalProperties" in str(e.value)
    finally:
        oc._docs.clear()
        oc._current = None
        oc.load()


# -- plugins, events and the paths of plugins ---------------------------------

PLUGIN = {
    "name": "recorder", "kind": "c", "state": "enabled", "version": "0.0.1",
    "description": "test: records events", "last_error": None, "failures": 0,
    "subscriptions": [{"name": "recorder/all", "type": "*", "cursor": 4, "delivered": 0,
                       "failures": 0, "last_error": None, "pending": False}],
}
EVENT = {"id": 5, "type": "structure.created", "subject": "structure/3",
         "payload": {"object": STRUCTURE}, "actor": "root", "created_at": "2026-11-23T09:00:00Z"}


def test_plugins_answer__checked():
    refused = dict(PLUGIN, name="badabi", state="disabled_failed", version=None,
                   description=None, last_error="built for plugin ABI 19700101", subscriptions=[])
    oc.check("GET", "/v1/plugins", 200, JSON, {"items": [PLUGIN, refused]})
    rejects("does not match", "GET", "/v1/plugins", 200, JSON,
            {"items": [dict(PLUGIN, state="sleeping")]})
    rejects("does not match", "GET", "/v1/plugins", 200, JSON,
            {"items": [dict(PLUGIN, subscriptions=[dict(PLUGIN["subscriptions"][0], extra=1)])]})
    rejects("does not match", "GET", "/v1/plugins", 200, JSON, {"items": [], "next_cursor": None})


def test_events_answer__core_payloads_checked():
    updated = dict(EVENT, type="structure.updated", payload={"object": STRUCTURE,
                                                            "changed": ["name"]})
    staff = dict(EVENT, type="staff.created", subject="staff/12", payload={"object": STAFF},
                 actor="configuration")
    plugin = dict(EVENT, type="example.tick", subject="", payload={"anything": [1]},
                  actor="plugin:example")
    oc.check("GET", "/v1/events?type=structure.*", 200, JSON,
             {"items": [EVENT, updated, staff, plugin], "next_cursor": "AAAAAAAAAAg"})
    for bad in (dict(EVENT, payload={"object": STAFF}),
                dict(EVENT, payload={"object": STRUCTURE, "changed": []}),
                dict(updated, payload={"object": STRUCTURE}),
                dict(EVENT, subject="staff/3"),
                dict(EVENT, payload=[]),
                dict(EVENT, actor="plugin:"),
                dict(EVENT, type="nodot")):
        rejects("does not match", "GET", "/v1/events", 200, JSON,
                {"items": [bad], "next_cursor": None})
    oc.check("GET", "/v1/events?after=x", 400, JSON, err("bad_request", "after", "after"))


def test_free_form_object__only_when_declared(tmp_path):
    doc = copy.deepcopy(oc.load())
    del doc["components"]["schemas"]["EventPayload"]["x-free-form"]
    p = tmp_path / "openapi.json"
    p.write_text(json.dumps(doc))
    try:
        with pytest.raises(oc.DocumentError, match="EventPayload"):
            oc.check_document(str(p))
    finally:
        oc._docs.clear()
        oc._current = None
        oc.load()


def test_plugin_paths__left_to_named_plugins():
    saved = set(oc._plugins)
    try:
        rejects("must be 404", "GET", "/v1/zzplug/things", 200, JSON, {"items": []})
        oc.add_plugins(["zzplug", "structures"])
        oc.check("GET", "/v1/zzplug/things?x=1", 200, JSON, {"whatever": True})
        oc.check("GET", "/v1/zzplug", 200, JSON, raw([1, 2]))
        oc.check("POST", "/v1/zzplug/things", 403, JSON, err("forbidden", "the cip role may not"))
        oc.check("GET", "/v1/zzplug/nope", 404, JSON, err("not_found", "no such resource"))
        oc.check("POST", "/v1/zzplug/things", 405, dict(JSON, Allow="GET"),
                 err("method_not_allowed", "GET only"))
        rejects("Allow", "POST", "/v1/zzplug/things", 405, JSON, err("method_not_allowed"))
        rejects("does not match", "GET", "/v1/zzplug/things", 404, JSON, {"error": "nope"})
        rejects("does not match", "GET", "/v1/zzplug/things", 404, JSON, err("conflict"))
        rejects("errors are", "GET", "/v1/zzplug/things", 418, JSON, err("internal"))
        rejects("not JSON", "GET", "/v1/zzplug/things", 200, {"Content-Type": "text/plain"}, b"x")
        # A report a plugin offers as CSV (host->reply_text).
        oc.check("GET", "/v1/zzplug/report", 200, {"Content-Type": "text/csv; charset=utf-8"},
                 b"\xef\xbb\xbfa;b\r\n")
        rejects("not JSON", "GET", "/v1/zzplug/things", 200, JSON, b"{x")
        rejects("neither", "GET", "/v1/zzplug/things", 302, JSON, b"")
        # Core paths stay the document's, whatever a plugin is named.
        rejects("must be 404", "GET", "/v1/structures/x/y", 200, JSON, {})
        rejects("does not match", "GET", "/v1/structures/3", 200, JSON, {})
        # Only /v1/<plugin>: not a look-alike prefix.
        rejects("must be 404", "GET", "/v1/zzplugger", 200, JSON, {})
    finally:
        oc._plugins.clear()
        oc._plugins.update(saved)
