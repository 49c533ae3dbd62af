/* SPDX-License-Identifier: MIT */
/* What every HTTP handler shares: what it is given (the context, the request with its matched
 * route and query parameters) and what it fills (the reply), and the helpers it answers with:
 * a JSON body, a JSON error, and a question to the rules thread that turns a silent or full
 * rules thread into a 503. The server (http_server.h) has already checked the route, the method,
 * the parameters' names, the token, the content type and the body's size. */
#ifndef COL_HTTP_REPLY_H
#define COL_HTTP_REPLY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bp_mqtt;
struct col_echo;
struct bp_queue;
struct col_cluster;
struct col_http_db;
struct col_ingest;
struct col_owners;
struct col_query;
struct col_route_match;
struct col_sinks;
struct col_store;

/* What the handlers may use; every pointer but queue and ingest may be NULL. Borrowed. */
struct col_http_ctx {
    struct bp_queue *queue; /* the rules thread's input */
    struct col_ingest *ingest;
    struct col_store *store;
    struct bp_mqtt *mqtt;
    struct col_echo *echo;       /* NULL: no echo ([mqtt] echo_interval = 0) */
    struct col_cluster *cluster; /* NULL: one collector owns the fleet */
    struct col_owners *owners;   /* NULL: every shard is ours */
    struct col_http_db *db;
    int64_t timeout_ms; /* per question to the rules thread */
    int64_t started_mono;
    struct col_sinks *sinks; /* the alert sinks, for their counters; may be NULL */
};

struct col_http_request {
    const char *method;
    const struct col_route_match *route; /* the route and the id in its path */
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

#define COL_HTTP_TS_MAX 9007199254740991LL /* 2^53 - 1: a Unix ms time exact in JSON */
#define COL_HTTP_LIST_LIMIT_DEFAULT 100    /* items per page of a list */
#define COL_HTTP_LIST_LIMIT_MAX 1000

/* A route's handler: always fills reply (body NULL only on ENOMEM: the server answers 500). */
typedef void (*col_http_handler)(const struct col_http_ctx *ctx, const struct col_http_request *req,
                                 struct col_http_reply *reply);

/* Fills reply with {"error": msg} and status. */
void col_http_error(struct col_http_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends o (deleted here) as the JSON body with status. */
void col_http_reply_json(struct col_http_reply *reply, int status, cJSON *o);
/* Asks the rules thread qr; on failure fills reply (503, 500) and returns false. */
bool col_http_ask(const struct col_http_ctx *ctx, struct col_query *qr,
                  struct col_http_reply *reply);

/* Reads an id-like query parameter (is_id: 1..64 of [A-Za-z0-9_.-]) or a text one (UTF-8
 * text, as the wire allows a host: the summary echoes the filter) into buf ("" when absent
 * or empty). 0, or -EINVAL with the message for a 400 in err. */
int col_http_arg_label(const char *(*arg)(void *, const char *), void *cls, const char *name,
                       bool is_id, char *buf, size_t size, char *err, size_t errlen);
/* Reads an integer query parameter in [min, max]; absent leaves *out alone. 0, or -EINVAL with
 * the message for a 400 in err. */
int col_http_arg_int(const char *(*arg)(void *, const char *), void *cls, const char *name,
                     int64_t min, int64_t max, int64_t *out, char *err, size_t errlen);

#endif
