/* SPDX-License-Identifier: MIT */
/* GET /report?from=&to=&bot=: the audit report (report.h) over a range, read from PostgreSQL on
 * the HTTP side's own connection (http_db.h). Read-only; never asks the rules thread. */
#ifndef COL_HTTP_REPORT_H
#define COL_HTTP_REPORT_H

#include "http_reply.h"

#define COL_REPORT_RANGE_MAX (366LL * 24 * 3600 * 1000)
#define COL_REPORT_RANGE_DEFAULT (24LL * 3600 * 1000)

void col_http_report_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                            struct col_http_reply *reply);

#endif
