// SPDX-License-Identifier: BSD-2-Clause
/*
 * RAPL through the powercap sysfs tree: zones intel-rapl:N (package-N, package-N-die-M or
 * psys) and their subzones intel-rapl:N:M (core, uncore, dram), each with energy_uj and
 * max_energy_range_uj. AMD hosts expose the same tree. /sys/class/powercap lists every zone
 * flat; the tree under /sys/devices/virtual/powercap/intel-rapl nests subzones: both work.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "energy.h"
#include "util.h"

#define ZONE_PREFIX "intel-rapl:"

static int read_u64_file(const char *path, uint64_t *out)
{
	char buf[64];
	int err = bm_read_file(path, buf, sizeof(buf));

	if (err)
		return err;
	return bm_parse_u64(buf, 0, UINT64_MAX, out); /* -EINVAL, or -ERANGE past 64 bits */
}

/*
 * energy_uj by its path, as the tree is now (a zone that went away is seen); once the path
 * cannot be opened any more (root-only since Linux 5.10, and CAP_DAC_READ_SEARCH dropped
 * after the start), from the file opened at the start, for good: a sysfs file gives its
 * current value at every read from its start.
 */
static int powercap_read(struct energy_source *s, struct energy_counter *c, uint64_t *raw)
{
	char buf[64];
	int err;

	(void)s;
	if (!c->kept_only) {
		err = read_u64_file(c->path, raw);
		if (err != -EACCES || c->fd < 0)
			return err;
		bm_debug("powercap: %s can no longer be opened: reading the file opened at the "
			 "start",
			 c->path);
		c->kept_only = true;
	}
	err = bm_pread_text(c->fd, buf, sizeof(buf));
	if (err)
		return err;
	return bm_parse_u64(buf, 0, UINT64_MAX, raw);
}

static const struct energy_ops powercap_ops = {
	.name = "powercap",
	.read = powercap_read,
};

/* "intel-rapl:N" or "intel-rapl:N:M" (not intel-rapl-mmio, which repeats the package). */
static bool is_zone_name(const char *name)
{
	const char *p = name + strlen(ZONE_PREFIX);
	int colons = 0;

	if (strncmp(name, ZONE_PREFIX, strlen(ZONE_PREFIX)) || !isdigit((unsigned char)*p))
		return false;
	for (; *p; p++) {
		if (*p == ':' && isdigit((unsigned char)p[1]))
			colons++;
		else if (!isdigit((unsigned char)*p))
			return false;
	}
	return colons <= 1;
}

/* The socket and domain a zone's name stands for; -1 when it is none we know. */
static int zone_domain(const char *name, const char *parent_name, struct bm_topology *topo,
		       int *socket, enum bm_domain *domain)
{
	static const struct {
		const char *name;
		enum bm_domain domain;
	} sub[] = { { "core", BM_DOMAIN_CORE },
		    { "uncore", BM_DOMAIN_UNCORE },
		    { "dram", BM_DOMAIN_DRAM } };
	char digits[16];
	uint64_t pkg;
	size_t len;

	if (!strcmp(name, "psys")) {
		/* Platform-wide: reported with the first socket. */
		*socket = 0;
		*domain = BM_DOMAIN_PSYS;
		return 0;
	}
	if (parent_name) {
		for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
			if (!strcmp(name, sub[i].name)) {
				*domain = sub[i].domain;
				return zone_domain(parent_name, NULL, topo, socket,
						   &(enum bm_domain){ 0 });
			}
		}
		return -1;
	}
	/* package-N, or package-N-die-M on multi-die parts (their dies add up). */
	if (strncmp(name, "package-", 8))
		return -1;
	name += 8;
	len = strcspn(name, "-");
	if ((name[len] && strncmp(name + len, "-die-", 5)) || len >= sizeof(digits))
		return -1;
	memcpy(digits, name, len);
	digits[len] = '\0';
	if (bm_parse_u64(digits, 0, INT_MAX, &pkg))
		return -1;
	*socket = topology_add_package(topo, (int)pkg);
	*domain = BM_DOMAIN_PACKAGE;
	return 0;
}

/*
 * A zone whose max_energy_range_uj is no counter's range: warned about, and kept as a dead
 * counter, so that its (socket, domain) is not reported (a package's other dies alone would
 * sum to a wrong number) and check names it. what: how the file is wrong.
 */
static void leave_out(struct energy_source *s, int socket, enum bm_domain domain,
		      const char *energy_path, const char *range_path, const char *what)
{
	struct energy_counter *c;

	c = energy_add_counter(s, socket, domain, 1e-6, 0, "%s", energy_path);
	c->dead = true;
	snprintf(s->dropped_why, sizeof(s->dropped_why),
		 "%s %s (want the counter's range in microjoules, %.0f or more): zone left out",
		 range_path, what, BM_ENERGY_MIN_RANGE_J * 1e6);
	bm_warn("%s; %s energy of socket %d is not reported", s->dropped_why,
		energy_domain_name(domain), socket);
}

/* rel is intel-rapl:N, intel-rapl:N:M (flat listing) or intel-rapl:N/intel-rapl:N:M (nested). */
static int add_zone(struct energy_source *s, const char *root, const char *rel,
		    struct bm_topology *topo, char *why, size_t whylen)
{
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	const char *sub = strchr(base + strlen(ZONE_PREFIX), ':');
	char path[PATH_MAX], range_path[PATH_MAX], name[64], parent_name[64], what[128];
	struct energy_counter *c;
	enum bm_domain domain;
	uint64_t max, probe;
	int socket, err;

	snprintf(path, sizeof(path), "%s/%s/name", root, rel);
	if (bm_read_file(path, name, sizeof(name)))
		return 0; /* not a zone after all */
	if (sub) {
		/* A subzone's parent is intel-rapl:N, listed in both layouts. */
		snprintf(path, sizeof(path), "%s/%.*s/name", root, (int)(sub - base), base);
		if (bm_read_file(path, parent_name, sizeof(parent_name))) {
			bm_debug("powercap: no parent zone for %s/%s", root, rel);
			return 0;
		}
	}
	if (zone_domain(name, sub ? parent_name : NULL, topo, &socket, &domain)) {
		bm_debug("powercap: skipping zone %s/%s named '%s'", root, rel, name);
		return 0;
	}
	snprintf(range_path, sizeof(range_path), "%s/%s/max_energy_range_uj", root, rel);
	snprintf(path, sizeof(path), "%s/%s/energy_uj", root, rel);
	err = read_u64_file(range_path, &max);
	if (err == -EINVAL || err == -ERANGE) {
		snprintf(what, sizeof(what), "is %s", energy_read_errstr(err));
		leave_out(s, socket, domain, path, range_path, what);
		return 0;
	}
	if (err) {
		snprintf(why, whylen, "cannot read %s: %s", range_path, energy_read_errstr(err));
		return err;
	}
	/* 0, or a few joules: the poll period would be nanoseconds to a millisecond. */
	if ((double)max * 1e-6 < BM_ENERGY_MIN_RANGE_J) {
		snprintf(what, sizeof(what), "is %llu, no counter's range",
			 (unsigned long long)max);
		leave_out(s, socket, domain, path, range_path, what);
		return 0;
	}
	err = read_u64_file(path, &probe);
	if (err) {
		snprintf(why, whylen, "cannot read %s: %s%s", path, energy_read_errstr(err),
			 err == -EACCES ? " (energy_uj is root-only since Linux 5.10: run as root)"
					: "");
		return err;
	}
	/* 2^64 - 1, a 64-bit counter: max + 1 is 0, wrapping at 2^64. */
	c = energy_add_counter(s, socket, domain, 1e-6, max + 1, "%s", path);
	c->path = bm_strdup(path);
	/* Kept for when the capability that opened it is dropped (see powercap_read). */
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	return 0;
}

/* A tree bpfmeter on a VM's host keeps for the VM: whose it is, from its marker file. */
static void read_marker(struct energy_source *s, const char *root)
{
	char path[PATH_MAX], text[512];

	snprintf(path, sizeof(path), "%s/" BM_PASSTHROUGH_MARKER, root);
	if (bm_read_file(path, text, sizeof(text)))
		return;
	text[strcspn(text, "\n")] = '\0';
	if (strncmp(text, "host ", 5) || !text[5])
		snprintf(s->from_host, sizeof(s->from_host), "?");
	else
		snprintf(s->from_host, sizeof(s->from_host), "%.*s", (int)sizeof(s->from_host) - 1,
			 text + 5);
}

static int live_counters(const struct energy_source *s)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		n += !s->c[i].dead;
	return n;
}

int powercap_open(struct energy_source *s, const char *root, struct bm_topology *topo, char *why,
		  size_t whylen)
{
	struct dirent **ents;
	int n, err = 0;

	n = scandir(root, &ents, NULL, alphasort);
	if (n < 0) {
		err = -errno;
		if (err == -ENOENT)
			snprintf(why, whylen, "no powercap tree at %s%s", root,
				 energy_machine_is_x86(NULL) ? " (no RAPL driver, or a VM)" : "");
		else
			snprintf(why, whylen, "cannot list %s: %s", root, strerror(errno));
		return err;
	}
	s->ops = &powercap_ops;
	read_marker(s, root);
	for (int i = 0; i < n; i++) {
		const char *zone = ents[i]->d_name;
		char rel[PATH_MAX], sub[PATH_MAX];
		struct dirent **subents;
		int m;

		if (err || !is_zone_name(zone))
			continue;
		err = add_zone(s, root, zone, topo, why, whylen);
		if (err || strchr(zone + strlen(ZONE_PREFIX), ':'))
			continue;
		/* Nested subzones that the flat listing does not repeat. */
		snprintf(sub, sizeof(sub), "%s/%s", root, zone);
		m = scandir(sub, &subents, NULL, alphasort);
		for (int j = 0; j < m; j++) {
			const char *sz = subents[j]->d_name;
			char flat[PATH_MAX];

			snprintf(flat, sizeof(flat), "%s/%s", root, sz);
			if (!err && is_zone_name(sz) && strchr(sz + strlen(ZONE_PREFIX), ':') &&
			    access(flat, F_OK)) {
				snprintf(rel, sizeof(rel), "%s/%s", zone, sz);
				err = add_zone(s, root, rel, topo, why, whylen);
			}
			free(subents[j]);
		}
		if (m >= 0)
			free(subents);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (!err && !s->n)
		snprintf(why, whylen, "no %s under %s",
			 energy_machine_is_x86(NULL) ? "RAPL zones"
						     : "zones with an energy counter",
			 root);
	if (!err && s->n && !live_counters(s)) {
		snprintf(why, whylen, "every zone under %s left out (%s)", root, s->dropped_why);
		err = -ENODEV;
	}
	return err;
}
