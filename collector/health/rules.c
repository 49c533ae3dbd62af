/* SPDX-License-Identifier: MIT */
/* The health rules: evidence + now → status, check, reason, next deadline. */
#include "rules.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Every check an alert can carry (besides "metric:NAME"), and who judges it. The primary
 * chain's come first, in the order they run: their index is their enum col_chain. */
enum check_kind {
    CHECK_CHAIN,  /* judged up to where the chain stopped */
    CHECK_OTHER,  /* judged while the bot reports */
    CHECK_INTENT, /* judged whenever anything is */
    CHECK_ENGINE, /* flapping, recovery: the engine's, never the rules' */
};

static const struct {
    const char *name;
    enum check_kind kind;
} checks[] = {
    {"liveness", CHECK_CHAIN},  {"process", CHECK_CHAIN},    {"loop", CHECK_CHAIN},
    {"log", CHECK_CHAIN},       {"market", CHECK_CHAIN},     {"trading", CHECK_CHAIN},
    {"api", CHECK_OTHER},       {"log_errors", CHECK_OTHER}, {"restarts", CHECK_OTHER},
    {"resources", CHECK_OTHER}, {"clock", CHECK_OTHER},      {"intent", CHECK_INTENT},
    {"flapping", CHECK_ENGINE}, {"recovery", CHECK_ENGINE},
};

static int find_check(const char *name)
{
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        if (strcmp(name, checks[i].name) == 0)
            return (int)i;
    return -1;
}

const char *col_check_static(const char *name)
{
    int i = find_check(name);
    return i >= 0 ? checks[i].name : "";
}

static enum check_kind check_kind(const char *name)
{
    if (strncmp(name, "metric:", 7) == 0)
        return CHECK_OTHER;
    int i = find_check(name);
    return i >= 0 ? checks[i].kind : CHECK_ENGINE; /* unknown: not the rules' either */
}

/* Its place in the primary chain (enum col_chain), or -1. */
static int chain_position(const char *check)
{
    int i = find_check(check);
    return i >= 0 && checks[i].kind == CHECK_CHAIN ? i : -1;
}

bool col_check_is_valid(const char *name)
{
    if (strncmp(name, "metric:", 7) == 0)
        return bp_metric_name_is_valid(name + 7);
    return col_check_static(name)[0] != '\0';
}

bool col_check_in_chain(const char *check)
{
    return chain_position(check) >= 0;
}

bool col_verdict_judged(const struct col_verdict *v, const char *check)
{
    if (v->status == COL_ST_UNKNOWN)
        return false; /* nothing judged yet */
    switch (check_kind(check)) {
    case CHECK_CHAIN:
        return v->judged_all || chain_position(check) <= (int)v->chain;
    case CHECK_OTHER:
        return v->judged_all || v->others_judged;
    case CHECK_INTENT:
        return true;
    default:
        return false;
    }
}

static int finding_index(const struct col_verdict *v, const char *check)
{
    for (int i = 0; i < v->nfindings; i++)
        if (strcmp(v->findings[i].check, check) == 0)
            return i;
    return -1;
}

const struct col_finding *col_verdict_finding(const struct col_verdict *v, const char *check)
{
    int i = finding_index(v, check);
    return i >= 0 ? &v->findings[i] : NULL;
}

/* Records a failing check; a second finding for the same check keeps the worse. */
static void add_finding(struct col_verdict *v, enum col_severity sev, const char *check,
                        const char *reason)
{
    int i = finding_index(v, check);
    struct col_finding *f = i >= 0 ? &v->findings[i] : NULL;
    if (f && sev <= f->severity)
        return;
    if (!f) {
        if (v->nfindings == COL_FINDINGS_MAX)
            return; /* cannot happen: one per metric rule and per other check */
        f = &v->findings[v->nfindings++];
    }
    f->check = check;
    f->severity = sev;
    snprintf(f->reason, sizeof(f->reason), "%s", reason);
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
    int pos = chain_position(check);
    v->chain = pos >= 0 ? (enum col_chain)pos : COL_CHAIN_PASSED;
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

/* A healthy bot whose agent's clock is off: a warning. Liveness never reads the agents'
 * clocks, and trade times are corrected by the estimate, so nothing else is wrong yet. */
static void eval_clock(const struct col_evidence *ev, const struct col_rule_limits *lim,
                       struct col_verdict *v)
{
    if (!v->others_judged || !ev->clock_known || lim->clock_skew_ms <= 0)
        return;
    int64_t off = ev->clock_ahead_ms < 0 ? -ev->clock_ahead_ms : ev->clock_ahead_ms;
    if (off <= lim->clock_skew_ms)
        return;
    char d[32], r[COL_REASON_MAX + 1];
    col_format_duration(off, d, sizeof(d));
    snprintf(r, sizeof(r), "agent clock %s %s the collector's", d,
             ev->clock_ahead_ms > 0 ? "ahead of" : "behind");
    add_finding(v, COL_SEV_WARNING, "clock", r);
    if (v->status != COL_ST_HEALTHY)
        return;
    v->status = COL_ST_DEGRADED;
    v->check = "clock";
    v->severity = COL_SEV_WARNING;
    snprintf(v->reason, sizeof(v->reason), "%s", r);
}

/* A bot stopped on purpose: absence is the plan, trading is the surprise. */
static void eval_intent(const struct col_evidence *ev, const struct col_rule_limits *lim,
                        int64_t now, struct col_verdict *v)
{
    if (!lim->intended_stopped || v->status == COL_ST_UNKNOWN)
        return;
    v->check = "intent";
    v->severity = COL_SEV_NONE;
    v->nfindings = 0; /* stopped on purpose: only trading is news */
    v->judged_all = true;
    if (v->status == COL_ST_DOWN || (v->status == COL_ST_STOPPED && !ev->proc_alive)) {
        v->status = COL_ST_STOPPED;
        snprintf(v->reason, sizeof(v->reason), "stopped, as intended");
    } else if (ev->has_trade && now - ev->last_trade_mono < lim->trade_stale_ms) {
        v->status = COL_ST_DEGRADED;
        v->severity = COL_SEV_CRITICAL;
        snprintf(v->reason, sizeof(v->reason), "trading although intended stopped");
        add_finding(v, COL_SEV_CRITICAL, "intent", v->reason);
        /* it stops counting as trading when the trade turns stale */
        v->next_due_mono = min64(v->next_due_mono, ev->last_trade_mono + lim->trade_stale_ms);
    } else {
        v->status = COL_ST_IDLE;
        snprintf(v->reason, sizeof(v->reason), "running, not trading; intended stopped");
    }
}

/* Appends to the verdict's reason (truncating at its size). */
__attribute__((format(printf, 2, 3))) static void append(struct col_verdict *v, const char *fmt,
                                                         ...)
{
    size_t len = strlen(v->reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason + len, sizeof(v->reason) - len, fmt, ap);
    va_end(ap);
}

/* A dead bot's alert scales with what it leaves on the exchange: critical while it holds a
 * position or a resting order, a warning when it reported being flat. */
static void scale_by_exposure(const struct col_evidence *ev, struct col_verdict *v)
{
    if (!ev->has_exposure ||
        (v->status != COL_ST_DOWN && v->status != COL_ST_STOPPED && v->status != COL_ST_HUNG))
        return;
    if (ev->positions > 0 || ev->orders > 0) {
        v->severity = COL_SEV_CRITICAL;
        append(v, "; exposed: %lld positions, %lld orders", (long long)ev->positions,
               (long long)ev->orders);
    } else {
        v->severity = COL_SEV_WARNING;
        append(v, "; flat: no position, no order");
    }
}

static bool op_holds(enum col_op op, double x, double y)
{
    switch (op) {
    case COL_OP_LT:
        return x < y;
    case COL_OP_LE:
        return x <= y;
    case COL_OP_GT:
        return x > y;
    case COL_OP_GE:
        return x >= y;
    case COL_OP_EQ:
        return x == y;
    default:
        return x != y;
    }
}

static void eval_metric_rules(const struct col_evidence *ev, const struct col_rule_limits *lim,
                              struct col_verdict *v)
{
    char r[COL_REASON_MAX + 1];
    for (int i = 0; i < lim->nmetric_rules; i++) {
        const struct col_metric_rule *mr = &lim->metric_rules[i];
        for (int k = 0; k < ev->nmetrics; k++) {
            if (strcmp(ev->metrics[k].name, mr->metric) != 0 ||
                !op_holds(mr->op, ev->metrics[k].value, mr->value))
                continue;
            snprintf(r, sizeof(r), "%s = %g (rule %s %g %s)", mr->metric, ev->metrics[k].value,
                     col_op_name(mr->op), mr->value, col_severity_name(mr->severity));
            add_finding(v, mr->severity, mr->check, r);
        }
    }
}

static void eval_api(const struct col_evidence *ev, const struct col_rule_limits *lim,
                     struct col_verdict *v)
{
    char r[COL_REASON_MAX + 1], d[32], t[32];
    if (ev->api_calls <= 0)
        return;
    double rate = 100.0 * (double)ev->api_errors / (double)ev->api_calls;
    if (ev->api_calls >= lim->api_min_calls && rate >= lim->api_err_warn) {
        bool crit = rate >= lim->api_err_crit;
        snprintf(r, sizeof(r),
                 "exchange API errors: %lld of the last %lld calls (%.0f%% >= %.0f%%)",
                 (long long)ev->api_errors, (long long)ev->api_calls, rate,
                 crit ? lim->api_err_crit : lim->api_err_warn);
        add_finding(v, crit ? COL_SEV_CRITICAL : COL_SEV_WARNING, "api", r);
    }
    if (lim->api_latency_warn_ms > 0 && ev->api_latency_ms_max >= lim->api_latency_warn_ms) {
        bool crit = ev->api_latency_ms_max >= lim->api_latency_crit_ms;
        col_format_duration(ev->api_latency_ms_max, d, sizeof(d));
        col_format_duration(crit ? lim->api_latency_crit_ms : lim->api_latency_warn_ms, t,
                            sizeof(t));
        snprintf(r, sizeof(r), "exchange API latency %s >= %s", d, t);
        add_finding(v, crit ? COL_SEV_CRITICAL : COL_SEV_WARNING, "api", r);
    }
}

/* The checks the heartbeat's own evidence decides: custom-metric rules, exchange API, log
 * errors; each a finding, as the latest heartbeat has it. */
static void eval_heartbeat_checks(const struct col_evidence *ev, const struct col_rule_limits *lim,
                                  struct col_verdict *v)
{
    char r[COL_REASON_MAX + 1];
    eval_metric_rules(ev, lim, v);
    eval_api(ev, lim, v);
    if (ev->has_log && ev->log_rate_known && lim->log_err_warn > 0 &&
        ev->log_err_per_min >= lim->log_err_warn) {
        bool crit = lim->log_err_crit > 0 && ev->log_err_per_min >= lim->log_err_crit;
        snprintf(r, sizeof(r), "log errors %.0f/min >= %.0f/min", ev->log_err_per_min,
                 crit ? lim->log_err_crit : lim->log_err_warn);
        add_finding(v, crit ? COL_SEV_CRITICAL : COL_SEV_WARNING, "log_errors", r);
    }
}

static int streak_of(const struct col_evidence *ev, const char *check)
{
    for (int i = 0; i < ev->nstreaks; i++)
        if (strcmp(ev->streaks[i].check, check) == 0)
            return ev->streaks[i].n;
    return 0;
}

void col_evidence_count_failures(struct col_evidence *ev, const struct col_rule_limits *lim)
{
    struct col_verdict v;
    v.nfindings = 0;
    eval_heartbeat_checks(ev, lim, &v);
    struct col_check_streak next[COL_FINDINGS_MAX];
    int n = 0;
    for (int i = 0; i < v.nfindings && n < COL_FINDINGS_MAX; i++) {
        snprintf(next[n].check, sizeof(next[n].check), "%s", v.findings[i].check);
        int was = streak_of(ev, v.findings[i].check);
        next[n++].n = was < 1000000 ? was + 1 : was;
    }
    if (n != ev->nstreaks) {
        struct col_check_streak *to = n > 0 ? realloc(ev->streaks, sizeof(*to) * (size_t)n) : NULL;
        if (n > 0 && !to) /* out of memory: the counts stay, confirmed a heartbeat late */
            return;
        if (n == 0)
            free(ev->streaks);
        ev->streaks = to;
        ev->nstreaks = n; /* a check not failing now starts from nothing */
    }
    if (n > 0)
        memcpy(ev->streaks, next, (size_t)n * sizeof(next[0]));
}

/* The checks beside the chain, on a bot that reports (neither down nor unknown): custom-metric
 * rules, exchange API, log errors and resources, each a finding of its own. One that has not
 * failed `check_confirm` heartbeats in a row (resources: `confirm` stats samples) holds no
 * severity yet. On a bot that works (healthy or idle) the worst of them makes it degraded; on
 * a tie the first in that order. */
/* A process replaced restarts_warn (restarts_crit) times within restarts_window: a crash loop,
 * even when every heartbeat said alive. Looks again when the oldest of them leaves the window. */
static void eval_restarts(const struct col_evidence *ev, const struct col_rule_limits *lim,
                          int64_t now, struct col_verdict *v)
{
    if (!ev->restarts.known || lim->restarts_warn <= 0 || lim->restarts_window_ms <= 0)
        return;
    int64_t expires;
    int64_t n = col_restarts_within(&ev->restarts, lim->restarts_window_ms, now, &expires);
    if (n < lim->restarts_warn)
        return;
    bool crit = lim->restarts_crit > 0 && n >= lim->restarts_crit;
    char r[COL_REASON_MAX + 1], w[32];
    col_format_duration(lim->restarts_window_ms, w, sizeof(w));
    snprintf(r, sizeof(r),
             "process restarted %lld times in %s (>= %d; %lld since its agent started)",
             (long long)n, w, crit ? lim->restarts_crit : lim->restarts_warn,
             (long long)ev->restarts.count);
    add_finding(v, crit ? COL_SEV_CRITICAL : COL_SEV_WARNING, "restarts", r);
    v->next_due_mono = min64(v->next_due_mono, expires);
}

static void eval_others(const struct col_evidence *ev, const struct col_rule_limits *lim,
                        int64_t now, struct col_verdict *v)
{
    if (v->status == COL_ST_DOWN || v->status == COL_ST_UNKNOWN)
        return;
    v->others_judged = true;
    int first = v->nfindings;
    char r[COL_REASON_MAX + 1];
    eval_heartbeat_checks(ev, lim, v);
    for (int i = first; lim->check_confirm > 1 && i < v->nfindings; i++) {
        struct col_finding *f = &v->findings[i];
        int n = streak_of(ev, f->check);
        if (n >= lim->check_confirm)
            continue;
        f->severity = COL_SEV_NONE;
        size_t len = strlen(f->reason);
        snprintf(f->reason + len, sizeof(f->reason) - len, " (%d of %d heartbeats)", n,
                 lim->check_confirm);
    }
    eval_restarts(ev, lim, now, v);
    if (ev->res_level != COL_LEVEL_OK) {
        int confirm = lim->confirm > 0 ? lim->confirm : 1;
        if (ev->res_streak >= confirm) {
            add_finding(v, ev->res_level == COL_LEVEL_CRIT ? COL_SEV_CRITICAL : COL_SEV_WARNING,
                        "resources", ev->res_reason);
        } else {
            snprintf(r, sizeof(r), "%s (%d of %d samples)", ev->res_reason, ev->res_streak,
                     confirm);
            add_finding(v, COL_SEV_NONE, "resources", r);
        }
    }
    if (v->nfindings == first || (v->status != COL_ST_HEALTHY && v->status != COL_ST_IDLE))
        return;
    const struct col_finding *worst = &v->findings[first];
    for (int i = first + 1; i < v->nfindings; i++)
        if (v->findings[i].severity > worst->severity)
            worst = &v->findings[i];
    v->status = COL_ST_DEGRADED;
    v->severity = worst->severity;
    v->check = worst->check;
    snprintf(v->reason, sizeof(v->reason), "%s", worst->reason);
}

/* A declared maintenance keeps the status the evidence shows, but holds its alert until the
 * maintenance ends; the engine looks again then. */
static void eval_maintenance(const struct col_evidence *ev, int64_t now, struct col_verdict *v)
{
    if (ev->maintenance_until_mono == 0 || now >= ev->maintenance_until_mono ||
        v->status == COL_ST_UNKNOWN)
        return;
    v->next_due_mono = min64(v->next_due_mono, ev->maintenance_until_mono);
    v->nfindings = 0; /* every alert held, and any open one resolved */
    v->judged_all = true;
    if (v->severity == COL_SEV_NONE)
        return;
    v->severity = COL_SEV_NONE;
    append(v, " (in maintenance: no alert until it ends)");
}

static void eval_primary(const struct col_evidence *ev, const struct col_rule_limits *lim,
                         int64_t now, struct col_verdict *v);

void col_rules_evaluate(const struct col_evidence *ev, const struct col_rule_limits *lim,
                        int64_t now, struct col_verdict *v)
{
    v->reason[0] = '\0';
    v->nfindings = 0;
    v->others_judged = false;
    v->judged_all = false;
    eval_primary(ev, lim, now, v);
    v->severity = col_status_severity(v->status);
    scale_by_exposure(ev, v);
    if (v->severity != COL_SEV_NONE)
        add_finding(v, v->severity, v->check, v->reason);
    eval_others(ev, lim, now, v);
    eval_clock(ev, lim, v);
    eval_intent(ev, lim, now, v);
    eval_maintenance(ev, now, v);
}

/* The bot's own loop: hung when its tick is silent, exchange-disconnected when its market data
 * is old. Returns true if it decided the verdict; lowers *due to when it next could. */
static bool eval_loop(const struct col_evidence *ev, const struct col_rule_limits *lim, int64_t now,
                      int64_t *due, struct col_verdict *v)
{
    char d[32], t[32];
    if ((ev->has_tick || lim->tick_expected) && lim->tick_timeout_ms > 0) {
        int64_t since = ev->has_tick ? ev->last_tick_mono : ev->first_seen_mono;
        if (now >= since + lim->tick_timeout_ms) {
            set(v, COL_ST_HUNG, "loop", *due);
            col_format_duration(now - since, d, sizeof(d));
            col_format_duration(lim->tick_timeout_ms, t, sizeof(t));
            snprintf(v->reason, sizeof(v->reason), "process alive, loop silent: %s %s (timeout %s)",
                     ev->has_tick ? "no tick for" : "no tick seen in", d, t);
            return true;
        }
        *due = min64(*due, since + lim->tick_timeout_ms);
    }
    if (ev->has_log && lim->log_silence_ms > 0) { /* its log is its loop's voice, too */
        int64_t since = ev->last_log_mono > 0 ? ev->last_log_mono : ev->first_seen_mono;
        if (now >= since + lim->log_silence_ms) {
            set(v, COL_ST_HUNG, "log", *due);
            col_format_duration(now - since, d, sizeof(d));
            col_format_duration(lim->log_silence_ms, t, sizeof(t));
            snprintf(v->reason, sizeof(v->reason), "process alive, log silent: %s %s (timeout %s)",
                     ev->last_log_mono > 0 ? "no line for" : "no line seen in", d, t);
            return true;
        }
        *due = min64(*due, since + lim->log_silence_ms);
    }
    if (ev->has_market && lim->market_stale_ms > 0) {
        if (now >= ev->last_market_mono + lim->market_stale_ms) {
            set(v, COL_ST_DEGRADED, "market", *due);
            col_format_duration(now - ev->last_market_mono, d, sizeof(d));
            snprintf(v->reason, sizeof(v->reason), "exchange disconnected: market data %s old", d);
            return true;
        }
        *due = min64(*due, ev->last_market_mono + lim->market_stale_ms);
    }
    return false;
}

/* Liveness, process, loop and trading: the chain that decides whether the bot works at all. */
static void eval_primary(const struct col_evidence *ev, const struct col_rule_limits *lim,
                         int64_t now, struct col_verdict *v)
{
    if (eval_liveness(ev, lim, now, v))
        return;
    int64_t due = v->next_due_mono;
    if (eval_loop(ev, lim, now, &due, v))
        return;
    /* past the loop checks a ticking bot's loop is fresh: it says it is evaluating */
    bool evaluating = ev->has_tick && lim->tick_timeout_ms > 0;
    int64_t since = ev->has_trade ? ev->last_trade_mono : ev->first_seen_mono;
    int64_t age = now - since;
    /* a learned cadence stretches both thresholds: a quiet hour is only stale against the
     * bot's own normal gap after a trade at that time of the week */
    int64_t stale = lim->trade_stale_ms, stopped = lim->trade_stopped_ms;
    bool learned = false;
    if (lim->cadence_factor > 0 && ev->cadence_gap_ms > 0) {
        int64_t want = (int64_t)(lim->cadence_factor * (double)ev->cadence_gap_ms);
        if (want > stale) {
            stopped += want - stale;
            stale = want;
            learned = true;
        }
    }
    char d[32], t[48];
    col_format_duration(age < 0 ? 0 : age, d, sizeof(d));
    /* The healthy reason stays put while the bot stays healthy, so it names no age (the
     * status carries last_trade); the bad ones name the age that tripped the threshold. */
    const char *ok = ev->has_trade ? "alive and trading" : "alive; no trade yet";
    const char *fmt_bad =
        ev->has_trade ? "last trade %s ago (%s after %s)" : "no trade seen in %s (%s after %s)";
    if (age >= stopped) {
        col_format_duration(stopped, t, sizeof(t));
        if (learned)
            strcat(t, ", learned cadence");
        set(v, evaluating ? COL_ST_STALE : COL_ST_STOPPED, "trading", due);
        if (evaluating)
            snprintf(v->reason, sizeof(v->reason),
                     "loop evaluating but no trade for %s (idle past %s)", d, t);
        else
            snprintf(v->reason, sizeof(v->reason), fmt_bad, d, "stopped", t);
    } else if (age >= stale) {
        set(v, evaluating ? COL_ST_IDLE : COL_ST_STALE, "trading", min64(due, since + stopped));
        col_format_duration(stale, t, sizeof(t));
        if (learned)
            strcat(t, ", learned cadence");
        if (evaluating)
            snprintf(v->reason, sizeof(v->reason),
                     "idle: loop evaluating, no trade for %s (no signal to trade)", d);
        else
            snprintf(v->reason, sizeof(v->reason), fmt_bad, d, "stale", t);
    } else {
        set(v, COL_ST_HEALTHY, "", min64(due, since + stale));
        snprintf(v->reason, sizeof(v->reason), "%s", ok);
        if (!ev->has_trade) /* healthy for now, but trading is not judged until stale */
            v->chain = COL_CHAIN_TRADING - 1;
    }
}

/* ---- evidence from a heartbeat's signals -------------------------------------------------- */

/* A time on the agent's clock, as when it happened on ours: its age when the heartbeat was
 * sent, back from when we received it. */
static int64_t to_mono(int64_t ts, int64_t sent_ts, int64_t recv_mono)
{
    int64_t age = sent_ts - ts;
    return recv_mono - (age > 0 ? age : 0);
}

void col_evidence_shift(struct col_evidence *ev, int64_t shift)
{
    ev->first_seen_mono += shift;
    if (ev->has_heartbeat)
        ev->last_heartbeat_mono += shift;
    if (ev->has_tick)
        ev->last_tick_mono += shift;
    if (ev->has_market)
        ev->last_market_mono += shift;
    if (ev->maintenance_until_mono != 0)
        ev->maintenance_until_mono += shift;
    if (ev->last_log_mono != 0)
        ev->last_log_mono += shift;
    if (ev->log_err_base_mono != 0) /* blind time is no time for the error rate */
        ev->log_err_base_mono += shift;
    col_restarts_shift(&ev->restarts, shift);
}

int64_t col_evidence_apply_restarts(struct col_evidence *ev, const struct bp_heartbeat *hb,
                                    const char *boot, int64_t recv_mono)
{
    if (!hb->proc.has_restarts)
        return 0;
    return col_restarts_note(&ev->restarts, col_restarts_boot_hash(boot), hb->proc.restarts,
                             recv_mono);
}

void col_evidence_apply_log(struct col_evidence *ev, const struct bp_heartbeat *hb, int64_t sent_ts,
                            int64_t recv_mono)
{
    ev->has_log = hb->has_log;
    if (!hb->has_log)
        return;
    const struct bp_hb_log *l = &hb->log;
    ev->last_log_mono = l->last_line_ts > 0 ? to_mono(l->last_line_ts, sent_ts, recv_mono) : 0;
    ev->log_errors = l->errors;
    if (ev->log_err_base_mono == 0 || l->errors < ev->log_err_base) { /* first, or restarted */
        ev->log_err_base = l->errors;
        ev->log_err_base_mono = recv_mono;
        ev->log_rate_known = false;
        return;
    }
    int64_t span = recv_mono - ev->log_err_base_mono;
    if (span < 60000)
        return;
    ev->log_err_per_min = (double)(l->errors - ev->log_err_base) * 60000.0 / (double)span;
    ev->log_rate_known = true;
    ev->log_err_base = l->errors;
    ev->log_err_base_mono = recv_mono;
}

void col_evidence_apply_signals(struct col_evidence *ev, const struct bp_heartbeat *hb,
                                int64_t sent_ts, int64_t recv_mono)
{
    const struct bp_hb_signals *s = &hb->signals;
    bool on = hb->has_signals;
    ev->has_tick = on && s->tick_ts > 0;
    ev->last_tick_mono = ev->has_tick ? to_mono(s->tick_ts, sent_ts, recv_mono) : 0;
    ev->has_market = on && s->market_ts > 0;
    ev->last_market_mono = ev->has_market ? to_mono(s->market_ts, sent_ts, recv_mono) : 0;
    ev->has_exposure = on && s->positions >= 0 && s->orders >= 0;
    ev->positions = ev->has_exposure ? s->positions : 0;
    ev->orders = ev->has_exposure ? s->orders : 0;
    ev->api_calls = on ? s->api_calls : 0;
    ev->api_errors = on ? s->api_errors : 0;
    ev->api_latency_ms_max = on ? s->api_latency_ms_max : 0;
    ev->maintenance_until_mono = 0;
    if (on && s->maintenance_until > sent_ts) /* still ahead when it was sent */
        ev->maintenance_until_mono = recv_mono + (s->maintenance_until - sent_ts);
    int n = hb->has_metrics ? hb->nmetrics : 0;
    if (n != ev->nmetrics) {
        struct bp_metric *m = n > 0 ? realloc(ev->metrics, sizeof(*m) * (size_t)n) : NULL;
        if (n > 0 && !m) /* out of memory: the older ones stay, judged a heartbeat late */
            return;
        if (n == 0)
            free(ev->metrics);
        ev->metrics = m;
        ev->nmetrics = n;
    }
    if (n > 0)
        memcpy(ev->metrics, hb->metrics, sizeof(ev->metrics[0]) * (size_t)n);
}

void col_evidence_cleanup(struct col_evidence *ev)
{
    free(ev->metrics);
    free(ev->streaks);
    col_restarts_cleanup(&ev->restarts);
    ev->metrics = NULL;
    ev->streaks = NULL;
    ev->nmetrics = ev->nstreaks = 0;
}

/* ---- custom-metric rules ------------------------------------------------------------------ */

static const char *const op_names[] = {"<", "<=", ">", ">=", "==", "!="};

const char *col_op_name(enum col_op op)
{
    return (unsigned)op < 6 ? op_names[op] : "?";
}

int col_metric_rule_parse(const char *text, struct col_metric_rule *out, char *why, size_t size)
{
    char name[64], op[8], num[64], sev[16], extra[2];
    memset(out, 0, sizeof(*out));
    int n = sscanf(text, " %63s %7s %63s %15s %1s", name, op, num, sev, extra);
    if (n != 4) {
        snprintf(why, size,
                 "'%.60s': want NAME OP NUMBER SEVERITY, e.g. "
                 "'unprotected_positions > 0 critical'",
                 text);
        return -EINVAL;
    }
    if (!bp_metric_name_is_valid(name)) {
        snprintf(why, size, "'%.60s': metric name '%.40s' is not 1..32 of [a-z0-9_]", text, name);
        return -EINVAL;
    }
    int k = 0;
    while (k < 6 && strcmp(op, op_names[k]) != 0)
        k++;
    if (k == 6) {
        snprintf(why, size, "'%.60s': operator '%s' is not one of < <= > >= == !=", text, op);
        return -EINVAL;
    }
    char *end = NULL;
    double value = strtod(num, &end);
    if (!end || *end || end == num || !isfinite(value)) {
        snprintf(why, size, "'%.60s': '%.40s' is not a number", text, num);
        return -EINVAL;
    }
    if (strcmp(sev, "warning") == 0)
        out->severity = COL_SEV_WARNING;
    else if (strcmp(sev, "critical") == 0)
        out->severity = COL_SEV_CRITICAL;
    else {
        snprintf(why, size, "'%.60s': severity '%s' is not warning or critical", text, sev);
        return -EINVAL;
    }
    size_t len = strlen(name); /* <= BP_METRIC_NAME_MAX: checked above */
    memcpy(out->metric, name, len + 1);
    memcpy(out->check, "metric:", 7);
    memcpy(out->check + 7, name, len + 1);
    out->op = (enum col_op)k;
    out->value = value;
    return 0;
}

int col_metric_rules_parse(const char *text, struct col_metric_rule *rules, int *n, int max,
                           char *why, size_t size)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", text);
    char *save = NULL;
    for (char *one = strtok_r(buf, ",", &save); one; one = strtok_r(NULL, ",", &save)) {
        if (*n >= max) {
            snprintf(why, size, "more than %d metric rules for one bot", max);
            return -EINVAL;
        }
        if (col_metric_rule_parse(one, &rules[*n], why, size) != 0)
            return -EINVAL;
        (*n)++;
    }
    return 0;
}
