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
	double tdp; /* W: the intercept must stay in [0, tdp) */
	double ridge; /* Tikhonov strength on standardised features, first fit (1e-3) */
	double forget; /* a sample's weight in a refit decays by this per newer sample (1: none) */
	int forget_after; /* the newest samples that keep their full weight (default 2) */
	int robust_passes; /* reweighting passes against outliers, Huber (default 2; 0: none) */
	double prior; /* pull of the previous fit's weights on a refit (default 0.01; 0: none) */
	double anchor; /* weight of the previous intercept as a sample at x = 0 (default 1) */
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

/* History and fit of one frequency layer. */
struct model_layer {
	int layer_mhz; /* -1: frequency unknown, one layer */
	double *x, *y; /* rings of config.window samples */
	int n, head;
	double *err; /* ring of config.error_window absolute errors */
	int nerr, err_head;
	struct model_fit fit;
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
};

void model_init(struct model *m, const struct model_config *cfg, int nfeat, unsigned int *next_id);
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
