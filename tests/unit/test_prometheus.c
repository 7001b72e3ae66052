// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Prometheus endpoint: the exposition text (escaping, HELP and TYPE, families in one
 * piece, no series for what is not counted), counters that never decrease across intervals,
 * ended targets expiring, the -o forms, the web config, and the server itself on loopback
 * (status codes, basic auth, a port in use, scrapes that see whole snapshots only).
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "opts.h"
#include "output.h"
#include "prom.h"
#include "unit.h"
#include "util.h"

/* The value of the sample whose name and labels are series, or NAN where there is none. */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return NAN;
}

/*
 * The text format's rules: every sample's family has HELP and TYPE once, before its first
 * sample, and its samples are contiguous. Returns the families seen.
 */
static int check_format(const char *text)
{
	char seen[64][96];
	int nseen = 0;
	char cur[96] = "";
	bool help = false, type = false;

	for (const char *p = text; *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char name[96];

		if (!end) {
			printf("    the last line has no line feed\n");
			unit_failed_checks++;
			break;
		}
		if (!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7)) {
			size_t k = strcspn(p + 7, " \n");

			snprintf(name, sizeof(name), "%.*s", (int)k, p + 7);
			if (strcmp(name, cur)) {
				for (int i = 0; i < nseen; i++)
					if (!strcmp(seen[i], name)) {
						printf("    family %s comes twice\n", name);
						unit_failed_checks++;
					}
				snprintf(cur, sizeof(cur), "%s", name);
				if (nseen < 64)
					snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
				help = type = false;
			}
			if (p[2] == 'H')
				help = true;
			else
				type = true;
		} else {
			size_t k = strcspn(p, "{ ");

			snprintf(name, sizeof(name), "%.*s", (int)k, p);
			if (strcmp(name, cur) || !help || !type) {
				printf("    sample '%.*s' is not after its HELP and TYPE\n",
				       (int)len, p);
				unit_failed_checks++;
			}
		}
		p = end + 1;
	}
	return nseen;
}

static const struct bm_event events[] = { { .name = "cycles" },
					  { .name = "ref-cycles" },
					  { .name = "4:0x3c" } };
static const int sample_index[] = { 0, -1, 1 }; /* ref-cycles could not be counted */
static const int package_id[] = { 0, 1 };

static const struct bm_meta meta = {
	.host = "h",
	.events = events,
	.nr_events = 3,
	.sample_index = sample_index,
	.nr_online = 2,
	.package_id = package_id,
	.hook = "tp_btf",
	.energy_source = "powercap",
};

static struct bm_target target(uint64_t id, enum bm_target_kind kind, const char *name)
{
	struct bm_target t = { .id = id, .kind = kind, .name = (char *)name };

	labels_parse(name, &t.labels);
	return t;
}

static struct bm_row row(struct bm_target *t, int socket, uint64_t cpu_ns, double pkg_j,
			 unsigned int model_id)
{
	return (struct bm_row){
		.target = t,
		.socket = socket,
		.s = { .cpu_ns = cpu_ns, .ev = { cpu_ns * 3, cpu_ns / 7 }, .energy_j = { pkg_j } },
		.domains = 1u << BM_DOMAIN_PACKAGE,
		.model_id = { model_id },
	};
}

static char *render(struct prom_state *ps)
{
	struct prom_buf b = { 0 };

	prom_render(&b, ps, &meta, NULL, 0);
	return b.p;
}

static void test_label_escaping(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "back\\slash", "back\\\\slash" },
		{ "say \"hi\"", "say \\\"hi\\\"" },
		{ "two\nlines", "two\\nlines" },
		{ "comma, equals=", "comma, equals=" },
		{ "caf\xc3\xa9 \xe2\x9a\xa1 \xf0\x9f\x94\x8b",
		  "caf\xc3\xa9 \xe2\x9a\xa1 \xf0\x9f\x94\x8b" },
		/* Not UTF-8 (a stray byte, a cut sequence, an overlong '/', a surrogate). */
		{ "a\xff"
		  "b",
		  "a\xef\xbf\xbd"
		  "b" },
		{ "\xe2\x9a", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct prom_buf b = { 0 };

		prom_label_value(&b, cases[i].in);
		CHECK_STR(b.p ? b.p : "", cases[i].out);
		prom_buf_free(&b);
	}
}

static void test_exposition(void)
{
	struct bm_target web =
		target(42, BM_TARGET_CGROUP,
		       "/system.slice/docker-"
		       "3f2a1b9c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
		       ".scope");
	struct bm_target odd = target(43, BM_TARGET_CGROUP, "/we\"ird\\na\nme");
	struct bm_target idle = target(0, BM_TARGET_IDLE, "idle");
	struct bm_row rows[] = {
		row(&web, 0, 1500000000, 30, 0),
		row(&odd, 1, 250000000, 5, 3),
		row(&idle, 0, 500000000, 10, 0),
	};
	struct energy_reading e[] = { { .socket = 0, .domain = BM_DOMAIN_PACKAGE, .joules = 40 },
				      { .socket = 1, .domain = BM_DOMAIN_PACKAGE, .joules = 5 } };
	struct bm_model_record rec[] = {
		{ .socket = 0, .domain = BM_DOMAIN_PACKAGE, .layer_mhz = -1 },
		{ .socket = 1,
		  .domain = BM_DOMAIN_PACKAGE,
		  .predicted = true,
		  .error_w = -0.25,
		  .model_id = 3,
		  .layer_mhz = 2100 },
	};
	struct bm_interval iv = { .interval_s = 2,
				  .rows = rows,
				  .n = ARRAY_SIZE(rows),
				  .energy = e,
				  .nenergy = 2,
				  .models = rec,
				  .overflow = 7,
				  .carbon_g_per_kwh = -1 };
	struct prom_state *ps = prom_state_new(300);
	char *text = render(ps), *labels;

	/* Before any interval: what the session is, and no made-up zeros. */
	CHECK_HAS(text, "bpfmeter_build_info{version=\"");
	CHECK_HAS(text, "hook=\"tp_btf\",energy_source=\"powercap\",host=\"h\"} 1\n");
	CHECK(value_of(text, "bpfmeter_intervals_total") == 0);
	CHECK(!strstr(text, "bpfmeter_target_"));
	check_format(text);
	free(text);

	prom_state_update(ps, &meta, &iv);
	text = render(ps);
	CHECK(check_format(text) >= 12);
	CHECK(value_of(text, "bpfmeter_intervals_total") == 1);
	CHECK(value_of(text, "bpfmeter_overflow_slices_total") == 7);
	CHECK_HAS(text, "# HELP bpfmeter_target_energy_joules_total ");
	CHECK_HAS(text, "# TYPE bpfmeter_target_energy_joules_total counter\n");
	CHECK_HAS(text, "# TYPE bpfmeter_target_power_watts gauge\n");
	CHECK_HAS(text, "# TYPE bpfmeter_target_cpu_seconds_total counter\n");
	CHECK_HAS(text, "# TYPE bpfmeter_energy_joules_total counter\n");
	CHECK_HAS(text, "# TYPE bpfmeter_model_info gauge\n");
	labels =
		"target=\"/system.slice/docker-"
		"3f2a1b9c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8.scope\","
		"runtime=\"docker\",container_id=\"3f2a1b9c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"
		"8192a3b4c5d6e7f8\",unit=\"docker-3f2a1b9c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"
		"192a3b4c5d6e7f8.scope\",socket=\"0\"";
	{
		char series[512];

		snprintf(series, sizeof(series),
			 "bpfmeter_target_energy_joules_total{%s,domain=\"package\","
			 "estimate=\"provisional\"}",
			 labels);
		CHECK(value_of(text, series) == 30);
		snprintf(series, sizeof(series),
			 "bpfmeter_target_power_watts{%s,domain=\"package\",estimate="
			 "\"provisional\"}",
			 labels);
		CHECK(value_of(text, series) == 15);
		snprintf(series, sizeof(series), "bpfmeter_target_cpu_seconds_total{%s}", labels);
		CHECK(value_of(text, series) == 1.5);
		snprintf(series, sizeof(series), "bpfmeter_target_cycles_total{%s}", labels);
		CHECK(value_of(text, series) == 4500000000.0);
		snprintf(series, sizeof(series), "bpfmeter_target_4_0x3c_total{%s}", labels);
		CHECK(value_of(text, series) == 1500000000 / 7);
	}
	/* A name with a quote, a backslash and a line break, on socket 1, split by a model. */
	CHECK(value_of(text, "bpfmeter_target_energy_joules_total{target=\"/we\\\"ird\\\\na\\nme\","
			     "socket=\"1\",domain=\"package\",estimate=\"model\"}") == 5);
	CHECK(value_of(text, "bpfmeter_target_energy_joules_total{target=\"idle\",socket=\"0\","
			     "domain=\"package\",estimate=\"provisional\"}") == 10);
	/* ref-cycles was not counted: no family at all. */
	CHECK(!strstr(text, "ref_cycles"));
	/* No carbon intensity given: no CO2e. */
	CHECK(!strstr(text, "co2e"));
	CHECK(value_of(text, "bpfmeter_energy_joules_total{socket=\"0\",domain=\"package\"}") ==
	      40);
	CHECK(value_of(text, "bpfmeter_power_watts{socket=\"1\",domain=\"package\"}") == 2.5);
	CHECK(value_of(text, "bpfmeter_model_error_watts{socket=\"1\",domain=\"package\"}") ==
	      -0.25);
	/* Socket 0 had no model yet: an info series, but no error. */
	CHECK(isnan(value_of(text, "bpfmeter_model_error_watts{socket=\"0\",domain=\"package\"}")));
	CHECK(value_of(text,
		       "bpfmeter_model_info{socket=\"0\",domain=\"package\",model_id=\"0\"}") == 1);
	CHECK(value_of(text, "bpfmeter_model_info{socket=\"1\",domain=\"package\",model_id=\"3\","
			     "layer_mhz=\"2100\"}") == 1);
	free(text);

	/* A carbon intensity: grams = joules / 3.6e6 x g/kWh. */
	iv.carbon_g_per_kwh = 360;
	prom_state_update(ps, &meta, &iv);
	text = render(ps);
	check_format(text);
	CHECK(value_of(text, "bpfmeter_target_co2e_grams_total{target=\"idle\",socket=\"0\","
			     "domain=\"package\",estimate=\"provisional\"}") == 0.001);
	free(text);
	prom_state_free(ps);
}

static void test_processes_and_http(void)
{
	struct bm_target p = target(4242, BM_TARGET_PROCESS, "stress-ng[4242]");
	struct bm_row r = row(&p, 0, 1000, 1, 0);
	struct bm_interval iv = { .interval_s = 1, .rows = &r, .n = 1, .carbon_g_per_kwh = -1 };
	struct prom_http http = {
		.spec = "influx+https://u:secret@db.example:8086/write?db=x&p=pw",
		.st = { .spooled_bytes = 1234, .spooled_batches = 2, .dropped_batches = 1 }
	};
	struct prom_state *ps = prom_state_new(300);
	struct prom_buf b = { 0 };

	prom_state_update(ps, &meta, &iv);
	prom_render(&b, ps, &meta, &http, 1);
	check_format(b.p);
	CHECK(value_of(b.p, "bpfmeter_target_cpu_seconds_total{target=\"stress-ng[4242]\","
			    "pid=\"4242\",comm=\"stress-ng\",socket=\"0\"}") == 1e-6);
	/* The URL without its user, password or query. */
	CHECK(value_of(b.p, "bpfmeter_spool_bytes{output=\"https://db.example:8086/write\"}") ==
	      1234);
	CHECK(value_of(b.p, "bpfmeter_spool_batches{output=\"https://db.example:8086/write\"}") ==
	      2);
	CHECK(value_of(b.p, "bpfmeter_spool_dropped_batches_total{output=\"https://"
			    "db.example:8086/write\"}") == 1);
	CHECK(!strstr(b.p, "secret") && !strstr(b.p, "pw"));
	prom_buf_free(&b);
	prom_state_free(ps);
}

/*
 * Counters over intervals where a target changes socket, skips an interval, and goes from the
 * provisional split to a model's: every counter equals its sum and none ever decreases.
 */
static void test_counters_never_decrease(void)
{
	struct bm_target a = target(10, BM_TARGET_CGROUP, "/a");
	struct bm_target b = target(11, BM_TARGET_CGROUP, "/b");
	const char *const series[] = {
		"bpfmeter_target_energy_joules_total{target=\"/a\",socket=\"0\",domain=\"package\","
		"estimate=\"provisional\"}",
		"bpfmeter_target_energy_joules_total{target=\"/a\",socket=\"0\",domain=\"package\","
		"estimate=\"model\"}",
		"bpfmeter_target_cpu_seconds_total{target=\"/a\",socket=\"0\"}",
		"bpfmeter_target_cycles_total{target=\"/a\",socket=\"0\"}",
		"bpfmeter_target_energy_joules_total{target=\"/b\",socket=\"1\",domain=\"package\","
		"estimate=\"model\"}",
		"bpfmeter_energy_joules_total{socket=\"0\",domain=\"package\"}",
		"bpfmeter_intervals_total",
	};
	double last[ARRAY_SIZE(series)] = { 0 }, sum_a = 0, sum_meas = 0;
	struct prom_state *ps = prom_state_new(300);

	for (int k = 0; k < 40; k++) {
		struct bm_row rows[2];
		struct energy_reading e = { .socket = 0,
					    .domain = BM_DOMAIN_PACKAGE,
					    .joules = 10 + k % 7 };
		struct bm_interval iv = { .interval_s = 0.2,
					  .rows = rows,
					  .energy = &e,
					  .nenergy = 1,
					  .carbon_g_per_kwh = -1 };
		double ja = 0.1 * (k % 5) + 1e-7 * k; /* small steps: nanojoule resolution */
		char *text;

		if (k % 9 != 4) { /* /a skips some intervals */
			rows[iv.n++] = row(&a, 0, 1000000 * (uint64_t)(k + 1), ja, k >= 20 ? 5 : 0);
			sum_a += ja;
		}
		rows[iv.n++] = row(&b, 1, 777, 0.5, 1);
		sum_meas += e.joules;
		prom_state_update(ps, &meta, &iv);
		text = render(ps);
		for (size_t i = 0; i < ARRAY_SIZE(series); i++) {
			double v = value_of(text, series[i]);

			if (isnan(v))
				continue; /* not yet: the model series starts at interval 20 */
			if (v < last[i]) {
				printf("    %s went from %.9f to %.9f at %d\n", series[i], last[i],
				       v, k);
				unit_failed_checks++;
			}
			last[i] = v;
		}
		free(text);
	}
	CHECK(fabs(last[0] + last[1] - sum_a) < 1e-8);
	CHECK(last[0] > 0 && last[1] > 0);
	CHECK(fabs(last[4] - 20) < 1e-9);
	CHECK(fabs(last[5] - sum_meas) < 1e-8);
	CHECK(last[6] == 40);
	prom_state_free(ps);
}

/* A target without rows is kept for keep_s after its last, without a power gauge, then goes. */
static void test_ended_targets_expire(void)
{
	struct bm_target a = target(10, BM_TARGET_CGROUP, "/a");
	struct bm_target b = target(11, BM_TARGET_CGROUP, "/b");
	const char *ea = "bpfmeter_target_energy_joules_total{target=\"/a\",socket=\"0\","
			 "domain=\"package\",estimate=\"provisional\"}";
	const char *pa = "bpfmeter_target_power_watts{target=\"/a\",socket=\"0\","
			 "domain=\"package\",estimate=\"provisional\"}";
	struct prom_state *ps = prom_state_new(2.5);
	char *text;

	for (int k = 1; k <= 7; k++) {
		struct bm_row rows[2];
		struct bm_interval iv = { .interval_s = 1, .rows = rows, .carbon_g_per_kwh = -1 };

		if (k <= 3 || k == 7)
			rows[iv.n++] = row(&a, 0, 1000, 2, 0);
		rows[iv.n++] = row(&b, 0, 1000, 1, 0);
		prom_state_update(ps, &meta, &iv);
		text = render(ps);
		switch (k) {
		case 3:
			CHECK(value_of(text, ea) == 6);
			CHECK(value_of(text, pa) == 2);
			CHECK(prom_state_targets(ps) == 2);
			break;
		case 4:
		case 5: /* 2 s since its last interval: still there, its power not */
			CHECK(value_of(text, ea) == 6);
			CHECK(isnan(value_of(text, pa)));
			CHECK(prom_state_targets(ps) == 2);
			break;
		case 6: /* 3 s: gone, every series of it */
			CHECK(!strstr(text, "target=\"/a\""));
			CHECK(prom_state_targets(ps) == 1);
			break;
		case 7: /* back: a new series from 0 (a counter reset, to Prometheus) */
			CHECK(value_of(text, ea) == 2);
			CHECK(value_of(text, pa) == 2);
			break;
		}
		free(text);
	}
	prom_state_free(ps);

	/* Keep 0: only the targets of the last interval. */
	ps = prom_state_new(0);
	for (int k = 0; k < 2; k++) {
		struct bm_row r = row(k ? &b : &a, 0, 1000, 1, 0);
		struct bm_interval iv = {
			.interval_s = 1, .rows = &r, .n = 1, .carbon_g_per_kwh = -1
		};

		prom_state_update(ps, &meta, &iv);
	}
	text = render(ps);
	CHECK(!strstr(text, "target=\"/a\"") && strstr(text, "target=\"/b\""));
	free(text);
	prom_state_free(ps);
	CHECK(prom_default_keep(1) == 300 && prom_default_keep(600) == 1800);
}

static void test_process_metrics(void)
{
	struct prom_process p;
	struct prom_buf b = { 0 };

	prom_process_read(&p);
	CHECK(p.have_stat && p.have_fds);
	CHECK(p.rss_bytes > 0 && p.open_fds >= 3 && p.start_time_s > 1e9);
	prom_process_render(&b, &p);
	check_format(b.p);
	CHECK_HAS(b.p, "# TYPE process_cpu_seconds_total counter\n");
	CHECK(value_of(b.p, "process_open_fds") == (double)p.open_fds);
	CHECK(value_of(b.p, "process_resident_memory_bytes") == (double)p.rss_bytes);
	CHECK(!isnan(value_of(b.p, "process_start_time_seconds")));
	prom_buf_free(&b);
}

static void test_addresses(void)
{
	struct prom_addr a;
	struct sink s;
	char err[512], str[64];

	CHECK(prom_parse_addr("127.0.0.1:9102", &a, err, sizeof(err)) == 0);
	prom_addr_str((struct sockaddr *)&a.ss, str, sizeof(str));
	CHECK_STR(str, "127.0.0.1:9102");
	CHECK(!a.any && a.ss.ss_family == AF_INET);
	CHECK(prom_parse_addr(":9102", &a, err, sizeof(err)) == 0 && a.any);
	CHECK(prom_parse_addr("[::1]:0", &a, err, sizeof(err)) == 0);
	prom_addr_str((struct sockaddr *)&a.ss, str, sizeof(str));
	CHECK_STR(str, "[::1]:0");
	CHECK(prom_parse_addr("[::]:9102", &a, err, sizeof(err)) == 0 && !a.any);
	CHECK(prom_parse_addr("::1:9102", &a, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "brackets");
	CHECK(prom_parse_addr("localhost:9102", &a, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "'localhost' is not an IPv4 address");
	CHECK(prom_parse_addr("127.0.0.1:65536", &a, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "port '65536'");
	CHECK(prom_parse_addr("127.0.0.1:", &a, err, sizeof(err)) == -EINVAL);
	CHECK(prom_parse_addr("127.0.0.1", &a, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "no port");
	CHECK(prom_parse_addr("[::1]9102", &a, err, sizeof(err)) == -EINVAL);
	CHECK(prom_parse_addr("[fe80::zz]:1", &a, err, sizeof(err)) == -EINVAL);
	CHECK(output_parse("prometheus::9102", &s, err, sizeof(err)) == 0);
	CHECK(s.kind == SINK_PROMETHEUS && s.listen.any);
	CHECK(output_parse("prometheus:1.2.3:9102", &s, err, sizeof(err)) == -EINVAL);
	CHECK_HAS(err, "'prometheus:1.2.3:9102': '1.2.3' is not an IPv4 address: use ");
	CHECK(output_parse("prometheus:", &s, err, sizeof(err)) == -EINVAL);
}

/* --prometheus-keep and --web-config as opts_parse() takes them. */
static void test_options(void)
{
	char *keep[] = {
		"bpfmeter", "--prometheus-keep", "90s", "--web-config", "/etc/w.yml", NULL
	};
	char *zero[] = { "bpfmeter", "--prometheus-keep=0", NULL };
	char *bad[] = { "bpfmeter", "--prometheus-keep", "soon", NULL };
	char *none[] = { "bpfmeter", NULL };
	struct capture err;
	struct bm_opts o;

	optind = 0;
	CHECK(opts_parse(&o, 5, keep) == OPTS_OK);
	CHECK(o.prometheus_keep_s == 90);
	CHECK_STR(o.web_config, "/etc/w.yml");
	CHECK(opts_parse(&o, 2, zero) == OPTS_OK && o.prometheus_keep_s == 0);
	CHECK(opts_parse(&o, 1, none) == OPTS_OK);
	CHECK(o.prometheus_keep_s < 0 && !o.web_config); /* the default: prom_default_keep() */
	capture_begin(&err, 2);
	CHECK(opts_parse(&o, 3, bad) == OPTS_EXIT_USAGE);
	capture_end(&err);
	CHECK_HAS(err.text, "invalid value 'soon' for --prometheus-keep");
}

/* The web config in a fixture folder; cert and key need only be readable here. */
static int load_config(const char *root, const char *yaml, struct prom_web_config *wc, char *msg,
		       size_t size)
{
	char path[512], err[4200];
	int ret;

	snprintf(path, sizeof(path), "%s/web.yml", root);
	fixture_put(root, "web.yml", yaml);
	ret = prom_web_config_load(path, wc, err, sizeof(err));
	fixture_errmsg(msg, size, ret, err, path);
	return ret;
}

/* "s3cret w0rd" at bcrypt cost 5, made with crypt(3). */
#define HASH_A "$2b$05$mXji5u61ROgF60VVodtXGumMA5HJaGWA9o7qdY.ownq7jXWYOQ5Ge"

static void test_web_config(void)
{
	struct prom_web_config wc;
	struct crypt_data *cd = bm_calloc(1, sizeof(*cd));
	char root[256], msg[4300], want[600];

	if (!fixture_mkdtemp(root, sizeof(root), "webcfg")) {
		free(cd);
		return;
	}
	fixture_put(root, "tls/server.crt", "CERT\n");
	fixture_put(root, "tls/server.key", "KEY\n");
	CHECK(load_config(root,
			  "# as Prometheus reads it\n"
			  "tls_server_config:\n"
			  "  cert_file: tls/server.crt\n"
			  "  key_file: \"tls/server.key\"\n"
			  "basic_auth_users:\n"
			  "  alice: " HASH_A "\n"
			  "  'bob smith': "
			  "'$2y$05$iHqtkJ3r3w2JTUxQ2lp0Be/C1Iv21feSzu5YRUa/C3LsHX7II8Y7W'\n",
			  &wc, msg, sizeof(msg)) == 0);
	CHECK_STR(msg, "");
	snprintf(want, sizeof(want), "%s/tls/server.crt", root);
	CHECK_STR(wc.cert_file, want);
	CHECK_STR(wc.cert_pem, "CERT\n");
	CHECK_STR(wc.key_pem, "KEY\n");
	CHECK(wc.nusers == 2);
	CHECK_STR(wc.nusers == 2 ? wc.users[1].name : "", "bob smith");
	CHECK(prom_web_check(&wc, "alice", "s3cret w0rd", cd) == 0);
	CHECK(prom_web_check(&wc, "bob smith", "s3cret w0rd", cd) == 1);
	CHECK(prom_web_check(&wc, "alice", "s3cret w0rd ", cd) == -1);
	CHECK(prom_web_check(&wc, "alice", "", cd) == -1);
	CHECK(prom_web_check(&wc, "carol", "s3cret w0rd", cd) == -1);
	prom_web_config_free(&wc);

	/* Flow style, and users alone (no TLS). */
	CHECK(load_config(root, "basic_auth_users: {alice: '" HASH_A "'}\n", &wc, msg,
			  sizeof(msg)) == 0);
	CHECK(wc.nusers == 1 && !wc.cert_pem);
	prom_web_config_free(&wc);
	/* Empty: plain HTTP, no authentication, as Prometheus takes it. */
	CHECK(load_config(root, "", &wc, msg, sizeof(msg)) == 0 && !wc.nusers && !wc.cert_pem);
	prom_web_config_free(&wc);
	CHECK(load_config(root, "basic_auth_users:\n", &wc, msg, sizeof(msg)) == 0);
	prom_web_config_free(&wc);

	/* What does not load is named, with the line and column. */
	load_config(root, "tls_server_config:\n  cert_file: tls/server.crt\n  client_ca_file: x\n",
		    &wc, msg, sizeof(msg));
	CHECK_STR(msg, "F:3:3: tls_server_config: 'client_ca_file' is not supported by bpfmeter "
		       "(only cert_file and key_file)");
	load_config(root, "tls_server_config:\n  cert_file: tls/server.crt\n", &wc, msg,
		    sizeof(msg));
	CHECK_STR(msg, "F:2:3: tls_server_config: key_file is missing");
	load_config(root, "http_server_config:\n  http2: false\n", &wc, msg, sizeof(msg));
	CHECK_HAS(msg, "F:1:1: 'http_server_config' is not supported by bpfmeter");
	load_config(root, "basic_auth_users:\n  alice: secret\n", &wc, msg, sizeof(msg));
	CHECK_STR(msg, "F:2:10: basic_auth_users: the password of 'alice' is not a bcrypt hash "
		       "($2y$..., as htpasswd -nB makes it)");
	load_config(root, "basic_auth_users:\n  alice: " HASH_A "\n  alice: " HASH_A "\n", &wc, msg,
		    sizeof(msg));
	CHECK_STR(msg, "F:3:3: basic_auth_users: 'alice' is listed twice");
	load_config(root, "basic_auth_users: [alice]\n", &wc, msg, sizeof(msg));
	CHECK_HAS(msg, "F:1:19: basic_auth_users is not a mapping");
	load_config(root, "- tls_server_config\n", &wc, msg, sizeof(msg));
	CHECK_HAS(msg, "F:1:1: not a mapping");
	load_config(root, "tls_server_config: {cert_file: x\n", &wc, msg, sizeof(msg));
	CHECK_HAS(msg, "F:2:1: not YAML: ");
	load_config(root, "tls_server_config:\n  cert_file: nope.crt\n  key_file: tls/server.key\n",
		    &wc, msg, sizeof(msg));
	snprintf(want, sizeof(want), "F:2:14: cannot read %s/nope.crt: No such file or directory",
		 root);
	CHECK_STR(msg, want);
	load_config(root, "tls_server_config:\n  cert_file: tls\n  key_file: tls/server.key\n", &wc,
		    msg, sizeof(msg));
	snprintf(want, sizeof(want), "F:2:14: cannot read %s/tls: Is a directory", root);
	CHECK_STR(msg, want);
	CHECK(prom_web_config_load("/nonexistent/web.yml", &wc, msg, sizeof(msg)) == -EINVAL);
	CHECK_STR(msg, "cannot read /nonexistent/web.yml: No such file or directory");
	prom_web_config_free(&wc);
	fixture_rmtree(root);
	free(cd);
}

/* A request on a new connection to port; the whole answer (headers and body) in a malloc'd string.
 */
static char *request(int port, const char *req)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct prom_buf b = { 0 };
	char buf[65536];
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    bm_write_all(fd, req, strlen(req))) {
		if (fd >= 0)
			close(fd);
		return bm_strdup("");
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		prom_buf_add(&b, buf, (size_t)n);
	close(fd);
	return b.p ? b.p : bm_strdup("");
}

static int port_of(const struct prom_server *srv)
{
	const char *colon = strrchr(prom_server_url(srv), ':');

	return colon ? atoi(colon + 1) : 0;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"

static void test_server(void)
{
	struct prom_buf b = { 0 };
	struct prom_snapshot *snap;
	struct prom_server *srv, *again;
	struct prom_addr a;
	char err[4200], *ans;
	int port;

	prom_parse_addr("127.0.0.1:0", &a, err, sizeof(err));
	srv = prom_server_start(&a, NULL, err, sizeof(err));
	CHECK(srv != NULL);
	if (!srv) {
		printf("    %s\n", err);
		return;
	}
	port = port_of(srv);
	CHECK(port > 0);
	ans = request(port, GET("/metrics") "\r\n");
	CHECK_HAS(ans, "HTTP/1.1 503 ");
	free(ans);
	ans = request(port, GET("/healthz") "\r\n");
	CHECK_HAS(ans, "HTTP/1.1 503 ");
	CHECK_HAS(ans, "starting: no interval published yet");
	free(ans);
	prom_server_set_stale(srv, 0.2);
	prom_buf_add(&b, "x_total 1\n", 10);
	snap = prom_snapshot_new(&b);
	prom_server_publish(srv, snap);
	prom_snapshot_put(snap);
	ans = request(port, GET("/healthz") "\r\n");
	CHECK_HAS(ans, "HTTP/1.1 200 ");
	CHECK_HAS(ans, "ok: last interval published ");
	free(ans);
	/* Nothing published for longer than the stale time: the loop is stuck, say so. */
	nanosleep(&(struct timespec){ .tv_nsec = 300 * 1000 * 1000 }, NULL);
	ans = request(port, GET("/healthz") "\r\n");
	CHECK_HAS(ans, "HTTP/1.1 503 ");
	CHECK_HAS(ans, "stale: no interval published for ");
	free(ans);
	prom_server_set_stale(srv, 0);
	ans = request(port, GET("/metrics") "\r\n");
	CHECK_HAS(ans, "HTTP/1.1 200 ");
	CHECK_HAS(ans, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
	CHECK_HAS(ans, "\r\n\r\nx_total 1\n# HELP process_cpu_seconds_total ");
	free(ans);
	ans = request(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	CHECK_HAS(ans, "HTTP/1.1 200 ");
	CHECK(!strstr(ans, "x_total"));
	free(ans);
	ans = request(port, GET("/") "\r\n");
	CHECK_HAS(ans, "HTTP/1.1 200 ");
	CHECK_HAS(ans, "text/html");
	CHECK_HAS(ans, "<a href=\"/metrics\">");
	free(ans);
	ans = request(port, GET("/metrics/") "\r\n");
	CHECK_HAS(ans, "HTTP/1.1 404 ");
	free(ans);
	ans = request(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			    "Content-Length: 5\r\n\r\nhello");
	CHECK_HAS(ans, "HTTP/1.1 405 ");
	CHECK_HAS(ans, "Allow: GET, HEAD\r\n");
	free(ans);
	ans = request(port, "DELETE /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	CHECK_HAS(ans, "HTTP/1.1 404 ");
	free(ans);

	/* The same port again: in use, said so. */
	snprintf(err, sizeof(err), "127.0.0.1:%d", port);
	prom_parse_addr(err, &a, err, sizeof(err));
	again = prom_server_start(&a, NULL, err, sizeof(err));
	CHECK(again == NULL);
	CHECK_HAS(err, "Address already in use: another program listens there");
	prom_server_stop(again);
	prom_server_stop(srv);
}

static void test_server_basic_auth(void)
{
	struct prom_web_config wc = { 0 };
	struct prom_user user = { .name = "alice", .hash = HASH_A };
	struct prom_buf b = { 0 };
	struct prom_snapshot *snap;
	struct prom_server *srv;
	struct prom_addr a;
	char err[4200], *ans;
	int port;

	wc.path = "web.yml";
	wc.users = &user;
	wc.nusers = 1;
	prom_parse_addr("127.0.0.1:0", &a, err, sizeof(err));
	srv = prom_server_start(&a, &wc, err, sizeof(err));
	CHECK(srv != NULL);
	if (!srv)
		return;
	port = port_of(srv);
	prom_buf_add(&b, "y 2\n", 4);
	snap = prom_snapshot_new(&b);
	prom_server_publish(srv, snap);
	prom_snapshot_put(snap);
	ans = request(port, GET("/metrics") "\r\n");
	CHECK_HAS(ans, "HTTP/1.1 401 ");
	CHECK_HAS(ans, "WWW-Authenticate: Basic realm=\"bpfmeter\"");
	free(ans);
	/* alice:s3cret w0rd, twice (the second from the remembered password). */
	for (int i = 0; i < 2; i++) {
		ans = request(port, GET("/metrics") "Authorization: Basic "
						    "YWxpY2U6czNjcmV0IHcwcmQ=\r\n\r\n");
		CHECK_HAS(ans, "HTTP/1.1 200 ");
		CHECK_HAS(ans, "\r\n\r\ny 2\n");
		free(ans);
	}
	/* alice:s3cret w0rD, and an unknown user. */
	ans = request(port,
		      GET("/metrics") "Authorization: Basic YWxpY2U6czNjcmV0IHcwckQ=\r\n\r\n");
	CHECK_HAS(ans, "HTTP/1.1 401 ");
	free(ans);
	ans = request(port, GET("/metrics") "Authorization: Basic Ym9iOnMzY3JldCB3MHJk\r\n\r\n");
	CHECK_HAS(ans, "HTTP/1.1 401 ");
	free(ans);
	/* Paths are not told to whoever has no password. */
	ans = request(port, GET("/nope") "\r\n");
	CHECK_HAS(ans, "HTTP/1.1 401 ");
	free(ans);
	prom_server_stop(srv);
}

struct publisher {
	struct prom_server *srv;
	int rounds; /* published so far */
	volatile int stop;
};

/* Snapshots of 2000 lines, all "v N" for the snapshot's N: a torn read would mix two Ns. */
static void *publish_many(void *arg)
{
	struct publisher *p = arg;

	for (int n = 1; !p->stop; n++) {
		struct prom_buf b = { 0 };
		struct prom_snapshot *s;
		char line[32];
		int len = snprintf(line, sizeof(line), "v %d\n", n);

		for (int i = 0; i < 2000; i++)
			prom_buf_add(&b, line, (size_t)len);
		s = prom_snapshot_new(&b);
		prom_server_publish(p->srv, s);
		prom_snapshot_put(s);
		__atomic_store_n(&p->rounds, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_scrapes_see_whole_snapshots(void)
{
	struct publisher pub = { 0 };
	struct prom_addr a;
	char err[4200];
	pthread_t t;
	int torn = 0, seen = 0;

	prom_parse_addr("127.0.0.1:0", &a, err, sizeof(err));
	pub.srv = prom_server_start(&a, NULL, err, sizeof(err));
	CHECK(pub.srv != NULL);
	if (!pub.srv)
		return;
	pthread_create(&t, NULL, publish_many, &pub);
	while (!__atomic_load_n(&pub.rounds, __ATOMIC_ACQUIRE))
		usleep(1000);
	for (int i = 0; i < 100; i++) {
		char *ans = request(port_of(pub.srv), GET("/metrics") "\r\n");
		char *body = strstr(ans, "\r\n\r\nv ");
		int first, lines = 0;

		if (!body) {
			printf("    an answer without a body: %.80s\n", ans);
			free(ans);
			continue;
		}
		body += 4;
		first = atoi(body + 2);
		for (char *p = body; !strncmp(p, "v ", 2); p = strchr(p, '\n') + 1, lines++)
			if (atoi(p + 2) != first)
				torn++;
		if (lines != 2000)
			torn++;
		seen++;
		free(ans);
	}
	pub.stop = 1;
	pthread_join(t, NULL);
	CHECK(seen == 100);
	CHECK(torn == 0);
	CHECK(pub.rounds > 10);
	prom_server_stop(pub.srv);
}

/* A row with one standard error of its package power, err W, or none (err < 0). */
static struct bm_row row_err(struct bm_target *t, int socket, double pkg_j, double err)
{
	struct bm_row r = row(t, socket, 1000, pkg_j, 1);

	if (err >= 0) {
		r.power_err_w[BM_DOMAIN_PACKAGE] = err;
		r.err_domains = 1u << BM_DOMAIN_PACKAGE;
	} else {
		r.power_err_w[BM_DOMAIN_PACKAGE] = 9; /* not one: its bit is not set */
	}
	return r;
}

/*
 * The standard error of a target's power: a series beside its power's, where every row of it
 * (rows of one name and socket add up, as their power does) had one; none where not.
 */
static void test_power_stderr(void)
{
	struct bm_target a = target(10, BM_TARGET_CGROUP, "/a");
	struct bm_target b = target(11, BM_TARGET_CGROUP, "/b");
	struct bm_target g1 = target(12, BM_TARGET_GROUP, "g"),
			 g2 = target(13, BM_TARGET_GROUP, "g");
	struct bm_target h1 = target(14, BM_TARGET_GROUP, "h"),
			 h2 = target(15, BM_TARGET_GROUP, "h");
	const char *ea0 = "bpfmeter_target_power_watts_stderr{target=\"/a\",socket=\"0\","
			  "domain=\"package\",estimate=\"model\"}";
	const char *ea1 = "bpfmeter_target_power_watts_stderr{target=\"/a\",socket=\"1\","
			  "domain=\"package\",estimate=\"model\"}";
	const char *eg = "bpfmeter_target_power_watts_stderr{target=\"g\",socket=\"0\","
			 "domain=\"package\",estimate=\"model\"}";
	const char *pg = "bpfmeter_target_power_watts{target=\"g\",socket=\"0\","
			 "domain=\"package\",estimate=\"model\"}";
	struct prom_state *ps = prom_state_new(60);
	struct bm_row rows[7];
	struct bm_interval iv = { .interval_s = 2, .rows = rows, .carbon_g_per_kwh = -1 };
	char *text;

	rows[iv.n++] = row_err(&a, 0, 8, 0.5);
	rows[iv.n++] = row_err(&a, 1, 4, 0.125);
	rows[iv.n++] = row_err(&b, 0, 8, -1);
	rows[iv.n++] = row_err(&g1, 0, 2, 0.25);
	rows[iv.n++] = row_err(&g2, 0, 4, 0.5);
	rows[iv.n++] = row_err(&h1, 0, 2, 0.25);
	rows[iv.n++] = row_err(&h2, 0, 4, -1);
	prom_state_update(ps, &meta, &iv);
	text = render(ps);
	check_format(text);
	CHECK_HAS(text, "# HELP bpfmeter_target_power_watts_stderr One standard error (W) of the "
			"power model's split of the target's power over the last interval "
			"(bpfmeter_target_power_watts); only where the model gives one.\n"
			"# TYPE bpfmeter_target_power_watts_stderr gauge\n");
	CHECK(value_of(text, ea0) == 0.5);
	CHECK(value_of(text, ea1) == 0.125);
	CHECK(value_of(text, pg) == 3); /* 2 J and 4 J over 2 s */
	CHECK(value_of(text, eg) == 0.75); /* their errors add */
	/* No standard error: no series, never a 0 (nor the figure without its bit). */
	CHECK(!strstr(text, "bpfmeter_target_power_watts_stderr{target=\"/b\""));
	CHECK(!strstr(text, "bpfmeter_target_power_watts_stderr{target=\"h\""));
	CHECK(strstr(text, "bpfmeter_target_power_watts{target=\"h\"") != NULL);
	free(text);
	/* The next interval: /a's row has none, and g has no row; b has one now. */
	iv.n = 0;
	rows[iv.n++] = row_err(&a, 0, 8, -1);
	rows[iv.n++] = row_err(&b, 0, 8, 1);
	prom_state_update(ps, &meta, &iv);
	text = render(ps);
	check_format(text);
	CHECK(isnan(value_of(text, ea0)) && isnan(value_of(text, ea1)) &&
	      isnan(value_of(text, eg)));
	CHECK(value_of(text, "bpfmeter_target_power_watts_stderr{target=\"/b\",socket=\"0\","
			     "domain=\"package\",estimate=\"model\"}") == 1);
	free(text);
	/* None at all: no family. */
	iv.n = 0;
	rows[iv.n++] = row_err(&a, 0, 8, -1);
	prom_state_update(ps, &meta, &iv);
	text = render(ps);
	CHECK(!strstr(text, "stderr"));
	free(text);
	prom_state_free(ps);
}

const struct unit_test prometheus_tests[] = {
	{ "prometheus/label_values_escaped_and_utf8", test_label_escaping },
	{ "prometheus/exposition_help_type_labels_values", test_exposition },
	{ "prometheus/process_labels_and_influx_spool", test_processes_and_http },
	{ "prometheus/counters_never_decrease_across_intervals", test_counters_never_decrease },
	{ "prometheus/ended_targets_expire_after_keep", test_ended_targets_expire },
	{ "prometheus/power_stderr_only_where_every_row_has_one", test_power_stderr },
	{ "prometheus/process_metrics_from_proc_self", test_process_metrics },
	{ "prometheus/listen_address_forms", test_addresses },
	{ "prometheus/keep_and_web_config_options", test_options },
	{ "prometheus/web_config_parsed_and_checked", test_web_config },
	{ "prometheus/server_status_codes_and_port_in_use", test_server },
	{ "prometheus/server_basic_auth", test_server_basic_auth },
	{ "prometheus/scrapes_see_whole_snapshots", test_scrapes_see_whole_snapshots },
	{ NULL, NULL },
};
