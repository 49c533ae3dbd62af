/* SPDX-License-Identifier: MIT */
/* Operators' intended states: the body's grammar, and on the rules thread (fake clock, no
 * broker, its outbox recorded) a dead bot set intended stopped at once "stopped, as intended" with
 * its alert resolved, the intent kept when the agent's labels recompute the limits, and set running
 * again the alert back. */
#include "engine_fx.h"
#include "intent.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void test_body(void **state)
{
    (void)state;
    enum col_intent i;
    char err[200];
    assert_int_equal(col_intent_from_json("{\"state\":\"stopped\"}", &i, err, sizeof(err)), 0);
    assert_int_equal(i, COL_INTENT_STOPPED);
    assert_int_equal(col_intent_from_json("{\"state\":\"running\"}", &i, err, sizeof(err)), 0);
    assert_int_equal(i, COL_INTENT_RUNNING);
    static const char *const bad[] = {NULL,
                                      "",
                                      "{}",
                                      "[\"stopped\"]",
                                      "{\"state\":\"paused\"}",
                                      "{\"state\":\"Stopped\"}",
                                      "{\"state\":1}",
                                      "{\"state\":null}",
                                      "{\"state\":\"stopped\",\"bot\":\"x\"}"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        err[0] = '\0';
        assert_int_equal(col_intent_from_json(bad[k], &i, err, sizeof(err)), -EINVAL);
        assert_true(err[0] != '\0');
    }
    assert_string_equal(col_intent_name(COL_INTENT_CONFIG, true), "stopped");
    assert_string_equal(col_intent_name(COL_INTENT_CONFIG, false), "running");
    assert_string_equal(col_intent_name(COL_INTENT_RUNNING, true), "running");
}

/* Asks the engine directly, as the rules thread would answer the queue. */
static struct col_query *intend(struct efx *fx, const char *bot, enum col_intent i, int64_t at)
{
    struct col_query *qr = col_query_new(COL_Q_INTEND);
    assert_non_null(qr);
    snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", bot);
    qr->intent = (int)i;
    return efx_ask(fx, qr, at);
}

static void test_intended_stopped_at_run_time(void **state)
{
    (void)state;
    struct efx fx;
    efx_start(&fx, 60 * S, 120 * S);

    efx_agent_state(&fx, "a1", "host-1", true, "bot-1", "acct", 0);
    efx_heartbeat(&fx, "a1", "bot-1", true, 0);
    efx_heartbeat(&fx, "a1", "bot-1", false, 10 * S);
    assert_int_equal(efx_bot(&fx, "bot-1")->status, COL_ST_STOPPED);
    assert_true(efx_has_alert(efx_bot(&fx, "bot-1")));
    recorder_clear(fx.said);

    struct col_query *qr = intend(&fx, "bot-1", COL_INTENT_STOPPED, 11 * S);
    assert_int_equal(qr->rc, 0);
    assert_int_equal(qr->nbots, 1);
    assert_true(qr->bots[0].intended_stopped);
    assert_true(qr->bots[0].intended_by_operator);
    assert_int_equal(qr->bots[0].snap.status, COL_ST_STOPPED);
    assert_string_equal(qr->bots[0].snap.reason, "stopped, as intended");
    assert_false(qr->bots[0].alert_open); /* resolved at once */
    col_query_release(qr);
    const struct col_store_op *row = expect_row(fx.said, COL_OP_INTENT);
    assert_string_equal(row->u.intent.bot, "bot-1");
    assert_string_equal(row->u.intent.intended, "stopped");
    assert_int_equal(row->ts, W0 + 11 * S);
    expect_said(fx.said, ROOT "/alerts/critical/bot-1", "event=resolved",
                "reason=stopped, as intended", NULL);
    expect_said(fx.said, ROOT "/status/bot-1", "status=stopped", "reason=stopped, as intended",
                NULL);

    efx_agent_state(&fx, "a1", "host-1", true, "bot-1", "acct", 12 * S); /* labels recompute the
                                                                            limits: intent stays */
    efx_heartbeat(&fx, "a1", "bot-1", false, 20 * S);
    assert_true(efx_bot(&fx, "bot-1")->limits->intended_stopped);
    assert_false(efx_has_alert(efx_bot(&fx, "bot-1")));

    recorder_clear(fx.said);
    qr = intend(&fx, "bot-1", COL_INTENT_RUNNING, 21 * S);
    assert_int_equal(qr->rc, 0);
    assert_false(qr->bots[0].intended_stopped);
    assert_true(qr->bots[0].intended_by_operator);
    assert_true(qr->bots[0].alert_open); /* dead but meant to run: the alert is back */
    col_query_release(qr);
    assert_string_equal(expect_row(fx.said, COL_OP_INTENT)->u.intent.intended, "running");
    expect_said(fx.said, ROOT "/alerts/critical/bot-1", "event=opened", "check=process", NULL);

    recorder_clear(fx.said);
    qr = intend(&fx, "ghost", COL_INTENT_STOPPED, 22 * S);
    assert_int_equal(qr->rc, -ENOENT);
    col_query_release(qr);
    assert_int_equal(rows_count(fx.said, COL_OP_INTENT), 0);
    efx_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body),
        cmocka_unit_test(test_intended_stopped_at_run_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
