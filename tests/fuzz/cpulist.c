// SPDX-License-Identifier: BSD-2-Clause
/* CPU lists of sysfs (online, possible, a PMU's cpumask): "0-3,8,10-11". */
#include <stdbool.h>

#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	bool set[1024];

	bm_parse_cpulist(s, set, (int)(sizeof(set) / sizeof(set[0])));
	free(s);
	return 0;
}
