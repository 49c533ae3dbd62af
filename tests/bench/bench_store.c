/* SPDX-License-Identifier: MIT */
/* Benchmark (a program, not a test): how fast the collector's store writes trades to PostgreSQL,
 * against the ceiling measured in the same run on the same server: a raw COPY of the same rows
 * into the same partitioned table, pre-formatted, in transactions of the same size. Throwaway
 * PostgreSQL from the fixture. See docs/benchmarks.md.
 *
 *   bench_store [--rows N] [--batch B] [--rounds R]
 * Each round runs both, on an emptied table; the ratio is printed per round and as a median. */
#include "fixture.h"

#include "clock.h"
#include "store.h"
#include "store_copy.h"
#include "store_load.h"
#include "store_maint.h"
#include "store_op.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct params {
    int rows, batch, rounds;
};

static void make_trade(struct col_store_op *op, int i, int64_t now)
{
    memset(op, 0, sizeof(*op));
    op->kind = COL_OP_TRADE;
    op->ts = now + i / 50;
    snprintf(op->u.trade.agent, sizeof(op->u.trade.agent), "agent-%d", i % 10);
    snprintf(op->u.trade.boot, sizeof(op->u.trade.boot), "boot-bench");
    op->u.trade.seq = i + 1;
    snprintf(op->u.trade.bot, sizeof(op->u.trade.bot), "bot-%d", i % 1000);
    snprintf(op->u.trade.trade.id, sizeof(op->u.trade.trade.id), "T%d", i);
    op->u.trade.trade.trade_ts = now + i / 50 - 5;
    snprintf(op->u.trade.trade.symbol, sizeof(op->u.trade.trade.symbol), "BTC-USDT");
    snprintf(op->u.trade.trade.side, sizeof(op->u.trade.trade.side), i % 2 ? "buy" : "sell");
}

/* Appends the rows of ops[first..first+n) to b as COPY text for trades (timestamps as
 * timestamptz text). */
static void format_rows(const struct col_store_op *ops, int first, int n,
                        struct col_store_copybuf *b)
{
    for (int i = first; i < first + n; i++) {
        char seq[24], ts[COL_STORE_TS_LEN], recv[COL_STORE_TS_LEN];
        snprintf(seq, sizeof(seq), "%" PRId64, ops[i].u.trade.seq);
        col_store_db_ts(ops[i].u.trade.trade.trade_ts, ts, sizeof(ts));
        col_store_db_ts(ops[i].ts, recv, sizeof(recv));
        const char *v[] = {ops[i].u.trade.agent,        ops[i].u.trade.boot,       seq,
                           ops[i].u.trade.bot,          ops[i].u.trade.trade.id,   ts,
                           ops[i].u.trade.trade.symbol, ops[i].u.trade.trade.side, recv};
        col_store_copy_row(b, v, 9);
    }
}

static int run_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "bench: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -EIO;
}

/* One raw COPY per batch, each in its own transaction; rows/s, or -1. */
static double raw_copy(PGconn *c, const struct col_store_copybuf *data, const int *ends,
                       int nbatches, int rows)
{
    int64_t t0 = bp_mono_ms();
    size_t off = 0;
    for (int b = 0; b < nbatches; b++) {
        if (run_sql(c, "BEGIN"))
            return -1;
        PGresult *r = PQexec(c, "COPY trades (agent_id, boot, seq, bot_id, trade_id, trade_ts, "
                                "symbol, side, received_at) FROM STDIN");
        int ok = PQresultStatus(r) == PGRES_COPY_IN;
        PQclear(r);
        ok = ok && PQputCopyData(c, data->s + off, (int)((size_t)ends[b] - off)) == 1 &&
             PQputCopyEnd(c, NULL) == 1;
        r = PQgetResult(c);
        ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        while ((r = PQgetResult(c)) != NULL)
            PQclear(r);
        if (!ok || run_sql(c, "COMMIT")) {
            fprintf(stderr, "bench: raw COPY failed: %s", PQerrorMessage(c));
            return -1;
        }
        off = (size_t)ends[b];
    }
    int64_t ms = bp_mono_ms() - t0;
    return rows * 1000.0 / (double)(ms > 0 ? ms : 1);
}

/* The collector's store: every op spooled first, then the writer started; rows/s, or -1.
 * *copies and *staged: its COPY statements, and those that went through the staging table. */
static double store_write(struct bpt_env *env, const struct col_store_op *ops,
                          const struct params *p, uint64_t *copies, uint64_t *staged)
{
    struct col_store_opts o = {.conninfo = bpt_pg_conninfo(env),
                               .spool_max = (size_t)p->rows + 1,
                               .batch_max = p->batch,
                               .retry_ms = 200};
    struct col_store *s = NULL;
    if (col_store_new(&o, &s) < 0)
        return -1;
    for (int i = 0; i < p->rows; i++)
        col_store_submit(s, &ops[i]);
    struct col_store_stats st;
    int64_t t0 = bp_mono_ms();
    col_store_start(s);
    do {
        bp_sleep_ms(2);
        col_store_get_stats(s, &st);
    } while (st.written + st.dropped < (uint64_t)p->rows && bp_mono_ms() - t0 < 600000);
    int64_t ms = bp_mono_ms() - t0;
    *copies = st.copy_batches;
    *staged = st.copy_staged;
    col_store_stop(s, 1000);
    col_store_free(s);
    return st.written == (uint64_t)p->rows ? p->rows * 1000.0 / (double)(ms > 0 ? ms : 1) : -1;
}

static int parse_args(int argc, char **argv, struct params *p)
{
    *p = (struct params){.rows = 100000, .batch = 1000, .rounds = 3};
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--rows") == 0)
            p->rows = v;
        else if (strcmp(argv[i], "--batch") == 0)
            p->batch = v;
        else if (strcmp(argv[i], "--rounds") == 0)
            p->rounds = v;
        else
            return -EINVAL;
    }
    return argc % 2 == 1 && p->rows > 0 && p->batch > 0 && p->batch <= 5000 && p->rounds > 0 &&
                   p->rounds <= 20
               ? 0
               : -EINVAL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run(struct bpt_env *env, const struct params *p)
{
    int64_t now = bp_wall_ms();
    struct col_hist_opts h = {.partition_days = 1, .ahead_days = 3};
    struct col_hist_stats hs = {0};
    if (col_store_migrate(bpt_pg_conninfo(env), 30000) < 0 ||
        col_store_maintain(bpt_pg_conninfo(env), &h, now, 0, &hs) < 0)
        return -1;
    struct col_store_op *ops = calloc((size_t)p->rows, sizeof(*ops));
    int nb = (p->rows + p->batch - 1) / p->batch;
    int *ends = calloc((size_t)nb, sizeof(*ends));
    struct col_store_copybuf data = {0};
    PGconn *c = PQconnectdb(bpt_pg_conninfo(env));
    if (!ops || !ends || PQstatus(c) != CONNECTION_OK)
        return -1;
    for (int i = 0; i < p->rows; i++)
        make_trade(&ops[i], i, now);
    for (int b = 0; b < nb; b++) { /* pre-formatted: the ceiling pays no formatting */
        int first = b * p->batch, n = first + p->batch > p->rows ? p->rows - first : p->batch;
        format_rows(ops, first, n, &data);
        ends[b] = (int)data.len;
    }
    double raw[20], store[20], ratio[20], again[20];
    for (int r = 0; r < p->rounds; r++) {
        uint64_t copies = 0, staged = 0, copies2 = 0, staged2 = 0;
        if (run_sql(c, "TRUNCATE trades") || (raw[r] = raw_copy(c, &data, ends, nb, p->rows)) < 0 ||
            run_sql(c, "TRUNCATE trades") ||
            (store[r] = store_write(env, ops, p, &copies, &staged)) < 0 ||
            (again[r] = store_write(env, ops, p, &copies2, &staged2)) < 0)
            return -1;
        ratio[r] = store[r] / raw[r];
        printf("round %d: raw COPY %.0f rows/s, store %.0f rows/s (%" PRIu64 " COPY, %" PRIu64
               " staged), ratio %.2f; all re-sent: %.0f rows/s (%" PRIu64 " COPY, %" PRIu64
               " staged), ratio %.2f\n",
               r + 1, raw[r], store[r], copies, staged, ratio[r], again[r], copies2, staged2,
               again[r] / raw[r]);
        fflush(stdout);
    }
    qsort(raw, (size_t)p->rounds, sizeof(double), cmp_double);
    qsort(store, (size_t)p->rounds, sizeof(double), cmp_double);
    qsort(ratio, (size_t)p->rounds, sizeof(double), cmp_double);
    qsort(again, (size_t)p->rounds, sizeof(double), cmp_double);
    printf("median: raw COPY %.0f rows/s, store %.0f rows/s, all re-sent %.0f rows/s; "
           "store / raw COPY = %.2f\n",
           raw[p->rounds / 2], store[p->rounds / 2], again[p->rounds / 2], ratio[p->rounds / 2]);
    PQfinish(c);
    free(data.s);
    free(ends);
    free(ops);
    return 0;
}

int main(int argc, char **argv)
{
    struct params p;
    if (parse_args(argc, argv, &p) < 0) {
        fprintf(stderr, "usage: bench_store [--rows N] [--batch 1..5000] [--rounds 1..20]\n");
        return 2;
    }
    struct bpt_env *env = bpt_env_new("bench-store");
    if (!env || bpt_pg_start(env) < 0) {
        fprintf(stderr, "bench: could not start PostgreSQL\n");
        bpt_env_free(env);
        return 1;
    }
    printf("bench_store: %d trades, %d per transaction, %d round(s)\n", p.rows, p.batch, p.rounds);
    int rc = run(env, &p);
    if (rc < 0)
        bpt_dump_logs(env);
    bpt_env_free(env);
    return rc < 0 ? 1 : 0;
}
