/* SPDX-License-Identifier: MIT */
/* What the collector says on MQTT: per-bot status (retained), alerts, the fleet summary
 * (retained), its own state (retained, also its Last Will) and its stats. The encoders return
 * malloc'd JSON (caller frees) matching proto/schemas/; col_publish_* encode and send. */
#ifndef COL_PUBLISH_H
#define COL_PUBLISH_H

#include "alerts.h"
#include "fleet.h"
#include "incidents.h"
#include "ingest.h"
#include "mqtt.h"
#include "snapshot.h"
#include "store.h"
#include "webhook.h"

#include <stdbool.h>
#include <stdint.h>

struct col_collector_stats {
    int64_t uptime_s;
    struct col_ingest_stats ingest;
    int64_t bots;
    bool mqtt_connected;
    struct col_store_stats store;
    bool has_webhook;
    struct col_webhook_stats webhook;
};

char *col_encode_status(const struct col_bot_snapshot *s, int64_t now_wall);
/* Alert a of bot b; reason is the event's (a resolution's is the bot's reason now). */
char *col_encode_alert(const struct col_bot *b, const struct col_alert *a, const char *reason,
                       enum col_alert_event e, int64_t now_wall);
/* At most COL_INCIDENT_LIST_MAX bot ids are listed; `count` has them all. */
#define COL_INCIDENT_LIST_MAX 50
char *col_encode_incident(const struct col_incident *inc, enum col_incident_event e,
                          const char *reason, int64_t now_wall);
char *col_encode_summary(const struct col_fleet *f, int64_t now_wall);
char *col_encode_collector_state(const char *id, bool online, int64_t now_wall);
char *col_encode_collector_stats(const char *id, const struct col_collector_stats *s,
                                 int64_t now_wall);

/* Each returns 0 or -errno from bp_mqtt_publish (-ENOMEM if encoding failed). */
int col_publish_status(struct bp_mqtt *m, const char *root, const struct col_bot_snapshot *s,
                       int64_t now_wall);
/* To {root}/alerts/{severity}/{bot}: one topic per bot, the check in the message. */
int col_publish_alert(struct bp_mqtt *m, const char *root, const struct col_bot *b,
                      const struct col_alert *a, const char *reason, enum col_alert_event e,
                      int64_t now_wall);
/* To {root}/incidents/{kind}/{group}, the group's characters outside [A-Za-z0-9_.-] as '_'. */
int col_publish_incident(struct bp_mqtt *m, const char *root, const struct col_incident *inc,
                         enum col_incident_event e, const char *reason, int64_t now_wall);
int col_publish_summary(struct bp_mqtt *m, const char *root, const struct col_fleet *f,
                        int64_t now_wall);
int col_publish_collector_state(struct bp_mqtt *m, const char *root, const char *id, bool online,
                                int64_t now_wall);
int col_publish_collector_stats(struct bp_mqtt *m, const char *root, const char *id,
                                const struct col_collector_stats *s, int64_t now_wall);

#endif
