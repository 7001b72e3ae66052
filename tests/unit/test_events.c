// SPDX-License-Identifier: BSD-2-Clause
/* events_parse(): perf names, raw forms, and the errors; the perf_event_open wrapper. */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "events.h"
#include "unit.h"

static void test_known_names(void)
{
	static const struct {
		const char *name;
		uint32_t type;
		uint64_t config;
	} cases[] = {
		{ "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
		{ "cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
		{ "instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS },
		{ "cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES },
		{ "branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS },
		{ "ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES },
		{ "stalled-cycles-backend", PERF_TYPE_HARDWARE,
		  PERF_COUNT_HW_STALLED_CYCLES_BACKEND },
		{ "cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK },
		{ "task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK },
		{ "context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES },
		{ "cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES },
		{ "migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS },
		{ "major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ },
	};
	struct bm_event ev[BM_MAX_EVENTS];
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(ev, 0xff, sizeof(ev));
		err[0] = '\0';
		if (events_parse(cases[i].name, ev, BM_MAX_EVENTS, err, sizeof(err)) != 1) {
			printf("    check failed: '%s' not parsed: %s\n", cases[i].name, err);
			unit_failed_checks++;
			continue;
		}
		CHECK_STR(ev[0].name, cases[i].name);
		CHECK_EQ_U64(ev[0].type, cases[i].type);
		CHECK_EQ_U64(ev[0].config, cases[i].config);
	}
}

static void test_list_keeps_names_and_order(void)
{
	struct bm_event ev[BM_MAX_EVENTS];
	char err[256];

	/* "cs" and "context-switches" are the same event under two names: both kept as given. */
	CHECK_EQ_U64(events_parse("cs,cycles,context-switches,r1a,0:1", ev, BM_MAX_EVENTS, err,
				  sizeof(err)),
		     5);
	CHECK_STR(ev[0].name, "cs");
	CHECK_STR(ev[1].name, "cycles");
	CHECK_STR(ev[2].name, "context-switches");
	CHECK_STR(ev[3].name, "r1a");
	CHECK_STR(ev[4].name, "0:1");
	CHECK_EQ_U64(ev[0].config, ev[2].config);
	CHECK_EQ_U64(ev[1].type, PERF_TYPE_HARDWARE);
	CHECK_EQ_U64(ev[1].config, PERF_COUNT_HW_CPU_CYCLES);
}

static void test_empty_list(void)
{
	struct bm_event ev[1];
	char err[64];

	CHECK_EQ_U64(events_parse("", ev, 1, err, sizeof(err)), 0);
	/* No events at all fits even when none may be given. */
	CHECK_EQ_U64(events_parse("", ev, 0, err, sizeof(err)), 0);
}

static void test_raw_forms(void)
{
	struct bm_event ev[BM_MAX_EVENTS];
	char err[256];

	CHECK_EQ_U64(events_parse("r01c4,rFF,4:0x3c,8:12,4294967295:0xffffffffffffffff", ev,
				  BM_MAX_EVENTS, err, sizeof(err)),
		     5);
	CHECK_EQ_U64(ev[0].type, PERF_TYPE_RAW);
	CHECK_EQ_U64(ev[0].config, 0x1c4);
	CHECK_EQ_U64(ev[1].type, PERF_TYPE_RAW);
	CHECK_EQ_U64(ev[1].config, 0xff);
	CHECK_EQ_U64(ev[2].type, 4);
	CHECK_EQ_U64(ev[2].config, 0x3c);
	CHECK_EQ_U64(ev[3].type, 8);
	CHECK_EQ_U64(ev[3].config, 12);
	CHECK_EQ_U64(ev[4].type, UINT32_MAX);
	CHECK_EQ_U64(ev[4].config, UINT64_MAX);
}

static void test_raw_decimal_leading_zero(void)
{
	struct bm_event ev[1];
	char err[256];

	/* TYPE and CONFIG are decimal unless CONFIG says 0x: "010" is ten, not octal eight. */
	CHECK_EQ_U64(events_parse("10:010", ev, 1, err, sizeof(err)), 1);
	CHECK_EQ_U64(ev[0].config, 10);
	CHECK_EQ_U64(events_parse("010:1", ev, 1, err, sizeof(err)), 1);
	CHECK_EQ_U64(ev[0].type, 10);
}

/* events_parse(list) fails with a one-line message containing want. */
static void expect_error(int line, const char *list, int max, const char *want)
{
	struct bm_event ev[BM_MAX_EVENTS + 1];
	char err[256] = "";
	int ret = events_parse(list, ev, max, err, sizeof(err));

	if (ret != -1 || !err[0] || strchr(err, '\n') || !strstr(err, want)) {
		printf("    check failed at %s:%d: events_parse(\"%s\") == %d, err \"%s\"; "
		       "expected "
		       "-1 and a line with \"%s\"\n",
		       __FILE__, line, list, ret, err, want);
		unit_failed_checks++;
	}
}

#define ERROR(list, max, want) expect_error(__LINE__, list, max, want)

static void test_errors(void)
{
	ERROR("bogus", BM_MAX_EVENTS, "bogus");
	ERROR("cycles,bogus", BM_MAX_EVENTS, "bogus");
	ERROR("Cycles", BM_MAX_EVENTS, "Cycles"); /* names are case-sensitive, like perf's */
	ERROR("cycles,,instructions", BM_MAX_EVENTS, "empty");
	ERROR("cycles,", BM_MAX_EVENTS, "empty");
	ERROR(",cycles", BM_MAX_EVENTS, "empty");
	ERROR(",", BM_MAX_EVENTS, "empty");
	ERROR("cycles,instructions,cycles", BM_MAX_EVENTS, "twice");
	ERROR("cs,cs", BM_MAX_EVENTS, "twice");
	ERROR("cycles,instructions,cs", 2, "at most 2");
	ERROR("cycles,instructions,cache-references,cache-misses,branches,branch-misses,"
	      "bus-cycles,ref-cycles,cpu-clock",
	      BM_MAX_EVENTS, "at most 8");
	ERROR("cycles", 0, "at most 0");
	/* Malformed raw forms. */
	ERROR("r", BM_MAX_EVENTS, "'r'");
	ERROR("rxyz", BM_MAX_EVENTS, "rxyz");
	ERROR("r12345678901234567", BM_MAX_EVENTS, "r12345678901234567"); /* 68 bits */
	ERROR("4:", BM_MAX_EVENTS, "4:");
	ERROR(":5", BM_MAX_EVENTS, ":5");
	ERROR("x:5", BM_MAX_EVENTS, "x:5");
	ERROR("-1:5", BM_MAX_EVENTS, "-1:5");
	ERROR("4:0x", BM_MAX_EVENTS, "4:0x");
	ERROR("4:5:6", BM_MAX_EVENTS, "4:5:6");
	ERROR("4294967296:1", BM_MAX_EVENTS, "4294967296:1"); /* type is 32 bits */
	ERROR("4: 1", BM_MAX_EVENTS, "4: 1");
}

static void test_name_length(void)
{
	char list[2 * BM_EVENT_NAME_MAX], name[BM_EVENT_NAME_MAX + 1];
	struct bm_event ev[2];
	char err[256];

	/* r + 62 hex digits: 63 characters, the longest name that fits with its NUL. */
	name[0] = 'r';
	memset(name + 1, '0', BM_EVENT_NAME_MAX - 2);
	name[BM_EVENT_NAME_MAX - 1] = '\0';
	snprintf(list, sizeof(list), "cycles,%s", name);
	CHECK_EQ_U64(events_parse(list, ev, 2, err, sizeof(err)), 2);
	CHECK_STR(ev[1].name, name);
	CHECK_EQ_U64(ev[1].config, 0);

	/* 64: one too many. */
	name[BM_EVENT_NAME_MAX - 1] = '1';
	name[BM_EVENT_NAME_MAX] = '\0';
	snprintf(list, sizeof(list), "cycles,%s", name);
	expect_error(__LINE__, list, 2, "too long");
}

static void test_error_does_not_overflow_small_buffer(void)
{
	struct bm_event ev[1];
	char err[12];

	memset(err, 'z', sizeof(err));
	CHECK_EQ_U64(events_parse("a-very-long-unknown-event-name", ev, 1, err, sizeof(err)),
		     (unsigned long long)-1);
	CHECK_EQ_U64(strlen(err), sizeof(err) - 1);
}

static void test_known_names_list(void)
{
	const char *names = events_known_names();

	CHECK(!strncmp(names, "cycles, ", 8));
	CHECK(strstr(names, ", cs, ") != NULL);
	CHECK(strstr(names, "emulation-faults") != NULL);
	/* Cached: the same buffer, the same text. */
	CHECK(events_known_names() == names);
}

/*
 * The wrapper sets attr->size, returns an fd that is closed on exec, and a failure as a
 * negative errno. The calling thread's own user-space clock needs no privilege where
 * perf_event_paranoid allows perf at all; where it does not, the error must still be -errno.
 */
static void test_perf_event_open(void)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_SOFTWARE,
					.config = PERF_COUNT_SW_TASK_CLOCK,
					.exclude_kernel = 1,
					.exclude_hv = 1 };
	int fd;

	fd = bm_perf_event_open(&attr, 0, -1, -1, 0);
	CHECK_EQ_U64(attr.size, sizeof(attr));
	if (fd >= 0) {
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	} else {
		printf("    (task-clock not allowed here: %s)\n", strerror(-fd));
		CHECK(fd == -errno);
	}

	/* No PMU has this type: a negative errno, not -1 with errno aside. */
	attr = (struct perf_event_attr){ .type = 0x7ffffff0, .exclude_kernel = 1 };
	errno = 0;
	fd = bm_perf_event_open(&attr, 0, -1, -1, 0);
	CHECK(fd < 0);
	CHECK(fd == -errno);
	CHECK(errno != 0);
	if (fd >= 0)
		close(fd);
}

/*
 * A perf event read from a slot whose fd was replaced (its CPU came back online) starts from
 * zero: below the last reading of the dead one, it is a new baseline, not a wrapped delta.
 */
static void test_counter_restart(void)
{
	const struct bm_counter last = { .value = 5000, .enabled = 9000, .running = 4500 };
	const struct bm_counter later = { .value = 5100, .enabled = 9100, .running = 4550 };
	const struct bm_counter same = last;
	const struct bm_counter fresh = { .value = 10, .enabled = 12, .running = 12 };
	/* A new event that already counted more than the old one, but has run for less. */
	const struct bm_counter busy = { .value = 7000, .enabled = 800, .running = 800 };
	/* Enabled longer than the old one, counted less: still another event. */
	const struct bm_counter slow = { .value = 20, .enabled = 9500, .running = 9500 };

	CHECK(!bm_counter_restarted(&last, &later));
	CHECK(!bm_counter_restarted(&last, &same));
	CHECK(bm_counter_restarted(&last, &fresh));
	CHECK(bm_counter_restarted(&last, &busy));
	CHECK(bm_counter_restarted(&last, &slow));
	/* A CPU's first reading after a zeroed state is no restart. */
	CHECK(!bm_counter_restarted(&(struct bm_counter){ 0 }, &fresh));
}

const struct unit_test events_tests[] = {
	{ "events/known_names", test_known_names },
	{ "events/list_keeps_names_and_order", test_list_keeps_names_and_order },
	{ "events/empty_list", test_empty_list },
	{ "events/raw_forms", test_raw_forms },
	{ "events/raw_decimal_leading_zero", test_raw_decimal_leading_zero },
	{ "events/errors", test_errors },
	{ "events/name_length", test_name_length },
	{ "events/error_does_not_overflow_small_buffer",
	  test_error_does_not_overflow_small_buffer },
	{ "events/known_names_list", test_known_names_list },
	{ "events/perf_event_open", test_perf_event_open },
	{ "events/counter_restart", test_counter_restart },
	{ NULL, NULL },
};
