// SPDX-License-Identifier: BSD-2-Clause
/*
 * Powercap trees (--powercap-root DIR): the input is a tree, one file a line, "PATH<TAB>TEXT"
 * (PATH relative, of [a-z0-9:._-/], no ".."), made under a fresh directory and opened on two
 * sockets, then polled three times as a session does.
 */
#include "energy.h"
#include "fuzz.h"
#include "topology.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *root = fuzz_dir("powercap");
	/* Two CPUs on packages 0 and 1, on the heap as topology_load() makes it. */
	struct bm_topology t = { .nr_cpus = 2, .nr_sockets = 2, .nr_online = 2 };
	char why[1024];
	struct energy_source s;
	struct energy_reading r[64];

	fuzz_tree(data, size, root);
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
	return 0;
}
