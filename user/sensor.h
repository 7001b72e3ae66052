/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_SENSOR_H
#define BM_SENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "events.h"
#include "topology.h"

struct bpfmeter_bpf;

/* Why an event could not be opened, for the one message that lists them. */
struct sensor_missing {
	int event; /* index in the requested list */
	int err; /* positive errno of perf_event_open */
};

struct sensor {
	struct bpfmeter_bpf *skel;
	const struct bm_topology *topo;
	const struct bm_event *req; /* requested events */
	int nr_req;
	int nr_events; /* opened, in BPF order */
	int bpf_index[BM_MAX_EVENTS]; /* requested index -> BPF index, or -1 */
	struct sensor_missing missing[BM_MAX_EVENTS];
	int nr_missing;
	int *fds; /* [nr_events * nr_cpus], -1 where unused */
	const char *attach_kind; /* "tp_btf" or "raw_tp" */
	struct bpf_link *link;
	int acct_fd, flush_fd, stats_fd;
	int procs_fd; /* -1 unless by_process */
	size_t stride;
	/* batch lookup buffers */
	uint64_t *keys;
	void *vals;
	uint32_t batch_cap;
	bool batch_ok;
};

struct sensor_config {
	const struct bm_event *events;
	int nr_events;
	uint64_t max_cgroups;
	const char *btf_path; /* NULL: the kernel's own */
	bool by_process; /* also charge per process (tgid), up to max_cgroups of them */
};

/*
 * Open the perf events, load and attach the BPF programs, and set every CPU's baseline.
 * Returns 0, or a negative errno after a one-line message saying what is missing.
 */
int sensor_open(struct sensor *s, const struct bm_topology *topo, const struct sensor_config *cfg);
void sensor_close(struct sensor *s);
/* Charge every online CPU's running slice so far (end of an interval). */
int sensor_flush(struct sensor *s);
/* Call fn for every key with its per-CPU cumulative values (s->stride bytes apart). */
typedef void (*sensor_entry_fn)(uint64_t key, const void *percpu, void *ctx);
int sensor_read(struct sensor *s, sensor_entry_fn fn, void *ctx);
int sensor_delete(struct sensor *s, uint64_t key);
/* The same for the per-process map (--by process): keys are tgids, 0 idle. */
int sensor_read_procs(struct sensor *s, sensor_entry_fn fn, void *ctx);
int sensor_delete_proc(struct sensor *s, uint64_t tgid);
/* Slices charged to "overflow" because the map was full, since the start. */
uint64_t sensor_overflows(struct sensor *s);

/* A short reason for a perf_event_open errno, e.g. "no PMU for it on this machine". */
const char *sensor_event_errstr(int err);

#endif
