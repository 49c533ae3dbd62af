/* SPDX-License-Identifier: MIT */
/* One write for PostgreSQL, as the collector builds it: its kind (which table, insert or
 * upsert) and its values, self-contained so it can wait in the store's spool; and the builders
 * of the ops made from what was received or sent. */
#ifndef COL_STORE_OP_H
#define COL_STORE_OP_H

#include "msg.h"
#include "silences.h"
#include "snapshot.h"

#include <stdbool.h>
#include <stdint.h>

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
    /* The shard of the bot or agent it is about: with several collectors only that shard's
     * owner writes it (outbox.h). Unused for TRADE, COMMAND_RESULT, SILENCE and INTENT, which
     * every collector writes. */
    int shard;
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
            int64_t restarts; /* its agent's proc.restarts count; -1: none */
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

/* The op that records a signed command (its commands row), with the reason it was sent. */
void col_store_op_command(struct col_store_op *op, const struct bp_msg *cmd, const char *reason);
/* The op that records an agent's command_result received at recv_wall (Unix ms): the tail of
 * its output, cut at a UTF-8 boundary. */
void col_store_op_result(struct col_store_op *op, const struct bp_msg *m, int64_t recv_wall);
/* The op that upserts sl's silences row (removed_at: Unix ms, 0 = not removed). */
void col_store_op_silence(struct col_store_op *op, const struct col_silence *sl, int64_t removed_at,
                          int64_t now_wall);

/* Guarantees every string in op is terminated (and its enums in range), whatever a caller
 * passed: the spool's copy is read on another thread. */
void col_store_op_terminate(struct col_store_op *op);

#endif
