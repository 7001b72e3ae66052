// SPDX-License-Identifier: BSD-2-Clause
/* The shared helpers: number parsing. */
#include <errno.h>
#include <stdint.h>

#include "unit.h"
#include "util.h"

static void test_u64_decimal_never_octal(void)
{
	uint64_t v = 0;

	CHECK(bm_parse_u64_dec("010", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 10);
	CHECK(bm_parse_u64_dec("08", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 8);
	CHECK(bm_parse_u64_dec("18446744073709551615", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, UINT64_MAX);
	CHECK(bm_parse_u64("010", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 10);
	/* Hexadecimal only where the caller takes it. */
	CHECK(bm_parse_u64_dec("0x10", 0, UINT64_MAX, &v) == -EINVAL);
	CHECK(bm_parse_u64("0x10", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 16);
	CHECK(bm_parse_u64("0XfF", 0, UINT64_MAX, &v) == 0);
	CHECK_EQ_U64(v, 255);
}

static void test_u64_rejects_junk_and_range(void)
{
	static const char *const junk[] = { "",	   " 1",  "1 ", "+1",	 "-1",	 "1x",	 "x1",
					    "1.0", "1e3", "0x", "0x0x5", "0x-1", "0x 1", "\t7" };
	uint64_t v = 42;

	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		int dec = bm_parse_u64_dec(junk[i], 0, UINT64_MAX, &v),
		    hex = bm_parse_u64(junk[i], 0, UINT64_MAX, &v);

		if (dec != -EINVAL || hex != -EINVAL)
			printf("    \"%s\": %d, %d\n", junk[i], dec, hex);
		CHECK(dec == -EINVAL && hex == -EINVAL);
	}
	CHECK(bm_parse_u64_dec(NULL, 0, UINT64_MAX, &v) == -EINVAL);
	CHECK(bm_parse_u64_dec("18446744073709551616", 0, UINT64_MAX, &v) == -ERANGE);
	CHECK(bm_parse_u64("0x10000000000000000", 0, UINT64_MAX, &v) == -ERANGE);
	CHECK(bm_parse_u64_dec("9", 10, 20, &v) == -ERANGE);
	CHECK(bm_parse_u64_dec("21", 10, 20, &v) == -ERANGE);
	/* A failed parse leaves the output alone. */
	CHECK_EQ_U64(v, 42);
}

const struct unit_test util_tests[] = {
	{ "util/u64_decimal_never_octal_hex_where_asked", test_u64_decimal_never_octal },
	{ "util/u64_rejects_sign_space_junk_empty_overflow", test_u64_rejects_junk_and_range },
	{ NULL, NULL },
};
