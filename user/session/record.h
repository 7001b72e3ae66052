/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_RECORD_H
#define BM_RECORD_H

/*
 * A recording of a live session: the raw inputs of the model and the attribution, interval by
 * interval (per target and socket, the CPU time and counters; per socket and domain, the
 * measured energy), with the settings they were measured under. bpfmeter replay runs the live
 * code over it and gives the live session's results. The format, one CSV file:
 *
 *   kind,ts_ns,interval_s,socket,id,name,value,cpu_ns,EVENT...
 *
 * with one column per requested event after cpu_ns, named after it, and one row per item:
 *   meta      name = a setting (format, host, hook, sockets, ...), value = its value
 *   event     name = the event (its column), value = perf TYPE:CONFIG, id = 1 when counted,
 *             0 when it could not be opened (its cells are then empty)
 *   interval  starts an interval: ts_ns = its end (unix ns), interval_s = its measured length,
 *             value = slices charged to "overflow" so far
 *   energy    socket, name = domain (package, dram, ...), value = joules measured
 *   target    socket, id = cgroup id (tgid with --by process, 0 idle, 2^64-1 overflow),
 *             name = its name, cpu_ns and the event counts of the interval
 *   group     id and name of a --group-by group's cgroup, as resolved live
 *   gone      id of a target whose cgroup (or process) ended: its totals are final
 *   end       value = the session's elapsed seconds (missing when the session was killed)
 *   cpus      CPUs came or went in the interval (hotplug): value = CPUs online at its end,
 *             name = what changed ("cpu 1 went offline")
 * The energy and target rows of an interval follow its interval row and repeat its ts_ns and
 * interval_s. Numbers are written so they read back to the same bits. A name ending in .gz
 * is written gzip'd; reading takes either.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "account.h"
#include "energy.h"
#include "events.h"

#define BM_RECORD_FORMAT "bpfmeter-recording-1"

enum record_kind {
	REC_META,
	REC_EVENT,
	REC_INTERVAL,
	REC_ENERGY,
	REC_TARGET,
	REC_GROUP,
	REC_GONE,
	REC_END,
	REC_CPUS,
};

struct recorder {
	FILE *f;
	void *gz; /* the gzFile under f where the name ends in .gz, else NULL */
	const char *path;
	int fd; /* the file's, under f (and gz) */
	off_t whole; /* the file's length up to the last whole interval (record_flush()) */
	int nr_events; /* requested: the event columns */
	const int *sample_index; /* requested event -> bm_sample.ev index, or -1 */
	int64_t ts_ns; /* of the current interval */
	double interval_s;
	bool failed; /* a write failed: said once, recording stopped */
};

/*
 * Create path (it must not exist: a recording is never overwritten) and write the header
 * and the event rows. Returns 0, or -1 after a one-line message.
 */
int record_open(struct recorder *r, const char *path, const struct bm_event *events, int nr_events,
		const int *sample_index);
void record_meta(struct recorder *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void record_interval(struct recorder *r, int64_t ts_ns, double interval_s, uint64_t overflow);
void record_energy(struct recorder *r, const struct energy_reading *e);
void record_target(struct recorder *r, int socket, uint64_t id, const char *name,
		   const struct bm_sample *s);
void record_group(struct recorder *r, uint64_t id, const char *name);
void record_gone(struct recorder *r, uint64_t id);
void record_cpus(struct recorder *r, int nr_online, const char *note);
/* The interval's rows are all out: to the file, so a crash keeps whole intervals. */
void record_flush(struct recorder *r);
/* Write the end row and close. Returns 0, or -1 after a one-line message. */
int record_close(struct recorder *r, double elapsed_s);

/* One row of a recording, parsed and checked. Strings live until the next row. */
struct record_row {
	enum record_kind kind;
	int line;
	int64_t ts_ns;
	double interval_s;
	int socket;
	uint64_t id;
	const char *name;
	const char *value; /* as text (meta, event) */
	double number; /* value as a number (interval, energy, end, cpus) */
	enum bm_domain domain; /* energy */
	struct bm_sample s; /* target: cpu_ns, ev[] indexed by counted event */
	struct bm_event event; /* event */
	bool counted; /* event */
};

/* True when path starts with a recording's header. */
bool record_sniff(const char *path);

/*
 * Read a recording row by row, checking it: cb gets every row (cb NULL: check only). Stops
 * at the first error with "FILE:LINE:COLUMN: what" in err, or when cb returns non-zero.
 * Returns 0, -1 on an error, or cb's value.
 */
int record_read(const char *path, int (*cb)(const struct record_row *row, void *ctx), void *ctx,
		char *err, size_t errlen);

#endif
