/* SPDX-License-Identifier: MIT */
/* How each kind of store operation becomes rows of one table (for the writer, store.c): the
 * table, its columns and which hold Unix ms, the ON CONFLICT clause that makes a re-sent batch
 * harmless, the values, whether it is written by COPY (the append-only history) and for upserts
 * the key (one row per key per statement). */
#ifndef COL_STORE_ROWS_H
#define COL_STORE_ROWS_H

#include "store_op.h"

#include <stdbool.h>
#include <stddef.h>

#define COL_STORE_MAX_COLS 13 /* widest row: command_results */
#define COL_STORE_NUM_LEN 32  /* one formatted number */

struct col_store_kind {
    enum col_store_op_kind kind;
    const char *table;
    const char *const *cols; /* ncols names */
    int ncols;
    unsigned ts_cols;     /* bit i set: column i is Unix ms, stored via to_timestamp */
    const char *conflict; /* ON CONFLICT clause */
    /* Fills ncols text values (NULL = SQL NULL); numbers are formatted into num[]. */
    void (*fill)(const struct col_store_op *op, const char **v, char (*num)[COL_STORE_NUM_LEN]);
    /* Primary key of an upsert (duplicates in one statement are collapsed), else NULL. */
    const char *(*key)(const struct col_store_op *op);
    /* Append-only (ON CONFLICT DO NOTHING): COPY into a staging table, then one INSERT … SELECT
     * (store_copy.h); else a multi-row INSERT … VALUES. */
    bool copy;
};

/* Every kind, in the order they are written within a transaction. */
extern const struct col_store_kind col_store_kinds[];
extern const size_t col_store_nkinds;

#endif
