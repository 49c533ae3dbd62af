/* SPDX-License-Identifier: MIT */
/* A bounded, thread-safe FIFO of pointers (ring buffer, mutex and monotonic condvar). */
#include "queue.h"

#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct bp_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    void **ring;
    size_t cap;
    size_t head;
    size_t len;
    bool woken;
    size_t batch;       /* wake the consumer at this many items; 0: at every push */
    int64_t linger_ms;  /* ... or this long after the first of them */
    int64_t first_mono; /* when the queue last became non-empty */
};

struct bp_queue *bp_queue_new(size_t cap)
{
    struct bp_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->ring = calloc(cap ? cap : 1, sizeof(void *));
    if (!q->ring) {
        free(q);
        return NULL;
    }
    q->cap = cap ? cap : 1;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->ready, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&q->lock, NULL);
    return q;
}

void bp_queue_free(struct bp_queue *q, void (*free_item)(void *))
{
    if (!q)
        return;
    for (size_t i = 0; free_item && i < q->len; i++)
        free_item(q->ring[(q->head + i) % q->cap]);
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
    free(q->ring);
    free(q);
}

void bp_queue_set_batching(struct bp_queue *q, size_t batch, int64_t linger_ms)
{
    q->batch = batch;
    q->linger_ms = linger_ms > 0 ? linger_ms : 0;
}

/* Under the lock: appends up to n items, and wakes the consumer when the queue was empty or
 * reaches the batch. Returns how many went in. */
static size_t append(struct bp_queue *q, void *const *items, size_t n)
{
    size_t was = q->len, k = 0;
    for (; k < n && q->len < q->cap; k++, q->len++)
        q->ring[(q->head + q->len) % q->cap] = items[k];
    if (k == 0)
        return 0;
    if (was == 0 && q->batch)
        q->first_mono = bp_mono_ms();
    if (!q->batch || was == 0 || (was < q->batch && q->len >= q->batch))
        pthread_cond_signal(&q->ready); /* no system call unless the consumer waits */
    return k;
}

int bp_queue_push(struct bp_queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    size_t k = append(q, &item, 1);
    pthread_mutex_unlock(&q->lock);
    return k == 1 ? 0 : -ENOBUFS;
}

size_t bp_queue_push_many(struct bp_queue *q, void *const *items, size_t n)
{
    pthread_mutex_lock(&q->lock);
    size_t k = append(q, items, n);
    pthread_mutex_unlock(&q->lock);
    return k;
}

/* Under the lock: how long a consumer should still wait for more items before it takes what
 * is there (batching only), as an absolute monotonic time; INT64_MIN: take them now. */
static int64_t linger_until(const struct bp_queue *q, int64_t deadline_ms)
{
    if (!q->batch || q->len == 0 || q->len >= q->batch || q->woken)
        return INT64_MIN;
    int64_t until = q->first_mono + q->linger_ms;
    if (deadline_ms >= 0 && deadline_ms < until)
        until = deadline_ms;
    return until > bp_mono_ms() ? until : INT64_MIN;
}

size_t bp_queue_pop_wait(struct bp_queue *q, void **out, size_t max, int64_t deadline_ms)
{
    struct timespec ts;
    if (deadline_ms >= 0)
        bp_mono_timespec(deadline_ms, &ts);
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && !q->woken) {
        if (deadline_ms < 0) {
            pthread_cond_wait(&q->ready, &q->lock);
        } else if (pthread_cond_timedwait(&q->ready, &q->lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    for (int64_t until; (until = linger_until(q, deadline_ms)) != INT64_MIN;) {
        struct timespec lts; /* a few more may come: one wake-up for them all */
        bp_mono_timespec(until, &lts);
        pthread_cond_timedwait(&q->ready, &q->lock, &lts);
    }
    q->woken = false;
    size_t n = 0;
    while (n < max && q->len > 0) {
        out[n++] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

void bp_queue_wake(struct bp_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->woken = true;
    pthread_cond_signal(&q->ready);
    pthread_mutex_unlock(&q->lock);
}

size_t bp_queue_len(struct bp_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t bp_queue_cap(const struct bp_queue *q)
{
    return q->cap;
}
