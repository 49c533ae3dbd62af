/* SPDX-License-Identifier: MIT */
/* Learned cadence: hours of the week, the normal gap per hour and overall, when it is trusted. */
#include "cadence.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define MIN 60000LL
#define HOUR (60 * MIN)
#define MONDAY 1795392000000LL /* 2026-11-23 00:00 UTC, a Monday */

static void test_hour_of_week(void **state)
{
    (void)state;
    assert_int_equal(col_hour_of_week(MONDAY), 0);
    assert_int_equal(col_hour_of_week(MONDAY + 59 * MIN), 0);
    assert_int_equal(col_hour_of_week(MONDAY + HOUR), 1);
    assert_int_equal(col_hour_of_week(MONDAY + 6 * 24 * HOUR + 23 * HOUR + 30 * MIN), 167);
    assert_int_equal(col_hour_of_week(MONDAY + 7 * 24 * HOUR), 0);
    assert_int_equal(col_hour_of_week(0), 3 * 24); /* 1970-01-01 was a Thursday */
}

static void test_learns_overall_first_then_per_hour(void **state)
{
    (void)state;
    struct col_cadence c = {0};
    col_cadence_note_trade(&c, MONDAY);
    assert_int_equal(col_cadence_expected(&c, MONDAY, 3), 0); /* nothing learned */
    for (int i = 1; i <= 3; i++)                              /* every 2 h */
        col_cadence_note_trade(&c, MONDAY + i * 2 * HOUR);
    assert_int_equal(col_cadence_expected(&c, MONDAY + 6 * HOUR, 3), 2 * HOUR); /* overall */
    col_cadence_note_trade(&c, MONDAY + 5 * HOUR); /* a late one: ignored */
    assert_int_equal(c.all_n, 3);
    /* Friday 22:00: a weekend gap of 58 h, three weeks running */
    int64_t fri = MONDAY + 4 * 24 * HOUR + 22 * HOUR;
    for (int w = 0; w < 3; w++) {
        col_cadence_note_trade(&c, fri + w * 7 * 24 * HOUR);
        col_cadence_note_trade(&c, fri + w * 7 * 24 * HOUR + 58 * HOUR);
    }
    assert_int_equal(col_cadence_expected(&c, fri + 21 * 24 * HOUR, 3), 58 * HOUR);
    /* an hour without its own three gaps falls back to the overall one (weekends in it) */
    assert_int_equal(col_cadence_expected(&c, MONDAY + 10 * HOUR, 3), (int64_t)c.all_gap_ms);
    assert_true(c.all_gap_ms > 2 * HOUR);
}

static void test_follows_a_change_of_pace(void **state)
{
    (void)state;
    struct col_cadence c = {0};
    int64_t t = MONDAY;
    for (int i = 0; i < 10; i++)
        col_cadence_note_trade(&c, t += 60 * MIN);
    assert_int_equal(col_cadence_expected(&c, t, 5), 60 * MIN);
    for (int i = 0; i < 20; i++) /* now every 10 min */
        col_cadence_note_trade(&c, t += 10 * MIN);
    assert_true(col_cadence_expected(&c, t, 5) < 12 * MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hour_of_week),
        cmocka_unit_test(test_learns_overall_first_then_per_hour),
        cmocka_unit_test(test_follows_a_change_of_pace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
