/* SPDX-License-Identifier: MIT */
/* Benchmark (a program, not a test): trade messages per second that the collector ingests and
 * persists end to end, against the ceiling measured in the same run, a bare Paho subscriber
 * that only parses the same messages. The ratio holds on a noisy machine; the absolute
 * figures do not. Real mosquitto and PostgreSQL, started by the fixture. See docs/benchmarks.md.
 *
 *   bench_ingest [--kind trades|heartbeats] [--bots N] [--messages M] [--qos 0|1]
 *                [--publishers P]
 * trades: stored rows are counted (ingest + rules + PostgreSQL); heartbeats: the collector's
 * own accepted counter (ingest + rules; heartbeats are not stored one by one). */
#include "fixture.h"

#include "clock.h"
#include "msg.h"
#include "mqtt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOT "botpulse/v1"
#define BOTS_PER_AGENT 100

struct params {
    int bots;
    int messages;
    int qos;
    int publishers;
    int publisher_index; /* >= 0: this process is one publisher, started by the bench */
    const char *url;     /* the broker, for a publisher process */
    bool heartbeats;     /* heartbeats (ingest and rules only) instead of trades (+ storage) */
};

static atomic_llong parsed;

/* The ceiling: parse each message with cJSON, count it, nothing else. */
static void bare_on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(payload, len);
    if (j && cJSON_GetObjectItemCaseSensitive(j, "seq"))
        atomic_fetch_add(&parsed, 1);
    cJSON_Delete(j);
}

static struct bp_mqtt *client(const char *url, const char *id, int max_buffered,
                              void (*on_message)(void *, const char *, const void *, size_t))
{
    struct bp_mqtt_opts o = {.url = url,
                             .client_id = id,
                             .clean_session = true,
                             .max_buffered = max_buffered,
                             .on_message = on_message};
    struct bp_mqtt *m = NULL;
    if (bp_mqtt_new(&o, &m) < 0 || bp_mqtt_start(m) < 0 || bp_mqtt_wait_connected(m, 10000) < 0) {
        bp_mqtt_free(m);
        return NULL;
    }
    return m;
}

/* One publisher process: its share of trades, round-robin over its bots, as agents send them.
 * Publishers run as separate processes so they do not share Paho's threads with the
 * subscriber being measured. Returns the number sent. */
static int64_t publish_share(const struct params *p)
{
    char id[64], topic[256];
    snprintf(id, sizeof(id), "bench-pub-%d", p->publisher_index);
    struct bp_mqtt *m = client(p->url, id, 0, NULL);
    if (!m)
        return -1;
    struct bp_msg msg = {0};
    msg.hdr.v = BP_PROTO_VERSION;
    msg.hdr.type = p->heartbeats ? BP_MSG_HEARTBEAT : BP_MSG_TRADE;
    snprintf(msg.hdr.boot, sizeof(msg.hdr.boot), "bench%d", p->publisher_index);
    int share = p->messages / p->publishers;
    for (int i = 0; i < share; i++) {
        int bot = (i * p->publishers + p->publisher_index) % p->bots;
        snprintf(msg.hdr.agent, sizeof(msg.hdr.agent), "agent-%d-%d", p->publisher_index,
                 bot / BOTS_PER_AGENT);
        snprintf(msg.hdr.bot, sizeof(msg.hdr.bot), "bot-%d", bot);
        msg.hdr.seq = i + 1;
        msg.hdr.ts = bp_wall_ms();
        if (p->heartbeats) {
            msg.u.heartbeat = (struct bp_heartbeat){
                .interval_ms = 10000, .proc = {true, 4242, 3600, msg.hdr.ts - 3600000}};
        } else {
            msg.u.trade.trade_ts = msg.hdr.ts;
            snprintf(msg.u.trade.id, sizeof(msg.u.trade.id), "t%d-%d", p->publisher_index, i);
            snprintf(msg.u.trade.symbol, sizeof(msg.u.trade.symbol), "BTC-USDT");
        }
        char *json = bp_msg_encode(&msg);
        bp_topic_format(topic, sizeof(topic), ROOT, msg.hdr.type, msg.hdr.agent, msg.hdr.bot);
        while (json && bp_mqtt_publish(m, topic, json, strlen(json), p->qos, false) < 0)
            bp_sleep_ms(1); /* Paho's queue is full: let it drain */
        free(json);
    }
    bp_mqtt_flush(m, 30000);
    bp_mqtt_stop(m, 1000);
    bp_mqtt_free(m);
    return share;
}

/* Runs the publisher processes to completion; returns the number of messages they sent. */
static int64_t publish_all(struct bpt_env *env, const struct params *p)
{
    pid_t pids[16];
    for (int i = 0; i < p->publishers; i++) {
        char idx[16], n[4][16];
        snprintf(idx, sizeof(idx), "%d", i);
        snprintf(n[0], 16, "%d", p->bots);
        snprintf(n[1], 16, "%d", p->messages);
        snprintf(n[2], 16, "%d", p->qos);
        snprintf(n[3], 16, "%d", p->publishers);
        char *argv[] = {"/proc/self/exe",
                        "--publisher",
                        idx,
                        "--url",
                        (char *)bpt_broker_url(env),
                        "--bots",
                        n[0],
                        "--messages",
                        n[1],
                        "--qos",
                        n[2],
                        "--publishers",
                        n[3],
                        "--kind",
                        p->heartbeats ? "heartbeats" : "trades",
                        NULL};
        pids[i] = fork();
        if (pids[i] == 0) {
            execv("/proc/self/exe", argv);
            _exit(127);
        }
    }
    int64_t sent = 0;
    for (int i = 0; i < p->publishers; i++) {
        int status = 0;
        if (pids[i] > 0 && waitpid(pids[i], &status, 0) > 0 && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            sent += p->messages / p->publishers;
        else
            fprintf(stderr, "bench: publisher %d failed\n", i);
    }
    return sent;
}

/* Waits until count() reaches want or stops moving for 10 s; returns the ms when it got
 * there (or stalled), from start. */
static int64_t wait_count(int64_t (*count)(void *), void *ctx, int64_t want, int64_t start,
                          int64_t *got)
{
    int64_t last = -1, last_change = bp_mono_ms();
    for (;;) {
        *got = count(ctx);
        int64_t now = bp_mono_ms();
        if (*got >= want)
            return now - start;
        if (*got != last) {
            last = *got;
            last_change = now;
        } else if (now - last_change > 10000) {
            return last_change - start;
        }
        bp_sleep_ms(*got == last ? 20 : 5);
    }
}

static int64_t count_parsed(void *ctx)
{
    return atomic_load(&parsed);
}

static int64_t count_rows(void *ctx)
{
    return bpt_pg_int(ctx, "SELECT count(*) FROM trades", 0, NULL);
}

static double run_ceiling(struct bpt_env *env, const struct params *p)
{
    struct bp_mqtt *sub = client(bpt_broker_url(env), "bench-bare-subscriber", 0, bare_on_message);
    if (!sub || bp_mqtt_subscribe(sub, ROOT "/agents/+/bots/+/+", p->qos) < 0)
        return -1;
    bp_sleep_ms(300); /* let the subscription settle */
    int64_t start = bp_mono_ms(), got = 0;
    int64_t sent = publish_all(env, p);
    int64_t ms = wait_count(count_parsed, NULL, sent, start, &got);
    bp_mqtt_stop(sub, 1000);
    bp_mqtt_free(sub);
    double rate = ms > 0 ? got * 1000.0 / ms : 0;
    printf("ceiling   bare Paho + cJSON subscriber: %lld/%lld messages in %lld ms = %.0f msg/s\n",
           (long long)got, (long long)sent, (long long)ms, rate);
    return rate;
}

static atomic_llong collector_accepted;

/* Follows collector/stats: how many messages the collector has accepted so far. */
static void on_stats(void *ctx, const char *topic, const void *payload, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(payload, len);
    cJSON *a = j ? cJSON_GetObjectItemCaseSensitive(j, "accepted") : NULL;
    if (cJSON_IsNumber(a))
        atomic_store(&collector_accepted, (long long)a->valuedouble);
    cJSON_Delete(j);
}

static int64_t count_accepted(void *ctx)
{
    return atomic_load(&collector_accepted);
}

static double run_collector(struct bpt_env *env, const struct params *p)
{
    const char *ini = bpt_write_file(env, "collector.ini",
                                     "[collector]\nid = bench\nlog_level = warn\n"
                                     "stats_interval = 100ms\n"
                                     "[mqtt]\nurl = %s\n[database]\nconninfo = %s\n"
                                     "[http]\nlisten = off\n",
                                     bpt_broker_url(env), bpt_pg_conninfo(env));
    char *argv[] = {BPT_COLLECTOR_BIN, "-c", (char *)ini, NULL};
    if (!ini || bpt_spawn(env, "collector", argv) < 0)
        return -1;
    if (bpt_pg_wait_int(env, 0, 30000, "SELECT count(*) FROM trades", 0, NULL) != 0)
        return -1; /* migrations applied: the collector is up */
    struct bp_mqtt *stats = client(bpt_broker_url(env), "bench-stats", 0, on_stats);
    if (!stats || bp_mqtt_subscribe(stats, ROOT "/collector/stats", 0) < 0)
        return -1;
    bp_sleep_ms(1000);
    int64_t base = count_accepted(NULL); /* the collector's own start-up traffic */
    int64_t start = bp_mono_ms(), got = 0;
    int64_t sent = publish_all(env, p);
    int64_t ms = p->heartbeats ? wait_count(count_accepted, NULL, sent + base, start, &got)
                               : wait_count(count_rows, env, sent, start, &got);
    if (p->heartbeats)
        got -= base;
    bp_mqtt_stop(stats, 1000);
    bp_mqtt_free(stats);
    double rate = ms > 0 ? got * 1000.0 / ms : 0;
    printf("collector %s: %lld/%lld in %lld ms = %.0f msg/s\n",
           p->heartbeats ? "ingest + rules (heartbeats accepted)  "
                         : "ingest + rules + PostgreSQL (trades stored)",
           (long long)got, (long long)sent, (long long)ms, rate);
    return rate;
}

static int parse_args(int argc, char **argv, struct params *p)
{
    *p = (struct params){
        .bots = 1000, .messages = 200000, .qos = 0, .publishers = 2, .publisher_index = -1};
    if (argc % 2 == 0)
        return -EINVAL; /* every option takes a value */
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--url") == 0)
            p->url = argv[i + 1];
        else if (strcmp(argv[i], "--publisher") == 0)
            p->publisher_index = v;
        else if (strcmp(argv[i], "--bots") == 0)
            p->bots = v;
        else if (strcmp(argv[i], "--messages") == 0)
            p->messages = v;
        else if (strcmp(argv[i], "--qos") == 0)
            p->qos = v;
        else if (strcmp(argv[i], "--publishers") == 0)
            p->publishers = v;
        else if (strcmp(argv[i], "--kind") == 0 && strcmp(argv[i + 1], "heartbeats") == 0)
            p->heartbeats = true;
        else if (strcmp(argv[i], "--kind") == 0 && strcmp(argv[i + 1], "trades") == 0)
            p->heartbeats = false;
        else
            return -EINVAL;
    }
    if (p->bots < 1 || p->messages < 1 || p->qos < 0 || p->qos > 1 || p->publishers < 1 ||
        p->publishers > 16)
        return -EINVAL;
    return 0;
}

int main(int argc, char **argv)
{
    struct params p;
    if (parse_args(argc, argv, &p) < 0) {
        fprintf(stderr, "usage: bench_ingest [--kind trades|heartbeats] [--bots N] "
                        "[--messages M] [--qos 0|1] [--publishers 1..16]\n");
        return 2;
    }
    if (p.publisher_index >= 0)
        return p.url && publish_share(&p) >= 0 ? 0 : 1;
    struct bpt_env *env = bpt_env_new("bench");
    if (env)
        bpt_broker_open(env); /* anonymous, no ACL: the figures in docs/benchmarks.md */
    if (!env || bpt_broker_start(env) < 0 || bpt_pg_start(env) < 0) {
        fprintf(stderr, "bench: could not start mosquitto and PostgreSQL\n");
        bpt_env_free(env);
        return 1;
    }
    printf("bench_ingest: %d bots, %d %s, QoS %d, %d publisher processes\n", p.bots, p.messages,
           p.heartbeats ? "heartbeats" : "trades", p.qos, p.publishers);
    double ceiling = run_ceiling(env, &p);
    double collector = run_collector(env, &p);
    if (ceiling > 0 && collector > 0)
        printf("ratio     collector / ceiling = %.2f\n", collector / ceiling);
    bpt_env_free(env);
    return ceiling > 0 && collector > 0 ? 0 : 1;
}
