#!/usr/bin/env bash
# Kernel memory of bpfmeter's BPF maps: measured here (bytes_memlock, as bpftool shows it, of
# every map the running bpfmeter holds) and extrapolated to a bigger host.
#
#   [CGROUPS=N] [HOST_CPUS=256] [ACTIVE=4096] [KS="1 2 4 8 16"] scripts/bench-kmem.sh [BPFMETER]
#
# bpfmeter runs for 5 s with four counters (software events here: the same value size as four
# hardware counters) while CGROUPS cgroups (default 1000) are made active, as bench-rss.sh
# does. Prints one line per map (name, type, key and value size, entries, memlock), the sum,
# then the extrapolation to HOST_CPUS possible CPUs with ACTIVE cgroups each running on K of
# them per interval: the per-CPU maps scale with the CPUs; the cgroups' accounting hash holds
# the (cgroup, CPU) pairs that run (an entry stays while its pair runs, and goes after two
# intervals without), sized 1.1 to 1.25 times them once steady (the figures take 1.25), each
# entry costing the kernel's element size (measured from memlock) and a bucket of 16 bytes
# per power of two. The design before
# (a per-CPU hash of every cgroup up to --max-cgroups, 4,096 then) is computed beside it.
# A benchmark: exits 0 when it ran, 1 when it cannot (not root, no bpftool).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-./bpfmeter}
cpus=${HOST_CPUS:-256}
active=${ACTIVE:-4096}
ks=${KS:-1 2 4 8 16}
[ "$(id -u)" -eq 0 ] || { echo "bench-kmem: run as root" >&2; exit 1; }
command -v bpftool >/dev/null || { echo "bench-kmem: no bpftool (apt-get install bpftool)" >&2; exit 1; }
out=$(mktemp -d)
. scripts/bench/walker.sh
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || :
	walker_stop
	rm -rf "$out"
}
trap cleanup EXIT
n=${CGROUPS:-1000}
if [ "$n" -gt 0 ]; then
	walker_start kmem "$n"
fi
"$bin" -o "csv:$out/x.csv" -i 1 -d 6 -e cpu-clock,task-clock,page-faults,context-switches 2>"$out/err" &
pid=$!
sleep 5
ids=$(for f in /proc/$pid/fdinfo/*; do awk '$1 == "map_id:" { print $2 }' "$f" 2>/dev/null; done | sort -un)
[ -n "$ids" ] || { echo "bench-kmem: $bin holds no BPF maps: $(head -c 300 "$out/err")" >&2; exit 1; }
for id in $ids; do bpftool map show id "$id" -j; echo; done >"$out/maps.json"
wait "$pid" || :
pid=
python3 - "$out/maps.json" "$(nproc --all)" "$(cat /sys/devices/system/cpu/possible)" "$cpus" "$active" "$ks" <<'EOF'
import json, sys

path, _, possible, cpus, active, ks = sys.argv[1:]
cpus, active, ks = int(cpus), int(active), [int(k) for k in ks.split()]
lo, _, hi = possible.partition("-")
here = int(hi or lo) + 1  # possible CPUs here
maps = [json.loads(l) for l in open(path) if l.strip()]
pow2 = lambda n: 1 << max(0, (n - 1).bit_length())
print("%-16s %-18s %5s %6s %9s %12s" % ("map", "type", "key", "value", "entries", "memlock_B"))
total = 0
for m in maps:
    print("%-16s %-18s %5d %6d %9d %12d" % (m["name"], m["type"], m["bytes_key"], m["bytes_value"],
                                          m["max_entries"], m["bytes_memlock"]))
    total += m["bytes_memlock"]
print("total_here_B %d (%d possible CPUs)" % (total, here))

hashes = [m for m in maps if m["type"] == "hash" and m["name"].startswith("bm_acct")]
fixed = [m for m in maps if m not in hashes]
# Per-CPU maps grow with the CPUs; the others (ring buffer, arrays, the outer map) do not.
percpu = ("percpu_array", "percpu_hash", "lru_percpu_hash", "perf_event_array")
fixed_b = sum(m["bytes_memlock"] * (cpus / here if m["type"] in percpu else 1) for m in fixed)
h = hashes[0]
# memlock of a preallocated hash: elem x (entries + CPUs) + 16 x buckets + its struct.
elem = round((h["bytes_memlock"] - 16 * pow2(h["max_entries"]) - 1024) / (h["max_entries"] + here))
value = h["bytes_value"]
print("hash_element_B %d (key %d, value %d, the kernel's element header %d)" %
      (elem, h["bytes_key"], value, elem - 16 - value))
print("fixed_maps_at_%d_cpus_MB %.2f" % (cpus, fixed_b / 1e6))
print("%-10s %9s %9s %9s %10s" % ("cpus/cgrp", "pairs", "entries", "hash_MB", "total_MB"))
for k in ks:
    pairs = active * min(k, cpus)
    entries = (pairs * 5 // 4 + 255) // 256 * 256
    one = elem * (entries + cpus) + 16 * pow2(entries) + 40 * cpus + 1024
    print("%-10d %9d %9d %9.2f %10.2f" % (k, pairs, entries, one / 1e6, (one + fixed_b) / 1e6))
# Before: one per-CPU hash of (8 + 24 x 4) bytes on every CPU for every cgroup up to 4,096 + 2.
before = (48 + 8 + 8 * cpus) * 4098 + 104 * cpus * 4098 + 16 * pow2(4098)
print("before_per_cpu_hash_at_%d_cpus_MB %.2f (any number of active cgroups)" % (cpus, before / 1e6))
EOF
