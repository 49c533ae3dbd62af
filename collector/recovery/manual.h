/* SPDX-License-Identifier: MIT */
/* An operator's restart (POST /bots/{id}/restart), answered on the rules thread: checked
 * (recovery configured, bot known, its agent online, the broker up), limited to one command per
 * bot per interval, then signed and sent through the commander like a recovery rung. The agent
 * still applies its own rules (only its configured command line, its hourly limit). */
#ifndef COL_MANUAL_H
#define COL_MANUAL_H

#include "msg.h"
#include "recovery.h"

#include <stdbool.h>
#include <stdint.h>

#define COL_MANUAL_INTERVAL_MS 30000 /* one operator's command per bot per 30 s */

struct col_bot;
struct col_commander;
struct col_manual;

/* An operator's restart: what is asked, and what the answer carries. */
struct col_manual_order {
    enum col_rec_action action;   /* in: restart or hard_restart */
    char agent[BP_ID_MAX + 1];    /* out: the agent it was sent to */
    char nonce[BP_NONCE_MAX + 1]; /* out: the command's nonce */
    int64_t retry_ms;             /* out, with -EBUSY: when the bot may get the next one */
};

/* NULL on ENOMEM. interval_ms: least time between two operator's commands for one bot. */
struct col_manual *col_manual_new(int64_t interval_ms);
void col_manual_free(struct col_manual *m);

/* True if bot may get a command at now_mono; otherwise *retry_ms says in how long. */
bool col_manual_may_send(const struct col_manual *m, const char *bot, int64_t now_mono,
                         int64_t *retry_ms);
/* Remembers that bot got a command at now_mono. 0 or -ENOMEM. */
int col_manual_note_sent(struct col_manual *m, const char *bot, int64_t now_mono);

/* Answers an operator's restart o for b (NULL: unknown) with commander c (NULL: recovery is
 * not configured); blind: the collector has no broker connection. 0 (o->nonce, o->agent set),
 * -ENOTSUP (no signing key), -ENOENT, -EHOSTDOWN (no agent, or it is offline), -EAGAIN (no
 * broker connection), -EBUSY (rate limit: o->retry_ms), -EPERM (another collector acts for the
 * bot's shard, or this one cannot prove it still does), -EIO (the publish failed), -ENOMEM. */
int col_manual_answer(struct col_manual *m, struct col_commander *c, const struct col_bot *b,
                      bool blind, struct col_manual_order *o, int64_t now_mono);

#endif
