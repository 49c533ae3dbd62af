/* SPDX-License-Identifier: MIT */
/* Questions to the rules thread: answered on the rules thread through its queue, filtered,
 * forced checks, and an asker that gives up at its deadline (no leak, no use after free). */
#include "engine.h"
#include "query.h"
#include "queue.h"

#include "engine_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

struct fx {
    struct col_settings cfg;
    struct col_engine *e;
    struct bp_queue *q;
    pthread_t thread;
    volatile sig_atomic_t stop;
    bool running;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    efx_settings(&fx->cfg, 60000, 120000);
    assert_int_equal(col_engine_new(&fx->cfg, NULL, NULL, &fx->e), 0);
    fx->q = bp_queue_new(16);
    *state = fx;
    return 0;
}

static void stop_engine(struct fx *fx)
{
    if (!fx->running)
        return;
    fx->stop = 1;
    bp_queue_wake(fx->q);
    pthread_join(fx->thread, NULL);
    fx->running = false;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    stop_engine(fx);
    bp_queue_free(fx->q, col_event_free);
    col_engine_free(fx->e);
    free(fx);
    return 0;
}

static void *run(void *arg)
{
    struct fx *fx = arg;
    col_engine_run(fx->e, fx->q, &fx->stop);
    return NULL;
}

static void start_engine(struct fx *fx)
{
    assert_int_equal(pthread_create(&fx->thread, NULL, run, fx), 0);
    fx->running = true;
}

/* A heartbeat from agent a1 for bot, through the queue like one from MQTT. */
static void heartbeat(struct fx *fx, const char *bot, bool alive)
{
    struct col_event *ev = calloc(1, sizeof(*ev));
    ev->recv_mono = bp_mono_ms();
    ev->recv_wall = bp_wall_ms();
    ev->msg.hdr.v = 1;
    ev->msg.hdr.type = BP_MSG_HEARTBEAT;
    snprintf(ev->msg.hdr.agent, sizeof(ev->msg.hdr.agent), "a1");
    snprintf(ev->msg.hdr.bot, sizeof(ev->msg.hdr.bot), "%s", bot);
    ev->msg.u.heartbeat.interval_ms = 10000;
    ev->msg.u.heartbeat.proc.alive = alive;
    ev->msg.u.heartbeat.last_trade_ts = bp_wall_ms();
    assert_int_equal(bp_queue_push(fx->q, ev), 0);
}

static struct col_query *ask(struct fx *fx, enum col_query_kind kind, const char *bot, int status)
{
    struct col_query *qr = col_query_new(kind);
    assert_non_null(qr);
    if (bot)
        snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", bot);
    qr->filter.status = status;
    assert_int_equal(col_query_ask(qr, fx->q, 2000), 0);
    return qr;
}

static void test_bots_are_answered_as_copies(void **state)
{
    struct fx *fx = *state;
    start_engine(fx);
    heartbeat(fx, "bot-1", true);
    heartbeat(fx, "bot-2", false);
    struct col_query *qr = ask(fx, COL_Q_BOTS, NULL, -1);
    assert_int_equal(qr->rc, 0);
    assert_int_equal(qr->nbots, 2);
    assert_int_equal(qr->fleet_size, 2);
    col_query_release(qr);
    qr = ask(fx, COL_Q_BOTS, NULL, COL_ST_STOPPED); /* filter by status */
    assert_int_equal(qr->nbots, 1);
    assert_string_equal(qr->bots[0].snap.id, "bot-2");
    assert_string_equal(qr->bots[0].snap.agent, "a1");
    assert_string_equal(qr->bots[0].snap.check, "process");
    assert_true(qr->bots[0].alert_open);
    assert_int_equal(qr->bots[0].alert_severity, COL_SEV_CRITICAL);
    col_query_release(qr);
    qr = ask(fx, COL_Q_BOTS, "bot-1", -1);
    assert_int_equal(qr->nbots, 1);
    assert_int_equal(qr->bots[0].snap.status, COL_ST_HEALTHY);
    assert_true(qr->bots[0].snap.last_heartbeat > 0);
    col_query_release(qr);
    qr = ask(fx, COL_Q_BOTS, "nobody", -1);
    assert_int_equal(qr->rc, -ENOENT);
    col_query_release(qr);
}

static void test_forced_check_reevaluates(void **state)
{
    struct fx *fx = *state;
    start_engine(fx);
    heartbeat(fx, "bot-1", true);
    struct col_query *qr = ask(fx, COL_Q_CHECK, "bot-1", -1);
    assert_int_equal(qr->rc, 0);
    assert_int_equal(qr->nbots, 1);
    assert_int_equal(qr->bots[0].snap.status, COL_ST_HEALTHY);
    col_query_release(qr);
    qr = ask(fx, COL_Q_CHECK, "nobody", -1);
    assert_int_equal(qr->rc, -ENOENT);
    col_query_release(qr);
}

/* No rules thread runs: the asker times out and keeps its reference; the query left in the
 * queue is released by col_event_free at teardown (ASan: no leak, no double free). */
static void test_asker_gives_up_at_deadline(void **state)
{
    struct fx *fx = *state;
    struct col_query *qr = col_query_new(COL_Q_PING);
    int64_t t0 = bp_mono_ms();
    assert_int_equal(col_query_ask(qr, fx->q, 200), -ETIMEDOUT);
    int64_t took = bp_mono_ms() - t0;
    assert_true(took >= 190 && took < 2000);
    col_query_release(qr);
    /* and a late answer after the asker left frees it exactly once */
    qr = col_query_new(COL_Q_PING);
    assert_int_equal(col_query_ask(qr, fx->q, 50), -ETIMEDOUT);
    col_query_release(qr);
    start_engine(fx); /* answers both late */
    struct col_query *ping = ask(fx, COL_Q_PING, NULL, -1);
    assert_int_equal(ping->rc, 0);
    col_query_release(ping);
}

static void test_full_queue_is_refused(void **state)
{
    struct fx *fx = *state;
    for (int i = 0; i < 16; i++)
        heartbeat(fx, "bot-1", true);
    struct col_query *qr = col_query_new(COL_Q_PING);
    assert_int_equal(col_query_ask(qr, fx->q, 100), -ENOBUFS);
    col_query_release(qr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bots_are_answered_as_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forced_check_reevaluates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asker_gives_up_at_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
