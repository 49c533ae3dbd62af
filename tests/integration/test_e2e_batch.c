/* SPDX-License-Identifier: MIT */
/* End to end, batches: one message carrying many bots' heartbeats keeps them all alive, and
 * their silence is seen at each bot's deadline; a bad item is rejected alone and counted; a
 * batch that speaks for another agent is refused whole. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

BPT_ENV_FIXTURE("batch")

#define STATE                                                                                      \
    "{\"v\":1,\"type\":\"agent_state\",\"agent\":\"host-b\",\"boot\":\"k1\",\"seq\":1,"            \
    "\"ts\":%lld,\"online\":true,\"version\":\"t\",\"host\":\"host-b\",\"heartbeat_ms\":500,"      \
    "\"bots\":[{\"id\":\"b1\"},{\"id\":\"b2\"}]}"
#define HB(bot)                                                                                    \
    "{\"type\":\"heartbeat\",\"bot\":\"" bot "\",\"interval_ms\":500,"                             \
    "\"proc\":{\"alive\":true,\"pid\":7,\"uptime_s\":1,\"start_ts\":1}}"

static void publish(struct bpt_env *env, const char *topic, const char *payload, bool retain)
{
    bpt_assert(env, bpt_publish(env, topic, payload, strlen(payload), 1, retain) == 0,
               "publish to %s failed", topic);
}

static void send_batch(struct bpt_env *env, const char *topic, const char *agent, int seq,
                       const char *items)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"v\":1,\"type\":\"batch\",\"agent\":\"%s\",\"boot\":\"k1\",\"seq\":%d,\"ts\":%lld,"
             "\"items\":[%s]}",
             agent, seq, (long long)bp_wall_ms(), items);
    publish(env, topic, json, false);
}

static void test_batch_keeps_bots_alive_and_bad_items_alone(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    char st[512];
    snprintf(st, sizeof(st), STATE, (long long)bp_wall_ms());
    publish(env, BPT_ROOT "/agents/host-b/state", st, true);

    /* a few rounds of batches: both bots healthy on batched heartbeats alone; the third item
     * (an unknown field) is rejected by itself every round */
    for (int i = 1; i <= 6; i++) {
        send_batch(env, BPT_ROOT "/agents/host-b/batch", "host-b", i + 1,
                   HB("b1") "," HB("b2") ",{\"type\":\"heartbeat\",\"bot\":\"b3\",\"colour\":1}");
        bp_sleep_ms(300);
    }
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "b1", "healthy", 5000) == 0, "b1 not healthy");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "b2", "healthy", 5000) == 0, "b2 not healthy");
    const char *counted[] = {"\"unknown_field\":6", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/collector/stats", counted, 10000);
    bpt_assert(env, m, "bad items not counted one by one");
    free(m);
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/b3", NULL) == 0,
               "a rejected item created its bot");

    /* the batches stop: each bot is down at its own deadline (3 missed 500 ms heartbeats) */
    int64_t stopped = bp_mono_ms();
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "b1", "down", 10000) == 0, "b1 never down");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "b2", "down", 10000) == 0, "b2 never down");
    bpt_assert(env, bp_mono_ms() - stopped >= 1000, "down before the heartbeat timeout");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

/* host-b may not speak for host-c: the batch is refused whole, and no bot of it appears. */
static void test_batch_for_another_agent_refused(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    send_batch(env, BPT_ROOT "/agents/host-b/batch", "host-c", 1, HB("c1"));
    const char *counted[] = {"\"topic\":1", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/collector/stats", counted, 10000);
    bpt_assert(env, m, "a batch for another agent was not counted as a topic rejection");
    free(m);
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/c1", NULL) == 0,
               "a refused batch created its bot");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

/* A real agent with the default batch = auto: once the collector's retained state says it
 * reads batches, every heartbeat and stats round is one message, and a killed bot is still
 * seen at once (its out-of-turn heartbeat goes alone). With batch = off, none is sent. */
static void test_agent_batches_when_the_collector_reads_them(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    char *first = bpt_rec_wait(rec, BPT_ROOT "/agents/agent-1/batch", NULL, 10000);
    bpt_assert(env, first, "the agent sent no batch although the collector reads them");
    free(first);
    bp_sleep_ms(300);
    bpt_rec_clear(rec); /* from here on: batches only */
    bp_sleep_ms(1200);  /* two heartbeat rounds and a stats round */
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/agents/agent-1/bots/+/+", NULL) == 0,
               "heartbeats or stats went out one message per bot");
    const char *healthy[] = {"\"status\":\"healthy\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/+", healthy) == 0,
               "a status changed while batches kept the bots alive");
    const char *batched[] = {"\"bot-1\"", "\"bot-2\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/agents/agent-1/batch", batched) >= 3,
               "fewer batches than heartbeat and stats rounds");
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 5000) == 0,
               "a killed bot was not seen");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

static void test_agent_batch_off(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}, .mqtt_extra = "batch = off\n"};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 not healthy");
    char *own = bpt_rec_wait(rec, BPT_ROOT "/agents/agent-1/bots/bot-1/heartbeat", NULL, 5000);
    bpt_assert(env, own, "no heartbeat of its own with batch = off");
    free(own);
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/agents/agent-1/batch", NULL) == 0,
               "a batch was sent with batch = off");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_keeps_bots_alive_and_bad_items_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_for_another_agent_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agent_batches_when_the_collector_reads_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_agent_batch_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
