/* SPDX-License-Identifier: MIT */
/* The agent clock offset estimate: the largest recent (sent - received). */
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
    assert_int_equal(s.ahead_ms, 10000 - 5);
    /* a trade buffered through a 5 min outage arrives late: it says nothing of the clock */
    col_skew_add(&s, NOW + 10000, NOW + 300000);
    assert_int_equal(s.ahead_ms, 10000 - 5);

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ahead_behind_and_transit),
        cmocka_unit_test(test_estimate_follows_a_corrected_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
