/* SPDX-License-Identifier: MIT */
/* End to end, outages: mosquitto restarted mid-run and PostgreSQL stopped mid-run; trades
 * reported meanwhile are neither lost nor stored twice. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

BPT_ENV_FIXTURE("outages")

static void trades(struct bpt_env *env, struct bpt_stack *s, int from, int to)
{
    for (int i = from; i <= to; i++) {
        char id[32];
        snprintf(id, sizeof(id), "T-%d", i);
        bpt_assert(env, bpt_stack_trade(s, "bot-1", id) == 0, "notify %s failed", id);
    }
}

static const char *const count_sql = "SELECT count(*) FROM trades WHERE bot_id = 'bot-1'";
static const char *const distinct_sql =
    "SELECT count(DISTINCT trade_id) FROM trades WHERE bot_id = 'bot-1'";

static void test_broker_restart_loses_no_trade(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    trades(env, &s, 1, 5);
    bpt_assert(env, bpt_pg_wait_int(env, 5, 10000, count_sql, 0, NULL) == 5,
               "first 5 trades not stored");
    bpt_assert(env, bpt_broker_stop(env) == 0, "broker did not stop");
    trades(env, &s, 6, 10); /* the agent buffers these while the broker is away */
    bpt_assert(env, bpt_broker_restart(env) == 0, "broker did not restart");
    int64_t n = bpt_pg_wait_int(env, 10, 30000, count_sql, 0, NULL);
    bpt_assert(env, n == 10, "expected 10 trades after the broker came back, got %lld",
               (long long)n);
    bpt_assert(env, bpt_pg_int(env, distinct_sql, 0, NULL) == 10, "a trade is missing");
    /* both daemons are back: a new trade flows end to end, and the bot is healthy */
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    trades(env, &s, 11, 11);
    bpt_assert(env, bpt_pg_wait_int(env, 11, 15000, count_sql, 0, NULL) == 11,
               "trade after reconnect not stored");
    bpt_expect_msg(rec, BPT_ROOT "/collector/stats", 10000, "mqtt_connected=true");
    /* The outage was the broker's, not the bot's: the collector was blind meanwhile, and the
     * agent's Will (fired as the broker went down) waited for the agent's return. */
    bpt_assert(env,
               bpt_pg_int(env,
                          "SELECT count(*) FROM status_transitions WHERE bot_id = 'bot-1' "
                          "AND to_status <> 'healthy'",
                          0, NULL) == 0,
               "the broker restart was reported as the bot's failure");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

static void test_database_outage_stores_every_trade_once(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    trades(env, &s, 1, 5);
    bpt_assert(env, bpt_pg_wait_int(env, 5, 10000, count_sql, 0, NULL) == 5,
               "first 5 trades not stored");
    bpt_assert(env, bpt_pg_stop(env) == 0, "PostgreSQL did not stop");
    trades(env, &s, 6, 15);
    const char *down[] = {"\"db_up\":false", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/collector/stats", down, 15000);
    bpt_assert(env, m, "collector did not report the database down");
    free(m);
    /* monitoring goes on without the database: a killed bot is still reported */
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 10000) == 0,
               "no status change while the database was down");
    bpt_assert(env, bpt_pg_restart(env) == 0, "PostgreSQL did not restart");
    int64_t n = bpt_pg_wait_int(env, 15, 30000, count_sql, 0, NULL);
    bpt_assert(env, n == 15, "expected 15 trades after the database came back, got %lld",
               (long long)n);
    bpt_assert(env, bpt_pg_int(env, distinct_sql, 0, NULL) == 15, "a trade is missing");
    n = bpt_pg_wait_int(env, 1, 10000,
                        "SELECT count(*) FROM status_transitions WHERE bot_id = 'bot-1' "
                        "AND to_status = 'stopped'",
                        0, NULL);
    bpt_assert(env, n == 1, "the transition made during the outage was not stored (%lld)",
               (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_broker_restart_loses_no_trade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_outage_stores_every_trade_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
