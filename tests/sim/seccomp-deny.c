// SPDX-License-Identifier: BSD-2-Clause
/*
 * seccomp-deny SYSCALL[,SYSCALL...] CMD [ARGS...]: run CMD under a seccomp filter that fails
 * the syscalls named with EPERM and allows everything else, as a container runtime's profile
 * does (Docker's default one blocks bpf and perf_event_open that way). The filter is built
 * with libseccomp, which resolves names for this architecture and checks it.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	char *list, *name;
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: %s SYSCALL[,SYSCALL...] CMD [ARGS...]\n", argv[0]);
		return 2;
	}
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "seccomp-deny: seccomp_init failed\n");
		return 1;
	}
	list = strdup(argv[1]);
	for (name = strtok(list, ","); name; name = strtok(NULL, ",")) {
		int nr = seccomp_syscall_resolve_name(name);

		if (nr == __NR_SCMP_ERROR) {
			fprintf(stderr,
				"seccomp-deny: '%s': no such syscall here: name one of "
				"this architecture's (bpf, perf_event_open)\n",
				name);
			return 2;
		}
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (err) {
			fprintf(stderr, "seccomp-deny: cannot add a rule for %s: %s\n", name,
				strerror(-err));
			return 1;
		}
	}
	free(list);
	/* libseccomp sets no_new_privs first, so that this needs no CAP_SYS_ADMIN. */
	err = seccomp_load(ctx);
	seccomp_release(ctx);
	if (err) {
		fprintf(stderr, "seccomp-deny: cannot load the filter: %s\n", strerror(-err));
		return 1;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "seccomp-deny: cannot run %s: %s\n", argv[2], strerror(errno));
	return 127;
}
