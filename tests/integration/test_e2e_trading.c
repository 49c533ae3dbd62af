/* SPDX-License-Identifier: MIT */
/* End to end, trading: no trade for the stale threshold → stale and a warning alert; a trade →
 * healthy and the alert resolved, on MQTT and in PostgreSQL; trades stored once each. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

BPT_ENV_FIXTURE("trading")

static void test_stale_then_trade_resolves(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {
        .bots = {"bot-1"},
        .collector_extra = "[bot bot-1]\ntrade_stale = 3s\ntrade_stopped = 60s\n",
    };
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 never became healthy");
    bpt_assert(env, bpt_stack_trade(&s, "bot-1", "T-1") == 0, "notify trade failed");
    bpt_assert(env, bpt_pg_wait_int(env, 1, 10000, "SELECT count(*) FROM trades", 0, NULL) == 1,
               "the trade was not stored");
    char *m;

    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stale", 10000) == 0,
               "bot-1 not stale 3 s after its last trade");
    const char *opened[] = {"\"event\":\"opened\"", "\"check\":\"trading\"", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/warning/bot-1", opened, 5000);
    bpt_assert(env, m, "no warning alert when bot-1 went stale");
    free(m);

    bpt_assert(env, bpt_stack_trade(&s, "bot-1", "T-2") == 0, "notify trade failed");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 not healthy again after a trade");
    const char *resolved[] = {"\"event\":\"resolved\"", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/warning/bot-1", resolved, 5000);
    bpt_assert(env, m, "the stale alert was not resolved");
    free(m);

    const char *p[] = {"bot-1"};
    int64_t n = bpt_pg_wait_int(env, 2, 10000,
                                "SELECT count(*) FROM alert_events WHERE bot_id = $1 AND "
                                "event IN ('opened', 'resolved')",
                                1, p);
    bpt_assert(env, n == 2, "expected opened+resolved in alert_events, got %lld", (long long)n);
    n = bpt_pg_wait_int(env, 2, 10000, "SELECT count(*) FROM trades WHERE bot_id = $1", 1, p);
    bpt_assert(env, n == 2, "expected 2 trades stored, got %lld", (long long)n);
    char *sym = bpt_pg_text(env, "SELECT symbol || '/' || side FROM trades WHERE trade_id = 'T-2'",
                            0, NULL);
    bpt_assert(env, sym && strcmp(sym, "BTC-USDT/buy") == 0, "trade row fields: %s",
               sym ? sym : "(none)");
    free(sym);
    n = bpt_pg_int(env,
                   "SELECT count(*) FROM status_transitions WHERE bot_id = $1 AND "
                   "to_status = 'stale'",
                   1, p);
    bpt_assert(env, n == 1, "expected one transition to stale, got %lld", (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

static void test_unknown_bot_and_bad_trade_are_refused_by_notify(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    bpt_assert(env, bpt_stack_trade(&s, "no-such-bot", "T-1") == 1,
               "notify for a bot the agent does not watch should exit 1");
    char *argv[] = {BPT_AGENT_BIN, "notify", "--socket", "/nonexistent/notify.sock",
                    "--bot",       "bot-1",  "trade",    NULL};
    char *out = NULL;
    int rc = bpt_run(env, argv, 10000, &out);
    bpt_assert(env, rc == 2, "notify with no agent listening should exit 2, got %d (%s)", rc,
               out ? out : "");
    free(out);
    int64_t n = bpt_pg_int(env, "SELECT count(*) FROM trades", 0, NULL);
    bpt_assert(env, n == 0, "refused trades were stored (%lld)", (long long)n);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stale_then_trade_resolves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_bot_and_bad_trade_are_refused_by_notify, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
