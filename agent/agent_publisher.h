/* SPDX-License-Identifier: MIT */
/* Everything the agent says on MQTT: builds each v1 message (boot id, per-boot seq, wall ts),
 * picks its topic, QoS and retain flag, and reports (re)connects to the loop through an fd. */
#ifndef AGENT_PUBLISHER_H
#define AGENT_PUBLISHER_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

struct agent_config;
struct agent_publisher;

struct agent_publisher_counters {
    uint64_t trades_sent;    /* accepted by the client (sent or buffered) */
    uint64_t trades_dropped; /* refused: offline buffer full or no buffer */
    uint64_t events_sent;    /* bot events, likewise */
    uint64_t events_dropped;
    uint64_t skipped_offline; /* heartbeats and stats not sent while disconnected */
    uint64_t errors;          /* encode or publish failures */
};

/* Creates the client (not connected): id "botpulse-agent-<id>", persistent session, Will =
 * retained offline agent_state. cfg must outlive the publisher. 0 or -errno. */
int agent_publisher_new(const struct agent_config *cfg, struct agent_publisher **out);
void agent_publisher_free(struct agent_publisher *p);
/* Connects in the background (and keeps reconnecting). 0 or -errno. */
int agent_publisher_start(struct agent_publisher *p);
/* Publishes the retained offline state (when connected), waits up to flush_ms for pending
 * QoS 1 messages, then disconnects. */
void agent_publisher_stop(struct agent_publisher *p, int flush_ms, int64_t wall_ms);

/* Readable when a connection event happened; the loop polls it. */
int agent_publisher_fd(const struct agent_publisher *p);
/* Drains the fd; returns how many (re)connects happened since the last call. */
int agent_publisher_take_connects(struct agent_publisher *p);
bool agent_publisher_is_connected(struct agent_publisher *p);
const char *agent_publisher_boot(const struct agent_publisher *p);

/* The birth message: retained agent_state online=true, listing the bots. 0 or -errno. */
int agent_publisher_birth(struct agent_publisher *p, int64_t wall_ms);
/* Batches (common/batch.h): heartbeats and stats published between begin and end go out as
 * one message, when agent_publisher_batches says so ([mqtt] batch = on, or auto and the
 * collector's retained state says it reads them); otherwise each is its own message. */
bool agent_publisher_batches(struct agent_publisher *p);
void agent_publisher_batch_begin(struct agent_publisher *p);
/* Sends what was gathered since begin. 0 or -errno. */
int agent_publisher_batch_end(struct agent_publisher *p);

/* QoS 0 and never buffered: -ENOTCONN (skipped, counted) while disconnected. */
int agent_publisher_heartbeat(struct agent_publisher *p, const char *bot,
                              const struct bp_heartbeat *hb, int64_t wall_ms);
int agent_publisher_stats(struct agent_publisher *p, const char *bot, const struct bp_stats *st,
                          int64_t wall_ms);
/* QoS 1, buffered while disconnected; -ENOBUFS when the buffer is full (counted, logged). */
int agent_publisher_trade(struct agent_publisher *p, const char *bot, const struct bp_trade *t,
                          int64_t wall_ms);

/* Commands: every message on {root}/agents/{id}/commands goes to sink, on Paho's thread (the
 * sink copies it and wakes the loop). Call before agent_publisher_start. 0 or -errno. */
int agent_publisher_subscribe_commands(struct agent_publisher *p,
                                       void (*sink)(void *ctx, const void *payload, size_t len),
                                       void *ctx);
/* Publishes a command_result for bot ("" when unknown) on agents/{id}/results, QoS 1
 * (buffered while disconnected). 0 or -errno. */
int agent_publisher_result(struct agent_publisher *p, const char *bot,
                           const struct bp_command_result *r, int64_t wall_ms);
/* A bot's free-form event: QoS 1, buffered like trades. 0, -ENOBUFS or -errno. */
int agent_publisher_event(struct agent_publisher *p, const char *bot, const struct bp_event *e,
                          int64_t wall_ms);

void agent_publisher_get_counters(const struct agent_publisher *p,
                                  struct agent_publisher_counters *out);
/* Messages not yet acknowledged by the broker (buffered or in flight). */
int agent_publisher_pending(struct agent_publisher *p);

#endif
