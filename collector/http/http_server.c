/* SPDX-License-Identifier: MIT */
/* The HTTP server: libmicrohttpd lifecycle, request limits, auth, dispatch. */
#include "http_server.h"

#include "clock.h"
#include "http_db.h"
#include "http_parse.h"
#include "http_reply.h"
#include "log.h"
#include "settings.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ARGS 16
#define MAX_HOSTS 16

/* Connections: a pool of threads polls them all (epoll), so a half-sent request holds a socket,
 * not a thread; one client address holds at most PER_IP of them, and an idle one is closed. */
#define POOL_THREADS 4u
#define MAX_CONNECTIONS 512u
#define PER_IP 16u
#define IDLE_TIMEOUT_S 10u

struct col_http_server {
    struct MHD_Daemon *daemon;
    struct col_http_ctx ctx;
    struct col_http_db *db;
    char token[256];            /* "" = mutating routes are forbidden */
    char hosts[MAX_HOSTS][256]; /* the Host header names served (lowercase, no port) */
    int nhosts;
};

/* One request's state across libmicrohttpd's calls (its con_cls). */
struct request {
    char *body;
    size_t len;
    bool too_large;
};

/* The query parameters of one request, as given (a name without '=' has value ""). */
struct args {
    const char *name[MAX_ARGS];
    const char *value[MAX_ARGS];
    int n;
    char err[160]; /* set when a parameter is unknown, repeated, or too many */
    const char *allowed;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct args *a = cls;
    if (a->err[0])
        return MHD_NO;
    if (!col_route_takes(a->allowed, key)) {
        snprintf(a->err, sizeof(a->err), "unknown parameter '%.64s'", key);
        return MHD_NO;
    }
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->name[i], key) == 0) {
            snprintf(a->err, sizeof(a->err), "parameter '%.64s' given twice", key);
            return MHD_NO;
        }
    }
    if (a->n == MAX_ARGS) {
        snprintf(a->err, sizeof(a->err), "too many parameters");
        return MHD_NO;
    }
    a->name[a->n] = key;
    a->value[a->n++] = value ? value : "";
    return MHD_YES;
}

static const char *arg_value(void *cls, const char *name)
{
    const struct args *a = cls;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->name[i], name) == 0)
            return a->value[i];
    return NULL;
}

/* Queues reply (taking its body) with the headers its status needs. */
static enum MHD_Result send_reply(struct MHD_Connection *conn, struct col_http_reply *r,
                                  const char *allow)
{
    if (!r->body) {
        r->status = 500;
        r->content_type = "application/json";
        r->body = strdup("{\"error\":\"out of memory\"}");
        if (!r->body)
            return MHD_NO;
    }
    size_t len = r->body_len ? r->body_len : strlen(r->body);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, r->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* the dashboard loads only its own files: no inline script, no other origin */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    char retry[24];
    if (r->retry_after_s > 0) {
        snprintf(retry, sizeof(retry), "%lld", (long long)r->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
    if (r->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"botpulse\"");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Compares without an early exit, so the time taken does not reveal the token. */
static bool token_equal(const char *given, const char *want)
{
    size_t n = strlen(want), m = strlen(given);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ (i < m ? given[i] : 0));
    return diff == 0;
}

/* 0 if the request may mutate; otherwise fills reply (403 or 401). */
static int authorize(const struct col_http_server *s, struct MHD_Connection *conn,
                     struct col_http_reply *reply)
{
    if (!s->token[0]) {
        col_http_error(reply, 403, "no [http] token is configured: mutating routes are off");
        return -EPERM;
    }
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h) {
        col_http_error(reply, 401, "missing bearer token (Authorization: Bearer <token>)");
        return -EACCES;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0 || !token_equal(h + 7, s->token)) {
        col_http_error(reply, 401, "wrong bearer token");
        return -EACCES;
    }
    return 0;
}

/* True for application/json, with or without parameters (charset). */
static bool is_json(const char *ct)
{
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        return false;
    return ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ';
}

/* Checks the body of a POST (its size is checked before); 0, or fills reply with 415 or 400. */
static int check_body(const struct col_route_match *m, struct MHD_Connection *conn,
                      const struct request *rq, struct col_http_reply *reply)
{
    const struct col_route *r = m->route;
    if (rq->len == 0 && !r->body)
        return 0; /* a forced check, a restart or a removal needs no body */
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!is_json(ct)) {
        col_http_error(reply, 415, "Content-Type must be application/json");
        return -EINVAL;
    }
    if (rq->len == 0) {
        col_http_error(reply, 400, "empty body: %s is required", r->body);
        return -EINVAL;
    }
    if (!r->raw_body) {
        cJSON *j = cJSON_ParseWithLength(rq->body, rq->len);
        bool ok = cJSON_IsObject(j);
        cJSON_Delete(j);
        if (!ok) {
            col_http_error(reply, 400, "body must be a JSON object (or empty)");
            return -EINVAL;
        }
    }
    return 0;
}

/* Adds one Host name (a bracketed IPv6 address loses its brackets); false when full. */
static bool add_host(struct col_http_server *s, const char *name, size_t len)
{
    if (len >= 2 && name[0] == '[' && name[len - 1] == ']') {
        name++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(s->hosts[0]) || s->nhosts == MAX_HOSTS)
        return len == 0;
    for (size_t i = 0; i < len; i++)
        s->hosts[s->nhosts][i] = (char)tolower((unsigned char)name[i]);
    s->hosts[s->nhosts++][len] = '\0';
    return true;
}

/* [http] allowed_hosts, comma-separated; by default the listen address and loopback names. */
static int set_hosts(struct col_http_server *s, const char *list, const char *listen_host)
{
    if (!list[0]) {
        const char *names[] = {listen_host, "localhost", "127.0.0.1", "::1"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            add_host(s, names[i], strlen(names[i]));
        return 0;
    }
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (!add_host(s, p, len))
            return -EINVAL;
        p += n;
    }
    return s->nhosts > 0 ? 0 : -EINVAL;
}

/* True when the request's Host (without its port) is one we serve. A page on another name
 * that DNS rebinding pointed at us sends that name: it gets nothing. */
static bool host_allowed(const struct col_http_server *s, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!h)
        return false;
    size_t len;
    if (h[0] == '[') { /* [v6]:port */
        const char *end = strchr(h, ']');
        if (!end)
            return false;
        h++;
        len = (size_t)(end - h);
    } else {
        len = strcspn(h, ":");
    }
    for (int i = 0; i < s->nhosts; i++)
        if (strlen(s->hosts[i]) == len && strncasecmp(s->hosts[i], h, len) == 0)
            return true;
    return false;
}

static enum MHD_Result respond(struct col_http_server *s, struct MHD_Connection *conn,
                               const char *url, const char *method, struct request *rq)
{
    struct col_route_match m = {.allow = ""};
    struct col_http_reply reply = {0};
    struct args a = {.n = 0};
    if (!host_allowed(s, conn)) {
        col_http_error(&reply, 421, "this server does not answer for that Host");
        goto out;
    }
    int rc = col_route_match(method, url, &m);
    if (rc == -ENOENT)
        col_http_error(&reply, 404, "no route %.200s", url);
    else if (rc == -EPERM)
        col_http_error(&reply, 405, "%s is not allowed here; use %s", method, m.allow);
    else if (rc == -EINVAL)
        col_http_error(&reply, 400, "invalid %s id: want 1..64 of [A-Za-z0-9_.-]", m.what);
    if (rc < 0)
        goto out;
    a.allowed = m.params;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
    if (a.err[0]) {
        col_http_error(&reply, 400, "%s", a.err);
        goto out;
    }
    if (m.mutating && authorize(s, conn, &reply) < 0)
        goto out;
    if (rq->too_large) { /* any route: we read and dropped it */
        col_http_error(&reply, 413, "body larger than %d bytes", COL_HTTP_BODY_MAX);
        goto out;
    }
    if (m.mutating && check_body(&m, conn, rq, &reply) < 0)
        goto out;
    struct col_http_request req = {
        .method = method,
        .route = &m,
        .arg = arg_value,
        .arg_cls = &a,
        .body = rq->body,
        .body_len = rq->len,
    };
    m.route->handler(&s->ctx, &req, &reply);
out:
    BP_DEBUG("http", "%s %.200s -> %d", method, url, reply.status);
    return send_reply(conn, &reply, m.allow);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct request *rq = *con_cls;
    if (!rq) { /* headers only so far */
        rq = calloc(1, sizeof(*rq));
        *con_cls = rq;
        return rq ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->too_large || rq->len + n > COL_HTTP_BODY_MAX) {
            rq->too_large = true; /* read and drop the rest, then answer 413 */
            return MHD_YES;
        }
        char *b = realloc(rq->body, rq->len + n + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + rq->len, upload_data, n);
        rq->body = b;
        rq->len += n;
        rq->body[rq->len] = '\0';
        return MHD_YES;
    }
    return respond(cls, conn, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    struct request *rq = *con_cls;
    if (rq)
        free(rq->body);
    free(rq);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    BP_WARN("http", "libmicrohttpd: %s", msg);
}

int col_http_server_start(const struct col_http_opts *opts, struct col_http_server **out)
{
    const struct col_settings *cfg = opts->cfg;
    char host[64];
    int port;
    if (col_settings_parse_listen(cfg->http_listen, host, sizeof(host), &port) < 0)
        return -EINVAL;
    struct col_http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    snprintf(s->token, sizeof(s->token), "%s", cfg->http_token);
    if (set_hosts(s, cfg->http_allowed_hosts, host) < 0) {
        BP_ERROR("http", "[http] allowed_hosts: want 1..%d names of 1..255 bytes", MAX_HOSTS);
        free(s);
        return -EINVAL;
    }
    s->db = col_http_db_new(cfg->db_conninfo, cfg->http_timeout_ms);
    s->ctx = (struct col_http_ctx){.queue = opts->queue,
                                   .ingest = opts->ingest,
                                   .store = opts->store,
                                   .mqtt = opts->mqtt,
                                   .echo = opts->echo,
                                   .cluster = opts->cluster,
                                   .owners = opts->owners,
                                   .db = s->db,
                                   .timeout_ms = cfg->http_timeout_ms,
                                   .started_mono = bp_mono_ms(),
                                   .sinks = opts->sinks};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    s->daemon = s->db ? MHD_start_daemon(
                            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
                            (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, s, /* first, or MHD warns */
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_THREAD_POOL_SIZE, POOL_THREADS, MHD_OPTION_CONNECTION_LIMIT,
                            MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_IP,
                            MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, MHD_OPTION_END)
                      : NULL;
    if (!s->daemon) {
        BP_ERROR("http", "cannot listen on %s (is the port taken?)", cfg->http_listen);
        int rc = s->db ? -EADDRINUSE : -ENOMEM;
        col_http_db_free(s->db);
        free(s);
        return rc;
    }
    BP_INFO("http", "HTTP API and /metrics on http://%s/ (mutating routes %s)", cfg->http_listen,
            s->token[0] ? "need the bearer token" : "off: no token configured");
    *out = s;
    return 0;
}

void col_http_server_free(struct col_http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    col_http_db_free(s->db);
    free(s);
}
