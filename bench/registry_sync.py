#!/usr/bin/env python3
"""The registry plugin's sync against the local fake of les emplois, beside a
bare curl loop fetching the same pages, in the same run.

Run by bench/run-registry.sh (see bench/README.md). Each round starts a new
tremplind (TREMPLIND) with the registry plugin, a structure, and a fake
(plugins/registry/tests/fake_emplois.py, real TLS) holding N employee
records (250 pages of 20 for 5000), then measures, in an order that
alternates:

- sync: a first run (every record a new person to review: a file and its
  PASS, through the records' own rules, audited and journaled), then an
  incremental run with nothing new: wall time (POST /v1/registry/sync to the
  run's end in /v1/registry/status), requests the fake counted, the
  daemon's CPU time (/proc/<pid>/stat), and GET /v1/health's latency on
  another connection, asked again and again during the first run;
- curl: the same pages fetched by a loop of `curl` (one process per page,
  following `next`, the token and the CA as the plugin uses them): wall time
  and requests.

The plugin's limits are lifted for the bench (120 and 60 per 1-second
window instead of per minute): at the platform's real limits 250 pages
take at least 250 s by design, which measures the wait, not the plugin.
Nothing is asserted: people read the figures.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "plugins", "registry", "tests"))

import tremplin_test as tt  # noqa: E402
from fake_emplois import FakeEmplois, employee_record  # noqa: E402

tt.BUILT_PLUGINS.setdefault("registry", "plugins/registry/.libs/registry.so")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def records(siret, n):
    return [employee_record(siret, "99999%07d" % (i + 1), "Prénom%d" % i, "NOM%d" % i,
                            "1985-01-%02d" % (i % 28 + 1), "2025-06-02", "2027-06-01")
            for i in range(n)]


def daemon(fake, work):
    d = tt.Daemon(log_level="warning", plugin_files=["registry"])
    siret = tt.make_siret()
    token = os.path.join(d.dir, "emplois.token")
    with open(token, "w") as f:
        f.write(fake.token)
    os.chmod(token, 0o600)
    d.settings["extra"]["ca_file"] = fake.ca
    d.write_config(mode=0o600, plugins={"registry": {
        "base_url": fake.base, "token_file": token, "sirets": [siret],
        "rate_employee_records": 60, "rate_overall": 120, "rate_window": 1}})
    d.start()
    d.create("/v1/structures", tt.structure_body(siret=siret), who="coordinator")
    d.siret = siret
    return d


def status(c):
    a = c.get("/v1/registry/status")
    return a.body


def one_run(d, fake, poll_health):
    """(wall s, requests, daemon CPU s, health latencies)."""
    lat = []
    stop = threading.Event()

    def poller():
        with tt.Client(d.socket, check=False) as c:
            while not stop.is_set():
                t = time.monotonic()
                c.get("/v1/health")
                lat.append(time.monotonic() - t)

    before = len(fake.requests)
    cpu0 = cpu_s(d.proc.pid)
    with tt.Client(d.socket, check=False) as c:
        th = threading.Thread(target=poller) if poll_health else None
        t0 = time.monotonic()
        if th:
            th.start()
        a = c.post("/v1/registry/sync", {})
        assert a.status == 202, a
        while True:
            s = status(c)
            if not s["running"]:
                break
            time.sleep(0.02)
        wall = time.monotonic() - t0
        stop.set()
        if th:
            th.join()
    assert s["last_run"]["status"] == "ok", s["last_run"]
    return wall, len(fake.requests) - before, cpu_s(d.proc.pid) - cpu0, lat, s["last_run"]


def curl_loop(fake):
    """The same pages by one curl process per page, following next."""
    before = len(fake.requests)
    url = fake.base + "employee-records/"
    t0 = time.monotonic()
    while url:
        out = subprocess.run(["curl", "-sS", "--fail", "--cacert", fake.ca, "-H",
                              "Authorization: Token " + fake.token, url],
                             check=True, capture_output=True).stdout
        url = json.loads(out)["next"]
    return time.monotonic() - t0, len(fake.requests) - before


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-r", "--rounds", type=int, default=3)
    ap.add_argument("-n", "--records", type=int, default=5000)
    args = ap.parse_args()
    rows = {"first": [], "incremental": [], "curl": []}
    health = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as work:
            fake = FakeEmplois(os.path.join(work, "pki"), limit_er=10 ** 6, limit_all=10 ** 6)
            try:
                d = daemon(fake, work)
                fake.records = records(d.siret, args.records)
                order = ["sync", "curl"] if r % 2 == 0 else ["curl", "sync"]
                for side in order:
                    if side == "curl":
                        rows["curl"].append(curl_loop(fake))
                        continue
                    wall, req, cpu, lat, run = one_run(d, fake, True)
                    assert run["counts"]["created"] == args.records, run
                    rows["first"].append((wall, req, cpu))
                    health += lat
                    wall, req, cpu, _, run = one_run(d, fake, False)
                    rows["incremental"].append((wall, req, cpu))
                d.stop()
                d.cleanup()
            finally:
                fake.close()
        print("round %d: first %.2f s (%d requests, CPU %.2f s), incremental %.3f s"
              " (%d requests), curl %.2f s (%d requests)" % (
                  r + 1, rows["first"][-1][0], rows["first"][-1][1], rows["first"][-1][2],
                  rows["incremental"][-1][0], rows["incremental"][-1][1],
                  rows["curl"][-1][0], rows["curl"][-1][1]), flush=True)
    med = statistics.median
    print("\nmedians over %d rounds, %d records:" % (args.rounds, args.records))
    print("  first sync     %7.2f s  %4d requests  daemon CPU %.2f s" % (
        med(x[0] for x in rows["first"]), rows["first"][0][1],
        med(x[2] for x in rows["first"])))
    print("  incremental    %7.3f s  %4d requests  daemon CPU %.3f s" % (
        med(x[0] for x in rows["incremental"]), rows["incremental"][0][1],
        med(x[2] for x in rows["incremental"])))
    print("  curl loop      %7.2f s  %4d requests" % (
        med(x[0] for x in rows["curl"]), rows["curl"][0][1]))
    ms = [x * 1000 for x in health]
    print("  GET /v1/health during the first sync: %d answers, p50 %.2f ms, p99 %.2f ms,"
          " max %.2f ms" % (len(ms), pct(ms, 50), pct(ms, 99), max(ms)))


if __name__ == "__main__":
    main()
