#!/usr/bin/env bash
# The container image (make image: scripts/deploy/Containerfile over the static binary) run
# with podman on runc as the DaemonSet runs it: the command, args and NODE_NAME of
# scripts/deploy/daemonset.yaml, every capability dropped but those of
# scripts/deploy/capabilities, no new privileges, a read-only root, the host paths of
# scripts/deploy/mounts (the cgroup2 mount from mountinfo; a powercap tree driven by the RAPL
# simulator in place of the host's virtual devices, as there is no RAPL here), the seccomp
# profile of scripts/deploy/seccomp.sh, and no network but loopback. A busy cgroup on the host
# must be measured, with its name and the node's name, scraped inside the container's network
# namespace; the image must be the binary alone, and the memory and CPU it used within the
# DaemonSet's limits (the figures are printed).
set -u
. "$(dirname "$0")/../lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
DEPLOY_PY=$REPO/tests/deploy.py
T_IMAGE=container/image_is_the_static_binary_alone_under_8MB
T_RUN=container/runs_as_uid_0_given_only_the_capability_set_keeping_bpf_and_perfmon
T_NET=container/no_network_but_loopback
T_BUSY=container/busy_host_cgroup_measured_with_its_name_and_the_node_name
T_ENERGY=container/energy_read_from_the_mounted_powercap_tree
T_LIVE=container/liveness_path_answers_on_the_manifest_port
T_RES=container/memory_and_cpu_within_the_manifest_limits
ALL="$T_IMAGE $T_RUN $T_NET $T_BUSY $T_ENERGY $T_LIVE $T_RES"

skip_all() {
	for t in $ALL; do skip "$t" "$1"; done
	exit 0
}
fail_all() {
	for t in $ALL; do fail "$t" "$1"; done
	exit 1
}

# shellcheck disable=SC2086
root_only $ALL || exit 0
for c in podman runc nsenter curl python3; do
	command -v $c >/dev/null || skip_all "$c is not installed (run scripts/install-deps.sh)"
done
python3 -c 'import yaml' 2>/dev/null || skip_all "python3 has no PyYAML (run scripts/install-deps.sh)"

NODE=node-$$.test
IMAGE=localhost/bpfmeter-test-$$:latest
NAME=bpfmeter-test-$$
# podman's own configuration for this test alone: no default ulimits to set (this machine's
# root may not raise them), and nothing of the machine's changed.
printf '[containers]\ndefault_ulimits = []\n' >"$TMP/containers.conf"
export CONTAINERS_CONF=$TMP/containers.conf
container_cleanup() {
	podman rm -f -t 0 "$NAME" >/dev/null 2>&1
	podman rmi -f "$IMAGE" >/dev/null 2>&1
	cleanup
}
trap container_cleanup EXIT

# --- The image: the binary alone, a few MB --------------------------------------------------
make -s -C "$REPO" image IMAGE="$IMAGE" >"$TMP/make.out" 2>&1 ||
	fail_all "make image failed: $(tail -n 3 "$TMP/make.out" | tr '\n' ' ')"
size=$(podman image inspect -f '{{.Size}}' "$IMAGE")
podman image save -q --format oci-dir -o "$TMP/oci" "$IMAGE" >/dev/null 2>&1
files=$(for b in "$TMP"/oci/blobs/sha256/*; do tar -tf "$b" 2>/dev/null; done | sort | tr '\n' ' ')
layers=$(podman image inspect -f '{{len .RootFS.Layers}}' "$IMAGE")
echo "    image $IMAGE: $size bytes, $layers layer(s): $files"
if [ "$files" = "bpfmeter " ] && [ "$layers" -eq 1 ] && [ "$size" -lt $((8 << 20)) ]; then
	pass $T_IMAGE
else
	fail $T_IMAGE "size $size, layers $layers, files '$files' (wanted bpfmeter alone, under 8 MB)"
fi

# --- The host side: a powercap tree with known power, and a busy cgroup -----------------------
SIM=$REPO/.output/rapl-sim
[ -x "$SIM" ] || make -s -C "$REPO" sim >/dev/null
mkdir -p "$TMP/virt/powercap" "$TMP/state"
cp -r "$REPO/tests/fixtures/powercap/nested" "$TMP/virt/powercap/intel-rapl"
"$SIM" --root "$TMP/virt/powercap/intel-rapl" intel-rapl:0=const:40 intel-rapl:1=const:20 \
	>"$TMP/sim.out" 2>&1 &
BG_PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMP/sim.out" && break; sleep 0.1; done
busy=$(make_cgroup busy)
run_in_cgroup "$busy" stress-ng --cpu 1 --timeout 120 --quiet
BUSY_TARGET=$(target_of "$busy")

# --- The container, as the DaemonSet runs it ------------------------------------------------
mapfile -t cmd < <(python3 "$DEPLOY_PY" command)
[ ${#cmd[@]} -gt 1 ] || fail_all "no command in scripts/deploy/daemonset.yaml"
args=("${cmd[@]:1}")
args=("${args[@]//\$(NODE_NAME)/$NODE}")
caps=$(python3 "$DEPLOY_PY" caps | paste -sd, -)
PORT=$(python3 "$DEPLOY_PY" get port)
LIVE_PATH=$(python3 "$DEPLOY_PY" get liveness_path)
LIVE_PORT=$(python3 "$DEPLOY_PY" get liveness_port)
mounts=()
while read -r name host ctr mode; do
	case $name in
	cgroup) host=$CG_MOUNT ;;
	sys-virtual) host=$TMP/virt ;;
	state) host=$TMP/state ;;
	esac
	mounts+=(-v "$host:$ctr:$mode")
done < <(python3 "$DEPLOY_PY" mounts)
"$REPO/scripts/deploy/seccomp.sh" >"$TMP/seccomp.json" || fail_all "scripts/deploy/seccomp.sh failed"

podman run -d --name "$NAME" --runtime runc --ulimit host \
	--cap-drop all --cap-add "$caps" --security-opt no-new-privileges \
	--security-opt seccomp="$TMP/seccomp.json" --read-only --network none \
	-e NODE_NAME="$NODE" "${mounts[@]}" --entrypoint "${cmd[0]}" "$IMAGE" "${args[@]}" \
	>"$TMP/run.out" 2>&1 || fail_all "podman run failed: $(tail -n 3 "$TMP/run.out" | tr '\n' ' ')"
pid=$(podman inspect -f '{{.State.Pid}}' "$NAME")
scrape() { # PATH: from the host, inside the container's network namespace
	nsenter -t "$pid" -n curl -sf -m 5 "http://127.0.0.1:$PORT$1"
}
# Until the busy cgroup has a second of CPU time in the scrape (or the container is gone).
for _ in $(seq 150); do
	scrape /metrics >"$TMP/m1" 2>/dev/null &&
		awk -v t="$BUSY_TARGET" 'index($0, "bpfmeter_target_cpu_seconds_total{target=\"" t "\"") == 1 && $NF >= 1 { f = 1 }
			END { exit !f }' "$TMP/m1" && break
	[ "$(podman inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] || break
	sleep 0.2
done
podman logs "$NAME" >"$TMP/logs" 2>&1
if [ "$(podman inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then
	fail_all "the container is not running: $(tr '\n' ' ' <"$TMP/logs" | head -c 600)"
fi

# Capabilities: the set, as far as this machine's root has it to give (podman drops what is
# not in its own bounding set).
want_mask=$(python3 - "$caps" <<'EOF'
import sys
nr = {"CAP_DAC_READ_SEARCH": 2, "CAP_SYS_RAWIO": 17, "CAP_SYS_RESOURCE": 24, "CAP_PERFMON": 38, "CAP_BPF": 39}
bnd = int(open("/proc/self/status").read().split("CapBnd:")[1].split()[0], 16)
want = sum(1 << nr[c] for c in sys.argv[1].split(","))
print(f"{want & bnd:016x}", " ".join(c for c in sys.argv[1].split(",") if not bnd >> nr[c] & 1))
EOF
)
read -r want_hex not_here <<<"$want_mask"
status=$(grep -E '^(Uid|CapPrm|CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs|Seccomp):' "/proc/$pid/status" | tr -s '\t' ' ' | tr '\n' ';')
[ -z "$not_here" ] || echo "    not in this machine's bounding set, so not given: $not_here"
echo "    bpfmeter in the container: $status"
ro=$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$NAME")
# Given the set (the bounding set shows it), bpfmeter keeps CAP_BPF and CAP_PERFMON once started.
kept_hex=000000c000000000
if grep -q "Uid: 0 0 0 0;" <<<"$status" && grep -q "CapEff: $kept_hex;" <<<"$status" &&
	grep -q "CapPrm: $kept_hex;" <<<"$status" && grep -q "CapBnd: $want_hex;" <<<"$status" &&
	grep -q "NoNewPrivs: 1;" <<<"$status" && grep -q "Seccomp: 2;" <<<"$status" && [ "$ro" = true ]; then
	pass $T_RUN
else
	fail $T_RUN "wanted uid 0, CapEff/CapPrm $kept_hex, CapBnd $want_hex, NoNewPrivs 1, Seccomp 2, read-only root (got $ro): $status"
fi

ifaces=$(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' "/proc/$pid/net/dev" | sort | tr '\n' ' ')
if [ "$ifaces" = "lo " ]; then
	pass $T_NET
else
	fail $T_NET "interfaces in the container: $ifaces"
fi

busy_cpu=$(awk -v t="$BUSY_TARGET" 'index($0, "bpfmeter_target_cpu_seconds_total{target=\"" t "\"") == 1 { print $NF }' "$TMP/m1")
host_label=$(grep -o 'bpfmeter_build_info{[^}]*}' "$TMP/m1" | grep -o 'host="[^"]*"')
echo "    $BUSY_TARGET: ${busy_cpu:-no} CPU seconds; build info $host_label"
if [ -n "$busy_cpu" ] && awk -v c="$busy_cpu" 'BEGIN { exit !(c >= 1) }' && [ "$host_label" = "host=\"$NODE\"" ]; then
	pass $T_BUSY
else
	fail $T_BUSY "target $BUSY_TARGET cpu '${busy_cpu}', label '$host_label' (wanted host=\"$NODE\"); logs: $(tr '\n' ' ' <"$TMP/logs" | head -c 400)"
fi

busy_j=$(awk -v t="$BUSY_TARGET" 'index($0, "bpfmeter_target_energy_joules_total{target=\"" t "\"") == 1 && /domain="package"/ { s += $NF } END { print s + 0 }' "$TMP/m1")
src=$(grep -o 'energy_source="[^"]*"' "$TMP/m1")
echo "    $BUSY_TARGET: $busy_j J of package energy, $src"
if [ "$src" = 'energy_source="powercap"' ] && awk -v j="$busy_j" 'BEGIN { exit !(j > 0) }'; then
	pass $T_ENERGY
else
	fail $T_ENERGY "$src, busy target $busy_j J (wanted powercap and energy > 0)"
fi

code=$(nsenter -t "$pid" -n curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$LIVE_PORT$LIVE_PATH")
if [ "$code" = 200 ] && [ "$LIVE_PORT" = "$PORT" ]; then
	pass $T_LIVE
else
	fail $T_LIVE "GET $LIVE_PATH on port $LIVE_PORT (metrics on $PORT): HTTP $code"
fi

# Resources: the container's memory high-water mark (its memory cgroup: bpfmeter's own pages
# and the BPF maps the kernel charges to it) and bpfmeter's CPU per interval once running
# (its own process_cpu_seconds_total over intervals, at the manifest's interval of 1 s).
val() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }
# Five intervals on from the first scrape: process_cpu_seconds_total has 10 ms ticks.
iv1=$(val "$TMP/m1" bpfmeter_intervals_total)
for _ in $(seq 100); do
	scrape /metrics >"$TMP/m2" 2>/dev/null && [ "$(val "$TMP/m2" bpfmeter_intervals_total)" -ge $((iv1 + 5)) ] && break
	sleep 0.2
done
cpu_per_iv=$(awk -v c1="$(val "$TMP/m1" process_cpu_seconds_total)" -v c2="$(val "$TMP/m2" process_cpu_seconds_total)" \
	-v i1="$iv1" -v i2="$(val "$TMP/m2" bpfmeter_intervals_total)" \
	'BEGIN { if (i2 > i1) printf "%.4f", (c2 - c1) / (i2 - i1); else print "" }')
cpu_total=$(val "$TMP/m2" process_cpu_seconds_total)
rss=$(awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$pid/status")
memcg=
if [ -n "$(podman inspect -f '{{.State.CgroupPath}}' "$NAME" 2>/dev/null)" ]; then
	cgp=$(podman inspect -f '{{.State.CgroupPath}}' "$NAME")
	for f in "/sys/fs/cgroup/memory$cgp/memory.max_usage_in_bytes" "$CG_MOUNT$cgp/memory.peak"; do
		[ -r "$f" ] && memcg=$(cat "$f") && break
	done
fi
lim_mem=$(python3 "$DEPLOY_PY" get limit_memory_bytes)
lim_cpu=$(python3 "$DEPLOY_PY" get limit_cpu_millis)
echo "    resources: peak RSS $((rss / 1024)) KiB, memory cgroup peak $((${memcg:-0} / 1024)) KiB (limit $((lim_mem / 1024)) KiB); CPU ${cpu_per_iv:-?} s per 1 s interval once running, ${cpu_total:-?} s in all since the start (limit ${lim_cpu}m)"
if [ -n "$cpu_per_iv" ] && [ -n "$memcg" ] && [ "$memcg" -lt "$lim_mem" ] && [ "$rss" -lt "$lim_mem" ] &&
	awk -v c="$cpu_per_iv" -v l="$lim_cpu" 'BEGIN { exit !(c * 1000 < l) }'; then
	pass $T_RES
else
	fail $T_RES "memory cgroup peak '${memcg}', RSS $rss (limit $lim_mem); CPU per interval '$cpu_per_iv' (limit ${lim_cpu}m)"
fi
