/* SPDX-License-Identifier: MIT */
/* Ingest: validate on Paho's thread, count rejections, queue accepted messages. */
#include "ingest.h"

#include "clock.h"
#include "log.h"
#include "query.h"
#include "queue.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_EVERY_MS 10000

struct col_ingest {
    char *root;
    struct bp_queue *q;
    atomic_uint_fast64_t received, accepted, queue_dropped;
    atomic_uint_fast64_t rejected[BP_MSG_ERR_COUNT];
    atomic_int_fast64_t next_log_mono[BP_MSG_ERR_COUNT]; /* rate limit per reason */
    atomic_int_fast64_t next_drop_log_mono;
};

struct col_ingest *col_ingest_new(const char *root, struct bp_queue *q)
{
    struct col_ingest *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->root = strdup(root);
    if (!in->root) {
        free(in);
        return NULL;
    }
    in->q = q;
    return in;
}

void col_ingest_free(struct col_ingest *in)
{
    if (!in)
        return;
    free(in->root);
    free(in);
}

static bool log_due(atomic_int_fast64_t *next, int64_t now)
{
    int64_t due = atomic_load(next);
    return now >= due && atomic_compare_exchange_strong(next, &due, now + LOG_EVERY_MS);
}

static void reject(struct col_ingest *in, const char *topic, const struct bp_msg_error *err)
{
    uint64_t n = atomic_fetch_add(&in->rejected[err->code], 1) + 1;
    if (log_due(&in->next_log_mono[err->code], bp_mono_ms()))
        BP_WARN("ingest", "rejected message on '%.200s': %s: %s (%llu so far for this reason)",
                topic, bp_msg_err_name(err->code), err->detail, (unsigned long long)n);
}

static size_t variant_size(enum bp_msg_type type)
{
    switch (type) {
    case BP_MSG_AGENT_STATE:
        return sizeof(struct bp_agent_state);
    case BP_MSG_HEARTBEAT:
        return sizeof(struct bp_heartbeat);
    case BP_MSG_STATS:
        return sizeof(struct bp_stats);
    case BP_MSG_COMMAND:
        return sizeof(struct bp_command);
    case BP_MSG_COMMAND_RESULT:
        return sizeof(struct bp_command_result);
    case BP_MSG_EVENT:
        return sizeof(struct bp_event);
    default:
        return sizeof(struct bp_trade);
    }
}

/* A right-sized copy: an agent_state is 12 KiB, a heartbeat about 1.4 KiB (its metrics). */
static struct col_event *event_new(const struct bp_msg *m)
{
    size_t head = offsetof(struct col_event, msg) + offsetof(struct bp_msg, u);
    size_t vsize = variant_size(m->hdr.type);
    struct col_event *ev = malloc(head + vsize);
    if (!ev)
        return NULL;
    ev->kind = COL_EV_MESSAGE;
    ev->recv_mono = bp_mono_ms();
    ev->recv_wall = bp_wall_ms();
    ev->query = NULL;
    memcpy(&ev->msg.hdr, &m->hdr, sizeof(m->hdr));
    memcpy(&ev->msg.u, &m->u, vsize);
    return ev;
}

static int push(struct col_ingest *in, const struct bp_msg *m);

void col_ingest_on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct col_ingest *in = ctx;
    struct bp_msg_error err = {0};
    struct bp_topic t;
    struct bp_msg m;
    atomic_fetch_add(&in->received, 1);
    /* commands go to agents; one arriving here is not ours to act on */
    if (bp_topic_parse(in->root, topic, &t) < 0 || t.type == BP_MSG_COMMAND) {
        err.code = BP_MSG_ERR_TOPIC;
        snprintf(err.detail, sizeof(err.detail), "not an agent topic");
        reject(in, topic, &err);
        return;
    }
    if (bp_msg_decode(payload, len, &m, &err) < 0 || bp_msg_check_topic(&m, &t, &err) < 0) {
        reject(in, topic, &err);
        return;
    }
    push(in, &m);
}

/* Queues an accepted message; counts it as accepted or dropped. */
static int push(struct col_ingest *in, const struct bp_msg *m)
{
    struct col_event *ev = event_new(m);
    if (!ev || bp_queue_push(in->q, ev) < 0) {
        free(ev);
        uint64_t n = atomic_fetch_add(&in->queue_dropped, 1) + 1;
        if (log_due(&in->next_drop_log_mono, bp_mono_ms()))
            BP_ERROR("ingest", "rules queue full: dropped a message (%llu dropped so far)",
                     (unsigned long long)n);
        return ev ? -ENOBUFS : -ENOMEM;
    }
    atomic_fetch_add(&in->accepted, 1);
    return 0;
}

int col_ingest_submit(struct col_ingest *in, const struct bp_msg *m)
{
    atomic_fetch_add(&in->received, 1);
    return push(in, m);
}

void col_event_free(void *p)
{
    struct col_event *ev = p;
    if (ev && ev->kind == COL_EV_QUERY)
        col_query_release(ev->query);
    free(ev);
}

int col_ingest_push_control(struct col_ingest *in, enum col_event_kind kind)
{
    struct col_event *ev = calloc(1, sizeof(*ev)); /* rare: full size keeps it simple */
    if (!ev)
        return -ENOMEM;
    ev->kind = kind;
    ev->recv_mono = bp_mono_ms();
    ev->recv_wall = bp_wall_ms();
    int rc = bp_queue_push(in->q, ev);
    if (rc < 0) {
        free(ev);
        BP_ERROR("ingest", "rules queue full: lost a connection event");
    }
    return rc;
}

void col_ingest_get_stats(struct col_ingest *in, struct col_ingest_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->received = atomic_load(&in->received);
    out->accepted = atomic_load(&in->accepted);
    out->queue_dropped = atomic_load(&in->queue_dropped);
    for (int i = 1; i < BP_MSG_ERR_COUNT; i++) {
        out->rejected[i] = atomic_load(&in->rejected[i]);
        out->rejected_total += out->rejected[i];
    }
}
