"""The escape and exhaustion suite: hostile site scripts against a real daemon.

Every hostile script of hostile_scripts.HOSTILE runs in one daemon, each in
its own sandbox, with max_failures = 1 and the limit it tests at its default
(8 MiB, 1e6 instructions or 50 ms per call) while the other limits have room,
so that no other limit can end it first on a slow or busy machine. Each
attacks from an event handler: creating one structure sets them all off, one
after the other, while a second connection keeps asking GET /v1/health. Each
must end contained (its script disabled with the reason, or its call failed)
and health must keep being answered while they run. How long those answers
take is a benchmark's business (bench/run-sandbox.sh), not a test's: the test
prints the worst latency and asserts none.

The issue's example of pathological matching,
string.find(string.rep("a", 1e5) .. "b", ".-.-.-.-.-.-b"), finds its match at
once (the lazy items stop at the first b); the suite runs the variant without
the b, which would backtrack for ages, and the issue's own form as a script
that must simply succeed.
"""

import os
import re
import threading
import time

import pytest

import hostile_scripts as hs
import lua_support as ls
import tremplin_test as tt

HOSTILE = hs.HOSTILE


class DisabledCount:
    """How many hostile scripts the daemon's log says it has disabled so far.

    The daemon logs "script NAME: disabled..." when it disables one, before
    it serves anything else; reading its log file costs the daemon nothing.
    """

    PATTERN = re.compile(r"script (\w+): disabled")

    def __init__(self, d):
        self.d, self.offset, self.names = d, 0, set()

    def __call__(self):
        text = self.d.log().encode()[self.offset:]
        end = text.rfind(b"\n") + 1  # whole lines only
        for m in self.PATTERN.finditer(text[:end].decode("utf-8", "replace")):
            if m.group(1) in HOSTILE:
                self.names.add(m.group(1))
        self.offset += end
        return len(self.names)


@pytest.fixture(scope="module")
def attacked(module_daemons):
    """The daemon after the attack, with what a poller saw during it.

    A second connection keeps asking GET /v1/health; each answer is recorded
    with how many hostile scripts the log showed disabled just before it was
    asked and just after it came.
    """
    files = hs.attack_files()
    scripts = {}
    for name in HOSTILE:
        scripts[name] = hs.section(name, max_failures=1)
    # A well-behaved script beside them, that must keep working, and the
    # issue's own example: a lazy match that succeeds at once.
    scripts["bystander"] = {"role": "coordinator"}
    scripts["pattern_issue_example"] = {"role": "coordinator"}
    d = ls.script_daemon(module_daemons, scripts, files)
    for name in HOSTILE:
        assert ls.item(d, name)["state"] == "enabled", ls.item(d, name)

    health, stop, errors = [], threading.Event(), []
    disabled = DisabledCount(d)

    def poll():
        try:
            with d.new_client() as c:
                while not stop.is_set():
                    before = disabled()
                    t0 = time.monotonic()
                    a = c.get("/v1/health")
                    latency = time.monotonic() - t0
                    health.append((before, disabled(), latency))
                    if a.status != 200:
                        errors.append(a)
        except Exception as e:  # noqa: B902 - reported by the test
            errors.append(e)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        d.create("/v1/structures", tt.structure_body())

        def all_done():
            its = ls.items(d)
            return all(its[n]["state"] == "disabled_failed" for n in HOSTILE)
        tt.wait_for("every hostile script disabled", all_done, timeout=120)
        ls.wait_line(d, "bystander", "saw structure/")
        ls.wait_line(d, "pattern_issue_example", "found at 1")
    finally:
        stop.set()
        poller.join()
    d.health, d.poll_errors = health, errors
    return d


def test_attack__health_answered_while_the_scripts_ran(attacked):
    assert attacked.poll_errors == []
    # Asked when one hostile script was disabled already, answered before the
    # last was: answered while the attack ran, whatever the clock says.
    during = [x for x in attacked.health if x[0] >= 1 and x[1] < len(HOSTILE)]
    worst = max(x[2] for x in attacked.health)
    # Information only: bench/run-sandbox.sh measures these figures beside a baseline.
    print("health: %d answers, %d while the hostile scripts ran; worst %.1f ms"
          % (len(attacked.health), len(during), worst * 1000))
    assert len(during) >= 2, attacked.health


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile__contained__disabled_with_the_reason(attacked, name):
    p = ls.item(attacked, name)
    assert p["state"] == "disabled_failed", p
    err = p["last_error"]
    assert any(w in err for w in hs.reasons(name)), (name, err)
    assert err.startswith("disabled"), err
    assert hs.WHERE.get(name, "on(\"structure.created\") handler") in err, err
    assert p["subscriptions"] == [] and p["version"] is None, p
    assert len(err) <= 4200, len(err)


def test_hostile__limits_report_where__traceback(attacked):
    err = ls.item(attacked, "endless_loop")["last_error"]
    assert "stack traceback:" in err and "rules/endless_loop.lua:3" in err, err


def test_hostile__escapes_left_nothing(attacked):
    assert not os.path.exists("/tmp/tremplin-pwned")
    for name in ("notify_flood", "notify_quota_hour", "notify_quota_pending"):
        assert ls.outbox(attacked, "source = ?", ("lua:" + name,)) == [], name
    spam = [x for x in ls.script_lines(attacked, "log_flood") if "spam" in x]
    assert 1 <= len(spam) <= 50, len(spam)
    assert all("\n" not in x for x in spam)
    assert any("spam\\nINJECTED line" in x for x in spam)
    assert "log lines dropped" in attacked.log()
    # Control characters reach the log escaped, error messages included.
    log = attacked.log()
    assert "\r" not in log and "\x1b" not in log and "\u009b" not in log
    assert "x\\rtremplind: info: FORGED\\x1b[2K\\x9b" in log, \
        [x for x in log.splitlines() if "FORGED" in x]


def test_hostile__the_others_run_on(attacked):
    assert ls.item(attacked, "bystander")["state"] == "enabled"
    assert ls.item(attacked, "pattern_issue_example")["state"] == "enabled"
    # And the daemon still takes writes and hands out events.
    before = len(ls.script_lines(attacked, "bystander"))
    attacked.create("/v1/structures", tt.structure_body())
    tt.wait_for("the bystander's second event",
                lambda: len(ls.script_lines(attacked, "bystander")) > before)
    assert attacked.get("/v1/health").status == 200


def test_hostile__at_load__refused_and_reported(make_daemon):
    """The same attacks in the main chunk: the script never starts."""
    picks = ["endless_loop", "table_bomb", "xpcall_looping_handler", "os_execute",
             "string_dump", "pattern_backtracking", "slow_loop"]
    files, scripts = dict(hs.LIB_FILES), {}
    for name in picks:
        files["rules/%s.lua" % name] = "-- %s at load\n%s\n" % (name, HOSTILE[name][0])
        scripts[name] = {"role": "eti", "limits": hs.limits_for(name)}
    d = ls.script_daemon(make_daemon, scripts, files)
    for name in picks:
        p = ls.item(d, name)
        assert p["state"] == "disabled_failed", p
        assert any(w in p["last_error"] for w in hs.reasons(name)), p
    assert d.get("/v1/health").status == 200
