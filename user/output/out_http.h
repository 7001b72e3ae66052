/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_OUT_HTTP_H
#define BM_OUT_HTTP_H

#include <stddef.h>
#include <stdint.h>

/*
 * InfluxDB over HTTP (libcurl), losing nothing: every batch of line protocol is first written
 * to an on-disk spool (fsync'd), then sent in order by a sender thread, and removed once the
 * server took it. A server that is down, slow or answers 5xx leaves the batch in the spool and
 * is retried with backoff; a 4xx (bad data) is logged and the batch dropped, not retried
 * forever. When the spool passes its cap the oldest batches are dropped, counted and reported.
 */
struct http_config {
	const char *url; /* http(s)://HOST:PORT/write?db=... or /api/v2/write?org=&bucket= */
	const char
		*spool_dir; /* created if missing; batches left there are sent at the next start */
	uint64_t spool_max; /* bytes */
	long connect_timeout_ms; /* 0: HTTP_CONNECT_TIMEOUT_MS */
	long timeout_ms; /* 0: HTTP_TIMEOUT_MS */
	const char *token_env; /* environment variable holding an InfluxDB 2.x token */
};

/*
 * How long a batch waits for the server, where a config says 0: to connect, and for the whole
 * request. curl's own defaults (300 s to connect, no limit at all) would stall the queue.
 */
#define HTTP_CONNECT_TIMEOUT_MS 2000L
#define HTTP_TIMEOUT_MS 10000L

struct http_stats {
	uint64_t sent_batches, sent_points;
	uint64_t rejected_batches, rejected_points; /* 4xx */
	uint64_t dropped_batches, dropped_points; /* spool over its cap */
	uint64_t spooled_batches; /* waiting now */
	uint64_t spooled_bytes; /* their size */
	int last_status; /* last HTTP status, 0: no answer */
};

struct http_sink;

/* Parse and check the URL, create the spool, start the sender. NULL with a one-line err. */
struct http_sink *http_sink_open(const struct http_config *cfg, char *err, size_t errlen);
/* Spool one batch (lines ending in '\n') for sending. Returns 0 or a negative errno. */
int http_sink_enqueue(struct http_sink *h, const char *lines, size_t len);
/* Wait up to wait_s for the spool to drain, stop the sender; what is left stays spooled. */
void http_sink_close(struct http_sink *h, double wait_s, struct http_stats *stats);
void http_sink_stats(struct http_sink *h, struct http_stats *stats);
/* The timeouts a sink opened with cfg uses, in ms. */
void http_timeouts(const struct http_config *cfg, long *connect_ms, long *total_ms);

/*
 * Check a URL as http_sink_open() does and complete it as the sink posts to it (precision=ns
 * added): the API version, 1 or 2, with the URL in out; or a negative errno with a one-line err.
 */
int http_write_url(const char *url, char *out, size_t outlen, char *err, size_t errlen);

/*
 * The server's answer to a post, apart from libcurl: its status (curl's CURLINFO_RESPONSE_CODE)
 * and the start of its body. The sink reads no header of it.
 */
enum http_verdict {
	HTTP_SENT, /* 2xx: the batch is removed */
	HTTP_REJECTED, /* other 4xx: the data is bad, the batch is dropped */
	HTTP_RETRY, /* anything else, and 401, 403, 404, 408, 429: kept, sent again later */
};

/*
 * Append n bytes of a body to body (size bytes, NUL-terminated, *len of them used), keeping
 * its start: what does not fit is dropped. Returns n, as libcurl's write callback takes all.
 */
size_t http_body_keep(char *body, size_t size, size_t *len, const char *ptr, size_t n);
/*
 * What status with body means for the batch, and a one-line reason for the log ("HTTP 400:
 * BODY"); body is made one line in place (control characters as spaces, at most 300 bytes).
 */
enum http_verdict http_answer(long status, char *body, char *reason, size_t rlen);

#endif
