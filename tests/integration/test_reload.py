"""SIGHUP: the configuration is reloaded; an invalid one is refused and the old one kept."""

import re
import signal
import time

import tremplin_test as tt

GIVE_UP = 20.0  # seconds to wait for a reload to show; only a daemon that never reloads fails


def wait_for(what, predicate, timeout=GIVE_UP):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("gave up waiting for " + what)


def staff_by_user(d):
    return {s["unix_user"]: s for s in d.list_all("/v1/staff")}


def info_logged_for_a_write(d):
    """Whether the daemon logs at info level now: creating an account logs one line."""
    offset = d.log_size()
    p = d.create("/v1/staff", tt.staff_body())
    # The line is written before the answer is sent.
    return ("created account %d" % p["id"]) in d.log_since(offset)


NEW_ACCOUNT = {"name": "Nouvelle recrue", "unix_user": "games", "role": "eti"}


def test_sighup__new_account_and_log_level__applied(make_daemon):
    d = make_daemon()
    assert info_logged_for_a_write(d)
    if tt.IS_ROOT:
        assert d.get("/v1/whoami", who="games").status == 403
    d.write_config(staff=tt.BOOTSTRAP_STAFF + [NEW_ACCOUNT], log_level="warning")
    d.send_signal(signal.SIGHUP)
    games = wait_for("the new account", lambda: staff_by_user(d).get("games"))
    assert (games["role"], games["active"], games["bootstrap"]) == ("eti", True, True)
    if tt.IS_ROOT:
        a = d.get("/v1/whoami", who="games")
        assert a.status == 200, a
        assert (a.body["role"], a.body["name"]) == ("eti", "Nouvelle recrue")
    assert not info_logged_for_a_write(d), "log_level = warning not applied"
    assert d.running


def test_sighup__invalid_file__refused_old_one_kept_and_reason_logged(make_daemon):
    d = make_daemon()
    d.write_config(staff=tt.BOOTSTRAP_STAFF + [NEW_ACCOUNT], log_level="warning")
    d.send_signal(signal.SIGHUP)
    wait_for("the first reload", lambda: "games" in staff_by_user(d))
    before = staff_by_user(d)

    # Now an invalid file: a role that does not exist, and another new account.
    bad = [dict(NEW_ACCOUNT, role="boss"), {"name": "X", "unix_user": "man", "role": "eti"}]
    d.write_config(staff=tt.BOOTSTRAP_STAFF + bad, log_level="info")
    text = open(d.conf).read()
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    log = d.wait_log("reload refused", since=offset)
    line = next(x for x in log.splitlines() if "reload refused" in x)
    m = re.search(re.escape(d.conf) + r":(\d+): staff\[5\]\.role: unknown role 'boss'", line)
    assert m, line
    lines = text.splitlines()
    first = next(i for i, x in enumerate(lines, 1) if x.startswith("staff = "))
    assert first <= int(m.group(1)) <= len(lines), line

    # Still running on the previous configuration.
    assert d.running
    assert d.get("/v1/health").status == 200
    assert staff_by_user(d) == before
    assert "man" not in staff_by_user(d)
    if tt.IS_ROOT:
        a = d.get("/v1/whoami", who="games")
        assert a.status == 200 and a.body["role"] == "eti", a
    assert not info_logged_for_a_write(d), "the refused file's log_level was applied"
    # A later valid file is taken again.
    d.write_config(staff=tt.BOOTSTRAP_STAFF + [dict(NEW_ACCOUNT, role="cip")], log_level="info")
    d.send_signal(signal.SIGHUP)
    wait_for("the valid reload", lambda: staff_by_user(d)["games"]["role"] == "cip")
    assert info_logged_for_a_write(d)


def test_sighup__syntax_error__refused_with_file_and_line(make_daemon):
    d = make_daemon()
    d.write_config(d.config_text() + "request_timeout = = 3\n")
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    log = d.wait_log("reload refused", since=offset)
    assert re.search(re.escape(d.conf) + r":%d:" % d.line_of("request_timeout"), log), log
    assert d.get("/v1/health").status == 200


def test_sighup__socket_or_database_changed__refused_needs_restart(make_daemon):
    d = make_daemon()
    text = d.config_text().replace(d.database, d.database + ".other")
    d.write_config(text)
    offset = d.log_size()
    d.send_signal(signal.SIGHUP)
    log = d.wait_log("reload refused", since=offset)
    assert "restart" in log
    assert d.get("/v1/health").status == 200
    s = d.create("/v1/structures", tt.structure_body())
    assert d.get("/v1/structures/%d" % s["id"]).body == s


def test_sighup__account_dropped_from_file__kept_and_managed_through_the_api(make_daemon):
    d = make_daemon(staff=tt.BOOTSTRAP_STAFF + [NEW_ACCOUNT])
    games = staff_by_user(d)["games"]
    assert games["bootstrap"] is True
    assert d.patch("/v1/staff/%d" % games["id"], {"role": "cip"}).status == 409
    d.write_config(staff=tt.BOOTSTRAP_STAFF)
    d.send_signal(signal.SIGHUP)
    wait_for("the account to leave the file",
             lambda: staff_by_user(d)["games"]["bootstrap"] is False)
    games = staff_by_user(d)["games"]
    assert games["active"] is True and games["role"] == "eti"
    a = d.patch("/v1/staff/%d" % games["id"], {"role": "cip"})
    assert a.status == 200 and a.body["role"] == "cip", a


def test_sighup__repeated__daemon_keeps_serving_and_stops_cleanly(make_daemon):
    d = make_daemon()
    for _ in range(5):
        offset = d.log_size()
        d.send_signal(signal.SIGHUP)
        d.wait_log("configuration reloaded", since=offset)
        assert d.get("/v1/health").status == 200
    assert d.stop() == 0
