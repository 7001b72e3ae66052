// SPDX-License-Identifier: BSD-2-Clause
/*
 * The spool an earlier run left (--spool-dir DIR), as the InfluxDB HTTP sink reads it back at
 * its start: the input's first line is a file's name (of [a-z0-9:._-], empty: the first batch,
 * 00000000000000000001.lp), the rest its bytes, put in a fresh directory. spool_open() indexes
 * it, spool_read() reads back each batch it found, spool_put() queues one more, and a second
 * spool_open() must find the same queue: what a restart sends. No server: the sink's
 * posting is not run.
 */
#include <fcntl.h>

#include "fuzz.h"
#include "spool.h"

static void check_same(const struct spool *a, const struct spool *b)
{
	if (a->n != b->n || a->bytes != b->bytes || a->next_seq != b->next_seq)
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (a->b[i].seq != b->b[i].seq || a->b[i].bytes != b->b[i].bytes ||
		    a->b[i].points != b->b[i].points)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char more[] = "bpfmeter_energy,host=h,socket=0,domain=package energy_j=1 1\n";
	const char *dir = fuzz_dir("spool"), *nl = memchr(data, '\n', size);
	size_t nlen = nl ? (size_t)(nl - (const char *)data) : 0, total = 0;
	char name[64] = "00000000000000000001.lp", path[256], err[1024];
	struct spool s, again;
	int fd;

	if (nl && nlen) {
		if (nlen >= sizeof(name))
			return 0;
		memcpy(name, data, nlen);
		name[nlen] = '\0';
		if (strchr(name, '/') || !fuzz_safe_path(name) || !strcmp(name, "."))
			return 0;
	}
	if (nl) {
		data += nlen + 1;
		size -= nlen + 1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	if (spool_open(&s, dir, err, sizeof(err)))
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		char *b;
		size_t len;

		if (spool_read(&s, s.b[i].seq, &b, &len) || len != s.b[i].bytes ||
		    spool_count_points(b, len) != s.b[i].points || b[len])
			abort();
		if (i && s.b[i - 1].seq >= s.b[i].seq)
			abort(); /* oldest first */
		total += len;
		free(b);
	}
	if (total != s.bytes)
		abort();
	/* The next batch goes after every one found, and a restart finds it there. */
	if (!spool_put(&s, more, sizeof(more) - 1)) {
		if (s.n > 1 && s.b[s.n - 2].seq >= s.b[s.n - 1].seq)
			abort();
		fd = s.dirfd;
		s.dirfd = -1;
		close(fd); /* its lock with it, for the second open */
		if (spool_open(&again, dir, err, sizeof(err)))
			abort();
		check_same(&s, &again);
		spool_close(&again);
	}
	spool_close(&s);
	return 0;
}
