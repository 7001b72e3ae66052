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
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_vector.h>

#include "model.h"
#include "util.h"

/*
 * Two time scales. The weights (the watts per unit of each feature: the physics of the part)
 * are learnt slowly, from every change of load the layer has seen over about `horizon`
 * samples (an hour at 1 s): each sample's change from the running means of the ones before
 * it, which the static power's own drift barely touches. The static part follows fast: each
 * interval's is what the weights leave of its measurement. Where the changes so far cannot
 * tell the weights (a steady load from the start), the prior decides, and the weights'
 * covariance says how little is known: it is carried to each target's share as a standard
 * error.
 *
 * The prediction of the next interval is apart from the split: it combines the level fit of
 * the recent samples with the last measurement moved by the change of the features since,
 * under weights learnt from the changes since the last sample alone (attenuated by the noise
 * of one interval's features, as a predictor's should be, and so not the split's).
 *
 * A level refit happens on error: when the mean absolute error since the last one, over 2 to
 * 5 intervals, passes 0.5 W, or at once when the newest error passes 2 W. On the nx12 trace
 * (scripts/bench-replay-nx12.sh) this gives a package MAE of 3.72 W and a DRAM MAE of 1.55 W;
 * on the two BSC servers (scripts/bench-bsc.sh) 1.38 and 3.55 W, below the last measurement
 * alone (1.43 and 3.65 W).
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
	.horizon = 3600,
};

/* A huge newest error (this many thresholds) refits at once, without a second interval. */
#define ERROR_JUMP 4.0
/* Huber's constant for the level fit, in robust standard deviations (1.4826 x the median). */
#define HUBER_K_LEVEL 0.3
/*
 * The combination of the two predictions: each one's mean absolute error follows its newest
 * errors, each weighing 1 - PRED_ERR_KEEP (about the last 1000 intervals), and each prediction
 * weighs by the inverse of that error to the power PRED_ERR_POW: close to taking the one
 * that has done better lately, without flipping on one interval.
 */
#define PRED_ERR_KEEP 0.999
#define PRED_ERR_POW 6

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
	const struct model_evidence *ev = &from->ev, *evd = &from->evd;
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
	/* The level fit: as bounded as the split's, and only with it. */
	if (!from->id && (from->local.nfeat || from->local.intercept))
		return -EINVAL;
	if (from->id && (from->local.nfeat != p ||
			 !(from->local.intercept >= 0 && from->local.intercept < c->tdp)))
		return -EINVAL;
	for (int j = 0; j < BM_MODEL_MAX_FEATURES; j++)
		if (!(f->coef[j] >= 0 && isfinite(f->coef[j])) || (j >= p && f->coef[j]) ||
		    !(from->local.coef[j] >= 0 && isfinite(from->local.coef[j])) ||
		    (j >= p && from->local.coef[j]))
			return -EINVAL;
	/* The evidence: sums of squares, weights and counts are never negative. */
	if (!(ev->sw >= 0 && ev->syy >= 0 && isfinite(ev->sw) && isfinite(ev->syy)) || ev->n < 0 ||
	    !all_finite(ev->sxy, p) || !all_finite(ev->sxx, p * p) ||
	    !all_finite(from->prior.w, p) || !all_finite(from->prior.prec, p * p))
		return -EINVAL;
	if (!(evd->sw >= 0 && evd->syy >= 0 && isfinite(evd->sw) && isfinite(evd->syy)) ||
	    evd->n < 0 || !all_finite(evd->sxy, p) || !all_finite(evd->sxx, p * p) ||
	    !(from->sigma2d >= 0 && isfinite(from->sigma2d)))
		return -EINVAL;
	for (int j = 0; j < p; j++)
		if (ev->sxx[j * p + j] < 0 || from->prior.prec[j * p + j] < 0 ||
		    evd->sxx[j * p + j] < 0)
			return -EINVAL;
	for (int j = 0; j < BM_MODEL_MAX_FEATURES; j++)
		if (!(from->wd[j] >= 0 && isfinite(from->wd[j])) || (j >= p && from->wd[j]))
			return -EINVAL;
	if (from->nmean < 0 || from->nmean > BM_MODEL_FAST || !all_finite(from->mean_x, p) ||
	    !isfinite(from->mean_y) || !isfinite(from->static_w) || !(from->err_level >= 0) ||
	    !(from->err_static >= 0) || !isfinite(from->err_level) || !isfinite(from->err_static) ||
	    !(from->sigma2 >= 0 && isfinite(from->sigma2)))
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
	l->local = from->local;
	l->id = from->id;
	l->ev = *ev;
	l->evd = *evd;
	memcpy(l->wd, from->wd, sizeof(l->wd));
	l->sigma2d = from->sigma2d;
	l->prior = from->prior;
	l->nmean = from->nmean;
	memcpy(l->mean_x, from->mean_x, sizeof(l->mean_x));
	l->mean_y = from->mean_y;
	l->static_w = from->static_w;
	l->have_err = from->have_err;
	l->err_level = from->err_level;
	l->err_static = from->err_static;
	l->sigma2 = from->sigma2;
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
		y[n] = l->local.intercept;
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
			lim = HUBER_K_LEVEL * sigma;
			for (int i = 0; i < rows; i++)
				if (r[i] > lim && lim > 0)
					wt[i] *= lim / r[i];
		}
		if (refit && c->prior > 0)
			ok = !fit_core(x, y, wt, rows, p, c->prior, l->local.coef, scale, fit);
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
static void local_refit(struct model *m, struct model_layer *l, struct model_step_result *res)
{
	int recent = l->nerr > m->cfg.min_samples ? l->nerr : m->cfg.min_samples;
	struct model_fit fit;

	if (fit_newest(m, l, l->n, &fit) || (recent < l->n && fit_newest(m, l, recent, &fit))) {
		l->local = fit;
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

/* Huber's constant for a change's residual, in its standard deviations. */
#define HUBER_K 2.0
/*
 * The prior of a layer with no earlier state: the dynamic part anywhere between none and all
 * of the power, evenly (mean half of it, standard deviation 1/sqrt(12) of it).
 */
#define PRIOR_DYN_SHARE 0.5
#define PRIOR_DYN_SD 0.2887
/* Relative ridge of the slow weights: so small that it biases nothing, only conditions. */
#define SLOW_RIDGE 1e-9

static double dot(const double *a, const double *b, int n)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* x' A x of a p x p matrix. */
static double quad(const double *a, const double *x, int p)
{
	double s = 0;

	for (int i = 0; i < p; i++)
		for (int j = 0; j < p; j++)
			s += x[i] * a[i * p + j] * x[j];
	return s;
}

double model_dyn_stderr(const struct model_layer *l, const double *x)
{
	double v = quad(l->cov, x, l->fit.nfeat);

	return v > 0 ? sqrt(v) : 0;
}

void model_set_static_prior(struct model *m, double mean_w, double sd_w)
{
	bool ok = mean_w >= 0 && sd_w > 0 && isfinite(mean_w) && isfinite(sd_w);

	m->static_prior_w = ok ? mean_w : 0;
	m->static_prior_sd = ok ? sd_w : 0;
}

/*
 * The prior of a layer that has none, from the means of its samples so far: the dynamic part
 * w.mean(x) is what the static prior leaves of the mean power, give or take the static's
 * standard deviation; without one (or where it leaves nothing: not this part's power),
 * PRIOR_DYN_SHARE of the mean power, give or take PRIOR_DYN_SD of it. It is spread evenly
 * over the features that ran; with several features each one alone could also carry all of
 * it. No power or no feature: no prior (the evidence alone decides).
 */
static void generic_prior(const struct model *m, struct model_layer *l)
{
	double xm[BM_MODEL_MAX_FEATURES] = { 0 }, ym = 0, dyn, sd;
	int p = m->nfeat, nact = 0;

	memset(&l->prior, 0, sizeof(l->prior));
	l->prior.set = true;
	for (int i = 0; i < l->n; i++) {
		ym += l->y[i] / l->n;
		for (int j = 0; j < p; j++)
			xm[j] += l->x[i * p + j] / l->n;
	}
	for (int j = 0; j < p; j++)
		nact += xm[j] > 0;
	if (!(ym > 0) || !nact)
		return;
	dyn = PRIOR_DYN_SHARE * ym;
	sd = PRIOR_DYN_SD * ym;
	if (m->static_prior_sd > 0 && ym > m->static_prior_w) {
		dyn = ym - m->static_prior_w;
		sd = m->static_prior_sd;
	}
	for (int j = 0; j < p; j++) {
		if (!(xm[j] > 0))
			continue;
		l->prior.w[j] = dyn / (nact * xm[j]);
		for (int k = 0; k < p; k++)
			if (xm[k] > 0)
				l->prior.prec[j * p + k] = xm[j] * xm[k] / (sd * sd);
		if (nact > 1)
			l->prior.prec[j * p + j] += xm[j] * xm[j] / (dyn * dyn);
	}
}

/*
 * The weights from the evidence and the prior, w >= 0: the mean and covariance of
 * N(prior) x N(evidence / sigma2), on the features not held at 0 (an active set: a weight
 * that comes out negative is held at 0 and the rest solved again). With Jacobi scaling and
 * GSL's Cholesky. Returns false when nothing could be solved (the fit is left as it was).
 */
static bool solve_weights(const struct model *m, const struct model_layer *l,
			  const struct model_evidence *ev, double sigma2, double *w, double *cov)
{
	const struct model_prior *pr = &l->prior;
	int p = m->nfeat, active[BM_MODEL_MAX_FEATURES], nact = 0;
	/* At most 8 x 8: on the stack, no allocation per interval. */
	double abuf[BM_MODEL_MAX_COV], rbuf[BM_MODEL_MAX_FEATURES], zbuf[BM_MODEL_MAX_FEATURES];

	memset(w, 0, (size_t)p * sizeof(*w));
	memset(cov, 0, (size_t)(p * p) * sizeof(*cov));
	for (int j = 0; j < p; j++)
		if (ev->sxx[j * p + j] > 0 || pr->prec[j * p + j] > 0)
			active[nact++] = j;
	if (!nact || !(sigma2 > 0))
		return nact == 0;
	for (;;) {
		double sc[BM_MODEL_MAX_FEATURES];
		gsl_matrix_view av = gsl_matrix_view_array(abuf, (size_t)nact, (size_t)nact);
		gsl_vector_view rv = gsl_vector_view_array(rbuf, (size_t)nact);
		gsl_vector_view zv = gsl_vector_view_array(zbuf, (size_t)nact);
		int keep = 0;

		for (int u = 0; u < nact; u++) {
			int j = active[u];
			double rhs = ev->sxy[j] / sigma2;

			for (int k = 0; k < p; k++)
				rhs += pr->prec[j * p + k] * pr->w[k];
			for (int v = 0; v < nact; v++) {
				int k = active[v];
				double e = ev->sxx[j * p + k] / sigma2 + pr->prec[j * p + k];

				/* A touch of ridge for the conditioning alone: the prior
				 * regularises. */
				if (j == k)
					e += SLOW_RIDGE * ev->sxx[j * p + j] / sigma2;
				gsl_matrix_set(&av.matrix, (size_t)u, (size_t)v, e);
			}
			gsl_vector_set(&rv.vector, (size_t)u, rhs);
		}
		for (int u = 0; u < nact; u++)
			sc[u] = 1 / sqrt(gsl_matrix_get(&av.matrix, (size_t)u, (size_t)u));
		for (int u = 0; u < nact; u++) {
			gsl_vector_set(&rv.vector, (size_t)u,
				       gsl_vector_get(&rv.vector, (size_t)u) * sc[u]);
			for (int v = 0; v < nact; v++)
				gsl_matrix_set(&av.matrix, (size_t)u, (size_t)v,
					       gsl_matrix_get(&av.matrix, (size_t)u, (size_t)v) *
						       sc[u] * sc[v]);
		}
		if (gsl_linalg_cholesky_decomp1(&av.matrix) ||
		    gsl_linalg_cholesky_solve(&av.matrix, &rv.vector, &zv.vector))
			return false;
		for (int u = 0; u < nact; u++)
			if (gsl_vector_get(&zv.vector, (size_t)u) >= 0)
				keep++;
		if (keep == nact) {
			if (gsl_linalg_cholesky_invert(&av.matrix))
				return false;
			for (int u = 0; u < nact; u++) {
				w[active[u]] = gsl_vector_get(&zv.vector, (size_t)u) * sc[u];
				for (int v = 0; v < nact; v++)
					cov[active[u] * p + active[v]] =
						gsl_matrix_get(&av.matrix, (size_t)u, (size_t)v) *
						sc[u] * sc[v];
			}
			return true;
		}
		keep = 0;
		for (int u = 0; u < nact; u++)
			if (gsl_vector_get(&zv.vector, (size_t)u) >= 0)
				active[keep++] = active[u];
		nact = keep;
		if (!nact)
			return true;
	}
}

/* The evidence's residual sum of squares under weights w. */
static double evidence_rss(const struct model_evidence *ev, const double *w, int p)
{
	double rss = ev->syy - 2 * dot(w, ev->sxy, p) + quad(ev->sxx, w, p);

	return rss > 0 ? rss : 0;
}

/*
 * Weights from one evidence of the layer: solve with the variance of the residuals so far
 * (*sigma2), estimate it again from the evidence under the new weights (with two
 * pseudo-samples of the changes' own variance, an upper bound, so that a few changes do not
 * claim certainty), and solve once more with it. w, cov and *sigma2 are left as they were
 * when nothing could be solved.
 */
static bool evidence_weights(struct model *m, struct model_layer *l,
			     const struct model_evidence *ev, double *wout, double *covout,
			     double *sigma2out)
{
	int p = m->nfeat;
	double w[BM_MODEL_MAX_FEATURES], cov[BM_MODEL_MAX_COV];
	double s0 = ev->sw > 0 ? ev->syy / ev->sw : 0, sigma2 = *sigma2out;

	if (!l->prior.set)
		generic_prior(m, l);
	if (!(sigma2 > 0))
		sigma2 = s0 > 0 ? s0 : 1;
	for (int pass = 0; pass < 2; pass++) {
		int nact = 0;
		double dof;

		if (!solve_weights(m, l, ev, sigma2, w, cov))
			return false;
		for (int j = 0; j < p; j++)
			nact += w[j] > 0;
		dof = ev->sw - nact + 2;
		sigma2 = (evidence_rss(ev, w, p) + 2 * s0) / (dof > 1 ? dof : 1);
		if (!(sigma2 > 0))
			sigma2 = s0 > 0 ? s0 : 1e-12;
	}
	*sigma2out = sigma2;
	memcpy(wout, w, sizeof(w[0]) * (size_t)p);
	if (covout)
		memcpy(covout, cov, sizeof(cov[0]) * (size_t)(p * p));
	return true;
}

/*
 * Both weights of the layer: the split's from the changes against the running means, the
 * prediction's from the changes since the last sample. False when the split's could not be
 * solved.
 */
static bool fit_weights(struct model *m, struct model_layer *l)
{
	if (!evidence_weights(m, l, &l->ev, l->fit.coef, l->cov, &l->sigma2))
		return false;
	l->fit.nfeat = m->nfeat;
	if (!evidence_weights(m, l, &l->evd, l->wd, NULL, &l->sigma2d))
		memcpy(l->wd, l->fit.coef, sizeof(l->wd));
	return true;
}

/*
 * One change (dx, dy) into an evidence of the layer: the old forgotten a little, and the
 * change Huber-weighted by its residual under the weights w fitted to it so far (variance
 * sigma2).
 */
static void add_change(const struct model *m, const struct model_layer *l,
		       struct model_evidence *ev, const double *w, double sigma2, const double *dx,
		       double dy)
{
	double keep = m->cfg.horizon > 1 ? 1 - 1 / m->cfg.horizon : 0, h = 1;
	int p = m->nfeat;

	if (l->id && sigma2 > 0) {
		double r = fabs(dy - dot(w, dx, p)), lim = HUBER_K * sqrt(sigma2);

		if (r > lim)
			h = lim / r;
	}
	ev->sw = keep * ev->sw + h;
	ev->syy = keep * ev->syy + h * dy * dy;
	for (int j = 0; j < p; j++) {
		ev->sxy[j] = keep * ev->sxy[j] + h * dx[j] * dy;
		for (int k = 0; k < p; k++)
			ev->sxx[j * p + k] = keep * ev->sxx[j * p + k] + h * dx[j] * dx[k];
	}
	ev->n++;
}

void model_step(struct model *m, int layer_mhz, const double *x, double measured_w,
		struct model_step_result *res)
{
	struct model_layer *l = layer_get(m, layer_mhz);
	int w = m->cfg.window, ew = m->cfg.error_window, p = m->nfeat;
	double mean_err = 0, b;
	bool want_fit;

	memset(res, 0, sizeof(*res));
	if (l->id) {
		/*
		 * Two predictions: the level fit of the recent samples, and the static part of
		 * the last interval with the slow weights. Each weighs by a power of the inverse
		 * of its recent mean absolute error (after Bates and Granger's combination).
		 */
		double pl = model_predict(&l->local, x);
		double ps = l->static_w + dot(l->wd, x, p);
		double el = l->err_level, es = l->err_static;

		res->predicted = true;
		res->predicted_id = l->id;
		double wl = el > 0 ? pow(el, -PRED_ERR_POW) : 0,
		       ws = es > 0 ? pow(es, -PRED_ERR_POW) : 0;

		if (wl + ws > 0 && isfinite(wl + ws))
			res->predicted_w = (wl * pl + ws * ps) / (wl + ws);
		else /* none yet, or one without error: the better one */
			res->predicted_w = !l->have_err ? (pl + ps) / 2 : el <= es ? pl : ps;
		res->error_w = res->predicted_w - measured_w;
		l->err_level = l->have_err ? PRED_ERR_KEEP * el +
						     (1 - PRED_ERR_KEEP) * fabs(pl - measured_w)
					   : fabs(pl - measured_w);
		l->err_static = l->have_err ? PRED_ERR_KEEP * es +
						      (1 - PRED_ERR_KEEP) * fabs(ps - measured_w)
					    : fabs(ps - measured_w);
		l->have_err = true;
		/* The level fit's refits go by its own errors. */
		l->err[l->err_head] = fabs(pl - measured_w);
		l->err_head = (l->err_head + 1) % ew;
		if (l->nerr < ew)
			l->nerr++;
	}
	/* The change since the layer's last sample: the prediction's evidence. */
	if (l->n) {
		int last = (l->head + w - 1) % w;
		double dx[BM_MODEL_MAX_FEATURES] = { 0 };

		for (int j = 0; j < p; j++)
			dx[j] = x[j] - l->x[last * p + j];
		add_change(m, l, &l->evd, l->wd, l->sigma2d, dx, measured_w - l->y[last]);
	}
	memcpy(&l->x[l->head * p], x, (size_t)p * sizeof(double));
	l->y[l->head] = measured_w;
	l->head = (l->head + 1) % w;
	if (l->n < w)
		l->n++;

	/* The change from the layer's running means; then the means take the sample in. */
	if (l->nmean) {
		double dx[BM_MODEL_MAX_FEATURES] = { 0 };

		for (int j = 0; j < p; j++)
			dx[j] = x[j] - l->mean_x[j];
		add_change(m, l, &l->ev, l->fit.coef, l->sigma2, dx, measured_w - l->mean_y);
		res->changed = true;
		res->change_dy = measured_w - l->mean_y;
		memcpy(res->change_dx, dx, sizeof(dx));
	}
	if (l->nmean < BM_MODEL_FAST)
		l->nmean++;
	for (int j = 0; j < p; j++)
		l->mean_x[j] += (x[j] - l->mean_x[j]) / l->nmean;
	l->mean_y += (measured_w - l->mean_y) / l->nmean;

	/* The level fit, when there is none yet or its errors passed the threshold. */
	for (int i = 0; i < l->nerr; i++)
		mean_err += l->err[i] / l->nerr;
	want_fit = l->n >= m->cfg.min_samples &&
		   (!l->id || (l->nerr >= (ew < 2 ? ew : 2) && mean_err > m->cfg.error_threshold) ||
		    (res->predicted &&
		     l->err[(l->err_head + ew - 1) % ew] > ERROR_JUMP * m->cfg.error_threshold));
	if (want_fit)
		local_refit(m, l, res);

	/* The slow weights, and the static part they leave of this interval's measurement. */
	if (l->id && fit_weights(m, l)) {
		/*
		 * The next prediction starts from this measurement, under its own weights, as
		 * it is: a bound would add the weights' error.
		 */
		l->static_w = measured_w - dot(l->wd, x, p);
		b = measured_w - dot(l->fit.coef, x, p);
		if (b < 0 || b >= m->cfg.tdp)
			b = b < 0 ? 0 : nextafter(m->cfg.tdp, 0);
		l->fit.intercept = b;
	}
	res->layer = l;
}
