// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"
#include "util.h"

void topology_free(struct bm_topology *t)
{
	free(t->root);
	free(t->unknown_package);
	free(t->online);
	free(t->socket);
	free(t->package_id);
	free(t->die_id);
	free(t->core_id);
	memset(t, 0, sizeof(*t));
}

static int socket_index(struct bm_topology *t, int pkg)
{
	for (int i = 0; i < t->nr_sockets; i++)
		if (t->package_id[i] == pkg)
			return i;
	t->package_id[t->nr_sockets] = pkg;
	return t->nr_sockets++;
}

/* topology/<name> of a CPU, or fallback where the kernel does not have it. */
static int read_id(const char *root, int cpu, const char *name, int fallback)
{
	char path[PATH_MAX], buf[64];
	uint64_t v;

	snprintf(path, sizeof(path), "%s/cpu%d/topology/%s", root, cpu, name);
	if (bm_read_file(path, buf, sizeof(buf)) || bm_parse_u64(buf, 0, INT_MAX, &v))
		return fallback;
	return (int)v;
}

int topology_socket_of_package(const struct bm_topology *t, int package_id)
{
	for (int i = 0; i < t->nr_sockets; i++)
		if (t->package_id[i] == package_id)
			return i;
	return -1;
}

int topology_add_package(struct bm_topology *t, int package_id)
{
	int k = topology_socket_of_package(t, package_id);

	if (k >= 0)
		return k;
	t->package_id = bm_realloc_array(t->package_id, (size_t)t->nr_sockets + 1, sizeof(int));
	t->package_id[t->nr_sockets] = package_id;
	return t->nr_sockets++;
}

int topology_first_cpu(const struct bm_topology *t, int socket)
{
	for (int cpu = 0; cpu < t->nr_cpus; cpu++)
		if (t->online[cpu] && t->socket[cpu] == socket)
			return cpu;
	return -1;
}

/* A CPU's package id (0 where sysfs has none), with its die and core ids into t. */
static int read_cpu(struct bm_topology *t, const char *root, int cpu)
{
	char path[PATH_MAX], buf[64];
	uint64_t pkg;

	snprintf(path, sizeof(path), "%s/cpu%d/topology/physical_package_id", root, cpu);
	if (bm_read_file(path, buf, sizeof(buf)) || bm_parse_u64(buf, 0, INT_MAX, &pkg)) {
		/* Some VMs and old kernels lack it (or say -1): one socket. */
		bm_debug("no package id for cpu%d in %s: taking socket 0", cpu, path);
		pkg = 0;
	}
	t->die_id[cpu] = read_id(root, cpu, "die_id", 0);
	t->core_id[cpu] = read_id(root, cpu, "core_id", -1);
	return (int)pkg;
}

/* root/online into set[t->nr_cpus]; a negative errno after a message. */
static int read_online(const struct bm_topology *t, const char *root, bool *set)
{
	char path[PATH_MAX], buf[4096];
	int err;

	snprintf(path, sizeof(path), "%s/online", root);
	err = bm_read_file(path, buf, sizeof(buf));
	if (err) {
		bm_err("cannot read %s: %s (is sysfs mounted?)", path, strerror(-err));
		return err;
	}
	if (bm_parse_cpulist(buf, set, t->nr_cpus)) {
		bm_err("cannot parse the CPU list '%s' in %s", buf, path);
		return -EINVAL;
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int topology_load(struct bm_topology *t, const char *root, int nr_cpu_slots)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->nr_cpus = nr_cpu_slots;
	t->online = bm_calloc((size_t)nr_cpu_slots, sizeof(*t->online));
	t->socket = bm_calloc((size_t)nr_cpu_slots, sizeof(*t->socket));
	t->package_id = bm_calloc((size_t)nr_cpu_slots, sizeof(*t->package_id));
	t->die_id = bm_calloc((size_t)nr_cpu_slots, sizeof(*t->die_id));
	t->core_id = bm_calloc((size_t)nr_cpu_slots, sizeof(*t->core_id));
	t->unknown_package = bm_calloc((size_t)nr_cpu_slots, sizeof(*t->unknown_package));
	t->root = strdup(root);
	if (!t->root) {
		bm_err("out of memory");
		exit(1);
	}

	err = read_online(t, root, t->online);
	if (err)
		goto fail;

	/* Sockets are numbered in the order of their package ids, so output is stable. */
	int *pkgs = bm_calloc((size_t)nr_cpu_slots, sizeof(int));
	for (int cpu = 0; cpu < nr_cpu_slots; cpu++) {
		t->socket[cpu] = -1;
		t->core_id[cpu] = -1;
		if (!t->online[cpu])
			continue;
		t->nr_online++;
		pkgs[cpu] = read_cpu(t, root, cpu);
	}
	int *sorted = bm_calloc((size_t)nr_cpu_slots, sizeof(int));
	int n = 0;
	for (int cpu = 0; cpu < nr_cpu_slots; cpu++)
		if (t->online[cpu])
			sorted[n++] = pkgs[cpu];
	qsort(sorted, (size_t)n, sizeof(int), cmp_int);
	for (int i = 0; i < n; i++)
		socket_index(t, sorted[i]);
	for (int cpu = 0; cpu < nr_cpu_slots; cpu++)
		if (t->online[cpu])
			t->socket[cpu] = socket_index(t, pkgs[cpu]);
	free(sorted);
	free(pkgs);
	if (!t->nr_online) {
		bm_err("no online CPU listed in %s/online", root);
		err = -ENODEV;
		goto fail;
	}
	return 0;
fail:
	topology_free(t);
	return err;
}

int topology_refresh(struct bm_topology *t, bool *up, bool *down, bool *unknown)
{
	bool *now;
	int err;

	for (int cpu = 0; cpu < t->nr_cpus; cpu++) {
		if (up)
			up[cpu] = false;
		if (down)
			down[cpu] = false;
		if (unknown)
			unknown[cpu] = false;
	}
	if (!t->root)
		return -EINVAL;
	now = bm_calloc((size_t)t->nr_cpus, sizeof(*now));
	err = read_online(t, t->root, now);
	for (int cpu = 0; cpu < t->nr_cpus && !err; cpu++) {
		int k;

		if (!now[cpu]) {
			t->unknown_package[cpu] = false;
			if (t->online[cpu]) {
				t->online[cpu] = false;
				t->nr_online--;
				if (down)
					down[cpu] = true;
			}
			continue;
		}
		if (t->online[cpu] || t->unknown_package[cpu])
			continue;
		k = topology_socket_of_package(t, read_cpu(t, t->root, cpu));
		t->socket[cpu] = k;
		if (k < 0) {
			t->unknown_package[cpu] = true;
			if (unknown)
				unknown[cpu] = true;
			continue;
		}
		t->online[cpu] = true;
		t->nr_online++;
		if (up)
			up[cpu] = true;
	}
	free(now);
	return err;
}
