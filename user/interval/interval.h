/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_INTERVAL_H
#define BM_INTERVAL_H

/*
 * One interval, from its inputs to its report rows: pure, no I/O. A live session and a replay
 * fill the same inputs (the account rows of the targets that ran, the energy measured, the
 * overflow count, the length), so nothing downstream knows which one did. Per interval it
 * runs each measured socket and domain through its model, splits the energy conserving it
 * (by CPU time before a fit), adds the rows into their targets' session totals, rolls them
 * up under --group-by and sorts them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "energy.h"
#include "estimate.h"
#include "model.h"
#include "report.h"
#include "targets.h"

struct interval_config {
	int nr_sockets;
	bool have_energy; /* a source measures: models and splits */
	struct bm_features features; /* the model's inputs */
	int cycles_idx, ref_cycles_idx; /* sample indexes, -1: no frequency layers */
	double base_mhz; /* what ref-cycles count at; 0: unknown, one layer */
	bool idle_share; /* --idle share */
	struct model_config model;
	/*
	 * The package's static power a socket before any evidence, from the CPU table (W), and
	 * its standard deviation; sd 0: none (the models' generic prior).
	 */
	double static_prior_w, static_prior_sd;
	/*
	 * --estimate, where nothing measures: each socket's package energy from its CPU
	 * utilisation on this curve (have_energy false: no model learns it back), or NULL.
	 */
	const struct estimate *estimate;
};

/* What one interval measured. */
struct interval_inputs {
	int64_t ts_ns; /* its end, unix ns */
	double dt; /* its measured length, s */
	uint64_t overflow; /* slices charged to "overflow" so far */
	const struct energy_reading *energy; /* per socket and domain */
	int nenergy;
	struct bm_row *rows; /* one per target that ran, per socket: CPU time and counters */
	size_t nrows;
	int nr_online; /* CPUs online at its end */
	const int *socket_cpus; /* [nr_sockets] CPUs online at its end; needed with an estimate */
	const char *cpus_note; /* CPUs that came or went in it, or NULL */
	double carbon_g_per_kwh; /* the intensity that applies (> 0), or < 0: none */
};

/* What lasts from one interval to the next: the models, and the output buffers. */
struct interval {
	struct interval_config cfg;
	struct model *models; /* [nr_sockets * BM_NR_DOMAINS] */
	struct bm_panel *panels; /* the same: each one's targets' own intensities */
	unsigned int next_model_id;
	struct bm_model_record *records; /* one per energy reading */
	struct energy_reading *estimated; /* [nr_sockets] with cfg.estimate: this interval's */
	struct bm_row *rows;
	size_t nrows, cap;
	struct report_sort_buf sort; /* the rows' sort keys, kept */
	double measured_j[BM_NR_DOMAINS]; /* over the session, all sockets */
	double measured_co2e_g[BM_NR_DOMAINS]; /* the same's grams CO2e, where estimated */
	unsigned int intervals, carbon_intervals; /* run; of them with a carbon intensity */
	bool any_model; /* the last interval was split by a fitted model somewhere */
};

void interval_init(struct interval *iv, const struct interval_config *cfg);
void interval_free(struct interval *iv);
/*
 * Gather the account rows of the targets active this interval into rows (grown as needed):
 * one per target and socket where it used CPU time or counted anything. Every active id
 * must have its target in ts. Returns the count.
 */
size_t interval_gather(const struct account *a, const struct targets *ts, int nr_sockets,
		       struct bm_row **rows, size_t *cap);
/*
 * Run one interval: out holds the report rows (valid until the next run) and points at the
 * inputs' energy; the targets' totals grow by what the rows report. in->rows may be the
 * interval's own rows (gathered into &iv->rows, &iv->cap): they are worked on in place.
 */
void interval_run(struct interval *iv, const struct interval_inputs *in, struct bm_interval *out);
/*
 * With an estimate: each socket's package joules over dt from the rows (its targets' CPU
 * time but idle's, over dt x its CPUs online) into out[nr_sockets]. Returns the count.
 */
int interval_estimate(const struct interval_config *cfg, const struct bm_row *rows, size_t n,
		      const int *socket_cpus, double dt, struct energy_reading *out);
/* The features and frequency layer of the targets that ran on socket (exposed for tests). */
int interval_socket_inputs(const struct interval_config *cfg, const struct bm_row *rows, size_t n,
			   int socket, double dt, double *x);

#endif
