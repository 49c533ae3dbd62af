/* SPDX-License-Identifier: MIT */
/* The lock session's SQL: bounded statements, the collectors table, advisory locks, reads. */
#include "cluster_db.h"

#include "clock.h"
#include "rules.h"
#include "takeover.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_TIMEOUT_MS 10000 /* statement_timeout: a takeover's reads may take a while */

static void set_why(char *why, size_t whylen, const char *what, const char *pgmsg)
{
    snprintf(why, whylen, "%s: %s", what, pgmsg && *pgmsg ? pgmsg : "unknown error");
    for (char *p = why; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    size_t n = strlen(why);
    while (n > 0 && why[n - 1] == ' ')
        why[--n] = '\0';
}

int col_cluster_db_connect(const char *conninfo, int64_t lease_ms, PGconn **out, char *why,
                           size_t whylen)
{
    char user_timeout[32], count[32], options[128];
    snprintf(user_timeout, sizeof(user_timeout), "%" PRId64, lease_ms);
    /* the client notices a dead server within about a lease: idle 1 s, then probes 1 s apart */
    snprintf(count, sizeof(count), "%" PRId64, lease_ms / 1000 > 2 ? lease_ms / 1000 : 2);
    snprintf(options, sizeof(options), "-c statement_timeout=%d -c lock_timeout=%" PRId64,
             READ_TIMEOUT_MS, lease_ms);
    const char *keys[] = {"dbname",
                          "connect_timeout",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "options",
                          "application_name",
                          NULL};
    const char *vals[] = {conninfo,           "2", "1", "1", "1", count, user_timeout, options,
                          "botpulse-cluster", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1); /* expand_dbname: a full conninfo string */
    if (PQstatus(c) != CONNECTION_OK) {
        set_why(why, whylen, "cannot connect", PQerrorMessage(c));
        PQfinish(c);
        *out = NULL;
        return -EIO;
    }
    *out = c;
    return 0;
}

/* Waits (poll) until the connection has a whole result or the deadline passes. */
static int wait_result(PGconn *c, int64_t deadline)
{
    while (PQisBusy(c)) {
        int64_t left = deadline - bp_mono_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && !PQconsumeInput(c))
            return -EIO;
    }
    return 0;
}

/* Runs sql with text parameters, waiting at most timeout_ms for its answer (the session is
 * then unusable: the caller closes it). The result (tuples or command OK), or NULL with why. */
static PGresult *run(PGconn *c, const char *sql, int n, const char *const *params,
                     int64_t timeout_ms, char *why, size_t whylen)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    if (!PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 0)) {
        set_why(why, whylen, "cannot send", PQerrorMessage(c));
        return NULL;
    }
    int rc;
    while ((rc = PQflush(c)) == 1) { /* a large parameter: wait until it is written */
        struct pollfd p = {.fd = PQsocket(c), .events = POLLOUT | POLLIN};
        int64_t left = deadline - bp_mono_ms();
        if (left <= 0 || poll(&p, 1, (int)left) < 0 || (p.revents & POLLIN && !PQconsumeInput(c)))
            break;
    }
    PGresult *res = NULL, *r;
    if (rc != 0 || wait_result(c, deadline) < 0) {
        snprintf(why, whylen, "no answer within %" PRId64 " ms", timeout_ms);
        return NULL;
    }
    while ((r = PQgetResult(c)) != NULL) { /* the last result, then NULL */
        PQclear(res);
        res = r;
        if (wait_result(c, deadline) < 0) {
            PQclear(res);
            snprintf(why, whylen, "no answer within %" PRId64 " ms", timeout_ms);
            return NULL;
        }
    }
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    set_why(why, whylen, "query failed", res ? PQresultErrorMessage(res) : PQerrorMessage(c));
    PQclear(res);
    return NULL;
}

/* run() for statements whose result is not read. 0 or -EIO. */
static int run_ok(PGconn *c, const char *sql, int n, const char *const *params, int64_t timeout_ms,
                  char *why, size_t whylen)
{
    PGresult *r = run(c, sql, n, params, timeout_ms, why, whylen);
    PQclear(r);
    return r ? 0 : -EIO;
}

int col_cluster_db_register(PGconn *c, const char *id, const char *host, int64_t started,
                            int shards, int64_t timeout_ms, char *why, size_t whylen)
{
    char st[32], n[16];
    snprintf(st, sizeof(st), "%" PRId64, started);
    snprintf(n, sizeof(n), "%d", shards);
    const char *p[] = {id, host, st, n};
    static const char *const upsert =
        "INSERT INTO collectors (collector_id, host, started, last_seen, backend_pid, "
        "shard_count, shards, changed_at) VALUES ($1, $2, to_timestamp($3::bigint / 1000.0), "
        "now(), pg_backend_pid(), $4::int, '{}', now()) ON CONFLICT (collector_id) DO UPDATE SET "
        "host = EXCLUDED.host, started = EXCLUDED.started, last_seen = now(), "
        "backend_pid = pg_backend_pid(), shard_count = EXCLUDED.shard_count, shards = '{}', "
        "changed_at = now()";
    /* a pid names one row: an older row that names this session's pid is stale */
    static const char *const unpid = "UPDATE collectors SET backend_pid = NULL WHERE "
                                     "backend_pid = pg_backend_pid() AND collector_id <> $1";
    static const char *const prune =
        "DELETE FROM collectors WHERE last_seen < now() - interval '1 day'";
    if (run_ok(c, upsert, 4, p, timeout_ms, why, whylen) < 0 ||
        run_ok(c, unpid, 1, p, timeout_ms, why, whylen) < 0 ||
        run_ok(c, prune, 0, NULL, timeout_ms, why, whylen) < 0)
        return -EIO;
    return 0;
}

int col_cluster_db_confirm(PGconn *c, const char *id, const char *held, int64_t timeout_ms,
                           char *why, size_t whylen)
{
    const char *p[] = {id, held};
    PGresult *r = run(c,
                      "UPDATE collectors SET last_seen = now(), changed_at = CASE WHEN shards IS "
                      "DISTINCT FROM $2::int[] THEN now() ELSE changed_at END, shards = $2::int[] "
                      "WHERE collector_id = $1 AND backend_pid = pg_backend_pid()",
                      2, p, timeout_ms, why, whylen);
    if (!r)
        return -EIO;
    bool mine = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (!mine)
        snprintf(why, whylen, "the row of collector %s names another session", id);
    return mine ? 0 : -ESTALE;
}

/* Parses "{1,2,-1}" into slots. */
static int parse_slots(const char *text, int16_t *slots, int max)
{
    int n = 0;
    for (const char *p = text; *p && n < max;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        if (v >= -1 && v < COL_SHARDS_MAX)
            slots[n++] = (int16_t)v;
        p = end;
    }
    return n;
}

int col_cluster_db_members(PGconn *c, int64_t live_ms, struct col_cluster_row *rows, int max,
                           int64_t timeout_ms, char *why, size_t whylen)
{
    char live[32];
    snprintf(live, sizeof(live), "%" PRId64, live_ms);
    const char *p[] = {live};
    PGresult *r =
        run(c,
            "SELECT c.collector_id, c.host, (extract(epoch FROM c.started) * 1000)::bigint, "
            "(extract(epoch FROM c.last_seen) * 1000)::bigint, "
            "coalesce((extract(epoch FROM c.changed_at) * 1000)::bigint, 0), c.shard_count, "
            "c.shards::text, (a.pid IS NOT NULL AND c.last_seen > now() - $1::bigint * "
            "interval '1 millisecond')::int, (c.backend_pid IS NOT DISTINCT FROM "
            "pg_backend_pid())::int "
            "FROM collectors c LEFT JOIN pg_stat_activity a ON a.pid = c.backend_pid "
            "ORDER BY c.collector_id",
            1, p, timeout_ms, why, whylen);
    if (!r)
        return -EIO;
    int n = PQntuples(r) < max ? PQntuples(r) : max;
    for (int i = 0; i < n; i++) {
        struct col_cluster_row *w = &rows[i];
        memset(&w->m, 0, sizeof(w->m));
        snprintf(w->m.id, sizeof(w->m.id), "%s", PQgetvalue(r, i, 0));
        snprintf(w->m.host, sizeof(w->m.host), "%s", PQgetvalue(r, i, 1));
        w->m.started = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        w->m.last_seen = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        w->m.changed_at = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        w->shard_count = (int)strtol(PQgetvalue(r, i, 5), NULL, 10);
        w->nslots = parse_slots(PQgetvalue(r, i, 6), w->slots, COL_SHARDS_MAX + 1);
        w->m.live = strcmp(PQgetvalue(r, i, 7), "1") == 0;
        w->self = strcmp(PQgetvalue(r, i, 8), "1") == 0;
        w->m.nshards = 0;
        for (int k = 0; k < w->nslots; k++) {
            if (w->slots[k] < 0)
                w->m.leader = true;
            else
                w->m.nshards++;
        }
    }
    PQclear(r);
    return n;
}

int col_cluster_db_evict(PGconn *c, int64_t evict_ms, int64_t timeout_ms, char *why, size_t whylen)
{
    char ms[32], cls[16];
    snprintf(ms, sizeof(ms), "%" PRId64, evict_ms);
    snprintf(cls, sizeof(cls), "%d", COL_CLUSTER_LOCK_CLASS);
    const char *p[] = {ms, cls};
    /* only a session that holds the cluster's locks: a pid in a stale row may be reused */
    PGresult *r =
        run(c,
            "SELECT c.collector_id, pg_terminate_backend(c.backend_pid) FROM collectors c "
            "WHERE c.last_seen < now() - $1::bigint * interval '1 millisecond' "
            "AND c.backend_pid <> pg_backend_pid() AND EXISTS (SELECT 1 FROM pg_locks l "
            "WHERE l.pid = c.backend_pid AND l.locktype = 'advisory' "
            "AND l.classid = $2::bigint::oid)",
            2, p, timeout_ms, why, whylen);
    if (!r)
        return -EIO;
    int n = PQntuples(r);
    PQclear(r);
    return n;
}

/* "{a,b,c}" of n ints. */
static void int_array(const int *v, int n, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "{");
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%d", i ? "," : "", v[i]);
    if (len < size)
        snprintf(buf + len, size - len, "}");
}

int col_cluster_db_try_lock(PGconn *c, const int *slots, int n, int *got, int *ngot,
                            int64_t timeout_ms, char *why, size_t whylen)
{
    char arr[8 * (COL_SHARDS_MAX + 2)], cls[16];
    int_array(slots, n, arr, sizeof(arr));
    snprintf(cls, sizeof(cls), "%d", COL_CLUSTER_LOCK_CLASS);
    const char *p[] = {cls, arr};
    PGresult *r = run(c,
                      "SELECT s FROM unnest($2::int[]) WITH ORDINALITY AS u(s, i) "
                      "WHERE pg_try_advisory_lock($1::int, s) ORDER BY i",
                      2, p, timeout_ms, why, whylen);
    *ngot = 0;
    if (!r)
        return -EIO;
    for (int i = 0; i < PQntuples(r); i++)
        got[(*ngot)++] = (int)strtol(PQgetvalue(r, i, 0), NULL, 10);
    PQclear(r);
    return 0;
}

int col_cluster_db_unlock(PGconn *c, const int *slots, int n, int64_t timeout_ms, char *why,
                          size_t whylen)
{
    char arr[8 * (COL_SHARDS_MAX + 2)], cls[16];
    int_array(slots, n, arr, sizeof(arr));
    snprintf(cls, sizeof(cls), "%d", COL_CLUSTER_LOCK_CLASS);
    const char *p[] = {cls, arr};
    return run_ok(c, "SELECT pg_advisory_unlock($1::int, s) FROM unnest($2::int[]) AS s", 2, p,
                  timeout_ms, why, whylen);
}

void col_cluster_db_leave(PGconn *c, const char *id, int64_t timeout_ms)
{
    char why[64];
    const char *p[] = {id};
    run_ok(c, "DELETE FROM collectors WHERE collector_id = $1 AND backend_pid = pg_backend_pid()",
           1, p, timeout_ms, why, sizeof(why));
}

/* ---- a takeover's reads ----------------------------------------------------------------- */

static int parse_status(const char *word)
{
    for (int s = 0; s < COL_ST_COUNT; s++)
        if (strcmp(word, col_status_name((enum col_status)s)) == 0)
            return s;
    return -1;
}

/* The bots rows whose agent falls in a taken shard. */
static int read_bots(PGconn *c, const bool *taken, int shards, struct col_takeover *t,
                     int64_t timeout_ms, char *why, size_t whylen)
{
    PGresult *r =
        run(c, "SELECT bot_id, agent_id, status FROM bots", 0, NULL, timeout_ms, why, whylen);
    if (!r)
        return -EIO;
    int rows = PQntuples(r);
    t->bots = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*t->bots));
    for (int i = 0; t->bots && i < rows; i++) {
        const char *agent = PQgetvalue(r, i, 1);
        if (!taken[col_shard_of(agent, shards)])
            continue;
        struct col_takeover_bot *b = &t->bots[t->nbots++];
        snprintf(b->id, sizeof(b->id), "%s", PQgetvalue(r, i, 0));
        snprintf(b->agent, sizeof(b->agent), "%s", agent);
        b->status = parse_status(PQgetvalue(r, i, 2));
    }
    PQclear(r);
    return t->bots ? 0 : -ENOMEM;
}

/* "{"a","b"}": bot ids are [A-Za-z0-9_.-], nothing to escape. NULL on ENOMEM. */
static char *bot_array(const struct col_takeover *t)
{
    size_t size = 3 + t->nbots * (BP_ID_MAX + 3);
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    size_t len = (size_t)snprintf(buf, size, "{");
    for (size_t i = 0; i < t->nbots; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s\"%s\"", i ? "," : "", t->bots[i].id);
    snprintf(buf + len, size - len, "}");
    return buf;
}

/* The open alerts of t's bots: the newest event of each of their alerts is not "resolved". */
static int read_alerts(PGconn *c, struct col_takeover *t, int64_t timeout_ms, char *why,
                       size_t whylen)
{
    char *bots = bot_array(t);
    if (!bots)
        return -ENOMEM;
    const char *p[] = {bots};
    PGresult *r =
        run(c,
            "SELECT l.alert_id, l.bot_id, l.check_name, l.severity, "
            "(extract(epoch FROM o.ts) * 1000)::bigint, coalesce(b.agent_id, '') "
            "FROM (SELECT DISTINCT ON (alert_id) alert_id, bot_id, check_name, severity, event "
            "      FROM alert_events WHERE bot_id = ANY($1::text[]) ORDER BY alert_id, id DESC) l "
            "JOIN alert_events o ON o.alert_id = l.alert_id AND o.event = 'opened' "
            "LEFT JOIN bots b ON b.bot_id = l.bot_id WHERE l.event <> 'resolved' ORDER BY o.ts",
            1, p, timeout_ms, why, whylen);
    free(bots);
    if (!r)
        return -EIO;
    int rows = PQntuples(r);
    t->alerts = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*t->alerts));
    for (int i = 0; t->alerts && i < rows; i++) {
        struct col_takeover_alert *a = &t->alerts[t->nalerts++];
        snprintf(a->alert_id, sizeof(a->alert_id), "%s", PQgetvalue(r, i, 0));
        snprintf(a->bot, sizeof(a->bot), "%s", PQgetvalue(r, i, 1));
        snprintf(a->check, sizeof(a->check), "%s", PQgetvalue(r, i, 2));
        snprintf(a->severity, sizeof(a->severity), "%s", PQgetvalue(r, i, 3));
        a->opened_at = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        snprintf(a->agent, sizeof(a->agent), "%s", PQgetvalue(r, i, 5));
    }
    PQclear(r);
    return t->alerts ? 0 : -ENOMEM;
}

int col_cluster_db_read_takeover(PGconn *c, const bool *taken, int shards, struct col_takeover *t,
                                 int64_t timeout_ms, char *why, size_t whylen)
{
    int rc = read_bots(c, taken, shards, t, timeout_ms, why, whylen);
    if (rc == 0 && t->nbots > 0)
        rc = read_alerts(c, t, timeout_ms, why, whylen);
    return rc;
}
