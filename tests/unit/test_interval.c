// SPDX-License-Identifier: BSD-2-Clause
/*
 * The interval pipeline without root: account rows and energy in, report rows and session
 * totals out. Conservation, group-by totals, ended targets and the provisional split.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "interval.h"
#include "targets.h"
#include "unit.h"
#include "util.h"

#define NR_CPUS 2

struct pipe {
	struct bm_topology topo;
	struct account a;
	struct targets ts;
	struct interval iv;
	struct bm_row *rows;
	size_t cap;
};

/* Two CPUs on one socket, CPU time as the only feature; energy when have_energy. */
static void pipe_init(struct pipe *p, bool have_energy, enum group_by g, int depth)
{
	static const int socket[NR_CPUS] = { 0, 0 };
	struct interval_config cfg = {
		.nr_sockets = 1,
		.have_energy = have_energy,
		.features = { .nfeat = 1, .idx = { BM_FEATURE_CPU }, .name = { "cpu" } },
		.cycles_idx = -1,
		.ref_cycles_idx = -1,
		.model = model_config_default,
	};

	memset(p, 0, sizeof(*p));
	fixture_topology(&p->topo, NR_CPUS, socket, NULL, NULL);
	account_init(&p->a, &p->topo, 0);
	targets_init(&p->ts, BM_TARGET_CGROUP, g, depth);
	interval_init(&p->iv, &cfg);
}

static void pipe_free(struct pipe *p)
{
	interval_free(&p->iv);
	targets_free(&p->ts);
	account_free(&p->a);
	topology_free(&p->topo);
	free(p->rows);
}

/* Key id ran cpu0_ns and cpu1_ns this interval (as the maps hold them: no events). */
static void charge(struct pipe *p, uint64_t id, const char *name, __u64 cpu0_ns, __u64 cpu1_ns)
{
	struct bm_target *t;

	account_charge(&p->a, id, 0, &(struct bm_acct){ .cpu_ns = cpu0_ns });
	account_charge(&p->a, id, 1, &(struct bm_acct){ .cpu_ns = cpu1_ns });
	t = targets_get(&p->ts, id, NULL);
	if (name)
		targets_set_name(&p->ts, t, name);
}

static void run(struct pipe *p, const struct energy_reading *e, int ne, struct bm_interval *out)
{
	struct interval_inputs in = {
		.ts_ns = 1000000000, .dt = 1.0, .energy = e, .nenergy = ne, .carbon_g_per_kwh = -1
	};

	in.nrows = interval_gather(&p->a, &p->ts, 1, &p->rows, &p->cap);
	in.rows = p->rows;
	interval_run(&p->iv, &in, out);
}

static const struct bm_row *row_of(const struct bm_interval *out, const char *name)
{
	for (size_t i = 0; i < out->n; i++)
		if (!strcmp(out->rows[i].target->name, name))
			return &out->rows[i];
	return NULL;
}

static void test_split_conserves_the_measured_energy(void)
{
	const struct energy_reading e = { .socket = 0, .domain = BM_DOMAIN_PACKAGE, .joules = 40 };
	struct bm_interval out;
	struct pipe p;
	double sum = 0;

	pipe_init(&p, true, GROUP_BY_CGROUP, 0);
	account_begin(&p.a);
	charge(&p, BM_KEY_IDLE, NULL, 500000000, 500000000);
	charge(&p, 10, "/a", 300000000, 300000000);
	charge(&p, 11, "/b", 200000000, 200000000);
	run(&p, &e, 1, &out);
	CHECK_EQ_U64(out.n, 3);
	for (size_t i = 0; i < out.n; i++)
		sum += out.rows[i].s.energy_j[BM_DOMAIN_PACKAGE];
	CHECK(fabs(sum - 40) < 1e-9);
	/* Before the first fit: by CPU time, idle included, and said to be provisional. */
	CHECK(row_of(&out, "/a") && fabs(row_of(&out, "/a")->s.energy_j[0] - 12) < 1e-9);
	CHECK(row_of(&out, "/a") && row_of(&out, "/a")->model_id[0] == 0);
	CHECK(out.models && out.models[0].model_id == 0 && !out.models[0].predicted);
	/* Sorted by CPU time, most first. */
	CHECK_STR(out.rows[0].target->name, "idle");
	CHECK(fabs(p.iv.measured_j[BM_DOMAIN_PACKAGE] - 40) < 1e-9);
	pipe_free(&p);
}

static void test_totals_grow_with_each_reported_interval(void)
{
	struct bm_interval out;
	struct bm_row rows[4];
	struct pipe p;
	size_t n;

	pipe_init(&p, false, GROUP_BY_CGROUP, 0);
	for (int k = 1; k <= 3; k++) {
		account_begin(&p.a);
		charge(&p, 10, "/a", 100, 10);
		run(&p, NULL, 0, &out);
	}
	CHECK_EQ_U64(targets_find(&p.ts, 10)->total.cpu_ns, 330);
	n = targets_summary(&p.ts, rows, 0);
	CHECK_EQ_U64(n, 1);
	CHECK(n == 1 && rows[0].socket == -1 && rows[0].s.cpu_ns == 330);
	pipe_free(&p);
}

static void test_group_by_rolls_up_rows_and_the_summary(void)
{
	const struct energy_reading e = { .socket = 0, .domain = BM_DOMAIN_PACKAGE, .joules = 10 };
	struct bm_row rows[8];
	struct bm_interval out;
	const struct bm_row *g;
	struct pipe p;
	size_t n;

	pipe_init(&p, true, GROUP_BY_DEPTH, 1);
	for (int k = 1; k <= 2; k++) {
		account_begin(&p.a);
		charge(&p, BM_KEY_IDLE, NULL, 500, 0);
		charge(&p, 10, "/pod/x", 300, 0);
		charge(&p, 11, "/pod/y", 100, 100);
		charge(&p, 12, "/other", 0, 400);
		run(&p, &e, 1, &out);
	}
	/* The members' rows became one of their group, sums added, energy still conserved. */
	CHECK_EQ_U64(out.n, 3);
	g = row_of(&out, "/pod");
	CHECK(g != NULL);
	if (g) {
		CHECK_EQ_U64(g->s.cpu_ns, 500);
		CHECK(g->target->kind == BM_TARGET_GROUP);
		CHECK(fabs(g->s.energy_j[0] - 10 * 500.0 / 1400) < 1e-9);
	}
	CHECK(!row_of(&out, "/pod/x") && !row_of(&out, "/pod/y"));
	/* The summary rolls up the same way: the group's totals, not its members'. */
	n = targets_summary(&p.ts, rows, 1u << BM_DOMAIN_PACKAGE);
	CHECK_EQ_U64(n, 3);
	for (size_t i = 0; i < n; i++) {
		CHECK(strcmp(rows[i].target->name, "/pod/x") &&
		      strcmp(rows[i].target->name, "/pod/y"));
		if (!strcmp(rows[i].target->name, "/pod")) {
			CHECK_EQ_U64(rows[i].s.cpu_ns, 1000);
			CHECK(fabs(rows[i].s.energy_j[0] - 2 * 10 * 500.0 / 1400) < 1e-9);
		}
	}
	/* Members keep their own totals too (a measured command's cgroup is one). */
	CHECK_EQ_U64(targets_find(&p.ts, 10)->total.cpu_ns, 600);
	pipe_free(&p);
}

static uint64_t resolved_id;

static int resolve_fixed(const char *key, uint64_t *id, void *ctx)
{
	(void)ctx;
	if (strcmp(key, "/pod"))
		return -ENOENT;
	*id = resolved_id;
	return 0;
}

static void test_group_ids_resolved_once_per_new_member(void)
{
	struct targets ts;
	struct bm_target *a, *b;

	targets_init(&ts, BM_TARGET_CGROUP, GROUP_BY_DEPTH, 1);
	a = targets_get(&ts, 10, NULL);
	targets_set_name(&ts, a, "/pod/x");
	CHECK(a->group && a->group->id == 10 && a->group->group_pending);
	resolved_id = 99;
	targets_resolve_groups(&ts, resolve_fixed, NULL);
	CHECK(a->group->id == 99 && !a->group->group_pending);
	/* The same name again is no news: nothing to resolve. */
	targets_set_name(&ts, a, "/pod/x");
	CHECK(!a->group->group_pending);
	/* A new member: the group may have been made anew. */
	b = targets_get(&ts, 11, NULL);
	targets_set_name(&ts, b, "/pod/y");
	CHECK(b->group == a->group && a->group->group_pending);
	resolved_id = 100;
	targets_resolve_groups(&ts, resolve_fixed, NULL);
	CHECK_EQ_U64(b->group->id, 100);
	/* One the tree does not know keeps the id it was made with. */
	b = targets_get(&ts, 12, NULL);
	targets_set_name(&ts, b, "/gone/z");
	targets_resolve_groups(&ts, resolve_fixed, NULL);
	CHECK_EQ_U64(b->group->id, 12);
	CHECK_STR(b->group->name, "/gone");
	targets_free(&ts);
}

static void test_ended_targets_stay_in_the_summary(void)
{
	struct bm_interval out;
	struct bm_row rows[4];
	struct pipe p;
	size_t n;

	pipe_init(&p, false, GROUP_BY_CGROUP, 0);
	p.ts.keep_departed = true;
	account_begin(&p.a);
	charge(&p, 10, "/short-lived", 100, 0);
	charge(&p, 11, "/stays", 50, 0);
	run(&p, NULL, 0, &out);
	account_forget(&p.a, 10);
	targets_remove(&p.ts, 10);
	CHECK(targets_find(&p.ts, 10) == NULL);
	/* The id comes back as a new cgroup: its own target, its own totals. */
	account_begin(&p.a);
	charge(&p, 10, "/new", 30, 0);
	run(&p, NULL, 0, &out);
	n = targets_summary(&p.ts, rows, 0);
	CHECK_EQ_U64(n, 3);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(rows[i].target->name, "/short-lived"))
			CHECK(rows[i].s.cpu_ns == 100 && rows[i].target->gone);
		if (!strcmp(rows[i].target->name, "/new"))
			CHECK(rows[i].s.cpu_ns == 30);
	}
	/* Without a summary to show, nothing is kept. */
	p.ts.keep_departed = false;
	targets_remove(&p.ts, 11);
	CHECK_EQ_U64(p.ts.ndeparted, 1);
	pipe_free(&p);
}

/*
 * Rows point at their targets while new ones are added (thousands of processes appear in
 * an interval): a target never moves, and one charged only before the baseline has no total
 * and no place in the summary.
 */
static void test_targets_never_move_and_unreported_ones_stay_out(void)
{
	struct bm_target *first, *t;
	struct targets ts;
	struct bm_row *all;
	char name[32];

	targets_init(&ts, BM_TARGET_PROCESS, GROUP_BY_CGROUP, 0);
	first = targets_get(&ts, 5000, NULL);
	targets_set_name(&ts, first, "sh[5000]");
	first->total.cpu_ns = 7;
	for (uint64_t id = 1; id < 3000; id++) {
		t = targets_get(&ts, id, NULL);
		snprintf(name, sizeof(name), "p[%llu]", (unsigned long long)id);
		targets_set_name(&ts, t, name);
	}
	CHECK(targets_find(&ts, 5000) == first);
	CHECK_STR(first->name, "sh[5000]");
	CHECK(first->group == NULL && first->kind == BM_TARGET_PROCESS);
	CHECK(targets_summary_cap(&ts) >= 3000);
	all = calloc(targets_summary_cap(&ts), sizeof(*all));
	CHECK_EQ_U64(targets_summary(&ts, all, 0), 1);
	free(all);
	targets_free(&ts);
}

static void test_special_targets_are_named_and_stand_alone(void)
{
	struct targets ts;
	struct bm_target *idle, *over;

	targets_init(&ts, BM_TARGET_CGROUP, GROUP_BY_POD, 0);
	idle = targets_get(&ts, BM_KEY_IDLE, NULL);
	over = targets_get(&ts, BM_KEY_OVERFLOW, NULL);
	CHECK_STR(idle->name, "idle");
	CHECK_STR(over->name, "overflow");
	CHECK(idle->kind == BM_TARGET_IDLE && over->kind == BM_TARGET_OVERFLOW);
	CHECK(!target_is_cgroup(idle) && !idle->group);
	CHECK(idle->labels.kind == BM_KIND_SPECIAL);
	targets_free(&ts);
}

/* Totals of grams CO2e over intervals of different intensities, none in one of them. */
static void test_co2e_totals_follow_each_interval_intensity(void)
{
	const struct energy_reading e = { .socket = 0, .domain = BM_DOMAIN_PACKAGE, .joules = 36 };
	static const double g_per_kwh[] = { 400, -1, 100 };
	struct bm_interval out;
	struct bm_target *t;
	struct pipe p;

	pipe_init(&p, true, GROUP_BY_DEPTH, 1);
	for (int i = 0; i < 3; i++) {
		struct interval_inputs in = { .ts_ns = (i + 1) * 1000000000LL,
					      .dt = 1.0,
					      .energy = &e,
					      .nenergy = 1,
					      .carbon_g_per_kwh = g_per_kwh[i] };

		/* /g/a and /g/b each 25% of the CPU time: 9 J of 36 each. */
		account_begin(&p.a);
		charge(&p, BM_KEY_IDLE, NULL, 500000000ull, 500000000ull);
		charge(&p, 10, "/g/a", 500000000ull, 0);
		charge(&p, 11, "/g/b", 0, 500000000ull);
		in.nrows = interval_gather(&p.a, &p.ts, 1, &p.rows, &p.cap);
		in.rows = p.rows;
		interval_run(&p.iv, &in, &out);
		CHECK(out.carbon_g_per_kwh == g_per_kwh[i]);
		/* The interval's rows: the group's 18 J at its intensity, or none. */
		CHECK(row_of(&out, "/g") &&
		      fabs(row_of(&out, "/g")->s.co2e_g[BM_DOMAIN_PACKAGE] -
			   (g_per_kwh[i] > 0 ? 18 * g_per_kwh[i] / 3.6e6 : 0)) < 1e-15);
	}
	/* 9 J at 400 and 9 J at 100 g/kWh: 0.001 + 0.00025 g; the group twice that. */
	t = targets_find(&p.ts, 10);
	CHECK(t && fabs(t->total.co2e_g[BM_DOMAIN_PACKAGE] - 0.00125) < 1e-15);
	CHECK(t && fabs(t->total.energy_j[BM_DOMAIN_PACKAGE] - 27) < 1e-9);
	t = targets_group(&p.ts, "/g");
	CHECK(t && fabs(t->total.co2e_g[BM_DOMAIN_PACKAGE] - 0.0025) < 1e-15);
	CHECK(fabs(p.iv.measured_co2e_g[BM_DOMAIN_PACKAGE] - 0.005) < 1e-15);
	CHECK_EQ_U64(p.iv.intervals, 3);
	CHECK_EQ_U64(p.iv.carbon_intervals, 2);
	pipe_free(&p);
}

/* targets_find_next() finds what targets_find() does, in any order of ids, gaps and all. */
static void test_find_next_is_find_in_any_order(void)
{
	static const uint64_t asc[] = { 1, 3, 3, 4, 40, 41, 90, 97, 200, 300, 999 };
	struct targets ts;
	size_t pos = 0;
	int bad = 0;

	targets_init(&ts, BM_TARGET_CGROUP, GROUP_BY_CGROUP, 0);
	for (uint64_t id = 3; id < 300; id += id % 7 + 1)
		targets_get(&ts, id, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(asc); i++)
		bad += targets_find_next(&ts, asc[i], &pos) != targets_find(&ts, asc[i]);
	/* Backwards, and in steps of every size, from a position kept or not. */
	for (size_t i = ARRAY_SIZE(asc); i-- > 0;)
		bad += targets_find_next(&ts, asc[i], &pos) != targets_find(&ts, asc[i]);
	for (uint64_t step = 1; step < 60; step += 7) {
		pos = 0;
		for (uint64_t id = 0; id < 320; id += step)
			bad += targets_find_next(&ts, id, &pos) != targets_find(&ts, id);
	}
	pos = 12345;
	bad += targets_find_next(&ts, 3, &pos) != targets_find(&ts, 3);
	CHECK(targets_find(&ts, 3) != NULL);
	CHECK(bad == 0);
	targets_free(&ts);
}

/*
 * An interval's rows in order: by CPU time, most first, then socket, then as they came (by
 * id); the summary's ties by name. Random times over a small range make many ties.
 */
static void test_rows_sorted_by_cpu_socket_then_as_they_came(void)
{
	enum {
		N = 3000,
		NT = 8
	};
	static char names[NT][8] = { "/h", "/b", "/g", "/a", "/f", "/c", "/e", "/d" };
	struct bm_target t[NT];
	struct bm_row *rows = calloc(N, sizeof(*rows));
	struct report_sort_buf buf = { 0 };
	uint64_t x = 88172645463325252ull;
	size_t bad = 0;

	if (!rows) {
		unit_failed_checks++;
		return;
	}
	memset(t, 0, sizeof(t));
	for (int i = 0; i < NT; i++)
		t[i].name = names[i];
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < N; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			rows[i] = (struct bm_row){ .target = &t[x % NT],
						   .socket = (int)((x >> 8) % (round ? 3 : 1)),
						   /* In round 2, times past 32 bits and 0. */
						   .s.cpu_ns = (x >> 16) % 50 *
							       (round == 2 ? 1ull << 33 : 1),
						   .share = (double)i };
		}
		report_sort_with(rows, N, &buf);
		for (size_t i = 1; i < N; i++) {
			const struct bm_row *a = &rows[i - 1], *b = &rows[i];

			if (a->s.cpu_ns != b->s.cpu_ns ? a->s.cpu_ns < b->s.cpu_ns
			    : a->socket != b->socket   ? a->socket > b->socket
						       : a->share > b->share)
				bad++;
		}
		/* The summary's sort: ties by name. */
		report_sort(rows, N);
		for (size_t i = 1; i < N; i++) {
			const struct bm_row *a = &rows[i - 1], *b = &rows[i];
			int c = strcmp(a->target->name, b->target->name);

			if (a->s.cpu_ns != b->s.cpu_ns ? a->s.cpu_ns < b->s.cpu_ns
			    : a->socket != b->socket   ? a->socket > b->socket
			    : c			       ? c > 0
						       : a->share > b->share)
				bad++;
		}
	}
	CHECK_EQ_U64(bad, 0);
	free(buf.keys);
	free(rows);
}

const struct unit_test interval_tests[] = {
	{ "interval/find_next_is_find_in_any_order", test_find_next_is_find_in_any_order },
	{ "interval/co2e_totals_follow_each_interval_intensity",
	  test_co2e_totals_follow_each_interval_intensity },
	{ "interval/split_conserves_the_measured_energy",
	  test_split_conserves_the_measured_energy },
	{ "interval/totals_grow_with_each_reported_interval",
	  test_totals_grow_with_each_reported_interval },
	{ "interval/group_by_rolls_up_rows_and_the_summary",
	  test_group_by_rolls_up_rows_and_the_summary },
	{ "interval/group_ids_resolved_once_per_new_member",
	  test_group_ids_resolved_once_per_new_member },
	{ "interval/ended_targets_stay_in_the_summary", test_ended_targets_stay_in_the_summary },
	{ "interval/targets_never_move_and_unreported_ones_stay_out",
	  test_targets_never_move_and_unreported_ones_stay_out },
	{ "interval/special_targets_are_named_and_stand_alone",
	  test_special_targets_are_named_and_stand_alone },
	{ "interval/rows_sorted_by_cpu_socket_then_as_they_came",
	  test_rows_sorted_by_cpu_socket_then_as_they_came },
	{ NULL, NULL },
};
