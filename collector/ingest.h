/* SPDX-License-Identifier: MIT */
/* Ingest: runs on Paho's thread for each message from the fleet. Checks size, topic, JSON,
 * schema, that the body agrees with the topic and that its times are plausible; counts every
 * rejection by reason (logged, rate-limited); hands accepted messages to the rules thread
 * through a bounded queue. */
#ifndef COL_INGEST_H
#define COL_INGEST_H

#include "event.h"
#include "msg.h"

#include <stddef.h>

#include <stdint.h>

struct bp_queue;

/* A message's times are plausible (proto/README.md, "Times"): its ts at most a day ahead of
 * ours and not before 2020; a trade's, an event's and a heartbeat's last_trade_ts at most a
 * day ahead. */
#define COL_TS_AHEAD_MAX_MS (24LL * 3600 * 1000)
#define COL_TS_FLOOR_MS 1577836800000LL /* 2020-01-01T00:00:00Z */

struct col_ingest_stats {
    uint64_t received;
    uint64_t accepted;
    uint64_t rejected[BP_MSG_ERR_COUNT]; /* by enum bp_msg_err; [BP_MSG_OK] unused */
    uint64_t rejected_total;
    uint64_t queue_dropped; /* accepted, but the rules thread's queue was full */
    uint64_t batches;       /* batch messages read (each of their items counts as a message) */
    uint64_t rate_dropped;  /* over their agent's rate cap ([agents] rate), dropped */
};

struct col_ingest;

/* Creates ingest for topics under root, pushing struct col_event * onto q (borrowed). */
struct col_ingest *col_ingest_new(const char *root, struct bp_queue *q);
void col_ingest_free(struct col_ingest *in);
/* Caps what each agent may send over MQTT: rate messages per second sustained, burst at once
 * (a batch counts each item; trades are never capped). Call before messages flow. 0, -EINVAL,
 * -ENOMEM. */
int col_ingest_limit_agents(struct col_ingest *in, int64_t rate, int64_t burst);
/* The bp_mqtt on_message callback (ctx = struct col_ingest *). */
void col_ingest_on_message(void *ctx, const char *topic, const void *payload, size_t len);
/* Frees an event taken off the queue but not handled (drops a query's reference). */
void col_event_free(void *ev);
/* Checks m's times against now_wall (our clock, Unix ms) as above. 0, or -ERANGE with err
 * filled (BP_MSG_ERR_RANGE). */
int col_ingest_check_times(const struct bp_msg *m, int64_t now_wall, struct bp_msg_error *err);
/* Queues a message that arrived by another path (an HTTP heartbeat), already decoded and
 * validated, exactly as if it had come over MQTT; counted as received and accepted. 0, or
 * -ENOBUFS when the queue is full (counted as queue_dropped), -ENOMEM. */
int col_ingest_submit(struct col_ingest *in, const struct bp_msg *m);
/* Queues a connection change for the rules thread (any thread). 0 or -errno. */
int col_ingest_push_control(struct col_ingest *in, enum col_event_kind kind);
/* Queues our own echo back through the broker, sent at sent_mono (echo.h; Paho's thread).
 * 0 or -errno (a full queue drops it: the next one says the same). */
int col_ingest_push_echo(struct col_ingest *in, int64_t sent_mono);
void col_ingest_get_stats(struct col_ingest *in, struct col_ingest_stats *out);

#endif
