#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The deployment files, read for the tests: scripts/deploy/capabilities, scripts/deploy/mounts,
the Containerfile's ENTRYPOINT and the DaemonSet of scripts/deploy/daemonset.yaml (PyYAML).

  deploy.py check       PASS:/FAIL: lines: the DaemonSet against the lists and the image
  deploy.py caps        the capability set, one a line
  deploy.py mounts      NAME HOST_PATH CONTAINER_PATH MODE, one a line
  deploy.py command     the container's command and args, one a line, NUL-free
  deploy.py get KEY     port, liveness_path, limit_cpu_millis, limit_memory_bytes, env_node
"""
import json
import os
import re
import sys

import yaml

DEPLOY = os.environ.get("DEPLOY_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                    "scripts", "deploy")
PREFIX = os.environ.get("TEST_PREFIX", "") + "daemonset/"


def lines_of(name):
    with open(os.path.join(DEPLOY, name)) as f:
        return [l.split() for l in f if l.strip() and not l.lstrip().startswith("#")]


def caps():
    return [l[0] for l in lines_of("capabilities")]


def mounts():
    out = []
    for l in lines_of("mounts"):
        if len(l) != 4 or l[3] not in ("ro", "rw"):
            sys.exit(f"scripts/deploy/mounts: '{' '.join(l)}' is not NAME HOST_PATH CONTAINER_PATH ro|rw")
        out.append(tuple(l))
    return out


def entrypoint():
    with open(os.path.join(DEPLOY, "Containerfile")) as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", text, re.M)
    if not m:
        sys.exit("scripts/deploy/Containerfile: no ENTRYPOINT [...] line")
    return json.loads(m.group(1))


def daemonset():
    with open(os.path.join(DEPLOY, "daemonset.yaml")) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    ds = [d for d in docs if d.get("kind") == "DaemonSet"]
    if len(ds) != 1:
        sys.exit(f"scripts/deploy/daemonset.yaml: {len(ds)} DaemonSets, wanted 1")
    return ds[0]


def container(ds):
    cs = ds["spec"]["template"]["spec"]["containers"]
    if len(cs) != 1:
        sys.exit(f"scripts/deploy/daemonset.yaml: {len(cs)} containers, wanted 1")
    return cs[0]


def command(c):
    return list(c.get("command", [])) + [str(a) for a in c.get("args", [])]


def port_of(cmd):
    """The port of the -o prometheus:ADDR:PORT among the args."""
    for i, a in enumerate(cmd):
        spec = cmd[i + 1] if a in ("-o", "--output") and i + 1 < len(cmd) else None
        if spec and spec.startswith("prometheus:"):
            return int(spec.rsplit(":", 1)[1])
    return None


def cpu_millis(q):
    q = str(q)
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


def memory_bytes(q):
    q = str(q)
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 10**3, "M": 10**6, "G": 10**9}
    for u, f in units.items():
        if q.endswith(u):
            return int(float(q[: -len(u)]) * f)
    return int(q)


def check():
    ds = daemonset()
    pod = ds["spec"]["template"]["spec"]
    c = container(ds)
    sc = c.get("securityContext", {})
    results = []

    def expect(name, ok, why):
        results.append((name, ok, why))

    want = sorted(caps())
    got = sorted("CAP_" + x if not x.startswith("CAP_") else x for x in sc.get("capabilities", {}).get("add", []))
    drop = sc.get("capabilities", {}).get("drop", [])
    expect("capabilities_exactly_the_deploy_set", got == want and drop == ["ALL"],
           f"add {got} drop {drop}, wanted add {want} drop ['ALL']")

    vols = {v["name"]: v for v in pod.get("volumes", [])}
    vms = {m["name"]: m for m in c.get("volumeMounts", [])}
    seen = sorted((n, vols[n].get("hostPath", {}).get("path"), vms[n]["mountPath"],
                   "ro" if vms[n].get("readOnly") else "rw")
                  for n in vms if n in vols)
    extra = sorted(set(vols) ^ set(vms))
    expect("mounts_exactly_the_deploy_set", seen == sorted(mounts()) and not extra,
           f"mounts {seen} (unpaired {extra}), wanted {sorted(mounts())}")

    bad = []
    if sc.get("privileged") is not False:
        bad.append(f"privileged {sc.get('privileged')}")
    if sc.get("allowPrivilegeEscalation") is not False:
        bad.append(f"allowPrivilegeEscalation {sc.get('allowPrivilegeEscalation')}")
    if sc.get("readOnlyRootFilesystem") is not True:
        bad.append("root filesystem not read-only")
    for k in ("hostPID", "hostNetwork", "hostIPC"):
        if pod.get(k):
            bad.append(f"{k} true")
    expect("not_privileged_no_escalation_readonly_root", not bad, "; ".join(bad))

    cmd = command(c)
    port = port_of(cmd)
    live = c.get("livenessProbe", {}).get("httpGet", {})
    ports = [p["containerPort"] for p in c.get("ports", [])]
    ann = ds["spec"]["template"]["metadata"].get("annotations", {})
    ok = (port is not None and live.get("port") == port and ports == [port]
          and ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(port))
    expect("liveness_scrape_and_container_port_match_args", ok,
           f"args port {port}, liveness {live.get('port')}, containerPort {ports}, "
           f"annotations {ann}")

    want_cmd = entrypoint() + ["--host", "$(NODE_NAME)"]
    expect("command_is_the_image_entrypoint_plus_host", cmd == want_cmd,
           f"command {cmd}, wanted {want_cmd}")

    env = {e["name"]: e for e in c.get("env", [])}
    ref = env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    expect("node_name_from_downward_api", ref == "spec.nodeName",
           f"NODE_NAME from {ref}, wanted fieldRef spec.nodeName")

    lim = c.get("resources", {}).get("limits", {})
    req = c.get("resources", {}).get("requests", {})
    ok = all(k in lim and k in req for k in ("cpu", "memory")) and \
        cpu_millis(req["cpu"]) <= cpu_millis(lim["cpu"]) and \
        memory_bytes(req["memory"]) <= memory_bytes(lim["memory"])
    expect("requests_within_limits", ok, f"requests {req}, limits {lim}")

    tol = pod.get("tolerations", [])
    expect("tolerates_every_taint", {"operator": "Exists"} in tol, f"tolerations {tol}")

    for name, ok, why in results:
        print(f"PASS: {PREFIX}{name}" if ok else f"FAIL: {PREFIX}{name}: {why}")
    return 0 if all(ok for _, ok, _ in results) else 1


def get(key):
    c = container(daemonset())
    lim = c.get("resources", {}).get("limits", {})
    values = {
        "port": port_of(command(c)),
        "liveness_path": c.get("livenessProbe", {}).get("httpGet", {}).get("path"),
        "liveness_port": c.get("livenessProbe", {}).get("httpGet", {}).get("port"),
        "limit_cpu_millis": cpu_millis(lim.get("cpu", 0)),
        "limit_memory_bytes": memory_bytes(lim.get("memory", 0)),
    }
    if key not in values:
        sys.exit(f"deploy.py get: unknown key '{key}': one of {', '.join(values)}")
    return values[key]


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "check":
        return check()
    if what == "caps":
        print("\n".join(caps()))
    elif what == "mounts":
        print("\n".join(" ".join(m) for m in mounts()))
    elif what == "command":
        print("\n".join(command(container(daemonset()))))
    elif what == "get" and len(sys.argv) == 3:
        print(get(sys.argv[2]))
    else:
        sys.exit(f"usage: {sys.argv[0]} check | caps | mounts | command | get KEY")
    return 0


if __name__ == "__main__":
    sys.exit(main())
