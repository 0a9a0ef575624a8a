"""Fixtures: real tremplind daemons, always stopped (or killed) at the end."""

import atexit
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tremplin_test as tt  # noqa: E402

atexit.register(tt.kill_all_live)


def _finish(d):
    """Stop a daemon: it must exit 0 on SIGTERM and leave no sanitizer report."""
    try:
        if d.running:
            rc = d.stop()
            assert rc == 0, "tremplind exited with %r on SIGTERM:\n%s" % (rc, d.log())
        bad = [rc for rc in d.exit_codes if rc not in (0, 1, 69, 78)]
        # Exit 1, 69 (another instance) and 78 (configuration) are refusals some
        # tests ask for; anything else (a signal, a sanitizer's exit code) is a defect.
        assert not bad, "tremplind exited with %r:\n%s" % (bad, d.log())
        d.check_log()
    finally:
        d.cleanup()


class DaemonFactory(tt.Factory):
    def finish(self):
        errors = []
        for d in self.daemons:
            try:
                _finish(d)
            except BaseException as e:  # noqa: B902 - stop them all, then report
                errors.append(e)
        if errors:
            raise errors[0]


@pytest.fixture(scope="module")
def daemon():
    """One daemon shared by the tests of a module (a fresh one per module)."""
    f = DaemonFactory()
    try:
        yield f()
    finally:
        f.finish()


@pytest.fixture(scope="module")
def module_daemons():
    """A DaemonFactory for daemons shared by the tests of a module (own settings)."""
    f = DaemonFactory()
    try:
        yield f
    finally:
        f.finish()


@pytest.fixture
def fresh_daemon():
    """A daemon of its own for one test."""
    f = DaemonFactory()
    try:
        yield f()
    finally:
        f.finish()


@pytest.fixture
def make_daemon():
    """make_daemon(start=True, request_timeout=..., staff=..., ...) -> Daemon."""
    f = DaemonFactory()
    try:
        yield f
    finally:
        f.finish()


@pytest.fixture(scope="session", autouse=True)
def _no_daemon_survives():
    yield
    tt.kill_all_live()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    seen = []
    for v in getattr(item, "funcargs", {}).values():
        if isinstance(v, tt.Daemon):
            seen.append(v)
        elif isinstance(v, DaemonFactory):
            seen += v.daemons
    for d in seen:
        text = d.log()
        if len(text) > 8000:
            text = "...\n" + text[-8000:]
        rep.sections.append(("tremplind log (%s)" % d.dir, text))
