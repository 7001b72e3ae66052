#!/usr/bin/env bash
# bpfmeter -- CMD: a cgroup of its own, the sudo caller's uid, CMD's exit status, signals.
set -u
. "$(dirname "$0")/../lib.sh"

T_CPU=command/cpu_time_matches_its_cgroup_cpu_stat
T_EXIT=command/exit_status_passed_on
T_UID=command/runs_as_sudo_caller_without_root
T_SIG=command/sigterm_forwarded_to_the_command
T_GONE=command/cgroup_removed_after
T_MISS=command/missing_command_exit_127
T_KILL=command/after_kill_9_the_next_start_names_then_removes_the_cgroup_left
need_root_and_cgroup2 $T_CPU $T_EXIT $T_UID $T_SIG $T_GONE $T_MISS $T_KILL

# The command prints its own cgroup's usage_usec as its last act: the kernel's truth (the
# scheduler's runtime, as bpfmeter's: both leave out the time the hypervisor stole).
"$BPFMETER" --csv -e '' -- sh -c "stress-ng --cpu 1 --timeout 3 --quiet; cat '$CG_MOUNT'\$(awk -F: '\$1 == 0 { print \$3 }' /proc/self/cgroup)/cpu.stat" \
	>"$TMP/out" 2>"$TMP/err"
rc=$?
usage=$(awk '$1 == "usage_usec" { print $2 }' "$TMP/out")
cpu_s=$(awk -F, 'NR > 1 && /stress-ng/ { print $4 }' <(grep -A1 '^command,' "$TMP/err"))
if [ $rc -eq 0 ] && [ -n "$usage" ] && [ -n "$cpu_s" ] &&
	within "$(awk -v c="$cpu_s" 'BEGIN { printf "%.0f", c * 1e6 }')" "$usage" 2; then
	pass $T_CPU
else
	fail $T_CPU "rc $rc, bpfmeter ${cpu_s:-?} s, cpu.stat ${usage:-?} us: $(head -c 300 "$TMP/err")"
fi
echo "    bpfmeter ${cpu_s:-?} s, cpu.stat usage_usec ${usage:-?}"

"$BPFMETER" -e '' -- sh -c 'exit 7' >/dev/null 2>&1
rc1=$?
"$BPFMETER" -e '' -- sh -c 'kill -KILL $$' >/dev/null 2>&1
rc2=$?
[ $rc1 -eq 7 ] && [ $rc2 -eq 137 ] && pass $T_EXIT || fail $T_EXIT "exit 7 gave $rc1, SIGKILL gave $rc2 (want 137)"

ids=$(SUDO_UID=65534 SUDO_GID=65534 "$BPFMETER" -e '' -- sh -c 'echo $(id -u) $(id -g) $(id -G)' 2>/dev/null)
[ "$ids" = "65534 65534 65534" ] && pass $T_UID || fail $T_UID "uid gid groups: '$ids'"

"$BPFMETER" -e '' -- sleep 30 >/dev/null 2>"$TMP/sig.err" &
bm=$!
BG_PIDS+=("$bm")
sleep 1
kill -TERM "$bm"
t0=$(date +%s%N)
wait "$bm"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 143 ] && [ $ms -lt 3000 ] && grep -q "exit status 143" "$TMP/sig.err" &&
	pass $T_SIG || fail $T_SIG "exit $rc after ${ms} ms: $(tail -n 3 "$TMP/sig.err")"

left=$(find "$CG_MOUNT" -maxdepth 1 -name "bpfmeter-cmd-*" | wc -l)
[ "$left" -eq 0 ] && pass $T_GONE || fail $T_GONE "$left command cgroups left under $CG_MOUNT"

"$BPFMETER" -e '' -- /nonexistent/cmd >/dev/null 2>"$TMP/miss.err"
rc=$?
[ $rc -eq 127 ] && grep -q "cannot run /nonexistent/cmd" "$TMP/miss.err" && pass $T_MISS ||
	fail $T_MISS "rc $rc: $(cat "$TMP/miss.err")"

# bpfmeter killed outright leaves its command's cgroup (and the command, which runs on): the
# next bpfmeter names the cgroup while the command still runs there, and removes it once the
# command has ended, saying so each time.
"$BPFMETER" -e '' -- sleep 60 >/dev/null 2>"$TMP/kill.err" &
bm=$!
for i in $(seq 50); do
	cmd=$(pgrep -P "$bm" -x sleep) && break
	sleep 0.1
done
kill -KILL "$bm"
wait "$bm" 2>/dev/null
left=$CG_MOUNT/bpfmeter-cmd-$bm
"$BPFMETER" -e '' -- true >/dev/null 2>"$TMP/busy.err"
rc1=$?
[ -n "$cmd" ] && kill -KILL "$cmd" 2>/dev/null
sleep 0.3
"$BPFMETER" -e '' -- true >/dev/null 2>"$TMP/next.err"
rc2=$?
if [ -n "$cmd" ] && [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ ! -d "$left" ] &&
	grep -q "the cgroup $left of bpfmeter -- CMD, left by process $bm, which is gone, cannot be removed" "$TMP/busy.err" &&
	grep -q "removed the cgroup $left of bpfmeter -- CMD, left by process $bm, which is gone" "$TMP/next.err"; then
	pass $T_KILL
else
	rmdir "$left" 2>/dev/null
	fail $T_KILL "command pid ${cmd:-none}, exits $rc1 $rc2: $(grep -v '^libbpf' "$TMP/busy.err" "$TMP/next.err" | head -c 400)"
fi
