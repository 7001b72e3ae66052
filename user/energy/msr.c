// SPDX-License-Identifier: BSD-2-Clause
/*
 * RAPL read straight from the energy status MSRs through /dev/cpu/N/msr (the msr module):
 * the last resort where neither powercap nor the perf power PMU is there. Units come from the
 * power unit MSR, except where a model fixes a domain's unit regardless of it; the counters
 * are 32 bits wide and wrap.
 */
/* AMD's MSR addresses (0xc001029b) are file offsets beyond 2^31: off_t must have 64 bits. */
#define _FILE_OFFSET_BITS 64

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "energy.h"
#include "msr.h"
#include "util.h"

struct msr_reg {
	enum bm_domain domain;
	uint32_t addr;
	const char *name;
};

/* In domain order; the package one must be there, the others may not on a given model. */
static const struct msr_reg intel_regs[] = {
	{ BM_DOMAIN_PACKAGE, MSR_PKG_ENERGY_STATUS, "MSR_PKG_ENERGY_STATUS" },
	{ BM_DOMAIN_CORE, MSR_PP0_ENERGY_STATUS, "MSR_PP0_ENERGY_STATUS" },
	{ BM_DOMAIN_UNCORE, MSR_PP1_ENERGY_STATUS, "MSR_PP1_ENERGY_STATUS" },
	{ BM_DOMAIN_DRAM, MSR_DRAM_ENERGY_STATUS, "MSR_DRAM_ENERGY_STATUS" },
	{ BM_DOMAIN_PSYS, MSR_PLATFORM_ENERGY_STATUS, "MSR_PLATFORM_ENERGY_STATUS" },
};

static const struct msr_reg amd_pkg = { BM_DOMAIN_PACKAGE, MSR_AMD_PKG_ENERGY_STATUS,
					"MSR_AMD_PKG_ENERGY_STATUS" };
static const struct msr_reg amd_core = { BM_DOMAIN_CORE, MSR_AMD_CORE_ENERGY_STATUS,
					 "MSR_AMD_CORE_ENERGY_STATUS" };

/* Family 6 models whose DRAM counter counts in MSR_DRAM_FIXED_UNIT_J. */
static const unsigned int dram_fixed_models[] = {
	0x3f, /* Haswell-EP */
	0x4f, /* Broadwell-EP */
	0x56, /* Broadwell-DE: perf's RAPL PMU and turbostat fix it, intel_rapl does not */
	0x55, /* Skylake-X, Cascade Lake, Cooper Lake */
	0x57, /* Xeon Phi Knights Landing */
	0x85, /* Xeon Phi Knights Mill */
	0x6a, /* Ice Lake-X */
	0x6c, /* Ice Lake-D */
	/* Not Sapphire and Emerald Rapids: their DRAM follows the power unit MSR again. */
};

/* Family 6 models whose platform (psys) counter counts in whole joules. */
static const unsigned int psys_joule_models[] = {
	0x8f, /* Sapphire Rapids */
	0xcf, /* Emerald Rapids */
};

static bool model_in(const struct msr_cpu_model *m, const unsigned int *models, size_t n)
{
	if (m->vendor != MSR_VENDOR_INTEL || m->family != 6)
		return false;
	for (size_t i = 0; i < n; i++)
		if (m->model == models[i])
			return true;
	return false;
}

double msr_energy_unit(uint64_t power_unit)
{
	return ldexp(1.0, -(int)((power_unit >> 8) & 0x1f));
}

bool msr_dram_unit_fixed(const struct msr_cpu_model *m)
{
	return model_in(m, dram_fixed_models, ARRAY_SIZE(dram_fixed_models));
}

double msr_domain_unit(const struct msr_cpu_model *m, enum bm_domain d, uint64_t power_unit)
{
	if (d == BM_DOMAIN_DRAM && msr_dram_unit_fixed(m))
		return MSR_DRAM_FIXED_UNIT_J;
	if (d == BM_DOMAIN_PSYS && model_in(m, psys_joule_models, ARRAY_SIZE(psys_joule_models)))
		return 1.0;
	return msr_energy_unit(power_unit);
}

static enum msr_vendor vendor_of(const char *id)
{
	if (!strcmp(id, "GenuineIntel"))
		return MSR_VENDOR_INTEL;
	if (!strcmp(id, "AuthenticAMD"))
		return MSR_VENDOR_AMD;
	if (!strcmp(id, "HygonGenuine"))
		return MSR_VENDOR_HYGON;
	return MSR_VENDOR_OTHER;
}

/* "key<tabs> : value": key and value in place, or false for a line without ':'. */
static bool split_line(char *line, char **key, char **val)
{
	char *colon = strchr(line, ':'), *end;

	if (!colon)
		return false;
	for (end = colon; end > line && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	for (colon++; isspace((unsigned char)*colon); colon++)
		;
	*key = line;
	*val = colon;
	return true;
}

int msr_read_cpuinfo(const char *path, struct msr_cpu_model *m, char *why, size_t whylen)
{
	bool seen = false, have_family = false, have_model = false;
	char *line = NULL, *key, *val;
	size_t cap = 0;
	ssize_t len;
	uint64_t v;
	FILE *f;
	int err = 0;

	memset(m, 0, sizeof(*m));
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		return err;
	}
	while (!err && (len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		/* A blank line ends the first processor: all we need, and far less to read. */
		if (!len && seen)
			break;
		if (!split_line(line, &key, &val))
			continue;
		seen = true;
		if (!strcmp(key, "vendor_id")) {
			snprintf(m->vendor_id, sizeof(m->vendor_id), "%s", val);
		} else if (!strcmp(key, "cpu family") || !strcmp(key, "model")) {
			bool family = key[0] == 'c';

			if (bm_parse_u64(val, 0, UINT_MAX, &v)) {
				snprintf(why, whylen, "%s: %s '%s' is not a number", path, key,
					 val);
				err = -EINVAL;
			} else if (family) {
				m->family = (unsigned int)v;
				have_family = true;
			} else {
				m->model = (unsigned int)v;
				have_model = true;
			}
		}
	}
	free(line);
	fclose(f);
	if (err)
		return err;
	if (!m->vendor_id[0]) {
		snprintf(why, whylen, "no vendor_id in %s: not an x86 CPU", path);
		return -ENODEV;
	}
	if (!have_family || !have_model) {
		snprintf(why, whylen, "%s gives no cpu family or model for its first processor",
			 path);
		return -EINVAL;
	}
	m->vendor = vendor_of(m->vendor_id);
	return 0;
}

static int rdmsr(int fd, uint32_t addr, uint64_t *v)
{
	ssize_t n = pread(fd, v, sizeof(*v), (off_t)addr);

	if (n < 0)
		return -errno;
	return n == sizeof(*v) ? 0 : -EIO;
}

static int msr_read(struct energy_source *s, struct energy_counter *c, uint64_t *raw)
{
	int err;

	(void)s;
	err = rdmsr(c->fd, (uint32_t)c->msr, raw);
	if (!err)
		*raw &= MSR_ENERGY_MASK;
	return err;
}

static const struct energy_ops msr_ops = {
	.name = "msr",
	.read = msr_read,
};

static int open_dev(const char *dev_root, int cpu, char *why, size_t whylen)
{
	char path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%d/msr", dev_root, cpu);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	err = errno;
	if (err == ENOENT)
		snprintf(why, whylen, "no MSR device (%s missing: modprobe msr)", path);
	else
		snprintf(why, whylen, "cannot open %s: %s%s", path, strerror(err),
			 err == EACCES || err == EPERM ? " (needs root with CAP_SYS_RAWIO)" : "");
	return -err;
}

/*
 * Whether r counts on cpu: *present false where the MSR does not exist on this model (the
 * read fails with EIO) or reads 0 (there but nothing counts in it, which the kernel's
 * intel_rapl takes for absent too). A required one must read. Returns 0 or a negative errno.
 */
static int probe(int fd, const struct msr_reg *r, int cpu, bool required, bool *present, char *why,
		 size_t whylen)
{
	uint64_t v = 0;
	int err = rdmsr(fd, r->addr, &v);

	*present = !err && (required || (v & MSR_ENERGY_MASK));
	if (*present)
		return 0;
	if (required || (err && err != -EIO)) {
		snprintf(why, whylen, "cannot read %s (0x%x) on cpu %d: %s", r->name, r->addr, cpu,
			 strerror(-err));
		return err;
	}
	bm_debug("msr: %s (0x%x) on cpu %d %s: left out", r->name, r->addr, cpu,
		 err ? "cannot be read" : "reads 0");
	return 0;
}

/*
 * A counter of r on cpu. It gets its own descriptor, a duplicate of the CPU's device fd: the
 * device is opened once per CPU, and energy_close() closes each counter's fd.
 */
static int add_reg(struct energy_source *s, int devfd, int cpu, int socket, double joules_per_unit,
		   const struct msr_reg *r, char *why, size_t whylen)
{
	struct energy_counter *c;
	int fd, err;

	fd = fcntl(devfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		snprintf(why, whylen, "cannot duplicate the MSR device fd of cpu %d: %s", cpu,
			 strerror(errno));
		return err;
	}
	c = energy_add_counter(s, socket, r->domain, joules_per_unit, MSR_ENERGY_MODULUS,
			       "%s (0x%x) on cpu %d", r->name, r->addr, cpu);
	c->fd = fd;
	c->msr = r->addr;
	return 0;
}

/* Take back the counters from index mark on. */
static void drop_counters(struct energy_source *s, int mark)
{
	for (int i = mark; i < s->n; i++) {
		free(s->c[i].label);
		if (s->c[i].fd >= 0)
			close(s->c[i].fd);
	}
	s->n = mark;
}

static int die_of(const struct bm_topology *topo, int cpu)
{
	return topo->die_id ? topo->die_id[cpu] : 0;
}

/* The lowest online CPU of its socket whose die (and core, with cores) it shares. */
static bool first_of(const struct bm_topology *topo, int cpu, bool cores)
{
	for (int j = 0; j < cpu; j++)
		if (topo->online[j] && topo->socket[j] == topo->socket[cpu] &&
		    die_of(topo, j) == die_of(topo, cpu) &&
		    (!cores || topo->core_id[j] == topo->core_id[cpu]))
			return false;
	return true;
}

/*
 * Intel RAPL is per die (one die per package but on multi-die parts such as Cascade Lake-AP,
 * whose dies then add up): its MSRs are read on the first online CPU of each die.
 */
static int intel_die(struct energy_source *s, const char *dev_root, const struct msr_cpu_model *m,
		     int socket, int cpu, bool with_psys, char *why, size_t whylen)
{
	uint64_t unit;
	bool present;
	int fd, err;

	fd = open_dev(dev_root, cpu, why, whylen);
	if (fd < 0)
		return fd;
	err = rdmsr(fd, MSR_RAPL_POWER_UNIT, &unit);
	if (err)
		snprintf(why, whylen,
			 "cannot read MSR_RAPL_POWER_UNIT (0x%x) on cpu %d: %s (no RAPL?)",
			 MSR_RAPL_POWER_UNIT, cpu, strerror(-err));
	for (size_t i = 0; i < ARRAY_SIZE(intel_regs) && !err; i++) {
		const struct msr_reg *r = &intel_regs[i];

		/* psys is the whole platform: once, reported with the first socket. */
		if (r->domain == BM_DOMAIN_PSYS && !with_psys)
			continue;
		err = probe(fd, r, cpu, r->domain == BM_DOMAIN_PACKAGE, &present, why, whylen);
		if (!err && present)
			err = add_reg(s, fd, cpu, socket, msr_domain_unit(m, r->domain, unit), r,
				      why, whylen);
	}
	close(fd);
	return err;
}

static int intel_socket(struct energy_source *s, const char *dev_root,
			const struct msr_cpu_model *m, const struct bm_topology *topo, int socket,
			char *why, size_t whylen)
{
	bool psys = socket == 0;
	int err = 0;

	for (int cpu = 0; cpu < topo->nr_cpus && !err; cpu++) {
		if (!topo->online[cpu] || topo->socket[cpu] != socket ||
		    !first_of(topo, cpu, false))
			continue;
		err = intel_die(s, dev_root, m, socket, cpu, psys, why, whylen);
		psys = false;
	}
	return err;
}

/* Whether every online CPU of the socket has a core id, to tell its cores apart. */
static bool core_ids_known(const struct bm_topology *topo, int socket)
{
	if (!topo->core_id)
		return false;
	for (int cpu = 0; cpu < topo->nr_cpus; cpu++)
		if (topo->online[cpu] && topo->socket[cpu] == socket && topo->core_id[cpu] < 0)
			return false;
	return true;
}

/*
 * AMD RAPL: the package MSR on the socket's first online CPU, the core MSR on one CPU of each
 * physical core (SMT siblings read the same counter). The socket's cores add up to its core
 * domain, so one core that cannot be read leaves the whole domain out.
 */
static int amd_socket(struct energy_source *s, const char *dev_root, const struct msr_cpu_model *m,
		      const struct bm_topology *topo, int socket, char *why, size_t whylen)
{
	int first = topology_first_cpu(topo, socket), mark = s->n, err = 0;
	bool cores = core_ids_known(topo, socket), present;
	uint64_t unit = 0;

	if (!cores)
		bm_debug("msr: core ids of socket %d unknown: no core energy", socket);
	for (int cpu = first; cpu >= 0 && cpu < topo->nr_cpus && !err; cpu++) {
		int fd;

		if (!topo->online[cpu] || topo->socket[cpu] != socket ||
		    (cpu != first && (!cores || !first_of(topo, cpu, true))))
			continue;
		fd = open_dev(dev_root, cpu, why, whylen);
		if (fd < 0)
			return fd;
		if (cpu == first) {
			err = rdmsr(fd, MSR_AMD_RAPL_POWER_UNIT, &unit);
			if (err)
				snprintf(why, whylen,
					 "cannot read MSR_AMD_RAPL_POWER_UNIT (0x%x) on cpu %d: %s",
					 MSR_AMD_RAPL_POWER_UNIT, cpu, strerror(-err));
			if (!err)
				err = probe(fd, &amd_pkg, cpu, true, &present, why, whylen);
			if (!err)
				err = add_reg(s, fd, cpu, socket,
					      msr_domain_unit(m, BM_DOMAIN_PACKAGE, unit), &amd_pkg,
					      why, whylen);
			mark = s->n;
		}
		if (!err && cores) {
			err = probe(fd, &amd_core, cpu, false, &present, why, whylen);
			if (!err && present) {
				err = add_reg(s, fd, cpu, socket,
					      msr_domain_unit(m, BM_DOMAIN_CORE, unit), &amd_core,
					      why, whylen);
			} else if (!err) {
				bm_debug("msr: no core energy for socket %d", socket);
				drop_counters(s, mark);
				cores = false;
			}
		}
		close(fd);
	}
	return err;
}

int msr_open(struct energy_source *s, const char *dev_root, const char *cpuinfo,
	     const struct bm_topology *topo, char *why, size_t whylen)
{
	struct msr_cpu_model m;
	unsigned int first;
	int err;

	err = msr_read_cpuinfo(cpuinfo, &m, why, whylen);
	if (err)
		return err;
	switch (m.vendor) {
	case MSR_VENDOR_INTEL:
		break;
	case MSR_VENDOR_AMD:
	case MSR_VENDOR_HYGON:
		/* AMD's RAPL MSRs came with Zen (17h); Hygon's Dhyana is 18h. */
		first = m.vendor == MSR_VENDOR_AMD ? 0x17 : 0x18;
		if (m.family < first) {
			snprintf(why, whylen,
				 "%s family 0x%x has no RAPL energy MSRs (they start with 0x%x)",
				 m.vendor_id, m.family, first);
			return -ENODEV;
		}
		break;
	default:
		snprintf(why, whylen, "unsupported CPU vendor '%s' (RAPL MSRs: Intel, AMD, Hygon)",
			 m.vendor_id);
		return -ENODEV;
	}
	s->ops = &msr_ops;
	for (int k = 0; k < topo->nr_sockets && !err; k++) {
		if (m.vendor == MSR_VENDOR_INTEL)
			err = intel_socket(s, dev_root, &m, topo, k, why, whylen);
		else
			err = amd_socket(s, dev_root, &m, topo, k, why, whylen);
	}
	return err;
}
