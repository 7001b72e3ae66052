// SPDX-License-Identifier: BSD-2-Clause
/* opts_parse(): values, defaults, and one clear line on stderr for every usage error. */
#include <getopt.h>
#include <linux/perf_event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "opts.h"
#include "unit.h"

/*
 * glibc's getopt keeps a pointer into the last argv when it stopped inside a cluster such as
 * "-xv"; only optind = 0 forgets it. Start every parse clean so tests do not leak into each
 * other (reparse_after_unfinished_cluster tests opts_parse without this).
 */
static void getopt_forget(void)
{
	char *argv[] = { "reset", NULL };

	optind = 0;
	opterr = 0;
	while (getopt(1, argv, "") != -1)
		;
}

static int argc_of(char **argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

static int parse_argv(struct bm_opts *o, struct capture *err, char **argv)
{
	int ret;

	getopt_forget();
	capture_begin(err, 2);
	ret = opts_parse(o, argc_of(argv), argv);
	capture_end(err);
	return ret;
}

/* A writable argv: getopt_long permutes it. */
#define PARSE(o, err, ...) parse_argv(o, err, (char *[]){ "bpfmeter", ##__VA_ARGS__, NULL })

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void test_defaults(void)
{
	struct capture err;
	struct bm_opts o;

	memset(&o, 0x5a, sizeof(o));
	CHECK_EQ_U64(PARSE(&o, &err), OPTS_OK);
	CHECK_STR(err.text, "");
	CHECK(near(o.interval_s, 1.0));
	CHECK(near(o.duration_s, 0));
	CHECK_EQ_U64(o.max_cgroups, 65536);
	CHECK(!o.csv);
	CHECK(!o.verbose);
	CHECK(o.btf_path == NULL);
	CHECK_EQ_U64(o.nr_events, 4);
	CHECK_STR(o.events[0].name, "cycles");
	CHECK_STR(o.events[1].name, "instructions");
	CHECK_STR(o.events[2].name, "ref-cycles");
	CHECK_STR(o.events[3].name, "cache-misses");
	CHECK_EQ_U64(o.events[0].type, PERF_TYPE_HARDWARE);
	CHECK_EQ_U64(o.events[0].config, PERF_COUNT_HW_CPU_CYCLES);
	CHECK_EQ_U64(o.events[3].config, PERF_COUNT_HW_CACHE_MISSES);
}

static void test_interval(void)
{
	struct capture err;
	struct bm_opts o;

	CHECK_EQ_U64(PARSE(&o, &err, "-i", "250ms"), OPTS_OK);
	CHECK(near(o.interval_s, 0.25));
	CHECK_EQ_U64(PARSE(&o, &err, "-i", "2"), OPTS_OK);
	CHECK(near(o.interval_s, 2));
	CHECK_EQ_U64(PARSE(&o, &err, "--interval=0.5s"), OPTS_OK);
	CHECK(near(o.interval_s, 0.5));
	CHECK_EQ_U64(PARSE(&o, &err, "-i10ms"), OPTS_OK);
	CHECK(near(o.interval_s, 0.01));
	CHECK_EQ_U64(PARSE(&o, &err, "--interval", "1h"), OPTS_OK);
	CHECK(near(o.interval_s, 3600));
	CHECK_STR(err.text, "");
}

static void test_duration(void)
{
	struct capture err;
	struct bm_opts o;

	CHECK_EQ_U64(PARSE(&o, &err, "-d", "1m"), OPTS_OK);
	CHECK(near(o.duration_s, 60));
	CHECK(near(o.interval_s, 1.0));
	CHECK_EQ_U64(PARSE(&o, &err, "--duration", "90"), OPTS_OK);
	CHECK(near(o.duration_s, 90));
	CHECK_EQ_U64(PARSE(&o, &err, "-d", "0"), OPTS_OK);
	CHECK(near(o.duration_s, 0));
}

static void test_events(void)
{
	struct capture err;
	struct bm_opts o;

	CHECK_EQ_U64(PARSE(&o, &err, "-e", "cpu-clock,context-switches"), OPTS_OK);
	CHECK_EQ_U64(o.nr_events, 2);
	CHECK_STR(o.events[0].name, "cpu-clock");
	CHECK_EQ_U64(o.events[0].type, PERF_TYPE_SOFTWARE);
	CHECK_EQ_U64(o.events[0].config, PERF_COUNT_SW_CPU_CLOCK);
	CHECK_STR(o.events[1].name, "context-switches");
	CHECK_EQ_U64(o.events[1].type, PERF_TYPE_SOFTWARE);
	CHECK_EQ_U64(o.events[1].config, PERF_COUNT_SW_CONTEXT_SWITCHES);
	CHECK_STR(o.events_arg, "cpu-clock,context-switches");

	CHECK_EQ_U64(PARSE(&o, &err, "-e", ""), OPTS_OK);
	CHECK_EQ_U64(o.nr_events, 0);

	CHECK_EQ_U64(PARSE(&o, &err, "-e", "4:0x3c"), OPTS_OK);
	CHECK_EQ_U64(o.nr_events, 1);
	CHECK_EQ_U64(o.events[0].type, 4);
	CHECK_EQ_U64(o.events[0].config, 0x3c);
	CHECK_STR(o.events[0].name, "4:0x3c");

	CHECK_EQ_U64(PARSE(&o, &err, "--events=r01c4"), OPTS_OK);
	CHECK_EQ_U64(o.nr_events, 1);
	CHECK_EQ_U64(o.events[0].type, PERF_TYPE_RAW);
	CHECK_EQ_U64(o.events[0].config, 0x1c4);
	CHECK_STR(o.events[0].name, "r01c4");

	/* Exactly BM_MAX_EVENTS is fine. */
	CHECK_EQ_U64(PARSE(&o, &err, "-e",
			   "cycles,instructions,cache-references,cache-misses,branches,"
			   "branch-misses,bus-cycles,ref-cycles"),
		     OPTS_OK);
	CHECK_EQ_U64(o.nr_events, BM_MAX_EVENTS);
	CHECK_STR(o.events[BM_MAX_EVENTS - 1].name, "ref-cycles");
	CHECK_STR(err.text, "");
}

static void test_other_options(void)
{
	struct capture err;
	struct bm_opts o;

	CHECK_EQ_U64(PARSE(&o, &err, "--csv", "--max-cgroups", "12", "--btf", "/boot/vmlinux", "-v",
			   "-i", "3"),
		     OPTS_OK);
	CHECK(o.csv);
	CHECK_EQ_U64(o.max_cgroups, 12);
	CHECK_STR(o.btf_path, "/boot/vmlinux");
	CHECK(o.verbose);
	CHECK(near(o.interval_s, 3));
	CHECK_EQ_U64(PARSE(&o, &err, "--max-cgroups=1048576"), OPTS_OK);
	CHECK_EQ_U64(o.max_cgroups, 1048576);
	/* Defaults come back on the next parse. */
	CHECK_EQ_U64(PARSE(&o, &err), OPTS_OK);
	CHECK(!o.csv && !o.verbose && o.btf_path == NULL && o.max_cgroups == 65536);
}

static void test_help_and_version(void)
{
	struct capture err, out;
	struct bm_opts o;
	int ret;

	capture_begin(&out, 1);
	ret = PARSE(&o, &err, "--help");
	capture_end(&out);
	CHECK_EQ_U64(ret, OPTS_EXIT_OK);
	CHECK(!strncmp(out.text, "Usage: bpfmeter", 15));
	CHECK(strstr(out.text, "--max-cgroups") != NULL);
	CHECK_STR(err.text, "");

	capture_begin(&out, 1);
	ret = PARSE(&o, &err, "-V");
	capture_end(&out);
	CHECK_EQ_U64(ret, OPTS_EXIT_OK);
	CHECK(!strncmp(out.text, "bpfmeter ", 9));
}

/* A usage error: exit status 2 and exactly one "bpfmeter: ..." line mentioning each of want. */
static void expect_usage(int line, char **argv, const char *want1, const char *want2)
{
	struct capture err;
	struct bm_opts o;
	char args[256] = "";
	const char *nl;
	int ret;

	/* Before parsing: getopt_long permutes argv. */
	for (int i = 1; argv[i]; i++)
		snprintf(args + strlen(args), sizeof(args) - strlen(args), "%s'%s'",
			 i > 1 ? " " : "", argv[i]);
	ret = parse_argv(&o, &err, argv);
	nl = strchr(err.text, '\n');
	if (ret != OPTS_EXIT_USAGE || strncmp(err.text, "bpfmeter: ", 10) || !nl || nl[1] ||
	    !strstr(err.text, want1) || (want2 && !strstr(err.text, want2))) {
		/* Keep the report on one line. */
		for (char *p = err.text; (p = strchr(p, '\n'));)
			*p = '|';
		printf("    check failed at %s:%d: %s gave %d and stderr \"%s\"; expected %d and "
		       "one line naming \"%s\"%s%s\n",
		       __FILE__, line, args, ret, err.text, OPTS_EXIT_USAGE, want1,
		       want2 ? " and " : "", want2 ? want2 : "");
		unit_failed_checks++;
	}
}

#define USAGE(want1, want2, ...) \
	expect_usage(__LINE__, (char *[]){ "bpfmeter", __VA_ARGS__, NULL }, want1, want2)

static void test_bad_interval(void)
{
	USAGE("--interval", "'0'", "-i", "0");
	USAGE("--interval", "'abc'", "-i", "abc");
	USAGE("--interval", "'5x'", "-i", "5x");
	USAGE("--interval", "'-1'", "-i", "-1");
	USAGE("--interval", "'5ms'", "-i", "5ms"); /* under 10ms */
	USAGE("--interval", "'2h'", "--interval", "2h");
	USAGE("--interval", NULL, "--interval=");
	USAGE("--interval", NULL, "-i", "nan");
	USAGE("--interval", NULL, "-i", "1ms5");
}

static void test_bad_duration(void)
{
	USAGE("--duration", "'-5'", "-d", "-5");
	USAGE("--duration", "'soon'", "--duration", "soon");
}

static void test_bad_max_cgroups(void)
{
	USAGE("--max-cgroups", "'0'", "--max-cgroups", "0");
	USAGE("--max-cgroups", "'12abc'", "--max-cgroups", "12abc");
	USAGE("--max-cgroups", NULL, "--max-cgroups", "1048577");
	USAGE("--max-cgroups", NULL, "--max-cgroups", "-3");
}

static void test_bad_events(void)
{
	USAGE("--events", "bogus", "-e", "bogus");
	USAGE("--events", NULL, "-e", "cycles,,instructions");
	USAGE("--events", NULL, "-e", "cycles,");
	USAGE("--events", "cycles", "-e", "cycles,cycles");
	USAGE("--events", NULL, "-e",
	      "cycles,instructions,cache-references,cache-misses,branches,branch-misses,"
	      "bus-cycles,ref-cycles,cpu-clock");
}

static void test_unknown_option(void)
{
	USAGE("--bogus", NULL, "--bogus");
	USAGE("-x", NULL, "-x");
	USAGE("--bogus", NULL, "-i", "2", "--bogus=1");
}

static void test_unknown_option_in_cluster(void)
{
	/* "-x" is unknown, "-v" is fine: the message must name -x, not the program. */
	USAGE("-x", NULL, "-xv");
}

static void test_missing_value(void)
{
	USAGE("-i", NULL, "-i");
	USAGE("--interval", NULL, "--interval");
	USAGE("--max-cgroups", NULL, "--csv", "--max-cgroups");
	USAGE("-e", NULL, "-e");
}

static void test_stray_argument(void)
{
	USAGE("stray", NULL, "stray");
	USAGE("stray", NULL, "-i", "2", "stray");
	USAGE("extra", NULL, "--csv", "extra", "-v");
}

static void test_reparse_after_unfinished_cluster(void)
{
	char *first[] = { "bpfmeter", "-xv", NULL };
	char *second[] = { "bpfmeter", "-i", "2", NULL };
	struct capture err;
	struct bm_opts o;
	int ret;

	/*
	 * opts_parse resets getopt itself: a parse that stopped inside "-xv" must not leak
	 * into the next one.
	 */
	getopt_forget();
	capture_begin(&err, 2);
	ret = opts_parse(&o, 2, first);
	CHECK_EQ_U64(ret, OPTS_EXIT_USAGE);
	ret = opts_parse(&o, 3, second);
	capture_end(&err);
	CHECK_EQ_U64(ret, OPTS_OK);
	CHECK(near(o.interval_s, 2));
	CHECK(!o.verbose);
	getopt_forget();
}

/* Run with $NODE_NAME as value (NULL: unset), then put back what the environment had. */
static char *node_name_saved;

static void node_name_set(const char *value)
{
	const char *v = getenv("NODE_NAME");

	if (!node_name_saved)
		node_name_saved = strdup(v ? v : "\x01unset");
	if (value)
		setenv("NODE_NAME", value, 1);
	else
		unsetenv("NODE_NAME");
}

static void node_name_restore(void)
{
	if (!node_name_saved)
		return;
	node_name_set(strcmp(node_name_saved, "\x01unset") ? node_name_saved : NULL);
	free(node_name_saved);
	node_name_saved = NULL;
}

static void test_host(void)
{
	char name[254];
	struct capture err;
	struct bm_opts o;

	node_name_set(NULL);
	CHECK_EQ_U64(PARSE(&o, &err), OPTS_OK);
	CHECK(o.host == NULL && !o.host_given); /* the hostname, at the start */
	CHECK_EQ_U64(PARSE(&o, &err, "--host", "node-1.example.com"), OPTS_OK);
	CHECK_STR(o.host, "node-1.example.com");
	CHECK(o.host_given);
	/* Kubernetes' downward API: the node's name, the default. */
	node_name_set("k8s-node-3");
	CHECK_EQ_U64(PARSE(&o, &err), OPTS_OK);
	CHECK_STR(o.host, "k8s-node-3");
	CHECK(!o.host_given);
	CHECK_EQ_U64(PARSE(&o, &err, "--host=mine"), OPTS_OK);
	CHECK_STR(o.host, "mine");
	CHECK(o.host_given);
	node_name_set("");
	CHECK_EQ_U64(PARSE(&o, &err), OPTS_OK);
	CHECK(o.host == NULL);
	/* The longest a DNS name is. */
	memset(name, 'a', 253);
	name[253] = '\0';
	CHECK_EQ_U64(PARSE(&o, &err, "--host", name), OPTS_OK);
	CHECK_STR(err.text, "");
	node_name_restore();
}

static void test_bad_host(void)
{
	char name[255];

	node_name_set(NULL);
	memset(name, 'a', 254);
	name[254] = '\0';
	USAGE("--host", "''", "--host", "");
	USAGE("--host", "'a b'", "--host", "a b");
	USAGE("--host", NULL, "--host", "tab\there");
	USAGE("--host", NULL, "--host", "del\x7f");
	USAGE("--host", NULL, "--host", "caf\xc3\xa9");
	USAGE("--host", "253", "--host", name);
	/* An unusable $NODE_NAME is named, with the way out. */
	node_name_set("bad name");
	USAGE("$NODE_NAME", "--host NAME", "-i", "1");
	node_name_restore();
}

static void test_carbon_options(void)
{
	struct capture err;
	struct bm_opts o;

	CHECK_EQ_U64(PARSE(&o, &err), OPTS_OK);
	CHECK(o.carbon_g_per_kwh == 0 && o.carbon_file == NULL);
	CHECK_EQ_U64(PARSE(&o, &err, "--carbon-intensity", "400"), OPTS_OK);
	CHECK(near(o.carbon_g_per_kwh, 400));
	CHECK_EQ_U64(PARSE(&o, &err, "--carbon-intensity=0.5"), OPTS_OK);
	CHECK(near(o.carbon_g_per_kwh, 0.5));
	CHECK_EQ_U64(PARSE(&o, &err, "--carbon-intensity-file", "/etc/ci.csv"), OPTS_OK);
	CHECK_STR(o.carbon_file, "/etc/ci.csv");
	CHECK(o.carbon_g_per_kwh == 0);
	CHECK_STR(err.text, "");
}

static void test_bad_carbon_options(void)
{
	USAGE("--carbon-intensity", "'0'", "--carbon-intensity", "0");
	USAGE("--carbon-intensity", "'-4'", "--carbon-intensity", "-4");
	USAGE("--carbon-intensity", "'5000'", "--carbon-intensity", "5000");
	USAGE("--carbon-intensity", "'lots'", "--carbon-intensity", "lots");
	USAGE("--carbon-intensity", NULL, "--carbon-intensity", "nan");
	USAGE("--carbon-intensity", NULL, "--carbon-intensity=");
	USAGE("--carbon-intensity-file", NULL, "--carbon-intensity-file");
	USAGE("--carbon-intensity-file", "do not go together", "--carbon-intensity", "400",
	      "--carbon-intensity-file", "/etc/ci.csv");
}

/* --state-dir: given, else $BPFMETER_STATE_DIR, else /var/lib/bpfmeter; "" keeps none. */
static void test_state_dir(void)
{
	const char *env = getenv("BPFMETER_STATE_DIR");
	char *saved = env ? strdup(env) : NULL;
	struct capture err;
	struct bm_opts o;

	unsetenv("BPFMETER_STATE_DIR");
	CHECK_EQ_U64(PARSE(&o, &err), OPTS_OK);
	CHECK_STR(o.state_dir, "/var/lib/bpfmeter");
	setenv("BPFMETER_STATE_DIR", "/run/bm-test", 1);
	CHECK_EQ_U64(PARSE(&o, &err), OPTS_OK);
	CHECK_STR(o.state_dir, "/run/bm-test");
	CHECK_EQ_U64(PARSE(&o, &err, "--state-dir", "/srv/state"), OPTS_OK);
	CHECK_STR(o.state_dir, "/srv/state");
	CHECK_EQ_U64(PARSE(&o, &err, "--state-dir="), OPTS_OK);
	CHECK_STR(o.state_dir, "");
	CHECK_STR(err.text, "");
	if (saved)
		setenv("BPFMETER_STATE_DIR", saved, 1);
	else
		unsetenv("BPFMETER_STATE_DIR");
	free(saved);
}

const struct unit_test opts_tests[] = {
	{ "opts/defaults", test_defaults },
	{ "opts/interval", test_interval },
	{ "opts/duration", test_duration },
	{ "opts/events", test_events },
	{ "opts/other_options", test_other_options },
	{ "opts/state_dir", test_state_dir },
	{ "opts/help_and_version", test_help_and_version },
	{ "opts/bad_interval", test_bad_interval },
	{ "opts/bad_duration", test_bad_duration },
	{ "opts/bad_max_cgroups", test_bad_max_cgroups },
	{ "opts/bad_events", test_bad_events },
	{ "opts/unknown_option", test_unknown_option },
	{ "opts/unknown_option_in_cluster", test_unknown_option_in_cluster },
	{ "opts/missing_value", test_missing_value },
	{ "opts/stray_argument", test_stray_argument },
	{ "opts/reparse_after_unfinished_cluster", test_reparse_after_unfinished_cluster },
	{ "opts/host_given_or_node_name_or_hostname", test_host },
	{ "opts/bad_host_and_node_name", test_bad_host },
	{ "opts/carbon_intensity_and_its_file", test_carbon_options },
	{ "opts/bad_carbon_intensity", test_bad_carbon_options },
	{ NULL, NULL },
};
