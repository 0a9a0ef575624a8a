#!/usr/bin/env python3
"""The production plugin's costs, each beside bare SQLite in the same run.

- attendance: a team day (15 people) in ONE request, POST
  /v1/production/team-attendance over the socket, beside the same 15 rows
  inserted in one SQLite transaction into a copy of the table (same unique
  index);
- monthly: GET /v1/production/reports/monthly-hours for a structure of
  PEOPLE people in a network of STRUCTURES structures (STRUCTURES x PEOPLE
  people) with YEARS years of attendance, beside the report's own aggregate
  run directly in SQLite on the same file; and the whole network's month as
  a coordinator gets it (the route takes one structure: one report per
  structure), beside the same aggregates.

Prints p50 and p99 of each. Timing only here (never in tests).

  python3 bench/production.py BUILDDIR
      (STRUCTURES=20 PEOPLE=300 YEARS=3 N=200 REPORTS=30 SWEEPS=5;
       STRUCTURES=1 is the single structure of the first runs)
"""

import datetime
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
PEOPLE = int(os.environ.get("PEOPLE", 300))
YEARS = int(os.environ.get("YEARS", 3))
N = int(os.environ.get("N", 200))
REPORTS = int(os.environ.get("REPORTS", 30))
STRUCTURES = int(os.environ.get("STRUCTURES", 20))
SWEEPS = int(os.environ.get("SWEEPS", 5))
ME = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name


class Conn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(c, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    c.request(method, path, body=data,
              headers={"Content-Type": "application/json"} if data else {})
    r = c.getresponse()
    raw = r.read()
    if r.status >= 300:
        raise SystemExit("%s %s: %d %s" % (method, path, r.status, raw[:300]))
    return json.loads(raw) if raw.startswith(b"{") else raw


def siret(k):
    """A SIRET that passes the Luhn check: 512345678 then a 4-digit
    establishment number and the key digit."""
    base = "512345678%04d" % (k + 1)
    for d in "0123456789":
        n = base + d
        tot = 0
        for i, ch in enumerate(reversed(n)):
            v = int(ch) * (2 if i % 2 else 1)
            tot += v - 9 if v > 9 else v
        if tot % 10 == 0:
            return n
    raise ValueError(base)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def show(name, ours, bare):
    print("%-28s p50 %8.3f ms  p99 %8.3f ms   | bare SQLite p50 %8.3f ms  p99 %8.3f ms"
          "   | ratio p50 %.1fx" % (name, 1000 * pct(ours, 50), 1000 * pct(ours, 99),
                                    1000 * pct(bare, 50), 1000 * pct(bare, 99),
                                    pct(ours, 50) / max(pct(bare, 50), 1e-9)))


def main():
    tmp = tempfile.mkdtemp(prefix="tremplin-bench-production.")
    sock, db, conf = (os.path.join(tmp, x) for x in ("t.sock", "t.db", "t.conf"))
    plugdir = os.path.join(tmp, "plugins")
    os.makedirs(plugdir)
    os.symlink(os.path.join(BUILD, "plugins/production/.libs/production.so"),
               os.path.join(plugdir, "production.so"))
    with open(conf, "w") as f:
        f.write('socket = "%s"\ndatabase = "%s"\nlog_level = "warning"\nplugin_dir = "%s"\n'
                'plugins = { production = {} }\n'
                'staff = { { name = "Bench", unix_user = "%s", role = "coordinator" } }\n'
                % (sock, db, plugdir, ME))
    proc = None

    def start():
        nonlocal proc
        proc = subprocess.Popen([os.path.join(BUILD, "tremplind"), "-f", conf],
                                stderr=open(os.path.join(tmp, "log"), "a"))
        for _ in range(200):
            if os.path.exists(sock):
                try:
                    c = Conn(sock)
                    call(c, "GET", "/v1/health")
                    return c
                except (OSError, SystemExit):
                    pass
            time.sleep(0.05)
        raise SystemExit("tremplind did not start (see %s/log)" % tmp)

    def stop():
        proc.terminate()
        proc.wait(30)

    try:
        c = start()
        # STRUCTURES structures of PEOPLE people each, through the API on one
        # persistent connection; the first structure is the measured one.
        t0 = time.perf_counter()
        structures, everyone = [], []
        for s in range(STRUCTURES):
            structures.append(call(c, "POST", "/v1/structures", {
                "name": "Atelier bench %d" % s, "siret": siret(s), "kind": "ACI"})["id"])
            for i in range(PEOPLE):
                everyone.append(call(c, "POST", "/v1/employees", {
                    "structure_id": structures[-1], "first_name": "P",
                    "last_name": "N%02d%05d" % (s, i), "birth_date": "1990-01-01",
                    "prescriber_kind": "france_travail"})["id"])
        st = structures[0]
        people = everyone[:PEOPLE]
        setup_people = time.perf_counter() - t0

        # -- a team day in one request, beside 15 rows in one SQLite transaction
        team = people[:15]
        day0 = datetime.date(2030, 1, 1)
        ours = []
        for k in range(N):
            d = (day0 + datetime.timedelta(days=k)).isoformat()
            body = {"date": d, "entries": [
                {"employee_id": e, "slot": "day", "status": "present", "hours": 7}
                for e in team]}
            t = time.perf_counter()
            call(c, "POST", "/v1/production/team-attendance", body)
            ours.append(time.perf_counter() - t)
        stop()
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("CREATE TABLE bench_attendance AS SELECT * FROM production_attendance"
                    " WHERE 0")
        con.execute("CREATE UNIQUE INDEX bench_u ON bench_attendance (employee_id, date, slot)")
        bare = []
        for k in range(N):
            d = (day0 + datetime.timedelta(days=k)).isoformat()
            t = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            for e in team:
                con.execute("INSERT INTO bench_attendance (employee_id, date, slot, status,"
                            " hours, created_at, updated_at) VALUES (?, ?, 'day', 'present',"
                            " 7, 'x', 'x')", (e, d))
            con.execute("COMMIT")
            bare.append(time.perf_counter() - t)
        con.execute("DROP TABLE bench_attendance")
        show("attendance day (15 people)", ours, bare)

        # -- YEARS years of attendance for PEOPLE people, written straight in
        con.execute("BEGIN")
        start_day = datetime.date(2027, 1, 1)
        rows = 0
        for k in range(365 * YEARS):
            d = start_day + datetime.timedelta(days=k)
            if d.weekday() >= 5:
                continue
            ds = d.isoformat()
            batch = []
            for i, e in enumerate(everyone):
                if (i + k) % 17 == 0:
                    batch.append((e, ds, "absent", None, "unjustified" if i % 2 else
                                  "sick_leave"))
                else:
                    batch.append((e, ds, "present", 7.0, None))
            con.executemany("INSERT INTO production_attendance (employee_id, date, slot, status,"
                            " hours, reason, contract_weekly_hours, created_at, updated_at)"
                            " VALUES (?, ?, 'day', ?, ?, ?, 35, 'x', 'x')", batch)
            rows += len(batch)
        con.execute("COMMIT")
        con.execute("ANALYZE")
        src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins",
                                "production", "production.c")).read()
        # The report's own aggregate: REPORT_SQL(only) with the restriction
        # to a structure's people (report_people_sql), ?3 their ids.
        body = re.search(r"#define REPORT_SQL\(only\)((?:.*\\\n)*.*\n)", src).group(1)
        only = re.search(r'report_people_sql\[\] =\s*REPORT_SQL\(\s*"((?:[^"\\]|\\.)*)"', src)
        sql = "".join(only.group(1) if m.group(0) == "only" else m.group(1)
                      for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|\bonly\b', body))
        by_structure = [json.dumps(everyone[k * PEOPLE:(k + 1) * PEOPLE])
                        for k in range(STRUCTURES)]
        last = start_day + datetime.timedelta(days=365 * YEARS - 45)
        month = last.strftime("%Y-%m")
        month_end = ((last.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
                     - datetime.timedelta(days=1)).isoformat()
        bare = []
        for _ in range(REPORTS):
            t = time.perf_counter()
            con.execute(sql, (month + "-01", month_end, by_structure[0])).fetchall()
            bare.append(time.perf_counter() - t)
        bare_net = []
        for _ in range(SWEEPS):
            t = time.perf_counter()
            for ids in by_structure:
                con.execute(sql, (month + "-01", month_end, ids)).fetchall()
            bare_net.append(time.perf_counter() - t)
        con.close()
        c = start()
        path = "/v1/production/reports/monthly-hours?structure=%d&month=%s" % (st, month)
        got = call(c, "GET", path)  # warms the statement cache
        assert len(got["items"]) == PEOPLE, len(got["items"])
        ours = []
        for _ in range(REPORTS):
            t = time.perf_counter()
            call(c, "GET", path)
            ours.append(time.perf_counter() - t)
        stop()
        show("monthly report (%d of %d)" % (PEOPLE, len(everyone)), ours, bare)
        if STRUCTURES > 1:
            # The network's month: one report per structure (the route takes
            # one structure), beside the same aggregates run one by one.
            c = start()
            sweep = []
            for _ in range(SWEEPS):
                t = time.perf_counter()
                n = 0
                for s in structures:
                    n += len(call(c, "GET", "/v1/production/reports/monthly-hours"
                                  "?structure=%d&month=%s" % (s, month))["items"])
                sweep.append(time.perf_counter() - t)
                assert n == len(everyone), n
            stop()
            show("network month (%d reports)" % STRUCTURES, sweep, bare_net)
        print("(%d structures x %d people created in %.0f s; %d attendance rows, %d years;"
              " N=%d days, %d reports, %d network sweeps)"
              % (STRUCTURES, PEOPLE, setup_people, rows, YEARS, N, REPORTS, SWEEPS))
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
