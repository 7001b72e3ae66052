/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_OUT_COMMAND_H
#define BM_OUT_COMMAND_H

#include <stdbool.h>
#include <stdio.h>

#include "report.h"

/* What `bpfmeter -- CMD` used, for the summary in perf stat's manner. */
struct command_report {
	const char *cmdline;
	int exit_status;
	double wall_s;
	struct bm_sample sum; /* the command's cgroup and those below it */
	unsigned int domains; /* bit per domain measured */
	const double *host_j; /* [BM_NR_DOMAINS] measured over the session, all sockets */
	bool have_energy;
	bool energy_split; /* sum.energy_j holds the command's part (not with --by process) */
	bool by_model; /* split by the power model, not by CPU time */
	/* With meta's carbon_source: grams CO2e of the measured energy, all sockets, and how
	 * many of the intervals had an intensity (sum.co2e_g holds the command's). */
	const double *host_co2e_g; /* [BM_NR_DOMAINS] */
	unsigned int intervals, carbon_intervals;
};

/* On f (stderr): perf stat's layout, or one CSV header and row with csv. */
void command_report_print(FILE *f, const struct bm_meta *m, const struct command_report *r,
			  bool csv);

#endif
