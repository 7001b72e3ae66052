// SPDX-License-Identifier: BSD-2-Clause
/*
 * Powercap trees (--powercap-root DIR): the input is a tree, one file a line, "PATH<TAB>TEXT"
 * (PATH relative, of [a-z0-9:._-/], no ".."), made under a fresh directory and opened on two
 * sockets, then polled three times as a session does.
 */
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "energy.h"
#include "fuzz.h"
#include "topology.h"
#include "util.h"

static int rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb, (void)type;
	return ftw->level ? remove(p) : 0;
}

static bool safe(const char *p)
{
	if (!*p || *p == '/' || strstr(p, "..") || strlen(p) > 96)
		return false;
	for (const char *c = p; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789:._-/", *c))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char root[64];
	/* Two CPUs on packages 0 and 1, on the heap as topology_load() makes it. */
	struct bm_topology t = { .nr_cpus = 2, .nr_sockets = 2, .nr_online = 2 };
	char *in = fuzz_str(data, size), *save = NULL, why[1024];
	struct energy_source s;
	struct energy_reading r[64];

	if (!*root) {
		const char *tmp = getenv("TMPDIR");

		/* scripts/fuzz.sh gives a directory of its own, removed at the end. */
		snprintf(root, sizeof(root), "%s/bm-fuzz-powercap.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(root))
			abort();
	}
	nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	for (char *line = strtok_r(in, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t'), path[256];

		if (!tab)
			continue;
		*tab = '\0';
		if (!safe(line))
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
	t.online = bm_calloc(2, sizeof(*t.online));
	t.unknown_package = bm_calloc(2, sizeof(*t.unknown_package));
	t.socket = bm_calloc(2, sizeof(*t.socket));
	t.package_id = bm_calloc(2, sizeof(*t.package_id));
	t.die_id = bm_calloc(2, sizeof(*t.die_id));
	t.core_id = bm_calloc(2, sizeof(*t.core_id));
	for (int i = 0; i < 2; i++) {
		t.online[i] = true;
		t.socket[i] = t.package_id[i] = i;
	}
	memset(&s, 0, sizeof(s));
	if (!powercap_open(&s, root, &t, why, sizeof(why))) {
		s.nr_sockets = 2;
		for (int i = 1; i <= 3; i++)
			energy_poll(&s, (double)i);
		if (energy_take(&s, r) > (int)(sizeof(r) / sizeof(r[0])))
			abort();
	}
	energy_close(&s);
	topology_free(&t);
	free(in);
	return 0;
}
