/* SPDX-License-Identifier: MIT */
/* Persistence to PostgreSQL: one writer thread that takes write operations (store_op.h) from a
 * bounded spool and writes them in batched transactions (start-up work: store_load.h).
 * While the database is away, operations wait in the spool and are written once it is
 * back; anything that does not fit is dropped and counted. Every write is idempotent:
 * re-sending a batch after an ambiguous failure (COMMIT sent, reply lost) stores nothing twice. */
#ifndef COL_STORE_H
#define COL_STORE_H

#include "store_parts.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct col_store;
struct col_store_op;

struct col_store_opts {
    const char *conninfo; /* libpq connection string */
    size_t spool_max;     /* operations held while the database is slow or away */
    int batch_max;        /* operations per transaction, e.g. 1000 */
    int retry_ms;         /* wait between reconnect attempts, e.g. 1000 */
    /* History maintenance (store_maint.h): a pass at start, then every maint_interval_ms;
     * 0: none (partitions, retention and status_daily are then someone else's job). */
    int64_t maint_interval_ms;
    struct col_hist_opts hist;
};

struct col_store_stats {
    uint64_t submitted;
    uint64_t written;           /* operations committed */
    uint64_t dropped;           /* refused because the spool was full */
    uint64_t batches;           /* transactions committed */
    uint64_t failures;          /* failed transactions (retried) */
    uint64_t spooled;           /* operations waiting now */
    bool db_up;                 /* the last attempt to talk to the database succeeded */
    int64_t last_commit_wall;   /* Unix ms of the last committed transaction; 0 = none yet */
    uint64_t copy_batches;      /* COPY statements committed (one per history table per batch) */
    uint64_t copy_staged;       /* of them, through the staging table: a row was stored already */
    struct col_hist_stats hist; /* partitions and retention (zero without maintenance) */
};

/* Creates the store; nothing is connected until col_store_start. 0 or -errno. */
int col_store_new(const struct col_store_opts *opts, struct col_store **out);
/* Starts the writer thread (and the maintenance thread, if asked for). 0 or -errno. */
int col_store_start(struct col_store *s);
/* Copies op into the spool; never blocks on the database. -ENOBUFS when the spool is full
 * (the drop is counted and logged, rate-limited). */
int col_store_submit(struct col_store *s, const struct col_store_op *op);
void col_store_get_stats(struct col_store *s, struct col_store_stats *out);
/* Stops the writer after trying to write what is spooled for up to flush_timeout_ms. */
void col_store_stop(struct col_store *s, int64_t flush_timeout_ms);
void col_store_free(struct col_store *s);

#endif
