// SPDX-License-Identifier: BSD-2-Clause
/*
 * The backend-independent energy logic: wraparound, polls and takes, impossible readings,
 * counters that stop answering; and the provisional split, which must conserve energy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "energy.h"
#include "fixture.h"
#include "report.h"
#include "unit.h"

static void test_wrap_delta(void)
{
	/* 32-bit MSR counters. */
	CHECK_EQ_U64(energy_wrap_delta(0xFFFFFF00u, 0x100, 1ULL << 32), 0x200);
	CHECK_EQ_U64(energy_wrap_delta(5, 9, 1ULL << 32), 4);
	/* powercap: energy_uj wraps to 0 after max_energy_range_uj. */
	CHECK_EQ_U64(energy_wrap_delta(262143328000ULL, 500, 262143328850ULL + 1), 851 + 500);
	/* 64-bit perf counts. */
	CHECK_EQ_U64(energy_wrap_delta(~0ULL - 1, 3, 0), 5);
	CHECK_EQ_U64(energy_wrap_delta(7, 7, 1000), 0);
}

/* A fake backend: raw values come from an array the test sets. */
static uint64_t fake_raw[4];
static int fake_err[4];

static int fake_read(struct energy_source *s, struct energy_counter *c, uint64_t *raw)
{
	int i = (int)(c - s->c);

	if (fake_err[i])
		return fake_err[i];
	*raw = fake_raw[i];
	return 0;
}

static const struct energy_ops fake_ops = { .name = "fake", .read = fake_read };

/* Two sockets; socket 0's package has two dies (counters 0 and 1), socket 1 package + dram. */
static void fake_source(struct energy_source *s)
{
	memset(s, 0, sizeof(*s));
	memset(fake_raw, 0, sizeof(fake_raw));
	memset(fake_err, 0, sizeof(fake_err));
	s->ops = &fake_ops;
	s->nr_sockets = 2;
	energy_add_counter(s, 0, BM_DOMAIN_PACKAGE, 1e-6, 1000001, "die %d", 0);
	energy_add_counter(s, 0, BM_DOMAIN_PACKAGE, 1e-6, 1000001, "die %d", 1);
	energy_add_counter(s, 1, BM_DOMAIN_PACKAGE, 1e-3, 1ULL << 32, "pkg1");
	energy_add_counter(s, 1, BM_DOMAIN_DRAM, 1e-3, 1ULL << 32, "dram1");
}

static double reading(const struct energy_reading *r, int n, int socket, enum bm_domain d)
{
	for (int i = 0; i < n; i++)
		if (r[i].socket == socket && r[i].domain == d)
			return r[i].joules;
	return -1;
}

static void test_poll_take_sums_dies_and_wraps(void)
{
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	int n;

	fake_source(&s);
	fake_raw[0] = 999000; /* wraps below */
	fake_raw[1] = 10;
	fake_raw[2] = 0xFFFFFFF0u;
	fake_raw[3] = 100;
	energy_poll(&s, 10.0); /* primes: no energy yet, and no reading either */
	n = energy_take(&s, out);
	CHECK(n == 0);

	fake_raw[0] = 1000; /* 999000 -> 1000000 -> 0 -> 1000: 2001 uJ */
	fake_raw[1] = 2010; /* 2000 uJ */
	fake_raw[2] = 0x10; /* 0x20 mJ across the 32-bit wrap */
	fake_raw[3] = 150;
	energy_poll(&s, 11.0);
	/* A second poll in the same interval adds up. */
	fake_raw[3] = 160;
	energy_poll(&s, 12.0);
	n = energy_take(&s, out);
	CHECK(n == 3);
	CHECK(fabs(reading(out, n, 0, BM_DOMAIN_PACKAGE) - 4001e-6) < 1e-12);
	CHECK(fabs(reading(out, n, 1, BM_DOMAIN_PACKAGE) - 0x20 * 1e-3) < 1e-12);
	CHECK(fabs(reading(out, n, 1, BM_DOMAIN_DRAM) - 60e-3) < 1e-12);
	/* Taken, and nothing advanced since: no reading, rather than a measured 0. */
	n = energy_take(&s, out);
	CHECK(n == 0);
	energy_close(&s);
}

static void test_impossible_reading_dropped_and_counted(void)
{
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	int n;

	fake_source(&s);
	energy_poll(&s, 0.0);
	/* 2^31 mJ = 2.1 MJ in one second: a reset or a glitch, not power. */
	fake_raw[2] = 1u << 31;
	fake_raw[3] = 5000; /* 5 J: fine */
	energy_poll(&s, 1.0);
	n = energy_take(&s, out);
	CHECK_EQ_U64(s.dropped, 1);
	/* Dropped: no reading of the domain this interval, rather than a measured 0 J. */
	CHECK(reading(out, n, 1, BM_DOMAIN_PACKAGE) == -1);
	CHECK(fabs(reading(out, n, 1, BM_DOMAIN_DRAM) - 5.0) < 1e-9);
	/* The counter goes on from the new value. */
	fake_raw[2] = (1u << 31) + 1000;
	energy_poll(&s, 2.0);
	n = energy_take(&s, out);
	CHECK(fabs(reading(out, n, 1, BM_DOMAIN_PACKAGE) - 1.0) < 1e-9);
	energy_close(&s);
}

/*
 * A counter written in steps, 20 J once a second (a host's --export-powercap tree seen from its
 * VM, or the simulator): polls a millisecond either side of a step see 20 J in 1 ms, which
 * came over the second since the counter last moved. Not dropped: every joule is taken.
 */
static void test_stepped_counter_not_dropped(void)
{
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	double total = 0;
	int n;

	fake_source(&s);
	energy_poll(&s, 0.0);
	for (int step = 1; step <= 5; step++) {
		energy_poll(&s, step - 0.001);
		fake_raw[2] += 20000; /* mJ */
		fake_raw[3] += 2000;
		energy_poll(&s, step + 0.0);
		n = energy_take(&s, out);
		total += reading(out, n, 1, BM_DOMAIN_PACKAGE);
	}
	CHECK_EQ_U64(s.dropped, 0);
	CHECK(fabs(total - 100.0) < 1e-9);
	/* Still a glitch where the step is past what the whole second could make. */
	energy_poll(&s, 5.999);
	fake_raw[2] += 2500000; /* 2.5 kJ in a second */
	energy_poll(&s, 6.0);
	energy_take(&s, out);
	CHECK_EQ_U64(s.dropped, 1);
	energy_close(&s);
}

/*
 * A counter going backwards by 1 J every 0.1 s: every reading is dropped, and no interval has
 * a reading of its domain (not a 0 J one); the other domains go on. A dropped reading of one
 * die leaves its package out of that interval, whose sum would lack it.
 */
static void test_backwards_counter_has_no_reading(void)
{
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	double t = 0;
	int n;

	fake_source(&s);
	fake_raw[0] = fake_raw[1] = 500000;
	fake_raw[2] = 1000000;
	energy_poll(&s, t);
	energy_take(&s, out);
	for (int iv = 0; iv < 5; iv++) {
		for (int p = 0; p < 5; p++) {
			t += 0.1;
			fake_raw[0] += 1000;
			fake_raw[1] += 1000;
			fake_raw[2] -= 1000; /* 1 J back, in mJ */
			fake_raw[3] += 100;
			energy_poll(&s, t);
		}
		n = energy_take(&s, out);
		CHECK(n == 2);
		CHECK(reading(out, n, 1, BM_DOMAIN_PACKAGE) == -1);
		CHECK(fabs(reading(out, n, 1, BM_DOMAIN_DRAM) - 0.5) < 1e-9);
		CHECK(fabs(reading(out, n, 0, BM_DOMAIN_PACKAGE) - 0.01) < 1e-9);
	}
	CHECK_EQ_U64(s.dropped, 25);
	CHECK(!s.c[2].dead);

	/* One die back by 10 uJ (a 1 J wrap in 0.1 ms): no package reading that interval. */
	fake_raw[0] += 1000;
	fake_raw[1] -= 10;
	energy_poll(&s, t += 0.0001);
	n = energy_take(&s, out);
	CHECK(reading(out, n, 0, BM_DOMAIN_PACKAGE) == -1);
	fake_raw[0] += 1000;
	fake_raw[1] += 1000;
	energy_poll(&s, t += 0.5);
	n = energy_take(&s, out);
	CHECK(fabs(reading(out, n, 0, BM_DOMAIN_PACKAGE) - 0.002) < 1e-9);
	energy_close(&s);
}

static void test_dead_counter_leaves_domain_out(void)
{
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	int n;

	fake_source(&s);
	energy_poll(&s, 0.0);
	fake_raw[0] = 100;
	fake_raw[1] = 100;
	fake_raw[2] = fake_raw[3] = 100;
	fake_err[1] = -ENOENT; /* one die's zone disappeared */
	energy_poll(&s, 1.0);
	n = energy_take(&s, out);
	/* Half a package would be a wrong number: the package of socket 0 is not reported. */
	CHECK(n == 2);
	CHECK(reading(out, n, 0, BM_DOMAIN_PACKAGE) < 0);
	CHECK(fabs(reading(out, n, 1, BM_DOMAIN_PACKAGE) - 0.1) < 1e-12);
	CHECK_EQ_U64(energy_domains_left(&s), 2);
	energy_close(&s);
}

/* Every counter advances by units at now. */
static void advance_all(struct energy_source *s, uint64_t units, double now)
{
	for (int i = 0; i < s->n; i++)
		fake_raw[i] += units;
	energy_poll(s, now);
}

static void test_never_advancing_counter_dropped_after_grace(void)
{
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	int n;

	fake_source(&s);
	energy_poll(&s, 100.0);
	/* dram1 (counter 3) reads the same value for ever, as a VM's energy-psys does. */
	for (int i = 0; i < 3; i++)
		fake_raw[i] += 1000;
	energy_poll(&s, 101.0);
	n = energy_take(&s, out);
	/* In the grace period: withheld, not a measured 0; the rest measured. */
	CHECK(n == 2);
	CHECK(reading(out, n, 1, BM_DOMAIN_DRAM) < 0);
	CHECK(fabs(reading(out, n, 1, BM_DOMAIN_PACKAGE) - 1.0) < 1e-12);
	CHECK(!s.c[3].dead);
	for (int i = 0; i < 3; i++)
		fake_raw[i] += 1000;
	energy_poll(&s, 100.0 + BM_ENERGY_GRACE_S - 0.01);
	CHECK(!s.c[3].dead);
	for (int i = 0; i < 3; i++)
		fake_raw[i] += 1000;
	energy_poll(&s, 100.0 + BM_ENERGY_GRACE_S);
	CHECK(s.c[3].dead);
	CHECK_STR(s.dropped_why, "dram1 never advanced in 3 s: this machine's RAPL is not counting "
				 "(common in VMs)");
	CHECK_EQ_U64(energy_domains_left(&s), 2);
	n = energy_take(&s, out);
	CHECK(n == 2);
	CHECK(reading(out, n, 1, BM_DOMAIN_DRAM) < 0);
	energy_close(&s);
}

static void test_stopped_counter_dropped_after_stall(void)
{
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	double t = 0;
	int n;

	fake_source(&s);
	s.stall_s = 5;
	energy_poll(&s, t);
	for (t = 1; t <= 10; t++)
		advance_all(&s, 10, t);
	CHECK(energy_take(&s, out) == 3);
	/*
	 * Socket 0's second die stops at t = 10: until the stall shows, a die standing still
	 * adds 0 (as an idle one may), and the package is the first die's.
	 */
	for (t = 11; t < 15; t++) {
		fake_raw[0] += 10;
		fake_raw[2] += 10;
		fake_raw[3] += 10;
		energy_poll(&s, t);
		n = energy_take(&s, out);
		CHECK(n == 3);
		CHECK(fabs(reading(out, n, 0, BM_DOMAIN_PACKAGE) - 10e-6) < 1e-12);
		CHECK(!s.c[1].dead);
	}
	energy_poll(&s, 15);
	CHECK(s.c[1].dead);
	CHECK_STR(s.dropped_why, "die 1 stopped advancing 5 s ago: it no longer counts");
	CHECK_EQ_U64(energy_domains_left(&s), 2);
	/* Once dropped, never back, even where it moves again. */
	advance_all(&s, 10, 16);
	n = energy_take(&s, out);
	CHECK(reading(out, n, 0, BM_DOMAIN_PACKAGE) < 0);
	CHECK(fabs(reading(out, n, 1, BM_DOMAIN_DRAM) - 10e-3) < 1e-12);
	/* Every counter stopped: nothing left. */
	for (t = 17; t < 30; t++)
		energy_poll(&s, t);
	CHECK_EQ_U64(energy_domains_left(&s), 0);
	energy_close(&s);
}

static void test_parse_kind(void)
{
	enum energy_kind k;

	CHECK(!energy_parse_kind("msr", &k) && k == ENERGY_MSR);
	CHECK(!energy_parse_kind("none", &k) && k == ENERGY_NONE);
	CHECK(energy_parse_kind("rapl", &k) == -EINVAL);
	CHECK(energy_parse_kind("", &k) == -EINVAL);
	CHECK_STR(energy_kind_name(ENERGY_POWERCAP), "powercap");
}

/*
 * Found nowhere, auto: on x86 every backend says why; on another machine (arm64) only
 * powercap is tried, the RAPL-only ones are named as such (no "modprobe msr" from the MSR
 * backend, no "not an x86 CPU"), and hwmon, where Arm parts may give energy, is named.
 */
static void test_auto_names_what_the_machine_has(void)
{
	static const int socket[1] = { 0 };
	struct energy_paths paths;
	struct bm_topology topo;
	struct energy_source s;
	char root[64], dir[4][128], why[1024], cpuinfo[128];

	if (!fixture_mkdtemp(root, sizeof(root), "energy-auto"))
		return;
	fixture_topology(&topo, 1, socket, NULL, NULL);
	snprintf(dir[0], sizeof(dir[0]), "%s/powercap", root);
	snprintf(dir[1], sizeof(dir[1]), "%s/power", root);
	snprintf(dir[2], sizeof(dir[2]), "%s/cpu", root);
	fixture_put(root, "cpuinfo", "processor\t: 0\nBogoMIPS\t: 125.00\nCPU part\t: 0x051\n");
	snprintf(cpuinfo, sizeof(cpuinfo), "%s/cpuinfo", root);
	paths = (struct energy_paths){
		.powercap = dir[0], .perf_power = dir[1], .msr_dev = dir[2], .cpuinfo = cpuinfo
	};

	paths.machine = "aarch64";
	CHECK(energy_open(&s, ENERGY_AUTO, &paths, &topo, why, sizeof(why)) < 0);
	CHECK_HAS(why, "aarch64 has no RAPL");
	CHECK_HAS(why, "powercap: no powercap tree at ");
	CHECK_HAS(why, "hwmon");
	CHECK(!strstr(why, "msr:") && !strstr(why, "perf:") && !strstr(why, "x86 CPU"));

	paths.machine = "x86_64";
	CHECK(energy_open(&s, ENERGY_AUTO, &paths, &topo, why, sizeof(why)) < 0);
	CHECK_HAS(why, "powercap: ");
	CHECK_HAS(why, "; perf: ");
	CHECK_HAS(why, "; msr: no vendor_id");
	CHECK(!strstr(why, "hwmon") && !strstr(why, "has no RAPL"));

	/* A source named on purpose is tried wherever: its own reason. */
	paths.machine = "aarch64";
	CHECK(energy_open(&s, ENERGY_MSR, &paths, &topo, why, sizeof(why)) < 0);
	CHECK_HAS(why, "msr: no vendor_id");
	CHECK(!strstr(why, "hwmon"));

	CHECK(energy_machine_is_x86("x86_64") && energy_machine_is_x86("i686"));
	CHECK(!energy_machine_is_x86("aarch64") && !energy_machine_is_x86("riscv64"));
	CHECK(!energy_machine_is_x86("i"));
	topology_free(&topo);
	fixture_rmtree(root);
}

static void test_split_conserves_energy(void)
{
	struct bm_target idle = { .id = BM_KEY_IDLE, .kind = BM_TARGET_IDLE, .name = "idle" };
	struct bm_target a = { .id = 1, .kind = BM_TARGET_CGROUP, .name = "/a" };
	struct bm_target b = { .id = 2, .kind = BM_TARGET_CGROUP, .name = "/b" };
	struct bm_row rows[4] = {
		{ .target = &idle, .socket = 0, .s = { .cpu_ns = 700 } },
		{ .target = &a, .socket = 0, .s = { .cpu_ns = 200 } },
		{ .target = &b, .socket = 0, .s = { .cpu_ns = 100 } },
		{ .target = &a, .socket = 1, .s = { .cpu_ns = 50 } },
	};
	const struct energy_reading e[] = {
		{ .socket = 0, .domain = BM_DOMAIN_PACKAGE, .joules = 30.0 },
		{ .socket = 0, .domain = BM_DOMAIN_DRAM, .joules = 9.0 },
	};
	double sum = 0;

	report_split_by_cpu(rows, 4, 2, e, 2);
	for (int i = 0; i < 3; i++)
		sum += rows[i].s.energy_j[BM_DOMAIN_PACKAGE];
	CHECK(fabs(sum - 30.0) < 1e-9);
	CHECK(fabs(rows[1].s.energy_j[BM_DOMAIN_PACKAGE] - 6.0) < 1e-9);
	CHECK(fabs(rows[2].s.energy_j[BM_DOMAIN_DRAM] - 0.9) < 1e-9);
	CHECK(fabs(rows[0].share - 0.7) < 1e-12);
	CHECK(rows[0].domains == ((1u << BM_DOMAIN_PACKAGE) | (1u << BM_DOMAIN_DRAM)));
	/* Socket 1 has no reading: a CPU share, no energy. */
	CHECK(rows[3].domains == 0);
	CHECK(fabs(rows[3].share - 1.0) < 1e-12);
	CHECK(rows[3].s.energy_j[BM_DOMAIN_PACKAGE] == 0);
}

/* Stolen time is another tenant's: no share of the CPU time the energy is split by, no joules. */
static void test_split_gives_steal_no_energy(void)
{
	struct bm_target idle = { .id = BM_KEY_IDLE, .kind = BM_TARGET_IDLE, .name = "idle" };
	struct bm_target steal = { .id = BM_KEY_STEAL, .kind = BM_TARGET_STEAL, .name = "steal" };
	struct bm_target a = { .id = 1, .kind = BM_TARGET_CGROUP, .name = "/a" };
	struct bm_row rows[3] = {
		{ .target = &idle, .socket = 0, .s = { .cpu_ns = 600 } },
		{ .target = &steal, .socket = 0, .s = { .cpu_ns = 500 } },
		{ .target = &a, .socket = 0, .s = { .cpu_ns = 400 } },
	};
	const struct energy_reading e[] = {
		{ .socket = 0, .domain = BM_DOMAIN_PACKAGE, .joules = 10.0 },
	};

	report_split_by_cpu(rows, 3, 1, e, 1);
	CHECK(rows[1].share == 0);
	CHECK(rows[1].s.energy_j[BM_DOMAIN_PACKAGE] == 0);
	CHECK(fabs(rows[0].s.energy_j[BM_DOMAIN_PACKAGE] - 6.0) < 1e-9);
	CHECK(fabs(rows[2].s.energy_j[BM_DOMAIN_PACKAGE] - 4.0) < 1e-9);
	CHECK(rows[1].s.cpu_ns == 500);
}

const struct unit_test energy_tests[] = {
	{ "energy/wrap_delta", test_wrap_delta },
	{ "energy/poll_take_sums_dies_and_wraps", test_poll_take_sums_dies_and_wraps },
	{ "energy/impossible_reading_dropped_and_counted",
	  test_impossible_reading_dropped_and_counted },
	{ "energy/stepped_counter_not_dropped", test_stepped_counter_not_dropped },
	{ "energy/backwards_counter_has_no_reading", test_backwards_counter_has_no_reading },
	{ "energy/dead_counter_leaves_domain_out", test_dead_counter_leaves_domain_out },
	{ "energy/never_advancing_counter_dropped_after_grace",
	  test_never_advancing_counter_dropped_after_grace },
	{ "energy/stopped_counter_dropped_after_stall", test_stopped_counter_dropped_after_stall },
	{ "energy/parse_kind", test_parse_kind },
	{ "energy/auto_names_what_the_machine_has", test_auto_names_what_the_machine_has },
	{ "energy/split_conserves_energy", test_split_conserves_energy },
	{ "energy/split_gives_steal_no_energy", test_split_gives_steal_no_energy },
	{ NULL, NULL },
};
