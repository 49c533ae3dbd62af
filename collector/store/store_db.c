/* SPDX-License-Identifier: MIT */
/* libpq helpers: one-line errors, statements, connections. */
#include "store_db.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int col_store_db_affected(PGconn *c, const char *sql, int np, const char *const *vals,
                          int64_t *affected, struct col_store_db_err *e)
{
    PGresult *r = PQexecParams(c, sql, np, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -EIO;
    if (rc)
        col_store_db_err_set(e, c, r);
    else if (affected)
        *affected = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

int col_store_db_int(PGconn *c, const char *sql, int np, const char *const *vals, int64_t *out,
                     bool *isnull, struct col_store_db_err *e)
{
    PGresult *r = PQexecParams(c, sql, np, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        col_store_db_err_set(e, c, r);
        PQclear(r);
        return -EIO;
    }
    bool null = PQntuples(r) < 1 || PQnfields(r) < 1 || PQgetisnull(r, 0, 0);
    *out = null ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    if (isnull)
        *isnull = null;
    PQclear(r);
    return 0;
}

int64_t col_store_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void col_store_db_ts(int64_t ms, char *out, size_t size)
{
    time_t t = (time_t)col_store_floor_div(ms, 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, size, "invalid");
        return;
    }
    int frac = (int)(ms - (int64_t)t * 1000);
    int n = snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n > 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, frac ? ".%03d+00" : "+00", frac);
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
    /* A link that silently drops everything (no FIN, no RST) would hold a write for the
     * kernel's retransmission limit, a quarter of an hour: keepalives and tcp_user_timeout end
     * it within about 15 s, and the spool takes over (an operator's conninfo may say
     * otherwise: it comes after these). */
    const char *const keys[] = {
        "connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "dbname",          NULL};
    const char *const vals[] = {"10", "1", "5", "2", "3", "15000", conninfo, NULL};
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
