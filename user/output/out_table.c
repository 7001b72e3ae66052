// SPDX-License-Identifier: BSD-2-Clause
#include <math.h>
#include <string.h>

#include "carbon.h"
#include "report.h"
#include "util.h"

#define TARGET_WIDTH 40

/* 1234567 -> "1.23M", to fit a rate in a column. */
static void si(char *buf, size_t len, double v)
{
	static const char *const sfx[] = { "", "k", "M", "G", "T", "P" };
	int i = 0;

	while (fabs(v) >= 999.5 && i < 5) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, i ? "%.2f%s" : "%.0f%s", v, sfx[i]);
}

/* A rate column is as wide as its heading ("name/s"), at least 10. */
static int col_width(const struct bm_meta *m, int e)
{
	int w = (int)strlen(m->events[e].name) + 2;

	return w < 10 ? 10 : w;
}

/* The energy domains any row has, as a bit mask. */
static unsigned int domains_of(const struct bm_row *rows, size_t n)
{
	unsigned int mask = 0;

	for (size_t i = 0; i < n; i++)
		mask |= rows[i].domains;
	return mask;
}

static void header_row(FILE *f, const struct bm_meta *m, const char *cpu_col, const char *suffix,
		       int ipc, unsigned int domains, const char *energy_unit, const char *co2e_col)
{
	fprintf(f, "%-*s %8s", TARGET_WIDTH, "TARGET", cpu_col);
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		char col[32];

		if (!(domains & (1u << d)))
			continue;
		snprintf(col, sizeof(col), "%s %s", energy_domain_name((enum bm_domain)d),
			 energy_unit);
		fprintf(f, " %10s", col);
	}
	if (co2e_col)
		fprintf(f, " %10s", co2e_col);
	for (int e = 0; e < m->nr_events; e++) {
		char col[80];

		if (m->sample_index[e] < 0)
			continue;
		snprintf(col, sizeof(col), "%s%s", m->events[e].name, suffix);
		fprintf(f, " %*s", col_width(m, e), col);
	}
	if (ipc)
		fprintf(f, " %6s", "IPC");
	fputc('\n', f);
}

/*
 * A CO2e column: the grams of the energy of the domains it sums, times mult (3600 / seconds
 * for the live view's g/h, 1 for the summary's grams), with prec decimals.
 */
struct co2e_col {
	unsigned int domains;
	double mult;
	int prec;
};

/* One target's row; co2e: its CO2e column, or NULL for none. */
static void data_row(FILE *f, const struct bm_meta *m, const struct bm_row *r, double seconds,
		     double cpu_value, int cyc, int ins, unsigned int domains, double energy_div,
		     const struct co2e_col *co2e)
{
	char name[4 * TARGET_WIDTH + 8], num[32];
	int cols;

	const struct bm_labels *l = &r->target->labels;

	/* Short ids for containers and pods; the full labels are in CSV and Influx. */
	cols = bm_term_fit(name, sizeof(name),
			   (l->kind == BM_KIND_CONTAINER || l->kind == BM_KIND_CONMON ||
			    l->kind == BM_KIND_POD || l->kind == BM_KIND_VM) &&
					   l->short_name[0]
				   ? l->short_name
				   : r->target->name,
			   TARGET_WIDTH);
	/* Padded by columns, not bytes: a name of UTF-8 keeps the columns in line. */
	fprintf(f, "%s%*s %8.1f", name, TARGET_WIDTH - cols, "", cpu_value);
	for (int d = 0; d < BM_NR_DOMAINS; d++)
		if (domains & (1u << d))
			fprintf(f, " %10.2f", energy_div > 0 ? r->s.energy_j[d] / energy_div : 0);
	if (co2e) {
		double g = 0;

		for (int d = 0; d < BM_NR_DOMAINS; d++)
			if (co2e->domains & (1u << d))
				g += r->s.co2e_g[d];
		fprintf(f, " %10.*f", co2e->prec, g * co2e->mult);
	}
	for (int e = 0; e < m->nr_events; e++) {
		int k = m->sample_index[e];

		if (k < 0)
			continue;
		si(num, sizeof(num), seconds > 0 ? (double)r->s.ev[k] / seconds : 0);
		fprintf(f, " %*s", col_width(m, e), num);
	}
	if (cyc >= 0 && ins >= 0) {
		if (r->s.ev[cyc])
			fprintf(f, " %6.2f", (double)r->s.ev[ins] / (double)r->s.ev[cyc]);
		else
			fprintf(f, " %6s", "-");
	}
	fputc('\n', f);
}

/* Measured power per socket and domain, and how targets get their part of it. */
static void print_energy(FILE *f, const struct bm_meta *m, const struct bm_interval *iv)
{
	int socket = -1;

	if (!m->energy_source) {
		fprintf(f, "energy: %s; CPU shares only, no watts\n", m->energy_note);
		return;
	}
	if (m->estimate_method)
		fprintf(f, "ESTIMATED: %s; not measured\n", m->estimate_method);
	fprintf(f, "power (%s%s%s):", m->estimate_method ? "estimated" : m->energy_source,
		m->energy_from_host ? ", passed through from host " : "",
		m->energy_from_host ? m->energy_from_host : "");
	for (int i = 0; i < iv->nenergy; i++) {
		const struct energy_reading *e = &iv->energy[i];

		if (e->socket != socket)
			fprintf(f, "%s socket %d:", socket < 0 ? "" : ";",
				m->package_id[e->socket]);
		fprintf(f, "%s %s %.2f W", e->socket == socket ? "," : "",
			energy_domain_name(e->domain),
			iv->interval_s > 0 ? e->joules / iv->interval_s : 0);
		socket = e->socket;
	}
	if (!iv->nenergy)
		fputs(" no reading this interval", f);
	fputc('\n', f);
	for (int i = 0; iv->models && i < iv->nenergy; i++) {
		const struct bm_model_record *r = &iv->models[i];

		fprintf(f, "model socket %d %s: ", m->package_id[r->socket],
			energy_domain_name(r->domain));
		if (!r->model_id) {
			fprintf(f,
				"learning (%d samples), targets split by CPU time (provisional)\n",
				r->samples);
			continue;
		}
		fprintf(f, "#%u, %d samples", r->model_id, r->samples);
		if (r->layer_mhz >= 0)
			fprintf(f, ", layer %d MHz", r->layer_mhz);
		if (r->predicted)
			fprintf(f, ", predicted %.2f W (error %+.2f W)", r->predicted_w,
				r->error_w);
		fprintf(f, "; P = %.2f W", r->intercept_w);
		for (int j = 0; j < m->features->nfeat; j++)
			fprintf(f, " + %.3g x %s", r->coef[j], m->features->name[j]);
		fputc('\n', f);
	}
	if (iv->estimated)
		fputs("(targets' watts: the estimate's idle power to idle, the rest by CPU time)\n",
		      f);
	else if (!iv->models)
		fputs("(targets' watts: split of each socket's energy by CPU time, provisional)\n",
		      f);
}

/*
 * The CO2e estimate of the interval: the host's rate and where its intensity comes from. The
 * targets' rates (g/h) go in a column where it applies. Returns the domains they sum.
 */
static unsigned int print_co2e(FILE *f, const struct bm_meta *m, const struct bm_interval *iv,
			       unsigned int domains)
{
	unsigned int mask = report_total_domains(domains);
	char what[64];
	double g = 0;

	if (!m->carbon_source)
		return 0;
	if (!m->energy_source || !mask) {
		fprintf(f, "CO2e: not estimated: no energy measured\n");
		return 0;
	}
	if (!(iv->carbon_g_per_kwh > 0)) {
		fprintf(f, "CO2e: not estimated: no carbon intensity at this time (%s)\n",
			m->carbon_source);
		return 0;
	}
	for (int i = 0; i < iv->nenergy; i++)
		if (mask & (1u << iv->energy[i].domain))
			g += carbon_co2e_g(iv->energy[i].joules, iv->carbon_g_per_kwh);
	report_domains_text(what, sizeof(what), mask);
	fprintf(f, "CO2e: host %.2f g/h of %s", iv->interval_s > 0 ? g * 3600 / iv->interval_s : 0,
		what);
	if (m->carbon_over_time)
		fprintf(f, " at %g g/kWh", iv->carbon_g_per_kwh);
	fprintf(f, " (estimate from %s)\n", m->carbon_source);
	return mask;
}

void table_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv)
{
	int cyc = m->cycles_idx, ins = m->instructions_idx;
	/* Grams per hour, with as many decimals as the watts. */
	struct co2e_col co2e = { .mult = iv->interval_s > 0 ? 3600 / iv->interval_s : 0,
				 .prec = 2 };
	unsigned int domains;
	const char *sep = "";

	/* Home and clear: one screen per interval. */
	fputs("\033[H\033[J", f);
	fprintf(f, "bpfmeter on %s: %d CPUs, interval %.2f s, hook %s\n", m->host, iv->nr_online,
		iv->interval_s, m->hook);
	if (iv->cpus_note)
		fprintf(f, "cpus: %s\n", iv->cpus_note);
	fputs("events: ", f);
	for (int e = 0; e < m->nr_events; e++) {
		if (m->sample_index[e] < 0)
			continue;
		fprintf(f, "%s%s", sep, m->events[e].name);
		sep = ", ";
	}
	fprintf(f, "%s\n", *sep ? "" : "none (on-CPU time only)");
	if (m->missing_note)
		fprintf(f, "missing: %s\n", m->missing_note);
	print_energy(f, m, iv);
	domains = domains_of(iv->rows, iv->n);
	co2e.domains = print_co2e(f, m, iv, domains);
	if (iv->overflow)
		fprintf(f, "overflow: %llu slices charged to \"overflow\" (raise --max-cgroups)\n",
			(unsigned long long)iv->overflow);
	fputc('\n', f);
	header_row(f, m, "CPU%", "/s", cyc >= 0 && ins >= 0, domains, "W",
		   co2e.domains ? "gCO2e/h" : NULL);
	for (size_t i = 0; i < iv->n; i++)
		data_row(f, m, &iv->rows[i], iv->interval_s,
			 iv->interval_s > 0 ? (double)iv->rows[i].s.cpu_ns / (iv->interval_s * 1e7)
					    : 0,
			 cyc, ins, domains, iv->interval_s, co2e.domains ? &co2e : NULL);
	fflush(f);
}

/* The session's grams CO2e, and what they are an estimate from. */
static void co2e_summary_line(FILE *f, const struct bm_meta *m, const struct bm_co2e_summary *c,
			      unsigned int domains)
{
	unsigned int mask = report_total_domains(domains);
	char what[64];
	double g = 0;

	if (!mask || !c->with_intensity) {
		fprintf(f, "CO2e: not estimated: %s\n",
			!mask ? "no energy measured" : "no carbon intensity for any interval");
		return;
	}
	for (int d = 0; d < BM_NR_DOMAINS; d++)
		if (mask & (1u << d))
			g += c->host_g[d];
	report_domains_text(what, sizeof(what), mask);
	fprintf(f, "CO2e: host %.6f g of %s energy (estimate from %s", g, what, m->carbon_source);
	if (c->with_intensity < c->intervals)
		fprintf(f, "; %u of %u intervals had an intensity, the rest are not counted",
			c->with_intensity, c->intervals);
	fputs(")\n", f);
}

void table_summary(FILE *f, const struct bm_meta *m, const struct bm_row *totals, size_t n,
		   double elapsed_s, const struct bm_co2e_summary *summary)
{
	int cyc = m->cycles_idx, ins = m->instructions_idx;
	/* Grams, to the microgram: a command's are often milligrams. */
	struct co2e_col co2e = { .mult = 1, .prec = 6 };
	unsigned int domains;

	fprintf(f,
		"\nSession summary: %.2f s on %s, %d CPUs (CPU s = seconds on a CPU; rates per "
		"second)\n",
		elapsed_s, m->host, m->nr_online);
	domains = domains_of(totals, n);
	if (m->carbon_source && summary && summary->with_intensity)
		co2e.domains = report_total_domains(domains);
	header_row(f, m, "CPU s", "/s", cyc >= 0 && ins >= 0, domains, "J",
		   co2e.domains ? "gCO2e" : NULL);
	for (size_t i = 0; i < n; i++)
		data_row(f, m, &totals[i], elapsed_s, (double)totals[i].s.cpu_ns / 1e9, cyc, ins,
			 domains, 1, co2e.domains ? &co2e : NULL);
	if (m->carbon_source && summary)
		co2e_summary_line(f, m, summary, domains);
	fflush(f);
}
