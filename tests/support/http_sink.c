/* SPDX-License-Identifier: MIT */
/* The webhook tests' HTTP receiver: accept, read headers and body, answer, close. */
#include "http_sink.h"

#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_REQUESTS 256
#define MAX_REQUEST (256 * 1024)

struct bpt_http_sink {
    int fd, port;
    int *statuses, nstatuses;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;
    char *bodies[MAX_REQUESTS];
    int answers[MAX_REQUESTS];
    int count;
};

/* Reads one request; returns its body (malloc'd, possibly empty) or NULL. */
static char *read_request(int c)
{
    char *buf = malloc(MAX_REQUEST + 1);
    size_t len = 0;
    char *body = NULL;
    long want = -1;
    while (buf && len < MAX_REQUEST) {
        ssize_t n = read(c, buf + len, MAX_REQUEST - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        if (want < 0) {
            want = 0;
            for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
                if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
                    want = strtol(h + 17, NULL, 10);
        }
        size_t have = len - (size_t)(end + 4 - buf);
        if ((long)have >= want) {
            body = strndup(end + 4, (size_t)want);
            break;
        }
    }
    free(buf);
    return body;
}

static void *serve(void *arg)
{
    struct bpt_http_sink *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char *body = read_request(c);
        if (body) {
            pthread_mutex_lock(&s->mu);
            int i = s->count < s->nstatuses ? s->count : s->nstatuses - 1;
            int status = s->statuses[i];
            if (s->count < MAX_REQUESTS) {
                s->bodies[s->count] = body;
                s->answers[s->count] = status;
                s->count++;
                body = NULL;
            }
            pthread_mutex_unlock(&s->mu);
            char resp[128];
            int n = snprintf(
                resp, sizeof(resp),
                "HTTP/1.1 %d Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
            if (write(c, resp, (size_t)n) < 0)
                perror("http_sink: write");
            free(body);
        }
        close(c);
    }
    return NULL;
}

struct bpt_http_sink *bpt_http_sink_start(const int *statuses, int n)
{
    struct bpt_http_sink *s = calloc(1, sizeof(*s));
    if (!s || n < 1)
        goto fail;
    s->statuses = malloc(sizeof(int) * (size_t)n);
    if (!s->statuses)
        goto fail;
    memcpy(s->statuses, statuses, sizeof(int) * (size_t)n);
    s->nstatuses = n;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->fd, 16) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("http_sink: listen");
        goto fail;
    }
    s->port = ntohs(a.sin_port);
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    return s;
fail:
    if (s && s->fd > 0)
        close(s->fd);
    if (s)
        free(s->statuses);
    free(s);
    return NULL;
}

int bpt_http_sink_port(struct bpt_http_sink *s)
{
    return s->port;
}

int bpt_http_sink_count(struct bpt_http_sink *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

char *bpt_http_sink_body(struct bpt_http_sink *s, int i)
{
    pthread_mutex_lock(&s->mu);
    char *b = i >= 0 && i < s->count ? strdup(s->bodies[i]) : NULL;
    pthread_mutex_unlock(&s->mu);
    return b;
}

static bool matches(const char *body, const char *const *needles)
{
    for (; *needles; needles++)
        if (!strstr(body, *needles))
            return false;
    return true;
}

char *bpt_http_sink_wait(struct bpt_http_sink *s, const char *const *needles, int answered_ok,
                         int64_t timeout_ms)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    do {
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < s->count; i++) {
            bool ok = s->answers[i] >= 200 && s->answers[i] < 300;
            if ((!answered_ok || ok) && matches(s->bodies[i], needles)) {
                char *b = strdup(s->bodies[i]);
                pthread_mutex_unlock(&s->mu);
                return b;
            }
        }
        pthread_mutex_unlock(&s->mu);
        bp_sleep_ms(50);
    } while (bp_mono_ms() < deadline);
    return NULL;
}

void bpt_http_sink_stop(struct bpt_http_sink *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (int i = 0; i < s->count; i++)
        free(s->bodies[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->statuses);
    free(s);
}
