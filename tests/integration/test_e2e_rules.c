/* SPDX-License-Identifier: MIT */
/* End to end, the rules beyond liveness: a resource alarm from the agent's real /proc stats
 * (with thresholds set low enough that this host trips them), confirmed only after three
 * samples; and a bot stopped on purpose, which raises nothing when it goes away. */
#include "stack.h"

#include "clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>

BPT_ENV_FIXTURE("rules")

static void test_disk_alarm_degrades_at_once_and_alerts_after_three_samples(void **state)
{
    struct bpt_env *env = *state;
    /* collector_extra lands in [rules]; any real disk is more than 2 % full */
    struct bpt_stack_opts o = {.bots = {"bot-1"},
                               .resource_checks = true,
                               .collector_extra = "disk_warn = 1\ndisk_crit = 2\n"
                                                  "resource_confirm = 3\n"
                                                  /* a busy test machine must not decide */
                                                  "cpu_warn = 10000\ncpu_crit = 10000\n"
                                                  "mem_warn = 101\nmem_crit = 101\n"};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    const char *pending[] = {"\"status\":\"degraded\"", "\"check\":\"resources\"",
                             "(1 of 3 samples)", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/status/bot-1", pending, 15000);
    bpt_assert(env, m, "bot-1 not degraded by its first failing stats sample");
    free(m);
    const char *opened[] = {"\"event\":\"opened\"", "\"check\":\"resources\"",
                            "\"status\":\"degraded\"", "disk ", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/critical/bot-1", opened, 15000);
    bpt_assert(env, m, "no critical resources alert after three failing samples");
    free(m);
    /* pending and confirmed are two transitions: degraded without, then with, an alert */
    const char *p[] = {"bot-1"};
    int64_t n = bpt_pg_wait_int(env, 1, 10000,
                                "SELECT count(*) FROM alert_events WHERE bot_id = $1 AND "
                                "check_name = 'resources' AND event = 'opened'",
                                1, p);
    bpt_assert(env, n == 1, "expected 1 resources alert row, got %lld", (long long)n);
    n = bpt_pg_int(env,
                   "SELECT count(*) FROM status_transitions WHERE bot_id = $1 AND "
                   "to_status = 'degraded' AND check_name = 'resources'",
                   1, p);
    bpt_assert(env, n == 2, "expected 2 degraded transitions (pending, confirmed), got %lld",
               (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
}

static void test_bot_stopped_on_purpose_raises_nothing(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"},
                               .collector_extra = "[bot bot-2]\nintended = stopped\n"};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-2", "idle", 15000) == 0,
               "bot-2 (intended stopped, running, not trading) not idle");
    bpt_assert(env, bpt_signal(env, "bot-bot-2", SIGKILL) == 0, "could not kill bot-2");
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    const char *as_intended[] = {"\"status\":\"stopped\"", "stopped, as intended", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/status/bot-2", as_intended, 10000);
    bpt_assert(env, m, "bot-2 not reported stopped as intended");
    free(m);
    const char *opened[] = {"\"event\":\"opened\"", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/+/bot-1", opened, 10000); /* the control */
    bpt_assert(env, m, "bot-1, meant to run, raised no alert");
    free(m);
    bp_sleep_ms(1000);
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/alerts/+/bot-2", opened) == 0,
               "bot-2, stopped on purpose, raised an alert");
    /* and it trading while intended stopped is itself an alert */
    bpt_assert(env, bpt_stack_start_bot(&s, "bot-2") == 0, "could not restart bot-2");
    bpt_assert(env, bpt_stack_trade(&s, "bot-2", "t-1") == 0, "trade not accepted");
    const char *trading[] = {"\"event\":\"opened\"", "\"check\":\"intent\"",
                             "trading although intended stopped", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/critical/bot-2", trading, 10000);
    bpt_assert(env, m, "bot-2 traded while intended stopped, and nothing was raised");
    free(m);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
}

static void test_account_thresholds_follow_the_agents_labels(void **state)
{
    struct bpt_env *env = *state;
    /* the stack labels bot-1 acct-0 and bot-2 acct-1 through the agent */
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"},
                               .collector_extra =
                                   "[account acct-1]\ntrade_stale = 2s\ntrade_stopped = 1h\n"};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-2", "stale", 15000) == 0,
               "bot-2 (account acct-1, trade_stale 2s) never went stale");
    const char *stale[] = {"\"status\":\"stale\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/bot-1", stale) == 0,
               "bot-1 (acct-0, default 30m) went stale too");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_disk_alarm_degrades_at_once_and_alerts_after_three_samples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bot_stopped_on_purpose_raises_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_account_thresholds_follow_the_agents_labels, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
