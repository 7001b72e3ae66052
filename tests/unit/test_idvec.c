// SPDX-License-Identifier: BSD-2-Clause
/* idvec: a vector of elements sorted by their leading uint64_t id. */
#include <stdint.h>
#include <stdlib.h>

#include "idvec.h"
#include "unit.h"

struct elem {
	uint64_t id;
	uint32_t val;
	char tag[12];
};

static uint64_t id_at(const struct idvec *iv, size_t i)
{
	return ((const struct elem *)idvec_at(iv, i))->id;
}

/* Strictly increasing ids: sorted and without duplicates. */
static int sorted(const struct idvec *iv)
{
	for (size_t i = 1; i < iv->n; i++)
		if (id_at(iv, i - 1) >= id_at(iv, i))
			return 0;
	return 1;
}

static void test_insert_out_of_order(void)
{
	static const uint64_t ids[] = { 50, 10, 30, 70, 20, 40, 60 };
	struct idvec iv;

	idvec_init(&iv, sizeof(struct elem));
	CHECK_EQ_U64(iv.n, 0);
	CHECK_EQ_U64(iv.elem, sizeof(struct elem));
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		int created = -1;
		struct elem *e = idvec_get(&iv, ids[i], &created);

		CHECK_EQ_U64(created, 1);
		CHECK_EQ_U64(e->id, ids[i]);
		/* New elements are zeroed but for their id. */
		CHECK_EQ_U64(e->val, 0);
		CHECK_EQ_U64(e->tag[0] | e->tag[11], 0);
		e->val = (uint32_t)ids[i] * 3;
		e->tag[0] = 'x';
	}
	CHECK_EQ_U64(iv.n, 7);
	CHECK(sorted(&iv));
	for (size_t i = 0; i < iv.n; i++) {
		const struct elem *e = idvec_at(&iv, i);

		CHECK_EQ_U64(e->id, 10 * (i + 1));
		/* Each value moved with its id. */
		CHECK_EQ_U64(e->val, e->id * 3);
	}
	idvec_free(&iv);
	CHECK(iv.v == NULL && iv.n == 0 && iv.cap == 0);
}

static void test_get_existing(void)
{
	struct idvec iv;
	struct elem *a, *b;
	int created = -1;

	idvec_init(&iv, sizeof(struct elem));
	a = idvec_get(&iv, 42, &created);
	CHECK_EQ_U64(created, 1);
	a->val = 7;
	idvec_get(&iv, 41, NULL);
	a = idvec_find(&iv, 42);
	b = idvec_get(&iv, 42, &created);
	CHECK_EQ_U64(created, 0);
	CHECK(a == b);
	CHECK_EQ_U64(b->val, 7);
	CHECK_EQ_U64(iv.n, 2);
	/* created may be NULL. */
	CHECK(idvec_get(&iv, 42, NULL) == b);
	CHECK_EQ_U64(iv.n, 2);
	idvec_free(&iv);
}

static void test_find_missing(void)
{
	struct idvec iv;

	idvec_init(&iv, sizeof(struct elem));
	CHECK(idvec_find(&iv, 0) == NULL);
	CHECK(idvec_find(&iv, 5) == NULL);
	idvec_get(&iv, 10, NULL);
	idvec_get(&iv, 20, NULL);
	CHECK(idvec_find(&iv, 5) == NULL); /* below all */
	CHECK(idvec_find(&iv, 15) == NULL); /* between */
	CHECK(idvec_find(&iv, 25) == NULL); /* above all */
	CHECK(idvec_find(&iv, 0) == NULL);
	CHECK(idvec_find(&iv, UINT64_MAX) == NULL);
	CHECK(idvec_find(&iv, 10) != NULL);
	CHECK(idvec_find(&iv, 20) != NULL);
	CHECK_EQ_U64(iv.n, 2);
	idvec_free(&iv);
}

static void test_remove(void)
{
	struct idvec iv;
	struct elem *e;

	idvec_init(&iv, sizeof(struct elem));
	/* Removing from an empty vector is harmless. */
	idvec_remove(&iv, 3);
	CHECK_EQ_U64(iv.n, 0);
	for (uint64_t id = 1; id <= 5; id++) {
		e = idvec_get(&iv, id, NULL);
		e->val = (uint32_t)(100 + id);
	}
	idvec_remove(&iv, 3); /* middle */
	CHECK_EQ_U64(iv.n, 4);
	CHECK(idvec_find(&iv, 3) == NULL);
	idvec_remove(&iv, 3); /* again: nothing */
	idvec_remove(&iv, 99);
	CHECK_EQ_U64(iv.n, 4);
	idvec_remove(&iv, 1); /* first */
	idvec_remove(&iv, 5); /* last */
	CHECK_EQ_U64(iv.n, 2);
	CHECK(sorted(&iv));
	CHECK_EQ_U64(id_at(&iv, 0), 2);
	CHECK_EQ_U64(id_at(&iv, 1), 4);
	e = idvec_find(&iv, 2);
	CHECK(e && e->val == 102);
	e = idvec_find(&iv, 4);
	CHECK(e && e->val == 104);
	/* A removed id comes back as a new, zeroed element. */
	int created = 0;
	e = idvec_get(&iv, 5, &created);
	CHECK_EQ_U64(created, 1);
	CHECK_EQ_U64(e->val, 0);
	idvec_free(&iv);
}

/* A reproducible spread of 64-bit ids (splitmix64). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void test_growth(void)
{
	enum {
		N = 1000
	};
	uint64_t *ids = calloc(N, sizeof(*ids));
	struct idvec iv;
	size_t n;

	if (!ids) {
		unit_failed_checks++;
		return;
	}
	/* The extremes, small ids in descending order, and scattered ones. */
	ids[0] = UINT64_MAX;
	ids[1] = 0;
	for (size_t i = 2; i < 200; i++)
		ids[i] = 300 - i;
	for (size_t i = 200; i < N; i++)
		ids[i] = mix(i);

	idvec_init(&iv, sizeof(struct elem));
	for (size_t i = 0; i < N; i++) {
		int created;
		struct elem *e = idvec_get(&iv, ids[i], &created);

		CHECK_EQ_U64(created, 1);
		e->val = (uint32_t)i;
		if (i == 63 || i == 64 || i == 65 || i == 128 || i == 129) {
			CHECK_EQ_U64(iv.n, i + 1);
			CHECK(sorted(&iv));
		}
	}
	CHECK_EQ_U64(iv.n, N);
	CHECK(iv.cap >= iv.n);
	CHECK(sorted(&iv));
	CHECK_EQ_U64(id_at(&iv, 0), 0);
	CHECK_EQ_U64(id_at(&iv, N - 1), UINT64_MAX);
	for (size_t i = 0; i < N; i++) {
		struct elem *e = idvec_find(&iv, ids[i]);

		if (!e || e->id != ids[i] || e->val != i) {
			printf("    check failed: id %llu (inserted %zu-th) lost\n",
			       (unsigned long long)ids[i], i);
			unit_failed_checks++;
			break;
		}
	}

	/* Drop every other one, the extremes included. */
	for (size_t i = 0; i < N; i += 2)
		idvec_remove(&iv, ids[i]);
	CHECK_EQ_U64(iv.n, N / 2);
	CHECK(sorted(&iv));
	n = 0;
	for (size_t i = 0; i < N; i++) {
		struct elem *e = idvec_find(&iv, ids[i]);

		if (i % 2 == 0 ? e != NULL : (!e || e->val != i))
			n++;
	}
	CHECK_EQ_U64(n, 0);
	CHECK(idvec_find(&iv, 0) != NULL); /* ids[1], kept */
	CHECK(idvec_find(&iv, UINT64_MAX) == NULL);
	idvec_free(&iv);
	free(ids);
}

/* Every id found, and none that is not there: by the index, or by search where it is stale. */
static size_t lookups_wrong(const struct idvec *iv, const uint64_t *ids, size_t n, size_t keep_mod)
{
	size_t wrong = 0;

	for (size_t i = 0; i < n; i++) {
		const struct elem *e = idvec_find(iv, ids[i]);
		int want = keep_mod ? i % keep_mod != 0 : 1;

		if (want ? !e || e->id != ids[i] || e->val != i : e != NULL)
			wrong++;
	}
	return wrong;
}

static void test_index(void)
{
	enum {
		N = 5000
	};
	uint64_t *ids = calloc(N, sizeof(*ids));
	struct idvec iv;
	int created;

	if (!ids) {
		unit_failed_checks++;
		return;
	}
	/* Dense ids as cgroup inodes are, and some that collide in the low bits. */
	for (size_t i = 0; i < N; i++)
		ids[i] = i < N / 2 ? 1000 + i : (uint64_t)i << 32;
	idvec_init(&iv, sizeof(struct elem));
	for (size_t i = 0; i < 10; i++)
		((struct elem *)idvec_get(&iv, ids[i], NULL))->val = (uint32_t)i;
	idvec_index(&iv); /* too few: none */
	CHECK(!iv.index_ok);
	for (size_t i = 10; i < N; i++)
		((struct elem *)idvec_get(&iv, ids[i], NULL))->val = (uint32_t)i;
	idvec_index(&iv);
	CHECK(iv.index_ok);
	CHECK(iv.index_mask + 1 >= 2 * (size_t)N);
	CHECK_EQ_U64(lookups_wrong(&iv, ids, N, 0), 0);
	CHECK(idvec_find(&iv, 999) == NULL);
	CHECK(idvec_find(&iv, 3ull << 40) == NULL);
	/* A get of one that is there keeps the index current. */
	CHECK(idvec_get(&iv, ids[7], &created) == idvec_find(&iv, ids[7]));
	CHECK_EQ_U64(created, 0);
	CHECK(iv.index_ok);
	/* An insert moves the places after it: stale, and lookups search until it is built. */
	idvec_get(&iv, 1, &created);
	CHECK_EQ_U64(created, 1);
	CHECK(!iv.index_ok);
	CHECK_EQ_U64(lookups_wrong(&iv, ids, N, 0), 0);
	idvec_index(&iv);
	CHECK(idvec_find(&iv, 1) != NULL);
	CHECK_EQ_U64(lookups_wrong(&iv, ids, N, 0), 0);
	/* Removals the same. */
	for (size_t i = 0; i < N; i += 3)
		idvec_remove(&iv, ids[i]);
	CHECK(!iv.index_ok);
	CHECK_EQ_U64(lookups_wrong(&iv, ids, N, 3), 0);
	idvec_index(&iv);
	CHECK(iv.index_ok);
	CHECK_EQ_U64(lookups_wrong(&iv, ids, N, 3), 0);
	CHECK(sorted(&iv));
	idvec_free(&iv);
	CHECK(iv.index == NULL && !iv.index_ok);
	free(ids);
}

const struct unit_test idvec_tests[] = {
	{ "idvec/insert_out_of_order", test_insert_out_of_order },
	{ "idvec/get_existing", test_get_existing },
	{ "idvec/find_missing", test_find_missing },
	{ "idvec/remove", test_remove },
	{ "idvec/growth", test_growth },
	{ "idvec/index_finds_every_id_and_goes_stale_on_insert_and_remove", test_index },
	{ NULL, NULL },
};
