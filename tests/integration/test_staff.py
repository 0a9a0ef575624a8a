"""Staff accounts: create, read, list, filter, change, and every refusal writes nothing."""

import re

import pytest

import tremplin_test as tt

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FIELDS = {"id", "name", "unix_user", "role", "email", "active", "created_at", "updated_at"}


def test_create__valid_account__201_location_and_same_object(daemon):
    body = {"name": "Awa Diallo", "unix_user": "awa", "role": "cip",
            "email": "awa@example.org"}
    a = daemon.post("/v1/staff", body)
    assert a.status == 201, a
    assert FIELDS <= set(a.body)
    for k, v in body.items():
        assert a.body[k] == v
    assert a.body["active"] is True
    assert RFC3339_UTC.match(a.body["created_at"]) and RFC3339_UTC.match(a.body["updated_at"])
    assert a.headers["Location"] == "/v1/staff/%d" % a.body["id"]
    g = daemon.get(a.headers["Location"])
    assert g.status == 200, g
    assert g.body == a.body


def test_create__inactive_without_email__stored_so(daemon):
    a = daemon.post("/v1/staff", tt.staff_body(active=False))
    assert a.status == 201, a
    assert a.body["active"] is False and a.body["email"] is None
    assert daemon.get(a.headers["Location"]).body == a.body


@pytest.mark.parametrize("user", ["_svc", "a", "jean-luc", "x" * 32, "u_2-b"])
def test_create__unix_user_edge_forms__accepted(daemon, user):
    a = daemon.post("/v1/staff", tt.staff_body(unix_user=user))
    assert a.status == 201, a


def test_pagination__seven_items_limit_three__three_pages_no_gap_no_duplicate(fresh_daemon):
    d = fresh_daemon
    existing = [s["id"] for s in d.list_all("/v1/staff")]
    made = [d.create("/v1/staff", tt.staff_body())["id"] for _ in range(7 - len(existing))]
    expected = existing + made
    assert len(expected) == 7
    pages, seen, cursor = [], [], None
    for _ in range(10):
        a = d.get("/v1/staff?limit=3" + ("&cursor=" + cursor if cursor else ""))
        assert a.status == 200, a
        pages.append(len(a.body["items"]))
        seen += [s["id"] for s in a.body["items"]]
        cursor = a.body["next_cursor"]
        if cursor is None:
            break
    assert pages == [3, 3, 1]
    assert seen == expected


def test_list__filters_role_and_active__only_matching(fresh_daemon):
    d = fresh_daemon
    for role, active in [("eti", True), ("eti", False), ("cip", False), ("coordinator", True),
                         ("admin", False), ("cip", True), ("eti", True)]:
        d.create("/v1/staff", tt.staff_body(role=role, active=active))
    everyone = d.list_all("/v1/staff")
    for role in ("eti", "cip", "coordinator", "admin"):
        got = d.list_all("/v1/staff", "role=" + role)
        assert got == [s for s in everyone if s["role"] == role]
        assert got, role
    for active in (True, False):
        got = d.list_all("/v1/staff", "active=" + ("true" if active else "false"))
        assert got == [s for s in everyone if s["active"] is active]
        assert got
    got = d.list_all("/v1/staff", "role=eti&active=false")
    assert got == [s for s in everyone if s["role"] == "eti" and not s["active"]]
    assert len(got) == 1


@pytest.mark.parametrize("query,field", [
    ("role=boss", "role"), ("role=ETI", "role"), ("role=", "role"), ("role=none", "role"),
    ("active=yes", "active"), ("active=1", "active"), ("active=True", "active"),
    ("active=", "active"), ("limit=0", "limit"), ("limit=501", "limit"),
    ("cursor=not-a-cursor", "cursor"),
])
def test_list__bad_filter_value__400_field_named(daemon, query, field):
    a = daemon.get("/v1/staff?" + query)
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"
    assert a.error["field"] == field


@pytest.mark.parametrize("query,field", [("kind=ACI", "kind"), ("unix_user=root", "unix_user"),
                                          ("sort=name", "sort")])
def test_list__unknown_query_parameter__400_field_named(daemon, query, field):
    a = daemon.get("/v1/staff?" + query)
    assert a.status == 400, a
    assert a.error["code"] == "bad_request"
    assert a.error["field"] == field


@pytest.mark.parametrize("path", ["/v1/staff/999999", "/v1/staff/abc", "/v1/staff/0",
                                  "/v1/staff/1x", "/v1/staff/"])
def test_get__missing_or_non_numeric_id__404_json(daemon, path):
    a = daemon.get(path)
    assert a.status == 404, a
    assert a.error["code"] == "not_found"


def test_patch__missing_id__404_and_nothing_written(daemon):
    before = daemon.list_all("/v1/staff")
    a = daemon.patch("/v1/staff/999999", {"name": "Fantôme"})
    assert a.status == 404, a
    assert daemon.list_all("/v1/staff") == before


def test_patch__one_field__only_that_field_changes(daemon):
    p = daemon.create("/v1/staff", tt.staff_body(email="avant@example.org"))
    a = daemon.patch("/v1/staff/%d" % p["id"], {"role": "cip"})
    assert a.status == 200, a
    assert {k: v for k, v in a.body.items() if k != "updated_at"} == \
        {k: v for k, v in dict(p, role="cip").items() if k != "updated_at"}
    assert daemon.get("/v1/staff/%d" % p["id"]).body == a.body


def test_patch__null_email__cleared(daemon):
    p = daemon.create("/v1/staff", tt.staff_body(email="efface@example.org"))
    a = daemon.patch("/v1/staff/%d" % p["id"], {"email": None})
    assert a.status == 200, a
    assert a.body["email"] is None
    assert daemon.get("/v1/staff/%d" % p["id"]).body["email"] is None


def test_patch__deactivate_and_reactivate__stored(daemon):
    p = daemon.create("/v1/staff", tt.staff_body())
    a = daemon.patch("/v1/staff/%d" % p["id"], {"active": False})
    assert a.status == 200 and a.body["active"] is False, a
    a = daemon.patch("/v1/staff/%d" % p["id"], {"active": True})
    assert a.status == 200 and a.body["active"] is True, a


BAD_PATCHES = [
    ({"name": None}, 422, "validation_failed", "name"),
    ({"unix_user": None}, 422, "validation_failed", "unix_user"),
    ({"role": None}, 422, "validation_failed", "role"),
    ({"active": None}, 422, "validation_failed", "active"),
    ({"email": "pas-une-adresse"}, 422, "validation_failed", "email"),
    ({"unix_user": "Majuscule"}, 422, "validation_failed", "unix_user"),
    ({"role": "boss"}, 422, "validation_failed", "role"),
    ({"active": "false"}, 422, "validation_failed", "active"),
    ({"active": 0}, 422, "validation_failed", "active"),
    ({"id": 5}, 422, "validation_failed", "id"),
    ({"bootstrap": True}, 422, "validation_failed", "bootstrap"),
    ({"created_at": "2020-01-01T00:00:00Z"}, 422, "validation_failed", "created_at"),
    ({"shoe_size": 42}, 400, "unknown_field", "shoe_size"),
]


@pytest.mark.parametrize("patch,status,code,field", BAD_PATCHES,
                         ids=[str(p[0]) for p in BAD_PATCHES])
def test_patch__bad_input__refused_and_object_unchanged(daemon, patch, status, code, field):
    p = daemon.create("/v1/staff", tt.staff_body(email="garde@example.org"))
    a = daemon.patch("/v1/staff/%d" % p["id"], patch)
    assert a.status == status, a
    assert a.error["code"] == code
    assert a.error["field"] == field
    assert daemon.get("/v1/staff/%d" % p["id"]).body == p


def test_create__duplicate_unix_user__409_field_unix_user_and_nothing_written(daemon):
    p = daemon.create("/v1/staff", tt.staff_body())
    before = daemon.list_all("/v1/staff")
    a = daemon.post("/v1/staff", tt.staff_body(unix_user=p["unix_user"], role="cip"))
    assert a.status == 409, a
    assert a.error["code"] == "conflict"
    assert a.error["field"] == "unix_user"
    assert daemon.list_all("/v1/staff") == before


def test_create__unix_user_of_a_bootstrap_account__409(daemon):
    before = daemon.list_all("/v1/staff")
    a = daemon.post("/v1/staff", tt.staff_body(unix_user="daemon"))
    assert a.status == 409, a
    assert a.error["field"] == "unix_user"
    assert daemon.list_all("/v1/staff") == before


def test_patch__unix_user_of_another__409_and_unchanged(daemon):
    p1 = daemon.create("/v1/staff", tt.staff_body())
    p2 = daemon.create("/v1/staff", tt.staff_body())
    a = daemon.patch("/v1/staff/%d" % p2["id"], {"unix_user": p1["unix_user"]})
    assert a.status == 409, a
    assert a.error["code"] == "conflict"
    assert a.error["field"] == "unix_user"
    assert daemon.get("/v1/staff/%d" % p2["id"]).body == p2


BAD_CREATES = [
    ({"email": "pas-une-adresse"}, 422, "validation_failed", "email"),
    ({"email": "a@b"}, 422, "validation_failed", "email"),
    ({"email": "@example.org"}, 422, "validation_failed", "email"),
    ({"email": "a b@example.org"}, 422, "validation_failed", "email"),
    ({"email": "a@@example.org"}, 422, "validation_failed", "email"),
    ({"email": ""}, 422, "validation_failed", "email"),
    ({"email": 3}, 422, "validation_failed", "email"),
    ({"unix_user": "Alice"}, 422, "validation_failed", "unix_user"),
    ({"unix_user": "1alice"}, 422, "validation_failed", "unix_user"),
    ({"unix_user": "-alice"}, 422, "validation_failed", "unix_user"),
    ({"unix_user": "al ice"}, 422, "validation_failed", "unix_user"),
    ({"unix_user": "al.ice"}, 422, "validation_failed", "unix_user"),
    ({"unix_user": "x" * 33}, 422, "validation_failed", "unix_user"),
    ({"unix_user": ""}, 422, "validation_failed", "unix_user"),
    ({"unix_user": "@daemon"}, 422, "validation_failed", "unix_user"),
    ({"unix_user": 1000}, 422, "validation_failed", "unix_user"),
    ({"role": "boss"}, 422, "validation_failed", "role"),
    ({"role": "Admin"}, 422, "validation_failed", "role"),
    ({"role": "none"}, 422, "validation_failed", "role"),
    ({"role": ""}, 422, "validation_failed", "role"),
    ({"name": ""}, 422, "validation_failed", "name"),
    ({"name": "Fin d'espace "}, 422, "validation_failed", "name"),
    ({"name": "Tab\tulation"}, 422, "validation_failed", "name"),
    ({"name": {"first": "Awa"}}, 422, "validation_failed", "name"),
    ({"active": "yes"}, 422, "validation_failed", "active"),
    ({"active": 1}, 422, "validation_failed", "active"),
    ({"name": "__absent__"}, 422, "validation_failed", "name"),
    ({"unix_user": "__absent__"}, 422, "validation_failed", "unix_user"),
    ({"role": "__absent__"}, 422, "validation_failed", "role"),
    ({"role": None}, 422, "validation_failed", "role"),
    ({"password": "secret"}, 400, "unknown_field", "password"),
    ({"id": 1}, 422, "validation_failed", "id"),
    ({"bootstrap": False}, 422, "validation_failed", "bootstrap"),
    ({"updated_at": "2026-01-01T00:00:00Z"}, 422, "validation_failed", "updated_at"),
]


@pytest.mark.parametrize("change,status,code,field", BAD_CREATES,
                         ids=["%s" % (c,) for c, *_ in BAD_CREATES])
def test_create__bad_input__refused_field_named_and_nothing_written(daemon, change, status,
                                                                      code, field):
    body = {"name": "Refusé", "unix_user": "refuse", "role": "eti", "email": "r@example.org"}
    for k, v in change.items():
        if v == "__absent__":
            del body[k]
        else:
            body[k] = v
    before = daemon.list_all("/v1/staff")
    a = daemon.post("/v1/staff", body)
    assert a.status == status, a
    assert a.error["code"] == code
    assert a.error["field"] == field
    assert a.error["message"]
    assert daemon.list_all("/v1/staff") == before


def test_create__control_body_of_bad_inputs__is_accepted(fresh_daemon):
    """The valid body the refusals start from is itself accepted (so they can fail)."""
    a = fresh_daemon.post("/v1/staff", {"name": "Refusé", "unix_user": "refuse", "role": "eti",
                                        "email": "r@example.org"})
    assert a.status == 201, a
