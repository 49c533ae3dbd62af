/* SPDX-License-Identifier: MIT */
/* A tiny HTTP/1.1 receiver for webhook tests: listens on 127.0.0.1 (a free port), answers
 * each request with the next status of a script (the last one repeats) and records every
 * request body. One thread, one connection at a time, Connection: close. */
#ifndef BPT_HTTP_SINK_H
#define BPT_HTTP_SINK_H

#include <stdint.h>

struct bpt_http_sink;

/* statuses: the answers in order (e.g. {503, 200}); n >= 1. NULL on failure (on stderr). */
struct bpt_http_sink *bpt_http_sink_start(const int *statuses, int n);
int bpt_http_sink_port(struct bpt_http_sink *s);
/* Requests answered so far. */
int bpt_http_sink_count(struct bpt_http_sink *s);
/* A copy of request i's body (caller frees); NULL if there is no such request. */
char *bpt_http_sink_body(struct bpt_http_sink *s, int i);
/* Waits until some request's body contains every needle (NULL-terminated) and, if
 * answered_ok, that request was answered 2xx; returns a copy of it or NULL on timeout. */
char *bpt_http_sink_wait(struct bpt_http_sink *s, const char *const *needles, int answered_ok,
                         int64_t timeout_ms);
void bpt_http_sink_stop(struct bpt_http_sink *s);

#endif
