/* SPDX-License-Identifier: MIT */
/* The handlers' answers: JSON bodies, JSON errors, and questions to the rules thread. */
#include "http_reply.h"

#include "http_parse.h"
#include "msg.h"
#include "query.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    col_http_reply_json(reply, status, o);
}

void col_http_reply_json(struct col_http_reply *reply, int status, cJSON *o)
{
    reply->status = status;
    reply->content_type = "application/json";
    reply->body = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
}

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

int col_http_arg_label(const char *(*arg)(void *, const char *), void *cls, const char *name,
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

int col_http_arg_int(const char *(*arg)(void *, const char *), void *cls, const char *name,
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
