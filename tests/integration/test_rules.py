"""The shipped default rules, end to end on a real daemon with the test clock.

For each: the condition arises -> exactly one alert to the right people ->
the cause goes -> the rule resolves it. People, contracts, PASSes and
reviews are written into the database while the daemon is stopped (as in
test_lua_rule.py); the rules run from the source tree's lua/ directory.
"""

import os
import sqlite3

import pytest

import lua_support as ls
import tremplin_test as tt

NOW = "2026-01-01T00:00:00Z"


def db(d):
    return sqlite3.connect(d.database, timeout=10)


def add_person(d, structure_id, referent=None, start="2025-09-01", end="2026-08-31"):
    con = db(d)
    try:
        emp = con.execute(
            "INSERT INTO employees (structure_id, first_name, last_name, birth_date,"
            " prescriber_kind, referent_cip_id, status, last_contact_at, created_at, updated_at)"
            " VALUES (?, 'Camille', 'Martin', '1988-02-11', 'france_travail', ?, 'active', ?, ?,"
            " ?)", (structure_id, referent, NOW, NOW, NOW)).lastrowid
        con.execute(
            "INSERT INTO contracts (employee_id, structure_id, start_date, end_date,"
            " initial_end_date, weekly_hours, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 26, ?, ?)", (emp, structure_id, start, end, end, NOW, NOW))
        con.commit()
        return emp
    finally:
        con.close()


def execute(d, sql, args=()):
    con = db(d)
    try:
        cur = con.execute(sql, args)
        con.commit()
        return cur.lastrowid
    finally:
        con.close()


@pytest.fixture
def base(make_daemon):
    d = ls.script_daemon(make_daemon, {}, start=False, script_dir=ls.TOP_LUA)
    d.start()
    st = d.create("/v1/structures", tt.structure_body(name="Atelier Bois"))
    ids = {who: d.get("/v1/whoami", who=who).body["id"]
           for who in ("admin", "coordinator", "cip", "eti")}
    d.stop()
    return {"d": d, "structure": st["id"], "ids": ids}


def run_rule(d, name, section, clock):
    d.settings["extra"]["scripts"] = {name: section}
    d.write_config()
    offset = d.log_size()
    ls.start_daemon(d, clock=clock)
    tt.wait_for("%s's daily run" % name,
                lambda: ls.item(d, name)["script"]["calls"] >= 3, timeout=30)
    assert ls.item(d, name)["state"] == "enabled", ls.item(d, name)
    got = d.list_all("/v1/alerts", "kind=" + name, who="coordinator")
    d.stop()
    return got, offset


def test_pass_ending__60_days__cip_and_coordinator__prolonged__resolved(base):
    d, ids = base["d"], base["ids"]
    emp = add_person(d, base["structure"], referent=ids["cip"])
    # Ends 2026-04-30; two suspension days push it to 2026-05-02.
    pass_id = execute(d, "INSERT INTO passes (employee_id, number, start_date, initial_end_date,"
                         " created_at, updated_at) VALUES (?, '999990000001', '2024-05-01',"
                         " '2026-04-30', ?, ?)", (emp, NOW, NOW))
    execute(d, "INSERT INTO pass_suspensions (pass_id, start_date, end_date, reason,"
               " created_at) VALUES (?, '2025-01-10', '2025-01-11', 'contract_suspended', ?)",
            (pass_id, NOW))
    # Another person whose PASS ends far later: nothing.
    other = add_person(d, base["structure"])
    execute(d, "INSERT INTO passes (employee_id, number, start_date, initial_end_date,"
               " created_at, updated_at) VALUES (?, '999990000002', '2025-09-01', '2027-08-31',"
               " ?, ?)", (other, NOW, NOW))
    section = {"role": "coordinator", "options": {"days": 60}}
    # 2026-03-02: 61 days before the end: not yet.
    got, _ = run_rule(d, "pass_ending", section, "2026-03-02T08:00:00Z")
    assert got == []
    got, _ = run_rule(d, "pass_ending", section, "2026-03-03T08:00:00Z")
    assert len(got) == 1, got
    a = got[0]
    assert (a["state"], a["employee_id"]) == ("open", emp)
    assert sorted(a["recipients"]) == sorted([ids["cip"], ids["coordinator"]])
    assert a["message"] == ("Le PASS IAE du salarié n°%d se termine le 02/05/2026 (dans 60 jours)."
                            " Merci de préparer la suite du parcours (prolongation ou sortie)."
                            % emp)
    # The next day: still one.
    got, _ = run_rule(d, "pass_ending", section, "2026-03-04T08:00:00Z")
    assert [x["id"] for x in got] == [a["id"]] and got[0]["state"] == "open"
    # Prolonged by 6 months: the cause is gone, the rule resolves it.
    execute(d, "INSERT INTO pass_prolongations (pass_id, days, reason, created_at)"
               " VALUES (?, 183, 'severe_difficulties', ?)", (pass_id, NOW))
    got, _ = run_rule(d, "pass_ending", section, "2026-03-05T08:00:00Z")
    assert len(got) == 1 and got[0]["state"] == "resolved", got
    assert (got[0]["resolved_reason"], got[0]["resolved_by"]) == ("rule", None)


def test_review_overdue__entry_then_intermediate__referent_cip(base):
    d, ids = base["d"], base["ids"]
    # Pathway from 2026-02-02: the entry review is due by 2026-03-01.
    emp = add_person(d, base["structure"], referent=ids["cip"], start="2026-02-02",
                     end="2026-12-31")
    section = {"role": "coordinator", "options": {"intermediate_months": 3}}
    got, _ = run_rule(d, "review_overdue", section, "2026-03-01T08:00:00Z")
    assert got == []
    got, _ = run_rule(d, "review_overdue", section, "2026-03-02T08:00:00Z")
    assert len(got) == 1, got
    a = got[0]
    assert a["recipients"] == [ids["cip"]] and a["employee_id"] == emp
    assert a["message"] == ("Le bilan d'entrée du salarié n°%d était à tenir au plus tard le"
                            " 01/03/2026. Merci de le tenir et d'en noter la date." % emp)
    # The coordinator sees it, not as theirs; the ETI does not.
    assert a["mine"] is False
    assert d.sql("SELECT count(*) FROM alert_recipients") == [(1,)]
    # Held on 2026-03-04: resolved; the intermediate review is due by 2026-06-03.
    execute(d, "INSERT INTO reviews (employee_id, kind, planned_on, held_on, created_at,"
               " updated_at) VALUES (?, 'entry', '2026-03-04', '2026-03-04', ?, ?)",
            (emp, NOW, NOW))
    got, _ = run_rule(d, "review_overdue", section, "2026-03-05T08:00:00Z")
    assert [x["state"] for x in got] == ["resolved"]
    got, _ = run_rule(d, "review_overdue", section, "2026-06-03T08:00:00Z")
    assert [x["state"] for x in got] == ["resolved"]
    got, _ = run_rule(d, "review_overdue", section, "2026-06-04T08:00:00Z")
    assert sorted(x["state"] for x in got) == ["open", "resolved"]
    new = [x for x in got if x["state"] == "open"][0]
    assert "bilan intermédiaire" in new["message"] and "03/06/2026" in new["message"]
    # The contract ends early: the person is no longer followed, the alert resolves.
    execute(d, "UPDATE contracts SET ended_on = '2026-06-04' WHERE employee_id = ?", (emp,))
    got, _ = run_rule(d, "review_overdue", section, "2026-06-05T08:00:00Z")
    assert [x["state"] for x in got] == ["resolved", "resolved"]


@pytest.mark.parametrize("rule, option, value, words", [
    ("pass_ending", "days", 0, "options.days: expected an integer from 1 to 365"),
    ("review_overdue", "intermediate_months", 7,
     "options.intermediate_months: expected an integer from 3 to 6"),
])
def test_rules__bad_option__refused_with_the_reason(base, rule, option, value, words):
    d = base["d"]
    d.settings["extra"]["scripts"] = {rule: {"role": "coordinator", "options": {option: value}}}
    d.write_config()
    ls.start_daemon(d, clock="2026-03-02T08:00:00Z")
    p = ls.wait_state(d, rule, "disabled_failed")
    assert words in p["last_error"], p


@pytest.mark.parametrize("rule, view", [
    ("safety_incident", "production.incidents.v1"),
    ("hours_below_contract", "production.hours_below_contract.v1"),
])
def test_rules_on_plugin_data__plugin_absent__off_with_the_reason(base, rule, view):
    d = base["d"]
    d.settings["extra"]["scripts"] = {rule: {"role": "coordinator"}}
    d.write_config()
    ls.start_daemon(d, clock="2026-03-02T08:00:00Z")
    p = ls.wait_state(d, rule, "disabled_failed")
    assert ("needs the production plugin, which is not loaded (no view %s)" % view
            in p["last_error"]), p
    assert d.list_all("/v1/alerts", who="coordinator") == []


def with_registry(d):
    """The registry plugin (loaded, idle: no token_file nor sirets), as shipped."""
    plugins = os.path.join(d.dir, "plugins")
    os.makedirs(plugins, exist_ok=True)
    link = os.path.join(plugins, "registry.so")
    if not os.path.lexists(link):
        os.symlink(tt.built_plugin("registry"), link)
    d.settings["plugin_dir"] = plugins
    d.settings["plugins"] = {"registry": {}}
    d.write_config()


def test_registry_pass_end_changed__without_the_registry_plugin__off_saying_why(base):
    d = base["d"]
    d.settings["extra"]["scripts"] = {"registry_pass_end_changed": {"role": "coordinator"}}
    d.write_config()
    ls.start_daemon(d, clock="2026-03-02T08:00:00Z")
    p = ls.wait_state(d, "registry_pass_end_changed", "disabled_failed")
    assert ("needs the registry plugin, which is not loaded"
            " (no view registry.pass_proposals.v1)" in p["last_error"]), p


def test_registry_pass_end_changed__event__referent_cip_told_once(base):
    d, ids = base["d"], base["ids"]
    emp = add_person(d, base["structure"], referent=ids["cip"])
    section = {"role": "coordinator"}
    with_registry(d)
    # A first start makes the handler's cursor; the events come after it.
    d.settings["extra"]["scripts"] = {"registry_pass_end_changed": section}
    d.write_config()
    ls.start_daemon(d, clock="2026-03-02T08:00:00Z")
    assert ls.item(d, "registry_pass_end_changed")["state"] == "enabled"
    d.stop()
    for proposal in (41, 41, 42):
        execute(d, "INSERT INTO events (type, subject, payload, actor, created_at) VALUES"
                   " ('registry.pass_end_changed', 'employee/%d', ?, 'plugin:registry', ?)"
                   % emp, ('{"employee_id": %d, "pass_id": 7, "proposal_id": %d}'
                           % (emp, proposal), NOW))
    ls.start_daemon(d, clock="2026-03-02T09:00:00Z")
    got = tt.wait_for("two alerts", lambda: (lambda a: a if len(a) == 2 else None)(
        d.list_all("/v1/alerts", "kind=registry_pass_end_changed", who="cip")))
    d.stop()
    for a in got:
        assert a["recipients"] == [ids["cip"]] and a["employee_id"] == emp and a["mine"]
        assert a["message"] == (
            "La Plateforme de l'inclusion signale une nouvelle date de fin pour le PASS IAE n°7"
            " (salarié n°%d). Merci de vérifier la proposition et d'y répondre." % emp)


def with_production(d):
    """The stand-in production plugin (tests/plugins/fakeproduction.c), linked as production.so."""
    plugins = os.path.join(d.dir, "plugins")
    os.makedirs(plugins, exist_ok=True)
    link = os.path.join(plugins, "production.so")
    if not os.path.lexists(link):
        os.symlink(tt.built_plugin("fakeproduction"), link)
    d.settings["plugin_dir"] = plugins
    d.settings["plugins"] = {"production": {}}
    tt.openapi_plugins({"production": {}})
    d.write_config()


def test_safety_incident__coordinator__and_the_cip_of_whom_it_hurt(base):
    d, ids = base["d"], base["ids"]
    hurt = add_person(d, base["structure"], referent=ids["cip"])
    with_production(d)
    section = {"role": "coordinator", "options": {"days": 7}}
    d.settings["extra"]["scripts"] = {"safety_incident": section}
    d.write_config()
    ls.start_daemon(d, clock="2026-03-02T08:00:00Z")  # makes the plugin's tables
    d.stop()
    execute(d, "INSERT INTO production_incidents VALUES (1, '2026-03-02', 'incident', ?, ?)",
            (base["structure"], hurt))
    execute(d, "INSERT INTO production_incidents VALUES (2, '2026-03-02', 'near_miss', ?, NULL)",
            (base["structure"],))
    got, _ = run_rule(d, "safety_incident", section, "2026-03-02T09:00:00Z")
    assert len(got) == 2, got
    by = {a.get("employee_id"): a for a in got}
    assert sorted(by[hurt]["recipients"]) == sorted([ids["coordinator"], ids["cip"]])
    assert by[hurt]["message"] == (
        "Un incident de sécurité (n°1, le 02/03/2026) a touché le salarié n°%d. Merci de"
        " prendre de ses nouvelles et de vérifier les déclarations à faire." % hurt)
    assert by[None]["recipients"] == [ids["coordinator"]]
    assert by[None]["message"].startswith("Un presque-accident (n°2)")
    # The next run: nothing more.
    got, _ = run_rule(d, "safety_incident", section, "2026-03-03T09:00:00Z")
    assert len(got) == 2


def test_hours_below_contract__coordinator__back_to_normal__resolved(base):
    d, ids = base["d"], base["ids"]
    emp = add_person(d, base["structure"])
    with_production(d)
    section = {"role": "coordinator", "options": {"weeks": 3}}
    d.settings["extra"]["scripts"] = {"hours_below_contract": section}
    d.write_config()
    ls.start_daemon(d, clock="2026-03-02T08:00:00Z")
    d.stop()
    execute(d, "INSERT INTO production_below VALUES (?, 2, 26, 20)", (emp,))
    got, _ = run_rule(d, "hours_below_contract", section, "2026-03-09T08:00:00Z")
    assert got == []
    execute(d, "UPDATE production_below SET weeks_below = 3")
    got, _ = run_rule(d, "hours_below_contract", section, "2026-03-16T08:00:00Z")
    assert len(got) == 1 and got[0]["recipients"] == [ids["coordinator"]], got
    assert got[0]["message"].startswith("Le salarié n°%d a travaillé moins" % emp)
    # A week later, still below (4 weeks): the same episode, the same alert.
    execute(d, "UPDATE production_below SET weeks_below = 4")
    got, _ = run_rule(d, "hours_below_contract", section, "2026-03-23T08:00:00Z")
    assert len(got) == 1 and got[0]["state"] == "open"
    execute(d, "DELETE FROM production_below")
    got, _ = run_rule(d, "hours_below_contract", section, "2026-03-30T08:00:00Z")
    assert [(a["state"], a["resolved_reason"]) for a in got] == [("resolved", "rule")]
