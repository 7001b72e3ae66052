/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_MODEL_H
#define BM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most features a model takes: the counters, or on-CPU time alone. */
#define BM_MODEL_MAX_FEATURES 8

struct model_config {
	int window; /* samples of history per layer (default 60) */
	int min_samples; /* before the first fit (default 10) */
	int error_window; /* the newest errors since the fit whose mean decides a refit (5) */
	double error_threshold; /* W: refit above this mean absolute error (default 0.5) */
	double tdp; /* W: the static part must stay in [0, tdp) */
	double ridge; /* Tikhonov strength on standardised features (1e-3) */
	double forget; /* a sample's weight in a level refit decays by this per newer one (0.75) */
	int forget_after; /* the newest samples that keep their full weight (default 2) */
	int robust_passes; /* reweighting passes against outliers, Huber (default 2; 0: none) */
	double prior; /* pull of the previous level fit's weights on a refit (default 0.01) */
	double anchor; /* weight of the previous intercept as a sample at x = 0 (default 1) */
	double horizon; /* samples: the weights' evidence forgets by 1 - 1/horizon each (3600) */
};

extern const struct model_config model_config_default;

/* A fitted model: P = intercept + sum(coef[i] * x[i]), every coef >= 0. */
struct model_fit {
	double intercept;
	double coef[BM_MODEL_MAX_FEATURES];
	int nfeat;
};

/*
 * Fit P = b + w.x to n samples (x row-major, n x nfeat) by ridge regression on standardised
 * features with non-negative weights: an active-set loop drops the features whose weight
 * comes out negative and solves again. Returns 0, or -EINVAL when it cannot fit.
 */
int model_fit(const double *x, const double *y, int n, int nfeat, double ridge,
	      struct model_fit *out);
/* The same with a weight per sample (wt NULL: all 1): weighted least squares. */
int model_fit_weighted(const double *x, const double *y, const double *wt, int n, int nfeat,
		       double ridge, struct model_fit *out);
double model_predict(const struct model_fit *m, const double *x);

#define BM_MODEL_MAX_COV (BM_MODEL_MAX_FEATURES * BM_MODEL_MAX_FEATURES)

/*
 * The fast time scale, in samples: a sample's change is its departure from the running
 * means of about this many before it.
 */
#define BM_MODEL_FAST 30

/*
 * The evidence of one layer's weights: sums over each sample's change (dx, dy) from the
 * running means of the ones before it, each weighted (Huber) and forgotten by 1 - 1/horizon
 * per newer one. The static power barely moves within BM_MODEL_FAST samples beside the
 * changes of load that move the power, so the weights are learnt from all the evidence the
 * load gives however the static part drifts (temperature, uncore, devices); and a change of
 * load stays in the changes for as long, against the noise of one interval's readings.
 */
struct model_evidence {
	double sw, syy; /* sum of weights; of w dy^2 */
	double sxy[BM_MODEL_MAX_FEATURES]; /* of w dx dy */
	double sxx[BM_MODEL_MAX_COV]; /* of w dx dx' */
	int n; /* changes seen */
};

/*
 * What the layer knew before its evidence: a mean of the weights and its precision (the
 * inverse of its covariance). From the state of an earlier session, or else one that only
 * says "about half of the power is dynamic", with an uncertainty to match.
 */
struct model_prior {
	bool set;
	double w[BM_MODEL_MAX_FEATURES];
	double prec[BM_MODEL_MAX_COV];
};

/* History and fit of one frequency layer. */
struct model_layer {
	int layer_mhz; /* -1: frequency unknown, one layer */
	double *x, *y; /* rings of config.window samples */
	int n, head;
	double *err; /* ring of config.error_window absolute errors */
	int nerr, err_head;
	/*
	 * The split's model: intercept, the static part of the newest interval; coef, the slow
	 * weights. local: the level fit of the recent samples, for the prediction alone.
	 */
	struct model_fit fit, local;
	double cov[BM_MODEL_MAX_COV]; /* the weights' covariance (W per unit of feature)^2 */
	double sigma2; /* variance of a change's residual, W^2 */
	struct model_evidence ev;
	struct model_prior prior;
	/*
	 * The prediction's weights: from the changes since the layer's last sample alone (evd),
	 * with the same prior. The noise of one interval's features (steal, the readings'
	 * timing) attenuates them: the wrong weights to split with, and the right ones to
	 * predict the next interval from the last measurement with.
	 */
	struct model_evidence evd;
	double wd[BM_MODEL_MAX_FEATURES], sigma2d;
	/*
	 * The running means of the layer's samples (over about BM_MODEL_FAST samples, all
	 * of them while fewer), whence each new sample's change; the static part of the last
	 * sample under the prediction's weights (measured - wd.x), to predict the next one with.
	 */
	int nmean;
	double mean_x[BM_MODEL_MAX_FEATURES], mean_y, static_w;
	/* Recent mean absolute errors of the two predictions (level fit, static + weights). */
	bool have_err;
	double err_level, err_static;
	unsigned int id; /* 0: not fitted yet */
	unsigned int fits, rejected;
};

/* The model of one socket and domain: one layer per 100 MHz of frequency. */
struct model {
	struct model_config cfg;
	int nfeat;
	struct model_layer *layers;
	int nlayers;
	unsigned int *next_id; /* shared by all models: each accepted fit gets the next id */
	/*
	 * What is known of the static power before any evidence (the CPU table's idle power
	 * of the part), W, and its standard deviation; sd 0: nothing, the generic prior.
	 */
	double static_prior_w, static_prior_sd;
};

/* What model_step did with one interval. */
struct model_step_result {
	const struct model_layer *layer; /* the layer of this interval, after the update */
	bool predicted; /* a fitted model existed before this interval */
	double predicted_w; /* its prediction for this interval (out of sample) */
	double error_w; /* predicted - measured */
	unsigned int predicted_id; /* the id of the model that predicted */
	bool refitted; /* a fit was accepted this interval */
	bool rejected; /* a fit was tried and rejected (intercept out of bounds) */
	/*
	 * This interval's change from the layer's running means:
	 * of the power, W, and of the features; for what each target's own intensity explains
	 * of it. changed false: the layer's first interval.
	 */
	bool changed;
	double change_dy;
	double change_dx[BM_MODEL_MAX_FEATURES];
};

/* One standard error (W) of the dynamic power w.x of features x under the layer's fit. */
double model_dyn_stderr(const struct model_layer *l, const double *x);

void model_init(struct model *m, const struct model_config *cfg, int nfeat, unsigned int *next_id);
/*
 * The static power's prior, for the layers that have none yet (from an earlier session's
 * state they have their own): about mean_w W, give or take sd_w.
 */
void model_set_static_prior(struct model *m, double mean_w, double sd_w);
void model_free(struct model *m);
/*
 * One interval: the features x (per-second rates) and the measured power in layer_mhz.
 * Predicts with the layer's model, records the error, adds the sample to the history, and
 * fits when there is no model yet, when the mean error since the fit (over two intervals at
 * least) passed the threshold, or at once when the newest error passed four times it.
 */
void model_step(struct model *m, int layer_mhz, const double *x, double measured_w,
		struct model_step_result *res);

/*
 * A layer as it was (the model state of an earlier session): from's fit and id, and its rings
 * of samples and errors in their own order, with their heads (where the next one goes), so
 * that the layer goes on exactly as it would have. Returns 0, -EEXIST when m has that layer
 * already, or -EINVAL when from is not a layer m could have made (sizes, heads, a fit without
 * an id or out of bounds, numbers that are not finite); m is unchanged then.
 */
int model_restore_layer(struct model *m, const struct model_layer *from);

/* The 100 MHz layer of a frequency in MHz (-1 when unknown). */
int model_layer_of(double mhz);

#endif
