/* SPDX-License-Identifier: MIT */
/* The outbox's calls: each item the rules thread says passes here on its way out, and what
 * this collector may not say (another one owns the shard, or its lease ran out) stops here. */
#include "outbox.h"

#include "clock.h"
#include "owners.h"
#include "shard.h"
#include "snapshot.h"
#include "store_op.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

void col_outbox_fence(struct col_outbox *o, struct col_owners *owners)
{
    if (o)
        o->owners = owners;
}

/* Whether this collector may say something about slot (a shard, or COL_OWNERS_LEADER) now;
 * counts what it may not. */
static bool may_act(struct col_outbox *o, int slot)
{
    if (!o->owners || col_owners_may_act(o->owners, slot, bp_mono_ms()))
        return true;
    col_owners_count_fenced(o->owners);
    return false;
}

/* The same for the shard of an agent's bots ("": a bot no agent speaks for yet). */
static bool may_act_for(struct col_outbox *o, const char *agent)
{
    return !o->owners || may_act(o, col_shard_of(agent, col_owners_shards(o->owners)));
}

int col_outbox_slot_of(const struct col_outbox *o, const char *agent)
{
    return o && o->owners ? col_shard_of(agent, col_owners_shards(o->owners)) : 0;
}

bool col_outbox_may_still_act(struct col_outbox *o, int slot)
{
    return !o || may_act(o, slot);
}

/* Trades and command results are written by every collector (their keys make the copies one
 * row, and none is lost while a shard changes hands); silences and intents are an operator's,
 * made through this collector; the rest belong to the shard's owner. */
static bool row_is_everyones(const struct col_store_op *op)
{
    return op->kind == COL_OP_TRADE || op->kind == COL_OP_COMMAND_RESULT ||
           op->kind == COL_OP_SILENCE || op->kind == COL_OP_INTENT;
}

void col_outbox_status(struct col_outbox *o, const struct col_bot_snapshot *s, int64_t now_wall)
{
    if (o && may_act_for(o, s->agent))
        o->ops->status(o, s, now_wall);
}

void col_outbox_alert(struct col_outbox *o, const struct col_alert_note *n)
{
    if (o && may_act_for(o, n->bot->agent))
        o->ops->alert(o, n);
}

void col_outbox_incident(struct col_outbox *o, const struct col_incident_note *n)
{
    if (o && may_act(o, COL_OWNERS_LEADER))
        o->ops->incident(o, n);
}

void col_outbox_summary(struct col_outbox *o, const struct col_fleet *f, int64_t now_wall)
{
    if (o && may_act(o, COL_OWNERS_LEADER))
        o->ops->summary(o, f, now_wall);
}

void col_outbox_stats(struct col_outbox *o, struct col_collector_stats *s, int64_t now_wall)
{
    if (o)
        o->ops->stats(o, s, now_wall);
}

int col_outbox_command(struct col_outbox *o, const struct bp_msg *cmd)
{
    if (!o)
        return -ENOTCONN;
    return may_act_for(o, cmd->hdr.agent) ? o->ops->command(o, cmd) : -EPERM;
}

void col_outbox_row(struct col_outbox *o, const struct col_store_op *op)
{
    if (o && (row_is_everyones(op) || !o->owners || may_act(o, op->shard)))
        o->ops->row(o, op);
}

void col_outbox_free(struct col_outbox *o)
{
    if (o)
        o->ops->free(o);
}

size_t col_outbox_flush(struct col_outbox *o)
{
    return o && o->ops->flush ? o->ops->flush(o) : 0;
}

size_t col_outbox_room(struct col_outbox *o)
{
    return o && o->ops->room ? o->ops->room(o) : SIZE_MAX;
}
