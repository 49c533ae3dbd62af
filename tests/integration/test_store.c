/* SPDX-License-Identifier: MIT */
/* The store against a real PostgreSQL: migrations, exactly-once batches, the spool through an
 * outage, overflow, upsert collapsing and idempotent events. */
#include "clock.h"
#include "fixture.h"
#include "migrations.h"
#include "store.h"
#include "store_load.h"
#include "store_op.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h> /* cmocka.h needs these three first */
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define WAIT_MS 20000

/* ---- helpers ----------------------------------------------------------------------------- */

static struct col_store *store_new(struct bpt_env *env, const char *conninfo, size_t spool_max,
                                   int batch_max)
{
    struct col_store_opts o = {.conninfo = conninfo ? conninfo : bpt_pg_conninfo(env),
                               .spool_max = spool_max,
                               .batch_max = batch_max,
                               .retry_ms = 200};
    struct col_store *s = NULL;
    bpt_assert(env, col_store_new(&o, &s) == 0, "col_store_new");
    return s;
}

static void trade_op(struct col_store_op *op, const char *boot, int64_t seq)
{
    memset(op, 0, sizeof(*op));
    op->kind = COL_OP_TRADE;
    op->ts = 1700000000000 + seq * 1000 + 123;
    snprintf(op->u.trade.agent, sizeof(op->u.trade.agent), "agent-1");
    snprintf(op->u.trade.boot, sizeof(op->u.trade.boot), "%s", boot);
    op->u.trade.seq = seq;
    snprintf(op->u.trade.bot, sizeof(op->u.trade.bot), "bot-%" PRId64, seq % 7);
    snprintf(op->u.trade.trade.id, sizeof(op->u.trade.trade.id), "T%" PRId64, seq);
    op->u.trade.trade.trade_ts = 1700000000000 + seq * 1000 + 7;
    snprintf(op->u.trade.trade.symbol, sizeof(op->u.trade.trade.symbol), "BTCUSDT");
    snprintf(op->u.trade.trade.side, sizeof(op->u.trade.trade.side), seq % 2 ? "buy" : "sell");
}

static void submit_trades(struct bpt_env *env, struct col_store *s, const char *boot, int n)
{
    struct col_store_op op;
    for (int i = 1; i <= n; i++) {
        trade_op(&op, boot, i);
        bpt_assert(env, col_store_submit(s, &op) == 0, "submit trade %d", i);
    }
}

enum until { UNTIL_WRITTEN, UNTIL_SPOOLED, UNTIL_DOWN_SPOOLED };

/* Polls the stats every 5 ms until the condition holds; fails the test on timeout. */
static struct col_store_stats wait_stats(struct bpt_env *env, struct col_store *s, enum until what,
                                         uint64_t n)
{
    struct col_store_stats st;
    int64_t deadline = bp_mono_ms() + WAIT_MS;
    for (;;) {
        col_store_get_stats(s, &st);
        bool ok = what == UNTIL_WRITTEN   ? st.written >= n
                  : what == UNTIL_SPOOLED ? st.spooled == n
                                          : !st.db_up && st.failures > 0 && st.spooled == n;
        if (ok)
            return st;
        bpt_assert(env, bp_mono_ms() < deadline,
                   "timeout waiting (%d, %" PRIu64 "): written %" PRIu64 " spooled %" PRIu64
                   " failures %" PRIu64 " db_up %d",
                   (int)what, n, st.written, st.spooled, st.failures, (int)st.db_up);
        bp_sleep_ms(5);
    }
}

static int64_t count_boot(struct bpt_env *env, const char *boot)
{
    const char *p[] = {boot};
    return bpt_pg_int(env, "SELECT count(*) FROM trades WHERE boot = $1", 1, p);
}

/* Writes one agent row and waits for it, so the writer is connected before timing starts. */
static void warm_up(struct bpt_env *env, struct col_store *s)
{
    struct col_store_op op = {.kind = COL_OP_AGENT, .ts = bp_wall_ms()};
    snprintf(op.u.agent.agent, sizeof(op.u.agent.agent), "agent-warm");
    op.u.agent.online = true;
    bpt_assert(env, col_store_submit(s, &op) == 0, "submit warm-up");
    wait_stats(env, s, UNTIL_WRITTEN, 1);
}

/* ---- group: one PostgreSQL for every test ------------------------------------------------ */

static int group_setup(void **state)
{
    struct bpt_env *env = bpt_env_new("store");
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

/* ---- tests ------------------------------------------------------------------------------- */

static void test_migrations_idempotent(void **state)
{
    struct bpt_env *env = *state;
    bpt_assert(env, col_store_migrate(bpt_pg_conninfo(env), 5000) == 0, "second migrate");
    bpt_assert(env, col_store_migrate(bpt_pg_conninfo(env), 5000) == 0, "third migrate");
    int64_t n = bpt_pg_int(env, "SELECT count(*) FROM schema_migrations", 0, NULL);
    bpt_assert(env, n == col_migrations_count, "schema_migrations has %" PRId64 " rows", n);
    n = bpt_pg_int(env,
                   "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN "
                   "('agents', 'bots', 'status_transitions', 'trades', 'alert_events', "
                   "'bot_samples', 'schema_migrations')",
                   0, NULL);
    bpt_assert(env, n == 7, "%" PRId64 " of 7 tables", n);
}

static void test_trades_exactly_once(void **state)
{
    struct bpt_env *env = *state;
    struct col_store *s = store_new(env, NULL, 10000, 1000);
    bpt_assert(env, col_store_start(s) == 0, "start");
    warm_up(env, s);

    int64_t t0 = bp_mono_ms();
    submit_trades(env, s, "boot-batch", 2500);
    struct col_store_stats st = wait_stats(env, s, UNTIL_WRITTEN, 2501);
    int64_t ms = bp_mono_ms() - t0;
    fprintf(stderr,
            "store: 2500 trades written in %" PRId64 " ms (%.0f rows/s, %" PRIu64
            " transactions)\n",
            ms, 2500.0 * 1000.0 / (double)(ms > 0 ? ms : 1), st.batches - 1);
    int64_t n = count_boot(env, "boot-batch");
    bpt_assert(env, n == 2500, "%" PRId64 " rows after the first pass", n);

    /* Exactly what we sent: timestamps to the millisecond, NULL-free text. */
    n = bpt_pg_int(env,
                   "SELECT count(*) FROM trades WHERE boot = 'boot-batch' AND seq = 42 AND "
                   "bot_id = 'bot-0' AND trade_id = 'T42' AND symbol = 'BTCUSDT' AND side = 'sell' "
                   "AND (extract(epoch FROM trade_ts) * 1000)::bigint = 1700000042007 "
                   "AND (extract(epoch FROM received_at) * 1000)::bigint = 1700000042123",
                   0, NULL);
    bpt_assert(env, n == 1, "trade 42 not stored as sent");

    submit_trades(env, s, "boot-batch", 2500);
    wait_stats(env, s, UNTIL_WRITTEN, 5001);
    n = count_boot(env, "boot-batch");
    bpt_assert(env, n == 2500, "%" PRId64 " rows after re-sending", n);
    col_store_stop(s, 2000);
    col_store_free(s);
}

static void test_outage_replay(void **state)
{
    struct bpt_env *env = *state;
    struct col_store *s = store_new(env, NULL, 10000, 1000);
    bpt_assert(env, col_store_start(s) == 0, "start");
    warm_up(env, s);

    bpt_assert(env, bpt_pg_stop(env) == 0, "pg stop");
    submit_trades(env, s, "boot-outage", 300);
    struct col_store_stats st = wait_stats(env, s, UNTIL_DOWN_SPOOLED, 300);
    bpt_assert(env, st.written == 1, "written %" PRIu64 " while down", st.written);
    bp_sleep_ms(600); /* a few retries: still nothing lost, nothing written */
    col_store_get_stats(s, &st);
    bpt_assert(env, st.spooled == 300 && !st.db_up, "spooled %" PRIu64, st.spooled);
    bpt_assert(env, st.failures <= 10, "%" PRIu64 " failures in ~1 s: busy loop?", st.failures);

    bpt_assert(env, bpt_pg_restart(env) == 0, "pg restart");
    st = wait_stats(env, s, UNTIL_SPOOLED, 0);
    bpt_assert(env, st.written == 301 && st.db_up, "written %" PRIu64, st.written);
    int64_t n = count_boot(env, "boot-outage");
    bpt_assert(env, n == 300, "%" PRId64 " rows after the outage", n);
    n = bpt_pg_int(env, "SELECT count(DISTINCT seq) FROM trades WHERE boot = 'boot-outage'", 0,
                   NULL);
    bpt_assert(env, n == 300, "%" PRId64 " distinct seqs", n);
    col_store_stop(s, 2000);
    col_store_free(s);
}

static void test_spool_overflow(void **state)
{
    struct bpt_env *env = *state;
    char conninfo[700];
    snprintf(conninfo, sizeof(conninfo), "host=%s/nowhere port=1 dbname=x connect_timeout=1",
             bpt_env_dir(env));
    struct col_store *s = store_new(env, conninfo, 10, 5);
    bpt_assert(env, col_store_start(s) == 0, "start");

    struct col_store_op op;
    int refused = 0;
    for (int i = 1; i <= 25; i++) {
        trade_op(&op, "boot-overflow", i);
        int rc = col_store_submit(s, &op);
        bpt_assert(env, rc == 0 || rc == -ENOBUFS, "submit: %d", rc);
        refused += rc == -ENOBUFS;
    }
    struct col_store_stats st = wait_stats(env, s, UNTIL_DOWN_SPOOLED, 10);
    bpt_assert(env, refused == 15 && st.dropped == 15 && st.submitted == 25,
               "refused %d dropped %" PRIu64 " submitted %" PRIu64, refused, st.dropped,
               st.submitted);

    int64_t t0 = bp_mono_ms();
    col_store_stop(s, 300);
    int64_t ms = bp_mono_ms() - t0;
    bpt_assert(env, ms < 3000, "stop took %" PRId64 " ms with the database away", ms);
    bpt_assert(env, col_store_submit(s, &op) == -ESHUTDOWN, "submit after stop");
    col_store_get_stats(s, &st);
    bpt_assert(env, st.written == 0 && st.spooled == 10, "after stop: written %" PRIu64,
               st.written);
    col_store_free(s);
}

static void bot_op(struct col_store_op *op, enum col_status status, const char *reason,
                   int64_t last_heartbeat)
{
    memset(op, 0, sizeof(*op));
    op->kind = COL_OP_BOT;
    op->ts = bp_wall_ms();
    snprintf(op->u.bot.id, sizeof(op->u.bot.id), "bot-collapse");
    snprintf(op->u.bot.agent, sizeof(op->u.bot.agent), "agent-c");
    snprintf(op->u.bot.account, sizeof(op->u.bot.account), "acct");
    snprintf(op->u.bot.exchange, sizeof(op->u.bot.exchange), "binance");
    snprintf(op->u.bot.host, sizeof(op->u.bot.host), "h1");
    op->u.bot.status = status;
    snprintf(op->u.bot.reason, sizeof(op->u.bot.reason), "%s", reason);
    op->u.bot.since = 1700000000000;
    op->u.bot.last_heartbeat = last_heartbeat;
    op->u.bot.last_trade = 1700000000500;
}

static const char *const BOT_ROW_SQL =
    "SELECT status || '/' || reason || '/' || (last_heartbeat IS NULL) FROM bots "
    "WHERE bot_id = 'bot-collapse'";

static void test_bot_upsert_collapse(void **state)
{
    struct bpt_env *env = *state;
    struct col_store *s = store_new(env, NULL, 100, 100);
    struct col_store_op op;

    /* Spooled before the writer starts: all five land in one transaction. */
    bot_op(&op, COL_ST_HEALTHY, "", 1700000000900);
    bpt_assert(env, col_store_submit(s, &op) == 0, "submit");
    for (int online = 1; online >= 0; online--) {
        struct col_store_op a = {.kind = COL_OP_AGENT, .ts = 1700000001000 + online};
        snprintf(a.u.agent.agent, sizeof(a.u.agent.agent), "agent-c");
        a.u.agent.online = online;
        bpt_assert(env, col_store_submit(s, &a) == 0, "submit agent");
    }
    bot_op(&op, COL_ST_DOWN, "process gone", 0);
    bpt_assert(env, col_store_submit(s, &op) == 0, "submit");
    bpt_assert(env, col_store_start(s) == 0, "start");
    struct col_store_stats st = wait_stats(env, s, UNTIL_WRITTEN, 4);
    bpt_assert(env, st.batches == 1 && st.failures == 0, "%" PRIu64 " batches %" PRIu64 " failures",
               st.batches, st.failures);
    char *row = bpt_pg_text(env, BOT_ROW_SQL, 0, NULL);
    bpt_assert(env, row && strcmp(row, "down/process gone/true") == 0, "bot row %s", row);
    free(row);
    int64_t online =
        bpt_pg_int(env, "SELECT online::int FROM agents WHERE agent_id = 'agent-c'", 0, NULL);
    bpt_assert(env, online == 0, "agent online %" PRId64, online);

    /* A later batch updates the row again. */
    bot_op(&op, COL_ST_HEALTHY, "recovered", 1700000002000);
    bpt_assert(env, col_store_submit(s, &op) == 0, "submit");
    wait_stats(env, s, UNTIL_WRITTEN, 5);
    row = bpt_pg_text(env, BOT_ROW_SQL, 0, NULL);
    bpt_assert(env, row && strcmp(row, "healthy/recovered/false") == 0, "bot row %s", row);
    free(row);
    col_store_stop(s, 2000);
    col_store_free(s);
}

static void submit_events(struct bpt_env *env, struct col_store *s)
{
    struct col_store_op op;
    for (int i = 1; i <= 2; i++) {
        memset(&op, 0, sizeof(op));
        op.kind = COL_OP_TRANSITION;
        op.ts = 1700000010000 + i;
        snprintf(op.event_id, sizeof(op.event_id), "run-ev-%d", i);
        snprintf(op.u.transition.bot, sizeof(op.u.transition.bot), "bot-ev");
        snprintf(op.u.transition.from_status, sizeof(op.u.transition.from_status), "ok");
        snprintf(op.u.transition.to_status, sizeof(op.u.transition.to_status), "stale");
        snprintf(op.u.transition.check, sizeof(op.u.transition.check), "heartbeat");
        snprintf(op.u.transition.reason, sizeof(op.u.transition.reason), "no heartbeat");
        bpt_assert(env, col_store_submit(s, &op) == 0, "submit transition");
    }
    memset(&op, 0, sizeof(op));
    op.kind = COL_OP_ALERT;
    op.ts = 1700000010005;
    snprintf(op.event_id, sizeof(op.event_id), "run-ev-3");
    snprintf(op.u.alert.alert_id, sizeof(op.u.alert.alert_id), "run-ev-3");
    snprintf(op.u.alert.bot, sizeof(op.u.alert.bot), "bot-ev");
    snprintf(op.u.alert.check, sizeof(op.u.alert.check), "heartbeat");
    snprintf(op.u.alert.event, sizeof(op.u.alert.event), "opened");
    snprintf(op.u.alert.severity, sizeof(op.u.alert.severity), "warning");
    snprintf(op.u.alert.status, sizeof(op.u.alert.status), "stale");
    bpt_assert(env, col_store_submit(s, &op) == 0, "submit alert");
    memset(&op, 0, sizeof(op));
    op.kind = COL_OP_SAMPLE;
    op.ts = 1700000040000;
    snprintf(op.u.sample.bot, sizeof(op.u.sample.bot), "bot-ev");
    op.u.sample.stats = (struct bp_stats){.proc_cpu_pct = -1,
                                          .proc_rss_kb = 2048,
                                          .host_cpu_pct = 12.5,
                                          .host_mem_pct = 40,
                                          .host_disk_pct = 70,
                                          .host_load1 = 0.25,
                                          .proc_threads = 7,
                                          .has_proc_threads = true,
                                          .proc_fds = 99, /* not flagged: NULL */
                                          .host_swap_pct = 3.5,
                                          .has_host_swap = true};
    bpt_assert(env, col_store_submit(s, &op) == 0, "submit sample");
}

static void test_events_idempotent(void **state)
{
    struct bpt_env *env = *state;
    struct col_store *s = store_new(env, NULL, 100, 100);
    bpt_assert(env, col_store_start(s) == 0, "start");
    submit_events(env, s);
    wait_stats(env, s, UNTIL_WRITTEN, 4);
    submit_events(env, s);
    wait_stats(env, s, UNTIL_WRITTEN, 8);

    int64_t n =
        bpt_pg_int(env, "SELECT count(*) FROM status_transitions WHERE bot_id = 'bot-ev'", 0, NULL);
    bpt_assert(env, n == 2, "%" PRId64 " transitions", n);
    n = bpt_pg_int(env,
                   "SELECT count(*) FROM alert_events WHERE bot_id = 'bot-ev' AND "
                   "alert_id = 'run-ev-3' AND event = 'opened' AND severity = 'warning'",
                   0, NULL);
    bpt_assert(env, n == 1, "%" PRId64 " alert events", n);
    n = bpt_pg_int(env,
                   "SELECT count(*) FROM bot_samples WHERE bot_id = 'bot-ev' AND "
                   "proc_cpu_pct IS NULL AND proc_rss_kb = 2048 AND host_cpu_pct = 12.5 AND "
                   "host_load1 = 0.25 AND proc_threads = 7 AND proc_fds IS NULL AND "
                   "host_swap_pct = 3.5",
                   0, NULL);
    bpt_assert(env, n == 1, "%" PRId64 " samples", n);
    col_store_stop(s, 2000);
    col_store_free(s);
}

/* An op the server refuses (timestamp out of range) is discarded and counted; the rest of its
 * batch is stored and the spool does not wedge. */
static void test_poison_op_discarded(void **state)
{
    struct bpt_env *env = *state;
    struct col_store *s = store_new(env, NULL, 100, 100);
    struct col_store_op op;
    for (int i = 1; i <= 5; i++) {
        trade_op(&op, "boot-poison", i);
        if (i == 3)
            op.u.trade.trade.trade_ts = INT64_MAX / 2;
        bpt_assert(env, col_store_submit(s, &op) == 0, "submit");
    }
    bpt_assert(env, col_store_start(s) == 0, "start");
    struct col_store_stats st = wait_stats(env, s, UNTIL_SPOOLED, 0);
    bpt_assert(env, st.written == 4 && st.dropped == 1 && st.db_up,
               "written %" PRIu64 " dropped %" PRIu64, st.written, st.dropped);
    int64_t n = count_boot(env, "boot-poison");
    bpt_assert(env, n == 4, "%" PRId64 " rows", n);
    col_store_stop(s, 2000);
    col_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_idempotent), cmocka_unit_test(test_trades_exactly_once),
        cmocka_unit_test(test_outage_replay),         cmocka_unit_test(test_spool_overflow),
        cmocka_unit_test(test_bot_upsert_collapse),   cmocka_unit_test(test_events_idempotent),
        cmocka_unit_test(test_poison_op_discarded),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
