/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_PREFLIGHT_H
#define BM_PREFLIGHT_H

/*
 * What a session needs of the host before anything is loaded, checked the same way for a
 * session and for bpfmeter check, so the two never disagree. Each returns 0, or a negative
 * errno after a one-line message naming what is missing and what to do.
 */
#include <stddef.h>

#include "opts.h"
#include "sensor.h"

#define BM_SYSFS_CPU "/sys/devices/system/cpu"
#define BM_KERNEL_BTF "/sys/kernel/btf/vmlinux"

/* The cgroup2 mount, from /proc/self/mountinfo. */
int preflight_cgroup2(char *mount, size_t size);
/* CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), before libbpf gives a vaguer EPERM. */
int preflight_privileges(void);
/* The BTF the programs relocate against: the kernel's, or --btf FILE. */
int preflight_btf(const char *btf_path);
/* One perf fd per CPU per event can pass the usual 1024 open files: the hard limit. */
void preflight_raise_fd_limit(void);
/* What the sensor is to load: the options, the kernel's BTF, BPFMETER_DISABLE. */
int preflight_sensor_config(const struct bm_opts *o, struct sensor_config *cfg);

#endif
