// SPDX-License-Identifier: BSD-2-Clause
#include "../../bpf/bpfmeter.h"
#include "unit.h"

static void test_delta_plain(void)
{
	CHECK_EQ_U64(bm_delta(100, 250), 150);
	CHECK_EQ_U64(bm_delta(7, 7), 0);
}

static void test_delta_wraps_at_64_bits(void)
{
	CHECK_EQ_U64(bm_delta(~0ULL - 4, 10), 15);
}

static void test_scale_not_multiplexed(void)
{
	CHECK_EQ_U64(bm_scale(1000, 500, 500), 1000);
}

static void test_scale_multiplexed(void)
{
	/* Counted a quarter of the time: extrapolate by 4. */
	CHECK_EQ_U64(bm_scale(1000, 400, 100), 4000);
	CHECK_EQ_U64(bm_scale(3, 3, 2), 4); /* 4.5 rounds down */
}

static void test_scale_never_ran(void)
{
	CHECK_EQ_U64(bm_scale(0, 1000, 0), 0);
}

static void test_scale_no_overflow(void)
{
	/* value * enabled overflows 64 bits; the result does not. */
	CHECK_EQ_U64(bm_scale(1ULL << 40, 1ULL << 34, 1ULL << 33), 1ULL << 41);
	CHECK_EQ_U64(bm_scale(~0ULL, 10, 1), ~0ULL);
}

const struct unit_test scale_tests[] = {
	{ "scale/delta_plain", test_delta_plain },
	{ "scale/delta_wraps_at_64_bits", test_delta_wraps_at_64_bits },
	{ "scale/not_multiplexed", test_scale_not_multiplexed },
	{ "scale/multiplexed", test_scale_multiplexed },
	{ "scale/never_ran", test_scale_never_ran },
	{ "scale/no_overflow", test_scale_no_overflow },
	{ NULL, NULL },
};
