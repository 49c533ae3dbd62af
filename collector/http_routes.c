/* SPDX-License-Identifier: MIT */
/* HTTP API handlers: validation, questions to the rules thread or the database, JSON. */
#include "http_routes.h"

#include "clock.h"
#include "http_commands.h"
#include "http_report.h"
#include "http_samples.h"
#include "http_silences.h"
#include "metrics.h"
#include "strmap.h"
#include "ui.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TS_MS 9007199254740991LL /* 2^53 - 1: exact in JSON */
#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000

void col_http_error(struct col_http_reply *reply, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bp_text_sanitize(msg); /* it may quote the request, or cut a character in two */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    reply->status = status;
    reply->content_type = "application/json";
    reply->body = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
}

void col_http_reply_json(struct col_http_reply *reply, int status, cJSON *o)
{
    reply->status = status;
    reply->content_type = "application/json";
    reply->body = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
}

/* ---- questions to the rules thread ---------------------------------------------------- */

bool col_http_ask(const struct col_http_ctx *ctx, struct col_query *qr,
                  struct col_http_reply *reply)
{
    int rc = col_query_ask(qr, ctx->queue, ctx->timeout_ms);
    if (rc == -ETIMEDOUT)
        col_http_error(reply, 503, "the rules thread did not answer within %lld ms",
                       (long long)ctx->timeout_ms);
    else if (rc == -ENOBUFS)
        col_http_error(reply, 503, "the rules thread's queue is full; try again");
    else if (rc < 0 || qr->rc == -ENOMEM)
        col_http_error(reply, 500, "out of memory");
    return rc == 0 && qr->rc != -ENOMEM;
}

/* ---- JSON ------------------------------------------------------------------------------ */

cJSON *col_alert_json(const struct col_alert_view *a, const struct col_bot_view *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "alert_id", a->alert_id);
    cJSON_AddStringToObject(o, "bot", a->bot);
    cJSON_AddStringToObject(o, "severity", col_severity_name(a->severity));
    cJSON_AddStringToObject(o, "check", a->check);
    cJSON_AddStringToObject(o, "status", col_status_name(v->status));
    cJSON_AddStringToObject(o, "reason", a->reason);
    cJSON_AddNumberToObject(o, "opened_at", (double)a->opened_at);
    cJSON_AddNumberToObject(o, "repeats", (double)a->repeats);
    cJSON_AddBoolToObject(o, "announced", a->announced);
    return o;
}

cJSON *col_bot_json(const struct col_bot_view *v, const struct col_alert_view *alerts)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", v->id);
    cJSON_AddStringToObject(o, "status", col_status_name(v->status));
    cJSON_AddStringToObject(o, "check", v->check);
    cJSON_AddStringToObject(o, "reason", v->reason);
    cJSON_AddNumberToObject(o, "since", (double)v->since);
    cJSON_AddNumberToObject(o, "last_heartbeat", (double)v->last_heartbeat);
    cJSON_AddNumberToObject(o, "last_trade", (double)v->last_trade);
    cJSON_AddStringToObject(o, "agent", v->agent);
    cJSON_AddBoolToObject(o, "agent_online", v->agent_online);
    cJSON_AddStringToObject(o, "account", v->account);
    cJSON_AddStringToObject(o, "exchange", v->exchange);
    cJSON_AddStringToObject(o, "host", v->host);
    cJSON_AddStringToObject(o, "intended", v->intended_stopped ? "stopped" : "running");
    cJSON_AddStringToObject(o, "intended_by", v->intended_by_operator ? "operator" : "config");
    if (!v->alert_open) {
        cJSON_AddNullToObject(o, "alert");
    } else {
        cJSON *a = cJSON_AddObjectToObject(o, "alert");
        cJSON_AddStringToObject(a, "alert_id", v->alert_id);
        cJSON_AddStringToObject(a, "severity", col_severity_name(v->alert_severity));
        cJSON_AddStringToObject(a, "check", v->alert_check);
        cJSON_AddNumberToObject(a, "opened_at", (double)v->alert_opened_at);
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "alerts");
    for (size_t i = 0; alerts && i < v->nalerts; i++)
        cJSON_AddItemToArray(arr, col_alert_json(&alerts[v->alerts_first + i], v));
    return o;
}

static void add_counts(cJSON *o, const int64_t *by_status)
{
    for (int s = 0; s < COL_ST_COUNT; s++)
        cJSON_AddNumberToObject(o, col_status_name((enum col_status)s), (double)by_status[s]);
}

struct group {
    int64_t total;
    int64_t by_status[COL_ST_COUNT];
};

static int count_in(struct col_strmap *m, const char *label, enum col_status st)
{
    const char *key = *label ? label : "-";
    struct group *g = col_strmap_get(m, key);
    if (!g) {
        g = calloc(1, sizeof(*g));
        if (!g || col_strmap_put(m, key, g) < 0) {
            free(g);
            return -ENOMEM;
        }
    }
    g->total++;
    g->by_status[st]++;
    return 0;
}

static void group_json(void *ctx, const char *key, void *v)
{
    const struct group *g = v;
    cJSON *o = cJSON_AddObjectToObject(ctx, key);
    cJSON_AddNumberToObject(o, "total", (double)g->total);
    add_counts(cJSON_AddObjectToObject(o, "by_status"), g->by_status);
}

cJSON *col_summary_json(const struct col_bot_view *v, size_t n, bool flat)
{
    int64_t by_status[COL_ST_COUNT] = {0};
    struct col_strmap *accounts = flat ? NULL : col_strmap_new();
    struct col_strmap *hosts = flat ? NULL : col_strmap_new();
    cJSON *o = cJSON_CreateObject();
    bool ok = o && (flat || (accounts && hosts));
    for (size_t i = 0; ok && i < n; i++) {
        by_status[v[i].status]++;
        if (!flat)
            ok = count_in(accounts, v[i].account, v[i].status) == 0 &&
                 count_in(hosts, v[i].host, v[i].status) == 0;
    }
    if (ok) {
        cJSON_AddNumberToObject(o, "total", (double)n);
        if (flat)
            add_counts(o, by_status);
        add_counts(cJSON_AddObjectToObject(o, "by_status"), by_status);
        if (!flat) {
            col_strmap_each(accounts, group_json, cJSON_AddObjectToObject(o, "by_account"));
            col_strmap_each(hosts, group_json, cJSON_AddObjectToObject(o, "by_host"));
        }
    }
    col_strmap_free(accounts, free);
    col_strmap_free(hosts, free);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- parameters ------------------------------------------------------------------------ */

/* Reads an id-like filter parameter (account, exchange) or host (text, as the wire allows it:
 * a host with other bytes cannot match, and the summary echoes the filter) into buf. */
static int label_arg(const char *(*arg)(void *, const char *), void *cls, const char *name,
                     bool is_id, char *buf, size_t size, char *err, size_t errlen)
{
    const char *v = arg(cls, name);
    buf[0] = '\0';
    if (!v || !*v)
        return 0;
    if (strlen(v) >= size || (is_id ? !bp_id_is_valid(v) : !bp_text_is_valid(v))) {
        snprintf(err, errlen, "parameter '%s': %s", name,
                 is_id ? "not 1..64 of [A-Za-z0-9_.-]" : "too long, or not UTF-8 text");
        return -EINVAL;
    }
    snprintf(buf, size, "%s", v);
    return 0;
}

/* Reads an integer parameter in [min, max]; absent leaves *out alone. */
static int int_arg(const char *(*arg)(void *, const char *), void *cls, const char *name,
                   int64_t min, int64_t max, int64_t *out, char *err, size_t errlen)
{
    const char *v = arg(cls, name);
    if (!v)
        return 0;
    int rc = col_parse_int(v, min, max, out);
    if (rc == -EINVAL)
        snprintf(err, errlen, "parameter '%s': '%.40s' is not an integer", name, v);
    else if (rc < 0)
        snprintf(err, errlen, "parameter '%s': want %lld..%lld", name, (long long)min,
                 (long long)max);
    return rc < 0 ? -EINVAL : 0;
}

static int filter_args(const char *(*arg)(void *, const char *), void *cls,
                       struct col_query_filter *f, char *err, size_t errlen)
{
    if (label_arg(arg, cls, "account", true, f->account, sizeof(f->account), err, errlen) < 0 ||
        label_arg(arg, cls, "exchange", true, f->exchange, sizeof(f->exchange), err, errlen) < 0 ||
        label_arg(arg, cls, "host", false, f->host, sizeof(f->host), err, errlen) < 0)
        return -EINVAL;
    return 0;
}

int col_list_opts_parse(const char *(*arg)(void *, const char *), void *cls,
                        struct col_list_opts *o, char *err, size_t errlen)
{
    static const char *const sorts[] = {"id", "status", "since", "last_heartbeat"};
    memset(o, 0, sizeof(*o));
    o->filter.status = -1;
    o->limit = LIST_LIMIT_DEFAULT;
    if (filter_args(arg, cls, &o->filter, err, errlen) < 0)
        return -EINVAL;
    const char *v = arg(cls, "status");
    if (v && (o->filter.status = col_parse_status(v)) < 0) {
        snprintf(err, errlen, "parameter 'status': '%.40s' is not a status word", v);
        return -EINVAL;
    }
    if ((v = arg(cls, "sort")) != NULL) {
        size_t i = 0;
        while (i < 4 && strcmp(v, sorts[i]) != 0)
            i++;
        if (i == 4) {
            snprintf(err, errlen, "parameter 'sort': want id, status, since or last_heartbeat");
            return -EINVAL;
        }
        o->sort = (enum col_sort)i;
    }
    if ((v = arg(cls, "order")) != NULL) {
        if (strcmp(v, "asc") != 0 && strcmp(v, "desc") != 0) {
            snprintf(err, errlen, "parameter 'order': want asc or desc");
            return -EINVAL;
        }
        o->desc = strcmp(v, "desc") == 0;
    }
    if (int_arg(arg, cls, "limit", 1, LIST_LIMIT_MAX, &o->limit, err, errlen) < 0 ||
        int_arg(arg, cls, "offset", 0, INT32_MAX, &o->offset, err, errlen) < 0)
        return -EINVAL;
    return 0;
}

static int cmp64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_view(const void *pa, const void *pb, void *ctx)
{
    const struct col_bot_view *a = pa, *b = pb;
    const struct col_list_opts *o = ctx;
    int c = 0;
    switch (o->sort) {
    case COL_SORT_STATUS:
        c = cmp64(a->status, b->status); /* enum order: unknown, healthy … down, error */
        break;
    case COL_SORT_SINCE:
        c = cmp64(a->since, b->since);
        break;
    case COL_SORT_LAST_HEARTBEAT:
        c = cmp64(a->last_heartbeat, b->last_heartbeat);
        break;
    case COL_SORT_ID:
        return o->desc ? strcmp(b->id, a->id) : strcmp(a->id, b->id);
    }
    if (o->desc)
        c = -c;
    return c ? c : strcmp(a->id, b->id);
}

void col_bots_sort(struct col_bot_view *views, size_t n, const struct col_list_opts *o)
{
    if (n > 1)
        qsort_r(views, n, sizeof(*views), cmp_view, (void *)o);
}

/* ---- handlers -------------------------------------------------------------------------- */

struct component {
    const char *name;
    bool healthy;
    char message[300];
};

static void check_broker(const struct col_http_ctx *ctx, struct component *c)
{
    c->healthy = ctx->mqtt && bp_mqtt_is_connected(ctx->mqtt);
    snprintf(c->message, sizeof(c->message), "%s",
             c->healthy ? "connected to the broker" : "not connected to the broker");
}

static void check_database(const struct col_http_ctx *ctx, struct component *c)
{
    char why[256] = "no database configured";
    c->healthy = ctx->db && col_http_db_ping(ctx->db, why, sizeof(why)) == 0;
    struct col_store_stats st = {0};
    if (ctx->store)
        col_store_get_stats(ctx->store, &st);
    if (c->healthy)
        snprintf(c->message, sizeof(c->message), "PostgreSQL answers; %llu writes spooled",
                 (unsigned long long)st.spooled);
    else
        snprintf(c->message, sizeof(c->message), "%s; %llu writes spooled", why,
                 (unsigned long long)st.spooled);
}

static void check_rules(const struct col_http_ctx *ctx, struct component *c)
{
    struct col_query *qr = col_query_new(COL_Q_PING);
    int64_t t0 = bp_mono_ms();
    int rc = qr ? col_query_ask(qr, ctx->queue, ctx->timeout_ms) : -ENOMEM;
    size_t depth = bp_queue_len(ctx->queue);
    c->healthy = rc == 0;
    if (rc == 0)
        snprintf(c->message, sizeof(c->message),
                 "rules thread answered in %lld ms; %zu bots; %zu messages queued",
                 (long long)(bp_mono_ms() - t0), qr->fleet_size, depth);
    else if (rc == -ETIMEDOUT)
        snprintf(c->message, sizeof(c->message),
                 "rules thread did not answer within %lld ms; %zu messages queued",
                 (long long)ctx->timeout_ms, depth);
    else
        snprintf(c->message, sizeof(c->message), "rules queue is full (%zu messages)", depth);
    col_query_release(qr);
}

static cJSON *component_json(const struct component *c, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "status", c->healthy ? "healthy" : "unhealthy");
    cJSON_AddStringToObject(o, "message", c->message);
    cJSON_AddNumberToObject(o, "last_check", (double)now);
    return o;
}

static void handle_health(const struct col_http_ctx *ctx, const char *only,
                          struct col_http_reply *reply)
{
    static void (*const checks[])(const struct col_http_ctx *,
                                  struct component *) = {check_broker, check_database, check_rules};
    static const char *const names[] = {"broker", "database", "rules"};
    struct component comps[3] = {{0}};
    bool all = true;
    int64_t now = bp_wall_ms();
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < 3; i++) {
        if (only && strcmp(only, names[i]) != 0)
            continue;
        comps[i].name = names[i];
        checks[i](ctx, &comps[i]);
        all = all && comps[i].healthy;
        if (only) {
            cJSON_Delete(arr);
            col_http_reply_json(reply, all ? 200 : 503, component_json(&comps[i], now));
            return;
        }
        cJSON_AddItemToArray(arr, component_json(&comps[i], now));
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", all ? "healthy" : "unhealthy");
    cJSON_AddNumberToObject(o, "timestamp", (double)now);
    cJSON_AddItemToObject(o, "components", arr);
    col_http_reply_json(reply, all ? 200 : 503, o);
}

static void handle_summary(const struct col_http_ctx *ctx, const struct col_http_request *req,
                           bool flat, struct col_http_reply *reply)
{
    char err[200];
    struct col_query *qr = col_query_new(COL_Q_BOTS);
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    if (filter_args(req->arg, req->arg_cls, &qr->filter, err, sizeof(err)) < 0)
        col_http_error(reply, 400, "%s", err);
    else if (col_http_ask(ctx, qr, reply)) {
        cJSON *o = col_summary_json(qr->bots, qr->nbots, flat);
        if (o) {
            cJSON_AddNumberToObject(o, "ts", (double)bp_wall_ms());
            if (qr->filter.account[0])
                cJSON_AddStringToObject(o, "account", qr->filter.account);
            if (qr->filter.host[0])
                cJSON_AddStringToObject(o, "host", qr->filter.host);
            if (qr->filter.exchange[0])
                cJSON_AddStringToObject(o, "exchange", qr->filter.exchange);
        }
        col_http_reply_json(reply, 200, o);
    }
    col_query_release(qr);
}

static void handle_bots(const struct col_http_ctx *ctx, const struct col_http_request *req,
                        struct col_http_reply *reply)
{
    char err[200];
    struct col_list_opts o;
    if (col_list_opts_parse(req->arg, req->arg_cls, &o, err, sizeof(err)) < 0) {
        col_http_error(reply, 400, "%s", err);
        return;
    }
    struct col_query *qr = col_query_new(COL_Q_BOTS);
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    qr->filter = o.filter;
    if (col_http_ask(ctx, qr, reply)) {
        col_bots_sort(qr->bots, qr->nbots, &o);
        cJSON *res = cJSON_CreateObject();
        cJSON_AddNumberToObject(res, "total", (double)qr->nbots);
        cJSON_AddNumberToObject(res, "offset", (double)o.offset);
        cJSON_AddNumberToObject(res, "limit", (double)o.limit);
        cJSON *arr = cJSON_AddArrayToObject(res, "bots");
        for (size_t i = (size_t)o.offset; i < qr->nbots && i < (size_t)(o.offset + o.limit); i++)
            cJSON_AddItemToArray(arr, col_bot_json(&qr->bots[i], qr->alerts));
        col_http_reply_json(reply, 200, res);
    }
    col_query_release(qr);
}

static void handle_bot(const struct col_http_ctx *ctx, const struct col_http_request *req,
                       enum col_query_kind kind, struct col_http_reply *reply)
{
    struct col_query *qr = col_query_new(kind);
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", req->route->id);
    if (col_http_ask(ctx, qr, reply)) {
        if (qr->rc == -ENOENT || (qr->rc == 0 && qr->nbots == 0))
            col_http_error(reply, 404, "no bot '%s'", req->route->id);
        else if (qr->rc == -EAGAIN)
            col_http_error(reply, 503,
                           "the collector has no broker connection: it cannot "
                           "judge bots until it reconnects");
        else
            col_http_reply_json(reply, 200, col_bot_json(&qr->bots[0], qr->alerts));
    }
    col_query_release(qr);
}

/* Reads from/to/limit/before into p. */
static int page_args(const struct col_http_request *req, struct col_history_page *p, char *err,
                     size_t errlen)
{
    p->limit = LIST_LIMIT_DEFAULT;
    if (int_arg(req->arg, req->arg_cls, "from", 0, MAX_TS_MS, &p->from, err, errlen) < 0 ||
        int_arg(req->arg, req->arg_cls, "to", 1, MAX_TS_MS, &p->to, err, errlen) < 0 ||
        int_arg(req->arg, req->arg_cls, "limit", 1, LIST_LIMIT_MAX, &p->limit, err, errlen) < 0 ||
        int_arg(req->arg, req->arg_cls, "before", 1, MAX_TS_MS, &p->before, err, errlen) < 0)
        return -EINVAL;
    if (p->to > 0 && p->from >= p->to) {
        snprintf(err, errlen, "parameter 'from' must be before 'to'");
        return -EINVAL;
    }
    return 0;
}

typedef int (*page_fn)(struct col_http_db *, const struct col_history_page *, cJSON **, int64_t *,
                       char *, size_t);

static void reply_page(const struct col_http_ctx *ctx, page_fn fn, const char *key,
                       const struct col_history_page *p, struct col_http_reply *reply)
{
    char why[300] = "";
    cJSON *rows = NULL;
    int64_t next = 0;
    if (!ctx->db) {
        col_http_error(reply, 503, "no database configured");
        return;
    }
    int rc = fn(ctx->db, p, &rows, &next, why, sizeof(why));
    if (rc == -ENOMEM) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    if (rc < 0) {
        col_http_error(reply, 503, "database unavailable: %s", why);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (p->bot)
        cJSON_AddStringToObject(o, "bot", p->bot);
    cJSON_AddItemToObject(o, key, rows);
    if (next > 0)
        cJSON_AddNumberToObject(o, "next_before", (double)next);
    else
        cJSON_AddNullToObject(o, "next_before");
    col_http_reply_json(reply, 200, o);
}

static void handle_history(const struct col_http_ctx *ctx, const struct col_http_request *req,
                           struct col_http_reply *reply)
{
    char err[200];
    struct col_history_page p = {.bot = req->route->id};
    if (page_args(req, &p, err, sizeof(err)) < 0) {
        col_http_error(reply, 400, "%s", err);
        return;
    }
    reply_page(ctx, col_http_db_transitions, "transitions", &p, reply);
}

static void handle_alerts(const struct col_http_ctx *ctx, const struct col_http_request *req,
                          struct col_http_reply *reply)
{
    char err[200] = "";
    char bot[BP_ID_MAX + 1];
    const char *state = req->arg(req->arg_cls, "state");
    if (state && strcmp(state, "open") != 0 && strcmp(state, "all") != 0) {
        col_http_error(reply, 400, "parameter 'state': want open or all");
        return;
    }
    if (label_arg(req->arg, req->arg_cls, "bot", true, bot, sizeof(bot), err, sizeof(err)) < 0) {
        col_http_error(reply, 400, "%s", err);
        return;
    }
    if (state && strcmp(state, "all") == 0) {
        struct col_history_page p = {.bot = bot[0] ? bot : NULL};
        if (page_args(req, &p, err, sizeof(err)) < 0)
            col_http_error(reply, 400, "%s", err);
        else
            reply_page(ctx, col_http_db_alert_events, "events", &p, reply);
        return;
    }
    if (req->arg(req->arg_cls, "limit") || req->arg(req->arg_cls, "before") ||
        req->arg(req->arg_cls, "from") || req->arg(req->arg_cls, "to")) {
        col_http_error(reply, 400,
                       "parameters 'from', 'to', 'limit' and 'before' are for "
                       "state=all (the history); state=open lists every open alert");
        return;
    }
    struct col_query *qr = col_query_new(COL_Q_BOTS);
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    qr->filter.alert_open = true;
    snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", bot);
    if (col_http_ask(ctx, qr, reply)) {
        struct col_list_opts o = {.sort = COL_SORT_ID};
        col_bots_sort(qr->bots, qr->nbots, &o);
        cJSON *res = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(res, "alerts");
        for (size_t i = 0; i < qr->nbots; i++) /* by bot, each bot's oldest first */
            for (size_t k = 0; k < qr->bots[i].nalerts; k++)
                cJSON_AddItemToArray(
                    arr, col_alert_json(&qr->alerts[qr->bots[i].alerts_first + k], &qr->bots[i]));
        col_http_reply_json(reply, 200, res);
    }
    col_query_release(qr);
}

static void handle_metrics(const struct col_http_ctx *ctx, struct col_http_reply *reply)
{
    struct col_query *qr = col_query_new(COL_Q_BOTS);
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    if (col_http_ask(ctx, qr, reply)) {
        struct col_list_opts o = {.sort = COL_SORT_ID};
        col_bots_sort(qr->bots, qr->nbots, &o);
        struct col_metrics_input in = {
            .bots = qr->bots,
            .nbots = qr->nbots,
            .alerts = qr->alerts,
            .nalerts = qr->nalerts,
            .now_wall = bp_wall_ms(),
            .queue_depth = bp_queue_len(ctx->queue),
            .mqtt_connected = ctx->mqtt && bp_mqtt_is_connected(ctx->mqtt),
            .uptime_s = (bp_mono_ms() - ctx->started_mono) / 1000,
            .have_store = ctx->store != NULL,
            .have_commands = qr->have_commands,
            .commands = qr->commands,
        };
        if (ctx->ingest)
            col_ingest_get_stats(ctx->ingest, &in.ingest);
        if (ctx->store)
            col_store_get_stats(ctx->store, &in.store);
        reply->status = 200;
        reply->content_type = COL_METRICS_CONTENT_TYPE;
        reply->body = col_metrics_render(&in);
    }
    col_query_release(qr);
}

/* POST /bots/heartbeat: a v1 heartbeat message, validated like one from MQTT. */
static void handle_heartbeat(const struct col_http_ctx *ctx, const struct col_http_request *req,
                             struct col_http_reply *reply)
{
    struct bp_msg m;
    struct bp_msg_error err = {0};
    if (bp_msg_decode(req->body ? req->body : "", req->body_len, &m, &err) < 0) {
        col_http_error(reply, 400, "invalid heartbeat: %s: %s", bp_msg_err_name(err.code),
                       err.detail);
        return;
    }
    if (m.hdr.type != BP_MSG_HEARTBEAT) {
        col_http_error(reply, 400, "invalid heartbeat: type is '%s', want 'heartbeat'",
                       bp_msg_type_name(m.hdr.type));
        return;
    }
    int rc = col_ingest_submit(ctx->ingest, &m);
    if (rc < 0) {
        col_http_error(reply, 503, "the rules thread's queue is full; try again");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "accepted", true);
    cJSON_AddStringToObject(o, "bot", m.hdr.bot);
    cJSON_AddStringToObject(o, "agent", m.hdr.agent);
    col_http_reply_json(reply, 202, o);
}

/* GET / and /ui/{name}: a file of the dashboard, compiled in. */
static void handle_ui(const struct col_http_request *req, struct col_http_reply *reply)
{
    const struct col_ui_asset *a = col_ui_find(req->route->id);
    if (!a) {
        col_http_error(reply, 404, "no dashboard file '%s'", req->route->id);
        return;
    }
    reply->body = malloc(a->len + 1);
    if (!reply->body)
        return; /* the server answers 500 */
    memcpy(reply->body, a->data, a->len + 1);
    reply->body_len = a->len;
    reply->status = 200;
    reply->content_type = a->content_type;
}

void col_http_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                     struct col_http_reply *reply)
{
    memset(reply, 0, sizeof(*reply));
    switch (req->route->route) {
    case COL_R_HEALTH:
        handle_health(ctx, NULL, reply);
        break;
    case COL_R_HEALTH_COMPONENT:
        handle_health(ctx, req->route->id, reply);
        break;
    case COL_R_FLEET_SUMMARY:
    case COL_R_BOTS_SUMMARY:
        handle_summary(ctx, req, req->route->route == COL_R_BOTS_SUMMARY, reply);
        break;
    case COL_R_BOTS:
        handle_bots(ctx, req, reply);
        break;
    case COL_R_BOT:
        handle_bot(ctx, req, COL_Q_BOTS, reply);
        break;
    case COL_R_BOT_CHECK:
        handle_bot(ctx, req, COL_Q_CHECK, reply);
        break;
    case COL_R_BOT_HISTORY:
        handle_history(ctx, req, reply);
        break;
    case COL_R_HEARTBEAT:
        handle_heartbeat(ctx, req, reply);
        break;
    case COL_R_ALERTS:
        handle_alerts(ctx, req, reply);
        break;
    case COL_R_METRICS:
        handle_metrics(ctx, reply);
        break;
    case COL_R_UI:
        handle_ui(req, reply);
        break;
    case COL_R_SILENCES:
    case COL_R_SILENCE:
        col_http_silences_handle(ctx, req, reply);
        break;
    case COL_R_REPORT:
        col_http_report_handle(ctx, req, reply);
        break;
    case COL_R_BOT_RESTART:
        col_http_restart_handle(ctx, req, reply);
        break;
    case COL_R_BOT_INTENDED:
        col_http_intended_handle(ctx, req, reply);
        break;
    case COL_R_BOT_SAMPLES:
        col_http_samples_handle(ctx, req, reply);
        break;
    case COL_R_NONE:
    case COL_R_COUNT:
        col_http_error(reply, 404, "no such route");
        break;
    }
}
