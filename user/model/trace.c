// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpfmeter replay: drive the live power model with a recorded node-level trace, to measure
 * how well it learns away from the machine it runs on. Each interval is predicted from the
 * past only, then learnt, exactly as model_step does live.
 */
#include <csv.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "report.h"
#include "trace.h"
#include "util.h"

struct replay_parse {
	struct bm_at at; /* the line of the text being fed to libcsv */
	struct replay_trace *tr;
	int field; /* fields of the current record so far */
	bool header_done;
	/* The header's names, then which of its columns are wanted. */
	char **names;
	int nnames, cap_names;
	const char *want_t, *want_feat[BM_MODEL_MAX_FEATURES], *want_pow[BM_REPLAY_MAX_DOMAINS];
	int col_t, col_feat[BM_MODEL_MAX_FEATURES], col_pow[BM_REPLAY_MAX_DOMAINS];
	bool *needed;
	double *vals; /* the current record's values of the needed columns */
	double prev_t;
	bool have_prev;
	int cap_rows;
};

static int find_col(struct replay_parse *p, const char *name)
{
	for (int i = 0; i < p->nnames; i++)
		if (!strcmp(p->names[i], name))
			return i;
	bm_fail_at(&p->at, 0, "no column \"%s\" in the header", name);
	return -1;
}

static void header_end(struct replay_parse *p)
{
	struct replay_trace *tr = p->tr;

	p->header_done = true;
	p->col_t = find_col(p, p->want_t);
	for (int j = 0; j < tr->nfeat; j++)
		p->col_feat[j] = find_col(p, p->want_feat[j]);
	for (int d = 0; d < tr->ndom; d++)
		p->col_pow[d] = find_col(p, p->want_pow[d]);
	if (p->at.failed)
		return;
	p->needed = bm_calloc((size_t)p->nnames, sizeof(*p->needed));
	p->vals = bm_calloc((size_t)p->nnames, sizeof(*p->vals));
	p->needed[p->col_t] = true;
	for (int j = 0; j < tr->nfeat; j++)
		p->needed[p->col_feat[j]] = true;
	for (int d = 0; d < tr->ndom; d++)
		p->needed[p->col_pow[d]] = true;
}

static void on_field(void *s, size_t len, void *data)
{
	struct replay_parse *p = data;
	const char *str = s ? s : "";
	int col = p->field++;
	char *end;
	double v;

	if (p->at.failed)
		return;
	if (!p->header_done) {
		if (p->nnames == p->cap_names) {
			p->cap_names = p->cap_names ? 2 * p->cap_names : 16;
			p->names =
				bm_realloc_array(p->names, (size_t)p->cap_names, sizeof(*p->names));
		}
		p->names[p->nnames++] = bm_strndup(str, len);
		return;
	}
	if (col >= p->nnames) {
		bm_fail_at(&p->at, col + 1, "more fields than the header's %d", p->nnames);
		return;
	}
	if (!p->needed[col])
		return;
	/* CSV_APPEND_NULL terminates the field; it must be a number as a whole. */
	errno = 0;
	v = len ? strtod(str, &end) : NAN;
	if (!len || end != str + len || !isfinite(v)) {
		bm_fail_at(&p->at, col + 1, "%s: \"%.*s\" is not a number", p->names[col], (int)len,
			   str);
		return;
	}
	p->vals[col] = v;
}

static void push_row(struct replay_parse *p, double t, double dt)
{
	struct replay_trace *tr = p->tr;
	int i = tr->nrows;

	if (i == p->cap_rows) {
		p->cap_rows = p->cap_rows ? 2 * p->cap_rows : 256;
		tr->t = bm_realloc_array(tr->t, (size_t)p->cap_rows, sizeof(double));
		tr->x = bm_realloc_array(tr->x,
					 (size_t)p->cap_rows * (size_t)(tr->nfeat ? tr->nfeat : 1),
					 sizeof(double));
		tr->power = bm_realloc_array(tr->power, (size_t)p->cap_rows * (size_t)tr->ndom,
					     sizeof(double));
	}
	tr->t[i] = t;
	for (int j = 0; j < tr->nfeat; j++)
		tr->x[i * tr->nfeat + j] = p->vals[p->col_feat[j]] / dt;
	for (int d = 0; d < tr->ndom; d++)
		tr->power[i * tr->ndom + d] = p->vals[p->col_pow[d]];
	tr->nrows++;
}

static void on_record(int c, void *data)
{
	struct replay_parse *p = data;
	int nfields = p->field;
	double t;

	(void)c; /* -1 for a last line without newline: whole, it is as good as any */
	p->field = 0;
	if (p->at.failed)
		return;
	if (!p->header_done) {
		header_end(p);
		return;
	}
	/* A short line, the last one of a file cut off while being written in particular. */
	if (nfields < p->nnames) {
		bm_fail_at(&p->at, nfields + 1, "the line ends after %d fields, the header has %d",
			   nfields, p->nnames);
		return;
	}
	t = p->vals[p->col_t];
	if (p->have_prev && t <= p->prev_t) {
		bm_fail_at(&p->at, p->col_t + 1,
			   "timestamp %.15g is not after the previous one, %.15g", t, p->prev_t);
		return;
	}
	if (p->have_prev)
		push_row(p, t, t - p->prev_t);
	p->prev_t = t;
	p->have_prev = true;
}

/* Split a comma-separated list in place into at most max items; the count, or -1. */
static int split_list(char *s, char **items, int max)
{
	int n = 0;

	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (n == max)
			return -1;
		items[n++] = tok;
	}
	return n;
}

void replay_free(struct replay_trace *tr)
{
	free(tr->t);
	free(tr->x);
	free(tr->power);
	for (int d = 0; d < tr->ndom; d++)
		free(tr->dom[d]);
	memset(tr, 0, sizeof(*tr));
}

int replay_load(const char *path, const char *features, const char *power, struct replay_trace *tr,
		char *err, size_t errlen)
{
	struct replay_parse p = { .at = { .path = path, .err = err, .errlen = errlen }, .tr = tr };
	char *fcopy = bm_strdup(features), *pcopy = bm_strdup(power), *items[BM_REPLAY_MAX_DOMAINS];
	char *feats[BM_MODEL_MAX_FEATURES];
	struct csv_parser csv;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = NULL;
	int n;

	memset(tr, 0, sizeof(*tr));
	p.want_t = "timestamp";
	n = split_list(fcopy, feats, BM_MODEL_MAX_FEATURES);
	if (n < 1) {
		snprintf(err, errlen, "--features: 1 to %d column names, comma-separated",
			 BM_MODEL_MAX_FEATURES);
		goto out_opts;
	}
	tr->nfeat = n;
	for (int j = 0; j < n; j++)
		p.want_feat[j] = feats[j];
	n = split_list(pcopy, items, BM_REPLAY_MAX_DOMAINS);
	if (n < 1) {
		snprintf(err, errlen, "--power: 1 to %d DOMAIN=COLUMN, comma-separated",
			 BM_REPLAY_MAX_DOMAINS);
		goto out_opts;
	}
	for (int d = 0; d < n; d++) {
		char *eq = strchr(items[d], '=');

		if (!eq || eq == items[d] || !eq[1]) {
			snprintf(err, errlen, "--power: \"%s\" is not DOMAIN=COLUMN", items[d]);
			goto out_opts;
		}
		*eq = '\0';
		tr->dom[d] = bm_strdup(items[d]);
		p.want_pow[d] = eq + 1;
		tr->ndom = d + 1;
	}

	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out_opts;
	}
	csv_init(&csv, CSV_STRICT | CSV_APPEND_NULL);
	/* Line by line, so that an error names the line libcsv was on. */
	while (!p.at.failed && (len = getline(&buf, &cap, f)) > 0) {
		p.at.line++;
		if (csv_parse(&csv, buf, (size_t)len, on_field, on_record, &p) != (size_t)len)
			bm_fail_at(&p.at, p.field + 1, "%s", csv_strerror(csv_error(&csv)));
	}
	if (!p.at.failed && ferror(f))
		bm_fail_at(&p.at, 0, "%s", strerror(errno));
	if (!p.at.failed && csv_fini(&csv, on_field, on_record, &p))
		bm_fail_at(&p.at, p.field + 1, "%s", csv_strerror(csv_error(&csv)));
	if (!p.at.failed && !p.header_done) {
		p.at.failed = true;
		snprintf(err, errlen, "%s: empty, no header", path);
	}
	csv_free(&csv);
	fclose(f);
	free(buf);
	for (int i = 0; i < p.nnames; i++)
		free(p.names[i]);
	free(p.names);
	free(p.needed);
	free(p.vals);
	free(fcopy);
	free(pcopy);
	if (p.at.failed) {
		replay_free(tr);
		return -1;
	}
	return 0;

out_opts:
	free(fcopy);
	free(pcopy);
	replay_free(tr);
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bpfmeter replay RECORDING [OPTIONS]\n"
		"       bpfmeter replay TRACE --features COLS --power DOMAIN=COL[,DOMAIN=COL...]\n"
		"\n"
		"RECORDING: a file written by bpfmeter --record FILE. Its session runs again\n"
		"through the live code, interval by interval, and gives the live session's\n"
		"outputs (the live view and its summary, -o csv:PATH, -o influx:..., --csv).\n"
		"The model and split settings are the recorded ones; these options change\n"
		"them: --tdp W, --error-threshold W, --model-window N, --base-freq MHz,\n"
		"--idle static|share, --group-by HOW (see bpfmeter --help). What was measured\n"
		"(events, interval, targets) cannot change. --host NAME relabels the recorded\n"
		"host; --carbon-intensity G or --carbon-intensity-file FILE add CO2e estimates\n"
		"(a recording holds none).\n"
		"\n"
		"TRACE: a node-level CSV with a header, a\n"
		"timestamp column (unix seconds, increasing), feature columns (values per\n"
		"interval, turned into per-second rates) and measured power columns (W). Each\n"
		"interval is predicted from the past only, then learnt, as bpfmeter does live.\n"
		"Prints timestamp,domain,measured_w,predicted_w,error_w,model_id per interval\n"
		"and domain on stdout, and a summary per domain on stderr.\n"
		"\n"
		"Options for a TRACE:\n"
		"      --features COLS      feature columns, comma-separated (at most %d)\n"
		"      --power SPEC         DOMAIN=COLUMN pairs, comma-separated\n"
		"      --error-threshold W  refit when the model's error passes W (default %g)\n"
		"      --model-window N     intervals of history a fit uses (default %d)\n"
		"      --tdp W              the intercept stays below W (default %g)\n"
		"      --horizon N          the weights learn from about the last N intervals'\n"
		"                           changes of load (default %g)\n"
		"  -h, --help               show this help\n"
		"\n"
		"Exit status: 0 on success, 2 for bad usage or a malformed file.\n",
		BM_MODEL_MAX_FEATURES, model_config_default.error_threshold,
		model_config_default.window, model_config_default.tdp,
		model_config_default.horizon);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Run every domain's model over the trace; output in a buffer, summary on stderr. */
static int replay_run(const struct replay_trace *tr, const struct model_config *cfg, FILE *out)
{
	struct model *models = bm_calloc((size_t)tr->ndom, sizeof(*models));
	double *abserr =
		bm_calloc((size_t)tr->ndom * (size_t)(tr->nrows ? tr->nrows : 1), sizeof(double));
	int *npred = bm_calloc((size_t)tr->ndom, sizeof(int));
	int *refits = bm_calloc((size_t)tr->ndom, sizeof(int));
	int *rejected = bm_calloc((size_t)tr->ndom, sizeof(int));
	unsigned int next_id = 0;

	for (int d = 0; d < tr->ndom; d++)
		model_init(&models[d], cfg, tr->nfeat, &next_id);
	fprintf(out, "timestamp,domain,measured_w,predicted_w,error_w,model_id\n");
	for (int i = 0; i < tr->nrows; i++) {
		for (int d = 0; d < tr->ndom; d++) {
			double w = tr->power[i * tr->ndom + d];
			struct model_step_result res;

			model_step(&models[d], -1, &tr->x[i * tr->nfeat], w, &res);
			if (res.refitted && res.predicted)
				refits[d]++;
			rejected[d] += res.rejected;
			fprintf(out, "%.15g,", tr->t[i]);
			csv_field(out, tr->dom[d]);
			if (!res.predicted) {
				fprintf(out, ",%.3f,,,0\n", w);
				continue;
			}
			abserr[d * tr->nrows + npred[d]++] = fabs(res.error_w);
			fprintf(out, ",%.3f,%.3f,%.3f,%u\n", w, res.predicted_w, res.error_w,
				res.predicted_id);
		}
	}
	for (int d = 0; d < tr->ndom; d++) {
		double *e = &abserr[d * tr->nrows], sum = 0;
		int n = npred[d];

		model_free(&models[d]);
		if (!n) {
			fprintf(stderr, "%s: no predictions (%d intervals)\n", tr->dom[d],
				tr->nrows);
			continue;
		}
		for (int k = 0; k < n; k++)
			sum += e[k];
		qsort(e, (size_t)n, sizeof(*e), cmp_double);
		/* Nearest rank: the smallest error at least 95% of the intervals stay under. */
		fprintf(stderr, "%s: MAE %.2f W, p95 %.2f W, %d refits", tr->dom[d], sum / n,
			e[(int)ceil(0.95 * n) - 1], refits[d]);
		fprintf(stderr, rejected[d] ? ", %d fits rejected\n" : "\n", rejected[d]);
	}
	free(models);
	free(abserr);
	free(npred);
	free(refits);
	free(rejected);
	return 0;
}

int replay_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "features", required_argument, NULL, 'f' },
		{ "power", required_argument, NULL, 'p' },
		{ "error-threshold", required_argument, NULL, 't' },
		{ "model-window", required_argument, NULL, 'w' },
		{ "tdp", required_argument, NULL, 'T' },
		{ "horizon", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct model_config cfg = model_config_default;
	const char *features = NULL, *power = NULL;
	struct replay_trace tr;
	char err[512], *obuf = NULL;
	size_t olen = 0;
	uint64_t u;
	FILE *out;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			features = optarg;
			break;
		case 'p':
			power = optarg;
			break;
		case 't':
			if (bm_parse_double(optarg, 0, 1e6, &cfg.error_threshold)) {
				bm_err("--error-threshold: \"%s\" is not a number of watts",
				       optarg);
				return 2;
			}
			break;
		case 'w':
			/* As live: the robust scale no longer limits the window. */
			if (bm_parse_u64(optarg, (uint64_t)cfg.min_samples, 100000, &u)) {
				bm_err("--model-window: \"%s\" is not a number in %d..100000",
				       optarg, cfg.min_samples);
				return 2;
			}
			cfg.window = (int)u;
			break;
		case 'T':
			if (bm_parse_double(optarg, 1, 1e5, &cfg.tdp)) {
				bm_err("--tdp: \"%s\" is not a number of watts", optarg);
				return 2;
			}
			break;
		case 'F':
			if (bm_parse_double(optarg, 1, 1e9, &cfg.horizon)) {
				bm_err("--horizon: \"%s\" is not a number of intervals from 1",
				       optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			bm_err("replay: option '%s' needs a value (see bpfmeter replay --help)",
			       argv[optind - 1]);
			return 2;
		default:
			bm_err("replay: unknown option '%s' (see bpfmeter replay --help)",
			       argv[optind - 1]);
			return 2;
		}
	}
	if (optind == argc - 1 && !features && !power && access(argv[optind], R_OK)) {
		bm_err("replay: %s: %s", argv[optind], strerror(errno));
		return 2;
	}
	if (optind == argc - 1 && !features && !power) {
		bm_err("replay: %s is not a bpfmeter recording (its first line is not "
		       "kind,ts_ns,interval_s,...); a node-level trace needs --features and "
		       "--power "
		       "(see bpfmeter replay --help)",
		       argv[optind]);
		return 2;
	}
	if (optind != argc - 1 || !features || !power) {
		bm_err("replay: a node-level trace needs FILE, --features and --power; a "
		       "recording of bpfmeter --record goes first: bpfmeter replay FILE [OPTIONS] "
		       "(see bpfmeter replay --help)");
		return 2;
	}
	if (replay_load(argv[optind], features, power, &tr, err, sizeof(err))) {
		bm_err("%s", err);
		return 2;
	}
	/* The whole file parsed; still, write the output in one go, after the run. */
	out = open_memstream(&obuf, &olen);
	if (!out) {
		bm_err("out of memory");
		replay_free(&tr);
		return 1;
	}
	replay_run(&tr, &cfg, out);
	fclose(out);
	replay_free(&tr);
	if (fwrite(obuf, 1, olen, stdout) != olen || fflush(stdout)) {
		bm_err("writing the output: %s", strerror(errno));
		free(obuf);
		return 1;
	}
	free(obuf);
	return 0;
}
