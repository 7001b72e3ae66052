// SPDX-License-Identifier: BSD-2-Clause
/*
 * Capabilities through libcap-ng: what loading needs on this kernel, why a refusal happened,
 * and the drop to what measuring keeps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cap-ng.h>

#include "caps.h"
#include "util.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool caps_kernel_has_cap_bpf(void)
{
	char buf[16];
	uint64_t last;

	/* No such file (before 3.2) or no /proc: take the kernel for a new one. */
	if (bm_read_file("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) ||
	    bm_parse_u64(buf, 0, 1023, &last))
		return true;
	return last >= CAP_BPF;
}

bool caps_perf_needs_admin(const char *path)
{
	char buf[32];
	int64_t v;
	char *end;

	if (bm_read_file(path, buf, sizeof(buf)))
		return false;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return false;
	return v > 2;
}

bool caps_effective(int cap)
{
	if (capng_get_caps_process())
		return true; /* cannot tell: let the kernel decide */
	return capng_have_capability(CAPNG_EFFECTIVE, (unsigned int)cap) == 1;
}

void caps_missing(char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	if (caps_effective(CAP_SYS_ADMIN))
		return;
	if (!caps_kernel_has_cap_bpf()) {
		snprintf(buf, size, "CAP_SYS_ADMIN (CAP_BPF and CAP_PERFMON came with Linux 5.8)");
		return;
	}
	if (!caps_effective(CAP_BPF))
		off += (size_t)snprintf(buf + off, size - off, "CAP_BPF");
	if (!caps_effective(CAP_PERFMON) && off < size)
		snprintf(buf + off, size - off, "%sCAP_PERFMON", off ? ", " : "");
}

/* Linux before 5.11 charges BPF maps to RLIMIT_MEMLOCK, not to the memory cgroup. */
static bool kernel_charges_memlock(void)
{
	struct utsname u;
	int major, minor;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major < 5 || (major == 5 && minor < 11);
}

/* The Seccomp: field of /proc/self/status: 0 none, 1 strict, 2 a filter; -1 unknown. */
static int seccomp_mode(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	int mode = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}

void caps_explain_refusal(const char *what, char *buf, size_t size)
{
	struct rlimit rl;

	if (kernel_charges_memlock() && !caps_effective(CAP_SYS_RESOURCE) &&
	    !getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		snprintf(buf, size,
			 "locked memory is limited to %llu KiB (RLIMIT_MEMLOCK), which BPF maps "
			 "are charged to before Linux 5.11: grant CAP_SYS_RESOURCE, or raise it "
			 "(ulimit -l unlimited, LimitMEMLOCK=infinity)",
			 (unsigned long long)rl.rlim_cur / 1024);
		return;
	}
	if (seccomp_mode() == 2)
		snprintf(buf, size,
			 "%s is blocked (seccomp?): the capabilities are held but a seccomp filter "
			 "(Seccomp: 2 in /proc/self/status) refuses it: allow bpf and "
			 "perf_event_open in the container's seccomp profile",
			 what);
	else
		snprintf(
			buf, size,
			"%s is blocked (seccomp?): the capabilities are held and no seccomp filter "
			"is in force, so a security module (SELinux, AppArmor, lockdown) refuses "
			"it: see the audit log",
			what);
}

int caps_drop(bool keep_dac_override, bool perf_events, char *kept, size_t size)
{
	int keep[3] = { CAP_BPF, CAP_PERFMON };
	size_t nkeep = 2, off = 0;
	bool inh[3], amb[3], setpcap;
	int err;

	kept[0] = '\0';
	if (capng_get_caps_process())
		return -EIO;
	/* What loading used: CAP_BPF and CAP_PERFMON where the kernel has them and they are held.
	 */
	if (!caps_kernel_has_cap_bpf() || capng_have_capability(CAPNG_EFFECTIVE, CAP_BPF) != 1 ||
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_PERFMON) != 1) {
		keep[0] = CAP_SYS_ADMIN;
		nkeep = 1;
	} else if (perf_events && capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN) == 1 &&
		   caps_perf_needs_admin(CAPS_PERF_PARANOID)) {
		/* Debian's perf_event_paranoid 3: the events of a CPU that comes back. */
		keep[nkeep++] = CAP_SYS_ADMIN;
	}
	for (size_t i = 0; i < nkeep; i++) {
		inh[i] = capng_have_capability(CAPNG_INHERITABLE, (unsigned int)keep[i]) == 1;
		amb[i] = capng_have_capability(CAPNG_AMBIENT, (unsigned int)keep[i]) == 1;
	}
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) == 1;
	keep_dac_override =
		keep_dac_override && capng_have_capability(CAPNG_EFFECTIVE, CAP_DAC_OVERRIDE) == 1;
	capng_clear(CAPNG_SELECT_ALL);
	if (keep_dac_override)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			     CAP_DAC_OVERRIDE);
	for (size_t i = 0; i < nkeep; i++) {
		unsigned int c = (unsigned int)keep[i];

		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET, c);
		if (inh[i])
			capng_update(CAPNG_ADD, CAPNG_INHERITABLE, c);
		if (amb[i])
			capng_update(CAPNG_ADD, CAPNG_AMBIENT, c);
		off += (size_t)snprintf(kept + off, off < size ? size - off : 0, "%s%s",
					off ? " " : "",
					keep[i] == CAP_BPF	 ? "CAP_BPF"
					: keep[i] == CAP_PERFMON ? "CAP_PERFMON"
								 : "CAP_SYS_ADMIN");
	}
	if (keep_dac_override)
		snprintf(kept + off, off < size ? size - off : 0, " CAP_DAC_OVERRIDE");
	/* The bounding set needs CAP_SETPCAP, which a session given only its set has not. */
	err = capng_apply(setpcap ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
	if (err)
		return -EPERM;
	/* The measured command was forked before: no_new_privs is bpfmeter's alone. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

int caps_drop_for_command(void)
{
	if (getuid() == 0)
		return 0;
	capng_clear(CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
	return capng_apply(CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT) ? -EPERM : 0;
}
