/* SPDX-License-Identifier: MIT */
/* Benchmark (a program, not a test): several collectors sharing a fleet ([cluster], default
 * lease and round), and kill -9 of one of them while bots of its shards die. Measures the time
 * from the kill to the first and the last verdict announced by the new owners, and counts the
 * dying bots whose death was announced never (missed) or more than once (duplicated), and the
 * alerts about any other bot (spurious). Real mosquitto and PostgreSQL (the fixture's), the
 * collectors as processes; the fleet is simulated: one process publishes every bot's
 * heartbeat as its agent would. Also the collectors' resident memory with the whole fleet in
 * each (the cost of a warm takeover). See docs/benchmarks.md.
 *
 *   bench_failover [--bots N] [--collectors C] [--dying D]   default 10000, 3, 100 */
#include "fixture.h"

#include "clock.h"
#include "msg.h"
#include "mqtt.h"
#include "shard.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT "botpulse/v1"
#define BOTS_PER_AGENT 50
#define SHARDS 64
#define HEARTBEAT_MS 10000
#define MAX_COLLECTORS 8
#define SETTLE_MS 120000
#define AFTER_MS 20000 /* after the last verdict: time for a duplicate, were there one */

struct bench {
    struct bpt_env *env;
    int bots, ncol, ndying;
    pid_t pids[MAX_COLLECTORS];
    bool *dying;            /* per bot: it dies at the kill */
    atomic_int *opened;     /* per bot: "opened" alert events seen */
    atomic_llong *first_us; /* per bot: when the first came (µs, monotonic); 0 = not yet */
    atomic_bool dead_now;   /* the dying bots report dead from now on */
    atomic_bool stop;
    struct bp_mqtt *pub;
};

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void agent_of(int bot, char *buf, size_t size)
{
    snprintf(buf, size, "ag-%d", bot / BOTS_PER_AGENT);
}

/* Counts alert openings per bot (Paho's thread). */
static void on_alert(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct bench *b = ctx;
    long long t = now_us();
    cJSON *j = cJSON_ParseWithLength(payload, len);
    const cJSON *ev = j ? cJSON_GetObjectItemCaseSensitive(j, "event") : NULL;
    const cJSON *bot = j ? cJSON_GetObjectItemCaseSensitive(j, "bot") : NULL;
    int i = -1;
    if (cJSON_IsString(ev) && strcmp(ev->valuestring, "opened") == 0 && cJSON_IsString(bot) &&
        sscanf(bot->valuestring, "b-%d", &i) == 1 && i >= 0 && i < b->bots) {
        atomic_fetch_add(&b->opened[i], 1);
        long long zero = 0;
        atomic_compare_exchange_strong(&b->first_us[i], &zero, t);
    }
    cJSON_Delete(j);
}

static struct bp_mqtt *client(struct bench *b, const char *id,
                              void (*on_message)(void *, const char *, const void *, size_t))
{
    struct bp_mqtt_opts o = {.url = bpt_broker_url(b->env),
                             .client_id = id,
                             .clean_session = true,
                             .on_message = on_message,
                             .ctx = b};
    struct bp_mqtt *m = NULL;
    if (bp_mqtt_new(&o, &m) < 0 || bp_mqtt_start(m) < 0 || bp_mqtt_wait_connected(m, 10000) < 0) {
        bp_mqtt_free(m);
        return NULL;
    }
    return m;
}

static void publish(struct bench *b, struct bp_msg *msg, bool retain)
{
    char topic[256];
    char *json = bp_msg_encode(msg);
    bp_topic_format(topic, sizeof(topic), ROOT, msg->hdr.type, msg->hdr.agent, msg->hdr.bot);
    while (json && bp_mqtt_publish(b->pub, topic, json, strlen(json), 1, retain) < 0)
        bp_sleep_ms(1); /* Paho's queue is full: let it drain */
    free(json);
}

/* Every agent's state (online, its bots), retained, as an agent says it at start. */
static void publish_agents(struct bench *b)
{
    struct bp_msg *msg = calloc(1, sizeof(*msg));
    for (int a = 0; msg && a * BOTS_PER_AGENT < b->bots; a++) {
        memset(msg, 0, sizeof(*msg));
        msg->hdr.v = BP_PROTO_VERSION;
        msg->hdr.type = BP_MSG_AGENT_STATE;
        snprintf(msg->hdr.boot, sizeof(msg->hdr.boot), "bench");
        agent_of(a * BOTS_PER_AGENT, msg->hdr.agent, sizeof(msg->hdr.agent));
        msg->hdr.seq = 1;
        msg->hdr.ts = bp_wall_ms();
        struct bp_agent_state *st = &msg->u.agent_state;
        st->online = true;
        snprintf(st->version, sizeof(st->version), "bench");
        snprintf(st->host, sizeof(st->host), "host-%d", a);
        st->heartbeat_ms = HEARTBEAT_MS;
        for (int i = a * BOTS_PER_AGENT; i < b->bots && st->nbots < BOTS_PER_AGENT; i++)
            snprintf(st->bots[st->nbots++].id, sizeof(st->bots[0].id), "b-%d", i);
        publish(b, msg, true);
    }
    free(msg);
}

static void heartbeat(struct bench *b, struct bp_msg *msg, int i, int64_t *seq, bool alive)
{
    agent_of(i, msg->hdr.agent, sizeof(msg->hdr.agent));
    snprintf(msg->hdr.bot, sizeof(msg->hdr.bot), "b-%d", i);
    msg->hdr.seq = ++*seq; /* the agent's counter: one per message */
    msg->hdr.ts = bp_wall_ms();
    msg->u.heartbeat = (struct bp_heartbeat){
        .interval_ms = HEARTBEAT_MS,
        .proc = {alive, alive ? 4242 : 0, alive ? 3600 : 0, alive ? msg->hdr.ts - 3600000 : 0}};
    publish(b, msg, false);
}

/* The fleet: every bot's heartbeat every HEARTBEAT_MS, spread over the interval. At the kill
 * (dead_now) the dying bots say at once that their process is gone, as an agent's pidfd makes
 * it, and keep saying so. */
static void *fleet_thread(void *arg)
{
    struct bench *b = arg;
    struct bp_msg msg = {0};
    msg.hdr.v = BP_PROTO_VERSION;
    msg.hdr.type = BP_MSG_HEARTBEAT;
    snprintf(msg.hdr.boot, sizeof(msg.hdr.boot), "bench");
    bool told = false;
    int64_t seq = 1;
    while (!atomic_load(&b->stop)) {
        int64_t start = bp_mono_ms();
        for (int i = 0; i < b->bots && !atomic_load(&b->stop); i++) {
            heartbeat(b, &msg, i, &seq, !(told && b->dying[i]));
            if (i % 100 == 99) /* spread the round over most of the interval */
                bp_sleep_ms((HEARTBEAT_MS * 8 / 10) / (b->bots / 100 + 1));
            if (!told && atomic_load(&b->dead_now)) {
                told = true;
                for (int k = 0; k < b->bots; k++)
                    if (b->dying[k])
                        heartbeat(b, &msg, k, &seq, false);
            }
        }
        while (!atomic_load(&b->stop) && bp_mono_ms() - start < HEARTBEAT_MS) {
            if (!told && atomic_load(&b->dead_now)) {
                told = true;
                for (int k = 0; k < b->bots; k++)
                    if (b->dying[k])
                        heartbeat(b, &msg, k, &seq, false);
            }
            bp_sleep_ms(5);
        }
    }
    return NULL;
}

static int start_collector(struct bench *b, int i)
{
    char name[32], id[16];
    snprintf(id, sizeof(id), "c-%d", i + 1);
    snprintf(name, sizeof(name), "collector-%d.ini", i + 1);
    const char *ini =
        bpt_write_file(b->env, name,
                       "[collector]\nid = %s\nlog_level = warn\nqueue_max = 1000000\n"
                       "[mqtt]\nurl = %s\n[database]\nconninfo = %s\n[http]\nlisten = off\n"
                       "[rules]\nreconnect_grace = 5s\n"
                       "[cluster]\nenabled = on\nshards = %d\nwarmup = 12s\n",
                       id, bpt_broker_url(b->env), bpt_pg_conninfo(b->env), SHARDS);
    snprintf(name, sizeof(name), "collector-%d", i + 1);
    char *argv[] = {BPT_COLLECTOR_BIN, "-c", (char *)ini, NULL};
    b->pids[i] = ini ? bpt_spawn(b->env, name, argv) : -1;
    return b->pids[i] > 0 ? 0 : -1;
}

/* Every collector holds shards, all are held, none changed for 3 s. */
static int wait_settled(struct bench *b)
{
    char n[16], total[16];
    snprintf(n, sizeof(n), "%d", b->ncol);
    snprintf(total, sizeof(total), "%d", SHARDS);
    const char *p[] = {n, total};
    return bpt_pg_wait_int(
               b->env, 1, SETTLE_MS,
               "SELECT (count(*) = $1::int AND sum(k) = $2::int AND max(changed_at) < now() - "
               "interval '3 s')::int FROM (SELECT cardinality(array_remove(shards, -1)) AS k, "
               "changed_at FROM collectors WHERE last_seen > now() - interval '2 s' AND "
               "cardinality(array_remove(shards, -1)) > 0) t",
               2, p) == 1
               ? 0
               : -1;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* The victim (the collector holding the most shards) and its shards (held[s]). */
static int pick_victim(struct bench *b, bool *held)
{
    int victim = -1, most = -1;
    for (int i = 0; i < b->ncol; i++) {
        char id[16];
        snprintf(id, sizeof(id), "c-%d", i + 1);
        const char *p[] = {id};
        int64_t k = bpt_pg_int(b->env,
                               "SELECT cardinality(array_remove(shards, -1)) FROM collectors "
                               "WHERE collector_id = $1",
                               1, p);
        if (k > most)
            most = (int)k, victim = i;
    }
    char id[16];
    snprintf(id, sizeof(id), "c-%d", victim + 1);
    for (int s = 0; s < SHARDS; s++) {
        char sh[16];
        snprintf(sh, sizeof(sh), "%d", s);
        const char *p[] = {id, sh};
        held[s] = bpt_pg_int(b->env,
                             "SELECT count(*) FROM collectors WHERE collector_id = $1 AND "
                             "$2::int = ANY(shards)",
                             2, p) == 1;
    }
    return victim;
}

static int parse_args(int argc, char **argv, struct bench *b)
{
    b->bots = 10000, b->ncol = 3, b->ndying = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--bots") == 0)
            b->bots = v;
        else if (strcmp(argv[i], "--collectors") == 0)
            b->ncol = v;
        else if (strcmp(argv[i], "--dying") == 0)
            b->ndying = v;
        else
            return -EINVAL;
    }
    return argc % 2 == 1 && b->bots >= 100 && b->ncol >= 2 && b->ncol <= MAX_COLLECTORS &&
                   b->ndying >= 1 && b->ndying <= b->bots / 10
               ? 0
               : -EINVAL;
}

static int run(struct bench *b)
{
    for (int i = 0; i < b->ncol; i++)
        if (start_collector(b, i) < 0)
            return -1;
    b->pub = client(b, "bench-fleet", NULL);
    struct bp_mqtt *rec = client(b, "bench-alerts", on_alert);
    if (!b->pub || !rec || bp_mqtt_subscribe(rec, ROOT "/alerts/#", 1) < 0)
        return -1;
    publish_agents(b);
    pthread_t fleet;
    if (pthread_create(&fleet, NULL, fleet_thread, b) != 0)
        return -1;
    int rc = -1;
    char n[16];
    snprintf(n, sizeof(n), "%d", b->bots);
    const char *p[] = {n};
    if (wait_settled(b) < 0 ||
        bpt_pg_wait_int(b->env, b->bots, SETTLE_MS,
                        "SELECT count(*) FROM bots WHERE status = 'healthy'", 0, NULL) != b->bots) {
        fprintf(stderr, "bench: the collectors did not settle with every bot healthy\n");
        goto out;
    }
    (void)p;
    for (int i = 0; i < b->ncol; i++)
        printf("collector c-%d: %ld kB resident with the whole fleet\n", i + 1, rss_kb(b->pids[i]));
    bool held[SHARDS];
    int victim = pick_victim(b, held);
    int chosen = 0; /* every k-th bot of the victim's shards, k to spread them */
    int in_victim = 0;
    for (int i = 0; i < b->bots; i++) {
        char ag[16];
        agent_of(i, ag, sizeof(ag));
        in_victim += held[col_shard_of(ag, SHARDS)];
    }
    int step = in_victim / b->ndying > 0 ? in_victim / b->ndying : 1;
    for (int i = 0, k = 0; i < b->bots && chosen < b->ndying; i++) {
        char ag[16];
        agent_of(i, ag, sizeof(ag));
        if (held[col_shard_of(ag, SHARDS)] && k++ % step == 0)
            b->dying[i] = true, chosen++;
    }
    for (int i = 0; i < b->bots; i++) /* what came before the kill does not count */
        atomic_store(&b->opened[i], 0), atomic_store(&b->first_us[i], 0);
    char vname[32];
    snprintf(vname, sizeof(vname), "collector-%d", victim + 1);
    long long t_kill = now_us();
    bpt_signal(b->env, vname, SIGKILL);
    atomic_store(&b->dead_now, true);
    printf("killed c-%d (%d bots in its shards); %d of its bots die at once\n", victim + 1,
           in_victim, chosen);
    long long first = 0, last = 0;
    int64_t t_end = bp_mono_ms() + 60000;
    for (int seen = 0; seen < chosen && bp_mono_ms() < t_end; bp_sleep_ms(50)) {
        seen = 0;
        for (int i = 0; i < b->bots; i++)
            seen += b->dying[i] && atomic_load(&b->opened[i]) > 0;
    }
    bp_sleep_ms(AFTER_MS);
    int missed = 0, dup = 0, spurious = 0;
    for (int i = 0; i < b->bots; i++) {
        int o = atomic_load(&b->opened[i]);
        long long t = atomic_load(&b->first_us[i]);
        if (!b->dying[i]) {
            spurious += o;
            continue;
        }
        missed += o == 0;
        dup += o > 1;
        if (o > 0 && (!first || t < first))
            first = t;
        if (o > 0 && t > last)
            last = t;
    }
    printf("kill -9 -> first verdict by a new owner: %lld ms; last of the %d: %lld ms\n",
           first ? (first - t_kill) / 1000 : -1, chosen, last ? (last - t_kill) / 1000 : -1);
    printf("missed %d, duplicated %d, spurious alerts about other bots %d\n", missed, dup,
           spurious);
    rc = missed == 0 && dup == 0 && spurious == 0 ? 0 : 1;
out:
    atomic_store(&b->stop, true);
    pthread_join(fleet, NULL);
    bp_mqtt_stop(rec, 1000);
    bp_mqtt_free(rec);
    bp_mqtt_stop(b->pub, 1000);
    bp_mqtt_free(b->pub);
    return rc;
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    if (parse_args(argc, argv, &b) < 0) {
        fprintf(stderr, "usage: bench_failover [--bots N>=100] [--collectors 2..8] "
                        "[--dying 1..N/10]\n");
        return 2;
    }
    b.dying = calloc((size_t)b.bots, sizeof(*b.dying));
    b.opened = calloc((size_t)b.bots, sizeof(*b.opened));
    b.first_us = calloc((size_t)b.bots, sizeof(*b.first_us));
    b.env = bpt_env_new("bench-failover");
    if (b.env)
        bpt_broker_open(b.env); /* anonymous, no ACL, as bench_ingest */
    if (!b.dying || !b.opened || !b.first_us || !b.env || bpt_broker_start(b.env) < 0 ||
        bpt_pg_start(b.env) < 0) {
        fprintf(stderr, "bench: could not start mosquitto and PostgreSQL\n");
        bpt_env_free(b.env);
        return 1;
    }
    printf("bench_failover: %d bots (%d per agent) over %d collectors, %d shards, heartbeat "
           "%d ms, default lease and round\n",
           b.bots, BOTS_PER_AGENT, b.ncol, SHARDS, HEARTBEAT_MS);
    int rc = run(&b);
    bpt_env_free(b.env);
    free(b.dying);
    free(b.opened);
    free(b.first_us);
    return rc < 0 ? 1 : rc;
}
