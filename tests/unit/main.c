// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests of bpfmeter's pure logic. Prints one PASS/FAIL line per test, which
 * tests/run.sh counts; exits non-zero when any test failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

int unit_failed_checks;

/* Each tests/unit/test_*.c file defines one NULL-terminated table. */
extern const struct unit_test util_tests[];
extern const struct unit_test scale_tests[];
extern const struct unit_test topology_tests[];
extern const struct unit_test cgroup_tests[];
extern const struct unit_test opts_tests[];
extern const struct unit_test events_tests[];
extern const struct unit_test account_tests[];
extern const struct unit_test idvec_tests[];
extern const struct unit_test energy_tests[];
extern const struct unit_test perf_power_tests[];
extern const struct unit_test msr_tests[];
extern const struct unit_test powercap_tests[];
extern const struct unit_test model_tests[];
extern const struct unit_test output_tests[];
extern const struct unit_test http_tests[];
extern const struct unit_test labels_tests[];
extern const struct unit_test replay_tests[];
extern const struct unit_test record_tests[];
extern const struct unit_test interval_tests[];
extern const struct unit_test carbon_tests[];
extern const struct unit_test state_tests[];
extern const struct unit_test prometheus_tests[];
extern const struct unit_test estimate_tests[];
extern const struct unit_test export_tests[];
extern const struct unit_test caps_tests[];
extern const struct unit_test live_tests[];

static const struct unit_test *const groups[] = {
	util_tests,   scale_tests,	topology_tests,	  cgroup_tests,	  opts_tests,
	events_tests, account_tests,	idvec_tests,	  energy_tests,	  powercap_tests,
	model_tests,  output_tests,	perf_power_tests, msr_tests,	  http_tests,
	labels_tests, replay_tests,	record_tests,	  interval_tests, carbon_tests,
	state_tests,  prometheus_tests, estimate_tests,	  export_tests,	  caps_tests,
	live_tests,
};

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	int failed = 0;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (const struct unit_test *t = groups[g]; t->name; t++) {
			int before = unit_failed_checks;

			if (only && !strstr(t->name, only))
				continue;
			t->fn();
			if (unit_failed_checks > before) {
				printf("FAIL: unit/%s\n", t->name);
				failed++;
			} else {
				printf("PASS: unit/%s\n", t->name);
			}
			fflush(stdout);
		}
	}
	return failed ? 1 : 0;
}
