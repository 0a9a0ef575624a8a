#!/bin/sh
# Checks systemd/tremplind.service: the hardening directives the daemon relies on
# are present, and "systemd-analyze security --offline=yes" scores it 2.5 or better
# (lower is better).
#
# Environment: TOP_SRCDIR (default: this script's directory/..), SYSTEMD_ANALYZE
# (path; "no" or empty: looked up in PATH). Exit 0 pass, 1 fail, 77 skip (when
# systemd-analyze, or its --offline mode, is unavailable and every directive check
# passed).

MAX_SCORE=2.5

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
UNIT=$TOP_SRCDIR/systemd/tremplind.service

passed=0
failed=0

pass() {
	passed=$((passed + 1))
	echo "PASS: $1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL: $1"
}

finish() {
	echo "$passed passed, $failed failed"
	if [ "$failed" -gt 0 ]; then
		exit 1
	fi
	exit "$1"
}

if [ ! -r "$UNIT" ]; then
	fail "cannot read $UNIT"
	finish 1
fi

# values KEY: every value assigned to KEY in the [Service] section, one per line,
# in file order, with the whitespace systemd ignores around "=" stripped. An empty
# assignment prints an empty line.
values() {
	awk -v key="$1" '
		/^[ \t]*[#;]/ { next }
		/^[ \t]*\[/ { section = $0; gsub(/[ \t]/, "", section); next }
		section != "[Service]" { next }
		{
			i = index($0, "=")
			if (i == 0) next
			k = substr($0, 1, i - 1); v = substr($0, i + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
			if (k == key) print v
		}' "$UNIT"
}

# last KEY: the value that wins for a single-valued setting.
last() {
	values "$1" | tail -n 1
}

# count KEY: how many times KEY is assigned.
count() {
	values "$1" | wc -l | tr -d ' \t'
}

# expect KEY VALUE: the effective value of KEY is exactly VALUE.
expect() {
	if [ "$(count "$1")" -eq 0 ]; then
		fail "$1= missing (expected $1=$2)"
		return
	fi
	got=$(last "$1")
	if [ "$got" = "$2" ]; then
		pass "$1=$2"
	else
		fail "$1=$got (expected $1=$2)"
	fi
}

# expect_word KEY WORD: some assignment of the list setting KEY contains WORD.
expect_word() {
	if values "$1" | awk '{ for (i = 1; i <= NF; i++) print $i }' | grep -qx -- "$2"; then
		pass "$1 contains $2"
	else
		fail "$1 does not contain $2"
	fi
}

expect Type notify
expect User tremplin
expect ProtectSystem strict
expect ProtectHome yes
expect NoNewPrivileges yes
expect PrivateTmp yes
expect PrivateDevices yes
expect UMask 0077
expect StateDirectory tremplin
expect RuntimeDirectory tremplin
expect RuntimeDirectoryMode 0750

# Empty: no capability at all. Any non-empty assignment (even after an empty one)
# would add capabilities back.
for key in CapabilityBoundingSet AmbientCapabilities; do
	if [ "$(count "$key")" -eq 0 ]; then
		fail "$key= missing (expected an empty $key=)"
	elif values "$key" | grep -q .; then
		fail "$key= grants capabilities: $(values "$key" | grep . | tr '\n' ' ')"
	else
		pass "$key= (empty)"
	fi
done

expect_word RestrictAddressFamilies AF_UNIX
# Outbound HTTPS to the national platforms.
expect_word RestrictAddressFamilies AF_INET
expect_word RestrictAddressFamilies AF_INET6
expect_word SystemCallFilter @system-service

# PrivateUsers=yes would map every staff uid to 65534 in SO_PEERCRED and break
# the identity model (caller uid -> staff account -> role).
case $(last PrivateUsers) in
yes | true | on | 1 | self | identity)
	fail "PrivateUsers= is on: SO_PEERCRED would report staff callers as nobody"
	;;
*)
	pass "PrivateUsers off (SO_PEERCRED sees the callers' real uids)"
	;;
esac

# tremplind.socket (socket activation) gives the daemon the socket its
# configuration names, as the daemon would make it; the service keeps
# /run/tremplin when it stops, or the socket's path would go with it.
SOCKET_UNIT=$TOP_SRCDIR/systemd/tremplind.socket
socket_value() {
	awk -v key="$1" '
		/^[ \t]*[#;]/ { next }
		/^[ \t]*\[/ { section = $0; gsub(/[ \t]/, "", section); next }
		section != "[Socket]" { next }
		{
			i = index($0, "="); if (i == 0) next
			k = substr($0, 1, i - 1); v = substr($0, i + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
			if (k == key) print v
		}' "$SOCKET_UNIT" | tail -n 1
}
for kv in ListenStream=/run/tremplin/tremplin.sock SocketUser=tremplin SocketGroup=tremplin \
	SocketMode=0660 Service=tremplind.service; do
	got=$(socket_value "${kv%%=*}")
	if [ "$got" = "${kv#*=}" ]; then
		pass "tremplind.socket: $kv"
	else
		fail "tremplind.socket: ${kv%%=*}=$got (expected $kv)"
	fi
done
expect RuntimeDirectoryPreserve yes

# The score.
case ${SYSTEMD_ANALYZE:-no} in
no) SYSTEMD_ANALYZE=$(command -v systemd-analyze 2>/dev/null) ;;
esac
if [ -z "$SYSTEMD_ANALYZE" ] || [ ! -x "$SYSTEMD_ANALYZE" ]; then
	echo "SKIP: systemd-analyze not found; exposure score not checked"
	finish 77
fi

out=$(SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat "$SYSTEMD_ANALYZE" security --no-pager \
	--offline=yes --threshold=25 "$UNIT" 2>&1)
rc=$?
score=$(printf '%s\n' "$out" |
	sed -n 's/.*Overall exposure level for [^:]*: *\([0-9][0-9]*\(\.[0-9]*\)\{0,1\}\).*/\1/p' |
	tail -n 1)
if [ -z "$score" ]; then
	printf '%s\n' "$out" | tail -n 5
	if printf '%s\n' "$out" | grep -qiE 'unrecognized option|unknown option|invalid option'; then
		echo "SKIP: $SYSTEMD_ANALYZE has no --offline/--threshold (systemd < 250)"
		finish 77
	fi
	fail "no exposure level in the output of systemd-analyze security (exit $rc)"
	finish 1
fi

echo "exposure level: $score (threshold $MAX_SCORE; lower is better)"
if awk -v s="$score" -v m="$MAX_SCORE" 'BEGIN { exit !(s + 0 <= m + 0) }'; then
	pass "systemd-analyze security: $score <= $MAX_SCORE"
else
	printf '%s\n' "$out" | grep '✗' || true
	fail "systemd-analyze security: $score > $MAX_SCORE"
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	printf '%s\n' "$out" | tail -n 5
	fail "systemd-analyze security exited $rc"
fi
finish 0
