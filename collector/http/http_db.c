/* SPDX-License-Identifier: MIT */
/* The HTTP side's PostgreSQL reader: bounded, parameterised, one mutex-guarded connection. */
#include "http_db.h"

#include "clock.h"
#include "http_parse.h"
#include "log.h"
#include "query.h"
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct col_http_db {
    pthread_mutex_t mu;
    char *conninfo;
    int64_t timeout_ms;
    PGconn *conn;
    int64_t last_log_ms; /* the last libpq error logged (monotonic) */
};

struct col_http_db *col_http_db_new(const char *conninfo, int64_t timeout_ms)
{
    struct col_http_db *db = calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->conninfo = strdup(conninfo);
    if (!db->conninfo) {
        free(db);
        return NULL;
    }
    db->timeout_ms = timeout_ms;
    pthread_mutex_init(&db->mu, NULL);
    return db;
}

void col_http_db_free(struct col_http_db *db)
{
    if (!db)
        return;
    PQfinish(db->conn);
    pthread_mutex_destroy(&db->mu);
    free(db->conninfo);
    free(db);
}

/* why (for the client) says what failed, generically; libpq's text names the server's host,
 * port, socket and user, so it goes to the log only, at most every 10 s. Called with the mutex
 * held (which guards last_log_ms). */
static void set_why(struct col_http_db *db, char *why, size_t whylen, const char *what,
                    const char *pgmsg)
{
    snprintf(why, whylen, "%s (the collector's log says why)", what);
    int64_t now = bp_mono_ms();
    if (db->last_log_ms && now - db->last_log_ms < 10000)
        return;
    db->last_log_ms = now;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", pgmsg && *pgmsg ? pgmsg : "unknown error");
    size_t n = strlen(msg); /* libpq messages end in a newline */
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    BP_WARN("http", "%s: %s", what, msg);
}

/* A working connection, or NULL with why set. Called with the mutex held. */
static PGconn *connection(struct col_http_db *db, char *why, size_t whylen)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return db->conn;
    PQfinish(db->conn);
    int64_t secs = (db->timeout_ms + 999) / 1000;
    char timeout[32], options[64];
    snprintf(timeout, sizeof(timeout), "%" PRId64, secs < 2 ? 2 : secs); /* libpq: min 2 s */
    snprintf(options, sizeof(options), "-c statement_timeout=%" PRId64, db->timeout_ms);
    const char *keys[] = {"dbname", "connect_timeout", "options", "application_name", NULL};
    const char *vals[] = {db->conninfo, timeout, options, "botpulse-collector-http", NULL};
    db->conn = PQconnectdbParams(keys, vals, 1); /* expand_dbname: conninfo may be a full string */
    if (PQstatus(db->conn) != CONNECTION_OK) {
        set_why(db, why, whylen, "cannot connect to PostgreSQL", PQerrorMessage(db->conn));
        PQfinish(db->conn);
        db->conn = NULL;
    }
    return db->conn;
}

/* Runs sql with text params; a result with tuples, or NULL with why set (the connection is
 * dropped, so the next call reconnects). Called with the mutex held. */
static PGresult *query(struct col_http_db *db, const char *sql, int n, const char *const *params,
                       char *why, size_t whylen)
{
    PGconn *c = connection(db, why, whylen);
    if (!c)
        return NULL;
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    set_why(db, why, whylen, "query failed", PQresultErrorMessage(r));
    PQclear(r);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    return NULL;
}

int col_http_db_ping(struct col_http_db *db, char *why, size_t whylen)
{
    pthread_mutex_lock(&db->mu);
    PGresult *r = query(db, "SELECT 1", 0, NULL, why, whylen);
    if (!r && !db->conn) /* a connection that died since the last call: one fresh try */
        r = query(db, "SELECT 1", 0, NULL, why, whylen);
    pthread_mutex_unlock(&db->mu);
    PQclear(r);
    return r ? 0 : -EIO;
}

/* Column kinds for turning a row into JSON. */
enum col_kind { K_INT, K_TEXT, K_REAL /* a number, or null for SQL NULL */ };

struct column {
    const char *name;
    enum col_kind kind;
};

static cJSON *rows_json(PGresult *r, const struct column *cols, int ncols)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < PQntuples(r); i++) {
        cJSON *o = cJSON_CreateObject();
        for (int c = 0; o && c < ncols; c++) {
            const char *v = PQgetvalue(r, i, c);
            if (cols[c].kind == K_REAL && PQgetisnull(r, i, c))
                cJSON_AddNullToObject(o, cols[c].name);
            else if (cols[c].kind == K_REAL)
                cJSON_AddNumberToObject(o, cols[c].name, strtod(v, NULL));
            else if (cols[c].kind == K_INT)
                cJSON_AddNumberToObject(o, cols[c].name, (double)strtoll(v, NULL, 10));
            else
                cJSON_AddStringToObject(o, cols[c].name, v);
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* Runs a page query whose first column is the row id and whose parameters are
 * $1 bot (NULL = any), $2 from, $3 to, $4 before (NULL = open), $5 limit. */
static int page(struct col_http_db *db, const char *sql, const struct col_history_page *p,
                const struct column *cols, int ncols, cJSON **out, int64_t *next_before, char *why,
                size_t whylen)
{
    char from[24], to[24], before[24], limit[24];
    snprintf(from, sizeof(from), "%" PRId64, p->from);
    snprintf(to, sizeof(to), "%" PRId64, p->to);
    snprintf(before, sizeof(before), "%" PRId64, p->before);
    snprintf(limit, sizeof(limit), "%" PRId64, p->limit);
    const char *params[] = {p->bot, p->from > 0 ? from : NULL, p->to > 0 ? to : NULL,
                            p->before > 0 ? before : NULL, limit};
    pthread_mutex_lock(&db->mu);
    PGresult *r = query(db, sql, 5, params, why, whylen);
    pthread_mutex_unlock(&db->mu);
    if (!r)
        return -EIO;
    int n = PQntuples(r);
    *next_before = n > 0 && n == p->limit ? strtoll(PQgetvalue(r, n - 1, 0), NULL, 10) : 0;
    *out = rows_json(r, cols, ncols);
    PQclear(r);
    return *out ? 0 : -ENOMEM;
}

#define PAGE_WHERE                                                                                 \
    " WHERE ($1::text IS NULL OR bot_id = $1)"                                                     \
    " AND ($2::bigint IS NULL OR ts >= to_timestamp($2::bigint / 1000.0))"                         \
    " AND ($3::bigint IS NULL OR ts < to_timestamp($3::bigint / 1000.0))"                          \
    " AND ($4::bigint IS NULL OR id < $4::bigint)"                                                 \
    " ORDER BY id DESC LIMIT $5::bigint"

#define TS_MS "(extract(epoch FROM ts) * 1000)::bigint"

static const char *const transitions_page_sql =
    "SELECT id, " TS_MS ", from_status, to_status, check_name, reason, event_id"
    " FROM status_transitions" PAGE_WHERE;

static const char *const alerts_page_sql =
    "SELECT id, " TS_MS ", alert_id, bot_id, check_name, event, severity, status,"
    " reason FROM alert_events" PAGE_WHERE;

int col_http_db_transitions(struct col_http_db *db, const struct col_history_page *p, cJSON **out,
                            int64_t *next_before, char *why, size_t whylen)
{
    static const struct column cols[] = {{"id", K_INT},       {"ts", K_INT},     {"from", K_TEXT},
                                         {"to", K_TEXT},      {"check", K_TEXT}, {"reason", K_TEXT},
                                         {"event_id", K_TEXT}};
    return page(db, transitions_page_sql, p, cols, 7, out, next_before, why, whylen);
}

int col_http_db_alert_events(struct col_http_db *db, const struct col_history_page *p, cJSON **out,
                             int64_t *next_before, char *why, size_t whylen)
{
    static const struct column cols[] = {
        {"id", K_INT},        {"ts", K_INT},      {"alert_id", K_TEXT},
        {"bot", K_TEXT},      {"check", K_TEXT},  {"event", K_TEXT},
        {"severity", K_TEXT}, {"status", K_TEXT}, {"reason", K_TEXT}};
    return page(db, alerts_page_sql, p, cols, 9, out, next_before, why, whylen);
}

/* ---- open alerts ------------------------------------------------------------------------ */

/* "{"a","b"}": bot ids are [A-Za-z0-9_.-], nothing to escape. NULL on ENOMEM. */
static char *text_array(const char *const *v, size_t n)
{
    size_t size = 3, len = 0;
    for (size_t i = 0; i < n; i++)
        size += strlen(v[i]) + 3;
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    len += (size_t)snprintf(buf, size, "{");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s\"%s\"", i ? "," : "", v[i]);
    snprintf(buf + len, size - len, "}");
    return buf;
}

static void alert_row(PGresult *r, int i, struct col_alert_view *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->alert_id, sizeof(a->alert_id), "%s", PQgetvalue(r, i, 0));
    snprintf(a->bot, sizeof(a->bot), "%s", PQgetvalue(r, i, 1));
    snprintf(a->check, sizeof(a->check), "%s", PQgetvalue(r, i, 2));
    a->severity = strcmp(PQgetvalue(r, i, 3), "critical") == 0 ? COL_SEV_CRITICAL : COL_SEV_WARNING;
    snprintf(a->reason, sizeof(a->reason), "%s", PQgetvalue(r, i, 4));
    a->opened_at = strtoll(PQgetvalue(r, i, 5), NULL, 10);
    a->repeats = strtoll(PQgetvalue(r, i, 6), NULL, 10);
    a->announced = true; /* the owner's word: what it stored is what it said, or kept quiet */
}

int col_http_db_open_alerts(struct col_http_db *db, const char *const *bots, size_t n,
                            struct col_alert_view **out, size_t *nout, char *why, size_t whylen)
{
    *out = NULL;
    *nout = 0;
    char *arr = text_array(bots, n);
    if (!arr)
        return -ENOMEM;
    const char *params[] = {arr};
    pthread_mutex_lock(&db->mu);
    PGresult *r = query(
        db,
        "SELECT l.alert_id, l.bot_id, l.check_name, l.severity, l.reason, "
        "(extract(epoch FROM o.ts) * 1000)::bigint, (SELECT count(*) FROM alert_events p "
        "WHERE p.alert_id = l.alert_id AND p.event = 'repeated') "
        "FROM (SELECT DISTINCT ON (alert_id) alert_id, bot_id, check_name, severity, reason, event "
        "      FROM alert_events WHERE bot_id = ANY($1::text[]) ORDER BY alert_id, id DESC) l "
        "JOIN alert_events o ON o.alert_id = l.alert_id AND o.event = 'opened' "
        "WHERE l.event <> 'resolved' ORDER BY l.bot_id COLLATE \"C\", o.ts",
        1, params, why, whylen);
    pthread_mutex_unlock(&db->mu);
    free(arr);
    if (!r)
        return -EIO;
    int rows = PQntuples(r);
    *out = calloc(rows > 0 ? (size_t)rows : 1, sizeof(**out));
    for (int i = 0; *out && i < rows; i++)
        alert_row(r, i, &(*out)[(*nout)++]);
    PQclear(r);
    return *out ? 0 : -ENOMEM;
}

/* ---- chart data ------------------------------------------------------------------------ */

/* $1 bot, $2 from, $3 to (Unix ms). */
static const char *const samples_sql =
    "SELECT " TS_MS ", proc_cpu_pct, proc_rss_kb, host_cpu_pct, host_mem_pct, host_disk_pct"
    " FROM bot_samples WHERE bot_id = $1 AND ts >= to_timestamp($2::bigint / 1000.0)"
    " AND ts < to_timestamp($3::bigint / 1000.0) ORDER BY ts LIMIT 5000";

/* $1 bot, $2 from, $3 to (Unix ms), $4 bucket (ms). */
static const char *const trade_buckets_sql =
    "SELECT (floor(extract(epoch FROM trade_ts) * 1000 / $4::bigint) * $4::bigint)::bigint"
    " AS bucket, count(*) FROM trades WHERE bot_id = $1"
    " AND trade_ts >= to_timestamp($2::bigint / 1000.0)"
    " AND trade_ts < to_timestamp($3::bigint / 1000.0) GROUP BY bucket ORDER BY bucket";

int col_http_db_samples(struct col_http_db *db, const char *bot, int64_t from, int64_t to,
                        int64_t bucket_ms, cJSON **samples, cJSON **trades, char *why,
                        size_t whylen)
{
    static const struct column scols[] = {{"ts", K_INT},
                                          {"proc_cpu_pct", K_REAL},
                                          {"proc_rss_kb", K_REAL},
                                          {"host_cpu_pct", K_REAL},
                                          {"host_mem_pct", K_REAL},
                                          {"host_disk_pct", K_REAL}};
    static const struct column tcols[] = {{"ts", K_INT}, {"count", K_INT}};
    char f[24], t[24], b[24];
    snprintf(f, sizeof(f), "%" PRId64, from);
    snprintf(t, sizeof(t), "%" PRId64, to);
    snprintf(b, sizeof(b), "%" PRId64, bucket_ms);
    const char *params[] = {bot, f, t, b};
    *samples = *trades = NULL;
    pthread_mutex_lock(&db->mu);
    PGresult *rs = query(db, samples_sql, 3, params, why, whylen);
    PGresult *rt = rs ? query(db, trade_buckets_sql, 4, params, why, whylen) : NULL;
    pthread_mutex_unlock(&db->mu);
    int rc = rs && rt ? 0 : -EIO;
    if (rc == 0) {
        *samples = rows_json(rs, scols, 6);
        *trades = rows_json(rt, tcols, 2);
        if (!*samples || !*trades)
            rc = -ENOMEM;
    }
    PQclear(rs);
    PQclear(rt);
    return rc;
}

/* ---- the audit report ------------------------------------------------------------------ */

#define REPORT_ROWS_MAX 200000 /* transitions read at most; more sets r->truncated */

/* $1 from (Unix ms): the newest day in status_daily at most 7 days before from's day, as Unix
 * ms, or NULL (none: the report then looks back through every older partition). */
static const char *const report_checkpoint_sql =
    "SELECT (extract(epoch FROM max(at)) * 1000)::bigint FROM status_daily"
    " WHERE at <= to_timestamp(($1::bigint / 86400000 * 86400000) / 1000.0)"
    " AND at >= to_timestamp(($1::bigint / 86400000 * 86400000 - 7 * 86400000) / 1000.0)";

/* $1 bot (NULL = any), $2 from, $3 to (Unix ms), $4 the day from report_checkpoint_sql (NULL:
 * none). Byte order ("C") so the report's sorted bots are fed in order. The status before the
 * range comes first (ord 0) at ts = from: the last transition between that day and from, else
 * the bot's status at 00:00 of that day (status_daily), so only the partitions from that day to
 * the range's end are read. */
static const char *const report_transitions_sql =
    "SELECT bot_id, ms, to_status, ord FROM ("
    " (SELECT DISTINCT ON (bot_id) bot_id, $2::bigint AS ms, to_status, 0 AS ord, id FROM ("
    "   SELECT bot_id, to_status, ts, id FROM status_transitions"
    "    WHERE ts < to_timestamp($2::bigint / 1000.0)"
    "    AND ($4::bigint IS NULL OR ts >= to_timestamp($4::bigint / 1000.0))"
    "    AND ($1::text IS NULL OR bot_id = $1)"
    "   UNION ALL"
    "   SELECT bot_id, status, '-infinity'::timestamptz, 0 FROM status_daily"
    "    WHERE at = to_timestamp($4::bigint / 1000.0) AND ($1::text IS NULL OR bot_id = $1)"
    "  ) b ORDER BY bot_id, ts DESC, id DESC)"
    " UNION ALL"
    " SELECT bot_id, " TS_MS ", to_status, 1, id FROM status_transitions"
    "  WHERE ts >= to_timestamp($2::bigint / 1000.0) AND ts < to_timestamp($3::bigint / 1000.0)"
    "  AND ($1::text IS NULL OR bot_id = $1)"
    ") t ORDER BY bot_id COLLATE \"C\", ord, ms, id LIMIT "
    "200001";

/* Each alert once: opened (or escalated) in the range, critical if it was or became critical
 * there; and, apart, the alerts resolved in the range (opened in it or before). */
static const char *const report_alerts_sql =
    "SELECT bot_id, count(*) FILTER (WHERE opened AND NOT crit),"
    " count(*) FILTER (WHERE opened AND crit), count(*) FILTER (WHERE resolved) FROM"
    " (SELECT bot_id, alert_id, bool_or(event <> 'resolved') AS opened,"
    "  bool_or(event <> 'resolved' AND severity = 'critical') AS crit,"
    "  bool_or(event = 'resolved') AS resolved FROM alert_events"
    "  WHERE event IN ('opened', 'escalated', 'resolved') AND ($1::text IS NULL OR bot_id = $1)"
    "  AND ts >= to_timestamp($2::bigint / 1000.0) AND ts < to_timestamp($3::bigint / 1000.0)"
    "  GROUP BY bot_id, alert_id) a GROUP BY bot_id ORDER BY bot_id COLLATE \"C\"";

/* Trades by when they happened (the bot's clock: trades are partitioned by it). */
static const char *const report_trades_sql =
    "SELECT bot_id, count(*) FROM trades WHERE ($1::text IS NULL OR bot_id = $1)"
    " AND trade_ts >= to_timestamp($2::bigint / 1000.0)"
    " AND trade_ts < to_timestamp($3::bigint / 1000.0)"
    " GROUP BY bot_id ORDER BY bot_id COLLATE \"C\"";

/* Recovery commands sent (automatic or by an operator) and how many the agent ran with ok; a
 * result counts when the agent stamped it within a day of the range (a command expires in
 * minutes), so only those partitions of command_results are read. */
static const char *const report_restarts_sql =
    "SELECT c.bot_id, count(*), count(*) FILTER (WHERE r.outcome = 'ok') FROM commands c"
    " LEFT JOIN command_results r ON r.nonce = c.nonce"
    "  AND r.ts >= to_timestamp(($2::bigint - 86400000) / 1000.0)"
    "  AND r.ts < to_timestamp(($3::bigint + 86400000) / 1000.0)"
    " WHERE c.action <> 'pre_restart' AND ($1::text IS NULL OR c.bot_id = $1)"
    " AND c.ts >= to_timestamp($2::bigint / 1000.0) AND c.ts < to_timestamp($3::bigint / 1000.0)"
    " GROUP BY c.bot_id ORDER BY c.bot_id COLLATE \"C\"";

static int report_transitions(PGresult *res, struct col_report *r)
{
    int n = PQntuples(res);
    if (n > REPORT_ROWS_MAX) {
        r->truncated = true;
        n = REPORT_ROWS_MAX;
    }
    for (int i = 0; i < n; i++) {
        struct col_report_bot *b = col_report_bot(r, PQgetvalue(res, i, 0));
        if (!b)
            return -ENOMEM;
        int st = col_parse_status(PQgetvalue(res, i, 2));
        if (st < 0)
            st = COL_ST_UNKNOWN;
        if (strcmp(PQgetvalue(res, i, 3), "0") == 0)
            col_report_initial(r, b, (enum col_status)st);
        else
            col_report_step(r, b, strtoll(PQgetvalue(res, i, 1), NULL, 10), (enum col_status)st);
    }
    return 0;
}

enum count_kind { COUNT_ALERTS = 1, COUNT_TRADES, COUNT_RESTARTS };

static int report_counts(PGresult *res, struct col_report *r, enum count_kind kind)
{
    for (int i = 0; i < PQntuples(res); i++) {
        struct col_report_bot *b = col_report_bot(r, PQgetvalue(res, i, 0));
        if (!b)
            return -ENOMEM;
        int64_t a = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        if (kind == COUNT_ALERTS) {
            b->alerts_warning = a;
            b->alerts_critical = strtoll(PQgetvalue(res, i, 2), NULL, 10);
            b->alerts_resolved = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        } else if (kind == COUNT_RESTARTS) {
            b->restarts = a;
            b->restarts_ok = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        } else {
            b->trades = a;
        }
    }
    return 0;
}

const char *col_http_db_sql(enum col_http_db_sql q)
{
    static const char *const sqls[COL_SQL_COUNT] = {
        [COL_SQL_TRANSITIONS_PAGE] = transitions_page_sql,
        [COL_SQL_ALERTS_PAGE] = alerts_page_sql,
        [COL_SQL_SAMPLES] = samples_sql,
        [COL_SQL_TRADE_BUCKETS] = trade_buckets_sql,
        [COL_SQL_REPORT_CHECKPOINT] = report_checkpoint_sql,
        [COL_SQL_REPORT_TRANSITIONS] = report_transitions_sql,
        [COL_SQL_REPORT_ALERTS] = report_alerts_sql,
        [COL_SQL_REPORT_TRADES] = report_trades_sql,
        [COL_SQL_REPORT_RESTARTS] = report_restarts_sql,
    };
    return (unsigned)q < COL_SQL_COUNT ? sqls[q] : NULL;
}

int col_http_db_report(struct col_http_db *db, const char *bot, struct col_report *r, char *why,
                       size_t whylen)
{
    char from[24], to[24], day[24];
    snprintf(from, sizeof(from), "%" PRId64, r->from);
    snprintf(to, sizeof(to), "%" PRId64, r->to);
    const char *params[] = {bot, from, to, NULL};
    const char *const sqls[] = {report_transitions_sql, report_alerts_sql, report_trades_sql,
                                report_restarts_sql};
    int rc = 0;
    pthread_mutex_lock(&db->mu);
    PGresult *res = query(db, report_checkpoint_sql, 1, params + 1, why, whylen);
    if (!res)
        rc = -EIO;
    else if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        snprintf(day, sizeof(day), "%s", PQgetvalue(res, 0, 0));
        params[3] = day;
    }
    PQclear(res);
    for (int q = 0; q < 4 && rc == 0; q++) {
        res = query(db, sqls[q], q == 0 ? 4 : 3, params, why, whylen);
        if (!res) {
            rc = -EIO;
            break;
        }
        rc = q == 0 ? report_transitions(res, r) : report_counts(res, r, (enum count_kind)q);
        PQclear(res);
    }
    pthread_mutex_unlock(&db->mu);
    if (rc == 0)
        col_report_finish(r);
    return rc;
}
