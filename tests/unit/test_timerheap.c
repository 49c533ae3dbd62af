/* SPDX-License-Identifier: MIT */
/* The deadline heap: ordering, rescheduling in place, removal, against a brute-force model. */
#include "timerheap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#define N 2000

struct item {
    int id;
    struct bp_timer timer;
};

static void test_pops_in_order_after_random_updates(void **state)
{
    (void)state;
    static struct item items[N];
    struct bp_timerheap h;
    bp_timerheap_init(&h);
    srand(7);
    for (int i = 0; i < N; i++) {
        items[i].id = i;
        bp_timer_init(&items[i].timer);
        assert_int_equal(bp_timerheap_set(&h, &items[i].timer, rand() % 100000), 0);
    }
    for (int k = 0; k < 5 * N; k++) { /* move, remove and re-add at random */
        struct item *it = &items[rand() % N];
        if (rand() % 4 == 0)
            bp_timerheap_remove(&h, &it->timer);
        else
            assert_int_equal(bp_timerheap_set(&h, &it->timer, rand() % 100000), 0);
    }
    size_t scheduled = 0;
    for (int i = 0; i < N; i++)
        scheduled += bp_timer_is_scheduled(&items[i].timer);
    assert_int_equal(h.len, scheduled);
    int64_t last = -1;
    size_t popped = 0;
    struct bp_timer *t;
    while ((t = bp_timerheap_pop_due(&h, INT64_MAX)) != NULL) {
        assert_true(t->due_ms >= last);
        assert_false(bp_timer_is_scheduled(t));
        last = t->due_ms;
        popped++;
    }
    assert_int_equal(popped, scheduled);
    bp_timerheap_cleanup(&h);
}

static void test_pop_due_respects_now(void **state)
{
    (void)state;
    struct item a = {1, {0, 0}}, b = {2, {0, 0}};
    bp_timer_init(&a.timer);
    bp_timer_init(&b.timer);
    struct bp_timerheap h;
    bp_timerheap_init(&h);
    bp_timerheap_set(&h, &a.timer, 100);
    bp_timerheap_set(&h, &b.timer, 50);
    assert_null(bp_timerheap_pop_due(&h, 49));
    struct bp_timer *t = bp_timerheap_pop_due(&h, 50);
    assert_ptr_equal(BP_CONTAINER_OF(t, struct item, timer), &b);
    bp_timerheap_set(&h, &a.timer, 10); /* earlier: moves up */
    assert_ptr_equal(bp_timerheap_peek(&h), &a.timer);
    bp_timerheap_remove(&h, &a.timer);
    bp_timerheap_remove(&h, &a.timer); /* twice is harmless */
    assert_null(bp_timerheap_peek(&h));
    bp_timerheap_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pops_in_order_after_random_updates),
        cmocka_unit_test(test_pop_due_respects_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
