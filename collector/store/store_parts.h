/* SPDX-License-Identifier: MIT */
/* The history tables' partitions (deploy/sql/008_partitions.sql): which tables are partitioned
 * on which time, and one maintenance pass over them on a connection: partitions made ahead,
 * stray rows moved out of the default partitions, whole partitions dropped past their
 * retention, and each bot's status at the start of every day (status_daily) brought up to date.
 * The caller holds the advisory lock that makes one collector at a time do this (store_maint.h). */
#ifndef COL_STORE_PARTS_H
#define COL_STORE_PARTS_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define COL_DAY_MS INT64_C(86400000)

/* Every partitioned table, in the order a pass maintains them. */
enum col_hist_table {
    COL_HIST_TRADES,
    COL_HIST_TRANSITIONS,
    COL_HIST_STATUS_DAILY,
    COL_HIST_ALERTS,
    COL_HIST_SAMPLES,
    COL_HIST_COMMANDS,
    COL_HIST_RESULTS,
    COL_HIST_NTABLES
};

/* Retention classes, one [database] retention_* key each. */
enum col_hist_retention {
    COL_RET_SAMPLES,     /* bot_samples */
    COL_RET_TRADES,      /* trades */
    COL_RET_TRANSITIONS, /* status_transitions, status_daily */
    COL_RET_ALERTS,      /* alert_events */
    COL_RET_COMMANDS,    /* commands, command_results */
    COL_RET_COUNT
};

struct col_hist_opts {
    int partition_days;                  /* days per new partition, 1..31 (0: 1) */
    int ahead_days;                      /* partitions cover at least now + this (0: 1) */
    int64_t retention_ms[COL_RET_COUNT]; /* 0 keeps forever */
};

struct col_hist_table_stats {
    int64_t partitions;   /* partitions now, the default one not counted */
    int64_t default_rows; /* rows in the default partition after the last pass */
    uint64_t created;     /* partitions made */
    uint64_t dropped;     /* partitions dropped past the retention */
    uint64_t strays;      /* rows found in the default partition (moved out, or dropped if past
                             the retention) */
};

struct col_hist_stats {
    struct col_hist_table_stats t[COL_HIST_NTABLES];
    uint64_t passes;   /* passes completed */
    uint64_t failures; /* passes that failed (retried later) */
    uint64_t skipped;  /* passes left to another collector that held the lock */
    int64_t last_pass; /* Unix ms when the last pass completed; 0: never */
};

/* The table's name ("trades"), and the retention class it follows. */
const char *col_hist_table_name(enum col_hist_table t);
enum col_hist_retention col_hist_table_retention(enum col_hist_table t);

/* One range [lo, hi) in Unix ms. */
struct col_range {
    int64_t lo, hi;
};

/* The parts of want not covered by the sorted, disjoint ranges have[0..nhave): written to
 * out (at most max), in order. Returns how many (more than max means some were left out). */
int col_parts_gaps(struct col_range want, const struct col_range *have, int nhave,
                   struct col_range *out, int max);

/* A partition's name: table_pYYYYMMDD (UTC day of lo), with _HHMMSS when lo is not at 00:00.
 * -ENAMETOOLONG if it does not fit in size. */
int col_parts_name(const char *table, int64_t lo, char *out, size_t size);

/* One maintenance pass at now_wall (Unix ms) on c: for each table, the partitions covering
 * [now, now + ahead_days] and every period a stray row of its default partition falls in are
 * made (moving those rows in, in the same transaction), strays past the retention are deleted,
 * and partitions wholly past the retention are dropped; then status_daily is brought up to date
 * from the earlier of its newest day and dirty_ts (Unix ms of the oldest transition written late,
 * 0: none). Counts into st, logs each change. stop (NULL: never) is looked at between steps.
 * 0, -ECANCELED, or -EIO (logged; what was done stays done). */
int col_parts_pass(PGconn *c, const struct col_hist_opts *o, int64_t now_wall, int64_t dirty_ts,
                   const atomic_bool *stop, struct col_hist_stats *st);

#endif
