/* SPDX-License-Identifier: MIT */
/* Who may act for which shard, now: the table the cluster thread writes (which shards its lock
 * session holds and since when, when that session last proved itself alive) and the rules
 * thread reads before it says anything about a shard (outbox.c). Lock-free: every field is an
 * atomic written by one thread. The fencing rule lives in col_owners_may_act; the argument
 * for it is in docs/architecture.md ("Several collectors"). */
#ifndef COL_OWNERS_H
#define COL_OWNERS_H

#include <stdbool.h>
#include <stdint.h>

/* The leader's slot: the fleet summary and correlated incidents (fleet-wide, not per shard). */
#define COL_OWNERS_LEADER (-1)

struct col_owners;

/* A table for shards 0 .. shards - 1 and the leader, nothing held. NULL on ENOMEM. */
struct col_owners *col_owners_new(int shards, int64_t lease_ms);
void col_owners_free(struct col_owners *o);
int col_owners_shards(const struct col_owners *o);
int64_t col_owners_lease(const struct col_owners *o);

/* ---- the cluster thread ------------------------------------------------------------------ */

/* The lock session answered a round trip that started at started_mono (monotonic ms). */
void col_owners_confirm(struct col_owners *o, int64_t started_mono);
/* The monotonic time the last confirmed round trip started (INT64_MIN: never). */
int64_t col_owners_confirmed_at(const struct col_owners *o);
/* slot (a shard, or COL_OWNERS_LEADER) was locked at now_mono; returns its new epoch, which
 * the rules thread must adopt before anything is said for the slot. */
uint32_t col_owners_acquire(struct col_owners *o, int slot, int64_t now_mono);
/* slot is about to be unlocked (or its lock is gone): from now on nothing here acts for it. */
void col_owners_release(struct col_owners *o, int slot);
/* When slot was locked (monotonic ms), or 0 when it is not held. */
int64_t col_owners_since(const struct col_owners *o, int slot);
/* slot's current epoch (meaningful while it is held). */
uint32_t col_owners_epoch(const struct col_owners *o, int slot);

/* ---- the rules thread -------------------------------------------------------------------- */

/* The rules thread took slot over as of epoch (alerts and statuses read from PostgreSQL):
 * from now on it may act for it, within the lease. A stale epoch adopts nothing. */
void col_owners_adopt(struct col_owners *o, int slot, uint32_t epoch);
/* Whether this collector may act for slot at now_mono (monotonic ms): it holds slot's lock,
 * it locked it at least one lease ago, the rules thread adopted it since, and the last round
 * trip that proved the lock session alive started less than one lease ago. */
bool col_owners_may_act(const struct col_owners *o, int slot, int64_t now_mono);
/* Whether slot is held and adopted here (its open alerts in memory are the announced ones),
 * whatever the lease says. */
bool col_owners_is_mine(const struct col_owners *o, int slot);

/* Counts one item not said because this collector could not act for its slot. */
void col_owners_count_fenced(struct col_owners *o);
/* Items not said so far. */
uint64_t col_owners_fenced(const struct col_owners *o);

#endif
