/* SPDX-License-Identifier: MIT */
/* What an alert sink receives: one body per alert or incident event, in the shape of the sink's
 * kind. The MQTT alert itself; a generic JSON event that PagerDuty's Events API v2 and
 * Alertmanager-style webhook receivers both take; a chat message for Slack, Discord or
 * Telegram; or an e-mail (RFC 5322) for SMTP. Pure: no I/O, the unit tests check each shape. */
#ifndef COL_SINK_FORMAT_H
#define COL_SINK_FORMAT_H

#include "rules.h"

#include <stdbool.h>
#include <stdint.h>

enum col_sink_kind {
    COL_SINK_ALERT = 0, /* the alert (or incident) JSON exactly as MQTT carries it */
    COL_SINK_JSON,      /* PagerDuty Events API v2 fields and Alertmanager's webhook fields */
    COL_SINK_SLACK,     /* {"text": "..."} (also Mattermost, Rocket.Chat) */
    COL_SINK_DISCORD,   /* {"content": "..."} */
    COL_SINK_TELEGRAM,  /* {"chat_id": "...", "text": "..."} for the Bot API's sendMessage */
    COL_SINK_EMAIL,     /* a text/plain e-mail, sent over SMTP */
    COL_SINK_NKINDS
};

/* "alert", "json", "slack", "discord", "telegram", "email": 0, or -EINVAL. */
int col_sink_kind_parse(const char *name, enum col_sink_kind *out);
const char *col_sink_kind_name(enum col_sink_kind k);
/* Whether the kind's URL is itself the credential (a chat webhook): then it belongs in a file. */
bool col_sink_kind_url_is_secret(enum col_sink_kind k);

/* One alert or incident event, as every kind needs it. Strings are borrowed; "" when unknown
 * (an incident has no bot, an alert no kind or group). */
struct col_sink_event {
    const char *id;    /* the alert's or incident's id: the deduplication key */
    const char *event; /* opened, escalated, repeated, resolved; an incident's opened, updated */
    bool resolved;
    enum col_severity severity;
    const char *check; /* the alert's check; "incident" for an incident */
    const char *status;
    const char *reason;
    const char *text; /* the one line for people */
    const char *json; /* the MQTT message */
    const char *bot, *agent, *account, *exchange, *host;
    const char *kind, *group; /* an incident's: "exchange" or "host", and which */
    int64_t opened_at;        /* Unix ms */
    int64_t now_wall;         /* Unix ms: the event's time */
};

/* Per-sink settings the bodies use; borrowed. */
struct col_sink_format {
    const char *name;        /* the sink's name: Alertmanager's "receiver" */
    const char *chat_id;     /* telegram */
    const char *routing_key; /* json: PagerDuty's integration key ("" = none) */
    const char *from, *to;   /* email: the From address, and the To addresses, comma-separated */
};

/* The body for one event, malloc'd (caller frees), or NULL on ENOMEM. */
char *col_sink_body(enum col_sink_kind k, const struct col_sink_format *f,
                    const struct col_sink_event *e);

/* Writes Unix ms as RFC 3339 UTC with milliseconds ("2026-11-23T16:55:38.123Z"). */
void col_sink_rfc3339(int64_t ms, char *buf, size_t size);

#endif
