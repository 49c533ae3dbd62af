/* SPDX-License-Identifier: MIT */
/* What happened, page by page, newest first: GET /bots/{bot}/history (the status transitions,
 * from PostgreSQL on the HTTP side's own connection, http_db.h) and GET /alerts (the open alerts
 * from the rules thread, or with state=all every alert event from PostgreSQL). */
#ifndef COL_HTTP_HISTORY_H
#define COL_HTTP_HISTORY_H

#include "http_reply.h"

/* 200 {bot, transitions: [...], next_before}, 400, 503. */
void col_http_bot_history(const struct col_http_ctx *ctx, const struct col_http_request *req,
                          struct col_http_reply *reply);
/* 200 {alerts: [...]} (open) or {events: [...], next_before} (state=all), 400, 503. */
void col_http_alerts(const struct col_http_ctx *ctx, const struct col_http_request *req,
                     struct col_http_reply *reply);

#endif
