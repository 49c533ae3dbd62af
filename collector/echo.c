/* SPDX-License-Identifier: MIT */
/* The collector's echo through the broker: a thread that sends, Paho's thread that hands what
 * comes back to the rules thread. The payload is "<run token> <monotonic ms>": an echo left
 * from another run (or another collector's) is not ours and says nothing. */
#include "echo.h"

#include "clock.h"
#include "ingest.h"
#include "log.h"
#include "mqtt.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MOD "echo"

struct col_echo {
    struct col_echo_opts o;
    char topic[256];
    char token[17]; /* random per run */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool stop;
    bool asap; /* col_echo_request: one now */
    _Atomic uint64_t sent;
    _Atomic int64_t last_back_mono; /* 0: none came back yet */
};

int col_echo_new(const struct col_echo_opts *o, struct col_echo **out)
{
    *out = NULL;
    if (o->interval_ms <= 0)
        return -EINVAL;
    struct col_echo *x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->o = *o;
    int n = snprintf(x->topic, sizeof(x->topic), "%s/echo/%s", o->root, o->id);
    if (n < 0 || (size_t)n >= sizeof(x->topic)) {
        free(x);
        return -EINVAL;
    }
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint64_t)bp_wall_ms() ^ (uint64_t)bp_mono_ms() << 20;
    snprintf(x->token, sizeof(x->token), "%016" PRIx64, r);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&x->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&x->mu, NULL);
    *out = x;
    return 0;
}

const char *col_echo_topic(const struct col_echo *x)
{
    return x->topic;
}

/* Waits until mono time due, an echo asked for, or a stop; true if stopping. */
static bool wait_until(struct col_echo *x, int64_t due)
{
    struct timespec ts;
    bp_mono_timespec(due, &ts);
    pthread_mutex_lock(&x->mu);
    while (!x->stop && !x->asap && bp_mono_ms() < due)
        pthread_cond_timedwait(&x->cond, &x->mu, &ts);
    x->asap = false;
    bool stop = x->stop;
    pthread_mutex_unlock(&x->mu);
    return stop;
}

void col_echo_request(void *ctx)
{
    struct col_echo *x = ctx;
    pthread_mutex_lock(&x->mu);
    x->asap = true;
    pthread_cond_signal(&x->cond);
    pthread_mutex_unlock(&x->mu);
}

/* Echoes that never come back at all are a broker refusing them (an ACL from before echoes),
 * not a cut: said once, since then a silent cut looks like the whole fleet going quiet. */
static void warn_if_refused(struct col_echo *x, bool *warned)
{
    if (*warned || atomic_load(&x->last_back_mono) != 0 ||
        atomic_load(&x->sent) * x->o.interval_ms < 10000)
        return;
    *warned = true;
    BP_WARN(MOD,
            "none of %llu echoes came back through the broker: let this login read and write "
            "%s (deploy/mosquitto/botpulse.acl); until then a link that silently drops "
            "everything is taken for every bot going silent",
            (unsigned long long)atomic_load(&x->sent), x->topic);
}

static void *run(void *arg)
{
    struct col_echo *x = arg;
    int64_t next = bp_mono_ms();
    bool warned = false;
    do {
        warn_if_refused(x, &warned);
        if (bp_mono_ms() >= next) /* the periodic one (else one asked for in between) */
            next += x->o.interval_ms;
        /* QoS 0 and only while connected: an echo must never wait in a buffer to be sent later */
        if (bp_mqtt_is_connected(x->o.mqtt)) {
            char payload[64];
            int n = snprintf(payload, sizeof(payload), "%s %" PRId64, x->token, bp_mono_ms());
            if (bp_mqtt_publish(x->o.mqtt, x->topic, payload, (size_t)n, 0, false) == 0)
                atomic_fetch_add(&x->sent, 1);
        }
        int64_t now = bp_mono_ms();
        if (next < now)
            next = now;
    } while (!wait_until(x, next));
    return NULL;
}

int col_echo_start(struct col_echo *x)
{
    int rc = -pthread_create(&x->thread, NULL, run, x);
    if (rc == 0)
        x->started = true;
    return rc;
}

bool col_echo_on_message(struct col_echo *x, const char *topic, const void *payload, size_t len)
{
    if (strcmp(topic, x->topic) != 0)
        return false;
    char buf[64];
    size_t tl = strlen(x->token);
    if (len >= sizeof(buf) || len <= tl + 1)
        return true;
    memcpy(buf, payload, len);
    buf[len] = '\0';
    if (memcmp(buf, x->token, tl) != 0 || buf[tl] != ' ')
        return true; /* another run's: says nothing about this one */
    char *end;
    errno = 0;
    long long sent = strtoll(buf + tl + 1, &end, 10);
    if (errno || *end || sent < 0 || sent > bp_mono_ms())
        return true;
    atomic_store(&x->last_back_mono, bp_mono_ms());
    col_ingest_push_echo(x->o.ingest, sent);
    return true;
}

bool col_echo_lost(struct col_echo *x, int64_t *silent_ms)
{
    int64_t last = x ? atomic_load(&x->last_back_mono) : 0;
    *silent_ms = last ? bp_mono_ms() - last : -1;
    return last && *silent_ms > x->o.timeout_ms;
}

void col_echo_stop(struct col_echo *x)
{
    if (!x || !x->started)
        return;
    pthread_mutex_lock(&x->mu);
    x->stop = true;
    pthread_cond_signal(&x->cond);
    pthread_mutex_unlock(&x->mu);
    pthread_join(x->thread, NULL);
    x->started = false;
}

void col_echo_free(struct col_echo *x)
{
    if (!x)
        return;
    col_echo_stop(x);
    pthread_cond_destroy(&x->cond);
    pthread_mutex_destroy(&x->mu);
    free(x);
}
