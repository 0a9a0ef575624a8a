#!/bin/sh
# bench/run-events.sh BUILDDIR: events journaled and dispatched to three
# subscribers per second, beside raw batched SQLite inserts of the same rows,
# measured in the same run (bench/events.c; see bench/README.md).
#
# BUILDDIR is a tree configured with SRCDIR/configure (default: .); its
# libtremplin.a is brought up to date here, and the benchmark is built in
# BUILDDIR/bench. Not part of make check: it asserts nothing about time, it
# prints figures (it does fail if an event is lost or a cursor is wrong).
#
# Environment (all optional):
#   N             20000 events per run
#   BATCHES       "1,100": events per write transaction (1 = one API write)
#   ROUNDS        5 runs per side and batch, alternating which side goes first
#   DELAYS        "0": the dispatcher's delay in ms (event_delay_ms), one
#                 table per value; tremplind's default is 5
#   PUBLISH       "record": how events are published (events -P): record, as
#                 resource_publish gives a structure's row, or change, with
#                 events_publish_change of an object the caller keeps
#   BENCH_TMPDIR  where the databases go (default $TMPDIR or /tmp): its file
#                 system sets the cost of fsync
#   VERBOSE       1: print every round
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
N=${N:-20000}
BATCHES=${BATCHES:-1,100}
ROUNDS=${ROUNDS:-5}
DELAYS=${DELAYS:-0}
VERBOSE=${VERBOSE:-0}
PUBLISH=${PUBLISH:-record}

if [ ! -f "$build/Makefile" ]; then
	echo "run-events.sh: $build is not a configured tree (run SRCDIR/configure CFLAGS=-O2 there)" >&2
	exit 1
fi
make -s -C "$build" libtremplin.a >/dev/null
mkdir -p "$build/bench"
make -s -f "$here/Makefile" -C "$build/bench" SRCDIR="$here" BUILDDIR="$build" CFLAGS=-O2 events \
    >/dev/null

tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tremplin-bench-events.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

verbose=""
[ "$VERBOSE" = 1 ] && verbose=-v
echo "event journal benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r), databases on $(df -PT "$tmp" | awk 'NR==2 {print $2}')"
for d in $DELAYS; do
	echo
	"$build/bench/events" -n "$N" -b "$BATCHES" -r "$ROUNDS" -D "$d" -P "$PUBLISH" -d "$tmp" $verbose
done
