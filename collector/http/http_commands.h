/* SPDX-License-Identifier: MIT */
/* HTTP routes that act on a bot through the rules thread: POST /bots/{id}/restart (an
 * operator's signed restart, manual.h) and POST /bots/{id}/intended (its intended state,
 * intent.h). Bodies are validated strictly here. */
#ifndef COL_HTTP_COMMANDS_H
#define COL_HTTP_COMMANDS_H

#include "http_reply.h"
#include "manual.h"
#include "recovery.h"

/* Parses the optional restart body ({"action":"restart"|"hard_restart"}; NULL or "" means
 * restart). 0, or -EINVAL with the reason for a 400 in err. */
int col_restart_from_json(const char *body, enum col_rec_action *action, char *err, size_t errlen);

/* POST /bots/{id}/restart: 202 {bot, agent, action, nonce}, or 400/404/409/429/503. */
void col_http_restart_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                             struct col_http_reply *reply);

/* POST /bots/{id}/intended: 200 with the bot judged under its new intent, or 400/404/503. */
void col_http_intended_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                              struct col_http_reply *reply);

#endif
