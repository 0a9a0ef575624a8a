"""A plugin's record about a person, under the person's rights, on a real daemon.

The example plugin declares `checkin` (plugins/example/example.c): the ETI's
morning check-in of an employee, categories attendance, safety and
production, its medical_detail sensitive when the incident is an injury. It
writes no line of policy, audit, journal, export or erasure code: the host
derives them from the declaration. These tests prove they hold:

- the audit log records every write of a checkin and every read that shows
  an audited category, with the categories;
- the journal says example.checkin.created/updated/deleted with ids and the
  names of the changed fields, never a value;
- the export shows checkins as the caller may see them, and once the plugin
  is removed from the configuration says they are there (not_loaded) and
  that it is not complete;
- erasure removes them in the same transaction as the file, the plugin
  loaded or not (the record catalogue), and leaves none of their bytes in
  any database file;
- retention purges them with the file, the plugin loaded or not;
- a PATCH that changes nothing writes no event and no audit entry.
"""

import json
import os
import sqlite3

import pytest

import lua_support as ls
import tremplin_test as tt
from test_rights import NO_HOLD, T0, T2, audit_entries, employee, markers_on_disk, workshop

pytestmark = pytest.mark.skipif(not tt.IS_ROOT, reason="calls the API as several Unix users")

RECORD = "example.checkin"
TABLE = "example_checkins"


def plugged(make_daemon, start=True, **kw):
    return make_daemon(start=start, plugin_files=["example"], plugins={"example": {}}, **kw)


def unplug(d):
    """Restart without the example in the configuration (its .so stays in plugin_dir)."""
    rc = d.stop()
    assert rc == 0, d.log()
    d.write_config(plugins={})
    d.start()
    assert "example" not in tt.plugins_of(d)
    assert d.get("/v1/example/checkins/1", who="coordinator").status == 404


def checkin(d, eid, body, who="eti"):
    return d.create("/v1/example/employees/%d/checkins" % eid, body, who=who)


def rows(d, eid):
    return d.sql("SELECT count(*) FROM %s WHERE employee_id = ?" % TABLE, (eid,))[0][0]


def last_ids(d):
    """The last event id and the last audit entry id, from the files."""
    ev = d.sql("SELECT coalesce(max(id), 0) FROM events")[0][0]
    con = sqlite3.connect(os.path.join(d.dir, "audit.sqlite"), timeout=10)
    try:
        au = con.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    finally:
        con.close()
    return ev, au


def marked_checkins(d, w):
    """A person with unique names, and checkins whose note and medical detail are unique."""
    m = {k: tt.unique("Zk" + k) for k in ("first", "last", "note", "medical", "note2")}
    eid = employee(w, first_name=m["first"], last_name=m["last"])["id"]
    a = checkin(d, eid, {"day": "2022-01-10", "present": True, "hours": 7,
                         "note": "Chantier %s" % m["note"]})
    b = checkin(d, eid, {"day": "2022-01-11", "present": True, "incident": "injury",
                         "note": "Coupure %s" % m["note2"]})
    # The detail of an injury: the referent CIP's to write.
    assert d.patch("/v1/example/checkins/%d" % b["id"],
                   {"medical_detail": "Suture %s" % m["medical"]}, who="cip").status == 200
    # Several writes, so that old versions of the pages pile up in the WAL.
    for i in range(3):
        assert d.patch("/v1/example/checkins/%d" % a["id"],
                       {"note": "Chantier %s %d" % (m["note"], i)}, who="eti").status == 200
    assert rows(d, eid) == 2
    return eid, m


# ---------------------------------------------------------------------------
# Audit and journal


def test_checkin__writes_and_audited_reads_in_the_audit_log_with_categories(make_daemon):
    d = plugged(make_daemon)
    w = workshop(d)
    eid = employee(w)["id"]
    n = len(audit_entries(d, eid))
    c = checkin(d, eid, {"day": "2026-03-02", "present": True, "hours": 6.5,
                         "note": "Taille des haies"})
    path = "/v1/example/checkins/%d" % c["id"]
    assert d.patch(path, {"incident": "injury"}, who="eti").status == 200
    assert d.patch(path, {"medical_detail": "Entorse"}, who="cip").status == 200
    # Reads of attendance, safety and production (not audited): no entry.
    for who in ("eti", "coordinator"):
        assert d.get(path, who=who).status == 200
        assert d.get("/v1/example/employees/%d/checkins" % eid, who=who).status == 200
    # The referent CIP reads the medical detail: sensitive, audited.
    a = d.get(path, who="cip")
    assert a.status == 200 and a.body["medical_detail"] == "Entorse", a
    a = d.get("/v1/example/employees/%d/checkins" % eid, who="cip")
    assert a.status == 200 and a.body["items"][0]["medical_detail"] == "Entorse", a
    other = checkin(d, eid, {"day": "2026-03-03", "present": False})
    assert d.call("DELETE", "/v1/example/checkins/%d" % other["id"],
                  who="eti").status == 200
    new = [(e["action"], e["resource"], e["role"], sorted(e["categories"]))
           for e in audit_entries(d, eid)[n:]]
    assert new == [
        ("create", TABLE, "eti", ["attendance", "production"]),
        ("update", TABLE, "eti", ["safety"]),
        ("update", TABLE, "cip", ["sensitive"]),
        ("read", TABLE, "cip", ["sensitive"]),
        ("read", TABLE, "cip", ["sensitive"]),
        ("create", TABLE, "eti", ["attendance"]),
        ("delete", TABLE, "eti", ["attendance", "safety"]),
    ], new


def test_checkin__journal_ids_and_changed_names__never_a_value(make_daemon):
    d = plugged(make_daemon)
    w = workshop(d)
    eid = employee(w)["id"]
    secret = {k: tt.unique("Zj" + k) for k in ("note", "note2", "medical")}
    c = checkin(d, eid, {"day": "2026-03-02", "present": True, "note": secret["note"]})
    path = "/v1/example/checkins/%d" % c["id"]
    assert d.patch(path, {"hours": 4, "note": secret["note2"], "incident": "injury"},
                   who="eti").status == 200
    assert d.patch(path, {"medical_detail": secret["medical"]}, who="cip").status == 200
    # An injury's detail is the referent CIP's: the ETI may not delete it with the row;
    # once the CIP has cleared it, the row holds nothing the ETI may not write.
    a = d.call("DELETE", path, who="eti")
    assert a.status == 403, a
    assert d.get(path, who="cip").body["medical_detail"] == secret["medical"]
    assert d.patch(path, {"medical_detail": None}, who="cip").status == 200
    a = d.call("DELETE", path, who="eti")
    assert a.status == 200 and a.body == {"id": c["id"], "deleted": True}, a
    ev = [e for e in d.list_all("/v1/events", query="type=*", who="coordinator")
          if e["type"].startswith("example.checkin.")]
    assert [(e["type"], e["subject"], e["payload"]) for e in ev] == [
        ("example.checkin.created", "example.checkin/%d" % c["id"],
         {"id": c["id"], "employee_id": eid, "changed": []}),
        ("example.checkin.updated", "example.checkin/%d" % c["id"],
         {"id": c["id"], "employee_id": eid, "changed": ev[1]["payload"]["changed"]}),
        ("example.checkin.updated", "example.checkin/%d" % c["id"],
         {"id": c["id"], "employee_id": eid, "changed": ["medical_detail"]}),
        ("example.checkin.updated", "example.checkin/%d" % c["id"],
         {"id": c["id"], "employee_id": eid, "changed": ["medical_detail"]}),
        ("example.checkin.deleted", "example.checkin/%d" % c["id"],
         {"id": c["id"], "employee_id": eid}),
    ], ev
    assert sorted(ev[1]["payload"]["changed"]) == ["hours", "incident", "note"]
    # No value in the journal, whoever reads it, nor in its table.
    for who in ("coordinator", "admin"):
        text = json.dumps(d.list_all("/v1/events", query="type=*", who=who),
                          ensure_ascii=False)
        for v in secret.values():
            assert v not in text, (who, v)
    text = json.dumps(d.sql("SELECT * FROM events"), ensure_ascii=False)
    for v in secret.values():
        assert v not in text, v


def test_checkin__admin__403_on_every_route_nothing_written(make_daemon):
    d = plugged(make_daemon)
    w = workshop(d)
    eid = employee(w)["id"]
    c = checkin(d, eid, {"day": "2026-03-02", "present": True})
    before = last_ids(d)
    for method, path, body in (
            ("GET", "/v1/example/employees/%d/checkins" % eid, None),
            ("POST", "/v1/example/employees/%d/checkins" % eid,
             {"day": "2026-03-04", "present": True}),
            ("GET", "/v1/example/checkins/%d" % c["id"], None),
            ("PATCH", "/v1/example/checkins/%d" % c["id"], {"hours": 3}),
            ("DELETE", "/v1/example/checkins/%d" % c["id"], None)):
        a = d.call(method, path, body, who="admin")
        assert a.status == 403 and a.error["code"] == "forbidden", (method, path, a)
    assert last_ids(d) == before and rows(d, eid) == 1


# ---------------------------------------------------------------------------
# A PATCH that changes nothing


def test_patch__nothing_changed__no_event_no_audit_entry(make_daemon):
    d = plugged(make_daemon)
    w = workshop(d)
    eid = employee(w, team="Espaces verts")["id"]
    barrier = d.create("/v1/employees/%d/barriers" % eid,
                       {"category": "housing", "severity": 2, "detail": "Foyer"}, who="cip")
    contract = d.create("/v1/employees/%d/contracts" % eid,
                        {"start_date": "2026-01-15", "end_date": "2026-05-14",
                         "weekly_hours": 26}, who="cip")
    c = checkin(d, eid, {"day": "2026-03-02", "present": True, "hours": 7, "note": "Haies"})
    before = last_ids(d)
    for path, body, who in (
            ("/v1/employees/%d" % eid, {"team": "Espaces verts"}, "coordinator"),
            ("/v1/barriers/%d" % barrier["id"], {"severity": 2, "detail": "Foyer"}, "cip"),
            ("/v1/contracts/%d" % contract["id"], {"weekly_hours": 26}, "cip"),
            # hours is REAL: 7 sent, 7.0 stored, the same value
            ("/v1/example/checkins/%d" % c["id"], {"hours": 7, "note": "Haies",
                                                   "present": True}, "eti"),
            ("/v1/example/checkins/%d" % c["id"], {"hours": 7.0}, "eti"),
            ("/v1/example/checkins/%d" % c["id"], {"medical_detail": None}, "eti")):
        a = d.patch(path, body, who=who)
        assert a.status == 200, (path, a)
        assert last_ids(d) == before, "PATCH %s %r changed nothing, yet was recorded" % (
            path, body)
    # A real change is recorded: the counts above are not blind.
    assert d.patch("/v1/example/checkins/%d" % c["id"], {"hours": 6}, who="eti").status == 200
    after = last_ids(d)
    assert after[0] > before[0] and after[1] > before[1]


# ---------------------------------------------------------------------------
# Export


def test_export__checkins_as_the_caller_sees_them__then_not_loaded_once_removed(make_daemon):
    d = plugged(make_daemon)
    w = workshop(d)
    eid = employee(w)["id"]
    a1 = checkin(d, eid, {"day": "2026-03-02", "present": True, "hours": 7, "note": "Haies"})
    a2 = checkin(d, eid, {"day": "2026-03-03", "present": True, "incident": "injury"})
    assert d.patch("/v1/example/checkins/%d" % a2["id"], {"medical_detail": "Entorse"},
                   who="cip").status == 200
    x = d.get("/v1/employees/%d/export" % eid, who="cip")
    assert x.status == 200, x
    got = x.body["records"][RECORD]
    assert got == [d.get("/v1/example/checkins/%d" % i, who="cip").body
                   for i in (a1["id"], a2["id"])]
    assert got[1]["medical_detail"] == "Entorse"
    assert x.body["not_loaded"] == [] and x.body["complete"] is True
    # The coordinator reads attendance, safety and production, not an injury's detail.
    x = d.get("/v1/employees/%d/export" % eid, who="coordinator")
    assert x.status == 200, x
    got = x.body["records"][RECORD]
    assert [r["id"] for r in got] == [a1["id"], a2["id"]]
    assert got[0]["note"] == "Haies" and got[1]["incident"] == "injury"
    assert "medical_detail" not in got[1] and "Entorse" not in json.dumps(x.body)
    # The export read the sensitive detail: recorded with its category.
    exports = [e for e in audit_entries(d, eid) if e["action"] == "export"]
    assert "sensitive" in exports[0]["categories"] and \
        "sensitive" not in exports[1]["categories"]
    for who in ("eti", "admin"):
        assert d.get("/v1/employees/%d/export" % eid, who=who).status == 403
    unplug(d)
    for who in ("cip", "coordinator"):
        x = d.get("/v1/employees/%d/export" % eid, who=who)
        assert x.status == 200, x
        assert RECORD not in x.body["records"]
        assert x.body["complete"] is False
        nl = x.body["not_loaded"]
        assert [(r["record"], r["plugin"], r["rows"]) for r in nl] == [(RECORD, "example", 2)]
        assert "Haies" not in json.dumps(x.body) and "Entorse" not in json.dumps(x.body)
    # A file without checkins: nothing to say.
    other = employee(w)["id"]
    x = d.get("/v1/employees/%d/export" % other, who="cip")
    assert x.body["not_loaded"] == [] and x.body["complete"] is True


# ---------------------------------------------------------------------------
# Erasure


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "removed"])
def test_erase__checkins_removed__no_byte_left_in_any_database_file(make_daemon, loaded):
    d = plugged(make_daemon)
    w = workshop(d)
    eid, m = marked_checkins(d, w)
    kept = employee(w)["id"]
    checkin(d, kept, {"day": "2022-01-10", "present": True})
    if not loaded:
        unplug(d)
    # The search finds them while the file exists (else it would prove nothing).
    assert set(markers_on_disk(d, m.values())) == set(m.values())
    a = d.call("DELETE", "/v1/employees/%d" % eid, {"reason": "request"}, who="coordinator")
    assert a.status == 200, a
    assert rows(d, eid) == 0 and rows(d, kept) == 1
    assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 404
    erase = [e for e in audit_entries(d, eid) if e["action"] == "erase"]
    assert len(erase) == 1
    if loaded:
        assert {"attendance", "safety", "production"} <= set(erase[0]["categories"])
    rc = d.stop()
    assert rc == 0, d.log()
    assert markers_on_disk(d, m.values()) == {}


def test_erase__a_checkin_that_cannot_go__nothing_erased(make_daemon):
    """Same transaction: a checkin the erasure cannot delete keeps the whole file."""
    d = plugged(make_daemon)
    w = workshop(d)
    eid = employee(w)["id"]
    checkin(d, eid, {"day": "2026-03-02", "present": True, "note": "Haies"})
    unplug(d)
    rc = d.stop()
    assert rc == 0
    # A trigger stands for any failure of the delete (a full disk, a broken table).
    d.sql("CREATE TRIGGER keep_checkins BEFORE DELETE ON %s"
          " BEGIN SELECT RAISE(ABORT, 'kept'); END" % TABLE)
    d.start()
    a = d.call("DELETE", "/v1/employees/%d" % eid, {"reason": "request"}, who="coordinator")
    assert a.status == 500, a
    assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 200
    assert rows(d, eid) == 1
    assert not [e for e in audit_entries(d, eid) if e["action"] == "erase"]


# ---------------------------------------------------------------------------
# Retention


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "removed"])
def test_retention__untouched_file_purged_with_its_checkins(make_daemon, loaded):
    d = plugged(make_daemon, start=False, extra=NO_HOLD)
    with ls.environment(TREMPLIN_TEST_CLOCK=T0):
        d.start()
    w = workshop(d)
    old, m = marked_checkins(d, w)
    d.stop()
    if not loaded:
        d.write_config(plugins={})
    with ls.environment(TREMPLIN_TEST_CLOCK=T2):
        d.start()  # the retention job runs at once
    tt.wait_for("the purge of employee %d" % old,
                lambda: d.get("/v1/employees/%d" % old, who="coordinator").status == 404)
    assert rows(d, old) == 0
    purge = [e for e in audit_entries(d, old) if e["action"] == "purge"]
    assert len(purge) == 1 and purge[0]["unix_user"] == "retention"
    tt.wait_for("no purged value on disk", lambda: markers_on_disk(d, m.values()) == {},
                timeout=10)
    rc = d.stop()
    assert rc == 0, d.log()
    assert markers_on_disk(d, m.values()) == {}


def test_retention__a_recent_checkin_is_contact__file_kept(make_daemon):
    """Writing a checkin is contact with the person: the file is not untouched."""
    d = plugged(make_daemon, start=False)
    with ls.environment(TREMPLIN_TEST_CLOCK=T0):
        d.start()
    w = workshop(d)
    eid = employee(w)["id"]
    d.stop()
    with ls.environment(TREMPLIN_TEST_CLOCK="2023-06-01T08:00:00Z"):
        d.start()
    checkin(d, eid, {"day": "2023-06-01", "present": True})
    d.stop()
    with ls.environment(TREMPLIN_TEST_CLOCK=T2):
        d.start()
    tt.wait_for("the retention run", lambda: d.sql(
        "SELECT last_run_ms FROM timers WHERE name = 'core/retention'"
        " AND last_run_ms >= 1704960000000"))  # T2
    assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 200
    assert rows(d, eid) == 1
