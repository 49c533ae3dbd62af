/* SPDX-License-Identifier: MIT */
/* The live outbox: each kind of item to Paho, the store's spool or the alert sinks. */
#include "outbox_live.h"

#include "log.h"
#include "mqtt.h"
#include "publish.h"
#include "sinks.h"
#include "snapshot.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>

struct live {
    struct col_outbox base;
    struct col_outbox_live_opts o;
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
        publish(l, col_pub_alert(&p, l->o.root, n->bot->id, n->alert->severity, n->json), &p);
    col_sinks_alert(l->o.sinks, n); /* queued on each sink that takes it; never waits */
}

static void live_incident(struct col_outbox *o, const struct col_incident_note *n)
{
    struct live *l = live_of(o);
    struct col_pub p;
    if (l->o.mqtt)
        publish(l, col_pub_incident(&p, l->o.root, n->incident, n->json), &p);
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
        publish(l, col_pub_collector_stats(&p, l->o.root, l->o.id, s, now_wall), &p);
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
    free(live_of(o));
}

static const struct col_outbox_ops live_ops = {
    .status = live_status,
    .alert = live_alert,
    .incident = live_incident,
    .summary = live_summary,
    .stats = live_stats,
    .command = live_command,
    .row = live_row,
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
