/* SPDX-License-Identifier: MIT */
/* The collector about itself: GET /health (broker, database and rules thread, each with a
 * message; 503 when one is unhealthy), GET /health/{component}, and GET /metrics (the fleet and
 * the collector in Prometheus text, metrics.h). */
#ifndef COL_HTTP_HEALTH_H
#define COL_HTTP_HEALTH_H

#include "http_reply.h"

void col_http_health(const struct col_http_ctx *ctx, const struct col_http_request *req,
                     struct col_http_reply *reply);
void col_http_health_component(const struct col_http_ctx *ctx, const struct col_http_request *req,
                               struct col_http_reply *reply);
void col_http_metrics(const struct col_http_ctx *ctx, const struct col_http_request *req,
                      struct col_http_reply *reply);

#endif
