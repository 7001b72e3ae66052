// SPDX-License-Identifier: BSD-2-Clause
/* Node-level traces (bpfmeter fit --trace): CSV with named feature and power columns. */
#include "fuzz.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[1024];
	struct replay_trace tr;
	int fd = fuzz_file(data, size, path, sizeof(path));

	if (!replay_load(path, "cycles,instructions", "package=pkg,dram=dram", &tr, err,
			 sizeof(err)))
		replay_free(&tr);
	close(fd);
	return 0;
}
