/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_LIVE_H
#define BM_LIVE_H

/*
 * The live view's pure part: its rows as a snapshot it owns (so that a key redraws the last
 * interval without measuring another), grouped, arranged in a tree and sorted as the keys
 * ask, and the pieces of a screen that fits the terminal. No terminal is touched here.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "energy.h"
#include "labels.h"
#include "report.h"

enum live_sort {
	LIVE_SORT_POWER,
	LIVE_SORT_CPU,
	LIVE_SORT_ENERGY,
	LIVE_SORT_NAME,
};

/* Bits of a row's estimate kinds, over its domains (and members). */
#define LIVE_EST_PROVISIONAL 1u
#define LIVE_EST_ESTIMATED 2u

/* One row of the view: a target, a group of them, or a tree node with its subtree's sums. */
struct live_row {
	char *name; /* owned: the target's name (a cgroup path), or a group's key */
	char *label; /* owned: what is shown (a container's short id), or NULL: name */
	bool path; /* name is a cgroup path: the tree places it */
	double cpu_pct; /* of one CPU, over the interval */
	double watts[BM_NR_DOMAINS];
	/*
	 * One standard error of watts[d], its parts' added (one model's shares err together),
	 * where it is known: live_row_err_known(). err_have: a part of the domain had one;
	 * err_missing: a part of it had none, which leaves the sum without one.
	 */
	double watts_err[BM_NR_DOMAINS];
	unsigned int err_have, err_missing; /* bit per domain */
	double power_w; /* of the domains that add up to the host's, for sorting and share */
	double energy_j; /* since the start, of the same domains */
	uint64_t cycles, instructions; /* 0 when not counted */
	unsigned int est; /* LIVE_EST_* */
	/* Tree view: depth below the top, and whether the row has rows below it. */
	int depth;
	bool parent;
};

/* The rows of one interval (or of a summary), and the arrangement the keys chose. */
struct live_rows {
	struct live_row *v;
	size_t n, cap;
};

void live_rows_clear(struct live_rows *r);
void live_rows_free(struct live_rows *r);
/* A new zeroed row at the end, name and label copied (label may be NULL). */
struct live_row *live_rows_add(struct live_rows *r, const char *name, const char *label);

/* a's sums (CPU, watts and their errors, energy, counters, kinds) added into into. */
void live_row_add(struct live_row *into, const struct live_row *a);

/* The domains whose watts_err holds: every part of the row in the domain had one. */
static inline unsigned int live_row_err_known(const struct live_row *r)
{
	return r->err_have & ~r->err_missing;
}

/*
 * Rows of cgroups merged by their --group-by key (labels_group_key()): one row per key, the
 * sums of its members; a row that is not a path stays as it is. GROUP_BY_CGROUP leaves them.
 */
void live_group(struct live_rows *in, struct live_rows *out, enum group_by g, int depth);

/*
 * Sort rows by key, the largest first (the name in alphabetical order), reverse: the other
 * way round. Ties by name, so that the order is stable from one refresh to the next.
 */
void live_sort(struct live_row *rows, size_t n, enum live_sort key, bool reverse);

/*
 * The tree of in's rows by their cgroup paths, into out in display order: every row under
 * its nearest ancestor, the ancestors that have no row of their own made (so "/a/b" and
 * "/a/c" hang under "/a"), each parent's figures the sum of its own and its subtree's,
 * siblings sorted by key. Rows that are no paths (idle, processes) are at the top.
 */
void live_tree(const struct live_rows *in, struct live_rows *out, enum live_sort key, bool reverse);

/*
 * s fitted into width columns for a terminal (escaped as bm_term_fit() does): cut in the
 * middle where too wide, keeping its start (a container id's first digits) and the leaf
 * name after the last '/' where it fits, joined by "...". Returns the columns used.
 */
int live_fit_middle(char *out, size_t size, const char *s, int width);

/*
 * The missing-events note ("cycles (no PMU for it on this machine), instructions (no PMU
 * ...)") as one line by reason, each reason to its first words: "no PMU: cycles,
 * instructions".
 */
void live_missing_line(const char *note, char *out, size_t size);

/* Joules as "12.3 J", or "1.25 Wh" past 3600 J. */
void live_energy_text(char *out, size_t size, double joules);

/* The view: the last interval's snapshot and header, and what the keys chose. */
#define LIVE_HEADER_LINES 4
struct live_view {
	struct live_rows snap; /* the last interval's rows, as the pipeline gave them */
	struct live_rows grouped, shown; /* scratch, kept from one draw to the next */
	char *header[LIVE_HEADER_LINES]; /* uncut; NULL: no such line */
	bool header_alert[LIVE_HEADER_LINES]; /* highlighted (the model's error is large) */
	unsigned int domains; /* the energy domains of the power columns */
	bool ipc; /* cycles and instructions counted */
	bool have_interval;
	enum live_sort sort;
	bool reverse, tree, help;
	enum group_by group; /* applied by the view (keys); the pipeline's stays per cgroup */
	int group_depth;
	bool can_group; /* the rows are cgroups the view may group: g cycles the modes */
	bool color;
	struct bm_text screen;
	int drawn_width, drawn_height; /* the size of the last screen drawn; 0: none yet */
};

enum live_action {
	LIVE_NONE, /* the key means nothing */
	LIVE_REDRAW, /* the view changed: draw the last interval again */
	LIVE_REFRESH, /* measure now */
	LIVE_QUIT,
};

/* group: the --group-by the view applies, when can_group (else the rows are shown as come). */
void live_view_init(struct live_view *v, enum group_by group, int depth, bool can_group,
		    bool color);
void live_view_free(struct live_view *v);
/* One interval (its rows merged over sockets) into the view's snapshot. */
void live_view_update(struct live_view *v, const struct bm_meta *m, const struct bm_interval *iv);
/* What a key does, the view changed for it. */
enum live_action live_view_key(struct live_view *v, int key);
/*
 * The screen into v->screen: at most height lines of at most width columns, each ending in
 * clear-to-end-of-line, after a cursor home (and a clear of the screen, the first time and at
 * a new size), then clear-to-end-of-screen: one write draws it in place.
 */
void live_view_render(struct live_view *v, int width, int height);
/* Whether the terminal takes colour: TERM set and not "dumb", NO_COLOR not set. */
bool live_color_wanted(void);

#endif
