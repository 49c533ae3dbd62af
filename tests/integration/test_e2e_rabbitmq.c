/* SPDX-License-Identifier: MIT */
/* End to end on a clustered broker, RabbitMQ's MQTT plugin (a private node): heartbeats make
 * bots healthy, trades are stored exactly once (also across a collector restart, through its
 * persistent session), a SIGKILLed bot turns stopped, a SIGKILLed agent's Will downs its bots.
 * Skipped, with a message, when rabbitmq-server is not installed. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static const char *const count_sql = "SELECT count(*) FROM trades WHERE bot_id = 'bot-1'";
static const char *const distinct_sql =
    "SELECT count(DISTINCT trade_id) FROM trades WHERE bot_id = 'bot-1'";

static int setup(void **state)
{
    if (!bpt_rabbitmq_installed())
        return 0; /* the test skips itself */
    struct bpt_env *env = bpt_env_new("rabbitmq");
    if (env)
        bpt_broker_use_rabbitmq(env);
    *state = env;
    return env ? 0 : -1;
}

static int teardown(void **state)
{
    bpt_env_free(*state);
    return 0;
}

static void trades(struct bpt_env *env, struct bpt_stack *s, int from, int to)
{
    for (int i = from; i <= to; i++) {
        char id[32];
        snprintf(id, sizeof(id), "T-%d", i);
        bpt_assert(env, bpt_stack_trade(s, "bot-1", id) == 0, "notify %s failed", id);
    }
}

/* n trades of bot-1 are in the trades table, each exactly once. */
static void expect_trades(struct bpt_env *env, int n, int64_t timeout_ms)
{
    int64_t got = bpt_pg_wait_int(env, n, timeout_ms, count_sql, 0, NULL);
    bpt_assert(env, got == n, "expected %d trade rows, got %lld", n, (long long)got);
    got = bpt_pg_int(env, distinct_sql, 0, NULL);
    bpt_assert(env, got == n, "expected %d distinct trades, got %lld", n, (long long)got);
}

/* SIGTERM to the collector: it exits with status 0. */
static void stop_collector(struct bpt_env *env)
{
    bpt_assert(env, bpt_signal(env, "collector", SIGTERM) == 0, "collector not running");
    int status = bpt_wait_exit(env, "collector", 15000);
    bpt_assert(env, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "collector did not shut down cleanly (status %d)", status);
}

static void test_core_scenarios_on_rabbitmq(void **state)
{
    struct bpt_env *env = *state;
    if (!env) {
        print_message(
            "test_e2e_rabbitmq: rabbitmq-server is not installed (scripts/deps.sh installs "
            "it): the RabbitMQ MQTT plugin scenarios did not run\n");
        skip();
    }
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start on RabbitMQ");
    /* Exact topics, no wildcard: RabbitMQ (3.x) sends retained messages only to those. */
    const char *const topics[] = {BPT_ROOT "/status/bot-1", BPT_ROOT "/status/bot-2",
                                  BPT_ROOT "/alerts/critical/bot-1", NULL};
    struct bpt_rec *rec =
        bpt_rec_new_as(env, BPT_OBSERVER_LOGIN, bpt_broker_login(env, BPT_OBSERVER_LOGIN), topics);
    bpt_assert(env, rec, "recorder did not connect to RabbitMQ");

    /* heartbeats through RabbitMQ make both bots healthy (retained status included) */
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 20000) == 0,
               "bot-1 never became healthy");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-2", "healthy", 20000) == 0,
               "bot-2 never became healthy");

    /* trades, exactly once; then five more while the collector is away: RabbitMQ keeps them
     * in the collector's persistent session (a durable queue) until it is back */
    trades(env, &s, 1, 5);
    expect_trades(env, 5, 15000);
    stop_collector(env);
    trades(env, &s, 6, 10);
    bpt_assert(env, bpt_stack_start_collector(&s) == 0, "collector did not come back");
    expect_trades(env, 10, 30000);

    /* a bot killed with SIGKILL turns stopped, with a critical alert */
    bpt_rec_clear(rec);
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 15000) == 0,
               "bot-1 not reported stopped after SIGKILL");
    bpt_expect_msg(rec, BPT_ROOT "/alerts/critical/bot-1", 10000, "event=opened", "check=process");

    /* the agent killed with SIGKILL: RabbitMQ publishes its Will, its bots go down */
    bpt_assert(env, bpt_signal(env, "agent", SIGKILL) == 0, "could not kill the agent");
    const char *down[] = {"\"status\":\"down\"", "agent offline", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/status/bot-2", down, 20000);
    bpt_assert(env, m, "bot-2 not reported down by the agent's Last Will");
    free(m);
    const char *p[] = {"agent-1"};
    int64_t online =
        bpt_pg_wait_int(env, 0, 10000, "SELECT online::int FROM agents WHERE agent_id = $1", 1, p);
    bpt_assert(env, online == 0, "agents row still online (%lld)", (long long)online);
    expect_trades(env, 10, 1000); /* still exactly once after all that */
    bpt_rec_free(rec);
    stop_collector(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_core_scenarios_on_rabbitmq, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
