"""GET /v1/indicators: the funders' figures per structure and period, JSON and CSV,
unchanged by the erasure of a file of a past year. Test clock: 2026-06-15."""

import csv
import datetime
import io

import pytest

import lua_support as ls
import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT,
                                reason="calling as other Unix users needs root")

YEAR = "/v1/indicators?structure=%d&from=2025-01-01&to=2025-12-31"


def days(a, b):
    return (datetime.date.fromisoformat(b) - datetime.date.fromisoformat(a)).days


@pytest.fixture(scope="module")
def w(module_daemons):
    d = module_daemons(start=False)
    ls.start_daemon(d, clock="2026-06-15T08:00:00Z")
    s = d.create("/v1/structures", tt.structure_body())["id"]
    other = d.create("/v1/structures", tt.structure_body())["id"]

    def person(structure, start, end, exit_date=None, category=None):
        pid = d.create("/v1/employees", {
            "structure_id": structure, "first_name": "P", "last_name": "Q",
            "birth_date": "1990-01-01", "prescriber_kind": "plie"}, who="coordinator")["id"]
        d.create("/v1/employees/%d/contracts" % pid,
                 {"start_date": start, "end_date": end, "weekly_hours": 26}, who="cip")
        if exit_date:
            d.create("/v1/employees/%d/exits" % pid,
                     {"exit_date": exit_date, "category": category}, who="cip")
        return pid

    p1 = person(s, "2025-01-06", "2025-07-05", "2025-07-05", "emploi_durable")
    person(s, "2025-02-03", "2025-08-02", "2025-06-30", "sortie_positive")
    person(s, "2025-03-03", "2025-09-02", "2025-09-02", "autre")
    person(s, "2025-04-01", "2025-10-01", "2025-05-15", "exclue")
    p5 = person(s, "2025-11-03", "2026-05-02")
    person(other, "2025-01-06", "2025-07-05", "2025-07-05", "emploi_durable")
    rev = "/v1/employees/%d/reviews"
    d.create(rev % p1, {"kind": "entry", "planned_on": "2025-02-01", "held_on": "2025-02-01"},
             who="cip")
    d.create(rev % p1, {"kind": "intermediate", "planned_on": "2025-05-01",
                        "held_on": "2025-05-10"}, who="cip")
    d.create(rev % p5, {"kind": "entry", "planned_on": "2025-12-01"}, who="cip")
    avg = (days("2025-01-06", "2025-07-05") + days("2025-02-03", "2025-06-30")
           + days("2025-03-03", "2025-09-02") + days("2025-04-01", "2025-05-15")) / 4
    return {"d": d, "s": s, "other": other, "p1": p1, "avg": int(avg + 0.5)}


def check_2025(b, w):
    assert (b["structure_id"], b["from"], b["to"]) == (w["s"], "2025-01-01", "2025-12-31")
    assert (b["in_pathway"], b["hired"]) == (5, 5)
    assert b["exits"] == {"emploi_durable": 1, "emploi_transition": 0, "sortie_positive": 1,
                          "autre": 1, "exclue": 1, "total": 4}
    # Two dynamic exits over the three that count: the excluded one is out.
    assert b["sorties_dynamiques"] == {"count": 2, "counted_exits": 3, "rate": 66.7}
    assert b["average_pathway_days"] == w["avg"]
    assert b["reviews"] == {"due": 3, "on_time": 1, "rate": 33.3}


def test_indicators__a_year__as_domain_defines(w):
    for who in ("coordinator", "cip"):
        a = w["d"].get(YEAR % w["s"], who=who)
        assert a.status == 200, a
        check_2025(a.body, w)
        assert a.body["retained"] == {"years": [2025], "files_removed": 0}


def test_indicators__other_structure_and_all(w):
    a = w["d"].get(YEAR % w["other"], who="coordinator").body
    assert a["exits"]["total"] == 1 and a["sorties_dynamiques"]["rate"] == 100.0
    a = w["d"].get("/v1/indicators?from=2025-01-01&to=2025-12-31", who="coordinator").body
    assert a["structure_id"] is None and a["exits"]["total"] == 5


def test_indicators__refused(w):
    d = w["d"]
    assert d.get(YEAR % w["s"], who="eti").status == 403
    assert d.get(YEAR % w["s"]).status == 403
    for q, field in (("structure=x", "structure"), ("from=2025-13-01", "from"),
                     ("from=2025-02-01&to=2025-01-01", "to"), ("format=pdf", "format")):
        a = d.get("/v1/indicators?" + q, who="coordinator")
        assert a.status == 400 and a.error["field"] == field, (q, a)
    assert d.get("/v1/indicators?structure=999", who="coordinator").status == 404


def test_indicators__csv(w):
    a = w["d"].get(YEAR % w["s"] + "&format=csv", who="coordinator")
    assert a.status == 200 and a.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert a.raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(a.raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == ["Indicateur", "Valeur"]
    got = dict(rows[1:])
    assert got["Personnes en parcours"] == "5"
    assert got["Taux de sorties dynamiques (%)"] == "66,7"
    assert got["Sorties exclues du taux (maladie longue, déménagement...)"] == "1"


def test_indicators__erasure_leaves_past_years_unchanged(w):
    d = w["d"]
    a = d.call("DELETE", "/v1/employees/%d" % w["p1"], {"reason": "request"}, who="coordinator")
    assert a.status == 200, a
    b = d.get(YEAR % w["s"], who="coordinator").body
    check_2025(b, w)
    # The erasure is counted in the year it happened.
    assert b["retained"] == {"years": [2025], "files_removed": 0}
    y = d.get("/v1/indicators?structure=%d&from=2026-01-01&to=2026-12-31" % w["s"],
              who="coordinator").body
    assert y["retained"] == {"years": [2026], "files_removed": 1}
    # A period cut inside the year counts the files on hand only: the erased one is gone.
    part = d.get("/v1/indicators?structure=%d&from=2025-01-01&to=2025-11-30" % w["s"],
                 who="coordinator").body
    assert part["retained"]["years"] == [] and part["exits"]["emploi_durable"] == 0


def test_ctl__indicators__french_dates_in_csv_and_json(w):
    import json
    d = w["d"]
    p = tt.ctl("indicators", "--structure", str(w["other"]), "--from", "01/01/2025", "--to",
               "31/12/2025", "--csv", socket_path=d.socket, user="daemon")
    assert p.returncode == 0, p.stderr
    rows = dict(csv.reader(io.StringIO(p.stdout.lstrip("\ufeff"), newline=""), delimiter=";"))
    assert rows["Sorties en emploi durable"] == "1"
    p = tt.ctl("indicators", "--structure", str(w["other"]), "--from", "2025-01-01", "--to",
               "2025-12-31", socket_path=d.socket, user="bin")
    assert json.loads(p.stdout) == d.get(YEAR % w["other"], who="cip").body
