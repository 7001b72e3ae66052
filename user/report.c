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
