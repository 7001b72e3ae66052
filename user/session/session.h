/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_SESSION_H
#define BM_SESSION_H

/*
 * A measuring session, live (session_run) or replayed from a recording (replay.c): both keep
 * their inputs here and hand each interval to the same pipeline (session_interval), so the
 * outputs cannot tell them apart.
 */
#include <stdbool.h>
#include <stdint.h>

#include "account.h"
#include "carbon.h"
#include "cgroup.h"
#include "command.h"
#include "energy.h"
#include "export_powercap.h"
#include "interval.h"
#include "opts.h"
#include "output.h"
#include "record.h"
#include "report.h"
#include "sensor.h"
#include "state.h"
#include "targets.h"
#include "topology.h"

struct session {
	struct bm_opts *opts;
	struct bm_topology topo;
	struct bm_meta meta;
	int sample_index[BM_MAX_EVENTS]; /* requested event -> bm_sample.ev index, or -1 */
	char host[256];
	char missing_note[512];
	char energy_note[1024];
	struct outputs out;
	bool by_process; /* --by process: the rows are processes */
	struct account acct, pacct; /* cgroups; processes with --by process */
	struct targets cgroups, procs;
	bool have_energy;
	bool estimating; /* --estimate: nothing measures, est stands in (labelled estimated) */
	struct estimate est;
	int *socket_cpus; /* [nr_sockets] CPUs online, for the estimate */
	unsigned int energy_domains; /* bit per domain the source measures */
	unsigned int reported_domains; /* bit per domain with a reading so far */
	double base_mhz;
	/* The package's static power a socket before the models have evidence; sd 0: none. */
	double static_prior_w, static_prior_sd;
	struct energy_reading *readings; /* nr_sockets x BM_NR_DOMAINS */
	int nreadings;
	uint64_t overflow; /* slices charged to "overflow" so far */
	bool overflow_warned, cgroup_overflow_warned, read_fail_warned;
	char cpus_note[512]; /* CPUs that came or went this interval; "" when none */
	struct interval iv;
	bool recording; /* --record: each interval's inputs go to rec */
	struct recorder rec;
	struct carbon carbon; /* --carbon-intensity, --carbon-intensity-file */
	char *carbon_source; /* what the CO2e estimates are from, for the outputs; or NULL */
	/* The cgroup id of a --group-by group: live from the tree, in a replay as recorded. */
	int (*resolve_group)(const char *key, uint64_t *id, void *ctx);

	/* Live only. */
	struct cgroup_names names;
	unsigned long names_version; /* names.version when the targets were last named */
	bool stall_warned; /* the loop was stalled once: said */
	/* A live session's view on a terminal that takes keys (stdin and stdout both one): the
	 * view groups the rows (g), so the pipeline keeps them per cgroup. */
	bool live_keys;
	bool keys_on; /* the terminal is in raw mode, its keys read between intervals */
	bool refresh_now; /* space: the interval ended early, the next one starts from now */
	struct sensor sensor;
	struct energy_source energy;
	struct powercap_export export; /* --export-powercap; export.dir NULL: none */
	struct command cmd; /* with -- CMD */
	bool have_cmd;
	int exit_status;
	double t_start, t_last; /* monotonic */
	/* --state-dir: the models are saved there under state_id, each minute and at exit. */
	struct state_identity state_id;
	bool state_on, state_dirty, state_warned;
	int state_lock_fd; /* while state_on: the lock on the directory */
	double state_next; /* monotonic: the next save */
};

void session_init(struct session *s, struct bm_opts *o);
void session_free(struct session *s);

/* The account and the targets the rows come from: cgroups, or processes. */
struct account *session_rows_account(struct session *s);
struct targets *session_rows_targets(struct session *s);

/*
 * Once the settings are known (live: after the sensor is loaded; replay: as recorded): the
 * meta every output is told, the accounts, the targets and the interval pipeline.
 */
/*
 * From the next interval on, the estimate (s->est, set up) stands in for energy that stopped
 * being measured (--estimate, every counter dropped): no model, every figure estimated.
 */
void session_estimate_from_now(struct session *s);
void session_setup(struct session *s, double interval_s, const char *hook,
		   const char *energy_source);
/*
 * The carbon intensity asked for: the constant, or the file read and checked whole. Returns
 * 0, or -1 after a one-line message (FILE:LINE:COLUMN: what) for a file that does not do.
 */
int session_load_carbon(struct session *s);
/* The -o sinks; without any, the live view on a terminal and CSV on stdout otherwise. */
int session_parse_outputs(struct session *s);
/* The sinks' checks before anything is measured (outputs_check), and their opening. */
int session_check_outputs(struct session *s);
int session_open_outputs(struct session *s);
/*
 * One interval of the rows account's active targets (named already) and s->readings: recorded
 * with --record, run through the pipeline, and out to every sink. Returns outputs_interval's
 * value (-EPIPE: stdout's reader went away).
 */
int session_interval(struct session *s, int64_t ts_ns, double dt);
/* A target ended and its last interval is out: recorded, kept for the summary, forgotten. */
void session_target_gone(struct session *s, struct account *a, struct targets *ts, uint64_t id);
/* The session summary on the live view. */
void session_summary(struct session *s, double elapsed);

/*
 * Energy from the source asked for; where auto finds none, one warning and CPU shares.
 * Returns 0, or a negative errno after a message when the named source does not work.
 */
int session_open_energy(struct session *s);
/*
 * --estimate's curve for this host (cpuinfo from $BPFMETER_CPUINFO, a test hook, else
 * /proc/cpuinfo) and the options into e. Returns 0, or -ENOENT (nothing to estimate from)
 * or -EINVAL (the watts given make no curve) with why in one line.
 */
int session_estimate_setup(struct session *s, struct estimate *e, char *why, size_t whylen);
/*
 * Where nothing measures and --estimate asks for it: estimate from now on, before
 * session_setup. A CPU with nothing to estimate from is one warning and CPU shares only.
 * Returns 0, or -EINVAL after a message for watts given that make no curve.
 */
int session_use_estimate(struct session *s);

/* bpfmeter [OPTIONS] [-- CMD]: measure until the end. Returns the exit status. */
int session_run(struct session *s);

#endif
