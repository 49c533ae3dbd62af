/* SPDX-License-Identifier: MIT */
/* What the rules thread says, through the outbox: transitions and the bots rows, retained
 * statuses, alert events (stored always, told unless silenced or spoken for by an incident),
 * incidents, flapping, the summary and the collector's stats. Each alert is encoded once. */
#include "engine.h"
#include "engine_impl.h"

#include "clock.h"
#include "ingest.h"
#include "log.h"
#include "outbox.h"
#include "publish.h"
#include "settings.h"
#include "store_op.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bot's retained status: now when the outbox has room and none waits before it; else it
 * waits its turn, once however often the bot changes meanwhile, and its newest goes out. */
static void say_status(struct col_engine *e, struct col_bot *b, const struct col_bot_snapshot *now,
                       int64_t now_wall)
{
    if (!b->status_waiting && !e->status_head && col_outbox_room(e->out) > 0) {
        col_outbox_status(e->out, now, now_wall);
        return;
    }
    if (b->status_waiting)
        return;
    b->status_waiting = true;
    b->status_next = NULL;
    if (e->status_tail)
        e->status_tail->status_next = b;
    else
        e->status_head = b;
    e->status_tail = b;
    e->statuses_waiting++;
}

size_t engine_flush(struct col_engine *e, int64_t now_wall)
{
    size_t backlog = col_outbox_flush(e->out);
    while (e->status_head && col_outbox_room(e->out) > 0) {
        struct col_bot *b = e->status_head;
        e->status_head = b->status_next;
        if (!e->status_head)
            e->status_tail = NULL;
        b->status_waiting = false;
        b->status_next = NULL;
        e->statuses_waiting--;
        struct col_bot_snapshot snap;
        col_bot_snapshot_take(b, &snap);
        col_outbox_status(e->out, &snap, now_wall);
    }
    return backlog + e->statuses_waiting;
}

void engine_say_bot(struct col_engine *e, struct col_bot *b, bool status, int64_t now_wall)
{
    struct col_store_op op = {
        .kind = COL_OP_BOT, .ts = now_wall, .shard = col_bot_shard(&e->fleet, b)};
    col_bot_snapshot_take(b, &op.u.bot);
    col_outbox_row(e->out, &op);
    if (status) {
        b->said_wall = now_wall;
        say_status(e, b, &op.u.bot, now_wall);
    }
}

void engine_say_transition(struct col_engine *e, struct col_bot *b, enum col_status from,
                           int64_t now_wall)
{
    struct col_store_op op = {
        .kind = COL_OP_TRANSITION, .ts = now_wall, .shard = col_bot_shard(&e->fleet, b)};
    engine_new_id(e, "", op.event_id, sizeof(op.event_id));
    snprintf(op.u.transition.bot, sizeof(op.u.transition.bot), "%s", b->id);
    snprintf(op.u.transition.from_status, COL_STATUS_MAX, "%s", col_status_name(from));
    snprintf(op.u.transition.to_status, COL_STATUS_MAX, "%s", col_status_name(b->status));
    snprintf(op.u.transition.check, COL_CHECK_MAX, "%s", b->check);
    snprintf(op.u.transition.reason, sizeof(op.u.transition.reason), "%s", b->reason);
    col_outbox_row(e->out, &op);
    engine_say_bot(e, b, true, now_wall);
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
    struct col_store_op op = {
        .kind = COL_OP_ALERT, .ts = now_wall, .shard = col_bot_shard(&e->fleet, b)};
    engine_new_id(e, "", op.event_id, sizeof(op.event_id));
    snprintf(op.u.alert.bot, sizeof(op.u.alert.bot), "%s", b->id);
    snprintf(op.u.alert.check, COL_CHECK_MAX, "%s", a->check);
    snprintf(op.u.alert.event, sizeof(op.u.alert.event), "%s", col_alert_event_name(ev));
    snprintf(op.u.alert.severity, sizeof(op.u.alert.severity), "%s",
             col_severity_name(a->severity));
    snprintf(op.u.alert.status, COL_STATUS_MAX, "%s", col_status_name(b->status));
    snprintf(op.u.alert.reason, sizeof(op.u.alert.reason), "%s", alert_reason(b, a, ev));
    snprintf(op.u.alert.alert_id, sizeof(op.u.alert.alert_id), "%s", a->id);
    col_outbox_row(e->out, &op);
}

/* Tells the alert: encoded once, the same JSON for MQTT and the webhook, and a line for
 * people. */
static void tell_alert(struct col_engine *e, const struct col_bot *b, const struct col_alert *a,
                       enum col_alert_event ev, int64_t now_wall)
{
    struct col_bot_snapshot snap;
    col_bot_snapshot_take(b, &snap);
    char text[2 * COL_REASON_MAX + 3 * BP_ID_MAX + 96];
    const char *sev = ev == COL_ALERT_RESOLVED          ? "RESOLVED"
                      : a->severity == COL_SEV_CRITICAL ? "CRITICAL"
                                                        : "WARNING";
    snprintf(text, sizeof(text), "[%s] bot %s on %s, check %s: %s (status %s; alert %s)", sev,
             b->id, b->agent ? b->agent->id : "?", a->check, alert_reason(b, a, ev),
             col_status_name(b->status), col_alert_event_name(ev));
    char *json = col_encode_alert(&snap, a, alert_reason(b, a, ev), ev, now_wall);
    if (!json) {
        BP_ERROR("alerts", "out of memory: alert for bot %s not told", b->id);
        return;
    }
    struct col_alert_note n = {.bot = &snap, .alert = a, .event = ev, .json = json, .text = text};
    col_outbox_alert(e->out, &n);
    free(json);
}

bool engine_incident_speaks(const struct col_bot *b, const struct col_alert *a)
{
    return b->incident && (col_check_in_chain(a->check) || strcmp(a->check, b->check) == 0);
}

void engine_announce(struct col_engine *e, struct col_bot *b, struct col_alert *a,
                     enum col_alert_event ev, int64_t now_mono, int64_t now_wall)
{
    if (ev != COL_ALERT_RESOLVED)
        a->last_sent_mono = now_mono;
    const struct col_silence *sl =
        ev == COL_ALERT_RESOLVED ? NULL : engine_silence_for(e, b, a->check, now_mono);
    bool in_incident = engine_incident_speaks(b, a);
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
    tell_alert(e, b, a, ev, now_wall);
}

void engine_resolve_alert(struct col_engine *e, struct col_bot *b, struct col_alert *a,
                          int64_t now_mono, int64_t now_wall)
{
    engine_announce(e, b, a, COL_ALERT_RESOLVED, now_mono, now_wall);
    col_alerts_remove(&b->alerts, a);
}

/* ---- incidents -------------------------------------------------------------------------- */

/* Tells MQTT and the webhook about a correlated incident. */
static void announce_incident(struct col_engine *e, struct col_incident *inc,
                              enum col_incident_event ev, int64_t now_wall)
{
    char reason[256];
    col_incident_reason(inc, e->cfg->incidents.window_ms, reason, sizeof(reason));
    inc->dirty = false;
    BP_WARN("incidents", "incident %s %s: %s", inc->id, col_incident_event_name(ev), reason);
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
    if (!json) {
        BP_ERROR("incidents", "out of memory: incident %s not told", inc->id);
        return;
    }
    struct col_incident_note note = {.incident = inc, .event = ev, .json = json, .text = text};
    col_outbox_incident(e->out, &note);
    free(json);
}

void engine_note_incident(struct col_engine *e, struct col_bot *b, int64_t now_mono,
                          int64_t now_wall)
{
    char id[COL_INCIDENT_ID_MAX + 1];
    engine_new_id(e, "i", id, sizeof(id));
    struct col_incident *inc;
    enum col_incident_event ev =
        col_incidents_on_change(&e->incidents, b, &e->cfg->incidents, id, now_mono, now_wall, &inc);
    if (ev == COL_INCIDENT_OPENED || ev == COL_INCIDENT_RESOLVED)
        announce_incident(e, inc, ev, now_wall);
    else if (ev == COL_INCIDENT_UPDATED)
        e->incidents_dirty = true; /* joins are announced together, with the summary */
    if (ev == COL_INCIDENT_RESOLVED)
        col_incidents_reap(&e->incidents);
}

void engine_say_summary(struct col_engine *e, int64_t now_wall)
{
    col_outbox_summary(e->out, &e->fleet, now_wall);
    for (size_t i = 0; e->incidents_dirty && i < e->incidents.n; i++)
        if (e->incidents.open[i]->dirty)
            announce_incident(e, e->incidents.open[i], COL_INCIDENT_UPDATED, now_wall);
    e->incidents_dirty = false;
}

void engine_say_stats(struct col_engine *e, int64_t now_mono, int64_t now_wall)
{
    struct col_collector_stats s = {0};
    s.uptime_s = (now_mono - e->started_mono) / 1000;
    if (e->ingest)
        col_ingest_get_stats(e->ingest, &s.ingest);
    s.queue_len = (int64_t)e->queue_len;
    s.lag_ms = e->lag_ms;
    s.lag_max_ms = e->lag_max_ms;
    s.behind = e->lag_ms > COL_ENGINE_BEHIND_MS;
    s.blind = e->blind;
    s.echo_lost = e->echo_lost;
    s.echo_losses = e->echo_lost_count;
    s.bots = (int64_t)col_strmap_len(e->fleet.bots);
    s.restarts = e->restarts_seen;
    e->last_stats_wall = now_wall;
    memcpy(s.claims_refused, e->claims.refused, sizeof(s.claims_refused));
    s.bots_refused = e->bots_refused;
    col_outbox_stats(e->out, &s, now_wall);
    /* A burst (the fleet reporting in, a storm) leaves freed heap behind in every thread's
     * arena: hand it back to the kernel while nothing waits, so RSS says what the fleet holds. */
    if (e->queue_len == 0)
        malloc_trim(0);
}

/* ---- alerts the rules do not judge: flapping, recovery ------------------------------------ */

struct apply_ctx {
    struct col_engine *e;
    struct col_bot *b;
    int64_t now_mono, now_wall;
};

static void apply_id(void *ctx, char *buf, size_t size)
{
    engine_new_id(((struct apply_ctx *)ctx)->e, "a", buf, size);
}

static void apply_emit(void *ctx, struct col_alert *a, enum col_alert_event ev)
{
    struct apply_ctx *x = ctx;
    engine_announce(x->e, x->b, a, ev, x->now_mono, x->now_wall);
}

/* A bot that does not flap (any more, or in this run: a restored one) resolves its flapping
 * alert first, and a bot that works again its manual-intervention alert (restored ones
 * included). */
void engine_apply_alerts(struct col_engine *e, struct col_bot *b, const struct col_verdict *v,
                         int64_t now_mono, int64_t now_wall)
{
    struct col_alert *flap = col_alerts_find(&b->alerts, "flapping");
    if (flap && v->status != COL_ST_UNKNOWN)
        engine_resolve_alert(e, b, flap, now_mono, now_wall);
    struct col_alert *manual = col_alerts_find(&b->alerts, "recovery");
    if (manual && (v->status == COL_ST_HEALTHY || v->status == COL_ST_IDLE))
        engine_resolve_alert(e, b, manual, now_mono, now_wall);
    struct apply_ctx x = {e, b, now_mono, now_wall};
    if (col_alerts_apply(&b->alerts, v, now_wall, apply_id, apply_emit, &x) > 0)
        BP_ERROR("alerts", "out of memory: an alert for bot %s could not be opened", b->id);
}

/* Opens b's alert for check (none is open), or returns NULL after logging why not. */
static struct col_alert *open_alert(struct col_engine *e, struct col_bot *b, const char *check,
                                    enum col_severity sev, const char *reason, int64_t now_wall)
{
    char id[COL_ALERT_ID_MAX + 1];
    engine_new_id(e, "a", id, sizeof(id));
    struct col_alert *a = col_alerts_open(&b->alerts, check, sev, reason, id, now_wall);
    if (!a)
        BP_ERROR("alerts", "out of memory: %s alert for bot %s", check, b->id);
    return a;
}

/* One alert (check "flapping") says so, opened or reminded with the new reason, and until it
 * settles no other alert event goes out for the bot. */
void engine_announce_flapping(struct col_engine *e, struct col_bot *b, int64_t now_mono,
                              int64_t now_wall)
{
    enum col_severity sev = b->severity > COL_SEV_WARNING ? b->severity : COL_SEV_WARNING;
    struct col_alert *a = col_alerts_find(&b->alerts, "flapping");
    enum col_alert_event ev = COL_ALERT_REPEATED;
    if (!a) {
        if (!(a = open_alert(e, b, "flapping", sev, b->reason, now_wall)))
            return;
        ev = COL_ALERT_OPENED;
    }
    if (sev > a->severity)
        a->severity = sev;
    snprintf(a->reason, sizeof(a->reason), "%s", b->reason);
    engine_announce(e, b, a, ev, now_mono, now_wall);
}

/* Recovery gave up on a bot (or it is back): its manual-intervention alert, check "recovery",
 * opens (or resolves) among the bot's alerts, announced like any other. */
void engine_recovery_manual(void *ctx, const char *bot, bool open, const char *reason)
{
    struct col_engine *e = ctx;
    struct col_bot *b = col_fleet_bot(&e->fleet, bot);
    if (!b)
        return;
    int64_t now_mono = bp_mono_ms(), now_wall = bp_wall_ms();
    struct col_alert *a = col_alerts_find(&b->alerts, "recovery");
    if (!open) {
        if (a) /* else resolved already, when the bot turned healthy */
            engine_resolve_alert(e, b, a, now_mono, now_wall);
        return;
    }
    if (a)
        return; /* one per bot: this one, restored, or still open */
    if ((a = open_alert(e, b, "recovery", COL_SEV_CRITICAL, reason, now_wall)))
        engine_announce(e, b, a, COL_ALERT_OPENED, now_mono, now_wall);
}
