/* SPDX-License-Identifier: MIT */
/* Alert routing to the configured sinks: filters, bodies, one delivery per sink. */
#include "sinks.h"

#include "clock.h"
#include "fleet.h"
#include "incidents.h"
#include "log.h"
#include "outbox.h"
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    struct col_sink_config cfg;
    struct col_sink_format fmt; /* points into cfg */
    struct col_webhook *delivery;
};

struct col_sinks {
    struct sink *v;
    size_t n;
};

int col_sinks_new(const struct col_sink_config *cfg, size_t n, struct col_sinks **out)
{
    struct col_sinks *s = calloc(1, sizeof(*s));
    if (!s || (n > 0 && !(s->v = calloc(n, sizeof(*s->v))))) {
        free(s);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++, s->n++) {
        struct sink *k = &s->v[i];
        k->cfg = cfg[i];
        const struct col_sink_config *c = &k->cfg;
        k->fmt = (struct col_sink_format){.name = c->name,
                                          .chat_id = c->chat_id,
                                          .routing_key = c->routing_key,
                                          .from = c->from,
                                          .to = c->to};
        struct col_webhook_opts o = {.name = c->name,
                                     .url = c->url,
                                     .timeout_ms = c->timeout_ms,
                                     .retries = c->retries,
                                     .backoff_ms = c->backoff_ms,
                                     .queue_max = c->queue_max,
                                     .mail_from = c->from,
                                     .mail_to = c->to,
                                     .username = c->username,
                                     .password = c->password,
                                     .starttls = c->starttls};
        int rc = col_webhook_new(&o, &k->delivery);
        if (rc < 0) {
            BP_ERROR("sinks", "sink %s: cannot set it up: %s", c->name, strerror(-rc));
            col_sinks_free(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

int col_sinks_start(struct col_sinks *s)
{
    for (size_t i = 0; i < s->n; i++) {
        int rc = col_webhook_start(s->v[i].delivery);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void col_sinks_stop(struct col_sinks *s, int64_t drain_ms)
{
    if (!s)
        return;
    int64_t share = s->n > 0 ? drain_ms / (int64_t)s->n : 0; /* the threads drain in turn */
    for (size_t i = 0; i < s->n; i++)
        col_webhook_stop(s->v[i].delivery, share);
}

void col_sinks_free(struct col_sinks *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        col_webhook_free(s->v[i].delivery);
    free(s->v);
    free(s);
}

size_t col_sinks_count(const struct col_sinks *s)
{
    return s ? s->n : 0;
}

static bool account_listed(const struct col_sink_config *c, const char *account)
{
    for (int i = 0; i < c->naccounts; i++)
        if (account && strcmp(c->accounts[i], account) == 0)
            return true;
    return false;
}

bool col_sink_takes(const struct col_sink_config *c, enum col_severity sev, const char *account)
{
    if (sev < c->min_severity)
        return false;
    return c->naccounts == 0 || account_listed(c, account);
}

static void submit(struct sink *k, const struct col_sink_event *e)
{
    char *body = col_sink_body(k->cfg.kind, &k->fmt, e);
    if (!body)
        BP_ERROR("sinks", "sink %s: out of memory: %s event not queued", k->cfg.name, e->event);
    col_webhook_submit(k->delivery, body); /* a full queue (or NULL) is counted there */
}

void col_sinks_alert(struct col_sinks *s, const struct col_alert_note *n)
{
    if (!s || s->n == 0)
        return;
    const struct col_bot_snapshot *b = n->bot;
    const struct col_alert *a = n->alert;
    bool resolved = n->event == COL_ALERT_RESOLVED;
    struct col_sink_event e = {.id = a->id,
                               .event = col_alert_event_name(n->event),
                               .resolved = resolved,
                               .severity = a->severity,
                               .check = a->check,
                               .status = col_status_name(b->status),
                               .reason = resolved ? b->reason : a->reason,
                               .text = n->text,
                               .json = n->json,
                               .bot = b->id,
                               .agent = b->agent,
                               .account = b->account,
                               .exchange = b->exchange,
                               .host = b->host,
                               .kind = "",
                               .group = "",
                               .opened_at = a->opened_at,
                               .now_wall = bp_wall_ms()};
    for (size_t i = 0; i < s->n; i++)
        if (col_sink_takes(&s->v[i].cfg, a->severity, b->account))
            submit(&s->v[i], &e);
}

/* Whether an account-filtered sink should hear of the incident: one of its bots is theirs. */
static bool incident_takes(const struct col_sink_config *c, const struct col_incident *inc)
{
    if (inc->severity < c->min_severity)
        return false;
    if (c->naccounts == 0)
        return true;
    for (size_t i = 0; i < inc->nbots; i++)
        if (account_listed(c, inc->bots[i]->account))
            return true;
    return false;
}

void col_sinks_incident(struct col_sinks *s, const struct col_incident_note *n)
{
    if (!s || s->n == 0)
        return;
    const struct col_incident *inc = n->incident;
    struct col_sink_event e = {.id = inc->id,
                               .event = col_incident_event_name(n->event),
                               .resolved = n->event == COL_INCIDENT_RESOLVED,
                               .severity = inc->severity,
                               .check = "incident",
                               .status = "",
                               .reason = n->text,
                               .text = n->text,
                               .json = n->json,
                               .bot = "",
                               .agent = "",
                               .account = "",
                               .exchange = strcmp(inc->kind, "exchange") == 0 ? inc->group : "",
                               .host = strcmp(inc->kind, "host") == 0 ? inc->group : "",
                               .kind = inc->kind,
                               .group = inc->group,
                               .opened_at = inc->opened_at,
                               .now_wall = bp_wall_ms()};
    for (size_t i = 0; i < s->n; i++)
        if (incident_takes(&s->v[i].cfg, inc))
            submit(&s->v[i], &e);
}

size_t col_sinks_get_stats(struct col_sinks *s, struct col_sink_stats *out, size_t max)
{
    size_t n = 0;
    for (; s && n < s->n && n < max; n++) {
        snprintf(out[n].name, sizeof(out[n].name), "%s", s->v[n].cfg.name);
        out[n].kind = s->v[n].cfg.kind;
        col_webhook_get_stats(s->v[n].delivery, &out[n].counts);
    }
    return n;
}
