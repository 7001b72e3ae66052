/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_CAPS_H
#define BM_CAPS_H

/*
 * The capabilities bpfmeter needs, per kernel, and the drop after start. Loading and
 * attaching the programs and opening the per-CPU perf events take CAP_BPF and CAP_PERFMON
 * (Linux 5.8 on; CAP_SYS_ADMIN before), and they are kept: on kernels before 6.5 with
 * kernel.unprivileged_bpf_disabled set every bpf() command needs CAP_BPF (the map reads and
 * BPF_PROG_TEST_RUN of each interval), and a CPU that comes online gets its perf events
 * opened then. What only starting needs is dropped: CAP_DAC_READ_SEARCH (root-only
 * energy_uj, /dev/cpu/N/msr), CAP_SYS_RAWIO (the msr driver), CAP_SYS_RESOURCE (memlock
 * before 5.11), and every other capability a root session holds.
 */
#include <stdbool.h>
#include <stddef.h>

/* Whether the kernel knows CAP_BPF and CAP_PERFMON (5.8): /proc/sys/kernel/cap_last_cap. */
bool caps_kernel_has_cap_bpf(void);
/*
 * Whether opening a perf event takes CAP_SYS_ADMIN whatever else is held: the value in path
 * (/proc/sys/kernel/perf_event_paranoid, CAPS_PERF_PARANOID) is above 2, Debian's level 3
 * (its kernels' default), at which only CAP_SYS_ADMIN may call perf_event_open. False where
 * the file cannot be read or parsed.
 */
#define CAPS_PERF_PARANOID "/proc/sys/kernel/perf_event_paranoid"
bool caps_perf_needs_admin(const char *path);

/* Whether cap is in this thread's effective set. */
bool caps_effective(int cap);

/*
 * The capabilities loading needs that the effective set lacks, as "CAP_BPF, CAP_PERFMON"
 * (CAP_SYS_ADMIN before 5.8) into buf; "" when none is missing.
 */
void caps_missing(char *buf, size_t size);

/*
 * Why the kernel refused with EPERM/EACCES when the capabilities are held: a seccomp
 * filter or an LSM (what), or locked memory before 5.11. A one-line reason with what to do
 * into buf; what is "bpf()" or "perf_event_open()".
 */
void caps_explain_refusal(const char *what, char *buf, size_t size);

/*
 * After loading and attaching: keep CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN where that is
 * what loading used) in the effective and permitted sets, and in the inheritable and
 * ambient sets only where they were; drop every other capability from all four, and from
 * the bounding set when CAP_SETPCAP allows; set no_new_privs. Only the calling thread is
 * changed: call it before any thread is started (or restart them). keep_dac_override (a
 * -- CMD session) keeps CAP_DAC_OVERRIDE too where it is held: the command's cgroup is
 * removed at the end from the cgroup2 root, which may be read-only by its mode (0555).
 * perf_events (the session counts perf events) keeps CAP_SYS_ADMIN too where it is held and
 * caps_perf_needs_admin(): a CPU that comes online has its events opened then, which
 * CAP_PERFMON alone cannot do at perf_event_paranoid 3. The names kept, as "CAP_BPF
 * CAP_PERFMON", into kept. Returns 0 or a negative errno.
 */
int caps_drop(bool keep_dac_override, bool perf_events, char *kept, size_t size);

/*
 * In the child of -- CMD, before exec: a user who is not root gets none of bpfmeter's
 * capabilities (its inheritable and ambient sets emptied); root keeps what it had.
 */
int caps_drop_for_command(void);

#endif
