// SPDX-License-Identifier: BSD-2-Clause
/*
 * --export-powercap: the trees it keeps for VMs, read back by the powercap backend as a
 * guest reads them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "energy.h"
#include "export_powercap.h"
#include "fixture.h"
#include "labels.h"
#include "unit.h"
#include "util.h"

static void test_dir_name(void)
{
	char out[16];

	export_dir_name("guest1", out, sizeof(out));
	CHECK_STR(out, "guest1");
	export_dir_name("a/b\tc", out, sizeof(out));
	CHECK_STR(out, "a_b_c");
	export_dir_name("..", out, sizeof(out));
	CHECK_STR(out, "_.");
	export_dir_name("", out, sizeof(out));
	CHECK_STR(out, "_");
	export_dir_name("a-very-long-vm-name", out, sizeof(out));
	CHECK_STR(out, "a-very-long-vm-");
}

static void test_advance_wraps_and_carries(void)
{
	uint64_t uj = BM_EXPORT_MAX_ENERGY_RANGE_UJ - 1;
	double frac = 0;

	/* max - 1, + 3 uJ: max, then 0, then 1 */
	export_advance(&uj, &frac, 3e-6);
	CHECK_EQ_U64(uj, 1);
	for (int i = 0; i < 10; i++)
		export_advance(&uj, &frac, 0.25e-6);
	CHECK_EQ_U64(uj, 3);
	CHECK(frac > 0.49 && frac < 0.51);
	export_advance(&uj, &frac, -1);
	CHECK_EQ_U64(uj, 3);
	uj = 0;
	frac = 0;
	export_advance(&uj, &frac, 262143.328851 * 2 + 5e-6);
	CHECK_EQ_U64(uj, 5);
}

struct fake_vm {
	struct bm_target t;
	struct bm_row r;
};

static void fake_row(struct fake_vm *f, const char *path, double pkg_j, double dram_j)
{
	memset(f, 0, sizeof(*f));
	CHECK(labels_parse(path, &f->t.labels) == 0);
	f->t.name = (char *)path;
	f->r.target = &f->t;
	f->r.domains = 1u << BM_DOMAIN_PACKAGE | 1u << BM_DOMAIN_DRAM;
	f->r.s.energy_j[BM_DOMAIN_PACKAGE] = pkg_j;
	f->r.s.energy_j[BM_DOMAIN_DRAM] = dram_j;
}

static uint64_t read_uj(const char *root, const char *rel)
{
	char path[PATH_MAX], buf[64];
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	CHECK(bm_read_file(path, buf, sizeof(buf)) == 0);
	CHECK(bm_parse_u64(buf, 0, UINT64_MAX, &v) == 0);
	return v;
}

/* Two cgroups of one VM and one of another, then the guest's view of the first. */
static void test_tree_read_back_as_rapl(void)
{
	char root[256], vmroot[PATH_MAX], why[512];
	struct energy_reading e[2] = { { 0, BM_DOMAIN_PACKAGE, 30 }, { 0, BM_DOMAIN_DRAM, 4 } };
	struct bm_row rows[4];
	struct fake_vm f[4];
	struct bm_interval iv = { .rows = rows, .n = 4, .energy = e, .nenergy = 2 };
	struct powercap_export x;
	struct energy_source s;
	struct bm_topology t;
	static const int sock[] = { 0 };

	if (!fixture_mkdtemp(root, sizeof(root), "export"))
		return;
	fake_row(&f[0], "/machine.slice/machine-qemu\\x2d1\\x2dguest1.scope/libvirt/vcpu0", 2.5,
		 0.25);
	fake_row(&f[1], "/machine.slice/machine-qemu\\x2d1\\x2dguest1.scope/libvirt/emulator", 0.5,
		 0.05);
	fake_row(&f[2], "/machine.slice/machine-qemu\\x2d2\\x2dother.scope", 7, 1);
	fake_row(&f[3], "/system.slice/sshd.service", 9, 1);
	for (int i = 0; i < 4; i++)
		rows[i] = f[i].r;
	export_powercap_init(&x, root, "hv1");
	export_powercap_interval(&x, &iv);
	snprintf(vmroot, sizeof(vmroot), "%s/guest1", root);
	CHECK_EQ_U64(read_uj(vmroot, "intel-rapl:0/energy_uj"), 3000000);
	CHECK_EQ_U64(read_uj(vmroot, "intel-rapl:0/intel-rapl:0:0/energy_uj"), 300000);
	CHECK_EQ_U64(read_uj(vmroot, "intel-rapl:0/max_energy_range_uj"),
		     BM_EXPORT_MAX_ENERGY_RANGE_UJ);
	CHECK_EQ_U64(read_uj(root, "other/intel-rapl:0/energy_uj"), 7000000);
	CHECK(access(vmroot, F_OK) == 0);

	/* The guest's bpfmeter --powercap-root DIR/guest1: RAPL as it knows it, and whose. */
	fixture_topology(&t, 1, sock, NULL, NULL);
	memset(&s, 0, sizeof(s));
	CHECK(powercap_open(&s, vmroot, &t, why, sizeof(why)) == 0);
	CHECK(s.n == 2);
	CHECK_STR(s.from_host, "hv1");
	s.nr_sockets = t.nr_sockets;
	energy_poll(&s, 1);

	/* Next interval: guest1 alone ran; other keeps its value; then no package reading. */
	rows[0] = f[0].r;
	iv.n = 1;
	export_powercap_interval(&x, &iv);
	CHECK_EQ_U64(read_uj(vmroot, "intel-rapl:0/energy_uj"), 5500000);
	CHECK_EQ_U64(read_uj(root, "other/intel-rapl:0/energy_uj"), 7000000);
	iv.nenergy = 0;
	export_powercap_interval(&x, &iv);
	CHECK_EQ_U64(read_uj(vmroot, "intel-rapl:0/energy_uj"), 5500000);
	energy_poll(&s, 2);
	{
		struct energy_reading out[BM_NR_DOMAINS];
		int n = energy_take(&s, out);

		CHECK(n == 2);
		CHECK(n == 2 && out[0].domain == BM_DOMAIN_PACKAGE && out[0].joules > 2.4999 &&
		      out[0].joules < 2.5001);
		CHECK(n == 2 && out[1].domain == BM_DOMAIN_DRAM && out[1].joules > 0.2499 &&
		      out[1].joules < 0.2501);
	}
	energy_close(&s);
	topology_free(&t);
	export_powercap_free(&x);

	/* A session that starts again goes on from the tree's value. */
	export_powercap_init(&x, root, "hv1");
	iv.nenergy = 2;
	export_powercap_interval(&x, &iv);
	CHECK_EQ_U64(read_uj(vmroot, "intel-rapl:0/energy_uj"), 8000000);
	export_powercap_free(&x);
	CHECK(fixture_rmtree(root) == 0);
}

static void test_check_refuses_a_file(void)
{
	char root[PATH_MAX], file[PATH_MAX + 8], sub[PATH_MAX + 16];

	if (!fixture_mkdtemp(root, sizeof(root), "export"))
		return;
	fixture_put(root, "f", "x\n");
	snprintf(file, sizeof(file), "%s/f", root);
	CHECK(export_powercap_check(file) == -ENOTDIR);
	snprintf(sub, sizeof(sub), "%s/f/below", root);
	CHECK(export_powercap_check(sub) == -ENOTDIR);
	snprintf(sub, sizeof(sub), "%s/new/dir", root);
	CHECK(export_powercap_check(sub) == 0);
	CHECK(access(sub, F_OK) == 0);
	CHECK(fixture_rmtree(root) == 0);
}

const struct unit_test export_tests[] = {
	{ "export/dir_name", test_dir_name },
	{ "export/advance_wraps_and_carries", test_advance_wraps_and_carries },
	{ "export/tree_read_back_as_rapl", test_tree_read_back_as_rapl },
	{ "export/check_refuses_a_file", test_check_refuses_a_file },
	{ NULL, NULL },
};
