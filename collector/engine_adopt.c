/* SPDX-License-Identifier: MIT */
/* Shards taken over from another collector (takeover.h): the rules thread has judged their
 * bots all along (every collector receives the whole fleet), so it keeps their evidence,
 * verdicts and deadlines (no fresh grace), takes the alerts their previous owner announced
 * (PostgreSQL's, so they resolve by their ids), says a status only where it differs from the
 * one stored last, and says what is missing by judging the bots once more. */
#include "engine_impl.h"

#include "engine.h"
#include "log.h"
#include "owners.h"
#include "takeover.h"

#include <stdlib.h>

struct adopt {
    struct col_engine *e;
    const bool *taken;       /* per shard */
    struct col_strmap *rows; /* bot id → its struct col_takeover_bot */
    int64_t now_mono, now_wall;
    size_t bots, statuses;
};

static void forget_alerts(void *ctx, const char *key, void *v)
{
    struct adopt *x = ctx;
    struct col_bot *b = v;
    if (x->taken[col_bot_shard(&x->e->fleet, b)])
        col_alerts_free(&b->alerts);
}

/* PostgreSQL's open alerts, as after a restart: announced already, a full repeat period on. A
 * bot this collector has not seen yet is known from now on, under its agent. */
static void restore_alert(struct adopt *x, const struct col_takeover_alert *a)
{
    struct col_engine *e = x->e;
    struct col_bot *b = col_fleet_bot(&e->fleet, a->bot);
    if (!b) {
        struct col_agent *ag = NULL;
        if (a->agent[0] && !(ag = col_fleet_agent(&e->fleet, a->agent)))
            ag = col_fleet_agent_add(&e->fleet, a->agent);
        if (engine_bot_for(e, ag, a->bot, x->now_mono) &&
            col_engine_restore_alert(e, a->bot, a->check, a->alert_id, a->severity, a->opened_at,
                                     x->now_mono) < 0)
            BP_WARN("cluster", "cannot take over alert %s of bot %s", a->alert_id, a->bot);
        return;
    }
    if (!x->taken[col_bot_shard(&e->fleet, b)])
        return;
    if (col_alerts_restore(&b->alerts, a->alert_id, a->severity, a->check, a->opened_at) == 0)
        col_alerts_find(&b->alerts, a->check)->last_sent_mono = x->now_mono;
}

/* The status last stored is the one last published: only a different one is said. Then the
 * bot is judged, which opens what its alerts lack and resolves what is over, by their ids. */
static void settle_bot(void *ctx, const char *key, void *v)
{
    struct adopt *x = ctx;
    struct col_bot *b = v;
    if (!x->taken[col_bot_shard(&x->e->fleet, b)])
        return;
    x->bots++;
    const struct col_takeover_bot *row = col_strmap_get(x->rows, b->id);
    int stored = row ? row->status : -1;
    if (b->status != COL_ST_UNKNOWN && (int)b->status != stored) {
        engine_say_transition(x->e, b, stored >= 0 ? (enum col_status)stored : COL_ST_UNKNOWN,
                              x->now_wall);
        x->statuses++;
    }
    if (!x->e->blind) /* else judged when the broker is back */
        engine_evaluate(x->e, b, x->now_mono, x->now_wall);
}

void engine_adopt(struct col_engine *e, struct col_takeover *t, int64_t now_mono, int64_t now_wall)
{
    bool *taken = calloc((size_t)e->fleet.shards, sizeof(*taken));
    struct col_strmap *rows = col_strmap_new();
    if (!taken || !rows) { /* the slots stay unadopted: nothing is said for them */
        BP_ERROR("cluster", "out of memory: %d slot(s) not taken over", t->nslots);
        goto out;
    }
    int shards = 0;
    for (int i = 0; i < t->nslots; i++) {
        col_owners_adopt(t->owners, t->slots[i], t->epochs[i]);
        if (t->slots[i] == COL_OWNERS_LEADER)
            e->summary_dirty = true; /* the new leader's summary goes out soon */
        else if (t->slots[i] >= 0 && t->slots[i] < e->fleet.shards)
            taken[t->slots[i]] = true, shards++;
    }
    for (size_t i = 0; i < t->nbots; i++)
        if (col_strmap_put(rows, t->bots[i].id, &t->bots[i]) < 0)
            BP_ERROR("cluster", "out of memory: bot %s taken over without its stored status",
                     t->bots[i].id);
    struct adopt x = {e, taken, rows, now_mono, now_wall, 0, 0};
    col_strmap_each(e->fleet.bots, forget_alerts, &x);
    for (size_t i = 0; i < t->nalerts; i++)
        restore_alert(&x, &t->alerts[i]);
    col_strmap_each(e->fleet.bots, settle_bot, &x);
    if (shards > 0)
        BP_INFO("cluster",
                "took over %d shard(s): %zu bots, %zu open alerts from PostgreSQL, %zu "
                "status(es) said that PostgreSQL did not have",
                shards, x.bots, t->nalerts, x.statuses);
out:
    col_strmap_free(rows, NULL);
    free(taken);
    col_takeover_free(t);
}
