/* SPDX-License-Identifier: MIT */
/* The rules thread on a fake clock: evidence in, transitions, alerts and fleet counts out. */
#include "engine.h"
#include "engine_settings.h"
#include "incidents.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S 1000
#define T0 5000000
#define W0 1700000000000LL /* wall clock at T0 */

struct fx {
    struct col_settings cfg;
    struct col_engine *e;
    int64_t seq;
};

/* The alert that speaks for the bot (its most severe open one), or NULL; and whether any. */
static const struct col_alert *worst(const struct col_bot *b)
{
    return col_alerts_worst(&b->alerts);
}

static bool has_alert(const struct col_bot *b)
{
    return b->alerts.n > 0;
}

static int setup(void **state)
{
    static struct fx fx;
    memset(&fx, 0, sizeof(fx));
    test_engine_settings(&fx.cfg, 60 * S, 120 * S);
    fx.cfg.reconnect_grace_ms = 5 * S;
    assert_int_equal(col_engine_new(&fx.cfg, NULL, NULL, NULL, &fx.e), 0);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    col_engine_free(fx->e);
    return 0;
}

static void header(struct fx *fx, struct col_event *ev, enum bp_msg_type type, const char *agent,
                   const char *bot, int64_t at)
{
    memset(ev, 0, sizeof(*ev));
    ev->recv_mono = T0 + at;
    ev->recv_wall = W0 + at;
    ev->msg.hdr.v = 1;
    ev->msg.hdr.type = type;
    snprintf(ev->msg.hdr.agent, sizeof(ev->msg.hdr.agent), "%s", agent);
    snprintf(ev->msg.hdr.bot, sizeof(ev->msg.hdr.bot), "%s", bot);
    snprintf(ev->msg.hdr.boot, sizeof(ev->msg.hdr.boot), "b1");
    ev->msg.hdr.seq = ++fx->seq;
    ev->msg.hdr.ts = W0 + at;
}

static void agent_state(struct fx *fx, const char *agent, const char *host, bool online,
                        const char *bot, const char *account, int64_t at)
{
    struct col_event ev;
    header(fx, &ev, BP_MSG_AGENT_STATE, agent, "", at);
    struct bp_agent_state *st = &ev.msg.u.agent_state;
    st->online = online;
    snprintf(st->host, sizeof(st->host), "%s", host);
    st->heartbeat_ms = 10 * S;
    st->nbots = 1;
    snprintf(st->bots[0].id, sizeof(st->bots[0].id), "%s", bot);
    snprintf(st->bots[0].account, sizeof(st->bots[0].account), "%s", account);
    col_engine_handle(fx->e, &ev);
}

static void heartbeat_every(struct fx *fx, const char *agent, const char *bot, bool alive,
                            int64_t interval, int64_t at)
{
    struct col_event ev;
    header(fx, &ev, BP_MSG_HEARTBEAT, agent, bot, at);
    ev.msg.u.heartbeat.interval_ms = interval;
    ev.msg.u.heartbeat.proc.alive = alive;
    ev.msg.u.heartbeat.proc.pid = alive ? 100 : 0;
    col_engine_handle(fx->e, &ev);
}

static void heartbeat(struct fx *fx, const char *agent, const char *bot, bool alive, int64_t at)
{
    heartbeat_every(fx, agent, bot, alive, 10 * S, at);
}

static void trade(struct fx *fx, const char *agent, const char *bot, int64_t at, int64_t trade_at)
{
    struct col_event ev;
    header(fx, &ev, BP_MSG_TRADE, agent, bot, at);
    ev.msg.u.trade.trade_ts = W0 + trade_at;
    col_engine_handle(fx->e, &ev);
}

static const struct col_bot *bot(struct fx *fx, const char *id)
{
    const struct col_bot *b = col_strmap_get(col_engine_fleet(fx->e)->bots, id);
    assert_non_null(b);
    return b;
}

static void tick(struct fx *fx, int64_t at)
{
    col_engine_tick(fx->e, T0 + at, W0 + at);
}

static void test_heartbeat_timeout_goes_down_at_deadline(void **state)
{
    struct fx *fx = *state;
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    heartbeat(fx, "a1", "bot-1", true, 0);
    trade(fx, "a1", "bot-1", 0, 0);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    tick(fx, 0); /* first summary and stats */
    /* the engine sleeps until exactly the heartbeat deadline: 3 x 10 s */
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 30 * S);
    tick(fx, 29 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    tick(fx, 30 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_DOWN);
    assert_true(has_alert(bot(fx, "bot-1")));
    assert_int_equal(worst(bot(fx, "bot-1"))->severity, COL_SEV_CRITICAL);
    heartbeat(fx, "a1", "bot-1", true, 31 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    assert_false(has_alert(bot(fx, "bot-1")));
}

static void test_last_will_downs_every_bot_at_once(void **state)
{
    struct fx *fx = *state;
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    agent_state(fx, "a1", "host-1", true, "bot-2", "acct", 0);
    heartbeat(fx, "a1", "bot-1", true, 0);
    heartbeat(fx, "a1", "bot-2", true, 0);
    agent_state(fx, "a1", "host-1", false, "bot-1", "acct", 1 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_DOWN);
    assert_int_equal(bot(fx, "bot-2")->status, COL_ST_DOWN);
    assert_string_equal(bot(fx, "bot-2")->reason, "agent offline");
    const struct col_fleet *f = col_engine_fleet(fx->e);
    assert_int_equal(f->all.by_status[COL_ST_DOWN], 2);
    const struct col_group *g = col_strmap_get(f->hosts, "host-1");
    assert_non_null(g);
    assert_int_equal(g->by_status[COL_ST_DOWN], 2);
}

static void test_process_dead_is_stopped(void **state)
{
    struct fx *fx = *state;
    heartbeat(fx, "a1", "bot-1", true, 0);
    heartbeat(fx, "a1", "bot-1", false, 10 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_STOPPED);
    assert_string_equal(bot(fx, "bot-1")->check, "process");
}

static void test_stale_then_stopped_then_trade_resolves(void **state)
{
    struct fx *fx = *state;
    heartbeat(fx, "a1", "bot-1", true, 0);
    trade(fx, "a1", "bot-1", 0, 0);
    for (int64_t t = 10 * S; t <= 130 * S; t += 10 * S) {
        tick(fx, t);
        heartbeat(fx, "a1", "bot-1", true, t);
    }
    const struct col_bot *b = bot(fx, "bot-1");
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_string_equal(b->check, "trading");
    assert_int_equal(worst(b)->severity, COL_SEV_CRITICAL); /* escalated from warning */
    trade(fx, "a1", "bot-1", 131 * S, 131 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(has_alert(b));
}

static void test_open_alert_repeats_until_resolved(void **state)
{
    struct fx *fx = *state;
    fx->cfg.alert_repeat_ms = 60 * S;
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    heartbeat(fx, "a1", "bot-1", true, 0);
    trade(fx, "a1", "bot-1", 0, 0);
    agent_state(fx, "a1", "host-1", false, "bot-1", "acct", 1 * S); /* Last Will */
    const struct col_bot *b = bot(fx, "bot-1");
    assert_true(has_alert(b));
    char id[COL_ALERT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", worst(b)->id);
    /* down by Last Will has no deadline of its own: the reminder is the next one */
    assert_int_equal(col_engine_next_deadline(fx->e) <= T0 + 61 * S, true);
    tick(fx, 60 * S);
    assert_int_equal(worst(b)->repeats, 0);
    tick(fx, 61 * S);
    assert_int_equal(worst(b)->repeats, 1);
    tick(fx, 100 * S);
    assert_int_equal(worst(b)->repeats, 1); /* at most one per period */
    tick(fx, 121 * S);
    assert_int_equal(worst(b)->repeats, 2);
    assert_string_equal(worst(b)->id, id); /* the same alert, reminded */
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 130 * S);
    heartbeat(fx, "a1", "bot-1", true, 130 * S);
    trade(fx, "a1", "bot-1", 130 * S, 130 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(has_alert(b));
    for (int64_t t = 140 * S; t <= 300 * S; t += 10 * S) { /* healthy past 181 s, 241 s */
        heartbeat(fx, "a1", "bot-1", true, t);
        trade(fx, "a1", "bot-1", t, t);
        tick(fx, t);
    }
    assert_false(has_alert(b)); /* resolved: nothing left to remind of */
}

static void test_no_repeat_when_disabled(void **state)
{
    struct fx *fx = *state;
    fx->cfg.alert_repeat_ms = 0;
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    heartbeat(fx, "a1", "bot-1", true, 0);
    agent_state(fx, "a1", "host-1", false, "bot-1", "acct", 1 * S);
    assert_true(has_alert(bot(fx, "bot-1")));
    tick(fx, 3600 * S);
    assert_int_equal(worst(bot(fx, "bot-1"))->repeats, 0);
}

static void test_restored_alert_is_kept_then_resolved_by_its_id(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-1", "process", "old-a7", "critical", W0 - 60 * S, T0),
        0);
    const struct col_bot *b = bot(fx, "bot-1");
    assert_int_equal(b->status, COL_ST_UNKNOWN);
    assert_true(has_alert(b));
    assert_string_equal(worst(b)->check, "process");
    /* still dead after the restart: the same alert, not a new one */
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 1 * S);
    heartbeat(fx, "a1", "bot-1", false, 1 * S);
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_string_equal(worst(b)->id, "old-a7");
    assert_int_equal(worst(b)->opened_at, W0 - 60 * S);
    /* back: resolved, by that id */
    heartbeat(fx, "a1", "bot-1", true, 2 * S);
    trade(fx, "a1", "bot-1", 2 * S, 2 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(has_alert(b));
}

/* A flapping alert left open by the previous run: this run has not seen the bot flap, so the
 * first verdict on it resolves that alert (the rules never judge "flapping" themselves). */
static void test_restored_flapping_alert_resolves_at_first_verdict(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-1", "flapping", "old-f1", "warning", W0 - 60 * S, T0),
        0);
    const struct col_bot *b = bot(fx, "bot-1");
    assert_non_null(col_alerts_find(&b->alerts, "flapping"));
    tick(fx, 1 * S); /* unknown still: nothing judged, kept */
    assert_non_null(col_alerts_find(&b->alerts, "flapping"));
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 2 * S);
    heartbeat(fx, "a1", "bot-1", true, 2 * S);
    trade(fx, "a1", "bot-1", 2 * S, 2 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(has_alert(b));
}

/* A manual-intervention alert left open by the previous run stays open while the bot is still
 * failing, and resolves once the bot works again. */
static void test_restored_recovery_alert_waits_for_a_working_bot(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-1", "recovery", "old-r1", "critical", W0 - 60 * S, T0),
        0);
    const struct col_bot *b = bot(fx, "bot-1");
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 1 * S);
    heartbeat(fx, "a1", "bot-1", false, 1 * S); /* still dead: kept, and a process alert */
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_int_equal(b->alerts.n, 2);
    assert_string_equal(col_alerts_find(&b->alerts, "recovery")->id, "old-r1");
    heartbeat(fx, "a1", "bot-1", true, 2 * S);
    trade(fx, "a1", "bot-1", 2 * S, 2 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(has_alert(b)); /* both resolved */
}

static void test_restored_warning_escalates_and_silent_bot_goes_down(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-1", "trading", "old-w1", "warning", W0 - 60 * S, T0),
        0);
    assert_int_equal(
        col_engine_restore_alert(fx->e, "bot-2", "trading", "old-w2", "warning", W0 - 60 * S, T0),
        0);
    assert_int_equal(col_engine_restore_alert(fx->e, "bad id!", "trading", "x", "warning", 0, T0),
                     -EINVAL);
    const struct col_bot *b1 = bot(fx, "bot-1");
    /* bot-2 never reports again: down at the heartbeat deadline; bot-1 reports, no trade */
    for (int64_t t = 1 * S; t <= 121 * S; t += 10 * S) {
        heartbeat(fx, "a1", "bot-1", true, t);
        tick(fx, t);
        if (t == 21 * S)
            assert_int_equal(bot(fx, "bot-2")->status, COL_ST_UNKNOWN);
    }
    /* bot-1: stale (the restored warning, kept), then stopped: escalated, the same id */
    assert_int_equal(b1->status, COL_ST_STOPPED);
    assert_int_equal(b1->alerts.n, 1);
    assert_string_equal(worst(b1)->id, "old-w1");
    assert_int_equal(worst(b1)->severity, COL_SEV_CRITICAL);
    /* bot-2: down is the liveness check's alert; its trading could not be judged, so the
     * restored trading alert stays open as it was */
    const struct col_bot *b2 = bot(fx, "bot-2");
    assert_int_equal(b2->status, COL_ST_DOWN);
    assert_int_equal(b2->alerts.n, 2);
    const struct col_alert *trading = col_alerts_find(&b2->alerts, "trading");
    const struct col_alert *liveness = col_alerts_find(&b2->alerts, "liveness");
    assert_non_null(trading);
    assert_non_null(liveness);
    assert_string_equal(trading->id, "old-w2");
    assert_int_equal(trading->severity, COL_SEV_WARNING);
    assert_int_equal(liveness->severity, COL_SEV_CRITICAL);
    assert_string_equal(worst(b2)->check, "liveness");
}

static void test_skewed_agent_clock_neither_hides_nor_invents_staleness(void **state)
{
    struct fx *fx = *state;
    fx->cfg.limits.clock_skew_ms = 5 * S;
    /* agent-2's clock runs 10 min behind ours: its messages say "10 min ago" */
    for (int64_t t = 0; t <= 50 * S; t += 10 * S) {
        struct col_event ev;
        header(fx, &ev, BP_MSG_HEARTBEAT, "a2", "bot-2", t);
        ev.msg.hdr.ts -= 10 * 60 * S;
        ev.msg.u.heartbeat.interval_ms = 10 * S;
        ev.msg.u.heartbeat.proc.alive = true;
        ev.msg.u.heartbeat.last_trade_ts = ev.msg.hdr.ts; /* it traded just now, its clock */
        col_engine_handle(fx->e, &ev);
        tick(fx, t);
    }
    const struct col_bot *b = bot(fx, "bot-2");
    /* trade_stale is 60 s: read naively, its trades look 10 min old */
    assert_true(b->ev.has_trade);
    assert_true(b->ev.last_trade_mono >= T0 + 50 * S - 100);
    assert_int_equal(b->status, COL_ST_DEGRADED);
    assert_string_equal(b->check, "clock");
    assert_string_equal(b->reason, "agent clock 10m behind the collector's");
    assert_int_equal(b->agent->skew.ahead_ms, -10 * 60 * S);
}

static void test_flapping_bot_alerts_once_then_settles(void **state)
{
    struct fx *fx = *state;
    fx->cfg.flap = (struct col_flap_limits){.changes = 3, .window_ms = 60 * S};
    heartbeat(fx, "a1", "bot-1", true, 0); /* unknown -> healthy: the first verdict, no flap */
    trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = bot(fx, "bot-1");
    heartbeat(fx, "a1", "bot-1", false, 5 * S); /* -> stopped: change 1, alert opened */
    assert_true(has_alert(b));
    char id[COL_ALERT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", worst(b)->id);
    heartbeat(fx, "a1", "bot-1", true, 10 * S); /* -> healthy: 2, resolved */
    assert_false(has_alert(b));
    heartbeat(fx, "a1", "bot-1", false, 15 * S); /* -> stopped: 3, flapping */
    assert_true(b->flap.flapping);
    assert_true(has_alert(b));
    assert_string_equal(worst(b)->check, "flapping");
    assert_string_not_equal(worst(b)->id, id); /* a new alert: the old one was resolved */
    snprintf(id, sizeof(id), "%s", worst(b)->id);
    assert_non_null(strstr(b->reason, "flapping (3 changes in 1m): process not running"));
    for (int64_t t = 20 * S; t <= 40 * S; t += 5 * S) { /* on, off, on, off, on */
        heartbeat(fx, "a1", "bot-1", (t / (5 * S)) % 2 == 0, t);
        trade(fx, "a1", "bot-1", t, t);
        assert_true(has_alert(b)); /* no storm: neither resolved nor reopened */
        assert_string_equal(worst(b)->id, id);
    }
    assert_int_equal(b->status, COL_ST_HEALTHY);
    /* steady from 40 s: at 100 s a whole window has passed without a change */
    for (int64_t t = 45 * S; t < 100 * S; t += 5 * S) {
        heartbeat(fx, "a1", "bot-1", true, t);
        trade(fx, "a1", "bot-1", t, t);
        tick(fx, t);
    }
    assert_true(b->flap.flapping);
    heartbeat(fx, "a1", "bot-1", true, 100 * S);
    assert_false(b->flap.flapping);
    assert_false(has_alert(b)); /* healthy after settling: resolved */
    assert_string_equal(b->reason, "alive and trading");
}

/* An agent listing one bot on an exchange, then the bot alive and trading at `at`. */
static void bot_on(struct fx *fx, const char *agent, const char *bot, const char *exchange,
                   int64_t at)
{
    struct col_event ev;
    header(fx, &ev, BP_MSG_AGENT_STATE, agent, "", at);
    struct bp_agent_state *st = &ev.msg.u.agent_state;
    st->online = true;
    snprintf(st->host, sizeof(st->host), "host-%s", agent);
    st->heartbeat_ms = 10 * S;
    st->nbots = 1;
    snprintf(st->bots[0].id, sizeof(st->bots[0].id), "%s", bot);
    snprintf(st->bots[0].exchange, sizeof(st->bots[0].exchange), "%s", exchange);
    col_engine_handle(fx->e, &ev);
    heartbeat(fx, agent, bot, true, at);
    trade(fx, agent, bot, at, at);
}

static void test_bots_failing_together_make_one_incident(void **state)
{
    struct fx *fx = *state;
    fx->cfg.incidents = (struct col_incident_limits){.min_bots = 3, .window_ms = 60 * S};
    const char *ids[] = {"bot-1", "bot-2", "bot-3", "bot-4"};
    for (int i = 0; i < 4; i++) /* one agent per bot: hosts differ, the exchange is shared */
        bot_on(fx, ids[i], ids[i], "ex1", 0);
    bot_on(fx, "a9", "bot-9", "ex2", 0);
    heartbeat(fx, "bot-1", "bot-1", false, 1 * S);
    heartbeat(fx, "bot-2", "bot-2", false, 2 * S);
    heartbeat(fx, "a9", "bot-9", false, 2 * S); /* same moment, other exchange */
    const struct col_bot *b1 = bot(fx, "bot-1"), *b3 = bot(fx, "bot-3");
    assert_null(b1->incident); /* two are not yet an incident: their alerts went out */
    assert_true(has_alert(b1) && worst(b1)->announced);
    heartbeat(fx, "bot-3", "bot-3", false, 3 * S);
    const struct col_incident *inc = b3->incident;
    assert_non_null(inc);
    assert_string_equal(inc->kind, "exchange");
    assert_string_equal(inc->group, "ex1");
    assert_int_equal(inc->nbots, 3);
    assert_ptr_equal(b1->incident, inc);
    assert_null(bot(fx, "bot-9")->incident);
    assert_true(has_alert(b3));
    assert_false(worst(b3)->announced); /* the incident speaks for it */
    char reason[256];
    col_incident_reason(inc, 60 * S, reason, sizeof(reason));
    assert_string_equal(reason, "3 bots on exchange ex1 failed within 1m (3 still failing; now "
                                "stopped)");
    heartbeat(fx, "bot-4", "bot-4", false, 4 * S); /* a late one joins */
    assert_ptr_equal(bot(fx, "bot-4")->incident, inc);
    assert_int_equal(inc->nbots, 4);
    assert_int_equal(inc->severity, COL_SEV_CRITICAL);
    for (int i = 0; i < 3; i++) { /* recovering one by one: the incident stays */
        heartbeat(fx, ids[i], ids[i], true, 10 * S);
        trade(fx, ids[i], ids[i], 10 * S, 10 * S);
        assert_ptr_equal(bot(fx, "bot-4")->incident, inc);
    }
    assert_false(has_alert(b1));
    heartbeat(fx, "bot-4", "bot-4", true, 11 * S); /* the last: resolved, freed */
    trade(fx, "bot-4", "bot-4", 11 * S, 11 * S);
    for (int i = 0; i < 4; i++)
        assert_null(bot(fx, ids[i])->incident);
}

static void test_failures_far_apart_are_no_incident(void **state)
{
    struct fx *fx = *state;
    fx->cfg.incidents = (struct col_incident_limits){.min_bots = 3, .window_ms = 60 * S};
    const char *ids[] = {"bot-1", "bot-2", "bot-3"};
    for (int i = 0; i < 3; i++)
        bot_on(fx, ids[i], ids[i], "ex1", 0);
    for (int i = 0; i < 3; i++) { /* 61 s apart: each alone */
        for (int j = 0; j < 3; j++)
            if (j >= i) {
                heartbeat(fx, ids[j], ids[j], j != i, i * 61 * S + 1);
                trade(fx, ids[j], ids[j], i * 61 * S + 1, i * 61 * S + 1);
            }
        assert_null(bot(fx, ids[i])->incident);
        assert_true(worst(bot(fx, ids[i]))->announced);
    }
}

static void test_learned_cadence_stretches_staleness(void **state)
{
    struct fx *fx = *state;
    fx->cfg.limits.cadence_factor = 3; /* stale after 3 normal gaps, if that is longer */
    fx->cfg.limits.cadence_min_samples = 3;
    for (int64_t t = 0; t <= 500 * S; t += 10 * S) { /* a trade every 100 s */
        heartbeat(fx, "a1", "bot-1", true, t);
        if (t % (100 * S) == 0)
            trade(fx, "a1", "bot-1", t, t);
        tick(fx, t);
    }
    const struct col_bot *b = bot(fx, "bot-1");
    assert_int_equal(b->ev.cadence_gap_ms, 100 * S);
    for (int64_t t = 510 * S; t <= 790 * S; t += 10 * S) { /* 290 s without a trade */
        heartbeat(fx, "a1", "bot-1", true, t);
        tick(fx, t);
    }
    assert_int_equal(b->status, COL_ST_HEALTHY); /* fixed limits: stopped after 120 s */
    heartbeat(fx, "a1", "bot-1", true, 800 * S);
    tick(fx, 800 * S);
    assert_int_equal(b->status, COL_ST_STALE);
    assert_non_null(strstr(b->reason, "learned cadence"));
}

static void test_late_trade_counts_from_its_own_time(void **state)
{
    struct fx *fx = *state;
    heartbeat(fx, "a1", "bot-1", true, 0);
    trade(fx, "a1", "bot-1", 0, 0);
    heartbeat(fx, "a1", "bot-1", true, 65 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_STALE);
    /* a trade made at 50 s, delivered late (broker outage) at 70 s: 20 s old, not stale */
    trade(fx, "a1", "bot-1", 70 * S, 50 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    for (int64_t t = 75 * S; t <= 105 * S; t += 10 * S)
        heartbeat(fx, "a1", "bot-1", true, t);
    tick(fx, 109 * S);
    heartbeat(fx, "a1", "bot-1", true, 109 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    heartbeat(fx, "a1", "bot-1", true, 110 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_STALE);
}

static void test_account_counts_follow_labels(void **state)
{
    struct fx *fx = *state;
    heartbeat(fx, "a1", "bot-1", true, 0); /* before the agent's state: no labels yet */
    agent_state(fx, "a1", "host-9", true, "bot-1", "acct-x", 1 * S);
    const struct col_fleet *f = col_engine_fleet(fx->e);
    const struct col_group *g = col_strmap_get(f->accounts, "acct-x");
    assert_non_null(g);
    assert_int_equal(g->total, 1);
    const struct col_group *none = col_strmap_get(f->accounts, "-");
    assert_non_null(none);
    assert_int_equal(none->total, 0);
    assert_int_equal(f->all.total, 1);
    assert_int_equal(((const struct col_group *)col_strmap_get(f->hosts, "host-9"))->total, 1);
}

static void connection(struct fx *fx, enum col_event_kind kind, int64_t at)
{
    struct col_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.recv_mono = T0 + at;
    ev.recv_wall = W0 + at;
    col_engine_handle(fx->e, &ev);
}

static void test_blind_collector_judges_nothing(void **state)
{
    struct fx *fx = *state;
    connection(fx, COL_EV_CONNECTED, 0);
    heartbeat(fx, "a1", "bot-1", true, 0);
    heartbeat(fx, "a1", "bot-1", true, 20 * S); /* due at 50 s */
    connection(fx, COL_EV_DISCONNECTED, 21 * S);
    tick(fx, 21 * S);
    /* blind: the bot's deadline (50 s) does not wake the loop; only hourly stats do */
    assert_true(col_engine_next_deadline(fx->e) > T0 + 300 * S);
    tick(fx, 300 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    connection(fx, COL_EV_CONNECTED, 300 * S);
    /* the 279 s we could not see are not held against the bot: it still has the 29 s it had
     * when we went blind */
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 329 * S);
    tick(fx, 328 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    tick(fx, 329 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_DOWN);
}

static void test_silence_during_grace_is_judged_when_it_ends(void **state)
{
    struct fx *fx = *state;
    heartbeat(fx, "a1", "bot-1", true, 0);
    connection(fx, COL_EV_DISCONNECTED, 1 * S);
    connection(fx, COL_EV_CONNECTED, 100 * S);                /* grace until 105 s */
    tick(fx, 100 * S + 29 * S - 1);                           /* 29 s credit: due at 129 s */
    heartbeat(fx, "a1", "bot-2", true, 100 * S);              /* a new bot, due at 130 s */
    heartbeat_every(fx, "a1", "bot-3", true, 1 * S, 100 * S); /* due at 103 s, then silent */
    tick(fx, 104 * S);
    assert_int_equal(bot(fx, "bot-3")->status, COL_ST_HEALTHY); /* held by the grace */
    tick(fx, 105 * S);
    assert_int_equal(bot(fx, "bot-3")->status, COL_ST_DOWN);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    assert_int_equal(bot(fx, "bot-2")->status, COL_ST_HEALTHY);
}

static void test_offline_during_grace_waits_for_online(void **state)
{
    struct fx *fx = *state;
    agent_state(fx, "a1", "h", true, "bot-1", "acct", 0);
    heartbeat(fx, "a1", "bot-1", true, 0);
    connection(fx, COL_EV_DISCONNECTED, 1 * S);
    connection(fx, COL_EV_CONNECTED, 3 * S);
    /* the broker fired the agent's Will while it restarted; the agent is back 2 s later */
    agent_state(fx, "a1", "h", false, "bot-1", "acct", 3 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    agent_state(fx, "a1", "h", true, "bot-1", "acct", 5 * S);
    heartbeat(fx, "a1", "bot-1", true, 5 * S);
    tick(fx, 9 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    /* a second agent whose Will is real: down when the grace ends, not before */
    agent_state(fx, "a2", "h", true, "bot-2", "acct", 0);
    heartbeat(fx, "a2", "bot-2", true, 6 * S);
    agent_state(fx, "a2", "h", false, "bot-2", "acct", 7 * S);
    assert_int_equal(bot(fx, "bot-2")->status, COL_ST_HEALTHY);
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 8 * S);
    tick(fx, 8 * S);
    assert_int_equal(bot(fx, "bot-2")->status, COL_ST_DOWN);
    assert_string_equal(bot(fx, "bot-2")->reason, "agent offline");
    /* after the grace, a Will counts at once */
    agent_state(fx, "a1", "h", false, "bot-1", "acct", 10 * S);
    assert_int_equal(bot(fx, "bot-1")->status, COL_ST_DOWN);
}

/* A heartbeat carrying signals: the loop's last tick and a maintenance end, both Unix ms. */
static void heartbeat_signals(struct fx *fx, const char *bot, bool alive, int64_t at,
                              int64_t tick_at, int64_t maint_until)
{
    struct col_event ev;
    header(fx, &ev, BP_MSG_HEARTBEAT, "a1", bot, at);
    struct bp_heartbeat *hb = &ev.msg.u.heartbeat;
    hb->interval_ms = 10 * S;
    hb->proc.alive = alive;
    hb->has_signals = true;
    hb->signals = (struct bp_hb_signals){.tick_ts = W0 + tick_at,
                                         .positions = -1,
                                         .orders = -1,
                                         .maintenance_until = maint_until ? W0 + maint_until : 0};
    col_engine_handle(fx->e, &ev);
}

static void test_silent_loop_goes_hung_at_its_deadline(void **state)
{
    struct fx *fx = *state;
    fx->cfg.limits.tick_timeout_ms = 20 * S;
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    heartbeat_signals(fx, "bot-1", true, 0, 0, 0);
    trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = bot(fx, "bot-1");
    assert_int_equal(b->status, COL_ST_HEALTHY);
    tick(fx, 0);
    heartbeat_signals(fx, "bot-1", true, 10 * S, 0, 0); /* alive, but the tick is from 0 */
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 20 * S);
    tick(fx, 20 * S - 1);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    tick(fx, 20 * S);
    assert_int_equal(b->status, COL_ST_HUNG);
    assert_string_equal(b->check, "loop");
    assert_true(has_alert(b));
    assert_int_equal(worst(b)->severity, COL_SEV_CRITICAL);
    heartbeat_signals(fx, "bot-1", true, 25 * S, 25 * S, 0); /* it ticks again */
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(has_alert(b));
}

static void test_maintenance_holds_the_alert_until_it_ends(void **state)
{
    struct fx *fx = *state;
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    heartbeat_signals(fx, "bot-1", true, 0, 0, 45 * S); /* maintenance for 45 s */
    trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = bot(fx, "bot-1");
    heartbeat_signals(fx, "bot-1", false, 10 * S, 0, 45 * S); /* the bot is stopped */
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_int_equal(b->severity, COL_SEV_NONE);
    assert_false(has_alert(b));
    heartbeat_signals(fx, "bot-1", false, 20 * S, 0, 45 * S);
    heartbeat_signals(fx, "bot-1", false, 30 * S, 0, 45 * S);
    heartbeat_signals(fx, "bot-1", false, 40 * S, 0, 45 * S);
    tick(fx, 40 * S);
    assert_false(has_alert(b));
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 45 * S); /* woken at its end */
    tick(fx, 45 * S);
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_true(has_alert(b));
    assert_int_equal(worst(b)->severity, COL_SEV_CRITICAL);
}

static void stats(struct fx *fx, const char *bot, double disk_pct, int64_t at)
{
    struct col_event ev;
    header(fx, &ev, BP_MSG_STATS, "a1", bot, at);
    ev.msg.u.stats = (struct bp_stats){.proc_cpu_pct = 1,
                                       .proc_rss_kb = 1000,
                                       .host_cpu_pct = 5,
                                       .host_mem_pct = 10,
                                       .host_disk_pct = disk_pct};
    col_engine_handle(fx->e, &ev);
}

/* Two checks failing at once are two alerts, each with its own id, each resolved by its own
 * check; a silence on one check leaves the other loud. */
static void test_each_failing_check_has_its_own_alert(void **state)
{
    struct fx *fx = *state;
    struct col_silence sl = {.id = "s1",
                             .bot = "bot-1",
                             .check = "resources",
                             .reason = "disk cleanup",
                             .created_by = "ops",
                             .ends_at = W0 + 3600 * S};
    assert_int_equal(col_engine_restore_silence(fx->e, &sl, T0, W0), 0);
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    heartbeat(fx, "a1", "bot-1", true, 0);
    trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = bot(fx, "bot-1");
    for (int64_t t = 1 * S; t <= 3 * S; t += S) /* disk 97 %: confirmed at the third sample */
        stats(fx, "bot-1", 97, t);
    assert_int_equal(b->status, COL_ST_DEGRADED);
    assert_int_equal(b->alerts.n, 1);
    const struct col_alert *res = col_alerts_find(&b->alerts, "resources");
    assert_non_null(res);
    assert_int_equal(res->severity, COL_SEV_CRITICAL);
    assert_false(res->announced); /* silenced: stored, not told */
    char res_id[COL_ALERT_ID_MAX + 1];
    snprintf(res_id, sizeof(res_id), "%s", res->id);
    /* no trade for a minute: trading fails too, and the bot's status is stale */
    for (int64_t t = 10 * S; t <= 61 * S; t += 10 * S) {
        heartbeat(fx, "a1", "bot-1", true, t);
        stats(fx, "bot-1", 97, t);
        tick(fx, t + 1 * S);
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
    assert_string_equal(worst(b)->check, "resources"); /* the critical one speaks for it */
    /* the disk is cleaned: resources resolves, trading stays */
    stats(fx, "bot-1", 40, 65 * S);
    assert_int_equal(b->alerts.n, 1);
    assert_null(col_alerts_find(&b->alerts, "resources"));
    assert_non_null(col_alerts_find(&b->alerts, "trading"));
    /* a trade: trading resolves, the bot is healthy */
    trade(fx, "a1", "bot-1", 66 * S, 66 * S);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(has_alert(b));
}

/* A flap is a change of status word: a resource alarm confirmed (degraded without alert, then
 * degraded with one) is one change, not two. */
static void test_confirmed_alarm_is_not_a_flap(void **state)
{
    struct fx *fx = *state;
    fx->cfg.flap = (struct col_flap_limits){.changes = 2, .window_ms = 60 * S};
    agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    heartbeat(fx, "a1", "bot-1", true, 0);
    trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = bot(fx, "bot-1");
    for (int64_t t = 1 * S; t <= 3 * S; t += S)
        stats(fx, "bot-1", 97, t); /* healthy -> degraded (1), then its alert at the third */
    assert_int_equal(b->status, COL_ST_DEGRADED);
    assert_int_equal(b->severity, COL_SEV_CRITICAL);
    assert_false(b->flap.flapping);
    assert_non_null(col_alerts_find(&b->alerts, "resources"));
    stats(fx, "bot-1", 40, 4 * S); /* -> healthy (2): now it flaps */
    assert_true(b->flap.flapping);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_heartbeat_timeout_goes_down_at_deadline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_last_will_downs_every_bot_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_dead_is_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restored_flapping_alert_resolves_at_first_verdict,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_restored_recovery_alert_waits_for_a_working_bot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_each_failing_check_has_its_own_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirmed_alarm_is_not_a_flap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_then_stopped_then_trade_resolves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_late_trade_counts_from_its_own_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_alert_repeats_until_resolved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_learned_cadence_stretches_staleness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bots_failing_together_make_one_incident, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failures_far_apart_are_no_incident, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flapping_bot_alerts_once_then_settles, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_skewed_agent_clock_neither_hides_nor_invents_staleness,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_repeat_when_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restored_alert_is_kept_then_resolved_by_its_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restored_warning_escalates_and_silent_bot_goes_down,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_counts_follow_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blind_collector_judges_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_during_grace_is_judged_when_it_ends, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_offline_during_grace_waits_for_online, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_loop_goes_hung_at_its_deadline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_maintenance_holds_the_alert_until_it_ends, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
