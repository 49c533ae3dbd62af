/* SPDX-License-Identifier: MIT */
/* A binary min-heap of deadlines with the node embedded in its owner (as libuv's timers). */
#ifndef BP_TIMERHEAP_H
#define BP_TIMERHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embed one in any struct that needs a deadline; recover the owner with container_of. */
struct bp_timer {
    int64_t due_ms;  /* monotonic milliseconds */
    size_t heap_idx; /* position in the heap, SIZE_MAX when not scheduled */
};

struct bp_timerheap {
    struct bp_timer **nodes;
    size_t len;
    size_t cap;
};

#define BP_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

void bp_timer_init(struct bp_timer *t);
bool bp_timer_is_scheduled(const struct bp_timer *t);

void bp_timerheap_init(struct bp_timerheap *h);
void bp_timerheap_cleanup(struct bp_timerheap *h);

/* Schedules t at due_ms, or moves it there if already scheduled: O(log n). -ENOMEM on failure. */
int bp_timerheap_set(struct bp_timerheap *h, struct bp_timer *t, int64_t due_ms);
/* Unschedules t; does nothing if it is not scheduled. */
void bp_timerheap_remove(struct bp_timerheap *h, struct bp_timer *t);
/* The earliest timer, or NULL when empty. */
struct bp_timer *bp_timerheap_peek(const struct bp_timerheap *h);
/* Removes and returns the earliest timer due at or before now_ms, or NULL. */
struct bp_timer *bp_timerheap_pop_due(struct bp_timerheap *h, int64_t now_ms);

#endif
