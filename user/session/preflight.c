// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "caps.h"
#include "cgroup.h"
#include "events.h"
#include "preflight.h"
#include "util.h"

int preflight_cgroup2(char *mount, size_t size)
{
	FILE *mi = fopen("/proc/self/mountinfo", "re");
	int err;

	if (!mi) {
		err = -errno;
		bm_err("cannot read /proc/self/mountinfo: %s (is /proc mounted?)", strerror(-err));
		return err;
	}
	err = cgroup_find_mount(mi, mount, size);
	fclose(mi);
	if (err)
		bm_err("no cgroup2 filesystem is mounted (none in /proc/self/mountinfo): mount one "
		       "with 'mount -t cgroup2 none /sys/fs/cgroup'");
	return err;
}

/*
 * bpf() itself, with a map of one entry: EPERM although the capabilities are held is a
 * seccomp filter or a security module, which the load would only report as EPERM.
 */
static int probe_bpf(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* perf_event_open() the same way: a software event counting on the first online CPU. */
static int probe_perf(void)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_SOFTWARE,
					.config = PERF_COUNT_SW_CPU_CLOCK };
	int cpu = sched_getcpu(), fd;

	fd = bm_perf_event_open(&attr, -1, cpu < 0 ? 0 : cpu, -1, 0);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int preflight_privileges(void)
{
	char missing[128], why[512];
	int err;

	caps_missing(missing, sizeof(missing));
	if (*missing) {
		bm_err("missing privileges: %s: run as root (sudo bpfmeter), or grant %s", missing,
		       caps_kernel_has_cap_bpf() ? "CAP_BPF and CAP_PERFMON" : "it");
		return -EPERM;
	}
	err = probe_bpf();
	if (err == -ENOSYS) {
		bm_err("bpf() is not available (ENOSYS): a seccomp filter that hides it, or a "
		       "kernel built without CONFIG_BPF_SYSCALL");
		return err;
	}
	if (err == -EPERM || err == -EACCES) {
		caps_explain_refusal("bpf()", why, sizeof(why));
		bm_err("%s", why);
		return err;
	}
	err = probe_perf();
	if (err == -EPERM || err == -EACCES || err == -ENOSYS) {
		caps_explain_refusal("perf_event_open()", why, sizeof(why));
		bm_err("%s", why);
		return err;
	}
	return 0;
}

void preflight_raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * The programs are CO-RE: libbpf relocates them against the kernel's BTF, or against --btf
 * FILE where the kernel exposes none (then only the raw_tp hook can attach).
 */
int preflight_btf(const char *btf_path)
{
	struct btf *btf;
	int err;

	if (!btf_path) {
		if (access(BM_KERNEL_BTF, R_OK)) {
			bm_err("kernel BTF not found at %s (a kernel built without "
			       "CONFIG_DEBUG_INFO_BTF): pass --btf FILE with this kernel's BTF",
			       BM_KERNEL_BTF);
			return -ENOENT;
		}
		return 0;
	}
	btf = btf__parse(btf_path, NULL);
	if (!btf) {
		err = -errno;
		bm_err("cannot read BTF from --btf %s: %s: pass a vmlinux BTF file (or an ELF "
		       "with .BTF) for this kernel",
		       btf_path, strerror(-err));
		return err;
	}
	btf__free(btf);
	if (access(BM_KERNEL_BTF, R_OK))
		bm_warn("kernel: no BTF at %s: relocating against --btf %s", BM_KERNEL_BTF,
			btf_path);
	return 0;
}

int preflight_sensor_config(const struct bm_opts *o, struct sensor_config *cfg)
{
	const char *disable = getenv("BPFMETER_DISABLE");

	*cfg = (struct sensor_config){
		.events = o->events,
		.nr_events = o->nr_events,
		.max_cgroups = o->max_cgroups,
		.btf_path = o->btf_path,
		.by_process = o->by_process,
		.kernel_btf = !access(BM_KERNEL_BTF, R_OK),
	};
	if (disable && sensor_parse_disable(disable, &cfg->disable)) {
		bm_err("BPFMETER_DISABLE=%s: expected a comma-separated list of tp_btf, test_run, "
		       "batch and cpuhp",
		       disable);
		return -EINVAL;
	}
	return 0;
}
