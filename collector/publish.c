/* SPDX-License-Identifier: MIT */
/* The collector's outbound messages: encoders (cJSON), their topics, QoS and retain flags. */
#include "publish.h"

#include "fleet.h"
#include "mqtt.h"
#include "snapshot.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *envelope(const char *type, int64_t now_wall)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "v", BP_PROTO_VERSION);
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "ts", (double)now_wall);
    return o;
}

/* Prints and frees o; NULL if o is NULL or printing fails. */
static char *finish(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

char *col_encode_status(const struct col_bot_snapshot *s, int64_t now_wall)
{
    cJSON *o = envelope("status", now_wall);
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "bot", s->id);
    cJSON_AddStringToObject(o, "agent", s->agent);
    cJSON_AddStringToObject(o, "account", s->account);
    cJSON_AddStringToObject(o, "exchange", s->exchange);
    cJSON_AddStringToObject(o, "host", s->host);
    cJSON_AddStringToObject(o, "status", col_status_name(s->status));
    cJSON_AddStringToObject(o, "check", s->check);
    cJSON_AddStringToObject(o, "reason", s->reason);
    cJSON_AddNumberToObject(o, "since", (double)s->since);
    cJSON_AddNumberToObject(o, "last_heartbeat", (double)s->last_heartbeat);
    cJSON_AddNumberToObject(o, "last_trade", (double)s->last_trade);
    return finish(o);
}

char *col_encode_alert(const struct col_bot_snapshot *bot, const struct col_alert *a,
                       const char *reason, enum col_alert_event e, int64_t now_wall)
{
    cJSON *o = envelope("alert", now_wall);
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "alert_id", a->id);
    cJSON_AddStringToObject(o, "event", col_alert_event_name(e));
    cJSON_AddStringToObject(o, "severity", col_severity_name(a->severity));
    cJSON_AddStringToObject(o, "bot", bot->id);
    cJSON_AddStringToObject(o, "agent", bot->agent);
    cJSON_AddStringToObject(o, "check", a->check);
    cJSON_AddStringToObject(o, "status", col_status_name(bot->status));
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddNumberToObject(o, "opened_at", (double)a->opened_at);
    return finish(o);
}

char *col_encode_incident(const struct col_incident *inc, enum col_incident_event e,
                          const char *reason, int64_t now_wall)
{
    cJSON *o = envelope("incident", now_wall);
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "incident_id", inc->id);
    cJSON_AddStringToObject(o, "event", col_incident_event_name(e));
    cJSON_AddStringToObject(o, "severity", col_severity_name(inc->severity));
    cJSON_AddStringToObject(o, "kind", inc->kind);
    cJSON_AddStringToObject(o, "group", inc->group);
    cJSON_AddNumberToObject(o, "count", (double)inc->nbots);
    cJSON_AddNumberToObject(o, "failing", (double)inc->nbad);
    cJSON *bots = cJSON_AddArrayToObject(o, "bots");
    for (size_t i = 0; bots && i < inc->nbots && i < COL_INCIDENT_LIST_MAX; i++)
        cJSON_AddItemToArray(bots, cJSON_CreateString(inc->bots[i]->id));
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddNumberToObject(o, "opened_at", (double)inc->opened_at);
    return finish(o);
}

static cJSON *group_json(const struct col_group *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *by = cJSON_AddObjectToObject(o, "by_status");
    cJSON_AddNumberToObject(o, "total", (double)g->total);
    for (int s = 0; s < COL_ST_COUNT; s++)
        cJSON_AddNumberToObject(by, col_status_name((enum col_status)s), (double)g->by_status[s]);
    return o;
}

static void add_group(void *ctx, const char *key, void *v)
{
    const struct col_group *g = v;
    if (g->total > 0)
        cJSON_AddItemToObject(ctx, key, group_json(g));
}

char *col_encode_summary(const struct col_fleet *f, int64_t now_wall)
{
    cJSON *o = envelope("fleet_summary", now_wall);
    if (!o)
        return NULL;
    cJSON *all = group_json(&f->all);
    cJSON_AddItemToObject(o, "total", cJSON_DetachItemFromObject(all, "total"));
    cJSON_AddItemToObject(o, "by_status", cJSON_DetachItemFromObject(all, "by_status"));
    cJSON_Delete(all);
    col_strmap_each(f->accounts, add_group, cJSON_AddObjectToObject(o, "by_account"));
    col_strmap_each(f->hosts, add_group, cJSON_AddObjectToObject(o, "by_host"));
    return finish(o);
}

char *col_encode_collector_state(const char *id, bool online, int64_t now_wall)
{
    cJSON *o = envelope("collector_state", now_wall);
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "collector", id);
    cJSON_AddStringToObject(o, "state", online ? "online" : "offline");
    cJSON_AddStringToObject(o, "version", BP_VERSION);
    if (online) { /* what it reads beyond the v1 basics: agents use batches when it says so */
        cJSON *accepts = cJSON_AddArrayToObject(o, "accepts");
        cJSON_AddItemToArray(accepts, cJSON_CreateString("batch"));
    }
    return finish(o);
}

static void add_counts(cJSON *o, const struct col_webhook_stats *c)
{
    cJSON_AddNumberToObject(o, "delivered", (double)c->delivered);
    cJSON_AddNumberToObject(o, "failed", (double)c->failed);
    cJSON_AddNumberToObject(o, "dropped", (double)c->dropped);
    cJSON_AddNumberToObject(o, "retries", (double)c->retries);
    cJSON_AddNumberToObject(o, "queued", (double)c->queued);
}

/* "webhook": every sink's counts added up (as before there were several); "sinks": each one's,
 * by name, with its kind. */
static void add_sinks(cJSON *o, const struct col_collector_stats *s)
{
    if (s->nsinks == 0)
        return;
    struct col_webhook_stats all = {0};
    cJSON *each = cJSON_CreateObject();
    for (size_t i = 0; i < s->nsinks; i++) {
        const struct col_webhook_stats *c = &s->sinks[i].counts;
        all.delivered += c->delivered;
        all.failed += c->failed;
        all.dropped += c->dropped;
        all.retries += c->retries;
        all.queued += c->queued;
        cJSON *one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "kind", col_sink_kind_name(s->sinks[i].kind));
        add_counts(one, c);
        cJSON_AddItemToObject(each, s->sinks[i].name, one);
    }
    add_counts(cJSON_AddObjectToObject(o, "webhook"), &all);
    cJSON_AddItemToObject(o, "sinks", each);
}

char *col_encode_collector_stats(const char *id, const struct col_collector_stats *s,
                                 int64_t now_wall)
{
    cJSON *o = envelope("collector_stats", now_wall);
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "collector", id);
    cJSON_AddNumberToObject(o, "uptime_s", (double)s->uptime_s);
    cJSON_AddNumberToObject(o, "received", (double)s->ingest.received);
    cJSON_AddNumberToObject(o, "accepted", (double)s->ingest.accepted);
    cJSON *rej = cJSON_AddObjectToObject(o, "rejected");
    for (int i = 1; i < BP_MSG_ERR_COUNT; i++)
        cJSON_AddNumberToObject(rej, bp_msg_err_name((enum bp_msg_err)i),
                                (double)s->ingest.rejected[i]);
    cJSON_AddNumberToObject(o, "queue_dropped", (double)s->ingest.queue_dropped);
    cJSON_AddNumberToObject(o, "batches", (double)s->ingest.batches);
    cJSON_AddNumberToObject(o, "rate_dropped", (double)s->ingest.rate_dropped);
    cJSON_AddNumberToObject(o, "queue_len", (double)s->queue_len);
    cJSON_AddNumberToObject(o, "lag_ms", (double)s->lag_ms);
    cJSON_AddNumberToObject(o, "lag_max_ms", (double)s->lag_max_ms);
    cJSON_AddBoolToObject(o, "behind", s->behind);
    cJSON_AddBoolToObject(o, "blind", s->blind);
    cJSON_AddBoolToObject(o, "echo_lost", s->echo_lost);
    cJSON_AddNumberToObject(o, "echo_losses", (double)s->echo_losses);
    cJSON_AddNumberToObject(o, "bots", (double)s->bots);
    cJSON *claims = cJSON_AddObjectToObject(o, "claims_refused");
    for (int i = 1; i < COL_CLAIM_COUNT; i++)
        cJSON_AddNumberToObject(claims, col_claim_name((enum col_claim)i),
                                (double)s->claims_refused[i]);
    cJSON_AddNumberToObject(o, "bots_refused", (double)s->bots_refused);
    cJSON_AddNumberToObject(o, "restarts", (double)s->restarts);
    cJSON_AddBoolToObject(o, "mqtt_connected", s->mqtt_connected);
    cJSON *st = cJSON_AddObjectToObject(o, "store");
    cJSON_AddNumberToObject(st, "written", (double)s->store.written);
    cJSON_AddNumberToObject(st, "dropped", (double)s->store.dropped);
    cJSON_AddNumberToObject(st, "spooled", (double)s->store.spooled);
    cJSON_AddNumberToObject(st, "failures", (double)s->store.failures);
    cJSON_AddBoolToObject(st, "db_up", s->store.db_up);
    add_sinks(o, s);
    return finish(o);
}

/* A message of its own encoding: fills p unless json is NULL. */
static int own(struct col_pub *p, char *json, int qos, bool retain)
{
    if (!json)
        return -ENOMEM;
    p->payload = p->owned = json;
    p->qos = qos;
    p->retain = retain;
    return 0;
}

int col_pub_status(struct col_pub *p, const char *root, const struct col_bot_snapshot *s,
                   int64_t now_wall)
{
    snprintf(p->topic, sizeof(p->topic), "%s/status/%s", root, s->id);
    return own(p, col_encode_status(s, now_wall), 1, true);
}

int col_pub_alert(struct col_pub *p, const char *root, const char *bot, enum col_severity sev,
                  const char *json)
{
    *p = (struct col_pub){.payload = json, .qos = 1};
    snprintf(p->topic, sizeof(p->topic), "%s/alerts/%s/%s", root, col_severity_name(sev), bot);
    return 0;
}

int col_pub_incident(struct col_pub *p, const char *root, const struct col_incident *inc,
                     const char *json)
{
    char group[BP_TEXT_MAX + 1];
    size_t n = 0;
    for (const char *c = inc->group; *c && n + 1 < sizeof(group); c++)
        group[n++] = (isalnum((unsigned char)*c) || strchr("_.-", *c)) ? *c : '_';
    group[n] = '\0';
    *p = (struct col_pub){.payload = json, .qos = 1};
    snprintf(p->topic, sizeof(p->topic), "%s/incidents/%s/%s", root, inc->kind, group);
    return 0;
}

int col_pub_summary(struct col_pub *p, const char *root, const struct col_fleet *f,
                    int64_t now_wall)
{
    snprintf(p->topic, sizeof(p->topic), "%s/fleet/summary", root);
    return own(p, col_encode_summary(f, now_wall), 1, true);
}

void col_pub_collector_topic(char *buf, size_t size, const char *root, const char *id, bool per_id,
                             const char *what)
{
    if (per_id)
        snprintf(buf, size, "%s/collector/%s/%s", root, id, what);
    else
        snprintf(buf, size, "%s/collector/%s", root, what);
}

int col_pub_collector_state(struct col_pub *p, const char *root, const char *id, bool per_id,
                            bool online, int64_t now_wall)
{
    col_pub_collector_topic(p->topic, sizeof(p->topic), root, id, per_id, "state");
    return own(p, col_encode_collector_state(id, online, now_wall), 1, true);
}

int col_pub_collector_stats(struct col_pub *p, const char *root, const char *id, bool per_id,
                            const struct col_collector_stats *s, int64_t now_wall)
{
    col_pub_collector_topic(p->topic, sizeof(p->topic), root, id, per_id, "stats");
    return own(p, col_encode_collector_stats(id, s, now_wall), 0, true);
}

int col_pub_command(struct col_pub *p, const char *root, const struct bp_msg *cmd)
{
    int rc = bp_topic_format(p->topic, sizeof(p->topic), root, BP_MSG_COMMAND, cmd->hdr.agent,
                             cmd->hdr.bot);
    return rc < 0 ? rc : own(p, bp_msg_encode(cmd), 1, false);
}

void col_pub_cleanup(struct col_pub *p)
{
    free(p->owned);
    p->owned = NULL;
    p->payload = NULL;
}

int col_pub_send(struct bp_mqtt *m, struct col_pub *p)
{
    int rc = bp_mqtt_publish(m, p->topic, p->payload, strlen(p->payload), p->qos, p->retain);
    col_pub_cleanup(p);
    return rc;
}
