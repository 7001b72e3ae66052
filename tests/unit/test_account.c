// SPDX-License-Identifier: BSD-2-Clause
/*
 * account: the per-interval sums of (target, CPU) pairs in, as the BPF side drains them,
 * per-socket sums out, each CPU's counters scaled for multiplexing on their own.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "fixture.h"
#include "unit.h"

#define NR_CPUS 4
#define NR_EVENTS 2

/* Four CPU slots: 0 and 1 on socket 0, 2 on socket 1, 3 offline (it was on socket 1). */
struct fixture {
	struct bm_topology topo;
	struct account a;
};

static void fixture_init(struct fixture *f)
{
	static const int socket[NR_CPUS] = { 0, 0, 1, -1 };

	memset(f, 0, sizeof(*f));
	fixture_topology(&f->topo, NR_CPUS, socket, NULL, NULL);
	account_init(&f->a, &f->topo, NR_EVENTS);
}

static void fixture_free(struct fixture *f)
{
	account_free(&f->a);
	topology_free(&f->topo);
}

/*
 * A counter that was never multiplexed: it ran all the time it was enabled. Its times grow
 * along with its value, as a value only grows while the counter runs.
 */
#define C(v) ((struct bm_counter){ .value = (v), .enabled = (v), .running = (v) })

/*
 * Charge one pair, its sums laid out as a map value of NR_EVENTS counters: the value is
 * exactly that long on the heap, so reading an event beyond NR_EVENTS trips ASan.
 */
static struct account_target *charge(struct fixture *f, uint64_t id, int cpu, uint64_t cpu_ns,
				     struct bm_counter e0, struct bm_counter e1)
{
	struct bm_acct full = { .cpu_ns = cpu_ns, .ev = { e0, e1 } };
	size_t size = bm_acct_size(NR_EVENTS);
	void *v = malloc(size);
	struct account_target *t;

	/* Events beyond NR_EVENTS are not in the value: poison them in the copy. */
	memset(&full.ev[NR_EVENTS], 0xee, sizeof(full.ev) - NR_EVENTS * sizeof(full.ev[0]));
	memcpy(v, &full, size);
	t = account_charge(&f->a, id, cpu, v);
	free(v);
	return t;
}

/* A target's interval over both sockets. */
static struct bm_sample cur_sum(const struct account_target *t)
{
	struct bm_sample sum = t->cur[0];

	sum.cpu_ns += t->cur[1].cpu_ns;
	for (int e = 0; e < BM_MAX_EVENTS; e++)
		sum.ev[e] += t->cur[1].ev[e];
	return sum;
}

static void test_pairs_add_up_per_socket(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	account_begin(&f.a);
	CHECK(charge(&f, 7, 0, 100, C(10), C(1)) != NULL);
	charge(&f, 7, 1, 200, C(20), C(2));
	t = charge(&f, 7, 2, 400, C(40), C(4));
	CHECK_EQ_U64(t->id, 7);
	CHECK(t->active);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 300);
	CHECK_EQ_U64(t->cur[0].ev[0], 30);
	CHECK_EQ_U64(t->cur[0].ev[1], 3);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 400);
	CHECK_EQ_U64(t->cur[1].ev[0], 40);
	CHECK_EQ_U64(t->cur[1].ev[1], 4);
	/* Only the events in use are summed. */
	CHECK_EQ_U64(cur_sum(t).ev[2], 0);
	CHECK_EQ_U64(f.a.targets.n, 1);
	fixture_free(&f);
}

static void test_each_interval_starts_from_zero(void)
{
	struct account_target *t = NULL;
	struct fixture f;

	fixture_init(&f);
	for (uint64_t k = 1; k <= 5; k++) {
		account_begin(&f.a);
		charge(&f, 2, 0, 10 * k, C(3), C(0));
		t = charge(&f, 2, 2, 5, C(k), C(0));
		CHECK_EQ_U64(t->cur[0].cpu_ns, 10 * k);
		CHECK_EQ_U64(t->cur[1].cpu_ns, 5);
		CHECK_EQ_U64(t->cur[0].ev[0], 3);
		CHECK_EQ_U64(t->cur[1].ev[0], k);
	}
	fixture_free(&f);
}

static void test_multiplexed_scaled_per_cpu(void)
{
	struct bm_counter mux0 = { .value = 100, .enabled = 200, .running = 100 };
	struct bm_counter full1 = { .value = 100, .enabled = 200, .running = 200 };
	struct bm_counter never = { .value = 50, .enabled = 100, .running = 0 };
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	account_begin(&f.a);
	charge(&f, 1, 0, 10, mux0, C(0));
	charge(&f, 1, 1, 10, full1, C(0));
	t = charge(&f, 1, 2, 10, never, C(0));
	/*
	 * cpu0 ran half the time: 200; cpu1 all the time: 100. Scaling the socket's sums
	 * instead (200 * 400 / 300) would give 266.
	 */
	CHECK_EQ_U64(t->cur[0].ev[0], 300);
	/* A counter that never ran extrapolates to nothing. */
	CHECK_EQ_U64(t->cur[1].ev[0], 0);
	CHECK_EQ_U64(cur_sum(t).ev[0], 300);
	fixture_free(&f);
}

/*
 * The share of its enabled time each counter ran, over the interval's charges (bpfmeter -v
 * names the multiplexed ones): from zero at each interval, what a CPU off any socket or reset
 * charges left out, a running time beyond enabled taken as enabled.
 */
static void test_counted_share(void)
{
	struct bm_counter half = { .value = 100, .enabled = 200, .running = 100 };
	struct bm_counter quarter = { .value = 10, .enabled = 400, .running = 100 };
	struct bm_counter over = { .value = 10, .enabled = 100, .running = 150 };
	bool reset[NR_CPUS] = { false, false, true, false };
	struct fixture f;

	fixture_init(&f);
	account_begin(&f.a);
	/* Nothing charged: not multiplexed. */
	CHECK(account_counted_share(&f.a, 0) == 1);
	charge(&f, 1, 0, 10, half, C(5));
	charge(&f, 2, 1, 10, quarter, C(5));
	/* cpu3 is off any socket: left out. */
	charge(&f, 2, 3, 10, C(1000), C(5));
	/* (100 + 100) of (200 + 400) */
	CHECK(fabs(account_counted_share(&f.a, 0) - 200.0 / 600) < 1e-9);
	CHECK(account_counted_share(&f.a, 1) == 1);
	/* Out of range: no such counter. */
	CHECK(account_counted_share(&f.a, NR_EVENTS) == 1);
	CHECK(account_counted_share(&f.a, -1) == 1);

	account_begin(&f.a);
	account_reset_cpus(&f.a, reset);
	charge(&f, 1, 2, 10, quarter, C(5));
	CHECK(account_counted_share(&f.a, 0) == 1);
	charge(&f, 1, 0, 10, over, C(5));
	CHECK(account_counted_share(&f.a, 0) == 1);
	charge(&f, 1, 1, 10, half, C(5));
	CHECK(fabs(account_counted_share(&f.a, 0) - 200.0 / 300) < 1e-9);
	fixture_free(&f);
}

static void test_cpu_off_any_socket_charges_nothing(void)
{
	struct fixture f;

	fixture_init(&f);
	account_begin(&f.a);
	/* cpu3 was not online at the start; -1 and 4 are no CPUs of this topology. */
	CHECK(charge(&f, 9, 3, 5000, C(500), C(50)) == NULL);
	CHECK(charge(&f, 9, -1, 5000, C(500), C(50)) == NULL);
	CHECK(charge(&f, 9, NR_CPUS, 5000, C(500), C(50)) == NULL);
	CHECK_EQ_U64(f.a.targets.n, 0);
	fixture_free(&f);
}

static void test_inactive_when_nothing_moved(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	account_begin(&f.a);
	t = charge(&f, 3, 0, 0, C(0), C(0));
	CHECK(t != NULL && !t->active);
	/* A counter moving alone makes it active. */
	t = charge(&f, 3, 2, 0, C(1), C(0));
	CHECK(t->active);
	CHECK_EQ_U64(t->cur[1].ev[0], 1);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 0);
	/* The next interval it is not, until charged. */
	account_begin(&f.a);
	CHECK(!t->active);
	CHECK_EQ_U64(cur_sum(t).cpu_ns + cur_sum(t).ev[0], 0);
	fixture_free(&f);
}

static void test_keys_are_independent(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	account_begin(&f.a);
	charge(&f, BM_KEY_OVERFLOW, 0, 100, C(1), C(0));
	charge(&f, BM_KEY_IDLE, 0, 30, C(2), C(0));
	charge(&f, 1000, 0, 5, C(3), C(0));
	CHECK_EQ_U64(f.a.targets.n, 3);
	/* Inserting may move targets: look them up again. */
	t = idvec_find(&f.a.targets, BM_KEY_OVERFLOW);
	CHECK(t && cur_sum(t).cpu_ns == 100 && cur_sum(t).ev[0] == 1);
	t = idvec_find(&f.a.targets, BM_KEY_IDLE);
	CHECK(t && cur_sum(t).cpu_ns == 30 && cur_sum(t).ev[0] == 2);
	t = idvec_find(&f.a.targets, 1000);
	CHECK(t && cur_sum(t).cpu_ns == 5 && cur_sum(t).ev[0] == 3);
	fixture_free(&f);
}

static void test_forget(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	account_begin(&f.a);
	charge(&f, 4, 0, 100, C(10), C(1));
	charge(&f, 5, 2, 50, C(5), C(2));
	account_forget(&f.a, 4);
	CHECK_EQ_U64(f.a.targets.n, 1);
	CHECK(idvec_find(&f.a.targets, 4) == NULL);
	CHECK(idvec_find(&f.a.targets, 5) != NULL);
	/* Forgetting an unknown key is harmless. */
	account_forget(&f.a, 4);
	account_forget(&f.a, 12345);
	CHECK_EQ_U64(f.a.targets.n, 1);
	/* The key comes back (a new cgroup with the id): a new target. */
	t = charge(&f, 4, 0, 30, C(3), C(0));
	CHECK(t->active);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 30);
	CHECK_EQ_U64(t->cur[0].ev[0], 3);
	fixture_free(&f);
}

/*
 * A CPU came online and, without the bringup hook, the BPF side charged its whole offline
 * time to the first task there: reset, nothing charged there this interval counts, for known
 * and new targets; the next interval it counts again.
 */
static void test_reset_cpu_charges_nothing_that_interval(void)
{
	static const bool cpu2[NR_CPUS] = { false, false, true, false };
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	account_begin(&f.a);
	charge(&f, 7, 0, 100, C(10), C(1));
	account_begin(&f.a);
	account_reset_cpus(&f.a, cpu2);
	charge(&f, 7, 0, 10, C(1), C(0));
	CHECK(charge(&f, 7, 2, 5000000000, C(900), C(90)) == NULL);
	t = idvec_find(&f.a.targets, 7);
	CHECK(t && t->cur[0].cpu_ns == 10 && t->cur[1].cpu_ns == 0);
	CHECK(t && t->cur[1].ev[0] + t->cur[1].ev[1] == 0);
	CHECK(charge(&f, 8, 2, 3000, C(300), C(3)) == NULL);
	CHECK(idvec_find(&f.a.targets, 8) == NULL);

	/* The next interval: cpu2 counts again. */
	account_begin(&f.a);
	t = charge(&f, 7, 2, 30, C(3), C(1));
	CHECK_EQ_U64(t->cur[1].cpu_ns, 30);
	CHECK_EQ_U64(t->cur[1].ev[0], 3);
	CHECK_EQ_U64(t->cur[1].ev[1], 1);

	/* No CPUs (NULL) resets none. */
	account_begin(&f.a);
	account_reset_cpus(&f.a, NULL);
	t = charge(&f, 7, 2, 10, C(0), C(0));
	CHECK(t != NULL && t->cur[1].cpu_ns == 10);
	fixture_free(&f);
}

const struct unit_test account_tests[] = {
	{ "account/pairs_add_up_per_socket", test_pairs_add_up_per_socket },
	{ "account/each_interval_starts_from_zero", test_each_interval_starts_from_zero },
	{ "account/multiplexed_scaled_per_cpu", test_multiplexed_scaled_per_cpu },
	{ "account/counted_share", test_counted_share },
	{ "account/cpu_off_any_socket_charges_nothing", test_cpu_off_any_socket_charges_nothing },
	{ "account/inactive_when_nothing_moved", test_inactive_when_nothing_moved },
	{ "account/keys_are_independent", test_keys_are_independent },
	{ "account/forget", test_forget },
	{ "account/reset_cpu_charges_nothing_that_interval",
	  test_reset_cpu_charges_nothing_that_interval },
	{ NULL, NULL },
};
