/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_EVENTS_H
#define BM_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpfmeter.h"

#define BM_EVENT_NAME_MAX 64

struct bm_event {
	char name[BM_EVENT_NAME_MAX]; /* as the user gave it; the CSV column name */
	uint32_t type; /* perf_event_attr.type */
	uint64_t config; /* perf_event_attr.config */
};

#define BM_DEFAULT_EVENTS "cycles,instructions,ref-cycles,cache-misses"

/*
 * Parse a comma-separated list of perf's generic hardware and software event names
 * (cycles, instructions, cpu-clock, context-switches, ...), raw "rHEX" and "TYPE:CONFIG".
 * Returns the number of events, or -1 with a one-line message in err.
 */
int events_parse(const char *list, struct bm_event *out, int max, char *err, size_t errlen);

/* The accepted names, for --help and error messages. */
const char *events_known_names(void);

struct perf_event_attr;

/*
 * perf_event_open(2), the one caller of the syscall: attr->size is set here, and
 * PERF_FLAG_FD_CLOEXEC is always added to flags. Returns the fd, or a negative errno.
 */
int bm_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
		       unsigned long flags);

#endif
