/* SPDX-License-Identifier: MIT */
/* The health rules on a fake clock, evidence in: a heartbeat's signals and log counts mapped
 * onto our clock, the tailed log's silence and error rate, the learned cadence, and the
 * metric rules' grammar. */
#include "rules_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
    struct col_evidence ev = rfx_alive();
    col_evidence_apply_signals(&ev, &hb, sent, T0);
    assert_true(ev.has_tick);
    assert_int_equal(ev.last_tick_mono, T0 - 2 * S);
    assert_int_equal(ev.last_market_mono, T0 - 45 * S);
    assert_true(ev.has_exposure);
    assert_int_equal(ev.api_errors, 3);
    assert_int_equal(ev.maintenance_until_mono, T0 + 10 * MIN);
    assert_int_equal(ev.nmetrics, 1);
    assert_string_equal(ev.metrics[0].name, "unprotected_positions");
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
    assert_null(ev.metrics); /* nothing kept for bots without metrics */
    /* a broker outage moves every signal time along */
    hb.has_signals = true;
    hb.signals.tick_ts = sent - 1 * S;
    hb.signals.maintenance_until = sent + 1 * MIN;
    col_evidence_apply_signals(&ev, &hb, sent, T0);
    col_evidence_shift(&ev, 5 * MIN);
    assert_int_equal(ev.last_tick_mono, T0 - 1 * S + 5 * MIN);
    assert_int_equal(ev.last_market_mono, T0 - 45 * S + 5 * MIN);
    assert_int_equal(ev.maintenance_until_mono, T0 + 6 * MIN);
    col_evidence_cleanup(&ev);
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
        struct col_evidence ev = rfx_alive();
        ev.first_seen_mono = now - c->first_age;
        ev.last_heartbeat_mono = now;
        ev.last_trade_mono = now - c->trade_age;
        ev.proc_alive = !c->dead;
        ev.has_log = c->has_log;
        ev.last_log_mono = c->line_age >= 0 ? now - c->line_age : 0;
        ev.log_rate_known = c->rate_known;
        ev.log_err_per_min = c->rate;
        struct col_rule_limits lim = rfx_limits;
        lim.log_silence_ms = c->silence_ms;
        lim.log_err_warn = 10;
        lim.log_err_crit = 60;
        lim.intended_stopped = c->intended_stopped;
        struct col_verdict v;
        rfx_judge(c->name, &ev, &lim, now, c->want, c->check, c->sev, &v);
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
        struct col_evidence ev = rfx_alive();
        ev.first_seen_mono = now - 24 * 3600 * S;
        ev.last_heartbeat_mono = now;
        ev.last_trade_mono = now - cc[i].trade_age;
        ev.cadence_gap_ms = cc[i].gap;
        struct col_rule_limits lim = rfx_limits;
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
    struct col_evidence ev = rfx_alive();
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
        cmocka_unit_test(test_signals_to_evidence), cmocka_unit_test(test_log_table),
        cmocka_unit_test(test_cadence_table),       cmocka_unit_test(test_log_error_rate),
        cmocka_unit_test(test_metric_rule_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
