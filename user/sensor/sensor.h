/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_SENSOR_H
#define BM_SENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfmeter.h"
#include "events.h"
#include "topology.h"

struct bpfmeter_bpf;
struct ring_buffer;

/* Why an event could not be opened, for the one message that lists them. */
struct sensor_missing {
	int event; /* index in the requested list */
	int err; /* positive errno of perf_event_open */
};

/*
 * What changed in the CPUs since the last sensor_update_cpus() (or sensor_open()). The
 * arrays have topo->nr_cpus entries.
 */
struct sensor_cpus {
	int nr_up, nr_down, nr_unknown, nr_no_counters; /* how many true in each array */
	bool *up; /* came online, or went offline and came back (seen by the bringup hook) */
	bool *down; /* went offline */
	bool *unknown; /* came online in a package unknown at the start: not measured */
	bool *no_counters; /* came online, but some of its events would not open there */
	/*
	 * For account_reset_cpus() in this interval: without the bringup hook, the BPF side
	 * charges a CPU's time away where it comes back, so the CPUs that came online, and
	 * those offline (one may come before the read), count nothing this interval.
	 */
	bool *reset;
};

struct sensor {
	struct bpfmeter_bpf *skel;
	struct bm_topology *topo; /* updated by sensor_update_cpus() */
	const struct bm_event *req; /* requested events */
	int nr_req;
	int nr_events; /* opened, in BPF order */
	int bpf_index[BM_MAX_EVENTS]; /* requested index -> BPF index, or -1 */
	struct sensor_missing missing[BM_MAX_EVENTS];
	int nr_missing;
	int *fds; /* [nr_events * nr_cpus], -1 where unused */
	const char *attach_kind; /* "tp_btf" or "raw_tp" */
	struct bpf_link *link;
	struct bpf_link *cpuhp_link; /* the bringup hook, where cpuhp_ok */
	struct bpf_link *teardown_link; /* the teardown hook, where the flush runs */
	struct bpf_link *mkdir_link; /* the cgroup_mkdir hook, where mkdir_ok */
	struct ring_buffer *mkdir_rb;
	void (*mkdir_fn)(uint64_t id, const char *path, void *ctx);
	void *mkdir_ctx;
	int accts_fd, fixed_fd, flush_fd, stats_fd;
	/* The hashes of (target, CPU) pairs, at the kind's index (bpfmeter.h). */
	struct sensor_acct_map {
		int fd; /* -1 where unused (the process map without --by process) */
		int old_fd; /* the map it replaced at the last flush, read whole next; or -1 */
		uint32_t entries; /* its size */
		uint32_t want; /* the size to replace it with at the next flush, or 0 */
		uint32_t used; /* the pairs in it at the last read */
		uint32_t low; /* drains in a row it was mostly empty */
	} acct[BM_NR_KINDS];
	uint32_t max_entries; /* the most entries a map grows to: max_cgroups x CPUs */
	uint64_t epoch; /* the epoch the CPUs charge since the last flush (closed: epoch - 1) */
	bool by_process;
	bool grow_warned;
	size_t value_size; /* of the accounting maps: bm_pair_size(nr_events) */
	size_t acct_size; /* of a half, and of "fixed": bm_acct_size(nr_events) */
	size_t stride; /* bytes per CPU in a per-CPU map value */
	/* batch buffers */
	struct bm_key *keys;
	void *vals;
	uint32_t batch_cap;
	/* The pairs idle for two intervals, for their CPUs' flushes to remove at the next round. */
	struct bm_reap reap;
	int reap_fd;
	bool reap_written; /* the map holds a list (n > 0) of an earlier round */
	bool batch_ok; /* batch map lookups work (Linux 5.6) */
	bool flush_ok; /* BPF_PROG_TEST_RUN on a chosen CPU works (Linux 5.10) */
	bool cpuhp_ok; /* the CPU bringup hook is attached (Linux 5.19) */
	bool loop_ok; /* the flush removes idle pairs through bpf_loop (Linux 5.17) */
	bool mkdir_ok; /* the cgroup_mkdir hook passes new cgroups on (Linux 5.8) */
	uint64_t *cpu_up; /* [nr_cpus] the bringup counts of the BPF side, as last read */
	struct sensor_cpus cpus;
};

/* Kernel features the sensor can do without, for tests of the fallbacks (BPFMETER_DISABLE). */
enum {
	SENSOR_NO_TP_BTF = 1u << 0, /* load raw_tp as where tp_btf is missing */
	SENSOR_NO_TEST_RUN = 1u << 1, /* no interval flush, as before Linux 5.10 */
	SENSOR_NO_BATCH = 1u << 2, /* key-by-key map reads, as before Linux 5.6 */
	SENSOR_NO_CPUHP = 1u << 3, /* no CPU bringup hook, as before Linux 5.19 */
};

struct sensor_config {
	const struct bm_event *events;
	int nr_events;
	uint64_t max_cgroups; /* the maps grow to max_cgroups on every CPU at the most */
	uint64_t expected_targets; /* targets that exist at the start: the maps' first size */
	const char *btf_path; /* NULL: the kernel's own */
	bool by_process; /* also charge per process (tgid), up to max_cgroups of them */
	bool kernel_btf; /* /sys/kernel/btf/vmlinux exists: tp_btf can attach */
	unsigned int disable; /* SENSOR_NO_* */
};

/*
 * Parse BPFMETER_DISABLE's value ("tp_btf,test_run,batch,cpuhp", any of them) into
 * SENSOR_NO_* bits. Returns 0, or -EINVAL for an unknown name.
 */
int sensor_parse_disable(const char *s, unsigned int *out);

/*
 * Open the perf events, load and attach the BPF programs, and set every CPU's baseline.
 * Checks the kernel features it uses as it goes: a missing one it can do without is one
 * warning naming the fallback taken. Returns 0, or a negative errno after a one-line message
 * saying what is missing.
 */
int sensor_open(struct sensor *s, struct bm_topology *topo, const struct sensor_config *cfg);
void sensor_close(struct sensor *s);
/*
 * Charge every online CPU's running slice so far (end of an interval). Without
 * BPF_PROG_TEST_RUN on a CPU (flush_ok false) a no-op: each CPU's slice is charged at its
 * next context switch instead.
 */
int sensor_flush(struct sensor *s);
/*
 * Follow CPU hotplug: call at each interval before sensor_flush(). Reads the online CPUs
 * again into the topology (topology_refresh()) and the BPF side's bringup counts. A CPU that
 * went offline has its perf fds closed; one that came online, or went offline and came back
 * since the last call, gets new ones in the events array (the BPF side takes their first
 * readings as the new baseline). The time a CPU was away is charged to no one: by the
 * bringup hook where it is attached, else by passing changes->reset to account_reset_cpus()
 * after each account_begin() of the interval (it is all false with the hook). *changes is
 * valid until the next call. Returns 0, or a negative errno after a message when the online
 * CPUs cannot be read (nothing changed then).
 */
int sensor_update_cpus(struct sensor *s, const struct sensor_cpus **changes);
/*
 * Empty the accounting maps of the generation the last sensor_flush() closed into fn: one call
 * per (key, CPU) pair that ran, with its sums over that interval (struct bm_acct of the
 * sensor's nr_events), and for each CPU the idle, steal and overflow keys. The map is then
 * resized to what ran. fn NULL drops them (the baseline).
 */
typedef void (*sensor_entry_fn)(uint64_t key, int cpu, const struct bm_acct *sums, void *ctx);
int sensor_read(struct sensor *s, sensor_entry_fn fn, void *ctx);
/* The same for the per-process maps (--by process): keys are tgids, 0 idle. */
int sensor_read_procs(struct sensor *s, sensor_entry_fn fn, void *ctx);
/*
 * The cgroups made on the cgroup2 hierarchy since the last call, where the cgroup_mkdir hook
 * is attached: fn(id, path from the hierarchy's root, ctx) for each. Returns 0 or a negative
 * errno.
 */
typedef void (*sensor_mkdir_fn)(uint64_t id, const char *path, void *ctx);
int sensor_poll_cgroups(struct sensor *s, sensor_mkdir_fn fn, void *ctx);
/* Slices charged to "overflow" because the cgroup map was full, since the start. */
uint64_t sensor_overflows(struct sensor *s);
/* The same for the process map (--by process). */
uint64_t sensor_proc_overflows(struct sensor *s);
/*
 * Counter reads that failed in BPF since the start, over all CPUs and events (the slot of a
 * CPU without its perf fd, e.g.). Those slices kept their time and lost that event's delta.
 */
uint64_t sensor_read_failures(struct sensor *s);

/* A short reason for a perf_event_open errno, e.g. "no PMU (this machine has none: ...)". */
const char *sensor_event_errstr(int err);
/* Whether the PMUs listed under devices (/sys/bus/event_source/devices) include a CPU's. */
bool sensor_have_cpu_pmu(const char *devices);

#endif
