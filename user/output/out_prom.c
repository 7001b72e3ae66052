// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Prometheus exposition of a session, text format 0.0.4: the counters kept across
 * intervals, the gauges of the last one, and the text. Pure: the process figures it renders
 * are read in prom_host.c.
 *
 * A target's series are keyed by its name and socket, so --group-by groups, cgroups that
 * come back under the same path and processes keep one series each. A series lives while
 * its target has rows, and for keep_s after its last; then it goes, and a target that runs
 * again starts from 0, which rate() and increase() take for a counter reset. Counters only
 * ever add what an interval reported (never less than 0), so none decreases while it lives.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prom.h"
#include "util.h"

#ifndef BPFMETER_VERSION
#define BPFMETER_VERSION "unknown"
#endif

/* Buffers */

static void buf_need(struct prom_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;

	if (b->len + more < b->cap)
		return;
	while (cap <= b->len + more)
		cap *= 2;
	b->p = bm_realloc_array(b->p, cap, 1);
	b->cap = cap;
}

void prom_buf_add(struct prom_buf *b, const char *s, size_t n)
{
	buf_need(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void prom_buf_free(struct prom_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void buf_str(struct prom_buf *b, const char *s)
{
	prom_buf_add(b, s, strlen(s));
}

static void buf_char(struct prom_buf *b, char c)
{
	prom_buf_add(b, &c, 1);
}

/* Room for n more bytes at the end of b: write there, then buf_commit() the end. */
static char *buf_room(struct prom_buf *b, size_t n)
{
	buf_need(b, n);
	return b->p + b->len;
}

static void buf_commit(struct prom_buf *b, char *end)
{
	b->len = (size_t)(end - b->p);
	b->p[b->len] = '\0';
}

#define NUM_MAX 40 /* the longest number the writers below write */

static char *put_u64(char *out, uint64_t v)
{
	char t[24];
	size_t i = sizeof(t);

	do
		t[--i] = (char)('0' + v % 10);
	while (v /= 10);
	memcpy(out, t + i, sizeof(t) - i);
	return out + sizeof(t) - i;
}

/* n billionths, as a decimal without trailing zeros. */
static char *put_nano(char *out, uint64_t n)
{
	uint64_t frac = n % 1000000000;
	int len;

	out = put_u64(out, n / 1000000000);
	if (!frac)
		return out;
	out[0] = '.';
	for (int i = 9; i >= 1; i--, frac /= 10)
		out[i] = (char)('0' + frac % 10);
	for (len = 10; out[len - 1] == '0'; len--)
		;
	return out + len;
}

/*
 * A sample value. snprintf's %.17g would cost more than the rest of a line: values below
 * 9e9 are written to the nanounit (nJ, nW, ng), far below what is measured, rounded the same
 * way every time, so a counter's text never goes down when its value goes up.
 */
static char *put_value(char *out, double v)
{
	if (isnan(v))
		return (char *)memcpy(out, "NaN", 3) + 3;
	if (isinf(v))
		return (char *)memcpy(out, v > 0 ? "+Inf" : "-Inf", 4) + 4;
	if (fabs(v) >= 9e9)
		return out + snprintf(out, NUM_MAX, "%.17g", v);
	if (v < 0)
		*out++ = '-';
	return put_nano(out, (uint64_t)llround(fabs(v) * 1e9));
}

static void buf_u64(struct prom_buf *b, uint64_t v)
{
	buf_commit(b, put_u64(buf_room(b, NUM_MAX), v));
}

static void buf_value(struct prom_buf *b, double v)
{
	buf_commit(b, put_value(buf_room(b, NUM_MAX), v));
}

/* The length of the valid UTF-8 sequence at s, or 0 where it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * A cgroup's or a command's name is bytes, but a scrape with a label that is not UTF-8 is
 * refused whole by Prometheus: such bytes become U+FFFD.
 */
void prom_label_value(struct prom_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);

		if (!n) {
			buf_str(b, "\xef\xbf\xbd");
			p++;
		} else if (*p == '\\' || *p == '"') {
			buf_char(b, '\\');
			buf_char(b, (char)*p++);
		} else if (*p == '\n') {
			buf_str(b, "\\n");
			p++;
		} else {
			prom_buf_add(b, (const char *)p, n);
			p += n;
		}
	}
}

/* HELP text escapes backslashes and line feeds only. */
static void help_text(struct prom_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_str(b, "\\\\");
		else if (*s == '\n')
			buf_str(b, "\\n");
		else
			buf_char(b, *s);
	}
}

/* ,key="value" (or key="value" first); nothing where value is empty, as Prometheus reads it. */
static void label(struct prom_buf *b, bool *first, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	if (!*first)
		buf_char(b, ',');
	*first = false;
	buf_str(b, key);
	buf_str(b, "=\"");
	prom_label_value(b, value);
	buf_char(b, '"');
}

/* Counters and gauges */

enum {
	EST_PROVISIONAL,
	EST_MODEL,
	EST_ESTIMATED, /* --estimate: energy no source measured */
	NR_EST
};
static const char *const est_name[NR_EST] = { "provisional", "model", "estimated" };

#define BIT(d, e) (1u << ((d)*NR_EST + (e)))
#define DOMAIN_BITS(d) (((1u << NR_EST) - 1) << ((d)*NR_EST))

/* One target on one socket. */
struct series {
	struct series *next; /* in its hash bucket */
	uint64_t hash;
	int socket;
	char *name;
	char *labels; /* target="...",...,socket="N", escaped once */
	size_t labels_len;
	double last_t; /* session time of its last row */
	uint64_t last_seq; /* the interval of its last row */
	uint64_t cpu_ns;
	uint64_t ev[BM_MAX_EVENTS]; /* by sample index */
	double energy_j[BM_NR_DOMAINS][NR_EST];
	double co2e_g[BM_NR_DOMAINS][NR_EST];
	unsigned int energy_seen, co2e_seen; /* BIT(domain, estimate) */
	/* The last interval's, valid where last_seq is the state's. */
	double power_w[BM_NR_DOMAINS];
	unsigned int power_seen; /* BIT(domain, estimate) */
	/* One standard error of power_w, its rows' added, in each domain whose bit is in
	 * err_known: every row of the domain in the last interval had one. */
	double power_err_w[BM_NR_DOMAINS];
	unsigned int err_known; /* bit per domain */
};

/* One measured socket and domain. */
struct measured {
	bool live;
	double last_t;
	uint64_t last_seq;
	double energy_j, power_w;
	bool have_model;
	struct bm_model_record rec;
};

struct prom_state {
	double keep_s;
	double elapsed; /* the sum of the intervals' lengths */
	uint64_t seq; /* intervals so far */
	uint64_t overflow;
	/* The events' metric names, by requested index: "" where not counted. */
	char ev_metric[BM_MAX_EVENTS][BM_EVENT_NAME_MAX + 48];
	bool named;
	struct series **v; /* in creation order */
	size_t n, cap;
	struct series **bucket;
	size_t nbuckets; /* a power of two */
	struct measured *meas; /* [nmeas_sockets * BM_NR_DOMAINS] */
	int nmeas_sockets;
	size_t last_len; /* of the last text: the next one's buffer is that big from the start */
};

struct prom_state *prom_state_new(double keep_s)
{
	struct prom_state *ps = bm_calloc(1, sizeof(*ps));

	ps->keep_s = keep_s;
	ps->nbuckets = 256;
	ps->bucket = bm_calloc(ps->nbuckets, sizeof(*ps->bucket));
	return ps;
}

static void series_free(struct series *s)
{
	free(s->name);
	free(s->labels);
	free(s);
}

void prom_state_free(struct prom_state *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->n; i++)
		series_free(ps->v[i]);
	free(ps->v);
	free(ps->bucket);
	free(ps->meas);
	free(ps);
}

size_t prom_state_targets(const struct prom_state *ps)
{
	return ps->n;
}

/* FNV-1a over the name, then the socket. */
static uint64_t series_hash(const char *name, int socket)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return (h ^ (uint64_t)(unsigned int)socket) * 0x100000001b3ull;
}

static void rehash(struct prom_state *ps)
{
	free(ps->bucket);
	ps->nbuckets *= 2;
	ps->bucket = bm_calloc(ps->nbuckets, sizeof(*ps->bucket));
	for (size_t i = 0; i < ps->n; i++) {
		struct series *s = ps->v[i];
		size_t k = s->hash & (ps->nbuckets - 1);

		s->next = ps->bucket[k];
		ps->bucket[k] = s;
	}
}

/* The labels of a target on a socket: its name, what the name says it is, the socket. */
static char *series_labels(const struct bm_target *t, int package, size_t *len)
{
	struct prom_buf b = { 0 };
	bool first = true;
	char num[24];

	label(&b, &first, "target", t->name);
	if (t->kind == BM_TARGET_PROCESS) {
		/* "comm[tgid]": the command name is what comes before the last '['. */
		const char *br = strrchr(t->name, '[');
		char *comm = bm_strndup(t->name, br ? (size_t)(br - t->name) : strlen(t->name));

		snprintf(num, sizeof(num), "%llu", (unsigned long long)t->id);
		label(&b, &first, "pid", num);
		label(&b, &first, "comm", comm);
		free(comm);
	} else if (t->kind == BM_TARGET_CGROUP || t->kind == BM_TARGET_GROUP) {
		label(&b, &first, "runtime", t->labels.runtime);
		label(&b, &first, "container_id", t->labels.container_id);
		label(&b, &first, "pod_uid", t->labels.pod_uid);
		label(&b, &first, "qos", t->labels.qos);
		label(&b, &first, "unit", t->labels.unit);
	}
	snprintf(num, sizeof(num), "%d", package);
	label(&b, &first, "socket", num);
	*len = b.len;
	return b.p;
}

static struct series *series_get(struct prom_state *ps, const struct bm_meta *m,
				 const struct bm_row *r)
{
	const char *name = r->target->name ? r->target->name : "";
	uint64_t h = series_hash(name, r->socket);
	struct series *s;

	for (s = ps->bucket[h & (ps->nbuckets - 1)]; s; s = s->next)
		if (s->hash == h && s->socket == r->socket && !strcmp(s->name, name))
			return s;
	s = bm_calloc(1, sizeof(*s));
	s->hash = h;
	s->socket = r->socket;
	s->name = bm_strdup(name);
	s->labels = series_labels(r->target, m->package_id[r->socket], &s->labels_len);
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 64;
		ps->v = bm_realloc_array(ps->v, ps->cap, sizeof(*ps->v));
	}
	ps->v[ps->n++] = s;
	if (ps->n > ps->nbuckets)
		rehash(ps);
	else {
		s->next = ps->bucket[h & (ps->nbuckets - 1)];
		ps->bucket[h & (ps->nbuckets - 1)] = s;
	}
	return s;
}

/* perf's name as a metric name: every character but letters, digits and '_' becomes '_'. */
static void name_events(struct prom_state *ps, const struct bm_meta *m)
{
	static const char *const taken[] = { "cpu_seconds", "energy_joules", "co2e_grams" };

	ps->named = true;
	for (int e = 0; e < m->nr_events && e < BM_MAX_EVENTS; e++) {
		char base[BM_EVENT_NAME_MAX], *name = ps->ev_metric[e];
		bool clash;
		int k = 1;

		if (m->sample_index[e] < 0)
			continue; /* not counted: no series at all, never a made-up 0 */
		snprintf(base, sizeof(base), "%s", m->events[e].name);
		for (char *c = base; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9')))
				*c = '_';
		/* Two names the same once sanitised (or one of ours): the later gets a number. */
		do {
			if (k == 1)
				snprintf(name, sizeof(ps->ev_metric[e]), "bpfmeter_target_%s_total",
					 base);
			else
				snprintf(name, sizeof(ps->ev_metric[e]),
					 "bpfmeter_target_%s_%d_total", base, k);
			k++;
			clash = false;
			for (size_t i = 0; i < ARRAY_SIZE(taken) && !clash; i++) {
				char t[64];

				snprintf(t, sizeof(t), "bpfmeter_target_%s_total", taken[i]);
				clash = !strcmp(t, name);
			}
			for (int j = 0; j < e && !clash; j++)
				clash = !strcmp(ps->ev_metric[j], name);
		} while (clash);
	}
}

static struct measured *measured_at(struct prom_state *ps, int socket, enum bm_domain d)
{
	if (socket >= ps->nmeas_sockets) {
		int n = socket + 1;

		ps->meas = bm_realloc_array(ps->meas, (size_t)n * BM_NR_DOMAINS, sizeof(*ps->meas));
		memset(ps->meas + (size_t)ps->nmeas_sockets * BM_NR_DOMAINS, 0,
		       (size_t)(n - ps->nmeas_sockets) * BM_NR_DOMAINS * sizeof(*ps->meas));
		ps->nmeas_sockets = n;
	}
	return &ps->meas[(size_t)socket * BM_NR_DOMAINS + d];
}

static void row_update(struct prom_state *ps, const struct bm_meta *m, const struct bm_interval *iv,
		       const struct bm_row *r)
{
	struct series *s = series_get(ps, m, r);
	bool again = s->last_seq == ps->seq; /* a second row of one name in one interval */

	if (!again)
		s->power_seen = s->err_known = 0;
	s->last_seq = ps->seq;
	s->last_t = ps->elapsed;
	s->cpu_ns += r->s.cpu_ns;
	for (int e = 0; e < m->nr_events; e++) {
		int k = m->sample_index[e];

		if (k >= 0)
			s->ev[k] += r->s.ev[k];
	}
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		int e = r->estimated & (1u << d) ? EST_ESTIMATED
			: r->model_id[d]	 ? EST_MODEL
						 : EST_PROVISIONAL;
		double j = fmax(r->s.energy_j[d], 0);

		if (!(r->domains & (1u << d)))
			continue;
		s->energy_j[d][e] += j;
		s->energy_seen |= BIT(d, e);
		if (iv->carbon_g_per_kwh >= 0) {
			s->co2e_g[d][e] += j / 3.6e6 * iv->carbon_g_per_kwh;
			s->co2e_seen |= BIT(d, e);
		}
		if (!(s->power_seen & DOMAIN_BITS(d))) {
			s->power_w[d] = s->power_err_w[d] = 0;
			s->err_known |= 1u << d;
		}
		s->power_w[d] += iv->interval_s > 0 ? j / iv->interval_s : 0;
		/* One model's shares err together: their errors add (report_row_add); a row
		 * without one leaves the sum unknown. */
		if (r->err_domains & (1u << d))
			s->power_err_w[d] += r->power_err_w[d];
		else
			s->err_known &= ~(1u << d);
		s->power_seen = (s->power_seen & ~DOMAIN_BITS(d)) | BIT(d, e);
	}
}

/* Drop the series whose target has had no row for longer than keep_s, in one pass. */
static void expire(struct prom_state *ps)
{
	size_t out = 0;

	for (int i = 0; i < ps->nmeas_sockets * BM_NR_DOMAINS; i++)
		if (ps->meas[i].live && ps->elapsed - ps->meas[i].last_t > ps->keep_s)
			ps->meas[i].live = false;
	for (size_t i = 0; i < ps->n; i++) {
		struct series *s = ps->v[i];

		if (ps->elapsed - s->last_t > ps->keep_s)
			series_free(s);
		else
			ps->v[out++] = s;
	}
	if (out == ps->n)
		return;
	ps->n = out;
	memset(ps->bucket, 0, ps->nbuckets * sizeof(*ps->bucket));
	for (size_t i = 0; i < ps->n; i++) {
		struct series *s = ps->v[i];
		size_t k = s->hash & (ps->nbuckets - 1);

		s->next = ps->bucket[k];
		ps->bucket[k] = s;
	}
}

void prom_state_update(struct prom_state *ps, const struct bm_meta *m, const struct bm_interval *iv)
{
	if (!ps->named)
		name_events(ps, m);
	ps->seq++;
	ps->elapsed += iv->interval_s > 0 ? iv->interval_s : 0;
	ps->overflow = iv->overflow;
	for (size_t i = 0; i < iv->n; i++)
		row_update(ps, m, iv, &iv->rows[i]);
	for (int i = 0; i < iv->nenergy; i++) {
		const struct energy_reading *e = &iv->energy[i];
		struct measured *ms = measured_at(ps, e->socket, e->domain);
		double j = fmax(e->joules, 0);

		if (!ms->live)
			ms->energy_j = 0; /* a new series starts from 0, as targets' do */
		ms->live = true;
		ms->last_t = ps->elapsed;
		ms->last_seq = ps->seq;
		ms->energy_j += j;
		ms->power_w = iv->interval_s > 0 ? j / iv->interval_s : 0;
		ms->have_model = iv->models != NULL;
		if (iv->models)
			ms->rec = iv->models[i];
	}
	expire(ps);
}

/* Rendering */

/* HELP and TYPE, written before a family's first sample only: a family without any is left
 * out. */
struct family {
	const char *name, *help, *type;
	bool started;
	size_t name_len;
};

static void family_start(struct prom_buf *b, struct family *f)
{
	if (f->started)
		return;
	buf_str(b, "# HELP ");
	buf_str(b, f->name);
	buf_char(b, ' ');
	help_text(b, f->help);
	buf_str(b, "\n# TYPE ");
	buf_str(b, f->name);
	buf_char(b, ' ');
	buf_str(b, f->type);
	buf_char(b, '\n');
	f->started = true;
	f->name_len = strlen(f->name);
}

static void sample_start(struct prom_buf *b, struct family *f)
{
	family_start(b, f);
	prom_buf_add(b, f->name, f->name_len);
}

/*
 * name{labels[tail]} v: one of a target's series, written in one piece (a thousand targets
 * make ten thousand of these lines per interval). u: v is an integer, nano: billionths.
 */
enum value_form {
	V_DOUBLE,
	V_U64,
	V_NANO
};

static void target_line(struct prom_buf *b, struct family *f, const struct series *s,
			const char *tail, size_t tail_len, enum value_form form, double v,
			uint64_t u)
{
	char *p;

	family_start(b, f);
	p = buf_room(b, f->name_len + s->labels_len + tail_len + NUM_MAX + 4);
	memcpy(p, f->name, f->name_len);
	p += f->name_len;
	*p++ = '{';
	memcpy(p, s->labels, s->labels_len);
	p += s->labels_len;
	memcpy(p, tail, tail_len);
	p += tail_len;
	*p++ = '}';
	*p++ = ' ';
	p = form == V_DOUBLE ? put_value(p, v) : form == V_U64 ? put_u64(p, u) : put_nano(p, u);
	*p++ = '\n';
	buf_commit(b, p);
}

static void target_families(struct prom_buf *b, const struct prom_state *ps,
			    const struct bm_meta *m)
{
	struct family energy = {
		"bpfmeter_target_energy_joules_total",
		"Energy attributed to the target since the session started "
		"(estimate: model, split by the power model; provisional, split by "
		"CPU time before a model was fitted; estimated, of energy no source "
		"measured, estimated from CPU utilisation).",
		"counter", false, 0
	};
	struct family power = { "bpfmeter_target_power_watts",
				"Power attributed to the target over the last interval.", "gauge",
				false, 0 };
	struct family power_err = {
		"bpfmeter_target_power_watts_stderr",
		"One standard error (W) of the power model's split of the "
		"target's power over the last interval "
		"(bpfmeter_target_power_watts); only where the model gives one.",
		"gauge", false, 0
	};
	struct family co2e = { "bpfmeter_target_co2e_grams_total",
			       "Grams of CO2-equivalent of the target's energy at the carbon "
			       "intensity given (an estimate, never a measurement).",
			       "counter", false, 0 };
	struct family cpu = { "bpfmeter_target_cpu_seconds_total",
			      "CPU time of the target since the session started.", "counter", false,
			      0 };
	char tail[BM_NR_DOMAINS][NR_EST][64];
	size_t tl[BM_NR_DOMAINS][NR_EST];

	for (int d = 0; d < BM_NR_DOMAINS; d++)
		for (int e = 0; e < NR_EST; e++)
			tl[d][e] = (size_t)snprintf(
				tail[d][e], sizeof(tail[d][e]), ",domain=\"%s\",estimate=\"%s\"",
				energy_domain_name((enum bm_domain)d), est_name[e]);
	for (size_t i = 0; i < ps->n; i++)
		for (int d = 0; d < BM_NR_DOMAINS; d++)
			for (int e = 0; e < NR_EST; e++)
				if (ps->v[i]->energy_seen & BIT(d, e))
					target_line(b, &energy, ps->v[i], tail[d][e], tl[d][e],
						    V_DOUBLE, ps->v[i]->energy_j[d][e], 0);
	for (size_t i = 0; i < ps->n; i++)
		for (int d = 0; ps->v[i]->last_seq == ps->seq && d < BM_NR_DOMAINS; d++)
			for (int e = 0; e < NR_EST; e++)
				if (ps->v[i]->power_seen & BIT(d, e))
					target_line(b, &power, ps->v[i], tail[d][e], tl[d][e],
						    V_DOUBLE, ps->v[i]->power_w[d], 0);
	for (size_t i = 0; i < ps->n; i++)
		for (int d = 0; ps->v[i]->last_seq == ps->seq && d < BM_NR_DOMAINS; d++)
			for (int e = 0; e < NR_EST; e++)
				if ((ps->v[i]->power_seen & BIT(d, e)) &&
				    (ps->v[i]->err_known & (1u << d)))
					target_line(b, &power_err, ps->v[i], tail[d][e], tl[d][e],
						    V_DOUBLE, ps->v[i]->power_err_w[d], 0);
	for (size_t i = 0; i < ps->n; i++)
		for (int d = 0; d < BM_NR_DOMAINS; d++)
			for (int e = 0; e < NR_EST; e++)
				if (ps->v[i]->co2e_seen & BIT(d, e))
					target_line(b, &co2e, ps->v[i], tail[d][e], tl[d][e],
						    V_DOUBLE, ps->v[i]->co2e_g[d][e], 0);
	/* CPU time exactly, from its nanoseconds. */
	for (size_t i = 0; i < ps->n; i++)
		target_line(b, &cpu, ps->v[i], "", 0, V_NANO, 0, ps->v[i]->cpu_ns);
	for (int e = 0; e < m->nr_events && e < BM_MAX_EVENTS; e++) {
		int k = m->sample_index[e];
		char help[BM_EVENT_NAME_MAX + 96];
		struct family ev = { ps->ev_metric[e], help, "counter", false, 0 };

		if (k < 0 || !ps->ev_metric[e][0])
			continue;
		snprintf(help, sizeof(help),
			 "Count of perf event %s of the target since the session started (scaled "
			 "for multiplexing).",
			 m->events[e].name);
		for (size_t i = 0; i < ps->n; i++)
			target_line(b, &ev, ps->v[i], "", 0, V_U64, 0, ps->v[i]->ev[k]);
	}
}

/* name{socket="N",domain="d"[,more]} v: one of a measured socket's and domain's series. */
static void measured_sample(struct prom_buf *b, struct family *f, const struct bm_meta *m,
			    int socket, int d, const char *more, double v)
{
	char num[16];
	bool first = true;

	sample_start(b, f);
	buf_char(b, '{');
	snprintf(num, sizeof(num), "%d", m->package_id[socket]);
	label(b, &first, "socket", num);
	label(b, &first, "domain", energy_domain_name((enum bm_domain)d));
	if (more)
		buf_str(b, more);
	buf_str(b, "} ");
	buf_value(b, v);
	buf_char(b, '\n');
}

static void measured_families(struct prom_buf *b, const struct prom_state *ps,
			      const struct bm_meta *m)
{
	struct family energy = {
		"bpfmeter_energy_joules_total",
		"Energy measured (RAPL) since the session started; with "
		"estimate=\"estimated\" estimated from CPU utilisation, not measured.",
		"counter", false, 0
	};
	struct family power = { "bpfmeter_power_watts",
				"Power measured over the last interval; with "
				"estimate=\"estimated\" estimated, not measured.",
				"gauge", false, 0 };
	const char *est = m->estimate_method ? ",estimate=\"estimated\"" : NULL;
	struct family error = { "bpfmeter_model_error_watts",
				"The power model's out-of-sample error over the last interval, "
				"predicted minus measured.",
				"gauge", false, 0 };
	struct family info = { "bpfmeter_model_info",
			       "The power model that split the last interval (model_id 0: none "
			       "yet, split by CPU time), and its frequency layer.",
			       "gauge", false, 0 };
	int n = ps->nmeas_sockets * BM_NR_DOMAINS;

	for (int i = 0; i < n; i++)
		if (ps->meas[i].live)
			measured_sample(b, &energy, m, i / BM_NR_DOMAINS, i % BM_NR_DOMAINS, est,
					ps->meas[i].energy_j);
	for (int i = 0; i < n; i++)
		if (ps->meas[i].live && ps->meas[i].last_seq == ps->seq)
			measured_sample(b, &power, m, i / BM_NR_DOMAINS, i % BM_NR_DOMAINS, est,
					ps->meas[i].power_w);
	for (int i = 0; i < n; i++)
		if (ps->meas[i].live && ps->meas[i].last_seq == ps->seq && ps->meas[i].have_model &&
		    ps->meas[i].rec.predicted)
			measured_sample(b, &error, m, i / BM_NR_DOMAINS, i % BM_NR_DOMAINS, NULL,
					ps->meas[i].rec.error_w);
	for (int i = 0; i < n; i++) {
		const struct bm_model_record *rec = &ps->meas[i].rec;
		char more[64];

		if (!ps->meas[i].live || ps->meas[i].last_seq != ps->seq || !ps->meas[i].have_model)
			continue;
		if (rec->layer_mhz >= 0)
			snprintf(more, sizeof(more), ",model_id=\"%u\",layer_mhz=\"%d\"",
				 rec->model_id, rec->layer_mhz);
		else
			snprintf(more, sizeof(more), ",model_id=\"%u\"", rec->model_id);
		measured_sample(b, &info, m, i / BM_NR_DOMAINS, i % BM_NR_DOMAINS, more, 1);
	}
}

/* An InfluxDB sink's URL without its query (a database, maybe a password) or user part. */
static void http_output_label(struct prom_buf *b, const char *spec)
{
	const char *url = strncmp(spec, "influx+", 7) ? spec : spec + 7;
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	size_t authority = strcspn(host, "/?#");
	const char *at = memchr(host, '@', authority);
	struct prom_buf shown = { 0 };

	if (scheme)
		prom_buf_add(&shown, url, (size_t)(host - url));
	if (at)
		host = at + 1;
	prom_buf_add(&shown, host, strcspn(host, "?#"));
	buf_str(b, "{output=\"");
	prom_label_value(b, shown.p);
	buf_str(b, "\"} ");
	prom_buf_free(&shown);
}

static void http_families(struct prom_buf *b, const struct prom_http *http, int nhttp)
{
	struct family bytes = { "bpfmeter_spool_bytes",
				"Bytes of line protocol waiting in the InfluxDB sink's spool.",
				"gauge", false, 0 };
	struct family batches = { "bpfmeter_spool_batches",
				  "Batches waiting in the InfluxDB sink's spool.", "gauge", false,
				  0 };
	struct family dropped = {
		"bpfmeter_spool_dropped_batches_total",
		"Batches dropped from the InfluxDB sink's full spool (--spool-max) "
		"since the session started.",
		"counter", false, 0
	};

	for (int i = 0; i < nhttp; i++) {
		sample_start(b, &bytes);
		http_output_label(b, http[i].spec);
		buf_u64(b, http[i].st.spooled_bytes);
		buf_char(b, '\n');
	}
	for (int i = 0; i < nhttp; i++) {
		sample_start(b, &batches);
		http_output_label(b, http[i].spec);
		buf_u64(b, http[i].st.spooled_batches);
		buf_char(b, '\n');
	}
	for (int i = 0; i < nhttp; i++) {
		sample_start(b, &dropped);
		http_output_label(b, http[i].spec);
		buf_u64(b, http[i].st.dropped_batches);
		buf_char(b, '\n');
	}
}

/* A family of one sample without labels. */
static void single(struct prom_buf *b, const char *name, const char *type, const char *help,
		   double v)
{
	struct family f = { name, help, type, false, 0 };

	sample_start(b, &f);
	buf_char(b, ' ');
	buf_value(b, v);
	buf_char(b, '\n');
}

void prom_render(struct prom_buf *b, struct prom_state *ps, const struct bm_meta *m,
		 const struct prom_http *http, int nhttp)
{
	struct family build = { "bpfmeter_build_info",
				"bpfmeter's version, the context switch hook it attached, the "
				"energy source it reads (none: CPU time only; energy_from_host: "
				"a VM's host passes its attribution through) and the host it "
				"measures (--host).",
				"gauge", false, 0 };
	size_t start = b->len;
	bool first = true;

	buf_need(b, ps->last_len + ps->last_len / 8);
	sample_start(b, &build);
	buf_char(b, '{');
	label(b, &first, "version", BPFMETER_VERSION);
	label(b, &first, "hook", m->hook);
	label(b, &first, "energy_source", m->energy_source ? m->energy_source : "none");
	if (m->energy_from_host)
		label(b, &first, "energy_from_host", m->energy_from_host);
	if (m->host)
		label(b, &first, "host", m->host);
	buf_str(b, "} 1\n");
	single(b, "bpfmeter_intervals_total", "counter", "Intervals measured and reported.",
	       (double)ps->seq);
	single(b, "bpfmeter_overflow_slices_total", "counter",
	       "Slices charged to the target overflow (more cgroups or processes ran than "
	       "--max-cgroups).",
	       (double)ps->overflow);
	measured_families(b, ps, m);
	target_families(b, ps, m);
	http_families(b, http, nhttp);
	ps->last_len = b->len - start;
}

/* The process */

void prom_process_render(struct prom_buf *b, const struct prom_process *p)
{
	if (p->have_stat) {
		single(b, "process_cpu_seconds_total", "counter",
		       "Total user and system CPU time spent in seconds.", p->cpu_s);
		single(b, "process_resident_memory_bytes", "gauge",
		       "Resident memory size in bytes.", (double)p->rss_bytes);
		single(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
		       (double)p->vsize_bytes);
		single(b, "process_start_time_seconds", "gauge",
		       "Start time of the process since unix epoch in seconds.", p->start_time_s);
	}
	if (p->have_fds)
		single(b, "process_open_fds", "gauge", "Number of open file descriptors.",
		       (double)p->open_fds);
	if (p->have_max_fds)
		single(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
		       (double)p->max_fds);
}

/* Snapshots */

struct prom_snapshot *prom_snapshot_new(struct prom_buf *b)
{
	struct prom_snapshot *s = bm_calloc(1, sizeof(*s));

	s->refs = 1;
	s->text = b->p ? b->p : bm_strdup("");
	s->len = b->len;
	memset(b, 0, sizeof(*b));
	return s;
}

struct prom_snapshot *prom_snapshot_get(struct prom_snapshot *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void prom_snapshot_put(struct prom_snapshot *s)
{
	if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(s->text);
		free(s);
	}
}
