// SPDX-License-Identifier: BSD-2-Clause
/* The Prometheus web config (--web-config FILE: YAML, tls_server_config, basic_auth_users). */
#include "fuzz.h"
#include "prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[1024];
	struct prom_web_config wc;
	int fd = fuzz_file(data, size, path, sizeof(path));

	memset(&wc, 0, sizeof(wc));
	if (!prom_web_config_load(path, &wc, err, sizeof(err)))
		prom_web_config_free(&wc);
	close(fd);
	return 0;
}
