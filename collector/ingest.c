/* SPDX-License-Identifier: MIT */
/* Ingest: validate on Paho's thread, count rejections, queue accepted messages. */
#include "ingest.h"

#include "batch.h"
#include "clock.h"
#include "log.h"
#include "mqtt.h"
#include "query.h"
#include "queue.h"
#include "strmap.h"
#include "takeover.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_EVERY_MS 10000
#define BUCKETS_MAX 100000 /* agents with a bucket of their own; the rest share one */

/* One agent's allowance: a token bucket, refilled at the rate, holding at most the burst. */
struct agent_bucket {
    double tokens;
    int64_t last_mono;
    int64_t next_log_mono;
    uint64_t dropped;
};

struct col_ingest {
    char *root;
    struct bp_queue *q;
    atomic_uint_fast64_t received, accepted, queue_dropped, batches;
    atomic_uint_fast64_t rejected[BP_MSG_ERR_COUNT];
    atomic_int_fast64_t next_log_mono[BP_MSG_ERR_COUNT]; /* rate limit per reason */
    atomic_int_fast64_t next_drop_log_mono;
    /* per-agent rate cap (col_ingest_limit_agents); rate 0 = none */
    pthread_mutex_t rate_lock;
    struct col_strmap *buckets; /* agent id → struct agent_bucket */
    struct agent_bucket others; /* every agent past BUCKETS_MAX */
    double rate, burst;
    atomic_uint_fast64_t rate_dropped;
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
    pthread_mutex_init(&in->rate_lock, NULL);
    return in;
}

int col_ingest_limit_agents(struct col_ingest *in, int64_t rate, int64_t burst)
{
    if (rate <= 0 || burst <= 0)
        return -EINVAL;
    if (!in->buckets && !(in->buckets = col_strmap_new()))
        return -ENOMEM;
    in->rate = (double)rate;
    in->burst = (double)burst;
    in->others.tokens = in->burst;
    in->others.last_mono = bp_mono_ms();
    return 0;
}

static struct agent_bucket *bucket_of(struct col_ingest *in, const char *agent, int64_t now)
{
    struct agent_bucket *b = col_strmap_get(in->buckets, agent);
    if (b)
        return b;
    if (col_strmap_len(in->buckets) >= BUCKETS_MAX || !(b = calloc(1, sizeof(*b))))
        return &in->others;
    if (col_strmap_put(in->buckets, agent, b) < 0) {
        free(b);
        return &in->others;
    }
    b->tokens = in->burst;
    b->last_mono = now;
    return b;
}

/* How many of n messages from agent its rate lets through now; the rest are dropped, counted
 * and logged (once per agent per LOG_EVERY_MS). O(1): one lookup. */
static size_t admit(struct col_ingest *in, const char *agent, size_t n)
{
    if (in->rate <= 0)
        return n;
    int64_t now = bp_mono_ms();
    pthread_mutex_lock(&in->rate_lock);
    struct agent_bucket *b = bucket_of(in, agent, now);
    if (now > b->last_mono) {
        b->tokens += (double)(now - b->last_mono) * in->rate / 1000.0;
        if (b->tokens > in->burst)
            b->tokens = in->burst;
        b->last_mono = now;
    }
    size_t ok = b->tokens >= (double)n ? n : (size_t)b->tokens;
    b->tokens -= (double)ok;
    size_t over = n - ok;
    bool log = false;
    if (over) {
        b->dropped += over;
        if ((log = now >= b->next_log_mono))
            b->next_log_mono = now + LOG_EVERY_MS;
    }
    uint64_t total = b->dropped;
    pthread_mutex_unlock(&in->rate_lock);
    if (over) {
        atomic_fetch_add(&in->rate_dropped, over);
        if (log)
            BP_WARN("ingest",
                    "agent %s sends faster than [agents] rate = %.0f/s: dropped %zu message(s) "
                    "(%llu from it so far)",
                    b == &in->others ? "(one of many)" : agent, in->rate, over,
                    (unsigned long long)total);
    }
    return ok;
}

void col_ingest_free(struct col_ingest *in)
{
    if (!in)
        return;
    free(in->root);
    col_strmap_free(in->buckets, free);
    pthread_mutex_destroy(&in->rate_lock);
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
    ev->retained = bp_mqtt_delivering_retained();
    ev->query = NULL;
    memcpy(&ev->msg.hdr, &m->hdr, sizeof(m->hdr));
    memcpy(&ev->msg.u, &m->u, vsize);
    return ev;
}

/* Counts a message the rules thread's full queue could not take. */
static void count_dropped(struct col_ingest *in, uint64_t n)
{
    uint64_t total = atomic_fetch_add(&in->queue_dropped, n) + n;
    if (log_due(&in->next_drop_log_mono, bp_mono_ms()))
        BP_ERROR("ingest", "rules queue full: dropped %llu message(s) (%llu dropped so far)",
                 (unsigned long long)n, (unsigned long long)total);
}

static int push(struct col_ingest *in, const struct bp_msg *m);
static void on_batch(struct col_ingest *in, const char *topic, const void *payload, size_t len,
                     const struct bp_topic *t);

/* One time field: 0 (absent) or plausible, else err says which and by how much. */
static int check_time(const char *field, int64_t ts, int64_t now_wall, bool floor,
                      struct bp_msg_error *err)
{
    if (ts > now_wall + COL_TS_AHEAD_MAX_MS) {
        err->code = BP_MSG_ERR_RANGE;
        snprintf(err->detail, sizeof(err->detail),
                 "field '%s': %lld h ahead of the collector's clock (at most 24 h)", field,
                 (long long)((ts - now_wall) / 3600000));
        return -ERANGE;
    }
    if (floor && ts < COL_TS_FLOOR_MS) {
        err->code = BP_MSG_ERR_RANGE;
        snprintf(err->detail, sizeof(err->detail),
                 "field '%s': before 2020: the sender's clock is not set", field);
        return -ERANGE;
    }
    return 0;
}

int col_ingest_check_times(const struct bp_msg *m, int64_t now_wall, struct bp_msg_error *err)
{
    int64_t inner = 0;
    const char *name = "";
    if (m->hdr.type == BP_MSG_TRADE) {
        inner = m->u.trade.trade_ts;
        name = "trade.ts";
    } else if (m->hdr.type == BP_MSG_EVENT) {
        inner = m->u.event.event_ts;
        name = "event.ts";
    } else if (m->hdr.type == BP_MSG_HEARTBEAT) {
        inner = m->u.heartbeat.last_trade_ts;
        name = "last_trade_ts";
    }
    if (check_time("ts", m->hdr.ts, now_wall, true, err) < 0 ||
        check_time(name, inner, now_wall, false, err) < 0)
        return -ERANGE;
    return 0;
}

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
    if (t.type == BP_MSG_BATCH) {
        on_batch(in, topic, payload, len, &t);
        return;
    }
    /* trades are never dropped: each is stored exactly once, and the agent's spool bounds them */
    if (t.type != BP_MSG_TRADE && admit(in, t.agent, 1) == 0)
        return;
    if (bp_msg_decode(payload, len, &m, &err) < 0 || bp_msg_check_topic(&m, &t, &err) < 0 ||
        col_ingest_check_times(&m, bp_wall_ms(), &err) < 0) {
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
        count_dropped(in, 1);
        return ev ? -ENOBUFS : -ENOMEM;
    }
    atomic_fetch_add(&in->accepted, 1);
    return 0;
}

/* A batch: each item counts as one message, received, and then accepted or rejected on its own
 * (a bad item rejects only itself; a bad envelope, the whole batch as one message). The
 * accepted ones go to the rules thread together: one lock, one wake-up. */
static void on_batch(struct col_ingest *in, const char *topic, const void *payload, size_t len,
                     const struct bp_topic *t)
{
    struct bp_msg_error err = {0};
    struct bp_batch *b = NULL;
    if (bp_batch_open(payload, len, &b, &err) < 0 ||
        strcmp(bp_batch_header(b)->agent, t->agent) != 0) {
        if (b) {
            err.code = BP_MSG_ERR_TOPIC;
            snprintf(err.detail, sizeof(err.detail),
                     "batch of agent '%.60s' on agent '%.60s''s topic", bp_batch_header(b)->agent,
                     t->agent);
        }
        reject(in, topic, &err);
        bp_batch_free(b);
        return;
    }
    atomic_fetch_add(&in->batches, 1);
    atomic_fetch_add(&in->received, (uint64_t)bp_batch_count(b) - 1); /* the batch counted once */
    void *evs[BP_BATCH_MAX_ITEMS];
    size_t n = 0, oom = 0;
    struct bp_msg m;
    /* the first items its rate allows are read; the rest are dropped and counted there */
    size_t allowed = admit(in, t->agent, (size_t)bp_batch_count(b));
    size_t seen = 0;
    int64_t now_wall = bp_wall_ms();
    for (int rc; seen < allowed && (rc = bp_batch_next(b, &m, &err)) != 0; seen++) {
        if (rc < 0 || col_ingest_check_times(&m, now_wall, &err) < 0)
            reject(in, topic, &err);
        else if ((evs[n] = event_new(&m)) != NULL)
            n++;
        else
            oom++;
    }
    bp_batch_free(b);
    size_t pushed = n ? bp_queue_push_many(in->q, evs, n) : 0;
    for (size_t i = pushed; i < n; i++)
        free(evs[i]);
    atomic_fetch_add(&in->accepted, pushed);
    if (pushed < n || oom)
        count_dropped(in, n - pushed + oom);
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
    if (ev && ev->kind == COL_EV_TAKEOVER)
        col_takeover_free(ev->takeover);
    free(ev);
}

/* Queues an event that is not a fleet message (a connection change, an echo), received now. */
static int push_event(struct col_ingest *in, enum col_event_kind kind, int64_t echo_sent_mono)
{
    struct col_event *ev = calloc(1, sizeof(*ev)); /* rare: full size keeps it simple */
    if (!ev)
        return -ENOMEM;
    ev->kind = kind;
    ev->recv_mono = bp_mono_ms();
    ev->recv_wall = bp_wall_ms();
    ev->echo_sent_mono = echo_sent_mono;
    int rc = bp_queue_push(in->q, ev);
    if (rc < 0)
        free(ev);
    return rc;
}

int col_ingest_push_control(struct col_ingest *in, enum col_event_kind kind)
{
    int rc = push_event(in, kind, 0);
    if (rc == -ENOBUFS)
        BP_ERROR("ingest", "rules queue full: lost a connection event");
    return rc;
}

int col_ingest_push_echo(struct col_ingest *in, int64_t sent_mono)
{
    return push_event(in, COL_EV_ECHO, sent_mono);
}

void col_ingest_get_stats(struct col_ingest *in, struct col_ingest_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->received = atomic_load(&in->received);
    out->accepted = atomic_load(&in->accepted);
    out->queue_dropped = atomic_load(&in->queue_dropped);
    out->batches = atomic_load(&in->batches);
    out->rate_dropped = atomic_load(&in->rate_dropped);
    for (int i = 1; i < BP_MSG_ERR_COUNT; i++) {
        out->rejected[i] = atomic_load(&in->rejected[i]);
        out->rejected_total += out->rejected[i];
    }
}
