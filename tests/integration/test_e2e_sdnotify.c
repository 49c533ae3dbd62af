/* SPDX-License-Identifier: MIT */
/* End to end, systemd notifications: the agent started with NOTIFY_SOCKET (a datagram socket
 * this test binds, as systemd would) and WATCHDOG_USEC sends READY=1 once connected, then
 * WATCHDOG=1 every half period, and STOPPING=1 on SIGTERM (exiting 0). With the broker
 * unreachable it still says READY=1 after its first heartbeat interval, with a STATUS= that
 * says so. The collector likewise, its pings proved by its rules thread. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

BPT_ENV_FIXTURE("sdnotify")

struct fake_systemd {
    int fd;
    char path[600];
    char got[8192]; /* every datagram so far, each followed by '|' */
    size_t len;
};

static void fake_bind(struct bpt_env *env, struct fake_systemd *f)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(f->path, sizeof(f->path), "%s/notify", bpt_env_dir(env));
    bpt_assert(env, strlen(f->path) < sizeof(a.sun_path), "socket path too long");
    memcpy(a.sun_path, f->path, strlen(f->path) + 1);
    f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bpt_assert(env, f->fd >= 0 && bind(f->fd, (struct sockaddr *)&a, sizeof(a)) == 0,
               "cannot bind %s", f->path);
    f->len = 0;
    f->got[0] = '\0';
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads datagrams until one contains needle, at least `times` times in all; false on timeout. */
static bool fake_wait(struct fake_systemd *f, const char *needle, int times, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    for (;;) {
        int seen = 0;
        for (const char *p = f->got; (p = strstr(p, needle)) != NULL; p++)
            seen++;
        if (seen >= times)
            return true;
        int64_t left = end - mono_ms();
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            return false;
        char buf[1024];
        ssize_t n = recv(f->fd, buf, sizeof(buf) - 1, 0);
        if (n > 0 && f->len + (size_t)n + 2 < sizeof(f->got)) {
            memcpy(f->got + f->len, buf, (size_t)n);
            f->len += (size_t)n;
            f->got[f->len++] = '|';
            f->got[f->len] = '\0';
        }
    }
}

/* Only the daemon started next gets the variables (mosquitto would say READY=1 too). */
static void env_for_agent(const char *path, const char *watchdog_usec)
{
    if (path) {
        setenv("NOTIFY_SOCKET", path, 1);
        setenv("WATCHDOG_USEC", watchdog_usec, 1);
    } else {
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
    }
}

static void test_ready_watchdog_stopping(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    /* Restart the agent as systemd would start it. */
    bpt_assert(env, bpt_signal(env, "agent", SIGTERM) == 0, "cannot stop the agent");
    int st = bpt_wait_exit(env, "agent", 10000);
    bpt_assert(env, st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent exit %d", st);
    struct fake_systemd f;
    fake_bind(env, &f);
    env_for_agent(f.path, "1000000"); /* a ping every 500 ms */
    int rc = bpt_stack_start_agent(&s);
    env_for_agent(NULL, NULL);
    bpt_assert(env, rc == 0, "agent did not come back");

    bpt_assert(env, fake_wait(&f, "READY=1\nSTATUS=connected to tcp://", 1, 10000),
               "no READY=1 with a connected status: got '%s'", f.got);
    bpt_assert(env, fake_wait(&f, "WATCHDOG=1", 3, 5000), "fewer than 3 WATCHDOG=1: '%s'", f.got);
    bpt_assert(env, strstr(f.got, "READY=1") == strstr(f.got, "READY=1\nSTATUS=connected"),
               "READY=1 sent before the connection: '%s'", f.got);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
    bpt_assert(env, fake_wait(&f, "STOPPING=1", 1, 2000), "no STOPPING=1: '%s'", f.got);
    close(f.fd);
}

static void test_ready_without_broker(void **state)
{
    struct bpt_env *env = *state;
    struct fake_systemd f;
    fake_bind(env, &f);
    char pidfile[600];
    snprintf(pidfile, sizeof(pidfile), "%s/self.pid", bpt_env_dir(env));
    bpt_assert(env, bpt_write_file(env, "self.pid", "%d\n", (int)getpid()) != NULL, "pid file");
    const char *ini = bpt_write_file(
        env, "agent.ini",
        "[agent]\nid = agent-1\nheartbeat = 500ms\nstate_dir = %s/agent\nlog_level = debug\n"
        "[mqtt]\nurl = tcp://127.0.0.1:1\n[bot bot-1]\npid_file = %s\n",
        bpt_env_dir(env), pidfile);
    bpt_assert(env, ini, "cannot write agent.ini");
    char *argv[] = {BPT_AGENT_BIN, "-c", (char *)ini, NULL};
    env_for_agent(f.path, "4000000");
    pid_t pid = bpt_spawn(env, "agent", argv);
    env_for_agent(NULL, NULL);
    bpt_assert(env, pid > 0, "cannot start the agent");
    bpt_assert(env,
               fake_wait(&f, "READY=1\nSTATUS=broker tcp://127.0.0.1:1 not reachable", 1, 5000),
               "no READY=1 without the broker: '%s'", f.got);
    bpt_assert(env, fake_wait(&f, "WATCHDOG=1", 2, 5000), "no WATCHDOG=1: '%s'", f.got);
    bpt_assert(env, bpt_signal(env, "agent", SIGTERM) == 0, "cannot stop the agent");
    int st = bpt_wait_exit(env, "agent", 10000);
    bpt_assert(env, st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "agent exit %d", st);
    bpt_assert(env, fake_wait(&f, "STOPPING=1", 1, 1000), "no STOPPING=1: '%s'", f.got);
    close(f.fd);
}

/* The collector under systemd: READY=1 once its rules thread answers, WATCHDOG=1 every half
 * period while it does, STOPPING=1 on SIGTERM (exiting 0). That a stuck rules thread stops
 * the pings is test_watchdog's (a SIGSTOP would stop every thread, proving nothing). */
static void test_collector_ready_watchdog_stopping(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    bpt_assert(env, bpt_signal(env, "collector", SIGTERM) == 0, "cannot stop the collector");
    int st = bpt_wait_exit(env, "collector", 15000);
    bpt_assert(env, st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "collector exit %d", st);
    struct fake_systemd f;
    fake_bind(env, &f);
    env_for_agent(f.path, "1000000"); /* a ping every 500 ms */
    int rc = bpt_stack_start_collector(&s);
    env_for_agent(NULL, NULL);
    bpt_assert(env, rc == 0, "collector did not come back");
    bpt_assert(env, fake_wait(&f, "READY=1\nSTATUS=running", 1, 10000), "no READY=1: got '%s'",
               f.got);
    bpt_assert(env, fake_wait(&f, "WATCHDOG=1", 3, 5000), "fewer than 3 WATCHDOG=1: '%s'", f.got);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly (SIGTERM, 0)");
    bpt_assert(env, fake_wait(&f, "STOPPING=1", 1, 2000), "no STOPPING=1: '%s'", f.got);
    close(f.fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ready_watchdog_stopping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ready_without_broker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collector_ready_watchdog_stopping, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
