/* SPDX-License-Identifier: MIT */
/* The HTTP API's own read-only PostgreSQL connection: history pages for the API and the
 * database health probe. Separate from the store's writer connection, so a slow query never
 * delays a write and no read ever touches the rules thread. Every query is parameterised
 * (PQexecParams) and bounded by statement_timeout; connecting is bounded by connect_timeout.
 * Calls are serialised on a mutex (one connection); any thread may call. */
#ifndef COL_HTTP_DB_H
#define COL_HTTP_DB_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct col_http_db;

/* conninfo is copied. Nothing is connected until the first call. NULL on ENOMEM. */
struct col_http_db *col_http_db_new(const char *conninfo, int64_t timeout_ms);
void col_http_db_free(struct col_http_db *db);

/* SELECT 1, reconnecting first if needed. 0, or -EIO with the reason in why. */
int col_http_db_ping(struct col_http_db *db, char *why, size_t whylen);

/* One page of history, newest first. from/to: Unix ms bounds (0 = open), before: only rows with
 * an id below it (0 = from the newest), limit: rows at most. On success *out is a cJSON array of
 * row objects (caller deletes) and *next_before the id to pass as before for the next page (0:
 * this was the last). 0, or -EIO with the reason in why. */
struct col_history_page {
    const char *bot; /* NULL: every bot (alerts only) */
    int64_t from, to, before, limit;
};
int col_http_db_transitions(struct col_http_db *db, const struct col_history_page *p, cJSON **out,
                            int64_t *next_before, char *why, size_t whylen);
int col_http_db_alert_events(struct col_http_db *db, const struct col_history_page *p, cJSON **out,
                             int64_t *next_before, char *why, size_t whylen);

/* A bot's stats between from and to (Unix ms), oldest first (at most 5000 rows): *samples an
 * array of {ts, proc_cpu_pct, proc_rss_kb, host_cpu_pct, host_mem_pct, host_disk_pct} (null
 * where unknown); *trades an array of {ts, count}, trades per bucket_ms from the bucket's start
 * (empty buckets left out). Caller deletes both. 0, -ENOMEM, or -EIO with the reason in why. */
int col_http_db_samples(struct col_http_db *db, const char *bot, int64_t from, int64_t to,
                        int64_t bucket_ms, cJSON **samples, cJSON **trades, char *why,
                        size_t whylen);

/* The open alerts (the newest event of each is not "resolved") of the n bots, oldest first per
 * bot, as their owners announced them: *out (caller frees) and *nout. 0, -ENOMEM, or -EIO with
 * the reason in why. */
struct col_alert_view;
int col_http_db_open_alerts(struct col_http_db *db, const char *const *bots, size_t n,
                            struct col_alert_view **out, size_t *nout, char *why, size_t whylen);

/* Fills r (initialised with its range) for one bot (NULL: every bot) from status_transitions
 * (with status_daily for the status before the range), alert_events, trades (by their trade_ts)
 * and commands, then finishes it. Bots appear if they have a status before r->to, an alert or a
 * trade in the range. 0, -ENOMEM, or -EIO with the reason in why. */
struct col_report;
int col_http_db_report(struct col_http_db *db, const char *bot, struct col_report *r, char *why,
                       size_t whylen);

/* The SQL of the reads above, so the tests can EXPLAIN them (each reads only the partitions of
 * its range): parameters as the functions pass them (the pages: $1 bot, $2 from, $3 to, $4
 * before, $5 limit; samples and buckets: $1 bot, $2 from, $3 to, $4 bucket ms; the report:
 * checkpoint $1 from; transitions $1 bot, $2 from, $3 to, $4 the checkpoint's day; the others $1
 * bot, $2 from, $3 to). NULL for an unknown one. */
enum col_http_db_sql {
    COL_SQL_TRANSITIONS_PAGE,
    COL_SQL_ALERTS_PAGE,
    COL_SQL_SAMPLES,
    COL_SQL_TRADE_BUCKETS,
    COL_SQL_REPORT_CHECKPOINT,
    COL_SQL_REPORT_TRANSITIONS,
    COL_SQL_REPORT_ALERTS,
    COL_SQL_REPORT_TRADES,
    COL_SQL_REPORT_RESTARTS,
    COL_SQL_COUNT
};
const char *col_http_db_sql(enum col_http_db_sql q);

#endif
