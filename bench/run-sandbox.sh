#!/bin/sh
# bench/run-sandbox.sh BUILDDIR: how GET /v1/health answers while hostile site
# scripts run with the default limits, beside the same daemon idle, in the
# same run (bench/sandbox_health.py; see bench/README.md).
#
# BUILDDIR is a tree configured with SRCDIR/configure (default: .), best with
# CFLAGS=-O2 and without sanitizers; its tremplind is brought up to date here.
# Not part of make check: it asserts nothing about time, it prints figures.
# Needs python3 with pytest (the integration harness is reused).
#
# Environment (all optional):
#   ROUNDS        5 rounds, alternating whether the attack or the idle side goes first
#   TREMPLIND     the daemon to measure (default BUILDDIR/tremplind)
#   BENCH_TMPDIR  where the daemon's directory goes (default $TMPDIR or /tmp)
#   WORKERS       1: scripts in worker processes (script_workers), with the
#                 probes only a worker bounds (long C calls, busy timers)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
python=${PYTHON3:-/usr/bin/python3}

if [ ! -f "$build/Makefile" ]; then
	echo "run-sandbox.sh: $build is not a configured tree (run SRCDIR/configure CFLAGS=-O2 there)" >&2
	exit 1
fi
if [ -z "${TREMPLIND:-}" ]; then
	make -s -C "$build" tremplind >/dev/null
	TREMPLIND=$build/tremplind
fi
TOP_SRCDIR=$(cd "$here/.." && pwd)
TOP_BUILDDIR=$build
TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
PYTHONDONTWRITEBYTECODE=1
export TREMPLIND TOP_SRCDIR TOP_BUILDDIR TMPDIR PYTHONDONTWRITEBYTECODE

echo "Sandbox health benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r)"
echo "tremplind: $TREMPLIND"
exec "$python" "$here/sandbox_health.py" -r "${ROUNDS:-5}" ${WORKERS:+--workers}
