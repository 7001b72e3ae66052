// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "energy.h"
#include "util.h"

const struct energy_paths energy_default_paths = {
	.powercap = "/sys/class/powercap",
	.perf_power = "/sys/bus/event_source/devices/power",
	.msr_dev = "/dev/cpu",
	.cpuinfo = "/proc/cpuinfo",
};

static const char *const domain_names[BM_NR_DOMAINS] = {
	[BM_DOMAIN_PACKAGE] = "package", [BM_DOMAIN_CORE] = "core", [BM_DOMAIN_UNCORE] = "uncore",
	[BM_DOMAIN_DRAM] = "dram",	 [BM_DOMAIN_PSYS] = "psys",
};

const char *energy_domain_name(enum bm_domain d)
{
	return d < BM_NR_DOMAINS ? domain_names[d] : "?";
}

static const char *const kind_names[] = { "auto", "powercap", "perf", "msr", "none" };

const char *energy_kind_name(enum energy_kind kind)
{
	return (size_t)kind < ARRAY_SIZE(kind_names) ? kind_names[kind] : "?";
}

int energy_parse_kind(const char *s, enum energy_kind *kind)
{
	const char *const *names = kind_names;

	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++) {
		if (!strcmp(s, names[i])) {
			*kind = (enum energy_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

struct energy_counter *energy_add_counter(struct energy_source *s, int socket, enum bm_domain d,
					  double joules_per_unit, uint64_t modulus, const char *fmt,
					  ...)
{
	struct energy_counter *c;
	va_list ap;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->c = bm_realloc_array(s->c, (size_t)s->cap, sizeof(*s->c));
	}
	c = &s->c[s->n++];
	memset(c, 0, sizeof(*c));
	c->socket = socket;
	c->domain = d;
	c->joules_per_unit = joules_per_unit;
	c->modulus = modulus;
	c->fd = -1;
	va_start(ap, fmt);
	if (vasprintf(&c->label, fmt, ap) < 0)
		c->label = NULL;
	va_end(ap);
	if (!c->label) {
		bm_err("out of memory");
		exit(1);
	}
	return c;
}

uint64_t energy_wrap_delta(uint64_t prev, uint64_t cur, uint64_t modulus)
{
	if (!modulus)
		return cur - prev; /* unsigned arithmetic wraps at 2^64 */
	if (cur >= prev)
		return cur - prev;
	return modulus - prev + cur;
}

void energy_close(struct energy_source *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->c[i].path);
		free(s->c[i].label);
		if (s->c[i].fd >= 0)
			close(s->c[i].fd);
	}
	free(s->c);
	memset(s, 0, sizeof(*s));
}

/* The poll period that keeps every counter to one wrap at most, at BM_ENERGY_MAX_W. */
static void compute_max_poll(struct energy_source *s)
{
	s->max_poll_s = 0;
	for (int i = 0; i < s->n; i++) {
		const struct energy_counter *c = &s->c[i];
		double range_s;

		if (!c->modulus || c->dead)
			continue;
		range_s = (double)c->modulus * c->joules_per_unit / BM_ENERGY_MAX_W;
		if (!s->max_poll_s || range_s < s->max_poll_s)
			s->max_poll_s = range_s;
	}
}

void energy_never_advanced(const struct energy_counter *c, double seconds, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%s never advanced in %.3g s: this machine's RAPL is not counting (common in VMs)",
		 c->label, seconds);
}

/* Drop c for good, with one line that says why (why is also kept for the session's notes). */
static void drop_counter(struct energy_source *s, struct energy_counter *c, const char *why)
{
	bm_warn("%s; %s energy of socket %d is no longer reported", why,
		energy_domain_name(c->domain), c->socket);
	snprintf(s->dropped_why, sizeof(s->dropped_why), "%s", why);
	c->dead = true;
}

/* Whether c, read as raw at now, still counts; drops it when it does not. */
static bool check_advance(struct energy_source *s, struct energy_counter *c, uint64_t raw,
			  double now)
{
	double stall_s = s->stall_s > 0 ? s->stall_s : BM_ENERGY_STALL_S;
	char why[512];

	if (!c->primed) {
		c->first_t = now;
		return true;
	}
	if (raw != c->last) {
		c->counted = c->moved = true;
		c->moved_t = now;
		return true;
	}
	if (!c->counted && now - c->first_t >= BM_ENERGY_GRACE_S) {
		energy_never_advanced(c, BM_ENERGY_GRACE_S, why, sizeof(why));
		drop_counter(s, c, why);
		return false;
	}
	if (c->counted && now - c->moved_t >= stall_s) {
		snprintf(why, sizeof(why), "%s stopped advancing %.3g s ago: it no longer counts",
			 c->label, now - c->moved_t);
		drop_counter(s, c, why);
		return false;
	}
	return true;
}

const char *energy_read_errstr(int err)
{
	if (err == -EINVAL)
		return "not a number";
	if (err == -ERANGE)
		return "out of range (above 18446744073709551615, the largest 64-bit count)";
	return strerror(-err);
}

/* A reading of c no power could make: dropped, its interval has none of c's domain. */
static void drop_reading(struct energy_source *s, struct energy_counter *c, double j, double dt)
{
	s->dropped++;
	c->glitched = true;
	if (c->glitch_warned)
		return;
	c->glitch_warned = true;
	bm_warn("dropped an impossible reading of %s: %.1f J in %.3f s (a reset or a glitch); %s "
		"energy of socket %d is not reported for an interval with one (further ones are "
		"counted, not warned about)",
		c->label, j, dt, energy_domain_name(c->domain), c->socket);
}

void energy_poll(struct energy_source *s, double now)
{
	double dt = now - s->last_poll;

	for (int i = 0; i < s->n; i++) {
		struct energy_counter *c = &s->c[i];
		char why[512];
		uint64_t raw;
		double j, since;
		int err;

		if (c->dead)
			continue;
		err = s->ops->read(s, c, &raw);
		if (err) {
			snprintf(why, sizeof(why), "cannot read %s: %s", c->label,
				 energy_read_errstr(err));
			drop_counter(s, c, why);
			continue;
		}
		/*
		 * The delta grew since the counter last moved, at the latest: a counter written in
		 * steps (the simulator's, or a host's --export-powercap tree seen from its VM) can
		 * step by a whole second's energy between two polls a millisecond apart.
		 */
		since = now - (c->moved_t > 0 ? c->moved_t : c->first_t);
		if (!check_advance(s, c, raw, now))
			continue;
		if (c->primed) {
			j = (double)energy_wrap_delta(c->last, raw, c->modulus) *
			    c->joules_per_unit;
			if (j > BM_ENERGY_MAX_W * (since > dt ? since : dt))
				drop_reading(s, c, j, dt);
			else
				c->pending_j += j;
		}
		c->last = raw;
		c->primed = true;
	}
	s->last_poll = now;
}

int energy_take(struct energy_source *s, struct energy_reading *out)
{
	double sum[BM_NR_DOMAINS];
	int n = 0;

	for (int k = 0; k < s->nr_sockets; k++) {
		bool present[BM_NR_DOMAINS] = { false }, dead[BM_NR_DOMAINS] = { false };
		bool uncounted[BM_NR_DOMAINS] = { false }, moved[BM_NR_DOMAINS] = { false };
		bool glitched[BM_NR_DOMAINS] = { false };

		memset(sum, 0, sizeof(sum));
		for (int i = 0; i < s->n; i++) {
			struct energy_counter *c = &s->c[i];

			if (c->socket != k)
				continue;
			present[c->domain] = true;
			dead[c->domain] |= c->dead;
			uncounted[c->domain] |= !c->counted;
			moved[c->domain] |= c->moved;
			glitched[c->domain] |= c->glitched;
			sum[c->domain] += c->pending_j;
			c->pending_j = 0;
			c->moved = c->glitched = false;
		}
		for (int d = 0; d < BM_NR_DOMAINS; d++) {
			/* A part of the domain missing would make the sum a wrong number. */
			/*
			 * A counter that never advanced is no measurement, nor is a domain none of
			 * whose counters moved this interval (RAPL advances every millisecond); one
			 * of several standing still (an idle core's, in a deep C-state) adds 0. A
			 * reading dropped as impossible leaves the interval without one: a sum
			 * short of it would be a wrong number, and 0 J is no measurement.
			 */
			if (!present[d] || dead[d] || uncounted[d] || !moved[d] || glitched[d])
				continue;
			out[n++] = (struct energy_reading){ .socket = k,
							    .domain = (enum bm_domain)d,
							    .joules = sum[d] };
		}
	}
	return n;
}

int energy_domains_left(const struct energy_source *s)
{
	int n = 0;

	for (int k = 0; k < s->nr_sockets; k++) {
		bool present[BM_NR_DOMAINS] = { false }, dead[BM_NR_DOMAINS] = { false };

		for (int i = 0; i < s->n; i++) {
			if (s->c[i].socket != k)
				continue;
			present[s->c[i].domain] = true;
			dead[s->c[i].domain] |= s->c[i].dead;
		}
		for (int d = 0; d < BM_NR_DOMAINS; d++)
			n += present[d] && !dead[d];
	}
	return n;
}

typedef int (*backend_open_fn)(struct energy_source *s, const struct energy_paths *p,
			       struct bm_topology *topo, char *why, size_t whylen);

static int open_powercap(struct energy_source *s, const struct energy_paths *p,
			 struct bm_topology *topo, char *why, size_t whylen)
{
	return powercap_open(s, p->powercap, topo, why, whylen);
}

static int open_perf(struct energy_source *s, const struct energy_paths *p,
		     struct bm_topology *topo, char *why, size_t whylen)
{
	return perf_power_open(s, p->perf_power, topo, why, whylen);
}

static int open_msr(struct energy_source *s, const struct energy_paths *p, struct bm_topology *topo,
		    char *why, size_t whylen)
{
	return msr_open(s, p->msr_dev, p->cpuinfo, topo, why, whylen);
}

bool energy_machine_is_x86(const char *machine)
{
	struct utsname u;

	if (!machine) {
		if (uname(&u))
			return true; /* unknown: try everything, as before */
		machine = u.machine;
	}
	return !strcmp(machine, "x86_64") || !strcmp(machine, "amd64") ||
	       (machine[0] == 'i' && machine[1] && !strcmp(machine + 2, "86"));
}

int energy_open(struct energy_source *s, enum energy_kind kind, const struct energy_paths *paths,
		struct bm_topology *topo, char *why, size_t whylen)
{
	static const struct {
		enum energy_kind kind;
		const char *name;
		backend_open_fn open;
		bool rapl_only; /* RAPL's alone: x86 */
	} backends[] = {
		{ ENERGY_POWERCAP, "powercap", open_powercap, false },
		{ ENERGY_PERF, "perf", open_perf, true },
		{ ENERGY_MSR, "msr", open_msr, true },
	};
	bool x86 = energy_machine_is_x86(paths->machine);
	struct utsname u;
	size_t off = 0;
	int err = -ENODEV;

	memset(s, 0, sizeof(*s));
	why[0] = '\0';
	if (kind == ENERGY_NONE) {
		snprintf(why, whylen, "--energy-source none");
		return -ENODEV;
	}
	if (!x86 && kind == ENERGY_AUTO) {
		const char *m = paths->machine;

		if (!m)
			m = uname(&u) ? "this machine" : u.machine;
		off = (size_t)snprintf(why, whylen,
				       "%s has no RAPL (x86's: perf power PMU and MSRs not tried)",
				       m);
	}
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
		char one[512] = "";

		if (kind != ENERGY_AUTO && kind != backends[i].kind)
			continue;
		if (kind == ENERGY_AUTO && !x86 && backends[i].rapl_only)
			continue;
		memset(s, 0, sizeof(*s));
		s->nr_sockets = topo->nr_sockets;
		err = backends[i].open(s, paths, topo, one, sizeof(one));
		s->nr_sockets = topo->nr_sockets;
		if (!err && s->n > 0) {
			compute_max_poll(s);
			return 0;
		}
		if (!err) {
			err = -ENODEV;
			snprintf(one, sizeof(one), "no energy counter found");
		}
		energy_close(s);
		off += (size_t)snprintf(why + off, off < whylen ? whylen - off : 0, "%s%s: %s",
					off ? "; " : "", backends[i].name, one);
	}
	if (!x86 && kind == ENERGY_AUTO)
		snprintf(why + off, off < whylen ? whylen - off : 0,
			 "; energy or power sensors some Arm parts give through hwmon "
			 "(energy*_input, power*_input) are not read by bpfmeter");
	return err;
}
