#!/bin/sh
# bench/run-pathway.sh BUILDDIR: reading a person's file over tremplind's API
# with 10,000 generated pathways and three years of follow-up, beside bare
# SQLite reads of the same rows, in the same run (bench/pathway.c; see
# bench/README.md).
#
# BUILDDIR is a tree configured with SRCDIR/configure (default: .), best with
# CFLAGS=-O2 and without sanitizers; its tremplind and libtremplin.a are
# brought up to date here, and the benchmark is built in BUILDDIR/bench. Not
# part of make check: it asserts nothing about time, it prints figures.
#
# Environment (all optional):
#   EMPLOYEES     10000 generated pathways
#   YEARS         3 years of history
#   GETS          3000 GET /v1/employees/{id} per round and side
#   PAGES         1000 GET /v1/employees?limit=100 per round and side
#   ROUNDS        3, alternating which side goes first; latencies pooled
#   PIN           1: tremplind on CPU 1, the benchmark on CPU 0 (2 CPUs or more)
#   BENCH_TMPDIR  where the database goes (default $TMPDIR or /tmp)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
EMPLOYEES=${EMPLOYEES:-10000}
YEARS=${YEARS:-3}
GETS=${GETS:-3000}
PAGES=${PAGES:-1000}
ROUNDS=${ROUNDS:-3}
PIN=${PIN:-1}

if [ ! -f "$build/Makefile" ]; then
	echo "run-pathway.sh: $build is not a configured tree (run SRCDIR/configure CFLAGS=-O2 there)" >&2
	exit 1
fi
make -s -C "$build" libtremplin.a libctldemo.a tremplind >/dev/null
mkdir -p "$build/bench"
make -s -f "$here/Makefile" -C "$build/bench" SRCDIR="$here" BUILDDIR="$build" CFLAGS=-O2 \
    pathway >/dev/null

tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tremplin-bench-pathway.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

cpu=""
[ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && cpu="-c 1"
echo "pathway benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r), database on $(df -PT "$tmp" | awk 'NR==2 {print $2}')"
[ -n "$cpu" ] && echo "placement: tremplind on CPU 1, the benchmark on CPU 0"
# shellcheck disable=SC2086
"$build/bench/pathway" -t "$build/tremplind" -d "$tmp" -n "$EMPLOYEES" -y "$YEARS" \
    -g "$GETS" -p "$PAGES" -r "$ROUNDS" $cpu
