/* SPDX-License-Identifier: MIT */
/* An operator's restart (POST /bots/{id}/restart), answered on the rules thread: checked
 * (recovery configured, bot known, its agent online, the broker up), limited to one command per
 * bot per interval, then signed and sent through the commander like a recovery rung. The agent
 * still applies its own rules (only its configured command line, its hourly limit). */
#ifndef COL_MANUAL_H
#define COL_MANUAL_H

#include "commander.h"
#include "fleet.h"
#include "query.h"
#include "recovery.h"

#include <stdbool.h>
#include <stdint.h>

#define COL_MANUAL_INTERVAL_MS 30000 /* one operator's command per bot per 30 s */

struct col_manual;

/* NULL on ENOMEM. interval_ms: least time between two operator's commands for one bot. */
struct col_manual *col_manual_new(int64_t interval_ms);
void col_manual_free(struct col_manual *m);

/* True if bot may get a command at now_mono; otherwise *retry_ms says in how long. */
bool col_manual_may_send(const struct col_manual *m, const char *bot, int64_t now_mono,
                         int64_t *retry_ms);
/* Remembers that bot got a command at now_mono. 0 or -ENOMEM. */
int col_manual_note_sent(struct col_manual *m, const char *bot, int64_t now_mono);

/* Answers a COL_Q_RESTART for b (NULL: unknown) with commander c (NULL: recovery is not
 * configured). Sets qr->rc: 0 (qr->nonce, qr->agent set), -ENOTSUP (no signing key), -ENOENT,
 * -EHOSTDOWN (no agent, or it is offline), -EAGAIN (no broker connection), -EBUSY (rate limit:
 * qr->retry_ms), -EIO (the publish failed), -ENOMEM. */
void col_manual_answer(struct col_manual *m, struct col_commander *c, const struct col_bot *b,
                       bool blind, struct col_query *qr, int64_t now_mono);

#endif
