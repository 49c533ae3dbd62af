/* SPDX-License-Identifier: MIT */
/* Benchmark (a program, not a test): a simulated fleet of N bots at the agents' default
 * intervals against one real collector, real mosquitto and real PostgreSQL, through a
 * correlated outage. It reports, from one run: the collector's CPU share and RSS per bot in
 * steady state, the delay past each silenced bot's deadline before a subscriber sees it `down`
 * (p50/p99/max), bots never detected, false alarms, the collector's queue and drops, an agent's
 * Will, a collector restart under full load (SIGTERM time, false alarms while the fleet
 * reports in again). See docs/benchmarks.md.
 *
 *   bench_fleet [--bots N] [--per-agent 64] [--interval-ms 10000] [--stats 0|1]
 *               [--exchanges 7] [--publishers 2] [--steady-s 30] [--restart 0|1]
 *               [--batch 0|1]
 *
 * Bots "b<n>" belong to agents "a<n / per-agent>" on host "h<agent>", exchange "ex<n % 7>".
 * The outage: every bot of exchange ex0 goes silent at once (a hang: no Will), then the
 * agent "will" (per-agent bots) is killed -9 and the broker fires its Will. */
#include "fixture.h"

#include "clock.h"
#include "mqtt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOT "botpulse/v1"
#define SLOT_MS 10
#define MAX_PUBLISHERS 16

struct params {
    int bots, per_agent, interval_ms, exchanges, publishers, steady_s;
    bool stats, restart, batch;
    long rss_empty; /* the collector's RSS before any bot was known (KiB) */
    /* a child process's role */
    int publisher; /* >= 0: one fleet publisher */
    bool will;     /* the agent killed for its Will */
    const char *url, *dir;
};

/* Set by the signal thread on SIGINT or SIGTERM: every wait ends, and the bench cleans up. */
static atomic_int interrupted;

/* ---- the simulated agents (child processes) -------------------------------------------- */

static volatile sig_atomic_t silence_requested, stop_requested;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        silence_requested = 1;
    else
        stop_requested = 1;
}

static struct bp_mqtt *connect_client(const char *url, const char *id, const char *will_topic,
                                      const char *will_payload)
{
    struct bp_mqtt_opts o = {.url = url,
                             .client_id = id,
                             .clean_session = true,
                             .keepalive_s = 30,
                             .will_topic = will_topic,
                             .will_payload = will_payload,
                             .will_qos = 1,
                             .will_retain = true};
    struct bp_mqtt *m = NULL;
    if (bp_mqtt_new(&o, &m) < 0 || bp_mqtt_start(m) < 0 || bp_mqtt_wait_connected(m, 20000) < 0) {
        bp_mqtt_free(m);
        return NULL;
    }
    return m;
}

static void send(struct bp_mqtt *m, const char *topic, const char *json, int qos, bool retain)
{
    while (bp_mqtt_publish(m, topic, json, strlen(json), qos, retain) == -ENOBUFS)
        bp_sleep_ms(1); /* Paho's queue is full: let it drain */
}

/* The retained agent_state of agent a (bots first..first+n-1), online or its Will. */
static void agent_state(char *buf, size_t size, const char *agent, const char *botfmt, int first,
                        int n, const struct params *p, bool online)
{
    size_t o = (size_t)snprintf(buf, size,
                                "{\"v\":1,\"type\":\"agent_state\",\"agent\":\"%s\","
                                "\"boot\":\"bench\",\"seq\":1,\"ts\":%lld,\"online\":%s,"
                                "\"version\":\"bench\",\"host\":\"h%s\",\"heartbeat_ms\":%d,"
                                "\"bots\":[",
                                agent, (long long)bp_wall_ms(), online ? "true" : "false", agent,
                                p->interval_ms);
    for (int i = 0; i < n && o < size; i++) {
        char id[32];
        snprintf(id, sizeof(id), botfmt, first + i);
        o += (size_t)snprintf(buf + o, size - o,
                              "%s{\"id\":\"%s\",\"account\":\"acct%d\",\"exchange\":\"ex%d\"}",
                              i ? "," : "", id, (first + i) % 10, (first + i) % p->exchanges);
    }
    if (o < size)
        snprintf(buf + o, size - o, "]}");
}

struct sim_bot {
    char id[16], agent[16];
    int64_t seq;
    int64_t last_hb_wall;
    bool silent; /* of the exchange that goes quiet */
};

static void send_heartbeat(struct bp_mqtt *m, struct sim_bot *b, const struct params *p,
                           int64_t now_wall)
{
    char topic[128], json[512];
    snprintf(topic, sizeof(topic), ROOT "/agents/%s/bots/%s/heartbeat", b->agent, b->id);
    snprintf(json, sizeof(json),
             "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"%s\",\"bot\":\"%s\",\"boot\":\"bench\","
             "\"seq\":%lld,\"ts\":%lld,\"interval_ms\":%d,\"proc\":{\"alive\":true,\"pid\":4242,"
             "\"uptime_s\":3600,\"start_ts\":%lld},\"last_trade_ts\":%lld}",
             b->agent, b->id, (long long)++b->seq, (long long)now_wall, p->interval_ms,
             (long long)(now_wall - 3600000), (long long)(now_wall - 60000));
    send(m, topic, json, 0, false);
    b->last_hb_wall = now_wall;
}

static void send_stats(struct bp_mqtt *m, struct sim_bot *b, int64_t now_wall)
{
    char topic[128], json[512];
    snprintf(topic, sizeof(topic), ROOT "/agents/%s/bots/%s/stats", b->agent, b->id);
    snprintf(json, sizeof(json),
             "{\"v\":1,\"type\":\"stats\",\"agent\":\"%s\",\"bot\":\"%s\",\"boot\":\"bench\","
             "\"seq\":%lld,\"ts\":%lld,\"proc\":{\"cpu_pct\":12.5,\"rss_kb\":183400,"
             "\"threads\":9},\"host\":{\"cpu_pct\":37.25,\"mem_pct\":61.0,\"disk_pct\":72.4,"
             "\"load1\":1.38}}",
             b->agent, b->id, (long long)++b->seq, (long long)now_wall);
    send(m, topic, json, 0, false);
}

/* A batch (one message per agent and kind, as agents with batching send them): the heartbeats
 * or stats of the bots of one agent in bots[0..n), the silenced ones left out. */
static void send_batch(struct bp_mqtt *m, struct sim_bot *bots, int n, bool stats, bool silenced,
                       const struct params *p, int64_t now_wall)
{
    static char json[256 * 1024];
    char topic[128];
    size_t o = (size_t)snprintf(json, sizeof(json),
                                "{\"v\":1,\"type\":\"batch\",\"agent\":\"%s\",\"boot\":\"bench\","
                                "\"seq\":%lld,\"ts\":%lld,\"items\":[",
                                bots[0].agent, (long long)++bots[0].seq, (long long)now_wall);
    int items = 0;
    for (int i = 0; i < n && o < sizeof(json) - 1024; i++) {
        if (silenced && bots[i].silent)
            continue;
        const char *sep = items++ ? "," : "";
        if (stats) {
            o += (size_t)snprintf(json + o, sizeof(json) - o,
                                  "%s{\"type\":\"stats\",\"bot\":\"%s\",\"proc\":{\"cpu_pct\":12.5,"
                                  "\"rss_kb\":183400,\"threads\":9},\"host\":{\"cpu_pct\":37.25,"
                                  "\"mem_pct\":61.0,\"disk_pct\":72.4,\"load1\":1.38}}",
                                  sep, bots[i].id);
            continue;
        }
        o += (size_t)snprintf(json + o, sizeof(json) - o,
                              "%s{\"type\":\"heartbeat\",\"bot\":\"%s\",\"interval_ms\":%d,"
                              "\"proc\":{\"alive\":true,\"pid\":4242,\"uptime_s\":3600,"
                              "\"start_ts\":%lld},\"last_trade_ts\":%lld}",
                              sep, bots[i].id, p->interval_ms, (long long)(now_wall - 3600000),
                              (long long)(now_wall - 60000));
        bots[i].last_hb_wall = now_wall;
    }
    if (items == 0)
        return;
    snprintf(json + o, sizeof(json) - o, "]}");
    snprintf(topic, sizeof(topic), ROOT "/agents/%s/batch", bots[0].agent);
    send(m, topic, json, 0, false);
}

/* Sends the slot's messages: one per bot, or one batch per agent (whose bots are contiguous). */
static void send_slot(struct bp_mqtt *m, struct sim_bot *bots, const int *order, int from, int to,
                      bool stats, bool silenced, const struct params *p, int64_t wall)
{
    for (int k = from; k < to; k++) {
        struct sim_bot *b = &bots[order[k]];
        if (p->batch) {
            int end = k + 1;
            while (end < to && order[end] == order[end - 1] + 1 &&
                   strcmp(bots[order[end]].agent, b->agent) == 0)
                end++;
            send_batch(m, b, end - k, stats, silenced, p, wall);
            k = end - 1;
        } else if (!(silenced && b->silent)) {
            if (stats)
                send_stats(m, b, wall);
            else
                send_heartbeat(m, b, p, wall);
        }
    }
}

/* Writes "bot last_heartbeat_wall" for every silenced bot, for the measuring process. */
static void write_last_heartbeats(const struct params *p, const struct sim_bot *bots, int n,
                                  int64_t silenced_at)
{
    char path[512], tmp[520];
    snprintf(path, sizeof(path), "%s/lasthb-%d.txt", p->dir, p->publisher);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "silenced %lld\n", (long long)silenced_at);
    for (int i = 0; i < n; i++)
        if (bots[i].silent)
            fprintf(f, "%s %lld\n", bots[i].id, (long long)bots[i].last_hb_wall);
    fclose(f);
    rename(tmp, path);
}

/* The slot of a bot's heartbeat within the interval: its own, or with batches its agent's. */
static int slot_of(const struct sim_bot *bots, int i, const struct params *p, int nslots)
{
    unsigned key = p->batch ? (unsigned)atoi(bots[i].agent + 1) : (unsigned)i;
    return (int)(key * 2654435761u % (unsigned)nslots);
}

/* One fleet publisher: agents a with a % publishers == index, their bots on slots of 10 ms
 * spread over the interval (heartbeat at the bot's phase, stats half an interval later). */
static int run_publisher(const struct params *p)
{
    int nagents = (p->bots + p->per_agent - 1) / p->per_agent, n = 0;
    struct sim_bot *bots = calloc((size_t)p->bots, sizeof(*bots));
    char id[32];
    snprintf(id, sizeof(id), "bench-fleet-%d", p->publisher);
    struct bp_mqtt *m = bots ? connect_client(p->url, id, NULL, NULL) : NULL;
    if (!m)
        return 1;
    static char state[8192];
    for (int a = p->publisher; a < nagents; a += p->publishers) {
        int first = a * p->per_agent;
        int count = first + p->per_agent <= p->bots ? p->per_agent : p->bots - first;
        char agent[16], topic[128];
        snprintf(agent, sizeof(agent), "a%d", a);
        agent_state(state, sizeof(state), agent, "b%d", first, count, p, true);
        snprintf(topic, sizeof(topic), ROOT "/agents/%s/state", agent);
        send(m, topic, state, 1, true);
        for (int i = 0; i < count; i++, n++) {
            snprintf(bots[n].id, sizeof(bots[n].id), "b%d", first + i);
            snprintf(bots[n].agent, sizeof(bots[n].agent), "%s", agent);
            bots[n].silent = (first + i) % p->exchanges == 0;
        }
    }
    int nslots = p->interval_ms / SLOT_MS;
    int *first_of = calloc((size_t)nslots + 1, sizeof(int)),
        *order = calloc((size_t)n, sizeof(int));
    if (!first_of || !order)
        return 1;
    for (int i = 0; i < n; i++) /* bucket the bots by the slot of their heartbeat */
        first_of[slot_of(bots, i, p, nslots) + 1]++;
    for (int s = 0; s < nslots; s++)
        first_of[s + 1] += first_of[s];
    int *fill = calloc((size_t)nslots, sizeof(int));
    for (int i = 0; fill && i < n; i++) {
        int s = slot_of(bots, i, p, nslots);
        order[first_of[s] + fill[s]++] = i;
    }
    free(fill);
    int64_t start = bp_mono_ms();
    int64_t done_slot = -1; /* slots are counted from start, never wrapped */
    bool silenced = false;
    while (!stop_requested) {
        if (silence_requested && !silenced) {
            silenced = true;
            int64_t at = bp_wall_ms();
            for (int i = 0; i < n; i++)
                if (bots[i].silent && !bots[i].last_hb_wall)
                    bots[i].last_hb_wall = at;
            write_last_heartbeats(p, bots, n, at);
        }
        int64_t now_slot = (bp_mono_ms() - start) / SLOT_MS;
        for (int64_t s = done_slot + 1; s <= now_slot; s++) {
            int64_t wall = bp_wall_ms();
            int hb = (int)(s % nslots), st = (int)((s + nslots / 2) % nslots);
            send_slot(m, bots, order, first_of[hb], first_of[hb + 1], false, silenced, p, wall);
            if (p->stats)
                send_slot(m, bots, order, first_of[st], first_of[st + 1], true, silenced, p, wall);
        }
        done_slot = now_slot;
        bp_sleep_ms(SLOT_MS);
    }
    free(first_of);
    free(order);
    bp_mqtt_stop(m, 1000);
    bp_mqtt_free(m);
    free(bots);
    return 0;
}

/* The agent whose Will fires: its own connection, killed -9 by the measuring process. */
static int run_will_agent(const struct params *p)
{
    static char online[8192], offline[8192];
    agent_state(online, sizeof(online), "will", "w%d", 0, p->per_agent, p, true);
    agent_state(offline, sizeof(offline), "will", "w%d", 0, p->per_agent, p, false);
    struct bp_mqtt *m = connect_client(p->url, "bench-will", ROOT "/agents/will/state", offline);
    if (!m)
        return 1;
    send(m, ROOT "/agents/will/state", online, 1, true);
    struct sim_bot *bots = calloc((size_t)p->per_agent, sizeof(*bots));
    if (!bots)
        return 1;
    for (int i = 0; i < p->per_agent; i++) {
        snprintf(bots[i].id, sizeof(bots[i].id), "w%d", i);
        snprintf(bots[i].agent, sizeof(bots[i].agent), "will");
    }
    while (!stop_requested) {
        for (int i = 0; i < p->per_agent; i++)
            send_heartbeat(m, &bots[i], p, bp_wall_ms());
        for (int i = 0; i < p->per_agent && p->stats; i++)
            send_stats(m, &bots[i], bp_wall_ms());
        bp_sleep_ms(p->interval_ms);
    }
    return 0;
}

/* ---- the measuring process ------------------------------------------------------------- */

enum role { R_FLEET = 0, R_SILENT, R_WILL };

struct watched {
    char status[12];
    int64_t down_at;  /* wall ms a subscriber saw "down" after the outage began; 0 = never */
    int64_t deadline; /* wall ms: last heartbeat sent + timeout */
    unsigned char role;
    int gen; /* the collector run whose status this is */
};

static struct {
    struct watched *bots; /* fleet bots 0..bots-1, then the Will agent's */
    int nbots, per_agent;
    atomic_int healthy;   /* bots whose last status is healthy */
    atomic_int false_bad; /* bad statuses of bots nobody silenced */
    atomic_int false_alerts;
    atomic_int incidents_opened;
    atomic_int outage; /* 1 once the outage began */
    atomic_int gen;    /* collector runs: a restart starts counting healthy bots again */
    atomic_llong stats_received, stats_accepted, stats_dropped, stats_queue;
    atomic_llong statuses;
} W;

static struct watched *watched_bot(const char *id)
{
    char *end;
    long n = strtol(id + 1, &end, 10);
    if (*end || n < 0)
        return NULL;
    if (id[0] == 'b' && n < W.nbots)
        return &W.bots[n];
    if (id[0] == 'w' && n < W.per_agent)
        return &W.bots[W.nbots + n];
    return NULL;
}

static bool is_bad(const char *status)
{
    return strcmp(status, "healthy") != 0 && strcmp(status, "idle") != 0 &&
           strcmp(status, "unknown") != 0;
}

static void on_status(const char *topic, cJSON *j)
{
    const char *bot = strrchr(topic, '/') + 1;
    cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    struct watched *b = watched_bot(bot);
    if (!b || !cJSON_IsString(st))
        return;
    atomic_fetch_add(&W.statuses, 1);
    int gen = atomic_load(&W.gen);
    bool was_healthy = b->gen == gen && strcmp(b->status, "healthy") == 0;
    b->gen = gen;
    bool healthy = strcmp(st->valuestring, "healthy") == 0;
    if (was_healthy != healthy)
        atomic_fetch_add(&W.healthy, healthy ? 1 : -1);
    snprintf(b->status, sizeof(b->status), "%s", st->valuestring);
    if (b->role == R_FLEET && is_bad(b->status) && atomic_fetch_add(&W.false_bad, 1) < 10)
        fprintf(stderr, "bench: FALSE ALARM: bot %s turned %s\n", bot, b->status);
    if (b->role != R_FLEET && atomic_load(&W.outage) && !b->down_at &&
        strcmp(b->status, "down") == 0)
        b->down_at = bp_wall_ms();
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(payload, len);
    if (!j)
        return;
    if (strstr(topic, "/status/")) {
        on_status(topic, j);
    } else if (strstr(topic, "/alerts/")) {
        cJSON *bot = cJSON_GetObjectItemCaseSensitive(j, "bot");
        struct watched *b = cJSON_IsString(bot) ? watched_bot(bot->valuestring) : NULL;
        if (b && b->role == R_FLEET)
            atomic_fetch_add(&W.false_alerts, 1);
    } else if (strstr(topic, "/incidents/")) {
        cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
        if (cJSON_IsString(ev) && strcmp(ev->valuestring, "opened") == 0)
            atomic_fetch_add(&W.incidents_opened, 1);
    } else if (strstr(topic, "/collector/stats")) {
        static const char *keys[] = {"received", "accepted", "queue_dropped", "queue_len"};
        atomic_llong *dst[] = {&W.stats_received, &W.stats_accepted, &W.stats_dropped,
                               &W.stats_queue};
        for (int i = 0; i < 4; i++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
            if (cJSON_IsNumber(v))
                atomic_store(dst[i], (long long)v->valuedouble);
        }
    }
    cJSON_Delete(j);
}

/* CPU seconds (user + system) a process has used, or -1. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Resident set size in KiB, or -1. */
static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static pid_t start_child(const struct params *p, const char *role, int index, const char *url,
                         const char *dir)
{
    char a[8][16];
    snprintf(a[0], 16, "%d", index);
    snprintf(a[1], 16, "%d", p->bots);
    snprintf(a[2], 16, "%d", p->per_agent);
    snprintf(a[3], 16, "%d", p->interval_ms);
    snprintf(a[4], 16, "%d", p->exchanges);
    snprintf(a[5], 16, "%d", p->publishers);
    snprintf(a[6], 16, "%d", p->stats);
    snprintf(a[7], 16, "%d", p->batch);
    char *argv[] = {"/proc/self/exe",
                    (char *)role,
                    a[0],
                    "--url",
                    (char *)url,
                    "--dir",
                    (char *)dir,
                    "--bots",
                    a[1],
                    "--per-agent",
                    a[2],
                    "--interval-ms",
                    a[3],
                    "--exchanges",
                    a[4],
                    "--publishers",
                    a[5],
                    "--stats",
                    a[6],
                    "--batch",
                    a[7],
                    NULL};
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no simulated agent outlives the bench */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    return pid;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* p50/p99/max of the delays (ms) of the role's bots past their deadlines; returns detected. */
static int report_latency(const char *what, enum role role, int *undetected)
{
    int n = W.nbots + W.per_agent, k = 0;
    int64_t *d = calloc((size_t)n, sizeof(*d));
    *undetected = 0;
    for (int i = 0; d && i < n; i++) {
        if (W.bots[i].role != role || !W.bots[i].deadline)
            continue; /* a bot whose last heartbeat time we do not know is not timed */
        if (W.bots[i].down_at)
            d[k++] = W.bots[i].down_at - W.bots[i].deadline;
        else
            (*undetected)++;
    }
    if (k > 0) {
        qsort(d, (size_t)k, sizeof(*d), cmp_i64);
        printf("  %-34s %6d bots  p50 %5lld ms  p99 %5lld ms  max %5lld ms  undetected %d\n", what,
               k, (long long)d[k / 2], (long long)d[(k * 99) / 100], (long long)d[k - 1],
               *undetected);
    } else {
        printf("  %-34s none detected, %d undetected\n", what, *undetected);
    }
    free(d);
    return k;
}

/* Reads the silenced bots' last heartbeat times from the publishers; deadline = that + the
 * collector's timeout (3 missed intervals). Returns the number read. */
static int read_deadlines(const struct params *p, const char *dir)
{
    int got = 0;
    for (int i = 0; i < p->publishers; i++) {
        char path[512], id[32];
        long long at;
        snprintf(path, sizeof(path), "%s/lasthb-%d.txt", dir, i);
        FILE *f = NULL;
        for (int t = 0; t < 600 && !(f = fopen(path, "r")) && !atomic_load(&interrupted); t++)
            bp_sleep_ms(50); /* a publisher writes it when it goes quiet: 30 s at most */
        if (!f)
            fprintf(stderr, "bench: publisher %d wrote no %s\n", i, path);
        while (f && fscanf(f, "%31s %lld", id, &at) == 2) {
            struct watched *b = watched_bot(id);
            if (b) {
                b->deadline = at + 3LL * p->interval_ms;
                got++;
            }
        }
        if (f)
            fclose(f);
    }
    return got;
}

static void *signal_thread(void *arg)
{
    int sig;
    sigwait(arg, &sig);
    atomic_store(&interrupted, 1);
    return NULL;
}

static void sleep_unless_interrupted(int64_t ms)
{
    for (int64_t end = bp_mono_ms() + ms; !atomic_load(&interrupted) && bp_mono_ms() < end;)
        bp_sleep_ms(100);
}

static int wait_for(bool (*done)(void *), void *ctx, int64_t timeout_ms)
{
    int64_t end = bp_mono_ms() + timeout_ms;
    while (!done(ctx)) {
        if (bp_mono_ms() > end || atomic_load(&interrupted))
            return -ETIMEDOUT;
        bp_sleep_ms(100);
    }
    return 0;
}

static bool all_healthy(void *ctx)
{
    return atomic_load(&W.healthy) >= *(int *)ctx;
}

static bool role_detected(void *ctx)
{
    for (int i = 0; i < W.nbots + W.per_agent; i++)
        if (W.bots[i].role == *(enum role *)ctx && !W.bots[i].down_at)
            return false;
    return true;
}

static const char *collector_ini(struct bpt_env *env)
{
    return bpt_write_file(env, "collector.ini",
                          "[collector]\nid = bench\nlog_level = warn\nstats_interval = 1s\n"
                          "[mqtt]\nurl = %s\n[database]\nconninfo = %s\n[http]\nlisten = off\n",
                          bpt_broker_url(env), bpt_pg_conninfo(env));
}

static pid_t start_collector(struct bpt_env *env)
{
    char *argv[] = {BPT_COLLECTOR_BIN, "-c", (char *)collector_ini(env), NULL};
    return bpt_spawn(env, "collector", argv);
}

/* Steady state: CPU share and RSS over steady_s seconds. */
static void measure_steady(pid_t col, pid_t broker, const struct params *p, int total)
{
    double c0 = cpu_seconds(col), b0 = cpu_seconds(broker);
    long long r0 = atomic_load(&W.stats_received), a0 = atomic_load(&W.stats_accepted);
    long long d0 = atomic_load(&W.stats_dropped);
    int64_t t0 = bp_mono_ms();
    long queue_max = 0;
    while (bp_mono_ms() - t0 < p->steady_s * 1000LL && !atomic_load(&interrupted)) {
        bp_sleep_ms(500);
        long q = (long)atomic_load(&W.stats_queue);
        queue_max = q > queue_max ? q : queue_max;
    }
    double secs = (double)(bp_mono_ms() - t0) / 1000.0;
    long rss = rss_kib(col);
    long long recv = atomic_load(&W.stats_received) - r0;
    printf("steady state (%.0f s):\n", secs);
    printf("  collector CPU                      %.2f core\n", (cpu_seconds(col) - c0) / secs);
    printf("  broker CPU                         %.2f core\n", (cpu_seconds(broker) - b0) / secs);
    printf("  collector RSS                      %ld KiB = %.2f KiB per bot (%.2f KiB per bot "
           "above the %ld KiB it had with no bots)\n",
           rss, (double)rss / total, (double)(rss - p->rss_empty) / total, p->rss_empty);
    printf("  messages received by the collector %.0f/s (accepted %.0f/s), queue max %ld, "
           "dropped %lld\n",
           recv / secs, (atomic_load(&W.stats_accepted) - a0) / secs, queue_max,
           atomic_load(&W.stats_dropped) - d0);
}

static void run_outage(struct bpt_env *env, const struct params *p, pid_t *pubs, pid_t will,
                       int *bad)
{
    int64_t timeout = 3LL * p->interval_ms;
    atomic_store(&W.outage, 1);
    int inc0 = atomic_load(&W.incidents_opened);
    for (int i = 0; i < p->publishers; i++)
        kill(pubs[i], SIGUSR1);
    int silenced = read_deadlines(p, bpt_env_dir(env));
    enum role r = R_SILENT;
    wait_for(role_detected, &r, timeout + 15000);
    /* the Will: all of its agent's bots are due the moment the broker fires it */
    int64_t kill_at = bp_wall_ms();
    for (int i = W.nbots; i < W.nbots + W.per_agent; i++)
        W.bots[i].deadline = kill_at;
    kill(will, SIGKILL);
    waitpid(will, NULL, 0);
    r = R_WILL;
    wait_for(role_detected, &r, 15000);
    int und;
    printf("outage (exchange ex0: %d bots silenced at once; agent 'will' killed -9):\n", silenced);
    report_latency("silenced, down past deadline", R_SILENT, &und);
    *bad += und;
    report_latency("Will fired, down after kill -9", R_WILL, &und);
    *bad += und;
    printf("  incidents opened                   %d\n", atomic_load(&W.incidents_opened) - inc0);
}

static void run_restart(struct bpt_env *env, const struct params *p, int healthy_want)
{
    int fb0 = atomic_load(&W.false_bad);
    int64_t t0 = bp_mono_ms();
    bpt_signal(env, "collector", SIGTERM);
    int st = bpt_wait_exit(env, "collector", 60000);
    int64_t stop_ms = bp_mono_ms() - t0;
    printf("restart under load:\n");
    printf("  SIGTERM to exit                    %lld ms%s\n", (long long)stop_ms,
           st == -ETIMEDOUT ? " (still running after 60 s)" : "");
    if (st == -ETIMEDOUT) {
        bpt_signal(env, "collector", SIGKILL);
        bpt_wait_exit(env, "collector", 5000);
    }
    atomic_store(&W.healthy, 0);
    atomic_fetch_add(&W.gen, 1); /* healthy again only by the new run's word */
    t0 = bp_mono_ms();
    if (start_collector(env) < 0)
        return;
    int rc = wait_for(all_healthy, &healthy_want, 6LL * p->interval_ms + 30000);
    printf("  back to all healthy                %lld ms%s\n", (long long)(bp_mono_ms() - t0),
           rc ? " (timed out)" : "");
    sleep_unless_interrupted(3LL * p->interval_ms + 5000); /* past every heartbeat deadline */
    printf("  false alarms after the restart     %d\n", atomic_load(&W.false_bad) - fb0);
}

static int run_bench(struct params *p)
{
    struct bpt_env *env = bpt_env_new("bench-fleet");
    if (!env || bpt_broker_start(env) < 0 || bpt_pg_start(env) < 0 || start_collector(env) < 0) {
        fprintf(stderr, "bench: could not start mosquitto, PostgreSQL and the collector\n");
        bpt_env_free(env);
        return 1;
    }
    W.nbots = p->bots;
    W.per_agent = p->per_agent;
    W.bots = calloc((size_t)(p->bots + p->per_agent), sizeof(*W.bots));
    for (int i = 0; i < p->bots; i++)
        W.bots[i].role = i % p->exchanges == 0 ? R_SILENT : R_FLEET;
    for (int i = 0; i < p->per_agent; i++)
        W.bots[p->bots + i].role = R_WILL;
    struct bp_mqtt_opts o = {.url = bpt_broker_url(env),
                             .client_id = "bench-observer",
                             .clean_session = true,
                             .on_message = on_message};
    struct bp_mqtt *obs = NULL;
    if (bp_mqtt_new(&o, &obs) < 0 || bp_mqtt_start(obs) < 0 ||
        bp_mqtt_wait_connected(obs, 10000) < 0 || bp_mqtt_subscribe(obs, ROOT "/status/+", 1) ||
        bp_mqtt_subscribe(obs, ROOT "/alerts/#", 1) ||
        bp_mqtt_subscribe(obs, ROOT "/incidents/#", 1) ||
        bp_mqtt_subscribe(obs, ROOT "/collector/stats", 0)) {
        fprintf(stderr, "bench: observer could not subscribe\n");
        bpt_env_free(env);
        return 1;
    }
    int total = p->bots + p->per_agent;
    printf("bench_fleet: %d bots (%d per agent) + %d on the Will agent, heartbeat%s every %d ms, "
           "%s, %d publisher processes\n",
           p->bots, p->per_agent, p->per_agent, p->stats ? " and stats" : "", p->interval_ms,
           p->batch ? "one batch per agent and kind" : "one message per bot", p->publishers);
    bp_sleep_ms(1000);
    p->rss_empty = rss_kib(bpt_pid(env, "collector"));
    pid_t pubs[MAX_PUBLISHERS];
    const char *url = bpt_broker_url(env), *dir = bpt_env_dir(env);
    for (int i = 0; i < p->publishers; i++)
        pubs[i] = start_child(p, "--publisher", i, url, dir);
    pid_t will = start_child(p, "--will", 0, url, dir);
    int64_t t0 = bp_mono_ms();
    int bad = 0;
    if (wait_for(all_healthy, &total, 4LL * p->interval_ms + 60000) < 0) {
        printf("warm-up: only %d of %d bots healthy after %lld ms\n", atomic_load(&W.healthy),
               total, (long long)(bp_mono_ms() - t0));
        bad++;
    } else {
        printf("warm-up: all %d bots healthy after %lld ms\n", total,
               (long long)(bp_mono_ms() - t0));
    }
    measure_steady(bpt_pid(env, "collector"), bpt_pid(env, "mosquitto"), p, total);
    run_outage(env, p, pubs, will, &bad);
    if (p->restart && !atomic_load(&interrupted))
        run_restart(env, p, total - p->per_agent - (p->bots + p->exchanges - 1) / p->exchanges);
    printf("false alarms (a bot nobody silenced turned bad)  %d statuses, %d alert events\n",
           atomic_load(&W.false_bad), atomic_load(&W.false_alerts));
    printf("status messages seen                 %lld\n", atomic_load(&W.statuses));
    for (int i = 0; i < p->publishers; i++) {
        kill(pubs[i], SIGTERM);
        waitpid(pubs[i], NULL, 0);
    }
    bp_mqtt_stop(obs, 1000);
    bp_mqtt_free(obs);
    bpt_env_free(env);
    free(W.bots);
    return bad || atomic_load(&W.false_bad) ? 1 : 0;
}

static int parse_args(int argc, char **argv, struct params *p)
{
    *p = (struct params){.bots = 10000,
                         .per_agent = 64,
                         .interval_ms = 10000,
                         .exchanges = 7,
                         .publishers = 2,
                         .steady_s = 30,
                         .stats = true,
                         .restart = true,
                         .publisher = -1};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--will") == 0 && v) {
            p->will = true;
        } else if (!v) {
            return -EINVAL;
        } else if (strcmp(k, "--url") == 0) {
            p->url = v;
        } else if (strcmp(k, "--dir") == 0) {
            p->dir = v;
        } else {
            static const char *names[] = {
                "--publisher",  "--bots",     "--per-agent", "--interval-ms", "--exchanges",
                "--publishers", "--steady-s", "--stats",     "--restart",     "--batch"};
            int *dst[] = {&p->publisher, &p->bots,
                          &p->per_agent, &p->interval_ms,
                          &p->exchanges, &p->publishers,
                          &p->steady_s,  NULL,
                          NULL,          NULL};
            bool *flag[] = {NULL, NULL, NULL,      NULL,        NULL,
                            NULL, NULL, &p->stats, &p->restart, &p->batch};
            size_t j = 0;
            while (j < sizeof(names) / sizeof(names[0]) && strcmp(k, names[j]) != 0)
                j++;
            if (j == sizeof(names) / sizeof(names[0]))
                return -EINVAL;
            if (dst[j])
                *dst[j] = atoi(v);
            else
                *flag[j] = atoi(v) != 0;
        }
        i++;
    }
    if (p->bots < 1 || p->per_agent < 1 || p->per_agent > 64 || p->interval_ms < 100 ||
        p->exchanges < 2 || p->publishers < 1 || p->publishers > MAX_PUBLISHERS)
        return -EINVAL;
    return 0;
}

int main(int argc, char **argv)
{
    struct params p;
    if (parse_args(argc, argv, &p) < 0) {
        fprintf(stderr, "usage: bench_fleet [--bots N] [--per-agent 1..64] [--interval-ms MS] "
                        "[--stats 0|1] [--exchanges N] [--publishers 1..16] [--steady-s S] "
                        "[--restart 0|1]\n");
        return 2;
    }
    if (p.publisher >= 0 || p.will) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        if (!p.url || !p.dir)
            return 2;
        return p.will ? run_will_agent(&p) : run_publisher(&p);
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress as it happens, also into a pipe */
    static sigset_t stop_signals;     /* the measuring process cleans up on Ctrl-C */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    pthread_t t;
    pthread_create(&t, NULL, signal_thread, &stop_signals);
    pthread_detach(t);
    return run_bench(&p);
}
