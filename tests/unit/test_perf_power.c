// SPDX-License-Identifier: BSD-2-Clause
/*
 * The perf power PMU backend: parsing sysfs-like PMU directories (tests/fixtures/perf_power
 * and trees built in /tmp), and perf_power_open()'s failures, which open no event that works.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "energy.h"
#include "fixture.h"
#include "perf_power.h"
#include "topology.h"
#include "util.h"
#include "unit.h"

/* Relative to the repository root, where tests/run.sh runs the unit tests. */
#define FIXTURES "tests/fixtures/perf_power"

/* What every kernel's power PMU gives as the scale: counts are 2^-32 J. */
#define SCALE_2_32 (1.0 / 4294967296.0)

/* An event with its scale and unit, as the kernel lays them out. */
static void put_event(const char *root, const char *name, const char *code)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "events/%s", name);
	fixture_put(root, rel, code);
	snprintf(rel, sizeof(rel), "events/%s.scale", name);
	fixture_put(root, rel, "2.3283064365386962890625e-10\n");
	snprintf(rel, sizeof(rel), "events/%s.unit", name);
	fixture_put(root, rel, "Joules\n");
}

/* A PMU tree in root with one energy-pkg event: a base that tests then break. */
static void put_pmu(const char *root, const char *type, const char *cpumask)
{
	fixture_put(root, "type", type);
	fixture_put(root, "cpumask", cpumask);
	put_event(root, "energy-pkg", "event=0x02\n");
}

/* The CPUs of pmu's cpumask, as a string such as "0,28". */
static const char *cpus_of(const struct perf_power_pmu *pmu)
{
	static char buf[256];
	size_t off = 0;

	buf[0] = '\0';
	for (int cpu = 0; cpu < pmu->nr_cpus && pmu->cpus; cpu++)
		if (pmu->cpus[cpu])
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%d",
						off ? "," : "", cpu);
	return buf;
}

static void test_parse_two_socket_server(void)
{
	struct perf_power_pmu pmu;
	char why[512] = "";

	CHECK_EQ_U64(perf_power_parse(&pmu, FIXTURES "/intel-2s", 56, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ_U64(pmu.type, 33);
	CHECK_EQ_U64(pmu.nr_cpus, 56);
	CHECK_STR(cpus_of(&pmu), "0,28");

	CHECK(pmu.ev[BM_DOMAIN_PACKAGE].present);
	CHECK_STR(pmu.ev[BM_DOMAIN_PACKAGE].name, "energy-pkg");
	CHECK_EQ_U64(pmu.ev[BM_DOMAIN_PACKAGE].config, 0x02);
	CHECK(pmu.ev[BM_DOMAIN_PACKAGE].scale == SCALE_2_32);

	CHECK(pmu.ev[BM_DOMAIN_DRAM].present);
	CHECK_STR(pmu.ev[BM_DOMAIN_DRAM].name, "energy-ram");
	CHECK_EQ_U64(pmu.ev[BM_DOMAIN_DRAM].config, 0x03);
	CHECK(pmu.ev[BM_DOMAIN_DRAM].scale == SCALE_2_32);

	CHECK(!pmu.ev[BM_DOMAIN_CORE].present);
	CHECK(!pmu.ev[BM_DOMAIN_UNCORE].present);
	CHECK(!pmu.ev[BM_DOMAIN_PSYS].present);
	perf_power_pmu_free(&pmu);
	CHECK(pmu.cpus == NULL);
}

static void test_parse_laptop(void)
{
	static const struct {
		enum bm_domain d;
		const char *name;
		uint64_t code;
	} want[] = {
		{ BM_DOMAIN_PACKAGE, "energy-pkg", 0x02 },
		{ BM_DOMAIN_CORE, "energy-cores", 0x01 },
		{ BM_DOMAIN_UNCORE, "energy-gpu", 0x04 },
		{ BM_DOMAIN_PSYS, "energy-psys", 0x05 },
	};
	struct perf_power_pmu pmu;
	char why[512] = "";

	CHECK_EQ_U64(perf_power_parse(&pmu, FIXTURES "/laptop", 8, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ_U64(pmu.type, 14);
	CHECK_STR(cpus_of(&pmu), "0");
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct perf_power_event *ev = &pmu.ev[want[i].d];

		CHECK(ev->present);
		if (!ev->present)
			continue;
		CHECK_STR(ev->name, want[i].name);
		CHECK_EQ_U64(ev->config, want[i].code);
		CHECK(ev->scale == SCALE_2_32);
	}
	CHECK(!pmu.ev[BM_DOMAIN_DRAM].present);
	perf_power_pmu_free(&pmu);
}

static void test_bad_unit(void)
{
	struct perf_power_pmu pmu;
	char why[512] = "";

	CHECK_EQ_U64(perf_power_parse(&pmu, FIXTURES "/bad-unit", 56, why, sizeof(why)),
		     (unsigned long long)-EINVAL);
	CHECK_HAS(why, FIXTURES "/bad-unit/events/energy-ram.unit");
	CHECK_HAS(why, "'Watts', not Joules");
	perf_power_pmu_free(&pmu);
}

static void test_garbage_event(void)
{
	struct perf_power_pmu pmu;
	char why[512] = "";

	CHECK_EQ_U64(perf_power_parse(&pmu, FIXTURES "/bad-event", 8, why, sizeof(why)),
		     (unsigned long long)-EINVAL);
	CHECK_HAS(why, FIXTURES "/bad-event/events/energy-cores");
	CHECK_HAS(why, "'event=0x02,umask=banana' is not event=<code>");
	perf_power_pmu_free(&pmu);
}

/* perf_power_parse on root, expecting err and a why that says want. */
static void expect_parse_error(int line, const char *root, int nr_cpus, int err, const char *want)
{
	struct perf_power_pmu pmu;
	char why[512] = "";
	int ret = perf_power_parse(&pmu, root, nr_cpus, why, sizeof(why));

	if (ret != err || !strstr(why, want)) {
		printf("    line %d: perf_power_parse == %d (%s), expected %d saying \"%s\"\n",
		       line, ret, why, err, want);
		unit_failed_checks++;
	}
	perf_power_pmu_free(&pmu);
}

static void test_parse_errors(void)
{
	char root[64], path[PATH_MAX];

	if (!fixture_mkdtemp(root, sizeof(root), "perf"))
		return;
	put_pmu(root, "33\n", "0,28\n");
	expect_parse_error(__LINE__, root, 56, 0, "");

	/* Not an event code: nothing after event=, another term, plain junk. */
	static const char *const bad_events[] = { "event=\n", "config=0x02\n", "banana\n",
						  "event=0xzz\n", "event=-1\n" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_events); i++) {
		fixture_put(root, "events/energy-pkg", bad_events[i]);
		expect_parse_error(__LINE__, root, 56, -EINVAL, "is not event=<code>");
	}
	fixture_put(root, "events/energy-pkg", "event=0x02\n");

	fixture_put(root, "events/energy-pkg.scale", "0\n");
	expect_parse_error(__LINE__, root, 56, -EINVAL, "energy-pkg.scale: '0' is not a positive");
	fixture_put(root, "events/energy-pkg.scale", "-2.3e-10\n");
	expect_parse_error(__LINE__, root, 56, -EINVAL, "is not a positive number");
	fixture_put(root, "events/energy-pkg.scale", NULL);
	snprintf(path, sizeof(path), "cannot read %s/events/energy-pkg.scale: %s", root,
		 strerror(ENOENT));
	expect_parse_error(__LINE__, root, 56, -ENOENT, path);
	fixture_put(root, "events/energy-pkg.scale", "2.3283064365386962890625e-10\n");

	fixture_put(root, "events/energy-pkg.unit", NULL);
	expect_parse_error(__LINE__, root, 56, -ENOENT, "energy-pkg.unit");
	fixture_put(root, "events/energy-pkg.unit", "mJ\n");
	expect_parse_error(__LINE__, root, 56, -EINVAL, "is 'mJ', not Joules");
	fixture_put(root, "events/energy-pkg.unit", "Joules\n");

	fixture_put(root, "type", "power\n");
	expect_parse_error(__LINE__, root, 56, -EINVAL, "type: 'power' is not a PMU type number");
	fixture_put(root, "type", NULL);
	expect_parse_error(__LINE__, root, 56, -ENOENT, "/type: ");
	fixture_put(root, "type", "33\n");

	/* CPU 28 does not fit in 8 possible CPUs. */
	expect_parse_error(__LINE__, root, 8, -EINVAL, "cpumask: '0,28' is not a list of CPUs");
	fixture_put(root, "cpumask", "\n");
	expect_parse_error(__LINE__, root, 56, -ENODEV, "cpumask lists no CPU");
	fixture_put(root, "cpumask", "0,28\n");

	/* Unknown energy-* events are skipped; with nothing else there is nothing to measure. */
	put_event(root, "energy-foo", "event=0x09\n");
	expect_parse_error(__LINE__, root, 56, 0, "");
	fixture_put(root, "events/energy-pkg", NULL);
	expect_parse_error(__LINE__, root, 56, -ENODEV, "no energy-* event under");
	fixture_rmtree(root);
}

static void test_open_missing_root(void)
{
	struct energy_source s;
	struct bm_topology t;
	char why[512] = "";
	static const int sock[] = { 0, 0 };

	fixture_topology(&t, 2, sock, NULL, NULL);
	memset(&s, 0, sizeof(s));
	CHECK_EQ_U64(perf_power_open(&s, "/nonexistent/bm-test/power", &t, why, sizeof(why)),
		     (unsigned long long)-ENOENT);
	CHECK_STR(why, "no perf power PMU (/nonexistent/bm-test/power missing)");
	CHECK_EQ_U64(s.n, 0);
	energy_close(&s);
	topology_free(&t);
}

static void test_open_failure_names_event_and_cpu(void)
{
	static const int sock[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
	struct energy_source s;
	struct bm_topology t;
	char root[64], why[512] = "";
	int ret;

	if (!fixture_mkdtemp(root, sizeof(root), "perf"))
		return;
	/* No PMU has this type: perf_event_open fails (ENOENT, or EACCES when not allowed). */
	put_pmu(root, "99999\n", "0,4\n");
	fixture_topology(&t, 8, sock, NULL, NULL);
	memset(&s, 0, sizeof(s));
	ret = perf_power_open(&s, root, &t, why, sizeof(why));
	CHECK(ret < 0);
	CHECK_HAS(why, "cannot open perf event power/energy-pkg on cpu 0: ");
	CHECK_HAS(why, strerror(-ret));
	if (ret == -EACCES || ret == -EPERM)
		CHECK_HAS(why, "needs root or CAP_PERFMON");
	CHECK_EQ_U64(s.n, 0);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

static void test_open_skips_offline_cpus(void)
{
	static const int sock[] = { 0, 0, 0, 0 };
	struct energy_source s;
	struct bm_topology t;
	char root[64], want[256], why[512] = "";

	if (!fixture_mkdtemp(root, sizeof(root), "perf"))
		return;
	/* Its only package CPU is offline: nothing is opened, and why says so. */
	put_pmu(root, "99999\n", "2\n");
	fixture_topology(&t, 4, sock, NULL, NULL);
	t.online[2] = false;
	t.socket[2] = -1;
	memset(&s, 0, sizeof(s));
	CHECK_EQ_U64(perf_power_open(&s, root, &t, why, sizeof(why)), (unsigned long long)-ENODEV);
	snprintf(want, sizeof(want), "no CPU of %s/cpumask is online", root);
	CHECK_STR(why, want);
	CHECK_EQ_U64(s.n, 0);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

/* The read op on a file standing in for a perf fd: 8 bytes are a count, fewer are an error. */
static void test_read_op(void)
{
	struct energy_counter c = { .fd = -1 };
	char root[64], path[PATH_MAX];
	uint64_t v = 0x123456789abcdef0ULL, raw = 0;
	int fd;

	if (!fixture_mkdtemp(root, sizeof(root), "perf"))
		return;
	snprintf(path, sizeof(path), "%s/count", root);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ_U64(pwrite(fd, &v, sizeof(v), 0), sizeof(v));
		CHECK_EQ_U64(pwrite(fd, &v, 4, 8), 4);
		CHECK_EQ_U64(lseek(fd, 0, SEEK_SET), 0);
		c.fd = fd;
		CHECK_EQ_U64(perf_power_ops.read(NULL, &c, &raw), 0);
		CHECK_EQ_U64(raw, 0x123456789abcdef0ULL);
		/* Only 4 bytes left. */
		CHECK_EQ_U64(perf_power_ops.read(NULL, &c, &raw), (unsigned long long)-EIO);
		close(fd);
		CHECK_EQ_U64(perf_power_ops.read(NULL, &c, &raw), (unsigned long long)-EBADF);
	}
	CHECK_STR(perf_power_ops.name, "perf");
	fixture_rmtree(root);
}

const struct unit_test perf_power_tests[] = {
	{ "perf_power/parse_two_socket_server", test_parse_two_socket_server },
	{ "perf_power/parse_laptop", test_parse_laptop },
	{ "perf_power/bad_unit", test_bad_unit },
	{ "perf_power/garbage_event", test_garbage_event },
	{ "perf_power/parse_errors", test_parse_errors },
	{ "perf_power/open_missing_root", test_open_missing_root },
	{ "perf_power/open_failure_names_event_and_cpu", test_open_failure_names_event_and_cpu },
	{ "perf_power/open_skips_offline_cpus", test_open_skips_offline_cpus },
	{ "perf_power/read_op", test_read_op },
	{ NULL, NULL },
};
