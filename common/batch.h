/* SPDX-License-Identifier: MIT */
/* Batches (added compatibly to v1): one message per agent and interval that carries the
 * heartbeats and stats of many of its bots, on {root}/agents/{agent}/batch, so the broker and
 * the collector handle one message where they would handle one per bot (Sparkplug B's node-level
 * NDATA is the model). Each item is the body of an ordinary heartbeat or stats message; the
 * batch's envelope (agent, boot, seq, ts) is theirs. Trades, events and results never travel
 * in a batch: they keep their own QoS 1 messages. proto/README.md is the contract. */
#ifndef BP_BATCH_H
#define BP_BATCH_H

#include "msg.h"

#include <stddef.h>
#include <stdint.h>

/* A batch's payload is at most this big, and carries 1..BP_BATCH_MAX_ITEMS items. */
#define BP_BATCH_MAX_BYTES (256 * 1024)
#define BP_BATCH_MAX_ITEMS (2 * BP_AGENT_MAX_BOTS)

/* ---- reading (the collector) --------------------------------------------------------------- */

struct bp_batch;

/* Parses a batch's payload and validates its envelope (v, type "batch", agent, boot, seq, ts
 * and an array "items" of 1..BP_BATCH_MAX_ITEMS objects); the items are read one by one with
 * bp_batch_next. 0, or -EINVAL (-E2BIG when too large) with err filled. */
int bp_batch_open(const void *payload, size_t len, struct bp_batch **out, struct bp_msg_error *err);
/* The envelope: hdr.type is BP_MSG_BATCH, hdr.bot is "". */
const struct bp_msg_header *bp_batch_header(const struct bp_batch *b);
/* Number of items in the batch. */
int bp_batch_count(const struct bp_batch *b);
/* The next item as a whole heartbeat or stats message under the batch's envelope: 1, or 0 at
 * the end, or -EINVAL when this item is invalid (err says why: the item is rejected alone and
 * the next call moves on to the next one). */
int bp_batch_next(struct bp_batch *b, struct bp_msg *out, struct bp_msg_error *err);
void bp_batch_free(struct bp_batch *b);

/* ---- writing (the agent) ------------------------------------------------------------------- */

struct bp_batch_writer;

/* A writer for agent's batches, boot being its boot id; NULL on ENOMEM or an invalid id. */
struct bp_batch_writer *bp_batch_writer_new(const char *agent, const char *boot);
void bp_batch_writer_free(struct bp_batch_writer *w);
/* Adds m (a heartbeat or stats of one of the agent's bots; its envelope is not used). 0,
 * -EMSGSIZE when the batch cannot take it (full: take the batch, then add again), -EINVAL for
 * a type a batch cannot carry, -ENOMEM. */
int bp_batch_writer_add(struct bp_batch_writer *w, const struct bp_msg *m);
/* Items added since the last take. */
int bp_batch_writer_count(const struct bp_batch_writer *w);
/* The batch of every item added since the last take, with this seq and ts, as compact JSON
 * (caller frees), and an empty writer; NULL when empty (errno 0) or on ENOMEM. */
char *bp_batch_writer_take(struct bp_batch_writer *w, int64_t seq, int64_t ts);

#endif
