/* SPDX-License-Identifier: MIT */
/* End to end, liveness: a bot killed with SIGKILL, and an agent killed with SIGKILL, as seen
 * on MQTT (status, alert) and in PostgreSQL (transition rows), with a real broker and database. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>

BPT_ENV_FIXTURE("liveness")

static void start(struct bpt_env *env, struct bpt_stack *s, struct bpt_rec **rec)
{
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"}};
    *rec = NULL;
    bpt_assert(env, bpt_stack_start(env, &o, s) == 0, "stack did not start");
    *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, *rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(s, *rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
}

static void test_killed_bot_is_stopped_with_alert_and_row(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_rec *rec;
    start(env, &s, &rec);
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 10000) == 0,
               "bot-1 not reported stopped after SIGKILL");
    const char *alert[] = {"\"event\":\"opened\"", "\"bot\":\"bot-1\"", "\"check\":\"process\"",
                           NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/alerts/critical/bot-1", alert, 5000);
    bpt_assert(env, m, "no critical alert for bot-1 on MQTT");
    free(m);
    const char *p[] = {"bot-1"};
    int64_t rows = bpt_pg_wait_int(env, 1, 10000,
                                   "SELECT count(*) FROM status_transitions WHERE bot_id = $1 "
                                   "AND from_status = 'healthy' AND to_status = 'stopped'",
                                   1, p);
    bpt_assert(env, rows == 1, "expected 1 healthy->stopped row for bot-1, got %lld",
               (long long)rows);
    rows = bpt_pg_wait_int(env, 1, 10000,
                           "SELECT count(*) FROM alert_events WHERE bot_id = $1 AND "
                           "event = 'opened' AND severity = 'critical'",
                           1, p);
    bpt_assert(env, rows == 1, "expected the opened alert in alert_events, got %lld",
               (long long)rows);
    /* the other bot on the same agent is unaffected */
    const char *healthy2[] = {"\"status\":\"stopped\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/bot-2", healthy2) == 0,
               "bot-2 was reported stopped too");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

static void test_killed_agent_downs_its_bots_through_last_will(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_rec *rec;
    start(env, &s, &rec);
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-2", "healthy", 10000) == 0,
               "bot-2 never became healthy");
    bpt_assert(env, bpt_signal(env, "agent", SIGKILL) == 0, "could not kill the agent");
    /* The Will arrives as soon as the broker sees the socket close: well before the
     * heartbeat timeout (3 x 500 ms) could explain it, the reason names the agent. */
    const char *down[] = {"\"status\":\"down\"", "agent offline", NULL};
    char *m1 = bpt_rec_wait(rec, BPT_ROOT "/status/bot-1", down, 15000);
    char *m2 = bpt_rec_wait(rec, BPT_ROOT "/status/bot-2", down, 15000);
    bpt_assert(env, m1 && m2, "bots not reported down by the agent's Last Will");
    free(m1);
    free(m2);
    const char *p[] = {"agent-1"};
    int64_t online =
        bpt_pg_wait_int(env, 0, 10000, "SELECT online::int FROM agents WHERE agent_id = $1", 1, p);
    bpt_assert(env, online == 0, "agents row still online (%lld)", (long long)online);
    /* the agent comes back: its bots are healthy again and the alerts resolve */
    bpt_assert(env, bpt_stack_start_agent(&s) == 0, "agent did not restart");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 not healthy after the agent came back");
    bpt_expect_msg(rec, BPT_ROOT "/alerts/+/bot-1", 10000, "event=resolved");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_bot_is_stopped_with_alert_and_row, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_killed_agent_downs_its_bots_through_last_will, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
