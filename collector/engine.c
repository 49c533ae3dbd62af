/* SPDX-License-Identifier: MIT */
/* The rules thread: evidence in, verdicts on deadlines, transitions out. */
#include "engine.h"

#include "clock.h"
#include "commander.h"
#include "intent.h"
#include "log.h"
#include "manual.h"
#include "publish.h"
#include "queue.h"
#include "query.h"
#include "recovery.h"
#include "silences.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define BATCH 512

struct col_engine {
    const struct col_settings *cfg;
    struct bp_mqtt *mqtt;
    struct col_store *store;
    struct col_ingest *ingest;
    struct col_webhook *webhook;
    enum col_webhook_format webhook_format;
    const char *webhook_chat_id;
    struct col_fleet fleet;
    struct col_incidents incidents;
    bool incidents_dirty;
    struct col_silences silences;
    struct bp_timerheap timers;
    char run_id[17]; /* random per process: event ids stay unique across restarts */
    uint64_t next_event;
    int64_t started_mono;
    /* While we have no broker connection no evidence can arrive: we judge nothing, and
     * after we reconnect, agents' "offline" states (Wills the broker fired while it
     * restarted) wait reconnect_grace for the agent's own "online" before they count. */
    bool blind;
    int64_t blind_since_mono;
    int64_t grace_until_mono;
    size_t offline_pending;
    bool summary_dirty;
    int64_t summary_last_mono;
    int64_t stats_next_mono;
    struct col_commander *commander; /* recovery: NULL without [recovery] signing_key_file */
    struct col_recovery *recovery;
    struct col_manual *manual; /* operators' restarts: their rate limit */
};

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

static void recovery_manual(void *ctx, const char *bot, bool open, const char *reason);

/* Recovery runs only with a signing key: without one, no command could be trusted. Commands
 * go out through the commander; the manual-intervention alert is one of the bot's alerts. */
static int start_recovery(struct col_engine *e)
{
    if (!e->cfg->rec_signing_key_file[0])
        return 0;
    int rc = col_commander_new(e->cfg, e->mqtt, e->store, &e->commander);
    if (rc < 0)
        return rc;
    struct col_recovery_limits lim = {.fleet_max_per_minute = (int)e->cfg->rec_fleet_max_per_minute,
                                      .exchange_max_failing =
                                          (int)e->cfg->rec_exchange_max_failing};
    struct col_recovery_ops ops = {.send = recovery_send, .manual = recovery_manual, .ctx = e};
    e->recovery = col_recovery_new(&lim, &ops);
    return e->recovery ? 0 : -ENOMEM;
}

/* The active silence that covers b's alert for check, or NULL. */
static const struct col_silence *silence_for(const struct col_engine *e, const struct col_bot *b,
                                             const char *check, int64_t now_mono)
{
    return col_silences_find(&e->silences, b->id, b->account, col_bot_host(b), check, now_mono);
}

/* Tells recovery about a bot's new status. */
static void note_recovery(struct col_engine *e, struct col_bot *b, int64_t now_mono)
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
                                    .intended_stopped = b->limits.intended_stopped,
                                    .paused = silence_for(e, b, b->check, now_mono) != NULL,
                                    .pid = b->ev.proc_alive ? b->ev.pid : 0,
                                    .policy = &policy};
    if (col_recovery_on_status(e->recovery, &in, now_mono) < 0)
        BP_ERROR("engine", "out of memory tracking recovery of bot %s", b->id);
}

int col_engine_new(const struct col_settings *cfg, struct bp_mqtt *mqtt, struct col_store *store,
                   struct col_ingest *ingest, struct col_engine **out)
{
    struct col_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    if (col_fleet_init(&e->fleet) < 0) {
        free(e);
        return -ENOMEM;
    }
    e->cfg = cfg;
    e->mqtt = mqtt;
    e->store = store;
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
    e->summary_last_mono = INT64_MIN / 2;
    e->stats_next_mono = 0; /* due at the first tick */
    int rc = start_recovery(e);
    if (rc == 0 && !(e->manual = col_manual_new(COL_MANUAL_INTERVAL_MS)))
        rc = -ENOMEM;
    if (rc < 0) {
        col_engine_free(e);
        return rc;
    }
    *out = e;
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
    col_fleet_cleanup(&e->fleet);
    free(e);
}

void col_engine_set_webhook(struct col_engine *e, struct col_webhook *w,
                            enum col_webhook_format fmt, const char *chat_id)
{
    e->webhook = w;
    e->webhook_format = fmt;
    e->webhook_chat_id = chat_id;
}

const struct col_fleet *col_engine_fleet(const struct col_engine *e)
{
    return &e->fleet;
}

static void new_event_id(struct col_engine *e, char *buf, size_t size)
{
    snprintf(buf, size, "%s-%llu", e->run_id, (unsigned long long)++e->next_event);
}

static void submit(struct col_engine *e, const struct col_store_op *op)
{
    if (e->store)
        col_store_submit(e->store, op); /* a full spool is counted and logged by the store */
}

static void store_bot(struct col_engine *e, const struct col_bot *b, int64_t now_wall)
{
    struct col_store_op op = {.kind = COL_OP_BOT, .ts = now_wall};
    col_bot_snapshot_take(b, &op.u.bot);
    submit(e, &op);
}

static void store_transition(struct col_engine *e, const struct col_bot *b, enum col_status from,
                             int64_t now_wall)
{
    struct col_store_op op = {.kind = COL_OP_TRANSITION, .ts = now_wall};
    new_event_id(e, op.event_id, sizeof(op.event_id));
    snprintf(op.u.transition.bot, sizeof(op.u.transition.bot), "%s", b->id);
    snprintf(op.u.transition.from_status, COL_STATUS_MAX, "%s", col_status_name(from));
    snprintf(op.u.transition.to_status, COL_STATUS_MAX, "%s", col_status_name(b->status));
    snprintf(op.u.transition.check, COL_CHECK_MAX, "%s", b->check);
    snprintf(op.u.transition.reason, sizeof(op.u.transition.reason), "%s", b->reason);
    submit(e, &op);
}

/* A resolution's reason is the bot's reason now (what it is instead). */
static const char *alert_reason(const struct col_bot *b, const struct col_alert *a,
                                enum col_alert_event ev)
{
    return ev == COL_ALERT_RESOLVED ? b->reason : a->reason;
}

static void store_alert(struct col_engine *e, const struct col_bot *b, const struct col_alert *a,
                        enum col_alert_event ev, int64_t now_wall)
{
    struct col_store_op op = {.kind = COL_OP_ALERT, .ts = now_wall};
    new_event_id(e, op.event_id, sizeof(op.event_id));
    snprintf(op.u.alert.bot, sizeof(op.u.alert.bot), "%s", b->id);
    snprintf(op.u.alert.check, COL_CHECK_MAX, "%s", a->check);
    snprintf(op.u.alert.event, sizeof(op.u.alert.event), "%s", col_alert_event_name(ev));
    snprintf(op.u.alert.severity, sizeof(op.u.alert.severity), "%s",
             col_severity_name(a->severity));
    snprintf(op.u.alert.status, COL_STATUS_MAX, "%s", col_status_name(b->status));
    snprintf(op.u.alert.reason, sizeof(op.u.alert.reason), "%s", alert_reason(b, a, ev));
    snprintf(op.u.alert.alert_id, sizeof(op.u.alert.alert_id), "%s", a->id);
    submit(e, &op);
}

/* Queues the alert for the webhook thread: never waits for the network. */
static void send_webhook(struct col_engine *e, const struct col_bot *b, const struct col_alert *a,
                         enum col_alert_event ev, int64_t now_wall)
{
    char text[2 * COL_REASON_MAX + 3 * BP_ID_MAX + 96];
    const char *sev = ev == COL_ALERT_RESOLVED          ? "RESOLVED"
                      : a->severity == COL_SEV_CRITICAL ? "CRITICAL"
                                                        : "WARNING";
    snprintf(text, sizeof(text), "[%s] bot %s on %s, check %s: %s (status %s; alert %s)", sev,
             b->id, b->agent ? b->agent->id : "?", a->check, alert_reason(b, a, ev),
             col_status_name(b->status), col_alert_event_name(ev));
    char *alert = col_encode_alert(b, a, alert_reason(b, a, ev), ev, now_wall);
    char *body =
        alert ? col_webhook_body(e->webhook_format, e->webhook_chat_id, alert, text) : NULL;
    free(alert);
    if (!body)
        BP_ERROR("webhook", "out of memory: alert for bot %s not queued", b->id);
    col_webhook_submit(e->webhook, body); /* a full queue is counted and logged there */
}

/* Whether the bot's correlated incident speaks for this alert: its status's alerts. */
static bool incident_speaks(const struct col_bot *b, const struct col_alert *a)
{
    return b->incident && (col_check_in_chain(a->check) || strcmp(a->check, b->check) == 0);
}

/* Records an alert event in PostgreSQL and tells MQTT and the webhook, unless silenced, or
 * the bot is in a correlated incident, which speaks for its status's alerts (not for, say,
 * its full disk). A resolution goes out if its opening did. */
static void announce(struct col_engine *e, struct col_bot *b, struct col_alert *a,
                     enum col_alert_event ev, int64_t now_mono, int64_t now_wall)
{
    if (ev != COL_ALERT_RESOLVED)
        a->last_sent_mono = now_mono;
    const struct col_silence *sl =
        ev == COL_ALERT_RESOLVED ? NULL : silence_for(e, b, a->check, now_mono);
    bool in_incident = incident_speaks(b, a);
    bool tell = ev == COL_ALERT_RESOLVED ? a->announced : !in_incident && !sl;
    char note[COL_SILENCE_ID_MAX + 48] = "";
    if (!tell)
        snprintf(note, sizeof(note), " (not announced: %s%s)",
                 sl ? "silenced by " : "part of an incident", sl ? sl->id : "");
    BP_INFO("alerts", "%s %s %s alert for bot %s: %s: %s%s", col_alert_event_name(ev),
            col_severity_name(a->severity), a->check, b->id, col_status_name(b->status),
            alert_reason(b, a, ev), note);
    store_alert(e, b, a, ev, now_wall);
    if (!tell)
        return;
    a->announced = ev != COL_ALERT_RESOLVED;
    if (e->mqtt)
        col_publish_alert(e->mqtt, e->cfg->topic_root, b, a, alert_reason(b, a, ev), ev, now_wall);
    if (e->webhook)
        send_webhook(e, b, a, ev, now_wall);
}

/* Tells MQTT and the webhook about a correlated incident. */
static void announce_incident(struct col_engine *e, struct col_incident *inc,
                              enum col_incident_event ev, int64_t now_wall)
{
    char reason[256];
    col_incident_reason(inc, e->cfg->incidents.window_ms, reason, sizeof(reason));
    inc->dirty = false;
    BP_WARN("incidents", "incident %s %s: %s", inc->id, col_incident_event_name(ev), reason);
    if (e->mqtt)
        col_publish_incident(e->mqtt, e->cfg->topic_root, inc, ev, reason, now_wall);
    if (!e->webhook)
        return;
    char text[512];
    size_t n = (size_t)snprintf(text, sizeof(text), "[%s] incident %s: %s:",
                                ev == COL_INCIDENT_RESOLVED         ? "RESOLVED"
                                : inc->severity == COL_SEV_CRITICAL ? "CRITICAL"
                                                                    : "WARNING",
                                col_incident_event_name(ev), reason);
    for (size_t i = 0; i < inc->nbots && n + BP_ID_MAX + 8 < sizeof(text); i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s %s", i ? "," : "", inc->bots[i]->id);
    if (inc->nbots > 0 && n + BP_ID_MAX + 8 >= sizeof(text))
        snprintf(text + n, sizeof(text) - n, " ...");
    char *json = col_encode_incident(inc, ev, reason, now_wall);
    char *body = json ? col_webhook_body(e->webhook_format, e->webhook_chat_id, json, text) : NULL;
    free(json);
    col_webhook_submit(e->webhook, body); /* NULL (out of memory) is counted there */
}

static void note_incident(struct col_engine *e, struct col_bot *b, int64_t now_mono,
                          int64_t now_wall)
{
    char id[COL_INCIDENT_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s-i%llu", e->run_id, (unsigned long long)++e->next_event);
    struct col_incident *inc;
    enum col_incident_event ev = col_incidents_on_change(
        &e->incidents, &e->fleet, b, &e->cfg->incidents, id, now_mono, now_wall, &inc);
    if (ev == COL_INCIDENT_OPENED || ev == COL_INCIDENT_RESOLVED)
        announce_incident(e, inc, ev, now_wall);
    else if (ev == COL_INCIDENT_UPDATED)
        e->incidents_dirty = true; /* joins are announced together, with the summary */
    if (ev == COL_INCIDENT_RESOLVED)
        col_incidents_reap(&e->incidents);
}

static void new_alert_id(struct col_engine *e, char *buf, size_t size)
{
    snprintf(buf, size, "%s-a%llu", e->run_id, (unsigned long long)++e->next_event);
}

struct apply_ctx {
    struct col_engine *e;
    struct col_bot *b;
    int64_t now_mono, now_wall;
};

static void apply_id(void *ctx, char *buf, size_t size)
{
    new_alert_id(((struct apply_ctx *)ctx)->e, buf, size);
}

static void apply_emit(void *ctx, struct col_alert *a, enum col_alert_event ev)
{
    struct apply_ctx *x = ctx;
    announce(x->e, x->b, a, ev, x->now_mono, x->now_wall);
}

static void resolve_alert(struct col_engine *e, struct col_bot *b, struct col_alert *a,
                          int64_t now_mono, int64_t now_wall)
{
    announce(e, b, a, COL_ALERT_RESOLVED, now_mono, now_wall);
    col_alerts_remove(&b->alerts, a);
}

/* Recovery gave up on a bot (or it is back): its manual-intervention alert, check
 * "recovery", opens (or resolves) among the bot's alerts, announced like any other. */
static void recovery_manual(void *ctx, const char *bot, bool open, const char *reason)
{
    struct col_engine *e = ctx;
    struct col_bot *b = col_fleet_bot(&e->fleet, bot);
    if (!b)
        return;
    int64_t now_mono = bp_mono_ms(), now_wall = bp_wall_ms();
    struct col_alert *a = col_alerts_find(&b->alerts, "recovery");
    if (!open) {
        if (a) /* else resolved already, when the bot turned healthy */
            resolve_alert(e, b, a, now_mono, now_wall);
        return;
    }
    if (a)
        return; /* one per bot: this one, restored, or still open */
    char id[COL_ALERT_ID_MAX + 1];
    new_alert_id(e, id, sizeof(id));
    if (!(a = col_alerts_open(&b->alerts, "recovery", COL_SEV_CRITICAL, reason, id, now_wall))) {
        BP_ERROR("alerts", "out of memory: manual-intervention alert for bot %s", b->id);
        return;
    }
    announce(e, b, a, COL_ALERT_OPENED, now_mono, now_wall);
}

/* The verdict's findings to the bot's alerts: one per failing check. A bot that does not flap
 * (any more, or in this run: a restored one) resolves its flapping alert first, and a bot that
 * works again its manual-intervention alert (restored ones included). */
static void apply_alerts(struct col_engine *e, struct col_bot *b, const struct col_verdict *v,
                         int64_t now_mono, int64_t now_wall)
{
    struct col_alert *flap = col_alerts_find(&b->alerts, "flapping");
    if (flap && v->status != COL_ST_UNKNOWN)
        resolve_alert(e, b, flap, now_mono, now_wall);
    struct col_alert *manual = col_alerts_find(&b->alerts, "recovery");
    if (manual && (v->status == COL_ST_HEALTHY || v->status == COL_ST_IDLE))
        resolve_alert(e, b, manual, now_mono, now_wall);
    struct apply_ctx x = {e, b, now_mono, now_wall};
    if (col_alerts_apply(&b->alerts, v, now_wall, apply_id, apply_emit, &x) > 0)
        BP_ERROR("alerts", "out of memory: an alert for bot %s could not be opened", b->id);
}

/* The bot just started flapping: one alert (check "flapping") says so, opened or reminded
 * with the new reason, and until it settles no other alert event goes out for it. */
static void announce_flapping(struct col_engine *e, struct col_bot *b, int64_t now_mono,
                              int64_t now_wall)
{
    enum col_severity sev = b->severity > COL_SEV_WARNING ? b->severity : COL_SEV_WARNING;
    struct col_alert *a = col_alerts_find(&b->alerts, "flapping");
    enum col_alert_event ev = COL_ALERT_REPEATED;
    if (!a) {
        char id[COL_ALERT_ID_MAX + 1];
        new_alert_id(e, id, sizeof(id));
        if (!(a = col_alerts_open(&b->alerts, "flapping", sev, b->reason, id, now_wall))) {
            BP_ERROR("alerts", "out of memory: flapping alert for bot %s", b->id);
            return;
        }
        ev = COL_ALERT_OPENED;
    }
    if (sev > a->severity)
        a->severity = sev;
    snprintf(a->reason, sizeof(a->reason), "%s", b->reason);
    announce(e, b, a, ev, now_mono, now_wall);
}

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
    store_transition(e, b, from, now_wall);
    store_bot(e, b, now_wall);
    if (e->mqtt) {
        struct col_bot_snapshot snap;
        col_bot_snapshot_take(b, &snap);
        col_publish_status(e->mqtt, e->cfg->topic_root, &snap, now_wall);
    }
    note_incident(e, b, now_mono, now_wall); /* before the alerts: a member's are quiet */
    if (flap_started) {
        BP_WARN("rules", "bot %s is flapping: %s", b->id, b->reason);
        announce_flapping(e, b, now_mono, now_wall);
    }
    e->summary_dirty = true;
}

/* A whole window without a change: the bot is judged as usual again, and says so. */
static void settle(struct col_engine *e, struct col_bot *b, const struct col_verdict *v,
                   int64_t now_mono, int64_t now_wall)
{
    set_reason(e, b, v->reason, now_mono); /* no longer prefixed */
    BP_INFO("rules", "bot %s stopped flapping: %s: %s", b->id, col_status_name(b->status),
            b->reason);
    store_bot(e, b, now_wall);
    if (e->mqtt) {
        struct col_bot_snapshot snap;
        col_bot_snapshot_take(b, &snap);
        col_publish_status(e->mqtt, e->cfg->topic_root, &snap, now_wall);
    }
    apply_alerts(e, b, v, now_mono, now_wall);
    for (int i = 0; i < b->alerts.n; i++) /* still bad after all that: their news */
        if (b->alerts.v[i].last_sent_mono != now_mono)
            announce(e, b, &b->alerts.v[i], COL_ALERT_REPEATED, now_mono, now_wall);
}

static void evaluate(struct col_engine *e, struct col_bot *b, int64_t now_mono, int64_t now_wall)
{
    struct col_verdict v;
    col_rules_evaluate(&b->ev, &b->limits, now_mono, &v);
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
    int64_t calm;
    if (col_flap_settled(&b->flap, &e->cfg->flap, now_mono, &calm))
        settle(e, b, &v, now_mono, now_wall);
    else if (!b->flap.flapping)
        apply_alerts(e, b, &v, now_mono, now_wall);
    if (changed)
        note_recovery(e, b, now_mono);
    int64_t next = v.next_due_mono < calm ? v.next_due_mono : calm, reminder;
    for (int i = 0; i < b->alerts.n; i++) {
        struct col_alert *a = &b->alerts.v[i];
        if (col_alert_repeat_due(a, e->cfg->alert_repeat_ms, now_mono, &reminder)) {
            a->repeats++;
            announce(e, b, a, COL_ALERT_REPEATED, now_mono, now_wall);
        }
        if (reminder < next)
            next = reminder;
    }
    if (next == INT64_MAX)
        bp_timerheap_remove(&e->timers, &b->timer);
    else if (bp_timerheap_set(&e->timers, &b->timer, next) < 0)
        BP_ERROR("rules", "out of memory scheduling bot %s", b->id);
}

static struct col_agent *agent_for(struct col_engine *e, const char *id)
{
    struct col_agent *a = col_fleet_agent(&e->fleet, id);
    return a ? a : col_fleet_agent_add(&e->fleet, id);
}

/* The bot, created (with its configured limits and labels) on first sight, and attached to
 * the agent that speaks for it. NULL on ENOMEM. */
static struct col_bot *bot_for(struct col_engine *e, struct col_agent *a, const char *id,
                               int64_t now_mono)
{
    struct col_bot *b = col_fleet_bot(&e->fleet, id);
    if (!b) {
        b = col_fleet_bot_add(&e->fleet, id, now_mono);
        if (!b)
            return NULL;
        col_settings_limits_for(e->cfg, id, "", &b->limits);
        col_intent_apply(b);
        const struct col_bot_override *o = col_settings_find_bot(e->cfg, id);
        if (o && o->account[0])
            col_fleet_set_account(&e->fleet, b, o->account);
        if (o && o->exchange[0])
            snprintf(b->exchange, sizeof(b->exchange), "%s", o->exchange);
    }
    if (a && b->agent != a) {
        if (b->agent)
            BP_WARN("engine", "bot %s moved from agent %s to agent %s", id, b->agent->id, a->id);
        if (col_fleet_attach(&e->fleet, a, b) < 0)
            BP_ERROR("engine", "out of memory attaching bot %s", id);
    }
    return b;
}

/* Labels from the agent apply unless the collector's config overrides them. */
static void apply_labels(struct col_engine *e, struct col_bot *b, const struct bp_bot_info *info)
{
    const struct col_bot_override *o = col_settings_find_bot(e->cfg, b->id);
    if (!(o && o->account[0]))
        col_fleet_set_account(&e->fleet, b, info->account);
    if (!(o && o->exchange[0]))
        snprintf(b->exchange, sizeof(b->exchange), "%s", info->exchange);
    col_settings_limits_for(e->cfg, b->id, b->account, &b->limits); /* [account] may apply */
    col_intent_apply(b);
}

static void store_agent(struct col_engine *e, const struct col_agent *a, int64_t now_wall)
{
    struct col_store_op op = {.kind = COL_OP_AGENT, .ts = now_wall};
    snprintf(op.u.agent.agent, sizeof(op.u.agent.agent), "%s", a->id);
    snprintf(op.u.agent.host, sizeof(op.u.agent.host), "%s", a->host);
    snprintf(op.u.agent.version, sizeof(op.u.agent.version), "%s", a->version);
    snprintf(op.u.agent.boot, sizeof(op.u.agent.boot), "%s", a->boot);
    op.u.agent.online = !a->offline;
    op.u.agent.clock_offset_ms = a->skew.ahead_ms;
    submit(e, &op);
}

/* Every message from an agent refines its clock offset; its bots see the estimate. */
static void note_clock(struct col_engine *e, struct col_agent *a, const struct col_event *ev)
{
    int64_t ahead = col_skew_add(&a->skew, ev->msg.hdr.ts, ev->recv_wall);
    int64_t moved = ahead - a->skew_stored_ms;
    if (moved > 250 || moved < -250) { /* worth a row: the agents table shows it */
        a->skew_stored_ms = ahead;
        store_agent(e, a, ev->recv_wall);
    }
    for (size_t i = 0; i < a->nbots; i++) {
        a->bots[i]->ev.clock_known = true;
        a->bots[i]->ev.clock_ahead_ms = ahead;
    }
}

static void on_agent_state(struct col_engine *e, const struct col_event *ev)
{
    const struct bp_msg_header *h = &ev->msg.hdr;
    const struct bp_agent_state *st = &ev->msg.u.agent_state;
    struct col_agent *a = agent_for(e, h->agent);
    if (!a)
        return;
    if (st->online) /* a Will was composed at connect time: its ts says nothing of the clock */
        note_clock(e, a, ev);
    if (a->offline == st->online || strcmp(a->boot, h->boot) != 0)
        BP_INFO("engine", "agent %s is %s (host %s, boot %s, %d bots)", a->id,
                st->online ? "online" : "offline", st->host, h->boot, st->nbots);
    if (!st->online && !a->offline && ev->recv_mono < e->grace_until_mono) {
        if (!a->offline_pending) {
            a->offline_pending = true;
            e->offline_pending++;
            BP_INFO("engine", "agent %s offline during reconnect grace: waiting for it", a->id);
        }
    } else {
        if (a->offline_pending) {
            a->offline_pending = false;
            e->offline_pending--;
        }
        a->offline = !st->online;
    }
    col_fleet_set_host(&e->fleet, a, st->host);
    snprintf(a->version, sizeof(a->version), "%s", st->version);
    snprintf(a->boot, sizeof(a->boot), "%s", h->boot);
    for (int i = 0; i < st->nbots; i++) {
        struct col_bot *b = bot_for(e, a, st->bots[i].id, ev->recv_mono);
        if (b)
            apply_labels(e, b, &st->bots[i]);
    }
    store_agent(e, a, ev->recv_wall);
    for (size_t i = 0; i < a->nbots; i++) {
        struct col_bot *b = a->bots[i];
        b->ev.agent_offline = a->offline;
        if (b->ev.heartbeat_interval_ms == 0)
            b->ev.heartbeat_interval_ms = st->heartbeat_ms;
        evaluate(e, b, ev->recv_mono, ev->recv_wall);
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
    if (b->limits.cadence_factor > 0 && !b->cadence) {
        b->cadence = calloc(1, sizeof(*b->cadence));
        if (!b->cadence)
            BP_ERROR("engine", "out of memory: bot %s judged without its learned cadence", b->id);
    }
    if (b->cadence) {
        col_cadence_note_trade(b->cadence, trade_ts); /* gaps on the agent's clock: no skew */
        b->ev.cadence_gap_ms =
            col_cadence_expected(b->cadence, trade_ts, b->limits.cadence_min_samples);
    }
}

static void maybe_sample(struct col_engine *e, struct col_bot *b, const struct col_event *ev)
{
    if (ev->recv_mono - b->last_sample_mono < e->cfg->sample_interval_ms)
        return;
    b->last_sample_mono = ev->recv_mono;
    struct col_store_op op = {.kind = COL_OP_SAMPLE, .ts = ev->recv_wall};
    snprintf(op.u.sample.bot, sizeof(op.u.sample.bot), "%s", b->id);
    op.u.sample.stats = ev->msg.u.stats;
    submit(e, &op);
    store_bot(e, b, ev->recv_wall); /* keeps last_heartbeat/last_trade in the table fresh */
}

static void on_bot_message(struct col_engine *e, const struct col_event *ev)
{
    const struct bp_msg_header *h = &ev->msg.hdr;
    struct col_agent *a = agent_for(e, h->agent);
    struct col_bot *b = bot_for(e, a, h->bot, ev->recv_mono);
    if (!b)
        return;
    note_clock(e, a, ev);
    switch (h->type) {
    case BP_MSG_HEARTBEAT: {
        const struct bp_heartbeat *hb = &ev->msg.u.heartbeat;
        b->ev.has_heartbeat = true;
        b->ev.last_heartbeat_mono = ev->recv_mono;
        b->ev.heartbeat_interval_ms = hb->interval_ms;
        b->ev.proc_alive = hb->proc.alive;
        b->ev.pid = hb->proc.pid;
        b->last_heartbeat_wall = ev->recv_wall;
        note_trade(b, ev, hb->last_trade_ts);
        col_evidence_apply_signals(&b->ev, hb, h->ts, ev->recv_mono);
        col_evidence_apply_log(&b->ev, hb, h->ts, ev->recv_mono);
        col_evidence_count_failures(&b->ev, &b->limits);
        break;
    }
    case BP_MSG_STATS: {
        const struct bp_stats *st = &ev->msg.u.stats;
        maybe_sample(e, b, ev);
        b->ev.res_level =
            col_resources_level(&b->limits, st->proc_cpu_pct, st->host_cpu_pct, st->host_mem_pct,
                                st->host_disk_pct, b->ev.res_reason, sizeof(b->ev.res_reason));
        if (b->ev.res_level == COL_LEVEL_OK)
            b->ev.res_streak = 0;
        else if (b->ev.res_streak < 1000000)
            b->ev.res_streak++;
        break;
    }
    case BP_MSG_TRADE: {
        struct col_store_op op = {.kind = COL_OP_TRADE, .ts = ev->recv_wall};
        snprintf(op.u.trade.agent, sizeof(op.u.trade.agent), "%s", h->agent);
        snprintf(op.u.trade.boot, sizeof(op.u.trade.boot), "%s", h->boot);
        op.u.trade.seq = h->seq;
        snprintf(op.u.trade.bot, sizeof(op.u.trade.bot), "%s", h->bot);
        op.u.trade.trade = ev->msg.u.trade;
        submit(e, &op);
        note_trade(b, ev, ev->msg.u.trade.trade_ts);
        break;
    }
    case BP_MSG_EVENT: /* logged, not judged (not stored yet) */
        BP_INFO("engine", "event from bot %s: %s", b->id, ev->msg.u.event.text);
        return;
    default:
        return;
    }
    evaluate(e, b, ev->recv_mono, ev->recv_wall);
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
        evaluate(w->e, a->bots[i], w->now_mono, w->now_wall);
    }
}

/* Moves a bot's liveness clock forward by the time we were blind, then re-evaluates it. */
static void shift_bot(void *ctx, const char *key, void *v)
{
    struct walk *w = ctx;
    struct col_bot *b = v;
    col_evidence_shift(&b->ev, w->shift);
    evaluate(w->e, b, w->now_mono, w->now_wall);
}

static void on_connection(struct col_engine *e, const struct col_event *ev)
{
    if (ev->kind == COL_EV_DISCONNECTED) {
        if (!e->blind)
            BP_WARN("engine", "broker connection lost: liveness judgement paused");
        e->blind = true;
        e->blind_since_mono = ev->recv_mono;
        if (e->recovery) /* nothing we see now is news: no restarts while blind */
            col_recovery_pause_until(e->recovery, INT64_MAX);
        return;
    }
    e->grace_until_mono = ev->recv_mono + e->cfg->reconnect_grace_ms;
    if (e->recovery)
        col_recovery_pause_until(e->recovery, e->grace_until_mono);
    if (!e->blind)
        return;
    e->blind = false;
    struct walk w = {e, ev->recv_mono - e->blind_since_mono, ev->recv_mono, ev->recv_wall};
    BP_INFO("engine", "broker connection back after %lld ms: liveness judgement resumed",
            (long long)w.shift);
    col_strmap_each(e->fleet.bots, shift_bot, &w);
}

/* ---- silences ------------------------------------------------------------------------ */

static void store_silence(struct col_engine *e, const struct col_silence *sl, int64_t removed_at,
                          int64_t now_wall)
{
    struct col_store_op op;
    col_store_op_silence(&op, sl, removed_at, now_wall);
    submit(e, &op);
}

struct ended {
    struct col_engine *e;
    const struct col_silence *sl;
    int64_t now_mono, now_wall;
};

/* A bot whose open alert the ended silence kept quiet hears of it now, unless another
 * silence or an incident still speaks for it. */
static void unsilence_bot(void *ctx, const char *key, void *v)
{
    struct ended *x = ctx;
    struct col_bot *b = v;
    (void)key;
    if (col_silence_matches(x->sl, b->id, b->account, col_bot_host(b), b->check))
        note_recovery(x->e, b, x->now_mono); /* no longer paused, unless another silence */
    for (int i = 0; i < b->alerts.n; i++) {
        struct col_alert *a = &b->alerts.v[i];
        bool held_by_flapping = b->flap.flapping && strcmp(a->check, "flapping") != 0;
        if (incident_speaks(b, a) || held_by_flapping ||
            !col_silence_matches(x->sl, b->id, b->account, col_bot_host(b), a->check) ||
            silence_for(x->e, b, a->check, x->now_mono))
            continue;
        a->repeats++;
        announce(x->e, b, a, COL_ALERT_REPEATED, x->now_mono, x->now_wall);
    }
}

/* A silence ran out or was removed: announce the alerts it hid (a rare event, so one walk). */
static void silence_ended(struct col_engine *e, const struct col_silence *sl, int64_t now_mono,
                          int64_t now_wall)
{
    BP_INFO("silences", "silence %s ended (%s)", sl->id, sl->reason);
    struct ended x = {e, sl, now_mono, now_wall};
    col_strmap_each(e->fleet.bots, unsilence_bot, &x);
}

/* Starts a silence: ends_mono from ends_at, as far ahead as it is on the wall clock. */
static int start_silence(struct col_engine *e, struct col_silence *sl, int64_t now_mono,
                         int64_t now_wall)
{
    if (sl->ends_at <= now_wall)
        return -EINVAL;
    sl->ends_mono = now_mono + (sl->ends_at - now_wall);
    return col_silences_add(&e->silences, sl);
}

int col_engine_restore_silence(struct col_engine *e, const struct col_silence *sl, int64_t now_mono,
                               int64_t now_wall)
{
    struct col_silence copy = *sl;
    return start_silence(e, &copy, now_mono, now_wall);
}

static void answer_silence(struct col_engine *e, struct col_query *qr, const struct col_event *ev)
{
    struct col_silence *sl = &qr->silence;
    if (qr->kind == COL_Q_SILENCES) {
        qr->rc = col_silences_copy(&e->silences, &qr->silences, &qr->nsilences);
    } else if (qr->kind == COL_Q_SILENCE_ADD) {
        new_event_id(e, sl->id, sizeof(sl->id));
        sl->created_at = ev->recv_wall;
        if ((qr->rc = start_silence(e, sl, ev->recv_mono, ev->recv_wall)) == 0) {
            BP_INFO("silences",
                    "silence %s by %s until %lld: bot '%s' account '%s' host '%s' "
                    "check '%s': %s",
                    sl->id, sl->created_by, (long long)sl->ends_at, sl->bot, sl->account, sl->host,
                    sl->check, sl->reason);
            store_silence(e, sl, 0, ev->recv_wall);
        }
    } else if ((qr->rc = col_silences_remove(&e->silences, sl->id, sl)) == 0) {
        store_silence(e, sl, ev->recv_wall, ev->recv_wall);
        silence_ended(e, sl, ev->recv_mono, ev->recv_wall);
    }
}

/* An operator's intended state: the bot is judged again at once under it (a bot intended
 * stopped that is gone resolves its alert), and the answer is the bot after that. */
static void answer_intent(struct col_engine *e, struct col_query *qr, const struct col_event *ev)
{
    struct col_bot *b = col_fleet_bot(&e->fleet, qr->filter.bot);
    if (!b) {
        qr->rc = -ENOENT;
        return;
    }
    if ((qr->rc = col_intent_set(b, (enum col_intent)qr->intent)) < 0)
        return;
    BP_INFO("rules", "bot %s: intended %s (operator)", b->id,
            col_intent_name(b->intent, b->limits.intended_stopped));
    struct col_store_op op = {.kind = COL_OP_INTENT, .ts = ev->recv_wall};
    snprintf(op.u.intent.bot, sizeof(op.u.intent.bot), "%s", b->id);
    snprintf(op.u.intent.intended, sizeof(op.u.intent.intended), "%s",
             col_intent_name(b->intent, b->limits.intended_stopped));
    submit(e, &op);
    evaluate(e, b, ev->recv_mono, ev->recv_wall);
    note_recovery(e, b, ev->recv_mono); /* recovery pauses (or resumes) with the intent */
    qr->rc = col_query_add_bot(qr, b);
}

static void collect_bot(void *ctx, const char *key, void *v)
{
    struct col_query *qr = ctx;
    if (qr->rc == 0 && col_query_matches(&qr->filter, v))
        qr->rc = col_query_add_bot(qr, v);
}

/* Answers a question from another thread with copies; the asker never sees the fleet. */
static void answer(struct col_engine *e, const struct col_event *ev)
{
    struct col_query *qr = ev->query;
    qr->blind = e->blind;
    qr->fleet_size = col_strmap_len(e->fleet.bots);
    if ((qr->have_commands = e->commander != NULL))
        col_commander_counts(e->commander, &qr->commands);
    if (qr->kind == COL_Q_RESTART) {
        col_manual_answer(e->manual, e->commander, col_fleet_bot(&e->fleet, qr->filter.bot),
                          e->blind, qr, ev->recv_mono);
        col_query_finish(qr);
        return;
    }
    if (qr->kind == COL_Q_INTEND) {
        answer_intent(e, qr, ev);
        col_query_finish(qr);
        return;
    }
    if (qr->kind == COL_Q_SILENCES || qr->kind == COL_Q_SILENCE_ADD ||
        qr->kind == COL_Q_SILENCE_REMOVE) { /* not by order: kinds are added after them */
        answer_silence(e, qr, ev);
        col_query_finish(qr);
        return;
    }
    struct col_bot *b = qr->filter.bot[0] ? col_fleet_bot(&e->fleet, qr->filter.bot) : NULL;
    if (qr->kind == COL_Q_CHECK) {
        if (!b)
            qr->rc = -ENOENT;
        else if (e->blind) /* no evidence can reach us: judging now would be a guess */
            qr->rc = -EAGAIN;
        else
            evaluate(e, b, ev->recv_mono, ev->recv_wall);
        if (b && qr->rc == 0)
            qr->rc = col_query_add_bot(qr, b);
    } else if (qr->kind == COL_Q_BOTS && qr->filter.bot[0]) {
        qr->rc = b ? (col_query_matches(&qr->filter, b) ? col_query_add_bot(qr, b) : 0) : -ENOENT;
    } else if (qr->kind == COL_Q_BOTS) {
        col_strmap_each(e->fleet.bots, collect_bot, qr);
    }
    col_query_finish(qr);
}

/* An agent's answer to a command: stored whether or not recovery is on (a refused forgery is
 * worth keeping), then handed to recovery. */
static void on_result(struct col_engine *e, const struct col_event *ev)
{
    const struct bp_command_result *r = &ev->msg.u.result;
    col_commander_store_result(e->store, ev);
    if (e->commander)
        col_commander_count_result(e->commander, r->action, r->outcome);
    if (e->recovery)
        col_recovery_on_result(e->recovery, ev->msg.hdr.bot, r->nonce, r->outcome, ev->recv_mono);
}

void col_engine_handle(struct col_engine *e, const struct col_event *ev)
{
    if (ev->kind == COL_EV_QUERY)
        answer(e, ev);
    else if (ev->kind != COL_EV_MESSAGE)
        on_connection(e, ev);
    else if (ev->msg.hdr.type == BP_MSG_AGENT_STATE)
        on_agent_state(e, ev);
    else if (ev->msg.hdr.type == BP_MSG_COMMAND_RESULT)
        on_result(e, ev);
    else if (bp_msg_type_is_bot_level(ev->msg.hdr.type))
        on_bot_message(e, ev);
}

static void publish_stats(struct col_engine *e, int64_t now_mono, int64_t now_wall)
{
    struct col_collector_stats s = {0};
    s.uptime_s = (now_mono - e->started_mono) / 1000;
    if (e->ingest)
        col_ingest_get_stats(e->ingest, &s.ingest);
    s.bots = (int64_t)col_strmap_len(e->fleet.bots);
    s.mqtt_connected = e->mqtt && bp_mqtt_is_connected(e->mqtt);
    if (e->store)
        col_store_get_stats(e->store, &s.store);
    if ((s.has_webhook = e->webhook != NULL))
        col_webhook_get_stats(e->webhook, &s.webhook);
    if (e->mqtt)
        col_publish_collector_stats(e->mqtt, e->cfg->topic_root, e->cfg->id, &s, now_wall);
}

void col_engine_tick(struct col_engine *e, int64_t now_mono, int64_t now_wall)
{
    struct bp_timer *t;
    if (e->offline_pending && now_mono >= e->grace_until_mono) { /* first: the truer reason */
        struct walk w = {e, 0, now_mono, now_wall};
        col_strmap_each(e->fleet.agents, apply_offline, &w);
        e->offline_pending = 0;
    }
    while (!e->blind && (t = bp_timerheap_pop_due(&e->timers, now_mono)) != NULL)
        evaluate(e, BP_CONTAINER_OF(t, struct col_bot, timer), now_mono, now_wall);
    if (e->summary_dirty && now_mono >= e->summary_last_mono + e->cfg->summary_interval_ms) {
        e->summary_dirty = false;
        e->summary_last_mono = now_mono;
        if (e->mqtt)
            col_publish_summary(e->mqtt, e->cfg->topic_root, &e->fleet, now_wall);
        for (size_t i = 0; e->incidents_dirty && i < e->incidents.n; i++)
            if (e->incidents.open[i]->dirty)
                announce_incident(e, e->incidents.open[i], COL_INCIDENT_UPDATED, now_wall);
        e->incidents_dirty = false;
    }
    struct col_silence ended;
    while (col_silences_pop_ended(&e->silences, now_mono, &ended))
        silence_ended(e, &ended, now_mono, now_wall);
    if (now_mono >= e->stats_next_mono) {
        e->stats_next_mono = now_mono + e->cfg->stats_interval_ms;
        publish_stats(e, now_mono, now_wall);
    }
    if (e->recovery && !e->blind)
        col_recovery_tick(e->recovery, now_mono);
}

int64_t col_engine_next_deadline(const struct col_engine *e)
{
    int64_t next = e->stats_next_mono;
    struct bp_timer *t = e->blind ? NULL : bp_timerheap_peek(&e->timers);
    if (t && t->due_ms < next)
        next = t->due_ms;
    int64_t silence_end = col_silences_next_end(&e->silences);
    if (silence_end < next)
        next = silence_end;
    if (e->offline_pending && e->grace_until_mono < next)
        next = e->grace_until_mono;
    if (e->summary_dirty) {
        int64_t s = e->summary_last_mono + e->cfg->summary_interval_ms;
        if (s < next)
            next = s;
    }
    if (e->recovery && !e->blind && col_recovery_next_deadline(e->recovery) < next)
        next = col_recovery_next_deadline(e->recovery);
    return next;
}

void col_engine_run(struct col_engine *e, struct bp_queue *q, volatile sig_atomic_t *stop)
{
    void *batch[BATCH];
    while (!*stop) {
        col_engine_tick(e, bp_mono_ms(), bp_wall_ms());
        size_t n = bp_queue_pop_wait(q, batch, BATCH, col_engine_next_deadline(e));
        for (size_t i = 0; i < n; i++) {
            col_engine_handle(e, batch[i]);
            free(batch[i]);
        }
        /* handlers publish summaries lazily: a burst of changes makes one summary */
    }
}

int col_engine_restore_alert(struct col_engine *e, const char *bot, const char *check,
                             const char *alert_id, const char *severity, int64_t opened_at,
                             int64_t now_mono)
{
    if (!bp_id_is_valid(bot))
        return -EINVAL;
    struct col_bot *b = bot_for(e, NULL, bot, now_mono);
    if (!b)
        return -ENOMEM;
    int rc = col_alerts_restore(&b->alerts, alert_id, severity, check, opened_at);
    if (rc < 0)
        return rc;
    col_alerts_find(&b->alerts, check)->last_sent_mono = now_mono; /* a full period on */
    /* Judged like any bot first seen now: unknown until evidence, down if none comes. */
    int64_t due = b->ev.first_seen_mono + col_rules_heartbeat_timeout(&b->ev, &b->limits);
    return bp_timerheap_set(&e->timers, &b->timer, due) < 0 ? -ENOMEM : 0;
}

int col_engine_restore_intent(struct col_engine *e, const char *bot, enum col_intent intent,
                              int64_t now_mono)
{
    if (!bp_id_is_valid(bot))
        return -EINVAL;
    bool known = col_fleet_bot(&e->fleet, bot) != NULL;
    struct col_bot *b = bot_for(e, NULL, bot, now_mono);
    if (!b)
        return -ENOMEM;
    if (col_intent_set(b, intent) < 0)
        return -EINVAL;
    if (known)
        return 0;
    /* judged like any bot first seen now: unknown until evidence, down if none comes */
    int64_t due = b->ev.first_seen_mono + col_rules_heartbeat_timeout(&b->ev, &b->limits);
    return bp_timerheap_set(&e->timers, &b->timer, due) < 0 ? -ENOMEM : 0;
}
