/* SPDX-License-Identifier: MIT */
/* The health rules on a fake clock: each status at and around its threshold. */
#include "rules.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S 1000
#define MIN (60 * S)
#define T0 1000000 /* an arbitrary monotonic origin */

static const struct col_rule_limits limits = {
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

/* alive(), with a heartbeat and a trade at these offsets from T0 (-1: none). */
static struct col_evidence evidence(int64_t heartbeat_at, int64_t trade_at, bool proc_alive,
                                    bool agent_offline)
{
    struct col_evidence ev = alive();
    ev.has_heartbeat = heartbeat_at >= 0;
    ev.last_heartbeat_mono = T0 + (heartbeat_at >= 0 ? heartbeat_at : 0);
    ev.has_trade = trade_at >= 0;
    ev.last_trade_mono = T0 + (trade_at >= 0 ? trade_at : 0);
    ev.proc_alive = proc_alive;
    ev.agent_offline = agent_offline;
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
        struct col_evidence ev =
            evidence(c->heartbeat_at, c->trade_at, c->proc_alive, c->agent_offline);
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

#define OK_ COL_LEVEL_OK
#define WARN COL_LEVEL_WARN
#define CRIT COL_LEVEL_CRIT
#define NONE COL_SEV_NONE
#define SWARN COL_SEV_WARNING
#define SCRIT COL_SEV_CRITICAL

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
            evidence(c->heartbeat_at, c->trade_at, c->proc_alive, c->agent_offline);
        ev.res_level = c->res;
        ev.res_streak = c->streak;
        snprintf(ev.res_reason, sizeof(ev.res_reason), "host cpu 97%% >= 95%%");
        struct col_rule_limits lim = limits;
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
        struct col_evidence ev = alive();
        ev.clock_known = c->known;
        ev.clock_ahead_ms = c->ahead_ms;
        ev.last_heartbeat_mono = T0 + c->heartbeat_at;
        struct col_rule_limits lim = limits;
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
    struct col_evidence ev = alive();
    struct col_rule_limits lim = limits;
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
        enum col_level l = col_resources_level(&limits, c->proc_cpu, c->host_cpu, c->mem, c->disk,
                                               reason, sizeof(reason));
        assert_int_equal(l, c->want);
        assert_string_equal(reason, c->want_reason);
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

/* ---- the bot's own signals: loop tick, market data, exposure, API, metric rules, maintenance */

static const struct col_metric_rule metric_rules[] = {
    {"unprotected_positions", COL_OP_GT, 0, COL_SEV_CRITICAL, "metric:unprotected_positions"},
    {"drawdown_pct", COL_OP_GE, 20, COL_SEV_WARNING, "metric:drawdown_pct"},
    {"drawdown_pct", COL_OP_GE, 40, COL_SEV_CRITICAL, "metric:drawdown_pct"},
    {"equity", COL_OP_LT, 100, COL_SEV_WARNING, "metric:equity"},
    {"mode", COL_OP_EQ, 3, COL_SEV_CRITICAL, "metric:mode"},
    {"feed_ok", COL_OP_NE, 1, COL_SEV_WARNING, "metric:feed_ok"},
    {"loss", COL_OP_LE, -5, COL_SEV_WARNING, "metric:loss"},
};

static struct col_rule_limits signal_limits(void)
{
    struct col_rule_limits l = limits;
    l.tick_timeout_ms = 60 * S;
    l.market_stale_ms = 30 * S;
    l.api_err_warn = 10;
    l.api_err_crit = 20;
    l.api_min_calls = 5;
    l.api_latency_warn_ms = 10 * S;
    l.api_latency_crit_ms = 30 * S;
    l.metric_rules = metric_rules;
    l.nmetric_rules = (int)(sizeof(metric_rules) / sizeof(metric_rules[0]));
    return l;
}

#define NEVER (-1)          /* an age: never happened */
#define UNCHECKED INT64_MIN /* want_next: not asserted */
#define NOW_ (T0 + 200 * MIN)

/* Every time is an age before NOW_; the heartbeat is 1 s old unless hb_age says otherwise, the
 * bot was first seen 200 min ago unless first_age says otherwise, and it traded just now. */
struct sig_case {
    const char *name;
    int64_t hb_age, first_age, trade_age;
    bool dead, offline;
    int64_t tick_age; /* NEVER or 0 (default): no tick; else its age (use 1 for "just now") */
    bool tick_expected;
    int64_t market_age; /* 0: none */
    bool exposure;
    int64_t positions, orders;
    int64_t api_calls, api_errors, api_lat;
    bool maint;
    int64_t maint_left; /* with maint: until - now (<= 0: ended) */
    const char *m1, *m2;
    double v1, v2;
    enum col_level res;
    int streak;
    bool intended_stopped;
    enum col_status want;
    const char *check;
    enum col_severity sev;
    int64_t next;       /* after NOW_; UNCHECKED or INT64_MAX */
    const char *reason; /* a substring the reason must hold, or NULL */
};

#define HUNG_ COL_ST_HUNG
#define DEG COL_ST_DEGRADED
#define HEALTHY_ COL_ST_HEALTHY
#define IDLE_ COL_ST_IDLE
#define STALE_ COL_ST_STALE
#define STOPPED_ COL_ST_STOPPED
#define DOWN_ COL_ST_DOWN

/* One case per line group reads better than one field per line. */
/* clang-format off */
static const struct sig_case sig_cases[] = {
    /* loop tick (tick_timeout 60 s) */
    {.name = "tick fresh: healthy", .tick_age = 1 * S, .want = HEALTHY_, .check = "",
     .next = 29 * S},
    {.name = "tick just inside timeout", .tick_age = 60 * S - 1, .want = HEALTHY_, .check = "",
     .next = 1},
    {.name = "tick at timeout: hung", .tick_age = 60 * S, .want = HUNG_, .check = "loop",
     .sev = SCRIT, .next = 29 * S, .reason = "process alive, loop silent: no tick for 1m"},
    {.name = "tick silent 10 min: hung", .tick_age = 10 * MIN, .want = HUNG_, .check = "loop",
     .sev = SCRIT},
    {.name = "hung holding positions: critical", .tick_age = 2 * MIN, .exposure = true,
     .positions = 2, .want = HUNG_, .check = "loop", .sev = SCRIT,
     .reason = "exposed: 2 positions, 0 orders"},
    {.name = "hung and flat: warning", .tick_age = 2 * MIN, .exposure = true, .want = HUNG_,
     .check = "loop", .sev = SWARN, .reason = "flat: no position, no order"},
    {.name = "dead process beats hung", .tick_age = 10 * MIN, .dead = true, .want = STOPPED_,
     .check = "process", .sev = SCRIT},
    {.name = "silent heartbeat beats hung", .hb_age = 30 * S, .tick_age = 10 * MIN,
     .want = DOWN_, .check = "liveness", .sev = SCRIT, .next = INT64_MAX},
    {.name = "tick expected, none yet, inside timeout", .first_age = 59 * S, .trade_age = NEVER,
     .tick_expected = true, .want = HEALTHY_, .check = "", .next = 1 * S},
    {.name = "tick expected, none within timeout: hung", .first_age = 60 * S,
     .trade_age = NEVER, .tick_expected = true, .want = HUNG_, .check = "loop", .sev = SCRIT,
     .reason = "no tick seen in 1m"},
    {.name = "no tick, not expected: no loop check", .want = HEALTHY_, .check = ""},
    /* market data (market_stale 30 s) */
    {.name = "market just fresh", .tick_age = 1 * S, .market_age = 30 * S - 1, .want = HEALTHY_,
     .check = "", .next = 1},
    {.name = "market stale at threshold: exchange disconnected", .tick_age = 1 * S,
     .market_age = 30 * S, .want = DEG, .check = "market", .sev = SWARN, .next = 29 * S,
     .reason = "exchange disconnected: market data 30s old"},
    {.name = "market 45 s old", .tick_age = 1 * S, .market_age = 45 * S, .want = DEG,
     .check = "market", .sev = SWARN, .reason = "exchange disconnected: market data 45s old"},
    {.name = "hung beats old market data", .tick_age = 60 * S, .market_age = 45 * S,
     .want = HUNG_, .check = "loop", .sev = SCRIT},
    {.name = "old market data beats stale trading", .tick_age = 1 * S, .market_age = 45 * S,
     .trade_age = 40 * MIN, .want = DEG, .check = "market", .sev = SWARN},
    {.name = "market judged without ticks too", .market_age = 31 * S, .want = DEG,
     .check = "market", .sev = SWARN},
    {.name = "dead process beats old market data", .market_age = 45 * S, .dead = true,
     .want = STOPPED_, .check = "process", .sev = SCRIT},
    /* idle or stale (trade_stale 30 min, trade_stopped 2 h) */
    {.name = "ticking, no trade past stale: idle, no alert", .tick_age = 1 * S,
     .trade_age = 30 * MIN, .want = IDLE_, .check = "trading", .next = 29 * S,
     .reason = "idle: loop evaluating"},
    {.name = "ticking, trade just fresh: healthy", .tick_age = 1 * S, .trade_age = 30 * MIN - 1,
     .want = HEALTHY_, .check = "", .next = 1},
    {.name = "not ticking, no trade past stale: stale", .trade_age = 30 * MIN, .want = STALE_,
     .check = "trading", .sev = SWARN},
    {.name = "ticking, idle just before stopped", .tick_age = 1 * S,
     .trade_age = 120 * MIN - 1, .want = IDLE_, .check = "trading", .next = 1},
    {.name = "ticking, no trade past stopped: stale warning, not stopped", .tick_age = 1 * S,
     .trade_age = 120 * MIN, .want = STALE_, .check = "trading", .sev = SWARN,
     .reason = "loop evaluating but no trade for 2h"},
    {.name = "not ticking past stopped: stopped", .trade_age = 120 * MIN, .want = STOPPED_,
     .check = "trading", .sev = SCRIT},
    {.name = "ticking, never traded, 40 min: idle", .first_age = 40 * MIN, .trade_age = NEVER,
     .tick_age = 1 * S, .want = IDLE_, .check = "trading"},
    {.name = "idle bot whose loop then stops: hung", .tick_age = 61 * S, .trade_age = 40 * MIN,
     .want = HUNG_, .check = "loop", .sev = SCRIT},
    /* exposure scales dead bots */
    {.name = "stopped trading, flat: warning", .trade_age = 120 * MIN, .exposure = true,
     .want = STOPPED_, .check = "trading", .sev = SWARN},
    {.name = "stopped trading, resting orders: critical", .trade_age = 120 * MIN,
     .exposure = true, .orders = 3, .want = STOPPED_, .check = "trading", .sev = SCRIT},
    {.name = "stale is not scaled by exposure", .trade_age = 30 * MIN, .exposure = true,
     .positions = 5, .orders = 5, .want = STALE_, .check = "trading", .sev = SWARN},
    {.name = "agent offline holding positions: critical", .offline = true, .exposure = true,
     .positions = 1, .want = DOWN_, .check = "liveness", .sev = SCRIT},
    {.name = "agent offline, flat: warning", .offline = true, .exposure = true, .want = DOWN_,
     .check = "liveness", .sev = SWARN},
    {.name = "heartbeats gone, flat: warning", .hb_age = 30 * S, .exposure = true,
     .want = DOWN_, .check = "liveness", .sev = SWARN},
    {.name = "process dead, exposure never reported: critical", .dead = true, .want = STOPPED_,
     .check = "process", .sev = SCRIT},
    {.name = "process dead, flat: warning", .dead = true, .exposure = true, .want = STOPPED_,
     .check = "process", .sev = SWARN},
    /* exchange API (errors 10/20 % of >= 5 calls, latency 10/30 s) */
    {.name = "api 1 of 20 failed (5%): healthy", .api_calls = 20, .api_errors = 1,
     .want = HEALTHY_, .check = ""},
    {.name = "api 2 of 20 failed (10%): warning", .api_calls = 20, .api_errors = 2, .want = DEG,
     .check = "api", .sev = SWARN, .reason = "exchange API errors: 2 of the last 20 calls"},
    {.name = "api 3 of 20 failed (15%): warning", .api_calls = 20, .api_errors = 3, .want = DEG,
     .check = "api", .sev = SWARN},
    {.name = "api 4 of 20 failed (20%): critical", .api_calls = 20, .api_errors = 4,
     .want = DEG, .check = "api", .sev = SCRIT, .reason = "(20% >= 20%)"},
    {.name = "api 1 of 4 failed: too few calls", .api_calls = 4, .api_errors = 1,
     .want = HEALTHY_, .check = ""},
    {.name = "api 1 of 5 failed: enough calls, critical", .api_calls = 5, .api_errors = 1,
     .want = DEG, .check = "api", .sev = SCRIT},
    {.name = "api latency just under 10 s", .api_calls = 3, .api_lat = 10 * S - 1,
     .want = HEALTHY_, .check = ""},
    {.name = "api latency 10 s: warning", .api_calls = 3, .api_lat = 10 * S, .want = DEG,
     .check = "api", .sev = SWARN, .reason = "exchange API latency 10s >= 10s"},
    {.name = "api latency 30 s: critical", .api_calls = 1, .api_lat = 30 * S, .want = DEG,
     .check = "api", .sev = SCRIT},
    {.name = "stale trading beats api errors", .trade_age = 30 * MIN, .api_calls = 20,
     .api_errors = 10, .want = STALE_, .check = "trading", .sev = SWARN},
    {.name = "idle bot with failing api: degraded", .tick_age = 1 * S, .trade_age = 40 * MIN,
     .api_calls = 20, .api_errors = 4, .want = DEG, .check = "api", .sev = SCRIT},
    /* custom metric rules */
    {.name = "unprotected_positions 0: rule holds not", .m1 = "unprotected_positions", .v1 = 0,
     .want = HEALTHY_, .check = ""},
    {.name = "unprotected_positions 1 > 0: critical", .m1 = "unprotected_positions", .v1 = 1,
     .want = DEG, .check = "metric:unprotected_positions", .sev = SCRIT,
     .reason = "unprotected_positions = 1 (rule > 0 critical)"},
    {.name = "drawdown 19.99 < 20: healthy", .m1 = "drawdown_pct", .v1 = 19.99,
     .want = HEALTHY_, .check = ""},
    {.name = "drawdown 20 >= 20: warning", .m1 = "drawdown_pct", .v1 = 20, .want = DEG,
     .check = "metric:drawdown_pct", .sev = SWARN},
    {.name = "drawdown 40: the critical rule wins", .m1 = "drawdown_pct", .v1 = 40, .want = DEG,
     .check = "metric:drawdown_pct", .sev = SCRIT, .reason = "rule >= 40 critical"},
    {.name = "equity 100 not < 100", .m1 = "equity", .v1 = 100, .want = HEALTHY_, .check = ""},
    {.name = "equity 99.5 < 100: warning", .m1 = "equity", .v1 = 99.5, .want = DEG,
     .check = "metric:equity", .sev = SWARN},
    {.name = "mode == 3: critical", .m1 = "mode", .v1 = 3, .want = DEG, .check = "metric:mode",
     .sev = SCRIT},
    {.name = "mode 2: healthy", .m1 = "mode", .v1 = 2, .want = HEALTHY_, .check = ""},
    {.name = "feed_ok != 1 at 0: warning", .m1 = "feed_ok", .v1 = 0, .want = DEG,
     .check = "metric:feed_ok", .sev = SWARN},
    {.name = "feed_ok 1: healthy", .m1 = "feed_ok", .v1 = 1, .want = HEALTHY_, .check = ""},
    {.name = "loss -5 <= -5: warning", .m1 = "loss", .v1 = -5, .want = DEG,
     .check = "metric:loss", .sev = SWARN},
    {.name = "loss -4.99: healthy", .m1 = "loss", .v1 = -4.99, .want = HEALTHY_, .check = ""},
    {.name = "metric with no rule: nothing", .m1 = "pnl_usd", .v1 = -1e6, .want = HEALTHY_,
     .check = ""},
    {.name = "critical metric beats api warning", .m1 = "unprotected_positions", .v1 = 2,
     .api_calls = 20, .api_errors = 2, .want = DEG, .check = "metric:unprotected_positions",
     .sev = SCRIT},
    {.name = "api critical beats metric warning", .m1 = "drawdown_pct", .v1 = 25,
     .api_calls = 20, .api_errors = 4, .want = DEG, .check = "api", .sev = SCRIT},
    {.name = "tie: metric warning named before api warning", .m1 = "drawdown_pct", .v1 = 25,
     .api_calls = 20, .api_errors = 2, .want = DEG, .check = "metric:drawdown_pct",
     .sev = SWARN},
    {.name = "critical metric beats confirmed resource warning", .m1 = "mode", .v1 = 3,
     .res = WARN, .streak = 3, .want = DEG, .check = "metric:mode", .sev = SCRIT},
    {.name = "metric warning beats unconfirmed resources", .m1 = "equity", .v1 = 1, .res = CRIT,
     .streak = 1, .want = DEG, .check = "metric:equity", .sev = SWARN},
    {.name = "confirmed resource critical beats metric warning", .m1 = "equity", .v1 = 1,
     .res = CRIT, .streak = 3, .want = DEG, .check = "resources", .sev = SCRIT},
    {.name = "two metrics: the worse decides", .m1 = "equity", .v1 = 1,
     .m2 = "unprotected_positions", .v2 = 1, .want = DEG,
     .check = "metric:unprotected_positions", .sev = SCRIT},
    {.name = "dead process beats a metric alarm", .m1 = "unprotected_positions", .v1 = 1,
     .dead = true, .want = STOPPED_, .check = "process", .sev = SCRIT},
    /* maintenance intent */
    {.name = "maintenance: dead bot stays stopped, no alert", .dead = true, .maint = true,
     .maint_left = 10 * S, .want = STOPPED_, .check = "process", .sev = NONE, .next = 10 * S,
     .reason = "(in maintenance: no alert until it ends)"},
    {.name = "maintenance at its end: the alert comes", .dead = true, .maint = true,
     .maint_left = 0, .want = STOPPED_, .check = "process", .sev = SCRIT},
    {.name = "maintenance over: the alert comes", .dead = true, .maint = true,
     .maint_left = -1 * MIN, .want = STOPPED_, .check = "process", .sev = SCRIT},
    {.name = "maintenance, healthy bot: next look at its end", .maint = true,
     .maint_left = 5 * S, .want = HEALTHY_, .check = "", .next = 5 * S},
    {.name = "maintenance holds a hung alert", .tick_age = 5 * MIN, .maint = true,
     .maint_left = 1 * MIN, .want = HUNG_, .check = "loop", .sev = NONE},
    {.name = "maintenance holds a metric alarm", .m1 = "unprotected_positions", .v1 = 1,
     .maint = true, .maint_left = 1 * MIN, .want = DEG, .check = "metric:unprotected_positions",
     .sev = NONE},
    {.name = "maintenance, agent offline: down, wakes at its end", .offline = true,
     .maint = true, .maint_left = 1 * MIN, .want = DOWN_, .check = "liveness", .sev = NONE,
     .next = 1 * MIN},
    {.name = "maintenance leaves unknown alone", .hb_age = NEVER, .first_age = 1 * S, .maint = true,
     .maint_left = 1 * MIN, .want = COL_ST_UNKNOWN, .check = "liveness", .sev = NONE},
    /* intended state still has the last word */
    {.name = "intended stopped and hung: idle, no alert", .tick_age = 5 * MIN,
     .intended_stopped = true, .trade_age = 40 * MIN, .want = IDLE_, .check = "intent",
     .sev = NONE},
};
/* clang-format on */

static struct col_evidence sig_evidence(const struct sig_case *c)
{
    struct col_evidence ev = alive();
    ev.first_seen_mono = NOW_ - (c->first_age ? c->first_age : 200 * MIN);
    ev.has_heartbeat = c->hb_age != NEVER;
    ev.last_heartbeat_mono = NOW_ - (c->hb_age > 0 ? c->hb_age : 1 * S);
    ev.has_trade = c->trade_age != NEVER;
    ev.last_trade_mono = NOW_ - (c->trade_age > 0 ? c->trade_age : 0);
    ev.proc_alive = !c->dead;
    ev.agent_offline = c->offline;
    ev.has_tick = c->tick_age > 0;
    ev.last_tick_mono = NOW_ - c->tick_age;
    ev.has_market = c->market_age > 0;
    ev.last_market_mono = NOW_ - c->market_age;
    ev.has_exposure = c->exposure;
    ev.positions = c->positions;
    ev.orders = c->orders;
    ev.api_calls = c->api_calls;
    ev.api_errors = c->api_errors;
    ev.api_latency_ms_max = c->api_lat;
    ev.maintenance_until_mono = c->maint ? NOW_ + c->maint_left : 0;
    const char *names[2] = {c->m1, c->m2};
    double values[2] = {c->v1, c->v2};
    for (int i = 0; i < 2; i++) {
        if (!names[i])
            continue;
        snprintf(ev.metrics[ev.nmetrics].name, sizeof(ev.metrics[0].name), "%s", names[i]);
        ev.metrics[ev.nmetrics++].value = values[i];
    }
    ev.res_level = c->res;
    ev.res_streak = c->streak;
    snprintf(ev.res_reason, sizeof(ev.res_reason), "host cpu 97%% >= 95%%");
    return ev;
}

static void test_signal_table(void **state)
{
    (void)state;
    size_t n = sizeof(sig_cases) / sizeof(sig_cases[0]);
    for (size_t i = 0; i < n; i++) {
        const struct sig_case *c = &sig_cases[i];
        struct col_evidence ev = sig_evidence(c);
        struct col_rule_limits lim = signal_limits();
        lim.tick_expected = c->tick_expected;
        lim.intended_stopped = c->intended_stopped;
        struct col_verdict v;
        col_rules_evaluate(&ev, &lim, NOW_, &v);
        print_message("case: %s -> %s/%s/%s (%s)\n", c->name, col_status_name(v.status), v.check,
                      col_severity_name(v.severity), v.reason);
        assert_string_equal(col_status_name(v.status), col_status_name(c->want));
        assert_string_equal(v.check, c->check);
        assert_string_equal(col_severity_name(v.severity), col_severity_name(c->sev));
        if (c->next != 0 && c->next != UNCHECKED)
            assert_int_equal(v.next_due_mono, c->next == INT64_MAX ? INT64_MAX : NOW_ + c->next);
        if (c->reason && !strstr(v.reason, c->reason))
            fail_msg("case %s: reason '%s' lacks '%s'", c->name, v.reason, c->reason);
        assert_true(strlen(v.reason) > 0);
    }
    print_message("%zu signal cases\n", n);
}

/* ---- findings: one per failing check, each its own alert ------------------------------- */

/* A status case, and every finding its verdict must list ("check/severity", in order), the
 * checks it must have judged, and those it must not have (an open alert for those stays). */
struct finding_case {
    struct sig_case in;
    const char *findings;
    const char *judged, *unjudged; /* space-separated check names */
};

#define RES_W .res = COL_LEVEL_WARN
#define RES_C .res = COL_LEVEL_CRIT

/* clang-format off */
static const struct finding_case finding_cases[] = {
    {{.name = "stale trading and a confirmed disk: two alerts", .trade_age = 40 * MIN, RES_W,
      .streak = 3, .want = STALE_, .check = "trading", .sev = SWARN},
     "trading/warning resources/warning", "liveness process loop log market trading resources",
     ""},
    {{.name = "dead process and an unprotected position: both", .dead = true,
      .m1 = "unprotected_positions", .v1 = 1, .want = STOPPED_, .check = "process", .sev = SCRIT},
     "process/critical metric:unprotected_positions/critical",
     "liveness process api log_errors resources clock metric:unprotected_positions",
     "loop log market trading"},
    {{.name = "down: only liveness judged, the rest kept", .hb_age = 5 * MIN, RES_C, .streak = 3,
      .m1 = "unprotected_positions", .v1 = 1, .want = DOWN_, .check = "liveness", .sev = SCRIT},
     "liveness/critical", "liveness",
     "process loop trading resources api clock metric:unprotected_positions"},
    {{.name = "hung: trading not judged, API still", .tick_age = 5 * MIN, .api_calls = 20,
      .api_errors = 5, .want = HUNG_, .check = "loop", .sev = SCRIT},
     "loop/critical api/critical", "liveness process loop api resources", "log market trading"},
    {{.name = "API warning beside resources not yet confirmed", .api_calls = 20, .api_errors = 2,
      RES_W, .streak = 1, .want = DEG, .check = "api", .sev = SWARN},
     "api/warning resources/none", "api resources trading", ""},
    {{.name = "two metrics: one alert each, the worse rule per metric", .m1 = "drawdown_pct",
      .v1 = 45, .m2 = "equity", .v2 = 50, .want = DEG, .check = "metric:drawdown_pct",
      .sev = SCRIT},
     "metric:drawdown_pct/critical metric:equity/warning", "metric:drawdown_pct metric:equity",
     ""},
    {{.name = "maintenance: no finding, every check judged", .dead = true, RES_C, .streak = 3,
      .maint = true, .maint_left = 1 * MIN, .want = STOPPED_, .check = "process", .sev = NONE},
     "", "liveness process trading resources intent", ""},
    {{.name = "intended stopped, trading, full disk: only intent", RES_C, .streak = 3,
      .intended_stopped = true, .want = DEG, .check = "intent", .sev = SCRIT},
     "intent/critical", "intent trading resources", ""},
    {{.name = "never traded, before stale: trading not judged yet", .trade_age = NEVER,
      .first_age = 1 * MIN, .want = HEALTHY_, .check = ""},
     "", "liveness process loop log market resources", "trading"},
    {{.name = "no heartbeat yet: nothing judged", .hb_age = NEVER, .first_age = 1 * S,
      .want = COL_ST_UNKNOWN, .check = "liveness"},
     "", "", "liveness process trading resources intent"},
    {{.name = "idle: trading judged, and passing", .tick_age = 1 * S, .trade_age = 40 * MIN,
      .want = IDLE_, .check = "trading"},
     "", "trading resources", ""},
    {{.name = "flapping and recovery are not the rules' to resolve", .want = HEALTHY_,
      .check = ""},
     "", "liveness trading", "flapping recovery"},
};
/* clang-format on */

static void assert_each_judged(const struct col_verdict *v, const char *name, const char *list,
                               bool want)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *c = strtok_r(buf, " ", &save); c; c = strtok_r(NULL, " ", &save))
        if (col_verdict_judged(v, c) != want)
            fail_msg("case %s: check %s %s", name, c, want ? "not judged" : "judged");
}

static void test_findings_table(void **state)
{
    (void)state;
    size_t n = sizeof(finding_cases) / sizeof(finding_cases[0]);
    for (size_t i = 0; i < n; i++) {
        const struct finding_case *fc = &finding_cases[i];
        const struct sig_case *c = &fc->in;
        struct col_evidence ev = sig_evidence(c);
        struct col_rule_limits lim = signal_limits();
        lim.intended_stopped = c->intended_stopped;
        struct col_verdict v;
        col_rules_evaluate(&ev, &lim, NOW_, &v);
        char got[512] = "";
        size_t len = 0;
        for (int k = 0; k < v.nfindings; k++)
            len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s/%s", k ? " " : "",
                                    v.findings[k].check, col_severity_name(v.findings[k].severity));
        print_message("case: %s -> %s/%s [%s]\n", c->name, col_status_name(v.status), v.check, got);
        assert_string_equal(col_status_name(v.status), col_status_name(c->want));
        assert_string_equal(v.check, c->check);
        assert_string_equal(col_severity_name(v.severity), col_severity_name(c->sev));
        assert_string_equal(got, fc->findings);
        for (int k = 0; k < v.nfindings; k++)
            assert_true(strlen(v.findings[k].reason) > 0);
        assert_each_judged(&v, c->name, fc->judged, true);
        assert_each_judged(&v, c->name, fc->unjudged, false);
    }
    print_message("%zu finding cases\n", n);
}

/* Hysteresis of the heartbeat's own checks (check_confirm = 3): degraded from the first failing
 * heartbeat, the alert only on the third in a row, and a passing heartbeat starts again. */
static void test_heartbeat_check_hysteresis(void **state)
{
    (void)state;
    struct col_rule_limits lim = signal_limits();
    lim.check_confirm = 3;
    const struct {
        const char *name;
        struct sig_case in;
        const char *check;
    } hcases[] = {
        {"metric rule", {.m1 = "unprotected_positions", .v1 = 1}, "metric:unprotected_positions"},
        {"api error rate", {.api_calls = 20, .api_errors = 5}, "api"},
        {"api latency", {.api_calls = 3, .api_lat = 40 * S}, "api"},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++) {
        struct col_evidence ev = sig_evidence(&hcases[i].in);
        struct col_verdict v;
        for (int beat = 1; beat <= 4; beat++, n++) {
            col_evidence_count_failures(&ev, &lim);
            col_rules_evaluate(&ev, &lim, NOW_, &v);
            print_message("case: %s, heartbeat %d -> %s/%s/%s (%s)\n", hcases[i].name, beat,
                          col_status_name(v.status), v.check, col_severity_name(v.severity),
                          v.reason);
            assert_int_equal(v.status, COL_ST_DEGRADED); /* from the first */
            assert_string_equal(v.check, hcases[i].check);
            assert_int_equal(v.severity, beat < 3 ? COL_SEV_NONE : COL_SEV_CRITICAL);
            if (beat < 3) {
                char want[32];
                snprintf(want, sizeof(want), "(%d of 3 heartbeats)", beat);
                if (!strstr(v.reason, want))
                    fail_msg("%s: reason '%s' lacks '%s'", hcases[i].name, v.reason, want);
            }
        }
        /* one passing heartbeat: healthy, and the count starts again */
        struct col_evidence ok = sig_evidence(&(struct sig_case){0});
        ok.nstreaks = ev.nstreaks;
        memcpy(ok.streaks, ev.streaks, sizeof(ok.streaks));
        col_evidence_count_failures(&ok, &lim);
        assert_int_equal(ok.nstreaks, 0);
        col_rules_evaluate(&ok, &lim, NOW_, &v);
        assert_int_equal(v.status, COL_ST_HEALTHY);
        ev.nstreaks = 0;
        col_evidence_count_failures(&ev, &lim);
        col_rules_evaluate(&ev, &lim, NOW_, &v);
        assert_int_equal(v.severity, COL_SEV_NONE);
        n += 2;
    }
    /* check_confirm 1 (or unset): at once, whatever the count */
    lim.check_confirm = 1;
    struct col_evidence ev = sig_evidence(&hcases[0].in);
    struct col_verdict v;
    col_rules_evaluate(&ev, &lim, NOW_, &v);
    assert_int_equal(v.severity, COL_SEV_CRITICAL);
    print_message("%d hysteresis cases\n", n + 1);
}

/* A heartbeat's signals land on our clock by their age on the agent's: a skewed agent clock
 * moves nothing. */
static void test_signals_to_evidence(void **state)
{
    (void)state;
    struct bp_heartbeat hb = {.has_signals = true, .has_metrics = true, .nmetrics = 1};
    int64_t skew = 3600 * S; /* the agent's clock is an hour ahead */
    int64_t sent = 1767225600000LL + skew;
    hb.signals = (struct bp_hb_signals){.tick_ts = sent - 2 * S,
                                        .market_ts = sent - 45 * S,
                                        .positions = 0,
                                        .orders = 0,
                                        .api_calls = 20,
                                        .api_errors = 3,
                                        .api_latency_ms_max = 900,
                                        .maintenance_until = sent + 10 * MIN};
    snprintf(hb.metrics[0].name, sizeof(hb.metrics[0].name), "unprotected_positions");
    hb.metrics[0].value = 2;
    struct col_evidence ev = alive();
    col_evidence_apply_signals(&ev, &hb, sent, T0);
    assert_true(ev.has_tick);
    assert_int_equal(ev.last_tick_mono, T0 - 2 * S);
    assert_int_equal(ev.last_market_mono, T0 - 45 * S);
    assert_true(ev.has_exposure);
    assert_int_equal(ev.api_errors, 3);
    assert_int_equal(ev.maintenance_until_mono, T0 + 10 * MIN);
    assert_int_equal(ev.nmetrics, 1);
    /* a tick stamped after the heartbeat (clock jitter) counts as just now */
    hb.signals.tick_ts = sent + 5;
    col_evidence_apply_signals(&ev, &hb, sent, T0);
    assert_int_equal(ev.last_tick_mono, T0);
    /* unknown exposure, a maintenance already over, no tick: none of them evidence */
    hb.signals.positions = -1;
    hb.signals.maintenance_until = sent - 1;
    hb.signals.tick_ts = 0;
    col_evidence_apply_signals(&ev, &hb, sent, T0);
    assert_false(ev.has_exposure);
    assert_int_equal(ev.maintenance_until_mono, 0);
    assert_false(ev.has_tick);
    /* the newest heartbeat is the evidence: one without signals or metrics clears them */
    hb.has_signals = hb.has_metrics = false;
    col_evidence_apply_signals(&ev, &hb, sent, T0);
    assert_false(ev.has_market);
    assert_int_equal(ev.api_calls, 0);
    assert_int_equal(ev.nmetrics, 0);
    /* a broker outage moves every signal time along */
    hb.has_signals = true;
    hb.signals.tick_ts = sent - 1 * S;
    hb.signals.maintenance_until = sent + 1 * MIN;
    col_evidence_apply_signals(&ev, &hb, sent, T0);
    col_evidence_shift(&ev, 5 * MIN);
    assert_int_equal(ev.last_tick_mono, T0 - 1 * S + 5 * MIN);
    assert_int_equal(ev.last_market_mono, T0 - 45 * S + 5 * MIN);
    assert_int_equal(ev.maintenance_until_mono, T0 + 6 * MIN);
}

/* The tailed log: silent too long is hung; errors per minute past a level degrade. */
struct log_case {
    const char *name;
    bool has_log;
    int64_t line_age; /* -1: no line yet */
    int64_t first_age, trade_age;
    bool rate_known;
    double rate;
    int64_t silence_ms;
    bool dead, intended_stopped;
    enum col_status want;
    const char *check;
    enum col_severity sev;
    const char *reason;
};

static void test_log_table(void **state)
{
    (void)state;
    static const struct log_case cases_log[] = {
        {"no log tailed", false, -1, 2 * 3600 * S, 1 * S, false, 0, 15 * MIN, false, false,
         COL_ST_HEALTHY, "", COL_SEV_NONE, NULL},
        {"line 1 s ago", true, 1 * S, 1 * 3600 * S, 1 * S, false, 0, 15 * MIN, false, false,
         COL_ST_HEALTHY, "", COL_SEV_NONE, NULL},
        {"line just inside the silence", true, 15 * MIN - 1, 1 * 3600 * S, 1 * S, false, 0,
         15 * MIN, false, false, COL_ST_HEALTHY, "", COL_SEV_NONE, NULL},
        {"line at the silence: hung", true, 15 * MIN, 1 * 3600 * S, 1 * S, false, 0, 15 * MIN,
         false, false, COL_ST_HUNG, "log", COL_SEV_CRITICAL, "log silent: no line for 15m"},
        {"no line ever, seen 15 min ago: hung", true, -1, 15 * MIN, 1 * S, false, 0, 15 * MIN,
         false, false, COL_ST_HUNG, "log", COL_SEV_CRITICAL, "no line seen in 15m"},
        {"no line ever, seen 14 min ago", true, -1, 14 * MIN, 1 * S, false, 0, 15 * MIN, false,
         false, COL_ST_HEALTHY, "", COL_SEV_NONE, NULL},
        {"silence check off", true, 3600 * S, 2 * 3600 * S, 1 * S, false, 0, 0, false, false,
         COL_ST_HEALTHY, "", COL_SEV_NONE, NULL},
        {"errors 9.9/min", true, 1 * S, 3600 * S, 1 * S, true, 9.9, 15 * MIN, false, false,
         COL_ST_HEALTHY, "", COL_SEV_NONE, NULL},
        {"errors 10/min: warning", true, 1 * S, 3600 * S, 1 * S, true, 10, 15 * MIN, false, false,
         COL_ST_DEGRADED, "log_errors", COL_SEV_WARNING, "log errors 10/min >= 10/min"},
        {"errors 59/min: warning", true, 1 * S, 3600 * S, 1 * S, true, 59, 15 * MIN, false, false,
         COL_ST_DEGRADED, "log_errors", COL_SEV_WARNING, NULL},
        {"errors 60/min: critical", true, 1 * S, 3600 * S, 1 * S, true, 60, 15 * MIN, false, false,
         COL_ST_DEGRADED, "log_errors", COL_SEV_CRITICAL, "log errors 60/min >= 60/min"},
        {"rate not yet known", true, 1 * S, 3600 * S, 1 * S, false, 500, 15 * MIN, false, false,
         COL_ST_HEALTHY, "", COL_SEV_NONE, NULL},
        {"dead process beats a silent log", true, 20 * MIN, 3600 * S, 1 * S, false, 0, 15 * MIN,
         true, false, COL_ST_STOPPED, "process", COL_SEV_CRITICAL, NULL},
        {"silent log beats stale trading", true, 16 * MIN, 3600 * S, 40 * MIN, false, 0, 15 * MIN,
         false, false, COL_ST_HUNG, "log", COL_SEV_CRITICAL, NULL},
        {"stale trading beats log errors", true, 1 * S, 3600 * S, 40 * MIN, true, 100, 15 * MIN,
         false, false, COL_ST_STALE, "trading", COL_SEV_WARNING, NULL},
        {"intended stopped, silent log: nothing raised", true, 20 * MIN, 3600 * S, 3 * 3600 * S,
         false, 0, 15 * MIN, false, true, COL_ST_IDLE, "intent", COL_SEV_NONE, NULL},
    };
    const int64_t now = T0 + 10 * 3600 * S;
    for (size_t i = 0; i < sizeof(cases_log) / sizeof(cases_log[0]); i++) {
        const struct log_case *c = &cases_log[i];
        struct col_evidence ev = alive();
        ev.first_seen_mono = now - c->first_age;
        ev.last_heartbeat_mono = now;
        ev.last_trade_mono = now - c->trade_age;
        ev.proc_alive = !c->dead;
        ev.has_log = c->has_log;
        ev.last_log_mono = c->line_age >= 0 ? now - c->line_age : 0;
        ev.log_rate_known = c->rate_known;
        ev.log_err_per_min = c->rate;
        struct col_rule_limits lim = limits;
        lim.log_silence_ms = c->silence_ms;
        lim.log_err_warn = 10;
        lim.log_err_crit = 60;
        lim.intended_stopped = c->intended_stopped;
        struct col_verdict v;
        col_rules_evaluate(&ev, &lim, now, &v);
        print_message("case: %s -> %s/%s/%s (%s)\n", c->name, col_status_name(v.status), v.check,
                      col_severity_name(v.severity), v.reason);
        assert_string_equal(col_status_name(v.status), col_status_name(c->want));
        assert_string_equal(v.check, c->check);
        assert_string_equal(col_severity_name(v.severity), col_severity_name(c->sev));
        if (c->reason && !strstr(v.reason, c->reason))
            fail_msg("case %s: reason '%s' lacks '%s'", c->name, v.reason, c->reason);
        if (c->has_log && c->silence_ms > 0 && c->want == COL_ST_HEALTHY) /* woken in time */
            assert_true(v.next_due_mono <=
                        (c->line_age >= 0 ? now - c->line_age : now - c->first_age) +
                            c->silence_ms);
    }
}

/* Learned cadence: trade_stale/trade_stopped stretched to cadence_factor x the normal gap. */
static void test_cadence_table(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        double factor;
        int64_t gap, trade_age;
        enum col_status want;
        const char *reason;
    } cc[] = {
        {"fixed: 31 min is stale", 0, 1 * 3600 * S, 31 * MIN, COL_ST_STALE, "stale after 30m)"},
        {"learned 1 h gap: 31 min is fine", 3, 1 * 3600 * S, 31 * MIN, COL_ST_HEALTHY, NULL},
        {"learned 1 h gap: just under 3 h is fine", 3, 1 * 3600 * S, 3 * 3600 * S - 1,
         COL_ST_HEALTHY, NULL},
        {"learned 1 h gap: stale at 3 h", 3, 1 * 3600 * S, 3 * 3600 * S, COL_ST_STALE,
         "stale after 3h, learned cadence"},
        {"learned 1 h gap: stopped 90 min later than fixed", 3, 1 * 3600 * S,
         4 * 3600 * S + 30 * MIN, COL_ST_STOPPED, "stopped after 4h30m, learned cadence"},
        {"learned 1 h gap: just before stopped", 3, 1 * 3600 * S, 4 * 3600 * S + 30 * MIN - 1,
         COL_ST_STALE, NULL},
        {"not learned yet: fixed", 3, 0, 31 * MIN, COL_ST_STALE, "stale after 30m)"},
        {"learned 5 min gap: never below the fixed floor", 3, 5 * MIN, 29 * MIN, COL_ST_HEALTHY,
         NULL},
        {"learned 5 min gap: stale at the fixed 30 min", 3, 5 * MIN, 30 * MIN, COL_ST_STALE,
         "stale after 30m)"},
    };
    const int64_t now = T0 + 10 * 3600 * S;
    for (size_t i = 0; i < sizeof(cc) / sizeof(cc[0]); i++) {
        struct col_evidence ev = alive();
        ev.first_seen_mono = now - 24 * 3600 * S;
        ev.last_heartbeat_mono = now;
        ev.last_trade_mono = now - cc[i].trade_age;
        ev.cadence_gap_ms = cc[i].gap;
        struct col_rule_limits lim = limits;
        lim.cadence_factor = cc[i].factor;
        struct col_verdict v;
        col_rules_evaluate(&ev, &lim, now, &v);
        print_message("case: %s -> %s (%s)\n", cc[i].name, col_status_name(v.status), v.reason);
        assert_string_equal(col_status_name(v.status), col_status_name(cc[i].want));
        if (cc[i].reason && !strstr(v.reason, cc[i].reason))
            fail_msg("case %s: reason '%s' lacks '%s'", cc[i].name, v.reason, cc[i].reason);
        if (cc[i].want == COL_ST_HEALTHY) /* woken when it could turn stale */
            assert_true(v.next_due_mono <= now - cc[i].trade_age +
                                               (cc[i].factor * cc[i].gap > 30 * MIN
                                                    ? (int64_t)(cc[i].factor * cc[i].gap)
                                                    : 30 * MIN));
    }
}

static void test_log_error_rate(void **state)
{
    (void)state;
    struct bp_heartbeat hb = {.has_log = true};
    int64_t sent = 1767225600000LL;
    struct col_evidence ev = alive();
    hb.log = (struct bp_hb_log){.last_line_ts = sent - 2 * S, .lines = 100, .errors = 5};
    col_evidence_apply_log(&ev, &hb, sent, T0);
    assert_true(ev.has_log);
    assert_int_equal(ev.last_log_mono, T0 - 2 * S);
    assert_false(ev.log_rate_known); /* the window starts */
    hb.log.errors = 11;
    col_evidence_apply_log(&ev, &hb, sent + 30 * S, T0 + 30 * S);
    assert_false(ev.log_rate_known); /* half a minute is not a rate yet */
    hb.log.errors = 17;
    col_evidence_apply_log(&ev, &hb, sent + 60 * S, T0 + 60 * S);
    assert_true(ev.log_rate_known);
    assert_true(ev.log_err_per_min > 11.99 && ev.log_err_per_min < 12.01);
    hb.log.errors = 2; /* the agent restarted: its counts start again */
    col_evidence_apply_log(&ev, &hb, sent + 70 * S, T0 + 70 * S);
    assert_false(ev.log_rate_known);
    hb.has_log = false; /* log_file removed from the agent's config */
    col_evidence_apply_log(&ev, &hb, sent + 80 * S, T0 + 80 * S);
    assert_false(ev.has_log);
}

struct parse_case {
    const char *text;
    int rc;
    const char *metric; /* or the start of the error */
    enum col_op op;
    double value;
    enum col_severity sev;
};

static void test_metric_rule_parse(void **state)
{
    (void)state;
    static const struct parse_case pcases[] = {
        {"unprotected_positions > 0 critical", 0, "unprotected_positions", COL_OP_GT, 0, SCRIT},
        {"  drawdown_pct >= 20.5 warning ", 0, "drawdown_pct", COL_OP_GE, 20.5, SWARN},
        {"equity < -1e3 warning", 0, "equity", COL_OP_LT, -1000, SWARN},
        {"a <= 1 critical", 0, "a", COL_OP_LE, 1, SCRIT},
        {"a == 1 critical", 0, "a", COL_OP_EQ, 1, SCRIT},
        {"a != 1 warning", 0, "a", COL_OP_NE, 1, SWARN},
        {"a > 0", -EINVAL, "'a > 0': want NAME OP NUMBER SEVERITY", 0, 0, 0},
        {"a > 0 critical now", -EINVAL, "'a > 0 critical now': want", 0, 0, 0},
        {"A > 0 critical", -EINVAL, "'A > 0 critical': metric name 'A' is not", 0, 0, 0},
        {"a => 0 critical", -EINVAL, "'a => 0 critical': operator '=>' is not one of", 0, 0, 0},
        {"a > x critical", -EINVAL, "'a > x critical': 'x' is not a number", 0, 0, 0},
        {"a > nan critical", -EINVAL, "'a > nan critical': 'nan' is not a number", 0, 0, 0},
        {"a > 0 info", -EINVAL, "'a > 0 info': severity 'info' is not warning or critical", 0, 0,
         0},
    };
    for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
        const struct parse_case *c = &pcases[i];
        struct col_metric_rule r;
        char why[160] = "";
        int rc = col_metric_rule_parse(c->text, &r, why, sizeof(why));
        if (rc != c->rc)
            fail_msg("'%s': rc %d (%s)", c->text, rc, why);
        if (rc != 0) {
            if (strncmp(why, c->metric, strlen(c->metric)) != 0)
                fail_msg("'%s': error '%s', want it to start with '%s'", c->text, why, c->metric);
            continue;
        }
        assert_string_equal(r.metric, c->metric);
        assert_int_equal(r.op, c->op);
        assert_true(r.value == c->value);
        assert_int_equal(r.severity, c->sev);
        assert_true(strncmp(r.check, "metric:", 7) == 0);
        assert_string_equal(r.check + 7, c->metric);
    }
    struct col_metric_rule rules[3];
    int n = 0;
    char why[160];
    assert_int_equal(
        col_metric_rules_parse("a > 0 critical, b < 1 warning", rules, &n, 3, why, sizeof(why)), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rules[1].metric, "b");
    assert_int_equal(
        col_metric_rules_parse("c > 0 critical, d > 0 critical", rules, &n, 3, why, sizeof(why)),
        -EINVAL);
    assert_string_equal(why, "more than 3 metric rules for one bot");
    n = 0;
    assert_int_equal(col_metric_rules_parse("", rules, &n, 3, why, sizeof(why)), 0);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_layer_table),
        cmocka_unit_test(test_log_table),
        cmocka_unit_test(test_cadence_table),
        cmocka_unit_test(test_log_error_rate),
        cmocka_unit_test(test_clock_table),
        cmocka_unit_test(test_trading_while_intended_stopped_has_a_deadline),
        cmocka_unit_test(test_resource_levels_at_each_boundary),
        cmocka_unit_test(test_per_bot_limits),
        cmocka_unit_test(test_reason_texts),
        cmocka_unit_test(test_severity_mapping),
        cmocka_unit_test(test_signal_table),
        cmocka_unit_test(test_findings_table),
        cmocka_unit_test(test_heartbeat_check_hysteresis),
        cmocka_unit_test(test_signals_to_evidence),
        cmocka_unit_test(test_metric_rule_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
