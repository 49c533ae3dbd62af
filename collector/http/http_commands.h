/* SPDX-License-Identifier: MIT */
/* HTTP routes that act on a bot through the rules thread: POST /bots/{id}/restart (an
 * operator's signed restart, manual.h), POST /bots/{id}/intended (its intended state,
 * intent.h) and POST /bots/{id}/agent (the agent that speaks for it, owners.h). Bodies are
 * validated strictly here. */
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

/* Parses POST /bots/{id}/agent's body {"agent":"<agent id>"} into agent (BP_ID_MAX + 1 bytes).
 * 0, or -EINVAL with the reason for a 400 in err. */
int col_move_from_json(const char *body, char *agent, char *err, size_t errlen);

/* POST /bots/{id}/agent: 200 with the bot now spoken for by that agent, or 400/404/409/503. */
void col_http_move_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                          struct col_http_reply *reply);

#endif
