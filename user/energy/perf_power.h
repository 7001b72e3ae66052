/* SPDX-License-Identifier: BSD-2-Clause */
/* The perf "power" PMU (RAPL through perf_event_open), as its sysfs directory describes it. */
#ifndef BM_PERF_POWER_H
#define BM_PERF_POWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "energy.h"

/* One energy-* event of the PMU. */
struct perf_power_event {
	bool present;
	const char *name; /* "energy-pkg" (static) */
	uint64_t config; /* the event code, perf_event_attr.config */
	double scale; /* joules per count */
};

struct perf_power_pmu {
	uint32_t type; /* perf_event_attr.type */
	struct perf_power_event ev[BM_NR_DOMAINS]; /* by domain */
	bool *cpus; /* [nr_cpus]: the CPUs of cpumask, one per package (or die) */
	int nr_cpus;
};

/*
 * Parse the PMU directory root (normally /sys/bus/event_source/devices/power): type, cpumask
 * and events/energy-*. nr_cpus is the number of possible CPUs. Opens no perf event. Returns 0,
 * or a negative errno with why filled; perf_power_pmu_free() either way.
 */
int perf_power_parse(struct perf_power_pmu *pmu, const char *root, int nr_cpus, char *why,
		     size_t whylen);
void perf_power_pmu_free(struct perf_power_pmu *pmu);

/* The source's operations: read() takes a counter's 64-bit count from its perf fd. */
extern const struct energy_ops perf_power_ops;

#endif
