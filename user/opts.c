// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "labels.h"
#include "opts.h"
#include "util.h"

#ifndef BPFMETER_VERSION
#define BPFMETER_VERSION "unknown"
#endif

static const struct bm_opts defaults = {
	.interval_s = 1.0,
	.duration_s = 0,
	.events_arg = BM_DEFAULT_EVENTS,
	.max_cgroups = 65536,
	.energy_kind = ENERGY_AUTO,
	.spool_dir = "/var/lib/bpfmeter/spool",
	.spool_max = 64ull << 20,
	.prometheus_keep_s = -1,
	.estimate_idle_w = -1,
	.estimate_max_w = -1,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bpfmeter [OPTIONS]\n"
		"       bpfmeter [OPTIONS] -- CMD [ARGS...]\n"
		"       bpfmeter check [OPTIONS]   what this host gives bpfmeter, a line a "
		"feature\n"
		"       bpfmeter replay RECORDING [OPTIONS]   (see bpfmeter replay --help)\n"
		"       bpfmeter replay TRACE --features COLS --power DOMAIN=COL,...\n"
		"\n"
		"Measure where the CPU time, hardware counters and energy of this host go, per\n"
		"cgroup, by charging every context switch to the cgroup that was running.\n"
		"On a terminal it shows a live view (h: its keys, q: quit); otherwise it writes "
		"CSV to\n"
		"stdout.\n"
		"With -- CMD it runs CMD in a cgroup of its own (as the sudo caller), measures it\n"
		"until it and its children exit, prints a summary on stderr in the manner of\n"
		"perf stat (--csv: as CSV) and exits with CMD's status.\n"
		"\n"
		"Options:\n"
		"  -i, --interval SECONDS   report every SECONDS (default 1; units ms, s, m, h)\n"
		"  -d, --duration SECONDS   stop after SECONDS (default: run until Ctrl-C)\n"
		"  -e, --events LIST        perf events to count, comma-separated (default\n"
		"                           %s); \"\" counts on-CPU time only.\n"
		"                           Names: %s;\n"
		"                           raw events as rHEX or TYPE:CONFIG\n"
		"      --csv                write CSV to stdout even on a terminal (as -o csv:-)\n"
		"  -o, --output SPEC        where rows go, repeatable: csv:PATH, csv:-, "
		"influx:PATH,\n"
		"                           influx:- (line protocol), "
		"influx+http://HOST:PORT/write?db=DB\n"
		"                           or .../api/v2/write?org=ORG&bucket=B (token in "
		"$INFLUX_TOKEN);\n"
		"                           or prometheus:ADDR:PORT (served at /metrics; "
		"prometheus::PORT\n"
		"                           for every address, prometheus:[::1]:PORT for IPv6);\n"
		"                           default: the live view on a terminal, else csv:-\n"
		"      --spool-dir DIR      where batches for InfluxDB wait while it is "
		"unreachable\n"
		"                           (default /var/lib/bpfmeter/spool)\n"
		"      --spool-max SIZE     the spool's cap, oldest dropped first (default 64M)\n"
		"      --prometheus-keep T  how long a target without rows stays exported\n"
		"                           (default 5m, or 3 intervals where longer)\n"
		"      --web-config FILE    TLS and basic auth for -o prometheus, as Prometheus's\n"
		"                           web config (tls_server_config, basic_auth_users)\n"
		"      --max-cgroups N      room for N cgroups on every CPU at the most (default\n"
		"                           %llu); the maps grow with what runs, up to that,\n"
		"                           and what does not fit is charged to \"overflow\"\n"
		"      --by process         targets are processes (tgid, with their command name)\n"
		"                           instead of cgroups; a second map, only loaded then\n"
		"      --group-by HOW       roll targets up: cgroup (default), container, pod, "
		"unit,\n"
		"                           or depth:N (the first N levels of the path)\n"
		"      --record FILE        also write the session's raw inputs (per interval,\n"
		"                           target and socket: CPU time, counters; energy) to\n"
		"                           FILE, a new CSV file (gzip'd if it ends in .gz),\n"
		"                           for bpfmeter replay FILE\n"
		"      --btf FILE           kernel BTF to use when /sys/kernel/btf/vmlinux is "
		"missing\n"
		"      --host NAME          the host label of the rows (default: $NODE_NAME, as\n"
		"                           Kubernetes' downward API sets it, else the hostname)\n"
		"      --carbon-intensity G grams CO2e per kWh of the electricity: the outputs\n"
		"                           add an estimate of the grams CO2e of the energy\n"
		"      --carbon-intensity-file FILE\n"
		"                           the same over time: a CSV timestamp,g_per_kwh (unix\n"
		"                           seconds, ascending; the last value at or before an\n"
		"                           interval's end applies); read again on SIGHUP\n"
		"\n"
		"Energy and the power model:\n"
		"      --energy-source SRC  auto (default), powercap, perf, msr, none, or "
		"estimate\n"
		"                           (only --estimate's estimate, no source tried)\n"
		"      --powercap-root DIR  a powercap tree to read instead of "
		"/sys/class/powercap\n"
		"      --export-powercap DIR\n"
		"                           keep DIR/<vm>/intel-rapl:0 per libvirt/qemu VM: the\n"
		"                           energy attributed to it, for its guest's bpfmeter\n"
		"                           --powercap-root\n"
		"      --estimate           where no source measures, ESTIMATE package power from\n"
		"                           CPU utilisation with a published curve (off by\n"
		"                           default); every figure is then labelled estimated\n"
		"      --tdp W              the model's static power stays below W (default %g);\n"
		"                           with --estimate also the TDP the curve is made of\n"
		"      --estimate-idle W    with --estimate: a socket's estimated watts when idle\n"
		"      --estimate-max W     with --estimate: a socket's estimated watts at full "
		"load\n"
		"      --error-threshold W  refit when the model's mean error since its fit\n"
		"                           passes W (default %g)\n"
		"      --model-window N     intervals of history per model layer (default %d)\n"
		"      --base-freq MHZ      the frequency ref-cycles count at (default: sysfs)\n"
		"      --idle static|share  static power as the target \"idle\" (default), or\n"
		"                           shared out by CPU time\n"
		"      --state-dir DIR      keep the models there across restarts, saved each\n"
		"                           minute and at exit, reloaded under the same host and\n"
		"                           settings (default $BPFMETER_STATE_DIR, else\n"
		"                           " BM_STATE_DIR "); \"\" keeps none\n"
		"\n"
		"General:\n"
		"  -v, --verbose            print libbpf's and bpfmeter's debug messages\n"
		"  -h, --help               show this help\n"
		"  -V, --version            show the version\n"
		"\n"
		"Exit status: 0 on success, 1 when measuring is impossible (privileges, kernel\n"
		"support), 2 for bad usage.\n",
		BM_DEFAULT_EVENTS, events_known_names(), (unsigned long long)defaults.max_cgroups,
		model_config_default.tdp, model_config_default.error_threshold,
		model_config_default.window);
}

/* A size in bytes with an optional k, M or G (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "kMG";
	char num[32];
	size_t len = strlen(s);
	uint64_t v, mult = 1;
	const char *u;

	if (!len || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, len + 1);
	u = strchr(units, num[len - 1]);
	if (u && num[len - 1]) {
		mult = 1ull << (10 * (u - units + 1));
		num[len - 1] = '\0';
	}
	if (bm_parse_u64(num, 1, UINT64_MAX / mult, &v) || v * mult < 4096)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

static int bad(const char *opt, const char *val, const char *form)
{
	fprintf(stderr, "bpfmeter: invalid value '%s' for %s: expected %s\n", val, opt, form);
	return OPTS_EXIT_USAGE;
}

/* A host label: 1 to BM_HOST_MAX printable characters, no spaces (any sink can carry it). */
static bool host_ok(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return n && n <= BM_HOST_MAX;
}

#define HOST_FORM "1 to 253 printable characters without spaces, such as node-1.example.com"

/* --host, else $NODE_NAME, checked; the hostname (NULL) else. */
static int host_default(struct bm_opts *o)
{
	const char *env = getenv("NODE_NAME");

	if (o->host || !env || !*env)
		return OPTS_OK;
	if (!host_ok(env)) {
		fprintf(stderr,
			"bpfmeter: invalid value '%s' in $NODE_NAME (the default of --host): "
			"expected %s; or pass --host NAME\n",
			env, HOST_FORM);
		return OPTS_EXIT_USAGE;
	}
	o->host = env;
	return OPTS_OK;
}

/* --estimate's options: what goes together. */
static int estimate_check(const struct bm_opts *o)
{
	const char *lone = o->estimate_idle_w >= 0  ? "--estimate-idle"
			   : o->estimate_max_w >= 0 ? "--estimate-max"
						    : NULL;

	if (lone && !o->estimate) {
		fprintf(stderr,
			"bpfmeter: %s is the estimate's: add --estimate (or --energy-source "
			"estimate)\n",
			lone);
		return OPTS_EXIT_USAGE;
	}
	if (o->estimate && o->energy_kind == ENERGY_NONE) {
		fprintf(stderr, "bpfmeter: --estimate and --energy-source none do not go together: "
				"give one\n");
		return OPTS_EXIT_USAGE;
	}
	if (o->estimate_idle_w >= 0 && o->estimate_max_w >= 0 &&
	    !(o->estimate_idle_w < o->estimate_max_w)) {
		fprintf(stderr,
			"bpfmeter: --estimate-idle %g is not below --estimate-max %g: the idle "
			"watts must be the lower\n",
			o->estimate_idle_w, o->estimate_max_w);
		return OPTS_EXIT_USAGE;
	}
	return OPTS_OK;
}

int opts_parse(struct bm_opts *o, int argc, char **argv)
{
	enum {
		OPT_CSV = 256,
		OPT_MAX_CGROUPS,
		OPT_BTF,
		OPT_ENERGY_SOURCE,
		OPT_POWERCAP_ROOT,
		OPT_EXPORT_POWERCAP,
		OPT_TDP,
		OPT_ERROR_THRESHOLD,
		OPT_MODEL_WINDOW,
		OPT_BASE_FREQ,
		OPT_IDLE,
		OPT_SPOOL_DIR,
		OPT_SPOOL_MAX,
		OPT_GROUP_BY,
		OPT_BY,
		OPT_RECORD,
		OPT_HOST,
		OPT_CARBON_INTENSITY,
		OPT_CARBON_INTENSITY_FILE,
		OPT_STATE_DIR,
		OPT_PROMETHEUS_KEEP,
		OPT_WEB_CONFIG,
		OPT_ESTIMATE,
		OPT_ESTIMATE_IDLE,
		OPT_ESTIMATE_MAX,
	};
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "events", required_argument, NULL, 'e' },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "max-cgroups", required_argument, NULL, OPT_MAX_CGROUPS },
		{ "btf", required_argument, NULL, OPT_BTF },
		{ "energy-source", required_argument, NULL, OPT_ENERGY_SOURCE },
		{ "powercap-root", required_argument, NULL, OPT_POWERCAP_ROOT },
		{ "export-powercap", required_argument, NULL, OPT_EXPORT_POWERCAP },
		{ "tdp", required_argument, NULL, OPT_TDP },
		{ "estimate", no_argument, NULL, OPT_ESTIMATE },
		{ "estimate-idle", required_argument, NULL, OPT_ESTIMATE_IDLE },
		{ "estimate-max", required_argument, NULL, OPT_ESTIMATE_MAX },
		{ "error-threshold", required_argument, NULL, OPT_ERROR_THRESHOLD },
		{ "model-window", required_argument, NULL, OPT_MODEL_WINDOW },
		{ "base-freq", required_argument, NULL, OPT_BASE_FREQ },
		{ "idle", required_argument, NULL, OPT_IDLE },
		{ "output", required_argument, NULL, 'o' },
		{ "spool-dir", required_argument, NULL, OPT_SPOOL_DIR },
		{ "spool-max", required_argument, NULL, OPT_SPOOL_MAX },
		{ "group-by", required_argument, NULL, OPT_GROUP_BY },
		{ "by", required_argument, NULL, OPT_BY },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "carbon-intensity", required_argument, NULL, OPT_CARBON_INTENSITY },
		{ "carbon-intensity-file", required_argument, NULL, OPT_CARBON_INTENSITY_FILE },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "prometheus-keep", required_argument, NULL, OPT_PROMETHEUS_KEEP },
		{ "web-config", required_argument, NULL, OPT_WEB_CONFIG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	char err[256];
	uint64_t u;
	int c;

	*o = defaults;
	o->model = model_config_default;
	o->state_dir = getenv("BPFMETER_STATE_DIR") ? getenv("BPFMETER_STATE_DIR") : BM_STATE_DIR;
	/* 0, not 1: glibc then also forgets a half-read option cluster such as -xv. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:i:d:e:o:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (bm_parse_seconds(optarg, 0.01, 3600, &o->interval_s))
				return bad("--interval", optarg,
					   "a time from 10ms to 1h, such as 1, 0.5s or 250ms");
			break;
		case 'd':
			if (bm_parse_seconds(optarg, 0, 366 * 86400.0, &o->duration_s))
				return bad("--duration", optarg,
					   "a time such as 10, 90s or 5m (0 runs until Ctrl-C)");
			break;
		case 'e':
			o->events_arg = optarg;
			break;
		case OPT_CSV:
			o->csv = true;
			break;
		case OPT_MAX_CGROUPS:
			if (bm_parse_u64(optarg, 1, 1u << 20, &o->max_cgroups))
				return bad("--max-cgroups", optarg,
					   "a whole number from 1 to 1048576");
			break;
		case OPT_BTF:
			o->btf_path = optarg;
			break;
		case OPT_ENERGY_SOURCE:
			o->estimate_only = !strcmp(optarg, "estimate");
			if (o->estimate_only) {
				o->estimate = true;
				o->energy_kind = ENERGY_AUTO;
			} else if (energy_parse_kind(optarg, &o->energy_kind)) {
				return bad("--energy-source", optarg,
					   "auto, powercap, perf, msr, none or estimate");
			}
			break;
		case OPT_ESTIMATE:
			o->estimate = true;
			break;
		case OPT_ESTIMATE_IDLE:
			if (bm_parse_double(optarg, 0, 100000, &o->estimate_idle_w))
				return bad("--estimate-idle", optarg,
					   "watts from 0 to 100000, such as 40");
			break;
		case OPT_ESTIMATE_MAX:
			if (bm_parse_double(optarg, 0, 100000, &o->estimate_max_w) ||
			    !(o->estimate_max_w > 0))
				return bad("--estimate-max", optarg,
					   "watts above 0 up to 100000, such as 250");
			break;
		case OPT_POWERCAP_ROOT:
			o->powercap_root = optarg;
			break;
		case OPT_EXPORT_POWERCAP:
			if (!*optarg)
				return bad("--export-powercap", optarg,
					   "a directory (made where missing)");
			o->export_powercap = optarg;
			break;
		case OPT_TDP:
			if (bm_parse_double(optarg, 1, 100000, &o->model.tdp))
				return bad("--tdp", optarg, "watts from 1 to 100000, such as 205");
			o->tdp_given = true;
			break;
		case OPT_ERROR_THRESHOLD:
			if (bm_parse_double(optarg, 0.001, 100000, &o->model.error_threshold))
				return bad("--error-threshold", optarg,
					   "watts above 0, such as 2 or 0.5");
			break;
		case OPT_MODEL_WINDOW:
			if (bm_parse_u64(optarg, 10, 100000, &u))
				return bad("--model-window", optarg,
					   "a whole number from 10 to 100000");
			o->model.window = (int)u;
			break;
		case OPT_BASE_FREQ:
			if (bm_parse_double(optarg, 100, 100000, &o->base_mhz))
				return bad("--base-freq", optarg,
					   "MHz from 100 to 100000, such as 2100");
			break;
		case 'o':
			if (o->nr_outputs == (int)ARRAY_SIZE(o->outputs)) {
				fprintf(stderr,
					"bpfmeter: too many --output options: at most %zu\n",
					ARRAY_SIZE(o->outputs));
				return OPTS_EXIT_USAGE;
			}
			o->outputs[o->nr_outputs++] = optarg;
			break;
		case OPT_SPOOL_DIR:
			o->spool_dir = optarg;
			break;
		case OPT_SPOOL_MAX:
			if (parse_size(optarg, &o->spool_max))
				return bad("--spool-max", optarg,
					   "a size from 4k, such as 64M or 1G");
			break;
		case OPT_GROUP_BY: {
			enum group_by g;

			if (labels_parse_group_by(optarg, &g, &o->group_depth))
				return bad(
					"--group-by", optarg,
					"cgroup, container, pod, unit or depth:N (N from 0 to 64)");
			o->group_by = (int)g;
			o->group_by_arg = optarg;
			break;
		}
		case OPT_BY:
			if (strcmp(optarg, "cgroup") && strcmp(optarg, "process"))
				return bad("--by", optarg, "cgroup or process");
			o->by_process = !strcmp(optarg, "process");
			break;
		case OPT_IDLE:
			if (strcmp(optarg, "static") && strcmp(optarg, "share"))
				return bad("--idle", optarg, "static or share");
			o->idle_share = !strcmp(optarg, "share");
			break;
		case OPT_RECORD:
			o->record_path = optarg;
			break;
		case OPT_HOST:
			if (!host_ok(optarg))
				return bad("--host", optarg, HOST_FORM);
			o->host = optarg;
			o->host_given = true;
			break;
		case OPT_CARBON_INTENSITY:
			if (bm_parse_double(optarg, BM_CARBON_MIN, BM_CARBON_MAX,
					    &o->carbon_g_per_kwh) ||
			    o->carbon_g_per_kwh <= BM_CARBON_MIN ||
			    o->carbon_g_per_kwh >= BM_CARBON_MAX)
				return bad(
					"--carbon-intensity", optarg,
					"grams CO2e per kWh above 0 and below 5000, such as 400");
			break;
		case OPT_CARBON_INTENSITY_FILE:
			o->carbon_file = optarg;
			break;
		case OPT_STATE_DIR:
			o->state_dir = optarg;
			break;
		case OPT_PROMETHEUS_KEEP:
			if (bm_parse_seconds(optarg, 0, 366 * 86400.0, &o->prometheus_keep_s))
				return bad(
					"--prometheus-keep", optarg,
					"a time such as 90s, 5m or 1h (0: only the last interval)");
			break;
		case OPT_WEB_CONFIG:
			o->web_config = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return OPTS_EXIT_OK;
		case 'V':
			printf("bpfmeter %s\n", BPFMETER_VERSION);
			return OPTS_EXIT_OK;
		case ':':
			for (c = 0; longopts[c].name; c++)
				if (longopts[c].val == optopt)
					break;
			if (longopts[c].name && optopt < 256)
				fprintf(stderr,
					"bpfmeter: option --%s (-%c) needs a value (see "
					"bpfmeter --help)\n",
					longopts[c].name, optopt);
			else
				fprintf(stderr,
					"bpfmeter: option %s needs a value (see bpfmeter "
					"--help)\n",
					argv[optind - 1]);
			return OPTS_EXIT_USAGE;
		default:
			/* In a cluster such as -xv, optind has not moved past the bad letter. */
			if (optopt)
				fprintf(stderr,
					"bpfmeter: unknown option '-%c' (see bpfmeter --help)\n",
					optopt);
			else
				fprintf(stderr,
					"bpfmeter: unknown option '%s' (see bpfmeter --help)\n",
					argv[optind - 1]);
			return OPTS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--")) {
			fprintf(stderr,
				"bpfmeter: unexpected argument '%s' (to measure a command: "
				"bpfmeter [OPTIONS] -- CMD ARGS...)\n",
				argv[optind]);
			return OPTS_EXIT_USAGE;
		}
		o->command = &argv[optind];
	}
	if (o->carbon_g_per_kwh > 0 && o->carbon_file) {
		fprintf(stderr,
			"bpfmeter: --carbon-intensity and --carbon-intensity-file do not go "
			"together: give one\n");
		return OPTS_EXIT_USAGE;
	}
	if (estimate_check(o))
		return OPTS_EXIT_USAGE;
	if (host_default(o))
		return OPTS_EXIT_USAGE;
	o->nr_events = events_parse(o->events_arg, o->events, BM_MAX_EVENTS, err, sizeof(err));
	if (o->nr_events < 0) {
		fprintf(stderr, "bpfmeter: invalid value for --events: %s\n", err);
		return OPTS_EXIT_USAGE;
	}
	return OPTS_OK;
}
