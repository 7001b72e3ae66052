#!/usr/bin/env bash
# Fleet-size cost (as root): what bpfmeter and perf's per-cgroup counting each cost the host
# at N active cgroups, side by side on the same load.
#
#   [BPFMETER=PATH] [BEFORE=PATH] [DURATION=S] bench-scale.sh [-v] [-d SECONDS] [N...]
#
# For each N (default 100 1000 10000), .output/cgload (make bench-tools) puts one worker
# process in each of N leaf cgroups (clone3 CLONE_INTO_CGROUP, at nice 10); each wakes every
# 250 ms (PERIOD_MS) at a phase of its own and spins 20 us (WORK_US) of CPU, so that every
# cgroup is active in every 1 s interval. Past 2,000 cgroups the defaults are 900 ms and
# 5 us: on a 2-CPU VM 10,000 workers waking 4 times a second take both CPUs by their
# wake-ups alone (load average in the thousands), and the arms would measure starvation. On that load, one after the other, for D seconds each
# (DURATION or -d, default 10):
#   bpfmeter     $BPFMETER -o csv:FILE -i 1 -d D -e ''   (time only; --max-cgroups N+64
#                when N+64 is past its default of 4096)
#   bpfmeter-ev  the same with bpfmeter's default events, when they open (not on a VM
#                without a PMU: bpfmeter falls back to time only, and the arm is left out)
#   before       $BEFORE the same as bpfmeter, when BEFORE=PATH names an older build
#   perf         perf stat -a --for-each-cgroup LIST -e task-clock -I 1000, LIST the N
#                cgroups' paths relative to the cgroup2 mount (the mechanism of PowerAPI's
#                sensor). perf looks a cgroup up on the perf_event v1 mount, or on the
#                cgroup2 mount where there is none, as on this hybrid layout. Past 128 kB
#                (a single argument's limit, at some thousand cgroups) LIST is the regex
#                DIR/[0-9]+$ instead, which perf expands to the same N cgroups. perf holds
#                one fd per cgroup, CPU and event: ulimit -n is raised to fit. Where the
#                hard limit is below that and cannot be raised (no CAP_SYS_RESOURCE, as in
#                some containers: 20,000 here, and N=10,000 on 2 CPUs needs 20,000 and
#                more), the perf arm is not run and its row says so.
# The arms' order rotates from one N to the next, to spread drift on a shared host.
#
# The table's columns, per N and tool:
#   fds, threads      ls /proc/PID/fd and Threads:, 2 s before the end
#   peak_kb, rss_kb   VmHWM (the peak) and VmRSS at the last sample before it exited
#   start_ms          CPU time (utime+stime) spent before the steady window
#   cpu_pct           CPU time over the steady window (from max(2 s, D/4) to the end), %
#                     of one core, from the tasks' schedstat (ns, not ticks)
#   ms_iv             that CPU time per 1 s interval
#   rows_iv           bpfmeter: CSV rows per interval of the N cgroups; perf: cgroups it
#                     counted (not "<not counted>") per interval: both saw the load
#   bpf_kb            kernel memory of the BPF maps the process holds: the memlock: lines of
#                     /proc/PID/fdinfo of its bpf-map fds, plus maps reached only through
#                     its map-in-map maps (bpftool's bytes_memlock); -v lists every map.
#                     perf: n/a (its cost is the perf events, see fds)
#   bpf_kb_256        the same extrapolated to 256 possible CPUs: per-CPU maps
#                     (percpu_hash, percpu_array, lru_percpu_hash, percpu_cgroup_storage)
#                     and perf_event_array times 256/possible CPUs, the others as measured.
#                     It assumes the same entries.
# Before the table, one "load N ... ran R" line per N: R is how many of the N cgroups'
# cpu.stat usage_usec grew while the arms ran.
# It exits 0 whenever it ran, 1 with a one-line error when it cannot, 2 for bad usage.
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/{ /^set -euo/d; s/^# \{0,1\}//; p }' "$0"
}

die() {
	echo "bench-scale: $*" >&2
	exit 1
}

bad_usage() {
	echo "bench-scale: $*; see --help" >&2
	exit 2
}

repo=$(cd "$(dirname "$0")/.." && pwd)
bpfmeter=${BPFMETER:-$repo/bpfmeter}
before=${BEFORE:-}
dur=${DURATION:-10}
verbose=0
sizes=()
while [ $# -gt 0 ]; do
	case $1 in
	-v | --verbose) verbose=1 ;;
	-d | --duration)
		[ $# -ge 2 ] || bad_usage "$1 needs a value"
		dur=$2
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	-*) bad_usage "unknown option '$1'" ;;
	*)
		[[ $1 =~ ^[1-9][0-9]*$ ]] || bad_usage "N must be a positive integer, not '$1'"
		sizes+=("$1")
		;;
	esac
	shift
done
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 10000)
[[ $dur =~ ^[1-9][0-9]*$ ]] && [ "$dur" -ge 4 ] || bad_usage "the duration must be an integer of at least 4 s, not '$dur'"

[ "$EUID" -eq 0 ] || die "must run as root (it loads BPF programs and makes cgroups)"
for tool in perf bpftool jq make; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found in PATH: run scripts/install-deps.sh"
done
[ -x "$bpfmeter" ] || die "bpfmeter not built ($bpfmeter is missing): run 'make' in $repo"
[ -z "$before" ] || [ -x "$before" ] || die "BEFORE=$before is not an executable"
mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$mnt" ] || die "no cgroup2 mount in /proc/self/mountinfo"
ncpu=$(awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, r, "-"); c += n == 2 ? r[2] - r[1] + 1 : 1 } } END { print c }' /sys/devices/system/cpu/possible)
hz=$(getconf CLK_TCK)

# --- Cleanup on any exit -------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-scale.XXXXXX")
# Short: perf's LIST repeats it N times.
cg=$mnt/bs$$
load_pid=
tool_pid=

stop_pid() {
	local pid=$1 sig=$2 i
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

stop_load() {
	stop_pid "$load_pid" TERM
	load_pid=
	[ ! -d "$cg" ] || find "$cg" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
	[ ! -d "$cg" ] || rmdir "$cg" 2>/dev/null || echo "bench-scale: cannot remove $cg" >&2
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$tool_pid" INT
	stop_load
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ ! -x "$repo/.output/cgload" ]; then
	(cd "$repo" && make -s bench-tools) >"$tmp/make.log" 2>&1 ||
		die "'make -s bench-tools' failed: $(tail -n 1 "$tmp/make.log")"
fi

# --- Helpers -----------------------------------------------------------------------------
# "usage_usec" of every cgroup of the load, one "NAME USEC" a line.
usages() {
	(cd "$cg" && find . -mindepth 2 -maxdepth 2 -name cpu.stat -print0 |
		xargs -0 awk '$1 == "usage_usec" { split(FILENAME, p, "/"); print p[2], $2 }')
}

# Sum of the schedstat run time (ns) of process $1's tasks.
run_ns() {
	{ cat /proc/"$1"/task/*/schedstat 2>/dev/null || true; } | awk '{ s += $1 } END { printf "%d\n", s }'
}

# utime+stime of process $1, in ms.
ticks_ms() {
	awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%d\n", ($12 + $13) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo -
}

# The BPF maps that process $1 holds: "ID TYPE MEMLOCK NAME HOW" lines in $2.
bpf_maps() {
	local pid=$1 f id ml inner
	: >"$2"
	bpftool map show -j >"$tmp/maps.json" 2>/dev/null || echo '[]' >"$tmp/maps.json"
	jq -r '.[] | "\(.id) \(.type) \(.bytes_memlock // 0) \(.name // "-")"' "$tmp/maps.json" >"$tmp/maps.all"
	: >"$tmp/maps.fd"
	for f in /proc/"$pid"/fdinfo/*; do
		id=$(awk '$1 == "map_id:" { print $2 }' "$f" 2>/dev/null) || continue
		[ -n "$id" ] || continue
		ml=$(awk '$1 == "memlock:" { print $2 }' "$f" 2>/dev/null)
		grep -qx "$id" "$tmp/maps.fd" && continue # the same map through two fds
		echo "$id" >>"$tmp/maps.fd"
		awk -v id="$id" -v ml="${ml:-0}" '$1 == id { print $1, $2, ml, $4, "fd" }' "$tmp/maps.all" >>"$2"
	done
	# Maps only an outer map (array_of_maps, hash_of_maps) holds have no fd of their own.
	for id in $(awk '$2 ~ /_of_maps$/ { print $1 }' "$2"); do
		bpftool map dump id "$id" -j 2>/dev/null | grep -o '"inner_map_id": *[0-9]*' | grep -o '[0-9]*$' |
			sort -u >"$tmp/inner" || true
		while read -r inner; do
			grep -qx "$inner" "$tmp/maps.fd" && continue
			echo "$inner" >>"$tmp/maps.fd"
			awk -v id="$inner" -v outer="$id" '$1 == id { print $1, $2, $3, $4, "inner-of-" outer }' "$tmp/maps.all" >>"$2"
		done <"$tmp/inner"
	done
}

# "KB KB_AT_256" of the map list $1.
bpf_kb() {
	awk -v n="$ncpu" '
		{ b += $3; s = ($2 ~ /^(percpu_hash|percpu_array|lru_percpu_hash|percpu_cgroup_storage|perf_event_array)$/) ? 256 / n : 1; e += $3 * s }
		END { printf "%.0f %.0f\n", b / 1024, e / 1024 }' "$1"
}

# Run tool $1 (arm name) at N=$2 as the command "${@:3}", which exits by itself after D
# seconds; samples it and appends its row to the table.
measure() {
	local arm=$1 n=$2 pid t0 now el st status v hwm=- rss=- thr=- fds=- w0= w1= r0= r1= s0= start_ms=- kb=n/a kb256=n/a
	local steady_at rows mapped=0
	shift 2
	steady_at=$((dur / 4 > 2 ? dur / 4 : 2))
	rm -f "$tmp/$arm.csv" # bpfmeter appends to a CSV file that exists
	"$@" >"$tmp/$arm.out" 2>"$tmp/$arm.err" &
	tool_pid=$!
	pid=$tool_pid
	t0=$(date +%s%N)
	while :; do
		st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null || true)
		[ -n "$st" ] && [ "$st" != Z ] || break
		now=$(date +%s%N)
		el=$(((now - t0) / 1000000))
		status=$(cat "/proc/$pid/status" 2>/dev/null || true)
		# An exiting process has no memory left to show: its last sample stands.
		v=$(awk '/^VmRSS/ { print $2 }' <<<"$status")
		[ -z "$v" ] || {
			rss=$v
			hwm=$(awk '/^VmHWM/ { print $2 }' <<<"$status")
			thr=$(awk '/^Threads/ { print $2 }' <<<"$status")
			v=$(run_ns "$pid")
			[ "$v" -eq 0 ] || { r1=$v w1=$now; }
		}
		if [ -z "$w0" ] && [ -n "$r1" ] && [ "$el" -ge $((steady_at * 1000)) ]; then
			w0=$now r0=$r1
			s0=$(ticks_ms "$pid")
			start_ms=$s0
		fi
		if [ "$mapped" -eq 0 ] && [ "$el" -ge $(((dur - 2) * 1000)) ]; then
			mapped=1
			fds=$({ ls "/proc/$pid/fd" 2>/dev/null || true; } | wc -l)
			if [[ $arm != perf ]]; then
				bpf_maps "$pid" "$tmp/$arm.maps"
				read -r kb kb256 <<<"$(bpf_kb "$tmp/$arm.maps")"
				if [ "$verbose" -eq 1 ]; then
					awk -v a="$arm" -v n="$n" '{ printf "map N %s tool %s id %s type %s name %s memlock_kb %.1f via %s\n", n, a, $1, $2, $4, $3 / 1024, $5 }' "$tmp/$arm.maps"
				fi
			fi
		fi
		sleep 0.25
	done
	wait "$pid" || {
		tool_pid=
		die "$arm failed at N=$n: $(grep -v warning "$tmp/$arm.err" | tail -n 1)"
	}
	tool_pid=
	[ -n "$w0" ] && [ "$w1" -gt "$w0" ] || die "$arm at N=$n exited before its steady window"
	if [ "$arm" = perf ]; then
		# One line per cgroup and interval: time,count,unit,event,cgroup,...
		rows=$(awk -F, '/^#/ || NF < 5 { next } { t[$1] = 1; if ($2 != "<not counted>" && $2 + 0 > 0) c++ }
			END { k = length(t); printf "%.0f\n", k ? c / k : 0 }' "$tmp/perf.csv")
	else
		rows=$(awk -F, -v d="/bs$$/" '$3 == "target" && index($4, d) == 1 { t[$1] = 1; c++ }
			END { k = length(t); printf "%.0f\n", k ? c / k : 0 }' "$tmp/$arm.csv")
	fi
	awk -v n="$n" -v a="$arm" -v fds="$fds" -v thr="$thr" -v hwm="$hwm" -v rss="$rss" -v sm="$start_ms" \
		-v ns="$((r1 - r0))" -v wall="$((w1 - w0))" -v rows="$rows" -v kb="$kb" -v kb256="$kb256" 'BEGIN {
		printf "%-6s %-12s %6s %7s %8s %8s %8s %7.2f %7.2f %7s %8s %10s\n", n, a, fds, thr, hwm, rss, sm,
			ns / wall * 100, ns / wall * 1000, rows, kb, kb256 }' >>"$tmp/table"
}

# perf's fds: one per cgroup, CPU and event, and some; the limit is raised to fit.
perf_arm() {
	local n=$1 list lim
	list=$(seq -s, -f "bs$$/%.0f" 0 $((n - 1)))
	[ "${#list}" -lt 131000 ] || list="bs$$/[0-9]+\$"
	lim=$((n * ncpu + 1024))
	echo "$list" >"$tmp/perf.list"
	if [ "$lim" -gt "$(ulimit -Hn)" ] && ! (ulimit -Hn "$lim") 2>/dev/null; then
		echo "note perf at N=$n needs about $lim fds, past the hard limit $(ulimit -Hn) that this process cannot raise (no CAP_SYS_RESOURCE): perf not run"
		printf "%-6s %-12s %s\n" "$n" perf "not run: needs $lim fds, hard limit $(ulimit -Hn)" >>"$tmp/table"
		return 0
	fi
	[ "$lim" -gt "$(ulimit -Sn)" ] || lim=$(ulimit -Sn)
	measure perf "$n" bash -c 'ulimit -Hn "$1" && ulimit -Sn "$1" && exec perf stat -a --for-each-cgroup "$(cat "$2")" \
		-e task-clock -I 1000 --interval-count "$3" -x, -o "$4"' perf-arm "$lim" "$tmp/perf.list" "$dur" "$tmp/perf.csv"
}

bpfmeter_arm() {
	local arm=$1 bin=$2 n=$3 ev=("${@:4}") extra=()
	[ $((n + 64)) -le 4096 ] || extra=(--max-cgroups $((n + 64)))
	measure "$arm" "$n" "$bin" -o "csv:$tmp/$arm.csv" -i 1 -d "$dur" "${ev[@]}" "${extra[@]}"
}

# --- The benchmark -----------------------------------------------------------------------
echo "bpfmeter $bpfmeter"
[ -z "$before" ] || echo "before $before"
echo "duration_s $dur"
echo "possible_cpus $ncpu"
echo "cgroup2 $mnt"

# Do bpfmeter's default events open here?
arms=(bpfmeter perf)
[ -z "$before" ] || arms+=(before)
"$bpfmeter" -o "csv:$tmp/probe.csv" -i 1 -d 1 >/dev/null 2>"$tmp/probe.err" || die "$bpfmeter failed: $(tail -n 1 "$tmp/probe.err")"
if grep -q 'events not available' "$tmp/probe.err"; then
	echo "note bpfmeter's default events do not open here (no PMU): no bpfmeter-ev arm"
else
	arms+=(bpfmeter-ev)
fi

round=0
for n in "${sizes[@]}"; do
	mkdir "$cg"
	(cd "$cg" && seq 0 $((n - 1)) | xargs mkdir)
	period=${PERIOD_MS:-$([ "$n" -le 2000 ] && echo 250 || echo 900)}
	work=${WORK_US:-$([ "$n" -le 2000 ] && echo 20 || echo 5)}
	: >"$tmp/load.out"
	"$repo/.output/cgload" steady "$cg" "$n" "$period" "$work" >"$tmp/load.out" 2>"$tmp/load.err" &
	load_pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -qx "ready $n" "$tmp/load.out" && break
		kill -0 "$load_pid" 2>/dev/null || die "cgload failed at N=$n: $(tail -n 1 "$tmp/load.err")"
		sleep 0.1
	done
	grep -qx "ready $n" "$tmp/load.out" || die "cgload did not start its $n workers within 60 s"
	sleep 1
	usages | sort >"$tmp/u0"
	order=
	for ((k = 0; k < ${#arms[@]}; k++)); do
		arm=${arms[(round + k) % ${#arms[@]}]}
		order+=${order:+,}$arm
		case $arm in
		bpfmeter) bpfmeter_arm bpfmeter "$bpfmeter" "$n" -e '' ;;
		bpfmeter-ev) bpfmeter_arm bpfmeter-ev "$bpfmeter" "$n" ;;
		before) bpfmeter_arm before "$before" "$n" -e '' ;;
		perf) perf_arm "$n" ;;
		esac
	done
	usages | sort >"$tmp/u1"
	ran=$(join "$tmp/u0" "$tmp/u1" | awk '$3 > $2 { c++ } END { print c + 0 }')
	echo "load N $n order $order period_ms $period work_us $work ran $ran perf_list $([[ $(cat "$tmp/perf.list") == *'['* ]] && echo regex || echo paths)"
	stop_load
	round=$((round + 1))
done

echo "note bpf_kb_256 assumes the same entries at 256 CPUs (bpfmeter's accounting hash holds (cgroup, CPU) pairs: where cgroups run on more CPUs it holds more; scripts/bench-kmem.sh extrapolates that); perf's kernel memory is its perf events (fds), not counted"
printf "%-6s %-12s %6s %7s %8s %8s %8s %7s %7s %7s %8s %10s\n" N tool fds threads peak_kb rss_kb start_ms cpu_pct ms_iv rows_iv bpf_kb bpf_kb_256
cat "$tmp/table"
