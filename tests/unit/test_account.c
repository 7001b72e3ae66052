// SPDX-License-Identifier: BSD-2-Clause
/*
 * account: cumulative per-CPU map values in, per-interval per-socket deltas out, scaled for
 * multiplexing per CPU.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "fixture.h"
#include "unit.h"

#define NR_CPUS 4
#define NR_EVENTS 2
/*
 * A per-CPU map value as the kernel lays it out: cpu_ns and NR_EVENTS counters, each CPU's
 * copy rounded up to 8 bytes. Computed here, not taken from account_init(), so a wrong
 * stride there shows.
 */
#define MAP_STRIDE ((sizeof(__u64) + NR_EVENTS * sizeof(struct bm_counter) + 7) & ~(size_t)7)

/* Four CPU slots: 0 and 1 on socket 0, 2 on socket 1, 3 offline (it was on socket 1). */
struct fixture {
	struct bm_topology topo;
	struct account a;
	unsigned char *map; /* one per-CPU map value: NR_CPUS slots of MAP_STRIDE bytes */
};

static void fixture_init(struct fixture *f)
{
	static const int socket[NR_CPUS] = { 0, 0, 1, -1 };

	memset(f, 0, sizeof(*f));
	fixture_topology(&f->topo, NR_CPUS, socket, NULL, NULL);
	account_init(&f->a, &f->topo, NR_EVENTS);
	/* Exactly the map value's size, so reading past the last slot trips ASan. */
	f->map = calloc(NR_CPUS, MAP_STRIDE);
}

static void fixture_free(struct fixture *f)
{
	account_free(&f->a);
	topology_free(&f->topo);
	free(f->map);
}

/* Set one CPU's cumulative sums in the map value, as the BPF side lays them out. */
static void set_cpu(struct fixture *f, int cpu, uint64_t cpu_ns, struct bm_counter e0,
		    struct bm_counter e1)
{
	struct bm_acct v;

	/* Events beyond NR_EVENTS are not in the map: poison them to catch a wrong stride. */
	memset(&v, 0xee, sizeof(v));
	v.cpu_ns = cpu_ns;
	v.ev[0] = e0;
	v.ev[1] = e1;
	memcpy(f->map + (size_t)cpu * MAP_STRIDE, &v, MAP_STRIDE);
}

/*
 * A counter that was never multiplexed: it ran all the time it was enabled. Its times grow
 * along with its value, as a value only grows while the counter runs.
 */
#define C(v) ((struct bm_counter){ .value = (v), .enabled = (v), .running = (v) })

/* A target's interval over both sockets. */
static struct bm_sample cur_sum(const struct account_target *t)
{
	struct bm_sample sum = t->cur[0];

	sum.cpu_ns += t->cur[1].cpu_ns;
	for (int e = 0; e < BM_MAX_EVENTS; e++)
		sum.ev[e] += t->cur[1].ev[e];
	return sum;
}

static struct account_target *update(struct fixture *f, uint64_t id)
{
	return account_update(&f->a, id, f->map);
}

static void test_stride(void)
{
	struct fixture f;

	fixture_init(&f);
	/* cpu_ns and two counters: 8 + 2 * 24 bytes, already 8-aligned. */
	CHECK_EQ_U64(MAP_STRIDE, 56);
	CHECK_EQ_U64(f.a.stride, MAP_STRIDE);
	CHECK(f.a.stride < sizeof(struct bm_acct));
	CHECK_EQ_U64(f.a.nr_events, NR_EVENTS);
	CHECK(f.a.topo == &f.topo);
	CHECK_EQ_U64(f.a.targets.n, 0);
	fixture_free(&f);
}

static void test_first_update_is_whole_value(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	set_cpu(&f, 0, 100, C(10), C(1));
	set_cpu(&f, 1, 200, C(20), C(2));
	set_cpu(&f, 2, 400, C(40), C(4));
	set_cpu(&f, 3, 800, C(80), C(8)); /* offline */

	account_begin(&f.a);
	t = update(&f, 7);
	CHECK_EQ_U64(t->id, 7);
	CHECK(t->active);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 300);
	CHECK_EQ_U64(t->cur[0].ev[0], 30);
	CHECK_EQ_U64(t->cur[0].ev[1], 3);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 400);
	CHECK_EQ_U64(t->cur[1].ev[0], 40);
	CHECK_EQ_U64(t->cur[1].ev[1], 4);
	CHECK_EQ_U64(cur_sum(t).cpu_ns, 700);
	CHECK_EQ_U64(cur_sum(t).ev[0], 70);
	CHECK_EQ_U64(cur_sum(t).ev[1], 7);
	/* Only the events in use are summed. */
	CHECK_EQ_U64(cur_sum(t).ev[2], 0);
	CHECK_EQ_U64(t->cur[0].ev[2], 0);
	CHECK_EQ_U64(f.a.targets.n, 1);
	fixture_free(&f);
}

static void test_second_update_is_difference(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	set_cpu(&f, 0, 100, C(10), C(1));
	set_cpu(&f, 1, 200, C(20), C(2));
	set_cpu(&f, 2, 400, C(40), C(4));
	set_cpu(&f, 3, 800, C(80), C(8));
	account_begin(&f.a);
	update(&f, 7);

	set_cpu(&f, 0, 150, C(15), C(1)); /* +50, +5, +0 */
	set_cpu(&f, 1, 210, C(21), C(5)); /* +10, +1, +3 */
	set_cpu(&f, 2, 460, C(46), C(4)); /* +60, +6, +0 */
	set_cpu(&f, 3, 9000, C(900), C(90)); /* offline: nothing */
	account_begin(&f.a);
	t = update(&f, 7);
	CHECK(t->active);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 60);
	CHECK_EQ_U64(t->cur[0].ev[0], 6);
	CHECK_EQ_U64(t->cur[0].ev[1], 3);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 60);
	CHECK_EQ_U64(t->cur[1].ev[0], 6);
	CHECK_EQ_U64(t->cur[1].ev[1], 0);
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
	set_cpu(&f, 0, 10, mux0, C(0));
	set_cpu(&f, 1, 10, full1, C(0));
	set_cpu(&f, 2, 10, never, C(0));
	account_begin(&f.a);
	t = update(&f, 1);
	/*
	 * cpu0 ran half the time: 200; cpu1 all the time: 100. Scaling the socket's sums
	 * instead (200 * 400 / 300) would give 266.
	 */
	CHECK_EQ_U64(t->cur[0].ev[0], 300);
	/* A counter that never ran extrapolates to nothing. */
	CHECK_EQ_U64(t->cur[1].ev[0], 0);
	CHECK_EQ_U64(cur_sum(t).ev[0], 300);

	/* The next interval scales its own deltas: +60 in 30 of 200 ns is 400. */
	set_cpu(&f, 0, 20, (struct bm_counter){ .value = 160, .enabled = 400, .running = 130 },
		C(0));
	set_cpu(&f, 1, 20, (struct bm_counter){ .value = 130, .enabled = 300, .running = 250 },
		C(0));
	account_begin(&f.a);
	t = update(&f, 1);
	/* cpu1: +30 in 50 of 100 ns is 60. */
	CHECK_EQ_U64(t->cur[0].ev[0], 460);
	fixture_free(&f);
}

static void test_offline_cpu_contributes_nothing(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	set_cpu(&f, 3, 5000, C(500), C(50));
	account_begin(&f.a);
	t = update(&f, 9);
	CHECK(!t->active);
	CHECK_EQ_U64(t->cur[0].cpu_ns + t->cur[1].cpu_ns, 0);
	CHECK_EQ_U64(t->cur[1].ev[0] + t->cur[1].ev[1], 0);
	CHECK_EQ_U64(cur_sum(t).cpu_ns, 0);
	CHECK_EQ_U64(cur_sum(t).ev[0], 0);

	/* cpu3 comes back on socket 1: only what it counted since the last reading is new. */
	f.topo.socket[3] = 1;
	set_cpu(&f, 3, 5100, C(510), C(50));
	account_begin(&f.a);
	t = update(&f, 9);
	CHECK(t->active);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 100);
	CHECK_EQ_U64(t->cur[1].ev[0], 10);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 0);
	CHECK_EQ_U64(cur_sum(t).cpu_ns, 100);
	fixture_free(&f);
}

static void test_each_interval_its_own_delta(void)
{
	struct account_target *t = NULL;
	struct fixture f;

	fixture_init(&f);
	for (uint64_t k = 1; k <= 5; k++) {
		/* Every interval cpu0 adds 10 ns and 3 events, cpu2 adds 5 ns and 1 event. */
		set_cpu(&f, 0, 10 * k, C(3 * k), C(0));
		set_cpu(&f, 2, 5 * k, C(k), C(0));
		account_begin(&f.a);
		t = update(&f, 2);
		CHECK_EQ_U64(t->cur[0].cpu_ns, 10);
		CHECK_EQ_U64(t->cur[1].cpu_ns, 5);
		CHECK_EQ_U64(t->cur[0].ev[0], 3);
	}
	fixture_free(&f);
}

static void test_inactive_when_unchanged(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	set_cpu(&f, 0, 100, C(10), C(1));
	set_cpu(&f, 2, 400, C(40), C(4));
	account_begin(&f.a);
	t = update(&f, 3);
	CHECK(t->active);

	/* Same readings: nothing happened. */
	account_begin(&f.a);
	CHECK(!t->active);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 0);
	t = update(&f, 3);
	CHECK(!t->active);
	CHECK_EQ_U64(t->cur[0].cpu_ns + t->cur[1].cpu_ns, 0);
	CHECK_EQ_U64(t->cur[0].ev[0] + t->cur[1].ev[0], 0);

	/* A counter moving alone makes it active. */
	set_cpu(&f, 2, 400, C(41), C(4));
	account_begin(&f.a);
	t = update(&f, 3);
	CHECK(t->active);
	CHECK_EQ_U64(t->cur[1].ev[0], 1);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 0);
	fixture_free(&f);
}

static void test_begin_clears_every_target(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	set_cpu(&f, 1, 70, C(7), C(0));
	account_begin(&f.a);
	update(&f, 11);
	update(&f, 12);
	account_begin(&f.a);
	/* Only 12 is read this interval: 11 keeps nothing of the last one. */
	update(&f, 12);
	t = idvec_find(&f.a.targets, 11);
	CHECK(t != NULL);
	if (t) {
		CHECK(!t->active);
		CHECK_EQ_U64(t->cur[0].cpu_ns, 0);
		CHECK_EQ_U64(t->cur[0].ev[0], 0);
		CHECK_EQ_U64(cur_sum(t).cpu_ns, 0);
	}
	fixture_free(&f);
}

static void test_keys_are_independent(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	account_begin(&f.a);
	set_cpu(&f, 0, 100, C(1), C(0));
	update(&f, BM_KEY_OVERFLOW);
	set_cpu(&f, 0, 30, C(2), C(0));
	update(&f, BM_KEY_IDLE);
	set_cpu(&f, 0, 5, C(3), C(0));
	update(&f, 1000);
	CHECK_EQ_U64(f.a.targets.n, 3);
	/* Inserting may move targets: look them up again. */
	t = idvec_find(&f.a.targets, BM_KEY_OVERFLOW);
	CHECK(t && cur_sum(t).cpu_ns == 100 && cur_sum(t).ev[0] == 1);
	t = idvec_find(&f.a.targets, BM_KEY_IDLE);
	CHECK(t && cur_sum(t).cpu_ns == 30 && cur_sum(t).ev[0] == 2);
	t = idvec_find(&f.a.targets, 1000);
	CHECK(t && cur_sum(t).cpu_ns == 5 && cur_sum(t).ev[0] == 3);

	/* Each key's previous readings are its own. */
	set_cpu(&f, 0, 40, C(2), C(0));
	account_begin(&f.a);
	t = update(&f, BM_KEY_IDLE);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 10);
	CHECK_EQ_U64(t->cur[0].ev[0], 0);
	fixture_free(&f);
}

static void test_forget_restarts_from_zero(void)
{
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	set_cpu(&f, 0, 100, C(10), C(1));
	set_cpu(&f, 2, 50, C(5), C(2));
	account_begin(&f.a);
	update(&f, 4);
	update(&f, 5);
	account_forget(&f.a, 4);
	CHECK_EQ_U64(f.a.targets.n, 1);
	CHECK(idvec_find(&f.a.targets, 4) == NULL);
	CHECK(idvec_find(&f.a.targets, 5) != NULL);
	/* Forgetting an unknown key is harmless. */
	account_forget(&f.a, 4);
	account_forget(&f.a, 12345);
	CHECK_EQ_U64(f.a.targets.n, 1);

	/* The key comes back (a new map entry): its first reading is all delta again. */
	set_cpu(&f, 0, 30, C(3), C(0));
	set_cpu(&f, 2, 20, C(2), C(0));
	account_begin(&f.a);
	t = update(&f, 4);
	CHECK(t->active);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 30);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 20);
	CHECK_EQ_U64(t->cur[0].ev[0], 3);
	fixture_free(&f);
}

/*
 * A CPU came online and the BPF side charged its whole offline time to the first task there:
 * reset, its readings this interval are only the new baseline, for known and new targets.
 */
static void test_reset_cpu_takes_new_baseline(void)
{
	static const bool cpu2[NR_CPUS] = { false, false, true, false };
	struct account_target *t;
	struct fixture f;

	fixture_init(&f);
	set_cpu(&f, 0, 100, C(10), C(1));
	set_cpu(&f, 2, 50, C(5), C(0));
	account_begin(&f.a);
	update(&f, 7);

	/* cpu2 was offline for 5 s and the gap, with counters, was charged to 7. */
	set_cpu(&f, 0, 110, C(11), C(1));
	set_cpu(&f, 2, 5000000050, C(900), C(90));
	account_begin(&f.a);
	account_reset_cpus(&f.a, cpu2);
	t = update(&f, 7);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 10);
	CHECK_EQ_U64(t->cur[0].ev[0], 1);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 0);
	CHECK_EQ_U64(t->cur[1].ev[0] + t->cur[1].ev[1], 0);
	/* A target first seen in that interval: its first reading there is no delta either. */
	set_cpu(&f, 0, 20, C(2), C(0));
	set_cpu(&f, 2, 3000, C(300), C(3));
	t = update(&f, 8);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 20);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 0);
	CHECK_EQ_U64(cur_sum(t).ev[1], 0);

	/* The next interval: cpu2 counts again, from the baseline it took. */
	account_begin(&f.a);
	set_cpu(&f, 0, 110, C(11), C(1));
	set_cpu(&f, 2, 5000000080, C(903), C(91));
	t = update(&f, 7);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 30);
	CHECK_EQ_U64(t->cur[1].ev[0], 3);
	CHECK_EQ_U64(t->cur[1].ev[1], 1);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 0);
	set_cpu(&f, 0, 20, C(2), C(0));
	set_cpu(&f, 2, 3005, C(301), C(3));
	t = update(&f, 8);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 5);

	/* No CPUs (NULL) resets none; a reset lasts one interval only. */
	account_begin(&f.a);
	account_reset_cpus(&f.a, NULL);
	set_cpu(&f, 0, 115, C(11), C(1));
	set_cpu(&f, 2, 5000000090, C(904), C(91));
	t = update(&f, 7);
	CHECK_EQ_U64(t->cur[0].cpu_ns, 5);
	CHECK_EQ_U64(t->cur[1].cpu_ns, 10);
	fixture_free(&f);
}

const struct unit_test account_tests[] = {
	{ "account/stride", test_stride },
	{ "account/first_update_is_whole_value", test_first_update_is_whole_value },
	{ "account/second_update_is_difference", test_second_update_is_difference },
	{ "account/multiplexed_scaled_per_cpu", test_multiplexed_scaled_per_cpu },
	{ "account/offline_cpu_contributes_nothing", test_offline_cpu_contributes_nothing },
	{ "account/each_interval_its_own_delta", test_each_interval_its_own_delta },
	{ "account/inactive_when_unchanged", test_inactive_when_unchanged },
	{ "account/begin_clears_every_target", test_begin_clears_every_target },
	{ "account/keys_are_independent", test_keys_are_independent },
	{ "account/forget_restarts_from_zero", test_forget_restarts_from_zero },
	{ "account/reset_cpu_takes_new_baseline", test_reset_cpu_takes_new_baseline },
	{ NULL, NULL },
};
