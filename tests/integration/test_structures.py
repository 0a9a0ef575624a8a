"""Structures: create, read, list, filter, change, and every refusal writes nothing."""

import re

import pytest

import tremplin_test as tt

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FIELDS = {"id", "name", "siret", "kind", "annexe_financiere", "created_at", "updated_at"}

# La Poste's establishments (SIREN 356000000): the digit sum must be a
# multiple of 5; the Luhn key does not apply, except to the head office.
LA_POSTE_OK_NOT_LUHN = "35600000000001"   # digit sum 15, Luhn fails
LA_POSTE_BAD_BUT_LUHN = "35600000000014"  # Luhn passes, digit sum 19
LA_POSTE_HEAD_OFFICE = "35600000000048"   # Luhn passes, digit sum 26


def count(d):
    return len(d.list_all("/v1/structures"))


def test_create__valid_structure__201_location_and_same_object(daemon):
    body = tt.structure_body(name="Recyclerie du Val", kind="ACI",
                             annexe_financiere="ACI023201111A0M0")
    a = daemon.post("/v1/structures", body)
    assert a.status == 201, a
    assert set(a.body) == FIELDS
    for k, v in body.items():
        assert a.body[k] == v
    assert isinstance(a.body["id"], int) and a.body["id"] > 0
    assert RFC3339_UTC.match(a.body["created_at"]), a.body
    assert RFC3339_UTC.match(a.body["updated_at"]), a.body
    assert a.headers["Location"] == "/v1/structures/%d" % a.body["id"]
    g = daemon.get(a.headers["Location"])
    assert g.status == 200, g
    assert g.body == a.body


def test_create__optional_annexe_absent__stored_as_null(daemon):
    a = daemon.post("/v1/structures", tt.structure_body(kind="EI"))
    assert a.status == 201, a
    assert a.body["annexe_financiere"] is None


@pytest.mark.parametrize("kind,annexe", [
    ("ACI", "ACI02A201111A0M0"), ("AI", "AI075231234A12M3"), ("EI", "EI013240001A0M0"),
    ("ETTI", "ETTI974250042A1M0"), ("EITI", "EITI069260001A0M12"),
])
def test_create__each_kind_with_its_annexe__201(daemon, kind, annexe):
    a = daemon.post("/v1/structures", tt.structure_body(kind=kind, annexe_financiere=annexe))
    assert a.status == 201, a
    assert (a.body["kind"], a.body["annexe_financiere"]) == (kind, annexe)


@pytest.mark.parametrize("siret", [LA_POSTE_OK_NOT_LUHN, LA_POSTE_HEAD_OFFICE])
def test_create__la_poste_establishment__accepted(daemon, siret):
    a = daemon.post("/v1/structures", tt.structure_body(siret=siret))
    assert a.status == 201, a


def test_pagination__seven_items_limit_three__three_pages_no_gap_no_duplicate(fresh_daemon):
    d = fresh_daemon
    made = [d.create("/v1/structures", tt.structure_body())["id"] for _ in range(7)]
    pages, cursor, seen = [], None, []
    for _ in range(10):
        a = d.get("/v1/structures?limit=3" + ("&cursor=" + cursor if cursor else ""))
        assert a.status == 200, a
        assert set(a.body) == {"items", "next_cursor"}
        pages.append(len(a.body["items"]))
        seen += [s["id"] for s in a.body["items"]]
        cursor = a.body["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
    assert pages == [3, 3, 1]
    assert seen == made


@pytest.mark.parametrize("limit,pages", [(7, [7]), (1, [1] * 7), (500, [7])])
def test_pagination__page_sizes__cursor_null_only_at_the_end(fresh_daemon, limit, pages):
    d = fresh_daemon
    made = [d.create("/v1/structures", tt.structure_body())["id"] for _ in range(7)]
    got, seen, cursor = [], [], None
    while True:
        a = d.get("/v1/structures?limit=%d" % limit + ("&cursor=" + cursor if cursor else ""))
        assert a.status == 200, a
        got.append(len(a.body["items"]))
        seen += [s["id"] for s in a.body["items"]]
        cursor = a.body["next_cursor"]
        if cursor is None or len(got) > 10:
            break
    assert got == pages
    assert seen == made


def test_list__default_limit__fifty(fresh_daemon):
    d = fresh_daemon
    for _ in range(51):
        d.create("/v1/structures", tt.structure_body())
    a = d.get("/v1/structures")
    assert len(a.body["items"]) == 50
    assert a.body["next_cursor"] is not None
    b = d.get("/v1/structures?cursor=" + a.body["next_cursor"])
    assert len(b.body["items"]) == 1 and b.body["next_cursor"] is None


def test_list__filter_kind__only_that_kind(fresh_daemon):
    d = fresh_daemon
    kinds = ["ACI", "EI", "ACI", "ETTI", "EI", "AI", "EI"]
    made = [d.create("/v1/structures", tt.structure_body(kind=k)) for k in kinds]
    for kind in ("ACI", "AI", "EI", "ETTI", "EITI"):
        items = d.list_all("/v1/structures", "kind=" + kind)
        assert [s["id"] for s in items] == [s["id"] for s in made if s["kind"] == kind]
    # A filter combines with pagination.
    a = d.get("/v1/structures?kind=EI&limit=2")
    assert [s["kind"] for s in a.body["items"]] == ["EI", "EI"]
    b = d.get("/v1/structures?kind=EI&limit=2&cursor=" + a.body["next_cursor"])
    assert [s["kind"] for s in b.body["items"]] == ["EI"]
    assert b.body["next_cursor"] is None


@pytest.mark.parametrize("query,field", [
    ("kind=XYZ", "kind"), ("kind=aci", "kind"), ("kind=", "kind"),
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=-1", "limit"),
    ("limit=abc", "limit"), ("limit=3x", "limit"), ("limit=", "limit"),
    ("cursor=zzz", "cursor"), ("cursor=AAAAAAAAAAA", "cursor"), ("cursor=", "cursor"),
    ("cursor=AAAAAAAAAA%2B", "cursor"),
])
def test_list__bad_query_value__400_field_named(daemon, query, field):
    a = daemon.get("/v1/structures?" + query)
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"
    assert a.error["field"] == field


@pytest.mark.parametrize("query,field", [("colour=red", "colour"), ("Kind=ACI", "Kind"),
                                          ("role=eti", "role"), ("limit=2&page=2", "page")])
def test_list__unknown_query_parameter__400_field_named(daemon, query, field):
    a = daemon.get("/v1/structures?" + query)
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"
    assert a.error["field"] == field


@pytest.mark.parametrize("path", ["/v1/structures/999999", "/v1/structures/abc",
                                  "/v1/structures/0", "/v1/structures/-1",
                                  "/v1/structures/1.5", "/v1/structures/01",
                                  "/v1/structures/99999999999999999999"])
def test_get__missing_or_non_numeric_id__404_json(daemon, path):
    daemon.create("/v1/structures", tt.structure_body())  # id 1 exists
    a = daemon.get(path)
    assert a.status == 404, a
    assert a.error["code"] == "not_found"


def test_patch__missing_id__404_and_nothing_written(daemon):
    before = daemon.list_all("/v1/structures")
    a = daemon.patch("/v1/structures/999999", {"name": "Fantôme"})
    assert a.status == 404, a
    assert a.error["code"] == "not_found"
    assert daemon.list_all("/v1/structures") == before


def test_patch__one_field__only_that_field_changes(daemon):
    s = daemon.create("/v1/structures", tt.structure_body(annexe_financiere="ACI023201111A0M0"))
    a = daemon.patch("/v1/structures/%d" % s["id"], {"name": "Nouveau nom"})
    assert a.status == 200, a
    expected = dict(s, name="Nouveau nom")
    for k in FIELDS - {"updated_at"}:
        assert a.body[k] == expected[k], k
    assert a.body["updated_at"] >= s["updated_at"]
    assert daemon.get("/v1/structures/%d" % s["id"]).body == a.body


def test_patch__merge_patch_content_type__accepted(daemon):
    s = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.patch("/v1/structures/%d" % s["id"], {"kind": "AI"},
                     content_type="application/merge-patch+json")
    assert a.status == 200, a
    assert a.body["kind"] == "AI"


def test_patch__null_annexe__cleared(daemon):
    s = daemon.create("/v1/structures", tt.structure_body(annexe_financiere="ACI023201111A0M0"))
    a = daemon.patch("/v1/structures/%d" % s["id"], {"annexe_financiere": None})
    assert a.status == 200, a
    assert a.body["annexe_financiere"] is None
    assert daemon.get("/v1/structures/%d" % s["id"]).body["annexe_financiere"] is None


def test_patch__kind_and_annexe_together__both_checked_after_merge(daemon):
    s = daemon.create("/v1/structures", tt.structure_body(annexe_financiere="ACI023201111A0M0"))
    a = daemon.patch("/v1/structures/%d" % s["id"],
                     {"kind": "EI", "annexe_financiere": "EI023201111A0M0"})
    assert a.status == 200, a
    assert (a.body["kind"], a.body["annexe_financiere"]) == ("EI", "EI023201111A0M0")


def test_patch__empty_object__200_unchanged_but_for_updated_at(daemon):
    s = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.patch("/v1/structures/%d" % s["id"], {})
    assert a.status == 200, a
    assert {k: v for k, v in a.body.items() if k != "updated_at"} == \
        {k: v for k, v in s.items() if k != "updated_at"}


BAD_PATCHES = [
    ({"name": None}, 422, "validation_failed", "name"),
    ({"siret": None}, 422, "validation_failed", "siret"),
    ({"kind": None}, 422, "validation_failed", "kind"),
    ({"name": ""}, 422, "validation_failed", "name"),
    ({"siret": "73282932000075"}, 422, "validation_failed", "siret"),
    ({"kind": "SIAE"}, 422, "validation_failed", "kind"),
    # The annexe no longer matches the new kind.
    ({"kind": "AI"}, 422, "validation_failed", "annexe_financiere"),
    ({"annexe_financiere": "EI023201111A0M0"}, 422, "validation_failed", "annexe_financiere"),
    ({"name": 7}, 422, "validation_failed", "name"),
    ({"id": 99}, 422, "validation_failed", "id"),
    ({"created_at": "2020-01-01T00:00:00Z"}, 422, "validation_failed", "created_at"),
    ({"updated_at": "2020-01-01T00:00:00Z"}, 422, "validation_failed", "updated_at"),
    ({"colour": "bleu"}, 400, "unknown_field", "colour"),
    ({"name": "Valide", "colour": "bleu"}, 400, "unknown_field", "colour"),
]


@pytest.mark.parametrize("patch,status,code,field", BAD_PATCHES,
                         ids=[str(p[0]) for p in BAD_PATCHES])
def test_patch__bad_input__refused_and_object_unchanged(daemon, patch, status, code, field):
    s = daemon.create("/v1/structures", tt.structure_body(annexe_financiere="ACI023201111A0M0"))
    a = daemon.patch("/v1/structures/%d" % s["id"], patch)
    assert a.status == status, a
    assert a.error["code"] == code
    assert a.error["field"] == field
    assert a.error["message"]
    assert daemon.get("/v1/structures/%d" % s["id"]).body == s


def test_create__duplicate_siret__409_field_siret_and_nothing_written(daemon):
    s = daemon.create("/v1/structures", tt.structure_body())
    n = count(daemon)
    a = daemon.post("/v1/structures", tt.structure_body(siret=s["siret"], name="Doublon"))
    assert a.status == 409, a
    assert a.error["code"] == "conflict"
    assert a.error["field"] == "siret"
    assert count(daemon) == n
    assert daemon.get("/v1/structures/%d" % s["id"]).body == s


def test_patch__siret_of_another__409_field_siret_and_unchanged(daemon):
    s1 = daemon.create("/v1/structures", tt.structure_body())
    s2 = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.patch("/v1/structures/%d" % s2["id"], {"siret": s1["siret"]})
    assert a.status == 409, a
    assert a.error["code"] == "conflict"
    assert a.error["field"] == "siret"
    assert daemon.get("/v1/structures/%d" % s2["id"]).body == s2


def test_patch__own_siret_again__200(daemon):
    s = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.patch("/v1/structures/%d" % s["id"], {"siret": s["siret"]})
    assert a.status == 200, a


GOOD_SIRET = "73282932000074"

BAD_CREATES = [
    # (changes to a valid body, status, code, field)
    ({"siret": tt.with_wrong_key(GOOD_SIRET)}, 422, "validation_failed", "siret"),
    ({"siret": "7328293200007"}, 422, "validation_failed", "siret"),
    ({"siret": "732829320000741"}, 422, "validation_failed", "siret"),
    ({"siret": "7328293200007A"}, 422, "validation_failed", "siret"),
    ({"siret": "732 829 320 00074"}, 422, "validation_failed", "siret"),
    ({"siret": ""}, 422, "validation_failed", "siret"),
    ({"siret": LA_POSTE_BAD_BUT_LUHN}, 422, "validation_failed", "siret"),
    ({"kind": "SIAE"}, 422, "validation_failed", "kind"),
    ({"kind": "aci"}, 422, "validation_failed", "kind"),
    ({"kind": ""}, 422, "validation_failed", "kind"),
    ({"kind": "AI", "annexe_financiere": "ACI023201111A0M0"}, 422, "validation_failed",
     "annexe_financiere"),
    ({"annexe_financiere": "ACI02320111"}, 422, "validation_failed", "annexe_financiere"),
    ({"annexe_financiere": "ACI023201111"}, 422, "validation_failed", "annexe_financiere"),
    ({"annexe_financiere": "ACIX23201111A0M0"}, 422, "validation_failed", "annexe_financiere"),
    ({"annexe_financiere": "ACI023201111A0M0X"}, 422, "validation_failed", "annexe_financiere"),
    ({"annexe_financiere": ""}, 422, "validation_failed", "annexe_financiere"),
    ({"name": ""}, 422, "validation_failed", "name"),
    ({"name": " Espace en tête"}, 422, "validation_failed", "name"),
    ({"name": "Ligne\ncoupée"}, 422, "validation_failed", "name"),
    ({"name": "x" * 201}, 422, "validation_failed", "name"),
    ({"name": 12}, 422, "validation_failed", "name"),
    ({"name": ["Atelier"]}, 422, "validation_failed", "name"),
    ({"siret": 73282932000074}, 422, "validation_failed", "siret"),
    ({"kind": True}, 422, "validation_failed", "kind"),
    ({"annexe_financiere": 5}, 422, "validation_failed", "annexe_financiere"),
    ({"name": None}, 422, "validation_failed", "name"),
    ({"name": "__absent__"}, 422, "validation_failed", "name"),
    ({"siret": "__absent__"}, 422, "validation_failed", "siret"),
    ({"kind": "__absent__"}, 422, "validation_failed", "kind"),
    ({"colour": "bleu"}, 400, "unknown_field", "colour"),
    ({"Name": "Majuscule"}, 400, "unknown_field", "Name"),
    ({"id": 1}, 422, "validation_failed", "id"),
    ({"created_at": "2026-01-01T00:00:00Z"}, 422, "validation_failed", "created_at"),
]


@pytest.mark.parametrize("change,status,code,field", BAD_CREATES,
                         ids=["%s" % (c,) for c, *_ in BAD_CREATES])
def test_create__bad_input__refused_field_named_and_nothing_written(daemon, change, status,
                                                                      code, field):
    body = {"name": "Refusée " + tt.unique(), "siret": GOOD_SIRET, "kind": "ACI"}
    for k, v in change.items():
        if v == "__absent__":
            del body[k]
        else:
            body[k] = v
    before = daemon.list_all("/v1/structures")
    a = daemon.post("/v1/structures", body)
    assert a.status == status, a
    assert a.error["code"] == code
    assert a.error["field"] == field
    assert a.error["message"]
    assert daemon.list_all("/v1/structures") == before


def test_create__control_body_of_bad_inputs__is_accepted(fresh_daemon):
    """The valid body the refusals start from is itself accepted (so they can fail)."""
    a = fresh_daemon.post("/v1/structures", {"name": "Refusée", "siret": GOOD_SIRET,
                                             "kind": "ACI"})
    assert a.status == 201, a
