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

. "$(dirname "$0")/harness.sh"
bench_setup run-registry.sh "Registry sync benchmark" "${1:-.}" plugins/registry/registry.la
exec "$python" "$here/registry_sync.py" -r "${ROUNDS:-3}" -n "${RECORDS:-5000}"
