// SPDX-License-Identifier: BSD-2-Clause
/*
 * --estimate: the table found for the CPUs of tests/fixtures/cpuinfo (and not for the parts it
 * leaves out), the curve (its points, interpolation, bounds, per vCPU in a VM, the watts
 * given), and the interval's estimate split conserving it, labelled estimated.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimate.h"
#include "fixture.h"
#include "interval.h"
#include "targets.h"
#include "unit.h"

#define CPUINFO "tests/fixtures/cpuinfo"
#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

static const struct estimate_request none = { .tdp_w = -1, .idle_w = -1, .max_w = -1 };

static const struct cpu_part *find_fixture(const char *name, struct cpu_ident *id)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", CPUINFO, name);
	CHECK_EQ_U64(estimate_read_cpuinfo(path, id), 0);
	return estimate_find(id);
}

static void test_table_fixtures(void)
{
	static const struct {
		const char *fixture, *name;
		double tdp;
		int cores, threads;
	} found[] = {
		{ "amd-epyc-milan", "AMD EPYC 7763", 280, 64, 128 },
		{ "intel-skylake-x", "Intel Xeon Gold 6132", 140, 14, 28 },
		{ "intel-kaby-lake-r", "Intel Core i7-8550U", 15, 4, 8 },
		{ "arm64-neoverse-n1", "Ampere Altra Q80-30 (Neoverse N1)", 210, 80, 80 },
	};
	static const char *const missing[] = { "amd-opteron-fam15", "centaur-zhaoxin" };
	struct cpu_ident id;

	for (size_t i = 0; i < sizeof(found) / sizeof(*found); i++) {
		const struct cpu_part *p = find_fixture(found[i].fixture, &id);

		CHECK(p != NULL);
		if (!p)
			continue;
		CHECK_STR(p->name, found[i].name);
		CHECK(NEAR(p->tdp_w, found[i].tdp));
		CHECK_EQ_U64(p->cores, found[i].cores);
		CHECK_EQ_U64(p->threads, found[i].threads);
		CHECK(!id.hypervisor);
	}
	for (size_t i = 0; i < sizeof(missing) / sizeof(*missing); i++) {
		CHECK(find_fixture(missing[i], &id) == NULL);
		CHECK(id.model[0] != '\0');
	}
	/* arm64 has no model name: the core's implementer and part. */
	find_fixture("arm64-neoverse-n1", &id);
	CHECK_EQ_U64(id.implementer, 0x41);
	CHECK_EQ_U64(id.part, 0xd0c);
}

/* Model names as clouds and vendors spell them: case, (R), a version word. */
static void test_table_matching(void)
{
	static const struct {
		const char *model, *name; /* NULL: not in the table */
	} cases[] = {
		{ "INTEL(R) XEON(R) PLATINUM 8592+", "Intel Xeon Platinum 8592+" },
		{ "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "Intel Xeon E5-2680 v4" },
		{ "Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz", "Intel Xeon E5-2680 v3" },
		{ "Intel(R) Xeon(R) CPU E5-2680 0 @ 2.70GHz", NULL },
		{ "AMD EPYC 9654P 96-Core Processor", "AMD EPYC 9654P" },
		{ "AMD EPYC 9654 96-Core Processor", "AMD EPYC 9654" },
		{ "AMD Ryzen 9 7950X 16-Core Processor", "AMD Ryzen 7950X" },
		{ "AMD Ryzen 9 7950X3D 16-Core Processor", "AMD Ryzen 7950X3D" },
		{ "Intel(R) Xeon(R) 6780E", "Intel Xeon 6780E" },
		{ "AMD EPYC", NULL },
		{ "AMD EPYC 7R13 Processor", NULL }, /* a cloud part with no published TDP */
		{ "", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct cpu_ident id = { 0 };
		const struct cpu_part *p;

		snprintf(id.model, sizeof(id.model), "%s", cases[i].model);
		p = estimate_find(&id);
		if (cases[i].name) {
			CHECK(p != NULL);
			if (p)
				CHECK_STR(p->name, cases[i].name);
		} else if (p) {
			printf("    '%s' found as '%s', expected nothing\n", cases[i].model,
			       p->name);
			unit_failed_checks++;
		}
	}
}

/* Every part of the table is whole: positive TDP, threads no fewer than cores, a source. */
static void test_table_rows(void)
{
	CHECK(cpu_parts_n >= 300);
	for (size_t i = 0; i < cpu_parts_n; i++) {
		const struct cpu_part *p = &cpu_parts[i];

		CHECK(p->tdp_w > 0 && p->tdp_w <= 1000);
		CHECK(p->cores >= 1 && p->threads >= p->cores);
		CHECK(p->source && p->source[0]);
	}
}

static void test_curve(void)
{
	struct cpu_ident id = { .model = "anything" };
	struct estimate_request req = none;
	struct estimate e;
	char why[256];

	req.tdp_w = 100;
	CHECK_EQ_U64(estimate_setup(&e, &id, &req, 2, why, sizeof(why)), 0);
	CHECK(!e.per_cpu);
	CHECK(NEAR(estimate_power(&e, 0), 12));
	CHECK(NEAR(estimate_power(&e, 0.1), 32));
	CHECK(NEAR(estimate_power(&e, 0.5), 75));
	CHECK(NEAR(estimate_power(&e, 1), 102));
	/* Linear between the points, flat outside [0, 1]. */
	CHECK(NEAR(estimate_power(&e, 0.05), 22));
	CHECK(NEAR(estimate_power(&e, 0.3), 53.5));
	CHECK(NEAR(estimate_power(&e, 0.75), 88.5));
	CHECK(NEAR(estimate_power(&e, -1), 12));
	CHECK(NEAR(estimate_power(&e, 7), 102));
	CHECK(NEAR(estimate_socket_power(&e, 1, 64), 102));
	CHECK_HAS(e.method, "--tdp 100 W");
	/* Rising all the way. */
	for (double u = 0; u < 1; u += 0.01)
		CHECK(estimate_power(&e, u + 0.01) > estimate_power(&e, u));
}

static void test_curve_table_and_vm(void)
{
	struct estimate e;
	struct cpu_ident id;
	char why[256];

	/* Bare metal: the part's TDP. */
	find_fixture("amd-epyc-milan", &id);
	CHECK_EQ_U64(estimate_setup(&e, &id, &none, 128, why, sizeof(why)), 0);
	CHECK(!e.per_cpu);
	CHECK(NEAR(estimate_power(&e, 1), 1.02 * 280));
	CHECK_HAS(e.method, "AMD EPYC 7763 TDP 280 W");
	/* The same part in a VM: each vCPU its share, TDP / threads. */
	id.hypervisor = true;
	CHECK_EQ_U64(estimate_setup(&e, &id, &none, 4, why, sizeof(why)), 0);
	CHECK(e.per_cpu);
	CHECK(NEAR(estimate_power(&e, 0), 0.12 * 280 / 128));
	CHECK(NEAR(estimate_socket_power(&e, 1, 4), 4 * 1.02 * 280 / 128));
	CHECK_HAS(e.method, "per vCPU share of AMD EPYC 7763 TDP");
	/* A VM whose part is unknown: Cloud Carbon Footprint's figures, linear. */
	memset(&id, 0, sizeof(id));
	snprintf(id.model, sizeof(id.model), "AMD EPYC");
	id.hypervisor = true;
	CHECK_EQ_U64(estimate_setup(&e, &id, &none, 2, why, sizeof(why)), 0);
	CHECK(e.per_cpu);
	CHECK(NEAR(estimate_socket_power(&e, 0, 2), 2 * BM_CCF_MIN_W));
	CHECK(NEAR(estimate_socket_power(&e, 1, 2), 2 * BM_CCF_MAX_W));
	CHECK(NEAR(estimate_power(&e, 0.25), BM_CCF_MIN_W + 0.25 * (BM_CCF_MAX_W - BM_CCF_MIN_W)));
	CHECK_HAS(e.method, "Cloud Carbon Footprint average per vCPU");
	/* Arm: a core's share of the SoC. */
	find_fixture("arm64-neoverse-n1", &id);
	CHECK_EQ_U64(estimate_setup(&e, &id, &none, 80, why, sizeof(why)), 0);
	CHECK(e.per_cpu);
	CHECK(NEAR(estimate_socket_power(&e, 1, 80), 1.02 * 210));
}

static void test_curve_given_and_errors(void)
{
	struct estimate_request req = none;
	struct cpu_ident id;
	struct estimate e;
	char why[256] = "";

	/* Not in the table on bare metal, nothing given: said, CPU shares only. */
	find_fixture("centaur-zhaoxin", &id);
	CHECK_EQ_U64(-estimate_setup(&e, &id, &req, 4, why, sizeof(why)), ENOENT);
	CHECK_HAS(why, "CPU 'ZHAOXIN KaiXian KX-U6780A@2.7GHz' is not in bpfmeter's table");
	CHECK_HAS(why, "give --tdp W");
	CHECK_HAS(why, "CPU shares only");
	/* Idle and max given: the curve's shape between them. */
	req.idle_w = 20;
	req.max_w = 200;
	CHECK_EQ_U64(estimate_setup(&e, &id, &req, 4, why, sizeof(why)), 0);
	CHECK(NEAR(estimate_power(&e, 0), 20));
	CHECK(NEAR(estimate_power(&e, 1), 200));
	CHECK(NEAR(estimate_power(&e, 0.5), 20 + 180 * (0.75 - 0.12) / 0.9));
	/* A TDP and a max: the TDP's idle, the max given. */
	req = none;
	req.tdp_w = 100;
	req.max_w = 150;
	CHECK_EQ_U64(estimate_setup(&e, &id, &req, 4, why, sizeof(why)), 0);
	CHECK(NEAR(estimate_power(&e, 0), 12));
	CHECK(NEAR(estimate_power(&e, 1), 150));
	/* An idle above the curve's max makes no curve. */
	req = none;
	req.tdp_w = 100;
	req.idle_w = 300;
	CHECK_EQ_U64(-estimate_setup(&e, &id, &req, 4, why, sizeof(why)), EINVAL);
	CHECK_HAS(why, "--estimate-idle 300 W is not below");
	/* Per vCPU: the watts given are the socket's. */
	memset(&id, 0, sizeof(id));
	id.hypervisor = true;
	req = none;
	req.idle_w = 4;
	req.max_w = 10;
	CHECK_EQ_U64(estimate_setup(&e, &id, &req, 2, why, sizeof(why)), 0);
	CHECK(NEAR(estimate_socket_power(&e, 0, 2), 4));
	CHECK(NEAR(estimate_socket_power(&e, 1, 2), 10));
}

/* One interval estimated: the package joules of the curve, split conserving them. */
static void test_interval_conserves(void)
{
	static const int socket_cpus[1] = { 2 };
	struct estimate e;
	struct estimate_request req = none;
	struct cpu_ident id = { .model = "x" };
	struct interval_config cfg = {
		.nr_sockets = 1,
		.features = { .nfeat = 1, .idx = { BM_FEATURE_CPU }, .name = { "cpu" } },
		.cycles_idx = -1,
		.ref_cycles_idx = -1,
		.model = model_config_default,
		.estimate = &e,
	};
	struct targets ts;
	struct interval iv;
	struct bm_interval out;
	struct bm_row rows[3];
	struct interval_inputs in = { .ts_ns = 1000000000, .dt = 2.0, .carbon_g_per_kwh = -1 };
	char why[256];
	double sum = 0, expect;

	req.tdp_w = 100;
	CHECK_EQ_U64(estimate_setup(&e, &id, &req, 2, why, sizeof(why)), 0);
	targets_init(&ts, BM_TARGET_CGROUP, GROUP_BY_CGROUP, 0);
	interval_init(&iv, &cfg);
	/* 2 CPUs x 2 s: 1 s and 0.5 s busy, the rest idle: u = 0.375. */
	memset(rows, 0, sizeof(rows));
	rows[0] = (struct bm_row){ .target = targets_get(&ts, 100, NULL), .s.cpu_ns = 1000000000 };
	rows[1] = (struct bm_row){ .target = targets_get(&ts, 101, NULL), .s.cpu_ns = 500000000 };
	rows[2] = (struct bm_row){ .target = targets_get(&ts, BM_KEY_IDLE, NULL),
				   .s.cpu_ns = 2500000000 };
	targets_set_name(&ts, rows[0].target, "/a");
	targets_set_name(&ts, rows[1].target, "/b");
	in.rows = rows;
	in.nrows = 3;
	in.socket_cpus = socket_cpus;
	interval_run(&iv, &in, &out);
	expect = estimate_power(&e, 0.375) * 2.0;
	CHECK(out.estimated);
	CHECK(out.models == NULL);
	CHECK_EQ_U64(out.nenergy, 1);
	CHECK(NEAR(out.energy[0].joules, expect));
	CHECK_EQ_U64(out.energy[0].domain, BM_DOMAIN_PACKAGE);
	for (size_t i = 0; i < out.n; i++) {
		const struct bm_row *r = &out.rows[i];

		sum += r->s.energy_j[BM_DOMAIN_PACKAGE];
		CHECK(r->estimated & (1u << BM_DOMAIN_PACKAGE));
		CHECK_STR(report_estimate_name(r, BM_DOMAIN_PACKAGE), "estimated");
		/* The curve's idle power to idle, the rest by CPU time. */
		if (r->target->kind == BM_TARGET_IDLE)
			CHECK(NEAR(r->s.energy_j[BM_DOMAIN_PACKAGE], 12 * 2.0));
		else if (r->target->id == 100)
			CHECK(NEAR(r->s.energy_j[BM_DOMAIN_PACKAGE], (expect - 24) * 2 / 3));
	}
	CHECK(NEAR(sum, expect));
	/* A later interval at full load: the maximum, no more. */
	rows[0].s.cpu_ns = 4000000000;
	in.nrows = 1;
	interval_run(&iv, &in, &out);
	CHECK(NEAR(out.energy[0].joules, 102 * 2.0));
	CHECK(NEAR(out.rows[0].s.energy_j[BM_DOMAIN_PACKAGE], 102 * 2.0));
	interval_free(&iv);
	targets_free(&ts);
}

const struct unit_test estimate_tests[] = {
	{ "estimate/table_fixtures", test_table_fixtures },
	{ "estimate/table_matching", test_table_matching },
	{ "estimate/table_rows", test_table_rows },
	{ "estimate/curve", test_curve },
	{ "estimate/curve_table_and_vm", test_curve_table_and_vm },
	{ "estimate/curve_given_and_errors", test_curve_given_and_errors },
	{ "estimate/interval_conserves", test_interval_conserves },
	{ NULL, NULL },
};
