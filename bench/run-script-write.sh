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

. "$(dirname "$0")/harness.sh"
bench_setup run-script-write.sh "Script write benchmark" "${1:-.}"
exec "$python" "$here/script_write.py" -r "${ROUNDS:-3}" -n "${N:-300}"
