/* SPDX-License-Identifier: MIT */
/* The store's libpq helpers, shared by its writer thread (store.c) and its start-up work
 * (store_load.c): connect (with a timeout, server notices to the debug log), run one statement,
 * and keep the last error as one line with its SQLSTATE. */
#ifndef COL_STORE_DB_H
#define COL_STORE_DB_H

#include <libpq-fe.h>

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
/* Connects; 0 or -ECONNREFUSED with e filled. A connect_timeout in conninfo wins over ours. */
int col_store_db_connect(const char *conninfo, PGconn **out, struct col_store_db_err *e);

#endif
