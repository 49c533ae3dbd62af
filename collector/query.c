/* SPDX-License-Identifier: MIT */
/* Queries to the rules thread: reference counting, the wait, and the bot views. */
#include "query.h"

#include "clock.h"
#include "event.h"
#include "fleet.h"
#include "queue.h"
#include "strmap.h"

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
    col_strmap_free(qr->counts_by_account, free);
    col_strmap_free(qr->counts_by_host, free);
    free(qr->silences);
    free(qr);
}

static int ask_once(struct col_query *qr, struct bp_queue *q, int64_t deadline_mono);

int col_query_ask(struct col_query *qr, struct bp_queue *q, int64_t timeout_ms)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    int rc;
    do { /* page after page; the rules thread serves everyone else between them */
        pthread_mutex_lock(&qr->mu);
        qr->done = false;
        pthread_mutex_unlock(&qr->mu);
        rc = ask_once(qr, q, deadline);
    } while (rc == 0 && qr->rc == 0 && qr->more);
    return rc;
}

static int ask_once(struct col_query *qr, struct bp_queue *q, int64_t deadline_mono)
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
    bp_mono_timespec(deadline_mono, &ts); /* before the push: ev is not ours after */
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

static bool has_text(const struct col_bot *b, const char *t)
{
    return strstr(b->id, t) || strstr(b->account, t) || strstr(b->exchange, t) ||
           strstr(col_bot_host(b), t) || (b->agent && strstr(b->agent->id, t)) ||
           strstr(b->reason, t);
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
    if (f->text[0] && !has_text(b, f->text))
        return false;
    return !f->alert_open || b->alerts.n > 0;
}

static int count_in(struct col_strmap **m, const char *label, enum col_status st)
{
    struct col_group *g;
    if ((!*m && !(*m = col_strmap_new())) || !(g = col_group_of(*m, label)))
        return -ENOMEM;
    g->total++;
    g->by_status[st]++;
    return 0;
}

int col_query_count_bot(struct col_query *qr, const struct col_bot *b)
{
    qr->counts.total++;
    qr->counts.by_status[b->status]++;
    if (count_in(&qr->counts_by_account, b->account, b->status) < 0 ||
        count_in(&qr->counts_by_host, col_bot_host(b), b->status) < 0)
        return -ENOMEM;
    return 0;
}

static void copy_group(void *ctx, const char *key, void *v)
{
    struct col_strmap *to = ctx;
    const struct col_group *g = v;
    struct col_group *c;
    if (g->total > 0 && (c = malloc(sizeof(*c))) != NULL) {
        *c = *g;
        if (col_strmap_put(to, key, c) < 0)
            free(c);
    }
}

static bool matches_all(const struct col_query_filter *f)
{
    return !f->bot[0] && f->status < 0 && !f->account[0] && !f->host[0] && !f->exchange[0] &&
           !f->text[0] && !f->alert_open;
}

void col_query_page(struct col_query *qr, struct col_fleet *f)
{
    if (qr->kind == COL_Q_COUNTS && qr->next == 0 && matches_all(&qr->filter)) {
        /* the whole fleet: its own counters, O(accounts + hosts) */
        qr->counts = f->all;
        if (!(qr->counts_by_account = col_strmap_new()) ||
            !(qr->counts_by_host = col_strmap_new())) {
            qr->rc = -ENOMEM;
            return;
        }
        col_strmap_each(f->accounts, copy_group, qr->counts_by_account);
        col_strmap_each(f->hosts, copy_group, qr->counts_by_host);
        qr->more = false;
        return;
    }
    size_t end = qr->next + COL_QUERY_PAGE < f->norder ? qr->next + COL_QUERY_PAGE : f->norder;
    for (size_t i = qr->next; qr->rc == 0 && i < end; i++) {
        const struct col_bot *b = f->order[i];
        if (!col_query_matches(&qr->filter, b))
            continue;
        qr->rc = qr->kind == COL_Q_COUNTS ? col_query_count_bot(qr, b) : col_query_add_bot(qr, b);
    }
    qr->next = end;
    qr->more = end < f->norder;
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
    v->shard = b->agent ? b->agent->shard : -1;
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
