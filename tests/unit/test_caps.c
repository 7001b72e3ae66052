// SPDX-License-Identifier: BSD-2-Clause
/*
 * caps: perf_event_paranoid above 2 (Debian's 3) is where perf_event_open takes CAP_SYS_ADMIN,
 * which the drop after start then keeps for the events of a CPU that comes back online.
 */
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "caps.h"
#include "fixture.h"
#include "unit.h"

static bool needs_admin(const char *text)
{
	char path[64];
	bool r;

	fixture_tmpfile(path, sizeof(path), "paranoid", text);
	r = caps_perf_needs_admin(path);
	unlink(path);
	return r;
}

static void test_perf_needs_admin(void)
{
	CHECK(needs_admin("3\n"));
	CHECK(needs_admin("4"));
	CHECK(!needs_admin("2\n"));
	CHECK(!needs_admin("-1\n"));
	CHECK(!needs_admin("0\n"));
	/* Not a number, or no file: not known to need it. */
	CHECK(!needs_admin("three\n"));
	CHECK(!needs_admin("3x\n"));
	CHECK(!needs_admin(""));
	CHECK(!caps_perf_needs_admin("/nonexistent/perf_event_paranoid"));
}

const struct unit_test caps_tests[] = {
	{ "caps/perf_needs_admin", test_perf_needs_admin },
	{ NULL, NULL },
};
