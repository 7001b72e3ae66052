/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_TRACE_H
#define BM_TRACE_H

#include <stddef.h>

#include "model.h"

#define BM_REPLAY_MAX_DOMAINS 8

/*
 * A node-level trace: per row, its timestamp, the feature columns as per-second rates (the
 * row's values over the time since the previous row) and the measured power per domain. The
 * first row only starts the clock: it has no interval, so no rates and no row here.
 */
struct replay_trace {
	int nrows, nfeat, ndom;
	double *t; /* nrows timestamps */
	double *x; /* nrows x nfeat rates, row-major */
	double *power; /* nrows x ndom watts, row-major */
	char *dom[BM_REPLAY_MAX_DOMAINS]; /* the domains' names */
};

/*
 * Load path with the features (comma-separated column names) and the power spec
 * ("DOMAIN=COL,..."). Returns 0, or -1 with one message "FILE:LINE:COL: why" (or "FILE: why",
 * or an option's complaint) in err.
 */
int replay_load(const char *path, const char *features, const char *power, struct replay_trace *tr,
		char *err, size_t errlen);
void replay_free(struct replay_trace *tr);

/* bpfmeter replay ...: argv[0] is "replay". Returns the exit status. */
int replay_main(int argc, char **argv);

#endif
