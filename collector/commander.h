/* SPDX-License-Identifier: MIT */
/* The recovery's hands: signs commands with the collector's Ed25519 key and publishes them to
 * {root}/agents/{agent}/commands (QoS 1), stores each command and each agent's result in
 * PostgreSQL. Runs on the rules thread; its ops send commands (the engine keeps the
 * manual-intervention alert, check "recovery", among the bot's alerts). */
#ifndef COL_COMMANDER_H
#define COL_COMMANDER_H

#include "fleet.h"
#include "ingest.h"
#include "mqtt.h"
#include "recovery.h"
#include "settings.h"
#include "store.h"

struct col_commander;

/* Loads cfg->rec_signing_key_file. cfg, mqtt (may be NULL), store (may be NULL) and fleet are
 * borrowed. 0, or -errno (logged). */
int col_commander_new(const struct col_settings *cfg, struct bp_mqtt *mqtt, struct col_store *store,
                      struct col_fleet *fleet, struct col_commander **out);
void col_commander_free(struct col_commander *c);
/* Its command sender (.send, .ctx) for col_recovery_new; .manual is NULL (the engine's). */
struct col_recovery_ops col_commander_ops(struct col_commander *c);
/* Sends action for bot to agent now, outside the recovery policy (an operator's restart):
 * signed, published and stored with reason like every command. 0 with the nonce, or -errno
 * (-ENOTCONN: no broker). */
int col_commander_send(struct col_commander *c, const char *agent, const char *bot,
                       enum col_rec_action action, const char *reason,
                       char nonce[BP_NONCE_MAX + 1]);
/* Counts a result the agent reported for an action (names as on the wire; unknown ones are
 * not counted), and copies the counts. */
void col_commander_count_result(struct col_commander *c, const char *action, const char *outcome);
void col_commander_counts(const struct col_commander *c, struct col_command_counts *out);
/* Stores an agent's command_result (an accepted message) through store (may be NULL); needs
 * no commander, so results are kept even where this collector sends no commands. */
void col_commander_store_result(struct col_store *store, const struct col_event *ev);

#endif
