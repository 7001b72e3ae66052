/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_TOPOLOGY_H
#define BM_TOPOLOGY_H

#include <stdbool.h>

/* Which CPUs are online and which socket (package) each belongs to. */
struct bm_topology {
	int nr_cpus; /* CPU number slots: highest possible CPU + 1 */
	bool *online; /* [nr_cpus] */
	int *socket; /* [nr_cpus]: dense socket index, -1 when offline */
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
