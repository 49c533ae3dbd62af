/* SPDX-License-Identifier: MIT */
/* Alert lifecycle, one alert per (bot, check): opened when a check fails with a severity,
 * escalated when its severity rises (warning → critical), resolved when the check passes
 * again. A bot holds the set of its open alerts; a verdict (rules.h) says which checks fail
 * and which it judged at all, and applying it says what to announce. */
#ifndef COL_ALERTS_H
#define COL_ALERTS_H

#include "rules.h"

#include <stdbool.h>
#include <stdint.h>

#define COL_ALERT_ID_MAX 47

/* One open alert (an alert in a bot's set is open; resolving removes it). */
struct col_alert {
    char id[COL_ALERT_ID_MAX + 1];
    enum col_severity severity;
    char check[COL_CHECK_MAX];
    char reason[COL_REASON_MAX + 1]; /* the newest reason its check gave */
    int64_t opened_at;               /* Unix ms */
    int64_t last_sent_mono;          /* when it was last announced (opened, escalated, repeated) */
    int64_t repeats;                 /* reminders sent while it stayed open */
    bool announced; /* its opening went out (MQTT, webhook): so must its resolution */
};

enum col_alert_event {
    COL_ALERT_NONE = 0,
    COL_ALERT_OPENED,
    COL_ALERT_ESCALATED,
    COL_ALERT_RESOLVED,
    COL_ALERT_REPEATED /* a reminder: still open after alert_repeat */
};

const char *col_alert_event_name(enum col_alert_event e);

/* A bot's open alerts, at most one per check, oldest first. */
struct col_alerts {
    struct col_alert *v;
    int n, cap;
};

void col_alerts_free(struct col_alerts *s);
/* The open alert for check, or NULL. */
struct col_alert *col_alerts_find(const struct col_alerts *s, const char *check);
/* The alert that speaks for the bot: the most severe, the oldest of those. NULL: none open. */
const struct col_alert *col_alerts_worst(const struct col_alerts *s);
/* Opens an alert for check (which has none). NULL on ENOMEM. */
struct col_alert *col_alerts_open(struct col_alerts *s, const char *check, enum col_severity sev,
                                  const char *reason, const char *id, int64_t now_wall);
/* Forgets a resolved alert (a pointer into s). */
void col_alerts_remove(struct col_alerts *s, struct col_alert *a);

/* What applying a verdict tells: called once per event, before a resolved alert is removed. */
typedef void (*col_alert_emit_fn)(void *ctx, struct col_alert *a, enum col_alert_event ev);
/* Names a new alert: writes its id into buf. */
typedef void (*col_alert_id_fn)(void *ctx, char *buf, size_t size);

/* Applies a verdict to the bot's alerts. Each check the verdict judged and found passing
 * resolves its alert; a check it could not judge (a dead bot's resources) keeps its alert as
 * it is. A finding with a severity opens its check's alert or escalates it (a falling severity
 * only updates the reason); one without (not yet confirmed) opens nothing and keeps an open
 * one open. Resolutions come first, then escalations and openings. Returns how many alerts
 * could not be opened for want of memory (logged by the caller). */
int col_alerts_apply(struct col_alerts *s, const struct col_verdict *v, int64_t now_wall,
                     col_alert_id_fn new_id, col_alert_emit_fn emit, void *ctx);

/* Re-opens an alert that a previous run of the collector left open (from PostgreSQL): it is
 * neither announced again nor forgotten; the first verdict that judges its check passing
 * resolves it by its id. severity is "warning" or "critical". 0, -EEXIST (an alert for that
 * check is open already) or -ENOMEM. */
int col_alerts_restore(struct col_alerts *s, const char *id, const char *severity,
                       const char *check, int64_t opened_at);

/* Whether an alert is due a reminder at now_mono (repeat_ms 0: never), and when the
 * next one is due (INT64_MAX: never). */
bool col_alert_repeat_due(const struct col_alert *a, int64_t repeat_ms, int64_t now_mono,
                          int64_t *next_mono);

#endif
