"""The production plugin beside the skills plugin: a work order's required skills are
competences of the loaded referentials."""

import os

import pytest

import tremplin_test as tt

P = "/v1/production"
REFS = os.path.join(tt.TOP_SRCDIR, "etc", "skills")


@pytest.fixture(scope="module")
def both(module_daemons):
    d = module_daemons(plugin_files=["production", "skills"],
                       plugins={"production": {}, "skills": {"referentials_dir": REFS}})
    staff = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    ref = d.post("/v1/skills/referentials/load", {"name": "espaces_verts"}, who="eti")
    assert ref.status == 201, ref
    comps = {c["code"]: c for c in
             d.list_all("/v1/skills/referentials/%d/competences" % ref.body["id"], who="eti")}
    client = d.create(P + "/clients", {"structure_id": structure, "name": "Mairie",
                                       "kind": "local_authority"}, who="eti")["id"]
    order = d.create(P + "/orders", {"structure_id": structure, "client_id": client,
                                     "title": "Berges", "start_date": "2026-01-01",
                                     "end_date": "2026-06-30"}, who="coordinator")["id"]
    return {"d": d, "structure": structure, "order": order, "comps": comps,
            "cip": staff["bin"]["id"], "eti": staff["sys"]["id"]}


def wo_body(skills):
    return {"name": "Fauchage " + tt.unique(), "site": "Quai Nord", "start_date": "2026-01-05",
            "end_date": "2026-06-30", "team": "berges", "equipment": [], "skills": skills}


def test_work_order__skill_code_unknown_to_the_referentials__422_nothing_written(both):
    d = both["d"]
    before = d.sql("SELECT count(*) FROM production_work_orders")[0][0]
    a = d.post(P + "/orders/%d/work_orders" % both["order"], wo_body(["EV1.1", "ZZ9.9"]),
               who="eti")
    assert (a.status, a.error["field"]) == (422, "skills") and "ZZ9.9" in a.error["message"], a
    assert d.sql("SELECT count(*) FROM production_work_orders")[0][0] == before

