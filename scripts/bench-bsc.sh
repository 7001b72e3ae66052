#!/usr/bin/env bash
# The power model on a second set of real machines (issue 20): two servers of the BSC
# power-modelling data set (tests/data/README.md: wall power and perf counts, 2 s intervals,
# eight cloud workloads) replayed as node-level traces through bpfmeter replay, each interval
# predicted from the past only, as bench-replay-nx12.sh does for nx12. Beside bpfmeter's
# prequential MAE, the last-value predictor's (the previous interval's measured power) over the
# same intervals: the one to beat.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x ./bpfmeter ] || make -s bpfmeter
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '| machine | intervals predicted | bpfmeter MAE | last value MAE | bpfmeter p95 | refits |\n'
printf '|---|---|---|---|---|---|\n'
for m in xeon-x5650 opteron-6140; do
	gzip -dc "tests/data/bsc-$m.csv.gz" >"$tmp/$m.csv"
	summary=$(./bpfmeter replay "$tmp/$m.csv" --features cpu_cycles,instructions,llc_misses,cpu_busy_pct \
		--power system=power_w 2>&1 >"$tmp/$m.out")
	p95=$(echo "$summary" | sed -n 's/^system: .* p95 \([0-9.]*\) W.*/\1/p')
	refits=$(echo "$summary" | sed -n 's/^system: .*, \([0-9]*\) refits.*/\1/p')
	# The trace's rows by timestamp: each predicted interval's measured power and the one
	# before it in the file (across a gap between runs too, as the last value a meter holds).
	awk -F, 'NR == FNR { if (FNR > 1) { prev[$1] = last; last = $4 }; next }
		FNR > 1 && $4 != "" && ($1 in prev) && prev[$1] != "" {
			n++; e = $3 - $4; b += e < 0 ? -e : e; e = $3 - prev[$1]; l += e < 0 ? -e : e }
		END { printf "%d %.2f %.2f\n", n, b / n, l / n }' "$tmp/$m.csv" "$tmp/$m.out" >"$tmp/$m.mae"
	read -r n bm lv <"$tmp/$m.mae"
	printf '| %s | %s | %s W | %s W | %s W | %s |\n' "$m" "$n" "$bm" "$lv" "$p95" "$refits"
done
echo "bpfmeter replay TRACE --features cpu_cycles,instructions,llc_misses,cpu_busy_pct --power system=power_w"
# A benchmark prints figures; it is not a pass/fail test.
exit 0
