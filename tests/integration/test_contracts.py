"""CDDI contracts, renewals, suspensions and AI placements, against a live daemon.

Structures are created by the coordinator, employees and contracts by the
CIP, and the ETI and the admin read, as the real Unix users of the roles.
Every rule is tried at its boundary day, and every refusal is checked to
name its field and to write nothing (the rows are counted before and after).

Months are calendar months from date to date (src/kernel/contract_rules.h): 4
months from 2026-01-15 end on 2026-05-14, 24 months on 2028-01-14.
"""

import json
import os
import sqlite3

import pytest

import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT, reason="calls the API as the users of the roles")

TABLES = ("contracts", "contract_renewals", "contract_suspensions", "ai_placements")


# -- helpers ------------------------------------------------------------------


def _documented(method, template):
    with open(os.path.join(tt.TOP_SRCDIR, "docs", "openapi.json")) as f:
        return method in json.load(f)["paths"].get(template, {})


def new_employee(d, structure_id, birth_date="1985-06-01"):
    """An employee created by the CIP through the API, who is its referent: the legal
    reasons of contracts (age, disability, detention) are the referent's to write."""
    cip = d.get("/v1/whoami", who="cip").body["id"]
    body = {"structure_id": structure_id, "first_name": "Camille", "last_name": tt.unique("M"),
            "birth_date": birth_date, "prescriber_kind": "france_travail",
            "referent_cip_id": cip}
    if _documented("post", "/v1/employees"):
        return d.create("/v1/employees", body, who="cip")["id"]
    # The employee paths are documented by another part of this work; until
    # they are, this one call is not checked against docs/openapi.json.
    saved = tt._checker
    tt._checker = lambda *args, **kw: None
    try:
        a = d.post("/v1/employees", body, who="cip")
    finally:
        tt._checker = saved
    assert a.status == 201, a
    return a.body["id"]


def counts(d):
    return {t: d.sql("SELECT count(*) FROM %s" % t)[0][0] for t in TABLES}


def contract_body(start="2026-01-15", end="2026-05-14", hours=26, **over):
    b = {"start_date": start, "end_date": end, "weekly_hours": hours}
    b.update(over)
    return b


def hire(d, employee, who="cip", **body):
    a = d.post("/v1/employees/%d/contracts" % employee, contract_body(**body), who=who)
    assert a.status == 201, a
    return a.body


def refused(d, method, path, body, status, field, who="cip", code=None):
    """The request is refused with status, naming field, and nothing is written."""
    before = counts(d)
    a = d.call(method, path, body, who=who)
    assert a.status == status, a
    if field is not None:
        assert a.error.get("field") == field, a
    if code is not None:
        assert a.error["code"] == code, a
    assert counts(d) == before
    return a.error


@pytest.fixture(scope="module")
def world(daemon):
    """Structures of each kind a contract meets, made by the coordinator."""
    tt.require_root()
    w = {}
    for kind in ("ACI", "AI", "EI"):
        w[kind] = daemon.create("/v1/structures", tt.structure_body(kind=kind),
                                who="coordinator")["id"]
    return w


@pytest.fixture
def aci_person(daemon, world):
    return new_employee(daemon, world["ACI"])


# -- duration -----------------------------------------------------------------


def test_contract__exactly_4_months__201_location_and_nested_records(daemon, aci_person):
    a = daemon.post("/v1/employees/%d/contracts" % aci_person, contract_body(), who="cip")
    assert a.status == 201, a
    c = a.body
    assert a.headers["Location"] == "/v1/contracts/%d" % c["id"]
    assert (c["employee_id"], c["start_date"], c["end_date"]) == (aci_person, "2026-01-15",
                                                                   "2026-05-14")
    assert c["initial_end_date"] == "2026-05-14"
    assert c["weekly_hours"] == 26
    assert (c["renewals"], c["suspensions"], c["placements"]) == ([], [], [])
    g = daemon.get(a.headers["Location"], who="cip")
    assert g.status == 200 and g.body == c


def test_contract__4_months_less_one_day__rejected(daemon, aci_person):
    e = refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
                contract_body(end="2026-05-13"), 422, "end_date")
    assert "at least 4 months" in e["message"] and "2026-05-14" in e["message"]


def test_contract__4_months_from_31_october__ends_28_february(daemon, world):
    p = new_employee(daemon, world["ACI"])
    refused(daemon, "POST", "/v1/employees/%d/contracts" % p,
            contract_body(start="2026-10-31", end="2027-02-27"), 422, "end_date")
    hire(daemon, p, start="2026-10-31", end="2027-02-28")


def test_contract__exactly_24_months__201(daemon, aci_person):
    assert hire(daemon, aci_person, end="2028-01-14")["end_date"] == "2028-01-14"


def test_contract__over_24_months__rejected(daemon, aci_person):
    e = refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
                contract_body(end="2028-01-15"), 422, "end_date")
    assert "at most 24 months" in e["message"] and "2028-01-14" in e["message"]


def test_contract__end_before_start__rejected(daemon, aci_person):
    e = refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
                contract_body(start="2026-03-01", end="2026-02-28"), 422, "end_date")
    assert "before start_date" in e["message"]


# -- bad inputs ---------------------------------------------------------------


@pytest.mark.parametrize("over,status,field", [
    ({"salary": 1500}, 400, "salary"),
    ({"start_date": "2026-02-30"}, 422, "start_date"),
    ({"end_date": "14/05/2026"}, 422, "end_date"),
    ({"start_date": None}, 422, "start_date"),
    ({"weekly_hours": "26"}, 422, "weekly_hours"),
    ({"weekly_hours": None}, 422, "weekly_hours"),
    ({"initial_end_date": "2026-05-14"}, 422, "initial_end_date"),
    ({"employee_id": 1}, 422, "employee_id"),
    ({"structure_id": 999999}, 422, "structure_id"),
    ({"structure_id": "1"}, 422, "structure_id"),
    ({"ended_on": "2026-05-15"}, 422, "ended_on"),
    ({"ended_on": "2026-01-14"}, 422, "ended_on"),
    ({"hours_derogation_reason": "x" * 301}, 422, "hours_derogation_reason"),
])
def test_contract__bad_input__refused_with_the_field_and_nothing_written(
        daemon, aci_person, over, status, field):
    refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person, contract_body(**over),
            status, field)


def test_contract__required_field_missing__422(daemon, aci_person):
    body = contract_body()
    del body["weekly_hours"]
    refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person, body, 422, "weekly_hours")


def test_contract__unknown_employee__404(daemon):
    refused(daemon, "POST", "/v1/employees/999999/contracts", contract_body(), 404, None)


def test_contract__structure_absent__the_employee_s(daemon, world):
    p = new_employee(daemon, world["EI"])
    assert hire(daemon, p)["structure_id"] == world["EI"]
    q = new_employee(daemon, world["EI"])
    assert hire(daemon, q, structure_id=world["ACI"])["structure_id"] == world["ACI"]


# -- weekly hours -------------------------------------------------------------


@pytest.mark.parametrize("hours", [20, 35, 20.5])
def test_hours__20_to_35__201(daemon, world, hours):
    p = new_employee(daemon, world["EI"])
    assert hire(daemon, p, hours=hours)["weekly_hours"] == hours


@pytest.mark.parametrize("hours", [35.5, 36, 0, -5])
def test_hours__outside_20_to_35__rejected(daemon, world, hours):
    p = new_employee(daemon, world["ACI"])
    e = refused(daemon, "POST", "/v1/employees/%d/contracts" % p, contract_body(hours=hours),
                422, "weekly_hours")
    assert "20 to 35" in e["message"]


def test_hours__below_20_outside_an_aci__rejected_even_with_a_derogation(daemon, world):
    p = new_employee(daemon, world["EI"])
    refused(daemon, "POST", "/v1/employees/%d/contracts" % p, contract_body(hours=19.5), 422,
            "weekly_hours")
    e = refused(daemon, "POST", "/v1/employees/%d/contracts" % p,
                contract_body(hours=19.5, hours_derogation_until="2026-05-14"), 422,
                "hours_derogation_until")
    assert "ACI" in e["message"]


def test_hours__below_20_in_an_aci_without_derogation__rejected(daemon, aci_person):
    e = refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
                contract_body(hours=19.5), 422, "weekly_hours")
    assert "derogation" in e["message"]


def test_hours__below_20_in_an_aci_with_a_12_month_derogation__201(daemon, aci_person):
    c = hire(daemon, aci_person, end="2027-07-14", hours=15, hours_derogation_until="2027-01-14",
             hours_derogation_reason="difficultés particulièrement importantes")
    assert (c["weekly_hours"], c["hours_derogation_until"]) == (15, "2027-01-14")
    assert c["hours_derogation_from"] is None


def test_hours__derogation_of_12_months_and_one_day__rejected(daemon, aci_person):
    e = refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
                contract_body(end="2027-07-14", hours=15, hours_derogation_until="2027-01-15"),
                422, "hours_derogation_until")
    assert "12 months" in e["message"] and "2027-01-14" in e["message"]


def test_hours__derogation_from_its_own_start__12_months_from_there(daemon, world):
    p = new_employee(daemon, world["ACI"])
    body = contract_body(end="2027-12-31", hours=12, hours_derogation_from="2026-06-01",
                         hours_derogation_until="2027-06-01")
    refused(daemon, "POST", "/v1/employees/%d/contracts" % p, body, 422, "hours_derogation_until")
    body["hours_derogation_until"] = "2027-05-31"
    c = hire(daemon, p, **body)
    assert (c["hours_derogation_from"], c["hours_derogation_until"]) == ("2026-06-01",
                                                                          "2027-05-31")


def test_hours__derogation_starting_before_the_contract__rejected(daemon, aci_person):
    refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
            contract_body(hours=12, hours_derogation_from="2026-01-14",
                          hours_derogation_until="2026-05-14"), 422, "hours_derogation_from")


def test_hours__derogation_reason_without_dates__rejected(daemon, aci_person):
    refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
            contract_body(hours_derogation_reason="santé"), 422, "hours_derogation_until")


def test_hours__lowered_below_20_by_patch_without_derogation__rejected(daemon, aci_person):
    c = hire(daemon, aci_person)
    refused(daemon, "PATCH", "/v1/contracts/%d" % c["id"], {"weekly_hours": 18}, 422,
            "weekly_hours")
    a = daemon.patch("/v1/contracts/%d" % c["id"],
                     {"weekly_hours": 18, "hours_derogation_until": "2026-05-14"}, who="cip")
    assert a.status == 200, a
    assert a.body["weekly_hours"] == 18


# -- overlaps -----------------------------------------------------------------


def test_overlap__next_contract_the_day_after_the_end__201(daemon, aci_person):
    hire(daemon, aci_person, start="2026-01-15", end="2026-05-14")
    hire(daemon, aci_person, start="2026-05-15", end="2026-09-14")


def test_overlap__starting_on_the_last_day__rejected(daemon, aci_person):
    first = hire(daemon, aci_person, start="2026-01-15", end="2026-05-14")
    e = refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
                contract_body(start="2026-05-14", end="2026-09-13"), 422, "start_date")
    assert "contract %d" % first["id"] in e["message"]


def test_overlap__ending_on_the_first_day_of_a_later_one__rejected(daemon, aci_person):
    hire(daemon, aci_person, start="2026-06-01", end="2026-09-30")
    refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
            contract_body(start="2026-02-01", end="2026-06-01"), 422, "end_date")
    hire(daemon, aci_person, start="2026-01-31", end="2026-05-31")


def test_overlap__early_end_frees_the_days_after_it(daemon, aci_person):
    first = hire(daemon, aci_person, start="2026-01-15", end="2026-12-31")
    refused(daemon, "POST", "/v1/employees/%d/contracts" % aci_person,
            contract_body(start="2026-04-01", end="2026-07-31"), 422, "start_date")
    a = daemon.patch("/v1/contracts/%d" % first["id"], {"ended_on": "2026-03-31"}, who="cip")
    assert a.status == 200 and a.body["ended_on"] == "2026-03-31", a
    hire(daemon, aci_person, start="2026-04-01", end="2026-07-31")
    # The early end cannot be undone now: the contracts would overlap.
    refused(daemon, "PATCH", "/v1/contracts/%d" % first["id"], {"ended_on": None}, 422,
            "end_date")


def test_overlap__another_employee_s_contract__does_not_count(daemon, world):
    p, q = new_employee(daemon, world["ACI"]), new_employee(daemon, world["ACI"])
    hire(daemon, p)
    hire(daemon, q)


# -- changes ------------------------------------------------------------------


def test_patch__end_before_any_renewal__moves_the_initial_end_too(daemon, aci_person):
    c = hire(daemon, aci_person)
    a = daemon.patch("/v1/contracts/%d" % c["id"], {"end_date": "2026-07-14"}, who="coordinator")
    assert a.status == 200, a
    assert (a.body["end_date"], a.body["initial_end_date"]) == ("2026-07-14", "2026-07-14")
    refused(daemon, "PATCH", "/v1/contracts/%d" % c["id"], {"end_date": "2026-05-13"}, 422,
            "end_date")


def test_patch__dates_after_a_renewal__rejected(daemon, aci_person):
    c = hire(daemon, aci_person)
    daemon.create("/v1/contracts/%d/renewals" % c["id"], {"new_end_date": "2026-09-14"}, who="cip")
    refused(daemon, "PATCH", "/v1/contracts/%d" % c["id"], {"end_date": "2026-10-14"}, 422,
            "end_date")
    refused(daemon, "PATCH", "/v1/contracts/%d" % c["id"], {"start_date": "2026-01-16"}, 422,
            "start_date")
    refused(daemon, "PATCH", "/v1/contracts/%d" % c["id"], {"structure_id": 1}, 422,
            "structure_id")


def test_patch__renewed_past_24_months__other_fields_still_change(daemon, aci_person):
    c = hire(daemon, aci_person, end="2028-01-14")
    assert renew(daemon, c["id"], "2028-12-31", "training_to_finish").status == 201
    a = daemon.patch("/v1/contracts/%d" % c["id"], {"weekly_hours": 30, "ended_on": "2028-06-30"},
                     who="cip")
    assert a.status == 200, a
    assert (a.body["end_date"], a.body["initial_end_date"], a.body["ended_on"]) == (
        "2028-12-31", "2028-01-14", "2028-06-30")


def test_patch__unknown_contract__404(daemon):
    refused(daemon, "PATCH", "/v1/contracts/999999", {"weekly_hours": 30}, 404, None)
    assert daemon.get("/v1/contracts/999999", who="cip").status == 404


# -- renewals -----------------------------------------------------------------


def renew(d, contract, new_end, reason=None, who="cip"):
    body = {"new_end_date": new_end}
    if reason is not None:
        body["reason"] = reason
    return d.post("/v1/contracts/%d/renewals" % contract, body, who=who)


def test_renewal__within_24_months__no_reason_needed_and_end_moves(daemon, aci_person):
    c = hire(daemon, aci_person)
    a = renew(daemon, c["id"], "2028-01-14")
    assert a.status == 201, a
    assert a.headers["Location"] == "/v1/contract_renewals/%d" % a.body["id"]
    assert (a.body["previous_end_date"], a.body["new_end_date"], a.body["reason"]) == (
        "2026-05-14", "2028-01-14", None)
    g = daemon.get("/v1/contracts/%d" % c["id"], who="cip").body
    assert (g["end_date"], g["initial_end_date"]) == ("2028-01-14", "2026-05-14")
    assert g["renewals"] == [a.body]
    assert daemon.get(a.headers["Location"], who="cip").body == a.body


def test_renewal__24_months_and_one_day_without_reason__rejected(daemon, aci_person):
    c = hire(daemon, aci_person, end="2027-12-31")
    e = refused(daemon, "POST", "/v1/contracts/%d/renewals" % c["id"],
                {"new_end_date": "2028-01-15"}, 422, "reason")
    assert "training_to_finish" in e["message"] and "2028-01-14" in e["message"]
    assert daemon.get("/v1/contracts/%d" % c["id"], who="cip").body["end_date"] == "2027-12-31"
    assert renew(daemon, c["id"], "2028-01-15", "rqth").status == 201


@pytest.mark.parametrize("reason", ["training_to_finish", "rqth", "aci_severe_difficulties"])
def test_renewal__past_24_months_with_a_legal_reason__201(daemon, world, reason):
    p = new_employee(daemon, world["ACI"])
    c = hire(daemon, p, end="2028-01-14")
    a = renew(daemon, c["id"], "2029-01-14", reason)
    assert a.status == 201, a
    assert a.body["reason"] == reason


def test_renewal__past_24_months_a_year_at_most__one_day_more_rejected(daemon, aci_person):
    c = hire(daemon, aci_person, end="2028-01-14")
    e = refused(daemon, "POST", "/v1/contracts/%d/renewals" % c["id"],
                {"new_end_date": "2029-01-15", "reason": "rqth"}, 422, "new_end_date")
    assert "one year" in e["message"] and "2029-01-14" in e["message"]
    assert renew(daemon, c["id"], "2029-01-14", "rqth").status == 201


def test_renewal__60_months__ok_and_one_day_more__rejected(daemon, aci_person):
    c = hire(daemon, aci_person, end="2028-01-14")
    for end in ("2029-01-14", "2030-01-14"):
        assert renew(daemon, c["id"], end, "rqth").status == 201
    e = refused(daemon, "POST", "/v1/contracts/%d/renewals" % c["id"],
                {"new_end_date": "2031-01-15", "reason": "rqth"}, 422, "new_end_date")
    assert "60 months" in e["message"] and "2031-01-14" in e["message"]
    assert renew(daemon, c["id"], "2031-01-14", "rqth").status == 201


def test_renewal__age_50_on_the_first_day_of_the_renewal__201(daemon, world):
    # The renewal starts on 2028-01-15: born 1978-01-15, 50 that very day.
    p = new_employee(daemon, world["EI"], birth_date="1978-01-15")
    c = hire(daemon, p, end="2028-01-14")
    assert renew(daemon, c["id"], "2028-07-14", "age_50_plus").status == 201


def test_renewal__age_50_the_day_after__rejected(daemon, world):
    p = new_employee(daemon, world["EI"], birth_date="1978-01-16")
    c = hire(daemon, p, end="2028-01-14")
    e = refused(daemon, "POST", "/v1/contracts/%d/renewals" % c["id"],
                {"new_end_date": "2028-07-14", "reason": "age_50_plus"}, 422, "reason")
    assert "49" in e["message"]


def test_renewal__aci_severe_difficulties_outside_an_aci__rejected(daemon, world):
    p = new_employee(daemon, world["EI"])
    c = hire(daemon, p, end="2028-01-14")
    e = refused(daemon, "POST", "/v1/contracts/%d/renewals" % c["id"],
                {"new_end_date": "2028-07-14", "reason": "aci_severe_difficulties"}, 422,
                "reason")
    assert "ACI" in e["message"]


@pytest.mark.parametrize("body,status,field", [
    ({"new_end_date": "2026-05-14"}, 422, "new_end_date"),
    ({"new_end_date": "2026-05-13"}, 422, "new_end_date"),
    ({"new_end_date": "2026-13-01"}, 422, "new_end_date"),
    ({}, 422, "new_end_date"),
    ({"new_end_date": "2028-07-14", "reason": "sympathy"}, 422, "reason"),
    ({"new_end_date": "2026-09-14", "previous_end_date": "2026-05-14"}, 422,
     "previous_end_date"),
    ({"new_end_date": "2026-09-14", "note": "x"}, 400, "note"),
])
def test_renewal__bad_input__refused_and_nothing_written(daemon, aci_person, body, status, field):
    c = hire(daemon, aci_person)
    refused(daemon, "POST", "/v1/contracts/%d/renewals" % c["id"], body, status, field)
    assert daemon.get("/v1/contracts/%d" % c["id"], who="cip").body["end_date"] == "2026-05-14"


def test_renewal__into_the_next_contract__rejected(daemon, aci_person):
    c = hire(daemon, aci_person, start="2026-01-15", end="2026-05-14")
    hire(daemon, aci_person, start="2026-09-01", end="2026-12-31")
    refused(daemon, "POST", "/v1/contracts/%d/renewals" % c["id"],
            {"new_end_date": "2026-09-01"}, 422, "new_end_date")
    assert renew(daemon, c["id"], "2026-08-31").status == 201


def test_renewal__contract_ended_early__409(daemon, aci_person):
    c = hire(daemon, aci_person)
    assert daemon.patch("/v1/contracts/%d" % c["id"], {"ended_on": "2026-03-01"},
                        who="cip").status == 200
    refused(daemon, "POST", "/v1/contracts/%d/renewals" % c["id"],
            {"new_end_date": "2026-09-14"}, 409, None, code="conflict")


def test_renewal__unknown_contract__404(daemon):
    refused(daemon, "POST", "/v1/contracts/999999/renewals", {"new_end_date": "2026-09-14"},
            404, None)


# -- suspensions --------------------------------------------------------------


def test_suspension__within_the_contract__201_and_nested(daemon, aci_person):
    c = hire(daemon, aci_person)
    a = daemon.post("/v1/contracts/%d/suspensions" % c["id"],
                    {"start_date": "2026-01-15", "end_date": "2026-05-14", "reason": "illness"},
                    who="cip")
    assert a.status == 201, a
    assert a.headers["Location"] == "/v1/contract_suspensions/%d" % a.body["id"]
    assert daemon.get("/v1/contracts/%d" % c["id"], who="cip").body["suspensions"] == [a.body]


@pytest.mark.parametrize("start,end,field", [
    ("2026-01-14", "2026-02-01", "start_date"),
    ("2026-05-01", "2026-05-15", "end_date"),
    ("2026-03-10", "2026-03-09", "end_date"),
])
def test_suspension__outside_the_contract_or_backwards__rejected(daemon, aci_person, start, end,
                                                                 field):
    c = hire(daemon, aci_person)
    refused(daemon, "POST", "/v1/contracts/%d/suspensions" % c["id"],
            {"start_date": start, "end_date": end, "reason": "incarceration"}, 422, field)


def test_suspension__overlapping_another__rejected_and_patch_checked_too(daemon, aci_person):
    c = hire(daemon, aci_person)
    s = daemon.create("/v1/contracts/%d/suspensions" % c["id"],
                      {"start_date": "2026-02-01", "end_date": "2026-02-10",
                       "reason": "work_accident"}, who="cip")
    refused(daemon, "POST", "/v1/contracts/%d/suspensions" % c["id"],
            {"start_date": "2026-02-10", "end_date": "2026-02-20", "reason": "illness"}, 422,
            "start_date")
    t = daemon.create("/v1/contracts/%d/suspensions" % c["id"],
                      {"start_date": "2026-02-11", "end_date": "2026-02-20",
                       "reason": "trial_period"}, who="cip")
    # The sick leave is extended: it would run into the trial period.
    refused(daemon, "PATCH", "/v1/contract_suspensions/%d" % s["id"], {"end_date": "2026-02-11"},
            422, "start_date")
    a = daemon.patch("/v1/contract_suspensions/%d" % t["id"], {"end_date": "2026-03-01"},
                     who="coordinator")
    assert a.status == 200 and a.body["end_date"] == "2026-03-01", a


def test_suspension__bad_reason_or_missing__refused(daemon, aci_person):
    c = hire(daemon, aci_person)
    refused(daemon, "POST", "/v1/contracts/%d/suspensions" % c["id"],
            {"start_date": "2026-02-01", "end_date": "2026-02-10", "reason": "holiday"}, 422,
            "reason")
    refused(daemon, "POST", "/v1/contracts/%d/suspensions" % c["id"],
            {"start_date": "2026-02-01", "end_date": "2026-02-10"}, 422, "reason")


def test_patch__start_leaving_a_suspension_outside__rejected(daemon, aci_person):
    c = hire(daemon, aci_person, end="2026-09-14")
    daemon.create("/v1/contracts/%d/suspensions" % c["id"],
                  {"start_date": "2026-01-20", "end_date": "2026-01-25", "reason": "other"},
                  who="cip")
    refused(daemon, "PATCH", "/v1/contracts/%d" % c["id"], {"start_date": "2026-01-21"}, 422,
            "start_date")


# -- AI placements ------------------------------------------------------------


def place(d, contract, kind, start, end, hours, who="cip"):
    return d.post("/v1/contracts/%d/placements" % contract,
                  {"employer_kind": kind, "employer_name": "Client " + tt.unique(),
                   "start_date": start, "end_date": end, "hours": hours}, who=who)


def ai_hours(d, employee, date, who="cip"):
    a = d.get("/v1/employees/%d/ai_hours?date=%s" % (employee, date), who=who)
    assert a.status == 200, a
    return a.body


@pytest.fixture
def ai_contract(daemon, world):
    p = new_employee(daemon, world["AI"])
    return p, hire(daemon, p, start="2026-01-05", end="2027-12-31")


def test_placement__companies_up_to_480_hours__201_and_counted(daemon, ai_contract):
    p, c = ai_contract
    a = place(daemon, c["id"], "company", "2026-02-02", "2026-03-27", 300)
    assert a.status == 201, a
    assert a.headers["Location"] == "/v1/ai_placements/%d" % a.body["id"]
    assert place(daemon, c["id"], "individual", "2026-02-02", "2026-06-30", 500).status == 201
    assert place(daemon, c["id"], "company", "2026-04-01", "2026-06-30", 180).status == 201
    h = ai_hours(daemon, p, "2026-07-01")
    assert h.pop("employee_name") == daemon.get("/v1/employees/%d" % p, who="cip").body[
        "first_name"] + " " + daemon.get("/v1/employees/%d" % p, who="cip").body["last_name"]
    assert h == {"employee_id": p, "date": "2026-07-01", "cap_hours": 480, "used_hours": 480,
                 "remaining_hours": 0, "company_placements": 2, "window_start": "2026-02-02",
                 "window_end": "2028-02-01"}
    assert len(daemon.get("/v1/contracts/%d" % c["id"], who="eti").body["placements"]) == 3


def test_placement__over_480_hours_with_companies__422_says_what_remains(daemon, ai_contract):
    p, c = ai_contract
    assert place(daemon, c["id"], "company", "2026-02-02", "2026-03-27", 300).status == 201
    before = counts(daemon)
    a = place(daemon, c["id"], "company", "2026-04-01", "2026-06-30", 180.25)
    assert a.status == 422 and a.error["field"] == "hours", a
    assert "180.00 remain" in a.error["message"], a
    assert counts(daemon) == before
    # Associations and local authorities do not count.
    for kind in ("association", "local_authority"):
        assert place(daemon, c["id"], kind, "2026-04-01", "2026-06-30", 400).status == 201
    assert ai_hours(daemon, p, "2026-04-01")["remaining_hours"] == 180


def test_ai_hours__window_of_24_months_from_the_first_company_placement(daemon, ai_contract):
    p, c = ai_contract
    assert ai_hours(daemon, p, "2026-02-01")["window_start"] is None
    assert place(daemon, c["id"], "company", "2026-02-02", "2026-02-06", 35).status == 201
    h = ai_hours(daemon, p, "2026-02-01")
    assert (h["window_start"], h["used_hours"], h["remaining_hours"]) == (None, 0, 480)
    h = ai_hours(daemon, p, "2028-02-01")
    assert (h["window_start"], h["window_end"], h["used_hours"]) == ("2026-02-02", "2028-02-01",
                                                                     35)
    h = ai_hours(daemon, p, "2028-02-02")
    assert (h["window_start"], h["used_hours"], h["remaining_hours"]) == (None, 0, 480)


def test_ai_hours__bad_date_or_unknown_employee(daemon, ai_contract):
    p, _ = ai_contract
    a = daemon.get("/v1/employees/%d/ai_hours?date=2026-02-30" % p, who="cip")
    assert a.status == 400 and a.error["field"] == "date", a
    a = daemon.get("/v1/employees/%d/ai_hours?month=2" % p, who="cip")
    assert a.status == 400, a
    assert daemon.get("/v1/employees/999999/ai_hours", who="cip").status == 404


def test_placement__outside_the_contract_or_too_many_hours__rejected(daemon, ai_contract):
    _, c = ai_contract
    for start, end, hours, field in [("2026-01-04", "2026-01-09", 10, "start_date"),
                                     ("2027-12-20", "2028-01-01", 10, "end_date"),
                                     ("2026-02-06", "2026-02-02", 10, "end_date"),
                                     ("2026-02-02", "2026-02-06", 50.5, "hours"),
                                     ("2026-02-02", "2026-02-06", 0, "hours")]:
        refused(daemon, "POST", "/v1/contracts/%d/placements" % c["id"],
                {"employer_kind": "company", "employer_name": "Client", "start_date": start,
                 "end_date": end, "hours": hours}, 422, field)
    assert place(daemon, c["id"], "company", "2026-02-02", "2026-02-06", 50).status == 201


def test_placement__contract_outside_an_ai__409(daemon, aci_person):
    c = hire(daemon, aci_person)
    refused(daemon, "POST", "/v1/contracts/%d/placements" % c["id"],
            {"employer_kind": "company", "employer_name": "Client", "start_date": "2026-02-02",
             "end_date": "2026-02-06", "hours": 35}, 409, None, code="conflict")


def test_placement__unknown_employer_kind__422(daemon, ai_contract):
    _, c = ai_contract
    refused(daemon, "POST", "/v1/contracts/%d/placements" % c["id"],
            {"employer_kind": "friend", "employer_name": "Client", "start_date": "2026-02-02",
             "end_date": "2026-02-06", "hours": 35}, 422, "employer_kind")


# -- confidentiality ----------------------------------------------------------


@pytest.fixture
def file_with_reasons(daemon, world):
    p = new_employee(daemon, world["ACI"])
    c = hire(daemon, p, end="2028-01-14", hours=15, hours_derogation_until="2026-12-31",
             hours_derogation_reason="difficultés particulièrement importantes")
    daemon.create("/v1/contracts/%d/renewals" % c["id"],
                  {"new_end_date": "2029-01-14", "reason": "rqth"}, who="cip")
    daemon.create("/v1/contracts/%d/suspensions" % c["id"],
                  {"start_date": "2026-03-02", "end_date": "2026-03-20", "reason": "illness"},
                  who="cip")
    return p, c["id"]


LEGAL = ("hours_derogation_reason",)


def test_confidentiality__eti_reads_dates_and_hours_not_reasons(daemon, file_with_reasons):
    p, cid = file_with_reasons
    for a in (daemon.get("/v1/contracts/%d" % cid, who="eti"),
              daemon.get("/v1/employees/%d/contracts" % p, who="eti")):
        assert a.status == 200, a
        c = a.body if "id" in a.body else a.body["items"][0]
        assert (c["start_date"], c["end_date"], c["weekly_hours"]) == ("2026-01-15",
                                                                        "2029-01-14", 15)
        assert c["hours_derogation_until"] == "2026-12-31"
        assert "hours_derogation_reason" not in c
        assert [(r["new_end_date"], "reason" in r) for r in c["renewals"]] == [
            ("2029-01-14", False)]
        assert [(s["start_date"], "reason" in s) for s in c["suspensions"]] == [
            ("2026-03-02", False)]
    r = daemon.get("/v1/contract_renewals/%d" % c["renewals"][0]["id"], who="eti")
    assert r.status == 200 and "reason" not in r.body, r
    s = daemon.get("/v1/contract_suspensions/%d" % c["suspensions"][0]["id"], who="eti")
    assert s.status == 200 and "reason" not in s.body, s


@pytest.mark.parametrize("who", ["cip", "coordinator"])
def test_confidentiality__cip_and_coordinator_read_the_reasons(daemon, file_with_reasons, who):
    _, cid = file_with_reasons
    c = daemon.get("/v1/contracts/%d" % cid, who=who).body
    assert c["hours_derogation_reason"] == "difficultés particulièrement importantes"
    assert [r["reason"] for r in c["renewals"]] == ["rqth"]
    assert [s["reason"] for s in c["suspensions"]] == ["illness"]


def test_confidentiality__reading_reasons_is_audited(daemon, file_with_reasons):
    p, cid = file_with_reasons
    audit = os.path.join(daemon.dir, "audit.sqlite")

    def reads():
        con = sqlite3.connect(audit, timeout=10)
        try:
            return con.execute("SELECT role, categories FROM audit_log WHERE action = 'read'"
                               " AND employee_id = ? ORDER BY id", (p,)).fetchall()
        finally:
            con.close()

    before = len(reads())
    daemon.get("/v1/contracts/%d" % cid, who="cip")
    after = reads()
    assert len(after) == before + 1
    assert after[-1][0] == "cip" and "contract_legal" in after[-1][1], after[-1]
    # The ETI reads nothing audited here: no entry.
    daemon.get("/v1/contracts/%d" % cid, who="eti")
    assert len(reads()) == before + 1


def test_confidentiality__eti_writes_nothing(daemon, file_with_reasons, world):
    p, cid = file_with_reasons
    refused(daemon, "POST", "/v1/employees/%d/contracts" % p,
            contract_body(start="2030-01-01", end="2030-06-30"), 403, "start_date", who="eti")
    refused(daemon, "PATCH", "/v1/contracts/%d" % cid, {"weekly_hours": 20}, 403,
            "weekly_hours", who="eti")
    refused(daemon, "POST", "/v1/contracts/%d/renewals" % cid,
            {"new_end_date": "2029-06-30", "reason": "rqth"}, 403, None, who="eti")
    refused(daemon, "POST", "/v1/contracts/%d/suspensions" % cid,
            {"start_date": "2026-04-01", "end_date": "2026-04-02", "reason": "other"}, 403, None,
            who="eti")


def test_confidentiality__admin_reads_and_writes_nothing(daemon, file_with_reasons):
    p, cid = file_with_reasons
    for path in ("/v1/contracts/%d" % cid, "/v1/employees/%d/contracts" % p,
                 "/v1/employees/%d/ai_hours" % p):
        a = daemon.get(path, who="admin")
        assert a.status == 403, a
    refused(daemon, "POST", "/v1/employees/%d/contracts" % p,
            contract_body(start="2030-01-01", end="2030-06-30"), 403, None, who="admin")
    refused(daemon, "POST", "/v1/contracts/%d/renewals" % cid,
            {"new_end_date": "2029-06-30", "reason": "rqth"}, 403, None, who="admin")


# -- events -------------------------------------------------------------------


def test_events__every_change_published_without_values(daemon, world):
    p = new_employee(daemon, world["AI"])
    c = hire(daemon, p, start="2026-01-05", end="2026-12-31")
    daemon.patch("/v1/contracts/%d" % c["id"], {"weekly_hours": 30}, who="cip")
    r = daemon.create("/v1/contracts/%d/renewals" % c["id"], {"new_end_date": "2027-06-30"},
                      who="cip")
    s = daemon.create("/v1/contracts/%d/suspensions" % c["id"],
                      {"start_date": "2026-03-02", "end_date": "2026-03-20", "reason": "illness"},
                      who="cip")
    daemon.patch("/v1/contract_suspensions/%d" % s["id"], {"end_date": "2026-03-27"}, who="cip")
    pl = place(daemon, c["id"], "company", "2026-04-01", "2026-04-03", 21).body
    items = daemon.list_all("/v1/events", "type=*", who="coordinator")
    mine = [(e["type"], e["subject"], e["payload"]) for e in items
            if e["payload"].get("employee_id") == p and e["type"] != "employee.created"]
    assert mine == [
        ("contract.created", "contract/%d" % c["id"],
         {"id": c["id"], "employee_id": p, "changed": []}),
        ("contract.updated", "contract/%d" % c["id"],
         {"id": c["id"], "employee_id": p, "changed": ["weekly_hours"]}),
        # The renewal moves the contract's end, in the same transaction.
        ("contract.updated", "contract/%d" % c["id"],
         {"id": c["id"], "employee_id": p, "changed": ["end_date"]}),
        ("contract_renewal.created", "contract_renewal/%d" % r["id"],
         {"id": r["id"], "employee_id": p, "contract_id": c["id"], "changed": []}),
        ("contract_suspension.created", "contract_suspension/%d" % s["id"],
         {"id": s["id"], "employee_id": p, "contract_id": c["id"], "changed": []}),
        ("contract_suspension.updated", "contract_suspension/%d" % s["id"],
         {"id": s["id"], "employee_id": p, "contract_id": c["id"], "changed": ["end_date"]}),
        ("ai_placement.created", "ai_placement/%d" % pl["id"],
         {"id": pl["id"], "employee_id": p, "contract_id": c["id"], "changed": []}),
    ]
    # A refused change publishes nothing.
    n = len(items)
    renew(daemon, c["id"], "2026-06-30")
    assert len(daemon.list_all("/v1/events", "type=*", who="coordinator")) == n
