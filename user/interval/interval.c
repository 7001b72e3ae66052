// SPDX-License-Identifier: BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "interval.h"
#include "util.h"

void interval_init(struct interval *iv, const struct interval_config *cfg)
{
	int n = cfg->nr_sockets * BM_NR_DOMAINS;

	memset(iv, 0, sizeof(*iv));
	iv->cfg = *cfg;
	if (cfg->estimate)
		iv->estimated = bm_calloc((size_t)cfg->nr_sockets, sizeof(*iv->estimated));
	if (!cfg->have_energy)
		return;
	iv->models = bm_calloc((size_t)n, sizeof(*iv->models));
	iv->panels = bm_calloc((size_t)n, sizeof(*iv->panels));
	for (int i = 0; i < n; i++) {
		model_init(&iv->models[i], &cfg->model, cfg->features.nfeat, &iv->next_model_id);
		if (i % BM_NR_DOMAINS == BM_DOMAIN_PACKAGE)
			model_set_static_prior(&iv->models[i], cfg->static_prior_w,
					       cfg->static_prior_sd);
	}
	iv->records = bm_calloc((size_t)n, sizeof(*iv->records));
}

void interval_free(struct interval *iv)
{
	for (int i = 0; iv->models && i < iv->cfg.nr_sockets * BM_NR_DOMAINS; i++)
		model_free(&iv->models[i]);
	free(iv->models);
	free(iv->panels);
	free(iv->records);
	free(iv->estimated);
	free(iv->rows);
	free(iv->sort.keys);
	memset(iv, 0, sizeof(*iv));
}

static struct bm_row *push_row(struct bm_row **rows, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*rows = bm_realloc_array(*rows, *cap, sizeof(**rows));
	}
	return &(*rows)[(*n)++];
}

size_t interval_gather(const struct account *a, const struct targets *ts, int nr_sockets,
		       struct bm_row **rows, size_t *cap)
{
	size_t n = 0, pos = 0;

	/* Both by id, in ascending order: the targets are found walking along. */
	for (size_t i = 0; i < a->targets.n; i++) {
		const struct account_target *t = idvec_at(&a->targets, i);
		struct bm_target *target;

		if (!t->active)
			continue;
		target = targets_find_next(ts, t->id, &pos);
		for (int k = 0; target && k < nr_sockets; k++) {
			bool any = t->cur[k].cpu_ns;

			for (int e = 0; e < a->nr_events; e++)
				any |= t->cur[k].ev[e] != 0;
			if (any)
				*push_row(rows, &n, cap) = (struct bm_row){ .target = target,
									    .socket = k,
									    .s = t->cur[k] };
		}
	}
	return n;
}

int interval_socket_inputs(const struct interval_config *cfg, const struct bm_row *rows, size_t n,
			   int socket, double dt, double *x)
{
	const struct bm_features *f = &cfg->features;
	uint64_t cyc = 0, ref = 0;

	memset(x, 0, BM_MODEL_MAX_FEATURES * sizeof(*x));
	for (size_t i = 0; i < n; i++) {
		const struct bm_row *r = &rows[i];
		double xt[BM_MODEL_MAX_FEATURES];

		if (r->socket != socket || r->target->kind == BM_TARGET_IDLE ||
		    r->target->kind == BM_TARGET_STEAL)
			continue;
		report_features(f, &r->s, dt, xt);
		for (int j = 0; j < f->nfeat; j++)
			x[j] += xt[j];
		if (cfg->cycles_idx >= 0 && cfg->ref_cycles_idx >= 0) {
			cyc += r->s.ev[cfg->cycles_idx];
			ref += r->s.ev[cfg->ref_cycles_idx];
		}
	}
	/* cycles / ref-cycles is the frequency relative to base while the CPUs ran. */
	return ref && cfg->base_mhz > 0 ? model_layer_of((double)cyc / (double)ref * cfg->base_mhz)
					: -1;
}

int interval_estimate(const struct interval_config *cfg, const struct bm_row *rows, size_t n,
		      const int *socket_cpus, double dt, struct energy_reading *out)
{
	int nout = 0;

	for (int k = 0; k < cfg->nr_sockets; k++) {
		int cpus = socket_cpus ? socket_cpus[k] : 0;
		uint64_t busy = 0;
		double u;

		if (cpus <= 0 || !(dt > 0))
			continue;
		for (size_t i = 0; i < n; i++)
			if (rows[i].socket == k && rows[i].target->kind != BM_TARGET_IDLE &&
			    rows[i].target->kind != BM_TARGET_STEAL)
				busy += rows[i].s.cpu_ns;
		u = (double)busy / (dt * 1e9 * cpus);
		out[nout++] = (struct energy_reading){
			.socket = k,
			.domain = BM_DOMAIN_PACKAGE,
			.joules = estimate_socket_power(cfg->estimate, u, cpus) * dt,
		};
	}
	return nout;
}

/* Each estimated socket split as a model with the curve's idle power as its static part. */
static void split_estimates(struct interval *iv, const struct interval_inputs *in)
{
	for (int i = 0; i < in->nenergy; i++) {
		const struct energy_reading *e = &in->energy[i];
		int cpus = in->socket_cpus[e->socket];
		double static_j = estimate_socket_power(iv->cfg.estimate, 0, cpus) * in->dt;

		report_split_estimate(iv->rows, iv->nrows, e->socket, e->domain, e->joules,
				      static_j, in->dt, iv->cfg.idle_share);
	}
}

/* Each measured socket and domain through its model, and the split that conserves energy. */
static void apply_models(struct interval *iv, const struct interval_inputs *in)
{
	double dt = in->dt, x[BM_MODEL_MAX_FEATURES];
	int layer = -1, x_socket = -1;

	iv->any_model = false;
	for (int i = 0; i < in->nenergy; i++) {
		const struct energy_reading *e = &in->energy[i];
		struct model *m = &iv->models[e->socket * BM_NR_DOMAINS + e->domain];
		struct bm_model_record *rec = &iv->records[i];
		struct model_step_result res;

		/* A socket's domains come one after another and share its inputs: once. */
		if (e->socket != x_socket) {
			layer = interval_socket_inputs(&iv->cfg, iv->rows, iv->nrows, e->socket, dt,
						       x);
			x_socket = e->socket;
		}

		model_step(m, layer, x, dt > 0 ? e->joules / dt : 0, &res);
		*rec = (struct bm_model_record){
			.socket = e->socket,
			.domain = e->domain,
			.measured_w = dt > 0 ? e->joules / dt : 0,
			.predicted = res.predicted,
			.predicted_w = res.predicted_w,
			.error_w = res.error_w,
			.model_id = res.layer->id,
			.layer_mhz = layer,
			.samples = res.layer->n,
			.intercept_w = res.layer->fit.intercept,
		};
		memcpy(rec->coef, res.layer->fit.coef, sizeof(rec->coef));
		/* The targets' running means from the first interval, the fit or not. */
		report_intensity_update(&iv->panels[e->socket * BM_NR_DOMAINS + e->domain],
					iv->rows, iv->nrows, e->socket, e->domain, dt,
					&res.layer->fit, &iv->cfg.features, &res,
					m->cfg.horizon > 1 ? 1 - 1 / m->cfg.horizon : 0);
		if (!res.layer->id)
			continue;
		iv->any_model = true;
		report_split_by_model(iv->rows, iv->nrows, e->socket, e->domain, e->joules, dt,
				      &res.layer->fit, res.layer->cov, res.layer->sigma2,
				      &iv->cfg.features, iv->cfg.idle_share, res.layer->id);
	}
}

static void add_total(struct bm_target *t, const struct bm_sample *s)
{
	t->total.cpu_ns += s->cpu_ns;
	for (int e = 0; e < BM_MAX_EVENTS; e++)
		t->total.ev[e] += s->ev[e];
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		t->total.energy_j[d] += s->energy_j[d];
		t->total.co2e_g[d] += s->co2e_g[d];
	}
}

/* The grams CO2e of each row's energy and of the measured energy, where an intensity applies. */
static void estimate_co2e(struct interval *iv, const struct interval_inputs *in)
{
	double g = in->carbon_g_per_kwh;

	iv->intervals++;
	if (!(g > 0))
		return;
	iv->carbon_intervals++;
	for (int i = 0; i < in->nenergy; i++)
		iv->measured_co2e_g[in->energy[i].domain] += carbon_co2e_g(in->energy[i].joules, g);
	for (size_t i = 0; i < iv->nrows; i++) {
		struct bm_row *r = &iv->rows[i];

		for (int d = 0; d < BM_NR_DOMAINS; d++)
			if (r->domains & (1u << d))
				r->s.co2e_g[d] = carbon_co2e_g(r->s.energy_j[d], g);
	}
}

/*
 * --group-by: the rows of a group's members on a socket become one row of the group, their
 * sums added (energy too, after the split, so the groups still add up to the measurement).
 */
static void group_rows(struct interval *iv)
{
	for (size_t i = 0; i < iv->nrows; i++)
		if (iv->rows[i].target->group)
			iv->rows[i].target = iv->rows[i].target->group;
	iv->nrows = report_fold_rows(iv->rows, iv->nrows, true);
}

void interval_run(struct interval *iv, const struct interval_inputs *measured,
		  struct bm_interval *out)
{
	struct interval_inputs est;
	const struct interval_inputs *in = measured;
	bool grouped = false;

	if (in->rows == iv->rows) {
		iv->nrows = in->nrows; /* gathered in place */
	} else {
		iv->nrows = 0;
		for (size_t i = 0; i < in->nrows; i++)
			*push_row(&iv->rows, &iv->nrows, &iv->cap) = in->rows[i];
	}
	for (size_t i = 0; i < iv->nrows; i++)
		grouped |= iv->rows[i].target->group != NULL;
	/* Nothing measured: the estimate stands in, labelled as such all the way out. */
	if (iv->cfg.estimate) {
		est = *measured;
		est.energy = iv->estimated;
		est.nenergy = interval_estimate(&iv->cfg, iv->rows, iv->nrows, in->socket_cpus,
						in->dt, iv->estimated);
		in = &est;
	}
	for (int i = 0; i < in->nenergy; i++)
		iv->measured_j[in->energy[i].domain] += in->energy[i].joules;
	report_split_by_cpu(iv->rows, iv->nrows, iv->cfg.nr_sockets, in->energy, in->nenergy);
	if (iv->cfg.have_energy)
		apply_models(iv, in);
	else if (iv->cfg.estimate)
		split_estimates(iv, in);
	estimate_co2e(iv, in);
	for (size_t i = 0; i < iv->nrows; i++)
		add_total(iv->rows[i].target, &iv->rows[i].s);
	if (grouped) {
		group_rows(iv);
		for (size_t i = 0; i < iv->nrows; i++)
			if (iv->rows[i].target->kind == BM_TARGET_GROUP)
				add_total(iv->rows[i].target, &iv->rows[i].s);
	}
	report_sort_with(iv->rows, iv->nrows, &iv->sort);
	*out = (struct bm_interval){
		.ts_real =
			(double)(in->ts_ns / 1000000000) + (double)(in->ts_ns % 1000000000) * 1e-9,
		.ts_ns = in->ts_ns,
		.interval_s = in->dt,
		.rows = iv->rows,
		.n = iv->nrows,
		.energy = in->energy,
		.nenergy = in->nenergy,
		.models = iv->cfg.have_energy ? iv->records : NULL,
		.estimated = iv->cfg.estimate != NULL,
		.overflow = in->overflow,
		.nr_online = in->nr_online,
		.cpus_note = in->cpus_note,
		.carbon_g_per_kwh = in->carbon_g_per_kwh,
	};
}
