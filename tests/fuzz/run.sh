#!/bin/sh
# Build the libFuzzer targets of tests/fuzz in build/fuzz (clang, ASan and
# UBSan, configure --enable-fuzz) and run each from its seed corpus.
#
#   tests/fuzz/run.sh                      what the test command runs: each target
#                                          for a fixed number of inputs from a fixed
#                                          seed (about a minute in all), so a run
#                                          checks the same inputs however loaded
#                                          the machine is
#   tests/fuzz/run.sh -t SECONDS [NAME...] a longer campaign: each target (or the
#                                          ones named: body, router...) for SECONDS,
#                                          its corpus kept in build/fuzz/corpus/NAME
#
# A crash, a leak, undefined behaviour or a failed check fails the target;
# the input is kept in build/fuzz/crashes/ and replayed by passing it to the
# target's binary. Prints "fuzz: N passed, M failed" last and writes the two
# counts to build/fuzz/summary.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)

# name:inputs for the bounded run: about 40 s in all on an idle 2-core machine.
bounded="body:700000 validate:400000 router:100000 cursor:1500000 query:350000 config:60000
lua:90000 error:40000"
seconds=""
if [ "${1:-}" = "-t" ]; then
	seconds=${2:?usage: tests/fuzz/run.sh [-t SECONDS [NAME...]]}
	shift 2
fi
names=""
for spec in $bounded; do
	name=${spec%%:*}
	if [ $# -gt 0 ]; then
		for want; do [ "$want" = "$name" ] && names="$names $spec"; done
	else
		names="$names $spec"
	fi
done
[ -n "$names" ] || { echo "fuzz: no such target: $*" >&2; exit 2; }

[ -x configure ] || autoreconf -fi
b=build/fuzz
mkdir -p "$b"
if [ ! -f "$b/Makefile" ]; then
	(cd "$b" && "$top/configure" --enable-fuzz CC="${FUZZ_CC:-clang}" >configure.out 2>&1) ||
		{ cat "$b/configure.out"; exit 1; }
fi
(cd "$b" && make -j"$(nproc)" fuzz >make.out 2>&1) || { cat "$b/make.out"; exit 1; }

mkdir -p "$b/crashes"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
pass=0
fail=0
for spec in $names; do
	name=${spec%%:*}
	if [ -n "$seconds" ]; then
		work=$b/corpus/$name
		limit="-max_total_time=$seconds"
	else
		# The same seed and the seeds alone each time: a run is repeatable.
		work=$b/run/$name
		rm -rf "$work"
		limit="-runs=${spec#*:} -seed=1"
	fi
	mkdir -p "$work"
	log=$b/fuzz_$name.log
	# New inputs go to the first directory, never into the seeds.
	# shellcheck disable=SC2086
	if "$b/tests/fuzz/fuzz_$name" $limit -max_len=8192 -timeout=300 \
		-artifact_prefix="$b/crashes/${name}-" "$work" "tests/fuzz/corpus/$name" \
		>"$log" 2>&1; then
		echo "PASS: fuzz_$name ($(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log") inputs)"
		pass=$((pass + 1))
	else
		echo "FAIL: fuzz_$name (its log: $log)"
		grep -v '^#\|^INFO:' "$log" | tail -40
		fail=$((fail + 1))
	fi
done
echo "$pass $fail" >"$b/summary"
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
