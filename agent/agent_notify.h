/* SPDX-License-Identifier: MIT */
/* The notify channel between bots and their agent: a Unix SOCK_SEQPACKET socket, one request
 * packet per connection ("trade bot=demo-1 id=T1 symbol=BTC-USDT side=buy ts=1732000000000"),
 * one reply packet ("ok" or "error: <reason>"). Parser, non-blocking server, blocking client.
 *
 * Requests, one line of printable ASCII, "verb key=value ...":
 *   trade bot=ID [id=X] [symbol=S] [side=buy|sell] [ts=MS]
 *   tick bot=ID [ts=MS]                       the strategy loop evaluated (trade or not)
 *   market bot=ID ts=MS                       time of the newest market data the bot has
 *   exposure bot=ID positions=N orders=N      open positions, resting orders
 *   metric bot=ID NAME=NUMBER [NAME=NUMBER]   custom metrics, NAME of [a-z0-9_]{1,32}
 *   api bot=ID result=ok|error [latency_ms=N] one exchange API call's outcome
 *   maintenance bot=ID for=DURATION [reason=TEXT...]   for=0 ends it
 *   event bot=ID text=TEXT...
 * reason= and text= come last and take the rest of the line, spaces included.
 * The server knows each client's uid (SO_PEERCRED); a bot may name the one user allowed to
 * speak for it (notify_user), see agent_notify_check_peer. */
#ifndef AGENT_NOTIFY_H
#define AGENT_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct agent_bot_config;
struct agent_config;
struct pollfd;

#define AGENT_NOTIFY_MAX_BYTES 1024 /* largest request accepted */
#define AGENT_NOTIFY_MAX_CONNS 16   /* clients waiting for their reply at once */
#define AGENT_NOTIFY_CONN_TIMEOUT_MS 2000

#define AGENT_NOTIFY_MAINT_MAX_MS (7LL * 86400 * 1000) /* longest maintenance declared */
#define AGENT_NOTIFY_LATENCY_MAX_MS (86400LL * 1000)

enum agent_notify_verb {
    AGENT_NOTIFY_TRADE = 1,
    AGENT_NOTIFY_TICK,
    AGENT_NOTIFY_MARKET,
    AGENT_NOTIFY_EXPOSURE,
    AGENT_NOTIFY_METRIC,
    AGENT_NOTIFY_API,
    AGENT_NOTIFY_MAINTENANCE,
    AGENT_NOTIFY_EVENT,
};

struct agent_notify_req {
    enum agent_notify_verb verb;
    int bot;                   /* index into cfg->bots */
    struct bp_trade trade;     /* trade: trade_ts 0 = "now" (the caller fills it in) */
    int64_t ts;                /* tick (0 = now), market */
    int64_t positions, orders; /* exposure */
    int nmetrics;              /* metric: 1..BP_METRICS_MAX, unique names */
    struct bp_metric metrics[BP_METRICS_MAX];
    bool api_ok;                      /* api */
    int64_t latency_ms;               /* api: -1 = not given */
    int64_t duration_ms;              /* maintenance: 0 ends it */
    char text[BP_EVENT_TEXT_MAX + 1]; /* maintenance reason (<= BP_TEXT_MAX), event text */
};

/* Parses one request of len bytes (not NUL-terminated; one trailing newline allowed) against
 * the bots in cfg. 0, or -EINVAL (-EMSGSIZE when over AGENT_NOTIFY_MAX_BYTES) with a reason in
 * err, without the "error: " prefix. Strict: unknown verbs and keys, duplicate keys, empty and
 * malformed values, unknown bots and control bytes are refused. */
int agent_notify_parse(const char *buf, size_t len, const struct agent_config *cfg,
                       struct agent_notify_req *out, char *err, size_t errlen);

/* Who sent a request: the kernel's word (SO_PEERCRED, taken when the client connected). */
struct agent_notify_peer {
    bool known; /* false if the kernel would not say (then only a bot without notify_user) */
    int pid;
    uint32_t uid, gid;
};

/* May peer speak for bot b? Yes when b names no notify_user (anyone who can connect to the
 * socket may: its mode, 0660, is the only guard then), when peer runs as that user, or as
 * root (who could do anything anyway). 0, or -EPERM with the reason in err. */
int agent_notify_check_peer(const struct agent_bot_config *b, const struct agent_notify_peer *peer,
                            char *err, size_t errlen);

/* Called once per request; writes the reply text ("ok" or "error: ...") into reply. */
typedef void (*agent_notify_handler)(void *ctx, const struct agent_notify_peer *peer,
                                     const char *req, size_t len, char *reply, size_t replylen);

struct agent_notify_conn {
    int fd;
    int64_t deadline_ms;
    struct agent_notify_peer peer;
};

/* The listening side, owned by the agent's loop thread. Caller-allocated. */
struct agent_notify_server {
    int listen_fd;
    char path[108];
    int nconns;
    struct agent_notify_conn conns[AGENT_NOTIFY_MAX_CONNS];
};

/* Binds path (mode 0660), replacing a stale socket; refuses (-EADDRINUSE) if another agent
 * answers there and (-EEXIST) if path is not a socket. 0 or -errno. */
int agent_notify_server_start(struct agent_notify_server *s, const char *path);
/* Closes every socket and unlinks the path. Safe on a server that never started. */
void agent_notify_server_stop(struct agent_notify_server *s);
/* Fills pfds with the listening socket and waiting clients; returns how many (<= max). */
size_t agent_notify_server_pollfds(const struct agent_notify_server *s, struct pollfd *pfds,
                                   size_t max);
/* The earliest client deadline (monotonic ms), or INT64_MAX. */
int64_t agent_notify_server_deadline(const struct agent_notify_server *s);
/* After poll: accepts, reads, answers (through handler) and expires clients. pfds/n are what
 * agent_notify_server_pollfds filled in. */
void agent_notify_server_process(struct agent_notify_server *s, const struct pollfd *pfds, size_t n,
                                 int64_t now_ms, agent_notify_handler handler, void *ctx);

/* The client: sends req to the agent at path and waits up to timeout_ms for its reply.
 * 0 with the reply in reply, or -errno when the agent cannot be reached (reason in why). */
int agent_notify_send(const char *path, const char *req, char *reply, size_t replylen,
                      int timeout_ms, char *why, size_t whylen);

#endif
