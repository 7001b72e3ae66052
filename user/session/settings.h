/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_SETTINGS_H
#define BM_SETTINGS_H

/*
 * The settings a recording carries for its replay (the model's, --idle, --group-by): one
 * table, written by the recorder and read back by the replay, so the two cannot drift apart.
 */
#include <stdbool.h>
#include <stddef.h>

#include "opts.h"
#include "record.h"

/* A recorded setting's value by its key, or NULL. */
typedef const char *(*settings_get_fn)(void *ctx, const char *key);

#define BM_SETTINGS_MAX_ARGS 16

struct settings_args {
	char *argv[BM_SETTINGS_MAX_ARGS];
	int argc;
	char num[BM_SETTINGS_MAX_ARGS][32];
};

/*
 * The i-th of the table's model settings (those of struct model_config, which decide the
 * fits): its key and m's value as a recording writes it. False past the last. The model
 * state (state.c) is made under them.
 */
bool settings_model_at(size_t i, const struct model_config *m, const char **key, char *value,
		       size_t len);
/* Every setting of the table as a meta row. */
void settings_record(struct recorder *r, const struct bm_opts *o);
/*
 * The recorded values of the settings a replay may override (--tdp, --error-threshold,
 * --model-window, --idle, --group-by), as options to parse before the replay's own: the
 * recorded value where there is one, else the default.
 */
void settings_replay_args(settings_get_fn get, void *ctx, struct settings_args *a);
/*
 * The settings no option overrides, as recorded (else their defaults), into o. Returns 0, or
 * -EINVAL after a one-line message naming path when one is out of range.
 */
int settings_replay_apply(settings_get_fn get, void *ctx, struct bm_opts *o, const char *path);

#endif
