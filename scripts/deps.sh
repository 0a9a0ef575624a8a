#!/bin/sh
# Install the Debian 12 packages Tremplin needs: `deps.sh build` to build and
# run the daemon, `deps.sh test` to also run the whole test suite.
set -eu
build="build-essential autoconf automake libtool pkg-config liblua5.4-dev libevent-dev
libsqlite3-dev libcurl4-openssl-dev libjansson-dev libssl-dev libpango1.0-dev"
# clang and its runtime libraries (libFuzzer, ASan, UBSan) build the fuzz targets.
test="libcmocka-dev python3 python3-pytest python3-jsonschema python3-prometheus-client clang-format
systemd util-linux bash-completion
clang libclang-rt-14-dev openssl nodejs poppler-utils postfix sasl2-bin
libsasl2-modules"
want=$build
[ "${1:-build}" = test ] && want="$build $test"
# npm comes with some builds of nodejs (NodeSource's); Debian ships it apart.
[ "${1:-build}" = test ] && ! command -v npm >/dev/null 2>&1 && want="$want npm"

# Libraries nobody here wrote that the tests check our output with (signatures,
# credentials): tests/node/package.json, pinned by its lock, into build/node.
node_deps() {
	[ "${1:-build}" = test ] || return 0
	top=$(cd "$(dirname "$0")/.." && pwd)
	if ! cmp -s "$top/tests/node/package-lock.json" "$top/build/node/package-lock.json"; then
		mkdir -p "$top/build/node"
		cp "$top/tests/node/package.json" "$top/tests/node/package-lock.json" "$top/build/node/"
		(cd "$top/build/node" && npm ci --no-audit --no-fund --loglevel=error)
	fi
}

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && { node_deps "${1:-build}"; exit 0; }

as_root=""
[ "$(id -u)" -eq 0 ] || as_root=sudo
echo "installing:$missing"
$as_root apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $missing
node_deps "${1:-build}"
