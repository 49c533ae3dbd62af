/* SPDX-License-Identifier: MIT */
/* The webhook sink: a bounded queue of bodies and one delivery thread using libcurl. */
#include "webhook.h"

#include "clock.h"
#include "log.h"
#include "secret.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MAX_MS 60000

struct col_webhook {
    char *url;
    char host[256]; /* what the logs show: the URL holds the receiver's secret */
    int64_t timeout_ms, backoff_ms;
    int retries;
    CURL *curl;
    struct curl_slist *headers;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, stopping;
    int64_t drain_deadline; /* monotonic; meaningful once stopping */
    char **ring;
    size_t cap, head, count;
    struct col_webhook_stats stats; /* under mu */
};

static const char *const format_names[] = {"alert", "slack", "discord", "telegram"};

int col_webhook_format_parse(const char *name, enum col_webhook_format *out)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (enum col_webhook_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

char *col_webhook_body(enum col_webhook_format f, const char *chat_id, const char *alert_json,
                       const char *text)
{
    if (f == COL_WEBHOOK_ALERT)
        return strdup(alert_json);
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    if (ok && f == COL_WEBHOOK_TELEGRAM)
        ok = cJSON_AddStringToObject(o, "chat_id", chat_id ? chat_id : "") != NULL;
    if (ok)
        ok =
            cJSON_AddStringToObject(o, f == COL_WEBHOOK_DISCORD ? "content" : "text", text) != NULL;
    char *body = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return body;
}

/* libcurl wants somewhere to put the receiver's answer: we only need its status code. */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

/* Frees what col_webhook_new allocated (not the lock and condition variable), and w. */
static void free_memory(struct col_webhook *w)
{
    curl_slist_free_all(w->headers);
    curl_easy_cleanup(w->curl);
    free(w->ring);
    free(w->url);
    free(w);
    curl_global_cleanup();
}

int col_webhook_new(const struct col_webhook_opts *opts, struct col_webhook **out)
{
    if (!opts->url || !opts->url[0] || opts->queue_max == 0)
        return -EINVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -EIO;
    struct col_webhook *w = calloc(1, sizeof(*w));
    if (!w) {
        curl_global_cleanup();
        return -ENOMEM;
    }
    w->url = strdup(opts->url);
    bp_secret_url_host(opts->url, w->host, sizeof(w->host));
    w->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    w->backoff_ms = opts->backoff_ms > 0 ? opts->backoff_ms : 1000;
    w->retries = opts->retries;
    w->cap = opts->queue_max;
    w->ring = calloc(w->cap, sizeof(*w->ring));
    w->curl = curl_easy_init();
    w->headers = curl_slist_append(NULL, "Content-Type: application/json");
    pthread_condattr_t ca;
    int rc = -ENOMEM;
    if (w->url && w->ring && w->curl && w->headers &&
        (rc = -pthread_mutex_init(&w->mu, NULL)) == 0) {
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        rc = -pthread_cond_init(&w->cv, &ca);
        pthread_condattr_destroy(&ca);
        if (rc)
            pthread_mutex_destroy(&w->mu);
    }
    if (rc) {
        free_memory(w);
        return rc;
    }
    CURL *c = w->curl;
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* we have threads: no SIGALRM for DNS */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "botpulse-collector");
    *out = w;
    return 0;
}

/* One POST. Returns the HTTP status, or 0 when no answer came (the reason in err). */
static long post(struct col_webhook *w, const char *body, char *err, size_t errlen)
{
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    CURLcode rc = curl_easy_perform(w->curl);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    snprintf(err, errlen, "HTTP %ld", status);
    return status;
}

/* A 4xx other than timeout and rate limit is the request's fault: sending it again fails too. */
static bool permanent(long status)
{
    return status >= 400 && status < 500 && status != 408 && status != 429;
}

/* Waits until mono_ms, or less if the stop's drain deadline comes first. Called with mu held;
 * returns false when the drain deadline has passed. */
static bool wait_until(struct col_webhook *w, int64_t mono_ms)
{
    for (;;) {
        int64_t until = mono_ms;
        if (w->stopping && w->drain_deadline < until)
            until = w->drain_deadline;
        if (bp_mono_ms() >= until)
            return !(w->stopping && bp_mono_ms() >= w->drain_deadline);
        struct timespec ts;
        bp_mono_timespec(until, &ts);
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
}

/* Delivers one body, retrying with backoff. Called and returns with mu held (released while
 * on the network and while waiting to retry). */
static void deliver(struct col_webhook *w, const char *body)
{
    char err[CURL_ERROR_SIZE + 32];
    int64_t backoff = w->backoff_ms;
    for (int attempt = 0;; attempt++) {
        pthread_mutex_unlock(&w->mu);
        long status = post(w, body, err, sizeof(err));
        pthread_mutex_lock(&w->mu);
        if (status >= 200 && status < 300) {
            w->stats.delivered++;
            if (attempt > 0)
                BP_INFO("webhook", "delivered after %d retries", attempt);
            return;
        }
        if (permanent(status) || attempt >= w->retries) {
            w->stats.failed++;
            BP_ERROR("webhook", "alert not delivered to %s after %d attempt(s): %s", w->host,
                     attempt + 1, err);
            return;
        }
        if (attempt == 0)
            BP_WARN("webhook", "delivery to %s failed (%s): retrying", w->host, err);
        if (!wait_until(w, bp_mono_ms() + backoff)) {
            w->stats.failed++;
            BP_ERROR("webhook", "alert not delivered to %s: stopping (%s)", w->host, err);
            return;
        }
        w->stats.retries++;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
}

static void *run(void *arg)
{
    struct col_webhook *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->count == 0 && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->count == 0 || (w->stopping && bp_mono_ms() >= w->drain_deadline))
            break;
        char *body = w->ring[w->head];
        w->ring[w->head] = NULL;
        w->head = (w->head + 1) % w->cap;
        w->count--;
        deliver(w, body);
        free(body);
    }
    if (w->count > 0) {
        BP_ERROR("webhook", "%zu alert(s) still queued at shutdown: dropped", w->count);
        w->stats.dropped += (int64_t)w->count;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int col_webhook_start(struct col_webhook *w)
{
    pthread_mutex_lock(&w->mu);
    int rc = w->started ? -EALREADY : -pthread_create(&w->thread, NULL, run, w);
    if (rc == 0)
        w->started = true;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int col_webhook_submit(struct col_webhook *w, char *body)
{
    pthread_mutex_lock(&w->mu);
    if (!body) { /* the caller ran out of memory building it: still an alert lost */
        w->stats.dropped++;
        pthread_mutex_unlock(&w->mu);
        return -ENOMEM;
    }
    if (w->count == w->cap || w->stopping) {
        w->stats.dropped++;
        int64_t dropped = w->stats.dropped;
        pthread_mutex_unlock(&w->mu);
        free(body);
        BP_ERROR("webhook", "queue full (%zu): alert dropped (%lld dropped so far)", w->cap,
                 (long long)dropped);
        return -ENOSPC;
    }
    w->ring[(w->head + w->count) % w->cap] = body;
    w->count++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void col_webhook_stop(struct col_webhook *w, int64_t drain_ms)
{
    pthread_mutex_lock(&w->mu);
    bool join = w->started && !w->stopping;
    w->stopping = true;
    w->drain_deadline = bp_mono_ms() + drain_ms;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (join)
        pthread_join(w->thread, NULL);
}

void col_webhook_free(struct col_webhook *w)
{
    if (!w)
        return;
    col_webhook_stop(w, 0);
    for (size_t i = 0; i < w->count; i++) /* never started: nothing took them */
        free(w->ring[(w->head + i) % w->cap]);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free_memory(w);
}

void col_webhook_get_stats(struct col_webhook *w, struct col_webhook_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    out->queued = (int64_t)w->count;
    pthread_mutex_unlock(&w->mu);
}
