// SPDX-License-Identifier: BSD-2-Clause
/*
 * Outputs on hostile names: line protocol escaping per the InfluxDB reference, CSV quoting per
 * RFC 4180 (read back with libcsv), and the -o forms.
 */
#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "out_command.h"
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

/* The last field of each line of text, in order, into fields (a line a field). */
static void last_fields(const char *text, char out[][32], int max, int *n)
{
	*n = 0;
	for (const char *line = text; *line && *n < max;) {
		const char *nl = strchr(line, '\n'), *comma = line;

		for (const char *p = line; p < nl; p++)
			if (*p == ',')
				comma = p + 1;
		snprintf(out[(*n)++], 32, "%.*s", (int)(nl - comma), comma);
		line = nl + 1;
	}
}

static struct bm_target plain = { .id = 77, .kind = BM_TARGET_CGROUP, .name = "/a" };

/* A target with 36 J of package energy on a socket that measured 90 J, and one without. */
static void co2e_interval(struct bm_interval *iv, struct bm_row rows[2], struct energy_reading *e,
			  double g_per_kwh)
{
	rows[0] = hostile_row();
	rows[0].target = &plain;
	rows[0].domains = 1u << BM_DOMAIN_PACKAGE;
	rows[0].s.energy_j[BM_DOMAIN_PACKAGE] = 36;
	rows[1] = hostile_row();
	rows[1].target = &plain;
	*e = (struct energy_reading){ .socket = 0, .domain = BM_DOMAIN_PACKAGE, .joules = 90 };
	*iv = (struct bm_interval){ .ts_real = 1700000000.5,
				    .ts_ns = 1700000000500000000LL,
				    .interval_s = 1.0,
				    .rows = rows,
				    .n = 2,
				    .energy = e,
				    .nenergy = 1,
				    .carbon_g_per_kwh = g_per_kwh };
}

static void test_csv_co2e(void)
{
	struct energy_reading e;
	struct bm_interval iv;
	struct bm_row rows[2];
	char *out = NULL, last[8][32];
	int n;

	/* The header's last column; 36 J and 90 J at 400 g/kWh: 0.004 g and 0.01 g. */
	co2e_interval(&iv, rows, &e, 400);
	CAPTURE(out, (csv_header(f, &meta), csv_interval(f, &meta, &iv)));
	last_fields(out, last, 8, &n);
	CHECK_EQ_U64(n, 4);
	CHECK_STR(last[0], "co2e_g");
	CHECK_STR(last[1], "0.004000000");
	CHECK_STR(last[2], ""); /* no energy: no CO2e, never a made-up 0 */
	CHECK_STR(last[3], "0.010000000");
	free(out);
	/* No intensity: empty on every line. */
	co2e_interval(&iv, rows, &e, -1);
	CAPTURE(out, csv_interval(f, &meta, &iv));
	last_fields(out, last, 8, &n);
	CHECK_EQ_U64(n, 3);
	for (int i = 0; i < n; i++)
		CHECK_STR(last[i], "");
	free(out);
}

static void test_lp_co2e(void)
{
	struct energy_reading e;
	struct bm_interval iv;
	struct bm_row rows[2];
	char *out = NULL;

	co2e_interval(&iv, rows, &e, 400);
	CAPTURE(out, influx_interval(f, &meta, &iv));
	CHECK(strstr(out, "estimate=\"provisional\",co2e_g=0.0040000000000000001 ") != NULL);
	CHECK(strstr(out, "power_w=90,co2e_g=0.01 ") != NULL);
	/* The row without energy has no co2e_g field. */
	CHECK(strstr(out, "share=0.25 1700000000500000000\n") != NULL);
	free(out);
	co2e_interval(&iv, rows, &e, -1);
	CAPTURE(out, influx_interval(f, &meta, &iv));
	CHECK(strstr(out, "co2e_g") == NULL);
	free(out);
}

static void test_command_co2e(void)
{
	static const double host_j[BM_NR_DOMAINS] = { [BM_DOMAIN_PACKAGE] = 90 };
	static const double host_g[BM_NR_DOMAINS] = { [BM_DOMAIN_PACKAGE] = 0.01 };
	struct bm_meta m = meta;
	struct command_report r = {
		.cmdline = "stress-ng --cpu 1",
		.wall_s = 2,
		.domains = 1u << BM_DOMAIN_PACKAGE,
		.host_j = host_j,
		.have_energy = true,
		.energy_split = true,
		.host_co2e_g = host_g,
		.intervals = 4,
		.carbon_intervals = 4,
	};
	char *out = NULL;

	r.sum.energy_j[BM_DOMAIN_PACKAGE] = 36;
	r.sum.co2e_g[BM_DOMAIN_PACKAGE] = 0.004;
	m.carbon_source = "--carbon-intensity 400 g/kWh";
	CAPTURE(out, command_report_print(f, &m, &r, false));
	CHECK_HAS(out,
		  "          0.004000 g   CO2e             # of package energy; host 0.010000 g "
		  "(estimate from --carbon-intensity 400 g/kWh)\n");
	free(out);
	CAPTURE(out, command_report_print(f, &m, &r, true));
	CHECK_HAS(out, ",host_package_energy_j,co2e_g,host_co2e_g\n");
	CHECK_HAS(out, ",90.000000,0.004000000,0.010000000\n");
	free(out);
	/* Some intervals without an intensity: said, not filled in. */
	r.carbon_intervals = 3;
	CAPTURE(out, command_report_print(f, &m, &r, false));
	CHECK_HAS(out, "; 3 of 4 intervals had an intensity, the rest are not counted)\n");
	free(out);
	/* None at all: no number. */
	r.carbon_intervals = 0;
	CAPTURE(out, command_report_print(f, &m, &r, false));
	CHECK_HAS(out, "-     CO2e             # not estimated: no carbon intensity for any "
		       "interval\n");
	free(out);
	CAPTURE(out, command_report_print(f, &m, &r, true));
	CHECK_HAS(out, ",90.000000,,\n");
	free(out);
	/* Without the option, nothing about CO2e. */
	m.carbon_source = NULL;
	CAPTURE(out, command_report_print(f, &m, &r, false));
	CHECK(!strstr(out, "CO2e"));
	free(out);
}

/* Every line of a CSV text, field by field (read back with libcsv). */
struct table {
	char *v[8][48];
	int n[8];
	int rows;
};

static void table_field(void *s, size_t len, void *data)
{
	struct table *t = data;

	if (t->rows < 8 && t->n[t->rows] < 48)
		t->v[t->rows][t->n[t->rows]++] = strndup(s, len);
}

static void table_row(int c, void *data)
{
	(void)c;
	((struct table *)data)->rows++;
}

static void table_free(struct table *t)
{
	for (int r = 0; r < 8; r++)
		for (int i = 0; i < t->n[r]; i++)
			free(t->v[r][i]);
}

/* The header's column named name, or -1. */
static int table_col(const struct table *t, const char *name)
{
	for (int i = 0; i < t->n[0]; i++)
		if (!strcmp(t->v[0][i], name))
			return i;
	return -1;
}

/*
 * A target with package and dram energy whose package power has a standard error and whose
 * dram power has none (the figure in power_err_w without its bit is not one), a target without
 * energy, and the two measured rows.
 */
static void err_interval(struct bm_interval *iv, struct bm_row rows[2], struct energy_reading e[2])
{
	rows[0] = hostile_row();
	rows[0].target = &plain;
	rows[0].domains = 1u << BM_DOMAIN_PACKAGE | 1u << BM_DOMAIN_DRAM;
	rows[0].s.energy_j[BM_DOMAIN_PACKAGE] = 36;
	rows[0].s.energy_j[BM_DOMAIN_DRAM] = 4;
	rows[0].model_id[BM_DOMAIN_PACKAGE] = rows[0].model_id[BM_DOMAIN_DRAM] = 3;
	rows[0].power_err_w[BM_DOMAIN_PACKAGE] = 1.25;
	rows[0].power_err_w[BM_DOMAIN_DRAM] = 0.5;
	rows[0].err_domains = 1u << BM_DOMAIN_PACKAGE;
	rows[1] = hostile_row();
	rows[1].target = &plain;
	e[0] = (struct energy_reading){ .socket = 0, .domain = BM_DOMAIN_PACKAGE, .joules = 90 };
	e[1] = (struct energy_reading){ .socket = 0, .domain = BM_DOMAIN_DRAM, .joules = 10 };
	*iv = (struct bm_interval){ .ts_real = 1700000000.5,
				    .ts_ns = 1700000000500000000LL,
				    .interval_s = 1.0,
				    .rows = rows,
				    .n = 2,
				    .energy = e,
				    .nenergy = 2,
				    .carbon_g_per_kwh = -1 };
}

static void test_csv_power_err(void)
{
	struct energy_reading e[2];
	struct bm_interval iv;
	struct bm_row rows[2];
	struct table t = { 0 };
	struct csv_parser p;
	char *out = NULL;
	size_t len;
	int c, cd, ck, cp;

	err_interval(&iv, rows, e);
	CAPTURE(out, (csv_header(f, &meta), csv_interval(f, &meta, &iv)));
	len = strlen(out);
	CHECK(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) == 0);
	CHECK(csv_parse(&p, out, len, table_field, table_row, &t) == len);
	csv_fini(&p, table_field, table_row, &t);
	csv_free(&p);
	/* The header, package and dram of the first target, the second's line, two measured. */
	CHECK_EQ_U64(t.rows, 6);
	c = table_col(&t, "power_w_err");
	cp = table_col(&t, "power_w");
	cd = table_col(&t, "domain");
	ck = table_col(&t, "kind");
	CHECK(c > 0 && c == cp + 1 && cd >= 0 && ck >= 0);
	CHECK_STR(t.v[0][c + 1], "estimate");
	/* Every line has the header's columns. */
	for (int r = 1; r < t.rows && r < 8; r++)
		CHECK_EQ_U64(t.n[r], t.n[0]);
	if (c > 0 && c == cp + 1 && t.rows == 6) {
		CHECK_STR(t.v[1][cd], "package");
		CHECK_STR(t.v[1][cp], "36.000000");
		CHECK_STR(t.v[1][c], "1.250000"); /* as power_w is written */
		CHECK_STR(t.v[1][c + 1], "model");
		CHECK_STR(t.v[2][cd], "dram");
		CHECK_STR(t.v[2][c], ""); /* no bit: no figure, never the stale one or a 0 */
		CHECK_STR(t.v[3][cd], "");
		CHECK_STR(t.v[3][c], ""); /* no energy */
		for (int r = 4; r < 6; r++) {
			CHECK_STR(t.v[r][ck], "energy");
			CHECK_STR(t.v[r][c], "");
			CHECK_STR(t.v[r][c + 1], "measured");
		}
		CHECK_STR(t.v[4][cp], "90.000000");
	}
	table_free(&t);
	free(out);
}

static void test_lp_power_err(void)
{
	struct energy_reading e[2];
	struct bm_interval iv;
	struct bm_row rows[2];
	char *out = NULL;

	err_interval(&iv, rows, e);
	CAPTURE(out, influx_interval(f, &meta, &iv));
	CHECK_HAS(out, ",energy_j=36,power_w=36,power_w_err=1.25,model_id=3i,");
	/* dram has no bit, the row without energy no domain, the measured points no error. */
	CHECK_HAS(out, ",energy_j=4,power_w=4,model_id=3i,");
	{
		const char *p = strstr(out, "power_w_err");

		CHECK(p && !strstr(p + 1, "power_w_err"));
	}
	free(out);
}

const struct unit_test output_tests[] = {
	{ "output/line_protocol_escaping", test_lp_escaping },
	{ "output/line_protocol_points_on_hostile_names", test_lp_points },
	{ "output/csv_quoting_reads_back_with_libcsv", test_csv_quoting_reads_back },
	{ "output/csv_field_quotes_where_a_reader_needs_it", test_csv_field_quotes_where_needed },
	{ "output/specs", test_output_specs },
	{ "output/csv_co2e_g_of_energy_rows_empty_without_intensity", test_csv_co2e },
	{ "output/line_protocol_co2e_g_field_where_it_applies", test_lp_co2e },
	{ "output/command_summary_grams_co2e_as_an_estimate", test_command_co2e },
	{ "output/csv_power_w_err_after_power_w_only_where_known", test_csv_power_err },
	{ "output/line_protocol_power_w_err_only_where_known", test_lp_power_err },
	{ NULL, NULL },
};
