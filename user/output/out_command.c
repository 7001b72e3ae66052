// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>

#include "out_command.h"

/*
 * The grams CO2e of the command's energy and of the host's, over report_total_domains():
 * false where there is no estimate (no intensity, no energy measured).
 */
static bool co2e_totals(const struct bm_meta *m, const struct command_report *r, double *cmd,
			double *host, unsigned int *mask)
{
	*mask = report_total_domains(r->domains);
	*cmd = *host = 0;
	if (!m->carbon_source || !r->have_energy || !*mask || !r->carbon_intervals)
		return false;
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		if (!(*mask & (1u << d)))
			continue;
		*cmd += r->sum.co2e_g[d];
		*host += r->host_co2e_g[d];
	}
	return true;
}

static void print_co2e(FILE *f, const struct bm_meta *m, const struct command_report *r)
{
	unsigned int mask;
	double cmd, host;
	char what[64];

	if (!co2e_totals(m, r, &cmd, &host, &mask)) {
		fprintf(f, "%18s     %-16s # not estimated: %s\n", "-", "CO2e",
			!r->have_energy || !mask ? "no energy measured"
						 : "no carbon intensity for any interval");
		return;
	}
	report_domains_text(what, sizeof(what), mask);
	if (r->energy_split)
		fprintf(f, "%18.6f g   %-16s # of %s energy; host %.6f g (estimate from %s", cmd,
			"CO2e", what, host, m->carbon_source);
	else
		fprintf(f,
			"%18s     %-16s # not split by cgroup with --by process; host %.6f g of %s "
			"energy (estimate from %s",
			"-", "CO2e", host, what, m->carbon_source);
	if (r->carbon_intervals < r->intervals)
		fprintf(f, "; %u of %u intervals had an intensity, the rest are not counted",
			r->carbon_intervals, r->intervals);
	fputs(")\n", f);
}

static void print_csv(FILE *f, const struct bm_meta *m, const struct command_report *r)
{
	double wall = r->wall_s;

	fputs("command,exit_status,wall_s,cpu_s", f);
	for (int e = 0; e < m->nr_events; e++) {
		fputc(',', f);
		csv_field(f, m->events[e].name);
	}
	for (int d = 0; d < BM_NR_DOMAINS; d++)
		if (r->domains & (1u << d))
			fprintf(f, ",%s_energy_j,%s_power_w,host_%s_energy_j",
				energy_domain_name(d), energy_domain_name(d),
				energy_domain_name(d));
	if (m->carbon_source)
		fputs(",co2e_g,host_co2e_g", f);
	if (m->estimate_method)
		fputs(",estimate", f);
	fputc('\n', f);
	csv_field(f, r->cmdline);
	fprintf(f, ",%d,%.6f,%.6f", r->exit_status, wall, (double)r->sum.cpu_ns / 1e9);
	for (int e = 0; e < m->nr_events; e++) {
		if (m->sample_index[e] < 0)
			fputc(',', f);
		else
			fprintf(f, ",%llu", (unsigned long long)r->sum.ev[m->sample_index[e]]);
	}
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		if (!(r->domains & (1u << d)))
			continue;
		if (r->energy_split)
			fprintf(f, ",%.6f,%.6f", r->sum.energy_j[d],
				wall > 0 ? r->sum.energy_j[d] / wall : 0);
		else
			fputs(",,", f); /* not attributed: empty, never a made-up 0 */
		fprintf(f, ",%.6f", r->host_j[d]);
	}
	if (m->carbon_source) {
		unsigned int mask;
		double cmd, host;

		/* Empty where not estimated, or not split: never a made-up 0. */
		if (!co2e_totals(m, r, &cmd, &host, &mask))
			fputs(",,", f);
		else if (!r->energy_split)
			fprintf(f, ",,%.9f", host);
		else
			fprintf(f, ",%.9f,%.9f", cmd, host);
	}
	if (m->estimate_method)
		fputs(",estimated", f);
	fputc('\n', f);
}

void command_report_print(FILE *f, const struct bm_meta *m, const struct command_report *r,
			  bool csv)
{
	const char *estimate =
		r->by_model ? "split by the power model" : "provisional split by CPU time";
	double wall = r->wall_s;
	char est[320];

	/* Never a measurement: said on every energy line, with what it is from. */
	if (m->estimate_method) {
		snprintf(est, sizeof(est), "ESTIMATED, not measured: %s", m->estimate_method);
		estimate = est;
	}

	if (csv) {
		print_csv(f, m, r);
		return;
	}
	fprintf(f, "\n Energy and counter stats for '%s' (exit status %d):\n\n", r->cmdline,
		r->exit_status);
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		if (!(r->domains & (1u << d)))
			continue;
		if (!r->energy_split)
			fprintf(f,
				"%18s     %-16s # not split by cgroup with --by process; host %.3f "
				"J\n",
				"-", energy_domain_name(d), r->host_j[d]);
		else
			fprintf(f, "%18.3f J   %-16s # %8.3f W average; host %.3f J (%s)\n",
				r->sum.energy_j[d], energy_domain_name(d),
				wall > 0 ? r->sum.energy_j[d] / wall : 0, r->host_j[d], estimate);
	}
	if (!r->have_energy)
		fprintf(f, "%18s     %-16s # not measured: no energy source\n", "-", "energy");
	if (m->carbon_source)
		print_co2e(f, m, r);
	fprintf(f, "%18.3f s   %-16s # %8.3f CPUs used\n", (double)r->sum.cpu_ns / 1e9, "cpu time",
		wall > 0 ? (double)r->sum.cpu_ns / 1e9 / wall : 0);
	for (int e = 0; e < m->nr_events; e++) {
		int k = m->sample_index[e];

		if (k < 0)
			fprintf(f,
				"%18s     %-16s # not counted (the warning at the start says "
				"why)\n",
				"-", m->events[e].name);
		else
			fprintf(f, "%18llu     %-16s # %.3f G/s\n",
				(unsigned long long)r->sum.ev[k], m->events[e].name,
				wall > 0 ? (double)r->sum.ev[k] / wall / 1e9 : 0);
	}
	fprintf(f, "\n%18.3f s   wall time\n\n", wall);
}
