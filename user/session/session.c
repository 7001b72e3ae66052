// SPDX-License-Identifier: BSD-2-Clause
/*
 * The measuring session: load the sensor, then one interval after another on a monotonic
 * timer until the duration, a signal or the measured command ends it.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "caps.h"
#include "notify.h"
#include "out_command.h"
#include "preflight.h"
#include "session.h"
#include "settings.h"
#include "live.h"
#include "term.h"
#include "util.h"

static volatile sig_atomic_t stop_signal, child_exited, reopen_signal;

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		child_exited = 1;
	else if (sig == SIGHUP)
		reopen_signal = 1;
	else
		stop_signal = sig;
}

void session_init(struct session *s, struct bm_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->opts = o;
}

void session_free(struct session *s)
{
	/* SIGTERM or not, give InfluxDB a few seconds; what it does not take stays spooled. */
	outputs_close(&s->out, 5);
	if (s->state_on)
		close(s->state_lock_fd);
	sensor_close(&s->sensor);
	if (s->energy.dropped)
		bm_debug("energy: %llu impossible readings dropped",
			 (unsigned long long)s->energy.dropped);
	energy_close(&s->energy);
	export_powercap_free(&s->export);
	free(s->readings);
	free(s->socket_cpus);
	interval_free(&s->iv);
	account_free(&s->acct);
	account_free(&s->pacct);
	targets_free(&s->cgroups);
	targets_free(&s->procs);
	cgroup_names_free(&s->names);
	topology_free(&s->topo);
	carbon_free(&s->carbon);
	free(s->carbon_source);
}

struct account *session_rows_account(struct session *s)
{
	return s->by_process ? &s->pacct : &s->acct;
}

struct targets *session_rows_targets(struct session *s)
{
	return s->by_process ? &s->procs : &s->cgroups;
}

/* Attached, the outputs open: a service manager waiting for readiness may go on. */
static void session_notify_ready(struct session *s)
{
	char status[256];

	snprintf(status, sizeof(status), "measuring: %s/sched_switch, energy from %s",
		 s->sensor.attach_kind,
		 s->have_energy	 ? s->energy.ops->name
		 : s->estimating ? "estimate"
				 : "none");
	notify_ready(status);
}

/*
 * SIGHUP, between two intervals: the file sinks opened again (logrotate moved them away), the
 * carbon intensity file read again; one that no longer reads keeps the values read before.
 * The service manager sees it as a reload (ExecReload sends the SIGHUP).
 */
static void session_reopen(struct session *s)
{
	char err[1024];

	notify_reloading();
	outputs_reopen(&s->out, &s->meta);
	if (s->opts->carbon_file) {
		if (carbon_load(&s->carbon, s->opts->carbon_file, err, sizeof(err)))
			bm_warn("%s; keeping the carbon intensities read before", err);
		else
			bm_debug("%s read again: %zu carbon intensities", s->opts->carbon_file,
				 s->carbon.n);
	}
	session_notify_ready(s);
}

/* A process's name for --by process: "comm[tgid]", read once when it is first seen. */
static void name_process(struct session *s, struct bm_target *t)
{
	char path[64], comm[32], name[64];

	snprintf(path, sizeof(path), "/proc/%llu/comm", (unsigned long long)t->id);
	if (bm_read_file(path, comm, sizeof(comm)))
		snprintf(comm, sizeof(comm), "pid");
	snprintf(name, sizeof(name), "%s[%llu]", comm, (unsigned long long)t->id);
	targets_set_name(&s->procs, t, name);
}

/*
 * Name the targets that ran this interval. Every cgroup name is looked up before any is
 * copied: a walk of the tree for a new id may rename the entries seen before it.
 */
static void learn_cgroup(uint64_t id, const char *path, void *ctx)
{
	cgroup_names_learn(ctx, id, path);
}

static void name_targets(struct session *s, struct account *a, struct targets *ts)
{
	/* Names only change for new targets, or where a cgroup's path did: not every interval. */
	bool changed = s->names_version != s->names.version;

	sensor_poll_cgroups(&s->sensor, learn_cgroup, &s->names);
	s->names.may_rescan = true;
	for (size_t i = 0; i < a->targets.n && ts->kind == BM_TARGET_CGROUP; i++) {
		struct account_target *t = idvec_at(&a->targets, i);

		if (t->active && t->fresh && targets_special_kind(t->id) < 0)
			cgroup_names_get(&s->names, t->id);
	}
	changed |= s->names_version != s->names.version;
	for (size_t i = 0; i < a->targets.n; i++) {
		struct account_target *at = idvec_at(&a->targets, i);
		bool created;
		struct bm_target *t;

		if (!at->active || !(at->fresh || changed))
			continue;
		t = targets_get(ts, at->id, &created);
		at->fresh = false;
		if (targets_special_kind(at->id) >= 0)
			continue;
		if (ts->kind == BM_TARGET_PROCESS) {
			if (created)
				name_process(s, t);
		} else {
			targets_set_name(ts, t, cgroup_names_get(&s->names, at->id));
		}
	}
	s->names_version = s->names.version;
}

/* Live: a group's cgroup id from the tree, recorded where it is new. */
static int resolve_group_live(const char *key, uint64_t *id, void *ctx)
{
	struct session *s = ctx;
	char path[8192];
	uint64_t found;

	snprintf(path, sizeof(path), "%s%s", s->names.mount, strcmp(key, "/") ? key : "");
	if (cgroup_id_of(path, &found))
		return -ENOENT;
	if (s->recording && found != *id)
		record_group(&s->rec, found, key);
	*id = found;
	return 0;
}

/* Forget the cgroups that are gone, once their last interval is out. */
static void reap_gone(struct session *s)
{
	for (size_t i = 0; i < s->acct.targets.n;) {
		struct account_target *t = idvec_at(&s->acct.targets, i);
		uint64_t id = t->id;

		if (t->active || targets_special_kind(id) >= 0 ||
		    !cgroup_names_is_gone(&s->names, id)) {
			i++;
			continue;
		}
		bm_debug("cgroup %llu is gone: its last interval is out, forgotten",
			 (unsigned long long)id);
		session_target_gone(s, &s->acct, &s->cgroups, id);
		cgroup_names_forget(&s->names, id);
	}
	/* Processes that have exited: the same, once their last interval is out. */
	for (size_t i = 0; s->by_process && i < s->pacct.targets.n;) {
		struct account_target *t = idvec_at(&s->pacct.targets, i);
		uint64_t id = t->id;

		if (t->active || targets_special_kind(id) >= 0 ||
		    !(kill((pid_t)id, 0) && errno == ESRCH)) {
			i++;
			continue;
		}
		session_target_gone(s, &s->pacct, &s->procs, id);
	}
}

static void on_entry(uint64_t key, int cpu, const struct bm_acct *sums, void *ctx)
{
	account_charge(ctx, key, cpu, sums);
}

/*
 * Every CPU's slice so far, into the accounts: at the baseline and at each interval's end.
 * reset: the CPUs whose readings are their new baseline this time (hotplug), or NULL.
 */
static int read_sensor(struct session *s, const bool *reset)
{
	int err = sensor_flush(&s->sensor);

	if (err)
		return err;
	account_begin(&s->acct);
	account_reset_cpus(&s->acct, reset);
	err = sensor_read(&s->sensor, on_entry, &s->acct);
	if (!err && s->by_process) {
		account_begin(&s->pacct);
		account_reset_cpus(&s->pacct, reset);
		err = sensor_read_procs(&s->sensor, on_entry, &s->pacct);
	}
	return err;
}

/* CPUs that came or went this interval: the note the outputs carry, and one line each. */
static void note_cpus(struct session *s, const struct sensor_cpus *c)
{
	size_t off = 0;

	s->cpus_note[0] = '\0';
	for (int cpu = 0; cpu < s->topo.nr_cpus; cpu++) {
		const char *what = c->down[cpu]	     ? "went offline"
				   : c->unknown[cpu] ? "came online in a package unknown at the "
						       "start: not measured"
				   : !c->up[cpu]     ? NULL
				   : c->no_counters[cpu]
					   ? "came online: measured again, some of its "
					     "counters not"
					   : "came online: measured again";

		if (!what)
			continue;
		bm_warn("cpu %d %s", cpu, what);
		if (off < sizeof(s->cpus_note))
			off += (size_t)snprintf(s->cpus_note + off, sizeof(s->cpus_note) - off,
						"%scpu %d %s", off ? "; " : "", cpu, what);
	}
}

/* Counter reads that failed in BPF: said once, when they first happen. */
static void note_read_failures(struct session *s)
{
	uint64_t n = sensor_read_failures(&s->sensor);

	if (n && !s->read_fail_warned) {
		bm_warn("%llu counter reads failed: those slices kept their CPU time and lost "
			"their "
			"counter deltas",
			(unsigned long long)n);
		s->read_fail_warned = true;
	}
}

/*
 * Counters the PMU multiplexed this interval (more events than it has counters): with -v, one
 * line naming each with the share of its enabled time it counted, as its counts are scaled up
 * by enabled / running and are the less precise for it.
 */
static void note_multiplexing(struct session *s)
{
	char list[BM_MAX_EVENTS * (BM_EVENT_NAME_MAX + 16)];
	size_t off = 0;

	if (!bm_verbose)
		return;
	for (int r = 0; r < s->opts->nr_events; r++) {
		int e = s->sensor.bpf_index[r];
		double share = e >= 0 ? account_counted_share(&s->acct, e) : 1;

		if (share >= 1)
			continue;
		off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0,
					"%s%s %.1f%%", off ? ", " : "", s->opts->events[r].name,
					100 * share);
	}
	if (off)
		bm_debug("multiplexed this interval (share of the enabled time counted): %s; "
			 "counts scaled by enabled/running",
			 list);
}

/*
 * The cgroups' session totals where the rows are processes (--by process): CPU time and
 * counters, for the measured command's summary. Their energy is split by process only.
 */
static void charge_cgroups(struct session *s)
{
	for (size_t i = 0; i < s->acct.targets.n; i++) {
		struct account_target *at = idvec_at(&s->acct.targets, i);
		struct bm_target *t;

		if (!at->active || targets_special_kind(at->id) >= 0)
			continue;
		t = targets_get(&s->cgroups, at->id, NULL);
		targets_set_name(&s->cgroups, t, cgroup_names_get(&s->names, at->id));
		for (int k = 0; k < s->topo.nr_sockets; k++) {
			t->total.cpu_ns += at->cur[k].cpu_ns;
			for (int e = 0; e < s->acct.nr_events; e++)
				t->total.ev[e] += at->cur[k].ev[e];
		}
	}
}

static void state_keep(struct session *s);

/*
 * Every counter was dropped (it stopped, or never counted): the session goes on as one that
 * found no energy source, with CPU shares and no watts. What the models learnt from the
 * readings before is kept; the state is not written again.
 */
static void session_energy_lost(struct session *s)
{
	bm_warn("no energy counter of %s counts any more: going on without energy (%s)",
		s->energy.ops->name,
		s->opts->estimate ? "--estimate: estimated from here on" : "CPU shares, no watts");
	snprintf(s->energy_note, sizeof(s->energy_note), "none counting (%s)",
		 s->energy.dropped_why);
	s->have_energy = false;
	s->nreadings = 0;
	s->meta.energy_source = NULL;
	s->meta.energy_note = s->energy_note;
	if (s->state_on) {
		s->state_dirty = true;
		state_keep(s);
		close(s->state_lock_fd);
		s->state_on = false;
	} /* --estimate: where nothing measures any more, the estimate stands in from now on. */
	if (s->opts->estimate && !session_use_estimate(s) && s->estimating)
		session_estimate_from_now(s);
}

static int measure_interval(struct session *s, double *t_prev)
{
	double t = bm_now_mono();
	const struct sensor_cpus *cpus;
	struct timespec end;
	int64_t ts_ns;
	int err;

	clock_gettime(CLOCK_REALTIME, &end);
	ts_ns = (int64_t)end.tv_sec * 1000000000 + end.tv_nsec;

	/* Energy first: its reading and the interval's timestamp are then microseconds apart. */
	if (s->have_energy) {
		energy_poll(&s->energy, t);
		s->nreadings = energy_take(&s->energy, s->readings);
		if (!energy_domains_left(&s->energy))
			session_energy_lost(s);
	}
	err = sensor_update_cpus(&s->sensor, &cpus);
	if (err)
		return err;
	if (cpus->nr_up || cpus->nr_down || cpus->nr_unknown)
		note_cpus(s, cpus);
	else
		s->cpus_note[0] = '\0';
	err = read_sensor(s, cpus->reset);
	if (err)
		return err;
	s->overflow =
		s->by_process ? sensor_proc_overflows(&s->sensor) : sensor_overflows(&s->sensor);
	/* With --by process the rows are processes, but a full cgroup map is news too. */
	if (s->by_process && sensor_overflows(&s->sensor) && !s->cgroup_overflow_warned) {
		bm_warn("more than %llu cgroups ran: the rest are charged to the cgroup "
			"\"overflow\"; raise --max-cgroups",
			(unsigned long long)s->opts->max_cgroups);
		s->cgroup_overflow_warned = true;
	}
	note_read_failures(s);
	note_multiplexing(s);
	name_targets(s, session_rows_account(s), session_rows_targets(s));
	if (s->by_process && s->have_cmd)
		charge_cgroups(s);
	err = session_interval(s, ts_ns, t - *t_prev);
	*t_prev = s->t_last = t;
	reap_gone(s);
	if (s->recording)
		record_flush(&s->rec);
	return err;
}

static void describe_missing(struct session *s)
{
	size_t off = 0;

	for (int i = 0; i < s->sensor.nr_missing; i++) {
		const struct sensor_missing *m = &s->sensor.missing[i];

		off += (size_t)snprintf(s->missing_note + off, sizeof(s->missing_note) - off,
					"%s%s (%s)", i ? ", " : "", s->opts->events[m->event].name,
					sensor_event_errstr(m->err));
		if (off >= sizeof(s->missing_note))
			break;
	}
	if (s->sensor.nr_missing)
		bm_warn("events not available, measuring without them: %s", s->missing_note);
}

/*
 * The nominal frequency that ref-cycles and the TSC count at, where cpufreq does not give
 * base_frequency: Intel names it in the model name ("... @ 2.20GHz"). 0 when unknown.
 */
static double nominal_mhz(const char *cpuinfo)
{
	char *line = NULL, *at;
	size_t cap = 0;
	double ghz = 0;
	FILE *f = fopen(cpuinfo, "re");

	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "model name", 10))
			continue;
		at = strrchr(line, '@');
		if (!at || sscanf(at + 1, "%lfGHz", &ghz) != 1)
			ghz = 0;
		break;
	}
	free(line);
	fclose(f);
	return ghz * 1000;
}

/* The frequency ref-cycles count at: --base-freq, cpufreq's base_frequency, or cpuinfo's. */
static double base_mhz(const struct bm_opts *o)
{
	char buf[64];
	uint64_t khz;

	if (o->base_mhz)
		return o->base_mhz;
	if (!bm_read_file(BM_SYSFS_CPU "/cpu0/cpufreq/base_frequency", buf, sizeof(buf)) &&
	    !bm_parse_u64(buf, 1, UINT32_MAX, &khz))
		return (double)khz / 1000;
	return nominal_mhz("/proc/cpuinfo");
}

/* The cpuinfo to read: /proc/cpuinfo, or $BPFMETER_CPUINFO (the tests' hook). */
static const char *cpuinfo_path(void)
{
	const char *path = getenv("BPFMETER_CPUINFO");

	return path && *path ? path : energy_default_paths.cpuinfo;
}

/*
 * What the CPU table knows of the package's static power before the models have evidence:
 * the idle point of the part's curve (0.12 x its TDP, or --tdp's), give or take half of it.
 * Only on a machine of its own: in a VM the package measured (passed through from a host, a
 * simulator) is no part the table can name, and an Arm entry is a core's share of a SoC.
 */
static void static_prior(struct session *s)
{
	const struct bm_opts *o = s->opts;
	const struct cpu_part *p;
	struct cpu_ident id;
	char cpu[160];
	double tdp;

	if (estimate_read_cpuinfo(cpuinfo_path(), &id) || id.hypervisor)
		return;
	p = estimate_find(&id);
	if (o->tdp_given)
		tdp = o->model.tdp;
	else if (p && !estimate_part_per_core(p))
		tdp = p->tdp_w;
	else
		return;
	s->static_prior_w = estimate_tdp_ratio[0] * tdp;
	s->static_prior_sd = s->static_prior_w / 2;
	estimate_cpu_text(&id, cpu, sizeof(cpu));
	bm_debug("model prior: package static power %.1f W a socket, give or take %.1f W "
		 "(%g x TDP %g W of %s), until the load's changes tell",
		 s->static_prior_w, s->static_prior_sd, estimate_tdp_ratio[0], tdp, cpu);
}

/*
 * How long a counter that counted may stand still before it is dropped: BM_ENERGY_STALL_S
 * or 10 intervals, where longer, so that a long interval sees it still at several polls.
 * BPFMETER_ENERGY_STALL_S sets it (tests, which cannot wait that long).
 */
static int stall_seconds(const struct bm_opts *o, double *stall_s)
{
	const char *env = getenv("BPFMETER_ENERGY_STALL_S");

	*stall_s = fmax(BM_ENERGY_STALL_S, 10 * o->interval_s);
	if (env && bm_parse_seconds(env, 0.01, 86400, stall_s)) {
		bm_err("BPFMETER_ENERGY_STALL_S=%s: expected seconds (0.01 to 86400), such as 2 or "
		       "500ms",
		       env);
		return -EINVAL;
	}
	return 0;
}

int session_open_energy(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct energy_paths paths = energy_default_paths;
	enum energy_kind kind = o->energy_kind;
	char why[900], what[512] = "";
	size_t off = 0;
	int err, live = 0;

	if (o->estimate_only)
		return session_use_estimate(s);
	if (kind == ENERGY_NONE) {
		snprintf(s->energy_note, sizeof(s->energy_note),
			 "not measured (--energy-source none)");
		return 0;
	}
	if (o->powercap_root) {
		/* A tree named on purpose: no silent fallback to another source. */
		paths.powercap = o->powercap_root;
		if (kind == ENERGY_AUTO)
			kind = ENERGY_POWERCAP;
	}
	err = energy_open(&s->energy, kind, &paths, &s->topo, why, sizeof(why));
	if (err) {
		if (kind != ENERGY_AUTO) {
			bm_err("no energy from %s: %s", energy_kind_name(kind), why);
			return err;
		}
		snprintf(s->energy_note, sizeof(s->energy_note), "none found (%s)", why);
		if (o->estimate) {
			fprintf(stderr, "bpfmeter: no energy source found (%s)\n", why);
			return session_use_estimate(s);
		}
		bm_warn("no energy source found (%s): showing CPU shares, no watts", why);
		return 0;
	}
	s->have_energy = true;
	err = stall_seconds(o, &s->energy.stall_s);
	if (err)
		return err;
	/* After the source: it may have added sockets. */
	s->readings = bm_calloc((size_t)s->topo.nr_sockets * BM_NR_DOMAINS, sizeof(*s->readings));
	for (int i = 0; i < s->energy.n; i++) {
		s->energy_domains |= 1u << s->energy.c[i].domain;
		live += !s->energy.c[i].dead; /* a zone left out is kept dead (powercap) */
	}
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		if (!(s->energy_domains & (1u << d)))
			continue;
		off += (size_t)snprintf(what + off, sizeof(what) - off, "%s%s", off ? ", " : "",
					energy_domain_name((enum bm_domain)d));
	}
	fprintf(stderr, "bpfmeter: energy from %s%s%s%s: %s on %d socket%s (%d counter%s)\n",
		s->energy.ops->name, s->energy.from_host[0] ? " (passed through from host " : "",
		s->energy.from_host, s->energy.from_host[0] ? ")" : "", what, s->topo.nr_sockets,
		s->topo.nr_sockets > 1 ? "s" : "", live, live > 1 ? "s" : "");
	return 0;
}

int session_estimate_setup(struct session *s, struct estimate *e, char *why, size_t whylen)
{
	const struct bm_opts *o = s->opts;
	const char *cpuinfo = cpuinfo_path();
	struct estimate_request req = {
		.tdp_w = o->tdp_given ? o->model.tdp : -1,
		.idle_w = o->estimate_idle_w,
		.max_w = o->estimate_max_w,
	};
	struct cpu_ident id;
	int cpus = s->topo.nr_sockets > 0 ? s->topo.nr_online / s->topo.nr_sockets : 1;
	int err;

	err = estimate_read_cpuinfo(cpuinfo, &id);
	if (err) {
		snprintf(why, whylen, "cannot read %s: %s; CPU shares only", cpuinfo,
			 strerror(-err));
		return -ENOENT;
	}
	return estimate_setup(e, &id, &req, cpus, why, whylen);
}

int session_use_estimate(struct session *s)
{
	char why[512];
	int err = session_estimate_setup(s, &s->est, why, sizeof(why));

	if (err == -EINVAL) {
		bm_err("%s", why);
		return err;
	}
	if (err) {
		bm_warn("%s", why);
		snprintf(s->energy_note, sizeof(s->energy_note), "not estimated (%s)", why);
		return 0;
	}
	s->estimating = true;
	s->energy_domains = 1u << BM_DOMAIN_PACKAGE;
	fprintf(stderr,
		"bpfmeter: nothing measures energy here: package power ESTIMATED from CPU "
		"utilisation (%s), not measured\n",
		s->est.method);
	return 0;
}

/*
 * Sleep until the end of the interval (or a signal). Long intervals are cut into polls of
 * the energy counters, so no counter wraps twice between two reads.
 */
/*
 * After a stall (the process stopped, or starved of CPU) the deadlines that went by are
 * skipped: the interval just measured is one long one, and the next ends on schedule, not a
 * run of back-to-back intervals of microseconds to catch up.
 */
static void skip_missed(struct session *s, double *next)
{
	double iv = s->opts->interval_s, late = bm_now_mono() - *next;
	double missed = floor(late / iv);

	if (missed < 1)
		return;
	*next += missed * iv;
	if (!s->stall_warned)
		bm_warn("the measuring loop was stalled %.3f s (stopped, or starved of CPU): one "
			"interval of that length, %.0f deadline%s skipped",
			late, missed, missed == 1 ? "" : "s");
	else
		bm_debug("stalled %.3f s: %.0f deadlines skipped", late, missed);
	s->stall_warned = true;
}

/* The keys read: what each does to the view. Returns 1 when the interval is to end now. */
static int read_keys(struct session *s)
{
	unsigned char buf[64];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	bool redraw = false;
	int end = 0;

	if (n <= 0) {
		/* The terminal is gone (end of file, hung up): no more keys; SIGHUP ends it. */
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			s->keys_on = false;
			term_restore();
		}
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		switch (live_view_key(s->out.live, buf[i])) {
		case LIVE_NONE:
			break;
		case LIVE_REDRAW:
			redraw = true;
			break;
		case LIVE_REFRESH:
			s->refresh_now = true;
			end = 1;
			break;
		case LIVE_QUIT:
			stop_signal = SIGINT;
			end = 1;
			break;
		}
	}
	if (redraw && !end)
		outputs_redraw(&s->out);
	return end;
}

/*
 * Until wake, a key or a signal: 1 when a key ends the interval, 0 otherwise (the time came,
 * a signal, a key that only changed the view), -errno.
 */
static int wait_keys(struct session *s, double wake)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	double left = wake - bm_now_mono();
	struct timespec ts;
	int n;

	if (term_redraw) {
		term_redraw = 0;
		outputs_redraw(&s->out);
	}
	if (left < 0)
		left = 0;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	n = ppoll(&p, 1, &ts, NULL);
	if (n < 0 && errno != EINTR) {
		bm_err("ppoll: %s", strerror(errno));
		return -errno;
	}
	if (term_redraw) {
		term_redraw = 0;
		outputs_redraw(&s->out);
	}
	if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
		return read_keys(s);
	return 0;
}

static int sleep_until(struct session *s, double deadline)
{
	double poll = s->have_energy && s->energy.max_poll_s > 0 ? s->energy.max_poll_s / 2 : 0;

	for (;;) {
		double wake = poll > 0 ? fmin(deadline, s->energy.last_poll + poll) : deadline;
		struct timespec ts = { .tv_sec = (time_t)wake };
		int err;

		/*
		 * Between intervals, so no sink is in the middle of one. On the live view the
		 * terminal hung up: the session ends, as on Ctrl-C.
		 */
		if (reopen_signal) {
			reopen_signal = 0;
			if (outputs_has_table(&s->out))
				stop_signal = SIGHUP;
			else
				session_reopen(s);
		}
		/* A measured command gets the signal; we go on until it has ended. */
		if (s->have_cmd && stop_signal) {
			command_forward(&s->cmd, stop_signal);
			stop_signal = 0;
		}
		if (stop_signal || (s->have_cmd && child_exited))
			return 0;
		if (s->keys_on) {
			int keys = wait_keys(s, wake);

			if (keys < 0)
				return keys;
			if (keys > 0 || stop_signal)
				return 0;
			if (bm_now_mono() < wake)
				continue;
			if (wake >= deadline)
				return 0;
			energy_poll(&s->energy, bm_now_mono());
			continue;
		}
		ts.tv_nsec = (long)((wake - (double)ts.tv_sec) * 1e9);
		err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (err && err != EINTR) {
			bm_err("clock_nanosleep: %s", strerror(err));
			return -err;
		}
		if (err)
			continue;
		if (wake >= deadline)
			return 0;
		energy_poll(&s->energy, bm_now_mono());
	}
}

/* perf stat's manner: what the command used, on stderr (as CSV with --csv). */
static void command_summary(struct session *s)
{
	struct command_report r = {
		.exit_status = s->exit_status,
		.wall_s = s->cmd.ended - s->cmd.started,
		.domains = s->reported_domains,
		.host_j = s->iv.measured_j,
		.have_energy = s->reported_domains != 0 || s->estimating,
		.energy_split = !s->by_process,
		.by_model = s->iv.any_model,
		.host_co2e_g = s->iv.measured_co2e_g,
		.intervals = s->iv.intervals,
		.carbon_intervals = s->iv.carbon_intervals,
	};
	size_t rl = strlen(s->cmd.rel), off = 0;
	char cmdline[512] = "";

	for (char *const *a = s->cmd.argv; *a && off < sizeof(cmdline); a++)
		off += (size_t)snprintf(cmdline + off, sizeof(cmdline) - off, "%s%s",
					a == s->cmd.argv ? "" : " ", *a);
	r.cmdline = cmdline;
	for (size_t i = 0; i < s->cgroups.ids.n; i++) {
		const struct bm_target *t = targets_at(&s->cgroups, i);
		const char *name = t->name;

		/* The command's cgroup and any it made below it. */
		if (t->kind != BM_TARGET_CGROUP || !name || strncmp(name, s->cmd.rel, rl) ||
		    (name[rl] && name[rl] != '/'))
			continue;
		r.sum.cpu_ns += t->total.cpu_ns;
		for (int e = 0; e < BM_MAX_EVENTS; e++)
			r.sum.ev[e] += t->total.ev[e];
		for (int d = 0; d < BM_NR_DOMAINS; d++) {
			r.sum.energy_j[d] += t->total.energy_j[d];
			r.sum.co2e_g[d] += t->total.co2e_g[d];
		}
	}
	command_report_print(stderr, &s->meta, &r, s->opts->csv);
}

/* --record: the file, and what the session measures under. */
static int start_recording(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct recorder *r = &s->rec;
	char list[1024] = "";
	size_t off = 0;

	if (record_open(r, o->record_path, o->events, o->nr_events, s->sample_index))
		return -EIO;
	s->recording = true;
	record_meta(r, "version", "%s", BPFMETER_VERSION);
	record_meta(r, "host", "%s", s->host);
	record_meta(r, "hook", "%s", s->sensor.attach_kind);
	record_meta(r, "nr_online", "%d", s->topo.nr_online);
	record_meta(r, "interval_s", "%.17g", o->interval_s);
	record_meta(r, "sockets", "%d", s->topo.nr_sockets);
	for (int i = 0; i < s->topo.nr_sockets && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", i ? ";" : "",
					s->topo.package_id[i]);
	record_meta(r, "package_ids", "%s", list);
	if (s->missing_note[0])
		record_meta(r, "missing_note", "%s", s->missing_note);
	if (s->have_energy) {
		record_meta(r, "energy_source", "%s", s->energy.ops->name);
		off = 0;
		list[0] = '\0';
		for (int d = 0; d < BM_NR_DOMAINS && off < sizeof(list); d++)
			if (s->energy_domains & (1u << d))
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							off ? ";" : "",
							energy_domain_name((enum bm_domain)d));
		record_meta(r, "domains", "%s", list);
		record_meta(r, "base_mhz", "%.17g", s->base_mhz);
		if (s->static_prior_sd > 0) {
			record_meta(r, "static_prior_w", "%.17g", s->static_prior_w);
			record_meta(r, "static_prior_sd", "%.17g", s->static_prior_sd);
		}
	} else {
		record_meta(r, "energy_note", "%s", s->energy_note);
	}
	record_meta(r, "by", "%s", s->by_process ? "process" : "cgroup");
	settings_record(r, o);
	record_flush(r);
	return r->failed ? -EIO : 0;
}

/*
 * --state-dir: the models an earlier session left under the same host and settings, and
 * whether they can be kept. Whatever goes wrong is one warning: measuring goes on.
 */
static void state_begin(struct session *s)
{
	const char *dir = s->opts->state_dir;
	unsigned int fitted = 0;
	char why[2048];
	int err;

	/* Without energy there are no models to keep. */
	if (!s->have_energy || !dir || !*dir)
		return;
	/*
	 * A recording replays from no model: so does the session it records, to give the same
	 * rows; and models that started from nothing do not replace the state either.
	 */
	if (s->recording) {
		bm_debug("--record: the models start afresh, as in the replay; the state in %s is "
			 "neither read nor written",
			 dir);
		return;
	}
	state_identity_init(&s->state_id, s->host, &s->iv.cfg, s->topo.package_id,
			    s->energy_domains);
	err = state_load(dir, &s->state_id, &s->iv, why, sizeof(why));
	if (err && err != -ENOENT)
		bm_warn("model state %s/%s not used: %s", dir, STATE_FILE, why);
	for (int i = 0; !err && i < s->topo.nr_sockets * BM_NR_DOMAINS; i++)
		for (int k = 0; k < s->iv.models[i].nlayers; k++)
			fitted += s->iv.models[i].layers[k].id != 0;
	if (!err)
		fprintf(stderr,
			"bpfmeter: model state from %s/%s: %u fitted layer%s, model ids up to %u\n",
			dir, STATE_FILE, fitted, fitted == 1 ? "" : "s", s->iv.next_model_id);
	/* Loaded or not, another bpfmeter that keeps its models there goes on doing so alone. */
	err = state_lock(dir, why, sizeof(why));
	if (err < 0) {
		bm_warn("cannot keep the model state: %s; measuring goes on without it", why);
		return;
	}
	s->state_lock_fd = err;
	s->state_on = true;
	s->state_next = bm_now_mono() + STATE_SAVE_PERIOD_S;
}

/* The models to --state-dir, when they learnt anything since the last time. */
static void state_keep(struct session *s)
{
	char why[1024];

	/* Models that never had a reading learnt nothing to keep. */
	if (!s->state_on || !s->state_dirty || !s->reported_domains)
		return;
	s->state_dirty = false;
	s->state_next = bm_now_mono() + STATE_SAVE_PERIOD_S;
	if (!state_save(s->opts->state_dir, &s->state_id, &s->iv, why, sizeof(why)))
		return;
	if (!s->state_warned)
		bm_warn("cannot keep the model state: %s; measuring goes on without it", why);
	else
		bm_debug("cannot keep the model state: %s", why);
	s->state_warned = true;
}

/*
 * Loaded, attached, the energy counters, the recording and the file sinks open: what only
 * starting needed goes. Before the outputs' threads start (capabilities are per thread), so
 * that they start without it.
 */
static void drop_privileges(const struct session *s)
{
	char kept[64];
	int err = caps_drop(s->have_cmd, s->sensor.nr_events > 0, kept, sizeof(kept));

	if (err)
		bm_warn("cannot drop the capabilities bpfmeter no longer needs: %s; measuring goes "
			"on with them",
			strerror(-err));
	else
		bm_debug("capabilities: kept %s, dropped the rest", kept);
}

/* Up to the first interval: checks, the sensor, the baseline. Returns 0 or the exit status. */
static int session_start(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct sensor_config cfg;
	char mount[4096];
	int err;

	if (preflight_cgroup2(mount, sizeof(mount)) || cgroup_names_init(&s->names, mount))
		return 1;
	if (preflight_sensor_config(o, &cfg))
		return 2;
	/* What a bpfmeter -- CMD killed outright left behind. */
	command_clean_stale(mount);
	if (o->command) {
		if (command_prepare(&s->cmd, mount, o->command))
			return 1;
		s->have_cmd = true;
	}
	if (cgroup_names_scan(&s->names))
		bm_warn("cannot walk the cgroup2 tree at %s: %s", mount, strerror(errno));
	cfg.expected_targets = s->names.ids.n;

	/*
	 * Outputs first: a file that cannot take our rows, a port in use or a web config that
	 * does not load fails before anything is loaded.
	 */
	s->meta = (struct bm_meta){ .events = o->events, .nr_events = o->nr_events };
	if (session_check_outputs(s) || session_load_carbon(s))
		return 2;
	if (o->export_powercap && export_powercap_check(o->export_powercap))
		return 2;
	if (o->record_path && !access(o->record_path, F_OK)) {
		bm_err("--record %s: the file exists; a recording is never overwritten: give a "
		       "new path",
		       o->record_path);
		return 2;
	}
	if (topology_load(&s->topo, BM_SYSFS_CPU, libbpf_num_possible_cpus()))
		return 1;
	/* A --btf file that does not do is bad input (2), whatever the privileges. */
	if (preflight_btf(o->btf_path))
		return o->btf_path ? 2 : 1;
	if (preflight_privileges())
		return 1;
	preflight_raise_fd_limit();
	err = session_open_energy(s);
	if (err)
		return err == -EINVAL ? 2 : 1;
	if (o->export_powercap && !s->have_energy) {
		bm_err("--export-powercap %s: no energy is measured here (%s): there is nothing to "
		       "pass through to VMs; run it on a host with RAPL",
		       o->export_powercap, s->estimating ? "estimated only" : s->energy_note);
		return 1;
	}
	if (sensor_open(&s->sensor, &s->topo, &cfg))
		return 1;
	/* The cgroups made between the walk and the cgroup_mkdir hook's attach. */
	if (s->sensor.mkdir_ok)
		cgroup_names_scan(&s->names);
	describe_missing(s);
	bm_debug("attached %s/sched_switch; %d of %d events counting; accounting map: %u "
		 "(cgroup, CPU) pairs of %u bytes, resized to what runs up to %u",
		 s->sensor.attach_kind, s->sensor.nr_events, o->nr_events,
		 s->sensor.acct[0].entries, bm_pair_size((__u32)s->sensor.nr_events),
		 s->sensor.max_entries);

	for (int e = 0; e < o->nr_events; e++)
		s->sample_index[e] = s->sensor.bpf_index[e];
	if (o->host)
		snprintf(s->host, sizeof(s->host), "%s", o->host);
	else
		gethostname(s->host, sizeof(s->host) - 1);
	if (o->export_powercap)
		export_powercap_init(&s->export, o->export_powercap, s->host);
	account_init(&s->acct, &s->topo, s->sensor.nr_events);
	account_init(&s->pacct, &s->topo, s->sensor.nr_events);
	if (s->have_energy) {
		s->base_mhz = base_mhz(o);
		static_prior(s);
	}
	s->live_keys = outputs_has_table(&s->out) && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	session_setup(s, o->interval_s, s->sensor.attach_kind,
		      s->have_energy ? s->energy.ops->name : NULL);
	s->resolve_group = resolve_group_live;
	if (o->record_path && start_recording(s))
		return 1;
	state_begin(s);

	/* Baseline: what was charged before the first interval began is not reported. */
	s->t_start = s->t_last = bm_now_mono();
	if (s->have_energy)
		energy_poll(&s->energy, s->t_start);
	if (read_sensor(s, NULL))
		return 1;
	/* Files where the user who started bpfmeter may write (as root: a user's directory). */
	if (outputs_open_files(&s->out, &s->meta))
		return 1;
	drop_privileges(s);
	return session_open_outputs(s) ? 1 : 0;
}

int session_run(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct sigaction sa = { .sa_handler = on_signal };
	double t_prev, next, end;
	int ret, err;

	/* No SA_RESTART: the interval sleep wakes up to report the last, partial interval. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	/* SIGHUP reopens the file sinks (logrotate); it ends only a session on the live view. */
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = session_start(s);
	if (ret)
		goto out;
	if (s->live_keys)
		s->keys_on = term_keys_start();
	session_notify_ready(s);
	t_prev = s->t_start;
	/* A command runs until it ends, whatever --duration says. */
	end = o->duration_s > 0 && !s->have_cmd ? t_prev + o->duration_s : INFINITY;
	next = t_prev;
	if (s->have_cmd)
		command_start(&s->cmd);
	for (;;) {
		next = fmin(next + o->interval_s, end);
		if (sleep_until(s, next)) {
			ret = 1;
			goto out;
		}
		/* Interrupted or not, measure: the partial last interval is data too. */
		err = measure_interval(s, &t_prev);
		/* Refreshed now (space): the next interval is a whole one from here. */
		if (s->refresh_now) {
			s->refresh_now = false;
			next = fmin(t_prev, end);
		}
		skip_missed(s, &next);
		s->state_dirty = true;
		if (!err && t_prev >= s->state_next)
			state_keep(s);
		if (err == -EPIPE && !s->have_cmd)
			goto out; /* the reader of stdout went away */
		if (err && err != -EPIPE) {
			ret = 1;
			goto out;
		}
		if (s->have_cmd) {
			child_exited = 0;
			if (command_done(&s->cmd))
				break;
			/* Its last children may still be leaving: look again soon. */
			if (s->cmd.reaped)
				next = fmin(next, bm_now_mono() + 0.01 - o->interval_s);
			continue;
		}
		if (stop_signal || next >= end)
			break;
	}
	/* A cooked terminal again, the cursor shown, before the summary goes below the view. */
	term_restore();
	if (outputs_has_table(&s->out))
		session_summary(s, t_prev - s->t_start);
	if (s->have_cmd) {
		s->exit_status = command_finish(&s->cmd);
		s->have_cmd = false;
		command_summary(s);
		ret = s->exit_status;
	}
out:
	term_restore();
	notify_stopping();
	/* Clean exit, a signal, or measuring failed: what the models learnt is kept. */
	state_keep(s);
	if (s->recording && record_close(&s->rec, s->t_last - s->t_start) && !ret)
		ret = 1;
	if (s->have_cmd) /* measuring failed: the command never ran; clean its cgroup */
		command_finish(&s->cmd);
	return ret;
}
