#!/usr/bin/env python3
"""The skills plugin's reads over the socket, beside the same queries run
directly in SQLite, in the same run.

Run by bench/run-skills.sh (see bench/README.md, "Skills"). One tremplind
(TREMPLIND) with the skills plugin of TOP_BUILDDIR, on the test clock:

- a referential of 120 competences (10 blocks of 12), loaded through the API;
- a team of 15 people under contract with the same referent ETI, and three
  years of evaluations of each competence every six weeks or so (46,800
  rows), written straight into the plugin's table while the daemon is
  stopped (the API would take minutes to fill it, and the reads are what is
  measured);
- one more person with 2,000 evaluations.

Then, alternating the two sides in each round:
- matrix: GET /v1/skills/matrix?referential_id=R&eti_id=E as the ETI, beside
  the plugin's own SQL for the same table (its competences, its people, the
  current cell of each) run with Python's sqlite3 on the same file;
- progression: GET /v1/skills/employees/{id}/progression, beside its SQL;
- the attestation: GET .../attestations/{id}/pdf beside .../html (the PDF's
  rendering time is the difference, roughly).

Prints p50/p99 per cell. Nothing is asserted: people read the figures.
"""

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

import lua_support as ls  # noqa: E402
import tremplin_test as tt  # noqa: E402

CLOCK = "2026-03-02T08:00:00Z"
TEAM = 15
BLOCKS, PER_BLOCK = 10, 12


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def cell(name, lat):
    ms = [x * 1000 for x in lat]
    return "%-34s %6d  %8.2f  %8.2f" % (name, len(ms), pct(ms, 50), pct(ms, 99))


def referential(path):
    doc = {"code": "BENCH-120", "title": "Référentiel de 120 compétences", "version": 1,
           "source": "own", "levels": ["non acquis", "en cours", "acquis", "maîtrisé"],
           "acquired_from": 3, "blocks": []}
    for b in range(BLOCKS):
        doc["blocks"].append({"code": "B%02d" % b, "title": "Bloc %d" % b, "competences": [
            {"code": "B%02d.%02d" % (b, c), "title": "Compétence %d.%d" % (b, c),
             "kind": "savoir_faire"} for c in range(PER_BLOCK)]})
    with open(os.path.join(path, "bench120.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)


def setup(tmp):
    referential(tmp)
    d = tt.Daemon(plugins={"skills": {"referentials_dir": tmp}})
    d.link_plugins(["skills"])
    d.write_config()
    with ls.environment(TREMPLIN_TEST_CLOCK=CLOCK):
        d.start()
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    eti = staff["sys"]["id"]
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    ref = d.post("/v1/skills/referentials/load", {"name": "bench120"}, who="eti").body
    comps = [c["id"] for c in d.list_all("/v1/skills/referentials/%d/competences" % ref["id"],
                                         who="eti")]
    people = []
    for i in range(TEAM + 1):
        body = {"structure_id": structure, "first_name": "Personne", "last_name": "N%02d" % i,
                "birth_date": "1990-01-01", "prescriber_kind": "france_travail",
                "referent_cip_id": staff["bin"]["id"], "referent_eti_id": eti}
        e = d.create("/v1/employees", body, who="cip")["id"]
        d.create("/v1/employees/%d/contracts" % e,
                 {"start_date": "2024-09-02", "end_date": "2026-08-31", "weekly_hours": 26},
                 who="cip")
        people.append(e)

    def settled():
        subs = tt.plugins_of(d)["skills"]["subscriptions"]
        top = d.list_all("/v1/events")[-1]["id"]
        return all(s["cursor"] >= top and not s["pending"] for s in subs)
    tt.wait_for("the plugin's subscriptions", settled)
    d.stop()
    rng = random.Random(12)
    rows = []
    start = time.mktime(time.strptime("2023-03-06", "%Y-%m-%d"))
    for e in people[:TEAM]:
        for c in comps:
            level, day = 1, start + rng.randrange(0, 20) * 86400
            while day < start + 3 * 365 * 86400:
                level = min(4, level + (1 if rng.random() < 0.3 else 0))
                rows.append((e, c, level, time.strftime("%Y-%m-%d", time.gmtime(day)), eti))
                day += rng.randrange(35, 50) * 86400
    lone = people[TEAM]
    for i in range(2000):
        day = start + (i * 3 * 365 * 86400) // 2000
        rows.append((lone, comps[i % len(comps)], 1 + (i // 500),
                     time.strftime("%Y-%m-%d", time.gmtime(day)), eti))
    con = sqlite3.connect(d.database)
    con.executemany("INSERT INTO skills_evaluations (employee_id, competence_id, level,"
                    " evaluated_on, evaluator_id, kind, created_by, created_at)"
                    " VALUES (?, ?, ?, ?, ?, 'evaluation', ?5, '2026-03-01T00:00:00Z')", rows)
    con.commit()
    con.close()
    with ls.environment(TREMPLIN_TEST_CLOCK=CLOCK):
        d.start()
    att = d.create("/v1/skills/employees/%d/attestations" % lone,
                   {"period_from": "2024-09-02", "period_to": "2026-03-01", "eti_id": eti},
                   who="eti")["id"]
    return d, ref["id"], eti, lone, att, len(rows)


# The plugin's statements (plugins/skills/skills.c), as the daemon runs them.
MATRIX_SQL = [
    ("SELECT id, block_code, code, external_code, title, kind FROM skills_competences"
     " WHERE referential_id = ?1 ORDER BY id", lambda r, e, p: (r,)),
    ("SELECT DISTINCT c.employee_id FROM skills_contracts c LEFT JOIN skills_people p"
     " ON p.employee_id = c.employee_id WHERE c.start_date <= ?1 AND coalesce(c.ended_on,"
     " c.end_date) >= ?1 AND (?2 IS NULL OR p.referent_eti_id = ?2) ORDER BY c.employee_id",
     lambda r, e, p: ("2026-03-02", e)),
]
CELLS_SQL = (
    "SELECT competence_id, level, evaluated_on FROM ( SELECT e.competence_id, e.level,"
    " e.evaluated_on, row_number() OVER (PARTITION BY e.competence_id ORDER BY e.evaluated_on"
    " DESC, e.id DESC) AS rn FROM skills_evaluations e JOIN skills_competences c ON c.id ="
    " e.competence_id WHERE e.employee_id = ?1 AND c.referential_id = ?2 AND e.kind ="
    " 'evaluation' AND NOT EXISTS (SELECT 1 FROM skills_evaluations x WHERE x.corrects_id ="
    " e.id)) WHERE rn = 1")
PROGRESSION_SQL = (
    "SELECT e.id, e.competence_id, e.level, e.evaluated_on, e.evaluator_id, e.kind,"
    " e.corrects_id, EXISTS (SELECT 1 FROM skills_evaluations x WHERE x.corrects_id = e.id),"
    " c.code, c.external_code, c.title, c.kind, r.id, r.code, r.version, r.levels,"
    " r.acquired_from, e.situation FROM skills_evaluations e JOIN skills_competences c ON"
    " c.id = e.competence_id JOIN skills_referentials r ON r.id = c.referential_id"
    " WHERE e.employee_id = ?1 ORDER BY e.competence_id, e.evaluated_on, e.id")


def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100, help="requests per cell and round")
    ap.add_argument("-r", type=int, default=3, help="rounds")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tremplin-bench-skills-")
    d, rid, eti, lone, att, nrows = setup(tmp)
    try:
        con = sqlite3.connect("file:%s?mode=ro" % d.database, uri=True)
        c = d.client

        def api(path):
            def f():
                a = d.get(path, who="eti")
                assert a.status == 200, a
            return f

        def sql_matrix():
            con.execute(MATRIX_SQL[0][0], MATRIX_SQL[0][1](rid, eti, None)).fetchall()
            ids = [r[0] for r in con.execute(MATRIX_SQL[1][0],
                                             MATRIX_SQL[1][1](rid, eti, None))]
            for p in ids:
                con.execute(CELLS_SQL, (p, rid)).fetchall()

        def sql_progression():
            con.execute(PROGRESSION_SQL, (lone,)).fetchall()

        cells = {k: [] for k in ("matrix: API", "matrix: SQLite", "progression: API",
                                 "progression: SQLite", "attestation: PDF",
                                 "attestation: HTML")}
        pairs = [
            ("matrix: API", api("/v1/skills/matrix?referential_id=%d&eti_id=%d" % (rid, eti)),
             "matrix: SQLite", sql_matrix),
            ("progression: API", api("/v1/skills/employees/%d/progression" % lone),
             "progression: SQLite", sql_progression),
            ("attestation: PDF", api("/v1/skills/attestations/%d/pdf" % att),
             "attestation: HTML", api("/v1/skills/attestations/%d/html" % att)),
        ]
        for rnd in range(args.r):
            for a_name, a_fn, b_name, b_fn in pairs:
                first = [(a_name, a_fn), (b_name, b_fn)]
                if rnd % 2:
                    first.reverse()
                for name, fn in first:
                    fn()  # warm
                    cells[name] += timed(fn, args.n)
        print("evaluations: %d rows (team of %d × %d competences × 3 years; one person with"
              " 2,000)" % (nrows, TEAM, BLOCKS * PER_BLOCK))
        print("%-34s %6s  %8s  %8s" % ("cell", "n", "p50 ms", "p99 ms"))
        for name, lat in cells.items():
            print(cell(name, lat))
        del c
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    main()
