#!/bin/sh
# bench/run.sh BUILDDIR: requests per second of tremplind beside a bare evhttp
# server, both on a Unix socket, measured in the same run.
#
# BUILDDIR is where ./configure && make built tremplind (default: .). The
# benchmark programs are built in BUILDDIR/bench. Not part of make check:
# it asserts nothing, it prints figures.
#
# Environment (all optional):
#   TREMPLIND     the daemon to measure (default BUILDDIR/tremplind)
#   MODES         "health create-get"
#   CONNS         "1 16 64" concurrent keep-alive connections
#   ROUNDS        5: runs per server and cell, alternating which goes first;
#                 the table shows the median of each, and the median and
#                 range of the per-round ratios
#   DURATION      3 (seconds measured per run), WARMUP 0.5 (seconds before)
#   PIN           1: servers on CPU 1, load generator on CPU 0 (taskset);
#                 0: let the scheduler place them
#   BENCH_TMPDIR  where the temporary directory goes (default $TMPDIR or /tmp);
#                 the database lives there, so its file system sets the cost
#                 of fsync
#   VERBOSE       1: print every run's raw line
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
TREMPLIND=${TREMPLIND:-$build/tremplind}
MODES=${MODES:-health create-get}
CONNS=${CONNS:-1 16 64}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-0.5}
PIN=${PIN:-1}
VERBOSE=${VERBOSE:-0}

if [ ! -x "$TREMPLIND" ]; then
	echo "run.sh: no tremplind at $TREMPLIND (build it: ./configure && make, or set TREMPLIND)" >&2
	exit 1
fi

mkdir -p "$build/bench"
make -s -f "$here/Makefile" -C "$build/bench" SRCDIR="$here" CFLAGS=-O2 >/dev/null
loadgen=$build/bench/loadgen
bare=$build/bench/bare_evhttp

srv_cpu=""
gen_cpu=""
if [ "$PIN" = 1 ] && command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	srv_cpu="taskset -c 1"
	gen_cpu="taskset -c 0"
fi

tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tremplin-bench.XXXXXX")
tpid=""
bpid=""
cleanup() {
	for p in $tpid $bpid; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $tpid $bpid; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$tmp/bench.conf" <<EOF
socket = "$tmp/tremplin.sock"
database = "$tmp/tremplin.db"
plugin_dir = "$tmp/plugins"
script_dir = "$tmp/lua"
log_level = "warning"
staff = { { name = "Bench", unix_user = "@daemon", role = "admin" } }
EOF
chmod 600 "$tmp/bench.conf"

wait_socket() { # PATH PID NAME
	i=0
	while [ ! -S "$1" ]; do
		if ! kill -0 "$2" 2>/dev/null || [ $i -ge 100 ]; then
			echo "run.sh: $3 did not start; its log:" >&2
			cat "$tmp/$3.log" >&2
			exit 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
}

$srv_cpu "$TREMPLIND" -d -f "$tmp/bench.conf" 2>"$tmp/tremplind.log" &
tpid=$!
$srv_cpu "$bare" "$tmp/bare.sock" 2>"$tmp/bare.log" &
bpid=$!
wait_socket "$tmp/tremplin.sock" "$tpid" tremplind
wait_socket "$tmp/bare.sock" "$bpid" bare

echo "tremplind benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r)"
echo "libevent $(pkg-config --modversion libevent 2>/dev/null || echo '?'), database in $tmp ($(df -PT "$tmp" | awk 'NR==2 {print $2}'))"
if [ -n "$srv_cpu" ]; then
	echo "placement: servers on CPU 1, load generator on CPU 0"
else
	echo "placement: not pinned (PIN=0 or fewer than 2 CPUs)"
fi
echo "each cell: median of $ROUNDS runs per server of ${DURATION}s after ${WARMUP}s warm-up, alternating which server goes first;"
echo "ratio: median (and range) of the $ROUNDS per-round ratios tremplind/bare, each of two back-to-back runs"
echo "create-get: one unit = POST /v1/structures then GET of its Location; rates are units/s, latencies per unit"
echo

# run SERVER MODE CONNS SEED: prints the load generator's line (a failed run
# counts as one error at rate 0). SEED keeps the SIRETs of each run distinct.
run() {
	sock=$tmp/tremplin.sock
	[ "$1" = bare ] && sock=$tmp/bare.sock
	line=$($gen_cpu "$loadgen" -S "$sock" -m "$2" -c "$3" -w "$WARMUP" -d "$DURATION" \
	    -s "$4" 2>>"$tmp/loadgen.log") || true
	case $line in
	*rate=*) ;;
	*) line="rate=0 errors=1 io_errors=0 p50_us=0 p99_us=0" ;;
	esac
	[ "$VERBOSE" = 1 ] && echo "  $1: $line" >&2
	echo "$line"
}

field() { # LINE NAME
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

median() {
	tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

lat() { # P50S P99S: "p50/p99 us", medians rounded to the microsecond
	printf '%.0f/%.0f us' "$(echo "$1" | median)" "$(echo "$2" | median)"
}

printf '%-10s %5s %12s %12s %6s %-11s  %-19s %-19s %s\n' mode conns tremplind/s bare/s ratio \
    '(min-max)' 'tremplind p50/p99' 'bare p50/p99' errors
seed=0
for mode in $MODES; do
	for c in $CONNS; do
		tr_rates="" b_rates="" ratios="" tr_p50="" tr_p99="" b_p50="" b_p99="" errs=0
		r=1
		while [ $r -le "$ROUNDS" ]; do
			if [ $((r % 2)) = 1 ]; then order="tremplind bare"; else order="bare tremplind"; fi
			for s in $order; do
				seed=$((seed + 1))
				l=$(run "$s" "$mode" "$c" "$seed")
				e=$(($(field "$l" errors) + $(field "$l" io_errors)))
				errs=$((errs + e))
				if [ "$s" = tremplind ]; then
					tr=$(field "$l" rate)
					tr_rates="$tr_rates $tr"
					tr_p50="$tr_p50 $(field "$l" p50_us)"
					tr_p99="$tr_p99 $(field "$l" p99_us)"
				else
					b=$(field "$l" rate)
					b_rates="$b_rates $b"
					b_p50="$b_p50 $(field "$l" p50_us)"
					b_p99="$b_p99 $(field "$l" p99_us)"
				fi
			done
			# Each round's two runs are back to back: their ratio is the
			# least disturbed by whatever else the machine does.
			ratios="$ratios $(awk -v t="$tr" -v b="$b" \
			    'BEGIN { printf "%.3f", (b > 0 ? t / b : 0) }')"
			r=$((r + 1))
		done
		ratio=$(echo "$ratios" | median)
		span=$(echo "$ratios" | tr ' ' '\n' | grep -v '^$' | sort -n |
		    awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "(%.2f-%.2f)", lo, hi }')
		printf '%-10s %5s %12.0f %12.0f %6.2f %-11s  %-19s %-19s %s\n' "$mode" "$c" \
		    "$(echo "$tr_rates" | median)" "$(echo "$b_rates" | median)" "$ratio" "$span" \
		    "$(lat "$tr_p50" "$tr_p99")" "$(lat "$b_p50" "$b_p99")" "$errs"
	done
done

if [ -s "$tmp/loadgen.log" ]; then
	echo
	echo "load generator messages:"
	sort "$tmp/loadgen.log" | uniq -c
fi
if [ -s "$tmp/tremplind.log" ]; then
	echo
	echo "tremplind log (warnings):"
	tail -n 20 "$tmp/tremplind.log"
fi
