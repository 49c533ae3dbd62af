/* SPDX-License-Identifier: MIT */
/* The health rules: from one bot's evidence and the time now, its status word, the check that
 * decided it, a reason, and when to look again. Pure functions of their inputs (time is a
 * parameter), so the tests drive them with a fake clock. */
#ifndef COL_RULES_H
#define COL_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "restarts.h"

enum col_status {
    COL_ST_UNKNOWN = 0, /* never seen, or no evidence yet */
    COL_ST_HEALTHY,
    COL_ST_IDLE,
    COL_ST_DEGRADED,
    COL_ST_STALE, /* alive, but no trade for longer than trade_stale */
    COL_ST_HUNG,
    COL_ST_STOPPED, /* process not running, or no trade for longer than trade_stopped */
    COL_ST_DOWN,    /* agent gone (Last Will) or heartbeats missing */
    COL_ST_ERROR,
    COL_ST_COUNT
};

enum col_severity { COL_SEV_NONE = 0, COL_SEV_WARNING, COL_SEV_CRITICAL };

/* Stable lower-case names used on the wire and in the database. */
const char *col_status_name(enum col_status s);
const char *col_severity_name(enum col_severity s);
/* The severity an alert for this status carries (NONE: no alert). */
enum col_severity col_status_severity(enum col_status s);

/* Warn and critical levels of one resource, in percent (a level above 100 never trips). */
struct col_threshold {
    double warn, crit;
};

enum col_op { COL_OP_LT = 0, COL_OP_LE, COL_OP_GT, COL_OP_GE, COL_OP_EQ, COL_OP_NE };

#define COL_METRIC_RULES_MAX 16 /* per bot, [rules] ones and its own together */
#define COL_CHECK_MAX 48        /* a check's name: "metric:" and a 32-character metric name fit */
#define COL_STATUS_MAX 16       /* a status word and its NUL */
#define COL_REASON_MAX 128      /* a verdict's reason, in words for people */
/* The most checks one verdict can find failing: the chain's one, a metric rule per metric,
 * api, log_errors, restarts, resources and clock. */
#define COL_FINDINGS_MAX (COL_METRIC_RULES_MAX + 7)

/* A custom-metric rule from the config: "NAME OP NUMBER SEVERITY". */
struct col_metric_rule {
    char metric[BP_METRIC_NAME_MAX + 1];
    enum col_op op;
    double value;
    enum col_severity severity;         /* warning or critical */
    char check[BP_METRIC_NAME_MAX + 8]; /* "metric:NAME", the verdict's check */
};

/* Parses one rule, e.g. "unprotected_positions > 0 critical". 0, or -EINVAL with why. */
int col_metric_rule_parse(const char *text, struct col_metric_rule *out, char *why, size_t size);
/* Parses a comma-separated list of rules, appending to rules[*n] (at most max). 0 or -EINVAL. */
int col_metric_rules_parse(const char *text, struct col_metric_rule *rules, int *n, int max,
                           char *why, size_t size);
const char *col_op_name(enum col_op op);

/* A bot's rule parameters: [rules], with its [bot NAME] overrides applied. */
struct col_rule_limits {
    int64_t heartbeat_timeout_ms; /* 0: heartbeat_misses x the interval the agent announces */
    int heartbeat_misses;
    int64_t trade_stale_ms;
    int64_t trade_stopped_ms;
    struct col_threshold cpu, mem, disk; /* process and host cpu; host memory; fullest disk */
    int confirm;                         /* failing samples in a row before a resource alert */
    int check_confirm;                   /* failing heartbeats in a row before a metric-rule, api or
                                            log_errors alert (<= 1: at once) */
    int64_t clock_skew_ms; /* an agent clock further off than this is a warning; 0: off */
    bool intended_stopped; /* stopped on purpose: its absence raises nothing */
    /* the bot's own signals (heartbeat "signals") */
    int64_t tick_timeout_ms; /* no loop tick for this long: hung */
    bool tick_expected;      /* set per bot: hung even if no tick was ever seen */
    int64_t market_stale_ms; /* market data this old while the loop ticks: degraded */
    int64_t log_silence_ms;  /* a tailed log without a new line this long: hung */
    double cadence_factor;   /* > 0: stale after this many learned gaps (if longer); 0: fixed */
    int cadence_min_samples; /* gaps learned before the cadence is trusted */
    double log_err_warn, log_err_crit; /* error lines per minute in the tailed log */
    double api_err_warn, api_err_crit; /* error % over the agent's window of calls */
    int api_min_calls;                 /* fewer calls in the window: no error-rate verdict */
    int64_t api_latency_warn_ms, api_latency_crit_ms;
    /* process restarts the agent counted within restarts_window: warning, critical (0: never) */
    int restarts_warn, restarts_crit;
    int64_t restarts_window_ms;
    /* custom-metric rules; points into the settings (which outlive every bot) */
    const struct col_metric_rule *metric_rules;
    int nmetric_rules;
};

enum col_level { COL_LEVEL_OK = 0, COL_LEVEL_WARN, COL_LEVEL_CRIT };

/* The resource verdict of one stats sample: the worst level, and a reason naming it. */
enum col_level col_resources_level(const struct col_rule_limits *lim, double proc_cpu,
                                   double host_cpu, double mem, double disk, char *reason,
                                   size_t size);

/* What the rules look at. Every time is on the collector's monotonic clock, taken when the
 * evidence was received, so the bots' and agents' clocks never decide liveness. */
struct col_evidence {
    int64_t first_seen_mono; /* when this collector first heard of the bot */
    bool agent_offline;      /* the agent's Last Will (or its own goodbye) said offline */
    bool has_heartbeat;
    int64_t last_heartbeat_mono;
    int64_t heartbeat_interval_ms;
    bool proc_alive;
    int64_t pid;
    bool has_trade;
    int64_t last_trade_mono; /* when the newest trade happened, mapped to our clock */
    /* resources, from the newest stats sample, and how many samples in a row failed */
    enum col_level res_level;
    int res_streak;
    char res_reason[64];
    /* the agent's clock offset estimate (ahead > 0), when known */
    bool clock_known;
    int64_t clock_ahead_ms;
    /* the bot's own signals, from the newest heartbeat that carried them; times mapped to our
     * clock as their age on the agent's clock when it sent the heartbeat */
    bool has_tick;
    int64_t last_tick_mono;
    bool has_market;
    int64_t last_market_mono;
    bool has_exposure; /* the bot reported its positions and orders */
    int64_t positions, orders;
    int64_t api_calls, api_errors, api_latency_ms_max;
    int64_t maintenance_until_mono; /* 0 = none declared */
    int64_t cadence_gap_ms;         /* the bot's normal gap after its last trade; 0 = not learned */
    /* the bot's tailed log (log_file in the agent's config), when it has one */
    bool has_log;
    int64_t last_log_mono;                   /* newest line read, on our clock; 0 = none yet */
    int64_t log_errors;                      /* error lines counted by the agent since it started */
    int64_t log_err_base, log_err_base_mono; /* the count at the start of the rate window */
    bool log_rate_known;
    double log_err_per_min; /* over the last full minute or more */
    /* The newest heartbeat's custom metrics, exactly nmetrics of them on the heap (NULL when
     * none): most bots report none, and 100,000 bots cannot each carry room for 16. */
    int nmetrics;
    struct bp_metric *metrics;
    struct col_restarts restarts; /* the agent's proc.restarts, and the rises we counted */
    /* metric-rule, api and log_errors checks failing in a row, one entry per failing check,
     * counted per heartbeat (col_evidence_count_failures); on the heap, NULL when none fails */
    int nstreaks;
    struct col_check_streak {
        char check[COL_CHECK_MAX];
        int n;
    } * streaks;
};

/* Frees what ev holds on the heap (its metrics and streaks) and leaves it without them. */
void col_evidence_cleanup(struct col_evidence *ev);

/* Moves every time in ev forward by shift_ms (the time the collector could not hear anyone). */
void col_evidence_shift(struct col_evidence *ev, int64_t shift_ms);

/* Copies a heartbeat's signals and metrics into ev: sent_ts is the heartbeat's own ts, recv_mono
 * when we received it (so an agent's skewed clock shifts nothing). A heartbeat without signals
 * (or metrics) leaves those fields as they were. */
/* Copies the heartbeat's log counts into ev (time on the agent's clock, as for signals) and
 * updates the error rate once a minute or more has passed since its window began. */
void col_evidence_apply_log(struct col_evidence *ev, const struct bp_heartbeat *hb, int64_t sent_ts,
                            int64_t recv_mono);
void col_evidence_apply_signals(struct col_evidence *ev, const struct bp_heartbeat *hb,
                                int64_t sent_ts, int64_t recv_mono);
/* Takes a heartbeat's proc.restarts (if it has one) from the agent's boot; returns the
 * restarts it counted (a rise since the last heartbeat). */
int64_t col_evidence_apply_restarts(struct col_evidence *ev, const struct bp_heartbeat *hb,
                                    const char *boot, int64_t recv_mono);
/* After a heartbeat's evidence is in: counts, per metric-rule, api and log_errors check, the
 * heartbeats in a row on which it fails (a passing one starts it again from nothing). */
void col_evidence_count_failures(struct col_evidence *ev, const struct col_rule_limits *lim);

/* One failing check: each holds its own alert, "one alert per (bot, check)". */
struct col_finding {
    const char *check;          /* as col_verdict.check */
    enum col_severity severity; /* NONE: failing, not yet confirmed (resources below confirm) */
    char reason[COL_REASON_MAX + 1];
};

/* The primary chain, in order: the first failing one decides; those before it passed, those
 * after it could not be judged. COL_CHAIN_PASSED: every one passed. A bot never seen trading
 * is healthy until trade_stale, but its trading is not judged before (a restored trading
 * alert stays open). */
enum col_chain {
    COL_CHAIN_LIVENESS = 0,
    COL_CHAIN_PROCESS,
    COL_CHAIN_LOOP,
    COL_CHAIN_LOG,
    COL_CHAIN_MARKET,
    COL_CHAIN_TRADING,
    COL_CHAIN_PASSED
};

struct col_verdict {
    enum col_status status;
    enum col_severity severity; /* of the alert the status's check holds open (NONE: none) */
    const char *check;          /* "liveness", "process", "loop", "log", "market", "trading",
                                   "api", "log_errors", "restarts", "resources", "clock", "intent",
                                   "metric:NAME" or ""; static, or owned by the limits' metric
                                   rules */
    char reason[COL_REASON_MAX + 1];
    int64_t next_due_mono; /* when the verdict can next change without new evidence;
                              INT64_MAX: only new evidence can change it */
    /* Every check failing now, whatever decided the status: the alerts this verdict holds
     * open. A check not listed passed, if judged (col_verdict_judged), so its alert resolves. */
    enum col_chain chain; /* the last chain check judged: the failing one, or the last run */
    bool others_judged;   /* the checks outside the chain ran (the bot reports: not down) */
    bool judged_all;      /* intent or maintenance had the last word: every check judged */
    int nfindings;
    struct col_finding findings[COL_FINDINGS_MAX];
};

/* Whether the verdict judged check (so an open alert for it that has no finding resolves);
 * false for checks the rules do not own (flapping, recovery). */
bool col_verdict_judged(const struct col_verdict *v, const char *check);
/* Whether check is one of the primary chain's (liveness, process, loop, log, market, trading). */
bool col_check_in_chain(const char *check);
/* The verdict's finding for check, or NULL. */
const struct col_finding *col_verdict_finding(const struct col_verdict *v, const char *check);

/* The heartbeat timeout in force for this evidence. */
int64_t col_rules_heartbeat_timeout(const struct col_evidence *ev,
                                    const struct col_rule_limits *lim);

/* Evaluates ev at now_mono. Order: agent offline → down; heartbeat missing past the timeout
 * → down; process not alive → stopped; loop tick older than tick_timeout → hung; market data
 * older than market_stale → degraded ("market"); no trade past trade_stopped → stopped; past
 * trade_stale → stale (a bot whose loop ticks and whose market data is fresh is idle instead,
 * and only stale, a warning, past trade_stopped); then on an otherwise healthy or idle bot the
 * worst of custom-metric rules, exchange API, log errors, restarts within restarts_window and
 * resources → degraded (resources alert only
 * after `confirm` failing samples in a row); otherwise healthy (unknown while the first
 * heartbeat is awaited). Down, stopped and hung are critical, or a warning when the bot
 * reported that it holds no position and no order. A bot intended stopped is "stopped" without
 * alert when absent, "idle" when alive and not trading, and a critical "degraded" (check
 * "intent") when it trades. Last, while a declared maintenance lasts, the verdict keeps its
 * status but carries no alert. */
void col_rules_evaluate(const struct col_evidence *ev, const struct col_rule_limits *lim,
                        int64_t now_mono, struct col_verdict *out);

/* The static name of a check (liveness, process, trading, resources, clock, intent, loop, …),
 * or "" for any other. */
const char *col_check_static(const char *name);

/* Whether name is a check an alert can carry (a static one, or "metric:" and a valid metric
 * name): what a silence may match. */
bool col_check_is_valid(const char *name);

/* Formats a duration in ms as "2h5m", "30m", "45s", "800ms" into buf. */
void col_format_duration(int64_t ms, char *buf, size_t size);

#endif
