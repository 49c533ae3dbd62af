/* SPDX-License-Identifier: MIT */
/* The recovery's hands: signs commands with the collector's Ed25519 key and publishes them to
 * {root}/agents/{agent}/commands (QoS 1), stores each command and each agent's result in
 * PostgreSQL. Runs on the rules thread; the engine wires it into recovery (and keeps the
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

/* Loads cfg->rec_signing_key_file. cfg, mqtt (may be NULL) and store (may be NULL) are
 * borrowed. 0, or -errno (logged). */
int col_commander_new(const struct col_settings *cfg, struct bp_mqtt *mqtt, struct col_store *store,
                      struct col_commander **out);
void col_commander_free(struct col_commander *c);
/* Sends action for bot to agent now (for recovery, or an operator's restart): signed,
 * published and stored with reason like every command. 0 with the nonce, or -errno
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
