// SPDX-License-Identifier: BSD-2-Clause
/* The on-disk batch queue of the InfluxDB HTTP sink: see spool.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"

#define SEQ_DIGITS 20 /* UINT64_MAX has 20 digits */
#define SEQ_MAX (UINT64_MAX - 1) /* the largest batch number, so that next_seq never wraps */
#define NAME_LEN (SEQ_DIGITS + 3)
#define PROBE_NAME ".write-test"

static void batch_name(char *buf, size_t size, uint64_t seq)
{
	snprintf(buf, size, "%020" PRIu64 ".lp", seq);
}

/* Temporary names start with a dot, so that no crash leaves one that looks like a batch. */
static void temp_name(char *buf, size_t size, uint64_t seq)
{
	snprintf(buf, size, ".%020" PRIu64 ".lp.tmp", seq);
}

static int parse_batch_name(const char *name, uint64_t *seq)
{
	char digits[SEQ_DIGITS + 1];

	if (strlen(name) != NAME_LEN || strcmp(name + SEQ_DIGITS, ".lp"))
		return -EINVAL;
	memcpy(digits, name, SEQ_DIGITS);
	digits[SEQ_DIGITS] = '\0';
	/*
	 * Sequence numbers start at 1; twenty digits can also say more than UINT64_MAX. The
	 * largest, UINT64_MAX, is no batch either: the next one after it would be number 0.
	 */
	return bm_parse_u64(digits, 1, SEQ_MAX, seq);
}

uint64_t spool_count_points(const char *data, size_t len)
{
	uint64_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += data[i] != '\n' && (i == 0 || data[i - 1] == '\n');
	return n;
}

static int append(struct spool *s, uint64_t seq, uint64_t bytes, uint64_t points)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct spool_batch *b = realloc(s->b, cap * sizeof(*b));

		if (!b)
			return -ENOMEM;
		s->b = b;
		s->cap = cap;
	}
	s->b[s->n++] = (struct spool_batch){ .seq = seq, .bytes = bytes, .points = points };
	s->bytes += bytes;
	return 0;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct spool_batch *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Index the batches an earlier run left, and remove its half-written temporary files. */
static int scan(struct spool *s, char *err, size_t errlen)
{
	int fd = dup(s->dirfd), ret = 0;
	struct dirent *de;
	DIR *d;

	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "spool dir %s: %s", s->dir, strerror(-ret));
		return ret;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		uint64_t seq;
		size_t size;
		char *data;

		if (de->d_name[0] == '.' && len > 4 && !strcmp(de->d_name + len - 4, ".tmp")) {
			/* Never renamed, so its enqueue failed or never returned: not ours to send.
			 */
			unlinkat(s->dirfd, de->d_name, 0);
			continue;
		}
		if (parse_batch_name(de->d_name, &seq))
			continue;
		ret = spool_read(s, seq, &data, &size);
		if (ret) {
			snprintf(err, errlen, "spool dir %s: cannot read %s: %s", s->dir,
				 de->d_name, strerror(-ret));
			break;
		}
		ret = append(s, seq, size, spool_count_points(data, size));
		free(data);
		if (ret) {
			snprintf(err, errlen, "spool dir %s: %s", s->dir, strerror(-ret));
			break;
		}
		if (seq >= s->next_seq)
			s->next_seq = seq + 1;
	}
	closedir(d);
	if (s->n)
		qsort(s->b, s->n, sizeof(*s->b), cmp_seq);
	return ret;
}

static int probe_write(const struct spool *s)
{
	int fd = openat(s->dirfd, PROBE_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			BM_PRIVATE_MODE);

	if (fd < 0)
		return -errno;
	close(fd);
	unlinkat(s->dirfd, PROBE_NAME, 0);
	return 0;
}

int spool_check(const char *dir, char *err, size_t errlen)
{
	char *at, *slash;
	struct stat st;
	int ret = -1, fd;

	if (!dir || !*dir) {
		snprintf(err, errlen, "no spool dir given: give --spool-dir DIR");
		return -1;
	}
	at = bm_strdup(dir);
	/* The spool itself, or the nearest directory above it that exists, to make it in. */
	while (stat(at, &st)) {
		if (errno != ENOENT) {
			snprintf(err, errlen,
				 "spool dir %s: %s: give a directory bpfmeter can make and write",
				 dir, strerror(errno));
			goto out;
		}
		slash = strrchr(at, '/');
		if (!slash)
			strcpy(at, ".");
		else
			slash[slash == at] = '\0';
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "spool dir %s: %s is not a directory: give a directory "
			 "bpfmeter can make and write",
			 dir, at);
		goto out;
	}
	if (access(at, W_OK | X_OK)) {
		snprintf(err, errlen, "%s spool dir %s: %s%s%s: give one bpfmeter can write",
			 strcmp(at, dir) ? "cannot make the" : "cannot write to the", dir,
			 strcmp(at, dir) ? at : "", strcmp(at, dir) ? ": " : "", strerror(errno));
		goto out;
	}
	ret = 0;
	/* Two senders on one spool would send and delete each other's batches. */
	fd = strcmp(at, dir) ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK) {
		snprintf(err, errlen,
			 "spool dir %s: in use by another process: give each "
			 "bpfmeter its own --spool-dir",
			 dir);
		ret = -1;
	}
	if (fd >= 0)
		close(fd);
out:
	free(at);
	return ret;
}

int spool_open(struct spool *s, const char *dir, char *err, size_t errlen)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
	s->next_seq = 1;
	if (!dir || !*dir) {
		snprintf(err, errlen, "no spool dir given");
		return -EINVAL;
	}
	s->dir = strdup(dir);
	if (!s->dir) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = bm_mkdir_p(dir, 0700);
	if (ret) {
		snprintf(err, errlen, "cannot create spool dir %s: %s", dir, strerror(-ret));
		goto fail;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open spool dir %s: %s", dir, strerror(-ret));
		goto fail;
	}
	/* Two senders on one spool would send and delete each other's batches. */
	if (flock(s->dirfd, LOCK_EX | LOCK_NB)) {
		ret = -errno;
		snprintf(err, errlen, "spool dir %s: %s", dir,
			 ret == -EWOULDBLOCK ? "in use by another process" : strerror(-ret));
		goto fail;
	}
	ret = probe_write(s);
	if (ret) {
		snprintf(err, errlen, "cannot write to spool dir %s: %s", dir, strerror(-ret));
		goto fail;
	}
	ret = scan(s, err, errlen);
	if (ret)
		goto fail;
	return 0;
fail:
	spool_close(s);
	return ret;
}

void spool_close(struct spool *s)
{
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->b);
	free(s->dir);
	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
}

int spool_put(struct spool *s, const char *data, size_t len)
{
	char name[NAME_LEN + 1], tmp[NAME_LEN + 6];
	uint64_t seq = s->next_seq;
	int fd, ret;

	/*
	 * Numbers run out only after a file an earlier run cannot have named (some other
	 * process's): an empty queue numbers from 1 again, a full one takes nothing more.
	 */
	if (seq > SEQ_MAX) {
		if (s->n)
			return -EOVERFLOW;
		seq = s->next_seq = 1;
	}
	batch_name(name, sizeof(name), seq);
	temp_name(tmp, sizeof(tmp), seq);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    BM_PRIVATE_MODE);
	if (fd < 0)
		return -errno;
	ret = bm_write_all(fd, data, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	/* The batch appears under its real name whole or not at all. */
	if (!ret && renameat(s->dirfd, tmp, s->dirfd, name))
		ret = -errno;
	if (ret) {
		unlinkat(s->dirfd, tmp, 0);
		return ret;
	}
	/* Only a synced directory keeps the rename over a crash. */
	ret = fsync(s->dirfd) ? -errno : append(s, seq, len, spool_count_points(data, len));
	if (ret) {
		unlinkat(s->dirfd, name, 0);
		return ret;
	}
	s->next_seq++;
	return 0;
}

int spool_read(const struct spool *s, uint64_t seq, char **data, size_t *len)
{
	char name[NAME_LEN + 1], *buf;
	size_t size, off = 0;
	struct stat st;
	int fd, ret = 0;

	batch_name(name, sizeof(name), seq);
	fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (off < size) {
		ssize_t n = read(fd, buf + off, size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n ? -errno : -EIO; /* shorter than fstat said: not a whole batch */
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[size] = '\0';
	*data = buf;
	*len = size;
	return 0;
}

static void remove_at(struct spool *s, size_t i)
{
	char name[NAME_LEN + 1];

	batch_name(name, sizeof(name), s->b[i].seq);
	/*
	 * No directory fsync: a deletion undone by a crash only means the batch is sent again,
	 * and InfluxDB overwrites a point identical in series and time.
	 */
	if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
		bm_warn("spool dir %s: cannot delete %s: %s", s->dir, name, strerror(errno));
	s->bytes -= s->b[i].bytes;
	memmove(&s->b[i], &s->b[i + 1], (s->n - i - 1) * sizeof(*s->b));
	s->n--;
}

void spool_remove(struct spool *s, uint64_t seq)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->b[i].seq == seq) {
			remove_at(s, i);
			return;
		}
	}
}

void spool_trim(struct spool *s, uint64_t max, uint64_t keep, uint64_t *batches, uint64_t *points)
{
	size_t i = 0;

	while (s->bytes > max && i < s->n) {
		if (s->b[i].seq == keep) {
			i++;
			continue;
		}
		*batches += 1;
		*points += s->b[i].points;
		remove_at(s, i);
	}
}
