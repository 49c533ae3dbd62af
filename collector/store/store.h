/* SPDX-License-Identifier: MIT */
/* Persistence to PostgreSQL: versioned migrations at start, then one writer thread that
 * takes write operations from a bounded spool and writes them in batched transactions.
 * While the database is away, operations wait in the spool and are written once it is
 * back; anything that does not fit is dropped and counted. Every write is idempotent:
 * re-sending a batch after an ambiguous failure (COMMIT sent, reply lost) stores nothing twice. */
#ifndef COL_STORE_H
#define COL_STORE_H

#include "msg.h"
#include "silences.h"
#include "snapshot.h"

#include <stdbool.h>
#include <stdint.h>

struct col_store;

enum col_store_op_kind {
    COL_OP_AGENT,          /* upsert agents row */
    COL_OP_BOT,            /* upsert bots row (current state) */
    COL_OP_TRANSITION,     /* insert a status_transitions row */
    COL_OP_TRADE,          /* insert a trades row, exactly once per (agent, boot, seq) */
    COL_OP_ALERT,          /* insert an alert_events row */
    COL_OP_SAMPLE,         /* insert a bot_samples row (stats, at most one per bot per minute) */
    COL_OP_COMMAND,        /* insert a commands row, once per nonce */
    COL_OP_COMMAND_RESULT, /* insert a command_results row, once per (agent, boot, seq) */
    COL_OP_SILENCE,        /* upsert a silences row (made, or removed by hand) */
    COL_OP_INTENT,         /* upsert a bot_intents row (an operator's intended state) */
};
#define COL_OP_LAST COL_OP_INTENT
/* The tail of a command's output kept in PostgreSQL (the full ≤ 2 KiB is on MQTT): kept short
 * so the result does not grow every op in the spool. */
#define COL_RESULT_OUTPUT_MAX 256

/* One write, self-contained (fixed-size copies, no pointers) so it can wait in the spool. */
struct col_store_op {
    enum col_store_op_kind kind;
    /* Unique per operation for TRANSITION and ALERT: "<collector run id>-<counter>";
     * the unique key that makes re-sent batches idempotent. */
    char event_id[48];
    int64_t ts; /* Unix ms: when it happened (for TRADE, when the collector received it) */
    union {
        struct {
            char agent[BP_ID_MAX + 1];
            char host[BP_TEXT_MAX + 1];
            char version[BP_TEXT_MAX + 1];
            char boot[BP_BOOT_MAX + 1];
            bool online;
            int64_t clock_offset_ms; /* its clock ahead of ours (negative: behind) */
        } agent;
        struct col_bot_snapshot bot; /* ts: when the row was made */
        struct {
            char bot[BP_ID_MAX + 1];
            char from_status[COL_STATUS_MAX];
            char to_status[COL_STATUS_MAX];
            char check[COL_CHECK_MAX];
            char reason[BP_TEXT_MAX + 1];
        } transition;
        struct {
            char agent[BP_ID_MAX + 1];
            char boot[BP_BOOT_MAX + 1];
            int64_t seq;
            char bot[BP_ID_MAX + 1];
            struct bp_trade trade;
        } trade;
        struct {
            char bot[BP_ID_MAX + 1];
            char check[COL_CHECK_MAX];
            char event[16];    /* "opened", "escalated", "resolved" */
            char severity[16]; /* "warning", "critical" */
            char status[COL_STATUS_MAX];
            char reason[BP_TEXT_MAX + 1];
            char alert_id[48]; /* the event_id of the "opened" event of this alert */
        } alert;
        struct {
            char bot[BP_ID_MAX + 1];
            struct bp_stats stats;
        } sample;
        struct { /* ts: when it was signed */
            char nonce[BP_NONCE_MAX + 1];
            char agent[BP_ID_MAX + 1];
            char bot[BP_ID_MAX + 1];
            char action[BP_ACTION_MAX + 1];
            int64_t expires;
            char reason[BP_TEXT_MAX + 1];
        } command;
        struct { /* ts: when the collector received it */
            char agent[BP_ID_MAX + 1];
            char boot[BP_BOOT_MAX + 1];
            int64_t seq;
            int64_t sent_ts; /* the agent's ts */
            char nonce[BP_NONCE_MAX + 1];
            char bot[BP_ID_MAX + 1];
            char action[BP_ACTION_MAX + 1];
            char outcome[16];
            int64_t exit_code, duration_ms;
            char output[COL_RESULT_OUTPUT_MAX + 1];
            char reason[BP_TEXT_MAX + 1];
        } result;
        struct {
            struct col_silence silence; /* as the rules thread holds it (ends_mono unused) */
            int64_t removed_at;         /* Unix ms, 0 = not removed; ts is when the op was made */
        } silence;
        struct {
            char bot[BP_ID_MAX + 1];
            char intended[8]; /* "running" or "stopped"; set_at is ts */
        } intent;
    } u;
};

/* The op that upserts sl's silences row (removed_at: Unix ms, 0 = not removed). */
void col_store_op_silence(struct col_store_op *op, const struct col_silence *sl, int64_t removed_at,
                          int64_t now_wall);

struct col_store_opts {
    const char *conninfo; /* libpq connection string */
    size_t spool_max;     /* operations held while the database is slow or away */
    int batch_max;        /* operations per transaction, e.g. 1000 */
    int retry_ms;         /* wait between reconnect attempts, e.g. 1000 */
};

struct col_store_stats {
    uint64_t submitted;
    uint64_t written;  /* operations committed */
    uint64_t dropped;  /* refused because the spool was full */
    uint64_t batches;  /* transactions committed */
    uint64_t failures; /* failed transactions (retried) */
    uint64_t spooled;  /* operations waiting now */
    bool db_up;        /* the last attempt to talk to the database succeeded */
};

/* Connects once and applies every migration in deploy/sql/ that is not yet applied (each in
 * its own transaction, recorded in schema_migrations; concurrent collectors serialise on an
 * advisory lock). Retries until timeout_ms (monotonic) passes. 0 or -errno, logged. */
int col_store_migrate(const char *conninfo, int64_t timeout_ms);

/* An alert whose newest event is not "resolved": left open by an earlier run. */
struct col_open_alert {
    const char *alert_id, *bot, *check, *severity;
    int64_t opened_at; /* Unix ms */
};

/* Reads every open alert (one short connection, at start-up, after col_store_migrate) and
 * calls cb for each. Recovery's manual-intervention alerts (check "recovery") are left out: a
 * bot holds one health alert, and recovery starts afresh in a new run. The count, or -errno
 * (logged). */
int col_store_load_open_alerts(const char *conninfo,
                               void (*cb)(void *ctx, const struct col_open_alert *a), void *ctx);

/* Reads every silence still in force (not removed, ends_at in the future; one short
 * connection, at start-up, after col_store_migrate) and calls cb for each (ends_mono unset). The
 * count, or -errno (logged). */
int col_store_load_silences(const char *conninfo,
                            void (*cb)(void *ctx, const struct col_silence *s), void *ctx);

/* Reads every operator's intended state (one short connection, at start-up, after
 * col_store_migrate) and calls cb with the bot and "running" or "stopped". The count, or
 * -errno (logged). */
int col_store_load_intents(const char *conninfo,
                           void (*cb)(void *ctx, const char *bot, const char *intended), void *ctx);

/* Creates the store; nothing is connected until col_store_start. 0 or -errno. */
int col_store_new(const struct col_store_opts *opts, struct col_store **out);
/* Starts the writer thread. 0 or -errno. */
int col_store_start(struct col_store *s);
/* Copies op into the spool; never blocks on the database. -ENOBUFS when the spool is full
 * (the drop is counted and logged, rate-limited). */
int col_store_submit(struct col_store *s, const struct col_store_op *op);
void col_store_get_stats(struct col_store *s, struct col_store_stats *out);
/* Stops the writer after trying to write what is spooled for up to flush_timeout_ms. */
void col_store_stop(struct col_store *s, int64_t flush_timeout_ms);
void col_store_free(struct col_store *s);

#endif
