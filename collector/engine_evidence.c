/* SPDX-License-Identifier: MIT */
/* What each message says about a bot: agents' states, heartbeats, stats, trades, commands'
 * results, and our own broker connection coming and going. */
#include "engine_impl.h"

#include "commander.h"
#include "event.h"
#include "intent.h"
#include "log.h"
#include "outbox.h"
#include "recovery.h"
#include "settings.h"
#include "store_op.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct col_agent *agent_for(struct col_engine *e, const char *id)
{
    struct col_agent *a = col_fleet_agent(&e->fleet, id);
    return a ? a : col_fleet_agent_add(&e->fleet, id);
}

/* The agent b's [bot] section names, or "". */
static const char *pinned_agent(const struct col_engine *e, const char *bot)
{
    const struct col_bot_override *o = col_settings_find_bot(e->cfg, bot);
    return o ? o->agent : "";
}

/* Whether agent a may speak for bot id (b: the fleet's, or NULL); a refusal is counted and
 * logged at most once a minute per reason. */
static bool may_claim(struct col_engine *e, struct col_agent *a, const char *id,
                      const struct col_bot *b, int64_t now_mono)
{
    const char *pinned = pinned_agent(e, id);
    enum col_claim why = col_claims_judge(&e->claims, id, b, pinned, a);
    uint64_t since = 0;
    if (why == COL_CLAIM_OK || !col_claims_refuse(&e->claims, why, now_mono, &since))
        return why == COL_CLAIM_OK;
    BP_WARN("engine",
            "refused agent %s's claim on bot %s: it belongs to agent %s%s (%llu such "
            "refusal(s) since the last line; move it with botpulse-ctl move)",
            a->id, id, col_claims_owner(&e->claims, id, b, pinned),
            pinned[0] ? " ([bot] agent)" : "", (unsigned long long)since);
    return false;
}

void engine_set_limits(struct col_engine *e, struct col_bot *b)
{
    struct col_rule_limits lim;
    memset(&lim, 0, sizeof(lim)); /* compared byte for byte, padding too */
    col_settings_limits_for(e->cfg, b->id, b->account, &lim); /* [account] may apply */
    col_intent_apply(b, &lim);
    const struct col_rule_limits *shared = col_fleet_limits(&e->fleet, &lim);
    if (shared)
        b->limits = shared;
    else if (!b->limits) /* out of memory before it ever had limits: the defaults */
        b->limits = &e->cfg->limits;
}

/* A bot past its agent's [agents] bots_max: refused, counted, logged once per LOG_EVERY_MS. */
static void refuse_bot(struct col_engine *e, const struct col_agent *a, const char *id,
                       int64_t now_mono)
{
    e->bots_refused++;
    if (now_mono < e->next_refuse_log_mono)
        return;
    e->next_refuse_log_mono = now_mono + COL_ENGINE_LOG_EVERY_MS;
    BP_WARN("engine",
            "agent %s speaks for more than [agents] bots_max = %lld bots: bot %s refused (%llu "
            "refused so far)",
            a->id, (long long)e->cfg->agent_bots_max, id, (unsigned long long)e->bots_refused);
}

struct col_bot *engine_bot_for(struct col_engine *e, struct col_agent *a, const char *id,
                               int64_t now_mono)
{
    struct col_bot *b = col_fleet_bot(&e->fleet, id);
    if (a && !may_claim(e, a, id, b, now_mono))
        return NULL;
    if (a && (!b || b->agent != a) && e->cfg->agent_bots_max > 0 &&
        a->nbots >= (size_t)e->cfg->agent_bots_max) {
        refuse_bot(e, a, id, now_mono);
        return NULL;
    }
    if (!b) {
        b = col_fleet_bot_add(&e->fleet, id, now_mono);
        if (!b)
            return NULL;
        const struct col_bot_override *o = col_settings_find_bot(e->cfg, id);
        if (o && o->account[0])
            col_fleet_set_account(&e->fleet, b, o->account);
        if (o && o->exchange[0])
            col_fleet_set_exchange(&e->fleet, b, o->exchange);
        engine_set_limits(e, b);
    }
    if (a && b->agent != a && col_fleet_attach(&e->fleet, a, b) < 0)
        BP_ERROR("engine", "out of memory attaching bot %s", id);
    return b;
}

int col_engine_restore_owner(struct col_engine *e, const char *bot, const char *agent)
{
    if (!bp_id_is_valid(bot) || !bp_id_is_valid(agent))
        return -EINVAL;
    struct col_agent *a = agent_for(e, agent);
    return a ? col_claims_restore(&e->claims, bot, a) : -ENOMEM;
}

int engine_move_bot(struct col_engine *e, const char *id, const char *agent, int64_t now_mono,
                    int64_t now_wall, struct col_bot **out)
{
    struct col_bot *b = col_fleet_bot(&e->fleet, id);
    const char *pinned = pinned_agent(e, id);
    const char *owner = col_claims_owner(&e->claims, id, b, pinned);
    if (!b && !owner)
        return -ENOENT;
    if (pinned[0] && strcmp(pinned, agent) != 0)
        return -EPERM;
    char from[BP_ID_MAX + 1];
    snprintf(from, sizeof(from), "%s", owner ? owner : "none");
    struct col_agent *a = agent_for(e, agent);
    if (!a || (!b && !(b = engine_bot_for(e, NULL, id, now_mono))) ||
        col_fleet_attach(&e->fleet, a, b) < 0)
        return -ENOMEM;
    BP_INFO("engine", "bot %s moved from agent %s to agent %s by an operator", id, from, agent);
    b->ev.agent_offline = a->offline;
    engine_say_bot(e, b, true, now_wall); /* its bots row: the owner a restart reads back */
    engine_evaluate(e, b, now_mono, now_wall);
    *out = b;
    return 0;
}

/* Labels from the agent apply unless the collector's config overrides them. */
static void apply_labels(struct col_engine *e, struct col_bot *b, const struct bp_bot_info *info)
{
    const struct col_bot_override *o = col_settings_find_bot(e->cfg, b->id);
    if (!(o && o->account[0]))
        col_fleet_set_account(&e->fleet, b, info->account);
    if (!(o && o->exchange[0]))
        col_fleet_set_exchange(&e->fleet, b, info->exchange);
    engine_set_limits(e, b);
}

static void store_agent(struct col_engine *e, const struct col_agent *a, int64_t now_wall)
{
    struct col_store_op op = {.kind = COL_OP_AGENT, .ts = now_wall, .shard = a->shard};
    snprintf(op.u.agent.agent, sizeof(op.u.agent.agent), "%s", a->id);
    snprintf(op.u.agent.host, sizeof(op.u.agent.host), "%s", a->host);
    snprintf(op.u.agent.version, sizeof(op.u.agent.version), "%s", a->version);
    snprintf(op.u.agent.boot, sizeof(op.u.agent.boot), "%s", a->boot);
    op.u.agent.online = !a->offline;
    op.u.agent.clock_offset_ms = a->skew.ahead_ms;
    col_outbox_row(e->out, &op);
}

/* Every message from an agent refines its clock offset. The bot it speaks for sees the new
 * estimate at once (b; NULL: every bot of the agent, for an agent_state): the others at their
 * own next message, so a message costs the same whatever the number of bots on its host. */
static void note_clock(struct col_engine *e, struct col_agent *a, struct col_bot *b,
                       const struct col_event *ev)
{
    /* A message that reaches us while we are blind waited somewhere (a link that dropped
     * everything, then caught up): its delay is no clock. And a backlog arrives as a burst, so
     * one sample per second at most: a burst weighs one sample, not the whole window. */
    if (e->blind || (a->skew_sampled_mono && ev->recv_mono - a->skew_sampled_mono < 1000)) {
        if (b && col_skew_known(&a->skew)) { /* the bot still learns what we know */
            b->ev.clock_known = true;
            b->ev.clock_ahead_ms = a->skew.ahead_ms;
        }
        return;
    }
    a->skew_sampled_mono = ev->recv_mono;
    int64_t ahead = col_skew_add(&a->skew, ev->msg.hdr.ts, ev->recv_wall);
    int64_t moved = ahead - a->skew_stored_ms;
    if (moved > 250 || moved < -250) { /* worth a row: the agents table shows it */
        a->skew_stored_ms = ahead;
        store_agent(e, a, ev->recv_wall);
    }
    for (size_t i = 0; i < (b ? 1 : a->nbots); i++) {
        struct col_bot *x = b ? b : a->bots[i];
        x->ev.clock_known = true;
        x->ev.clock_ahead_ms = ahead;
    }
}

/* An agent's offline while we reconnect is held: the broker may have fired its Will. */
static void note_online(struct col_engine *e, struct col_agent *a, bool online, int64_t recv_mono)
{
    if (!online && !a->offline && recv_mono < e->grace_until_mono) {
        if (!a->offline_pending) {
            a->offline_pending = true;
            e->offline_pending++;
            BP_INFO("engine", "agent %s offline during reconnect grace: waiting for it", a->id);
        }
        return;
    }
    if (a->offline_pending) {
        a->offline_pending = false;
        e->offline_pending--;
    }
    a->offline = !online;
}

static void on_agent_state(struct col_engine *e, const struct col_event *ev)
{
    const struct bp_msg_header *h = &ev->msg.hdr;
    const struct bp_agent_state *st = &ev->msg.u.agent_state;
    struct col_agent *a = agent_for(e, h->agent);
    if (!a)
        return;
    /* a Will was composed at connect time, and a retained state delivered on our subscribe was
     * sent when the agent connected (hours ago, after our restart): their ts say nothing of
     * the clock */
    if (st->online && !ev->retained)
        note_clock(e, a, NULL, ev);
    if (a->offline == st->online || strcmp(a->boot, h->boot) != 0)
        BP_INFO("engine", "agent %s is %s (host %s, boot %s, %d bots)", a->id,
                st->online ? "online" : "offline", st->host, h->boot, st->nbots);
    note_online(e, a, st->online, ev->recv_mono);
    col_fleet_set_host(&e->fleet, a, st->host);
    snprintf(a->version, sizeof(a->version), "%s", st->version);
    snprintf(a->boot, sizeof(a->boot), "%s", h->boot);
    for (int i = 0; i < st->nbots; i++) {
        struct col_bot *b = engine_bot_for(e, a, st->bots[i].id, ev->recv_mono);
        if (b)
            apply_labels(e, b, &st->bots[i]);
    }
    store_agent(e, a, ev->recv_wall);
    for (size_t i = 0; i < a->nbots; i++) {
        struct col_bot *b = a->bots[i];
        b->ev.agent_offline = a->offline;
        if (b->ev.heartbeat_interval_ms == 0)
            b->ev.heartbeat_interval_ms = st->heartbeat_ms;
        engine_evaluate(e, b, ev->recv_mono, ev->recv_wall);
    }
}

/* Maps a trade time on the agent's clock to ours: its age at receipt (our receive time moved
 * onto the agent's clock by the offset estimate, minus the trade time), back from receipt. */
static void note_trade(struct col_bot *b, const struct col_event *ev, int64_t trade_ts)
{
    if (trade_ts <= 0)
        return;
    int64_t ahead = b->agent ? b->agent->skew.ahead_ms : 0;
    int64_t age = ev->recv_wall + ahead - trade_ts;
    int64_t mono = ev->recv_mono - (age > 0 ? age : 0);
    if (b->ev.has_trade && mono <= b->ev.last_trade_mono)
        return;
    b->ev.has_trade = true;
    b->ev.last_trade_mono = mono;
    b->last_trade_wall = trade_ts;
    if (b->limits->cadence_factor > 0 && !b->cadence) {
        b->cadence = calloc(1, sizeof(*b->cadence));
        if (!b->cadence)
            BP_ERROR("engine", "out of memory: bot %s judged without its learned cadence", b->id);
    }
    if (b->cadence) {
        col_cadence_note_trade(b->cadence, trade_ts); /* gaps on the agent's clock: no skew */
        b->ev.cadence_gap_ms =
            col_cadence_expected(b->cadence, trade_ts, b->limits->cadence_min_samples);
    }
}

static void on_heartbeat(struct col_bot *b, const struct col_event *ev)
{
    const struct bp_heartbeat *hb = &ev->msg.u.heartbeat;
    b->ev.has_heartbeat = true;
    b->ev.last_heartbeat_mono = ev->recv_mono;
    b->ev.heartbeat_interval_ms = hb->interval_ms;
    b->ev.proc_alive = hb->proc.alive;
    b->ev.pid = hb->proc.pid;
    b->last_heartbeat_wall = ev->recv_wall;
    note_trade(b, ev, hb->last_trade_ts);
    col_evidence_apply_signals(&b->ev, hb, ev->msg.hdr.ts, ev->recv_mono);
    col_evidence_apply_log(&b->ev, hb, ev->msg.hdr.ts, ev->recv_mono);
    col_evidence_count_failures(&b->ev, b->limits);
}

/* At most one sample row per bot per sample_interval, with its bots row kept fresh. */
static void on_stats(struct col_engine *e, struct col_bot *b, const struct col_event *ev)
{
    const struct bp_stats *st = &ev->msg.u.stats;
    if (ev->recv_mono - b->last_sample_mono >= e->cfg->sample_interval_ms) {
        b->last_sample_mono = ev->recv_mono;
        struct col_store_op op = {
            .kind = COL_OP_SAMPLE, .ts = ev->recv_wall, .shard = col_bot_shard(&e->fleet, b)};
        snprintf(op.u.sample.bot, sizeof(op.u.sample.bot), "%s", b->id);
        op.u.sample.stats = *st;
        op.u.sample.restarts = b->ev.restarts.known ? b->ev.restarts.count : -1;
        col_outbox_row(e->out, &op);
        engine_say_bot(e, b, false, ev->recv_wall); /* last_heartbeat/last_trade stay fresh */
    }
    b->ev.res_level =
        col_resources_level(b->limits, st->proc_cpu_pct, st->host_cpu_pct, st->host_mem_pct,
                            st->host_disk_pct, b->ev.res_reason, sizeof(b->ev.res_reason));
    if (b->ev.res_level == COL_LEVEL_OK)
        b->ev.res_streak = 0;
    else if (b->ev.res_streak < 1000000)
        b->ev.res_streak++;
}

static void on_trade(struct col_engine *e, struct col_bot *b, const struct col_event *ev)
{
    const struct bp_msg_header *h = &ev->msg.hdr;
    struct col_store_op op = {.kind = COL_OP_TRADE, .ts = ev->recv_wall};
    snprintf(op.u.trade.agent, sizeof(op.u.trade.agent), "%s", h->agent);
    snprintf(op.u.trade.boot, sizeof(op.u.trade.boot), "%s", h->boot);
    op.u.trade.seq = h->seq;
    snprintf(op.u.trade.bot, sizeof(op.u.trade.bot), "%s", h->bot);
    op.u.trade.trade = ev->msg.u.trade;
    col_outbox_row(e->out, &op);
    note_trade(b, ev, ev->msg.u.trade.trade_ts);
}

static void on_bot_message(struct col_engine *e, const struct col_event *ev)
{
    const struct bp_msg_header *h = &ev->msg.hdr;
    struct col_agent *a = agent_for(e, h->agent);
    struct col_bot *b = engine_bot_for(e, a, h->bot, ev->recv_mono);
    if (!b)
        return;
    note_clock(e, a, b, ev);
    switch (h->type) {
    case BP_MSG_HEARTBEAT:
        on_heartbeat(b, ev);
        e->restarts_seen +=
            col_evidence_apply_restarts(&b->ev, &ev->msg.u.heartbeat, h->boot, ev->recv_mono);
        break;
    case BP_MSG_STATS:
        on_stats(e, b, ev);
        break;
    case BP_MSG_TRADE:
        on_trade(e, b, ev);
        break;
    case BP_MSG_EVENT: /* logged, not judged (not stored yet) */
        BP_INFO("engine", "event from bot %s: %s", b->id, ev->msg.u.event.text);
        return;
    default:
        return;
    }
    engine_evaluate(e, b, ev->recv_mono, ev->recv_wall);
}

/* An agent's answer to a command: stored whether or not recovery is on (a refused forgery is
 * worth keeping), then counted and handed to recovery. */
static void on_result(struct col_engine *e, const struct col_event *ev)
{
    const struct bp_msg_header *h = &ev->msg.hdr;
    const struct bp_command_result *r = &ev->msg.u.result;
    BP_INFO("recovery", "agent %s: %s for bot %s: %s%s%s (exit %lld, %lld ms, nonce %s)", h->agent,
            r->action[0] ? r->action : "command", h->bot[0] ? h->bot : "?", r->outcome,
            r->reason[0] ? ": " : "", r->reason, (long long)r->exit_code, (long long)r->duration_ms,
            r->nonce[0] ? r->nonce : "-");
    struct col_store_op op;
    col_store_op_result(&op, &ev->msg, ev->recv_wall);
    col_outbox_row(e->out, &op);
    if (e->commander)
        col_commander_count_result(e->commander, r->action, r->outcome);
    if (e->recovery)
        col_recovery_on_result(e->recovery, h->bot, r->nonce, r->outcome, ev->recv_mono);
}

/* Context for walks over the fleet. */
struct walk {
    struct col_engine *e;
    int64_t shift, now_mono, now_wall;
};

static void apply_offline(void *ctx, const char *key, void *v)
{
    struct walk *w = ctx;
    struct col_agent *a = v;
    if (!a->offline_pending)
        return;
    a->offline_pending = false;
    a->offline = true;
    BP_INFO("engine", "agent %s did not come back within the reconnect grace", a->id);
    store_agent(w->e, a, w->now_wall);
    for (size_t i = 0; i < a->nbots; i++) {
        a->bots[i]->ev.agent_offline = true;
        engine_evaluate(w->e, a->bots[i], w->now_mono, w->now_wall);
    }
}

void engine_grace_ended(struct col_engine *e, int64_t now_mono, int64_t now_wall)
{
    struct walk w = {e, 0, now_mono, now_wall};
    col_strmap_each(e->fleet.agents, apply_offline, &w);
    e->offline_pending = 0;
}

/* Moves a bot's liveness clock forward by the time we were blind, then re-evaluates it. */
static void shift_bot(void *ctx, const char *key, void *v)
{
    struct walk *w = ctx;
    struct col_bot *b = v;
    col_evidence_shift(&b->ev, w->shift);
    engine_evaluate(w->e, b, w->now_mono, w->now_wall);
}

void engine_go_blind(struct col_engine *e, int64_t now_mono)
{
    if (e->blind)
        return;
    e->blind = true;
    e->blind_since_mono = now_mono;
    if (e->recovery) /* nothing we see now is news: no restarts while blind */
        col_recovery_pause_until(e->recovery, INT64_MAX);
}

void engine_see_again(struct col_engine *e, int64_t now_mono, int64_t now_wall)
{
    e->grace_until_mono = now_mono + e->cfg->reconnect_grace_ms;
    if (e->recovery)
        col_recovery_pause_until(e->recovery, e->grace_until_mono);
    if (!e->blind || e->broker_lost || e->lossy || e->echo_lost)
        return;
    e->blind = false;
    struct walk w = {e, now_mono - e->blind_since_mono, now_mono, now_wall};
    BP_INFO("engine", "blind for %lld ms: liveness judgement resumed", (long long)w.shift);
    col_strmap_each(e->fleet.bots, shift_bot, &w);
}

static void on_connection(struct col_engine *e, const struct col_event *ev)
{
    if (ev->kind == COL_EV_DISCONNECTED) {
        if (!e->broker_lost)
            BP_WARN("engine", "broker connection lost: liveness judgement paused");
        e->broker_lost = true;
        engine_go_blind(e, ev->recv_mono);
        return;
    }
    e->broker_lost = false;
    engine_see_again(e, ev->recv_mono, ev->recv_wall);
}

/* Our echo came back: what the broker had when we sent it has reached us. */
static void on_echo(struct col_engine *e, const struct col_event *ev)
{
    if (ev->echo_sent_mono > e->seen_until_mono)
        e->seen_until_mono = ev->echo_sent_mono;
    e->echo_recv_mono = ev->recv_mono;
    e->echo_on = true;
    if (!e->echo_lost)
        return;
    e->echo_lost = false;
    BP_INFO("engine", "the broker echoes again");
    engine_see_again(e, ev->recv_mono, ev->recv_wall);
}

void engine_take_evidence(struct col_engine *e, const struct col_event *ev)
{
    if (ev->kind == COL_EV_ECHO)
        on_echo(e, ev);
    else if (ev->kind != COL_EV_MESSAGE)
        on_connection(e, ev);
    else if (ev->msg.hdr.type == BP_MSG_AGENT_STATE)
        on_agent_state(e, ev);
    else if (ev->msg.hdr.type == BP_MSG_COMMAND_RESULT)
        on_result(e, ev);
    else if (bp_msg_type_is_bot_level(ev->msg.hdr.type))
        on_bot_message(e, ev);
}
