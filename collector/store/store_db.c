/* SPDX-License-Identifier: MIT */
/* libpq helpers: one-line errors, statements, connections. */
#include "store_db.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MOD "store"

void col_store_db_err_set(struct col_store_db_err *e, PGconn *c, const PGresult *r)
{
    if (!e)
        return;
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *m = r ? PQresultErrorMessage(r) : "";
    if (!m || !*m)
        m = c ? PQerrorMessage(c) : "out of memory";
    snprintf(e->state, sizeof(e->state), "%s", st ? st : "");
    snprintf(e->msg, sizeof(e->msg), "%s", m);
    for (char *p = e->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t n = strlen(e->msg);
    while (n > 0 && e->msg[n - 1] == ' ')
        e->msg[--n] = '\0';
}

int col_store_db_run(PGconn *c, const char *sql, int np, const char *const *vals,
                     struct col_store_db_err *e)
{
    PGresult *r = np ? PQexecParams(c, sql, np, NULL, vals, NULL, NULL, 0) : PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -EIO;
    if (rc)
        col_store_db_err_set(e, c, r);
    PQclear(r);
    return rc;
}

/* Server notices ("relation already exists, skipping") go to the debug log, not raw stderr. */
static void db_notice(void *arg, const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        n--;
    BP_DEBUG(MOD, "server: %.*s", (int)n, msg);
}

int col_store_db_connect(const char *conninfo, PGconn **out, struct col_store_db_err *e)
{
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const vals[] = {"10", conninfo, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c && PQstatus(c) == CONNECTION_OK) {
        PQsetNoticeProcessor(c, db_notice, NULL);
        *out = c;
        return 0;
    }
    col_store_db_err_set(e, c, NULL);
    PQfinish(c);
    *out = NULL;
    return -ECONNREFUSED;
}
