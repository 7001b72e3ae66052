/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_ESTIMATE_H
#define BM_ESTIMATE_H

/*
 * --estimate: where nothing measures energy, each socket's package power estimated from its
 * CPU utilisation with a published power curve. Never a measurement: every figure made from
 * it is labelled "estimated" by the outputs.
 *
 * The curve is SPECpower-shaped as Teads fitted it and Boavizta uses it: at 0, 10, 50 and
 * 100% load the CPU draws about 0.12, 0.32, 0.75 and 1.02 x its TDP, linear in between. The
 * TDP comes from a table of CPU parts built into the binary (user/energy/cpus.csv) or from
 * --tdp. In a VM the host's part is shared: each vCPU is given its share of the part's TDP
 * (TDP / threads), or, where the part is unknown, Cloud Carbon Footprint's per-vCPU figures
 * (linear from min to max watts, as CCF estimates).
 */
#include <stdbool.h>
#include <stddef.h>

/* One CPU part of the table, generated from user/energy/cpus.csv at build time. */
struct cpu_part {
	const char *vendor; /* "Intel", "AMD", "Arm" */
	/*
	 * What identifies it: whole words of /proc/cpuinfo's model name, all of which must be
	 * there (case does not matter), such as "Xeon 6132" or "EPYC 7R13"; on arm64, which has
	 * no model name, "0xIMPLEMENTER:0xPART" of the core.
	 */
	const char *match;
	const char *name; /* the vendor's name of the part, for messages */
	double tdp_w;
	int cores, threads;
	const char *source; /* the specification it is from */
};

extern const struct cpu_part cpu_parts[];
extern const size_t cpu_parts_n;

/* What /proc/cpuinfo says of the first processor. */
struct cpu_ident {
	char model[128]; /* "model name"; "" where there is none (arm64) */
	unsigned int implementer, part; /* arm64's "CPU implementer", "CPU part"; 0: none */
	bool hypervisor; /* the "hypervisor" flag: a VM */
};

/* Read path (a /proc/cpuinfo). Returns 0 or a negative errno. */
int estimate_read_cpuinfo(const char *path, struct cpu_ident *id);
/* The table's part for id, or NULL. */
const struct cpu_part *estimate_find(const struct cpu_ident *id);
/* An Arm entry: its TDP is the SoC's, and a core's share of it is what one core draws. */
bool estimate_part_per_core(const struct cpu_part *p);
/* How id is named in messages: the model name, or "CPU implementer 0x41 part 0xd0c". */
void estimate_cpu_text(const struct cpu_ident *id, char *buf, size_t len);

/* The curve's load points, in the order of estimate.point_w. */
#define BM_EST_POINTS 4
extern const double estimate_load[BM_EST_POINTS]; /* 0, 0.1, 0.5, 1 */
extern const double estimate_tdp_ratio[BM_EST_POINTS]; /* 0.12, 0.32, 0.75, 1.02 */

/* Cloud Carbon Footprint's average of AWS's micro-architectures, watts per vCPU. */
#define BM_CCF_MIN_W 0.74
#define BM_CCF_MAX_W 3.5

/* What was asked for: each < 0 where not given. */
struct estimate_request {
	double tdp_w; /* --tdp: one socket's TDP (in a VM: what its vCPUs may draw) */
	double idle_w, max_w; /* --estimate-idle, --estimate-max: one socket's watts */
};

struct estimate {
	/*
	 * Watts at estimate_load[i]: of one socket, or with per_cpu of one online CPU (a vCPU,
	 * or an Arm core), a socket drawing that times its online CPUs.
	 */
	double point_w[BM_EST_POINTS];
	bool per_cpu;
	char method[256]; /* what the figures are from, for every output */
};

/*
 * The curve for id under req; cpus_per_socket turns per-socket watts given into per-CPU ones
 * where the curve is per CPU. Returns 0; -ENOENT where there is nothing to estimate from (a
 * CPU not in the table on bare metal without --tdp), -EINVAL where the watts given make no
 * curve (idle not below max): why says so in one line.
 */
int estimate_setup(struct estimate *e, const struct cpu_ident *id,
		   const struct estimate_request *req, int cpus_per_socket, char *why,
		   size_t whylen);
/* Watts of one unit (socket, or CPU with per_cpu) at utilisation u (clamped to [0, 1]). */
double estimate_power(const struct estimate *e, double u);
/* Watts of a socket with cpus online at utilisation u. */
double estimate_socket_power(const struct estimate *e, double u, int cpus);

#endif
