"""Crashes and stops under concurrent writes: no acknowledged write is lost.

One daemon, one database, many rounds. In each round a few writers post
structures and staff accounts on their own connections (two kept alive, one
new connection per request) until each has had ROUND_WRITES answers 201 in
this round; then, with the writers still writing, the daemon is killed with
SIGKILL (kill -9 rounds) or asked to stop with SIGTERM (SIGTERM rounds). After
each, with the daemon down, every database file passes PRAGMA integrity_check;
then the daemon starts again on the same files and every write it answered
201, in this round and the ones before, is there as it was answered. A SIGTERM
round must also end with exit code 0.

Rounds end on counts of answers, never on time. `make check` runs
DEFAULT_ROUNDS of each kind; TREMPLIN_CRASH_ROUNDS=N runs N of each (the
longer run of README.md's developer section, for instance 130).
"""

import os
import signal
import sqlite3

import pytest

import tremplin_test as tt

DEFAULT_ROUNDS = 5
ROUNDS = int(os.environ.get("TREMPLIN_CRASH_ROUNDS") or DEFAULT_ROUNDS)
ROUND_WRITES = 10  # answers 201 each writer has had in a round before the signal
WRITERS = (True, True, False)  # keep-alive or not, one writer each




def integrity(d):
    """PRAGMA integrity_check of every SQLite file of the daemon: {file: result}."""
    out = {}
    for name in sorted(os.listdir(d.dir)):
        path = os.path.join(d.dir, name)
        if not os.path.isfile(path) or name.endswith(("-wal", "-shm", "-journal")):
            continue
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                continue
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=60)
        try:
            out[name] = [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
    return out


def write_until_then(d, tag, end):
    """Run the writers until each has ROUND_WRITES answers 201, call end() while
    they still write, then wait for them; returns them."""
    writers = [tt.Writer(d, keep_alive, "%s.%d" % (tag, n)) for n, keep_alive in enumerate(WRITERS)]
    for w in writers:
        w.start()
    try:
        tt.wait_for("%d writes from each writer" % ROUND_WRITES,
                    lambda: all(len(w.acked) >= ROUND_WRITES for w in writers)
                    or any(w.refused or not w.is_alive() for w in writers),
                    timeout=120, interval=0.005)
        for w in writers:
            assert w.is_alive() and not w.refused, (tag, w.refused, len(w.acked))
        end()
    finally:
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(timeout=tt.CALL_TIMEOUT)
    return writers


def check_after(d, acked, round_acked, what):
    """The daemon is down: files sound; then started again: this round's writes
    are there as answered, and every write of the earlier rounds is listed."""
    for name, result in integrity(d).items():
        assert result == ["ok"], (what, name, result)
    d.start()
    for location, body in round_acked:
        a = d.get(location)
        assert a.status == 200 and a.body == body, (what, location, body, a)
    acked += round_acked
    listed = {"/v1/structures/%d" % s["id"] for s in d.list_all("/v1/structures")} | \
        {"/v1/staff/%d" % s["id"] for s in d.list_all("/v1/staff")}
    lost = [loc for loc, _ in acked if loc not in listed]
    assert not lost, (what, lost)


@pytest.fixture(scope="module")
def crash_daemon(module_daemons):
    """One daemon for every round: the files grow from round to round."""
    d = module_daemons()
    d.acked = []
    return d


def test_kill_9_under_writes__integrity_ok_and_every_201_kept(crash_daemon):
    d = crash_daemon
    for r in range(ROUNDS):
        if not d.running:
            d.start()
        writers = write_until_then(d, "k%d" % r, d.kill)
        round_acked = [x for w in writers for x in w.acked]
        assert all(not w.refused for w in writers), [w.refused for w in writers]
        check_after(d, d.acked, round_acked, "kill -9 round %d" % (r + 1))
    print("kill -9: %d rounds, %d writes answered 201, all kept" % (ROUNDS, len(d.acked)))


def test_sigterm_under_writes__exit_0_and_every_201_kept(crash_daemon):
    d = crash_daemon
    for r in range(ROUNDS):
        if not d.running:
            d.start()
        rc = []

        def term():
            d.send_signal(signal.SIGTERM)
            rc.append(d.wait(timeout=tt.STOP_TIMEOUT))

        writers = write_until_then(d, "t%d" % r, term)
        assert rc == [0], "SIGTERM round %d: exit code %r (None: still running)\n%s" % (
            r + 1, rc, d.log())
        # Writes sent during the stop may be refused as the daemon closes; none
        # may fail otherwise.
        for w in writers:
            assert all(a.status == 503 for a in w.refused), w.refused
        round_acked = [x for w in writers for x in w.acked]
        check_after(d, d.acked, round_acked, "SIGTERM round %d" % (r + 1))
    print("SIGTERM: %d rounds, %d writes answered 201 in all, all kept" % (ROUNDS, len(d.acked)))
