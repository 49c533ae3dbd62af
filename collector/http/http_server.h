/* SPDX-License-Identifier: MIT */
/* The collector's HTTP server (libmicrohttpd, a thread per connection): binds the [http]
 * listen address, reads each request (query parameters, bearer token, content type, a body of
 * at most COL_HTTP_BODY_MAX bytes), answers every malformed one with a JSON 4xx, and hands the
 * rest to the route handlers (http_routes.h). Its threads never touch the rules thread's state:
 * they ask it through its queue (query.h). */
#ifndef COL_HTTP_SERVER_H
#define COL_HTTP_SERVER_H

struct bp_mqtt;
struct bp_queue;
struct col_cluster;
struct col_echo;
struct col_owners;
struct col_ingest;
struct col_settings;
struct col_sinks;
struct col_store;

#define COL_HTTP_BODY_MAX 8192

struct col_http_server;

struct col_http_opts {
    const struct col_settings *cfg; /* [http] and [database] conninfo; borrowed */
    struct bp_queue *queue;         /* the rules thread's input; borrowed */
    struct col_ingest *ingest;      /* for HTTP heartbeats and counters; borrowed */
    struct col_store *store;        /* may be NULL; borrowed */
    struct bp_mqtt *mqtt;           /* may be NULL; borrowed */
    struct col_sinks *sinks;        /* the alert sinks' counters for /metrics; may be NULL */
    struct col_cluster *cluster;    /* [cluster]'s view; NULL: one collector; borrowed */
    struct col_owners *owners;      /* which shards are ours; NULL: all; borrowed */
    struct col_echo *echo;          /* our echo through the broker (echo.h); may be NULL */
};

/* Starts serving on cfg->http_listen (which must not be empty). Everything borrowed must
 * outlive col_http_server_free. 0 or -errno (logged: e.g. the port is taken). */
int col_http_server_start(const struct col_http_opts *opts, struct col_http_server **out);
/* Stops accepting, waits for requests in flight (each bounded by [http] timeout), frees. */
void col_http_server_free(struct col_http_server *s);

#endif
