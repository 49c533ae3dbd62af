/* SPDX-License-Identifier: MIT */
/* The rules thread on a fake clock, liveness: a silent bot down at its deadline, an agent's
 * Will, a dead process, a silent loop, a declared maintenance, and our own broker connection
 * lost and back; each with what the engine said (statuses, alerts, rows). */
#include "engine_fx.h"

#include "clock.h"
#include "ingest.h"
#include "queue.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

static void test_heartbeat_timeout_goes_down_at_deadline(void **state)
{
    struct efx *fx = *state;
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_trade(fx, "a1", "bot-1", 0, 0);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    const struct said *st = expect_said(fx->said, ROOT "/status/bot-1", NULL);
    assert_string_equal(st->payload,
                        "{\"v\":1,\"type\":\"status\",\"ts\":1700000000000,\"bot\":\"bot-1\","
                        "\"agent\":\"a1\",\"account\":\"acct\",\"exchange\":\"\",\"host\":"
                        "\"host-1\",\"status\":\"healthy\",\"check\":\"\",\"reason\":\"alive; "
                        "no trade yet\",\"since\":1700000000000,\"last_heartbeat\":"
                        "1700000000000,\"last_trade\":0}");
    assert_true(st->retain);
    assert_int_equal(st->qos, 1);
    efx_tick(fx, 0); /* first summary and stats */
    expect_said(fx->said, ROOT "/fleet/summary", "total=1", "by_status.healthy=1",
                "by_account.acct.total=1", "by_host.host-1.total=1", NULL);
    expect_said(fx->said, ROOT "/collector/stats", "collector=c1", "bots=1", NULL);
    recorder_clear(fx->said);
    /* the engine sleeps until exactly the heartbeat deadline: 3 x 10 s */
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 30 * S);
    efx_tick(fx, 29 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    expect_silent(fx->said, "#");
    efx_tick(fx, 30 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_DOWN);
    assert_true(efx_has_alert(efx_bot(fx, "bot-1")));
    assert_int_equal(efx_worst(efx_bot(fx, "bot-1"))->severity, COL_SEV_CRITICAL);
    expect_said(fx->said, ROOT "/status/bot-1", "status=down", "check=liveness",
                "since=1700000030000", "last_heartbeat=1700000000000", NULL);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "type=alert", "event=opened",
                "severity=critical", "check=liveness", "status=down", "agent=a1",
                "opened_at=1700000030000", "ts=1700000030000", NULL);
    const struct col_store_op *tr = expect_row(fx->said, COL_OP_TRANSITION);
    assert_string_equal(tr->u.transition.from_status, "healthy");
    assert_string_equal(tr->u.transition.to_status, "down");
    assert_string_equal(tr->u.transition.check, "liveness");
    assert_string_equal(expect_row(fx->said, COL_OP_ALERT)->u.alert.event, "opened");
    assert_int_equal(expect_row(fx->said, COL_OP_BOT)->u.bot.status, COL_ST_DOWN);
    recorder_clear(fx->said);
    efx_heartbeat(fx, "a1", "bot-1", true, 31 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    assert_false(efx_has_alert(efx_bot(fx, "bot-1")));
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=resolved", "check=liveness",
                "status=healthy", NULL);
    expect_said(fx->said, ROOT "/status/bot-1", "status=healthy", "since=1700000031000", NULL);
}

static void test_last_will_downs_every_bot_at_once(void **state)
{
    struct efx *fx = *state;
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    efx_agent_state(fx, "a1", "host-1", true, "bot-2", "acct", 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_heartbeat(fx, "a1", "bot-2", true, 0);
    recorder_clear(fx->said);
    efx_agent_state(fx, "a1", "host-1", false, "bot-1", "acct", 1 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_DOWN);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_DOWN);
    assert_string_equal(efx_bot(fx, "bot-2")->reason, "agent offline");
    const struct col_fleet *f = col_engine_fleet(fx->e);
    assert_int_equal(f->all.by_status[COL_ST_DOWN], 2);
    const struct col_group *g = col_strmap_get(f->hosts, "host-1");
    assert_non_null(g);
    assert_int_equal(g->by_status[COL_ST_DOWN], 2);
    expect_said(fx->said, ROOT "/status/bot-1", "status=down", "reason=agent offline", NULL);
    expect_said(fx->said, ROOT "/status/bot-2", "status=down", "reason=agent offline", NULL);
    assert_int_equal(said_count(fx->said, ROOT "/alerts/critical/#"), 2);
    const struct col_store_op *agent = expect_row(fx->said, COL_OP_AGENT);
    assert_string_equal(agent->u.agent.agent, "a1");
    assert_false(agent->u.agent.online);
    efx_tick(fx, 2 * S); /* one summary for both */
    assert_int_equal(said_count(fx->said, ROOT "/fleet/summary"), 1);
    expect_said(fx->said, ROOT "/fleet/summary", "total=2", "by_status.down=2", NULL);
}

static void test_process_dead_is_stopped(void **state)
{
    struct efx *fx = *state;
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_heartbeat(fx, "a1", "bot-1", false, 10 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_STOPPED);
    assert_string_equal(efx_bot(fx, "bot-1")->check, "process");
    expect_said(fx->said, ROOT "/status/bot-1", "status=stopped", "check=process", NULL);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=opened", "check=process", NULL);
}

static void test_blind_collector_judges_nothing(void **state)
{
    struct efx *fx = *state;
    efx_connection(fx, COL_EV_CONNECTED, 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 20 * S); /* due at 50 s */
    efx_connection(fx, COL_EV_DISCONNECTED, 21 * S);
    efx_tick(fx, 21 * S);
    recorder_clear(fx->said);
    /* blind: the bot's deadline (50 s) does not wake the loop; only hourly stats do */
    assert_true(col_engine_next_deadline(fx->e) > T0 + 300 * S);
    efx_tick(fx, 300 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    expect_silent(fx->said, "#");
    efx_connection(fx, COL_EV_CONNECTED, 300 * S);
    /* the 279 s we could not see are not held against the bot: it still has the 29 s it had
     * when we went blind */
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 329 * S);
    efx_tick(fx, 328 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    expect_silent(fx->said, "#");
    efx_tick(fx, 329 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_DOWN);
    expect_said(fx->said, ROOT "/status/bot-1", "status=down", "since=1700000329000", NULL);
}

static void test_silence_during_grace_is_judged_when_it_ends(void **state)
{
    struct efx *fx = *state;
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_connection(fx, COL_EV_DISCONNECTED, 1 * S);
    efx_connection(fx, COL_EV_CONNECTED, 100 * S);                /* grace until 105 s */
    efx_tick(fx, 100 * S + 29 * S - 1);                           /* 29 s credit: due at 129 s */
    efx_heartbeat(fx, "a1", "bot-2", true, 100 * S);              /* a new bot, due at 130 s */
    efx_heartbeat_every(fx, "a1", "bot-3", true, 1 * S, 100 * S); /* due at 103 s, then silent */
    recorder_clear(fx->said);
    efx_tick(fx, 104 * S);
    assert_int_equal(efx_bot(fx, "bot-3")->status, COL_ST_HEALTHY); /* held by the grace */
    expect_silent(fx->said, ROOT "/status/#");
    efx_tick(fx, 105 * S);
    assert_int_equal(efx_bot(fx, "bot-3")->status, COL_ST_DOWN);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_HEALTHY);
    expect_said(fx->said, ROOT "/status/bot-3", "status=down", NULL);
    assert_int_equal(said_count(fx->said, ROOT "/status/#"), 1);
}

static void test_offline_during_grace_waits_for_online(void **state)
{
    struct efx *fx = *state;
    efx_agent_state(fx, "a1", "h", true, "bot-1", "acct", 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_connection(fx, COL_EV_DISCONNECTED, 1 * S);
    efx_connection(fx, COL_EV_CONNECTED, 3 * S);
    recorder_clear(fx->said);
    /* the broker fired the agent's Will while it restarted; the agent is back 2 s later */
    efx_agent_state(fx, "a1", "h", false, "bot-1", "acct", 3 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    efx_agent_state(fx, "a1", "h", true, "bot-1", "acct", 5 * S);
    efx_heartbeat(fx, "a1", "bot-1", true, 5 * S);
    efx_tick(fx, 9 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    expect_silent(fx->said, ROOT "/status/#");
    expect_silent(fx->said, ROOT "/alerts/#");
    /* a second agent whose Will is real: down when the grace ends, not before */
    efx_agent_state(fx, "a2", "h", true, "bot-2", "acct", 0);
    efx_heartbeat(fx, "a2", "bot-2", true, 6 * S);
    efx_agent_state(fx, "a2", "h", false, "bot-2", "acct", 7 * S);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_HEALTHY);
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 8 * S);
    recorder_clear(fx->said);
    efx_tick(fx, 8 * S);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_DOWN);
    assert_string_equal(efx_bot(fx, "bot-2")->reason, "agent offline");
    expect_said(fx->said, ROOT "/status/bot-2", "status=down", "reason=agent offline", NULL);
    assert_false(expect_row(fx->said, COL_OP_AGENT)->u.agent.online); /* a2, offline after all */
    /* after the grace, a Will counts at once */
    efx_agent_state(fx, "a1", "h", false, "bot-1", "acct", 10 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_DOWN);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=opened", "check=liveness", NULL);
}

/* A Will held in the grace after our first connect, and then the broker goes away with us
 * blind past the grace's end: the Will waits for the grace that starts when we are back, as
 * everything else about liveness does, instead of being judged while nothing can reach us. */
static void test_grace_does_not_end_while_blind(void **state)
{
    struct efx *fx = *state;
    efx_connection(fx, COL_EV_CONNECTED, 0); /* grace until 5 s */
    efx_agent_state(fx, "a1", "h", true, "bot-1", "acct", 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_agent_state(fx, "a2", "h", true, "bot-2", "acct", 0);
    efx_heartbeat(fx, "a2", "bot-2", true, 0);
    efx_agent_state(fx, "a1", "h", false, "bot-1", "acct", 1 * S); /* the broker stopping */
    efx_agent_state(fx, "a2", "h", false, "bot-2", "acct", 1 * S);
    efx_connection(fx, COL_EV_DISCONNECTED, 1 * S);
    recorder_clear(fx->said);
    efx_tick(fx, 6 * S); /* the first grace is over, and we are blind */
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_HEALTHY);
    expect_silent(fx->said, ROOT "/status/#");
    efx_connection(fx, COL_EV_CONNECTED, 7 * S);                  /* a new grace, until 12 s */
    efx_agent_state(fx, "a1", "h", true, "bot-1", "acct", 8 * S); /* a1 is back; a2 is not */
    efx_heartbeat(fx, "a1", "bot-1", true, 8 * S);
    efx_tick(fx, 11 * S);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_HEALTHY);
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 12 * S);
    efx_tick(fx, 12 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_DOWN);
    expect_said(fx->said, ROOT "/status/bot-2", "status=down", "reason=agent offline",
                "since=1700000012000", NULL);
    assert_int_equal(said_count(fx->said, ROOT "/status/bot-1"), 0);
}

/* A heartbeat carrying signals: the loop's last tick and a maintenance end, both Unix ms. */
static void heartbeat_signals(struct efx *fx, const char *bot, bool alive, int64_t at,
                              int64_t tick_at, int64_t maint_until)
{
    struct col_event ev;
    efx_header(fx, &ev, BP_MSG_HEARTBEAT, "a1", bot, at);
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
    struct efx *fx = *state;
    fx->cfg.limits.tick_timeout_ms = 20 * S;
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    heartbeat_signals(fx, "bot-1", true, 0, 0, 0);
    efx_trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_int_equal(b->status, COL_ST_HEALTHY);
    efx_tick(fx, 0);
    heartbeat_signals(fx, "bot-1", true, 10 * S, 0, 0); /* alive, but the tick is from 0 */
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 20 * S);
    efx_tick(fx, 20 * S - 1);
    assert_int_equal(b->status, COL_ST_HEALTHY);
    recorder_clear(fx->said);
    efx_tick(fx, 20 * S);
    assert_int_equal(b->status, COL_ST_HUNG);
    assert_string_equal(b->check, "loop");
    assert_true(efx_has_alert(b));
    assert_int_equal(efx_worst(b)->severity, COL_SEV_CRITICAL);
    expect_said(fx->said, ROOT "/status/bot-1", "status=hung", "check=loop", NULL);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=opened", "check=loop", NULL);
    heartbeat_signals(fx, "bot-1", true, 25 * S, 25 * S, 0); /* it ticks again */
    assert_int_equal(b->status, COL_ST_HEALTHY);
    assert_false(efx_has_alert(b));
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=resolved", "check=loop", NULL);
}

static void test_maintenance_holds_the_alert_until_it_ends(void **state)
{
    struct efx *fx = *state;
    efx_agent_state(fx, "a1", "host-1", true, "bot-1", "acct", 0);
    heartbeat_signals(fx, "bot-1", true, 0, 0, 45 * S); /* maintenance for 45 s */
    efx_trade(fx, "a1", "bot-1", 0, 0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    heartbeat_signals(fx, "bot-1", false, 10 * S, 0, 45 * S); /* the bot is stopped */
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_int_equal(b->severity, COL_SEV_NONE);
    assert_false(efx_has_alert(b));
    expect_said(fx->said, ROOT "/status/bot-1", "status=stopped", NULL);
    heartbeat_signals(fx, "bot-1", false, 20 * S, 0, 45 * S);
    heartbeat_signals(fx, "bot-1", false, 30 * S, 0, 45 * S);
    heartbeat_signals(fx, "bot-1", false, 40 * S, 0, 45 * S);
    efx_tick(fx, 40 * S);
    assert_false(efx_has_alert(b));
    expect_silent(fx->said, ROOT "/alerts/#");
    assert_int_equal(rows_count(fx->said, COL_OP_ALERT), 0);
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 45 * S); /* woken at its end */
    efx_tick(fx, 45 * S);
    assert_int_equal(b->status, COL_ST_STOPPED);
    assert_true(efx_has_alert(b));
    assert_int_equal(efx_worst(b)->severity, COL_SEV_CRITICAL);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=opened", "check=process",
                "ts=1700000045000", NULL);
}

/* Messages dropped for a full rules queue are heartbeats the engine never saw: it judges no
 * liveness until the drops stop and the queue drains, then credits every bot the time, as
 * after a broker reconnect. */
static void test_dropped_messages_make_it_blind(void **state)
{
    struct efx *fx = *state;
    efx_connection(fx, COL_EV_CONNECTED, 0);
    efx_heartbeat_every(fx, "a1", "bot-1", true, 1 * S, 10 * S); /* due at 13 s */
    efx_heartbeat_every(fx, "a1", "bot-2", true, 1 * S, 10 * S);
    col_engine_note_drops(fx->e, 40, 900, 1000, T0 + 11 * S, W0 + 11 * S);
    efx_tick(fx, 20 * S);
    recorder_clear(fx->said);
    efx_tick(fx, 30 * S); /* 20 s without a heartbeat seen: but some were dropped */
    expect_silent(fx->said, ROOT "/status/#");
    col_engine_note_drops(fx->e, 40, 900, 1000, T0 + 31 * S, W0 + 31 * S); /* still full */
    col_engine_note_drops(fx->e, 40, 10, 1000, T0 + 32 * S, W0 + 32 * S);  /* drained, calm */
    efx_heartbeat_every(fx, "a1", "bot-1", true, 1 * S, 33 * S);           /* bot-1 reports in */
    /* bot-2 had 2 s left when we stopped seeing (due at 13 s): credited the 21 s blind, it is
     * due at 34 s, which falls in the grace after we see again (5 s, to 37 s) */
    efx_tick(fx, 36 * S + 500);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_HEALTHY);
    efx_heartbeat_every(fx, "a1", "bot-1", true, 1 * S, 36 * S + 500);
    efx_tick(fx, 37 * S);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_DOWN);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
}

struct loop {
    struct col_engine *e;
    struct bp_queue *q;
    volatile sig_atomic_t stop;
};

/* A cut between us and the broker that no FIN announces: the connection looks up, nothing
 * comes. Our echo stops coming back, so the bots' deadlines wait for it, and once it has been
 * gone for echo_timeout we are blind: the time we could not see is not held against a bot. */
static void test_a_silent_cut_is_blindness_not_silence(void **state)
{
    struct efx *fx = *state;
    fx->cfg.mqtt_echo_timeout_ms = 2 * S;
    efx_connection(fx, COL_EV_CONNECTED, 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 20 * S); /* due at 50 s */
    for (int64_t t = 0; t <= 45; t++)
        efx_echo(fx, t * S, t * S);
    efx_tick(fx, 45 * S);
    recorder_clear(fx->said);
    /* the cut: no echo after 45 s. Blind 2 s later, from when the last echo was sent. */
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 47 * S + 1);
    efx_tick(fx, 47 * S + 1);
    efx_tick(fx, 50 * S); /* the bot's deadline, unseen */
    efx_tick(fx, 100 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    expect_silent(fx->said, "#");
    efx_tick(fx, 3645 * S); /* the hourly stats say why */
    expect_said(fx->said, ROOT "/collector/stats", "blind=true", "echo_lost=true", "echo_losses=1",
                NULL);
    recorder_clear(fx->said);
    /* healed: the 3600 s we could not see are credited; the bot keeps the 5 s it had */
    for (int64_t t = 3645; t <= 3649; t++)
        efx_echo(fx, t * S, t * S);
    efx_tick(fx, 3650 * S); /* its deadline, but no echo sent after it is back yet */
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    expect_silent(fx->said, "status/#");
    /* still silent: down, once an echo sent after its deadline is back */
    efx_echo(fx, 3650 * S + 100, 3650 * S + 101);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_DOWN);
    expect_said(fx->said, ROOT "/status/bot-1", "status=down", "check=liveness", NULL);
}

/* While the echo comes back, a silent bot is down as soon as an echo sent after its deadline
 * is back (its heartbeat did not wait anywhere), and the loop sleeps until that echo wakes it
 * instead of spinning on a deadline it may not judge yet. */
static void test_silence_is_judged_once_an_echo_comes_after_it(void **state)
{
    struct efx *fx = *state;
    fx->cfg.mqtt_echo_timeout_ms = 2 * S;
    efx_connection(fx, COL_EV_CONNECTED, 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0); /* due at 30 s */
    efx_echo(fx, 29 * S + 900, 29 * S + 901);
    efx_tick(fx, 30 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    /* nothing to do before the echo could be lost */
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 31 * S + 902);
    efx_echo(fx, 30 * S + 50, 30 * S + 51);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_DOWN);
    assert_false(col_engine_fleet(fx->e)->all.by_status[COL_ST_HEALTHY]);
}

static int echo_asks;
static void count_ask(void *ctx)
{
    (void)ctx;
    echo_asks++;
}

/* A deadline that waits for an echo asks for one at once, so the verdict waits a round trip,
 * not an echo interval; one ask until an echo sent after it is back. */
static void test_a_due_deadline_asks_for_an_echo(void **state)
{
    struct efx *fx = *state;
    fx->cfg.mqtt_echo_timeout_ms = 2 * S;
    echo_asks = 0;
    col_engine_on_echo_request(fx->e, count_ask, NULL);
    efx_connection(fx, COL_EV_CONNECTED, 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0); /* due at 30 s */
    efx_echo(fx, 29 * S + 900, 29 * S + 901);
    efx_tick(fx, 29 * S + 950);
    assert_int_equal(echo_asks, 0); /* nothing due yet */
    efx_tick(fx, 30 * S);
    assert_int_equal(echo_asks, 1);
    efx_tick(fx, 30 * S + 1);
    assert_int_equal(echo_asks, 1); /* the one asked for is not back yet */
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    efx_echo(fx, 30 * S, 30 * S + 1); /* it comes back a round trip later */
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_DOWN);
    assert_int_equal(echo_asks, 1);
}

static void *run_loop(void *arg)
{
    struct loop *l = arg;
    col_engine_run(l->e, l->q, &l->stop);
    return NULL;
}

/* A heartbeat received at `ago` ms before now, as the rules thread's queue holds it. */
static struct col_event *heartbeat_received(struct efx *fx, const char *bot, int64_t ago)
{
    struct col_event *ev = calloc(1, sizeof(*ev));
    efx_header(fx, ev, BP_MSG_HEARTBEAT, "a1", bot, 0);
    ev->recv_mono = bp_mono_ms() - ago;
    ev->recv_wall = bp_wall_ms() - ago;
    ev->msg.u.heartbeat.interval_ms = 1 * S;
    ev->msg.u.heartbeat.proc.alive = true;
    ev->msg.u.heartbeat.proc.pid = 100;
    return ev;
}

/* The rules thread 9 s behind: heartbeats that waited in its queue were received in time, so
 * the loop judges each deadline at the receive time of the next message, not at its own late
 * "now": no bot is declared down for the thread's own lag. */
static void test_a_backlog_is_no_missed_heartbeat(void **state)
{
    struct efx *fx = *state;
    struct col_event *first = heartbeat_received(fx, "bot-1", 9 * S); /* due 6 s ago */
    col_engine_handle(fx->e, first);
    free(first);
    struct bp_queue *q = bp_queue_new(64);
    for (int i = 8; i >= 0; i--) /* one a second, the newest 0.1 s ago, all still queued */
        assert_int_equal(bp_queue_push(q, heartbeat_received(fx, "bot-1", i * S + 100)), 0);
    recorder_clear(fx->said);
    struct loop l = {fx->e, q, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_loop, &l), 0);
    for (int i = 0; i < 200 && bp_queue_len(q) > 0; i++)
        bp_sleep_ms(10);
    bp_sleep_ms(100); /* its turn after the last one */
    l.stop = 1;
    bp_queue_wake(q);
    pthread_join(t, NULL);
    bp_queue_free(q, col_event_free);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    expect_silent(fx->said, ROOT "/status/#"); /* never down, not even for a moment */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_heartbeat_timeout_goes_down_at_deadline, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_last_will_downs_every_bot_at_once, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_process_dead_is_stopped, efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_blind_collector_judges_nothing, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_silence_during_grace_is_judged_when_it_ends, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_offline_during_grace_waits_for_online, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_dropped_messages_make_it_blind, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_a_backlog_is_no_missed_heartbeat, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_grace_does_not_end_while_blind, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_silent_loop_goes_hung_at_its_deadline, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_maintenance_holds_the_alert_until_it_ends, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_a_silent_cut_is_blindness_not_silence, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_silence_is_judged_once_an_echo_comes_after_it,
                                        efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_a_due_deadline_asks_for_an_echo, efx_setup,
                                        efx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
