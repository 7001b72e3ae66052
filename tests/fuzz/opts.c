// SPDX-License-Identifier: BSD-2-Clause
/* The command line: the input split at newlines into arguments, as the shell would pass them. */
#include "fuzz.h"
#include "opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), *argv[64], *save = NULL;
	struct bm_opts o;
	int argc = 0;

	argv[argc++] = "bpfmeter";
	for (char *t = strtok_r(s, "\n", &save); t && argc < 63; t = strtok_r(NULL, "\n", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	/* --help and --version print, the rest say why they do not parse: scripts/fuzz.sh runs
	 * the targets with -close_fd_mask=3. */
	memset(&o, 0, sizeof(o));
	opts_parse(&o, argc, argv);
	free(s);
	return 0;
}
