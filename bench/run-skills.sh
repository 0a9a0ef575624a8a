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

. "$(dirname "$0")/harness.sh"
bench_setup run-skills.sh "Skills benchmark" "${1:-.}" plugins/skills/skills.la
exec "$python" "$here/skills_bench.py" -r "${ROUNDS:-3}" -n "${REQUESTS:-100}"
