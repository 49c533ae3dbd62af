/* SPDX-License-Identifier: MIT */
/* The recovery policy on a fake clock: the ladder, the budgets (per bot, least interval, fleet
 * rate, exchange outage), flapping, pauses, pre_restart, and exactly one manual alert. */
#include "recovery.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S 1000
#define MIN (60 * S)
#define T0 1000000

struct fake {
    int sent;
    char last_bot[BP_ID_MAX + 1];
    enum col_rec_action actions[64];
    char nonce[BP_NONCE_MAX + 1];
    int fail_sends;
    int opened, resolved;
    char reason[128];
};

static int fake_send(void *ctx, const char *agent, const char *bot, enum col_rec_action a,
                     char nonce[BP_NONCE_MAX + 1])
{
    struct fake *f = ctx;
    if (f->fail_sends > 0) {
        f->fail_sends--;
        return -ENOTCONN;
    }
    f->actions[f->sent % 64] = a;
    f->sent++;
    snprintf(f->last_bot, sizeof(f->last_bot), "%s", bot);
    snprintf(nonce, BP_NONCE_MAX + 1, "nonce-%016d", f->sent);
    snprintf(f->nonce, sizeof(f->nonce), "%s", nonce);
    return 0;
}

static void fake_manual(void *ctx, const char *bot, bool open, const char *reason)
{
    struct fake *f = ctx;
    if (open)
        f->opened++;
    else
        f->resolved++;
    snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

static struct col_recovery_policy policy(void)
{
    struct col_recovery_policy p = {.enabled = true,
                                    .trigger_mask = 1u << COL_ST_STOPPED | 1u << COL_ST_DOWN,
                                    .max_attempts = 3,
                                    .window_ms = 60 * MIN,
                                    .min_interval_ms = 5 * MIN,
                                    .deadline_ms = 2 * MIN,
                                    .flap_window_ms = 15 * MIN};
    assert_int_equal(col_recovery_parse_ladder("reconnect,restart,hard_restart", &p), 0);
    return p;
}

struct fx {
    struct fake f;
    struct col_recovery *r;
    struct col_recovery_policy p;
};

static struct col_recovery *new_rec(struct fx *x, int fleet_per_min, int exchange_max)
{
    struct col_recovery_limits lim = {.fleet_max_per_minute = fleet_per_min,
                                      .exchange_max_failing = exchange_max};
    struct col_recovery_ops ops = {.send = fake_send, .manual = fake_manual, .ctx = &x->f};
    x->r = col_recovery_new(&lim, &ops);
    assert_non_null(x->r);
    return x->r;
}

static void status(struct fx *x, const char *bot, enum col_status st, int64_t pid, int64_t now)
{
    struct col_recovery_input in = {.bot = bot,
                                    .agent = "agent-1",
                                    .exchange = "binance",
                                    .status = st,
                                    .pid = pid,
                                    .policy = &x->p};
    assert_int_equal(col_recovery_on_status(x->r, &in, now), 0);
}

static struct col_recovery_view view(struct fx *x, const char *bot)
{
    struct col_recovery_view v;
    assert_int_equal(col_recovery_get(x->r, bot, &v), 0);
    return v;
}

/* Runs every due tick up to until. */
static void run_until(struct fx *x, int64_t until)
{
    int64_t t;
    while ((t = col_recovery_next_deadline(x->r)) <= until)
        col_recovery_tick(x->r, t);
}

static void test_parse(void **state)
{
    struct col_recovery_policy p = {0};
    uint32_t mask;
    assert_int_equal(col_recovery_parse_ladder("restart, hard_restart", &p), 0);
    assert_int_equal(p.nladder, 2);
    assert_int_equal(p.ladder[1], COL_REC_HARD_RESTART);
    assert_int_equal(col_recovery_parse_ladder("restart,reboot", &p), -EINVAL);
    assert_int_equal(col_recovery_parse_ladder("pre_restart", &p), -EINVAL);
    assert_int_equal(col_recovery_parse_ladder("", &p), -EINVAL);
    assert_int_equal(col_recovery_parse_triggers("stopped,down,hung", &mask), 0);
    assert_int_equal(mask, 1u << COL_ST_STOPPED | 1u << COL_ST_DOWN | 1u << COL_ST_HUNG);
    assert_int_equal(col_recovery_parse_triggers("healthy", &mask), -EINVAL);
}

static void test_restart_recovers_with_a_new_pid(void **state)
{
    struct fx x = {.p = policy()};
    x.p.nladder = 0;
    col_recovery_parse_ladder("restart", &x.p);
    new_rec(&x, 0, 0);
    status(&x, "b", COL_ST_HEALTHY, 100, T0);
    assert_int_equal(x.f.sent, 0);
    status(&x, "b", COL_ST_STOPPED, 0, T0 + S);
    assert_int_equal(x.f.sent, 1);
    assert_int_equal(x.f.actions[0], COL_REC_RESTART);
    assert_true(view(&x, "b").pending);
    col_recovery_on_result(x.r, "b", x.f.nonce, "ok", T0 + 2 * S);
    assert_true(view(&x, "b").pending); /* ran, but the bot is not back yet */
    /* the same pid back is not a restart that worked */
    status(&x, "b", COL_ST_HEALTHY, 100, T0 + 3 * S);
    assert_true(view(&x, "b").pending);
    status(&x, "b", COL_ST_STOPPED, 0, T0 + 4 * S);
    status(&x, "b", COL_ST_HEALTHY, 200, T0 + 5 * S);
    assert_false(view(&x, "b").pending);
    assert_int_equal(view(&x, "b").recovered, 1);
    assert_int_equal(x.f.sent, 1);
    assert_int_equal(x.f.opened, 0);
    col_recovery_free(x.r);
}

static void test_ladder_then_one_manual_alert(void **state)
{
    struct fx x = {.p = policy()};
    new_rec(&x, 0, 0);
    status(&x, "b", COL_ST_HEALTHY, 100, T0);
    status(&x, "b", COL_ST_STOPPED, 0, T0);
    assert_int_equal(x.f.sent, 1);
    assert_int_equal(x.f.actions[0], COL_REC_RECONNECT);
    /* nothing comes back: each deadline passes; the least interval spaces the attempts */
    run_until(&x, T0 + 4 * MIN);
    assert_int_equal(x.f.sent, 1); /* deadline passed at 2 min, but 5 min between attempts */
    run_until(&x, T0 + 5 * MIN);
    assert_int_equal(x.f.sent, 2);
    assert_int_equal(x.f.actions[1], COL_REC_RESTART);
    run_until(&x, T0 + 10 * MIN);
    assert_int_equal(x.f.sent, 3);
    assert_int_equal(x.f.actions[2], COL_REC_HARD_RESTART);
    assert_int_equal(x.f.opened, 0);
    run_until(&x, T0 + 60 * MIN);
    assert_int_equal(x.f.sent, 3);
    assert_int_equal(x.f.opened, 1);
    assert_true(view(&x, "b").gave_up);
    assert_string_equal(x.f.reason,
                        "recovery ladder exhausted: 3 attempts in this incident, the last "
                        "hard_restart");
    /* more bad news changes nothing: no more commands, no second alert */
    status(&x, "b", COL_ST_DOWN, 0, T0 + 61 * MIN);
    run_until(&x, T0 + 200 * MIN);
    assert_int_equal(x.f.sent, 3);
    assert_int_equal(x.f.opened, 1);
    /* a human fixes it: the alert resolves, the ladder starts over next time */
    status(&x, "b", COL_ST_HEALTHY, 300, T0 + 201 * MIN);
    assert_int_equal(x.f.resolved, 1);
    assert_false(view(&x, "b").gave_up);
    assert_int_equal(view(&x, "b").step, 0);
    col_recovery_free(x.r);
}

static void test_budget_per_window(void **state)
{
    struct fx x = {.p = policy()};
    x.p.max_attempts = 2;
    x.p.min_interval_ms = 0;
    x.p.flap_window_ms = 0; /* each failure a fresh incident: only the budget stops it */
    col_recovery_parse_ladder("restart", &x.p);
    new_rec(&x, 0, 0);
    int64_t t = T0;
    for (int pid = 1; pid <= 2; pid++, t += MIN) {
        status(&x, "b", COL_ST_STOPPED, 0, t);
        status(&x, "b", COL_ST_HEALTHY, 100 + pid, t + S);
    }
    assert_int_equal(x.f.sent, 2);
    status(&x, "b", COL_ST_STOPPED, 0, t + 2 * S);
    assert_int_equal(x.f.sent, 2);
    assert_int_equal(x.f.opened, 1);
    assert_non_null(strstr(x.f.reason, "budget"));
    col_recovery_free(x.r);
}

static void test_flapping_escalates(void **state)
{
    struct fx x = {.p = policy()};
    x.p.min_interval_ms = 0;
    new_rec(&x, 0, 0);
    status(&x, "b", COL_ST_STOPPED, 0, T0);
    assert_int_equal(x.f.actions[0], COL_REC_RECONNECT);
    status(&x, "b", COL_ST_HEALTHY, 100, T0 + S); /* back... */
    status(&x, "b", COL_ST_STOPPED, 0, T0 + MIN); /* ...and dead again within the flap window */
    assert_int_equal(x.f.sent, 2);
    assert_int_equal(x.f.actions[1], COL_REC_RESTART);
    /* after a long healthy spell, a new failure starts at the bottom of the ladder again */
    status(&x, "b", COL_ST_HEALTHY, 200, T0 + 2 * MIN);
    status(&x, "b", COL_ST_STOPPED, 0, T0 + 30 * MIN);
    assert_int_equal(x.f.sent, 3);
    assert_int_equal(x.f.actions[2], COL_REC_RECONNECT);
    col_recovery_free(x.r);
}

/* A one-rung ladder and a bot that flaps: each new incident tries the rung again (the budget
 * stops it), never "ladder exhausted" for an incident in which nothing was tried (issue 16). */
static void test_flapping_at_the_top_of_the_ladder(void **state)
{
    struct fx x = {.p = policy()};
    x.p.min_interval_ms = 10 * S;
    col_recovery_parse_ladder("restart", &x.p);
    new_rec(&x, 0, 0);
    status(&x, "b", COL_ST_HEALTHY, 100, T0);
    int64_t t = T0;
    for (int i = 1; i <= 3; i++, t += MIN) {
        status(&x, "b", COL_ST_STOPPED, 0, t + S); /* killed again within the flap window */
        run_until(&x, t + 30 * S);
        assert_int_equal(x.f.sent, i);
        assert_int_equal(x.f.actions[i - 1], COL_REC_RESTART);
        assert_int_equal(x.f.opened, 0);
        status(&x, "b", COL_ST_HEALTHY, 100 + i, t + 40 * S); /* a new process: recovered */
    }
    /* the fourth within the hour: the budget, and the reason says so */
    status(&x, "b", COL_ST_STOPPED, 0, t + S);
    run_until(&x, t + 30 * S);
    assert_int_equal(x.f.sent, 3);
    assert_int_equal(x.f.opened, 1);
    assert_string_equal(x.f.reason, "restart budget spent (3 attempts within the window)");
    col_recovery_free(x.r);
}

static void test_pauses(void **state)
{
    struct fx x = {.p = policy()};
    new_rec(&x, 0, 0);
    /* agent offline: down, but nobody could run a command */
    struct col_recovery_input in = {.bot = "b",
                                    .agent = "agent-1",
                                    .exchange = "",
                                    .status = COL_ST_DOWN,
                                    .agent_offline = true,
                                    .policy = &x.p};
    col_recovery_on_status(x.r, &in, T0);
    assert_int_equal(x.f.sent, 0);
    /* intended stopped */
    in.agent_offline = false, in.status = COL_ST_STOPPED, in.intended_stopped = true;
    col_recovery_on_status(x.r, &in, T0 + S);
    assert_int_equal(x.f.sent, 0);
    /* recovery = off for the bot */
    struct col_recovery_policy off = x.p;
    off.enabled = false;
    in.intended_stopped = false, in.policy = &off;
    col_recovery_on_status(x.r, &in, T0 + 2 * S);
    run_until(&x, T0 + 10 * MIN);
    assert_int_equal(x.f.sent, 0);
    /* a silence pauses it; when it ends (on_status again, unpaused) the attempt starts */
    in.policy = &x.p, in.paused = true;
    col_recovery_on_status(x.r, &in, T0 + 3 * S);
    run_until(&x, T0 + 10 * MIN);
    assert_int_equal(x.f.sent, 0);
    in.paused = false;
    col_recovery_on_status(x.r, &in, T0 + 10 * MIN);
    assert_int_equal(x.f.sent, 1);
    x.f.sent = 0;
    in.status = COL_ST_HEALTHY; /* back: a fresh start for the grace case below */
    col_recovery_on_status(x.r, &in, T0 + 10 * MIN + S);
    in.status = COL_ST_STOPPED, in.policy = &off;
    col_recovery_on_status(x.r, &in, T0 + 10 * MIN + 2 * S);
    /* our reconnect grace: held until it ends, then sent */
    col_recovery_pause_until(x.r, T0 + 20 * MIN);
    in.policy = &x.p;
    col_recovery_on_status(x.r, &in, T0 + 11 * MIN);
    assert_int_equal(x.f.sent, 0);
    assert_true(view(&x, "b").held);
    run_until(&x, T0 + 20 * MIN);
    assert_int_equal(x.f.sent, 1);
    col_recovery_free(x.r);
}

static void test_fleet_rate_and_exchange_outage(void **state)
{
    struct fx x = {.p = policy()};
    new_rec(&x, 2, 0);
    status(&x, "a", COL_ST_STOPPED, 0, T0);
    status(&x, "b", COL_ST_STOPPED, 0, T0);
    status(&x, "c", COL_ST_STOPPED, 0, T0);
    assert_int_equal(x.f.sent, 2); /* the third waits for the fleet-wide minute */
    assert_true(view(&x, "c").held);
    run_until(&x, T0 + MIN - 1);
    assert_int_equal(x.f.sent, 2);
    run_until(&x, T0 + MIN);
    assert_int_equal(x.f.sent, 3);
    col_recovery_free(x.r);

    struct fx y = {.p = policy()};
    new_rec(&y, 0, 2);
    status(&y, "a", COL_ST_STOPPED, 0, T0);
    status(&y, "b", COL_ST_STOPPED, 0, T0);
    assert_int_equal(y.f.sent, 2);
    status(&y, "c", COL_ST_STOPPED, 0, T0); /* 3 failing on binance: an exchange outage */
    assert_int_equal(y.f.sent, 2);
    assert_true(view(&y, "c").held);
    run_until(&y, T0 + 30 * S);
    assert_int_equal(y.f.sent, 2);
    status(&y, "a", COL_ST_HEALTHY, 7, T0 + 31 * S); /* the outage eases */
    run_until(&y, T0 + 40 * S);
    assert_int_equal(y.f.sent, 3);
    assert_string_equal(y.f.last_bot, "c");
    col_recovery_free(y.r);
}

static void test_pre_restart_and_failed_results(void **state)
{
    struct fx x = {.p = policy()};
    x.p.pre_restart = true;
    x.p.min_interval_ms = S;
    col_recovery_parse_ladder("reconnect,restart", &x.p);
    new_rec(&x, 0, 0);
    status(&x, "b", COL_ST_STOPPED, 0, T0);
    assert_int_equal(x.f.actions[0], COL_REC_RECONNECT); /* no pre_restart before a soft one */
    col_recovery_on_result(x.r, "b", "some-other-nonce", "failed", T0 + 10);
    assert_true(view(&x, "b").pending); /* not ours: ignored */
    col_recovery_on_result(x.r, "b", x.f.nonce, "refused", T0 + 20);
    assert_false(view(&x, "b").pending); /* failed at once: next rung after min_interval */
    run_until(&x, T0 + S);
    assert_int_equal(x.f.sent, 2);
    assert_int_equal(x.f.actions[1], COL_REC_PRE_RESTART);
    col_recovery_on_result(x.r, "b", x.f.nonce, "ok", T0 + 2 * S);
    assert_int_equal(x.f.sent, 3);
    assert_int_equal(x.f.actions[2], COL_REC_RESTART);
    col_recovery_free(x.r);

    struct fx y = {.p = policy()};
    y.p.pre_restart = true;
    col_recovery_parse_ladder("restart", &y.p);
    new_rec(&y, 0, 0);
    status(&y, "b", COL_ST_STOPPED, 0, T0);
    assert_int_equal(y.f.actions[0], COL_REC_PRE_RESTART);
    col_recovery_on_result(y.r, "b", y.f.nonce, "failed", T0 + S);
    assert_int_equal(y.f.sent, 1); /* its failure stops the ladder */
    assert_int_equal(y.f.opened, 1);
    assert_non_null(strstr(y.f.reason, "pre_restart"));
    col_recovery_free(y.r);
}

static void test_failed_send_is_not_an_attempt(void **state)
{
    struct fx x = {.p = policy()};
    new_rec(&x, 0, 0);
    x.f.fail_sends = 1;
    status(&x, "b", COL_ST_STOPPED, 0, T0);
    assert_int_equal(x.f.sent, 0);
    assert_int_equal(view(&x, "b").attempts, 0);
    run_until(&x, T0 + 5 * MIN);
    assert_int_equal(x.f.sent, 1);
    assert_int_equal(x.f.actions[0], COL_REC_RECONNECT);
    col_recovery_free(x.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_restart_recovers_with_a_new_pid),
        cmocka_unit_test(test_ladder_then_one_manual_alert),
        cmocka_unit_test(test_budget_per_window),
        cmocka_unit_test(test_flapping_escalates),
        cmocka_unit_test(test_flapping_at_the_top_of_the_ladder),
        cmocka_unit_test(test_pauses),
        cmocka_unit_test(test_fleet_rate_and_exchange_outage),
        cmocka_unit_test(test_pre_restart_and_failed_results),
        cmocka_unit_test(test_failed_send_is_not_an_attempt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
