/* SPDX-License-Identifier: MIT */
/* The agent clock offset estimate: the largest recent (sent - received) once the top quarter
 * is set aside, so the least-delayed messages count and a few outliers do not. */
#include "clockskew.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define NOW 1800000000000LL

static void test_ahead_behind_and_transit(void **state)
{
    (void)state;
    struct col_skew s = {0};
    assert_false(col_skew_known(&s));
    /* agent 10 s ahead; transit 5..50 ms: the least-delayed message wins */
    const int delays[] = {50, 20, 5, 30, 45};
    for (int i = 0; i < 5; i++)
        col_skew_add(&s, NOW + i * 1000 + 10000, NOW + i * 1000 + delays[i]);
    assert_true(col_skew_known(&s));
    assert_int_equal(s.ahead_ms, 10000 - 20); /* the least delay once the top one is aside */
    /* a trade buffered through a 5 min outage arrives late: it says nothing of the clock */
    col_skew_add(&s, NOW + 10000, NOW + 300000);
    assert_int_equal(s.ahead_ms, 10000 - 20);

    struct col_skew b = {0};
    for (int i = 0; i < 3; i++)
        col_skew_add(&b, NOW + i * 1000 - 3000, NOW + i * 1000 + 10);
    assert_int_equal(b.ahead_ms, -3010);
}

static void test_estimate_follows_a_corrected_clock(void **state)
{
    (void)state;
    struct col_skew s = {0};
    for (int i = 0; i < COL_SKEW_SAMPLES; i++)
        col_skew_add(&s, NOW + i * 1000 + 60000, NOW + i * 1000);
    assert_int_equal(s.ahead_ms, 60000);
    /* NTP fixes the agent: after a window of samples the old offset is gone */
    for (int i = 0; i < COL_SKEW_SAMPLES; i++)
        col_skew_add(&s, NOW + 100000 + i * 1000 + 3, NOW + 100000 + i * 1000);
    assert_int_equal(s.ahead_ms, 3);
}

/* Issue 14: one heartbeat stamped a century ahead moved the estimate to 27 million hours for
 * the next 16 messages. A few outliers ahead, or a burst of late messages, move it no more. */
static void test_an_outlier_does_not_move_the_estimate(void **state)
{
    (void)state;
    const int64_t century = 100LL * 365 * 24 * 3600 * 1000;
    struct col_skew s = {0};
    for (int i = 0; i < COL_SKEW_SAMPLES; i++)
        col_skew_add(&s, NOW + i * 1000 + 10000, NOW + i * 1000 + 5);
    assert_int_equal(s.ahead_ms, 9995);
    int64_t t = NOW + 100000;
    assert_int_equal(col_skew_add(&s, t + century, t), 9995);
    for (int i = 1; i <= COL_SKEW_SAMPLES; i++) /* it stays the whole window */
        assert_int_equal(col_skew_add(&s, t + i * 1000 + 10000, t + i * 1000 + 5), 9995);
    for (int i = 0; i < 4; i++) /* four at once are still outliers */
        col_skew_add(&s, t + century, t);
    assert_int_equal(s.ahead_ms, 9995);
    struct col_skew late = {0};
    for (int i = 0; i < COL_SKEW_SAMPLES; i++)
        col_skew_add(&late, NOW + i * 1000 + 10000, NOW + i * 1000 + 5);
    for (int i = 0; i < 11; i++) /* a reconnect flushes 11 buffered trades, a minute late */
        col_skew_add(&late, NOW + 10000, NOW + 60000 + i);
    assert_int_equal(late.ahead_ms, 9995);
    struct col_skew two = {0}; /* the very first message is the outlier */
    col_skew_add(&two, NOW + century, NOW);
    assert_int_equal(col_skew_add(&two, NOW + 3000, NOW), 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ahead_behind_and_transit),
        cmocka_unit_test(test_estimate_follows_a_corrected_clock),
        cmocka_unit_test(test_an_outlier_does_not_move_the_estimate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
