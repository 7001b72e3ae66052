// SPDX-License-Identifier: BSD-2-Clause
/*
 * What a live session and a replay share: the setup once the settings are known, the sinks,
 * and each interval from its inputs to every sink (recorded with --record), so the outputs
 * cannot tell the two apart.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live.h"
#include "session.h"
#include "util.h"

/* The counters that drive the model (CPU time where there are none). */
static void model_features(const struct bm_opts *o, const int *sample_index, struct bm_features *f)
{
	memset(f, 0, sizeof(*f));
	for (int e = 0; e < o->nr_events && f->nfeat < BM_MODEL_MAX_FEATURES; e++) {
		int k = sample_index[e];

		/* Software events (cpu-clock, faults, ...) measure the OS, not the silicon. */
		if (k < 0 || o->events[e].type == PERF_TYPE_SOFTWARE)
			continue;
		f->idx[f->nfeat] = k;
		f->name[f->nfeat++] = o->events[e].name;
	}
	if (!f->nfeat) {
		f->idx[0] = BM_FEATURE_CPU;
		f->name[0] = "cpu";
		f->nfeat = 1;
	}
}

void session_setup(struct session *s, double interval_s, const char *hook,
		   const char *energy_source)
{
	const struct bm_opts *o = s->opts;
	enum group_by group;
	bool view_groups;
	struct interval_config cfg = {
		.nr_sockets = s->topo.nr_sockets,
		.have_energy = s->have_energy,
		.base_mhz = s->base_mhz,
		.idle_share = o->idle_share,
		.model = o->model,
		.static_prior_w = s->static_prior_w,
		.static_prior_sd = s->static_prior_sd,
		.estimate = s->estimating ? &s->est : NULL,
	};
	model_features(o, s->sample_index, &cfg.features);
	cfg.cycles_idx =
		report_hw_index(o->events, o->nr_events, s->sample_index, PERF_COUNT_HW_CPU_CYCLES);
	cfg.ref_cycles_idx = report_hw_index(o->events, o->nr_events, s->sample_index,
					     PERF_COUNT_HW_REF_CPU_CYCLES);
	if (s->have_energy && cfg.cycles_idx >= 0 && cfg.ref_cycles_idx >= 0 && !cfg.base_mhz)
		bm_warn("no base frequency in sysfs: one model layer for all frequencies; pass "
			"--base-freq MHz for frequency layers");
	interval_init(&s->iv, &cfg);
	s->meta = (struct bm_meta){
		.host = s->host,
		.events = o->events,
		.nr_events = o->nr_events,
		.sample_index = s->sample_index,
		.nr_online = s->topo.nr_online,
		.interval_s = interval_s,
		.hook = hook,
		.missing_note = s->missing_note[0] ? s->missing_note : NULL,
		.package_id = s->topo.package_id,
		.energy_source = s->estimating ? "estimate" : energy_source,
		.energy_note = energy_source || s->estimating ? NULL : s->energy_note,
		.estimate_method = s->estimating ? s->est.method : NULL,
		.energy_from_host =
			energy_source && s->energy.from_host[0] ? s->energy.from_host : NULL,
		.features = &s->iv.cfg.features,
		.cycles_idx = cfg.cycles_idx,
		.instructions_idx = report_hw_index(o->events, o->nr_events, s->sample_index,
						    PERF_COUNT_HW_INSTRUCTIONS),
		.ref_cycles_idx = cfg.ref_cycles_idx,
		.carbon_source = s->carbon_source,
		.carbon_over_time = o->carbon_file && !(o->carbon_g_per_kwh > 0),
	};
	/*
	 * Keys on the live view: it groups (g), from the rows of every cgroup. Not with
	 * --record, which keeps the groups' cgroup ids as they are resolved for --group-by.
	 */
	view_groups = s->live_keys && !s->by_process && !o->record_path;
	group = view_groups ? GROUP_BY_CGROUP : (enum group_by)o->group_by;
	targets_init(&s->cgroups, BM_TARGET_CGROUP, group, o->group_depth);
	targets_init(&s->procs, BM_TARGET_PROCESS, group, o->group_depth);
	s->cgroups.keep_departed = s->procs.keep_departed = outputs_has_table(&s->out);
	if (outputs_has_table(&s->out) && !s->out.live) {
		s->out.live = bm_calloc(1, sizeof(*s->out.live));
		live_view_init(s->out.live, (enum group_by)o->group_by, o->group_depth, view_groups,
			       live_color_wanted());
	}
	if (!s->readings)
		s->readings =
			bm_calloc((size_t)s->topo.nr_sockets * BM_NR_DOMAINS, sizeof(*s->readings));
	if (s->estimating)
		s->socket_cpus = bm_calloc((size_t)s->topo.nr_sockets, sizeof(*s->socket_cpus));
}

void session_estimate_from_now(struct session *s)
{
	s->iv.cfg.have_energy = false;
	s->iv.cfg.estimate = &s->est;
	if (!s->iv.estimated)
		s->iv.estimated = bm_calloc((size_t)s->topo.nr_sockets, sizeof(*s->iv.estimated));
	if (!s->socket_cpus)
		s->socket_cpus = bm_calloc((size_t)s->topo.nr_sockets, sizeof(*s->socket_cpus));
	s->meta.energy_source = "estimate";
	s->meta.energy_note = NULL;
	s->meta.estimate_method = s->est.method;
}

/* The CPUs online per socket now, for the estimate. */
static void count_socket_cpus(struct session *s)
{
	memset(s->socket_cpus, 0, (size_t)s->topo.nr_sockets * sizeof(*s->socket_cpus));
	for (int cpu = 0; cpu < s->topo.nr_cpus; cpu++)
		if (s->topo.online[cpu] && s->topo.socket[cpu] >= 0)
			s->socket_cpus[s->topo.socket[cpu]]++;
}

int session_load_carbon(struct session *s)
{
	const struct bm_opts *o = s->opts;
	char err[1024];

	if (o->carbon_g_per_kwh > 0) {
		s->carbon.constant = o->carbon_g_per_kwh;
		if (asprintf(&s->carbon_source, "--carbon-intensity %g g/kWh",
			     o->carbon_g_per_kwh) < 0)
			s->carbon_source = NULL;
	} else if (o->carbon_file) {
		if (carbon_load(&s->carbon, o->carbon_file, err, sizeof(err))) {
			bm_err("%s", err);
			return -1;
		}
		bm_debug("%s: %zu carbon intensities", o->carbon_file, s->carbon.n);
		if (asprintf(&s->carbon_source, "--carbon-intensity-file %s", o->carbon_file) < 0)
			s->carbon_source = NULL;
	}
	if ((o->carbon_g_per_kwh > 0 || o->carbon_file) && !s->carbon_source) {
		bm_err("out of memory");
		exit(1);
	}
	return 0;
}

int session_parse_outputs(struct session *s)
{
	struct bm_opts *o = s->opts;
	char err[512];

	for (int i = 0; i < o->nr_outputs; i++) {
		if (output_parse(o->outputs[i], &s->out.v[s->out.n++], err, sizeof(err))) {
			bm_err("invalid value for --output: %s", err);
			return -EINVAL;
		}
	}
	/* With a command, --csv is the summary's form and stdout is the command's. */
	if (o->command)
		return 0;
	if (o->csv && output_parse("csv:-", &s->out.v[s->out.n++], err, sizeof(err)))
		return -EINVAL;
	if (!s->out.n) {
		if (isatty(STDOUT_FILENO))
			s->out.v[s->out.n++] = (struct sink){ .kind = SINK_TABLE, .fd = -1 };
		else
			output_parse("csv:-", &s->out.v[s->out.n++], err, sizeof(err));
	}
	return 0;
}

/* What the sinks are told, from the options (the interval once it is known). */
static struct output_config output_config_of(const struct session *s)
{
	const struct bm_opts *o = s->opts;
	double interval_s = s->meta.interval_s > 0 ? s->meta.interval_s : o->interval_s;

	return (struct output_config){
		.spool_dir = o->spool_dir,
		.spool_max = o->spool_max,
		.web_config = o->web_config,
		.prom_keep_s = o->prometheus_keep_s >= 0 ? o->prometheus_keep_s
							 : prom_default_keep(interval_s),
		.interval_s = interval_s,
	};
}

int session_check_outputs(struct session *s)
{
	struct output_config cfg = output_config_of(s);

	return outputs_check(&s->out, &s->meta, &cfg);
}

int session_open_outputs(struct session *s)
{
	struct output_config cfg = output_config_of(s);

	return outputs_open(&s->out, &s->meta, &cfg);
}

/* The interval's raw inputs, before anything is split: what a replay starts from. */
static void record_inputs(struct session *s, const struct interval_inputs *in)
{
	record_interval(&s->rec, in->ts_ns, in->dt, in->overflow);
	for (int i = 0; i < in->nenergy; i++)
		record_energy(&s->rec, &in->energy[i]);
	for (size_t i = 0; i < in->nrows; i++)
		record_target(&s->rec, in->rows[i].socket, in->rows[i].target->id,
			      in->rows[i].target->name, &in->rows[i].s);
	if (in->cpus_note)
		record_cpus(&s->rec, in->nr_online, in->cpus_note);
}

int session_interval(struct session *s, int64_t ts_ns, double dt)
{
	struct targets *ts = session_rows_targets(s);
	struct interval_inputs in = {
		.ts_ns = ts_ns,
		.dt = dt,
		.overflow = s->overflow,
		.energy = s->readings,
		.nenergy = s->nreadings,
		.nr_online = s->topo.nr_online,
		.cpus_note = s->cpus_note[0] ? s->cpus_note : NULL,
		.carbon_g_per_kwh = carbon_at(&s->carbon, ts_ns),
	};
	struct bm_interval out;

	for (int i = 0; i < s->nreadings; i++)
		s->reported_domains |= 1u << s->readings[i].domain;
	/* Into the interval's own rows: 10,000 targets make 2 MB of them, not copied again. */
	in.nrows = interval_gather(session_rows_account(s), ts, s->topo.nr_sockets, &s->iv.rows,
				   &s->iv.cap);
	in.rows = s->iv.rows;
	if (s->estimating) {
		count_socket_cpus(s);
		in.socket_cpus = s->socket_cpus;
		/* The estimate is the package's, made in interval_run(). */
		s->reported_domains |= 1u << BM_DOMAIN_PACKAGE;
	}
	/* A recording keeps what was measured: an estimate is not (it replays as CPU shares). */
	if (s->recording)
		record_inputs(s, &in);
	targets_resolve_groups(ts, s->resolve_group, s);
	interval_run(&s->iv, &in, &out);
	if (out.overflow && !s->overflow_warned) {
		bm_warn("more than %llu %s ran: the rest are charged to the target \"overflow\"; "
			"raise --max-cgroups",
			(unsigned long long)s->opts->max_cgroups,
			s->by_process ? "processes" : "cgroups");
		s->overflow_warned = true;
	}
	if (s->export.dir)
		export_powercap_interval(&s->export, &out);
	return outputs_interval(&s->out, &s->meta, &out);
}

void session_target_gone(struct session *s, struct account *a, struct targets *ts, uint64_t id)
{
	if (s->recording && a == session_rows_account(s))
		record_gone(&s->rec, id);
	account_forget(a, id);
	targets_remove(ts, id);
}

void session_summary(struct session *s, double elapsed)
{
	struct targets *ts = session_rows_targets(s);
	struct bm_row *rows = bm_calloc(targets_summary_cap(ts), sizeof(*rows));
	/* The domains measured: one whose counter never counted has no total, not a 0. */
	size_t n = targets_summary(ts, rows, s->reported_domains);
	struct bm_co2e_summary co2e = {
		.host_g = s->iv.measured_co2e_g,
		.intervals = s->iv.intervals,
		.with_intensity = s->iv.carbon_intervals,
	};

	outputs_summary(&s->out, &s->meta, rows, n, elapsed, s->carbon_source ? &co2e : NULL);
	free(rows);
}
