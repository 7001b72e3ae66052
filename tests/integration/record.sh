#!/usr/bin/env bash
# --record and bpfmeter replay: a live session on real cgroups with simulated RAPL energy,
# recorded, then replayed through the same code: the same CSV and line protocol to the byte.
# The session needs root; the replays do not. Run as root, the replays run again as nobody on
# its recording; run without root, on the recording in tests/data, with no live session to
# compare with.
set -u
. "$(dirname "$0")/../lib.sh"

T_SAME=record/replay_gives_the_live_csv_and_line_protocol_exactly_from_gzip_too
T_MODEL=record/the_replayed_session_went_through_the_model
T_SUM=record/replay_summary_keeps_a_removed_cgroup_with_its_cpu_time
T_OVR=record/replay_with_idle_share_changes_the_split_and_conserves_energy
T_EXIST=record/an_existing_file_is_never_overwritten
T_BAD=record/a_truncated_recording_gets_one_error_and_no_output
T_OPT=record/replay_refuses_options_that_change_what_was_measured
T_REN=record/a_target_renamed_midway_replays_under_its_newest_name
T_NOTGT=record/an_interval_without_target_rows_replays_with_its_energy
T_ORDER=record/a_gone_row_before_the_settings_is_one_error
T_MODE=record/a_recording_is_made_0640
T_FULL=record/a_full_disk_cuts_the_recording_to_whole_intervals_that_replay_plain_and_gzip

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$REPO/.output/rapl-sim
rec=$TMP/rec.csv
# The CSV the replays with other settings are compared with: the live session's when there is one.
ref=$TMP/live.csv
if root_only $T_SAME $T_MODEL $T_FULL $T_MODE; then
	from=session
	[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null
	a=$(make_cgroup a)
	b=$(make_cgroup b)
	c=$(make_cgroup c)
	cp -r "$REPO/tests/fixtures/powercap/amd-epyc" "$TMP/pc"
	"$SIM" --root "$TMP/pc" intel-rapl:0=load:15:10:"$CG_BASE" intel-rapl:1=const:20 \
		>"$TMP/sim.out" 2>&1 &
	BG_PIDS+=("$!")
	for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done

	start_bpfmeter "$TMP/live.csv" "$TMP/live.err" --csv -i 0.5 -e cpu-clock,context-switches \
		--powercap-root "$TMP/pc" -o "influx:$TMP/live.lp" --record "$rec"
	run_in_cgroup "$a" stress-ng --cpu 1 --cpu-load 60 --timeout 13s --quiet
	run_in_cgroup "$b" stress-ng --cpu 1 --cpu-load 25 --timeout 13s --quiet
	run_in_cgroup "$c" stress-ng --cpu 1 --cpu-load 40 --timeout 4s --quiet
	wait "$BG_PID"
	sleep 0.3
	rmdir "$c"
	wait "${BG_PIDS[@]:2:2}"
	stop_bpfmeter
	rc=$?
	ta=$(target_of "$a")
	tc=$(target_of "$c")
	printf 'ta=%q\ntc=%q\n' "$ta" "$tc" >"$TMP/names.sh"
elif [ -n "${UNPRIV_HANDOFF:-}" ] && [ -e "$UNPRIV_HANDOFF/rec.csv" ]; then
	# The run as root's session and recording, replayed here without root.
	from=handoff
	cp "$UNPRIV_HANDOFF/rec.csv" "$UNPRIV_HANDOFF/live.csv" "$UNPRIV_HANDOFF/live.lp" "$TMP/"
	# shellcheck disable=SC1091
	. "$UNPRIV_HANDOFF/names.sh"
	rc=0
else
	# No session: the recording in tests/data, its cgroups a, b and c (removed midway).
	from=data
	cp "$REPO/tests/data/recording-three-cgroups.csv" "$rec"
	ta=/fixture/a
	tc=/fixture/c
	ref=$TMP/replayed.csv
	"$BPFMETER" replay "$rec" --csv >"$ref" 2>"$TMP/replayed.err"
fi

# The recording gzip'd replays alike (a live --record FILE.gz is written so).
if [ $from != data ]; then
	gzip -c "$rec" >"$TMP/rec.csv.gz"
	"$BPFMETER" replay "$TMP/rec.csv.gz" -o "csv:$TMP/rep.csv" -o "influx:$TMP/rep.lp" 2>"$TMP/rep.err"
	rrc=$?
	if [ "$rc" -ne 0 ] || [ "$rrc" -ne 0 ]; then
		fail $T_SAME "live exit $rc, replay exit $rrc: $(head -c 300 "$TMP/live.err" "$TMP/rep.err")"
	elif ! cmp -s "$TMP/live.csv" "$TMP/rep.csv"; then
		fail $T_SAME "the CSV differs: $(diff "$TMP/live.csv" "$TMP/rep.csv" | head -n 4)"
	elif ! cmp -s "$TMP/live.lp" "$TMP/rep.lp"; then
		fail $T_SAME "the line protocol differs: $(diff "$TMP/live.lp" "$TMP/rep.lp" | head -n 4)"
	else
		pass $T_SAME
		echo "    $(grep -c . "$TMP/live.csv") CSV lines, $(grep -c . "$TMP/live.lp") points, $(grep -c '^interval,' "$rec") intervals recorded"
	fi
fi

# Energy per interval is a side channel (Platypus): root's and a group's only.
if [ $from = session ]; then
	m=$(stat -c %a "$rec")
	if [ "$m" = 640 ]; then
		pass $T_MODE
	else
		fail $T_MODE "the recording's mode is $m"
	fi
fi

# A disk that fills while recording: one warning, the recording cut back to its last whole
# interval, which replays (gzip'd too) to what the live session wrote for those intervals.
if [ $from = session ]; then
	why=
	for f in full.csv full.csv.gz; do
		unshare -m bash -c "mkdir -p '$TMP/tiny' && mount -t tmpfs -o size=8k none '$TMP/tiny' &&
			'$BPFMETER' -i 0.02 -d 3 -e cpu-clock --powercap-root '$TMP/pc' \
				-o csv:'$TMP/$f.live' --record '$TMP/tiny/$f' 2>'$TMP/$f.err';
			cp '$TMP/tiny/$f' '$TMP/$f'" >/dev/null
		"$BPFMETER" replay "$TMP/$f" -o csv:"$TMP/$f.rep" 2>"$TMP/$f.reperr"
		frc=$?
		n=$(grep -c '^' "$TMP/$f.rep" 2>/dev/null)
		warned=$(grep -c "cannot write the recording $TMP/tiny/$f: No space left on device" "$TMP/$f.err")
		if [ "$frc" -ne 0 ] || [ "$warned" -ne 1 ] || [ "${n:-0}" -lt 3 ] ||
			! head -n "$n" "$TMP/$f.live" | cmp -s - "$TMP/$f.rep"; then
			why="$why$f: replay exit $frc, $warned warnings, $n lines replayed$(head -n "${n:-0}" "$TMP/$f.live" | cmp -s - "$TMP/$f.rep" || echo ', not the live rows'): $(head -c 200 "$TMP/$f.reperr"); "
		fi
	done
	if [ -z "$why" ]; then
		pass $T_FULL
	else
		fail $T_FULL "$why"
	fi
fi

# The session went through the model (a check of the session, made in the run as root).
if [ $from = session ]; then
	est=$(csv_col "$TMP/live.csv" estimate)
	nmodel=$(awk -F, -v e="$est" '$3 == "target" && $e == "model"' "$TMP/live.csv" | wc -l)
	if [ "$nmodel" -gt 10 ]; then
		pass $T_MODEL
	else
		fail $T_MODEL "only $nmodel rows split by the model in the live session"
	fi
fi

# The live view's summary, replayed on a terminal: the removed cgroup c is in it with the CPU
# time the intervals gave it.
want=$(awk -F, -v t="$tc" -v k="$(csv_col "$ref" cpu_ns)" \
	'$3 == "target" && $4 == t && $7 == "package" { s += $k } END { printf "%.1f", s / 1e9 }' "$ref")
script -qec "$BPFMETER replay $rec" /dev/null >"$TMP/view.txt" 2>&1
got=$(sed -n '/Session summary/,$p' "$TMP/view.txt" | awk -v t="$tc" '$1 == t { print $2 }')
if grep -q "^gone,.*" "$rec" && [ -n "$got" ] && [ "$got" = "$want" ]; then
	pass $T_SUM
else
	fail $T_SUM "want $tc with $want CPU s in the summary, got '$got' (gone rows: $(grep -c '^gone,' "$rec"))"
fi

"$BPFMETER" replay "$rec" --idle share -o "csv:$TMP/share.csv" 2>"$TMP/share.err"
res=$(awk -F, -v k="$(csv_col "$TMP/share.csv" kind)" -v ej="$(csv_col "$TMP/share.csv" energy_j)" \
	-v so="$(csv_col "$TMP/share.csv" socket)" -v ts="$(csv_col "$TMP/share.csv" timestamp)" '
	NR == 1 { next }
	$k == "target" { got[$ts "/" $so] += $ej }
	$k == "energy" { want[$ts "/" $so] = $ej }
	END {
		# Socket 1 of the fixture has no online CPU: nothing runs there to charge.
		for (i in want) { if (!(i in got)) continue; n++; d = got[i] - want[i]; if (d < 0) d = -d; if (d > 1e-4 * want[i] + 1e-5) bad++ }
		printf "%d %d", n, bad
	}' "$TMP/share.csv")
if ! cmp -s "$TMP/share.csv" "$ref" && [ "${res#* }" = 0 ] && [ "${res% *}" -gt 15 ]; then
	pass $T_OVR
else
	fail $T_OVR "intervals, not conserved: $res; $(head -c 200 "$TMP/share.err")"
fi

sum=$(md5sum <"$rec")
out=$("$BPFMETER" --record "$rec" -d 1 --csv 2>&1 >/dev/null)
erc=$?
if [ "$erc" -eq 2 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] && grep -q "exists" <<<"$out" &&
	[ "$(md5sum <"$rec")" = "$sum" ]; then
	pass $T_EXIST
else
	fail $T_EXIST "exit $erc: $out"
fi

head -c -7 "$rec" >"$TMP/cut.csv"
line=$(wc -l <"$TMP/cut.csv")
out=$("$BPFMETER" replay "$TMP/cut.csv" -o "csv:$TMP/cut-out.csv" 2>&1)
brc=$?
if [ "$brc" -eq 2 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] &&
	grep -q "cut.csv:$((line + 1)):.*truncated" <<<"$out" && [ ! -e "$TMP/cut-out.csv" ]; then
	pass $T_BAD
else
	fail $T_BAD "exit $brc, output file $([ -e "$TMP/cut-out.csv" ] && echo made || echo absent): $out"
fi

out=$("$BPFMETER" replay "$rec" -e cycles 2>&1)
orc=$?
if [ "$orc" -eq 2 ] && grep -q -- "-e does not apply" <<<"$out"; then
	pass $T_OPT
else
	fail $T_OPT "exit $orc: $out"
fi

# A cgroup renamed while recorded: its rows after the rename carry the new name.
awk -F, -v OFS=, -v t="$ta" '$1 == "interval" { n++ } $1 == "target" && $6 == t && n > 10 { $6 = t "-renamed" } { print }' \
	"$rec" >"$TMP/ren.csv"
"$BPFMETER" replay "$TMP/ren.csv" -o "csv:$TMP/ren-out.csv" 2>"$TMP/ren.err"
nrc=$?
if [ "$nrc" -eq 0 ] && grep -q ",$ta-renamed," "$TMP/ren-out.csv" && grep -q ",$ta," "$TMP/ren-out.csv"; then
	pass $T_REN
else
	fail $T_REN "exit $nrc: $(head -c 300 "$TMP/ren.err")"
fi

# An interval without a target row: its energy is reported, measured, nothing attributed;
# the sanitizer build once aborted there (qsort of no rows).
printf '%s\n' 'kind,ts_ns,interval_s,socket,id,name,value,cpu_ns' \
	'meta,,,,,format,bpfmeter-recording-1,' 'meta,,,,,sockets,1,' \
	'meta,,,,,energy_source,powercap,' 'meta,,,,,domains,package,' \
	'interval,1000000000,1,,,,0,' 'energy,1000000000,1,0,,package,3,' \
	'interval,2000000000,1,,,,0,' 'energy,2000000000,1,0,,package,3,' \
	'target,2000000000,1,0,0,idle,,500000000' >"$TMP/notgt.csv"
"$BPFMETER" replay "$TMP/notgt.csv" --csv >"$TMP/notgt-out.csv" 2>"$TMP/notgt.err"
nrc=$?
if [ "$nrc" -eq 0 ] && grep -q '^1\.000,1\.000000,energy,,,0,package,,,3\.000000,3\.000000,,measured,' "$TMP/notgt-out.csv" &&
	[ "$(grep -c '^[^,]*,[^,]*,target,' "$TMP/notgt-out.csv")" -eq 1 ]; then
	pass $T_NOTGT
else
	fail $T_NOTGT "exit $nrc: $(head -c 300 "$TMP/notgt.err") $(head -c 600 "$TMP/notgt-out.csv")"
fi

# Rows before the settings they are read with (replay once ran with 0 sockets and wrote past
# its readings): one FILE:LINE:COLUMN error, exit 2, no output.
printf '%s\n' 'kind,ts_ns,interval_s,socket,id,name,value,cpu_ns' \
	'meta,,,,,format,bpfmeter-recording-1,' 'gone,,,,7,,,' 'meta,,,,,sockets,1,' \
	'interval,1000000000,1,,,,0,' 'energy,1000000000,1,0,,package,3,' >"$TMP/order.csv"
"$BPFMETER" replay "$TMP/order.csv" --csv >"$TMP/order-out.csv" 2>"$TMP/order.err"
nrc=$?
if [ "$nrc" -eq 2 ] && [ ! -s "$TMP/order-out.csv" ] &&
	grep -qx "bpfmeter: $TMP/order.csv:3:1: a gone row before the meta sockets and event rows" "$TMP/order.err"; then
	pass $T_ORDER
else
	fail $T_ORDER "exit $nrc: $(head -c 300 "$TMP/order.err")"
fi

[ $from != session ] || set -- "$rec" "$TMP/live.csv" "$TMP/live.lp" "$TMP/names.sh"
rerun_unprivileged "$@"
