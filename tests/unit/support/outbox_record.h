/* SPDX-License-Identifier: MIT */
/* The outbox the engine's unit tests give it: it records every item the engine says (each
 * MQTT message as publish.h builds it, with its topic, JSON, QoS and retain flag; each row for
 * PostgreSQL as a copy of the op), so a test asserts exactly what was said, in order, on a fake
 * clock. */
#ifndef TEST_OUTBOX_RECORD_H
#define TEST_OUTBOX_RECORD_H

#include "outbox.h"
#include "publish.h"
#include "store_op.h"

#include <stdbool.h>
#include <stddef.h>

/* One thing said: an MQTT message, or a row. */
struct said {
    bool is_row;
    /* a message */
    char topic[COL_TOPIC_MAX];
    char *payload;
    int qos;
    bool retain;
    char *text; /* an alert's or incident's line for people (its webhook message) */
    /* a row */
    struct col_store_op op;
};

struct recorder {
    struct col_outbox base; /* what the engine gets: &rec->base */
    char root[64], id[64];
    struct said *v;
    size_t n, cap;
    size_t from;    /* what recorder_clear hid: items before it are not searched */
    int command_rc; /* what a command returns (0: handed over) */
};

/* A recorder for topics under root ("botpulse/v1"), for collector id (in its stats). Never NULL
 * (fails the test instead). */
struct recorder *recorder_new(const char *root, const char *id);
void recorder_free(struct recorder *r);
/* Forgets what was said so far (for searching; it stays allocated). */
void recorder_clear(struct recorder *r);
/* Messages said on topic (an MQTT filter: + and # allowed) since the last clear. */
size_t said_count(const struct recorder *r, const char *topic);
/* The newest message said on topic since the last clear, or NULL. */
const struct said *said_last(const struct recorder *r, const char *topic);
/* Rows of this kind written since the last clear. */
size_t rows_count(const struct recorder *r, enum col_store_op_kind kind);
/* The newest row of this kind since the last clear, or NULL. */
const struct col_store_op *row_last(const struct recorder *r, enum col_store_op_kind kind);

/* Asserts that a message was said on topic since the last clear, and that the newest one has
 * every "key=value" field of the NULL-terminated list (testkit.h); returns it. On failure,
 * prints everything said since the last clear. */
const struct said *expect_said(const struct recorder *r, const char *topic, ...)
    __attribute__((sentinel));
/* Asserts that nothing was said on topic (a filter: "#" is everything) since the last clear. */
void expect_silent(const struct recorder *r, const char *topic);
/* Asserts that a row of kind was written since the last clear; returns the newest. */
const struct col_store_op *expect_row(const struct recorder *r, enum col_store_op_kind kind);

#endif
