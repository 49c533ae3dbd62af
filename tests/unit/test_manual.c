/* SPDX-License-Identifier: MIT */
/* Operator's restarts: the body's grammar, the per-bot rate limit on a fake clock, and every
 * refusal (no signing key, unknown bot, agent offline, no broker) before anything is sent. */
#include "http_commands.h"
#include "fleet.h"
#include "manual.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

static void test_restart_body(void **state)
{
    (void)state;
    enum col_rec_action a;
    char err[200];
    assert_int_equal(col_restart_from_json(NULL, &a, err, sizeof(err)), 0);
    assert_int_equal(a, COL_REC_RESTART);
    assert_int_equal(col_restart_from_json("{}", &a, err, sizeof(err)), 0);
    assert_int_equal(a, COL_REC_RESTART);
    assert_int_equal(col_restart_from_json("{\"action\":\"hard_restart\"}", &a, err, sizeof(err)),
                     0);
    assert_int_equal(a, COL_REC_HARD_RESTART);
    static const char *const bad[] = {"[1]",
                                      "nope",
                                      "{\"action\":\"reconnect\"}",
                                      "{\"action\":\"pre_restart\"}",
                                      "{\"action\":\"rm -rf /\"}",
                                      "{\"action\":1}",
                                      "{\"action\":\"restart\",\"cmd\":\"x\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(col_restart_from_json(bad[i], &a, err, sizeof(err)), -EINVAL);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(col_restart_from_json("{\"cmd\":\"x\"}", &a, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unknown member 'cmd'"));
}

static void test_rate_limit_per_bot(void **state)
{
    (void)state;
    struct col_manual *m = col_manual_new(30000);
    assert_non_null(m);
    int64_t retry = 0;
    assert_true(col_manual_may_send(m, "b1", 1000, &retry));
    assert_int_equal(col_manual_note_sent(m, "b1", 1000), 0);
    assert_false(col_manual_may_send(m, "b1", 1001, &retry));
    assert_int_equal(retry, 29999);
    assert_true(col_manual_may_send(m, "b2", 1001, &retry)); /* per bot */
    assert_false(col_manual_may_send(m, "b1", 30999, &retry));
    assert_int_equal(retry, 1);
    assert_true(col_manual_may_send(m, "b1", 31000, &retry));
    assert_int_equal(col_manual_note_sent(m, "b1", 31000), 0);
    assert_false(col_manual_may_send(m, "b1", 31000, &retry));
    col_manual_free(m);
    col_manual_free(NULL);
}

static void test_refusals_send_nothing(void **state)
{
    (void)state;
    struct col_manual *m = col_manual_new(30000);
    struct col_manual_order o = {.action = COL_REC_RESTART};
    struct col_agent agent = {.id = "agent-1", .offline = true};
    struct col_bot bot = {.id = "b1", .agent = &agent};
    assert_non_null(m);
    /* no commander: recovery is not configured, whatever else holds */
    assert_int_equal(col_manual_answer(m, NULL, &bot, false, &o, 0), -ENOTSUP);
    struct col_commander *fake = (struct col_commander *)&agent; /* never dereferenced here */
    assert_int_equal(col_manual_answer(m, fake, NULL, false, &o, 0), -ENOENT);
    assert_int_equal(col_manual_answer(m, fake, &bot, false, &o, 0), -EHOSTDOWN);
    bot.agent = NULL;
    assert_int_equal(col_manual_answer(m, fake, &bot, false, &o, 0), -EHOSTDOWN);
    bot.agent = &agent;
    agent.offline = false;
    assert_int_equal(col_manual_answer(m, fake, &bot, true, &o, 0), -EAGAIN);
    assert_int_equal(col_manual_note_sent(m, "b1", 0), 0);
    assert_int_equal(col_manual_answer(m, fake, &bot, false, &o, 5000), -EBUSY);
    assert_int_equal(o.retry_ms, 25000);
    assert_string_equal(o.nonce, "");
    col_manual_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_body),
        cmocka_unit_test(test_rate_limit_per_bot),
        cmocka_unit_test(test_refusals_send_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
