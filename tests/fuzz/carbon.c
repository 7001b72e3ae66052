// SPDX-License-Identifier: BSD-2-Clause
/* Carbon intensity files (--carbon-intensity-file). */
#include "carbon.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[1024];
	struct carbon c;
	int fd = fuzz_file(data, size, path, sizeof(path));

	memset(&c, 0, sizeof(c));
	if (!carbon_load(&c, path, err, sizeof(err)))
		carbon_free(&c);
	close(fd);
	return 0;
}
