/* SPDX-License-Identifier: MIT */
/* History pages (a bot's transitions, every alert event) from PostgreSQL, and the open alerts
 * from the rules thread. */
#include "http_history.h"

#include "http_bots.h"
#include "http_db.h"
#include "http_parse.h"

#include <errno.h>
#include <stdio.h>
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
