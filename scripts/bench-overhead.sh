#!/usr/bin/env bash
# Benchmark what bpfmeter's sched_switch hook costs context switches.
#
# A pipe ping-pong between two processes pinned to CPU 0 (perf bench sched pipe) runs
# alternately without and with bpfmeter attached, PAIRS times; the order inside a pair
# alternates (without/with, then with/without, ...) so that machine drift hits both sides.
# During the "with" runs kernel.bpf_stats_enabled is 1 and the run_time_ns/run_cnt of
# bpfmeter's switch_btf (or switch_raw) program, read just before and just after the
# ping-pong, give the hook's cost in ns per call.
#
# Output is one "key value ..." line per pair and per summary figure, e.g.
#   pair 1 order without,with without_ops 224719 with_ops 198076 ratio 0.881 bpf_ns_per_call 193.7 run_cnt 1200303
#   ratio_median 0.868
#   bpf_ns_per_call_median 194
# It is a benchmark, not a test: it exits 0 whenever it ran, whatever the figures; it exits 1
# (with a one-line error) when it cannot run, 2 for bad usage.
#
# Note: bpf_stats itself adds two clock reads per program run, so the "with" throughput
# includes that cost; --no-bpf-stats measures the throughput without it (and no ns/call).
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: scripts/bench-overhead.sh [OPTIONS]

Measure the throughput of a context-switch ping-pong pinned to CPU 0 with and without
bpfmeter attached, and the cost per call of bpfmeter's sched_switch program. Run as root.

Options:
  -l, --loops N        ping-pong loops per run (env LOOPS, default 600000: ~3 s per run)
  -n, --pairs N        with/without pairs (env PAIRS, default 5, at least 1)
  -e, --events LIST    passed to bpfmeter -e (default: bpfmeter's default events)
      --no-bpf-stats   leave kernel.bpf_stats_enabled alone (no ns/call figures)
  -h, --help           show this help

Environment: BPFMETER is the bpfmeter binary (default ./bpfmeter at the top of the repo).
Target: ratio_median (with/without) >= 0.97.
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
pairs=${PAIRS:-5}
events=
events_set=0
use_stats=1
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
	-n | --pairs)
		[ $# -ge 2 ] || bad_usage "$1 needs a value"
		pairs=$2
		shift 2
		;;
	--pairs=*)
		pairs=${1#*=}
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
	--no-bpf-stats)
		use_stats=0
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
[[ $pairs =~ ^[1-9][0-9]*$ ]] || bad_usage "pairs must be a positive integer, not '$pairs'"

# --- What the benchmark needs -------------------------------------------------------------
[ "$EUID" -eq 0 ] || die "must run as root (it loads BPF programs and sets kernel.bpf_stats_enabled)"
for tool in perf bpftool taskset sysctl; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found in PATH: install it"
done
[ -x "$bpfmeter" ] || die "bpfmeter not built ($bpfmeter is missing): run 'make' in $repo"
[ -r /proc/sys/kernel/bpf_stats_enabled ] || die "kernel.bpf_stats_enabled is missing: this kernel cannot report BPF run time"

# --- Cleanup on any exit -------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-overhead.XXXXXX")
bm_pid=
stats_saved=

# Whether process $1 is still running (not gone, not a zombie waiting to be reaped).
running() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Stop bpfmeter with SIGINT and reap it, with SIGKILL after 5 s; its exit status goes in bm_rc.
bm_rc=0
stop_bpfmeter() {
	local pid=$bm_pid i
	[ -n "$pid" ] || return 0
	kill -INT "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		running "$pid" || break
		sleep 0.1
	done
	if running "$pid"; then
		echo "bench-overhead: bpfmeter (pid $pid) ignored SIGINT for 5 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	bm_rc=0
	wait "$pid" 2>/dev/null || bm_rc=$?
	bm_pid=
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_bpfmeter
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

# Look for the switch_btf/switch_raw program that process $1 has attached, through a BPF
# link it holds; sets prog_id and prog_name when found, leaves prog_id empty otherwise.
prog_name=
find_attached_prog() {
	local pid=$1 f id json
	prog_id=
	for f in /proc/"$pid"/fdinfo/*; do
		grep -q '^link_id:' "$f" 2>/dev/null || continue
		id=$(awk '$1 == "prog_id:" { print $2; exit }' "$f" 2>/dev/null || true)
		[ -n "$id" ] || continue
		json=$(bpftool prog show id "$id" -j 2>/dev/null || true)
		if [[ $json =~ \"name\":\"(switch_btf|switch_raw)\" ]]; then
			prog_id=$id
			prog_name=${BASH_REMATCH[1]}
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

# Start bpfmeter and wait until its sched_switch program is attached; sets bm_pid, prog_id.
prog_id=
start_bpfmeter() {
	local args=(--csv -i 1) i
	[ "$events_set" -eq 0 ] || args+=(-e "$events")
	"$bpfmeter" "${args[@]}" >/dev/null 2>"$tmp/bpfmeter.err" &
	bm_pid=$!
	prog_id=
	for ((i = 0; i < 200; i++)); do
		if ! running "$bm_pid"; then
			stop_bpfmeter
			die "bpfmeter exited (status $bm_rc) before attaching: $(tail -n 1 "$tmp/bpfmeter.err")"
		fi
		find_attached_prog "$bm_pid"
		[ -z "$prog_id" ] || return 0
		sleep 0.05
	done
	die "bpfmeter did not attach to sched_switch within 10 s"
}

# Median of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) print "n/a"
			else printf "%.15g\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# One run with bpfmeter attached; appends to the result files and sets with_ops, ns, cnt.
run_with() {
	local s0 s1 t0 c0 t1 c1
	start_bpfmeter
	check_other_hooks 1
	s0=$(prog_stats "$prog_id")
	with_ops=$(pingpong "$loops")
	s1=$(prog_stats "$prog_id")
	read -r t0 c0 <<<"$s0"
	read -r t1 c1 <<<"$s1"
	stop_bpfmeter
	if [ "$bm_rc" -ne 0 ]; then
		echo "bench-overhead: warning: bpfmeter exited with status $bm_rc: $(tail -n 1 "$tmp/bpfmeter.err")" >&2
	fi
	if [ ! -e "$tmp/bpfmeter.said" ] && [ -s "$tmp/bpfmeter.err" ]; then
		sed 's/^/bench-overhead: bpfmeter stderr: /' "$tmp/bpfmeter.err" >&2
		: >"$tmp/bpfmeter.said"
	fi
	cnt=$((c1 - c0))
	if [ "$use_stats" -eq 1 ] && [ "$cnt" -gt 0 ]; then
		ns=$(awk -v t=$((t1 - t0)) -v c="$cnt" 'BEGIN { printf "%.1f", t / c }')
		echo "$ns" >>"$tmp/ns"
		echo "$cnt" >>"$tmp/cnt"
	else
		ns=n/a
		cnt=n/a
	fi
	echo "$with_ops" >>"$tmp/with"
}

run_without() {
	check_other_hooks 0
	without_ops=$(pingpong "$loops")
	echo "$without_ops" >>"$tmp/without"
}

# --- The benchmark -----------------------------------------------------------------------
if [ "$use_stats" -eq 1 ]; then
	stats_saved=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q kernel.bpf_stats_enabled=1 || die "cannot set kernel.bpf_stats_enabled=1"
fi

echo "bpfmeter $bpfmeter"
if [ "$events_set" -eq 1 ]; then echo "events ${events:-none}"; else echo "events default"; fi
echo "loops $loops"
echo "pairs $pairs"
echo "bpf_stats $([ "$use_stats" -eq 1 ] && echo on || echo off)"

# Warm-up, not counted: first runs of the ping-pong and of bpfmeter (page cache, CPU
# frequency) tend to be outliers. It also checks that both work before the long part.
warm=$((loops / 10 > 0 ? loops / 10 : 1))
ops=$(pingpong "$warm")
echo "warmup_without_ops $ops"
start_bpfmeter
ops=$(pingpong "$warm")
stop_bpfmeter
echo "warmup_with_ops $ops"
echo "hook $prog_name"

for ((p = 1; p <= pairs; p++)); do
	if ((p % 2)); then
		order=without,with
		run_without
		run_with
	else
		order=with,without
		run_with
		run_without
	fi
	ratio=$(awk -v a="$with_ops" -v b="$without_ops" 'BEGIN { printf "%.3f", a / b }')
	echo "$ratio" >>"$tmp/ratio"
	echo "pair $p order $order without_ops $without_ops with_ops $with_ops ratio $ratio bpf_ns_per_call $ns run_cnt $cnt"
done

ratio_median=$(median <"$tmp/ratio")
ratio_median=$(awk -v r="$ratio_median" 'BEGIN { printf "%.3f", r }')
echo "without_ops_median $(median <"$tmp/without")"
echo "with_ops_median $(median <"$tmp/with")"
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
fi
