/* SPDX-License-Identifier: MIT */
/* The recovery's hands: signs each command with the collector's Ed25519 key (a random nonce,
 * an expiry) and hands it to its sender, which publishes it to {root}/agents/{agent}/commands
 * and stores it (the engine's says both through the outbox). Counts what was sent and what the
 * agents answered. Runs on the rules thread; the engine wires it into recovery and into an
 * operator's restarts (manual.h). */
#ifndef COL_COMMANDER_H
#define COL_COMMANDER_H

#include "msg.h"
#include "recovery.h"

#include <stdint.h>

struct col_commander;

struct col_commander_opts {
    const char *key_file; /* the hex Ed25519 secret key ([recovery] signing_key_file) */
    int64_t ttl_ms;       /* a command expires this long after it is signed */
    /* Hands a signed command over; reason goes into its row. 0 or -errno (-ENOTCONN: no
     * broker), and then the command counts as not sent. */
    int (*send)(void *ctx, const struct bp_msg *cmd, const char *reason);
    void *ctx;
};

/* Loads opts->key_file (logged on failure); opts is copied, its strings borrowed. 0 or
 * -errno. */
int col_commander_new(const struct col_commander_opts *opts, struct col_commander **out);
void col_commander_free(struct col_commander *c);
/* Signs action for bot to agent now and sends it (for recovery, or an operator's restart),
 * with reason. 0 with the nonce, or -errno from signing or the sender. */
int col_commander_send(struct col_commander *c, const char *agent, const char *bot,
                       enum col_rec_action action, const char *reason,
                       char nonce[BP_NONCE_MAX + 1]);
/* Counts a result the agent reported for an action (names as on the wire; unknown ones are
 * not counted), and copies the counts. */
void col_commander_count_result(struct col_commander *c, const char *action, const char *outcome);
void col_commander_counts(const struct col_commander *c, struct col_command_counts *out);

#endif
