// SPDX-License-Identifier: BSD-2-Clause
/*
 * The powercap backend on sysfs fixture trees laid out like real machines
 * (tests/fixtures/powercap; the tests run from the repository's top directory).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "energy.h"
#include "unit.h"

#define FIXTURES "tests/fixtures/powercap"

/* A topology of nr sockets (package ids 0..nr-1), one online CPU each. */
struct topo_fixture {
	bool online[2];
	int socket[2];
	int *package_id;
	struct bm_topology topo;
};

static void topo_init(struct topo_fixture *f, int nr)
{
	memset(f, 0, sizeof(*f));
	/* topology_add_package() may grow package_id, so it is on the heap as in topology_load. */
	f->package_id = calloc(2, sizeof(int));
	for (int i = 0; i < nr; i++) {
		f->online[i] = true;
		f->socket[i] = i;
		f->package_id[i] = i;
	}
	f->topo = (struct bm_topology){ .nr_cpus = nr,
					.online = f->online,
					.socket = f->socket,
					.package_id = f->package_id,
					.nr_sockets = nr,
					.nr_online = nr };
}

static void topo_free(struct topo_fixture *f)
{
	free(f->topo.package_id);
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
		      struct topo_fixture *f, int *err, char *why, size_t whylen)
{
	char root[256];

	topo_init(f, nr_sockets);
	memset(s, 0, sizeof(*s));
	snprintf(root, sizeof(root), "%s/%s", FIXTURES, tree);
	*err = powercap_open(s, root, &f->topo, why, whylen);
}

static void test_two_socket_server(void)
{
	struct energy_source s;
	struct topo_fixture f;
	char why[512] = "";
	int err;

	open_tree("intel-2s", 2, &s, &f, &err, why, sizeof(why));
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
	topo_free(&f);
}

static void test_nested_layout(void)
{
	struct energy_source s;
	struct topo_fixture f;
	char why[512] = "";
	int err;

	/* As under /sys/devices/virtual/powercap/intel-rapl: subzones only inside their parent. */
	open_tree("nested", 2, &s, &f, &err, why, sizeof(why));
	CHECK(err == 0);
	CHECK(s.n == 4);
	CHECK(count(&s, 0, BM_DOMAIN_DRAM) == 1 && count(&s, 1, BM_DOMAIN_DRAM) == 1);
	energy_close(&s);
	topo_free(&f);
}

static void test_laptop_domains_and_no_mmio_double(void)
{
	struct energy_source s;
	struct topo_fixture f;
	char why[512] = "";
	int err;

	open_tree("intel-laptop", 1, &s, &f, &err, why, sizeof(why));
	CHECK(err == 0);
	/* intel-rapl-mmio:0 repeats package-0: counting it would double the package. */
	CHECK(count(&s, 0, BM_DOMAIN_PACKAGE) == 1);
	CHECK(count(&s, 0, BM_DOMAIN_CORE) == 1);
	CHECK(count(&s, 0, BM_DOMAIN_UNCORE) == 1);
	CHECK(count(&s, 0, BM_DOMAIN_PSYS) == 1);
	CHECK(count(&s, 0, BM_DOMAIN_DRAM) == 0);
	CHECK(s.n == 4);
	energy_close(&s);
	topo_free(&f);
}

static void test_amd_package_only(void)
{
	struct energy_source s;
	struct topo_fixture f;
	char why[512] = "";
	int err;

	open_tree("amd-epyc", 2, &s, &f, &err, why, sizeof(why));
	CHECK(err == 0);
	CHECK(s.n == 2);
	CHECK(count(&s, 0, BM_DOMAIN_PACKAGE) == 1 && count(&s, 1, BM_DOMAIN_PACKAGE) == 1);
	CHECK(s.n == 2 && s.c[0].modulus == 65532610987ULL + 1);
	energy_close(&s);
	topo_free(&f);
}

static void test_package_without_cpus_becomes_a_socket(void)
{
	struct energy_source s;
	struct topo_fixture f;
	char why[512] = "";
	int err;

	/* A host's two-socket tree read from a one-socket guest: package-1 still counts. */
	open_tree("intel-2s", 1, &s, &f, &err, why, sizeof(why));
	CHECK(err == 0);
	CHECK(f.topo.nr_sockets == 2);
	CHECK(f.topo.package_id[1] == 1);
	CHECK(count(&s, 1, BM_DOMAIN_PACKAGE) == 1);
	energy_close(&s);
	topo_free(&f);
}

static void test_missing_and_empty_roots(void)
{
	char tmpl[] = "/tmp/bm-powercap-XXXXXX", why[512] = "";
	struct energy_source s;
	struct topo_fixture f;
	int err;

	open_tree("does-not-exist", 1, &s, &f, &err, why, sizeof(why));
	CHECK(err == -ENOENT);
	CHECK(strstr(why, "no powercap tree at " FIXTURES "/does-not-exist") != NULL);
	energy_close(&s);
	topo_free(&f);

	CHECK(mkdtemp(tmpl) != NULL);
	topo_init(&f, 1);
	memset(&s, 0, sizeof(s));
	err = powercap_open(&s, tmpl, &f.topo, why, sizeof(why));
	CHECK(err == 0 && s.n == 0);
	CHECK(strstr(why, "no RAPL zones under") != NULL);
	energy_close(&s);
	topo_free(&f);
	rmdir(tmpl);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

static void test_garbage_energy_names_the_file(void)
{
	char tmpl[] = "/tmp/bm-powercap-XXXXXX", zone[300], why[512] = "", cmd[700];
	struct energy_source s;
	struct topo_fixture f;
	int err;

	CHECK(mkdtemp(tmpl) != NULL);
	snprintf(zone, sizeof(zone), "%s/intel-rapl:0", tmpl);
	mkdir(zone, 0755);
	write_file(zone, "name", "package-0\n");
	write_file(zone, "max_energy_range_uj", "262143328850\n");
	write_file(zone, "energy_uj", "12abc\n");
	topo_init(&f, 1);
	memset(&s, 0, sizeof(s));
	err = powercap_open(&s, tmpl, &f.topo, why, sizeof(why));
	CHECK(err == -EINVAL);
	CHECK(strstr(why, "intel-rapl:0/energy_uj") != NULL);
	CHECK(strstr(why, "not a number") != NULL);
	energy_close(&s);
	topo_free(&f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	CHECK(system(cmd) == 0);
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
	{ NULL, NULL },
};
