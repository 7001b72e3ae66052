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
	free(iv->index);
	iv->v = NULL;
	iv->index = NULL;
	iv->n = iv->cap = iv->index_mask = 0;
	iv->index_ok = 0;
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

/* Where id's probe starts in the index. */
static size_t slot_of(const struct idvec *iv, uint64_t id)
{
	return bm_hash_slot(id, iv->index_mask);
}

/* Below this many elements a binary search is as fast: no index. */
#define IDVEC_INDEX_MIN 64

void idvec_index(struct idvec *iv)
{
	size_t want = 2 * IDVEC_INDEX_MIN;

	if (iv->index_ok || iv->n < IDVEC_INDEX_MIN || iv->n >= UINT32_MAX / 2)
		return;
	/* At most half full: short probes. */
	while (want < 2 * iv->n)
		want *= 2;
	if (want - 1 != iv->index_mask || !iv->index) {
		free(iv->index);
		iv->index = bm_calloc(want, sizeof(*iv->index));
		iv->index_mask = want - 1;
	} else {
		memset(iv->index, 0, want * sizeof(*iv->index));
	}
	for (size_t i = 0; i < iv->n; i++) {
		size_t j = slot_of(iv, id_at(iv, i));

		while (iv->index[j])
			j = (j + 1) & iv->index_mask;
		iv->index[j] = (uint32_t)(i + 1);
	}
	iv->index_ok = 1;
}

/* The element of id through the index, which is current; NULL where there is none. */
static void *indexed(const struct idvec *iv, uint64_t id)
{
	for (size_t j = slot_of(iv, id); iv->index[j]; j = (j + 1) & iv->index_mask) {
		void *e = idvec_at(iv, iv->index[j] - 1);

		if (!memcmp(e, &id, sizeof(id)))
			return e;
	}
	return NULL;
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
	size_t i;

	if (iv->index_ok)
		return indexed(iv, id);
	i = lower_bound(iv, id);

	return i < iv->n && id_at(iv, i) == id ? idvec_at(iv, i) : NULL;
}

void *idvec_get(struct idvec *iv, uint64_t id, int *created)
{
	size_t i;
	void *e;

	if (created)
		*created = 0;
	if (iv->index_ok && (e = indexed(iv, id)))
		return e;
	i = lower_bound(iv, id);
	if (i < iv->n && id_at(iv, i) == id)
		return idvec_at(iv, i);
	iv->index_ok = 0; /* the places after i move */
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
	iv->index_ok = 0;
}
