/* SPDX-License-Identifier: MIT */
/* sd_notify(3)'s datagram protocol, spoken directly: both daemons stay free of libsystemd. */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define MOD "sdnotify"

static int parse_addr(struct bp_sdnotify *n, const char *path)
{
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof(n->addr.sun_path))
        return -EINVAL;
    memset(&n->addr, 0, sizeof(n->addr));
    n->addr.sun_family = AF_UNIX;
    memcpy(n->addr.sun_path, path, len);
    if (path[0] == '@')
        n->addr.sun_path[0] = '\0'; /* abstract: no trailing NUL counts */
    n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
    return 0;
}

/* WATCHDOG_USEC, when meant for us: the ping period (half of it) in ms, or 0. */
static int64_t watchdog_period(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (!usec || (pid && atol(pid) != (long)getpid()))
        return 0;
    long long us = atoll(usec);
    if (us <= 0)
        return 0;
    int64_t ms = (int64_t)(us / 2000);
    return ms > 0 ? ms : 1;
}

int bp_sdnotify_init(struct bp_sdnotify *n, int64_t mono)
{
    memset(n, 0, sizeof(*n));
    n->fd = -1;
    const char *path = getenv("NOTIFY_SOCKET");
    int rc = 0;
    if (path) {
        n->watchdog_ms = watchdog_period();
        n->next_watchdog = mono;
        if ((rc = parse_addr(n, path)) != 0)
            BP_ERROR(MOD, "NOTIFY_SOCKET '%s': not a socket path; not notifying systemd", path);
        else if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
            rc = -errno;
            BP_ERROR(MOD, "socket: %s; not notifying systemd", strerror(errno));
        }
        if (rc == 0 && n->watchdog_ms > 0)
            BP_INFO(MOD, "systemd watchdog: a ping every %lld ms", (long long)n->watchdog_ms);
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    if (rc != 0)
        n->watchdog_ms = 0;
    return rc;
}

void bp_sdnotify_cleanup(struct bp_sdnotify *n)
{
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
}

int bp_sdnotify_send(struct bp_sdnotify *n, const char *text)
{
    if (n->fd < 0)
        return 0;
    ssize_t w = sendto(n->fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT,
                       (const struct sockaddr *)&n->addr, n->addrlen);
    if (w >= 0)
        return 0;
    int rc = -errno;
    BP_DEBUG(MOD, "sendto NOTIFY_SOCKET: %s", strerror(errno));
    return rc;
}

void bp_sdnotify_ready(struct bp_sdnotify *n, const char *status)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%sSTATUS=%s", n->ready ? "" : "READY=1\n", status);
    if (bp_sdnotify_send(n, buf) == 0)
        n->ready = true;
}

int64_t bp_sdnotify_deadline(const struct bp_sdnotify *n)
{
    return n->watchdog_ms > 0 ? n->next_watchdog : INT64_MAX;
}

void bp_sdnotify_step(struct bp_sdnotify *n, int64_t mono)
{
    if (n->watchdog_ms <= 0 || mono < n->next_watchdog)
        return;
    bp_sdnotify_send(n, "WATCHDOG=1");
    n->next_watchdog = mono + n->watchdog_ms;
}
