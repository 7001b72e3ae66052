#!/usr/bin/env bash
# What one interval costs userspace with CSV output at N targets (default 1,000; target: at
# most 1 ms per 1,000): the median time per interval, and, under callgrind where valgrind is
# installed, instructions per interval (repeatable, unlike the clock): the difference of two
# runs of 5 and 25 intervals, over 20. BENCH=PATH runs another build of the driver (an older
# tree's). BEFORE=PATH compares this build with that one side by side instead: five
# interleaved rounds of each, their medians and the ratio, then both instruction counts.
#
#   [BENCH=PATH | BEFORE=PATH] bench-interval.sh [TARGETS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
if [ -z "${BENCH:-}" ]; then
	make -s .output/bench-interval
	BENCH=.output/bench-interval
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ms() { "$1" "$n" 100 "$out/clock.csv" | awk '/^ms_per_1000_targets/ { print $2 }'; }
ir() {
	valgrind --tool=callgrind --callgrind-out-file="$out/cg.$2" \
		"$1" "$n" "$2" "$out/cg.csv" >/dev/null 2>"$out/cg.log"
	sed -n 's/^summary: //p' "$out/cg.$2"
}
instructions() {
	if command -v valgrind >/dev/null; then
		local a b
		a=$(ir "$1" 5)
		b=$(ir "$1" 25)
		echo "$(((b - a) / 20))"
	else
		echo "- (valgrind is not installed)"
	fi
}
if [ -n "${BEFORE:-}" ]; then
	for _ in 1 2 3 4 5; do
		echo "$(ms "$BEFORE") $(ms "$BENCH")"
	done >"$out/rounds"
	b=$(cut -d' ' -f1 "$out/rounds" | sort -n | sed -n 3p)
	a=$(cut -d' ' -f2 "$out/rounds" | sort -n | sed -n 3p)
	awk -v b="$b" -v a="$a" 'BEGIN { printf "ms_per_1000_targets_median before %s after %s ratio %.2f\n", b, a, b / a }'
	echo "instructions_per_interval before $(instructions "$BEFORE") after $(instructions "$BENCH")"
	exit 0
fi
"$BENCH" "$n" 200 "$out/clock.csv"
i=$(instructions "$BENCH")
echo "instructions_per_interval $i"
[[ $i == -* ]] || echo "instructions_per_target $((i / n))"
