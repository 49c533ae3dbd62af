/* SPDX-License-Identifier: MIT */
/* The rules thread on a fake clock, the fleet: counts by account and host in the summary, and
 * bots failing together as one correlated incident instead of an alert each. */
#include "engine_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static void test_account_counts_follow_labels(void **state)
{
    struct efx *fx = *state;
    efx_heartbeat(fx, "a1", "bot-1", true, 0); /* before the agent's state: no labels yet */
    efx_agent_state(fx, "a1", "host-9", true, "bot-1", "acct-x", 1 * S);
    const struct col_fleet *f = col_engine_fleet(fx->e);
    const struct col_group *g = col_strmap_get(f->accounts, "acct-x");
    assert_non_null(g);
    assert_int_equal(g->total, 1);
    const struct col_group *none = col_strmap_get(f->accounts, "-");
    assert_non_null(none);
    assert_int_equal(none->total, 0);
    assert_int_equal(f->all.total, 1);
    assert_int_equal(((const struct col_group *)col_strmap_get(f->hosts, "host-9"))->total, 1);
    efx_tick(fx, 1 * S);
    const struct said *sum = expect_said(
        fx->said, ROOT "/fleet/summary", "type=fleet_summary", "total=1", "by_status.healthy=1",
        "by_account.acct-x.total=1", "by_account.-!", "by_host.host-9.by_status.healthy=1", NULL);
    assert_true(sum->retain);
}

static void test_bots_failing_together_make_one_incident(void **state)
{
    struct efx *fx = *state;
    fx->cfg.incidents = (struct col_incident_limits){.min_bots = 3, .window_ms = 60 * S};
    const char *ids[] = {"bot-1", "bot-2", "bot-3", "bot-4"};
    for (int i = 0; i < 4; i++) /* one agent per bot: hosts differ, the exchange is shared */
        efx_bot_on(fx, ids[i], ids[i], "ex1", 0);
    efx_bot_on(fx, "a9", "bot-9", "ex2", 0);
    efx_heartbeat(fx, "bot-1", "bot-1", false, 1 * S);
    efx_heartbeat(fx, "bot-2", "bot-2", false, 2 * S);
    efx_heartbeat(fx, "a9", "bot-9", false, 2 * S); /* same moment, other exchange */
    const struct col_bot *b1 = efx_bot(fx, "bot-1"), *b3 = efx_bot(fx, "bot-3");
    assert_null(b1->incident); /* two are not yet an incident: their alerts went out */
    assert_true(efx_has_alert(b1) && efx_worst(b1)->announced);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=opened", NULL);
    expect_said(fx->said, ROOT "/alerts/critical/bot-2", "event=opened", NULL);
    recorder_clear(fx->said);
    efx_heartbeat(fx, "bot-3", "bot-3", false, 3 * S);
    const struct col_incident *inc = b3->incident;
    assert_non_null(inc);
    assert_string_equal(inc->kind, "exchange");
    assert_string_equal(inc->group, "ex1");
    assert_int_equal(inc->nbots, 3);
    assert_ptr_equal(b1->incident, inc);
    assert_null(efx_bot(fx, "bot-9")->incident);
    assert_true(efx_has_alert(b3));
    assert_false(efx_worst(b3)->announced); /* the incident speaks for it */
    char reason[256];
    col_incident_reason(inc, 60 * S, reason, sizeof(reason));
    assert_string_equal(reason, "3 bots on exchange ex1 failed within 1m (3 still failing; now "
                                "stopped)");
    const struct said *opened =
        expect_said(fx->said, ROOT "/incidents/exchange/ex1", "type=incident", "event=opened",
                    "kind=exchange", "group=ex1", "count=3", "failing=3", "severity=critical",
                    "reason="
                    "3 bots on exchange ex1 failed within 1m (3 still failing; now stopped)",
                    NULL);
    for (int i = 0; i < 3; i++) { /* every one named, in the fleet's order */
        char quoted[16];
        snprintf(quoted, sizeof(quoted), "\"%s\"", ids[i]);
        assert_non_null(strstr(strstr(opened->payload, "\"bots\":["), quoted));
    }
    assert_non_null(strstr(opened->text, "incident opened"));
    expect_silent(fx->said, ROOT "/alerts/#"); /* bot-3's own alert: stored, not told */
    assert_string_equal(expect_row(fx->said, COL_OP_ALERT)->u.alert.bot, "bot-3");
    recorder_clear(fx->said);
    efx_heartbeat(fx, "bot-4", "bot-4", false, 4 * S); /* a late one joins */
    assert_ptr_equal(efx_bot(fx, "bot-4")->incident, inc);
    assert_int_equal(inc->nbots, 4);
    assert_int_equal(inc->severity, COL_SEV_CRITICAL);
    expect_silent(fx->said, ROOT "/incidents/#"); /* joins go out with the next summary */
    efx_tick(fx, 5 * S);
    expect_said(fx->said, ROOT "/incidents/exchange/ex1", "event=updated", "count=4", NULL);
    for (int i = 0; i < 3; i++) { /* recovering one by one: the incident stays */
        efx_heartbeat(fx, ids[i], ids[i], true, 10 * S);
        efx_trade(fx, ids[i], ids[i], 10 * S, 10 * S);
        assert_ptr_equal(efx_bot(fx, "bot-4")->incident, inc);
    }
    assert_false(efx_has_alert(b1));
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=resolved", NULL); /* told */
    recorder_clear(fx->said);
    efx_heartbeat(fx, "bot-4", "bot-4", true, 11 * S); /* the last: resolved, freed */
    efx_trade(fx, "bot-4", "bot-4", 11 * S, 11 * S);
    for (int i = 0; i < 4; i++)
        assert_null(efx_bot(fx, ids[i])->incident);
    expect_said(fx->said, ROOT "/incidents/exchange/ex1", "event=resolved", "failing=0", "count=4",
                NULL);
    expect_silent(fx->said, ROOT "/alerts/#"); /* bot-4's opening was not told: nor this */
}

static void test_failures_far_apart_are_no_incident(void **state)
{
    struct efx *fx = *state;
    fx->cfg.incidents = (struct col_incident_limits){.min_bots = 3, .window_ms = 60 * S};
    const char *ids[] = {"bot-1", "bot-2", "bot-3"};
    for (int i = 0; i < 3; i++)
        efx_bot_on(fx, ids[i], ids[i], "ex1", 0);
    for (int i = 0; i < 3; i++) { /* 61 s apart: each alone */
        for (int j = 0; j < 3; j++)
            if (j >= i) {
                efx_heartbeat(fx, ids[j], ids[j], j != i, i * 61 * S + 1);
                efx_trade(fx, ids[j], ids[j], i * 61 * S + 1, i * 61 * S + 1);
            }
        assert_null(efx_bot(fx, ids[i])->incident);
        assert_true(efx_worst(efx_bot(fx, ids[i]))->announced);
        char topic[80];
        snprintf(topic, sizeof(topic), ROOT "/alerts/critical/%s", ids[i]);
        expect_said(fx->said, topic, "event=opened", "check=process", NULL);
    }
    expect_silent(fx->said, ROOT "/incidents/#");
}

/* Fellow failures are the bots bad now: one that recovered is no fellow, and a bot that fails
 * again (another bad status, another episode) counts once. */
static void test_only_bots_still_failing_make_an_incident(void **state)
{
    struct efx *fx = *state;
    fx->cfg.incidents = (struct col_incident_limits){.min_bots = 3, .window_ms = 60 * S};
    const char *ids[] = {"bot-1", "bot-2", "bot-3", "bot-4"};
    for (int i = 0; i < 4; i++)
        efx_bot_on(fx, ids[i], ids[i], "ex1", 0);
    efx_heartbeat(fx, "bot-1", "bot-1", false, 1 * S);
    efx_heartbeat(fx, "bot-1", "bot-1", true, 2 * S); /* back: no longer a fellow */
    efx_heartbeat(fx, "bot-2", "bot-2", false, 3 * S);
    efx_heartbeat(fx, "bot-2", "bot-2", true, 4 * S);
    efx_heartbeat(fx, "bot-2", "bot-2", false, 5 * S); /* fails again: still one bot */
    efx_heartbeat(fx, "bot-3", "bot-3", false, 6 * S);
    assert_null(efx_bot(fx, "bot-3")->incident); /* bot-2 and bot-3: two, not three */
    efx_heartbeat(fx, "bot-4", "bot-4", false, 7 * S);
    const struct col_incident *inc = efx_bot(fx, "bot-4")->incident;
    assert_non_null(inc);
    assert_int_equal(inc->nbots, 3);
    assert_null(efx_bot(fx, "bot-1")->incident);
    assert_ptr_equal(efx_bot(fx, "bot-2")->incident, inc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_account_counts_follow_labels, efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_bots_failing_together_make_one_incident, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_only_bots_still_failing_make_an_incident, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_failures_far_apart_are_no_incident, efx_setup,
                                        efx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
