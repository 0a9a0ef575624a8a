#!/bin/sh
# bench/run-skills.sh BUILDDIR: the skills plugin's team matrix, a person's
# progression and the attestation's PDF over the socket, beside the same
# queries run directly in SQLite, in the same run (bench/skills_bench.py; see
# bench/README.md, "Skills").
#
# BUILDDIR is a tree configured with SRCDIR/configure (default: .), best with
# CFLAGS=-O2 and without sanitizers; its tremplind is brought up to date here.
# Not part of make check: it asserts nothing about time, it prints figures.
# Needs python3 with pytest (the integration harness is reused).
#
# Environment (all optional):
#   ROUNDS        3 rounds, alternating which side of each pair goes first
#   REQUESTS      100 requests per cell and round
#   TREMPLIND     the daemon to measure (default BUILDDIR/tremplind)
#   BENCH_TMPDIR  where the daemon's directory goes (default $TMPDIR or /tmp)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
python=${PYTHON3:-/usr/bin/python3}

if [ ! -f "$build/Makefile" ]; then
	echo "run-skills.sh: $build is not a configured tree (run SRCDIR/configure CFLAGS=-O2 there)" >&2
	exit 1
fi
if [ -z "${TREMPLIND:-}" ]; then
	make -s -C "$build" tremplind plugins/skills/skills.la >/dev/null
	TREMPLIND=$build/tremplind
fi
TOP_SRCDIR=$(cd "$here/.." && pwd)
TOP_BUILDDIR=$build
TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
PYTHONDONTWRITEBYTECODE=1
export TREMPLIND TOP_SRCDIR TOP_BUILDDIR TMPDIR PYTHONDONTWRITEBYTECODE

echo "Skills benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r)"
echo "tremplind: $TREMPLIND"
exec "$python" "$here/skills_bench.py" -r "${ROUNDS:-3}" -n "${REQUESTS:-100}"
