/* SPDX-License-Identifier: MIT */
/* The fake receivers' shared loopback server and log (see recv.h). */
#include "recv.h"

#include "clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_ITEMS 256

struct bpt_recv {
    int fd, port;
    int *answers, nanswers;
    bpt_recv_serve_fn serve;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;
    char *items[MAX_ITEMS];
    int got[MAX_ITEMS];
    int count;
};

static void *run(void *arg)
{
    struct bpt_recv *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        r->serve(r, c);
        close(c);
    }
    return NULL;
}

struct bpt_recv *bpt_recv_start(const int *answers, int n, bpt_recv_serve_fn serve)
{
    struct bpt_recv *r = calloc(1, sizeof(*r));
    if (!r || n < 1 || !(r->answers = malloc(sizeof(int) * (size_t)n)))
        goto fail;
    memcpy(r->answers, answers, sizeof(int) * (size_t)n);
    r->nanswers = n;
    r->serve = serve;
    r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(r->fd, 16) < 0 ||
        getsockname(r->fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("recv: listen");
        goto fail;
    }
    r->port = ntohs(a.sin_port);
    pthread_mutex_init(&r->mu, NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        pthread_mutex_destroy(&r->mu);
        goto fail;
    }
    return r;
fail:
    if (r && r->fd > 0)
        close(r->fd);
    if (r)
        free(r->answers);
    free(r);
    return NULL;
}

int bpt_recv_port(struct bpt_recv *r)
{
    return r->port;
}

int bpt_recv_answer(struct bpt_recv *r)
{
    pthread_mutex_lock(&r->mu);
    int a = r->answers[r->count < r->nanswers ? r->count : r->nanswers - 1];
    pthread_mutex_unlock(&r->mu);
    return a;
}

void bpt_recv_add(struct bpt_recv *r, char *item, int answer)
{
    pthread_mutex_lock(&r->mu);
    if (r->count < MAX_ITEMS) {
        r->items[r->count] = item;
        r->got[r->count++] = answer;
        item = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    free(item);
}

int bpt_recv_count(struct bpt_recv *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}

char *bpt_recv_item(struct bpt_recv *r, int i)
{
    pthread_mutex_lock(&r->mu);
    char *b = i >= 0 && i < r->count ? strdup(r->items[i]) : NULL;
    pthread_mutex_unlock(&r->mu);
    return b;
}

static bool matches(const char *item, const char *const *needles)
{
    for (; *needles; needles++)
        if (!strstr(item, *needles))
            return false;
    return true;
}

char *bpt_recv_wait(struct bpt_recv *r, const char *const *needles, bool answered_ok, int ok_lo,
                    int ok_hi, int64_t timeout_ms)
{
    int64_t deadline = bp_mono_ms() + timeout_ms;
    do {
        pthread_mutex_lock(&r->mu);
        for (int i = 0; i < r->count; i++) {
            bool ok = r->got[i] >= ok_lo && r->got[i] <= ok_hi;
            if ((!answered_ok || ok) && matches(r->items[i], needles)) {
                char *b = strdup(r->items[i]);
                pthread_mutex_unlock(&r->mu);
                return b;
            }
        }
        pthread_mutex_unlock(&r->mu);
        bp_sleep_ms(50);
    } while (bp_mono_ms() < deadline);
    return NULL;
}

void bpt_recv_stop(struct bpt_recv *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    close(r->fd);
    for (int i = 0; i < r->count; i++)
        free(r->items[i]);
    pthread_mutex_destroy(&r->mu);
    free(r->answers);
    free(r);
}
