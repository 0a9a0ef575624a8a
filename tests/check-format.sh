#!/bin/sh
# The tree has one style, written in .clang-format; this fails on any drift.
top=${TOP_SRCDIR:-$(dirname "$0")/..}
cd "$top" || exit 1
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not found: skipped"; exit 77; }
files=$(find src include plugins tests bench -name '*.[ch]' 2>/dev/null | sort)
bad=0
ok=0
for f in $files; do
	if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		ok=$((ok + 1))
	else
		echo "not formatted: $f (run: clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
echo "$ok passed, $bad failed"
[ "$bad" -eq 0 ]
