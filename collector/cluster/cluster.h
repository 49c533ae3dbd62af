/* SPDX-License-Identifier: MIT */
/* Several collectors sharing one fleet ([cluster]): a thread of its own with a libpq
 * connection of its own (the lock session) that, every round, proves the session alive with a
 * round trip (the lease, owners.h), keeps this collector's row in the collectors table, reads
 * who else is alive, takes free shards up to its fair share (ceil(shards / live collectors))
 * with session-level advisory locks, gives back a few per round when it holds more, holds the
 * leader's lock when nobody does, and evicts collectors silent past evict_after. Once a slot
 * taken has been held one lease (its previous owner has fenced itself), it reads that slot's
 * bots' statuses and open alerts from PostgreSQL and hands them to the rules thread
 * (takeover.h). It never touches the rules thread's state. */
#ifndef COL_CLUSTER_H
#define COL_CLUSTER_H

#include "member.h"
#include "shard.h"

#include <stdbool.h>
#include <stdint.h>

struct col_owners;
struct col_takeover;

struct col_cluster_opts {
    const char *id;       /* this collector's id; copied */
    const char *host;     /* its host name, for the table; copied */
    const char *conninfo; /* libpq; copied (keepalives and timeouts are added to it) */
    int shards;
    int64_t lease_ms, round_ms, warmup_ms, evict_ms;
    int rebalance_max;
    struct col_owners *owners; /* the table the rules thread reads; borrowed */
    /* Hands a takeover to the rules thread: 0 (it owns t now) or -errno (the cluster thread
     * keeps t's slots pending and tries again next round). Called on the cluster thread. */
    int (*on_takeover)(void *ctx, struct col_takeover *t);
    void *ctx;
};

struct col_cluster;

/* 0 or -errno. Nothing is connected until col_cluster_start. */
int col_cluster_new(const struct col_cluster_opts *opts, struct col_cluster **out);
/* Starts the thread. 0 or -errno. */
int col_cluster_start(struct col_cluster *c);
/* Stops acting for every slot, gives them back (the row is deleted, the session closed) and
 * joins the thread. */
void col_cluster_stop(struct col_cluster *c);
void col_cluster_free(struct col_cluster *c);

/* The cluster as this collector last read it (a copy, for any thread). */
struct col_cluster_view {
    char self[BP_ID_MAX + 1];
    int shards;
    bool connected;        /* the lock session is up */
    int64_t confirmed_ago; /* ms since the last confirmed round trip started; -1: never */
    bool lease_ok;         /* it may act for what it holds (confirmed within the lease) */
    int held;              /* shards this collector holds */
    bool leader;
    int64_t last_rebalance; /* Unix ms: the newest change of any live collector's shards */
    uint64_t fenced;        /* items not said: no lease for their shard */
    uint64_t takeovers;     /* slots handed to the rules thread */
    int nmembers;
    struct col_cluster_member members[COL_CLUSTER_MEMBERS_MAX];
    int16_t owner[COL_SHARDS_MAX]; /* members[] index of each shard's holder, or -1 */
};

/* Copies the view into v. */
void col_cluster_view_get(struct col_cluster *c, struct col_cluster_view *v);
/* The id of the collector holding shard in v, or "" when none does. */
const char *col_cluster_view_owner(const struct col_cluster_view *v, int shard);

#endif
