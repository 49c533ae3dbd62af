/* SPDX-License-Identifier: MIT */
/* Silences on a fake clock: matching, expiry, the POST body's validation, the rules thread
 * keeping a silenced bot's alert quiet (stored, not said) and saying it when the silence
 * ends. */
#include "engine_fx.h"
#include "http_parse.h"
#include "http_report.h"
#include "http_silences.h"
#include "silences.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct col_silence silence(const char *id, const char *bot, const char *account,
                                  const char *host, const char *check, int64_t ends_mono)
{
    struct col_silence sl = {.ends_mono = ends_mono};
    snprintf(sl.id, sizeof(sl.id), "%s", id);
    snprintf(sl.bot, sizeof(sl.bot), "%s", bot);
    snprintf(sl.account, sizeof(sl.account), "%s", account);
    snprintf(sl.host, sizeof(sl.host), "%s", host);
    snprintf(sl.check, sizeof(sl.check), "%s", check);
    snprintf(sl.reason, sizeof(sl.reason), "test");
    return sl;
}

static void test_matching(void **state)
{
    struct {
        struct col_silence sl;
        bool match;
    } cases[] = {
        {silence("1", "bot-1", "", "", "", 0), true},
        {silence("2", "bot-2", "", "", "", 0), false},
        {silence("3", "", "acct", "", "", 0), true},
        {silence("4", "", "other", "", "", 0), false},
        {silence("5", "", "", "host-1", "", 0), true},
        {silence("6", "", "", "", "liveness", 0), true},
        {silence("7", "", "", "", "trading", 0), false},
        {silence("8", "bot-1", "acct", "host-1", "liveness", 0), true},
        {silence("9", "bot-1", "acct", "host-2", "liveness", 0), false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(col_silence_matches(&cases[i].sl, "bot-1", "acct", "host-1", "liveness"),
                         cases[i].match);
    /* an unknown label of the bot matches only a silence that does not ask for it */
    struct col_silence sl = silence("x", "", "", "", "liveness", 0);
    assert_false(col_silence_matches(&sl, "bot-1", "", "", NULL));
    assert_false(col_silence_is_valid(&(struct col_silence){.id = "e"})); /* no matcher */
}

static void test_add_remove_and_expiry_on_fake_clock(void **state)
{
    struct col_silences s;
    col_silences_init(&s);
    struct col_silence a = silence("a", "bot-1", "", "", "", T0 + 60 * S);
    struct col_silence b = silence("b", "", "acct", "", "", T0 + 30 * S);
    struct col_silence none = {.id = "n"};
    assert_int_equal(col_silences_add(&s, &a), 0);
    assert_int_equal(col_silences_add(&s, &b), 0);
    assert_int_equal(col_silences_add(&s, &a), -EEXIST);
    assert_int_equal(col_silences_add(&s, &none), -EINVAL);
    assert_int_equal(col_silences_next_end(&s), T0 + 30 * S);
    struct col_silence *copy = NULL;
    size_t ncopy = 0;
    assert_int_equal(col_silences_copy(&s, &copy, &ncopy), 0);
    assert_int_equal(ncopy, 2);
    assert_string_equal(copy[1].id, "b");
    free(copy);
    struct col_store_op op;
    col_store_op_silence(&op, &b, 0, W0);
    assert_int_equal(op.kind, COL_OP_SILENCE);
    assert_string_equal(op.u.silence.silence.account, "acct");
    assert_int_equal(op.u.silence.removed_at, 0);
    assert_string_equal(col_silences_find(&s, "bot-2", "acct", "h", "", T0)->id, "b");
    assert_null(col_silences_find(&s, "bot-2", "other", "h", "", T0));
    /* at its end a silence no longer covers, even before it is popped */
    assert_null(col_silences_find(&s, "bot-2", "acct", "h", "", T0 + 30 * S));
    struct col_silence out;
    assert_false(col_silences_pop_ended(&s, T0 + 30 * S - 1, &out));
    assert_true(col_silences_pop_ended(&s, T0 + 30 * S, &out));
    assert_string_equal(out.id, "b");
    assert_false(col_silences_pop_ended(&s, T0 + 30 * S, &out));
    assert_int_equal(col_silences_next_end(&s), T0 + 60 * S);
    assert_int_equal(col_silences_remove(&s, "zz", &out), -ENOENT);
    assert_int_equal(col_silences_remove(&s, "a", &out), 0);
    assert_int_equal(col_silences_next_end(&s), INT64_MAX);
    col_silences_cleanup(&s);
}

static void test_duration(void **state)
{
    int64_t ms = 0;
    assert_int_equal(col_parse_duration("30m", &ms), 0);
    assert_int_equal(ms, 30 * 60 * S);
    assert_int_equal(col_parse_duration("1h", &ms), 0);
    assert_int_equal(ms, 3600 * S);
    assert_int_equal(col_parse_duration("2d", &ms), 0);
    assert_int_equal(col_parse_duration("45s", &ms), 0);
    assert_int_equal(ms, 45 * S);
    static const char *const bad[] = {"", "m", "0m", "30", "30x", "-5m", "1h30m", "30 m", "1.5h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(col_parse_duration(bad[i], &ms), -EINVAL);
}

static void test_body_validation(void **state)
{
    char err[200];
    struct col_silence sl;
    assert_int_equal(col_silence_from_json("{\"bot\":\"bot-1\",\"duration\":\"30m\","
                                           "\"reason\":\"deploy\",\"by\":\"alice\"}",
                                           W0, &sl, err, sizeof(err)),
                     0);
    assert_string_equal(sl.bot, "bot-1");
    assert_string_equal(sl.created_by, "alice");
    assert_int_equal(sl.ends_at, W0 + 30 * 60 * S);
    assert_int_equal(col_silence_from_json("{\"account\":\"a\",\"check\":\"liveness\","
                                           "\"until\":1700000060000,\"reason\":\"r\"}",
                                           W0, &sl, err, sizeof(err)),
                     0);
    assert_int_equal(sl.ends_at, W0 + 60 * S);
    assert_string_equal(sl.created_by, "api");
    /* one metric rule's alert, or the log error rate's, can be silenced alone */
    assert_int_equal(col_silence_from_json("{\"bot\":\"b\",\"check\":\"metric:drawdown_pct\","
                                           "\"duration\":\"1h\",\"reason\":\"r\"}",
                                           W0, &sl, err, sizeof(err)),
                     0);
    assert_string_equal(sl.check, "metric:drawdown_pct");
    assert_int_equal(col_silence_from_json("{\"bot\":\"b\",\"check\":\"log_errors\","
                                           "\"duration\":\"1h\",\"reason\":\"r\"}",
                                           W0, &sl, err, sizeof(err)),
                     0);
    static const char *const bad[] = {
        "[]",
        "{\"duration\":\"30m\",\"reason\":\"r\"}", /* no matcher */
        "{\"bot\":\"b\",\"reason\":\"r\"}",        /* no end */
        "{\"bot\":\"b\",\"duration\":\"1h\",\"until\":1800000000000,\"reason\":\"r\"}",
        "{\"bot\":\"b\",\"duration\":\"1h\"}",                        /* no reason */
        "{\"bot\":\"b\",\"duration\":\"1h\",\"reason\":\"\"}",        /* empty reason */
        "{\"bot\":\"b c\",\"duration\":\"1h\",\"reason\":\"r\"}",     /* bad id */
        "{\"bot\":7,\"duration\":\"1h\",\"reason\":\"r\"}",           /* not a string */
        "{\"bot\":\"b\",\"duration\":\"1y\",\"reason\":\"r\"}",       /* bad unit */
        "{\"bot\":\"b\",\"duration\":\"367d\",\"reason\":\"r\"}",     /* too long */
        "{\"bot\":\"b\",\"until\":1699999999999,\"reason\":\"r\"}",   /* past */
        "{\"bot\":\"b\",\"until\":1700000000000.5,\"reason\":\"r\"}", /* not an integer */
        "{\"bot\":\"b\",\"until\":\"soon\",\"reason\":\"r\"}",
        "{\"bot\":\"b\",\"until\":1e300,\"reason\":\"r\"}",                /* far off */
        "{\"check\":\"nope\",\"duration\":\"1h\",\"reason\":\"r\"}",       /* not a check */
        "{\"check\":\"metric:Bad\",\"duration\":\"1h\",\"reason\":\"r\"}", /* bad metric */
        "{\"check\":\"metric:\",\"duration\":\"1h\",\"reason\":\"r\"}",
        "{\"bots\":\"b\",\"duration\":\"1h\",\"reason\":\"r\"}", /* typo: unknown */
        /* text that is not UTF-8, or holds control characters: it went back out as JSON and to
         * PostgreSQL as it came (found by tests/fuzz/fuzz_http) */
        "{\"bot\":\"b\",\"duration\":\"1h\",\"reason\":\"ma\xffntenance\"}",
        "{\"bot\":\"b\",\"duration\":\"1h\",\"reason\":\"a\\u0001b\"}",
        "{\"host\":\"h\xc3\",\"duration\":\"1h\",\"reason\":\"r\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (col_silence_from_json(bad[i], W0, &sl, err, sizeof(err)) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_true(err[0] != '\0');
    }
}

static void test_routes(void **state)
{
    struct col_route_match m;
    assert_int_equal(col_route_match("GET", "/silences", &m), 0);
    assert_ptr_equal(m.route->handler, col_http_silences_list);
    assert_false(m.mutating);
    assert_int_equal(col_route_match("POST", "/silences", &m), 0);
    assert_ptr_equal(m.route->handler, col_http_silence_add);
    assert_true(m.mutating);
    assert_int_equal(col_route_match("DELETE", "/silences", &m), -EPERM);
    assert_string_equal(m.allow, "GET, HEAD, POST");
    assert_int_equal(col_route_match("DELETE", "/silences/abc-1", &m), 0);
    assert_ptr_equal(m.route->handler, col_http_silence_remove);
    assert_true(m.mutating);
    assert_string_equal(m.id, "abc-1");
    assert_int_equal(col_route_match("GET", "/silences/abc-1", &m), -EPERM);
    assert_string_equal(m.allow, "DELETE");
    assert_int_equal(col_route_match("DELETE", "/silences/a b", &m), -EINVAL);
    assert_int_equal(col_route_match("DELETE", "/silences/", &m), -EINVAL);
    assert_int_equal(col_route_match("GET", "/report", &m), 0);
    assert_ptr_equal(m.route->handler, col_http_report_handle);
    assert_true(col_route_takes(m.params, "from") && col_route_takes(m.params, "bot"));
    assert_int_equal(col_route_match("POST", "/report", &m), -EPERM);
}

/* ---- the engine keeps a silenced bot's alert quiet ----------------------------------- */

static int setup(void **state)
{
    static struct efx fx;
    efx_start(&fx, 600 * S, 1200 * S);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    efx_stop(*state);
    return 0;
}

/* A heartbeat from agent a1 of a bot alive and trading at `at`. */
static void heartbeat(struct efx *fx, const char *bot, int64_t at)
{
    struct col_event ev;
    efx_header(fx, &ev, BP_MSG_HEARTBEAT, "a1", bot, at);
    ev.msg.u.heartbeat.interval_ms = 10 * S;
    ev.msg.u.heartbeat.proc.alive = true;
    ev.msg.u.heartbeat.proc.pid = 100;
    ev.msg.u.heartbeat.last_trade_ts = W0 + at;
    col_engine_handle(fx->e, &ev);
}

/* Puts a query to the engine as the rules thread would get it; returns it answered. */
static struct col_query *ask(struct efx *fx, enum col_query_kind kind, const struct col_silence *sl,
                             int64_t at)
{
    struct col_query *qr = col_query_new(kind);
    assert_non_null(qr);
    if (sl)
        qr->silence = *sl;
    return efx_ask(fx, qr, at);
}

static void test_silenced_alert_is_quiet_then_announced_at_the_end(void **state)
{
    struct efx *fx = *state;
    heartbeat(fx, "bot-1", 0);
    heartbeat(fx, "bot-2", 0);
    struct col_silence sl = silence("", "bot-1", "", "", "", 0);
    sl.ends_at = W0 + 100 * S;
    struct col_query *qr = ask(fx, COL_Q_SILENCE_ADD, &sl, 1 * S);
    assert_int_equal(qr->rc, 0);
    assert_true(qr->silence.id[0] != '\0');
    assert_int_equal(qr->silence.ends_mono, T0 + 100 * S);
    char id[COL_SILENCE_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", qr->silence.id);
    col_query_release(qr);
    /* the silence's end is a deadline of the loop */
    assert_true(col_engine_next_deadline(fx->e) <= T0 + 100 * S);
    col_engine_tick(fx->e, T0 + 30 * S, W0 + 30 * S); /* both miss 3 heartbeats: down */
    assert_true(efx_has_alert(efx_bot(fx, "bot-1")));
    assert_false(efx_worst(efx_bot(fx, "bot-1"))->announced); /* silenced: stored, not told */
    assert_true(efx_worst(efx_bot(fx, "bot-2"))->announced);
    expect_silent(fx->said, ROOT "/alerts/+/bot-1");
    expect_said(fx->said, ROOT "/alerts/critical/bot-2", "event=opened", "check=liveness", NULL);
    assert_int_equal(rows_count(fx->said, COL_OP_ALERT), 2); /* both stored */
    qr = ask(fx, COL_Q_SILENCES, NULL, 31 * S);
    assert_int_equal(qr->nsilences, 1);
    assert_string_equal(qr->silences[0].id, id);
    col_query_release(qr);
    col_engine_tick(fx->e, T0 + 99 * S, W0 + 99 * S);
    assert_false(efx_worst(efx_bot(fx, "bot-1"))->announced);
    expect_silent(fx->said, ROOT "/alerts/+/bot-1");
    col_engine_tick(fx->e, T0 + 100 * S, W0 + 100 * S); /* the silence ends: told now */
    assert_true(efx_worst(efx_bot(fx, "bot-1"))->announced);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=repeated", "check=liveness",
                "ts=1700000100000", NULL);
    qr = ask(fx, COL_Q_SILENCES, NULL, 101 * S);
    assert_int_equal(qr->nsilences, 0);
    col_query_release(qr);
}

static void test_removed_silence_announces_and_bad_ones_are_refused(void **state)
{
    struct efx *fx = *state;
    heartbeat(fx, "bot-1", 0);
    struct col_silence sl = silence("", "", "", "", "liveness", 0);
    sl.ends_at = W0; /* already over */
    struct col_query *qr = ask(fx, COL_Q_SILENCE_ADD, &sl, 1 * S);
    assert_int_equal(qr->rc, -EINVAL);
    col_query_release(qr);
    sl.ends_at = W0 + 3600 * S;
    qr = ask(fx, COL_Q_SILENCE_ADD, &sl, 1 * S);
    assert_int_equal(qr->rc, 0);
    struct col_silence made = qr->silence;
    col_query_release(qr);
    col_engine_tick(fx->e, T0 + 30 * S, W0 + 30 * S);
    assert_true(efx_has_alert(efx_bot(fx, "bot-1")));
    assert_false(efx_worst(efx_bot(fx, "bot-1"))->announced);
    struct col_silence gone = silence("no-such", "", "", "", "", 0);
    qr = ask(fx, COL_Q_SILENCE_REMOVE, &gone, 40 * S);
    assert_int_equal(qr->rc, -ENOENT);
    col_query_release(qr);
    expect_silent(fx->said, ROOT "/alerts/#");
    qr = ask(fx, COL_Q_SILENCE_REMOVE, &made, 40 * S);
    assert_int_equal(qr->rc, 0);
    col_query_release(qr);
    assert_true(efx_worst(efx_bot(fx, "bot-1"))->announced);
    const struct col_store_op *row = expect_row(fx->said, COL_OP_SILENCE);
    assert_string_equal(row->u.silence.silence.id, made.id);
    assert_int_equal(row->u.silence.removed_at, W0 + 40 * S);
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=repeated", NULL);
    heartbeat(fx, "bot-1", 41 * S); /* and the resolution goes out with it */
    assert_false(efx_has_alert(efx_bot(fx, "bot-1")));
    expect_said(fx->said, ROOT "/alerts/critical/bot-1", "event=resolved", NULL);
}

static void test_restored_silence_keeps_its_end(void **state)
{
    struct efx *fx = *state;
    struct col_silence sl = silence("s-1", "bot-1", "", "", "", 0);
    sl.ends_at = W0 + 50 * S;
    assert_int_equal(col_engine_restore_silence(fx->e, &sl, T0, W0), 0);
    col_engine_tick(fx->e, T0, W0); /* the first stats are due at once; then an hour away */
    assert_int_equal(col_engine_next_deadline(fx->e), T0 + 50 * S);
    sl.ends_at = W0 - 1;
    snprintf(sl.id, sizeof(sl.id), "s-2");
    assert_int_equal(col_engine_restore_silence(fx->e, &sl, T0, W0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_add_remove_and_expiry_on_fake_clock),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_body_validation),
        cmocka_unit_test(test_routes),
        cmocka_unit_test_setup_teardown(test_silenced_alert_is_quiet_then_announced_at_the_end,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_silence_announces_and_bad_ones_are_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_restored_silence_keeps_its_end, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
