// SPDX-License-Identifier: BSD-2-Clause
/*
 * --export-powercap: the energy attributed to each VM, as a powercap tree its guest reads
 * (see export_powercap.h for the layout).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "energy.h"
#include "export_powercap.h"
#include "labels.h"
#include "util.h"

static const char *const zone_dir[EXPORT_NR_ZONES] = { "intel-rapl:0",
						       "intel-rapl:0/intel-rapl:0:0" };
static const char *const zone_name[EXPORT_NR_ZONES] = { "package-0", "dram" };
static const enum bm_domain zone_domain[EXPORT_NR_ZONES] = { BM_DOMAIN_PACKAGE, BM_DOMAIN_DRAM };

int export_powercap_check(const char *dir)
{
	struct stat st;
	int err;

	if (!stat(dir, &st) && !S_ISDIR(st.st_mode)) {
		bm_err("--export-powercap %s: not a directory: give a directory (made where "
		       "missing)",
		       dir);
		return -ENOTDIR;
	}
	err = bm_mkdir_p(dir, 0755);
	if (err) {
		bm_err("--export-powercap %s: cannot make the directory: %s: give a directory "
		       "bpfmeter can make and write",
		       dir, strerror(-err));
		return err;
	}
	if (access(dir, W_OK | X_OK)) {
		err = -errno;
		bm_err("--export-powercap %s: cannot write there: %s: give a directory bpfmeter "
		       "can write",
		       dir, strerror(-err));
		return err;
	}
	return 0;
}

void export_powercap_init(struct powercap_export *e, const char *dir, const char *host)
{
	memset(e, 0, sizeof(*e));
	e->dir = bm_strdup(dir);
	e->host = bm_strdup(host);
}

void export_powercap_free(struct powercap_export *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->vm[i].name);
		free(e->vm[i].dir);
	}
	free(e->vm);
	free(e->dir);
	free(e->host);
	memset(e, 0, sizeof(*e));
}

void export_dir_name(const char *name, char *out, size_t size)
{
	size_t n = 0;

	if (!size)
		return;
	for (; name[n] && n + 1 < size; n++) {
		unsigned char c = (unsigned char)name[n];

		out[n] = c == '/' || c < 0x20 || c == 0x7f || (!n && c == '.') ? '_' : (char)c;
	}
	out[n] = '\0';
	if (!n && size > 1)
		snprintf(out, size, "_");
}

void export_advance(uint64_t *uj, double *frac_uj, double joules)
{
	const uint64_t modulus = BM_EXPORT_MAX_ENERGY_RANGE_UJ + 1;
	double add = *frac_uj + (joules > 0 ? joules * 1e6 : 0);
	double whole = floor(add);

	*frac_uj = add - whole;
	*uj = (*uj + (uint64_t)fmod(whole, (double)modulus)) % modulus;
}

static int write_zone_file(const struct export_vm *v, int z, const char *file, const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/%s", v->dir, zone_dir[z], file);
	return bm_replace_file(path, NULL, text, strlen(text), 0644);
}

static int write_energy(const struct export_vm *v, int z)
{
	char text[32];

	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)v->uj[z]);
	return write_zone_file(v, z, "energy_uj", text);
}

/* The tree of a VM first seen: zones, names, ranges, the marker. */
static int make_tree(const struct powercap_export *e, struct export_vm *v)
{
	char path[PATH_MAX], text[1024], range[32];
	int err = 0;

	snprintf(range, sizeof(range), "%llu\n", BM_EXPORT_MAX_ENERGY_RANGE_UJ);
	for (int z = 0; z < EXPORT_NR_ZONES && !err; z++) {
		uint64_t was;

		if (z == EXPORT_DRAM && !v->dram)
			break;
		snprintf(path, sizeof(path), "%s/%s", v->dir, zone_dir[z]);
		err = bm_mkdir_p(path, 0755);
		/* A tree left by an earlier session goes on from where it was: monotonic. */
		snprintf(path, sizeof(path), "%s/%s/energy_uj", v->dir, zone_dir[z]);
		if (!err && !bm_read_file(path, text, sizeof(text)) &&
		    !bm_parse_u64(text, 0, BM_EXPORT_MAX_ENERGY_RANGE_UJ, &was))
			v->uj[z] = was;
		snprintf(text, sizeof(text), "%s\n", zone_name[z]);
		if (!err)
			err = write_zone_file(v, z, "name", text);
		if (!err)
			err = write_zone_file(v, z, "max_energy_range_uj", range);
	}
	snprintf(path, sizeof(path), "%s/" BM_PASSTHROUGH_MARKER, v->dir);
	snprintf(text, sizeof(text),
		 "host %s\n"
		 "vm %s\n"
		 "The energy bpfmeter on host %s attributes to VM %s, split from the host's "
		 "measured RAPL energy: not this machine's own RAPL.\n",
		 e->host, v->name, e->host, v->name);
	if (!err)
		err = bm_replace_file(path, NULL, text, strlen(text), 0644);
	return err;
}

static struct export_vm *vm_get(struct powercap_export *e, const char *name, bool dram)
{
	char base[NAME_MAX + 1];
	struct export_vm *v;

	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->vm[i].name, name))
			return &e->vm[i];
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->vm = bm_realloc_array(e->vm, e->cap, sizeof(*e->vm));
	}
	v = &e->vm[e->n++];
	memset(v, 0, sizeof(*v));
	v->name = bm_strdup(name);
	export_dir_name(name, base, sizeof(base));
	if (asprintf(&v->dir, "%s/%s", e->dir, base) < 0) {
		bm_err("out of memory");
		exit(1);
	}
	v->dram = dram;
	return v;
}

static void vm_failed(struct export_vm *v, int err)
{
	if (v->warned)
		return;
	v->warned = true;
	bm_warn("--export-powercap: cannot write the tree of VM %s in %s: %s; its guest's energy "
		"stops until it can",
		v->name, v->dir, strerror(-err));
}

void export_powercap_interval(struct powercap_export *e, const struct bm_interval *iv)
{
	unsigned int measured = 0;

	for (int i = 0; i < iv->nenergy; i++)
		measured |= 1u << iv->energy[i].domain;
	if (!(measured & (1u << BM_DOMAIN_PACKAGE)))
		return;
	/* Every VM's rows first: a VM runs on several sockets and in several cgroups. */
	for (size_t i = 0; i < iv->n; i++) {
		const struct bm_labels *l = &iv->rows[i].target->labels;

		if (l->kind == BM_KIND_VM && l->vm[0])
			vm_get(e, l->vm, measured & (1u << BM_DOMAIN_DRAM));
	}
	for (size_t k = 0; k < e->n; k++) {
		struct export_vm *v = &e->vm[k];
		double j[EXPORT_NR_ZONES] = { 0 };
		bool ran = false;
		int err = 0;

		for (size_t i = 0; i < iv->n; i++) {
			const struct bm_row *r = &iv->rows[i];
			const struct bm_labels *l = &r->target->labels;

			if (l->kind != BM_KIND_VM || strcmp(l->vm, v->name))
				continue;
			ran = true;
			for (int z = 0; z < EXPORT_NR_ZONES; z++)
				if (r->domains & (1u << zone_domain[z]))
					j[z] += r->s.energy_j[zone_domain[z]];
		}
		if (!ran)
			continue; /* ended, or did not run: its tree stays as it is */
		if (!v->made)
			err = make_tree(e, v);
		v->made = !err;
		for (int z = 0; z < EXPORT_NR_ZONES && !err; z++) {
			if (z == EXPORT_DRAM && !v->dram)
				break;
			export_advance(&v->uj[z], &v->frac_uj[z], j[z]);
			err = write_energy(v, z);
		}
		if (err) {
			vm_failed(v, err);
			v->made = false; /* made again at its next interval */
		}
	}
}
