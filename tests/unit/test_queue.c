/* SPDX-License-Identifier: MIT */
/* The bounded queue between Paho's threads and the thread that owns state: order, bounds, and
 * batching (a consumer woken for one item takes the burst that follows it in the same turn). */
#include "queue.h"

#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static int items[16];

static void test_fifo_and_bound(void **state)
{
    struct bp_queue *q = bp_queue_new(3);
    assert_non_null(q);
    for (int i = 0; i < 3; i++)
        assert_int_equal(bp_queue_push(q, &items[i]), 0);
    assert_int_equal(bp_queue_push(q, &items[3]), -ENOBUFS);
    void *out[8];
    assert_int_equal(bp_queue_pop_wait(q, out, 8, 0), 3);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(out[i], &items[i]);
    assert_int_equal(bp_queue_len(q), 0);
    bp_queue_free(q, NULL);
}

static void test_push_many_takes_what_fits(void **state)
{
    struct bp_queue *q = bp_queue_new(4);
    void *in[6] = {&items[0], &items[1], &items[2], &items[3], &items[4], &items[5]};
    assert_int_equal(bp_queue_push(q, &items[9]), 0);
    assert_int_equal(bp_queue_push_many(q, in, 6), 3); /* the caller drops and counts the rest */
    void *out[8];
    assert_int_equal(bp_queue_pop_wait(q, out, 8, 0), 4);
    assert_ptr_equal(out[0], &items[9]);
    assert_ptr_equal(out[3], &items[2]);
    bp_queue_free(q, NULL);
}

struct producer {
    struct bp_queue *q;
    int n;
};

/* Pushes n items one at a time, as Paho's thread does, as fast as it can. */
static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < p->n; i++)
        bp_queue_push(p->q, &items[i]);
    return NULL;
}

/* With batching the first push wakes the consumer, which then lingers for the burst: the five
 * items pushed one by one arrive in one pop instead of five wake-ups. */
static void test_batching_gathers_a_burst(void **state)
{
    struct bp_queue *q = bp_queue_new(64);
    bp_queue_set_batching(q, 32, 2000);
    struct producer p = {q, 5};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
    void *out[64];
    size_t n = bp_queue_pop_wait(q, out, 64, bp_mono_ms() + 10000);
    pthread_join(t, NULL);
    assert_int_equal(n, 5);
    bp_queue_free(q, NULL);
}

/* A full batch is taken at once, whatever the linger; a deadline before the linger ends wins. */
static void test_batching_never_waits_past_batch_or_deadline(void **state)
{
    struct bp_queue *q = bp_queue_new(64);
    bp_queue_set_batching(q, 4, 60000);
    for (int i = 0; i < 4; i++)
        bp_queue_push(q, &items[i]);
    void *out[64];
    assert_int_equal(bp_queue_pop_wait(q, out, 64, -1), 4); /* would hang a minute otherwise */
    bp_queue_push(q, &items[0]);
    assert_int_equal(bp_queue_pop_wait(q, out, 64, bp_mono_ms() + 10), 1);
    bp_queue_push(q, &items[1]);
    bp_queue_wake(q); /* shutdown: no lingering either */
    assert_int_equal(bp_queue_pop_wait(q, out, 64, -1), 1);
    bp_queue_free(q, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_bound),
        cmocka_unit_test(test_push_many_takes_what_fits),
        cmocka_unit_test(test_batching_gathers_a_burst),
        cmocka_unit_test(test_batching_never_waits_past_batch_or_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
