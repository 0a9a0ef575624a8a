"""The plugin SDK against a live daemon: what it stops and what it serves.

The test plugin tests/plugins/misbehave.c does, through the host table, what a
plugin must not be able to do by mistake (SQL on the kernel's or another
plugin's tables, a transaction left open, a declaration the policy cannot
place) and what an HTTP API needs (a Location, query parameters, string path
parameters, pages, cancellable timers, kernel records written on its own).
Its builds with one defect each (mbunknowncat, mbnocat, mbtable, mbparent,
mbmigrate) are refused at load.
"""

import datetime
import itertools
import os
import signal

import pytest

import tremplin_test as tt

_numbers = itertools.count(3000000 + os.getpid() % 1000 * 1000)

ALL = {"misbehave": {}, "misbehave_two": {}, "example": {}, "recorder": {}}


def failures(d, name="misbehave"):
    return tt.plugins_of(d)[name]["failures"]


def items(d):
    a = d.get("/v1/misbehave/items?limit=500")
    assert a.status == 200, a
    return [i["label"] for i in a.body["items"]]


def mb_log(d, what=None):
    a = d.get("/v1/misbehave/log")
    assert a.status == 200, a
    return [i["result"] for i in a.body["items"] if what is None or i["what"] == what]


def new_world(d):
    """A structure, the CIP's staff id, and make() -> a new employee made by the CIP."""
    s = d.create("/v1/structures", tt.structure_body(kind="ACI"), who="coordinator")
    staff = {x["unix_user"]: x["id"] for x in d.list_all("/v1/staff")}
    cip = staff[tt.ROLE_USERS["cip"]]

    def make():
        body = {"structure_id": s["id"], "first_name": "Samia",
                "last_name": tt.unique("Benali"), "birth_date": "1990-05-17",
                "prescriber_kind": "france_travail", "referent_cip_id": cip}
        return d.create("/v1/employees", body, who="cip")["id"]
    return {"structure": s["id"], "cip": cip, "employee": make}


@pytest.fixture(scope="module")
def mb(module_daemons):
    """misbehave beside the example, the recorder and misbehave_two (a longer name)."""
    return module_daemons(plugin_files=list(ALL), plugins=ALL)


# -- 1. the SQL authorizer ---------------------------------------------------------

# (SQL, the table the refusal names)
REFUSED_SQL = [
    ("UPDATE employees SET first_name = 'Pirate'", "employees"),
    ("INSERT INTO employees (first_name) VALUES ('Pirate')", "employees"),
    ("DELETE FROM employees", "employees"),
    ("SELECT first_name FROM employees", "employees"),
    ("SELECT detail FROM barriers", "barriers"),
    ("INSERT INTO misbehave_items (label) SELECT last_name FROM employees", "employees"),
    ("DELETE FROM example_counts", "example_counts"),
    ("INSERT INTO example_counts (type, n, last_id) VALUES ('forged', 99, 1)", "example_counts"),
    ("UPDATE recorder_events SET seen = 99", "recorder_events"),
    ("INSERT INTO misbehave_two_items (label) VALUES ('forged')", "misbehave_two_items"),
    ("CREATE TABLE sneaky (x TEXT)", "sneaky"),
    ("DROP TABLE example_counts", "example_counts"),
    ("CREATE TRIGGER misbehave_t AFTER INSERT ON misbehave_items"
     " BEGIN UPDATE employees SET first_name = 'Pirate'; END", "misbehave_t"),
    ("ATTACH DATABASE ':memory:' AS other", None),
    ("PRAGMA writable_schema = 1", None),
]


def guarded(d):
    """What the refused statements would change."""
    return {t: d.sql("SELECT * FROM %s ORDER BY 1" % t)
            for t in ("employees", "barriers", "example_counts", "recorder_events",
                      "misbehave_two_items")}


def test_authorizer__kernel_and_other_plugins_tables__refused_logged_nothing_written(mb):
    w = new_world(mb)
    emp = w["employee"]()
    assert mb.post("/v1/employees/%d/barriers" % emp,
                   {"category": "health", "severity": 2, "detail": "canary-sdk-health"},
                   who="cip").status == 201
    mb.create("/v1/structures", tt.structure_body())
    assert mb.post("/v1/misbehave_two/items", {"label": "theirs"}).status == 201
    last = mb.get("/v1/events?limit=500").body["items"][-1]["id"]
    tt.wait_for("the example's count", lambda: max(
        [i["last_id"] for i in mb.get("/v1/example/counts").body["items"]] or [0]) == last)
    tt.wait_for("the recorder", lambda: [last, last] == [
        (tt.recorded(mb, s) or [{"id": 0}])[-1]["id"] for s in ("all", "picky")])
    before = guarded(mb)
    assert before["example_counts"] and before["recorder_events"]

    for sql, table in REFUSED_SQL:
        offset = mb.log_size()
        a = mb.post("/v1/misbehave/sql", {"sql": sql})
        assert a.status == 200, (sql, a)
        assert a.body == {"prepared": False}, (sql, a.body)
        lines = [x for x in mb.log_since(offset).splitlines() if "refused SQL" in x]
        assert lines, (sql, mb.log_since(offset))
        assert all("plugin misbehave:" in x for x in lines), lines
        if table is not None:
            assert any(table in x for x in lines), (sql, lines)
    assert guarded(mb) == before
    assert mb.sql("SELECT count(*) FROM sqlite_master WHERE name IN ('sneaky', 'misbehave_t')"
                  ) == [(0,)]
    # The kernel's data is still served to the roles that read it.
    assert mb.get("/v1/employees/%d" % emp, who="cip").body["first_name"] == "Samia"


def test_authorizer__no_views__a_cached_statement_cannot_be_pointed_at_a_person_table(mb):
    # A statement is checked when prepared; SQLite prepares it again on its own
    # after a schema change. A view redefined under a cached statement's feet
    # (or a table dropped and made a view) would then read employees unchecked.
    emp = new_world(mb)["employee"]()
    first = mb.get("/v1/employees/%d" % emp, who="cip").body["first_name"]
    steps = [
        "CREATE VIEW misbehave_v AS SELECT 'harmless' AS x",
        "CREATE TABLE misbehave_t (x TEXT)",
        "SELECT x FROM misbehave_t",
        "DROP TABLE misbehave_t",
        "CREATE VIEW misbehave_t AS SELECT first_name AS x FROM employees",
        "SELECT x FROM misbehave_t",
        "CREATE VIEW IF NOT EXISTS misbehave_people AS SELECT first_name FROM employees",
    ]
    offset = mb.log_size()
    views = []
    for sql in steps:
        a = mb.post("/v1/misbehave/sql", {"sql": sql})
        assert a.status == 200, a
        assert first not in str(a.body), (sql, a.body)
        if sql.startswith("CREATE VIEW"):
            views.append(a.body)
    assert views == [{"prepared": False}] * 3, views
    assert "refused SQL: create view misbehave_v" in mb.log_since(offset)
    assert mb.sql("SELECT count(*) FROM sqlite_master WHERE type = 'view'") == [(0,)]


def test_authorizer__its_own_tables__read_and_written(mb):
    a = mb.post("/v1/misbehave/sql",
                {"sql": "INSERT INTO misbehave_items (label) VALUES ('by sql')"})
    assert a.body == {"prepared": True, "done": True, "rows": []}, a.body
    a = mb.post("/v1/misbehave/sql",
                {"sql": "SELECT label FROM misbehave_items WHERE label = 'by sql'"})
    assert a.body["rows"] == ["by sql"], a.body
    # Tables that hold nobody's data (the structures) stay readable.
    a = mb.post("/v1/misbehave/sql", {"sql": "SELECT count(*) FROM structures"})
    assert a.body["prepared"] is True, a.body


def test_authorizer__a_migration_creating_another_table__plugin_refused_nothing_created(
        make_daemon):
    d = make_daemon(plugin_files=["mbmigrate", "example"],
                    plugins={"mbmigrate": {}, "example": {}})
    p = tt.plugins_of(d)["mbmigrate"]
    assert p["state"] == "disabled_failed", p
    assert "create table sneaky_copy" in p["last_error"], p
    lines = [x for x in d.log().splitlines() if "plugin mbmigrate: refused (" in x]
    assert len(lines) == 1, lines
    assert tt.plugins_of(d)["example"]["state"] == "enabled"
    assert d.get("/v1/health").status == 200
    d.stop()
    names = [r[0] for r in d.sql("SELECT name FROM sqlite_master")]
    assert "sneaky_copy" not in names
    assert not [n for n in names if n.startswith("mbmigrate_")], names


def test_authorizer__a_person_table_of_another_plugin__refused_even_once_it_is_unloaded(
        make_daemon):
    d = make_daemon(plugin_files=["misbehave", "example"],
                    plugins={"misbehave": {}, "example": {}})
    emp = new_world(d)["employee"]()
    a = d.post("/v1/example/employees/%d/checkins" % emp,
               {"day": "2026-11-02", "present": True, "note": "canary-sdk-checkin"}, who="eti")
    assert a.status == 201, a
    reads = ["SELECT note FROM example_checkins", "SELECT count(*) FROM example_checkins"]

    def refused(tag):
        for sql in reads:
            offset = d.log_size()
            a = d.post("/v1/misbehave/sql", {"sql": sql})
            assert a.body == {"prepared": False}, (tag, sql, a.body)
            assert "refused SQL: read example_checkins" in d.log_since(offset), tag
    refused("loaded")
    # The example leaves the configuration; its table and the person's data stay.
    d.stop()
    d.write_config(plugins={"misbehave": {}})
    d.start()
    assert "example" not in tt.plugins_of(d)
    refused("no longer loaded")


# -- 2. declarations refused at load -------------------------------------------------

DECLS = {
    "mbunknowncat": ["note", "mood", "astrology"],
    "mbnocat": ["note", "mood", "category"],
    "mbtable": ["note", "mbtable_"],
    "mbparent": ["note", "nosuchparent"],
}


def test_declarations__refused_with_one_line_naming_record_and_column__daemon_serves(
        make_daemon):
    d = make_daemon(plugin_files=list(DECLS) + ["example"],
                    plugins=dict({n: {} for n in DECLS}, example={}))
    plugins = tt.plugins_of(d)
    for name, words in DECLS.items():
        p = plugins[name]
        assert p["state"] == "disabled_failed", p
        for w in words:
            assert w in p["last_error"], (name, p["last_error"])
        lines = [x for x in d.log().splitlines() if "plugin %s: refused (" % name in x]
        assert len(lines) == 1, (name, lines)
        assert p["last_error"] in lines[0]
        # Nothing of it is served.
        assert d.get("/v1/%s/items" % name).status == 404
        assert d.get("/v1/%s/notes/1" % name).status == 404
    # The daemon and the good plugin run on.
    assert plugins["example"]["state"] == "enabled"
    w = new_world(d)
    emp = w["employee"]()
    a = d.post("/v1/example/employees/%d/checkins" % emp, {"day": "2026-11-02", "present": True},
               who="eti")
    assert a.status == 201, a


# -- 3. transactions that cannot be left open ----------------------------------------------


def test_transactions__left_open_by_a_route_timer_or_handler__rolled_back_counted_daemon_writes(
        make_daemon):
    d = make_daemon(plugin_files=["misbehave", "example"],
                    plugins={"misbehave": {}, "example": {}})
    structures = []

    def core_and_plugin_write(tag):
        s = d.post("/v1/structures", tt.structure_body())
        assert s.status == 201, (tag, s)
        structures.append(s.body["id"])
        a = d.post("/v1/misbehave/items", {"label": "after-" + tag})
        assert a.status == 201, (tag, a)

    # A route: 500, its rows are not there.
    offset = d.log_size()
    a = d.post("/v1/misbehave/leak", {})
    assert a.status == 500, a
    assert "left a transaction open" in a.error["message"], a
    assert "Location" not in a.headers, a.headers  # what it said of a row that is not there
    assert "plugin misbehave left a transaction open" in d.log_since(offset)
    assert failures(d) == 1
    core_and_plugin_write("route")

    # A timer.
    offset = d.log_size()
    assert d.post("/v1/misbehave/leak-timer", {}).status == 202
    tt.wait_for("the timer's failure", lambda: failures(d) == 2)
    assert "plugin misbehave left a transaction open (timer)" in d.log_since(offset)
    core_and_plugin_write("timer")

    # An event handler: its first delivery is rolled back, the retry lands.
    offset = d.log_size()
    assert d.post("/v1/misbehave/leak-event", {}).status == 202
    tt.wait_for("the handler's retry", lambda: "event-retried" in items(d))
    assert failures(d) == 3
    assert "plugin misbehave left a transaction open (misbehave.leak)" in d.log_since(offset)
    core_and_plugin_write("event")

    want = ["after-route", "after-timer", "event-retried", "after-event"]
    assert items(d) == want
    # Another plugin's writes went on meanwhile.
    tt.wait_for("the example's count", lambda: {
        i["type"]: i["count"] for i in d.get("/v1/example/counts").body["items"]
    }.get("structure.created") == 3)
    d.restart()
    assert items(d) == want
    assert [d.get("/v1/structures/%d" % s).status for s in structures] == [200] * 3
    counts = {i["type"]: i["count"] for i in d.get("/v1/example/counts").body["items"]}
    assert counts["structure.created"] == 3, counts
    d.stop()
    assert d.sql("SELECT count(*) FROM misbehave_items WHERE label LIKE 'leaked%'") == [(0,)]


def test_transactions__left_open_by_config__at_start_or_reload__rolled_back_daemon_writes(
        make_daemon):
    # At start: the plugin is refused, the daemon writes (it answered 503 to every write).
    d = make_daemon(plugin_files=["misbehave", "example"],
                    plugins={"misbehave": {"leak": True}, "example": {}})
    p = tt.plugins_of(d)["misbehave"]
    assert p["state"] == "disabled_failed" and p["failures"] == 1, p
    assert "left a transaction open" in p["last_error"], p
    assert "plugin misbehave left a transaction open (config)" in d.log()
    first = d.post("/v1/structures", tt.structure_body())
    assert first.status == 201, first

    # On reload: the new section is refused, the old one stays, the daemon writes.
    d.write_config(plugins={"misbehave": {"level": 1}, "example": {}})
    d.restart()
    assert tt.plugins_of(d)["misbehave"]["state"] == "enabled"
    d.write_config(plugins={"misbehave": {"level": 2, "leak": True}, "example": {}})
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    d.wait_log("configuration reloaded", since=offset)
    assert "plugin misbehave left a transaction open (config)" in d.log_since(offset)
    p = tt.plugins_of(d)["misbehave"]
    assert (p["state"], p["failures"]) == ("enabled", 1), p
    assert "left a transaction open" in p["last_error"], p
    second = d.post("/v1/structures", tt.structure_body())
    assert second.status == 201, second
    assert d.post("/v1/misbehave/items", {"label": "after-reload"}).status == 201
    d.stop()
    ids = (first.body["id"], second.body["id"])
    assert d.sql("SELECT count(*) FROM structures WHERE id IN (?, ?)", ids) == [(2,)]
    assert d.sql("SELECT label FROM misbehave_items") == [("after-reload",)]


def test_transactions__record_hooks__cannot_take_the_hosts_transaction(make_daemon):
    d = make_daemon(plugin_files=["misbehave"], plugins={"misbehave": {}})
    ok = d.post("/v1/misbehave/things", {"label": "plain"}, who="coordinator")
    assert ok.status == 201, ok
    # (label, status, what the log says): refused, or written whole with its
    # audit and event; never a wedge, never half a write.
    cases = [
        ("check-begin", 500, "record misbehave.thing: its check hook left a transaction open"),
        ("after-commit", 201, "plugin misbehave: commit: no transaction of its own"),
        ("after-rollback", 201, "plugin misbehave: rollback: no transaction of its own"),
        ("expand-begin", 201, None),
    ]
    for label, status, line in cases:
        offset = d.log_size()
        a = d.post("/v1/misbehave/things", {"label": label}, who="coordinator")
        assert a.status == status, (label, a)
        assert line is None or line in d.log_since(offset), (label, d.log_since(offset))
        b = d.post("/v1/structures", tt.structure_body())
        assert b.status == 201, (label, b)
    # Shown, expand-begin's row begins one: that row is left out of the list.
    offset = d.log_size()
    a = d.get("/v1/misbehave/things?limit=500", who="coordinator")
    assert a.status == 200, a
    assert [i["label"] for i in a.body["items"]] == ["plain", "after-commit", "after-rollback"]
    assert "record misbehave.thing: its expand hook left a transaction open" in d.log_since(offset)
    assert d.post("/v1/structures", tt.structure_body()).status == 201
    created = d.sql("SELECT id, label FROM misbehave_things ORDER BY id")
    d.restart()
    rows = d.sql("SELECT id, label FROM misbehave_things ORDER BY id")
    events = {e["subject"] for e in d.get("/v1/events?limit=500").body["items"]
              if e["type"] == "misbehave.thing.created"}
    assert events == {"misbehave.thing/%d" % i for i, _ in rows}, (rows, events)
    assert len(d.list_all("/v1/structures")) == 5
    assert rows == created
    assert [x for _, x in rows] == ["plain", "after-commit", "after-rollback", "expand-begin"]


def test_transactions__transaction_helper_commits_on_0_rolls_back_otherwise(mb):
    before = failures(mb)
    assert mb.post("/v1/misbehave/txn", {"label": "txn-kept"}).body == {"rc": 0}
    assert mb.post("/v1/misbehave/txn", {"label": "txn-dropped", "fail": True}).body == {"rc": -1}
    got = items(mb)
    assert "txn-kept" in got and "txn-dropped" not in got
    # A function that says no is not a misbehaving plugin.
    assert failures(mb) == before
    assert mb.post("/v1/structures", tt.structure_body()).status == 201


def test_transactions__publish_outside_a_transaction__refused(mb):
    offset = mb.log_size()
    assert mb.post("/v1/misbehave/publish-outside", {}).body == {"rc": -1}
    assert "outside a transaction" in mb.log_since(offset)
    assert mb.get("/v1/events?type=misbehave.*&limit=500").body["items"] == [] or all(
        e["type"] != "misbehave.outside"
        for e in mb.get("/v1/events?type=misbehave.*&limit=500").body["items"])


# -- 4. statements by their text ------------------------------------------------------------


def test_statements__one_buffer_refilled__each_text_its_statement__more_texts_than_kept(mb):
    for _ in range(2):
        a = mb.get("/v1/misbehave/cache")
        assert a.body == {"got": ["statement 1", "statement 2"], "right": 600}, a.body


# -- 5. what an HTTP API needs ---------------------------------------------------------------


def test_http__created__201_with_location(mb):
    a = mb.post("/v1/misbehave/items", {"label": "located"})
    assert a.status == 201, a
    assert a.headers["Location"] == "/v1/misbehave/items/%d" % a.body["id"], a.headers


@pytest.mark.parametrize("path, field", [
    ("/v1/misbehave/items?sort=label", "sort"),
    ("/v1/misbehave/items?limit=0", "limit"),
    ("/v1/misbehave/items?limit=501", "limit"),
    ("/v1/misbehave/items?cursor=nope", "cursor"),
    ("/v1/misbehave/codes/AB12?colour=red", "colour"),
    ("/v1/misbehave/cache?x=1", "x"),
])
def test_http__bad_query__400_naming_it(mb, path, field):
    a = mb.get(path)
    assert a.status == 400, a
    assert a.error["field"] == field, a


def test_http__pages__limit_and_next_cursor_walk_every_item_once(mb):
    labels = ["page-%d" % i for i in range(7)]
    for label in labels:
        assert mb.post("/v1/misbehave/items", {"label": label}).status == 201
    assert len(mb.get("/v1/misbehave/items?limit=500").body["items"]) == len(items(mb))
    seen, cursor, pages = [], None, 0
    while True:
        a = mb.get("/v1/misbehave/items?limit=3" + ("&cursor=" + cursor if cursor else ""))
        assert a.status == 200, a
        assert len(a.body["items"]) <= 3
        seen += [i["label"] for i in a.body["items"]]
        pages += 1
        cursor = a.body["next_cursor"]
        if cursor is None:
            break
    assert seen == items(mb)
    assert seen[-7:] == labels and pages >= 3


def test_http__string_path_parameter_and_declared_query(mb):
    a = mb.get("/v1/misbehave/codes/AB12cd?lang=fr")
    assert a.status == 200, a
    assert a.body == {"code": "AB12cd", "lang": "fr"}
    assert mb.get("/v1/misbehave/codes/75012").body == {"code": "75012", "lang": None}


def test_http__cancelled_timer__never_runs(mb):
    a = mb.post("/v1/misbehave/cancel", {})
    assert a.status == 200, a
    assert (a.body["cancel"], a.body["again"]) == (0, -1), a.body
    assert a.body["id"] > 0
    tt.wait_for("the later timer", lambda: "ran" in mb_log(mb, "timer"))
    assert "cancelled but ran" not in mb_log(mb, "timer")


@pytest.mark.parametrize("who, status", [
    ("admin", 403), ("coordinator", 200), ("cip", 200), ("eti", 200)])
def test_http__personal_route__never_the_admin(mb, who, status):
    a = mb.get("/v1/misbehave/personal", who=who)
    assert a.status == status, a
    if status == 403:
        assert a.error["code"] == "forbidden"


# -- 6. kernel records written by a plugin on its own ----------------------------------------


def kernel(d, **job):
    """Run record_update/create/get in the plugin's timer (req NULL); its result."""
    n = len(mb_log(d, "kernel"))
    assert d.post("/v1/misbehave/kernel", job).status == 202
    return tt.wait_for("the kernel job", lambda: (lambda r: r[n] if len(r) > n else None)(
        mb_log(d, "kernel")))


def pass_number():
    return "99999%07d" % next(_numbers)


def test_kernel_records__update_from_a_timer__validated_audited_journaled(mb):
    w = new_world(mb)
    emp = w["employee"]()
    start = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()
    p = mb.create("/v1/employees/%d/passes" % emp, {"number": pass_number(),
                                                     "start_date": start}, who="cip")["id"]
    pass_before = mb.sql("SELECT * FROM passes WHERE id = ?", (p,))
    emp_before = mb.sql("SELECT * FROM employees WHERE id = ?", (emp,))

    # Bad values are refused with the field; nothing changes.
    r = kernel(mb, op="update", record="pass", id=p, obj={"number": "12"})
    assert r["rc"] == -1 and r["error"]["status"] == 422, r
    assert r["error"]["field"] == "number", r
    r = kernel(mb, op="update", record="employee", id=emp, obj={"birth_date": "2030-01-01"})
    assert (r["rc"], r["error"]["field"]) == (-1, "birth_date"), r
    r = kernel(mb, op="update", record="employee", id=emp, obj={"team": 12})
    assert (r["rc"], r["error"]["field"]) == (-1, "team"), r
    assert mb.sql("SELECT * FROM passes WHERE id = ?", (p,)) == pass_before
    assert mb.sql("SELECT * FROM employees WHERE id = ?", (emp,)) == emp_before

    # Good ones land, audited and journaled as the plugin's.
    audit_top = max([x["id"] for x in mb.get(
        "/v1/audit?employee_id=%d&limit=500" % emp, who="coordinator").body["items"]] or [0])
    number = pass_number()
    assert kernel(mb, op="update", record="pass", id=p, obj={"number": number})["rc"] == 0
    assert kernel(mb, op="update", record="employee", id=emp, obj={"team": "Maraîchage"}
                  )["rc"] == 0
    assert mb.get("/v1/passes/%d" % p, who="cip").body["number"] == number
    assert mb.get("/v1/employees/%d" % emp, who="cip").body["team"] == "Maraîchage"
    audit = [x for x in mb.get("/v1/audit?employee_id=%d&limit=500" % emp,
                               who="coordinator").body["items"] if x["id"] > audit_top]
    mine = [(x["action"], x["resource"]) for x in audit if x["unix_user"] == "plugin:misbehave"]
    assert ("update", "passes") in mine and ("update", "employees") in mine, audit
    events = mb.get("/v1/events?limit=500").body["items"]
    by_plugin = [(e["type"], e["subject"]) for e in events if e["actor"] == "plugin:misbehave"]
    assert ("pass.updated", "pass/%d" % p) in by_plugin, by_plugin
    assert ("employee.updated", "employee/%d" % emp) in by_plugin, by_plugin
    # The journal holds no values.
    assert number not in str(events) and "Maraîchage" not in str(events)


def test_kernel_records__create_from_a_timer__validated_then_created_as_the_plugin(mb):
    w = new_world(mb)
    emp = w["employee"]()
    start = (datetime.date.today() - datetime.timedelta(days=10)).isoformat()
    r = kernel(mb, op="create", record="pass", id=emp, obj={"number": "1", "start_date": start})
    assert (r["rc"], r["error"]["field"]) == (-1, "number"), r
    r = kernel(mb, op="create", record="pass", id=emp,
               obj={"number": pass_number(), "start_date": "2026-02-30"})
    assert (r["rc"], r["error"]["field"]) == (-1, "start_date"), r
    assert mb.sql("SELECT count(*) FROM passes WHERE employee_id = ?", (emp,)) == [(0,)]
    number = pass_number()
    r = kernel(mb, op="create", record="pass", id=emp, obj={"number": number, "start_date": start})
    assert r["rc"] > 0, r
    got = mb.get("/v1/passes/%d" % r["rc"], who="cip").body
    assert (got["number"], got["employee_id"]) == (number, emp), got
    events = [e for e in mb.get("/v1/events?limit=500").body["items"]
              if e["subject"] == "pass/%d" % r["rc"]]
    assert [(e["type"], e["actor"]) for e in events] == [("pass.created", "plugin:misbehave")]


def test_kernel_records__on_its_own__never_the_referent_cips_sensitive_rights(mb):
    w = new_world(mb)
    emp = w["employee"]()
    b = mb.create("/v1/employees/%d/barriers" % emp,
                  {"category": "health", "severity": 2, "detail": "canary-sdk-referent"},
                  who="cip")["id"]
    # The referent reads it; the plugin on its own does not.
    assert mb.get("/v1/barriers/%d" % b, who="cip").body["detail"] == "canary-sdk-referent"
    r = kernel(mb, op="get", record="barrier", id=b)
    assert r["rc"] == 0, r
    assert "detail" not in r["view"] and "canary-sdk-referent" not in str(r), r
    r = kernel(mb, op="update", record="barrier", id=b, obj={"detail": "overwritten"})
    assert r["rc"] == -1 and r["error"]["status"] == 403, r
    assert r["error"]["field"] == "detail", r
    r = kernel(mb, op="create", record="barrier", id=emp,
               obj={"category": "justice", "severity": 1, "detail": "planted"})
    assert r["rc"] == -1 and r["error"]["status"] == 403, r
    assert mb.sql("SELECT detail FROM barriers WHERE employee_id = ?", (emp,)) == [
        ("canary-sdk-referent",)]


# -- 7. tremplind -n checks plugin sections ------------------------------------------------------


@pytest.mark.parametrize("section, ok, words", [
    ({"level": 9}, False, ["misbehave", "level"]),
    ({"colour": "red"}, False, ["misbehave", "colour"]),
    ({"level": 2}, True, ["configuration OK"]),
])
def test_check__plugin_section__checked_by_its_plugin(make_daemon, section, ok, words):
    d = make_daemon(start=False, plugin_files=["misbehave"], plugins={"misbehave": section})
    p = d.run("-n")
    out = p.stdout + p.stderr
    assert p.returncode == (0 if ok else 78), out
    for w in words:
        assert w in out, out
    assert not os.path.exists(d.database) or d.sql(
        "SELECT count(*) FROM sqlite_master WHERE name LIKE 'misbehave_%'") == [(0,)]


def test_check__an_older_abi__refused_saying_rebuild(make_daemon):
    d = make_daemon(start=False, plugin_files=["badabi"], plugins={"badabi": {}})
    p = d.run("-n")
    out = p.stdout + p.stderr
    assert p.returncode == 78, out
    assert "badabi" in out and "rebuild" in out, out
