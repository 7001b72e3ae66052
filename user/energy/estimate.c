// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "estimate.h"

const double estimate_load[BM_EST_POINTS] = { 0, 0.1, 0.5, 1 };
const double estimate_tdp_ratio[BM_EST_POINTS] = { 0.12, 0.32, 0.75, 1.02 };

/* The value of a "key : value" line of cpuinfo, or NULL where the line is another key's. */
static const char *cpuinfo_value(const char *line, const char *key)
{
	size_t n = strlen(key);
	const char *p;

	if (strncmp(line, key, n) || (line[n] != ' ' && line[n] != '\t' && line[n] != ':'))
		return NULL;
	p = strchr(line + n, ':');
	if (!p)
		return NULL;
	for (p++; *p == ' ' || *p == '\t'; p++)
		;
	return p;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || isspace((unsigned char)p[-1])) &&
		    (!p[n] || isspace((unsigned char)p[n])))
			return true;
	return false;
}

int estimate_read_cpuinfo(const char *path, struct cpu_ident *id)
{
	char *line = NULL;
	size_t cap = 0;
	bool seen_model = false, seen_flags = false;
	FILE *f = fopen(path, "re");
	const char *v;
	ssize_t len;

	memset(id, 0, sizeof(*id));
	if (!f)
		return -errno;
	/* The first processor's lines: one blank line ends it. */
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len && (seen_model || seen_flags || id->part))
			break;
		if (!seen_model && (v = cpuinfo_value(line, "model name"))) {
			snprintf(id->model, sizeof(id->model), "%s", v);
			seen_model = true;
		} else if (!seen_flags && ((v = cpuinfo_value(line, "flags")) ||
					   (v = cpuinfo_value(line, "Features")))) {
			id->hypervisor = has_word(v, "hypervisor");
			seen_flags = true;
		} else if ((v = cpuinfo_value(line, "CPU implementer")) && !id->implementer) {
			id->implementer = (unsigned int)strtoul(v, NULL, 0);
		} else if ((v = cpuinfo_value(line, "CPU part")) && !id->part) {
			id->part = (unsigned int)strtoul(v, NULL, 0);
		}
	}
	free(line);
	fclose(f);
	return 0;
}

/*
 * The model name as words: "(R)", "(TM)" and "(tm)" dropped, so that "Xeon(R)" is "Xeon".
 * Returns the number of words put in words[], each pointing into buf.
 */
static int model_words(const char *model, char *buf, size_t len, char **words, int max)
{
	size_t o = 0;
	int n = 0;

	for (const char *p = model; *p && o + 1 < len; p++) {
		if (*p == '(' && (!strncasecmp(p, "(R)", 3) || !strncasecmp(p, "(TM)", 4))) {
			p = strchr(p, ')');
			buf[o++] = ' ';
			continue;
		}
		buf[o++] = *p;
	}
	buf[o] = '\0';
	for (char *save, *w = strtok_r(buf, " \t", &save); w && n < max;
	     w = strtok_r(NULL, " \t", &save))
		words[n++] = w;
	return n;
}

/* How many words match has where each is a word of the model name; 0 where one is not. */
static int model_matches(char *const *words, int n, const char *match)
{
	char buf[128], *save;
	int nmatch = 0;

	snprintf(buf, sizeof(buf), "%s", match);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save), nmatch++) {
		int i;

		for (i = 0; i < n && strcasecmp(words[i], w); i++)
			;
		if (i == n)
			return 0;
	}
	return nmatch;
}

const struct cpu_part *estimate_find(const struct cpu_ident *id)
{
	char buf[sizeof(id->model)], *words[32], key[32];
	const struct cpu_part *best = NULL;
	int best_words = 0;
	int n = model_words(id->model, buf, sizeof(buf), words,
			    (int)(sizeof(words) / sizeof(*words)));

	if (!id->model[0] && id->part) {
		snprintf(key, sizeof(key), "0x%02x:0x%03x", id->implementer, id->part);
		for (size_t i = 0; i < cpu_parts_n; i++)
			if (!strcasecmp(cpu_parts[i].match, key))
				return &cpu_parts[i];
		return NULL;
	}
	/* The part that says the most: "Xeon E5-2680 v4" over a "Xeon E5-2680". */
	for (size_t i = 0; n && i < cpu_parts_n; i++) {
		int m = strncmp(cpu_parts[i].match, "0x", 2)
				? model_matches(words, n, cpu_parts[i].match)
				: 0;

		if (m > best_words) {
			best = &cpu_parts[i];
			best_words = m;
		}
	}
	return best;
}

void estimate_cpu_text(const struct cpu_ident *id, char *buf, size_t len)
{
	if (id->model[0])
		snprintf(buf, len, "%s", id->model);
	else if (id->part)
		snprintf(buf, len, "CPU implementer 0x%02x part 0x%03x", id->implementer, id->part);
	else
		snprintf(buf, len, "(no model name in cpuinfo)");
}

bool estimate_part_per_core(const struct cpu_part *p)
{
	return !strncmp(p->match, "0x", 2);
}

/* The curve of a TDP: the Teads/Boavizta ratios. */
static void curve_of_tdp(struct estimate *e, double tdp)
{
	for (int i = 0; i < BM_EST_POINTS; i++)
		e->point_w[i] = estimate_tdp_ratio[i] * tdp;
}

int estimate_setup(struct estimate *e, const struct cpu_ident *id,
		   const struct estimate_request *req, int cpus_per_socket, char *why,
		   size_t whylen)
{
	const struct cpu_part *p = estimate_find(id);
	bool arm = p && estimate_part_per_core(p);
	double lo, hi, scale = 1, p0, span;
	char cpu[160];

	memset(e, 0, sizeof(*e));
	estimate_cpu_text(id, cpu, sizeof(cpu));
	if (req->tdp_w > 0) {
		curve_of_tdp(e, req->tdp_w);
		snprintf(e->method, sizeof(e->method), "Teads curve of --tdp %g W", req->tdp_w);
	} else if (p && (id->hypervisor || arm)) {
		/* A share of the part: the host's in a VM, the SoC's per core on Arm. */
		curve_of_tdp(e, p->tdp_w / p->threads);
		e->per_cpu = true;
		snprintf(e->method, sizeof(e->method),
			 "Teads curve, per %s share of %s TDP, %g W / %d",
			 id->hypervisor ? "vCPU" : "core", p->name, p->tdp_w, p->threads);
	} else if (p) {
		curve_of_tdp(e, p->tdp_w);
		snprintf(e->method, sizeof(e->method), "Teads curve of %s TDP %g W", p->name,
			 p->tdp_w);
	} else if (id->hypervisor) {
		for (int i = 0; i < BM_EST_POINTS; i++)
			e->point_w[i] =
				BM_CCF_MIN_W + estimate_load[i] * (BM_CCF_MAX_W - BM_CCF_MIN_W);
		e->per_cpu = true;
		snprintf(e->method, sizeof(e->method),
			 "Cloud Carbon Footprint average per vCPU, %g-%g W", BM_CCF_MIN_W,
			 BM_CCF_MAX_W);
	} else if (req->idle_w >= 0 && req->max_w > 0) {
		curve_of_tdp(e, 1);
		snprintf(e->method, sizeof(e->method), "Teads curve");
	} else {
		snprintf(why, whylen,
			 "CPU '%s' is not in bpfmeter's table: give --tdp W to estimate; CPU "
			 "shares only",
			 cpu);
		return -ENOENT;
	}
	if (req->idle_w < 0 && req->max_w < 0)
		return 0;
	/* Watts given are a socket's: per CPU where the curve is. */
	if (e->per_cpu)
		scale = cpus_per_socket > 0 ? 1.0 / cpus_per_socket : 1;
	lo = req->idle_w >= 0 ? req->idle_w * scale : e->point_w[0];
	hi = req->max_w >= 0 ? req->max_w * scale : e->point_w[BM_EST_POINTS - 1];
	if (!(lo < hi)) {
		snprintf(why, whylen,
			 "--estimate-idle %g W is not below the estimate's maximum %g W: give "
			 "--estimate-max above it",
			 lo / scale, hi / scale);
		return -EINVAL;
	}
	/* The same shape between the watts given. */
	p0 = e->point_w[0];
	span = e->point_w[BM_EST_POINTS - 1] - p0;
	for (int i = 0; i < BM_EST_POINTS; i++)
		e->point_w[i] = lo + (hi - lo) * (e->point_w[i] - p0) / span;
	snprintf(e->method + strlen(e->method), sizeof(e->method) - strlen(e->method),
		 ", scaled to %g-%g W a socket", lo / scale, hi / scale);
	return 0;
}

double estimate_power(const struct estimate *e, double u)
{
	int i;

	u = u < 0 ? 0 : u > 1 ? 1 : u;
	for (i = 1; i < BM_EST_POINTS - 1 && u > estimate_load[i]; i++)
		;
	return e->point_w[i - 1] + (e->point_w[i] - e->point_w[i - 1]) *
					   (u - estimate_load[i - 1]) /
					   (estimate_load[i] - estimate_load[i - 1]);
}

double estimate_socket_power(const struct estimate *e, double u, int cpus)
{
	return estimate_power(e, u) * (e->per_cpu ? cpus : 1);
}
