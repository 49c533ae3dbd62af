/* SPDX-License-Identifier: MIT */
/* Fuzzes the collector's HTTP API below libmicrohttpd: the route table (col_route_match in
 * collector/http/http_parse.c) and every handler with its query parameters and body (the
 * route's handler, from the table in collector/http/http_routes.c), answered by a real
 * rules thread (the engine, fresh for each input, without broker or database: the history
 * routes answer 503 after their parameters are checked). Every answer must be a status the API
 * documents, with a JSON body that is valid UTF-8 (an error: an object with "error"; /health's
 * 503 is its usual report).
 * Not covered: what http_server.c does before the handler (libmicrohttpd's request parsing,
 * the unknown or repeated parameter 400, the token, Content-Type and body size checks): a
 * parameter a route does not take is dropped here, and a request whose body the server would
 * refuse (a POST body that is not a JSON object, none where one is required) skipped, as the
 * server answers 400 before the handler.
 * Input: up to 8 requests separated by NUL bytes, each "METHOD PATH[?QUERY]\nBODY" (QUERY as
 * name=value pairs joined by '&', as libmicrohttpd hands them over decoded). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "engine.h"
#include "fuzz_support.h"
#include "http_parse.h"
#include "http_reply.h"
#include "http_routes.h"
#include "ingest.h"
#include "query.h"
#include "queue.h"
#include "settings.h"

#define MAX_REQUESTS 8
#define MAX_ARGS 16 /* as http_server.c: more is a 400 there */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct col_settings cfg;

/* The rules thread of one input. */
struct rules {
    struct bp_queue *q;
    struct col_ingest *ingest;
    struct col_engine *e;
    pthread_t thread;
    volatile sig_atomic_t stop;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char ini[] = "[mqtt]\nurl = tcp://127.0.0.1:1\n"
                              "[database]\nconninfo = host=/nonexistent\n"
                              "[http]\ntimeout = 10s\n";
    struct fuzz_file f;
    char err[256];
    fuzz_log_everything();
    fuzz_file_open(&f);
    int rc = col_settings_load(fuzz_file_write(&f, (const uint8_t *)ini, sizeof(ini) - 1), &cfg,
                               err, sizeof(err));
    FUZZ_CHECK(rc == 0, "settings: %s", err);
    return 0;
}

static void *run(void *arg)
{
    struct rules *r = arg;
    col_engine_run(r->e, r->q, &r->stop);
    return NULL;
}

static void rules_start(struct rules *r)
{
    memset(r, 0, sizeof(*r));
    r->q = bp_queue_new(1024);
    r->ingest = r->q ? col_ingest_new(cfg.topic_root, r->q) : NULL;
    FUZZ_CHECK(r->ingest && col_engine_new(&cfg, NULL, r->ingest, &r->e) == 0, "engine");
    FUZZ_CHECK(col_ingest_push_control(r->ingest, COL_EV_CONNECTED) == 0, "connected");
    FUZZ_CHECK(pthread_create(&r->thread, NULL, run, r) == 0, "pthread_create");
}

/* Waits until the rules thread has handled everything queued before (a heartbeat's event). */
static void rules_flush(struct rules *r)
{
    struct col_query *qr = col_query_new(COL_Q_PING);
    FUZZ_CHECK(qr && col_query_ask(qr, r->q, 10000) == 0, "the rules thread did not answer");
    col_query_release(qr);
}

static void rules_stop(struct rules *r)
{
    r->stop = 1;
    bp_queue_wake(r->q);
    pthread_join(r->thread, NULL);
    bp_queue_free(r->q, col_event_free);
    col_engine_free(r->e);
    col_ingest_free(r->ingest);
}

/* The query parameters the route takes, first of each name (the server refuses the others). */
struct args {
    const char *name[MAX_ARGS];
    const char *value[MAX_ARGS];
    int n;
};

static const char *arg_value(void *cls, const char *name)
{
    const struct args *a = cls;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->name[i], name) == 0)
            return a->value[i];
    return NULL;
}

static void parse_args(char *query, const struct col_route_match *m, struct args *a)
{
    a->n = 0;
    for (char *save = NULL, *pair = strtok_r(query, "&", &save); pair && a->n < MAX_ARGS;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = '\0';
        if (!col_route_takes(m->params, pair) || arg_value(a, pair))
            continue;
        a->name[a->n] = pair;
        a->value[a->n++] = eq ? eq + 1 : "";
    }
}

/* RFC 8259: JSON text exchanged between systems is UTF-8. */
static bool is_utf8(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80             ? 0
                : (*s & 0xe0) == 0xc0 ? 1
                : (*s & 0xf0) == 0xe0 ? 2
                : (*s & 0xf8) == 0xf0 ? 3
                                      : -1;
        if (n < 0 || (n == 1 && *s < 0xc2))
            return false;
        for (int i = 1; i <= n; i++)
            if ((s[i] & 0xc0) != 0x80)
                return false;
        s += n + 1;
    }
    return true;
}

static void check_reply(const struct col_http_reply *r, const struct col_route *route,
                        const char *what)
{
    static const int statuses[] = {200, 201, 202, 400, 404, 409, 429, 500, 503};
    bool known = false;
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        known = known || r->status == statuses[i];
    FUZZ_CHECK(known, "%s: status %d", what, r->status);
    FUZZ_CHECK(r->body != NULL && r->content_type != NULL, "%s: no body", what);
    if (strncmp(r->content_type, "application/json", 16) != 0)
        return;
    FUZZ_CHECK(is_utf8((const unsigned char *)r->body), "%s: body not UTF-8: %s", what, r->body);
    cJSON *j = cJSON_Parse(r->body);
    FUZZ_CHECK(cJSON_IsObject(j), "%s: body not a JSON object: %s", what, r->body);
    if (r->status >= 400 && strncmp(route->pattern, "/health", 7) != 0)
        FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "error")),
                   "%s: %d without \"error\": %s", what, r->status, r->body);
    cJSON_Delete(j);
}

/* What http_server.c's check_body lets through to a mutating route's handler (the
 * Content-Type is taken as JSON). */
static bool body_passes(const struct col_route *route, const char *body, size_t len)
{
    if (len == 0)
        return !route->body;
    if (route->raw_body)
        return true;
    cJSON *j = cJSON_ParseWithLength(body, len);
    bool ok = cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

/* One request "METHOD PATH[?QUERY]\nBODY" (NUL-terminated, modified in place). */
static void request(struct rules *r, char *text, size_t len)
{
    char *body = strchr(text, '\n'), *method = text, *path = strchr(text, ' ');
    if (body)
        *body++ = '\0';
    size_t body_len = body ? len - (size_t)(body - text) : 0;
    if (body_len == 0)
        body = NULL; /* as the server hands over a request without a body */
    if (!path)
        return;
    *path++ = '\0';
    char *query = strchr(path, '?');
    if (query)
        *query++ = '\0';
    struct col_route_match m;
    if (col_route_match(method, path, &m) != 0)
        return; /* 404, 405 or 400 from the server, without a handler */
    FUZZ_CHECK(m.route && m.route->handler, "%s %s: no handler", method, path);
    if (m.mutating && !body_passes(m.route, body, body_len))
        return; /* 400 from the server */
    struct args a;
    parse_args(query ? query : (char[]){""}, &m, &a);
    struct col_http_ctx ctx = {.queue = r->q, .ingest = r->ingest, .timeout_ms = 10000};
    struct col_http_request req = {.method = method,
                                   .route = &m,
                                   .arg = arg_value,
                                   .arg_cls = &a,
                                   .body = body,
                                   .body_len = body_len};
    struct col_http_reply reply = {0};
    m.route->handler(&ctx, &req, &reply);
    check_reply(&reply, m.route, path);
    free(reply.body);
    rules_flush(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rules r;
    rules_start(&r);
    for (int i = 0; i < MAX_REQUESTS && size > 0; i++) {
        const uint8_t *next;
        size_t rest, len;
        fuzz_split(data, size, '\0', &next, &rest, &len);
        char *text = fuzz_strndup(data, len);
        request(&r, text, len);
        free(text);
        data = next;
        size = rest;
    }
    rules_stop(&r);
    return 0;
}
