/* SPDX-License-Identifier: MIT */
/* The HTTP API's silences: GET /silences, POST /silences (a strict JSON body), DELETE
 * /silences/{id}. The rules thread keeps the silences; these handlers ask it (query.h). */
#ifndef COL_HTTP_SILENCES_H
#define COL_HTTP_SILENCES_H

#include "http_reply.h"
#include "silences.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define COL_SILENCE_MAX_MS (366LL * 24 * 3600 * 1000) /* a silence lasts at most a year */

/* GET /silences: 200 {silences: [...]}, oldest first. */
void col_http_silences_list(const struct col_http_ctx *ctx, const struct col_http_request *req,
                            struct col_http_reply *reply);
/* POST /silences: 201 with the silence made, or 400. */
void col_http_silence_add(const struct col_http_ctx *ctx, const struct col_http_request *req,
                          struct col_http_reply *reply);
/* DELETE /silences/{silence}: 200 {removed: {...}}, or 404. */
void col_http_silence_remove(const struct col_http_ctx *ctx, const struct col_http_request *req,
                             struct col_http_reply *reply);

/* Parses a duration: a positive integer and one unit (s, m, h, d), e.g. "30m". 0 or -EINVAL. */
int col_parse_duration(const char *text, int64_t *ms);

/* Reads a POST /silences body {bot?, account?, host?, check?, until? | duration?, reason, by?}
 * at now_wall (Unix ms) into sl (id and ends_mono left empty). 0, or -EINVAL with the reason
 * for a 400 in err. */
int col_silence_from_json(const char *body, int64_t now_wall, struct col_silence *sl, char *err,
                          size_t errlen);

/* One silence as JSON (items of GET /silences). */
cJSON *col_silence_json(const struct col_silence *sl);

#endif
