/* SPDX-License-Identifier: MIT */
/* Alert routing: the collector's alert sinks ([sink NAME] sections, and the [webhook] section
 * as the sink "webhook"), each with a severity filter (warning and up, or critical only), an
 * account filter, a kind (sink_format.h) and a delivery of its own (webhook.h: its own bounded
 * queue, retries and counters). The rules thread hands each told alert and incident event to
 * every sink whose filters take it; nothing here waits on the network. */
#ifndef COL_SINKS_H
#define COL_SINKS_H

#include "msg.h"
#include "rules.h"
#include "sink_format.h"
#include "webhook.h"

#include <stddef.h>
#include <stdint.h>

#define COL_SINKS_MAX 16
#define COL_SINK_ACCOUNTS_MAX 32

struct col_alert_note;
struct col_incident_note;

/* One sink as configured (settings.h fills these; secrets already read from their files). */
struct col_sink_config {
    char name[BP_ID_MAX + 1];
    enum col_sink_kind kind;
    enum col_severity min_severity; /* WARNING: every alert; CRITICAL: critical ones only */
    int naccounts;                  /* 0: every account */
    char accounts[COL_SINK_ACCOUNTS_MAX][BP_ID_MAX + 1];
    char url[512];
    char chat_id[64];
    char routing_key[128];
    char from[256], to[512];
    char username[128], password[256];
    bool starttls;
    int64_t timeout_ms, backoff_ms;
    int retries;
    size_t queue_max;
};

/* One sink's counts, for collector/stats and /metrics. */
struct col_sink_stats {
    char name[BP_ID_MAX + 1];
    enum col_sink_kind kind;
    struct col_webhook_stats counts;
};

struct col_sinks;

/* The sinks of cfg[0..n) (n may be 0): 0 and *out, or -errno. Nothing is sent before
 * col_sinks_start. */
int col_sinks_new(const struct col_sink_config *cfg, size_t n, struct col_sinks **out);
/* Starts every sink's delivery thread. 0 or -errno. */
int col_sinks_start(struct col_sinks *s);
/* Gives every sink up to drain_ms (together) to deliver what is queued, then stops them. */
void col_sinks_stop(struct col_sinks *s, int64_t drain_ms);
/* NULL does nothing. */
void col_sinks_free(struct col_sinks *s);
size_t col_sinks_count(const struct col_sinks *s);

/* Whether a sink's filters take an event of this severity about a bot of account (a resolution
 * carries the severity its alert had). Pure; for the tests too. */
bool col_sink_takes(const struct col_sink_config *c, enum col_severity sev, const char *account);

/* Queues the event's body on every sink that takes it (rules thread). Never waits. */
void col_sinks_alert(struct col_sinks *s, const struct col_alert_note *n);
/* An incident goes to a sink with an account filter if any of its bots is of those accounts. */
void col_sinks_incident(struct col_sinks *s, const struct col_incident_note *n);

/* Each sink's counts into out[0..max); returns how many. Any thread. */
size_t col_sinks_get_stats(struct col_sinks *s, struct col_sink_stats *out, size_t max);

#endif
