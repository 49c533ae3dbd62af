/* SPDX-License-Identifier: MIT */
/* Flapping on a fake clock: when it starts, that it starts once, and when it settles. */
#include "flapping.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define S 1000

static const struct col_flap_limits lim = {.changes = 4, .window_ms = 60 * S};

static void test_starts_at_the_nth_change_within_the_window(void **state)
{
    (void)state;
    struct col_flap f = {0};
    assert_false(col_flap_change(&f, &lim, 0));
    assert_false(col_flap_change(&f, &lim, 10 * S));
    assert_false(col_flap_change(&f, &lim, 20 * S));
    assert_int_equal(col_flap_count(&f, &lim, 20 * S), 3);
    assert_true(col_flap_change(&f, &lim, 30 * S)); /* the 4th within 60 s */
    assert_true(f.flapping);
    assert_false(col_flap_change(&f, &lim, 35 * S)); /* reported once */
}

static void test_slow_changes_never_flap(void **state)
{
    (void)state;
    struct col_flap f = {0};
    for (int i = 0; i < 10; i++) /* one every 25 s: at most 3 in any 60 s window */
        assert_false(col_flap_change(&f, &lim, i * 25 * S));
    assert_false(f.flapping);
}

static void test_settles_after_a_quiet_window(void **state)
{
    (void)state;
    struct col_flap f = {0};
    int64_t due;
    assert_false(col_flap_settled(&f, &lim, 0, &due));
    assert_int_equal(due, INT64_MAX);
    for (int i = 0; i < 4; i++)
        col_flap_change(&f, &lim, i * S);
    assert_true(f.flapping);
    assert_false(col_flap_settled(&f, &lim, 62 * S, &due));
    assert_int_equal(due, 63 * S); /* a window after the newest change (3 s) */
    assert_true(col_flap_settled(&f, &lim, 63 * S, &due));
    assert_false(f.flapping);
    assert_false(col_flap_settled(&f, &lim, 64 * S, &due)); /* once */
}

static void test_disabled(void **state)
{
    (void)state;
    const struct col_flap_limits off = {.changes = 0, .window_ms = 60 * S};
    struct col_flap f = {0};
    for (int i = 0; i < 20; i++)
        assert_false(col_flap_change(&f, &off, i));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_at_the_nth_change_within_the_window),
        cmocka_unit_test(test_slow_changes_never_flap),
        cmocka_unit_test(test_settles_after_a_quiet_window),
        cmocka_unit_test(test_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
