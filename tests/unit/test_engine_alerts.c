/* SPDX-License-Identifier: MIT */
/* The rules thread on a fake clock, alerts: reminders while an alert stays open, alerts a
 * previous run left open, one alert per failing check, flapping; each with what was said on
 * MQTT and in the alert rows. */
#include "engine_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void test_open_alert_repeats_until_resolved(void **state)
{
    struct efx *fx = *state;
    fx->cfg.alert_repeat_ms = 60 * S;
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_trade(fx, "a1", "bot-1", 0, 0);
    efx_agent_state(fx, "a1", "host-1", false, "bot-1", "acct", 1 * S); /* Last Will */
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_true(efx_has_alert(b));
    char id[COL_ALERT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", efx_worst(b)->id);
    /* down by Last Will has no deadline of its own: the reminder is the next one */
    assert_int_equal(col_engine_next_deadline(fx->e) <= T0 + 61 * S, true);
    recorder_clear(fx->said);
    efx_tick(fx, 60 * S);
    assert_int_equal(efx_worst(b)->repeats, 0);
    expect_silent(fx->said, ROOT "/alerts/#");
    efx_tick(fx, 61 * S);
    assert_int_equal(efx_worst(b)->repeats, 1);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=repeated", "check=liveness",
                "ts=1700000061000", "opened_at=1700000001000", NULL);
    assert_string_equal(expect_row(fx->said, COL_OP_ALERT)->u.alert.event, "repeated");
    efx_tick(fx, 100 * S);
    assert_int_equal(efx_worst(b)->repeats, 1); /* at most one per period */
    assert_int_equal(said_count(fx->said, ROOT "/alerts/#"), 1);
    efx_tick(fx, 121 * S);
    assert_int_equal(efx_worst(b)->repeats, 2);
    assert_string_equal(efx_worst(b)->id, id); /* the same alert, reminded */
    const struct said *m =
        expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=repeated", NULL);
    char want[80];
    snprintf(want, sizeof(want), "\"alert_id\":\"%s\"", id);
    assert_non_null(strstr(m->payload, want));
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 130 * S);
    efx_heartbeat(fx, "a1", "bot-1", true, 130 * S);
    efx_trade(fx, "a1", "bot-1", 130 * S, 130 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(efx_has_alert(b));
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=resolved", NULL);
    recorder_clear(fx->said);
    for (int64_t t = 140 * S; t <= 300 * S; t += 10 * S) { /* healthy past 181 s, 241 s */
        efx_heartbeat(fx, "a1", "bot-1", true, t);
        efx_trade(fx, "a1", "bot-1", t, t);
        efx_tick(fx, t);
    }
    assert_false(efx_has_alert(b)); /* resolved: nothing left to remind of */
    expect_silent(fx->said, ROOT "/alerts/#");
}

static void test_no_repeat_when_disabled(void **state)
{
    struct efx *fx = *state;
    fx->cfg.alert_repeat_ms = 0;
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_agent_state(fx, "a1", "host-1", false, "bot-1", "acct", 1 * S);
    assert_true(efx_has_alert(efx_bot(fx, "bot-1")));
    recorder_clear(fx->said);
    efx_tick(fx, 3600 * S);
    assert_int_equal(efx_worst(efx_bot(fx, "bot-1"))->repeats, 0);
    expect_silent(fx->said, ROOT "/alerts/#");
}

static void test_restored_alert_is_kept_then_resolved_by_its_id(void **state)
{
    struct efx *fx = *state;
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-1", "process", "old-a7", "critical", W0 - 60 * S, T0),
        0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_int_equal(b->status, COL_ST_UNKNOWN);
    assert_true(efx_has_alert(b));
    assert_string_equal(efx_worst(b)->check, "process");
    /* still dead after the restart: the same alert, not a new one */
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 1 * S);
    efx_heartbeat(fx, "a1", "bot-1", false, 1 * S);
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_string_equal(efx_worst(b)->id, "old-a7");
    assert_int_equal(efx_worst(b)->opened_at, W0 - 60 * S);
    expect_said(fx->said, ROOT "/status/bot-1", "status=stopped", NULL);
    expect_silent(fx->said, ROOT "/alerts/#"); /* not announced again */
    /* back: resolved, by that id */
    efx_heartbeat(fx, "a1", "bot-1", true, 2 * S);
    efx_trade(fx, "a1", "bot-1", 2 * S, 2 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(efx_has_alert(b));
    const struct col_store_op *row = expect_row(fx->said, COL_OP_ALERT);
    assert_string_equal(row->u.alert.alert_id, "old-a7");
    assert_string_equal(row->u.alert.event, "resolved");
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=resolved", "alert_id=old-a7",
                "check=process", "status=healthy", NULL);
}

/* A flapping alert left open by the previous run: this run has not seen the bot flap, so the
 * first verdict on it resolves that alert (the rules never judge "flapping" themselves). */
static void test_restored_flapping_alert_resolves_at_first_verdict(void **state)
{
    struct efx *fx = *state;
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-1", "flapping", "old-f1", "warning", W0 - 60 * S, T0),
        0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_non_null(col_alerts_find(&b->alerts, "flapping"));
    efx_tick(fx, 1 * S); /* unknown still: nothing judged, kept */
    assert_non_null(col_alerts_find(&b->alerts, "flapping"));
    assert_int_equal(rows_count(fx->said, COL_OP_ALERT), 0);
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 2 * S);
    efx_heartbeat(fx, "a1", "bot-1", true, 2 * S);
    efx_trade(fx, "a1", "bot-1", 2 * S, 2 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(efx_has_alert(b));
    const struct col_store_op *row = expect_row(fx->said, COL_OP_ALERT);
    assert_string_equal(row->u.alert.alert_id, "old-f1");
    assert_string_equal(row->u.alert.event, "resolved");
    /* its opening went out in the other run: so does its resolution, by its id */
    expect_said(fx->said, ROOT "/alerts/warning/bot-1", "event=resolved", "alert_id=old-f1",
                "check=flapping", "opened_at=1699999940000", NULL);
}

/* A manual-intervention alert left open by the previous run stays open while the bot is still
 * failing, and resolves once the bot works again. */
static void test_restored_recovery_alert_waits_for_a_working_bot(void **state)
{
    struct efx *fx = *state;
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-1", "recovery", "old-r1", "critical", W0 - 60 * S, T0),
        0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 1 * S);
    efx_heartbeat(fx, "a1", "bot-1", false, 1 * S); /* still dead: kept, and a process alert */
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_int_equal(b->alerts.n, 2);
    assert_string_equal(col_alerts_find(&b->alerts, "recovery")->id, "old-r1");
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=opened", "check=process", NULL);
    assert_int_equal(rows_count(fx->said, COL_OP_ALERT), 1);
    efx_heartbeat(fx, "a1", "bot-1", true, 2 * S);
    efx_trade(fx, "a1", "bot-1", 2 * S, 2 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(efx_has_alert(b)); /* both resolved */
    assert_int_equal(rows_count(fx->said, COL_OP_ALERT), 3);
    assert_string_equal(expect_row(fx->said, COL_OP_ALERT)->u.alert.event, "resolved");
    assert_int_equal(said_count(fx->said, ROOT "/alerts/critical/bot-1"), 3);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=resolved", NULL);
}

static void test_restored_warning_escalates_and_silent_bot_goes_down(void **state)
{
    struct efx *fx = *state;
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-1", "trading", "old-w1", "warning", W0 - 60 * S, T0),
        0);
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-2", "trading", "old-w2", "warning", W0 - 60 * S, T0),
        0);
    assert_int_equal(col_engine_restore_alert(fx->e, "bad id!", "trading", "x", "warning", 0, T0),
                     -EINVAL);
    const struct col_bot *b1 = efx_bot(fx, "bot-1");
    /* bot-2 never reports again: down at the heartbeat deadline; bot-1 reports, no trade */
    for (int64_t t = 1 * S; t <= 121 * S; t += 10 * S) {
        efx_heartbeat(fx, "a1", "bot-1", true, t);
        efx_tick(fx, t);
        if (t == 21 * S)
            assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_UNKNOWN);
    }
    /* bot-1: stale (the restored warning, kept), then stopped: escalated, the same id */
    assert_int_equal(b1->status, COL_ST_STOPPED);
    assert_int_equal(b1->alerts.n, 1);
    assert_string_equal(efx_worst(b1)->id, "old-w1");
    assert_int_equal(efx_worst(b1)->severity, COL_SEV_CRITICAL);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=escalated", "alert_id=old-w1",
                "check=trading", "status=stopped", NULL);
    /* bot-2: down is the liveness check's alert; its trading could not be judged, so the
     * restored trading alert stays open as it was */
    const struct col_bot *b2 = efx_bot(fx, "bot-2");
    assert_int_equal(b2->status, COL_ST_DOWN);
    assert_int_equal(b2->alerts.n, 2);
    const struct col_alert *trading = col_alerts_find(&b2->alerts, "trading");
    const struct col_alert *liveness = col_alerts_find(&b2->alerts, "liveness");
    assert_non_null(trading);
    assert_non_null(liveness);
    assert_string_equal(trading->id, "old-w2");
    assert_int_equal(trading->severity, COL_SEV_WARNING);
    assert_int_equal(liveness->severity, COL_SEV_CRITICAL);
    assert_string_equal(efx_worst(b2)->check, "liveness");
    expect_said(fx->said, ROOT "/alerts/critical/bot-2", "event=opened", "check=liveness", NULL);
    assert_int_equal(said_count(fx->said, ROOT "/alerts/+/bot-2"), 1);
}

/* Two checks failing at once are two alerts, each with its own id, each resolved by its own
 * check; a silence on one check leaves the other loud. */
static void test_each_failing_check_has_its_own_alert(void **state)
{
    struct efx *fx = *state;
    struct col_silence sl = {.id = "s1",
                             .bot = "bot-1",
                             .check = "resources",
                             .reason = "disk cleanup",
                             .created_by = "ops",
                             .ends_at = W0 + 3600 * S};
    assert_int_equal(col_engine_restore_silence(fx->e, &sl, T0, W0), 0);
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    for (int64_t t = 1 * S; t <= 3 * S; t += S) /* disk 97 %: confirmed at the third sample */
        efx_stats(fx, "bot-1", 97, t);
    assert_int_equal(b->status, COL_ST_DEGRADED);
    assert_int_equal(b->alerts.n, 1);
    const struct col_alert *res = col_alerts_find(&b->alerts, "resources");
    assert_non_null(res);
    assert_int_equal(res->severity, COL_SEV_CRITICAL);
    assert_false(res->announced); /* silenced: stored, not told */
    expect_silent(fx->said, ROOT "/alerts/#");
    const struct col_store_op *row = expect_row(fx->said, COL_OP_ALERT);
    assert_string_equal(row->u.alert.check, "resources");
    assert_string_equal(row->u.alert.event, "opened");
    char res_id[COL_ALERT_ID_MAX + 1];
    snprintf(res_id, sizeof(res_id), "%s", res->id);
    /* no trade for a minute: trading fails too, and the bot's status is stale */
    for (int64_t t = 10 * S; t <= 61 * S; t += 10 * S) {
        efx_heartbeat(fx, "a1", "bot-1", true, t);
        efx_stats(fx, "bot-1", 97, t);
        efx_tick(fx, t + 1 * S);
    }
    assert_int_equal(b->status, COL_ST_STALE);
    assert_string_equal(b->check, "trading");
    assert_int_equal(b->alerts.n, 2);
    const struct col_alert *trading = col_alerts_find(&b->alerts, "trading");
    assert_non_null(trading);
    assert_int_equal(trading->severity, COL_SEV_WARNING);
    assert_true(trading->announced); /* the silence covers resources only */
    assert_string_not_equal(trading->id, res_id);
    assert_string_equal(col_alerts_find(&b->alerts, "resources")->id, res_id); /* kept */
    assert_string_equal(efx_worst(b)->check, "resources"); /* the critical one speaks for it */
    expect_said(fx->said, ROOT "/alerts/warning/bot-1", "event=opened", "check=trading",
                "status=stale", NULL);
    assert_int_equal(said_count(fx->said, ROOT "/alerts/#"), 1);
    /* the disk is cleaned: resources resolves, trading stays */
    recorder_clear(fx->said);
    efx_stats(fx, "bot-1", 40, 65 * S);
    assert_int_equal(b->alerts.n, 1);
    assert_null(col_alerts_find(&b->alerts, "resources"));
    assert_non_null(col_alerts_find(&b->alerts, "trading"));
    row = expect_row(fx->said, COL_OP_ALERT);
    assert_string_equal(row->u.alert.alert_id, res_id);
    assert_string_equal(row->u.alert.event, "resolved");
    expect_silent(fx->said, ROOT "/alerts/#"); /* its opening was not told: nor is this */
    /* a trade: trading resolves, the bot is healthy */
    efx_trade(fx, "a1", "bot-1", 66 * S, 66 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(efx_has_alert(b));
    expect_said(fx->said, ROOT "/alerts/warning/bot-1", "event=resolved", "check=trading",
                "status=healthy", NULL);
}

/* A flap is a change of status word: a resource alarm confirmed (degraded without alert, then
 * degraded with one) is one change, not two. */
static void test_confirmed_alarm_is_not_a_flap(void **state)
{
    struct efx *fx = *state;
    fx->cfg.flap = (struct col_flap_limits){.changes = 2, .window_ms = 60 * S};
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    for (int64_t t = 1 * S; t <= 3 * S; t += S)
        efx_stats(fx, "bot-1", 97, t); /* healthy -> degraded (1), then its alert at the third */
    assert_int_equal(b->status, COL_ST_DEGRADED);
    assert_int_equal(b->severity, COL_SEV_CRITICAL);
    assert_false(b->flap.flapping);
    assert_non_null(col_alerts_find(&b->alerts, "resources"));
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=opened", "check=resources", NULL);
    efx_stats(fx, "bot-1", 40, 4 * S); /* -> healthy (2): now it flaps */
    assert_true(b->flap.flapping);
    expect_said(fx->said, ROOT "/alerts/+/bot-1", "event=opened", "check=flapping", NULL);
}

static void test_flapping_bot_alerts_once_then_settles(void **state)
{
    struct efx *fx = *state;
    fx->cfg.flap = (struct col_flap_limits){.changes = 3, .window_ms = 60 * S};
    efx_heartbeat(fx, "a1", "bot-1", true, 0); /* unknown -> healthy: the first verdict, no flap */
    efx_trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    efx_heartbeat(fx, "a1", "bot-1", false, 5 * S); /* -> stopped: change 1, alert opened */
    assert_true(efx_has_alert(b));
    char id[COL_ALERT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", efx_worst(b)->id);
    efx_heartbeat(fx, "a1", "bot-1", true, 10 * S); /* -> healthy: 2, resolved */
    assert_false(efx_has_alert(b));
    recorder_clear(fx->said);
    efx_heartbeat(fx, "a1", "bot-1", false, 15 * S); /* -> stopped: 3, flapping */
    assert_true(b->flap.flapping);
    assert_true(efx_has_alert(b));
    assert_string_equal(efx_worst(b)->check, "flapping");
    assert_string_not_equal(efx_worst(b)->id, id); /* a new alert: the old one was resolved */
    snprintf(id, sizeof(id), "%s", efx_worst(b)->id);
    assert_non_null(strstr(b->reason, "flapping (3 changes in 1m): process not running"));
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=opened", "check=flapping",
                "reason=flapping (3 changes in 1m): process not running", NULL);
    assert_int_equal(said_count(fx->said, ROOT "/alerts/#"), 1); /* the flap, not the process */
    expect_said(fx->said, ROOT "/status/bot-1", "status=stopped",
                "reason=flapping (3 changes in 1m): process not running", NULL);
    recorder_clear(fx->said);
    for (int64_t t = 20 * S; t <= 40 * S; t += 5 * S) { /* on, off, on, off, on */
        efx_heartbeat(fx, "a1", "bot-1", (t / (5 * S)) % 2 == 0, t);
        efx_trade(fx, "a1", "bot-1", t, t);
        assert_true(efx_has_alert(b)); /* no storm: neither resolved nor reopened */
        assert_string_equal(efx_worst(b)->id, id);
    }
    assert_int_equal(b->status, COL_ST_HEALTHY);
    expect_silent(fx->said, ROOT "/alerts/#");
    assert_int_equal(said_count(fx->said, ROOT "/status/bot-1"), 5); /* the statuses still go */
    /* steady from 40 s: at 100 s a whole window has passed without a change */
    for (int64_t t = 45 * S; t < 100 * S; t += 5 * S) {
        efx_heartbeat(fx, "a1", "bot-1", true, t);
        efx_trade(fx, "a1", "bot-1", t, t);
        efx_tick(fx, t);
    }
    assert_true(b->flap.flapping);
    recorder_clear(fx->said);
    efx_heartbeat(fx, "a1", "bot-1", true, 100 * S);
    assert_false(b->flap.flapping);
    assert_false(efx_has_alert(b)); /* healthy after settling: resolved */
    assert_string_equal(b->reason, "alive and trading");
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=resolved", "check=flapping", NULL);
    expect_said(fx->said, ROOT "/status/bot-1", "status=healthy", "reason=alive and trading", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_alert_repeats_until_resolved, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_no_repeat_when_disabled, efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_restored_alert_is_kept_then_resolved_by_its_id,
                                        efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_restored_flapping_alert_resolves_at_first_verdict,
                                        efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_restored_recovery_alert_waits_for_a_working_bot,
                                        efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_restored_warning_escalates_and_silent_bot_goes_down,
                                        efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_each_failing_check_has_its_own_alert, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_confirmed_alarm_is_not_a_flap, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_flapping_bot_alerts_once_then_settles, efx_setup,
                                        efx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
