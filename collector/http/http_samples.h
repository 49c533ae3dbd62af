/* SPDX-License-Identifier: MIT */
/* GET /bots/{id}/samples: a bot's stats (bot_samples) and its trade rate (trades per 10 min)
 * over a time range, for the dashboard's charts. Read-only SQL on the HTTP side's connection. */
#ifndef COL_HTTP_SAMPLES_H
#define COL_HTTP_SAMPLES_H

#include "http_reply.h"

#define COL_SAMPLES_DEFAULT_MS (6 * 3600 * 1000LL)  /* without from: the last 6 h */
#define COL_SAMPLES_MAX_MS (7 * 24 * 3600 * 1000LL) /* the widest range asked at once */
#define COL_SAMPLES_BUCKET_MS (10 * 60 * 1000LL)    /* trades are counted per 10 min */

/* Reads from/to (Unix ms) through arg: to defaults to now_wall, from to 6 h before to; from
 * must be before to and the range at most 7 days. 0, or -EINVAL with the reason in err. */
int col_samples_range_parse(const char *(*arg)(void *, const char *), void *cls, int64_t now_wall,
                            int64_t *from, int64_t *to, char *err, size_t errlen);

/* The route: 200 {bot, from, to, bucket_ms, samples: [...], trades: [{ts, count}]}, 400, 503. */
void col_http_samples_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                             struct col_http_reply *reply);

#endif
