// SPDX-License-Identifier: BSD-2-Clause
/*
 * The self-calibrating power model, in the spirit of SmartWatts: per socket, domain and
 * frequency layer, P = b + w.x with w >= 0 and 0 <= b < TDP, fitted by ridge regression over
 * a window of recent intervals and refitted when its error passes a threshold.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_vector.h>

#include "model.h"
#include "util.h"

/*
 * A refit follows the machine closely: it weighs the newest 2 samples fully and each older one
 * 0.75 times the next (about 6 samples' worth), so a new workload is learnt within an interval
 * or two. So few samples cannot tell the weights from the intercept under a steady load, so
 * the refit also keeps what the previous fit knew: its intercept as a sample at x = 0 (weight
 * 1), and its weights as the ridge's centre, in units of each feature's spread over the whole
 * window (strength 0.01 per unit of sample weight), which decide where the recent samples did
 * not vary. Two Huber passes (at 0.3 robust standard deviations) keep samples where power and
 * counters disagree, such as an interval that straddles a change of load, from steering the
 * refit. The first fit is plain ridge: its samples weigh alike, and there is no fit to keep.
 *
 * A refit happens only on error: when the mean absolute error since the fit, over 2 to 5
 * intervals, passes 0.5 W, or at once when the newest error passes 2 W. On the nx12 trace
 * (scripts/bench-replay-nx12.sh) this gives a package MAE of 3.74 W and a DRAM MAE of 1.56 W
 * (6.82 and 3.65 W with a plain 60-sample window refitted above a 2 W median error).
 */
const struct model_config model_config_default = {
	.window = 60,
	.min_samples = 10,
	.error_window = 5,
	.error_threshold = 0.5,
	.tdp = 400.0,
	.ridge = 1e-3,
	.forget = 0.75,
	.forget_after = 2,
	.robust_passes = 2,
	.prior = 0.01,
	.anchor = 1.0,
};

/* A huge newest error (this many thresholds) refits at once, without a second interval. */
#define ERROR_JUMP 4.0
/* Huber's constant, in robust standard deviations (1.4826 x the median absolute residual). */
#define HUBER_K 0.3

double model_predict(const struct model_fit *m, const double *x)
{
	double p = m->intercept;

	for (int i = 0; i < m->nfeat; i++)
		p += m->coef[i] * x[i];
	return p;
}

int model_layer_of(double mhz)
{
	return mhz > 0 && isfinite(mhz) ? (int)(mhz / 100) * 100 : -1;
}

/*
 * Ridge on the active features, standardised: minimise |yc - Z beta|^2 + lambda^2 |beta|^2
 * with GSL's SVD-based solver. beta[k] for active feature k.
 */
static int ridge_solve(const double *x, const double *yc, const double *sw, int n, int nfeat,
		       const int *active, int nact, const double *mu, const double *sd,
		       double lambda, double *beta)
{
	gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc((size_t)n, (size_t)nact);
	gsl_matrix *z = gsl_matrix_alloc((size_t)n, (size_t)nact);
	gsl_vector *y = gsl_vector_alloc((size_t)n);
	gsl_vector *c = gsl_vector_alloc((size_t)nact);
	double rnorm, snorm;
	int err = 0;

	if (!w || !z || !y || !c) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		gsl_vector_set(y, (size_t)i, sw[i] * yc[i]);
		for (int k = 0; k < nact; k++) {
			int j = active[k];

			gsl_matrix_set(z, (size_t)i, (size_t)k,
				       sw[i] * (x[i * nfeat + j] - mu[j]) / sd[j]);
		}
	}
	if (gsl_multifit_linear_svd(z, w) ||
	    gsl_multifit_linear_solve(lambda, z, y, c, &rnorm, &snorm, w)) {
		err = -EINVAL;
		goto out;
	}
	for (int k = 0; k < nact; k++)
		beta[k] = gsl_vector_get(c, (size_t)k);
out:
	gsl_vector_free(c);
	gsl_vector_free(y);
	gsl_matrix_free(z);
	gsl_multifit_linear_free(w);
	return err;
}

int model_fit(const double *x, const double *y, int n, int nfeat, double ridge,
	      struct model_fit *out)
{
	return model_fit_weighted(x, y, NULL, n, nfeat, ridge, out);
}

/*
 * Weighted ridge is plain ridge on the rows scaled by sqrt(weight), about the weighted means:
 * the same solver serves both.
 */
/*
 * The fit itself. With prior (weights, one per feature) the ridge pulls towards it instead of
 * towards 0; with scale, a feature is standardised by the larger of its spread in these
 * samples and scale[j], so one that barely varied here is judged on a longer history.
 */
static int fit_core(const double *x, const double *y, const double *wt, int n, int nfeat,
		    double ridge, const double *prior, const double *scale, struct model_fit *out)
{
	double mu[BM_MODEL_MAX_FEATURES] = { 0 }, sd[BM_MODEL_MAX_FEATURES] = { 0 };
	double beta[BM_MODEL_MAX_FEATURES], ymean = 0, wsum = 0, *yc, *sw;
	int active[BM_MODEL_MAX_FEATURES], nact = 0, err = 0;

	if (n < 2 || nfeat < 0 || nfeat > BM_MODEL_MAX_FEATURES)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->nfeat = nfeat;
	for (int i = 0; i < n; i++) {
		double w = wt ? wt[i] : 1;

		if (!(w >= 0) || !isfinite(w))
			return -EINVAL;
		wsum += w;
		ymean += w * y[i];
		for (int j = 0; j < nfeat; j++)
			mu[j] += w * x[i * nfeat + j];
	}
	if (!(wsum > 0))
		return -EINVAL;
	ymean /= wsum;
	for (int j = 0; j < nfeat; j++) {
		mu[j] /= wsum;
		for (int i = 0; i < n; i++) {
			double d = x[i * nfeat + j] - mu[j];

			sd[j] += (wt ? wt[i] : 1) * d * d;
		}
		sd[j] = sqrt(sd[j] / wsum);
		/* A feature that did not vary says nothing about its weight. */
		if (sd[j] > 1e-12 * (fabs(mu[j]) + 1e-300))
			active[nact++] = j;
		if (scale && scale[j] > sd[j])
			sd[j] = scale[j];
	}
	yc = malloc((size_t)n * sizeof(*yc));
	sw = malloc((size_t)n * sizeof(*sw));
	if (!yc || !sw) {
		free(yc);
		free(sw);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		sw[i] = sqrt(wt ? wt[i] : 1);

	/*
	 * Active set: drop the features whose weight comes out negative, solve again. With a
	 * prior, the ridge solves for the departure from it: y - prior.x against x.
	 */
	while (nact > 0) {
		int keep = 0;

		for (int i = 0; i < n; i++) {
			yc[i] = y[i] - ymean;
			for (int k = 0; prior && k < nact; k++) {
				int j = active[k];

				yc[i] -= prior[j] * (x[i * nfeat + j] - mu[j]);
			}
		}
		err = ridge_solve(x, yc, sw, n, nfeat, active, nact, mu, sd, sqrt(ridge * wsum),
				  beta);
		if (err)
			break;
		for (int k = 0; k < nact; k++) {
			if (prior)
				beta[k] += prior[active[k]] * sd[active[k]];
			if (beta[k] >= 0) {
				beta[keep] = beta[k];
				active[keep++] = active[k];
			}
		}
		if (keep == nact)
			break;
		nact = keep;
	}
	free(yc);
	free(sw);
	if (err)
		return err;
	out->intercept = ymean;
	for (int k = 0; k < nact; k++) {
		int j = active[k];

		out->coef[j] = beta[k] / sd[j];
		out->intercept -= out->coef[j] * mu[j];
	}
	return 0;
}

int model_fit_weighted(const double *x, const double *y, const double *wt, int n, int nfeat,
		       double ridge, struct model_fit *out)
{
	return fit_core(x, y, wt, n, nfeat, ridge, NULL, NULL, out);
}

void model_init(struct model *m, const struct model_config *cfg, int nfeat, unsigned int *next_id)
{
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->nfeat = nfeat;
	m->next_id = next_id;
	/* GSL's default handler aborts; errors come back as return codes instead. */
	gsl_set_error_handler_off();
}

void model_free(struct model *m)
{
	for (int i = 0; i < m->nlayers; i++) {
		free(m->layers[i].x);
		free(m->layers[i].y);
		free(m->layers[i].err);
	}
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

static struct model_layer *layer_get(struct model *m, int mhz)
{
	struct model_layer *l;

	for (int i = 0; i < m->nlayers; i++)
		if (m->layers[i].layer_mhz == mhz)
			return &m->layers[i];
	m->layers = bm_realloc_array(m->layers, (size_t)m->nlayers + 1, sizeof(*m->layers));
	l = &m->layers[m->nlayers++];
	memset(l, 0, sizeof(*l));
	l->layer_mhz = mhz;
	l->x = bm_calloc((size_t)m->cfg.window * (size_t)(m->nfeat ? m->nfeat : 1), sizeof(double));
	l->y = bm_calloc((size_t)m->cfg.window, sizeof(double));
	l->err = bm_calloc((size_t)m->cfg.error_window, sizeof(double));
	return l;
}

static bool all_finite(const double *v, int n)
{
	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

/* A ring that is not full yet has never wrapped: its head is its count. */
static bool ring_sane(int n, int head, int size)
{
	return n >= 0 && n <= size && head >= 0 && head < size && (n == size || head == n);
}

int model_restore_layer(struct model *m, const struct model_layer *from)
{
	const struct model_config *c = &m->cfg;
	const struct model_fit *f = &from->fit;
	int p = m->nfeat;
	struct model_layer *l;

	for (int i = 0; i < m->nlayers; i++)
		if (m->layers[i].layer_mhz == from->layer_mhz)
			return -EEXIST;
	if (!ring_sane(from->n, from->head, c->window) ||
	    !ring_sane(from->nerr, from->err_head, c->error_window) ||
	    (from->layer_mhz != -1 && (from->layer_mhz < 0 || from->layer_mhz % 100)) ||
	    !all_finite(from->x, from->n * p) || !all_finite(from->y, from->n) ||
	    !all_finite(from->err, from->nerr))
		return -EINVAL;
	/* No fit: no errors of it either. A fit: one model_step could have accepted. */
	if (!from->id && (from->nerr || f->nfeat || f->intercept))
		return -EINVAL;
	if (from->id && (f->nfeat != p || !(f->intercept >= 0 && f->intercept < c->tdp)))
		return -EINVAL;
	for (int j = 0; j < BM_MODEL_MAX_FEATURES; j++)
		if (!(f->coef[j] >= 0 && isfinite(f->coef[j])) || (j >= p && f->coef[j]))
			return -EINVAL;
	l = layer_get(m, from->layer_mhz);
	/* memcpy wants its pointers valid even for 0 bytes: an empty ring may have none. */
	if (from->n) {
		memcpy(l->x, from->x, (size_t)from->n * (size_t)p * sizeof(double));
		memcpy(l->y, from->y, (size_t)from->n * sizeof(double));
	}
	if (from->nerr)
		memcpy(l->err, from->err, (size_t)from->nerr * sizeof(double));
	l->n = from->n;
	l->head = from->head;
	l->nerr = from->nerr;
	l->err_head = from->err_head;
	l->fit = *f;
	l->id = from->id;
	return 0;
}

/* The spread (standard deviation) of each feature over the layer's whole window. */
static void window_spread(const struct model *m, const struct model_layer *l, double *sd)
{
	int p = m->nfeat;

	for (int j = 0; j < p; j++) {
		double mu = 0, ss = 0;

		for (int i = 0; i < l->n; i++)
			mu += l->x[i * p + j];
		mu /= l->n;
		for (int i = 0; i < l->n; i++) {
			double d = l->x[i * p + j] - mu;

			ss += d * d;
		}
		sd[j] = sqrt(ss / l->n);
	}
}

/*
 * Fit the newest n samples of the layer's history (see model_config_default for the
 * weights, the previous fit's part and the Huber passes); true when the intercept is sane.
 */
static bool fit_newest(struct model *m, struct model_layer *l, int n, struct model_fit *fit)
{
	const struct model_config *c = &m->cfg;
	int w = c->window, p = m->nfeat, rows = n;
	bool refit = l->id != 0;
	double *x = bm_calloc((size_t)(n + 1) * (size_t)(p ? p : 1), sizeof(double));
	double *y = bm_calloc((size_t)n + 1, sizeof(double));
	double *wt = bm_calloc((size_t)n + 1, sizeof(double));
	double *r = bm_calloc((size_t)n + 1, sizeof(double));
	double *scratch = bm_calloc((size_t)n + 1, sizeof(double));
	double scale[BM_MODEL_MAX_FEATURES];
	bool ok = false;

	for (int i = 0; i < n; i++) {
		int k = (l->head - n + i + w) % w, age = n - 1 - i - c->forget_after;

		memcpy(&x[i * p], &l->x[k * p], (size_t)p * sizeof(double));
		y[i] = l->y[k];
		wt[i] = refit && c->forget > 0 && c->forget < 1 && age > 0 ? pow(c->forget, age)
									   : 1;
	}
	if (refit && c->anchor > 0) {
		/* The previous intercept: the power at x = 0 (the row of x is already 0). */
		y[n] = l->fit.intercept;
		wt[n] = c->anchor;
		rows = n + 1;
	}
	if (refit && c->prior > 0)
		window_spread(m, l, scale);
	for (int pass = 0; pass <= (refit ? c->robust_passes : 0); pass++) {
		if (pass) {
			/* Huber: a residual beyond HUBER_K sigma weighs in proportion less. */
			double sigma, lim;

			for (int i = 0; i < rows; i++)
				r[i] = fabs(y[i] - model_predict(fit, &x[i * p]));
			/*
			 * Over every row, however long the window: GSL's median (quickselect)
			 * reorders its input, so it gets a copy.
			 */
			memcpy(scratch, r, (size_t)rows * sizeof(*r));
			sigma = 1.4826 * gsl_stats_median(scratch, 1, (size_t)rows);
			lim = HUBER_K * sigma;
			for (int i = 0; i < rows; i++)
				if (r[i] > lim && lim > 0)
					wt[i] *= lim / r[i];
		}
		if (refit && c->prior > 0)
			ok = !fit_core(x, y, wt, rows, p, c->prior, l->fit.coef, scale, fit);
		else
			ok = !fit_core(x, y, wt, rows, p, c->ridge, NULL, NULL, fit);
		if (!ok)
			break;
	}
	ok = ok && fit->intercept >= 0 && fit->intercept < c->tdp;
	free(x);
	free(y);
	free(wt);
	free(r);
	free(scratch);
	return ok;
}

/*
 * Fit on the whole history; where that puts the intercept out of bounds (the machine changed
 * under the window, and old and new samples disagree), on the newest samples, which the
 * model was failing on, alone. Neither: keep the previous model.
 */
static void refit(struct model *m, struct model_layer *l, struct model_step_result *res)
{
	int recent = l->nerr > m->cfg.min_samples ? l->nerr : m->cfg.min_samples;
	struct model_fit fit;

	if (fit_newest(m, l, l->n, &fit) || (recent < l->n && fit_newest(m, l, recent, &fit))) {
		l->fit = fit;
		l->id = ++*m->next_id;
		l->fits++;
		/* Judge the new model on its own errors: the ring starts over. */
		l->nerr = 0;
		l->err_head = 0;
		res->refitted = true;
	} else {
		l->rejected++;
		res->rejected = true;
	}
}

void model_step(struct model *m, int layer_mhz, const double *x, double measured_w,
		struct model_step_result *res)
{
	struct model_layer *l = layer_get(m, layer_mhz);
	int w = m->cfg.window, ew = m->cfg.error_window;
	double mean_err = 0;
	bool want_fit;

	memset(res, 0, sizeof(*res));
	if (l->id) {
		res->predicted = true;
		res->predicted_id = l->id;
		res->predicted_w = model_predict(&l->fit, x);
		res->error_w = res->predicted_w - measured_w;
		l->err[l->err_head] = fabs(res->error_w);
		l->err_head = (l->err_head + 1) % ew;
		if (l->nerr < ew)
			l->nerr++;
	}
	memcpy(&l->x[l->head * m->nfeat], x, (size_t)m->nfeat * sizeof(double));
	l->y[l->head] = measured_w;
	l->head = (l->head + 1) % w;
	if (l->n < w)
		l->n++;

	/* The ring holds the errors since the fit (it restarts with each): their mean. */
	for (int i = 0; i < l->nerr; i++)
		mean_err += l->err[i] / l->nerr;
	want_fit = l->n >= m->cfg.min_samples &&
		   (!l->id || (l->nerr >= (ew < 2 ? ew : 2) && mean_err > m->cfg.error_threshold) ||
		    (res->predicted && fabs(res->error_w) > ERROR_JUMP * m->cfg.error_threshold));
	if (want_fit)
		refit(m, l, res);
	res->layer = l;
}
