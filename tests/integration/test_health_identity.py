"""Health, identity (whoami) and the unknown caller, on a live daemon."""

import os
import pwd
import re

import pytest

import tremplin_test as tt


def package_version():
    with open(os.path.join(tt.TOP_SRCDIR, "configure.ac")) as f:
        m = re.search(r"AC_INIT\(\[tremplin\],\s*\[([^\]]+)\]", f.read())
    assert m, "no version in configure.ac"
    return m.group(1)


def test_health__running_daemon__reports_ok_version_uptime_and_database(daemon):
    a = daemon.get("/v1/health")
    assert a.status == 200, a
    assert a.headers["Content-Type"].startswith("application/json")
    assert a.body["status"] == "ok"
    assert a.body["version"] == package_version()
    assert isinstance(a.body["uptime_seconds"], int) and a.body["uptime_seconds"] >= 0
    assert a.body["database"] == {"status": "ok"}


def test_keep_alive__several_requests__one_connection(daemon):
    with daemon.new_client() as c:
        assert c.get("/v1/health").status == 200
        sock = c.conn.sock
        assert sock is not None, "the daemon closed a keep-alive connection"
        for path in ("/v1/whoami", "/v1/structures", "/v1/staff", "/v1/health"):
            assert c.get(path).status == 200
        assert c.conn.sock is sock, "the daemon did not keep the connection open"


def test_whoami__daemon_user__is_the_bootstrap_admin(daemon):
    a = daemon.get("/v1/whoami")
    assert a.status == 200, a
    assert a.body["role"] == "admin"
    assert a.body["unix_user"] == tt.SELF_USER
    assert a.body["uid"] == os.geteuid()
    assert a.body["name"] == "Opératrice"
    staff = {s["unix_user"]: s for s in daemon.list_all("/v1/staff")}
    assert a.body["id"] == staff[tt.SELF_USER]["id"]


@pytest.mark.parametrize("role", ["coordinator", "cip", "eti"])
def test_whoami__each_role__names_account_uid_and_role(daemon, role):
    user = tt.ROLE_USERS[role]
    tt.needs_root(user)
    a = daemon.get("/v1/whoami", who=role)
    assert a.status == 200, a
    expected = next(s for s in tt.BOOTSTRAP_STAFF if s["unix_user"] == user)
    assert a.body["role"] == role
    assert a.body["unix_user"] == user
    assert a.body["uid"] == pwd.getpwnam(user).pw_uid
    assert a.body["name"] == expected["name"]
    staff = {s["unix_user"]: s for s in daemon.list_all("/v1/staff")}
    assert a.body["id"] == staff[user]["id"]


ENDPOINTS = [
    ("GET", "/v1/health", None),
    ("GET", "/v1/whoami", None),
    ("GET", "/v1/backup", None),
    ("GET", "/v1/structures", None),
    ("POST", "/v1/structures", "structure"),
    ("GET", "/v1/structures/1", None),
    ("PATCH", "/v1/structures/1", {"name": "Pris par un inconnu"}),
    ("GET", "/v1/staff", None),
    ("POST", "/v1/staff", "staff"),
    ("GET", "/v1/staff/1", None),
    ("PATCH", "/v1/staff/1", {"name": "Pris par un inconnu"}),
    ("GET", "/v1/no-such-thing", None),
    ("DELETE", "/v1/structures", None),
]


@pytest.mark.parametrize("method,path,body", ENDPOINTS,
                         ids=["%s %s" % (m, p) for m, p, _ in ENDPOINTS])
def test_unknown_caller__any_endpoint__403_json_and_nothing_written(daemon, method, path, body):
    tt.needs_root(tt.UNKNOWN_USER)
    if not daemon.list_all("/v1/structures"):
        daemon.create("/v1/structures", tt.structure_body())
    before = (daemon.list_all("/v1/structures"), daemon.list_all("/v1/staff"))
    if body == "structure":
        body = tt.structure_body()
    elif body == "staff":
        body = tt.staff_body()
    a = daemon.call(method, path, body, who="unknown")
    assert a.status == 403, a
    assert a.headers["Content-Type"].startswith("application/json")
    assert a.error["code"] == "forbidden"
    assert "unknown caller" in a.error["message"]
    assert str(pwd.getpwnam(tt.UNKNOWN_USER).pw_uid) in a.error["message"]
    assert (daemon.list_all("/v1/structures"), daemon.list_all("/v1/staff")) == before
