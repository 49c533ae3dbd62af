/* SPDX-License-Identifier: MIT */
/* Alert lifecycle for one bot: opened when its status turns bad, escalated when the severity
 * rises (warning → critical), resolved when it is healthy again. One open alert per bot. */
#ifndef COL_ALERTS_H
#define COL_ALERTS_H

#include "rules.h"

#include <stdbool.h>
#include <stdint.h>

#define COL_ALERT_ID_MAX 47

struct col_alert {
    bool open;
    char id[COL_ALERT_ID_MAX + 1];
    enum col_severity severity;
    const char *check;
    int64_t opened_at;      /* Unix ms */
    int64_t last_sent_mono; /* when it was last announced (opened, escalated, repeated) */
    int64_t repeats;        /* reminders sent while it stayed open */
    bool announced;         /* its opening went out (MQTT, webhook): so must its resolution */
};

enum col_alert_event {
    COL_ALERT_NONE = 0,
    COL_ALERT_OPENED,
    COL_ALERT_ESCALATED,
    COL_ALERT_RESOLVED,
    COL_ALERT_REPEATED /* a reminder: still open after alert_repeat */
};

const char *col_alert_event_name(enum col_alert_event e);

/* Applies a new verdict (its status and the severity it carries) to the bot's alert and says
 * what to announce. new_id names the alert if this opens one (copied). "unknown" neither opens
 * nor resolves; any other verdict without a severity resolves. now_wall is Unix ms. */
enum col_alert_event col_alert_apply(struct col_alert *a, enum col_status status,
                                     enum col_severity sev, const char *check, const char *new_id,
                                     int64_t now_wall);

/* Re-opens an alert that a previous run of the collector left open (from PostgreSQL): it is
 * neither announced again nor forgotten; the next healthy verdict resolves it by its id.
 * severity is "warning" or "critical"; check any name (mapped to the static one). */
void col_alert_restore(struct col_alert *a, const char *id, const char *severity,
                       const char *check, int64_t opened_at);

/* Whether an open alert is due a reminder at now_mono (repeat_ms 0: never), and when the
 * next one is due (INT64_MAX: never). */
bool col_alert_repeat_due(const struct col_alert *a, int64_t repeat_ms, int64_t now_mono,
                          int64_t *next_mono);

#endif
