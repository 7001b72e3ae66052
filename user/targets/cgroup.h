/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_CGROUP_H
#define BM_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "idvec.h"

/*
 * Find the cgroup2 mount point in a mountinfo file (normally /proc/self/mountinfo).
 * Returns 0, -ENOENT when there is none, or another negative errno.
 */
int cgroup_find_mount(FILE *mountinfo, char *out, size_t size);

/* The cgroup v2 id of a cgroup directory (the kernfs node id the BPF helpers return). */
int cgroup_id_of(const char *path, uint64_t *id);

struct cgroup_entry {
	uint64_t id;
	char *path; /* relative to the mount, "/" for the root */
	bool gone; /* the directory no longer exists: keep the name for its last report */
	bool unresolved; /* not found in the tree: path is "cgroup-<id>" */
};

/* id -> name cache over one cgroup2 mount. */
struct cgroup_names {
	char *mount;
	struct idvec ids; /* of struct cgroup_entry */
	unsigned int scans;
	bool may_rescan; /* set by the caller once per interval: at most one walk each */
	double scan_s; /* how long the last walk took */
	bool at_root; /* the mount is the hierarchy's root (id 1): its paths are the kernel's */
	double next_scan; /* no walk for an unknown id before then (monotonic s) */
	unsigned long version; /* grows whenever a known id's path changes or one is forgotten */
};

int cgroup_names_init(struct cgroup_names *c, const char *mount);
void cgroup_names_free(struct cgroup_names *c);
/* Walk the whole hierarchy and learn every cgroup's id. Returns 0 or a negative errno. */
int cgroup_names_scan(struct cgroup_names *c);
/*
 * The name of id. An unknown id walks the tree again (when may_rescan, which this clears,
 * and walks take at most 2 % of the time);
 * one still not found is remembered as "cgroup-<id>". The string stays valid until the next
 * walk or cgroup_names_forget().
 */
const char *cgroup_names_get(struct cgroup_names *c, uint64_t id);
/*
 * A cgroup the kernel made, with its path from the hierarchy's root (the cgroup_mkdir hook).
 * Taken where the mount is that root (a cgroup namespace would see other paths), else left
 * to the walk.
 */
void cgroup_names_learn(struct cgroup_names *c, uint64_t id, const char *path);
/* True when the cgroup directory of a known id is gone (checked now, remembered). */
bool cgroup_names_is_gone(struct cgroup_names *c, uint64_t id);
/* Forget an id whose last interval has been reported. */
void cgroup_names_forget(struct cgroup_names *c, uint64_t id);

#endif
