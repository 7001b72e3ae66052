/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fixtures the unit tests share: temporary directory trees standing in for sysfs, /dev or a
 * cgroup2 mount, small hand-made topologies, captured output, and a check on messages. A
 * failure to build a fixture prints a line and counts as a failed check.
 */
#ifndef BM_FIXTURE_H
#define BM_FIXTURE_H

#include <stddef.h>
#include <stdio.h>

#include "topology.h"
#include "unit.h"

/* The string hay says needle somewhere. */
#define CHECK_HAS(hay, needle)                                                            \
	do {                                                                              \
		if (!strstr((hay), (needle))) {                                           \
			printf("    check failed at %s:%d: \"%s\" does not say \"%s\"\n", \
			       __FILE__, __LINE__, (hay), (needle));                      \
			unit_failed_checks++;                                             \
		}                                                                         \
	} while (0)

/* A new empty directory /tmp/bm-<tag>-XXXXXX, its name in root[size]; NULL on failure. */
char *fixture_mkdtemp(char *root, size_t size, const char *tag);
/* Remove root and everything below it, not following symbolic links: 0, or -1 said why. */
int fixture_rmtree(const char *root);
/* Write text to root/rel, creating the directories on the way; NULL text removes the file. */
void fixture_put(const char *root, const char *rel, const char *text);

/* Write text to a new file /tmp/bm-<tag>-XXXXXX, its name in path[size]. */
void fixture_tmpfile(char *path, size_t size, const char *tag, const char *text);
/*
 * A parser's error message err about the file path, with path replaced by "F" so tests can
 * compare it; "" where ret is 0 (it parsed).
 */
void fixture_errmsg(char *msg, size_t size, int ret, const char *err, const char *path);

/*
 * A topology of nr_cpus CPU slots: CPU c on socket sock[c], die die[c] (die NULL: 0) and core
 * core[c] (core NULL: c); a CPU on socket -1 is offline. Socket k has package id k. Every
 * array is on the heap, as topology_load() leaves them: free with topology_free().
 */
void fixture_topology(struct bm_topology *t, int nr_cpus, const int *sock, const int *die,
		      const int *core);

/* What fd 1 or 2 received between capture_begin() and capture_end(). */
struct capture {
	int fd, saved;
	FILE *tmp;
	char text[4096];
};

void capture_begin(struct capture *c, int fd);
void capture_end(struct capture *c);

#endif
