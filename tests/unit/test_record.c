// SPDX-License-Identifier: BSD-2-Clause
/*
 * Recordings: what the writer puts down reads back to the same bits, and every kind of
 * malformed file gets one file:line:column message.
 */
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "record.h"

/* What a read gave back, row by row. */
struct got {
	struct record_row rows[64];
	char names[64][64], values[64][64];
	int n;
};

static int collect(const struct record_row *row, void *ctx)
{
	struct got *g = ctx;

	if (g->n == 64)
		return 7;
	g->rows[g->n] = *row;
	snprintf(g->names[g->n], sizeof(g->names[0]), "%s", row->name);
	snprintf(g->values[g->n], sizeof(g->values[0]), "%s", row->value);
	g->n++;
	return 0;
}

/* The same rows back from a file written plain, or gzip'd where the name ends in .gz. */
static void round_trip(const char *suffix)
{
	struct bm_event ev[2] = { { "cycles", 0, 0 }, { "odd,name", 4, 0x1234 } };
	int sample_index[2] = { -1, 0 }; /* cycles not counted, odd,name counted */
	struct energy_reading e = { .socket = 1, .domain = BM_DOMAIN_DRAM, .joules = 0.1 + 0.2 };
	struct bm_sample smp = { .cpu_ns = 123456789012ull, .ev = { 18446744073709551615ull } };
	char path[64], err[256];
	struct recorder r;
	struct got g = { 0 };
	unsigned char magic[2] = { 0 };
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/bm-record-XXXXXX%s", suffix);
	fd = mkstemps(path, (int)strlen(suffix));
	CHECK(fd >= 0);
	close(fd);
	/* A recording is never overwritten. */
	CHECK(record_open(&r, path, ev, 2, sample_index) == -1);
	unlink(path);
	CHECK(record_open(&r, path, ev, 2, sample_index) == 0);
	record_meta(&r, "sockets", "%d", 2);
	record_meta(&r, "host", "a \"quoted\", host");
	record_interval(&r, 1700000000123456789ll, 1.0000123456789, 3);
	record_energy(&r, &e);
	record_target(&r, 0, 4242, "/sys,tem.slice/x\"y", &smp);
	/* Spaces at the ends survive: libcsv drops them from unquoted fields. */
	record_group(&r, 77, " /kubepods/pod 1\t");
	record_gone(&r, 4242);
	record_cpus(&r, 1, "cpu 1 went offline");
	record_interval(&r, 1700000001123456789ll, 1, 3);
	CHECK(record_close(&r, 2.5) == 0);
	CHECK(record_sniff(path));
	f = fopen(path, "r");
	CHECK(f && fread(magic, 1, 2, f) == 2);
	if (f)
		fclose(f);
	CHECK((magic[0] == 0x1f && magic[1] == 0x8b) == (*suffix != '\0'));

	CHECK(record_read(path, collect, &g, err, sizeof(err)) == 0);
	CHECK(g.n == 13);
	if (g.n == 13) {
		CHECK(g.rows[0].kind == REC_META);
		CHECK_STR(g.names[0], "format");
		CHECK(g.rows[1].kind == REC_EVENT && !g.rows[1].counted);
		CHECK(g.rows[2].kind == REC_EVENT && g.rows[2].counted);
		CHECK_STR(g.rows[2].event.name, "odd,name");
		CHECK(g.rows[2].event.type == 4 && g.rows[2].event.config == 0x1234);
		CHECK_STR(g.values[4], "a \"quoted\", host");
		CHECK(g.rows[5].kind == REC_INTERVAL && g.rows[5].id == 3);
		CHECK(g.rows[5].ts_ns == 1700000000123456789ll);
		CHECK(g.rows[5].interval_s == 1.0000123456789);
		CHECK(g.rows[6].kind == REC_ENERGY && g.rows[6].socket == 1);
		CHECK(g.rows[6].domain == BM_DOMAIN_DRAM && g.rows[6].number == 0.1 + 0.2);
		CHECK(g.rows[7].kind == REC_TARGET && g.rows[7].id == 4242);
		CHECK_STR(g.names[7], "/sys,tem.slice/x\"y");
		CHECK_EQ_U64(g.rows[7].s.cpu_ns, 123456789012ull);
		/* Counted events are packed in the order they are counted, as live. */
		CHECK_EQ_U64(g.rows[7].s.ev[0], 18446744073709551615ull);
		CHECK(g.rows[8].kind == REC_GROUP && g.rows[8].id == 77);
		CHECK_STR(g.names[8], " /kubepods/pod 1\t");
		CHECK(g.rows[9].kind == REC_GONE && g.rows[9].id == 4242);
		CHECK(g.rows[10].kind == REC_CPUS && g.rows[10].number == 1);
		CHECK_STR(g.names[10], "cpu 1 went offline");
		CHECK(g.rows[12].kind == REC_END && g.rows[12].number == 2.5);
	}
	/* The callback's non-zero stops the read and comes back. */
	g.n = 60;
	CHECK(record_read(path, collect, &g, err, sizeof(err)) == 7);
	unlink(path);
}

static void test_round_trip(void)
{
	round_trip("");
	round_trip(".gz");
}

/* Read text; the error with the temporary path replaced by "F", or "" when it reads. */
static int check(const char *text, char *msg, size_t size)
{
	char path[64], err[512];
	int ret;

	fixture_tmpfile(path, sizeof(path), "record", text);
	ret = record_read(path, NULL, NULL, err, sizeof(err));
	unlink(path);
	fixture_errmsg(msg, size, ret, err, path);
	return ret;
}

#define HEAD                                                         \
	"kind,ts_ns,interval_s,socket,id,name,value,cpu_ns,cycles\n" \
	"meta,,,,,format,bpfmeter-recording-1,,\n"                   \
	"event,,,,1,cycles,0:0,,\n"                                  \
	"meta,,,,,sockets,2,,\n"
#define IV "interval,1000,1,,,,0,,\n"

static void test_malformed(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ HEAD IV "target,1000,1,0,5,/a,,10,20\n", "" },
		{ "kind,ts_ns,interval_s,socket,id,name,cpu_ns\n",
		  "F:1:7: not a bpfmeter recording: the header must start with "
		  "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns" },
		{ HEAD IV "target,1000,1,0,5,/a,,10\n", "F:6:9: 8 fields, the header has 9" },
		{ HEAD IV "target,1000,1,0,5,/a,,1e3,20\n",
		  "F:6:8: cpu_ns: \"1e3\" is not a whole number" },
		{ HEAD IV "target,1000,1,0,5,/a,,10,-4\n",
		  "F:6:9: cycles: \"-4\" is not a whole number" },
		{ HEAD IV "target,1000,1,0,5,/a,,+10,20\n",
		  "F:6:8: cpu_ns: \"+10\" is not a whole number" },
		{ "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns,cycles\n"
		  "meta,,,,,format,bpfmeter-recording-1,,\n"
		  "event,,,,1,cycles,0:-1,,\n",
		  "F:3:7: event cycles: \"0:-1\" is not TYPE:CONFIG" },
		{ HEAD IV "energy,1000,1,1,,package,x,,\n",
		  "F:6:7: value: \"x\" is not a number >= 0" },
		{ HEAD IV "interval,999,1,,,,0,,\n", "F:6:2: time goes backwards: ts_ns 999 is not "
						     "after the previous interval's 1000" },
		{ HEAD IV "target,1000,1,0,5,/a,,10,2",
		  "F:6:9: the last line is cut off (no end of line): the recording is truncated; "
		  "delete that line to replay the rest" },
		{ HEAD IV "target,1000,1,0,5,\"/a,,10,2",
		  "F:6:6: the last line is cut off inside a quoted field: the recording is "
		  "truncated; delete that line to replay the rest" },
		{ HEAD IV "target,1000,1,2,5,/a,,10,20\n",
		  "F:6:4: socket 2 of a recording of 2 sockets" },
		{ HEAD IV "target,1001,1,0,5,/a,,10,20\n",
		  "F:6:2: ts_ns 1001 is not its interval's, 1000" },
		{ HEAD IV "energy,1000,1,0,,package,1,,\nenergy,1000,1,0,,package,1,,\n",
		  "F:7:6: a second package reading of socket 0 in the interval" },
		{ HEAD IV "energy,1000,1,0,,gpu,1,,\n", "F:6:6: \"gpu\" is not an energy domain" },
		{ HEAD "bogus,,,,,,,,\n", "F:5:1: unknown row kind \"bogus\"" },
		{ HEAD "target,1000,1,0,5,/a,,10,20\n",
		  "F:5:1: a target row before the first interval row" },
		{ "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns\nmeta,,,,,host,x,\n",
		  "F:2:1: the first row must be meta format" },
		{ "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns\n"
		  "meta,,,,,format,bpfmeter-recording-9,\n",
		  "F:2:7: format \"bpfmeter-recording-9\": this bpfmeter reads "
		  "bpfmeter-recording-1" },
		{ HEAD IV "end,,,,,,3,,\n" IV, "F:7:1: a interval row after the end row" },
		{ HEAD IV "cpus,,,,,cpu 1 went offline,0,,\n",
		  "F:6:7: 0 CPUs online is out of range" },
		{ HEAD "cpus,,,,,cpu 1 went offline,1,,\n",
		  "F:5:1: a cpus row before the first interval row" },
		/* Rows read with settings that had not come yet (replay ran with 0 sockets). */
		{ "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns,cycles\n"
		  "meta,,,,,format,bpfmeter-recording-1,,\n"
		  "event,,,,1,cycles,0:0,,\n"
		  "group,,,,7,/g,,,\n"
		  "meta,,,,,sockets,2,,\n",
		  "F:4:1: a group row before the meta sockets and event rows" },
		{ "kind,ts_ns,interval_s,socket,id,name,value,cpu_ns,cycles\n"
		  "meta,,,,,format,bpfmeter-recording-1,,\n"
		  "meta,,,,,sockets,2,,\n"
		  "gone,,,,7,,,,\n"
		  "event,,,,1,cycles,0:0,,\n",
		  "F:4:1: a gone row before the meta sockets and event rows" },
		{ HEAD "gone,,,,7,,,,\nmeta,,,,,energy_source,powercap,,\n",
		  "F:6:1: a meta row after the first interval, group or gone row: the meta and "
		  "event rows come first" },
		{ HEAD IV "event,,,,1,instructions,0:1,,\n",
		  "F:6:1: an event row after the first interval, group or gone row: the meta and "
		  "event rows come first" },
		{ "", "F: empty, no header" },
	};
	char msg[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = check(cases[i].text, msg, sizeof(msg));

		CHECK(*cases[i].msg ? ret == -1 : ret == 0);
		CHECK_STR(msg, cases[i].msg);
	}
}

const struct unit_test record_tests[] = {
	{ "record/round_trip_to_the_same_bits", test_round_trip },
	{ "record/malformed_names_file_line_column", test_malformed },
	{ NULL, NULL },
};
