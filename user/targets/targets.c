// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfmeter.h"
#include "report.h"
#include "targets.h"
#include "util.h"

/* The index entry: targets live on the heap, so rows may point at them while others come. */
struct target_ref {
	uint64_t id;
	struct bm_target *t;
};

static const char *special_name(uint64_t id)
{
	if (id == BM_KEY_IDLE)
		return "idle";
	return id == BM_KEY_STEAL ? "steal" : "overflow";
}

int targets_special_kind(uint64_t id)
{
	if (id == BM_KEY_IDLE)
		return BM_TARGET_IDLE;
	if (id == BM_KEY_STEAL)
		return BM_TARGET_STEAL;
	if (id == BM_KEY_OVERFLOW)
		return BM_TARGET_OVERFLOW;
	return -1;
}

void targets_init(struct targets *ts, enum bm_target_kind kind, enum group_by g, int depth)
{
	memset(ts, 0, sizeof(*ts));
	ts->kind = kind;
	ts->group_by = g;
	ts->group_depth = depth;
	idvec_init(&ts->ids, sizeof(struct target_ref));
}

static void target_free(struct bm_target *t)
{
	if (t) {
		free(t->name);
		free(t->csv);
		free(t);
	}
}

void targets_free(struct targets *ts)
{
	for (size_t i = 0; i < ts->ids.n; i++)
		target_free(targets_at(ts, i));
	idvec_free(&ts->ids);
	for (size_t i = 0; i < ts->ngroups; i++)
		target_free(ts->groups[i]);
	free(ts->groups);
	for (size_t i = 0; i < ts->ndeparted; i++)
		target_free(ts->departed[i]);
	free(ts->departed);
	memset(ts, 0, sizeof(*ts));
}

struct bm_target *targets_find(const struct targets *ts, uint64_t id)
{
	struct target_ref *r = idvec_find(&ts->ids, id);

	return r ? r->t : NULL;
}

struct bm_target *targets_find_next(const struct targets *ts, uint64_t id, size_t *pos)
{
	const struct target_ref *v = ts->ids.v;
	size_t n = ts->ids.n, i = *pos < n ? *pos : n, lo, hi;

	/* Out of order: from the start. */
	if (i && v[i - 1].id >= id)
		i = 0;
	/* The next id is most often near: a few steps, then halving what is left. */
	for (int k = 0; k < 8 && i < n && v[i].id < id; k++)
		i++;
	for (lo = i, hi = n; lo < hi && v[lo].id < id;) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	i = lo;
	*pos = i;
	return i < n && v[i].id == id ? v[i].t : NULL;
}

struct bm_target *targets_at(const struct targets *ts, size_t i)
{
	return ((struct target_ref *)idvec_at(&ts->ids, i))->t;
}

static void name_target(struct bm_target *t, const char *name)
{
	if (t->name && !strcmp(t->name, name))
		return;
	free(t->name);
	t->name = bm_strdup(name);
	labels_parse(t->name, &t->labels);
	free(t->csv);
	t->csv = NULL;
}

struct bm_target *targets_get(struct targets *ts, uint64_t id, bool *created)
{
	struct target_ref *r;
	int special = targets_special_kind(id), made;

	r = idvec_get(&ts->ids, id, &made);
	if (created)
		*created = made;
	if (!made)
		return r->t;
	r->t = bm_calloc(1, sizeof(*r->t));
	r->t->id = id;
	r->t->kind = special >= 0 ? (enum bm_target_kind)special : ts->kind;
	if (special >= 0)
		name_target(r->t, special_name(id));
	return r->t;
}

struct bm_target *targets_group(const struct targets *ts, const char *key)
{
	for (size_t i = 0; i < ts->ngroups; i++)
		if (!strcmp(ts->groups[i]->name, key))
			return ts->groups[i];
	return NULL;
}

static struct bm_target *group_get(struct targets *ts, const char *key, uint64_t id)
{
	struct bm_target *g = targets_group(ts, key);

	if (g)
		return g;
	ts->groups = bm_realloc_array(ts->groups, ts->ngroups + 1, sizeof(*ts->groups));
	g = bm_calloc(1, sizeof(*g));
	g->id = id; /* until resolved: the id of the member that made it */
	g->kind = BM_TARGET_GROUP;
	name_target(g, key);
	ts->groups[ts->ngroups++] = g;
	return g;
}

void targets_set_name(struct targets *ts, struct bm_target *t, const char *name)
{
	char key[4096];
	bool renamed = !t->name || strcmp(t->name, name);

	if (!renamed)
		return;
	name_target(t, name);
	/* Only cgroups roll up: processes and the special targets stand alone. */
	if (t->kind != BM_TARGET_CGROUP || ts->group_by == GROUP_BY_CGROUP ||
	    labels_group_key(t->name, &t->labels, ts->group_by, ts->group_depth, key,
			     sizeof(key))) {
		t->group = NULL;
		return;
	}
	t->group = group_get(ts, key, t->id);
	/* A new member may mean its group's cgroup was made anew: look again. */
	t->group->group_pending = true;
}

void targets_resolve_groups(struct targets *ts,
			    int (*resolve)(const char *key, uint64_t *id, void *ctx), void *ctx)
{
	for (size_t i = 0; i < ts->ngroups; i++) {
		struct bm_target *g = ts->groups[i];
		uint64_t id = g->id;

		if (!g->group_pending)
			continue;
		g->group_pending = false;
		if (!resolve(g->name, &id, ctx))
			g->id = id;
	}
}

void targets_set_group_id(struct targets *ts, const char *key, uint64_t id)
{
	struct bm_target *g = group_get(ts, key, id);

	g->id = id;
	g->group_pending = false;
}

void targets_remove(struct targets *ts, uint64_t id)
{
	struct bm_target *t = targets_find(ts, id);

	if (!t)
		return;
	idvec_remove(&ts->ids, id);
	/* Under --group-by the summary shows the group, which stays. */
	if (!ts->keep_departed || !t->total.cpu_ns || t->group) {
		target_free(t);
		return;
	}
	t->gone = true;
	ts->departed = bm_realloc_array(ts->departed, ts->ndeparted + 1, sizeof(*ts->departed));
	ts->departed[ts->ndeparted++] = t;
}

size_t targets_summary_cap(const struct targets *ts)
{
	return ts->ids.n + ts->ngroups + ts->ndeparted;
}

static size_t summary_row(struct bm_row *rows, size_t n, struct bm_target *t, unsigned int domains)
{
	if (t->group || !t->total.cpu_ns)
		return n;
	rows[n] = (struct bm_row){ .target = t, .socket = -1, .s = t->total, .domains = domains };
	return n + 1;
}

size_t targets_summary(const struct targets *ts, struct bm_row *rows, unsigned int domains)
{
	size_t n = 0;

	for (size_t i = 0; i < ts->ndeparted; i++)
		n = summary_row(rows, n, ts->departed[i], domains);
	for (size_t i = 0; i < ts->ids.n; i++)
		n = summary_row(rows, n, targets_at(ts, i), domains);
	for (size_t i = 0; i < ts->ngroups; i++)
		n = summary_row(rows, n, ts->groups[i], domains);
	report_sort(rows, n);
	return n;
}
