// SPDX-License-Identifier: BSD-2-Clause
/* The live view's rows: grouped, in a tree, sorted; names and notes fitted to a width. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "util.h"

void live_rows_clear(struct live_rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].label);
	}
	r->n = 0;
}

void live_rows_free(struct live_rows *r)
{
	live_rows_clear(r);
	free(r->v);
	*r = (struct live_rows){ 0 };
}

struct live_row *live_rows_add(struct live_rows *r, const char *name, const char *label)
{
	struct live_row *row;

	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = bm_realloc_array(r->v, r->cap, sizeof(*r->v));
	}
	row = &r->v[r->n++];
	*row = (struct live_row){ .name = bm_strdup(name),
				  .label = label ? bm_strdup(label) : NULL };
	return row;
}

void live_row_add(struct live_row *into, const struct live_row *a)
{
	into->cpu_pct += a->cpu_pct;
	for (int d = 0; d < BM_NR_DOMAINS; d++) {
		into->watts[d] += a->watts[d];
		into->watts_err[d] += a->watts_err[d];
	}
	/* Errors add; a part without one leaves the sum unknown, a part without the domain
	 * (a made ancestor, an empty row) leaves it as it is. */
	into->err_have |= a->err_have;
	into->err_missing |= a->err_missing;
	into->power_w += a->power_w;
	into->energy_j += a->energy_j;
	into->cycles += a->cycles;
	into->instructions += a->instructions;
	into->est |= a->est;
}

/* A copy of a row into out under name and label, its figures and names its own. */
static struct live_row *copy_row(struct live_rows *out, const struct live_row *a,
				 const char *name_of, const char *label_of)
{
	struct live_row *r = live_rows_add(out, name_of, label_of);
	char *name = r->name, *label = r->label;

	*r = *a;
	r->name = name;
	r->label = label;
	return r;
}

struct keyed {
	char *key;
	size_t row;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* What a group's row shows: the short id of a container, pod or VM; else its key. */
static const char *group_label(const char *key, struct bm_labels *l)
{
	if (labels_parse(key, l))
		return NULL;
	if ((l->kind == BM_KIND_CONTAINER || l->kind == BM_KIND_CONMON || l->kind == BM_KIND_POD ||
	     l->kind == BM_KIND_VM) &&
	    l->short_name[0])
		return l->short_name;
	return NULL;
}

void live_group(struct live_rows *in, struct live_rows *out, enum group_by g, int depth)
{
	struct keyed *k = bm_calloc(in->n ? in->n : 1, sizeof(*k));
	struct bm_labels *l = bm_calloc(1, sizeof(*l));
	size_t nk = 0;

	live_rows_clear(out);
	for (size_t i = 0; i < in->n; i++) {
		char key[4096];

		if (g == GROUP_BY_CGROUP || !in->v[i].path ||
		    labels_group_key(in->v[i].name, NULL, g, depth, key, sizeof(key))) {
			copy_row(out, &in->v[i], in->v[i].name, in->v[i].label);
			continue;
		}
		k[nk++] = (struct keyed){ .key = bm_strdup(key), .row = i };
	}
	qsort(k, nk, sizeof(*k), keyed_cmp);
	for (size_t i = 0; i < nk; i++) {
		struct live_row *r;

		if (i && !strcmp(k[i].key, k[i - 1].key)) {
			live_row_add(&out->v[out->n - 1], &in->v[k[i].row]);
			continue;
		}
		r = live_rows_add(out, k[i].key, group_label(k[i].key, l));
		r->path = true;
		live_row_add(r, &in->v[k[i].row]);
	}
	for (size_t i = 0; i < nk; i++)
		free(k[i].key);
	free(k);
	free(l);
}

struct sort_by {
	enum live_sort key;
	bool reverse;
};

static int row_cmp(const void *a, const void *b, void *arg)
{
	const struct live_row *x = a, *y = b;
	const struct sort_by *s = arg;
	double vx = 0, vy = 0;
	int c = 0;

	switch (s->key) {
	case LIVE_SORT_POWER:
		vx = x->power_w, vy = y->power_w;
		/* Without energy, power ties everywhere: CPU time decides. */
		if (vx == vy)
			vx = x->cpu_pct, vy = y->cpu_pct;
		break;
	case LIVE_SORT_CPU:
		vx = x->cpu_pct, vy = y->cpu_pct;
		break;
	case LIVE_SORT_ENERGY:
		vx = x->energy_j, vy = y->energy_j;
		break;
	case LIVE_SORT_NAME:
		break;
	}
	c = (vx < vy) - (vx > vy);
	if (!c)
		c = strcmp(x->label ? x->label : x->name, y->label ? y->label : y->name);
	if (!c)
		c = strcmp(x->name, y->name);
	return s->reverse ? -c : c;
}

void live_sort(struct live_row *rows, size_t n, enum live_sort key, bool reverse)
{
	struct sort_by s = { key, reverse };

	qsort_r(rows, n, sizeof(*rows), row_cmp, &s);
}

/* A node of the tree: its row (its own figures, then its subtree's) and where it hangs. */
struct node {
	struct live_row row;
	const char *name; /* the row's, not owned, or an ancestor's that was made (owned) */
	bool made; /* an ancestor with no row of its own */
	ssize_t parent; /* index, or -1: at the top */
	int depth;
	size_t first_child, nchild; /* into the children array */
};

static int node_name_cmp(const void *a, const void *b)
{
	const struct node *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* The node named the first len bytes of name, or -1. */
static ssize_t node_find(const struct node *nodes, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(nodes[mid].name, name, len);

		if (!c && nodes[mid].name[len])
			c = 1;
		if (!c)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The parent path's length of a path: to its last '/', or 1 for "/x", 0 for "/". */
static size_t parent_len(const char *name)
{
	const char *slash = strrchr(name, '/');

	if (!slash || !name[1])
		return 0;
	return slash == name ? 1 : (size_t)(slash - name);
}

struct tree_ctx {
	struct node *nodes;
	size_t *children;
	struct live_rows *out;
	struct sort_by by;
};

static int child_cmp(const void *a, const void *b, void *arg)
{
	struct tree_ctx *t = arg;

	return row_cmp(&t->nodes[*(const size_t *)a].row, &t->nodes[*(const size_t *)b].row,
		       &t->by);
}

static void tree_emit(struct tree_ctx *t, size_t i)
{
	struct node *nd = &t->nodes[i];
	const char *leaf = strrchr(nd->name, '/');
	struct live_row *r;

	/* A path shows its leaf, indented under its parent. */
	r = copy_row(t->out, &nd->row, nd->name,
		     nd->row.label		       ? nd->row.label
		     : nd->row.path && leaf && leaf[1] ? leaf + 1
						       : nd->name);
	r->depth = nd->depth;
	r->parent = nd->nchild > 0;
	qsort_r(t->children + nd->first_child, nd->nchild, sizeof(size_t), child_cmp, t);
	for (size_t c = 0; c < nd->nchild; c++)
		tree_emit(t, t->children[nd->first_child + c]);
}

static int depth_desc(const void *a, const void *b, void *arg)
{
	const struct node *nodes = arg;
	int x = nodes[*(const size_t *)a].depth, y = nodes[*(const size_t *)b].depth;

	return (x < y) - (x > y);
}

void live_tree(const struct live_rows *in, struct live_rows *out, enum live_sort key, bool reverse)
{
	struct tree_ctx t = { .out = out, .by = { key, reverse } };
	size_t cap = 1, n = 0, m = 0, ntop = 0, *order, *top, *fill;
	struct node *nodes;

	live_rows_clear(out);
	for (size_t i = 0; i < in->n; i++)
		if (in->v[i].path)
			for (const char *p = in->v[i].name; *p; p++)
				cap += *p == '/';
	nodes = bm_calloc(cap + in->n, sizeof(*nodes));
	/* Every path row, and every ancestor of one ("/" only where it is a row). */
	for (size_t i = 0; i < in->n; i++) {
		const char *name = in->v[i].name;

		if (!in->v[i].path)
			continue;
		nodes[n].row = in->v[i];
		nodes[n++].name = name;
		for (size_t len = parent_len(name); len > 1; len = parent_len(nodes[n - 1].name)) {
			char *anc = bm_strndup(name, len);

			nodes[n].row = (struct live_row){ .path = true };
			nodes[n].made = true;
			nodes[n++].name = anc;
		}
	}
	qsort(nodes, n, sizeof(*nodes), node_name_cmp);
	/* Duplicates (the same path twice, or an ancestor that is also a row) become one. */
	for (size_t i = 0; i < n; i++) {
		struct node *keep, *drop = &nodes[i];

		if (!m || strcmp(nodes[m - 1].name, drop->name)) {
			nodes[m++] = *drop;
			continue;
		}
		keep = &nodes[m - 1];
		live_row_add(&keep->row, &drop->row);
		if (!keep->row.label)
			keep->row.label = drop->row.label;
		if (drop->made) {
			free((char *)drop->name);
		} else if (keep->made) {
			/* The row's own name from now on; the made one goes. */
			free((char *)keep->name);
			keep->name = drop->name;
			keep->made = false;
		}
	}
	n = m;
	for (size_t i = 0; i < n; i++) {
		size_t len = parent_len(nodes[i].name);

		/* For sorting by name: the row is named as its node. */
		nodes[i].row.name = (char *)nodes[i].name;
		nodes[i].parent = len ? node_find(nodes, n, nodes[i].name, len) : -1;
	}
	for (size_t i = 0; i < n; i++) {
		int d = 0;

		for (ssize_t p = nodes[i].parent; p >= 0; p = nodes[p].parent)
			d++;
		nodes[i].depth = d;
	}
	/* The deepest first: each adds its subtree's sums to its parent. */
	order = bm_calloc(n + 1, sizeof(*order));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), depth_desc, nodes);
	for (size_t i = 0; i < n; i++)
		if (nodes[order[i]].parent >= 0)
			live_row_add(&nodes[nodes[order[i]].parent].row, &nodes[order[i]].row);
	/* The children of each node, together. */
	t.children = bm_calloc(n + 1, sizeof(*t.children));
	fill = bm_calloc(n + 1, sizeof(*fill));
	for (size_t i = 0; i < n; i++)
		if (nodes[i].parent >= 0)
			nodes[nodes[i].parent].nchild++;
	for (size_t i = 0, at = 0; i < n; i++) {
		nodes[i].first_child = at;
		at += nodes[i].nchild;
	}
	for (size_t i = 0; i < n; i++) {
		ssize_t p = nodes[i].parent;

		if (p >= 0)
			t.children[nodes[p].first_child + fill[p]++] = i;
	}
	t.nodes = nodes;
	/* The top: the rows that are no paths, then the paths without a parent; sorted. */
	top = bm_calloc(in->n + n + 1, sizeof(*top));
	for (size_t i = 0; i < in->n; i++) {
		if (in->v[i].path)
			continue;
		nodes[n + ntop] =
			(struct node){ .row = in->v[i], .name = in->v[i].name, .parent = -1 };
		top[ntop] = n + ntop;
		ntop++;
	}
	for (size_t i = 0; i < n; i++)
		if (nodes[i].parent < 0)
			top[ntop++] = i;
	qsort_r(top, ntop, sizeof(*top), child_cmp, &t);
	for (size_t i = 0; i < ntop; i++)
		tree_emit(&t, top[i]);
	for (size_t i = 0; i < n; i++)
		if (nodes[i].made)
			free((char *)nodes[i].name);
	free(top);
	free(fill);
	free(t.children);
	free(order);
	free(nodes);
}

int live_fit_middle(char *out, size_t size, const char *s, int width)
{
	const char *slash = strrchr(s, '/');
	char *leaf;
	int tail;

	if (!slash || !slash[1])
		return bm_term_fit_middle(out, size, s, width, width / 2);
	leaf = bm_calloc(4 * strlen(slash) + 8, 1);
	tail = bm_term_fit(leaf, 4 * strlen(slash) + 8, slash, INT_MAX);
	free(leaf);
	return bm_term_fit_middle(out, size, s, width, tail);
}

void live_missing_line(const char *note, char *out, size_t size)
{
	/* Up to 16 reasons, each with its events, in the order first seen. */
	char reason[16][64], *names[16] = { 0 }, *copy = bm_strdup(note), *p = copy;
	size_t nr = 0, off = 0;

	while (p && *p) {
		char *open = strstr(p, " ("), *close, *name = p, *why;
		size_t r;

		if (!open)
			break;
		*open = '\0';
		why = open + 2;
		close = strstr(why, "), ");
		p = close ? close + 3 : NULL;
		if (close)
			*close = '\0';
		else if (why[0] && why[strlen(why) - 1] == ')')
			why[strlen(why) - 1] = '\0';
		/* "no PMU for it on this machine" -> "no PMU": the first words, before their
		 * explanation. */
		why[strcspn(why, "(")] = '\0';
		if (strstr(why, " for "))
			*strstr(why, " for ") = '\0';
		while (*why && why[strlen(why) - 1] == ' ')
			why[strlen(why) - 1] = '\0';
		for (r = 0; r < nr && strcmp(reason[r], why); r++)
			;
		if (r == nr) {
			if (nr == 16)
				continue;
			snprintf(reason[nr++], sizeof(reason[0]), "%s", why);
			names[r] = NULL;
		}
		if (names[r]) {
			char *j;

			if (asprintf(&j, "%s, %s", names[r], name) < 0)
				j = NULL;
			free(names[r]);
			names[r] = j;
		} else {
			names[r] = bm_strdup(name);
		}
	}
	out[0] = '\0';
	for (size_t r = 0; r < nr && off < size; r++)
		off += (size_t)snprintf(out + off, size - off, "%s%s: %s", r ? "; " : "", reason[r],
					names[r] ? names[r] : "");
	if (!nr)
		snprintf(out, size, "%s", note);
	for (size_t r = 0; r < nr; r++)
		free(names[r]);
	free(copy);
}

void live_energy_text(char *out, size_t size, double joules)
{
	if (joules >= 3600)
		snprintf(out, size, "%.2f Wh", joules / 3600);
	else
		snprintf(out, size, "%.1f J", joules);
}
