/* SPDX-License-Identifier: MIT */
/* COPY into per-session staging tables, then INSERT … SELECT … ON CONFLICT DO NOTHING. */
#include "store_copy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct col_store_copybuf *b, size_t more)
{
    if (b->len + more < b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap <= b->len + more)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s)
        return false;
    b->s = s;
    b->cap = cap;
    return true;
}

__attribute__((format(printf, 2, 3))) static bool put(struct col_store_copybuf *b, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n + 1))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

static bool put_value(struct col_store_copybuf *b, const char *v, char end)
{
    if (!v)
        return put(b, "\\N%c", end);
    size_t n = strlen(v);
    if (!reserve(b, 2 * n + 2))
        return false;
    for (; *v; v++) {
        char esc = *v == '\\' ? '\\' : *v == '\t' ? 't' : *v == '\n' ? 'n' : *v == '\r' ? 'r' : 0;
        if (esc) {
            b->s[b->len++] = '\\';
            b->s[b->len++] = esc;
        } else {
            b->s[b->len++] = *v;
        }
    }
    b->s[b->len++] = end;
    b->s[b->len] = '\0';
    return true;
}

bool col_store_copy_row(struct col_store_copybuf *b, const char *const *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!put_value(b, v[i], i + 1 < n ? '\t' : '\n'))
            return false;
    return true;
}

/* The column names of k, comma-separated. */
static bool put_cols(struct col_store_copybuf *b, const struct col_store_kind *k)
{
    bool ok = true;
    for (int i = 0; i < k->ncols && ok; i++)
        ok = put(b, "%s%s", i ? ", " : "", k->cols[i]);
    return ok;
}

int col_store_copy_prepare(PGconn *c, struct col_store_copybuf *b, struct col_store_db_err *e)
{
    b->len = 0;
    bool ok = true;
    for (size_t i = 0; i < col_store_nkinds && ok; i++) {
        const struct col_store_kind *k = &col_store_kinds[i];
        if (k->copy)
            ok = put(b,
                     "CREATE TEMP TABLE IF NOT EXISTS bp_stage_%s ON COMMIT DELETE ROWS AS "
                     "SELECT ",
                     k->table) &&
                 put_cols(b, k) && put(b, " FROM %s WITH NO DATA;\n", k->table);
    }
    return ok ? col_store_db_run(c, b->s, 0, NULL, e) : -ENOMEM;
}

/* The rows in COPY text format, Unix ms as timestamptz literals. */
static bool put_rows(struct col_store_copybuf *b, const struct col_store_kind *k,
                     const struct col_store_op *const *ops, const int *idx, int n)
{
    const char *v[COL_STORE_MAX_COLS];
    char num[COL_STORE_MAX_COLS][COL_STORE_NUM_LEN], ts[COL_STORE_MAX_COLS][COL_STORE_TS_LEN];
    b->len = 0;
    for (int r = 0; r < n; r++) {
        k->fill(ops[idx[r]], v, num);
        for (int i = 0; i < k->ncols; i++)
            if (((k->ts_cols >> i) & 1u) && v[i]) {
                col_store_db_ts(strtoll(v[i], NULL, 10), ts[i], sizeof(ts[i]));
                v[i] = ts[i];
            }
        if (!col_store_copy_row(b, v, k->ncols))
            return false;
    }
    return true;
}

/* COPY … FROM STDIN into table (k's columns) with data. 0 or -EIO with e filled. */
static int copy_into(PGconn *c, const char *table, const struct col_store_kind *k,
                     const struct col_store_copybuf *data, struct col_store_copybuf *sql,
                     struct col_store_db_err *e)
{
    sql->len = 0;
    if (!put(sql, "COPY %s (", table) || !put_cols(sql, k) || !put(sql, ") FROM STDIN"))
        return -ENOMEM;
    PGresult *r = PQexec(c, sql->s);
    int rc = PQresultStatus(r) == PGRES_COPY_IN ? 0 : -EIO;
    if (rc) { /* the COPY did not start: nothing more to read */
        col_store_db_err_set(e, c, r);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    if (PQputCopyData(c, data->s, (int)data->len) != 1 || PQputCopyEnd(c, NULL) != 1) {
        col_store_db_err_set(e, c, NULL);
        rc = -EIO;
    } else if (r = PQgetResult(c), PQresultStatus(r) != PGRES_COMMAND_OK) {
        col_store_db_err_set(e, c, r);
        rc = -EIO;
    }
    PQclear(r);
    while ((r = PQgetResult(c)) != NULL) /* the end of the command */
        PQclear(r);
    return rc;
}

/* The slow way for a batch with a row stored already: into the staging table, then only the
 * rows not there yet into the table. */
static int copy_staged(PGconn *c, const struct col_store_kind *k,
                       const struct col_store_copybuf *data, struct col_store_copybuf *sql,
                       struct col_store_db_err *e)
{
    char stage[96];
    snprintf(stage, sizeof(stage), "bp_stage_%s", k->table);
    if (copy_into(c, stage, k, data, sql, e))
        return -EIO;
    sql->len = 0;
    bool ok = put(sql, "INSERT INTO %s (", k->table) && put_cols(sql, k) && put(sql, ") SELECT ") &&
              put_cols(sql, k) && put(sql, " FROM %s %s", stage, k->conflict);
    return ok ? col_store_db_run(c, sql->s, 0, NULL, e) : -ENOMEM;
}

int col_store_copy_rows(PGconn *c, const struct col_store_kind *k,
                        const struct col_store_op *const *ops, const int *idx, int n,
                        struct col_store_copybufs *b, bool *staged, struct col_store_db_err *e)
{
    *staged = false;
    if (!put_rows(&b->data, k, ops, idx, n))
        return -ENOMEM;
    /* A batch is new nearly always: straight into the table, at raw COPY speed. */
    if (col_store_db_run(c, "SAVEPOINT bp_copy", 0, NULL, e))
        return -EIO;
    int rc = copy_into(c, k->table, k, &b->data, &b->sql, e);
    if (rc == 0)
        return col_store_db_run(c, "RELEASE SAVEPOINT bp_copy", 0, NULL, e);
    if (strcmp(e->state, "23505") != 0) /* not a unique violation: the caller's to handle */
        return rc;
    /* A row of it is stored already (the batch is re-sent after an ambiguous COMMIT, a message
     * came twice): undo, and let ON CONFLICT DO NOTHING keep the stored rows. */
    *staged = true;
    if (col_store_db_run(c, "ROLLBACK TO SAVEPOINT bp_copy", 0, NULL, e))
        return -EIO;
    return copy_staged(c, k, &b->data, &b->sql, e);
}

void col_store_copybufs_free(struct col_store_copybufs *b)
{
    free(b->data.s);
    free(b->sql.s);
    b->data = b->sql = (struct col_store_copybuf){0};
}
