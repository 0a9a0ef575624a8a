"""The configuration at start (-n and a real start) and a database newer than the code."""

import os
import re

import pytest

import tremplin_test as tt


@pytest.fixture
def d(make_daemon):
    """A daemon directory with a generated configuration, not started."""
    return make_daemon(start=False)


def test_check_only__good_file__exit_0_configuration_ok(d):
    p = d.run("-n")
    assert p.returncode == 0, p.stderr
    assert "configuration OK" in p.stdout + p.stderr
    assert not os.path.exists(d.database), "-n must not create the database"
    assert not os.path.exists(d.socket)


def staff_lines(text):
    """Line numbers of the staff table, from "staff = {" to its closing brace."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("staff = "))
    last = next(i for i, line in enumerate(lines, 1) if i > first and line == "}")
    return range(first, last + 1)


BAD = [
    # (id, how to make the text bad, needle of the bad line or None, words in the message)
    ("unknown setting", lambda t: t + "colour = \"bleu\"\n", "colour",
     ["unknown setting 'colour'"]),
    ("bad log_level", lambda t: t.replace('log_level = "info"', 'log_level = "loud"'),
     "log_level", ["log_level", "loud"]),
    ("request_timeout 0", lambda t: t + "request_timeout = 0\n", "request_timeout",
     ["request_timeout", "out of range"]),
    ("request_timeout text", lambda t: t + 'request_timeout = "30"\n', "request_timeout",
     ["request_timeout", "integer"]),
    ("socket_mode", lambda t: t.replace('socket_mode = "0666"', 'socket_mode = "666x"'),
     "socket_mode", ["socket_mode"]),
    ("socket_mode without owner rw", lambda t: t.replace('socket_mode = "0666"',
                                                         'socket_mode = "0066"'),
     "socket_mode", ["socket_mode"]),
    ("set twice", lambda t: t + 'log_level = "debug"\n', 'log_level = "debug"', ["twice"]),
    ("syntax error", lambda t: t + "database = \n", None, ["near"]),
    ("a function call", lambda t: t + "x = os.exit(1)\n", "os.exit", ["unknown name 'os'"]),
    ("a loop", lambda t: t + "while true do end\n", "while true", ["runs too long"]),
    ("bad role", lambda t: t.replace('role = "eti"', 'role = "boss"'), "staff",
     ["staff[4].role", "unknown role 'boss'"]),
    ("bad unix_user", lambda t: t.replace('unix_user = "bin"', 'unix_user = "Jean Dupont"'),
     "staff", ["staff[3].unix_user", "Jean Dupont"]),
    ("staff unknown field", lambda t: t.replace('role = "cip"', 'role = "cip", age = 3'),
     "staff", ["staff[3].age", "unknown field"]),
    ("staff listed twice", lambda t: t.replace('unix_user = "bin"', 'unix_user = "sys"'),
     "staff", ["staff[4].unix_user", "twice"]),
]


@pytest.mark.parametrize("make_bad,needle,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_file__exit_78_naming_file_and_line(d, make_bad, needle, words):
    text = make_bad(d.config_text())
    d.write_config(text)
    for args in (["-n"], ["-d"]):
        p = d.run(*args)
        assert p.returncode == 78, (args, p.stdout, p.stderr)
        m = re.search(re.escape(d.conf) + r":(\d+): (.*)", p.stderr)
        assert m, p.stderr
        line = int(m.group(1))
        if needle == "staff":
            assert line in staff_lines(text), (line, p.stderr)
        elif needle is not None:
            assert line == d.line_of(needle), (line, p.stderr)
        for w in words:
            assert w in m.group(2), p.stderr
        assert "configuration OK" not in p.stdout + p.stderr
    assert not os.path.exists(d.database), "a refused start must not create the database"
    assert not os.path.exists(d.socket)


@pytest.mark.parametrize("text,words", [
    ('database = "x.db"\n', ["socket", "missing"]),
    ('socket = "x.sock"\n', ["database", "missing"]),
])
def test_missing_required_setting__exit_78_naming_file(d, text, words):
    d.write_config(text)
    p = d.run("-n")
    assert p.returncode == 78
    assert d.conf in p.stderr
    for w in words:
        assert w in p.stderr


def test_missing_file__exit_78_naming_it(d):
    p = d.run("-n", conf=os.path.join(d.dir, "absent.conf"))
    assert p.returncode == 78
    assert "absent.conf" in p.stderr


SECRET = {"x": {"token": "s3cr3t", "url": "https://example.org"}}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_secret__readable_by_others__refused(d, mode):
    d.write_config(mode=mode, plugins=SECRET)
    for args in (["-n"], ["-d"]):
        p = d.run(*args)
        assert p.returncode == 78, p.stderr
        assert d.conf in p.stderr
        assert "plugins.x.token" in p.stderr
        assert "chmod 600" in p.stderr
        assert "s3cr3t" not in p.stderr, "the secret itself must not be printed"
    assert not os.path.exists(d.database)


def test_secret__mode_0600__accepted_and_served(d):
    # Disabled: -n loads every enabled plugin, and there is no plugin x.
    d.write_config(mode=0o600, plugins={"x": dict(SECRET["x"], enabled=False)})
    p = d.run("-n")
    assert p.returncode == 0, p.stderr
    assert "configuration OK" in p.stdout + p.stderr
    d.start()
    assert d.get("/v1/health").status == 200
    assert d.stop() == 0


@pytest.mark.parametrize("plugins", [
    {"x": {"url": "https://example.org", "retries": 3, "enabled": False}},
    {"x": {"token": "", "enabled": False}}])
def test_plugin_section_without_secret__readable_file_accepted(d, plugins):
    d.write_config(mode=0o644, plugins=plugins)
    p = d.run("-n")
    assert p.returncode == 0, p.stderr


def test_database_newer_than_code__refused_and_file_unchanged(d):
    d.start()
    s = d.create("/v1/structures", tt.structure_body())
    assert d.stop() == 0
    d.sql("INSERT INTO schema_migrations (module, version, applied_at) "
          "VALUES ('core', 99, '2099-01-01T00:00:00Z')")
    digest = d.db_digest()
    offset = d.log_size()
    proc = d.spawn()
    try:
        rc = proc.wait(timeout=tt.STOP_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
        tt._live.discard(proc)
    assert rc == 1
    log = d.log_since(offset)
    assert "newer" in log, log
    assert "core" in log and "99" in log, log
    tt.check_sanitizers(log)
    assert not os.path.exists(d.socket), "a refused start left a socket file"
    assert d.db_digest() == digest, "the refused start changed the database file"
    assert d.sql("SELECT max(version) FROM schema_migrations WHERE module = 'core'") == [(99,)]
    assert d.sql("SELECT siret FROM structures") == [(s["siret"],)]
    # Back to the version the code knows: served again, data intact.
    d.sql("DELETE FROM schema_migrations WHERE version = 99")
    d.start()
    assert d.get("/v1/structures/%d" % s["id"]).body == s
    assert d.stop() == 0


def test_start__changed_file__reread(d):
    """A start reads the file as it is now: an account added while stopped is there."""
    d.start()
    assert d.stop() == 0
    d.write_config(staff=tt.BOOTSTRAP_STAFF + [{"name": "Jeu", "unix_user": "games",
                                                "role": "cip"}])
    d.start()
    users = {s["unix_user"]: s for s in d.list_all("/v1/staff")}
    assert users["games"]["role"] == "cip" and users["games"]["bootstrap"] is True
    assert d.stop() == 0
