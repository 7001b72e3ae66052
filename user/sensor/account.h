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
	bool active; /* charged anything this interval */
	bool fresh; /* new since the caller last cleared it (the session, once it is named) */
	/* [nr_sockets] this interval, in the element itself: one cache miss less per charge */
	struct bm_sample cur[];
};

/*
 * Turns the BPF maps' per-interval sums of (target, CPU) pairs into per-socket sums, scaled
 * for multiplexing per CPU.
 */
struct account {
	const struct bm_topology *topo;
	int nr_events;
	struct idvec targets; /* of struct account_target */
	bool *reset; /* [nr_cpus]: this interval's readings of the CPU are its new baseline */
	/*
	 * This interval's enabled and running time of each counter, summed over what was
	 * charged: where running falls short of enabled, the PMU had fewer counters than
	 * events and multiplexed them (the counts are scaled up by enabled / running).
	 */
	uint64_t enabled[BM_MAX_EVENTS];
	uint64_t running[BM_MAX_EVENTS];
};

void account_init(struct account *a, const struct bm_topology *topo, int nr_events);
void account_free(struct account *a);
/* Start an interval: every target's interval sums go to zero, no CPU is reset. */
void account_begin(struct account *a);
/*
 * After account_begin(): nothing charged this interval on a CPU with cpus[cpu] true
 * ([topo->nr_cpus], NULL for none) counts. For a CPU that came online where the BPF side
 * charged its offline time to whatever ran there first.
 */
void account_reset_cpus(struct account *a, const bool *cpus);
/*
 * Add what one target used on one CPU this interval (as the BPF side summed it over its
 * slices there, with the sensor's nr_events counters) to its socket's sums, each counter
 * scaled by its enabled / running time there. A CPU that is not on a socket known at the
 * start, or is reset this interval, charges nothing. Returns the target, or NULL for such a CPU.
 */
struct account_target *account_charge(struct account *a, uint64_t id, int cpu,
				      const struct bm_acct *sums);
/*
 * The share of its enabled time counter e ran this interval, over what was charged: 1 for one
 * never multiplexed (or with no time at all), less where the PMU multiplexed it.
 */
double account_counted_share(const struct account *a, int e);
/*
 * Add one socket's interval sums of a target as they were recorded (replay): into its
 * interval sums, the target made active. Returns the target.
 */
struct account_target *account_add(struct account *a, uint64_t id, int socket,
				   const struct bm_sample *s);
/* Drop a target that is gone (its cgroup removed, its process exited). */
void account_forget(struct account *a, uint64_t id);

#endif
