/* SPDX-License-Identifier: MIT */
/* End to end, one agent login against the fleet: a flood from it is cut to its [agents] rate
 * (dropped, counted) while the fleet's bots stay healthy and the collector stays sighted, and
 * it cannot speak for more than [agents] bots_max bots. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

BPT_ENV_FIXTURE("caps")

static void heartbeat(struct bpt_env *env, const char *agent, const char *bot, int seq)
{
    char topic[256], json[512];
    snprintf(topic, sizeof(topic), BPT_ROOT "/agents/%s/bots/%s/heartbeat", agent, bot);
    snprintf(json, sizeof(json),
             "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"%s\",\"bot\":\"%s\",\"boot\":\"k1\","
             "\"seq\":%d,\"ts\":%lld,\"interval_ms\":1000,\"proc\":{\"alive\":true,\"pid\":7,"
             "\"uptime_s\":1,\"start_ts\":1}}",
             agent, bot, seq, (long long)bp_wall_ms());
    bpt_assert(env, bpt_publish(env, topic, json, strlen(json), 1, false) == 0,
               "publish to %s failed", topic);
}

/* The newest collector_stats' counter key, once it reaches at least min; -1 on timeout. */
static long long stat_at_least(struct bpt_rec *rec, const char *key, long long min,
                               int64_t timeout_ms)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "\"%s\":", key);
    const char *needles[] = {needle, NULL};
    int64_t until = bp_mono_ms() + timeout_ms;
    long long v = -1;
    while (bp_mono_ms() < until) {
        char *m = bpt_rec_wait(rec, BPT_ROOT "/collector/stats", needles, 1000);
        const char *p = m ? strstr(m, needle) : NULL;
        v = p ? strtoll(p + strlen(needle), NULL, 10) : -1;
        free(m);
        if (v >= min)
            return v;
        bp_sleep_ms(200);
    }
    return -1;
}

/* 2,000 heartbeats from one agent as fast as they go, at a cap of 20/s with a burst of 50:
 * nearly all of them dropped and counted, and the real agent's bot beside it stays healthy. */
static void test_a_flooding_agent_is_cut_to_its_rate(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"},
                               .collector_extra = "[agents]\nrate = 20\nburst = 50\n"};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 not healthy before the flood");
    int64_t start = bp_mono_ms();
    for (int i = 1; i <= 2000; i++)
        heartbeat(env, "flooder", "f1", i);
    int64_t took_s = (bp_mono_ms() - start) / 1000 + 1;
    long long most = 50 + 20 * took_s; /* what the cap lets through while it lasted */
    long long dropped = stat_at_least(rec, "rate_dropped", 2000 - most, 10000);
    bpt_assert(env, dropped >= 2000 - most,
               "a flood of 2000 heartbeats in %llds was not cut to the rate (dropped %lld)",
               (long long)took_s, dropped);
    /* the fleet did not pay for it: still sighted, its bot still healthy */
    const char *sighted[] = {"\"blind\":false", "\"queue_dropped\":0", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/collector/stats", sighted, 10000);
    bpt_assert(env, m, "the flood made the collector drop messages or go blind");
    free(m);
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 5000) == 0,
               "bot-1 not healthy after the flood");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

/* bots_max = 3: an agent naming five bots gets the first three; the others are refused,
 * counted, and never appear. */
static void test_an_agent_speaks_for_at_most_bots_max(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}, .collector_extra = "[agents]\nbots_max = 3\n"};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    const char *bots[] = {"c1", "c2", "c3", "c4", "c5"};
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < 5; i++) {
            heartbeat(env, "greedy", bots[i], round * 10 + i);
            bp_sleep_ms(20); /* in order: the first three are the ones kept */
        }
        bp_sleep_ms(300);
    }
    for (int i = 0; i < 3; i++)
        bpt_assert(env, bpt_stack_wait_status(&s, rec, bots[i], "healthy", 10000) == 0,
                   "%s not healthy", bots[i]);
    bpt_assert(env, stat_at_least(rec, "bots_refused", 6, 10000) >= 6,
               "the bots past bots_max were not refused and counted (two bots, three rounds)");
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/c4", NULL) == 0, "c4 was let in");
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/c5", NULL) == 0, "c5 was let in");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_flooding_agent_is_cut_to_its_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_agent_speaks_for_at_most_bots_max, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
