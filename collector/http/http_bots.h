/* SPDX-License-Identifier: MIT */
/* The fleet's routes, asked of the rules thread (query.h): GET /fleet/summary and
 * /bots/health/summary (seed 000's shape), GET /bots (filters, sort, paging), GET
 * /bots/{bot}[/health], POST /bots/{bot}/health/check (judged now), POST /bots/heartbeat (a v1
 * heartbeat, handed to ingest). With the bot and alert JSON the other routes reuse. */
#ifndef COL_HTTP_BOTS_H
#define COL_HTTP_BOTS_H

#include "http_reply.h"
#include "query.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void col_http_fleet_summary(const struct col_http_ctx *ctx, const struct col_http_request *req,
                            struct col_http_reply *reply);
void col_http_bots_summary(const struct col_http_ctx *ctx, const struct col_http_request *req,
                           struct col_http_reply *reply);
void col_http_bots_list(const struct col_http_ctx *ctx, const struct col_http_request *req,
                        struct col_http_reply *reply);
void col_http_bot_get(const struct col_http_ctx *ctx, const struct col_http_request *req,
                      struct col_http_reply *reply);
void col_http_bot_check(const struct col_http_ctx *ctx, const struct col_http_request *req,
                        struct col_http_reply *reply);
/* 202 {accepted, bot, agent}; 400 for what the codec refuses; 503 when the queue is full. */
void col_http_heartbeat(const struct col_http_ctx *ctx, const struct col_http_request *req,
                        struct col_http_reply *reply);

/* ---- pure helpers, exposed for the unit tests ----------------------------------------- */

enum col_sort { COL_SORT_ID, COL_SORT_STATUS, COL_SORT_SINCE, COL_SORT_LAST_HEARTBEAT };

struct col_list_opts {
    struct col_query_filter filter;
    enum col_sort sort;
    bool desc;
    int64_t limit, offset;
};

/* Reads /bots' parameters through arg. 0, or -EINVAL with the message for a 400 in err. */
int col_list_opts_parse(const char *(*arg)(void *, const char *), void *cls,
                        struct col_list_opts *o, char *err, size_t errlen);
/* Sorts views in place by o->sort and o->order (ties by id, ascending). */
void col_bots_sort(struct col_bot_view *views, size_t n, const struct col_list_opts *o);
/* One bot as JSON (the /bots/{id} body, and the items of /bots): "alert" is the one that
 * speaks for it (or null), "alerts" all its open ones, from alerts (the query's; NULL: none);
 * with [cluster], its "shard" and the collector holding it ("owner"). */
cJSON *col_bot_json(const struct col_bot_view *v, const struct col_alert_view *alerts);
/* With [cluster]: fills the n views' owner from the cluster's view (no-op without). */
void col_http_bots_owners(const struct col_http_ctx *ctx, struct col_bot_view *bots, size_t n);
/* One open alert of the bot v. */
cJSON *col_alert_json(const struct col_alert_view *a, const struct col_bot_view *v);
/* The summary body of a COL_Q_COUNTS answer: total and by_status; by_account/by_host unless
 * flat; flat (seed 000 shape) adds each status count at the top level. */
cJSON *col_summary_json(const struct col_query *qr, bool flat);

#endif
