/* SPDX-License-Identifier: MIT */
/* Queries to the rules thread: reference counting, the wait, and the bot views. */
#include "query.h"

#include "clock.h"
#include "event.h"
#include "fleet.h"
#include "queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct col_query *col_query_new(enum col_query_kind kind)
{
    struct col_query *qr = calloc(1, sizeof(*qr));
    if (!qr)
        return NULL;
    qr->kind = kind;
    qr->filter.status = -1;
    qr->refs = 1;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&qr->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&qr->mu, NULL);
    return qr;
}

void col_query_release(struct col_query *qr)
{
    if (!qr)
        return;
    pthread_mutex_lock(&qr->mu);
    int left = --qr->refs;
    pthread_mutex_unlock(&qr->mu);
    if (left > 0)
        return;
    pthread_cond_destroy(&qr->cond);
    pthread_mutex_destroy(&qr->mu);
    free(qr->bots);
    free(qr->alerts);
    free(qr->silences);
    free(qr);
}

int col_query_ask(struct col_query *qr, struct bp_queue *q, int64_t timeout_ms)
{
    struct col_event *ev = calloc(1, sizeof(*ev)); /* full size: a right-sized one trips
                                                      -Warray-bounds; queries are rare */
    if (!ev)
        return -ENOMEM;
    ev->kind = COL_EV_QUERY;
    ev->recv_mono = bp_mono_ms();
    ev->recv_wall = bp_wall_ms();
    ev->query = qr;
    struct timespec ts;
    bp_mono_timespec(ev->recv_mono + timeout_ms, &ts); /* before the push: ev is not ours after */
    pthread_mutex_lock(&qr->mu);
    qr->refs++; /* the queue's */
    pthread_mutex_unlock(&qr->mu);
    if (bp_queue_push(q, ev) < 0) {
        free(ev);
        col_query_release(qr);
        return -ENOBUFS;
    }
    int rc = 0;
    pthread_mutex_lock(&qr->mu);
    while (!qr->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&qr->cond, &qr->mu, &ts);
    bool done = qr->done;
    pthread_mutex_unlock(&qr->mu);
    return done ? 0 : -ETIMEDOUT;
}

bool col_query_matches(const struct col_query_filter *f, const struct col_bot *b)
{
    if (f->bot[0] && strcmp(f->bot, b->id) != 0)
        return false;
    if (f->status >= 0 && (int)b->status != f->status)
        return false;
    if (f->account[0] && strcmp(f->account, b->account) != 0)
        return false;
    if (f->exchange[0] && strcmp(f->exchange, b->exchange) != 0)
        return false;
    if (f->host[0] && strcmp(f->host, col_bot_host(b)) != 0)
        return false;
    return !f->alert_open || b->alerts.n > 0;
}

/* Copies b's open alerts after the query's others; v (b's view) points at them. */
static int add_alerts(struct col_query *qr, struct col_bot_view *v, const struct col_bot *b)
{
    v->alerts_first = qr->nalerts;
    if (qr->nalerts + (size_t)b->alerts.n > qr->alerts_cap) {
        size_t cap = qr->alerts_cap ? qr->alerts_cap * 2 : 16;
        while (cap < qr->nalerts + (size_t)b->alerts.n)
            cap *= 2;
        struct col_alert_view *a = realloc(qr->alerts, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        qr->alerts = a;
        qr->alerts_cap = cap;
    }
    for (int i = 0; i < b->alerts.n; i++) {
        const struct col_alert *in = &b->alerts.v[i];
        struct col_alert_view *a = &qr->alerts[qr->nalerts++];
        snprintf(a->bot, sizeof(a->bot), "%s", b->id);
        snprintf(a->alert_id, sizeof(a->alert_id), "%s", in->id);
        a->severity = in->severity;
        snprintf(a->check, sizeof(a->check), "%s", in->check);
        snprintf(a->reason, sizeof(a->reason), "%s", in->reason);
        a->opened_at = in->opened_at;
        a->repeats = in->repeats;
        a->announced = in->announced;
    }
    v->nalerts = (size_t)b->alerts.n;
    return 0;
}

int col_query_add_bot(struct col_query *qr, const struct col_bot *b)
{
    if (qr->nbots == qr->cap) {
        size_t cap = qr->cap ? qr->cap * 2 : 16;
        struct col_bot_view *v = realloc(qr->bots, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        qr->bots = v;
        qr->cap = cap;
    }
    struct col_bot_view *v = &qr->bots[qr->nbots++];
    memset(v, 0, sizeof(*v));
    col_bot_snapshot_take(b, &v->snap);
    v->agent_online = b->agent && !b->agent->offline;
    v->intended_stopped = b->limits->intended_stopped;
    v->intended_by_operator = b->intent != COL_INTENT_CONFIG;
    const struct col_alert *w = col_alerts_worst(&b->alerts);
    v->alert_open = w != NULL;
    if (w) {
        snprintf(v->alert_id, sizeof(v->alert_id), "%s", w->id);
        v->alert_severity = w->severity;
        snprintf(v->alert_check, sizeof(v->alert_check), "%s", w->check);
        v->alert_opened_at = w->opened_at;
    }
    return add_alerts(qr, v, b);
}

void col_query_finish(struct col_query *qr)
{
    pthread_mutex_lock(&qr->mu);
    qr->done = true;
    pthread_cond_signal(&qr->cond);
    pthread_mutex_unlock(&qr->mu);
    col_query_release(qr);
}
