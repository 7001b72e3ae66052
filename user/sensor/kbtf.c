// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>

#include "kbtf.h"

struct kbtf {
	void *data;
	size_t size;
	bool mapped;
	const char *types, *strs;
	__u32 strs_len;
	__u32 nr; /* the types, void (id 0) included */
	__u32 *off; /* [nr] where each type starts in types */
};

/* The bytes a type takes with what follows it; 0 for a kind this does not know. */
static size_t type_len(const struct btf_type *t)
{
	size_t n = btf_vlen(t);

	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return sizeof(*t) + sizeof(__u32);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return sizeof(*t);
	case BTF_KIND_ARRAY:
		return sizeof(*t) + sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return sizeof(*t) + n * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return sizeof(*t) + n * sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return sizeof(*t) + n * sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return sizeof(*t) + n * sizeof(struct btf_param);
	case BTF_KIND_VAR:
		return sizeof(*t) + sizeof(struct btf_var);
	case BTF_KIND_DATASEC:
		return sizeof(*t) + n * sizeof(struct btf_var_secinfo);
	case BTF_KIND_DECL_TAG:
		return sizeof(*t) + sizeof(struct btf_decl_tag);
	}
	return 0;
}

/* Check the header and the sections, and index the types: two walks, to count them first. */
static int parse(struct kbtf *k)
{
	const struct btf_header *h = k->data;
	const char *p, *end;
	__u32 n;

	if (k->size < sizeof(*h) || h->magic != BTF_MAGIC || h->version != BTF_VERSION ||
	    h->hdr_len < sizeof(*h) || h->hdr_len > k->size ||
	    (size_t)h->type_off + h->type_len > k->size - h->hdr_len ||
	    (size_t)h->str_off + h->str_len > k->size - h->hdr_len || !h->str_len ||
	    (h->type_off & 3))
		return -EPROTO;
	k->types = (const char *)k->data + h->hdr_len + h->type_off;
	k->strs = (const char *)k->data + h->hdr_len + h->str_off;
	k->strs_len = h->str_len;
	if (k->strs[k->strs_len - 1])
		return -EPROTO;
	for (int pass = 0; pass < 2; pass++) {
		end = k->types + h->type_len;
		for (p = k->types, n = 1; p < end; n++) {
			const struct btf_type *t = (const void *)p;
			size_t len;

			if ((size_t)(end - p) < sizeof(*t))
				return -EPROTO;
			len = type_len(t);
			if (!len || len > (size_t)(end - p))
				return -EPROTO;
			if (k->off)
				k->off[n] = (__u32)(p - k->types);
			p += len;
		}
		if (!k->off) {
			k->nr = n;
			k->off = calloc(n, sizeof(*k->off));
			if (!k->off)
				return -ENOMEM;
		}
	}
	return 0;
}

struct kbtf *kbtf_open(const char *path)
{
	struct kbtf *k = calloc(1, sizeof(*k));
	struct stat st;
	int fd, err = 0;

	if (!k)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_size <= 0) {
		err = fd < 0 || st.st_size < 0 ? -errno : -EPROTO;
		goto out;
	}
	k->size = (size_t)st.st_size;
	k->data = mmap(NULL, k->size, PROT_READ, MAP_PRIVATE, fd, 0);
	k->mapped = k->data != MAP_FAILED;
	if (!k->mapped) {
		/* Before Linux 6.16 /sys/kernel/btf/vmlinux is read, not mapped. */
		size_t got = 0;
		ssize_t r = 1;

		k->data = malloc(k->size);
		while (k->data && got < k->size &&
		       (r = pread(fd, (char *)k->data + got, k->size - got, (off_t)got)) > 0)
			got += (size_t)r;
		if (!k->data || r < 0)
			err = k->data ? -errno : -ENOMEM;
		else if (got < k->size)
			err = -EPROTO;
	}
	if (!err)
		err = parse(k);
out:
	if (fd >= 0)
		close(fd);
	if (err) {
		kbtf_close(k);
		errno = -err;
		return NULL;
	}
	return k;
}

void kbtf_close(struct kbtf *k)
{
	if (!k)
		return;
	if (k->mapped)
		munmap(k->data, k->size);
	else
		free(k->data);
	free(k->off);
	free(k);
}

static const struct btf_type *ktype(const struct kbtf *k, __u32 id)
{
	return id && id < k->nr ? (const void *)(k->types + k->off[id]) : NULL;
}

static const char *kname(const struct kbtf *k, __u32 off)
{
	return off < k->strs_len ? k->strs + off : "";
}

int kbtf_find(const struct kbtf *k, const char *name, unsigned int kind)
{
	for (__u32 id = 1; id < k->nr; id++) {
		const struct btf_type *t = ktype(k, id);

		if (btf_kind(t) == kind && !strcmp(kname(k, t->name_off), name))
			return (int)id;
	}
	return -ENOENT;
}

/* Past the modifiers and typedefs, which CO-RE looks through (a bounded walk: BTF is input). */
static __u32 kskip(const struct kbtf *k, __u32 id)
{
	const struct btf_type *t;

	for (int i = 0; i < 32 && (t = ktype(k, id)) && (btf_is_mod(t) || btf_is_typedef(t)); i++)
		id = t->type;
	return id;
}

static __u32 tskip(const struct btf *b, __u32 id)
{
	const struct btf_type *t;

	for (int i = 0;
	     i < 32 && id && (t = btf__type_by_id(b, id)) && (btf_is_mod(t) || btf_is_typedef(t));
	     i++)
		id = t->type;
	return id;
}

/* The member of that name of a kernel struct or union, looked for inside anonymous members. */
static const struct btf_member *kmember(const struct kbtf *k, const struct btf_type *t,
					const char *name, __u32 *bit_off, __u32 *bits)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const struct btf_type *mt;
		const struct btf_member *r;
		__u32 off = *bit_off + btf_member_bit_offset(t, (__u32)i);

		if (*kname(k, m->name_off)) {
			if (strcmp(kname(k, m->name_off), name))
				continue;
			*bit_off = off;
			*bits = btf_member_bitfield_size(t, (__u32)i);
			return m;
		}
		mt = ktype(k, kskip(k, m->type));
		if (mt && btf_is_composite(mt) && (r = kmember(k, mt, name, &off, bits))) {
			*bit_off = off;
			return r;
		}
	}
	return NULL;
}

#define GEN_MAX_TYPES 128
#define GEN_MAX_FIELDS 32

struct gen {
	const struct kbtf *k;
	const struct btf *t; /* the template */
	struct btf *out;
	int nr_done, void_ptr;
	__u32 done_k[GEN_MAX_TYPES]; /* kernel ids written, as done_out[] */
	int done_out[GEN_MAX_TYPES];
};

struct field {
	const char *name;
	int type;
	__u32 bit_off, bits;
};

static int emit(struct gen *g, __u32 kid, __u32 tid);

/*
 * The members of template struct or union tid that kernel one kt has (those of its anonymous
 * members as its own: CO-RE looks through them), into f[n...]: returns the new count.
 */
static int collect(struct gen *g, __u32 tid, const struct btf_type *kt, struct field *f, int n)
{
	const struct btf_type *tt = btf__type_by_id(g->t, tid);
	const struct btf_member *m = btf_members(tt);

	for (int i = 0; i < btf_vlen(tt) && n >= 0; i++, m++) {
		const char *name = btf__name_by_offset(g->t, m->name_off);
		__u32 mtid = tskip(g->t, m->type), bit_off = 0, bits = 0;
		const struct btf_type *mt = btf__type_by_id(g->t, mtid);
		const struct btf_member *km;
		int type;

		if (!name || !*name) {
			if (mt && btf_is_composite(mt))
				n = collect(g, mtid, kt, f, n);
			continue;
		}
		/* One the kernel does not have is left out: bpf_core_field_exists() says so. */
		km = kmember(g->k, kt, name, &bit_off, &bits);
		if (!km)
			continue;
		if (n == GEN_MAX_FIELDS)
			return -E2BIG;
		type = emit(g, km->type, mtid);
		if (type < 0)
			return type;
		f[n++] = (struct field){ name, type, bit_off, bits };
	}
	return n;
}

static int emit_composite(struct gen *g, const struct btf_type *kt, __u32 tid)
{
	const struct btf_type *tt = tid ? btf__type_by_id(g->t, tid) : NULL;
	const char *name = kname(g->k, kt->name_off);
	struct field f[GEN_MAX_FIELDS];
	int n = 0, id, err = 0;

	if (tt && btf_is_composite(tt))
		n = collect(g, tid, kt, f, 0);
	if (n < 0)
		return n;
	/* The fields go right after their struct: the types they name are written first. */
	id = btf_is_struct(kt) ? btf__add_struct(g->out, name, kt->size)
			       : btf__add_union(g->out, name, kt->size);
	for (int i = 0; i < n && id > 0 && !err; i++)
		err = btf__add_field(g->out, f[i].name, f[i].type, f[i].bit_off, f[i].bits);
	return err ?: id;
}

static int emit_enum(struct gen *g, const struct btf_type *kt)
{
	const char *name = kname(g->k, kt->name_off);
	int id, err = 0;

	if (btf_is_enum(kt)) {
		const struct btf_enum *e = btf_enum(kt);

		id = btf__add_enum(g->out, name, kt->size);
		for (int i = 0; i < btf_vlen(kt) && id > 0 && !err; i++, e++)
			err = btf__add_enum_value(g->out, kname(g->k, e->name_off),
						  btf_kflag(kt) ? (__s64)e->val : (__u32)e->val);
	} else {
		const struct btf_enum64 *e = btf_enum64(kt);

		id = btf__add_enum64(g->out, name, kt->size, btf_kflag(kt));
		for (int i = 0; i < btf_vlen(kt) && id > 0 && !err; i++, e++)
			err = btf__add_enum64_value(g->out, kname(g->k, e->name_off),
						    btf_enum64_value(e));
	}
	return err ?: id;
}

/* Write kernel type kid, as much of it as template type tid holds; returns its id in g->out. */
static int emit(struct gen *g, __u32 kid, __u32 tid)
{
	const struct btf_type *kt;
	int id;

	kid = kskip(g->k, kid);
	tid = tskip(g->t, tid);
	kt = ktype(g->k, kid);
	if (!kt)
		return kid ? -EPROTO : 0;
	for (int i = 0; i < g->nr_done; i++)
		if (g->done_k[i] == kid)
			return g->done_out[i];
	if (g->nr_done == GEN_MAX_TYPES)
		return -E2BIG;
	switch (btf_kind(kt)) {
	case BTF_KIND_INT:
		id = btf__add_int(g->out, kname(g->k, kt->name_off), (size_t)kt->size,
				  btf_int_encoding(kt));
		break;
	case BTF_KIND_PTR:
		/* CO-RE takes any pointer for any: what it points to is a relocation of its own. */
		if (!g->void_ptr)
			g->void_ptr = btf__add_ptr(g->out, 0);
		return g->void_ptr;
	case BTF_KIND_ARRAY: {
		const struct btf_type *tt = tid ? btf__type_by_id(g->t, tid) : NULL;
		const struct btf_array *a = btf_array(kt);
		int elem = emit(g, a->type, tt && btf_is_array(tt) ? btf_array(tt)->type : 0);
		int index = elem < 0 ? elem : emit(g, a->index_type, 0);

		id = index < 0 ? index : btf__add_array(g->out, index, elem, a->nelems);
		break;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		id = emit_composite(g, kt, tid);
		break;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		id = emit_enum(g, kt);
		break;
	case BTF_KIND_FLOAT:
		id = btf__add_float(g->out, kname(g->k, kt->name_off), (size_t)kt->size);
		break;
	case BTF_KIND_FWD:
		id = btf__add_fwd(g->out, kname(g->k, kt->name_off),
				  btf_kflag(kt) ? BTF_FWD_UNION : BTF_FWD_STRUCT);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (id > 0) {
		g->done_k[g->nr_done] = kid;
		g->done_out[g->nr_done++] = id;
	}
	return id;
}

static int write_memfd(const void *data, size_t size)
{
	int fd = memfd_create("bpfmeter-core-btf", MFD_CLOEXEC), err;
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < size) {
		ssize_t r = write(fd, (const char *)data + done, size - done);

		if (r <= 0) {
			err = r < 0 ? -errno : -EIO;
			close(fd);
			return err;
		}
		done += (size_t)r;
	}
	return fd;
}

int kbtf_min_core(const struct kbtf *k, const void *tmpl, size_t tmpl_size)
{
	struct gen g = { .k = k };
	const void *raw;
	__u32 n, raw_size;
	int err = 0;

	g.t = btf__new(tmpl, (__u32)tmpl_size);
	if (!g.t)
		return -errno;
	g.out = btf__new_empty();
	if (!g.out) {
		err = -errno;
		goto out;
	}
	n = btf__type_cnt(g.t);
	for (__u32 tid = 1; tid < n && err >= 0; tid++) {
		const struct btf_type *tt = btf__type_by_id(g.t, tid);
		const char *name = btf__name_by_offset(g.t, tt->name_off), *flavor;
		char ess[128];
		int kid;

		if (!name || !*name || !(btf_is_composite(tt) || btf_is_any_enum(tt)))
			continue;
		/* A flavor (task_struct___old) relocates against the kernel's task_struct. */
		flavor = strstr(name, "___");
		snprintf(ess, sizeof(ess), "%.*s",
			 flavor ? (int)(flavor - name) : (int)strlen(name), name);
		kid = kbtf_find(k, ess, btf_kind(tt));
		if (kid < 0 && btf_is_any_enum(tt))
			kid = kbtf_find(k, ess, btf_is_enum(tt) ? BTF_KIND_ENUM64 : BTF_KIND_ENUM);
		/* A type this kernel lacks fails its relocations, or has them find it missing. */
		if (kid > 0)
			err = emit(&g, (__u32)kid, tid);
	}
	if (err >= 0) {
		raw = btf__raw_data(g.out, &raw_size);
		err = raw ? write_memfd(raw, raw_size) : -ENOMEM;
	}
out:
	btf__free(g.out);
	btf__free((struct btf *)g.t);
	return err;
}

/*
 * libbpf loads a tracing program's attach type out of the kernel's BTF, all of it, whatever the
 * program's relocations are made against. It takes a SEC() handler of ours as raw_tp, which it
 * needs no kernel BTF for, and turns it into the tracing program at the load, with the id.
 */
static int tp_btf_prepare(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long cookie)
{
	opts->expected_attach_type = BPF_TRACE_RAW_TP;
	opts->attach_btf_id = (__u32)cookie;
	return bpf_program__set_type(prog, BPF_PROG_TYPE_TRACING);
}

static int tp_btf_attach(const struct bpf_program *prog, long cookie, struct bpf_link **link)
{
	(void)cookie;
	*link = bpf_program__attach_trace(prog);
	return *link ? 0 : -errno;
}

int kbtf_tp_btf_handler(const char *sec, int btf_id)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, o, .cookie = btf_id,
		    .prog_prepare_load_fn = tp_btf_prepare, .prog_attach_fn = tp_btf_attach);
	/* One handler per section name: the sched_switch and cgroup_mkdir hooks. */
	static const char *registered[4];
	size_t i;
	int err;

	for (i = 0; i < sizeof(registered) / sizeof(registered[0]) && registered[i]; i++)
		if (!strcmp(registered[i], sec))
			return 0;
	if (i == sizeof(registered) / sizeof(registered[0]))
		return -ENOSPC;
	err = libbpf_register_prog_handler(sec, BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_TRACE_RAW_TP, &o);
	if (err < 0)
		return err;
	registered[i] = sec;
	return 0;
}
