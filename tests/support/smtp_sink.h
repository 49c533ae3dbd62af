/* SPDX-License-Identifier: MIT */
/* A tiny SMTP receiver for the e-mail sink's tests: listens on 127.0.0.1 (a free port), speaks
 * enough ESMTP for libcurl (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS), and
 * answers each message's DATA with the next code of a script (the last one repeats), recording
 * every message: its envelope, the AUTH it came with, and its text. One thread, one connection
 * at a time. */
#ifndef BPT_SMTP_SINK_H
#define BPT_SMTP_SINK_H

#include <stdint.h>

struct bpt_smtp_sink;

/* codes: the answers to each message's end of DATA, in order (e.g. {451, 250}); n >= 1. NULL on
 * failure (on stderr). */
struct bpt_smtp_sink *bpt_smtp_sink_start(const int *codes, int n);
int bpt_smtp_sink_port(struct bpt_smtp_sink *s);
/* Messages received so far (whatever they were answered). */
int bpt_smtp_sink_count(struct bpt_smtp_sink *s);
/* A copy of message i (caller frees): "AUTH <decoded user>\nFROM <addr>\nTO <addr>\n...\n\n"
 * then its text as sent; NULL if there is no such message. */
char *bpt_smtp_sink_message(struct bpt_smtp_sink *s, int i);
/* Waits until some message contains every needle (NULL-terminated) and, if answered_ok, was
 * answered 250; returns a copy of it or NULL on timeout. */
char *bpt_smtp_sink_wait(struct bpt_smtp_sink *s, const char *const *needles, int answered_ok,
                         int64_t timeout_ms);
void bpt_smtp_sink_stop(struct bpt_smtp_sink *s);

#endif
