/* SPDX-License-Identifier: MIT */
/* The collector's settings: defaults, overrides, and the cross-key checks that the key table
 * alone cannot make (each error names the file, the section and the key). */
#include "settings.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE "[mqtt]\nurl = tcp://127.0.0.1:1883\n[database]\nconninfo = dbname=x\n"

/* Loads text as a collector.ini; returns the loader's result, err filled. */
static int load(const char *text, struct col_settings *s, char *err, size_t errlen)
{
    char path[] = "/tmp/bp-settings-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    memset(s, 0, sizeof(*s));
    int rc = col_settings_load(path, s, err, errlen);
    unlink(path);
    return rc;
}

static void test_defaults_and_webhook(void **state)
{
    (void)state;
    struct col_settings s;
    char err[512] = "";
    assert_int_equal(load(BASE "[webhook]\nurl = https://hooks.example/x\nformat = slack\n", &s,
                          err, sizeof(err)),
                     0);
    assert_string_equal(s.webhook_url, "https://hooks.example/x");
    assert_string_equal(s.webhook_format, "slack");
    assert_int_equal(s.webhook_retries, 5);
    assert_int_equal(s.webhook_backoff_ms, 1000);
    assert_int_equal(s.webhook_timeout_ms, 5000);
    assert_int_equal(s.limits.trade_stale_ms, 30 * 60 * 1000);
    assert_int_equal(s.limits.trade_stopped_ms, 2 * 3600 * 1000);
    col_settings_cleanup(&s);
    assert_int_equal(load(BASE "[bot b1]\nintended = stopped\nagent = vps-1\n[bot b2]\n"
                               "trade_stale = 1h\n",
                          &s, err, sizeof(err)),
                     0);
    assert_string_equal(col_settings_find_bot(&s, "b1")->agent, "vps-1");
    struct col_rule_limits l;
    col_settings_limits_for(&s, "b1", "", &l);
    assert_true(l.intended_stopped);
    assert_int_equal(l.confirm, 3);
    assert_int_equal(l.check_confirm, 3);
    assert_true(l.cpu.warn == 80 && l.cpu.crit == 95 && l.disk.crit == 95);
    col_settings_limits_for(&s, "b2", "", &l);
    assert_false(l.intended_stopped);
    assert_int_equal(l.trade_stale_ms, 3600 * 1000);
    col_settings_cleanup(&s);
    /* [rules] < [account] < [bot]; a bot's configured account wins over its agent's label */
    assert_int_equal(load(BASE "[account quiet]\ntrade_stale = 3h\ntrade_stopped = 9h\n"
                               "check_confirm = 5\n"
                               "[bot b1]\ntrade_stale = 4h\ntrade_stopped = 10h\n"
                               "check_confirm = 1\n[bot b3]\naccount = quiet\n",
                          &s, err, sizeof(err)),
                     0);
    col_settings_limits_for(&s, "b1", "quiet", &l);
    assert_int_equal(l.check_confirm, 1); /* the bot's own wins */
    assert_int_equal(l.trade_stale_ms, 4 * 3600 * 1000);
    assert_int_equal(l.trade_stopped_ms, 10 * 3600 * 1000);
    assert_int_equal(l.heartbeat_misses, 3);
    col_settings_limits_for(&s, "b2", "quiet", &l);
    assert_int_equal(l.check_confirm, 5); /* the account's */
    assert_int_equal(l.trade_stale_ms, 3 * 3600 * 1000);
    assert_int_equal(l.trade_stopped_ms, 9 * 3600 * 1000);
    col_settings_limits_for(&s, "b2", "other", &l);
    assert_int_equal(l.trade_stale_ms, 30 * 60 * 1000);
    col_settings_limits_for(&s, "b3", "", &l);
    assert_int_equal(l.trade_stale_ms, 3 * 3600 * 1000);
    assert_true(l.cadence_factor == 0); /* fixed unless asked */
    col_settings_cleanup(&s);
    assert_int_equal(load(BASE "[rules]\ncadence_factor = 4\n[bot q]\ncadence = learned\n", &s, err,
                          sizeof(err)),
                     0);
    col_settings_limits_for(&s, "q", "", &l);
    assert_true(l.cadence_factor == 4);
    assert_int_equal(l.cadence_min_samples, 5);
    col_settings_limits_for(&s, "other", "", &l);
    assert_true(l.cadence_factor == 0);
    col_settings_cleanup(&s);
    /* recovery: [recovery], then [account], then [bot] */
    assert_int_equal(load(BASE "[recovery]\nsigning_key_file = /k\n"
                               "[account careful]\nrecovery_ladder = restart\npre_restart = on\n"
                               "[account hands-off]\nrecovery = off\n"
                               "[bot b7]\naccount = hands-off\nrecovery = on\n",
                          &s, err, sizeof(err)),
                     0);
    struct col_recovery_policy rp;
    col_settings_recovery_for(&s, "b1", "", &rp);
    assert_true(rp.enabled && !rp.pre_restart);
    int full_ladder = rp.nladder;
    col_settings_recovery_for(&s, "b1", "careful", &rp);
    assert_true(rp.enabled && rp.pre_restart);
    assert_true(rp.nladder == 1 && full_ladder == 3);
    col_settings_recovery_for(&s, "b2", "hands-off", &rp);
    assert_false(rp.enabled);
    col_settings_recovery_for(&s, "b7", "", &rp); /* its own section wins over its account's */
    assert_true(rp.enabled);
    col_settings_cleanup(&s);
    assert_int_equal(load(BASE, &s, err, sizeof(err)), 0);
    assert_string_equal(s.webhook_url, ""); /* no webhook unless asked for */
    col_settings_cleanup(&s);
}

static void expect_error(const char *text, const char *needle)
{
    struct col_settings s;
    char err[512] = "";
    assert_true(load(text, &s, err, sizeof(err)) < 0);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
    col_settings_cleanup(&s);
}

static void test_cross_key_errors(void **state)
{
    (void)state;
    expect_error(BASE "[webhook]\nurl = http://x/\nformat = email\n", "[webhook] format");
    expect_error(BASE "[webhook]\nurl = ftp://x/\n", "[webhook] url");
    expect_error(BASE "[webhook]\nurl = https://api.telegram.org/botT/sendMessage\n"
                      "format = telegram\n",
                 "chat_id");
    expect_error(BASE "[webhook]\nretries = 1000\n", "retries");
    expect_error(BASE "[rules]\ntrade_stale = 3h\n", "trade_stale must be shorter");
    expect_error(BASE "[bot b1]\ntrade_stale = 5h\n", "[bot b1]");
    expect_error(BASE "[bot b1]\nintended = paused\n", "[bot b1] intended");
    expect_error(BASE "[bot b1]\nagent = agent/1\n", "[bot b1] agent");
    expect_error(BASE "[rules]\ncadence = guessed\n", "[rules] cadence");
    expect_error(BASE "[account a1]\nrecovery = maybe\n", "[account a1] recovery");
    expect_error(BASE "[account a1]\nrecovery_ladder = pray\n", "[account a1] recovery_ladder");
    expect_error(BASE "[bot b1]\ncadence = weekly\n", "[bot b1] cadence");
    expect_error(BASE "[account a1]\ntrade_stale = 5h\n", "[account a1] trade_stale");
    expect_error(BASE "[account bad id]\n", "not a valid account id");
    expect_error(BASE "[rules]\ncpu_warn = 96\n", "cpu_warn must not be above cpu_crit");
    expect_error(BASE "[rules]\ndisk_crit = 102\n", "disk_crit");
}

/* Signal thresholds and metric rules: defaults, [rules] ones for every bot, a bot's own added. */
/* [database]: the history's partitions and retention; a retention under a day (it would drop
 * the partition being written) is refused, 0 keeps forever. */
static void test_history_retention(void **state)
{
    (void)state;
    struct col_settings s;
    char err[512] = "";
    assert_int_equal(load(BASE, &s, err, sizeof(err)), 0);
    assert_int_equal(s.db_partition_days, 1);
    assert_int_equal(s.db_partition_ahead_days, 3);
    assert_int_equal(s.db_maintenance_interval_ms, 15 * 60 * 1000);
    assert_true(s.db_retention_samples_ms == INT64_C(30) * 86400000);
    assert_true(s.db_retention_trades_ms == INT64_C(400) * 86400000);
    assert_true(s.db_retention_transitions_ms == INT64_C(730) * 86400000);
    col_settings_cleanup(&s);
    assert_int_equal(
        load(BASE "retention_trades = 0\nretention_samples = 7d\n", &s, err, sizeof(err)), 0);
    assert_true(s.db_retention_trades_ms == 0);
    assert_true(s.db_retention_samples_ms == INT64_C(7) * 86400000);
    col_settings_cleanup(&s);
    expect_error(BASE "retention_samples = 12h\n", "retention_samples");
    expect_error(BASE "retention_alerts = 3600\n", "retention_alerts");
    expect_error(BASE "partition_days = 0\n", "partition_days");
}

static void test_signal_settings(void **state)
{
    (void)state;
    struct col_settings s;
    char err[512] = "";
    assert_int_equal(load(BASE "[rules]\nmetric_rule = unprotected_positions > 0 critical\n"
                               "[bot b1]\ntick_timeout = 20s\nmarket_stale = 5s\n"
                               "metric_rule = drawdown_pct >= 20 warning, equity < 10 critical\n",
                          &s, err, sizeof(err)),
                     0);
    struct col_rule_limits l;
    col_settings_limits_for(&s, "other", "", &l);
    assert_int_equal(l.tick_timeout_ms, 60000);
    assert_false(l.tick_expected);
    assert_int_equal(l.market_stale_ms, 30000);
    assert_true(l.api_err_warn == 10 && l.api_err_crit == 20);
    assert_int_equal(l.api_min_calls, 5);
    assert_int_equal(l.api_latency_warn_ms, 10000);
    assert_int_equal(l.api_latency_crit_ms, 30000);
    assert_int_equal(l.nmetric_rules, 1);
    assert_string_equal(l.metric_rules[0].check, "metric:unprotected_positions");
    col_settings_limits_for(&s, "b1", "", &l);
    assert_int_equal(l.tick_timeout_ms, 20000);
    assert_true(l.tick_expected);
    assert_int_equal(l.market_stale_ms, 5000);
    assert_int_equal(l.nmetric_rules, 3);
    assert_string_equal(l.metric_rules[0].metric, "unprotected_positions");
    assert_string_equal(l.metric_rules[2].metric, "equity");
    assert_int_equal(l.metric_rules[2].severity, COL_SEV_CRITICAL);
    col_settings_cleanup(&s);
    assert_int_equal(load(BASE "[rules]\nmetric_rule = x > 0 fatal\n", &s, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "[rules] metric_rule: 'x > 0 fatal': severity 'fatal'"));
    col_settings_cleanup(&s);
    assert_int_equal(load(BASE "[bot b9]\nmetric_rule = Bad > 0 critical\n", &s, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "[bot b9] metric_rule: 'Bad > 0 critical': metric name"));
    col_settings_cleanup(&s);
    assert_int_equal(
        load(BASE "[rules]\napi_error_warn = 30\napi_error_crit = 20\n", &s, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "api_error_warn"));
    col_settings_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_settings),
        cmocka_unit_test(test_defaults_and_webhook),
        cmocka_unit_test(test_cross_key_errors),
        cmocka_unit_test(test_history_retention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
