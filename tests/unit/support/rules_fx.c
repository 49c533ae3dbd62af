/* SPDX-License-Identifier: MIT */
/* The rules' unit-test fixture: the design's limits and a live bot's evidence. */
#include "rules_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

const struct col_rule_limits rfx_limits = {
    .heartbeat_timeout_ms = 0,
    .heartbeat_misses = 3,
    .trade_stale_ms = 30 * MIN,
    .trade_stopped_ms = 120 * MIN,
    .cpu = {80, 95},
    .mem = {80, 90},
    .disk = {85, 95},
    .confirm = 3,
    .clock_skew_ms = 5 * S,
};

struct col_evidence rfx_alive(void)
{
    struct col_evidence ev = {
        .first_seen_mono = T0,
        .has_heartbeat = true,
        .last_heartbeat_mono = T0,
        .heartbeat_interval_ms = 10 * S,
        .proc_alive = true,
        .pid = 42,
        .has_trade = true,
        .last_trade_mono = T0,
    };
    return ev;
}

struct col_evidence rfx_evidence(int64_t heartbeat_at, int64_t trade_at, bool proc_alive,
                                 bool agent_offline)
{
    struct col_evidence ev = rfx_alive();
    ev.has_heartbeat = heartbeat_at >= 0;
    ev.last_heartbeat_mono = T0 + (heartbeat_at >= 0 ? heartbeat_at : 0);
    ev.has_trade = trade_at >= 0;
    ev.last_trade_mono = T0 + (trade_at >= 0 ? trade_at : 0);
    ev.proc_alive = proc_alive;
    ev.agent_offline = agent_offline;
    return ev;
}

void rfx_judge(const char *name, const struct col_evidence *ev, const struct col_rule_limits *lim,
               int64_t now, enum col_status want, const char *check, enum col_severity sev,
               struct col_verdict *v)
{
    col_rules_evaluate(ev, lim, now, v);
    print_message("case: %s -> %s/%s/%s (%s)\n", name, col_status_name(v->status), v->check,
                  col_severity_name(v->severity), v->reason);
    assert_string_equal(col_status_name(v->status), col_status_name(want));
    assert_string_equal(v->check, check);
    assert_string_equal(col_severity_name(v->severity), col_severity_name(sev));
}
