// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * Charge each CPU's time and perf counter deltas to the cgroup of the task that ran.
 *
 * The slice that ends at a context switch belongs to prev. tp_btf reads prev's pid and cgroup
 * id with plain loads through its typed pointer, which costs a fraction of the helpers; the
 * raw_tp twin uses the helpers instead, since prev is still current when the tracepoint fires.
 * The flush program is run on each CPU by userspace (BPF_PROG_TEST_RUN with
 * BPF_F_TEST_RUN_ON_CPU) at the end of every interval; it interrupts whatever runs there and
 * charges the slice so far to it, and idle the rest of the CPU's time. A CPU going offline
 * closes its time so at its last switches, and leaves its last readings behind: the cpuhp hook
 * drops them when the CPU comes back, before anything runs there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bpfmeter.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace between open and load. */
const volatile __u32 nr_events = 0;
const volatile __u32 nr_cpu_slots = 1; /* slots per event in the events array */
const volatile bool by_process = false; /* also charge each slice to its process (tgid) */

/*
 * A CPU's time is charged from the scheduler's own runtime: the growth of the task's
 * se.sum_exec_runtime over its slice, which update_curr() brings up to date before
 * sched_switch fires (on dequeue or put_prev), and which is what cpu.stat reports. It leaves
 * out the time the hypervisor stole while the task ran, and needs no clock read on the hot
 * path. The idle task is charged the rest of the CPU's elapsed time at each flush.
 */
struct cpu_state {
	__u64 last_rt; /* sum_exec_runtime of the task running here, when it came in (or flushed) */
	__u64 charged; /* runtime charged here since the last flush */
	__u64 flush_ns; /* clock at the last flush, 0 for none yet */
	__u64 idle_debt; /* runtime charged beyond the elapsed time, taken from the next idle */
	__u64 task; /* the task last_rt is of */
	__u64 last_steal; /* the kernel's steal time of this CPU at the last flush */
	__u64 pend_key; /* the cgroup the pending sums are of */
	__u64 flushed; /* the epoch of this CPU's last flush */
	__u32 pend_valid; /* pend holds sums not yet added to the acct map */
	struct bm_acct pend; /* slices of pend_key since it last changed or the last flush */
	__u32 valid; /* last_rt and last[] are readings on this CPU since it came up */
	__u64 cepoch; /* the epoch this CPU charges: the half cepoch & 1 of each pair */
	__u32 dying; /* a hotplug step took the CPU down: it closes its time at each switch */
	struct bm_counter last[BM_MAX_EVENTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_state SEC(".maps");

/* One perf fd per (event, CPU): slot = event * nr_cpu_slots + cpu. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 1);
} events SEC(".maps");

/*
 * The accounting maps (bpfmeter.h): kind -> a preallocated hash of struct bm_key -> two
 * halves of struct bm_acct and their stamps. Userspace creates the inner maps, sized for the
 * pairs that run (it replaces them with bigger or smaller ones between intervals), with
 * value_size bm_pair_size(nr_events), and sets the template before load.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, BM_NR_KINDS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} accts SEC(".maps");

/* Idle, steal and overflow of each kind and epoch parity: BM_FIXED_SLOT(). Value: bm_acct. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BM_NR_FIXED_SLOTS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct bm_acct));
} fixed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bm_stats);
} stats SEC(".maps");

/* The pairs to remove at the next flush round, each by its own CPU: userspace writes it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bm_reap);
} reap SEC(".maps");

/*
 * Set by userspace once the flush program runs: slices of the same cgroup in a row then add
 * up in the CPU's pending sums, and only a change of cgroup or the flush looks up the hash.
 */
bool slot_cache = false;

/*
 * Userspace counts its flush rounds here, and bumps it before each one: the epoch to charge
 * from then on. Each CPU's flush closes its epoch and moves the CPU to the new one, so what
 * ran there up to the flush is in the old epoch's halves, which userspace then reads while
 * nothing writes to them. A CPU that missed a round (it was offline) moves at its next
 * context switch, and so does every CPU without the flush (slot_cache false).
 */
__u64 epoch = 0;

/* Template for new accounting entries; only bm_pair_size(nr_events) bytes of it are copied. */
struct {
	__u64 stamp[2];
	struct bm_acct half[2];
} pair_zero = {};

static __always_inline struct bm_acct *fixed_get(const struct cpu_state *st, __u32 kind,
						 __u32 which)
{
	__u32 slot = BM_FIXED_SLOT(kind, st->cepoch & 1, which);

	return bpf_map_lookup_elem(&fixed, &slot);
}

/*
 * The half of a pair's value that the CPU's epoch charges: zeroed first where it holds an
 * older epoch's sums (userspace read them at the end of that epoch).
 */
static __always_inline struct bm_acct *pair_half(const struct cpu_state *st, __u64 *pair)
{
	__u32 h = st->cepoch & 1, i;
	struct bm_acct *a;

	a = (struct bm_acct *)((char *)pair + BM_PAIR_STAMPS);
	if (h)
		a = (struct bm_acct *)((char *)a + bm_acct_size(nr_events));
	if (pair[h & 1] == st->cepoch)
		return a;
	a->cpu_ns = 0;
#pragma unroll
	for (i = 0; i < BM_MAX_EVENTS; i++) {
		if (i >= nr_events)
			break;
		a->ev[i].value = 0;
		a->ev[i].enabled = 0;
		a->ev[i].running = 0;
	}
	pair[h & 1] = st->cepoch;
	return a;
}

/*
 * The sums of key on this CPU in the CPU's epoch. A new pair takes a free entry; when the map
 * is full, the slice goes to the overflow target (userspace grows the map for the next
 * interval it fills).
 */
static __always_inline struct bm_acct *acct_get(const struct cpu_state *st, __u32 kind, __u64 key)
{
	struct bm_key k = { .id = key, .cpu = bpf_get_smp_processor_id() };
	struct bm_stats *s;
	__u64 *pair;
	__u32 zero = 0;
	void *map;

	if (key == BM_KEY_IDLE)
		return fixed_get(st, kind, BM_FIXED_IDLE);
	map = bpf_map_lookup_elem(&accts, &kind);
	if (map) {
		pair = bpf_map_lookup_elem(map, &k);
		if (pair)
			return pair_half(st, pair);
		bpf_map_update_elem(map, &k, &pair_zero, BPF_NOEXIST);
		pair = bpf_map_lookup_elem(map, &k);
		if (pair)
			return pair_half(st, pair);
	}
	s = bpf_map_lookup_elem(&stats, &zero);
	if (s && kind == BM_KIND_PROC)
		s->overflow_procs++;
	else if (s)
		s->overflow++;
	return fixed_get(st, kind, BM_FIXED_OVERFLOW);
}

static __always_inline void acct_add(struct bm_acct *a, __u64 ns, const struct bm_counter *cur,
				     const struct bm_counter *last)
{
	__u32 i;

	a->cpu_ns += ns;
#pragma unroll
	for (i = 0; i < BM_MAX_EVENTS; i++) {
		if (i >= nr_events)
			break;
		a->ev[i].value += bm_delta(last[i].value, cur[i].value);
		a->ev[i].enabled += bm_delta(last[i].enabled, cur[i].enabled);
		a->ev[i].running += bm_delta(last[i].running, cur[i].running);
	}
}

/* Add p's sums to a's. */
static __always_inline void acct_merge(struct bm_acct *a, const struct bm_acct *p)
{
	__u32 i;

	a->cpu_ns += p->cpu_ns;
#pragma unroll
	for (i = 0; i < BM_MAX_EVENTS; i++) {
		if (i >= nr_events)
			break;
		a->ev[i].value += p->ev[i].value;
		a->ev[i].enabled += p->ev[i].enabled;
		a->ev[i].running += p->ev[i].running;
	}
}

/* Add the pending sums to their cgroup's entry. */
static __always_inline void pend_drain(struct cpu_state *st)
{
	struct bm_acct *a;

	if (!st->pend_valid)
		return;
	st->pend_valid = 0;
	a = acct_get(st, BM_KIND_CGROUP, st->pend_key);
	if (a)
		acct_merge(a, &st->pend);
}

/* The sums to charge a slice of key to: the pending ones while the key stays the same. */
static __always_inline struct bm_acct *pend_get(struct cpu_state *st, __u64 key)
{
	__u32 i;

	if (st->pend_valid && st->pend_key == key)
		return &st->pend;
	pend_drain(st);
	st->pend_key = key;
	st->pend_valid = 1;
	st->pend.cpu_ns = 0;
#pragma unroll
	for (i = 0; i < BM_MAX_EVENTS; i++) {
		if (i >= nr_events)
			break;
		st->pend.ev[i].value = 0;
		st->pend.ev[i].enabled = 0;
		st->pend.ev[i].running = 0;
	}
	return &st->pend;
}

/*
 * Charge the slice that ends on this CPU: ns of runtime to key (and tgid with --by process),
 * with the counters' deltas since the last reading here. The first slice after the CPU came
 * up has no baseline: it only takes readings.
 */
static __always_inline void charge_slice(struct cpu_state *st, __u64 key, __u64 tgid, __u64 ns)
{
	/* Same layout as the UAPI struct bpf_perf_event_value, without CO-RE relocations. */
	struct bm_counter cur[BM_MAX_EVENTS];
	__u32 cpu = bpf_get_smp_processor_id();
	struct bm_acct *a;
	__u32 zero = 0;
	__u32 i;

#pragma unroll
	for (i = 0; i < BM_MAX_EVENTS; i++) {
		if (i >= nr_events)
			break;
		if (bpf_perf_event_read_value(&events, (__u64)(i * nr_cpu_slots + cpu),
					      (struct bpf_perf_event_value *)&cur[i],
					      sizeof(cur[i]))) {
			struct bm_stats *s = bpf_map_lookup_elem(&stats, &zero);

			if (s)
				s->read_fail++;
			cur[i] = st->last[i];
		} else if (bm_counter_restarted(&st->last[i], &cur[i])) {
			st->last[i] = cur[i];
		}
	}

	if (st->valid) {
		st->charged += ns;
		a = slot_cache ? pend_get(st, key) : acct_get(st, BM_KIND_CGROUP, key);
		if (a)
			acct_add(a, ns, cur, st->last);
		/* A constant: without --by process the verifier drops this branch. */
		if (by_process) {
			a = acct_get(st, BM_KIND_PROC, tgid);
			if (a)
				acct_add(a, ns, cur, st->last);
		}
	}

#pragma unroll
	for (i = 0; i < BM_MAX_EVENTS; i++) {
		if (i >= nr_events)
			break;
		st->last[i] = cur[i];
	}
}

/* Scheduling policies of the fair class (SCHED_NORMAL, SCHED_BATCH, SCHED_IDLE). */
static __always_inline bool policy_fair(__u32 policy)
{
	return policy == 0 || policy == 3 || policy == 5;
}

/*
 * Runtime of the task leaving (or flushed) since it came in here, or since the last flush in
 * this slice; none for the idle task. A switch in that was not seen here (the first after
 * attach, or one the program missed) leaves last_rt of another task: then the fair class's
 * slice start (prev_sum_exec_runtime, set when the task was picked here) bounds the slice; other
 * classes do not keep it, and such a slice is not charged. Either way it is counted.
 */
static __always_inline __u64 slice_ns(const struct cpu_state *st, __u32 pid, __u64 task, __u64 rt,
				      __u64 start, __u32 policy)
{
	__u32 zero = 0;
	struct bm_stats *s;

	if (!pid)
		return 0;
	if (st->valid && task == st->task && rt >= st->last_rt)
		return rt - st->last_rt;
	s = bpf_map_lookup_elem(&stats, &zero);
	if (s)
		s->missed++;
	if (policy_fair(policy) && rt >= start)
		return rt - start;
	return 0;
}

/*
 * At a switch: the CPU charges userspace's current epoch where it has no flush to move it
 * there, or missed one (it was offline while it ran).
 */
static __always_inline struct cpu_state *cpu_state_get(void)
{
	__u32 zero = 0;
	struct cpu_state *st = bpf_map_lookup_elem(&cpu_state, &zero);

	if (st && (!slot_cache || st->flushed + 1 < epoch))
		st->cepoch = epoch;
	return st;
}

static __always_inline void time_add(const struct cpu_state *st, __u32 kind, __u32 which, __u64 ns)
{
	struct bm_acct *a = fixed_get(st, kind, which);

	if (a)
		a->cpu_ns += ns;
}

/*
 * The time the hypervisor stole from this CPU so far, in ns: the run queue's prev_steal_time,
 * the steal the scheduler has taken out of its task clock (so out of every runtime charged),
 * reached through the running task's run queue, as per-CPU kernel symbols are not always in
 * kallsyms. 0 without paravirt steal accounting or group scheduling.
 */
static __always_inline __u64 steal_now(struct task_struct *task)
{
	struct rq *rq;

	if (!bpf_core_field_exists(struct rq, prev_steal_time) ||
	    !bpf_core_field_exists(struct cfs_rq, rq))
		return 0;
	rq = BPF_CORE_READ(task, se.cfs_rq, rq);
	return rq ? BPF_CORE_READ(rq, prev_steal_time) : 0;
}

/*
 * Close this CPU's time since its last flush, once the caller charged the task that ran:
 * steal gets the time the kernel counts as stolen meanwhile, and idle what the CPU's elapsed
 * time leaves, so every CPU's targets add up to its elapsed time. Runtime charged beyond it (a slice begun
 * before the last flush and brought up to date after it) is taken from the next interval's
 * idle and steal.
 */
static __always_inline void close_idle(struct cpu_state *st)
{
	__u64 now, elapsed, used, steal, stolen;

	pend_drain(st);
	now = bpf_ktime_get_ns();
	steal = steal_now((struct task_struct *)bpf_get_current_task());
	if (st->valid && st->flush_ns) {
		elapsed = now - st->flush_ns;
		stolen = steal > st->last_steal ? steal - st->last_steal : 0;
		used = st->charged + st->idle_debt;
		st->idle_debt = used > elapsed ? used - elapsed : 0;
		elapsed = elapsed > used ? elapsed - used : 0;
		stolen = stolen < elapsed ? stolen : elapsed;
		time_add(st, BM_KIND_CGROUP, BM_FIXED_STEAL, stolen);
		time_add(st, BM_KIND_CGROUP, BM_FIXED_IDLE, elapsed - stolen);
		if (by_process) {
			time_add(st, BM_KIND_PROC, BM_FIXED_STEAL, stolen);
			time_add(st, BM_KIND_PROC, BM_FIXED_IDLE, elapsed - stolen);
		}
	}
	st->last_steal = steal;
	st->charged = 0;
	st->flush_ns = now;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct cpu_state *st = cpu_state_get();
	__u32 pid = prev->pid;

	if (!st)
		return 0;
	if (pid)
		charge_slice(st, prev->cgroups->dfl_cgrp->kn->id, prev->tgid,
			     slice_ns(st, pid, (__u64)prev, prev->se.sum_exec_runtime,
				      prev->se.prev_sum_exec_runtime, prev->policy));
	else
		charge_slice(st, BM_KEY_IDLE, BM_KEY_IDLE, 0);
	st->last_rt = next->se.sum_exec_runtime;
	st->task = (__u64)next;
	st->valid = 1;
	if (st->dying)
		close_idle(st);
	return 0;
}

/* prev is still current: its pid and cgroup come from the helpers, its runtime by CO-RE. */
static __always_inline void charge_current(struct cpu_state *st)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 rt = BPF_CORE_READ(task, se.sum_exec_runtime);
	__u64 start = BPF_CORE_READ(task, se.prev_sum_exec_runtime);
	__u32 policy = BPF_CORE_READ(task, policy);
	__u64 id = bpf_get_current_pid_tgid();

	if ((__u32)id)
		charge_slice(st, bpf_get_current_cgroup_id(), id >> 32,
			     slice_ns(st, (__u32)id, (__u64)task, rt, start, policy));
	else
		charge_slice(st, BM_KEY_IDLE, BM_KEY_IDLE, 0);
	st->last_rt = rt;
	st->task = (__u64)task;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct cpu_state *st = cpu_state_get();

	if (!st)
		return 0;
	charge_current(st);
	st->last_rt = BPF_CORE_READ(next, se.sum_exec_runtime);
	st->task = (__u64)next;
	st->valid = 1;
	if (st->dying)
		close_idle(st);
	return 0;
}

/*
 * Remove the i-th listed pair where it is this CPU's and charged nothing since the epoch before
 * last: what it holds was read, and nothing else writes this CPU's pairs (the flush runs with
 * the CPU's interrupts off, or its preemption, where it runs on the CPU that asked).
 */
static __always_inline void reap_one(const struct bm_reap *r, __u32 i, __u32 cpu)
{
	struct bm_key k = {};
	__u64 *pair;
	__u32 kind;
	void *map;

	if (i >= BM_REAP_MAX || r->key[i].cpu != cpu)
		return;
	kind = r->key[i].kind;
	k.id = r->key[i].id;
	k.cpu = cpu;
	map = bpf_map_lookup_elem(&accts, &kind);
	if (!map)
		return;
	pair = bpf_map_lookup_elem(map, &k);
	if (pair && pair[0] + 3 <= epoch && pair[1] + 3 <= epoch)
		bpf_map_delete_elem(map, &k);
}

struct reap_ctx {
	const struct bm_reap *r;
	__u32 n, cpu;
};

static long reap_step(__u32 i, void *ctx)
{
	struct reap_ctx *c = ctx;

	if (i >= c->n)
		return 1;
	/* The mask, not the bound alone, which the compiler may check on a copy of i. */
	reap_one(c->r, i & (BM_REAP_MAX - 1), c->cpu);
	return 0;
}

/*
 * The listed pairs of this CPU, removed: through bpf_loop (Linux 5.17) where with_loop, which
 * the verifier checks once, else a bounded loop it walks BM_REAP_MAX times (a tenth of a
 * second of CPU at each start).
 */
static __always_inline void reap_pairs(bool with_loop)
{
	__u32 zero = 0, cpu = bpf_get_smp_processor_id(), n, i;
	struct bm_reap *r = bpf_map_lookup_elem(&reap, &zero);
	struct reap_ctx c;

	if (!r)
		return;
	n = r->n;
	if (with_loop) {
		c.r = r;
		c.n = n;
		c.cpu = cpu;
		bpf_loop(BM_REAP_MAX, reap_step, &c, 0);
		return;
	}
	for (i = 0; i < BM_REAP_MAX; i++) {
		if (i >= n)
			break;
		reap_one(r, i, cpu);
	}
}

/*
 * Not attached: userspace runs it on each CPU to close the interval there. It charges the
 * running task its runtime so far (as of the scheduler's last update, as cpu.stat has it),
 * closes the CPU's time (close_idle), and moves the CPU on to its new epoch.
 */
static __always_inline int flush_cpu(bool with_loop)
{
	struct cpu_state *st;
	__u32 zero = 0;

	st = bpf_map_lookup_elem(&cpu_state, &zero);
	if (!st)
		return 0;
	/*
	 * A CPU that missed rounds (offline) charges what it has to the epoch this round
	 * closes, so that it lands in the interval userspace leaves out for the CPU's return.
	 */
	if (st->flushed + 1 < epoch)
		st->cepoch = epoch - 1;
	charge_current(st);
	close_idle(st);
	reap_pairs(with_loop);
	/* Everything of this CPU up to now is in its epoch's halves: on to userspace's new one. */
	st->cepoch = epoch;
	st->flushed = epoch;
	st->valid = 1;
	st->dying = 0; /* online, as the flush ran here */
	return 0;
}

SEC("raw_tp")
int BPF_PROG(flush)
{
	return flush_cpu(false);
}

/* The same with bpf_loop: userspace loads one of the two. */
SEC("raw_tp")
int BPF_PROG(flush_loop)
{
	return flush_cpu(true);
}

/* Paths of new cgroups for userspace, which reads them each interval. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} mkdirs SEC(".maps");

/* Room for one path, to send only its length of it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bm_mkdir);
} mkdir_scratch SEC(".maps");

/*
 * A cgroup made on the cgroup2 hierarchy (hierarchy id 0): its id and path, so that userspace
 * names it even when it is gone before userspace could walk the tree to it.
 */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct bm_mkdir *m;
	struct bm_stats *s;
	__u32 zero = 0;
	long n;

	if (cgrp->root->hierarchy_id != 0)
		return 0;
	m = bpf_map_lookup_elem(&mkdir_scratch, &zero);
	if (!m)
		return 0;
	m->id = cgrp->kn->id;
	n = bpf_probe_read_kernel_str(m->path, sizeof(m->path), path);
	if (n <= 0 || n > BM_PATH_MAX)
		return 0;
	if (bpf_ringbuf_output(&mkdirs, m, sizeof(m->id) + n, 0)) {
		s = bpf_map_lookup_elem(&stats, &zero);
		if (s)
			s->mkdir_lost++;
	}
	return 0;
}

/*
 * The hotplug steps that bring a CPU up and run on another CPU (the prepare steps, and the
 * one that starts it) come before the new CPU runs anything. Its state is from before it went
 * offline: its last flush would charge the whole time it was away to idle, and its readings
 * are stale, so drop them (the first switch and flush there take new ones). Count the bringup for
 * userspace, which then opens the CPU's perf events again. Needs bpf_map_lookup_percpu_elem
 * (Linux 5.19).
 */
SEC("raw_tp/cpuhp_enter")
int BPF_PROG(cpu_bringup, unsigned int cpu, int target, int step)
{
	struct cpu_state *st;
	struct bm_stats *s;
	__u32 zero = 0;

	if (target <= step || cpu == bpf_get_smp_processor_id())
		return 0;
	st = bpf_map_lookup_percpu_elem(&cpu_state, &zero, cpu);
	if (st) {
		st->valid = 0;
		st->pend_valid = 0; /* userspace takes the CPU's next readings as a new baseline */
		st->flush_ns = 0;
		st->charged = 0;
		st->idle_debt = 0;
		st->cepoch = epoch;
		st->dying = 0;
	}
	s = bpf_map_lookup_percpu_elem(&stats, &zero, cpu);
	if (s)
		s->cpu_up++;
	return 0;
}

/*
 * A CPU going offline runs its hotplug teardown steps down to CPUHP_TEARDOWN_CPU itself, in
 * its cpuhp thread; then its stopper marks it offline, after which no tracepoint fires there.
 * Mark it dying at each such step: its switches from then on, to the stopper the last of them,
 * close its time as the flush would (with interrupts off, which a flush IPI cannot cut into).
 * Its idle time since the last flush (the tens of milliseconds it idles once deactivated) is
 * then charged with the interval it went in, as its counters' are, rather than lost, or charged
 * where it comes back. Only local lookups: it loads wherever raw_tp/cpuhp_enter is (Linux 4.17).
 */
SEC("raw_tp/cpuhp_enter")
int BPF_PROG(cpu_teardown, unsigned int cpu, int target, int step)
{
	struct cpu_state *st;
	__u32 zero = 0;

	if (target >= step || cpu != bpf_get_smp_processor_id())
		return 0;
	st = bpf_map_lookup_elem(&cpu_state, &zero);
	if (st)
		st->dying = 1;
	return 0;
}
