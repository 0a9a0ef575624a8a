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

. "$(dirname "$0")/harness.sh"
bench_setup run-sandbox.sh "Sandbox health benchmark" "${1:-.}"
exec "$python" "$here/sandbox_health.py" -r "${ROUNDS:-5}" ${WORKERS:+--workers}
