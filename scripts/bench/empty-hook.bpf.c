// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/* Benchmark aid: a sched_switch hook that does nothing, to measure the fixed cost of any
 * tp_btf program on sched_switch (see scripts/bench-overhead.sh). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_switch)
{
	return 0;
}
