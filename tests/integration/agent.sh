#!/usr/bin/env bash
# What a host agent needs: SIGHUP reopens the file sinks (logrotate) without losing, repeating
# or splitting an interval; --host labels the rows; --carbon-intensity and its file add CO2e
# estimates. The replays and the malformed intensity file need no root: run as root, they run
# again as nobody.
set -u
. "$(dirname "$0")/../lib.sh"

T_ROT=agent/sighup_reopens_moved_files_intervals_once_each_and_whole
T_ROTFAIL=agent/sighup_reopen_that_fails_warned_each_time_others_go_on_next_sighup_brings_it_back
T_HOST=agent/host_label_from_host_else_node_name
T_CSV=agent/carbon_intensity_400_csv_co2e_g_is_energy_times_400_over_3_6e6
T_FILE=agent/carbon_intensity_file_last_value_at_or_before_each_interval_end
T_CMD=agent/command_summary_prints_grams_co2e_as_an_estimate
T_RHOST=agent/replay_keeps_the_recorded_host_unless_host_relabels_it
T_RCARB=agent/replay_with_carbon_intensity_adds_co2e_g_without_none
T_BAD=agent/malformed_carbon_intensity_file_exit_2_file_line_column

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$REPO/.output/rapl-sim
REC=$REPO/tests/data/recording-three-cgroups.csv
as_root=0
root_only $T_ROT $T_ROTFAIL $T_HOST $T_CSV $T_FILE $T_CMD && as_root=1

# --- Without root --------------------------------------------------------------------------

# A replay keeps the recorded host ("vm"), $NODE_NAME or not; --host relabels it.
NODE_NAME=node-from-env "$BPFMETER" replay "$REC" -o influx:- >"$TMP/r1.lp" 2>"$TMP/r1.err"
rc1=$?
"$BPFMETER" replay "$REC" --host relabelled -o influx:- >"$TMP/r2.lp" 2>"$TMP/r2.err"
rc2=$?
hosts1=$(grep -o ',host=[^,]*,' "$TMP/r1.lp" | sort -u | tr '\n' ' ')
hosts2=$(grep -o ',host=[^,]*,' "$TMP/r2.lp" | sort -u | tr '\n' ' ')
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ "$hosts1" = ",host=vm, " ] && [ "$hosts2" = ",host=relabelled, " ]; then
	pass $T_RHOST
else
	fail $T_RHOST "rc $rc1/$rc2, hosts '$hosts1' and '$hosts2': $(head -c 300 "$TMP/r1.err" "$TMP/r2.err")"
fi

# co2e_g = energy_j x intensity / 3.6e6 on every row with energy, to the printed precision;
# without the option the column is there, empty.
check_co2e() { # CSV G: "rows-with-energy bad empty-co2e"
	awk -F, -v g="$2" -v ce="$(csv_col "$1" energy_j)" -v cc="$(csv_col "$1" co2e_g)" '
		NR == 1 { next }
		$ce == "" { if ($cc != "") bad++; next }
		{ n++; if ($cc == "") { empty++; next }
		  d = $cc - $ce * g / 3.6e6; if (d < 0) d = -d; if (d > 1e-9) bad++ }
		END { printf "%d %d %d", n, bad + 0, empty + 0 }' "$1"
}
"$BPFMETER" replay "$REC" --carbon-intensity 250 --csv >"$TMP/rc.csv" 2>"$TMP/rc.err"
rc1=$?
"$BPFMETER" replay "$REC" --csv >"$TMP/rn.csv" 2>>"$TMP/rc.err"
rc2=$?
read -r n bad empty <<<"$(check_co2e "$TMP/rc.csv" 250)"
filled=$(awk -F, -v c="$(csv_col "$TMP/rn.csv" co2e_g)" 'NR > 1 && $c != ""' "$TMP/rn.csv" | wc -l)
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ "$n" -gt 100 ] && [ "$bad" -eq 0 ] && [ "$empty" -eq 0 ] &&
	[ "$(csv_col "$TMP/rn.csv" co2e_g)" -gt 0 ] && [ "$filled" -eq 0 ]; then
	pass $T_RCARB
else
	fail $T_RCARB "rc $rc1/$rc2: $n rows with energy, $bad wrong, $empty empty; $filled filled without the option: $(head -c 300 "$TMP/rc.err")"
fi

# A malformed intensity file: one FILE:LINE:COLUMN line, exit 2, nothing written.
printf 'timestamp,g_per_kwh\n1700000000,400\n1700003600,lots\n' >"$TMP/bad-ci.csv"
"$BPFMETER" -d 1 -e '' --carbon-intensity-file "$TMP/bad-ci.csv" -o csv:"$TMP/never.csv" >"$TMP/b.out" 2>"$TMP/b.err"
rc=$?
want="bpfmeter: $TMP/bad-ci.csv:3:2: g_per_kwh: \"lots\" is not a number above 0 and below 5000 (grams CO2e per kWh)"
if [ $rc -eq 2 ] && grep -qxF "$want" "$TMP/b.err" && [ "$(grep -vc ': warning: ' "$TMP/b.err")" -eq 1 ] &&
	[ ! -s "$TMP/b.out" ] && [ ! -e "$TMP/never.csv" ]; then
	pass $T_BAD
else
	fail $T_BAD "rc $rc: $(cat "$TMP/b.err")"
fi

if [ $as_root = 0 ]; then
	rerun_unprivileged
	exit
fi

# --- SIGHUP: logrotate's move, then the signal ---------------------------------------------

# The rotated files and the new ones together hold the session exactly: what csv:- and
# influx:- (never reopened) got, byte for byte, once the new file's header is left out.
start_bpfmeter "$TMP/all" "$TMP/rot.err" -i 0.3 -e '' -o csv:"$TMP/r.csv" -o influx:"$TMP/r.lp" \
	-o csv:- -o influx:-
sleep 1.3
mv "$TMP/r.csv" "$TMP/r.csv.1"
mv "$TMP/r.lp" "$TMP/r.lp.1"
kill -HUP "$BPFMETER_PID"
sleep 1.3
kill -HUP "$BPFMETER_PID" # without a move: the same files again, appended to
sleep 0.7
stop_bpfmeter
rc=$?
grep -v '^bpfmeter_' "$TMP/all" >"$TMP/all.csv"
grep '^bpfmeter_' "$TMP/all" >"$TMP/all.lp"
hdr=$(head -n 1 "$TMP/all.csv")
fields=$(awk -F, '{ print NF; exit }' "$TMP/all.csv")
whole() { awk -F, -v n="$fields" 'NF != n' "$1" | wc -l; }
n1=$(awk -F, 'NR > 1 { print $1 }' "$TMP/r.csv.1" | sort -u | wc -l)
n2=$(awk -F, 'NR > 1 { print $1 }' "$TMP/r.csv" | sort -u | wc -l)
nall=$(awk -F, 'NR > 1 { print $1 }' "$TMP/all.csv" | sort -u | wc -l)
echo "    intervals: $n1 in the rotated file, $n2 in the new one, $nall on stdout"
if [ $rc -eq 0 ] && [ "$(head -n 1 "$TMP/r.csv.1")" = "$hdr" ] && [ "$(head -n 1 "$TMP/r.csv")" = "$hdr" ] &&
	[ "$(grep -c '^timestamp,' "$TMP/r.csv")" -eq 1 ] &&
	[ "$(whole "$TMP/r.csv.1")" -eq 0 ] && [ "$(whole "$TMP/r.csv")" -eq 0 ] &&
	[ "$n1" -ge 2 ] && [ "$n2" -ge 2 ] && [ $((n1 + n2)) -eq "$nall" ] &&
	cmp -s <(cat "$TMP/r.csv.1"; tail -n +2 "$TMP/r.csv") "$TMP/all.csv" &&
	cmp -s <(cat "$TMP/r.lp.1" "$TMP/r.lp") "$TMP/all.lp" &&
	[ -s "$TMP/r.lp.1" ] && [ -s "$TMP/r.lp" ] && ! grep -q 'reopen' "$TMP/rot.err"; then
	pass $T_ROT
else
	fail $T_ROT "rc $rc; intervals $n1 + $n2 of $nall; half rows $(whole "$TMP/r.csv.1")/$(whole "$TMP/r.csv"): $(head -c 300 "$TMP/rot.err")"
fi

# A file that cannot be opened again (its directory is now a file): one warning naming it for
# each SIGHUP that cannot, none for the intervals in between; the other sink goes on. Once the
# directory is back, the next SIGHUP brings the sink back, its new file with the header.
mkdir "$TMP/d"
start_bpfmeter "$TMP/ok.csv" "$TMP/fail.err" -i 0.2 -e '' -o csv:"$TMP/d/x.csv" -o csv:-
sleep 0.7
mv "$TMP/d" "$TMP/d.1"
touch "$TMP/d"
kill -HUP "$BPFMETER_PID"
sleep 0.7
kill -HUP "$BPFMETER_PID" # still not there: said again
sleep 0.5
rm "$TMP/d"
mkdir "$TMP/d"
kill -HUP "$BPFMETER_PID"
sleep 0.7
stop_bpfmeter
rc=$?
warned=$(grep -c "cannot reopen $TMP/d/x.csv: Not a directory; going on without this output" "$TMP/fail.err")
ok_after=$(awk -F, -v t="$(awk -F, 'END { print $1 }' "$TMP/d.1/x.csv")" 'NR > 1 && $1 > t { print $1 }' "$TMP/ok.csv" | sort -u | wc -l)
back=$(awk -F, 'NR > 1 { print $1 }' "$TMP/d/x.csv" 2>/dev/null | sort -u | wc -l)
if [ $rc -eq 0 ] && [ "$warned" -eq 2 ] && [ "$(grep -c 'x.csv' "$TMP/fail.err")" -eq 2 ] &&
	[ "$(whole "$TMP/d.1/x.csv")" -eq 0 ] && [ "$ok_after" -ge 6 ] && [ "$back" -ge 2 ] &&
	[ "$(head -n 1 "$TMP/d/x.csv")" = "$(head -n 1 "$TMP/ok.csv")" ]; then
	pass $T_ROTFAIL
else
	fail $T_ROTFAIL "rc $rc, warned $warned times, $ok_after intervals in the other sink after, $back in the new file: $(head -c 400 "$TMP/fail.err")"
fi

# --- --host and NODE_NAME on a live session --------------------------------------------------
h1=$("$BPFMETER" -d 0.3 -e '' --host node-7.example -o influx:- 2>/dev/null | grep -o ',host=[^,]*,' | sort -u)
h2=$(NODE_NAME=k8s-node-3 "$BPFMETER" -d 0.3 -e '' -o influx:- 2>/dev/null | grep -o ',host=[^,]*,' | sort -u)
h3=$(env -u NODE_NAME "$BPFMETER" -d 0.3 -e '' -o influx:- 2>/dev/null | grep -o ',host=[^,]*,' | sort -u)
if [ "$h1" = ",host=node-7.example," ] && [ "$h2" = ",host=k8s-node-3," ] && [ "$h3" = ",host=$(hostname)," ]; then
	pass $T_HOST
else
	fail $T_HOST "--host gave '$h1', NODE_NAME '$h2', neither '$h3' (hostname $(hostname))"
fi

# --- Carbon on simulated energy ----------------------------------------------------------------
[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null
cp -r "$REPO/tests/fixtures/powercap/amd-epyc" "$TMP/pc"
"$SIM" --root "$TMP/pc" intel-rapl:0=const:25 intel-rapl:1=const:40 >"$TMP/sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS+=("$SIM_PID")
for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done

"$BPFMETER" --csv -i 0.3 -d 3 -e '' --powercap-root "$TMP/pc" --carbon-intensity 400 >"$TMP/c.csv" 2>"$TMP/c.err"
rc=$?
read -r n bad empty <<<"$(check_co2e "$TMP/c.csv" 400)"
energy_rows=$(awk -F, -v k="$(csv_col "$TMP/c.csv" kind)" 'NR > 1 && $k == "energy"' "$TMP/c.csv" | wc -l)
echo "    $n rows with energy ($energy_rows of them measured), $bad wrong, $empty without co2e_g"
if [ $rc -eq 0 ] && [ "$n" -ge 30 ] && [ "$energy_rows" -ge 18 ] && [ "$bad" -eq 0 ] && [ "$empty" -eq 0 ]; then
	pass $T_CSV
else
	fail $T_CSV "rc $rc: $n rows with energy, $bad wrong, $empty empty: $(head -c 300 "$TMP/c.err")"
fi

# Values that start 4 s from now and change 1 s later: before the first none, then each
# interval the last value at or before its end (line protocol: its nanosecond timestamp). The
# session's start (its BPF load, slower under the sanitizers on a busy host) comes before t0.
t0=$(($(date +%s) + 4))
printf 'timestamp,g_per_kwh\n%d,300\n%d,600\n' "$t0" $((t0 + 1)) >"$TMP/ci.csv"
"$BPFMETER" -i 0.25 -d 6.5 -e '' --powercap-root "$TMP/pc" --carbon-intensity-file "$TMP/ci.csv" \
	-o influx:"$TMP/ci.lp" >/dev/null 2>"$TMP/ci.err"
rc=$?
res=$(awk -v t0="$t0" '
	/ energy_j=/ {
		ts = $NF; s = substr(ts, 1, length(ts) - 9) + 0
		want = s < t0 ? 0 : s < t0 + 1 ? 300 : 600
		j = $0; sub(/.*energy_j=/, "", j); sub(/,.*/, "", j)
		has = match($0, /co2e_g=[^, ]*/)
		g = has ? substr($0, RSTART + 7, RLENGTH - 7) : ""
		seen[want]++
		if (!want) { if (has) bad++; next }
		d = g - j * want / 3.6e6; if (d < 0) d = -d
		if (!has || d > 1e-12 * (g > 0 ? g : 1)) bad++
	}
	END { printf "%d %d %d %d", seen[0], seen[300], seen[600], bad + 0 }' "$TMP/ci.lp")
read -r none at300 at600 bad <<<"$res"
echo "    points: $none before the first value, $at300 at 300 g/kWh, $at600 at 600, $bad wrong"
if [ $rc -eq 0 ] && [ "$none" -ge 2 ] && [ "$at300" -ge 4 ] && [ "$at600" -ge 4 ] && [ "$bad" -eq 0 ]; then
	pass $T_FILE
else
	fail $T_FILE "rc $rc: $none/$at300/$at600 points before/300/600, $bad wrong: $(head -c 300 "$TMP/ci.err")"
fi

# bpfmeter --carbon-intensity 400 -- CMD: grams of the command's package energy and the host's.
"$BPFMETER" --carbon-intensity 400 -e '' --powercap-root "$TMP/pc" -- stress-ng --cpu 1 --timeout 2 --quiet \
	>/dev/null 2>"$TMP/cmd.err"
rc=$?
res=$(awk '
	$2 == "J" && $3 == "package" { j = $1; h = $0; sub(/.*host /, "", h); sub(/ J.*/, "", h) }
	$2 == "g" && $3 == "CO2e" { g = $1; hg = $0; sub(/.*host /, "", hg); sub(/ g.*/, "", hg)
		est = index($0, "(estimate from --carbon-intensity 400 g/kWh)") > 0 }
	END { d = g - j * 400 / 3.6e6; if (d < 0) d = -d; e = hg - h * 400 / 3.6e6; if (e < 0) e = -e
	      printf "%s %s %s %d %d", j, g, hg, est, (g != "" && j > 0 && d < 1.5e-6 && e < 1.5e-6) }' "$TMP/cmd.err")
read -r j g hg est ok <<<"$res"
"$BPFMETER" --csv --carbon-intensity 400 -e '' --powercap-root "$TMP/pc" -- sleep 0.5 >/dev/null 2>"$TMP/cmdcsv.err"
rc2=$?
csvok=$(grep -A1 '^command,' "$TMP/cmdcsv.err" | awk -F, '
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{ d = $c["co2e_g"] - $c["package_energy_j"] * 400 / 3.6e6; e = $c["host_co2e_g"] - $c["host_package_energy_j"] * 400 / 3.6e6
	  print (c["co2e_g"] && $c["host_co2e_g"] > 0 && d * d < 1e-18 && e * e < 1e-18) }')
echo "    stress-ng: $j J package, $g g CO2e; host $hg g"
if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ "$ok" = 1 ] && [ "$est" = 1 ] && [ "$csvok" = 1 ]; then
	pass $T_CMD
else
	fail $T_CMD "rc $rc/$rc2, csv ok '$csvok': $(grep -E 'package|CO2e' "$TMP/cmd.err" | head -c 400)"
fi
kill -TERM "$SIM_PID"
wait "$SIM_PID"

rerun_unprivileged
