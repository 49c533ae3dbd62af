/* SPDX-License-Identifier: MIT */
/* A bot's snapshot: the one place that copies a bot into the shape its messages share. */
#include "snapshot.h"

#include "fleet.h"

#include <stdio.h>
#include <string.h>

void col_bot_snapshot_take(const struct col_bot *b, struct col_bot_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", b->id);
    snprintf(out->agent, sizeof(out->agent), "%s", b->agent ? b->agent->id : "");
    snprintf(out->account, sizeof(out->account), "%s", b->account);
    snprintf(out->exchange, sizeof(out->exchange), "%s", b->exchange);
    snprintf(out->host, sizeof(out->host), "%s", col_bot_host(b));
    out->status = b->status;
    snprintf(out->check, sizeof(out->check), "%s", b->check ? b->check : "");
    snprintf(out->reason, sizeof(out->reason), "%s", b->reason);
    out->since = b->since_wall;
    out->last_heartbeat = b->last_heartbeat_wall;
    out->last_trade = b->last_trade_wall;
    out->restarts = b->ev.restarts.known ? b->ev.restarts.count : -1;
    out->restarts_seen = b->ev.restarts.seen;
}
