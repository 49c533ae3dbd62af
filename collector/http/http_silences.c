/* SPDX-License-Identifier: MIT */
/* HTTP silences: strict body validation, questions to the rules thread, JSON. */
#include "http_silences.h"

#include "clock.h"
#include "http_parse.h"
#include "query.h"
#include "rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int col_parse_duration(const char *text, int64_t *ms)
{
    const char *p = text;
    int64_t n = 0;
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        if (n > 1000000000)
            return -EINVAL;
        n = n * 10 + (*p - '0');
    }
    int64_t unit = *p == 's'   ? 1000
                   : *p == 'm' ? 60000
                   : *p == 'h' ? 3600000
                   : *p == 'd' ? 86400000
                               : 0;
    if (unit == 0 || p[1] != '\0' || n == 0)
        return -EINVAL;
    *ms = n * unit;
    return 0;
}

/* Copies an optional string member; absent leaves buf empty. Text (host, check, reason) is what
 * the wire allows (bp_text_is_valid): it goes back out as JSON, and to PostgreSQL. */
static int str_member(const cJSON *o, const char *name, bool is_id, char *buf, size_t size,
                      char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    buf[0] = '\0';
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= size ||
        (is_id ? !bp_id_is_valid(v->valuestring) : !bp_text_is_valid(v->valuestring))) {
        snprintf(err, errlen, "'%s': want %s", name,
                 is_id ? "a string of 1..64 of [A-Za-z0-9_.-]"
                       : "a non-empty string of UTF-8 text without control characters, at most "
                         "128 bytes");
        return -EINVAL;
    }
    snprintf(buf, size, "%s", v->valuestring);
    return 0;
}

/* Every member is one we know: a typo must not widen a silence silently. */
static int known_members(const cJSON *o, char *err, size_t errlen)
{
    static const char *const names[] = {"bot",   "account",  "host",   "check",
                                        "until", "duration", "reason", "by"};
    for (const cJSON *c = o->child; c; c = c->next) {
        size_t i = 0;
        while (i < sizeof(names) / sizeof(names[0]) && strcmp(c->string, names[i]) != 0)
            i++;
        if (i == sizeof(names) / sizeof(names[0])) {
            snprintf(err, errlen,
                     "unknown member '%.40s': want bot, account, host, check, "
                     "until or duration, reason, by",
                     c->string);
            return -EINVAL;
        }
    }
    return 0;
}

/* until (Unix ms) or duration ("30m") into sl->ends_at. */
static int end_member(const cJSON *o, int64_t now_wall, struct col_silence *sl, char *err,
                      size_t errlen)
{
    const cJSON *until = cJSON_GetObjectItemCaseSensitive(o, "until");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(o, "duration");
    int64_t ms = 0;
    if (!until == !dur) {
        snprintf(err, errlen,
                 "give exactly one of 'until' (Unix ms) and 'duration' (e.g. \"30m\")");
        return -EINVAL;
    }
    if (dur) {
        if (!cJSON_IsString(dur) || col_parse_duration(dur->valuestring, &ms) < 0 ||
            ms > COL_SILENCE_MAX_MS) {
            snprintf(err, errlen,
                     "'duration': want a number and a unit s, m, h or d (e.g. "
                     "\"30m\"), at most 366d");
            return -EINVAL;
        }
        sl->ends_at = now_wall + ms;
        return 0;
    }
    double d = cJSON_IsNumber(until) ? until->valuedouble : -1;
    /* range first: casting an out-of-range double to an integer is undefined */
    if (d <= (double)now_wall || d > (double)COL_HTTP_TS_MAX || d != (double)(int64_t)d ||
        (int64_t)d - now_wall > COL_SILENCE_MAX_MS) {
        snprintf(err, errlen,
                 "'until': want an integer Unix time in ms, in the future, at most "
                 "366 days ahead");
        return -EINVAL;
    }
    sl->ends_at = (int64_t)d;
    return 0;
}

int col_silence_from_json(const char *body, int64_t now_wall, struct col_silence *sl, char *err,
                          size_t errlen)
{
    memset(sl, 0, sizeof(*sl));
    cJSON *o = cJSON_Parse(body ? body : "");
    int rc = -EINVAL;
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "body must be a JSON object");
        goto out;
    }
    if (known_members(o, err, errlen) < 0 ||
        str_member(o, "bot", true, sl->bot, sizeof(sl->bot), err, errlen) < 0 ||
        str_member(o, "account", true, sl->account, sizeof(sl->account), err, errlen) < 0 ||
        str_member(o, "host", false, sl->host, sizeof(sl->host), err, errlen) < 0 ||
        str_member(o, "check", false, sl->check, sizeof(sl->check), err, errlen) < 0 ||
        str_member(o, "reason", false, sl->reason, sizeof(sl->reason), err, errlen) < 0 ||
        str_member(o, "by", true, sl->created_by, sizeof(sl->created_by), err, errlen) < 0 ||
        end_member(o, now_wall, sl, err, errlen) < 0)
        goto out;
    if (sl->check[0] && !col_check_is_valid(sl->check)) {
        snprintf(err, errlen, "'check': '%s' is not a check name", sl->check);
        goto out;
    }
    if (!sl->bot[0] && !sl->account[0] && !sl->host[0] && !sl->check[0]) {
        snprintf(err, errlen, "a silence needs at least one of bot, account, host, check");
        goto out;
    }
    if (!sl->reason[0]) {
        snprintf(err, errlen, "'reason' is required");
        goto out;
    }
    if (!sl->created_by[0])
        snprintf(sl->created_by, sizeof(sl->created_by), "api");
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

cJSON *col_silence_json(const struct col_silence *sl)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", sl->id);
    cJSON_AddStringToObject(o, "bot", sl->bot);
    cJSON_AddStringToObject(o, "account", sl->account);
    cJSON_AddStringToObject(o, "host", sl->host);
    cJSON_AddStringToObject(o, "check", sl->check);
    cJSON_AddStringToObject(o, "reason", sl->reason);
    cJSON_AddStringToObject(o, "by", sl->created_by);
    cJSON_AddNumberToObject(o, "created_at", (double)sl->created_at);
    cJSON_AddNumberToObject(o, "until", (double)sl->ends_at);
    return o;
}

static int cmp_silence(const void *pa, const void *pb)
{
    const struct col_silence *a = pa, *b = pb;
    if (a->ends_at != b->ends_at)
        return a->ends_at < b->ends_at ? -1 : 1;
    return strcmp(a->id, b->id);
}

static void list(const struct col_http_ctx *ctx, const struct col_http_request *req,
                 struct col_query *qr, struct col_http_reply *reply)
{
    if (!col_http_ask(ctx, qr, reply))
        return;
    if (qr->nsilences > 1)
        qsort(qr->silences, qr->nsilences, sizeof(*qr->silences), cmp_silence);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "silences");
    for (size_t i = 0; i < qr->nsilences; i++)
        cJSON_AddItemToArray(arr, col_silence_json(&qr->silences[i]));
    col_http_reply_json(reply, 200, o);
}

static void add(const struct col_http_ctx *ctx, const struct col_http_request *req,
                struct col_query *qr, struct col_http_reply *reply)
{
    char err[200];
    if (col_silence_from_json(req->body, bp_wall_ms(), &qr->silence, err, sizeof(err)) < 0) {
        col_http_error(reply, 400, "invalid silence: %s", err);
        return;
    }
    if (!col_http_ask(ctx, qr, reply))
        return;
    if (qr->rc == -EINVAL)
        col_http_error(reply, 400, "invalid silence: it ends in the past");
    else if (qr->rc < 0)
        col_http_error(reply, 500, "cannot add the silence: %s", strerror(-qr->rc));
    else
        col_http_reply_json(reply, 201, col_silence_json(&qr->silence));
}

static void remove_one(const struct col_http_ctx *ctx, const struct col_http_request *req,
                       struct col_query *qr, struct col_http_reply *reply)
{
    size_t n = strlen(req->route->id);
    if (n > COL_SILENCE_ID_MAX) {
        col_http_error(reply, 404, "no silence '%s'", req->route->id);
        return;
    }
    memcpy(qr->silence.id, req->route->id, n + 1);
    if (!col_http_ask(ctx, qr, reply))
        return;
    if (qr->rc == -ENOENT) {
        col_http_error(reply, 404, "no silence '%s'", req->route->id);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "removed", col_silence_json(&qr->silence));
    col_http_reply_json(reply, 200, o);
}

/* Asks a new query of kind through fn, then lets it go. */
static void with_query(enum col_query_kind kind,
                       void (*fn)(const struct col_http_ctx *, const struct col_http_request *,
                                  struct col_query *, struct col_http_reply *),
                       const struct col_http_ctx *ctx, const struct col_http_request *req,
                       struct col_http_reply *reply)
{
    struct col_query *qr = col_query_new(kind);
    if (!qr) {
        col_http_error(reply, 500, "out of memory");
        return;
    }
    fn(ctx, req, qr, reply);
    col_query_release(qr);
}

void col_http_silences_list(const struct col_http_ctx *ctx, const struct col_http_request *req,
                            struct col_http_reply *reply)
{
    with_query(COL_Q_SILENCES, list, ctx, req, reply);
}

void col_http_silence_add(const struct col_http_ctx *ctx, const struct col_http_request *req,
                          struct col_http_reply *reply)
{
    with_query(COL_Q_SILENCE_ADD, add, ctx, req, reply);
}

void col_http_silence_remove(const struct col_http_ctx *ctx, const struct col_http_request *req,
                             struct col_http_reply *reply)
{
    with_query(COL_Q_SILENCE_REMOVE, remove_one, ctx, req, reply);
}
