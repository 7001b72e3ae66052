// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "settings.h"
#include "util.h"

enum setting_type {
	SET_INT,
	SET_DOUBLE,
	SET_IDLE,
	SET_GROUP_BY
};

static const struct setting {
	const char *key; /* the meta row's name */
	const char *option; /* the replay option that overrides it, or NULL */
	enum setting_type type;
	size_t off; /* SET_INT, SET_DOUBLE: in struct model_config */
} settings[] = {
	{ "idle", "--idle", SET_IDLE, 0 },
	{ "group_by", "--group-by", SET_GROUP_BY, 0 },
	{ "model_window", "--model-window", SET_INT, offsetof(struct model_config, window) },
	{ "model_min_samples", NULL, SET_INT, offsetof(struct model_config, min_samples) },
	{ "model_error_window", NULL, SET_INT, offsetof(struct model_config, error_window) },
	{ "error_threshold", "--error-threshold", SET_DOUBLE,
	  offsetof(struct model_config, error_threshold) },
	{ "tdp", "--tdp", SET_DOUBLE, offsetof(struct model_config, tdp) },
	{ "ridge", NULL, SET_DOUBLE, offsetof(struct model_config, ridge) },
	{ "forget", NULL, SET_DOUBLE, offsetof(struct model_config, forget) },
	{ "forget_after", NULL, SET_INT, offsetof(struct model_config, forget_after) },
	{ "robust_passes", NULL, SET_INT, offsetof(struct model_config, robust_passes) },
	{ "prior", NULL, SET_DOUBLE, offsetof(struct model_config, prior) },
	{ "anchor", NULL, SET_DOUBLE, offsetof(struct model_config, anchor) },
	{ "model_horizon", NULL, SET_DOUBLE, offsetof(struct model_config, horizon) },
};

static int *int_at(const struct model_config *m, const struct setting *st)
{
	return (int *)((char *)m + st->off);
}

static double *double_at(const struct model_config *m, const struct setting *st)
{
	return (double *)((char *)m + st->off);
}

bool settings_model_at(size_t i, const struct model_config *m, const char **key, char *value,
		       size_t len)
{
	for (size_t k = 0; k < ARRAY_SIZE(settings); k++) {
		const struct setting *st = &settings[k];

		if (st->type != SET_INT && st->type != SET_DOUBLE)
			continue;
		if (i--)
			continue;
		*key = st->key;
		if (st->type == SET_INT)
			snprintf(value, len, "%d", *int_at(m, st));
		else
			snprintf(value, len, "%.17g", *double_at(m, st));
		return true;
	}
	return false;
}

void settings_record(struct recorder *r, const struct bm_opts *o)
{
	for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
		const struct setting *st = &settings[i];

		switch (st->type) {
		case SET_IDLE:
			record_meta(r, st->key, "%s", o->idle_share ? "share" : "static");
			break;
		case SET_GROUP_BY:
			record_meta(r, st->key, "%s", o->group_by_arg ? o->group_by_arg : "cgroup");
			break;
		case SET_INT:
			record_meta(r, st->key, "%d", *int_at(&o->model, st));
			break;
		case SET_DOUBLE:
			record_meta(r, st->key, "%.17g", *double_at(&o->model, st));
			break;
		}
	}
}

/* A recorded number, or the default's. */
static double recorded_number(settings_get_fn get, void *ctx, const struct setting *st)
{
	const char *v = get(ctx, st->key);

	if (v)
		return strtod(v, NULL);
	return st->type == SET_INT ? *int_at(&model_config_default, st)
				   : *double_at(&model_config_default, st);
}

void settings_replay_args(settings_get_fn get, void *ctx, struct settings_args *a)
{
	a->argc = 0;
	for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
		const struct setting *st = &settings[i];
		char *num = a->num[a->argc + 1];
		const char *v;

		if (!st->option)
			continue;
		if (st->type == SET_IDLE || st->type == SET_GROUP_BY) {
			if (!(v = get(ctx, st->key)))
				continue;
			a->argv[a->argc++] = (char *)st->option;
			a->argv[a->argc++] = (char *)v;
			continue;
		}
		if (st->type == SET_INT)
			snprintf(num, sizeof(a->num[0]), "%d", (int)recorded_number(get, ctx, st));
		else
			snprintf(num, sizeof(a->num[0]), "%.17g", recorded_number(get, ctx, st));
		a->argv[a->argc++] = (char *)st->option;
		a->argv[a->argc++] = num;
	}
}

int settings_replay_apply(settings_get_fn get, void *ctx, struct bm_opts *o, const char *path)
{
	struct model_config *m = &o->model;

	for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
		const struct setting *st = &settings[i];

		if (st->option)
			continue;
		if (st->type == SET_INT)
			*int_at(m, st) = (int)recorded_number(get, ctx, st);
		else if (st->type == SET_DOUBLE)
			*double_at(m, st) = recorded_number(get, ctx, st);
	}
	if (m->min_samples < 2 || m->min_samples > m->window || m->error_window < 1 ||
	    m->error_window > 256 || m->ridge < 0 || !(m->forget > 0 && m->forget <= 1) ||
	    m->forget_after < 0 || m->robust_passes < 0 || m->robust_passes > 10 ||
	    !(m->prior >= 0) || !(m->anchor >= 0) || !(m->horizon >= 1)) {
		bm_err("%s: its model settings are out of range (model_min_samples, "
		       "model_error_window, ridge, forget, forget_after, robust_passes, prior, "
		       "anchor, model_horizon)",
		       path);
		return -EINVAL;
	}
	return 0;
}
