#!/usr/bin/env python3
"""What a site script adds to an API write that triggers it.

Run by bench/run-script-write.sh (see bench/README.md). Three daemons, each
measured in the same run, rounds alternating their order:

- none: no script;
- in-process: one script (script_workers = false) whose on("structure.created")
  handler queues a notification, as a rule does;
- worker: the same script in its worker process (script_workers = true).

Per side, two figures:

- write: POST /v1/structures, one after the other on one connection, the
  time until the 201 (the handler runs after the commit, event_delay_ms
  later: the default, 5 ms);
- handled: one write, then the time until the handler's notification is in
  the outbox (read from the database file, a read-only connection polled
  every 0.2 ms), the write included. Not for "none".

Prints p50/p99 per side, pooled over the rounds. Nothing is asserted.
"""

import argparse
import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import lua_support as ls  # noqa: E402
import tremplin_test as tt  # noqa: E402

SCRIPT = """-- on_structure: a notification per structure, as a rule
on("structure.created", function(event)
  notify{kind = "structure_seen", recipient_role = "cip",
         message = "Nouvelle structure : " .. event.payload.object.name}
end)
"""
SIDES = ("none", "in-process", "worker")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def make_daemon(factory, side):
    if side == "none":
        return ls.script_daemon(factory, {}, {}, log_level="warning")
    limits = {"notifications_per_hour": 100000, "outbox_pending": 100000}
    return ls.script_daemon(factory, {"on_structure": {"role": "coordinator",
                                                       "limits": limits}},
                            {"rules/on_structure.lua": SCRIPT}, log_level="warning",
                            extra={"script_workers": side == "worker"})


def writes(d, n):
    lat = []
    with d.new_client() as c:
        for _ in range(n):
            t0 = time.monotonic()
            a = c.post("/v1/structures", tt.structure_body())
            lat.append(time.monotonic() - t0)
            assert a.status == 201, a
    return lat


def wait_rows(db, sql, args, t0):
    while db.execute(sql, args).fetchone()[0] == 0:
        if time.monotonic() - t0 > 30:
            raise SystemExit("the handler's notification never came")
        time.sleep(0.0002)


def handled(d, n):
    lat = []
    db = sqlite3.connect("file:%s?mode=ro" % d.database, uri=True, timeout=60)
    try:
        # The notifications of the writes before, all in first.
        wait_rows(db, "SELECT (SELECT count(*) FROM outbox) >= (SELECT count(*) FROM structures)",
                  (), time.monotonic())
        with d.new_client() as c:
            for _ in range(n):
                t0 = time.monotonic()
                a = c.post("/v1/structures", tt.structure_body())
                assert a.status == 201, a
                wait_rows(db, "SELECT count(*) FROM outbox WHERE message = ?",
                          ("Nouvelle structure : " + a.body["name"],), t0)
                lat.append(time.monotonic() - t0)
    finally:
        db.close()
    return lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-r", "--rounds", type=int, default=3)
    ap.add_argument("-n", "--writes", type=int, default=300)
    args = ap.parse_args()
    factory = tt.Factory()
    w = {s: [] for s in SIDES}
    h = {s: [] for s in SIDES}
    try:
        for r in range(args.rounds):
            order = SIDES if r % 2 == 0 else tuple(reversed(SIDES))
            for side in order:
                d = make_daemon(factory, side)
                writes(d, 20)  # warm up: connection, statements, pages
                w[side] += writes(d, args.writes)
                if side != "none":
                    h[side] += handled(d, args.writes // 3)
                rc = d.stop()
                if rc != 0:
                    print("tremplind exited with %r:\n%s" % (rc, d.log()), file=sys.stderr)
                    return 1
                d.cleanup()
        print("POST /v1/structures, %d rounds of %d writes per side (and %d to the handler)"
              % (args.rounds, args.writes, args.writes // 3))
        print("side          write p50/p99 ms     write to handled p50/p99 ms")
        for side in SIDES:
            hs = ("%7.2f/%7.2f" % (pct(h[side], 50) * 1000, pct(h[side], 99) * 1000)
                  if h[side] else "          -")
            print("%-11s  %7.2f/%7.2f      %s" % (side, pct(w[side], 50) * 1000,
                                                pct(w[side], 99) * 1000, hs))
        return 0
    finally:
        factory.cleanup()


if __name__ == "__main__":
    sys.exit(main())
