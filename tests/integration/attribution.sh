#!/usr/bin/env bash
# CPU-time attribution against the kernel's own cpu.stat, with real load in real cgroups.
set -u
. "$(dirname "$0")/../lib.sh"

T_MATCH=attribution/cgroups_match_cpu_stat
T_PINNED=attribution/pinned_never_switching_charged_every_interval
T_TOTAL=attribution/all_targets_sum_to_cpus_times_elapsed
T_EXIT=attribution/bpfmeter_exits_cleanly_on_sigint
T_STEAL=attribution/steal_row_matches_proc_stat
need_root_and_cgroup2 $T_MATCH $T_PINNED $T_TOTAL $T_EXIT $T_STEAL
# Run again by tests/run.sh with BPFMETER_DISABLE=tp_btf,test_run,batch: the fallbacks for
# older kernels. Without the interval flush a CPU's running slice is charged at its next
# switch, so the per-interval checks (2, 3) do not hold there, by design: only 1 is made.
no_flush=0
[[ ",${BPFMETER_DISABLE:-}," == *,test_run,* ]] && no_flush=1

ncpu=$(nproc)
last=$((ncpu - 1))
a=$(make_cgroup a)
b=$(make_cgroup b)
p=$(make_cgroup pinned)
out=$TMP/out.csv

# bpfmeter and the switching loads share CPU 0..n-2; the pinned process has CPU n-1 alone.
others=0
[ "$last" -gt 0 ] && others=0-$((last - 1))
# The kernel's steal time of all CPUs, in ns (/proc/stat counts USER_HZ ticks).
steal_ns() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.0f", $9 * 1e9 / hz }' /proc/stat
}
steal0=$(steal_ns)
if ! start_bpfmeter "$out" "$TMP/err" -i 1 --csv --energy-source none; then
	for t in $T_MATCH $T_PINNED $T_TOTAL $T_STEAL; do fail $t "bpfmeter did not start: $(head -c 300 "$TMP/err")"; done
	exit 1
fi
taskset -pc "$others" "$BPFMETER_PID" >/dev/null
sleep 0.5
run_in_cgroup "$a" taskset -c "$others" stress-ng --cpu 1 --cpu-load 60 --timeout 6s --quiet
run_in_cgroup "$b" taskset -c "$others" stress-ng --cpu 2 --cpu-load 20 --timeout 6s --quiet
run_in_cgroup "$p" taskset -c "$last" stress-ng --cpu 1 --timeout 6s --quiet

wait "${BG_PIDS[@]:1}"
sleep 1.5
stop_bpfmeter
rc=$?
steal1=$(steal_ns)
if [ $rc -eq 0 ] && ! grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$TMP/err"; then
	pass $T_EXIT
else
	fail $T_EXIT "exit status $rc: $(grep -v '^libbpf' "$TMP/err" | head -5)"
fi

c_target=$(csv_col "$out" target)
c_cpu=$(csv_col "$out" cpu_ns)
c_int=$(csv_col "$out" interval_s)
c_ts=$(csv_col "$out" timestamp)

# 1. Each cgroup's CPU time over the run equals cpu.stat's usage_usec within 1%: both are the
# scheduler's runtime, which leaves out what the hypervisor stole.
ok=1 detail=""
for cg in "$a" "$b" "$p"; do
	want=$(usage_usec "$cg")
	got=$(awk -F, -v t="$(target_of "$cg")" -v ct="$c_target" -v cc="$c_cpu" \
		'NR > 1 && $ct == t { s += $cc } END { printf "%.0f", s / 1000 }' "$out")
	detail+="$(basename "$cg"): bpfmeter ${got}us cpu.stat ${want}us; "
	within "$got" "$want" 1 || ok=0
done
echo "    $detail"
[ $ok = 1 ] && pass $T_MATCH || fail $T_MATCH "$detail"

if [ $no_flush = 1 ]; then
	exit 0
fi

# 2. Every full interval of the pinned, never-switching process is charged at least 0.9 s
#    (the first and last intervals of its run are partial).
res=$(awk -F, -v t="$(target_of "$p")" -v ct="$c_target" -v cc="$c_cpu" -v ci="$c_int" \
	'NR > 1 && $ct == t { n++; cpu[n] = $cc; len[n] = $ci }
	 END { bad = 0; full = 0; why = ""
	       for (i = 2; i < n; i++) {
		       full++
		       if (cpu[i] < 0.9 * len[i] * 1e9) { bad++; why = why sprintf("interval %d: %.3f s of %.3f s; ", i, cpu[i] / 1e9, len[i]) }
	       }
	       printf "%d %d %s", full, bad, why }' "$out")
read -r full bad why <<<"$res"
if [ "${full:-0}" -ge 3 ] && [ "$bad" = 0 ]; then
	pass $T_PINNED
else
	fail $T_PINNED "full intervals $full, under 0.9 s: $bad ($why)"
fi

# 3. The stolen time is its own row, "steal", with no share of the energy: over the run it is
#    the kernel's steal time within 20% plus 30 ms a CPU (/proc/stat ticks against the run
#    queue's clock in ns; bpfmeter runs a little shorter than the two readings).
read -r got nrows badshare < <(awk -F, -v ct="$c_target" -v cc="$c_cpu" -v cs="$(csv_col "$out" share)" \
	'NR > 1 && $ct == "steal" { s += $cc; n++; if ($cs + 0 != 0) bad++ } END { printf "%.0f %d %d\n", s, n, bad }' "$out")
want=$((steal1 - steal0))
if [ "$badshare" = 0 ] && awk -v g="$got" -v w="$want" -v n="$ncpu" \
	'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 0.2 * w + 30e6 * n) }' && { [ "$want" -lt 100000000 ] || [ "$nrows" -gt 0 ]; }; then
	pass $T_STEAL
else
	fail $T_STEAL "steal rows $nrows (shares not 0: $badshare), ${got} ns, /proc/stat ${want} ns"
fi
echo "    steal: bpfmeter ${got} ns, /proc/stat ${want} ns"

# 4. All targets, idle and steal included, add up to online CPUs x elapsed time within 1%.
read -r sum_cpu elapsed < <(awk -F, -v cc="$c_cpu" -v ci="$c_int" -v cts="$c_ts" \
	'NR > 1 { s += $cc; if (!($cts in seen)) { seen[$cts] = 1; e += $ci } } END { printf "%.0f %.6f\n", s, e }' "$out")
want=$(awk -v n="$ncpu" -v e="$elapsed" 'BEGIN { printf "%.0f", n * e * 1e9 }')
if within "$sum_cpu" "$want" 1; then
	pass $T_TOTAL
else
	fail $T_TOTAL "sum of cpu_ns $sum_cpu, $ncpu CPUs x ${elapsed}s = $want"
fi
