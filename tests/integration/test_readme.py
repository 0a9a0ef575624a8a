"""The README's examples run in order, as written, on a daemon of their own.

Every line of a ```sh block that calls tremplinctl (`./tremplinctl ...` as the
administrator, `as USER ...` through the README's helper) or curl is run, in
the README's order, and must succeed. The README's Unix users are mapped to
the system users the tests call as (awa: bin, karim: sys, claire: daemon);
lines that need what a test daemon has not (a backup recipient, the demo's
own database, building) are left out: backup, demo, scripts/, make, cc.
"""

import json
import os
import re
import shlex
import subprocess
import tempfile

import pytest

import lua_support as ls
import tremplin_test as tt

pytestmark = pytest.mark.skipif(not tt.IS_ROOT,
                                reason="calling as other Unix users needs root")

USERS = {"awa": "bin", "karim": "sys", "claire": "daemon"}
SKIP = ("backup", "demo")


def commands():
    with open(os.path.join(tt.TOP_SRCDIR, "README.md"), encoding="utf-8") as f:
        text = f.read()
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        block = block.replace("\\\n", " ")
        for line in block.splitlines():
            line = line.strip()
            words = shlex.split(line, comments=True)
            if not words:
                continue
            if words[0] == "./tremplinctl" and words[1] not in SKIP:
                out.append((None, words[1:]))
            elif words[0] == "as" and len(words) > 2 and words[1] in USERS:
                out.append((USERS[words[1]], words[2:]))
            elif words[0] == "curl":
                out.append(("curl", words[1:]))
    return out


def test_readme__examples_in_order__all_succeed(module_daemons):
    admin = [s for s in tt.BOOTSTRAP_STAFF if s["role"] == "admin"]
    d = module_daemons(start=False, staff=admin)
    ls.start_daemon(d, clock="2026-12-07T08:00:00Z")
    cmds = commands()
    assert len(cmds) >= 30, cmds
    work = tempfile.mkdtemp(prefix="tremplin-readme-", dir=tt.traversable_base())
    os.chmod(work, 0o1777)
    ran, out = 0, {}
    for user, args in cmds:
        # The README's users are this machine's test users.
        args = [re.sub(r'"unix_user": "(\w+)"',
                       lambda m: '"unix_user": "%s"' % USERS.get(m.group(1), m.group(1)), a)
                for a in args]
        if user == "curl":
            args = [d.socket if a == "var/tremplin.sock" else a for a in args]
            p = subprocess.run(["curl", "-sS", "--fail-with-body"] + args,
                               capture_output=True, text=True, timeout=30)
        else:
            p = tt.ctl(*args, socket_path=d.socket, user=user, cwd=work)
        assert p.returncode == 0, (user, args, p.stdout, p.stderr)
        out[(user, " ".join(args))] = p.stdout
        ran += 1
    assert ran == len(cmds)
    # What the README says each step shows.
    found = json.loads(out[("bin", "people helene")])["items"]
    assert [(i["first_name"], i["referent_cip_name"]) for i in found] == [("Hélène", "Awa Diallo")]
    goals = json.loads(out[("sys", "get /v1/employees/1/goals")])["items"]
    assert [g["text"] for g in goals] == ["Passer le CACES R489"]
    entry = json.loads(out[("bin", "entry-reviews")])["items"]
    assert [i["first_name"] for i in entry] == ["Hélène"]
    team = json.loads(out[("sys", "team")])["items"]
    assert {i["first_name"] for i in team} == {"Sabrina", "Hélène"}
    # What the walk-through left: Sabrina's file as her referent CIP exports it.
    assert os.path.exists(os.path.join(work, "dossier-1.json"))
