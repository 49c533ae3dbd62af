/* SPDX-License-Identifier: MIT */
/* The rules thread on a fake clock, trading: stale then stopped, a late trade counted from its
 * own time, a learned cadence, an agent's skewed clock; each with what was said. */
#include "engine_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static void test_stale_then_stopped_then_trade_resolves(void **state)
{
    struct efx *fx = *state;
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_trade(fx, "a1", "bot-1", 0, 0);
    const struct col_store_op *trade = expect_row(fx->said, COL_OP_TRADE);
    assert_string_equal(trade->u.trade.bot, "bot-1");
    assert_int_equal(trade->u.trade.trade.trade_ts, W0);
    for (int64_t t = 10 * S; t <= 130 * S; t += 10 * S) {
        efx_tick(fx, t);
        efx_heartbeat(fx, "a1", "bot-1", true, t);
        if (t == 60 * S) /* a minute without a trade: stale, a warning */
            expect_said(fx->said, ROOT "/alerts/warning/bot-1", "event=opened", "check=trading",
                        "status=stale", NULL);
    }
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_string_equal(b->check, "trading");
    assert_int_equal(efx_worst(b)->severity, COL_SEV_CRITICAL); /* escalated from warning */
    const struct said *esc =
        expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=escalated", "check=trading",
                    "status=stopped", "severity=critical", NULL);
    assert_false(esc->retain);
    expect_said(fx->said, ROOT "/status/bot-1", "status=stopped", "check=trading", NULL);
    efx_trade(fx, "a1", "bot-1", 131 * S, 131 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(efx_has_alert(b));
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=resolved", "status=healthy", NULL);
    expect_said(fx->said, ROOT "/status/bot-1", "status=healthy", "last_trade=1700000131000", NULL);
}

/* Whatever a user reads is current: a healthy bot's first trade changes its reason (no status
 * change), and the retained status says it with the trade's time at once. */
static void test_first_trade_refreshes_a_healthy_reason(void **state)
{
    struct efx *fx = *state;
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_non_null(strstr(b->reason, "no trade yet"));
    efx_heartbeat(fx, "a1", "bot-1", true, 10 * S);
    efx_trade(fx, "a1", "bot-1", 12 * S, 12 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_null(strstr(b->reason, "no trade yet"));
    expect_said(fx->said, ROOT "/status/bot-1", "status=healthy", "last_trade=1700000012000", NULL);
}

/* After a collector restart the broker hands over each agent's retained agent_state, sent when
 * the agent connected, long ago: that is no clock sample, and no bot turns degraded for it. */
static void test_retained_state_is_no_clock_sample(void **state)
{
    struct efx *fx = *state;
    struct col_event ev;
    efx_header(fx, &ev, BP_MSG_AGENT_STATE, "a1", "", 0);
    ev.retained = true;
    ev.msg.hdr.ts = W0 - 3600 * S; /* sent an hour before we subscribed */
    ev.msg.u.agent_state.online = true;
    ev.msg.u.agent_state.heartbeat_ms = 10 * S;
    ev.msg.u.agent_state.nbots = 1;
    snprintf(ev.msg.u.agent_state.bots[0].id, sizeof(ev.msg.u.agent_state.bots[0].id), "bot-1");
    col_engine_handle(fx->e, &ev); /* the bot is known and on its agent (as restored) */
    col_engine_handle(fx->e, &ev); /* and the agent's state arrives (again) */
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_non_null(b);
    assert_false(b->ev.clock_known); /* nothing learnt of the clock from it */
    efx_heartbeat(fx, "a1", "bot-1", true, 1 * S);
    efx_trade(fx, "a1", "bot-1", 1 * S, 1 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_true(b->ev.clock_ahead_ms > -60 * S); /* the live heartbeat's, not an hour behind */
}

static void test_late_trade_counts_from_its_own_time(void **state)
{
    struct efx *fx = *state;
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_trade(fx, "a1", "bot-1", 0, 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 65 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_STALE);
    /* a trade made at 50 s, delivered late (broker outage) at 70 s: 20 s old, not stale */
    efx_trade(fx, "a1", "bot-1", 70 * S, 50 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    const struct col_store_op *trade = expect_row(fx->said, COL_OP_TRADE);
    assert_int_equal(trade->u.trade.trade.trade_ts, W0 + 50 * S);
    assert_int_equal(trade->ts, W0 + 70 * S); /* received */
    expect_said(fx->said, ROOT "/status/bot-1", "status=healthy", "last_trade=1700000050000", NULL);
    for (int64_t t = 75 * S; t <= 105 * S; t += 10 * S)
        efx_heartbeat(fx, "a1", "bot-1", true, t);
    efx_tick(fx, 109 * S);
    efx_heartbeat(fx, "a1", "bot-1", true, 109 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    efx_heartbeat(fx, "a1", "bot-1", true, 110 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_STALE);
    expect_said(fx->said, ROOT "/status/bot-1", "status=stale", "since=1700000110000", NULL);
}

static void test_learned_cadence_stretches_staleness(void **state)
{
    struct efx *fx = *state;
    fx->cfg.limits.cadence_factor = 3; /* stale after 3 normal gaps, if that is longer */
    fx->cfg.limits.cadence_min_samples = 3;
    for (int64_t t = 0; t <= 500 * S; t += 10 * S) { /* a trade every 100 s */
        efx_heartbeat(fx, "a1", "bot-1", true, t);
        if (t % (100 * S) == 0)
            efx_trade(fx, "a1", "bot-1", t, t);
        efx_tick(fx, t);
    }
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_int_equal(b->ev.cadence_gap_ms, 100 * S);
    recorder_clear(fx->said);
    for (int64_t t = 510 * S; t <= 790 * S; t += 10 * S) { /* 290 s without a trade */
        efx_heartbeat(fx, "a1", "bot-1", true, t);
        efx_tick(fx, t);
    }
    assert_int_equal(b->status, COL_ST_HEALTHY); /* fixed limits: stopped after 120 s */
    expect_silent(fx->said, ROOT "/status/#");
    efx_heartbeat(fx, "a1", "bot-1", true, 800 * S);
    efx_tick(fx, 800 * S);
    assert_int_equal(b->status, COL_ST_STALE);
    assert_non_null(strstr(b->reason, "learned cadence"));
    const struct said *st = expect_said(fx->said, ROOT "/status/bot-1", "status=stale", NULL);
    assert_non_null(strstr(st->payload, "learned cadence"));
}

static void test_skewed_agent_clock_neither_hides_nor_invents_staleness(void **state)
{
    struct efx *fx = *state;
    fx->cfg.limits.clock_skew_ms = 5 * S;
    /* agent-2's clock runs 10 min behind ours: its messages say "10 min ago" */
    for (int64_t t = 0; t <= 50 * S; t += 10 * S) {
        struct col_event ev;
        efx_header(fx, &ev, BP_MSG_HEARTBEAT, "a2", "bot-2", t);
        ev.msg.hdr.ts -= 10 * 60 * S;
        ev.msg.u.heartbeat.interval_ms = 10 * S;
        ev.msg.u.heartbeat.proc.alive = true;
        ev.msg.u.heartbeat.last_trade_ts = ev.msg.hdr.ts; /* it traded just now, its clock */
        col_engine_handle(fx->e, &ev);
        efx_tick(fx, t);
    }
    const struct col_bot *b = efx_bot(fx, "bot-2");
    /* trade_stale is 60 s: read naively, its trades look 10 min old */
    assert_true(b->ev.has_trade);
    assert_true(b->ev.last_trade_mono >= T0 + 50 * S - 100);
    assert_int_equal(b->status, COL_ST_DEGRADED);
    assert_string_equal(b->check, "clock");
    assert_string_equal(b->reason, "agent clock 10m behind the collector's");
    assert_int_equal(b->agent->skew.ahead_ms, -10 * 60 * S);
    expect_said(fx->said, ROOT "/alerts/warning/bot-2", "event=opened", "check=clock",
                "reason=agent clock 10m behind the collector's", NULL);
    assert_int_equal(said_count(fx->said, ROOT "/alerts/+/bot-2"), 1); /* not its trading */
    const struct col_store_op *agent = expect_row(fx->said, COL_OP_AGENT);
    assert_string_equal(agent->u.agent.agent, "a2");
    assert_int_equal(agent->u.agent.clock_offset_ms, -10 * 60 * S);
}

/* What a cut link held arrives at once when it heals, each message with its old ts: a burst of
 * late messages says nothing of the agent's clock, and no bot turns degraded for it. */
static void test_a_burst_after_a_cut_is_no_clock_sample(void **state)
{
    struct efx *fx = *state;
    fx->cfg.limits.clock_skew_ms = 5 * S;
    for (int64_t t = 0; t <= 20 * S; t += S) /* in step with our clock */
        efx_heartbeat(fx, "a1", "bot-1", true, t);
    for (int64_t i = 0; i < 40; i++) { /* held 6 s, delivered within 40 ms */
        struct col_event ev;
        efx_header(fx, &ev, BP_MSG_HEARTBEAT, "a1", "bot-1", 30 * S + i);
        ev.msg.hdr.ts -= 6 * S;
        ev.msg.u.heartbeat.interval_ms = 10 * S;
        ev.msg.u.heartbeat.proc.alive = true;
        col_engine_handle(fx->e, &ev);
    }
    efx_heartbeat(fx, "a1", "bot-1", true, 31 * S);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_true(b->agent->skew.ahead_ms > -1 * S);
    expect_silent(fx->said, ROOT "/alerts/#");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stale_then_stopped_then_trade_resolves, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_first_trade_refreshes_a_healthy_reason, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_a_burst_after_a_cut_is_no_clock_sample, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_retained_state_is_no_clock_sample, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_late_trade_counts_from_its_own_time, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_learned_cadence_stretches_staleness, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_skewed_agent_clock_neither_hides_nor_invents_staleness,
                                        efx_setup, efx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
