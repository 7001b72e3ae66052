// SPDX-License-Identifier: BSD-2-Clause
/* /proc/self/mountinfo: the cgroup2 mount, its escapes. */
#include "cgroup.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	char out[4096];

	if (!f)
		return 0;
	cgroup_find_mount(f, out, sizeof(out));
	fclose(f);
	return 0;
}
