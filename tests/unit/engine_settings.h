/* SPDX-License-Identifier: MIT */
/* The collector settings the engine's unit tests run on (a fake clock, no broker, no
 * database): heartbeat timeout 3 x the agent's interval, stale and stopped as given, the
 * design's resource levels, summaries at most once a second, stats out of the way. */
#ifndef TEST_ENGINE_SETTINGS_H
#define TEST_ENGINE_SETTINGS_H

#include "settings.h"

#include <stdio.h>
#include <string.h>

static inline void test_engine_settings(struct col_settings *cfg, int64_t stale_ms,
                                        int64_t stopped_ms)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->id, sizeof(cfg->id), "c1");
    snprintf(cfg->topic_root, sizeof(cfg->topic_root), "botpulse/v1");
    cfg->heartbeat_misses = 3;
    cfg->limits = (struct col_rule_limits){.heartbeat_misses = 3,
                                           .trade_stale_ms = stale_ms,
                                           .trade_stopped_ms = stopped_ms,
                                           .cpu = {80, 95},
                                           .mem = {80, 90},
                                           .disk = {85, 95},
                                           .confirm = 3};
    cfg->summary_interval_ms = 1000;
    cfg->sample_interval_ms = 60000;
    cfg->stats_interval_ms = 3600000; /* keep stats deadlines out of the way */
}

#endif
