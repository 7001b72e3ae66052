// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

int cgroup_id_of(const char *path, uint64_t *id)
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
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) == 0 &&
	    h.fh.handle_bytes == sizeof(h.id)) {
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	/* On 64-bit kernels the inode number is the same id. */
	if (stat(path, &st))
		return -errno;
	*id = (uint64_t)st.st_ino;
	return 0;
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
	}
	e->gone = false;
	e->unresolved = false;
}

/* nftw has no user pointer. */
static struct cgroup_names *scan_target;

static int scan_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	size_t mlen = strlen(scan_target->mount);
	const char *rel;
	uint64_t id;

	(void)sb;
	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (cgroup_id_of(fpath, &id))
		return 0; /* removed while we walked */
	rel = fpath + mlen;
	if (!*rel)
		rel = "/";
	put(scan_target, id, rel);
	return 0;
}

int cgroup_names_scan(struct cgroup_names *c)
{
	int err;

	scan_target = c;
	c->scans++;
	/* FTW_PHYS: cgroupfs has no symlinks, and we never follow one out of it. */
	err = nftw(c->mount, scan_one, 32, FTW_PHYS | FTW_MOUNT);
	scan_target = NULL;
	return err ? -errno : 0;
}

const char *cgroup_names_get(struct cgroup_names *c, uint64_t id)
{
	struct cgroup_entry *e = idvec_find(&c->ids, id);
	char buf[32];

	if (!e && c->may_rescan) {
		c->may_rescan = false;
		cgroup_names_scan(c);
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
}
