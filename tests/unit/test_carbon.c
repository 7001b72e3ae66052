// SPDX-License-Identifier: BSD-2-Clause
/*
 * The carbon intensity file (every malformed case named FILE:LINE:COLUMN), the lookup for an
 * interval's end, and the grams CO2e of energy.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carbon.h"
#include "fixture.h"
#include "unit.h"

#define NS 1000000000LL

/* Load text; the error with the temporary path replaced by "F", or "" when it loads. */
static int load(struct carbon *c, const char *text, char *msg, size_t size)
{
	char path[64], err[512];
	int ret;

	fixture_tmpfile(path, sizeof(path), "carbon", text);
	ret = carbon_load(c, path, err, sizeof(err));
	unlink(path);
	fixture_errmsg(msg, size, ret, err, path);
	return ret;
}

static void test_good_file(void)
{
	struct carbon c = { 0 };
	char msg[512];

	/*
	 * CRLF lines, a byte order mark, quotes, a space after a comma (CSV readers drop it), a
	 * blank line and no newline at the end.
	 */
	CHECK(load(&c,
		   "\xef\xbb\xbftimestamp,g_per_kwh\r\n"
		   "1700000000,412.5\r\n"
		   "\"1700003600\",\"398\"\r\n"
		   "\r\n"
		   "1700007200, 0.25",
		   msg, sizeof(msg)) == 0);
	CHECK_STR(msg, "");
	CHECK_EQ_U64(c.n, 3);
	if (c.n == 3) {
		CHECK(c.t[0] == 1700000000 && c.g_per_kwh[0] == 412.5);
		CHECK(c.t[1] == 1700003600 && c.g_per_kwh[1] == 398);
		CHECK(c.t[2] == 1700007200 && c.g_per_kwh[2] == 0.25);
	}
	carbon_free(&c);
}

static void test_malformed(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "", "F: empty, no header" },
		{ "timestamp,g_per_kwh\n", "F: no intensities after the header" },
		{ "time,g_per_kwh\n1,2\n", "F:1:1: the header must be timestamp,g_per_kwh" },
		{ "timestamp,gco2\n1,2\n", "F:1:2: the header must be timestamp,g_per_kwh" },
		{ "timestamp\n1\n", "F:1:2: the header must be timestamp,g_per_kwh" },
		{ "timestamp,g_per_kwh,x\n1,2,3\n",
		  "F:1:3: the header must be timestamp,g_per_kwh" },
		{ "timestamp,g_per_kwh\n100,400\n200\n", "F:3:2: 1 field, the header has 2" },
		{ "timestamp,g_per_kwh\n100,400,5\n", "F:2:3: 3 fields, the header has 2" },
		{ "timestamp,g_per_kwh\n1.5,400\n",
		  "F:2:1: timestamp: \"1.5\" is not a whole number of unix seconds" },
		{ "timestamp,g_per_kwh\n-1,400\n",
		  "F:2:1: timestamp: \"-1\" is not a whole number of unix seconds" },
		{ "timestamp,g_per_kwh\n,400\n",
		  "F:2:1: timestamp: \"\" is not a whole number of unix seconds" },
		{ "timestamp,g_per_kwh\n99999999999,400\n",
		  "F:2:1: timestamp: \"99999999999\" is not a whole number of unix seconds" },
		{ "timestamp,g_per_kwh\n100,400\n100,300\n",
		  "F:3:1: timestamp 100 is not after the previous one, 100" },
		{ "timestamp,g_per_kwh\n100,400\n50,300\n",
		  "F:3:1: timestamp 50 is not after the previous one, 100" },
		{ "timestamp,g_per_kwh\n100,0\n",
		  "F:2:2: g_per_kwh: \"0\" is not a number above 0 and below 5000 (grams CO2e "
		  "per kWh)" },
		{ "timestamp,g_per_kwh\n100,-3\n",
		  "F:2:2: g_per_kwh: \"-3\" is not a number above 0 and below 5000 (grams CO2e "
		  "per kWh)" },
		{ "timestamp,g_per_kwh\n100,5000\n",
		  "F:2:2: g_per_kwh: \"5000\" is not a number above 0 and below 5000 (grams CO2e "
		  "per kWh)" },
		{ "timestamp,g_per_kwh\n100,nan\n",
		  "F:2:2: g_per_kwh: \"nan\" is not a number above 0 and below 5000 (grams CO2e "
		  "per kWh)" },
		{ "timestamp,g_per_kwh\n100,400\n200,\n",
		  "F:3:2: g_per_kwh: \"\" is not a number above 0 and below 5000 (grams CO2e "
		  "per kWh)" },
		{ "timestamp,g_per_kwh\n100,\"4\"00\n",
		  "F:2:2: not CSV: error parsing data while strict checking enabled" },
		{ "timestamp,g_per_kwh\n100,\"400\n",
		  "F:2:2: the last line is cut off inside a quoted field" },
	};
	char msg[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct carbon c = { 0 };
		int ret = load(&c, cases[i].text, msg, sizeof(msg));

		CHECK(ret == -1);
		CHECK_STR(msg, cases[i].msg);
		CHECK(c.n == 0 && !c.t && !c.g_per_kwh);
	}
}

static void test_missing_file(void)
{
	struct carbon c = { 0 };
	char err[512];

	CHECK(carbon_load(&c, "/nonexistent/ci.csv", err, sizeof(err)) == -1);
	CHECK_STR(err, "/nonexistent/ci.csv: No such file or directory");
}

/* A file that no longer reads (a reload on SIGHUP) leaves the table as it was. */
static void test_failed_reload_keeps_the_table(void)
{
	struct carbon c = { 0 };
	char msg[512];

	CHECK(load(&c, "timestamp,g_per_kwh\n100,400\n200,300\n", msg, sizeof(msg)) == 0);
	CHECK(load(&c, "timestamp,g_per_kwh\n100,x\n", msg, sizeof(msg)) == -1);
	CHECK_EQ_U64(c.n, 2);
	CHECK(carbon_at(&c, 250 * NS) == 300);
	CHECK(load(&c, "timestamp,g_per_kwh\n100,50\n", msg, sizeof(msg)) == 0);
	CHECK_EQ_U64(c.n, 1);
	CHECK(carbon_at(&c, 250 * NS) == 50);
	carbon_free(&c);
}

static void test_lookup(void)
{
	int64_t t[] = { 100, 200, 300 };
	double g[] = { 400, 300, 200 };
	struct carbon c = { .t = t, .g_per_kwh = g, .n = 3 }, none = { 0 };
	struct carbon constant = { .constant = 123, .t = t, .g_per_kwh = g, .n = 3 };

	/* Before the first: none, never a made-up value. */
	CHECK(carbon_at(&c, 0) < 0);
	CHECK(carbon_at(&c, 100 * NS - 1) < 0);
	CHECK(carbon_at(&c, -5 * NS) < 0);
	/* Exactly at a timestamp: that value. */
	CHECK(carbon_at(&c, 100 * NS) == 400);
	CHECK(carbon_at(&c, 200 * NS) == 300);
	CHECK(carbon_at(&c, 300 * NS) == 200);
	/* Between two: the earlier one. */
	CHECK(carbon_at(&c, 150 * NS) == 400);
	CHECK(carbon_at(&c, 200 * NS - 1) == 400);
	CHECK(carbon_at(&c, 299 * NS + 999999999) == 300);
	/* After the last: the last. */
	CHECK(carbon_at(&c, 301 * NS) == 200);
	CHECK(carbon_at(&c, INT64_MAX) == 200);
	/* Nothing given; a constant whatever the time. */
	CHECK(carbon_at(&none, 150 * NS) < 0);
	CHECK(carbon_at(&constant, 0) == 123);
	CHECK(carbon_at(&constant, 150 * NS) == 123);
}

static void test_grams(void)
{
	/* 1 kWh at 400 g/kWh; 1 J at 400 g/kWh is 0.000111... g. */
	CHECK(fabs(carbon_co2e_g(3.6e6, 400) - 400) < 1e-9);
	CHECK(fabs(carbon_co2e_g(1, 400) - 400 / 3.6e6) < 1e-15);
	CHECK(carbon_co2e_g(0, 400) == 0);
}

const struct unit_test carbon_tests[] = {
	{ "carbon/file_reads_with_crlf_bom_quotes_blanks_and_no_last_newline", test_good_file },
	{ "carbon/malformed_file_names_file_line_column", test_malformed },
	{ "carbon/missing_file_named", test_missing_file },
	{ "carbon/failed_reload_keeps_the_table", test_failed_reload_keeps_the_table },
	{ "carbon/lookup_before_first_exact_between_after_last", test_lookup },
	{ "carbon/grams_of_energy", test_grams },
	{ NULL, NULL },
};
