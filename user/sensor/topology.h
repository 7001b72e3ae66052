/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_TOPOLOGY_H
#define BM_TOPOLOGY_H

#include <stdbool.h>

/* Which CPUs are online and which socket (package) each belongs to. */
struct bm_topology {
	char *root; /* the sysfs directory it was read from, for topology_refresh() */
	int nr_cpus; /* CPU number slots: highest possible CPU + 1 */
	bool *online; /* [nr_cpus] */
	/*
	 * [nr_cpus]: dense socket index, -1 for a CPU not online since the topology was read.
	 * A CPU that went offline keeps its socket: what ran there before is still its socket's.
	 */
	int *socket;
	/* [nr_cpus]: online, but in a package that has no socket index here, so not measured */
	bool *unknown_package;
	int *package_id; /* [nr_sockets]: physical_package_id of each socket index */
	int *die_id; /* [nr_cpus]: die within the package (0 where sysfs has no die_id) */
	int *core_id; /* [nr_cpus]: core within the package, -1 when unknown */
	int nr_sockets;
	int nr_online;
};

/*
 * Read the topology under root (normally "/sys/devices/system/cpu"). nr_cpu_slots is the
 * number of possible CPUs. Returns 0 or a negative errno, with a message on stderr.
 */
int topology_load(struct bm_topology *t, const char *root, int nr_cpu_slots);
void topology_free(struct bm_topology *t);
/*
 * Read root/online again after CPU hotplug. A CPU that came online takes the socket of its
 * package, and its die and core ids; one in a package without a socket index is left out
 * (online[] false, unknown_package[] true), since everything downstream has a slot per
 * socket known at the start. The nr_cpus-long arrays, each may be NULL, say what changed:
 * up[] came online, down[] went offline, unknown[] came online in an unknown package.
 * Returns 0, or a negative errno after a message, with the topology unchanged.
 */
int topology_refresh(struct bm_topology *t, bool *up, bool *down, bool *unknown);
/* The socket index of a physical package id, or -1. */
int topology_socket_of_package(const struct bm_topology *t, int package_id);
/*
 * The socket index of a package that has no online CPU but is known otherwise (a powercap
 * zone of it, or one a VM's host exports), added when new.
 */
int topology_add_package(struct bm_topology *t, int package_id);
/* The lowest online CPU of a socket index, or -1. */
int topology_first_cpu(const struct bm_topology *t, int socket);

#endif
