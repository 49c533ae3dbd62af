/* SPDX-License-Identifier: MIT */
/* The lock session's SQL (cluster.c's only way to PostgreSQL): connecting with keepalives and
 * a TCP user timeout, every statement bounded by a client-side deadline, the collectors table
 * (register, confirm, read, leave), advisory locks taken and given back in batches, evicting
 * silent collectors, and the reads a takeover needs. */
#ifndef COL_CLUSTER_DB_H
#define COL_CLUSTER_DB_H

#include "member.h"
#include "shard.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first key of every advisory lock the cluster takes ("bpc1"); the second is the shard,
 * or -1 for the leader. Another lock of botpulse must use another first key. */
#define COL_CLUSTER_LOCK_CLASS 1651532593

struct col_takeover;

/* Connects (connect_timeout 2 s, keepalives every second, tcp_user_timeout = lease,
 * statement_timeout 10 s, application_name "botpulse-cluster"). 0 or -EIO with why. */
int col_cluster_db_connect(const char *conninfo, int64_t lease_ms, PGconn **out, char *why,
                           size_t whylen);

/* This collector's row, taken over from any earlier run of it: started (Unix ms), its shard
 * count, its session's pid; rows silent for a day are dropped. 0 or -EIO with why. */
int col_cluster_db_register(PGconn *c, const char *id, const char *host, int64_t started,
                            int shards, int64_t timeout_ms, char *why, size_t whylen);
/* One round trip proving the session alive: last_seen = now(), the slots it holds (a shard
 * list, -1 for the leader). 0, -ESTALE (the row is another session's now: a second collector
 * with this id?) or -EIO with why. */
int col_cluster_db_confirm(PGconn *c, const char *id, const char *held, int64_t timeout_ms,
                           char *why, size_t whylen);

/* One row of the collectors table, with what the server says of its session. */
struct col_cluster_row {
    struct col_cluster_member m;
    int shard_count;
    bool self; /* this session's row */
    int nslots;
    int16_t slots[COL_SHARDS_MAX + 1]; /* shards it lists, and -1 if it leads */
};

/* Reads every row (at most max; ordered by id) into rows; live: its session is alive and it
 * confirmed within live_ms. The count, or -EIO with why. */
int col_cluster_db_members(PGconn *c, int64_t live_ms, struct col_cluster_row *rows, int max,
                           int64_t timeout_ms, char *why, size_t whylen);
/* Ends the lock sessions of collectors silent for evict_ms (only sessions holding the
 * cluster's locks). The number ended, or -EIO with why. */
int col_cluster_db_evict(PGconn *c, int64_t evict_ms, int64_t timeout_ms, char *why, size_t whylen);

/* Tries to lock each of the n slots (shards, or -1) without waiting; the ones now held are
 * written to got (*ngot). 0 or -EIO with why. */
int col_cluster_db_try_lock(PGconn *c, const int *slots, int n, int *got, int *ngot,
                            int64_t timeout_ms, char *why, size_t whylen);
/* Unlocks the n slots. 0 or -EIO with why. */
int col_cluster_db_unlock(PGconn *c, const int *slots, int n, int64_t timeout_ms, char *why,
                          size_t whylen);
/* Deletes this collector's row (a clean stop). */
void col_cluster_db_leave(PGconn *c, const char *id, int64_t timeout_ms);

/* Fills t's bots and alerts for the shards marked in taken (shards entries): the bots rows
 * whose agent falls in one, and the open alerts of those bots. 0, -ENOMEM or -EIO with why. */
int col_cluster_db_read_takeover(PGconn *c, const bool *taken, int shards, struct col_takeover *t,
                                 int64_t timeout_ms, char *why, size_t whylen);

#endif
