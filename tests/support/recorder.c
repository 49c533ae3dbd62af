/* SPDX-License-Identifier: MIT */
/* The test's ears and mouth on MQTT: a recorder that keeps every message matching its filters
 * (through our own bp_mqtt wrapper), anonymous or logged in as a broker user, and waits for or
 * expects messages by their JSON fields; and a one-shot publisher. */
#include "fixture.h"
#include "fixture_internal.h"

#include "clock.h"
#include "mqtt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_MS 20
#define CONNECT_MS 10000
#define SUBSCRIBE_MS 10000
#define FLUSH_MS 10000
#define PROBE_PREFIX "bpt-probe/"

struct rec_msg {
    struct rec_msg *next;
    char *topic;
    char *payload; /* NUL-terminated copy */
    size_t len;
};

#define FILTERS_MAX 4

struct bpt_rec {
    struct bpt_env *env;
    struct bp_mqtt *mqtt;
    char filters[FILTERS_MAX][256];
    int nfilters;
    char user[64];
    char probe_topic[128]; /* our own echo, to know the subscription is in place */
    pthread_mutex_t lock;
    struct rec_msg *head, *tail; /* oldest first */
    bool probe_seen;
};

/* Client ids unique across processes (the env dir's random suffix) and within the env. */
static void client_id(struct bpt_env *env, char *buf, size_t size, const char *kind)
{
    const char *suffix = strrchr(env->dir, '-');
    snprintf(buf, size, "bpt-%s-%s-%d", kind, suffix ? suffix + 1 : "x", ++env->client_seq);
}

/* Paho's thread: copy the message onto the list. */
static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct bpt_rec *rec = ctx;
    struct rec_msg *m;

    if (strncmp(topic, PROBE_PREFIX, strlen(PROBE_PREFIX)) == 0) { /* any recorder's probe */
        pthread_mutex_lock(&rec->lock);
        rec->probe_seen |= strcmp(topic, rec->probe_topic) == 0;
        pthread_mutex_unlock(&rec->lock);
        return;
    }
    m = calloc(1, sizeof(*m));
    if (!m || !(m->topic = strdup(topic)) || !(m->payload = malloc(len + 1))) {
        if (m)
            free(m->topic);
        free(m);
        return;
    }
    memcpy(m->payload, payload, len);
    m->payload[len] = '\0';
    m->len = len;
    pthread_mutex_lock(&rec->lock);
    if (rec->tail)
        rec->tail->next = m;
    else
        rec->head = m;
    rec->tail = m;
    pthread_mutex_unlock(&rec->lock);
}

/* Publishes to our probe topic until it comes back: then the broker has processed our
 * SUBSCRIBE for the filter too, which was sent before the probe's. */
static int wait_subscribed(struct bpt_rec *rec)
{
    int64_t deadline = bp_mono_ms() + SUBSCRIBE_MS;

    while (bp_mono_ms() < deadline) {
        bp_mqtt_publish(rec->mqtt, rec->probe_topic, "probe", 5, 0, false);
        for (int i = 0; i < 10; i++) {
            bp_sleep_ms(POLL_MS);
            pthread_mutex_lock(&rec->lock);
            bool seen = rec->probe_seen;
            pthread_mutex_unlock(&rec->lock);
            if (seen)
                return 0;
        }
    }
    return -ETIMEDOUT;
}

/* Logged in, a recorder may not read its own echo (the ACL): its QoS 1 publish after the
 * SUBSCRIBEs is acknowledged only once the broker has processed them (one connection's packets
 * are handled in order), whether the ACL lets the publish through or not. */
static int wait_subscribed_as_user(struct bpt_rec *rec)
{
    int rc = bp_mqtt_publish(rec->mqtt, rec->probe_topic, "probe", 5, 1, false);
    return rc == 0 ? bp_mqtt_flush(rec->mqtt, SUBSCRIBE_MS) : rc;
}

static struct bpt_rec *rec_start(struct bpt_env *env, const char *const *filters, const char *user,
                                 const char *password)
{
    char id[96];
    struct bpt_rec *rec = calloc(1, sizeof(*rec));
    int rc;

    if (!rec)
        return NULL;
    rec->env = env;
    pthread_mutex_init(&rec->lock, NULL);
    for (; *filters && rec->nfilters < FILTERS_MAX; filters++)
        snprintf(rec->filters[rec->nfilters++], sizeof(rec->filters[0]), "%s", *filters);
    snprintf(rec->user, sizeof(rec->user), "%s", user ? user : "");
    client_id(env, id, sizeof(id), "rec");
    snprintf(rec->probe_topic, sizeof(rec->probe_topic), PROBE_PREFIX "%s", id);
    /* A persistent session: QoS 1 messages published while we reconnect after a broker
     * restart are queued for us, as they are for the daemons. */
    struct bp_mqtt_opts opts = {.url = bpt_broker_tools_url(env),
                                .client_id = id,
                                .username = user ? user : BPT_OBSERVER_LOGIN,
                                .password =
                                    user ? password : bpt_broker_login(env, BPT_OBSERVER_LOGIN),
                                .keepalive_s = 10,
                                .clean_session = false,
                                .min_retry_s = 1,
                                .max_retry_s = 2,
                                .on_message = on_message,
                                .ctx = rec};
    rc = bp_mqtt_new(&opts, &rec->mqtt);
    if (rc == 0)
        rc = bp_mqtt_start(rec->mqtt);
    if (rc == 0)
        rc = bp_mqtt_wait_connected(rec->mqtt, CONNECT_MS);
    for (int i = 0; rc == 0 && i < rec->nfilters; i++)
        rc = bp_mqtt_subscribe(rec->mqtt, rec->filters[i], 1);
    if (rc == 0 && !user)
        rc = bp_mqtt_subscribe(rec->mqtt, rec->probe_topic, 0);
    if (rc == 0)
        rc = user ? wait_subscribed_as_user(rec) : wait_subscribed(rec);
    if (rc != 0) {
        bpt_note(env, "recorder for %s on %s%s%s: %s", rec->filters[0], bpt_broker_tools_url(env),
                 user ? " as " : "", user ? user : "", strerror(-rc));
        bpt_rec_free(rec);
        return NULL;
    }
    return rec;
}

struct bpt_rec *bpt_rec_new(struct bpt_env *env, const char *filter)
{
    const char *filters[] = {filter, NULL};
    return rec_start(env, filters, NULL, NULL);
}

struct bpt_rec *bpt_rec_new_as(struct bpt_env *env, const char *user, const char *password,
                               const char *const *filters)
{
    return rec_start(env, filters, user, password);
}

int bpt_rec_publish(struct bpt_rec *rec, const char *topic, const char *payload)
{
    int rc = bp_mqtt_publish(rec->mqtt, topic, payload, strlen(payload), 1, false);
    return rc == 0 ? bp_mqtt_flush(rec->mqtt, FLUSH_MS) : rc;
}

static void free_list(struct rec_msg *m)
{
    while (m) {
        struct rec_msg *next = m->next;
        free(m->topic);
        free(m->payload);
        free(m);
        m = next;
    }
}

void bpt_rec_free(struct bpt_rec *rec)
{
    if (!rec)
        return;
    if (rec->mqtt) {
        bp_mqtt_stop(rec->mqtt, 1000);
        bp_mqtt_free(rec->mqtt);
    }
    free_list(rec->head);
    pthread_mutex_destroy(&rec->lock);
    free(rec);
}

/* What a wanted message has: substrings of its payload, or "key=value" JSON fields. */
struct want {
    const char *const *needles;
    const char *const *fields;
};

static bool msg_matches(const struct rec_msg *m, const char *topic_filter, const struct want *w)
{
    if (!bpt_topic_matches(topic_filter, m->topic))
        return false;
    for (size_t i = 0; w->needles && w->needles[i]; i++)
        if (!strstr(m->payload, w->needles[i]))
            return false;
    return !w->fields || bpt_json_fields(m->payload, w->fields, NULL, 0);
}

/* A copy of the newest matching payload and the number of matches; call with the lock held. */
static char *find_locked(struct bpt_rec *rec, const char *topic_filter, const struct want *w,
                         int *count)
{
    const struct rec_msg *newest = NULL;

    *count = 0;
    for (const struct rec_msg *m = rec->head; m; m = m->next) {
        if (msg_matches(m, topic_filter, w)) {
            newest = m;
            (*count)++;
        }
    }
    return newest ? strdup(newest->payload) : NULL;
}

static char *wait_for(struct bpt_rec *rec, const char *topic_filter, const struct want *w,
                      int64_t timeout_ms)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    char *found;
    int count;

    for (;;) {
        pthread_mutex_lock(&rec->lock);
        found = find_locked(rec, topic_filter, w, &count);
        pthread_mutex_unlock(&rec->lock);
        if (found || bp_mono_ms() >= deadline)
            return found;
        bp_sleep_ms(POLL_MS);
    }
}

char *bpt_rec_wait(struct bpt_rec *rec, const char *topic_filter, const char *const *needles,
                   int64_t timeout_ms)
{
    struct want w = {.needles = needles};
    return wait_for(rec, topic_filter, &w, timeout_ms);
}

int bpt_rec_count(struct bpt_rec *rec, const char *topic_filter, const char *const *needles)
{
    struct want w = {.needles = needles};
    int count;

    pthread_mutex_lock(&rec->lock);
    free(find_locked(rec, topic_filter, &w, &count));
    pthread_mutex_unlock(&rec->lock);
    return count;
}

char *bpt_rec_wait_fields(struct bpt_rec *rec, const char *topic_filter, int64_t timeout_ms,
                          const char *const *fields)
{
    struct want w = {.fields = fields};
    return wait_for(rec, topic_filter, &w, timeout_ms);
}

void bpt_expect_msg_at(struct bpt_rec *rec, const char *file, int line, const char *topic_filter,
                       int64_t timeout_ms, const char *const *fields)
{
    char *found = bpt_rec_wait_fields(rec, topic_filter, timeout_ms, fields);
    if (found) {
        free(found);
        return;
    }
    struct want any = {0};
    char why[300] = "nothing at all on that topic";
    char *last = wait_for(rec, topic_filter, &any, 0);
    if (last)
        bpt_json_fields(last, fields, why, sizeof(why));
    bpt_fail(rec->env, file, line, "no message on %s with %s%s within %lld ms (the newest: %s: %s)",
             topic_filter, fields[0] ? fields[0] : "", fields[0] && fields[1] ? ", ..." : "",
             (long long)timeout_ms, last ? last : "none", why);
}

void bpt_rec_clear(struct bpt_rec *rec)
{
    struct rec_msg *old;

    pthread_mutex_lock(&rec->lock);
    old = rec->head;
    rec->head = rec->tail = NULL;
    pthread_mutex_unlock(&rec->lock);
    free_list(old);
}

/* Disconnects and frees one kept publisher (nothing if the slot is empty). */
static void pub_close(struct bpt_pub *p)
{
    if (!p->mqtt)
        return;
    bp_mqtt_stop(p->mqtt, 1000);
    bp_mqtt_free(p->mqtt);
    p->mqtt = NULL;
}

void bpt_publisher_drop(struct bpt_env *env)
{
    for (int i = 0; i < BPT_MAX_PUBS; i++)
        pub_close(&env->pubs[i]);
}

/* The kept client of user, or a free slot for it (the oldest one is dropped when all are
 * taken). */
static struct bpt_pub *pub_slot(struct bpt_env *env, const char *user)
{
    struct bpt_pub *free_slot = NULL;
    for (int i = 0; i < BPT_MAX_PUBS; i++) {
        if (env->pubs[i].mqtt && strcmp(env->pubs[i].user, user) == 0)
            return &env->pubs[i];
        if (!env->pubs[i].mqtt && !free_slot)
            free_slot = &env->pubs[i];
    }
    if (!free_slot) {
        free_slot = &env->pubs[0];
        pub_close(free_slot);
    }
    snprintf(free_slot->user, sizeof(free_slot->user), "%s", user);
    return free_slot;
}

/* Paho makes each new client in a process wait up to ~2 s for its CONNACK (its receive
 * thread polls with a 1 s timeout), so one publisher per login is kept per broker instance. */
static int publisher(struct bpt_env *env, const char *topic, struct bp_mqtt **out)
{
    char id[96], user[80];
    int rc = 0;

    bpt_broker_login_for_topic(topic, user, sizeof(user));
    const char *password = bpt_broker_login(env, user);
    if (!password)
        return -EACCES;
    struct bpt_pub *p = pub_slot(env, user);
    if (!p->mqtt) {
        client_id(env, id, sizeof(id), "pub");
        struct bp_mqtt_opts opts = {.url = bpt_broker_tools_url(env),
                                    .client_id = id,
                                    .username = user,
                                    .password = password,
                                    .clean_session = true,
                                    .min_retry_s = 1,
                                    .max_retry_s = 2};
        rc = bp_mqtt_new(&opts, &p->mqtt);
        if (rc == 0)
            rc = bp_mqtt_start(p->mqtt);
    }
    if (rc == 0)
        rc = bp_mqtt_wait_connected(p->mqtt, CONNECT_MS);
    if (rc != 0)
        pub_close(p);
    *out = p->mqtt;
    return rc;
}

int bpt_publish(struct bpt_env *env, const char *topic, const void *payload, size_t len, int qos,
                bool retain)
{
    struct bp_mqtt *m;
    int rc = publisher(env, topic, &m);

    if (rc == 0)
        rc = bp_mqtt_publish(m, topic, payload, len, qos, retain);
    if (rc == 0)
        rc = bp_mqtt_flush(m, FLUSH_MS);
    if (rc != 0)
        bpt_note(env, "publish to %s: %s", topic, strerror(-rc));
    return rc;
}
