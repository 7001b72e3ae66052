/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef BM_TARGETS_H
#define BM_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "idvec.h"
#include "labels.h"

/*
 * What bpfmeter reports on: a cgroup, a process (--by process), the idle task, the overflow
 * key, or a --group-by group. A target owns its name and the labels parsed from it once, when
 * the name is set; rows point at their target, and targets never move in memory, so a row
 * stays valid while others are added.
 */
enum bm_target_kind {
	BM_TARGET_CGROUP,
	BM_TARGET_PROCESS,
	BM_TARGET_IDLE,
	BM_TARGET_STEAL, /* time the hypervisor stole: CPU time only, no energy */
	BM_TARGET_OVERFLOW,
	BM_TARGET_GROUP,
};

struct bm_target {
	uint64_t id; /* cgroup id, tgid, BM_KEY_IDLE, BM_KEY_STEAL, BM_KEY_OVERFLOW; a group's id */
	enum bm_target_kind kind;
	bool group_pending; /* a group whose cgroup id is to be resolved (again) */
	bool gone; /* ended; kept for the session summary only */
	char *name; /* a cgroup path, "comm[tgid]", "idle", "steal", "overflow", a group's key */
	struct bm_target *group; /* the group it rolls up to under --group-by; NULL: none */
	/* The CSV sink's text of the name and labels, as it quotes them: made there on first
	 * use, the same on every line of the target, dropped with the name. NULL: not made. */
	char *csv;
	size_t csv_name_len, csv_len; /* the name's field; it and the five label fields */
	struct bm_sample total; /* over the reported intervals of the session */
	/* Of name. Last: it is most of the target's size, and an interval reads what is above
	 * (of every target, at each step), so that that takes few cache lines. */
	struct bm_labels labels;
};

/* The targets of one kind of key (cgroups or processes), and the groups they roll up to. */
struct targets {
	enum bm_target_kind kind; /* of the ids that are not special */
	enum group_by group_by;
	int group_depth;
	struct idvec ids; /* of struct target_ref: the live targets by id */
	struct bm_target **groups; /* by name, in creation order */
	size_t ngroups;
	struct bm_target **departed; /* gone, kept for the summary */
	size_t ndeparted;
	bool keep_departed; /* a summary will be shown: keep ended targets with a total */
};

void targets_init(struct targets *ts, enum bm_target_kind kind, enum group_by g, int depth);
void targets_free(struct targets *ts);
struct bm_target *targets_find(const struct targets *ts, uint64_t id);
/*
 * The same for ids in ascending order, from one call to the next (*pos: 0 at first, then
 * kept): each looks on from where the last one ended, so a pass over n ids in order takes
 * about n steps rather than n binary searches. Any order is right, only slower.
 */
struct bm_target *targets_find_next(const struct targets *ts, uint64_t id, size_t *pos);
/* The i-th live target, in id order (i < ts->ids.n). */
struct bm_target *targets_at(const struct targets *ts, size_t i);
/* The target of id, created without a name (special ids get theirs) when new. */
struct bm_target *targets_get(struct targets *ts, uint64_t id, bool *created);
/*
 * Set (or change) a target's name: its labels are parsed and its group found (made where
 * new, marked for resolving its id where new or where this target is new to it).
 */
void targets_set_name(struct targets *ts, struct bm_target *t, const char *name);
/* A --group-by group by its key, or NULL. */
struct bm_target *targets_group(const struct targets *ts, const char *key);
/*
 * Resolve the cgroup ids of the groups marked pending: resolve() gives 0 and the id, or a
 * negative errno (the group keeps the id of the member that made it).
 */
void targets_resolve_groups(struct targets *ts,
			    int (*resolve)(const char *key, uint64_t *id, void *ctx), void *ctx);
/* Set a group's cgroup id as recorded (replay), making the group where new. */
void targets_set_group_id(struct targets *ts, const char *key, uint64_t id);
/* A target ended and its last interval is out: kept for the summary when it has a total. */
void targets_remove(struct targets *ts, uint64_t id);
/*
 * The session totals as summary rows, one per target that a summary shows (the groups under
 * --group-by, else every target; ended ones included) with CPU time. rows must hold
 * targets_summary_cap() rows. Returns the count.
 */
size_t targets_summary_cap(const struct targets *ts);
struct bm_row;
size_t targets_summary(const struct targets *ts, struct bm_row *rows, unsigned int domains);

/* Whether a target's id is a cgroup's (the cgroup_id column and tag). */
static inline bool target_is_cgroup(const struct bm_target *t)
{
	return t->kind == BM_TARGET_CGROUP || t->kind == BM_TARGET_GROUP;
}

/* The kind of a special id (idle, overflow), or -1 for an ordinary one. */
int targets_special_kind(uint64_t id);

#endif
