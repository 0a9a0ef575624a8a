#!/bin/sh
# Build and run the whole test suite twice: a normal build with warnings as
# errors, then a build under AddressSanitizer and UndefinedBehaviorSanitizer;
# then run the fuzz targets of tests/fuzz for a bounded number of inputs.
# Each build has its own directory under build/, so the source tree stays clean.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/deps.sh test
autoreconf -fi
jobs=$(nproc)

run() {
	dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out &&
		make -j"$jobs" >make.out 2>&1 || { cat make.out; exit 1; }
		make -j"$jobs" check || { cat test-suite.log; exit 1; })
}

echo "== build and test"
run build/default
echo "== build and test under ASan + UBSan"
run build/sanitizers --enable-sanitizers
echo "== fuzz targets (libFuzzer, ASan + UBSan)"
rm -f build/fuzz/summary
sh tests/fuzz/run.sh || true
# One closing line for the whole run: both builds, counted from automake's
# reports, and the fuzz targets (a build that failed counts as one failure).
pass=0
fail=0
if [ -f build/fuzz/summary ]; then
	read -r fpass ffail <build/fuzz/summary
	pass=$fpass
	fail=$ffail
else
	fail=1
fi
for log in build/default/test-suite.log build/sanitizers/test-suite.log; do
	p=$(sed -n 's/^# PASS: *//p' "$log")
	f=$(sed -n 's/^# FAIL: *//p' "$log")
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
done
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
