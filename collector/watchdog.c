/* SPDX-License-Identifier: MIT */
/* The collector's sd_notify thread: a ping through the rules thread's queue, then READY=1 or
 * WATCHDOG=1 only if the rules thread answered it. */
#include "watchdog.h"

#include "clock.h"
#include "log.h"
#include "query.h"
#include "queue.h"
#include "sdnotify.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define MOD "watchdog"

struct col_watchdog {
    struct bp_sdnotify *n;
    struct bp_queue *q;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool stop;
    _Atomic uint64_t pings;
};

/* True when the rules thread answers a ping within timeout_ms: it has turned since. */
static bool rules_thread_turns(struct bp_queue *q, int64_t timeout_ms)
{
    struct col_query *qr = col_query_new(COL_Q_PING);
    int rc = qr ? col_query_ask(qr, q, timeout_ms) : -ENOMEM;
    col_query_release(qr);
    return rc == 0;
}

/* Waits until mono time due or a stop; true if stopping. */
static bool wait_until(struct col_watchdog *w, int64_t due)
{
    struct timespec ts = {.tv_sec = due / 1000, .tv_nsec = (due % 1000) * 1000000};
    pthread_mutex_lock(&w->mu);
    while (!w->stop && bp_mono_ms() < due)
        pthread_cond_timedwait(&w->cond, &w->mu, &ts);
    bool stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

static void *run(void *arg)
{
    struct col_watchdog *w = arg;
    int64_t period = w->n->watchdog_ms > 0 ? w->n->watchdog_ms : 1000;
    int64_t next = bp_mono_ms();
    int64_t silent_since = 0; /* the rules thread stopped answering (0: it answers) */
    do {
        next += period;
        if (rules_thread_turns(w->q, period / 2 > 0 ? period / 2 : 1)) {
            if (silent_since)
                BP_INFO(MOD, "the rules thread answers again: watchdog pings resume");
            silent_since = 0;
            if (!w->n->ready) {
                bp_sdnotify_ready(w->n, "running");
                if (w->n->watchdog_ms <= 0)
                    break; /* nothing more to say */
            }
            if (w->n->watchdog_ms > 0 && bp_sdnotify_send(w->n, "WATCHDOG=1") == 0)
                atomic_fetch_add(&w->pings, 1);
        } else if (!silent_since) {
            silent_since = bp_mono_ms();
            BP_WARN(MOD, "the rules thread did not answer within %lld ms: no watchdog ping",
                    (long long)(period / 2));
        }
        int64_t now = bp_mono_ms();
        if (next < now)
            next = now; /* a slow answer: no burst of catch-up pings */
    } while (!wait_until(w, next));
    return NULL;
}

int col_watchdog_start(struct bp_sdnotify *n, struct bp_queue *q, struct col_watchdog **out)
{
    *out = NULL;
    if (n->fd < 0)
        return 0;
    struct col_watchdog *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->n = n;
    w->q = q;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    int rc = -pthread_create(&w->thread, NULL, run, w);
    if (rc < 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void col_watchdog_stop(struct col_watchdog *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

uint64_t col_watchdog_pings(struct col_watchdog *w)
{
    return w ? atomic_load(&w->pings) : 0;
}
