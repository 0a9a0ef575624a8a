"""The shipped rule lua/rules/absences_unjustified.lua, end to end: the production plugin
records a team's attendance through its API, the rule reads production.absences.v1 on the
test clock and tells the referent CIP once per series."""

import lua_support as ls
import tremplin_test as tt

P = "/v1/production"
THURSDAY = "2026-03-12T08:00:00Z"  # 09:00 in Paris
FRIDAY = "2026-03-13T08:00:05Z"  # the next daily run is due
RULE = {"absences_unjustified": {"role": "coordinator",
                                 "options": {"threshold": 2, "window_days": 14}}}


def absent(d, day, employee, reason, slot="day"):
    a = d.post(P + "/team-attendance", {"date": day, "entries": [
        {"employee_id": employee, "slot": slot, "status": "absent", "reason": reason}]},
        who="eti")
    assert a.status == 200, a


def alerts(d):
    return ls.outbox(d, "source = 'lua:absences_unjustified'")


def test_rule__two_unjustified_in_14_days__referent_cip_told_once(make_daemon):
    tt.openapi_plugins({"production": {}})
    d = ls.script_daemon(make_daemon, {}, start=False, script_dir=ls.TOP_LUA,
                         plugin_files=["production"], plugins={"production": {}})
    ls.start_daemon(d, clock=THURSDAY)
    structure = d.create("/v1/structures", tt.structure_body())["id"]
    cip = d.create("/v1/staff", tt.staff_body(role="cip", name="Inès CIP"))["id"]
    people = []
    for referent in (cip, cip, cip, None):
        body = {"structure_id": structure, "first_name": "Lou", "last_name": tt.unique("A"),
                "birth_date": "1990-01-01", "prescriber_kind": "france_travail"}
        if referent:
            body["referent_cip_id"] = referent
        people.append(d.create("/v1/employees", body, who="coordinator")["id"])
    twice, once_each, too_old, no_referent = people
    # Within the 14 days ending on Thursday 12 March (from 27 February): two.
    absent(d, "2026-03-02", twice, "unjustified")
    absent(d, "2026-03-10", twice, "unjustified", slot="morning")
    # One unjustified and one justified: not yet.
    absent(d, "2026-03-03", once_each, "unjustified")
    absent(d, "2026-03-04", once_each, "sick_leave")
    # The first falls outside the window (26 February).
    absent(d, "2026-02-26", too_old, "unjustified")
    absent(d, "2026-03-11", too_old, "unjustified")
    # No referent: every CIP, by role.
    absent(d, "2026-02-27", no_referent, "unjustified")
    absent(d, "2026-03-12", no_referent, "unjustified", slot="afternoon")
    d.stop()

    ls.set_scripts(d, RULE)
    ls.start_daemon(d, clock=THURSDAY)
    assert ls.item(d, "absences_unjustified")["state"] == "enabled"
    rows = tt.wait_for("the alerts", lambda: (lambda r: r if len(r) == 2 else None)(alerts(d)))
    got = sorted((r["employee_id"], r["recipient_role"], r["recipient_staff_id"]) for r in rows)
    assert got == sorted([(twice, None, cip), (no_referent, "cip", None)]), rows
    msg = [r for r in rows if r["employee_id"] == twice][0]["message"]
    assert msg == ("Le salarié n°%d compte 2 absences injustifiées en 14 jours (du 02/03/2026"
                   " au 10/03/2026). Merci de faire le point avec lui." % twice), msg
    assert all(r["kind"] == "absences_unjustified" for r in rows)

    # The next day: the same series is not announced again.
    d.stop()
    offset = d.log_size()
    ls.start_daemon(d, clock=FRIDAY)
    tt.wait_for("the second daily run",
                lambda: ls.item(d, "absences_unjustified")["script"]["calls"] >= 3)
    d.stop()
    assert len(alerts(d)) == 2
    assert [x for x in ls.script_lines(d, "absences_unjustified", since=offset)
            if "queued" in x] == []


def test_rule__without_the_plugin__idle_and_says_so(make_daemon):
    d = ls.script_daemon(make_daemon, RULE, start=False, script_dir=ls.TOP_LUA)
    ls.start_daemon(d, clock=THURSDAY)
    line = ls.wait_line(d, "absences_unjustified", "production.absences.v1 cannot be read")
    assert "idle" in line
    assert ls.item(d, "absences_unjustified")["state"] == "enabled"
