/* SPDX-License-Identifier: MIT */
/* The health rules: from one bot's evidence and the time now, its status word, the check that
 * decided it, a reason, and when to look again. Pure functions of their inputs (time is a
 * parameter), so the tests drive them with a fake clock. */
#ifndef COL_RULES_H
#define COL_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* A bot's rule parameters: [rules], with its [bot NAME] overrides applied. */
struct col_rule_limits {
    int64_t heartbeat_timeout_ms; /* 0: heartbeat_misses x the interval the agent announces */
    int heartbeat_misses;
    int64_t trade_stale_ms;
    int64_t trade_stopped_ms;
    struct col_threshold cpu, mem, disk; /* process and host cpu; host memory; fullest disk */
    int confirm;            /* failing samples in a row before a resource alert */
    int64_t clock_skew_ms;  /* an agent clock further off than this is a warning; 0: off */
    bool intended_stopped;  /* stopped on purpose: its absence raises nothing */
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
};

#define COL_REASON_MAX 128

struct col_verdict {
    enum col_status status;
    enum col_severity severity; /* of the alert this verdict holds open (NONE: none) */
    const char *check; /* "liveness", "process", "trading" or "" (static strings) */
    char reason[COL_REASON_MAX + 1];
    int64_t next_due_mono; /* when the verdict can next change without new evidence;
                              INT64_MAX: only new evidence can change it */
};

/* The heartbeat timeout in force for this evidence. */
int64_t col_rules_heartbeat_timeout(const struct col_evidence *ev,
                                    const struct col_rule_limits *lim);

/* Evaluates ev at now_mono. Order: agent offline → down; heartbeat missing past the timeout
 * → down; process not alive → stopped; no trade past trade_stopped → stopped; past
 * trade_stale → stale; a resource past its level → degraded (an alert only after `confirm`
 * failing samples in a row); otherwise healthy (unknown while the first heartbeat is
 * awaited). A bot intended stopped is "stopped" without alert when absent, "idle" when alive
 * and not trading, and a critical "degraded" (check "intent") when it trades. */
void col_rules_evaluate(const struct col_evidence *ev, const struct col_rule_limits *lim,
                        int64_t now_mono, struct col_verdict *out);

/* The static name of a check (liveness, process, trading, resources, clock, intent), or ""
 * for any other. */
const char *col_check_static(const char *name);

/* Formats a duration in ms as "2h5m", "30m", "45s", "800ms" into buf. */
void col_format_duration(int64_t ms, char *buf, size_t size);

#endif
