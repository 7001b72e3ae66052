// SPDX-License-Identifier: BSD-2-Clause
/*
 * The powercap backend on sysfs fixture trees laid out like real machines
 * (tests/fixtures/powercap; the tests run from the repository's top directory).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "energy.h"
#include "fixture.h"
#include "unit.h"
#include "util.h"

#define FIXTURES "tests/fixtures/powercap"

/* A topology of nr sockets (package ids 0..nr-1), one online CPU each; topology_free() it. */
static void topo_init(struct bm_topology *t, int nr)
{
	static const int sock[] = { 0, 1 };

	fixture_topology(t, nr, sock, NULL, NULL);
}

/* How many counters of s are (socket, domain). */
static int count(const struct energy_source *s, int socket, enum bm_domain d)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		n += s->c[i].socket == socket && s->c[i].domain == d;
	return n;
}

static void open_tree(const char *tree, int nr_sockets, struct energy_source *s,
		      struct bm_topology *t, int *err, char *why, size_t whylen)
{
	char root[256];

	topo_init(t, nr_sockets);
	memset(s, 0, sizeof(*s));
	snprintf(root, sizeof(root), "%s/%s", FIXTURES, tree);
	*err = powercap_open(s, root, t, why, whylen);
}

static void test_two_socket_server(void)
{
	struct energy_source s;
	struct bm_topology t;
	char why[512] = "";
	int err;

	open_tree("intel-2s", 2, &s, &t, &err, why, sizeof(why));
	CHECK(err == 0);
	CHECK(s.n == 4);
	CHECK(count(&s, 0, BM_DOMAIN_PACKAGE) == 1 && count(&s, 1, BM_DOMAIN_PACKAGE) == 1);
	CHECK(count(&s, 0, BM_DOMAIN_DRAM) == 1 && count(&s, 1, BM_DOMAIN_DRAM) == 1);
	for (int i = 0; i < s.n; i++) {
		char path[600], buf[64];
		FILE *fp;

		CHECK(s.c[i].joules_per_unit == 1e-6);
		CHECK(strstr(s.c[i].label, "/energy_uj") != NULL);
		/* energy_uj wraps to 0 after the zone's own max_energy_range_uj. */
		snprintf(path, sizeof(path), "%.*s/max_energy_range_uj",
			 (int)(strlen(s.c[i].label) - strlen("/energy_uj")), s.c[i].label);
		fp = fopen(path, "r");
		CHECK(fp && fgets(buf, sizeof(buf), fp));
		if (fp)
			fclose(fp);
		CHECK_EQ_U64(s.c[i].modulus, strtoull(buf, NULL, 10) + 1);
	}
	energy_close(&s);
	topology_free(&t);
}

static void test_nested_layout(void)
{
	struct energy_source s;
	struct bm_topology t;
	char why[512] = "";
	int err;

	/* As under /sys/devices/virtual/powercap/intel-rapl: subzones only inside their parent. */
	open_tree("nested", 2, &s, &t, &err, why, sizeof(why));
	CHECK(err == 0);
	CHECK(s.n == 4);
	CHECK(count(&s, 0, BM_DOMAIN_DRAM) == 1 && count(&s, 1, BM_DOMAIN_DRAM) == 1);
	energy_close(&s);
	topology_free(&t);
}

static void test_laptop_domains_and_no_mmio_double(void)
{
	struct energy_source s;
	struct bm_topology t;
	char why[512] = "";
	int err;

	open_tree("intel-laptop", 1, &s, &t, &err, why, sizeof(why));
	CHECK(err == 0);
	/* intel-rapl-mmio:0 repeats package-0: counting it would double the package. */
	CHECK(count(&s, 0, BM_DOMAIN_PACKAGE) == 1);
	CHECK(count(&s, 0, BM_DOMAIN_CORE) == 1);
	CHECK(count(&s, 0, BM_DOMAIN_UNCORE) == 1);
	CHECK(count(&s, 0, BM_DOMAIN_PSYS) == 1);
	CHECK(count(&s, 0, BM_DOMAIN_DRAM) == 0);
	CHECK(s.n == 4);
	energy_close(&s);
	topology_free(&t);
}

static void test_amd_package_only(void)
{
	struct energy_source s;
	struct bm_topology t;
	char why[512] = "";
	int err;

	open_tree("amd-epyc", 2, &s, &t, &err, why, sizeof(why));
	CHECK(err == 0);
	CHECK(s.n == 2);
	CHECK(count(&s, 0, BM_DOMAIN_PACKAGE) == 1 && count(&s, 1, BM_DOMAIN_PACKAGE) == 1);
	CHECK(s.n == 2 && s.c[0].modulus == 65532610987ULL + 1);
	energy_close(&s);
	topology_free(&t);
}

static void test_package_without_cpus_becomes_a_socket(void)
{
	struct energy_source s;
	struct bm_topology t;
	char why[512] = "";
	int err;

	/* A host's two-socket tree read from a one-socket guest: package-1 still counts. */
	open_tree("intel-2s", 1, &s, &t, &err, why, sizeof(why));
	CHECK(err == 0);
	CHECK(t.nr_sockets == 2);
	CHECK(t.package_id[1] == 1);
	CHECK(count(&s, 1, BM_DOMAIN_PACKAGE) == 1);
	energy_close(&s);
	topology_free(&t);
}

static void test_missing_and_empty_roots(void)
{
	char root[64], why[512] = "";
	struct energy_source s;
	struct bm_topology t;
	int err;

	open_tree("does-not-exist", 1, &s, &t, &err, why, sizeof(why));
	CHECK(err == -ENOENT);
	CHECK(strstr(why, "no powercap tree at " FIXTURES "/does-not-exist") != NULL);
	energy_close(&s);
	topology_free(&t);

	if (!fixture_mkdtemp(root, sizeof(root), "powercap"))
		return;
	topo_init(&t, 1);
	memset(&s, 0, sizeof(s));
	err = powercap_open(&s, root, &t, why, sizeof(why));
	CHECK(err == 0 && s.n == 0);
	/* Elsewhere than on x86 the powercap zones are not RAPL's (user/energy/powercap.c). */
	CHECK(strstr(why, energy_machine_is_x86(NULL)
				  ? "no RAPL zones under"
				  : "no zones with an energy counter under") != NULL);
	energy_close(&s);
	topology_free(&t);
	fixture_rmtree(root);
}

/*
 * A tree of one package zone whose energy_uj holds energy, opened on one socket: the error
 * of powercap_open() (why says what), or 1 where no temporary directory could be made.
 */
static int open_one_zone(char *root, size_t rlen, struct bm_topology *t, struct energy_source *s,
			 const char *energy, char *why, size_t wlen)
{
	if (!fixture_mkdtemp(root, rlen, "powercap"))
		return 1;
	fixture_put(root, "intel-rapl:0/name", "package-0\n");
	fixture_put(root, "intel-rapl:0/max_energy_range_uj", "262143328850\n");
	fixture_put(root, "intel-rapl:0/energy_uj", energy);
	topo_init(t, 1);
	memset(s, 0, sizeof(*s));
	return powercap_open(s, root, t, why, wlen);
}

static void test_garbage_energy_names_the_file(void)
{
	char root[64], why[512] = "";
	struct energy_source s;
	struct bm_topology t;
	int err;

	err = open_one_zone(root, sizeof(root), &t, &s, "12abc\n", why, sizeof(why));
	if (err == 1)
		return;
	CHECK(err == -EINVAL);
	CHECK(strstr(why, "intel-rapl:0/energy_uj") != NULL);
	CHECK(strstr(why, "not a number") != NULL);
	energy_close(&s);
	topology_free(&t);
	CHECK(fixture_rmtree(root) == 0);
}

/* 10^26 is a number, past 64 bits: "out of range", at the start and at run time. */
static void test_huge_energy_is_out_of_range(void)
{
	char root[64], why[512] = "";
	struct energy_source s;
	struct bm_topology t;
	int err;

	err = open_one_zone(root, sizeof(root), &t, &s, "100000000000000000000000000\n", why,
			    sizeof(why));
	if (err == 1)
		return;
	CHECK(err == -ERANGE);
	CHECK(strstr(why, "intel-rapl:0/energy_uj: out of range (above 18446744073709551615") !=
	      NULL);
	CHECK(strstr(why, "not a number") == NULL);
	energy_close(&s);

	fixture_put(root, "intel-rapl:0/energy_uj", "1000\n");
	memset(&s, 0, sizeof(s));
	err = powercap_open(&s, root, &t, why, sizeof(why));
	CHECK(err == 0 && s.n == 1);
	s.nr_sockets = 1;
	energy_poll(&s, 1.0);
	fixture_put(root, "intel-rapl:0/energy_uj", "100000000000000000000000000\n");
	energy_poll(&s, 2.0);
	CHECK(s.c[0].dead);
	CHECK(strstr(s.dropped_why, "intel-rapl:0/energy_uj: out of range (above") != NULL);
	energy_close(&s);
	topology_free(&t);
	CHECK(fixture_rmtree(root) == 0);
}

/* Two package zones in a fresh tree: intel-rapl:1's max_energy_range_uj is range1. */
static int open_ranges(char *root, size_t rootlen, const char *range0, const char *range1,
		       struct energy_source *s, struct bm_topology *t, char *why, size_t whylen)
{
	struct energy_paths paths = energy_default_paths;

	if (!fixture_mkdtemp(root, rootlen, "powercap"))
		return -EIO;
	fixture_put(root, "intel-rapl:0/name", "package-0\n");
	fixture_put(root, "intel-rapl:0/max_energy_range_uj", range0);
	fixture_put(root, "intel-rapl:0/energy_uj", "1000\n");
	fixture_put(root, "intel-rapl:1/name", "package-1\n");
	fixture_put(root, "intel-rapl:1/max_energy_range_uj", range1);
	fixture_put(root, "intel-rapl:1/energy_uj", "1000\n");
	topo_init(t, 2);
	paths.powercap = root;
	return energy_open(s, ENERGY_POWERCAP, &paths, t, why, whylen);
}

/*
 * A max_energy_range_uj of 0 (which made the poll period 0.25 ns), too small for any counter,
 * not a number or past 64 bits: the zone is left out, said with the file and the value, and
 * the poll period comes from the zones kept. 2^64 - 1 is a 64-bit counter.
 */
static void test_bad_range_zone_left_out(void)
{
	static const struct {
		const char *range, *says;
	} bad[] = {
		{ "0\n", "intel-rapl:1/max_energy_range_uj is 0, no counter's range" },
		{ "3999999\n", "intel-rapl:1/max_energy_range_uj is 3999999, no counter's range" },
		{ "12abc\n", "intel-rapl:1/max_energy_range_uj is not a number" },
		{ "100000000000000000000000000\n",
		  "intel-rapl:1/max_energy_range_uj is out of range (above 18446744073709551615" },
	};
	char root[64], why[512];
	struct energy_source s;
	struct bm_topology t;
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = '\0';
		err = open_ranges(root, sizeof(root), "262143328850\n", bad[i].range, &s, &t, why,
				  sizeof(why));
		CHECK(err == 0);
		if (err) {
			printf("    %s: %s\n", bad[i].range, why);
		} else {
			CHECK(s.n == 2 && !s.c[0].dead && s.c[1].dead);
			CHECK(energy_domains_left(&s) == 1);
			CHECK(strstr(s.dropped_why, bad[i].says) != NULL);
			CHECK(strstr(s.dropped_why, "zone left out") != NULL);
			/* intel-rapl:0's 262 kJ at 2000 W: 131 s, not the refused zone's. */
			CHECK(fabs(s.max_poll_s - 262143328851e-6 / BM_ENERGY_MAX_W) < 1e-6);
		}
		energy_close(&s);
		topology_free(&t);
		CHECK(fixture_rmtree(root) == 0);
	}

	/* Every zone left out: no source, and why says so. */
	err = open_ranges(root, sizeof(root), "0\n", "0\n", &s, &t, why, sizeof(why));
	CHECK(err == -ENODEV);
	CHECK(strstr(why, "every zone under") != NULL);
	CHECK(strstr(why, "max_energy_range_uj is 0, no counter's range") != NULL);
	energy_close(&s);
	topology_free(&t);
	CHECK(fixture_rmtree(root) == 0);

	/* The largest 64-bit value: a counter wrapping at 2^64, kept. */
	err = open_ranges(root, sizeof(root), "262143328850\n", "18446744073709551615\n", &s, &t,
			  why, sizeof(why));
	CHECK(err == 0 && s.n == 2 && !s.c[1].dead);
	CHECK(s.n == 2 && s.c[1].modulus == 0);
	energy_close(&s);
	topology_free(&t);
	CHECK(fixture_rmtree(root) == 0);
}

const struct unit_test powercap_tests[] = {
	{ "powercap/two_socket_server", test_two_socket_server },
	{ "powercap/nested_layout", test_nested_layout },
	{ "powercap/laptop_domains_and_no_mmio_double", test_laptop_domains_and_no_mmio_double },
	{ "powercap/amd_package_only", test_amd_package_only },
	{ "powercap/package_without_cpus_becomes_a_socket",
	  test_package_without_cpus_becomes_a_socket },
	{ "powercap/missing_and_empty_roots", test_missing_and_empty_roots },
	{ "powercap/garbage_energy_names_the_file", test_garbage_energy_names_the_file },
	{ "powercap/huge_energy_is_out_of_range", test_huge_energy_is_out_of_range },
	{ "powercap/bad_range_zone_left_out", test_bad_range_zone_left_out },
	{ NULL, NULL },
};
