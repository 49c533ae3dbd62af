/* SPDX-License-Identifier: MIT */
/* The rules thread: the loop, the judgement on deadlines, and recovery's wiring. */
#include "engine.h"

#include "clock.h"
#include "commander.h"
#include "engine_impl.h"
#include "event.h"
#include "ingest.h"
#include "intent.h"
#include "log.h"
#include "manual.h"
#include "outbox.h"
#include "queue.h"
#include "recovery.h"
#include "settings.h"
#include "shard.h"
#include "store_op.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define BATCH 512
#define FLUSH_RETRY_MS 10 /* while items wait for room in the outbox */

/* ---- recovery's wiring ------------------------------------------------------------------ */

/* The commander's sender: the signed command, then its row, through the outbox. */
static int send_command(void *ctx, const struct bp_msg *cmd, const char *reason)
{
    struct col_engine *e = ctx;
    int rc = col_outbox_command(e->out, cmd);
    if (rc < 0)
        return rc;
    struct col_store_op op;
    col_store_op_command(&op, cmd, reason);
    op.shard = col_shard_of(cmd->hdr.agent, e->fleet.shards);
    col_outbox_row(e->out, &op);
    return 0;
}

/* Recovery's command: the bot's status and reason go with it into the commands row. */
static int recovery_send(void *ctx, const char *agent, const char *bot, enum col_rec_action action,
                         char nonce[BP_NONCE_MAX + 1])
{
    struct col_engine *e = ctx;
    const struct col_bot *b = col_fleet_bot(&e->fleet, bot);
    char reason[COL_REASON_MAX + 1];
    snprintf(reason, sizeof(reason), "%s: %.100s", b ? col_status_name(b->status) : "?",
             b ? b->reason : "");
    return col_commander_send(e->commander, agent, bot, action, reason, nonce);
}

/* Recovery runs only with a signing key: without one, no command could be trusted. Commands
 * go out through the commander; the manual-intervention alert is one of the bot's alerts. */
static int start_recovery(struct col_engine *e)
{
    if (!e->cfg->rec_signing_key_file[0])
        return 0;
    struct col_commander_opts co = {.key_file = e->cfg->rec_signing_key_file,
                                    .ttl_ms = e->cfg->rec_command_ttl_ms,
                                    .send = send_command,
                                    .ctx = e};
    int rc = col_commander_new(&co, &e->commander);
    if (rc < 0)
        return rc;
    struct col_recovery_limits lim = {.fleet_max_per_minute = (int)e->cfg->rec_fleet_max_per_minute,
                                      .exchange_max_failing =
                                          (int)e->cfg->rec_exchange_max_failing};
    struct col_recovery_ops ops = {
        .send = recovery_send, .manual = engine_recovery_manual, .ctx = e};
    e->recovery = col_recovery_new(&lim, &ops);
    return e->recovery ? 0 : -ENOMEM;
}

const struct col_silence *engine_silence_for(const struct col_engine *e, const struct col_bot *b,
                                             const char *check, int64_t now_mono)
{
    return col_silences_find(&e->silences, b->id, b->account, col_bot_host(b), check, now_mono);
}

void engine_note_recovery(struct col_engine *e, struct col_bot *b, int64_t now_mono)
{
    if (!e->recovery)
        return;
    struct col_recovery_policy policy;
    col_settings_recovery_for(e->cfg, b->id, b->account, &policy);
    struct col_recovery_input in = {.bot = b->id,
                                    .agent = b->agent ? b->agent->id : "",
                                    .exchange = b->exchange,
                                    .status = b->status,
                                    .agent_offline = b->ev.agent_offline,
                                    .intended_stopped = b->limits->intended_stopped,
                                    .paused = engine_silence_for(e, b, b->check, now_mono) != NULL,
                                    .pid = b->ev.proc_alive ? b->ev.pid : 0,
                                    .policy = &policy};
    if (col_recovery_on_status(e->recovery, &in, now_mono) < 0)
        BP_ERROR("engine", "out of memory tracking recovery of bot %s", b->id);
}

/* ---- life cycle ------------------------------------------------------------------------- */

int col_engine_new(const struct col_settings *cfg, struct col_outbox *out,
                   struct col_ingest *ingest, struct col_engine **out_engine)
{
    struct col_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    if (col_fleet_init(&e->fleet) < 0) {
        free(e);
        return -ENOMEM;
    }
    if (col_claims_init(&e->claims) < 0) {
        col_fleet_cleanup(&e->fleet);
        free(e);
        return -ENOMEM;
    }
    e->cfg = cfg;
    e->out = out;
    col_fleet_set_shards(&e->fleet, cfg->cluster_enabled ? (int)cfg->cluster_shards : 1);
    e->ingest = ingest;
    bp_timerheap_init(&e->timers);
    col_silences_init(&e->silences);
    unsigned char rnd[8] = {0};
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        BP_WARN("engine", "getrandom failed; event ids fall back to the clock");
    uint64_t r;
    memcpy(&r, rnd, sizeof(r));
    snprintf(e->run_id, sizeof(e->run_id), "%016llx",
             (unsigned long long)(r ^ (uint64_t)bp_wall_ms()));
    e->started_mono = bp_mono_ms();
    e->flush_due_mono = INT64_MAX;
    e->summary_last_mono = INT64_MIN / 2;
    e->stats_next_mono = 0; /* due at the first tick */
    int rc = start_recovery(e);
    if (rc == 0 && !(e->manual = col_manual_new(COL_MANUAL_INTERVAL_MS)))
        rc = -ENOMEM;
    if (rc < 0) {
        col_engine_free(e);
        return rc;
    }
    *out_engine = e;
    return 0;
}

void col_engine_free(struct col_engine *e)
{
    if (!e)
        return;
    col_recovery_free(e->recovery);
    col_commander_free(e->commander);
    col_manual_free(e->manual);
    bp_timerheap_cleanup(&e->timers);
    col_incidents_cleanup(&e->incidents);
    col_silences_cleanup(&e->silences);
    col_claims_cleanup(&e->claims);
    col_fleet_cleanup(&e->fleet);
    free(e);
}

const struct col_fleet *col_engine_fleet(const struct col_engine *e)
{
    return &e->fleet;
}

void engine_new_id(struct col_engine *e, const char *kind, char *buf, size_t size)
{
    snprintf(buf, size, "%s-%s%llu", e->run_id, kind, (unsigned long long)++e->next_event);
}

/* ---- judgement -------------------------------------------------------------------------- */

/* Sets the bot's reason: the verdict's, prefixed while the bot flaps. */
static void set_reason(struct col_engine *e, struct col_bot *b, const char *reason,
                       int64_t now_mono)
{
    if (!b->flap.flapping) {
        snprintf(b->reason, sizeof(b->reason), "%s", reason);
        return;
    }
    char w[32];
    col_format_duration(e->cfg->flap.window_ms, w, sizeof(w));
    int n = snprintf(b->reason, sizeof(b->reason), "flapping (%d changes in %s): %s",
                     col_flap_count(&b->flap, &e->cfg->flap, now_mono), w, reason);
    if (n >= (int)sizeof(b->reason)) /* cut at the end: the prefix is the news */
        BP_DEBUG("rules", "bot %s: flapping reason shortened", b->id);
}

static void transition(struct col_engine *e, struct col_bot *b, const struct col_verdict *v,
                       int64_t now_mono, int64_t now_wall)
{
    enum col_status from = b->status;
    /* a flap is a change of the status word: not the first verdict, not a severity or check
     * change within one status (a confirmed alert, stale → stopped by another rule) */
    bool flap_started = from != COL_ST_UNKNOWN && from != v->status &&
                        col_flap_change(&b->flap, &e->cfg->flap, now_mono);
    col_fleet_count_status(&e->fleet, b, v->status);
    b->status = v->status;
    b->severity = v->severity;
    b->check = v->check;
    set_reason(e, b, v->reason, now_mono);
    b->since_wall = now_wall;
    b->since_mono = now_mono;
    BP_INFO("rules", "bot %s: %s -> %s: %s", b->id, col_status_name(from),
            col_status_name(b->status), b->reason);
    engine_say_transition(e, b, from, now_wall);
    engine_note_incident(e, b, now_mono, now_wall); /* before the alerts: a member's are quiet */
    if (flap_started) {
        BP_WARN("rules", "bot %s is flapping: %s", b->id, b->reason);
        engine_announce_flapping(e, b, now_mono, now_wall);
    }
    e->summary_dirty = true;
}

/* The same verdict in other words ("no trade yet" → "trading", a number that moved): what the API
 * reads is current at once; the retained status and the bots row say it at most once per
 * COL_REASON_REFRESH_MS per bot (a reason with a number in it changes on every message). */
#define COL_REASON_REFRESH_MS 10000
static void refresh_reason(struct col_engine *e, struct col_bot *b, const char *reason,
                           int64_t now_mono, int64_t now_wall)
{
    set_reason(e, b, reason, now_mono);
    if (now_wall - b->said_wall < COL_REASON_REFRESH_MS)
        return;
    engine_say_bot(e, b, true, now_wall);
}

/* A whole window without a change: the bot is judged as usual again, and says so. */
static void settle(struct col_engine *e, struct col_bot *b, const struct col_verdict *v,
                   int64_t now_mono, int64_t now_wall)
{
    set_reason(e, b, v->reason, now_mono); /* no longer prefixed */
    BP_INFO("rules", "bot %s stopped flapping: %s: %s", b->id, col_status_name(b->status),
            b->reason);
    engine_say_bot(e, b, true, now_wall);
    engine_apply_alerts(e, b, v, now_mono, now_wall);
    for (int i = 0; i < b->alerts.n; i++) /* still bad after all that: their news */
        if (b->alerts.v[i].last_sent_mono != now_mono)
            engine_announce(e, b, &b->alerts.v[i], COL_ALERT_REPEATED, now_mono, now_wall);
}

/* Sends the reminders due now; returns the earliest one still to come (INT64_MAX: none). */
static int64_t remind(struct col_engine *e, struct col_bot *b, int64_t now_mono, int64_t now_wall)
{
    int64_t next = INT64_MAX, reminder;
    for (int i = 0; i < b->alerts.n; i++) {
        struct col_alert *a = &b->alerts.v[i];
        if (col_alert_repeat_due(a, e->cfg->alert_repeat_ms, now_mono, &reminder)) {
            a->repeats++;
            engine_announce(e, b, a, COL_ALERT_REPEATED, now_mono, now_wall);
        }
        if (reminder < next)
            next = reminder;
    }
    return next;
}

void engine_evaluate(struct col_engine *e, struct col_bot *b, int64_t now_mono, int64_t now_wall)
{
    struct col_verdict v;
    col_rules_evaluate(&b->ev, b->limits, now_mono, &v);
    if (v.status == COL_ST_DOWN && !b->ev.agent_offline && now_mono < e->grace_until_mono) {
        /* just (re)connected: agents get the grace to report in before silence counts */
        if (bp_timerheap_set(&e->timers, &b->timer, e->grace_until_mono) < 0)
            BP_ERROR("rules", "out of memory scheduling bot %s", b->id);
        return;
    }
    /* a new status, or the same bad status for another reason (process → trading) */
    bool changed = v.status != b->status || v.severity != b->severity ||
                   (v.status != COL_ST_UNKNOWN && strcmp(v.check, b->check) != 0);
    if (changed)
        transition(e, b, &v, now_mono, now_wall);
    else if (!b->flap.flapping && strcmp(v.reason, b->reason) != 0)
        refresh_reason(e, b, v.reason, now_mono, now_wall);
    int64_t calm;
    if (col_flap_settled(&b->flap, &e->cfg->flap, now_mono, &calm))
        settle(e, b, &v, now_mono, now_wall);
    else if (!b->flap.flapping)
        engine_apply_alerts(e, b, &v, now_mono, now_wall);
    if (changed)
        engine_note_recovery(e, b, now_mono);
    int64_t next = v.next_due_mono < calm ? v.next_due_mono : calm;
    int64_t reminder = remind(e, b, now_mono, now_wall);
    if (reminder < next)
        next = reminder;
    if (next == INT64_MAX)
        bp_timerheap_remove(&e->timers, &b->timer);
    else if (bp_timerheap_set(&e->timers, &b->timer, next) < 0)
        BP_ERROR("rules", "out of memory scheduling bot %s", b->id);
}

/* ---- the loop --------------------------------------------------------------------------- */

void col_engine_handle(struct col_engine *e, const struct col_event *ev)
{
    if (ev->kind == COL_EV_QUERY)
        engine_answer(e, ev);
    else if (ev->kind == COL_EV_TAKEOVER)
        engine_adopt(e, ev->takeover, ev->recv_mono, ev->recv_wall);
    else
        engine_take_evidence(e, ev);
}

/* Our echo stopped coming back for echo_timeout by judge_mono: we are blind from the last
 * moment we know we saw (a silent cut: Paho has not noticed, and may not for its keepalive). */
static void check_echo(struct col_engine *e, int64_t judge_mono)
{
    if (!e->echo_on || e->echo_lost ||
        judge_mono - e->echo_recv_mono <= e->cfg->mqtt_echo_timeout_ms)
        return;
    e->echo_lost = true;
    e->echo_lost_count++;
    BP_WARN("engine",
            "no echo back through the broker for %lld ms (a silent network cut?): liveness "
            "judgement paused until it comes back",
            (long long)(judge_mono - e->echo_recv_mono));
    engine_go_blind(e, e->seen_until_mono);
}

/* The latest time up to which a deadline may be judged: judge_mono, or with the echo on, when
 * the newest echo back was sent (what the broker had then has reached us). */
static int64_t judge_limit(const struct col_engine *e, int64_t judge_mono)
{
    return e->echo_on && e->seen_until_mono < judge_mono ? e->seen_until_mono : judge_mono;
}

void col_engine_on_echo_request(struct col_engine *e, void (*request)(void *ctx), void *ctx)
{
    e->echo_request = request;
    e->echo_ctx = ctx;
}

/* A deadline is due at judge_mono but waits for an echo sent after it: ask for one now. */
static void ask_echo(struct col_engine *e, int64_t judge_mono)
{
    if (!e->echo_request || !e->echo_on || e->blind || e->echo_requested_mono > e->seen_until_mono)
        return; /* none to ask, or the one asked for is not back yet */
    struct bp_timer *t = bp_timerheap_peek(&e->timers);
    if (!t || t->due_ms > judge_mono || t->due_ms <= e->seen_until_mono)
        return;
    e->echo_requested_mono = judge_mono;
    e->echo_request(e->echo_ctx);
}

void col_engine_judge(struct col_engine *e, int64_t judge_mono, int64_t judge_wall)
{
    struct bp_timer *t;
    check_echo(e, judge_mono);
    int64_t limit = judge_limit(e, judge_mono);
    /* first: the truer reason; and not while blind, when the next connect starts a new grace */
    if (!e->blind && e->offline_pending && limit >= e->grace_until_mono)
        engine_grace_ended(e, judge_mono, judge_wall);
    while (!e->blind && (t = bp_timerheap_pop_due(&e->timers, limit)) != NULL)
        engine_evaluate(e, BP_CONTAINER_OF(t, struct col_bot, timer), judge_mono, judge_wall);
    ask_echo(e, judge_mono);
}

/* Everything on the loop's clock but the judgement: summary, silences, stats, recovery. */
static void housekeeping(struct col_engine *e, int64_t now_mono, int64_t now_wall)
{
    if (e->summary_dirty && now_mono >= e->summary_last_mono + e->cfg->summary_interval_ms) {
        e->summary_dirty = false;
        e->summary_last_mono = now_mono;
        engine_say_summary(e, now_wall);
    }
    engine_silences_tick(e, now_mono, now_wall);
    e->flush_due_mono = engine_flush(e, now_wall) > 0 ? now_mono + FLUSH_RETRY_MS : INT64_MAX;
    if (now_mono >= e->stats_next_mono) {
        e->stats_next_mono = now_mono + e->cfg->stats_interval_ms;
        engine_say_stats(e, now_mono, now_wall);
        e->lag_max_ms = e->lag_ms;
    }
    if (e->recovery && !e->blind)
        col_recovery_tick(e->recovery, now_mono);
}

void col_engine_tick(struct col_engine *e, int64_t now_mono, int64_t now_wall)
{
    col_engine_judge(e, now_mono, now_wall);
    housekeeping(e, now_mono, now_wall);
}

void col_engine_note_lag(struct col_engine *e, int64_t lag_ms, size_t queue_len)
{
    bool was_behind = e->lag_ms > COL_ENGINE_BEHIND_MS;
    e->lag_ms = lag_ms > 0 ? lag_ms : 0;
    e->queue_len = queue_len;
    if (e->lag_ms > e->lag_max_ms)
        e->lag_max_ms = e->lag_ms;
    bool behind = e->lag_ms > COL_ENGINE_BEHIND_MS;
    if (behind != was_behind)
        BP_WARN("engine", "%s: the oldest message waited %lld ms (%zu queued)%s",
                behind ? "falling behind" : "caught up", (long long)e->lag_ms, queue_len,
                behind ? "; deadlines are judged at the messages' receive times, not now" : "");
}

void col_engine_note_drops(struct col_engine *e, uint64_t dropped_total, size_t queue_len,
                           size_t queue_cap, int64_t now_mono, int64_t now_wall)
{
    if (dropped_total > e->dropped_seen) {
        if (!e->lossy)
            BP_WARN("engine", "the rules queue is full and messages were dropped: liveness "
                              "judgement paused until it drains");
        e->dropped_seen = dropped_total;
        e->last_drop_mono = now_mono;
        e->lossy = true;
        engine_go_blind(e, now_mono);
    } else if (e->lossy && now_mono - e->last_drop_mono >= COL_ENGINE_CALM_MS &&
               queue_len < queue_cap / 4) {
        e->lossy = false;
        engine_see_again(e, now_mono, now_wall);
    }
}

int64_t col_engine_next_deadline(const struct col_engine *e)
{
    int64_t next = e->stats_next_mono;
    struct bp_timer *t = e->blind ? NULL : bp_timerheap_peek(&e->timers);
    if (t && t->due_ms < next && t->due_ms <= judge_limit(e, INT64_MAX))
        next = t->due_ms; /* else the echo that makes it judgeable wakes us */
    if (e->echo_on && !e->echo_lost && e->echo_recv_mono + e->cfg->mqtt_echo_timeout_ms + 1 < next)
        next = e->echo_recv_mono + e->cfg->mqtt_echo_timeout_ms + 1;
    int64_t silence_end = col_silences_next_end(&e->silences);
    if (silence_end < next)
        next = silence_end;
    if (!e->blind && e->offline_pending && e->grace_until_mono < next &&
        e->grace_until_mono <= judge_limit(e, INT64_MAX))
        next = e->grace_until_mono;
    if (e->summary_dirty) {
        int64_t s = e->summary_last_mono + e->cfg->summary_interval_ms;
        if (s < next)
            next = s;
    }
    if (e->recovery && !e->blind && col_recovery_next_deadline(e->recovery) < next)
        next = col_recovery_next_deadline(e->recovery);
    if (e->flush_due_mono < next)
        next = e->flush_due_mono;
    return next;
}

/* The loop merges two timelines in order: messages by their receive time, and deadlines.
 * A deadline is judged before the messages received after it and after those received
 * before it, so however far behind the queue is, a bot is never declared down while its
 * heartbeat waits to be applied (col_engine_judge). */
void col_engine_run(struct col_engine *e, struct bp_queue *q, volatile sig_atomic_t *stop)
{
    void *batch[BATCH];
    while (!*stop) {
        int64_t now_mono = bp_mono_ms(), now_wall = bp_wall_ms();
        size_t len = bp_queue_len(q);
        if (e->ingest) {
            struct col_ingest_stats st;
            col_ingest_get_stats(e->ingest, &st);
            col_engine_note_drops(e, st.queue_dropped, len, bp_queue_cap(q), now_mono, now_wall);
        }
        if (len == 0) /* caught up: nothing received before now is still waiting */
            col_engine_judge(e, now_mono, now_wall);
        housekeeping(e, now_mono, now_wall);
        size_t n = bp_queue_pop_wait(q, batch, BATCH, len ? 0 : col_engine_next_deadline(e));
        if (n > 0)
            col_engine_note_lag(e, bp_mono_ms() - ((struct col_event *)batch[0])->recv_mono,
                                len > n ? len - n : 0);
        else
            col_engine_note_lag(e, 0, 0);
        for (size_t i = 0; i < n; i++) {
            const struct col_event *ev = batch[i];
            if (*stop) { /* SIGTERM: what is left is dropped (a query's asker gives up) */
                col_event_free(batch[i]);
                continue;
            }
            col_engine_judge(e, ev->recv_mono, ev->recv_wall);
            col_engine_handle(e, ev);
            free(batch[i]);
        }
    }
}

/* ---- what the previous run left --------------------------------------------------------- */

/* A bot first seen now is judged like any: unknown until evidence, down if none comes. */
static int await_first_evidence(struct col_engine *e, struct col_bot *b)
{
    int64_t due = b->ev.first_seen_mono + col_rules_heartbeat_timeout(&b->ev, b->limits);
    return bp_timerheap_set(&e->timers, &b->timer, due) < 0 ? -ENOMEM : 0;
}

int col_engine_restore_alert(struct col_engine *e, const char *bot, const char *check,
                             const char *alert_id, const char *severity, int64_t opened_at,
                             int64_t now_mono)
{
    if (!bp_id_is_valid(bot))
        return -EINVAL;
    struct col_bot *b = engine_bot_for(e, NULL, bot, now_mono);
    if (!b)
        return -ENOMEM;
    int rc = col_alerts_restore(&b->alerts, alert_id, severity, check, opened_at);
    if (rc < 0)
        return rc;
    col_alerts_find(&b->alerts, check)->last_sent_mono = now_mono; /* a full period on */
    return await_first_evidence(e, b);
}

int col_engine_restore_intent(struct col_engine *e, const char *bot, enum col_intent intent,
                              int64_t now_mono)
{
    if (!bp_id_is_valid(bot))
        return -EINVAL;
    bool known = col_fleet_bot(&e->fleet, bot) != NULL;
    struct col_bot *b = engine_bot_for(e, NULL, bot, now_mono);
    if (!b)
        return -ENOMEM;
    if (col_intent_set(b, intent) < 0)
        return -EINVAL;
    engine_set_limits(e, b);
    return known ? 0 : await_first_evidence(e, b);
}
