"""The production plugin against a real tremplind: clients, orders and work orders
(records of nobody's), the safety record, the planning's refusals (contracts read
through the kernel's views), a team's attendance in one request, as the ETI, the CIP,
the coordinator and the admin.

Alone, from the build directory:
  TOP_SRCDIR=$PWD/../.. TOP_BUILDDIR=$PWD TREMPLIND=$PWD/tremplind \\
    TREMPLINCTL=$PWD/tremplinctl python3 -m pytest -q -p no:cacheprovider \\
    ../../plugins/production/tests
"""

import pytest

import tremplin_test as tt

P = "/v1/production"


@pytest.fixture(scope="module")
def prod(module_daemons):
    """One daemon with the plugin; a structure; one employee under a 26-hour contract
    (2026-01-15 to 2026-05-14) whose referents are the bootstrap CIP and ETI."""
    tt.openapi_plugins({"production": {}})
    d = module_daemons(plugin_files=["production"], plugins={"production": {}})
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    client = d.create(P + "/clients", {"structure_id": structure, "name": "Mairie",
                                       "kind": "local_authority"}, who="eti")
    order = d.create(P + "/orders", {"structure_id": structure, "client_id": client["id"],
                                     "title": "Entretien des berges", "start_date": "2026-01-01",
                                     "end_date": "2026-06-30"}, who="coordinator")
    return {"d": d, "structure": structure, "client": client["id"], "order": order["id"],
            "cip": staff["bin"]["id"], "eti": staff["sys"]["id"]}


def person(p, contract=("2026-01-15", "2026-05-14", 26)):
    d = p["d"]
    e = d.create("/v1/employees", {
        "structure_id": p["structure"], "first_name": "Camille", "last_name": tt.unique("P"),
        "birth_date": "1988-03-02", "prescriber_kind": "france_travail",
        "referent_cip_id": p["cip"], "referent_eti_id": p["eti"]}, who="cip")["id"]
    c = None
    if contract is not None:
        c = d.create("/v1/employees/%d/contracts" % e, {
            "start_date": contract[0], "end_date": contract[1], "weekly_hours": contract[2]},
            who="cip")["id"]
    return e, c


def work_order(p, team="berges", equipment=(), skills=(), start="2026-01-05", end="2026-06-30"):
    return p["d"].create(P + "/orders/%d/work_orders" % p["order"], {
        "name": "Fauchage " + tt.unique(), "site": "Quai Nord", "start_date": start,
        "end_date": end, "team": team, "equipment": list(equipment), "skills": list(skills)},
        who="eti")["id"]


def briefed(p, employee, on="2026-01-15"):
    d = p["d"]
    b = d.create(P + "/briefings", {"structure_id": p["structure"], "topic": "Gestes et postures",
                                    "held_on": on}, who="eti")["id"]
    d.create(P + "/employees/%d/briefing_attendances" % employee, {"briefing_id": b}, who="eti")


def plan(p, employee, wo, date, slot="morning", who="eti", **more):
    body = {"work_order_id": wo, "date": date, "slot": slot}
    body.update(more)
    return p["d"].post(P + "/employees/%d/assignments" % employee, body, who=who)


def count(d, table):
    return d.sql("SELECT count(*) FROM %s" % table)[0][0]


# -- clients, orders, work orders --------------------------------------------------


@pytest.mark.parametrize("body, field", [
    ({"name": "SARL Vert", "kind": "company"}, "siret"),
    ({"name": "SARL Vert", "kind": "company", "siret": "12345678901234"}, "siret"),
    ({"name": "SARL Vert", "kind": "shop"}, "kind"),
    ({"name": "SARL Vert", "kind": "individual", "colour": "red"}, "colour"),
])
def test_client__bad_input__refused_naming_the_field_nothing_written(prod, body, field):
    d = prod["d"]
    body = dict(body, structure_id=prod["structure"])
    before = count(d, "production_clients")
    a = d.post(P + "/clients", body, who="eti")
    assert a.status in (400, 422) and a.error["field"] == field, a
    assert count(d, "production_clients") == before


def test_client__company_with_its_siret_and_contacts_nested(prod):
    d = prod["d"]
    siret = tt.make_siret()
    c = d.create(P + "/clients", {"structure_id": prod["structure"], "name": "SARL Vert",
                                  "kind": "company", "siret": siret,
                                  "address": "1 rue des Lilas"}, who="coordinator")
    a = d.post(P + "/clients/%d/contacts" % c["id"], {"name": "M. Durand", "email": "pas-un-mail"},
               who="eti")
    assert (a.status, a.error["field"]) == (422, "email"), a
    d.create(P + "/clients/%d/contacts" % c["id"], {"name": "M. Durand", "role": "gérant",
                                                     "email": "durand@example.org"}, who="eti")
    got = d.get(P + "/clients/%d" % c["id"], who="cip").body
    assert got["siret"] == siret and [x["name"] for x in got["contacts"]] == ["M. Durand"], got
    # The CIP reads production data but does not write it; the admin reads none.
    assert d.post(P + "/clients", {"structure_id": prod["structure"], "name": "X",
                                   "kind": "individual"}, who="cip").status == 403
    got = d.get(P + "/clients/%d" % c["id"], who="admin")
    assert got.status == 403, got


def test_order__status_moves_only_as_allowed(prod):
    d = prod["d"]
    o = d.create(P + "/orders", {"structure_id": prod["structure"], "client_id": prod["client"],
                                 "title": "Taille de haies"}, who="eti")
    assert o["status"] == "quote"
    path = P + "/orders/%d" % o["id"]
    for bad in ("done", "invoiced", "in_progress"):
        a = d.patch(path, {"status": bad}, who="eti")
        assert (a.status, a.error["field"]) == (422, "status"), a
    for good in ("accepted", "in_progress", "done", "invoiced"):
        a = d.patch(path, {"status": good}, who="eti")
        assert a.status == 200 and a.body["status"] == good, a
    a = d.patch(path, {"status": "cancelled"}, who="eti")
    assert (a.status, a.error["field"]) == (422, "status"), a
    a = d.post(P + "/orders", {"structure_id": prod["structure"], "client_id": prod["client"],
                               "title": "X", "status": "done"}, who="eti")
    assert (a.status, a.error["field"]) == (422, "status"), a


def test_order__lines_and_work_orders_within_its_dates(prod):
    d = prod["d"]
    path = P + "/orders/%d" % prod["order"]
    a = d.post(path + "/lines", {"description": "Fauchage", "quantity": -1, "unit": "m2",
                                 "unit_price_cents": 120}, who="eti")
    assert (a.status, a.error["field"]) == (422, "quantity"), a
    d.create(path + "/lines", {"description": "Fauchage", "quantity": 1200, "unit": "m2",
                               "unit_price_cents": 120}, who="eti")
    before = count(d, "production_work_orders")
    a = d.post(path + "/work_orders", {"name": "Hors commande", "site": "Quai", "team": "berges",
                                       "start_date": "2025-12-20", "end_date": "2026-01-10"},
               who="eti")
    assert (a.status, a.error["field"]) == (422, "start_date"), a
    a = d.post(path + "/work_orders", {"name": "A l'envers", "site": "Quai", "team": "berges",
                                       "start_date": "2026-02-10", "end_date": "2026-02-01"},
               who="eti")
    assert (a.status, a.error["field"]) == (422, "end_date"), a
    assert count(d, "production_work_orders") == before
    assert any(l["unit"] == "m2" for l in d.get(path, who="cip").body["lines"])


# -- planning --------------------------------------------------------------------


def test_planning__refusals_name_field_and_reason(prod):
    d = prod["d"]
    e, contract = person(prod)
    wo = work_order(prod, equipment=["Casque"])
    before = count(d, "production_assignments")
    # Before the contract: no active contract.
    a = plan(prod, e, wo, "2026-01-14")
    assert (a.status, a.error["field"]) == (422, "date") and "contract" in a.error["message"], a
    # The work order requires a helmet not issued to the person.
    a = plan(prod, e, wo, "2026-01-19")
    assert (a.status, a.error["field"]) == (422, "work_order_id"), a
    assert "Casque" in a.error["message"], a
    d.create(P + "/employees/%d/equipment" % e, {"item": "casque", "size": "M",
                                                  "issued_on": "2026-01-15",
                                                  "renewal_due": "2026-01-31"}, who="eti")
    # First assignment without a safety briefing.
    a = plan(prod, e, wo, "2026-01-19")
    assert (a.status, a.error["field"]) == (422, "date") and "briefing" in a.error["message"], a
    assert count(d, "production_assignments") == before
    briefed(prod, e)
    a = plan(prod, e, wo, "2026-01-19")
    assert a.status == 201, a
    # Planned twice on a half-day.
    a = plan(prod, e, wo, "2026-01-19")
    assert (a.status, a.error["field"]) == (422, "slot"), a
    # A 26-hour week: 7 half-days of 3.5 h (24.5) then 1.5 h fit, a further quarter not.
    for date, slot in (("2026-01-19", "afternoon"), ("2026-01-20", "morning"),
                       ("2026-01-20", "afternoon"), ("2026-01-21", "morning"),
                       ("2026-01-21", "afternoon"), ("2026-01-22", "morning")):
        assert plan(prod, e, wo, date, slot).status == 201, (date, slot)
    assert plan(prod, e, wo, "2026-01-22", "afternoon", hours=1.5).status == 201
    a = plan(prod, e, wo, "2026-01-23", "morning", hours=0.25)
    assert (a.status, a.error["field"]) == (422, "hours"), a
    # Sunday belongs to the same week; Monday starts another.
    assert plan(prod, e, wo, "2026-01-25", hours=0.25).status == 422
    assert plan(prod, e, wo, "2026-01-26").status == 201
    # A suspension counts as no contract, its bounds included.
    d.create("/v1/contracts/%d/suspensions" % contract, {
        "start_date": "2026-02-02", "end_date": "2026-02-04", "reason": "illness"}, who="cip")
    for date in ("2026-02-02", "2026-02-04"):
        a = plan(prod, e, wo, date)
        assert (a.status, a.error["field"]) == (422, "date"), a
    assert plan(prod, e, wo, "2026-02-05").status == 201
    # Marked absent that day.
    a = d.post(P + "/team-attendance", {"date": "2026-02-09", "entries": [
        {"employee_id": e, "slot": "day", "status": "absent", "reason": "sick_leave"}]},
        who="eti")
    assert a.status == 200, a
    a = plan(prod, e, wo, "2026-02-09", "afternoon")
    assert (a.status, a.error["field"]) == (422, "date") and "absent" in a.error["message"], a
    # Outside the work order's dates.
    a = plan(prod, e, wo, "2026-07-01")
    assert (a.status, a.error["field"]) == (422, "date"), a
    # The overdue renewal is visible.
    eq = d.get(P + "/employees/%d/equipment" % e, who="eti").body["items"][0]
    assert eq["renewal_overdue"] is True, eq


def test_planning__several_people_all_or_none_then_the_week_for_display(prod):
    d = prod["d"]
    team = tt.unique("equipe")
    people = []
    for _ in range(2):
        e, _c = person(prod)
        briefed(prod, e)
        people.append(e)
    stranger, _c = person(prod, contract=None)
    wo = work_order(prod, team=team)
    before = count(d, "production_assignments")
    a = d.post(P + "/planning", {"work_order_id": wo, "date": "2026-03-02", "slot": "morning",
                                 "employee_ids": people + [stranger]}, who="eti")
    assert (a.status, a.error["field"]) == (422, "employee_ids[2].date"), a
    assert count(d, "production_assignments") == before
    d.create(P + "/work_orders/%d/supervisions" % wo, {"date": "2026-03-02", "slot": "morning",
                                                        "staff_id": prod["eti"]}, who="eti")
    a = d.post(P + "/planning", {"work_order_id": wo, "date": "2026-03-02", "slot": "morning",
                                 "employee_ids": people}, who="eti")
    assert a.status == 201 and len(a.body["items"]) == 2, a
    # An ETI supervises; no skills plugin: nothing to warn about.
    assert a.body["warnings"] == []
    a = d.post(P + "/planning", {"work_order_id": wo, "date": "2026-03-03", "slot": "afternoon",
                                 "hours": 3, "employee_ids": people[:1]}, who="coordinator")
    assert a.status == 201, a
    assert [(w["code"], w["field"]) for w in a.body["warnings"]] == [("no_supervisor", "slot")]
    for body, field in (({"work_order_id": "x"}, "work_order_id"),
                        ({"date": "2026-02-30"}, "date"), ({"slot": "evening"}, "slot"),
                        ({"employee_ids": []}, "employee_ids"), ({"extra": 1}, "extra")):
        full = {"work_order_id": wo, "date": "2026-03-04", "slot": "morning",
                "employee_ids": people}
        full.update(body)
        a = d.post(P + "/planning", full, who="eti")
        assert a.status in (400, 422) and a.error["field"] == field, a
    assert count(d, "production_assignments") == before + 3
    a = d.get(P + "/planning?from=2026-03-02&to=2026-03-08&team=" + team, who="eti")
    assert a.status == 200, a
    b = a.body
    assert b["days"][0] == "2026-03-02" and len(b["days"]) == 7, b
    assert [x["employee_id"] for x in b["people"]] == sorted(people), b
    first = next(x for x in b["people"] if x["employee_id"] == people[0])
    assert first["last_name"] and set(first["days"]) == {"2026-03-02", "2026-03-03"}, first
    cell = first["days"]["2026-03-03"]["afternoon"]
    assert (cell["work_order_id"], cell["site"], cell["hours"]) == (wo, "Quai Nord", 3), cell
    assert d.get(P + "/planning?from=2026-03-02&to=2026-03-08&team=" + team,
                 who="cip").status == 200
    assert d.get(P + "/planning?from=2026-03-02&to=2026-03-08").status == 403  # admin
    a = d.get(P + "/planning?from=2026-03-08&to=2026-03-02", who="eti")
    assert (a.status, a.error["field"]) == (400, "to"), a


# -- attendance --------------------------------------------------------------------


def test_attendance__a_team_day_in_one_request_corrections_journaled(prod):
    d = prod["d"]
    a_, _c = person(prod)
    b_, _c = person(prod)
    day = "2026-03-10"
    before = count(d, "production_attendance")
    bad = {"date": day, "entries": [
        {"employee_id": a_, "slot": "morning", "status": "present", "hours": 3.5},
        {"employee_id": b_, "slot": "morning", "status": "absent", "reason": "holiday"}]}
    a = d.post(P + "/team-attendance", bad, who="eti")
    assert (a.status, a.error["field"]) == (422, "entries[1].reason"), a
    bad["entries"][1] = {"employee_id": b_, "slot": "morning", "status": "absent"}
    a = d.post(P + "/team-attendance", bad, who="eti")
    assert (a.status, a.error["field"]) == (422, "entries[1].reason"), a
    assert count(d, "production_attendance") == before
    good = {"date": day, "entries": [
        {"employee_id": a_, "slot": "morning", "status": "late", "late_minutes": 20,
         "hours": 3},
        {"employee_id": a_, "slot": "afternoon", "status": "present", "hours": 3.5},
        {"employee_id": b_, "slot": "morning", "status": "absent", "reason": "unjustified"}]}
    a = d.post(P + "/team-attendance", good, who="eti")
    assert a.status == 200 and len(a.body["items"]) == 3, a
    # A correction: the same slot again updates the row, and the journal says what changed.
    fix = {"date": day, "entries": [{"employee_id": b_, "slot": "morning", "status": "absent",
                                     "reason": "justified"}]}
    a = d.post(P + "/team-attendance", fix, who="coordinator")
    assert a.status == 200 and a.body["items"][0]["reason"] == "justified", a
    assert count(d, "production_attendance") == before + 3
    rid = a.body["items"][0]["id"]
    events = [(e["type"], e["payload"].get("changed"), e["actor"])
              for e in d.list_all("/v1/events", who="coordinator")
              if e["subject"] == "production.attendance/%d" % rid]
    assert [x[0] for x in events] == ["production.attendance.created",
                                      "production.attendance.updated"], events
    assert events[1][1] == ["reason"], events
    # The sheet again, the absent person now present: what the entry leaves out is cleared.
    a = d.post(P + "/team-attendance", {"date": day, "entries": [
        {"employee_id": b_, "slot": "morning", "status": "present", "hours": 3.5}]}, who="eti")
    assert a.status == 200 and a.body["items"][0]["reason"] is None, a
    assert count(d, "production_attendance") == before + 3
    # A whole day beside a half-day of the same date: refused.
    a = d.post(P + "/team-attendance", {"date": day, "entries": [
        {"employee_id": a_, "slot": "day", "status": "present", "hours": 7}]}, who="eti")
    assert (a.status, a.error["field"]) == (409, "entries[0].slot"), a
    # Hours roll up per day, week and month.
    a = d.get(P + "/employees/%d/hours?from=2026-03-01&to=2026-03-31&by=week" % a_, who="cip")
    assert a.status == 200 and a.body["items"] == [{"period": "2026-03-09", "hours": 6.5}], a
    a = d.get(P + "/employees/%d/hours?from=2026-03-01&to=2026-03-31&by=month" % a_, who="eti")
    assert a.body["items"] == [{"period": "2026-03", "hours": 6.5}] and a.body["total"] == 6.5
    assert d.get(P + "/employees/%d/hours?from=2026-03-01&to=2026-03-31" % a_).status == 403


# -- safety ------------------------------------------------------------------------


def test_incident__medical_detail_the_referent_cips_alone(prod):
    d = prod["d"]
    e, _c = person(prod)
    i = d.create(P + "/incidents", {"structure_id": prod["structure"], "kind": "incident",
                                    "occurred_on": "2026-03-11", "site": "Quai Nord",
                                    "description": "Chute d'une échelle",
                                    "first_aid": "poche de glace", "work_accident": True},
                 who="eti")["id"]
    coll = P + "/employees/%d/incident_people" % e
    a = d.post(coll, {"incident_id": i, "involvement": "witness",
                      "medical_detail": "entorse"}, who="eti")
    assert (a.status, a.error["field"]) == (422, "medical_detail"), a
    r = d.create(coll, {"incident_id": i, "involvement": "hurt"}, who="eti")
    path = P + "/incident_people/%d" % r["id"]
    a = d.patch(path, {"medical_detail": "entorse de la cheville"}, who="eti")
    assert (a.status, a.error["field"]) == (403, "medical_detail"), a
    assert d.patch(path, {"medical_detail": "entorse de la cheville"}, who="cip").status == 200
    assert "medical_detail" not in d.get(path, who="eti").body
    assert "medical_detail" not in d.get(path, who="coordinator").body
    assert d.get(path, who="cip").body["medical_detail"] == "entorse de la cheville"
    # The fact and date are production and safety data: the ETI and coordinator read them.
    got = d.get(P + "/incidents/%d" % i, who="eti").body
    assert (got["occurred_on"], got["work_accident"]) == ("2026-03-11", True), got


def test_policy__every_record_declared(prod):
    r = prod["d"].get("/v1/policy", who="coordinator").body["resources"]
    for name in ("client", "client_contact", "order", "order_line", "work_order", "output",
                 "quality_check", "nonconformity", "supervision", "briefing",
                 "briefing_attendance", "equipment", "incident", "incident_person",
                 "assignment", "attendance"):
        assert r["production." + name]["module"] == "production", name
    assert r["production.incident_person"]["fields"]["medical_detail"] == ["safety", "sensitive"]
    assert r["production.attendance"]["personal"] is True


# -- the monthly hours report ------------------------------------------------------


def test_report__monthly_hours__json_and_csv_agree(prod):
    import csv
    import io

    d = prod["d"]
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    other = {"structure": prod["structure"], "cip": prod["cip"], "eti": prod["eti"], "d": d}
    mine = dict(other, structure=structure)
    a_, _c = person(mine, contract=None)
    b_, _c = person(mine, contract=None)
    stranger, _c = person(other, contract=None)

    def day(date, *entries):
        r = d.post(P + "/team-attendance", {"date": date, "entries": list(entries)}, who="eti")
        assert r.status == 200, r

    day("2026-04-01", {"employee_id": a_, "slot": "morning", "status": "present", "hours": 3.5},
        {"employee_id": a_, "slot": "afternoon", "status": "late", "late_minutes": 20,
         "hours": 3.25},
        {"employee_id": b_, "slot": "day", "status": "absent", "reason": "authorised_leave"},
        {"employee_id": stranger, "slot": "day", "status": "present", "hours": 7})
    day("2026-04-30", {"employee_id": a_, "slot": "morning", "status": "absent",
                       "reason": "unjustified"},
        {"employee_id": a_, "slot": "afternoon", "status": "absent", "reason": "training"},
        {"employee_id": b_, "slot": "day", "status": "present", "hours": 7})
    day("2026-05-01", {"employee_id": a_, "slot": "day", "status": "present", "hours": 7})

    def audited(e):
        return [x for x in d.get("/v1/audit?employee_id=%d" % e, who="coordinator").body["items"]
                if "production_attendance" in str(x)]

    before = audited(a_)
    assert before, "the attendance writes are audited: the filter finds them"
    q = P + "/reports/monthly-hours?structure=%d&month=2026-04" % structure
    j = d.get(q, who="coordinator")
    assert j.status == 200, j
    # The policy does not audit attendance (GET /v1/policy): the report adds no entry.
    assert d.get("/v1/policy").body["categories"]["attendance"]["audited"] is False
    assert audited(a_) == before
    # The ETI reads anyone's attendance: the same people, decided once.
    assert {i["employee_id"] for i in d.get(q, who="eti").body["items"]} == {a_, b_}
    items = {i["employee_id"]: i for i in j.body["items"]}
    assert set(items) == {a_, b_}, j.body
    assert (items[a_]["hours_worked"], items[a_]["hours_paid"], items[a_]["late_minutes"]) == (
        6.75, 10.25, 20), items[a_]
    assert items[a_]["absences"]["unjustified"] == 3.5 and items[a_]["absences"]["training"] == 3.5
    assert (items[b_]["hours_worked"], items[b_]["hours_paid"]) == (7, 14), items[b_]
    assert j.body["totals"]["hours_worked"] == 13.75 and j.body["totals"]["hours_paid"] == 24.25

    c = d.call("GET", q + "&format=csv", who="coordinator")
    assert c.status == 200 and c.headers["Content-Type"].startswith("text/csv"), c
    assert c.raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(c.raw.decode("utf-8-sig"), newline=""),
                               delimiter=";"))
    assert len(rows) == 2
    num = lambda s: float(s.replace(",", "."))  # noqa: E731
    for r in rows:
        i = items[int(r["N° salarié"])]
        assert (r["Nom"], r["Du"], r["Au"]) == (i["last_name"], "01/04/2026", "30/04/2026"), r
        assert num(r["Heures travaillées"]) == i["hours_worked"]
        assert num(r["Heures payées"]) == i["hours_paid"]
        assert num(r["Absences injustifiées (h)"]) == i["absences"]["unjustified"]
        assert num(r["Congés autorisés (h)"]) == i["absences"]["authorised_leave"]
        assert int(r["Retards (min)"]) == i["late_minutes"]
    assert sum(num(r["Heures payées"]) for r in rows) == j.body["totals"]["hours_paid"]
    assert "6,75" in c.raw.decode("utf-8-sig")

    for bad, field in (("structure=x&month=2026-04", "structure"),
                       ("structure=1&month=2026-13", "month"),
                       ("structure=1&month=2026-04&format=xls", "format")):
        a = d.get(P + "/reports/monthly-hours?" + bad, who="coordinator")
        assert (a.status, a.error["field"]) == (400, field), a
    assert d.get(q).status == 403  # the admin reads no attendance


def test_report__monthly_hours__the_structures_people_now(prod):
    """The report reads a structure's people once (structure_people.v1): a
    person moved to another structure leaves the first one's report with their
    month and appears in the other's, under their current name."""
    d = prod["d"]
    base = {"structure": prod["structure"], "cip": prod["cip"], "eti": prod["eti"], "d": d}
    s1 = d.create("/v1/structures", tt.structure_body())["id"]
    s2 = d.create("/v1/structures", tt.structure_body())["id"]
    a_, _c = person(dict(base, structure=s1), contract=None)
    b_, _c = person(dict(base, structure=s1), contract=None)
    r = d.post(P + "/team-attendance", {"date": "2026-07-01", "entries": [
        {"employee_id": e, "slot": "day", "status": "present", "hours": 7} for e in (a_, b_)]},
        who="eti")
    assert r.status == 200, r

    def report(s):
        j = d.get(P + "/reports/monthly-hours?structure=%d&month=2026-07" % s, who="coordinator")
        assert j.status == 200, j
        return {i["employee_id"]: i for i in j.body["items"]}

    assert set(report(s1)) == {a_, b_} and report(s2) == {}
    r = d.patch("/v1/employees/%d" % b_, {"structure_id": s2, "last_name": "Moved"},
                who="coordinator")
    assert r.status == 200, r
    assert set(report(s1)) == {a_}
    moved = report(s2)
    assert set(moved) == {b_} and moved[b_]["last_name"] == "Moved", moved
    assert moved[b_]["hours_worked"] == 7, moved


def test_ctl__production_report__json_csv_and_usage(prod):
    import csv
    import io

    d = prod["d"]
    coord = tt.user_of("coordinator")
    p = tt.ctl("production", "report", "monthly-hours", str(prod["structure"]), "2026-03",
               socket_path=d.socket, user=coord)
    assert p.returncode == 0, p.stderr
    j = __import__("json").loads(p.stdout)
    assert j["month"] == "2026-03" and j["from"] == "2026-03-01" and j["to"] == "2026-03-31"
    p = tt.ctl("production", "report", "monthly-hours", str(prod["structure"]), "2026-03",
               "--csv", socket_path=d.socket, user=coord)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(p.stdout[1:]), delimiter=";"))
    assert rows[0][:3] == ["N° salarié", "Nom", "Prénom"] and len(rows) == len(j["items"]) + 1
    # The admin reads no attendance: refused, exit status 1.
    p = tt.ctl("production", "report", "monthly-hours", str(prod["structure"]), "2026-03",
               socket_path=d.socket)
    assert p.returncode == 1 and "403" in p.stderr, (p.returncode, p.stderr)
    for args in (("report", "monthly-hours", "x1", "2026-03"),
                 ("report", "monthly-hours", "1", "2026-3"),
                 ("report", "weekly", "1", "2026-03"),
                 ("report", "monthly-hours", "1", "2026-03", "--xls")):
        p = tt.ctl("production", *args, socket_path=d.socket)
        assert p.returncode == 64, (args, p.stderr)


# -- output, quality, progress -------------------------------------------------------


def test_output_quality_and_progress(prod):
    d = prod["d"]
    o = d.create(P + "/orders", {"structure_id": prod["structure"], "client_id": prod["client"],
                                 "title": "Tonte", "status": "accepted"}, who="eti")["id"]
    d.create(P + "/orders/%d/lines" % o, {"description": "Tonte", "quantity": 2000, "unit": "m2",
                                          "unit_price_cents": 15}, who="eti")
    wo = d.create(P + "/orders/%d/work_orders" % o, {
        "name": "Tonte parc", "site": "Parc", "start_date": "2026-04-01",
        "end_date": "2026-04-30", "team": "tonte", "planned_hours": 40}, who="eti")["id"]
    path = P + "/work_orders/%d" % wo
    a = d.post(path + "/outputs", {"date": "2026-05-02", "description": "Tonte", "quantity": 10,
                                   "unit": "m2", "hours_spent": 1}, who="eti")
    assert (a.status, a.error["field"]) == (422, "date"), a
    a = d.post(path + "/outputs", {"date": "2026-04-02", "description": "Tonte", "quantity": -1,
                                   "unit": "m2", "hours_spent": 1}, who="eti")
    assert (a.status, a.error["field"]) == (422, "quantity"), a
    for q, h in ((800, 14), (450.5, 7.5)):
        d.create(path + "/outputs", {"date": "2026-04-02", "description": "Tonte", "quantity": q,
                                     "unit": "m2", "hours_spent": h}, who="eti")
    a = d.post(path + "/quality_checks", {"date": "2026-04-03", "result": "to_redo"}, who="eti")
    assert (a.status, a.error["field"]) == (422, "to_redo"), a
    q = d.create(path + "/quality_checks", {"date": "2026-04-03", "result": "to_redo",
                                            "to_redo": "bordures", "client_feedback": "bien"},
                 who="eti")
    assert q["checked_by"] == prod["eti"], q
    n = d.create(path + "/nonconformities", {"found_on": "2026-04-03",
                                             "description": "Bordures non taillées"}, who="eti")
    a = d.patch(P + "/nonconformities/%d" % n["id"], {"closed_on": "2026-04-04"}, who="eti")
    assert (a.status, a.error["field"]) == (422, "corrective_action"), a
    a = d.patch(P + "/nonconformities/%d" % n["id"], {"closed_on": "2026-04-04",
                                                      "corrective_action": "repasse"}, who="eti")
    assert a.status == 200, a
    got = d.get(path, who="cip").body
    assert len(got["outputs"]) == 2 and got["quality_checks"][0]["to_redo"] == "bordures", got
    a = d.get(P + "/orders/%d/progress" % o, who="coordinator")
    assert a.status == 200, a
    assert (a.body["planned_hours"], a.body["hours_spent"], a.body["assigned_hours"]) == (
        40, 21.5, 0), a.body
    assert a.body["quantities"] == [{"unit": "m2", "ordered": 2000, "done": 1250.5}], a.body
    assert d.get(P + "/orders/999999/progress", who="eti").status == 404


def test_report__indicators__json_and_csv(prod):
    import csv
    import io

    d = prod["d"]
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    mine = dict(prod, structure=structure)
    e, _c = person(mine)
    client = d.create(P + "/clients", {"structure_id": structure, "name": "Bailleur",
                                       "kind": "association"}, who="eti")["id"]
    for status in ("quote", "accepted"):
        o = d.create(P + "/orders", {"structure_id": structure, "client_id": client,
                                     "title": "Haies", "status": status}, who="eti")["id"]
    d.create(P + "/orders/%d/work_orders" % o, {
        "name": "Haies", "site": "Cité", "start_date": "2026-03-20", "end_date": "2026-04-01",
        "team": "haies"}, who="eti")
    d.create(P + "/incidents", {"structure_id": structure, "kind": "near_miss",
                                "occurred_on": "2026-04-07", "description": "Glissade"},
             who="eti")
    for day in ("2026-04-06", "2026-04-07", "2026-04-08"):
        assert d.post(P + "/team-attendance", {"date": day, "entries": [
            {"employee_id": e, "slot": "day", "status": "present", "hours": 7}]},
            who="eti").status == 200
    assert d.post(P + "/team-attendance", {"date": "2026-04-09", "entries": [
        {"employee_id": e, "slot": "day", "status": "absent", "reason": "unjustified"}]},
        who="eti").status == 200
    assert d.post(P + "/team-attendance", {"date": "2026-04-10", "entries": [
        {"employee_id": e, "slot": "morning", "status": "absent", "reason": "training"},
        {"employee_id": e, "slot": "afternoon", "status": "present", "hours": 3.5}]},
        who="eti").status == 200
    q = P + "/reports/indicators?structure=%d&from=2026-04-06&to=2026-04-12" % structure
    a = d.get(q, who="coordinator")
    assert a.status == 200, a
    b = a.body
    assert (b["people"], b["hours_worked"], b["hours_contracted"]) == (1, 24.5, 26), b
    assert b["hours_worked_rate"] == 94.23 and b["absenteeism_rate"] == 30, b
    assert b["absences"]["unjustified"] == {"hours": 7, "rate": 20}, b
    assert b["absences"]["training"] == {"hours": 3.5, "rate": 10}, b
    assert b["orders"]["quote"] == 1 and b["orders"]["accepted"] == 1, b
    assert b["work_orders_late"] == 1, b
    assert b["incidents"] == {"incidents": 0, "near_misses": 1, "work_accidents": 0}, b
    c = d.call("GET", q + "&format=csv", who="coordinator")
    assert c.status == 200 and c.raw.startswith(b"\xef\xbb\xbf"), c
    rows = dict(csv.reader(io.StringIO(c.raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows["Du"] == "06/04/2026" and rows["Heures travaillées"] == "24,50", rows
    assert float(rows["Taux d'absentéisme (%)"].replace(",", ".")) == b["absenteeism_rate"]
    assert d.get(q).status == 403
    a = d.get(P + "/reports/indicators?structure=%d&from=2026-04-12&to=2026-04-06" % structure,
              who="coordinator")
    assert (a.status, a.error["field"]) == (400, "to"), a


# -- configuration ---------------------------------------------------------------


def test_conf__commented_section_loads__unknown_setting_refused_naming_it(make_daemon):
    import os

    conf = os.path.join(tt.TOP_SRCDIR, "plugins", "production", "production.conf")
    with open(conf) as f:
        section = f.read()
    d = make_daemon(start=False, plugin_files=["production"])
    tt.openapi_plugins({"production": {}})
    d.write_config(d.config_text(plugins=None) + section)
    d.start()
    p = tt.plugins_of(d)["production"]
    assert (p["state"], p["last_error"]) == ("enabled", None), p
    d.stop()
    d.write_config(d.config_text(plugins=None) +
                   section.replace("-- enabled = true,", "colour = \"red\","))
    p = d.run("-n")
    assert p.returncode == 78 and "colour: unknown setting" in p.stderr, p.stderr
    d.start()
    p = tt.plugins_of(d)["production"]
    assert p["state"] == "disabled_config" and "colour" in p["last_error"], p
    assert d.get("/v1/production/clients", who="eti").status == 404
