/* SPDX-License-Identifier: MIT */
/* Operators' intended states: the body's grammar, and on the rules thread (fake clock, no
 * broker or database) a dead bot set intended stopped at once "stopped, as intended" with its
 * alert resolved, the intent kept when the agent's labels recompute the limits, and set
 * running again the alert back. */
#include "engine.h"
#include "intent.h"
#include "query.h"

#include "engine_settings.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S 1000
#define T0 5000000
#define W0 1700000000000LL

/* Whether the bot has an open alert. */
static bool has_alert(const struct col_bot *b)
{
    return b->alerts.n > 0;
}

static void test_body(void **state)
{
    (void)state;
    enum col_intent i;
    char err[200];
    assert_int_equal(col_intent_from_json("{\"state\":\"stopped\"}", &i, err, sizeof(err)), 0);
    assert_int_equal(i, COL_INTENT_STOPPED);
    assert_int_equal(col_intent_from_json("{\"state\":\"running\"}", &i, err, sizeof(err)), 0);
    assert_int_equal(i, COL_INTENT_RUNNING);
    static const char *const bad[] = {NULL,
                                      "",
                                      "{}",
                                      "[\"stopped\"]",
                                      "{\"state\":\"paused\"}",
                                      "{\"state\":\"Stopped\"}",
                                      "{\"state\":1}",
                                      "{\"state\":null}",
                                      "{\"state\":\"stopped\",\"bot\":\"x\"}"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        err[0] = '\0';
        assert_int_equal(col_intent_from_json(bad[k], &i, err, sizeof(err)), -EINVAL);
        assert_true(err[0] != '\0');
    }
    assert_string_equal(col_intent_name(COL_INTENT_CONFIG, true), "stopped");
    assert_string_equal(col_intent_name(COL_INTENT_CONFIG, false), "running");
    assert_string_equal(col_intent_name(COL_INTENT_RUNNING, true), "running");
}

struct fx {
    struct col_settings cfg;
    struct col_engine *e;
    int64_t seq;
};

static void header(struct fx *fx, struct col_event *ev, enum bp_msg_type type, const char *bot,
                   int64_t at)
{
    memset(ev, 0, sizeof(*ev));
    ev->recv_mono = T0 + at;
    ev->recv_wall = W0 + at;
    ev->msg.hdr.v = 1;
    ev->msg.hdr.type = type;
    snprintf(ev->msg.hdr.agent, sizeof(ev->msg.hdr.agent), "a1");
    snprintf(ev->msg.hdr.bot, sizeof(ev->msg.hdr.bot), "%s", bot);
    snprintf(ev->msg.hdr.boot, sizeof(ev->msg.hdr.boot), "b1");
    ev->msg.hdr.seq = ++fx->seq;
    ev->msg.hdr.ts = W0 + at;
}

static void agent_state(struct fx *fx, int64_t at)
{
    struct col_event ev;
    header(fx, &ev, BP_MSG_AGENT_STATE, "", at);
    struct bp_agent_state *st = &ev.msg.u.agent_state;
    st->online = true;
    snprintf(st->host, sizeof(st->host), "host-1");
    st->heartbeat_ms = 10 * S;
    st->nbots = 1;
    snprintf(st->bots[0].id, sizeof(st->bots[0].id), "bot-1");
    snprintf(st->bots[0].account, sizeof(st->bots[0].account), "acct");
    col_engine_handle(fx->e, &ev);
}

static void heartbeat(struct fx *fx, bool alive, int64_t at)
{
    struct col_event ev;
    header(fx, &ev, BP_MSG_HEARTBEAT, "bot-1", at);
    ev.msg.u.heartbeat.interval_ms = 10 * S;
    ev.msg.u.heartbeat.proc.alive = alive;
    ev.msg.u.heartbeat.proc.pid = alive ? 100 : 0;
    col_engine_handle(fx->e, &ev);
}

/* Asks the engine directly, as the rules thread would answer the queue. */
static struct col_query *intend(struct fx *fx, const char *bot, enum col_intent i, int64_t at)
{
    struct col_query *qr = col_query_new(COL_Q_INTEND);
    assert_non_null(qr);
    snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", bot);
    qr->intent = (int)i;
    qr->refs++; /* the queue's reference, dropped by col_query_finish */
    struct col_event ev = {.kind = COL_EV_QUERY, .recv_mono = T0 + at, .recv_wall = W0 + at};
    ev.query = qr;
    col_engine_handle(fx->e, &ev);
    assert_true(qr->done);
    return qr;
}

static const struct col_bot *bot1(struct fx *fx)
{
    const struct col_bot *b = col_strmap_get(col_engine_fleet(fx->e)->bots, "bot-1");
    assert_non_null(b);
    return b;
}

static void test_intended_stopped_at_run_time(void **state)
{
    (void)state;
    struct fx fx;
    memset(&fx, 0, sizeof(fx));
    test_engine_settings(&fx.cfg, 60 * S, 120 * S);
    assert_int_equal(col_engine_new(&fx.cfg, NULL, NULL, NULL, &fx.e), 0);

    agent_state(&fx, 0);
    heartbeat(&fx, true, 0);
    heartbeat(&fx, false, 10 * S);
    assert_int_equal(bot1(&fx)->status, COL_ST_STOPPED);
    assert_true(has_alert(bot1(&fx)));

    struct col_query *qr = intend(&fx, "bot-1", COL_INTENT_STOPPED, 11 * S);
    assert_int_equal(qr->rc, 0);
    assert_int_equal(qr->nbots, 1);
    assert_true(qr->bots[0].intended_stopped);
    assert_true(qr->bots[0].intended_by_operator);
    assert_int_equal(qr->bots[0].snap.status, COL_ST_STOPPED);
    assert_string_equal(qr->bots[0].snap.reason, "stopped, as intended");
    assert_false(qr->bots[0].alert_open); /* resolved at once */
    col_query_release(qr);

    agent_state(&fx, 12 * S); /* labels recompute the limits from the config: the intent stays */
    heartbeat(&fx, false, 20 * S);
    assert_true(bot1(&fx)->limits.intended_stopped);
    assert_false(has_alert(bot1(&fx)));

    qr = intend(&fx, "bot-1", COL_INTENT_RUNNING, 21 * S);
    assert_int_equal(qr->rc, 0);
    assert_false(qr->bots[0].intended_stopped);
    assert_true(qr->bots[0].intended_by_operator);
    assert_true(qr->bots[0].alert_open); /* dead but meant to run: the alert is back */
    col_query_release(qr);

    qr = intend(&fx, "ghost", COL_INTENT_STOPPED, 22 * S);
    assert_int_equal(qr->rc, -ENOENT);
    col_query_release(qr);
    col_engine_free(fx.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body),
        cmocka_unit_test(test_intended_stopped_at_run_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
