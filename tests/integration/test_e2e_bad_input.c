/* SPDX-License-Identifier: MIT */
/* End to end, bad input: malformed, oversized, wrong-typed, unknown-version, unknown-field and
 * spoofed messages, and one sent a century ahead of the collector's clock, are rejected and
 * counted by reason; the collector stays up and keeps its state. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

BPT_ENV_FIXTURE("badinput")

#define HB_TOPIC BPT_ROOT "/agents/agent-1/bots/bot-1/heartbeat"
#define GOOD_HB                                                                                    \
    "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"agent-1\",\"bot\":\"bot-1\",\"boot\":\"x\","      \
    "\"seq\":1,\"ts\":1700000000000,\"interval_ms\":500,\"proc\":{\"alive\":false}}"

static void publish(struct bpt_env *env, const char *topic, const char *payload)
{
    bpt_assert(env, bpt_publish(env, topic, payload, strlen(payload), 1, false) == 0,
               "publish to %s failed", topic);
}

static void test_bad_messages_rejected_and_counted(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");

    publish(env, HB_TOPIC, "{\"v\":1,\"type\":\"heartbeat\","); /* json */
    char *big = malloc(9001);
    memset(big, ' ', 9000);
    big[0] = '{';
    big[8999] = '}';
    big[9000] = '\0';
    publish(env, HB_TOPIC, big); /* too_large */
    free(big);
    publish(env, HB_TOPIC,
            "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"agent-1\",\"bot\":\"bot-1\","
            "\"boot\":\"x\",\"seq\":\"one\",\"ts\":1700000000000,\"interval_ms\":500,"
            "\"proc\":{\"alive\":false}}"); /* wrong_type */
    publish(env, HB_TOPIC,
            "{\"v\":2,\"type\":\"heartbeat\",\"agent\":\"agent-1\",\"bot\":\"bot-1\","
            "\"boot\":\"x\",\"seq\":1,\"ts\":1700000000000,\"interval_ms\":500,"
            "\"proc\":{\"alive\":false}}"); /* version */
    publish(env, HB_TOPIC,
            "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"agent-1\",\"bot\":\"bot-1\","
            "\"boot\":\"x\",\"seq\":1,\"ts\":1700000000000,\"interval_ms\":500,"
            "\"proc\":{\"alive\":false},\"extra\":1}");                     /* unknown_field */
    publish(env, BPT_ROOT "/agents/agent-2/bots/bot-1/heartbeat", GOOD_HB); /* topic */
    publish(env, BPT_ROOT "/agents/agent-1/bots/bot-1/nonsense", GOOD_HB);  /* topic */
    publish(env, HB_TOPIC,
            "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"agent-1\",\"bot\":\"bot-1\","
            "\"boot\":\"x\",\"seq\":1,\"ts\":4855000000000,\"interval_ms\":500,"
            "\"proc\":{\"alive\":false}}"); /* range: sent a century ahead of our clock */

    const char *counted[] = {
        "\"json\":1",          "\"too_large\":1", "\"wrong_type\":1", "\"version\":1",
        "\"unknown_field\":1", "\"topic\":2",     "\"range\":1",      NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/collector/stats", counted, 10000);
    bpt_assert(env, m, "rejections not counted by reason in collector/stats");
    free(m);

    /* none of them, each saying the process is dead, changed bot-1's status */
    const char *stopped[] = {"\"status\":\"stopped\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/bot-1", stopped) == 0,
               "a rejected message changed bot-1's status");
    pid_t pid = bpt_pid(env, "collector");
    bpt_assert(env, pid > 0 && kill(pid, 0) == 0, "the collector died");
    /* the collector still works: a real trade is stored, the bot still monitored */
    bpt_assert(env, bpt_stack_trade(&s, "bot-1", "T-after") == 0, "notify failed");
    bpt_assert(env, bpt_pg_wait_int(env, 1, 10000, "SELECT count(*) FROM trades", 0, NULL) == 1,
               "trade after bad input not stored");
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 10000) == 0,
               "bot-1 no longer monitored after bad input");
    /* and a well-formed message from a spoofing topic was not counted as accepted evidence */
    bpt_assert(env,
               bpt_pg_int(env, "SELECT count(*) FROM agents WHERE agent_id = 'agent-2'", 0, NULL) ==
                   0,
               "a spoofed agent was recorded");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_messages_rejected_and_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
