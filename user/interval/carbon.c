// SPDX-License-Identifier: BSD-2-Clause
/* Carbon intensity: a constant, or a file of values over time read whole at start. */
#include <csv.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carbon.h"
#include "util.h"

/* Unix seconds whose nanoseconds fit in an int64_t, as interval timestamps do. */
#define CARBON_MAX_T (INT64_MAX / 1000000000)

static const char *const header_names[] = { "timestamp", "g_per_kwh" };

struct carbon_parse {
	struct bm_at at;
	char *field[2]; /* the record's first two fields */
	int nfields;
	bool header_done;
	struct carbon c; /* what has been read */
	size_t cap;
};

static void on_field(void *s, size_t len, void *data)
{
	struct carbon_parse *p = data;

	if (!p->at.failed && p->nfields < 2)
		p->field[p->nfields] = bm_strndup(s ? s : "", len);
	p->nfields++;
}

static void header(struct carbon_parse *p)
{
	int bad = p->nfields > 2 ? 3 : 0;

	p->header_done = true;
	for (int i = 1; i >= 0; i--)
		if (i >= p->nfields || strcmp(p->field[i], header_names[i]))
			bad = i + 1;
	if (bad)
		bm_fail_at(&p->at, bad, "the header must be timestamp,g_per_kwh");
}

static void row(struct carbon_parse *p)
{
	struct carbon *c = &p->c;
	uint64_t t;
	double g;

	if (p->nfields != 2) {
		bm_fail_at(&p->at, p->nfields < 2 ? p->nfields + 1 : 3,
			   "%d field%s, the header has 2", p->nfields, p->nfields == 1 ? "" : "s");
		return;
	}
	if (bm_parse_u64(p->field[0], 0, CARBON_MAX_T, &t)) {
		bm_fail_at(&p->at, 1, "timestamp: \"%s\" is not a whole number of unix seconds",
			   p->field[0]);
		return;
	}
	if (c->n && (int64_t)t <= c->t[c->n - 1]) {
		bm_fail_at(&p->at, 1,
			   "timestamp %" PRIu64 " is not after the previous one, %" PRId64, t,
			   c->t[c->n - 1]);
		return;
	}
	if (bm_parse_double(p->field[1], BM_CARBON_MIN, BM_CARBON_MAX, &g) || g <= BM_CARBON_MIN ||
	    g >= BM_CARBON_MAX) {
		bm_fail_at(&p->at, 2,
			   "g_per_kwh: \"%s\" is not a number above 0 and below 5000 (grams CO2e "
			   "per kWh)",
			   p->field[1]);
		return;
	}
	if (c->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		c->t = bm_realloc_array(c->t, p->cap, sizeof(*c->t));
		c->g_per_kwh = bm_realloc_array(c->g_per_kwh, p->cap, sizeof(*c->g_per_kwh));
	}
	c->t[c->n] = (int64_t)t;
	c->g_per_kwh[c->n++] = g;
}

static void on_record(int ch, void *data)
{
	struct carbon_parse *p = data;

	(void)ch; /* -1: a last line without its newline, whole all the same */
	if (!p->at.failed) {
		if (!p->header_done)
			header(p);
		else
			row(p);
	}
	for (int i = 0; i < 2; i++) {
		free(p->field[i]);
		p->field[i] = NULL;
	}
	p->nfields = 0;
}

int carbon_load(struct carbon *c, const char *path, char *err, size_t errlen)
{
	struct carbon_parse p = { .at = { .path = path, .err = err, .errlen = errlen } };
	struct csv_parser csv;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI);
	/* Line by line, so that an error names the line libcsv was on. */
	while (!p.at.failed && (len = getline(&buf, &cap, f)) > 0) {
		char *text = buf;

		/* A spreadsheet's UTF-8 byte order mark is not part of the first name. */
		if (!p.at.line++ && len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
			text += 3;
			len -= 3;
		}
		if (csv_parse(&csv, text, (size_t)len, on_field, on_record, &p) != (size_t)len)
			bm_fail_at(&p.at, p.nfields + 1, "not CSV: %s",
				   csv_strerror(csv_error(&csv)));
	}
	if (!p.at.failed && ferror(f))
		bm_fail_at(&p.at, 0, "%s", strerror(errno));
	if (!p.at.failed && csv_fini(&csv, on_field, on_record, &p))
		bm_fail_at(&p.at, p.nfields + 1, "the last line is cut off inside a quoted field");
	if (!p.at.failed && !p.c.n) {
		p.at.failed = true;
		snprintf(err, errlen, "%s: %s", path,
			 p.header_done ? "no intensities after the header" : "empty, no header");
	}
	csv_free(&csv);
	fclose(f);
	free(buf);
	for (int i = 0; i < 2; i++)
		free(p.field[i]);
	if (p.at.failed) {
		carbon_free(&p.c);
		return -1;
	}
	p.c.constant = c->constant;
	carbon_free(c);
	*c = p.c;
	return 0;
}

void carbon_free(struct carbon *c)
{
	free(c->t);
	free(c->g_per_kwh);
	c->t = NULL;
	c->g_per_kwh = NULL;
	c->n = 0;
}

double carbon_at(const struct carbon *c, int64_t ts_ns)
{
	/* The last value at t with t x 1e9 <= ts_ns: t <= floor(ts_ns / 1e9). */
	int64_t s = ts_ns >= 0 ? ts_ns / 1000000000 : -1;
	size_t lo = 0, hi = c->n;

	if (c->constant > 0)
		return c->constant;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->t[mid] <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? c->g_per_kwh[lo - 1] : -1;
}
