// SPDX-License-Identifier: BSD-2-Clause
/* The model state across restarts: what is kept and its format are in state.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "settings.h"
#include "state.h"
#include "util.h"

#define MAGIC "bpfmeter-state"
/* One name, not one per write: a crash leaves at most one, which the next write replaces. */
#define TEMP_FILE "." STATE_FILE ".tmp"
#define END_LEN (sizeof("end 12345678\n") - 1)

static void add_key(struct state_identity *id, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_key(struct state_identity *id, const char *key, const char *fmt, ...)
{
	struct state_key *k = &id->v[id->n++];
	va_list ap;

	k->key = key;
	va_start(ap, fmt);
	vsnprintf(k->value, sizeof(k->value), fmt, ap);
	va_end(ap);
	/* A value is the rest of its line: it holds no line break, nor anything like one. */
	for (char *p = k->value; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* s after what buf holds (off bytes), a ';' between: the new length, however much fits. */
static size_t join(char *buf, size_t size, size_t off, const char *s)
{
	int n = snprintf(buf + off, size - off, "%s%s", off ? ";" : "", s);

	return n < 0 || (size_t)n >= size - off ? size - 1 : off + (size_t)n;
}

void state_identity_init(struct state_identity *id, const char *host,
			 const struct interval_config *cfg, const int *package_id,
			 unsigned int domains)
{
	char list[STATE_VALUE_MAX] = "", num[32];
	const char *key;
	size_t off = 0;

	id->n = 0;
	add_key(id, "host", "%s", host);
	for (int j = 0; j < cfg->features.nfeat; j++)
		off = join(list, sizeof(list), off, cfg->features.name[j]);
	add_key(id, "features", "%s", list);
	add_key(id, "sockets", "%d", cfg->nr_sockets);
	list[0] = '\0';
	off = 0;
	for (int i = 0; i < cfg->nr_sockets; i++) {
		snprintf(num, sizeof(num), "%d", package_id[i]);
		off = join(list, sizeof(list), off, num);
	}
	add_key(id, "package_ids", "%s", list);
	list[0] = '\0';
	off = 0;
	for (int d = 0; d < BM_NR_DOMAINS; d++)
		if (domains & (1u << d))
			off = join(list, sizeof(list), off, energy_domain_name((enum bm_domain)d));
	add_key(id, "domains", "%s", list);
	add_key(id, "base_mhz", "%.17g", cfg->base_mhz);
	for (size_t i = 0;
	     id->n < STATE_MAX_KEYS && settings_model_at(i, &cfg->model, &key, num, sizeof(num));
	     i++)
		add_key(id, key, "%s", num);
}

/* An evidence's numbers after its key: "N SW SYY SXY.. SXX.." (no line end). */
static void put_evidence(FILE *f, const char *key, const struct model_evidence *ev, int p)
{
	fprintf(f, "%s %d %.17g %.17g", key, ev->n, ev->sw, ev->syy);
	for (int j = 0; j < p; j++)
		fprintf(f, " %.17g", ev->sxy[j]);
	for (int j = 0; j < p * p; j++)
		fprintf(f, " %.17g", ev->sxx[j]);
}

char *state_format(const struct state_identity *id, const struct interval *iv, size_t *len)
{
	int nmodels = iv->models ? iv->cfg.nr_sockets * BM_NR_DOMAINS : 0;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	bool bad;

	if (!f)
		return NULL;
	fprintf(f, MAGIC " %d\n", STATE_FORMAT_VERSION);
	for (int i = 0; i < id->n; i++)
		fprintf(f, "%s %s\n", id->v[i].key, id->v[i].value);
	fprintf(f, "next_id %u\n", iv->next_model_id);
	for (int i = 0; i < nmodels; i++) {
		const struct model *m = &iv->models[i];
		int p = m->nfeat;

		for (int k = 0; k < m->nlayers; k++) {
			const struct model_layer *l = &m->layers[k];

			fprintf(f, "layer %d %s %d\n", i / BM_NR_DOMAINS,
				energy_domain_name((enum bm_domain)(i % BM_NR_DOMAINS)),
				l->layer_mhz);
			if (l->id) {
				fprintf(f, "fit %u %.17g", l->id, l->fit.intercept);
				for (int j = 0; j < p; j++)
					fprintf(f, " %.17g", l->fit.coef[j]);
				fprintf(f, "\nlocal %.17g", l->local.intercept);
				for (int j = 0; j < p; j++)
					fprintf(f, " %.17g", l->local.coef[j]);
				fputc('\n', f);
			}
			/* The weights' evidence and prior: "evidence N SW SYY SXY.. SXX.." */
			put_evidence(f, "evidence", &l->ev, p);
			fprintf(f, "\nprior %d", l->prior.set);
			for (int j = 0; j < p; j++)
				fprintf(f, " %.17g", l->prior.w[j]);
			for (int j = 0; j < p * p; j++)
				fprintf(f, " %.17g", l->prior.prec[j]);
			/* "track NMEAN MEAN_Y MEAN_X.. STATIC HAVE_ERR ERR_LEVEL ERR_STATIC
			 * SIGMA2" */
			fprintf(f, "\ntrack %d %.17g", l->nmean, l->mean_y);
			for (int j = 0; j < p; j++)
				fprintf(f, " %.17g", l->mean_x[j]);
			fprintf(f, " %.17g %d %.17g %.17g %.17g\n", l->static_w, l->have_err,
				l->err_level, l->err_static, l->sigma2);
			/* The prediction's: "diffs N SW SYY SXY.. SXX.. SIGMA2 W.." */
			put_evidence(f, "diffs", &l->evd, p);
			fprintf(f, " %.17g", l->sigma2d);
			for (int j = 0; j < p; j++)
				fprintf(f, " %.17g", l->wd[j]);
			fputc('\n', f);
			fprintf(f, "samples %d %d\n", l->n, l->head);
			for (int s = 0; s < l->n; s++) {
				fprintf(f, "sample %.17g", l->y[s]);
				for (int j = 0; j < p; j++)
					fprintf(f, " %.17g", l->x[s * p + j]);
				fputc('\n', f);
			}
			fprintf(f, "errors %d %d\n", l->nerr, l->err_head);
			for (int e = 0; e < l->nerr; e++)
				fprintf(f, "error %.17g\n", l->err[e]);
		}
	}
	/* A memory stream fails only for want of memory. */
	bad = ferror(f);
	if (fclose(f) || bad) {
		free(buf);
		return NULL;
	}
	buf = bm_realloc_array(buf, n + END_LEN + 1, 1);
	snprintf(buf + n, END_LEN + 1, "end %08lx\n", crc32_z(0, (const Bytef *)buf, n));
	*len = n + END_LEN;
	return buf;
}

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return err;
}

struct parser {
	char *p, *end; /* the rest of the text, every line of it ending in '\n' */
	int line; /* the number of the line last taken */
	char *why;
	size_t whylen;
	int version; /* of the file's format */
};

/* The next line, NUL-terminated in place, or NULL after the last. */
static char *next_line(struct parser *ps)
{
	char *l = ps->p, *nl;

	if (l >= ps->end)
		return NULL;
	nl = memchr(l, '\n', (size_t)(ps->end - l));
	*nl = '\0';
	ps->p = nl + 1;
	ps->line++;
	return l;
}

static int damaged(struct parser *ps, const char *what)
{
	return fail(ps->why, ps->whylen, -EBADMSG, "damaged at line %d: %s", ps->line, what);
}

/* The line's fields, split at single spaces into f[max]: their count (max + 1: too many). */
static int fields(char *line, char **f, int max)
{
	int n = 0;

	for (char *p = line; n <= max; n++) {
		if (n < max)
			f[n] = p;
		p = strchr(p, ' ');
		if (!p)
			return n + 1;
		*p++ = '\0';
	}
	return n;
}

/* A finite number, all of s: what %.17g wrote. */
static int parse_number(const char *s, double *out)
{
	char *end;

	if (!*s || isspace((unsigned char)*s))
		return -EINVAL;
	*out = strtod(s, &end);
	return *end || !isfinite(*out) ? -EINVAL : 0;
}

static int parse_int(const char *s, int min, int max, int *out)
{
	uint64_t v;

	if (s[0] == '-' && min < 0 && !bm_parse_u64(s + 1, 1, (uint64_t) - (int64_t)min, &v)) {
		*out = -(int)v;
		return 0;
	}
	if (max < 0 || bm_parse_u64(s, min > 0 ? (uint64_t)min : 0, (uint64_t)max, &v))
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* "KEY N HEAD" with N up to size and HEAD below it. */
static int ring_line(struct parser *ps, const char *key, int size, int *n, int *head)
{
	char *line = next_line(ps), *f[3];

	if (!line || fields(line, f, 3) != 3 || strcmp(f[0], key) || parse_int(f[1], 0, size, n) ||
	    parse_int(f[2], 0, size - 1, head))
		return -EINVAL;
	return 0;
}

static int parse_numbers(char **f, double *v, int n)
{
	for (int i = 0; i < n; i++)
		if (parse_number(f[i], &v[i]))
			return -EINVAL;
	return 0;
}

/* A line "KEY NUMBER..." with want numbers into v. */
static int numbers_line(struct parser *ps, const char *key, double *v, int want)
{
	char *line = next_line(ps), *f[BM_MODEL_MAX_COV + BM_MODEL_MAX_FEATURES + 5];
	int nf = line ? fields(line, f, want + 1) : 0;

	if (nf != want + 1 || strcmp(f[0], key))
		return -EINVAL;
	return parse_numbers(&f[1], v, want);
}

/* The models as interval_init made them, for a state that turned out bad halfway. */
static void reset_models(struct interval *iv)
{
	for (int i = 0; i < iv->cfg.nr_sockets * BM_NR_DOMAINS; i++) {
		double pw = iv->models[i].static_prior_w, psd = iv->models[i].static_prior_sd;

		model_free(&iv->models[i]);
		model_init(&iv->models[i], &iv->cfg.model, iv->cfg.features.nfeat,
			   &iv->next_model_id);
		model_set_static_prior(&iv->models[i], pw, psd);
	}
}

/* An evidence from put_evidence's numbers (N a whole number, checked by the caller). */
static void get_evidence(const double *v, int p, struct model_evidence *ev)
{
	ev->n = (int)v[0];
	ev->sw = v[1];
	ev->syy = v[2];
	memcpy(ev->sxy, &v[3], (size_t)p * sizeof(double));
	memcpy(ev->sxx, &v[3 + p], (size_t)(p * p) * sizeof(double));
}

/* One layer, from its "layer" line on, into its model. */
static int parse_layer(struct parser *ps, char *line, struct interval *iv, double *x, double *y,
		       double *err, unsigned int *max_id)
{
	const struct model_config *c = &iv->cfg.model;
	struct model_layer l = { .x = x, .y = y, .err = err };
	double big[4 + 2 * BM_MODEL_MAX_FEATURES + BM_MODEL_MAX_COV];
	char *f[4];
	int sock, dom, p = iv->cfg.features.nfeat, mhz, ret;
	struct model *m;
	uint64_t id;

	if (fields(line, f, 4) != 4 || strcmp(f[0], "layer"))
		return damaged(ps, "expected 'layer SOCKET DOMAIN MHZ'");
	for (dom = 0; dom < BM_NR_DOMAINS; dom++)
		if (!strcmp(f[2], energy_domain_name((enum bm_domain)dom)))
			break;
	if (parse_int(f[1], 0, iv->cfg.nr_sockets - 1, &sock) || dom == BM_NR_DOMAINS ||
	    parse_int(f[3], -1, 1000000, &mhz))
		return damaged(ps, "a layer of no socket, domain or frequency of this session");
	m = &iv->models[sock * BM_NR_DOMAINS + dom];
	l.layer_mhz = mhz;
	/* "fit ID INTERCEPT COEF...", where the layer was fitted (the text ends in a NUL). */
	if (!strncmp(ps->p, "fit ", 4)) {
		char *ff[BM_MODEL_MAX_FEATURES + 3];
		double v[BM_MODEL_MAX_FEATURES + 1];

		line = next_line(ps);
		if (fields(line, ff, p + 3) != p + 3 || bm_parse_u64(ff[1], 1, UINT32_MAX, &id) ||
		    parse_numbers(&ff[2], v, p + 1))
			return damaged(ps, "expected 'fit ID INTERCEPT COEF...', an id from 1 and "
					   "one weight per feature");
		l.id = (unsigned int)id;
		l.fit.intercept = v[0];
		l.fit.nfeat = p;
		memcpy(l.fit.coef, &v[1], (size_t)p * sizeof(double));
		if (numbers_line(ps, "local", v, p + 1))
			return damaged(ps, "expected 'local INTERCEPT COEF...', one weight per "
					   "feature");
		l.local.intercept = v[0];
		l.local.nfeat = p;
		memcpy(l.local.coef, &v[1], (size_t)p * sizeof(double));
	}
	if (numbers_line(ps, "evidence", big, 3 + p + p * p) || big[0] < 0 || big[0] > INT_MAX ||
	    big[0] != floor(big[0]))
		return damaged(ps, "expected 'evidence N SW SYY' and the sums of each feature");
	get_evidence(big, p, &l.ev);
	if (numbers_line(ps, "prior", big, 1 + p + p * p) || (big[0] != 0 && big[0] != 1))
		return damaged(ps, "expected 'prior 0|1' and its weights and precision");
	l.prior.set = big[0] == 1;
	memcpy(l.prior.w, &big[1], (size_t)p * sizeof(double));
	memcpy(l.prior.prec, &big[1 + p], (size_t)(p * p) * sizeof(double));
	if (numbers_line(ps, "track", big, 2 + p + 5) || big[0] < 0 || big[0] > INT_MAX ||
	    big[0] != floor(big[0]) || (big[3 + p] != 0 && big[3 + p] != 1))
		return damaged(ps, "expected 'track N POWER FEATURES... STATIC 0|1 ERR ERR "
				   "SIGMA2'");
	l.nmean = (int)big[0];
	l.mean_y = big[1];
	memcpy(l.mean_x, &big[2], (size_t)p * sizeof(double));
	l.static_w = big[2 + p];
	l.have_err = big[3 + p] == 1;
	l.err_level = big[4 + p];
	l.err_static = big[5 + p];
	l.sigma2 = big[6 + p];
	/*
	 * The prediction's evidence, from version 3 on. A version 2 layer starts it afresh, with
	 * the split's weights.
	 */
	if (ps->version < 3) {
		memcpy(l.wd, l.fit.coef, sizeof(l.wd));
	} else {
		if (numbers_line(ps, "diffs", big, 4 + 2 * p + p * p) || big[0] < 0 ||
		    big[0] > INT_MAX || big[0] != floor(big[0]))
			return damaged(ps, "expected 'diffs N SW SYY', the sums of each feature, "
					   "SIGMA2 and one weight per feature");
		get_evidence(big, p, &l.evd);
		l.sigma2d = big[3 + p + p * p];
		memcpy(l.wd, &big[4 + p + p * p], (size_t)p * sizeof(double));
	}
	if (ring_line(ps, "samples", c->window, &l.n, &l.head))
		return damaged(ps, "expected 'samples N HEAD' within this model's window");
	for (int s = 0; s < l.n; s++) {
		double v[BM_MODEL_MAX_FEATURES + 1];

		if (numbers_line(ps, "sample", v, p + 1))
			return damaged(ps, "expected 'sample' with the power and each feature");
		y[s] = v[0];
		memcpy(&x[s * p], &v[1], (size_t)p * sizeof(double));
	}
	if (ring_line(ps, "errors", c->error_window, &l.nerr, &l.err_head))
		return damaged(ps, "expected 'errors N HEAD' within this model's error window");
	for (int e = 0; e < l.nerr; e++)
		if (numbers_line(ps, "error", &err[e], 1))
			return damaged(ps, "expected 'error' and a number");
	ret = model_restore_layer(m, &l);
	if (ret == -EEXIST)
		return damaged(ps, "a layer given twice");
	if (ret)
		return damaged(ps, "a layer this model could not have made (its rings, fit or "
				   "numbers)");
	if (l.id > *max_id)
		*max_id = l.id;
	return 0;
}

/*
 * The KEY VALUE lines up to next_id (*next: that line), against id: -ESTALE naming every key
 * that differs.
 */
static int check_identity(struct parser *ps, const struct state_identity *id, char **next)
{
	struct {
		char *key, *value;
	} got[STATE_MAX_KEYS * 2];
	int n = 0, off = 0;
	char *line;

	while ((line = next_line(ps)) && strncmp(line, "next_id ", 8)) {
		char *sp = strchr(line, ' ');

		if (!sp || n == (int)ARRAY_SIZE(got))
			return damaged(ps, "expected 'KEY VALUE' or 'next_id N'");
		*sp = '\0';
		got[n].key = line;
		got[n++].value = sp + 1;
	}
	if (!line)
		return damaged(ps, "no next_id line");
	*next = line;
	for (int i = 0; i < id->n; i++) {
		const struct state_key *k = &id->v[i];
		int j;

		for (j = 0; j < n && strcmp(got[j].key, k->key); j++)
			;
		if (j < n && !strcmp(got[j].value, k->value))
			continue;
		off += snprintf(ps->why + off, ps->whylen - (size_t)off, "%s%s %s (here %s)",
				off ? "; " : "it was made under other settings: ", k->key,
				j < n ? got[j].value : "missing", k->value);
		if ((size_t)off >= ps->whylen)
			return -ESTALE;
	}
	for (int j = 0; j < n; j++) {
		int i;

		for (i = 0; i < id->n && strcmp(got[j].key, id->v[i].key); i++)
			;
		if (i < id->n)
			continue;
		off += snprintf(ps->why + off, ps->whylen - (size_t)off, "%s%s %s (unknown here)",
				off ? "; " : "it was made under other settings: ", got[j].key,
				got[j].value);
		if ((size_t)off >= ps->whylen)
			return -ESTALE;
	}
	return off ? -ESTALE : 0;
}

/* The first line, the end line and the checksum: the length of what they vouch for. */
static int check_frame(const char *buf, size_t len, char *why, size_t whylen, size_t *body,
		       int *format)
{
	size_t ml = strlen(MAGIC), first = 0, last;
	char version[16] = "", *end;
	unsigned long crc;

	if (len <= ml || memcmp(buf, MAGIC " ", ml + 1))
		return fail(why, whylen, -EBADMSG, "not a bpfmeter model state file");
	while (ml + 1 + first < len && buf[ml + 1 + first] != '\n' && first < sizeof(version) - 1)
		first++;
	memcpy(version, buf + ml + 1, first);
	*format = (int)strtoul(version, &end, 10);
	if (*format < STATE_FORMAT_OLDEST || *format > STATE_FORMAT_VERSION || *end ||
	    end == version || version[0] == '-' || version[0] == '+' || version[0] == ' ')
		return fail(why, whylen, -EBADMSG,
			    "of format version '%s'; this bpfmeter reads versions %d to %d",
			    version, STATE_FORMAT_OLDEST, STATE_FORMAT_VERSION);
	if (buf[len - 1] != '\n' || len < END_LEN + ml + 3)
		return fail(why, whylen, -EBADMSG, "truncated: it does not end with its end line");
	last = len - END_LEN;
	if (buf[last - 1] != '\n' || memcmp(buf + last, "end ", 4))
		return fail(why, whylen, -EBADMSG, "truncated: it does not end with its end line");
	crc = strtoul(buf + last + 4, &end, 16);
	if (end != buf + len - 1 || crc != crc32_z(0, (const Bytef *)buf, last))
		return fail(why, whylen, -EBADMSG,
			    "damaged: its checksum does not match its contents");
	if (memchr(buf, '\0', last))
		return fail(why, whylen, -EBADMSG, "damaged: it holds a NUL byte");
	*body = last;
	return 0;
}

int state_parse(const char *buf, size_t len, const struct state_identity *id, struct interval *iv,
		char *why, size_t whylen)
{
	int w = iv->cfg.model.window, p = iv->cfg.features.nfeat, ret;
	unsigned int max_id = 0;
	struct parser ps = { .why = why, .whylen = whylen };
	double *x, *y, *err;
	char *text, *line;
	size_t body = 0;
	uint64_t next;

	ret = check_frame(buf, len, why, whylen, &body, &ps.version);
	if (ret)
		return ret;
	if (!iv->models)
		return fail(why, whylen, -EINVAL, "no models: nothing measures energy");
	for (int i = 0; i < iv->cfg.nr_sockets * BM_NR_DOMAINS; i++)
		if (iv->models[i].nlayers)
			return fail(why, whylen, -EINVAL, "the models have run already");
	text = bm_calloc(body + 1, 1);
	memcpy(text, buf, body);
	ps.p = text;
	ps.end = text + body;
	next_line(&ps);
	ret = check_identity(&ps, id, &line);
	if (ret) {
		free(text);
		return ret;
	}
	if (bm_parse_u64(line + 8, 0, UINT32_MAX, &next)) {
		free(text);
		return damaged(&ps, "expected 'next_id N'");
	}
	x = bm_calloc((size_t)w * (size_t)p, sizeof(double));
	y = bm_calloc((size_t)w, sizeof(double));
	err = bm_calloc((size_t)iv->cfg.model.error_window, sizeof(double));
	while (!ret && (line = next_line(&ps)))
		ret = parse_layer(&ps, line, iv, x, y, err, &max_id);
	free(x);
	free(y);
	free(err);
	free(text);
	if (!ret && max_id > next)
		ret = fail(why, whylen, -EBADMSG, "damaged: next_id %llu is below model id %u",
			   (unsigned long long)next, max_id);
	if (ret) {
		reset_models(iv);
		return ret;
	}
	iv->next_model_id = (unsigned int)next;
	return 0;
}

int state_save(const char *dir, const struct state_identity *id, const struct interval *iv,
	       char *why, size_t whylen)
{
	size_t len = 0;
	char *text = state_format(id, iv, &len);
	int dfd = -1, fd = -1, ret;

	if (!text)
		return fail(why, whylen, -ENOMEM, "out of memory");
	ret = bm_mkdir_p(dir, 0755);
	if (ret) {
		fail(why, whylen, ret, "cannot create %s: %s", dir, strerror(-ret));
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		fail(why, whylen, ret, "cannot open %s: %s", dir, strerror(-ret));
		goto out;
	}
	/* O_EXCL | O_NOFOLLOW: never through a link someone left under the temporary name. */
	unlinkat(dfd, TEMP_FILE, 0);
	fd = openat(dfd, TEMP_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    BM_PRIVATE_MODE);
	if (fd < 0) {
		ret = -errno;
		fail(why, whylen, ret, "cannot create %s/%s: %s", dir, TEMP_FILE, strerror(-ret));
		goto out;
	}
	ret = bm_write_all(fd, text, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret) {
		fail(why, whylen, ret, "cannot write %s/%s: %s", dir, TEMP_FILE, strerror(-ret));
		unlinkat(dfd, TEMP_FILE, 0);
		goto out;
	}
	/* The state appears under its name whole or not at all. */
	if (renameat(dfd, TEMP_FILE, dfd, STATE_FILE)) {
		ret = -errno;
		fail(why, whylen, ret, "cannot rename %s/%s to %s: %s", dir, TEMP_FILE, STATE_FILE,
		     strerror(-ret));
		unlinkat(dfd, TEMP_FILE, 0);
		goto out;
	}
	/* Only a synced directory keeps the rename over a crash. */
	if (fsync(dfd)) {
		ret = -errno;
		fail(why, whylen, ret, "cannot sync %s: %s", dir, strerror(-ret));
	}
out:
	if (dfd >= 0)
		close(dfd);
	free(text);
	return ret;
}

int state_lock(const char *dir, char *why, size_t whylen)
{
	int fd, ret = bm_mkdir_p(dir, 0755);

	if (ret)
		return fail(why, whylen, ret, "cannot create %s: %s", dir, strerror(-ret));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || access(dir, W_OK) || flock(fd, LOCK_EX | LOCK_NB)) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		if (ret == -EWOULDBLOCK)
			return fail(why, whylen, ret, "%s is in use by another bpfmeter", dir);
		return fail(why, whylen, ret, "cannot write to %s: %s", dir, strerror(-ret));
	}
	return fd;
}

int state_load(const char *dir, const struct state_identity *id, struct interval *iv, char *why,
	       size_t whylen)
{
	char path[4096];
	struct stat st;
	size_t off = 0;
	char *buf;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* No file, or no directory yet: nothing to load (and a save says what is wrong). */
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return -ENOENT;
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return fail(why, whylen, ret, "cannot read it: %s", strerror(-ret));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(why, whylen, -EBADMSG, "not a regular file");
	}
	buf = bm_calloc((size_t)st.st_size + 1, 1);
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n ? -errno : 0;
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	if (ret)
		fail(why, whylen, ret, "cannot read it: %s", strerror(-ret));
	else
		ret = state_parse(buf, off, id, iv, why, whylen);
	free(buf);
	return ret;
}
