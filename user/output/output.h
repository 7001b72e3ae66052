/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_OUTPUT_H
#define BM_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prom.h"
#include "report.h"

#define BM_MAX_OUTPUTS 10 /* eight -o, --csv, and the default */

enum sink_kind {
	SINK_TABLE, /* the live view, on a terminal */
	SINK_CSV, /* csv:PATH or csv:- */
	SINK_INFLUX, /* influx:PATH or influx:- (line protocol) */
	SINK_HTTP, /* influx+http(s)://HOST:PORT/... */
	SINK_PROMETHEUS, /* prometheus:ADDR:PORT: served, not written */
};

struct http_sink;

struct sink {
	enum sink_kind kind;
	const char *spec; /* as given */
	const char *path; /* file, or NULL for stdout; the URL for SINK_HTTP */
	int fd;
	bool opened; /* the file sink's file is open (outputs_open_files()) */
	bool failed; /* a write failed: said once, skipped since */
	bool regular; /* a regular file: checked, read and cut back; else only written */
	struct http_sink *http;
	struct prom_addr listen; /* SINK_PROMETHEUS */
	struct prom_server *prom; /* serving from outputs_check() on */
};

struct output_config {
	const char *spool_dir;
	uint64_t spool_max;
	const char *web_config; /* --web-config FILE for the Prometheus sinks, or NULL */
	double prom_keep_s; /* --prometheus-keep, resolved */
	double interval_s; /* the session's: /healthz goes stale past a few of them */
};

struct live_view;

struct outputs {
	struct sink v[BM_MAX_OUTPUTS];
	struct live_view *live; /* the live view's state, with a SINK_TABLE */
	int n;
	struct prom_web_config *web; /* loaded by outputs_check() */
	struct prom_state *prom; /* the Prometheus sinks' counters, shared by them */
	struct bm_text csv; /* the CSV sinks' text of an interval, its buffer kept */
};

/* Parse one -o SPEC. Returns 0, or -EINVAL with a one-line err. */
int output_parse(const char *spec, struct sink *s, char *err, size_t errlen);
/*
 * Before anything is measured: a file that exists must have our CSV header, a new one a
 * directory to go in; nothing is written. Prometheus sinks load --web-config, bind their
 * port and start serving (503 until outputs_open()), so that a port in use is said before
 * anything is loaded. Returns 0, or -1 after a one-line message.
 */
int outputs_check(struct outputs *o, const struct bm_meta *m, const struct output_config *cfg);
/*
 * Open every sink: files in append mode, the CSV header where new, HTTP senders, the
 * Prometheus sinks' first snapshot (no interval yet). Returns 0, or -1 after a one-line
 * message.
 */
int outputs_open(struct outputs *o, const struct bm_meta *m, const struct output_config *cfg);
/*
 * The file sinks alone (outputs_open() does them too, if not yet): before the capabilities
 * are dropped, so that a root session creates its files where root may (a user's directory
 * included), as it checked them. 0, or -1 said.
 */
int outputs_open_files(struct outputs *o, const struct bm_meta *m);
/*
 * One interval to every sink. A sink whose write fails is reported once with its path and
 * skipped from then on; a file never keeps half an interval. The Prometheus sinks get a new
 * snapshot last, with the InfluxDB spools as this interval left them. Returns -EPIPE when
 * stdout was closed under us (the reader went away: time to stop), else 0.
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
/* The live view drawn again from its last interval (a key, a new terminal size). */
void outputs_redraw(struct outputs *o);

#endif
