"""Helpers for the tests of Lua site scripts (test_lua_*.py).

A script daemon is an ordinary test daemon whose configuration has a
`script_dir` of its own (<dir>/lua, where the test writes its scripts) and a
`scripts` section. The test clock (TREMPLIN_TEST_CLOCK) is passed through the
environment of the daemon's process only.
"""

import contextlib
import os
import re
import textwrap
import time

import tremplin_test as tt

TOP_LUA = os.path.join(tt.TOP_SRCDIR, "lua")


@contextlib.contextmanager
def environment(**env):
    """Set variables for what starts inside (the daemon inherits them), then restore."""
    saved = {k: os.environ.get(k) for k in env}
    try:
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def write_files(root, files):
    """files: {relative path: text or bytes}, written under root."""
    for rel, text in (files or {}).items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(text, bytes) else "w"
        with open(path, mode) as f:
            f.write(text if isinstance(text, bytes) else textwrap.dedent(text))


def script_daemon(factory, scripts, files=None, start=True, clock=None, script_dir=None,
                  extra=None, **kw):
    """A daemon running `scripts` ({name: section}); `files` go to <dir>/lua.

    clock: TREMPLIN_TEST_CLOCK ("2026-03-02T08:00:00Z") for this start.
    """
    d = factory(start=False, **kw)
    d.lua_dir = script_dir or os.path.join(d.dir, "lua")
    if script_dir is None:
        os.makedirs(os.path.join(d.lua_dir, "rules"), exist_ok=True)
        write_files(d.lua_dir, files)
    if os.environ.get("TREMPLIN_TEST_SCRIPT_WORKERS") == "0":
        # The same tests against scripts in the daemon's process (the host kept
        # for script_workers = false).
        d.settings["extra"]["script_workers"] = False
    d.settings["extra"].update(extra or {})
    d.settings["extra"]["script_dir"] = d.lua_dir
    d.settings["extra"]["scripts"] = scripts
    d.write_config()
    if start:
        start_daemon(d, clock)
    return d


def start_daemon(d, clock=None):
    with environment(TREMPLIN_TEST_CLOCK=clock):
        d.start()
    return d


def set_scripts(d, scripts, files=None):
    """Rewrite the scripts (and files) of d's configuration; no reload."""
    write_files(d.lua_dir, files)
    d.settings["extra"]["scripts"] = scripts
    d.write_config()


def items(d, who="admin"):
    """The scripts of GET /v1/plugins, by name."""
    return {k: v for k, v in tt.plugins_of(d, who).items() if v["kind"] == "lua"}


def item(d, name):
    return items(d)[name]


def wait_state(d, name, state, timeout=30):
    return tt.wait_for("script %s %s" % (name, state),
                       lambda: (lambda p: p if p["state"] == state else None)(item(d, name)),
                       timeout=timeout)


def script_lines(d, name, since=0):
    """The log lines of script `name` ("script NAME: ..."), text after the prefix."""
    out = []
    for line in d.log_since(since).splitlines():
        m = re.search(r"script %s: (.*)$" % re.escape(name), line)
        if m:
            out.append(m.group(1))
    return out


def wait_line(d, name, prefix, since=0, timeout=30):
    """The first log line of `name` starting with prefix (waits for it)."""
    def find():
        for x in script_lines(d, name, since):
            if x.startswith(prefix):
                return x
        return None
    return tt.wait_for("%s: %r in the log" % (name, prefix), find, timeout=timeout)


def outbox(d, where="1", args=()):
    rows = d.sql("SELECT id, source, kind, recipient_role, recipient_staff_id, employee_id,"
                 " message, dedup_key, status FROM outbox WHERE " + where + " ORDER BY id",
                 args)
    keys = ("id", "source", "kind", "recipient_role", "recipient_staff_id", "employee_id",
            "message", "dedup_key", "status")
    return [dict(zip(keys, r)) for r in rows]


def reload_post(d, who="admin"):
    return d.post("/v1/plugins/reload", None, who=who)


def monotonic_ms():
    return time.monotonic() * 1000.0
