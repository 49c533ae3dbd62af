/* SPDX-License-Identifier: MIT */
/* Benchmark: how long from kill -9 of a bot to its `stopped` status on MQTT, at the default
 * 10 s heartbeat. The whole stack runs (mosquitto, PostgreSQL, collector, agent, a stand-in
 * bot); each round kills the bot right after the agent sent its stats (so no periodic look is
 * near: the agent's pidfd is what sees the death) and times, on its own MQTT client, the
 * agent's out-of-turn heartbeat (alive false) and the collector's status. Next to them, the
 * floors measured in the same round: the kernel's word (a pidfd on the same process, held by
 * this program) and a bare MQTT round trip through the same broker. See docs/benchmarks.md.
 *
 *   bench_crash [--rounds N]        default 20 */
#include "stack.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mqtt.h"

#define HB_TOPIC BPT_ROOT "/agents/agent-1/bots/bot-1/heartbeat"
#define STATS_TOPIC BPT_ROOT "/agents/agent-1/bots/bot-1/stats"
#define STATUS_TOPIC BPT_ROOT "/status/bot-1"
#define ECHO_TOPIC "bench/echo"
#define MAX_ROUNDS 1000

/* Arrival times (µs, CLOCK_MONOTONIC) taken on Paho's thread; 0 = not yet. */
struct watch {
    atomic_llong stats, dead_hb, stopped, healthy, echo;
};

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void mark(atomic_llong *at)
{
    long long zero = 0;
    atomic_compare_exchange_strong(at, &zero, now_us());
}

static void on_message(void *ctx, const char *topic, const void *payload, size_t len)
{
    struct watch *w = ctx;
    char text[1024];
    size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
    memcpy(text, payload, n);
    text[n] = '\0';
    if (strcmp(topic, STATS_TOPIC) == 0)
        mark(&w->stats);
    else if (strcmp(topic, HB_TOPIC) == 0 && strstr(text, "\"alive\":false"))
        mark(&w->dead_hb);
    else if (strcmp(topic, STATUS_TOPIC) == 0 && strstr(text, "\"status\":\"stopped\""))
        mark(&w->stopped);
    else if (strcmp(topic, STATUS_TOPIC) == 0 && strstr(text, "\"status\":\"healthy\""))
        mark(&w->healthy);
    else if (strcmp(topic, ECHO_TOPIC) == 0)
        mark(&w->echo);
}

/* Waits (10 s at most) until *at is set; its value or 0. */
static long long await(atomic_llong *at)
{
    long long deadline = now_us() + 10000000;
    while (atomic_load(at) == 0 && now_us() < deadline)
        usleep(500);
    return atomic_load(at);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, long long *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_ll);
    int p95 = (n * 95 + 99) / 100 - 1;
    printf("%-38s min %8.3f  median %8.3f  p95 %8.3f  max %8.3f ms\n", what, v[0] / 1000.0,
           v[n / 2] / 1000.0, v[p95 < 0 ? 0 : p95] / 1000.0, v[n - 1] / 1000.0);
}

/* One round: kill right after the bot's stats, time everything, start the bot again. */
static int round_once(struct bpt_stack *s, struct bp_mqtt *c, struct watch *w, long long *kernel,
                      long long *hb, long long *status, long long *echo)
{
    atomic_store(&w->stats, 0);
    if (!await(&w->stats))
        return -ETIMEDOUT;
    pid_t pid = bpt_pid(s->env, "bot-bot-1");
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    atomic_store(&w->dead_hb, 0);
    atomic_store(&w->stopped, 0);
    atomic_store(&w->healthy, 0);
    long long t0 = now_us();
    kill(pid, SIGKILL);
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    poll(&p, 1, 10000);
    *kernel = now_us() - t0;
    close(pfd);
    long long t_hb = await(&w->dead_hb), t_st = await(&w->stopped);
    if (!t_hb || !t_st)
        return -ETIMEDOUT;
    *hb = t_hb - t0;
    *status = t_st - t0;
    atomic_store(&w->echo, 0);
    long long e0 = now_us();
    bp_mqtt_publish(c, ECHO_TOPIC, "x", 1, 0, false);
    long long t_echo = await(&w->echo);
    *echo = t_echo ? t_echo - e0 : 0;
    bpt_wait_exit(s->env, "bot-bot-1", 5000);
    if (bpt_stack_start_bot(s, "bot-1") != 0 || !await(&w->healthy))
        return -EIO;
    return 0;
}

static int run(struct bpt_env *env, int rounds)
{
    static long long kernel[MAX_ROUNDS], hb[MAX_ROUNDS], status[MAX_ROUNDS], echo[MAX_ROUNDS];
    struct bpt_stack_opts o = {.bots = {"bot-1"}, .heartbeat = "10s"};
    struct bpt_stack s;
    struct watch w = {0};
    struct bp_mqtt *c = NULL;
    struct bp_mqtt_opts mo = {.url = bpt_broker_url(env),
                              .client_id = "bench-crash",
                              .clean_session = true,
                              .on_message = on_message,
                              .ctx = &w};
    if (bpt_stack_start(env, &o, &s) != 0 || bp_mqtt_new(&mo, &c) != 0 ||
        bp_mqtt_subscribe(c, BPT_ROOT "/#", 0) != 0 || bp_mqtt_subscribe(c, ECHO_TOPIC, 0) != 0 ||
        bp_mqtt_start(c) != 0 || bp_mqtt_wait_connected(c, 10000) != 0) {
        fprintf(stderr, "bench_crash: the stack did not start\n");
        bp_mqtt_free(c);
        return 1;
    }
    if (!await(&w.healthy)) {
        fprintf(stderr, "bench_crash: bot-1 never became healthy\n");
        bp_mqtt_free(c);
        return 1;
    }
    for (int r = 0; r < rounds; r++) {
        int rc = round_once(&s, c, &w, &kernel[r], &hb[r], &status[r], &echo[r]);
        if (rc != 0) {
            fprintf(stderr, "bench_crash: round %d failed: %s\n", r + 1, strerror(-rc));
            bp_mqtt_free(c);
            return 1;
        }
        fprintf(stderr, "round %2d: heartbeat %.3f ms, stopped %.3f ms\n", r + 1, hb[r] / 1000.0,
                status[r] / 1000.0);
    }
    printf("kill -9 of a bot, heartbeat interval 10 s, %d rounds:\n", rounds);
    report("floor: pidfd readable (this program)", kernel, rounds);
    report("floor: MQTT round trip (same broker)", echo, rounds);
    report("agent: heartbeat alive=false on MQTT", hb, rounds);
    report("collector: status stopped on MQTT", status, rounds);
    bp_mqtt_stop(c, 1000);
    bp_mqtt_free(c);
    return bpt_stack_stop(&s) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    int rounds = 20;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_crash [--rounds N]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_crash: --rounds 1..%d\n", MAX_ROUNDS);
        return 2;
    }
    struct bpt_env *env = bpt_env_new("bench-crash");
    if (!env)
        return 1;
    int rc = run(env, rounds);
    bpt_env_free(env);
    return rc;
}
