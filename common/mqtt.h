/* SPDX-License-Identifier: MIT */
/* The MQTT client both daemons use: Paho MQTTAsync with automatic reconnect and backoff,
 * a Last Will, subscriptions restored on every reconnect, and an optional offline buffer
 * (on disk) for QoS 1 messages published while the broker is away.
 * Callbacks run on Paho's threads: copy what you need and hand it to your own thread. */
#ifndef BP_MQTT_H
#define BP_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bp_mqtt;

/* The longest wait between two reconnect attempts, unless opts say otherwise. */
#define BP_MQTT_MAX_RETRY_S 4

struct bp_mqtt_opts {
    const char *url;       /* "tcp://127.0.0.1:1883", "ssl://host:8883" */
    const char *client_id; /* stable across restarts when clean_session is false */
    const char *username;  /* NULL: none */
    const char *password;
    const char *ca_file; /* TLS trust anchors for ssl:// URLs; NULL: system default */
    int keepalive_s;     /* 0: 20 s */
    bool clean_session;  /* false: the broker keeps our subscriptions and queued QoS 1 */
    /* Last Will: published by the broker if we vanish without DISCONNECT. NULL: none. */
    const char *will_topic;
    const char *will_payload;
    int will_qos;
    bool will_retain;
    /* Offline buffer for QoS >= 1 publishes while disconnected; 0 disables it. */
    int max_buffered;
    /* Directory for Paho's file persistence (in-flight and buffered messages survive a
     * restart of our process); NULL keeps them in memory only. */
    const char *persist_dir;
    /* Reconnect backoff bounds; 0: 1 s and BP_MQTT_MAX_RETRY_S. The cap is short on purpose:
     * after a broker restart every agent must be back within the collector's reconnect_grace
     * (10 s by default), or its bots turn down although nothing happened to them. */
    int min_retry_s;
    int max_retry_s;

    /* Each message as received; topic and payload are valid only during the call (and
     * bp_mqtt_delivering_retained says whether the broker kept it from before). */
    void (*on_message)(void *ctx, const char *topic, const void *payload, size_t len);
    /* After every successful (re)connect, once subscriptions are re-requested. */
    void (*on_connected)(void *ctx, bool reconnect);
    /* When the connection is lost (cause may be NULL). */
    void (*on_lost)(void *ctx, const char *cause);
    void *ctx;
};

struct bp_mqtt_stats {
    uint64_t connects;        /* successful connects, including reconnects */
    uint64_t published;       /* accepted by Paho (sent or buffered) */
    uint64_t dropped_offline; /* QoS 0 publishes skipped while disconnected */
    uint64_t dropped_full;    /* publishes refused because the offline buffer was full */
    uint64_t received;
};

/* Creates the client (not yet connected). Strings in opts are copied. 0 or -errno. */
int bp_mqtt_new(const struct bp_mqtt_opts *opts, struct bp_mqtt **out);
/* Starts connecting in the background; keeps retrying with backoff until bp_mqtt_stop.
 * Returns 0, or -errno if the request could not even be made. */
int bp_mqtt_start(struct bp_mqtt *m);
/* Subscribes now if connected, and again after every reconnect. 0 or -errno. */
int bp_mqtt_subscribe(struct bp_mqtt *m, const char *topic_filter, int qos);
/* Publishes a copy of payload. QoS 0 while disconnected returns -ENOTCONN (dropped, counted);
 * QoS >= 1 while disconnected is buffered if max_buffered > 0, else -ENOTCONN;
 * a full buffer returns -ENOBUFS (counted). */
int bp_mqtt_publish(struct bp_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                    bool retain);
bool bp_mqtt_is_connected(struct bp_mqtt *m);
/* Waits up to timeout_ms (monotonic) for the first connection; 0 or -ETIMEDOUT. */
int bp_mqtt_wait_connected(struct bp_mqtt *m, int64_t timeout_ms);
/* Waits up to timeout_ms until every QoS >= 1 message handed to Paho is acknowledged.
 * 0, or -ETIMEDOUT with messages still pending. */
int bp_mqtt_flush(struct bp_mqtt *m, int64_t timeout_ms);
/* Messages handed to Paho and not yet sent (QoS 0) or acknowledged (QoS 1): a cheap count
 * (an atomic) for a publisher that bounds what it hands over, so that Paho's own queue, which
 * it walks on every pass, stays short. */
int bp_mqtt_inflight(struct bp_mqtt *m);
/* Inside on_message: true if the message is a retained one the broker delivered on subscribe
 * (its time is when it was sent, perhaps hours ago), false for a live one. */
bool bp_mqtt_delivering_retained(void);
/* Number of QoS >= 1 messages not yet acknowledged by the broker (in flight or buffered). */
int bp_mqtt_pending(struct bp_mqtt *m);
void bp_mqtt_get_stats(struct bp_mqtt *m, struct bp_mqtt_stats *out);
/* Disconnects cleanly (the Will is NOT sent: publish your own "offline" first). */
void bp_mqtt_stop(struct bp_mqtt *m, int timeout_ms);
void bp_mqtt_free(struct bp_mqtt *m);

#endif
