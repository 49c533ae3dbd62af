/* SPDX-License-Identifier: MIT */
/* The health rules: evidence + now → status, check, reason, next deadline. */
#include "rules.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[COL_ST_COUNT] = {
    "unknown", "healthy", "idle", "degraded", "stale", "hung", "stopped", "down", "error",
};

const char *col_status_name(enum col_status s)
{
    return (unsigned)s < COL_ST_COUNT ? status_names[s] : "error";
}

const char *col_severity_name(enum col_severity s)
{
    switch (s) {
    case COL_SEV_WARNING:
        return "warning";
    case COL_SEV_CRITICAL:
        return "critical";
    default:
        return "none";
    }
}

enum col_severity col_status_severity(enum col_status s)
{
    switch (s) {
    case COL_ST_DEGRADED:
    case COL_ST_STALE:
    case COL_ST_ERROR:
        return COL_SEV_WARNING;
    case COL_ST_HUNG:
    case COL_ST_STOPPED:
    case COL_ST_DOWN:
        return COL_SEV_CRITICAL;
    default:
        return COL_SEV_NONE;
    }
}

const char *col_check_static(const char *name)
{
    static const char *const checks[] = {"liveness", "process", "trading", "resources",
                                         "clock",    "intent"};
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        if (strcmp(name, checks[i]) == 0)
            return checks[i];
    return "";
}

void col_format_duration(int64_t ms, char *buf, size_t size)
{
    if (ms < 1000) {
        snprintf(buf, size, "%lldms", (long long)ms);
        return;
    }
    if (ms < 10000 && ms % 1000 != 0) {
        snprintf(buf, size, "%lld.%llds", (long long)ms / 1000, (long long)(ms % 1000) / 100);
        return;
    }
    long long s = ms / 1000, h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
    if (h > 0)
        snprintf(buf, size, m ? "%lldh%lldm" : "%lldh", h, m);
    else if (m > 0)
        snprintf(buf, size, sec ? "%lldm%llds" : "%lldm", m, sec);
    else
        snprintf(buf, size, "%llds", sec);
}

int64_t col_rules_heartbeat_timeout(const struct col_evidence *ev,
                                    const struct col_rule_limits *lim)
{
    if (lim->heartbeat_timeout_ms > 0)
        return lim->heartbeat_timeout_ms;
    int misses = lim->heartbeat_misses > 0 ? lim->heartbeat_misses : 3;
    int64_t interval = ev->heartbeat_interval_ms > 0 ? ev->heartbeat_interval_ms : 10000;
    return misses * interval;
}

static void set(struct col_verdict *v, enum col_status st, const char *check, int64_t due)
{
    v->status = st;
    v->check = check;
    v->next_due_mono = due;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Liveness: the agent and the heartbeats. Returns true if it decided the verdict. */
static bool eval_liveness(const struct col_evidence *ev, const struct col_rule_limits *lim,
                          int64_t now, struct col_verdict *v)
{
    char d[32], t[32];
    int64_t timeout = col_rules_heartbeat_timeout(ev, lim);
    col_format_duration(timeout, t, sizeof(t));
    if (ev->agent_offline) {
        set(v, COL_ST_DOWN, "liveness", INT64_MAX);
        snprintf(v->reason, sizeof(v->reason), "agent offline");
        return true;
    }
    int64_t since = ev->has_heartbeat ? ev->last_heartbeat_mono : ev->first_seen_mono;
    int64_t due = since + timeout;
    if (now >= due) {
        set(v, COL_ST_DOWN, "liveness", INT64_MAX);
        col_format_duration(now - since, d, sizeof(d));
        snprintf(v->reason, sizeof(v->reason), "%s for %s (timeout %s)",
                 ev->has_heartbeat ? "no heartbeat" : "no heartbeat ever", d, t);
        return true;
    }
    v->next_due_mono = due;
    if (!ev->has_heartbeat) {
        set(v, COL_ST_UNKNOWN, "liveness", due);
        snprintf(v->reason, sizeof(v->reason), "awaiting first heartbeat");
        return true;
    }
    if (!ev->proc_alive) {
        set(v, COL_ST_STOPPED, "process", due);
        snprintf(v->reason, sizeof(v->reason), "process not running");
        return true;
    }
    return false;
}

static enum col_level level_of(double value, const struct col_threshold *t)
{
    if (value >= t->crit)
        return COL_LEVEL_CRIT;
    return value >= t->warn ? COL_LEVEL_WARN : COL_LEVEL_OK;
}

enum col_level col_resources_level(const struct col_rule_limits *lim, double proc_cpu,
                                   double host_cpu, double mem, double disk, char *reason,
                                   size_t size)
{
    const struct {
        const char *name;
        double value;
        const struct col_threshold *t;
    } r[] = {{"process cpu", proc_cpu, &lim->cpu},
             {"host cpu", host_cpu, &lim->cpu},
             {"memory", mem, &lim->mem},
             {"disk", disk, &lim->disk}};
    enum col_level worst = COL_LEVEL_OK;
    reason[0] = '\0';
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        enum col_level l = r[i].value < 0 ? COL_LEVEL_OK : level_of(r[i].value, r[i].t);
        if (l > worst) { /* the first of the worst names the reason */
            worst = l;
            snprintf(reason, size, "%s %.0f%% >= %.0f%%", r[i].name, r[i].value,
                     l == COL_LEVEL_CRIT ? r[i].t->crit : r[i].t->warn);
        }
    }
    return worst;
}

/* A healthy bot whose resources failed: degraded at once, alerting once confirmed. */
static void eval_resources(const struct col_evidence *ev, const struct col_rule_limits *lim,
                           struct col_verdict *v)
{
    if (ev->res_level == COL_LEVEL_OK || v->status != COL_ST_HEALTHY)
        return;
    int confirm = lim->confirm > 0 ? lim->confirm : 1;
    v->status = COL_ST_DEGRADED;
    v->check = "resources";
    if (ev->res_streak >= confirm) {
        v->severity = ev->res_level == COL_LEVEL_CRIT ? COL_SEV_CRITICAL : COL_SEV_WARNING;
        snprintf(v->reason, sizeof(v->reason), "%s", ev->res_reason);
    } else {
        v->severity = COL_SEV_NONE;
        snprintf(v->reason, sizeof(v->reason), "%s (%d of %d samples)", ev->res_reason,
                 ev->res_streak, confirm);
    }
}

/* A healthy bot whose agent's clock is off: a warning. Liveness never reads the agents'
 * clocks, and trade times are corrected by the estimate, so nothing else is wrong yet. */
static void eval_clock(const struct col_evidence *ev, const struct col_rule_limits *lim,
                       struct col_verdict *v)
{
    if (!ev->clock_known || lim->clock_skew_ms <= 0 || v->status != COL_ST_HEALTHY)
        return;
    int64_t off = ev->clock_ahead_ms < 0 ? -ev->clock_ahead_ms : ev->clock_ahead_ms;
    if (off <= lim->clock_skew_ms)
        return;
    char d[32];
    col_format_duration(off, d, sizeof(d));
    v->status = COL_ST_DEGRADED;
    v->check = "clock";
    v->severity = COL_SEV_WARNING;
    snprintf(v->reason, sizeof(v->reason), "agent clock %s %s the collector's", d,
             ev->clock_ahead_ms > 0 ? "ahead of" : "behind");
}

/* A bot stopped on purpose: absence is the plan, trading is the surprise. */
static void eval_intent(const struct col_evidence *ev, const struct col_rule_limits *lim,
                        int64_t now, struct col_verdict *v)
{
    if (!lim->intended_stopped || v->status == COL_ST_UNKNOWN)
        return;
    v->check = "intent";
    v->severity = COL_SEV_NONE;
    if (v->status == COL_ST_DOWN || (v->status == COL_ST_STOPPED && !ev->proc_alive)) {
        v->status = COL_ST_STOPPED;
        snprintf(v->reason, sizeof(v->reason), "stopped, as intended");
    } else if (ev->has_trade && now - ev->last_trade_mono < lim->trade_stale_ms) {
        v->status = COL_ST_DEGRADED;
        v->severity = COL_SEV_CRITICAL;
        snprintf(v->reason, sizeof(v->reason), "trading although intended stopped");
        /* it stops counting as trading when the trade turns stale */
        v->next_due_mono = min64(v->next_due_mono, ev->last_trade_mono + lim->trade_stale_ms);
    } else {
        v->status = COL_ST_IDLE;
        snprintf(v->reason, sizeof(v->reason), "running, not trading; intended stopped");
    }
}

static void eval_primary(const struct col_evidence *ev, const struct col_rule_limits *lim,
                         int64_t now, struct col_verdict *v);

void col_rules_evaluate(const struct col_evidence *ev, const struct col_rule_limits *lim,
                        int64_t now, struct col_verdict *v)
{
    v->reason[0] = '\0';
    eval_primary(ev, lim, now, v);
    v->severity = col_status_severity(v->status);
    eval_resources(ev, lim, v);
    eval_clock(ev, lim, v);
    eval_intent(ev, lim, now, v);
}

/* Liveness, process and trading: the chain that decides whether the bot works at all. */
static void eval_primary(const struct col_evidence *ev, const struct col_rule_limits *lim,
                         int64_t now, struct col_verdict *v)
{
    if (eval_liveness(ev, lim, now, v))
        return;
    int64_t hb_due = v->next_due_mono;
    int64_t since = ev->has_trade ? ev->last_trade_mono : ev->first_seen_mono;
    int64_t age = now - since;
    char d[32], t[32];
    col_format_duration(age < 0 ? 0 : age, d, sizeof(d));
    /* The healthy reason stays put while the bot stays healthy, so it names no age (the
     * status carries last_trade); the bad ones name the age that tripped the threshold. */
    const char *ok = ev->has_trade ? "alive and trading" : "alive; no trade yet";
    const char *fmt_bad =
        ev->has_trade ? "last trade %s ago (%s after %s)" : "no trade seen in %s (%s after %s)";
    if (age >= lim->trade_stopped_ms) {
        set(v, COL_ST_STOPPED, "trading", hb_due);
        col_format_duration(lim->trade_stopped_ms, t, sizeof(t));
        snprintf(v->reason, sizeof(v->reason), fmt_bad, d, "stopped", t);
    } else if (age >= lim->trade_stale_ms) {
        set(v, COL_ST_STALE, "trading", min64(hb_due, since + lim->trade_stopped_ms));
        col_format_duration(lim->trade_stale_ms, t, sizeof(t));
        snprintf(v->reason, sizeof(v->reason), fmt_bad, d, "stale", t);
    } else {
        set(v, COL_ST_HEALTHY, "", min64(hb_due, since + lim->trade_stale_ms));
        snprintf(v->reason, sizeof(v->reason), "%s", ok);
    }
}
