// SPDX-License-Identifier: BSD-2-Clause
/*
 * bpfmeter check [OPTIONS]: what this host gives bpfmeter, found the way a session finds it
 * (the same options apply: -e, --energy-source, --btf, ...), one line per feature, with the
 * fallback taken where one is missing. Exit status 0 when bpfmeter can measure here, else 1.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "caps.h"
#include "check.h"
#include "preflight.h"
#include "util.h"

/* One line: ok, fallback (works, in a lesser way), missing or off. */
static void check_line(const char *status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_line(const char *status, const char *fmt, ...)
{
	va_list ap;

	printf("  %-9s", status);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* The sensor's kernel features: the hook, batch lookups, the interval flush. */
static int check_sensor(const struct sensor *sn)
{
	bool tp_btf = !strcmp(sn->attach_kind, "tp_btf");

	if (tp_btf)
		check_line("ok", "hook tp_btf/sched_switch");
	else
		check_line("fallback", "hook raw_tp/sched_switch (no tp_btf: Linux 5.5 with BTF)");
	check_line(sn->batch_ok ? "ok" : "fallback", "batch map lookups%s",
		   sn->batch_ok ? "" : " (Linux 5.6): key by key");
	check_line(sn->flush_ok ? "ok" : "fallback", "BPF_PROG_TEST_RUN on a CPU%s",
		   sn->flush_ok ? ": intervals closed on every CPU at their end"
				: " (Linux 5.10): slices charged at the next switch");
	check_line(sn->cpuhp_ok ? "ok" : "fallback", "CPU bringup hook%s",
		   sn->cpuhp_ok ? ": a CPU that comes back is measured from its return"
				: " (Linux 5.19): a CPU that comes back counts from its next "
				  "interval");
	/* It does the flush's work as a CPU goes: without the flush there is none to do. */
	if (sn->flush_ok)
		check_line(
			sn->teardown_link ? "ok" : "fallback", "CPU teardown hook%s",
			sn->teardown_link
				? ": a CPU that goes offline has its time closed as it goes"
				: ": a CPU that goes offline leaves its idle time since the last "
				  "interval uncharged");
	return !tp_btf + !sn->batch_ok + !sn->flush_ok + !sn->cpuhp_ok +
	       (sn->flush_ok && !sn->teardown_link);
}

/* How long check watches the opened hardware events for one that counts nothing. */
#define CHECK_EVENTS_WAIT_S 0.25

/* The sum over the CPUs of an opened event's counts (BPF index n), or -1 where none reads. */
static int64_t event_count(const struct sensor *sn, int n)
{
	int64_t sum = -1;

	for (int cpu = 0; cpu < sn->topo->nr_cpus; cpu++) {
		int fd = sn->fds[n * sn->topo->nr_cpus + cpu];
		uint64_t v;

		if (fd >= 0 && read(fd, &v, sizeof(v)) == sizeof(v))
			sum = (sum < 0 ? 0 : sum) + (int64_t)(v & INT64_MAX);
	}
	return sum;
}

/*
 * A hardware event the kernel opens may still count nothing: a PMU (or hypervisor) that
 * advertises an event it leaves at zero, as qemu's Arm PMU does its STALL events. Software
 * events may well not move in a moment (major-faults), so only the PMU's are watched: those
 * that moved on no CPU in CHECK_EVENTS_WAIT_S are a fallback, their column likely all zeros.
 * Returns how many.
 */
static int check_events(const struct bm_opts *o, const struct sensor *sn)
{
	int64_t before[BM_MAX_EVENTS];
	struct timespec ts = { 0, (long)(CHECK_EVENTS_WAIT_S * 1e9) };
	bool watched = false;
	int nstill = 0;

	for (int e = 0; e < o->nr_events; e++) {
		int n = sn->bpf_index[e];

		before[e] = -1;
		if (n < 0 || o->events[e].type == PERF_TYPE_SOFTWARE ||
		    o->events[e].type == PERF_TYPE_TRACEPOINT ||
		    o->events[e].type == PERF_TYPE_BREAKPOINT)
			continue;
		before[e] = event_count(sn, n);
		watched |= before[e] >= 0;
	}
	if (watched)
		nanosleep(&ts, NULL);
	for (int e = 0; e < o->nr_events; e++) {
		const struct sensor_missing *m = NULL;
		int n = sn->bpf_index[e];

		for (int i = 0; i < sn->nr_missing; i++)
			if (sn->missing[i].event == e)
				m = &sn->missing[i];
		if (m) {
			check_line("missing", "event %s: %s (its column stays empty)",
				   o->events[e].name, sensor_event_errstr(m->err));
		} else if (before[e] >= 0 && n >= 0 && event_count(sn, n) == before[e]) {
			check_line(
				"fallback",
				"event %s: opened, but counted nothing on any CPU in %.2f s (the "
				"PMU or hypervisor may not count it: its column may stay 0)",
				o->events[e].name, CHECK_EVENTS_WAIT_S);
			nstill++;
		} else {
			check_line("ok", "event %s", o->events[e].name);
		}
	}
	return nstill;
}

/*
 * Whether the counters count: a RAPL counter advances about every millisecond, so polls over
 * CHECK_ENERGY_WAIT_S tell one that never does (a VM's RAPL left at 0). Returns the lines'
 * fallbacks: 1 where a domain is missing, else 0.
 */
#define CHECK_ENERGY_WAIT_S 1.5

static int check_energy(struct session *s)
{
	struct energy_source *e = &s->energy;
	double start = bm_now_mono(), now = start;
	int counting = 0, never = 0;
	char why[600];

	energy_poll(e, start);
	do {
		struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		now = bm_now_mono();
		energy_poll(e, now);
		counting = 0;
		for (int i = 0; i < e->n; i++)
			counting += e->c[i].counted;
	} while (counting < e->n && now - start < CHECK_ENERGY_WAIT_S);
	for (int i = 0; i < e->n; i++)
		never += !e->c[i].counted;
	if (!never) {
		check_line("ok", "energy from %s%s%s%s (%d counters, counting)", e->ops->name,
			   e->from_host[0] ? " (passed through from host " : "", e->from_host,
			   e->from_host[0] ? ")" : "", e->n);
		return 0;
	}
	for (int i = 0; i < e->n; i++) {
		const struct energy_counter *c = &e->c[i];

		if (c->counted)
			continue;
		if (c->dead)
			snprintf(why, sizeof(why), "%s", e->dropped_why);
		else
			energy_never_advanced(c, CHECK_ENERGY_WAIT_S, why, sizeof(why));
		if (!counting) {
			/* The source as a whole: its first counter says why. */
			check_line("missing", "energy from %s: %s%s; CPU shares, no watts",
				   e->ops->name, why, never > 1 ? " (the others alike)" : "");
			return 1;
		}
		check_line("missing", "energy %s of socket %d from %s: %s",
			   energy_domain_name(c->domain), c->socket, e->ops->name, why);
	}
	check_line("ok",
		   "energy from %s: %d of %d counters counting, the other domains not measured",
		   e->ops->name, counting, e->n);
	return 1;
}

/* What --estimate would do here, where nothing measures. */
static void check_estimate(struct session *s)
{
	struct estimate e;
	char why[512];
	int err = session_estimate_setup(s, &e, why, sizeof(why));

	if (err)
		check_line("off", "--estimate: %s", why);
	else
		check_line("off", "--estimate would estimate package power (%s)", e.method);
}

int check_host(struct session *s)
{
	struct bm_opts *o = s->opts;
	struct sensor_config cfg;
	char mount[4096];
	struct utsname u;
	char kept[64];
	int nfall = 0, err;

	uname(&u);
	printf("bpfmeter check on %s, Linux %s\n", u.nodename, u.release);
	fflush(stdout);
	if (preflight_sensor_config(o, &cfg))
		return 2;
	if (preflight_cgroup2(mount, sizeof(mount))) {
		check_line("missing", "cgroup v2: bpfmeter cannot run");
		return 1;
	}
	check_line("ok", "cgroup v2 at %s", mount);
	if (preflight_privileges()) {
		check_line("missing", "privileges: bpfmeter cannot load its programs");
		return 1;
	}
	check_line("ok", "privileges to load BPF programs and open perf events");
	if (preflight_btf(o->btf_path)) {
		check_line("missing", "BTF: bpfmeter cannot relocate its programs");
		return 1;
	}
	if (cfg.kernel_btf)
		check_line("ok", "kernel BTF at %s", BM_KERNEL_BTF);
	else
		check_line("fallback", "no kernel BTF: relocated against --btf %s", o->btf_path);
	nfall += !cfg.kernel_btf;
	if (topology_load(&s->topo, BM_SYSFS_CPU, libbpf_num_possible_cpus()))
		return 1;
	check_line("ok", "%d CPUs online on %d socket%s", s->topo.nr_online, s->topo.nr_sockets,
		   s->topo.nr_sockets > 1 ? "s" : "");
	preflight_raise_fd_limit();
	fflush(stdout);
	err = session_open_energy(s);
	if (err)
		return err == -EINVAL ? 2 : 1;
	if (s->have_energy)
		nfall += check_energy(s);
	else if (s->estimating)
		check_line("fallback", "no energy measured: ESTIMATED (%s)", s->est.method);
	else if (o->energy_kind == ENERGY_NONE)
		check_line("off", "energy: not measured (--energy-source none)");
	else
		check_line("fallback", "no energy: %s; CPU shares, no watts", s->energy_note);
	nfall += !s->have_energy && o->energy_kind != ENERGY_NONE;
	if (!s->have_energy && !s->estimating)
		check_estimate(s);
	fflush(stdout);
	if (sensor_open(&s->sensor, &s->topo, &cfg)) {
		check_line("missing", "the BPF programs do not load or attach: bpfmeter cannot "
				      "measure here");
		return 1;
	}
	nfall += check_sensor(&s->sensor);
	if (caps_drop(false, s->sensor.nr_events > 0, kept, sizeof(kept)))
		check_line("fallback", "capabilities: cannot drop those only starting needs");
	else
		check_line("ok", "capabilities after starting: %s, the rest dropped", kept);
	nfall += check_events(o, &s->sensor);
	printf("bpfmeter can measure here: %d fallback%s, %d of %d events\n", nfall,
	       nfall == 1 ? "" : "s", s->sensor.nr_events, o->nr_events);
	return 0;
}
