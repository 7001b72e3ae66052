#!/usr/bin/env bash
# The model state across restarts (--state-dir) on a simulated package drawing 60 W + 10 W per
# busy CPU-second: a session that fitted leaves its models at exit; a restart under the same
# settings splits by them from its first interval, and its new fits get ids above theirs;
# other settings, a damaged file or a directory that cannot be made are one warning each and
# measuring goes on as without a state.
set -u
. "$(dirname "$0")/../lib.sh"

T_SAVED=state/saved_at_sigterm_not_before_with_its_fitted_models
T_RELOAD=state/a_restart_splits_by_the_loaded_model_from_its_first_interval
T_IDS=state/fits_after_a_reload_get_ids_above_the_loaded_ones
T_REC=state/a_recorded_session_starts_afresh_and_keeps_no_state_so_it_replays_alike
T_OTHER=state/other_settings_are_one_warning_naming_them_and_a_provisional_start
T_BAD=state/a_damaged_or_truncated_state_is_one_warning_and_exit_0
T_LOCK=state/a_second_bpfmeter_on_the_dir_reads_it_but_keeps_nothing
T_UNWR=state/a_state_dir_that_cannot_be_made_is_one_warning_and_measuring_goes_on
T_OFF=state/an_empty_state_dir_reads_and_writes_nothing
T_MODE=state/the_state_file_is_made_0600
need_root_and_cgroup2 $T_SAVED $T_RELOAD $T_REC $T_IDS $T_OTHER $T_BAD $T_LOCK $T_UNWR $T_OFF $T_MODE

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$REPO/.output/rapl-sim
[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null

# The package draws a constant power: what this test checks is what the models are after a
# restart, not how well they follow a load (model.sh does that); and a power that follows the
# test's own load is fitted badly, or not at all, where other work keeps the CPUs busy (the
# model counts that CPU time, the simulator would not).
a=$(make_cgroup a)
st=$TMP/st
file=$st/model.state
cp -r "$REPO/tests/fixtures/powercap/amd-epyc" "$TMP/pc"

# start_sim W: the package draws W watts from now on.
start_sim() {
	[ -z "${SIM_PID:-}" ] || { kill -TERM "$SIM_PID"; wait "$SIM_PID"; }
	"$SIM" --root "$TMP/pc" intel-rapl:0=const:"$1" intel-rapl:1=const:20 >"$TMP/sim.out" 2>&1 &
	SIM_PID=$!
	BG_PIDS+=("$SIM_PID")
	for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done
}

# first_interval CSV: "N ESTIMATES MODEL_IDS PREDICTED" of the first interval's socket 0
# package rows: the number of target rows, their estimates and model ids (sorted, unique),
# and the energy row's prediction.
first_interval() {
	awk -F, -v k="$(csv_col "$1" kind)" -v ts="$(csv_col "$1" timestamp)" \
		-v so="$(csv_col "$1" socket)" -v d="$(csv_col "$1" domain)" \
		-v e="$(csv_col "$1" estimate)" -v m="$(csv_col "$1" model_id)" \
		-v p="$(csv_col "$1" predicted_w)" '
		NR == 2 { t0 = $ts }
		NR < 2 || $ts != t0 || $so != 0 || $d != "package" { next }
		$k == "target" { n++; est[$e] = 1; ids[$m] = 1 }
		$k == "energy" { pred = $p == "" ? "none" : $p }
		END { for (x in est) es = es (es ? ";" : "") x; for (x in ids) is = is (is ? ";" : "") x
		      printf "%d %s %s %s", n, es ? es : "-", is ? is : "-", pred ? pred : "-" }' "$1"
}

next_id() {
	awk '$1 == "next_id" { print $2 }' "$1"
}

warnings() {
	grep -c 'warning' "$1"
}

# --- 1: a session that fits, stopped by SIGTERM -------------------------------------------
start_sim 60
start_bpfmeter "$TMP/1.csv" "$TMP/1.err" --csv -i 0.5 -e '' --powercap-root "$TMP/pc" --state-dir "$st"
run_in_cgroup "$a" stress-ng --cpu 1 --cpu-load 40 --timeout 7s --quiet
sleep 6.5
# Saved at most once a minute: not yet.
early=$([ -e "$file" ] && echo made || echo absent)
kill -TERM "$BPFMETER_PID"
wait "$BPFMETER_PID"
rc=$?
wait "${BG_PIDS[@]:2}"
fitted=$(grep -c '^fit ' "$file" 2>/dev/null)
id1=$(next_id "$file" 2>/dev/null)
last1=$(awk -F, -v k="$(csv_col "$TMP/1.csv" kind)" -v m="$(csv_col "$TMP/1.csv" model_id)" \
	'$k == "energy" && $m > x { x = $m } END { print x + 0 }' "$TMP/1.csv")
echo "    session 1: exit $rc, $(grep -c ',energy,' "$TMP/1.csv") energy rows, state $(wc -c <"$file" 2>/dev/null) bytes, $fitted fitted layers, next_id $id1"
if [ "$rc" -eq 0 ] && [ "$early" = absent ] && [ "${fitted:-0}" -ge 1 ] && [ "${id1:-0}" -ge 1 ] &&
	[ "$id1" = "$last1" ] && [ "$(warnings "$TMP/1.err")" -eq 0 ] && tail -n 1 "$file" | grep -q '^end '; then
	pass $T_SAVED
else
	fail $T_SAVED "exit $rc, state file before the end: $early, fitted layers '${fitted:-}', next_id '${id1:-}' (last model id in the CSV $last1): $(head -c 300 "$TMP/1.err")"
fi

# The models are fitted on energy readings: root's alone.
m=$(stat -c %a "$file" 2>/dev/null)
if [ "$m" = 600 ]; then
	pass $T_MODE
else
	fail $T_MODE "the state file's mode is '$m'"
fi

# --- 2: the same settings, stopped by SIGINT: a loaded model splits the first interval ---
# It predicted the interval (no session without a fit can) and split it with its own id.
run_in_cgroup "$a" stress-ng --cpu 1 --cpu-load 50 --timeout 2.5s --quiet
start_bpfmeter "$TMP/2.csv" "$TMP/2.err" --csv -i 0.5 -e '' --powercap-root "$TMP/pc" --state-dir "$st"
sleep 1.3
stop_bpfmeter
rc=$?
wait "$BG_PID"
read -r n est ids pred <<<"$(first_interval "$TMP/2.csv")"
echo "    session 2, first interval: $n target rows, estimate $est, model id $ids (loaded up to $id1), predicted $pred W"
if [ "$rc" -eq 0 ] && [ "$n" -ge 2 ] && [ "$est" = model ] && [ "$ids" != 0 ] && [ "$ids" != - ] &&
	[ "${ids//;/}" = "$ids" ] && [ "$ids" -le "$id1" ] && [ "$pred" != none ] &&
	grep -q "model state from $file: " "$TMP/2.err" && [ "$(warnings "$TMP/2.err")" -eq 0 ]; then
	pass $T_RELOAD
else
	fail $T_RELOAD "exit $rc; first interval: $n rows, estimate '$est', model ids '$ids' (loaded up to $id1), predicted '$pred': $(head -c 300 "$TMP/2.err")"
fi

# --- 2b: --record: no state read or written, so the replay gives the live rows ----------
sum=$(md5sum <"$file")
run_in_cgroup "$a" stress-ng --cpu 1 --cpu-load 50 --timeout 1.5s --quiet
"$BPFMETER" --csv -i 0.5 -d 1 -e '' --powercap-root "$TMP/pc" --state-dir "$st" --record "$TMP/rec.csv" \
	>"$TMP/rec-live.csv" 2>"$TMP/rec.err"
rc=$?
wait "$BG_PID"
"$BPFMETER" replay "$TMP/rec.csv" --csv >"$TMP/rec-replay.csv" 2>"$TMP/rec-replay.err"
rrc=$?
read -r n est ids pred <<<"$(first_interval "$TMP/rec-live.csv")"
if [ "$rc" -eq 0 ] && [ "$rrc" -eq 0 ] && [ "$est" = provisional ] && [ "$(md5sum <"$file")" = "$sum" ] &&
	cmp -s "$TMP/rec-live.csv" "$TMP/rec-replay.csv" && ! grep -q 'model state' "$TMP/rec.err"; then
	pass $T_REC
else
	fail $T_REC "exit $rc, replay $rrc, first interval estimate '$est', state $([ "$(md5sum <"$file")" = "$sum" ] && echo kept || echo changed), replay $(cmp -s "$TMP/rec-live.csv" "$TMP/rec-replay.csv" && echo same || echo differs): $(cat "$TMP/rec.err")"
fi

# --- 3: the power rose by 20 W while it was down: refitted at once, with a new id ---------
id2=$(next_id "$file")
start_sim 80
"$BPFMETER" --csv -i 0.5 -d 1 -e '' --powercap-root "$TMP/pc" --state-dir "$st" >"$TMP/3.csv" 2>"$TMP/3.err"
rc=$?
read -r n est ids pred <<<"$(first_interval "$TMP/3.csv")"
if [ "$rc" -eq 0 ] && [ "$est" = model ] && [ "$ids" != - ] && [ "${ids//;/}" = "$ids" ] &&
	[ "$ids" -gt "$id2" ] && [ "$(next_id "$file")" -gt "$id2" ]; then
	pass $T_IDS
else
	fail $T_IDS "exit $rc; loaded ids up to $id2; first interval: estimate '$est', model ids '$ids'; saved next_id $(next_id "$file")"
fi

# --- 4: other settings: one warning naming them, and the first interval provisional ------
sum=$(md5sum <"$file")
run_in_cgroup "$a" stress-ng --cpu 1 --cpu-load 50 --timeout 2s --quiet
"$BPFMETER" --csv -i 0.5 -d 1 -e '' --model-window 30 --powercap-root "$TMP/pc" --state-dir "$st" \
	>"$TMP/4.csv" 2>"$TMP/4.err"
rc=$?
wait "$BG_PID"
read -r n est ids pred <<<"$(first_interval "$TMP/4.csv")"
if [ "$rc" -eq 0 ] && [ "$est" = provisional ] && [ "$ids" = 0 ] && [ "$(warnings "$TMP/4.err")" -eq 1 ] &&
	grep -q "warning: model state $file not used: .*model_window 60 (here 30)" "$TMP/4.err" &&
	[ "$(md5sum <"$file")" != "$sum" ] && grep -q '^model_window 30$' "$file"; then
	pass $T_OTHER
else
	fail $T_OTHER "exit $rc; first interval: estimate '$est', model ids '$ids'; $(cat "$TMP/4.err")"
fi

# --- 5: a damaged file, then a truncated one: one warning each, exit 0, measured ---------
ok=1 detail=
for damage in flip cut; do
	if [ $damage = flip ]; then
		# One digit of the first sample changed: the checksum no longer matches.
		sed -i '0,/^sample /s/^\(sample [0-9]*\)\([0-9]\)/\1x/' "$file"
		want="damaged: its checksum"
	else
		head -c 200 "$file" >"$TMP/cut" && cat "$TMP/cut" >"$file"
		want="truncated"
	fi
	"$BPFMETER" --csv -i 0.5 -d 1 -e '' --model-window 30 --powercap-root "$TMP/pc" --state-dir "$st" \
		>"$TMP/5.csv" 2>"$TMP/5.err"
	rc=$?
	read -r n est ids pred <<<"$(first_interval "$TMP/5.csv")"
	if [ "$rc" -ne 0 ] || [ "$est" != provisional ] || [ "$(warnings "$TMP/5.err")" -ne 1 ] ||
		! grep -q "model state $file not used: $want" "$TMP/5.err" || ! tail -n 1 "$file" | grep -q '^end '; then
		ok=0 detail+="$damage: exit $rc, estimate '$est': $(cat "$TMP/5.err"); "
	fi
done
[ $ok = 1 ] && pass $T_BAD || fail $T_BAD "$detail"

# --- 5b: two at once: the second loads the state, and leaves it to the first -------------
start_bpfmeter "$TMP/l1.csv" "$TMP/l1.err" --csv -i 0.5 -e '' --model-window 30 --powercap-root "$TMP/pc" \
	--state-dir "$st"
sum=$(md5sum <"$file")
"$BPFMETER" --csv -i 0.5 -d 1 -e '' --model-window 30 --powercap-root "$TMP/pc" --state-dir "$st" \
	>"$TMP/l2.csv" 2>"$TMP/l2.err"
rc=$?
kept=$([ "$(md5sum <"$file")" = "$sum" ] && echo kept || echo changed)
stop_bpfmeter
rc1=$?
if [ "$rc" -eq 0 ] && [ "$rc1" -eq 0 ] && [ "$kept" = kept ] && [ "$(md5sum <"$file")" != "$sum" ] &&
	grep -q "model state from $file" "$TMP/l2.err" && [ "$(warnings "$TMP/l2.err")" -eq 1 ] &&
	grep -q "cannot keep the model state: $st is in use by another bpfmeter; measuring goes on" "$TMP/l2.err" &&
	[ "$(warnings "$TMP/l1.err")" -eq 0 ]; then
	pass $T_LOCK
else
	fail $T_LOCK "exits $rc1 and $rc, the state $kept by the second: $(cat "$TMP/l1.err" "$TMP/l2.err")"
fi

# --- 6: a state dir below a file: one warning, every interval measured all the same ------
touch "$TMP/afile"
"$BPFMETER" --csv -i 0.5 -d 1.5 -e '' --powercap-root "$TMP/pc" --state-dir "$TMP/afile/state" \
	>"$TMP/6.csv" 2>"$TMP/6.err"
rc=$?
nenergy=$(grep -c ',energy,' "$TMP/6.csv")
if [ "$rc" -eq 0 ] && [ "$nenergy" -ge 3 ] && [ "$(warnings "$TMP/6.err")" -eq 1 ] &&
	grep -q "cannot keep the model state: cannot create $TMP/afile/state: Not a directory; measuring goes on" "$TMP/6.err"; then
	pass $T_UNWR
else
	fail $T_UNWR "exit $rc, $nenergy energy rows: $(cat "$TMP/6.err")"
fi

# --- 7: --state-dir '': the default's state neither read nor replaced --------------------
sum=$(md5sum <"$file")
BPFMETER_STATE_DIR=$st "$BPFMETER" --csv -i 0.5 -d 1 -e '' --model-window 30 --powercap-root "$TMP/pc" \
	--state-dir '' >"$TMP/7.csv" 2>"$TMP/7.err"
rc=$?
read -r n est ids pred <<<"$(first_interval "$TMP/7.csv")"
kept=$([ "$(md5sum <"$file")" = "$sum" ] && echo kept || echo changed)
# And with the default from the environment, it is read.
BPFMETER_STATE_DIR=$st "$BPFMETER" --csv -i 0.5 -d 0.5 -e '' --model-window 30 --powercap-root "$TMP/pc" \
	>/dev/null 2>"$TMP/7b.err"
if [ "$rc" -eq 0 ] && [ "$est" = provisional ] && [ "$kept" = kept ] &&
	! grep -q 'model state' "$TMP/7.err" && grep -q "model state from $file" "$TMP/7b.err"; then
	pass $T_OFF
else
	fail $T_OFF "exit $rc, estimate '$est', file $kept: $(cat "$TMP/7.err" "$TMP/7b.err")"
fi
kill -TERM "$SIM_PID"
wait "$SIM_PID"
