// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "idvec.h"
#include "util.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

int cgroup_find_mount(FILE *mountinfo, char *out, size_t size)
{
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	while (getline(&line, &cap, mountinfo) > 0) {
		/* id parent major:minor root mountpoint options [optional...] - fstype source ...
		 */
		char *fields[5], *sep, *save = NULL, *tok, *fstype;
		int i = 0;

		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		fstype = strtok_r(sep + 3, " \n", &save);
		if (!fstype || strcmp(fstype, "cgroup2"))
			continue;
		save = NULL;
		for (tok = strtok_r(line, " ", &save); tok && i < 5;
		     tok = strtok_r(NULL, " ", &save))
			fields[i++] = tok;
		if (i < 5)
			continue;
		unescape_octal(fields[4]);
		if (strlen(fields[4]) >= size) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(out, fields[4]);
		ret = 0;
		break;
	}
	free(line);
	return ret;
}

/* The id of the cgroup directory at dirfd/path (path "" for dirfd itself). */
static int id_at(int dirfd, const char *path, uint64_t *id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	struct stat st;
	int mount_id;

	/* The file handle of a kernfs directory is its 64-bit node id, as the kernel's BPF
	 * selftests read it. */
	h.fh.handle_bytes = sizeof(h.id);
	if (name_to_handle_at(dirfd, path, &h.fh, &mount_id, *path ? 0 : AT_EMPTY_PATH) == 0 &&
	    h.fh.handle_bytes == sizeof(h.id)) {
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	/* On 64-bit kernels the inode number is the same id. */
	if (fstatat(dirfd, path, &st, *path ? 0 : AT_EMPTY_PATH))
		return -errno;
	*id = (uint64_t)st.st_ino;
	return 0;
}

int cgroup_id_of(const char *path, uint64_t *id)
{
	return id_at(AT_FDCWD, path, id);
}

int cgroup_names_init(struct cgroup_names *c, const char *mount)
{
	memset(c, 0, sizeof(*c));
	idvec_init(&c->ids, sizeof(struct cgroup_entry));
	c->mount = strdup(mount);
	return c->mount ? 0 : -ENOMEM;
}

void cgroup_names_free(struct cgroup_names *c)
{
	for (size_t i = 0; i < c->ids.n; i++)
		free(((struct cgroup_entry *)idvec_at(&c->ids, i))->path);
	idvec_free(&c->ids);
	free(c->mount);
	memset(c, 0, sizeof(*c));
}

static void put(struct cgroup_names *c, uint64_t id, const char *rel)
{
	int created;
	struct cgroup_entry *e = idvec_get(&c->ids, id, &created);

	if (created || strcmp(e->path, rel)) {
		free(e->path);
		e->path = bm_strdup(rel);
		c->version++;
	}
	e->gone = false;
	e->unresolved = false;
}

/* A path relative to the mount, grown as the walk goes deeper: no PATH_MAX limit. */
struct walk_path {
	char *buf;
	size_t len, cap;
};

/*
 * Learn every cgroup below the directory fd (whose path is p), depth first. Directories are
 * opened relative to their parent and told apart by the type readdir gives (cgroupfs has
 * it), so no entry is looked up by a whole path and no file is stat'ed: a cgroup has a
 * dozen or more files for each directory. Takes fd.
 */
static void walk(struct cgroup_names *c, int fd, struct walk_path *p)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), len = p->len;
		uint64_t id;
		int sub;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub < 0)
			continue; /* not a directory, or removed while we walked */
		if (len + n + 2 > p->cap) {
			p->cap = 2 * (len + n + 2);
			p->buf = bm_realloc_array(p->buf, p->cap, 1);
		}
		p->buf[len] = '/';
		memcpy(p->buf + len + 1, de->d_name, n + 1);
		p->len = len + 1 + n;
		if (!id_at(sub, "", &id))
			put(c, id, p->buf);
		walk(c, sub, p);
		p->len = len;
		p->buf[len] = '\0';
	}
	closedir(d);
}

int cgroup_names_scan(struct cgroup_names *c)
{
	struct walk_path p = { .cap = 256 };
	double t0 = bm_now_mono();
	uint64_t id;
	int fd;

	c->scans++;
	fd = open(c->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!id_at(fd, "", &id)) {
		put(c, id, "/");
		c->at_root = id == 1;
	}
	p.buf = bm_calloc(p.cap, 1);
	walk(c, fd, &p);
	free(p.buf);
	c->scan_s = bm_now_mono() - t0;
	return 0;
}

void cgroup_names_learn(struct cgroup_names *c, uint64_t id, const char *path)
{
	if (c->at_root && path[0] == '/' && path[1])
		put(c, id, path);
}

const char *cgroup_names_get(struct cgroup_names *c, uint64_t id)
{
	struct cgroup_entry *e = idvec_find(&c->ids, id);
	char buf[32];

	/* At most one walk per interval, and 2 % of the time: a walk of a big tree is costly. */
	if (!e && c->may_rescan && bm_now_mono() >= c->next_scan) {
		c->may_rescan = false;
		cgroup_names_scan(c);
		c->next_scan = bm_now_mono() + 49 * c->scan_s;
		e = idvec_find(&c->ids, id);
	}
	if (!e) {
		snprintf(buf, sizeof(buf), "cgroup-%llu", (unsigned long long)id);
		put(c, id, buf);
		e = idvec_find(&c->ids, id);
		e->unresolved = true;
	}
	return e->path;
}

bool cgroup_names_is_gone(struct cgroup_names *c, uint64_t id)
{
	struct cgroup_entry *e = idvec_find(&c->ids, id);
	char path[PATH_MAX];
	uint64_t now;

	if (!e || e->gone || e->unresolved)
		return true;
	snprintf(path, sizeof(path), "%s%s", c->mount, strcmp(e->path, "/") ? e->path : "");
	if (cgroup_id_of(path, &now) || now != id)
		e->gone = true;
	return e->gone;
}

void cgroup_names_forget(struct cgroup_names *c, uint64_t id)
{
	struct cgroup_entry *e = idvec_find(&c->ids, id);

	if (!e)
		return;
	free(e->path);
	idvec_remove(&c->ids, id);
	c->version++;
}
