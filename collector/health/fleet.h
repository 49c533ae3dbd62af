/* SPDX-License-Identifier: MIT */
/* The fleet as the rules thread sees it: every agent and bot, their evidence and verdicts,
 * and live counts by status overall, per account and per host (kept incrementally, so a
 * summary never scans every bot). Owned by one thread; no locking. */
#ifndef COL_FLEET_H
#define COL_FLEET_H

#include "alerts.h"
#include "cadence.h"
#include "clockskew.h"
#include "flapping.h"
#include "msg.h"
#include "rules.h"
#include "strmap.h"
#include "timerheap.h"

#include <stdbool.h>
#include <stdint.h>

struct col_bot;

struct col_agent {
    char id[BP_ID_MAX + 1];
    char host[BP_TEXT_MAX + 1];
    char version[BP_TEXT_MAX + 1];
    char boot[BP_BOOT_MAX + 1];
    bool offline;              /* its Last Will, or its own goodbye, said offline */
    bool offline_pending;      /* an offline received during our reconnect grace, held */
    struct col_skew skew;      /* how far its clock is ahead of ours */
    int64_t skew_stored_ms;    /* the offset last written to the agents table */
    int64_t skew_sampled_mono; /* when its last message was taken as a clock sample (0: none) */
    int shard;                 /* its shard (shard.h): its bots' too */
    struct col_bot **bots;
    size_t nbots, cap;
};

struct col_incident;

/* Who decides a bot's intended state: its config, or an operator at run time (intent.h). */
enum col_intent { COL_INTENT_CONFIG = 0, COL_INTENT_RUNNING, COL_INTENT_STOPPED };

struct col_bot {
    char id[BP_ID_MAX + 1];
    const char *account;  /* interned by the fleet (col_fleet_intern): "" when none */
    const char *exchange; /* likewise */
    struct col_agent *agent;
    const struct col_rule_limits *limits; /* shared by every bot with the same (fleet-owned) */
    enum col_intent intent;               /* an operator's intended state, over the config's */
    struct col_evidence ev;
    int64_t last_heartbeat_wall; /* Unix ms, our clock at receipt; 0 = never */
    int64_t last_trade_wall;     /* Unix ms, the trade's own time; 0 = never */
    /* current verdict */
    enum col_status status;
    enum col_severity severity; /* of the verdict: what its alert carries */
    const char *check;
    char reason[COL_REASON_MAX + 1];
    int64_t since_wall;
    int64_t since_mono;
    struct col_incident *incident; /* the correlated incident it belongs to, or NULL */
    bool incident_bad;             /* counted as failing in that incident */
    struct col_alerts alerts;      /* open, one per failing check */
    struct col_flap flap;
    struct col_cadence *cadence; /* learned trading cadence, only for bots that ask for it */
    int64_t last_sample_mono;
    int64_t said_wall;     /* when its status message last went out (Unix ms; 0 = never) */
    struct bp_timer timer; /* next evaluation deadline */
    /* Its retained status waits for room in the outbox (the engine's list, in order). */
    bool status_waiting;
    struct col_bot *status_next;
};

/* Counts of bots by status within one group (the whole fleet, one account, one host). */
struct col_group {
    int64_t total;
    int64_t by_status[COL_ST_COUNT];
};

struct col_fleet {
    struct col_strmap *bots;     /* id → struct col_bot */
    struct col_bot **order;      /* every bot in the order it came; bots are never removed, so */
    size_t norder, order_cap;    /* an index into it is a stable cursor (col_query pages) */
    struct col_strmap *strings;  /* interned labels: text → its one copy */
    struct col_strmap *limits;   /* interned rule limits: their bytes' hash → a chain of them */
    struct col_strmap *agents;   /* id → struct col_agent */
    struct col_strmap *accounts; /* account or "-" → struct col_group */
    struct col_strmap *hosts;    /* host or "-" → struct col_group */
    struct col_group all;
    int shards;     /* shards the fleet is split into (1: one collector owns it all) */
    int shard_none; /* the shard of a bot whose agent is not known yet */
};

/* An empty fleet in one shard. 0 or -ENOMEM. */
int col_fleet_init(struct col_fleet *f);
void col_fleet_cleanup(struct col_fleet *f);
/* Splits the fleet into n shards (1..COL_SHARDS_MAX), placing every agent known. */
void col_fleet_set_shards(struct col_fleet *f, int n);
/* The shard of a bot: its agent's, or the fleet's shard_none while no agent speaks for it. */
int col_bot_shard(const struct col_fleet *f, const struct col_bot *b);

struct col_bot *col_fleet_bot(struct col_fleet *f, const char *id);
/* Creates an unknown bot first seen at now_mono; counted in the groups. NULL on ENOMEM. */
struct col_bot *col_fleet_bot_add(struct col_fleet *f, const char *id, int64_t now_mono);
struct col_agent *col_fleet_agent(struct col_fleet *f, const char *id);
struct col_agent *col_fleet_agent_add(struct col_fleet *f, const char *id);
/* Makes agent the bot's agent (a bot moved to another host follows). 0 or -ENOMEM. */
int col_fleet_attach(struct col_fleet *f, struct col_agent *a, struct col_bot *b);

/* The group of label ("" counts as "-") in a map of label → struct col_group, made empty
 * when new; NULL on ENOMEM. */
struct col_group *col_group_of(struct col_strmap *m, const char *label);
/* Moves the bot between status counts; call before changing b->status. */
void col_fleet_count_status(struct col_fleet *f, struct col_bot *b, enum col_status to);
/* The fleet's one copy of s (labels: accounts, exchanges), alive as long as the fleet; NULL
 * on ENOMEM. Thousands of bots share a handful of labels. */
const char *col_fleet_intern(struct col_fleet *f, const char *s);
/* The fleet's one copy of limits equal to *lim (byte for byte: zero it before filling it);
 * NULL on ENOMEM. Most bots share the [rules] defaults: a pointer, not 224 bytes each. */
const struct col_rule_limits *col_fleet_limits(struct col_fleet *f,
                                               const struct col_rule_limits *lim);
/* Changes a bot's account, moving its count between account groups. */
void col_fleet_set_account(struct col_fleet *f, struct col_bot *b, const char *account);
/* Changes a bot's exchange label. */
void col_fleet_set_exchange(struct col_fleet *f, struct col_bot *b, const char *exchange);
/* Changes an agent's host, moving its bots' counts between host groups. */
void col_fleet_set_host(struct col_fleet *f, struct col_agent *a, const char *host);
/* The host label of a bot: its agent's host, or "". */
const char *col_bot_host(const struct col_bot *b);

#endif
