// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "cgroup.h"
#include "preflight.h"
#include "util.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

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

/* True when the effective set holds cap (capget's two 32-bit words). */
static int have_cap(const struct __user_cap_data_struct *d, int cap)
{
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

int preflight_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	char missing[128] = "";

	if (syscall(SYS_capget, &hdr, data))
		return 0; /* cannot tell: let the kernel decide */
	if (have_cap(data, CAP_SYS_ADMIN))
		return 0;
	if (!have_cap(data, CAP_BPF))
		strcat(missing, "CAP_BPF, ");
	if (!have_cap(data, CAP_PERFMON))
		strcat(missing, "CAP_PERFMON, ");
	if (!*missing)
		return 0;
	missing[strlen(missing) - 2] = '\0';
	bm_err("missing privileges: %s (or CAP_SYS_ADMIN): run as root, e.g. sudo bpfmeter",
	       missing);
	return -EPERM;
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
