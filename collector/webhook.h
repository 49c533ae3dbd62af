/* SPDX-License-Identifier: MIT */
/* One alert sink's delivery: bodies POSTed as JSON to an http(s):// URL, or mailed to an
 * smtp(s):// server, on a thread of its own, so a slow or failing receiver never blocks the
 * rules thread. A bounded queue in front; failed deliveries are retried with exponential
 * backoff; what cannot be queued or delivered is counted and logged (by the sink's name: a URL
 * may hold a secret and is never logged). sink_format.h makes the bodies, sinks.h routes alerts
 * to the sinks. */
#ifndef COL_WEBHOOK_H
#define COL_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct col_webhook_opts {
    const char *name;   /* the sink's name, in logs (never the URL) */
    const char *url;    /* http://, https:// (a JSON POST), smtp:// or smtps:// (a mail) */
    int64_t timeout_ms; /* per attempt, connect and transfer */
    int retries;        /* attempts after the first one */
    int64_t backoff_ms; /* wait before the first retry; doubles each time, at most 60 s */
    size_t queue_max;   /* bodies waiting; beyond it new ones are dropped, counted */
    /* smtp:// and smtps:// only (each body is then a whole RFC 5322 message) */
    const char *mail_from;           /* the envelope sender: "a@b" or "Name <a@b>" */
    const char *mail_to;             /* recipients, comma-separated */
    const char *username, *password; /* SMTP AUTH; NULL or "": none */
    bool starttls;                   /* smtp://: require STARTTLS (smtps:// is TLS throughout) */
};

struct col_webhook_stats {
    int64_t delivered; /* receiver answered 2xx (SMTP: took the mail) */
    int64_t failed;    /* gave up: retries spent, or an answer retrying cannot fix (HTTP 4xx,
                          SMTP 5xx) */
    int64_t dropped;   /* queue full, or still queued when the collector stopped */
    int64_t retries;   /* attempts after a failed one */
    int64_t queued;    /* waiting now */
    int64_t last_delivered_wall; /* Unix ms of the last delivery; 0 = none yet */
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
