// SPDX-License-Identifier: BSD-2-Clause
/* /proc/cpuinfo as --estimate reads it (vendor, model name, family), Arm and x86 forms. */
#include "estimate.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct cpu_ident id;
	int fd = fuzz_file(data, size, path, sizeof(path));

	memset(&id, 0, sizeof(id));
	estimate_read_cpuinfo(path, &id);
	close(fd);
	return 0;
}
