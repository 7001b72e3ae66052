// SPDX-License-Identifier: BSD-2-Clause
/*
 * The model state across restarts: saved and loaded, the models predict and go on to the bit
 * as if never stopped, ids included; a state made under other settings, another host or
 * other features is refused with the reason; damaged, truncated and foreign files are
 * refused, whatever the damage; a write that fails leaves the old file as it was.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fixture.h"
#include "interval.h"
#include "state.h"
#include "unit.h"

#define NFEAT 2
#define DOMAINS ((1u << BM_DOMAIN_PACKAGE) | (1u << BM_DOMAIN_DRAM))

static const int package_ids[2] = { 0, 3 };

/* Two sockets, two features, a short window so that the rings wrap. */
static void iv_init(struct interval *iv, int window)
{
	struct interval_config cfg = {
		.nr_sockets = 2,
		.have_energy = true,
		.features = { .nfeat = NFEAT,
			      .idx = { 0, 1 },
			      .name = { "cycles", "instructions" } },
		.cycles_idx = -1,
		.ref_cycles_idx = -1,
		.model = model_config_default,
	};

	cfg.model.window = window;
	cfg.model.min_samples = 5;
	interval_init(iv, &cfg);
}

static struct model *model_of(struct interval *iv, int socket, enum bm_domain d)
{
	return &iv->models[socket * BM_NR_DOMAINS + d];
}

/* Interval k's inputs: features and a power that changes its law at k = 25 (a refit). */
static double inputs(int k, int salt, double *x)
{
	unsigned int r = (unsigned int)(k * 2654435761u + (unsigned int)salt * 40503u);

	x[0] = 1e8 + (double)(r % 1000) * 2.9e6;
	x[1] = 1e8 + (double)((r / 1000) % 1000) * 3.3e6;
	return (k < 25 ? 20 : 31) + 4e-9 * x[0] + (k < 25 ? 2e-9 : 6e-9) * x[1] +
	       (double)(r % 7) * 0.01;
}

/* Interval k through three models: socket 0's package on two layers, socket 1's DRAM. */
static void step(struct interval *iv, int k, struct model_step_result res[3])
{
	double x[NFEAT], y;

	y = inputs(k, 1, x);
	model_step(model_of(iv, 0, BM_DOMAIN_PACKAGE), k % 3 ? 2100 : 2000, x, y, &res[0]);
	y = inputs(k, 2, x);
	model_step(model_of(iv, 1, BM_DOMAIN_DRAM), -1, x, y / 4, &res[1]);
	y = inputs(k, 3, x);
	model_step(model_of(iv, 0, BM_DOMAIN_DRAM), -1, x, y / 5, &res[2]);
}

static void identity(struct state_identity *id, const struct interval *iv, const char *host)
{
	state_identity_init(id, host, &iv->cfg, package_ids, DOMAINS);
}

/* A session of n intervals, its state as text. */
static char *session(struct interval *iv, int window, int n, size_t *len)
{
	struct model_step_result res[3];
	struct state_identity id;

	iv_init(iv, window);
	for (int k = 0; k < n; k++)
		step(iv, k, res);
	identity(&id, iv, "host-a");
	return state_format(&id, iv, len);
}

static bool same_bits(const double *a, const double *b, int n)
{
	return !n || !memcmp(a, b, (size_t)n * sizeof(double));
}

static bool same_layer(const struct model_layer *a, const struct model_layer *b, int p)
{
	return a->layer_mhz == b->layer_mhz && a->id == b->id && a->n == b->n &&
	       a->head == b->head && a->nerr == b->nerr && a->err_head == b->err_head &&
	       a->fit.nfeat == b->fit.nfeat && same_bits(&a->fit.intercept, &b->fit.intercept, 1) &&
	       same_bits(a->fit.coef, b->fit.coef, BM_MODEL_MAX_FEATURES) &&
	       same_bits(a->x, b->x, a->n * p) && same_bits(a->y, b->y, a->n) &&
	       same_bits(a->err, b->err, a->nerr);
}

static int layers(const struct interval *iv)
{
	int n = 0;

	for (int i = 0; i < iv->cfg.nr_sockets * BM_NR_DOMAINS; i++)
		n += iv->models[i].nlayers;
	return n;
}

static void test_saved_and_loaded_models_go_on_alike(void)
{
	struct interval a, b;
	struct state_identity id;
	struct model_step_result ra[3], rb[3];
	char why[2048] = "", dir[256], *again;
	size_t len, len2;
	char *text = session(&a, 12, 40, &len);
	unsigned int loaded_max = a.next_model_id;
	bool refitted = false, same = true;

	CHECK(text != NULL);
	if (!text)
		return;
	iv_init(&b, 12);
	identity(&id, &b, "host-a");
	CHECK_EQ_U64(state_parse(text, len, &id, &b, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ_U64(layers(&a), 4);
	CHECK_EQ_U64(layers(&b), 4);
	CHECK_EQ_U64(b.next_model_id, a.next_model_id);
	for (int i = 0; i < 2 * BM_NR_DOMAINS; i++)
		for (int k = 0; k < a.models[i].nlayers && k < b.models[i].nlayers; k++)
			CHECK(same_layer(&a.models[i].layers[k], &b.models[i].layers[k], NFEAT));
	/* The same text again: nothing was lost or rounded on the way. */
	again = state_format(&id, &b, &len2);
	CHECK(again && len2 == len && !memcmp(again, text, len));
	free(again);

	/* Both go on: the same predictions, ids and refits, to the bit. */
	for (int k = 40; k < 70; k++) {
		step(&a, k, ra);
		step(&b, k, rb);
		for (int j = 0; j < 3; j++) {
			same &= ra[j].predicted == rb[j].predicted &&
				same_bits(&ra[j].predicted_w, &rb[j].predicted_w, 1) &&
				ra[j].predicted_id == rb[j].predicted_id &&
				ra[j].refitted == rb[j].refitted &&
				ra[j].layer->id == rb[j].layer->id;
			refitted |= rb[j].refitted;
			/* The first interval after the reload is predicted by a loaded model. */
			if (k == 40)
				CHECK(rb[j].predicted && rb[j].predicted_id > 0);
			if (rb[j].refitted)
				CHECK(rb[j].layer->id > loaded_max);
		}
	}
	CHECK(same);
	CHECK(refitted);

	/* Through a file the same. */
	if (fixture_mkdtemp(dir, sizeof(dir), "state")) {
		struct interval c;

		CHECK_EQ_U64(state_save(dir, &id, &b, why, sizeof(why)), 0);
		iv_init(&c, 12);
		CHECK_EQ_U64(state_load(dir, &id, &c, why, sizeof(why)), 0);
		again = state_format(&id, &c, &len2);
		free(text);
		text = state_format(&id, &b, &len);
		CHECK(again && text && len2 == len && !memcmp(again, text, len));
		free(again);
		interval_free(&c);
		fixture_rmtree(dir);
	}
	free(text);
	interval_free(&a);
	interval_free(&b);
}

/*
 * text parsed by a session of host, window, sockets and domains, whose one feature is feature
 * (NULL: the two of iv_init): its return, and why.
 */
static int parse_under(const char *text, size_t len, const char *host, int window,
		       const char *feature, int nr_sockets, unsigned int domains, char *why,
		       size_t whylen)
{
	struct interval iv;
	struct state_identity id;
	int ret;

	iv_init(&iv, window);
	if (feature) {
		iv.cfg.features.nfeat = 1;
		iv.cfg.features.name[0] = feature;
	}
	iv.cfg.nr_sockets = nr_sockets;
	state_identity_init(&id, host, &iv.cfg, package_ids, domains);
	why[0] = '\0';
	ret = state_parse(text, len, &id, &iv, why, whylen);
	/* Refused: nothing of it is in the models. */
	iv.cfg.nr_sockets = 2;
	if (ret)
		CHECK_EQ_U64(layers(&iv), 0);
	interval_free(&iv);
	return ret;
}

static void test_other_settings_host_or_features_are_refused(void)
{
	struct interval a;
	size_t len;
	char why[2048], *text = session(&a, 12, 30, &len);

	interval_free(&a);
	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_EQ_U64(parse_under(text, len, "host-a", 12, NULL, 2, DOMAINS, why, sizeof(why)), 0);
	CHECK_EQ_U64(parse_under(text, len, "host-b", 12, NULL, 2, DOMAINS, why, sizeof(why)),
		     -ESTALE);
	CHECK_STR(why, "it was made under other settings: host host-a (here host-b)");
	CHECK_EQ_U64(parse_under(text, len, "host-a", 30, NULL, 2, DOMAINS, why, sizeof(why)),
		     -ESTALE);
	CHECK_STR(why, "it was made under other settings: model_window 12 (here 30)");
	CHECK_EQ_U64(parse_under(text, len, "host-a", 12, "cpu", 2, DOMAINS, why, sizeof(why)),
		     -ESTALE);
	CHECK_STR(why, "it was made under other settings: features cycles;instructions (here cpu)");
	CHECK_EQ_U64(parse_under(text, len, "host-a", 12, NULL, 2, 1u << BM_DOMAIN_PACKAGE, why,
				 sizeof(why)),
		     -ESTALE);
	CHECK_STR(why, "it was made under other settings: domains package;dram (here package)");
	/* Everything that differs, in one line. */
	CHECK_EQ_U64(parse_under(text, len, "host-c", 20, NULL, 1, DOMAINS, why, sizeof(why)),
		     -ESTALE);
	CHECK_STR(why, "it was made under other settings: host host-a (here host-c); sockets 2 "
		       "(here 1); package_ids 0;3 (here 0); model_window 12 (here 20)");
	free(text);
}

/* text with its end line made anew for its (changed) contents. */
static size_t reseal(char *text, size_t len)
{
	size_t body = len;

	while (body > 0 && strncmp(text + body, "end ", 4))
		body--;
	return body +
	       (size_t)sprintf(text + body, "end %08lx\n", crc32_z(0, (const Bytef *)text, body));
}

/*
 * The text with field k of its first line that starts with "prefix " replaced by with,
 * resealed, parsed by the session that made it: its return, and why.
 */
static int parse_edited(const char *text, size_t len, const char *prefix, int k, const char *with,
			char *why, size_t whylen)
{
	char *t = calloc(1, len + strlen(with) + 64), *at, *end;
	char want[64];
	size_t n;
	int ret;

	snprintf(want, sizeof(want), "\n%s", prefix);
	memcpy(t, text, len);
	for (at = strstr(t, want); at && !strchr(" \n", at[strlen(want)]);)
		at = strstr(at + 1, want);
	CHECK(at != NULL);
	if (!at) {
		free(t);
		return 0;
	}
	for (at++; k > 0; k--)
		at = strchr(at, ' ') + 1;
	end = at + strcspn(at, " \n");
	memmove(at + strlen(with), end, strlen(end) + 1);
	memcpy(at, with, strlen(with));
	n = reseal(t, strlen(t));
	ret = parse_under(t, n, "host-a", 12, NULL, 2, DOMAINS, why, whylen);
	free(t);
	return ret;
}

static void test_damaged_truncated_or_foreign_files_are_refused(void)
{
	struct interval a;
	size_t len;
	char why[2048], *text = session(&a, 12, 30, &len), *copy, dir[256];
	int wrong = 0;

	interval_free(&a);
	CHECK(text != NULL);
	if (!text)
		return;
	/* Cut anywhere: refused, every time. */
	for (size_t n = 0; n < len; n++)
		wrong += parse_under(text, n, "host-a", 12, NULL, 2, DOMAINS, why, sizeof(why)) !=
			 -EBADMSG;
	CHECK_EQ_U64(wrong, 0);
	parse_under(text, len - 30, "host-a", 12, NULL, 2, DOMAINS, why, sizeof(why));
	CHECK_STR(why, "truncated: it does not end with its end line");
	/* Any byte changed: refused, every time. */
	copy = malloc(len);
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, text, len);
		copy[i] ^= 0x04;
		wrong += parse_under(copy, len, "host-a", 12, NULL, 2, DOMAINS, why, sizeof(why)) !=
			 -EBADMSG;
	}
	CHECK_EQ_U64(wrong, 0);
	memcpy(copy, text, len);
	copy[len / 2] ^= 0x04;
	parse_under(copy, len, "host-a", 12, NULL, 2, DOMAINS, why, sizeof(why));
	CHECK_STR(why, "damaged: its checksum does not match its contents");
	free(copy);

	/* Foreign files and other versions. */
	CHECK_EQ_U64(parse_under("hello\n", 6, "host-a", 12, NULL, 2, DOMAINS, why, sizeof(why)),
		     -EBADMSG);
	CHECK_STR(why, "not a bpfmeter model state file");
	CHECK_EQ_U64(parse_under("", 0, "host-a", 12, NULL, 2, DOMAINS, why, sizeof(why)),
		     -EBADMSG);
	memcpy(text + strlen("bpfmeter-state "), "4", 1);
	CHECK_EQ_U64(parse_under(text, len, "host-a", 12, NULL, 2, DOMAINS, why, sizeof(why)),
		     -EBADMSG);
	CHECK_STR(why, "of format version '4'; this bpfmeter reads versions 2 to 3");
	memcpy(text + strlen("bpfmeter-state "), "1", 1);
	CHECK_EQ_U64(parse_under(text, len, "host-a", 12, NULL, 2, DOMAINS, why, sizeof(why)),
		     -EBADMSG);
	CHECK_STR(why, "of format version '1'; this bpfmeter reads versions 2 to 3");
	memcpy(text + strlen("bpfmeter-state "), "3", 1);

	/* Sealed anew but wrong inside: refused, with the line. */
	static const struct {
		const char *line;
		int field;
		const char *with, *why;
	} edits[] = {
		{ "samples", 1, "13", "'samples N HEAD' within this model's window" },
		{ "samples", 2, "3", "could not have made" }, /* not full, so head must be n */
		{ "sample", 1, "nan", "expected 'sample'" },
		{ "sample", 2, "1e999", "expected 'sample'" },
		{ "sample", 2, "1 2", "expected 'sample'" },
		{ "fit", 1, "0", "an id from 1" },
		{ "fit", 2, "1e9", "could not have made" }, /* intercept above the TDP */
		{ "fit", 3, "-1", "could not have made" }, /* a negative weight */
		{ "errors", 1, "9", "'errors N HEAD'" },
		{ "error", 1, "x", "expected 'error'" },
		{ "layer", 1, "7", "no socket, domain" },
		{ "layer", 2, "gpu", "no socket, domain" },
		{ "layer", 3, "2150", "could not have made" },
		{ "next_id", 1, "1", "damaged: next_id 1 is below model id" },
		{ "next_id", 1, "-1", "expected 'next_id N'" },
		{ "diffs", 1, "-1", "expected 'diffs N SW SYY'" },
		{ "diffs", 2, "-1", "could not have made" }, /* a negative sum of weights */
		{ "diffs", 10, "-1", "could not have made" }, /* a negative weight */
		{ "diffs", 10, "1 2", "expected 'diffs N SW SYY'" },
		{ "track", 1, "31", "could not have made" }, /* more than BM_MODEL_FAST */
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		int ret = parse_edited(text, len, edits[i].line, edits[i].field, edits[i].with, why,
				       sizeof(why));

		if (ret != -EBADMSG || !strstr(why, edits[i].why)) {
			printf("    %s field %d = %s: %d, %s\n", edits[i].line, edits[i].field,
			       edits[i].with, ret, why);
			unit_failed_checks++;
		}
	}
	/* A layer twice. */
	CHECK_EQ_U64(parse_edited(text, len, "layer 0 package 2100", 3, "2000", why, sizeof(why)),
		     -EBADMSG);
	CHECK_HAS(why, "a layer given twice");

	/* Files: none is nothing to say; a directory in its place is refused. */
	if (fixture_mkdtemp(dir, sizeof(dir), "state")) {
		struct interval iv;
		struct state_identity id;
		char path[300];

		iv_init(&iv, 12);
		identity(&id, &iv, "host-a");
		CHECK_EQ_U64(state_load(dir, &id, &iv, why, sizeof(why)), -ENOENT);
		snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
		mkdir(path, 0755);
		CHECK_EQ_U64(state_load(dir, &id, &iv, why, sizeof(why)), -EBADMSG);
		CHECK_STR(why, "not a regular file");
		interval_free(&iv);
		fixture_rmtree(dir);
	}
	free(text);
}

static void read_all(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

/*
 * A file of the previous format, version 2, has no "diffs" lines: it is read, and each layer
 * starts its prediction's evidence afresh with the split's weights, all else as saved.
 */
static void test_a_version_2_file_is_read_without_the_prediction_evidence(void)
{
	struct interval a, b;
	struct state_identity id;
	char why[2048] = "", *at, *eol;
	size_t len;
	char *text = session(&a, 12, 40, &len);
	bool fresh = true;

	CHECK(text != NULL);
	if (!text)
		return;
	memcpy(text + strlen("bpfmeter-state "), "2", 1);
	while ((at = strstr(text, "\ndiffs ")) != NULL) {
		eol = strchr(at + 1, '\n');
		memmove(at, eol, strlen(eol) + 1);
	}
	len = reseal(text, strlen(text));
	iv_init(&b, 12);
	identity(&id, &b, "host-a");
	CHECK_EQ_U64(state_parse(text, len, &id, &b, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ_U64(layers(&b), 4);
	for (int i = 0; i < 2 * BM_NR_DOMAINS; i++)
		for (int k = 0; k < a.models[i].nlayers && k < b.models[i].nlayers; k++) {
			const struct model_layer *la = &a.models[i].layers[k];
			const struct model_layer *lb = &b.models[i].layers[k];

			CHECK(same_layer(la, lb, NFEAT));
			/* What the session had learnt from its differences is not in the file. */
			CHECK(la->evd.n > 0);
			fresh &= lb->evd.n == 0 && lb->evd.sw == 0 && lb->sigma2d == 0 &&
				 same_bits(lb->wd, lb->fit.coef, BM_MODEL_MAX_FEATURES) &&
				 lb->ev.n == la->ev.n && same_bits(&lb->sigma2, &la->sigma2, 1);
		}
	CHECK(fresh);
	free(text);
	interval_free(&a);
	interval_free(&b);
}

static void test_a_failed_write_leaves_the_old_file_intact(void)
{
	static char before[1 << 16], after[1 << 16];
	struct interval a, b;
	struct state_identity id;
	struct rlimit old, small;
	char dir[256], path[300], why[1024], sub[320];
	size_t len;
	char *text = session(&a, 12, 8, &len);

	free(text);
	text = session(&b, 12, 40, &len);
	free(text);
	identity(&id, &a, "host-a");
	if (!fixture_mkdtemp(dir, sizeof(dir), "state"))
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	CHECK_EQ_U64(state_save(dir, &id, &a, why, sizeof(why)), 0);
	read_all(path, before, sizeof(before));
	CHECK_HAS(before, "bpfmeter-state 3\n");

	/* A file size limit stops the write halfway, for root too. */
	getrlimit(RLIMIT_FSIZE, &old);
	small = old;
	small.rlim_cur = 512;
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	CHECK_EQ_U64(state_save(dir, &id, &b, why, sizeof(why)), -EFBIG);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	CHECK_HAS(why, "cannot write ");
	CHECK_HAS(why, "File too large");
	read_all(path, after, sizeof(after));
	CHECK(!strcmp(before, after));
	snprintf(sub, sizeof(sub), "%s/.%s.tmp", dir, STATE_FILE);
	CHECK(access(sub, F_OK) && errno == ENOENT);

	/* A directory that cannot be made: said, and nothing else happens. */
	snprintf(sub, sizeof(sub), "%s/sub", path);
	CHECK_EQ_U64(state_save(sub, &id, &b, why, sizeof(why)), -ENOTDIR);
	CHECK_HAS(why, "cannot create ");
	read_all(path, after, sizeof(after));
	CHECK(!strcmp(before, after));

	/* The next write that can is whole. */
	CHECK_EQ_U64(state_save(dir, &id, &b, why, sizeof(why)), 0);
	read_all(path, after, sizeof(after));
	CHECK(strcmp(before, after) && strstr(after, "\nend "));
	fixture_rmtree(dir);
	interval_free(&a);
	interval_free(&b);
}

static void test_one_process_at_a_time_keeps_a_state_dir(void)
{
	char dir[256], why[1024], sub[300];
	int fd, again;

	if (!fixture_mkdtemp(dir, sizeof(dir), "state"))
		return;
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	fd = state_lock(sub, why, sizeof(why));
	CHECK(fd >= 0);
	/* flock is per open file: a second open, here or in another process, is refused. */
	again = state_lock(sub, why, sizeof(why));
	CHECK_EQ_U64(again, -EWOULDBLOCK);
	CHECK_HAS(why, "/a/b is in use by another bpfmeter");
	if (again >= 0)
		close(again);
	close(fd);
	fd = state_lock(sub, why, sizeof(why));
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	/* Below a file: said, no crash. */
	fixture_put(dir, "a/b/f", "x");
	snprintf(sub, sizeof(sub), "%s/a/b/f/state", dir);
	CHECK_EQ_U64(state_lock(sub, why, sizeof(why)), -ENOTDIR);
	CHECK_HAS(why, "cannot create ");
	fixture_rmtree(dir);
}

const struct unit_test state_tests[] = {
	{ "state/saved_and_loaded_models_go_on_alike_ids_included",
	  test_saved_and_loaded_models_go_on_alike },
	{ "state/a_version_2_file_is_read_without_the_prediction_evidence",
	  test_a_version_2_file_is_read_without_the_prediction_evidence },
	{ "state/other_settings_host_or_features_are_refused_with_the_reason",
	  test_other_settings_host_or_features_are_refused },
	{ "state/damaged_truncated_or_foreign_files_are_refused",
	  test_damaged_truncated_or_foreign_files_are_refused },
	{ "state/a_failed_write_leaves_the_old_file_intact",
	  test_a_failed_write_leaves_the_old_file_intact },
	{ "state/one_process_at_a_time_keeps_a_state_dir",
	  test_one_process_at_a_time_keeps_a_state_dir },
	{ NULL, NULL },
};
