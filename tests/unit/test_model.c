// SPDX-License-Identifier: BSD-2-Clause
/*
 * The power model: coefficients recovered from synthetic data, non-negative weights, when it
 * refits, the bounds on its intercept, frequency layers, and a split that conserves energy.
 */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "report.h"
#include "unit.h"

#define N_FIT 60

/* Samples of P = b + w.x (+ noise of noise_rel x P), features of different scales. */
static void synth(gsl_rng *rng, int n, int p, double b, const double *w, double noise_rel,
		  double *x, double *y)
{
	for (int i = 0; i < n; i++) {
		double clean = b;

		for (int j = 0; j < p; j++) {
			/* Rates from 1 to 1e9 per second, as counters and CPU time are. */
			double scale = pow(10, j + 1);

			x[i * p + j] = scale * gsl_rng_uniform(rng);
			clean += w[j] * x[i * p + j];
		}
		y[i] = clean + (noise_rel > 0 ? gsl_ran_gaussian(rng, noise_rel * clean) : 0);
	}
}

/* Weights giving each feature 20..34 W of swing, whatever its scale. */
static void weights(int p, double *w)
{
	for (int j = 0; j < p; j++)
		w[j] = (20.0 + 2 * j) / pow(10, j + 1);
}

static bool within(double got, double want, double rel)
{
	return fabs(got - want) <= rel * fabs(want);
}

static void test_recovers_coefficients_noiseless(void)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	double x[N_FIT * BM_MODEL_MAX_FEATURES], y[N_FIT], w[BM_MODEL_MAX_FEATURES];
	struct model_fit fit;

	gsl_rng_set(rng, 1);
	for (int p = 1; p <= BM_MODEL_MAX_FEATURES; p++) {
		weights(p, w);
		synth(rng, N_FIT, p, 20.0, w, 0, x, y);
		CHECK(model_fit(x, y, N_FIT, p, model_config_default.ridge, &fit) == 0);
		CHECK(within(fit.intercept, 20.0, 0.02));
		for (int j = 0; j < p; j++) {
			if (!within(fit.coef[j], w[j], 0.02))
				printf("    %d features: coef %d = %g, want %g\n", p, j,
				       fit.coef[j], w[j]);
			CHECK(within(fit.coef[j], w[j], 0.02));
		}
	}
	gsl_rng_free(rng);
}

static void test_recovers_coefficients_with_noise(void)
{
	enum {
		N = 4000
	};
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	double *x = malloc(sizeof(double) * N * BM_MODEL_MAX_FEATURES),
	       *y = malloc(sizeof(double) * N);
	double w[BM_MODEL_MAX_FEATURES];
	struct model_fit fit;

	gsl_rng_set(rng, 2);
	for (int p = 1; p <= BM_MODEL_MAX_FEATURES; p++) {
		weights(p, w);
		synth(rng, N, p, 20.0, w, 0.05, x, y);
		CHECK(model_fit(x, y, N, p, model_config_default.ridge, &fit) == 0);
		for (int j = 0; j < p; j++) {
			if (!within(fit.coef[j], w[j], 0.05))
				printf("    %d features, 5%% noise: coef %d = %g, want %g\n", p, j,
				       fit.coef[j], w[j]);
			CHECK(within(fit.coef[j], w[j], 0.05));
		}
	}
	free(x);
	free(y);
	gsl_rng_free(rng);
}

static void test_collinear_and_negative_stay_non_negative(void)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	double x[N_FIT * 3], y[N_FIT];
	struct model_fit fit;

	gsl_rng_set(rng, 3);
	for (int i = 0; i < N_FIT; i++) {
		double a = gsl_rng_uniform(rng) * 4;

		/* x1 = 2 x0 exactly, x2 = x0 + a little: nothing tells their weights apart. */
		x[i * 3] = a;
		x[i * 3 + 1] = 2 * a;
		x[i * 3 + 2] = a + 1e-3 * gsl_rng_uniform(rng);
		y[i] = 10 + 6 * a;
	}
	CHECK(model_fit(x, y, N_FIT, 3, model_config_default.ridge, &fit) == 0);
	for (int j = 0; j < 3; j++)
		CHECK(fit.coef[j] >= 0);
	CHECK(within(model_predict(&fit, &x[0]), y[0], 0.01));

	/* A truly negative weight is clamped to zero, never negative. */
	for (int i = 0; i < N_FIT; i++) {
		x[i * 2] = gsl_rng_uniform(rng);
		x[i * 2 + 1] = gsl_rng_uniform(rng);
		y[i] = 10 + 5 * x[i * 2] - 3 * x[i * 2 + 1];
	}
	CHECK(model_fit(x, y, N_FIT, 2, model_config_default.ridge, &fit) == 0);
	CHECK(fit.coef[0] > 0);
	CHECK(fit.coef[1] == 0);
	gsl_rng_free(rng);
}

static void test_refits_only_when_error_passes_threshold(void)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct model_config cfg = model_config_default;
	struct model_step_result res;
	unsigned int next_id = 0, first_id = 0;
	int refits = 0, refit_at = -1;
	struct model m;

	gsl_rng_set(rng, 4);
	model_init(&m, &cfg, 1, &next_id);
	for (int i = 0; i < 100; i++) {
		double x = 0.2 + 1.6 * gsl_rng_uniform(rng);
		/* 15 W + 10 W per busy CPU, then 25 W per busy CPU from interval 60 on. */
		double p = 15 + (i < 60 ? 10 : 25) * x + gsl_ran_gaussian(rng, 0.3);

		model_step(&m, -1, &x, p, &res);
		if (i == 9)
			first_id = res.layer->id;
		if (res.refitted && i >= 10) {
			refits++;
			if (refit_at < 0)
				refit_at = i;
		}
	}
	/* The first fit comes with the tenth sample. */
	CHECK(first_id == 1);
	/* Under the threshold no refit; after the change, one within 10 intervals. */
	CHECK(refit_at >= 60 && refit_at < 70);
	CHECK(refits >= 1);
	model_free(&m);
	gsl_rng_free(rng);
}

/*
 * Under a steady load from the start the data barely tells the CPU weight from the static
 * power: the static part the split uses may be off, but its standard error must say by how
 * much (the truth within two of them nearly always), and shrink as the evidence grows.
 */
static void test_steady_load_static_part_within_its_stderr(void)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct model_config cfg = model_config_default;
	struct model_step_result res;
	unsigned int next_id = 0;
	int judged = 0, covered = 0;
	double se_early = 0, se_late = 0;
	struct model m;

	gsl_rng_set(rng, 5);
	model_init(&m, &cfg, 1, &next_id);
	for (int i = 0; i < 1200; i++) {
		/* 1.2 CPUs with a little jitter, 15 W + 10 W per CPU, 0.1 W of noise. */
		double x = 1.2 + gsl_ran_gaussian(rng, 0.014);
		double p = 15 + 10 * x + gsl_ran_gaussian(rng, 0.1), se;

		model_step(&m, -1, &x, p, &res);
		if (!res.layer->id)
			continue;
		se = model_dyn_stderr(res.layer, &x);
		judged++;
		covered += fabs(res.layer->fit.intercept - 15) <= 2 * se + 0.2;
		if (i == 15)
			se_early = se;
		se_late = se;
	}
	if (covered < 0.9 * judged || !(se_late < se_early / 4))
		printf("    truth within 2 se in %d of %d; se %.3f W at 15, %.3f W at the end\n",
		       covered, judged, se_early, se_late);
	CHECK(judged > 1000);
	CHECK(covered >= 0.9 * judged);
	CHECK(se_late < se_early / 4);
	/* An hour's worth later the split is close: within 1 W of 15 W. */
	CHECK(fabs(res.layer->fit.intercept - 15) < 1);
	model_free(&m);
	gsl_rng_free(rng);
}

/*
 * Before the changes tell, the static part leans on the static prior where there is one (the
 * CPU table's idle power), not on the generic half-and-half: a steady load of 1.2 CPUs at
 * 15 W + 10 W per CPU, a prior of 15 +- 3 W, then one of 30 W (more than the power: not this
 * part's, the generic prior then).
 */
static void test_static_prior_leads_until_the_changes_tell(void)
{
	struct model_config cfg = model_config_default;
	const double priors[][2] = { { 0, 0 }, { 15, 3 }, { 30, 3 } };
	double early[3], se[3];

	for (int k = 0; k < 3; k++) {
		gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
		struct model_step_result res;
		unsigned int next_id = 0;
		struct model m;

		gsl_rng_set(rng, 9);
		model_init(&m, &cfg, 1, &next_id);
		model_set_static_prior(&m, priors[k][0], priors[k][1]);
		for (int i = 0; i < 20; i++) {
			double x = 1.2 + gsl_ran_gaussian(rng, 0.014);
			double p = 15 + 10 * x + gsl_ran_gaussian(rng, 0.1);

			model_step(&m, -1, &x, p, &res);
			early[k] = res.layer->fit.intercept;
			se[k] = model_dyn_stderr(res.layer, &x);
		}
		CHECK(res.layer->id != 0);
		model_free(&m);
		gsl_rng_free(rng);
	}
	if (!(fabs(early[1] - 15) < se[1]) || !(fabs(early[1] - 15) < fabs(early[0] - 15)))
		printf("    static after 20 steady samples: generic %.2f +- %.2f W, prior 15 +- 3: "
		       "%.2f +- %.2f W, prior 30: %.2f W\n",
		       early[0], se[0], early[1], se[1], early[2]);
	/* The generic prior puts about half of 27 W in the static part. */
	CHECK(fabs(early[0] - 13.5) < 1);
	/* The table's is closer to the truth, and the truth within one of its standard errors. */
	CHECK(fabs(early[1] - 15) < fabs(early[0] - 15));
	CHECK(fabs(early[1] - 15) < se[1]);
	/* Its uncertainty is the prior's, less what the few changes told. */
	CHECK(se[1] > 1 && se[1] <= 3);
	CHECK(se[1] < se[0]);
	/* A prior above the power itself is not this part's: the generic one. */
	CHECK(fabs(early[2] - early[0]) < 1e-9);
	/* Bad figures are no prior. */
	{
		struct model m;
		unsigned int next_id = 0;

		model_init(&m, &cfg, 1, &next_id);
		model_set_static_prior(&m, NAN, 3);
		CHECK(m.static_prior_sd == 0);
		model_set_static_prior(&m, 10, -1);
		CHECK(m.static_prior_sd == 0);
		model_free(&m);
	}
}

/*
 * The Huber passes scale residuals by their median over the whole window, not over its oldest
 * part. A steady load: 300 samples of 100 W, then 600 of 101 W and 100 of 94 W, so the mean
 * stays 100 W. A robust refit leans to the 101 W majority; with the scale taken from the
 * oldest samples alone (all exactly on the mean: scale 0) nothing would be reweighted and
 * the refit would stay on the mean.
 */
static void test_robust_scale_covers_the_whole_window(void)
{
	struct model_config cfg = model_config_default;
	struct model_step_result res;
	unsigned int next_id = 0;
	double x = 1;
	struct model m;

	cfg.window = 1000;
	cfg.forget = 1;
	cfg.anchor = 0;
	cfg.prior = 0;
	/* 1 W off stays under it; 6 W off passes four times it and refits at once. */
	cfg.error_threshold = 1.2;
	model_init(&m, &cfg, 1, &next_id);
	for (int i = 0; i < 1000; i++)
		model_step(&m, -1, &x, i < 300 ? 100 : i < 900 ? 101 : 94, &res);
	CHECK(res.refitted);
	CHECK(res.layer->n == 1000);
	if (!(res.layer->local.intercept > 100.2 && res.layer->local.intercept < 101))
		printf("    intercept %.4f W, want 100.2..101\n", res.layer->local.intercept);
	CHECK(res.layer->local.intercept > 100.2 && res.layer->local.intercept < 101);
	model_free(&m);
}

static void test_intercept_out_of_bounds_rejected(void)
{
	struct model_config cfg = model_config_default;
	struct model_step_result res;
	unsigned int next_id = 0;
	struct model m;
	bool rejected = false;

	/* P = -5 W + 10 W per CPU: a negative static power is no model of a machine. */
	model_init(&m, &cfg, 1, &next_id);
	for (int i = 0; i < 12; i++) {
		double x = 1 + i % 4;

		model_step(&m, -1, &x, -5 + 10 * x, &res);
		rejected |= res.rejected;
	}
	CHECK(rejected);
	CHECK(res.layer->id == 0);
	CHECK(next_id == 0);
	model_free(&m);

	/* Above the TDP: rejected too. */
	cfg.tdp = 50;
	model_init(&m, &cfg, 1, &next_id);
	for (int i = 0; i < 12; i++) {
		double x = 1 + i % 4;

		model_step(&m, -1, &x, 80 + 1 * x, &res);
	}
	CHECK(res.layer->id == 0);
	model_free(&m);
}

static void test_layers_learn_separately(void)
{
	struct model_config cfg = model_config_default;
	struct model_step_result res;
	unsigned int next_id = 0;
	struct model m;

	CHECK(model_layer_of(2399.9) == 2300);
	CHECK(model_layer_of(2400) == 2400);
	CHECK(model_layer_of(0) == -1);
	model_init(&m, &cfg, 1, &next_id);
	/* 20 samples a layer: the first fit at 10, and 10 more changes of evidence. */
	for (int i = 0; i < 40; i++) {
		double x = 1 + i % 5;

		/* Alternating layers: 2.4 GHz draws more per CPU than 1.2 GHz. */
		model_step(&m, i % 2 ? 2400 : 1200, &x, i % 2 ? 20 + 12 * x : 10 + 4 * x, &res);
	}
	CHECK(m.nlayers == 2);
	CHECK(m.layers[0].id && m.layers[1].id && m.layers[0].id != m.layers[1].id);
	CHECK(within(m.layers[0].fit.coef[0], 4, 0.02));
	CHECK(within(m.layers[1].fit.coef[0], 12, 0.02));
	model_free(&m);
}

/*
 * Each target's own intensity: two cgroups drawing 8 and 14 W per CPU-second under loads that
 * step independently, seven small ones at 10 W steady, CPU time the only feature. The panel
 * (the first BM_PANEL to run) learns each one's own, the split follows it and conserves, the
 * truth is within two standard errors; the ninth, outside the panel, keeps the prior's
 * uncertainty; a target gone for long enough leaves its slot, and a new one six times the
 * smallest takes that one's.
 */
static void test_own_intensities_are_learnt_and_conserved(void)
{
	const struct bm_features f = { .nfeat = 1, .idx = { BM_FEATURE_CPU }, .name = { "cpu" } };
	const double watts[9] = { 8, 14, 10, 10, 10, 10, 10, 10, 10 };
	static const double la[] = { 0.2, 0.9, 0.5, 0.05 }, lb[] = { 0.7, 0.3, 0.1, 0.8 };
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	struct model_config cfg = model_config_default;
	struct bm_target idle = { .id = BM_KEY_IDLE, .kind = BM_TARGET_IDLE, .name = "idle" };
	struct bm_target t[10];
	struct bm_row rows[11];
	struct bm_panel pn;
	struct model m;
	unsigned int next_id = 0;
	int judged = 0, covered = 0, worst_conserved = 0;
	double worst_a = 0, worst_b = 0, outside_err = 0, outside_w = 0;
	bool b_left = true, new_in = false;

	gsl_rng_set(rng, 3);
	memset(&pn, 0, sizeof(pn));
	model_init(&m, &cfg, 1, &next_id);
	for (int i = 0; i < 10; i++)
		t[i] = (struct bm_target){ .id = 200 + (uint64_t)i,
					   .kind = BM_TARGET_CGROUP,
					   .name = "/t" };
	for (int k = 0; k < 2500; k++) {
		double cpu[10], total = 0, p = 15, x;
		struct model_step_result res;
		size_t n = 0;
		/* From 2400 on b is gone; from 2440 a new target (t[9]) runs, six small ones'
		 * worth. */
		bool with_b = k < 2400, with_new = k >= 2440;

		cpu[0] = la[(k / 37) % 4] + gsl_ran_gaussian(rng, 0.01);
		cpu[1] = lb[(k / 53) % 4] + gsl_ran_gaussian(rng, 0.01);
		for (int i = 2; i < 9; i++)
			cpu[i] = 0.05 + gsl_ran_gaussian(rng, 0.002);
		cpu[9] = 0.3;
		rows[n++] = (struct bm_row){ .target = &idle, .s = { .cpu_ns = 500000000 } };
		for (int i = 0; i < 10; i++) {
			if ((i == 1 && !with_b) || (i == 9 && !with_new))
				continue;
			rows[n++] = (struct bm_row){ .target = &t[i],
						     .s = { .cpu_ns = (uint64_t)(cpu[i] * 1e9) } };
			total += (double)rows[n - 1].s.cpu_ns / 1e9;
			p += (i < 9 ? watts[i] : 10) * (double)rows[n - 1].s.cpu_ns / 1e9;
		}
		p += gsl_ran_gaussian(rng, 0.05);
		x = total;
		model_step(&m, -1, &x, p, &res);
		report_intensity_update(&pn, rows, n, 0, BM_DOMAIN_PACKAGE, 1.0, &res.layer->fit,
					&f, &res, 1 - 1 / cfg.horizon);
		if (!res.layer->id)
			continue;
		report_split_by_model(rows, n, 0, BM_DOMAIN_PACKAGE, p, 1.0, &res.layer->fit,
				      res.layer->cov, res.layer->sigma2, &f, false, res.layer->id);
		{
			double sum = 0;

			for (size_t i = 0; i < n; i++)
				sum += rows[i].s.energy_j[0];
			worst_conserved += fabs(sum - p) > 1e-9 * p;
		}
		if (k >= 1500 && k < 2400) {
			/* rows[1] is a, rows[2] b, rows[10] the ninth (outside the panel). */
			double ta = 8 * (double)rows[1].s.cpu_ns / 1e9;
			double tb = 14 * (double)rows[2].s.cpu_ns / 1e9;
			double ea = fabs(rows[1].s.energy_j[0] - ta) / ta;
			double eb = fabs(rows[2].s.energy_j[0] - tb) / tb;

			worst_a = fmax(worst_a, ea);
			worst_b = fmax(worst_b, eb);
			judged += 2;
			covered += fabs(rows[1].s.energy_j[0] - ta) <= 2 * rows[1].power_err_w[0];
			covered += fabs(rows[2].s.energy_j[0] - tb) <= 2 * rows[2].power_err_w[0];
			outside_err = rows[9].power_err_w[0];
			outside_w = 10 * (double)rows[9].s.cpu_ns / 1e9;
		}
		if (k == 2499) {
			for (int s = 0; s < BM_PANEL; s++) {
				b_left &= !(pn.slot[s].used && pn.slot[s].id == t[1].id);
				new_in |= pn.slot[s].used && pn.slot[s].id == t[9].id;
			}
		}
	}
	if (worst_a > 0.03 || worst_b > 0.03 || covered < 0.9 * judged)
		printf("    worst error a %.1f%%, b %.1f%%; truth within 2 se %d of %d\n",
		       100 * worst_a, 100 * worst_b, covered, judged);
	CHECK(worst_conserved == 0);
	CHECK(judged > 1000);
	CHECK(worst_a < 0.03 && worst_b < 0.03);
	CHECK(covered >= 0.9 * judged);
	/* The ninth: no evidence of its own, the prior's 30 % of its w.x in its error. */
	CHECK(outside_err >= 0.9 * BM_INTENSITY_SD * outside_w);
	CHECK(b_left);
	CHECK(new_in);
	model_free(&m);
	gsl_rng_free(rng);
}

static void test_split_by_model_conserves(void)
{
	const struct bm_features f = { .nfeat = 1, .idx = { BM_FEATURE_CPU }, .name = { "cpu" } };
	const struct model_fit fit = { .intercept = 15, .coef = { 10 }, .nfeat = 1 };
	struct bm_target idle = { .id = BM_KEY_IDLE, .kind = BM_TARGET_IDLE, .name = "idle" };
	struct bm_target a = { .id = 100, .kind = BM_TARGET_CGROUP, .name = "/a" };
	struct bm_target b = { .id = 101, .kind = BM_TARGET_CGROUP, .name = "/b" };
	struct bm_row rows[4] = {
		{ .target = &idle, .socket = 0, .s = { .cpu_ns = 1000000000 } },
		{ .target = &a, .socket = 0, .s = { .cpu_ns = 600000000 } },
		{ .target = &b, .socket = 0, .s = { .cpu_ns = 400000000 } },
		{ .target = &a, .socket = 1, .s = { .cpu_ns = 500000000 } },
	};
	double sum;

	/* 1 s: 15 J static + 10 J for one busy CPU-second, measured 26 J. */
	report_split_by_model(rows, 4, 0, BM_DOMAIN_PACKAGE, 26.0, 1.0, &fit, NULL, 0, &f, false,
			      7);
	CHECK(fabs(rows[0].s.energy_j[0] - 15.0) < 1e-9);
	CHECK(fabs(rows[1].s.energy_j[0] - 6.6) < 1e-9);
	CHECK(fabs(rows[2].s.energy_j[0] - 4.4) < 1e-9);
	CHECK(rows[3].s.energy_j[0] == 0 && rows[1].model_id[0] == 7);
	/* Measured below the static part: idle takes it all, targets none; still conserved. */
	report_split_by_model(rows, 4, 0, BM_DOMAIN_PACKAGE, 9.0, 1.0, &fit, NULL, 0, &f, false, 7);
	sum = rows[0].s.energy_j[0] + rows[1].s.energy_j[0] + rows[2].s.energy_j[0];
	CHECK(fabs(sum - 9.0) < 1e-9 && rows[1].s.energy_j[0] == 0);
	/* --idle=share: the static part follows CPU time, idle keeps nothing. */
	report_split_by_model(rows, 4, 0, BM_DOMAIN_PACKAGE, 26.0, 1.0, &fit, NULL, 0, &f, true, 7);
	sum = rows[0].s.energy_j[0] + rows[1].s.energy_j[0] + rows[2].s.energy_j[0];
	CHECK(fabs(sum - 26.0) < 1e-9);
	CHECK(rows[0].s.energy_j[0] == 0);
	CHECK(fabs(rows[1].s.energy_j[0] - (6.6 + 9.0)) < 1e-9);
	/* No idle row on the socket (never idle): the static part is spread, nothing lost. */
	report_split_by_model(rows + 1, 2, 0, BM_DOMAIN_PACKAGE, 26.0, 1.0, &fit, NULL, 0, &f,
			      false, 7);
	CHECK(fabs(rows[1].s.energy_j[0] + rows[2].s.energy_j[0] - 26.0) < 1e-9);
}

const struct unit_test model_tests[] = {
	{ "model/recovers_coefficients_noiseless_1_to_8_features",
	  test_recovers_coefficients_noiseless },
	{ "model/recovers_coefficients_with_5pct_noise_1_to_8_features",
	  test_recovers_coefficients_with_noise },
	{ "model/collinear_and_negative_stay_non_negative",
	  test_collinear_and_negative_stay_non_negative },
	{ "model/refits_only_when_error_passes_threshold",
	  test_refits_only_when_error_passes_threshold },
	{ "model/steady_load_static_part_within_its_stderr",
	  test_steady_load_static_part_within_its_stderr },
	{ "model/static_prior_leads_until_the_changes_tell",
	  test_static_prior_leads_until_the_changes_tell },
	{ "model/robust_scale_covers_the_whole_window", test_robust_scale_covers_the_whole_window },
	{ "model/intercept_out_of_bounds_rejected", test_intercept_out_of_bounds_rejected },
	{ "model/layers_learn_separately", test_layers_learn_separately },
	{ "model/split_by_model_conserves", test_split_by_model_conserves },
	{ "model/own_intensities_are_learnt_and_conserved",
	  test_own_intensities_are_learnt_and_conserved },
	{ NULL, NULL },
};
