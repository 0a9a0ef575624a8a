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
    assert sock in p.stderr


def test_openapi__served_as_built__same_document(daemon):
    a = daemon.get("/v1/openapi.json", who="cip")
    assert a.status == 200, a
    assert a.headers["Content-Type"] == "application/json"
    with open(os.path.join(tt.TOP_SRCDIR, "docs", "openapi.json"), "rb") as f:
        assert a.raw == f.read()
    assert a.body["paths"]["/v1/openapi.json"]["get"]["operationId"] == "getOpenAPI"
