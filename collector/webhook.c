/* SPDX-License-Identifier: MIT */
/* A sink's delivery: a bounded queue of bodies and one thread that POSTs or mails them with
 * libcurl. */
#include "webhook.h"

#include "clock.h"
#include "log.h"
#include "secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MAX_MS 60000

struct col_webhook {
    char *name, *url;
    char host[256]; /* what the logs show beside the name: the URL holds the receiver's secret */
    bool smtp;      /* smtp:// or smtps://: each body is a mail */
    int64_t timeout_ms, backoff_ms;
    int retries;
    CURL *curl;
    struct curl_slist *headers; /* HTTP: the content type; SMTP: the recipients */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, stopping;
    int64_t drain_deadline; /* monotonic; meaningful once stopping */
    char **ring;
    size_t cap, head, count;
    struct col_webhook_stats stats; /* under mu */
};

/* libcurl wants somewhere to put the receiver's answer: we only need its status code. */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

/* The recipients of comma-separated addresses, each as "<a@b>"; NULL if none (or ENOMEM). */
static struct curl_slist *recipients(const char *list)
{
    struct curl_slist *rcpt = NULL;
    char buf[1024], one[300];
    snprintf(buf, sizeof(buf), "%s", list ? list : "");
    for (char *save = NULL, *a = strtok_r(buf, ", \t", &save); a;
         a = strtok_r(NULL, ", \t", &save)) {
        snprintf(one, sizeof(one), "<%s>", a);
        struct curl_slist *grown = curl_slist_append(rcpt, one);
        if (!grown) {
            curl_slist_free_all(rcpt);
            return NULL;
        }
        rcpt = grown;
    }
    return rcpt;
}

static void setup_http(CURL *c, struct curl_slist *headers)
{
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "botpulse-collector");
}

/* The envelope sender of "a@b" or "Name <a@b>", as "<a@b>". */
static void envelope_from(const char *from, char *buf, size_t size)
{
    const char *lt = from ? strchr(from, '<') : NULL;
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        snprintf(buf, size, "%.*s", (int)(gt - lt + 1), lt);
    else
        snprintf(buf, size, "<%s>", from ? from : "");
}

static void setup_smtp(CURL *c, const struct col_webhook_opts *o, struct curl_slist *rcpt)
{
    char from[300];
    envelope_from(o->mail_from, from, sizeof(from));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from); /* libcurl copies option strings */
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_USE_SSL,
                     o->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    if (o->username && o->username[0]) {
        curl_easy_setopt(c, CURLOPT_USERNAME, o->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
}

/* Frees what col_webhook_new allocated (not the lock and condition variable), and w. */
static void free_memory(struct col_webhook *w)
{
    curl_slist_free_all(w->headers);
    curl_easy_cleanup(w->curl);
    free(w->ring);
    free(w->url);
    free(w->name);
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
    w->name = strdup(opts->name && opts->name[0] ? opts->name : "webhook");
    bp_secret_url_host(opts->url, w->host, sizeof(w->host));
    w->smtp = strncmp(opts->url, "smtp://", 7) == 0 || strncmp(opts->url, "smtps://", 8) == 0;
    w->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    w->backoff_ms = opts->backoff_ms > 0 ? opts->backoff_ms : 1000;
    w->retries = opts->retries;
    w->cap = opts->queue_max;
    w->ring = calloc(w->cap, sizeof(*w->ring));
    w->curl = curl_easy_init();
    w->headers = w->smtp ? recipients(opts->mail_to)
                         : curl_slist_append(NULL, "Content-Type: application/json");
    pthread_condattr_t ca;
    int rc = w->smtp && !w->headers ? -EINVAL : -ENOMEM;
    if (w->url && w->name && w->ring && w->curl && w->headers &&
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
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* we have threads: no SIGALRM for DNS */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (w->smtp)
        setup_smtp(c, opts, w->headers);
    else
        setup_http(c, w->headers);
    *out = w;
    return 0;
}

/* What a mail's upload reads from: the rest of the body. */
struct upload {
    const char *p;
    size_t left;
};

static size_t read_body(char *buf, size_t size, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t len = size * n < u->left ? size * n : u->left;
    memcpy(buf, u->p, len);
    u->p += len;
    u->left -= len;
    return len;
}

/* One POST or one mail. Returns 2xx for delivered (an SMTP server's 250 is delivered as 200),
 * else the server's answer (HTTP status, or the SMTP reply code of the step that failed), or 0
 * when none came; err says why. */
static long attempt(struct col_webhook *w, const char *body, char *err, size_t errlen)
{
    struct upload u = {body, strlen(body)};
    if (w->smtp) {
        curl_easy_setopt(w->curl, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(w->curl, CURLOPT_READDATA, &u);
    } else {
        curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)u.left);
    }
    CURLcode rc = curl_easy_perform(w->curl);
    long status = 0;
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        if (status > 0)
            snprintf(err, errlen, "%s (%s %ld)", curl_easy_strerror(rc), w->smtp ? "SMTP" : "HTTP",
                     status);
        else
            snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        return w->smtp ? status : 0; /* an SMTP refusal fails the transfer with its code */
    }
    snprintf(err, errlen, "%s %ld", w->smtp ? "SMTP" : "HTTP", status);
    return w->smtp ? 200 : status;
}

/* An answer that sending the same again cannot change: an HTTP 4xx other than timeout and rate
 * limit (the request's fault), an SMTP 5xx (a permanent refusal; 4xx is "try later"). */
static bool permanent(const struct col_webhook *w, long status)
{
    if (w->smtp)
        return status >= 500 && status < 600;
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
    for (int tries = 0;; tries++) {
        pthread_mutex_unlock(&w->mu);
        long status = attempt(w, body, err, sizeof(err));
        pthread_mutex_lock(&w->mu);
        if (status >= 200 && status < 300) {
            w->stats.delivered++;
            w->stats.last_delivered_wall = bp_wall_ms();
            if (tries > 0)
                BP_INFO("webhook", "sink %s: delivered after %d retries", w->name, tries);
            return;
        }
        if (permanent(w, status) || tries >= w->retries) {
            w->stats.failed++;
            BP_ERROR("webhook", "sink %s (%s): alert not delivered after %d attempt(s): %s",
                     w->name, w->host, tries + 1, err);
            return;
        }
        if (tries == 0)
            BP_WARN("webhook", "sink %s (%s): delivery failed (%s): retrying", w->name, w->host,
                    err);
        if (!wait_until(w, bp_mono_ms() + backoff)) {
            w->stats.failed++;
            BP_ERROR("webhook", "sink %s (%s): alert not delivered: stopping (%s)", w->name,
                     w->host, err);
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
        BP_ERROR("webhook", "sink %s: %zu alert(s) still queued at shutdown: dropped", w->name,
                 w->count);
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
        BP_ERROR("webhook", "sink %s: queue full (%zu): alert dropped (%lld dropped so far)",
                 w->name, w->cap, (long long)dropped);
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
