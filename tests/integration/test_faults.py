"""Fault injection: a full disk under a running daemon, and a restart on it.

The database and the audit log live on a small tmpfs that the test fills;
the rest of the daemon's directory (socket, configuration, log) stays on the
ordinary disk, so the log says what happened. Needs root (mount); skipped
with the reason otherwise.

I/O errors other than a full disk (EIO) are not injected: that needs a block
device that fails on demand (device-mapper's error target), which this kind
of machine does not have, and a mocked libc would test the mock.
"""

import errno
import os
import signal
import sqlite3
import subprocess
import tempfile
import time

import pytest

import lua_support as ls
import tremplin_test as tt

FILLER_CHUNK = 64 * 1024


def daemon_on(where, **kw):
    """A daemon whose database and audit log live in `where` (the rest does not)."""
    d = tt.Daemon(**kw)
    d.database = os.path.join(where, "tremplin.db")
    d.write_config()
    return d


@pytest.fixture
def small_disk():
    """A 8 MiB tmpfs, unmounted whatever happens."""
    if not tt.IS_ROOT:
        pytest.skip("a full disk is a tmpfs mount: run the suite as root")
    where = tempfile.mkdtemp(prefix="tremplin-fault-")
    os.chmod(where, 0o755)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", where],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(where)
        pytest.skip("cannot mount a tmpfs here: %s" % (r.stderr.strip() or r.returncode))
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", where], capture_output=True)
        os.rmdir(where)


def fill(where):
    """Write a filler file until the file system refuses; returns its path."""
    path = os.path.join(where, "filler")
    chunk = b"\0" * FILLER_CHUNK
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        size = FILLER_CHUNK
        while size > 0:
            try:
                os.write(fd, chunk[:size])
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                size //= 2  # the last pages too, down to the byte
    finally:
        os.close(fd)
    return path


def write_until_refused(d, names, tries=400):
    """POST structures until one is refused; returns the refusal. Earlier ones are 201."""
    for _ in range(tries):
        body = tt.structure_body()
        a = d.post("/v1/structures", body)
        if a.status != 201:
            return a, body
        names.append(body["name"])
    raise AssertionError("%d writes succeeded on a full disk" % tries)


def health(d):
    return d.client.get("/v1/health")


def start_anyway(d):
    """Start and wait until /v1/health answers, whatever it says (degraded is fine)."""
    d.proc = d.spawn()
    deadline = time.monotonic() + tt.START_TIMEOUT
    while True:
        rc = d.proc.poll()
        if rc is not None:
            d._reaped(rc)
            raise AssertionError("tremplind exited with %d while starting:\n%s" % (rc, d.log()))
        try:
            with tt.Client(d.socket, timeout=5) as c:
                if c.get("/v1/health").status in (200, 503):
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "tremplind did not answer:\n%s" % d.log()
        time.sleep(0.05)


def integrity(path):
    con = sqlite3.connect(path, timeout=10)
    try:
        return con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()


def test_full_disk__507_reads_served_health_degraded_restart_and_recovery(small_disk):
    f = daemon_on(small_disk)
    audit = os.path.join(small_disk, "audit.sqlite")
    try:
        f.start()
        names = []
        for _ in range(3):
            body = tt.structure_body()
            f.create("/v1/structures", body)
            names.append(body["name"])
        staff = {s["unix_user"]: s["id"] for s in f.list_all("/v1/staff")}
        person = f.create("/v1/employees", {
            "structure_id": f.create("/v1/structures", tt.structure_body())["id"],
            "first_name": "Nadia", "last_name": "Benali", "birth_date": "1991-04-12",
            "prescriber_kind": "france_travail", "referent_cip_id": staff["bin"],
            "referent_eti_id": staff["sys"]}, who="cip")
        notes = "/v1/employees/%d/notes" % person["id"]
        f.create(notes, {"text": "premier entretien"}, who="cip")
        assert f.get(notes, who="cip").status == 200
        assert health(f).body["status"] == "ok"

        offset = f.log_size()
        filler = fill(small_disk)
        refused, lost = write_until_refused(f, names)

        # The write is refused with the documented error, and nothing of it is kept.
        assert refused.status == 507, refused
        assert refused.error["code"] == "insufficient_storage", refused
        assert "full" in refused.error["message"], refused
        listed = [s["name"] for s in f.list_all("/v1/structures")]
        assert lost["name"] not in listed
        assert set(names) <= set(listed)
        # A read that the audit log must record is refused when it cannot be (fail closed).
        for _ in range(50):
            a = f.get(notes, who="cip")
            if a.status != 200:
                break
        assert a.status == 507 and a.error["code"] == "insufficient_storage", a
        assert "audit log" in a.error["message"], a
        a = f.post(notes, {"text": "jamais écrit"}, who="cip")
        assert a.status == 507 and a.error["code"] == "insufficient_storage", a
        # Logged once per store, not once per refused request.
        log = f.log_since(offset)
        assert log.count("the disk is full") <= 2 and "write failed" not in log, log
        # Reads still work, another refused write changes nothing.
        assert f.post("/v1/structures", tt.structure_body()).status == 507
        assert f.get("/v1/structures/1").status == 200
        h = health(f)
        assert h.status == 503, h
        assert h.body["status"] == "degraded", h
        assert "disk full" in h.body["reason"], h
        assert h.body["database"]["status"] == "full", h

        # A restart on the still full disk, with a configuration that changes an
        # account: the daemon cannot record the change, says so, and serves reads.
        offset = f.log_size()
        assert f.stop() == 0, f.log()
        staff = [dict(s) for s in tt.BOOTSTRAP_STAFF]
        staff[3]["name"] = "Encadrant ETI renommé"
        f.write_config(staff=staff)
        start_anyway(f)
        log = f.log_since(offset)
        assert "bootstrap staff accounts" in log and "disk is full" in log, log
        listed = [s["name"] for s in f.list_all("/v1/structures")]
        assert set(names) <= set(listed) and lost["name"] not in listed
        assert f.get("/v1/whoami").status == 200
        h = health(f)
        assert h.body["status"] == "degraded" and "disk full" in h.body["reason"], h
        assert f.post("/v1/structures", tt.structure_body()).status == 507

        # Space returns: writes succeed again without a restart, health is ok.
        os.unlink(filler)
        body = tt.structure_body()
        f.create("/v1/structures", body)
        h = health(f)
        assert h.status == 200 and h.body["status"] == "ok" and h.body["reason"] is None, h
        assert body["name"] in [s["name"] for s in f.list_all("/v1/structures")]
        # The configuration's change lands at the next reload.
        f.send_signal(signal.SIGHUP)
        tt.wait_for("the renamed account",
                    lambda: "Encadrant ETI renommé" in
                    [s["name"] for s in f.list_all("/v1/staff")])
        assert f.stop() == 0
        assert f.sql("SELECT count(*) FROM structures WHERE name = ?", (lost["name"],)) == [(0,)]
        assert f.sql("SELECT count(*) FROM events WHERE payload LIKE ?",
                     ("%" + lost["name"] + "%",)) == [(0,)]
        assert f.sql("SELECT count(*) FROM notes WHERE text = 'jamais écrit'") == [(0,)]
        assert integrity(f.database) == [("ok",)]
        assert integrity(audit) == [("ok",)]
        f.check_log()
    finally:
        f.cleanup()


def test_full_disk__filled_while_stopped__starts_and_serves_reads(small_disk):
    """A clean stop keeps -wal (emptied) and -shm: the next start needs no space to read."""
    f = daemon_on(small_disk)
    try:
        f.start()
        body = tt.structure_body()
        f.create("/v1/structures", body)
        assert f.stop() == 0
        # Nothing of the old pages stays in the kept WAL.
        assert os.path.getsize(f.database + "-wal") == 0
        filler = fill(small_disk)
        start_anyway(f)
        assert body["name"] in [s["name"] for s in f.list_all("/v1/structures")]
        a = f.post("/v1/structures", tt.structure_body())
        assert a.status == 507 and a.error["code"] == "insufficient_storage", a
        assert health(f).body["database"]["status"] == "full"
        os.unlink(filler)
        f.create("/v1/structures", tt.structure_body())
        assert health(f).status == 200
        assert f.stop() == 0
        assert integrity(f.database) == [("ok",)]
        f.check_log()
    finally:
        f.cleanup()


TICK = """
every(1, function()
  notify{ kind = "tick", recipient_role = "coordinator", message = "tick" }
end, { immediately = true })
"""


def test_full_disk__a_script_whose_writes_fail_is_not_blamed_and_resumes(small_disk):
    """Its notify() cannot be committed: retried, not counted, logged once; then it resumes."""
    f = daemon_on(small_disk)
    try:
        f.lua_dir = os.path.join(f.dir, "lua")
        ls.write_files(f.lua_dir, {"rules/tick.lua": TICK})
        f.settings["extra"].update(script_dir=f.lua_dir, scripts={
            "tick": {"role": "coordinator", "limits": {"max_failures": 2}}})
        f.write_config()
        f.start()
        ticks = lambda: f.sql("SELECT count(*) FROM outbox WHERE kind = 'tick'")[0][0]  # noqa
        tt.wait_for("a first tick", ticks)
        offset = f.log_size()
        filler = fill(small_disk)
        calls = ls.item(f, "tick")["script"]["calls"]
        # Past max_failures runs, each failing for lack of space.
        s = tt.wait_for("runs on the full disk (or the script disabled)",
                        lambda: (lambda p: p if p["script"]["calls"] >= calls + 4
                                 or p["state"] != "enabled" else None)(ls.item(f, "tick")))
        assert s["state"] == "enabled" and s["script"]["failures_in_row"] == 0, s
        assert "disk is full" in s["last_error"], s
        log = f.log_since(offset)
        assert log.count("the disk is full") == 1, log
        assert "script tick" not in log, log
        h = health(f)
        assert h.body["database"]["status"] == "full", h

        os.unlink(filler)
        before = ticks()
        tt.wait_for("a tick once space returns", lambda: ticks() > before)
        assert ls.item(f, "tick")["state"] == "enabled"
        tt.wait_for("health ok", lambda: health(f).status == 200)
        assert f.stop() == 0
        f.check_log()
    finally:
        f.cleanup()
