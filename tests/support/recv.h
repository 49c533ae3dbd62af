/* SPDX-License-Identifier: MIT */
/* What the tests' fake receivers (http_sink.h, smtp_sink.h) share: a listening socket on
 * 127.0.0.1 (a free port), one thread that accepts one connection at a time and hands it to the
 * receiver's serve(), a script of answers (the last one repeats), and the log of what was
 * received with the answer each got. */
#ifndef BPT_RECV_H
#define BPT_RECV_H

#include <stdbool.h>
#include <stdint.h>

struct bpt_recv;

/* Serves one accepted connection (a 5 s read timeout is set), then returns; the caller closes
 * fd. */
typedef void (*bpt_recv_serve_fn)(struct bpt_recv *r, int fd);

/* answers: the script (n >= 1). NULL on failure (on stderr). */
struct bpt_recv *bpt_recv_start(const int *answers, int n, bpt_recv_serve_fn serve);
int bpt_recv_port(struct bpt_recv *r);
/* The scripted answer for the next item. */
int bpt_recv_answer(struct bpt_recv *r);
/* Logs item (taking ownership) with the answer it got. */
void bpt_recv_add(struct bpt_recv *r, char *item, int answer);
int bpt_recv_count(struct bpt_recv *r);
/* A copy of item i (caller frees), or NULL. */
char *bpt_recv_item(struct bpt_recv *r, int i);
/* Waits until an item contains every needle (NULL-terminated) and, if answered_ok, got an
 * answer in [ok_lo, ok_hi]; a copy of it, or NULL on timeout. */
char *bpt_recv_wait(struct bpt_recv *r, const char *const *needles, bool answered_ok, int ok_lo,
                    int ok_hi, int64_t timeout_ms);
void bpt_recv_stop(struct bpt_recv *r);

#endif
