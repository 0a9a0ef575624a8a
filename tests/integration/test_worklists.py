"""Worklists across files (GET /v1/worklists/...), as each role may read them, and their CSV.

The daemon runs on the test clock: today is Monday 2026-03-02.
"""

import csv
import io
import itertools
import re

import pytest

import lua_support as ls
import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT,
                                reason="calling as other Unix users needs root")

TODAY = "2026-03-02T08:00:00Z"
_numbers = itertools.count(4100001)


@pytest.fixture(scope="module")
def w(module_daemons):
    d = module_daemons(start=False)
    ls.start_daemon(d, clock=TODAY)
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    cip, eti = staff["bin"], staff["sys"]
    st = d.create("/v1/structures", tt.structure_body())["id"]

    def person(first, last, referent_cip=True, start="2025-09-01", end="2026-03-20"):
        body = {"structure_id": st, "first_name": first, "last_name": last,
                "birth_date": "1990-03-02", "prescriber_kind": "france_travail",
                "referent_eti_id": eti["id"], "team": "Espaces verts"}
        if referent_cip:
            body["referent_cip_id"] = cip["id"]
        pid = d.create("/v1/employees", body, who="coordinator")["id"]
        d.create("/v1/employees/%d/contracts" % pid,
                 {"start_date": start, "end_date": end, "weekly_hours": 26}, who="cip")
        return pid

    alice = person("Alice", "Étienne")
    bruno = person("Bruno", "Lefèvre", referent_cip=False, start="2026-02-20",
                   end="2026-08-19")
    chloe = person("Chloé", "Petit", start="2026-01-05", end="2026-07-04")
    rev = "/v1/employees/%d/reviews"
    d.create(rev % alice, {"kind": "entry", "planned_on": "2025-09-25",
                           "held_on": "2025-09-25"}, who="cip")
    late = d.create(rev % alice, {"kind": "intermediate", "planned_on": "2026-02-20"},
                    who="cip")
    soon = d.create(rev % alice, {"kind": "exit", "planned_on": "2026-03-10"}, who="cip")
    entry = d.create(rev % chloe, {"kind": "entry", "planned_on": "2026-03-05"}, who="cip")
    goal = d.create("/v1/employees/%d/goals" % alice,
                    {"text": "Permis B", "deadline": "2026-02-01"}, who="cip")
    d.create("/v1/employees/%d/goals" % alice,
             {"text": "CACES", "deadline": "2026-06-01"}, who="cip")
    d.create("/v1/employees/%d/welcome" % alice, {"item": "booklet", "done_on": "2025-09-01"},
             who="eti")
    p = d.create("/v1/employees/%d/passes" % bruno,
                 {"number": "99999%07d" % next(_numbers), "start_date": "2024-03-15"},
                 who="cip")
    return {"d": d, "cip": cip, "eti": eti, "alice": alice, "bruno": bruno, "chloe": chloe,
            "late": late["id"], "soon": soon["id"], "entry": entry["id"], "goal": goal["id"], "pass": p}


def items(w, path, who):
    a = w["d"].get(path, who=who)
    assert a.status == 200, a
    assert a.body["as_of"] == "2026-03-02" and a.body["truncated"] is False
    return a.body["items"]


def test_reviews__due_and_overdue__names_beside_ids(w):
    for who in ("cip", "eti", "coordinator"):
        got = items(w, "/v1/worklists/reviews", who)
        assert [(i["review_id"], i["overdue"], i["days_late"]) for i in got] == [
            (w["late"], True, 10), (w["entry"], False, 0), (w["soon"], False, 0)], who
        assert got[0]["employee_name"] == "Alice Étienne"
        assert got[0]["referent_cip_name"] == w["cip"]["name"]
        assert got[0]["review_kind"] == "intermediate"
    assert [i["review_id"] for i in items(w, "/v1/worklists/reviews?days=5", "cip")] == [
        w["late"], w["entry"]]
    assert [i["review_id"] for i in items(
        w, "/v1/worklists/reviews?from=2026-03-01&to=2026-03-31", "cip")] == [
        w["entry"], w["soon"]]


def test_reviews__me_and_filters(w):
    assert len(items(w, "/v1/worklists/reviews?referent_cip_id=me", "cip")) == 3
    assert items(w, "/v1/worklists/reviews?referent_cip_id=me", "coordinator") == []
    assert len(items(w, "/v1/worklists/reviews?referent_eti_id=me&team=Espaces%20verts",
                     "eti")) == 3
    assert items(w, "/v1/worklists/reviews?team=Menuiserie", "cip") == []


def test_ending__contracts_and_passes_within_n_days(w):
    got = items(w, "/v1/worklists/ending?days=30", "coordinator")
    assert [(i["what"], i["employee_id"]) for i in got] == [
        ("pass", w["bruno"]), ("contract", w["alice"])]
    assert got[0]["end_date"] == w["pass"]["end_date"]
    assert got[1]["end_date"] == "2026-03-20" and got[1]["days_left"] == 18
    assert "referent_cip_name" not in got[0] and got[0]["referent_cip_id"] is None
    assert [i["what"] for i in items(w, "/v1/worklists/ending?days=15", "eti")] == ["pass"]


def test_welcome__items_not_done_after_n_days(w):
    got = items(w, "/v1/worklists/welcome?days=7", "eti")
    by = {}
    for i in got:
        by.setdefault(i["employee_id"], []).append(i["item"])
    assert len(by[w["alice"]]) == 5 and "booklet" not in by[w["alice"]]
    assert len(by[w["bruno"]]) == 6 and len(by[w["chloe"]]) == 6
    assert got[0]["employee_id"] == w["alice"]  # the earliest hired first
    # Bruno was hired 10 days ago.
    assert w["bruno"] not in {i["employee_id"] for i in items(
        w, "/v1/worklists/welcome?days=11", "eti")}


def test_goals__past_deadline__as_the_policy_and_the_cip_share(w):
    got = items(w, "/v1/worklists/goals", "cip")
    assert [(i["goal_id"], i["goal"], i["days_late"]) for i in got] == [
        (w["goal"], "Permis B", 29)]
    coord = items(w, "/v1/worklists/goals", "coordinator")
    assert [i["goal_id"] for i in coord] == [w["goal"]] and "goal" not in coord[0]
    assert items(w, "/v1/worklists/goals", "eti") == []
    d = w["d"]
    assert d.patch("/v1/goals/%d" % w["goal"], {"shared_with_eti": True},
                   who="cip").status == 200
    try:
        assert [i["goal"] for i in items(w, "/v1/worklists/goals", "eti")] == ["Permis B"]
    finally:
        d.patch("/v1/goals/%d" % w["goal"], {"shared_with_eti": False}, who="cip")


def test_entry_reviews__a_month_after_hiring(w):
    got = items(w, "/v1/worklists/entry_reviews", "cip")
    assert [(i["employee_id"], i["hired_on"], i["entry_review_planned_on"]) for i in got] == [
        (w["chloe"], "2026-01-05", "2026-03-05")]


def test_caseload__in_name_order(w):
    got = items(w, "/v1/worklists/caseload?referent_cip_id=me", "cip")
    assert [i["last_name"] for i in got] == ["Petit", "Étienne"] or [
        i["last_name"] for i in got] == ["Étienne", "Petit"]
    assert {i["contract_end"] for i in got} == {"2026-03-20", "2026-07-04"}


def test_refused__admin_and_bad_parameters(w):
    d = w["d"]
    for path in ("reviews", "ending", "welcome", "goals", "entry_reviews", "caseload"):
        assert d.get("/v1/worklists/" + path).status == 403, path
    for path, field in (("reviews?days=abc", "days"), ("reviews?from=02/03/2026", "from"),
                        ("ending?days=-1", "days"), ("goals?sort=x", "sort"),
                        ("reviews?referent_cip_id=moi", "referent_cip_id"),
                        ("caseload?format=xls", "format"), ("caseload?status=gone", "status")):
        a = d.get("/v1/worklists/" + path, who="cip")
        assert a.status == 400 and a.error["field"] == field, (path, a)


def read_csv(answer):
    assert answer.status == 200, answer
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(answer.raw.decode("utf-8-sig"), newline=""),
                           delimiter=";"))


def test_csv__reviews_french_headers_and_dates(w):
    rows = read_csv(w["d"].get("/v1/worklists/reviews?format=csv", who="cip"))
    assert rows[0] == ["Nom", "Prénom", "Équipe", "CIP référent", "ETI référent", "Bilan",
                       "Prévu le", "En retard", "Jours de retard"]
    assert rows[1] == ["Étienne", "Alice", "Espaces verts", w["cip"]["name"], w["eti"]["name"],
                       "intermediate", "20/02/2026", "oui", "10"]
    assert rows[2][:2] == ["Petit", "Chloé"] and rows[2][6:] == ["05/03/2026", "non", "0"]
    assert rows[3][6:] == ["10/03/2026", "non", "0"]
    assert len(rows) == 4


def test_csv__by_accept_header__caseload(w):
    rows = read_csv(w["d"].get("/v1/worklists/caseload", who="coordinator",
                               headers={"Accept": "text/csv"}))
    assert rows[0][:2] == ["Nom", "Prénom"] and len(rows) == 4
    assert {r[1] for r in rows[1:]} == {"Alice", "Bruno", "Chloé"}
    by = {r[1]: r for r in rows[1:]}
    assert by["Alice"][5:] == ["in_pathway", "01/09/2025", "20/03/2026", "20/02/2026"]
    assert by["Bruno"][3] == "" and by["Bruno"][-1] == ""


# ---------------------------------------------------------------------------
# tremplinctl: tables on a terminal, JSON in a pipe, CSV, French messages


def ctl_tty(d, *args, user="bin"):
    """tremplinctl with its standard output on a terminal (a pty): (status, out, err)."""
    import os
    import pty
    import pwd
    import subprocess
    pw = pwd.getpwnam(user)
    master, slave = pty.openpty()
    env = dict(os.environ)
    env.pop("TREMPLIN_SOCKET", None)
    p = subprocess.Popen([tt.shared_copy(tt.TREMPLINCTL), "--socket", d.socket] + list(args),
                         stdout=slave, stderr=subprocess.PIPE, user=pw.pw_uid, group=pw.pw_gid,
                         extra_groups=[], cwd=tt.shared_dir(), env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    err = p.stderr.read().decode()
    p.wait(timeout=30)
    os.close(master)
    return p.returncode, out.decode().replace("\r\n", "\n"), err


def test_ctl__piped__the_apis_json(w):
    import json
    d = w["d"]
    p = tt.ctl("reviews", socket_path=d.socket, user="bin")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == d.get("/v1/worklists/reviews", who="cip").body
    p = tt.ctl("reviews", "--due", "5d", "--json", socket_path=d.socket, user="bin")
    assert [i["review_id"] for i in json.loads(p.stdout)["items"]] == [w["late"], w["entry"]]


def test_ctl__on_a_terminal__a_french_table(w):
    rc, out, err = ctl_tty(w["d"], "reviews", "--due", "14d")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["Nom", "Prénom", "Équipe", "Bilan", "Prévu", "le",
                                "Retard", "(j)", "CIP", "référent"]
    assert "Étienne" in lines[2] and "20/02/2026" in lines[2] and "10" in lines[2]
    assert lines[-1] == "(3 lignes)"
    rc, out, err = ctl_tty(w["d"], "goals", user="sys")
    assert rc == 0 and out.strip() == "Aucun objectif en retard.", (out, err)


def test_ctl__team_is_ones_own(w):
    import json
    d = w["d"]
    for user, people in (("sys", {"Alice", "Bruno", "Chloé"}), ("bin", {"Alice", "Chloé"})):
        p = tt.ctl("team", socket_path=d.socket, user=user)
        assert p.returncode == 0, p.stderr
        assert {i["first_name"] for i in json.loads(p.stdout)["items"]} == people, user
    p = tt.ctl("people", "etienne", socket_path=d.socket, user="sys")
    assert [i["first_name"] for i in json.loads(p.stdout)["items"]] == ["Alice"]


def test_ctl__csv(w):
    p = tt.ctl("ending", "--days", "30", "--csv", socket_path=w["d"].socket, user="daemon")
    assert p.returncode == 0, p.stderr
    rows = list(csv.reader(io.StringIO(p.stdout.lstrip("\ufeff"), newline=""), delimiter=";"))
    assert rows[0][-3:] == ["Échéance", "Date de fin", "Jours restants"]
    assert rows[2][:2] == ["Étienne", "Alice"] and rows[2][-3:] == ["contract", "20/03/2026", "18"]


def test_ctl__errors_in_french(w):
    d = w["d"]
    p = tt.ctl("reviews", "--due", "beaucoup", socket_path=d.socket, user="bin")
    assert p.returncode == 64 and "nombre de jours invalide" in p.stderr, p.stderr
    p = tt.ctl("reviews", "--from", "31/02/2026x", socket_path=d.socket, user="bin")
    assert p.returncode == 64 and "date invalide" in p.stderr, p.stderr
    p = tt.ctl("reviews", socket_path=d.socket)  # the admin reads no personal data
    assert p.returncode == 1 and "accès refusé" in p.stderr, p.stderr
    p = tt.ctl("indicators", socket_path=d.socket, user="sys")
    assert p.returncode == 1 and "accès refusé" in p.stderr, p.stderr


def test_ctl__people__times_in_paris(w):
    rc, out, err = ctl_tty(w["d"], "people", "étienne", user="sys")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split()[-2:] == ["Dernier", "contact"]
    # Written at 08:00 UTC on 2 March 2026: 09:00 in Paris (winter time).
    assert re.search(r"Alice .* 02/03/2026 09:\d\d$", lines[2]), lines
