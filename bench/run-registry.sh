#!/bin/sh
# bench/run-registry.sh BUILDDIR: the registry plugin's first and incremental
# sync against the local fake of les emplois, beside a bare curl loop over the
# same pages, in the same run (bench/registry_sync.py; see bench/README.md).
#
# BUILDDIR is a tree configured with SRCDIR/configure (default: .), best with
# CFLAGS=-O2 and without sanitizers; its tremplind and plugins are brought up
# to date here. Not part of make check: it prints figures, asserts no time.
#
# Environment (all optional):
#   ROUNDS        3 rounds, alternating whether the plugin or curl goes first
#   RECORDS       5000 employee records (250 pages of 20)
#   TREMPLIND     the daemon to measure (default BUILDDIR/tremplind)
#   BENCH_TMPDIR  where the daemon's directory goes (default $TMPDIR or /tmp)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
python=${PYTHON3:-/usr/bin/python3}

if [ ! -f "$build/Makefile" ]; then
	echo "run-registry.sh: $build is not a configured tree (run SRCDIR/configure CFLAGS=-O2 there)" >&2
	exit 1
fi
make -s -C "$build" tremplind plugins/registry/registry.la >/dev/null
TREMPLIND=${TREMPLIND:-$build/tremplind}
TOP_SRCDIR=$(cd "$here/.." && pwd)
TOP_BUILDDIR=$build
TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
PYTHONDONTWRITEBYTECODE=1
export TREMPLIND TOP_SRCDIR TOP_BUILDDIR TMPDIR PYTHONDONTWRITEBYTECODE

echo "Registry sync benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r)"
echo "tremplind: $TREMPLIND"
exec "$python" "$here/registry_sync.py" -r "${ROUNDS:-3}" -n "${RECORDS:-5000}"
