#!/bin/sh
# bench/run-script-write.sh BUILDDIR: what a site script adds to an API write
# that triggers it, with no script, the script in-process, and in its worker,
# in the same run (bench/script_write.py; see bench/README.md).
#
# BUILDDIR is a tree configured with SRCDIR/configure (default: .), best with
# CFLAGS=-O2 and without sanitizers; its tremplind is brought up to date here.
# Not part of make check: it asserts nothing about time, it prints figures.
# Needs python3 with pytest (the integration harness is reused).
#
# Environment (all optional):
#   ROUNDS        3 rounds, alternating the order of the sides
#   N             300 writes per side and round (and N/3 timed to the handler)
#   TREMPLIND     the daemon to measure (default BUILDDIR/tremplind)
#   BENCH_TMPDIR  where the daemons' directories go (default $TMPDIR or /tmp)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
python=${PYTHON3:-/usr/bin/python3}

if [ ! -f "$build/Makefile" ]; then
	echo "run-script-write.sh: $build is not a configured tree (run SRCDIR/configure CFLAGS=-O2 there)" >&2
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

echo "Script write benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r)"
echo "tremplind: $TREMPLIND"
exec "$python" "$here/script_write.py" -r "${ROUNDS:-3}" -n "${N:-300}"
