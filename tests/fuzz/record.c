// SPDX-License-Identifier: BSD-2-Clause
/* Recordings (bpfmeter replay FILE): the reader and its checks, every row handed on. */
#include "fuzz.h"
#include "record.h"

static int on_row(const struct record_row *row, void *ctx)
{
	(void)ctx;
	/* Touch what a row gives, as the replay does. */
	return row->name && row->value && row->socket < -1 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[1024];
	int fd = fuzz_file(data, size, path, sizeof(path));

	if (record_read(path, NULL, NULL, err, sizeof(err)) == 0)
		record_read(path, on_row, NULL, err, sizeof(err));
	close(fd);
	return 0;
}
