// SPDX-License-Identifier: BSD-2-Clause
/*
 * cgroup_find_mount() on mountinfo text, and the id -> name cache on a plain directory tree
 * standing in for a cgroup2 hierarchy.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "fixture.h"
#include "unit.h"

static int find_in(const char *text, char *out, size_t size)
{
	char *copy = strdup(text);
	FILE *f;
	int ret;

	f = fmemopen(copy, strlen(copy), "r");
	if (!f) {
		printf("    fmemopen: %s\n", strerror(errno));
		free(copy);
		return -999;
	}
	ret = cgroup_find_mount(f, out, size);
	fclose(f);
	free(copy);
	return ret;
}

/* Lines every host has, none of them cgroup2. */
#define MI_COMMON                                                                       \
	"22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"                      \
	"23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n" \
	"24 22 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n" \
	"25 24 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755\n"

static void test_mount_pure_cgroup2(void)
{
	char out[PATH_MAX];

	CHECK_EQ_U64(find_in("22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
			     "29 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 "
			     "- cgroup2 cgroup2 rw,nsdelegate\n"
			     "30 22 0:27 / /run rw,nosuid,nodev shared:10 - tmpfs tmpfs rw\n",
			     out, sizeof(out)),
		     0);
	CHECK_STR(out, "/sys/fs/cgroup");
}

static void test_mount_hybrid(void)
{
	char out[PATH_MAX];

	/* The v1 hierarchies come first and are of type "cgroup": skipped. */
	CHECK_EQ_U64(
		find_in(MI_COMMON
			"26 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime "
			"shared:6 - cgroup cgroup rw,xattr,name=systemd\n"
			"27 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime "
			"shared:7 - cgroup cgroup rw,cpu,cpuacct\n"
			"28 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime "
			"shared:5 - cgroup2 cgroup2 rw,nsdelegate\n"
			"31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime "
			"shared:8 - cgroup cgroup rw,memory\n",
			out, sizeof(out)),
		0);
	CHECK_STR(out, "/sys/fs/cgroup/unified");
}

static void test_mount_none(void)
{
	char out[PATH_MAX] = "untouched";

	CHECK_EQ_U64(find_in(MI_COMMON "26 25 0:24 / /sys/fs/cgroup/systemd rw,relatime shared:6 "
				       "- cgroup cgroup rw,xattr,name=systemd\n"
				       /* cgroup2 as the source, not the type, does not count. */
				       "40 22 0:30 / /mnt/x rw - tmpfs cgroup2 rw\n"
				       /* Nor in the mount point. */
				       "41 22 0:31 / /cgroup2 rw shared:3 - tmpfs tmpfs rw\n",
			     out, sizeof(out)),
		     (unsigned long long)-ENOENT);
	CHECK_STR(out, "untouched");
	CHECK_EQ_U64(find_in("", out, sizeof(out)), (unsigned long long)-ENOENT);
	/* Lines without the " - " separator are skipped, not misparsed. */
	CHECK_EQ_U64(find_in("garbage cgroup2 cgroup2\n\n", out, sizeof(out)),
		     (unsigned long long)-ENOENT);
}

static void test_mount_escaped(void)
{
	char out[PATH_MAX];

	CHECK_EQ_U64(find_in(MI_COMMON "40 22 0:30 / /mnt/my\\040cgroups rw,relatime shared:20 - "
				       "cgroup2 none rw\n",
			     out, sizeof(out)),
		     0);
	CHECK_STR(out, "/mnt/my cgroups");

	/* Tab, backslash and newline escapes too. */
	CHECK_EQ_U64(find_in("40 22 0:30 / /mnt/a\\011b\\134c\\012d rw - cgroup2 none rw\n", out,
			     sizeof(out)),
		     0);
	CHECK_STR(out, "/mnt/a\tb\\c\nd");
}

static void test_mount_optional_fields(void)
{
	char out[PATH_MAX];

	/* No optional field at all. */
	CHECK_EQ_U64(
		find_in("35 24 0:29 / /cg0 rw,relatime - cgroup2 cgroup2 rw\n", out, sizeof(out)),
		0);
	CHECK_STR(out, "/cg0");

	/* Several. */
	CHECK_EQ_U64(find_in(MI_COMMON "36 24 0:29 / /cg3 rw,relatime shared:5 master:1 "
				       "propagate_from:2 unbindable - cgroup2 cgroup2 rw\n",
			     out, sizeof(out)),
		     0);
	CHECK_STR(out, "/cg3");

	/* A container's view: root is not "/", and the last line has no newline. */
	CHECK_EQ_U64(find_in(MI_COMMON "37 24 0:29 /kubepods/pod1 /sys/fs/cgroup ro,nosuid "
				       "master:9 - cgroup2 cgroup rw",
			     out, sizeof(out)),
		     0);
	CHECK_STR(out, "/sys/fs/cgroup");
}

static void test_mount_too_long(void)
{
	char out[8];

	/* "/sys/fs/cgroup" and its NUL do not fit in 8 bytes. */
	CHECK(find_in(MI_COMMON "29 24 0:26 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw\n",
		      out, sizeof(out)) < 0);
	CHECK_EQ_U64(find_in("29 24 0:26 / /cg rw - cgroup2 cgroup2 rw\n", out, 4), 0);
	CHECK_STR(out, "/cg");
}

/* A directory tree standing in for a cgroup2 mount: removed by fixture_rmtree(). */
struct tree {
	char root[64];
	uint64_t id_root, id_a, id_ab, id_c;
};

static uint64_t id_of(const char *root, const char *rel)
{
	char path[PATH_MAX];
	uint64_t id = 0;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if (cgroup_id_of(path, &id)) {
		printf("    cgroup_id_of(%s) failed\n", path);
		unit_failed_checks++;
	}
	return id;
}

static void mkdir_in(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if (mkdir(path, 0755)) {
		printf("    mkdir %s: %s\n", path, strerror(errno));
		unit_failed_checks++;
	}
}

static void rmdir_in(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if (rmdir(path)) {
		printf("    rmdir %s: %s\n", path, strerror(errno));
		unit_failed_checks++;
	}
}

/* root/{a/b, c}, with the names cache initialised and scanned once. */
static int tree_new(struct tree *t, struct cgroup_names *n)
{
	if (!fixture_mkdtemp(t->root, sizeof(t->root), "cgroup"))
		return -1;
	mkdir_in(t->root, "/a");
	mkdir_in(t->root, "/a/b");
	mkdir_in(t->root, "/c");
	t->id_root = id_of(t->root, "");
	t->id_a = id_of(t->root, "/a");
	t->id_ab = id_of(t->root, "/a/b");
	t->id_c = id_of(t->root, "/c");
	if (cgroup_names_init(n, t->root)) {
		unit_failed_checks++;
		fixture_rmtree(t->root);
		return -1;
	}
	if (cgroup_names_scan(n)) {
		printf("    cgroup_names_scan(%s) failed\n", t->root);
		unit_failed_checks++;
	}
	return 0;
}

/* An id, start or below, that no directory of the tree has. */
static uint64_t unknown_id(const struct tree *t, uint64_t start)
{
	uint64_t id = start;

	while (id == t->id_root || id == t->id_a || id == t->id_ab || id == t->id_c)
		id--;
	return id;
}

static void test_names_resolve(void)
{
	struct cgroup_names n;
	struct tree t;

	if (tree_new(&t, &n))
		return;
	CHECK_EQ_U64(n.scans, 1);
	/* Four distinct ids: the directories are told apart. */
	CHECK(t.id_root != t.id_a && t.id_a != t.id_ab && t.id_ab != t.id_c &&
	      t.id_root != t.id_c && t.id_a != t.id_c && t.id_root != t.id_ab);
	CHECK_EQ_U64(n.ids.n, 4);
	CHECK_STR(cgroup_names_get(&n, t.id_root), "/");
	CHECK_STR(cgroup_names_get(&n, t.id_a), "/a");
	CHECK_STR(cgroup_names_get(&n, t.id_ab), "/a/b");
	CHECK_STR(cgroup_names_get(&n, t.id_c), "/c");
	CHECK(!cgroup_names_is_gone(&n, t.id_root));
	CHECK(!cgroup_names_is_gone(&n, t.id_a));
	CHECK(!cgroup_names_is_gone(&n, t.id_ab));
	CHECK(!cgroup_names_is_gone(&n, t.id_c));
	/* Known ids never walk the tree again. */
	CHECK_EQ_U64(n.scans, 1);
	cgroup_names_free(&n);
	CHECK(n.mount == NULL && n.ids.n == 0);
	fixture_rmtree(t.root);
}

static void test_names_unknown_id(void)
{
	struct cgroup_names n;
	struct tree t;
	uint64_t id;
	char want[64];

	if (tree_new(&t, &n))
		return;
	id = unknown_id(&t, UINT64_MAX - 5);
	snprintf(want, sizeof(want), "cgroup-%llu", (unsigned long long)id);

	/* Unknown: one more walk (allowed), then the placeholder name. */
	n.may_rescan = true;
	CHECK_STR(cgroup_names_get(&n, id), want);
	CHECK_EQ_U64(n.scans, 2);
	CHECK(!n.may_rescan);
	CHECK(cgroup_names_is_gone(&n, id));

	/* Remembered: asking again neither walks nor changes the name. */
	n.may_rescan = true;
	CHECK_STR(cgroup_names_get(&n, id), want);
	CHECK_EQ_U64(n.scans, 2);
	CHECK(cgroup_names_is_gone(&n, id));

	/* An id never asked about is gone too, and asking does not remember it. */
	CHECK(cgroup_names_is_gone(&n, unknown_id(&t, id - 1)));
	CHECK_EQ_U64(n.ids.n, 5);
	cgroup_names_free(&n);
	fixture_rmtree(t.root);
}

static void test_names_removed_dir(void)
{
	struct cgroup_names n;
	struct tree t;
	char want[64];

	if (tree_new(&t, &n))
		return;
	rmdir_in(t.root, "/c");

	/* The name outlives the directory, for its last report. */
	CHECK_STR(cgroup_names_get(&n, t.id_c), "/c");
	CHECK(cgroup_names_is_gone(&n, t.id_c));
	CHECK(cgroup_names_is_gone(&n, t.id_c)); /* remembered */
	CHECK_STR(cgroup_names_get(&n, t.id_c), "/c");
	/* Its neighbours are unaffected. */
	CHECK(!cgroup_names_is_gone(&n, t.id_a));
	CHECK(!cgroup_names_is_gone(&n, t.id_ab));

	cgroup_names_forget(&n, t.id_c);
	CHECK_EQ_U64(n.ids.n, 3);
	CHECK(idvec_find(&n.ids, t.id_c) == NULL);
	/* Forgotten: asked again without a walk, it is unknown. */
	snprintf(want, sizeof(want), "cgroup-%llu", (unsigned long long)t.id_c);
	n.may_rescan = false;
	CHECK_STR(cgroup_names_get(&n, t.id_c), want);
	CHECK_STR(cgroup_names_get(&n, t.id_ab), "/a/b");

	/* Forgetting an unknown id is harmless. */
	cgroup_names_forget(&n, unknown_id(&t, UINT64_MAX - 5));
	CHECK_EQ_U64(n.ids.n, 4);
	cgroup_names_free(&n);
	fixture_rmtree(t.root);
}

static void test_names_new_dir_needs_rescan(void)
{
	struct cgroup_names n;
	struct tree t;
	uint64_t id_d, id_e;
	char want[64];

	if (tree_new(&t, &n))
		return;
	mkdir_in(t.root, "/d");
	mkdir_in(t.root, "/a/e");
	id_d = id_of(t.root, "/d");
	id_e = id_of(t.root, "/a/e");

	/* No walk allowed: the placeholder, and no walk happened. */
	n.may_rescan = false;
	snprintf(want, sizeof(want), "cgroup-%llu", (unsigned long long)id_d);
	CHECK_STR(cgroup_names_get(&n, id_d), want);
	CHECK_EQ_U64(n.scans, 1);
	cgroup_names_forget(&n, id_d);

	/* Allowed: one walk finds it, and uses up the allowance. */
	n.may_rescan = true;
	CHECK_STR(cgroup_names_get(&n, id_d), "/d");
	CHECK_EQ_U64(n.scans, 2);
	CHECK(!n.may_rescan);
	CHECK(!cgroup_names_is_gone(&n, id_d));
	/* That walk learnt every new directory, so this needs none. */
	CHECK_STR(cgroup_names_get(&n, id_e), "/a/e");
	CHECK_EQ_U64(n.scans, 2);
	cgroup_names_free(&n);
	fixture_rmtree(t.root);
}

static void test_names_walk_resolves_placeholder(void)
{
	struct cgroup_names n;
	struct tree t;
	uint64_t id_d;
	char want[64];

	if (tree_new(&t, &n))
		return;
	mkdir_in(t.root, "/d");
	id_d = id_of(t.root, "/d");
	snprintf(want, sizeof(want), "cgroup-%llu", (unsigned long long)id_d);
	n.may_rescan = false;
	CHECK_STR(cgroup_names_get(&n, id_d), want);
	CHECK(cgroup_names_is_gone(&n, id_d));

	/* The next walk gives the placeholder its real name back. */
	CHECK_EQ_U64(cgroup_names_scan(&n), 0);
	CHECK_STR(cgroup_names_get(&n, id_d), "/d");
	CHECK(!cgroup_names_is_gone(&n, id_d));
	CHECK_EQ_U64(n.ids.n, 5);
	cgroup_names_free(&n);
	fixture_rmtree(t.root);
}

static void test_names_scan_missing_mount(void)
{
	struct cgroup_names n;

	CHECK_EQ_U64(cgroup_names_init(&n, "/nonexistent/bm-cgroup-test"), 0);
	CHECK(cgroup_names_scan(&n) < 0);
	CHECK_EQ_U64(n.ids.n, 0);
	cgroup_names_free(&n);
}

const struct unit_test cgroup_tests[] = {
	{ "cgroup/mount_pure_cgroup2", test_mount_pure_cgroup2 },
	{ "cgroup/mount_hybrid", test_mount_hybrid },
	{ "cgroup/mount_none", test_mount_none },
	{ "cgroup/mount_escaped", test_mount_escaped },
	{ "cgroup/mount_optional_fields", test_mount_optional_fields },
	{ "cgroup/mount_too_long", test_mount_too_long },
	{ "cgroup/names_resolve", test_names_resolve },
	{ "cgroup/names_unknown_id", test_names_unknown_id },
	{ "cgroup/names_removed_dir", test_names_removed_dir },
	{ "cgroup/names_new_dir_needs_rescan", test_names_new_dir_needs_rescan },
	{ "cgroup/names_walk_resolves_placeholder", test_names_walk_resolves_placeholder },
	{ "cgroup/names_scan_missing_mount", test_names_scan_missing_mount },
	{ NULL, NULL },
};
