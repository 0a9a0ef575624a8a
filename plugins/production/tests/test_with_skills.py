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



def test_planning__required_skill_not_acquired__accepted_with_a_warning(both):
    d = both["d"]
    e = d.create("/v1/employees", {
        "structure_id": both["structure"], "first_name": "Camille", "last_name": tt.unique("S"),
        "birth_date": "1988-03-02", "prescriber_kind": "france_travail",
        "referent_cip_id": both["cip"], "referent_eti_id": both["eti"]}, who="cip")["id"]
    d.create("/v1/employees/%d/contracts" % e, {"start_date": "2026-01-15",
                                                "end_date": "2026-05-14", "weekly_hours": 26},
             who="cip")
    b = d.create(P + "/briefings", {"structure_id": both["structure"], "topic": "Gestes",
                                    "held_on": "2026-01-15"}, who="eti")["id"]
    d.create(P + "/employees/%d/briefing_attendances" % e, {"briefing_id": b}, who="eti")
    code = sorted(both["comps"])[0]
    wo = d.create(P + "/orders/%d/work_orders" % both["order"], wo_body([code]), who="eti")["id"]
    d.create(P + "/work_orders/%d/supervisions" % wo, {"date": "2026-03-02", "slot": "morning",
                                                        "staff_id": both["eti"]}, who="eti")
    a = d.post(P + "/planning", {"work_order_id": wo, "date": "2026-03-02", "slot": "morning",
                                 "employee_ids": [e]}, who="eti")
    assert a.status == 201, a
    warned = [(w["code"], w["employee_id"], w["skill"]) for w in a.body["warnings"]]
    assert warned == [("skill_not_acquired", e, code)], a.body
