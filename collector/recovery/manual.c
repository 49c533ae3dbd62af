/* SPDX-License-Identifier: MIT */
/* Operator's restarts: checks, the per-bot rate limit, and the send. */
#include "manual.h"

#include "commander.h"
#include "fleet.h"
#include "log.h"
#include "strmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "recovery"

struct col_manual {
    int64_t interval_ms;
    struct col_strmap *last; /* bot → malloc'd int64_t: monotonic time of its last command */
};

struct col_manual *col_manual_new(int64_t interval_ms)
{
    struct col_manual *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->interval_ms = interval_ms;
    if (!(m->last = col_strmap_new())) {
        free(m);
        return NULL;
    }
    return m;
}

void col_manual_free(struct col_manual *m)
{
    if (!m)
        return;
    col_strmap_free(m->last, free);
    free(m);
}

bool col_manual_may_send(const struct col_manual *m, const char *bot, int64_t now_mono,
                         int64_t *retry_ms)
{
    const int64_t *last = col_strmap_get(m->last, bot);
    if (!last || now_mono - *last >= m->interval_ms)
        return true;
    *retry_ms = *last + m->interval_ms - now_mono;
    return false;
}

int col_manual_note_sent(struct col_manual *m, const char *bot, int64_t now_mono)
{
    int64_t *last = col_strmap_get(m->last, bot);
    if (last) {
        *last = now_mono;
        return 0;
    }
    if (!(last = malloc(sizeof(*last))))
        return -ENOMEM;
    *last = now_mono;
    if (col_strmap_put(m->last, bot, last) < 0) {
        free(last);
        return -ENOMEM;
    }
    return 0;
}

int col_manual_answer(struct col_manual *m, struct col_commander *c, const struct col_bot *b,
                      bool blind, struct col_manual_order *o, int64_t now_mono)
{
    if (!c)
        return -ENOTSUP;
    if (!b)
        return -ENOENT;
    if (!b->agent || b->agent->offline)
        return -EHOSTDOWN;
    if (blind)
        return -EAGAIN;
    if (!col_manual_may_send(m, b->id, now_mono, &o->retry_ms))
        return -EBUSY;
    char reason[COL_REASON_MAX + 1];
    snprintf(reason, sizeof(reason), "operator: %s while %s", col_rec_action_name(o->action),
             col_status_name(b->status));
    snprintf(o->agent, sizeof(o->agent), "%s", b->agent->id);
    int rc = col_commander_send(c, b->agent->id, b->id, o->action, reason, o->nonce);
    if (rc < 0) {
        BP_WARN(MOD, "operator's %s for bot %s not sent: %s", col_rec_action_name(o->action), b->id,
                strerror(-rc));
        return rc == -ENOMEM || rc == -EPERM ? rc : -EIO;
    }
    if (col_manual_note_sent(m, b->id, now_mono) < 0)
        BP_ERROR(MOD, "out of memory: the rate limit of bot %s forgot a command", b->id);
    return 0;
}
