/* SPDX-License-Identifier: MIT */
/* The webhook tests' HTTP receiver: accept, read headers and body, answer, close. */
#include "http_sink.h"

#include "recv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_REQUEST (256 * 1024)

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

static void serve(struct bpt_recv *r, int c)
{
    char *body = read_request(c);
    if (!body)
        return;
    int status = bpt_recv_answer(r);
    bpt_recv_add(r, body, status);
    char resp[128];
    int n =
        snprintf(resp, sizeof(resp),
                 "HTTP/1.1 %d Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    if (write(c, resp, (size_t)n) < 0)
        perror("http_sink: write");
}

/* The sink is the receiver itself: the handle is a bpt_recv under another name. */
struct bpt_http_sink *bpt_http_sink_start(const int *statuses, int n)
{
    return (struct bpt_http_sink *)bpt_recv_start(statuses, n, serve);
}

int bpt_http_sink_port(struct bpt_http_sink *s)
{
    return bpt_recv_port((struct bpt_recv *)s);
}

int bpt_http_sink_count(struct bpt_http_sink *s)
{
    return bpt_recv_count((struct bpt_recv *)s);
}

char *bpt_http_sink_body(struct bpt_http_sink *s, int i)
{
    return bpt_recv_item((struct bpt_recv *)s, i);
}

char *bpt_http_sink_wait(struct bpt_http_sink *s, const char *const *needles, int answered_ok,
                         int64_t timeout_ms)
{
    return bpt_recv_wait((struct bpt_recv *)s, needles, answered_ok, 200, 299, timeout_ms);
}

void bpt_http_sink_stop(struct bpt_http_sink *s)
{
    bpt_recv_stop((struct bpt_recv *)s);
}
