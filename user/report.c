// SPDX-License-Identifier: BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "report.h"

const char *report_special_name(uint64_t key)
{
	if (key == BM_KEY_IDLE)
		return "idle";
	if (key == BM_KEY_OVERFLOW)
		return "overflow";
	return NULL;
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct bm_row *a = pa, *b = pb;

	if (a->s.cpu_ns != b->s.cpu_ns)
		return a->s.cpu_ns > b->s.cpu_ns ? -1 : 1;
	if (a->socket != b->socket)
		return a->socket - b->socket;
	return strcmp(a->target, b->target);
}

void report_sort(struct bm_row *rows, size_t n)
{
	qsort(rows, n, sizeof(*rows), cmp_rows);
}

void report_split_by_cpu(struct bm_row *rows, size_t n, int nr_sockets,
			 const struct energy_reading *energy, int nenergy)
{
	uint64_t *total = calloc((size_t)nr_sockets, sizeof(*total));

	if (!total)
		abort();
	for (size_t i = 0; i < n; i++)
		total[rows[i].socket] += rows[i].s.cpu_ns;
	for (size_t i = 0; i < n; i++) {
		struct bm_row *r = &rows[i];

		r->share = total[r->socket] ? (double)r->s.cpu_ns / (double)total[r->socket] : 0;
		r->domains = 0;
		for (int e = 0; e < nenergy; e++) {
			if (energy[e].socket != r->socket)
				continue;
			r->s.energy_j[energy[e].domain] = energy[e].joules * r->share;
			r->domains |= 1u << energy[e].domain;
		}
	}
	free(total);
}
