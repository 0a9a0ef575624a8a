"""The registry plugin against a real tremplind and a fake of les emplois de
l'inclusion (fake_emplois.py) over real TLS with a CA made for the run:
records matched on (SIRET, PASS), unmatched people created to review,
differences proposed once and never written silently, accepted or rejected
field by field; the platform's limits kept (the fake counts), its 429s, 5xx
and vanished pages survived; a run cut short resumed without duplicates;
two days offline caught up in one run; France Travail's OAuth2 (the realm in
the query, the token cached, refreshed once on a 401) and its ROME fiches
kept as a versioned referential.

Alone, from the build directory:
  TOP_SRCDIR=$PWD/../.. TOP_BUILDDIR=$PWD TREMPLIND=$PWD/tremplind \\
    TREMPLINCTL=$PWD/tremplinctl python3 -m pytest -q -p no:cacheprovider \\
    ../../plugins/registry/tests
"""

import itertools
import json
import os
import time

import pytest

import tremplin_test as tt
from fake_emplois import FakeEmplois, employee_record
from fake_france_travail import FakeFranceTravail, fiche

CONF = os.path.join(tt.TOP_SRCDIR, "plugins", "registry", "registry.conf")
T0 = "2026-03-02T08:00:00Z"
_numbers = itertools.count(1)


def number():
    return "99999%07d" % next(_numbers)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """One CA and server certificate for the module's fakes (made by the test, each run)."""
    return str(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def fake(pki):
    f = FakeEmplois(pki)
    yield f
    f.close()


def token_file(d, fake, mode=0o600):
    path = os.path.join(d.dir, "emplois.token")
    with open(path, "w") as f:
        f.write(fake.token + "\n")
    os.chmod(path, mode)
    return path


def with_registry(make_daemon, fake, start=True, clock=None, also=(), **over):
    """A daemon with the registry plugin pointed at the fake; its structure's SIRET."""
    d = make_daemon(start=False, plugin_files=["registry"] + list(also))
    siret = tt.make_siret()
    section = {"base_url": fake.base, "token_file": token_file(d, fake), "sirets": [siret],
               "backoff_ms": 50, "max_attempts": 3, "timeout": 2}
    section.update(over)
    d.settings["extra"]["ca_file"] = fake.ca
    d.write_config(mode=0o600, plugins=dict({"registry": section}, **{p: {} for p in also}))
    d.siret = siret
    if start:
        start_at(d, clock)
        d.structure = d.create("/v1/structures", tt.structure_body(siret=siret))["id"]
    return d


def start_at(d, clock=None):
    if clock is None:
        d.start()
        return
    old = os.environ.get("TREMPLIN_TEST_CLOCK")
    os.environ["TREMPLIN_TEST_CLOCK"] = clock
    try:
        d.start()
    finally:
        if old is None:
            del os.environ["TREMPLIN_TEST_CLOCK"]
        else:
            os.environ["TREMPLIN_TEST_CLOCK"] = old


def status(d, who="coordinator"):
    a = d.get("/v1/registry/status", who=who)
    assert a.status == 200, a
    return a.body


def sync(d, expect="ok"):
    """POST /v1/registry/sync and wait for the run's end; its row."""
    a = d.post("/v1/registry/sync", {}, who="coordinator")
    assert a.status == 202, a
    run = a.body["run_id"]
    tt.wait_for("run %d ends" % run, lambda: not status(d)["running"], timeout=60)
    last = status(d)["last_run"]
    assert last["id"] == run, last
    if expect is not None:
        assert last["status"] == expect, last
    return last


def person(d, last="Benali", first="Samia", birth="1990-05-17", kind="france_travail"):
    body = {"structure_id": d.structure, "first_name": first, "last_name": last,
            "birth_date": birth, "prescriber_kind": kind}
    return d.create("/v1/employees", body, who="cip")["id"]


def give_pass(d, emp, num, start="2025-01-06", end=None):
    body = {"number": num, "start_date": start}
    if end:
        body["initial_end_date"] = end
    return d.create("/v1/employees/%d/passes" % emp, body, who="cip")["id"]


def proposals(d, status="pending", who="cip"):
    a = d.get("/v1/registry/proposals?status=%s&limit=500" % status, who=who)
    assert a.status == 200, a
    return a.body["items"]


def new_records(siret, n, modified="2026-03-01"):
    return [employee_record(siret, number(), "Prénom%d" % i, "NOM%d" % i, "1985-01-%02d" % (i % 28 + 1),
                            "2025-06-02", "2027-06-01", modified=modified) for i in range(n)]


def people(d):
    return d.sql("SELECT count(*) FROM employees")[0][0]


# -- configuration -----------------------------------------------------------


def test_conf__commented_section__loads_idle_and_sync_refused(make_daemon):
    d = make_daemon(start=False, plugin_files=["registry"])
    with open(CONF) as f:
        d.write_config(d.config_text(plugins=None) + f.read())
    tt.openapi_plugins({"registry": {}})
    d.start()
    p = tt.plugins_of(d)["registry"]
    assert p["state"] == "enabled", p
    s = status(d)
    assert s["configured"] is False and s["last_run"] is None and s["next_run_at"] is None, s
    a = d.post("/v1/registry/sync", {}, who="coordinator")
    assert a.status == 409 and "not configured" in a.error["message"], a


@pytest.mark.parametrize("over, named", [
    ({"base_url": "http://127.0.0.1/api/v1/"}, "base_url"),
    ({"sirets": ["12345678901235"]}, "sirets[1]"),
    ({"rate_employee_records": 61}, "rate_employee_records"),
    ({"rate_overall": 121}, "rate_overall"),
    ({"interval": 10}, "interval"),
    ({"quiet_hours": "22h-6h"}, "quiet_hours"),
    ({"quiet_hours": "06:00-06:00"}, "quiet_hours"),
    ({"verify": False}, "verify: unknown"),
])
def test_conf__bad_setting__disabled_naming_it(make_daemon, fake, over, named):
    d = with_registry(make_daemon, fake, start=False, **over)
    d.start()
    p = tt.plugins_of(d)["registry"]
    assert p["state"] == "disabled_config" and named in p["last_error"], p
    assert d.get("/v1/registry/status").status == 404


def test_conf__token_file_readable_by_others__refused(make_daemon, fake):
    d = with_registry(make_daemon, fake, start=False)
    os.chmod(os.path.join(d.dir, "emplois.token"), 0o644)
    d.start()
    p = tt.plugins_of(d)["registry"]
    assert p["state"] == "disabled_config" and "token_file" in p["last_error"], p
    assert "chmod 600" in p["last_error"]


def test_wrong_ca__run_fails_tls_nothing_sent(make_daemon, fake, tmp_path):
    d = with_registry(make_daemon, fake, start=False)
    d.settings["extra"]["ca_file"] = os.path.join(os.path.dirname(fake.ca), "wrong-ca.pem")
    d.write_config(mode=0o600)
    d.start()
    d.structure = d.create("/v1/structures", tt.structure_body(siret=d.siret))["id"]
    fake.records = new_records(d.siret, 1)
    run = sync(d, expect="failed")
    assert "TLS" in run["last_error"], run
    assert fake.requests == [] and people(d) == 0


# -- the sync ---------------------------------------------------------------


def test_first_sync__matched_proposed_created_to_review_once(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    num = number()
    emp = person(d, last="Benali", first="Samia", birth="1990-05-17")
    pid = give_pass(d, emp, num, start="2025-01-06", end="2027-01-05")
    fake.records = [employee_record(d.siret, num, "SAMIA", "BENALI-MARTIN", "1990-05-17",
                                    "2025-01-06", "2027-03-05", orienteur="PE")]
    fake.records += new_records(d.siret, 40)
    fake.records.append(employee_record(d.siret, number(), "Eve", "FAUX", "1991-01-01",
                                        "2025-01-01", "2027-01-01",
                                        raw_dates={"dateNaissance": "1991-01-01"}))
    fake.records.append(employee_record(d.siret, number(), "Zoe", "NOUVEAU", "1992-02-02",
                                        "2025-01-01", "2026-12-31", orienteur="XYZ_2026"))
    fake.records.append(employee_record(tt.make_siret(), number(), "Autre", "SIAE", "1980-01-01",
                                        "2025-01-01", "2027-01-01"))
    run = sync(d)
    c = run["counts"]
    # 44 records: 3 pages of 20, each fetched once, every one with the token.
    er = fake.er_requests()
    assert [r[2].get("page", "1") for r in er] == ["1", "2", "3"], er
    assert all(r[3] for r in er) and "since" not in er[0][2]
    assert (c["fetched"], c["matched"], c["created"], c["skipped"]) == (42, 1, 41, 1), c
    assert c["errors"] == 1, run
    assert "dateNaissance is not a dd/mm/YYYY date" in run["last_error"]
    assert "FAUX" not in json.dumps(run)  # no personal data in the run's account
    # Unmatched: files to review, never active ones; the malformed one not created.
    assert d.sql("SELECT status, count(*) FROM employees GROUP BY status") == [
        ("candidate", 41), ("in_pathway", 1)]
    assert d.sql("SELECT count(*) FROM employees WHERE last_name = 'FAUX'")[0][0] == 0
    # The unknown prescriber code kept verbatim and flagged; the person is "autre".
    assert status(d)["unknown_codes"] == [{"field": "orienteur", "code": "XYZ_2026", "seen": 1}]
    assert d.sql("SELECT prescriber_kind FROM employees WHERE last_name = 'NOUVEAU'") == [
        ("autre",)]
    # Matched: the name and the PASS's end proposed (the case of the first name is no
    # difference), nothing overwritten.
    got = sorted((p["target"], p["field"], p["current_value"], p["proposed_value"])
                 for p in proposals(d))
    assert got == [("employee", "last_name", "Benali", "BENALI-MARTIN"),
                   ("pass", "end_date", "2027-01-05", "2027-03-05")], got
    assert d.get("/v1/employees/%d" % emp, who="cip").body["last_name"] == "Benali"
    assert d.get("/v1/passes/%d" % pid, who="cip").body["end_date"] == "2027-01-05"
    # The event the alert rule needs, ids only; and the run journaled with counts only.
    ev = d.get("/v1/events?type=registry.pass_end_changed", who="admin")
    assert ev.status == 200, ev
    [e] = [e for e in ev.body["items"] if e["type"] == "registry.pass_end_changed"]
    assert set(e["payload"]) == {"employee_id", "pass_id", "proposal_id"}
    assert (e["payload"]["employee_id"], e["payload"]["pass_id"]) == (emp, pid)
    # The second run asks since the first one's day and proposes nothing twice.
    n = people(d)
    run2 = sync(d)
    assert fake.er_requests()[-1][2]["since"] == run2["since"] != None  # noqa: E711
    assert run2["counts"]["proposed"] == 0 and run2["counts"]["created"] == 0, run2
    assert people(d) == n and len(proposals(d)) == 2
    # A PASS longer than its 730 days is a prolongation, not an end to overwrite: the
    # PASS's own rules refuse the accept, naming the field, and the proposal stays.
    [end] = [p for p in proposals(d) if p["field"] == "end_date"]
    a = d.post("/v1/registry/proposals/%d/accept" % end["id"], {}, who="cip")
    assert a.status == 422 and a.error["field"] == "initial_end_date", a
    assert [p["id"] for p in proposals(d) if p["field"] == "end_date"] == [end["id"]]


def test_proposals__accepted_through_the_records_rules_rejected_kept(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    num = number()
    emp = person(d, last="Durand", birth="1988-08-08")
    pid = give_pass(d, emp, num, start="2025-01-06", end="2027-01-05")
    fake.records = [employee_record(d.siret, num, "Samia", "DURAND-LEROY", "1988-08-09",
                                    "2025-01-06", "2026-11-05")]
    sync(d)
    by = {p["field"]: p for p in proposals(d)}
    assert set(by) == {"last_name", "birth_date", "end_date"}, by
    # The person's proposals, through the routes the host derives from the declaration.
    a = d.get("/v1/registry/employees/%d/registry_proposals" % emp, who="cip")
    assert a.status == 200 and len(a.body["items"]) == 3, a
    a = d.get("/v1/registry/registry_proposals/%d" % by["end_date"]["id"], who="coordinator")
    assert a.status == 200 and a.body["proposed_value"] == "2026-11-05", a
    # The ETI reads no proposal (the prescriber is among their values); the admin none.
    assert d.get("/v1/registry/proposals", who="eti").status == 403
    assert d.get("/v1/registry/proposals", who="admin").status == 403
    a = d.post("/v1/registry/proposals/%d/accept" % by["last_name"]["id"], {}, who="cip")
    assert a.status == 200 and a.body["status"] == "accepted", a
    assert d.get("/v1/employees/%d" % emp, who="cip").body["last_name"] == "DURAND-LEROY"
    a = d.post("/v1/registry/proposals/%d/reject" % by["birth_date"]["id"], {}, who="cip")
    assert a.status == 200 and a.body["status"] == "rejected", a
    assert d.get("/v1/employees/%d" % emp, who="cip").body["birth_date"] == "1988-08-08"
    a = d.post("/v1/registry/proposals/%d/accept" % by["birth_date"]["id"], {}, who="cip")
    assert a.status == 409, a
    a = d.post("/v1/registry/proposals/%d/accept" % by["end_date"]["id"], {}, who="coordinator")
    assert a.status == 200, a
    pv = d.get("/v1/passes/%d" % pid, who="cip").body
    assert pv["end_date"] == "2026-11-05", pv
    # The accepted writes are ordinary ones: journaled as the person's record's events.
    types = [e["type"] for e in d.get("/v1/events?limit=500", who="admin").body["items"]]
    assert "employee.updated" in types and "pass.updated" in types
    # A rejected value is not proposed again by the next run.
    sync(d)
    assert proposals(d) == []


def test_platform_changes_again__pending_proposal_superseded(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    num = number()
    emp = person(d, last="Roux")
    give_pass(d, emp, num, start="2025-01-06", end="2027-01-05")
    fake.records = [employee_record(d.siret, num, "Samia", "ROUX-B", "1990-05-17",
                                    "2025-01-06", "2027-01-05")]
    sync(d)
    [first] = proposals(d)
    fake.records[0] = employee_record(d.siret, num, "Samia", "ROUX-C", "1990-05-17",
                                      "2025-01-06", "2027-01-05", modified="2099-01-01")
    sync(d)
    [second] = proposals(d)
    assert second["proposed_value"] == "ROUX-C" and second["id"] != first["id"]
    [old] = proposals(d, status="superseded")
    assert old["id"] == first["id"]
    a = d.post("/v1/registry/proposals/%d/accept" % first["id"], {}, who="cip")
    assert a.status == 409, a
    assert d.get("/v1/employees/%d" % emp, who="cip").body["last_name"] == "Roux"


def test_notification__pass_end_changed__proposed_once_event_for_the_rule(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    num = number()
    emp = person(d, last="Petit")
    pid = give_pass(d, emp, num, start="2025-01-06", end="2027-01-05")
    fake.records = [employee_record(d.siret, num, "Samia", "PETIT", "1990-05-17",
                                    "2025-01-06", "2027-01-05")]
    run = sync(d)
    assert run["counts"]["proposed"] == 0 and run["counts"]["notifications"] == 0, run
    # The platform tells the PASS ends earlier; the employee record is not new.
    note = employee_record(d.siret, num, "Samia", "PETIT", "1990-05-17", "2025-01-06",
                           "2026-09-30", modified="2099-01-01")
    note["typeMouvement"] = "M"
    other = employee_record(d.siret, number(), "X", "INCONNU", "1990-01-01", "2025-01-06",
                            "2026-09-30", modified="2099-01-01")
    fake.notifications = [note, other]
    run = sync(d)
    asked = [r for r in fake.requests if r[1].endswith("/employee-record-notifications/")]
    assert asked[-1][2].get("since") == run["since"], asked
    c = run["counts"]
    assert (c["notifications"], c["matched"], c["proposed"], c["created"]) == (2, 1, 1, 0), c
    assert c["skipped"] == 1  # about nobody known: no file from a notification
    [p] = proposals(d)
    assert (p["target"], p["target_id"], p["field"], p["proposed_value"]) == (
        "pass", pid, "end_date", "2026-09-30")
    assert d.get("/v1/passes/%d" % pid, who="cip").body["end_date"] == "2027-01-05"
    events = [e for e in d.get("/v1/events?limit=500", who="admin").body["items"]
              if e["type"] == "registry.pass_end_changed"]
    assert [e["payload"] for e in events] == [
        {"employee_id": emp, "pass_id": pid, "proposal_id": p["id"]}]
    # Told again: nothing twice.
    run = sync(d)
    assert run["counts"]["proposed"] == 0 and len(proposals(d)) == 1
    assert len([e for e in d.get("/v1/events?limit=500", who="admin").body["items"]
                if e["type"] == "registry.pass_end_changed"]) == 1


# -- politeness and faults ----------------------------------------------------


def test_limits__never_beyond_the_configured_rate(make_daemon, fake):
    # The fake allows 60 in its window; the plugin is told 4 per 2 s.
    fake.window = 2.0
    d = with_registry(make_daemon, fake, rate_employee_records=4, rate_window=2)
    fake.records = new_records(d.siret, 20 * 6)
    run = sync(d)
    assert run["counts"]["created"] == 120 and run["counts"]["throttled"] == 0, run
    er = fake.er_requests()
    assert len(er) == 6 and all(r[4] == 200 for r in er)
    assert fake.max_in_window(2.0, er) <= 4


def test_429__retry_after_honoured_nothing_lost(make_daemon, fake):
    # The platform is stricter than the plugin thinks: 3 per 30 s, come back in 1 s.
    fake.limit_er, fake.window, fake.retry_after = 3, 30.0, 1
    d = with_registry(make_daemon, fake)
    fake.records = new_records(d.siret, 20 * 4)

    a = d.post("/v1/registry/sync", {}, who="coordinator")
    assert a.status == 202
    tt.wait_for("a 429", lambda: any(r[4] == 429 for r in fake.er_requests()), timeout=20)
    fake.limit_er = 60
    tt.wait_for("the end", lambda: not status(d)["running"], timeout=30)
    run = status(d)["last_run"]
    assert run["status"] == "ok" and run["counts"]["created"] == 80, run
    assert run["counts"]["throttled"] >= 1
    assert fake.early == 0  # nothing came before the Retry-After had passed


def test_5xx_timeout_malformed__backed_off_then_done(make_daemon, fake):
    d = with_registry(make_daemon, fake, max_attempts=4, timeout=1)
    fake.records = new_records(d.siret, 30)
    fake.fail_next = [502, "malformed", "slow"]
    run = sync(d)
    assert run["counts"]["retries"] == 3 and run["counts"]["created"] == 30, run
    assert people(d) == 30


def test_down_midway__run_fails_next_resumes_without_duplicates(make_daemon, fake):
    d = with_registry(make_daemon, fake, max_attempts=2)
    fake.records = new_records(d.siret, 50)
    # Page 1 answers, then the registry goes down.
    orig = fake.route

    def route(h, url, query, now, authorised):
        if query.get("page") == "2" and fake.down_after_page1:
            return fake.answer(h, 502, b"down")
        return orig(h, url, query, now, authorised)
    fake.down_after_page1 = True
    fake.route = route
    run = sync(d, expect="failed")
    assert "502" in run["last_error"] and run["counts"]["created"] == 20, run
    s = status(d)
    assert s["failed_since_success"] == 1 and s["last_success"] is None
    fake.down_after_page1 = False
    seen = len(fake.er_requests())
    run = sync(d)
    assert run["resumed"] is True and run["counts"]["created"] == 30, run
    assert fake.er_requests()[seen][2]["page"] == "2"  # where it stopped, not from the start
    assert people(d) == 50
    assert d.sql("SELECT count(DISTINCT number) FROM passes")[0][0] == 50


def test_page_vanishes__pagination_restarted_nothing_twice(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    fake.records = new_records(d.siret, 40)
    fake.vanish_after_page1 = True  # 40 -> 20 records once page 1 is out: page 2 is 404
    run = sync(d)
    assert run["counts"]["created"] == 20, run
    assert people(d) == 20
    pages = [r[2].get("page", "1") for r in fake.er_requests()]
    assert pages == ["1", "2", "1"], pages


def test_salarie_langue_francaise__asp_meaning_asked_kept_verbatim(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    recs = new_records(d.siret, 3)
    for r, v in zip(recs, [True, False, "NSP"]):
        r["_french_asp"] = v
    fake.records = recs
    run = sync(d)
    assert run["counts"]["created"] == 3 and run["counts"]["flagged"] == 1, run
    # Every request opted in: the value has the ASP's meaning, before the switch too.
    assert fake.french_header and all(h is not None for h in fake.french_header)
    rows = d.sql("SELECT l.pass_number, v.value, v.meaning FROM registry_platform_values v"
                 " JOIN registry_links l ON l.employee_id = v.employee_id"
                 " WHERE v.field = 'salarieLangueFrancaise' ORDER BY l.pass_number")
    assert rows == [(recs[0]["passIae"], "true", "asp"), (recs[1]["passIae"], "false", "asp"),
                    (recs[2]["passIae"], "NSP", "asp")], rows
    assert {"field": "salarieLangueFrancaise", "code": "NSP", "seen": 1} in status(d)["unknown_codes"]
    # Read through the declared record, by the CIP, not by the ETI.
    emp = d.sql("SELECT employee_id FROM registry_links WHERE pass_number = ?",
                (recs[0]["passIae"],))[0][0]
    a = d.get("/v1/registry/employees/%d/registry_platform_values" % emp, who="cip")
    assert a.status == 200 and "true" in json.dumps(a.body) and "asp" in json.dumps(a.body), a
    assert d.get("/v1/registry/employees/%d/registry_platform_values" % emp,
                 who="eti").status in (403, 404)
    # After the platform's switch (the header no longer matters): the same values, nothing
    # rewritten; a value that changed on the platform is updated, once.
    fake.french_definitive = True
    recs[1]["_french_asp"] = True
    for r in recs:
        r["_modified"] = "2099-01-01"  # all served again by the next since=
    run = sync(d)
    assert run["counts"]["matched"] == 3, run
    vals = d.sql("SELECT value FROM registry_platform_values ORDER BY id")
    assert vals == [("true",), ("true",), ("NSP",)], vals


def test_page_vanishes_twice_midway__run_fails_next_resumes_nothing_twice(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    fake.records = new_records(d.siret, 120)  # 6 pages
    # After page 3 the records shrink to 60 (page 4 is 404): the pagination restarts;
    # after page 2 again to 40 (page 3 is 404 again): the run fails, said so.
    fake.vanish_after = [3, 2]
    failed = sync(d, expect="failed")
    assert "404" in failed["last_error"], failed
    assert failed["counts"]["created"] == 60, failed
    pages = [r[2].get("page", "1") for r in fake.er_requests()]
    assert pages == ["1", "2", "3", "4", "1", "2", "3"], pages
    seen = len(fake.er_requests())
    run = sync(d)
    assert run["resumed"] is True, run
    # Resumed where it stopped (page 3, gone): restarted from page 1, nobody created twice.
    pages = [r[2].get("page", "1") for r in fake.er_requests()[seen:]]
    assert pages == ["3", "1", "2"], pages
    assert (run["counts"]["created"], run["counts"]["matched"]) == (0, 40), run
    assert people(d) == 60
    assert d.sql("SELECT count(DISTINCT number), count(*) FROM passes")[0] == (60, 60)
    assert proposals(d) == []


def _ms(iso):
    import datetime
    return int(datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_scheduled_run__due_in_the_quiet_hours_waits_for_their_end(make_daemon, fake, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # quiet_hours are the daemon's local time
    d = with_registry(make_daemon, fake, clock="2026-03-03T01:00:00Z", interval=3600, jitter=0,
                      quiet_hours="22:00-06:00")
    fake.records = new_records(d.siret, 3)
    d.stop()
    assert d.sql("SELECT count(*) FROM registry_runs")[0][0] == 0
    # The periodic run last ran two hours before the restart: due at once, in the window.
    d.sql("INSERT INTO timers (name, last_run_ms) VALUES ('registry/sync', ?) ON CONFLICT (name)"
          " DO UPDATE SET last_run_ms = excluded.last_run_ms", (_ms("2026-03-03T03:59:52Z"),))
    start_at(d, "2026-03-03T05:59:52Z")
    tt.wait_for("the run deferred", lambda: status(d)["next_run_at"] == "2026-03-03T06:00:00Z",
                timeout=5)
    assert status(d)["last_run"] is None and fake.er_requests() == []
    # At the window's end the scheduled run itself runs (not POST /v1/registry/sync).
    tt.wait_for("the scheduled run", lambda: (status(d)["last_run"] or {}).get("finished_at"),
                timeout=30)
    run = status(d)["last_run"]
    assert run["trigger"] == "schedule" and run["status"] == "ok", run
    assert run["counts"]["created"] == 3 and people(d) == 3
    assert status(d)["next_run_at"].startswith("2026-03-03T07:0"), status(d)  # an hour on


def test_sync__refused_while_one_runs(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    fake.records = new_records(d.siret, 45)
    fake.slow_s = 0.5
    a = d.post("/v1/registry/sync", {}, who="coordinator")
    assert a.status == 202, a
    b = d.post("/v1/registry/sync", {}, who="coordinator")
    assert b.status == 409 and "running" in b.error["message"], b
    assert d.post("/v1/registry/sync", {}, who="cip").status == 403
    tt.wait_for("the end", lambda: not status(d)["running"], timeout=30)
    assert len(fake.er_requests()) == 3 and people(d) == 45


def test_killed_mid_sync__restarted_resumes_without_duplicates(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    fake.records = new_records(d.siret, 60)
    orig = fake.route
    import threading
    hold = threading.Event()

    def route(h, url, query, now, authorised):
        if query.get("page") == "2":
            hold.wait(10)
        return orig(h, url, query, now, authorised)
    fake.route = route
    a = d.post("/v1/registry/sync", {}, who="coordinator")
    assert a.status == 202
    tt.wait_for("page 2 asked", lambda: len(fake.er_requests()) >= 2, timeout=20)
    d.kill()
    hold.set()
    fake.route = orig
    assert people(d) == 20
    d.start()
    last = status(d)["last_run"]
    assert last["status"] == "failed" and "stopped" in last["last_error"], last
    run = sync(d)
    assert run["resumed"] is True and run["counts"]["created"] == 40, run
    assert people(d) == 60


def test_offline_two_days__one_catch_up_run_no_proposal_twice(make_daemon, fake):
    d = with_registry(make_daemon, fake, clock=T0, interval=86400, jitter=0)
    num = number()
    emp = person(d, last="Martin")
    give_pass(d, emp, num, start="2025-01-06", end="2027-01-05")
    fake.records = [employee_record(d.siret, num, "Samia", "MARTIN", "1990-05-17",
                                    "2025-01-06", "2027-01-05", modified="2026-03-01")]
    run = sync(d)
    assert run["counts"]["matched"] == 1 and run["counts"]["proposed"] == 0, run
    d.stop()
    # Down the next day: the run fails, counted and visible.
    fake.down = True
    start_at(d, "2026-03-03T08:00:00Z")
    failed = sync(d, expect="failed")
    assert "502" in failed["last_error"], failed
    assert status(d)["failed_since_success"] == 1
    d.stop()
    # Meanwhile the PASS was shortened on the platform, and people arrived.
    fake.records[0] = employee_record(d.siret, num, "Samia", "MARTIN", "1990-05-17",
                                      "2025-01-06", "2026-10-05", modified="2026-03-03")
    fake.records += new_records(d.siret, 3, modified="2026-03-04")
    fake.down = False
    # Two days later it is back: one run catches up.
    start_at(d, "2026-03-04T08:00:00Z")
    sync(d)
    s = status(d)
    run = s["last_run"]
    # One run catches up with everything since the last success's day.
    assert run["since"] == "2026-03-02", run
    assert (run["counts"]["created"], run["counts"]["proposed"]) == (3, 1), run
    assert s["failed_since_success"] == 0
    sync(d)
    assert [p["proposed_value"] for p in proposals(d)] == ["2026-10-05"]
    assert people(d) == 4


# -- tremplinctl ------------------------------------------------------------


def test_tremplinctl_registry_status_and_sync(make_daemon, fake):
    d = with_registry(make_daemon, fake)
    fake.records = new_records(d.siret, 3)
    p = tt.ctl("registry", "sync", socket_path=d.socket, user="daemon")
    assert p.returncode == 0, p.stdout + p.stderr
    tt.wait_for("the end", lambda: not status(d)["running"], timeout=30)
    p = tt.ctl("registry", "status", socket_path=d.socket, user="daemon")
    assert p.returncode == 0, p.stderr
    assert "last run" in p.stdout and "ok" in p.stdout and "created 3" in p.stdout, p.stdout


# -- France Travail ------------------------------------------------------------


@pytest.fixture
def ft(fake):
    f = FakeFranceTravail(os.path.dirname(fake.ca))
    f.fiches["F1703"] = fiche("F1703", "Maçonnerie", [("100001", "Monter un mur"),
                                                      ("100002", "Lire un plan")])
    f.fiches["A1203"] = fiche("A1203", "Aménagement et entretien des espaces verts",
                              [("200001", "Tailler une haie")])
    yield f
    f.close()


def with_ft(make_daemon, fake, ft, secret=None, also=(), **over):
    d = with_registry(make_daemon, fake, start=False, also=also)
    path = os.path.join(d.dir, "ft.secret")
    with open(path, "w") as f:
        f.write((secret or ft.secret) + "\n")
    os.chmod(path, 0o600)
    section = {"client_id": ft.client_id, "secret_file": path, "token_url": ft.token_url,
               "api_url": ft.api_url, "rome_codes": ["F1703", "A1203"], "backoff_ms": 50}
    section.update(over)
    d.settings["plugins"]["registry"]["france_travail"] = section
    d.write_config(mode=0o600)
    d.start()
    d.structure = d.create("/v1/structures", tt.structure_body(siret=d.siret))["id"]
    return d


def ft_done(d):
    tt.wait_for("the fiches", lambda: not status(d)["running"] and
                not status(d)["france_travail"]["running"], timeout=30)
    return status(d)["france_travail"]


def test_france_travail__realm_in_query_token_cached_fiches_versioned(make_daemon, fake, ft):
    d = with_ft(make_daemon, fake, ft)
    sync(d)
    s = ft_done(d)
    assert (s["fetched"], s["changed"], s["errors"]) == (2, 2, 0), s
    # One token for both fiches: asked with the realm in the query, the client in the body.
    [(query, form)] = ft.token_requests
    assert query == {"realm": "/partenaire"}, query
    assert form["grant_type"] == "client_credentials" and form["client_secret"] == ft.secret
    assert [r[2] for r in ft.api_requests] == [200, 200]
    assert d.sql("SELECT code, version FROM registry_rome ORDER BY code") == [
        ("A1203", 1), ("F1703", 1)]
    comp = json.loads(d.sql("SELECT competences FROM registry_rome WHERE code = 'F1703'")[0][0])
    assert {c["code"] for c in comp} == {"100001", "100002"}
    # Again: the cached token, nothing changed; then the fiche changes: a new version.
    sync(d)
    s = ft_done(d)
    assert len(ft.token_requests) == 1 and s["changed"] == 0, s
    ft.fiches["F1703"] = fiche("F1703", "Maçonnerie", [("100001", "Monter un mur")])
    sync(d)
    s = ft_done(d)
    assert s["changed"] == 1 and len(ft.token_requests) == 1, s
    assert d.sql("SELECT version FROM registry_rome WHERE code = 'F1703'") == [(2,)]
    events = [e for e in d.get("/v1/events?limit=500", who="admin").body["items"]
              if e["type"] == "registry.rome_fiche_changed"]
    assert [e["payload"] for e in events][-1] == {"code": "F1703", "version": 2}
    assert len(events) == 3


def test_france_travail__401_refreshed_once_expired_token_renewed(make_daemon, fake, ft):
    d = with_ft(make_daemon, fake, ft)
    sync(d)
    ft_done(d)
    # Revoked early: a 401, one new token, the fiche again; nothing lost.
    ft.revoke()
    sync(d)
    s = ft_done(d)
    assert s["errors"] == 0 and s["fetched"] == 2, s
    assert len(ft.token_requests) == 2
    assert [r[2] for r in ft.api_requests[2:]] == [401, 200, 200]
    # Refused again and again: refreshed once per fiche, then given up, said.
    orig = ft.get

    def always_401(h):
        ft.api_requests.append((None, None, 401))
        return ft.answer(h, 401, {"message": "non"})
    ft.get = always_401
    n_api = len(ft.api_requests)
    sync(d)
    s = ft_done(d)
    ft.get = orig
    assert s["errors"] == 2 and "refused twice (401)" in s["last_error"], s
    assert len(ft.api_requests) - n_api == 4  # two tries a fiche, no more


def test_france_travail__short_lived_token_renewed_before_it_expires(make_daemon, fake, ft):
    ft.expires_in = 2
    d = with_ft(make_daemon, fake, ft, rome_codes=["F1703"])
    sync(d)
    ft_done(d)
    time.sleep(2.2)  # past the token's life, on both sides
    sync(d)
    s = ft_done(d)
    assert len(ft.token_requests) == 2 and s["errors"] == 0, s
    assert all(r[2] == 200 for r in ft.api_requests)  # renewed before use, not after a 401


def test_france_travail__wrong_secret__said_nothing_fetched(make_daemon, fake, ft):
    d = with_ft(make_daemon, fake, ft, secret="not-the-secret")
    sync(d)
    s = ft_done(d)
    assert "refused the client (401: invalid_client)" in s["last_error"], s
    assert ft.api_requests == [] and s["fetched"] == 0


# -- the skills plugin's side: ROME fiches as referential proposals -----------


def test_rome_fiches__offered_to_skills__coordinator_accepts_a_new_version(make_daemon, fake, ft):
    d = with_ft(make_daemon, fake, ft, also=["skills"])
    sync(d)
    ft_done(d)

    def offered(status="pending", who="coordinator"):
        a = d.get("/v1/skills/rome_proposals?status=%s" % status, who=who)
        assert a.status == 200, a
        return a.body["items"]

    items = offered()
    assert [(i["rome_code"], i["fiche_version"]) for i in items] == [("A1203", 1), ("F1703", 1)]
    assert d.get("/v1/skills/rome_proposals", who="cip").status == 403
    f1703 = [i for i in items if i["rome_code"] == "F1703"][0]
    # The ETI decides (the skills are theirs to write); the coordinator reads.
    assert d.post("/v1/skills/rome_proposals/%d/accept" % f1703["id"], {},
                  who="coordinator").status == 403
    a = d.post("/v1/skills/rome_proposals/%d/accept" % f1703["id"], {}, who="eti")
    assert a.status == 200 and a.body["status"] == "accepted", a
    ref = d.get("/v1/skills/referentials/%d" % a.body["referential_id"], who="eti").body
    assert (ref["code"], ref["version"], ref["source"]) == ("ROME-F1703", 1, "rome"), ref
    comps = d.get("/v1/skills/referentials/%d/competences" % ref["id"], who="eti").body["items"]
    assert sorted((c["external_code"], c["title"]) for c in comps) == [
        ("100001", "Monter un mur"), ("100002", "Lire un plan")]
    again = d.post("/v1/skills/rome_proposals/%d/accept" % f1703["id"], {}, who="eti")
    assert again.status == 409, again
    a1203 = [i for i in items if i["rome_code"] == "A1203"][0]
    r = d.post("/v1/skills/rome_proposals/%d/reject" % a1203["id"], {}, who="eti")
    assert r.status == 200 and r.body["status"] == "rejected" and r.body["referential_id"] is None
    assert d.post("/v1/skills/rome_proposals/999/accept", {}, who="eti").status == 404
    # Nothing new on France Travail: nothing offered again (the rejected one neither).
    sync(d)
    ft_done(d)
    assert offered() == []
    # The fiche changes: its new version is offered once, and accepted as version 2;
    # version 1 stays, with its competences.
    ft.fiches["F1703"] = fiche("F1703", "Maçonnerie", [("100001", "Monter un mur"),
                                                       ("100003", "Enduire")])
    sync(d)
    ft_done(d)
    [new] = offered()
    assert (new["rome_code"], new["fiche_version"]) == ("F1703", 2), new
    a = d.post("/v1/skills/rome_proposals/%d/accept" % new["id"], {}, who="eti")
    assert a.status == 200, a
    assert d.sql("SELECT code, version FROM skills_referentials WHERE source = 'rome'"
                 " ORDER BY version") == [("ROME-F1703", 1), ("ROME-F1703", 2)]
    assert offered() == []


def test_rome_proposals__without_the_registry_plugin__none(make_daemon):
    d = make_daemon(plugin_files=["skills"], plugins={"skills": {}})
    a = d.get("/v1/skills/rome_proposals", who="coordinator")
    assert a.status == 200 and a.body["items"] == [], a
