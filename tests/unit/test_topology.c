// SPDX-License-Identifier: BSD-2-Clause
/* topology_load() on sysfs-like fixture trees, and bm_parse_cpulist(). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "topology.h"
#include "util.h"
#include "unit.h"

static void put_package(const char *root, int cpu, const char *id)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "cpu%d/topology/physical_package_id", cpu);
	fixture_put(root, rel, id);
}

/* topology_load with its error messages kept off the test output. */
static int load_quiet(struct bm_topology *t, const char *root, int slots)
{
	struct capture err;
	int ret;

	capture_begin(&err, 2);
	ret = topology_load(t, root, slots);
	capture_end(&err);
	return ret;
}

static void test_two_sockets(void)
{
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "topo"))
		return;
	fixture_put(root, "online", "0-7\n");
	for (int cpu = 0; cpu < 8; cpu++)
		put_package(root, cpu, cpu < 4 ? "0\n" : "1\n");

	CHECK_EQ_U64(topology_load(&t, root, 8), 0);
	CHECK_EQ_U64(t.nr_cpus, 8);
	CHECK_EQ_U64(t.nr_online, 8);
	CHECK_EQ_U64(t.nr_sockets, 2);
	if (t.socket && t.online && t.package_id) {
		for (int cpu = 0; cpu < 8; cpu++) {
			CHECK(t.online[cpu]);
			CHECK_EQ_U64(t.socket[cpu], cpu < 4 ? 0 : 1);
		}
		CHECK_EQ_U64(t.package_id[0], 0);
		CHECK_EQ_U64(t.package_id[1], 1);
	} else {
		CHECK(!"topology arrays allocated");
	}
	topology_free(&t);
	CHECK(t.online == NULL && t.socket == NULL && t.package_id == NULL);
	fixture_rmtree(root);
}

static void test_sockets_in_package_order(void)
{
	static const char *const pkg[] = { "1", "0", "1", "0" };
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "topo"))
		return;
	fixture_put(root, "online", "0-3\n");
	for (int cpu = 0; cpu < 4; cpu++)
		put_package(root, cpu, pkg[cpu]);

	CHECK_EQ_U64(topology_load(&t, root, 4), 0);
	CHECK_EQ_U64(t.nr_sockets, 2);
	if (t.socket && t.package_id) {
		/* cpu0 is on package 1, which sorts second: socket 1. */
		CHECK_EQ_U64(t.socket[0], 1);
		CHECK_EQ_U64(t.socket[1], 0);
		CHECK_EQ_U64(t.socket[2], 1);
		CHECK_EQ_U64(t.socket[3], 0);
		CHECK_EQ_U64(t.package_id[0], 0);
		CHECK_EQ_U64(t.package_id[1], 1);
	}
	topology_free(&t);
	fixture_rmtree(root);
}

static void test_sparse_package_ids_are_made_dense(void)
{
	static const char *const pkg[] = { "7", "3", "7", "3" };
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "topo"))
		return;
	fixture_put(root, "online", "0-3");
	for (int cpu = 0; cpu < 4; cpu++)
		put_package(root, cpu, pkg[cpu]);

	CHECK_EQ_U64(topology_load(&t, root, 4), 0);
	CHECK_EQ_U64(t.nr_sockets, 2);
	if (t.socket && t.package_id) {
		CHECK_EQ_U64(t.socket[0], 1);
		CHECK_EQ_U64(t.socket[1], 0);
		CHECK_EQ_U64(t.package_id[0], 3);
		CHECK_EQ_U64(t.package_id[1], 7);
	}
	topology_free(&t);
	fixture_rmtree(root);
}

static void test_offline_cpus(void)
{
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "topo"))
		return;
	/* cpu2 is offline; give it its own package so counting it would show. */
	fixture_put(root, "online", "0-1,3\n");
	put_package(root, 0, "0");
	put_package(root, 1, "0");
	put_package(root, 2, "1");
	put_package(root, 3, "0");

	/* Six slots: cpus 4 and 5 are possible but not listed at all. */
	CHECK_EQ_U64(topology_load(&t, root, 6), 0);
	CHECK_EQ_U64(t.nr_cpus, 6);
	CHECK_EQ_U64(t.nr_online, 3);
	CHECK_EQ_U64(t.nr_sockets, 1);
	if (t.socket && t.online) {
		CHECK(t.online[0] && t.online[1] && !t.online[2] && t.online[3]);
		CHECK(!t.online[4] && !t.online[5]);
		CHECK_EQ_U64(t.socket[0], 0);
		CHECK_EQ_U64(t.socket[1], 0);
		CHECK(t.socket[2] == -1);
		CHECK_EQ_U64(t.socket[3], 0);
		CHECK(t.socket[4] == -1);
		CHECK(t.socket[5] == -1);
	}
	topology_free(&t);
	fixture_rmtree(root);
}

static void test_missing_package_id(void)
{
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "topo"))
		return;
	/* No physical_package_id anywhere: one socket. */
	fixture_put(root, "online", "0-1\n");
	fixture_put(root, "cpu0/topology/core_id", "0\n");
	CHECK_EQ_U64(topology_load(&t, root, 2), 0);
	CHECK_EQ_U64(t.nr_sockets, 1);
	CHECK_EQ_U64(t.nr_online, 2);
	if (t.socket && t.package_id) {
		CHECK_EQ_U64(t.socket[0], 0);
		CHECK_EQ_U64(t.socket[1], 0);
		CHECK_EQ_U64(t.package_id[0], 0);
	}
	topology_free(&t);

	/* Only cpu1 lacks it: it counts as package 0, which sorts before cpu0's package 1. */
	put_package(root, 0, "1\n");
	CHECK_EQ_U64(topology_load(&t, root, 2), 0);
	CHECK_EQ_U64(t.nr_sockets, 2);
	if (t.socket && t.package_id) {
		CHECK_EQ_U64(t.socket[0], 1);
		CHECK_EQ_U64(t.socket[1], 0);
		CHECK_EQ_U64(t.package_id[0], 0);
		CHECK_EQ_U64(t.package_id[1], 1);
	}
	topology_free(&t);
	fixture_rmtree(root);
}

static void test_package_id_minus_one(void)
{
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "topo"))
		return;
	fixture_put(root, "online", "0-2\n");
	for (int cpu = 0; cpu < 3; cpu++)
		put_package(root, cpu, "-1\n");
	CHECK_EQ_U64(topology_load(&t, root, 3), 0);
	CHECK_EQ_U64(t.nr_sockets, 1);
	CHECK_EQ_U64(t.nr_online, 3);
	if (t.socket && t.package_id) {
		for (int cpu = 0; cpu < 3; cpu++)
			CHECK_EQ_U64(t.socket[cpu], 0);
		CHECK_EQ_U64(t.package_id[0], 0);
	}
	topology_free(&t);
	fixture_rmtree(root);
}

static void test_bad_online_lists(void)
{
	static const char *const bad[] = { "0-3,x\n", "garbage", "0-", "3-1", "0,,1" };
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "topo"))
		return;
	for (int cpu = 0; cpu < 4; cpu++)
		put_package(root, cpu, "0");

	/* No "online" file at all. */
	CHECK(load_quiet(&t, root, 4) < 0);
	CHECK(t.online == NULL && t.socket == NULL && t.package_id == NULL);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fixture_put(root, "online", bad[i]);
		memset(&t, 0xa5, sizeof(t));
		if (load_quiet(&t, root, 4) >= 0) {
			printf("    online '%s' was accepted\n", bad[i]);
			unit_failed_checks++;
			topology_free(&t);
			continue;
		}
		/* A failed load leaves nothing to free. */
		CHECK(t.online == NULL && t.socket == NULL && t.package_id == NULL);
	}

	/* CPU 4 does not fit in 4 slots. */
	fixture_put(root, "online", "0-4\n");
	CHECK_EQ_U64(load_quiet(&t, root, 4), (unsigned long long)-EINVAL);

	/* Nothing online. */
	fixture_put(root, "online", "\n");
	CHECK_EQ_U64(load_quiet(&t, root, 4), (unsigned long long)-ENODEV);
	fixture_rmtree(root);
}

/* The members of set[0..n) that are true, as a string such as "0,1,8". */
static const char *members(const bool *set, int n)
{
	static char buf[256];
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		if (set[i])
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%d",
						off ? "," : "", i);
	return buf;
}

static void test_cpulist_valid(void)
{
	bool set[16];

	memset(set, 1, sizeof(set));
	CHECK_EQ_U64(bm_parse_cpulist("0-3,8,10-11", set, 16), 0);
	CHECK_STR(members(set, 16), "0,1,2,3,8,10,11");

	CHECK_EQ_U64(bm_parse_cpulist("5", set, 16), 0);
	CHECK_STR(members(set, 16), "5");

	/* A range of one and the highest CPU that fits. */
	CHECK_EQ_U64(bm_parse_cpulist("2-2,15", set, 16), 0);
	CHECK_STR(members(set, 16), "2,15");

	/* Unordered and overlapping pieces are fine. */
	CHECK_EQ_U64(bm_parse_cpulist("9,1-3,2", set, 16), 0);
	CHECK_STR(members(set, 16), "1,2,3,9");
}

static void test_cpulist_empty(void)
{
	bool set[8];

	/* Empty clears the whole bitmap, not just what it parsed. */
	memset(set, 1, sizeof(set));
	CHECK_EQ_U64(bm_parse_cpulist("", set, 8), 0);
	CHECK_STR(members(set, 8), "");
}

static void test_cpulist_trailing_newline(void)
{
	bool set[8];

	CHECK_EQ_U64(bm_parse_cpulist("0-3\n", set, 8), 0);
	CHECK_STR(members(set, 8), "0,1,2,3");
	CHECK_EQ_U64(bm_parse_cpulist("1,6\n", set, 8), 0);
	CHECK_STR(members(set, 8), "1,6");
}

static void test_cpulist_invalid(void)
{
	static const char *const bad[] = {
		"3-1", "a", "0-", "-1", ",1", "1,", "1,,2", "1-2-3", " 1", "1 ", "1;2", "0-a", "1x",
	};
	bool set[16];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = bm_parse_cpulist(bad[i], set, 16);

		if (ret != -EINVAL) {
			printf("    bm_parse_cpulist(\"%s\") == %d, expected -EINVAL\n", bad[i],
			       ret);
			unit_failed_checks++;
		}
	}
}

static void test_cpulist_out_of_range(void)
{
	bool set[16];

	CHECK_EQ_U64(bm_parse_cpulist("16", set, 16), (unsigned long long)-EINVAL);
	CHECK_EQ_U64(bm_parse_cpulist("0-16", set, 16), (unsigned long long)-EINVAL);
	CHECK_EQ_U64(bm_parse_cpulist("0,99999999999999999999", set, 16),
		     (unsigned long long)-EINVAL);
	CHECK_EQ_U64(bm_parse_cpulist("0", set, 0), (unsigned long long)-EINVAL);
	CHECK_EQ_U64(bm_parse_cpulist("15", set, 16), 0);
	CHECK_STR(members(set, 16), "15");
}

/* topology_refresh with its error messages kept off the test output. */
static int refresh_quiet(struct bm_topology *t, bool *up, bool *down, bool *unknown)
{
	struct capture err;
	int ret;

	capture_begin(&err, 2);
	ret = topology_refresh(t, up, down, unknown);
	capture_end(&err);
	return ret;
}

/* CPU hotplug: CPUs go and come back; the changes are reported once, the sockets kept. */
static void test_refresh_follows_hotplug(void)
{
	bool up[6], down[6], unknown[6];
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "topo"))
		return;
	fixture_put(root, "online", "0-3\n");
	put_package(root, 0, "0");
	put_package(root, 1, "0");
	put_package(root, 2, "1");
	put_package(root, 3, "1");
	fixture_put(root, "cpu3/topology/core_id", "7");
	CHECK_EQ_U64(topology_load(&t, root, 6), 0);
	CHECK_EQ_U64(t.nr_online, 4);

	/* Nothing changed: nothing reported, the arrays cleared of what was in them. */
	memset(up, 1, sizeof(up));
	memset(down, 1, sizeof(down));
	memset(unknown, 1, sizeof(unknown));
	CHECK_EQ_U64(topology_refresh(&t, up, down, unknown), 0);
	CHECK_STR(members(up, 6), "");
	CHECK_STR(members(down, 6), "");
	CHECK_STR(members(unknown, 6), "");

	/* cpu1 and cpu3 go: they keep their sockets, what ran there before is still theirs. */
	fixture_put(root, "online", "0,2\n");
	CHECK_EQ_U64(topology_refresh(&t, up, down, unknown), 0);
	CHECK_STR(members(down, 6), "1,3");
	CHECK_STR(members(up, 6), "");
	CHECK_EQ_U64(t.nr_online, 2);
	CHECK(!t.online[1] && !t.online[3]);
	CHECK_EQ_U64(t.socket[1], 0);
	CHECK_EQ_U64(t.socket[3], 1);
	CHECK_EQ_U64(topology_first_cpu(&t, 1), 2);
	CHECK_EQ_U64(topology_refresh(&t, up, down, NULL), 0);
	CHECK_STR(members(down, 6), "");

	/* cpu3 comes back, its core id changed meanwhile: read again. */
	fixture_put(root, "online", "0,2-3\n");
	fixture_put(root, "cpu3/topology/core_id", "9");
	CHECK_EQ_U64(topology_refresh(&t, up, down, unknown), 0);
	CHECK_STR(members(up, 6), "3");
	CHECK_STR(members(down, 6), "");
	CHECK_EQ_U64(t.nr_online, 3);
	CHECK(t.online[3]);
	CHECK_EQ_U64(t.socket[3], 1);
	CHECK_EQ_U64(t.core_id[3], 9);

	/*
	 * cpu4, offline at load, comes up in package 0; cpu5 in package 5, which has no socket
	 * index: left out, said once, and no new socket is made.
	 */
	fixture_put(root, "online", "0,2-5\n");
	put_package(root, 4, "0");
	put_package(root, 5, "5");
	CHECK_EQ_U64(topology_refresh(&t, up, down, unknown), 0);
	CHECK_STR(members(up, 6), "4");
	CHECK_STR(members(unknown, 6), "5");
	CHECK_EQ_U64(t.socket[4], 0);
	CHECK(t.socket[5] == -1);
	CHECK(!t.online[5] && t.unknown_package[5]);
	CHECK_EQ_U64(t.nr_online, 4);
	CHECK_EQ_U64(t.nr_sockets, 2);
	CHECK_EQ_U64(topology_refresh(&t, up, down, unknown), 0);
	CHECK_STR(members(up, 6), "");
	CHECK_STR(members(unknown, 6), "");

	/* cpu5 goes (nothing to report: it was never in) and comes back in package 1. */
	fixture_put(root, "online", "0,2-4\n");
	CHECK_EQ_U64(topology_refresh(&t, up, down, unknown), 0);
	CHECK_STR(members(down, 6), "");
	CHECK(!t.unknown_package[5]);
	fixture_put(root, "online", "0-5\n");
	put_package(root, 5, "1");
	CHECK_EQ_U64(topology_refresh(&t, up, down, unknown), 0);
	CHECK_STR(members(up, 6), "1,5");
	CHECK_STR(members(unknown, 6), "");
	CHECK_EQ_U64(t.socket[5], 1);
	CHECK_EQ_U64(t.nr_online, 6);
	topology_free(&t);
	fixture_rmtree(root);
}

/* An online list that cannot be read or parsed leaves the topology as it was. */
static void test_refresh_error_keeps_topology(void)
{
	bool up[2], down[2];
	struct bm_topology t;
	char root[64];

	if (!fixture_mkdtemp(root, sizeof(root), "topo"))
		return;
	fixture_put(root, "online", "0-1\n");
	CHECK_EQ_U64(topology_load(&t, root, 2), 0);
	fixture_put(root, "online", "0-7\n");
	CHECK_EQ_U64(refresh_quiet(&t, up, down, NULL), (unsigned long long)-EINVAL);
	fixture_put(root, "online", NULL);
	CHECK(refresh_quiet(&t, up, down, NULL) < 0);
	CHECK_STR(members(up, 2), "");
	CHECK_STR(members(down, 2), "");
	CHECK_EQ_U64(t.nr_online, 2);
	CHECK(t.online[0] && t.online[1]);
	topology_free(&t);

	/* A hand-made topology has no sysfs to read again. */
	fixture_topology(&t, 2, (const int[]){ 0, 0 }, NULL, NULL);
	CHECK_EQ_U64(topology_refresh(&t, up, NULL, NULL), (unsigned long long)-EINVAL);
	topology_free(&t);
	fixture_rmtree(root);
}

const struct unit_test topology_tests[] = {
	{ "topology/two_sockets", test_two_sockets },
	{ "topology/sockets_in_package_order", test_sockets_in_package_order },
	{ "topology/sparse_package_ids_are_made_dense", test_sparse_package_ids_are_made_dense },
	{ "topology/offline_cpus", test_offline_cpus },
	{ "topology/missing_package_id", test_missing_package_id },
	{ "topology/package_id_minus_one", test_package_id_minus_one },
	{ "topology/bad_online_lists", test_bad_online_lists },
	{ "topology/refresh_follows_hotplug", test_refresh_follows_hotplug },
	{ "topology/refresh_error_keeps_topology", test_refresh_error_keeps_topology },
	{ "cpulist/valid", test_cpulist_valid },
	{ "cpulist/empty", test_cpulist_empty },
	{ "cpulist/trailing_newline", test_cpulist_trailing_newline },
	{ "cpulist/invalid", test_cpulist_invalid },
	{ "cpulist/out_of_range", test_cpulist_out_of_range },
	{ NULL, NULL },
};
