/* SPDX-License-Identifier: MIT */
/* The tests' HTTP client (libcurl): one request with an optional bearer token, content type
 * and body, and its answer: status, body, and the headers the tests read. For the collector's
 * API and for chromedriver's WebDriver API alike. */
#ifndef BPT_HTTP_CLIENT_H
#define BPT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct bpt_env;

struct bpt_http_req {
    const char *method; /* NULL: GET */
    const char *base;   /* "http://127.0.0.1:PORT" */
    const char *path;   /* "/bots?limit=2" */
    const char *token;  /* NULL: no Authorization header */
    const char *ctype;  /* sent as Content-Type (NULL: an empty one, which curl leaves out) */
    const char *body;   /* POST or PUT body (NULL: empty) */
    size_t body_len;    /* 0: strlen(body) */
    long timeout_ms;    /* 0: 15 s */
    bool no_answer_ok;  /* no answer at all returns -1 instead of failing the test */
};

struct bpt_http {
    long status; /* of the last answer */
    char *body;  /* its body, NUL-terminated ("" when empty) */
    size_t len;
    char ctype[128], allow[64], www_auth[64];
    long retry_after; /* -1: no Retry-After header */
};

/* Sends rq and puts the answer in r (what r held before is freed). Fails the test (with every
 * log, bpt_fail) when no answer comes at all, unless rq->no_answer_ok (then -1). Returns
 * r->status. */
long bpt_http(struct bpt_env *env, const struct bpt_http_req *rq, struct bpt_http *r);
/* Frees r's body. */
void bpt_http_cleanup(struct bpt_http *r);

/* Appends rq's method and path and r's status, content type and body as one JSON line to the
 * env's http-responses.jsonl, for bpt_openapi_check. */
void bpt_http_record(struct bpt_env *env, const struct bpt_http_req *rq, const struct bpt_http *r);
/* Checks every response recorded so far against docs/openapi.yaml with
 * tests/support/openapi_check.py (Debian's python3, python3-jsonschema and python3-yaml): its
 * status declared for the route and method, a JSON body valid against the declared schema.
 * Fails the test with the checker's findings. */
void bpt_openapi_check(struct bpt_env *env);

#endif
