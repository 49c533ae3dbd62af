/* SPDX-License-Identifier: MIT */
/* PostgreSQL persistence: migrations at start, then one writer thread that drains a bounded
 * spool of operations in batched, idempotent transactions (multi-row parameterized INSERTs). */
#include "store.h"

#include "clock.h"
#include "log.h"
#include "migrations.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "store"
#define MIGRATE_LOCK_KEY "7093569655663551234" /* pg_advisory_lock key shared by all collectors */
#define CONNECT_RETRY_MS 500
#define DROP_LOG_EVERY_MS 10000
#define MAX_COLS 13        /* widest row: command_results */
#define STMT_ROWS_MAX 1000 /* rows per INSERT statement (10,000 parameters at most) */
#define NUM_LEN 32         /* one formatted number */
#define SQL_PER_VALUE 48   /* "),(to_timestamp($10000::float8 / 1000)" fits */
#define DEFAULT_BATCH_MAX 1000
#define DEFAULT_RETRY_MS 1000

/* The last database error: SQLSTATE (may be empty) and a one-line message. */
struct db_err {
    char state[6];
    char msg[256];
};

/* How one kind of operation becomes rows of one table. */
struct kind_desc {
    enum col_store_op_kind kind;
    const char *head; /* "INSERT INTO t (cols) VALUES " */
    int ncols;
    unsigned ts_cols;     /* bit i set: column i is Unix ms, stored via to_timestamp */
    const char *conflict; /* ON CONFLICT clause */
    /* Fills ncols text values (NULL = SQL NULL); numbers are formatted into num[]. */
    void (*fill)(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN]);
    /* Primary key of an upsert (duplicates in one statement are collapsed), else NULL. */
    const char *(*key)(const struct col_store_op *op);
};

struct keyed {
    const char *key;
    int idx;
};

struct col_store {
    char *conninfo;
    size_t spool_max;
    int batch_max;
    int retry_ms;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: work arrived or stop requested */
    struct col_store_op *ring;
    size_t head, count;
    bool started, stopping;
    int64_t stop_deadline;
    int64_t last_drop_log; /* mono ms; 0 = never logged */
    struct col_store_stats st;
    pthread_t thread;

    /* Writer thread only. Ops in the ring between head and head+count are never touched by
     * submitters, so the writer reads them in place while the mutex is released. */
    PGconn *conn;
    bool outage;
    int64_t outage_since;
    const struct col_store_op **batch; /* batch_max */
    struct keyed *keyed;               /* batch_max */
    int *idx;                          /* batch_max */
    const char **vals;                 /* STMT_ROWS_MAX * MAX_COLS */
    char (*nums)[NUM_LEN];             /* STMT_ROWS_MAX * MAX_COLS */
    char *sql;
    size_t sql_cap;
};

/* ---- database helpers -------------------------------------------------------------------- */

static void db_err_set(struct db_err *e, PGconn *c, const PGresult *r)
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

/* Runs sql: with PQexec (several statements allowed) when np == 0, else PQexecParams with
 * np text parameters. 0 or -EIO with e filled. */
static int db_run(PGconn *c, const char *sql, int np, const char *const *vals, struct db_err *e)
{
    PGresult *r = np ? PQexecParams(c, sql, np, NULL, vals, NULL, NULL, 0) : PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -EIO;
    if (rc)
        db_err_set(e, c, r);
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

/* Connects; 0 or -ECONNREFUSED with e filled. A connect_timeout in conninfo wins over ours. */
static int db_connect(const char *conninfo, PGconn **out, struct db_err *e)
{
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const vals[] = {"10", conninfo, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c && PQstatus(c) == CONNECTION_OK) {
        PQsetNoticeProcessor(c, db_notice, NULL);
        *out = c;
        return 0;
    }
    db_err_set(e, c, NULL);
    PQfinish(c);
    *out = NULL;
    return -ECONNREFUSED;
}

/* ---- migrations -------------------------------------------------------------------------- */

static int migrate_one(PGconn *c, const struct col_migration *m, bool *applied)
{
    const char *p[] = {m->version};
    struct db_err e = {.state = ""};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, p,
                               NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        db_err_set(&e, c, r);
        PQclear(r);
        BP_ERROR(MOD, "migration %s: cannot read schema_migrations: %s", m->version, e.msg);
        return -EIO;
    }
    int found = PQntuples(r);
    PQclear(r);
    *applied = false;
    if (found > 0)
        return 0;
    if (db_run(c, "BEGIN", 0, NULL, &e) || db_run(c, m->sql, 0, NULL, &e) ||
        db_run(c, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, p, &e) ||
        db_run(c, "COMMIT", 0, NULL, &e)) {
        BP_ERROR(MOD, "migration %s failed: %s", m->version, e.msg);
        db_run(c, "ROLLBACK", 0, NULL, NULL);
        return -EIO;
    }
    BP_INFO(MOD, "applied migration %s", m->version);
    *applied = true;
    return 0;
}

static int migrate_all(PGconn *c)
{
    const char *key[] = {MIGRATE_LOCK_KEY};
    struct db_err e = {.state = ""};
    if (db_run(c, "SELECT pg_advisory_lock($1::bigint)", 1, key, &e)) {
        BP_ERROR(MOD, "migrate: cannot take the migration lock: %s", e.msg);
        return -EIO;
    }
    int rc = 0, applied = 0;
    if (db_run(c,
               "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, "
               "applied_at timestamptz NOT NULL DEFAULT now())",
               0, NULL, &e)) {
        BP_ERROR(MOD, "migrate: cannot create schema_migrations: %s", e.msg);
        rc = -EIO;
    }
    for (int i = 0; rc == 0 && i < col_migrations_count; i++) {
        bool done = false;
        rc = migrate_one(c, &col_migrations[i], &done);
        applied += done;
    }
    db_run(c, "SELECT pg_advisory_unlock($1::bigint)", 1, key, NULL);
    if (rc == 0)
        BP_INFO(MOD, "schema up to date (%d migrations, %d applied now)", col_migrations_count,
                applied);
    return rc;
}

int col_store_migrate(const char *conninfo, int64_t timeout_ms)
{
    if (!conninfo)
        return -EINVAL;
    int64_t deadline = bp_mono_ms() + timeout_ms;
    struct db_err e = {.state = ""};
    PGconn *c = NULL;
    bool waiting_logged = false;
    while (db_connect(conninfo, &c, &e) != 0) {
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
    int rc = migrate_all(c);
    PQfinish(c);
    return rc;
}

/* Start-up reads: one short connection, one query, each row handed to row(). The row count,
 * or -EIO (logged with what was being read). */
static int load_rows(const char *conninfo, const char *what, const char *sql,
                     void (*row)(PGresult *r, int i, void *ctx), void *ctx)
{
    struct db_err e = {.state = ""};
    PGconn *c = NULL;
    if (db_connect(conninfo, &c, &e) != 0) {
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
        db_err_set(&e, c, r);
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

/* ---- rows per kind ----------------------------------------------------------------------- */

static const char *fmt_i64(char *buf, int64_t x)
{
    snprintf(buf, NUM_LEN, "%" PRId64, x);
    return buf;
}

static const char *fmt_f64(char *buf, double x)
{
    snprintf(buf, NUM_LEN, "%.17g", x);
    return buf;
}

/* 0 (never) becomes NULL. */
static const char *fmt_ms_opt(char *buf, int64_t ms)
{
    return ms != 0 ? fmt_i64(buf, ms) : NULL;
}

static void fill_agent(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    v[0] = op->u.agent.agent;
    v[1] = op->u.agent.host;
    v[2] = op->u.agent.version;
    v[3] = op->u.agent.boot;
    v[4] = op->u.agent.online ? "t" : "f";
    v[5] = fmt_i64(num[5], op->ts);
    v[6] = fmt_i64(num[6], op->u.agent.clock_offset_ms);
}

static void fill_bot(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    v[0] = op->u.bot.id;
    v[1] = op->u.bot.agent;
    v[2] = op->u.bot.account;
    v[3] = op->u.bot.exchange;
    v[4] = op->u.bot.host;
    v[5] = col_status_name(op->u.bot.status);
    v[6] = op->u.bot.reason;
    v[7] = fmt_i64(num[7], op->u.bot.since);
    v[8] = fmt_ms_opt(num[8], op->u.bot.last_heartbeat);
    v[9] = fmt_ms_opt(num[9], op->u.bot.last_trade);
}

static void fill_transition(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    v[0] = op->event_id;
    v[1] = op->u.transition.bot;
    v[2] = fmt_i64(num[2], op->ts);
    v[3] = op->u.transition.from_status;
    v[4] = op->u.transition.to_status;
    v[5] = op->u.transition.check;
    v[6] = op->u.transition.reason;
}

static void fill_trade(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    v[0] = op->u.trade.agent;
    v[1] = op->u.trade.boot;
    v[2] = fmt_i64(num[2], op->u.trade.seq);
    v[3] = op->u.trade.bot;
    v[4] = op->u.trade.trade.id;
    v[5] = fmt_i64(num[5], op->u.trade.trade.trade_ts);
    v[6] = op->u.trade.trade.symbol;
    v[7] = op->u.trade.trade.side;
    v[8] = fmt_i64(num[8], op->ts);
}

static void fill_alert(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    v[0] = op->event_id;
    v[1] = op->u.alert.alert_id;
    v[2] = op->u.alert.bot;
    v[3] = op->u.alert.check;
    v[4] = op->u.alert.event;
    v[5] = op->u.alert.severity;
    v[6] = op->u.alert.status;
    v[7] = op->u.alert.reason;
    v[8] = fmt_i64(num[8], op->ts);
}

/* Unknown values (-1) are stored as NULL. */
static void fill_sample(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    const struct bp_stats *st = &op->u.sample.stats;
    v[0] = op->u.sample.bot;
    v[1] = fmt_i64(num[1], op->ts);
    v[2] = st->proc_cpu_pct >= 0 ? fmt_f64(num[2], st->proc_cpu_pct) : NULL;
    v[3] = st->proc_rss_kb >= 0 ? fmt_i64(num[3], st->proc_rss_kb) : NULL;
    v[4] = st->host_cpu_pct >= 0 ? fmt_f64(num[4], st->host_cpu_pct) : NULL;
    v[5] = st->host_mem_pct >= 0 ? fmt_f64(num[5], st->host_mem_pct) : NULL;
    v[6] = st->host_disk_pct >= 0 ? fmt_f64(num[6], st->host_disk_pct) : NULL;
    v[7] = st->host_load1 >= 0 ? fmt_f64(num[7], st->host_load1) : NULL;
    v[8] = st->has_proc_threads ? fmt_i64(num[8], st->proc_threads) : NULL;
    v[9] = st->has_proc_fds ? fmt_i64(num[9], st->proc_fds) : NULL;
    v[10] = st->has_host_swap ? fmt_f64(num[10], st->host_swap_pct) : NULL;
}

static void fill_command(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    v[0] = op->u.command.nonce;
    v[1] = op->u.command.agent;
    v[2] = op->u.command.bot;
    v[3] = op->u.command.action;
    v[4] = fmt_i64(num[4], op->ts);
    v[5] = fmt_i64(num[5], op->u.command.expires);
    v[6] = op->u.command.reason;
}

static void fill_result(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    v[0] = op->u.result.agent;
    v[1] = op->u.result.boot;
    v[2] = fmt_i64(num[2], op->u.result.seq);
    v[3] = op->u.result.nonce;
    v[4] = op->u.result.bot;
    v[5] = op->u.result.action;
    v[6] = op->u.result.outcome;
    v[7] = fmt_i64(num[7], op->u.result.exit_code);
    v[8] = fmt_i64(num[8], op->u.result.duration_ms);
    v[9] = op->u.result.output;
    v[10] = op->u.result.reason;
    v[11] = fmt_i64(num[11], op->u.result.sent_ts);
    v[12] = fmt_i64(num[12], op->ts);
}

static void fill_silence(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    const struct col_silence *sl = &op->u.silence.silence;
    v[0] = sl->id;
    v[1] = sl->bot;
    v[2] = sl->account;
    v[3] = sl->host;
    v[4] = sl->check;
    v[5] = sl->reason;
    v[6] = sl->created_by;
    v[7] = fmt_i64(num[7], sl->created_at);
    v[8] = fmt_i64(num[8], sl->ends_at);
    v[9] = fmt_ms_opt(num[9], op->u.silence.removed_at);
}

static const char *key_silence(const struct col_store_op *op)
{
    return op->u.silence.silence.id;
}

void col_store_op_silence(struct col_store_op *op, const struct col_silence *sl, int64_t removed_at,
                          int64_t now_wall)
{
    memset(op, 0, sizeof(*op));
    op->kind = COL_OP_SILENCE;
    op->ts = now_wall;
    op->u.silence.silence = *sl;
    op->u.silence.removed_at = removed_at;
}

static void fill_intent(const struct col_store_op *op, const char **v, char (*num)[NUM_LEN])
{
    v[0] = op->u.intent.bot;
    v[1] = op->u.intent.intended;
    v[2] = fmt_i64(num[2], op->ts);
}

static const char *key_intent(const struct col_store_op *op)
{
    return op->u.intent.bot;
}

static const char *key_agent(const struct col_store_op *op)
{
    return op->u.agent.agent;
}

static const char *key_bot(const struct col_store_op *op)
{
    return op->u.bot.id;
}

/* In the order they are written within a transaction. */
static const struct kind_desc kinds[] = {
    {COL_OP_AGENT,
     "INSERT INTO agents (agent_id, host, version, boot, online, last_seen, clock_offset_ms) "
     "VALUES ",
     7, 1u << 5,
     "ON CONFLICT (agent_id) DO UPDATE SET host = EXCLUDED.host, version = EXCLUDED.version, "
     "boot = EXCLUDED.boot, online = EXCLUDED.online, last_seen = EXCLUDED.last_seen, "
     "clock_offset_ms = EXCLUDED.clock_offset_ms, updated_at = now()",
     fill_agent, key_agent},
    {COL_OP_BOT,
     "INSERT INTO bots (bot_id, agent_id, account, exchange, host, status, reason, status_since, "
     "last_heartbeat, last_trade) VALUES ",
     10, (1u << 7) | (1u << 8) | (1u << 9),
     "ON CONFLICT (bot_id) DO UPDATE SET agent_id = EXCLUDED.agent_id, "
     "account = EXCLUDED.account, exchange = EXCLUDED.exchange, host = EXCLUDED.host, "
     "status = EXCLUDED.status, reason = EXCLUDED.reason, status_since = EXCLUDED.status_since, "
     "last_heartbeat = EXCLUDED.last_heartbeat, last_trade = EXCLUDED.last_trade, "
     "updated_at = now()",
     fill_bot, key_bot},
    {COL_OP_TRANSITION,
     "INSERT INTO status_transitions (event_id, bot_id, ts, from_status, to_status, check_name, "
     "reason) VALUES ",
     7, 1u << 2, "ON CONFLICT (event_id) DO NOTHING", fill_transition, NULL},
    {COL_OP_TRADE,
     "INSERT INTO trades (agent_id, boot, seq, bot_id, trade_id, trade_ts, symbol, side, "
     "received_at) VALUES ",
     9, (1u << 5) | (1u << 8), "ON CONFLICT (agent_id, boot, seq) DO NOTHING", fill_trade, NULL},
    {COL_OP_ALERT,
     "INSERT INTO alert_events (event_id, alert_id, bot_id, check_name, event, severity, status, "
     "reason, ts) VALUES ",
     9, 1u << 8, "ON CONFLICT (event_id) DO NOTHING", fill_alert, NULL},
    {COL_OP_SAMPLE,
     "INSERT INTO bot_samples (bot_id, ts, proc_cpu_pct, proc_rss_kb, host_cpu_pct, "
     "host_mem_pct, host_disk_pct, host_load1, proc_threads, proc_fds, host_swap_pct) VALUES ",
     11, 1u << 1, "ON CONFLICT (bot_id, ts) DO NOTHING", fill_sample, NULL},
    {COL_OP_COMMAND,
     "INSERT INTO commands (nonce, agent_id, bot_id, action, ts, expires, reason) VALUES ", 7,
     (1u << 4) | (1u << 5), "ON CONFLICT (nonce) DO NOTHING", fill_command, NULL},
    {COL_OP_COMMAND_RESULT,
     "INSERT INTO command_results (agent_id, boot, seq, nonce, bot_id, action, outcome, "
     "exit_code, duration_ms, output, reason, ts, received_at) VALUES ",
     13, (1u << 11) | (1u << 12), "ON CONFLICT (agent_id, boot, seq) DO NOTHING", fill_result,
     NULL},
    {COL_OP_SILENCE,
     "INSERT INTO silences (silence_id, bot_id, account, host, check_name, reason, created_by, "
     "created_at, ends_at, removed_at) VALUES ",
     10, (1u << 7) | (1u << 8) | (1u << 9),
     "ON CONFLICT (silence_id) DO UPDATE SET removed_at = EXCLUDED.removed_at", fill_silence,
     key_silence},
    {COL_OP_INTENT, "INSERT INTO bot_intents (bot_id, intended, set_at) VALUES ", 3, 1u << 2,
     "ON CONFLICT (bot_id) DO UPDATE SET intended = EXCLUDED.intended, set_at = EXCLUDED.set_at",
     fill_intent, key_intent},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* ---- batch writing (writer thread) ------------------------------------------------------- */

static void build_sql(struct col_store *s, const struct kind_desc *k, int rows)
{
    size_t cap = s->sql_cap, n = (size_t)snprintf(s->sql, cap, "%s", k->head);
    int p = 1;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < k->ncols; c++, p++) {
            const char *sep = c == 0 ? (r == 0 ? "(" : "),(") : ",";
            const char *fmt =
                (k->ts_cols >> c) & 1u ? "%sto_timestamp($%d::float8 / 1000)" : "%s$%d";
            n += (size_t)snprintf(s->sql + n, cap - n, fmt, sep, p);
        }
    }
    snprintf(s->sql + n, cap - n, ") %s", k->conflict);
}

static int insert_rows(struct col_store *s, const struct kind_desc *k, const int *idx, int rows,
                       struct db_err *e)
{
    build_sql(s, k, rows);
    for (int r = 0; r < rows; r++)
        k->fill(s->batch[idx[r]], s->vals + r * k->ncols, s->nums + r * k->ncols);
    return db_run(s->conn, s->sql, rows * k->ncols, s->vals, e);
}

static int keyed_cmp(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Fills s->idx with the positions of k's ops among batch[first..first+n), keeping only the
 * last op per key for upserts (ON CONFLICT DO UPDATE may not touch a row twice). */
static int select_kind(struct col_store *s, const struct kind_desc *k, int first, int n)
{
    int m = 0;
    for (int i = first; i < first + n; i++) {
        if (s->batch[i]->kind != k->kind)
            continue;
        if (k->key)
            s->keyed[m++] = (struct keyed){k->key(s->batch[i]), i};
        else
            s->idx[m++] = i;
    }
    if (!k->key || m == 0)
        return m;
    qsort(s->keyed, (size_t)m, sizeof(s->keyed[0]), keyed_cmp);
    int out = 0;
    for (int i = 0; i < m; i++)
        if (i + 1 == m || strcmp(s->keyed[i].key, s->keyed[i + 1].key) != 0)
            s->idx[out++] = s->keyed[i].idx;
    return out;
}

/* Writes batch[first..first+n) in one transaction. 0 or -EIO with e filled. */
static int write_ops(struct col_store *s, int first, int n, struct db_err *e)
{
    if (db_run(s->conn, "BEGIN", 0, NULL, e))
        return -EIO;
    for (size_t k = 0; k < NKINDS; k++) {
        int m = select_kind(s, &kinds[k], first, n);
        for (int off = 0; off < m; off += STMT_ROWS_MAX) {
            int rows = m - off < STMT_ROWS_MAX ? m - off : STMT_ROWS_MAX;
            if (insert_rows(s, &kinds[k], s->idx + off, rows, e)) {
                db_run(s->conn, "ROLLBACK", 0, NULL, NULL);
                return -EIO;
            }
        }
    }
    PGresult *r = PQexec(s->conn, "COMMIT");
    int rc =
        PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0 ? 0 : -EIO;
    if (rc)
        db_err_set(e, s->conn, r);
    PQclear(r);
    return rc;
}

/* The server refused the data itself (data exception, integrity violation): retrying the
 * same batch would fail forever. */
static bool is_data_error(const struct db_err *e)
{
    return e->state[0] == '2' && (e->state[1] == '2' || e->state[1] == '3');
}

/* Writes the batch op by op, discarding the ops the server refuses as data errors.
 * 0 (with *rejected counted) or -EIO on any other failure. */
static int write_singly(struct col_store *s, int n, uint64_t *rejected, struct db_err *e)
{
    *rejected = 0;
    for (int i = 0; i < n; i++) {
        if (write_ops(s, i, 1, e) == 0)
            continue;
        if (PQstatus(s->conn) != CONNECTION_OK || !is_data_error(e))
            return -EIO;
        BP_ERROR(MOD, "discarding an operation (kind %d) the database refuses: %s",
                 (int)s->batch[i]->kind, e->msg);
        (*rejected)++;
    }
    return 0;
}

/* Connects if needed and writes the first n spooled ops. On failure drops the connection
 * (reconnected on the next attempt). */
static int flush(struct col_store *s, int n, uint64_t *rejected, struct db_err *e)
{
    *rejected = 0;
    if (!s->conn && db_connect(s->conninfo, &s->conn, e))
        return -ECONNREFUSED;
    int rc = write_ops(s, 0, n, e);
    if (rc && PQstatus(s->conn) == CONNECTION_OK && is_data_error(e))
        rc = write_singly(s, n, rejected, e);
    if (rc) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    return rc;
}

/* ---- writer thread ----------------------------------------------------------------------- */

/* Called with the mutex held: points batch[] at up to batch_max spooled ops. */
static int peek_batch(struct col_store *s)
{
    int n = s->count < (size_t)s->batch_max ? (int)s->count : s->batch_max;
    for (int i = 0; i < n; i++)
        s->batch[i] = &s->ring[(s->head + (size_t)i) % s->spool_max];
    return n;
}

/* Called with the mutex held, after a write attempt; logs outside the critical section would
 * be nicer, but these lines are rare (once per outage). */
static void account(struct col_store *s, int rc, int n, uint64_t rejected, const struct db_err *e)
{
    if (rc == 0) {
        if (s->outage)
            BP_INFO(MOD, "database is back after %" PRId64 " ms; %zu operations were waiting",
                    bp_mono_ms() - s->outage_since, s->count);
        s->outage = false;
        s->head = (s->head + (size_t)n) % s->spool_max;
        s->count -= (size_t)n;
        s->st.written += (uint64_t)n - rejected;
        s->st.dropped += rejected;
        s->st.batches++;
        s->st.db_up = true;
        return;
    }
    s->st.failures++;
    s->st.db_up = false;
    if (!s->outage)
        BP_ERROR(MOD, "database write failed, keeping %zu operations and retrying every %d ms: %s",
                 s->count, s->retry_ms, e->msg);
    if (!s->outage)
        s->outage_since = bp_mono_ms();
    s->outage = true;
}

/* Waits (mutex held) until there is work to try now, or it is time to stop. */
static bool wait_for_work(struct col_store *s, int64_t next_try)
{
    for (;;) {
        int64_t now = bp_mono_ms();
        if (s->stopping && (s->count == 0 || now >= s->stop_deadline))
            return false;
        if (s->count > 0 && now >= next_try)
            return true;
        if (s->count == 0) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        int64_t until = next_try;
        if (s->stopping && s->stop_deadline < until)
            until = s->stop_deadline;
        struct timespec ts;
        bp_mono_timespec(until, &ts);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
}

static void *writer_main(void *arg)
{
    struct col_store *s = arg;
    int64_t next_try = 0;
    pthread_mutex_lock(&s->mu);
    while (wait_for_work(s, next_try)) {
        int n = peek_batch(s);
        pthread_mutex_unlock(&s->mu);
        struct db_err e = {.state = ""};
        uint64_t rejected = 0;
        int rc = flush(s, n, &rejected, &e);
        pthread_mutex_lock(&s->mu);
        account(s, rc, n, rejected, &e);
        next_try = rc ? bp_mono_ms() + s->retry_ms : 0;
    }
    size_t left = s->count;
    pthread_mutex_unlock(&s->mu);
    if (left > 0)
        BP_ERROR(MOD, "stopping with %zu operations not written", left);
    PQfinish(s->conn);
    s->conn = NULL;
    return NULL;
}

/* ---- public API -------------------------------------------------------------------------- */

/* Frees the store's memory: its buffers and itself (not the thread, lock or connection). */
static void free_memory(struct col_store *s)
{
    free(s->conninfo);
    free(s->ring);
    free(s->batch);
    free(s->keyed);
    free(s->idx);
    free(s->vals);
    free(s->nums);
    free(s->sql);
    free(s);
}

int col_store_new(const struct col_store_opts *opts, struct col_store **out)
{
    if (!opts || !opts->conninfo || opts->spool_max == 0 || !out)
        return -EINVAL;
    struct col_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->spool_max = opts->spool_max;
    s->batch_max = opts->batch_max > 0 ? opts->batch_max : DEFAULT_BATCH_MAX;
    s->retry_ms = opts->retry_ms > 0 ? opts->retry_ms : DEFAULT_RETRY_MS;
    if ((size_t)s->batch_max > s->spool_max)
        s->batch_max = (int)s->spool_max;
    size_t nvals = (size_t)STMT_ROWS_MAX * MAX_COLS;
    s->sql_cap = 1024 + nvals * SQL_PER_VALUE;
    s->conninfo = strdup(opts->conninfo);
    s->ring = calloc(s->spool_max, sizeof(s->ring[0]));
    s->batch = calloc((size_t)s->batch_max, sizeof(s->batch[0]));
    s->keyed = calloc((size_t)s->batch_max, sizeof(s->keyed[0]));
    s->idx = calloc((size_t)s->batch_max, sizeof(s->idx[0]));
    s->vals = calloc(nvals, sizeof(s->vals[0]));
    s->nums = calloc(nvals, sizeof(s->nums[0]));
    s->sql = malloc(s->sql_cap);
    pthread_condattr_t ca;
    int rc = -ENOMEM;
    if (!s->conninfo || !s->ring || !s->batch || !s->keyed || !s->idx || !s->vals || !s->nums ||
        !s->sql)
        goto fail;
    if ((rc = -pthread_mutex_init(&s->mu, NULL)) != 0)
        goto fail;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = -pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc) {
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    free_memory(s);
    return rc;
}

int col_store_start(struct col_store *s)
{
    pthread_mutex_lock(&s->mu);
    int rc = s->started || s->stopping ? -EALREADY : 0;
    if (rc == 0) {
        rc = -pthread_create(&s->thread, NULL, writer_main, s);
        s->started = rc == 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

#define TERM(a) ((a)[sizeof(a) - 1] = '\0')

/* Guarantees every string in the copy is terminated, whatever the caller passed. */
static void terminate_strings(struct col_store_op *op)
{
    TERM(op->event_id);
    switch (op->kind) {
    case COL_OP_AGENT:
        TERM(op->u.agent.agent), TERM(op->u.agent.host), TERM(op->u.agent.version);
        TERM(op->u.agent.boot);
        break;
    case COL_OP_BOT:
        TERM(op->u.bot.id), TERM(op->u.bot.agent), TERM(op->u.bot.account);
        TERM(op->u.bot.exchange), TERM(op->u.bot.host), TERM(op->u.bot.check);
        TERM(op->u.bot.reason);
        if ((unsigned)op->u.bot.status >= COL_ST_COUNT)
            op->u.bot.status = COL_ST_UNKNOWN;
        break;
    case COL_OP_TRANSITION:
        TERM(op->u.transition.bot), TERM(op->u.transition.from_status);
        TERM(op->u.transition.to_status), TERM(op->u.transition.check);
        TERM(op->u.transition.reason);
        break;
    case COL_OP_TRADE:
        TERM(op->u.trade.agent), TERM(op->u.trade.boot), TERM(op->u.trade.bot);
        TERM(op->u.trade.trade.id), TERM(op->u.trade.trade.symbol), TERM(op->u.trade.trade.side);
        break;
    case COL_OP_ALERT:
        TERM(op->u.alert.bot), TERM(op->u.alert.check), TERM(op->u.alert.event);
        TERM(op->u.alert.severity), TERM(op->u.alert.status), TERM(op->u.alert.reason);
        TERM(op->u.alert.alert_id);
        break;
    case COL_OP_SAMPLE:
        TERM(op->u.sample.bot);
        break;
    case COL_OP_COMMAND:
        TERM(op->u.command.nonce), TERM(op->u.command.agent), TERM(op->u.command.bot);
        TERM(op->u.command.action), TERM(op->u.command.reason);
        break;
    case COL_OP_COMMAND_RESULT:
        TERM(op->u.result.agent), TERM(op->u.result.boot), TERM(op->u.result.nonce);
        TERM(op->u.result.bot), TERM(op->u.result.action), TERM(op->u.result.outcome);
        TERM(op->u.result.output), TERM(op->u.result.reason);
        break;
    case COL_OP_SILENCE:
        TERM(op->u.silence.silence.id), TERM(op->u.silence.silence.bot);
        TERM(op->u.silence.silence.account), TERM(op->u.silence.silence.host);
        TERM(op->u.silence.silence.check), TERM(op->u.silence.silence.reason);
        TERM(op->u.silence.silence.created_by);
        break;
    case COL_OP_INTENT:
        TERM(op->u.intent.bot), TERM(op->u.intent.intended);
        break;
    }
}

int col_store_submit(struct col_store *s, const struct col_store_op *op)
{
    if ((unsigned)op->kind > COL_OP_LAST)
        return -EINVAL;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return -ESHUTDOWN;
    }
    s->st.submitted++;
    if (s->count == s->spool_max) {
        uint64_t dropped = ++s->st.dropped;
        int64_t now = bp_mono_ms();
        bool log = s->last_drop_log == 0 || now - s->last_drop_log >= DROP_LOG_EVERY_MS;
        if (log)
            s->last_drop_log = now;
        pthread_mutex_unlock(&s->mu);
        if (log)
            BP_ERROR(MOD, "spool full (%zu operations): dropped %" PRIu64 " so far", s->spool_max,
                     dropped);
        return -ENOBUFS;
    }
    struct col_store_op *slot = &s->ring[(s->head + s->count) % s->spool_max];
    *slot = *op;
    terminate_strings(slot);
    if (s->count++ == 0)
        pthread_cond_signal(&s->cv); /* the writer only sleeps untimed on an empty spool */
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void col_store_get_stats(struct col_store *s, struct col_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->spooled = s->count;
    pthread_mutex_unlock(&s->mu);
}

void col_store_stop(struct col_store *s, int64_t flush_timeout_ms)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    bool join = s->started && !s->stopping;
    s->stopping = true;
    s->stop_deadline = bp_mono_ms() + (flush_timeout_ms > 0 ? flush_timeout_ms : 0);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (join)
        pthread_join(s->thread, NULL);
}

void col_store_free(struct col_store *s)
{
    if (!s)
        return;
    col_store_stop(s, 0);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free_memory(s);
}
