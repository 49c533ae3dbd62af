/* SPDX-License-Identifier: MIT */
/* The health rules on a fake clock, the primary chain: liveness, process, trading, resources
 * and the agent's clock, each status at and around its threshold; limits, reasons, severities. */
#include "rules_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct rule_case {
    const char *name;
    int64_t heartbeat_at; /* offset from T0, or -1 for none */
    int64_t trade_at;     /* offset from T0, or -1 for none */
    bool proc_alive;
    bool agent_offline;
    int64_t now; /* offset from T0 */
    enum col_status want;
    const char *want_check;
    int64_t want_next; /* offset from T0 of the next deadline, or INT64_MAX */
};

static const struct rule_case cases[] = {
    {"fresh and trading", 0, 0, true, false, 1 * S, COL_ST_HEALTHY, "", 30 * S},
    {"heartbeat just inside timeout", 0, 0, true, false, 30 * S - 1, COL_ST_HEALTHY, "", 30 * S},
    {"heartbeat timeout exactly", 0, 0, true, false, 30 * S, COL_ST_DOWN, "liveness", INT64_MAX},
    {"heartbeat long gone", 0, 0, true, false, 5 * MIN, COL_ST_DOWN, "liveness", INT64_MAX},
    {"agent offline wins over fresh heartbeat", 0, 0, true, true, 1 * S, COL_ST_DOWN, "liveness",
     INT64_MAX},
    {"process dead", 0, 0, false, false, 1 * S, COL_ST_STOPPED, "process", 30 * S},
    {"no heartbeat yet", -1, -1, true, false, 1 * S, COL_ST_UNKNOWN, "liveness", 30 * S},
    {"never a heartbeat past timeout", -1, -1, true, false, 30 * S, COL_ST_DOWN, "liveness",
     INT64_MAX},
    {"trade just fresh", 30 * MIN - 1 * S, 0, true, false, 30 * MIN - 1, COL_ST_HEALTHY, "",
     30 * MIN},
    {"trade stale at threshold", 30 * MIN, 0, true, false, 30 * MIN, COL_ST_STALE, "trading",
     30 * MIN + 30 * S},
    {"trade stale mid", 60 * MIN, 0, true, false, 60 * MIN, COL_ST_STALE, "trading",
     60 * MIN + 30 * S},
    {"stale deadline is stopped threshold", 120 * MIN - 5 * S, 0, true, false, 120 * MIN - 5 * S,
     COL_ST_STALE, "trading", 120 * MIN},
    {"trade stopped at threshold", 120 * MIN, 0, true, false, 120 * MIN, COL_ST_STOPPED, "trading",
     120 * MIN + 30 * S},
    {"never traded: measured from first seen", 30 * MIN, -1, true, false, 30 * MIN, COL_ST_STALE,
     "trading", 30 * MIN + 30 * S},
    {"dead process beats stale trading", 60 * MIN, 0, false, false, 60 * MIN, COL_ST_STOPPED,
     "process", 60 * MIN + 30 * S},
};

static void test_rule_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rule_case *c = &cases[i];
        struct col_evidence ev =
            rfx_evidence(c->heartbeat_at, c->trade_at, c->proc_alive, c->agent_offline);
        struct col_verdict v;
        col_rules_evaluate(&ev, &rfx_limits, T0 + c->now, &v);
        print_message("case: %s -> %s (%s)\n", c->name, col_status_name(v.status), v.reason);
        assert_string_equal(col_status_name(v.status), col_status_name(c->want));
        assert_string_equal(v.check, c->want_check);
        int64_t want_next = c->want_next == INT64_MAX ? INT64_MAX : T0 + c->want_next;
        assert_int_equal(v.next_due_mono, want_next);
        assert_true(strlen(v.reason) > 0);
    }
}

/* Resources (with hysteresis) and intended state, on top of the liveness/trading chain. */
struct layer_case {
    const char *name;
    int64_t heartbeat_at, trade_at; /* offsets from T0, or -1 for none */
    bool proc_alive, agent_offline;
    enum col_level res;
    int streak;
    bool intended_stopped;
    int64_t now;
    enum col_status want;
    const char *want_check;
    enum col_severity want_sev;
};

static const struct layer_case layer_cases[] = {
    {"resources ok", 0, 0, true, false, OK_, 0, false, 1 * S, COL_ST_HEALTHY, "", NONE},
    {"resources warn, 1 of 3: degraded, no alert", 0, 0, true, false, WARN, 1, false, 1 * S,
     COL_ST_DEGRADED, "resources", NONE},
    {"resources warn, 2 of 3: still no alert", 0, 0, true, false, WARN, 2, false, 1 * S,
     COL_ST_DEGRADED, "resources", NONE},
    {"resources warn, 3 of 3: warning", 0, 0, true, false, WARN, 3, false, 1 * S, COL_ST_DEGRADED,
     "resources", SWARN},
    {"resources crit, confirmed: critical", 0, 0, true, false, CRIT, 3, false, 1 * S,
     COL_ST_DEGRADED, "resources", SCRIT},
    {"resources crit, long streak", 0, 0, true, false, CRIT, 50, false, 1 * S, COL_ST_DEGRADED,
     "resources", SCRIT},
    {"resources crit, 2 of 3: no alert yet", 0, 0, true, false, CRIT, 2, false, 1 * S,
     COL_ST_DEGRADED, "resources", NONE},
    {"stale trading beats resources", 30 * MIN, 0, true, false, CRIT, 9, false, 30 * MIN,
     COL_ST_STALE, "trading", SWARN},
    {"dead process beats resources", 0, 0, false, false, CRIT, 9, false, 1 * S, COL_ST_STOPPED,
     "process", SCRIT},
    {"silent agent beats resources", 0, 0, true, false, CRIT, 9, false, 30 * S, COL_ST_DOWN,
     "liveness", SCRIT},
    {"intended stopped, process dead: no alert", 0, 0, false, false, OK_, 0, true, 1 * S,
     COL_ST_STOPPED, "intent", NONE},
    {"intended stopped, agent offline: no alert", 0, 0, true, true, OK_, 0, true, 1 * S,
     COL_ST_STOPPED, "intent", NONE},
    {"intended stopped, heartbeats gone: no alert", 0, 0, true, false, OK_, 0, true, 5 * MIN,
     COL_ST_STOPPED, "intent", NONE},
    {"intended stopped, alive, last trade 2 h ago: idle", 121 * MIN, 0, true, false, OK_, 0, true,
     121 * MIN, COL_ST_IDLE, "intent", NONE},
    {"intended stopped, alive, never traded: idle", 0, -1, true, false, OK_, 0, true, 1 * S,
     COL_ST_IDLE, "intent", NONE},
    {"intended stopped but trading: critical", 0, 0, true, false, OK_, 0, true, 1 * S,
     COL_ST_DEGRADED, "intent", SCRIT},
    {"intended stopped, trade just under stale: still trading", 30 * MIN - 1, 0, true, false, OK_,
     0, true, 30 * MIN - 1, COL_ST_DEGRADED, "intent", SCRIT},
    {"intended stopped, trade at stale: idle", 30 * MIN, 0, true, false, OK_, 0, true, 30 * MIN,
     COL_ST_IDLE, "intent", NONE},
    {"intended stopped, no heartbeat yet: unknown", -1, -1, true, false, OK_, 0, true, 1 * S,
     COL_ST_UNKNOWN, "liveness", NONE},
    {"intended stopped, overloaded host raises nothing", 0, -1, true, false, CRIT, 9, true, 1 * S,
     COL_ST_IDLE, "intent", NONE},
};

static void test_layer_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(layer_cases) / sizeof(layer_cases[0]); i++) {
        const struct layer_case *c = &layer_cases[i];
        struct col_evidence ev =
            rfx_evidence(c->heartbeat_at, c->trade_at, c->proc_alive, c->agent_offline);
        ev.res_level = c->res;
        ev.res_streak = c->streak;
        snprintf(ev.res_reason, sizeof(ev.res_reason), "host cpu 97%% >= 95%%");
        struct col_rule_limits lim = rfx_limits;
        lim.intended_stopped = c->intended_stopped;
        struct col_verdict v;
        col_rules_evaluate(&ev, &lim, T0 + c->now, &v);
        print_message("case: %s -> %s/%s (%s)\n", c->name, col_status_name(v.status),
                      col_severity_name(v.severity), v.reason);
        assert_string_equal(col_status_name(v.status), col_status_name(c->want));
        assert_string_equal(v.check, c->want_check);
        assert_string_equal(col_severity_name(v.severity), col_severity_name(c->want_sev));
        assert_true(strlen(v.reason) > 0);
    }
}

struct clock_case {
    const char *name;
    bool known;
    int64_t ahead_ms, limit_ms, heartbeat_at, now;
    enum col_status want;
    const char *want_check, *want_reason;
};

static void test_clock_table(void **state)
{
    (void)state;
    static const struct clock_case cases_clock[] = {
        {"unknown offset", false, 60 * S, 5 * S, 0, 1 * S, COL_ST_HEALTHY, "", NULL},
        {"within the limit", true, 5 * S, 5 * S, 0, 1 * S, COL_ST_HEALTHY, "", NULL},
        {"just past: ahead", true, 5 * S + 1, 5 * S, 0, 1 * S, COL_ST_DEGRADED, "clock",
         "agent clock 5.0s ahead of the collector's"},
        {"behind", true, -42 * S, 5 * S, 0, 1 * S, COL_ST_DEGRADED, "clock",
         "agent clock 42s behind the collector's"},
        {"check off", true, 3600 * S, 0, 0, 1 * S, COL_ST_HEALTHY, "", NULL},
        {"stale trading wins over the clock", true, 60 * S, 5 * S, 30 * MIN, 30 * MIN, COL_ST_STALE,
         "trading", NULL},
        {"down wins over the clock", true, 60 * S, 5 * S, 0, 30 * S, COL_ST_DOWN, "liveness", NULL},
    };
    for (size_t i = 0; i < sizeof(cases_clock) / sizeof(cases_clock[0]); i++) {
        const struct clock_case *c = &cases_clock[i];
        struct col_evidence ev = rfx_alive();
        ev.clock_known = c->known;
        ev.clock_ahead_ms = c->ahead_ms;
        ev.last_heartbeat_mono = T0 + c->heartbeat_at;
        struct col_rule_limits lim = rfx_limits;
        lim.clock_skew_ms = c->limit_ms;
        struct col_verdict v;
        col_rules_evaluate(&ev, &lim, T0 + c->now, &v);
        print_message("case: %s -> %s (%s)\n", c->name, col_status_name(v.status), v.reason);
        assert_string_equal(col_status_name(v.status), col_status_name(c->want));
        assert_string_equal(v.check, c->want_check);
        if (c->want_reason)
            assert_string_equal(v.reason, c->want_reason);
        if (c->want == COL_ST_DEGRADED)
            assert_int_equal(v.severity, COL_SEV_WARNING);
    }
}

static void test_trading_while_intended_stopped_has_a_deadline(void **state)
{
    (void)state;
    struct col_evidence ev = rfx_alive();
    struct col_rule_limits lim = rfx_limits;
    lim.intended_stopped = true;
    struct col_verdict v;
    col_rules_evaluate(&ev, &lim, T0 + 1 * S, &v);
    assert_int_equal(v.status, COL_ST_DEGRADED);
    assert_int_equal(v.next_due_mono, T0 + 30 * S); /* heartbeat first */
    ev.last_heartbeat_mono = T0 + 30 * MIN - 10 * S;
    col_rules_evaluate(&ev, &lim, T0 + 30 * MIN - 10 * S, &v);
    assert_int_equal(v.next_due_mono, T0 + 30 * MIN); /* then the trade turning stale */
}

struct level_case {
    double proc_cpu, host_cpu, mem, disk;
    enum col_level want;
    const char *want_reason;
};

static void test_resource_levels_at_each_boundary(void **state)
{
    (void)state;
    static const struct level_case levels[] = {
        {10, 10, 10, 10, COL_LEVEL_OK, ""},
        {79.9, 79.9, 79.9, 84.9, COL_LEVEL_OK, ""},
        {80, 0, 0, 0, COL_LEVEL_WARN, "process cpu 80% >= 80%"},
        {0, 80, 0, 0, COL_LEVEL_WARN, "host cpu 80% >= 80%"},
        {0, 95, 0, 0, COL_LEVEL_CRIT, "host cpu 95% >= 95%"},
        {250, 0, 0, 0, COL_LEVEL_CRIT, "process cpu 250% >= 95%"},
        {0, 0, 80, 0, COL_LEVEL_WARN, "memory 80% >= 80%"},
        {0, 0, 89.9, 0, COL_LEVEL_WARN, "memory 90% >= 80%"},
        {0, 0, 90, 0, COL_LEVEL_CRIT, "memory 90% >= 90%"},
        {0, 0, 0, 85, COL_LEVEL_WARN, "disk 85% >= 85%"},
        {0, 0, 0, 95, COL_LEVEL_CRIT, "disk 95% >= 95%"},
        {85, 0, 0, 96, COL_LEVEL_CRIT, "disk 96% >= 95%"}, /* the worst names the reason */
        {-1, -1, -1, -1, COL_LEVEL_OK, ""},                /* unknown values are no evidence */
    };
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        const struct level_case *c = &levels[i];
        char reason[64];
        enum col_level l = col_resources_level(&rfx_limits, c->proc_cpu, c->host_cpu, c->mem,
                                               c->disk, reason, sizeof(reason));
        assert_int_equal(l, c->want);
        assert_string_equal(reason, c->want_reason);
    }
}

static void test_per_bot_limits(void **state)
{
    (void)state;
    struct col_rule_limits quick = rfx_limits;
    quick.trade_stale_ms = 5 * S;
    quick.trade_stopped_ms = 10 * S;
    quick.heartbeat_timeout_ms = 3 * S; /* a fixed timeout beats misses x interval */
    struct col_evidence ev = rfx_alive();
    ev.last_heartbeat_mono = T0 + 5 * S;
    struct col_verdict v;
    col_rules_evaluate(&ev, &quick, T0 + 6 * S, &v);
    assert_int_equal(v.status, COL_ST_STALE);
    assert_int_equal(v.next_due_mono, T0 + 8 * S); /* the heartbeat deadline comes first */
    col_rules_evaluate(&ev, &quick, T0 + 8 * S, &v);
    assert_int_equal(v.status, COL_ST_DOWN);
}

static void test_reason_texts(void **state)
{
    (void)state;
    struct col_evidence ev = rfx_alive();
    ev.last_heartbeat_mono = T0 + 45 * MIN;
    struct col_verdict v;
    col_rules_evaluate(&ev, &rfx_limits, T0 + 45 * MIN, &v);
    assert_string_equal(v.reason, "last trade 45m ago (stale after 30m)");
    col_rules_evaluate(&ev, &rfx_limits, T0 + 45 * MIN + 40 * S, &v);
    assert_string_equal(v.reason, "no heartbeat for 40s (timeout 30s)");
    char buf[32];
    col_format_duration(2 * 3600 * S + 5 * MIN, buf, sizeof(buf));
    assert_string_equal(buf, "2h5m");
    col_format_duration(800, buf, sizeof(buf));
    assert_string_equal(buf, "800ms");
    col_format_duration(1500, buf, sizeof(buf));
    assert_string_equal(buf, "1.5s");
}

static void test_severity_mapping(void **state)
{
    (void)state;
    assert_int_equal(col_status_severity(COL_ST_HEALTHY), COL_SEV_NONE);
    assert_int_equal(col_status_severity(COL_ST_UNKNOWN), COL_SEV_NONE);
    assert_int_equal(col_status_severity(COL_ST_STALE), COL_SEV_WARNING);
    assert_int_equal(col_status_severity(COL_ST_STOPPED), COL_SEV_CRITICAL);
    assert_int_equal(col_status_severity(COL_ST_DOWN), COL_SEV_CRITICAL);
    for (int s = 0; s < COL_ST_COUNT; s++)
        assert_true(strlen(col_status_name((enum col_status)s)) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_layer_table),
        cmocka_unit_test(test_clock_table),
        cmocka_unit_test(test_trading_while_intended_stopped_has_a_deadline),
        cmocka_unit_test(test_resource_levels_at_each_boundary),
        cmocka_unit_test(test_per_bot_limits),
        cmocka_unit_test(test_reason_texts),
        cmocka_unit_test(test_severity_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
