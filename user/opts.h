/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_OPTS_H
#define BM_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "energy.h"
#include "events.h"
#include "model.h"

struct bm_opts {
	double interval_s;
	double duration_s; /* 0: until interrupted */
	const char *events_arg;
	struct bm_event events[BM_MAX_EVENTS];
	int nr_events;
	bool csv;
	uint64_t max_cgroups;
	const char *btf_path;
	enum energy_kind energy_kind;
	const char *powercap_root;
	/* --estimate: estimate where no source measures; --energy-source estimate: only that */
	bool estimate, estimate_only;
	bool tdp_given; /* --tdp itself: with --estimate, the curve's TDP too */
	double estimate_idle_w, estimate_max_w; /* --estimate-idle, --estimate-max; < 0: none */
	const char *export_powercap; /* --export-powercap DIR: the VMs' energy as powercap trees */
	struct model_config model;
	double base_mhz; /* 0: from sysfs */
	bool idle_share;
	const char *outputs[8]; /* -o SPEC, in order */
	int nr_outputs;
	const char *spool_dir;
	uint64_t spool_max; /* bytes */
	char **command; /* after --: the command to run and measure, or NULL */
	bool by_process; /* --by process */
	int group_by; /* enum group_by */
	int group_depth; /* with GROUP_BY_DEPTH */
	bool verbose;
	const char *record_path; /* --record FILE: the session's inputs, for bpfmeter replay */
	const char *group_by_arg; /* --group-by as given, or NULL */
	/* The host label and the carbon intensity (--host, --carbon-intensity[-file]). */
	const char *host; /* --host, else $NODE_NAME; NULL: the hostname */
	bool host_given; /* --host itself: a replay takes it over the recorded host */
	double carbon_g_per_kwh; /* --carbon-intensity; 0: none */
	const char *carbon_file; /* --carbon-intensity-file, or NULL */
	/* --state-dir: where a live session keeps its models across restarts; "": nowhere */
	const char *state_dir;
	/* The Prometheus endpoint (-o prometheus:ADDR:PORT). */
	double prometheus_keep_s; /* --prometheus-keep; < 0: prom_default_keep() */
	const char *web_config; /* --web-config FILE: TLS and basic auth, or NULL */
};

#define BM_HOST_MAX 253 /* a DNS name's most characters */

/* --state-dir's default, where $BPFMETER_STATE_DIR does not name another. */
#define BM_STATE_DIR "/var/lib/bpfmeter"

enum {
	OPTS_OK = 0,
	OPTS_EXIT_OK = 1,
	OPTS_EXIT_USAGE = 2
};

/*
 * Parse argv into o (defaults first). Returns OPTS_OK to run, OPTS_EXIT_OK after --help or
 * --version (printed to stdout), or OPTS_EXIT_USAGE after a one-line error on stderr.
 */
int opts_parse(struct bm_opts *o, int argc, char **argv);

#endif
