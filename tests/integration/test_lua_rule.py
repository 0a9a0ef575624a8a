"""The shipped rule lua/rules/contract_ending.lua, end to end on a real daemon.

The daemon runs the rule from the source tree's lua/ directory, as shipped,
on the test clock. People and contracts are written straight into the
database while the daemon is stopped (the pathway API is being built at the
same time); structures and staff go through the API.
"""

import sqlite3

import pytest

import lua_support as ls
import tremplin_test as tt

MONDAY = "2026-03-02T08:00:00Z"   # 09:00 in Paris
TUESDAY = "2026-03-03T08:00:05Z"  # the next daily run is due


def add_person(d, structure_id, end_date, referent=None, exit_review_on=None,
               start_date="2025-09-01"):
    now = "2026-01-01T00:00:00Z"
    con = sqlite3.connect(d.database, timeout=10)
    try:
        emp = con.execute(
            "INSERT INTO employees (structure_id, first_name, last_name, birth_date,"
            " prescriber_kind, referent_cip_id, status, last_contact_at, created_at, updated_at)"
            " VALUES (?, 'Camille', 'Martin', '1988-02-11', 'france_travail', ?, 'active', ?, ?,"
            " ?)", (structure_id, referent, now, now, now)).lastrowid
        contract = con.execute(
            "INSERT INTO contracts (employee_id, structure_id, start_date, end_date,"
            " initial_end_date, weekly_hours, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 26, ?, ?)",
            (emp, structure_id, start_date, end_date, end_date, now, now)).lastrowid
        if exit_review_on:
            con.execute("INSERT INTO reviews (employee_id, kind, planned_on, created_at,"
                        " updated_at) VALUES (?, 'exit', ?, ?, ?)",
                        (emp, exit_review_on, now, now))
        con.commit()
        return emp, contract
    finally:
        con.close()


def rule_daemon(make_daemon, days=None, role="coordinator"):
    section = {"role": role}
    if days is not None:
        section["options"] = {"days": days}
    return ls.script_daemon(make_daemon, {"contract_ending": section}, start=False,
                            script_dir=ls.TOP_LUA)


@pytest.fixture
def world(make_daemon):
    """A daemon that ran once (schema, staff), then stopped with people in its files."""
    d = rule_daemon(make_daemon)
    d.settings["extra"]["scripts"] = {}
    d.write_config()
    d.start()
    st = d.create("/v1/structures", tt.structure_body(name="Atelier Bois"))
    cip = d.create("/v1/staff", tt.staff_body(role="cip", name="Inès CIP"))
    d.stop()
    w = {"d": d, "structure": st["id"], "cip": cip["id"]}
    # Ends in 10 days, a referent CIP, no exit review: alert the CIP and the coordinator.
    w["soon"] = add_person(d, st["id"], "2026-03-12", referent=cip["id"])
    # Ends in 5 days, no referent: every CIP (by role) and the coordinator.
    w["no_referent"] = add_person(d, st["id"], "2026-03-07")
    # Ends in 20 days with an exit review planned: nothing.
    w["reviewed"] = add_person(d, st["id"], "2026-03-22", referent=cip["id"],
                               exit_review_on="2026-03-16")
    # Ends in 79 days: not yet.
    w["later"] = add_person(d, st["id"], "2026-05-20", referent=cip["id"])
    d.settings["extra"]["scripts"] = {"contract_ending": {"role": "coordinator",
                                                          "options": {"days": 30}}}
    d.write_config()
    return w


def alerts(d):
    return ls.outbox(d, "source = 'lua:contract_ending'")


def test_rule__contract_ending_without_exit_review__cip_and_coordinator_told_once(world):
    d = world["d"]
    ls.start_daemon(d, clock=MONDAY)
    p = ls.item(d, "contract_ending")
    assert p["state"] == "enabled", p
    assert p["description"].startswith("contract_ending:")
    rows = tt.wait_for("the alerts", lambda: (lambda r: r if len(r) == 4 else None)(alerts(d)))
    soon_emp, soon_contract = world["soon"]
    nr_emp, nr_contract = world["no_referent"]
    got = sorted((r["employee_id"], r["recipient_role"] or "", r["recipient_staff_id"] or 0)
                 for r in rows)
    assert got == sorted([
        (soon_emp, "", world["cip"]), (soon_emp, "coordinator", 0),
        (nr_emp, "cip", 0), (nr_emp, "coordinator", 0)])
    for r in rows:
        assert (r["kind"], r["status"]) == ("contract_ending", "pending")
        assert r["dedup_key"].startswith("lua:contract_ending:contract_ending:")
        # The person as the recipients may see them, the least: first name and initial.
        assert "Martin" not in r["message"] and "n°" not in r["message"]
    soon = [r for r in rows if r["employee_id"] == soon_emp][0]["message"]
    assert soon == ("Le contrat de Camille M. se termine le 12/03/2026 (dans 10 jours) et"
                    " aucun bilan de sortie n'est planifié. Merci de planifier le bilan de"
                    " sortie.")
    assert "le 07/03/2026 (dans 5 jours)" in [
        r for r in rows if r["employee_id"] == nr_emp][0]["message"]
    assert "4 notification(s) of contracts ending queued" in ls.script_lines(
        d, "contract_ending")

    # The next day (the durable daily timer is due at start): nothing new.
    d.stop()
    offset = d.log_size()
    ls.start_daemon(d, clock=TUESDAY)
    # Calls: the setup, the main chunk, the daily run.
    tt.wait_for("the second daily run",
                lambda: ls.item(d, "contract_ending")["script"]["calls"] >= 3)
    d.stop()
    assert len(alerts(d)) == 4
    assert [x for x in ls.script_lines(d, "contract_ending", since=offset)
            if "notification" in x] == []


def test_rule__exit_review_planned__no_alert(world):
    d = world["d"]
    con = sqlite3.connect(d.database)
    for emp in (world["soon"][0], world["no_referent"][0]):
        con.execute("INSERT INTO reviews (employee_id, kind, planned_on, created_at, updated_at)"
                    " VALUES (?, 'exit', '2026-03-05', 'x', 'x')", (emp,))
    con.commit()
    con.close()
    ls.start_daemon(d, clock=MONDAY)
    tt.wait_for("the daily run", lambda: ls.item(d, "contract_ending")["script"]["calls"] >= 3)
    d.stop()
    assert alerts(d) == []


def test_rule__renewed_contract__announced_again_near_the_new_end(world):
    d = world["d"]
    ls.start_daemon(d, clock=MONDAY)
    tt.wait_for("the alerts", lambda: len(alerts(d)) == 4)
    d.stop()
    # Renewed to a new end, 4 weeks later; then, 3 weeks on, the new end is near.
    _, contract = world["soon"]
    con = sqlite3.connect(d.database)
    con.execute("UPDATE contracts SET end_date = '2026-04-09' WHERE id = ?", (contract,))
    con.execute("DELETE FROM contracts WHERE id = ?", (world["no_referent"][1],))
    con.commit()
    con.close()
    ls.start_daemon(d, clock="2026-03-23T08:00:00Z")
    tt.wait_for("the renewal's alerts", lambda: len(alerts(d)) == 6)
    d.stop()
    new = alerts(d)[4:]
    assert {r["employee_id"] for r in new} == {world["soon"][0]}
    assert all("le 09/04/2026 (dans 17 jours)" in r["message"] for r in new)


def test_rule__threshold_from_options(world):
    d = world["d"]
    d.settings["extra"]["scripts"] = {"contract_ending": {"role": "coordinator",
                                                          "options": {"days": 6}}}
    d.write_config()
    ls.start_daemon(d, clock=MONDAY)
    tt.wait_for("the alerts", lambda: len(alerts(d)) == 2)
    d.stop()
    assert {r["employee_id"] for r in alerts(d)} == {world["no_referent"][0]}


@pytest.mark.parametrize("days, words", [
    (0, "options.days: expected an integer from 1 to 365"),
    ("30", "options.days: expected an integer from 1 to 365"),
])
def test_rule__bad_option__refused_with_the_reason(make_daemon, days, words):
    d = rule_daemon(make_daemon, days=days)
    ls.start_daemon(d, clock=MONDAY)
    p = ls.item(d, "contract_ending")
    assert p["state"] == "disabled_failed" and words in p["last_error"], p


def test_rule__role_that_may_not_read_contracts__fails_and_says_why(make_daemon):
    d = rule_daemon(make_daemon, role="admin")
    ls.start_daemon(d, clock=MONDAY)
    p = ls.wait_state(d, "contract_ending", "disabled_failed")
    assert "may not be read by the admin role" in p["last_error"], p
