/* SPDX-License-Identifier: MIT */
/* History pages (a bot's transitions, every alert event) from PostgreSQL, and the open alerts
 * from the rules thread (with [cluster], those of other collectors' shards from PostgreSQL). */
#include "http_history.h"

#include "http_bots.h"
#include "http_db.h"
#include "http_parse.h"
#include "owners.h"
#include "shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads from/to/limit/before into p. */
static int page_args(const struct col_http_request *req, struct col_history_page *p, char *err,
                     size_t errlen)
{
    p->limit = COL_HTTP_LIST_LIMIT_DEFAULT;
    if (col_http_arg_int(req->arg, req->arg_cls, "from", 0, COL_HTTP_TS_MAX, &p->from, err,
                         errlen) < 0 ||
        col_http_arg_int(req->arg, req->arg_cls, "to", 1, COL_HTTP_TS_MAX, &p->to, err, errlen) <
            0 ||
        col_http_arg_int(req->arg, req->arg_cls, "limit", 1, COL_HTTP_LIST_LIMIT_MAX, &p->limit,
                         err, errlen) < 0 ||
        col_http_arg_int(req->arg, req->arg_cls, "before", 1, COL_HTTP_TS_MAX, &p->before, err,
                         errlen) < 0)
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

void col_http_bot_history(const struct col_http_ctx *ctx, const struct col_http_request *req,
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

/* Whether this collector holds bot v's shard and has adopted it: then its alerts in memory
 * are the announced ones; else they are this collector's unsaid verdicts. */
static bool is_mine(const struct col_http_ctx *ctx, const struct col_bot_view *v)
{
    int shards = col_owners_shards(ctx->owners);
    return col_owners_is_mine(ctx->owners, v->shard >= 0 ? v->shard : col_shard_of("", shards));
}

/* {"alerts": [...]} by bot, each bot's oldest first: from memory for the bots whose mine[i] is
 * true (every bot when mine is NULL), else from db (the owners' word, sorted by bot). */
static cJSON *alerts_json(const struct col_query *qr, const bool *mine,
                          const struct col_alert_view *db, size_t ndb)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "alerts");
    size_t k = 0;
    for (size_t i = 0; i < qr->nbots; i++) {
        const struct col_bot_view *v = &qr->bots[i];
        if (!mine || mine[i]) {
            for (size_t j = 0; j < v->nalerts; j++)
                cJSON_AddItemToArray(arr, col_alert_json(&qr->alerts[v->alerts_first + j], v));
            continue;
        }
        while (k < ndb && strcmp(db[k].bot, v->snap.id) < 0)
            k++;
        for (; k < ndb && strcmp(db[k].bot, v->snap.id) == 0; k++)
            cJSON_AddItemToArray(arr, col_alert_json(&db[k], v));
    }
    return res;
}

/* /alerts with [cluster]: this collector's shards from memory, the others' from PostgreSQL
 * (their ids are the ones their owners announced). */
static void cluster_alerts(const struct col_http_ctx *ctx, const struct col_query *qr,
                           struct col_http_reply *reply)
{
    bool *mine = calloc(qr->nbots + 1, sizeof(*mine));
    const char **others = calloc(qr->nbots + 1, sizeof(*others));
    struct col_alert_view *db = NULL;
    size_t nothers = 0, ndb = 0;
    char why[300] = "no database configured";
    int rc = mine && others ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < qr->nbots; i++)
        if (!(mine[i] = is_mine(ctx, &qr->bots[i])))
            others[nothers++] = qr->bots[i].snap.id;
    if (rc == 0 && nothers > 0)
        rc = ctx->db
                 ? col_http_db_open_alerts(ctx->db, others, nothers, &db, &ndb, why, sizeof(why))
                 : -EIO;
    if (rc == -ENOMEM)
        col_http_error(reply, 500, "out of memory");
    else if (rc < 0)
        col_http_error(reply, 503, "other collectors' alerts: database unavailable: %s", why);
    else
        col_http_reply_json(reply, 200, alerts_json(qr, mine, db, ndb));
    free(db);
    free(others);
    free(mine);
}

void col_http_alerts(const struct col_http_ctx *ctx, const struct col_http_request *req,
                     struct col_http_reply *reply)
{
    char err[200] = "";
    char bot[BP_ID_MAX + 1];
    const char *state = req->arg(req->arg_cls, "state");
    if (state && strcmp(state, "open") != 0 && strcmp(state, "all") != 0) {
        col_http_error(reply, 400, "parameter 'state': want open or all");
        return;
    }
    if (col_http_arg_label(req->arg, req->arg_cls, "bot", true, bot, sizeof(bot), err,
                           sizeof(err)) < 0) {
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
    bool clustered = ctx->cluster && ctx->owners;
    qr->filter.alert_open = !clustered; /* others' bots may have open alerts only in PostgreSQL */
    snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", bot);
    if (col_http_ask(ctx, qr, reply)) {
        struct col_list_opts o = {.sort = COL_SORT_ID};
        col_bots_sort(qr->bots, qr->nbots, &o);
        if (clustered)
            cluster_alerts(ctx, qr, reply);
        else
            col_http_reply_json(reply, 200, alerts_json(qr, NULL, NULL, 0));
    }
    col_query_release(qr);
}
