/* SPDX-License-Identifier: MIT */
/* The fleet's routes: summaries, the bot list with its filters, sort and paging, one bot (and a
 * forced re-check), heartbeats by HTTP; and the bot and alert JSON they share. */
#include "http_bots.h"

#include "clock.h"
#include "cluster.h"
#include "http_parse.h"
#include "ingest.h"
#include "strmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON ------------------------------------------------------------------------------ */

cJSON *col_alert_json(const struct col_alert_view *a, const struct col_bot_view *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "alert_id", a->alert_id);
    cJSON_AddStringToObject(o, "bot", a->bot);
    cJSON_AddStringToObject(o, "severity", col_severity_name(a->severity));
    cJSON_AddStringToObject(o, "check", a->check);
    cJSON_AddStringToObject(o, "status", col_status_name(v->snap.status));
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
    cJSON_AddStringToObject(o, "id", v->snap.id);
    cJSON_AddStringToObject(o, "status", col_status_name(v->snap.status));
    cJSON_AddStringToObject(o, "check", v->snap.check);
    cJSON_AddStringToObject(o, "reason", v->snap.reason);
    cJSON_AddNumberToObject(o, "since", (double)v->snap.since);
    cJSON_AddNumberToObject(o, "last_heartbeat", (double)v->snap.last_heartbeat);
    cJSON_AddNumberToObject(o, "last_trade", (double)v->snap.last_trade);
    cJSON_AddStringToObject(o, "agent", v->snap.agent);
    cJSON_AddBoolToObject(o, "agent_online", v->agent_online);
    cJSON_AddStringToObject(o, "account", v->snap.account);
    cJSON_AddStringToObject(o, "exchange", v->snap.exchange);
    cJSON_AddStringToObject(o, "host", v->snap.host);
    cJSON_AddStringToObject(o, "intended", v->intended_stopped ? "stopped" : "running");
    cJSON_AddStringToObject(o, "intended_by", v->intended_by_operator ? "operator" : "config");
    if (v->snap.restarts < 0)
        cJSON_AddNullToObject(o, "restarts");
    else
        cJSON_AddNumberToObject(o, "restarts", (double)v->snap.restarts);
    cJSON_AddNumberToObject(o, "restarts_seen", (double)v->snap.restarts_seen);
    if (v->clustered) {
        cJSON_AddNumberToObject(o, "shard", v->shard);
        cJSON_AddStringToObject(o, "owner", v->owner);
    }
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

void col_http_bots_owners(const struct col_http_ctx *ctx, struct col_bot_view *bots, size_t n)
{
    struct col_cluster_view *v = ctx->cluster ? malloc(sizeof(*v)) : NULL;
    if (!v)
        return;
    col_cluster_view_get(ctx->cluster, v);
    for (size_t i = 0; i < n; i++) {
        bots[i].clustered = true;
        snprintf(bots[i].owner, sizeof(bots[i].owner), "%s",
                 col_cluster_view_owner(v, bots[i].shard));
    }
    free(v);
}

static void add_counts(cJSON *o, const int64_t *by_status)
{
    for (int s = 0; s < COL_ST_COUNT; s++)
        cJSON_AddNumberToObject(o, col_status_name((enum col_status)s), (double)by_status[s]);
}

static void group_json(void *ctx, const char *key, void *v)
{
    const struct col_group *g = v;
    cJSON *o = cJSON_AddObjectToObject(ctx, key);
    cJSON_AddNumberToObject(o, "total", (double)g->total);
    add_counts(cJSON_AddObjectToObject(o, "by_status"), g->by_status);
}

cJSON *col_summary_json(const struct col_query *qr, bool flat)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "total", (double)qr->counts.total);
    if (flat)
        add_counts(o, qr->counts.by_status);
    add_counts(cJSON_AddObjectToObject(o, "by_status"), qr->counts.by_status);
    if (!flat) {
        cJSON *acc = cJSON_AddObjectToObject(o, "by_account");
        cJSON *hosts = cJSON_AddObjectToObject(o, "by_host");
        if (qr->counts_by_account)
            col_strmap_each(qr->counts_by_account, group_json, acc);
        if (qr->counts_by_host)
            col_strmap_each(qr->counts_by_host, group_json, hosts);
    }
    return o;
}

/* ---- /bots' parameters ----------------------------------------------------------------- */

/* Reads the account, exchange and host filters through arg. */
static int filter_args(const char *(*arg)(void *, const char *), void *cls,
                       struct col_query_filter *f, char *err, size_t errlen)
{
    if (col_http_arg_label(arg, cls, "account", true, f->account, sizeof(f->account), err, errlen) <
            0 ||
        col_http_arg_label(arg, cls, "exchange", true, f->exchange, sizeof(f->exchange), err,
                           errlen) < 0 ||
        col_http_arg_label(arg, cls, "host", false, f->host, sizeof(f->host), err, errlen) < 0)
        return -EINVAL;
    return 0;
}

int col_list_opts_parse(const char *(*arg)(void *, const char *), void *cls,
                        struct col_list_opts *o, char *err, size_t errlen)
{
    static const char *const sorts[] = {"id", "status", "since", "last_heartbeat"};
    memset(o, 0, sizeof(*o));
    o->filter.status = -1;
    o->limit = COL_HTTP_LIST_LIMIT_DEFAULT;
    if (filter_args(arg, cls, &o->filter, err, errlen) < 0 ||
        col_http_arg_label(arg, cls, "q", false, o->filter.text, sizeof(o->filter.text), err,
                           errlen) < 0)
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
    if (col_http_arg_int(arg, cls, "limit", 1, COL_HTTP_LIST_LIMIT_MAX, &o->limit, err, errlen) <
            0 ||
        col_http_arg_int(arg, cls, "offset", 0, INT32_MAX, &o->offset, err, errlen) < 0)
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
        c = cmp64(a->snap.status, b->snap.status); /* enum order: unknown, healthy … down, error */
        break;
    case COL_SORT_SINCE:
        c = cmp64(a->snap.since, b->snap.since);
        break;
    case COL_SORT_LAST_HEARTBEAT:
        c = cmp64(a->snap.last_heartbeat, b->snap.last_heartbeat);
        break;
    case COL_SORT_ID:
        return o->desc ? strcmp(b->snap.id, a->snap.id) : strcmp(a->snap.id, b->snap.id);
    }
    if (o->desc)
        c = -c;
    return c ? c : strcmp(a->snap.id, b->snap.id);
}

void col_bots_sort(struct col_bot_view *views, size_t n, const struct col_list_opts *o)
{
    if (n > 1)
        qsort_r(views, n, sizeof(*views), cmp_view, (void *)o);
}

/* ---- handlers -------------------------------------------------------------------------- */

static void handle_summary(const struct col_http_ctx *ctx, const struct col_http_request *req,
                           bool flat, struct col_http_reply *reply)
{
    char err[200];
    struct col_query *qr = col_query_new(COL_Q_COUNTS); /* counted by the rules thread */
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    if (filter_args(req->arg, req->arg_cls, &qr->filter, err, sizeof(err)) < 0)
        col_http_error(reply, 400, "%s", err);
    else if (col_http_ask(ctx, qr, reply)) {
        cJSON *o = col_summary_json(qr, flat);
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

void col_http_fleet_summary(const struct col_http_ctx *ctx, const struct col_http_request *req,
                            struct col_http_reply *reply)
{
    handle_summary(ctx, req, false, reply);
}

void col_http_bots_summary(const struct col_http_ctx *ctx, const struct col_http_request *req,
                           struct col_http_reply *reply)
{
    handle_summary(ctx, req, true, reply);
}

void col_http_bots_list(const struct col_http_ctx *ctx, const struct col_http_request *req,
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
        col_http_bots_owners(ctx, qr->bots, qr->nbots);
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

/* The bot of the path, asked as kind (COL_Q_BOTS, or COL_Q_CHECK to judge it first). */
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
        else {
            col_http_bots_owners(ctx, qr->bots, 1);
            col_http_reply_json(reply, 200, col_bot_json(&qr->bots[0], qr->alerts));
        }
    }
    col_query_release(qr);
}

void col_http_bot_get(const struct col_http_ctx *ctx, const struct col_http_request *req,
                      struct col_http_reply *reply)
{
    handle_bot(ctx, req, COL_Q_BOTS, reply);
}

void col_http_bot_check(const struct col_http_ctx *ctx, const struct col_http_request *req,
                        struct col_http_reply *reply)
{
    handle_bot(ctx, req, COL_Q_CHECK, reply);
}

/* POST /bots/heartbeat: a v1 heartbeat message, validated like one from MQTT. */
void col_http_heartbeat(const struct col_http_ctx *ctx, const struct col_http_request *req,
                        struct col_http_reply *reply)
{
    struct bp_msg m;
    struct bp_msg_error err = {0};
    if (bp_msg_decode(req->body ? req->body : "", req->body_len, &m, &err) < 0) {
        col_http_error(reply, 400, "invalid heartbeat: %s: %s", bp_msg_err_name(err.code),
                       err.detail);
        return;
    }
    if (m.hdr.type != BP_MSG_HEARTBEAT) { /* the type first: the most basic mistake */
        col_http_error(reply, 400, "invalid heartbeat: type is '%s', want 'heartbeat'",
                       bp_msg_type_name(m.hdr.type));
        return;
    }
    if (col_ingest_check_times(&m, bp_wall_ms(), &err) < 0) {
        col_http_error(reply, 400, "invalid heartbeat: %s: %s", bp_msg_err_name(err.code),
                       err.detail);
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
