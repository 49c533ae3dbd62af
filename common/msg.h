/* SPDX-License-Identifier: MIT */
/* The v1 wire messages: decode and validate what arrives, encode what we send.
 * The contract is written down in proto/ (README, topics, one JSON Schema per type); this
 * codec enforces exactly those rules, and the golden examples in proto/examples/ test it. */
#ifndef BP_MSG_H
#define BP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum bp_msg_type {
    BP_MSG_AGENT_STATE = 0, /* agents/{agent}/state, retained, also the Last Will */
    BP_MSG_HEARTBEAT,       /* agents/{agent}/bots/{bot}/heartbeat */
    BP_MSG_STATS,           /* agents/{agent}/bots/{bot}/stats */
    BP_MSG_TRADE,           /* agents/{agent}/bots/{bot}/trades */
    BP_MSG_COMMAND,         /* agents/{agent}/commands: collector → agent, signed */
    BP_MSG_COMMAND_RESULT,  /* agents/{agent}/results: agent → collector */
    BP_MSG_EVENT,           /* agents/{agent}/bots/{bot}/events (added compatibly to v1) */
    BP_MSG_BATCH,           /* agents/{agent}/batch: many bots' heartbeats and stats (batch.h) */
    BP_MSG_TYPE_COUNT
};

/* Stable wire name of a type ("agent_state", "heartbeat", "stats", "trade", "event"). */
const char *bp_msg_type_name(enum bp_msg_type type);

/* Fields every agent message carries (a command, sent by the collector, has no boot/seq). */
struct bp_msg_header {
    int v; /* protocol version, == BP_PROTO_VERSION */
    enum bp_msg_type type;
    char agent[BP_ID_MAX + 1];
    char bot[BP_ID_MAX + 1];    /* "" for agent-level messages */
    char boot[BP_BOOT_MAX + 1]; /* changes each time the agent process starts */
    int64_t seq;                /* per boot, starts at 1, +1 per message the agent sends */
    int64_t ts;                 /* sender's wall clock, Unix ms */
};

struct bp_bot_info {
    char id[BP_ID_MAX + 1];
    char account[BP_ID_MAX + 1];  /* "" when not set */
    char exchange[BP_ID_MAX + 1]; /* "" when not set */
};

struct bp_agent_state {
    bool online;
    char version[BP_TEXT_MAX + 1];
    char host[BP_TEXT_MAX + 1];
    int64_t heartbeat_ms; /* the agent's heartbeat interval */
    int nbots;
    struct bp_bot_info bots[BP_AGENT_MAX_BOTS];
};

struct bp_proc_info {
    bool alive;
    int64_t pid;      /* 0 when not alive */
    int64_t uptime_s; /* 0 when not alive */
    int64_t start_ts; /* process start, Unix ms; 0 when not alive */
    /* Optional (added compatibly to v1): processes the agent found for the bot after another
     * one (a new pid or start time) since the agent started; on the wire only when the agent
     * watches a process for the bot. */
    int64_t restarts;
    bool has_restarts;
};

/* Optional evidence objects of a heartbeat (v1, added compatibly: see proto/README.md).
 * Each is on the wire only when its has_* flag is set; counts are since the agent started. */
struct bp_hb_log {
    int64_t last_line_ts; /* Unix ms when the agent read the newest line; 0 = none yet */
    int64_t lines, trades, errors, warnings; /* lines read and lines matching each pattern */
    /* Optional (added compatibly to v1): on the wire only when the pattern is configured. */
    int64_t reconnects, rate_limits, timeouts;
    bool has_reconnects, has_rate_limits, has_timeouts;
};

struct bp_hb_file {
    bool found;         /* the heartbeat file exists and could be read */
    int64_t mtime_ts;   /* its modification time, Unix ms; 0 when not found */
    int64_t content_ts; /* the Unix timestamp written in it (s or ms on the wire: ms); 0 = none */
    int64_t age_ms;     /* now - (content_ts or else mtime_ts), >= 0; 0 when not found */
};

struct bp_hb_probe {
    int64_t last_trade_ts;       /* last trade time the probe printed, Unix ms; 0 = none yet */
    int64_t ok_ts;               /* when the probe last succeeded, Unix ms; 0 = never */
    int64_t failures;            /* failed runs since start (exit != 0, timeout, bad output) */
    char error[BP_TEXT_MAX + 1]; /* the last failure; "" when the last run succeeded */
};

/* What the bot itself told its agent through notify (tick, market, exposure, api,
 * maintenance). Times are Unix ms on the agent's clock; 0 = never reported. */
struct bp_hb_signals {
    int64_t tick_ts;            /* the strategy loop last evaluated */
    int64_t market_ts;          /* time of the newest market data the bot has */
    int64_t positions, orders;  /* open positions, resting orders; -1 = not reported */
    int64_t api_calls;          /* exchange API calls in the agent's window (the last 20) */
    int64_t api_errors;         /* of which failed */
    int64_t api_latency_ms_max; /* slowest call in the window */
    int64_t maintenance_until;  /* maintenance declared until then; 0 = none */
    char maintenance_reason[BP_TEXT_MAX + 1]; /* "" when not given */
};

struct bp_heartbeat {
    int64_t interval_ms; /* when the next heartbeat is due, 100..3600000 */
    struct bp_proc_info proc;
    int64_t last_trade_ts; /* Unix ms of the newest trade the agent knows; 0 = none yet */
    bool has_log, has_hb_file, has_probe, has_signals, has_metrics;
    struct bp_hb_log log;
    struct bp_hb_file hb_file;
    struct bp_hb_probe probe;
    struct bp_hb_signals signals;
    int nmetrics;
    struct bp_metric metrics[BP_METRICS_MAX]; /* the newest value of each, unique names */
};

struct bp_stats {
    double proc_cpu_pct;  /* 0..(100 * cores); -1 = unknown */
    int64_t proc_rss_kb;  /* -1 = unknown */
    double host_cpu_pct;  /* 0..100 */
    double host_mem_pct;  /* 0..100 */
    double host_disk_pct; /* 0..100, the fullest watched mount */
    double host_load1;    /* >= 0 */
    /* Optional (added compatibly to v1): on the wire only when their has_* flag is set. */
    int64_t proc_threads; /* proc.threads, >= 1 */
    int64_t proc_fds;     /* proc.fds: open file descriptors, >= 0 */
    double host_swap_pct; /* host.swap_pct, 0..100 (0 on a host without swap) */
    bool has_proc_threads, has_proc_fds, has_host_swap;
};

struct bp_trade {
    char id[BP_TEXT_MAX + 1];      /* the bot's or exchange's trade id; "" when not given */
    int64_t trade_ts;              /* when the trade happened, Unix ms */
    char symbol[BP_SHORT_MAX + 1]; /* "" when not given */
    char side[BP_SHORT_MAX + 1];   /* "buy", "sell" or "" */
};

/* A signed, expiring request to run one action for one bot (docs/recovery.md). hdr.agent,
 * hdr.bot and hdr.ts (when signed, Unix ms) are part of it; hdr.boot and hdr.seq are unused. */
struct bp_command {
    char action[BP_ACTION_MAX + 1]; /* "reconnect", "restart", "hard_restart", "pre_restart" */
    char nonce[BP_NONCE_MAX + 1];   /* unique per command: the agent refuses a repeat */
    int64_t expires;                /* Unix ms; the agent refuses it after this (plus skew) */
    char sig[BP_SIG_HEX + 1];       /* Ed25519 over bp_sign_command_bytes(), hex */
};

/* What the agent did with a command. hdr.bot is "" when the command could not be read. */
struct bp_command_result {
    char nonce[BP_NONCE_MAX + 1];   /* the command's; "" when it could not be read */
    char action[BP_ACTION_MAX + 1]; /* the command's; "" when it could not be read */
    char outcome[16];               /* "ok", "failed", "refused" or "timeout" */
    int64_t exit_code;              /* the command line's exit status; -1 = none (not run) */
    int64_t duration_ms;
    char output[BP_OUTPUT_MAX + 1]; /* last lines of stdout+stderr, UTF-8, \n and \t allowed */
    char reason[BP_TEXT_MAX + 1];   /* why it was refused or failed; "" when ok */
};

/* A free-form event the bot reported (QoS 1: not lost while the broker is away). */
struct bp_event {
    int64_t event_ts;                 /* when it happened, Unix ms */
    char text[BP_EVENT_TEXT_MAX + 1]; /* 1..256 bytes of UTF-8 without control characters */
};

struct bp_msg {
    struct bp_msg_header hdr;
    union {
        struct bp_agent_state agent_state;
        struct bp_heartbeat heartbeat;
        struct bp_stats stats;
        struct bp_trade trade;
        struct bp_command command;
        struct bp_command_result result;
        struct bp_event event;
    } u;
};

/* Decodes and validates one payload of len bytes (not NUL-terminated). On success fills out and
 * returns 0; otherwise returns -EINVAL (or -E2BIG for BP_MSG_ERR_TOO_LARGE) and fills err.
 * Unknown fields, wrong types, missing required fields and out-of-range values are rejected. */
int bp_msg_decode(const void *payload, size_t len, struct bp_msg *out, struct bp_msg_error *err);

/* Encodes m as compact JSON, malloc'd and NUL-terminated (caller frees). NULL on ENOMEM. */
char *bp_msg_encode(const struct bp_msg *m);

/* ---- batch items (used by batch.h) ------------------------------------------------------ */

struct cJSON;
/* Decodes one item of a batch: an object with "type" (heartbeat or stats), "bot" and that
 * type's own fields, without an envelope. The result is a whole message under the batch's
 * header hdr (its agent, boot, seq and ts), with the item's type and bot. 0 or -EINVAL. */
int bp_msg_decode_body(const struct cJSON *obj, const struct bp_msg_header *hdr, struct bp_msg *out,
                       struct bp_msg_error *err);
/* Encodes a heartbeat's or stats' item for a batch (type, bot, its own fields) as a new cJSON
 * object (caller deletes); NULL on ENOMEM or for a type a batch cannot carry. */
struct cJSON *bp_msg_encode_body(const struct bp_msg *m);

/* ---- topics ---------------------------------------------------------------------------- */

/* Where an agent message was published, parsed from "{root}/agents/{agent}/...". */
struct bp_topic {
    enum bp_msg_type type;
    char agent[BP_ID_MAX + 1];
    char bot[BP_ID_MAX + 1];
};

/* Parses an agent-side topic under root (e.g. "botpulse/v1"): state, results, commands or a
 * bot topic. 0, or -EINVAL if it is not one of them or an id in it is invalid. */
int bp_topic_parse(const char *root, const char *topic, struct bp_topic *out);

/* Checks that a decoded message agrees with the topic it came on (agent, bot, type).
 * 0 or -EINVAL with err filled (BP_MSG_ERR_TOPIC). This is what stops agent A from
 * speaking for agent B even where the broker's ACL is missing. */
int bp_msg_check_topic(const struct bp_msg *m, const struct bp_topic *t, struct bp_msg_error *err);

/* Formats the topic for an agent message into buf (bot is ignored for agent-level types:
 * agent_state, command, command_result): 0, -EINVAL, or -ENAMETOOLONG. */
int bp_topic_format(char *buf, size_t size, const char *root, enum bp_msg_type type,
                    const char *agent, const char *bot);

/* True for the messages that live under agents/{agent}/bots/{bot}/. */
bool bp_msg_type_is_bot_level(enum bp_msg_type type);

#endif
