/* SPDX-License-Identifier: MIT */
/* The outbox's calls: each item the rules thread says passes here on its way out. */
#include "outbox.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

void col_outbox_status(struct col_outbox *o, const struct col_bot_snapshot *s, int64_t now_wall)
{
    if (o)
        o->ops->status(o, s, now_wall);
}

void col_outbox_alert(struct col_outbox *o, const struct col_alert_note *n)
{
    if (o)
        o->ops->alert(o, n);
}

void col_outbox_incident(struct col_outbox *o, const struct col_incident_note *n)
{
    if (o)
        o->ops->incident(o, n);
}

void col_outbox_summary(struct col_outbox *o, const struct col_fleet *f, int64_t now_wall)
{
    if (o)
        o->ops->summary(o, f, now_wall);
}

void col_outbox_stats(struct col_outbox *o, struct col_collector_stats *s, int64_t now_wall)
{
    if (o)
        o->ops->stats(o, s, now_wall);
}

int col_outbox_command(struct col_outbox *o, const struct bp_msg *cmd)
{
    return o ? o->ops->command(o, cmd) : -ENOTCONN;
}

void col_outbox_row(struct col_outbox *o, const struct col_store_op *op)
{
    if (o)
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
