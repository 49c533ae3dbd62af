/* SPDX-License-Identifier: MIT */
/* One bot as it stands, in plain data: the shape behind the retained status message
 * (publish.h), the store's bots row (COL_OP_BOT) and the HTTP API's bot JSON (a col_bot_view
 * embeds it). A field added here reaches all three. A copy: safe to keep and to hand to any
 * thread. */
#ifndef COL_SNAPSHOT_H
#define COL_SNAPSHOT_H

#include "msg.h"
#include "rules.h"

#include <stdint.h>

struct col_bot;

struct col_bot_snapshot {
    char id[BP_ID_MAX + 1];
    char agent[BP_ID_MAX + 1]; /* "" until an agent speaks for it */
    char account[BP_ID_MAX + 1];
    char exchange[BP_ID_MAX + 1];
    char host[BP_TEXT_MAX + 1]; /* its agent's host, or "" */
    enum col_status status;
    char check[COL_CHECK_MAX]; /* the check that decided the status ("" for a first unknown) */
    char reason[COL_REASON_MAX + 1];
    int64_t since;          /* Unix ms: when the status began */
    int64_t last_heartbeat; /* Unix ms, our clock at receipt; 0 = never */
    int64_t last_trade;     /* Unix ms, the trade's own time; 0 = never */
    int64_t restarts;       /* its agent's count of process restarts (this agent boot); -1 =
                               not counted (no watched process, an older agent) */
    int64_t restarts_seen;  /* restarts the collector counted since it began watching it */
};

/* Copies what b is now into out. */
void col_bot_snapshot_take(const struct col_bot *b, struct col_bot_snapshot *out);

#endif
