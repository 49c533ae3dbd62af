/* SPDX-License-Identifier: MIT */
/* The health rules on a fake clock, what the bot says about itself: loop tick, market data,
 * exposure, exchange API, metric rules, maintenance; the findings they give (one per failing
 * check, each its own alert) and the hysteresis before a check's alert. */
#include "rules_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct col_rule_limits l = rfx_limits;
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
    struct col_evidence ev = rfx_alive();
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
    ev.metrics = calloc(2, sizeof(ev.metrics[0])); /* as the engine's: col_evidence_cleanup */
    assert_non_null(ev.metrics);
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
        rfx_judge(c->name, &ev, &lim, NOW_, c->want, c->check, c->sev, &v);
        if (c->next != 0 && c->next != UNCHECKED)
            assert_int_equal(v.next_due_mono, c->next == INT64_MAX ? INT64_MAX : NOW_ + c->next);
        if (c->reason && !strstr(v.reason, c->reason))
            fail_msg("case %s: reason '%s' lacks '%s'", c->name, v.reason, c->reason);
        assert_true(strlen(v.reason) > 0);
        col_evidence_cleanup(&ev);
    }
    print_message("%zu signal cases\n", n);
}

/* ---- findings: one per failing check, each its own alert -------------------------------- */

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
        col_evidence_cleanup(&ev);
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
        ok.nstreaks = ev.nstreaks; /* the counts move over to the passing evidence */
        ok.streaks = ev.streaks;
        ev.streaks = NULL;
        col_evidence_count_failures(&ok, &lim);
        assert_int_equal(ok.nstreaks, 0);
        col_rules_evaluate(&ok, &lim, NOW_, &v);
        assert_int_equal(v.status, COL_ST_HEALTHY);
        ev.nstreaks = 0;
        col_evidence_count_failures(&ev, &lim);
        col_rules_evaluate(&ev, &lim, NOW_, &v);
        assert_int_equal(v.severity, COL_SEV_NONE);
        col_evidence_cleanup(&ok);
        col_evidence_cleanup(&ev);
        n += 2;
    }
    /* check_confirm 1 (or unset): at once, whatever the count */
    lim.check_confirm = 1;
    struct col_evidence ev = sig_evidence(&hcases[0].in);
    struct col_verdict v;
    col_rules_evaluate(&ev, &lim, NOW_, &v);
    assert_int_equal(v.severity, COL_SEV_CRITICAL);
    col_evidence_cleanup(&ev);
    print_message("%d hysteresis cases\n", n + 1);
}

/* A heartbeat's signals land on our clock by their age on the agent's: a skewed agent clock
 * moves nothing. */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_table),
        cmocka_unit_test(test_findings_table),
        cmocka_unit_test(test_heartbeat_check_hysteresis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
