/* SPDX-License-Identifier: MIT */
/* A binary min-heap of deadlines with the node embedded in its owner. */
#include "timerheap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

void bp_timer_init(struct bp_timer *t)
{
    t->due_ms = 0;
    t->heap_idx = SIZE_MAX;
}

bool bp_timer_is_scheduled(const struct bp_timer *t)
{
    return t->heap_idx != SIZE_MAX;
}

void bp_timerheap_init(struct bp_timerheap *h)
{
    h->nodes = NULL;
    h->len = 0;
    h->cap = 0;
}

void bp_timerheap_cleanup(struct bp_timerheap *h)
{
    for (size_t i = 0; i < h->len; i++)
        h->nodes[i]->heap_idx = SIZE_MAX;
    free(h->nodes);
    bp_timerheap_init(h);
}

static void place(struct bp_timerheap *h, size_t i, struct bp_timer *t)
{
    h->nodes[i] = t;
    t->heap_idx = i;
}

static void sift_up(struct bp_timerheap *h, size_t i)
{
    struct bp_timer *t = h->nodes[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->nodes[parent]->due_ms <= t->due_ms)
            break;
        place(h, i, h->nodes[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(struct bp_timerheap *h, size_t i)
{
    struct bp_timer *t = h->nodes[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && h->nodes[child + 1]->due_ms < h->nodes[child]->due_ms)
            child++;
        if (t->due_ms <= h->nodes[child]->due_ms)
            break;
        place(h, i, h->nodes[child]);
        i = child;
    }
    place(h, i, t);
}

int bp_timerheap_set(struct bp_timerheap *h, struct bp_timer *t, int64_t due_ms)
{
    if (bp_timer_is_scheduled(t)) {
        int64_t old = t->due_ms;
        t->due_ms = due_ms;
        if (due_ms < old)
            sift_up(h, t->heap_idx);
        else
            sift_down(h, t->heap_idx);
        return 0;
    }
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct bp_timer **nodes = realloc(h->nodes, cap * sizeof(*nodes));
        if (!nodes)
            return -ENOMEM;
        h->nodes = nodes;
        h->cap = cap;
    }
    t->due_ms = due_ms;
    place(h, h->len++, t);
    sift_up(h, t->heap_idx);
    return 0;
}

void bp_timerheap_remove(struct bp_timerheap *h, struct bp_timer *t)
{
    if (!bp_timer_is_scheduled(t))
        return;
    size_t i = t->heap_idx;
    t->heap_idx = SIZE_MAX;
    struct bp_timer *last = h->nodes[--h->len];
    if (i == h->len)
        return;
    place(h, i, last);
    if (i > 0 && h->nodes[(i - 1) / 2]->due_ms > last->due_ms)
        sift_up(h, i);
    else
        sift_down(h, i);
}

struct bp_timer *bp_timerheap_peek(const struct bp_timerheap *h)
{
    return h->len ? h->nodes[0] : NULL;
}

struct bp_timer *bp_timerheap_pop_due(struct bp_timerheap *h, int64_t now_ms)
{
    struct bp_timer *t = bp_timerheap_peek(h);
    if (!t || t->due_ms > now_ms)
        return NULL;
    bp_timerheap_remove(h, t);
    return t;
}
