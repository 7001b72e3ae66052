#!/usr/bin/env bash
# The split benchmark's harness end to end (scripts/bench-split.sh, issue 20): short synthetic
# recordings of tests/sim/split-scenario.c replayed through bpfmeter replay, their CSV joined
# with the truth. Not a test of the split's accuracy (a benchmark's): that the replay conserves
# each interval's energy, that the truth joins every row, and that a seed gives the same bytes.
set -u
. "$(dirname "$0")/../lib.sh"

T_CONS=split/targets_plus_idle_equal_measured_each_interval
T_JOIN=split/truth_joins_every_output_row
T_SEED=split/scenario_deterministic_per_seed

REPO=$(cd "$(dirname "$0")/../.." && pwd)
GEN=$REPO/.output/split-scenario
[ -x "$GEN" ] || make -s -C "$REPO" split-scenario >/dev/null

cons_ok=1 join_ok=1 why_c='' why_j=''
# Two cgroups in waves; 50 small ones; three of which one is absent from some intervals.
for spec in periodic:60 many:20 late:3630; do
	sc=${spec%%:*} n=${spec#*:}
	"$GEN" "$sc" "$TMP/$sc.csv" "$TMP/$sc.truth" --intervals "$n" &&
		"$BPFMETER" replay "$TMP/$sc.csv" -o csv:"$TMP/$sc.out" >/dev/null 2>"$TMP/$sc.err" || {
		cons_ok=0 join_ok=0 why_c="$sc: generating or replaying failed: $(head -c 300 "$TMP/$sc.err")"
		why_j=$why_c
		continue
	}
	s=$(awk -F, -v from=0 -f "$REPO/scripts/split-join.awk" "$TMP/$sc.truth" "$TMP/$sc.out" | tail -n 1)
	get() { echo "$s" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
	if [ "$(get intervals)" != "$n" ] ||
		! awk -v c="$(get max_conservation)" 'BEGIN { exit !(c <= 1e-6) }'; then
		cons_ok=0 why_c="$sc: $s (want intervals=$n, max_conservation <= 1e-6)"
	fi
	rows=$(($(wc -l <"$TMP/$sc.truth") - 1))
	if [ "$(get truth_unjoined)" != 0 ] || [ "$(get output_unjoined)" != 0 ] ||
		[ "$(get joined)" != "$rows" ]; then
		join_ok=0 why_j="$sc: $s (truth rows $rows)"
	fi
done
[ "$cons_ok" = 1 ] && pass $T_CONS || fail $T_CONS "$why_c"
[ "$join_ok" = 1 ] && pass $T_JOIN || fail $T_JOIN "$why_j"

"$GEN" steps "$TMP/s1.csv" "$TMP/s1.truth" --intervals 30 --seed 7
"$GEN" steps "$TMP/s2.csv" "$TMP/s2.truth" --intervals 30 --seed 7
"$GEN" steps "$TMP/s3.csv" "$TMP/s3.truth" --intervals 30 --seed 8
if cmp -s "$TMP/s1.csv" "$TMP/s2.csv" && cmp -s "$TMP/s1.truth" "$TMP/s2.truth" &&
	! cmp -s "$TMP/s1.csv" "$TMP/s3.csv"; then
	pass $T_SEED
else
	fail $T_SEED "seed 7 twice should give the same files and seed 8 others"
fi
