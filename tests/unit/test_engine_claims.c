/* SPDX-License-Identifier: MIT */
/* The rules thread on a fake clock, who speaks for a bot: the first agent to name it, the one
 * its [bot] section names, the one a previous run knew, or the one an operator moved it to;
 * another agent's heartbeat, stats, trade or agent_state listing changes nothing and is
 * counted; an agent's bots are capped; refusals are logged at most once a minute. */
#include "engine_fx.h"
#include "claims.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct col_claims *owners(struct efx *fx)
{
    struct col_query *qr = efx_ask(fx, col_query_new(COL_Q_PING), 0);
    static struct col_claims copy;
    memcpy(copy.refused, qr->claims_refused, sizeof(copy.refused));
    col_query_release(qr);
    return &copy;
}

static struct col_query *move(struct efx *fx, const char *bot, const char *agent, int64_t at)
{
    struct col_query *qr = col_query_new(COL_Q_MOVE);
    snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", bot);
    snprintf(qr->agent, sizeof(qr->agent), "%s", agent);
    return efx_ask(fx, qr, at);
}

/* The takeover of issue 14: a2 speaks for a1's bot under its own topic. It is refused: the bot
 * stays a1's, and when a1 goes away the bot is down although a2 says it is alive. */
static void test_another_agent_cannot_keep_a_bot_alive(void **state)
{
    struct efx *fx = *state;
    efx_bot_on(fx, "a1", "bot-1", "ex1", 0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_int_equal(b->status, COL_ST_HEALTHY);
    recorder_clear(fx->said);
    for (int i = 1; i <= 5; i++)
        efx_heartbeat(fx, "a2", "bot-1", true, i * S);
    assert_string_equal(b->agent->id, "a1");
    efx_agent_state(fx, "a1", "host-a1", false, "bot-1", "", 6 * S); /* a1's Will */
    for (int i = 7; i <= 40; i++)
        efx_heartbeat(fx, "a2", "bot-1", true, i * S);
    efx_tick(fx, 40 * S);
    assert_int_equal(b->status, COL_ST_DOWN);
    assert_string_equal(b->agent->id, "a1");
    expect_said(fx->said, ROOT "/status/bot-1", "status=down", "agent=a1", NULL);
    assert_int_equal(owners(fx)->refused[COL_CLAIM_FOREIGN], 39);
    /* the collector's stats say so */
    fx->cfg.stats_interval_ms = 1000;
    efx_tick(fx, 3700 * S);
    expect_said(fx->said, ROOT "/collector/stats", "claims_refused.foreign=39", NULL);
}

/* Nothing a refused message says reaches the bot: not a listing's labels, not a trade row. */
static void test_a_refused_claim_changes_nothing(void **state)
{
    struct efx *fx = *state;
    efx_agent_state(fx, "a1", "h1", true, "bot-1", "acct-1", 0);
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    recorder_clear(fx->said);
    efx_agent_state(fx, "a2", "h2", true, "bot-1", "acct-2", 1 * S);
    efx_trade(fx, "a2", "bot-1", 2 * S, 2 * S);
    struct col_event ev;
    efx_header(fx, &ev, BP_MSG_STATS, "a2", "bot-1", 3 * S);
    ev.msg.u.stats.host_disk_pct = 99;
    col_engine_handle(fx->e, &ev);
    assert_string_equal(b->agent->id, "a1");
    assert_string_equal(b->account, "acct-1");
    assert_false(b->ev.has_trade);
    assert_int_equal(rows_count(fx->said, COL_OP_TRADE), 0);
    assert_int_equal(rows_count(fx->said, COL_OP_SAMPLE), 0);
    assert_int_equal(b->ev.res_streak, 0);
    assert_int_equal(owners(fx)->refused[COL_CLAIM_FOREIGN], 3);
    /* a2's own bot is fine */
    efx_heartbeat(fx, "a2", "bot-2", true, 4 * S);
    assert_string_equal(efx_bot(fx, "bot-2")->agent->id, "a2");
}

/* [bot bot-1] agent = a2: a1 naming it first gets nowhere. */
static void test_the_config_names_the_owner(void **state)
{
    struct efx *fx = *state;
    struct col_bot_override *o = calloc(1, sizeof(*o)), *list[1] = {o};
    snprintf(o->name, sizeof(o->name), "bot-1");
    snprintf(o->agent, sizeof(o->agent), "a2");
    snprintf(o->intended, sizeof(o->intended), "running");
    fx->cfg.bots = list;
    fx->cfg.nbots = 1;
    efx_heartbeat(fx, "a1", "bot-1", true, 0);
    assert_null(col_strmap_get(col_engine_fleet(fx->e)->bots, "bot-1"));
    efx_heartbeat(fx, "a2", "bot-1", true, 1 * S);
    assert_string_equal(efx_bot(fx, "bot-1")->agent->id, "a2");
    struct col_query *qr = move(fx, "bot-1", "a1", 2 * S); /* the config decides, not the API */
    assert_int_equal(qr->rc, -EPERM);
    col_query_release(qr);
    assert_string_equal(efx_bot(fx, "bot-1")->agent->id, "a2");
    fx->cfg.bots = NULL;
    fx->cfg.nbots = 0;
    free(o);
}

/* The owner a previous run stored comes back before the bot does. */
static void test_a_restart_keeps_the_owner(void **state)
{
    struct efx *fx = *state;
    assert_int_equal(col_engine_restore_owner(fx->e, "bot-1", "a1"), 0);
    assert_int_equal(col_engine_restore_owner(fx->e, "bot/1", "a1"), -EINVAL);
    efx_agent_state(fx, "a2", "h2", true, "bot-1", "", 0);
    efx_heartbeat(fx, "a2", "bot-1", true, 0);
    assert_null(col_strmap_get(col_engine_fleet(fx->e)->bots, "bot-1"));
    efx_heartbeat(fx, "a1", "bot-1", true, 1 * S);
    assert_string_equal(efx_bot(fx, "bot-1")->agent->id, "a1");
    assert_int_equal(owners(fx)->refused[COL_CLAIM_FOREIGN], 2);
}

/* An operator moves a bot on purpose: the new agent speaks for it, the old one no longer, and
 * its bots row carries the owner a restart reads back. */
static void test_an_operator_moves_a_bot(void **state)
{
    struct efx *fx = *state;
    efx_bot_on(fx, "a1", "bot-1", "ex1", 0);
    recorder_clear(fx->said);
    struct col_query *qr = move(fx, "bot-1", "a2", 1 * S);
    assert_int_equal(qr->rc, 0);
    assert_int_equal(qr->nbots, 1);
    assert_string_equal(qr->bots[0].snap.agent, "a2");
    col_query_release(qr);
    assert_string_equal(expect_row(fx->said, COL_OP_BOT)->u.bot.agent, "a2");
    efx_heartbeat(fx, "a1", "bot-1", true, 2 * S);
    efx_heartbeat(fx, "a2", "bot-1", true, 3 * S);
    const struct col_bot *b = efx_bot(fx, "bot-1");
    assert_string_equal(b->agent->id, "a2");
    assert_int_equal(b->ev.last_heartbeat_mono, T0 + 3 * S);
    assert_int_equal(owners(fx)->refused[COL_CLAIM_FOREIGN], 1);
    qr = move(fx, "nobody-knows", "a2", 4 * S);
    assert_int_equal(qr->rc, -ENOENT);
    col_query_release(qr);
    /* a bot known only from a previous run can be moved before it shows up */
    assert_int_equal(col_engine_restore_owner(fx->e, "bot-7", "a1"), 0);
    qr = move(fx, "bot-7", "a2", 5 * S);
    assert_int_equal(qr->rc, 0);
    col_query_release(qr);
    efx_heartbeat(fx, "a2", "bot-7", true, 6 * S);
    assert_string_equal(efx_bot(fx, "bot-7")->agent->id, "a2");
}

/* The first refusal of a reason is logged, then at most one line a minute with the count. */
static void test_refusals_are_logged_once_a_minute(void **state)
{
    (void)state;
    struct col_claims o;
    uint64_t since = 0;
    assert_int_equal(col_claims_init(&o), 0);
    assert_true(col_claims_refuse(&o, COL_CLAIM_FOREIGN, 1000, &since));
    assert_int_equal(since, 1);
    for (int i = 0; i < 10; i++)
        assert_false(col_claims_refuse(&o, COL_CLAIM_FOREIGN, 2000 + i, &since));
    assert_true(col_claims_refuse(&o, COL_CLAIM_FOREIGN, 1000 + COL_OWNERS_LOG_EVERY_MS, &since));
    assert_int_equal(since, 11);
    assert_int_equal(o.refused[COL_CLAIM_FOREIGN], 12);
    assert_string_equal(col_claim_name(COL_CLAIM_FOREIGN), "foreign");
    col_claims_cleanup(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_another_agent_cannot_keep_a_bot_alive, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_a_refused_claim_changes_nothing, efx_setup,
                                        efx_teardown),
        cmocka_unit_test_setup_teardown(test_the_config_names_the_owner, efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_a_restart_keeps_the_owner, efx_setup, efx_teardown),
        cmocka_unit_test_setup_teardown(test_an_operator_moves_a_bot, efx_setup, efx_teardown),
        cmocka_unit_test(test_refusals_are_logged_once_a_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
