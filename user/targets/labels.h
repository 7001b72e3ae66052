/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_LABELS_H
#define BM_LABELS_H

#include <stddef.h>

/*
 * What a cgroup path is: a container, a Kubernetes pod, a systemd unit, a libvirt VM. Pure
 * string work on the path alone (relative to the cgroup2 mount, or as /proc/PID/cgroup shows
 * it under a v1 controller): nothing is read, so a cgroup that is gone still gets its labels.
 */

#define BM_LABEL_SHORT 16
#define BM_LABEL_NAME 256 /* a path component (NAME_MAX) and its NUL */
#define BM_CONTAINER_ID_LEN 64
#define BM_POD_UID_LEN 36

enum bm_kind {
	BM_KIND_OTHER = 0, /* none of the below */
	BM_KIND_ROOT, /* "/" */
	BM_KIND_SPECIAL, /* not a path: "idle", "overflow", "cgroup-<id>" */
	BM_KIND_CONTAINER, /* a container's cgroup, or one below it */
	BM_KIND_CONMON, /* a runtime's container monitor: not the container itself */
	BM_KIND_VM, /* a libvirt VM's cgroup, or one below it */
	BM_KIND_POD, /* a Kubernetes pod's cgroup, or one below it outside its containers */
	BM_KIND_UNIT, /* a systemd service or scope (or socket, mount, swap), or below one */
	BM_KIND_SLICE, /* a systemd slice with no unit in it on the path */
};

/*
 * The kind is that of the innermost thing on the path. Every string is "" when unknown. What
 * lies below a container or VM is its own business: a systemd running in a container does not
 * make the host's unit or slice, so unit, slice and user come from the path down to the
 * innermost container or VM; containers and pods are the innermost ones anywhere on the path
 * (Kubernetes in Docker nests them).
 */
struct bm_labels {
	enum bm_kind kind;
	char runtime[BM_LABEL_SHORT]; /* "docker", "containerd", "cri-o", "podman" */
	char orchestrator[BM_LABEL_SHORT]; /* "kubernetes" */
	char container_id[BM_CONTAINER_ID_LEN + 1]; /* the full 64 hex digits; not for conmon */
	char pod_uid[BM_POD_UID_LEN + 1]; /* 8-4-4-4-12, or a static pod's 32 hex digits */
	char qos[BM_LABEL_SHORT]; /* "guaranteed", "burstable", "besteffort" */
	/* The innermost unit: "nginx.service", "session-3.scope", "user@1000.service", or one
	 * of the user's manager ("app-firefox-1.scope"); a container's own scope. */
	char unit[BM_LABEL_NAME];
	char slice[BM_LABEL_NAME]; /* the unit's slice, or the innermost slice when no unit */
	char user[BM_LABEL_SHORT]; /* decimal uid of user-UID.slice or user@UID.service */
	char vm[BM_LABEL_NAME]; /* the libvirt domain name, unescaped */
	/* For a live view: "<runtime>:<12 hex>" ("docker:3f2a1b9c4d5e"), "k8s:<pod uid 8>/<12
	 * hex>" for a pod's container, "k8s:<pod uid 8>", "conmon:<12 hex>", "vm:<name>", the
	 * unit, "/" for the root, else the last component; "/<last component>" appended when the
	 * path goes below the container, pod, VM or unit. Truncated to fit: not a key. */
	char short_name[BM_LABEL_NAME];
	/* path[0, len) is the innermost container's, pod's, or unit's cgroup; 0: none. */
	size_t container_len, pod_len, unit_len;
};

/*
 * Fill out from path. A path not starting with '/' is a special target, its own short name.
 * Returns 0, or -EINVAL for a NULL or empty path or a NULL out.
 */
int labels_parse(const char *path, struct bm_labels *out);

enum group_by {
	GROUP_BY_CGROUP = 0, /* every cgroup on its own */
	GROUP_BY_CONTAINER, /* what is below a container rolls up to it */
	GROUP_BY_POD, /* a pod's containers (and conmons) roll up to the pod */
	GROUP_BY_UNIT, /* to the systemd unit */
	GROUP_BY_DEPTH, /* to the path's first N components */
};

#define BM_GROUP_DEPTH_MAX 64

/*
 * "cgroup", "container", "pod", "unit" or "depth:N" (N decimal, 0..64; depth is N, else 0).
 * Returns 0 or -EINVAL, leaving g and depth untouched.
 */
int labels_parse_group_by(const char *s, enum group_by *g, int *depth);

/*
 * The key target path rolls up to under g: the cgroup path of its container, pod or unit,
 * the path itself when it has none, or the path cut to depth components ("/" for depth 0 or
 * the root; depth is ignored otherwise). A target that is not a path ("idle", "overflow") is
 * its own key. l is labels_parse(path)'s result, or NULL to parse here. Returns 0, -EINVAL
 * (bad arguments, or l from a longer path), or -ENAMETOOLONG when the key does not fit len
 * bytes.
 */
int labels_group_key(const char *path, const struct bm_labels *l, enum group_by g, int depth,
		     char *key, size_t len);

#endif
