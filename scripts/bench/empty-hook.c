// SPDX-License-Identifier: BSD-2-Clause
/*
 * empty-hook: benchmark aid for scripts/bench-overhead.sh. Loads and attaches a tp_btf
 * program on sched_switch that does nothing, prints "attached", waits for SIGINT or
 * SIGTERM, detaches and exits 0. It measures the fixed cost of any sched_switch hook.
 * Exits 1 with a one-line error when it cannot load or attach; -v adds libbpf's messages.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "empty-hook.skel.h"

static volatile sig_atomic_t stop;
static int verbose;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* libbpf's own messages only with -v: by default a failure is the one line of main(). */
static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct empty_hook_bpf *skel;
	struct sigaction sa;
	sigset_t mask, old, wait_mask;
	int err;

	if (argc == 2 && !strcmp(argv[1], "-v")) {
		verbose = 1;
	} else if (argc != 1) {
		fprintf(stderr,
			"empty-hook: usage: empty-hook [-v] (-v: show libbpf's messages)\n");
		return 1;
	}
	libbpf_set_print(print_libbpf);

	/* Handlers first: a background job of a non-interactive shell starts with SIGINT
	 * ignored, and sigaction replaces that disposition. Block both signals until the
	 * program is attached so that an early signal is not lost before sigsuspend. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL)) {
		fprintf(stderr, "empty-hook: sigaction: %s\n", strerror(errno));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, &old)) {
		fprintf(stderr, "empty-hook: sigprocmask: %s\n", strerror(errno));
		return 1;
	}

	skel = empty_hook_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "empty-hook: cannot load the BPF program: %s\n", strerror(errno));
		return 1;
	}
	err = empty_hook_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "empty-hook: cannot attach to sched_switch: %s\n", strerror(-err));
		empty_hook_bpf__destroy(skel);
		return 1;
	}

	if (printf("attached\n") < 0 || fflush(stdout)) {
		fprintf(stderr, "empty-hook: cannot write to stdout: %s\n", strerror(errno));
		empty_hook_bpf__destroy(skel);
		return 1;
	}

	/* Wait with the signals unblocked only inside sigsuspend: no race with the flag. */
	wait_mask = old;
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	while (!stop)
		sigsuspend(&wait_mask);

	empty_hook_bpf__destroy(skel);
	return 0;
}
