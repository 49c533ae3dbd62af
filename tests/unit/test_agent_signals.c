/* SPDX-License-Identifier: MIT */
/* The agent's per-bot signals: what each notify verb changes, the API window, the metric bound,
 * and what the heartbeat then carries. */
#include "agent_signals.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NOW 1767225600000LL

static struct agent_notify_req req(enum agent_notify_verb verb)
{
    struct agent_notify_req r;
    memset(&r, 0, sizeof(r));
    r.verb = verb;
    r.latency_ms = -1;
    return r;
}

static void test_nothing_reported_sends_nothing(void **state)
{
    struct agent_signals s;
    agent_signals_init(&s);
    struct bp_heartbeat hb = {0};
    agent_signals_fill(&s, &hb);
    assert_false(hb.has_signals);
    assert_false(hb.has_metrics);
}

static void test_each_verb(void **state)
{
    struct agent_signals s;
    char err[128];
    agent_signals_init(&s);
    struct agent_notify_req r = req(AGENT_NOTIFY_TICK);
    assert_int_equal(agent_signals_apply(&s, &r, NOW, err, sizeof(err)), 0); /* ts 0: now */
    r.ts = NOW - 5;
    struct agent_signals s2 = s;
    assert_int_equal(agent_signals_apply(&s2, &r, NOW, err, sizeof(err)), 0);
    assert_int_equal(s2.tick_ts, NOW - 5);
    r = req(AGENT_NOTIFY_MARKET);
    r.ts = NOW - 45000;
    assert_int_equal(agent_signals_apply(&s, &r, NOW, err, sizeof(err)), 0);
    r = req(AGENT_NOTIFY_EXPOSURE);
    r.positions = 2;
    r.orders = 0;
    assert_int_equal(agent_signals_apply(&s, &r, NOW, err, sizeof(err)), 0);
    r = req(AGENT_NOTIFY_MAINTENANCE);
    r.duration_ms = 600000;
    strcpy(r.text, "deploying");
    assert_int_equal(agent_signals_apply(&s, &r, NOW, err, sizeof(err)), 0);
    struct bp_heartbeat hb = {0};
    agent_signals_fill(&s, &hb);
    assert_true(hb.has_signals);
    assert_int_equal(hb.signals.tick_ts, NOW);
    assert_int_equal(hb.signals.market_ts, NOW - 45000);
    assert_int_equal(hb.signals.positions, 2);
    assert_int_equal(hb.signals.orders, 0);
    assert_int_equal(hb.signals.api_calls, 0);
    assert_int_equal(hb.signals.maintenance_until, NOW + 600000);
    assert_string_equal(hb.signals.maintenance_reason, "deploying");
    /* for=0 ends it, and its reason with it */
    r.duration_ms = 0;
    assert_int_equal(agent_signals_apply(&s, &r, NOW + 1, err, sizeof(err)), 0);
    agent_signals_fill(&s, &hb);
    assert_int_equal(hb.signals.maintenance_until, 0);
    assert_string_equal(hb.signals.maintenance_reason, "");
    /* not a signal */
    r = req(AGENT_NOTIFY_TRADE);
    assert_int_equal(agent_signals_apply(&s, &r, NOW, err, sizeof(err)), -EINVAL);
}

/* Exposure never reported stays -1 on the wire: "unknown", not "flat". */
static void test_exposure_unknown_until_reported(void **state)
{
    struct agent_signals s;
    char err[128];
    agent_signals_init(&s);
    struct agent_notify_req r = req(AGENT_NOTIFY_TICK);
    agent_signals_apply(&s, &r, NOW, err, sizeof(err));
    struct bp_heartbeat hb = {0};
    agent_signals_fill(&s, &hb);
    assert_int_equal(hb.signals.positions, -1);
    assert_int_equal(hb.signals.orders, -1);
}

static void test_api_window_keeps_last_20(void **state)
{
    struct agent_signals s;
    char err[128];
    agent_signals_init(&s);
    struct agent_notify_req r = req(AGENT_NOTIFY_API);
    /* 5 slow errors, then 20 fast successes push them all out */
    for (int i = 0; i < 5; i++) {
        r.api_ok = false;
        r.latency_ms = 40000;
        agent_signals_apply(&s, &r, NOW, err, sizeof(err));
    }
    struct bp_heartbeat hb = {0};
    agent_signals_fill(&s, &hb);
    assert_int_equal(hb.signals.api_calls, 5);
    assert_int_equal(hb.signals.api_errors, 5);
    assert_int_equal(hb.signals.api_latency_ms_max, 40000);
    for (int i = 0; i < 19; i++) {
        r.api_ok = true;
        r.latency_ms = i == 0 ? -1 : 100;
        agent_signals_apply(&s, &r, NOW, err, sizeof(err));
    }
    agent_signals_fill(&s, &hb);
    assert_int_equal(hb.signals.api_calls, AGENT_API_WINDOW);
    assert_int_equal(hb.signals.api_errors, 1); /* 4 of the 5 errors have left the window */
    assert_int_equal(hb.signals.api_latency_ms_max, 40000);
    agent_signals_apply(&s, &r, NOW, err, sizeof(err));
    agent_signals_fill(&s, &hb);
    assert_int_equal(hb.signals.api_errors, 0);
    assert_int_equal(hb.signals.api_latency_ms_max, 100);
}

static void test_metrics_bounded_and_updated(void **state)
{
    struct agent_signals s;
    char err[128] = "";
    agent_signals_init(&s);
    struct agent_notify_req r = req(AGENT_NOTIFY_METRIC);
    r.nmetrics = BP_METRICS_MAX - 1;
    for (int i = 0; i < r.nmetrics; i++) {
        snprintf(r.metrics[i].name, sizeof(r.metrics[i].name), "m%d", i);
        r.metrics[i].value = i;
    }
    assert_int_equal(agent_signals_apply(&s, &r, NOW, err, sizeof(err)), 0);
    /* an update of a known name and one new name: exactly at the bound */
    r.nmetrics = 2;
    strcpy(r.metrics[0].name, "m3");
    r.metrics[0].value = 33;
    strcpy(r.metrics[1].name, "last");
    r.metrics[1].value = 1;
    assert_int_equal(agent_signals_apply(&s, &r, NOW, err, sizeof(err)), 0);
    assert_int_equal(s.nmetrics, BP_METRICS_MAX);
    assert_true(s.metrics[3].value == 33);
    /* one more name is refused, and nothing of that request is applied */
    strcpy(r.metrics[0].name, "m4");
    r.metrics[0].value = 44;
    strcpy(r.metrics[1].name, "one_too_many");
    assert_int_equal(agent_signals_apply(&s, &r, NOW, err, sizeof(err)), -ENOSPC);
    assert_string_equal(err, "too many metrics for this bot (at most 16 names; it has 16)");
    assert_true(s.metrics[4].value == 4);
    struct bp_heartbeat hb = {0};
    agent_signals_fill(&s, &hb);
    assert_true(hb.has_metrics);
    assert_false(hb.has_signals); /* metrics alone do not make a signals object */
    assert_int_equal(hb.nmetrics, BP_METRICS_MAX);
    assert_string_equal(hb.metrics[15].name, "last");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_reported_sends_nothing),
        cmocka_unit_test(test_each_verb),
        cmocka_unit_test(test_exposure_unknown_until_reported),
        cmocka_unit_test(test_api_window_keeps_last_20),
        cmocka_unit_test(test_metrics_bounded_and_updated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
