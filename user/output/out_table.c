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
