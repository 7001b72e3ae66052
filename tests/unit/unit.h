/* SPDX-License-Identifier: BSD-2-Clause */
/* A tiny test harness: each test prints PASS/FAIL lines that tests/run.sh counts. */
#ifndef BM_UNIT_H
#define BM_UNIT_H

#include <math.h>
#include <stdio.h>
#include <string.h>

extern int unit_failed_checks;

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			printf("    check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			unit_failed_checks++;                                                 \
		}                                                                             \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                                         \
	do {                                                                                       \
		unsigned long long _a = (a), _b = (b);                                             \
		if (_a != _b) {                                                                    \
			printf("    check failed at %s:%d: %s == %llu, expected %llu\n", __FILE__, \
			       __LINE__, #a, _a, _b);                                              \
			unit_failed_checks++;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                      \
	do {                                                                                 \
		const char *_a = (a), *_b = (b);                                             \
		if (!_a || strcmp(_a, _b)) {                                                 \
			printf("    check failed at %s:%d: %s == \"%s\", expected \"%s\"\n", \
			       __FILE__, __LINE__, #a, _a ? _a : "(null)", _b);              \
			unit_failed_checks++;                                                \
		}                                                                            \
	} while (0)

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#endif
