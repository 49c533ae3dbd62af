/* SPDX-License-Identifier: MIT */
/* The bodies alert sinks receive: the MQTT alert, generic JSON, chat messages, e-mails. */
#include "sink_format.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PD_SUMMARY_MAX 1024 /* PagerDuty truncates a longer summary; we cut it ourselves */

static const char *const kind_names[COL_SINK_NKINDS] = {"alert",   "json",     "slack",
                                                        "discord", "telegram", "email"};

int col_sink_kind_parse(const char *name, enum col_sink_kind *out)
{
    for (int i = 0; i < COL_SINK_NKINDS; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (enum col_sink_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *col_sink_kind_name(enum col_sink_kind k)
{
    return (unsigned)k < COL_SINK_NKINDS ? kind_names[k] : "?";
}

bool col_sink_kind_url_is_secret(enum col_sink_kind k)
{
    return k == COL_SINK_SLACK || k == COL_SINK_DISCORD || k == COL_SINK_TELEGRAM;
}

void col_sink_rfc3339(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char s[32];
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03dZ", s, (int)(ms % 1000));
}

/* Prints and frees o; NULL if o is NULL or printing fails. */
static char *finish(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static char *chat_body(enum col_sink_kind k, const struct col_sink_format *f,
                       const struct col_sink_event *e)
{
    cJSON *o = cJSON_CreateObject();
    if (o && k == COL_SINK_TELEGRAM)
        cJSON_AddStringToObject(o, "chat_id", f->chat_id ? f->chat_id : "");
    if (o)
        cJSON_AddStringToObject(o, k == COL_SINK_DISCORD ? "content" : "text", e->text);
    return finish(o);
}

/* Adds name: value when value is not empty. */
static void add_nonempty(cJSON *o, const char *name, const char *value)
{
    if (value && value[0])
        cJSON_AddStringToObject(o, name, value);
}

/* Alertmanager's labels: alertname, severity, then what names the bot or the incident. */
static cJSON *labels(const struct col_sink_event *e)
{
    cJSON *l = cJSON_CreateObject();
    char alertname[COL_CHECK_MAX + 16];
    snprintf(alertname, sizeof(alertname), "botpulse_%s", e->check);
    for (char *c = alertname; *c; c++)
        if (*c == ':') /* metric:NAME */
            *c = '_';
    cJSON_AddStringToObject(l, "alertname", alertname);
    cJSON_AddStringToObject(l, "severity", col_severity_name(e->severity));
    add_nonempty(l, "bot", e->bot);
    add_nonempty(l, "agent", e->agent);
    add_nonempty(l, "account", e->account);
    add_nonempty(l, "exchange", e->exchange);
    add_nonempty(l, "host", e->host);
    add_nonempty(l, "check", e->check);
    add_nonempty(l, "kind", e->kind);
    add_nonempty(l, "group", e->group);
    return l;
}

static cJSON *annotations(const struct col_sink_event *e)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "summary", e->text);
    cJSON_AddStringToObject(a, "description", e->reason);
    return a;
}

/* PagerDuty's source: where it happens ("bot-1@host-a", "exchange:binance"). */
static void source_of(const struct col_sink_event *e, char *buf, size_t size)
{
    if (e->bot && e->bot[0])
        snprintf(buf, size, "%s%s%s", e->bot, e->host && e->host[0] ? "@" : "",
                 e->host ? e->host : "");
    else
        snprintf(buf, size, "%s:%s", e->kind ? e->kind : "", e->group ? e->group : "");
}

/* The PagerDuty Events API v2 half: routing_key, event_action, dedup_key, payload. */
static void add_pagerduty(cJSON *o, const struct col_sink_format *f, const struct col_sink_event *e)
{
    char src[256], ts[40], summary[PD_SUMMARY_MAX + 1];
    add_nonempty(o, "routing_key", f->routing_key);
    cJSON_AddStringToObject(o, "event_action", e->resolved ? "resolve" : "trigger");
    cJSON_AddStringToObject(o, "dedup_key", e->id);
    cJSON_AddStringToObject(o, "client", "botpulse");
    cJSON *p = cJSON_AddObjectToObject(o, "payload");
    snprintf(summary, sizeof(summary), "%s", e->text);
    cJSON_AddStringToObject(p, "summary", summary);
    source_of(e, src, sizeof(src));
    cJSON_AddStringToObject(p, "source", src);
    cJSON_AddStringToObject(p, "severity", col_severity_name(e->severity));
    col_sink_rfc3339(e->now_wall, ts, sizeof(ts));
    cJSON_AddStringToObject(p, "timestamp", ts);
    cJSON_AddStringToObject(p, "component", e->check);
    add_nonempty(p, "group", e->account && e->account[0] ? e->account : e->group);
    add_nonempty(p, "class", e->status);
    cJSON *details = e->json ? cJSON_Parse(e->json) : NULL;
    cJSON_AddItemToObject(p, "custom_details", details ? details : cJSON_CreateObject());
}

/* The Alertmanager webhook half (version 4): one alert per body, grouped by its id. */
static void add_alertmanager(cJSON *o, const struct col_sink_format *f,
                             const struct col_sink_event *e)
{
    char starts[40], ends[40];
    const char *status = e->resolved ? "resolved" : "firing";
    cJSON_AddStringToObject(o, "version", "4");
    cJSON_AddStringToObject(o, "groupKey", e->id);
    cJSON_AddNumberToObject(o, "truncatedAlerts", 0);
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddStringToObject(o, "receiver", f->name ? f->name : "");
    cJSON *gl = cJSON_AddObjectToObject(o, "groupLabels");
    cJSON_AddStringToObject(gl, "alert_id", e->id);
    cJSON_AddItemToObject(o, "commonLabels", labels(e));
    cJSON_AddItemToObject(o, "commonAnnotations", annotations(e));
    cJSON_AddStringToObject(o, "externalURL", "");
    cJSON *alerts = cJSON_AddArrayToObject(o, "alerts");
    cJSON *a = cJSON_CreateObject();
    cJSON_AddItemToArray(alerts, a);
    cJSON_AddStringToObject(a, "status", status);
    cJSON_AddItemToObject(a, "labels", labels(e));
    cJSON_AddItemToObject(a, "annotations", annotations(e));
    col_sink_rfc3339(e->opened_at, starts, sizeof(starts));
    cJSON_AddStringToObject(a, "startsAt", starts);
    if (e->resolved)
        col_sink_rfc3339(e->now_wall, ends, sizeof(ends));
    else
        snprintf(ends, sizeof(ends), "0001-01-01T00:00:00Z"); /* Alertmanager's "not yet" */
    cJSON_AddStringToObject(a, "endsAt", ends);
    cJSON_AddStringToObject(a, "generatorURL", "");
    cJSON_AddStringToObject(a, "fingerprint", e->id);
}

static char *json_body(const struct col_sink_format *f, const struct col_sink_event *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_pagerduty(o, f, e);
    add_alertmanager(o, f, e);
    return finish(o);
}

/* ---- e-mail ------------------------------------------------------------------------------ */

/* A growing string; on ENOMEM it stays failed. */
struct text {
    char *s;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void add(struct text *t, const char *fmt, ...)
{
    for (int tries = 0; !t->failed && tries < 2; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
        } else if (t->s && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        } else {
            size_t cap = t->cap ? t->cap : 2048;
            while (cap <= t->len + (size_t)n)
                cap *= 2;
            char *s = realloc(t->s, cap);
            t->failed = s == NULL;
            t->s = s ? s : t->s;
            t->cap = s ? cap : t->cap;
        }
    }
}

/* A header value: printable ASCII only (no CR or LF can start a header of its own). */
static void header_safe(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; in && *in && n + 1 < size; in++)
        out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : (*in == '\t' ? ' ' : '?');
    out[n] = '\0';
}

static void field(struct text *t, const char *name, const char *value)
{
    if (value && value[0])
        add(t, "%-10s %s\r\n", name, value);
}

static char *email_body(const struct col_sink_format *f, const struct col_sink_event *e)
{
    char from[256], to[512], subject[256], line[512], date[64], opened[40];
    header_safe(f->from, from, sizeof(from));
    header_safe(f->to, to, sizeof(to));
    header_safe(e->text, line, sizeof(line));
    snprintf(subject, sizeof(subject), "[botpulse] %.200s", line);
    time_t now = (time_t)(e->now_wall / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    struct text t = {0};
    add(&t, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n", from, to, subject, date);
    add(&t, "Message-ID: <%s.%s.%lld@botpulse>\r\n", e->id, e->event, (long long)e->now_wall);
    add(&t, "X-Botpulse-Id: %s\r\nX-Botpulse-Event: %s\r\n", e->id, e->event);
    add(&t, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n");
    add(&t, "%s\r\n\r\n", line);
    field(&t, "event:", e->event);
    field(&t, "severity:", col_severity_name(e->severity));
    field(&t, "bot:", e->bot);
    field(&t, "agent:", e->agent);
    field(&t, "account:", e->account);
    field(&t, "exchange:", e->exchange);
    field(&t, "host:", e->host);
    field(&t, "incident:", e->kind && e->kind[0] ? e->kind : NULL);
    field(&t, "group:", e->group);
    field(&t, "check:", e->check);
    field(&t, "status:", e->status);
    field(&t, "reason:", e->reason);
    col_sink_rfc3339(e->opened_at, opened, sizeof(opened));
    field(&t, "opened:", opened);
    field(&t, "id:", e->id);
    add(&t, "\r\n-- \r\nbotpulse: `botpulse-ctl bot %s` for the whole story\r\n",
        e->bot && e->bot[0] ? e->bot : "ID");
    if (t.failed) {
        free(t.s);
        return NULL;
    }
    return t.s;
}

char *col_sink_body(enum col_sink_kind k, const struct col_sink_format *f,
                    const struct col_sink_event *e)
{
    switch (k) {
    case COL_SINK_ALERT:
        return strdup(e->json);
    case COL_SINK_JSON:
        return json_body(f, e);
    case COL_SINK_EMAIL:
        return email_body(f, e);
    default:
        return chat_body(k, f, e);
    }
}
