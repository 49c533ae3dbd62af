/* SPDX-License-Identifier: MIT */
/* GET /report: its parameters checked, the report read and rendered. */
#include "http_report.h"

#include "clock.h"
#include "http_db.h"
#include "http_parse.h"
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Reads an optional Unix ms parameter. */
static int ms_arg(const struct col_http_request *req, const char *name, int64_t *out,
                  struct col_http_reply *reply)
{
    const char *v = req->arg(req->arg_cls, name);
    if (!v)
        return 0;
    if (col_parse_int(v, 0, COL_HTTP_TS_MAX, out) < 0) {
        col_http_error(reply, 400, "parameter '%s': want a Unix time in ms (0..2^53-1)", name);
        return -EINVAL;
    }
    return 0;
}

void col_http_report_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                            struct col_http_reply *reply)
{
    int64_t now = bp_wall_ms(), to = now, from = -1;
    const char *bot = req->arg(req->arg_cls, "bot");
    if (ms_arg(req, "from", &from, reply) < 0 || ms_arg(req, "to", &to, reply) < 0)
        return;
    if (bot && !bp_id_is_valid(bot)) {
        col_http_error(reply, 400, "parameter 'bot': not 1..64 of [A-Za-z0-9_.-]");
        return;
    }
    if (to > now)
        to = now; /* the future has no statuses yet */
    if (from < 0)
        from = to - COL_REPORT_RANGE_DEFAULT;
    if (from >= to) {
        col_http_error(reply, 400, "parameter 'from' must be before 'to' (and before now)");
        return;
    }
    if (to - from > COL_REPORT_RANGE_MAX) {
        col_http_error(reply, 400, "the range is longer than 366 days");
        return;
    }
    if (!ctx->db) {
        col_http_error(reply, 503, "no database configured");
        return;
    }
    struct col_report r;
    char why[300] = "";
    col_report_init(&r, from, to);
    int rc = col_http_db_report(ctx->db, bot, &r, why, sizeof(why));
    if (rc == -ENOMEM)
        col_http_error(reply, 500, "out of memory");
    else if (rc < 0)
        col_http_error(reply, 503, "database unavailable: %s", why);
    else
        col_http_reply_json(reply, 200, col_report_json(&r));
    col_report_cleanup(&r);
}
