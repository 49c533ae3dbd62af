/* SPDX-License-Identifier: MIT */
/* The outbox: the one interface through which the rules thread says anything, one typed call
 * per kind of thing it says: a bot's retained status, an alert event, a correlated incident,
 * the fleet summary, the collector's stats, a signed command, and the rows for PostgreSQL.
 * Where each goes is the implementation's business: outbox_live.h sends them to MQTT, the
 * store's spool and the webhook; the unit tests record them and assert what was said. All
 * calls come from the rules thread, through the col_outbox_* functions below: the one place
 * every item passes, and the one place that drops what this collector may not say when several
 * share the fleet (col_outbox_fence: the lease of the item's shard, owners.h). A NULL outbox
 * says nothing. */
#ifndef COL_OUTBOX_H
#define COL_OUTBOX_H

#include "alerts.h"
#include "incidents.h"

#include <stddef.h>
#include <stdint.h>

struct bp_msg;
struct col_bot_snapshot;
struct col_collector_stats;
struct col_fleet;
struct col_owners;
struct col_store_op;

/* One alert event that is told (not silenced, not spoken for by an incident). */
struct col_alert_note {
    const struct col_bot_snapshot *bot; /* the bot as it is now */
    const struct col_alert *alert;
    enum col_alert_event event;
    const char *json; /* the alert message, encoded once (publish.h): MQTT's payload, and the
                         webhook's body or inside it */
    const char *text; /* one line for people (a chat webhook's message) */
};

/* One incident event: opened, joined by more bots (updated), resolved. */
struct col_incident_note {
    const struct col_incident *incident;
    enum col_incident_event event;
    const char *json; /* the incident message, encoded once */
    const char *text; /* one line for people */
};

struct col_outbox;

/* An implementation: each call borrows its arguments for the call's duration only. */
struct col_outbox_ops {
    void (*status)(struct col_outbox *o, const struct col_bot_snapshot *s, int64_t now_wall);
    void (*alert)(struct col_outbox *o, const struct col_alert_note *n);
    void (*incident)(struct col_outbox *o, const struct col_incident_note *n);
    void (*summary)(struct col_outbox *o, const struct col_fleet *f, int64_t now_wall);
    /* s holds the rules thread's counts; the implementation adds its own sinks' (MQTT, the
     * store, the webhook) before it sends them. */
    void (*stats)(struct col_outbox *o, struct col_collector_stats *s, int64_t now_wall);
    /* 0, or -errno when the command could not be handed over (-ENOTCONN: no broker). */
    int (*command)(struct col_outbox *o, const struct bp_msg *cmd);
    void (*row)(struct col_outbox *o, const struct col_store_op *op);
    /* Hands over what waits (NULL: nothing ever waits); returns how many items still do. */
    size_t (*flush)(struct col_outbox *o);
    /* How many more statuses it takes now (NULL: no limit). */
    size_t (*room)(struct col_outbox *o);
    void (*free)(struct col_outbox *o);
};

/* Embedded first in an implementation's own struct. */
struct col_outbox {
    const struct col_outbox_ops *ops;
    struct col_owners *owners; /* NULL: this collector owns every shard (no [cluster]) */
};

/* From now on, each item about a shard (a bot's status, alerts, commands and rows, an agent's
 * row) is said only while this collector may act for that shard, and the fleet summary and
 * incidents only while it may act as the leader (col_owners_may_act); anything else is
 * dropped and counted there. Trades, command results, silences, intents and the collector's
 * stats always pass. owners (NULL: no check) is borrowed and must outlive the outbox. */
void col_outbox_fence(struct col_outbox *o, struct col_owners *owners);

/* The bot's retained status, {root}/status/{bot}. */
void col_outbox_status(struct col_outbox *o, const struct col_bot_snapshot *s, int64_t now_wall);
/* An alert event, to MQTT ({root}/alerts/{severity}/{bot}) and the webhook. */
void col_outbox_alert(struct col_outbox *o, const struct col_alert_note *n);
/* An incident event, to MQTT ({root}/incidents/{kind}/{group}) and the webhook. */
void col_outbox_incident(struct col_outbox *o, const struct col_incident_note *n);
/* The retained fleet summary, {root}/fleet/summary. */
void col_outbox_summary(struct col_outbox *o, const struct col_fleet *f, int64_t now_wall);
/* The collector's stats, {root}/collector/stats. */
void col_outbox_stats(struct col_outbox *o, struct col_collector_stats *s, int64_t now_wall);
/* A signed command to {root}/agents/{agent}/commands. 0 or -errno (-ENOTCONN: NULL outbox;
 * -EPERM: another collector acts for the agent's shard, or this one's lease ran out). */
int col_outbox_command(struct col_outbox *o, const struct bp_msg *cmd);
/* A row for PostgreSQL (op->shard says whose, for the kinds only a shard's owner writes). */
void col_outbox_row(struct col_outbox *o, const struct col_store_op *op);
/* For an implementation holding an item it was given (an alert or incident event waiting for
 * room): the slot of an agent's shard ("" for a bot no agent speaks for yet), and whether the
 * item may still go out now; one that may not is counted as fenced and must be dropped. Both
 * pass everything when the outbox is not fenced. */
int col_outbox_slot_of(const struct col_outbox *o, const char *agent);
bool col_outbox_may_still_act(struct col_outbox *o, int slot);
/* Lets out what waits for room (the live outbox bounds what it hands to Paho); the rules
 * thread calls it every turn. Returns how many items still wait (0: none). */
size_t col_outbox_flush(struct col_outbox *o);
/* How many more statuses the outbox takes at once now (SIZE_MAX: no limit): the engine holds
 * the rest, one per bot, and says each bot's newest when there is room. */
size_t col_outbox_room(struct col_outbox *o);
/* Frees the implementation; NULL does nothing. */
void col_outbox_free(struct col_outbox *o);

#endif
