/* SPDX-License-Identifier: MIT */
/* What the rules' unit tests share: a fake monotonic clock (T0, in ms), the design's limits
 * (3 missed heartbeats, stale after 30 min, stopped after 2 h, resources at 80/95, 80/90,
 * 85/95 %, confirmed after 3 samples, clock skew 5 s), and a bot's evidence to start from. */
#ifndef TEST_RULES_FX_H
#define TEST_RULES_FX_H

#include "rules.h"

#include <stdbool.h>
#include <stdint.h>

#define S 1000
#define MIN (60 * S)
#define T0 1000000 /* an arbitrary monotonic origin */

/* Short names for the tables' columns. */
#define OK_ COL_LEVEL_OK
#define WARN COL_LEVEL_WARN
#define CRIT COL_LEVEL_CRIT
#define NONE COL_SEV_NONE
#define SWARN COL_SEV_WARNING
#define SCRIT COL_SEV_CRITICAL

extern const struct col_rule_limits rfx_limits;

/* A bot seen at T0, heartbeating every 10 s, alive, last trade at T0. */
struct col_evidence rfx_alive(void);
/* rfx_alive(), with a heartbeat and a trade at these offsets from T0 (-1: none). */
struct col_evidence rfx_evidence(int64_t heartbeat_at, int64_t trade_at, bool proc_alive,
                                 bool agent_offline);

/* Judges ev under lim at now into *v, prints the case, and asserts the status, check and
 * severity it gives. */
void rfx_judge(const char *name, const struct col_evidence *ev, const struct col_rule_limits *lim,
               int64_t now, enum col_status want, const char *check, enum col_severity sev,
               struct col_verdict *v);

#endif
