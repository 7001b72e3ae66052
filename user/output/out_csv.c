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
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

/*
 * RFC 4180 quoting, by libcsv's writer, which the readers of our files use too. Besides a
 * comma, a quote or a line break, a space or tab at either end needs quotes: libcsv (and
 * other readers) drop it from an unquoted field.
 */
static bool needs_quotes(const char *s, size_t len)
{
	return strpbrk(s, ",\"\r\n") ||
	       (len && (isblank((unsigned char)s[0]) || isblank((unsigned char)s[len - 1])));
}

void csv_field(FILE *f, const char *s)
{
	size_t len = strlen(s);

	if (needs_quotes(s, len))
		csv_fwrite(f, s, len);
	else
		fputs(s, f);
}

/*
 * An interval's lines are built in one buffer, the caller's, kept from one interval to the
 * next (no allocation per line, none at all once it is large enough); their numbers by
 * util's formatters, not printf, whose floating-point path was most of an interval's cost
 * at a thousand targets. The text is the same.
 */
static void __attribute__((noinline)) grow(struct bm_text *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;

	while (cap - b->len < more)
		cap *= 2;
	b->p = bm_realloc_array(b->p, cap, 1);
	b->cap = cap;
}

/* Room for more bytes after len. */
static inline char *reserve(struct bm_text *b, size_t more)
{
	if (b->cap - b->len < more)
		grow(b, more);
	return b->p + b->len;
}

static inline void put(struct bm_text *b, const char *s, size_t len)
{
	memcpy(reserve(b, len), s, len);
	b->len += len;
}

static void put_str(struct bm_text *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A string literal: its length known here, and its copy a few moves. */
#define put_lit(b, s) put(b, "" s, sizeof(s) - 1)

/* ",v": a comma, then v with prec decimals, as "%.*f" writes it. */
static void put_fixed(struct bm_text *b, double v, int prec)
{
	char *p = reserve(b, 1 + BM_FMT_FIXED_MAX);

	*p = ',';
	b->len += 1 + (size_t)bm_fmt_fixed(p + 1, v, prec);
}

/* ",v" for an integer. */
static void put_i64(struct bm_text *b, int64_t v)
{
	char *p = reserve(b, 1 + BM_FMT_INT_MAX);

	*p = ',';
	b->len += 1 + (size_t)bm_fmt_i64(p + 1, v);
}

static void put_u64(struct bm_text *b, uint64_t v)
{
	char *p = reserve(b, 1 + BM_FMT_INT_MAX);

	*p = ',';
	b->len += 1 + (size_t)bm_fmt_u64(p + 1, v);
}

/* csv_field's quoting, into the buffer. */
static void put_field(struct bm_text *b, const char *s)
{
	size_t len = strlen(s), n;

	if (!needs_quotes(s, len)) {
		put(b, s, len);
		return;
	}
	n = csv_write(NULL, 0, s, len);
	b->len += csv_write(reserve(b, n), n, s, len);
}

/*
 * Appends at p into room reserve()d for them all, a line's stretch at a time rather than
 * field by field: each returns the end, which becomes b->len after the stretch.
 */
#define FIELD_INT (1 + BM_FMT_INT_MAX) /* a comma and an integer */
#define FIELD_FIXED (1 + BM_FMT_FIXED_MAX) /* a comma and a fixed-point number */

static inline char *cat(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

#define cat_lit(p, s) cat(p, "" s, sizeof(s) - 1)

static inline char *cat_u64(char *p, uint64_t v)
{
	*p = ',';
	return p + 1 + bm_fmt_u64(p + 1, v);
}

static inline char *cat_i64(char *p, int64_t v)
{
	*p = ',';
	return p + 1 + bm_fmt_i64(p + 1, v);
}

static inline char *cat_fixed(char *p, double v, int prec)
{
	*p = ',';
	return p + 1 + bm_fmt_fixed(p + 1, v, prec);
}

int csv_header(FILE *f, const struct bm_meta *m)
{
	fputs("timestamp,interval_s,kind,target,cgroup_id,socket,domain,cpu_ns", f);
	for (int e = 0; e < m->nr_events; e++) {
		fputc(',', f);
		csv_field(f, m->events[e].name);
	}
	fputs(",share,energy_j,power_w,power_w_err,estimate,model_id,predicted_w,error_w,layer_mhz,"
	      "samples,intercept_w,coefficients,runtime,container_id,pod_uid,qos,unit,cpus_online,"
	      "co2e_g\n",
	      f);
	return fflush(f) ? -1 : 0;
}

/* What the target is, where its path says: runtime, container, pod, QoS class, unit. */
static void label_fields(struct bm_text *b, const struct bm_labels *l)
{
	const char *v[5] = { l->runtime, l->container_id, l->pod_uid, l->qos, l->unit };

	for (int i = 0; i < 5; i++) {
		put(b, ",", 1);
		put_field(b, v[i]);
	}
}

/* The last field: grams CO2e of joules, empty where no intensity (or no energy) applies. */
static void co2e_field(struct bm_text *b, const struct bm_interval *iv, double joules)
{
	char *p = reserve(b, FIELD_FIXED + 1);
	double g;

	if (joules >= 0 && report_co2e(iv, joules, &g))
		p = cat_fixed(p, g, 9);
	else
		*p++ = ',';
	*p++ = '\n';
	b->len = (size_t)(p - b->p);
}

/* The first two fields, the same on every line of an interval: its end and length. */
struct lead {
	char s[2 * BM_FMT_FIXED_MAX];
	size_t len;
};

static void lead_of(struct lead *l, const struct bm_interval *iv)
{
	l->len = (size_t)bm_fmt_fixed(l->s, iv->ts_real, 3);
	l->s[l->len++] = ',';
	l->len += (size_t)bm_fmt_fixed(l->s + l->len, iv->interval_s, 6);
}

/*
 * A target's name and label fields, as target_lines() writes them: built once, on its first
 * line (targets_set_name() drops them with the name), then copied. The text is a copy of what
 * put_field() and label_fields() write, so the lines are the same.
 */
static const char *target_fields(struct bm_target *t)
{
	struct bm_text f = { 0 };

	if (t->csv)
		return t->csv;
	put_field(&f, t->name);
	t->csv_name_len = f.len;
	label_fields(&f, &t->labels);
	t->csv_len = f.len;
	t->csv = bm_realloc_array(f.p, f.len ? f.len : 1, 1);
	return t->csv;
}

/* b's bytes [from, to) again at its end. */
static void put_again(struct bm_text *b, size_t from, size_t to)
{
	char *p = reserve(b, to - from);

	memcpy(p, b->p + from, to - from);
	b->len += to - from;
}

/* The fields of a line of a domain after the counters, up to the labels. */
static void domain_fields(struct bm_text *b, const struct bm_interval *iv, const struct bm_row *r,
			  int domain)
{
	char *p = reserve(b, 4 * FIELD_FIXED + 1);
	double total, j;

	if (domain < 0) {
		/* No energy: the share of the socket's CPU time. */
		p = cat_fixed(p, r->share, 6);
		p = cat_lit(p, ",,,,,,,,,,,");
		b->len = (size_t)(p - b->p);
		return;
	}
	total = report_measured(iv, r->socket, domain);
	j = r->s.energy_j[domain];
	p = cat_fixed(p, total > 0 ? j / total : r->share, 6);
	p = cat_fixed(p, j, 6);
	p = cat_fixed(p, iv->interval_s > 0 ? j / iv->interval_s : 0, 6);
	/* One standard error of that power where the model gives one; empty, never 0, where not. */
	if (r->err_domains & (1u << domain))
		p = cat_fixed(p, r->power_err_w[domain], 6);
	else
		*p++ = ',';
	*p++ = ',';
	b->len = (size_t)(p - b->p);
	put_str(b, report_estimate_name(r, domain));
	p = reserve(b, FIELD_INT + 6);
	p = cat_u64(p, r->model_id[domain]);
	p = cat_lit(p, ",,,,,,");
	b->len = (size_t)(p - b->p);
}

/*
 * A row's lines, one per domain (or one with no domain): what the row and its target are is
 * the same on each, so the first line's text of it is copied to the others, and only each
 * domain's own fields are formatted.
 */
static void target_lines(struct bm_text *b, const struct bm_meta *m, const struct bm_interval *iv,
			 const struct lead *lead, const struct bm_row *r)
{
	struct bm_target *t = r->target;
	const char *fields = target_fields(t);
	size_t head, head_end, counts, counts_end, labels, labels_end;
	char *p;
	unsigned int left = r->domains & ((1u << BM_NR_DOMAINS) - 1);
	int domain = -1;

	if (r->domains && !left)
		return;
	if (left) {
		domain = __builtin_ctz(left);
		left &= left - 1;
	}
	head = b->len;
	p = reserve(b, lead->len + 8 + t->csv_name_len + 2 * FIELD_INT + 1);
	p = cat(p, lead->s, lead->len);
	p = cat_lit(p, ",target,");
	p = cat(p, fields, t->csv_name_len);
	/* Processes (--by process) and special targets have no cgroup id. */
	if (target_is_cgroup(t))
		p = cat_u64(p, t->id);
	else
		*p++ = ',';
	p = cat_i64(p, m->package_id[r->socket]);
	*p++ = ',';
	b->len = head_end = (size_t)(p - b->p);
	if (domain >= 0)
		put_str(b, energy_domain_name((enum bm_domain)domain));
	counts = b->len;
	p = reserve(b, (size_t)(1 + m->nr_events) * FIELD_INT);
	p = cat_u64(p, r->s.cpu_ns);
	for (int e = 0; e < m->nr_events; e++) {
		int k = m->sample_index[e];

		if (k < 0)
			*p++ = ','; /* not measured: empty, never a made-up 0 */
		else
			p = cat_u64(p, r->s.ev[k]);
	}
	b->len = counts_end = (size_t)(p - b->p);
	domain_fields(b, iv, r, domain);
	labels = b->len;
	p = reserve(b, t->csv_len - t->csv_name_len + FIELD_INT);
	p = cat(p, fields + t->csv_name_len, t->csv_len - t->csv_name_len);
	p = cat_i64(p, iv->nr_online);
	b->len = labels_end = (size_t)(p - b->p);
	co2e_field(b, iv, domain < 0 ? -1 : r->s.energy_j[domain]);
	while (left) {
		domain = __builtin_ctz(left);
		left &= left - 1;
		put_again(b, head, head_end);
		put_str(b, energy_domain_name((enum bm_domain)domain));
		put_again(b, counts, counts_end);
		domain_fields(b, iv, r, domain);
		put_again(b, labels, labels_end);
		co2e_field(b, iv, r->s.energy_j[domain]);
	}
}

/* The model columns of a measured row: what the model predicted and what it is. */
static void model_fields(struct bm_text *b, const struct bm_meta *m,
			 const struct bm_model_record *rec)
{
	put_u64(b, rec->model_id);
	if (rec->predicted) {
		put_fixed(b, rec->predicted_w, 6);
		put_fixed(b, rec->error_w, 6);
	} else {
		put_lit(b, ",,");
	}
	if (rec->layer_mhz >= 0)
		put_i64(b, rec->layer_mhz);
	else
		put(b, ",", 1);
	put_i64(b, rec->samples);
	if (!rec->model_id) {
		put_lit(b, ",,");
		return;
	}
	put_fixed(b, rec->intercept_w, 6);
	put(b, ",", 1);
	/* %g-like, and a few per interval: printf's. */
	for (int j = 0; j < m->features->nfeat; j++) {
		const char *name = m->features->name[j];
		size_t room = strlen(name) + 32;

		b->len += (size_t)snprintf(reserve(b, room), room, "%s%s=%.9g", j ? ";" : "", name,
					   rec->coef[j]);
	}
}

void csv_text(struct bm_text *b, const struct bm_meta *m, const struct bm_interval *iv)
{
	struct lead lead;

	lead_of(&lead, iv);
	for (size_t i = 0; i < iv->n; i++)
		target_lines(b, m, iv, &lead, &iv->rows[i]);
	for (int i = 0; i < iv->nenergy; i++) {
		const struct energy_reading *e = &iv->energy[i];

		put(b, lead.s, lead.len);
		put_lit(b, ",energy,,");
		put_i64(b, m->package_id[e->socket]);
		put(b, ",", 1);
		put_str(b, energy_domain_name(e->domain));
		put(b, ",", 1);
		for (int k = 0; k < m->nr_events; k++)
			put(b, ",", 1);
		put(b, ",", 1);
		put_fixed(b, e->joules, 6);
		put_fixed(b, iv->interval_s > 0 ? e->joules / iv->interval_s : 0, 6);
		put_str(b, iv->estimated ? ",,estimated" : ",,measured");
		if (iv->models)
			model_fields(b, m, &iv->models[i]);
		else
			put_lit(b, ",,,,,,,");
		put_lit(b, ",,,,,");
		put_i64(b, iv->nr_online);
		co2e_field(b, iv, e->joules);
	}
}

int csv_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv)
{
	struct bm_text b = { 0 };

	csv_text(&b, m, iv);
	if (b.len)
		fwrite(b.p, 1, b.len, f);
	free(b.p);
	return fflush(f) ? -1 : 0;
}
