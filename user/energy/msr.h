/* SPDX-License-Identifier: BSD-2-Clause */
/* RAPL energy MSRs read through /dev/cpu/N/msr: the CPU model and unit arithmetic. */
#ifndef BM_MSR_H
#define BM_MSR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "energy.h"

/* Intel */
#define MSR_RAPL_POWER_UNIT 0x606
#define MSR_PKG_ENERGY_STATUS 0x611
#define MSR_DRAM_ENERGY_STATUS 0x619
#define MSR_PP0_ENERGY_STATUS 0x639
#define MSR_PP1_ENERGY_STATUS 0x641
#define MSR_PLATFORM_ENERGY_STATUS 0x64d
/* AMD (family 17h and later) and Hygon */
#define MSR_AMD_RAPL_POWER_UNIT 0xc0010299
#define MSR_AMD_CORE_ENERGY_STATUS 0xc001029a
#define MSR_AMD_PKG_ENERGY_STATUS 0xc001029b

/* Energy status MSRs count in their low 32 bits; the high half is reserved. */
#define MSR_ENERGY_MASK 0xffffffffULL
#define MSR_ENERGY_MODULUS (1ULL << 32)

/* The fixed DRAM energy unit of some Xeons, whatever MSR_RAPL_POWER_UNIT says: 15.3 uJ. */
#define MSR_DRAM_FIXED_UNIT_J (1.0 / 65536)

enum msr_vendor {
	MSR_VENDOR_OTHER,
	MSR_VENDOR_INTEL,
	MSR_VENDOR_AMD,
	MSR_VENDOR_HYGON,
};

/* The first processor of /proc/cpuinfo. */
struct msr_cpu_model {
	enum msr_vendor vendor;
	char vendor_id[32]; /* "GenuineIntel", "AuthenticAMD", ... */
	unsigned int family, model;
};

/*
 * Read vendor_id, cpu family and model of the first processor in a /proc/cpuinfo-format
 * file. Returns 0, or a negative errno with why filled (-EINVAL: fields missing or not
 * numbers; -ENODEV: no vendor_id, not an x86 CPU).
 */
int msr_read_cpuinfo(const char *path, struct msr_cpu_model *m, char *why, size_t whylen);

/*
 * Joules per unit of the energy status MSRs from a raw MSR_RAPL_POWER_UNIT (or its AMD twin,
 * same layout): bits 12:8 hold the energy status unit ESU, the unit is 1/2^ESU joules.
 */
double msr_energy_unit(uint64_t power_unit);

/* Whether this model's DRAM counter has the fixed MSR_DRAM_FIXED_UNIT_J unit. */
bool msr_dram_unit_fixed(const struct msr_cpu_model *m);

/* Joules per unit of domain d's counter on this model, given its raw power unit MSR. */
double msr_domain_unit(const struct msr_cpu_model *m, enum bm_domain d, uint64_t power_unit);

#endif
