// SPDX-License-Identifier: BSD-2-Clause
/*
 * InfluxDB's answers to a write, as the HTTP sink takes them: the input is a raw HTTP
 * response ("HTTP/1.1 400 Bad Request", headers, a blank line, the body). The status is the
 * number after the status line's first space, as libcurl reports it (CURLINFO_RESPONSE_CODE);
 * the headers are skipped, as the sink reads none; the body goes to http_body_keep() in
 * chunks of a size the input's length picks, as libcurl's write callback gets it, then
 * http_answer() says what it means for the batch and writes the reason the log shows.
 */
#include "fuzz.h"
#include "out_http.h"

#define BODY_SIZE 1024 /* struct http_sink's body */
#define REASON_SIZE (300 + 256) /* the sender's: REASON_MAX + CURL_ERROR_SIZE */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_str(data, size), *sp, *body, body_buf[BODY_SIZE], reason[REASON_SIZE];
	size_t body_len = 0, total, chunk = 1 + size % 251;
	enum http_verdict v;
	long status = 0;

	/* "HTTP/x.y NNN ...": what curl takes as the status; anything else is no status. */
	sp = strchr(in, ' ');
	if (sp && sp[1] >= '0' && sp[1] <= '9' && sp[2] >= '0' && sp[2] <= '9' && sp[3] >= '0' &&
	    sp[3] <= '9')
		status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
	body = strstr(in, "\r\n\r\n");
	body = body ? body + 4 : (body = strstr(in, "\n\n")) ? body + 2 : in + strlen(in);
	/* The body as bytes, NULs and all, past the header's end. */
	total = size - (size_t)(body - in);
	body_buf[0] = '\0';
	for (size_t off = 0; off < total; off += chunk) {
		size_t n = total - off < chunk ? total - off : chunk;

		if (http_body_keep(body_buf, sizeof(body_buf), &body_len,
				   (const char *)data + (body - in) + off, n) != n)
			abort();
		if (body_len >= sizeof(body_buf) || body_buf[body_len])
			abort();
	}
	if (memcmp(body_buf, data + (body - in), body_len))
		abort(); /* the body's start, as it came */
	v = http_answer(status, body_buf, reason, sizeof(reason));
	/* The reason is one line, that a log line can carry. */
	for (const char *c = reason; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			abort();
	if (strlen(body_buf) > 300 || strncmp(reason, "HTTP ", 5))
		abort();
	if ((v == HTTP_SENT) != (status >= 200 && status < 300))
		abort();
	if (v == HTTP_REJECTED && (status < 400 || status >= 500))
		abort();
	free(in);
	return 0;
}
