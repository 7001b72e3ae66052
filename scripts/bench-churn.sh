#!/usr/bin/env bash
# Cgroup churn (as root): does bpfmeter's memory stay flat, do its BPF maps drain, and is
# the CPU time of short-lived cgroups reported, while 100 cgroups a second come and go?
#
#   [BPFMETER=PATH] [RATE=N] [WORK_MS=N] [WARMUP=S] bench-churn.sh [SECONDS [BPFMETER_ARGS...]]
#
# bpfmeter runs with -i 1 -o csv:FILE (and BPFMETER_ARGS). Meanwhile, for SECONDS (default
# 300), .output/cgload (make bench-tools) makes RATE (100) cgroups a second, each with a
# child that spins WORK_MS (5) of CPU and exits, after which its cgroup's cpu.stat
# usage_usec is read and the cgroup removed. Prints:
#   rss T KB                  VmRSS every 10 s (T seconds into the churn)
#   rss_warmup_kb, rss_end_kb VmRSS at WARMUP s (default a fifth of SECONDS, at least 10)
#                             and at the end; rss_growth_kb their difference (target:
#                             within 1024 kB, flat after the warm-up)
#   map_entries ...           entries left at the end in each hash map bpfmeter holds
#                             (through its fds, or inside its map-in-map maps), and their
#                             total: what the churn left behind after the last interval;
#                             map_entries_total_start is the total before the churn (the
#                             host's own cgroups)
#   removed, removed_ran      cgroups removed, and those of them whose usage_usec > 0
#   in_csv                    how many of the removed_ran have rows in the CSV, by their id
#                             (the cgroup_id column) or name: by_path (the path, resolved
#                             while it lived) and by_id (cgroup-<id>, unresolved); missing
#                             is the rest, which should be 0
#   cpu_reported_ratio        their cpu_ns in the CSV over their usage_usec (~1)
#   asan_leaks                with BPFMETER=./bpfmeter-asan: whether LeakSanitizer
#                             reported a leak on its stderr at exit (yes/no)
# It exits 0 whenever it ran, 1 with a one-line error when it cannot, 2 for bad usage.
set -euo pipefail

die() {
	echo "bench-churn: $*" >&2
	exit 1
}

case ${1:-} in
-h | --help)
	sed -n '2,/^set -euo/{ /^set -euo/d; s/^# \{0,1\}//; p }' "$0"
	exit 0
	;;
esac
secs=${1:-300}
[ $# -eq 0 ] || shift
rate=${RATE:-100}
work=${WORK_MS:-5}
for v in "$secs" "$rate" "$work"; do
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || {
		echo "bench-churn: SECONDS, RATE and WORK_MS must be positive integers, not '$v'" >&2
		exit 2
	}
done
w=$((secs / 5 / 10 * 10))
warmup=${WARMUP:-$((w > 10 ? w : 10))}
[[ $warmup =~ ^[0-9]+$ ]] && [ "$warmup" -lt "$secs" ] || {
	echo "bench-churn: WARMUP must be an integer below SECONDS ($secs), not '$warmup'" >&2
	exit 2
}

repo=$(cd "$(dirname "$0")/.." && pwd)
bpfmeter=${BPFMETER:-$repo/bpfmeter}
[ "$EUID" -eq 0 ] || die "must run as root (it loads BPF programs and makes cgroups)"
for tool in bpftool jq make; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found in PATH: run scripts/install-deps.sh"
done
[ -x "$bpfmeter" ] || die "bpfmeter not built ($bpfmeter is missing): run 'make' in $repo"
mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$mnt" ] || die "no cgroup2 mount in /proc/self/mountinfo"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-churn.XXXXXX")
rel=/bpfmeter-bench-churn-$$
cg=$mnt$rel
bm_pid= load_pid=

stop_pid() {
	local pid=$1 sig=$2 i
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$load_pid" TERM
	stop_pid "$bm_pid" INT
	[ ! -d "$cg" ] || find "$cg" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
	[ ! -d "$cg" ] || rmdir "$cg" 2>/dev/null || echo "bench-churn: cannot remove $cg" >&2
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

vmrss() {
	awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo -
}

# The ids of the BPF maps process $1 holds, and of the maps inside its map-in-map maps.
map_ids() {
	local f id
	for f in /proc/"$1"/fdinfo/*; do
		awk '$1 == "map_id:" { print $2 }' "$f" 2>/dev/null || true
	done | sort -un >"$tmp/ids"
	cat "$tmp/ids"
	for id in $(cat "$tmp/ids"); do
		bpftool map show id "$id" -j 2>/dev/null | jq -e '.type | endswith("_of_maps")' >/dev/null 2>&1 || continue
		bpftool map dump id "$id" -j 2>/dev/null | grep -o '"inner_map_id": *[0-9]*' | grep -o '[0-9]*$' || true
	done | sort -un | comm -13 "$tmp/ids" -
}

# Entries in the hash maps bpfmeter holds: "map_entries ..." lines with $2 set, and the total.
map_entries() {
	local id type name n total=0
	for id in $(map_ids "$bm_pid"); do
		bpftool map show id "$id" -j >"$tmp/m.json" 2>/dev/null || continue
		type=$(jq -r .type "$tmp/m.json")
		[[ $type == *hash* ]] || continue
		name=$(jq -r '.name // "-"' "$tmp/m.json")
		n=$(bpftool map dump id "$id" -j 2>/dev/null | jq length 2>/dev/null || echo -)
		[ -z "$1" ] || echo "map_entries $name id $id type $type entries $n max_entries $(jq -r .max_entries "$tmp/m.json")"
		[ "$n" = - ] || total=$((total + n))
	done
	echo "$total"
}

echo "bpfmeter $bpfmeter"
echo "seconds $secs"
echo "rate_per_s $rate"
echo "work_ms $work"
echo "warmup_s $warmup"
mkdir "$cg"
"$bpfmeter" -i 1 -o "csv:$tmp/x.csv" "$@" >"$tmp/bm.out" 2>"$tmp/bm.err" &
bm_pid=$!
for ((i = 0; i < 600; i++)); do
	grep -q ',target,' "$tmp/x.csv" 2>/dev/null && break
	kill -0 "$bm_pid" 2>/dev/null || die "bpfmeter exited before its first interval: $(grep -v warning "$tmp/bm.err" | tail -n 1)"
	sleep 0.1
done
grep -q ',target,' "$tmp/x.csv" 2>/dev/null || die "bpfmeter wrote no interval within 60 s"
echo "rss_start_kb $(vmrss "$bm_pid")"
echo "map_entries_total_start $(map_entries "")"

"$repo/.output/cgload" churn "$cg" "$rate" "$secs" "$work" >"$tmp/gone" 2>"$tmp/load.err" &
load_pid=$!
t0=$(date +%s)
next=10
rss_warm=-
while kill -0 "$load_pid" 2>/dev/null; do
	el=$(($(date +%s) - t0))
	if [ "$el" -ge "$next" ]; then
		r=$(vmrss "$bm_pid")
		echo "rss $next $r"
		[ "$next" -ne "$warmup" ] || rss_warm=$r
		next=$((next + 10))
	fi
	if [ "$rss_warm" = - ] && [ "$el" -ge "$warmup" ]; then rss_warm=$(vmrss "$bm_pid"); fi
	kill -0 "$bm_pid" 2>/dev/null || die "bpfmeter exited during the churn: $(grep -v warning "$tmp/bm.err" | tail -n 1)"
	sleep 0.5
done
wait "$load_pid" || {
	load_pid=
	die "cgload failed: $(tail -n 1 "$tmp/load.err")"
}
load_pid=
# Two more intervals: the last cgroups' time is reported and their entries drained.
sleep 2.5
rss_end=$(vmrss "$bm_pid")
echo "rss_warmup_kb $rss_warm"
echo "rss_end_kb $rss_end"
if [ "$rss_warm" != - ] && [ "$rss_end" != - ]; then
	g=$((rss_end - rss_warm))
	echo "rss_growth_kb $g"
	echo "rss_flat_within_1mb $([ "${g#-}" -le 1024 ] && echo yes || echo no)"
fi

map_entries 1 | sed '$s/^/map_entries_total /'

stop_pid "$bm_pid" INT
bm_pid=

# Removed cgroups against the CSV: cgroup_id is column 5, the target (name) column 4.
awk -F, -v rel="$rel" '
	FNR == NR {
		split($0, f, " ")
		if (f[1] != "gone") next
		n++
		if (f[4] > 0) { ran[f[3]] = 1; use[f[3]] = f[4]; r++; p = f[2]; sub(/^.*\//, "", p); byname[rel "/" p] = f[3] }
		next
	}
	$3 != "target" { next }
	{ id = $5 }
	!(id in ran) && ($4 in byname) { id = byname[$4] }
	!(id in ran) && $4 ~ /^cgroup-[0-9]+$/ { id = substr($4, 8) }
	id in ran { ns[id] += $8; if ($4 ~ /^cgroup-/) byid[id] = 1; else bypath[id] = 1 }
	END {
		for (i in ns) { seen++; cpu += ns[i]; u += use[i] }
		for (i in bypath) p++
		for (i in byid) if (!(i in bypath)) q++
		printf "removed %d\nremoved_ran %d\nin_csv %d\nin_csv_by_path %d\nin_csv_by_id_only %d\nmissing %d\n", n, r, seen, p, q, r - seen
		printf "cpu_reported_ratio %s\n", u ? sprintf("%.3f", cpu / (u * 1000)) : "n/a"
	}' "$tmp/gone" "$tmp/x.csv"
echo "overflow_rows $(awk -F, '$3 == "target" && $4 == "overflow"' "$tmp/x.csv" | wc -l)"
if grep -q 'Sanitizer' "$tmp/bm.err"; then
	echo "asan_leaks $(grep -q 'ERROR: LeakSanitizer' "$tmp/bm.err" && echo yes || echo no)"
	grep -E 'ERROR: (LeakSanitizer|AddressSanitizer)|SUMMARY:' "$tmp/bm.err" | sed 's/^/asan /' || true
elif [[ $bpfmeter == *asan* ]]; then
	echo "asan_leaks no (no sanitizer report on stderr)"
fi
