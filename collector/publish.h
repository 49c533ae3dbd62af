/* SPDX-License-Identifier: MIT */
/* What the collector says on MQTT, as messages: the encoders give the JSON of each kind
 * (proto/schemas/, proto/examples/outbound/); col_pub_* give a whole message (topic, JSON,
 * QoS, retained) for the outbox's implementations to send or record, so both say the same
 * bytes; col_pub_send hands one to Paho. Pure but for col_pub_send. */
#ifndef COL_PUBLISH_H
#define COL_PUBLISH_H

#include "alerts.h"
#include "incidents.h"
#include "ingest.h"
#include "claims.h"
#include "store.h"
#include "sinks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bp_mqtt;
struct bp_msg;
struct col_bot_snapshot;
struct col_fleet;

struct col_collector_stats {
    int64_t uptime_s;
    struct col_ingest_stats ingest;
    int64_t queue_len;    /* messages waiting for the rules thread now */
    int64_t lag_ms;       /* how long the oldest of them has waited */
    int64_t lag_max_ms;   /* the most since the last stats */
    bool behind;          /* lag past COL_ENGINE_BEHIND_MS: statuses come late (never false) */
    bool blind;           /* no liveness judgement: broker connection lost, or messages dropped */
    bool echo_lost;       /* blind because our echo through the broker stopped (a silent cut) */
    uint64_t echo_losses; /* times it stopped since the start */
    int64_t bots;
    uint64_t claims_refused[COL_CLAIM_COUNT]; /* claims on bots refused, by reason (claims.h) */
    uint64_t bots_refused;                    /* past their agent's [agents] bots_max */
    int64_t restarts; /* bot process restarts counted from agents' proc.restarts */
    bool mqtt_connected;
    struct col_store_stats store;
    size_t nsinks; /* alert sinks configured ([webhook] is the one called "webhook") */
    struct col_sink_stats sinks[COL_SINKS_MAX];
};

/* Each returns malloc'd JSON (caller frees), or NULL on ENOMEM. */
char *col_encode_status(const struct col_bot_snapshot *s, int64_t now_wall);
/* Alert a of bot; reason is the event's (a resolution's is the bot's reason now). */
char *col_encode_alert(const struct col_bot_snapshot *bot, const struct col_alert *a,
                       const char *reason, enum col_alert_event e, int64_t now_wall);
/* At most COL_INCIDENT_LIST_MAX bot ids are listed; `count` has them all. */
#define COL_INCIDENT_LIST_MAX 50
char *col_encode_incident(const struct col_incident *inc, enum col_incident_event e,
                          const char *reason, int64_t now_wall);
char *col_encode_summary(const struct col_fleet *f, int64_t now_wall);
char *col_encode_collector_state(const char *id, bool online, int64_t now_wall);
char *col_encode_collector_stats(const char *id, const struct col_collector_stats *s,
                                 int64_t now_wall);

#define COL_TOPIC_MAX 512

/* One message to publish. */
struct col_pub {
    char topic[COL_TOPIC_MAX];
    const char *payload; /* JSON, NUL-terminated */
    char *owned;         /* the payload, when this message encoded it (col_pub_cleanup frees) */
    int qos;
    bool retain;
};

/* Each fills p and returns 0, or -ENOMEM (p then needs no cleanup). */
/* {root}/status/{bot}, QoS 1, retained. */
int col_pub_status(struct col_pub *p, const char *root, const struct col_bot_snapshot *s,
                   int64_t now_wall);
/* {root}/alerts/{severity}/{bot}, QoS 1: json (col_encode_alert's) is borrowed, not copied. */
int col_pub_alert(struct col_pub *p, const char *root, const char *bot, enum col_severity sev,
                  const char *json);
/* {root}/incidents/{kind}/{group}, the group's characters outside [A-Za-z0-9_.-] as '_', QoS 1;
 * json is borrowed. */
int col_pub_incident(struct col_pub *p, const char *root, const struct col_incident *inc,
                     const char *json);
/* {root}/fleet/summary, QoS 1, retained. */
int col_pub_summary(struct col_pub *p, const char *root, const struct col_fleet *f,
                    int64_t now_wall);
/* The collector's own topic for what ("state", "stats"): {root}/collector/{what}, or with
 * per_id (several collectors share the fleet, [cluster]) {root}/collector/{id}/{what}. */
void col_pub_collector_topic(char *buf, size_t size, const char *root, const char *id, bool per_id,
                             const char *what);
/* Its state topic, QoS 1, retained (also the collector's Last Will). */
int col_pub_collector_state(struct col_pub *p, const char *root, const char *id, bool per_id,
                            bool online, int64_t now_wall);
/* Its stats topic, QoS 0, retained. */
int col_pub_collector_stats(struct col_pub *p, const char *root, const char *id, bool per_id,
                            const struct col_collector_stats *s, int64_t now_wall);
/* {root}/agents/{agent}/commands, QoS 1: the signed command as the codec encodes it. 0,
 * -ENOMEM, or -EINVAL (ids that make no topic). */
int col_pub_command(struct col_pub *p, const char *root, const struct bp_msg *cmd);
void col_pub_cleanup(struct col_pub *p);
/* Publishes p through m, then cleans it up. 0 or -errno from bp_mqtt_publish. */
int col_pub_send(struct bp_mqtt *m, struct col_pub *p);

#endif
