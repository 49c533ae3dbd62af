/* SPDX-License-Identifier: MIT */
/* The bot page's chart data: range validation, two queries, JSON. */
#include "http_samples.h"

#include "clock.h"
#include "http_db.h"
#include "http_parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int ts_arg(const char *(*arg)(void *, const char *), void *cls, const char *name,
                  int64_t *out, char *err, size_t errlen)
{
    const char *v = arg(cls, name);
    if (!v)
        return 0;
    if (col_parse_int(v, 1, COL_HTTP_TS_MAX, out) < 0) {
        snprintf(err, errlen, "parameter '%s': want a Unix time in ms, 1..%lld", name,
                 (long long)COL_HTTP_TS_MAX);
        return -EINVAL;
    }
    return 0;
}

int col_samples_range_parse(const char *(*arg)(void *, const char *), void *cls, int64_t now_wall,
                            int64_t *from, int64_t *to, char *err, size_t errlen)
{
    *from = 0;
    *to = now_wall;
    if (ts_arg(arg, cls, "to", to, err, errlen) < 0 ||
        ts_arg(arg, cls, "from", from, err, errlen) < 0)
        return -EINVAL;
    if (*from == 0)
        *from = *to > COL_SAMPLES_DEFAULT_MS ? *to - COL_SAMPLES_DEFAULT_MS : 1;
    if (*from >= *to) {
        snprintf(err, errlen, "parameter 'from' must be before 'to'");
        return -EINVAL;
    }
    if (*to - *from > COL_SAMPLES_MAX_MS) {
        snprintf(err, errlen, "the range from 'from' to 'to' may span at most 7 days");
        return -EINVAL;
    }
    return 0;
}

void col_http_samples_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                             struct col_http_reply *reply)
{
    char err[300] = "";
    int64_t from, to;
    if (col_samples_range_parse(req->arg, req->arg_cls, bp_wall_ms(), &from, &to, err,
                                sizeof(err)) < 0) {
        col_http_error(reply, 400, "%s", err);
        return;
    }
    if (!ctx->db) {
        col_http_error(reply, 503, "no database configured");
        return;
    }
    cJSON *samples = NULL, *trades = NULL;
    int rc = col_http_db_samples(ctx->db, req->route->id, from, to, COL_SAMPLES_BUCKET_MS, &samples,
                                 &trades, err, sizeof(err));
    if (rc < 0) {
        cJSON_Delete(samples);
        cJSON_Delete(trades);
        if (rc == -ENOMEM)
            col_http_error(reply, 500, "out of memory");
        else
            col_http_error(reply, 503, "database: %s", err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "bot", req->route->id);
    cJSON_AddNumberToObject(o, "from", (double)from);
    cJSON_AddNumberToObject(o, "to", (double)to);
    cJSON_AddNumberToObject(o, "bucket_ms", (double)COL_SAMPLES_BUCKET_MS);
    cJSON_AddItemToObject(o, "samples", samples);
    cJSON_AddItemToObject(o, "trades", trades);
    col_http_reply_json(reply, 200, o);
}
