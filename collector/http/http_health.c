/* SPDX-License-Identifier: MIT */
/* The collector's own health (broker, database, rules thread, the cluster) and its /metrics. */
#include "http_health.h"

#include "clock.h"
#include "cluster.h"
#include "echo.h"
#include "http_bots.h"
#include "http_db.h"
#include "http_parse.h"
#include "ingest.h"
#include "metrics.h"
#include "mqtt.h"
#include "queue.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct component {
    const char *name;
    bool healthy;
    char message[300];
    cJSON *detail; /* more fields of the component, or NULL */
};

static void check_broker(const struct col_http_ctx *ctx, struct component *c)
{
    c->healthy = ctx->mqtt && bp_mqtt_is_connected(ctx->mqtt);
    int64_t silent_ms;
    if (c->healthy && col_echo_lost(ctx->echo, &silent_ms)) {
        c->healthy = false; /* a silent cut: the connection looks up, nothing comes through */
        snprintf(c->message, sizeof(c->message),
                 "connected, but nothing came back through the broker for %lld ms: blind",
                 (long long)silent_ms);
        return;
    }
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
    c->healthy = rc == 0 && !qr->behind;
    if (rc == 0 && !c->healthy)
        snprintf(c->message, sizeof(c->message),
                 "rules thread is behind: messages wait %lld ms before they are applied (%zu "
                 "queued; deadlines are judged at their receive times, so no false alarm)",
                 (long long)qr->lag_ms, depth);
    else if (rc == 0)
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

static cJSON *member_json(const struct col_cluster_member *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", m->id);
    cJSON_AddStringToObject(o, "host", m->host);
    cJSON_AddNumberToObject(o, "started", (double)m->started);
    cJSON_AddNumberToObject(o, "last_seen", (double)m->last_seen);
    cJSON_AddNumberToObject(o, "shards", m->nshards);
    cJSON_AddBoolToObject(o, "leader", m->leader);
    cJSON_AddBoolToObject(o, "live", m->live);
    return o;
}

/* Healthy while this collector may act for what it holds: its lock session confirmed within
 * the lease. The detail lists the collectors as the table shows them. */
static void check_cluster(const struct col_http_ctx *ctx, struct component *c)
{
    struct col_cluster_view *v = malloc(sizeof(*v));
    if (!v) {
        snprintf(c->message, sizeof(c->message), "out of memory");
        return;
    }
    col_cluster_view_get(ctx->cluster, v);
    c->healthy = v->connected && v->lease_ok;
    if (c->healthy)
        snprintf(c->message, sizeof(c->message),
                 "lease held (confirmed %lld ms ago); %d of %d shards held%s; %d collectors",
                 (long long)v->confirmed_ago, v->held, v->shards, v->leader ? ", leading" : "",
                 v->nmembers);
    else
        snprintf(c->message, sizeof(c->message),
                 "no lease (%s, last confirmed %lld ms ago): saying nothing for any shard",
                 v->connected ? "lock session slow" : "no lock session",
                 (long long)v->confirmed_ago);
    cJSON *d = c->detail = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "self", v->self);
    cJSON_AddBoolToObject(d, "lease_ok", v->lease_ok);
    cJSON_AddNumberToObject(d, "confirmed_ago_ms", (double)v->confirmed_ago);
    cJSON_AddNumberToObject(d, "shards", v->shards);
    cJSON_AddNumberToObject(d, "held", v->held);
    cJSON_AddBoolToObject(d, "leader", v->leader);
    cJSON_AddNumberToObject(d, "last_rebalance", (double)v->last_rebalance);
    cJSON_AddNumberToObject(d, "fenced", (double)v->fenced);
    cJSON_AddNumberToObject(d, "takeovers", (double)v->takeovers);
    cJSON *arr = cJSON_AddArrayToObject(d, "collectors");
    for (int i = 0; i < v->nmembers; i++)
        cJSON_AddItemToArray(arr, member_json(&v->members[i]));
    free(v);
}

static cJSON *component_json(struct component *c, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "status", c->healthy ? "healthy" : "unhealthy");
    cJSON_AddStringToObject(o, "message", c->message);
    cJSON_AddNumberToObject(o, "last_check", (double)now);
    if (c->detail)
        cJSON_AddItemToObject(o, "cluster", c->detail);
    c->detail = NULL;
    return o;
}

/* Every component (only NULL), or the one named only. The cluster is one when [cluster] is on. */
static void health(const struct col_http_ctx *ctx, const char *only, struct col_http_reply *reply)
{
    static void (*const checks[])(const struct col_http_ctx *, struct component *) = {
        check_broker, check_database, check_rules, check_cluster};
    static const char *const names[] = {"broker", "database", "rules", "cluster"};
    struct component comps[4] = {{0}};
    int n = ctx->cluster ? 4 : 3;
    bool all = true;
    int64_t now = bp_wall_ms();
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
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
    if (only) { /* the cluster, without [cluster] */
        cJSON_Delete(arr);
        col_http_error(reply, 404, "no cluster: this collector owns every shard");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", all ? "healthy" : "unhealthy");
    cJSON_AddNumberToObject(o, "timestamp", (double)now);
    cJSON_AddItemToObject(o, "components", arr);
    col_http_reply_json(reply, all ? 200 : 503, o);
}

void col_http_health(const struct col_http_ctx *ctx, const struct col_http_request *req,
                     struct col_http_reply *reply)
{
    health(ctx, NULL, reply);
}

void col_http_health_component(const struct col_http_ctx *ctx, const struct col_http_request *req,
                               struct col_http_reply *reply)
{
    health(ctx, req->route->id, reply);
}

/* ms since our echo last came back, or -1 (no echo configured, none back yet). */
static int64_t echo_silent_ms(const struct col_http_ctx *ctx)
{
    int64_t silent;
    col_echo_lost(ctx->echo, &silent);
    return silent;
}

void col_http_metrics(const struct col_http_ctx *ctx, const struct col_http_request *req,
                      struct col_http_reply *reply)
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
            .blind = qr->blind,
            .echo_silent_ms = echo_silent_ms(ctx),
            .uptime_s = (bp_mono_ms() - ctx->started_mono) / 1000,
            .have_store = ctx->store != NULL,
            .have_commands = qr->have_commands,
            .commands = qr->commands,
            .version = BP_VERSION,
            .restarts_seen = qr->restarts_seen,
            .last_stats_wall = qr->last_stats_wall,
        };
        struct col_sink_stats sinks[COL_SINKS_MAX];
        if (ctx->sinks) {
            in.nsinks = col_sinks_get_stats(ctx->sinks, sinks, COL_SINKS_MAX);
            in.sinks = sinks;
        }
        in.have_process = col_process_stats_read(&in.process) == 0;
        memcpy(in.claims_refused, qr->claims_refused, sizeof(in.claims_refused));
        if (ctx->ingest)
            col_ingest_get_stats(ctx->ingest, &in.ingest);
        if (ctx->store)
            col_store_get_stats(ctx->store, &in.store);
        struct col_cluster_view *v = ctx->cluster ? malloc(sizeof(*v)) : NULL;
        if (v)
            col_cluster_view_get(ctx->cluster, v);
        in.cluster = v;
        reply->status = 200;
        reply->content_type = COL_METRICS_CONTENT_TYPE;
        reply->body = col_metrics_render(&in);
        free(v);
    }
    col_query_release(qr);
}
