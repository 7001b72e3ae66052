/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_ENERGY_H
#define BM_ENERGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology.h"

/* RAPL domains, in the order outputs list them. */
enum bm_domain {
	BM_DOMAIN_PACKAGE,
	BM_DOMAIN_CORE,
	BM_DOMAIN_UNCORE,
	BM_DOMAIN_DRAM,
	BM_DOMAIN_PSYS,
	BM_NR_DOMAINS,
};

const char *energy_domain_name(enum bm_domain d);

/*
 * A reading above this many watts for one domain is taken for a counter glitch (a reset, or
 * more wraps than one between two reads) and dropped. No CPU package or platform draws it.
 */
#define BM_ENERGY_MAX_W 2000.0

/*
 * RAPL updates its counters about every millisecond: polls faster than that see nothing new.
 * A counter whose range would need them (it would wrap within two of them at
 * BM_ENERGY_MAX_W: a range of 0, or a few joules) is no counter, and is refused.
 */
#define BM_ENERGY_MIN_POLL_S 0.001
#define BM_ENERGY_MIN_RANGE_J (2 * BM_ENERGY_MIN_POLL_S * BM_ENERGY_MAX_W)

/*
 * A RAPL counter advances about every millisecond, idle or not. One that has not advanced
 * this many seconds after its first read is not counting (VMs that offer RAPL and leave it at
 * 0): it is dropped.
 */
#define BM_ENERGY_GRACE_S 3.0
/*
 * One that advanced and then stays still this long is dropped too (energy_source.stall_s, at
 * least this). Thirty thousand updates missed is no idle package: the counter has stopped.
 */
#define BM_ENERGY_STALL_S 30.0

/*
 * One hardware energy counter. Several may add up to one (socket, domain): the dies of a
 * package, or the cores of an AMD socket.
 */
struct energy_counter {
	int socket; /* socket index of the topology */
	enum bm_domain domain;
	double joules_per_unit;
	uint64_t modulus; /* the counter wraps to 0 after modulus - 1 units; 0: at 2^64 */
	char *label; /* what it is, for messages: a path, an MSR, a perf event */
	/* backend handles */
	char *path; /* powercap: energy_uj */
	int fd; /* perf: event fd; msr: /dev/cpu/N/msr; powercap: energy_uj opened at the start */
	bool kept_only; /* powercap: the path no longer opens; read fd alone */
	uint64_t msr;
	/* state */
	uint64_t last;
	bool primed; /* last holds a reading */
	bool dead; /* failed to read, or stopped: its (socket, domain) is no longer reported */
	bool counted; /* advanced since its first read */
	bool moved; /* advanced since the last take */
	bool glitched; /* a reading was dropped as impossible since the last take */
	bool glitch_warned; /* the first dropped reading was warned about */
	double first_t, moved_t; /* monotonic: the first read, the last advance */
	double pending_j;
};

struct energy_source;

struct energy_ops {
	const char *name; /* "powercap", "perf", "msr" */
	/* The counter's raw value, in its units. Returns 0 or a negative errno. */
	int (*read)(struct energy_source *s, struct energy_counter *c, uint64_t *raw);
};

/*
 * A powercap tree with this file in its root is not RAPL: bpfmeter on a VM's host keeps it
 * (--export-powercap), counting the energy it attributes to the VM. Its first line is
 * "host NAME".
 */
#define BM_PASSTHROUGH_MARKER "bpfmeter-passthrough"

struct energy_source {
	const struct energy_ops *ops;
	/* powercap: the host a passed-through tree comes from; "": the machine's own RAPL */
	char from_host[256];
	struct energy_counter *c;
	int n, cap;
	int nr_sockets;
	uint64_t dropped; /* impossible readings dropped since the start */
	double last_poll; /* monotonic seconds */
	/*
	 * The longest time between two reads before a counter could wrap twice at
	 * BM_ENERGY_MAX_W, which no reading can tell from once: polls must come faster.
	 */
	double max_poll_s;
	/* A counter that has not advanced for this long is dropped (BM_ENERGY_STALL_S). */
	double stall_s;
	char dropped_why[512]; /* why the last counter was dropped, for messages */
};

/* Energy of one (socket, domain) over one interval. */
struct energy_reading {
	int socket;
	enum bm_domain domain;
	double joules;
};

enum energy_kind {
	ENERGY_AUTO,
	ENERGY_POWERCAP,
	ENERGY_PERF,
	ENERGY_MSR,
	ENERGY_NONE,
};

/* Where the backends look; tests point them at fixture trees. */
struct energy_paths {
	const char *powercap; /* "/sys/class/powercap" */
	const char *perf_power; /* "/sys/bus/event_source/devices/power" */
	const char *msr_dev; /* "/dev/cpu" */
	const char *cpuinfo; /* "/proc/cpuinfo" */
	const char *machine; /* as uname -m says; NULL for the running kernel's */
};

/*
 * Whether machine (uname -m; NULL for the running kernel's) is x86, where RAPL is: the
 * powercap intel-rapl zones, the perf power PMU and the energy MSRs are Intel's and AMD's.
 */
bool energy_machine_is_x86(const char *machine);

extern const struct energy_paths energy_default_paths;

/* Parse "auto", "powercap", "perf", "msr" or "none". Returns 0 or -EINVAL. */
int energy_parse_kind(const char *s, enum energy_kind *kind);
const char *energy_kind_name(enum energy_kind kind);

/*
 * Open an energy source. With ENERGY_AUTO it tries powercap, perf and msr in turn; on a
 * machine that is not x86 (paths->machine) powercap only, as the other two are RAPL's alone,
 * and why then says so and where such machines may give energy instead. On success returns 0
 * and says which one it uses; otherwise returns a negative errno with what was tried and why
 * in why (one line).
 */
int energy_open(struct energy_source *s, enum energy_kind kind, const struct energy_paths *paths,
		struct bm_topology *topo, char *why, size_t whylen);
void energy_close(struct energy_source *s);

/*
 * Backends: fill s->c and s->ops. Return 0, or a negative errno with why filled. powercap
 * may add sockets to the topology: packages it has zones of but no online CPU of.
 */
int powercap_open(struct energy_source *s, const char *root, struct bm_topology *topo, char *why,
		  size_t whylen);
int perf_power_open(struct energy_source *s, const char *root, const struct bm_topology *topo,
		    char *why, size_t whylen);
int msr_open(struct energy_source *s, const char *dev_root, const char *cpuinfo,
	     const struct bm_topology *topo, char *why, size_t whylen);

/* Add a counter to s (backends), labelled for messages (printf format); returns it. */
struct energy_counter *energy_add_counter(struct energy_source *s, int socket, enum bm_domain d,
					  double joules_per_unit, uint64_t modulus, const char *fmt,
					  ...) __attribute__((format(printf, 6, 7)));

/*
 * The units a counter advanced from prev to cur, wrapping at modulus (0: 2^64). One wrap
 * at most can be seen; more are indistinguishable, hence energy_source.max_poll_s.
 */
uint64_t energy_wrap_delta(uint64_t prev, uint64_t cur, uint64_t modulus);

/*
 * What a backend's read error means, for messages: "not a number", "out of range (...)" (a
 * parse's -EINVAL, -ERANGE), else strerror.
 */
const char *energy_read_errstr(int err);

/*
 * Read every counter and add what it advanced since the last poll to its pending energy.
 * A delta over BM_ENERGY_MAX_W x dt is dropped and counted (the first one of each counter
 * warned about): its interval has no reading of that domain. A counter that cannot be read,
 * that has not advanced BM_ENERGY_GRACE_S after its first read, or that stopped advancing for
 * stall_s, is warned about once and then left out. now is monotonic seconds.
 */
void energy_poll(struct energy_source *s, double now);

/*
 * The energy pending since the last take, per (socket, domain), into out (room for
 * nr_sockets x BM_NR_DOMAINS); pending goes to zero. A (socket, domain) with a dead counter
 * is left out, and so is one with a counter that has not advanced yet since its first read,
 * or none of whose counters advanced since the last take: standing still is not a measured
 * 0. One of several counters standing still (an idle core's, in a deep C-state) adds 0 to
 * its domain's sum. A domain one of whose readings was dropped since the last take is left
 * out too: what it would sum to is not what was spent. Returns the number of readings.
 */
int energy_take(struct energy_source *s, struct energy_reading *out);

/* The (socket, domain)s that can still be reported: none of their counters dead. */
int energy_domains_left(const struct energy_source *s);

/* "LABEL never advanced in N s: ..." for a counter that never counted, into buf. */
void energy_never_advanced(const struct energy_counter *c, double seconds, char *buf, size_t len);

#endif
