// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpfmeter replay RECORDING [OPTIONS]: a recorded session again, its inputs fed interval by
 * interval to the same pipeline a live session uses.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "settings.h"
#include "util.h"

struct replay {
	struct session *s;
	const char *path;
	int argc; /* the replay's own options */
	char **argv;
	struct meta_kv {
		char *key, *value;
	} * meta; /* as recorded */
	size_t nmeta;
	int nr_events; /* counted */
	bool set_up, pending;
	int64_t ts_ns; /* the pending interval's */
	double dt, elapsed, sum_dt;
	bool have_elapsed;
	int ret; /* non-zero: stop with this status (-1: --help was shown) */
};

static const char *meta_get(void *ctx, const char *key)
{
	const struct replay *rp = ctx;

	for (size_t i = 0; i < rp->nmeta; i++)
		if (!strcmp(rp->meta[i].key, key))
			return rp->meta[i].value;
	return NULL;
}

static double meta_num(const struct replay *rp, const char *key, double dflt)
{
	const char *v = meta_get((void *)rp, key);

	return v ? strtod(v, NULL) : dflt;
}

/*
 * Options a replay cannot change: they are what was measured. And --state-dir: a replay
 * starts from no model, as the recorded session did, and keeps none.
 */
static int check_args(int argc, char **argv)
{
	static const char *const fixed[] = {
		"-e",	      "--events",      "-i",	"--interval",	   "-d",
		"--duration", "--max-cgroups", "--btf", "--energy-source", "--powercap-root",
		"--by",	      "--record",      "--"
	};

	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "--state-dir", 11) && (!argv[i][11] || argv[i][11] == '=')) {
			bm_err("replay: --state-dir does not apply: a replay neither reads nor "
			       "writes the model state");
			return -EINVAL;
		}
		if (!strncmp(argv[i], "--export-powercap", 17) &&
		    (!argv[i][17] || argv[i][17] == '=')) {
			bm_err("replay: --export-powercap does not apply: only a live session "
			       "passes its VMs' energy through");
			return -EINVAL;
		}
		for (size_t k = 0; k < ARRAY_SIZE(fixed); k++) {
			size_t n = strlen(fixed[k]);

			if (strncmp(argv[i], fixed[k], n) ||
			    (argv[i][n] && argv[i][n] != '=' && fixed[k][1] == '-') ||
			    (fixed[k][1] != '-' && argv[i][1] != fixed[k][1]))
				continue;
			bm_err("replay: %s does not apply: a recording replays what was measured "
			       "(see bpfmeter replay --help)",
			       fixed[k]);
			return -EINVAL;
		}
	}
	return 0;
}

/* In a replay the groups' ids are the recorded ones (targets_set_group_id). */
static int resolve_group_recorded(const char *key, uint64_t *id, void *ctx)
{
	(void)key;
	(void)id;
	(void)ctx;
	return -ENOENT;
}

/* The recorded topology, host and energy. */
static void setup_recorded(struct replay *rp)
{
	struct session *s = rp->s;
	const char *pkgs = meta_get(rp, "package_ids"), *v;
	char *list = bm_strdup(pkgs ? pkgs : ""), *save = NULL, *tok = strtok_r(list, ";", &save);

	s->topo.nr_sockets = (int)meta_num(rp, "sockets", 0);
	s->topo.package_id = bm_calloc((size_t)s->topo.nr_sockets, sizeof(int));
	/* Each socket's physical package id as recorded; its index where none is. */
	for (int i = 0; i < s->topo.nr_sockets;
	     i++, tok = tok ? strtok_r(NULL, ";", &save) : NULL) {
		uint64_t id;

		s->topo.package_id[i] = tok && !bm_parse_u64(tok, 0, INT32_MAX, &id) ? (int)id : i;
	}
	free(list);
	s->topo.nr_online = (int)meta_num(rp, "nr_online", 0);
	snprintf(s->host, sizeof(s->host), "%s", (v = meta_get(rp, "host")) ? v : "");
	if ((v = meta_get(rp, "missing_note")))
		snprintf(s->missing_note, sizeof(s->missing_note), "%s", v);
	s->have_energy = meta_get(rp, "energy_source") != NULL;
	if ((v = meta_get(rp, "energy_note")))
		snprintf(s->energy_note, sizeof(s->energy_note), "%s", v);
	for (int d = 0; d < BM_NR_DOMAINS && (v = meta_get(rp, "domains")); d++) {
		const char *name = energy_domain_name((enum bm_domain)d);
		size_t n = strlen(name);

		for (const char *p = v; p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
			if (!strncmp(p, name, n) && (p[n] == ';' || !p[n]))
				s->energy_domains |= 1u << d;
	}
	if (s->have_energy) {
		s->base_mhz = s->opts->base_mhz ? s->opts->base_mhz : meta_num(rp, "base_mhz", 0);
		/* The models' prior as the session had it, so that they learn alike. */
		s->static_prior_w = meta_num(rp, "static_prior_w", 0);
		s->static_prior_sd = meta_num(rp, "static_prior_sd", 0);
	}
}

/*
 * Before the first interval: the settings as recorded, overridden by the replay's own
 * options (--tdp, --error-threshold, --model-window, --base-freq, --idle, --group-by,
 * --host), a carbon intensity of its own (--carbon-intensity[-file]), and the outputs.
 * Returns 0, or the exit status (-1 after --help).
 */
static int replay_setup(struct replay *rp)
{
	struct session *s = rp->s;
	struct bm_opts *o = s->opts;
	struct bm_event events[BM_MAX_EVENTS];
	int nr_events = o->nr_events, argc = 0;
	struct settings_args rec;
	char *argv[BM_SETTINGS_MAX_ARGS + 32];
	const char *v;

	rp->set_up = true;
	memcpy(events, o->events, sizeof(events));
	settings_replay_args(meta_get, rp, &rec);
	if (rp->argc > (int)ARRAY_SIZE(argv) - rec.argc - 2) {
		bm_err("replay: too many options");
		return 2;
	}
	argv[argc++] = "bpfmeter";
	for (int i = 0; i < rec.argc; i++)
		argv[argc++] = rec.argv[i];
	for (int i = 0; i < rp->argc; i++)
		argv[argc++] = rp->argv[i];
	argv[argc] = NULL;
	switch (opts_parse(o, argc, argv)) {
	case OPTS_OK:
		break;
	case OPTS_EXIT_OK:
		return -1;
	default:
		return 2;
	}
	if (o->command) {
		bm_err("replay: a command cannot be run in a replay");
		return 2;
	}
	/* What was measured, as recorded. */
	memcpy(o->events, events, sizeof(events));
	o->nr_events = nr_events;
	if (settings_replay_apply(meta_get, rp, o, rp->path))
		return 2;
	bm_verbose = o->verbose;
	s->by_process = (v = meta_get(rp, "by")) && !strcmp(v, "process");
	setup_recorded(rp);
	/* A label, not a measurement: --host renames the recorded host ($NODE_NAME does not). */
	if (o->host_given)
		snprintf(s->host, sizeof(s->host), "%s", o->host);
	/* Carbon intensity is not measured input: the replay's own, as for a live session. */
	if (session_load_carbon(s))
		return 2;
	account_init(&s->acct, &s->topo, rp->nr_events);
	account_init(&s->pacct, &s->topo, rp->nr_events);
	if (session_parse_outputs(s))
		return 2;
	session_setup(s, meta_num(rp, "interval_s", 1), (v = meta_get(rp, "hook")) ? v : "",
		      meta_get(rp, "energy_source"));
	s->resolve_group = resolve_group_recorded;
	if (session_check_outputs(s))
		return 2;
	return session_open_outputs(s) ? 1 : 0;
}

/* The pending interval through the pipeline. */
static int replay_flush(struct replay *rp)
{
	if (!rp->pending)
		return 0;
	rp->pending = false;
	rp->sum_dt += rp->dt;
	/* -EPIPE: the reader of stdout went away: stop, as live. */
	return session_interval(rp->s, rp->ts_ns, rp->dt) == -EPIPE ? -EPIPE : 0;
}

static int replay_row(const struct record_row *row, void *ctx)
{
	struct replay *rp = ctx;
	struct session *s = rp->s;
	struct account *a = session_rows_account(s);
	struct targets *ts = session_rows_targets(s);

	if (!rp->set_up && row->kind != REC_META && row->kind != REC_EVENT &&
	    (rp->ret = replay_setup(rp)))
		return 1;
	switch (row->kind) {
	case REC_META:
		rp->meta = bm_realloc_array(rp->meta, rp->nmeta + 1, sizeof(*rp->meta));
		rp->meta[rp->nmeta++] = (struct meta_kv){ .key = bm_strdup(row->name),
							  .value = bm_strdup(row->value) };
		break;
	case REC_EVENT:
		s->opts->events[s->opts->nr_events] = row->event;
		s->sample_index[s->opts->nr_events++] = row->counted ? rp->nr_events++ : -1;
		break;
	case REC_INTERVAL:
		if (replay_flush(rp))
			return 1;
		account_begin(a);
		s->nreadings = 0;
		s->cpus_note[0] = '\0';
		rp->ts_ns = row->ts_ns;
		rp->dt = row->interval_s;
		s->overflow = row->id;
		rp->pending = true;
		break;
	case REC_ENERGY:
		if (!s->have_energy)
			break;
		s->readings[s->nreadings++] = (struct energy_reading){ .socket = row->socket,
								       .domain = row->domain,
								       .joules = row->number };
		break;
	case REC_TARGET:
		account_add(a, row->id, row->socket, &row->s);
		/* A cgroup renamed (or a pid used again): the newest name. */
		targets_set_name(ts, targets_get(ts, row->id, NULL), row->name);
		break;
	case REC_GROUP:
		targets_set_group_id(ts, row->name, row->id);
		break;
	case REC_GONE:
		if (replay_flush(rp))
			return 1;
		if (idvec_find(&a->targets, row->id))
			session_target_gone(s, a, ts, row->id);
		break;
	case REC_CPUS:
		s->topo.nr_online = (int)row->number;
		snprintf(s->cpus_note, sizeof(s->cpus_note), "%s", row->name);
		break;
	case REC_END:
		if (replay_flush(rp))
			return 1;
		rp->elapsed = row->number;
		rp->have_elapsed = true;
		break;
	}
	return 0;
}

int replay_recording(struct session *s, int argc, char **argv)
{
	struct replay rp = { .s = s, .path = argv[1], .argc = argc - 2, .argv = argv + 2 };
	char err[1024];
	int ret;

	signal(SIGPIPE, SIG_IGN);
	memset(s->opts, 0, sizeof(*s->opts));
	ret = check_args(rp.argc, rp.argv) ? 2 : 0;
	/* The whole file is checked first: a bad line stops it before any output is made. */
	if (!ret && record_read(rp.path, NULL, NULL, err, sizeof(err))) {
		bm_err("%s", err);
		ret = 2;
	}
	if (!ret && record_read(rp.path, replay_row, &rp, err, sizeof(err)) < 0) {
		bm_err("%s", err);
		ret = 2;
	}
	if (!ret && rp.ret)
		ret = rp.ret < 0 ? 0 : rp.ret;
	else if (!ret && !rp.set_up && (rp.ret = replay_setup(&rp)))
		ret = rp.ret < 0 ? 0 : rp.ret;
	else if (!ret && !replay_flush(&rp) && outputs_has_table(&s->out))
		session_summary(s, rp.have_elapsed ? rp.elapsed : rp.sum_dt);
	for (size_t i = 0; i < rp.nmeta; i++) {
		free(rp.meta[i].key);
		free(rp.meta[i].value);
	}
	free(rp.meta);
	return ret;
}
