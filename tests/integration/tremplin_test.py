"""Harness for the integration tests: a real tremplind on a temporary directory.

Only the Python standard library (and pytest, for skips and failures) is used,
so that the suite runs under Debian's /usr/bin/python3 with python3-pytest.

- Daemon: writes a configuration, starts ``tremplind -d -f CONF`` with its
  stderr in a log file, waits until /v1/health answers, stops it with a signal
  and returns the exit code; fails when a sanitizer reported something.
- Client: HTTP/1.1 over AF_UNIX with keep-alive; every answer is returned as
  ``Answer(status, headers, body)`` and checked against docs/openapi.json by
  tests/integration/openapi_check.py when that module is there.
- Callers as other Unix users: a forked child drops to the user's uid and gid,
  makes the request and sends the answer back through a pipe.
"""

import atexit
import base64
import hashlib
import http.client
import importlib
import json
import os
import pwd
import random
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("TOP_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("BUILDDIR") or os.getcwd()
TREMPLIND = os.environ.get("TREMPLIND") or os.path.join(BUILDDIR, "tremplind")
TREMPLINCTL = os.environ.get("TREMPLINCTL") or os.path.join(BUILDDIR, "tremplinctl")
# `make check` exports it; the plugins the tests load are built there.
TOP_BUILDDIR = os.environ.get("TOP_BUILDDIR") or os.path.dirname(os.path.abspath(TREMPLIND))

# Generous bounds: they only decide when a test gives up waiting; no test
# asserts how fast something happens.
START_TIMEOUT = 60.0
# tremplind's default request_timeout, which also closes idle connections.
DAEMON_REQUEST_TIMEOUT = 30
STOP_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

IS_ROOT = os.geteuid() == 0
SELF_USER = pwd.getpwuid(os.geteuid()).pw_name

# Roles mapped to existing Debian system users. The admin is the daemon's own
# user ("@daemon" in the configuration), root when the suite runs as root.
ROLE_USERS = {
    "admin": SELF_USER,
    "coordinator": "daemon",
    "cip": "bin",
    "eti": "sys",
}
UNKNOWN_USER = "nobody"  # no account at all
# Debian system users a test may make a second CIP of, the first one free.
SECOND_CIP_USERS = ("mail", "news", "uucp", "lp", "man", "games", "proxy")

BOOTSTRAP_STAFF = [
    {"name": "Opératrice", "unix_user": "@daemon", "role": "admin", "email": "ops@example.org"},
    {"name": "Coordinatrice", "unix_user": "daemon", "role": "coordinator"},
    {"name": "Conseiller CIP", "unix_user": "bin", "role": "cip"},
    {"name": "Encadrant ETI", "unix_user": "sys", "role": "eti"},
]

# Sanitized builds: a finding must end the daemon with a non-zero status and
# leave its report in the log, where Daemon.check_log() looks for it.
DAEMON_ENV_DEFAULTS = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=23",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
for _k, _v in DAEMON_ENV_DEFAULTS.items():
    os.environ.setdefault(_k, _v)


# ---------------------------------------------------------------------------
# Places other Unix users can reach
#
# Tests run tremplinctl and clients as other users (daemon, bin, sys, nobody):
# what those processes open (the binary, the socket, files they write) must lie
# under directories every user may traverse, wherever the checkout or $TMPDIR
# lies (a 0700 temporary directory is common in CI). The daemons' work
# directories are made on a traversable base ($TMPDIR when it is one), and one
# 0755 directory per run holds a copy of tremplinctl. Paths stay short: the
# daemon's messages quote the configuration's path, and Lua cuts a long one.

_shared = {}


def _traversable(path):
    """True when every directory from / down to path lets others search it."""
    path = os.path.realpath(path)
    while True:
        try:
            if not os.stat(path).st_mode & 0o001:
                return False
        except OSError:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def traversable_base():
    """A temporary directory on a path other Unix users can traverse."""
    if "base" not in _shared:
        bases = [tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"]
        base = next((b for b in bases if os.path.isdir(b) and _traversable(b)), None)
        if base is None:
            pytest.fail("no temporary directory that other Unix users can traverse among %s"
                        % bases)
        _shared["base"] = base
    return _shared["base"]


def shared_dir():
    """This run's 0755 directory that other Unix users can reach (made at first use)."""
    if "dir" not in _shared:
        d = tempfile.mkdtemp(prefix="tremplin-run-", dir=traversable_base())
        os.chmod(d, 0o755)
        _shared["dir"] = d
        atexit.register(_remove_shared_dir)
    return _shared["dir"]


def _remove_shared_dir():
    d = _shared.pop("dir", None)
    if d is not None and not os.environ.get("TREMPLIN_KEEP_TMP"):
        shutil.rmtree(d, ignore_errors=True)


def mkdtemp(prefix="tremplin-it-", mode=0o755):
    """A new directory on traversable_base(), `mode` (others may reach what is inside)."""
    d = tempfile.mkdtemp(prefix=prefix, dir=traversable_base())
    os.chmod(d, mode)
    return d


def shared_copy(path):
    """A copy of the executable `path` in shared_dir()/bin, 0755, that any user may run."""
    key = ("copy", path)
    if key not in _shared:
        bindir = os.path.join(shared_dir(), "bin")
        os.makedirs(bindir, mode=0o755, exist_ok=True)
        dest = os.path.join(bindir, os.path.basename(path))
        n = 1
        while os.path.exists(dest):  # two builds' tremplinctl in one run
            n += 1
            dest = os.path.join(bindir, "%s.%d" % (os.path.basename(path), n))
        shutil.copy(path, dest)
        os.chmod(dest, 0o755)
        _shared[key] = dest
    return _shared[key]


def needs_root(user):
    """Skip the calling test when calling as `user` needs privileges we lack."""
    if user != SELF_USER and not IS_ROOT:
        pytest.skip("calling as Unix user %r needs root (the suite runs as %r)" % (user, SELF_USER))


def require_root(why="needs other Unix users"):
    if not IS_ROOT:
        pytest.skip("%s: run the suite as root" % why)


def user_of(who):
    """A role name ("admin", "eti", ...), "unknown", or a Unix user name -> user name."""
    if who in ROLE_USERS:
        return ROLE_USERS[who]
    if who == "unknown":
        return UNKNOWN_USER
    return who


# ---------------------------------------------------------------------------
# Data helpers


def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_used_sirets = set()


def make_siret(rng=random):
    """A fresh SIRET that passes the Luhn check (never La Poste's SIREN)."""
    while True:
        base = "%d%012d" % (rng.randint(1, 9), rng.randrange(10**12))
        if base.startswith("356000000"):
            continue
        for d in "0123456789":
            s = base + d
            if luhn_ok(s):
                break
        if s not in _used_sirets:
            _used_sirets.add(s)
            return s


def with_wrong_key(siret):
    """The same SIRET with a check digit that fails Luhn."""
    last = int(siret[-1])
    return siret[:-1] + str((last + 1) % 10)


_counter = [0]


def unique(prefix="x"):
    _counter[0] += 1
    return "%s%d%04d" % (prefix, os.getpid() % 1000, _counter[0])


def structure_body(**over):
    b = {"name": "Atelier " + unique(), "siret": make_siret(), "kind": "ACI"}
    b.update(over)
    return b


def staff_body(**over):
    b = {"name": "Agent " + unique(), "unix_user": unique("u"), "role": "eti"}
    b.update(over)
    return b


# ---------------------------------------------------------------------------
# Answers and the OpenAPI check


class Headers(dict):
    """Response headers; names are looked up without regard to case."""

    def __init__(self, pairs=()):
        super().__init__()
        for k, v in pairs:
            k = k.lower()
            super().__setitem__(k, v if k not in self else self[k] + ", " + v)

    def __getitem__(self, k):
        return super().__getitem__(k.lower())

    def __contains__(self, k):
        return super().__contains__(k.lower())

    def get(self, k, default=None):
        return super().get(k.lower(), default)


class Answer(tuple):
    """(status, headers, body): body is the parsed JSON, or bytes otherwise."""

    def __new__(cls, status, headers, body, raw=b""):
        a = super().__new__(cls, (status, headers, body))
        a.raw = raw
        return a

    status = property(lambda self: self[0])
    headers = property(lambda self: self[1])
    body = property(lambda self: self[2])

    @property
    def error(self):
        assert isinstance(self.body, dict) and "error" in self.body, (
            "expected a JSON error, got %d %r" % (self.status, self.body))
        return self.body["error"]

    def __repr__(self):
        return "Answer(%d, %r)" % (self.status, self.body if not isinstance(self.body, bytes)
                                   else self.body[:200])


def make_answer(status, header_pairs, raw):
    headers = Headers(header_pairs)
    body = raw
    ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype == "application/json" and raw:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise AssertionError("the daemon said application/json but sent %r: %s"
                                 % (raw[:200], e))
    return Answer(status, headers, body, raw)


_checker = None
_checker_warned = False


def _load_checker():
    """openapi_check.check, or None (with one warning) while it is missing."""
    global _checker, _checker_warned
    if _checker is not None:
        return _checker
    spec = os.path.join(TOP_SRCDIR, "docs", "openapi.json")
    mod_file = os.path.join(HERE, "openapi_check.py")
    if not (os.path.exists(spec) and os.path.exists(mod_file)):
        if not _checker_warned:
            warnings.warn("docs/openapi.json or tests/integration/openapi_check.py is missing: "
                          "answers are not checked against the API description")
            _checker_warned = True
        return None
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    _checker = importlib.import_module("openapi_check").check
    return _checker


def openapi_plugins(names):
    """Tell the OpenAPI check that paths under /v1/<name>/ belong to these plugins."""
    _load_checker()
    mod = sys.modules.get("openapi_check")
    if mod is not None:
        mod.add_plugins(names)


def openapi_check(method, path, answer):
    check = _load_checker()
    if check is not None:
        check(method, path, answer.status, answer.headers, answer.body)


# ---------------------------------------------------------------------------
# HTTP over the Unix socket


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=CALL_TIMEOUT):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.unix_path)
        except OSError:
            s.close()
            raise
        self.sock = s


def _encode_body(body, content_type, headers):
    if body is None:
        return None
    if isinstance(body, (dict, list, int, float, bool)):
        data = json.dumps(body).encode()
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = bytes(body)
    if content_type is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = content_type
    return data


def _do_request(conn, method, path, body=None, headers=None, content_type="application/json"):
    hdrs = dict(headers or {})
    data = _encode_body(body, content_type, hdrs)
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    raw = resp.read()
    return resp.status, resp.getheaders(), raw


def _dropped(sock):
    """Whether the peer has closed an idle connection: readable, and at EOF."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


class Client:
    """A keep-alive client; each answer is checked against the API description."""

    def __init__(self, socket_path, timeout=CALL_TIMEOUT, check=True, idle_limit=None):
        self.socket_path = socket_path
        self.conn = UnixHTTPConnection(socket_path, timeout)
        self.check = check
        # The daemon closes connections idle for request_timeout: past half of
        # it, start a new one rather than race the daemon's close.
        self.idle_limit = idle_limit
        self.last_used = time.monotonic()

    def request(self, method, path, body=None, headers=None, content_type="application/json"):
        if self.idle_limit is not None and time.monotonic() - self.last_used > self.idle_limit / 2:
            self.conn.close()
        elif self.conn.sock is not None and _dropped(self.conn.sock):
            # The daemon closed it while it was idle (its idle timeout, a test
            # that stalled): a new connection, as HTTP clients do.
            self.conn.close()
        reused = self.conn.sock is not None
        try:
            status, pairs, raw = _do_request(self.conn, method, path, body, headers,
                                             content_type)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()
            # A stalled test process may reach the daemon's idle close of a
            # kept-alive connection after all: a GET asks again on a new one
            # (RFC 9112, 9.3.1); anything else is reported.
            if not (reused and self.idle_limit is not None and method in ("GET", "HEAD")):
                raise
            try:
                status, pairs, raw = _do_request(self.conn, method, path, body, headers,
                                                 content_type)
            except BaseException:
                self.conn.close()
                raise
        except BaseException:
            self.conn.close()  # a half-done exchange must not poison the next request
            raise
        finally:
            self.last_used = time.monotonic()
        a = make_answer(status, pairs, raw)
        if self.check:
            openapi_check(method, path, a)
        return a

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def call_as(user, socket_path, method, path, body=None, headers=None,
            content_type="application/json", timeout=CALL_TIMEOUT):
    """One request from a child running as Unix `user`; returns the checked Answer."""
    needs_root(user)
    if user == SELF_USER:
        with Client(socket_path, timeout) as c:
            return c.request(method, path, body, headers, content_type)
    pw = pwd.getpwnam(user)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, ask, report, exit without cleanup
        code = 0
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            conn = UnixHTTPConnection(socket_path, timeout)
            status, pairs, raw = _do_request(conn, method, path, body, headers, content_type)
            conn.close()
            out = {"status": status, "headers": pairs, "body": base64.b64encode(raw).decode()}
        except BaseException as e:  # noqa: B902 - everything goes back to the parent
            out = {"exception": "%s: %s" % (type(e).__name__, e)}
            code = 1
        try:
            data = json.dumps(out).encode()
            while data:
                data = data[os.write(wfd, data):]
        finally:
            os._exit(code)
    os.close(wfd)
    chunks = []
    with os.fdopen(rfd, "rb") as f:
        while True:
            c = f.read(65536)
            if not c:
                break
            chunks.append(c)
    os.waitpid(pid, 0)
    out = json.loads(b"".join(chunks).decode() or "{}")
    if "exception" in out or "status" not in out:
        raise AssertionError("request as %s failed: %s" % (user, out.get("exception", out)))
    a = make_answer(out["status"], [tuple(p) for p in out["headers"]],
                    base64.b64decode(out["body"]))
    openapi_check(method, path, a)
    return a


# ---------------------------------------------------------------------------
# The daemon

_live = set()  # every daemon process started, so that nothing outlives the suite


def kill_all_live():
    for proc in list(_live):
        if proc.poll() is None:
            try:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                pass
        _live.discard(proc)


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def lua_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return lua_string(v)
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (k, lua_value(x)) for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "{\n" + "".join("  %s,\n" % lua_value(x) for x in v) + "}"
    raise TypeError(v)


# A site script's wall-clock limit per call when its test sets none: the 50 ms
# default would let a descheduled or sanitized daemon fail a test of something
# else. Tests of the time limit set time_ms themselves.
SCRIPT_TIME_MS = 60000


def scripts_with_room(scripts):
    """The `scripts` section with limits.time_ms = SCRIPT_TIME_MS where a script sets none."""
    if not isinstance(scripts, dict):
        return scripts
    out = {}
    for name, sec in scripts.items():
        if isinstance(sec, dict) and isinstance(sec.get("limits", {}), dict):
            sec = dict(sec, limits=dict(sec.get("limits", {})))
            sec["limits"].setdefault("time_ms", SCRIPT_TIME_MS)
        out[name] = sec
    return out


# Built plugins, by name: the example in plugins/, the test plugins in tests/plugins/.
BUILT_PLUGINS = {"example": "plugins/example/.libs/example.so",
                 "skills": "plugins/skills/.libs/skills.so"}


def built_plugin(name):
    """The path of a plugin `make check` built (fails the test when it is missing)."""
    rel = BUILT_PLUGINS.get(name, "tests/plugins/.libs/%s.so" % name)
    # A plugin of plugins/<name>/ (built by its local.mk) where no test plugin has the name.
    shipped = "plugins/%s/.libs/%s.so" % (name, name)
    if name not in BUILT_PLUGINS and os.path.exists(os.path.join(TOP_BUILDDIR, shipped)):
        rel = shipped
    path = os.path.join(TOP_BUILDDIR, rel)
    if not os.path.exists(path):
        pytest.fail("no %s: build the plugins with `make check TESTS=` and set TOP_BUILDDIR "
                    "(now %s)" % (path, TOP_BUILDDIR))
    return path


class Daemon:
    """One tremplind on its own directory (socket, database, config, log).

    plugin_files: names of built plugins to link into <dir>/plugins, which
    becomes plugin_dir (unless plugin_dir is given). extra: other top-level
    settings, written as they are (event_delay_ms = 3000, plugin_strict = true).
    """

    def __init__(self, workdir=None, request_timeout=None, log_level="info", staff=None,
                 plugins=None, socket_mode="0666", plugin_dir=None, plugin_files=(),
                 extra=None, preexec_fn=None):
        if workdir is None:
            # Other uids must reach the socket inside it.
            workdir = mkdtemp("tremplin-it-")
        self.dir = workdir
        self.socket = os.path.join(workdir, "tremplin.sock")
        self.database = os.path.join(workdir, "tremplin.db")
        self.conf = os.path.join(workdir, "tremplin.conf")
        self.log_path = os.path.join(workdir, "tremplind.log")
        self.settings = {
            "request_timeout": request_timeout,
            "log_level": log_level,
            "staff": list(BOOTSTRAP_STAFF if staff is None else staff),
            "plugins": plugins,
            "socket_mode": socket_mode,
            "plugin_dir": plugin_dir,
            "extra": dict(extra or {}),
        }
        if plugin_files:
            self.link_plugins(plugin_files)
        self.preexec_fn = preexec_fn  # run in the child before exec (e.g. setrlimit)
        self.proc = None
        self.exit_codes = []
        self._client = None
        self.write_config()

    # -- configuration --------------------------------------------------

    def config_text(self, **over):
        s = dict(self.settings, **over)
        lines = [
            "-- generated by tests/integration/tremplin_test.py",
            "socket = %s" % lua_string(self.socket),
            "socket_mode = %s" % lua_string(s["socket_mode"]),
            "database = %s" % lua_string(self.database),
            "log_level = %s" % lua_string(s["log_level"]),
        ]
        if s["request_timeout"] is not None:
            lines.append("request_timeout = %d" % s["request_timeout"])
        if s["plugin_dir"] is not None:
            lines.append("plugin_dir = %s" % lua_string(s["plugin_dir"]))
        for k, v in s["extra"].items():
            if k == "scripts":
                v = scripts_with_room(v)
            lines.append("%s = %s" % (k, lua_value(v)))
        lines.append("staff = " + lua_value(s["staff"]))
        if s["plugins"] is not None:
            lines.append("plugins = " + lua_value(s["plugins"]))
            openapi_plugins(s["plugins"])
        return "\n".join(lines) + "\n"

    def link_plugins(self, names):
        """<dir>/plugins with a link to each built plugin named; it becomes plugin_dir."""
        d = os.path.join(self.dir, "plugins")
        os.makedirs(d, exist_ok=True)
        for n in names:
            link = os.path.join(d, n + ".so")
            if not os.path.lexists(link):
                os.symlink(built_plugin(n), link)
        self.settings["plugin_dir"] = d
        return d

    def write_config(self, text=None, mode=0o644, **over):
        """Write the configuration (generated from the settings, or `text`)."""
        if text is None:
            self.settings.update(over)
            text = self.config_text()
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, self.conf)
        return self.conf

    def line_of(self, needle):
        """1-based line of the first configuration line holding `needle`."""
        with open(self.conf) as f:
            for i, line in enumerate(f, 1):
                if needle in line:
                    return i
        raise AssertionError("%r not in %s" % (needle, self.conf))

    # -- process --------------------------------------------------------

    def spawn(self, *args, conf=None):
        """Start tremplind -d -f CONF [args]; do not wait for anything."""
        if not os.access(TREMPLIND, os.X_OK):
            pytest.fail("no tremplind at %s (set TREMPLIND)" % TREMPLIND)
        log = open(self.log_path, "ab")
        try:
            proc = subprocess.Popen([TREMPLIND, "-d", "-f", conf or self.conf] + list(args),
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd=self.dir, start_new_session=True,
                                    preexec_fn=self.preexec_fn)
        finally:
            log.close()
        _live.add(proc)
        return proc

    def start(self, *args):
        """Start and wait until /v1/health answers 200."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = self.spawn(*args)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self._reaped(rc)
                raise AssertionError("tremplind exited with %d while starting:\n%s"
                                     % (rc, self.log()))
            try:
                with Client(self.socket, timeout=5) as c:
                    if c.get("/v1/health").status == 200:
                        return self
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise AssertionError("tremplind did not answer /v1/health within %ds:\n%s"
                                     % (START_TIMEOUT, self.log()))
            time.sleep(0.02)

    def _reaped(self, rc, deliberate=False):
        _live.discard(self.proc)
        if not deliberate:  # kill -9 asked by a test is not the daemon's doing
            self.exit_codes.append(rc)
        self.close_client()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        assert self.running, "tremplind is not running"
        self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT):
        """Wait for the exit; returns the exit code (None when still running)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reaped(rc)
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Send `sig`, wait for the exit and return its code; kill -9 on a hang."""
        if not self.running:
            return self.proc.returncode if self.proc else None
        self.close_client()
        self.proc.send_signal(sig)
        rc = self.wait(timeout)
        if rc is None:
            self.kill()
            raise AssertionError("tremplind did not exit within %ss of %s:\n%s"
                                 % (timeout, signal.Signals(sig).name, self.log()))
        return rc

    def kill(self):
        """kill -9: no cleanup in the daemon (leaves the socket file)."""
        if self.running:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            self._reaped(self.proc.returncode, deliberate=True)

    def restart(self):
        rc = self.stop()
        assert rc == 0, "exit code %r:\n%s" % (rc, self.log())
        return self.start()

    def run(self, *args, timeout=STOP_TIMEOUT, conf=None):
        """Run tremplind to its exit (e.g. -n, or a start that must fail)."""
        proc = subprocess.run([TREMPLIND] + list(args) + ["-f", conf or self.conf],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              cwd=self.dir, timeout=timeout)
        check_sanitizers(proc.stdout + proc.stderr)
        return proc

    # -- log ------------------------------------------------------------

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def log_since(self, offset):
        return self.log().encode()[offset:].decode("utf-8", "replace")

    def wait_log(self, needle, since=0, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_since(since)
            if needle in text:
                return text
            time.sleep(0.02)
        raise AssertionError("%r not in the log within %ss:\n%s" % (needle, timeout, self.log()))

    def check_log(self):
        check_sanitizers(self.log())

    # -- API ------------------------------------------------------------

    @property
    def client(self):
        """A shared keep-alive client as the daemon's own user (admin)."""
        if self._client is None:
            self._client = Client(self.socket, idle_limit=self.idle_limit)
        return self._client

    @property
    def idle_limit(self):
        """How long the daemon keeps an idle connection: request_timeout (30 s by default)."""
        return self.settings["request_timeout"] or DAEMON_REQUEST_TIMEOUT

    def close_client(self):
        if self._client is not None:
            self._client.close()
            self._client = None

    def new_client(self, **kw):
        kw.setdefault("idle_limit", self.idle_limit)
        return Client(self.socket, **kw)

    def call(self, method, path, body=None, who="admin", **kw):
        user = user_of(who)
        if user == SELF_USER and not kw.get("timeout"):
            return self.client.request(method, path, body, **kw)
        return call_as(user, self.socket, method, path, body, **kw)

    def get(self, path, who="admin", **kw):
        return self.call("GET", path, who=who, **kw)

    def post(self, path, body, who="admin", **kw):
        return self.call("POST", path, body, who=who, **kw)

    def patch(self, path, body, who="admin", **kw):
        return self.call("PATCH", path, body, who=who, **kw)

    def list_all(self, collection, query="", who="admin", limit=500):
        """Every item of a list, following next_cursor."""
        items, cursor = [], None
        for _ in range(10000):
            q = "limit=%d" % limit + ("&" + query if query else "")
            if cursor:
                q += "&cursor=" + cursor
            a = self.get("%s?%s" % (collection, q), who=who)
            assert a.status == 200, a
            items += a.body["items"]
            cursor = a.body["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError("endless pagination")

    def create(self, collection, body, who="admin"):
        a = self.post(collection, body, who=who)
        assert a.status == 201, a
        return a.body

    # -- files ----------------------------------------------------------

    def db_digest(self):
        with open(self.database, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def sql(self, query, args=()):
        """Run SQL on the database file directly (daemon stopped, or a read)."""
        con = sqlite3.connect(self.database, timeout=60)
        try:
            rows = con.execute(query, args).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def cleanup(self):
        self.close_client()
        if self.running:
            self.kill()
        if not os.environ.get("TREMPLIN_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)


class Factory:
    """Makes daemons and keeps them, for whoever stops and cleans them up after."""

    def __init__(self):
        self.daemons = []

    def __call__(self, start=True, **settings):
        d = Daemon(**settings)
        self.daemons.append(d)
        if start:
            d.start()
        return d

    def cleanup(self):
        """Kill and remove them all, whatever state they are in (a benchmark's end)."""
        for d in self.daemons:
            d.cleanup()
        kill_all_live()


def wait_for(what, fn, timeout=30.0, interval=0.05):
    """Poll fn() until it returns something true; return that. Fails after `timeout`.

    The bound is generous on purpose: it only decides when to give up.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting %ss for %s (last: %r)" % (timeout, what, v))
        time.sleep(interval)


def plugins_of(d, who="admin"):
    """GET /v1/plugins as {name: item}."""
    a = d.get("/v1/plugins", who=who)
    assert a.status == 200, a
    return {p["name"]: p for p in a.body["items"]}


def recorded(d, sub="all"):
    """What the recorder test plugin's subscription `sub` has recorded: [{id, type, seen}]."""
    a = d.get("/v1/recorder/events?sub=" + sub)
    assert a.status == 200, a
    return a.body["items"]


def check_sanitizers(text):
    for marker in SANITIZER_MARKERS:
        if marker in text:
            pytest.fail("sanitizer finding (%r) in tremplind's output:\n%s" % (marker, text))


def ctl(*args, socket_path=None, env=None, user=None, input=None, timeout=CALL_TIMEOUT,
        cwd=None):
    """Run tremplinctl (in cwd, one the user can reach); returns the CompletedProcess
    (text mode)."""
    if not os.access(TREMPLINCTL, os.X_OK):
        pytest.skip("no tremplinctl at %s yet (set TREMPLINCTL)" % TREMPLINCTL)
    argv = [TREMPLINCTL]
    if socket_path is not None:
        argv += ["--socket", socket_path]
    argv += list(args)
    e = dict(os.environ)
    e.pop("TREMPLIN_SOCKET", None)
    e.update(env or {})
    kw = {}
    if user is not None and user != SELF_USER:
        needs_root(user)
        pw = pwd.getpwnam(user)
        # The build tree may be closed to that user: run a copy it can reach,
        # from a directory it can reach.
        argv[0] = shared_copy(TREMPLINCTL)
        kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    kw["cwd"] = cwd or (shared_dir() if user is not None and user != SELF_USER else None)
    proc = subprocess.run(argv, capture_output=True, text=True, env=e, input=input,
                          timeout=timeout, **kw)
    check_sanitizers(proc.stderr)
    return proc


def backup_during_writes(daemon, out, min_writes=20):
    """`tremplinctl backup OUT` while a client creates structures without pause.

    Returns (the structures acknowledged before the backup began, the
    tremplinctl process); fails when the writer met an error or stopped
    before the backup ended.
    """
    acked, stop, errors = [], threading.Event(), []

    def writer():
        with daemon.new_client() as c:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    a = c.post("/v1/structures", structure_body(name="Pendant %d" % i))
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(e)
                    return
                if a.status != 201:
                    errors.append(a)
                    return
                acked.append(a.body)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 30
        while len(acked) < min_writes and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        assert len(acked) >= min_writes, errors
        before = list(acked)  # acknowledged before the backup began
        p = ctl("backup", out, socket_path=daemon.socket)
        assert t.is_alive() and not errors, "the writer stopped before the backup ended"
    finally:
        stop.set()
        t.join(timeout=20)
    assert not errors, errors
    return before, p


class Writer(threading.Thread):
    """POSTs structures and staff accounts until told to stop, refused or cut off.

    acked holds (Location, body) for each 201: the writes the daemon promised
    to keep. Any other answer ends the writer and is kept in refused; a
    connection that fails (the daemon died or closed it) ends it too, kept in
    gone.
    """

    def __init__(self, d, keep_alive, tag=""):
        super().__init__(daemon=True)
        self.d, self.keep_alive, self.tag = d, keep_alive, tag
        self.acked, self.refused, self.gone = [], [], []
        self.stop = threading.Event()

    def run(self):
        c = Client(self.d.socket)
        i = 0
        try:
            while not self.stop.is_set():
                i += 1
                name = "Writer %s %d" % (self.tag, i)
                if i % 2:
                    coll, body = "/v1/structures", structure_body(name=name)
                else:
                    coll, body = "/v1/staff", staff_body(name=name)
                try:
                    a = c.post(coll, body)
                except (OSError, http.client.HTTPException) as e:
                    self.gone.append(e)
                    return
                if a.status != 201:
                    self.refused.append(a)
                    return
                assert a.headers["Location"] == "%s/%d" % (coll, a.body["id"]), a.headers
                self.acked.append((a.headers["Location"], a.body))
                if not self.keep_alive:
                    c.close()
        finally:
            c.close()


def free_unix_user(taken):
    """The first of SECOND_CIP_USERS that exists here and is not in taken, or None."""
    for u in SECOND_CIP_USERS:
        try:
            pwd.getpwnam(u)
        except KeyError:
            continue
        if u not in taken:
            return u
    return None
