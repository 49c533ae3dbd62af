/* SPDX-License-Identifier: MIT */
/* The collector's proof that it still sees: a small message it sends itself through the broker
 * every [mqtt] echo_interval. Each one that comes back tells the rules thread that everything
 * the broker had before it has reached us; when none comes back for echo_timeout the collector
 * is blind (a silent network cut, with no FIN for Paho to notice before its keepalive) and
 * judges no silence until the echoes return (docs/architecture.md, "Blindness"). */
#ifndef COL_ECHO_H
#define COL_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bp_mqtt;
struct col_ingest;

struct col_echo_opts {
    struct bp_mqtt *mqtt;      /* borrowed: publishes while connected */
    struct col_ingest *ingest; /* borrowed: each echo back becomes a COL_EV_ECHO */
    const char *root;          /* topic root */
    const char *id;            /* the collector's id: the topic is <root>/echo/<id> */
    int64_t interval_ms;       /* > 0 */
    int64_t timeout_ms;        /* none back for this long: lost (col_echo_lost) */
};

struct col_echo;

/* 0, -EINVAL (an id too long for a topic) or -ENOMEM. */
int col_echo_new(const struct col_echo_opts *o, struct col_echo **out);
/* The topic to subscribe to (QoS 0) before the client starts. */
const char *col_echo_topic(const struct col_echo *x);
/* Starts the sending thread. 0 or -errno. */
int col_echo_start(struct col_echo *x);
/* Sends one echo at once (any thread), between the periodic ones: the rules thread asks when
 * a deadline waits for one (col_engine_on_echo_request). ctx is the struct col_echo *. */
void col_echo_request(void *ctx);
/* On Paho's thread, before ingest: true when the message is on our echo topic (then it is
 * ours alone: an echo of this run is handed to the rules thread, anything else ignored). */
bool col_echo_on_message(struct col_echo *x, const char *topic, const void *payload, size_t len);
/* True when echoes came back once but none for timeout_ms; *silent_ms is how long (-1: none
 * came back yet, or x is NULL; any thread). */
bool col_echo_lost(struct col_echo *x, int64_t *silent_ms);
/* Stops the sending thread (if started); NULL is fine. */
void col_echo_stop(struct col_echo *x);
/* Stops and frees, once Paho's thread no longer calls col_echo_on_message; NULL is fine. */
void col_echo_free(struct col_echo *x);

#endif
