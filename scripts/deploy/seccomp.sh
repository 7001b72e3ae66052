#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Print a seccomp profile for bpfmeter's container: podman's default (containers-common's
# seccomp.json, or the profile FILE given) with bpf allowed to CAP_BPF and perf_event_open to
# CAP_PERFMON, as containerd's RuntimeDefault (1.7 and later) and Docker's (23 and later) have
# it. containers-common's profile allows the two to CAP_SYS_ADMIN only, which bpfmeter is not
# given; podman takes the result with --security-opt seccomp=FILE, CRI-O as a Localhost profile.
#
#   scripts/deploy/seccomp.sh [FILE] > bpfmeter-seccomp.json
set -euo pipefail

base=${1:-/usr/share/containers/seccomp.json}
[ -r "$base" ] || {
	echo "seccomp.sh: cannot read the seccomp profile $base: install containers-common (podman), or name a profile" >&2
	exit 1
}
python3 - "$base" <<'PY'
import json, sys

path = sys.argv[1]
try:
    with open(path) as f:
        profile = json.load(f)
    rules = profile["syscalls"]
except (OSError, ValueError, KeyError, TypeError) as e:
    sys.exit(f"seccomp.sh: {path} is not a seccomp profile ({e}): name podman's seccomp.json")
# Out of every rule first: a rule that denies them without CAP_SYS_ADMIN would still match.
gated = {"bpf": "CAP_BPF", "perf_event_open": "CAP_PERFMON"}
for r in rules:
    r["names"] = [n for n in r.get("names", []) if n not in gated]
rules[:] = [r for r in rules if r["names"] or "name" in r]
rules += [{"names": [name], "action": "SCMP_ACT_ALLOW", "includes": {"caps": [cap]}}
          for name, g in gated.items() for cap in ("CAP_SYS_ADMIN", g)]
json.dump(profile, sys.stdout, indent=1)
print()
PY
