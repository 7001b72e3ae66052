#!/usr/bin/env bash
# Containers and pods recognised from their cgroup paths, and rolled up with --group-by.
set -u
. "$(dirname "$0")/../lib.sh"

T_LAB=labels/kubernetes_containers_labelled
T_POD=labels/group_by_pod_sums_its_containers
need_root_and_cgroup2 $T_LAB $T_POD

uid=0b1c2d3e_4f50_6172_8394_a5b6c7d8e9f0
id1=$(printf 'a%.0s' $(seq 64))
id2=$(printf 'b%.0s' $(seq 64))
pod="kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$uid.slice"
c1=$(make_cgroup "$pod/cri-containerd-$id1.scope")
c2=$(make_cgroup "$pod/cri-containerd-$id2.scope")

# The load lasts as long as both runs (each loads its BPF programs first: over a second on a
# busy host), and is stopped after them.
run_in_cgroup "$c1" stress-ng --cpu 1 --cpu-load 40 --timeout 60s --quiet
run_in_cgroup "$c2" stress-ng --cpu 1 --cpu-load 20 --timeout 60s --quiet
"$BPFMETER" -i 1 -d 3 -e '' --energy-source none -o csv:"$TMP/plain.csv" 2>/dev/null
"$BPFMETER" -i 1 -d 3 -e '' --energy-source none --group-by pod -o csv:"$TMP/pod.csv" 2>/dev/null
kill "${BG_PIDS[@]}" 2>/dev/null
wait "${BG_PIDS[@]}"

csv=$TMP/plain.csv
got=$(awk -F, -v ct="$(csv_col "$csv" target)" -v cr="$(csv_col "$csv" runtime)" \
	-v ci="$(csv_col "$csv" container_id)" -v cp="$(csv_col "$csv" pod_uid)" -v cq="$(csv_col "$csv" qos)" \
	-v t="$(target_of "$c1")" '$ct == t { print $cr, $ci, $cp, $cq; exit }' "$csv")
want="containerd $id1 ${uid//_/-} burstable"
[ "$got" = "$want" ] && pass $T_LAB || fail $T_LAB "labels '$got', expected '$want'"

csv=$TMP/pod.csv
res=$(awk -F, -v ct="$(csv_col "$csv" target)" -v cc="$(csv_col "$csv" cpu_ns)" -v cts="$(csv_col "$csv" timestamp)" \
	-v ci="$(csv_col "$csv" interval_s)" -v podt="$(target_of "$CG_BASE")/$pod" -v n="$(nproc)" '
	NR > 1 { sum[$cts] += $cc; len[$cts] = $ci }
	NR > 1 && $ct == podt { pods++; podcpu += $cc }
	NR > 1 && $ct ~ /cri-containerd/ { members++ }
	END { for (t in sum) { d = sum[t] - n * len[t] * 1e9; if (d < 0) d = -d; if (d > 0.01 * n * len[t] * 1e9) off++ }
	      printf "%d %d %d %.0f", pods, members + 0, off + 0, podcpu }' "$csv")
read -r pods members off podcpu <<<"$res"
if [ "$pods" -ge 3 ] && [ "$members" -eq 0 ] && [ "$off" -eq 0 ] && [ "$podcpu" -gt 1000000000 ]; then
	pass $T_POD
else
	fail $T_POD "pod rows $pods, container rows left $members, intervals not adding up $off, pod cpu $podcpu ns"
fi
