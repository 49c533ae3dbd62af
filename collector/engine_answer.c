/* SPDX-License-Identifier: MIT */
/* Questions from other threads, answered with copies between two messages (query.h), and the
 * silences they make and end. */
#include "engine_impl.h"

#include "engine.h"

#include "commander.h"
#include "event.h"
#include "intent.h"
#include "log.h"
#include "manual.h"
#include "outbox.h"
#include "query.h"
#include "store_op.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- silences --------------------------------------------------------------------------- */

static void store_silence(struct col_engine *e, const struct col_silence *sl, int64_t removed_at,
                          int64_t now_wall)
{
    struct col_store_op op;
    col_store_op_silence(&op, sl, removed_at, now_wall);
    col_outbox_row(e->out, &op);
}

struct ended {
    struct col_engine *e;
    const struct col_silence *sl;
    int64_t now_mono, now_wall;
};

/* A bot whose open alert the ended silence kept quiet hears of it now, unless another
 * silence or an incident still speaks for it. */
static void unsilence_bot(void *ctx, const char *key, void *v)
{
    struct ended *x = ctx;
    struct col_bot *b = v;
    (void)key;
    if (col_silence_matches(x->sl, b->id, b->account, col_bot_host(b), b->check))
        engine_note_recovery(x->e, b, x->now_mono); /* no longer paused, unless another silence */
    for (int i = 0; i < b->alerts.n; i++) {
        struct col_alert *a = &b->alerts.v[i];
        bool held_by_flapping = b->flap.flapping && strcmp(a->check, "flapping") != 0;
        if (engine_incident_speaks(b, a) || held_by_flapping ||
            !col_silence_matches(x->sl, b->id, b->account, col_bot_host(b), a->check) ||
            engine_silence_for(x->e, b, a->check, x->now_mono))
            continue;
        a->repeats++;
        engine_announce(x->e, b, a, COL_ALERT_REPEATED, x->now_mono, x->now_wall);
    }
}

/* A silence ran out or was removed: announce the alerts it hid (a rare event, so one walk). */
static void silence_ended(struct col_engine *e, const struct col_silence *sl, int64_t now_mono,
                          int64_t now_wall)
{
    BP_INFO("silences", "silence %s ended (%s)", sl->id, sl->reason);
    struct ended x = {e, sl, now_mono, now_wall};
    col_strmap_each(e->fleet.bots, unsilence_bot, &x);
}

void engine_silences_tick(struct col_engine *e, int64_t now_mono, int64_t now_wall)
{
    struct col_silence ended;
    while (col_silences_pop_ended(&e->silences, now_mono, &ended))
        silence_ended(e, &ended, now_mono, now_wall);
}

/* Starts a silence: ends_mono from ends_at, as far ahead as it is on the wall clock. */
static int start_silence(struct col_engine *e, struct col_silence *sl, int64_t now_mono,
                         int64_t now_wall)
{
    if (sl->ends_at <= now_wall)
        return -EINVAL;
    sl->ends_mono = now_mono + (sl->ends_at - now_wall);
    return col_silences_add(&e->silences, sl);
}

int col_engine_restore_silence(struct col_engine *e, const struct col_silence *sl, int64_t now_mono,
                               int64_t now_wall)
{
    struct col_silence copy = *sl;
    return start_silence(e, &copy, now_mono, now_wall);
}

static void answer_silence(struct col_engine *e, struct col_query *qr, const struct col_event *ev)
{
    struct col_silence *sl = &qr->silence;
    if (qr->kind == COL_Q_SILENCES) {
        qr->rc = col_silences_copy(&e->silences, &qr->silences, &qr->nsilences);
    } else if (qr->kind == COL_Q_SILENCE_ADD) {
        engine_new_id(e, "", sl->id, sizeof(sl->id));
        sl->created_at = ev->recv_wall;
        if ((qr->rc = start_silence(e, sl, ev->recv_mono, ev->recv_wall)) == 0) {
            BP_INFO("silences",
                    "silence %s by %s until %lld: bot '%s' account '%s' host '%s' "
                    "check '%s': %s",
                    sl->id, sl->created_by, (long long)sl->ends_at, sl->bot, sl->account, sl->host,
                    sl->check, sl->reason);
            store_silence(e, sl, 0, ev->recv_wall);
        }
    } else if ((qr->rc = col_silences_remove(&e->silences, sl->id, sl)) == 0) {
        store_silence(e, sl, ev->recv_wall, ev->recv_wall);
        silence_ended(e, sl, ev->recv_mono, ev->recv_wall);
    }
}

/* ---- queries ---------------------------------------------------------------------------- */

/* An operator's intended state: the bot is judged again at once under it (a bot intended
 * stopped that is gone resolves its alert), and the answer is the bot after that. */
static void answer_intent(struct col_engine *e, struct col_query *qr, const struct col_event *ev)
{
    struct col_bot *b = col_fleet_bot(&e->fleet, qr->filter.bot);
    if (!b) {
        qr->rc = -ENOENT;
        return;
    }
    if ((qr->rc = col_intent_set(b, (enum col_intent)qr->intent)) < 0)
        return;
    engine_set_limits(e, b);
    BP_INFO("rules", "bot %s: intended %s (operator)", b->id,
            col_intent_name(b->intent, b->limits->intended_stopped));
    struct col_store_op op = {.kind = COL_OP_INTENT, .ts = ev->recv_wall};
    snprintf(op.u.intent.bot, sizeof(op.u.intent.bot), "%s", b->id);
    snprintf(op.u.intent.intended, sizeof(op.u.intent.intended), "%s",
             col_intent_name(b->intent, b->limits->intended_stopped));
    col_outbox_row(e->out, &op);
    engine_evaluate(e, b, ev->recv_mono, ev->recv_wall);
    engine_note_recovery(e, b, ev->recv_mono); /* recovery pauses (or resumes) with the intent */
    qr->rc = col_query_add_bot(qr, b);
}

/* An operator moves a bot to another agent (owners.h); the answer is the bot after that. */
static void answer_move(struct col_engine *e, struct col_query *qr, const struct col_event *ev)
{
    struct col_bot *b = NULL;
    qr->rc = engine_move_bot(e, qr->filter.bot, qr->agent, ev->recv_mono, ev->recv_wall, &b);
    if (qr->rc == 0)
        qr->rc = col_query_add_bot(qr, b);
}

/* COL_Q_CHECK judges the bot now; COL_Q_BOTS copies one bot or every bot that matches. */
static void answer_bots(struct col_engine *e, struct col_query *qr, const struct col_event *ev)
{
    struct col_bot *b = qr->filter.bot[0] ? col_fleet_bot(&e->fleet, qr->filter.bot) : NULL;
    if (qr->kind == COL_Q_CHECK) {
        if (!b)
            qr->rc = -ENOENT;
        else if (e->blind) /* no evidence can reach us: judging now would be a guess */
            qr->rc = -EAGAIN;
        else
            engine_evaluate(e, b, ev->recv_mono, ev->recv_wall);
        if (b && qr->rc == 0)
            qr->rc = col_query_add_bot(qr, b);
    } else if (qr->kind == COL_Q_BOTS && qr->filter.bot[0]) {
        qr->rc = b ? (col_query_matches(&qr->filter, b) ? col_query_add_bot(qr, b) : 0) : -ENOENT;
    } else {
        col_query_page(qr, &e->fleet); /* BOTS or COUNTS over the fleet, one page */
    }
}

void engine_answer(struct col_engine *e, const struct col_event *ev)
{
    struct col_query *qr = ev->query;
    qr->blind = e->blind;
    qr->lag_ms = e->lag_ms;
    qr->behind = e->lag_ms > COL_ENGINE_BEHIND_MS;
    qr->fleet_size = col_strmap_len(e->fleet.bots);
    qr->restarts_seen = e->restarts_seen;
    qr->last_stats_wall = e->last_stats_wall;
    memcpy(qr->claims_refused, e->claims.refused, sizeof(qr->claims_refused));
    if ((qr->have_commands = e->commander != NULL))
        col_commander_counts(e->commander, &qr->commands);
    switch (qr->kind) {
    case COL_Q_RESTART:
        qr->rc =
            col_manual_answer(e->manual, e->commander, col_fleet_bot(&e->fleet, qr->filter.bot),
                              e->blind, &qr->restart, ev->recv_mono);
        break;
    case COL_Q_INTEND:
        answer_intent(e, qr, ev);
        break;
    case COL_Q_MOVE:
        answer_move(e, qr, ev);
        break;
    case COL_Q_SILENCES:
    case COL_Q_SILENCE_ADD:
    case COL_Q_SILENCE_REMOVE:
        answer_silence(e, qr, ev);
        break;
    case COL_Q_PING:
    case COL_Q_BOTS:
    case COL_Q_COUNTS:
    case COL_Q_CHECK:
        answer_bots(e, qr, ev);
        break;
    }
    col_query_finish(qr);
}
