// SPDX-License-Identifier: BSD-2-Clause
/*
 * Cgroup path -> labels. The layouts, one path component each:
 *
 *   docker-<id>.scope, cri-containerd-<id>.scope, nerdctl-<id>.scope    systemd driver
 *   crio-<id>[.scope], libpod-<id>[.scope]                               CRI-O, Podman
 *   libpod-payload-<id>                                                  podman --cgroups=split
 *   crio-conmon-<id>[.scope], libpod-conmon-<id>[.scope]                 conmon, not a container
 *   docker/<id>, containerd/<id>, containerd/<ns>/<id>, k8s.io/<id>      cgroupfs driver, v1
 *   [P-]kubepods[-<qos>][-pod<uid>].slice                                kubelet, systemd driver
 *   kubepods[/<qos>][/pod<uid>][/<id>]                                   kubelet, cgroupfs driver
 *   machine-qemu\x2d<n>\x2d<name>.scope, [qemu-<n>-]<name>.libvirt-qemu libvirt
 *   *.service, *.scope, *.socket, *.mount, *.swap, *.slice               systemd
 *
 * <id> is 64 lowercase hex digits; anything else of that shape (docker.service, a directory
 * named docker, 63 digits) is not a container.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "labels.h"
#include "util.h"

/* A run of the path between slashes: points into it, not NUL-terminated. */
struct ref {
	const char *s;
	size_t n;
};

/* A thing found at component idx (-1: none), its cgroup being path[0, end). */
struct found {
	int idx;
	size_t end;
	const char *id; /* containers and conmons: the 64 digits, in the path */
	const char *runtime; /* NULL: not told by the path */
	const char *qos; /* pods */
};

/* systemd's view of the path down to some component. */
struct sd_view {
	struct found unit;
	struct ref unit_name;
	struct ref unit_slice; /* the innermost slice above the unit */
	struct ref slice; /* the innermost slice */
	struct ref user;
};

/* The kubelet's cgroupfs levels are plain names that only their parent tells apart. */
enum k8s_fs {
	K8S_FS_NONE,
	K8S_FS_ROOT,
	K8S_FS_QOS,
	K8S_FS_POD,
};

struct parse {
	int n; /* components so far */
	struct ref last, parent, grandparent;
	bool last_is_slice;
	enum k8s_fs parent_fs;
	const char *parent_qos;
	bool k8s;
	const char *qos; /* of the innermost QoS level */
	struct found ctr, conmon, vm, pod;
	char pod_uid[BM_POD_UID_LEN + 1];
	char vm_name[BM_LABEL_NAME];
	/* As of the last component, and as of the innermost container, conmon or VM. */
	struct sd_view sd, sd_bound;
	int bound_idx;
};

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool ends(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

static bool ref_is(struct ref r, const char *s)
{
	return r.n == strlen(s) && !memcmp(r.s, s, r.n);
}

/* Runtimes and the kernel print ids in lowercase: anything else is some other name. */
static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n > 0;
}

static bool is_id(const char *s, size_t n)
{
	return n == BM_CONTAINER_ID_LEN && lower_hex(s, n);
}

/* A uid as systemd writes it: decimal, no leading zero, at most 2^32 - 1. */
static bool is_uid(const char *s, size_t n)
{
	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n < 10 || memcmp(s, "4294967295", 10) <= 0;
}

static void copy_ref(char *dst, size_t size, struct ref r)
{
	size_t n = r.n < size - 1 ? r.n : size - 1;

	if (n) /* an empty ref may have no pointer at all */
		memcpy(dst, r.s, n);
	dst[n] = '\0';
}

static const struct runtime_form {
	const char *prefix;
	const char *runtime;
	bool conmon;
	bool scope_only; /* no cgroupfs form: "docker-<id>" alone is not Docker's */
} runtime_forms[] = {
	{ "docker-", "docker", false, true },
	{ "cri-containerd-", "containerd", false, true },
	{ "nerdctl-", "containerd", false, true },
	{ "crio-conmon-", "cri-o", true, false },
	{ "crio-", "cri-o", false, false },
	{ "libpod-conmon-", "podman", true, false },
	{ "libpod-payload-", "podman", false, false },
	{ "libpod-", "podman", false, false },
};

static const struct runtime_form *match_form(const char *name, size_t n, const char **id)
{
	for (size_t i = 0; i < ARRAY_SIZE(runtime_forms); i++) {
		const struct runtime_form *f = &runtime_forms[i];
		size_t p = strlen(f->prefix), rest;

		if (n < p + BM_CONTAINER_ID_LEN || !starts(name, f->prefix) ||
		    !is_id(name + p, BM_CONTAINER_ID_LEN))
			continue;
		rest = n - p - BM_CONTAINER_ID_LEN;
		if ((rest == 0 && !f->scope_only) || (rest == 6 && ends(name, n, ".scope"))) {
			*id = name + p;
			return f;
		}
	}
	return NULL;
}

/*
 * A bare id is a container only where a runtime's cgroupfs driver puts one: the parent names
 * the runtime (containerd's is its namespace, k8s.io for the CRI), or is a pod.
 */
static bool bare_id_runtime(const struct parse *p, const char **runtime)
{
	if (ref_is(p->parent, "docker")) {
		*runtime = "docker";
		return true;
	}
	if (ref_is(p->parent, "k8s.io") || ref_is(p->parent, "containerd") ||
	    ref_is(p->grandparent, "containerd")) {
		*runtime = "containerd";
		return true;
	}
	if (p->pod.idx >= 0 && p->pod.idx == p->n - 2) {
		*runtime = NULL; /* the cgroupfs driver does not say which */
		return true;
	}
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undo systemd's unit name escaping (\xNN) of s[0, n) into out. */
static void unescape(const char *s, size_t n, char *out, size_t size)
{
	size_t w = 0;

	for (size_t i = 0; i < n && w < size - 1; i++) {
		int hi, lo;

		if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && (hi = hexval(s[i + 2])) >= 0 &&
		    (lo = hexval(s[i + 3])) >= 0 && (hi || lo)) {
			out[w++] = (char)(hi * 16 + lo);
			i += 3;
		} else {
			out[w++] = s[i];
		}
	}
	out[w] = '\0';
}

/*
 * libvirt's machine name is "qemu-<domain id>-<name>" (before libvirt 2.x "qemu-<name>"), in
 * a scope machine-<escaped>.scope under systemd, in <name>.libvirt-qemu under cgroupfs.
 */
static bool match_vm(const char *name, size_t n, char *vm, size_t size)
{
	char buf[BM_LABEL_NAME];
	const char *s, *d;

	if (starts(name, "machine-") && ends(name, n, ".scope")) {
		unescape(name + 8, n - 8 - 6, buf, sizeof(buf));
		if (!starts(buf, "qemu-"))
			return false; /* lxc, nspawn: not VMs */
	} else if (n > 13 && ends(name, n, ".libvirt-qemu")) {
		memcpy(buf, name, n - 13);
		buf[n - 13] = '\0';
		if (!starts(buf, "qemu-"))
			goto name_only;
	} else {
		return false;
	}
	s = buf + 5;
	for (d = s; *d >= '0' && *d <= '9'; d++)
		;
	if (d > s && *d == '-')
		s = d + 1;
	goto out;
name_only:
	s = buf;
out:
	if (!*s)
		return false;
	snprintf(vm, size, "%s", s);
	return true;
}

/* A pod uid: a UUID with dashes (cgroupfs) or underscores (systemd), or a static pod's hash. */
static bool pod_uid(const char *s, size_t n, char *out)
{
	char sep;

	if (n == 32 && lower_hex(s, n)) {
		memcpy(out, s, n);
		out[n] = '\0';
		return true;
	}
	if (n != BM_POD_UID_LEN)
		return false;
	sep = s[8];
	if (sep != '-' && sep != '_')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != sep)
				return false;
			out[i] = '-';
		} else {
			if (!lower_hex(s + i, 1))
				return false;
			out[i] = s[i];
		}
	}
	out[n] = '\0';
	return true;
}

static const char *const qos_levels[] = { "burstable", "besteffort" };

/*
 * The kubelet's systemd driver: [<prefix>-]kubepods[-<qos>][-pod<uid>].slice, the uid's
 * dashes as underscores ('-' separates slice levels). Guaranteed pods have no QoS level. The
 * prefix is the kubelet's own cgroup root (kind puts "kubelet-").
 */
static enum k8s_fs match_kube_slice(const char *name, size_t n, const char **qos, char *uid)
{
	const char *k = strstr(name, "kubepods"), *s, *e;

	if (!k || (k != name && k[-1] != '-') || !ends(name, n, ".slice"))
		return K8S_FS_NONE;
	s = k + 8;
	e = name + n - 6;
	if (s > e)
		return K8S_FS_NONE;
	if (s == e)
		return K8S_FS_ROOT;
	if (*s++ != '-')
		return K8S_FS_NONE;
	*qos = "guaranteed";
	for (size_t i = 0; i < ARRAY_SIZE(qos_levels); i++) {
		size_t q = strlen(qos_levels[i]);

		if (s + q <= e && !strncmp(s, qos_levels[i], q) && (s + q == e || s[q] == '-')) {
			*qos = qos_levels[i];
			if (s + q == e)
				return K8S_FS_QOS;
			s += q + 1;
			break;
		}
	}
	if (e - s > 3 && starts(s, "pod") && pod_uid(s + 3, (size_t)(e - s - 3), uid))
		return K8S_FS_POD;
	return K8S_FS_NONE;
}

/* The same levels under the cgroupfs driver: kubepods/[<qos>/]pod<uid>. */
static enum k8s_fs match_kube_dir(const struct parse *p, const char *name, size_t n,
				  const char **qos, char *uid)
{
	if (!strcmp(name, "kubepods"))
		return K8S_FS_ROOT;
	if (p->parent_fs == K8S_FS_ROOT) {
		for (size_t i = 0; i < ARRAY_SIZE(qos_levels); i++) {
			if (!strcmp(name, qos_levels[i])) {
				*qos = qos_levels[i];
				return K8S_FS_QOS;
			}
		}
	}
	if ((p->parent_fs == K8S_FS_ROOT || p->parent_fs == K8S_FS_QOS) && n > 3 &&
	    starts(name, "pod") && pod_uid(name + 3, n - 3, uid)) {
		*qos = p->parent_fs == K8S_FS_ROOT ? "guaranteed" : p->parent_qos;
		return K8S_FS_POD;
	}
	return K8S_FS_NONE;
}

static const char *const unit_suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap" };

static bool is_unit(const char *name, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(unit_suffixes); i++)
		if (n > strlen(unit_suffixes[i]) && ends(name, n, unit_suffixes[i]))
			return true;
	return false;
}

/* Where the systemd layout shows through: units, slices, and the user they run for. */
static void step_systemd(struct parse *p, struct ref c, size_t end, const char *name)
{
	static const struct ref root_slice = { "-.slice", 7 };
	size_t n = c.n;

	p->last_is_slice = false;
	if (is_unit(name, n)) {
		p->sd.unit = (struct found){ .idx = p->n - 1, .end = end };
		p->sd.unit_name = c;
		p->sd.unit_slice = p->n == 1 ? root_slice : p->sd.slice;
		if (starts(name, "user@") && ends(name, n, ".service") && is_uid(name + 5, n - 13))
			p->sd.user = (struct ref){ c.s + 5, n - 13 };
	} else if (n > 6 && ends(name, n, ".slice")) {
		p->sd.slice = c;
		p->last_is_slice = true;
		if (starts(name, "user-") && is_uid(name + 5, n - 11))
			p->sd.user = (struct ref){ c.s + 5, n - 11 };
	}
}

static void step(struct parse *p, const char *path, struct ref c)
{
	size_t end = (size_t)(c.s - path) + c.n;
	enum k8s_fs fs = K8S_FS_NONE, dir_fs = K8S_FS_NONE;
	const struct runtime_form *f;
	const char *qos = NULL, *id, *runtime;
	char name[BM_LABEL_NAME], uid[BM_POD_UID_LEN + 1];
	bool bound = false;

	p->n++;
	p->last = c;
	p->last_is_slice = false;
	/* No layout has a name longer than a file name can be. */
	if (c.n >= sizeof(name))
		goto out;
	memcpy(name, c.s, c.n);
	name[c.n] = '\0';

	if ((f = match_form(name, c.n, &id))) {
		struct found *to = f->conmon ? &p->conmon : &p->ctr;

		*to = (struct found){ p->n - 1, end, c.s + (id - name), f->runtime, NULL };
		bound = true;
	} else if (is_id(name, c.n) && bare_id_runtime(p, &runtime)) {
		p->ctr = (struct found){ p->n - 1, end, c.s, runtime, NULL };
		bound = true;
	} else if (match_vm(name, c.n, p->vm_name, sizeof(p->vm_name))) {
		p->vm = (struct found){ .idx = p->n - 1, .end = end };
		bound = true;
	} else {
		fs = match_kube_slice(name, c.n, &qos, uid);
		if (fs == K8S_FS_NONE) {
			fs = match_kube_dir(p, name, c.n, &qos, uid);
			/* Only the cgroupfs levels tell what the next directory may be. */
			dir_fs = fs;
		}
		if (fs != K8S_FS_NONE)
			p->k8s = true;
		if (fs == K8S_FS_QOS)
			p->qos = qos;
		if (fs == K8S_FS_POD) {
			p->pod = (struct found){ .idx = p->n - 1, .end = end, .qos = qos };
			memcpy(p->pod_uid, uid, sizeof(uid));
		}
	}
	step_systemd(p, c, end, name);
	if (bound) {
		p->sd_bound = p->sd;
		p->bound_idx = p->n - 1;
	}
out:
	p->grandparent = p->parent;
	p->parent = c;
	p->parent_fs = dir_fs;
	p->parent_qos = dir_fs == K8S_FS_QOS ? qos : NULL;
}

/* Append s[0, n) to the string in dst[size], as much as fits. */
static void append(char *dst, size_t size, const char *s, size_t n)
{
	size_t have = strlen(dst);

	if (have + n > size - 1)
		n = size - 1 - have;
	memcpy(dst + have, s, n);
	dst[have + n] = '\0';
}

static void set_str(char *dst, size_t size, const char *s)
{
	if (s)
		snprintf(dst, size, "%s", s);
}

/* The innermost of what was found; on the same component the earlier argument wins. */
static void pick(const struct found **best, enum bm_kind *kind, const struct found *f,
		 enum bm_kind k)
{
	if (f->idx >= 0 && (!*best || f->idx > (*best)->idx)) {
		*best = f;
		*kind = k;
	}
}

static void finish(const struct parse *p, struct bm_labels *out)
{
	const struct sd_view *sd = p->bound_idx >= 0 ? &p->sd_bound : &p->sd;
	const struct found *rt = p->conmon.idx > p->ctr.idx ? &p->conmon : &p->ctr, *best = NULL;
	char *name = out->short_name;
	size_t size = sizeof(out->short_name);
	enum bm_kind kind = BM_KIND_OTHER;

	if (p->n == 0) {
		out->kind = BM_KIND_ROOT;
		set_str(out->short_name, sizeof(out->short_name), "/");
		return;
	}
	if (rt->idx >= 0)
		set_str(out->runtime, sizeof(out->runtime), rt->runtime);
	if (p->k8s)
		set_str(out->orchestrator, sizeof(out->orchestrator), "kubernetes");
	if (p->ctr.idx >= 0) {
		copy_ref(out->container_id, sizeof(out->container_id),
			 (struct ref){ p->ctr.id, BM_CONTAINER_ID_LEN });
		out->container_len = p->ctr.end;
	}
	if (p->pod.idx >= 0) {
		set_str(out->pod_uid, sizeof(out->pod_uid), p->pod_uid);
		out->pod_len = p->pod.end;
	}
	set_str(out->qos, sizeof(out->qos), p->pod.idx >= 0 ? p->pod.qos : p->qos);
	if (sd->unit.idx >= 0) {
		copy_ref(out->unit, sizeof(out->unit), sd->unit_name);
		out->unit_len = sd->unit.end;
	}
	if (p->vm.idx >= 0)
		set_str(out->vm, sizeof(out->vm), p->vm_name);
	copy_ref(out->slice, sizeof(out->slice), sd->unit.idx >= 0 ? sd->unit_slice : sd->slice);
	copy_ref(out->user, sizeof(out->user), sd->user);

	pick(&best, &kind, &p->ctr, BM_KIND_CONTAINER);
	pick(&best, &kind, &p->conmon, BM_KIND_CONMON);
	pick(&best, &kind, &p->vm, BM_KIND_VM);
	pick(&best, &kind, &p->pod, BM_KIND_POD);
	pick(&best, &kind, &sd->unit, BM_KIND_UNIT);
	if (!best) {
		out->kind = p->last_is_slice ? BM_KIND_SLICE : BM_KIND_OTHER;
		copy_ref(out->short_name, sizeof(out->short_name), p->last);
		return;
	}
	out->kind = kind;
	switch (kind) {
	case BM_KIND_CONTAINER:
		if (p->pod.idx >= 0 && p->pod.idx < p->ctr.idx)
			snprintf(name, size, "k8s:%.8s/%.12s", p->pod_uid, p->ctr.id);
		else
			snprintf(name, size, "%s:%.12s",
				 p->ctr.runtime ? p->ctr.runtime : "container", p->ctr.id);
		break;
	case BM_KIND_CONMON:
		snprintf(name, size, "conmon:%.12s", p->conmon.id);
		break;
	case BM_KIND_VM:
		append(name, size, "vm:", 3);
		append(name, size, p->vm_name, strlen(p->vm_name));
		break;
	case BM_KIND_POD:
		snprintf(name, size, "k8s:%.8s", p->pod_uid);
		break;
	default:
		append(name, size, out->unit, strlen(out->unit));
		break;
	}
	if (best->idx < p->n - 1) {
		append(name, size, "/", 1);
		append(name, size, p->last.s, p->last.n);
	}
}

int labels_parse(const char *path, struct bm_labels *out)
{
	struct parse p = { .ctr.idx = -1,
			   .conmon.idx = -1,
			   .vm.idx = -1,
			   .pod.idx = -1,
			   .sd.unit.idx = -1,
			   .sd_bound.unit.idx = -1,
			   .bound_idx = -1 };
	const char *s = path;

	if (!path || !*path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (path[0] != '/') {
		out->kind = BM_KIND_SPECIAL;
		set_str(out->short_name, sizeof(out->short_name), path);
		return 0;
	}
	for (;;) {
		const char *e;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchrnul(s, '/');
		step(&p, path, (struct ref){ s, (size_t)(e - s) });
		s = e;
	}
	finish(&p, out);
	return 0;
}

int labels_parse_group_by(const char *s, enum group_by *g, int *depth)
{
	static const struct {
		const char *name;
		enum group_by g;
	} modes[] = {
		{ "cgroup", GROUP_BY_CGROUP },
		{ "container", GROUP_BY_CONTAINER },
		{ "pod", GROUP_BY_POD },
		{ "unit", GROUP_BY_UNIT },
	};
	uint64_t n;

	if (!s || !g || !depth)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (!strcmp(s, modes[i].name)) {
			*g = modes[i].g;
			*depth = 0;
			return 0;
		}
	}
	if (!starts(s, "depth:") || bm_parse_u64(s + 6, 0, BM_GROUP_DEPTH_MAX, &n))
		return -EINVAL;
	*g = GROUP_BY_DEPTH;
	*depth = (int)n;
	return 0;
}

/* The length of path's first depth components (fewer when it has fewer), at least "/". */
static size_t cut_depth(const char *path, int depth)
{
	const char *s = path;
	size_t n = 1;

	for (int i = 0; i < depth; i++) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		s = strchrnul(s, '/');
		n = (size_t)(s - path);
	}
	return n;
}

int labels_group_key(const char *path, const struct bm_labels *l, enum group_by g, int depth,
		     char *key, size_t len)
{
	struct bm_labels parsed;
	size_t plen, n;

	if (!path || !*path || !key || !len)
		return -EINVAL;
	if (g == GROUP_BY_DEPTH && (depth < 0 || depth > BM_GROUP_DEPTH_MAX))
		return -EINVAL;
	plen = strlen(path);
	n = plen;
	if (path[0] == '/' && g != GROUP_BY_CGROUP && g != GROUP_BY_DEPTH && !l) {
		labels_parse(path, &parsed);
		l = &parsed;
	}
	if (path[0] == '/') {
		switch (g) {
		case GROUP_BY_CGROUP:
			break;
		case GROUP_BY_CONTAINER:
			n = l->container_len ? l->container_len : plen;
			break;
		case GROUP_BY_POD:
			n = l->pod_len ? l->pod_len : plen;
			break;
		case GROUP_BY_UNIT:
			n = l->unit_len ? l->unit_len : plen;
			break;
		case GROUP_BY_DEPTH:
			n = cut_depth(path, depth);
			break;
		default:
			return -EINVAL;
		}
	} else if (g > GROUP_BY_DEPTH) {
		return -EINVAL;
	}
	if (n > plen)
		return -EINVAL;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(key, path, n);
	key[n] = '\0';
	return 0;
}
