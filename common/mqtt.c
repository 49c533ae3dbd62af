/* SPDX-License-Identifier: MIT */
/* The MQTT client both daemons use, over Paho MQTTAsync: reconnects, Will, resubscribe,
 * offline buffer. Paho's callbacks run on Paho's threads; we only copy and forward. */
#include "mqtt.h"

#include "clock.h"
#include "log.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SUBS 16

struct sub {
    char *filter;
    int qos;
};

struct bp_mqtt {
    MQTTAsync client;
    struct bp_mqtt_opts opts; /* strings below are our own copies */
    char *url, *client_id, *username, *password, *ca_file, *will_topic, *will_payload, *persist_dir;
    pthread_mutex_t lock; /* guards subs */
    struct sub subs[MAX_SUBS];
    int nsubs;
    atomic_bool connected;
    atomic_bool ever_connected;
    atomic_uint_fast64_t connects, published, dropped_offline, dropped_full, received;
    atomic_int inflight; /* handed to Paho, not yet sent (QoS 0) or acknowledged (QoS 1) */
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int mkdir_p(const char *path)
{
    char buf[1024];
    if (strlen(path) >= sizeof(buf))
        return -ENAMETOOLONG;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static void resubscribe(struct bp_mqtt *m)
{
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->nsubs; i++) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        int rc = MQTTAsync_subscribe(m->client, m->subs[i].filter, m->subs[i].qos, &ro);
        if (rc != MQTTASYNC_SUCCESS)
            BP_WARN("mqtt", "subscribe %s failed: %s", m->subs[i].filter, MQTTAsync_strerror(rc));
    }
    pthread_mutex_unlock(&m->lock);
}

static void resync_inflight(struct bp_mqtt *m);
static void on_delivered(void *ctx, MQTTAsync_token token);

static void on_connected(void *ctx, char *cause)
{
    struct bp_mqtt *m = ctx;
    resync_inflight(m);
    bool reconnect = atomic_exchange(&m->ever_connected, true);
    atomic_store(&m->connected, true);
    atomic_fetch_add(&m->connects, 1);
    BP_INFO("mqtt", "connected to %s as %s%s", m->url, m->client_id,
            reconnect ? " (reconnect)" : "");
    resubscribe(m);
    if (m->opts.on_connected)
        m->opts.on_connected(m->opts.ctx, reconnect);
}

static void on_lost(void *ctx, char *cause)
{
    struct bp_mqtt *m = ctx;
    atomic_store(&m->connected, false);
    resync_inflight(m);
    BP_WARN("mqtt", "connection to %s lost%s%s; reconnecting with backoff", m->url,
            cause ? ": " : "", cause ? cause : "");
    if (m->opts.on_lost)
        m->opts.on_lost(m->opts.ctx, cause);
}

/* Set on Paho's receive thread while on_message runs (bp_mqtt_delivering_retained). */
static _Thread_local bool delivering_retained;

bool bp_mqtt_delivering_retained(void)
{
    return delivering_retained;
}

static int on_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    struct bp_mqtt *m = ctx;
    atomic_fetch_add(&m->received, 1);
    delivering_retained = msg->retained != 0;
    if (m->opts.on_message)
        m->opts.on_message(m->opts.ctx, topic, msg->payload, (size_t)msg->payloadlen);
    delivering_retained = false;
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

static void on_connect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    struct bp_mqtt *m = ctx;
    BP_WARN("mqtt", "connect to %s failed (%s); retrying with backoff", m->url,
            resp && resp->message ? resp->message : MQTTAsync_strerror(resp ? resp->code : -1));
}

static int copy_opts(struct bp_mqtt *m, const struct bp_mqtt_opts *o)
{
    m->opts = *o;
    m->url = dup_or_null(o->url);
    m->client_id = dup_or_null(o->client_id);
    m->username = dup_or_null(o->username && *o->username ? o->username : NULL);
    m->password = dup_or_null(o->password && *o->password ? o->password : NULL);
    m->ca_file = dup_or_null(o->ca_file && *o->ca_file ? o->ca_file : NULL);
    m->will_topic = dup_or_null(o->will_topic);
    m->will_payload = dup_or_null(o->will_payload);
    m->persist_dir = dup_or_null(o->persist_dir);
    if (!m->url || !m->client_id)
        return -EINVAL;
    return 0;
}

int bp_mqtt_new(const struct bp_mqtt_opts *opts, struct bp_mqtt **out)
{
    struct bp_mqtt *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    int rc = copy_opts(m, opts);
    if (rc < 0)
        goto out;
    if (m->persist_dir && (rc = mkdir_p(m->persist_dir)) < 0) {
        BP_ERROR("mqtt", "cannot create %s: %s", m->persist_dir, strerror(-rc));
        goto out;
    }
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.sendWhileDisconnected = opts->max_buffered > 0;
    /* Paho also applies this bound to publishes queued while connected: never 1 */
    co.maxBufferedMessages = opts->max_buffered > 0 ? opts->max_buffered : 10000;
    co.deleteOldestMessages = 0;
    co.restoreMessages = 1;
    co.persistQoS0 = 0;
    int ptype = m->persist_dir ? MQTTCLIENT_PERSISTENCE_DEFAULT : MQTTCLIENT_PERSISTENCE_NONE;
    int prc =
        MQTTAsync_createWithOptions(&m->client, m->url, m->client_id, ptype, m->persist_dir, &co);
    if (prc != MQTTASYNC_SUCCESS) {
        BP_ERROR("mqtt", "cannot create client for %s: %s", m->url, MQTTAsync_strerror(prc));
        rc = -EINVAL;
        goto out;
    }
    MQTTAsync_setCallbacks(m->client, m, on_lost, on_arrived, on_delivered);
    MQTTAsync_setConnected(m->client, m, on_connected);
    *out = m;
    return 0;
out:
    bp_mqtt_free(m);
    return rc;
}

int bp_mqtt_start(struct bp_mqtt *m)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    co.keepAliveInterval = m->opts.keepalive_s > 0 ? m->opts.keepalive_s : 20;
    co.cleansession = m->opts.clean_session;
    co.automaticReconnect = 1;
    co.minRetryInterval = m->opts.min_retry_s > 0 ? m->opts.min_retry_s : 1;
    co.maxRetryInterval = m->opts.max_retry_s > 0 ? m->opts.max_retry_s : BP_MQTT_MAX_RETRY_S;
    co.connectTimeout = 10;
    co.username = m->username;
    co.password = m->password;
    co.onFailure = on_connect_failure;
    co.context = m;
    if (m->will_topic && m->will_payload) {
        will.topicName = m->will_topic;
        will.message = m->will_payload;
        will.qos = m->opts.will_qos;
        will.retained = m->opts.will_retain;
        co.will = &will;
    }
    if (strncmp(m->url, "ssl://", 6) == 0 || strncmp(m->url, "mqtts://", 8) == 0) {
        ssl.trustStore = m->ca_file;
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1;
        co.ssl = &ssl;
    }
    int rc = MQTTAsync_connect(m->client, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        BP_ERROR("mqtt", "cannot start connecting to %s: %s", m->url, MQTTAsync_strerror(rc));
        return -ECONNREFUSED;
    }
    return 0;
}

int bp_mqtt_subscribe(struct bp_mqtt *m, const char *topic_filter, int qos)
{
    pthread_mutex_lock(&m->lock);
    if (m->nsubs == MAX_SUBS) {
        pthread_mutex_unlock(&m->lock);
        return -ENOSPC;
    }
    char *f = strdup(topic_filter);
    if (!f) {
        pthread_mutex_unlock(&m->lock);
        return -ENOMEM;
    }
    m->subs[m->nsubs].filter = f;
    m->subs[m->nsubs].qos = qos;
    m->nsubs++;
    pthread_mutex_unlock(&m->lock);
    if (!atomic_load(&m->connected))
        return 0; /* requested on the next connect */
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc = MQTTAsync_subscribe(m->client, topic_filter, qos, &ro);
    return rc == MQTTASYNC_SUCCESS ? 0 : -EIO;
}

/* QoS 0: written, or failed (Paho calls these once the command is done with). QoS 1 is counted
 * by Paho's deliveryComplete instead: a per-publish onSuccess keeps the command in Paho's
 * response list, and after a reconnect Paho's retry frees the topic that command still points
 * to (a use-after-free on Paho's receive thread, seen under AddressSanitizer). */
static void done_one(struct bp_mqtt *m)
{
    int n = atomic_load(&m->inflight); /* never below 0: a resync may have counted it already */
    while (n > 0 && !atomic_compare_exchange_weak(&m->inflight, &n, n - 1))
        ;
}

static void on_sent(void *ctx, MQTTAsync_successData *d)
{
    (void)d;
    done_one(ctx);
}

static void on_send_failed(void *ctx, MQTTAsync_failureData *d)
{
    (void)d;
    done_one(ctx);
}

static void on_delivered(void *ctx, MQTTAsync_token token)
{
    (void)token;
    done_one(ctx);
}

/* The QoS 1 messages Paho still holds, counted afresh (on connect and on loss: Paho keeps,
 * resends or drops them then, and the count must not drift). */
static void resync_inflight(struct bp_mqtt *m)
{
    int n = bp_mqtt_pending(m);
    if (n >= 0)
        atomic_store(&m->inflight, n);
}

int bp_mqtt_publish(struct bp_mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                    bool retain)
{
    bool up = atomic_load(&m->connected);
    if (!up && (qos == 0 || m->opts.max_buffered <= 0)) {
        atomic_fetch_add(&m->dropped_offline, 1);
        return -ENOTCONN;
    }
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    if (qos == 0) {
        ro.onSuccess = on_sent;
        ro.onFailure = on_send_failed;
        ro.context = m;
    }
    atomic_fetch_add(&m->inflight, 1);
    int rc = MQTTAsync_send(m->client, topic, (int)len, payload, qos, retain, &ro);
    if (rc == MQTTASYNC_SUCCESS) {
        atomic_fetch_add(&m->published, 1);
        return 0;
    }
    atomic_fetch_sub(&m->inflight, 1); /* not taken: no callback will come */
    if (rc == MQTTASYNC_MAX_BUFFERED_MESSAGES) {
        atomic_fetch_add(&m->dropped_full, 1);
        return -ENOBUFS;
    }
    atomic_fetch_add(&m->dropped_offline, 1);
    return rc == MQTTASYNC_DISCONNECTED ? -ENOTCONN : -EIO;
}

bool bp_mqtt_is_connected(struct bp_mqtt *m)
{
    return atomic_load(&m->connected);
}

int bp_mqtt_wait_connected(struct bp_mqtt *m, int64_t timeout_ms)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    while (!atomic_load(&m->connected)) {
        if (bp_mono_ms() >= deadline)
            return -ETIMEDOUT;
        bp_sleep_ms(10);
    }
    return 0;
}

int bp_mqtt_inflight(struct bp_mqtt *m)
{
    return atomic_load(&m->inflight);
}

int bp_mqtt_pending(struct bp_mqtt *m)
{
    MQTTAsync_token *tokens = NULL;
    if (MQTTAsync_getPendingTokens(m->client, &tokens) != MQTTASYNC_SUCCESS)
        return -EIO;
    int n = 0;
    while (tokens && tokens[n] != -1)
        n++;
    MQTTAsync_free(tokens);
    return n;
}

int bp_mqtt_flush(struct bp_mqtt *m, int64_t timeout_ms)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    while (bp_mqtt_pending(m) > 0) {
        if (bp_mono_ms() >= deadline)
            return -ETIMEDOUT;
        bp_sleep_ms(10);
    }
    return 0;
}

void bp_mqtt_get_stats(struct bp_mqtt *m, struct bp_mqtt_stats *out)
{
    out->connects = atomic_load(&m->connects);
    out->published = atomic_load(&m->published);
    out->dropped_offline = atomic_load(&m->dropped_offline);
    out->dropped_full = atomic_load(&m->dropped_full);
    out->received = atomic_load(&m->received);
}

void bp_mqtt_stop(struct bp_mqtt *m, int timeout_ms)
{
    if (!m || !m->client)
        return;
    MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer;
    dopts.timeout = timeout_ms;
    if (MQTTAsync_isConnected(m->client))
        MQTTAsync_disconnect(m->client, &dopts);
    /* disconnect is asynchronous: wait (bounded) until Paho says it is done */
    int64_t deadline = bp_mono_ms() + timeout_ms + 100;
    while (MQTTAsync_isConnected(m->client) && bp_mono_ms() < deadline)
        bp_sleep_ms(5);
    atomic_store(&m->connected, false);
}

void bp_mqtt_free(struct bp_mqtt *m)
{
    if (!m)
        return;
    if (m->client)
        MQTTAsync_destroy(&m->client);
    for (int i = 0; i < m->nsubs; i++)
        free(m->subs[i].filter);
    free(m->url);
    free(m->client_id);
    free(m->username);
    free(m->password);
    free(m->ca_file);
    free(m->will_topic);
    free(m->will_payload);
    free(m->persist_dir);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
