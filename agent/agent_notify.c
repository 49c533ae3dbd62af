/* SPDX-License-Identifier: MIT */
/* The notify channel: strict request parser, non-blocking SOCK_SEQPACKET server, client. */
#include "agent_notify.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_config.h"
#include "config.h"
#include "log.h"

#define MOD "notify"
#define TS_MIN 946684800000LL  /* 2000-01-01 */
#define TS_MAX 4102444800000LL /* 2100-01-01 */

/* ---- parser ------------------------------------------------------------------------------- */

static bool chars_ok(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && strchr(extra, c) == NULL)
            return false;
    }
    return true;
}

static int set_text(char *dst, size_t size, const char *key, const char *v, size_t n,
                    const char *extra, char *err, size_t errlen)
{
    if (n >= size || !chars_ok(v, n, extra)) {
        snprintf(err, errlen, "%s: '%.*s' is not 1..%zu of [A-Za-z0-9%s]", key,
                 (int)(n > 64 ? 64 : n), v, size - 1, extra);
        return -EINVAL;
    }
    memcpy(dst, v, n);
    dst[n] = '\0';
    return 0;
}

static int set_ts(int64_t *out, const char *v, size_t n, char *err, size_t errlen)
{
    int64_t ts = 0;
    bool ok = n > 0 && n <= 13;
    for (size_t i = 0; ok && i < n; i++) {
        ok = v[i] >= '0' && v[i] <= '9';
        ts = ts * 10 + (v[i] - '0');
    }
    if (!ok || ts < TS_MIN || ts >= TS_MAX) {
        snprintf(err, errlen, "ts: '%.*s' is not Unix milliseconds (years 2000..2099)",
                 (int)(n > 32 ? 32 : n), v);
        return -EINVAL;
    }
    *out = ts;
    return 0;
}

static int set_bot(int *bot, const char *v, size_t n, const struct agent_config *cfg, char *err,
                   size_t errlen)
{
    char name[BP_ID_MAX + 1];
    if (n > BP_ID_MAX || !chars_ok(v, n, "_.-")) {
        snprintf(err, errlen, "bot: '%.*s' is not a valid bot id", (int)(n > 64 ? 64 : n), v);
        return -EINVAL;
    }
    memcpy(name, v, n);
    name[n] = '\0';
    if ((*bot = agent_config_find_bot(cfg, name)) < 0) {
        snprintf(err, errlen, "unknown bot '%s'", name);
        return -EINVAL;
    }
    return 0;
}

enum {
    K_BOT,
    K_ID,
    K_SYMBOL,
    K_SIDE,
    K_TS,
    K_POSITIONS,
    K_ORDERS,
    K_RESULT,
    K_LATENCY,
    K_FOR,
    K_REASON,
    K_TEXT,
    K_COUNT
};
static const char *const key_names[K_COUNT] = {"bot",        "id",        "symbol", "side",
                                               "ts",         "positions", "orders", "result",
                                               "latency_ms", "for",       "reason", "text"};
#define BIT(k) (1u << (k))

/* One row per verb: the keys it takes, those it needs, and its usage line for errors. */
struct verb_def {
    const char *name;
    enum agent_notify_verb verb;
    unsigned keys, required;
    const char *usage;
};

static const struct verb_def verbs[] = {
    {"trade", AGENT_NOTIFY_TRADE, BIT(K_BOT) | BIT(K_ID) | BIT(K_SYMBOL) | BIT(K_SIDE) | BIT(K_TS),
     BIT(K_BOT), "trade bot=ID [id=X] [symbol=S] [side=buy|sell] [ts=MS]"},
    {"tick", AGENT_NOTIFY_TICK, BIT(K_BOT) | BIT(K_TS), BIT(K_BOT), "tick bot=ID [ts=MS]"},
    {"market", AGENT_NOTIFY_MARKET, BIT(K_BOT) | BIT(K_TS), BIT(K_BOT) | BIT(K_TS),
     "market bot=ID ts=MS"},
    {"exposure", AGENT_NOTIFY_EXPOSURE, BIT(K_BOT) | BIT(K_POSITIONS) | BIT(K_ORDERS),
     BIT(K_BOT) | BIT(K_POSITIONS) | BIT(K_ORDERS), "exposure bot=ID positions=N orders=N"},
    {"metric", AGENT_NOTIFY_METRIC, BIT(K_BOT), BIT(K_BOT), "metric bot=ID NAME=NUMBER ..."},
    {"api", AGENT_NOTIFY_API, BIT(K_BOT) | BIT(K_RESULT) | BIT(K_LATENCY),
     BIT(K_BOT) | BIT(K_RESULT), "api bot=ID result=ok|error [latency_ms=N]"},
    {"maintenance", AGENT_NOTIFY_MAINTENANCE, BIT(K_BOT) | BIT(K_FOR) | BIT(K_REASON),
     BIT(K_BOT) | BIT(K_FOR), "maintenance bot=ID for=DURATION [reason=TEXT]"},
    {"event", AGENT_NOTIFY_EVENT, BIT(K_BOT) | BIT(K_TEXT), BIT(K_BOT) | BIT(K_TEXT),
     "event bot=ID text=TEXT"},
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))
#define VERB_LIST "trade, tick, market, exposure, metric, api, maintenance, event"

/* A whole number in [0, max]. */
static int set_uint(int64_t *out, const char *key, const char *v, size_t n, int64_t max, char *err,
                    size_t errlen)
{
    int64_t x = 0;
    bool ok = n > 0 && n <= 16;
    for (size_t i = 0; ok && i < n; i++) {
        ok = v[i] >= '0' && v[i] <= '9';
        x = x * 10 + (v[i] - '0');
    }
    if (!ok || x > max) {
        snprintf(err, errlen, "%s: '%.*s' is not a whole number 0..%lld", key,
                 (int)(n > 32 ? 32 : n), v, (long long)max);
        return -EINVAL;
    }
    *out = x;
    return 0;
}

static int set_duration(int64_t *out, const char *v, size_t n, char *err, size_t errlen)
{
    char buf[32];
    int64_t ms = -1;
    if (n < sizeof(buf)) {
        memcpy(buf, v, n);
        buf[n] = '\0';
        if (bp_config_parse_ms(buf, &ms) != 0)
            ms = -1;
    }
    if (ms < 0 || ms > AGENT_NOTIFY_MAINT_MAX_MS) {
        snprintf(err, errlen,
                 "for: '%.*s' is not a duration up to 7d (e.g. 90s, 10m, 2h; 0 ends "
                 "maintenance)",
                 (int)(n > 32 ? 32 : n), v);
        return -EINVAL;
    }
    *out = ms;
    return 0;
}

static int set_key(struct agent_notify_req *r, int key, const char *v, size_t n,
                   const struct agent_config *cfg, char *err, size_t errlen)
{
    struct bp_trade *t = &r->trade;
    switch (key) {
    case K_BOT:
        return set_bot(&r->bot, v, n, cfg, err, errlen);
    case K_ID:
        return set_text(t->id, sizeof(t->id), "id", v, n, "_.:/#@+-", err, errlen);
    case K_SYMBOL:
        return set_text(t->symbol, sizeof(t->symbol), "symbol", v, n, "_./:-", err, errlen);
    case K_SIDE:
        if ((n == 3 && memcmp(v, "buy", 3) == 0) || (n == 4 && memcmp(v, "sell", 4) == 0)) {
            memcpy(t->side, v, n);
            t->side[n] = '\0';
            return 0;
        }
        snprintf(err, errlen, "side: '%.*s' is not buy or sell", (int)(n > 32 ? 32 : n), v);
        return -EINVAL;
    case K_TS:
        return set_ts(r->verb == AGENT_NOTIFY_TRADE ? &t->trade_ts : &r->ts, v, n, err, errlen);
    case K_POSITIONS:
        return set_uint(&r->positions, "positions", v, n, 1000000000, err, errlen);
    case K_ORDERS:
        return set_uint(&r->orders, "orders", v, n, 1000000000, err, errlen);
    case K_LATENCY:
        return set_uint(&r->latency_ms, "latency_ms", v, n, AGENT_NOTIFY_LATENCY_MAX_MS, err,
                        errlen);
    case K_RESULT:
        if ((n == 2 && memcmp(v, "ok", 2) == 0) || (n == 5 && memcmp(v, "error", 5) == 0)) {
            r->api_ok = n == 2;
            return 0;
        }
        snprintf(err, errlen, "result: '%.*s' is not ok or error", (int)(n > 32 ? 32 : n), v);
        return -EINVAL;
    case K_FOR:
        return set_duration(&r->duration_ms, v, n, err, errlen);
    default: { /* reason, text: the rest of the line */
        size_t max = key == K_REASON ? BP_TEXT_MAX : BP_EVENT_TEXT_MAX;
        if (n > max) {
            snprintf(err, errlen, "%s: %zu bytes, at most %zu", key_names[key], n, max);
            return -EINVAL;
        }
        memcpy(r->text, v, n);
        r->text[n] = '\0';
        return 0;
    }
    }
}

/* metric NAME=NUMBER: a valid, new name and a finite decimal number. */
static int add_metric(struct agent_notify_req *r, const char *tok, size_t klen, const char *v,
                      size_t n, char *err, size_t errlen)
{
    char name[BP_METRIC_NAME_MAX + 1] = "", num[48];
    if (klen <= BP_METRIC_NAME_MAX) {
        memcpy(name, tok, klen);
        name[klen] = '\0';
    }
    if (klen > BP_METRIC_NAME_MAX || !bp_metric_name_is_valid(name)) {
        snprintf(err, errlen, "metric name '%.*s' is not 1..%d of [a-z0-9_]",
                 (int)(klen > 40 ? 40 : klen), tok, BP_METRIC_NAME_MAX);
        return -EINVAL;
    }
    if (strcmp(name, "bot") == 0) {
        snprintf(err, errlen, "duplicate key 'bot'");
        return -EINVAL;
    }
    for (int i = 0; i < r->nmetrics; i++) {
        if (strcmp(r->metrics[i].name, name) == 0) {
            snprintf(err, errlen, "duplicate metric '%s'", name);
            return -EINVAL;
        }
    }
    if (r->nmetrics >= BP_METRICS_MAX) {
        snprintf(err, errlen, "more than %d metrics in one request", BP_METRICS_MAX);
        return -EINVAL;
    }
    char *end = NULL;
    double d = 0;
    bool ok = n > 0 && n < sizeof(num);
    if (ok) {
        memcpy(num, v, n);
        num[n] = '\0';
        for (size_t i = 0; i < n && ok; i++) /* no hex, inf or nan: digits, sign, dot, e */
            ok = strchr("0123456789+-.eE", num[i]) != NULL;
        d = ok ? strtod(num, &end) : 0;
        ok = ok && end && *end == '\0' && isfinite(d) && fabs(d) <= 1e300;
    }
    if (!ok) {
        snprintf(err, errlen, "metric %s: '%.*s' is not a number", name, (int)(n > 32 ? 32 : n), v);
        return -EINVAL;
    }
    memcpy(r->metrics[r->nmetrics].name, name, sizeof(name));
    r->metrics[r->nmetrics++].value = d;
    return 0;
}

static void list_keys(const struct verb_def *vd, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = 0; k < K_COUNT && len < size; k++) {
        if (vd->keys & BIT(k)) {
            int w = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", key_names[k]);
            len += w > 0 ? (size_t)w : 0;
        }
    }
}

/* One key=value token. *rest is set when the key takes the rest of the line. */
static int parse_pair(struct agent_notify_req *r, const struct verb_def *vd, const char *tok,
                      size_t n, unsigned *seen, bool *rest, const struct agent_config *cfg,
                      char *err, size_t errlen)
{
    const char *eq = memchr(tok, '=', n);
    if (!eq) {
        snprintf(err, errlen, "bad token '%.*s': expected key=value", (int)(n > 64 ? 64 : n), tok);
        return -EINVAL;
    }
    size_t klen = (size_t)(eq - tok);
    for (int k = 0; k < K_COUNT; k++) {
        if (!(vd->keys & BIT(k)) || strlen(key_names[k]) != klen ||
            memcmp(tok, key_names[k], klen) != 0)
            continue;
        if (*seen & BIT(k)) {
            snprintf(err, errlen, "duplicate key '%s'", key_names[k]);
            return -EINVAL;
        }
        *seen |= BIT(k);
        if (n - klen - 1 == 0) {
            snprintf(err, errlen, "%s: empty value", key_names[k]);
            return -EINVAL;
        }
        *rest = k == K_REASON || k == K_TEXT;
        return set_key(r, k, eq + 1, n - klen - 1, cfg, err, errlen);
    }
    if (vd->verb == AGENT_NOTIFY_METRIC)
        return add_metric(r, tok, klen, eq + 1, n - klen - 1, err, errlen);
    char keys[128];
    list_keys(vd, keys, sizeof(keys));
    snprintf(err, errlen, "unknown key '%.*s' (%s takes %s)", (int)(klen > 32 ? 32 : klen), tok,
             vd->name, keys);
    return -EINVAL;
}

/* Splits at spaces; calls back with each token. The first is the verb. */
static int next_token(const char **p, const char *end, const char **tok, size_t *n)
{
    while (*p < end && **p == ' ')
        (*p)++;
    if (*p >= end)
        return 0;
    *tok = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    *n = (size_t)(*p - *tok);
    return 1;
}

/* reason= and text= (where the verb takes them) take the rest of the line, spaces included. */
static bool takes_rest(const struct verb_def *vd, const char *tok, size_t klen)
{
    return ((vd->keys & BIT(K_REASON)) && klen == 6 && memcmp(tok, "reason", 6) == 0) ||
           ((vd->keys & BIT(K_TEXT)) && klen == 4 && memcmp(tok, "text", 4) == 0);
}

static const struct verb_def *find_verb(const char *tok, size_t n)
{
    for (size_t i = 0; i < NVERBS; i++)
        if (strlen(verbs[i].name) == n && memcmp(tok, verbs[i].name, n) == 0)
            return &verbs[i];
    return NULL;
}

/* After the last token: every required key is there. */
static int check_required(const struct agent_notify_req *r, const struct verb_def *vd,
                          unsigned seen, char *err, size_t errlen)
{
    for (int k = 0; k < K_COUNT; k++) {
        if ((vd->required & BIT(k)) && !(seen & BIT(k))) {
            snprintf(err, errlen, "missing %s= (usage: %s)", key_names[k], vd->usage);
            return -EINVAL;
        }
    }
    if (vd->verb == AGENT_NOTIFY_METRIC && r->nmetrics == 0) {
        snprintf(err, errlen, "no metric given (usage: %s)", vd->usage);
        return -EINVAL;
    }
    return 0;
}

int agent_notify_parse(const char *buf, size_t len, const struct agent_config *cfg,
                       struct agent_notify_req *out, char *err, size_t errlen)
{
    if (len > AGENT_NOTIFY_MAX_BYTES) {
        snprintf(err, errlen, "request too large (max %d bytes)", AGENT_NOTIFY_MAX_BYTES);
        return -EMSGSIZE;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e) {
            snprintf(err, errlen, "request holds a control or non-ASCII byte at offset %zu", i);
            return -EINVAL;
        }
    }
    memset(out, 0, sizeof(*out));
    out->bot = -1;
    out->latency_ms = -1;
    const char *p = buf, *end = buf + len, *tok;
    size_t n;
    if (!next_token(&p, end, &tok, &n)) {
        snprintf(err, errlen, "empty request (expected a verb: " VERB_LIST ")");
        return -EINVAL;
    }
    const struct verb_def *vd = find_verb(tok, n);
    if (!vd) {
        snprintf(err, errlen, "unknown verb '%.*s' (expected " VERB_LIST ")",
                 (int)(n > 32 ? 32 : n), tok);
        return -EINVAL;
    }
    out->verb = vd->verb;
    unsigned seen = 0;
    bool rest = false;
    while (!rest && next_token(&p, end, &tok, &n)) {
        const char *eq = memchr(tok, '=', n);
        if (eq && takes_rest(vd, tok, (size_t)(eq - tok)))
            n = (size_t)(end - tok);
        int rc = parse_pair(out, vd, tok, n, &seen, &rest, cfg, err, errlen);
        if (rc != 0)
            return rc;
    }
    return check_required(out, vd, seen, err, errlen);
}

/* ---- server ------------------------------------------------------------------------------- */

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Removes a socket left behind by a dead agent; refuses to touch a live one or a non-socket. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    close(fd);
    if (live)
        return -EADDRINUSE;
    return unlink(path) == 0 ? 0 : -errno;
}

int agent_notify_server_start(struct agent_notify_server *s, const char *path)
{
    struct sockaddr_un sa;
    memset(s, 0, sizeof(*s));
    s->listen_fd = -1;
    int rc = fill_addr(&sa, path);
    if (rc != 0 || (rc = clear_stale(path, &sa)) != 0)
        return rc;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0660) != 0 ||
        listen(fd, AGENT_NOTIFY_MAX_CONNS) != 0) {
        rc = -errno;
        close(fd);
        unlink(path);
        return rc;
    }
    s->listen_fd = fd;
    snprintf(s->path, sizeof(s->path), "%s", path);
    return 0;
}

void agent_notify_server_stop(struct agent_notify_server *s)
{
    for (int i = 0; i < s->nconns; i++)
        close(s->conns[i].fd);
    s->nconns = 0;
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        unlink(s->path);
    }
    s->listen_fd = -1;
}

size_t agent_notify_server_pollfds(const struct agent_notify_server *s, struct pollfd *pfds,
                                   size_t max)
{
    size_t n = 0;
    if (s->listen_fd >= 0 && n < max)
        pfds[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
    for (int i = 0; i < s->nconns && n < max; i++)
        pfds[n++] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
    return n;
}

int64_t agent_notify_server_deadline(const struct agent_notify_server *s)
{
    int64_t d = INT64_MAX;
    for (int i = 0; i < s->nconns; i++) {
        if (s->conns[i].deadline_ms < d)
            d = s->conns[i].deadline_ms;
    }
    return d;
}

static void reply(int fd, const char *text)
{
    if (send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        BP_DEBUG(MOD, "reply not delivered: %s", strerror(errno));
}

int agent_notify_check_peer(const struct agent_bot_config *b, const struct agent_notify_peer *peer,
                            char *err, size_t errlen)
{
    if (!b->has_notify_uid || (peer->known && (peer->uid == b->notify_uid || peer->uid == 0)))
        return 0;
    if (!peer->known)
        snprintf(err, errlen, "bot %s takes requests from user %s only, and the sender is unknown",
                 b->name, b->notify_user);
    else
        snprintf(err, errlen,
                 "uid %u (pid %d) may not speak for bot %s: it takes requests from user %s "
                 "(uid %u) and root only",
                 (unsigned)peer->uid, peer->pid, b->name, b->notify_user, (unsigned)b->notify_uid);
    return -EPERM;
}

static struct agent_notify_peer peer_of(int fd)
{
    struct ucred uc;
    socklen_t len = sizeof(uc);
    struct agent_notify_peer p = {0};
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 && len == sizeof(uc))
        p = (struct agent_notify_peer){true, (int)uc.pid, (uint32_t)uc.uid, (uint32_t)uc.gid};
    return p;
}

/* Reads the request if it has arrived: true when the connection is done with (answered or
 * dead), false when the client has not sent yet. */
static bool serve(int fd, const struct agent_notify_peer *peer, agent_notify_handler handler,
                  void *ctx)
{
    char buf[AGENT_NOTIFY_MAX_BYTES + 1], out[256];
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (n <= 0)
        return true;
    if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > AGENT_NOTIFY_MAX_BYTES) {
        snprintf(out, sizeof(out), "error: request too large (max %d bytes)",
                 AGENT_NOTIFY_MAX_BYTES);
        BP_WARN(MOD, "refused an oversize request");
    } else {
        handler(ctx, peer, buf, (size_t)n, out, sizeof(out));
    }
    reply(fd, out);
    return true;
}

static void accept_all(struct agent_notify_server *s, int64_t now_ms, agent_notify_handler handler,
                       void *ctx)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                BP_WARN(MOD, "accept: %s", strerror(errno));
            return;
        }
        struct agent_notify_peer peer = peer_of(fd);
        if (serve(fd, &peer, handler, ctx)) {
            close(fd);
        } else if (s->nconns >= AGENT_NOTIFY_MAX_CONNS) {
            reply(fd, "error: agent busy, try again");
            close(fd);
        } else {
            s->conns[s->nconns++] =
                (struct agent_notify_conn){fd, now_ms + AGENT_NOTIFY_CONN_TIMEOUT_MS, peer};
        }
    }
}

void agent_notify_server_process(struct agent_notify_server *s, const struct pollfd *pfds, size_t n,
                                 int64_t now_ms, agent_notify_handler handler, void *ctx)
{
    /* Waiting clients first (pfds[1..] mirror conns[0..] as filled in), then new ones. */
    int kept = 0;
    for (int i = 0; i < s->nconns; i++) {
        struct agent_notify_conn c = s->conns[i];
        bool ready = (size_t)i + 1 < n && pfds[i + 1].fd == c.fd && pfds[i + 1].revents != 0;
        bool done = ready && serve(c.fd, &c.peer, handler, ctx);
        if (!done && now_ms >= c.deadline_ms) {
            reply(c.fd, "error: no request received in time");
            done = true;
        }
        if (done)
            close(c.fd);
        else
            s->conns[kept++] = c;
    }
    s->nconns = kept;
    if (n > 0 && pfds[0].fd == s->listen_fd && (pfds[0].revents & POLLIN))
        accept_all(s, now_ms, handler, ctx);
}

/* ---- client ------------------------------------------------------------------------------- */

int agent_notify_send(const char *path, const char *req, char *out, size_t outlen, int timeout_ms,
                      char *why, size_t whylen)
{
    struct sockaddr_un sa;
    int rc = fill_addr(&sa, path);
    if (rc != 0) {
        snprintf(why, whylen, "socket path too long: %s", path);
        return rc;
    }
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(why, whylen, "socket: %s", strerror(errno));
        return rc;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const char *step = "connect to";
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto fail;
    step = "send to";
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
        goto fail;
    step = "no reply from";
    ssize_t n = recv(fd, out, outlen - 1, 0);
    if (n < 0)
        goto fail;
    if (n == 0) {
        errno = ECONNRESET;
        goto fail;
    }
    out[n] = '\0';
    close(fd);
    return 0;
fail:
    rc = -errno;
    snprintf(why, whylen, "%s the agent at %s: %s", step, path,
             errno == EAGAIN ? "timed out" : strerror(errno));
    close(fd);
    return rc;
}
