/* SPDX-License-Identifier: MIT */
/* The append-only history at COPY speed (for the writer, store.c). A batch's rows of one table go
 * to the server in COPY's text format, straight into the table under a savepoint. Should a row of
 * them be stored already (a batch re-sent after an ambiguous COMMIT, a message delivered twice),
 * the unique key refuses the whole COPY; then, back at the savepoint, the rows go into a temporary
 * staging table of the session and one INSERT … SELECT … ON CONFLICT DO NOTHING moves the new ones
 * in. All of it inside the batch's transaction: nothing is stored twice, and a batch that fails
 * leaves nothing behind (staging rows go with a rollback, or at COMMIT). */
#ifndef COL_STORE_COPY_H
#define COL_STORE_COPY_H

#include "store_db.h"
#include "store_rows.h"

#include <stdbool.h>
#include <stddef.h>

/* A growing buffer for COPY data or SQL text. */
struct col_store_copybuf {
    char *s;
    size_t len, cap;
};

/* The writer's buffers for COPY. */
struct col_store_copybufs {
    struct col_store_copybuf data, sql;
};

/* Creates this session's staging tables, one per COPY kind (at each connect, outside a
 * transaction: they live as long as the session). 0 or -EIO with e filled. */
int col_store_copy_prepare(PGconn *c, struct col_store_copybuf *b, struct col_store_db_err *e);
/* Writes the rows of ops[idx[0..n)] (all of kind k) within the caller's transaction; *staged
 * tells whether they went through the staging table. 0, -ENOMEM, or -EIO with e filled (the
 * caller rolls back). */
int col_store_copy_rows(PGconn *c, const struct col_store_kind *k,
                        const struct col_store_op *const *ops, const int *idx, int n,
                        struct col_store_copybufs *b, bool *staged, struct col_store_db_err *e);
void col_store_copybufs_free(struct col_store_copybufs *b);

/* Appends one row of n values to b in COPY's text format: \\, tab, newline and carriage return
 * escaped, NULL as \N, tabs between, a newline at the end. false on ENOMEM. */
bool col_store_copy_row(struct col_store_copybuf *b, const char *const *v, int n);

#endif
