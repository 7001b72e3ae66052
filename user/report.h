/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_REPORT_H
#define BM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "account.h"
#include "events.h"

/* What every output needs to know about the session. */
struct bm_meta {
	const char *host;
	const struct bm_event *events; /* requested, in column order */
	int nr_events;
	const int *sample_index; /* requested event -> index in bm_sample.ev, or -1 (unavailable) */
	int nr_online;
	double interval_s; /* configured */
	const char *hook; /* "tp_btf" or "raw_tp" */
	const char *missing_note; /* events that could not be opened, or NULL */
	const int *package_id; /* socket index -> physical package id */
};

/* One target on one socket over one interval (socket -1: every socket). */
struct bm_row {
	const char *target;
	uint64_t key;
	int socket; /* socket index */
	struct bm_sample s;
};

struct bm_interval {
	double ts_real; /* end of the interval, unix seconds */
	double interval_s; /* measured length */
	struct bm_row *rows;
	size_t n;
	uint64_t overflow; /* slices charged to "overflow" so far */
};

/* The name of a special key, or NULL for a cgroup id. */
const char *report_special_name(uint64_t key);
/* Sort rows by CPU time, most first (ties by target name), for stable output. */
void report_sort(struct bm_row *rows, size_t n);

/* Live terminal view (one screen per interval) and the session summary. */
void table_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv);
void table_summary(FILE *f, const struct bm_meta *m, const struct bm_row *totals, size_t n,
		   double elapsed_s);

/* CSV: a header once, then one row per target per socket per interval. */
int csv_header(FILE *f, const struct bm_meta *m);
int csv_interval(FILE *f, const struct bm_meta *m, const struct bm_interval *iv);

#endif
