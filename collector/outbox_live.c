/* SPDX-License-Identifier: MIT */
/* The live outbox: each kind of item to Paho, the store's spool or the alert sinks. */
#include "outbox_live.h"

#include "clock.h"
#include "log.h"
#include "mqtt.h"
#include "owners.h"
#include "publish.h"
#include "sinks.h"
#include "snapshot.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

/* At most this many messages handed to Paho and not yet sent or acknowledged: Paho keeps
 * what it is handed in a list it walks on every pass, so a storm of 14,000 statuses handed at
 * once costs it quadratic time. The rest waits here (alerts, incidents) or in the engine
 * (statuses, one per bot, the newest). */
#define INFLIGHT_MAX 256
/* Alert and incident events waiting for room at most; more are dropped, counted, logged. */
#define WAITING_MAX 100000

struct waiting {
    struct waiting *next;
    struct col_pub pub; /* owns its payload */
    int slot;           /* its shard, or COL_OWNERS_LEADER: checked again when it goes out */
};

struct live {
    struct col_outbox base;
    struct col_outbox_live_opts o;
    struct waiting *head, *tail; /* alert and incident events, in order */
    size_t nwaiting;
    uint64_t dropped; /* events dropped because too many waited */
    int64_t next_log; /* mono: rate limit of the drop log */
};

static struct live *live_of(struct col_outbox *o)
{
    return (struct live *)o;
}

/* Hands a message built (0) by publish.h to Paho, which buffers it while disconnected. */
static int publish(struct live *l, int built, struct col_pub *p)
{
    return built < 0 ? built : col_pub_send(l->o.mqtt, p);
}

/* How many more messages Paho may take now: none while disconnected (they wait here, and
 * go out once we are back). */
static size_t room_now(struct live *l)
{
    if (!l->o.mqtt)
        return SIZE_MAX;
    if (!bp_mqtt_is_connected(l->o.mqtt))
        return 0;
    int inflight = bp_mqtt_inflight(l->o.mqtt);
    return inflight < INFLIGHT_MAX ? (size_t)(INFLIGHT_MAX - inflight) : 0;
}

/* An event for MQTT about slot: now if there is room and nothing waits before it, else in
 * line (and when its turn comes, only if this collector may still act for slot). */
static void publish_in_order(struct live *l, int built, struct col_pub *p, int slot)
{
    if (built < 0)
        return;
    if (!l->head && room_now(l) > 0) {
        col_pub_send(l->o.mqtt, p);
        return;
    }
    struct waiting *w = l->nwaiting < WAITING_MAX ? calloc(1, sizeof(*w)) : NULL;
    if (w && !p->owned && !(p->owned = strdup(p->payload))) {
        free(w);
        w = NULL;
    }
    if (!w) {
        l->dropped++;
        int64_t now = bp_mono_ms();
        if (now >= l->next_log) {
            l->next_log = now + 10000;
            BP_ERROR("outbox", "%zu events wait for the broker: dropped one on %s (%llu so far)",
                     l->nwaiting, p->topic, (unsigned long long)l->dropped);
        }
        col_pub_cleanup(p);
        return;
    }
    w->pub = *p;
    w->pub.payload = w->pub.owned;
    w->slot = slot;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
    l->nwaiting++;
}

static size_t live_flush(struct col_outbox *o)
{
    struct live *l = live_of(o);
    for (size_t room = room_now(l); l->head && room > 0; room--) {
        struct waiting *w = l->head;
        if (!(l->head = w->next))
            l->tail = NULL;
        l->nwaiting--;
        if (col_outbox_may_still_act(o, w->slot)) /* its lease may have run out meanwhile */
            col_pub_send(l->o.mqtt, &w->pub);
        else
            room++, col_pub_cleanup(&w->pub);
        free(w);
    }
    return l->nwaiting;
}

static size_t live_room(struct col_outbox *o)
{
    struct live *l = live_of(o);
    return l->head ? 0 : room_now(l); /* statuses wait behind events */
}

static void live_status(struct col_outbox *o, const struct col_bot_snapshot *s, int64_t now_wall)
{
    struct live *l = live_of(o);
    struct col_pub p;
    if (l->o.mqtt)
        publish(l, col_pub_status(&p, l->o.root, s, now_wall), &p);
}

static void live_alert(struct col_outbox *o, const struct col_alert_note *n)
{
    struct live *l = live_of(o);
    struct col_pub p;
    if (l->o.mqtt)
        publish_in_order(l, col_pub_alert(&p, l->o.root, n->bot->id, n->alert->severity, n->json),
                         &p, col_outbox_slot_of(o, n->bot->agent));
    col_sinks_alert(l->o.sinks, n); /* queued on each sink that takes it; never waits */
}

static void live_incident(struct col_outbox *o, const struct col_incident_note *n)
{
    struct live *l = live_of(o);
    struct col_pub p;
    if (l->o.mqtt)
        publish_in_order(l, col_pub_incident(&p, l->o.root, n->incident, n->json), &p,
                         COL_OWNERS_LEADER);
    col_sinks_incident(l->o.sinks, n);
}

static void live_summary(struct col_outbox *o, const struct col_fleet *f, int64_t now_wall)
{
    struct live *l = live_of(o);
    struct col_pub p;
    if (l->o.mqtt)
        publish(l, col_pub_summary(&p, l->o.root, f, now_wall), &p);
}

/* The rules thread's counts, and ours: the broker connection, the store, the sinks. */
static void live_stats(struct col_outbox *o, struct col_collector_stats *s, int64_t now_wall)
{
    struct live *l = live_of(o);
    s->mqtt_connected = l->o.mqtt && bp_mqtt_is_connected(l->o.mqtt);
    if (l->o.store)
        col_store_get_stats(l->o.store, &s->store);
    s->nsinks = col_sinks_get_stats(l->o.sinks, s->sinks, COL_SINKS_MAX);
    struct col_pub p;
    if (l->o.mqtt)
        publish(l, col_pub_collector_stats(&p, l->o.root, l->o.id, l->o.per_id, s, now_wall), &p);
}

static int live_command(struct col_outbox *o, const struct bp_msg *cmd)
{
    struct live *l = live_of(o);
    struct col_pub p;
    if (!l->o.mqtt)
        return -ENOTCONN;
    return publish(l, col_pub_command(&p, l->o.root, cmd), &p);
}

static void live_row(struct col_outbox *o, const struct col_store_op *op)
{
    struct live *l = live_of(o);
    if (l->o.store)
        col_store_submit(l->o.store, op); /* a full spool is counted and logged by the store */
}

static void live_free(struct col_outbox *o)
{
    struct live *l = live_of(o);
    while (l->head) {
        struct waiting *w = l->head;
        l->head = w->next;
        col_pub_cleanup(&w->pub);
        free(w);
    }
    free(l);
}

static const struct col_outbox_ops live_ops = {
    .status = live_status,
    .alert = live_alert,
    .incident = live_incident,
    .summary = live_summary,
    .stats = live_stats,
    .command = live_command,
    .row = live_row,
    .flush = live_flush,
    .room = live_room,
    .free = live_free,
};

int col_outbox_live_new(const struct col_outbox_live_opts *opts, struct col_outbox **out)
{
    struct live *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->base.ops = &live_ops;
    l->o = *opts;
    *out = &l->base;
    return 0;
}
