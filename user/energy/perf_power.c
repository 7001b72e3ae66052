// SPDX-License-Identifier: BSD-2-Clause
/*
 * RAPL through the perf "power" PMU: one system-wide perf event per energy-* event on one CPU
 * of each package (the PMU's cpumask). The kernel reads the MSRs and accumulates the counts
 * in 64 bits, so these counters do not wrap; a count times its event's .scale is joules.
 * Needs no msr module and works where powercap is missing (containers without /sys/class).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "energy.h"
#include "events.h"
#include "perf_power.h"
#include "util.h"

#define EVENT_PREFIX "energy-"

static const struct {
	const char *name;
	enum bm_domain domain;
} event_domains[] = {
	{ "energy-pkg", BM_DOMAIN_PACKAGE }, { "energy-cores", BM_DOMAIN_CORE },
	{ "energy-gpu", BM_DOMAIN_UNCORE },  { "energy-ram", BM_DOMAIN_DRAM },
	{ "energy-psys", BM_DOMAIN_PSYS },
};

void perf_power_pmu_free(struct perf_power_pmu *pmu)
{
	free(pmu->cpus);
	memset(pmu, 0, sizeof(*pmu));
}

/* root/rel into buf; on failure why says which file and why. */
static int read_attr(const char *root, const char *rel, char *buf, size_t size, char *why,
		     size_t whylen)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	err = bm_read_file(path, buf, size);
	if (err)
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(-err));
	return err;
}

/* events/energy-X (with its .scale and .unit) into ev. */
static int parse_event(const char *root, const char *name, struct perf_power_event *ev, char *why,
		       size_t whylen)
{
	char rel[NAME_MAX + 16], buf[128];
	int err;

	ev->name = name;
	snprintf(rel, sizeof(rel), "events/%s", name);
	err = read_attr(root, rel, buf, sizeof(buf), why, whylen);
	if (err)
		return err;
	/* The power PMU's only format term is event (config:0-7): the code is the config. */
	if (strncmp(buf, "event=", 6) || bm_parse_u64_or_hex(buf + 6, 0, UINT64_MAX, &ev->config)) {
		snprintf(why, whylen, "%s/%s: '%s' is not event=<code>", root, rel, buf);
		return -EINVAL;
	}

	snprintf(rel, sizeof(rel), "events/%s.scale", name);
	err = read_attr(root, rel, buf, sizeof(buf), why, whylen);
	if (err)
		return err;
	if (bm_parse_double(buf, 0, INFINITY, &ev->scale) || ev->scale <= 0 || isinf(ev->scale)) {
		snprintf(why, whylen, "%s/%s: '%s' is not a positive number", root, rel, buf);
		return -EINVAL;
	}

	snprintf(rel, sizeof(rel), "events/%s.unit", name);
	err = read_attr(root, rel, buf, sizeof(buf), why, whylen);
	if (err)
		return err;
	/* The scale turns counts into the unit: anything but joules would not be energy. */
	if (strcmp(buf, "Joules")) {
		snprintf(why, whylen, "%s/%s is '%s', not Joules: its scale would not give joules",
			 root, rel, buf);
		return -EINVAL;
	}
	ev->present = true;
	return 0;
}

static int parse_events(struct perf_power_pmu *pmu, const char *root, char *why, size_t whylen)
{
	struct dirent **ents;
	char dir[PATH_MAX];
	int n, err = 0;

	snprintf(dir, sizeof(dir), "%s/events", root);
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		err = -errno;
		snprintf(why, whylen, "cannot list %s: %s", dir, strerror(errno));
		return err;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		size_t j;

		/* energy-pkg, not energy-pkg.scale or .unit, read with it. */
		if (err || strncmp(name, EVENT_PREFIX, strlen(EVENT_PREFIX)) || strchr(name, '.'))
			continue;
		for (j = 0; j < ARRAY_SIZE(event_domains); j++)
			if (!strcmp(name, event_domains[j].name))
				break;
		if (j == ARRAY_SIZE(event_domains)) {
			bm_debug("perf power: skipping unknown event %s/%s", dir, name);
			continue;
		}
		err = parse_event(root, event_domains[j].name, &pmu->ev[event_domains[j].domain],
				  why, whylen);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return err;
}

int perf_power_parse(struct perf_power_pmu *pmu, const char *root, int nr_cpus, char *why,
		     size_t whylen)
{
	char buf[4096];
	uint64_t type;
	bool any = false;
	int err;

	memset(pmu, 0, sizeof(*pmu));
	if (access(root, F_OK)) {
		err = -errno;
		if (errno == ENOENT)
			snprintf(why, whylen, "no perf power PMU (%s missing)", root);
		else
			snprintf(why, whylen, "cannot access %s: %s", root, strerror(errno));
		return err;
	}

	err = read_attr(root, "type", buf, sizeof(buf), why, whylen);
	if (err)
		return err;
	if (bm_parse_u64(buf, 0, UINT32_MAX, &type)) {
		snprintf(why, whylen, "%s/type: '%s' is not a PMU type number", root, buf);
		return -EINVAL;
	}
	pmu->type = (uint32_t)type;

	err = read_attr(root, "cpumask", buf, sizeof(buf), why, whylen);
	if (err)
		return err;
	pmu->nr_cpus = nr_cpus;
	pmu->cpus = bm_calloc((size_t)nr_cpus, sizeof(*pmu->cpus));
	if (bm_parse_cpulist(buf, pmu->cpus, nr_cpus)) {
		snprintf(why, whylen, "%s/cpumask: '%s' is not a list of CPUs below %d", root, buf,
			 nr_cpus);
		return -EINVAL;
	}
	for (int cpu = 0; cpu < nr_cpus; cpu++)
		any |= pmu->cpus[cpu];
	if (!any) {
		snprintf(why, whylen, "%s/cpumask lists no CPU", root);
		return -ENODEV;
	}

	err = parse_events(pmu, root, why, whylen);
	if (err)
		return err;
	for (int d = 0; d < BM_NR_DOMAINS; d++)
		if (pmu->ev[d].present)
			return 0;
	snprintf(why, whylen, "no energy-* event under %s/events", root);
	return -ENODEV;
}

static int perf_power_read(struct energy_source *s, struct energy_counter *c, uint64_t *raw)
{
	uint64_t v;
	ssize_t n;

	(void)s;
	n = read(c->fd, &v, sizeof(v));
	if (n < 0)
		return -errno;
	if (n != sizeof(v))
		return -EIO;
	*raw = v;
	return 0;
}

const struct energy_ops perf_power_ops = {
	.name = "perf",
	.read = perf_power_read,
};

static int open_event(struct energy_source *s, const struct perf_power_pmu *pmu,
		      const struct perf_power_event *ev, enum bm_domain d, int cpu, int socket,
		      char *why, size_t whylen)
{
	struct perf_event_attr attr;
	struct energy_counter *c;
	int fd, err;

	memset(&attr, 0, sizeof(attr));
	attr.type = pmu->type;
	attr.config = ev->config;
	/* System-wide on cpu: RAPL counts the whole package, not a task. */
	fd = bm_perf_event_open(&attr, -1, cpu, -1, 0);
	if (fd < 0) {
		err = -fd;
		snprintf(why, whylen, "cannot open perf event power/%s on cpu %d: %s%s", ev->name,
			 cpu, strerror(err),
			 err == EACCES || err == EPERM ? " (needs root or CAP_PERFMON)" : "");
		return -err;
	}
	/* The kernel accumulates the counts in 64 bits: no wrap to handle (modulus 0). */
	c = energy_add_counter(s, socket, d, ev->scale, 0, "perf power/%s on cpu %d", ev->name,
			       cpu);
	c->fd = fd;
	return 0;
}

int perf_power_open(struct energy_source *s, const char *root, const struct bm_topology *topo,
		    char *why, size_t whylen)
{
	struct perf_power_pmu pmu;
	bool psys_done = false;
	int err;

	err = perf_power_parse(&pmu, root, topo->nr_cpus, why, whylen);
	if (err)
		goto out;
	s->ops = &perf_power_ops;
	for (int cpu = 0; cpu < pmu.nr_cpus && !err; cpu++) {
		if (!pmu.cpus[cpu])
			continue;
		if (!topo->online[cpu] || topo->socket[cpu] < 0) {
			bm_debug("perf power: cpumask CPU %d is not online: skipped", cpu);
			continue;
		}
		for (int d = 0; d < BM_NR_DOMAINS && !err; d++) {
			const struct perf_power_event *ev = &pmu.ev[d];

			if (!ev->present || (d == BM_DOMAIN_PSYS && psys_done))
				continue;
			/* psys is the whole platform: once, reported with the first socket. */
			err = open_event(s, &pmu, ev, (enum bm_domain)d, cpu,
					 d == BM_DOMAIN_PSYS ? 0 : topo->socket[cpu], why, whylen);
			psys_done |= d == BM_DOMAIN_PSYS;
		}
	}
	if (!err && !s->n) {
		snprintf(why, whylen, "no CPU of %s/cpumask is online", root);
		err = -ENODEV;
	}
out:
	perf_power_pmu_free(&pmu);
	return err;
}
