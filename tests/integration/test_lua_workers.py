"""Site scripts in worker processes (script_workers = true).

What only a process of its own bounds: a C call that runs long (a comparison
of huge strings, a sort of them) is ended by the daemon's SIGKILL, the script
disabled with the reason, the others served. A worker killed from outside
at random moments loses nothing: no event skipped, no notification lost or
doubled, the script's cursor and timers intact after its restart. A new
version loads in its worker while the daemon serves, and an event that fails
inside the batches sent ahead to a worker leaves none of those after it run
twice or out of order.

The rest of the script API runs against workers (script_workers is the
default) by test_lua_api.py, test_lua_sandbox.py and test_lua_rule.py.
"""

import os
import random
import signal
import threading
import time

import lua_support as ls
import tremplin_test as tt


def workers_of(d):
    """The pids of the daemon's live worker processes (its children)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == d.proc.pid and fields[0] != "Z":  # not a dead one, unreaped
            out.append(int(pid))
    return out


def sanitized():
    """Whether the daemon is an ASan build: slower, and without RLIMIT_AS."""
    with open(tt.TREMPLIND, "rb") as f:
        return b"__asan_init" in f.read()


def handler(body):
    return "-- %s\non('structure.created', function(event)\n  %s\nend)\n" % (body[:20], body)


# Issue 15's findings 1 and 2: the cost sits inside one C call, where no hook fires.
C_CALLS = {
    "string_compare": "local s = ('\\0'):rep(1e6) while true do if s < s then end end",
    "sort_equal_strings": "local s = ('\\0'):rep(1e6) local t = {}"
                          " for i = 1, 200 do t[i] = s end table.sort(t)",
}


def test_workers__long_c_call__killed_disabled_others_served(make_daemon):
    # max_failures 1: on a busy host the call may pass its time with its worker
    # waiting for a CPU, a failure rather than a limit; disabled at once either way.
    scripts = {n: {"role": "coordinator",
                   "limits": {"memory_mib": 16, "time_ms": 50, "max_failures": 1}}
               for n in C_CALLS}
    scripts["bystander"] = {"role": "coordinator"}
    files = {"rules/%s.lua" % n: handler(b) for n, b in C_CALLS.items()}
    files["rules/bystander.lua"] = handler("log('info', 'saw ' .. event.subject)")
    d = ls.script_daemon(make_daemon, scripts, files, extra={"script_workers": True})
    assert len(workers_of(d)) == 3
    for pid in workers_of(d):
        with open("/proc/%d/status" % pid) as f:
            status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
        # No new privileges, a seccomp filter, no capabilities, only its socket open.
        assert status["NoNewPrivs"].strip() == "1", status
        assert status["Seccomp"].strip() == "2", status
        assert int(status["CapEff"].strip(), 16) == 0, status
        assert sorted(int(x) for x in os.listdir("/proc/%d/fd" % pid)) == [0, 1, 2, 3]
        with open("/proc/%d/limits" % pid) as f:
            limits = [x for x in f.read().splitlines() if x.startswith("Max address space")]
        # RLIMIT_AS, but in sanitized builds (ASan maps terabytes of shadow memory).
        assert limits and ("unlimited" not in limits[0] or sanitized()), limits
    stop, answers = threading.Event(), []

    def poll():
        with d.new_client() as c:
            while not stop.is_set():
                answers.append(c.get("/v1/health").status)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        d.create("/v1/structures", tt.structure_body())
        for name in C_CALLS:
            p = ls.wait_state(d, name, "disabled_failed")
            err = p["last_error"]
            assert err.startswith("disabled"), err
            assert "time limit exceeded" in err, err
            # Sanitized, building the string may pass the limit first, in the sandbox.
            assert "worker process was killed" in err or sanitized(), err
        ls.wait_line(d, "bystander", "saw structure/")
    finally:
        stop.set()
        poller.join()
    assert answers and set(answers) == {200}
    # The killed workers go (reaped by a timer); the bystander's runs on.
    tt.wait_for("the killed workers gone", lambda: len(workers_of(d)) == 1, timeout=10)
    assert ls.item(d, "bystander")["state"] == "enabled"


KILLED = """
-- killed: one notification per structure, a timer counting
local n = 0
on("structure.created", function(event)
  notify{kind = "seen", recipient_role = "cip", message = "vu " .. event.subject}
  log("info", "handled " .. event.subject)
end)
every(1, function() n = n + 1 log("info", "tick " .. n) end, {name = "tick", immediately = true})
"""


def test_workers__killed_at_random__nothing_lost_or_doubled(make_daemon):
    d = ls.script_daemon(make_daemon, {
        "killed": {"role": "coordinator", "limits": {"max_failures": 1000}}},
        {"rules/killed.lua": KILLED}, extra={"script_workers": True})
    ls.wait_line(d, "killed", "tick 1")
    rng = random.Random(15)
    ids, kills = [], 0
    for i in range(24):
        ids.append(d.create("/v1/structures", tt.structure_body())["id"])
        if i % 4 == 1:
            time.sleep(rng.random() * 0.05)
            for pid in workers_of(d):
                os.kill(pid, signal.SIGKILL)
                kills += 1
    assert kills >= 5

    def all_seen():
        rows = ls.outbox(d, "source = 'lua:killed'")
        return rows if len(rows) >= len(ids) else None
    rows = tt.wait_for("every structure's notification", all_seen, timeout=90)
    time.sleep(0.5)
    rows = ls.outbox(d, "source = 'lua:killed'")
    # Exactly one per structure: none lost, none doubled.
    assert sorted(r["message"] for r in rows) == sorted("vu structure/%d" % i for i in ids)
    p = ls.item(d, "killed")
    assert p["state"] == "enabled", p
    assert "its worker process died" in d.log()
    # The cursor is past the last event; the timer is the same durable timer, still running.
    cursor = d.sql("SELECT last_id FROM event_cursors WHERE subscriber = ?",
                   ("killed/on:structure.created",))[0][0]
    assert cursor == d.sql("SELECT max(id) FROM events")[0][0]
    runs = p["script"]["timers"][0]["runs"]
    tt.wait_for("the timer after the kills",
                lambda: ls.item(d, "killed")["script"]["timers"][0]["runs"] > runs, timeout=10)
    assert p["script"]["timers"][0]["name"] == "killed/tick"


def test_workers__reload_of_a_slow_loading_version__served_meanwhile_old_one_stays(make_daemon):
    """A new version loads in its worker while the daemon serves; the reload answers after."""
    v1 = handler("log('info', 'v1 saw ' .. event.subject)")
    section = {"role": "coordinator", "limits": {"time_ms": 3000, "instructions": 1000000000}}
    d = ls.script_daemon(make_daemon, {"slow": section}, {"rules/slow.lua": v1},
                         extra={"script_workers": True})
    old = ls.item(d, "slow")
    assert old["state"] == "enabled" and old["script"]["loading"] is False, old
    # Version 2's main chunk runs until its time limit: seconds, in its worker.
    ls.set_scripts(d, {"slow": section}, {"rules/slow.lua": "-- v2\nwhile true do end\n"})
    reply = {}

    def reload():
        with d.new_client() as c:  # its own connection: the test's goes on meanwhile
            reply["r"] = c.post("/v1/plugins/reload", None)

    reloader = threading.Thread(target=reload)
    reloader.start()
    served, seen_loading = 0, []
    try:
        with d.new_client() as c:
            while reloader.is_alive():
                r = c.get("/v1/health")
                assert r.status == 200
                if reloader.is_alive():
                    served += 1  # answered while the reload waits for the worker
                    p = ls.item(d, "slow")
                    if p["script"]["loading"]:
                        seen_loading.append(p)
                time.sleep(0.05)
    finally:
        reloader.join()
    assert served > 0, "no request was answered while the new version loaded"
    # Meanwhile the running version was listed, and said a new one loads.
    assert seen_loading, "GET /v1/plugins never showed the load"
    assert all(p["state"] == "enabled" and p["version"] == old["version"] for p in seen_loading)
    # The reload answered once the load had failed: the running version stays.
    assert reply["r"].status == 200
    p = {x["name"]: x for x in reply["r"].body["items"]}["slow"]
    assert p["state"] == "enabled" and p["version"] == old["version"], p
    assert p["script"]["loading"] is False, p
    assert p["last_error"].startswith("reload refused, the running version %s stays: "
                                      % old["version"]), p
    assert "time limit exceeded" in p["last_error"], p
    since = len(d.log())
    sid = d.create("/v1/structures", tt.structure_body())["id"]
    ls.wait_line(d, "slow", "v1 saw structure/%d" % sid, since=since)


FLAKY = """
-- flaky: the 40th event it sees fails once; every event notified and logged once
local seen, failed = 0, false
on("structure.created", function(event)
  seen = seen + 1
  if seen == 40 and not failed then failed = true error("fails once") end
  notify{kind = "seen", recipient_role = "cip", message = "vu " .. event.subject}
  log("info", "handled " .. event.subject)
end)
"""


def test_workers__event_fails_within_a_batch__later_ones_retried_once_in_order(make_daemon):
    """Events sent behind a failed one (the next batch already out) run once, after it."""
    d = ls.script_daemon(make_daemon, {"flaky": {"role": "coordinator"}},
                         {"rules/flaky.lua": FLAKY},
                         extra={"script_workers": True, "event_delay_ms": 1000})
    since = len(d.log())
    # Created within the journal's pause: handed to the worker together, in batches.
    ids = [d.create("/v1/structures", tt.structure_body())["id"] for _ in range(150)]

    def all_handled():
        lines = [x for x in ls.script_lines(d, "flaky", since) if x.startswith("handled ")]
        return lines if len(lines) >= len(ids) else None
    tt.wait_for("every event handled", all_handled, timeout=60)
    time.sleep(0.5)
    lines = ls.script_lines(d, "flaky", since)
    handled = [x for x in lines if x.startswith("handled ")]
    # Each once, in the journal's order: none run ahead of the failed one, none twice.
    assert handled == ["handled structure/%d" % i for i in ids], handled
    assert any("fails once" in x for x in lines), lines
    rows = ls.outbox(d, "source = 'lua:flaky'")
    assert sorted(r["message"] for r in rows) == sorted("vu structure/%d" % i for i in ids)
    assert ls.item(d, "flaky")["state"] == "enabled"


def test_workers__cpu_quota__the_cpu_used_counts_not_the_time_waited(make_daemon):
    """cpu_ms_per_minute counts the CPU time the kernel gave the worker.

    Its calls here wait longer than the quota (the worker stopped with the
    event sent) but use almost no CPU: the script stays enabled. A call that
    spins is still charged (test_lua_api's quota test, in workers too).
    """
    d = ls.script_daemon(make_daemon, {
        "waits": {"role": "coordinator",
                  "limits": {"cpu_ms_per_minute": 200, "time_ms": 5000}}},
        {"rules/waits.lua": handler("log('info', 'saw ' .. event.subject)")},
        extra={"script_workers": True})
    [pid] = workers_of(d)
    for _ in range(3):
        since = len(d.log())
        os.kill(pid, signal.SIGSTOP)
        try:
            sid = d.create("/v1/structures", tt.structure_body())["id"]
            time.sleep(0.5)  # the event goes to the stopped worker meanwhile
        finally:
            os.kill(pid, signal.SIGCONT)
        ls.wait_line(d, "waits", "saw structure/%d" % sid, since=since)
    p = ls.item(d, "waits")
    assert p["state"] == "enabled" and p["last_error"] is None, p
    assert workers_of(d) == [pid]


def resume(pid):
    """SIGCONT to a worker the daemon may have killed and reaped meanwhile."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


STARVED = """
-- starved: a structure named "lent" takes a while, once
local spun = {}
on("structure.created", function(event)
  log("info", "begin " .. event.subject)
  if event.payload.object.name:find("lent") and not spun[event.subject] then
    spun[event.subject] = true
    local t = os.clock() while os.clock() - t < 1.0 do end
  end
  log("info", "saw " .. event.subject)
end)
"""


def test_workers__call_past_its_time_for_want_of_a_cpu__a_failure_retried(make_daemon):
    """A call that passed time_ms with less than half of it on a CPU: a failure, not a limit.

    Its worker was kept from running (stopped here; on a host, other work and
    its nice 10): the call ends all the same, counts towards max_failures, and
    the event is handled again later; the script is not disabled at once.
    (max_failures 10: on a busy machine a try may be starved without the test.)
    """
    d = ls.script_daemon(make_daemon, {
        "starved": {"role": "coordinator",
                    "limits": {"time_ms": 2500, "instructions": 10 ** 9, "max_failures": 10}}},
        {"rules/starved.lua": STARVED}, extra={"script_workers": True})
    # Stopped before the event is sent: the daemon's deadline kills it, with no CPU used.
    [pid] = workers_of(d)
    since = d.log_size()
    os.kill(pid, signal.SIGSTOP)
    try:
        first = d.create("/v1/structures", tt.structure_body())["id"]
        log = d.wait_log("its worker process was killed at the time limit, having waited for a"
                         " CPU", since=since)
    finally:
        resume(pid)
    assert ("failed (1 in a row): time limit exceeded (2500 ms per call) with 0 ms on a CPU:"
            " the call did not end, its worker process was killed (it waited for a CPU: a"
            " failure, not a limit)") in log, log
    # Handled by its next worker, the event given again.
    ls.wait_line(d, "starved", "saw structure/%d" % first, timeout=60)
    assert ls.item(d, "starved")["state"] == "enabled"

    # Stopped in the middle of a call for 1.6 s: when it runs again, the worker's own
    # limit ends the call with well under half of 2.5 s on a CPU.
    since = d.log_size()
    second = d.create("/v1/structures", tt.structure_body(name="Atelier lent"))["id"]
    ls.wait_line(d, "starved", "begin structure/%d" % second)
    [pid] = workers_of(d)
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(1.6)
    finally:
        resume(pid)
    log = d.wait_log("(its worker waited for one: a failure, not a limit)", since=since,
                     timeout=60)
    assert "time limit exceeded (2500 ms per call) with " in log, log
    ls.wait_line(d, "starved", "saw structure/%d" % second, timeout=60)
    p = ls.item(d, "starved")
    assert p["state"] == "enabled" and p["script"]["failures"] >= 2, p


def test_workers__main_chunk_past_its_time_for_want_of_a_cpu__loaded_again(make_daemon):
    """A version whose main chunk passed time_ms with its worker kept from running
    (stopped here; on a host, a busy start) is loaded again in a new worker."""
    # max_failures 10: on a busy machine a try may be starved without the test.
    section = {"role": "coordinator",
               "limits": {"time_ms": 2500, "instructions": 10 ** 9, "max_failures": 10}}
    d = ls.script_daemon(make_daemon, {"slowload": section},
                         {"rules/slowload.lua": handler("log('info', 'v1 saw ' .. event.subject)")},
                         extra={"script_workers": True})
    old = ls.item(d, "slowload")
    [first] = workers_of(d)
    # Version 2's main chunk works for a while: time enough to stop its worker.
    v2 = ("-- v2\nlocal t = os.clock() while os.clock() - t < 1.0 do end\n"
          + handler("log('info', 'v2 saw ' .. event.subject)"))
    ls.set_scripts(d, {"slowload": section}, {"rules/slowload.lua": v2})
    since = len(d.log())
    reply = {}

    def reload():
        with d.new_client() as c:
            reply["r"] = c.post("/v1/plugins/reload", None)
    reloader = threading.Thread(target=reload)
    reloader.start()
    try:
        pid = tt.wait_for("the new worker",
                          lambda: ([p for p in workers_of(d) if p != first] or [None])[0])
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(3.0)  # past its 2.5 s with well under half of it on a CPU
        finally:
            resume(pid)
    finally:
        reloader.join()
    assert reply["r"].status == 200, reply["r"]
    p = {x["name"]: x for x in reply["r"].body["items"]}["slowload"]
    assert p["state"] == "enabled" and p["version"] != old["version"], p
    assert p["last_error"] is None, p
    log = d.log()[since:]
    assert "script slowload: its main chunk passed its time limit (2500 ms) with " in log, log
    assert "loading it again (2 of 10)" in log, log
    sid = d.create("/v1/structures", tt.structure_body())["id"]
    ls.wait_line(d, "slowload", "v2 saw structure/%d" % sid, since=since)
