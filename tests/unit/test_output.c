// SPDX-License-Identifier: BSD-2-Clause
/*
 * Outputs on hostile names: line protocol escaping per the InfluxDB reference, CSV quoting per
 * RFC 4180 (read back with libcsv), and the -o forms.
 */
#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "unit.h"

/* What fn wrote, as a string the caller frees. */
#define CAPTURE(buf, stmt)                               \
	do {                                             \
		size_t _len;                             \
		FILE *f = open_memstream(&(buf), &_len); \
		stmt;                                    \
		fclose(f);                               \
	} while (0)

static void test_lp_escaping(void)
{
	char *out = NULL;
	bool first = true;

	CAPTURE(out, lp_measurement(f, "power draw,total"));
	CHECK_STR(out, "power\\ draw\\,total");
	free(out);
	/* Tag values escape commas, equals signs and spaces; quotes stay as they are. */
	CAPTURE(out, lp_tag(f, "tar get", "/a b,c=d\"e"));
	CHECK_STR(out, ",tar\\ get=/a\\ b\\,c\\=d\"e");
	free(out);
	/* A line break cannot be carried: it becomes the two characters \n. */
	CAPTURE(out, lp_tag(f, "target", "x\ny"));
	CHECK_STR(out, ",target=x\\ny");
	free(out);
	/* An empty tag value is not allowed: the tag is left out. */
	CAPTURE(out, lp_tag(f, "target", ""));
	CHECK_STR(out, "");
	free(out);
	/* UTF-8 passes through untouched. */
	CAPTURE(out, lp_tag(f, "target", "/caf\xc3\xa9 \xe2\x9a\xa1"));
	CHECK_STR(out, ",target=/caf\xc3\xa9\\ \xe2\x9a\xa1");
	free(out);
	CAPTURE(out, (lp_field_str(f, &first, "note", "say \"hi\" \\o/"),
		      lp_field_int(f, &first, "n,=x", -3), lp_field_float(f, &first, "w", 0.1)));
	CHECK_STR(out, " note=\"say \\\"hi\\\" \\\\o/\",n\\,\\=x=-3i,w=0.10000000000000001");
	free(out);
}

static const struct bm_event events[] = { { .name = "cpu,clock" } };
static const int sample_index[] = { 0 };
static const int package_id[] = { 0 };

static const struct bm_meta meta = {
	.host = "my host",
	.events = events,
	.nr_events = 1,
	.sample_index = sample_index,
	.nr_online = 2,
	.package_id = package_id,
};

static struct bm_target hostile = {
	.id = 4242,
	.kind = BM_TARGET_CGROUP,
	.name = "/weird, \"name\"=x\nline",
};

static struct bm_row hostile_row(void)
{
	return (struct bm_row){
		.target = &hostile,
		.socket = 0,
		.s = { .cpu_ns = 123456789, .ev = { 987 } },
		.share = 0.25,
	};
}

static void test_lp_points(void)
{
	struct bm_row row = hostile_row();
	struct bm_interval iv = {
		.ts_real = 1700000000.5,
		.ts_ns = 1700000000500000000LL,
		.interval_s = 1.0,
		.rows = &row,
		.n = 1,
	};
	char *out = NULL;

	CAPTURE(out, influx_interval(f, &meta, &iv));
	CHECK_STR(out, "bpfmeter_target,host=my\\ host,target=/weird\\,\\ \"name\"\\=x\\nline,"
		       "cgroup_id=4242,socket=0 cpu_ns=123456789i,cpu\\,clock=987i,share=0.25 "
		       "1700000000500000000\n");
	free(out);
}

struct fields {
	char *v[32];
	int n;
	int rows;
};

static void on_field(void *s, size_t len, void *data)
{
	struct fields *f = data;

	if (f->rows == 1 && f->n < 32)
		f->v[f->n++] = strndup(s, len);
}

static void on_row(int c, void *data)
{
	(void)c;
	((struct fields *)data)->rows++;
}

static void test_csv_quoting_reads_back(void)
{
	struct bm_row row = hostile_row();
	struct bm_interval iv = {
		.ts_real = 1700000000.5, .interval_s = 1.0, .rows = &row, .n = 1
	};
	struct fields got = { 0 };
	struct csv_parser p;
	char *out = NULL;
	size_t len;

	CAPTURE(out, (csv_header(f, &meta), csv_interval(f, &meta, &iv)));
	len = strlen(out);
	CHECK(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) == 0);
	CHECK(csv_parse(&p, out, len, on_field, on_row, &got) == len);
	csv_fini(&p, on_field, on_row, &got);
	csv_free(&p);
	CHECK(got.rows == 2);
	/* Columns: timestamp, interval_s, kind, target, cgroup_id, socket, domain, cpu_ns, event.
	 */
	CHECK(got.n > 8);
	if (got.n > 8) {
		CHECK_STR(got.v[3], "/weird, \"name\"=x\nline");
		CHECK_STR(got.v[4], "4242");
		CHECK_STR(got.v[7], "123456789");
		CHECK_STR(got.v[8], "987");
	}
	/* The header names the event as given, quoted because of its comma. */
	CHECK(strstr(out, ",\"cpu,clock\",") != NULL);
	for (int i = 0; i < got.n; i++)
		free(got.v[i]);
	free(out);
}

static void test_csv_field_quotes_where_needed(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "in side", "in side" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "two\nlines", "\"two\nlines\"" },
		{ "cr\r", "\"cr\r\"" },
		/* Readers drop unquoted blanks at either end. */
		{ " lead", "\" lead\"" },
		{ "trail ", "\"trail \"" },
		{ "\ttab", "\"\ttab\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;

		CAPTURE(out, csv_field(f, cases[i].in));
		CHECK_STR(out, cases[i].out);
		free(out);
	}
}

static void test_output_specs(void)
{
	struct sink s;
	char err[512];

	CHECK(output_parse("csv:/tmp/x.csv", &s, err, sizeof(err)) == 0);
	CHECK(s.kind == SINK_CSV && !strcmp(s.path, "/tmp/x.csv"));
	CHECK(output_parse("csv:-", &s, err, sizeof(err)) == 0);
	CHECK(s.kind == SINK_CSV && s.path == NULL);
	CHECK(output_parse("influx:-", &s, err, sizeof(err)) == 0 && s.kind == SINK_INFLUX);
	CHECK(output_parse("influx+http://127.0.0.1:8086/write?db=x", &s, err, sizeof(err)) == 0);
	CHECK(s.kind == SINK_HTTP && !strcmp(s.path, "http://127.0.0.1:8086/write?db=x"));
	CHECK(output_parse("csv:", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "csv:PATH") != NULL);
	CHECK(output_parse("json:-", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "unknown output 'json:-'") != NULL);
}

const struct unit_test output_tests[] = {
	{ "output/line_protocol_escaping", test_lp_escaping },
	{ "output/line_protocol_points_on_hostile_names", test_lp_points },
	{ "output/csv_quoting_reads_back_with_libcsv", test_csv_quoting_reads_back },
	{ "output/csv_field_quotes_where_a_reader_needs_it", test_csv_field_quotes_where_needed },
	{ "output/specs", test_output_specs },
	{ NULL, NULL },
};
