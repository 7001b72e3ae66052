#!/usr/bin/env bash
# How well the model splits each socket's energy between cgroups (issue 20): each scenario of
# tests/sim/split-scenario.c (synthetic recordings whose per-cgroup power is known) replayed
# through bpfmeter replay, its CSV joined with the truth. One table, one row per scenario:
#   median, p95   of |power_w - true power| / true power over the cgroups' rows (every cgroup,
#                 every interval) after the warm-up
#   idle          median and p95 of |idle's power_w - static power| (W), and its mean (signed:
#                 above 0, idle is given more than the static power)
#   2 se          how often the truth lies within two reported standard errors (the power_w_err
#                 column; n/a where its rows are all empty)
#   conserved     the largest |sum of the targets' energy - measured| / measured of an interval
# The warm-up is the first WARMUP intervals (15, as in the issue), counted from the start; in
# "late" from the third cgroup's start (after an hour), as its first hour is "steady" again.
#
# Usage: scripts/bench-split.sh [SCENARIO...]   (default: all; split-scenario --list)
#        WARMUP=N SEED=N scripts/bench-split.sh
set -euo pipefail
cd "$(dirname "$0")/.."
warmup=${WARMUP:-15}
seed=${SEED:-1}
make -s bpfmeter split-scenario
gen=.output/split-scenario
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $# -eq 0 ]; then
	# shellcheck disable=SC2046 # one word per scenario name
	set -- $($gen --list | awk '{ print $1 }')
fi

# The nearest-rank percentile P of the numbers on stdin.
pct() {
	sort -g | awk -v p="$1" '{ v[NR] = $1 } END {
		if (!NR) { print "n/a"; exit }
		k = int(p / 100 * NR + 0.999999); if (k < 1) k = 1; print v[k] }'
}

printf '| scenario | intervals | cgroups | judged rows | median | p95 | idle median | idle p95 | idle mean | within 2 se | conserved |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
for sc in "$@"; do
	rec=$tmp/$sc.csv truth=$tmp/$sc.truth out=$tmp/$sc.out
	$gen "$sc" "$rec" "$truth" --seed "$seed"
	./bpfmeter replay "$rec" -o csv:"$out" >/dev/null 2>"$tmp/$sc.err" || {
		echo "$sc: bpfmeter replay failed:" >&2
		cat "$tmp/$sc.err" >&2
		exit 1
	}
	from=$warmup
	[ "$sc" = late ] && from=$((3600 + warmup))
	awk -F, -v from="$from" -f scripts/split-join.awk "$truth" "$out" >"$tmp/$sc.e"
	summary=$(tail -n 1 "$tmp/$sc.e")
	get() { echo "$summary" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
	cg() { awk '$1 == "cg" { print $2 * 100 }' "$tmp/$sc.e"; }
	idle() { awk '$1 == "idle" { print ($2 < 0 ? -$2 : $2) }' "$tmp/$sc.e"; }
	nrows=$(awk '$1 == "cg"' "$tmp/$sc.e" | wc -l)
	ncg=$(awk -F, 'NR > 1 && $2 != "idle" { print $2 }' "$truth" | sort -u | wc -l)
	mean=$(awk '$1 == "idle" { s += $2; n++ } END { printf n ? "%+.2f" : "n/a", n ? s / n : 0 }' \
		"$tmp/$sc.e")
	cover=$(awk '$1 == "cover" { s += $2; n++ } END { if (n) printf "%.1f%%", 100 * s / n; else print "n/a" }' \
		"$tmp/$sc.e")
	if [ "$(get truth_unjoined)" != 0 ] || [ "$(get output_unjoined)" != 0 ]; then
		echo "$sc: the truth and the output do not join: $summary" >&2
	fi
	printf '| %s | %s | %s | %s | %.1f%% | %.1f%% | %.2f W | %.2f W | %s W | %s | %s |\n' \
		"$sc" "$(get intervals)" "$ncg" "$nrows" "$(cg | pct 50)" "$(cg | pct 95)" \
		"$(idle | pct 50)" "$(idle | pct 95)" "$mean" "$cover" "$(get max_conservation)"
done
echo "warm-up: the first $warmup intervals (late: from the third cgroup's start + $warmup); seed $seed"
# A benchmark prints figures; it is not a pass/fail test.
exit 0
