// SPDX-License-Identifier: BSD-2-Clause
/* Cgroup paths: what they say of containers, pods, units and VMs, and every group key. */
#include "fuzz.h"
#include "labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum group_by gs[] = { GROUP_BY_CGROUP, GROUP_BY_CONTAINER, GROUP_BY_POD,
					    GROUP_BY_UNIT, GROUP_BY_DEPTH };
	char *path = fuzz_str(data, size), key[4096];
	struct bm_labels l;

	labels_parse(path, &l);
	for (size_t i = 0; i < sizeof(gs) / sizeof(gs[0]); i++)
		labels_group_key(path, &l, gs[i], 2, key, sizeof(key));
	free(path);
	return 0;
}
