/* SPDX-License-Identifier: MIT */
/* The store's start-up work: migrations under an advisory lock, then what the previous run
 * left (open alerts, silences, intended states, bots' agents), each read over one short
 * connection. */
#include "store_load.h"

#include "clock.h"
#include "log.h"
#include "migrations.h"
#include "store_db.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "store"
#define CONNECT_RETRY_MS 500

static int migrate_one(PGconn *c, const struct col_migration *m, bool *applied)
{
    const char *p[] = {m->version};
    struct col_store_db_err e = {.state = ""};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, p,
                               NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        col_store_db_err_set(&e, c, r);
        PQclear(r);
        BP_ERROR(MOD, "migration %s: cannot read schema_migrations: %s", m->version, e.msg);
        return -EIO;
    }
    int found = PQntuples(r);
    PQclear(r);
    *applied = false;
    if (found > 0)
        return 0;
    if (col_store_db_run(c, "BEGIN", 0, NULL, &e) || col_store_db_run(c, m->sql, 0, NULL, &e) ||
        col_store_db_run(c, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, p, &e) ||
        col_store_db_run(c, "COMMIT", 0, NULL, &e)) {
        BP_ERROR(MOD, "migration %s failed: %s", m->version, e.msg);
        col_store_db_run(c, "ROLLBACK", 0, NULL, NULL);
        return -EIO;
    }
    BP_INFO(MOD, "applied migration %s", m->version);
    *applied = true;
    return 0;
}

static int migrate_all(PGconn *c, const char *until)
{
    const char *key[] = {COL_STORE_SCHEMA_LOCK_KEY};
    struct col_store_db_err e = {.state = ""};
    if (col_store_db_run(c, "SELECT pg_advisory_lock($1::bigint)", 1, key, &e)) {
        BP_ERROR(MOD, "migrate: cannot take the migration lock: %s", e.msg);
        return -EIO;
    }
    int rc = 0, applied = 0;
    if (col_store_db_run(c,
                         "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, "
                         "applied_at timestamptz NOT NULL DEFAULT now())",
                         0, NULL, &e)) {
        BP_ERROR(MOD, "migrate: cannot create schema_migrations: %s", e.msg);
        rc = -EIO;
    }
    for (int i = 0; rc == 0 && i < col_migrations_count; i++) {
        if (until && strcmp(col_migrations[i].version, until) == 0)
            break;
        bool done = false;
        rc = migrate_one(c, &col_migrations[i], &done);
        applied += done;
    }
    col_store_db_run(c, "SELECT pg_advisory_unlock($1::bigint)", 1, key, NULL);
    if (rc == 0)
        BP_INFO(MOD, "schema up to date (%d migrations, %d applied now)", col_migrations_count,
                applied);
    return rc;
}

int col_store_migrate(const char *conninfo, int64_t timeout_ms)
{
    return col_store_migrate_until(conninfo, timeout_ms, NULL);
}

int col_store_migrate_until(const char *conninfo, int64_t timeout_ms, const char *until)
{
    if (!conninfo)
        return -EINVAL;
    int64_t deadline = bp_mono_ms() + timeout_ms;
    struct col_store_db_err e = {.state = ""};
    PGconn *c = NULL;
    bool waiting_logged = false;
    while (col_store_db_connect(conninfo, &c, &e) != 0) {
        int64_t left = deadline - bp_mono_ms();
        if (left <= 0) {
            BP_ERROR(MOD, "migrate: cannot connect to the database: %s", e.msg);
            return -ETIMEDOUT;
        }
        if (!waiting_logged)
            BP_INFO(MOD, "migrate: waiting for the database: %s", e.msg);
        waiting_logged = true;
        bp_sleep_ms(left < CONNECT_RETRY_MS ? left : CONNECT_RETRY_MS);
    }
    int rc = migrate_all(c, until);
    PQfinish(c);
    return rc;
}

/* Start-up reads: one short connection, one query, each row handed to row(). The row count,

 * or -EIO (logged with what was being read). */
static int load_rows(const char *conninfo, const char *what, const char *sql,
                     void (*row)(PGresult *r, int i, void *ctx), void *ctx)
{
    struct col_store_db_err e = {.state = ""};
    PGconn *c = NULL;
    if (col_store_db_connect(conninfo, &c, &e) != 0) {
        BP_ERROR(MOD, "cannot read %s: %s", what, e.msg);
        return -EIO;
    }
    PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
    int n = -EIO;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        n = PQntuples(r);
        for (int i = 0; i < n; i++)
            row(r, i, ctx);
    } else {
        col_store_db_err_set(&e, c, r);
        BP_ERROR(MOD, "cannot read %s: %s", what, e.msg);
    }
    PQclear(r);
    PQfinish(c);
    return n;
}

struct open_alert_cb {
    void (*cb)(void *ctx, const struct col_open_alert *a);
    void *ctx;
};

static void open_alert_row(PGresult *r, int i, void *ctx)
{
    struct open_alert_cb *x = ctx;
    struct col_open_alert a = {
        .alert_id = PQgetvalue(r, i, 0),
        .bot = PQgetvalue(r, i, 1),
        .check = PQgetvalue(r, i, 2),
        .severity = PQgetvalue(r, i, 3),
        .opened_at = strtoll(PQgetvalue(r, i, 4), NULL, 10),
    };
    x->cb(x->ctx, &a);
}

int col_store_load_open_alerts(const char *conninfo,
                               void (*cb)(void *ctx, const struct col_open_alert *a), void *ctx)
{
    /* The newest event of each alert; those not resolved, with when they were opened. */
    static const char *const sql =
        "SELECT l.alert_id, l.bot_id, l.check_name, l.severity, "
        "(extract(epoch FROM o.ts) * 1000)::bigint "
        "FROM (SELECT DISTINCT ON (alert_id) alert_id, bot_id, check_name, severity, event "
        "      FROM alert_events ORDER BY alert_id, id DESC) l "
        "JOIN alert_events o ON o.alert_id = l.alert_id AND o.event = 'opened' "
        "WHERE l.event <> 'resolved' ORDER BY o.ts";
    struct open_alert_cb x = {cb, ctx};
    return load_rows(conninfo, "open alerts", sql, open_alert_row, &x);
}

struct intent_cb {
    void (*cb)(void *ctx, const char *bot, const char *intended);
    void *ctx;
};

static void intent_row(PGresult *r, int i, void *ctx)
{
    struct intent_cb *x = ctx;
    x->cb(x->ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
}

int col_store_load_intents(const char *conninfo,
                           void (*cb)(void *ctx, const char *bot, const char *intended), void *ctx)
{
    static const char *const sql = "SELECT bot_id, intended FROM bot_intents ORDER BY bot_id";
    struct intent_cb x = {cb, ctx};
    return load_rows(conninfo, "intended states", sql, intent_row, &x);
}

int col_store_load_owners(const char *conninfo,
                          void (*cb)(void *ctx, const char *bot, const char *agent), void *ctx)
{
    static const char *const sql =
        "SELECT bot_id, agent_id FROM bots WHERE agent_id <> '' ORDER BY bot_id";
    struct intent_cb x = {cb, ctx}; /* two text columns, as intents */
    return load_rows(conninfo, "bots' agents", sql, intent_row, &x);
}

struct silence_cb {
    void (*cb)(void *ctx, const struct col_silence *s);
    void *ctx;
};

static void silence_row(PGresult *r, int i, void *ctx)
{
    struct silence_cb *x = ctx;
    struct col_silence sl = {.created_at = strtoll(PQgetvalue(r, i, 7), NULL, 10),
                             .ends_at = strtoll(PQgetvalue(r, i, 8), NULL, 10)};
    snprintf(sl.id, sizeof(sl.id), "%s", PQgetvalue(r, i, 0));
    snprintf(sl.bot, sizeof(sl.bot), "%s", PQgetvalue(r, i, 1));
    snprintf(sl.account, sizeof(sl.account), "%s", PQgetvalue(r, i, 2));
    snprintf(sl.host, sizeof(sl.host), "%s", PQgetvalue(r, i, 3));
    snprintf(sl.check, sizeof(sl.check), "%s", PQgetvalue(r, i, 4));
    snprintf(sl.reason, sizeof(sl.reason), "%s", PQgetvalue(r, i, 5));
    snprintf(sl.created_by, sizeof(sl.created_by), "%s", PQgetvalue(r, i, 6));
    x->cb(x->ctx, &sl);
}

int col_store_load_silences(const char *conninfo,
                            void (*cb)(void *ctx, const struct col_silence *s), void *ctx)
{
    static const char *const sql =
        "SELECT silence_id, bot_id, account, host, check_name, reason, created_by, "
        "(extract(epoch FROM created_at) * 1000)::bigint, "
        "(extract(epoch FROM ends_at) * 1000)::bigint "
        "FROM silences WHERE removed_at IS NULL AND ends_at > now() ORDER BY created_at";
    struct silence_cb x = {cb, ctx};
    return load_rows(conninfo, "silences", sql, silence_row, &x);
}
