"""Who may do what, with callers that are real Unix users of the machine.

root (the daemon's own user) is admin, daemon is coordinator, bin is cip, sys is
eti, all bootstrap accounts from the configuration; further accounts are made
through the API for other existing system users (games, man, lp, ...).
"""

import pytest

import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT,
                                reason="calling as other Unix users needs root")


@pytest.fixture(scope="module")
def seeded(daemon):
    """A structure and a plain (non-bootstrap) eti account to read and change."""
    s = daemon.create("/v1/structures", tt.structure_body(name="Jardin partagé"))
    p = daemon.create("/v1/staff", tt.staff_body(name="Agent de base"))
    return {"structure": s, "staff": p}


def snapshot(d):
    return d.list_all("/v1/structures"), d.list_all("/v1/staff")


@pytest.mark.parametrize("role", ["eti", "cip"])
def test_reader_roles__read_structures_and_staff__allowed(daemon, seeded, role):
    s, p = seeded["structure"], seeded["staff"]
    for path, expected in [
        ("/v1/structures/%d" % s["id"], s),
        ("/v1/staff/%d" % p["id"], p),
    ]:
        a = daemon.get(path, who=role)
        assert a.status == 200, a
        assert a.body == expected
    for path in ("/v1/structures", "/v1/staff", "/v1/staff?role=eti", "/v1/structures?kind=ACI"):
        a = daemon.get(path, who=role)
        assert a.status == 200, a
        assert a.body["items"], path


WRITES = [
    ("POST", "/v1/structures", "structure"),
    ("PATCH", "/v1/structures/{structure}", {"name": "Renommé par erreur"}),
    ("POST", "/v1/staff", "staff"),
    ("PATCH", "/v1/staff/{staff}", {"role": "cip"}),
    # Refused at the route, before the body is looked at: no hint of what it would take.
    ("POST", "/v1/structures", {"colour": "bleu"}),
    ("PATCH", "/v1/staff/{staff}", {"shoe_size": 42}),
]


@pytest.mark.parametrize("role", ["eti", "cip"])
@pytest.mark.parametrize("method,path,body", WRITES, ids=[w[0] + " " + w[1] for w in WRITES])
def test_reader_roles__write__403_and_nothing_written(daemon, seeded, role, method, path, body):
    path = path.format(structure=seeded["structure"]["id"], staff=seeded["staff"]["id"])
    body = {"structure": tt.structure_body(), "staff": tt.staff_body()}.get(body, body) \
        if isinstance(body, str) else body
    before = snapshot(daemon)
    a = daemon.call(method, path, body, who=role)
    assert a.status == 403, a
    assert a.error["code"] == "forbidden"
    assert role in a.error["message"]
    assert snapshot(daemon) == before


def test_coordinator__creates_structures_and_non_admin_staff(daemon):
    a = daemon.post("/v1/structures", tt.structure_body(), who="coordinator")
    assert a.status == 201, a
    assert daemon.get(a.headers["Location"]).body == a.body
    for role in ("eti", "cip", "coordinator"):
        a = daemon.post("/v1/staff", tt.staff_body(role=role), who="coordinator")
        assert a.status == 201, a
        assert a.body["role"] == role
        assert daemon.get(a.headers["Location"]).body == a.body


def test_coordinator__updates_structures_and_non_admin_staff(daemon, seeded):
    s = daemon.create("/v1/structures", tt.structure_body())
    a = daemon.patch("/v1/structures/%d" % s["id"], {"kind": "EI"}, who="coordinator")
    assert a.status == 200, a
    assert a.body["kind"] == "EI"
    p = daemon.create("/v1/staff", tt.staff_body(role="eti"))
    a = daemon.patch("/v1/staff/%d" % p["id"], {"role": "cip", "active": False},
                     who="coordinator")
    assert a.status == 200, a
    assert (a.body["role"], a.body["active"]) == ("cip", False)


def test_coordinator__create_admin__403_field_role_and_nothing_written(daemon):
    body = tt.staff_body(role="admin")
    before = snapshot(daemon)
    a = daemon.post("/v1/staff", body, who="coordinator")
    assert a.status == 403, a
    assert a.error["code"] == "forbidden"
    assert a.error["field"] == "role"
    assert snapshot(daemon) == before
    # The same body is fine for an admin: the refusal is about the caller.
    assert daemon.post("/v1/staff", body).status == 201


def test_coordinator__promote_to_admin__403_field_role_and_unchanged(daemon):
    p = daemon.create("/v1/staff", tt.staff_body(role="cip"))
    a = daemon.patch("/v1/staff/%d" % p["id"], {"role": "admin"}, who="coordinator")
    assert a.status == 403, a
    assert a.error["field"] == "role"
    assert daemon.get("/v1/staff/%d" % p["id"]).body == p
    a = daemon.patch("/v1/staff/%d" % p["id"], {"role": "admin"})
    assert a.status == 200 and a.body["role"] == "admin", a


@pytest.mark.parametrize("patch", [
    {"name": "Renommée par la coordination"},
    {"role": "eti"},
    {"active": False},
    {"email": "autre@example.org"},
])
def test_coordinator__change_admin_account__403_field_role_and_unchanged(daemon, patch):
    p = daemon.create("/v1/staff", tt.staff_body(role="admin"))
    a = daemon.patch("/v1/staff/%d" % p["id"], patch, who="coordinator")
    assert a.status == 403, a
    assert a.error["code"] == "forbidden"
    assert a.error["field"] == "role"
    assert daemon.get("/v1/staff/%d" % p["id"]).body == p


@pytest.fixture
def own_account(daemon):
    """A non-bootstrap account for a spare system user; yields (user, account)."""
    made = []

    def make(user, role):
        a = daemon.post("/v1/staff", {"name": "Compte " + user, "unix_user": user, "role": role})
        assert a.status == 201, a
        made.append(a.body)
        return a.body

    yield make
    for p in made:  # leave the spare users without an active account
        daemon.patch("/v1/staff/%d" % p["id"], {"active": False})


@pytest.mark.parametrize("user,role,patch,field", [
    ("games", "coordinator", {"role": "eti"}, "role"),
    ("proxy", "coordinator", {"role": "cip", "name": "Et un nouveau nom"}, "role"),
    ("man", "coordinator", {"active": False}, "active"),
    ("lp", "admin", {"role": "coordinator"}, "role"),
    ("mail", "admin", {"active": False}, "active"),
])
def test_self__change_own_role_or_deactivate__422_and_unchanged(daemon, own_account, user,
                                                                  role, patch, field):
    me = own_account(user, role)
    assert daemon.get("/v1/whoami", who=user).body["id"] == me["id"]
    a = daemon.patch("/v1/staff/%d" % me["id"], patch, who=user)
    assert a.status == 422, a
    assert a.error["code"] == "validation_failed"
    assert a.error["field"] == field
    assert daemon.get("/v1/staff/%d" % me["id"]).body == me
    # What is refused is the change of oneself, not the change itself.
    a = daemon.patch("/v1/staff/%d" % me["id"], {"name": "Nouveau nom"}, who=user)
    assert a.status == 200 and a.body["name"] == "Nouveau nom", a


@pytest.mark.parametrize("target", ["admin", "coordinator", "cip", "eti"])
@pytest.mark.parametrize("patch", [{"name": "Changé par l'API"}, {"active": False},
                                   {"email": "x@example.org"}])
def test_bootstrap_account__patch__409_and_unchanged(daemon, target, patch):
    user = tt.ROLE_USERS[target]
    p = next(s for s in daemon.list_all("/v1/staff") if s["unix_user"] == user)
    assert p["bootstrap"] is True
    a = daemon.patch("/v1/staff/%d" % p["id"], patch)
    assert a.status == 409, a
    assert a.error["code"] == "conflict"
    assert "configuration" in a.error["message"]
    assert daemon.get("/v1/staff/%d" % p["id"]).body == p
    assert daemon.get("/v1/whoami", who=target).status == 200


def test_deactivated_account__next_request__403_at_once(daemon, own_account):
    me = own_account("news", "eti")
    assert daemon.get("/v1/whoami", who="news").status == 200  # now in the identity cache
    assert daemon.get("/v1/structures", who="news").status == 200
    a = daemon.patch("/v1/staff/%d" % me["id"], {"active": False})
    assert a.status == 200 and a.body["active"] is False, a
    for path in ("/v1/whoami", "/v1/structures", "/v1/health"):
        a = daemon.get(path, who="news")
        assert a.status == 403, (path, a)
        assert a.error["code"] == "forbidden"
    a = daemon.patch("/v1/staff/%d" % me["id"], {"active": True})
    assert a.status == 200, a
    assert daemon.get("/v1/whoami", who="news").status == 200


def test_role_change__next_request__new_role_at_once(daemon, own_account):
    me = own_account("uucp", "coordinator")
    assert daemon.post("/v1/structures", tt.structure_body(), who="uucp").status == 201
    assert daemon.patch("/v1/staff/%d" % me["id"], {"role": "eti"}).status == 200
    assert daemon.get("/v1/whoami", who="uucp").body["role"] == "eti"
    a = daemon.post("/v1/structures", tt.structure_body(), who="uucp")
    assert a.status == 403, a


def test_backup__admin__passes_the_role_check__409_without_a_recipient(daemon):
    # The admin may ask; no backup_recipient is configured here (test_backup.py has them).
    a = daemon.get("/v1/backup")
    assert a.status == 409, a
    assert a.error["code"] == "conflict" and "backup_recipient" in a.error["message"]


@pytest.mark.parametrize("role", ["coordinator", "cip", "eti"])
def test_backup__other_roles__403(daemon, role):
    a = daemon.get("/v1/backup", who=role)
    assert a.status == 403, a
    assert a.error["code"] == "forbidden"
