// SPDX-License-Identifier: BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "util.h"

void account_init(struct account *a, const struct bm_topology *topo, int nr_events)
{
	memset(a, 0, sizeof(*a));
	a->topo = topo;
	a->nr_events = nr_events;
	a->stride = (bm_acct_size((__u32)nr_events) + 7) & ~(size_t)7;
	a->reset = bm_calloc((size_t)topo->nr_cpus, sizeof(*a->reset));
	idvec_init(&a->targets, sizeof(struct account_target));
}

static void target_free(struct account_target *t)
{
	free(t->prev);
	free(t->cur);
}

void account_free(struct account *a)
{
	for (size_t i = 0; i < a->targets.n; i++)
		target_free(idvec_at(&a->targets, i));
	idvec_free(&a->targets);
	free(a->reset);
	a->reset = NULL;
}

void account_begin(struct account *a)
{
	for (size_t i = 0; i < a->targets.n; i++) {
		struct account_target *t = idvec_at(&a->targets, i);

		memset(t->cur, 0, (size_t)a->topo->nr_sockets * sizeof(*t->cur));
		t->active = false;
	}
	memset(a->reset, 0, (size_t)a->topo->nr_cpus * sizeof(*a->reset));
}

void account_reset_cpus(struct account *a, const bool *cpus)
{
	for (int cpu = 0; cpus && cpu < a->topo->nr_cpus; cpu++)
		a->reset[cpu] |= cpus[cpu];
}

static void add_cpu(struct account *a, struct account_target *t, struct bm_acct *prev,
		    const struct bm_acct *now, int socket)
{
	struct bm_sample *s = &t->cur[socket];
	uint64_t d;

	d = bm_delta(prev->cpu_ns, now->cpu_ns);
	s->cpu_ns += d;
	if (d)
		t->active = true;
	prev->cpu_ns = now->cpu_ns;
	for (int e = 0; e < a->nr_events; e++) {
		const struct bm_counter *n = &now->ev[e];
		struct bm_counter *p = &prev->ev[e];

		d = bm_scale(bm_delta(p->value, n->value), bm_delta(p->enabled, n->enabled),
			     bm_delta(p->running, n->running));
		s->ev[e] += d;
		if (d)
			t->active = true;
		*p = *n;
	}
}

struct account_target *account_update(struct account *a, uint64_t id, const void *percpu)
{
	const struct bm_topology *topo = a->topo;
	struct account_target *t;
	int created;

	t = idvec_get(&a->targets, id, &created);
	if (created) {
		/* Map entries start at zero, so the first reading is all delta. */
		t->prev = bm_calloc((size_t)topo->nr_cpus, a->stride);
		t->cur = bm_calloc((size_t)topo->nr_sockets, sizeof(*t->cur));
	}
	for (int cpu = 0; cpu < topo->nr_cpus; cpu++) {
		const struct bm_acct *now = (const void *)((const char *)percpu + cpu * a->stride);
		struct bm_acct *prev = (void *)((char *)t->prev + cpu * a->stride);
		int socket = topo->socket[cpu];

		/*
		 * A CPU not online since the start charges nothing, one reset is past: keep
		 * their sums so a later delta stays right.
		 */
		if (socket < 0 || a->reset[cpu]) {
			memcpy(prev, now, a->stride);
			continue;
		}
		add_cpu(a, t, prev, now, socket);
	}
	return t;
}

struct account_target *account_add(struct account *a, uint64_t id, int socket,
				   const struct bm_sample *s)
{
	struct account_target *t;
	int created;

	t = idvec_get(&a->targets, id, &created);
	if (created)
		t->cur = bm_calloc((size_t)a->topo->nr_sockets, sizeof(*t->cur));
	t->cur[socket].cpu_ns += s->cpu_ns;
	for (int e = 0; e < a->nr_events; e++) {
		t->cur[socket].ev[e] += s->ev[e];
	}
	t->active = true;
	return t;
}

void account_forget(struct account *a, uint64_t id)
{
	struct account_target *t = idvec_find(&a->targets, id);

	if (!t)
		return;
	target_free(t);
	idvec_remove(&a->targets, id);
}
