/* SPDX-License-Identifier: MIT */
/* The agent's MQTT voice: v1 messages with boot id and per-boot seq, over bp_mqtt. */
#include "agent_publisher.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "agent_config.h"
#include "batch.h"
#include "clock.h"
#include "log.h"
#include "mqtt.h"

#define MOD "publisher"
#define TOPIC_MAX 512

struct agent_publisher {
    const struct agent_config *cfg;
    struct bp_mqtt *mqtt;
    int event_fd;
    atomic_int connects; /* bumped on Paho's thread, taken by the loop */
    char boot[BP_BOOT_MAX + 1];
    int64_t seq; /* last seq used */
    struct agent_publisher_counters counters;
    struct bp_msg msg; /* scratch: large (agent_state lists every bot), so not on the stack */
    /* Set before start, read on Paho's thread. */
    void (*command_sink)(void *ctx, const void *payload, size_t len);
    void *command_ctx;
    char command_topic[TOPIC_MAX];
    /* Batches: heartbeats and stats between batch_begin and batch_end go into one message,
     * when [mqtt] batch is on, or auto and the collector's retained state says it reads them
     * (set on Paho's thread). */
    struct bp_batch_writer *batch;
    bool batching;      /* between begin and end, and batches in use */
    bool batches_said;  /* the last mode logged */
    int64_t batch_wall; /* the batch's ts: its first item's time */
    atomic_bool collector_reads_batches;
    char collector_state_topic[TOPIC_MAX];
};

/* Paho's thread: whether the collector's retained state says it is online and reads batches
 * ("accepts": ["batch"]). Anything unreadable says no. */
static bool collector_reads_batches(const void *payload, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(payload, len);
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "state");
    const cJSON *accepts = cJSON_GetObjectItemCaseSensitive(j, "accepts");
    bool yes = false;
    const cJSON *it;
    if (cJSON_IsString(state) && strcmp(state->valuestring, "online") == 0 &&
        cJSON_IsArray(accepts))
        cJSON_ArrayForEach(it, accepts)
            yes |= cJSON_IsString(it) && strcmp(it->valuestring, "batch") == 0;
    cJSON_Delete(j);
    return yes;
}

/* Paho's thread: our own commands topic, and the collector's state; anything else is ignored. */
static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct agent_publisher *p = ctx;
    if (p->command_sink && strcmp(topic, p->command_topic) == 0)
        p->command_sink(p->command_ctx, payload, len);
    else if (p->collector_state_topic[0] && strcmp(topic, p->collector_state_topic) == 0)
        atomic_store(&p->collector_reads_batches, collector_reads_batches(payload, len));
}

static int make_boot_id(char *out, size_t size)
{
    unsigned char raw[8];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < size; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* Paho's thread: note the event, wake the loop. Nothing else is touched here. */
static void on_connected(void *ctx, bool reconnect)
{
    struct agent_publisher *p = ctx;
    uint64_t one = 1;
    atomic_fetch_add(&p->connects, 1);
    if (write(p->event_fd, &one, sizeof(one)) < 0)
        BP_WARN(MOD, "cannot wake the loop: %s", strerror(errno));
}

static void on_lost(void *ctx, const char *cause)
{
    BP_WARN(MOD, "connection to the broker lost: %s", cause ? cause : "unknown cause");
}

/* Starts a message of type for bot ("" for agent-level) in p->msg, taking the next seq. */
static struct bp_msg *begin(struct agent_publisher *p, enum bp_msg_type type, const char *bot,
                            int64_t wall_ms)
{
    struct bp_msg *m = &p->msg;
    memset(m, 0, sizeof(*m));
    m->hdr.v = BP_PROTO_VERSION;
    m->hdr.type = type;
    snprintf(m->hdr.agent, sizeof(m->hdr.agent), "%s", p->cfg->id);
    snprintf(m->hdr.bot, sizeof(m->hdr.bot), "%s", bot);
    snprintf(m->hdr.boot, sizeof(m->hdr.boot), "%s", p->boot);
    m->hdr.seq = ++p->seq;
    m->hdr.ts = wall_ms;
    return m;
}

static void fill_state(struct agent_publisher *p, struct bp_agent_state *st, bool online)
{
    const struct agent_config *cfg = p->cfg;
    st->online = online;
    snprintf(st->version, sizeof(st->version), "%s", BP_VERSION);
    snprintf(st->host, sizeof(st->host), "%s", cfg->host);
    st->heartbeat_ms = cfg->heartbeat_ms;
    st->nbots = cfg->nbots;
    for (int i = 0; i < cfg->nbots; i++) {
        snprintf(st->bots[i].id, sizeof(st->bots[i].id), "%s", cfg->bots[i].name);
        snprintf(st->bots[i].account, sizeof(st->bots[i].account), "%s", cfg->bots[i].account);
        snprintf(st->bots[i].exchange, sizeof(st->bots[i].exchange), "%s", cfg->bots[i].exchange);
    }
}

/* Encodes p->msg and publishes it on its topic. 0 or -errno. */
static int send_msg(struct agent_publisher *p, int qos, bool retain)
{
    char topic[TOPIC_MAX];
    const struct bp_msg *m = &p->msg;
    int rc = bp_topic_format(topic, sizeof(topic), p->cfg->mqtt.topic_root, m->hdr.type,
                             m->hdr.agent, m->hdr.bot);
    if (rc != 0) {
        p->counters.errors++;
        return rc;
    }
    char *json = bp_msg_encode(m);
    if (!json) {
        p->counters.errors++;
        BP_ERROR(MOD, "cannot encode %s seq %lld", bp_msg_type_name(m->hdr.type),
                 (long long)m->hdr.seq);
        return -ENOMEM;
    }
    rc = bp_mqtt_publish(p->mqtt, topic, json, strlen(json), qos, retain);
    BP_DEBUG(MOD, "%s %s -> %d", topic, json, rc);
    free(json);
    return rc;
}

static void mqtt_opts(struct agent_publisher *p, struct bp_mqtt_opts *o, const char *client_id,
                      const char *will_topic, const char *will, const char *persist)
{
    const struct agent_mqtt_config *mc = &p->cfg->mqtt;
    memset(o, 0, sizeof(*o));
    o->url = mc->url;
    o->client_id = client_id;
    o->username = mc->username[0] ? mc->username : NULL;
    o->password = mc->password[0] ? mc->password : NULL;
    o->ca_file = mc->ca_file[0] ? mc->ca_file : NULL;
    o->clean_session = false;
    o->will_topic = will_topic;
    o->will_payload = will;
    o->will_qos = 1;
    o->will_retain = true;
    o->max_buffered = (int)mc->max_buffered;
    o->keepalive_s = (int)((mc->keepalive_ms + 999) / 1000);
    o->persist_dir = persist;
    o->on_connected = on_connected;
    o->on_lost = on_lost;
    o->on_message = on_message;
    o->ctx = p;
}

/* Builds the Will (offline state; it takes seq 1) and the client. */
static int make_client(struct agent_publisher *p)
{
    char client_id[BP_ID_MAX + 32], topic[TOPIC_MAX], persist[AGENT_PATH_MAX + 8];
    const struct agent_config *cfg = p->cfg;
    snprintf(client_id, sizeof(client_id), "botpulse-agent-%s", cfg->id);
    snprintf(persist, sizeof(persist), "%s/mqtt", cfg->state_dir);
    int rc = bp_topic_format(topic, sizeof(topic), cfg->mqtt.topic_root, BP_MSG_AGENT_STATE,
                             cfg->id, "");
    if (rc != 0)
        return rc;
    struct bp_msg *m = begin(p, BP_MSG_AGENT_STATE, "", bp_wall_ms());
    fill_state(p, &m->u.agent_state, false);
    char *will = bp_msg_encode(m);
    if (!will)
        return -ENOMEM;
    struct bp_mqtt_opts o;
    mqtt_opts(p, &o, client_id, topic, will, persist);
    rc = bp_mqtt_new(&o, &p->mqtt);
    free(will);
    return rc;
}

int agent_publisher_new(const struct agent_config *cfg, struct agent_publisher **out)
{
    struct agent_publisher *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cfg = cfg;
    p->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int rc = p->event_fd < 0 ? -errno : make_boot_id(p->boot, sizeof(p->boot));
    if (rc == 0)
        rc = make_client(p);
    if (rc == 0 && cfg->mqtt.batch_mode != AGENT_BATCH_OFF &&
        !(p->batch = bp_batch_writer_new(cfg->id, p->boot)))
        rc = -ENOMEM;
    if (rc == 0 && cfg->mqtt.batch_mode == AGENT_BATCH_AUTO) { /* is the collector new enough? */
        snprintf(p->collector_state_topic, sizeof(p->collector_state_topic), "%s/collector/state",
                 cfg->mqtt.topic_root);
        rc = bp_mqtt_subscribe(p->mqtt, p->collector_state_topic, 1);
    }
    if (rc != 0) {
        agent_publisher_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void agent_publisher_free(struct agent_publisher *p)
{
    if (!p)
        return;
    bp_mqtt_free(p->mqtt);
    bp_batch_writer_free(p->batch);
    if (p->event_fd >= 0)
        close(p->event_fd);
    free(p);
}

int agent_publisher_start(struct agent_publisher *p)
{
    return bp_mqtt_start(p->mqtt);
}

void agent_publisher_stop(struct agent_publisher *p, int flush_ms, int64_t wall_ms)
{
    /* While disconnected the broker has already published the Will; a buffered offline state
     * would only be replayed, stale, after our next start. */
    if (bp_mqtt_is_connected(p->mqtt)) {
        struct bp_msg *m = begin(p, BP_MSG_AGENT_STATE, "", wall_ms);
        fill_state(p, &m->u.agent_state, false);
        int rc = send_msg(p, 1, true);
        if (rc != 0)
            BP_WARN(MOD, "offline state not published: %s", strerror(-rc));
    }
    int rc = bp_mqtt_flush(p->mqtt, flush_ms);
    if (rc != 0)
        BP_WARN(MOD, "%d messages still unacknowledged at exit (kept on disk for the next start)",
                bp_mqtt_pending(p->mqtt));
    bp_mqtt_stop(p->mqtt, flush_ms);
}

int agent_publisher_fd(const struct agent_publisher *p)
{
    return p->event_fd;
}

int agent_publisher_take_connects(struct agent_publisher *p)
{
    uint64_t v;
    while (read(p->event_fd, &v, sizeof(v)) > 0)
        ;
    return atomic_exchange(&p->connects, 0);
}

bool agent_publisher_is_connected(struct agent_publisher *p)
{
    return bp_mqtt_is_connected(p->mqtt);
}

const char *agent_publisher_boot(const struct agent_publisher *p)
{
    return p->boot;
}

int agent_publisher_birth(struct agent_publisher *p, int64_t wall_ms)
{
    struct bp_msg *m = begin(p, BP_MSG_AGENT_STATE, "", wall_ms);
    fill_state(p, &m->u.agent_state, true);
    return send_msg(p, 1, true);
}

bool agent_publisher_batches(struct agent_publisher *p)
{
    return p->batch &&
           (p->cfg->mqtt.batch_mode == AGENT_BATCH_ON || atomic_load(&p->collector_reads_batches));
}

void agent_publisher_batch_begin(struct agent_publisher *p)
{
    p->batching = agent_publisher_batches(p);
    if (p->batching != p->batches_said) {
        p->batches_said = p->batching;
        BP_INFO(MOD, "%s",
                p->batching ? "sending heartbeats and stats in batches, one message "
                              "per interval (the collector reads them)"
                            : "sending heartbeats and stats one message per bot");
    }
}

/* Sends the batch gathered so far, if any: QoS 0, like the messages in it. 0 or -errno. */
static int flush_batch(struct agent_publisher *p)
{
    if (bp_batch_writer_count(p->batch) == 0)
        return 0;
    char topic[TOPIC_MAX];
    int rc = bp_topic_format(topic, sizeof(topic), p->cfg->mqtt.topic_root, BP_MSG_BATCH,
                             p->cfg->id, "");
    char *json = rc == 0 ? bp_batch_writer_take(p->batch, ++p->seq, p->batch_wall) : NULL;
    if (!json) {
        p->counters.errors++;
        return rc ? rc : -ENOMEM;
    }
    rc = bp_mqtt_publish(p->mqtt, topic, json, strlen(json), 0, false);
    free(json);
    return rc;
}

int agent_publisher_batch_end(struct agent_publisher *p)
{
    int rc = p->batching ? flush_batch(p) : 0;
    p->batching = false;
    return rc;
}

/* Adds p->msg (a heartbeat or stats) to the batch, sending the batch first when it is full. */
static int add_to_batch(struct agent_publisher *p, int64_t wall_ms)
{
    if (bp_batch_writer_count(p->batch) == 0)
        p->batch_wall = wall_ms;
    int rc = bp_batch_writer_add(p->batch, &p->msg);
    if (rc == -EMSGSIZE && (rc = flush_batch(p)) == 0) {
        p->batch_wall = wall_ms;
        rc = bp_batch_writer_add(p->batch, &p->msg);
    }
    if (rc < 0)
        p->counters.errors++;
    return rc;
}

/* A heartbeat or stats in p->msg: into the batch, or its own QoS 0 message. */
static int send_newest_wins(struct agent_publisher *p, int64_t wall_ms)
{
    if (p->batching) {
        p->seq--; /* the batch takes one seq for all its items */
        return add_to_batch(p, wall_ms);
    }
    return send_msg(p, 0, false);
}

int agent_publisher_heartbeat(struct agent_publisher *p, const char *bot,
                              const struct bp_heartbeat *hb, int64_t wall_ms)
{
    if (!bp_mqtt_is_connected(p->mqtt)) {
        p->counters.skipped_offline++;
        return -ENOTCONN;
    }
    begin(p, BP_MSG_HEARTBEAT, bot, wall_ms)->u.heartbeat = *hb;
    return send_newest_wins(p, wall_ms);
}

int agent_publisher_stats(struct agent_publisher *p, const char *bot, const struct bp_stats *st,
                          int64_t wall_ms)
{
    if (!bp_mqtt_is_connected(p->mqtt)) {
        p->counters.skipped_offline++;
        return -ENOTCONN;
    }
    begin(p, BP_MSG_STATS, bot, wall_ms)->u.stats = *st;
    return send_newest_wins(p, wall_ms);
}

int agent_publisher_trade(struct agent_publisher *p, const char *bot, const struct bp_trade *t,
                          int64_t wall_ms)
{
    begin(p, BP_MSG_TRADE, bot, wall_ms)->u.trade = *t;
    int rc = send_msg(p, 1, false);
    if (rc == 0) {
        p->counters.trades_sent++;
    } else {
        p->counters.trades_dropped++;
        BP_ERROR(MOD, "trade %s of bot %s dropped (%s); %llu dropped so far",
                 t->id[0] ? t->id : "(no id)", bot,
                 rc == -ENOBUFS ? "offline buffer full" : strerror(-rc),
                 (unsigned long long)p->counters.trades_dropped);
    }
    return rc;
}

int agent_publisher_subscribe_commands(struct agent_publisher *p,
                                       void (*sink)(void *ctx, const void *payload, size_t len),
                                       void *ctx)
{
    int rc = bp_topic_format(p->command_topic, sizeof(p->command_topic), p->cfg->mqtt.topic_root,
                             BP_MSG_COMMAND, p->cfg->id, "");
    if (rc != 0)
        return rc;
    p->command_sink = sink;
    p->command_ctx = ctx;
    return bp_mqtt_subscribe(p->mqtt, p->command_topic, 1);
}

int agent_publisher_result(struct agent_publisher *p, const char *bot,
                           const struct bp_command_result *r, int64_t wall_ms)
{
    begin(p, BP_MSG_COMMAND_RESULT, bot, wall_ms)->u.result = *r;
    int rc = send_msg(p, 1, false);
    if (rc != 0)
        BP_ERROR(MOD, "result of %s for bot %s not sent: %s", r->action[0] ? r->action : "command",
                 bot[0] ? bot : "?", strerror(-rc));
    return rc;
}

int agent_publisher_event(struct agent_publisher *p, const char *bot, const struct bp_event *e,
                          int64_t wall_ms)
{
    begin(p, BP_MSG_EVENT, bot, wall_ms)->u.event = *e;
    int rc = send_msg(p, 1, false);
    if (rc == 0) {
        p->counters.events_sent++;
    } else {
        p->counters.events_dropped++;
        BP_ERROR(MOD, "event of bot %s dropped (%s); %llu dropped so far", bot,
                 rc == -ENOBUFS ? "offline buffer full" : strerror(-rc),
                 (unsigned long long)p->counters.events_dropped);
    }
    return rc;
}

void agent_publisher_get_counters(const struct agent_publisher *p,
                                  struct agent_publisher_counters *out)
{
    *out = p->counters;
}

int agent_publisher_pending(struct agent_publisher *p)
{
    return bp_mqtt_pending(p->mqtt);
}
