/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_OUTPUT_H
#define BM_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define BM_MAX_OUTPUTS 10 /* eight -o, --csv, and the default */

enum sink_kind {
	SINK_TABLE, /* the live view, on a terminal */
	SINK_CSV, /* csv:PATH or csv:- */
	SINK_INFLUX, /* influx:PATH or influx:- (line protocol) */
	SINK_HTTP, /* influx+http(s)://HOST:PORT/... */
};

struct http_sink;

struct sink {
	enum sink_kind kind;
	const char *spec; /* as given */
	const char *path; /* file, or NULL for stdout; the URL for SINK_HTTP */
	int fd;
	bool failed; /* a write failed: said once, skipped since */
	struct http_sink *http;
};

struct output_config {
	const char *spool_dir;
	uint64_t spool_max;
};

struct outputs {
	struct sink v[BM_MAX_OUTPUTS];
	int n;
};

/* Parse one -o SPEC. Returns 0, or -EINVAL with a one-line err. */
int output_parse(const char *spec, struct sink *s, char *err, size_t errlen);
/*
 * Before anything is measured: a file that exists must have our CSV header, a new one a
 * directory to go in. Nothing is written. Returns 0, or -1 after a one-line message.
 */
int outputs_check(struct outputs *o, const struct bm_meta *m);
/*
 * Open every sink: files in append mode, the CSV header where new, HTTP senders. Returns 0,
 * or -1 after a one-line message.
 */
int outputs_open(struct outputs *o, const struct bm_meta *m, const struct output_config *cfg);
/*
 * One interval to every sink. A sink whose write fails is reported once with its path and
 * skipped from then on; a file never keeps half an interval. Returns -EPIPE when stdout was
 * closed under us (the reader went away: time to stop), else 0.
 */
int outputs_interval(struct outputs *o, const struct bm_meta *m, const struct bm_interval *iv);
/*
 * SIGHUP: every file sink (csv:PATH, influx:PATH; not stdout) opened again by its path, for
 * logrotate, between two intervals. A new CSV file gets the header. A sink whose file cannot
 * be opened again is one warning naming it, and is skipped as after a failed write until the
 * next SIGHUP tries it again (one that had failed to write too). The others go on.
 */
void outputs_reopen(struct outputs *o, const struct bm_meta *m);
/* The session summary, on the live view only (co2e: NULL without an estimate). */
void outputs_summary(struct outputs *o, const struct bm_meta *m, const struct bm_row *totals,
		     size_t n, double elapsed_s, const struct bm_co2e_summary *co2e);
/* Flush and close; HTTP senders get up to wait_s to empty their spool. */
void outputs_close(struct outputs *o, double wait_s);
bool outputs_has_table(const struct outputs *o);

#endif
