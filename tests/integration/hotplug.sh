#!/usr/bin/env bash
# CPU hotplug mid-session: cpu1 goes offline for a few seconds and comes back, then (where
# the bringup hook is) goes and comes back within one interval. bpfmeter keeps measuring: no
# interval charges more CPU time than the CPUs online in it had, cpu1 is counted again, with
# its counters, once back, and a busy cgroup's CPU time still matches cpu.stat. Run again
# without the bringup hook (BPFMETER_DISABLE=cpuhp), the fallback of kernels before 5.19.
set -u
. "$(dirname "$0")/../lib.sh"

TESTS="run_through_hotplug_exit_0 changes_seen csv_and_messages_say_so failed_counter_reads_counted
	no_interval_over_online_cpus cpu1_counted_again_once_back counters_count_again_once_back
	busy_cgroup_matches_cpu_stat"
names() {
	local t
	for t in $TESTS; do echo "hotplug/$t" "hotplug/no_bringup_hook/$t"; done
}
# shellcheck disable=SC2046
need_root_and_cgroup2 $(names)

ONLINE=/sys/devices/system/cpu/cpu1/online
why=
if [ "$(nproc --all)" -lt 2 ]; then
	why="one CPU: none to take offline"
elif [ ! -w "$ONLINE" ]; then
	why="$ONLINE is not writable (cpu1 cannot be hotplugged here)"
elif [ "$(cat "$ONLINE")" != 1 ]; then
	why="cpu1 is offline already"
fi
if [ -n "$why" ]; then
	# shellcheck disable=SC2046
	for t in $(names); do skip "$t" "$why"; done
	exit 0
fi
# Whatever happens, cpu1 comes back.
trap 'echo 1 >"$ONLINE" 2>/dev/null; cleanup' EXIT

now() { date +%s.%N; }

# One session over a busy cgroup, with the hotplug events' times in $TMP/<name>.times as
# "off_begin off_end on_begin on_end" lines.
session() {
	local name=$1 flip=$2 cg out=$TMP/$1.csv times=$TMP/$1.times a b c d
	cg=$(make_cgroup "busy-$name")
	: >"$times"
	if ! start_bpfmeter "$out" "$TMP/$name.err" -v --csv -i 1 -d 9 --energy-source none -e cpu-clock; then
		return 1
	fi
	run_in_cgroup "$cg" stress-ng --cpu 2 --timeout 7s --quiet
	sleep 1.5
	a=$(now); echo 0 >"$ONLINE"; b=$(now)
	sleep 3
	c=$(now); echo 1 >"$ONLINE"; d=$(now)
	echo "$a $b $c $d" >>"$times"
	if [ "$flip" = 1 ]; then
		sleep 1.3
		a=$(now); echo 0 >"$ONLINE"; b=$(now)
		sleep 0.3
		c=$(now); echo 1 >"$ONLINE"; d=$(now)
		echo "$a $b $c $d" >>"$times"
	fi
	wait "$BPFMETER_PID"
	echo $? >"$TMP/$name.rc"
	usage_usec "$cg" >"$TMP/$name.usage"
	target_of "$cg" >"$TMP/$name.target"
}

# Per interval: "start end dt cpu_ns cpu_clock min_online_cpu_s max_online_cpu_s onlines",
# where the online CPU time is bounded by the hotplug times seen from here, and onlines is
# how many times cpu1 came online within the interval.
intervals() {
	local out=$TMP/$1.csv
	awk -F, -v ci="$(csv_col "$out" interval_s)" -v cts="$(csv_col "$out" timestamp)" \
		-v cc="$(csv_col "$out" cpu_ns)" -v ck="$(csv_col "$out" cpu-clock)" \
		-v ncpu="$(nproc --all)" -v times="$TMP/$1.times" '
	function ov(a, b, c, d) { a = a > c ? a : c; b = b < d ? b : d; return b > a ? b - a : 0 }
	BEGIN { while ((getline l < times) > 0) { n++; split(l, t, " "); ob[n] = t[1]; oe[n] = t[2]; nb[n] = t[3]; ne[n] = t[4] } }
	NR > 1 { if (!($cts in dt)) order[++k] = $cts; dt[$cts] = $ci; cpu[$cts] += $cc; clk[$cts] += $ck }
	END {
		for (i = 1; i <= k; i++) {
			ts = order[i]; e = ts + 0; s = e - dt[ts]; lo = hi = ncpu * dt[ts]; on = 0
			for (j = 1; j <= n; j++) {
				lo -= ov(s, e, ob[j], ne[j]); hi -= ov(s, e, oe[j], nb[j])
				if (ne[j] > s && nb[j] < e) on++
			}
			printf "%.3f %.3f %.6f %.0f %.0f %.6f %.6f %d\n", s, e, dt[ts], cpu[ts], clk[ts], lo, hi, on
		}
	}' "$out"
}

check() {
	local name=$1 pre=$2 hook=$3 rc err=$TMP/$1.err n ok detail want got ups fails
	rc=$(cat "$TMP/$name.rc" 2>/dev/null || echo none)
	n=$(awk -F, 'NR > 1 { print $1 }' "$TMP/$name.csv" | sort -u | wc -l)
	if [ "$rc" = 0 ] && [ "$n" -ge 8 ] && ! grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$err"; then
		pass "$pre/run_through_hotplug_exit_0"
	else
		fail "$pre/run_through_hotplug_exit_0" "exit status $rc, $n intervals: $(grep '^bpfmeter' "$err" | grep -v debug | head -3)"
	fi

	# The sensor saw cpu1 go and come back: twice with the hook (the second time within an
	# interval, seen by its bringup count only), once without.
	ups=$(grep -c 'debug: cpu 1 came online' "$err")
	if grep -q 'debug: cpu 1 went offline' "$err" && [ "$ups" -eq $((hook ? 2 : 1)) ]; then
		pass "$pre/changes_seen"
	else
		fail "$pre/changes_seen" "came online $ups times (want $((hook ? 2 : 1))): $(grep 'debug: cpu 1' "$err" | tr '\n' ';')"
	fi

	# The CSV's cpus_online follows cpu1 (1 while it is away, 2 at the end), and each change
	# is one line for the user.
	onl=$(awk -F, -v c="$(csv_col "$TMP/$name.csv" cpus_online)" 'NR > 1 { print $c }' "$TMP/$name.csv" | uniq | tr '\n' ' ')
	if grep -q ' 1 ' <<<" $onl" && [ "$(awk -F, -v c="$(csv_col "$TMP/$name.csv" cpus_online)" 'END { print $c }' "$TMP/$name.csv")" = 2 ] &&
		grep -q 'warning: cpu 1 went offline' "$err" && grep -q 'warning: cpu 1 came online: measured again' "$err"; then
		pass "$pre/csv_and_messages_say_so"
	else
		fail "$pre/csv_and_messages_say_so" "cpus_online: $onl; $(grep 'warning: cpu 1' "$err" | tr '\n' ';')"
	fi

	# Between cpu1's return and the interval's end its events had no perf fds to read.
	fails=$(sed -n 's/.*debug: sensor: \([0-9]*\) counter reads failed.*/\1/p' "$err")
	if [ "${fails:-0}" -gt 0 ]; then
		pass "$pre/failed_counter_reads_counted"
	else
		fail "$pre/failed_counter_reads_counted" "counter reads failed: '${fails}'"
	fi

	intervals "$name" >"$TMP/$name.iv"
	echo "    $name: start end dt cpu_ns cpu-clock min-online max-online onlines"
	sed 's/^/    /' "$TMP/$name.iv"

	# Never more than the online CPUs had: the time cpu1 was away is charged to no one.
	detail=$(awk '$4 > ($7 * 1.03 + 0.005) * 1e9 { printf "interval ending %s: %.3f s charged, at most %.3f s online; ", $2, $4 / 1e9, $7 }' "$TMP/$name.iv")
	[ -z "$detail" ] && pass "$pre/no_interval_over_online_cpus" || fail "$pre/no_interval_over_online_cpus" "$detail"

	# All the time the CPUs were online is charged: with the hook even in the interval cpu1
	# came back in; without it, that interval is left out for cpu1.
	detail=$(awk -v hook="$hook" '(hook || $8 == 0) && $4 < ($6 * 0.97 - 0.005) * 1e9 { printf "interval ending %s: %.3f s charged, at least %.3f s online; ", $2, $4 / 1e9, $6 }' "$TMP/$name.iv")
	[ -z "$detail" ] && pass "$pre/cpu1_counted_again_once_back" || fail "$pre/cpu1_counted_again_once_back" "$detail"

	# cpu-clock counts each CPU's time, so it sums to the time charged, except in an interval
	# cpu1 came back in: until its end cpu1's perf events are the dead ones of before.
	detail=$(awk '$8 == 0 && !($5 >= $4 * 0.985 && $5 <= $4 * 1.015) { printf "interval ending %s: cpu-clock %.3f s, cpu_ns %.3f s; ", $2, $5 / 1e9, $4 / 1e9 }' "$TMP/$name.iv")
	[ -z "$detail" ] && pass "$pre/counters_count_again_once_back" || fail "$pre/counters_count_again_once_back" "$detail"

	# The busy cgroup against cpu.stat: within 3% with the hook; without it, less by at most
	# what ran on cpu1 in the interval it came back in (1 s), never more.
	want=$(cat "$TMP/$name.usage")
	got=$(awk -F, -v t="$(cat "$TMP/$name.target")" -v ct="$(csv_col "$TMP/$name.csv" target)" \
		-v cc="$(csv_col "$TMP/$name.csv" cpu_ns)" \
		'NR > 1 && $ct == t { s += $cc } END { printf "%.0f", s / 1000 }' "$TMP/$name.csv")
	detail="bpfmeter ${got}us, cpu.stat ${want}us"
	echo "    $name: busy cgroup: $detail"
	if [ "$hook" = 1 ]; then
		within "$got" "$want" 3 && ok=1 || ok=0
	else
		awk -v g="$got" -v w="$want" 'BEGIN { exit !(g <= w * 1.02 && g >= w - 1e6 - w * 0.02) }' && ok=1 || ok=0
	fi
	[ $ok = 1 ] && pass "$pre/busy_cgroup_matches_cpu_stat" || fail "$pre/busy_cgroup_matches_cpu_stat" "$detail"
}

session hook 1
check hook hotplug 1
echo 1 >"$ONLINE"
sleep 0.5
BPFMETER_DISABLE=${BPFMETER_DISABLE:+$BPFMETER_DISABLE,}cpuhp session nohook 0
check nohook hotplug/no_bringup_hook 0
