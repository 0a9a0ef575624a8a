"""The daemons' fixtures of tests/integration (make_daemon, module_daemons...),
for this plugin's integration tests: the same harness, loaded under its own
name, since pytest keeps a conftest's fixtures to its directory."""

import importlib.util
import os
import sys

_top = os.environ.get("TOP_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..")
_harness = os.path.join(os.path.abspath(_top), "tests", "integration")
sys.path.insert(0, _harness)

_spec = importlib.util.spec_from_file_location(
    "tremplin_integration_conftest", os.path.join(_harness, "conftest.py"))
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

daemon = _fixtures.daemon
module_daemons = _fixtures.module_daemons
fresh_daemon = _fixtures.fresh_daemon
make_daemon = _fixtures.make_daemon
_no_daemon_survives = _fixtures._no_daemon_survives
pytest_runtest_makereport = _fixtures.pytest_runtest_makereport
