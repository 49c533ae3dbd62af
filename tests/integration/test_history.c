/* SPDX-License-Identifier: MIT */
/* The partitioned history against a real PostgreSQL: the migration from the unpartitioned layout,
 * partitions made ahead, strays in the default partition, retention, COPY batches re-sent, and
 * reads that touch only the partitions of their range. */
#include "clock.h"
#include "fixture.h"
#include "http_db.h"
#include "migrations.h"
#include "store.h"
#include "store_load.h"
#include "store_db.h"
#include "store_maint.h"
#include "store_op.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h> /* cmocka.h needs these three first */
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define WAIT_MS 20000
#define DAY COL_DAY_MS
#define JAN1 INT64_C(1704067200000) /* 2024-01-01 00:00:00 UTC */

static const char *const history_tables[] = {
    "trades", "status_transitions", "alert_events", "bot_samples", "commands", "command_results"};

/* ---- helpers ----------------------------------------------------------------------------- */

/* Runs sql (no result wanted) on conninfo; fails the test on error. */
static void exec_on(struct bpt_env *env, const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    bpt_assert(env, PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    char err[512];
    snprintf(err, sizeof(err), "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    bpt_assert(env, ok, "%s: %s", sql, err);
}

/* The version of the migration that partitions the history (whatever its number). */
static const char *partitions_migration(void)
{
    for (int i = 0; i < col_migrations_count; i++)
        if (strstr(col_migrations[i].version, "_partitions"))
            return col_migrations[i].version;
    return NULL;
}

static struct col_hist_opts opts_keep_all(void)
{
    return (struct col_hist_opts){.partition_days = 1, .ahead_days = 2};
}

static int64_t count_parts(struct bpt_env *env, const char *table)
{
    const char *p[] = {table};
    return bpt_pg_int(env,
                      "SELECT count(*) FROM pg_inherits WHERE inhparent = $1::regclass AND "
                      "inhrelid::regclass::text <> $1 || '_default'",
                      1, p);
}

static int64_t has_table(struct bpt_env *env, const char *name)
{
    const char *p[] = {name};
    return bpt_pg_int(env, "SELECT count(*) FROM pg_class WHERE relname = $1", 1, p);
}

static struct col_store *store_start(struct bpt_env *env, int batch_max)
{
    struct col_store_opts o = {.conninfo = bpt_pg_conninfo(env),
                               .spool_max = 10000,
                               .batch_max = batch_max,
                               .retry_ms = 200};
    struct col_store *s = NULL;
    bpt_assert(env, col_store_new(&o, &s) == 0 && col_store_start(s) == 0, "store start");
    return s;
}

static void wait_written(struct bpt_env *env, struct col_store *s, uint64_t n,
                         struct col_store_stats *out)
{
    int64_t deadline = bp_mono_ms() + WAIT_MS;
    for (;;) {
        col_store_get_stats(s, out);
        if (out->written >= n && out->spooled == 0)
            return;
        bpt_assert(env, bp_mono_ms() < deadline, "written %" PRIu64 " of %" PRIu64, out->written,
                   n);
        bp_sleep_ms(5);
    }
}

static void trade_op(struct col_store_op *op, const char *boot, int64_t seq, int64_t trade_ts)
{
    memset(op, 0, sizeof(*op));
    op->kind = COL_OP_TRADE;
    op->ts = bp_wall_ms();
    snprintf(op->u.trade.agent, sizeof(op->u.trade.agent), "agent-h");
    snprintf(op->u.trade.boot, sizeof(op->u.trade.boot), "%s", boot);
    op->u.trade.seq = seq;
    snprintf(op->u.trade.bot, sizeof(op->u.trade.bot), "bot-h%" PRId64, seq % 3);
    snprintf(op->u.trade.trade.id, sizeof(op->u.trade.trade.id), "T%" PRId64, seq);
    op->u.trade.trade.trade_ts = trade_ts;
    snprintf(op->u.trade.trade.symbol, sizeof(op->u.trade.trade.symbol), "ETHUSDT");
    snprintf(op->u.trade.trade.side, sizeof(op->u.trade.trade.side), "buy");
}

/* ---- group: one PostgreSQL ---------------------------------------------------------------- */

static int group_setup(void **state)
{
    struct bpt_env *env = bpt_env_new("history");
    if (!env)
        return -1;
    *state = env;
    if (bpt_pg_start(env) != 0) {
        bpt_dump_logs(env);
        return -1;
    }
    return col_store_migrate(bpt_pg_conninfo(env), 10000) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    bpt_env_free(*state);
    return 0;
}

/* ---- the migration from the unpartitioned layout ------------------------------------------ */

/* Rows in every history table of the old layout: 3 days, a row on 1999-12-31, duplicates of
 * nothing. */
static const char *const old_rows_sql =
    "INSERT INTO status_transitions (event_id, bot_id, ts, from_status, to_status, check_name,"
    " reason) SELECT 'r-' || i, 'bot-' || (i % 5), timestamptz '2024-03-01 00:00:00+00'"
    " + i * interval '7 minutes', 'healthy', 'stale', 'heartbeat', 'tab\there'"
    " FROM generate_series(1, 900) i;"
    "INSERT INTO status_transitions (event_id, bot_id, ts, from_status, to_status)"
    " VALUES ('r-old', 'bot-1', '1999-12-31 23:59:59.999+00', 'unknown', 'healthy');"
    "INSERT INTO trades (agent_id, boot, seq, bot_id, trade_id, trade_ts, symbol, side,"
    " received_at) SELECT 'a1', 'b1', i, 'bot-' || (i % 5), 'T' || i,"
    " timestamptz '2024-03-01 00:00:00+00' + i * interval '5 minutes', 'BTCUSDT', 'sell',"
    " timestamptz '2024-03-01 00:00:01+00' + i * interval '5 minutes'"
    " FROM generate_series(1, 1000) i;"
    "INSERT INTO alert_events (event_id, alert_id, bot_id, check_name, event, severity, status,"
    " reason, ts) SELECT 'e-' || i, 'e-' || (i - i % 2), 'bot-1', 'heartbeat',"
    " CASE WHEN i % 2 = 0 THEN 'opened' ELSE 'resolved' END, 'critical', 'down', 'gone',"
    " timestamptz '2024-03-02 10:00:00+00' + i * interval '1 hour' FROM generate_series(1, 60) i;"
    "INSERT INTO bot_samples (bot_id, ts, proc_cpu_pct, proc_rss_kb, host_cpu_pct, host_mem_pct,"
    " host_disk_pct, host_load1, proc_threads, proc_fds, host_swap_pct)"
    " SELECT 'bot-' || (i % 5), timestamptz '2024-03-01 00:00:00+00' + i * interval '1 minute',"
    " i % 100, 1000 + i, 1.5, 40, 70, 0.25, CASE WHEN i % 2 = 0 THEN 7 END, NULL, 2.5"
    " FROM generate_series(1, 4000) i;"
    "INSERT INTO commands (nonce, agent_id, bot_id, action, ts, expires, reason)"
    " SELECT 'n-' || i, 'a1', 'bot-2', 'restart', timestamptz '2024-03-01 12:00:00+00'"
    " + i * interval '3 hours', timestamptz '2024-03-01 12:05:00+00' + i * interval '3 hours',"
    " 'down' FROM generate_series(1, 20) i;"
    "INSERT INTO command_results (agent_id, boot, seq, nonce, bot_id, action, outcome, exit_code,"
    " duration_ms, output, reason, ts, received_at) SELECT 'a1', 'b1', i, 'n-' || i, 'bot-2',"
    " 'restart', 'ok', 0, 120, 'line\nline', '', timestamptz '2024-03-01 12:00:02+00'"
    " + i * interval '3 hours', timestamptz '2024-03-01 12:00:03+00' + i * interval '3 hours'"
    " FROM generate_series(1, 20) i";

/* A fingerprint of every row of a table, whatever the order of its columns; NULLs left out, so
 * a nullable column a later migration adds (010's bot_samples.proc_restarts) changes nothing. */
static char *fingerprint(struct bpt_env *env, const char *conninfo, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) || ':' || md5(string_agg(j, '|' ORDER BY j)) FROM"
             " (SELECT jsonb_strip_nulls(to_jsonb(t))::text j FROM %s t) x",
             table);
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, sql);
    char *out = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                    ? strdup(PQgetvalue(r, 0, 0))
                    : NULL;
    if (!out)
        fprintf(stderr, "fingerprint %s: %s", table, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    bpt_assert(env, out, "fingerprint of %s", table);
    return out;
}

static int64_t int_on(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, sql);
    int64_t v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                    ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                    : -1;
    PQclear(r);
    PQfinish(c);
    return v;
}

/* A database filled by the previous schema (the migrations before the partitioning) keeps every
 * row, value for value, once migrated; no row is left in a default partition; the unique keys
 * still refuse a duplicate. */
static void test_migration_keeps_every_row(void **state)
{
    struct bpt_env *env = *state;
    const char *until = partitions_migration();
    bpt_assert(env, until, "no *_partitions migration");
    exec_on(env, bpt_pg_conninfo(env), "CREATE DATABASE old_layout");
    char conninfo[1200];
    snprintf(conninfo, sizeof(conninfo), "%s dbname=old_layout", bpt_pg_conninfo(env));
    bpt_assert(env, col_store_migrate_until(conninfo, 10000, until) == 0, "old schema");
    bpt_assert(env, int_on(conninfo, "SELECT count(*) FROM pg_partitioned_table") == 0,
               "the old schema is partitioned already");
    exec_on(env, conninfo, old_rows_sql);

    char *before[6];
    for (int i = 0; i < 6; i++)
        before[i] = fingerprint(env, conninfo, history_tables[i]);
    bpt_assert(env, col_store_migrate(conninfo, 10000) == 0, "migrate to the partitioned layout");
    for (int i = 0; i < 6; i++) {
        char *after = fingerprint(env, conninfo, history_tables[i]);
        bpt_assert(env, strcmp(before[i], after) == 0, "%s: %s before, %s after", history_tables[i],
                   before[i], after);
        free(after);
        free(before[i]);
    }
    bpt_assert(env, int_on(conninfo, "SELECT count(*) FROM pg_partitioned_table") == 7,
               "partitioned tables");
    int64_t strays = int_on(conninfo, "SELECT (SELECT count(*) FROM trades_default) +"
                                      " (SELECT count(*) FROM status_transitions_default) +"
                                      " (SELECT count(*) FROM bot_samples_default)");
    bpt_assert(env, strays == 0, "%" PRId64 " rows in default partitions", strays);
    bpt_assert(env,
               int_on(conninfo, "SELECT count(*) FROM pg_class WHERE relname ="
                                " 'status_transitions_p19991231'") == 1,
               "a partition for the 1999 row");
    /* New rows get fresh ids after the old ones; a re-sent event still collides. */
    exec_on(env, conninfo,
            "INSERT INTO status_transitions (event_id, bot_id, ts, from_status, to_status)"
            " VALUES ('r-1', 'bot-1', timestamptz '2024-03-01 00:07:00+00', 'healthy', 'stale')"
            " ON CONFLICT (event_id, ts) DO NOTHING;"
            "INSERT INTO status_transitions (event_id, bot_id, ts, from_status, to_status)"
            " VALUES ('r-new', 'bot-1', now(), 'stale', 'healthy')");
    bpt_assert(env, int_on(conninfo, "SELECT count(*) FROM status_transitions") == 902,
               "re-sent transition stored twice");
    bpt_assert(env,
               int_on(conninfo, "SELECT ((SELECT id FROM status_transitions WHERE event_id ="
                                " 'r-new') > (SELECT max(id) FROM status_transitions WHERE"
                                " event_id <> 'r-new'))::int") == 1,
               "ids restart after the migration");
}

/* ---- partitions made ahead, strays, retention ---------------------------------------------- */

/* A pass makes each table's partitions from today to the days ahead; a trade of today lands in
 * today's partition, not the default one. */
static void test_partitions_made_ahead(void **state)
{
    struct bpt_env *env = *state;
    struct col_hist_opts o = opts_keep_all();
    struct col_hist_stats st = {0};
    int64_t now = bp_wall_ms();
    bpt_assert(env, col_store_maintain(bpt_pg_conninfo(env), &o, now, 0, &st) == 0, "pass");
    for (int i = 0; i < 6; i++) {
        int64_t n = count_parts(env, history_tables[i]);
        bpt_assert(env, n == 3, "%s: %" PRId64 " partitions (today and 2 ahead)", history_tables[i],
                   n);
    }
    bpt_assert(env, st.t[COL_HIST_TRADES].created == 3 && st.t[COL_HIST_TRADES].partitions == 3,
               "trades: created %" PRIu64, st.t[COL_HIST_TRADES].created);
    /* a second pass finds them there */
    struct col_hist_stats st2 = {0};
    bpt_assert(env, col_store_maintain(bpt_pg_conninfo(env), &o, now, 0, &st2) == 0, "pass 2");
    bpt_assert(env, st2.t[COL_HIST_TRADES].created == 0, "made again");

    struct col_store *s = store_start(env, 100);
    struct col_store_op op;
    trade_op(&op, "boot-today", 1, now);
    bpt_assert(env, col_store_submit(s, &op) == 0, "submit");
    struct col_store_stats ss;
    wait_written(env, s, 1, &ss);
    col_store_stop(s, 2000);
    col_store_free(s);
    char name[64];
    col_parts_name("trades", now / DAY * DAY, name, sizeof(name));
    const char *p[] = {name};
    int64_t n = bpt_pg_int(env,
                           "SELECT count(*) FROM trades WHERE boot = 'boot-today' AND"
                           " tableoid::regclass::text = $1",
                           1, p);
    bpt_assert(env, n == 1, "today's trade not in %s", name);
}

/* A trade for a day no partition covers lands in the default partition (the write does not
 * fail); the next pass reports it and moves it into a partition made for its day. */
static void test_stray_row_reported_and_moved(void **state)
{
    struct bpt_env *env = *state;
    struct col_store *s = store_start(env, 100);
    struct col_store_op op;
    trade_op(&op, "boot-stray", 1, JAN1 + 5 * DAY + 3600000);
    bpt_assert(env, col_store_submit(s, &op) == 0, "submit");
    struct col_store_stats ss;
    wait_written(env, s, 1, &ss);
    col_store_stop(s, 2000);
    col_store_free(s);
    bpt_assert(env, bpt_pg_int(env, "SELECT count(*) FROM trades_default", 0, NULL) == 1,
               "the stray is not in trades_default");

    struct col_hist_opts o = opts_keep_all();
    struct col_hist_stats st = {0};
    bpt_assert(env, col_store_maintain(bpt_pg_conninfo(env), &o, bp_wall_ms(), 0, &st) == 0,
               "pass");
    bpt_assert(env, st.t[COL_HIST_TRADES].strays == 1, "strays %" PRIu64,
               st.t[COL_HIST_TRADES].strays);
    bpt_assert(env, st.t[COL_HIST_TRADES].default_rows == 0, "default rows %" PRId64,
               st.t[COL_HIST_TRADES].default_rows);
    bpt_assert(env, bpt_pg_int(env, "SELECT count(*) FROM trades_default", 0, NULL) == 0,
               "trades_default not emptied");
    int64_t n = bpt_pg_int(env,
                           "SELECT count(*) FROM trades WHERE boot = 'boot-stray' AND"
                           " tableoid::regclass::text = 'trades_p20240106'",
                           0, NULL);
    bpt_assert(env, n == 1, "the stray is not in trades_p20240106");
}

/* Samples older than 30 days go by whole partitions; the rest, and the tables kept forever,
 * stay as they were. */
static void test_retention_drops_only_old_partitions(void **state)
{
    struct bpt_env *env = *state;
    int64_t now = bp_wall_ms(), today = now / DAY * DAY;
    struct col_hist_opts o = opts_keep_all();
    struct col_hist_stats st = {0};
    /* partitions for the last 40 days, with a sample at noon of each */
    bpt_assert(env, col_store_maintain(bpt_pg_conninfo(env), &o, now, 0, &st) == 0, "pass");
    exec_on(env, bpt_pg_conninfo(env),
            "INSERT INTO bot_samples (bot_id, ts) SELECT 'bot-r', date_trunc('day', now() AT TIME"
            " ZONE 'UTC') AT TIME ZONE 'UTC' - i * interval '1 day' + interval '12 hours'"
            " FROM generate_series(1, 40) i;"
            "INSERT INTO trades (agent_id, boot, seq, bot_id, trade_ts, received_at) SELECT"
            " 'agent-r', 'boot-r', i, 'bot-r', now() - i * interval '1 day', now()"
            " FROM generate_series(1, 40) i");
    st = (struct col_hist_stats){0};
    bpt_assert(env, col_store_maintain(bpt_pg_conninfo(env), &o, now, 0, &st) == 0, "pass");
    int64_t samples_parts = count_parts(env, "bot_samples");
    bpt_assert(env, samples_parts >= 43, "%" PRId64 " sample partitions", samples_parts);

    o.retention_ms[COL_RET_SAMPLES] = 30 * DAY;
    st = (struct col_hist_stats){0};
    bpt_assert(env, col_store_maintain(bpt_pg_conninfo(env), &o, now, 0, &st) == 0, "pass");
    /* the partitions wholly before now - 30 d: days -40 .. -31 (day -30 ends after the cut) */
    int64_t cut = now - 30 * DAY, expect = 0;
    for (int i = 1; i <= 40; i++)
        expect += today - i * DAY + DAY <= cut;
    bpt_assert(env, (int64_t)st.t[COL_HIST_SAMPLES].dropped == expect,
               "dropped %" PRIu64 " sample partitions, expected %" PRId64,
               st.t[COL_HIST_SAMPLES].dropped, expect);
    int64_t left =
        bpt_pg_int(env, "SELECT count(*) FROM bot_samples WHERE bot_id = 'bot-r'", 0, NULL);
    bpt_assert(env, left == 40 - expect, "%" PRId64 " samples left", left);
    int64_t older = bpt_pg_int(env,
                               "SELECT count(*) FROM bot_samples WHERE ts < now() - interval"
                               " '31 days'",
                               0, NULL);
    bpt_assert(env, older == 0, "%" PRId64 " samples past the retention", older);
    bpt_assert(env, count_parts(env, "bot_samples") == samples_parts - expect, "partitions left");
    bpt_assert(env, st.t[COL_HIST_TRADES].dropped == 0, "trades dropped with retention 0");
    bpt_assert(env,
               bpt_pg_int(env, "SELECT count(*) FROM trades WHERE boot = 'boot-r'", 0, NULL) == 40,
               "trades lost");
    bpt_assert(env, has_table(env, "trades_p20240106") == 1, "an old trades partition dropped");
}

/* Another session holding the schema lock: the pass does nothing and says so. */
static void test_one_collector_at_a_time(void **state)
{
    struct bpt_env *env = *state;
    PGconn *c = PQconnectdb(bpt_pg_conninfo(env));
    const char *key[] = {COL_STORE_SCHEMA_LOCK_KEY};
    PGresult *r =
        PQexecParams(c, "SELECT pg_advisory_lock($1::bigint)", 1, NULL, key, NULL, NULL, 0);
    bpt_assert(env, PQresultStatus(r) == PGRES_TUPLES_OK, "lock");
    PQclear(r);
    struct col_hist_opts o = opts_keep_all();
    o.retention_ms[COL_RET_TRADES] = 1 * DAY;
    struct col_hist_stats st = {0};
    int rc = col_store_maintain(bpt_pg_conninfo(env), &o, bp_wall_ms(), 0, &st);
    PQfinish(c);
    bpt_assert(env, rc == -EBUSY, "pass with the lock held elsewhere: %d", rc);
    bpt_assert(env, st.t[COL_HIST_TRADES].dropped == 0, "dropped while another held the lock");
    bpt_assert(env, has_table(env, "trades_p20240106") == 1, "dropped while another held the lock");
}

/* ---- COPY batches re-sent ---------------------------------------------------------------------
 */

/* A batch re-sent (some rows stored already, some new) goes through the staging table: the new
 * rows are stored, none twice. */
static void test_copy_resent_batch_exactly_once(void **state)
{
    struct bpt_env *env = *state;
    struct col_store *s = store_start(env, 1000);
    struct col_store_op op;
    int64_t now = bp_wall_ms();
    for (int i = 1; i <= 500; i++) {
        trade_op(&op, "boot-copy", i, now + i);
        bpt_assert(env, col_store_submit(s, &op) == 0, "submit");
    }
    struct col_store_stats st;
    wait_written(env, s, 500, &st);
    uint64_t copies = st.copy_batches, staged = st.copy_staged;
    bpt_assert(env, copies >= 1, "no COPY batch");
    for (int i = 251; i <= 750; i++) { /* half of them stored already */
        trade_op(&op, "boot-copy", i, now + i);
        bpt_assert(env, col_store_submit(s, &op) == 0, "submit");
    }
    wait_written(env, s, 1000, &st);
    col_store_stop(s, 2000);
    col_store_free(s);
    bpt_assert(env, st.copy_staged > staged, "the re-sent batch did not go through the staging");
    int64_t n = bpt_pg_int(env, "SELECT count(*) FROM trades WHERE boot = 'boot-copy'", 0, NULL);
    bpt_assert(env, n == 750, "%" PRId64 " trades stored", n);
}

/* ---- reads touch only their partitions ------------------------------------------------------- */

/* EXPLAIN ANALYZE of q (prepared, with params) on one connection: the plan's text. */
static char *explain(struct bpt_env *env, const char *sql, int np, const char *const *params)
{
    PGconn *c = PQconnectdb(bpt_pg_conninfo(env));
    PGresult *r = PQprepare(c, "q", sql, np, NULL);
    bpt_assert(env, PQresultStatus(r) == PGRES_COMMAND_OK, "prepare: %s", PQerrorMessage(c));
    PQclear(r);
    /* EXECUTE takes no bind parameters: the values as literals (a NULL as NULL). */
    char ex[512] = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE q(";
    for (int i = 0; i < np; i++) {
        char *lit = params[i] ? PQescapeLiteral(c, params[i], strlen(params[i])) : NULL;
        size_t n = strlen(ex);
        snprintf(ex + n, sizeof(ex) - n, "%s%s", i ? ", " : "", lit ? lit : "NULL");
        PQfreemem(lit);
    }
    strcat(ex, ")");
    r = PQexec(c, ex);
    bpt_assert(env, PQresultStatus(r) == PGRES_TUPLES_OK, "explain: %s", PQerrorMessage(c));
    size_t len = 1;
    for (int i = 0; i < PQntuples(r); i++)
        len += strlen(PQgetvalue(r, i, 0)) + 1;
    char *out = calloc(1, len);
    for (int i = 0; i < PQntuples(r); i++) {
        strcat(out, PQgetvalue(r, i, 0));
        strcat(out, "\n");
    }
    PQclear(r);
    PQfinish(c);
    return out;
}

/* Partitions of table named in plan, outside [lo, hi) days since today (negative: past). */
static void assert_only(struct bpt_env *env, const char *what, const char *plan, const char *table,
                        int64_t today, int lo_day, int hi_day)
{
    int scanned = 0;
    for (int d = -45; d <= 2; d++) {
        char name[64];
        col_parts_name(table, today + d * DAY, name, sizeof(name));
        bool in = strstr(plan, name) != NULL;
        scanned += in;
        bpt_assert(env, !in || (d >= lo_day && d < hi_day), "%s reads %s (day %d):\n%s", what, name,
                   d, plan);
    }
    bpt_assert(env, scanned > 0, "%s reads none of %s's partitions:\n%s", what, table, plan);
    char def[64];
    snprintf(def, sizeof(def), "%s_default", table);
    bpt_assert(env, !strstr(plan, def) || strstr(plan, "never executed"), "%s reads %s:\n%s", what,
               def, plan);
}

static void test_reads_touch_only_their_partitions(void **state)
{
    struct bpt_env *env = *state;
    int64_t now = bp_wall_ms(), today = now / DAY * DAY;
    struct col_hist_opts o = opts_keep_all();
    struct col_hist_stats st = {0};
    /* 40 days of partitions for every table (rows in each day make them) */
    exec_on(env, bpt_pg_conninfo(env),
            "INSERT INTO status_transitions (event_id, bot_id, ts, from_status, to_status)"
            " SELECT 'x-' || i, 'bot-x', now() - i * interval '1 day', 'healthy', 'stale'"
            " FROM generate_series(1, 40) i;"
            "INSERT INTO trades (agent_id, boot, seq, bot_id, trade_ts, received_at) SELECT"
            " 'agent-x', 'boot-x', i, 'bot-x', now() - i * interval '1 day', now()"
            " FROM generate_series(1, 40) i;"
            "INSERT INTO alert_events (event_id, alert_id, bot_id, event, severity, ts) SELECT"
            " 'ax-' || i, 'ax-' || i, 'bot-x', 'opened', 'warning', now() - i * interval '1 day'"
            " FROM generate_series(1, 40) i;"
            "INSERT INTO bot_samples (bot_id, ts) SELECT 'bot-x', now() - i * interval '1 day'"
            " FROM generate_series(1, 40) i;"
            "INSERT INTO commands (nonce, agent_id, bot_id, action, ts, expires) SELECT"
            " 'nx-' || i, 'agent-x', 'bot-x', 'restart', now() - i * interval '1 day', now()"
            " FROM generate_series(1, 40) i;"
            "INSERT INTO command_results (agent_id, boot, seq, nonce, outcome, exit_code,"
            " duration_ms, ts, received_at) SELECT 'agent-x', 'boot-x', i, 'nx-' || i, 'ok', 0, 1,"
            " now() - i * interval '1 day', now() FROM generate_series(1, 40) i");
    bpt_assert(env, col_store_maintain(bpt_pg_conninfo(env), &o, now, 0, &st) == 0, "pass");

    /* The range: the 7 days ending at today's 00:00, days -7 .. -1. */
    char from[24], to[24], day[24], bucket[24] = "3600000", before[24], limit[8] = "100";
    snprintf(from, sizeof(from), "%" PRId64, today - 7 * DAY);
    snprintf(to, sizeof(to), "%" PRId64, today);
    snprintf(day, sizeof(day), "%" PRId64, today - 7 * DAY);
    snprintf(before, sizeof(before), "%" PRId64, today);
    const char *report[] = {"bot-x", from, to, day};
    const char *samples[] = {"bot-x", from, to, bucket};
    char *plan = explain(env, col_http_db_sql(COL_SQL_REPORT_TRANSITIONS), 4, report);
    assert_only(env, "report transitions", plan, "status_transitions", today, -7, 0);
    free(plan);
    plan = explain(env, col_http_db_sql(COL_SQL_REPORT_TRADES), 3, report);
    assert_only(env, "report trades", plan, "trades", today, -7, 0);
    free(plan);
    plan = explain(env, col_http_db_sql(COL_SQL_REPORT_ALERTS), 3, report);
    assert_only(env, "report alerts", plan, "alert_events", today, -7, 0);
    free(plan);
    plan = explain(env, col_http_db_sql(COL_SQL_REPORT_RESTARTS), 3, report);
    assert_only(env, "report restarts", plan, "commands", today, -7, 0);
    assert_only(env, "report restarts", plan, "command_results", today, -8, 1);
    free(plan);
    plan = explain(env, col_http_db_sql(COL_SQL_SAMPLES), 3, samples);
    assert_only(env, "samples", plan, "bot_samples", today, -7, 0);
    free(plan);
    plan = explain(env, col_http_db_sql(COL_SQL_TRADE_BUCKETS), 4, samples);
    assert_only(env, "trade buckets", plan, "trades", today, -7, 0);
    free(plan);
    (void)before;
    (void)limit;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migration_keeps_every_row),
        cmocka_unit_test(test_partitions_made_ahead),
        cmocka_unit_test(test_stray_row_reported_and_moved),
        cmocka_unit_test(test_retention_drops_only_old_partitions),
        cmocka_unit_test(test_one_collector_at_a_time),
        cmocka_unit_test(test_copy_resent_batch_exactly_once),
        cmocka_unit_test(test_reads_touch_only_their_partitions),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
