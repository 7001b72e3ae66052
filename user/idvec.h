/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_IDVEC_H
#define BM_IDVEC_H

#include <stddef.h>
#include <stdint.h>

/*
 * A vector of fixed-size elements kept sorted by a uint64_t id that is each element's first
 * member: O(log n) lookups, inserts move the tail (new ids are rare next to lookups). An
 * index built by idvec_index() (a hash of the ids to their places) makes lookups O(1) until
 * the next insert or removal, which leaves it stale until it is built again.
 */
struct idvec {
	void *v;
	size_t n, cap, elem;
	uint32_t *index; /* [index_mask + 1] place + 1 of an id, 0 for none */
	size_t index_mask;
	int index_ok;
};

void idvec_init(struct idvec *iv, size_t elem_size);
void idvec_free(struct idvec *iv);
void *idvec_find(const struct idvec *iv, uint64_t id);
/* The element for id, inserted zeroed (but for its id) when missing. */
void *idvec_get(struct idvec *iv, uint64_t id, int *created);
void idvec_remove(struct idvec *iv, uint64_t id);
void *idvec_at(const struct idvec *iv, size_t i);
/* Build the index (cheap when it is current): before a run of lookups. */
void idvec_index(struct idvec *iv);

#endif
