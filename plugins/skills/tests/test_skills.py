"""The skills plugin against a real tremplind, on the test clock (2026-03-02):
its shipped referentials, the import/export round trip, evaluations (their
rules, append only, as each role), a person's progression, the team matrix,
the views skills.acquired.v1 and skills.stale.v1 read by the shipped rule
lua/rules/skills_stale.lua, the attestation (its PDF read by pdftotext) and
Open Badges 3.0 (verified by jose).

Alone, from the build directory:
  TOP_SRCDIR=$PWD/../.. TOP_BUILDDIR=$PWD TREMPLIND=$PWD/tremplind \\
    TREMPLINCTL=$PWD/tremplinctl python3 -m pytest -q -p no:cacheprovider \\
    ../../plugins/skills/tests
"""

import base64
import copy
import csv
import html.parser
import io
import json
import os
import shutil
import subprocess

import pytest

import lua_support as ls
import tremplin_test as tt

CLOCK = "2026-03-02T08:00:00Z"  # a Monday, 09:00 in Paris
REFS = os.path.join(tt.TOP_SRCDIR, "etc", "skills")
SECTION = {"skills": {"referentials_dir": REFS}}


def shipped(name):
    with open(os.path.join(REFS, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def settled(d):
    """Wait until the plugin has taken every event so far (contracts, files)."""
    def done():
        subs = tt.plugins_of(d)["skills"]["subscriptions"]
        events = d.list_all("/v1/events")
        top = events[-1]["id"] if events else 0
        return all(s["cursor"] >= top and not s["pending"] for s in subs)
    tt.wait_for("the skills plugin's subscriptions", done)



def new_person(d, structure, staff, start="2026-01-05", end="2026-12-31", eti="sys"):
    body = {"structure_id": structure, "first_name": "Camille", "last_name": tt.unique("E"),
            "birth_date": "1988-03-02", "prescriber_kind": "france_travail",
            "referent_cip_id": staff["bin"]["id"], "referent_eti_id": staff[eti]["id"]}
    e = d.create("/v1/employees", body, who="cip")["id"]
    if start is not None:
        a = d.post("/v1/employees/%d/contracts" % e,
                   {"start_date": start, "end_date": end, "weekly_hours": 26}, who="cip")
        assert a.status == 201, a
    return e


@pytest.fixture(scope="module")
def world(module_daemons):
    """A daemon with the plugin and the three shipped referentials; one person under contract."""
    d = module_daemons(start=False, plugin_files=["skills"], plugins=SECTION)
    with ls.environment(TREMPLIN_TEST_CLOCK=CLOCK):
        d.start()
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    refs = {}
    for name in ("savoir_etre", "espaces_verts", "rncp39794"):
        a = d.post("/v1/skills/referentials/load", {"name": name}, who="eti")
        assert a.status == 201, a
        refs[name] = a.body
    person = new_person(d, structure, staff)
    settled(d)
    comps = {}
    for name, r in refs.items():
        for c in d.list_all("/v1/skills/referentials/%d/competences" % r["id"], who="eti"):
            comps[(name, c["code"])] = c
    return {"d": d, "staff": staff, "structure": structure, "refs": refs, "person": person,
            "comps": comps, "eti": staff["sys"]["id"], "cip": staff["bin"]["id"]}


def evaluations(w, person=None):
    return "/v1/skills/employees/%d/evaluations" % (person or w["person"])


def ev_body(w, comp=("espaces_verts", "EV1.1"), **over):
    b = {"competence_id": w["comps"][comp]["id"], "level": 2, "evaluated_on": "2026-02-02",
         "evaluator_id": w["eti"], "situation": "tonte du parc municipal",
         "evidence": "tonte faite seul, bords propres"}
    b.update(over)
    return b


def rows(d, table):
    return d.sql("SELECT * FROM %s ORDER BY id" % table)


# -- referentials ---------------------------------------------------------------------


def test_load__shipped_referentials__trees_and_scales(world):
    d, refs = world["d"], world["refs"]
    rncp = refs["rncp39794"]
    assert (rncp["code"], rncp["version"], rncp["source"], rncp["acquired_from"]) == (
        "RNCP39794", 1, "rncp", 3), rncp
    assert rncp["levels"] == ["non acquis", "en cours d'acquisition", "acquis", "maîtrisé"]
    comps = d.list_all("/v1/skills/referentials/%d/competences" % rncp["id"], who="coordinator")
    assert len(comps) == 10
    assert sorted({c["block_code"] for c in comps}) == [
        "RNCP39794BC01", "RNCP39794BC02", "RNCP39794BC03"]
    kinds = {c["kind"] for c in d.list_all(
        "/v1/skills/referentials/%d/competences" % refs["savoir_etre"]["id"], who="cip")}
    assert kinds == {"savoir_etre"}
    listed = d.list_all("/v1/skills/referentials", query="source=own", who="cip")
    assert [r["code"] for r in listed] == ["ESPACES-VERTS"]


def test_load__twice__409_nothing_written(world):
    d = world["d"]
    before = (rows(d, "skills_referentials"), rows(d, "skills_competences"))
    a = d.post("/v1/skills/referentials/load", {"name": "rncp39794"}, who="eti")
    assert (a.status, a.error["field"]) == (409, "version"), a
    assert (rows(d, "skills_referentials"), rows(d, "skills_competences")) == before


@pytest.mark.parametrize("who, body, status, field", [
    ("cip", {"name": "espaces_verts"}, 403, None),
    ("coordinator", {"name": "espaces_verts"}, 403, None),
    ("admin", {"name": "espaces_verts"}, 403, None),
    ("eti", {"name": "../tremplin"}, 422, "name"),
    ("eti", {"name": "nothing_here"}, 404, "name"),
    ("eti", {"name": "espaces_verts", "more": 1}, 422, "name"),
])
def test_load__refused(world, who, body, status, field):
    d = world["d"]
    before = rows(d, "skills_referentials")
    a = d.post("/v1/skills/referentials/load", body, who=who)
    assert a.status == status, a
    if field:
        assert a.error["field"] == field, a
    assert rows(d, "skills_referentials") == before


def test_tremplinctl_skills_load__as_eti(world):
    d = world["d"]
    tt.require_root("runs tremplinctl as the ETI's Unix user")
    p = tt.ctl("skills", "load", "savoir_etre", socket_path=d.socket, user="sys")
    assert p.returncode == 1 and "409" in p.stderr + p.stdout, (p.stdout, p.stderr)
    p = tt.ctl("skills", "frobnicate", socket_path=d.socket, user="sys")
    assert p.returncode == 64, p.stderr


def test_export__round_trip_equals_the_shipped_file(world):
    d = world["d"]
    for name, r in world["refs"].items():
        a = d.get("/v1/skills/referentials/%d/export" % r["id"], who="cip")
        assert a.status == 200, a
        assert a.body == shipped(name), name


def test_import__new_version__old_evaluations_stay_readable(world):
    d = world["d"]
    w = world
    old = w["comps"][("espaces_verts", "EV2.2")]
    e = d.create(evaluations(w), ev_body(w, ("espaces_verts", "EV2.2"), level=3), who="eti")
    doc = shipped("espaces_verts")
    doc["version"] = 2
    doc["blocks"][1]["competences"].append(
        {"code": "EV2.3", "title": "Semer un gazon", "kind": "savoir_faire"})
    a = d.post("/v1/skills/referentials/import", doc, who="eti")
    assert a.status == 201, a
    assert a.headers["Location"] == "/v1/skills/referentials/%d" % a.body["id"]
    back = d.get("/v1/skills/referentials/%d/export" % a.body["id"], who="eti").body
    assert back == doc
    # The old version and what was evaluated against it are still there.
    assert d.get("/v1/skills/competences/%d" % old["id"], who="eti").body["title"] == old["title"]
    prog = d.get("/v1/skills/employees/%d/progression" % w["person"], who="cip").body
    item = [i for i in prog["items"] if i["competence_id"] == old["id"]][0]
    assert (item["referential"]["version"], item["level"], item["history"][0]["id"]) == (
        1, 3, e["id"]), item


ROME_COLUMNS = ["code_domaine_competence", "libelle_domaine_competence", "code_enjeu",
                "libelle_enjeu", "code_objectif", "libelle_objectif", "code_macro_competence",
                "libelle_macro_competence", "code_ogr_macro_competence", "code_competence",
                "code_ogr_competence", "libelle_competence"]
ROME_ROWS = [
    ["1", "Réaliser une activité de production", "11", "Entretenir des espaces",
     "111", "Entretenir les espaces verts", "1111", "Tondre, tailler, débroussailler",
     "300412", "C1", "124533", "Tailler une haie, un arbuste"],
    ["1", "Réaliser une activité de production", "11", "Entretenir des espaces",
     "111", "Entretenir les espaces verts", "1111", "Tondre, tailler, débroussailler",
     "300412", "C2", "124534", "Utiliser une débroussailleuse \"à dos\""],
    ["2", "Travailler en sécurité", "21", "Prévenir les risques", "211",
     "Appliquer les règles", "2111", "Porter les EPI", "300500", "C3", "124600",
     "Porter les équipements de protection individuelle"],
]


def rome_csv(rows, sep=","):
    out = io.StringIO()
    w = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    w.writerow(ROME_COLUMNS)
    w.writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize("sep", [",", ";"])
def test_import_csv__rome_layout__round_trip_read_by_python_csv(world, sep):
    d = world["d"]
    doc = {"code": "ROME-" + tt.unique(), "title": "Fiche A1203 (extrait)", "version": 1,
           "source": "rome", "levels": ["non acquis", "acquis"], "csv": rome_csv(ROME_ROWS, sep)}
    a = d.post("/v1/skills/referentials/import", doc, who="eti")
    assert a.status == 201, a
    rid = a.body["id"]
    comps = d.list_all("/v1/skills/referentials/%d/competences" % rid, who="eti")
    assert [(c["block_code"], c["code"], c["external_code"]) for c in comps] == [
        ("1", "124533", "124533"), ("1", "124534", "124534"), ("2", "124600", "124600")]
    a = d.get("/v1/skills/referentials/%d/export?format=csv" % rid, who="coordinator")
    assert a.status == 200 and a.headers["Content-Type"].startswith("text/csv"), a
    rows = list(csv.reader(io.StringIO(a.raw.decode("utf-8"), newline="")))
    assert rows[0] == ROME_COLUMNS and rows[1:] == ROME_ROWS, rows
    # A referential of our own in the same layout: domains are its blocks.
    ev = world["refs"]["espaces_verts"]["id"]
    rows = list(csv.reader(io.StringIO(d.get("/v1/skills/referentials/%d/export?format=csv"
                                             % ev, who="cip").raw.decode("utf-8"))))
    assert rows[1][:2] == ["EV1", "Entretenir les espaces verts"]
    assert rows[1][10:] == ["EV1.1", "Tondre une pelouse"] and len(rows) == 11
    assert d.get("/v1/skills/referentials/%d/export?format=xml" % ev, who="cip").status == 400


@pytest.mark.parametrize("text, words", [
    ("code;libelle\r\n", "line 1"),
    (rome_csv([ROME_ROWS[0][:11]]), "line 2"),
    (rome_csv([ROME_ROWS[0][:10] + ["", "x"]]), "line 2"),
    (rome_csv(ROME_ROWS) + '2,"a quote never closed\r\n', "line 5"),
])
def test_import_csv__bad__422_on_csv_naming_the_line_nothing_written(world, text, words):
    d = world["d"]
    before = (rows(d, "skills_referentials"), rows(d, "skills_competences"))
    doc = {"code": "ROME-" + tt.unique(), "title": "x", "version": 1, "source": "rome",
           "levels": ["non acquis", "acquis"], "csv": text}
    a = d.post("/v1/skills/referentials/import", doc, who="eti")
    assert (a.status, a.error["field"]) == (422, "csv"), a
    assert words in a.error["message"], a
    assert (rows(d, "skills_referentials"), rows(d, "skills_competences")) == before


def test_import__csv_layout_is_not_json__400(world):
    d = world["d"]
    a = d.call("POST", "/v1/skills/referentials/import", "code_ogr_competence;libelle",
               who="eti", content_type="text/csv")
    assert a.status in (400, 415), a


def bad_docs():
    base = shipped("savoir_etre")
    base["code"] = "T-" + tt.unique()
    out = []
    d = copy.deepcopy(base); d["levels"] = ["seul"]; out.append((d, "levels"))
    d = copy.deepcopy(base); d["levels"] = ["l%d" % i for i in range(9)]; out.append((d, "levels"))
    d = copy.deepcopy(base); d["acquired_from"] = 5; out.append((d, "acquired_from"))
    d = copy.deepcopy(base); d["source"] = "inventé"; out.append((d, "source"))
    d = copy.deepcopy(base); del d["title"]; out.append((d, "title"))
    d = copy.deepcopy(base); d["blocks"] = []; out.append((d, "blocks"))
    d = copy.deepcopy(base); d["blocks"][1]["competences"][2]["kind"] = "savoir_vivre"
    out.append((d, "blocks[1].competences[2].kind"))
    d = copy.deepcopy(base); del d["blocks"][0]["competences"][0]["title"]
    out.append((d, "blocks[0].competences[0].title"))
    d = copy.deepcopy(base); d["blocks"][2]["competences"][1]["code"] = "SE3.1"
    out.append((d, None))  # the same code twice in one referential
    return out


@pytest.mark.parametrize("doc, field", bad_docs())
def test_import__bad_document__refused_naming_the_field_nothing_written(world, doc, field):
    d = world["d"]
    before = (rows(d, "skills_referentials"), rows(d, "skills_competences"))
    a = d.post("/v1/skills/referentials/import", doc, who="eti")
    assert a.status in (409, 422), a
    if field is not None:
        assert a.error["field"] == field, a
    assert (rows(d, "skills_referentials"), rows(d, "skills_competences")) == before


def test_referentials__read_only_routes(world):
    d = world["d"]
    rid = world["refs"]["rncp39794"]["id"]
    assert d.patch("/v1/skills/referentials/%d" % rid, {"title": "x"}, who="eti").status == 405
    assert d.post("/v1/skills/referentials", shipped("rncp39794"), who="eti").status == 405


# -- evaluations ----------------------------------------------------------------------


def test_evaluation__eti_records__cip_and_coordinator_read(world):
    d, w = world["d"], world
    a = d.post(evaluations(w), ev_body(w, evaluated_on="2026-02-09"), who="eti")
    assert a.status == 201, a
    b = a.body
    assert (b["kind"], b["level"], b["created_by"], b["employee_id"]) == (
        "evaluation", 2, w["eti"], w["person"]), b
    for who in ("cip", "coordinator"):
        got = d.get("/v1/skills/evaluations/%d" % b["id"], who=who)
        assert got.status == 200 and got.body["evidence"] == b["evidence"], got
        assert b["id"] in [i["id"] for i in d.list_all(evaluations(w), who=who)]
    assert d.get("/v1/skills/evaluations/%d" % b["id"], who="admin").status == 403


@pytest.mark.parametrize("who", ["cip", "coordinator", "admin"])
def test_evaluation__others_than_eti__may_not_record(world, who):
    d, w = world["d"], world
    before = rows(d, "skills_evaluations")
    a = d.post(evaluations(w), ev_body(w), who=who)
    assert a.status == 403, a
    assert rows(d, "skills_evaluations") == before


def test_evaluation__append_only(world):
    d, w = world["d"], world
    e = d.create(evaluations(w), ev_body(w), who="eti")
    before = rows(d, "skills_evaluations")
    assert d.patch("/v1/skills/evaluations/%d" % e["id"], {"level": 3}, who="eti").status == 405
    assert d.call("DELETE", "/v1/skills/evaluations/%d" % e["id"], who="eti").status == 405
    assert rows(d, "skills_evaluations") == before


@pytest.mark.parametrize("over, field", [
    ({"competence_id": 999999}, "competence_id"),
    ({"level": 5}, "level"),
    ({"level": 0}, "level"),
    ({"evaluated_on": "2026-03-03"}, "evaluated_on"),   # tomorrow on the test clock
    ({"evaluated_on": "2026-01-04"}, "evaluated_on"),   # the day before the first contract
    ({"evaluated_on": "2026-02-30"}, "evaluated_on"),
    ({"evaluator_id": "cip"}, "evaluator_id"),          # a CIP on a savoir-faire
    ({"evaluator_id": "coordinator"}, "evaluator_id"),
    ({"kind": "peer"}, "kind"),
    ({"work_order_id": 12}, "work_order_id"),           # no production plugin here
    ({"corrects_id": 999999}, "corrects_id"),
    ({"situation": "x" * 501}, "situation"),
])
def test_evaluation__bad_input__422_naming_the_field_nothing_written(world, over, field):
    d, w = world["d"], world
    ids = {"cip": w["cip"], "coordinator": w["staff"]["daemon"]["id"]}
    if over.get("evaluator_id") in ids:
        over = dict(over, evaluator_id=ids[over["evaluator_id"]])
    before = rows(d, "skills_evaluations")
    a = d.post(evaluations(w), ev_body(w, **over), who="eti")
    assert (a.status, a.error["field"]) == (422, field), a
    assert rows(d, "skills_evaluations") == before


def test_evaluation__person_without_contract__refused(world):
    d, w = world["d"], world
    p = new_person(d, w["structure"], w["staff"], start=None)
    settled(d)
    a = d.post(evaluations(w, p), ev_body(w), who="eti")
    assert (a.status, a.error["field"]) == (422, "evaluated_on"), a
    assert "no contract" in a.error["message"]


def test_evaluation__person_hired_while_the_plugin_was_not_loaded__accepted(make_daemon):
    """A structure that loads the plugin on a database that holds files already:
    the kernel's contracts count, though the plugin never saw their events."""
    d = make_daemon(start=False, plugin_files=["skills"], plugins={})
    with ls.environment(TREMPLIN_TEST_CLOCK=CLOCK):
        d.start()
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    before = new_person(d, structure, staff, start="2026-01-05")
    nothing = new_person(d, structure, staff, start=None)
    d.stop()
    d.write_config(plugins=SECTION)
    with ls.environment(TREMPLIN_TEST_CLOCK=CLOCK):
        d.start()
    assert d.post("/v1/skills/referentials/load", {"name": "espaces_verts"},
                  who="eti").status == 201
    comp = d.list_all("/v1/skills/referentials/1/competences", who="eti")[0]["id"]
    body = {"competence_id": comp, "level": 2, "evaluator_id": staff["sys"]["id"]}
    a = d.post("/v1/skills/employees/%d/evaluations" % before,
               dict(body, evaluated_on="2026-02-02"), who="eti")
    assert a.status == 201, a
    # Before the first contract, or without one, still refused.
    a = d.post("/v1/skills/employees/%d/evaluations" % before,
               dict(body, evaluated_on="2026-01-02"), who="eti")
    assert (a.status, a.error["field"]) == (422, "evaluated_on"), a
    a = d.post("/v1/skills/employees/%d/evaluations" % nothing,
               dict(body, evaluated_on="2026-02-02"), who="eti")
    assert (a.status, a.error["field"]) == (422, "evaluated_on"), a
    assert len(d.sql("SELECT id FROM skills_evaluations")) == 1


def test_evaluation__cip_evaluates_savoir_etre__self_evaluation_kind(world):
    d, w = world["d"], world
    a = d.post(evaluations(w), ev_body(w, ("savoir_etre", "SE1.1"), evaluator_id=w["cip"],
                                       level=3), who="eti")
    assert a.status == 201, a
    a = d.post(evaluations(w), ev_body(w, ("savoir_etre", "SE1.1"), kind="self_evaluation",
                                       level=4), who="eti")
    assert (a.status, a.body["kind"]) == (201, "self_evaluation"), a


def test_evaluation__correction_of_another_competence__refused(world):
    d, w = world["d"], world
    e = d.create(evaluations(w), ev_body(w, ("espaces_verts", "EV1.2")), who="eti")
    a = d.post(evaluations(w), ev_body(w, ("espaces_verts", "EV1.3"), corrects_id=e["id"]),
               who="eti")
    assert (a.status, a.error["field"]) == (422, "corrects_id"), a


# -- progression, matrix and views ------------------------------------------------------


def test_progression__current_level_history_trend_correction(world):
    d, w = world["d"], world
    p = new_person(d, w["structure"], w["staff"])
    settled(d)
    hedge = ("espaces_verts", "EV1.2")
    first = d.create(evaluations(w, p), ev_body(w, hedge, level=1, evaluated_on="2026-01-12"),
                     who="eti")
    d.create(evaluations(w, p), ev_body(w, hedge, level=2, evaluated_on="2026-01-26"), who="eti")
    wrong = d.create(evaluations(w, p), ev_body(w, hedge, level=4, evaluated_on="2026-02-16"),
                     who="eti")
    fixed = d.create(evaluations(w, p), ev_body(w, hedge, level=3, evaluated_on="2026-02-16",
                                                corrects_id=wrong["id"],
                                                comment="niveau saisi par erreur"), who="eti")
    d.create(evaluations(w, p), ev_body(w, hedge, level=4, kind="self_evaluation",
                                        evaluated_on="2026-02-20"), who="eti")
    a = d.get("/v1/skills/employees/%d/progression" % p, who="coordinator")
    assert a.status == 200, a
    [item] = a.body["items"]
    assert (item["code"], item["level"], item["level_name"], item["acquired"], item["trend"]) == (
        "EV1.2", 3, "acquis", True, "up"), item
    hist = item["history"]
    assert [h["id"] for h in hist][0] == first["id"] and len(hist) == 5
    assert [h for h in hist if h["id"] == wrong["id"]][0]["corrected"] is True
    assert [h for h in hist if h["id"] == fixed["id"]][0]["corrects_id"] == wrong["id"]
    # The same through the view other plugins and site scripts read, as a Lua script would.
    assert d.get("/v1/skills/employees/%d/progression" % p, who="admin").status == 403
    assert d.get("/v1/skills/employees/999999/progression", who="eti").status == 404


def test_matrix__team_of_the_eti__people_by_competences(world):
    d, w = world["d"], world
    p = new_person(d, w["structure"], w["staff"])
    settled(d)
    rid = w["refs"]["espaces_verts"]["id"]
    d.create(evaluations(w, p), ev_body(w, ("espaces_verts", "EV1.1"), level=4,
                                        evaluated_on="2026-02-23"), who="eti")
    a = d.get("/v1/skills/matrix?referential_id=%d&eti_id=%d" % (rid, w["eti"]), who="eti")
    assert a.status == 200, a
    m = a.body
    codes = [c["code"] for c in m["competences"]]
    assert codes[:3] == ["EV1.1", "EV1.2", "EV1.3"] and len(codes) == 10
    row = [r for r in m["people"] if r["employee_id"] == p][0]
    assert row["first_name"] == "Camille" and len(row["cells"]) == 10
    assert row["cells"][0] == {"level": 4, "evaluated_on": "2026-02-23"}
    assert row["cells"][1] is None
    assert m["referential"]["levels"][3] == "maîtrisé"
    other = d.get("/v1/skills/matrix?referential_id=%d&eti_id=%d" % (rid, w["cip"]), who="cip")
    assert other.status == 200 and other.body["people"] == [], other
    assert d.get("/v1/skills/matrix", who="eti").status == 400
    assert d.get("/v1/skills/matrix?referential_id=%d" % rid, who="admin").status == 403


# -- the rule skills_stale, end to end ----------------------------------------------------

RULE_CLOCK = "2026-04-20T08:00:00Z"  # a Monday, seven weeks after 2026-03-02


def test_rule_skills_stale__referent_eti_told_once(make_daemon):
    d = ls.script_daemon(make_daemon, {}, start=False, script_dir=ls.TOP_LUA,
                         plugin_files=["skills"], plugins=SECTION)
    ls.start_daemon(d, CLOCK)
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    assert d.post("/v1/skills/referentials/load", {"name": "espaces_verts"},
                  who="eti").status == 201
    comp = d.list_all("/v1/skills/referentials/1/competences", who="eti")[0]["id"]
    old = new_person(d, structure, staff, start="2026-01-05")       # evaluated 2026-03-02
    recent = new_person(d, structure, staff, start="2026-01-05")    # evaluated 2026-04-13
    never = new_person(d, structure, staff, start="2026-01-05")     # never evaluated
    ended = new_person(d, structure, staff, start="2025-09-01", end="2026-03-31")
    settled(d)
    body = {"competence_id": comp, "level": 2, "evaluator_id": staff["sys"]["id"]}
    for p in (old, recent, ended):
        assert d.post("/v1/skills/employees/%d/evaluations" % p,
                      dict(body, evaluated_on="2026-03-02"), who="eti").status == 201
    d.stop()
    ls.start_daemon(d, "2026-04-13T08:00:00Z")
    assert d.post("/v1/skills/employees/%d/evaluations" % recent,
                  dict(body, evaluated_on="2026-04-13"), who="eti").status == 201
    d.stop()
    ls.set_scripts(d, {"skills_stale": {"role": "coordinator", "options": {"weeks": 6}}})
    ls.start_daemon(d, RULE_CLOCK)
    ls.wait_line(d, "skills_stale", "2 notification(s)")
    # The call's notifications are written when it ends, after its log lines (in a worker).
    got = tt.wait_for("the rule's notifications",
                      lambda: (lambda rows: rows if len(rows) >= 2 else None)(
                          ls.outbox(d, "source = 'lua:skills_stale'")))
    assert sorted((r["recipient_staff_id"], r["employee_id"]) for r in got) == sorted(
        [(staff["sys"]["id"], old), (staff["sys"]["id"], never)]), got
    assert "depuis le 02/03/2026" in [r["message"] for r in got if r["employee_id"] == old][0]
    # Seen again the next day: nothing new.
    d.stop()
    offset = d.log_size()
    ls.start_daemon(d, "2026-04-21T08:00:05Z")
    # Calls: the setup, the main chunk, the daily run.
    tt.wait_for("the second daily run",
                lambda: ls.item(d, "skills_stale")["script"]["calls"] >= 3)
    d.stop()
    assert ls.outbox(d, "source = 'lua:skills_stale'") == got
    assert [x for x in ls.script_lines(d, "skills_stale", since=offset)
            if "notification" in x] == []


def test_copy__files_made_or_changed_while_unloaded__rebuilt_at_start(make_daemon):
    """The plugin's copy of contracts and referent ETIs is fed by events while it is
    loaded; what was done while it was not (hired, referent changed, contract ended
    early, file erased) is read from the kernel when it starts: the matrix and the
    rule skills_stale then see the team as the kernel has it."""
    d = ls.script_daemon(make_daemon, {}, start=False, script_dir=ls.TOP_LUA,
                         plugin_files=["skills"], plugins={})
    ls.start_daemon(d, CLOCK)
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    eti2 = d.create("/v1/staff", tt.staff_body(name="Encadrante Deux"))["id"]
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    ended = new_person(d, structure, staff)           # ends early while unloaded
    moved = new_person(d, structure, staff)           # referent changed while unloaded
    erased = new_person(d, structure, staff, start="2019-01-07", end="2019-06-30")
    d.stop()
    d.write_config(plugins=SECTION)                    # loaded once: sees nobody hired
    ls.start_daemon(d, CLOCK)
    settled(d)
    assert d.post("/v1/skills/referentials/load", {"name": "espaces_verts"},
                  who="eti").status == 201
    d.stop()
    d.write_config(plugins={})                         # unloaded again
    ls.start_daemon(d, CLOCK)
    contract = d.list_all("/v1/employees/%d/contracts" % ended, who="cip")[0]["id"]
    a = d.patch("/v1/contracts/%d" % contract, {"ended_on": "2026-02-27"}, who="cip")
    assert a.status == 200, a
    a = d.patch("/v1/employees/%d" % moved, {"referent_eti_id": eti2}, who="cip")
    assert a.status == 200, a
    hired = new_person(d, structure, staff, eti="sys")
    a = d.patch("/v1/employees/%d" % hired, {"referent_eti_id": eti2}, who="cip")
    assert a.status == 200, a
    assert d.post("/v1/employees/%d/exits" % erased,
                  {"exit_date": "2019-06-30", "category": "emploi_durable",
                   "destination": "CDI"}, who="cip").status == 201
    a = d.call("DELETE", "/v1/employees/%d" % erased, {"reason": "request"}, who="coordinator")
    assert a.status == 200, a
    d.stop()
    d.write_config(plugins=SECTION)
    ls.set_scripts(d, {"skills_stale": {"role": "coordinator", "options": {"weeks": 6}}})
    ls.start_daemon(d, RULE_CLOCK)
    assert sorted(d.sql("SELECT c.employee_id, c.ended_on, p.referent_eti_id"
                        " FROM skills_contracts c JOIN skills_people p USING (employee_id)")) \
        == sorted([(ended, "2026-02-27", staff["sys"]["id"]), (moved, None, eti2),
                   (hired, None, eti2)])
    rid = d.list_all("/v1/skills/referentials", who="eti")[0]["id"]
    team = d.get("/v1/skills/matrix?referential_id=%d&eti_id=%d" % (rid, eti2), who="eti")
    assert team.status == 200, team
    assert sorted(r["employee_id"] for r in team.body["people"]) == sorted([moved, hired])
    mine = d.get("/v1/skills/matrix?referential_id=%d&eti_id=%d" % (rid, staff["sys"]["id"]),
                 who="eti")
    assert mine.status == 200 and mine.body["people"] == [], mine
    ls.wait_line(d, "skills_stale", "2 notification(s)")
    # The call's notifications are written when it ends, after its log lines (in a worker).
    got = tt.wait_for("the rule's notifications",
                      lambda: (lambda rows: rows if len(rows) >= 2 else None)(
                          ls.outbox(d, "source = 'lua:skills_stale'")))
    assert sorted((r["recipient_staff_id"], r["employee_id"]) for r in got) == sorted(
        [(eti2, moved), (eti2, hired)]), got
    assert d.sql("SELECT count(*) FROM skills_people WHERE employee_id = ?", (erased,)) \
        == [(0,)]


def test_rule_skills_stale__without_the_plugin__fails_saying_why(make_daemon):
    d = ls.script_daemon(make_daemon, {"skills_stale": {"role": "coordinator"}}, start=False,
                         script_dir=ls.TOP_LUA)
    ls.start_daemon(d, CLOCK)
    p = tt.wait_for("the script's refusal", lambda: (lambda i: i if i["last_error"] else None)(
        ls.item(d, "skills_stale")))
    assert "skills.stale.v1" in p["last_error"], p


# -- the attestation de compétences ---------------------------------------------------

def pdf_text(raw, tmp_path):
    """The PDF's text as poppler's pdftotext reads it (UTF-8)."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is missing: sh scripts/deps.sh test")
    f = tmp_path / "a.pdf"
    f.write_bytes(raw)
    p = subprocess.run(["pdftotext", "-enc", "UTF-8", str(f), "-"], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return " ".join(p.stdout.decode("utf-8").split())


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def html_text(raw):
    p = _Text()
    p.feed(raw.decode("utf-8"))
    return " ".join(" ".join(p.parts).split())


@pytest.fixture(scope="module")
def attested(world):
    """A person with acquired, not acquired, corrected and savoir-être competences."""
    d, w = world["d"], world
    p = new_person(d, w["structure"], w["staff"])
    settled(d)
    d.patch("/v1/employees/%d" % p, {"first_name": "Zoé", "last_name": "Lefèvre-Œuvray"},
            who="cip")
    ev = lambda comp, **kw: d.create(evaluations(w, p), ev_body(w, comp, **kw), who="eti")
    ev(("espaces_verts", "EV1.2"), level=4, evaluated_on="2026-02-16")      # maîtrisé
    ev(("espaces_verts", "EV1.3"), level=2, evaluated_on="2026-02-16")      # en cours
    wrong = ev(("espaces_verts", "EV3.1"), level=3, evaluated_on="2026-02-02")
    ev(("espaces_verts", "EV3.1"), level=2, evaluated_on="2026-02-02", corrects_id=wrong["id"])
    ev(("espaces_verts", "EV2.1"), level=3, evaluated_on="2026-02-25")      # after the period
    ev(("espaces_verts", "EV1.4"), level=4, kind="self_evaluation", evaluated_on="2026-02-16")
    ev(("savoir_etre", "SE1.2"), level=3, evaluated_on="2026-02-10", evaluator_id=w["cip"])
    base = {"period_from": "2026-01-05", "period_to": "2026-02-20", "eti_id": w["eti"],
            "coordinator_id": w["staff"]["daemon"]["id"]}
    return {"p": p, "base": base}


def attestations(w, p):
    return "/v1/skills/employees/%d/attestations" % p


@pytest.mark.parametrize("consent", [False, True])
def test_attestation__pdf_and_html__acquired_only_accents_intact(world, attested, consent,
                                                                  tmp_path):
    d, w, p = world["d"], world, attested["p"]
    body = dict(attested["base"])
    if consent:
        body.update(savoir_etre_consent=True, consent_on="2026-02-20")
    a = d.create(attestations(w, p), body, who="coordinator" if consent else "eti")
    pdf = d.get("/v1/skills/attestations/%d/pdf" % a["id"], who="cip")
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf
    assert pdf.raw.startswith(b"%PDF-")
    html_ = d.get("/v1/skills/attestations/%d/html" % a["id"], who="eti")
    assert html_.status == 200 and html_.headers["Content-Type"].startswith("text/html"), html_
    for text in (pdf_text(pdf.raw, tmp_path), html_text(html_.raw)):
        assert "Attestation de compétences" in text, text
        assert "Zoé Lefèvre-Œuvray" in text and "du 05/01/2026 au 20/02/2026" in text, text
        assert "Tailler une haie" in text and "maîtrisé" in text, text
        assert "16/02/2026" in text
        # Not acquired, corrected below the threshold, after the period, self-evaluated.
        for absent in ("Débroussailler", "Entretenir l'outillage", "Planter",
                       "Ramasser et évacuer"):
            assert absent not in text, (absent, text)
        assert ("Respecter les consignes de sécurité" in text) == consent, text
        assert "Encadrant ETI" in text and "Coordinatrice" in text, text
        # Nothing of the person's file but the name.
        assert "1988" not in text and "france_travail" not in text


@pytest.mark.parametrize("over, field", [
    ({"savoir_etre_consent": True}, "consent_on"),
    ({"period_to": "2025-12-31"}, "period_to"),
    ({"period_to": "2026-03-03"}, "period_to"),
    ({"eti_id": "cip"}, "eti_id"),
    ({"coordinator_id": "eti"}, "coordinator_id"),
])
def test_attestation__bad_input__422_nothing_written(world, attested, over, field):
    d, w = world["d"], world
    ids = {"cip": w["cip"], "eti": w["eti"]}
    over = {k: ids.get(v, v) if isinstance(v, str) and k.endswith("_id") else v
            for k, v in over.items()}
    before = rows(d, "skills_attestations")
    a = d.post(attestations(w, attested["p"]), dict(attested["base"], **over), who="eti")
    assert (a.status, a.error["field"]) == (422, field), a
    assert rows(d, "skills_attestations") == before


@pytest.mark.parametrize("who, status", [("cip", 403), ("admin", 403)])
def test_attestation__issued_by_eti_or_coordinator_only(world, attested, who, status):
    d, w = world["d"], world
    before = rows(d, "skills_attestations")
    a = d.post(attestations(w, attested["p"]), attested["base"], who=who)
    assert a.status == status, a
    assert rows(d, "skills_attestations") == before


def test_attestation__admin_reads_none__unknown_404(world, attested):
    d, w = world["d"], world
    a = d.create(attestations(w, attested["p"]), attested["base"], who="eti")
    assert d.get("/v1/skills/attestations/%d/pdf" % a["id"], who="admin").status == 403
    assert d.get("/v1/skills/attestations/999999/html", who="eti").status == 404
    assert d.patch("/v1/skills/attestations/%d" % a["id"], {"period_to": "2026-02-21"},
                   who="eti").status == 405


# -- Open Badges 3.0 ------------------------------------------------------------------

ISSUER = "https://atelier-vert.example.org"
VERIFY = os.path.join(os.path.dirname(__file__), "verify_badge.js")


def node_verify(jwks, jwt):
    """What jose says of a credential: ("ok", payload) or ("refused", code)."""
    modules = os.path.join(tt.TOP_SRCDIR, "build", "node", "node_modules")
    if not os.path.isdir(os.path.join(modules, "jose")):
        pytest.fail("no jose in %s: sh scripts/deps.sh test" % modules)
    p = subprocess.run(["node", VERIFY, json.dumps(jwks), jwt, ISSUER], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, NODE_PATH=modules))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    return ("ok", out["payload"]) if out["ok"] else ("refused", out["code"])


@pytest.fixture(scope="module")
def badged(module_daemons, tmp_path_factory):
    """A daemon with a key made by tremplinctl skills keygen, and a person with acquired skills."""
    key = str(tmp_path_factory.mktemp("key") / "badges.pem")
    p = tt.ctl("skills", "keygen", key)
    assert p.returncode == 0 and p.stdout.strip() == key, p.stderr
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    section = {"skills": dict(SECTION["skills"], badge_key_file=key, badge_issuer_url=ISSUER,
                              badge_issuer_name="Atelier Vert")}
    d = module_daemons(start=False, plugin_files=["skills"], plugins=section)
    with ls.environment(TREMPLIN_TEST_CLOCK=CLOCK):
        d.start()
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    rncp = d.post("/v1/skills/referentials/load", {"name": "rncp39794"}, who="eti").body
    ev = d.post("/v1/skills/referentials/load", {"name": "espaces_verts"}, who="eti").body
    comps = {c["code"]: c["id"] for r in (rncp, ev)
             for c in d.list_all("/v1/skills/referentials/%d/competences" % r["id"], who="eti")}
    person = new_person(d, structure, staff)
    settled(d)
    for code, level in (("EV1.2", 3), ("EV1.3", 2), ("BC03.1", 4)):
        d.create("/v1/skills/employees/%d/evaluations" % person,
                 {"competence_id": comps[code], "level": level, "evaluated_on": "2026-02-16",
                  "evaluator_id": staff["sys"]["id"]}, who="eti")
    return {"d": d, "person": person, "comps": comps, "key": key}


def badges(b):
    return "/v1/skills/employees/%d/badges" % b["person"]


def test_issuer__profile_and_jwks(badged):
    d = badged["d"]
    for who in ("eti", "cip", "coordinator", "admin"):
        a = d.get("/v1/skills/issuer", who=who)
        assert a.status == 200, a
    b = a.body
    assert (b["id"], b["type"], b["name"]) == (ISSUER, ["Profile"], "Atelier Vert"), b
    [k] = b["jwks"]["keys"]
    assert (k["kty"], k["crv"], k["alg"]) == ("OKP", "Ed25519", "EdDSA") and k["kid"], k


def test_badge__issued_verified_by_jose_ob3_shape(badged):
    d = badged["d"]
    a = d.post(badges(badged), {"competence_id": badged["comps"]["BC03.1"]}, who="coordinator")
    assert a.status == 201, a
    got = d.get("/v1/skills/badges/%d" % a.body["id"], who="cip").body
    assert got["level"] == 4 and got["credential_id"].startswith("urn:uuid:"), got
    jwks = d.get("/v1/skills/issuer", who="eti").body["jwks"]
    verdict, vc = node_verify(jwks, got["credential"])
    assert verdict == "ok", vc
    # The properties OB 3.0 requires of an OpenBadgeCredential.
    assert vc["@context"][:2] == ["https://www.w3.org/ns/credentials/v2",
                                  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert {"VerifiableCredential", "OpenBadgeCredential"} <= set(vc["type"])
    assert vc["id"] == got["credential_id"] == vc["jti"] and vc["iss"] == ISSUER
    assert vc["issuer"]["id"] == ISSUER and "Profile" in vc["issuer"]["type"]
    assert vc["validFrom"].startswith("2026-03-02T") and vc["nbf"] > 0
    subject = vc["credentialSubject"]
    assert "AchievementSubject" in subject["type"]
    ident = subject["identifier"][0]
    assert ident["hashed"] is True and ident["identityHash"].startswith("sha256$")
    ach = subject["achievement"]
    assert "Achievement" in ach["type"] and ach["id"].startswith(ISSUER)
    assert ach["name"].startswith("Préparer les séances d'apprentissage")
    assert "maîtrisé" in ach["criteria"]["narrative"]
    [al] = ach["alignment"]
    assert al["type"] == ["Alignment"] and al["targetCode"] == "BC03.1"
    assert al["targetUrl"] == "https://www.francecompetences.fr/recherche/rncp/39794/", al
    # Nothing of the person in clear: no name, no birth date.
    assert "Camille" not in got["credential"] and "1988" not in json.dumps(vc)


def test_badge__tampered__refused_by_jose(badged):
    d = badged["d"]
    b = d.create(badges(badged), {"competence_id": badged["comps"]["EV1.2"]}, who="eti")
    jwt = d.get("/v1/skills/badges/%d" % b["id"], who="eti").body["credential"]
    jwks = d.get("/v1/skills/issuer", who="eti").body["jwks"]
    head, payload, sig = jwt.split(".")
    raw = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw["credentialSubject"]["achievement"]["name"] = "Encadrer une équipe"
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    assert node_verify(jwks, ".".join((head, forged, sig)))[0] == "refused"
    # Signed by another key: refused too.
    other = {"keys": [dict(jwks["keys"][0], x=base64.urlsafe_b64encode(
        os.urandom(32)).decode().rstrip("="))]}
    assert node_verify(other, jwt)[0] == "refused"
    assert node_verify(jwks, jwt)[0] == "ok"


def test_badge__revoked__told_apart_from_tampered(badged):
    d = badged["d"]
    b = d.create(badges(badged), {"competence_id": badged["comps"]["EV1.2"]}, who="eti")
    a = d.patch("/v1/skills/badges/%d" % b["id"], {"revoked_on": "2026-03-01",
                                                  "revocation_reason": "délivré par erreur"},
                who="coordinator")
    assert a.status == 200 and a.body["revoked_on"] == "2026-03-01", a
    got = d.get("/v1/skills/badges/%d" % b["id"], who="eti").body
    # Still genuine (jose verifies it), and listed as revoked where its status points.
    verdict, vc = node_verify(d.get("/v1/skills/issuer", who="eti").body["jwks"],
                              got["credential"])
    assert verdict == "ok"
    assert vc["credentialStatus"] == {"id": ISSUER + "/revocations",
                                      "type": "1EdTechRevocationList"}
    revoked = d.get("/v1/skills/issuer/revocations", who="admin").body["revoked"]
    assert {"id": vc["id"], "revoked_on": "2026-03-01"} in revoked
    a = d.patch("/v1/skills/badges/%d" % b["id"], {"revoked_on": None}, who="eti")
    assert (a.status, a.error["field"]) == (422, "revoked_on"), a


@pytest.mark.parametrize("code, who, status, field", [
    ("EV1.3", "eti", 422, "competence_id"),      # level 2: not acquired
    ("EV1.1", "eti", 422, "competence_id"),      # never evaluated
    ("EV1.2", "cip", 403, None),
    ("EV1.2", "admin", 403, None),
])
def test_badge__refused_nothing_written(badged, code, who, status, field):
    d = badged["d"]
    before = rows(d, "skills_badges")
    a = d.post(badges(badged), {"competence_id": badged["comps"][code]}, who=who)
    assert a.status == status, a
    if field:
        assert a.error["field"] == field, a
    assert rows(d, "skills_badges") == before


def test_badge__not_configured__issuer_404_and_refused(world):
    d, w = world["d"], world
    assert d.get("/v1/skills/issuer", who="eti").status == 404
    a = d.post("/v1/skills/employees/%d/badges" % w["person"],
               {"competence_id": w["comps"][("espaces_verts", "EV1.1")]["id"]}, who="eti")
    assert (a.status, a.error["field"]) == (422, "competence_id"), a


def test_keygen__never_over_a_file(tmp_path):
    f = tmp_path / "k.pem"
    f.write_text("keep")
    p = tt.ctl("skills", "keygen", str(f))
    assert p.returncode == 1 and "exists" in p.stderr, p.stderr
    assert f.read_text() == "keep"


# -- the person's rights: export and erasure; the view a site script reads ------------------


# The last test of the `badged` daemon: it erases its person.
def test_export_and_erasure__skills_records_go_with_the_file(badged):
    d = badged["d"]
    p = badged["person"]
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    d.create(badges(badged), {"competence_id": badged["comps"]["EV1.2"]}, who="eti")
    d.create("/v1/skills/employees/%d/attestations" % p,
             {"period_from": "2026-01-05", "period_to": "2026-02-27",
              "eti_id": staff["sys"]["id"]}, who="eti")
    a = d.get("/v1/employees/%d/export" % p, who="cip")
    assert a.status == 200, a
    recs = a.body["records"]
    assert [e["level"] for e in recs["skills.evaluation"]] == [3, 2, 4]
    assert recs["skills.attestation"][0]["period_to"] == "2026-02-27"
    assert recs["skills.badge"] and all(b["credential"] for b in recs["skills.badge"])
    a = d.call("DELETE", "/v1/employees/%d" % p, {"reason": "request"}, who="coordinator")
    assert a.status == 200, a
    settled(d)
    for table in ("skills_evaluations", "skills_attestations", "skills_badges",
                  "skills_people", "skills_contracts"):
        assert d.sql("SELECT count(*) FROM %s WHERE employee_id = ?" % table, (p,)) == [(0,)], \
            table


ACQUIRED_PROBE = """\
-- probe: what skills.acquired.v1 shows of one person
local rows = view("skills.acquired.v1", { employee_id = options.id })
for _, r in ipairs(rows) do
  log("info", string.format("acquired %s level=%d acquired=%s on=%s", r.code, r.level,
    tostring(r.acquired), r.evaluated_on))
end
"""


def test_view_acquired__read_by_a_site_script(make_daemon):
    d = ls.script_daemon(make_daemon, {}, start=False, plugin_files=["skills"],
                         plugins=SECTION, files={"rules/probe.lua": ACQUIRED_PROBE})
    ls.start_daemon(d, CLOCK)
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    r = d.post("/v1/skills/referentials/load", {"name": "rncp39794"}, who="eti").body
    comps = {c["code"]: c["id"]
             for c in d.list_all("/v1/skills/referentials/%d/competences" % r["id"], who="eti")}
    p = new_person(d, structure, staff)
    settled(d)
    ev = lambda code, level, on, **kw: d.create(
        "/v1/skills/employees/%d/evaluations" % p,
        dict({"competence_id": comps[code], "level": level, "evaluated_on": on,
              "evaluator_id": staff["sys"]["id"]}, **kw), who="eti")
    ev("BC01.1", 2, "2026-01-12")
    ev("BC01.1", 3, "2026-02-09")
    wrong = ev("BC02.1", 4, "2026-02-09")
    ev("BC02.1", 1, "2026-02-09", corrects_id=wrong["id"])
    ev("BC03.1", 4, "2026-02-10", kind="self_evaluation")
    d.stop()
    ls.set_scripts(d, {"probe": {"role": "cip", "options": {"id": p}}})
    ls.start_daemon(d, CLOCK)
    ls.wait_line(d, "probe", "acquired BC02.1")
    lines = sorted(x for x in ls.script_lines(d, "probe") if x.startswith("acquired"))
    assert lines == ["acquired BC01.1 level=3 acquired=true on=2026-02-09",
                     "acquired BC02.1 level=1 acquired=false on=2026-02-09"], lines


# -- learning sessions ----------------------------------------------------------------

SESSION = {
    "title": "Tailler une haie de thuyas au taille-haie thermique",
    "work_situation": "Chantier de la résidence Les Tilleuls : 60 m de haie à reprendre",
    "objectives": "Tailler droit et à la bonne hauteur, en sécurité",
    "criteria": "Haie droite à ±5 cm, EPI portés, zone balisée",
    "difficulties": "Tenue de la machine à bout de bras : alterner les postes",
    "resources": "Taille-haie, cordeau, EPI, bâches",
    "evaluation_methods": "Grille d'observation en fin de séance",
}


@pytest.fixture(scope="module")
def sessions(world):
    d, w = world["d"], world
    p1 = new_person(d, w["structure"], w["staff"])
    p2 = new_person(d, w["structure"], w["staff"])
    settled(d)
    return {"p1": p1, "p2": p2}


def make_session(d, w, body=SESSION, steps=2, comps=(("espaces_verts", "EV1.2"),)):
    sid = d.create("/v1/skills/sessions", body, who="eti")["id"]
    for i in range(steps):
        d.create("/v1/skills/sessions/%d/steps" % sid,
                 {"position": i + 1, "contents": "Étape %d : démonstration du geste" % (i + 1),
                  "method": ("demonstration", "guided_practice")[i % 2], "duration_min": 15},
                 who="eti")
    for c in comps:
        d.create("/v1/skills/sessions/%d/competences" % sid,
                 {"competence_id": w["comps"][c]["id"]}, who="eti")
    return sid


@pytest.mark.parametrize("drop, field", [
    ("objectives", "objectives"), ("evaluation_methods", "evaluation_methods"),
    ("steps", "steps"), ("competences", "competences"),
])
def test_session__ready_without_a_part__422_naming_it(world, drop, field):
    d, w = world["d"], world
    body = {k: v for k, v in SESSION.items() if k != drop}
    sid = make_session(d, w, body, steps=0 if drop == "steps" else 1,
                       comps=() if drop == "competences" else (("espaces_verts", "EV1.2"),))
    before = d.get("/v1/skills/sessions/%d" % sid, who="eti").body
    a = d.patch("/v1/skills/sessions/%d" % sid, {"status": "ready"}, who="eti")
    assert (a.status, a.error["field"]) == (422, field), a
    assert d.get("/v1/skills/sessions/%d" % sid, who="eti").body == before


def test_session__planned_held_evaluated__records_evaluations(world, sessions):
    d, w = world["d"], world
    sid = make_session(d, w)
    assert d.patch("/v1/skills/sessions/%d" % sid, {"status": "ready"}, who="eti").status == 200
    a = d.patch("/v1/skills/sessions/%d" % sid, {"status": "planned"}, who="eti")
    assert (a.status, a.error["field"]) == (422, "planned_on"), a
    a = d.patch("/v1/skills/sessions/%d" % sid, {"status": "planned", "planned_on": "2026-02-24",
                                                  "place": "Résidence Les Tilleuls",
                                                  "eti_id": w["eti"]}, who="eti")
    assert a.status == 200, a
    assert d.patch("/v1/skills/sessions/%d" % sid, {"status": "ready"},
                   who="cip").status == 403
    parts = {}
    for p, came in ((sessions["p1"], True), (sessions["p2"], False)):
        parts[p] = d.create("/v1/skills/employees/%d/participations" % p,
                            {"session_id": sid}, who="eti")["id"]
        d.patch("/v1/skills/participations/%d" % parts[p], {"attended": came}, who="eti")
    comp = w["comps"][("espaces_verts", "EV1.2")]["id"]
    body = {"evaluated_on": "2026-02-24",
            "evaluations": [{"employee_id": sessions["p1"], "competence_id": comp, "level": 3}]}
    a = d.post("/v1/skills/sessions/%d/evaluate" % sid, body, who="eti")
    assert (a.status, a.error["field"]) == (422, "status"), a        # not held yet
    a = d.patch("/v1/skills/sessions/%d" % sid, {"status": "held"}, who="eti")
    assert (a.status, a.error["field"]) == (422, "what_happened"), a
    assert d.patch("/v1/skills/sessions/%d" % sid,
                   {"status": "held", "what_happened": "Séance tenue, bonne participation"},
                   who="eti").status == 200
    before = rows(d, "skills_evaluations")
    for bad, field in (
            ({"employee_id": sessions["p2"]}, "evaluations[0].employee_id"),   # absent
            ({"competence_id": w["comps"][("espaces_verts", "EV1.1")]["id"]},
             "evaluations[0].competence_id"),                                   # not linked
            ({"level": 9}, "evaluations[0].level")):
        b = dict(body, evaluations=[dict(body["evaluations"][0], **bad)])
        a = d.post("/v1/skills/sessions/%d/evaluate" % sid, b, who="eti")
        assert (a.status, a.error["field"]) == (422, field), a
        assert rows(d, "skills_evaluations") == before
    a = d.post("/v1/skills/sessions/%d/evaluate" % sid, body, who="eti")
    assert a.status == 200 and a.body["evaluations"] == 1, a
    got = d.list_all(evaluations(w, sessions["p1"]), who="cip")
    assert [(e["level"], e["situation"]) for e in got] == [
        (3, "Séance d'apprentissage n°%d : %s" % (sid, SESSION["title"]))]
    assert d.get("/v1/skills/sessions/%d" % sid, who="coordinator").body["status"] == "evaluated"


def test_session__copied_as_template__file_in_french(world, tmp_path):
    d, w = world["d"], world
    sid = make_session(d, w, comps=(("espaces_verts", "EV1.2"), ("savoir_etre", "SE1.2")))
    d.patch("/v1/skills/sessions/%d" % sid, {"status": "planned", "planned_on": "2026-03-09",
                                              "place": "Atelier", "eti_id": w["eti"]}, who="eti")
    a = d.post("/v1/skills/sessions/%d/copy" % sid, None, who="eti")
    assert a.status == 201, a
    c = a.body
    assert (c["status"], c["copied_from"], c["title"], c.get("planned_on")) == (
        "draft", sid, SESSION["title"], None), c
    assert [s_["contents"] for s_ in c["steps"]] == [
        "Étape 1 : démonstration du geste", "Étape 2 : démonstration du geste"]
    assert len(c["competences"]) == 2
    assert d.post("/v1/skills/sessions/%d/copy" % sid, None, who="cip").status == 403
    f = d.get("/v1/skills/sessions/%d/file" % sid, who="cip")
    assert f.status == 200 and f.headers["Content-Type"].startswith("text/html"), f
    text = html_text(f.raw)
    for words in ("Dossier de préparation", "1. Tâche à réaliser", SESSION["title"],
                  "2. Savoirs, savoir-faire et comportements nécessaires", "Tailler une haie",
                  "savoir-être professionnel", "3. Objectifs pédagogiques",
                  "4. Critères d'évaluation", "5. Scénario pédagogique", "démonstration",
                  "pratique guidée", "Durée totale : 30 min",
                  "6. Difficultés possibles et remédiations", SESSION["difficulties"],
                  "7. Ressources matérielles et pédagogiques",
                  "8. Modalités et outils d'évaluation", "Séance prévue le 09/03/2026"):
        assert words in text, (words, text)
    pdf = d.get("/v1/skills/sessions/%d/file?format=pdf" % sid, who="coordinator")
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf
    text = pdf_text(pdf.raw, tmp_path)
    for words in ("Dossier de préparation", "1. Tâche à réaliser", SESSION["title"],
                  "Respecter les consignes de sécurité (savoir-être professionnel)",
                  "Étape 2 (pratique guidée, 15 min)", "Durée totale : 30 min",
                  "8. Modalités et outils d'évaluation", SESSION["evaluation_methods"]):
        assert words in text, (words, text)
    assert d.get("/v1/skills/sessions/%d/file?format=doc" % sid, who="eti").status == 400


# -- the demo workshop ----------------------------------------------------------------

DEMO_CLOCK = "2026-03-02T10:00:00Z"


def test_demo__workshop_gains_referentials_evaluations_sessions_attestation(module_daemons):
    d = module_daemons(start=False, plugin_files=["skills"], plugins=SECTION,
                       staff=[{"name": "Opératrice", "unix_user": "@daemon", "role": "admin"}])
    r = subprocess.run([tt.TREMPLINCTL, "demo", "--database", d.database, "--as",
                        "cip=" + tt.ROLE_USERS["cip"], "--as",
                        "coordinator=" + tt.ROLE_USERS["coordinator"], "--as",
                        "eti1=" + tt.ROLE_USERS["eti"]], capture_output=True, text=True,
                       env=dict(os.environ, TREMPLIN_TEST_CLOCK=DEMO_CLOCK), timeout=120)
    assert r.returncode == 0, r.stderr
    tt.check_sanitizers(r.stdout + r.stderr)
    with ls.environment(TREMPLIN_TEST_CLOCK=DEMO_CLOCK):
        d.start()
    p = tt.plugins_of(d)["skills"]
    assert p["state"] == "enabled", p
    refs = d.list_all("/v1/skills/referentials", who="eti")
    assert sorted(r_["code"] for r_ in refs) == ["ESPACES-VERTS", "RNCP39794", "SAVOIR-ETRE"]
    # The referentials are those the plugin ships.
    for name in ("savoir_etre", "espaces_verts", "rncp39794"):
        r_ = [x for x in refs if x["code"] == shipped(name)["code"]][0]
        assert d.get("/v1/skills/referentials/%d/export" % r_["id"], who="eti").body == \
            shipped(name), name
    ev = [x for x in refs if x["code"] == "ESPACES-VERTS"][0]["id"]
    m = d.get("/v1/skills/matrix?referential_id=%d" % ev, who="eti").body
    assert len(m["people"]) >= 9, m["people"]
    assert all(any(c is not None for c in row["cells"]) for row in m["people"]), m["people"]
    # Progress over the year: someone's current level is above their first.
    progressed = 0
    for row in m["people"]:
        prog = d.get("/v1/skills/employees/%d/progression" % row["employee_id"],
                     who="cip").body["items"]
        progressed += any(i["level"] > i["history"][0]["level"] for i in prog)
    assert progressed >= len(m["people"]) // 2, progressed
    sessions = d.list_all("/v1/skills/sessions", who="coordinator")
    assert sorted(s_["status"] for s_ in sessions) == ["evaluated", "planned"]
    f = d.get("/v1/skills/sessions/%d/file" % sessions[0]["id"], who="eti")
    assert "Tailler une haie" in html_text(f.raw)
    [att] = d.sql("SELECT id FROM skills_attestations")
    pdf = d.get("/v1/skills/attestations/%d/pdf" % att[0], who="coordinator")
    assert pdf.status == 200 and pdf.raw.startswith(b"%PDF-"), pdf
