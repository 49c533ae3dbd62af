/* SPDX-License-Identifier: MIT */
/* The agent's loop: bots' state, deadlines on CLOCK_MONOTONIC, notify requests, publishing. */
#include "agent_loop.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_commands.h"
#include "agent_config.h"
#include "agent_hbfile.h"
#include "agent_hoststats.h"
#include "agent_logtail.h"
#include "agent_notify.h"
#include "agent_probe.h"
#include "sdnotify.h"
#include "agent_procwatch.h"
#include "agent_publisher.h"
#include "agent_signals.h"
#include "clock.h"
#include "log.h"

#define MOD "agent"
#define STOP_FLUSH_MS 2000
#define READY_WITHOUT_BROKER_MS 10000 /* READY=1 after this (or one heartbeat) even offline */
#define REFUSED_LOG_EVERY_MS 60000    /* refused notify senders: one log line a minute */
#define MAX_POLLFDS (1 + 1 + AGENT_NOTIFY_MAX_CONNS + 3 * BP_AGENT_MAX_BOTS + 1)
/* A bot's process that vanished is looked for again after these (doubling, up to one
 * heartbeat interval), so a restarted process is found (and counted) before it can die too. */
#define REFIND_FIRST_MS 50
/* Heartbeats out of turn (its process died, or a new one was found): at once, but at most
 * URGENT_BURST in any second per bot, so a crash loop cannot flood the broker. */
#define URGENT_BURST 4
#define URGENT_WINDOW_MS 1000

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t hup_requested;

struct bot_state {
    const struct agent_bot_config *cfg;
    struct agent_procwatch pw;
    int64_t last_trade_ts; /* newest trade from any source: notify, log, probe */
    bool has_log, has_hbfile, has_probe, has_finder;
    struct agent_logtail log;
    int log_err; /* last poll error, so it is logged once per change */
    struct agent_hbfile_sample hbf;
    struct agent_probe probe;
    struct agent_signals sig; /* what the bot said about itself through notify */
    int64_t refind_at;        /* mono: look for its process again; 0 = no need */
    int64_t refind_step_ms;
    int64_t urgent_at;                 /* mono: send its heartbeat out of turn then; 0 = none */
    int64_t urgent_sent[URGENT_BURST]; /* mono of the last ones, a ring */
    int urgent_next;                   /* the oldest in the ring, overwritten next */
};

struct agent {
    struct agent_config *cfg; /* borrowed; a reload rewrites its live keys (agent_config.h) */
    const char *cfg_path;     /* re-read on SIGHUP */
    struct agent_publisher *pub;
    struct agent_commands *commands; /* NULL without [agent] command_public_key */
    struct agent_notify_server notify;
    struct agent_proc_env env;
    struct agent_hoststats host;
    int nbots;
    struct bot_state bots[BP_AGENT_MAX_BOTS];
    struct agent_procwatch *pws[BP_AGENT_MAX_BOTS];
    int64_t mono, wall;   /* read once per loop turn */
    int64_t refreshed_at; /* mono of the last procwatch refresh */
    int64_t next_heartbeat, next_stats;
    bool mqtt_event; /* the publisher's fd was readable */
    struct bp_sdnotify sd;
    int64_t ready_by; /* mono: READY=1 then at the latest, even without the broker */
    /* notify requests refused because of who sent them (agent_notify_check_peer) */
    uint64_t notify_refused, refused_unlogged;
    int64_t refused_log_at; /* mono: the next refusal is logged then at the earliest */
};

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        hup_requested = 1;
    else
        stop_requested = 1;
}

/* Handlers only set flags. The signals stay blocked except inside ppoll, so one that arrives
 * between checking the flags and sleeping still wakes the sleep. */
static int install_signals(sigset_t *wait_mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGHUP, &sa, NULL) != 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    return -pthread_sigmask(SIG_BLOCK, &block, wait_mask);
}

static int make_dir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    int rc = -errno;
    BP_ERROR(MOD, "cannot create %s: %s", path, strerror(errno));
    return rc;
}

static int make_state_dirs(const struct agent_config *cfg)
{
    char path[AGENT_PATH_MAX + 8];
    int rc = make_dir(cfg->state_dir, 0750);
    snprintf(path, sizeof(path), "%s/mqtt", cfg->state_dir);
    return rc != 0 ? rc : make_dir(path, 0700);
}

/* ---- sampling and publishing ------------------------------------------------------------- */

static int64_t max64(int64_t x, int64_t y)
{
    return x > y ? x : y;
}

/* Its process changed: its heartbeat goes out now, unless URGENT_BURST went out in the last
 * second (then a second after the oldest of them). */
static void make_urgent(const struct agent *a, struct bot_state *b)
{
    int64_t oldest = b->urgent_sent[b->urgent_next];
    if (b->urgent_at == 0)
        b->urgent_at = oldest == 0 ? a->mono : max64(a->mono, oldest + URGENT_WINDOW_MS);
}

/* A bot whose process just vanished is looked for again soon, then less and less often. */
static void plan_refind(struct agent *a, struct bot_state *b, bool was_alive)
{
    bool alive = agent_procwatch_is_alive(&b->pw);
    if (agent_procwatch_vanished(&b->pw)) {
        b->refind_at = a->mono + 1; /* gone before its pidfd opened: look again at once */
        b->refind_step_ms = REFIND_FIRST_MS;
    } else if (alive) {
        b->refind_at = 0;
    } else if (was_alive) {
        b->refind_step_ms = REFIND_FIRST_MS;
        b->refind_at = a->mono + b->refind_step_ms;
    } else if (b->refind_at != 0 && a->mono >= b->refind_at) {
        b->refind_step_ms *= 2;
        b->refind_at = b->refind_step_ms > a->cfg->heartbeat_ms ? 0 : a->mono + b->refind_step_ms;
    }
}

/* Re-finds every bot's process (once per loop turn). A bot whose process changed (died, or a
 * new one) gets a heartbeat out of turn. */
static void refresh(struct agent *a)
{
    if (a->refreshed_at == a->mono)
        return;
    int pid[BP_AGENT_MAX_BOTS];
    uint64_t start[BP_AGENT_MAX_BOTS];
    for (int i = 0; i < a->nbots; i++) {
        pid[i] = a->bots[i].pw.pid;
        start[i] = a->bots[i].pw.starttime;
    }
    agent_procwatch_refresh(a->pws, (size_t)a->nbots, &a->env);
    a->refreshed_at = a->mono;
    for (int i = 0; i < a->nbots; i++) {
        struct bot_state *b = &a->bots[i];
        if (b->pw.pid != pid[i] || b->pw.starttime != start[i])
            make_urgent(a, b);
        plan_refind(a, b, pid[i] != 0);
    }
}

/* Reads the bot's file-based evidence (log, heartbeat file) and folds every trade source
 * into last_trade_ts. */
static void sample_evidence(struct agent *a, struct bot_state *b)
{
    if (b->has_log) {
        int rc = agent_logtail_poll(&b->log, a->wall);
        int err = rc < 0 ? rc : 0;
        if (err != b->log_err && err != 0)
            BP_WARN(MOD, "bot %s: log %s: %s", b->cfg->name, b->cfg->log_file, strerror(-err));
        b->log_err = err;
        b->last_trade_ts = max64(b->last_trade_ts, b->log.c.last_trade_ts);
    }
    if (b->has_hbfile)
        agent_hbfile_read(b->cfg->heartbeat_file, a->wall, &b->hbf);
    if (b->has_probe)
        b->last_trade_ts = max64(b->last_trade_ts, b->probe.last_trade_ts);
}

/* Alive: its process is found; for a bot with no way to find its process, its heartbeat
 * file is fresh. */
static bool bot_alive(const struct bot_state *b)
{
    if (b->has_finder)
        return agent_procwatch_is_alive(&b->pw);
    return agent_hbfile_is_fresh(&b->hbf, b->cfg->heartbeat_file_max_age_ms);
}

static void fill_evidence(const struct bot_state *b, struct bp_heartbeat *hb)
{
    if ((hb->has_log = b->has_log)) {
        const struct agent_log_counts *c = &b->log.c;
        hb->log = (struct bp_hb_log){.last_line_ts = c->last_line_ts,
                                     .lines = c->lines,
                                     .trades = c->matched[AGENT_LOG_TRADE],
                                     .errors = c->matched[AGENT_LOG_ERROR],
                                     .warnings = c->matched[AGENT_LOG_WARNING],
                                     .reconnects = c->matched[AGENT_LOG_RECONNECT],
                                     .rate_limits = c->matched[AGENT_LOG_RATE_LIMIT],
                                     .timeouts = c->matched[AGENT_LOG_TIMEOUT],
                                     .has_reconnects = b->log.has_re[AGENT_LOG_RECONNECT],
                                     .has_rate_limits = b->log.has_re[AGENT_LOG_RATE_LIMIT],
                                     .has_timeouts = b->log.has_re[AGENT_LOG_TIMEOUT]};
    }
    if ((hb->has_hb_file = b->has_hbfile))
        hb->hb_file = (struct bp_hb_file){.found = b->hbf.found,
                                          .mtime_ts = b->hbf.mtime_ms,
                                          .content_ts = b->hbf.content_ts,
                                          .age_ms = b->hbf.age_ms};
    if ((hb->has_probe = b->has_probe)) {
        hb->probe.last_trade_ts = b->probe.last_trade_ts;
        hb->probe.ok_ts = b->probe.ok_ts;
        hb->probe.failures = b->probe.failures;
        memcpy(hb->probe.error, b->probe.error, sizeof(hb->probe.error));
    }
}

/* One bot's heartbeat from what the last refresh found. 0, or -ENOTCONN while offline. */
static int send_heartbeat(struct agent *a, struct bot_state *b)
{
    sample_evidence(a, b);
    struct bp_heartbeat hb = {.interval_ms = a->cfg->heartbeat_ms,
                              .last_trade_ts = b->last_trade_ts};
    if (bot_alive(b)) {
        hb.proc.alive = true;
        if (agent_procwatch_is_alive(&b->pw)) {
            hb.proc.pid = b->pw.pid;
            hb.proc.start_ts = agent_procwatch_start_ts(&b->pw, &a->env);
            hb.proc.uptime_s = agent_procwatch_uptime_s(&b->pw, &a->env, a->wall);
        }
    }
    if ((hb.proc.has_restarts = b->has_finder))
        hb.proc.restarts = (int64_t)agent_procwatch_restarts(&b->pw);
    fill_evidence(b, &hb);
    agent_signals_fill(&b->sig, &hb);
    b->urgent_at = 0; /* this one says what an urgent one would */
    return agent_publisher_heartbeat(a->pub, b->cfg->name, &hb, a->wall);
}

static void send_heartbeats(struct agent *a)
{
    refresh(a);
    agent_publisher_batch_begin(a->pub);
    for (int i = 0; i < a->nbots; i++)
        if (send_heartbeat(a, &a->bots[i]) == -ENOTCONN)
            break; /* offline: the rest would be skipped too */
    agent_publisher_batch_end(a->pub);
}

/* Heartbeats out of turn: looks again for the processes that vanished when it is time, and
 * sends the heartbeats of bots whose process changed. */
static void send_urgent(struct agent *a)
{
    bool refind = false;
    for (int i = 0; i < a->nbots; i++)
        refind |= a->bots[i].refind_at != 0 && a->mono >= a->bots[i].refind_at;
    if (refind) {
        a->refreshed_at = -1;
        refresh(a);
    }
    for (int i = 0; i < a->nbots; i++) {
        struct bot_state *b = &a->bots[i];
        if (b->urgent_at == 0 || a->mono < b->urgent_at)
            continue;
        b->urgent_sent[b->urgent_next] = a->mono;
        b->urgent_next = (b->urgent_next + 1) % URGENT_BURST;
        if (send_heartbeat(a, b) == -ENOTCONN)
            return;
    }
}

static double known_or_zero(double v)
{
    return v < 0 ? 0.0 : v;
}

static void send_stats(struct agent *a)
{
    struct agent_host_sample hs;
    agent_hoststats_sample(&a->host, a->cfg->mounts, a->cfg->nmounts, &hs);
    if (hs.btime_ms > 0)
        a->env.btime_ms = hs.btime_ms;
    refresh(a);
    bool online = a->pub && agent_publisher_is_connected(a->pub);
    if (online)
        agent_publisher_batch_begin(a->pub);
    for (int i = 0; i < a->nbots; i++) {
        struct bot_state *b = &a->bots[i];
        /* Sampled even offline, so the next CPU % covers one interval, not the outage. */
        struct bp_stats st = {
            .proc_cpu_pct = agent_procwatch_cpu_pct(&b->pw, &a->env, a->mono),
            .proc_rss_kb = agent_procwatch_rss_kb(&b->pw, &a->env),
            .host_cpu_pct = known_or_zero(hs.cpu_pct),
            .host_mem_pct = known_or_zero(hs.mem_pct),
            .host_disk_pct = known_or_zero(hs.disk_pct),
            .host_load1 = known_or_zero(hs.load1),
            .proc_threads = agent_procwatch_threads(&b->pw),
            .proc_fds = online ? agent_procwatch_fds(&b->pw, &a->env) : -1,
            .host_swap_pct = hs.swap_pct,
        };
        st.has_proc_threads = st.proc_threads > 0;
        st.has_proc_fds = st.proc_fds >= 0;
        st.has_host_swap = st.host_swap_pct >= 0;
        if (online)
            agent_publisher_stats(a->pub, b->cfg->name, &st, a->wall);
    }
    if (online)
        agent_publisher_batch_end(a->pub);
}

/* A deadline that keeps its phase: the next multiple of period after now. */
static int64_t next_due(int64_t due, int64_t period, int64_t now)
{
    due += period;
    return due > now ? due : now + period;
}

static void on_connected(struct agent *a)
{
    int rc = agent_publisher_birth(a->pub, a->wall);
    BP_INFO(MOD, "connected to %s (boot %s)%s", a->cfg->mqtt.url, agent_publisher_boot(a->pub),
            rc == 0 ? "" : ": birth message not published");
    send_heartbeats(a);
    a->next_heartbeat = a->mono + a->cfg->heartbeat_ms;
    char status[400];
    snprintf(status, sizeof(status), "connected to %s; watching %d bots", a->cfg->mqtt.url,
             a->nbots);
    bp_sdnotify_ready(&a->sd, status);
}

/* Not connected by ready_by: tell systemd we run anyway (we watch the bots and keep their
 * trades on disk until the broker is back), so a broker outage does not fail our start. */
static void ready_without_broker(struct agent *a)
{
    char status[400];
    snprintf(status, sizeof(status), "broker %s not reachable yet, retrying; watching %d bots",
             a->cfg->mqtt.url, a->nbots);
    bp_sdnotify_ready(&a->sd, status);
}

static void run_due(struct agent *a)
{
    if (a->mqtt_event && agent_publisher_take_connects(a->pub) > 0)
        on_connected(a);
    a->mqtt_event = false;
    if (!a->sd.ready && a->mono >= a->ready_by)
        ready_without_broker(a);
    bp_sdnotify_step(&a->sd, a->mono);
    if (a->mono >= a->next_heartbeat) {
        send_heartbeats(a);
        a->next_heartbeat = next_due(a->next_heartbeat, a->cfg->heartbeat_ms, a->mono);
    }
    send_urgent(a);
    if (a->mono >= a->next_stats) {
        send_stats(a);
        a->next_stats = next_due(a->next_stats, a->cfg->stats_ms, a->mono);
    }
    for (int i = 0; i < a->nbots; i++) {
        struct agent_probe *p = &a->bots[i].probe;
        if (a->bots[i].has_probe && a->mono >= agent_probe_deadline(p))
            agent_probe_step(p, a->mono, a->wall);
    }
    if (a->commands)
        agent_commands_process(a->commands, a->pub, a->mono, a->wall);
}

/* ---- notify ------------------------------------------------------------------------------- */

static void handle_trade(struct agent *a, struct bot_state *b, struct agent_notify_req *r,
                         int64_t wall, char *out, size_t outlen)
{
    if (r->trade.trade_ts == 0)
        r->trade.trade_ts = wall;
    if (r->trade.trade_ts > b->last_trade_ts)
        b->last_trade_ts = r->trade.trade_ts;
    int rc = agent_publisher_trade(a->pub, b->cfg->name, &r->trade, wall);
    BP_DEBUG(MOD, "trade %s for %s at %lld: %d", r->trade.id, b->cfg->name,
             (long long)r->trade.trade_ts, rc);
    if (rc == 0)
        snprintf(out, outlen, "ok");
    else
        snprintf(out, outlen, "error: trade recorded but not queued for delivery: %s",
                 rc == -ENOBUFS ? "offline buffer full" : strerror(-rc));
}

static void handle_event(struct agent *a, struct bot_state *b, const struct agent_notify_req *r,
                         int64_t wall, char *out, size_t outlen)
{
    struct bp_event e = {.event_ts = wall};
    memcpy(e.text, r->text, sizeof(e.text));
    BP_INFO(MOD, "event from bot %s: %s", b->cfg->name, e.text);
    int rc = agent_publisher_event(a->pub, b->cfg->name, &e, wall);
    if (rc == 0)
        snprintf(out, outlen, "ok");
    else
        snprintf(out, outlen, "error: event not queued for delivery: %s",
                 rc == -ENOBUFS ? "offline buffer full" : strerror(-rc));
}

/* A sender speaking for a bot it may not: counted, logged at most once a minute (a busy
 * stranger must not flood the log), with how many were refused meanwhile. */
static void refuse_sender(struct agent *a, const char *why)
{
    int64_t now = bp_mono_ms();
    a->notify_refused++;
    if (now < a->refused_log_at) {
        a->refused_unlogged++;
        return;
    }
    BP_WARN(MOD, "notify refused: %s (%llu refused since start; %llu more not logged)", why,
            (unsigned long long)a->notify_refused, (unsigned long long)a->refused_unlogged);
    a->refused_unlogged = 0;
    a->refused_log_at = now + REFUSED_LOG_EVERY_MS;
}

static void handle_request(void *ctx, const struct agent_notify_peer *peer, const char *req,
                           size_t len, char *out, size_t outlen)
{
    struct agent *a = ctx;
    struct agent_notify_req r;
    char err[300];
    if (agent_notify_parse(req, len, a->cfg, &r, err, sizeof(err)) != 0) {
        BP_WARN(MOD, "notify refused: %s", err);
        snprintf(out, outlen, "error: %s", err);
        return;
    }
    if (agent_notify_check_peer(&a->cfg->bots[r.bot], peer, err, sizeof(err)) != 0) {
        refuse_sender(a, err);
        snprintf(out, outlen, "error: %s", err);
        return;
    }
    struct bot_state *b = &a->bots[r.bot];
    int64_t wall = bp_wall_ms();
    if (r.verb == AGENT_NOTIFY_TRADE) {
        handle_trade(a, b, &r, wall, out, outlen);
    } else if (r.verb == AGENT_NOTIFY_EVENT) {
        handle_event(a, b, &r, wall, out, outlen);
    } else if (agent_signals_apply(&b->sig, &r, wall, err, sizeof(err)) != 0) {
        BP_WARN(MOD, "notify refused for bot %s: %s", b->cfg->name, err);
        snprintf(out, outlen, "error: %s", err);
    } else {
        if (r.verb == AGENT_NOTIFY_MAINTENANCE)
            BP_INFO(MOD, "bot %s: maintenance %s%s%s", b->cfg->name,
                    r.duration_ms > 0 ? "declared" : "ended", r.text[0] ? ": " : "", r.text);
        snprintf(out, outlen, "ok");
    }
}

/* ---- the loop ------------------------------------------------------------------------------ */

static int64_t min64(int64_t x, int64_t y)
{
    return x < y ? x : y;
}

static int sleep_and_serve(struct agent *a, const sigset_t *wait_mask)
{
    struct pollfd pfds[MAX_POLLFDS];
    pfds[0] = (struct pollfd){.fd = agent_publisher_fd(a->pub), .events = POLLIN};
    size_t n =
        agent_notify_server_pollfds(&a->notify, pfds + 1, MAX_POLLFDS - 1 - BP_AGENT_MAX_BOTS);
    int64_t due =
        min64(min64(a->next_heartbeat, a->next_stats), agent_notify_server_deadline(&a->notify));
    due = min64(due, bp_sdnotify_deadline(&a->sd));
    if (!a->sd.ready)
        due = min64(due, a->ready_by);
    size_t nprobe = 0;
    int probe_bot[BP_AGENT_MAX_BOTS];
    for (int i = 0; i < a->nbots; i++) {
        const struct agent_probe *p = &a->bots[i].probe;
        if (!a->bots[i].has_probe)
            continue;
        due = min64(due, agent_probe_deadline(p));
        if (agent_probe_fd(p) >= 0) {
            pfds[1 + n + nprobe] = (struct pollfd){.fd = agent_probe_fd(p), .events = POLLIN};
            probe_bot[nprobe++] = i;
        }
    }
    size_t nexit = 0;
    int exit_bot[BP_AGENT_MAX_BOTS];
    for (int i = 0; i < a->nbots; i++) {
        const struct bot_state *b = &a->bots[i];
        due = min64(due, b->refind_at ? b->refind_at : INT64_MAX);
        due = min64(due, b->urgent_at ? b->urgent_at : INT64_MAX);
        if (agent_procwatch_pidfd(&b->pw) >= 0) {
            pfds[1 + n + nprobe + nexit] =
                (struct pollfd){.fd = agent_procwatch_pidfd(&b->pw), .events = POLLIN};
            exit_bot[nexit++] = i;
        }
    }
    size_t ncmd = 0, base = 1 + n + nprobe + nexit;
    if (a->commands) {
        ncmd = agent_commands_pollfds(a->commands, pfds + base, MAX_POLLFDS - base);
        due = min64(due, agent_commands_deadline(a->commands));
    }
    int64_t wait = due - bp_mono_ms();
    if (wait < 0)
        wait = 0;
    struct timespec ts = {.tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000L};
    int rc = ppoll(pfds, base + ncmd, &ts, wait_mask);
    if (rc < 0 && errno != EINTR) {
        BP_ERROR(MOD, "ppoll: %s", strerror(errno));
        return -errno;
    }
    if (rc < 0)
        return 0;
    a->mqtt_event = pfds[0].revents != 0;
    agent_notify_server_process(&a->notify, pfds + 1, n, bp_mono_ms(), handle_request, a);
    for (size_t k = 0; k < nprobe; k++)
        if (pfds[1 + n + k].revents != 0)
            agent_probe_read(&a->bots[probe_bot[k]].probe, bp_mono_ms());
    for (size_t k = 0; k < nexit; k++) {
        struct bot_state *b = &a->bots[exit_bot[k]];
        if (pfds[1 + n + nprobe + k].revents == 0)
            continue;
        agent_procwatch_pidfd_fired(&b->pw); /* its process exited: look now */
        b->refind_at = bp_mono_ms();
        b->refind_step_ms = REFIND_FIRST_MS;
    }
    return 0;
}

/* ---- bots' sources ----------------------------------------------------------------------- */

/* What the probe's environment says (agent_spawn.h): borrowed from the config. */
static void set_probe_env(const struct agent *a, struct bot_state *b)
{
    b->probe.who = (struct agent_spawn_for){.bot = b->cfg->name,
                                            .action = "probe",
                                            .notify_socket = a->cfg->notify_socket,
                                            .pass_env = b->cfg->pass_env};
}

/* The optional evidence sources of one bot (b->cfg set, the rest zeroed but sig and
 * last_trade_ts). The config was validated, so a failure here (a pattern that compiled then,
 * out of memory) is a bug or a full memory: -EINVAL or -ENOMEM, logged. */
static int start_bot(struct agent *a, struct bot_state *b)
{
    char err[200];
    const struct agent_bot_config *c = b->cfg;
    const char *pats[AGENT_LOG_NPAT] = {c->log_trade,     c->log_error,      c->log_warning,
                                        c->log_reconnect, c->log_rate_limit, c->log_timeout};
    agent_procwatch_init(&b->pw, c->name, c->pid_file, c->process_name);
    b->pw.systemd_unit = c->systemd_unit;
    b->log.fd = -1;
    b->probe.fd = -1;
    b->has_finder = c->pid_file[0] != '\0' || c->process_name[0] != '\0' || c->cmdline[0] != '\0' ||
                    c->systemd_unit[0] != '\0';
    if (agent_procwatch_set_cmdline(&b->pw, c->cmdline) != 0) {
        BP_ERROR(MOD, "bot %s: cmdline: bad regular expression", c->name);
        return -EINVAL;
    }
    b->has_hbfile = c->heartbeat_file[0] != '\0';
    if (c->log_file[0] != '\0') {
        if (agent_logtail_init(&b->log, c->log_file, pats, err, sizeof(err)) != 0) {
            BP_ERROR(MOD, "bot %s: %s", c->name, err);
            return -EINVAL;
        }
        b->has_log = true;
        agent_logtail_poll(&b->log, a->wall); /* start at the end: history is not news */
    }
    if (c->probe[0] != '\0') {
        if (agent_probe_init(&b->probe, c->probe, c->probe_interval_ms, c->probe_timeout_ms,
                             a->mono) != 0) {
            BP_ERROR(MOD, "bot %s: probe: cannot split '%s'", c->name, c->probe);
            return -EINVAL;
        }
        set_probe_env(a, b);
        b->has_probe = true;
    }
    return 0;
}

/* Frees what start_bot took (a running probe is killed). Safe after a failed start_bot. */
static void stop_bot(struct bot_state *b)
{
    agent_procwatch_cleanup(&b->pw);
    if (b->has_log)
        agent_logtail_cleanup(&b->log);
    if (b->has_probe)
        agent_probe_cleanup(&b->probe);
    b->has_log = b->has_probe = false;
}

static int start_sources(struct agent *a)
{
    for (int i = 0; i < a->nbots; i++) {
        int rc = start_bot(a, &a->bots[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- reload (SIGHUP) ------------------------------------------------------------------------ */

/* A bot whose section did not change keeps all its state; it moved from *from: point what it
 * borrows at its new config and its probe's argv at its own copy. */
static void rebind(const struct agent *a, struct bot_state *b, const struct agent_bot_config *c,
                   const struct bot_state *from)
{
    b->cfg = c;
    b->pw.name = c->name;
    b->pw.pid_file = c->pid_file;
    b->pw.process_name = c->process_name;
    b->pw.systemd_unit = c->systemd_unit;
    b->log.path = c->log_file;
    if (b->has_probe) {
        agent_probe_moved(&b->probe, &from->probe);
        set_probe_env(a, b);
    }
}

/* Builds a->bots for the config just applied, from old (the previous array, nold bots). An
 * unchanged bot keeps everything; a changed one keeps what the bot said through notify (its
 * signals, its last trade) and restarts its sources; an added one starts from nothing. */
static void rebuild_bots(struct agent *a, struct bot_state *old, int nold,
                         const struct agent_config_diff *d)
{
    bool kept[BP_AGENT_MAX_BOTS] = {false};
    for (int j = 0; j < a->cfg->nbots; j++)
        if (d->old_index[j] >= 0 && d->same[j])
            kept[d->old_index[j]] = true;
    for (int o = 0; o < nold; o++)
        if (!kept[o])
            stop_bot(&old[o]);
    memset(a->bots, 0, sizeof(a->bots));
    for (int j = 0; j < a->cfg->nbots; j++) {
        struct bot_state *b = &a->bots[j];
        int o = d->old_index[j];
        a->pws[j] = &b->pw;
        if (o >= 0 && d->same[j]) {
            *b = old[o];
            rebind(a, b, &a->cfg->bots[j], &old[o]);
            continue;
        }
        b->cfg = &a->cfg->bots[j];
        agent_signals_init(&b->sig);
        if (o >= 0) {
            b->sig = old[o].sig;
            b->last_trade_ts = old[o].last_trade_ts;
        }
        if (start_bot(a, b) != 0)
            BP_ERROR(MOD, "bot %s: some of its evidence sources are off until a restart",
                     b->cfg->name);
    }
    a->nbots = a->cfg->nbots;
    a->refreshed_at = -1;
}

/* Applies a validated new config whose changes need no restart. */
static void apply(struct agent *a, const struct agent_config *neu,
                  const struct agent_config_diff *d, struct bot_state *old)
{
    enum bp_log_level level;
    int nold = a->nbots;
    memcpy(old, a->bots, sizeof(a->bots));
    agent_config_apply_live(a->cfg, neu);
    rebuild_bots(a, old, nold, d);
    if (bp_log_level_parse(a->cfg->log_level, &level) == 0)
        bp_log_threshold = level;
    /* New bots (and new intervals) get a heartbeat now, not one interval later. */
    a->next_heartbeat = a->mono;
    a->next_stats = min64(a->next_stats, a->mono + a->cfg->stats_ms);
    BP_INFO(MOD, "reload: %s: %d bots (%d added, %d removed, %d changed, %d unchanged)",
            a->cfg_path, a->nbots, d->added, d->removed, d->changed, d->unchanged);
    char status[200];
    snprintf(status, sizeof(status), "STATUS=config reloaded; watching %d bots", a->nbots);
    bp_sdnotify_send(&a->sd, status);
    if (d->state_changed && agent_publisher_is_connected(a->pub) &&
        agent_publisher_birth(a->pub, a->wall) != 0)
        BP_WARN(MOD, "reload: the agent state listing the bots was not republished");
}

/* SIGHUP: re-reads the config file. A file that does not load, or a change that needs a new
 * MQTT session (agent_config_diff's restart_key), leaves the running config as it was. */
static void reload(struct agent *a)
{
    char err[1024];
    struct agent_config_diff d;
    struct agent_config *neu = malloc(sizeof(*neu));
    struct bot_state *old = malloc(sizeof(a->bots));
    if (!neu || !old) {
        BP_ERROR(MOD, "reload: out of memory; keeping the running config");
        goto out;
    }
    if (agent_config_load(a->cfg_path, neu, err, sizeof(err)) != 0 ||
        agent_config_load_secrets(neu, a->cfg_path, err, sizeof(err)) != 0) {
        BP_ERROR(MOD, "reload: %s; keeping the running config", err);
        bp_sdnotify_send(&a->sd, "STATUS=config reload refused (see the log)");
        goto out;
    }
    agent_config_diff(a->cfg, neu, &d);
    if (d.restart_key[0]) {
        BP_ERROR(MOD,
                 "reload: %s: %s changed: a restart is needed to apply it (new MQTT session "
                 "or socket); keeping the running config",
                 a->cfg_path, d.restart_key);
        goto out;
    }
    if (!d.agent_changed && !d.added && !d.removed && !d.changed) {
        BP_INFO(MOD, "reload: %s: nothing changed", a->cfg_path);
        goto out;
    }
    if (a->commands && agent_commands_remap(a->commands, d.old_index, neu->nbots, a->nbots)) {
        BP_ERROR(MOD, "reload: out of memory; keeping the running config");
        goto out;
    }
    apply(a, neu, &d, old);
out:
    free(neu);
    free(old);
}

static void loop(struct agent *a, const sigset_t *wait_mask)
{
    while (!stop_requested) {
        a->mono = bp_mono_ms();
        a->wall = bp_wall_ms();
        if (hup_requested) {
            hup_requested = 0;
            reload(a);
        }
        run_due(a);
        if (sleep_and_serve(a, wait_mask) != 0)
            break;
    }
}

static int start(struct agent *a, struct agent_config *cfg)
{
    int rc;
    a->cfg = cfg;
    a->nbots = cfg->nbots;
    agent_proc_env_init(&a->env, "/proc");
    agent_hoststats_init(&a->host, "/proc");
    for (int i = 0; i < cfg->nbots; i++) {
        struct bot_state *b = &a->bots[i];
        b->cfg = &cfg->bots[i];
        agent_signals_init(&b->sig);
        a->pws[i] = &b->pw;
    }
    a->mono = bp_mono_ms();
    a->wall = bp_wall_ms();
    if ((rc = start_sources(a)) != 0)
        return rc;
    a->refreshed_at = -1;
    send_stats(a); /* nothing is connected yet: this takes the CPU baselines and btime */
    if ((rc = make_state_dirs(cfg)) != 0)
        return rc;
    if ((rc = agent_notify_server_start(&a->notify, cfg->notify_socket)) != 0) {
        BP_ERROR(MOD, "notify socket %s: %s", cfg->notify_socket,
                 rc == -EADDRINUSE ? "another agent is listening there" : strerror(-rc));
        return rc;
    }
    if ((rc = agent_publisher_new(cfg, &a->pub)) != 0) {
        BP_ERROR(MOD, "MQTT client for %s: %s", cfg->mqtt.url, strerror(-rc));
        return rc;
    }
    if (cfg->has_command_key) {
        if ((rc = agent_commands_new(cfg, a->wall, &a->commands)) != 0)
            return rc;
        if ((rc = agent_publisher_subscribe_commands(a->pub, agent_commands_submit, a->commands)) !=
            0) {
            BP_ERROR(MOD, "cannot subscribe to commands: %s", strerror(-rc));
            return rc;
        }
    }
    if ((rc = agent_publisher_start(a->pub))) {
        BP_ERROR(MOD, "MQTT client for %s: %s", cfg->mqtt.url, strerror(-rc));
        return rc;
    }
    a->next_heartbeat = a->mono + cfg->heartbeat_ms;
    a->next_stats = a->mono + cfg->stats_ms;
    a->ready_by = a->mono + min64(cfg->heartbeat_ms, READY_WITHOUT_BROKER_MS);
    BP_INFO(MOD, "agent %s on %s: %d bots, heartbeat %lld ms, stats %lld ms, notify at %s", cfg->id,
            cfg->host, cfg->nbots, (long long)cfg->heartbeat_ms, (long long)cfg->stats_ms,
            cfg->notify_socket);
    return 0;
}

static void finish(struct agent *a)
{
    struct agent_publisher_counters c = {0};
    if (a->pub) {
        agent_publisher_stop(a->pub, STOP_FLUSH_MS, bp_wall_ms());
        agent_publisher_get_counters(a->pub, &c);
    }
    agent_notify_server_stop(&a->notify);
    bp_sdnotify_cleanup(&a->sd);
    agent_publisher_free(a->pub); /* no more Paho callbacks into commands after this */
    agent_commands_free(a->commands);
    for (int i = 0; i < a->nbots; i++)
        stop_bot(&a->bots[i]);
    BP_INFO(MOD,
            "stopped: %llu trades sent, %llu dropped, %llu events sent, %llu dropped, %llu "
            "messages skipped offline, %llu notify requests refused for their sender",
            (unsigned long long)c.trades_sent, (unsigned long long)c.trades_dropped,
            (unsigned long long)c.events_sent, (unsigned long long)c.events_dropped,
            (unsigned long long)c.skipped_offline, (unsigned long long)a->notify_refused);
}

int agent_loop_run(struct agent_config *cfg, const char *path)
{
    sigset_t wait_mask;
    struct agent *a = calloc(1, sizeof(*a));
    if (!a)
        return 1;
    a->notify.listen_fd = -1;
    a->cfg_path = path;
    bp_sdnotify_init(&a->sd, bp_mono_ms()); /* before Paho's threads: it unsets env vars */
    int rc = install_signals(&wait_mask);
    if (rc != 0)
        BP_ERROR(MOD, "cannot install signal handlers: %s", strerror(-rc));
    else if ((rc = start(a, cfg)) == 0) {
        loop(a, &wait_mask);
        BP_INFO(MOD, "stopping (%s)", stop_requested ? "signal" : "error");
        bp_sdnotify_send(&a->sd, "STOPPING=1\nSTATUS=stopping");
    }
    finish(a);
    free(a);
    return rc == 0 ? 0 : 1;
}
