"""docs/openapi.json is sound, and openapi_check.check() tells good answers from bad.

No daemon: the answers here are synthetic.
"""

import copy
import json
import os
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


def test_document_describes_the_whole_api():
    doc = oc.load()
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m != "parameters"}
    assert ops == {
        ("GET", "/v1/health"), ("GET", "/v1/whoami"), ("GET", "/v1/backup"),
        ("GET", "/v1/structures"), ("POST", "/v1/structures"),
        ("GET", "/v1/structures/{id}"), ("PATCH", "/v1/structures/{id}"),
        ("GET", "/v1/staff"), ("POST", "/v1/staff"),
        ("GET", "/v1/staff/{id}"), ("PATCH", "/v1/staff/{id}"),
    }
    for name in ("Error", "Health", "WhoAmI", "Structure", "StructureCreate", "StructurePatch",
                 "StructureList", "Staff", "StaffCreate", "StaffPatch", "StaffList"):
        assert name in doc["components"]["schemas"]


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
    oc.check("GET", "/v1/health", 200, JSON, {"status": "ok", "version": "0.1.0",
                                              "uptime_seconds": 0, "database": {"status": "ok"}})
    oc.check("GET", "/v1/health", 503, JSON, {"status": "degraded", "version": "0.1.0",
                                              "uptime_seconds": 9,
                                              "database": {"status": "failing"}})
    oc.check("GET", "/v1/health", 503, JSON, err("unavailable", "the database does not answer"))


def test_backup_checks_content_type_only():
    oc.check("GET", "/v1/backup", 200, {"Content-Type": "application/vnd.sqlite3"},
             b"SQLite format 3\0...")
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
