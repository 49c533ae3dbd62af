/* SPDX-License-Identifier: MIT */
/* The rules thread on a fake clock as one of several collectors: it judges every bot but says
 * only what its shards' owner may say (the outbox's fence; trades are written by all), and a
 * takeover (the shards of a collector that died) keeps the bots' evidence and deadlines, takes
 * the alerts PostgreSQL holds so they resolve by their ids, and says a status or an alert only
 * where the dead owner had not. */
#include "engine_fx.h"
#include "owners.h"
#include "shard.h"
#include "takeover.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define SHARDS 8
#define LEASE 5000

struct cfx {
    struct efx fx;
    struct col_owners *owners;
    char ours[16], theirs[16]; /* two agents, in different shards */
};

static int setup(void **state)
{
    static struct cfx c;
    memset(&c, 0, sizeof(c));
    efx_settings(&c.fx.cfg, 60 * S, 120 * S);
    c.fx.cfg.cluster_enabled = true;
    c.fx.cfg.cluster_shards = SHARDS;
    c.fx.said = recorder_new(ROOT, c.fx.cfg.id);
    assert_int_equal(col_engine_new(&c.fx.cfg, &c.fx.said->base, NULL, &c.fx.e), 0);
    c.owners = col_owners_new(SHARDS, LEASE);
    col_outbox_fence(&c.fx.said->base, c.owners);
    snprintf(c.ours, sizeof(c.ours), "a1");
    for (int i = 2; col_shard_of(c.theirs, SHARDS) == col_shard_of(c.ours, SHARDS) || i == 2; i++)
        snprintf(c.theirs, sizeof(c.theirs), "a%d", i);
    *state = &c;
    return 0;
}

static int teardown(void **state)
{
    struct cfx *c = *state;
    efx_stop(&c->fx);
    col_owners_free(c->owners);
    return 0;
}

/* The fence reads the real monotonic clock: slot taken a lease ago, session confirmed now. */
static uint32_t hold(struct cfx *c, int slot)
{
    uint32_t ep = col_owners_acquire(c->owners, slot, bp_mono_ms() - LEASE);
    col_owners_confirm(c->owners, bp_mono_ms());
    return ep;
}

static int shard(const char *agent)
{
    return col_shard_of(agent, SHARDS);
}

/* The takeover the cluster thread would hand over for the shard of agent (and the lead). */
static struct col_takeover *takeover_of(struct cfx *c, const char *agent, bool lead)
{
    struct col_takeover *t = calloc(1, sizeof(*t));
    t->owners = c->owners;
    t->slots = calloc(2, sizeof(int));
    t->epochs = calloc(2, sizeof(uint32_t));
    t->slots[t->nslots] = shard(agent);
    t->epochs[t->nslots++] = hold(c, shard(agent));
    if (lead) {
        t->slots[t->nslots] = COL_OWNERS_LEADER;
        t->epochs[t->nslots++] = hold(c, COL_OWNERS_LEADER);
    }
    t->bots = calloc(4, sizeof(*t->bots));
    t->alerts = calloc(4, sizeof(*t->alerts));
    return t;
}

static void stored_bot(struct col_takeover *t, const char *bot, const char *agent,
                       enum col_status st)
{
    struct col_takeover_bot *b = &t->bots[t->nbots++];
    snprintf(b->id, sizeof(b->id), "%s", bot);
    snprintf(b->agent, sizeof(b->agent), "%s", agent);
    b->status = (int)st;
}

static void stored_alert(struct col_takeover *t, const char *id, const char *bot, const char *agent,
                         const char *check, int64_t opened_at)
{
    struct col_takeover_alert *a = &t->alerts[t->nalerts++];
    snprintf(a->alert_id, sizeof(a->alert_id), "%s", id);
    snprintf(a->bot, sizeof(a->bot), "%s", bot);
    snprintf(a->agent, sizeof(a->agent), "%s", agent);
    snprintf(a->check, sizeof(a->check), "%s", check);
    snprintf(a->severity, sizeof(a->severity), "critical");
    a->opened_at = opened_at;
}

static void hand_over(struct cfx *c, struct col_takeover *t, int64_t at)
{
    struct col_event ev = {.kind = COL_EV_TAKEOVER, .recv_mono = T0 + at, .recv_wall = W0 + at};
    ev.takeover = t;
    col_engine_handle(c->fx.e, &ev);
}

static void test_says_only_what_its_shards_owner_may(void **state)
{
    struct cfx *c = *state;
    struct efx *fx = &c->fx;
    col_owners_adopt(c->owners, shard(c->ours), hold(c, shard(c->ours)));
    efx_bot_on(fx, c->ours, "bot-1", "ex", 0);
    efx_bot_on(fx, c->theirs, "bot-2", "ex", 0);
    /* both judged, whoever owns them: the fleet view is whole on every collector */
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_HEALTHY);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_HEALTHY);
    expect_said(fx->said, ROOT "/status/bot-1", "status=healthy", NULL);
    expect_silent(fx->said, ROOT "/status/bot-2");
    assert_int_equal(rows_count(fx->said, COL_OP_TRADE), 2); /* everyone writes trades */
    for (size_t i = 0; i < fx->said->n; i++) {
        const struct said *s = &fx->said->v[i];
        if (s->is_row && s->op.kind == COL_OP_AGENT)
            assert_string_equal(s->op.u.agent.agent, c->ours);
        if (s->is_row && s->op.kind == COL_OP_BOT)
            assert_string_equal(s->op.u.bot.id, "bot-1");
    }
    recorder_clear(fx->said);
    efx_heartbeat(fx, c->ours, "bot-1", false, 1 * S);
    efx_heartbeat(fx, c->theirs, "bot-2", false, 1 * S);
    assert_int_equal(efx_bot(fx, "bot-2")->status, COL_ST_STOPPED);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=opened", NULL);
    expect_silent(fx->said, ROOT "/alerts/+/bot-2");
    expect_silent(fx->said, ROOT "/status/bot-2");
    const struct col_store_op *tr = expect_row(fx->said, COL_OP_TRANSITION);
    assert_string_equal(tr->u.transition.bot, "bot-1");
    assert_int_equal(rows_count(fx->said, COL_OP_TRANSITION), 1);
    assert_int_equal(rows_count(fx->said, COL_OP_ALERT), 1);
    assert_true(col_owners_fenced(c->owners) > 0);
    efx_tick(fx, 2 * S); /* not the leader: no summary */
    expect_silent(fx->said, ROOT "/fleet/summary");
}

static void test_lease_run_out_says_nothing(void **state)
{
    struct cfx *c = *state;
    struct efx *fx = &c->fx;
    col_owners_adopt(c->owners, shard(c->ours), hold(c, shard(c->ours)));
    efx_bot_on(fx, c->ours, "bot-1", "ex", 0);
    recorder_clear(fx->said);
    col_owners_confirm(c->owners, bp_mono_ms() - LEASE); /* the last round trip: a lease ago */
    efx_heartbeat(fx, c->ours, "bot-1", false, 1 * S);
    assert_int_equal(efx_bot(fx, "bot-1")->status, COL_ST_STOPPED);
    expect_silent(fx->said, "#");
    assert_int_equal(rows_count(fx->said, COL_OP_TRANSITION), 0);
}

/* The owner of bot-2 announced its death and died too; what it stored is what was said. */
static void test_takeover_resolves_by_the_announced_ids(void **state)
{
    struct cfx *c = *state;
    struct efx *fx = &c->fx;
    efx_bot_on(fx, c->theirs, "bot-2", "ex", 0);
    efx_heartbeat(fx, c->theirs, "bot-2", false, 1 * S);
    assert_string_not_equal(efx_worst(efx_bot(fx, "bot-2"))->id, "old-a1"); /* our own, unsaid */
    recorder_clear(fx->said);
    struct col_takeover *t = takeover_of(c, c->theirs, false);
    stored_bot(t, "bot-2", c->theirs, COL_ST_STOPPED);
    stored_alert(t, "old-a1", "bot-2", c->theirs, "process", W0 + 1 * S);
    hand_over(c, t, 3 * S);
    expect_silent(fx->said, "#"); /* all of it was said already */
    assert_int_equal(rows_count(fx->said, COL_OP_TRANSITION), 0);
    assert_string_equal(efx_worst(efx_bot(fx, "bot-2"))->id, "old-a1");
    efx_heartbeat(fx, c->theirs, "bot-2", true, 4 * S); /* back: resolved under its own id */
    expect_said(fx->said, ROOT "/alerts/critical/bot-2", "event=resolved", "alert_id=old-a1", NULL);
    expect_said(fx->said, ROOT "/status/bot-2", "status=healthy", NULL);
}

/* bot-2 died after its owner did: nobody said it; the new owner does, once. Its deadlines are
 * the ones it always had: no fresh grace for a bot it has been seeing. */
static void test_takeover_says_what_nobody_said(void **state)
{
    struct cfx *c = *state;
    struct efx *fx = &c->fx;
    efx_bot_on(fx, c->theirs, "bot-2", "ex", 0);
    efx_bot_on(fx, c->theirs, "bot-3", "ex", 0);
    efx_heartbeat(fx, c->theirs, "bot-2", false, 1 * S);
    struct col_takeover *t = takeover_of(c, c->theirs, true);
    stored_bot(t, "bot-2", c->theirs, COL_ST_HEALTHY);
    stored_bot(t, "bot-3", c->theirs, COL_ST_HEALTHY);
    recorder_clear(fx->said);
    hand_over(c, t, 20 * S);
    expect_said(fx->said, ROOT "/status/bot-2", "status=stopped", NULL);
    expect_silent(fx->said, ROOT "/status/bot-3"); /* healthy, as stored: nothing to say */
    assert_int_equal(said_count(fx->said, ROOT "/alerts/#"), 1);
    expect_said(fx->said, ROOT "/alerts/critical/bot-2", "event=opened", NULL);
    const struct col_store_op *tr = expect_row(fx->said, COL_OP_TRANSITION);
    assert_string_equal(tr->u.transition.from_status, "healthy");
    assert_string_equal(tr->u.transition.to_status, "stopped");
    recorder_clear(fx->said);
    efx_tick(fx, 21 * S); /* the leader's summary follows */
    expect_said(fx->said, ROOT "/fleet/summary", "total=2", NULL);
    efx_tick(fx, 29 * S);
    expect_silent(fx->said, ROOT "/status/bot-3");
    efx_tick(fx, 30 * S); /* bot-3's heartbeat deadline from t=0, as before the takeover */
    expect_said(fx->said, ROOT "/status/bot-3", "status=down", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_says_only_what_its_shards_owner_may, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_run_out_says_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_takeover_resolves_by_the_announced_ids, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_takeover_says_what_nobody_said, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
