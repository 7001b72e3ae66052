// SPDX-License-Identifier: BSD-2-Clause
/*
 * The live view's screen: a header of at most four lines (host power per domain, the model's
 * state and error, what is missing), then one row per target, fitted to the terminal's width
 * and height, drawn in place (cursor home, each line cleared to its end).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "live.h"
#include "util.h"

#define COL_CPU 7
#define COL_POWER 11
#define COL_ERR 7 /* "±" and the watts' figure: "±12.34" */
#define COL_ENERGY 10
#define COL_SHARE 6
#define COL_IPC 6
#define COL_KIND 12
#define MIN_TARGET 12

/* The model's error is highlighted past this part of the measured power. */
#define ALERT_ERROR_SHARE 0.2

static const char *const sort_names[] = {
	[LIVE_SORT_POWER] = "power",
	[LIVE_SORT_CPU] = "CPU",
	[LIVE_SORT_ENERGY] = "energy",
	[LIVE_SORT_NAME] = "name",
};

static const char *const group_names[] = {
	[GROUP_BY_CGROUP] = "cgroup", [GROUP_BY_CONTAINER] = "container", [GROUP_BY_POD] = "pod",
	[GROUP_BY_UNIT] = "unit",     [GROUP_BY_DEPTH] = "depth",
};

/* The grouping as --group-by spells it: "container", "depth:2". */
static void group_text(const struct live_view *v, char *buf, size_t len)
{
	if (v->group == GROUP_BY_DEPTH)
		snprintf(buf, len, "depth:%d", v->group_depth);
	else
		snprintf(buf, len, "%s", group_names[v->group]);
}

void live_view_init(struct live_view *v, enum group_by group, int depth, bool can_group, bool color)
{
	*v = (struct live_view){
		.sort = LIVE_SORT_POWER,
		.group = can_group ? group : GROUP_BY_CGROUP,
		.group_depth = depth,
		.can_group = can_group,
		.color = color,
	};
}

void live_view_free(struct live_view *v)
{
	live_rows_free(&v->snap);
	live_rows_free(&v->grouped);
	live_rows_free(&v->shown);
	for (int i = 0; i < LIVE_HEADER_LINES; i++)
		free(v->header[i]);
	free(v->screen.p);
	*v = (struct live_view){ 0 };
}

bool live_color_wanted(void)
{
	const char *term = getenv("TERM"), *no = getenv("NO_COLOR");

	return term && *term && strcmp(term, "dumb") && !(no && *no);
}

/* Text appended to a growing buffer. */
static void __attribute__((format(printf, 2, 3))) put(struct bm_text *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 256;
		b->p = bm_realloc_array(b->p, b->cap, 1);
	}
}

static void set_header(struct live_view *v, int i, struct bm_text *t, bool alert)
{
	free(v->header[i]);
	v->header[i] = t->len ? bm_strndup(t->p, t->len) : NULL;
	v->header_alert[i] = alert;
	t->len = 0;
}

/* The host's power per socket and domain, and the CO2e rate where there is one. */
static void power_line(struct bm_text *t, const struct bm_meta *m, const struct bm_interval *iv)
{
	int socket = -1;
	bool sockets = false;
	double g = 0;

	if (!m->energy_source) {
		put(t, "energy: %s; CPU shares only, no watts",
		    m->energy_note ? m->energy_note : "none");
		return;
	}
	for (int i = 0; i < iv->nenergy; i++)
		sockets |= iv->energy[i].socket != iv->energy[0].socket;
	if (m->estimate_method)
		put(t, "power ESTIMATED (%s), not measured:", m->estimate_method);
	else
		put(t, "power (%s%s%s):", m->energy_source,
		    m->energy_from_host ? ", passed through from host " : "",
		    m->energy_from_host ? m->energy_from_host : "");
	for (int i = 0; i < iv->nenergy; i++) {
		const struct energy_reading *e = &iv->energy[i];

		if (sockets && e->socket != socket)
			put(t, "%s socket %d:", socket < 0 ? "" : ";", m->package_id[e->socket]);
		put(t, "%s %s %.2f W", e->socket == socket ? "," : "",
		    energy_domain_name(e->domain),
		    iv->interval_s > 0 ? e->joules / iv->interval_s : 0);
		socket = e->socket;
		if (iv->carbon_g_per_kwh > 0 &&
		    (report_total_domains(1u << e->domain) & (1u << e->domain)))
			g += carbon_co2e_g(e->joules, iv->carbon_g_per_kwh);
	}
	if (!iv->nenergy)
		put(t, " no reading this interval");
	if (m->carbon_source && g > 0 && iv->interval_s > 0)
		put(t, "; CO2e %.2f g/h", g * 3600 / iv->interval_s);
}

/* The model of each reading: learning, or its id and error. Returns whether an error is large. */
static bool model_line(struct bm_text *t, const struct bm_meta *m, const struct bm_interval *iv)
{
	bool alert = false, sockets = false;

	if (!m->energy_source)
		return false;
	if (iv->estimated) {
		put(t, "targets' watts: the estimate's idle power to idle, the rest by CPU time");
		return false;
	}
	if (!iv->models) {
		put(t, "targets' watts: each socket's energy split by CPU time (provisional)");
		return false;
	}
	for (int i = 0; i < iv->nenergy; i++)
		sockets |= iv->models[i].socket != iv->models[0].socket;
	put(t, "model:");
	for (int i = 0; i < iv->nenergy; i++) {
		const struct bm_model_record *r = &iv->models[i];

		put(t, "%s ", i ? ";" : "");
		if (sockets)
			put(t, "socket %d ", m->package_id[r->socket]);
		put(t, "%s ", energy_domain_name(r->domain));
		if (!r->model_id) {
			put(t, "learning (%d samples), split by CPU time (provisional)",
			    r->samples);
			continue;
		}
		put(t, "#%u, %d samples", r->model_id, r->samples);
		if (r->predicted) {
			put(t, ", error %+.2f W", r->error_w);
			alert |= fabs(r->error_w) > ALERT_ERROR_SHARE * fabs(r->measured_w) &&
				 fabs(r->error_w) > 0.5;
		}
	}
	return alert;
}

/* What is missing: events, CPUs that came or went, the overflow target. */
static void notes_line(struct bm_text *t, const struct bm_meta *m, const struct bm_interval *iv)
{
	const char *sep = "";

	if (m->missing_note) {
		char line[1024];

		live_missing_line(m->missing_note, line, sizeof(line));
		put(t, "%s", line);
		sep = "; ";
	}
	if (iv->cpus_note) {
		put(t, "%scpus: %s", sep, iv->cpus_note);
		sep = "; ";
	}
	if (iv->overflow)
		put(t, "%soverflow: %llu slices (raise --max-cgroups)", sep,
		    (unsigned long long)iv->overflow);
}

static unsigned int row_est(const struct bm_row *r)
{
	unsigned int est = 0;

	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		if (!(r->domains & (1u << d)))
			continue;
		if (r->estimated & (1u << d))
			est |= LIVE_EST_ESTIMATED;
		else if (!r->model_id[d])
			est |= LIVE_EST_PROVISIONAL;
	}
	return est;
}

void live_view_update(struct live_view *v, const struct bm_meta *m, const struct bm_interval *iv)
{
	struct bm_text t = { 0 };
	unsigned int total;
	bool alert;

	v->domains = 0;
	for (size_t i = 0; i < iv->n; i++)
		v->domains |= iv->rows[i].domains;
	total = report_total_domains(v->domains);
	v->ipc = m->cycles_idx >= 0 && m->instructions_idx >= 0;
	live_rows_clear(&v->snap);
	for (size_t i = 0; i < iv->n; i++) {
		const struct bm_row *r = &iv->rows[i];
		const struct bm_target *tg = r->target;
		const struct bm_labels *l = &tg->labels;
		bool short_id = (l->kind == BM_KIND_CONTAINER || l->kind == BM_KIND_CONMON ||
				 l->kind == BM_KIND_POD || l->kind == BM_KIND_VM) &&
				l->short_name[0];
		struct live_row *lr =
			live_rows_add(&v->snap, tg->name, short_id ? l->short_name : NULL);

		lr->path = target_is_cgroup(tg) && tg->name[0] == '/';
		lr->cpu_pct = iv->interval_s > 0 ? (double)r->s.cpu_ns / (iv->interval_s * 1e7) : 0;
		for (int d = 0; d < BM_NR_DOMAINS; d++) {
			if (!(r->domains & (1u << d)))
				continue;
			lr->watts[d] = iv->interval_s > 0 ? r->s.energy_j[d] / iv->interval_s : 0;
			if (r->err_domains & (1u << d)) {
				lr->watts_err[d] = r->power_err_w[d];
				lr->err_have |= 1u << d;
			} else {
				lr->err_missing |= 1u << d;
			}
			if (total & (1u << d)) {
				lr->power_w += lr->watts[d];
				lr->energy_j += tg->total.energy_j[d];
			}
		}
		if (v->ipc) {
			lr->cycles = r->s.ev[m->cycles_idx];
			lr->instructions = r->s.ev[m->instructions_idx];
		}
		lr->est = row_est(r);
	}
	put(&t, "bpfmeter on %s: %d CPUs, interval %.2f s, hook %s", m->host, iv->nr_online,
	    iv->interval_s, m->hook);
	set_header(v, 0, &t, false);
	power_line(&t, m, iv);
	set_header(v, 1, &t, false);
	alert = model_line(&t, m, iv);
	set_header(v, 2, &t, alert);
	notes_line(&t, m, iv);
	set_header(v, 3, &t, false);
	free(t.p);
	v->have_interval = true;
}

enum live_action live_view_key(struct live_view *v, int key)
{
	static const struct {
		int key;
		enum live_sort sort;
	} sorts[] = {
		{ 'p', LIVE_SORT_POWER },
		{ 'c', LIVE_SORT_CPU },
		{ 'e', LIVE_SORT_ENERGY },
		{ 'n', LIVE_SORT_NAME },
	};

	for (size_t i = 0; i < ARRAY_SIZE(sorts); i++) {
		if (key != sorts[i].key)
			continue;
		/* The same key again: the other way round. */
		v->reverse = v->sort == sorts[i].sort ? !v->reverse : false;
		v->sort = sorts[i].sort;
		v->help = false;
		return LIVE_REDRAW;
	}
	switch (key) {
	case 'q':
		return LIVE_QUIT;
	case 't':
		v->tree = !v->tree;
		v->help = false;
		return LIVE_REDRAW;
	case 'g':
		if (!v->can_group)
			return LIVE_NONE;
		v->group = v->group == GROUP_BY_CGROUP	    ? GROUP_BY_CONTAINER
			   : v->group == GROUP_BY_CONTAINER ? GROUP_BY_POD
			   : v->group == GROUP_BY_POD	    ? GROUP_BY_UNIT
							    : GROUP_BY_CGROUP;
		v->help = false;
		return LIVE_REDRAW;
	case 'h':
	case '?':
		v->help = !v->help;
		return LIVE_REDRAW;
	case ' ':
		return LIVE_REFRESH;
	}
	return LIVE_NONE;
}

/* The screen's lines, each cut to the width, colour around it after the cut. */
struct screen {
	struct bm_text *b;
	int width, height, lines;
	char *cut;
	size_t cut_size;
	bool color;
};

static void line(struct screen *s, const char *text, const char *color)
{
	size_t need = 4 * strlen(text) + 8;

	if (s->lines >= s->height)
		return;
	if (need > s->cut_size) {
		s->cut_size = need;
		s->cut = bm_realloc_array(s->cut, need, 1);
	}
	bm_term_fit_middle(s->cut, s->cut_size, text, s->width, 0);
	/* No newline after the last line of the screen: it would scroll. */
	put(s->b, "%s%s%s%s\033[K", s->lines ? "\n" : "", s->color && color ? color : "", s->cut,
	    s->color && color ? "\033[0m" : "");
	s->lines++;
}

static const char *const help_text[] = {
	"Keys:",
	"  q        quit, with the session summary (as Ctrl-C)",
	"  p        sort by power (again: reversed)",
	"  c        sort by CPU",
	"  e        sort by energy since the start",
	"  n        sort by name",
	"  t        tree: each cgroup under its parent, parents with their subtree's totals",
	"  g        group by cgroup, container, pod, unit (in turn)",
	"  space    refresh now",
	"  h, ?     this help (again: back to the table)",
};

/*
 * The columns beside the target's, in columns: the target takes what they leave. err: the
 * domains whose power has a standard error column (some row has one).
 */
static int fixed_width(const struct live_view *v, bool kind, unsigned int err)
{
	int w = 1 + COL_CPU;

	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		if (v->domains & (1u << d))
			w += 1 + COL_POWER;
		if (v->domains & err & (1u << d))
			w += 1 + COL_ERR;
	}
	if (v->domains)
		w += 2 + COL_ENERGY + 1 + COL_SHARE;
	if (v->ipc)
		w += 1 + COL_IPC;
	if (kind)
		w += 1 + COL_KIND;
	return w;
}

static const char *est_name(unsigned int est)
{
	return est & LIVE_EST_ESTIMATED	    ? "estimated"
	       : est & LIVE_EST_PROVISIONAL ? "provisional"
					    : "";
}

/* " ±X.XX" for a power's standard error, left-aligned in its column; blank where unknown. */
static void err_cell(struct bm_text *t, const struct live_row *r, int d)
{
	char num[32];
	int n;

	if (!(live_row_err_known(r) & (1u << d))) {
		put(t, " %*s", COL_ERR, "");
		return;
	}
	n = snprintf(num, sizeof(num), "%.2f", r->watts_err[d]);
	/* Padded by columns: "±" is one column of two bytes. */
	put(t, " \xc2\xb1%s%*s", num, n + 1 < COL_ERR ? COL_ERR - 1 - n : 0, "");
}

static void column_header(struct screen *s, const struct live_view *v, int tw, bool kind,
			  unsigned int err, struct bm_text *t)
{
	char title[64], group[32];

	t->len = 0;
	group_text(v, group, sizeof(group));
	snprintf(title, sizeof(title), "TARGET%s%s", v->group != GROUP_BY_CGROUP ? " by " : "",
		 v->group != GROUP_BY_CGROUP ? group : "");
	put(t, "%-*s %*s", tw, title, COL_CPU, "CPU%");
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		char col[32];

		if (!(v->domains & (1u << d)))
			continue;
		snprintf(col, sizeof(col), "%s W", energy_domain_name((enum bm_domain)d));
		put(t, " %*s", COL_POWER, col);
		if (err & (1u << d))
			put(t, " \xc2\xb1W%*s", COL_ERR - 2, "");
	}
	if (v->domains)
		put(t, "  %*s %*s", COL_ENERGY, "ENERGY", COL_SHARE, "SHARE");
	if (v->ipc)
		put(t, " %*s", COL_IPC, "IPC");
	if (kind)
		put(t, " %-*s", COL_KIND, "ESTIMATE");
	line(s, t->p, NULL);
}

static void data_line(struct screen *s, const struct live_view *v, const struct live_row *r, int tw,
		      bool kind, unsigned int err, double host_w, struct bm_text *t)
{
	int indent = v->tree ? 2 * r->depth : 0, cols;
	const char *label = r->label ? r->label : r->name;
	char num[32];
	char *name;

	if (indent > tw / 2)
		indent = tw / 2;
	name = bm_calloc(4 * strlen(label) + 8, 1);
	cols = live_fit_middle(name, 4 * strlen(label) + 8, label, tw - indent);
	t->len = 0;
	/* Padded by columns, not bytes: a name of UTF-8 keeps the columns in line. */
	put(t, "%*s%s%*s %*.1f", indent, "", name, tw - indent - cols, "", COL_CPU, r->cpu_pct);
	free(name);
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		if (!(v->domains & (1u << d)))
			continue;
		put(t, " %*.2f", COL_POWER, r->watts[d]);
		if (err & (1u << d))
			err_cell(t, r, d);
	}
	if (v->domains) {
		live_energy_text(num, sizeof(num), r->energy_j);
		put(t, "  %*s %*.1f", COL_ENERGY, num, COL_SHARE - 1,
		    host_w > 0 ? 100 * r->power_w / host_w : 0);
		put(t, "%%");
	}
	if (v->ipc) {
		if (r->cycles)
			put(t, " %*.2f", COL_IPC, (double)r->instructions / (double)r->cycles);
		else
			put(t, " %*s", COL_IPC, "-");
	}
	if (kind)
		put(t, " %-*s", COL_KIND, est_name(r->est));
	line(s, t->p, r->est ? "\033[2m" : NULL);
}

/* The host's line, and on its right what the keys chose: that is never cut, the host's may. */
static void title_line(struct screen *s, const struct live_view *v, struct bm_text *t)
{
	char state[96], group[32], *host = bm_calloc(4 * strlen(v->header[0]) + 8, 1);
	int sw, hw;

	group_text(v, group, sizeof(group));
	sw = snprintf(state, sizeof(state), "[by %s%s%s%s%s; h: keys]", sort_names[v->sort],
		      v->reverse ? " reversed" : "", v->tree ? ", tree" : "",
		      v->group != GROUP_BY_CGROUP ? ", per " : "",
		      v->group != GROUP_BY_CGROUP ? group : "");
	hw = bm_term_fit_middle(host, 4 * strlen(v->header[0]) + 8, v->header[0], s->width - sw - 1,
				0);
	t->len = 0;
	if (s->width - sw - 1 < 5)
		put(t, "%s", state);
	else
		put(t, "%s%*s%s", host, s->width - sw - hw, "", state);
	free(host);
	line(s, t->p, NULL);
}

void live_view_render(struct live_view *v, int width, int height)
{
	struct screen s = { .b = &v->screen, .width = width, .height = height, .color = v->color };
	struct bm_text t = { 0 };
	bool kind = false;
	unsigned int err = 0;
	const struct live_rows *rows;
	double host_w = 0;
	int tw, room;

	v->screen.len = 0;
	/*
	 * The first screen and one at a new size clear it all: what was there (the start's
	 * messages, lines the terminal wrapped again) is not to show between our lines. The
	 * others are drawn over the last, without a flicker.
	 */
	put(&v->screen, "\033[H%s",
	    width != v->drawn_width || height != v->drawn_height ? "\033[2J" : "");
	v->drawn_width = width;
	v->drawn_height = height;
	if (!v->have_interval) {
		line(&s, "bpfmeter: measuring the first interval...", NULL);
		goto out;
	}
	title_line(&s, v, &t);
	for (int i = 1; i < LIVE_HEADER_LINES; i++)
		if (v->header[i])
			line(&s, v->header[i], v->header_alert[i] ? "\033[1;31m" : NULL);
	line(&s, "", NULL);
	if (v->help) {
		for (size_t i = 0; i < ARRAY_SIZE(help_text); i++)
			line(&s, help_text[i], NULL);
		goto out;
	}
	live_group(&v->snap, &v->grouped, v->can_group ? v->group : GROUP_BY_CGROUP,
		   v->group_depth);
	if (v->tree) {
		live_tree(&v->grouped, &v->shown, v->sort, v->reverse);
		rows = &v->shown;
	} else {
		live_sort(v->grouped.v, v->grouped.n, v->sort, v->reverse);
		rows = &v->grouped;
	}
	for (size_t i = 0; i < v->grouped.n; i++) {
		kind |= v->grouped.v[i].est != 0;
		err |= live_row_err_known(&v->grouped.v[i]);
		host_w += v->grouped.v[i].power_w;
	}
	kind &= v->domains != 0;
	/* A standard error column only beside a domain where some row has one. */
	err &= v->domains;
	tw = width - fixed_width(v, kind, err);
	if (tw < MIN_TARGET)
		tw = MIN_TARGET;
	column_header(&s, v, tw, kind, err, &t);
	room = height - s.lines;
	for (size_t i = 0; i < rows->n; i++) {
		/* The last line says how many rows did not fit. */
		if ((int)i == room - 1 && rows->n > (size_t)room) {
			t.len = 0;
			put(&t, "+%zu more", rows->n - i);
			line(&s, t.p, NULL);
			break;
		}
		data_line(&s, v, &rows->v[i], tw, kind, err, host_w, &t);
	}
out:
	put(&v->screen, "\033[J");
	free(t.p);
	free(s.cut);
}
