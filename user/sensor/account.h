/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_ACCOUNT_H
#define BM_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfmeter.h"
#include "energy.h"
#include "idvec.h"
#include "topology.h"

/* What one target used in one place (a socket, or the whole host) over some time. */
struct bm_sample {
	uint64_t cpu_ns;
	uint64_t ev[BM_MAX_EVENTS]; /* scaled for multiplexing, indexed like the sensor's events */
	double energy_j[BM_NR_DOMAINS]; /* attributed energy (filled by the report, not here) */
	/* Grams CO2e estimated from energy_j at the interval's carbon intensity (filled by the
	 * interval where one applies, not here), so that session totals add up over intervals
	 * of different intensities. */
	double co2e_g[BM_NR_DOMAINS];
};

struct account_target {
	uint64_t id; /* accounting key: cgroup id, BM_KEY_IDLE or BM_KEY_OVERFLOW */
	struct bm_acct *prev; /* [nr_cpus] last cumulative readings, stride acct_stride */
	struct bm_sample *cur; /* [nr_sockets] this interval */
	bool active; /* charged anything this interval */
};

/*
 * Turns the BPF map's cumulative per-CPU sums into per-interval, per-socket deltas,
 * scaled for multiplexing per CPU.
 */
struct account {
	const struct bm_topology *topo;
	int nr_events;
	size_t stride; /* bytes per CPU in a per-CPU map value */
	struct idvec targets; /* of struct account_target */
	bool *reset; /* [nr_cpus]: this interval's readings of the CPU are its new baseline */
};

void account_init(struct account *a, const struct bm_topology *topo, int nr_events);
void account_free(struct account *a);
/* Start an interval: every target's interval sums go to zero, no CPU is reset. */
void account_begin(struct account *a);
/*
 * After account_begin(): the readings of each CPU with cpus[cpu] true ([topo->nr_cpus], NULL
 * for none) are its new baseline in this interval, for every target, known or new: nothing
 * charged there since the last interval counts. For a CPU that came online where the BPF
 * side charged its offline time to whatever ran there first.
 */
void account_reset_cpus(struct account *a, const bool *cpus);
/*
 * Take one key's per-CPU cumulative values (topo->nr_cpus values, a->stride apart, as a
 * per-CPU map lookup returns them). Returns the target.
 */
struct account_target *account_update(struct account *a, uint64_t id, const void *percpu);
/*
 * Add one socket's interval sums of a target as they were recorded (replay): into its
 * interval sums, the target made active. Returns the target.
 */
struct account_target *account_add(struct account *a, uint64_t id, int socket,
				   const struct bm_sample *s);
/* Drop a target whose key was deleted from the map. */
void account_forget(struct account *a, uint64_t id);

#endif
