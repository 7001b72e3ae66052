// SPDX-License-Identifier: BSD-2-Clause
#include <csv.h>
#include <string.h>

#include "report.h"

/* RFC 4180: quote a field only when it holds a comma, a quote or a line break. */
static void field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n"))
		csv_fwrite(f, s, strlen(s));
	else
		fputs(s, f);
}

int csv_header(FILE *f, const struct bm_meta *m)
{
	fputs("timestamp,interval_s,target,cgroup_id,socket,cpu_ns", f);
	for (int e = 0; e < m->nr_events; e++) {
		fputc(',', f);
		field(f, m->events[e].name);
	}
	fputc('\n', f);
	return fflush(f) ? -1 : 0;
}

int csv_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv)
{
	for (size_t i = 0; i < iv->n; i++) {
		const struct bm_row *r = &iv->rows[i];

		fprintf(f, "%.3f,%.6f,", iv->ts_real, iv->interval_s);
		field(f, r->target);
		if (report_special_name(r->key))
			fputc(',', f);
		else
			fprintf(f, ",%llu", (unsigned long long)r->key);
		fprintf(f, ",%d,%llu", m->package_id[r->socket], (unsigned long long)r->s.cpu_ns);
		for (int e = 0; e < m->nr_events; e++) {
			int k = m->sample_index[e];

			if (k < 0)
				fputc(',', f); /* not measured: empty, never a made-up 0 */
			else
				fprintf(f, ",%llu", (unsigned long long)r->s.ev[k]);
		}
		fputc('\n', f);
	}
	return fflush(f) ? -1 : 0;
}
