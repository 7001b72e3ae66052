/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_SPOOL_H
#define BM_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/*
 * The on-disk queue behind out_http: one file per batch, named by a 20-digit zero-padded
 * sequence number (00000000000000000042.lp) so that the names sort in queueing order and a
 * restart carries on after the largest one. A batch is durable once spool_put() returned.
 *
 * Not thread-safe: the caller serialises every call, except that spool_read() uses only what
 * spool_open() set and so may run while another thread changes the queue under the lock.
 */
struct spool_batch {
	uint64_t seq;
	uint64_t bytes;
	uint64_t points; /* non-empty lines */
};

struct spool {
	char *dir;
	int dirfd; /* holds an exclusive flock: one process per spool */
	struct spool_batch *b; /* oldest first */
	size_t n, cap;
	uint64_t bytes; /* the sum of b[].bytes */
	uint64_t next_seq;
};

/*
 * Before anything is loaded: whether spool_open() can use dir (an existing directory that
 * root can write and no other process spools in, or one it can make in the nearest directory
 * that exists). Nothing is made. 0, or -1 with a one-line reason in err.
 */
int spool_check(const char *dir, char *err, size_t errlen);
/* Create dir (mode 0700, parents too) if missing, check it is writable, index what it holds. */
int spool_open(struct spool *s, const char *dir, char *err, size_t errlen);
void spool_close(struct spool *s);
/* Write a batch as the newest: 0 or a negative errno, and then nothing was queued. */
int spool_put(struct spool *s, const char *data, size_t len);
/* The batch's bytes in a malloc'd, NUL-terminated *data. 0 or a negative errno. */
int spool_read(const struct spool *s, uint64_t seq, char **data, size_t *len);
/* Forget the batch and delete its file. */
void spool_remove(struct spool *s, uint64_t seq);
/*
 * Delete the oldest batches, except the one numbered keep (0: none), until the total is at
 * most max bytes; add what went to *batches and *points.
 */
void spool_trim(struct spool *s, uint64_t max, uint64_t keep, uint64_t *batches, uint64_t *points);
uint64_t spool_count_points(const char *data, size_t len);

#endif
