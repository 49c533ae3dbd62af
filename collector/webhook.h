/* SPDX-License-Identifier: MIT */
/* The webhook alert sink: every alert event POSTed as JSON to one URL, on its own thread, so
 * a slow or failing receiver never blocks the rules thread. A bounded queue in front; failed
 * deliveries are retried with exponential backoff; what cannot be queued or delivered is
 * counted and logged. The body is the MQTT alert itself, or a chat message shaped for Slack,
 * Discord or Telegram. */
#ifndef COL_WEBHOOK_H
#define COL_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

enum col_webhook_format {
    COL_WEBHOOK_ALERT = 0, /* the alert JSON as published on MQTT */
    COL_WEBHOOK_SLACK,     /* {"text": "..."} (also Mattermost, Rocket.Chat) */
    COL_WEBHOOK_DISCORD,   /* {"content": "..."} */
    COL_WEBHOOK_TELEGRAM,  /* {"chat_id": "...", "text": "..."} for the Bot API sendMessage */
};

/* "alert", "slack", "discord", "telegram": 0, or -EINVAL for another name. */
int col_webhook_format_parse(const char *name, enum col_webhook_format *out);

/* The request body for one alert: alert_json is the MQTT alert, text a one-line summary for
 * people; chat_id is used by the telegram format only. Malloc'd, or NULL on ENOMEM. */
char *col_webhook_body(enum col_webhook_format f, const char *chat_id, const char *alert_json,
                       const char *text);

struct col_webhook_opts {
    const char *url;    /* http:// or https:// */
    int64_t timeout_ms; /* per attempt, connect and transfer */
    int retries;        /* attempts after the first one */
    int64_t backoff_ms; /* wait before the first retry; doubles each time, at most 60 s */
    size_t queue_max;   /* bodies waiting; beyond it new ones are dropped, counted */
};

struct col_webhook_stats {
    int64_t delivered; /* receiver answered 2xx */
    int64_t failed;    /* gave up: retries spent, or a 4xx that retrying cannot fix */
    int64_t dropped;   /* queue full, or still queued when the collector stopped */
    int64_t retries;   /* attempts after a failed one */
    int64_t queued;    /* waiting now */
};

struct col_webhook;

/* 0 or -errno. Nothing is sent before col_webhook_start. */
int col_webhook_new(const struct col_webhook_opts *opts, struct col_webhook **out);
int col_webhook_start(struct col_webhook *w);
/* Queues body for delivery and takes ownership of it (freed even when dropped). Never
 * blocks on the network: 0, or -ENOSPC when the queue is full (counted, logged). */
int col_webhook_submit(struct col_webhook *w, char *body);
/* Gives the queue up to drain_ms to empty (a retry wait ends early), then stops the thread;
 * whatever is still queued is counted as dropped. */
void col_webhook_stop(struct col_webhook *w, int64_t drain_ms);
void col_webhook_free(struct col_webhook *w);
void col_webhook_get_stats(struct col_webhook *w, struct col_webhook_stats *out);

#endif
