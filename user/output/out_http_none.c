// SPDX-License-Identifier: BSD-2-Clause
/*
 * The HTTP sink of a build without libcurl (make static, -DBPFMETER_NO_HTTP): output_parse()
 * already refuses influx+http outputs there, so these only satisfy the linker. Empty in the
 * normal build, which links out_http.c instead.
 */
#ifdef BPFMETER_NO_HTTP
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "out_http.h"

#define NO_HTTP "InfluxDB over HTTP is not in this build of bpfmeter (it has no libcurl)"

struct http_sink *http_sink_open(const struct http_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	snprintf(err, errlen, "%s", NO_HTTP);
	errno = EOPNOTSUPP;
	return NULL;
}

int http_sink_enqueue(struct http_sink *h, const char *lines, size_t len)
{
	(void)h, (void)lines, (void)len;
	return -EOPNOTSUPP;
}

void http_sink_close(struct http_sink *h, double wait_s, struct http_stats *stats)
{
	(void)h, (void)wait_s;
	if (stats)
		memset(stats, 0, sizeof(*stats));
}

void http_sink_stats(struct http_sink *h, struct http_stats *stats)
{
	http_sink_close(h, 0, stats);
}

int http_write_url(const char *url, char *out, size_t outlen, char *err, size_t errlen)
{
	(void)url, (void)out, (void)outlen;
	snprintf(err, errlen, "%s", NO_HTTP);
	return -EOPNOTSUPP;
}
#endif
