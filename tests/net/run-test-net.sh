#!/bin/sh
# Runs test_net against a real HTTPS server (tests/net/server.py) that
# presents a certificate from a CA made for this run (tests/net/make-ca.sh).
# The test binary gets the port and the CA files through the environment:
#   TEST_NET_PORT, TEST_NET_CA, TEST_NET_WRONG_CA
# Exit 77 (skipped) when python3, openssl or the test binary is missing.
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
python=${PYTHON3:-/usr/bin/python3}
# configure writes PYTHON3=no when it finds none.
[ "$python" = no ] && python=/usr/bin/python3
bin=${TEST_NET:-${TOP_BUILDDIR:-.}/tests/unit/test_net}

if ! command -v "$python" >/dev/null 2>&1; then
	echo "run-test-net: $python not found: skipped"
	exit 77
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "run-test-net: openssl not found: skipped"
	exit 77
fi
if [ ! -x "$bin" ]; then
	echo "run-test-net: $bin not built (cmocka missing?): skipped"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-net.XXXXXX") || exit 99
pid=
# Run by the EXIT trap.
# shellcheck disable=SC2317
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! sh "$top/tests/net/make-ca.sh" "$tmp" >"$tmp/make-ca.log" 2>&1; then
	echo "run-test-net: make-ca.sh failed:"
	cat "$tmp/make-ca.log"
	exit 99
fi

PYTHONDONTWRITEBYTECODE=1 "$python" "$top/tests/net/server.py" \
    --cert "$tmp/server.pem" --key "$tmp/server.key" >"$tmp/port" 2>"$tmp/server.log" &
pid=$!

# The server prints its port once it listens.
port=
i=0
while [ $i -lt 600 ]; do
	port=$(head -n 1 "$tmp/port" 2>/dev/null)
	[ -n "$port" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$port" ]; then
	echo "run-test-net: server.py did not start:"
	cat "$tmp/server.log"
	exit 99
fi

# The system's proxy settings must not reroute 127.0.0.1.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
TEST_NET_PORT=$port
TEST_NET_CA=$tmp/ca.pem
TEST_NET_WRONG_CA=$tmp/wrong-ca.pem
export TEST_NET_PORT TEST_NET_CA TEST_NET_WRONG_CA

"$bin" "$@"
rc=$?
if [ $rc -ne 0 ] && [ -s "$tmp/server.log" ]; then
	echo "run-test-net: server log:"
	cat "$tmp/server.log"
fi
exit $rc
