/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_REPORT_H
#define BM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "account.h"
#include "events.h"
#include "model.h"
#include "targets.h"

struct report_sort_key;

/* What every output needs to know about the session. */
struct bm_meta {
	const char *host;
	const struct bm_event *events; /* requested, in column order */
	int nr_events;
	const int *sample_index; /* requested event -> index in bm_sample.ev, or -1 (unavailable) */
	int nr_online;
	double interval_s; /* configured */
	const char *hook; /* "tp_btf" or "raw_tp" */
	const char *missing_note; /* events that could not be opened, or NULL */
	const int *package_id; /* socket index -> physical package id */
	const char *energy_source; /* "powercap", "perf", "msr", or NULL: no energy */
	const char *energy_note; /* why there is no energy, or NULL */
	/* --estimate: what the estimated energy is from (energy_source "estimate"), or NULL */
	const char *estimate_method;
	/* The host a powercap tree is passed through from (--export-powercap there), or NULL:
	 * the energy is the host's attribution to this VM, not its own RAPL. */
	const char *energy_from_host;
	const struct bm_features *features; /* the model's, when there is energy */
	/* Sample indexes of cycles, instructions and ref-cycles (-1: not counted), for the
	 * model's frequency layers and the live view's IPC alike. */
	int cycles_idx, instructions_idx, ref_cycles_idx;
	/* Where the carbon intensity comes from, for the estimates' notes ("--carbon-intensity
	 * 400 g/kWh", "--carbon-intensity-file FILE"); NULL: no CO2e estimate. */
	const char *carbon_source;
	bool carbon_over_time; /* from a file: the live view says which intensity applies */
};

/* The bm_sample.ev index of a generic hardware event (PERF_COUNT_HW_*), or -1. */
int report_hw_index(const struct bm_event *events, int nr_events, const int *sample_index,
		    uint64_t hw_config);

/* One target on one socket over one interval (socket -1: every socket). */
struct bm_row {
	struct bm_target *target; /* its session totals grow as rows are reported */
	int socket; /* socket index */
	struct bm_sample s;
	double share; /* of the socket's CPU time, idle included */
	unsigned int domains; /* bit per domain whose energy s.energy_j holds */
	unsigned int model_id[BM_NR_DOMAINS]; /* the model that split it; 0: by CPU time */
	unsigned int estimated; /* bit per domain whose energy is an estimate (--estimate) */
	/*
	 * One standard error (W) of the row's power in each domain whose bit is in err_domains:
	 * how well the model's data separates static from dynamic power, and its watts per
	 * unit of each feature, carried to this row's share. A domain without its bit has no
	 * such figure (split by CPU time before a model, or an estimate): outputs leave it out.
	 */
	double power_err_w[BM_NR_DOMAINS];
	unsigned int err_domains;
	/*
	 * Its own intensity per domain whose bit is in intensity_domains (report_intensity_update):
	 * the split multiplies its w.x by 1 + v, and its standard error holds the variance.
	 */
	double intensity_v[BM_NR_DOMAINS], intensity_var[BM_NR_DOMAINS];
	unsigned int intensity_domains;
};

/* The model's record of one socket and domain for one interval. */
struct bm_model_record {
	int socket;
	enum bm_domain domain;
	double measured_w;
	bool predicted; /* a model existed before this interval: predicted_w, error_w hold */
	double predicted_w, error_w;
	unsigned int model_id; /* the model that split this interval; 0: none yet */
	int layer_mhz; /* -1: one layer, frequency unknown */
	int samples;
	double intercept_w;
	double coef[BM_MODEL_MAX_FEATURES];
};

/* Which per-target values are a model's features: event sample indexes, or CPU time. */
#define BM_FEATURE_CPU (-1)
struct bm_features {
	int nfeat;
	int idx[BM_MODEL_MAX_FEATURES]; /* index into bm_sample.ev, or BM_FEATURE_CPU */
	const char *name[BM_MODEL_MAX_FEATURES];
};

/* A sample's features as per-second rates (CPU time in CPU-seconds per second). */
void report_features(const struct bm_features *f, const struct bm_sample *s, double dt, double *x);

struct bm_interval {
	double ts_real; /* end of the interval, unix seconds */
	int64_t ts_ns; /* the same in nanoseconds */
	double interval_s; /* measured length */
	struct bm_row *rows;
	size_t n;
	const struct energy_reading *energy; /* measured, per socket and domain */
	int nenergy;
	const struct bm_model_record *models; /* one per energy reading, same order; or NULL */
	bool estimated; /* energy holds estimates (--estimate), not measurements */
	uint64_t overflow; /* slices charged to "overflow" so far */
	int nr_online; /* CPUs online at its end */
	const char *cpus_note; /* CPUs that came or went in it (hotplug), or NULL */
	/* Grams CO2e per kWh for this interval (--carbon-intensity), or < 0: none given. The
	 * sinks turn energy into co2e with it; an estimate, never a measurement. */
	double carbon_g_per_kwh;
};

/* Grams CO2e of joules at the interval's intensity into *g; false where it has none. */
bool report_co2e(const struct bm_interval *iv, double joules, double *g);
/*
 * Of the domains measured, those that add up to the host's energy without counting any
 * twice: psys (the platform) where it is measured, else package and dram (core and uncore
 * are parts of the package). 0 when there are none.
 */
unsigned int report_total_domains(unsigned int measured);
/* A domain mask as "package + dram". */
void report_domains_text(char *buf, size_t len, unsigned int mask);

/* The session's CO2e estimate, for the summaries. */
struct bm_co2e_summary {
	const double *host_g; /* [BM_NR_DOMAINS] grams CO2e of the measured energy */
	unsigned int intervals, with_intensity; /* reported; of them with an intensity */
};

/* Sort rows by CPU time, most first (ties by socket, then target name), for stable output. */
void report_sort(struct bm_row *rows, size_t n);
/*
 * An interval's rows the same way, but ties by socket keep the rows' order (by target id, as
 * they are gathered), with the keys in buf, kept from one sort to the next (zeroed at first):
 * a name is a pointer away from its row, and thousands of cgroups tie at times.
 */
struct report_sort_buf {
	struct report_sort_key *keys;
	size_t cap;
};
void report_sort_with(struct bm_row *rows, size_t n, struct report_sort_buf *buf);

/*
 * Split each socket's measured energy between the targets that ran there, in proportion to
 * their CPU time, idle included: the provisional attribution until a power model exists.
 * Sets every row's share, and its energy and domains where the socket has readings. The
 * targets of a socket add up to its measured energy.
 */
void report_split_by_cpu(struct bm_row *rows, size_t n, int nr_sockets,
			 const struct energy_reading *energy, int nenergy);

/*
 * Split the energy of one socket's domain with a fitted model, conserving it: the static part
 * intercept x dt goes to the idle target (spread over the targets by CPU time with
 * idle_share, or where the socket has no idle row), the rest to the targets in proportion to
 * their predicted dynamic energy w.x. Targets plus idle add up to joules exactly. With cov
 * (the weights' covariance, nfeat x nfeat) each row gets the standard error of its power,
 * the static part's with noise_var (W^2), the variance of one measurement's noise, in it.
 */
/*
 * A target's own intensity: its dynamic power is the model's w.x times (1 + v). Before any
 * evidence, v ~ N(0, BM_INTENSITY_SD^2): its watts per unit of the model's features are the
 * machine's give or take 30 % (with CPU time alone: vector units against memory stalls).
 */
#define BM_INTENSITY_SD 0.3
/*
 * The targets of a socket's domain whose intensities are learnt, jointly: the first to run,
 * and then any that draws twice as much as the smallest of them, in its place.
 */
#define BM_PANEL 8

/*
 * What a socket's domain learns of its panel's intensities: each interval, each target's
 * change of q (its one feature, or w.x with several) from its running mean, against the part
 * of the interval's change of power that the model's weights leave; sums forgotten as the
 * weights' evidence is. A target that did not run ran at 0; one that has not run for
 * BM_MODEL_FAST intervals leaves its slot.
 */
struct bm_panel_slot {
	bool used;
	enum bm_target_kind kind;
	uint64_t id;
	int n, absent; /* intervals of its running mean; since it last ran */
	double mean_q, dq; /* its running mean of q; this interval's change of it */
	double sqy, sqx; /* sums of dq x the power's change, x the total q's change */
	double v, var; /* its intensity, and v's variance */
};

struct bm_panel {
	struct bm_panel_slot slot[BM_PANEL];
	double sqq[BM_PANEL * BM_PANEL]; /* sums of dq_i dq_j */
	double tau2; /* how much the intensities differ: v's prior variance (0: not yet) */
};

/*
 * Before report_split_by_model on the same rows: what this interval tells of the intensities
 * of the socket's targets in domain d (into each row's intensity_v and intensity_var), from
 * res (the model's step: its change) and the fit the split will use; keep: the evidence's
 * forgetting per interval. Targets outside the panel keep v = 0 and the prior's variance.
 */
void report_intensity_update(struct bm_panel *pn, struct bm_row *rows, size_t n, int socket,
			     enum bm_domain d, double dt, const struct model_fit *fit,
			     const struct bm_features *f, const struct model_step_result *res,
			     double keep);

void report_split_by_model(struct bm_row *rows, size_t n, int socket, enum bm_domain d,
			   double joules, double dt, const struct model_fit *fit, const double *cov,
			   double noise_var, const struct bm_features *f, bool idle_share,
			   unsigned int model_id);

/* The session summary of the live view (its screen: live.h). */
void table_summary(FILE *f, const struct bm_meta *m, const struct bm_row *totals, size_t n,
		   double elapsed_s, const struct bm_co2e_summary *co2e);

/* CSV: a header once, then one row per target per socket per interval. */
/* Any CSV bpfmeter writes: s as one field, quoted (RFC 4180) where a reader needs it. */
void csv_field(FILE *f, const char *s);
int csv_header(FILE *f, const struct bm_meta *m);
int csv_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv);
/* Text that grows, kept from one interval to the next: no allocation once it is large enough. */
struct bm_text {
	char *p;
	size_t len, cap;
};
/* csv_interval's lines, appended to b. */
void csv_text(struct bm_text *b, const struct bm_meta *m, const struct bm_interval *iv);

/* InfluxDB line protocol: one point per target, socket and domain, one per measured domain. */
int influx_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv);
/* Line protocol pieces, escaped per the reference (exposed for tests). */
void lp_measurement(FILE *f, const char *name);
void lp_tag(FILE *f, const char *key, const char *value);
void lp_field_int(FILE *f, bool *first, const char *key, long long v);
void lp_field_float(FILE *f, bool *first, const char *key, double v);
void lp_field_str(FILE *f, bool *first, const char *key, const char *v);

/*
 * Split an estimated socket's domain (--estimate), conserving it: static_j (the curve's idle
 * power x dt) as report_split_by_model does a model's static part, the rest by CPU time of
 * the targets other than idle. Marks the rows estimated for d.
 */
void report_split_estimate(struct bm_row *rows, size_t n, int socket, enum bm_domain d,
			   double joules, double static_j, double dt, bool idle_share);
/* What a row's energy of domain d is: "estimated", "model" or "provisional". */
const char *report_estimate_name(const struct bm_row *r, int d);

/* The measured energy of a socket's domain in the interval, or -1. */
double report_measured(const struct bm_interval *iv, int socket, int domain);
/* Add one row's sums (CPU time, counters, energy, share, domains) into another. */
void report_row_add(struct bm_row *into, const struct bm_row *from);
/* Sum rows of the same target over sockets, in place; returns the new count, sorted. */
size_t report_merge_sockets(struct bm_row *rows, size_t n);
/*
 * The rows of one target (on one socket, with by_socket) added into the first of them, in
 * the order the first ones came; returns how many are left.
 */
size_t report_fold_rows(struct bm_row *rows, size_t n, bool by_socket);

#endif
