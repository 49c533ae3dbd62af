/* SPDX-License-Identifier: MIT */
/* The store's libpq helpers, shared by its writer thread (store.c) and its start-up work
 * (store_load.c): connect (with a timeout, server notices to the debug log), run one statement,
 * and keep the last error as one line with its SQLSTATE. */
#ifndef COL_STORE_DB_H
#define COL_STORE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The advisory lock (pg_advisory_lock key) every collector takes around migrations and partition
 * maintenance, so two collectors sharing a database never change its schema at once. */
#define COL_STORE_SCHEMA_LOCK_KEY "7093569655663551234"

/* The last database error: SQLSTATE (may be empty) and a one-line message. */
struct col_store_db_err {
    char state[6];
    char msg[256];
};

/* Fills e (NULL: nothing) from r, or from c's last error. */
void col_store_db_err_set(struct col_store_db_err *e, PGconn *c, const PGresult *r);
/* Runs sql: with PQexec (several statements allowed) when np == 0, else PQexecParams with
 * np text parameters. 0 or -EIO with e filled. */
int col_store_db_run(PGconn *c, const char *sql, int np, const char *const *vals,
                     struct col_store_db_err *e);
/* Like col_store_db_run (np >= 0), and *affected gets the rows the command touched (NULL:
 * not wanted). */
int col_store_db_affected(PGconn *c, const char *sql, int np, const char *const *vals,
                          int64_t *affected, struct col_store_db_err *e);
/* Runs a query whose first row's first column is an integer: *out gets it, *isnull (NULL: not
 * wanted) whether it was NULL or there was no row (then *out is 0). 0 or -EIO with e filled. */
int col_store_db_int(PGconn *c, const char *sql, int np, const char *const *vals, int64_t *out,
                     bool *isnull, struct col_store_db_err *e);
/* A timestamptz literal for Unix ms that PostgreSQL reads back exactly, whatever the session's
 * TimeZone: "2024-01-01 00:00:00+00", with ".mmm" when ms has any; "invalid" (which the server
 * refuses as a data error) when the time cannot be told. */
#define COL_STORE_TS_LEN 48
void col_store_db_ts(int64_t ms, char *out, size_t size);
/* a / b rounded towards minus infinity (b > 0). */
int64_t col_store_floor_div(int64_t a, int64_t b);

/* Connects; 0 or -ECONNREFUSED with e filled. A connect_timeout in conninfo wins over ours. */
int col_store_db_connect(const char *conninfo, PGconn **out, struct col_store_db_err *e);

#endif
