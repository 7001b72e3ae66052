#!/usr/bin/env bash
# Energy: bpfmeter on powercap fixture trees driven by the RAPL simulator (known ground truth),
# odd files, and machines without any energy source.
set -u
. "$(dirname "$0")/../lib.sh"

T_SIM=energy/simulated_two_socket_power_within_half_percent_across_wraps
T_CONS=energy/provisional_split_adds_up_to_measured
T_DOM=energy/only_the_domains_that_exist
T_PERM=energy/unreadable_energy_uj_names_the_file
T_LIVE=energy/garbage_and_vanished_zone_at_run_time
T_NONE=energy/no_source_says_so_once_and_shows_cpu_shares
T_EXPL=energy/explicit_source_missing_is_an_error
T_BACK=energy/backwards_counter_no_reading_named_once
T_RANGE=energy/zero_max_energy_range_zone_left_out
need_root_and_cgroup2 $T_SIM $T_CONS $T_DOM $T_PERM $T_LIVE $T_NONE $T_EXPL $T_BACK $T_RANGE

REPO=$(cd "$(dirname "$0")/../.." && pwd)
FIX=$REPO/tests/fixtures/powercap
SIM=$REPO/.output/rapl-sim
[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null

# --- The simulated two-socket server, with wraps more frequent than the interval ----------
cp -r "$FIX/intel-2s" "$TMP/pc"
"$SIM" --root "$TMP/pc" --log "$TMP/truth" \
	--max-range intel-rapl:0=100000000 --max-range intel-rapl:1:0=5000000 \
	intel-rapl:0=const:50 intel-rapl:0:0=const:12.5 \
	intel-rapl:1=steps:30@2.5,80@5.5,40 intel-rapl:1:0=const:7 >"$TMP/sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done
"$BPFMETER" --csv -i 1 -d 8 -e '' --powercap-root "$TMP/pc" >"$TMP/sim.csv" 2>"$TMP/sim.err"
rc=$?
sleep 0.05
kill -TERM "$SIM_PID"
wait "$SIM_PID"

csv=$TMP/sim.csv
c_kind=$(csv_col "$csv" kind)
c_ts=$(csv_col "$csv" timestamp)
c_sock=$(csv_col "$csv" socket)
c_dom=$(csv_col "$csv" domain)
c_e=$(csv_col "$csv" energy_j)
# For every measured (socket, domain) and interval, the true energy from the simulator's log,
# interpolated at the interval's ends.
IFS='|' read -r rows bad worst detail <<<"$(energy_vs_truth "$TMP/truth" "$csv")"
wraps=$(awk '$2 == "intel-rapl:1:0" { j = $3 } END { printf "%d", j / 5 }' "$TMP/truth")
echo "    $rows measured rows, worst relative error $worst, intel-rapl:1:0 wrapped $wraps times"
if [ $rc -eq 0 ] && [ "$rows" -ge 28 ] && [ "$bad" -eq 0 ] && [ "$wraps" -ge 8 ]; then
	pass $T_SIM
else
	fail $T_SIM "rc $rc, rows $rows, off by more than 0.5%: $bad ($detail); wraps $wraps; $(head -c 300 "$TMP/sim.err")"
fi

# Targets of a socket add up to its measured energy, per domain and interval.
c_t=$(csv_col "$csv" kind)
res=$(awk -F, -v ck="$c_kind" -v cts="$c_ts" -v cs="$c_sock" -v cd="$c_dom" -v ce="$c_e" '
	NR > 1 && $ck == "target" && $cd != "" { sum[$cts "," $cs "," $cd] += $ce }
	NR > 1 && $ck == "energy" { m[$cts "," $cs "," $cd] = $ce }
	END { for (k in sum) { n++; d = sum[k] - m[k]; if (d < 0) d = -d; if (d > 1e-4 + 1e-6 * m[k]) bad++ }
	      printf "%d %d", n, bad }' "$csv")
read -r groups bad <<<"$res"
if [ "$groups" -ge 16 ] && [ "$bad" -eq 0 ]; then
	pass $T_CONS
else
	fail $T_CONS "$groups (interval, socket, domain) groups, $bad not adding up"
fi

# --- Which domains: the ones the tree has --------------------------------------------------
ok=1 detail=
for spec in "amd-epyc:package" "intel-laptop:core,package,psys,uncore" "intel-2s:dram,package"; do
	tree=${spec%%:*}
	want=${spec#*:}
	cp -r "$FIX/$tree" "$TMP/dom-$tree"
	# Every zone driven: a counter that never moves has no reading (deadcounter.sh).
	zones=()
	for z in "$TMP/dom-$tree"/intel-rapl:*; do zones+=("${z##*/}=const:5"); done
	"$SIM" --root "$TMP/dom-$tree" "${zones[@]}" >"$TMP/dom-sim.out" 2>&1 &
	SIM_PID=$!
	BG_PIDS+=("$SIM_PID")
	for _ in $(seq 50); do grep -q ready "$TMP/dom-sim.out" && break; sleep 0.1; done
	"$BPFMETER" --csv -i 0.3 -d 0.6 -e '' --powercap-root "$TMP/dom-$tree" >"$TMP/dom.csv" 2>"$TMP/dom.err"
	rc=$?
	kill -TERM "$SIM_PID"
	wait "$SIM_PID"
	got=$(awk -F, -v ck="$(csv_col "$TMP/dom.csv" kind)" -v cd="$(csv_col "$TMP/dom.csv" domain)" \
		'NR > 1 && $ck == "energy" { print $cd }' "$TMP/dom.csv" | sort -u | paste -sd,)
	[ $rc -eq 0 ] && [ "$got" = "$want" ] || { ok=0; detail+="$tree: rc $rc, domains '$got', expected '$want'; "; }
done
[ $ok = 1 ] && pass $T_DOM || fail $T_DOM "$detail"

# --- An energy_uj that cannot be read: the error names the file ----------------------------
if command -v setpriv >/dev/null; then
	cp -r "$FIX/intel-2s" "$TMP/perm"
	chmod 000 "$TMP/perm/intel-rapl:0:0/energy_uj"
	# Root reads any file; without CAP_DAC_OVERRIDE it meets the permission bits as others do.
	setpriv --bounding-set -dac_override,-dac_read_search "$BPFMETER" --csv -d 1 -e '' \
		--powercap-root "$TMP/perm" >"$TMP/perm.out" 2>"$TMP/perm.err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "intel-rapl:0:0/energy_uj: Permission denied" "$TMP/perm.err" &&
		[ "$(wc -l <"$TMP/perm.err")" -eq 1 ] && [ ! -s "$TMP/perm.out" ]; then
		pass $T_PERM
	else
		fail $T_PERM "rc $rc: $(cat "$TMP/perm.err")"
	fi
else
	skip $T_PERM "setpriv (util-linux) is not installed"
fi

# --- At run time: garbage in one file, one zone gone; the rest goes on ---------------------
cp -r "$FIX/intel-2s" "$TMP/live"
# The packages driven; the dram zones, spoilt below, stand still until then (no reading).
"$SIM" --root "$TMP/live" intel-rapl:0=const:20 intel-rapl:1=const:30 >"$TMP/live-sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
for _ in $(seq 50); do grep -q ready "$TMP/live-sim.out" && break; sleep 0.1; done
start_bpfmeter "$TMP/live.csv" "$TMP/live.err" --csv -i 0.5 -e '' --powercap-root "$TMP/live"
sleep 1.2
echo "garbage" >"$TMP/live/intel-rapl:0:0/energy_uj"
rm -rf "$TMP/live/intel-rapl:1:0"
sleep 1.5
stop_bpfmeter
rc=$?
kill -TERM "$SIM_PID"
wait "$SIM_PID"
csv=$TMP/live.csv
last=$(awk -F, -v ck="$(csv_col "$csv" kind)" -v cs="$(csv_col "$csv" socket)" -v cd="$(csv_col "$csv" domain)" \
	-v cts="$(csv_col "$csv" timestamp)" 'NR > 1 && $ck == "energy" { if ($cts != ts) { ts = $cts; s = "" } s = s $cs ":" $cd " " } END { print s }' "$csv")
if [ $rc -eq 0 ] && grep -q "intel-rapl:0:0/energy_uj: not a number" "$TMP/live.err" &&
	grep -q "intel-rapl:1:0/energy_uj: No such file" "$TMP/live.err" &&
	[ "$last" = "0:package 1:package " ]; then
	pass $T_LIVE
else
	fail $T_LIVE "rc $rc, last interval's readings '$last': $(cat "$TMP/live.err")"
fi

# --- A counter going backwards by 1 J every 0.1 s: every reading of it dropped -------------
# Dropped is no value: no energy row of its socket, no field in line protocol, not a 0 J
# measured row each interval; and one warning, not one a reading.
cp -r "$FIX/amd-epyc" "$TMP/back"
"$SIM" --root "$TMP/back" intel-rapl:0=const:30 >"$TMP/back-sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
for _ in $(seq 50); do grep -q ready "$TMP/back-sim.out" && break; sleep 0.1; done
(
	trap - EXIT # the test's cleanup is not this loop's
	uj=$(cat "$TMP/back/intel-rapl:1/energy_uj")
	for _ in $(seq 50); do
		uj=$((uj - 1000000))
		echo "$uj" >"$TMP/back/intel-rapl:1/energy.tmp"
		mv "$TMP/back/intel-rapl:1/energy.tmp" "$TMP/back/intel-rapl:1/energy_uj"
		sleep 0.1
	done
) &
BACK_PID=$!
BG_PIDS+=("$BACK_PID")
"$BPFMETER" -i 0.5 -d 3 -e '' --powercap-root "$TMP/back" -o "csv:$TMP/back.csv" \
	-o "influx:$TMP/back.lp" >/dev/null 2>"$TMP/back.err"
rc=$?
kill -TERM "$SIM_PID" "$BACK_PID" 2>/dev/null
wait "$SIM_PID" "$BACK_PID" 2>/dev/null
csv=$TMP/back.csv
socks=$(awk -F, -v ck="$(csv_col "$csv" kind)" -v cs="$(csv_col "$csv" socket)" -v ce="$(csv_col "$csv" energy_j)" \
	'NR > 1 && $ck == "energy" { n[$cs]++ } NR > 1 && $cs == 1 && $ce != "" { bad++ }
	END { printf "%d %d %d", n[0] + 0, n[1] + 0, bad + 0 }' "$csv")
read -r s0 s1 bad <<<"$socks"
lp1=$(grep -c 'socket=1,.*energy_j=' "$TMP/back.lp")
warned=$(grep -c 'dropped an impossible reading' "$TMP/back.err")
if [ $rc -eq 0 ] && [ "$s0" -ge 4 ] && [ "$s1" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$lp1" -eq 0 ] &&
	[ "$warned" -eq 1 ] && grep -q 'impossible reading of .*intel-rapl:1/energy_uj: .*package energy of socket 1 is not reported' "$TMP/back.err"; then
	pass $T_BACK
else
	fail $T_BACK "rc $rc, energy rows socket 0: $s0, socket 1: $s1, socket-1 rows with energy $bad, line protocol $lp1, $warned warnings: $(grep -v '^libbpf' "$TMP/back.err" | head -c 400)"
fi

# --- max_energy_range_uj = 0: that zone left out, said once, the other measured ------------
# Accepted, it made the poll period 0.25 ns: most of a CPU spent on "impossible" readings.
cp -r "$FIX/amd-epyc" "$TMP/range"
echo 0 >"$TMP/range/intel-rapl:1/max_energy_range_uj"
"$SIM" --root "$TMP/range" intel-rapl:0=const:30 >"$TMP/range-sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
for _ in $(seq 50); do grep -q ready "$TMP/range-sim.out" && break; sleep 0.1; done
TIMEFORMAT='%U %S'
# Over 6 s the defect spent 1.4 s of CPU and more; what is left is the start (the BPF load:
# up to half a second on a busy host) and polls at the other zone's period.
{ time "$BPFMETER" --csv -i 0.5 -d 6 -e '' --powercap-root "$TMP/range" >"$TMP/range.csv" 2>"$TMP/range.err"; } 2>"$TMP/range.time"
rc=$?
unset TIMEFORMAT
kill -TERM "$SIM_PID"
wait "$SIM_PID"
cpu=$(awk '{ print $1 + $2 }' "$TMP/range.time")
csv=$TMP/range.csv
socks=$(awk -F, -v ck="$(csv_col "$csv" kind)" -v cs="$(csv_col "$csv" socket)" \
	'NR > 1 && $ck == "energy" { n[$cs]++ } END { printf "%d %d", n[0] + 0, n[1] + 0 }' "$csv")
read -r s0 s1 <<<"$socks"
said=$(grep -c 'intel-rapl:1/max_energy_range_uj is 0, no counter.s range (want the counter.s range in microjoules, 4000000 or more): zone left out; package energy of socket 1 is not reported' "$TMP/range.err")
if [ $rc -eq 0 ] && [ "$said" -eq 1 ] && ! grep -q 'impossible' "$TMP/range.err" && [ "$s0" -ge 4 ] &&
	[ "$s1" -eq 0 ] && awk -v c="$cpu" 'BEGIN { exit !(c < 0.8) }'; then
	pass $T_RANGE
else
	fail $T_RANGE "rc $rc, said $said, energy rows socket 0: $s0, socket 1: $s1, CPU $cpu s: $(grep -v '^libbpf' "$TMP/range.err" | head -c 400)"
fi

# --- No energy source at all (this kind of VM): said once, CPU shares, no watts -----------
if [ -e /sys/class/powercap/intel-rapl:0 ] || [ -e /sys/bus/event_source/devices/power ]; then
	skip $T_NONE "this machine has RAPL"
	skip $T_EXPL "this machine has RAPL"
else
	"$BPFMETER" --csv -i 0.5 -d 1 -e '' >"$TMP/none.csv" 2>"$TMP/none.err"
	rc=$?
	csv=$TMP/none.csv
	shares=$(awk -F, -v ck="$(csv_col "$csv" kind)" -v cs="$(csv_col "$csv" share)" -v ce="$(csv_col "$csv" energy_j)" \
		'NR > 1 && $ck == "target" && $cs > 0 && $ce == "" { n++ } NR > 1 && $ck == "energy" { bad++ } END { print n + 0, bad + 0 }' "$csv")
	if [ $rc -eq 0 ] && [ "$(grep -c 'no energy source found' "$TMP/none.err")" -eq 1 ] &&
		grep -q 'powercap: .*perf: .*msr: ' "$TMP/none.err" && [ "${shares% *}" -gt 0 ] && [ "${shares#* }" -eq 0 ]; then
		pass $T_NONE
	else
		fail $T_NONE "rc $rc, rows with shares/energy rows: $shares: $(cat "$TMP/none.err")"
	fi
	"$BPFMETER" --csv -d 1 -e '' --energy-source msr >"$TMP/msr.out" 2>"$TMP/msr.err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q '^bpfmeter: no energy from msr: ' "$TMP/msr.err" && [ ! -s "$TMP/msr.out" ]; then
		pass $T_EXPL
	else
		fail $T_EXPL "rc $rc: $(cat "$TMP/msr.err")"
	fi
fi
