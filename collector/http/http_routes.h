/* SPDX-License-Identifier: MIT */
/* The HTTP API's handlers: each route's parameters validated, its question put to the rules
 * thread (query.h) or to the database (http_db.h), and its JSON (or /metrics text) rendered.
 * The server (http_server.c) has already matched the route, checked the method, the query
 * parameter names, the token, the content type and the body size. */
#ifndef COL_HTTP_ROUTES_H
#define COL_HTTP_ROUTES_H

#include "http_db.h"
#include "http_parse.h"
#include "ingest.h"
#include "mqtt.h"
#include "query.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* What the handlers may use; every pointer but queue and ingest may be NULL. Borrowed. */
struct col_http_ctx {
    struct bp_queue *queue; /* the rules thread's input */
    struct col_ingest *ingest;
    struct col_store *store;
    struct bp_mqtt *mqtt;
    struct col_http_db *db;
    int64_t timeout_ms; /* per question to the rules thread */
    int64_t started_mono;
};

struct col_http_request {
    const char *method;
    const struct col_route_match *route;
    /* the value of a query parameter, or NULL */
    const char *(*arg)(void *cls, const char *name);
    void *arg_cls;
    const char *body; /* POST body (NUL-terminated), may be NULL */
    size_t body_len;
};

struct col_http_reply {
    int status;
    char *body;      /* malloc'd */
    size_t body_len; /* 0: strlen(body) */
    const char *content_type;
    int64_t retry_after_s; /* > 0: a Retry-After header (429) */
};

/* Runs the route; always fills reply (body NULL only on ENOMEM: the server answers 500). */
void col_http_handle(const struct col_http_ctx *ctx, const struct col_http_request *req,
                     struct col_http_reply *reply);

/* Fills reply with {"error": msg} and status. */
void col_http_error(struct col_http_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends o (deleted here) as the JSON body with status. */
void col_http_reply_json(struct col_http_reply *reply, int status, cJSON *o);
/* Asks the rules thread qr; on failure fills reply (503, 500) and returns false. */
bool col_http_ask(const struct col_http_ctx *ctx, struct col_query *qr,
                  struct col_http_reply *reply);

/* ---- pure helpers, exposed for the unit tests ----------------------------------------- */

enum col_sort { COL_SORT_ID, COL_SORT_STATUS, COL_SORT_SINCE, COL_SORT_LAST_HEARTBEAT };

struct col_list_opts {
    struct col_query_filter filter;
    enum col_sort sort;
    bool desc;
    int64_t limit, offset;
};

/* Reads /bots' parameters through arg. 0, or -EINVAL with the message for a 400 in err. */
int col_list_opts_parse(const char *(*arg)(void *, const char *), void *cls,
                        struct col_list_opts *o, char *err, size_t errlen);
/* Sorts views in place by o->sort and o->order (ties by id, ascending). */
void col_bots_sort(struct col_bot_view *views, size_t n, const struct col_list_opts *o);
/* One bot as JSON (the /bots/{id} body, and the items of /bots): "alert" is the one that
 * speaks for it (or null), "alerts" all its open ones, from alerts (the query's; NULL: none). */
cJSON *col_bot_json(const struct col_bot_view *v, const struct col_alert_view *alerts);
/* One open alert of the bot v. */
cJSON *col_alert_json(const struct col_alert_view *a, const struct col_bot_view *v);
/* The summary body over views: total and by_status; by_account/by_host unless flat;
 * flat (seed 000 shape) adds each status count at the top level. */
cJSON *col_summary_json(const struct col_bot_view *v, size_t n, bool flat);

#endif
