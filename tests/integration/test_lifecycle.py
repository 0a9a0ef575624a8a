"""Start, stop, restart, signals, a second instance, a stale socket."""

import os
import signal
import socket
import stat
import time

import pytest

import tremplin_test as tt

# The daemon promises to exit within 5 s of SIGTERM/SIGINT, and keeps it with a
# drain deadline of its own; the tests only wait for the exit, long enough that
# a busy or sanitized run (LeakSanitizer works at exit) is never taken for a hang.
SHUTDOWN_GIVE_UP = 30.0


def test_restart__data_kept(make_daemon):
    d = make_daemon()
    s = d.create("/v1/structures", tt.structure_body(annexe_financiere="ACI023201111A0M0"))
    p = d.create("/v1/staff", tt.staff_body(email="garde@example.org"))
    p = d.patch("/v1/staff/%d" % p["id"], {"role": "cip"}).body
    staff = d.list_all("/v1/staff")
    assert d.stop() == 0
    assert not os.path.exists(d.socket), "the socket file outlived a clean stop"
    d.start()
    assert d.get("/v1/structures/%d" % s["id"]).body == s
    assert d.get("/v1/staff/%d" % p["id"]).body == p
    assert d.list_all("/v1/staff") == staff
    assert d.get("/v1/whoami").body["role"] == "admin"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal__idle_daemon__exits_0(make_daemon, sig):
    d = make_daemon()
    assert d.stop(sig, timeout=SHUTDOWN_GIVE_UP) == 0
    assert "received %s" % signal.Signals(sig).name in d.log()


def test_sigterm__idle_and_half_sent_connections_open__exits_0(make_daemon):
    d = make_daemon()
    idle = d.new_client()
    assert idle.get("/v1/health").status == 200  # keep-alive connection left open
    half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    half.connect(d.socket)
    half.sendall(b"POST /v1/structures HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
    try:
        assert d.stop(timeout=SHUTDOWN_GIVE_UP) == 0
    finally:
        idle.close()
        half.close()




def test_sigterm_during_writes__every_acknowledged_write_kept(make_daemon):
    d = make_daemon()
    writers = [tt.Writer(d, keep_alive=True), tt.Writer(d, keep_alive=False)]
    for w in writers:
        w.start()
    deadline = time.monotonic() + 30
    while any(len(w.acked) < 20 for w in writers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(len(w.acked) >= 20 for w in writers), [(w.refused, w.gone) for w in writers]
    d.send_signal(signal.SIGTERM)
    rc = d.wait(timeout=SHUTDOWN_GIVE_UP)
    for w in writers:
        w.stop.set()
        w.join(timeout=20)
        assert not w.is_alive()
    assert rc == 0, "exit code %r (None: still running after %ss)\n%s" % (
        rc, SHUTDOWN_GIVE_UP, d.log())
    for w in writers:
        assert not w.refused, w.refused
    d.start()
    acked = [x for w in writers for x in w.acked]
    for location, obj in acked:
        a = d.get(location)
        assert a.status == 200, (location, a)
        assert a.body == obj
    ids = {loc for loc, _ in acked}
    listed = {"/v1/structures/%d" % s["id"] for s in d.list_all("/v1/structures")} | \
        {"/v1/staff/%d" % s["id"] for s in d.list_all("/v1/staff")}
    assert ids <= listed


def test_second_instance__refused__first_keeps_serving(make_daemon):
    d = make_daemon()
    s = d.create("/v1/structures", tt.structure_body())
    offset = d.log_size()
    proc = d.spawn()  # same configuration, same socket
    try:
        rc = proc.wait(timeout=tt.STOP_TIMEOUT)
    except Exception:
        proc.kill()
        raise
    finally:
        tt._live.discard(proc)
    assert rc != 0
    log = d.log_since(offset)
    refusal = [line for line in log.splitlines() if "another tremplind" in line]
    assert refusal and d.socket in refusal[0], log
    tt.check_sanitizers(log)
    # The first one still owns the socket and answers on it.
    assert os.path.exists(d.socket)
    with d.new_client() as c:
        assert c.get("/v1/health").status == 200
        assert c.get("/v1/structures/%d" % s["id"]).body == s
        assert c.post("/v1/structures", tt.structure_body()).status == 201
    assert d.stop() == 0


def test_stale_socket_after_kill_9__replaced_at_next_start(make_daemon):
    d = make_daemon()
    s = d.create("/v1/structures", tt.structure_body())
    d.kill()
    assert stat.S_ISSOCK(os.stat(d.socket).st_mode), "kill -9 should leave the socket file"
    with pytest.raises(ConnectionRefusedError):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.connect(d.socket)
        finally:
            c.close()
    d.start()
    assert d.get("/v1/structures/%d" % s["id"]).body == s
    assert d.stop() == 0


@pytest.mark.parametrize("mode", ["0666", "0660", "0600"])
def test_socket_mode__as_configured(make_daemon, mode):
    d = make_daemon(socket_mode=mode)
    assert stat.S_IMODE(os.stat(d.socket).st_mode) == int(mode, 8)


def test_socket_mode_0600__other_users_cannot_connect(make_daemon):
    tt.require_root("connecting as another user")
    d = make_daemon(socket_mode="0600")
    with pytest.raises(AssertionError, match="PermissionError"):
        tt.call_as("daemon", d.socket, "GET", "/v1/health")
    assert d.get("/v1/health").status == 200


def test_second_instance__other_configuration__refused_before_touching_the_database(make_daemon):
    d = make_daemon()
    staff = d.list_all("/v1/staff")
    migrations = d.sql("SELECT module, version, applied_at FROM schema_migrations")
    # Same socket and database, but other bootstrap accounts.
    other = d.config_text(staff=[
        {"name": "Intrus", "unix_user": "@daemon", "role": "eti"},
        {"name": "Autre", "unix_user": "games", "role": "admin"},
    ])
    conf = os.path.join(d.dir, "other.conf")
    with open(conf, "w") as f:
        f.write(other)
    proc = d.run("-d", conf=conf)
    assert proc.returncode == 69, proc.stderr
    assert "another tremplind" in proc.stderr and d.socket in proc.stderr
    assert d.list_all("/v1/staff") == staff
    assert d.get("/v1/whoami").body["role"] == "admin"
    assert d.sql("SELECT module, version, applied_at FROM schema_migrations") == migrations


def test_restart__unchanged_bootstrap_accounts__not_rewritten(make_daemon):
    d = make_daemon()
    assert d.stop() == 0
    d.sql("UPDATE staff SET updated_at = '2000-01-01T00:00:00Z' WHERE bootstrap = 1")
    d.start()
    staff = d.list_all("/v1/staff")
    assert staff and all(s["updated_at"] == "2000-01-01T00:00:00Z" for s in staff), staff
    # A real change in the file is applied, and dated.
    assert d.stop() == 0
    d.write_config(staff=[dict(s, name="Nouveau nom") if s["unix_user"] == "daemon" else s
                          for s in tt.BOOTSTRAP_STAFF])
    d.start()
    by_user = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    assert by_user["daemon"]["name"] == "Nouveau nom"
    assert by_user["daemon"]["updated_at"] != "2000-01-01T00:00:00Z"
    assert by_user["bin"]["updated_at"] == "2000-01-01T00:00:00Z"
