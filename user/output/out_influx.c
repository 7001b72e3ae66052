// SPDX-License-Identifier: BSD-2-Clause
/*
 * InfluxDB line protocol: measurement,tags fields timestamp. Escaping follows the line
 * protocol reference: measurements escape commas and spaces; tag keys, tag values and field
 * keys escape commas, equals signs and spaces; string field values escape double quotes and
 * backslashes. Line protocol has no way to carry a line break in a name, so one becomes the
 * two characters \n. Empty tag values are not allowed: such tags are left out.
 */
#include <string.h>

#include "report.h"

/* Write s with a backslash before every character in special. */
static void escaped(FILE *f, const char *s, const char *special)
{
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r') {
			fputs(*s == '\n' ? "\\n" : "\\r", f);
			continue;
		}
		if (strchr(special, *s))
			fputc('\\', f);
		fputc(*s, f);
	}
}

void lp_measurement(FILE *f, const char *name)
{
	escaped(f, name, ", ");
}

void lp_tag(FILE *f, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	fputc(',', f);
	escaped(f, key, ",= ");
	fputc('=', f);
	escaped(f, value, ",= ");
}

/* The separator before a field: a space before the first, a comma before the others. */
static void field_key(FILE *f, bool *first, const char *key)
{
	fputc(*first ? ' ' : ',', f);
	*first = false;
	escaped(f, key, ",= ");
	fputc('=', f);
}

void lp_field_int(FILE *f, bool *first, const char *key, long long v)
{
	field_key(f, first, key);
	fprintf(f, "%lldi", v);
}

void lp_field_float(FILE *f, bool *first, const char *key, double v)
{
	field_key(f, first, key);
	/* Enough digits that the stored float64 is the one computed. */
	fprintf(f, "%.17g", v);
}

void lp_field_str(FILE *f, bool *first, const char *key, const char *v)
{
	field_key(f, first, key);
	fputc('"', f);
	escaped(f, v, "\"\\");
	fputc('"', f);
}

static void target_point(FILE *f, const struct bm_meta *m, const struct bm_interval *iv,
			 const struct bm_row *r, int domain)
{
	char id[32], sock[16];
	bool first = true;

	lp_measurement(f, "bpfmeter_target");
	lp_tag(f, "host", m->host);
	lp_tag(f, "target", r->target->name);
	if (target_is_cgroup(r->target)) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)r->target->id);
		lp_tag(f, "cgroup_id", id);
	}
	lp_tag(f, "runtime", r->target->labels.runtime);
	lp_tag(f, "container_id", r->target->labels.container_id);
	lp_tag(f, "pod_uid", r->target->labels.pod_uid);
	lp_tag(f, "qos", r->target->labels.qos);
	lp_tag(f, "unit", r->target->labels.unit);
	snprintf(sock, sizeof(sock), "%d", m->package_id[r->socket]);
	lp_tag(f, "socket", sock);
	if (domain >= 0)
		lp_tag(f, "domain", energy_domain_name((enum bm_domain)domain));
	lp_field_int(f, &first, "cpu_ns", (long long)r->s.cpu_ns);
	for (int e = 0; e < m->nr_events; e++)
		if (m->sample_index[e] >= 0)
			lp_field_int(f, &first, m->events[e].name,
				     (long long)r->s.ev[m->sample_index[e]]);
	if (domain >= 0) {
		double total = report_measured(iv, r->socket, domain);
		double j = r->s.energy_j[domain], g;

		lp_field_float(f, &first, "share", total > 0 ? j / total : r->share);
		lp_field_float(f, &first, "energy_j", j);
		lp_field_float(f, &first, "power_w", iv->interval_s > 0 ? j / iv->interval_s : 0);
		/* One standard error of it, where the model gives one: no field where not. */
		if (r->err_domains & (1u << domain))
			lp_field_float(f, &first, "power_w_err", r->power_err_w[domain]);
		lp_field_int(f, &first, "model_id", r->model_id[domain]);
		lp_field_str(f, &first, "estimate", report_estimate_name(r, domain));
		if (report_co2e(iv, j, &g))
			lp_field_float(f, &first, "co2e_g", g);
	} else {
		lp_field_float(f, &first, "share", r->share);
	}
	fprintf(f, " %lld\n", (long long)iv->ts_ns);
}

static void energy_point(FILE *f, const struct bm_meta *m, const struct bm_interval *iv, int i)
{
	const struct energy_reading *e = &iv->energy[i];
	char sock[16], coef[512];
	bool first = true;
	size_t off = 0;
	double g;

	lp_measurement(f, "bpfmeter_energy");
	lp_tag(f, "host", m->host);
	snprintf(sock, sizeof(sock), "%d", m->package_id[e->socket]);
	lp_tag(f, "socket", sock);
	lp_tag(f, "domain", energy_domain_name(e->domain));
	lp_field_float(f, &first, "energy_j", e->joules);
	lp_field_float(f, &first, "power_w", iv->interval_s > 0 ? e->joules / iv->interval_s : 0);
	if (report_co2e(iv, e->joules, &g))
		lp_field_float(f, &first, "co2e_g", g);
	if (iv->estimated)
		lp_field_str(f, &first, "estimate", "estimated");
	if (iv->models) {
		const struct bm_model_record *rec = &iv->models[i];

		lp_field_int(f, &first, "model_id", rec->model_id);
		lp_field_int(f, &first, "samples", rec->samples);
		if (rec->layer_mhz >= 0)
			lp_field_int(f, &first, "layer_mhz", rec->layer_mhz);
		if (rec->predicted) {
			lp_field_float(f, &first, "predicted_w", rec->predicted_w);
			lp_field_float(f, &first, "error_w", rec->error_w);
		}
		if (rec->model_id) {
			lp_field_float(f, &first, "intercept_w", rec->intercept_w);
			for (int j = 0; j < m->features->nfeat && off < sizeof(coef); j++)
				off += (size_t)snprintf(coef + off, sizeof(coef) - off, "%s%s=%.9g",
							j ? ";" : "", m->features->name[j],
							rec->coef[j]);
			lp_field_str(f, &first, "coefficients", coef);
		}
	}
	fprintf(f, " %lld\n", (long long)iv->ts_ns);
}

int influx_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv)
{
	for (size_t i = 0; i < iv->n; i++) {
		const struct bm_row *r = &iv->rows[i];

		if (!r->domains)
			target_point(f, m, iv, r, -1);
		for (int d = 0; d < BM_NR_DOMAINS; d++)
			if (r->domains & (1u << d))
				target_point(f, m, iv, r, d);
	}
	for (int i = 0; i < iv->nenergy; i++)
		energy_point(f, m, iv, i);
	return ferror(f) ? -1 : 0;
}
