/* SPDX-License-Identifier: MIT */
/* A bounded, thread-safe FIFO of pointers: producers never block, the consumer waits with a
 * monotonic deadline. Used to hand messages from Paho's threads to the thread that owns state. */
#ifndef BP_QUEUE_H
#define BP_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct bp_queue;

/* A queue holding at most cap items. Returns NULL on allocation failure. */
struct bp_queue *bp_queue_new(size_t cap);
/* Frees the queue; items still in it are passed to free_item (if not NULL). */
void bp_queue_free(struct bp_queue *q, void (*free_item)(void *));

/* Coalesces wake-ups for a consumer that is cheaper in batches: a push wakes a waiting
 * consumer only when it makes the queue non-empty or brings it to batch items; a consumer woken
 * with fewer waits up to linger_ms after the first of them arrived for more (never past its
 * own deadline). Without it (the default) every push wakes the consumer at once. Call before
 * the queue is shared. */
void bp_queue_set_batching(struct bp_queue *q, size_t batch, int64_t linger_ms);

/* Appends item; -ENOBUFS when full (the caller still owns item and should count the drop). */
int bp_queue_push(struct bp_queue *q, void *item);
/* Appends items[0..n) in order under one lock, as many as fit; returns how many (the caller
 * still owns the rest and should count them as dropped). */
size_t bp_queue_push_many(struct bp_queue *q, void *const *items, size_t n);
/* Moves up to max items into out, waiting until at least one is there, the queue is woken,
 * or the monotonic deadline passes (deadline_ms < 0: wait forever). Returns the count. */
size_t bp_queue_pop_wait(struct bp_queue *q, void **out, size_t max, int64_t deadline_ms);
/* Wakes a waiting consumer without an item (for shutdown or re-evaluation). */
void bp_queue_wake(struct bp_queue *q);
size_t bp_queue_len(struct bp_queue *q);
/* The most items it holds (as created). */
size_t bp_queue_cap(const struct bp_queue *q);

#endif
