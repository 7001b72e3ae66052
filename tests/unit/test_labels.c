// SPDX-License-Identifier: BSD-2-Clause
/*
 * labels_parse() on cgroup paths as real hosts have them (cgroup v2 under the systemd and the
 * cgroupfs drivers, v1 controllers as /proc/PID/cgroup shows them), the paths that only look
 * like containers, and the --group-by keys, which must lose no CPU time when rolling up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "labels.h"
#include "unit.h"
#include "util.h"

#define ID1 "3f2a1b9c4d5e6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e"
#define ID2 "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
#define ID3 "4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce"
#define ID4 "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"
_Static_assert(sizeof(ID1) == 65 && sizeof(ID2) == 65 && sizeof(ID3) == 65 && sizeof(ID4) == 65,
	       "container ids are 64 digits");
/* The same shapes, wrong: one digit short, one too many, a non-hex digit, upper case. */
#define ID_63 "3f2a1b9c4d5e6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01"
#define ID_65 ID1 "0"
#define ID_G "3f2a1b9c4d5e6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01g"
#define ID_UP "3F2A1B9C4D5E6B86B273FF34FCE19D6B804EFF5A3F5747ADA4EAA22F1D49C01E"

#define POD1 "2ca4a155-3599-498d-bb9d-4446693fa3ea"
#define POD1_ "2ca4a155_3599_498d_bb9d_4446693fa3ea"
#define POD2 "ae7a96fb-2bdc-46b0-96e2-78e4af94847b"
#define POD2_ "ae7a96fb_2bdc_46b0_96e2_78e4af94847b"
#define POD3 "55c6c714-b240-4dec-9a45-57b61696ab6e"
#define POD3_ "55c6c714_b240_4dec_9a45_57b61696ab6e"
/* A static pod's uid is the hash of its manifest: 32 digits, no dashes. */
#define POD_STATIC "8daa50c3a64c9ff60bb9eab7b44b56fd"

/* The kubelet's systemd-driver pod slices, one per QoS class. */
#define KP_BU "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD1_ ".slice"
#define KP_BE "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD2_ ".slice"
#define KP_G "/kubepods.slice/kubepods-pod" POD3_ ".slice"
#define KP_STATIC \
	"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_STATIC ".slice"
#define USER1000 "/user.slice/user-1000.slice/user@1000.service"
#define VM1 "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope"
#define KIND_NODE "/system.slice/docker-" ID1 ".scope"

/* Expected labels of one path; NULL strings are "", NULL keys are the path itself. */
struct row {
	const char *path;
	enum bm_kind kind;
	const char *runtime, *orch, *id, *pod, *qos, *unit, *slice, *user, *vm, *short_name;
	const char *ctr_key, *pod_key, *unit_key;
};

static void check_field(const char *path, const char *field, const char *got, const char *want)
{
	if (!want)
		want = "";
	if (strcmp(got, want)) {
		printf("    check failed: %s of %s is \"%s\", expected \"%s\"\n", field, path, got,
		       want);
		unit_failed_checks++;
	}
}

static void check_key(const char *path, const struct bm_labels *l, enum group_by g,
		      const char *name, const char *want)
{
	char key[512], again[512];
	int ret;

	if (!want)
		want = path;
	ret = labels_group_key(path, l, g, 0, key, sizeof(key));
	if (ret) {
		printf("    check failed: %s key of %s: %d\n", name, path, ret);
		unit_failed_checks++;
		return;
	}
	check_field(path, name, key, want);
	/* Without the labels, the same key from a parse of its own. */
	ret = labels_group_key(path, NULL, g, 0, again, sizeof(again));
	if (ret || strcmp(again, key)) {
		printf("    check failed: %s key of %s without labels: %d \"%s\"\n", name, path,
		       ret, again);
		unit_failed_checks++;
	}
}

static void run_rows(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		struct bm_labels l;
		int ret;

		memset(&l, 0xa5, sizeof(l)); /* every field must be set, not left over */
		ret = labels_parse(r->path, &l);
		if (ret) {
			printf("    check failed: labels_parse(%s) = %d\n", r->path, ret);
			unit_failed_checks++;
			continue;
		}
		if (l.kind != r->kind) {
			printf("    check failed: kind of %s is %d, expected %d\n", r->path, l.kind,
			       r->kind);
			unit_failed_checks++;
		}
		check_field(r->path, "runtime", l.runtime, r->runtime);
		check_field(r->path, "orchestrator", l.orchestrator, r->orch);
		check_field(r->path, "container_id", l.container_id, r->id);
		check_field(r->path, "pod_uid", l.pod_uid, r->pod);
		check_field(r->path, "qos", l.qos, r->qos);
		check_field(r->path, "unit", l.unit, r->unit);
		check_field(r->path, "slice", l.slice, r->slice);
		check_field(r->path, "user", l.user, r->user);
		check_field(r->path, "vm", l.vm, r->vm);
		check_field(r->path, "short_name", l.short_name, r->short_name);
		check_key(r->path, &l, GROUP_BY_CGROUP, "cgroup key", r->path);
		check_key(r->path, &l, GROUP_BY_CONTAINER, "container key", r->ctr_key);
		check_key(r->path, &l, GROUP_BY_POD, "pod key", r->pod_key);
		check_key(r->path, &l, GROUP_BY_UNIT, "unit key", r->unit_key);
	}
}

/* cgroup v2, systemd: the host's own services, sessions and users. */
static const struct row systemd_rows[] = {
	{ .path = "/", .kind = BM_KIND_ROOT, .short_name = "/" },
	{ .path = "/init.scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "init.scope",
	  .slice = "-.slice",
	  .short_name = "init.scope" },
	{ .path = "/system.slice",
	  .kind = BM_KIND_SLICE,
	  .slice = "system.slice",
	  .short_name = "system.slice" },
	{ .path = "/system.slice/nginx.service",
	  .kind = BM_KIND_UNIT,
	  .unit = "nginx.service",
	  .slice = "system.slice",
	  .short_name = "nginx.service" },
	{ .path = "/system.slice/system-getty.slice/getty@tty1.service",
	  .kind = BM_KIND_UNIT,
	  .unit = "getty@tty1.service",
	  .slice = "system-getty.slice",
	  .short_name = "getty@tty1.service" },
	/* A delegated service's own sub-cgroups roll up to it. */
	{ .path = "/system.slice/postgresql.service/worker",
	  .kind = BM_KIND_UNIT,
	  .unit = "postgresql.service",
	  .slice = "system.slice",
	  .short_name = "postgresql.service/worker",
	  .unit_key = "/system.slice/postgresql.service" },
	{ .path = "/user.slice",
	  .kind = BM_KIND_SLICE,
	  .slice = "user.slice",
	  .short_name = "user.slice" },
	{ .path = "/user.slice/user-1000.slice",
	  .kind = BM_KIND_SLICE,
	  .slice = "user-1000.slice",
	  .user = "1000",
	  .short_name = "user-1000.slice" },
	{ .path = "/user.slice/user-1000.slice/session-3.scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "session-3.scope",
	  .slice = "user-1000.slice",
	  .user = "1000",
	  .short_name = "session-3.scope" },
	{ .path = "/user.slice/user-120.slice/session-c1.scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "session-c1.scope",
	  .slice = "user-120.slice",
	  .user = "120",
	  .short_name = "session-c1.scope" },
	{ .path = USER1000,
	  .kind = BM_KIND_UNIT,
	  .unit = "user@1000.service",
	  .slice = "user-1000.slice",
	  .user = "1000",
	  .short_name = "user@1000.service" },
	/* The user's service manager has units of its own: the innermost one counts. */
	{ .path = USER1000 "/init.scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "init.scope",
	  .slice = "user-1000.slice",
	  .user = "1000",
	  .short_name = "init.scope" },
	{ .path = USER1000 "/app.slice/app-gnome-firefox-2345.scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "app-gnome-firefox-2345.scope",
	  .slice = "app.slice",
	  .user = "1000",
	  .short_name = "app-gnome-firefox-2345.scope" },
	{ .path = "/system.slice/var-lib-docker.mount",
	  .kind = BM_KIND_UNIT,
	  .unit = "var-lib-docker.mount",
	  .slice = "system.slice",
	  .short_name = "var-lib-docker.mount" },
};

/* cgroup v2, systemd driver: Docker, containerd, Podman outside Kubernetes. */
static const struct row container_rows[] = {
	{ .path = "/system.slice/docker-" ID1 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "docker",
	  .id = ID1,
	  .unit = "docker-" ID1 ".scope",
	  .slice = "system.slice",
	  .short_name = "docker:3f2a1b9c4d5e" },
	/* A systemd in the container: its units are the container's, not the host's. */
	{ .path = "/system.slice/docker-" ID1 ".scope/init.scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "docker",
	  .id = ID1,
	  .unit = "docker-" ID1 ".scope",
	  .slice = "system.slice",
	  .short_name = "docker:3f2a1b9c4d5e/init.scope",
	  .ctr_key = "/system.slice/docker-" ID1 ".scope",
	  .unit_key = "/system.slice/docker-" ID1 ".scope" },
	{ .path = "/system.slice/nerdctl-" ID3 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "containerd",
	  .id = ID3,
	  .unit = "nerdctl-" ID3 ".scope",
	  .slice = "system.slice",
	  .short_name = "containerd:4e07408562be" },
	{ .path = "/machine.slice/libpod-" ID2 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "podman",
	  .id = ID2,
	  .unit = "libpod-" ID2 ".scope",
	  .slice = "machine.slice",
	  .short_name = "podman:d4735e3a265e" },
	{ .path = "/machine.slice/libpod-" ID2 ".scope/container",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "podman",
	  .id = ID2,
	  .unit = "libpod-" ID2 ".scope",
	  .slice = "machine.slice",
	  .short_name = "podman:d4735e3a265e/container",
	  .ctr_key = "/machine.slice/libpod-" ID2 ".scope",
	  .unit_key = "/machine.slice/libpod-" ID2 ".scope" },
	{ .path = "/machine.slice/libpod-conmon-" ID2 ".scope",
	  .kind = BM_KIND_CONMON,
	  .runtime = "podman",
	  .unit = "libpod-conmon-" ID2 ".scope",
	  .slice = "machine.slice",
	  .short_name = "conmon:d4735e3a265e" },
	/* A Podman pod is not a Kubernetes pod: no pod uid, its containers stand alone. */
	{ .path = "/machine.slice/machine-libpod_pod_" ID4 ".slice/libpod-" ID3 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "podman",
	  .id = ID3,
	  .unit = "libpod-" ID3 ".scope",
	  .slice = "machine-libpod_pod_" ID4 ".slice",
	  .short_name = "podman:4e07408562be" },
	/* Rootless Podman, under the user's service manager. */
	{ .path = USER1000 "/user.slice/libpod-" ID2 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "podman",
	  .id = ID2,
	  .unit = "libpod-" ID2 ".scope",
	  .slice = "user.slice",
	  .user = "1000",
	  .short_name = "podman:d4735e3a265e" },
	{ .path = USER1000 "/user.slice/libpod-conmon-" ID2 ".scope",
	  .kind = BM_KIND_CONMON,
	  .runtime = "podman",
	  .unit = "libpod-conmon-" ID2 ".scope",
	  .slice = "user.slice",
	  .user = "1000",
	  .short_name = "conmon:d4735e3a265e" },
	/* Quadlet (podman --cgroups=split): the container in its service's cgroup. */
	{ .path = "/system.slice/container-homeassistant.service/libpod-payload-" ID2,
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "podman",
	  .id = ID2,
	  .unit = "container-homeassistant.service",
	  .slice = "system.slice",
	  .short_name = "podman:d4735e3a265e",
	  .unit_key = "/system.slice/container-homeassistant.service" },
	/* Rootless Docker with the systemd driver. */
	{ .path = USER1000 "/user.slice/docker-" ID4 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "docker",
	  .id = ID4,
	  .unit = "docker-" ID4 ".scope",
	  .slice = "user.slice",
	  .user = "1000",
	  .short_name = "docker:4b227777d4dd" },
};

/* cgroup v2, the kubelet's systemd driver. */
static const struct row kube_rows[] = {
	{ .path = "/kubepods.slice",
	  .kind = BM_KIND_SLICE,
	  .orch = "kubernetes",
	  .slice = "kubepods.slice",
	  .short_name = "kubepods.slice" },
	{ .path = "/kubepods.slice/kubepods-burstable.slice",
	  .kind = BM_KIND_SLICE,
	  .orch = "kubernetes",
	  .qos = "burstable",
	  .slice = "kubepods-burstable.slice",
	  .short_name = "kubepods-burstable.slice" },
	{ .path = KP_BU,
	  .kind = BM_KIND_POD,
	  .orch = "kubernetes",
	  .pod = POD1,
	  .qos = "burstable",
	  .slice = "kubepods-burstable-pod" POD1_ ".slice",
	  .short_name = "k8s:2ca4a155" },
	{ .path = KP_BU "/cri-containerd-" ID1 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "containerd",
	  .orch = "kubernetes",
	  .id = ID1,
	  .pod = POD1,
	  .qos = "burstable",
	  .unit = "cri-containerd-" ID1 ".scope",
	  .slice = "kubepods-burstable-pod" POD1_ ".slice",
	  .short_name = "k8s:2ca4a155/3f2a1b9c4d5e",
	  .pod_key = KP_BU },
	{ .path = KP_BE "/crio-" ID2 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "cri-o",
	  .orch = "kubernetes",
	  .id = ID2,
	  .pod = POD2,
	  .qos = "besteffort",
	  .unit = "crio-" ID2 ".scope",
	  .slice = "kubepods-besteffort-pod" POD2_ ".slice",
	  .short_name = "k8s:ae7a96fb/d4735e3a265e",
	  .pod_key = KP_BE },
	{ .path = KP_BE "/crio-" ID2 ".scope/container",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "cri-o",
	  .orch = "kubernetes",
	  .id = ID2,
	  .pod = POD2,
	  .qos = "besteffort",
	  .unit = "crio-" ID2 ".scope",
	  .slice = "kubepods-besteffort-pod" POD2_ ".slice",
	  .short_name = "k8s:ae7a96fb/d4735e3a265e/container",
	  .ctr_key = KP_BE "/crio-" ID2 ".scope",
	  .pod_key = KP_BE,
	  .unit_key = KP_BE "/crio-" ID2 ".scope" },
	/* conmon lives in the pod, next to its container: the pod's, not the container's. */
	{ .path = KP_BE "/crio-conmon-" ID2 ".scope",
	  .kind = BM_KIND_CONMON,
	  .runtime = "cri-o",
	  .orch = "kubernetes",
	  .pod = POD2,
	  .qos = "besteffort",
	  .unit = "crio-conmon-" ID2 ".scope",
	  .slice = "kubepods-besteffort-pod" POD2_ ".slice",
	  .short_name = "conmon:d4735e3a265e",
	  .pod_key = KP_BE },
	{ .path = KP_G "/cri-containerd-" ID3 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "containerd",
	  .orch = "kubernetes",
	  .id = ID3,
	  .pod = POD3,
	  .qos = "guaranteed",
	  .unit = "cri-containerd-" ID3 ".scope",
	  .slice = "kubepods-pod" POD3_ ".slice",
	  .short_name = "k8s:55c6c714/4e07408562be",
	  .pod_key = KP_G },
	{ .path = KP_STATIC "/cri-containerd-" ID4 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "containerd",
	  .orch = "kubernetes",
	  .id = ID4,
	  .pod = POD_STATIC,
	  .qos = "burstable",
	  .unit = "cri-containerd-" ID4 ".scope",
	  .slice = "kubepods-burstable-pod" POD_STATIC ".slice",
	  .short_name = "k8s:8daa50c3/4b227777d4dd",
	  .pod_key = KP_STATIC },
	/* cri-dockerd (formerly dockershim). */
	{ .path = KP_BE "/docker-" ID4 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "docker",
	  .orch = "kubernetes",
	  .id = ID4,
	  .pod = POD2,
	  .qos = "besteffort",
	  .unit = "docker-" ID4 ".scope",
	  .slice = "kubepods-besteffort-pod" POD2_ ".slice",
	  .short_name = "k8s:ae7a96fb/4b227777d4dd",
	  .pod_key = KP_BE },
	/* kind: a node is a Docker container with its own systemd and kubelet. */
	{ .path = KIND_NODE
	  "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice"
	  "/kubelet-kubepods-besteffort-pod" POD2_ ".slice/cri-containerd-" ID3 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "containerd",
	  .orch = "kubernetes",
	  .id = ID3,
	  .pod = POD2,
	  .qos = "besteffort",
	  .unit = "cri-containerd-" ID3 ".scope",
	  .slice = "kubelet-kubepods-besteffort-pod" POD2_ ".slice",
	  .short_name = "k8s:ae7a96fb/4e07408562be",
	  .pod_key = KIND_NODE
	  "/kubelet.slice/kubelet-kubepods.slice/"
	  "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD2_ ".slice" },
	{ .path = KIND_NODE "/system.slice/containerd.service",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "docker",
	  .id = ID1,
	  .unit = "docker-" ID1 ".scope",
	  .slice = "system.slice",
	  .short_name = "docker:3f2a1b9c4d5e/containerd.service",
	  .ctr_key = KIND_NODE,
	  .unit_key = KIND_NODE },
};

/* libvirt: systemd escapes the machine name's dashes as \x2d. */
static const struct row vm_rows[] = {
	{ .path = VM1,
	  .kind = BM_KIND_VM,
	  .unit = "machine-qemu\\x2d1\\x2dvm1.scope",
	  .slice = "machine.slice",
	  .vm = "vm1",
	  .short_name = "vm:vm1" },
	/* The emulator and vCPU threads: the VM's in every mode but container (it is none). */
	{ .path = VM1 "/libvirt/vcpu0",
	  .kind = BM_KIND_VM,
	  .unit = "machine-qemu\\x2d1\\x2dvm1.scope",
	  .slice = "machine.slice",
	  .vm = "vm1",
	  .short_name = "vm:vm1/vcpu0",
	  .unit_key = VM1 },
	{ .path = "/machine.slice/machine-qemu\\x2d12\\x2dweb\\x2dfront.scope/libvirt/emulator",
	  .kind = BM_KIND_VM,
	  .unit = "machine-qemu\\x2d12\\x2dweb\\x2dfront.scope",
	  .slice = "machine.slice",
	  .vm = "web-front",
	  .short_name = "vm:web-front/emulator",
	  .unit_key = "/machine.slice/machine-qemu\\x2d12\\x2dweb\\x2dfront.scope" },
	/* Before libvirt 2: no domain id in the name. */
	{ .path = "/machine.slice/machine-qemu\\x2dvm2.scope",
	  .kind = BM_KIND_VM,
	  .unit = "machine-qemu\\x2dvm2.scope",
	  .slice = "machine.slice",
	  .vm = "vm2",
	  .short_name = "vm:vm2" },
	/* libvirt without systemd. */
	{ .path = "/machine/qemu-3-db1.libvirt-qemu/emulator",
	  .kind = BM_KIND_VM,
	  .vm = "db1",
	  .short_name = "vm:db1/emulator" },
	/* systemd-nspawn and libvirt LXC machines are not VMs. */
	{ .path = "/machine.slice/machine-debian.scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "machine-debian.scope",
	  .slice = "machine.slice",
	  .short_name = "machine-debian.scope" },
	{ .path = "/machine.slice/machine-lxc\\x2d1234\\x2dct1.scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "machine-lxc\\x2d1234\\x2dct1.scope",
	  .slice = "machine.slice",
	  .short_name = "machine-lxc\\x2d1234\\x2dct1.scope" },
};

/* cgroup v2 without systemd (the cgroupfs drivers), and nesting. */
static const struct row cgroupfs_rows[] = {
	{ .path = "/docker/" ID1,
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "docker",
	  .id = ID1,
	  .short_name = "docker:3f2a1b9c4d5e" },
	/* Docker in Docker: the inner container. */
	{ .path = "/docker/" ID1 "/docker/" ID2,
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "docker",
	  .id = ID2,
	  .short_name = "docker:d4735e3a265e" },
	{ .path = "/k8s.io/" ID2,
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "containerd",
	  .id = ID2,
	  .short_name = "containerd:d4735e3a265e" },
	{ .path = "/containerd/" ID3,
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "containerd",
	  .id = ID3,
	  .short_name = "containerd:4e07408562be" },
	{ .path = "/containerd/default/" ID3,
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "containerd",
	  .id = ID3,
	  .short_name = "containerd:4e07408562be" },
	{ .path = "/libpod_parent/libpod-" ID2,
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "podman",
	  .id = ID2,
	  .short_name = "podman:d4735e3a265e" },
	{ .path = "/kubepods",
	  .kind = BM_KIND_OTHER,
	  .orch = "kubernetes",
	  .short_name = "kubepods" },
	{ .path = "/kubepods/besteffort",
	  .kind = BM_KIND_OTHER,
	  .orch = "kubernetes",
	  .qos = "besteffort",
	  .short_name = "besteffort" },
	{ .path = "/kubepods/besteffort/pod" POD2,
	  .kind = BM_KIND_POD,
	  .orch = "kubernetes",
	  .pod = POD2,
	  .qos = "besteffort",
	  .short_name = "k8s:ae7a96fb" },
	/* The runtime is not in the path: containerd or cri-dockerd alike. */
	{ .path = "/kubepods/burstable/pod" POD1 "/" ID1,
	  .kind = BM_KIND_CONTAINER,
	  .orch = "kubernetes",
	  .id = ID1,
	  .pod = POD1,
	  .qos = "burstable",
	  .short_name = "k8s:2ca4a155/3f2a1b9c4d5e",
	  .pod_key = "/kubepods/burstable/pod" POD1 },
	{ .path = "/kubepods/pod" POD3 "/" ID3,
	  .kind = BM_KIND_CONTAINER,
	  .orch = "kubernetes",
	  .id = ID3,
	  .pod = POD3,
	  .qos = "guaranteed",
	  .short_name = "k8s:55c6c714/4e07408562be",
	  .pod_key = "/kubepods/pod" POD3 },
	{ .path = "/kubepods/burstable/pod" POD1 "/crio-" ID2,
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "cri-o",
	  .orch = "kubernetes",
	  .id = ID2,
	  .pod = POD1,
	  .qos = "burstable",
	  .short_name = "k8s:2ca4a155/d4735e3a265e",
	  .pod_key = "/kubepods/burstable/pod" POD1 },
	{ .path = "/kubepods/burstable/pod" POD1 "/crio-conmon-" ID2,
	  .kind = BM_KIND_CONMON,
	  .runtime = "cri-o",
	  .orch = "kubernetes",
	  .pod = POD1,
	  .qos = "burstable",
	  .short_name = "conmon:d4735e3a265e",
	  .pod_key = "/kubepods/burstable/pod" POD1 },
	/* kind with the cgroupfs driver: the kubelet's root is /kubelet. */
	{ .path = "/kubelet/kubepods/besteffort/pod" POD2 "/" ID4,
	  .kind = BM_KIND_CONTAINER,
	  .orch = "kubernetes",
	  .id = ID4,
	  .pod = POD2,
	  .qos = "besteffort",
	  .short_name = "k8s:ae7a96fb/4b227777d4dd",
	  .pod_key = "/kubelet/kubepods/besteffort/pod" POD2 },
};

/* cgroup v1, as /proc/PID/cgroup shows a controller's hierarchy. */
static const struct row v1_rows[] = {
	/* 4:memory:/docker/<id> on a cgroupfs-driver Docker host. */
	{ .path = "/docker/" ID4,
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "docker",
	  .id = ID4,
	  .short_name = "docker:4b227777d4dd" },
	/* 11:cpu,cpuacct:/kubepods/burstable/pod<uid>/<id> */
	{ .path = "/kubepods/burstable/pod" POD1 "/" ID4,
	  .kind = BM_KIND_CONTAINER,
	  .orch = "kubernetes",
	  .id = ID4,
	  .pod = POD1,
	  .qos = "burstable",
	  .short_name = "k8s:2ca4a155/4b227777d4dd",
	  .pod_key = "/kubepods/burstable/pod" POD1 },
	/* 1:name=systemd on CentOS 7 with dockershim. */
	{ .path = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
		  "9692aa0e_748e_11e8_8dfa_76d458035df6.slice/docker-" ID3 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "docker",
	  .orch = "kubernetes",
	  .id = ID3,
	  .pod = "9692aa0e-748e-11e8-8dfa-76d458035df6",
	  .qos = "besteffort",
	  .unit = "docker-" ID3 ".scope",
	  .slice = "kubepods-besteffort-pod9692aa0e_748e_11e8_8dfa_76d458035df6.slice",
	  .short_name = "k8s:9692aa0e/4e07408562be",
	  .pod_key = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
		     "9692aa0e_748e_11e8_8dfa_76d458035df6.slice" },
	/* minikube: a node in a Docker container, CRI-O inside. */
	{ .path = "/docker/" ID1
		  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD2_
		  ".slice/crio-" ID2 ".scope",
	  .kind = BM_KIND_CONTAINER,
	  .runtime = "cri-o",
	  .orch = "kubernetes",
	  .id = ID2,
	  .pod = POD2,
	  .qos = "besteffort",
	  .unit = "crio-" ID2 ".scope",
	  .slice = "kubepods-besteffort-pod" POD2_ ".slice",
	  .short_name = "k8s:ae7a96fb/d4735e3a265e",
	  .pod_key = "/docker/" ID1 "/kubepods.slice/kubepods-besteffort.slice/"
		     "kubepods-besteffort-pod" POD2_ ".slice" },
	/* libvirt on v1: the threads' cgroups right below the scope. */
	{ .path = VM1 "/emulator",
	  .kind = BM_KIND_VM,
	  .unit = "machine-qemu\\x2d1\\x2dvm1.scope",
	  .slice = "machine.slice",
	  .vm = "vm1",
	  .short_name = "vm:vm1/emulator",
	  .unit_key = VM1 },
	{ .path = "/system.slice/sshd.service",
	  .kind = BM_KIND_UNIT,
	  .unit = "sshd.service",
	  .slice = "system.slice",
	  .short_name = "sshd.service" },
};

/* What only looks like a container or a pod. */
static const struct row not_rows[] = {
	/* The daemons themselves. */
	{ .path = "/system.slice/docker.service",
	  .kind = BM_KIND_UNIT,
	  .unit = "docker.service",
	  .slice = "system.slice",
	  .short_name = "docker.service" },
	{ .path = "/system.slice/containerd.service",
	  .kind = BM_KIND_UNIT,
	  .unit = "containerd.service",
	  .slice = "system.slice",
	  .short_name = "containerd.service" },
	{ .path = "/system.slice/crio.service",
	  .kind = BM_KIND_UNIT,
	  .unit = "crio.service",
	  .slice = "system.slice",
	  .short_name = "crio.service" },
	{ .path = "/system.slice/docker.socket",
	  .kind = BM_KIND_UNIT,
	  .unit = "docker.socket",
	  .slice = "system.slice",
	  .short_name = "docker.socket" },
	/* A directory named docker, with no id or with something else. */
	{ .path = "/docker", .kind = BM_KIND_OTHER, .short_name = "docker" },
	{ .path = "/docker/buildkit", .kind = BM_KIND_OTHER, .short_name = "buildkit" },
	/* Ids of the wrong length, with a non-hex digit, in upper case. */
	{ .path = "/docker/" ID_63, .kind = BM_KIND_OTHER, .short_name = ID_63 },
	{ .path = "/docker/" ID_65, .kind = BM_KIND_OTHER, .short_name = ID_65 },
	{ .path = "/docker/" ID_G, .kind = BM_KIND_OTHER, .short_name = ID_G },
	{ .path = "/system.slice/docker-" ID_UP ".scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "docker-" ID_UP ".scope",
	  .slice = "system.slice",
	  .short_name = "docker-" ID_UP ".scope" },
	{ .path = "/system.slice/docker-" ID_63 ".scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "docker-" ID_63 ".scope",
	  .slice = "system.slice",
	  .short_name = "docker-" ID_63 ".scope" },
	/* The systemd drivers' names need the .scope: not a container, nor a unit. */
	{ .path = "/system.slice/docker-" ID1,
	  .kind = BM_KIND_OTHER,
	  .slice = "system.slice",
	  .short_name = "docker-" ID1 },
	{ .path = "/system.slice/docker-" ID1 ".service",
	  .kind = BM_KIND_UNIT,
	  .unit = "docker-" ID1 ".service",
	  .slice = "system.slice",
	  .short_name = "docker-" ID1 ".service" },
	/* A bare id under a parent no runtime uses. */
	{ .path = "/mydocker/" ID1, .kind = BM_KIND_OTHER, .short_name = ID1 },
	{ .path = "/system.slice/" ID1,
	  .kind = BM_KIND_OTHER,
	  .slice = "system.slice",
	  .short_name = ID1 },
	/* Not pods: no uid, a bad uid, mixed separators, pod<uid> outside kubepods. */
	{ .path = "/kubepods/burstable/podnotauid/" ID1,
	  .kind = BM_KIND_OTHER,
	  .orch = "kubernetes",
	  .qos = "burstable",
	  .short_name = ID1 },
	{ .path = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		  "2ca4a155_3599-498d_bb9d_4446693fa3ea.slice",
	  .kind = BM_KIND_SLICE,
	  .orch = "kubernetes",
	  .qos = "burstable",
	  .slice = "kubepods-burstable-pod2ca4a155_3599-498d_bb9d_4446693fa3ea.slice",
	  .short_name = "kubepods-burstable-pod2ca4a155_3599-498d_bb9d_4446693fa3ea.slice" },
	{ .path = "/pods/pod" POD1, .kind = BM_KIND_OTHER, .short_name = "pod" POD1 },
	/* A user's session, and the user's slice of a bad uid. */
	{ .path = "/user.slice/user-1000.slice/session-2.scope",
	  .kind = BM_KIND_UNIT,
	  .unit = "session-2.scope",
	  .slice = "user-1000.slice",
	  .user = "1000",
	  .short_name = "session-2.scope" },
	{ .path = "/user.slice/user-01000.slice",
	  .kind = BM_KIND_SLICE,
	  .slice = "user-01000.slice",
	  .short_name = "user-01000.slice" },
};

/* Targets that are not paths. */
static const struct row special_rows[] = {
	{ .path = "idle", .kind = BM_KIND_SPECIAL, .short_name = "idle" },
	{ .path = "overflow", .kind = BM_KIND_SPECIAL, .short_name = "overflow" },
	{ .path = "cgroup-1234", .kind = BM_KIND_SPECIAL, .short_name = "cgroup-1234" },
};

static void test_systemd(void)
{
	run_rows(systemd_rows, ARRAY_SIZE(systemd_rows));
}

static void test_containers(void)
{
	run_rows(container_rows, ARRAY_SIZE(container_rows));
}

static void test_kubernetes(void)
{
	run_rows(kube_rows, ARRAY_SIZE(kube_rows));
}

static void test_libvirt(void)
{
	run_rows(vm_rows, ARRAY_SIZE(vm_rows));
}

static void test_cgroupfs(void)
{
	run_rows(cgroupfs_rows, ARRAY_SIZE(cgroupfs_rows));
}

static void test_v1(void)
{
	run_rows(v1_rows, ARRAY_SIZE(v1_rows));
}

static void test_not_containers(void)
{
	run_rows(not_rows, ARRAY_SIZE(not_rows));
}

static void test_special(void)
{
	run_rows(special_rows, ARRAY_SIZE(special_rows));
}

static void test_pod_uid_forms(void)
{
	struct bm_labels a, b;

	/* Dashes (cgroupfs) and underscores (systemd) give the same uid. */
	CHECK_EQ_U64(labels_parse(KP_BU, &a), 0);
	CHECK_EQ_U64(labels_parse("/kubepods/burstable/pod" POD1, &b), 0);
	CHECK_STR(a.pod_uid, POD1);
	CHECK_STR(b.pod_uid, POD1);
	CHECK_STR(a.qos, b.qos);

	/* Upper case, a short uid, and dashes in a slice name are not a pod's. */
	CHECK_EQ_U64(labels_parse("/kubepods/pod2CA4A155-3599-498D-BB9D-4446693FA3EA", &a), 0);
	CHECK_STR(a.pod_uid, "");
	CHECK_EQ_U64(labels_parse("/kubepods/pod2ca4a155-3599-498d-bb9d-4446693fa3e", &a), 0);
	CHECK_STR(a.pod_uid, "");
	CHECK_EQ_U64(labels_parse("/kubepods.slice/kubepods-pod" POD1 ".slice", &a), 0);
	CHECK_EQ_U64(a.kind, BM_KIND_POD); /* the uid's dashes are taken as they come */
	CHECK_STR(a.pod_uid, POD1);
	CHECK_EQ_U64(labels_parse("/kubepods.slice/kubepods-guaranteed-pod" POD1_ ".slice", &a), 0);
	CHECK_STR(a.pod_uid, "");
	/* kubepods inside a longer word is not the kubelet's. */
	CHECK_EQ_U64(labels_parse("/mykubepods.slice/mykubepods-pod" POD1_ ".slice", &a), 0);
	CHECK_STR(a.pod_uid, "");
	CHECK_STR(a.orchestrator, "");
	/* A qos directory only counts right under kubepods. */
	CHECK_EQ_U64(labels_parse("/burstable/pod" POD1, &a), 0);
	CHECK_STR(a.pod_uid, "");
	CHECK_STR(a.qos, "");
}

static void test_vm_names(void)
{
	struct bm_labels l;

	/* Other escapes too, as systemd writes them. */
	CHECK_EQ_U64(
		labels_parse("/machine.slice/machine-qemu\\x2d7\\x2dmy\\x2evm\\x20a.scope", &l), 0);
	CHECK_STR(l.vm, "my.vm a");
	/* An escape that is not one stays as it is; a NUL escape does not end the name. */
	CHECK_EQ_U64(labels_parse("/machine.slice/machine-qemu\\x2d7\\x2dvm\\xzz.scope", &l), 0);
	CHECK_STR(l.vm, "vm\\xzz");
	CHECK_EQ_U64(labels_parse("/machine.slice/machine-qemu\\x2d7\\x2dvm\\x00.scope", &l), 0);
	CHECK_STR(l.vm, "vm\\x00");
	/* A domain id without a name, and no name at all, are no VM. */
	CHECK_EQ_U64(labels_parse("/machine.slice/machine-qemu\\x2d.scope", &l), 0);
	CHECK_EQ_U64(l.kind, BM_KIND_UNIT);
	CHECK_STR(l.vm, "");
	CHECK_EQ_U64(labels_parse("/machine/.libvirt-qemu", &l), 0);
	CHECK_EQ_U64(l.kind, BM_KIND_OTHER);
	/* A name that is all digits after the id is still the name. */
	CHECK_EQ_U64(labels_parse("/machine.slice/machine-qemu\\x2d4\\x2d2024.scope", &l), 0);
	CHECK_STR(l.vm, "2024");
}

static void test_user_uids(void)
{
	struct bm_labels l;

	CHECK_EQ_U64(labels_parse("/user.slice/user-0.slice/session-1.scope", &l), 0);
	CHECK_STR(l.user, "0");
	CHECK_EQ_U64(labels_parse("/user.slice/user-4294967295.slice", &l), 0);
	CHECK_STR(l.user, "4294967295");
	CHECK_EQ_U64(labels_parse("/user.slice/user-4294967296.slice", &l), 0);
	CHECK_STR(l.user, "");
	CHECK_EQ_U64(labels_parse("/user.slice/user-.slice", &l), 0);
	CHECK_STR(l.user, "");
	CHECK_EQ_U64(labels_parse("/user.slice/user-10a0.slice", &l), 0);
	CHECK_STR(l.user, "");
	/* user-runtime-dir@.service is a system service, not the user's manager. */
	CHECK_EQ_U64(labels_parse("/system.slice/system-user\\x2druntime\\x2ddir.slice/"
				  "user-runtime-dir@1000.service",
				  &l),
		     0);
	CHECK_STR(l.user, "");
	CHECK_STR(l.unit, "user-runtime-dir@1000.service");
	/* A uid inside a container is not the host's. */
	CHECK_EQ_U64(labels_parse("/docker/" ID1 "/user.slice/user-1000.slice", &l), 0);
	CHECK_STR(l.user, "");
	CHECK_STR(l.slice, "");
}

static void test_odd_paths(void)
{
	char path[1024], key[1024];
	struct bm_labels l;

	/* Doubled and trailing slashes are not components. */
	CHECK_EQ_U64(labels_parse("//system.slice//docker-" ID1 ".scope/", &l), 0);
	CHECK_EQ_U64(l.kind, BM_KIND_CONTAINER);
	CHECK_STR(l.short_name, "docker:3f2a1b9c4d5e");
	CHECK_EQ_U64(labels_group_key("//system.slice//docker-" ID1 ".scope/", &l,
				      GROUP_BY_CONTAINER, 0, key, sizeof(key)),
		     0);
	CHECK_STR(key, "//system.slice//docker-" ID1 ".scope");
	CHECK_EQ_U64(labels_parse("///", &l), 0);
	CHECK_EQ_U64(l.kind, BM_KIND_ROOT);
	CHECK_STR(l.short_name, "/");

	/* A component longer than a file name: nothing, and a short name cut to fit. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	strcpy(path + 600, ".scope");
	CHECK_EQ_U64(labels_parse(path, &l), 0);
	CHECK_EQ_U64(l.kind, BM_KIND_OTHER);
	CHECK_STR(l.unit, "");
	CHECK_EQ_U64(strlen(l.short_name), BM_LABEL_NAME - 1);

	/* The longest names there are, below a VM: the short name is cut, not overrun. */
	snprintf(path, sizeof(path), "/machine.slice/machine-qemu\\x2d1\\x2d%0*d.scope/%0*d", 200,
		 0, 250, 0);
	CHECK_EQ_U64(labels_parse(path, &l), 0);
	CHECK_EQ_U64(l.kind, BM_KIND_VM);
	CHECK_EQ_U64(strlen(l.vm), 200);
	CHECK_EQ_U64(strlen(l.short_name), BM_LABEL_NAME - 1);
	CHECK(!strncmp(l.short_name, "vm:000", 6));
}

static void test_parse_errors(void)
{
	struct bm_labels l;

	CHECK_EQ_U64(labels_parse(NULL, &l), (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_parse("", &l), (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_parse("/", NULL), (unsigned long long)-EINVAL);
}

static void test_parse_group_by(void)
{
	enum group_by g;
	int depth;

	CHECK_EQ_U64(labels_parse_group_by("cgroup", &g, &depth), 0);
	CHECK_EQ_U64(g, GROUP_BY_CGROUP);
	CHECK_EQ_U64(labels_parse_group_by("container", &g, &depth), 0);
	CHECK_EQ_U64(g, GROUP_BY_CONTAINER);
	CHECK_EQ_U64(labels_parse_group_by("pod", &g, &depth), 0);
	CHECK_EQ_U64(g, GROUP_BY_POD);
	CHECK_EQ_U64(labels_parse_group_by("unit", &g, &depth), 0);
	CHECK_EQ_U64(g, GROUP_BY_UNIT);
	CHECK_EQ_U64(depth, 0);
	CHECK_EQ_U64(labels_parse_group_by("depth:3", &g, &depth), 0);
	CHECK_EQ_U64(g, GROUP_BY_DEPTH);
	CHECK_EQ_U64(depth, 3);
	CHECK_EQ_U64(labels_parse_group_by("depth:0", &g, &depth), 0);
	CHECK_EQ_U64(depth, 0);
	CHECK_EQ_U64(labels_parse_group_by("depth:64", &g, &depth), 0);
	CHECK_EQ_U64(depth, 64);
	CHECK_EQ_U64(labels_parse_group_by("depth:010", &g, &depth), 0);
	CHECK_EQ_U64(depth, 10); /* decimal, not octal */

	static const char *const bad[] = {
		"",	      "Cgroup",	  "container ", "pods",	    "depth",
		"depth:",     "depth:65", "depth:-1",	"depth:+2", "depth: 2",
		"depth:0x10", "depth:2x", "depth=2",	"unit:2",   "depth:99999999999999999999",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		g = GROUP_BY_POD;
		depth = 7;
		if (labels_parse_group_by(bad[i], &g, &depth) != -EINVAL) {
			printf("    check failed: \"%s\" accepted\n", bad[i]);
			unit_failed_checks++;
		}
		CHECK_EQ_U64(g, GROUP_BY_POD);
		CHECK_EQ_U64(depth, 7);
	}
	CHECK_EQ_U64(labels_parse_group_by(NULL, &g, &depth), (unsigned long long)-EINVAL);
}

static void test_depth_keys(void)
{
	static const struct {
		const char *path;
		int depth;
		const char *key;
	} cases[] = {
		{ "/a/b/c", 0, "/" },
		{ "/a/b/c", 1, "/a" },
		{ "/a/b/c", 2, "/a/b" },
		{ "/a/b/c", 3, "/a/b/c" },
		{ "/a/b/c", 64, "/a/b/c" },
		{ "/", 0, "/" },
		{ "/", 2, "/" },
		{ "/a/b/", 5, "/a/b" },
		{ KP_BU "/cri-containerd-" ID1 ".scope", 2,
		  "/kubepods.slice/kubepods-burstable.slice" },
		{ "idle", 1, "idle" },
		{ "overflow", 0, "overflow" },
	};
	char key[512];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret = labels_group_key(cases[i].path, NULL, GROUP_BY_DEPTH, cases[i].depth, key,
					   sizeof(key));

		CHECK_EQ_U64(ret, 0);
		if (!ret)
			check_field(cases[i].path, "depth key", key, cases[i].key);
	}
}

static void test_group_key_errors(void)
{
	const char *path = "/system.slice/docker-" ID1 ".scope/init.scope";
	struct bm_labels l, other;
	char key[16];

	CHECK_EQ_U64(labels_parse(path, &l), 0);
	/* The key and its NUL must fit: "/system.slice" is 13 bytes, 14 with the NUL. */
	CHECK_EQ_U64(labels_group_key(path, &l, GROUP_BY_DEPTH, 1, key, 14), 0);
	CHECK_STR(key, "/system.slice");
	CHECK_EQ_U64(labels_group_key(path, &l, GROUP_BY_DEPTH, 1, key, 13),
		     (unsigned long long)-ENAMETOOLONG);
	CHECK_EQ_U64(labels_group_key(path, &l, GROUP_BY_CONTAINER, 0, key, sizeof(key)),
		     (unsigned long long)-ENAMETOOLONG);
	CHECK_EQ_U64(labels_group_key("idle", NULL, GROUP_BY_UNIT, 0, key, 4),
		     (unsigned long long)-ENAMETOOLONG);
	CHECK_EQ_U64(labels_group_key("idle", NULL, GROUP_BY_UNIT, 0, key, 5), 0);
	CHECK_STR(key, "idle");

	CHECK_EQ_U64(labels_group_key(path, &l, GROUP_BY_DEPTH, -1, key, sizeof(key)),
		     (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_group_key(path, &l, GROUP_BY_DEPTH, 65, key, sizeof(key)),
		     (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_group_key("idle", NULL, GROUP_BY_DEPTH, 65, key, sizeof(key)),
		     (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_group_key(path, &l, (enum group_by)99, 0, key, sizeof(key)),
		     (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_group_key("idle", NULL, (enum group_by)99, 0, key, sizeof(key)),
		     (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_group_key(NULL, &l, GROUP_BY_CGROUP, 0, key, sizeof(key)),
		     (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_group_key("", NULL, GROUP_BY_CGROUP, 0, key, sizeof(key)),
		     (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_group_key(path, &l, GROUP_BY_CGROUP, 0, NULL, sizeof(key)),
		     (unsigned long long)-EINVAL);
	CHECK_EQ_U64(labels_group_key(path, &l, GROUP_BY_CGROUP, 0, key, 0),
		     (unsigned long long)-EINVAL);
	/* Labels of a longer path cannot name a prefix of this one. */
	CHECK_EQ_U64(labels_parse(KP_BU "/cri-containerd-" ID1 ".scope", &other), 0);
	CHECK_EQ_U64(labels_group_key("/docker/" ID1, &other, GROUP_BY_POD, 0, key, sizeof(key)),
		     (unsigned long long)-EINVAL);
}

/* A tiny sum-by-key: what an output does with --group-by. */
struct sum {
	char key[512];
	uint64_t cpu_ns;
};

static size_t roll_up(const char *const *targets, const uint64_t *cpu_ns, size_t n, enum group_by g,
		      int depth, struct sum *sums)
{
	size_t nsums = 0;

	for (size_t i = 0; i < n; i++) {
		char key[512];
		size_t k;

		if (labels_group_key(targets[i], NULL, g, depth, key, sizeof(key))) {
			printf("    check failed: no key for %s\n", targets[i]);
			unit_failed_checks++;
			continue;
		}
		for (k = 0; k < nsums && strcmp(sums[k].key, key); k++)
			;
		if (k == nsums) {
			snprintf(sums[k].key, sizeof(sums[k].key), "%s", key);
			sums[k].cpu_ns = 0;
			nsums++;
		}
		sums[k].cpu_ns += cpu_ns[i];
	}
	return nsums;
}

static uint64_t sum_of(const struct sum *sums, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sums[i].key, key))
			return sums[i].cpu_ns;
	return UINT64_MAX;
}

static void test_rollup_keeps_total(void)
{
	static const char *const targets[] = {
		"idle",
		"overflow",
		"/",
		"/init.scope",
		"/system.slice/nginx.service",
		"/system.slice/docker.service",
		"/system.slice/docker-" ID1 ".scope",
		"/system.slice/docker-" ID1 ".scope/init.scope",
		"/system.slice/docker-" ID1 ".scope/system.slice/app.service",
		KP_BU "/cri-containerd-" ID1 ".scope",
		KP_BU "/cri-containerd-" ID2 ".scope",
		KP_BE "/crio-" ID3 ".scope",
		KP_BE "/crio-" ID3 ".scope/container",
		KP_BE "/crio-conmon-" ID3 ".scope",
		"/kubepods/burstable/pod" POD1 "/" ID4,
		VM1,
		VM1 "/libvirt/vcpu0",
		VM1 "/libvirt/vcpu1",
		"/user.slice/user-1000.slice/session-2.scope",
	};
	static const uint64_t cpu_ns[] = {
		5000,  7,   11,	  13, 1000,  2000, 300, 30,  3,	  40000,
		50000, 600, 6000, 60, 70000, 9,	   90,	900, 123,
	};
	static const struct {
		enum group_by g;
		int depth;
		size_t groups;
	} modes[] = {
		{ GROUP_BY_CGROUP, 0, ARRAY_SIZE(targets) },
		{ GROUP_BY_CONTAINER, 0, ARRAY_SIZE(targets) - 3 },
		{ GROUP_BY_POD, 0, ARRAY_SIZE(targets) - 3 },
		{ GROUP_BY_UNIT, 0, ARRAY_SIZE(targets) - 5 },
		{ GROUP_BY_DEPTH, 0, 3 },
		{ GROUP_BY_DEPTH, 1, 9 },
		{ GROUP_BY_DEPTH, 2, 12 },
	};
	_Static_assert(ARRAY_SIZE(targets) == ARRAY_SIZE(cpu_ns), "one time per target");
	struct sum sums[ARRAY_SIZE(targets)];
	uint64_t want = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cpu_ns); i++)
		want += cpu_ns[i];
	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		size_t n = roll_up(targets, cpu_ns, ARRAY_SIZE(targets), modes[m].g, modes[m].depth,
				   sums);
		uint64_t total = 0;

		for (size_t i = 0; i < n; i++)
			total += sums[i].cpu_ns;
		CHECK_EQ_U64(total, want);
		if (n != modes[m].groups) {
			printf("    check failed: mode %d depth %d: %zu groups, expected %zu\n",
			       modes[m].g, modes[m].depth, n, modes[m].groups);
			unit_failed_checks++;
		}
		/* The special targets are never merged into anything. */
		CHECK_EQ_U64(sum_of(sums, n, "idle"), 5000);
		CHECK_EQ_U64(sum_of(sums, n, "overflow"), 7);
	}

	/* And the groups are the right ones. */
	size_t n = roll_up(targets, cpu_ns, ARRAY_SIZE(targets), GROUP_BY_CONTAINER, 0, sums);
	CHECK_EQ_U64(sum_of(sums, n, "/system.slice/docker-" ID1 ".scope"), 333);
	CHECK_EQ_U64(sum_of(sums, n, KP_BE "/crio-" ID3 ".scope"), 6600);
	CHECK_EQ_U64(sum_of(sums, n, KP_BE "/crio-conmon-" ID3 ".scope"), 60);
	CHECK_EQ_U64(sum_of(sums, n, VM1 "/libvirt/vcpu0"), 90);

	n = roll_up(targets, cpu_ns, ARRAY_SIZE(targets), GROUP_BY_POD, 0, sums);
	CHECK_EQ_U64(sum_of(sums, n, KP_BU), 90000);
	CHECK_EQ_U64(sum_of(sums, n, KP_BE), 6660);
	CHECK_EQ_U64(sum_of(sums, n, "/kubepods/burstable/pod" POD1), 70000);
	CHECK_EQ_U64(sum_of(sums, n, "/system.slice/docker-" ID1 ".scope"), 300);

	n = roll_up(targets, cpu_ns, ARRAY_SIZE(targets), GROUP_BY_UNIT, 0, sums);
	CHECK_EQ_U64(sum_of(sums, n, "/system.slice/docker-" ID1 ".scope"), 333);
	CHECK_EQ_U64(sum_of(sums, n, VM1), 999);
	CHECK_EQ_U64(sum_of(sums, n, KP_BE "/crio-" ID3 ".scope"), 6600);

	n = roll_up(targets, cpu_ns, ARRAY_SIZE(targets), GROUP_BY_DEPTH, 1, sums);
	CHECK_EQ_U64(sum_of(sums, n, "/system.slice"), 3333);
	CHECK_EQ_U64(sum_of(sums, n, "/kubepods.slice"), 96660);
	CHECK_EQ_U64(sum_of(sums, n, "/"), 11);
}

const struct unit_test labels_tests[] = {
	{ "labels/systemd", test_systemd },
	{ "labels/containers", test_containers },
	{ "labels/kubernetes", test_kubernetes },
	{ "labels/libvirt", test_libvirt },
	{ "labels/cgroupfs", test_cgroupfs },
	{ "labels/v1", test_v1 },
	{ "labels/not_containers", test_not_containers },
	{ "labels/special", test_special },
	{ "labels/pod_uid_forms", test_pod_uid_forms },
	{ "labels/vm_names", test_vm_names },
	{ "labels/user_uids", test_user_uids },
	{ "labels/odd_paths", test_odd_paths },
	{ "labels/parse_errors", test_parse_errors },
	{ "labels/parse_group_by", test_parse_group_by },
	{ "labels/depth_keys", test_depth_keys },
	{ "labels/group_key_errors", test_group_key_errors },
	{ "labels/rollup_keeps_total", test_rollup_keeps_total },
	{ NULL, NULL },
};
