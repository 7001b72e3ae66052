// SPDX-License-Identifier: BSD-2-Clause
#include <math.h>
#include <string.h>

#include "report.h"

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

/* Long cgroup paths keep their end, which names the container or unit. */
static void fit(char *buf, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (n < len) {
		memcpy(buf, name, n + 1);
		return;
	}
	snprintf(buf, len, "...%s", name + n - (len - 4));
}

/* A rate column is as wide as its heading ("name/s"), at least 10. */
static int col_width(const struct bm_meta *m, int e)
{
	int w = (int)strlen(m->events[e].name) + 2;

	return w < 10 ? 10 : w;
}

static int index_of(const struct bm_meta *m, const char *name)
{
	for (int e = 0; e < m->nr_events; e++)
		if (m->sample_index[e] >= 0 && !strcmp(m->events[e].name, name))
			return m->sample_index[e];
	return -1;
}

static void header_row(FILE *f, const struct bm_meta *m, const char *cpu_col, const char *suffix,
		       int ipc)
{
	fprintf(f, "%-*s %8s", TARGET_WIDTH, "TARGET", cpu_col);
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

static void data_row(FILE *f, const struct bm_meta *m, const struct bm_row *r, double seconds,
		     double cpu_value, int cyc, int ins)
{
	char name[TARGET_WIDTH + 1], num[32];

	fit(name, sizeof(name), r->target);
	fprintf(f, "%-*s %8.1f", TARGET_WIDTH, name, cpu_value);
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

void table_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv)
{
	int cyc = index_of(m, "cycles"), ins = index_of(m, "instructions");
	const char *sep = "";

	if (cyc < 0)
		cyc = index_of(m, "cpu-cycles");
	/* Home and clear: one screen per interval. */
	fputs("\033[H\033[J", f);
	fprintf(f, "bpfmeter on %s: %d CPUs, interval %.2f s, hook %s\n", m->host, m->nr_online,
		iv->interval_s, m->hook);
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
	if (iv->overflow)
		fprintf(f, "overflow: %llu slices charged to \"overflow\" (raise --max-cgroups)\n",
			(unsigned long long)iv->overflow);
	fputc('\n', f);
	header_row(f, m, "CPU%", "/s", cyc >= 0 && ins >= 0);
	for (size_t i = 0; i < iv->n; i++)
		data_row(f, m, &iv->rows[i], iv->interval_s,
			 iv->interval_s > 0 ? (double)iv->rows[i].s.cpu_ns / (iv->interval_s * 1e7)
					    : 0,
			 cyc, ins);
	fflush(f);
}

void table_summary(FILE *f, const struct bm_meta *m, const struct bm_row *totals, size_t n,
		   double elapsed_s)
{
	int cyc = index_of(m, "cycles"), ins = index_of(m, "instructions");

	if (cyc < 0)
		cyc = index_of(m, "cpu-cycles");
	fprintf(f,
		"\nSession summary: %.2f s on %s, %d CPUs (CPU s = seconds on a CPU; rates per "
		"second)\n",
		elapsed_s, m->host, m->nr_online);
	header_row(f, m, "CPU s", "/s", cyc >= 0 && ins >= 0);
	for (size_t i = 0; i < n; i++)
		data_row(f, m, &totals[i], elapsed_s, (double)totals[i].s.cpu_ns / 1e9, cyc, ins);
	fflush(f);
}
