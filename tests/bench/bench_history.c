/* SPDX-License-Identifier: MIT */
/* Benchmark (a program, not a test): generates a fleet's history (bots × days of samples,
 * trades, transitions, alerts and commands) into the partitioned tables of a throwaway
 * PostgreSQL from the fixture, then reports disk bytes per bot per day and how long the HTTP
 * API's reads take on it: the audit report over the whole range (fleet and one bot), a bot's
 * transition history, its samples and trade buckets. See docs/benchmarks.md.
 *
 *   bench_history [--bots N] [--days D] [--sample-every S] [--trades T] [--transitions X]
 *                 [--keep]
 * S: seconds between a bot's samples (60: the default stats interval); T, X: per bot per day.
 * --keep leaves the database (its directory is printed) for EXPLAIN by hand. */
#include "fixture.h"

#include "clock.h"
#include "http_db.h"
#include "report.h"
#include "store_db.h"
#include "store_load.h"
#include "store_maint.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY COL_DAY_MS
#define RUNS 5 /* each read is timed this many times; the median is printed */

struct params {
    int bots, days, sample_every, trades, transitions;
    bool keep;
};

static const char *const tables[] = {"bot_samples",  "trades",   "status_transitions",
                                     "alert_events", "commands", "command_results"};

/* One day's rows. $1 the day's 00:00 (timestamptz), $2 bots, $3 seconds between samples,
 * $4 trades and $5 transitions per bot per day, $6 the day's number (for unique ids). */
static const char *const day_sql[] = {
    "INSERT INTO bot_samples (bot_id, ts, proc_cpu_pct, proc_rss_kb, host_cpu_pct, host_mem_pct,"
    " host_disk_pct, host_load1, proc_threads, proc_fds, host_swap_pct)"
    " SELECT 'bot-' || b, $1::timestamptz + (m * $3::int + b % $3::int) * interval '1 second',"
    " (random() * 100)::numeric(5,1), 100000 + b, (random() * 100)::numeric(5,1), 42.5, 61.2,"
    " 0.8, 12, 40, 0 FROM generate_series(0, $2::int - 1) b,"
    " generate_series(0, 86400 / $3::int - 1) m",
    "INSERT INTO trades (agent_id, boot, seq, bot_id, trade_id, trade_ts, symbol, side,"
    " received_at) SELECT 'agent-' || b / 100, 'boot-gen', ($6::bigint * $2::int + b) * $4::int"
    " + k, 'bot-' || b, 'T' || $6::int || '-' || b || '-' || k, $1::timestamptz + (k * 86400 /"
    " $4::int + b % 60) * interval '1 second', 'BTC-USDT', CASE WHEN k % 2 = 0 THEN 'buy' ELSE"
    " 'sell' END, $1::timestamptz + (k * 86400 / $4::int + b % 60 + 1) * interval '1 second'"
    " FROM generate_series(0, $2::int - 1) b, generate_series(0, $4::int - 1) k",
    "INSERT INTO status_transitions (event_id, bot_id, ts, from_status, to_status, check_name,"
    " reason) SELECT 'gen-' || $6::int || '-' || b || '-' || k, 'bot-' || b, $1::timestamptz +"
    " (k * 86400 / $5::int + b % 600) * interval '1 second', CASE WHEN k % 2 = 0 THEN 'healthy'"
    " ELSE 'stale' END, CASE WHEN k % 2 = 0 THEN 'stale' ELSE 'healthy' END, 'heartbeat',"
    " 'no heartbeat' FROM generate_series(0, $2::int - 1) b, generate_series(0, $5::int - 1) k",
    "INSERT INTO alert_events (event_id, alert_id, bot_id, check_name, event, severity, status,"
    " reason, ts) SELECT 'gena-' || $6::int || '-' || b || '-' || k, 'gena-' || $6::int || '-' ||"
    " b || '-' || (k - k % 2), 'bot-' || b, 'heartbeat', CASE WHEN k % 2 = 0 THEN 'opened' ELSE"
    " 'resolved' END, 'warning', 'stale', 'no heartbeat', $1::timestamptz + (k * 86400 /"
    " $5::int + b % 600 + 30) * interval '1 second' FROM generate_series(0, $2::int - 1) b,"
    " generate_series(0, $5::int - 1) k",
    "INSERT INTO commands (nonce, agent_id, bot_id, action, ts, expires, reason)"
    " SELECT 'genn-' || $6::int || '-' || b, 'agent-' || b / 100, 'bot-' || b, 'restart',"
    " $1::timestamptz + interval '10 hours', $1::timestamptz + interval '10 hours 5 minutes',"
    " 'down' FROM generate_series(0, $2::int - 1) b WHERE b % 50 = $6::int % 50",
    "INSERT INTO command_results (agent_id, boot, seq, nonce, bot_id, action, outcome, exit_code,"
    " duration_ms, output, reason, ts, received_at) SELECT 'agent-' || b / 100, 'boot-gen',"
    " $6::bigint * $2::int + b, 'genn-' || $6::int || '-' || b, 'bot-' || b, 'restart', 'ok', 0,"
    " 900, 'restarted', '', $1::timestamptz + interval '10 hours 2 seconds', $1::timestamptz +"
    " interval '10 hours 3 seconds' FROM generate_series(0, $2::int - 1) b"
    " WHERE b % 50 = $6::int % 50",
};

static int parse_args(int argc, char **argv, struct params *p)
{
    *p = (struct params){
        .bots = 1000, .days = 30, .sample_every = 60, .trades = 50, .transitions = 6};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0) {
            p->keep = true;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        int v = atoi(argv[++i]);
        if (strcmp(argv[i - 1], "--bots") == 0)
            p->bots = v;
        else if (strcmp(argv[i - 1], "--days") == 0)
            p->days = v;
        else if (strcmp(argv[i - 1], "--sample-every") == 0)
            p->sample_every = v;
        else if (strcmp(argv[i - 1], "--trades") == 0)
            p->trades = v;
        else if (strcmp(argv[i - 1], "--transitions") == 0)
            p->transitions = v;
        else
            return -1;
    }
    return p->bots > 0 && p->days > 0 && p->days <= 400 && p->sample_every >= 1 &&
                   p->sample_every <= 86400 && p->trades > 0 && p->transitions > 0
               ? 0
               : -1;
}

/* Parameters as text (a statement need not use every one of them). */
static int run(PGconn *c, const char *sql, int np, const char *const *v)
{
    static const Oid text[8] = {25, 25, 25, 25, 25, 25, 25, 25};
    PGresult *r = PQexecParams(c, sql, np, np ? text : NULL, v, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc)
        fprintf(stderr, "bench: %.60s...: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return rc;
}

/* Fills days [first, first + days) and returns the seconds it took, or -1. */
static double generate(PGconn *c, const struct params *p, int64_t first)
{
    char day[COL_STORE_TS_LEN], bots[16], every[16], trades[16], trans[16], n[16];
    snprintf(bots, sizeof(bots), "%d", p->bots);
    snprintf(every, sizeof(every), "%d", p->sample_every);
    snprintf(trades, sizeof(trades), "%d", p->trades);
    snprintf(trans, sizeof(trans), "%d", p->transitions);
    int64_t t0 = bp_mono_ms();
    for (int d = 0; d < p->days; d++) {
        col_store_db_ts(first + d * DAY, day, sizeof(day));
        snprintf(n, sizeof(n), "%d", d);
        const char *v[] = {day, bots, every, trades, trans, n};
        for (size_t q = 0; q < sizeof(day_sql) / sizeof(day_sql[0]); q++)
            if (run(c, day_sql[q], 6, v))
                return -1;
        fprintf(stderr, "\rbench: day %d of %d generated", d + 1, p->days);
    }
    fprintf(stderr, "\n");
    return (double)(bp_mono_ms() - t0) / 1000.0;
}

static int64_t int_query(PGconn *c, const char *sql, const char *param)
{
    const char *v[] = {param};
    PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, v, NULL, NULL, 0);
    int64_t out = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                      ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                      : -1;
    PQclear(r);
    return out;
}

static void print_sizes(PGconn *c, const struct params *p)
{
    int64_t total = 0;
    printf("\n| table | rows | disk (with indexes) | bytes per bot per day |\n|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        int64_t rows = int_query(c, sql, NULL);
        int64_t bytes = int_query(c,
                                  "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)"
                                  " FROM pg_inherits WHERE inhparent = $1::regclass",
                                  tables[i]);
        total += bytes;
        printf("| %s | %" PRId64 " | %.1f MiB | %.0f |\n", tables[i], rows,
               (double)bytes / 1048576.0, (double)bytes / p->bots / p->days);
    }
    printf("| all | | %.1f MiB | %.0f |\n", (double)total / 1048576.0,
           (double)total / p->bots / p->days);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum read_kind { R_REPORT_FLEET, R_REPORT_BOT, R_HISTORY, R_SAMPLES_DAY, R_SAMPLES_WEEK };

/* One read of kind k over [from, to); 0 or -1. */
static int one_read(struct col_http_db *db, enum read_kind k, int64_t from, int64_t to)
{
    char why[256];
    int rc = -1;
    if (k == R_REPORT_FLEET || k == R_REPORT_BOT) {
        struct col_report r;
        col_report_init(&r, from, to);
        rc = col_http_db_report(db, k == R_REPORT_BOT ? "bot-7" : NULL, &r, why, sizeof(why));
        col_report_cleanup(&r);
    } else if (k == R_HISTORY) {
        struct col_history_page pg = {.bot = "bot-7", .from = from, .to = to, .limit = 100};
        cJSON *out = NULL;
        int64_t next = 0;
        rc = col_http_db_transitions(db, &pg, &out, &next, why, sizeof(why));
        cJSON_Delete(out);
    } else {
        cJSON *s = NULL, *t = NULL;
        int64_t span = k == R_SAMPLES_DAY ? DAY : 7 * DAY;
        rc = col_http_db_samples(db, "bot-7", to - span, to, span / 100, &s, &t, why, sizeof(why));
        cJSON_Delete(s);
        cJSON_Delete(t);
    }
    if (rc)
        fprintf(stderr, "bench: read %d: %s\n", (int)k, why);
    return rc;
}

static void time_reads(const char *conninfo, int64_t from, int64_t to)
{
    static const char *const names[] = {
        "audit report, whole range, every bot", "audit report, whole range, one bot",
        "a bot's transitions (newest 100 in the range)", "a bot's samples and trade buckets, 1 day",
        "a bot's samples and trade buckets, 7 days"};
    struct col_http_db *db = col_http_db_new(conninfo, 600000);
    printf("\n| read | median of %d | first run |\n|---|---|---|\n", RUNS);
    for (int k = 0; k < 5; k++) {
        double ms[RUNS];
        for (int i = 0; i < RUNS; i++) {
            int64_t t0 = bp_mono_ms();
            if (one_read(db, (enum read_kind)k, from, to))
                break;
            ms[i] = (double)(bp_mono_ms() - t0);
        }
        double first = ms[0];
        qsort(ms, RUNS, sizeof(ms[0]), cmp_double);
        printf("| %s | %.0f ms | %.0f ms |\n", names[k], ms[RUNS / 2], first);
    }
    col_http_db_free(db);
}

int main(int argc, char **argv)
{
    struct params p;
    if (parse_args(argc, argv, &p) < 0) {
        fprintf(stderr, "usage: bench_history [--bots N] [--days 1..400] [--sample-every S]"
                        " [--trades T] [--transitions X] [--keep]\n");
        return 2;
    }
    struct bpt_env *env = bpt_env_new("bench-history");
    if (!env || bpt_pg_start(env) != 0 || col_store_migrate(bpt_pg_conninfo(env), 10000) != 0) {
        fprintf(stderr, "bench: cannot start PostgreSQL\n");
        bpt_env_free(env);
        return 1;
    }
    int64_t today = bp_wall_ms() / DAY * DAY, first = today - p.days * DAY;
    /* the partitions of the whole range, as the collector makes them (from the first day on) */
    struct col_hist_opts o = {.partition_days = 1, .ahead_days = p.days + 1};
    struct col_hist_stats st = {0};
    PGconn *c = PQconnectdb(bpt_pg_conninfo(env));
    int rc = col_store_maintain(bpt_pg_conninfo(env), &o, first, 0, &st) == 0 ? 0 : 1;
    double secs = rc ? -1 : generate(c, &p, first);
    rc = secs < 0 || run(c, "VACUUM ANALYZE", 0, NULL) ? 1 : 0;
    /* status_daily: a pass at today's time brings each day's statuses up to date */
    if (rc == 0 && col_store_maintain(bpt_pg_conninfo(env), &o, today, first, &st) != 0)
        rc = 1;
    if (rc == 0) {
        printf("generated %d bots x %d days (a sample every %d s, %d trades and %d transitions"
               " per bot per day) in %.1f s\n",
               p.bots, p.days, p.sample_every, p.trades, p.transitions, secs);
        print_sizes(c, &p);
        time_reads(bpt_pg_conninfo(env), first, today);
    }
    PQfinish(c);
    if (p.keep)
        printf("\nkept: %s (conninfo: %s)\n", bpt_env_dir(env), bpt_pg_conninfo(env));
    else
        bpt_env_free(env);
    return rc;
}
