/* SPDX-License-Identifier: MIT */
/* The collector's watchdog against a fake NOTIFY_SOCKET and a real engine: no READY=1 and no
 * WATCHDOG=1 while the rules thread does not turn; both once it does; the pings stop when it
 * stops and resume when it runs again. */
#include "engine.h"
#include "ingest.h"
#include "queue.h"
#include "sdnotify.h"
#include "settings.h"
#include "watchdog.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct fx {
    struct col_settings cfg;
    struct bp_queue *q;
    struct col_ingest *ingest;
    struct col_engine *e;
    pthread_t thread;
    volatile sig_atomic_t stop;
    int fd; /* the fake systemd's socket */
};

static void *run(void *arg)
{
    struct fx *fx = arg;
    col_engine_run(fx->e, fx->q, &fx->stop);
    return NULL;
}

static void start_rules(struct fx *fx)
{
    fx->stop = 0;
    assert_int_equal(pthread_create(&fx->thread, NULL, run, fx), 0);
}

static void stop_rules(struct fx *fx)
{
    fx->stop = 1;
    bp_queue_wake(fx->q);
    pthread_join(fx->thread, NULL);
}

/* Datagrams received within ms, concatenated with '|' into buf. */
static const char *received(struct fx *fx, int ms, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    struct pollfd p = {.fd = fx->fd, .events = POLLIN};
    while (poll(&p, 1, ms) == 1) {
        char one[256];
        ssize_t n = recv(fx->fd, one, sizeof(one) - 1, 0);
        if (n <= 0)
            break;
        one[n] = '\0';
        len += (size_t)snprintf(buf + len, size - len, "%s|", one);
        if (len >= size - 1)
            break;
    }
    return buf;
}

/* Waits up to 5 s for a datagram containing needle. */
static bool wait_for(struct fx *fx, const char *needle)
{
    char buf[256];
    for (int i = 0; i < 50; i++)
        if (strstr(received(fx, 100, buf, sizeof(buf)), needle))
            return true;
    return false;
}

static void test_pings_only_while_the_rules_thread_turns(void **state)
{
    struct fx fx = {0};
    char name[64], buf[4096];
    snprintf(name, sizeof(name), "@bp-test-watchdog-%d", (int)getpid());
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path + 1, name + 1, strlen(name) - 1);
    fx.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(fx.fd, (struct sockaddr *)&a,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))),
                     0);
    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", "200000", 1); /* a ping every 100 ms */
    unsetenv("WATCHDOG_PID");
    struct bp_sdnotify n;
    assert_int_equal(bp_sdnotify_init(&n, 0), 0);

    snprintf(fx.cfg.topic_root, sizeof(fx.cfg.topic_root), "botpulse/v1");
    fx.cfg.stats_interval_ms = 3600000; /* nothing wakes the rules thread but the pings */
    fx.cfg.summary_interval_ms = 1000;
    fx.q = bp_queue_new(1024);
    fx.ingest = col_ingest_new("botpulse/v1", fx.q);
    assert_int_equal(col_engine_new(&fx.cfg, NULL, fx.ingest, &fx.e), 0);
    struct col_watchdog *w = NULL;
    assert_int_equal(col_watchdog_start(&n, fx.q, &w), 0);
    assert_non_null(w);

    /* the rules thread has not started: ten periods, not a word */
    assert_string_equal(received(&fx, 1000, buf, sizeof(buf)), "");
    assert_int_equal(col_watchdog_pings(w), 0);
    start_rules(&fx);
    assert_true(wait_for(&fx, "READY=1\nSTATUS=running"));
    assert_true(wait_for(&fx, "WATCHDOG=1"));
    assert_true(wait_for(&fx, "WATCHDOG=1"));

    /* the rules thread stops turning: the pings stop (at most one already under way) */
    stop_rules(&fx);
    received(&fx, 200, buf, sizeof(buf));
    uint64_t before = col_watchdog_pings(w);
    assert_string_equal(received(&fx, 1000, buf, sizeof(buf)), "");
    assert_true(col_watchdog_pings(w) == before);

    /* it turns again: so do the pings */
    start_rules(&fx);
    assert_true(wait_for(&fx, "WATCHDOG=1"));
    col_watchdog_stop(w);
    stop_rules(&fx);
    bp_queue_free(fx.q, col_event_free);
    col_engine_free(fx.e);
    col_ingest_free(fx.ingest);
    bp_sdnotify_cleanup(&n);
    close(fx.fd);
}

/* Not under systemd: no thread, nothing sent. */
static void test_off_without_notify_socket(void **state)
{
    unsetenv("NOTIFY_SOCKET");
    struct bp_sdnotify n;
    assert_int_equal(bp_sdnotify_init(&n, 0), 0);
    struct col_watchdog *w = (struct col_watchdog *)&n;
    assert_int_equal(col_watchdog_start(&n, NULL, &w), 0);
    assert_null(w);
    col_watchdog_stop(w);
    bp_sdnotify_cleanup(&n);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pings_only_while_the_rules_thread_turns),
        cmocka_unit_test(test_off_without_notify_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
