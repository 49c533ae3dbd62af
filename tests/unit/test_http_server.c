/* SPDX-License-Identifier: MIT */
/* The HTTP server without a broker or database: it refuses a taken port, and a rules thread
 * that does not answer (or is not running) turns into 503 after [http] timeout, not a hang; a
 * database error tells the client nothing of libpq; a foreign Host gets 421; half-sent
 * requests from one client do not starve another's /health. */
#include "engine.h"
#include "http_server.h"
#include "ingest.h"
#include "queue.h"
#include "settings.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"

/* A listening socket on a free loopback port; its port in *port. */
static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A TCP connection to port on 127.0.0.1 from the loopback address src ("127.0.0.1", or
 * another of 127/8: another client as the server sees it); a 10 s receive timeout, so a
 * server that never answers fails the test instead of hanging it. */
static int connect_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in from = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, src, &from.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* GET path on port with a raw socket and the given Host header; returns the status code
 * (0: no answer), the response in buf. */
static int get_host(int port, const char *host, const char *path, char *buf, size_t size)
{
    int fd = connect_from("127.0.0.1", port);
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     path, host);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < size && (r = read(fd, buf + got, size - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fd);
    int status = 0;
    sscanf(buf, "HTTP/1.1 %d", &status);
    return status;
}

static int get(int port, const char *path, char *buf, size_t size)
{
    char host[32];
    snprintf(host, sizeof(host), "127.0.0.1:%d", port);
    return get_host(port, host, path, buf, size);
}

struct fx {
    struct col_settings cfg;
    struct bp_queue *q;
    struct col_ingest *ingest;
    struct col_engine *e;
    struct col_http_server *http;
    pthread_t thread;
    bool running;
    volatile sig_atomic_t stop;
    int port;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    int fd = listen_any(&fx->port); /* a free port: take it, then let it go */
    close(fd);
    snprintf(fx->cfg.http_listen, sizeof(fx->cfg.http_listen), "127.0.0.1:%d", fx->port);
    snprintf(fx->cfg.db_conninfo, sizeof(fx->cfg.db_conninfo), "host=/nonexistent dbname=x");
    snprintf(fx->cfg.topic_root, sizeof(fx->cfg.topic_root), "botpulse/v1");
    fx->cfg.http_timeout_ms = 150;
    fx->cfg.stats_interval_ms = 3600000;
    fx->cfg.summary_interval_ms = 1000;
    fx->q = bp_queue_new(64);
    fx->ingest = col_ingest_new("botpulse/v1", fx->q);
    assert_int_equal(col_engine_new(&fx->cfg, NULL, fx->ingest, &fx->e), 0);
    struct col_http_opts o = {.cfg = &fx->cfg, .queue = fx->q, .ingest = fx->ingest};
    assert_int_equal(col_http_server_start(&o, &fx->http), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    col_http_server_free(fx->http);
    if (fx->running) {
        fx->stop = 1;
        bp_queue_wake(fx->q);
        pthread_join(fx->thread, NULL);
    }
    bp_queue_free(fx->q, col_event_free);
    col_engine_free(fx->e);
    col_ingest_free(fx->ingest);
    free(fx);
    return 0;
}

static void *run(void *arg)
{
    struct fx *fx = arg;
    col_engine_run(fx->e, fx->q, &fx->stop);
    return NULL;
}

static void test_taken_port_is_refused(void **state)
{
    struct fx *fx = *state;
    struct col_http_server *second = NULL;
    struct col_http_opts o = {.cfg = &fx->cfg, .queue = fx->q, .ingest = fx->ingest};
    assert_int_equal(col_http_server_start(&o, &second), -EADDRINUSE);
    assert_null(second);
}

static void test_silent_rules_thread_is_503_after_timeout(void **state)
{
    struct fx *fx = *state;
    char buf[4096];
    int64_t t0 = bp_mono_ms();
    assert_int_equal(get(fx->port, "/bots", buf, sizeof(buf)), 503);
    int64_t took = bp_mono_ms() - t0;
    assert_true(took >= 140 && took < 3000);
    assert_non_null(strstr(buf, "did not answer within 150 ms"));
    assert_int_equal(get(fx->port, "/health/rules", buf, sizeof(buf)), 503);
    assert_non_null(strstr(buf, "\"status\":\"unhealthy\""));
    /* once the rules thread runs, it answers (the queries it missed are answered late) */
    assert_int_equal(pthread_create(&fx->thread, NULL, run, fx), 0);
    fx->running = true;
    assert_int_equal(get(fx->port, "/health/rules", buf, sizeof(buf)), 200);
    assert_int_equal(get(fx->port, "/bots", buf, sizeof(buf)), 200);
    assert_non_null(strstr(buf, "\"total\":0"));
}

static void test_no_broker_no_database_is_503_with_why(void **state)
{
    struct fx *fx = *state;
    char buf[4096];
    assert_int_equal(get(fx->port, "/health/broker", buf, sizeof(buf)), 503);
    assert_non_null(strstr(buf, "not connected to the broker"));
    assert_int_equal(get(fx->port, "/health/database", buf, sizeof(buf)), 503);
    assert_non_null(strstr(buf, "cannot connect to PostgreSQL"));
    assert_int_equal(get(fx->port, "/bots/b1/history", buf, sizeof(buf)), 503);
    assert_non_null(strstr(buf, "database unavailable"));
    assert_non_null(strstr(buf, "Content-Type: application/json"));
}

/* A database error answers 503 with a generic reason: libpq's text (its socket path, host,
 * user) stays in the log. */
static void test_database_error_tells_the_client_nothing_of_libpq(void **state)
{
    struct fx *fx = *state;
    char buf[4096];
    const char *paths[] = {"/health/database", "/bots/b1/history"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(get(fx->port, paths[i], buf, sizeof(buf)), 503);
        if (strstr(buf, "nonexistent") || strstr(buf, "PGSQL") || strstr(buf, "socket"))
            fail_msg("%s leaks libpq's text: %s", paths[i], buf);
    }
}

/* DNS rebinding: a page on evil.example, its name pointed at 127.0.0.1, reaches the API with
 * Host: evil.example. It gets 421 and none of the fleet; the listen address and loopback
 * names are served; [http] allowed_hosts replaces them. */
static void test_foreign_host_is_421(void **state)
{
    struct fx *fx = *state;
    char buf[4096];
    assert_int_equal(get_host(fx->port, "evil.example", "/health/broker", buf, sizeof(buf)), 421);
    assert_null(strstr(buf, "broker"));
    assert_int_equal(get_host(fx->port, "evil.example:8080", "/metrics", buf, sizeof(buf)), 421);
    assert_null(strstr(buf, "botpulse_"));
    assert_int_equal(get_host(fx->port, "LOCALHOST", "/health/broker", buf, sizeof(buf)), 503);
    assert_int_equal(get_host(fx->port, "[::1]:80", "/health/broker", buf, sizeof(buf)), 503);
    col_http_server_free(fx->http);
    fx->http = NULL;
    snprintf(fx->cfg.http_allowed_hosts, sizeof(fx->cfg.http_allowed_hosts),
             "monitor.example, 10.0.0.5");
    struct col_http_opts o = {.cfg = &fx->cfg, .queue = fx->q, .ingest = fx->ingest};
    assert_int_equal(col_http_server_start(&o, &fx->http), 0);
    assert_int_equal(get_host(fx->port, "Monitor.Example:8080", "/health/broker", buf, sizeof(buf)),
                     503);
    assert_int_equal(get_host(fx->port, "10.0.0.5", "/health/broker", buf, sizeof(buf)), 503);
    assert_int_equal(get_host(fx->port, "localhost", "/health/broker", buf, sizeof(buf)), 421);
}

/* Slowloris: 70 connections from one client, each a request never finished. The server keeps
 * at most 16 of them (it closes the rest) and they hold sockets, not threads: another
 * client's /health/rules still answers. */
static void test_half_sent_requests_do_not_starve_health(void **state)
{
    struct fx *fx = *state;
    enum { N = 70 };
    int fds[N];
    const char part[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    for (int i = 0; i < N; i++) {
        fds[i] = connect_from("127.0.0.2", fx->port);
        (void)!write(fds[i], part, sizeof(part) - 1);
    }
    assert_int_equal(pthread_create(&fx->thread, NULL, run, fx), 0);
    fx->running = true;
    char buf[4096];
    assert_int_equal(get(fx->port, "/health/rules", buf, sizeof(buf)), 200);
    /* the server closed all but 16 of the slow client's connections: count the ends */
    int closed = 0;
    for (int i = 0; i < N; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        char c;
        if (poll(&p, 1, closed >= N - 16 ? 0 : 2000) == 1 && read(fds[i], &c, 1) <= 0)
            closed++;
        close(fds[i]);
    }
    assert_true(closed >= N - 16);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_taken_port_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_rules_thread_is_503_after_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_broker_no_database_is_503_with_why, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_database_error_tells_the_client_nothing_of_libpq,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_host_is_421, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_sent_requests_do_not_starve_health, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
