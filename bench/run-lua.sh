#!/bin/sh
# bench/run-lua.sh BUILDDIR: the cost of handing one event to a Lua handler,
# beside the same handler in C, in the same run, and the memory of a loaded
# script (bench/lua_event.c; see bench/README.md).
#
# BUILDDIR is a tree configured with SRCDIR/configure (default: .), best with
# CFLAGS=-O2 and without sanitizers; its libtremplin.a is brought up to date
# here, and the benchmark is built in BUILDDIR/bench. Not part of make check.
#
# Environment (all optional):
#   N             20000 events per run
#   ROUNDS        5 runs per side, alternating which side goes first
#   BENCH_TMPDIR  where the databases go (default $TMPDIR or /tmp)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
N=${N:-20000}
ROUNDS=${ROUNDS:-5}

if [ ! -f "$build/Makefile" ]; then
	echo "run-lua.sh: $build is not a configured tree (run SRCDIR/configure CFLAGS=-O2 there)" >&2
	exit 1
fi
make -s -C "$build" libtremplin.a >/dev/null
mkdir -p "$build/bench"
make -s -f "$here/Makefile" -C "$build/bench" SRCDIR="$here" BUILDDIR="$build" CFLAGS=-O2 \
    lua_event >/dev/null

tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tremplin-bench-lua.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "Lua handler benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r), databases on $(df -PT "$tmp" | awk 'NR==2 {print $2}')"
"$build/bench/lua_event" -n "$N" -r "$ROUNDS" -d "$tmp" -t "$here/.."
