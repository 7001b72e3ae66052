// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * Charge each CPU's time and perf counter deltas to the cgroup of the task that ran.
 *
 * The slice that ends at a context switch belongs to prev. tp_btf reads prev's pid and cgroup
 * id with plain loads through its typed pointer, which costs a fraction of the helpers; the
 * raw_tp twin uses the helpers instead, since prev is still current when the tracepoint fires.
 * The flush program is run on each CPU by userspace (BPF_PROG_TEST_RUN with
 * BPF_F_TEST_RUN_ON_CPU) at the end of every interval; it interrupts whatever runs there and
 * charges the slice so far to it. A CPU going offline leaves its last timestamp behind: the
 * cpuhp hook drops it when the CPU comes back, before anything runs there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpfmeter.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace between open and load. */
const volatile __u32 nr_events = 0;
const volatile __u32 nr_cpu_slots = 1; /* slots per event in the events array */
const volatile bool by_process = false; /* also charge each slice to its process (tgid) */

struct cpu_state {
	__u64 last_ns;
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

/* Sized from userspace: value_size = bm_acct_size(nr_events), so no BTF type for the value. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u64));
	__uint(value_size, sizeof(struct bm_acct));
} acct SEC(".maps");

/* Per process (tgid, 0 for idle): sized only with --by process, one entry otherwise. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u64));
	__uint(value_size, sizeof(struct bm_acct));
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bm_stats);
} stats SEC(".maps");

/* Template for new accounting entries; only bm_acct_size(nr_events) bytes of it are copied. */
struct bm_acct acct_zero = {};

static __always_inline struct bm_acct *acct_get(void *map, __u64 key, bool procs)
{
	struct bm_acct *a;
	__u32 zero = 0;
	struct bm_stats *s;

	a = bpf_map_lookup_elem(map, &key);
	if (a)
		return a;
	bpf_map_update_elem(map, &key, &acct_zero, BPF_NOEXIST);
	a = bpf_map_lookup_elem(map, &key);
	if (a)
		return a;
	/* The map is full: charge the overflow entry that userspace created before attach. */
	s = bpf_map_lookup_elem(&stats, &zero);
	if (s && procs)
		s->overflow_procs++;
	else if (s)
		s->overflow++;
	key = BM_KEY_OVERFLOW;
	return bpf_map_lookup_elem(map, &key);
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

static __always_inline void charge_running_slice(__u64 key, __u64 tgid)
{
	/* Same layout as the UAPI struct bpf_perf_event_value, without CO-RE relocations. */
	struct bm_counter cur[BM_MAX_EVENTS];
	__u32 cpu = bpf_get_smp_processor_id();
	struct cpu_state *st;
	struct bm_acct *a;
	__u32 zero = 0;
	__u64 now;
	__u32 i;

	st = bpf_map_lookup_elem(&cpu_state, &zero);
	if (!st)
		return;
	now = bpf_ktime_get_ns();

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

	if (st->last_ns) {
		a = acct_get(&acct, key, false);
		if (a)
			acct_add(a, now - st->last_ns, cur, st->last);
		/* A constant: without --by process the verifier drops this branch. */
		if (by_process) {
			a = acct_get(&procs, tgid, true);
			if (a)
				acct_add(a, now - st->last_ns, cur, st->last);
		}
	}

	st->last_ns = now;
#pragma unroll
	for (i = 0; i < BM_MAX_EVENTS; i++) {
		if (i >= nr_events)
			break;
		st->last[i] = cur[i];
	}
}

/* The running task's keys: its cgroup v2 id and its process, or idle for the idle task. */
static __always_inline void charge_current(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	if ((__u32)id)
		charge_running_slice(bpf_get_current_cgroup_id(), id >> 32);
	else
		charge_running_slice(BM_KEY_IDLE, BM_KEY_IDLE);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (prev->pid)
		charge_running_slice(prev->cgroups->dfl_cgrp->kn->id, prev->tgid);
	else
		charge_running_slice(BM_KEY_IDLE, BM_KEY_IDLE);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw)
{
	charge_current();
	return 0;
}

/* Not attached: userspace runs it on each CPU to close the interval there. */
SEC("raw_tp")
int BPF_PROG(flush)
{
	charge_current();
	return 0;
}

/*
 * The hotplug steps that bring a CPU up and run on another CPU (the prepare steps, and the
 * one that starts it) come before the new CPU runs anything. Its state is from before it went
 * offline: its last timestamp would charge the whole time it was away to the first task to run
 * there, so drop it (the first switch there takes a new one). Count the bringup for userspace,
 * which then opens the CPU's perf events again. Needs bpf_map_lookup_percpu_elem (Linux 5.19).
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
	if (st)
		st->last_ns = 0;
	s = bpf_map_lookup_percpu_elem(&stats, &zero, cpu);
	if (s)
		s->cpu_up++;
	return 0;
}
