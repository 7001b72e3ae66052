#!/usr/bin/env bash
# The command line, failure paths and the live view, on the real BPF programs. The tests that
# need no root come first and run as any user; run as root, they run again as nobody.
set -u
. "$(dirname "$0")/../lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT_TESTS=(cli/no_cgroup2_mount_is_a_clear_error
	cli/missing_pmu_events_reported_once_and_left_empty cli/no_kernel_btf_needs_btf_option_then_uses_raw_tp
	cli/overflow_target_when_map_is_full cli/sigint_reports_last_interval
	cli/terminal_live_view_and_summary cli/removed_cgroup_keeps_name_and_is_freed
	cli/short_lived_cgroups_keep_their_names cli/a_stall_is_one_long_interval_then_back_on_schedule
	cli/live_view_escapes_a_hostile_cgroup_name
	cli/check_lists_features_and_fallbacks)

# --- Without root ------------------------------------------------------------------------

# --help and --version: exit 0.
"$BPFMETER" --help >"$TMP/help" 2>"$TMP/help.err"
hrc=$?
"$BPFMETER" --version >"$TMP/version" 2>"$TMP/version.err"
vrc=$?
if grep -q -- '--interval' "$TMP/help" && grep -q '^bpfmeter ' "$TMP/version" &&
	[ $hrc -eq 0 ] && [ $vrc -eq 0 ] && [ ! -s "$TMP/help.err" ] && [ ! -s "$TMP/version.err" ]; then
	pass cli/help_and_version
else
	fail cli/help_and_version "--help (exit $hrc) or --version (exit $vrc) output unexpected: $(head -c 200 "$TMP/help.err" "$TMP/version.err")"
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
-o influx+http|-o influx+http://:99999/write?db=x
LIST
[ $ok = 1 ] && pass cli/bad_option_values_exit_2_naming_the_option ||
	fail cli/bad_option_values_exit_2_naming_the_option "$detail"

# Not root: one line naming what is missing, exit 1. Run as root, as nobody.
BM_NOBODY=$(nobody_copy "$BPFMETER")
if unprivileged true 2>/dev/null; then
	unprivileged "$BM_NOBODY" -d 1 >"$TMP/o" 2>"$TMP/e"
	rc=$?
	if [ $rc -eq 1 ] && grep -q 'CAP_BPF' "$TMP/e" && [ "$(wc -l <"$TMP/e")" -eq 1 ]; then
		pass cli/not_root_names_missing_capabilities
	else
		fail cli/not_root_names_missing_capabilities "rc $rc: $(cat "$TMP/e")"
	fi
else
	skip cli/not_root_names_missing_capabilities "neither setpriv nor runuser (util-linux) is installed"
fi

# bpfmeter check without privileges says so and exits 1.
if unprivileged true 2>/dev/null; then
	out=$(unprivileged "$BM_NOBODY" check -e cpu-clock 2>"$TMP/ce")
	crc=$?
	if [ $crc -eq 1 ] && grep -q '^  missing  privileges' <<<"$out" && grep -q 'missing privileges' "$TMP/ce"; then
		pass cli/check_without_privileges_exits_1
	else
		fail cli/check_without_privileges_exits_1 "exit $crc: $(tr '\n' '|' <<<"$out") $(head -c 200 "$TMP/ce")"
	fi
else
	skip cli/check_without_privileges_exits_1 "neither setpriv nor runuser (util-linux) is installed"
fi

# Replay of a recording (tests/data/README.md), plain and gzip'd: exit 0, nothing on stderr,
# the same CSV both ways and as many line-protocol points as CSV rows, each interval's two
# sockets, the three cgroups (c for the 9 intervals it lived), and each interval's energy
# split between the targets of a socket to the last 0.1 mJ.
rec=$REPO/tests/data/recording-three-cgroups.csv
gzip -c "$rec" >"$TMP/rec.csv.gz"
"$BPFMETER" replay "$rec" --csv >"$TMP/rep.csv" 2>"$TMP/rep.err"
rc=$?
"$BPFMETER" replay "$TMP/rec.csv.gz" -o csv:"$TMP/rep-gz.csv" -o influx:"$TMP/rep-gz.lp" \
	>"$TMP/rep-gz.out" 2>"$TMP/rep-gz.err"
rc2=$?
intervals=$(grep -c '^interval,' "$rec")
csv=$TMP/rep.csv
res=$(awk -F, -v ck="$(csv_col "$csv" kind)" -v cts="$(csv_col "$csv" timestamp)" \
	-v cs="$(csv_col "$csv" socket)" -v cd="$(csv_col "$csv" domain)" -v ce="$(csv_col "$csv" energy_j)" \
	-v ct="$(csv_col "$csv" target)" '
	NR == 1 { next }
	$ck == "energy" { m[$cts "," $cs "," $cd] = $ce; ne++; ts[$cts] = 1 }
	$ck == "target" && $cd != "" { sum[$cts "," $cs "," $cd] += $ce }
	$ck == "target" { n[$ct]++ }
	END { for (k in sum) { g++; d = sum[k] - m[k]; if (d < 0) d = -d; if (!(k in m) || d > 1e-4 + 1e-6 * m[k]) bad++ }
	      for (t in ts) nts++
	      printf "%d %d %d %d %d %d %d %d", ne, nts, n["/fixture/a"], n["/fixture/b"], n["/fixture/c"], g, bad + 0, NR - 1 }' "$csv")
read -r ne nts na nb nc groups bad rows <<<"$res"
if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ ! -s "$TMP/rep.err" ] && [ ! -s "$TMP/rep-gz.err" ] &&
	[ ! -s "$TMP/rep-gz.out" ] && cmp -s "$csv" "$TMP/rep-gz.csv" &&
	[ "$(grep -c . "$TMP/rep-gz.lp")" -eq "$rows" ] &&
	[ "$ne" -eq $((2 * intervals)) ] && [ "$nts" -eq "$intervals" ] && [ "$na" -eq "$intervals" ] &&
	[ "$nb" -eq "$intervals" ] && [ "$nc" -eq 9 ] && [ "$groups" -ge "$intervals" ] && [ "$bad" -eq 0 ]; then
	pass cli/replay_of_a_recording_plain_or_gzip_gives_every_interval_conserved
else
	fail cli/replay_of_a_recording_plain_or_gzip_gives_every_interval_conserved \
		"exit $rc, gzip'd $rc2 ($(cmp -s "$csv" "$TMP/rep-gz.csv" && echo same || echo another) CSV," \
		"$(grep -c . "$TMP/rep-gz.lp") points for $rows rows); of $intervals intervals: $ne energy rows" \
		"at $nts times, a $na b $nb c $nc rows, $bad of $groups not conserved: $(head -c 300 "$TMP/rep.err" "$TMP/rep-gz.err")"
fi

# Replay of a node-level trace (tests/data/nx12-part1.csv): a row per interval and domain with
# the trace's own power, a summary whose MAE is the rows', and a model that predicts better
# than the trace's mean power would.
trace=$REPO/tests/data/nx12-part1.csv
"$BPFMETER" replay "$trace" --features cpu_cycles,cpu_instructions,cache_miss \
	--power package=package_power,dram=dram_power >"$TMP/nx.csv" 2>"$TMP/nx.err"
rc=$?
res=$(awk -F, '
	FNR == 1 { next }
	NR == FNR { p["package," $1] = sprintf("%.3f", $6); p["dram," $1] = sprintf("%.3f", $7)
		    n++; s["package"] += $6; s["dram"] += $7; v["package", n] = $6; v["dram", n] = $7; next }
	{ rows++; if (p[$2 "," $1] != $3) off++
	  if ($4 != "") { e = $5 < 0 ? -$5 : $5; ae[$2] += e; np[$2]++ } }
	END { for (d in s) { mean = s[d] / n; dev = 0
		  for (i = 1; i <= n; i++) dev += v[d, i] > mean ? v[d, i] - mean : mean - v[d, i]
		  printf "%s %.6f %.6f %d ", d, np[d] ? ae[d] / np[d] : -1, dev / n, np[d] }
	      printf "%d %d %d\n", n, rows, off + 0 }' "$trace" "$TMP/nx.csv")
why=
[ $rc -eq 0 ] || why+="exit $rc; "
[ "$(head -n 1 "$TMP/nx.csv")" = timestamp,domain,measured_w,predicted_w,error_w,model_id ] ||
	why+="header '$(head -n 1 "$TMP/nx.csv")'; "
read -r -a f <<<"$res"
[ "${f[9]}" -eq $((2 * (f[8] - 1))) ] || why+="${f[9]} rows for ${f[8]} intervals and 2 domains; "
[ "${f[10]}" -eq 0 ] || why+="${f[10]} rows whose measured_w is not the trace's; "
for i in 0 4; do
	d=${f[i]} mae=${f[i + 1]} dev=${f[i + 2]} said=
	said=$(sed -n "s/^$d: MAE \([0-9.]*\) W, .*/\1/p" "$TMP/nx.err")
	awk -v a="$mae" -v b="${said:--1}" -v dev="$dev" -v np="${f[i + 3]}" -v n="${f[8]}" \
		'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b >= 0 && d <= 0.005 && a < dev && np >= n * 0.9) }' ||
		why+="$d: MAE ${said:-not said} (rows: $mae over ${f[i + 3]} predicted), the mean's $dev; "
done
[ -z "$why" ] && pass cli/replay_of_a_trace_gives_its_power_and_the_mae_of_its_rows ||
	fail cli/replay_of_a_trace_gives_its_power_and_the_mae_of_its_rows "$why$(head -c 300 "$TMP/nx.err")"

# Replay's failures: exit 2, one line that says what is wrong (naming the file where it is the
# file), nothing on stdout.
ok=1 detail=
while IFS='|' read -r want args; do
	# shellcheck disable=SC2086
	"$BPFMETER" replay $args >"$TMP/o" 2>"$TMP/e"
	rc=$?
	if [ $rc -ne 2 ] || [ "$(wc -l <"$TMP/e")" -ne 1 ] || ! grep -qF -- "$want" "$TMP/e" || [ -s "$TMP/o" ]; then
		ok=0
		detail+="[replay $args: rc $rc, '$(cat "$TMP/e")'] "
	fi
done <<LIST
$TMP/none.csv: No such file or directory|$TMP/none.csv
needs FILE, --features and --power|
$trace is not a bpfmeter recording|$trace
$trace:1: no column "nope"|$trace --features nope --power package=package_power
invalid value 'bogus' for --idle|$rec --idle bogus
LIST
[ $ok = 1 ] && pass cli/replay_errors_exit_2_in_one_line ||
	fail cli/replay_errors_exit_2_in_one_line "$detail"

# A --btf file that does not exist is bad input, named, whatever the privileges.
"$BPFMETER" --btf "$TMP/nonexistent" -d 1 >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ $rc -eq 2 ] && grep -q "$TMP/nonexistent" "$TMP/e" && [ ! -s "$TMP/o" ]; then
	pass cli/bad_btf_file_exit_2
else
	fail cli/bad_btf_file_exit_2 "rc $rc: $(cat "$TMP/e")"
fi

# --- As root -----------------------------------------------------------------------------
root_only "${ROOT_TESTS[@]}" || {
	rerun_unprivileged
	exit
}

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

# A cgroup named with escape sequences (anyone with a delegated subtree can name one) and a
# TAB: the live view shows them escaped, it does not clear or recolour the screen with them.
if command -v script >/dev/null; then
	evil=$(make_cgroup "$(printf 'evil\033[2J\033[31mred\tx')")
	run_in_cgroup "$evil" stress-ng --cpu 1 --cpu-load 50 --timeout 3s --quiet
	script -qec "'$BPFMETER' -d 2.5 -e ''" /dev/null >"$TMP/etty" 2>&1
	rc=$?
	wait "$BG_PID"
	if [ $rc -eq 0 ] && grep -qF 'evil\x1b[2J\x1b[31mred\tx' "$TMP/etty" &&
		! grep -qF "$(printf 'evil\033[2J')" "$TMP/etty" && ! grep -qF "$(printf 'red\tx')" "$TMP/etty"; then
		pass cli/live_view_escapes_a_hostile_cgroup_name
	else
		fail cli/live_view_escapes_a_hostile_cgroup_name "rc $rc: $(grep -a evil "$TMP/etty" | head -c 300 | od -c | head -5)"
	fi
else
	skip cli/live_view_escapes_a_hostile_cgroup_name "script (util-linux) is not installed"
fi

# A cgroup removed during the run: its rows keep its name, then it is forgotten (its map
# entries went with each interval's drain).
gone=$(make_cgroup gone)
start_bpfmeter "$TMP/gone.csv" "$TMP/gone.err" -v -i 0.5 --csv -e ''
run_in_cgroup "$gone" stress-ng --cpu 1 --cpu-load 40 --timeout 1.5s --quiet
wait "$BG_PID"
gone_id=$(awk -F, -v t="$(target_of "$gone")" -v ct="$(csv_col "$TMP/gone.csv" target)" \
	-v ci="$(csv_col "$TMP/gone.csv" cgroup_id)" '$ct == t { print $ci; exit }' "$TMP/gone.csv")
rmdir "$gone"
sleep 1.5
stop_bpfmeter
if [ -n "$gone_id" ] && grep -q "cgroup $gone_id is gone: its last interval is out" "$TMP/gone.err"; then
	pass cli/removed_cgroup_keeps_name_and_is_freed
else
	fail cli/removed_cgroup_keeps_name_and_is_freed "id '$gone_id': $(grep -v '^libbpf' "$TMP/gone.err" | tail -3)"
fi

# Stopped for 2 s (or starved of CPU): one long interval, then back on schedule, never a run
# of back-to-back intervals of microseconds to catch up with repeated timestamps.
start_bpfmeter "$TMP/stall.csv" "$TMP/stall.err" -i 0.5 -d 5 --csv -e ''
sleep 1.2
kill -STOP "$BPFMETER_PID"
sleep 2
kill -CONT "$BPFMETER_PID"
wait "$BPFMETER_PID"
src=$?
c_i=$(csv_col "$TMP/stall.csv" interval_s)
c_s=$(csv_col "$TMP/stall.csv" timestamp)
c_t=$(csv_col "$TMP/stall.csv" target)
# The idle row of socket 0: one per interval, whatever ran.
res=$(awk -F, -v ci="$c_i" -v cs="$c_s" -v ct="$c_t" 'NR > 1 && $ct == "idle" && $(ct + 2) == 0 {
	n++; if ($ci < 0.3) short++; if ($ci > 1.8) long++; if (n > 1 && $cs + 0 <= last + 0) back++; last = $cs }
	END { printf "%d %d %d %d", n, short, long, back }' "$TMP/stall.csv")
read -r n short long back <<<"$res"
# The last interval may be cut short by --duration: one short one at the most.
if [ "$src" -eq 0 ] && [ "$long" -eq 1 ] && [ "$short" -le 1 ] && [ "$back" -eq 0 ] &&
	grep -q "the measuring loop was stalled" "$TMP/stall.err"; then
	pass cli/a_stall_is_one_long_interval_then_back_on_schedule
else
	fail cli/a_stall_is_one_long_interval_then_back_on_schedule "exit $src; intervals $n, under 0.3 s $short, over 1.8 s $long, timestamps not increasing $back"
fi

# Cgroups that live 50 ms each, made and removed within an interval: each one's CPU time is
# reported under its path (the cgroup_mkdir hook passes it on as it is made), none as
# cgroup-<id>. Where the kernel has no such hook (bpfmeter -v says), the walk may miss them.
start_bpfmeter "$TMP/short.csv" "$TMP/short.err" -v -i 1 --csv -e ''
for i in $(seq 20); do
	d=$(make_cgroup "short$i")
	bash -c 'echo $$ >"$0/cgroup.procs" && i=0 && while [ $i -lt 20000 ]; do i=$((i + 1)); done' "$d"
	rmdir "$d"
done
sleep 1.5
stop_bpfmeter
c_t=$(csv_col "$TMP/short.csv" target)
c_c=$(csv_col "$TMP/short.csv" cpu_ns)
named=$(awk -F, -v ct="$c_t" -v cc="$c_c" -v b="$(target_of "$CG_BASE")" \
	'index($ct, b "/short") == 1 && $cc > 0 { n[$ct] = 1 } END { print length(n) }' "$TMP/short.csv")
if grep -q 'cgroup_mkdir hook no' "$TMP/short.err"; then
	skip cli/short_lived_cgroups_keep_their_names "no cgroup_mkdir hook on this kernel (Linux 5.8, tp_btf): $named of 20 named"
elif [ "$named" -eq 20 ]; then
	pass cli/short_lived_cgroups_keep_their_names
else
	fail cli/short_lived_cgroups_keep_their_names "$named of 20 short-lived cgroups reported under their path"
fi

# bpfmeter check: a line per feature, the fallbacks forced here named as such.
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

rerun_unprivileged
