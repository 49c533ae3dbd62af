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

int bp_queue_push(struct bp_queue *q, void *item)
{
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    if (q->len == q->cap) {
        rc = -ENOBUFS;
    } else {
        q->ring[(q->head + q->len) % q->cap] = item;
        q->len++;
        pthread_cond_signal(&q->ready);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
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
