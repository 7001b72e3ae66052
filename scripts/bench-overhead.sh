#!/usr/bin/env bash
# Benchmark what bpfmeter's sched_switch hook costs context switches.
#
# A pipe ping-pong between two processes pinned to CPU 0 (perf bench sched pipe) runs in
# three arms, ROUNDS times: without any hook, with an empty sched_switch program attached
# (.output/empty-hook, built by 'make bench-tools'), and with bpfmeter attached. The order
# of the arms rotates from one round to the next (without,empty,bpfmeter, then
# empty,bpfmeter,without, then bpfmeter,without,empty, ...) so that machine drift hits all
# three. The empty arm is the floor: what any tp_btf program on sched_switch costs on this
# machine, before it does any work. ratio_vs_empty (bpfmeter/empty) and the difference of
# the ns per call are bpfmeter's own cost on top of that floor.
# While kernel.bpf_stats_enabled is 1, the run_time_ns/run_cnt of the attached program
# (bpfmeter's switch_btf or switch_raw, or the empty hook's empty_switch), read just before
# and just after the ping-pong, give its cost in ns per call.
#
# Output is one "key value ..." line per round and per summary figure, e.g.
#   round 1 order without,empty,bpfmeter without_ops 224719 empty_ops 214310 with_ops 198076 ratio 0.881 ratio_empty 0.954 ratio_vs_empty 0.924 bpf_ns_per_call 193.7 empty_ns_per_call 41.2 ns_over_empty 152.5 run_cnt 1200303 empty_run_cnt 1200298
#   ratio_median 0.868
#   bpf_ns_per_call_median 194
# It is a benchmark, not a test: it exits 0 whenever it ran, whatever the figures; it exits 1
# (with a one-line error) when it cannot run, 2 for bad usage.
#
# Note: bpf_stats itself adds two clock reads per program run, so the throughputs with a
# hook include that cost; --no-bpf-stats measures the throughput without it (and no ns/call).
#
# A fourth arm, perfcg (on by default, --no-perf-cgroup leaves it out and restores the three
# arms' rotation), measures the mechanism of PowerAPI's sensor instead of a BPF hook: the
# ping-pong's two processes each in a cgroup of its own (perf bench sched pipe has no
# option for it in perf 6.1: its worker is moved to the second cgroup as soon as it is
# forked, within some ms of a ~3 s run), while perf stat -a --for-each-cgroup cg1,cg2 and
# 98 idle cgroups counts task-clock (cycles where it opens; --perf-events overrides) in
# them: 100 cgroup events per CPU, which perf switches at every switch between cgroups.
# --for-each-cgroup expands to what -G cg1,cg2,... with the event repeated 100 times
# would. The rotation then runs over the four arms; each round's line gains perfcg_ops,
# ratio_perfcg (perfcg/without) and perfcg_vs_bpfmeter (perfcg/bpfmeter), and the summary
# their medians. warmup_split_ops is one run of the two cgroups without perf stat, to tell
# what the placement alone costs.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: scripts/bench-overhead.sh [OPTIONS]

Measure the throughput of a context-switch ping-pong pinned to CPU 0 without any hook,
with an empty sched_switch program attached, and with bpfmeter attached, and the cost per
call of both programs. Run as root.

Options:
  -l, --loops N        ping-pong loops per run (env LOOPS, default 600000: ~3 s per run)
  -n, --rounds N       rounds of the three arms (env ROUNDS, default 6, at least 1; a
                       multiple of 3 puts each arm in each position equally often);
                       --pairs and env PAIRS are accepted too
  -e, --events LIST    passed to bpfmeter -e (default: bpfmeter's default events)
      --by-process     run bpfmeter with --by process (the per-process map too)
      --no-bpf-stats   leave kernel.bpf_stats_enabled alone (no ns/call figures)
      --perf-cgroup    include the perfcg arm (the default): perf stat counting per
                       cgroup, the ping-pong's two processes in two of 100 cgroups
      --no-perf-cgroup leave the perfcg arm out (the three arms of before)
      --perf-events L  the events of the perfcg arm (default cycles where it opens,
                       else task-clock)
  -h, --help           show this help

Environment: BPFMETER is the bpfmeter binary (default ./bpfmeter at the top of the repo).
The empty hook is .output/empty-hook, built with 'make -s bench-tools' when missing.
Target: ratio_median (bpfmeter/without) >= 0.97. ratio_empty_median (empty/without) is
the floor of any sched_switch hook on the machine; when it is below the target, judge
bpfmeter by ratio_vs_empty_median and bpfmeter_ns_over_empty_median.
EOF
}

die() {
	echo "bench-overhead: $*" >&2
	exit 1
}

bad_usage() {
	echo "bench-overhead: $*; see --help" >&2
	exit 2
}

repo=$(cd "$(dirname "$0")/.." && pwd)
bpfmeter=${BPFMETER:-$repo/bpfmeter}
loops=${LOOPS:-600000}
rounds=${ROUNDS:-${PAIRS:-6}}
events=
events_set=0
use_stats=1
by_process=0
perf_cgroup=1
perf_events=
target=0.97

while [ $# -gt 0 ]; do
	case $1 in
	-l | --loops)
		[ $# -ge 2 ] || bad_usage "$1 needs a value"
		loops=$2
		shift 2
		;;
	--loops=*)
		loops=${1#*=}
		shift
		;;
	-n | --rounds | --pairs)
		[ $# -ge 2 ] || bad_usage "$1 needs a value"
		rounds=$2
		shift 2
		;;
	--rounds=* | --pairs=*)
		rounds=${1#*=}
		shift
		;;
	-e | --events)
		[ $# -ge 2 ] || bad_usage "$1 needs a value"
		events=$2
		events_set=1
		shift 2
		;;
	--events=*)
		events=${1#*=}
		events_set=1
		shift
		;;
	--by-process)
		by_process=1
		shift
		;;
	--no-bpf-stats)
		use_stats=0
		shift
		;;
	--perf-cgroup)
		perf_cgroup=1
		shift
		;;
	--no-perf-cgroup)
		perf_cgroup=0
		shift
		;;
	--perf-events)
		[ $# -ge 2 ] || bad_usage "$1 needs a value"
		perf_events=$2
		shift 2
		;;
	--perf-events=*)
		perf_events=${1#*=}
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) bad_usage "unknown argument '$1'" ;;
	esac
done

[[ $loops =~ ^[1-9][0-9]*$ ]] || bad_usage "loops must be a positive integer, not '$loops'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bad_usage "rounds must be a positive integer, not '$rounds'"

# --- What the benchmark needs -------------------------------------------------------------
[ "$EUID" -eq 0 ] || die "must run as root (it loads BPF programs and sets kernel.bpf_stats_enabled)"
for tool in perf bpftool taskset sysctl make; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found in PATH: install it"
done
[ -x "$bpfmeter" ] || die "bpfmeter not built ($bpfmeter is missing): run 'make' in $repo"
[ -r /proc/sys/kernel/bpf_stats_enabled ] || die "kernel.bpf_stats_enabled is missing: this kernel cannot report BPF run time"

# --- Cleanup on any exit -------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-overhead.XXXXXX")
bm_pid=
eh_pid=
ps_pid=
stats_saved=
pcg=

# Whether process $1 is still running (not gone, not a zombie waiting to be reaped).
running() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Stop process $1 (called $2 in messages) with SIGINT and reap it, with SIGKILL after 5 s;
# its exit status goes in stop_rc.
stop_rc=0
stop_process() {
	local pid=$1 name=$2 i
	stop_rc=0
	[ -n "$pid" ] || return 0
	kill -INT "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		running "$pid" || break
		sleep 0.1
	done
	if running "$pid"; then
		echo "bench-overhead: $name (pid $pid) ignored SIGINT for 5 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || stop_rc=$?
}

# Stop bpfmeter; its exit status goes in bm_rc.
bm_rc=0
stop_bpfmeter() {
	stop_process "$bm_pid" bpfmeter
	bm_rc=$stop_rc
	bm_pid=
}

# Stop the empty hook; its exit status goes in eh_rc.
eh_rc=0
stop_empty() {
	stop_process "$eh_pid" empty-hook
	eh_rc=$stop_rc
	eh_pid=
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_bpfmeter
	stop_empty
	stop_process "$ps_pid" "perf stat"
	if [ -n "$pcg" ] && [ -d "$pcg" ]; then
		# A ping-pong cut short leaves its two processes in cg1 and cg2.
		for i in 1 2 3 4 5; do
			p=$(cat "$pcg"/cg1/cgroup.procs "$pcg"/cg2/cgroup.procs 2>/dev/null || true)
			[ -n "$p" ] || break
			kill -KILL $p 2>/dev/null || true
			sleep 0.1
		done
		find "$pcg" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
		rmdir "$pcg" 2>/dev/null || echo "bench-overhead: cannot remove $pcg" >&2
	fi
	if [ -n "$stats_saved" ]; then
		sysctl -q "kernel.bpf_stats_enabled=$stats_saved" ||
			echo "bench-overhead: cannot restore kernel.bpf_stats_enabled=$stats_saved" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Helpers -----------------------------------------------------------------------------
# How many BPF links on sched_switch exist besides the $1 that this benchmark made; any
# other one (another bpfmeter, another tracer) slows both sides and skews the ratio.
check_other_hooks() {
	local n
	n=$(bpftool link show -j 2>/dev/null | awk -v RS=, '/"tp_name":"sched_switch"/ { n++ } END { print n + 0 }')
	n=$((n - $1))
	if [ "$n" -gt 0 ]; then
		echo "$n" >>"$tmp/others"
		echo "bench-overhead: warning: $n other BPF program(s) attached to sched_switch during a run: the figures are skewed" >&2
	fi
}

# One ping-pong run; prints its throughput in ops/sec.
pingpong() {
	local n=$1 out ops
	if ! out=$(taskset -c 0 perf bench sched pipe -l "$n" 2>&1); then
		die "perf bench sched pipe failed: $(printf '%s\n' "$out" | tail -n 1)"
	fi
	ops=$(printf '%s\n' "$out" | awk '$2 == "ops/sec" { print $1; exit }')
	[ -n "$ops" ] || die "no ops/sec in the output of perf bench sched pipe: $(printf '%s\n' "$out" | tail -n 1)"
	echo "$ops"
}

# Look for a program named $2 (an extended regex, e.g. "switch_btf|switch_raw") that process
# $1 has attached, through a BPF link it holds; sets found_id and found_name when found,
# leaves found_id empty otherwise.
found_id=
found_name=
find_attached_prog() {
	local pid=$1 names=$2 f id json
	found_id=
	for f in /proc/"$pid"/fdinfo/*; do
		grep -q '^link_id:' "$f" 2>/dev/null || continue
		id=$(awk '$1 == "prog_id:" { print $2; exit }' "$f" 2>/dev/null || true)
		[ -n "$id" ] || continue
		json=$(bpftool prog show id "$id" -j 2>/dev/null || true)
		if [[ $json =~ \"name\":\"($names)\" ]]; then
			found_id=$id
			found_name=${BASH_REMATCH[1]}
			return 0
		fi
	done
}

# "RUN_TIME_NS RUN_CNT" of program $1 (0 0 while bpf_stats is off).
prog_stats() {
	local json t c
	json=$(bpftool prog show id "$1" -j 2>/dev/null) || die "bpftool cannot show program $1 any more"
	t=$(printf '%s' "$json" | grep -o '"run_time_ns":[0-9]*' | head -n 1 | cut -d: -f2 || true)
	c=$(printf '%s' "$json" | grep -o '"run_cnt":[0-9]*' | head -n 1 | cut -d: -f2 || true)
	echo "${t:-0} ${c:-0}"
}

# Start bpfmeter and wait until its sched_switch program is attached; sets bm_pid, prog_id
# and prog_name.
prog_id=
prog_name=
start_bpfmeter() {
	local args=(--csv -i 1) i
	[ "$events_set" -eq 0 ] || args+=(-e "$events")
	[ "$by_process" -eq 0 ] || args+=(--by process)
	"$bpfmeter" "${args[@]}" >/dev/null 2>"$tmp/bpfmeter.err" &
	bm_pid=$!
	prog_id=
	for ((i = 0; i < 200; i++)); do
		if ! running "$bm_pid"; then
			stop_bpfmeter
			die "bpfmeter exited (status $bm_rc) before attaching: $(tail -n 1 "$tmp/bpfmeter.err")"
		fi
		find_attached_prog "$bm_pid" 'switch_btf|switch_raw'
		if [ -n "$found_id" ]; then
			prog_id=$found_id
			prog_name=$found_name
			return 0
		fi
		sleep 0.05
	done
	die "bpfmeter did not attach to sched_switch within 10 s"
}

# Start the empty hook and wait until it says "attached" and its empty_switch program shows
# through its link; sets eh_pid and empty_id.
empty_id=
start_empty() {
	local i
	"$empty_hook" >"$tmp/empty.out" 2>"$tmp/empty.err" &
	eh_pid=$!
	empty_id=
	for ((i = 0; i < 200; i++)); do
		if ! running "$eh_pid"; then
			stop_empty
			die "empty-hook exited (status $eh_rc) before attaching: $(tail -n 1 "$tmp/empty.err")"
		fi
		if grep -qx attached "$tmp/empty.out" 2>/dev/null; then
			find_attached_prog "$eh_pid" empty_switch
			if [ -n "$found_id" ]; then
				empty_id=$found_id
				return 0
			fi
		fi
		sleep 0.05
	done
	die "empty-hook did not attach to sched_switch within 10 s"
}

# Median of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) print "n/a"
			else printf "%.15g\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# One ping-pong run while program $1 is attached; sets run_ops, and run_t/run_c (run time
# in ns and run count of the program over the ping-pong window, 0 0 while bpf_stats is off).
measured_pingpong() {
	local s0 s1 t0 c0 t1 c1
	s0=$(prog_stats "$1")
	run_ops=$(pingpong "$loops")
	s1=$(prog_stats "$1")
	read -r t0 c0 <<<"$s0"
	read -r t1 c1 <<<"$s1"
	run_t=$((t1 - t0))
	run_c=$((c1 - c0))
}

# Prints "NS_PER_CALL RUN_CNT" from run_t/run_c, or "n/a n/a" without bpf_stats.
ns_per_call() {
	if [ "$use_stats" -eq 1 ] && [ "$run_c" -gt 0 ]; then
		awk -v t="$run_t" -v c="$run_c" 'BEGIN { printf "%.1f %d\n", t / c, c }'
	else
		echo "n/a n/a"
	fi
}

# One run with bpfmeter attached; appends to the result files and sets with_ops, ns, cnt.
run_with() {
	start_bpfmeter
	check_other_hooks 1
	measured_pingpong "$prog_id"
	with_ops=$run_ops
	stop_bpfmeter
	if [ "$bm_rc" -ne 0 ]; then
		echo "bench-overhead: warning: bpfmeter exited with status $bm_rc: $(tail -n 1 "$tmp/bpfmeter.err")" >&2
	fi
	if [ ! -e "$tmp/bpfmeter.said" ] && [ -s "$tmp/bpfmeter.err" ]; then
		sed 's/^/bench-overhead: bpfmeter stderr: /' "$tmp/bpfmeter.err" >&2
		: >"$tmp/bpfmeter.said"
	fi
	read -r ns cnt <<<"$(ns_per_call)"
	if [ "$ns" != n/a ]; then
		echo "$ns" >>"$tmp/ns"
		echo "$cnt" >>"$tmp/cnt"
	fi
	echo "$with_ops" >>"$tmp/with"
}

# One run with the empty hook attached; appends to the result files and sets empty_ops,
# empty_ns, empty_cnt.
run_empty() {
	start_empty
	check_other_hooks 1
	measured_pingpong "$empty_id"
	empty_ops=$run_ops
	stop_empty
	if [ "$eh_rc" -ne 0 ]; then
		echo "bench-overhead: warning: empty-hook exited with status $eh_rc: $(tail -n 1 "$tmp/empty.err")" >&2
	fi
	read -r empty_ns empty_cnt <<<"$(ns_per_call)"
	if [ "$empty_ns" != n/a ]; then
		echo "$empty_ns" >>"$tmp/empty_ns"
		echo "$empty_cnt" >>"$tmp/empty_cnt"
	fi
	echo "$empty_ops" >>"$tmp/empty"
}

run_without() {
	check_other_hooks 0
	without_ops=$(pingpong "$loops")
	echo "$without_ops" >>"$tmp/without"
}

# One ping-pong run with its two processes in the cgroups $pcg/cg1 (perf bench, the
# parent) and $pcg/cg2 (its forked worker, moved there once it shows); prints ops/sec.
pingpong_cg() {
	local n=$1 i c= ops pp
	(echo "$BASHPID" >"$pcg/cg1/cgroup.procs" && exec taskset -c 0 perf bench sched pipe -l "$n") >"$tmp/pp.out" 2>&1 &
	pp=$!
	for ((i = 0; i < 1000; i++)); do
		c=$(cat "/proc/$pp/task/$pp/children" 2>/dev/null || true)
		[ -z "$c" ] || break
		sleep 0.005
	done
	[ -n "$c" ] && echo "$c" >"$pcg/cg2/cgroup.procs" 2>/dev/null || echo "bench-overhead: warning: the ping-pong's worker was not moved to cg2" >&2
	wait "$pp" || die "perf bench sched pipe failed in the cgroups: $(tail -n 1 "$tmp/pp.out")"
	ops=$(awk '$2 == "ops/sec" { print $1; exit }' "$tmp/pp.out")
	[ -n "$ops" ] || die "no ops/sec in the output of perf bench sched pipe: $(tail -n 1 "$tmp/pp.out")"
	echo "$ops"
}

# Start perf stat counting in the 100 cgroups and wait until it holds its events.
start_perf_stat() {
	local i want
	want=$(($(nproc) * 100 * $(awk -F, '{ print NF }' <<<"$perf_events")))
	perf stat -a --for-each-cgroup "$perf_list" -e "$perf_events" -x, -o "$tmp/perfstat.csv" >/dev/null 2>"$tmp/perfstat.err" &
	ps_pid=$!
	for ((i = 0; i < 200; i++)); do
		running "$ps_pid" || die "perf stat exited before counting: $(tail -n 1 "$tmp/perfstat.err")"
		[ "$(find "/proc/$ps_pid/fd" -lname 'anon_inode:*perf_event*' 2>/dev/null | wc -l)" -lt "$want" ] || return 0
		sleep 0.05
	done
	die "perf stat did not open its $want events within 10 s"
}

# One run with perf stat counting per cgroup; appends to the result files, sets perfcg_ops.
run_perfcg() {
	check_other_hooks 0
	start_perf_stat
	perfcg_ops=$(pingpong_cg "$loops")
	stop_process "$ps_pid" "perf stat"
	ps_pid=
	# Both halves of the ping-pong should have been counted in their cgroups.
	if ! awk -F, '$4 ~ /cg[12]$/ && $1 + 0 > 0 { n[$4] = 1 } END { exit length(n) != 2 }' "$tmp/perfstat.csv"; then
		echo "bench-overhead: warning: perf stat did not count both cg1 and cg2: $(grep -v '^#' "$tmp/perfstat.csv" | head -n 2 | tr '\n' ' ')" >&2
	fi
	echo "$perfcg_ops" >>"$tmp/perfcg"
}

# --- The benchmark -----------------------------------------------------------------------
# The empty hook is built here, before anything is changed on the machine; make's progress
# lines go to a log so that stdout stays "key value" lines.
empty_hook=$repo/.output/empty-hook
if [ ! -x "$empty_hook" ]; then
	if ! (cd "$repo" && make -s bench-tools) >"$tmp/make.log" 2>&1; then
		die "cannot build the empty hook ('make -s bench-tools' in $repo failed): $(tail -n 1 "$tmp/make.log")"
	fi
	[ -x "$empty_hook" ] || die "'make -s bench-tools' did not produce $empty_hook"
fi

if [ "$use_stats" -eq 1 ]; then
	stats_saved=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q kernel.bpf_stats_enabled=1 || die "cannot set kernel.bpf_stats_enabled=1"
fi

echo "bpfmeter $bpfmeter"
echo "empty_hook $empty_hook"
if [ "$events_set" -eq 1 ]; then echo "events ${events:-none}"; else echo "events default"; fi
echo "loops $loops"
echo "rounds $rounds"
echo "bpf_stats $([ "$use_stats" -eq 1 ] && echo on || echo off)"
echo "by_process $by_process"
if [ "$perf_cgroup" -eq 1 ]; then
	mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	[ -n "$mnt" ] || die "no cgroup2 mount in /proc/self/mountinfo (--no-perf-cgroup runs without it)"
	pcg=$mnt/bench-overhead-$$
	rel=${pcg#"$mnt"/}
	mkdir "$pcg" "$pcg/cg1" "$pcg/cg2" || die "cannot make the cgroups under $pcg"
	perf_list=$rel/cg1,$rel/cg2
	for ((i = 1; i <= 98; i++)); do
		mkdir "$pcg/idle$i"
		perf_list+=,$rel/idle$i
	done
	if [ -z "$perf_events" ]; then
		perf_events=task-clock
		if perf stat -e cycles -x, true 2>&1 >/dev/null | grep -q ',cycles' &&
			! perf stat -e cycles -x, true 2>&1 >/dev/null | grep -q 'not supported\|not counted'; then
			perf_events=cycles
		fi
	fi
	echo "perf_cgroup on events $perf_events cgroups 100"
else
	echo "perf_cgroup off"
fi

# Warm-up, not counted: first runs of the ping-pong, of the empty hook and of bpfmeter (page
# cache, CPU frequency) tend to be outliers. It also checks that all work before the long part.
warm=$((loops / 10 > 0 ? loops / 10 : 1))
ops=$(pingpong "$warm")
echo "warmup_without_ops $ops"
start_empty
ops=$(pingpong "$warm")
stop_empty
echo "warmup_empty_ops $ops"
start_bpfmeter
ops=$(pingpong "$warm")
stop_bpfmeter
echo "warmup_with_ops $ops"
echo "hook $prog_name"
if [ "$perf_cgroup" -eq 1 ]; then
	start_perf_stat
	ops=$(pingpong_cg "$warm")
	stop_process "$ps_pid" "perf stat"
	ps_pid=
	echo "warmup_perfcg_ops $ops"
	# The same placement without perf stat: what the two cgroups alone cost, for reference.
	echo "warmup_split_ops $(pingpong_cg "$warm")"
fi

# The arms in their order of round 1; round r starts at arm (r - 1) % (number of arms).
arms=(without empty bpfmeter)
[ "$perf_cgroup" -eq 0 ] || arms+=(perfcg)
na=${#arms[@]}
for ((r = 1; r <= rounds; r++)); do
	order=
	for ((k = 0; k < na; k++)); do
		arm=${arms[(r - 1 + k) % na]}
		order+=${order:+,}$arm
		case $arm in
		without) run_without ;;
		empty) run_empty ;;
		bpfmeter) run_with ;;
		perfcg) run_perfcg ;;
		esac
	done
	ratio=$(awk -v a="$with_ops" -v b="$without_ops" 'BEGIN { printf "%.3f", a / b }')
	ratio_empty=$(awk -v a="$empty_ops" -v b="$without_ops" 'BEGIN { printf "%.3f", a / b }')
	ratio_vs_empty=$(awk -v a="$with_ops" -v b="$empty_ops" 'BEGIN { printf "%.3f", a / b }')
	echo "$ratio" >>"$tmp/ratio"
	echo "$ratio_empty" >>"$tmp/ratio_empty"
	echo "$ratio_vs_empty" >>"$tmp/ratio_vs_empty"
	if [ "$ns" != n/a ] && [ "$empty_ns" != n/a ]; then
		ns_over=$(awk -v a="$ns" -v b="$empty_ns" 'BEGIN { printf "%.1f", a - b }')
		echo "$ns_over" >>"$tmp/ns_over"
	else
		ns_over=n/a
	fi
	pc=
	if [ "$perf_cgroup" -eq 1 ]; then
		ratio_perfcg=$(awk -v a="$perfcg_ops" -v b="$without_ops" 'BEGIN { printf "%.3f", a / b }')
		perfcg_vs=$(awk -v a="$perfcg_ops" -v b="$with_ops" 'BEGIN { printf "%.3f", a / b }')
		echo "$ratio_perfcg" >>"$tmp/ratio_perfcg"
		echo "$perfcg_vs" >>"$tmp/perfcg_vs"
		pc=" perfcg_ops $perfcg_ops ratio_perfcg $ratio_perfcg perfcg_vs_bpfmeter $perfcg_vs"
	fi
	echo "round $r order $order without_ops $without_ops empty_ops $empty_ops with_ops $with_ops" \
		"ratio $ratio ratio_empty $ratio_empty ratio_vs_empty $ratio_vs_empty" \
		"bpf_ns_per_call $ns empty_ns_per_call $empty_ns ns_over_empty $ns_over" \
		"run_cnt $cnt empty_run_cnt $empty_cnt$pc"
done

# Median of the numbers in file $1, with three decimals.
median3() {
	median <"$1" | awk '{ printf "%.3f", $1 }'
}

ratio_median=$(median3 "$tmp/ratio")
ratio_empty_median=$(median3 "$tmp/ratio_empty")
echo "without_ops_median $(median <"$tmp/without")"
echo "with_ops_median $(median <"$tmp/with")"
echo "empty_ops_median $(median <"$tmp/empty")"
echo "ratio_median $ratio_median"
echo "ratio_min $(sort -g "$tmp/ratio" | head -n 1)"
echo "ratio_max $(sort -g "$tmp/ratio" | tail -n 1)"
echo "ratio_target $target"
echo "ratio_target_met $(awk -v r="$ratio_median" -v t="$target" 'BEGIN { print (r >= t) ? "yes" : "no" }')"
echo "other_sched_switch_hooks_max $([ -s "$tmp/others" ] && sort -g "$tmp/others" | tail -n 1 || echo 0)"
if [ -s "$tmp/ns" ]; then
	echo "bpf_ns_per_call_median $(median <"$tmp/ns" | awk '{ printf "%.0f", $1 }')"
	echo "bpf_run_cnt_per_run_median $(median <"$tmp/cnt" | awk '{ printf "%.0f", $1 }')"
	echo "bpf_run_cnt_per_loop $(median <"$tmp/cnt" | awk -v l="$loops" '{ printf "%.2f", $1 / l }')"
else
	echo "bpf_ns_per_call_median n/a"
	echo "bpf_run_cnt_per_run_median n/a"
	echo "bpf_run_cnt_per_loop n/a"
fi
echo "ratio_empty_median $ratio_empty_median"
echo "ratio_vs_empty_median $(median3 "$tmp/ratio_vs_empty")"
if [ -s "$tmp/empty_ns" ]; then
	echo "empty_ns_per_call_median $(median <"$tmp/empty_ns" | awk '{ printf "%.0f", $1 }')"
else
	echo "empty_ns_per_call_median n/a"
fi
# The median of the per-round differences (each round's two runs are close in time).
if [ -s "$tmp/ns_over" ]; then
	echo "bpfmeter_ns_over_empty_median $(median <"$tmp/ns_over" | awk '{ printf "%.0f", $1 }')"
else
	echo "bpfmeter_ns_over_empty_median n/a"
fi
if [ "$perf_cgroup" -eq 1 ]; then
	echo "perfcg_ops_median $(median <"$tmp/perfcg")"
	echo "ratio_perfcg_median $(median3 "$tmp/ratio_perfcg")"
	echo "perfcg_vs_bpfmeter_median $(median3 "$tmp/perfcg_vs")"
fi
if awk -v r="$ratio_empty_median" -v t="$target" 'BEGIN { exit !(r < t) }'; then
	judge=ratio_vs_empty_median
	[ ! -s "$tmp/ns_over" ] || judge+=" and bpfmeter_ns_over_empty_median"
	echo "note the empty hook alone is below the target on this machine (ratio_empty_median $ratio_empty_median < $target): no sched_switch hook can meet it here; judge bpfmeter by $judge"
fi
