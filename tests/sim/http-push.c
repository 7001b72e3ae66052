// SPDX-License-Identifier: BSD-2-Clause
/*
 * http-push: the InfluxDB HTTP sink (user/output/out_http.c) on its own, for the integration tests.
 * Reads line protocol from stdin, where a blank line ends a batch, and enqueues each batch as
 * soon as it is complete; at EOF it closes the sink, waiting up to --wait seconds for the spool
 * to drain, and prints the sink's counts as "key value" lines on stdout. The sink's messages
 * go to stderr as bpfmeter's would.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out_http.h"
#include "util.h"

#define EXIT_USAGE 2

static const char usage[] = "usage: http-push -u URL -s SPOOL_DIR [-m SPOOL_MAX_BYTES] [-c "
			    "CONNECT_MS] [-t TIMEOUT_MS]\n"
			    "                 [-w WAIT_S] [-k TOKEN_ENV] < batches\n";

__attribute__((format(printf, 1, 2), noreturn)) static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("http-push: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	exit(EXIT_USAGE);
}

static long parse_ms(const char *s, const char *what)
{
	uint64_t v;

	if (bm_parse_u64(s, 1, 3600000, &v))
		die_usage("bad %s '%s' (want milliseconds, 1 to 3600000)", what, s);
	return (long)v;
}

/* Enqueue what *len bytes of batch hold, if anything; exit on failure. */
static void flush(struct http_sink *h, const char *batch, size_t *len, uint64_t *enqueued)
{
	int err;

	if (!*len)
		return;
	err = http_sink_enqueue(h, batch, *len);
	if (err) {
		fprintf(stderr, "http-push: cannot enqueue a batch: %s\n", strerror(-err));
		exit(1);
	}
	*len = 0;
	(*enqueued)++;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "spool", required_argument, NULL, 's' },
		{ "spool-max", required_argument, NULL, 'm' },
		{ "connect-timeout", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "wait", required_argument, NULL, 'w' },
		{ "token-env", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_config cfg = {
		.spool_max = 64 << 20,
		.connect_timeout_ms = 1000,
		.timeout_ms = 5000,
	};
	size_t len = 0, cap = 0, linecap = 0;
	char err[512], *batch = NULL, *line = NULL;
	uint64_t enqueued = 0;
	struct http_stats st;
	struct http_sink *h;
	double wait_s = 10;
	ssize_t n;
	int c;

	while ((c = getopt_long(argc, argv, "u:s:m:c:t:w:k:", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			cfg.url = optarg;
			break;
		case 's':
			cfg.spool_dir = optarg;
			break;
		case 'm':
			if (bm_parse_u64(optarg, 1, UINT64_MAX, &cfg.spool_max))
				die_usage("bad spool cap '%s' (want bytes > 0)", optarg);
			break;
		case 'c':
			cfg.connect_timeout_ms = parse_ms(optarg, "connect timeout");
			break;
		case 't':
			cfg.timeout_ms = parse_ms(optarg, "timeout");
			break;
		case 'w':
			if (bm_parse_seconds(optarg, 0, 3600, &wait_s))
				die_usage("bad wait '%s' (want seconds, 0 to 3600)", optarg);
			break;
		case 'k':
			cfg.token_env = optarg;
			break;
		default:
			die_usage("unknown option");
		}
	}
	if (optind < argc || !cfg.url || !cfg.spool_dir)
		die_usage("needs -u URL and -s SPOOL_DIR, and no other arguments");

	h = http_sink_open(&cfg, err, sizeof(err));
	if (!h) {
		fprintf(stderr, "http-push: %s\n", err);
		return 1;
	}
	while ((n = getline(&line, &linecap, stdin)) > 0) {
		if (!strcmp(line, "\n")) {
			flush(h, batch, &len, &enqueued);
			continue;
		}
		if (len + (size_t)n > cap) {
			cap = 2 * (len + (size_t)n);
			batch = realloc(batch, cap);
			if (!batch) {
				fputs("http-push: out of memory\n", stderr);
				return 1;
			}
		}
		memcpy(batch + len, line, (size_t)n);
		len += (size_t)n;
	}
	flush(h, batch, &len, &enqueued);
	free(batch);
	free(line);

	http_sink_close(h, wait_s, &st);
	printf("enqueued_batches %" PRIu64 "\n", enqueued);
	printf("sent_batches %" PRIu64 "\nsent_points %" PRIu64 "\n", st.sent_batches,
	       st.sent_points);
	printf("rejected_batches %" PRIu64 "\nrejected_points %" PRIu64 "\n", st.rejected_batches,
	       st.rejected_points);
	printf("dropped_batches %" PRIu64 "\ndropped_points %" PRIu64 "\n", st.dropped_batches,
	       st.dropped_points);
	printf("spooled_batches %" PRIu64 "\nlast_status %d\n", st.spooled_batches, st.last_status);
	return 0;
}
