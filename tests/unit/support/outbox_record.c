/* SPDX-License-Identifier: MIT */
/* The recording outbox: each item built as the live outbox builds it, kept in order. */
#include "outbox_record.h"

#include "testkit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct recorder *rec_of(struct col_outbox *o)
{
    return (struct recorder *)o;
}

static struct said *push(struct recorder *r)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        assert_non_null(r->v);
    }
    struct said *s = &r->v[r->n++];
    memset(s, 0, sizeof(*s));
    return s;
}

/* Keeps a message publish.h built (built: its return), and the line for people if any. */
static void keep(struct recorder *r, int built, struct col_pub *p, const char *text)
{
    assert_int_equal(built, 0);
    struct said *s = push(r);
    snprintf(s->topic, sizeof(s->topic), "%s", p->topic);
    s->payload = strdup(p->payload);
    s->qos = p->qos;
    s->retain = p->retain;
    s->text = text ? strdup(text) : NULL;
    col_pub_cleanup(p);
}

static void rec_status(struct col_outbox *o, const struct col_bot_snapshot *snap, int64_t now_wall)
{
    struct col_pub p;
    keep(rec_of(o), col_pub_status(&p, rec_of(o)->root, snap, now_wall), &p, NULL);
}

static void rec_alert(struct col_outbox *o, const struct col_alert_note *n)
{
    struct col_pub p;
    int built = col_pub_alert(&p, rec_of(o)->root, n->bot->id, n->alert->severity, n->json);
    keep(rec_of(o), built, &p, n->text);
}

static void rec_incident(struct col_outbox *o, const struct col_incident_note *n)
{
    struct col_pub p;
    keep(rec_of(o), col_pub_incident(&p, rec_of(o)->root, n->incident, n->json), &p, n->text);
}

static void rec_summary(struct col_outbox *o, const struct col_fleet *f, int64_t now_wall)
{
    struct col_pub p;
    keep(rec_of(o), col_pub_summary(&p, rec_of(o)->root, f, now_wall), &p, NULL);
}

static void rec_stats(struct col_outbox *o, struct col_collector_stats *s, int64_t now_wall)
{
    struct col_pub p;
    keep(rec_of(o), col_pub_collector_stats(&p, rec_of(o)->root, rec_of(o)->id, false, s, now_wall),
         &p, NULL);
}

static int rec_command(struct col_outbox *o, const struct bp_msg *cmd)
{
    struct recorder *r = rec_of(o);
    if (r->command_rc < 0)
        return r->command_rc;
    struct col_pub p;
    keep(r, col_pub_command(&p, r->root, cmd), &p, NULL);
    return 0;
}

static void rec_row(struct col_outbox *o, const struct col_store_op *op)
{
    struct said *s = push(rec_of(o));
    s->is_row = true;
    s->op = *op;
}

static void rec_free(struct col_outbox *o)
{
    recorder_free(rec_of(o));
}

static const struct col_outbox_ops rec_ops = {
    .status = rec_status,
    .alert = rec_alert,
    .incident = rec_incident,
    .summary = rec_summary,
    .stats = rec_stats,
    .command = rec_command,
    .row = rec_row,
    .free = rec_free,
};

struct recorder *recorder_new(const char *root, const char *id)
{
    struct recorder *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->base.ops = &rec_ops;
    snprintf(r->root, sizeof(r->root), "%s", root);
    snprintf(r->id, sizeof(r->id), "%s", id);
    return r;
}

void recorder_free(struct recorder *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].payload);
        free(r->v[i].text);
    }
    free(r->v);
    free(r);
}

void recorder_clear(struct recorder *r)
{
    r->from = r->n;
}

static bool on(const struct said *s, const char *topic)
{
    return !s->is_row && bpt_topic_matches(topic, s->topic);
}

size_t said_count(const struct recorder *r, const char *topic)
{
    size_t n = 0;
    for (size_t i = r->from; i < r->n; i++)
        n += on(&r->v[i], topic);
    return n;
}

const struct said *said_last(const struct recorder *r, const char *topic)
{
    for (size_t i = r->n; i > r->from; i--)
        if (on(&r->v[i - 1], topic))
            return &r->v[i - 1];
    return NULL;
}

size_t rows_count(const struct recorder *r, enum col_store_op_kind kind)
{
    size_t n = 0;
    for (size_t i = r->from; i < r->n; i++)
        n += r->v[i].is_row && r->v[i].op.kind == kind;
    return n;
}

const struct col_store_op *row_last(const struct recorder *r, enum col_store_op_kind kind)
{
    for (size_t i = r->n; i > r->from; i--)
        if (r->v[i - 1].is_row && r->v[i - 1].op.kind == kind)
            return &r->v[i - 1].op;
    return NULL;
}

/* Everything said since the last clear, for a failure's message. */
static void print_said(const struct recorder *r)
{
    fprintf(stderr, "said since the last clear (%zu items):\n", r->n - r->from);
    for (size_t i = r->from; i < r->n; i++) {
        if (r->v[i].is_row)
            fprintf(stderr, "  row kind %d\n", (int)r->v[i].op.kind);
        else
            fprintf(stderr, "  %s %s\n", r->v[i].topic, r->v[i].payload);
    }
}

const struct said *expect_said(const struct recorder *r, const char *topic, ...)
{
    const char *fields[BPT_FIELDS_MAX + 1];
    va_list ap;
    va_start(ap, topic);
    bpt_fields_collect(ap, fields);
    va_end(ap);
    const struct said *s = said_last(r, topic);
    char why[600] = "";
    if (s && bpt_json_fields(s->payload, fields, why, sizeof(why)))
        return s;
    print_said(r);
    if (!s)
        fail_msg("nothing said on %s", topic);
    fail_msg("on %s: %s (in %s)", topic, why, s->payload);
    return NULL;
}

void expect_silent(const struct recorder *r, const char *topic)
{
    if (said_count(r, topic) == 0)
        return;
    print_said(r);
    fail_msg("said on %s: %s", topic, said_last(r, topic)->payload);
}

const struct col_store_op *expect_row(const struct recorder *r, enum col_store_op_kind kind)
{
    const struct col_store_op *op = row_last(r, kind);
    if (!op) {
        print_said(r);
        fail_msg("no row of kind %d", (int)kind);
    }
    return op;
}
