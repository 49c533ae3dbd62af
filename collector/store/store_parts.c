/* SPDX-License-Identifier: MIT */
/* One maintenance pass over the partitioned history tables: partitions made ahead, strays moved
 * out of the default partitions, retention by dropping whole partitions, status_daily kept. */
#include "store_parts.h"

#include "log.h"
#include "store_db.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "store"
#define STRAY_PERIODS_MAX 64   /* stray periods turned into partitions per table per pass */
#define BACKFILL_DAYS_MAX 3660 /* status_daily is never made further back than this */

/* The SQL below is built with snprintf only from these fixed names and from timestamps this
 * file formats; DDL takes no parameters, every value in DML is one. */
static const struct {
    const char *name, *key;
    enum col_hist_retention ret;
} tables[COL_HIST_NTABLES] = {
    [COL_HIST_TRADES] = {"trades", "trade_ts", COL_RET_TRADES},
    [COL_HIST_TRANSITIONS] = {"status_transitions", "ts", COL_RET_TRANSITIONS},
    [COL_HIST_STATUS_DAILY] = {"status_daily", "at", COL_RET_TRANSITIONS},
    [COL_HIST_ALERTS] = {"alert_events", "ts", COL_RET_ALERTS},
    [COL_HIST_SAMPLES] = {"bot_samples", "ts", COL_RET_SAMPLES},
    [COL_HIST_COMMANDS] = {"commands", "ts", COL_RET_COMMANDS},
    [COL_HIST_RESULTS] = {"command_results", "ts", COL_RET_COMMANDS},
};

static const char *const retention_names[COL_RET_COUNT] = {
    "retention_samples", "retention_trades", "retention_transitions", "retention_alerts",
    "retention_commands"};

const char *col_hist_table_name(enum col_hist_table t)
{
    return (unsigned)t < COL_HIST_NTABLES ? tables[t].name : "?";
}

enum col_hist_retention col_hist_table_retention(enum col_hist_table t)
{
    return tables[t].ret;
}

/* ---- pure helpers ------------------------------------------------------------------------ */

int col_parts_gaps(struct col_range want, const struct col_range *have, int nhave,
                   struct col_range *out, int max)
{
    int n = 0;
    int64_t cur = want.lo;
    for (int i = 0; i < nhave && cur < want.hi; i++) {
        if (have[i].hi <= cur || have[i].lo >= want.hi)
            continue;
        if (have[i].lo > cur) {
            if (n < max)
                out[n] = (struct col_range){cur, have[i].lo};
            n++;
        }
        cur = have[i].hi;
    }
    if (cur < want.hi) {
        if (n < max)
            out[n] = (struct col_range){cur, want.hi};
        n++;
    }
    return n;
}

int col_parts_name(const char *table, int64_t lo, char *out, size_t size)
{
    struct tm tm;
    time_t t = (time_t)col_store_floor_div(lo, 1000);
    if (!gmtime_r(&t, &tm))
        return -ERANGE;
    int n = snprintf(out, size, "%s_p%04d%02d%02d", table, tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday);
    if (n > 0 && col_store_floor_div(lo, COL_DAY_MS) * COL_DAY_MS != lo)
        n += snprintf(out + n, (size_t)n < size ? size - (size_t)n : 0, "_%02d%02d%02d", tm.tm_hour,
                      tm.tm_min, tm.tm_sec);
    return n < 0 || (size_t)n >= size || n > 63 ? -ENAMETOOLONG : 0;
}

/* ---- one table's partitions, as the catalog has them -------------------------------------- */

struct part {
    char name[64];
    struct col_range r;
};

struct pass {
    PGconn *c;
    const struct col_hist_opts *o;
    int64_t now, period;
    struct col_hist_stats *st;
    const atomic_bool *stop;
    enum col_hist_table t; /* the table parts[] lists */
    struct part *parts;
    int nparts, cap;
    struct col_store_db_err e;
};

static bool stopping(const struct pass *ps)
{
    return ps->stop && atomic_load(ps->stop);
}

/* Logs a failed step; a statement cancelled because the collector stops is no failure. */
static int fail(struct pass *ps, const char *what)
{
    if (stopping(ps))
        return -ECANCELED;
    BP_ERROR(MOD, "history maintenance of %s: %s: %s", tables[ps->t].name, what, ps->e.msg);
    return -EIO;
}

/* Reads t's partitions (the default one left out) into ps, sorted by their lower bound. */
static int list_parts(struct pass *ps, enum col_hist_table t)
{
    static const char *const sql =
        "SELECT c.relname, (extract(epoch FROM m[1]::timestamptz) * 1000)::bigint,"
        " (extract(epoch FROM m[2]::timestamptz) * 1000)::bigint"
        " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),"
        "  'FROM \\(''([^'']+)''\\) TO \\(''([^'']+)''\\)') m"
        " WHERE i.inhparent = $1::regclass AND m IS NOT NULL ORDER BY 2";
    const char *p[] = {tables[t].name};
    ps->t = t;
    ps->nparts = 0;
    PGresult *r = PQexecParams(ps->c, sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        col_store_db_err_set(&ps->e, ps->c, r);
        PQclear(r);
        return fail(ps, "cannot list its partitions");
    }
    int n = PQntuples(r);
    if (n > ps->cap) {
        struct part *v = realloc(ps->parts, (size_t)n * sizeof(*v));
        if (!v) {
            PQclear(r);
            return -ENOMEM;
        }
        ps->parts = v;
        ps->cap = n;
    }
    for (int i = 0; i < n; i++) {
        struct part *pt = &ps->parts[i];
        snprintf(pt->name, sizeof(pt->name), "%s", PQgetvalue(r, i, 0));
        pt->r.lo = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        pt->r.hi = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    }
    ps->nparts = n;
    PQclear(r);
    ps->st->t[t].partitions = n;
    return 0;
}

/* Runs the statements of one partition's making; 0 or -EIO (ps->e filled). */
static int make_steps(struct pass *ps, const char *name, struct col_range r, int64_t *moved)
{
    const char *t = tables[ps->t].name, *key = tables[ps->t].key;
    char lo[COL_STORE_TS_LEN], hi[COL_STORE_TS_LEN], sql[512];
    col_store_db_ts(r.lo, lo, sizeof(lo));
    col_store_db_ts(r.hi, hi, sizeof(hi));
    const char *p[] = {lo, hi};
    /* The parent first, so no writer adds a row to the default partition between our DELETE and
     * the CREATE (which checks that the default partition holds no row of the new range). */
    snprintf(sql, sizeof(sql), "LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE", t);
    if (col_store_db_run(ps->c, sql, 0, NULL, &ps->e))
        return -EIO;
    snprintf(sql, sizeof(sql), "CREATE TEMP TABLE bp_move (LIKE %s) ON COMMIT DROP", t);
    if (col_store_db_run(ps->c, sql, 0, NULL, &ps->e))
        return -EIO;
    snprintf(sql, sizeof(sql),
             "WITH d AS (DELETE FROM %s_default WHERE %s >= $1::timestamptz AND %s < "
             "$2::timestamptz RETURNING *) INSERT INTO bp_move SELECT * FROM d",
             t, key, key);
    if (col_store_db_affected(ps->c, sql, 2, p, NULL, &ps->e))
        return -EIO;
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM ('%s') TO ('%s')", name,
             t, lo, hi);
    if (col_store_db_run(ps->c, sql, 0, NULL, &ps->e))
        return -EIO;
    snprintf(sql, sizeof(sql), "INSERT INTO %s SELECT * FROM bp_move", t);
    return col_store_db_affected(ps->c, sql, 0, NULL, moved, &ps->e);
}

/* Makes the partition r of ps->t, moving the default partition's rows of r into it, in one
 * transaction; adds it to ps->parts. */
static int make_part(struct pass *ps, struct col_range r)
{
    char name[64];
    if (col_parts_name(tables[ps->t].name, r.lo, name, sizeof(name)) < 0) {
        snprintf(ps->e.msg, sizeof(ps->e.msg), "no name for a partition at %" PRId64 " ms", r.lo);
        return fail(ps, "cannot make a partition");
    }
    int64_t moved = 0;
    if (col_store_db_run(ps->c, "BEGIN", 0, NULL, &ps->e) || make_steps(ps, name, r, &moved) ||
        col_store_db_run(ps->c, "COMMIT", 0, NULL, &ps->e)) {
        col_store_db_run(ps->c, "ROLLBACK", 0, NULL, NULL);
        return fail(ps, name);
    }
    struct col_hist_table_stats *ts = &ps->st->t[ps->t];
    ts->created++;
    ts->strays += (uint64_t)moved;
    if (moved > 0)
        BP_WARN(MOD, "made partition %s and moved into it %" PRId64 " stray row(s) of %s_default",
                name, moved, tables[ps->t].name);
    else
        BP_INFO(MOD, "made partition %s", name);
    if (ps->nparts == ps->cap) {
        int cap = ps->cap ? 2 * ps->cap : 16;
        struct part *v = realloc(ps->parts, (size_t)cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ps->parts = v;
        ps->cap = cap;
    }
    int i = ps->nparts++;
    for (; i > 0 && ps->parts[i - 1].r.lo > r.lo; i--)
        ps->parts[i] = ps->parts[i - 1];
    snprintf(ps->parts[i].name, sizeof(ps->parts[i].name), "%s", name);
    ps->parts[i].r = r;
    ts->partitions = ps->nparts;
    return 0;
}

/* The period [start, start + period) that holds ms. */
static struct col_range period_of(const struct pass *ps, int64_t ms)
{
    int64_t lo = col_store_floor_div(ms, ps->period) * ps->period;
    return (struct col_range){lo, lo + ps->period};
}

/* Makes whatever part of want no partition of ps->t covers yet: a partition per period, cut
 * short where one exists already. */
static int ensure(struct pass *ps, struct col_range want)
{
    struct col_range have[64], gaps[8];
    int n = 0, rc = 0;
    for (int i = 0; i < ps->nparts && n < 64; i++)
        if (ps->parts[i].r.hi > want.lo && ps->parts[i].r.lo < want.hi)
            have[n++] = ps->parts[i].r;
    int ngaps = col_parts_gaps(want, have, n, gaps, 8);
    for (int i = 0; i < ngaps && i < 8 && rc == 0; i++)
        for (int64_t lo = gaps[i].lo, hi; lo < gaps[i].hi && rc == 0; lo = hi) {
            hi = period_of(ps, lo).hi < gaps[i].hi ? period_of(ps, lo).hi : gaps[i].hi;
            rc = make_part(ps, (struct col_range){lo, hi});
        }
    return rc;
}

static int64_t cutoff(const struct pass *ps)
{
    int64_t keep = ps->o->retention_ms[tables[ps->t].ret];
    return keep > 0 ? ps->now - keep : INT64_MIN;
}

/* ---- the steps of a pass ------------------------------------------------------------------ */

static int count_default(struct pass *ps, int64_t *n)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s_default", tables[ps->t].name);
    return col_store_db_int(ps->c, sql, 0, NULL, n, NULL, &ps->e) ? fail(ps, "cannot count") : 0;
}

/* Strays past the retention are deleted (their partition would be dropped at once). */
static int delete_old_strays(struct pass *ps)
{
    int64_t cut = cutoff(ps), n = 0;
    if (cut == INT64_MIN)
        return 0;
    char sql[256], when[COL_STORE_TS_LEN];
    col_store_db_ts(cut, when, sizeof(when));
    const char *p[] = {when};
    snprintf(sql, sizeof(sql), "DELETE FROM %s_default WHERE %s < $1::timestamptz",
             tables[ps->t].name, tables[ps->t].key);
    if (col_store_db_affected(ps->c, sql, 1, p, &n, &ps->e))
        return fail(ps, "cannot delete strays past the retention");
    if (n > 0)
        BP_WARN(MOD, "deleted %" PRId64 " stray row(s) of %s_default older than its %s", n,
                tables[ps->t].name, retention_names[tables[ps->t].ret]);
    ps->st->t[ps->t].strays += (uint64_t)n;
    return 0;
}

/* Rows in the default partition: reported, then moved into partitions made for their periods. */
static int strays(struct pass *ps)
{
    int64_t n = 0;
    if (count_default(ps, &n))
        return -EIO;
    if (n == 0)
        return 0;
    BP_WARN(MOD, "%" PRId64 " row(s) in %s_default: no partition covered their time", n,
            tables[ps->t].name);
    if (delete_old_strays(ps))
        return -EIO;
    char sql[256], period[24];
    snprintf(period, sizeof(period), "%" PRId64, ps->period);
    const char *p[] = {period};
    snprintf(sql, sizeof(sql),
             "SELECT DISTINCT floor(extract(epoch FROM %s) * 1000 / $1::float8)::bigint FROM "
             "%s_default ORDER BY 1 LIMIT %d",
             tables[ps->t].key, tables[ps->t].name, STRAY_PERIODS_MAX);
    PGresult *r = PQexecParams(ps->c, sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        col_store_db_err_set(&ps->e, ps->c, r);
        PQclear(r);
        return fail(ps, "cannot read the strays' periods");
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = ensure(ps, period_of(ps, strtoll(PQgetvalue(r, i, 0), NULL, 10) * ps->period));
    PQclear(r);
    return rc;
}

/* Drops every partition of ps->t wholly older than its retention, oldest first. */
static int retention(struct pass *ps)
{
    int64_t cut = cutoff(ps);
    int kept = 0, rc = 0;
    char sql[128];
    for (int i = 0; i < ps->nparts; i++) {
        struct part *pt = &ps->parts[i];
        if (rc || pt->r.hi > cut) {
            ps->parts[kept++] = *pt;
            continue;
        }
        snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", pt->name);
        if (col_store_db_run(ps->c, sql, 0, NULL, &ps->e)) {
            rc = fail(ps, pt->name);
            ps->parts[kept++] = *pt;
            continue;
        }
        char until[COL_STORE_TS_LEN];
        col_store_db_ts(pt->r.hi, until, sizeof(until));
        BP_INFO(MOD, "retention: dropped partition %s (rows before %s, past %s)", pt->name, until,
                retention_names[tables[ps->t].ret]);
        ps->st->t[ps->t].dropped++;
    }
    ps->nparts = kept;
    ps->st->t[ps->t].partitions = kept;
    return rc;
}

static int table_pass(struct pass *ps, enum col_hist_table t)
{
    int64_t ahead = (ps->o->ahead_days > 0 ? ps->o->ahead_days : 1) * COL_DAY_MS;
    struct col_range want = {period_of(ps, ps->now).lo, period_of(ps, ps->now + ahead).hi};
    int rc = list_parts(ps, t);
    if (rc == 0)
        rc = ensure(ps, want);
    if (rc == 0)
        rc = strays(ps);
    if (rc == 0)
        rc = retention(ps);
    int64_t left = 0;
    if (rc == 0 && (rc = count_default(ps, &left)) == 0)
        ps->st->t[t].default_rows = left;
    return rc;
}

/* ---- status_daily: each bot's status at 00:00 UTC ----------------------------------------- */

/* $1: the day (Unix ms of 00:00 UTC). Bots that changed the day before: their last status;
 * the others: the day before's. */
static const char *const checkpoint_sql =
    "INSERT INTO status_daily (at, bot_id, status)"
    " SELECT to_timestamp($1::float8 / 1000), bot_id, status FROM"
    " (SELECT DISTINCT ON (bot_id) bot_id, to_status AS status FROM status_transitions"
    "  WHERE ts >= to_timestamp(($1::bigint - 86400000)::float8 / 1000)"
    "  AND ts < to_timestamp($1::float8 / 1000) ORDER BY bot_id, ts DESC, id DESC) l"
    " UNION ALL"
    " SELECT to_timestamp($1::float8 / 1000), p.bot_id, p.status FROM status_daily p"
    "  WHERE p.at = to_timestamp(($1::bigint - 86400000)::float8 / 1000) AND NOT EXISTS"
    "  (SELECT 1 FROM status_transitions t WHERE t.bot_id = p.bot_id"
    "   AND t.ts >= to_timestamp(($1::bigint - 86400000)::float8 / 1000)"
    "   AND t.ts < to_timestamp($1::float8 / 1000))"
    " ON CONFLICT (at, bot_id) DO UPDATE SET status = EXCLUDED.status";

/* The first day whose checkpoint is missing or may be stale. */
static int first_checkpoint(struct pass *ps, int64_t dirty_ts, int64_t today, int64_t *first)
{
    int64_t latest = 0;
    bool none = true;
    ps->t = COL_HIST_STATUS_DAILY;
    int64_t keep = cutoff(ps);
    if (col_store_db_int(ps->c,
                         "SELECT (extract(epoch FROM max(at)) * 1000)::bigint FROM status_daily", 0,
                         NULL, &latest, &none, &ps->e))
        return fail(ps, "cannot read its newest day");
    *first = today;
    if (!none) {
        *first = latest + COL_DAY_MS;
    } else if (list_parts(ps, COL_HIST_TRANSITIONS) == 0 && ps->nparts > 0) {
        *first = col_store_floor_div(ps->parts[0].r.lo, COL_DAY_MS) * COL_DAY_MS + COL_DAY_MS;
    }
    if (dirty_ts > 0 &&
        col_store_floor_div(dirty_ts, COL_DAY_MS) * COL_DAY_MS + COL_DAY_MS < *first)
        *first = col_store_floor_div(dirty_ts, COL_DAY_MS) * COL_DAY_MS + COL_DAY_MS;
    int64_t oldest = today - BACKFILL_DAYS_MAX * COL_DAY_MS;
    if (keep > oldest) /* older days' statuses would be dropped at the next pass */
        oldest = col_store_floor_div(keep, COL_DAY_MS) * COL_DAY_MS;
    if (*first < oldest)
        *first = oldest;
    return 0;
}

static int checkpoints(struct pass *ps, int64_t dirty_ts)
{
    int64_t today = col_store_floor_div(ps->now, COL_DAY_MS) * COL_DAY_MS, first = 0, n = 0;
    if (first_checkpoint(ps, dirty_ts, today, &first) || list_parts(ps, COL_HIST_STATUS_DAILY))
        return -EIO;
    for (int64_t day = first; day <= today; day += COL_DAY_MS, n++) {
        if (stopping(ps))
            return -ECANCELED;
        char d[24];
        snprintf(d, sizeof(d), "%" PRId64, day);
        const char *p[] = {d};
        if (ensure(ps, period_of(ps, day)))
            return -EIO;
        if (col_store_db_run(ps->c, checkpoint_sql, 1, p, &ps->e))
            return fail(ps, "cannot make a day's statuses");
    }
    if (n > 1) {
        char from[COL_STORE_TS_LEN];
        col_store_db_ts(first, from, sizeof(from));
        BP_INFO(MOD, "status_daily: %" PRId64 " day(s) brought up to date, from %s", n, from);
    }
    return 0;
}

int col_parts_pass(PGconn *c, const struct col_hist_opts *o, int64_t now_wall, int64_t dirty_ts,
                   const atomic_bool *stop, struct col_hist_stats *st)
{
    struct pass ps = {.c = c, .o = o, .now = now_wall, .st = st, .stop = stop, .e = {.state = ""}};
    int days = o->partition_days > 0 ? o->partition_days : 1;
    ps.period = days * COL_DAY_MS;
    int rc = col_store_db_run(c, "SET lock_timeout = '5s'", 0, NULL, &ps.e) ? fail(&ps, "set") : 0;
    for (int t = 0; t < COL_HIST_NTABLES && rc == 0; t++)
        rc = stopping(&ps) ? -ECANCELED : table_pass(&ps, (enum col_hist_table)t);
    if (rc == 0)
        rc = checkpoints(&ps, dirty_ts);
    free(ps.parts);
    return rc;
}
