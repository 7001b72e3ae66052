// SPDX-License-Identifier: BSD-2-Clause
#include <linux/perf_event.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "carbon.h"
#include "report.h"
#include "util.h"

int report_hw_index(const struct bm_event *events, int nr_events, const int *sample_index,
		    uint64_t hw_config)
{
	for (int e = 0; e < nr_events; e++)
		if (sample_index[e] >= 0 && events[e].type == PERF_TYPE_HARDWARE &&
		    events[e].config == hw_config)
			return sample_index[e];
	return -1;
}

/*
 * The sort key of a row: what orders it, and where it was. Rows are large and their targets
 * elsewhere in memory; these are sorted instead, in a merge sort whose comparisons inline.
 * name is NULL where ties keep the rows' order instead of going by name.
 */
struct report_sort_key {
	uint64_t cpu_ns;
	int socket;
	uint32_t i;
	const char *name;
};

/* Whether a goes before b: by CPU time, most first, then socket (and name), then as they were. */
static inline bool key_before(const struct report_sort_key *a, const struct report_sort_key *b)
{
	int c;

	if (a->cpu_ns != b->cpu_ns)
		return a->cpu_ns > b->cpu_ns;
	if (a->socket != b->socket)
		return a->socket < b->socket;
	c = a->name ? strcmp(a->name, b->name) : 0;
	return c ? c < 0 : a->i < b->i;
}

/*
 * Digit pass of a key, least significant first: -2 and -1 the socket's bytes, 0 to 7 those
 * of CPU time.
 */
static inline unsigned int radix_digit(const struct report_sort_key *k, int pass)
{
	if (pass < 0)
		return ((unsigned int)k->socket >> (8 * (pass + 2))) & 0xff;
	return (unsigned int)((~k->cpu_ns >> (8 * pass)) & 0xff); /* most first */
}

/* Bottom up, runs of w merged into runs of 2w, from k into t and back: where they end. */
static struct report_sort_key *merge_sort(struct report_sort_key *k, struct report_sort_key *t,
					  size_t n)
{
	struct report_sort_key *swap;

	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t a = lo, b = mid, o = lo;

			while (a < mid && b < hi)
				t[o++] = key_before(&k[b], &k[a]) ? k[b++] : k[a++];
			while (a < mid)
				t[o++] = k[a++];
			while (b < hi)
				t[o++] = k[b++];
		}
		swap = k;
		k = t;
		t = swap;
	}
	return k;
}

/*
 * The same order without names, as a least significant digit first radix sort, stable: by
 * socket, then by CPU time, most first, a byte at a time, leaving out the bytes all keys share
 * (the high ones of nanoseconds). An interval's ten thousand keys take a few passes, where the
 * merge sort takes fourteen and a comparison per key each.
 */
static struct report_sort_key *radix_sort(struct report_sort_key *k, struct report_sort_key *t,
					  size_t n)
{
	struct report_sort_key *swap;
	size_t count[256];

	for (int pass = -2; pass < 8; pass++) {
		size_t pos = 0;
		bool one = false;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[radix_digit(&k[i], pass)]++;
		for (int d = 0; d < 256; d++) {
			size_t c = count[d];

			one |= c == n;
			count[d] = pos;
			pos += c;
		}
		if (one)
			continue; /* every key has the same digit: the order stays */
		for (size_t i = 0; i < n; i++)
			t[count[radix_digit(&k[i], pass)]++] = k[i];
		swap = k;
		k = t;
		t = swap;
	}
	return k;
}

/* The rows to their places, cycle by cycle: the place j takes the row k[j].i. */
static void place_rows(struct bm_row *rows, size_t n, struct report_sort_key *k)
{
	struct bm_row tmp;

	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		if (k[i].i == i)
			continue;
		tmp = rows[i];
		while (k[j].i != i) {
			size_t from = k[j].i;

			rows[j] = rows[from];
			k[j].i = (uint32_t)j;
			j = from;
		}
		rows[j] = tmp;
		k[j].i = (uint32_t)j;
	}
}

static void sort_rows(struct bm_row *rows, size_t n, struct report_sort_buf *buf, bool by_name)
{
	struct report_sort_key *k, *t;

	if (n < 2)
		return;
	if (buf->cap < n) {
		free(buf->keys);
		buf->cap = n;
		buf->keys = bm_calloc(2 * n, sizeof(*buf->keys));
	}
	k = buf->keys;
	t = k + n;
	for (size_t i = 0; i < n; i++)
		k[i] = (struct report_sort_key){ rows[i].s.cpu_ns, rows[i].socket, (uint32_t)i,
						 by_name ? rows[i].target->name : NULL };
	k = by_name ? merge_sort(k, t, n) : radix_sort(k, t, n);
	place_rows(rows, n, k);
}

void report_sort_with(struct bm_row *rows, size_t n, struct report_sort_buf *buf)
{
	sort_rows(rows, n, buf, false);
}

void report_sort(struct bm_row *rows, size_t n)
{
	struct report_sort_buf buf = { 0 };

	sort_rows(rows, n, &buf, true);
	free(buf.keys);
}

void report_split_by_cpu(struct bm_row *rows, size_t n, int nr_sockets,
			 const struct energy_reading *energy, int nenergy)
{
	uint64_t *total = bm_calloc((size_t)nr_sockets, sizeof(*total));

	/* Stolen time was another tenant's: it takes no share of this machine's energy. */
	for (size_t i = 0; i < n; i++)
		if (rows[i].target->kind != BM_TARGET_STEAL)
			total[rows[i].socket] += rows[i].s.cpu_ns;
	for (size_t i = 0; i < n; i++) {
		struct bm_row *r = &rows[i];

		r->share = total[r->socket] && r->target->kind != BM_TARGET_STEAL
				   ? (double)r->s.cpu_ns / (double)total[r->socket]
				   : 0;
		r->domains = 0;
		r->estimated = 0;
		for (int e = 0; e < nenergy; e++) {
			if (energy[e].socket != r->socket)
				continue;
			r->s.energy_j[energy[e].domain] = energy[e].joules * r->share;
			r->domains |= 1u << energy[e].domain;
		}
	}
	free(total);
}

void report_features(const struct bm_features *f, const struct bm_sample *s, double dt, double *x)
{
	for (int j = 0; j < f->nfeat; j++) {
		double v = f->idx[j] == BM_FEATURE_CPU ? (double)s->cpu_ns / 1e9
						       : (double)s->ev[f->idx[j]];

		x[j] = dt > 0 ? v / dt : 0;
	}
}

/* sqrt(g' C g + extra) of a p x p covariance. */
static double stderr_of(const double *cov, const double *g, int p, double extra)
{
	double v = extra;

	for (int i = 0; i < p; i++)
		for (int j = 0; j < p; j++)
			v += g[i] * cov[i * p + j] * g[j];
	return v > 0 ? sqrt(v) : 0;
}

static bool splits(const struct bm_row *r, int socket)
{
	return r->socket == socket && r->target->kind != BM_TARGET_IDLE &&
	       r->target->kind != BM_TARGET_STEAL;
}

/* The panel's slot of a row's target, or NULL: not in the panel. */
static struct bm_panel_slot *panel_find(struct bm_panel *pn, const struct bm_row *r)
{
	for (int k = 0; k < BM_PANEL; k++)
		if (pn->slot[k].used && pn->slot[k].id == r->target->id &&
		    pn->slot[k].kind == r->target->kind)
			return &pn->slot[k];
	return NULL;
}

/*
 * A target that draws this many times the panel's smallest (by the running mean of q) takes
 * that one's slot: the panel follows the targets that matter, and a target does not churn in
 * and out of it on the noise of one interval.
 */
#define PANEL_TAKEOVER 2.0

/*
 * The panel's slot of a row's target (q: its feature this interval): its own, a free one it
 * takes, the smallest one's where it draws PANEL_TAKEOVER times as much, or NULL.
 */
static struct bm_panel_slot *panel_slot(struct bm_panel *pn, const struct bm_row *r, double q)
{
	struct bm_panel_slot *free_slot = panel_find(pn, r), *small = NULL;

	if (free_slot)
		return free_slot;
	for (int k = 0; k < BM_PANEL; k++) {
		struct bm_panel_slot *sl = &pn->slot[k];

		if (!sl->used && !free_slot)
			free_slot = sl;
		if (sl->used && (!small || sl->mean_q < small->mean_q))
			small = sl;
	}
	if (!free_slot && small && q > PANEL_TAKEOVER * small->mean_q && q > 0)
		free_slot = small;
	if (free_slot) {
		int k = (int)(free_slot - pn->slot);

		/*
		 * New to the panel: its running mean starts here (it may have run before), so
		 * its first change is none.
		 */
		*free_slot = (struct bm_panel_slot){
			.used = true,
			.kind = r->target->kind,
			.id = r->target->id,
			.var = BM_INTENSITY_SD * BM_INTENSITY_SD,
		};
		for (int j = 0; j < BM_PANEL; j++)
			pn->sqq[k * BM_PANEL + j] = pn->sqq[j * BM_PANEL + k] = 0;
	}
	return free_slot;
}

/* q's step of a slot: its change from the running mean (none without one), then the mean's. */
static void slot_take(struct bm_panel_slot *sl, double q)
{
	sl->dq = sl->n ? q - sl->mean_q : 0;
	if (sl->n < BM_MODEL_FAST)
		sl->n++;
	sl->mean_q += (q - sl->mean_q) / sl->n;
}

/*
 * The panel's intensities from its sums: (a^2 Sqq + sigma2 / tau^2) v = a (Sqy - a Sqx), the
 * regression of what the weights leave of each change on the targets' own changes of w.x
 * (a dq), with the prior N(0, tau^2); v's covariance sigma2 times the inverse. With Jacobi
 * scaling and GSL's Cholesky, on the stack. False: not solved (the intensities stay).
 */
static bool panel_solve(struct bm_panel *pn, double a, double sigma2, double tau2)
{
	double abuf[BM_PANEL * BM_PANEL];
	double rbuf[BM_PANEL], zbuf[BM_PANEL], sc[BM_PANEL];
	int idx[BM_PANEL], m = 0;

	for (int k = 0; k < BM_PANEL; k++)
		if (pn->slot[k].used)
			idx[m++] = k;
	if (!m)
		return true;
	gsl_matrix_view av = gsl_matrix_view_array(abuf, (size_t)m, (size_t)m);
	gsl_vector_view rv = gsl_vector_view_array(rbuf, (size_t)m);
	gsl_vector_view zv = gsl_vector_view_array(zbuf, (size_t)m);

	for (int u = 0; u < m; u++) {
		const struct bm_panel_slot *sl = &pn->slot[idx[u]];

		for (int t = 0; t < m; t++)
			abuf[u * m + t] = a * a * pn->sqq[idx[u] * BM_PANEL + idx[t]] +
					  (u == t ? sigma2 / tau2 : 0);
		rbuf[u] = a * (sl->sqy - a * sl->sqx);
	}
	for (int u = 0; u < m; u++)
		sc[u] = 1 / sqrt(abuf[u * m + u]);
	for (int u = 0; u < m; u++) {
		rbuf[u] *= sc[u];
		for (int t = 0; t < m; t++)
			abuf[u * m + t] *= sc[u] * sc[t];
	}
	if (gsl_linalg_cholesky_decomp1(&av.matrix) ||
	    gsl_linalg_cholesky_solve(&av.matrix, &rv.vector, &zv.vector) ||
	    gsl_linalg_cholesky_invert(&av.matrix))
		return false;
	for (int u = 0; u < m; u++) {
		struct bm_panel_slot *sl = &pn->slot[idx[u]];

		sl->v = zbuf[u] * sc[u];
		sl->var = sigma2 * gsl_matrix_get(&av.matrix, (size_t)u, (size_t)u) * sc[u] * sc[u];
	}
	return true;
}

/*
 * How much the panel's intensities differ (tau^2, empirical Bayes): one EM step an interval
 * from the last, the mean over the panel of each v's posterior second moment (v^2 + its
 * variance), between INTENSITY_FLOOR^2 and BM_INTENSITY_SD^2. Targets that are alike then
 * share the model's weights rather than each one's noise; ones that differ keep their own.
 */
#define INTENSITY_FLOOR 0.02
static void panel_spread(struct bm_panel *pn)
{
	double max = BM_INTENSITY_SD * BM_INTENSITY_SD, lo = INTENSITY_FLOOR * INTENSITY_FLOOR;
	double s = 0;
	int m = 0;

	for (int k = 0; k < BM_PANEL; k++)
		if (pn->slot[k].used) {
			s += pn->slot[k].v * pn->slot[k].v + pn->slot[k].var;
			m++;
		}
	s = m ? s / m : max;
	pn->tau2 = s < lo ? lo : s > max ? max : s;
}

void report_intensity_update(struct bm_panel *pn, struct bm_row *rows, size_t n, int socket,
			     enum bm_domain d, double dt, const struct model_fit *fit,
			     const struct bm_features *f, const struct model_step_result *res,
			     double keep)
{
	double sigma2 = res->layer ? res->layer->sigma2 : 0;
	int p = f->nfeat;
	bool seen[BM_PANEL] = { false };
	/*
	 * q: a target's one feature as it is, so that the sums hold whatever the weight
	 * becomes; with several, w.x under the weights of the day. a: what turns q into watts.
	 * dX: the layer's change of the total q.
	 */
	double a = p == 1 ? fit->coef[0] : 1, dX = 0;

	for (int j = 0; j < p; j++)
		dX += (p == 1 ? 1 : fit->coef[j]) * res->change_dx[j];
	for (size_t i = 0; i < n; i++) {
		struct bm_row *r = &rows[i];
		struct bm_panel_slot *sl;
		double x[BM_MODEL_MAX_FEATURES], q = 0;

		if (!splits(r, socket))
			continue;
		report_features(f, &r->s, dt, x);
		for (int j = 0; j < p; j++)
			q += (p == 1 ? 1 : fit->coef[j]) * x[j];
		if (!(sl = panel_slot(pn, r, q)))
			continue;
		slot_take(sl, q);
		sl->absent = 0;
		seen[sl - pn->slot] = true;
	}
	/* The panel's targets that did not run ran at 0; gone long enough, they leave. */
	for (int k = 0; k < BM_PANEL; k++) {
		struct bm_panel_slot *sl = &pn->slot[k];

		if (!sl->used || seen[k])
			continue;
		if (++sl->absent > BM_MODEL_FAST)
			sl->used = false;
		else
			slot_take(sl, 0);
	}
	if (res->changed && sigma2 > 0) {
		for (int k = 0; k < BM_PANEL; k++) {
			struct bm_panel_slot *sl = &pn->slot[k];

			if (!sl->used)
				continue;
			sl->sqy = keep * sl->sqy + sl->dq * res->change_dy;
			sl->sqx = keep * sl->sqx + sl->dq * dX;
			for (int j = 0; j < BM_PANEL; j++)
				if (pn->slot[j].used)
					pn->sqq[k * BM_PANEL + j] =
						keep * pn->sqq[k * BM_PANEL + j] +
						sl->dq * pn->slot[j].dq;
		}
		if (!(pn->tau2 > 0))
			pn->tau2 = BM_INTENSITY_SD * BM_INTENSITY_SD;
		if (panel_solve(pn, a, sigma2, pn->tau2))
			panel_spread(pn);
	}
	for (size_t i = 0; i < n; i++) {
		struct bm_row *r = &rows[i];
		const struct bm_panel_slot *sl;

		if (!splits(r, socket))
			continue;
		sl = panel_find(pn, r);
		r->intensity_v[d] = sl ? sl->v : 0;
		r->intensity_var[d] = sl ? sl->var : BM_INTENSITY_SD * BM_INTENSITY_SD;
		r->intensity_domains |= 1u << d;
	}
}

void report_split_by_model(struct bm_row *rows, size_t n, int socket, enum bm_domain d,
			   double joules, double dt, const struct model_fit *fit, const double *cov,
			   double noise_var, const struct bm_features *f, bool idle_share,
			   unsigned int model_id)
{
	double static_j, dyn_total = 0, cpu_total = 0, rest, own_w = 0;
	double xsum[BM_MODEL_MAX_FEATURES] = { 0 };
	struct bm_row *idle = NULL;
	bool static_to_idle;

	for (size_t i = 0; i < n; i++) {
		struct bm_row *r = &rows[i];
		double x[BM_MODEL_MAX_FEATURES], dyn = 0;

		if (r->socket != socket)
			continue;
		r->s.energy_j[d] = 0;
		r->domains |= 1u << d;
		r->model_id[d] = model_id;
		r->err_domains &= ~(1u << d);
		if (r->target->kind == BM_TARGET_IDLE) {
			idle = r;
			continue;
		}
		if (r->target->kind == BM_TARGET_STEAL)
			continue;
		report_features(f, &r->s, dt, x);
		for (int j = 0; j < f->nfeat; j++) {
			dyn += fit->coef[j] * x[j];
			xsum[j] += x[j];
		}
		/* Its own intensity, where there is one. */
		if (r->intensity_domains & (1u << d)) {
			double k = fmax(1 + r->intensity_v[d], 0);

			own_w += fmax(dyn, 0) * (k - 1);
			dyn *= k;
		}
		/* Kept in energy_j until the totals are known. */
		r->s.energy_j[d] = fmax(dyn, 0);
		dyn_total += r->s.energy_j[d];
		cpu_total += (double)r->s.cpu_ns;
	}
	/*
	 * The static part: what the model's weights leave of the measurement, less what the
	 * targets' own intensities add to their w.x; within what was measured.
	 */
	static_j = fmin(fmax((fit->intercept - own_w) * dt, 0), fmax(joules, 0));
	rest = joules - static_j;
	/* The static part goes to idle unless asked to share it or there is no idle row. */
	static_to_idle = idle && (!idle_share || cpu_total <= 0);
	for (size_t i = 0; i < n; i++) {
		struct bm_row *r = &rows[i];
		double part = 0, cpu_frac, x[BM_MODEL_MAX_FEATURES];

		if (!splits(r, socket))
			continue;
		cpu_frac = cpu_total > 0 ? (double)r->s.cpu_ns / cpu_total : 0;
		if (dyn_total > 0)
			part = rest * r->s.energy_j[d] / dyn_total;
		else if (!idle)
			part = rest * cpu_frac;
		if (!static_to_idle)
			part += static_j * cpu_frac;
		r->s.energy_j[d] = part;
		if (!cov || !(dt > 0))
			continue;
		/*
		 * Its power is w.x (and its CPU time's part of the static, the measurement less
		 * w.sum(x), where shared): the error of w, through that gradient, and its part of
		 * the measurement's noise.
		 */
		report_features(f, &r->s, dt, x);
		{
			/* And its own intensity's uncertainty, on its w.x. */
			double wx = 0, own = 0;

			for (int j = 0; j < f->nfeat; j++)
				wx += fit->coef[j] * x[j];
			if (r->intensity_domains & (1u << d))
				own = wx * wx * r->intensity_var[d];
			for (int j = 0; j < f->nfeat; j++)
				x[j] -= static_to_idle ? 0 : cpu_frac * xsum[j];
			r->power_err_w[d] = stderr_of(
				cov, x, f->nfeat,
				own + (static_to_idle ? 0 : cpu_frac * cpu_frac * noise_var));
		}
		r->err_domains |= 1u << d;
	}
	if (idle) {
		idle->s.energy_j[d] = (dyn_total > 0 ? 0 : rest) + (static_to_idle ? static_j : 0);
		if (cov && dt > 0) {
			/*
			 * The static part: the measurement less w.sum(x), with the measurement's
			 * own noise in it (one interval cannot tell the two apart); or none of it.
			 */
			idle->power_err_w[d] =
				static_to_idle ? stderr_of(cov, xsum, f->nfeat, noise_var) : 0;
			idle->err_domains |= 1u << d;
		}
	}
}

void report_split_estimate(struct bm_row *rows, size_t n, int socket, enum bm_domain d,
			   double joules, double static_j, double dt, bool idle_share)
{
	/* A "model" of CPU time alone whose static part is the curve's idle power. */
	static const struct bm_features cpu = { .nfeat = 1, .idx = { BM_FEATURE_CPU } };
	struct model_fit fit = { .intercept = dt > 0 ? static_j / dt : 0,
				 .coef = { 1 },
				 .nfeat = 1 };

	report_split_by_model(rows, n, socket, d, joules, dt, &fit, NULL, 0, &cpu, idle_share, 0);
	for (size_t i = 0; i < n; i++)
		if (rows[i].socket == socket)
			rows[i].estimated |= 1u << d;
}

const char *report_estimate_name(const struct bm_row *r, int d)
{
	if (r->estimated & (1u << d))
		return "estimated";
	return r->model_id[d] ? "model" : "provisional";
}

double report_measured(const struct bm_interval *iv, int socket, int domain)
{
	for (int i = 0; i < iv->nenergy; i++)
		if (iv->energy[i].socket == socket && (int)iv->energy[i].domain == domain)
			return iv->energy[i].joules;
	return -1;
}

bool report_co2e(const struct bm_interval *iv, double joules, double *g)
{
	if (!(iv->carbon_g_per_kwh > 0) || joules < 0)
		return false;
	*g = carbon_co2e_g(joules, iv->carbon_g_per_kwh);
	return true;
}

unsigned int report_total_domains(unsigned int measured)
{
	if (measured & (1u << BM_DOMAIN_PSYS))
		return 1u << BM_DOMAIN_PSYS;
	return measured & ((1u << BM_DOMAIN_PACKAGE) | (1u << BM_DOMAIN_DRAM));
}

void report_domains_text(char *buf, size_t len, unsigned int mask)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int d = 0; d < BM_NR_DOMAINS && off < len; d++)
		if (mask & (1u << d))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " + " : "",
						energy_domain_name((enum bm_domain)d));
}

void report_row_add(struct bm_row *into, const struct bm_row *from)
{
	/* Where each part that has the domain knows its error, the sum does. */
	unsigned int ki = into->err_domains | ~into->domains,
		     kf = from->err_domains | ~from->domains;

	into->s.cpu_ns += from->s.cpu_ns;
	for (int e = 0; e < BM_MAX_EVENTS; e++)
		into->s.ev[e] += from->s.ev[e];
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		into->s.energy_j[d] += from->s.energy_j[d];
		into->s.co2e_g[d] += from->s.co2e_g[d];
	}
	/*
	 * The errors of one model's shares move together (its weights are common to them): they
	 * add, which is exact for one feature and an upper bound otherwise. A part that has the
	 * domain but no error for it leaves the sum without one.
	 */
	for (int d = 0; d < BM_NR_DOMAINS; d++)
		into->power_err_w[d] += from->power_err_w[d];
	into->err_domains = ki & kf & (into->domains | from->domains);
	into->share += from->share;
	into->domains |= from->domains;
	into->estimated |= from->estimated;
}

/* Where the fold's key of a row starts its probe: the target's address, and the socket. */
static size_t fold_slot(const struct bm_row *r, bool by_socket, size_t mask)
{
	uint64_t k = (uint64_t)(uintptr_t)r->target ^ (by_socket ? (uint64_t)r->socket << 48 : 0);

	return bm_hash_slot(k, mask);
}

size_t report_fold_rows(struct bm_row *rows, size_t n, bool by_socket)
{
	size_t cap = 16, out = 0;
	uint32_t *slot;

	while (cap < 2 * n)
		cap *= 2;
	/* Place + 1 of the first row of each key, 0 for none: a hash, not a scan per row. */
	slot = bm_calloc(cap, sizeof(*slot));
	for (size_t i = 0; i < n; i++) {
		size_t j = fold_slot(&rows[i], by_socket, cap - 1);

		while (slot[j]) {
			const struct bm_row *o = &rows[slot[j] - 1];

			if (o->target == rows[i].target &&
			    (!by_socket || o->socket == rows[i].socket))
				break;
			j = (j + 1) & (cap - 1);
		}
		if (slot[j]) {
			report_row_add(&rows[slot[j] - 1], &rows[i]);
			continue;
		}
		rows[out] = rows[i];
		slot[j] = (uint32_t)++out;
	}
	free(slot);
	return out;
}

size_t report_merge_sockets(struct bm_row *rows, size_t n)
{
	size_t out = report_fold_rows(rows, n, false);

	for (size_t i = 0; i < out; i++)
		rows[i].socket = -1;
	report_sort(rows, out);
	return out;
}
