// SPDX-License-Identifier: BSD-2-Clause
/* InfluxDB URLs (-o influx+http://...), as the sink checks and completes them. */
#include "fuzz.h"
#include "out_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = fuzz_str(data, size), out[8192], err[1024];

	http_write_url(url, out, sizeof(out), err, sizeof(err));
	free(url);
	return 0;
}
