# bench/harness.sh: sourced by the run-*.sh of the benchmarks that drive a
# real tremplind through the integration tests' harness (tests/integration).
#
#   bench_setup NAME TITLE BUILDDIR [MAKE TARGETS...]
#
# checks that BUILDDIR is a configured tree, brings tremplind (and the
# targets named) up to date there unless TREMPLIND names the daemon to
# measure, exports what the harness reads (TREMPLIND, TOP_SRCDIR,
# TOP_BUILDDIR, TMPDIR from BENCH_TMPDIR) and prints the run's heading.
# Sets here, build and python for the caller.

bench_setup() {
	name=$1
	title=$2
	here=$(cd "$(dirname "$0")" && pwd)
	build=$(cd "$3" && pwd)
	shift 3
	python=${PYTHON3:-/usr/bin/python3}
	if [ ! -f "$build/Makefile" ]; then
		echo "$name: $build is not a configured tree (run SRCDIR/configure CFLAGS=-O2 there)" >&2
		exit 1
	fi
	if [ -z "${TREMPLIND:-}" ]; then
		make -s -C "$build" tremplind "$@" >/dev/null
		TREMPLIND=$build/tremplind
	elif [ $# -gt 0 ]; then
		make -s -C "$build" "$@" >/dev/null
	fi
	TOP_SRCDIR=$(cd "$here/.." && pwd)
	TOP_BUILDDIR=$build
	TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
	PYTHONDONTWRITEBYTECODE=1
	export TREMPLIND TOP_SRCDIR TOP_BUILDDIR TMPDIR PYTHONDONTWRITEBYTECODE
	echo "$title: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r)"
	echo "tremplind: $TREMPLIND"
}
