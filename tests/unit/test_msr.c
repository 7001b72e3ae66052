// SPDX-License-Identifier: BSD-2-Clause
/*
 * The MSR backend: unit decoding and model checks on values real machines report, cpuinfo
 * excerpts (tests/fixtures/cpuinfo), and msr_open + energy_poll/energy_take end to end on
 * fake /dev/cpu/N/msr files: sparse regular files holding 8-byte values at the MSR offsets.
 * An MSR past the end of its file reads short, as a missing MSR fails with EIO.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "energy.h"
#include "fixture.h"
#include "msr.h"
#include "topology.h"
#include "util.h"
#include "unit.h"

/* Relative to the repository root, where tests/run.sh runs the unit tests. */
#define CPUINFO "tests/fixtures/cpuinfo"

/* MSR_RAPL_POWER_UNIT of a Skylake-X: power 1/8 W, energy 2^-14 J (61.035 uJ), time 2^-10 s. */
#define INTEL_POWER_UNIT 0x000a0e03ULL
/* MSR_AMD_RAPL_POWER_UNIT of a Zen 2/3 EPYC: energy 2^-16 J (15.259 uJ). */
#define AMD_POWER_UNIT 0x000a1003ULL

/* root/N/msr, created empty where missing; returns an fd to write it or -1. */
static int dev_open(const char *root, int cpu)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%d", root, cpu);
	if (mkdir(path, 0755) && errno != EEXIST)
		printf("    mkdir %s: %s\n", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%d/msr", root, cpu);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		printf("    cannot create %s: %s\n", path, strerror(errno));
		unit_failed_checks++;
	}
	return fd;
}

/* The value of an MSR of a fake CPU: 8 bytes at offset addr of root/cpu/msr. */
static void put_msr(const char *root, int cpu, uint32_t addr, uint64_t v)
{
	int fd = dev_open(root, cpu);

	if (fd < 0)
		return;
	if (pwrite(fd, &v, sizeof(v), (off_t)addr) != sizeof(v)) {
		printf("    cannot write MSR 0x%x of cpu %d: %s\n", addr, cpu, strerror(errno));
		unit_failed_checks++;
	}
	close(fd);
}

static int open_msr_source(struct energy_source *s, const char *dev_root, const char *cpuinfo,
			   struct bm_topology *t, char *why, size_t whylen)
{
	const struct energy_paths paths = {
		.powercap = "/nonexistent",
		.perf_power = "/nonexistent",
		.msr_dev = dev_root,
		.cpuinfo = cpuinfo,
	};

	return energy_open(s, ENERGY_MSR, &paths, t, why, whylen);
}

/* The joules of (socket, d) among n readings, or -1 where it is not there. */
static double reading(const struct energy_reading *r, int n, int socket, enum bm_domain d)
{
	for (int i = 0; i < n; i++)
		if (r[i].socket == socket && r[i].domain == d)
			return r[i].joules;
	return -1;
}

static void check_joules(int line, const struct energy_reading *r, int n, int socket,
			 enum bm_domain d, double want)
{
	double got = reading(r, n, socket, d);

	if (got != want) {
		printf("    line %d: socket %d %s: %.17g J, expected %.17g J\n", line, socket,
		       energy_domain_name(d), got, want);
		unit_failed_checks++;
	}
}

/* An Intel or AMD model as msr_read_cpuinfo would give it. */
static struct msr_cpu_model model(enum msr_vendor v, unsigned int family, unsigned int m)
{
	return (struct msr_cpu_model){ .vendor = v, .family = family, .model = m };
}

static void test_energy_unit(void)
{
	/* ESU 14: 61.035 uJ, as on most Intel parts. */
	CHECK(msr_energy_unit(INTEL_POWER_UNIT) == 1.0 / 16384);
	CHECK(msr_energy_unit(INTEL_POWER_UNIT) > 61.03e-6 &&
	      msr_energy_unit(INTEL_POWER_UNIT) < 61.04e-6);
	/* ESU 16: 15.259 uJ, as on AMD Zen. */
	CHECK(msr_energy_unit(AMD_POWER_UNIT) == 1.0 / 65536);
	CHECK(msr_energy_unit(AMD_POWER_UNIT) > 15.25e-6 &&
	      msr_energy_unit(AMD_POWER_UNIT) < 15.26e-6);
	/* Atom-era ESU 5 (0x505): 31.25 mJ. Only bits 12:8 count. */
	CHECK(msr_energy_unit(0x000a0505ULL) == 1.0 / 32);
	CHECK(msr_energy_unit(0xffffffff00000000ULL | INTEL_POWER_UNIT) == 1.0 / 16384);
	CHECK(msr_energy_unit(0xffffe0ffULL) == 1.0);
	CHECK(msr_energy_unit(0x1f00ULL) == 1.0 / 2147483648.0);
}

static void test_dram_fixed_models(void)
{
	static const unsigned int fixed[] = { 0x3f, 0x4f, 0x56, 0x55, 0x57, 0x85, 0x6a, 0x6c };
	/* Client parts, Sandy/Ivy Bridge-EP, and Sapphire/Emerald Rapids (standard unit again). */
	static const unsigned int standard[] = { 0x2a, 0x2d, 0x3e, 0x3c, 0x8e,
						 0x9e, 0x97, 0x8f, 0xcf, 0xad };

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		struct msr_cpu_model m = model(MSR_VENDOR_INTEL, 6, fixed[i]);

		if (!msr_dram_unit_fixed(&m)) {
			printf("    model 0x%x: DRAM unit not fixed\n", fixed[i]);
			unit_failed_checks++;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(standard); i++) {
		struct msr_cpu_model m = model(MSR_VENDOR_INTEL, 6, standard[i]);

		if (msr_dram_unit_fixed(&m)) {
			printf("    model 0x%x: DRAM unit fixed\n", standard[i]);
			unit_failed_checks++;
		}
	}
	/* The model number means something only in Intel's family 6. */
	struct msr_cpu_model amd = model(MSR_VENDOR_AMD, 0x17, 0x55);
	struct msr_cpu_model fam15 = model(MSR_VENDOR_INTEL, 15, 0x55);

	CHECK(!msr_dram_unit_fixed(&amd));
	CHECK(!msr_dram_unit_fixed(&fam15));
}

static void test_domain_units(void)
{
	struct msr_cpu_model skx = model(MSR_VENDOR_INTEL, 6, 0x55);
	struct msr_cpu_model kbl = model(MSR_VENDOR_INTEL, 6, 0x8e);
	struct msr_cpu_model spr = model(MSR_VENDOR_INTEL, 6, 0x8f);
	struct msr_cpu_model milan = model(MSR_VENDOR_AMD, 0x19, 0x01);

	/* Skylake-X: DRAM at 15.3 uJ whatever ESU says, the rest at ESU 14. */
	CHECK(msr_domain_unit(&skx, BM_DOMAIN_PACKAGE, INTEL_POWER_UNIT) == 1.0 / 16384);
	CHECK(msr_domain_unit(&skx, BM_DOMAIN_DRAM, INTEL_POWER_UNIT) == MSR_DRAM_FIXED_UNIT_J);
	CHECK(msr_domain_unit(&skx, BM_DOMAIN_DRAM, INTEL_POWER_UNIT) > 15.25e-6 &&
	      msr_domain_unit(&skx, BM_DOMAIN_DRAM, INTEL_POWER_UNIT) < 15.3e-6);
	/* A different ESU changes the package unit, not the DRAM one. */
	CHECK(msr_domain_unit(&skx, BM_DOMAIN_PACKAGE, 0x000a0b03ULL) == 1.0 / 2048);
	CHECK(msr_domain_unit(&skx, BM_DOMAIN_DRAM, 0x000a0b03ULL) == 1.0 / 65536);

	/* Kaby Lake laptop: every domain at ESU 14. */
	for (int d = 0; d < BM_NR_DOMAINS; d++)
		CHECK(msr_domain_unit(&kbl, (enum bm_domain)d, INTEL_POWER_UNIT) == 1.0 / 16384);

	/* Sapphire Rapids: DRAM follows ESU, psys counts whole joules. */
	CHECK(msr_domain_unit(&spr, BM_DOMAIN_DRAM, INTEL_POWER_UNIT) == 1.0 / 16384);
	CHECK(msr_domain_unit(&spr, BM_DOMAIN_PSYS, INTEL_POWER_UNIT) == 1.0);
	CHECK(msr_domain_unit(&spr, BM_DOMAIN_PACKAGE, INTEL_POWER_UNIT) == 1.0 / 16384);

	CHECK(msr_domain_unit(&milan, BM_DOMAIN_PACKAGE, AMD_POWER_UNIT) == 1.0 / 65536);
	CHECK(msr_domain_unit(&milan, BM_DOMAIN_CORE, AMD_POWER_UNIT) == 1.0 / 65536);
}

static void test_cpuinfo(void)
{
	static const struct {
		const char *file;
		enum msr_vendor vendor;
		const char *vendor_id;
		unsigned int family, model;
	} ok[] = {
		{ "intel-skylake-x", MSR_VENDOR_INTEL, "GenuineIntel", 6, 0x55 },
		{ "intel-kaby-lake-r", MSR_VENDOR_INTEL, "GenuineIntel", 6, 0x8e },
		{ "amd-epyc-milan", MSR_VENDOR_AMD, "AuthenticAMD", 0x19, 0x01 },
		{ "amd-opteron-fam15", MSR_VENDOR_AMD, "AuthenticAMD", 0x15, 0x02 },
		{ "centaur-zhaoxin", MSR_VENDOR_OTHER, "CentaurHauls", 7, 59 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct msr_cpu_model m;
		char path[PATH_MAX], why[256] = "";

		snprintf(path, sizeof(path), CPUINFO "/%s", ok[i].file);
		memset(&m, 0xa5, sizeof(m));
		CHECK_EQ_U64(msr_read_cpuinfo(path, &m, why, sizeof(why)), 0);
		CHECK_STR(why, "");
		CHECK_EQ_U64(m.vendor, ok[i].vendor);
		CHECK_STR(m.vendor_id, ok[i].vendor_id);
		/* "model name" must not be taken for "model". */
		CHECK_EQ_U64(m.family, ok[i].family);
		CHECK_EQ_U64(m.model, ok[i].model);
	}
}

static void test_cpuinfo_errors(void)
{
	struct msr_cpu_model m;
	char root[64], path[PATH_MAX], why[256] = "";

	CHECK_EQ_U64(msr_read_cpuinfo(CPUINFO "/arm64-neoverse-n1", &m, why, sizeof(why)),
		     (unsigned long long)-ENODEV);
	CHECK_STR(why, "no vendor_id in " CPUINFO "/arm64-neoverse-n1: not an x86 CPU");

	CHECK_EQ_U64(msr_read_cpuinfo("/nonexistent/cpuinfo", &m, why, sizeof(why)),
		     (unsigned long long)-ENOENT);
	CHECK_HAS(why, "cannot read /nonexistent/cpuinfo: ");

	if (!fixture_mkdtemp(root, sizeof(root), "msr"))
		return;
	snprintf(path, sizeof(path), "%s/cpuinfo", root);
	fixture_put(
		root, "cpuinfo",
		"processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: six\nmodel\t\t: 85\n");
	CHECK_EQ_U64(msr_read_cpuinfo(path, &m, why, sizeof(why)), (unsigned long long)-EINVAL);
	CHECK_HAS(why, "cpu family 'six' is not a number");

	/* The model of the second processor is not the first one's. */
	fixture_put(root, "cpuinfo",
		    "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n\n"
		    "processor\t: 1\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n");
	CHECK_EQ_U64(msr_read_cpuinfo(path, &m, why, sizeof(why)), (unsigned long long)-EINVAL);
	CHECK_HAS(why, "gives no cpu family or model for its first processor");
	fixture_rmtree(root);
}

static void test_unsupported_cpus(void)
{
	static const struct {
		const char *file;
		int err;
		const char *want;
	} bad[] = {
		{ "centaur-zhaoxin", -ENODEV, "unsupported CPU vendor 'CentaurHauls'" },
		{ "amd-opteron-fam15", -ENODEV,
		  "AuthenticAMD family 0x15 has no RAPL energy MSRs" },
		{ "arm64-neoverse-n1", -ENODEV, "not an x86 CPU" },
	};
	static const int sock[] = { 0, 0 };
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "msr"))
		return;
	/* Devices that would read fine: the CPU is refused before any is opened. */
	put_msr(root, 0, MSR_RAPL_POWER_UNIT, INTEL_POWER_UNIT);
	put_msr(root, 0, MSR_PKG_ENERGY_STATUS, 1);
	fixture_topology(&t, 2, sock, NULL, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct energy_source s;
		char path[PATH_MAX], why[512] = "";
		int ret;

		snprintf(path, sizeof(path), CPUINFO "/%s", bad[i].file);
		ret = open_msr_source(&s, root, path, &t, why, sizeof(why));
		if (ret != bad[i].err || !strstr(why, bad[i].want)) {
			printf("    %s: energy_open == %d (%s), expected %d saying \"%s\"\n",
			       bad[i].file, ret, why, bad[i].err, bad[i].want);
			unit_failed_checks++;
		}
		CHECK_EQ_U64(s.n, 0);
	}
	topology_free(&t);
	fixture_rmtree(root);
}

static void test_missing_device(void)
{
	static const int sock[] = { 0, 0 };
	struct energy_source s;
	struct bm_topology t;
	char root[64], want[256], why[512] = "";

	if (!fixture_mkdtemp(root, sizeof(root), "msr"))
		return;
	fixture_topology(&t, 2, sock, NULL, NULL);
	memset(&s, 0, sizeof(s));
	CHECK_EQ_U64(msr_open(&s, root, CPUINFO "/intel-skylake-x", &t, why, sizeof(why)),
		     (unsigned long long)-ENOENT);
	snprintf(want, sizeof(want), "no MSR device (%s/0/msr missing: modprobe msr)", root);
	CHECK_STR(why, want);
	CHECK_EQ_U64(s.n, 0);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

static void test_intel_package_must_read(void)
{
	static const int sock[] = { 0, 0 };
	struct energy_source s;
	struct bm_topology t;
	char root[64], why[512] = "";

	if (!fixture_mkdtemp(root, sizeof(root), "msr"))
		return;
	fixture_topology(&t, 2, sock, NULL, NULL);

	/* No RAPL at all: the power unit MSR does not read. */
	put_msr(root, 0, 0x100, 0);
	memset(&s, 0, sizeof(s));
	CHECK_EQ_U64(msr_open(&s, root, CPUINFO "/intel-skylake-x", &t, why, sizeof(why)),
		     (unsigned long long)-EIO);
	CHECK_HAS(why, "cannot read MSR_RAPL_POWER_UNIT (0x606) on cpu 0: ");
	energy_close(&s);

	/* Units but no package counter (past the end of the file: EIO). */
	put_msr(root, 0, MSR_RAPL_POWER_UNIT, INTEL_POWER_UNIT);
	memset(&s, 0, sizeof(s));
	CHECK_EQ_U64(msr_open(&s, root, CPUINFO "/intel-skylake-x", &t, why, sizeof(why)),
		     (unsigned long long)-EIO);
	CHECK_HAS(why, "cannot read MSR_PKG_ENERGY_STATUS (0x611) on cpu 0: ");
	CHECK_EQ_U64(s.n, 0);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

/*
 * A two-socket Skylake-X: package and DRAM on each socket's first CPU (0 and 4); no PP0, PP1
 * or psys (PP0 and PP1 read 0, psys is past the end of the file). The package counter of
 * socket 0 wraps at 32 bits, and high halves hold junk that must not count.
 */
static void test_intel_two_sockets_end_to_end(void)
{
	static const int sock[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	struct bm_topology t;
	char root[64], why[512] = "";
	int n;

	if (!fixture_mkdtemp(root, sizeof(root), "msr"))
		return;
	for (int cpu = 0; cpu < 8; cpu++)
		put_msr(root, cpu, 0x10, 0); /* every CPU has a device */
	for (int cpu = 0; cpu < 8; cpu += 4) {
		put_msr(root, cpu, MSR_RAPL_POWER_UNIT, INTEL_POWER_UNIT);
		put_msr(root, cpu, MSR_PP1_ENERGY_STATUS, 0);
	}
	put_msr(root, 0, MSR_PKG_ENERGY_STATUS, 0xdead0000ffffff00ULL);
	put_msr(root, 0, MSR_DRAM_ENERGY_STATUS, 1000);
	put_msr(root, 4, MSR_PKG_ENERGY_STATUS, 5000);
	put_msr(root, 4, MSR_DRAM_ENERGY_STATUS, 0x12345678ffff0000ULL);
	fixture_topology(&t, 8, sock, NULL, NULL);

	CHECK_EQ_U64(open_msr_source(&s, root, CPUINFO "/intel-skylake-x", &t, why, sizeof(why)),
		     0);
	CHECK_STR(why, "");
	CHECK_STR(s.ops ? s.ops->name : "", "msr");
	CHECK_EQ_U64(s.n, 4);
	if (s.n != 4) {
		energy_close(&s);
		topology_free(&t);
		fixture_rmtree(root);
		return;
	}
	CHECK_STR(s.c[0].label, "MSR_PKG_ENERGY_STATUS (0x611) on cpu 0");
	CHECK_STR(s.c[1].label, "MSR_DRAM_ENERGY_STATUS (0x619) on cpu 0");
	CHECK_STR(s.c[2].label, "MSR_PKG_ENERGY_STATUS (0x611) on cpu 4");
	CHECK_STR(s.c[3].label, "MSR_DRAM_ENERGY_STATUS (0x619) on cpu 4");
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_U64(s.c[i].socket, i / 2);
		CHECK_EQ_U64(s.c[i].modulus, 1ULL << 32);
		CHECK(s.c[i].fd >= 0);
	}
	/* Every counter owns its fd: energy_close closes each once. */
	CHECK(s.c[0].fd != s.c[1].fd);
	CHECK(s.c[0].joules_per_unit == 1.0 / 16384);
	CHECK(s.c[1].joules_per_unit == 1.0 / 65536);
	/* DRAM wraps first: 2^32 x 2^-16 J at BM_ENERGY_MAX_W. */
	CHECK(s.max_poll_s == 65536.0 / BM_ENERGY_MAX_W);

	energy_poll(&s, 1.0);
	put_msr(root, 0, MSR_PKG_ENERGY_STATUS, 0xbeef000000000100ULL); /* +0x200 across 2^32 */
	put_msr(root, 0, MSR_DRAM_ENERGY_STATUS, 1000 + 65536); /* +1 J */
	put_msr(root, 4, MSR_PKG_ENERGY_STATUS, 5000 + 3 * 16384); /* +3 J */
	put_msr(root, 4, MSR_DRAM_ENERGY_STATUS, 0x1ULL << 40 | 0xf000); /* wrapped */
	energy_poll(&s, 2.0);
	n = energy_take(&s, out);
	CHECK_EQ_U64(n, 4);
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_PACKAGE, 512.0 / 16384);
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_DRAM, 1.0);
	check_joules(__LINE__, out, n, 1, BM_DOMAIN_PACKAGE, 3.0);
	check_joules(__LINE__, out, n, 1, BM_DOMAIN_DRAM, 0x1f000 / 65536.0);
	CHECK_EQ_U64(s.dropped, 0);

	/* Standing still since the take: no reading, rather than a measured 0. */
	energy_poll(&s, 3.0);
	n = energy_take(&s, out);
	CHECK_EQ_U64(n, 0);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

/* A laptop: PP0, PP1 and psys are there too, on the one socket; CPU 0 is offline. */
static void test_intel_laptop_domains(void)
{
	static const int sock[] = { -1, 0, 0, 0 };
	struct energy_reading out[BM_NR_DOMAINS];
	struct energy_source s;
	struct bm_topology t;
	char root[64], why[512] = "";
	int n;

	if (!fixture_mkdtemp(root, sizeof(root), "msr"))
		return;
	put_msr(root, 1, MSR_RAPL_POWER_UNIT, INTEL_POWER_UNIT);
	put_msr(root, 1, MSR_PKG_ENERGY_STATUS, 100);
	put_msr(root, 1, MSR_DRAM_ENERGY_STATUS, 200);
	put_msr(root, 1, MSR_PP0_ENERGY_STATUS, 300);
	put_msr(root, 1, MSR_PP1_ENERGY_STATUS, 400);
	put_msr(root, 1, MSR_PLATFORM_ENERGY_STATUS, 500);
	fixture_topology(&t, 4, sock, NULL, NULL);

	CHECK_EQ_U64(open_msr_source(&s, root, CPUINFO "/intel-kaby-lake-r", &t, why, sizeof(why)),
		     0);
	CHECK_STR(why, "");
	CHECK_EQ_U64(s.n, 5);
	energy_poll(&s, 1.0);
	put_msr(root, 1, MSR_PKG_ENERGY_STATUS, 100 + 16384);
	put_msr(root, 1, MSR_DRAM_ENERGY_STATUS, 200 + 8192);
	put_msr(root, 1, MSR_PP0_ENERGY_STATUS, 300 + 4096);
	put_msr(root, 1, MSR_PP1_ENERGY_STATUS, 400 + 2048);
	put_msr(root, 1, MSR_PLATFORM_ENERGY_STATUS, 500 + 32768);
	energy_poll(&s, 2.0);
	n = energy_take(&s, out);
	CHECK_EQ_U64(n, 5);
	/* Kaby Lake's DRAM follows ESU: 8192 x 2^-14 J. */
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_PACKAGE, 1.0);
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_DRAM, 0.5);
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_CORE, 0.25);
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_UNCORE, 0.125);
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_PSYS, 2.0);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

/* Two dies in one package (Cascade Lake-AP): each die's package counter, added up. */
static void test_intel_dies_add_up(void)
{
	static const int sock[] = { 0, 0, 0, 0 }, die[] = { 0, 0, 1, 1 };
	struct energy_reading out[BM_NR_DOMAINS];
	struct energy_source s;
	struct bm_topology t;
	char root[64], why[512] = "";
	int n;

	if (!fixture_mkdtemp(root, sizeof(root), "msr"))
		return;
	for (int cpu = 0; cpu < 4; cpu += 2) {
		put_msr(root, cpu, MSR_RAPL_POWER_UNIT, INTEL_POWER_UNIT);
		put_msr(root, cpu, MSR_PKG_ENERGY_STATUS, 7);
	}
	fixture_topology(&t, 4, sock, die, NULL);
	CHECK_EQ_U64(open_msr_source(&s, root, CPUINFO "/intel-skylake-x", &t, why, sizeof(why)),
		     0);
	CHECK_STR(why, "");
	CHECK_EQ_U64(s.n, 2);
	energy_poll(&s, 1.0);
	put_msr(root, 0, MSR_PKG_ENERGY_STATUS, 7 + 16384);
	put_msr(root, 2, MSR_PKG_ENERGY_STATUS, 7 + 2 * 16384);
	energy_poll(&s, 2.0);
	n = energy_take(&s, out);
	CHECK_EQ_U64(n, 1);
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_PACKAGE, 3.0);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

/*
 * A two-socket EPYC: CPUs 0-3 on socket 0 and 4-7 on socket 1, two cores per socket with
 * their SMT siblings (core ids 0, 1, 0, 1). Package on CPUs 0 and 4, cores on 0, 1, 4 and 5.
 */
static const int amd_sock[] = { 0, 0, 0, 0, 1, 1, 1, 1 };
static const int amd_core[] = { 0, 1, 0, 1, 0, 1, 0, 1 };

/*
 * AMD's unit, core and package MSRs have consecutive addresses, so in a fake device file (one
 * byte per address) their 8-byte values overlap. On a socket's first CPU, which has all
 * three, the file holds the power unit's low byte 0x03 at 0xc0010299, its ESU byte 0x10 at
 * 0xc001029a and the package counter from 0xc001029b on. That CPU's core counter then reads
 * as 0x10 + 256 x the package counter (low 24 bits): it advances 256 x what the package
 * does, modulo 2^32. Other CPUs hold their core counter alone.
 */
static void amd_first_cpu(const char *root, int cpu, uint64_t pkg)
{
	put_msr(root, cpu, MSR_AMD_RAPL_POWER_UNIT, AMD_POWER_UNIT);
	put_msr(root, cpu, MSR_AMD_PKG_ENERGY_STATUS, pkg);
}

static void amd_fake(const char *root)
{
	for (int cpu = 0; cpu < 8; cpu++)
		put_msr(root, cpu, 0x10, 0); /* every CPU has a device, siblings nothing more */
	/* Package 0xff000000: core 0x10. */
	amd_first_cpu(root, 0, 0xdead0000ff000000ULL);
	put_msr(root, 1, MSR_AMD_CORE_ENERGY_STATUS, 0xffffffffffffff00ULL);
	/* Package 10: core 0xa10. */
	amd_first_cpu(root, 4, 10);
	put_msr(root, 5, MSR_AMD_CORE_ENERGY_STATUS, 65536);
}

static void test_amd_two_sockets_end_to_end(void)
{
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	struct bm_topology t;
	char root[64], why[512] = "";
	int n;

	if (!fixture_mkdtemp(root, sizeof(root), "msr"))
		return;
	amd_fake(root);
	fixture_topology(&t, 8, amd_sock, NULL, amd_core);
	CHECK_EQ_U64(open_msr_source(&s, root, CPUINFO "/amd-epyc-milan", &t, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ_U64(s.n, 6);
	if (s.n != 6) {
		energy_close(&s);
		topology_free(&t);
		fixture_rmtree(root);
		return;
	}
	CHECK_STR(s.c[0].label, "MSR_AMD_PKG_ENERGY_STATUS (0xc001029b) on cpu 0");
	CHECK_STR(s.c[1].label, "MSR_AMD_CORE_ENERGY_STATUS (0xc001029a) on cpu 0");
	CHECK_STR(s.c[2].label, "MSR_AMD_CORE_ENERGY_STATUS (0xc001029a) on cpu 1");
	CHECK_STR(s.c[3].label, "MSR_AMD_PKG_ENERGY_STATUS (0xc001029b) on cpu 4");
	CHECK_STR(s.c[4].label, "MSR_AMD_CORE_ENERGY_STATUS (0xc001029a) on cpu 4");
	CHECK_STR(s.c[5].label, "MSR_AMD_CORE_ENERGY_STATUS (0xc001029a) on cpu 5");
	for (int i = 0; i < 6; i++) {
		CHECK_EQ_U64(s.c[i].socket, i / 3);
		CHECK(s.c[i].joules_per_unit == 1.0 / 65536);
	}
	CHECK(s.max_poll_s == 65536.0 / BM_ENERGY_MAX_W);

	energy_poll(&s, 1.0);
	/* Package +2^24 + 0x100 units (256.004 J) across 2^32; core 0 +0x10000 units (1 J). */
	amd_first_cpu(root, 0, 0x5a5a5a5a00000100ULL);
	/* +0x8000 units (0.5 J) across 2^32, with other junk above. */
	put_msr(root, 1, MSR_AMD_CORE_ENERGY_STATUS, 0xabcd000000007f00ULL);
	/* Package +2^24 + 0x80 units (256.002 J); core 4 +0x8000 units (0.5 J). */
	amd_first_cpu(root, 4, 10 + (1 << 24) + 0x80);
	put_msr(root, 5, MSR_AMD_CORE_ENERGY_STATUS, 65536 + 32768); /* +0.5 J */
	energy_poll(&s, 2.0);
	n = energy_take(&s, out);
	CHECK_EQ_U64(n, 4);
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_PACKAGE, (double)((1 << 24) + 0x100) / 65536);
	check_joules(__LINE__, out, n, 0, BM_DOMAIN_CORE, 1.5);
	check_joules(__LINE__, out, n, 1, BM_DOMAIN_PACKAGE, (double)((1 << 24) + 0x80) / 65536);
	check_joules(__LINE__, out, n, 1, BM_DOMAIN_CORE, 1.0);
	CHECK_EQ_U64(s.dropped, 0);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

/* A core of socket 1 whose MSR cannot be read: socket 1 reports no core energy at all. */
static void test_amd_unreadable_core_leaves_domain_out(void)
{
	struct energy_reading out[2 * BM_NR_DOMAINS];
	struct energy_source s;
	struct bm_topology t;
	char root[64], path[PATH_MAX], why[512] = "";
	int n;

	if (!fixture_mkdtemp(root, sizeof(root), "msr"))
		return;
	amd_fake(root);
	snprintf(path, sizeof(path), "%s/5/msr", root);
	CHECK_EQ_U64(truncate(path, 0x20), 0);
	fixture_topology(&t, 8, amd_sock, NULL, amd_core);
	CHECK_EQ_U64(open_msr_source(&s, root, CPUINFO "/amd-epyc-milan", &t, why, sizeof(why)), 0);
	CHECK_EQ_U64(s.n, 4);
	energy_poll(&s, 1.0);
	energy_poll(&s, 2.0);
	/* The fixture's counters stand still: what is left to report, not the readings. */
	CHECK_EQ_U64(energy_domains_left(&s), 3);
	n = energy_take(&s, out);
	CHECK(reading(out, n, 1, BM_DOMAIN_CORE) == -1);
	energy_close(&s);

	/* Unknown core ids: package only. */
	for (int cpu = 0; cpu < 8; cpu++)
		t.core_id[cpu] = -1;
	CHECK_EQ_U64(open_msr_source(&s, root, CPUINFO "/amd-epyc-milan", &t, why, sizeof(why)), 0);
	CHECK_EQ_U64(s.n, 2);
	for (int i = 0; i < s.n; i++)
		CHECK_EQ_U64(s.c[i].domain, BM_DOMAIN_PACKAGE);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

const struct unit_test msr_tests[] = {
	{ "msr/energy_unit", test_energy_unit },
	{ "msr/dram_fixed_models", test_dram_fixed_models },
	{ "msr/domain_units", test_domain_units },
	{ "msr/cpuinfo", test_cpuinfo },
	{ "msr/cpuinfo_errors", test_cpuinfo_errors },
	{ "msr/unsupported_cpus", test_unsupported_cpus },
	{ "msr/missing_device", test_missing_device },
	{ "msr/intel_package_must_read", test_intel_package_must_read },
	{ "msr/intel_two_sockets_end_to_end", test_intel_two_sockets_end_to_end },
	{ "msr/intel_laptop_domains", test_intel_laptop_domains },
	{ "msr/intel_dies_add_up", test_intel_dies_add_up },
	{ "msr/amd_two_sockets_end_to_end", test_amd_two_sockets_end_to_end },
	{ "msr/amd_unreadable_core_leaves_domain_out", test_amd_unreadable_core_leaves_domain_out },
	{ NULL, NULL },
};
