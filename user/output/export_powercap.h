/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_EXPORT_POWERCAP_H
#define BM_EXPORT_POWERCAP_H

/*
 * --export-powercap DIR: the energy bpfmeter attributes to each libvirt/qemu VM, kept as a
 * powercap tree a guest reads as its RAPL (bpfmeter --powercap-root in the guest):
 *
 *   DIR/<vm>/bpfmeter-passthrough          the marker: where the energy comes from
 *   DIR/<vm>/intel-rapl:0/name             package-0
 *   DIR/<vm>/intel-rapl:0/energy_uj        microjoules, wrapping past max_energy_range_uj
 *   DIR/<vm>/intel-rapl:0/max_energy_range_uj
 *   DIR/<vm>/intel-rapl:0/intel-rapl:0:0/  dram, the same files, where the host measures it
 *
 * Each file is replaced by a rename from a temporary file in its directory, so a reader sees
 * the old value or the new one, never half of one. A VM that ended keeps its tree.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "energy.h"
#include "report.h"

/*
 * The range of an exported counter: that of real RAPL packages (2^32 units of 61.035 uJ), so
 * a guest's reader polls as it would on hardware. energy_uj goes from 0 to this, then 0.
 */
#define BM_EXPORT_MAX_ENERGY_RANGE_UJ 262143328850ULL

enum {
	EXPORT_PACKAGE,
	EXPORT_DRAM,
	EXPORT_NR_ZONES
};

struct export_vm {
	char *name; /* the VM's name from its labels */
	char *dir; /* DIR/<name sanitised> */
	uint64_t uj[EXPORT_NR_ZONES]; /* energy_uj as last written */
	double frac_uj[EXPORT_NR_ZONES]; /* below one microjoule, carried to the next */
	bool dram; /* its tree has the dram zone */
	bool made; /* its tree is there: only energy_uj is written */
	bool warned; /* a write failed: said once */
};

struct powercap_export {
	char *dir;
	char *host;
	struct export_vm *vm;
	size_t n, cap;
};

/*
 * Before anything is loaded: DIR made where missing (with its parents), and a directory we
 * can write. 0, or -errno after one line naming DIR and what to do.
 */
int export_powercap_check(const char *dir);
void export_powercap_init(struct powercap_export *e, const char *dir, const char *host);
void export_powercap_free(struct powercap_export *e);
/*
 * One interval: each VM's energy (its rows' package and dram joules after the split, summed
 * over sockets) added to its counters and written. A VM without rows this interval is not
 * written. Nothing is written for an interval without a package reading: no zero is
 * presented as a measurement. Write failures are one warning per VM.
 */
void export_powercap_interval(struct powercap_export *e, const struct bm_interval *iv);

/* Pure, for tests. */
/* name as one path component: '/', control characters and a leading '.' become '_'. */
void export_dir_name(const char *name, char *out, size_t size);
/* Advance a counter by joules: whole microjoules into *uj (wrapping past the range), the
 * fraction kept in *frac_uj. */
void export_advance(uint64_t *uj, double *frac_uj, double joules);

#endif
