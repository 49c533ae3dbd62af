/* SPDX-License-Identifier: MIT */
/* The recovery ladder and its budgets, per bot and fleet-wide, on the caller's clock. */
#include "recovery.h"

#include "log.h"
#include "strmap.h"
#include "timerheap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "recovery"
#define FLEET_WINDOW_MS 60000
#define FLEET_RING 4096
#define HOLD_RECHECK_MS 5000 /* a bot held by the exchange rule looks again this often */
#define MAX_ATTEMPTS_KEPT 64

static const char *const action_names[COL_REC_NACTIONS] = {"reconnect", "restart", "hard_restart",
                                                           "pre_restart"};

struct rec_bot {
    char bot[BP_ID_MAX + 1];
    char agent[BP_ID_MAX + 1];
    char exchange[BP_ID_MAX + 1];
    struct col_recovery_policy policy; /* a copy: the caller's may change or go */
    bool has_policy;
    enum col_status status;
    bool agent_offline, intended_stopped, paused;
    int64_t pid;       /* newest pid seen */
    int64_t alive_pid; /* the last non-zero pid: the process a restart must replace */
    bool failing;      /* counted in its exchange's failing bots */
    int step;
    int incident_attempts;               /* attempts since the bot was last good */
    int64_t attempts[MAX_ATTEMPTS_KEPT]; /* times of attempts, oldest first */
    int nattempts;
    int64_t last_attempt_mono;
    bool has_attempt;
    bool pending;
    bool pending_pre; /* the pending command is the pre_restart before `then` */
    enum col_rec_action pending_action, then;
    char nonce[BP_NONCE_MAX + 1];
    int64_t pending_deadline;
    int64_t pid_before;
    int64_t recovered_mono; /* the last time it came back (0: never) */
    int64_t recovered;
    bool gave_up;
    bool held;
    struct bp_timer timer;
};

struct col_recovery {
    struct col_recovery_limits lim;
    struct col_recovery_ops ops;
    struct col_strmap *bots;      /* id → struct rec_bot */
    struct col_strmap *exchanges; /* exchange → int64_t count of failing bots */
    struct bp_timerheap timers;
    int64_t pause_until;
    int64_t fleet[FLEET_RING]; /* times of recent attempts fleet-wide, a ring */
    size_t fleet_head, fleet_len;
};

const char *col_rec_action_name(enum col_rec_action a)
{
    return (unsigned)a < COL_REC_NACTIONS ? action_names[a] : "unknown";
}

int col_rec_action_parse(const char *name, enum col_rec_action *out)
{
    for (int i = 0; i < COL_REC_NACTIONS; i++) {
        if (strcmp(name, action_names[i]) == 0) {
            *out = (enum col_rec_action)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* Calls fn for each comma- or blank-separated word of text; stops at the first error. */
static int each_word(const char *text, int (*fn)(void *ctx, const char *w), void *ctx)
{
    char buf[256];
    if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
        return -EINVAL;
    int n = 0;
    for (char *save = NULL, *w = strtok_r(buf, ", \t", &save); w;
         w = strtok_r(NULL, ", \t", &save), n++) {
        int rc = fn(ctx, w);
        if (rc)
            return rc;
    }
    return n > 0 ? 0 : -EINVAL;
}

static int add_rung(void *ctx, const char *w)
{
    struct col_recovery_policy *p = ctx;
    enum col_rec_action a;
    if (col_rec_action_parse(w, &a) < 0 || a == COL_REC_PRE_RESTART ||
        p->nladder == COL_REC_LADDER_MAX)
        return -EINVAL;
    p->ladder[p->nladder++] = a;
    return 0;
}

int col_recovery_parse_ladder(const char *text, struct col_recovery_policy *p)
{
    p->nladder = 0;
    return each_word(text, add_rung, p);
}

static int add_trigger(void *ctx, const char *w)
{
    uint32_t *mask = ctx;
    for (int s = 0; s < COL_ST_COUNT; s++) {
        if (strcmp(w, col_status_name((enum col_status)s)) == 0 && s != COL_ST_HEALTHY) {
            *mask |= 1u << s;
            return 0;
        }
    }
    return -EINVAL;
}

int col_recovery_parse_triggers(const char *text, uint32_t *mask)
{
    *mask = 0;
    return each_word(text, add_trigger, mask);
}

struct col_recovery *col_recovery_new(const struct col_recovery_limits *lim,
                                      const struct col_recovery_ops *ops)
{
    struct col_recovery *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->lim = *lim;
    r->ops = *ops;
    r->bots = col_strmap_new();
    r->exchanges = col_strmap_new();
    if (!r->bots || !r->exchanges) {
        col_recovery_free(r);
        return NULL;
    }
    bp_timerheap_init(&r->timers);
    return r;
}

void col_recovery_free(struct col_recovery *r)
{
    if (!r)
        return;
    bp_timerheap_cleanup(&r->timers); /* first: it touches the timers inside the bots */
    col_strmap_free(r->bots, free);
    col_strmap_free(r->exchanges, free);
    free(r);
}

/* ---- budgets ------------------------------------------------------------------------------ */

static void prune_attempts(struct rec_bot *b, int64_t now)
{
    int drop = 0;
    while (drop < b->nattempts && b->attempts[drop] <= now - b->policy.window_ms)
        drop++;
    memmove(b->attempts, b->attempts + drop, (size_t)(b->nattempts - drop) * sizeof(int64_t));
    b->nattempts -= drop;
}

static void note_attempt(struct col_recovery *r, struct rec_bot *b, int64_t now)
{
    if (b->nattempts == MAX_ATTEMPTS_KEPT) {
        memmove(b->attempts, b->attempts + 1, (MAX_ATTEMPTS_KEPT - 1) * sizeof(int64_t));
        b->nattempts--;
    }
    b->attempts[b->nattempts++] = now;
    b->last_attempt_mono = now;
    b->has_attempt = true;
    r->fleet[(r->fleet_head + r->fleet_len) % FLEET_RING] = now;
    if (r->fleet_len < FLEET_RING)
        r->fleet_len++;
    else
        r->fleet_head = (r->fleet_head + 1) % FLEET_RING;
}

/* When the fleet budget allows the next attempt (now if it does). */
static int64_t fleet_allows_at(struct col_recovery *r, int64_t now)
{
    while (r->fleet_len > 0 && r->fleet[r->fleet_head] <= now - FLEET_WINDOW_MS) {
        r->fleet_head = (r->fleet_head + 1) % FLEET_RING;
        r->fleet_len--;
    }
    int max = r->lim.fleet_max_per_minute;
    if (max <= 0 || r->fleet_len < (size_t)max)
        return now;
    /* the oldest attempt among the last `max` leaves the window first */
    return r->fleet[(r->fleet_head + r->fleet_len - (size_t)max) % FLEET_RING] + FLEET_WINDOW_MS;
}

static int64_t *exchange_count(struct col_recovery *r, const char *exchange, bool create)
{
    int64_t *n = col_strmap_get(r->exchanges, exchange);
    if (!n && create) {
        n = calloc(1, sizeof(*n));
        if (n && col_strmap_put(r->exchanges, exchange, n) < 0) {
            free(n);
            n = NULL;
        }
    }
    return n;
}

/* Keeps the count of failing bots per exchange in step with b->failing. */
static void set_failing(struct col_recovery *r, struct rec_bot *b, bool failing)
{
    if (b->failing == failing || !b->exchange[0])
        return;
    int64_t *n = exchange_count(r, b->exchange, failing);
    if (!n)
        return; /* out of memory: this bot is not counted */
    *n += failing ? 1 : -1;
    b->failing = failing;
}

static bool exchange_outage(struct col_recovery *r, const struct rec_bot *b)
{
    if (r->lim.exchange_max_failing <= 0 || !b->exchange[0])
        return false;
    const int64_t *n = col_strmap_get(r->exchanges, b->exchange);
    return n && *n > r->lim.exchange_max_failing;
}

/* ---- the ladder --------------------------------------------------------------------------- */

static bool triggering(const struct rec_bot *b)
{
    if (!(b->policy.trigger_mask & (1u << b->status)))
        return false;
    return !(b->status == COL_ST_DOWN && b->agent_offline); /* nobody there to run it */
}

static bool good(enum col_status s)
{
    return s == COL_ST_HEALTHY || s == COL_ST_IDLE || s == COL_ST_DEGRADED;
}

static void schedule(struct col_recovery *r, struct rec_bot *b, int64_t due)
{
    if (due == INT64_MAX)
        bp_timerheap_remove(&r->timers, &b->timer);
    else if (bp_timerheap_set(&r->timers, &b->timer, due) < 0)
        BP_ERROR(MOD, "out of memory scheduling bot %s", b->bot);
}

static void give_up(struct col_recovery *r, struct rec_bot *b, const char *reason)
{
    b->gave_up = true;
    b->pending = false;
    b->held = false;
    schedule(r, b, INT64_MAX);
    BP_WARN(MOD, "bot %s: giving up: %s: manual intervention needed", b->bot, reason);
    if (r->ops.manual)
        r->ops.manual(r->ops.ctx, b->bot, true, reason);
}

/* Hands one command to ops.send; true if it left. */
static bool send(struct col_recovery *r, struct rec_bot *b, enum col_rec_action a, int64_t now)
{
    char nonce[BP_NONCE_MAX + 1] = "";
    int rc = r->ops.send ? r->ops.send(r->ops.ctx, b->agent, b->bot, a, nonce) : -ENOSYS;
    if (rc == -EPERM) { /* another collector acts for the bot: ready should it become ours */
        BP_DEBUG(MOD, "bot %s: %s is not ours to send", b->bot, col_rec_action_name(a));
        schedule(r, b, now + COL_REC_NOT_OURS_RETRY_MS);
        return false;
    }
    if (rc < 0) {
        BP_WARN(MOD, "bot %s: %s not sent: %s; trying again in %lld ms", b->bot,
                col_rec_action_name(a), strerror(-rc), (long long)b->policy.min_interval_ms);
        schedule(r, b, now + b->policy.min_interval_ms);
        return false;
    }
    b->pending = true;
    b->pending_action = a;
    snprintf(b->nonce, sizeof(b->nonce), "%s", nonce);
    b->pending_deadline = now + b->policy.deadline_ms;
    schedule(r, b, b->pending_deadline);
    return true;
}

/* Sends the rung the ladder is at, counting it against the budgets. */
static void send_rung(struct col_recovery *r, struct rec_bot *b, enum col_rec_action a, int64_t now)
{
    b->pending_pre = false;
    b->pid_before = b->alive_pid;
    if (!send(r, b, a, now))
        return;
    note_attempt(r, b, now);
    b->step++;
    b->incident_attempts++;
    BP_INFO(MOD, "bot %s: attempt %d (%s) sent; %d in the window", b->bot, b->step,
            col_rec_action_name(a), b->nattempts);
}

/* Holds the bot until due; logs the first time it is held for this reason. */
static void hold(struct col_recovery *r, struct rec_bot *b, int64_t due, const char *why)
{
    if (!b->held)
        BP_INFO(MOD, "bot %s: recovery held: %s", b->bot, why);
    b->held = true;
    schedule(r, b, due);
}

/* Starts the next attempt if the bot needs one and every budget allows it now. */
static void consider(struct col_recovery *r, struct rec_bot *b, int64_t now)
{
    const struct col_recovery_policy *p = &b->policy;
    if (!p->enabled || b->intended_stopped || b->paused || !triggering(b) || b->gave_up) {
        b->held = false;
        if (!b->pending)
            schedule(r, b, INT64_MAX);
        return;
    }
    if (b->pending)
        return;                 /* its deadline is scheduled */
    if (now < r->pause_until) { /* blind: INT64_MAX; look again now and then */
        int64_t due =
            r->pause_until < now + HOLD_RECHECK_MS ? r->pause_until : now + HOLD_RECHECK_MS;
        hold(r, b, due, "collector blind or in its reconnect grace");
        return;
    }
    if (exchange_outage(r, b)) {
        hold(r, b, now + HOLD_RECHECK_MS, "many bots failing on its exchange");
        return;
    }
    if (b->has_attempt && now < b->last_attempt_mono + p->min_interval_ms) {
        hold(r, b, b->last_attempt_mono + p->min_interval_ms, "least interval");
        return;
    }
    char why[96];
    if (b->step >= p->nladder && b->incident_attempts == 0) {
        /* flapping escalated past the top rung: nothing was tried in this incident yet, so
         * the top rung is tried again (the budget below still bounds it) */
        b->step = p->nladder - 1;
    }
    if (b->step >= p->nladder) {
        snprintf(why, sizeof(why),
                 "recovery ladder exhausted: %d attempt%s in this incident, the last %s",
                 b->incident_attempts, b->incident_attempts == 1 ? "" : "s",
                 col_rec_action_name(p->ladder[p->nladder - 1]));
        give_up(r, b, why);
        return;
    }
    prune_attempts(b, now);
    if (b->nattempts >= p->max_attempts) {
        snprintf(why, sizeof(why), "restart budget spent (%d attempts within the window)",
                 b->nattempts);
        give_up(r, b, why);
        return;
    }
    int64_t fleet_at = fleet_allows_at(r, now);
    if (fleet_at > now) {
        hold(r, b, fleet_at, "fleet-wide restart budget");
        return;
    }
    b->held = false;
    enum col_rec_action a = p->ladder[b->step];
    if (p->pre_restart && (a == COL_REC_RESTART || a == COL_REC_HARD_RESTART)) {
        b->then = a;
        if (send(r, b, COL_REC_PRE_RESTART, now))
            b->pending_pre = true;
        return;
    }
    send_rung(r, b, a, now);
}

static struct rec_bot *bot_get(struct col_recovery *r, const struct col_recovery_input *in)
{
    struct rec_bot *b = col_strmap_get(r->bots, in->bot);
    if (b)
        return b;
    b = calloc(1, sizeof(*b));
    if (!b || col_strmap_put(r->bots, in->bot, b) < 0) {
        free(b);
        return NULL;
    }
    snprintf(b->bot, sizeof(b->bot), "%s", in->bot);
    bp_timer_init(&b->timer);
    return b;
}

/* The bot is good again: the attempt that was waiting worked (with a new process for a
 * restart), and an open manual-intervention alert resolves. */
static void on_good(struct col_recovery *r, struct rec_bot *b, int64_t now)
{
    bool new_process = b->pid != 0 && b->pid != b->pid_before;
    if (b->pending && !b->pending_pre && (b->pending_action == COL_REC_RECONNECT || new_process)) {
        b->pending = false;
        b->recovered++;
        BP_INFO(MOD, "bot %s: recovered by %s (pid %lld)", b->bot,
                col_rec_action_name(b->pending_action), (long long)b->pid);
        schedule(r, b, INT64_MAX);
    }
    if (b->step > 0 || b->gave_up)
        b->recovered_mono = now;
    b->incident_attempts = 0; /* the incident is over */
    if (b->gave_up) {
        b->gave_up = false;
        b->step = 0;
        BP_INFO(MOD, "bot %s: back after manual intervention", b->bot);
        if (r->ops.manual)
            r->ops.manual(r->ops.ctx, b->bot, false, "bot is back");
    }
}

int col_recovery_on_status(struct col_recovery *r, const struct col_recovery_input *in,
                           int64_t now_mono)
{
    struct rec_bot *b = bot_get(r, in);
    if (!b)
        return -ENOMEM;
    bool was_triggering = b->has_policy && triggering(b);
    snprintf(b->agent, sizeof(b->agent), "%s", in->agent ? in->agent : "");
    if (strcmp(b->exchange, in->exchange ? in->exchange : "") != 0) {
        set_failing(r, b, false);
        snprintf(b->exchange, sizeof(b->exchange), "%s", in->exchange ? in->exchange : "");
    }
    b->policy = *in->policy;
    b->has_policy = true;
    b->status = in->status;
    b->agent_offline = in->agent_offline;
    b->intended_stopped = in->intended_stopped;
    b->paused = in->paused;
    b->pid = in->pid;
    bool now_triggering = triggering(b);
    set_failing(r, b, now_triggering && !b->intended_stopped);
    if (good(in->status)) {
        on_good(r, b, now_mono);
    } else if (now_triggering && !was_triggering && b->step > 0 && b->recovered_mono > 0) {
        if (now_mono - b->recovered_mono > b->policy.flap_window_ms) {
            b->step = 0; /* stayed up long enough: a fresh incident */
        } else {
            BP_WARN(MOD, "bot %s: failed again %lld ms after coming back: flapping, escalating",
                    b->bot, (long long)(now_mono - b->recovered_mono));
        }
    }
    if (in->pid != 0 && !b->pending) /* the process the next restart must replace */
        b->alive_pid = in->pid;
    consider(r, b, now_mono);
    return 0;
}

static void tick_bot(struct col_recovery *r, struct rec_bot *b, int64_t now)
{
    if (b->pending && now >= b->pending_deadline) {
        b->pending = false;
        if (b->pending_pre) {
            give_up(r, b, "pre_restart gave no result within the deadline");
            return;
        }
        BP_WARN(MOD, "bot %s: %s did not bring it back within %lld ms", b->bot,
                col_rec_action_name(b->pending_action), (long long)b->policy.deadline_ms);
    }
    consider(r, b, now);
}

void col_recovery_on_result(struct col_recovery *r, const char *bot, const char *nonce,
                            const char *outcome, int64_t now_mono)
{
    struct rec_bot *b = bot ? col_strmap_get(r->bots, bot) : NULL;
    if (!b || !b->pending || !nonce[0] || strcmp(b->nonce, nonce) != 0)
        return;
    bool ok = strcmp(outcome, "ok") == 0;
    if (b->pending_pre) {
        b->pending = false;
        if (!ok) {
            char why[96];
            snprintf(why, sizeof(why), "pre_restart %s: restart not attempted", outcome);
            give_up(r, b, why);
        } else if (!b->gave_up) {
            send_rung(r, b, b->then, now_mono);
        }
        return;
    }
    if (ok)
        return; /* ran: now the bot must come back before the deadline */
    BP_WARN(MOD, "bot %s: %s %s", b->bot, col_rec_action_name(b->pending_action), outcome);
    b->pending = false;
    consider(r, b, now_mono);
}

void col_recovery_pause_until(struct col_recovery *r, int64_t until_mono)
{
    r->pause_until = until_mono;
}

void col_recovery_tick(struct col_recovery *r, int64_t now_mono)
{
    struct bp_timer *t;
    while ((t = bp_timerheap_pop_due(&r->timers, now_mono)) != NULL)
        tick_bot(r, BP_CONTAINER_OF(t, struct rec_bot, timer), now_mono);
}

int64_t col_recovery_next_deadline(const struct col_recovery *r)
{
    const struct bp_timer *t = bp_timerheap_peek(&r->timers);
    return t ? t->due_ms : INT64_MAX;
}

int col_recovery_get(const struct col_recovery *r, const char *bot, struct col_recovery_view *out)
{
    struct rec_bot *b = col_strmap_get(r->bots, bot);
    if (!b)
        return -ENOENT;
    *out = (struct col_recovery_view){.step = b->step,
                                      .attempts = b->nattempts,
                                      .pending = b->pending,
                                      .pending_action = b->pending_action,
                                      .gave_up = b->gave_up,
                                      .held = b->held,
                                      .recovered = b->recovered};
    return 0;
}

const char *col_rec_outcome_name(enum col_rec_outcome o)
{
    static const char *const names[COL_OUT_COUNT] = {"ok", "failed", "refused", "timeout"};
    return (unsigned)o < COL_OUT_COUNT ? names[o] : "?";
}
