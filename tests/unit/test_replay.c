// SPDX-License-Identifier: BSD-2-Clause
/*
 * The replay trace parser: rates from per-interval values, and one file:line:column message
 * for each kind of malformed input.
 */
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "trace.h"

/* Load text; the error message with the temporary path replaced by "F", or "" on success. */
static int load(const char *text, const char *features, const char *power, struct replay_trace *tr,
		char *msg, size_t size)
{
	char path[64], err[512];
	int ret;

	fixture_tmpfile(path, sizeof(path), "replay", text);
	ret = replay_load(path, features, power, tr, err, sizeof(err));
	unlink(path);
	fixture_errmsg(msg, size, ret, err, path);
	return ret;
}

static void test_good_input(void)
{
	struct replay_trace tr;
	char msg[512];

	/* Extra columns ignored, columns in any order, 2 s then 4 s intervals, no final newline. */
	CHECK(load("timestamp,cycles,note,pkg,dram\n"
		   "100,999,x,50,20\n"
		   "102,2000,y,60,21\n"
		   "106,4000,\"z,q\",70,22",
		   "cycles", "package=pkg,dram=dram", &tr, msg, sizeof(msg)) == 0);
	CHECK_STR(msg, "");
	CHECK(tr.nrows == 2 && tr.nfeat == 1 && tr.ndom == 2);
	CHECK(tr.t[0] == 102 && tr.t[1] == 106);
	CHECK(fabs(tr.x[0] - 1000) < 1e-9 && fabs(tr.x[1] - 1000) < 1e-9);
	CHECK(tr.power[0] == 60 && tr.power[1] == 21 && tr.power[2] == 70 && tr.power[3] == 22);
	CHECK_STR(tr.dom[0], "package");
	CHECK_STR(tr.dom[1], "dram");
	replay_free(&tr);
}

static void test_malformed(void)
{
	static const struct {
		const char *text, *features, *power, *msg;
	} cases[] = {
		{ "timestamp,a,p\n1,2,3\n", "a,b", "x=p", "F:1: no column \"b\" in the header" },
		{ "time,a,p\n1,2,3\n", "a", "x=p", "F:1: no column \"timestamp\" in the header" },
		{ "timestamp,a,p\n1,2,3\n2,2.5x,3\n", "a", "x=p",
		  "F:3:2: a: \"2.5x\" is not a number" },
		{ "timestamp,a,p\n1,2,3\n2,2,\n", "a", "x=p", "F:3:3: p: \"\" is not a number" },
		{ "timestamp,a,p\n5,2,3\n4,2,3\n", "a", "x=p",
		  "F:3:1: timestamp 4 is not after the previous one, 5" },
		{ "timestamp,a,p\n5,2,3\n5,2,3\n", "a", "x=p",
		  "F:3:1: timestamp 5 is not after the previous one, 5" },
		{ "timestamp,a,p\n1,2,3\n2,2,3\n3,2", "a", "x=p",
		  "F:4:3: the line ends after 2 fields, the header has 3" },
		{ "timestamp,a,p\n1,2,3\n2,2,3,4\n", "a", "x=p",
		  "F:3:4: more fields than the header's 3" },
		{ "", "a", "x=p", "F: empty, no header" },
		{ "timestamp,a,p\n", "a", "p", "--power: \"p\" is not DOMAIN=COLUMN" },
	};
	char msg[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct replay_trace tr;

		CHECK(load(cases[i].text, cases[i].features, cases[i].power, &tr, msg,
			   sizeof(msg)) == -1);
		CHECK_STR(msg, cases[i].msg);
		CHECK(tr.nrows == 0 && !tr.t);
	}
}

const struct unit_test replay_tests[] = {
	{ "replay/good_input", test_good_input },
	{ "replay/malformed_input_names_file_line_column", test_malformed },
	{ NULL, NULL },
};
