#!/usr/bin/env bash
# The command line, failure paths and the live view, on the real BPF programs.
set -u
. "$(dirname "$0")/../lib.sh"

TESTS=(cli/help_and_version cli/bad_option_values_exit_2_naming_the_option
	cli/not_root_names_missing_capabilities cli/no_cgroup2_mount_is_a_clear_error
	cli/missing_pmu_events_reported_once_and_left_empty cli/no_kernel_btf_needs_btf_option_then_uses_raw_tp
	cli/bad_btf_file_exit_2 cli/overflow_target_when_map_is_full cli/sigint_reports_last_interval
	cli/terminal_live_view_and_summary cli/removed_cgroup_keeps_name_and_is_freed
	cli/check_lists_features_and_fallbacks cli/check_without_privileges_exits_1)
need_root_and_cgroup2 "${TESTS[@]}"

# --help and --version
if "$BPFMETER" --help | grep -q -- '--interval' && "$BPFMETER" --version | grep -q '^bpfmeter '; then
	pass cli/help_and_version
else
	fail cli/help_and_version "--help or --version output unexpected"
fi

# Bad option values: exit 2 and one line naming the option.
ok=1 detail=
while IFS='|' read -r opt args; do
	# shellcheck disable=SC2086
	"$BPFMETER" $args >"$TMP/o" 2>"$TMP/e"
	rc=$?
	lines=$(wc -l <"$TMP/e")
	if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -q -- "$opt" "$TMP/e" || [ -s "$TMP/o" ]; then
		ok=0
		detail+="[$args: rc $rc, '$(cat "$TMP/e")'] "
	fi
done <<'LIST'
--interval|-i 0
--interval|--interval abc
--duration|-d -5
--events|-e bogus
--events|-e cycles,,instructions
--max-cgroups|--max-cgroups 12x
--nope|--nope
--interval|-i
stray|stray
LIST
[ $ok = 1 ] && pass cli/bad_option_values_exit_2_naming_the_option ||
	fail cli/bad_option_values_exit_2_naming_the_option "$detail"

# Not root: one line naming what is missing, exit 1.
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$BPFMETER" -d 1 >"$TMP/o" 2>"$TMP/e"
	rc=$?
	if [ $rc -eq 1 ] && grep -q 'CAP_BPF' "$TMP/e" && [ "$(wc -l <"$TMP/e")" -eq 1 ]; then
		pass cli/not_root_names_missing_capabilities
	else
		fail cli/not_root_names_missing_capabilities "rc $rc: $(cat "$TMP/e")"
	fi
else
	skip cli/not_root_names_missing_capabilities "setpriv (util-linux) is not installed"
fi

# No cgroup2 mount: hide it in a private mount namespace.
unshare -m bash -c "umount -l '$CG_MOUNT' && exec '$BPFMETER' -d 1" >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ $rc -eq 1 ] && grep -q 'no cgroup2' "$TMP/e"; then
	pass cli/no_cgroup2_mount_is_a_clear_error
else
	fail cli/no_cgroup2_mount_is_a_clear_error "rc $rc: $(cat "$TMP/e")"
fi

# Default (hardware) events: where the PMU is missing they are named once and left empty;
# where it exists they are counted.
"$BPFMETER" -d 1 --csv >"$TMP/o" 2>"$TMP/e"
rc=$?
c_cyc=$(csv_col "$TMP/o" cycles)
rows=$(awk -F, 'NR > 1' "$TMP/o" | wc -l)
filled=$(awk -F, -v c="$c_cyc" 'NR > 1 && $c != ""' "$TMP/o" | wc -l)
if grep -q 'events not available' "$TMP/e"; then
	if [ $rc -eq 0 ] && [ "$(grep -c 'cycles' "$TMP/e")" -eq 1 ] && [ "$rows" -gt 0 ] && [ "$filled" -eq 0 ]; then
		pass cli/missing_pmu_events_reported_once_and_left_empty
	else
		fail cli/missing_pmu_events_reported_once_and_left_empty "rc $rc rows $rows filled $filled: $(cat "$TMP/e")"
	fi
elif [ $rc -eq 0 ] && [ "$filled" -gt 0 ]; then
	pass cli/missing_pmu_events_reported_once_and_left_empty
else
	fail cli/missing_pmu_events_reported_once_and_left_empty "rc $rc rows $rows filled $filled"
fi

# No kernel BTF: a clear error without --btf; with --btf FILE the raw_tp twin attaches.
cp /sys/kernel/btf/vmlinux "$TMP/vmlinux.btf"
unshare -m bash -c "mount -t tmpfs none /sys/kernel/btf && exec '$BPFMETER' -d 1 --csv -e cpu-clock" \
	>"$TMP/o" 2>"$TMP/e"
rc=$?
unshare -m bash -c "mount -t tmpfs none /sys/kernel/btf && exec '$BPFMETER' -v -d 1 --csv -e cpu-clock --btf '$TMP/vmlinux.btf'" \
	>"$TMP/o2" 2>"$TMP/e2"
rc2=$?
if [ $rc -eq 1 ] && grep -q 'kernel BTF not found.*--btf FILE' "$TMP/e" && [ ! -s "$TMP/o" ] &&
	[ $rc2 -eq 0 ] && grep -q 'attached raw_tp' "$TMP/e2" &&
	[ "$(awk -F, 'NR > 1' "$TMP/o2" | wc -l)" -gt 0 ]; then
	pass cli/no_kernel_btf_needs_btf_option_then_uses_raw_tp
else
	fail cli/no_kernel_btf_needs_btf_option_then_uses_raw_tp "rc $rc: $(cat "$TMP/e"); with --btf rc $rc2: $(grep -v '^libbpf' "$TMP/e2" | head -5)"
fi

"$BPFMETER" --btf "$TMP/nonexistent" -d 1 >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ $rc -eq 2 ] && grep -q "$TMP/nonexistent" "$TMP/e" && [ ! -s "$TMP/o" ]; then
	pass cli/bad_btf_file_exit_2
else
	fail cli/bad_btf_file_exit_2 "rc $rc: $(cat "$TMP/e")"
fi

# A full map: the cgroups that do not fit go to "overflow", counted, nothing dropped.
o1=$(make_cgroup over1)
o2=$(make_cgroup over2)
o3=$(make_cgroup over3)
start_bpfmeter "$TMP/ov.csv" "$TMP/ov.err" --max-cgroups 1 -i 1 --csv -e cpu-clock
for cg in "$o1" "$o2" "$o3"; do run_in_cgroup "$cg" stress-ng --cpu 1 --cpu-load 30 --timeout 2s --quiet; done
wait "${BG_PIDS[@]: -3}"
sleep 0.5
stop_bpfmeter
c_t=$(csv_col "$TMP/ov.csv" target)
c_c=$(csv_col "$TMP/ov.csv" cpu_ns)
c_i=$(csv_col "$TMP/ov.csv" interval_s)
c_ts=$(csv_col "$TMP/ov.csv" timestamp)
over=$(awk -F, -v c="$c_t" 'NR > 1 && $c == "overflow"' "$TMP/ov.csv" | wc -l)
read -r sum el < <(awk -F, -v cc="$c_c" -v ci="$c_i" -v cts="$c_ts" \
	'NR > 1 { s += $cc; if (!($cts in seen)) { seen[$cts] = 1; e += $ci } } END { printf "%.0f %.6f\n", s, e }' "$TMP/ov.csv")
want=$(awk -v n="$(nproc)" -v e="$el" 'BEGIN { printf "%.0f", n * e * 1e9 }')
if [ "$over" -gt 0 ] && within "$sum" "$want" 1 && [ "$(grep -c "raise --max-cgroups" "$TMP/ov.err")" -eq 1 ]; then
	pass cli/overflow_target_when_map_is_full
else
	fail cli/overflow_target_when_map_is_full "overflow rows $over, cpu sum $sum of $want"
fi

# SIGINT in the middle of an interval: exit 0, and the partial interval is reported.
start_bpfmeter "$TMP/int.csv" "$TMP/int.err" -i 10 --csv -e cpu-clock
sleep 1.5
stop_bpfmeter
rc=$?
c_i=$(csv_col "$TMP/int.csv" interval_s)
partial=$(awk -F, -v c="$c_i" 'NR == 2 { print $c }' "$TMP/int.csv")
if [ $rc -eq 0 ] && awk -v p="${partial:-0}" 'BEGIN { exit !(p > 1 && p < 5) }'; then
	pass cli/sigint_reports_last_interval
else
	fail cli/sigint_reports_last_interval "rc $rc, last interval '$partial' s"
fi

# On a terminal: the live view, then the session summary.
if command -v script >/dev/null; then
	view=$(make_cgroup view)
	run_in_cgroup "$view" stress-ng --cpu 1 --cpu-load 50 --timeout 3s --quiet
	script -qec "'$BPFMETER' -d 2.5 -e cpu-clock,context-switches" /dev/null >"$TMP/tty" 2>&1
	rc=$?
	wait "$BG_PID"
	tr -d '\r' <"$TMP/tty" >"$TMP/tty2"
	if [ $rc -eq 0 ] && grep -q '^TARGET *CPU%' "$TMP/tty2" && grep -q 'Session summary' "$TMP/tty2" &&
		grep -q "$(target_of "$view")" "$TMP/tty2" && grep -q 'cpu-clock/s' "$TMP/tty2" &&
		! grep -q '^timestamp,' "$TMP/tty2"; then
		pass cli/terminal_live_view_and_summary
	else
		fail cli/terminal_live_view_and_summary "rc $rc: $(head -c 600 "$TMP/tty2")"
	fi
else
	skip cli/terminal_live_view_and_summary "script (util-linux) is not installed"
fi

# A cgroup removed during the run: its rows keep its name, then its map entry is freed.
gone=$(make_cgroup gone)
start_bpfmeter "$TMP/gone.csv" "$TMP/gone.err" -v -i 0.5 --csv -e ''
run_in_cgroup "$gone" stress-ng --cpu 1 --cpu-load 40 --timeout 1.5s --quiet
wait "$BG_PID"
gone_id=$(awk -F, -v t="$(target_of "$gone")" -v ct="$(csv_col "$TMP/gone.csv" target)" \
	-v ci="$(csv_col "$TMP/gone.csv" cgroup_id)" '$ct == t { print $ci; exit }' "$TMP/gone.csv")
rmdir "$gone"
sleep 1.5
stop_bpfmeter
if [ -n "$gone_id" ] && grep -q "cgroup $gone_id is gone: freeing its entry" "$TMP/gone.err"; then
	pass cli/removed_cgroup_keeps_name_and_is_freed
else
	fail cli/removed_cgroup_keeps_name_and_is_freed "id '$gone_id': $(grep -v '^libbpf' "$TMP/gone.err" | tail -3)"
fi

# bpfmeter check: a line per feature, the fallbacks forced here named as such; without
# privileges it says so and exits 1.
out=$(BPFMETER_DISABLE=tp_btf,batch "$BPFMETER" check -e cpu-clock,cycles 2>"$TMP/ce")
crc=$?
if [ $crc -eq 0 ] && grep -q '^  ok *cgroup v2 at ' <<<"$out" &&
	grep -q '^  fallback hook raw_tp/sched_switch' <<<"$out" &&
	grep -q '^  fallback batch map lookups' <<<"$out" &&
	grep -q '^  ok *BPF_PROG_TEST_RUN on a CPU' <<<"$out" &&
	grep -q '^  ok *event cpu-clock$' <<<"$out" &&
	grep -q '^bpfmeter can measure here: [0-9]* fallbacks' <<<"$out" &&
	out2=$("$BPFMETER" check -e cpu-clock 2>/dev/null) && grep -q '^  ok *hook tp_btf/sched_switch' <<<"$out2"; then
	pass cli/check_lists_features_and_fallbacks
else
	fail cli/check_lists_features_and_fallbacks "exit $crc: $(tr '\n' '|' <<<"$out") $(head -c 200 "$TMP/ce")"
fi
if command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BPFMETER" check -e cpu-clock 2>"$TMP/ce")
	crc=$?
	if [ $crc -eq 1 ] && grep -q '^  missing  privileges' <<<"$out" && grep -q 'missing privileges' "$TMP/ce"; then
		pass cli/check_without_privileges_exits_1
	else
		fail cli/check_without_privileges_exits_1 "exit $crc: $(tr '\n' '|' <<<"$out") $(head -c 200 "$TMP/ce")"
	fi
else
	skip cli/check_without_privileges_exits_1 "setpriv (util-linux) is not installed"
fi
