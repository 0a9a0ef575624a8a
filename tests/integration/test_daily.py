"""Daily use by staff: search by name, names beside ids, `me`, what the CIP shares with the ETI.

Each role calls as its own Unix user (tremplin_test.ROLE_USERS); answers are
checked against docs/openapi.json by the client.
"""

import urllib.parse

import pytest

import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT,
                                reason="calling as other Unix users needs root")


@pytest.fixture(scope="module")
def ctx(daemon):
    staff = {s["unix_user"]: s for s in daemon.list_all("/v1/staff")}
    c = {"cip": staff["bin"], "eti": staff["sys"], "coord": staff["daemon"],
         "structure": daemon.create("/v1/structures", tt.structure_body())["id"]}
    people = {}
    for first, last in (("Hélène", "Dupré"), ("Sabrina", "Martin"), ("Hélios", "Bernard")):
        body = {"structure_id": c["structure"], "first_name": first, "last_name": last,
                "birth_date": "1990-03-02", "prescriber_kind": "france_travail",
                "referent_cip_id": c["cip"]["id"], "referent_eti_id": c["eti"]["id"]}
        if first == "Hélios":
            del body["referent_cip_id"]
        people[first] = daemon.create("/v1/employees", body, who="coordinator")["id"]
    c["people"] = people
    return c


def names(answer):
    assert answer.status == 200, answer
    return sorted(e["first_name"] for e in answer.body["items"])


def test_search__accent_and_case_insensitive(daemon, ctx):
    for who in ("cip", "coordinator", "eti"):
        assert names(daemon.get("/v1/employees?q=helene", who=who)) == ["Hélène"], who
    assert names(daemon.get("/v1/employees?q=HEL", who="cip")) == ["Hélios", "Hélène"]
    assert names(daemon.get("/v1/employees?q=" + urllib.parse.quote("hélène dupre"),
                            who="cip")) == ["Hélène"]
    # Every word must match, in the first or the last name.
    assert names(daemon.get("/v1/employees?q=helene+martin", who="cip")) == []
    assert names(daemon.get("/v1/employees?q=martin", who="cip")) == ["Sabrina"]


def test_search__pages_count_matches_only(daemon, ctx):
    a = daemon.get("/v1/employees?q=hel&limit=1", who="cip")
    assert a.status == 200 and len(a.body["items"]) == 1 and a.body["next_cursor"]
    b = daemon.get("/v1/employees?q=hel&limit=1&cursor=" + a.body["next_cursor"], who="cip")
    assert b.status == 200 and len(b.body["items"]) == 1 and b.body["next_cursor"] is None
    assert {a.body["items"][0]["first_name"], b.body["items"][0]["first_name"]} == {
        "Hélène", "Hélios"}


def test_search__refused_to_the_admin_and_bad_q(daemon, ctx):
    assert daemon.get("/v1/employees?q=helene").status == 403
    a = daemon.get("/v1/employees?q=" + "a" * 201, who="cip")
    assert a.status == 400 and a.error["field"] == "q"


def test_staff_search(daemon, ctx):
    a = daemon.get("/v1/staff?q=coordinatrice", who="eti")
    assert a.status == 200 and [s["id"] for s in a.body["items"]] == [ctx["coord"]["id"]]


def test_names_beside_ids(daemon, ctx):
    e = daemon.get("/v1/employees/%d" % ctx["people"]["Sabrina"], who="eti").body
    assert e["referent_cip_name"] == ctx["cip"]["name"]
    assert e["referent_eti_name"] == ctx["eti"]["name"]
    obs = daemon.create("/v1/employees/%d/observations" % ctx["people"]["Sabrina"],
                        {"observed_on": "2026-01-05", "kind": "teamwork", "text": "Aide."},
                        who="eti")
    assert obs["employee_name"] == "Sabrina Martin"
    assert obs["author_name"] == ctx["eti"]["name"]
    listed = daemon.get("/v1/employees/%d/observations" % ctx["people"]["Sabrina"], who="cip")
    assert listed.body["items"][0]["author_name"] == ctx["eti"]["name"]
    # A file without a referent CIP has no name for it either.
    e = daemon.get("/v1/employees/%d" % ctx["people"]["Hélios"], who="cip").body
    assert e["referent_cip_id"] is None and "referent_cip_name" not in e


def test_me_in_filters(daemon, ctx):
    assert names(daemon.get("/v1/employees?referent_cip_id=me", who="cip")) == [
        "Hélène", "Sabrina"]
    assert names(daemon.get("/v1/employees?referent_cip_id=me", who="coordinator")) == []
    assert len(daemon.get("/v1/employees?referent_eti_id=me", who="eti").body["items"]) == 3
    a = daemon.get("/v1/employees?referent_cip_id=moi", who="cip")
    assert a.status == 400 and a.error["field"] == "referent_cip_id"


def test_goal_shared_with_the_eti__by_the_cips_choice(daemon, ctx):
    pid = ctx["people"]["Hélène"]
    shared = daemon.create("/v1/employees/%d/goals" % pid,
                           {"text": "CACES R489", "deadline": "2027-03-01",
                            "shared_with_eti": True}, who="cip")
    private = daemon.create("/v1/employees/%d/goals" % pid, {"text": "Logement"}, who="cip")
    assert private["shared_with_eti"] is False
    items = daemon.get("/v1/employees/%d/goals" % pid, who="eti").body["items"]
    assert [(g["id"], g["text"], g["deadline"], g["status"]) for g in items] == [
        (shared["id"], "CACES R489", "2027-03-01", "open")]
    assert daemon.get("/v1/goals/%d" % private["id"], who="eti").status == 404
    # Sharing is the CIP's to decide; the ETI changes nothing of it.
    assert daemon.patch("/v1/goals/%d" % shared["id"], {"status": "achieved"},
                        who="eti").status == 403
    assert daemon.patch("/v1/goals/%d" % private["id"], {"shared_with_eti": True},
                        who="coordinator").status == 403
    assert daemon.patch("/v1/goals/%d" % shared["id"], {"shared_with_eti": False},
                        who="cip").status == 200
    assert daemon.get("/v1/employees/%d/goals" % pid, who="eti").body["items"] == []
    # The coordinator still reads no goal's text, shared or not.
    assert "text" not in daemon.get("/v1/goals/%d" % shared["id"], who="coordinator").body


def test_shared_barrier__severity_and_status_for_the_eti(daemon, ctx):
    pid = ctx["people"]["Sabrina"]
    b = daemon.create("/v1/employees/%d/barriers" % pid,
                      {"category": "mobility", "severity": 3, "shared_with_eti": True,
                       "detail": "Pas de permis"}, who="cip")
    daemon.create("/v1/employees/%d/barriers" % pid,
                  {"category": "housing", "severity": 2}, who="cip")
    assert daemon.patch("/v1/barriers/%d" % b["id"], {"status": "resolved"},
                        who="cip").status == 200
    items = daemon.get("/v1/employees/%d/barriers" % pid, who="eti").body["items"]
    assert len(items) == 1
    assert (items[0]["category"], items[0]["severity"], items[0]["status"]) == (
        "mobility", 3, "resolved")
    assert "detail" not in items[0]


def test_audit__names_beside_ids(daemon, ctx):
    pid = ctx["people"]["Sabrina"]
    daemon.create("/v1/employees/%d/notes" % pid, {"text": "Entretien."}, who="cip")
    entries = daemon.get("/v1/audit?employee_id=%d" % pid, who="coordinator").body["items"]
    mine = [e for e in entries if e["staff_id"] == ctx["cip"]["id"]]
    assert mine and all(e["staff_name"] == ctx["cip"]["name"] for e in mine)
    assert all(e["employee_name"] == "Sabrina Martin" for e in entries)
    # The operator reads the log, never a person's name.
    entries = daemon.get("/v1/audit?employee_id=%d" % pid).body["items"]
    assert entries and all(e["employee_name"] is None for e in entries)
    assert {e["staff_name"] for e in mine} == {ctx["cip"]["name"]}


def test_audit__me_as_staff_id(daemon, ctx):
    mine = daemon.get("/v1/audit?staff_id=me", who="coordinator").body["items"]
    assert mine and {e["staff_id"] for e in mine} == {ctx["coord"]["id"]}
    a = daemon.get("/v1/audit?staff_id=moi", who="coordinator")
    assert a.status == 400 and a.error["field"] == "staff_id"
