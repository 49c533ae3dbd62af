/* SPDX-License-Identifier: MIT */
/* The health rules on a fake clock: each status at and around its threshold. */
#include "rules.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#define S 1000
#define MIN (60 * S)
#define T0 1000000 /* an arbitrary monotonic origin */

static const struct col_rule_limits limits = {
    .heartbeat_timeout_ms = 0,
    .heartbeat_misses = 3,
    .trade_stale_ms = 30 * MIN,
    .trade_stopped_ms = 120 * MIN,
};

/* A bot seen at T0, heartbeating every 10 s, alive, last trade at T0. */
static struct col_evidence alive(void)
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
        struct col_evidence ev = alive();
        ev.has_heartbeat = c->heartbeat_at >= 0;
        ev.last_heartbeat_mono = T0 + (c->heartbeat_at >= 0 ? c->heartbeat_at : 0);
        ev.has_trade = c->trade_at >= 0;
        ev.last_trade_mono = T0 + (c->trade_at >= 0 ? c->trade_at : 0);
        ev.proc_alive = c->proc_alive;
        ev.agent_offline = c->agent_offline;
        struct col_verdict v;
        col_rules_evaluate(&ev, &limits, T0 + c->now, &v);
        print_message("case: %s -> %s (%s)\n", c->name, col_status_name(v.status), v.reason);
        assert_string_equal(col_status_name(v.status), col_status_name(c->want));
        assert_string_equal(v.check, c->want_check);
        int64_t want_next = c->want_next == INT64_MAX ? INT64_MAX : T0 + c->want_next;
        assert_int_equal(v.next_due_mono, want_next);
        assert_true(strlen(v.reason) > 0);
    }
}

static void test_per_bot_limits(void **state)
{
    (void)state;
    struct col_rule_limits quick = limits;
    quick.trade_stale_ms = 5 * S;
    quick.trade_stopped_ms = 10 * S;
    quick.heartbeat_timeout_ms = 3 * S; /* a fixed timeout beats misses x interval */
    struct col_evidence ev = alive();
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
    struct col_evidence ev = alive();
    ev.last_heartbeat_mono = T0 + 45 * MIN;
    struct col_verdict v;
    col_rules_evaluate(&ev, &limits, T0 + 45 * MIN, &v);
    assert_string_equal(v.reason, "last trade 45m ago (stale after 30m)");
    col_rules_evaluate(&ev, &limits, T0 + 45 * MIN + 40 * S, &v);
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
        cmocka_unit_test(test_per_bot_limits),
        cmocka_unit_test(test_reason_texts),
        cmocka_unit_test(test_severity_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
