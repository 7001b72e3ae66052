// SPDX-License-Identifier: BSD-2-Clause
/*
 * The perf power PMU's sysfs directory (/sys/bus/event_source/devices/power): the input is
 * the directory, one file a line, "PATH<TAB>TEXT" as for the powercap target (type, cpumask,
 * events/energy-*, their .scale and .unit, format/...), made under a fresh directory and
 * parsed by perf_power_parse() for 64 CPUs. No perf event is opened: perf_power_open()
 * goes on from this parse to perf_event_open().
 */
#include <math.h>

#include "energy.h"
#include "fuzz.h"
#include "perf_power.h"

#define NR_CPUS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *root = fuzz_dir("perfpower");
	struct perf_power_pmu pmu;
	char why[1024] = "";
	bool any = false;

	fuzz_tree(data, size, root);
	if (!perf_power_parse(&pmu, root, NR_CPUS, why, sizeof(why))) {
		/* What perf_power_open() relies on when the parse succeeded. */
		if (pmu.nr_cpus != NR_CPUS || !pmu.cpus)
			abort();
		for (int cpu = 0; cpu < NR_CPUS; cpu++)
			any |= pmu.cpus[cpu];
		for (int d = 0; d < BM_NR_DOMAINS; d++) {
			const struct perf_power_event *ev = &pmu.ev[d];

			if (ev->present && (!ev->name || !(ev->scale > 0) || isinf(ev->scale)))
				abort();
		}
		if (!any)
			abort();
	} else if (!*why) {
		abort(); /* every failure says why */
	}
	perf_power_pmu_free(&pmu);
	return 0;
}
