#!/usr/bin/env bash
# What one interval costs userspace with CSV output at N targets (default 1,000; target: at
# most 1 ms per 1,000): the median time per interval, and, under callgrind where valgrind is
# installed, instructions per interval (repeatable, unlike the clock): the difference of two
# runs of 5 and 25 intervals, over 20. BENCH=PATH runs another build of the driver (an older
# tree's, for a before and after).
#
#   [BENCH=PATH] bench-interval.sh [TARGETS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
if [ -z "${BENCH:-}" ]; then
	make -s .output/bench-interval
	BENCH=.output/bench-interval
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$BENCH" "$n" 200 "$out/clock.csv"
if ! command -v valgrind >/dev/null; then
	echo "instructions_per_interval - (valgrind is not installed)"
	exit 0
fi
ir() {
	valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" \
		"$BENCH" "$n" "$1" "$out/cg.csv" >/dev/null 2>"$out/cg.log"
	sed -n 's/^summary: //p' "$out/cg.$1"
}
a=$(ir 5)
b=$(ir 25)
echo "instructions_per_interval $(((b - a) / 20))"
echo "instructions_per_target $(((b - a) / 20 / n))"
