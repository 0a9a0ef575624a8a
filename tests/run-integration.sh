#!/bin/sh
# The integration suite: a real tremplind on a temporary directory, driven over
# its socket by tests/integration and each plugin's plugins/<name>/tests
# (python3 + pytest). `make check` exports TOP_SRCDIR, TREMPLIND and TREMPLINCTL.
#
# Exit 77 (skipped) only when python3 or pytest is missing; otherwise pytest's
# own status, so that "no tests collected" (5) fails like any other problem.
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
python=${PYTHON3:-/usr/bin/python3}
# configure writes PYTHON3=no when it finds none.
[ "$python" = no ] && python=/usr/bin/python3

if ! command -v "$python" >/dev/null 2>&1; then
	echo "run-integration: $python not found: skipped"
	exit 77
fi
if ! "$python" -c 'import pytest' >/dev/null 2>&1; then
	echo "run-integration: pytest is not installed for $python: skipped"
	exit 77
fi

TOP_SRCDIR=$top
TREMPLIND=${TREMPLIND:-$(pwd)/tremplind}
TREMPLINCTL=${TREMPLINCTL:-$(pwd)/tremplinctl}
# A sanitized daemon must end with a non-zero status on any finding; the
# harness also fails a test whose daemon log holds a sanitizer report.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=23}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Keep the source tree clean (and work when it is read-only, as in distcheck).
PYTHONDONTWRITEBYTECODE=1
export TOP_SRCDIR TREMPLIND TREMPLINCTL ASAN_OPTIONS UBSAN_OPTIONS PYTHONDONTWRITEBYTECODE

# INTEGRATION_TESTS: these test files of tests/integration only (see
# run-lua-inprocess.sh); otherwise all, and a plugin's tests, which live
# beside it: every plugins/<name>/tests directory.
if [ -n "${INTEGRATION_TESTS:-}" ]; then
	for f in $INTEGRATION_TESTS; do
		set -- "$@" "$top/tests/integration/$f"
	done
else
	set -- "$top/tests/integration" $(find "$top/plugins" -mindepth 2 -maxdepth 2 -type d \
		-name tests 2>/dev/null | sort) "$@"
fi
exec "$python" -m pytest -q -p no:cacheprovider "$@"
