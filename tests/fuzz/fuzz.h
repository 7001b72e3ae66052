/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared by the libFuzzer targets (make fuzz): each takes one input as the parser under test
 * takes outside input. Parsers that read a file get it as a memory file, by its path.
 */
#ifndef BM_FUZZ_H
#define BM_FUZZ_H

#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The input as a file at *path ("/proc/self/fd/N"); returns its descriptor, to close. */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* The input as a NUL-terminated string (its own NULs end it early). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * A fresh directory of this process's, made once under $TMPDIR (scripts/fuzz.sh gives each
 * target a directory of its own, removed at the end) and emptied at each call: its path.
 */
static inline int fuzz_rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb, (void)type;
	return ftw->level ? remove(p) : 0;
}

static inline const char *fuzz_dir(const char *name)
{
	static char root[128];

	if (!*root) {
		const char *tmp = getenv("TMPDIR");

		snprintf(root, sizeof(root), "%s/bm-fuzz-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
			 name);
		if (!mkdtemp(root))
			abort();
	}
	nftw(root, fuzz_rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return root;
}

/* A relative path of [a-z0-9:._-/], no "..", that a tree line may name. */
static inline bool fuzz_safe_path(const char *p)
{
	if (!*p || *p == '/' || strstr(p, "..") || strlen(p) > 96)
		return false;
	for (const char *c = p; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789:._-/", *c))
			return false;
	return true;
}

/*
 * The input as a tree under root: one file a line, "PATH<TAB>TEXT" (PATH as fuzz_safe_path()
 * takes it; other lines are skipped), each file TEXT and a newline, as sysfs gives them.
 */
static inline void fuzz_tree(const uint8_t *data, size_t size, const char *root)
{
	char *in = malloc(size + 1), *save = NULL;

	if (!in)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	for (char *line = strtok_r(in, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t'), path[256];

		if (!tab)
			continue;
		*tab = '\0';
		if (!fuzz_safe_path(line))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, line);
		for (char *sl = strchr(path + strlen(root) + 1, '/'); sl;
		     sl = strchr(sl + 1, '/')) {
			*sl = '\0';
			mkdir(path, 0755);
			*sl = '/';
		}
		FILE *f = fopen(path, "w");

		if (f) {
			fputs(tab + 1, f);
			fputc('\n', f);
			fclose(f);
		}
	}
	free(in);
}

#endif
