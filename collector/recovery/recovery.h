/* SPDX-License-Identifier: MIT */
/* The recovery policy: when a bot's status calls for it, walk a ladder of actions (a soft
 * action, restart, hard restart) under budgets (attempts per window per bot, a least interval
 * between attempts, a fleet-wide rate, no restarts into an exchange-wide outage), watch each
 * attempt (recovered only with a new process, or healthy again, within a deadline; a bot that
 * dies again within the flap window escalates), then give up with a manual-intervention
 * alert. Pure logic on a caller's clock: commands and alerts leave through callbacks, so the
 * unit tests drive it with a fake clock and no broker. Owned by the rules thread. */
#ifndef COL_RECOVERY_H
#define COL_RECOVERY_H

#include "msg.h"
#include "rules.h"

#include <stdbool.h>
#include <stdint.h>

enum col_rec_action {
    COL_REC_RECONNECT = 0, /* soft: the bot reconnects (a signal, an admin call) */
    COL_REC_RESTART,
    COL_REC_HARD_RESTART, /* kill, then start */
    COL_REC_PRE_RESTART,  /* before each restart, e.g. cancel resting orders */
    COL_REC_NACTIONS
};

#define COL_REC_LADDER_MAX 8
/* A command that was not ours to send (-EPERM: another collector acts for the bot's shard) is
 * tried again this soon, so the ladder goes on at once if the shard becomes ours. */
#define COL_REC_NOT_OURS_RETRY_MS 2000

/* Commands sent and results received since the collector started, by action and outcome. */
enum col_rec_outcome {
    COL_OUT_OK = 0,
    COL_OUT_FAILED,
    COL_OUT_REFUSED,
    COL_OUT_TIMEOUT,
    COL_OUT_COUNT
};
struct col_command_counts {
    uint64_t sent[COL_REC_NACTIONS];
    uint64_t results[COL_REC_NACTIONS][COL_OUT_COUNT];
};
const char *col_rec_outcome_name(enum col_rec_outcome o);

/* One bot's policy: [recovery] with its [bot NAME] overrides applied. */
struct col_recovery_policy {
    bool enabled;          /* recovery = on (and a signing key is configured) */
    uint32_t trigger_mask; /* 1 << enum col_status that start recovery */
    enum col_rec_action ladder[COL_REC_LADDER_MAX];
    int nladder;
    bool pre_restart;        /* run pre_restart before restart/hard_restart; failure stops */
    int max_attempts;        /* per window: at most this many attempts (3) */
    int64_t window_ms;       /* 1 h */
    int64_t min_interval_ms; /* least time between two attempts (5 min) */
    int64_t deadline_ms;     /* an attempt must show a recovered bot within this */
    int64_t flap_window_ms;  /* back, then bad again within this: flapping, escalate */
};

/* Fleet-wide limits. */
struct col_recovery_limits {
    int fleet_max_per_minute; /* attempts across the fleet per minute; 0 = no limit */
    int exchange_max_failing; /* more failing bots than this on one exchange: hold; 0 = none */
};

struct col_recovery_ops {
    /* Sends action for bot to agent; fills nonce (what the result will carry). 0 or -errno:
     * a failed send is not an attempt and is retried after min_interval (-EPERM: the bot is
     * another collector's to restart; retried after COL_REC_NOT_OURS_RETRY_MS). */
    int (*send)(void *ctx, const char *agent, const char *bot, enum col_rec_action action,
                char nonce[BP_NONCE_MAX + 1]);
    /* Opens (give up: reason says why) or resolves the bot's manual-intervention alert. */
    void (*manual)(void *ctx, const char *bot, bool open, const char *reason);
    void *ctx;
};

/* What the engine knows about a bot when its status changes. Strings and policy are copied. */
struct col_recovery_input {
    const char *bot, *agent, *exchange;
    enum col_status status;
    bool agent_offline;    /* down because the agent is gone: nothing could run a command */
    bool intended_stopped; /* stopped on purpose: never recovered */
    bool paused;           /* an operator's silence covers it: no attempt while it lasts */
    int64_t pid;           /* the process the newest heartbeat saw (0: none) */
    const struct col_recovery_policy *policy; /* copied */
};

/* A bot's recovery state, for tests and the HTTP API. */
struct col_recovery_view {
    int step;     /* next rung of the ladder */
    int attempts; /* within the window */
    bool pending; /* an attempt (or its pre_restart) awaits its outcome */
    enum col_rec_action pending_action;
    bool gave_up;      /* manual intervention alert open */
    bool held;         /* waiting: paused, exchange outage, fleet budget or min interval */
    int64_t recovered; /* recoveries so far */
};

struct col_recovery;

const char *col_rec_action_name(enum col_rec_action a);
int col_rec_action_parse(const char *name, enum col_rec_action *out);
/* Parses "restart,hard_restart" into a ladder; 0 or -EINVAL (empty, unknown, pre_restart). */
int col_recovery_parse_ladder(const char *text, struct col_recovery_policy *p);
/* Parses "stopped,down" into a trigger mask; 0 or -EINVAL. */
int col_recovery_parse_triggers(const char *text, uint32_t *mask);

/* ops is copied. NULL on ENOMEM. */
struct col_recovery *col_recovery_new(const struct col_recovery_limits *lim,
                                      const struct col_recovery_ops *ops);
void col_recovery_free(struct col_recovery *r);

/* The bot's status (or its evidence) changed: may send the next attempt, or notice one that
 * worked. 0 or -ENOMEM. */
int col_recovery_on_status(struct col_recovery *r, const struct col_recovery_input *in,
                           int64_t now_mono);
/* The agent's result for a command (outcome: ok, failed, refused, timeout). Unknown nonces
 * are ignored. */
void col_recovery_on_result(struct col_recovery *r, const char *bot, const char *nonce,
                            const char *outcome, int64_t now_mono);
/* No attempt starts before until_mono (our reconnect grace; INT64_MAX while blind). Replaces
 * the previous pause. */
void col_recovery_pause_until(struct col_recovery *r, int64_t until_mono);
/* Does what is due at now_mono: deadlines of attempts, held attempts. */
void col_recovery_tick(struct col_recovery *r, int64_t now_mono);
/* The earliest time col_recovery_tick has work; INT64_MAX: none. */
int64_t col_recovery_next_deadline(const struct col_recovery *r);
/* 0 with *out filled, or -ENOENT for a bot recovery has never seen. */
int col_recovery_get(const struct col_recovery *r, const char *bot, struct col_recovery_view *out);

#endif
