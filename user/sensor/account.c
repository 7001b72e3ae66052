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
	a->reset = bm_calloc((size_t)topo->nr_cpus, sizeof(*a->reset));
	idvec_init(&a->targets, sizeof(struct account_target) +
					(size_t)topo->nr_sockets * sizeof(struct bm_sample));
}

void account_free(struct account *a)
{
	idvec_free(&a->targets);
	free(a->reset);
	a->reset = NULL;
}

void account_begin(struct account *a)
{
	for (size_t i = 0; i < a->targets.n; i++) {
		struct account_target *t = idvec_at(&a->targets, i);

		/* One that was not charged holds zeros still. */
		if (t->active)
			memset(t->cur, 0, (size_t)a->topo->nr_sockets * sizeof(*t->cur));
		t->active = false;
	}
	memset(a->reset, 0, (size_t)a->topo->nr_cpus * sizeof(*a->reset));
	memset(a->enabled, 0, sizeof(a->enabled));
	memset(a->running, 0, sizeof(a->running));
	/* A charge per (target, CPU) pair follows: found by hash, not by binary search. */
	idvec_index(&a->targets);
}

void account_reset_cpus(struct account *a, const bool *cpus)
{
	for (int cpu = 0; cpus && cpu < a->topo->nr_cpus; cpu++)
		a->reset[cpu] |= cpus[cpu];
}

struct account_target *account_charge(struct account *a, uint64_t id, int cpu,
				      const struct bm_acct *sums)
{
	const struct bm_topology *topo = a->topo;
	struct account_target *t;
	struct bm_sample *s;
	int created, socket;

	if (cpu < 0 || cpu >= topo->nr_cpus || topo->socket[cpu] < 0 || a->reset[cpu])
		return NULL;
	socket = topo->socket[cpu];
	t = idvec_get(&a->targets, id, &created);
	if (created)
		t->fresh = true;
	s = &t->cur[socket];
	s->cpu_ns += sums->cpu_ns;
	if (sums->cpu_ns)
		t->active = true;
	for (int e = 0; e < a->nr_events; e++) {
		const struct bm_counter *c = &sums->ev[e];
		uint64_t d = bm_scale(c->value, c->enabled, c->running);

		a->enabled[e] += c->enabled;
		a->running[e] += c->running < c->enabled ? c->running : c->enabled;
		s->ev[e] += d;
		if (d)
			t->active = true;
	}
	return t;
}

double account_counted_share(const struct account *a, int e)
{
	if (e < 0 || e >= a->nr_events || !a->enabled[e])
		return 1;
	return (double)a->running[e] / (double)a->enabled[e];
}

struct account_target *account_add(struct account *a, uint64_t id, int socket,
				   const struct bm_sample *s)
{
	struct account_target *t = idvec_get(&a->targets, id, NULL);

	t->cur[socket].cpu_ns += s->cpu_ns;
	for (int e = 0; e < a->nr_events; e++) {
		t->cur[socket].ev[e] += s->ev[e];
	}
	t->active = true;
	return t;
}

void account_forget(struct account *a, uint64_t id)
{
	idvec_remove(&a->targets, id);
}
