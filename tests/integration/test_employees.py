"""Employees and their follow-up: behaviour, and every bad input refused with nothing written.

Writes go through the CIP (bin) and the ETI (sys), the roles that make them
in a workshop; what each role may see is test_policy_matrix.py's business.
"""

import json
import os
import sqlite3

import pytest

import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT,
                                reason="calling as other Unix users needs root")

TABLES = ("employees", "welcome_items", "barriers", "observations", "goals", "reviews", "notes",
          "exits", "events")


def snapshot(d):
    """Every row of a person's file, the journal and the audit log: what 'nothing written' means."""
    out = {}
    con = sqlite3.connect(d.database, timeout=10)
    try:
        for t in TABLES:
            out[t] = con.execute("SELECT * FROM %s ORDER BY id" % t).fetchall()
    finally:
        con.close()
    con = sqlite3.connect(os.path.join(d.dir, "audit.sqlite"), timeout=10)
    try:
        out["audit"] = con.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    finally:
        con.close()
    return out


@pytest.fixture(scope="module")
def ctx(daemon):
    staff = {s["unix_user"]: s for s in daemon.list_all("/v1/staff")}
    c = {"cip_id": staff["bin"]["id"], "eti_id": staff["sys"]["id"],
         "coord_id": staff["daemon"]["id"],
         "structure": daemon.create("/v1/structures", tt.structure_body())["id"],
         "other_structure": daemon.create("/v1/structures", tt.structure_body())["id"]}
    # An ETI account that is no longer active, to name as a referent.
    gone = daemon.create("/v1/staff", tt.staff_body(role="eti"))
    assert daemon.patch("/v1/staff/%d" % gone["id"], {"active": False}).status == 200
    c["inactive_eti_id"] = gone["id"]
    return c


def person(ctx, **over):
    b = {"structure_id": ctx["structure"], "first_name": "Nadia", "last_name": "Benali",
         "birth_date": "1991-04-12", "prescriber_kind": "france_travail",
         "referent_cip_id": ctx["cip_id"], "referent_eti_id": ctx["eti_id"]}
    b.update(over)
    return b


def new_employee(d, ctx, **over):
    a = d.post("/v1/employees", person(ctx, **over), who="cip")
    assert a.status == 201, a
    return a.body


def refused(d, method, path, body, status, field, who="cip", code=None):
    """The request is refused with `status`, naming `field`, and nothing at all is written."""
    before = snapshot(d)
    a = d.call(method, path, body, who=who)
    assert a.status == status, (method, path, body, a)
    assert a.error.get("field") == field, (body, a.error)
    if code is not None:
        assert a.error["code"] == code, a.error
    assert snapshot(d) == before, "refused %s %s %r, yet something was written" % (
        method, path, body)
    return a.error


# ---------------------------------------------------------------------------
# Employees


def test_create__valid__201_location_and_same_record(daemon, ctx):
    body = person(ctx, email="nadia.benali@example.org", phone="+33 6 12 34 56 78",
                  address="12 rue des Jardins\u00a023000 Guéret", france_travail_id="1234567A",
                  prescriber_name="Agence de Guéret", team="Espaces verts")
    a = daemon.post("/v1/employees", body, who="cip")
    assert a.status == 201, a
    assert a.headers["Location"] == "/v1/employees/%d" % a.body["id"]
    for k, v in body.items():
        assert a.body[k] == v, k
    assert a.body["status"] == "in_pathway"
    assert a.body["last_contact_at"] == a.body["created_at"]
    assert daemon.get(a.headers["Location"], who="cip").body == a.body


@pytest.mark.parametrize("field,value,status", [
    ("birth_date", "2000-02-30", 422),
    ("birth_date", "1990-13-01", 422),
    ("birth_date", "19900101", 422),
    ("birth_date", "1990-1-5", 422),
    ("birth_date", 19900101, 422),
    ("birth_date", "2020-01-01", 422),  # four years old
    ("birth_date", "1900-01-01", 422),
    ("prescriber_kind", "pole_emploi", 422),
    ("prescriber_kind", "", 422),
    ("structure_id", 999999, 422),
    ("structure_id", "1", 422),
    ("first_name", 12, 422),
    ("first_name", "", 422),
    ("first_name", " Nadia", 422),
    ("first_name", "Na\ndia", 422),
    ("first_name", "x" * 101, 422),
    ("last_name", None, 422),
    ("email", "nadia@", 422),
    ("phone", "06 12", 422),
    ("phone", "06-12-AB-56-78", 422),
    ("france_travail_id", "abc", 422),
    ("referent_cip_id", "bin", 422),
    ("referent_cip_id", 999999, 422),
    ("status", "gone", 422),
    ("status", None, 422),
    ("id", 5, 422),
    ("created_at", "2026-01-01T00:00:00Z", 422),
    ("last_contact_at", "2026-01-01T00:00:00Z", 422),
    ("nir", "190017512345678", 400),
    ("pass_iae", "999990000001", 400),
])
def test_create__bad_field__refused_naming_it_and_nothing_written(daemon, ctx, field, value,
                                                                   status):
    refused(daemon, "POST", "/v1/employees", person(ctx, **{field: value}), status, field,
            code="unknown_field" if status == 400 else "validation_failed")


@pytest.mark.parametrize("field", ["structure_id", "first_name", "last_name", "birth_date",
                                   "prescriber_kind"])
def test_create__required_field_missing__422_naming_it(daemon, ctx, field):
    body = person(ctx)
    del body[field]
    refused(daemon, "POST", "/v1/employees", body, 422, field)


def test_create__referents_of_the_wrong_role_or_inactive__422(daemon, ctx):
    refused(daemon, "POST", "/v1/employees", person(ctx, referent_cip_id=ctx["eti_id"]), 422,
            "referent_cip_id")
    refused(daemon, "POST", "/v1/employees", person(ctx, referent_eti_id=ctx["cip_id"]), 422,
            "referent_eti_id")
    refused(daemon, "POST", "/v1/employees",
            person(ctx, referent_eti_id=ctx["inactive_eti_id"]), 422, "referent_eti_id")


def test_create__eti__403_nothing_written(daemon, ctx):
    refused(daemon, "POST", "/v1/employees", person(ctx), 403, "structure_id", who="eti")


def test_patch__merge_patch__only_given_fields_change_null_clears(daemon, ctx):
    e = new_employee(daemon, ctx, email="a@example.org", phone="0612345678", team="Bois")
    path = "/v1/employees/%d" % e["id"]
    a = daemon.patch(path, {"email": None, "team": "Maraîchage"}, who="cip")
    assert a.status == 200, a
    assert a.body["email"] is None and a.body["team"] == "Maraîchage"
    for k in ("phone", "first_name", "birth_date", "referent_cip_id", "created_at"):
        assert a.body[k] == e[k], k
    assert a.body["updated_at"] >= e["updated_at"]
    # The merge-patch media type is taken too.
    a = daemon.patch(path, {"phone": None}, who="cip",
                     headers={"Content-Type": "application/merge-patch+json"})
    assert a.status == 200 and a.body["phone"] is None, a
    assert daemon.get(path, who="cip").body == a.body
    # An empty patch changes nothing a person wrote.
    b = daemon.patch(path, {}, who="cip")
    assert b.status == 200
    assert {k: v for k, v in b.body.items() if not k.endswith("_at")} == \
        {k: v for k, v in a.body.items() if not k.endswith("_at")}


@pytest.mark.parametrize("field,value,status", [
    ("first_name", None, 422),
    ("birth_date", "2026-02-30", 422),
    ("structure_id", None, 422),
    ("prescriber_kind", "unknown", 422),
    ("referent_eti_id", 999999, 422),
    ("updated_at", "2026-01-01T00:00:00Z", 422),
    ("hobby", "jardin", 400),
])
def test_patch__bad_field__refused_naming_it_and_nothing_written(daemon, ctx, field, value,
                                                                  status):
    e = new_employee(daemon, ctx)
    refused(daemon, "PATCH", "/v1/employees/%d" % e["id"], {field: value}, status, field)


def test_patch__several_fields_one_bad__nothing_written(daemon, ctx):
    e = new_employee(daemon, ctx)
    refused(daemon, "PATCH", "/v1/employees/%d" % e["id"],
            {"team": "Nouveau", "email": "pas-une-adresse"}, 422, "email")


def test_get_patch__unknown_employee__404(daemon, ctx):
    assert daemon.get("/v1/employees/999999", who="cip").status == 404
    refused(daemon, "PATCH", "/v1/employees/999999", {"team": "x"}, 404, None)
    refused(daemon, "POST", "/v1/employees/999999/notes", {"text": "x"}, 404, None)


# ---------------------------------------------------------------------------
# Lists


@pytest.fixture(scope="module")
def listed(daemon, ctx):
    """A structure of its own with employees of two teams, two statuses, two referents."""
    s = daemon.create("/v1/structures", tt.structure_body())["id"]
    out = []
    for i in range(7):
        out.append(new_employee(daemon, ctx, structure_id=s, last_name="Liste%d" % i,
                                team="Bois" if i % 2 else "Espaces verts",
                                status="candidate" if i % 3 == 0 else "in_pathway",
                                referent_eti_id=ctx["eti_id"] if i < 4 else None))
    return s, out


def test_list__filters__each_and_combined(daemon, ctx, listed):
    s, rows = listed
    ids = lambda items: [x["id"] for x in items]  # noqa: E731
    q = "structure_id=%d" % s
    assert ids(daemon.list_all("/v1/employees", q, who="eti")) == ids(rows)
    assert ids(daemon.list_all("/v1/employees", q + "&team=Bois", who="eti")) == \
        [r["id"] for r in rows if r["team"] == "Bois"]
    assert ids(daemon.list_all("/v1/employees", q + "&team=Espaces%20verts&status=candidate",
                               who="cip")) == \
        [r["id"] for r in rows if r["team"] == "Espaces verts" and r["status"] == "candidate"]
    assert ids(daemon.list_all("/v1/employees", q + "&referent_eti_id=%d" % ctx["eti_id"],
                               who="coordinator")) == ids(rows[:4])
    assert ids(daemon.list_all("/v1/employees", q + "&referent_cip_id=%d" % ctx["eti_id"],
                               who="coordinator")) == []
    assert daemon.list_all("/v1/employees", "structure_id=999999", who="cip") == []


def test_list__pagination__every_row_once_in_id_order(daemon, listed):
    s, rows = listed
    seen, cursor = [], None
    for _ in range(10):
        q = "/v1/employees?structure_id=%d&limit=2" % s + ("&cursor=" + cursor if cursor else "")
        a = daemon.get(q, who="cip")
        assert a.status == 200 and len(a.body["items"]) <= 2, a
        seen += a.body["items"]
        cursor = a.body["next_cursor"]
        if cursor is None:
            break
    assert [x["id"] for x in seen] == [r["id"] for r in rows]


@pytest.mark.parametrize("query,field", [
    ("structure_id=abc", "structure_id"), ("structure_id=0", "structure_id"),
    ("referent_cip_id=-1", "referent_cip_id"), ("referent_eti_id=x", "referent_eti_id"),
    ("status=gone", "status"), ("limit=0", "limit"), ("limit=501", "limit"),
    ("cursor=%%%%", None), ("barrier=health", "barrier"), ("name=Nadia", "name"),
])
def test_list__bad_or_unknown_parameter__400(daemon, query, field):
    a = daemon.get("/v1/employees?" + query, who="cip")
    assert a.status == 400, a
    if field is not None:
        assert a.error["field"] == field, a.error


# ---------------------------------------------------------------------------
# Follow-up records

FOLLOW_UP_BAD = [
    # (resource, who writes it, valid body, field, bad value, status)
    ("barriers", "cip", {"category": "housing", "severity": 2}, "category", "alcool", 422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "severity", 5, 422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "severity", 0, 422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "severity", "2", 422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "status", "done", 422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "shared_with_eti", "yes", 422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "detail", "a\n" + "x" * 4000,
     422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "detail", "bip\x07", 422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "employee_id", 1, 422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "created_by", 1, 422),
    ("barriers", "cip", {"category": "housing", "severity": 2}, "cause", "x", 400),
    ("observations", "eti", {"observed_on": "2025-10-01", "kind": "safety", "text": "casque"},
     "observed_on", "2025-02-29", 422),
    ("observations", "eti", {"observed_on": "2025-10-01", "kind": "safety", "text": "casque"},
     "observed_on", "2999-01-01", 422),
    ("observations", "eti", {"observed_on": "2025-10-01", "kind": "safety", "text": "casque"},
     "kind", "mood", 422),
    ("observations", "eti", {"observed_on": "2025-10-01", "kind": "safety", "text": "casque"},
     "text", "", 422),
    ("goals", "cip", {"text": "Permis B"}, "deadline", "2027-02-30", 422),
    ("goals", "cip", {"text": "Permis B"}, "status", "done", 422),
    ("goals", "cip", {"text": "Permis B"}, "text", None, 422),
    ("reviews", "cip", {"kind": "entry", "planned_on": "2025-09-15"}, "kind", "final", 422),
    ("reviews", "cip", {"kind": "entry", "planned_on": "2025-09-15"}, "planned_on", "15/09/2025",
     422),
    ("reviews", "cip", {"kind": "entry", "planned_on": "2025-09-15"}, "held_on", "2999-01-01",
     422),
    ("reviews", "cip", {"kind": "entry", "planned_on": "2025-09-15"}, "participants", "Nadia",
     422),
    ("reviews", "cip", {"kind": "entry", "planned_on": "2025-09-15"}, "participants", [""], 422),
    ("reviews", "cip", {"kind": "entry", "planned_on": "2025-09-15"}, "participants",
     ["p%d" % i for i in range(21)], 422),
    ("notes", "cip", {"text": "Appel"}, "text", "x" * 8001, 422),
    ("notes", "cip", {"text": "Appel"}, "author_id", 1, 422),
    ("exits", "cip", {"exit_date": "2025-11-30", "category": "emploi_durable"}, "category",
     "cdi", 422),
    ("exits", "cip", {"exit_date": "2025-11-30", "category": "emploi_durable"}, "exit_date",
     "2025-11-31", 422),
    ("exits", "cip", {"exit_date": "2025-11-30", "category": "emploi_durable"}, "destination",
     12, 422),
]


@pytest.mark.parametrize("plural,who,body,field,value,status", FOLLOW_UP_BAD,
                         ids=["%s.%s=%r" % (b[0], b[3], b[4])[:60] for b in FOLLOW_UP_BAD])
def test_follow_up__bad_field__refused_naming_it_and_nothing_written(daemon, ctx, plural, who,
                                                                      body, field, value, status):
    e = new_employee(daemon, ctx)
    path = "/v1/employees/%d/%s" % (e["id"], plural)
    refused(daemon, "POST", path, dict(body, **{field: value}), status, field, who=who)
    # The same value as a change of a good record.
    a = daemon.post(path, body, who=who)
    assert a.status == 201, a
    if field not in ("employee_id", "created_by", "author_id"):
        refused(daemon, "PATCH", a.headers["Location"], {field: value}, status, field, who=who)


@pytest.mark.parametrize("plural,who,body,field", [
    ("barriers", "cip", {"severity": 2}, "category"),
    ("barriers", "cip", {"category": "housing"}, "severity"),
    ("observations", "eti", {"kind": "safety", "text": "casque"}, "observed_on"),
    ("goals", "cip", {"deadline": "2027-01-01"}, "text"),
    ("reviews", "cip", {"kind": "entry"}, "planned_on"),
    ("notes", "cip", {}, "text"),
    ("exits", "cip", {"exit_date": "2025-11-30"}, "category"),
])
def test_follow_up__required_field_missing__422(daemon, ctx, plural, who, body, field):
    e = new_employee(daemon, ctx)
    refused(daemon, "POST", "/v1/employees/%d/%s" % (e["id"], plural), body, 422, field, who=who)


def test_follow_up__long_texts_keep_line_breaks(daemon, ctx):
    e = new_employee(daemon, ctx)
    text = "Entretien du 3 mars.\n\tA repris contact avec la Mission locale.\n"
    a = daemon.post("/v1/employees/%d/notes" % e["id"], {"text": text}, who="cip")
    assert a.status == 201 and a.body["text"] == text, a
    a = daemon.post("/v1/employees/%d/notes" % e["id"], {"text": "x" * 8000}, who="cip")
    assert a.status == 201, a


def test_review__participants_replaced_whole_by_a_patch(daemon, ctx):
    e = new_employee(daemon, ctx)
    r = daemon.post("/v1/employees/%d/reviews" % e["id"],
                    {"kind": "entry", "planned_on": "2025-09-15",
                     "participants": ["Nadia", "CIP"]}, who="cip").body
    a = daemon.patch("/v1/reviews/%d" % r["id"], {"participants": ["ETI"],
                                                  "held_on": "2025-09-16"}, who="cip")
    assert a.status == 200 and a.body["participants"] == ["ETI"], a
    assert a.body["held_on"] == "2025-09-16" and a.body["kind"] == "entry"
    a = daemon.patch("/v1/reviews/%d" % r["id"], {"participants": None}, who="cip")
    assert a.status == 200 and a.body["participants"] is None, a


def test_exit__sets_status_exited__second_is_409(daemon, ctx):
    e = new_employee(daemon, ctx)
    a = daemon.post("/v1/employees/%d/exits" % e["id"],
                    {"exit_date": "2025-11-30", "category": "sortie_positive",
                     "destination": "Formation CAP paysagiste"}, who="cip")
    assert a.status == 201, a
    assert daemon.get("/v1/employees/%d" % e["id"], who="eti").body["status"] == "exited"
    listed = daemon.list_all("/v1/employees", "status=exited", who="cip")
    assert e["id"] in [x["id"] for x in listed]
    refused(daemon, "POST", "/v1/employees/%d/exits" % e["id"],
            {"exit_date": "2025-12-01", "category": "autre"}, 409, None, code="conflict")
    b = daemon.patch(a.headers["Location"], {"category": "emploi_durable"}, who="coordinator")
    assert b.status == 200 and b.body["category"] == "emploi_durable", b
    assert daemon.get("/v1/employees/%d" % e["id"], who="cip").body["status"] == "exited"


def test_exit__refused__status_unchanged(daemon, ctx):
    e = new_employee(daemon, ctx)
    refused(daemon, "POST", "/v1/employees/%d/exits" % e["id"],
            {"exit_date": "2025-11-30", "category": "cdi"}, 422, "category")
    assert daemon.get("/v1/employees/%d" % e["id"], who="cip").body["status"] == "in_pathway"


# ---------------------------------------------------------------------------
# Welcome checklist


def test_welcome__checklist_shows_who_and_when(daemon, ctx):
    e = new_employee(daemon, ctx)
    path = "/v1/employees/%d/welcome" % e["id"]
    a = daemon.get(path, who="eti")
    assert a.status == 200
    assert [i["done"] for i in a.body["items"]] == [False] * 6
    assert all(set(i) == {"item", "label", "done"} and i["label"] for i in a.body["items"])
    w = daemon.post(path, {"item": "ppe_issued", "done_on": "2025-09-01",
                           "note": "Chaussures 42, gants"}, who="eti")
    assert w.status == 201, w
    assert w.headers["Location"] == "/v1/welcome_items/%d" % w.body["id"]
    items = {i["item"]: i for i in daemon.get(path, who="cip").body["items"]}
    done = items["ppe_issued"]
    assert done["done"] is True and done["done_on"] == "2025-09-01"
    assert done["done_by"] == ctx["eti_id"] and done["id"] == w.body["id"]
    assert done["note"] == "Chaussures 42, gants" and done["created_at"]
    assert items["booklet"] == {"item": "booklet", "label": items["booklet"]["label"],
                                "done": False}
    # The date may be corrected; the item may not be changed into another.
    a = daemon.patch("/v1/welcome_items/%d" % w.body["id"], {"done_on": "2025-09-02"},
                     who="cip")
    assert a.status == 200 and a.body["done_on"] == "2025-09-02" and a.body["done_by"] == \
        ctx["eti_id"], a
    refused(daemon, "PATCH", "/v1/welcome_items/%d" % w.body["id"], {"item": "booklet"}, 422,
            "item")


@pytest.mark.parametrize("body,field,status", [
    ({"item": "coffee", "done_on": "2025-09-01"}, "item", 422),
    ({"item": "booklet", "done_on": "2999-09-01"}, "done_on", 422),
    ({"item": "booklet", "done_on": "2025-02-30"}, "done_on", 422),
    ({"item": "booklet", "done_on": "2025-09-01", "done_by": 1}, "done_by", 422),
    ({"item": "booklet"}, "done_on", 422),
    ({"item": "booklet", "done_on": "2025-09-01", "by": "moi"}, "by", 400),
])
def test_welcome__bad_item__refused_and_nothing_written(daemon, ctx, body, field, status):
    e = new_employee(daemon, ctx)
    refused(daemon, "POST", "/v1/employees/%d/welcome" % e["id"], body, status, field, who="eti")


def test_welcome__item_done_twice__409(daemon, ctx):
    e = new_employee(daemon, ctx)
    path = "/v1/employees/%d/welcome" % e["id"]
    assert daemon.post(path, {"item": "rules", "done_on": "2025-09-01"}, who="eti").status == 201
    refused(daemon, "POST", path, {"item": "rules", "done_on": "2025-09-02"}, 409, None,
            who="cip", code="conflict")


# ---------------------------------------------------------------------------
# Last contact (retention counts from it)


def age_contact(d, employee_id):
    old = "2020-01-01T00:00:00Z"
    con = sqlite3.connect(d.database, timeout=10)
    try:
        con.execute("UPDATE employees SET last_contact_at = ? WHERE id = ?", (old, employee_id))
        con.commit()
    finally:
        con.close()
    return old


def contact(d, employee_id):
    return d.get("/v1/employees/%d" % employee_id, who="cip").body["last_contact_at"]


@pytest.mark.parametrize("write", ["patch_employee", "note", "barrier", "observation",
                                   "welcome", "patch_note"])
def test_last_contact__every_write_moves_it(daemon, ctx, write):
    e = new_employee(daemon, ctx)["id"]
    note = daemon.post("/v1/employees/%d/notes" % e, {"text": "premier"}, who="cip").body
    old = age_contact(daemon, e)
    assert contact(daemon, e) == old
    # Reads do not count as contact.
    for path in ("/v1/employees/%d" % e, "/v1/employees/%d/notes" % e,
                 "/v1/employees/%d/welcome" % e):
        assert daemon.get(path, who="cip").status == 200
    assert contact(daemon, e) == old
    # Refused writes do not either.
    assert daemon.post("/v1/employees/%d/notes" % e, {"text": ""}, who="cip").status == 422
    assert contact(daemon, e) == old
    a = {
        "patch_employee": lambda: daemon.patch("/v1/employees/%d" % e, {"team": "Bois"},
                                               who="cip"),
        "note": lambda: daemon.post("/v1/employees/%d/notes" % e, {"text": "appel"}, who="cip"),
        "barrier": lambda: daemon.post("/v1/employees/%d/barriers" % e,
                                       {"category": "digital", "severity": 1}, who="cip"),
        "observation": lambda: daemon.post("/v1/employees/%d/observations" % e,
                                           {"observed_on": "2025-10-01", "kind": "teamwork",
                                            "text": "aide un collègue"}, who="eti"),
        "welcome": lambda: daemon.post("/v1/employees/%d/welcome" % e,
                                       {"item": "booklet", "done_on": "2025-09-01"}, who="eti"),
        "patch_note": lambda: daemon.patch("/v1/notes/%d" % note["id"], {"text": "corrigé"},
                                           who="cip"),
    }[write]()
    assert a.status in (200, 201), a
    now = contact(daemon, e)
    assert now > old and now >= note["created_at"], (old, now)


# ---- reopening the file of a person who exited ---------------------------------


def test_exited__back_in_pathway__only_with_a_reason_kept_and_journaled(daemon, ctx):
    e = new_employee(daemon, ctx, referent_cip_id=ctx["cip_id"])
    a = daemon.post("/v1/employees/%d/exits" % e["id"],
                    {"exit_date": "2025-11-30", "category": "emploi_durable"}, who="cip")
    assert a.status == 201, a
    path = "/v1/employees/%d" % e["id"]
    assert daemon.get(path, who="cip").body["status"] == "exited"
    last = daemon.sql("SELECT max(id) FROM events")[0][0]
    # A bare change of status: refused by name, nothing written.
    refused(daemon, "PATCH", path, {"status": "in_pathway"}, 422, "status_reason")
    assert daemon.get(path, who="cip").body["status"] == "exited"
    assert daemon.sql("SELECT count(*) FROM events WHERE id > ?", (last,)) == [(0,)]
    why = "Rupture de la période d'essai chez l'employeur : retour à l'atelier"
    b = daemon.patch(path, {"status": "in_pathway", "status_reason": why}, who="cip")
    assert b.status == 200, b
    assert (b.body["status"], b.body["status_reason"]) == ("in_pathway", why)
    ev = daemon.sql("SELECT type, payload FROM events WHERE id > ?", (last,))
    assert [t for t, _ in ev] == ["employee.updated"], ev
    assert sorted(json.loads(ev[0][1])["changed"]) == ["status", "status_reason"]
    assert why not in ev[0][1]
    # The ETI sees the person back in the pathway, not why.
    seen = daemon.get(path, who="eti").body
    assert seen["status"] == "in_pathway" and "status_reason" not in seen, seen
    # Exited again (the exit's own record), then back again: a new reason each time.
    assert daemon.patch("/v1/exits/%d" % a.body["id"], {"exit_date": "2026-01-30"},
                        who="cip").status == 200
    assert daemon.get(path, who="cip").body["status"] == "exited"
    refused(daemon, "PATCH", path, {"status": "in_pathway", "status_reason": why}, 422,
            "status_reason")


def test_status_reason__written_only_when_a_file_is_reopened(daemon, ctx):
    # Nothing was reopened: no reason to give, on a new file nor on a running one.
    refused(daemon, "POST", "/v1/employees",
            person(ctx, status_reason="Retour après rupture"), 422, "status_reason")
    e = new_employee(daemon, ctx, referent_cip_id=ctx["cip_id"])
    path = "/v1/employees/%d" % e["id"]
    err = refused(daemon, "PATCH", path, {"status_reason": "Retour"}, 422, "status_reason")
    assert "reopen" in err["message"], err
    # Reopened with a reason: the reason stays as it was written, not rewritten later.
    a = daemon.post("/v1/employees/%d/exits" % e["id"],
                    {"exit_date": "2025-11-30", "category": "emploi_transition"}, who="cip")
    assert a.status == 201, a
    why = "Fin anticipée du CDD chez l'employeur : reprise du parcours"
    b = daemon.patch(path, {"status": "in_pathway", "status_reason": why}, who="cip")
    assert b.status == 200, b
    refused(daemon, "PATCH", path, {"status_reason": "autre chose"}, 422, "status_reason")
    refused(daemon, "PATCH", path, {"status_reason": None}, 422, "status_reason")
    assert daemon.get(path, who="cip").body["status_reason"] == why
    # Naming it as it stands changes nothing and is answered.
    c = daemon.patch(path, {"status_reason": why, "team": "Maraîchage"}, who="cip")
    assert c.status == 200 and c.body["status_reason"] == why, c


def test_status_exited__only_through_the_exit_record__422_status(daemon, ctx):
    # An exit without its date and category would be missing from what the ASP
    # and the funders are told: the status follows the exit record, never alone.
    err = refused(daemon, "POST", "/v1/employees", person(ctx, status="exited"), 422,
                  "status")
    assert "/exits" in err["message"], err
    e = new_employee(daemon, ctx, referent_cip_id=ctx["cip_id"])
    path = "/v1/employees/%d" % e["id"]
    err = refused(daemon, "PATCH", path, {"status": "exited"}, 422, "status")
    assert "/v1/employees/%d/exits" % e["id"] in err["message"], err
    assert daemon.get(path, who="cip").body["status"] == "in_pathway"
    # Once reopened, the person exits again by their exit record, changed.
    a = daemon.post("/v1/employees/%d/exits" % e["id"],
                    {"exit_date": "2025-11-30", "category": "autre"}, who="cip")
    assert a.status == 201, a
    assert daemon.patch(path, {"status": "in_pathway", "status_reason": "Revenu"},
                        who="cip").status == 200
    err = refused(daemon, "PATCH", path, {"status": "exited"}, 422, "status")
    assert "/v1/exits/%d" % a.body["id"] in err["message"], err
    b = daemon.patch("/v1/exits/%d" % a.body["id"],
                     {"exit_date": "2026-01-30", "category": "emploi_durable"}, who="cip")
    assert b.status == 200, b
    assert daemon.get(path, who="cip").body["status"] == "exited"


def test_exit__of_a_reopened_file__changed_only_as_a_new_exit__status_untouched(daemon, ctx):
    e = new_employee(daemon, ctx, referent_cip_id=ctx["cip_id"])
    path = "/v1/employees/%d" % e["id"]
    a = daemon.post("/v1/employees/%d/exits" % e["id"],
                    {"exit_date": "2025-11-30", "category": "emploi_transition"}, who="cip")
    assert a.status == 201, a
    exit_path = "/v1/exits/%d" % a.body["id"]
    # While exited, the exit in force is corrected freely.
    b = daemon.patch(exit_path, {"destination": "CDD 3 mois, Espaces verts"}, who="cip")
    assert b.status == 200, b
    assert daemon.patch(path, {"status": "in_pathway", "status_reason": "CDD rompu"},
                        who="cip").status == 200
    # Back in the pathway: touching the old exit would close the file again, silently.
    err = refused(daemon, "PATCH", exit_path, {"category": "autre"}, 422, "exit_date")
    assert "2025-11-30" in err["message"], err
    refused(daemon, "PATCH", exit_path, {"exit_date": "2025-11-29"}, 422, "exit_date")
    assert daemon.get(path, who="cip").body["status"] == "in_pathway"
    # A later date is the person's new exit: the file closes.
    c = daemon.patch(exit_path, {"exit_date": "2026-02-27", "category": "emploi_durable"},
                     who="cip")
    assert c.status == 200, c
    assert daemon.get(path, who="cip").body["status"] == "exited"
