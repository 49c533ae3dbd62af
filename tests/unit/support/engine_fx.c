/* SPDX-License-Identifier: MIT */
/* The engine's unit-test fixture: settings, recorder, engine, and the messages tests feed it. */
#include "engine_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

void efx_settings(struct col_settings *cfg, int64_t stale_ms, int64_t stopped_ms)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->id, sizeof(cfg->id), "c1");
    snprintf(cfg->topic_root, sizeof(cfg->topic_root), ROOT);
    cfg->heartbeat_misses = 3;
    cfg->limits = (struct col_rule_limits){.heartbeat_misses = 3,
                                           .trade_stale_ms = stale_ms,
                                           .trade_stopped_ms = stopped_ms,
                                           .cpu = {80, 95},
                                           .mem = {80, 90},
                                           .disk = {85, 95},
                                           .confirm = 3};
    cfg->summary_interval_ms = 1000;
    cfg->sample_interval_ms = 60000;
    cfg->stats_interval_ms = 3600000; /* keep stats deadlines out of the way */
}

void efx_start(struct efx *fx, int64_t stale_ms, int64_t stopped_ms)
{
    memset(fx, 0, sizeof(*fx));
    efx_settings(&fx->cfg, stale_ms, stopped_ms);
    fx->said = recorder_new(ROOT, fx->cfg.id);
    assert_int_equal(col_engine_new(&fx->cfg, &fx->said->base, NULL, &fx->e), 0);
}

void efx_stop(struct efx *fx)
{
    col_engine_free(fx->e);
    recorder_free(fx->said);
}

int efx_setup(void **state)
{
    static struct efx fx;
    efx_start(&fx, 60 * S, 120 * S);
    fx.cfg.reconnect_grace_ms = 5 * S;
    *state = &fx;
    return 0;
}

int efx_teardown(void **state)
{
    efx_stop(*state);
    return 0;
}

void efx_header(struct efx *fx, struct col_event *ev, enum bp_msg_type type, const char *agent,
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

/* An agent's state listing one bot with its labels. */
static void agent_with(struct efx *fx, const char *agent, const char *host, bool online,
                       const char *bot, const char *account, const char *exchange, int64_t at)
{
    struct col_event ev;
    efx_header(fx, &ev, BP_MSG_AGENT_STATE, agent, "", at);
    struct bp_agent_state *st = &ev.msg.u.agent_state;
    st->online = online;
    snprintf(st->host, sizeof(st->host), "%s", host);
    st->heartbeat_ms = 10 * S;
    st->nbots = 1;
    snprintf(st->bots[0].id, sizeof(st->bots[0].id), "%s", bot);
    snprintf(st->bots[0].account, sizeof(st->bots[0].account), "%s", account);
    snprintf(st->bots[0].exchange, sizeof(st->bots[0].exchange), "%s", exchange);
    col_engine_handle(fx->e, &ev);
}

void efx_agent_state(struct efx *fx, const char *agent, const char *host, bool online,
                     const char *bot, const char *account, int64_t at)
{
    agent_with(fx, agent, host, online, bot, account, "", at);
}

void efx_bot_on(struct efx *fx, const char *agent, const char *bot, const char *exchange,
                int64_t at)
{
    char host[80];
    snprintf(host, sizeof(host), "host-%s", agent);
    agent_with(fx, agent, host, true, bot, "", exchange, at);
    efx_heartbeat(fx, agent, bot, true, at);
    efx_trade(fx, agent, bot, at, at);
}

void efx_heartbeat_every(struct efx *fx, const char *agent, const char *bot, bool alive,
                         int64_t interval, int64_t at)
{
    struct col_event ev;
    efx_header(fx, &ev, BP_MSG_HEARTBEAT, agent, bot, at);
    ev.msg.u.heartbeat.interval_ms = interval;
    ev.msg.u.heartbeat.proc.alive = alive;
    ev.msg.u.heartbeat.proc.pid = alive ? 100 : 0;
    col_engine_handle(fx->e, &ev);
}

void efx_heartbeat(struct efx *fx, const char *agent, const char *bot, bool alive, int64_t at)
{
    efx_heartbeat_every(fx, agent, bot, alive, 10 * S, at);
}

void efx_trade(struct efx *fx, const char *agent, const char *bot, int64_t at, int64_t trade_at)
{
    struct col_event ev;
    efx_header(fx, &ev, BP_MSG_TRADE, agent, bot, at);
    ev.msg.u.trade.trade_ts = W0 + trade_at;
    col_engine_handle(fx->e, &ev);
}

void efx_stats(struct efx *fx, const char *bot, double disk_pct, int64_t at)
{
    struct col_event ev;
    efx_header(fx, &ev, BP_MSG_STATS, "a1", bot, at);
    ev.msg.u.stats = (struct bp_stats){.proc_cpu_pct = 1,
                                       .proc_rss_kb = 1000,
                                       .host_cpu_pct = 5,
                                       .host_mem_pct = 10,
                                       .host_disk_pct = disk_pct};
    col_engine_handle(fx->e, &ev);
}

void efx_connection(struct efx *fx, enum col_event_kind kind, int64_t at)
{
    struct col_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.recv_mono = T0 + at;
    ev.recv_wall = W0 + at;
    col_engine_handle(fx->e, &ev);
}

void efx_echo(struct efx *fx, int64_t sent_at, int64_t at)
{
    struct col_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = COL_EV_ECHO;
    ev.echo_sent_mono = T0 + sent_at;
    ev.recv_mono = T0 + at;
    ev.recv_wall = W0 + at;
    col_engine_judge(fx->e, ev.recv_mono, ev.recv_wall); /* as the loop does before each event */
    col_engine_handle(fx->e, &ev);
    col_engine_judge(fx->e, ev.recv_mono, ev.recv_wall); /* and after, when nothing else waits */
}

void efx_tick(struct efx *fx, int64_t at)
{
    col_engine_tick(fx->e, T0 + at, W0 + at);
}

struct col_query *efx_ask(struct efx *fx, struct col_query *qr, int64_t at)
{
    qr->refs++; /* the queue's, dropped by col_query_finish */
    struct col_event ev = {.kind = COL_EV_QUERY, .recv_mono = T0 + at, .recv_wall = W0 + at};
    ev.query = qr;
    col_engine_handle(fx->e, &ev);
    assert_true(qr->done);
    return qr;
}

const struct col_bot *efx_bot(struct efx *fx, const char *id)
{
    const struct col_bot *b = col_strmap_get(col_engine_fleet(fx->e)->bots, id);
    assert_non_null(b);
    return b;
}

const struct col_alert *efx_worst(const struct col_bot *b)
{
    return col_alerts_worst(&b->alerts);
}

bool efx_has_alert(const struct col_bot *b)
{
    return b->alerts.n > 0;
}
