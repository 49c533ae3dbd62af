/* SPDX-License-Identifier: MIT */
/* HTTP restart, intended state and moving a bot to another agent: body validation, the
 * question to the rules thread, the answer or the 4xx. */
#include "http_commands.h"

#include "http_bots.h"
#include "http_parse.h"
#include "intent.h"
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int col_restart_from_json(const char *body, enum col_rec_action *action, char *err, size_t errlen)
{
    *action = COL_REC_RESTART;
    if (!body || !body[0])
        return 0;
    cJSON *o = cJSON_Parse(body);
    int rc = -EINVAL;
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "body must be a JSON object (or empty)");
        goto out;
    }
    for (const cJSON *c = o->child; c; c = c->next) {
        if (strcmp(c->string, "action") != 0) {
            snprintf(err, errlen, "unknown member '%.40s': want only 'action'", c->string);
            goto out;
        }
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "action");
    if (a && (!cJSON_IsString(a) || (strcmp(a->valuestring, "restart") != 0 &&
                                     strcmp(a->valuestring, "hard_restart") != 0))) {
        snprintf(err, errlen, "'action': want \"restart\" or \"hard_restart\"");
        goto out;
    }
    if (a)
        col_rec_action_parse(a->valuestring, action);
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

/* The 4xx/5xx for a refused restart. */
static void refuse(const struct col_query *qr, const char *bot, struct col_http_reply *reply)
{
    switch (qr->rc) {
    case -ENOTSUP:
        col_http_error(reply, 409,
                       "recovery is not configured: set [recovery] "
                       "signing_key_file to send signed commands");
        break;
    case -ENOENT:
        col_http_error(reply, 404, "no bot '%s'", bot);
        break;
    case -EHOSTDOWN:
        col_http_error(reply, 409, "bot '%s' has no agent online: nobody could run the command",
                       bot);
        break;
    case -EBUSY:
        reply->retry_after_s = (qr->restart.retry_ms + 999) / 1000;
        col_http_error(reply, 429,
                       "bot '%s' got an operator's command less than %d s ago; retry in %lld s",
                       bot, COL_MANUAL_INTERVAL_MS / 1000, (long long)reply->retry_after_s);
        break;
    case -EPERM:
        col_http_error(reply, 409,
                       "bot '%s' belongs to a shard this collector does not act for (another "
                       "collector owns it, or it is being taken over): ask its owner (GET "
                       "/bots/%s says which)",
                       bot, bot);
        break;
    case -EAGAIN:
    case -EIO:
        col_http_error(reply, 503, "the command could not be published: no broker connection");
        break;
    default:
        col_http_error(reply, 500, "cannot send the command: %s", strerror(-qr->rc));
        break;
    }
}

void col_http_restart_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                             struct col_http_reply *reply)
{
    enum col_rec_action action;
    char err[200];
    if (col_restart_from_json(req->body, &action, err, sizeof(err)) < 0) {
        col_http_error(reply, 400, "invalid restart: %s", err);
        return;
    }
    struct col_query *qr = col_query_new(COL_Q_RESTART);
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", req->route->id);
    qr->restart.action = action;
    if (col_http_ask(ctx, qr, reply)) {
        if (qr->rc < 0) {
            refuse(qr, req->route->id, reply);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "bot", req->route->id);
            cJSON_AddStringToObject(o, "agent", qr->restart.agent);
            cJSON_AddStringToObject(o, "action", col_rec_action_name(action));
            cJSON_AddStringToObject(o, "nonce", qr->restart.nonce);
            cJSON_AddStringToObject(o, "status", "sent");
            col_http_reply_json(reply, 202, o);
        }
    }
    col_query_release(qr);
}

void col_http_intended_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                              struct col_http_reply *reply)
{
    enum col_intent intent;
    char err[200];
    if (col_intent_from_json(req->body, &intent, err, sizeof(err)) < 0) {
        col_http_error(reply, 400, "invalid intended state: %s", err);
        return;
    }
    struct col_query *qr = col_query_new(COL_Q_INTEND);
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", req->route->id);
    qr->intent = (int)intent;
    if (col_http_ask(ctx, qr, reply)) {
        if (qr->rc == -ENOENT || (qr->rc == 0 && qr->nbots == 0))
            col_http_error(reply, 404, "no bot '%s'", req->route->id);
        else if (qr->rc < 0)
            col_http_error(reply, 500, "cannot set the intended state: %s", strerror(-qr->rc));
        else
            col_http_reply_json(reply, 200, col_bot_json(&qr->bots[0], qr->alerts));
    }
    col_query_release(qr);
}

int col_move_from_json(const char *body, char *agent, char *err, size_t errlen)
{
    cJSON *o = cJSON_Parse(body ? body : "");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "agent");
    int rc = -EINVAL;
    if (!cJSON_IsObject(o) || cJSON_GetArraySize(o) != 1 || !cJSON_IsString(a))
        snprintf(err, errlen, "want {\"agent\":\"<agent id>\"} and nothing else");
    else if (!bp_id_is_valid(a->valuestring))
        snprintf(err, errlen, "'agent': want 1..64 of [A-Za-z0-9_.-]");
    else
        rc = snprintf(agent, BP_ID_MAX + 1, "%s", a->valuestring) < 0 ? -EINVAL : 0;
    cJSON_Delete(o);
    return rc;
}

void col_http_move_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                          struct col_http_reply *reply)
{
    struct col_query *qr = col_query_new(COL_Q_MOVE);
    char err[200];
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    snprintf(qr->filter.bot, sizeof(qr->filter.bot), "%s", req->route->id);
    if (col_move_from_json(req->body, qr->agent, err, sizeof(err)) < 0)
        col_http_error(reply, 400, "invalid move: %s", err);
    else if (col_http_ask(ctx, qr, reply)) {
        if (qr->rc == -ENOENT)
            col_http_error(reply, 404, "no bot '%s'", req->route->id);
        else if (qr->rc == -EPERM)
            col_http_error(reply, 409,
                           "bot '%s' is pinned to another agent by its [bot] section's agent "
                           "key: change the collector's config instead",
                           req->route->id);
        else if (qr->rc < 0)
            col_http_error(reply, 500, "cannot move the bot: %s", strerror(-qr->rc));
        else
            col_http_reply_json(reply, 200, col_bot_json(&qr->bots[0], qr->alerts));
    }
    col_query_release(qr);
}
