// SPDX-License-Identifier: BSD-2-Clause
/*
 * CSV, one line per target per socket per energy domain and interval (kind "target"), plus
 * one per measured socket and domain (kind "energy", with the model's record). Where a socket
 * has no energy reading
 * a target has one line with an empty domain. cpu_ns and the counters describe the target on
 * the socket, so they repeat on each of its domain lines.
 */
#include <csv.h>
#include <ctype.h>
#include <string.h>

#include "report.h"

/*
 * RFC 4180 quoting, by libcsv's writer, which the readers of our files use too. Besides a
 * comma, a quote or a line break, a space or tab at either end needs quotes: libcsv (and
 * other readers) drop it from an unquoted field.
 */
void csv_field(FILE *f, const char *s)
{
	size_t len = strlen(s);

	if (strpbrk(s, ",\"\r\n") ||
	    (len && (isblank((unsigned char)s[0]) || isblank((unsigned char)s[len - 1]))))
		csv_fwrite(f, s, len);
	else
		fputs(s, f);
}

int csv_header(FILE *f, const struct bm_meta *m)
{
	fputs("timestamp,interval_s,kind,target,cgroup_id,socket,domain,cpu_ns", f);
	for (int e = 0; e < m->nr_events; e++) {
		fputc(',', f);
		csv_field(f, m->events[e].name);
	}
	fputs(",share,energy_j,power_w,estimate,model_id,predicted_w,error_w,layer_mhz,samples,"
	      "intercept_w,coefficients,runtime,container_id,pod_uid,qos,unit,cpus_online,co2e_g\n",
	      f);
	return fflush(f) ? -1 : 0;
}

/* What the target is, where its path says: runtime, container, pod, QoS class, unit. */
static void label_fields(FILE *f, const struct bm_labels *l)
{
	const char *v[5] = { l->runtime, l->container_id, l->pod_uid, l->qos, l->unit };

	for (int i = 0; i < 5; i++) {
		fputc(',', f);
		csv_field(f, v[i]);
	}
}

/* The last field: grams CO2e of joules, empty where no intensity (or no energy) applies. */
static void co2e_field(FILE *f, const struct bm_interval *iv, double joules)
{
	double g;

	if (joules >= 0 && report_co2e(iv, joules, &g))
		fprintf(f, ",%.9f\n", g);
	else
		fputs(",\n", f);
}

static void target_line(FILE *f, const struct bm_meta *m, const struct bm_interval *iv,
			const struct bm_row *r, int domain)
{
	double total;

	fprintf(f, "%.3f,%.6f,target,", iv->ts_real, iv->interval_s);
	csv_field(f, r->target->name);
	/* Processes (--by process) and special targets have no cgroup id. */
	if (target_is_cgroup(r->target))
		fprintf(f, ",%llu", (unsigned long long)r->target->id);
	else
		fputc(',', f);
	fprintf(f, ",%d,%s,%llu", m->package_id[r->socket],
		domain < 0 ? "" : energy_domain_name((enum bm_domain)domain),
		(unsigned long long)r->s.cpu_ns);
	for (int e = 0; e < m->nr_events; e++) {
		int k = m->sample_index[e];

		if (k < 0)
			fputc(',', f); /* not measured: empty, never a made-up 0 */
		else
			fprintf(f, ",%llu", (unsigned long long)r->s.ev[k]);
	}
	if (domain < 0) {
		/* No energy: the share of the socket's CPU time. */
		fprintf(f, ",%.6f,,,,,,,,,,", r->share);
	} else {
		total = report_measured(iv, r->socket, domain);
		fprintf(f, ",%.6f,%.6f,%.6f,%s,%u,,,,,,",
			total > 0 ? r->s.energy_j[domain] / total : r->share, r->s.energy_j[domain],
			iv->interval_s > 0 ? r->s.energy_j[domain] / iv->interval_s : 0,
			report_estimate_name(r, domain), r->model_id[domain]);
	}
	label_fields(f, &r->target->labels);
	fprintf(f, ",%d", iv->nr_online);
	co2e_field(f, iv, domain < 0 ? -1 : r->s.energy_j[domain]);
}

/* The model columns of a measured row: what the model predicted and what it is. */
static void model_fields(FILE *f, const struct bm_meta *m, const struct bm_model_record *rec)
{
	fprintf(f, ",%u", rec->model_id);
	if (rec->predicted)
		fprintf(f, ",%.6f,%.6f", rec->predicted_w, rec->error_w);
	else
		fputs(",,", f);
	if (rec->layer_mhz >= 0)
		fprintf(f, ",%d", rec->layer_mhz);
	else
		fputc(',', f);
	fprintf(f, ",%d,", rec->samples);
	if (rec->model_id) {
		fprintf(f, "%.6f,", rec->intercept_w);
		for (int j = 0; j < m->features->nfeat; j++)
			fprintf(f, "%s%s=%.9g", j ? ";" : "", m->features->name[j], rec->coef[j]);
	} else {
		fputc(',', f);
	}
}

int csv_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv)
{
	for (size_t i = 0; i < iv->n; i++) {
		const struct bm_row *r = &iv->rows[i];

		if (!r->domains)
			target_line(f, m, iv, r, -1);
		for (int d = 0; d < BM_NR_DOMAINS; d++)
			if (r->domains & (1u << d))
				target_line(f, m, iv, r, d);
	}
	for (int i = 0; i < iv->nenergy; i++) {
		const struct energy_reading *e = &iv->energy[i];

		fprintf(f, "%.3f,%.6f,energy,,,%d,%s,", iv->ts_real, iv->interval_s,
			m->package_id[e->socket], energy_domain_name(e->domain));
		for (int k = 0; k < m->nr_events; k++)
			fputc(',', f);
		fprintf(f, ",,%.6f,%.6f,%s", e->joules,
			iv->interval_s > 0 ? e->joules / iv->interval_s : 0,
			iv->estimated ? "estimated" : "measured");
		if (iv->models)
			model_fields(f, m, &iv->models[i]);
		else
			fputs(",,,,,,,", f);
		fprintf(f, ",,,,,,%d", iv->nr_online);
		co2e_field(f, iv, e->joules);
	}
	return fflush(f) ? -1 : 0;
}
