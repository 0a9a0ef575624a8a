"""The event journal against a live daemon: what the core's writes publish,
GET /v1/events, and delivery to subscribers (the recorder test plugin):
order, exactly once in normal operation, failure isolation, and no loss
across kill -9.
"""

import random
import signal
import threading
import time

import pytest

import tremplin_test as tt

RECORDER = ["recorder"]


def events(d, query=""):
    """Every event of the journal (following next_cursor)."""
    return d.list_all("/v1/events", query)


def last_id(d):
    ev = events(d)
    return ev[-1]["id"] if ev else 0


def subscription(d, name):
    subs = tt.plugins_of(d)["recorder"]["subscriptions"]
    return next(s for s in subs if s["name"] == "recorder/" + name)


def recorder_daemon(make_daemon, section=None, **kw):
    return make_daemon(plugin_files=RECORDER, plugins={"recorder": section or {}}, **kw)


# -- what the core publishes ------------------------------------------------------


@pytest.fixture(scope="module")
def journal(module_daemons):
    return module_daemons()


def test_structures__create_and_update__journaled(journal):
    d = journal
    before = last_id(d)
    s = d.create("/v1/structures", tt.structure_body(), who="coordinator")
    a = d.patch("/v1/structures/%d" % s["id"],
                {"name": "Atelier renommé", "annexe_financiere": "ACI023201111A0M0"})
    assert a.status == 200, a

    new = events(d, "after=%d" % before)
    assert [(e["type"], e["subject"], e["actor"]) for e in new] == [
        ("structure.created", "structure/%d" % s["id"], tt.user_of("coordinator")),
        ("structure.updated", "structure/%d" % s["id"], tt.user_of("admin")),
    ]
    assert new[0]["payload"] == {"object": s}
    assert new[1]["payload"]["object"] == a.body
    assert sorted(new[1]["payload"]["changed"]) == ["annexe_financiere", "name"]
    assert new[0]["id"] < new[1]["id"]


def test_staff__create_and_update__journaled(journal):
    d = journal
    before = last_id(d)
    st = d.create("/v1/staff", tt.staff_body(role="eti"), who="coordinator")
    a = d.patch("/v1/staff/%d" % st["id"], {"role": "cip", "email": "x@example.org"})
    assert a.status == 200, a

    new = events(d, "after=%d" % before)
    assert [(e["type"], e["subject"], e["actor"]) for e in new] == [
        ("staff.created", "staff/%d" % st["id"], tt.user_of("coordinator")),
        ("staff.updated", "staff/%d" % st["id"], tt.user_of("admin")),
    ]
    assert new[0]["payload"] == {"object": st}
    assert new[1]["payload"]["object"] == a.body
    assert sorted(new[1]["payload"]["changed"]) == ["email", "role"]


def test_refused_writes__publish_nothing(journal):
    d = journal
    s = d.create("/v1/structures", tt.structure_body())
    before = events(d)
    assert d.post("/v1/structures", tt.structure_body(siret="123")).status == 422
    assert d.post("/v1/structures", tt.structure_body(siret=s["siret"])).status == 409
    assert d.post("/v1/structures", dict(tt.structure_body(), bogus=1)).status == 400
    assert d.patch("/v1/structures/%d" % s["id"], {"kind": "SCOP"}).status == 422
    assert d.patch("/v1/structures/999999", {"name": "x"}).status == 404
    assert d.post("/v1/staff", tt.staff_body(role="boss")).status == 422
    assert d.post("/v1/structures", tt.structure_body(), who="cip").status == 403
    assert events(d) == before


def test_bootstrap_accounts__journaled_by_configuration__once(make_daemon):
    d = make_daemon()
    boot = events(d)
    assert [(e["type"], e["actor"]) for e in boot] == [("staff.created", "configuration")] * len(
        tt.BOOTSTRAP_STAFF)
    users = [e["payload"]["object"]["unix_user"] for e in boot]
    assert users == [tt.SELF_USER if s["unix_user"] == "@daemon" else s["unix_user"]
                     for s in tt.BOOTSTRAP_STAFF]
    assert all(e["subject"] == "staff/%d" % e["payload"]["object"]["id"] for e in boot)

    # An unchanged configuration, restarted or reloaded, journals nothing.
    d.restart()
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    d.wait_log("configuration reloaded", since=offset)
    assert events(d) == boot

    # A change made by the file is the configuration's.
    staff = [dict(s) for s in tt.BOOTSTRAP_STAFF]
    staff[2]["name"] = "Conseillère CIP"
    d.write_config(staff=staff)
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    d.wait_log("configuration reloaded", since=offset)
    new = events(d, "after=%d" % boot[-1]["id"])
    assert [(e["type"], e["actor"], e["payload"]["changed"]) for e in new] == [
        ("staff.updated", "configuration", ["name"])]
    assert new[0]["payload"]["object"]["name"] == "Conseillère CIP"

    # An account the file drops stays, without its bootstrap mark: that is journaled too.
    d.write_config(staff=staff[:3])
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    d.wait_log("configuration reloaded", since=offset)
    new = events(d, "after=%d" % new[-1]["id"])
    assert [(e["type"], e["subject"], e["actor"], e["payload"]["changed"]) for e in new] == [
        ("staff.updated", boot[3]["subject"], "configuration", ["bootstrap"])]
    assert new[0]["payload"]["object"]["bootstrap"] is False
    d.restart()
    assert events(d, "after=%d" % new[-1]["id"]) == []


# -- GET /v1/events ------------------------------------------------------------------


@pytest.fixture(scope="module")
def filled(module_daemons):
    """A daemon with a known journal: 4 bootstrap events, then 9 of ours."""
    d = module_daemons()
    ids = [d.create("/v1/structures", tt.structure_body())["id"] for _ in range(4)]
    for i in ids[:3]:
        assert d.patch("/v1/structures/%d" % i, {"name": "Nom %d" % i}).status == 200
    st = d.create("/v1/staff", tt.staff_body())
    assert d.patch("/v1/staff/%d" % st["id"], {"name": "Autre nom"}).status == 200
    return d


def test_events_list__pages_follow_cursor_and_after(filled):
    d = filled
    every = d.get("/v1/events?limit=500").body
    assert every["next_cursor"] is None
    ev = every["items"]
    assert len(ev) == 13
    assert [e["id"] for e in ev] == sorted(e["id"] for e in ev)
    assert len({e["id"] for e in ev}) == len(ev)

    # limit + cursor, page by page.
    pages, cursor = [], None
    while True:
        a = d.get("/v1/events?limit=4" + ("&cursor=" + cursor if cursor else ""))
        assert a.status == 200, a
        assert len(a.body["items"]) <= 4
        pages.append(a.body["items"])
        cursor = a.body["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [4, 4, 4, 1]
    assert [e for p in pages for e in p] == ev

    # after: strictly after that id, with pages of its own.
    mid = ev[5]["id"]
    a = d.get("/v1/events?after=%d&limit=3" % mid)
    assert a.body["items"] == ev[6:9]
    b = d.get("/v1/events?limit=500&cursor=" + a.body["next_cursor"])
    assert b.body["items"] == ev[9:]
    assert d.get("/v1/events?after=0").body["items"] == ev
    assert d.get("/v1/events?after=%d" % ev[-1]["id"]).body == {"items": [], "next_cursor": None}
    assert d.get("/v1/events?after=999999999").body["items"] == []
    # The default page holds them all here (50).
    assert d.get("/v1/events").body["items"] == ev


def test_events_list__type_filter_exact_and_prefix(filled):
    d = filled
    ev = events(d)

    def only(pred):
        return [e for e in ev if pred(e["type"])]

    assert events(d, "type=structure.created") == only(lambda t: t == "structure.created")
    assert len(events(d, "type=structure.created")) == 4
    assert events(d, "type=structure.*") == only(lambda t: t.startswith("structure."))
    assert len(events(d, "type=structure.*")) == 7
    assert events(d, "type=staff.*") == only(lambda t: t.startswith("staff."))
    assert len(events(d, "type=staff.updated")) == 1
    # Not a prefix without ".*"; no partial words.
    assert events(d, "type=structure") == []
    assert events(d, "type=struct.*") == []
    assert events(d, "type=nothing.here") == []
    # "*" is every type, as for subscriptions.
    assert events(d, "type=*") == ev
    # Filter and pages together.
    a = d.get("/v1/events?type=structure.*&limit=5")
    assert a.body["items"] == only(lambda t: t.startswith("structure."))[:5]
    b = d.get("/v1/events?type=structure.*&cursor=" + a.body["next_cursor"])
    assert b.body == {"items": only(lambda t: t.startswith("structure."))[5:], "next_cursor": None}
    first = ev[0]["id"]
    assert events(d, "type=staff.*&after=%d" % first) == [
        e for e in only(lambda t: t.startswith("staff.")) if e["id"] > first]


@pytest.mark.parametrize("query, field", [
    ("after=-1", "after"),
    ("after=abc", "after"),
    ("after=", "after"),
    ("after=1.5", "after"),
    ("after=99999999999999999999", "after"),
    ("type=", "type"),
    ("type=" + "a" * 200, "type"),
    ("limit=0", "limit"),
    ("limit=501", "limit"),
    ("limit=x", "limit"),
    ("cursor=%40%40%40", "cursor"),
    ("cursor=", "cursor"),
    ("after=1&cursor=AAAAAAAAAAE", "after"),
    ("since=1", "since"),
])
def test_events_list__bad_parameters__400_with_field(filled, query, field):
    a = filled.get("/v1/events?" + query)
    assert a.status == 400, a
    assert (a.error["code"], a.error.get("field")) == ("bad_request", field), a


# -- delivery ------------------------------------------------------------------------------


def write_some(d, n):
    """n structures created, each then renamed: 2n events."""
    for _ in range(n):
        s = d.create("/v1/structures", tt.structure_body())
        assert d.patch("/v1/structures/%d" % s["id"], {"name": "R " + tt.unique()}).status == 200


def test_delivery__all_events_in_order_exactly_once(make_daemon):
    d = recorder_daemon(make_daemon)
    start = subscription(d, "all")["cursor"]
    assert start == last_id(d)  # a new subscriber starts after the history
    write_some(d, 5)
    d.create("/v1/staff", tt.staff_body())
    want = [e["id"] for e in events(d, "after=%d" % start)]
    assert len(want) == 11
    got = tt.wait_for("the recorder", lambda: (lambda r: r if [x["id"] for x in r] == want
                                               else None)(tt.recorded(d, "all")))
    assert all(x["seen"] == 1 for x in got), got
    assert [x["type"] for x in got] == [e["type"] for e in events(d, "after=%d" % start)]
    # A restart neither re-delivers nor skips.
    d.restart()
    write_some(d, 1)
    want = [e["id"] for e in events(d, "after=%d" % start)]
    tt.wait_for("delivery after the restart",
                lambda: [x["id"] for x in tt.recorded(d, "all")] == want)
    assert all(x["seen"] == 1 for x in tt.recorded(d, "all"))
    sub = subscription(d, "all")
    assert (sub["cursor"], sub["delivered"], sub["failures"], sub["last_error"]) == (
        want[-1], 13, 0, None)


def test_delivery__failing_subscriber__isolated_then_catches_up(make_daemon):
    d = recorder_daemon(make_daemon, {"fail_types": ["structure.updated"]})
    start = subscription(d, "picky")["cursor"]
    s1 = d.create("/v1/structures", tt.structure_body())
    assert d.patch("/v1/structures/%d" % s1["id"], {"name": "Échec"}).status == 200
    d.create("/v1/structures", tt.structure_body())
    d.create("/v1/staff", tt.staff_body())
    ev = events(d, "after=%d" % start)
    ids = [e["id"] for e in ev]
    assert [e["type"] for e in ev] == ["structure.created", "structure.updated",
                                       "structure.created", "staff.created"]
    failing = ids[1]

    # "all" gets everything; "picky" stops at the failing event and waits there.
    tt.wait_for("all", lambda: [x["id"] for x in tt.recorded(d, "all")] == ids)
    picky = tt.wait_for("picky to fail twice (a retry)",
                        lambda: (lambda s: s if s["failures"] >= 2 else None)(
                            subscription(d, "picky")))
    assert picky["cursor"] == ids[0]
    assert "event %d" % failing in picky["last_error"], picky
    assert [x["id"] for x in tt.recorded(d, "picky")] == ids[:1]
    alls = subscription(d, "all")
    assert (alls["failures"], alls["last_error"], alls["cursor"]) == (0, None, ids[-1])

    # The API and "all" go on while picky fails.
    for _ in range(3):
        d.create("/v1/structures", tt.structure_body())
    assert d.get("/v1/health").status == 200
    ids = [e["id"] for e in events(d, "after=%d" % start)]
    assert len(ids) == 7
    tt.wait_for("all, again", lambda: [x["id"] for x in tt.recorded(d, "all")] == ids)
    assert [x["id"] for x in tt.recorded(d, "picky")] == ids[:1]
    assert any("recorder/picky failed on event %d" % failing in x
               for x in d.log().splitlines())

    # Fixed configuration, SIGHUP: picky resumes at the event it failed, in order.
    d.write_config(plugins={"recorder": {}})
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    d.wait_log("configuration reloaded", since=offset)
    got = tt.wait_for("picky to catch up",
                      lambda: (lambda r: r if [x["id"] for x in r] == ids else None)(
                          tt.recorded(d, "picky")), timeout=60)
    assert all(x["seen"] == 1 for x in got), got
    picky = subscription(d, "picky")
    assert picky["cursor"] == ids[-1] and picky["failures"] >= 2, picky
    assert all(x["seen"] == 1 for x in tt.recorded(d, "all"))


# -- kill -9 -------------------------------------------------------------------------------


def test_crash__before_dispatch__nothing_lost(make_daemon):
    # The longest delay there is: however slow the machine, the kill comes first.
    d = recorder_daemon(make_daemon, extra={"event_delay_ms": 60000})
    start = subscription(d, "all")["cursor"]
    acked = [d.create("/v1/structures", tt.structure_body())["id"] for _ in range(5)]
    d.kill()
    assert d.sql("SELECT count(*) FROM recorder_events") == [(0,)]
    ev = [e for e in _events_offline(d) if e[0] > start]
    assert [e[1] for e in ev] == ["structure.created"] * 5
    assert [e[2] for e in ev] == ["structure/%d" % i for i in acked]

    d.write_config(extra={"event_delay_ms": 0})
    d.start()
    want = [e[0] for e in ev]
    got = tt.wait_for("the events acknowledged before the crash",
                      lambda: (lambda r: r if [x["id"] for x in r] == want else None)(
                          tt.recorded(d, "all")))
    assert all(x["seen"] == 1 for x in got), got
    assert [x["id"] for x in tt.recorded(d, "picky")] == want


def _events_offline(d):
    return d.sql("SELECT id, type, subject FROM events ORDER BY id")


def test_crash__during_dispatch__every_event_delivered(make_daemon):
    # A short pause before each dispatch: the kill finds some events handed
    # out and, most often, some committed and not yet dispatched.
    d = recorder_daemon(make_daemon, extra={"event_delay_ms": 50})
    start = subscription(d, "all")["cursor"]
    acked, wrong = [], []
    stop = threading.Event()

    def writer():
        c = d.new_client()
        try:
            while not stop.is_set():
                a = c.post("/v1/structures", tt.structure_body())
                if a.status != 201:
                    wrong.append(a)
                    return
                acked.append(a.body["id"])
        except (OSError, tt.http.client.HTTPException):
            pass  # the kill ends it
        finally:
            c.close()

    t = threading.Thread(target=writer)
    t.start()
    def dispatching():
        # Dispatch under way: the recorder has handled some events.
        return len(tt.recorded(d, "all")) > 0

    try:
        tt.wait_for("some writes, some of them dispatched",
                    lambda: len(acked) >= 150 and dispatching(), timeout=60, interval=0.01)
        time.sleep(random.uniform(0, 0.1))
        d.kill()
    finally:
        stop.set()
        t.join(timeout=30)
    assert acked and not wrong, wrong

    d.write_config(extra={})
    d.start()
    ev = [e for e in events(d) if e["id"] > start]
    subjects = {e["subject"] for e in ev}
    # Acknowledged writes are in the journal, whatever the crash cut.
    assert all("structure/%d" % i in subjects for i in acked)
    want = [e["id"] for e in ev]
    got = tt.wait_for("every event after the crash",
                      lambda: (lambda r: r if [x["id"] for x in r] == want else None)(
                          tt.recorded(d, "all")))
    # At least once: an event handled and not yet marked may come again, only
    # around the crash (at most one dispatch batch, 256 events, all in a row).
    again = [i for i, x in enumerate(got) if x["seen"] > 1]
    assert len(again) <= 256, again
    if again:
        assert again == list(range(again[0], again[0] + len(again))), again

    # Back to normal: the next events come exactly once.
    write_some(d, 2)
    want = [e["id"] for e in events(d) if e["id"] > start]
    tt.wait_for("the next events", lambda: [x["id"] for x in tt.recorded(d, "all")] == want)
    assert all(x["seen"] == 1 for x in tt.recorded(d, "all")[-4:])
