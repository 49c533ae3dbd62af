/* SPDX-License-Identifier: MIT */
/* systemd's readiness and watchdog protocol (sd_notify(3)) without libsystemd: one datagram
 * of "KEY=VALUE" lines to the Unix socket named by $NOTIFY_SOCKET (a path, or "@name" for the
 * abstract namespace), and WATCHDOG=1 every half of $WATCHDOG_USEC as a loop deadline. Not
 * under systemd (no $NOTIFY_SOCKET), every call does nothing. */
#ifndef BP_SDNOTIFY_H
#define BP_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Caller-allocated; fields are private. */
struct bp_sdnotify {
    int fd; /* -1: not under systemd (or the socket could not be made) */
    struct sockaddr_un addr;
    socklen_t addrlen;
    int64_t watchdog_ms; /* ping period: half of WATCHDOG_USEC; 0 = no watchdog */
    int64_t next_watchdog;
    bool ready; /* READY=1 was sent */
};

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (a watchdog meant for another pid is
 * ignored), then unsets them so probes and commands do not inherit them: call before any
 * thread starts. The first watchdog ping is due at mono. 0, or -errno (logged; the daemon runs
 * on without notifications). */
int bp_sdnotify_init(struct bp_sdnotify *n, int64_t mono);
void bp_sdnotify_cleanup(struct bp_sdnotify *n);

/* Sends text ("READY=1\nSTATUS=..."), one datagram. 0, or -errno; does nothing when off. */
int bp_sdnotify_send(struct bp_sdnotify *n, const char *text);
/* Sends READY=1 with a STATUS= line, once; later calls send only the status. */
void bp_sdnotify_ready(struct bp_sdnotify *n, const char *status);
/* When WATCHDOG=1 is next due (CLOCK_MONOTONIC ms), INT64_MAX without a watchdog. */
int64_t bp_sdnotify_deadline(const struct bp_sdnotify *n);
/* Sends WATCHDOG=1 if it is due at mono, and schedules the next one. */
void bp_sdnotify_step(struct bp_sdnotify *n, int64_t mono);

#endif
