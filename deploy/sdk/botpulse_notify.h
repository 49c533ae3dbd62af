/* SPDX-License-Identifier: MIT */
/* botpulse_notify.h: tell the local botpulse-agent what your bot is doing, from C. Header only,
 * no dependencies beyond POSIX; copy it into your bot. Each call sends one request over the
 * agent's Unix SOCK_SEQPACKET socket and waits (up to 2 s) for "ok" or "error: <reason>".
 *
 *   #define BOTPULSE_SOCKET "/var/lib/botpulse-agent/notify.sock"   (optional)
 *   #include "botpulse_notify.h"
 *
 *   bpn_tick("grid-1");                                  every strategy evaluation
 *   bpn_market("grid-1", last_candle_ms);                newest market data time
 *   bpn_exposure("grid-1", open_positions, open_orders);
 *   bpn_metric("grid-1", "unprotected_positions", 0);
 *   bpn_api("grid-1", ok, latency_ms);                   after each exchange call
 *   bpn_trade("grid-1", "T-1842");
 *   bpn_send("maintenance bot=grid-1 for=10m reason=deploying v2", err, sizeof(err));
 *
 * Build with _DEFAULT_SOURCE (or -std=gnu11): it uses SOCK_CLOEXEC and MSG_NOSIGNAL.
 *
 * Each returns 0 when the agent took it, 1 when it refused it (the reason in err for
 * bpn_send), -1 when no agent answered. Never let a monitoring call stop your bot: ignore
 * failures, or log them. The protocol is in the botpulse README ("Signals from the bot"). */
#ifndef BOTPULSE_NOTIFY_H
#define BOTPULSE_NOTIFY_H

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef BOTPULSE_SOCKET
#define BOTPULSE_SOCKET "/var/lib/botpulse-agent/notify.sock"
#endif

/* Sends one request line; the agent's reply goes to reply (if not NULL). */
static inline int bpn_send(const char *request, char *reply, size_t replylen)
{
    struct sockaddr_un sa;
    struct timeval tv = {2, 0};
    char buf[256];
    ssize_t n = -1;
    const char *path = BOTPULSE_SOCKET;
    size_t len = strlen(path);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (len >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, len + 1);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        send(fd, request, strlen(request), MSG_NOSIGNAL) >= 0)
        n = recv(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if (reply && replylen > 0)
        snprintf(reply, replylen, "%s", buf);
    return strcmp(buf, "ok") == 0 ? 0 : 1;
}

static inline int bpn_sendf2(const char *verb, const char *bot, const char *rest)
{
    char req[1024];
    snprintf(req, sizeof(req), "%s bot=%s%s%s", verb, bot, rest[0] ? " " : "", rest);
    return bpn_send(req, NULL, 0);
}

static inline int bpn_tick(const char *bot)
{
    return bpn_sendf2("tick", bot, "");
}

static inline int bpn_market(const char *bot, long long market_ts_ms)
{
    char rest[64];
    snprintf(rest, sizeof(rest), "ts=%lld", market_ts_ms);
    return bpn_sendf2("market", bot, rest);
}

static inline int bpn_exposure(const char *bot, long positions, long orders)
{
    char rest[64];
    snprintf(rest, sizeof(rest), "positions=%ld orders=%ld", positions, orders);
    return bpn_sendf2("exposure", bot, rest);
}

static inline int bpn_metric(const char *bot, const char *name, double value)
{
    char rest[96];
    snprintf(rest, sizeof(rest), "%s=%.17g", name, value);
    return bpn_sendf2("metric", bot, rest);
}

static inline int bpn_api(const char *bot, int ok, long latency_ms)
{
    char rest[64];
    snprintf(rest, sizeof(rest), "result=%s latency_ms=%ld", ok ? "ok" : "error",
             latency_ms < 0 ? 0 : latency_ms);
    return bpn_sendf2("api", bot, rest);
}

static inline int bpn_trade(const char *bot, const char *trade_id)
{
    char rest[160] = "";
    if (trade_id && trade_id[0])
        snprintf(rest, sizeof(rest), "id=%s", trade_id);
    return bpn_sendf2("trade", bot, rest);
}

#endif
