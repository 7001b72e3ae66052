// SPDX-License-Identifier: BSD-2-Clause
/* Fixtures the unit tests share: see fixture.h. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "topology.h"
#include "util.h"
#include "unit.h"

char *fixture_mkdtemp(char *root, size_t size, const char *tag)
{
	snprintf(root, size, "/tmp/bm-%s-XXXXXX", tag);
	if (!mkdtemp(root)) {
		printf("    mkdtemp: %s\n", strerror(errno));
		unit_failed_checks++;
		return NULL;
	}
	return root;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

int fixture_rmtree(const char *root)
{
	if (nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS)) {
		printf("    cannot remove %s: %s\n", root, strerror(errno));
		return -1;
	}
	return 0;
}

void fixture_put(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (!text) {
		unlink(path);
		return;
	}
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			printf("    mkdir %s: %s\n", path, strerror(errno));
		*p = '/';
	}
	f = fopen(path, "w");
	if (!f) {
		printf("    cannot create %s: %s\n", path, strerror(errno));
		unit_failed_checks++;
		return;
	}
	fputs(text, f);
	fclose(f);
}

void fixture_topology(struct bm_topology *t, int nr_cpus, const int *sock, const int *die,
		      const int *core)
{
	memset(t, 0, sizeof(*t));
	t->nr_cpus = nr_cpus;
	t->online = bm_calloc((size_t)nr_cpus, sizeof(*t->online));
	t->socket = bm_calloc((size_t)nr_cpus, sizeof(*t->socket));
	t->package_id = bm_calloc((size_t)nr_cpus, sizeof(*t->package_id));
	t->die_id = bm_calloc((size_t)nr_cpus, sizeof(*t->die_id));
	t->core_id = bm_calloc((size_t)nr_cpus, sizeof(*t->core_id));
	for (int cpu = 0; cpu < nr_cpus; cpu++) {
		t->socket[cpu] = sock[cpu];
		t->core_id[cpu] = core ? core[cpu] : cpu;
		t->die_id[cpu] = die ? die[cpu] : 0;
		if (sock[cpu] < 0)
			continue;
		t->online[cpu] = true;
		t->nr_online++;
		if (sock[cpu] + 1 > t->nr_sockets)
			t->nr_sockets = sock[cpu] + 1;
	}
	for (int k = 0; k < t->nr_sockets; k++)
		t->package_id[k] = k;
}

void capture_begin(struct capture *c, int fd)
{
	c->fd = fd;
	c->text[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	c->tmp = tmpfile();
	c->saved = dup(fd);
	if (c->tmp)
		dup2(fileno(c->tmp), fd);
}

void capture_end(struct capture *c)
{
	size_t n = 0;

	fflush(stdout);
	fflush(stderr);
	dup2(c->saved, c->fd);
	close(c->saved);
	if (!c->tmp) {
		snprintf(c->text, sizeof(c->text), "(tmpfile failed)");
		return;
	}
	rewind(c->tmp);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->tmp);
	c->text[n] = '\0';
	fclose(c->tmp);
}

void fixture_tmpfile(char *path, size_t size, const char *tag, const char *text)
{
	int fd;

	snprintf(path, size, "/tmp/bm-%s-XXXXXX", tag);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

void fixture_errmsg(char *msg, size_t size, int ret, const char *err, const char *path)
{
	msg[0] = '\0';
	if (ret && !strncmp(err, path, strlen(path)))
		snprintf(msg, size, "F%s", err + strlen(path));
	else if (ret)
		snprintf(msg, size, "%s", err);
}
