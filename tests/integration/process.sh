#!/usr/bin/env bash
# --by process: per-process (tgid) attribution with the command name.
set -u
. "$(dirname "$0")/../lib.sh"

T_PROC=process/processes_of_a_cgroup_match_its_cpu_stat
T_NAME=process/named_by_command_and_tgid
T_VIEW=process/live_view_summary_with_many_short_processes
T_OVER=process/full_process_map_says_processes
need_root_and_cgroup2 $T_PROC $T_NAME $T_VIEW $T_OVER

cg=$(make_cgroup procs)
out=$TMP/p.csv
if ! start_bpfmeter "$out" "$TMP/err" --by process -i 1 --csv -e '' --energy-source none; then
	fail $T_PROC "bpfmeter did not start: $(head -c 300 "$TMP/err")"
	fail $T_NAME "bpfmeter did not start"
	exit 1
fi
run_in_cgroup "$cg" stress-ng --cpu 2 --cpu-load 40 --timeout 3s --quiet
sleep 1.5
pids=$(cat "$cg/cgroup.procs" | tr '\n' ' ')
wait "$BG_PID"
sleep 1.2
stop_bpfmeter
want=$(usage_usec "$cg")
got=$(awk -F, -v ct="$(csv_col "$out" target)" -v cc="$(csv_col "$out" cpu_ns)" -v pids=" $pids" '
	NR > 1 { if (match($ct, /\[[0-9]+\]$/)) { p = substr($ct, RSTART + 1, RLENGTH - 2); if (index(pids, " " p " ")) s += $cc } }
	END { printf "%.0f", s / 1000 }' "$out")
echo "    processes $pids: bpfmeter ${got}us, the cgroup's cpu.stat ${want}us"
# Within 1%: both are the scheduler's runtime (stolen time left out).
within "$got" "$want" 1 && pass $T_PROC || fail $T_PROC "bpfmeter ${got}us, cpu.stat ${want}us"
if grep -q ',target,stress-ng[^,]*\[[0-9]*\],,' "$out" && grep -q ',target,idle,' "$out"; then
	pass $T_NAME
else
	fail $T_NAME "no 'stress-ng...[pid]' target with an empty cgroup_id: $(sed -n 2,4p "$out")"
fi

# The live view's summary with --by process while hundreds of processes come and go: every
# row keeps pointing at its own named target (run on the ASan build too, where a row left
# pointing into moved memory is a crash).
if command -v script >/dev/null; then
	view=$(make_cgroup procview)
	run_in_cgroup "$view" sh -c 'i=0; while [ $i -lt 400 ]; do /bin/true; i=$((i + 1)); done; stress-ng --cpu 1 --timeout 1s --quiet'
	script -qec "'$BPFMETER' --by process -d 2.5 -e '' --energy-source none" /dev/null >"$TMP/tty" 2>&1
	rc=$?
	wait "$BG_PID"
	tr -d '\r' <"$TMP/tty" >"$TMP/tty2"
	summary=$(sed -n '/Session summary/,$p' "$TMP/tty2")
	if [ $rc -eq 0 ] && grep -q '^idle ' <<<"$summary" && grep -q '\[[0-9]*\] ' <<<"$summary" &&
		! grep -q 'AddressSanitizer\|runtime error' "$TMP/tty2"; then
		pass $T_VIEW
	else
		fail $T_VIEW "rc $rc: $(tail -c 600 "$TMP/tty2")"
	fi
else
	skip $T_VIEW "script (util-linux) is not installed"
fi

# A full process map: the processes that do not fit go to "overflow", and the warning says
# processes, not cgroups.
ocg=$(make_cgroup procover)
start_bpfmeter "$TMP/ov.csv" "$TMP/ov.err" --by process --max-cgroups 2 -i 1 --csv -e '' --energy-source none
run_in_cgroup "$ocg" sh -c 'for i in 1 2 3 4 5 6; do stress-ng --cpu 1 --cpu-load 20 --timeout 1s --quiet & done; wait'
wait "$BG_PID"
sleep 1.2
stop_bpfmeter
rc=$?
if [ $rc -eq 0 ] && grep -q ',target,overflow,' "$TMP/ov.csv" &&
	[ "$(grep -c 'more than 2 processes ran' "$TMP/ov.err")" -eq 1 ]; then
	pass $T_OVER
else
	fail $T_OVER "rc $rc: $(grep -v '^libbpf' "$TMP/ov.err" | head -5)"
fi
