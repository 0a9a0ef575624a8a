"""The operator's side: versions, usage and exit statuses (sysexits), the API's
description served by the daemon, metrics and the monitoring group, the safety
nets of retention."""

import json
import os
import subprocess

import tremplin_test as tt


def run(*argv, **kw):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, **kw)
    tt.check_sanitizers(p.stdout + p.stderr)
    return p


def test_version__both_binaries__print_the_package_version():
    version = json.load(open(os.path.join(tt.TOP_SRCDIR, "docs", "openapi.json")))["info"]["version"]
    for argv in ([tt.TREMPLIND, "-V"], [tt.TREMPLIND, "--version"],
                 [tt.TREMPLINCTL, "-V"], [tt.TREMPLINCTL, "--version"]):
        p = run(*argv)
        assert p.returncode == 0, (argv, p.stderr)
        name = os.path.basename(argv[0])
        assert p.stdout.startswith("%s %s" % (name, version)), (argv, p.stdout)


def test_tremplind_help__usage_on_stdout_exit_0():
    p = run(tt.TREMPLIND, "-h")
    assert p.returncode == 0 and p.stdout.startswith("usage: tremplind"), p
    for flag in ("-d", "-f file", "-n", "-r", "-v", "--version"):
        assert flag in p.stdout, flag


def test_tremplind_bad_flag__exit_64_usage_on_stderr():
    for argv in (["-x"], ["-r"], ["extra"]):
        p = run(tt.TREMPLIND, *argv)
        assert p.returncode == 64, (argv, p.returncode, p.stderr)
        assert "usage: tremplind" in p.stderr


def test_tremplinctl_no_daemon__exit_69_unavailable(tmp_path):
    sock = str(tmp_path / "absent.sock")
    p = tt.ctl("health", socket_path=sock)
    assert p.returncode == 69, (p.returncode, p.stderr)
    assert p.stderr.startswith("tremplinctl : impossible de joindre le service Tremplin par %s : "
                               % sock), p.stderr


def test_openapi__served_as_built__same_document(daemon):
    a = daemon.get("/v1/openapi.json", who="cip")
    assert a.status == 200, a
    assert a.headers["Content-Type"] == "application/json"
    with open(os.path.join(tt.TOP_SRCDIR, "docs", "openapi.json"), "rb") as f:
        assert a.raw == f.read()
    assert a.body["paths"]["/v1/openapi.json"]["get"]["operationId"] == "getOpenAPI"


# ---------------------------------------------------------------------------
# Metrics and the monitoring group

MONITOR = "nobody"  # no staff account; its own group is nogroup
OTHER = "games"  # no staff account, not in the monitoring group


def families(text):
    """Parsed by prometheus_client's own parser: {name: {labels tuple: value}}."""
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = tuple(sorted(s.labels.items()))
            out.setdefault(s.name, {})[key] = s.value
        out.setdefault(fam.name + "#type", {})[()] = fam.type
    return out


def scrape(d, who="admin"):
    a = d.get("/v1/metrics", who=who)
    assert a.status == 200, a
    assert a.headers["Content-Type"].startswith("text/plain; version=0.0.4"), a.headers
    return a.raw.decode("utf-8"), families(a.raw.decode("utf-8"))


def requests_of(f, route, method="GET", status="200"):
    return f["tremplin_http_requests_total"].get(
        (("method", method), ("route", route), ("status", status)), 0)


def test_metrics__parsed_by_prometheus_client__requests_by_template_no_ids(make_daemon):
    tt.require_root()
    d = make_daemon(plugin_files=["example"], plugins={"example": {}})
    s = d.create("/v1/structures", tt.structure_body())
    eid = d.create("/v1/employees", {"structure_id": s["id"], "first_name": "Zéphyrine",
                                     "last_name": "Quasimodo", "birth_date": "1990-01-01",
                                     "prescriber_kind": "france_travail"},
                   who="cip")["id"]
    _, before = scrape(d)
    for _ in range(3):
        assert d.get("/v1/employees/%d" % eid, who="cip").status == 200
    assert d.get("/v1/employees/987654", who="cip").status == 404
    assert d.get("/v1/no/such/thing", who="cip").status == 404
    text, after = scrape(d, who="coordinator")
    tmpl = "/v1/employees/{id}"
    assert requests_of(after, tmpl) - requests_of(before, tmpl) == 3
    assert requests_of(after, tmpl, status="404") - requests_of(before, tmpl, status="404") == 1
    assert requests_of(after, "none", status="404") - requests_of(before, "none", status="404") == 1
    # No concrete path, no name: route templates only.
    for leak in ("/v1/employees/%d" % eid, "987654", "Zéphyrine", "Quasimodo", "/v1/no/such"):
        assert leak not in text, leak
    # The histogram counts every request the counter counts.
    total = sum(after["tremplin_http_requests_total"].values())
    assert after["tremplin_http_request_duration_seconds_count"][()] == total
    assert after["tremplin_http_request_duration_seconds_bucket"][(("le", "+Inf"),)] == total
    assert after["tremplin_http_request_duration_seconds#type"][()] == "histogram"
    # Stores, subscribers, outbox, plugins.
    sizes = after["tremplin_database_size_bytes"]
    assert sizes[(("file", "database"),)] > 0 and sizes[(("file", "audit"),)] > 0
    assert (("file", "database_wal"),) in sizes
    assert (("subscriber", "example/counter"),) in after["tremplin_events_pending"]
    assert after["tremplin_outbox_messages"][(("state", "pending"),)] == 0
    state = after["tremplin_plugin_state"]
    assert state[(("kind", "c"), ("plugin", "example"), ("state", "enabled"))] == 1
    assert state[(("kind", "c"), ("plugin", "example"), ("state", "disabled_failed"))] == 0
    assert after["tremplin_plugin_failures_total"][(("plugin", "example"),)] == 0
    assert after["tremplin_retention_held"][()] == 0
    assert after["tremplin_script_failures#type"][()] == "counter"  # the parser drops _total


def test_metrics__eti_and_cip__forbidden(daemon):
    for who in ("eti", "cip"):
        assert daemon.get("/v1/metrics", who=who).status == 403


def test_monitoring_group__health_and_metrics_only__without_an_account(make_daemon):
    tt.require_root()
    d = make_daemon(extra={"monitoring_group": "nogroup"})
    assert tt.call_as(MONITOR, d.socket, "GET", "/v1/health").status == 200
    a = tt.call_as(MONITOR, d.socket, "GET", "/v1/metrics")
    assert a.status == 200 and "tremplin_uptime_seconds" in families(a.raw.decode())
    assert tt.call_as(MONITOR, d.socket, "GET", "/v1/openapi.json").status == 200
    for path in ("/v1/whoami", "/v1/employees", "/v1/staff", "/v1/plugins", "/v1/nothing"):
        a = tt.call_as(MONITOR, d.socket, "GET", path)
        assert a.status == 403, (path, a)
        assert "monitoring_group" in a.error["message"], a
    a = tt.call_as(MONITOR, d.socket, "POST", "/v1/plugins/reload", {})
    assert a.status == 403, a
    # Not in the group: an unknown caller, as before.
    for path in ("/v1/health", "/v1/metrics"):
        assert tt.call_as(OTHER, d.socket, "GET", path).status == 403


def test_monitoring_group__unset__unknown_callers_refused(daemon):
    tt.require_root()
    assert tt.call_as(MONITOR, daemon.socket, "GET", "/v1/metrics").status == 403


def test_monitoring_group__no_such_group__configuration_refused(make_daemon):
    d = make_daemon(start=False, extra={"monitoring_group": "no-such-group-here"})
    p = d.run("-n")
    assert p.returncode == 78, p.stderr
    assert "monitoring_group" in p.stderr and "no-such-group-here" in p.stderr


# ---------------------------------------------------------------------------
# Retention's safety net, on a clock the test moves

T0 = "2022-01-10T08:00:00Z"  # the files are made (the first start: nothing due)
T2 = "2024-01-11T08:00:00Z"  # two years and a day later: all of them are due


def files_made_at_t0(make_daemon, n, **settings):
    import lua_support as ls
    d = make_daemon(start=False, **settings)
    with ls.environment(TREMPLIN_TEST_CLOCK=T0):
        d.start()
    s = d.create("/v1/structures", tt.structure_body())
    ids = [d.create("/v1/employees", {"structure_id": s["id"], "first_name": "Léa",
                                      "last_name": tt.unique("Import"), "birth_date": "1990-01-01",
                                      "prescriber_kind": "france_travail"}, who="cip")["id"]
           for _ in range(n)]
    assert "WARNING: retention" not in d.log()
    d.stop()
    offset = d.log_size()
    with ls.environment(TREMPLIN_TEST_CLOCK=T2):
        d.start()
    return d, ids, offset


def test_retention__most_files_due_after_a_long_stop__held_until_an_admin_confirms(make_daemon):
    d, ids, offset = files_made_at_t0(make_daemon, 3)
    d.wait_log("HELD: 3 of 3 files", since=offset)
    log = d.log_since(offset)
    assert "first run after 731 days without one" in log, log
    # Nothing purged; a dry run lists them, by id, and changes nothing.
    for eid in ids:
        assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 200
    p = tt.ctl("retention", "--dry-run", socket_path=d.socket)
    assert p.returncode == 0, p.stderr
    plan = json.loads(p.stdout)
    assert (plan["due"], plan["total"], plan["held"], plan["hold_percent"]) == (3, 3, True, 10)
    assert [f["id"] for f in plan["files"]] == ids
    # The first start's run (its clock runs on from T0, seconds on a slow machine), not this one's.
    assert T0 <= plan["last_run_at"] < "2022-01-10T08:10:00Z", plan["last_run_at"]
    assert d.get("/v1/retention", who="coordinator").body == plan
    _, f = scrape(d)
    assert f["tremplin_retention_held"][()] == 1
    # Confirmed by the admin alone, and only for the count listed.
    assert d.post("/v1/retention/confirm", {"due": 3}, who="coordinator").status == 403
    a = d.post("/v1/retention/confirm", {"due": 2})
    assert a.status == 409 and a.error["field"] == "due", a
    a = d.post("/v1/retention/confirm", {"due": "3"})
    assert a.status == 422 and a.error["field"] == "due", a
    for eid in ids:
        assert d.get("/v1/employees/%d" % eid, who="coordinator").status == 200
    p = tt.ctl("retention", "--confirm", "3", socket_path=d.socket)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"due": 3, "confirmed": True}
    tt.wait_for("the confirmed purge", lambda: all(
        d.get("/v1/employees/%d" % eid, who="coordinator").status == 404 for eid in ids))
    assert "confirmed by %s" % tt.SELF_USER in d.log_since(offset)
    _, f = scrape(d)
    assert f["tremplin_retention_held"][()] == 0
    # Nothing held any more: a second confirmation has nothing to confirm.
    assert d.post("/v1/retention/confirm", {"due": 3}).status == 409


def test_retention__share_under_the_hold__purged_and_said(make_daemon):
    d, ids, offset = files_made_at_t0(make_daemon, 2, extra={"retention_hold_percent": 100})
    tt.wait_for("the purge", lambda: all(
        d.get("/v1/employees/%d" % eid, who="coordinator").status == 404 for eid in ids))
    log = d.log_since(offset)
    assert "HELD" not in log
    assert "first run after 731 days without one" in log and "2 of 2 files" in log, log


def test_retention_command__bad_arguments__usage_64(tmp_path):
    sock = str(tmp_path / "absent.sock")
    for args in (["--confirm"], ["--confirm", "x"], ["--confirm", "0"], ["--now"]):
        p = tt.ctl("retention", *args, socket_path=sock)
        assert p.returncode == 64, (args, p.returncode, p.stderr)


# ---------------------------------------------------------------------------
# Staff accounts for users this host does not know


def test_staff__unix_user_unknown_here__accepted_with_a_warning(daemon):
    a = daemon.post("/v1/staff", {"name": "Future CIP", "unix_user": "nosuchuser42", "role": "cip"})
    assert a.status == 201, a
    assert "nosuchuser42 is not a user of this host" in a.headers["Warning"], a.headers
    assert a.headers["Warning"].startswith('299 tremplind "')
    assert daemon.get("/v1/staff/%d" % a.body["id"]).body["unix_user"] == "nosuchuser42"
    # A user the host knows: no warning.
    b = daemon.post("/v1/staff", {"name": "Known", "unix_user": "uucp", "role": "eti"})
    assert b.status == 201 and "Warning" not in b.headers, b.headers
    # tremplinctl shows it on stderr, the answer on stdout.
    p = tt.ctl("patch", "/v1/staff/%d" % a.body["id"], '{"name": "Future CIP 2"}',
               socket_path=daemon.socket)
    assert p.returncode == 0, p.stderr
    assert ("tremplinctl : attention : unix_user nosuchuser42 is not a user of this host"
            in p.stderr), p.stderr
    assert json.loads(p.stdout)["name"] == "Future CIP 2"


# ---------------------------------------------------------------------------
# docs/openapi.json: the house rules, and a validator nobody here wrote

NODE_MODULES = os.path.join(tt.TOP_SRCDIR, "build", "node", "node_modules")
VALIDATE = """
import { Validator } from "@seriousme/openapi-schema-validator";
const v = new Validator();
const res = await v.validate(process.argv[2]);
console.log(JSON.stringify({valid: res.valid, version: v.version, errors: res.errors || null}));
"""


def node_validate(path):
    assert os.path.isdir(os.path.join(NODE_MODULES, "@seriousme", "openapi-schema-validator")), \
        "no %s/@seriousme/openapi-schema-validator: run sh scripts/deps.sh test" % NODE_MODULES
    # An ES module resolves packages from its own directory, not NODE_PATH: run it from there.
    script = os.path.join(os.path.dirname(NODE_MODULES), "validate-openapi.mjs")
    with open(script, "w") as f:
        f.write(VALIDATE)
    p = run("node", script, os.path.abspath(path))
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_openapi__valid_for_a_third_party_validator():
    res = node_validate(os.path.join(tt.TOP_SRCDIR, "docs", "openapi.json"))
    assert res["valid"] is True and res["version"] == "3.1", res


def test_openapi__validator__finds_a_broken_document(tmp_path):
    doc = json.load(open(os.path.join(tt.TOP_SRCDIR, "docs", "openapi.json")))
    doc["paths"]["/v1/health"]["get"]["responses"]["200"] = {"content": "not an object"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert node_validate(str(bad))["valid"] is False


def test_openapi__house_rules_hold():
    """security [], license and contact, allOf beside no $ref, 405 described, no raw <...>:
    scripts/openapi-tidy.py applies them; --check fails naming what it would change."""
    p = run("python3", os.path.join(tt.TOP_SRCDIR, "scripts", "openapi-tidy.py"), "--check")
    assert p.returncode == 0, "run scripts/openapi-tidy.py:\n" + p.stdout
    doc = json.load(open(os.path.join(tt.TOP_SRCDIR, "docs", "openapi.json")))
    assert doc["security"] == [] and doc["info"]["license"]["name"] and doc["info"]["contact"]


# ---------------------------------------------------------------------------
# Socket activation: the socket from systemd (sd_listen_fds), here from
# systemd-socket-activate(1), which passes it as systemd does


def socket_activated(d, path, log):
    import shutil
    import signal
    tool = shutil.which("systemd-socket-activate")
    assert tool, "systemd-socket-activate (Debian's systemd package) is needed"
    proc = subprocess.Popen([tool, "-l", path, tt.TREMPLIND, "-d", "-f", d.conf], cwd=d.dir,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    tt.wait_for("the socket", lambda: os.path.exists(path))
    return proc, signal


def test_socket_activation__serves_the_socket_it_is_given_and_leaves_it(make_daemon, tmp_path):
    d = make_daemon(start=False)
    with open(tmp_path / "log", "w") as log:
        proc, signal = socket_activated(d, d.socket, log)
        try:
            with tt.Client(d.socket) as c:
                assert c.get("/v1/health").status == 200
                assert c.get("/v1/whoami").body["role"] == "admin"
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=10)
    out = (tmp_path / "log").read_text()
    tt.check_sanitizers(out)
    assert rc == 0, out
    assert "serving the socket systemd passed" in out, out
    # systemd's socket: the daemon does not remove it when it stops.
    assert os.path.exists(d.socket)


def test_socket_activation__another_path_than_the_configuration__refused(make_daemon, tmp_path):
    d = make_daemon(start=False)
    other = str(tmp_path / "other.sock")
    with open(tmp_path / "log", "w") as log:
        proc, _ = socket_activated(d, other, log)
        try:
            with tt.Client(other, check=False) as c:
                c.get("/v1/health")
        except (OSError, Exception):  # the daemon refuses to start: the connection drops
            pass
        rc = proc.wait(timeout=10)
    out = (tmp_path / "log").read_text()
    assert rc == 1, out
    assert other in out and d.socket in out and "ListenStream" in out, out
    assert not os.path.exists(d.database), "refused before the database was touched"


# ---------------------------------------------------------------------------
# What `make install` puts in place


def test_installed_configuration__comments_and_values_name_installed_paths(tmp_path):
    builddir = os.environ.get("TOP_BUILDDIR") or tt.BUILDDIR
    p = run("make", "-s", "-C", builddir, "tremplin.conf")
    assert p.returncode == 0, p.stderr
    text = open(os.path.join(builddir, "tremplin.conf"), encoding="utf-8").read()
    assert "source tree" not in text and "./var" not in text, text[:800]
    assert "installed copy" in text
    for line in text.splitlines():
        # Every path, set or commented, is absolute: none points into a source tree
        # (a URL, such as an SMTP server's, is no path).
        for value in __import__("re").findall(r'= "([^"]*/[^"]*)"', line):
            assert value.startswith("/") or "://" in value, line
    assert 'unix_user = "root"' in text and "root is the first admin" in text


def complete(*words):
    """What bash completion offers for the last word, tremplinctl on the PATH."""
    script = ("source /usr/share/bash-completion/bash_completion; source %s; "
              "COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=\"${COMP_WORDS[*]}\"; "
              "COMP_POINT=${#COMP_LINE}; _tremplinctl; printf '%%s\\n' \"${COMPREPLY[@]}\""
              % (os.path.join(tt.TOP_SRCDIR, "completion", "tremplinctl.bash"),
                 " ".join("'%s'" % w for w in words), len(words) - 1))
    env = dict(os.environ, PATH=os.path.dirname(tt.TREMPLINCTL) + ":" + os.environ["PATH"])
    assert os.path.exists("/usr/share/bash-completion/bash_completion"), \
        "bash-completion (Debian package) is needed"
    p = run("bash", "-c", script, env=env)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def test_bash_completion__commands_from_the_help_and_their_options():
    assert {"health", "retention", "backup", "get"} <= set(complete("tremplinctl", ""))
    assert complete("tremplinctl", "ret") == ["retention"]
    assert complete("tremplinctl", "retention", "--") == ["--dry-run", "--confirm"]
    assert "--version" in complete("tremplinctl", "--")


def test_metrics__a_failing_script__its_failures_and_its_backlog(make_daemon):
    import lua_support as ls
    d = ls.script_daemon(make_daemon, {"probe": {"role": "coordinator",
                                                 "limits": {"max_failures": 1000}}},
                         files={"rules/probe.lua": """
on("structure.created", function(e) error("cannot handle " .. e.subject) end)
"""})
    d.create("/v1/structures", tt.structure_body())
    tt.wait_for("a failure", lambda: ls.item(d, "probe")["script"]["failures"] >= 1)
    _, f = scrape(d)
    assert f["tremplin_script_failures_total"][(("script", "probe"),)] >= 1
    assert f["tremplin_events_pending"][(("subscriber", "probe/on:structure.created"),)] == 1
    state = f["tremplin_plugin_state"]
    assert state[(("kind", "lua"), ("plugin", "probe"), ("state", "enabled"))] == 1
