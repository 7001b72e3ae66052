/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BPFMETER_KBTF_H
#define BPFMETER_KBTF_H

#include <stddef.h>
#include <linux/btf.h>

/*
 * The running kernel's BTF, read in place: mapped where the kernel allows it (Linux 6.16:
 * the pages are the kernel's and count in no RSS), read into one buffer elsewhere. libbpf 1.1
 * reads all 5 MB or more of it into a buffer and copies it into another at each parse; the
 * loader asks it for none: it relocates against the few types that the programs' CO-RE
 * relocations name, taken from this (kbtf_min_core()), and finds the tracepoint's BTF id here.
 */
struct kbtf;

/* Open the BTF at path (the kernel's); NULL with errno set when it cannot be read or parsed. */
struct kbtf *kbtf_open(const char *path);
void kbtf_close(struct kbtf *k);

/* The id of the type of that name and BTF_KIND_*, or -ENOENT. */
int kbtf_find(const struct kbtf *k, const char *name, unsigned int kind);

/*
 * A BTF of the structs, unions and enums that tmpl (a BTF as bpftool gen min_core_btf
 * writes it) holds, as the kernel lays them out: each struct with the members of the
 * template's that the kernel has, at the kernel's offsets, and the kernel's size. Written to
 * a memory file: returns its descriptor, or -errno.
 */
int kbtf_min_core(const struct kbtf *k, const void *tmpl, size_t tmpl_size);

/*
 * Have libbpf load and attach the SEC(sec) programs (one exact name) as tp_btf ones against
 * kernel BTF type btf_id, which it would otherwise look up in the whole kernel BTF. The
 * handler stays registered for the process's life (its programs point at it): once a process,
 * later calls keep the first id, the same in one boot.
 */
int kbtf_tp_btf_handler(const char *sec, int btf_id);

#endif
