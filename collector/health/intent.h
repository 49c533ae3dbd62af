/* SPDX-License-Identifier: MIT */
/* A bot's intended state set at run time (POST /bots/{id}/intended): held on the bot by the
 * rules thread, it overrides the config's `intended` until an operator changes it again, and
 * survives config-derived limits being recomputed (labels from the agent, [account] sections). */
#ifndef COL_INTENT_H
#define COL_INTENT_H

#include "fleet.h"

#include <stddef.h>

/* Puts b's operator intent (if any) over the limits the config gives it (lim). */
void col_intent_apply(const struct col_bot *b, struct col_rule_limits *lim);
/* Sets b's intent (RUNNING or STOPPED); the caller recomputes its limits (the engine's
 * engine_set_limits). 0, or -EINVAL. Rules thread. */
int col_intent_set(struct col_bot *b, enum col_intent intent);

/* "running", "stopped" (CONFIG: the config's word is in intended_stopped). */
const char *col_intent_name(enum col_intent i, bool intended_stopped);
/* "running" → RUNNING, "stopped" → STOPPED; 0 or -EINVAL. */
int col_intent_parse(const char *word, enum col_intent *out);
/* Parses POST /bots/{id}/intended's body {"state":"running"|"stopped"}. 0, or -EINVAL with the
 * reason for a 400 in err. */
int col_intent_from_json(const char *body, enum col_intent *out, char *err, size_t errlen);

#endif
