// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpfmeter: per-cgroup CPU time, hardware counters and energy, charged at every context
 * switch. main() is the table of subcommands, the options and the cleanup.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "check.h"
#include "opts.h"
#include "record.h"
#include "replay.h"
#include "session.h"
#include "trace.h"
#include "util.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN && !bm_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* The options of argv into s->opts; -1 for "exit with *ret" (--help, a bad option). */
static int parse_options(struct session *s, int argc, char **argv, int *ret)
{
	switch (opts_parse(s->opts, argc, argv)) {
	case OPTS_OK:
		break;
	case OPTS_EXIT_OK:
		*ret = 0;
		return -1;
	default:
		*ret = 2;
		return -1;
	}
	bm_verbose = s->opts->verbose;
	s->by_process = s->opts->by_process;
	libbpf_set_print(libbpf_print);
	return 0;
}

/* bpfmeter [OPTIONS] [-- CMD ARGS...]: measure. */
static int cmd_measure(struct session *s, int argc, char **argv)
{
	int ret;

	if (parse_options(s, argc, argv, &ret))
		return ret;
	if (session_parse_outputs(s))
		return 2;
	return session_run(s);
}

/* bpfmeter check [OPTIONS]. */
static int cmd_check(struct session *s, int argc, char **argv)
{
	int ret;

	if (parse_options(s, argc, argv, &ret))
		return ret;
	return check_host(s);
}

/*
 * bpfmeter replay FILE [OPTIONS]: a recording of a session, wherever it is named among the
 * options, replayed through the live pipeline; anything else is a node-level trace for the
 * power model alone.
 */
static int cmd_replay(struct session *s, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *rec = argv[i];

		if (rec[0] == '-' || !record_sniff(rec))
			continue;
		memmove(&argv[2], &argv[1], (size_t)(i - 1) * sizeof(*argv));
		argv[1] = rec;
		return replay_recording(s, argc, argv);
	}
	return replay_main(argc, argv);
}

static const struct command_entry {
	const char *name;
	int (*fn)(struct session *s, int argc, char **argv); /* argv[0]: the subcommand */
} commands[] = {
	{ "check", cmd_check },
	{ "replay", cmd_replay },
};

int main(int argc, char **argv)
{
	struct bm_opts opts;
	struct session s;
	int ret = -1;

	session_init(&s, &opts);
	for (size_t i = 0; argc > 1 && i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			ret = commands[i].fn(&s, argc - 1, argv + 1);
	if (ret < 0)
		ret = cmd_measure(&s, argc, argv);
	session_free(&s);
	return ret;
}
