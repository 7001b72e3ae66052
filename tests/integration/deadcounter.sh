#!/usr/bin/env bash
# Counters that do not count: a powercap zone whose energy_uj never moves, one that stops
# midway, bpfmeter check on them, and this machine's perf power PMU where it reads 0.
set -u
. "$(dirname "$0")/../lib.sh"

T_STILL=deadcounter/never_advancing_zone_named_dropped_no_energy_claimed
T_STOP=deadcounter/zone_stopping_midway_named_once_dropped_other_goes_on
T_CHECK=deadcounter/check_reports_never_advancing_zones_missing
T_PMU=deadcounter/this_machines_perf_power_pmu_that_reads_zero
T_EST=deadcounter/with_estimate_the_estimate_stands_in_once_nothing_counts
need_root_and_cgroup2 $T_STILL $T_STOP $T_CHECK $T_PMU $T_EST

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$REPO/.output/rapl-sim
[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null
CG_BASE=$(mktemp -d "$CG_MOUNT/bpfmeter-test.XXXXXX")

# no_energy_claimed CSV: "OK" when no row measures energy and target rows have CPU time.
no_energy_claimed() {
	awk -F, -v ck="$(csv_col "$1" kind)" -v ce="$(csv_col "$1" energy_j)" -v cs="$(csv_col "$1" estimate)" \
		-v cc="$(csv_col "$1" cpu_ns)" 'NR > 1 && ($ck == "energy" || $ce != "" || $cs != "") { bad++ }
		NR > 1 && $ck == "target" && $cc > 0 { cpu++ } END { print (bad || !cpu) ? "bad " bad + 0 " cpu " cpu + 0 : "OK" }' "$1"
}

# --- A zone whose energy_uj never moves: one line each, dropped, the session goes on ----
cp -r "$REPO/tests/fixtures/powercap/amd-epyc" "$TMP/still"
"$BPFMETER" --csv -i 0.5 -d 3.6 -e '' --powercap-root "$TMP/still" >"$TMP/still.csv" 2>"$TMP/still.err"
rc=$?
claimed=$(no_energy_claimed "$TMP/still.csv")
n0=$(grep -c "intel-rapl:0/energy_uj never advanced in 3 s: this machine's RAPL is not counting" "$TMP/still.err")
n1=$(grep -c "intel-rapl:1/energy_uj never advanced in 3 s: this machine's RAPL is not counting" "$TMP/still.err")
if [ $rc -eq 0 ] && [ "$claimed" = OK ] && [ "$n0" -eq 1 ] && [ "$n1" -eq 1 ] &&
	[ "$(grep -c 'going on without energy' "$TMP/still.err")" -eq 1 ]; then
	pass $T_STILL
else
	fail $T_STILL "rc $rc, CSV $claimed, lines $n0 $n1: $(head -c 400 "$TMP/still.err")"
fi

# --- The same with --estimate: nothing measured, then estimated, never a measured 0 -------
"$BPFMETER" --csv -i 0.5 -d 5 -e '' --estimate --powercap-root "$TMP/still" >"$TMP/est.csv" 2>"$TMP/est.err"
rc=$?
# Energy rows: each must say estimated; how many there are.
est=$(awk -F, -v ck="$(csv_col "$TMP/est.csv" kind)" -v cs="$(csv_col "$TMP/est.csv" estimate)" \
	-v ce="$(csv_col "$TMP/est.csv" energy_j)" 'NR > 1 && $ck == "energy" { n++; if ($cs != "estimated" || $ce + 0 <= 0) bad++ }
	END { printf "%d %d", n + 0, bad + 0 }' "$TMP/est.csv")
read -r est_n est_bad <<<"$est"
if [ $rc -eq 0 ] && [ "$est_n" -ge 2 ] && [ "$est_bad" -eq 0 ] &&
	grep -q 'going on without energy (--estimate: estimated from here on)' "$TMP/est.err" &&
	grep -q 'package power ESTIMATED from CPU utilisation' "$TMP/est.err"; then
	pass $T_EST
else
	fail $T_EST "rc $rc, $est_n energy rows, $est_bad not estimated or not positive: $(grep -v '^libbpf' "$TMP/est.err" | tail -n 3)"
fi

# --- A zone that stops midway (BPFMETER_ENERGY_STALL_S shortens the 30 s for the test) ---
cp -r "$REPO/tests/fixtures/powercap/amd-epyc" "$TMP/stop"
BPFMETER_ENERGY_STALL_S=1 start_bpfmeter "$TMP/stop.csv" "$TMP/stop.err" --csv -i 0.3 -e '' \
	--powercap-root "$TMP/stop"
"$SIM" --root "$TMP/stop" intel-rapl:0=const:30 intel-rapl:1=steps:20@1,0 >"$TMP/sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done
for _ in $(seq 40); do grep -q 'stopped advancing' "$TMP/stop.err" && break; sleep 0.1; done
sleep 0.7
stop_bpfmeter
rc=$?
kill -TERM "$SIM_PID"
wait "$SIM_PID"
csv=$TMP/stop.csv
# Per interval with energy rows: the sockets measured; and any measured row with 0 J.
seq_s=$(awk -F, -v ck="$(csv_col "$csv" kind)" -v cs="$(csv_col "$csv" socket)" -v ct="$(csv_col "$csv" timestamp)" \
	-v ce="$(csv_col "$csv" energy_j)" 'NR > 1 && $ck == "energy" { if ($ct != ts) { if (ts != "") printf "%s ", s; ts = $ct; s = "" } s = s $cs; if ($ce + 0 <= 0) zero++ }
	END { printf "%s zero=%d\n", s, zero + 0 }' "$csv")
lines=$(grep -c 'intel-rapl:1/energy_uj stopped advancing .* s ago: it no longer counts; package energy of socket 1 is no longer reported' "$TMP/stop.err")
# Both sockets measured for a while, then socket 0 alone to the end, no 0 J row.
if [ $rc -eq 0 ] && [ "$lines" -eq 1 ] && [[ "$seq_s" =~ (^| )01\ .*\ 0\ 0\ zero=0$ ]] &&
	! grep -q 'going on without energy' "$TMP/stop.err"; then
	pass $T_STOP
else
	fail $T_STOP "rc $rc, $lines lines, sockets per interval '$seq_s': $(head -c 400 "$TMP/stop.err")"
fi

# --- bpfmeter check: every zone still, then one of two -----------------------------------
"$BPFMETER" check -e '' --powercap-root "$TMP/still" >"$TMP/check.out" 2>"$TMP/check.err"
rc=$?
cp -r "$REPO/tests/fixtures/powercap/amd-epyc" "$TMP/half"
"$SIM" --root "$TMP/half" intel-rapl:0=const:30 >"$TMP/sim2.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
for _ in $(seq 50); do grep -q ready "$TMP/sim2.out" && break; sleep 0.1; done
"$BPFMETER" check -e '' --powercap-root "$TMP/half" >"$TMP/half.out" 2>"$TMP/half.err"
hrc=$?
kill -TERM "$SIM_PID"
wait "$SIM_PID"
if [ $rc -eq 0 ] && grep -Eq "^ +missing +energy from powercap: .*intel-rapl:0/energy_uj never advanced in 1.5 s: this machine's RAPL is not counting .*CPU shares, no watts" "$TMP/check.out" &&
	! grep -Eq "^ +ok +energy" "$TMP/check.out" && [ $hrc -eq 0 ] &&
	grep -Eq "^ +missing +energy package of socket 1 from powercap: .*intel-rapl:1/energy_uj never advanced" "$TMP/half.out" &&
	grep -Eq "^ +ok +energy from powercap: 1 of 2 counters counting" "$TMP/half.out"; then
	pass $T_CHECK
else
	fail $T_CHECK "rc $rc, $hrc: $(grep energy "$TMP/check.out" "$TMP/half.out" | head -c 600)"
fi

# --- This machine's perf power PMU, where it offers only counters that read 0 -------------
PMU=/sys/bus/event_source/devices/power
if [ ! -e "$PMU" ]; then
	skip $T_PMU "this machine has no perf power PMU ($PMU missing)"
else
	"$BPFMETER" check -e '' --energy-source perf >"$TMP/pmu.out" 2>"$TMP/pmu.err"
	if grep -Eq "^ +ok +energy from perf" "$TMP/pmu.out"; then
		skip $T_PMU "this machine's perf power PMU counts"
	elif ! grep -Eq "^ +missing +energy from perf: .* never advanced in 1.5 s" "$TMP/pmu.out"; then
		fail $T_PMU "check on perf: $(grep energy "$TMP/pmu.out" "$TMP/pmu.err" | head -c 400)"
	else
		"$BPFMETER" --csv -i 0.5 -d 3.6 -e '' --energy-source perf >"$TMP/pmu.csv" 2>"$TMP/pmu.err"
		rc=$?
		claimed=$(no_energy_claimed "$TMP/pmu.csv")
		if [ $rc -eq 0 ] && [ "$claimed" = OK ] && grep -q "perf power/energy-.* never advanced in 3 s" "$TMP/pmu.err" &&
			[ "$(grep -c 'going on without energy' "$TMP/pmu.err")" -eq 1 ]; then
			pass $T_PMU
		else
			fail $T_PMU "rc $rc, CSV $claimed: $(head -c 400 "$TMP/pmu.err")"
		fi
	fi
fi
