"""The person's rights and the audit log, on a real daemon.

- GET /v1/employees/{id}/export: everything held about the person, through
  the same policy as every read, with who read or wrote the file;
- DELETE /v1/employees/{id}: erasure on request, leaving anonymous counts;
- the daily retention job, on a clock the tests move (TREMPLIN_TEST_CLOCK);
- GET /v1/audit and the audit log's append-only file.

Answers on paths that docs/openapi.json describes are checked against it, as
everywhere. The paths of a person's file (/v1/employees, its follow-up
records) are documented by another part of the same work: until they are,
answers on them go unchecked here, and are checked as soon as they are.
"""

import datetime
import json
import os
import re
import sqlite3
import stat

import pytest

import lua_support as ls
import openapi_check as oc
import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT, reason="calls the API as several Unix users")

OTHER_CIP_USER = "games"  # a second CIP, referent of nobody here


def _documented(method, path):
    p = path.split("?")[0]
    for tmpl, item in oc.load()["paths"].items():
        if re.match("^" + re.sub(r"\{[^}]+\}", "[^/]+", tmpl) + "$", p):
            return method.lower() in item
    return False


@pytest.fixture(scope="module", autouse=True)
def _check_documented_operations():
    real = tt.openapi_check

    def check(method, path, answer):
        if _documented(method, path):
            real(method, path, answer)

    tt.openapi_check = check
    try:
        yield
    finally:
        tt.openapi_check = real


# ---------------------------------------------------------------------------
# A workshop


def staff_ids(d):
    return {s["unix_user"]: s["id"] for s in d.list_all("/v1/staff")}


def workshop(d):
    """A structure, the bootstrap staff's ids, and a second CIP."""
    st = d.create("/v1/structures", tt.structure_body(name="Jardins du Thaurion"))
    ids = staff_ids(d)
    if OTHER_CIP_USER not in ids:
        d.create("/v1/staff", {"name": "Autre CIP", "unix_user": OTHER_CIP_USER, "role": "cip"})
        ids = staff_ids(d)
    return {"d": d, "structure": st["id"], "cip": ids["bin"], "eti": ids["sys"],
            "coordinator": ids["daemon"]}


def employee(w, **over):
    body = {"structure_id": w["structure"], "first_name": "Camille", "last_name": "Martin",
            "birth_date": "1988-02-11", "prescriber_kind": "france_travail",
            "referent_cip_id": w["cip"], "referent_eti_id": w["eti"], "team": "Espaces verts"}
    body.update(over)
    return w["d"].create("/v1/employees", body, who="coordinator")


def full_file(w):
    """A person with a record of every kind, as the people who write them would."""
    d = w["d"]
    e = employee(w)
    eid = e["id"]
    p = "/v1/employees/%d/" % eid
    rec = {"employee": e}
    rec["welcome"] = d.create(p + "welcome", {"item": "booklet", "done_on": "2020-01-06"},
                              who="eti")
    rec["health"] = d.create(p + "barriers", {"category": "health", "severity": 3,
                                              "detail": "Suivi pour diabète"}, who="cip")
    rec["housing"] = d.create(p + "barriers", {"category": "housing", "severity": 2,
                                               "shared_with_eti": True,
                                               "detail": "Hébergée chez sa sœur"}, who="cip")
    rec["observation"] = d.create(p + "observations", {"observed_on": "2020-01-07",
                                                       "kind": "punctuality",
                                                       "text": "Toujours à l'heure"},
                                  who="eti")
    rec["goal"] = d.create(p + "goals", {"text": "Passer le permis B",
                                         "deadline": "2030-06-30"}, who="cip")
    rec["review"] = d.create(p + "reviews", {"kind": "entry", "planned_on": "2020-01-20",
                                             "content": "Bilan d'entrée détaillé",
                                             "decisions": "Formation CACES"}, who="cip")
    rec["note"] = d.create(p + "notes", {"text": "Appel de sa conseillère"}, who="cip")
    return eid, rec


def audit_entries(d, eid, who="coordinator"):
    return d.list_all("/v1/audit", query="employee_id=%d" % eid, who=who)


@pytest.fixture(scope="module")
def w(module_daemons):
    return workshop(module_daemons())


# ---------------------------------------------------------------------------
# Export


def test_export__referent_cip__complete_file_with_sensitive_details_and_viewers(w):
    d = w["d"]
    eid, rec = full_file(w)
    assert d.get("/v1/employees/%d/barriers" % eid, who="cip").status == 200
    a = d.get("/v1/employees/%d/export" % eid, who="cip")
    assert a.status == 200, a
    x = a.body
    assert x["complete"] is True
    assert x["employee"]["id"] == eid and x["employee"]["last_name"] == "Martin"
    r = x["records"]
    assert [b["detail"] for b in r["barriers"]] == ["Suivi pour diabète", "Hébergée chez sa sœur"]
    assert r["notes"][0]["text"] == "Appel de sa conseillère"
    assert r["goals"][0]["text"] == "Passer le permis B"
    assert r["reviews"][0]["content"] == "Bilan d'entrée détaillé"
    assert r["observations"][0]["text"] == "Toujours à l'heure"
    assert r["welcome_items"][0]["item"] == "booklet"
    # Every child resource of the registry is there, empty or not.
    assert {"welcome_items", "barriers", "observations", "goals", "reviews", "notes",
            "exits"} <= set(r)
    seen = x["viewed_by"]
    assert {"at", "name", "role", "action", "resource", "categories"} == set(seen[0])
    creates = [v for v in seen if v["action"] == "create"]
    assert {(v["name"], v["resource"]) for v in creates} >= {
        ("Coordinatrice", "employees"), ("Conseiller CIP", "barriers"),
        ("Encadrant ETI", "observations")}
    reads = [v for v in seen if v["action"] == "read" and v["resource"] == "barriers"]
    assert reads and reads[-1]["name"] == "Conseiller CIP" and reads[-1]["role"] == "cip"
    assert "sensitive" in reads[-1]["categories"]
    # The export lists itself, last.
    assert seen[-1]["action"] == "export" and seen[-1]["name"] == "Conseiller CIP"


def test_export__coordinator__policy_applies_no_social_details(w):
    d = w["d"]
    eid, rec = full_file(w)
    a = d.get("/v1/employees/%d/export" % eid, who="coordinator")
    assert a.status == 200, a
    x = a.body
    assert x["complete"] is False
    r = x["records"]
    # Barriers: category and summary, never the detail.
    assert [b["category"] for b in r["barriers"]] == ["health", "housing"]
    assert all("detail" not in b for b in r["barriers"])
    # Goals: deadline and status, not the text; reviews: decisions, not content.
    assert "text" not in r["goals"][0] and r["goals"][0]["deadline"] == "2030-06-30"
    assert "content" not in r["reviews"][0] and r["reviews"][0]["decisions"] == "Formation CACES"
    # CIP notes: nothing of them is the coordinator's to read, so none is shown.
    assert r["notes"] == []
    text = json.dumps(x, ensure_ascii=False)
    for secret in ("diabète", "sœur", "permis B", "Bilan d'entrée", "conseillère"):
        assert secret not in text


def test_export__recorded_in_the_audit_log_with_categories_shown(w):
    d = w["d"]
    eid, _ = full_file(w)
    assert d.get("/v1/employees/%d/export" % eid, who="cip").status == 200
    assert d.get("/v1/employees/%d/export" % eid, who="coordinator").status == 200
    exports = [e for e in audit_entries(d, eid) if e["action"] == "export"]
    assert [e["role"] for e in exports] == ["cip", "coordinator"]
    assert {"identity", "social", "sensitive", "barriers"} <= set(exports[0]["categories"])
    assert "sensitive" not in exports[1]["categories"]
    assert "social" not in exports[1]["categories"]


def test_export__is_no_contact__last_contact_unchanged(w):
    d = w["d"]
    eid = employee(w)["id"]
    before = d.sql("SELECT last_contact_at FROM employees WHERE id = ?", (eid,))
    assert d.get("/v1/employees/%d/export" % eid, who="coordinator").status == 200
    assert d.sql("SELECT last_contact_at FROM employees WHERE id = ?", (eid,)) == before


@pytest.mark.parametrize("who", ["eti", OTHER_CIP_USER, "admin"])
def test_export__eti_other_cip_operator__403(w, who):
    eid = employee(w)["id"]
    a = w["d"].get("/v1/employees/%d/export" % eid, who=who)
    assert a.status == 403, a
    assert a.error["code"] == "forbidden"


def test_export__no_such_employee__404(w):
    a = w["d"].get("/v1/employees/999999/export", who="coordinator")
    assert a.status == 404, a


def test_tremplinctl_export__file_written_private(w):
    d = w["d"]
    eid = employee(w)["id"]
    outdir = os.path.join(d.dir, "exports")
    os.makedirs(outdir, exist_ok=True)
    os.chmod(outdir, 0o777)  # the coordinator's Unix user writes there
    out = os.path.join(outdir, "export-%d.json" % eid)
    p = tt.ctl("export", str(eid), out, socket_path=d.socket, user="daemon")
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with open(out) as f:
        x = json.load(f)
    assert x["employee"]["id"] == eid
    p = tt.ctl("export", str(eid), socket_path=d.socket, user="daemon")
    assert p.returncode == 0 and json.loads(p.stdout)["employee"]["id"] == eid
    p = tt.ctl("export", "x1", socket_path=d.socket, user="daemon")
    assert p.returncode == 64


def test_tremplinctl_delete__erasure_from_the_command_line(w):
    d = w["d"]
    eid = employee(w)["id"]
    p = tt.ctl("delete", "/v1/employees/%d" % eid, socket_path=d.socket, user="daemon",
               input='{"reason": "bogus"}')
    assert p.returncode != 0 and "reason" in p.stderr
    assert d.sql("SELECT count(*) FROM employees WHERE id = ?", (eid,)) == [(1,)]
    p = tt.ctl("delete", "/v1/employees/%d" % eid, '{"reason": "request"}',
               socket_path=d.socket, user="daemon")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"id": eid, "erased": True, "reason": "request"}
    assert d.sql("SELECT count(*) FROM employees WHERE id = ?", (eid,)) == [(0,)]


# ---------------------------------------------------------------------------
# Erasure


def counts(d, structure_id):
    return {(y, m): n for y, m, n in d.sql(
        "SELECT year, metric, n FROM indicator_counts WHERE structure_id = ?", (structure_id,))}


def test_erase__coordinator_with_reason__file_gone_counts_and_trace_kept(w):
    d = w["d"]
    eid, _ = full_file(w)
    assert d.post("/v1/employees/%d/exits" % eid, {"exit_date": "2020-03-31",
                                                    "category": "emploi_durable",
                                                    "destination": "CDI chez Verts Loisirs"},
                  who="cip").status == 201
    before = counts(d, w["structure"])
    a = d.call("DELETE", "/v1/employees/%d" % eid, {"reason": "request"}, who="coordinator")
    assert a.status == 200, a
    assert a.body == {"id": eid, "erased": True, "reason": "request"}
    assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 404
    for table in ("welcome_items", "barriers", "observations", "goals", "reviews", "notes",
                  "exits"):
        assert d.sql("SELECT count(*) FROM %s WHERE employee_id = ?" % table, (eid,)) == [(0,)]
    after = counts(d, w["structure"])
    year = int(d.sql("SELECT strftime('%Y', 'now')")[0][0])
    assert after[(2020, "exits.emploi_durable")] == before.get((2020, "exits.emploi_durable"),
                                                                0) + 1
    assert after[(year, "employees.erased")] == before.get((year, "employees.erased"), 0) + 1
    # The journal says it happened, with no personal data.
    ev = [e for e in d.list_all("/v1/events", query="type=employee.erased", who="coordinator")
          if e["subject"] == "employee/%d" % eid]
    assert len(ev) == 1 and ev[0]["payload"] == {"id": eid, "structure_id": w["structure"],
                                                  "reason": "request"}
    erase = [e for e in audit_entries(d, eid) if e["action"] == "erase"]
    assert len(erase) == 1 and erase[0]["role"] == "coordinator"
    assert "sensitive" in erase[0]["categories"]


@pytest.mark.parametrize("body,status,field", [
    ({}, 422, "reason"),
    ({"reason": "bored"}, 422, "reason"),
    ({"reason": 1}, 422, "reason"),
    ({"reason": "request", "confirm": True}, 400, "confirm"),
])
def test_erase__bad_body__refused_nothing_erased(w, body, status, field):
    d = w["d"]
    eid = employee(w)["id"]
    a = d.call("DELETE", "/v1/employees/%d" % eid, body, who="coordinator")
    assert a.status == status, a
    assert a.error["field"] == field
    assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 200


def test_erase__bare_delete__refused_nothing_erased(w):
    d = w["d"]
    eid = employee(w)["id"]
    a = d.call("DELETE", "/v1/employees/%d" % eid, who="coordinator")
    assert a.status == 415, a
    assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 200


@pytest.mark.parametrize("who", ["cip", "eti", "admin"])
def test_erase__not_the_coordinator__403_nothing_erased(w, who):
    d = w["d"]
    eid = employee(w)["id"]
    a = d.call("DELETE", "/v1/employees/%d" % eid, {"reason": "request"}, who=who)
    assert a.status == 403, a
    assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 200


def test_erase__no_such_employee__404(w):
    a = w["d"].call("DELETE", "/v1/employees/999999", {"reason": "error"}, who="coordinator")
    assert a.status == 404, a


def add_exit_contract_pass(d, eid, rec, pass_number):
    """An exit, a contract and a PASS on the person's file, into rec by kind."""
    p = "/v1/employees/%d/" % eid
    rec["exit"] = d.create(p + "exits", {"exit_date": "2020-03-31", "category": "autre"},
                           who="cip")
    rec["contract"] = d.create(p + "contracts", {"start_date": "2026-01-15",
                                                 "end_date": "2026-05-14",
                                                 "weekly_hours": 26}, who="cip")
    rec["pass"] = d.create(p + "passes", {"number": pass_number,
                                          "start_date": "2026-01-05"}, who="cip")


def test_erase__ids_of_the_erased_records__never_given_again(module_daemons):
    """The journal names records by id: a new record must not take an erased one's."""
    d = module_daemons()
    wk = workshop(d)
    eid, rec = full_file(wk)
    add_exit_contract_pass(d, eid, rec, "999990000001")
    a = d.call("DELETE", "/v1/employees/%d" % eid, {"reason": "request"}, who="coordinator")
    assert a.status == 200, a
    eid2, rec2 = full_file(wk)
    add_exit_contract_pass(d, eid2, rec2, "999990000002")
    assert eid2 > eid
    for k in rec:
        assert rec2[k]["id"] > rec[k]["id"], (k, rec[k]["id"], rec2[k]["id"])
    # And after a restart too: the sequence is on disk, not in memory.
    d.restart()
    later = d.create("/v1/employees/%d/barriers" % eid2, {"category": "housing", "severity": 1},
                     who="cip")
    assert later["id"] > max(rec["housing"]["id"], rec2["housing"]["id"])


# ---------------------------------------------------------------------------
# Nothing erased stays on disk: the bytes of every database file, daemon running


def database_files(d):
    """The main database, the audit database, and their -wal and -shm files."""
    names = [n for n in os.listdir(d.dir)
             if n.startswith(os.path.basename(d.database)) or n.startswith("audit.sqlite")]
    assert os.path.basename(d.database) in names and "audit.sqlite" in names, names
    return [os.path.join(d.dir, n) for n in sorted(names)]


def marked_file(w):
    """A person whose name, address, health detail and note are unique markers."""
    d = w["d"]
    m = {k: tt.unique("Zq" + k) for k in ("first", "last", "street", "health", "note",
                                           "goal")}
    eid = employee(w, first_name=m["first"], last_name=m["last"],
                   address="12 rue %s, 23000 Gueret" % m["street"])["id"]
    p = "/v1/employees/%d/" % eid
    d.create(p + "barriers", {"category": "health", "severity": 3,
                              "detail": "Suivi %s" % m["health"]}, who="cip")
    d.create(p + "notes", {"text": "Appel %s" % m["note"]}, who="cip")
    goal = d.create(p + "goals", {"text": "Permis %s" % m["goal"]}, who="cip")
    # Several writes, so that old versions of the pages pile up in the WAL.
    for i in range(3):
        assert d.patch("/v1/goals/%d" % goal["id"], {"text": "Permis %s %d" % (m["goal"], i)},
                       who="cip").status == 200
        assert d.patch("/v1/employees/%d" % eid, {"phone": "06 12 34 56 %02d" % i},
                       who="coordinator").status == 200
    return eid, m


def markers_on_disk(d, markers):
    """{marker: [files holding its bytes]} for the markers found anywhere."""
    found = {}
    for path in database_files(d):
        with open(path, "rb") as f:
            data = f.read()
        for mk in markers:
            if mk.encode() in data:
                found.setdefault(mk, []).append(os.path.basename(path))
    return found


def test_erase__no_erased_value_left_in_any_database_file__daemon_running(make_daemon):
    d = make_daemon()
    w = workshop(d)
    eid, m = marked_file(w)
    # The search finds them while the file exists (else it would prove nothing).
    assert set(markers_on_disk(d, m.values())) == set(m.values())
    a = d.call("DELETE", "/v1/employees/%d" % eid, {"reason": "request"}, who="coordinator")
    assert a.status == 200, a
    assert d.running
    assert markers_on_disk(d, m.values()) == {}
    # Later writes do not bring them back.
    employee(w, first_name="Noah")
    assert markers_on_disk(d, m.values()) == {}


def test_erase__a_reader_holds_the_wal__truncated_once_it_lets_go_with_a_log(make_daemon):
    d = make_daemon()
    w = workshop(d)
    eid, m = marked_file(w)
    reader = sqlite3.connect(d.database, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM employees").fetchone()[0] >= 1
        offset = d.log_size()
        a = d.call("DELETE", "/v1/employees/%d" % eid, {"reason": "request"},
                   who="coordinator")
        assert a.status == 200, a
        d.wait_log("the WAL still holds removed files", since=offset)
        assert markers_on_disk(d, m.values()) != {}
        # Served meanwhile.
        assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 404
    finally:
        reader.close()
    d.wait_log("the WAL holding removed files truncated after", since=offset)
    assert markers_on_disk(d, m.values()) == {}


def test_retention__no_purged_value_left_in_any_database_file__daemon_running(make_daemon):
    d = make_daemon(start=False, extra=NO_HOLD)
    with ls.environment(TREMPLIN_TEST_CLOCK=T0):
        d.start()
    w = workshop(d)
    eid, m = marked_file(w)
    assert set(markers_on_disk(d, m.values())) == set(m.values())
    d.stop()
    # At a clean stop the WAL is written into the database file: the values are there.
    assert set(markers_on_disk(d, m.values())) == set(m.values())
    with ls.environment(TREMPLIN_TEST_CLOCK=T2):
        d.start()  # the retention job runs at once
    tt.wait_for("the purge of employee %d" % eid,
                lambda: d.get("/v1/employees/%d" % eid, who="coordinator").status == 404)
    tt.wait_for("no purged value on disk", lambda: markers_on_disk(d, m.values()) == {},
                timeout=10)
    assert d.running


# ---------------------------------------------------------------------------
# The audit log


def test_audit__reads_of_social_data_and_writes_recorded__identity_reads_not(w):
    d = w["d"]
    eid, rec = full_file(w)
    n = len(audit_entries(d, eid))
    # Identity only: the ETI's and the coordinator's read of the file.
    assert d.get("/v1/employees/%d" % eid, who="eti").status == 200
    assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 200
    assert d.get("/v1/employees/%d/observations" % eid, who="eti").status == 200
    assert len(audit_entries(d, eid)) == n
    # Social data: recorded, with its categories.
    assert d.get("/v1/goals/%d" % rec["goal"]["id"], who="cip").status == 200
    # A write: recorded.
    assert d.patch("/v1/employees/%d" % eid, {"team": "Maraîchage"},
                   who="coordinator").status == 200
    new = audit_entries(d, eid)[n:]
    assert [(e["action"], e["resource"], e["role"]) for e in new] == [
        ("read", "goals", "cip"), ("update", "employees", "coordinator")]
    assert "social" in new[0]["categories"]
    assert new[0]["unix_user"] == "bin" and new[1]["unix_user"] == "daemon"


def test_audit__append_only__update_and_early_delete_refused_by_the_file(w):
    d = w["d"]
    eid = employee(w)["id"]
    assert audit_entries(d, eid)
    path = os.path.join(d.dir, "audit.sqlite")
    con = sqlite3.connect(path, timeout=10)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE audit_log SET role = 'eti' WHERE employee_id = ?", (eid,))
        with pytest.raises(sqlite3.DatabaseError, match="retention"):
            con.execute("DELETE FROM audit_log WHERE employee_id = ?", (eid,))
        con.rollback()
    finally:
        con.close()
    assert all(e["role"] == "coordinator" for e in audit_entries(d, eid))


@pytest.mark.parametrize("who,status", [("coordinator", 200), ("admin", 200), ("cip", 403),
                                        ("eti", 403)])
def test_audit__who_reads_it(w, who, status):
    a = w["d"].get("/v1/audit?limit=2", who=who)
    assert a.status == status, a


def test_audit__bad_employee_filter__400(w):
    a = w["d"].get("/v1/audit?employee_id=x", who="coordinator")
    assert a.status == 400 and a.error["field"] == "employee_id", a


def test_audit__by_staff_account__only_theirs_with_the_person_filter_and_cursor(w):
    d = w["d"]
    eid, rec = full_file(w)
    for _ in range(3):
        assert d.get("/v1/goals/%d" % rec["goal"]["id"], who="cip").status == 200
    everything = audit_entries(d, eid)
    cip = d.list_all("/v1/audit", query="staff_id=%d" % w["cip"], who="coordinator")
    assert cip and all(e["staff_id"] == w["cip"] for e in cip)
    assert [e for e in d.list_all("/v1/audit", who="coordinator")
            if e["staff_id"] == w["cip"]] == cip
    both = d.list_all("/v1/audit", query="staff_id=%d&employee_id=%d" % (w["cip"], eid),
                      who="coordinator", limit=2)
    assert both == [e for e in everything if e["staff_id"] == w["cip"]]
    assert len(both) >= 4  # several pages of 2
    assert d.get("/v1/audit?staff_id=999999", who="coordinator").body["items"] == []


def test_audit__by_date_or_instant__bounds_included(w):
    d = w["d"]
    eid, _ = full_file(w)
    entries = audit_entries(d, eid)
    assert len(entries) >= 3
    first, last = entries[0]["at"], entries[-1]["at"]
    q = "employee_id=%d&" % eid

    def listed(query):
        return d.list_all("/v1/audit", query=q + query, who="coordinator")

    # An instant: since and until both include that second.
    assert listed("since=" + first) == entries
    assert listed("until=" + last) == entries
    assert listed("since=%s&until=%s" % (first, last)) == entries
    assert listed("since=" + last) == [e for e in entries if e["at"] >= last]
    assert listed("until=" + first) == [e for e in entries if e["at"] <= first]
    # The same instant with an offset.
    t = datetime.datetime.fromisoformat(first.replace("Z", "+00:00"))
    plus2 = t.astimezone(datetime.timezone(datetime.timedelta(hours=2))).isoformat()
    assert listed("since=" + plus2.replace("+", "%2B")) == entries
    # A day (in Paris): the whole day is in, the day before and after are not.
    paris = {datetime.datetime.fromisoformat(e["at"].replace("Z", "+00:00")).astimezone(
        tz_paris()).date() for e in entries}
    day = min(paris)
    assert listed("since=%s" % day) == entries
    assert listed("until=%s" % max(paris)) == entries
    assert listed("until=%s" % (day - datetime.timedelta(days=1))) == []
    assert listed("since=%s" % (max(paris) + datetime.timedelta(days=1))) == []


def tz_paris():
    try:
        import zoneinfo
        return zoneinfo.ZoneInfo("Europe/Paris")
    except Exception:  # noqa: B902 - no tz database: the test says so
        pytest.skip("no time zone database for Europe/Paris")


@pytest.mark.parametrize("query,field", [
    ("staff_id=x", "staff_id"), ("staff_id=0", "staff_id"), ("staff_id=-1", "staff_id"),
    ("since=yesterday", "since"), ("since=2026-02-30", "since"), ("until=2026-12-04T25:00:00Z",
                                                                   "until"),
    ("until=2026-12-04T10:00:00", "until"), ("since=", "since"),
    ("since=2026-12-05&until=2026-12-03", "until"),
])
def test_audit__bad_filter__400_naming_it(w, query, field):
    a = w["d"].get("/v1/audit?" + query, who="coordinator")
    assert a.status == 400, a
    assert a.error["field"] == field, a
    assert "not a known" not in a.error["message"], a


def test_audit__no_api_writes_it(w):
    for method in ("POST", "PATCH", "DELETE"):
        a = w["d"].call(method, "/v1/audit", {}, who="admin")
        assert a.status == 405, a


# ---------------------------------------------------------------------------
# Retention, on a clock the test moves

T0 = "2022-01-10T08:00:00Z"  # files are made
T1 = "2022-09-01T08:00:00Z"  # one of them is touched again
T2 = "2024-01-11T08:00:00Z"  # T0 + 2 years + 1 day: the untouched one is past 730 days
# The purge itself, without the safety net that holds a large share of the files
# (retention_hold_percent; test_operator.py tests the hold).
NO_HOLD = {"retention_hold_percent": 100}


def test_retention__file_untouched_730_days__purged_counts_kept_recent_file_kept(make_daemon):
    d = make_daemon(start=False, extra=NO_HOLD)
    with ls.environment(TREMPLIN_TEST_CLOCK=T0):
        d.start()
    w = workshop(d)
    old, rec = full_file(w)
    assert d.post("/v1/employees/%d/exits" % old, {"exit_date": "2022-01-07",
                                                    "category": "sortie_positive"},
                  who="cip").status == 201
    kept = employee(w, first_name="Noah")["id"]
    d.stop()
    with ls.environment(TREMPLIN_TEST_CLOCK=T1):
        d.start()
    assert d.patch("/v1/employees/%d" % kept, {"phone": "06 12 34 56 78"},
                   who="coordinator").status == 200
    assert [e["action"] for e in audit_entries(d, kept)] == ["create", "update"]
    # Read by everyone: reads are no contact.
    assert d.get("/v1/employees/%d/export" % old, who="cip").status == 200
    assert d.get("/v1/employees/%d" % old, who="coordinator").status == 200
    d.stop()
    with ls.environment(TREMPLIN_TEST_CLOCK=T2):
        d.start()
    tt.wait_for("the purge of employee %d" % old,
                lambda: d.get("/v1/employees/%d" % old, who="coordinator").status == 404)
    assert d.get("/v1/employees/%d" % kept, who="coordinator").status == 200
    assert d.sql("SELECT count(*) FROM barriers WHERE employee_id = ?", (old,)) == [(0,)]
    c = counts(d, w["structure"])
    assert c[(2022, "exits.sortie_positive")] == 1
    assert c[(2024, "employees.purged")] == 1
    purge = [e for e in audit_entries(d, old) if e["action"] == "purge"]
    assert len(purge) == 1
    assert purge[0]["unix_user"] == "retention" and purge[0]["role"] == "daemon"
    # The audit log's own retention (365 days): the entries of 2022 are gone.
    assert audit_entries(d, kept) == []
    ev = d.list_all("/v1/events", query="type=employee.purged", who="coordinator")
    assert [e["payload"] for e in ev] == [{"id": old, "structure_id": w["structure"]}]
    assert ev[0]["actor"] == "retention"


def test_retention__running_contract__kept_whatever_the_last_contact(make_daemon):
    d = make_daemon(start=False)
    with ls.environment(TREMPLIN_TEST_CLOCK=T0):
        d.start()
    w = workshop(d)
    eid = employee(w)["id"]
    d.stop()
    # Written as the contracts part of the API would: a contract running at T2.
    d.sql("INSERT INTO contracts (employee_id, structure_id, start_date, end_date,"
          " initial_end_date, weekly_hours, created_at, updated_at)"
          " VALUES (?, ?, '2023-01-02', '2024-06-30', '2024-06-30', 26, ?, ?)",
          (eid, w["structure"], T0, T0))
    with ls.environment(TREMPLIN_TEST_CLOCK=T2):
        d.start()
    tt.wait_for("the retention run", lambda: d.sql(
        "SELECT last_run_ms FROM timers WHERE name = 'core/retention'"
        " AND last_run_ms >= 1704960000000"))  # T2
    assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 200


# ---------------------------------------------------------------------------
# Site scripts' views


def test_lua_view__identity_and_review_dates_only__not_audited(make_daemon):
    """contracts_ending.v1 shows no social data: the rule's reads leave no audit entry."""
    d = ls.script_daemon(make_daemon, {}, start=False, script_dir=ls.TOP_LUA)
    d.start()
    w = workshop(d)
    eid = employee(w)["id"]
    d.stop()
    d.sql("INSERT INTO contracts (employee_id, structure_id, start_date, end_date,"
          " initial_end_date, weekly_hours, created_at, updated_at)"
          " VALUES (?, ?, '2025-09-01', '2026-03-12', '2026-03-12', 26, ?, ?)",
          (eid, w["structure"], T0, T0))
    ls.set_scripts(d, {"contract_ending": {"role": "coordinator"}})
    ls.start_daemon(d, "2026-03-02T08:00:00Z")
    tt.wait_for("the rule's alert", lambda: ls.outbox(d, "employee_id = ?", (eid,)))
    assert not [e for e in d.list_all("/v1/audit", who="coordinator")
                if e["unix_user"].startswith("lua:")]
