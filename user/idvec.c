// SPDX-License-Identifier: BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "idvec.h"
#include "util.h"

void idvec_init(struct idvec *iv, size_t elem_size)
{
	memset(iv, 0, sizeof(*iv));
	iv->elem = elem_size;
}

void idvec_free(struct idvec *iv)
{
	free(iv->v);
	iv->v = NULL;
	iv->n = iv->cap = 0;
}

void *idvec_at(const struct idvec *iv, size_t i)
{
	return (char *)iv->v + i * iv->elem;
}

static uint64_t id_at(const struct idvec *iv, size_t i)
{
	uint64_t id;

	memcpy(&id, idvec_at(iv, i), sizeof(id));
	return id;
}

static size_t lower_bound(const struct idvec *iv, uint64_t id)
{
	size_t lo = 0, hi = iv->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (id_at(iv, mid) < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *idvec_find(const struct idvec *iv, uint64_t id)
{
	size_t i = lower_bound(iv, id);

	return i < iv->n && id_at(iv, i) == id ? idvec_at(iv, i) : NULL;
}

void *idvec_get(struct idvec *iv, uint64_t id, int *created)
{
	size_t i = lower_bound(iv, id);
	void *e;

	if (created)
		*created = 0;
	if (i < iv->n && id_at(iv, i) == id)
		return idvec_at(iv, i);
	if (iv->n == iv->cap) {
		iv->cap = iv->cap ? iv->cap * 2 : 64;
		iv->v = bm_realloc_array(iv->v, iv->cap, iv->elem);
	}
	e = idvec_at(iv, i);
	memmove((char *)e + iv->elem, e, (iv->n - i) * iv->elem);
	memset(e, 0, iv->elem);
	memcpy(e, &id, sizeof(id));
	iv->n++;
	if (created)
		*created = 1;
	return e;
}

void idvec_remove(struct idvec *iv, uint64_t id)
{
	size_t i = lower_bound(iv, id);

	if (i >= iv->n || id_at(iv, i) != id)
		return;
	memmove(idvec_at(iv, i), idvec_at(iv, i + 1), (iv->n - i - 1) * iv->elem);
	iv->n--;
}
