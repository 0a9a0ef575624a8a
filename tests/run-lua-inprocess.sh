#!/bin/sh
# The site-script suites again, against the host kept in the daemon's process
# (script_workers = false): run-integration.sh runs them against worker
# processes, the default.
TREMPLIN_TEST_SCRIPT_WORKERS=0
INTEGRATION_TESTS="test_lua_api.py test_lua_sandbox.py test_lua_rule.py"
export TREMPLIN_TEST_SCRIPT_WORKERS INTEGRATION_TESTS
exec sh "${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/run-integration.sh" "$@"
