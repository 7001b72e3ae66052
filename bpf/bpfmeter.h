/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * Shared between the BPF programs and userspace: fixed-width types only.
 */
#ifndef BPFMETER_H
#define BPFMETER_H

#ifndef __bpf__
#include <linux/types.h>
#include <stdbool.h>
#endif

/* Most perf events one session can count at once. */
#define BM_MAX_EVENTS 8

/* Accounting keys that are not cgroup ids (cgroup v2 ids start at 1, the root). */
#define BM_KEY_IDLE 0ULL
#define BM_KEY_OVERFLOW (~0ULL)
/* Time the hypervisor stole from the CPU (CPU time only): another tenant's, not this machine's. */
#define BM_KEY_STEAL (~0ULL - 1)

/*
 * Key of the accounting maps: what ran (a cgroup id, or a tgid with --by process) on which
 * CPU. The BPF side only ever writes the entries of the CPU it runs on, so they need no
 * atomics, and a map holds the (target, CPU) pairs that ran, not every target on every CPU.
 */
struct bm_key {
	__u64 id;
	__u32 cpu;
	__u32 pad; /* 0 */
};

/*
 * One accounting map per kind (cgroups, processes) in the map-in-map "accts", at the kind's
 * index: a hash of struct bm_key -> a pair's sums in two halves, one per parity of the epoch
 * (userspace's count of intervals). Each CPU charges the half of the epoch it is in, which
 * it zeroes and stamps with that epoch first; its flush at an interval's end moves it to the
 * next epoch, so userspace then reads the closed epoch's halves while nothing writes them,
 * and no entry is removed or added again from one interval to the next. A pair that ran in
 * neither of two intervals is removed by its own CPU's flush (userspace lists such pairs in
 * "reap"), so nothing it charged goes unread and nothing charges it while it goes.
 *
 * The value: __u64 stamp[2], then half 0 and half 1 of bm_acct_size(nr_events) bytes each.
 */
#define BM_PAIR_STAMPS (2 * sizeof(__u64))

/* Pairs one flush round removes at the most (a power of two); the rest wait for the next. */
#define BM_REAP_MAX 512
struct bm_reap_key {
	__u64 id;
	__u32 cpu;
	__u32 kind;
};
struct bm_reap {
	__u32 n;
	__u32 pad;
	struct bm_reap_key key[BM_REAP_MAX];
};

#define BM_KIND_CGROUP 0
#define BM_KIND_PROC 1
#define BM_NR_KINDS 2

/*
 * Targets that are not in the hash maps, so a full map never takes them: each kind and
 * epoch parity (gen) has these in the per-CPU array "fixed", at BM_FIXED_SLOT(kind, gen,
 * which); userspace zeroes a slot when it has read it.
 */
#define BM_FIXED_IDLE 0
#define BM_FIXED_STEAL 1
#define BM_FIXED_OVERFLOW 2
#define BM_NR_FIXED 3
#define BM_FIXED_SLOT(kind, gen, which) (((kind)*2 + (gen)) * BM_NR_FIXED + (which))
#define BM_NR_FIXED_SLOTS (BM_NR_KINDS * 2 * BM_NR_FIXED)

/* One event's running sums, as bpf_perf_event_read_value() reports them. */
struct bm_counter {
	__u64 value;
	__u64 enabled;
	__u64 running;
};

/*
 * A (target, CPU) pair's sums over one interval: a half of an accounting map's value, and
 * the value of "fixed". Only the events in use take memory: bm_acct_size(nr_events) bytes.
 */
struct bm_acct {
	__u64 cpu_ns;
	struct bm_counter ev[BM_MAX_EVENTS];
};

/* A cgroup made on the cgroup2 hierarchy, as the cgroup_mkdir hook passes it on. */
#define BM_PATH_MAX 4096
struct bm_mkdir {
	__u64 id;
	char path[BM_PATH_MAX]; /* from the hierarchy's root, "/a/b"; only its length is sent */
};

/* Per-CPU statistics of the BPF side itself. */
struct bm_stats {
	__u64 overflow; /* slices charged to the overflow key because the cgroup map was full */
	__u64 overflow_procs; /* the same in the process map (--by process) */
	__u64 read_fail; /* counter reads that failed (the slice kept its time, lost that delta) */
	__u64 cpu_up; /* hotplug steps run to bring this CPU up: it came (back) online */
	__u64 missed; /* slices not charged: the task leaving is not the one seen coming in */
	__u64 mkdir_lost; /* cgroups made whose path did not fit in the ring buffer */
};

static inline __u32 bm_acct_size(__u32 nr_events)
{
	return (__u32)(sizeof(__u64) + nr_events * sizeof(struct bm_counter));
}

/* The value size of the accounting maps: the stamps and both halves. */
static inline __u32 bm_pair_size(__u32 nr_events)
{
	return (__u32)(BM_PAIR_STAMPS + 2 * bm_acct_size(nr_events));
}

/* Difference of two readings of a 64-bit monotonic sum. */
static inline __u64 bm_delta(__u64 prev, __u64 cur)
{
	return cur - prev;
}

/*
 * A reading below the last one is from another perf event: the slot's fd was replaced, as
 * when its CPU came back online (the event of before is dead). Its delta would wrap: the new
 * reading is the new baseline instead.
 */
static inline bool bm_counter_restarted(const struct bm_counter *last, const struct bm_counter *cur)
{
	return cur->enabled < last->enabled || cur->value < last->value;
}

#ifndef __bpf__
/*
 * A counter's delta scaled for multiplexing: the event counted only for running of the
 * enabled nanoseconds, so extrapolate by enabled / running, as perf does. Zero when it never
 * ran. Userspace only: BPF keeps raw sums, so scaling applies to a whole interval per CPU.
 */
static inline __u64 bm_scale(__u64 value, __u64 enabled, __u64 running)
{
	unsigned __int128 v;

	if (!running)
		return 0;
	if (running >= enabled)
		return value;
	v = (unsigned __int128)value * enabled / running;
	return v > ~0ULL ? ~0ULL : (__u64)v;
}
#endif

#endif
