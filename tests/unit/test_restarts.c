/* SPDX-License-Identifier: MIT */
/* Restart counting from the agents' proc.restarts on a fake clock: baselines, new agent boots,
 * rises between heartbeats, and the check "restarts" they make within its window. */
#include "rules_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static struct col_rule_limits limits(void)
{
    struct col_rule_limits lim = rfx_limits;
    lim.restarts_warn = 3;
    lim.restarts_crit = 10;
    lim.restarts_window_ms = 10 * MIN;
    return lim;
}

/* A heartbeat from boot with proc.restarts = count, received at now. */
static int64_t beat(struct col_evidence *ev, const char *boot, int64_t count, int64_t now)
{
    struct bp_heartbeat hb = {.proc = {.alive = true, .has_restarts = true, .restarts = count}};
    ev->last_heartbeat_mono = now;
    return col_evidence_apply_restarts(ev, &hb, boot, now);
}

static void test_first_count_is_a_baseline(void **state)
{
    (void)state;
    struct col_evidence ev = rfx_alive();
    assert_int_equal(beat(&ev, "b1", 7, T0), 0); /* history from before we watched */
    assert_true(ev.restarts.known);
    assert_int_equal(ev.restarts.seen, 0);
    assert_int_equal(beat(&ev, "b1", 7, T0 + 10 * S), 0);
    assert_int_equal(beat(&ev, "b1", 9, T0 + 20 * S), 2); /* a rise: two restarts */
    assert_int_equal(ev.restarts.seen, 2);
    assert_int_equal(ev.restarts.count, 9);
    col_evidence_cleanup(&ev);
}

static void test_new_agent_boot_counts_from_zero(void **state)
{
    (void)state;
    struct col_evidence ev = rfx_alive();
    beat(&ev, "b1", 5, T0);
    assert_int_equal(beat(&ev, "b2", 1, T0 + 10 * S), 1); /* the agent restarted: all news */
    assert_int_equal(beat(&ev, "b2", 0, T0 + 20 * S), 0); /* a fall is a new baseline */
    assert_int_equal(beat(&ev, "b2", 2, T0 + 30 * S), 2);
    assert_int_equal(ev.restarts.seen, 3);
    col_evidence_cleanup(&ev);
}

static void test_heartbeat_without_count_changes_nothing(void **state)
{
    (void)state;
    struct col_evidence ev = rfx_alive();
    struct bp_heartbeat hb = {.proc = {.alive = true}};
    assert_int_equal(col_evidence_apply_restarts(&ev, &hb, "b1", T0), 0);
    assert_false(ev.restarts.known);
    col_evidence_cleanup(&ev);
}

/* A crash loop faster than the heartbeat: every heartbeat says alive, the count rises. */
static void test_crash_loop_alerts_and_expires(void **state)
{
    (void)state;
    struct col_rule_limits lim = limits();
    struct col_evidence ev = rfx_evidence(0, 0, true, false);
    struct col_verdict v;
    beat(&ev, "b1", 0, T0);
    beat(&ev, "b1", 2, T0 + 10 * S);
    rfx_judge("two restarts: below the warning", &ev, &lim, T0 + 10 * S, COL_ST_HEALTHY, "", NONE,
              &v);
    beat(&ev, "b1", 3, T0 + 20 * S);
    rfx_judge("three restarts in 10 min", &ev, &lim, T0 + 20 * S, COL_ST_DEGRADED, "restarts",
              SWARN, &v);
    assert_non_null(strstr(v.reason, "restarted 3 times in 10m"));
    assert_true(v.next_due_mono <= T0 + 10 * S + 10 * MIN); /* looks again when the first leaves */
    beat(&ev, "b1", 10, T0 + 30 * S);
    rfx_judge("ten restarts: critical", &ev, &lim, T0 + 30 * S, COL_ST_DEGRADED, "restarts", SCRIT,
              &v);
    beat(&ev, "b1", 10, T0 + 30 * S + 10 * MIN); /* alive, no rise */
    rfx_judge("the rises leave the window", &ev, &lim, T0 + 30 * S + 10 * MIN, COL_ST_HEALTHY, "",
              NONE, &v);
    col_evidence_cleanup(&ev);
}

static void test_disabled_and_full_ring(void **state)
{
    (void)state;
    struct col_rule_limits lim = limits();
    lim.restarts_warn = 0;
    struct col_evidence ev = rfx_evidence(0, 0, true, false);
    struct col_verdict v;
    beat(&ev, "b1", 0, T0);
    beat(&ev, "b1", 50, T0 + S);
    rfx_judge("restarts_warn = 0: never", &ev, &lim, T0 + S, COL_ST_HEALTHY, "", NONE, &v);
    /* more heartbeats with a rise than the ring holds: none is lost within the window */
    lim = limits();
    lim.restarts_crit = 0;
    struct col_evidence ev2 = rfx_evidence(0, 0, true, false);
    beat(&ev2, "b1", 0, T0);
    for (int i = 1; i <= 2 * COL_RESTARTS_RING; i++)
        beat(&ev2, "b1", i, T0 + i * S);
    int64_t expires;
    assert_int_equal(col_restarts_within(&ev2.restarts, lim.restarts_window_ms,
                                         T0 + 2 * COL_RESTARTS_RING * S, &expires),
                     2 * COL_RESTARTS_RING);
    rfx_judge("no critical limit: a warning", &ev2, &lim, T0 + 2 * COL_RESTARTS_RING * S,
              COL_ST_DEGRADED, "restarts", SWARN, &v);
    col_evidence_cleanup(&ev);
    col_evidence_cleanup(&ev2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_count_is_a_baseline),
        cmocka_unit_test(test_new_agent_boot_counts_from_zero),
        cmocka_unit_test(test_heartbeat_without_count_changes_nothing),
        cmocka_unit_test(test_crash_loop_alerts_and_expires),
        cmocka_unit_test(test_disabled_and_full_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
