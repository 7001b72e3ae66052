// SPDX-License-Identifier: BSD-2-Clause
/*
 * What one interval costs userspace with CSV output, without BPF: N cgroups that ran (a mix of
 * Kubernetes containers, systemd services and user sessions, with their labels parsed once, as
 * the session does), on one socket with package and DRAM energy and four counted events,
 * through interval_run() (model, split, totals, sort) and the CSV sink writing to a file.
 * Prints the median milliseconds per interval per 1,000 targets.
 *
 *   bench-interval [TARGETS [INTERVALS [FILE]]]   (defaults 1000, 200, bench-interval.csv)
 *
 * scripts/bench-interval.sh also counts instructions per interval under callgrind, from two
 * runs that differ by their number of intervals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "interval.h"
#include "output.h"
#include "targets.h"
#include "util.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of the process so far, user and system, in ms. */
static void cpu_ms(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3;
	*sys = (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The i-th target's cgroup path: two of three containers, then services, then sessions. */
static void target_name(int i, char *name, size_t size)
{
	switch (i % 6) {
	case 0:
	case 1:
	case 2:
	case 3:
		snprintf(name, size,
			 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%08x_1234_"
			 "4321_abcd_%012x.slice/cri-containerd-%064x.scope",
			 i, i, i);
		break;
	case 4:
		snprintf(name, size, "/system.slice/app-%d.service", i);
		break;
	default:
		snprintf(name, size, "/user.slice/user-%d.slice/session-%d.scope", 1000 + i % 50,
			 i);
	}
}

int main(int argc, char **argv)
{
	static const struct bm_event events[] = {
		{ .name = "cycles" },
		{ .name = "instructions" },
		{ .name = "ref-cycles" },
		{ .name = "cache-misses" },
	};
	static const int sample_index[] = { 0, 1, 2, 3 }, package_id[] = { 0 };
	int ntargets = argc > 1 ? atoi(argv[1]) : 1000;
	int nintervals = argc > 2 ? atoi(argv[2]) : 200;
	const char *path = argc > 3 ? argv[3] : "bench-interval.csv";
	struct interval_config cfg = {
		.nr_sockets = 1,
		.have_energy = true,
		.features = { .nfeat = 3,
			      .idx = { BM_FEATURE_CPU, 0, 1 },
			      .name = { "cpu", "cycles", "instructions" } },
		.cycles_idx = 0,
		.ref_cycles_idx = 2,
		.base_mhz = 2000,
		.model = model_config_default,
	};
	struct bm_meta meta = {
		.host = "bench",
		.events = events,
		.nr_events = 4,
		.sample_index = sample_index,
		.nr_online = 2,
		.interval_s = 1,
		.package_id = package_id,
		.hook = "tp_btf",
		.energy_source = "powercap",
		.features = &cfg.features,
		.cycles_idx = 0,
		.instructions_idx = 1,
		.ref_cycles_idx = 2,
	};
	struct output_config ocfg = { .prom_keep_s = 300 };
	struct outputs outs = { .n = 1 };
	struct targets ts;
	struct interval iv;
	struct bm_row *rows;
	double *t;
	char err[256], spec[512];
	double user0, sys0, user1, sys1;
	long bytes;

	if (ntargets < 1 || nintervals < 1) {
		fprintf(stderr, "usage: bench-interval [TARGETS [INTERVALS [FILE]]]\n");
		return 2;
	}
	rows = bm_calloc((size_t)ntargets, sizeof(*rows));
	t = bm_calloc((size_t)nintervals, sizeof(*t));
	targets_init(&ts, BM_TARGET_CGROUP, GROUP_BY_CGROUP, 0);
	interval_init(&iv, &cfg);
	unlink(path);
	snprintf(spec, sizeof(spec), "csv:%s", path);
	if (output_parse(spec, &outs.v[0], err, sizeof(err)) || outputs_open(&outs, &meta, &ocfg)) {
		fprintf(stderr, "bench-interval: %s\n", err);
		return 1;
	}
	for (int i = 0; i < ntargets; i++) {
		struct bm_target *tg = targets_get(&ts, 1000 + (uint64_t)i, NULL);
		char name[256];

		target_name(i, name, sizeof(name));
		targets_set_name(&ts, tg, name);
		rows[i].target = tg;
	}
	cpu_ms(&user0, &sys0);
	for (int k = 0; k < nintervals; k++) {
		/* The package draws about what the CPU time says, with some noise for the model. */
		double cpu_s = 0, j;
		struct energy_reading energy[2];
		struct interval_inputs in = {
			.ts_ns = 1700000000000000000 + (int64_t)k * 1000000000,
			.dt = 1.0 + (k % 7) * 1e-4,
			.rows = rows,
			.nrows = (size_t)ntargets,
			.nr_online = 2,
			.carbon_g_per_kwh = -1,
		};
		struct bm_interval out;
		double t0;

		for (int i = 0; i < ntargets; i++) {
			struct bm_sample *s = &rows[i].s;

			rows[i].socket = 0;
			s->cpu_ns = 1000 + (uint64_t)(i * 7919 + k * 104729) % 2000000;
			s->ev[0] = s->cpu_ns * 2 + (uint64_t)(i % 13) * 1000;
			s->ev[1] = s->cpu_ns * 3 + (uint64_t)(k % 11) * 977;
			s->ev[2] = s->cpu_ns * 2;
			s->ev[3] = s->cpu_ns / 100 + (uint64_t)i;
			cpu_s += (double)s->cpu_ns * 1e-9;
		}
		j = 5 + 12 * cpu_s + 0.1 * (k % 5);
		energy[0] = (struct energy_reading){ 0, BM_DOMAIN_PACKAGE, j };
		energy[1] = (struct energy_reading){ 0, BM_DOMAIN_DRAM, j / 8 };
		in.energy = energy;
		in.nenergy = 2;
		t0 = now_ms();
		interval_run(&iv, &in, &out);
		if (outputs_interval(&outs, &meta, &out) || outs.v[0].failed) {
			fprintf(stderr, "bench-interval: the CSV sink failed\n");
			return 1;
		}
		t[k] = now_ms() - t0;
	}
	cpu_ms(&user1, &sys1);
	bytes = lseek(outs.v[0].fd, 0, SEEK_END);
	outputs_close(&outs, 0);
	interval_free(&iv);
	targets_free(&ts);
	qsort(t, (size_t)nintervals, sizeof(*t), cmp);
	printf("targets %d, intervals %d, CSV %ld bytes (%ld per interval)\n", ntargets, nintervals,
	       bytes, bytes / nintervals);
	printf("interval_ms_median %.3f (interval_run + CSV sink)\n", t[nintervals / 2]);
	printf("ms_per_1000_targets %.3f\n", t[nintervals / 2] * 1000 / ntargets);
	/* Mean CPU time per interval (the loop's synthetic rows included): the file's write(2)
	 * is system time. */
	printf("cpu_ms_per_interval user %.3f system %.3f\n", (user1 - user0) / nintervals,
	       (sys1 - sys0) / nintervals);
	free(rows);
	free(t);
	return 0;
}
