/* SPDX-License-Identifier: MIT */
/* What a bot tells its agent about itself (loop tick, market-data time, exposure, API outcomes,
 * maintenance intent, custom metrics), kept per bot and sent in every heartbeat. Pure: time is
 * a parameter. */
#ifndef AGENT_SIGNALS_H
#define AGENT_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_notify.h"
#include "msg.h"

#define AGENT_API_WINDOW 20 /* the API error rate and latency cover the last 20 calls */

struct agent_api_call {
    bool ok;
    int64_t latency_ms; /* 0 when not given */
};

struct agent_signals {
    bool any;                  /* a signal verb was seen: heartbeats carry "signals" */
    int64_t tick_ts;           /* Unix ms; 0 = never */
    int64_t market_ts;         /* Unix ms; 0 = never */
    int64_t positions, orders; /* -1 = never reported */
    int api_n, api_next;       /* calls held (<= window), where the next one goes */
    struct agent_api_call api[AGENT_API_WINDOW];
    int64_t maintenance_until; /* Unix ms; 0 = none */
    char maintenance_reason[BP_TEXT_MAX + 1];
    int nmetrics; /* heartbeats carry "metrics" once this is > 0 */
    struct bp_metric metrics[BP_METRICS_MAX];
};

void agent_signals_init(struct agent_signals *s);
/* Applies one tick, market, exposure, metric, api or maintenance request received at wall_ms
 * (Unix ms). 0; -ENOSPC (nothing applied, reason in err) when a metric name would be one more
 * than BP_METRICS_MAX for this bot; -EINVAL for another verb. */
int agent_signals_apply(struct agent_signals *s, const struct agent_notify_req *r, int64_t wall_ms,
                        char *err, size_t errlen);
/* Sets hb's signals and metrics objects from s (each only once the bot has sent one). */
void agent_signals_fill(const struct agent_signals *s, struct bp_heartbeat *hb);

#endif
