/* SPDX-License-Identifier: MIT */
/* botpulse-ctl without a collector: argument parsing (every usage error), the request each
 * command makes, the tables it prints and the exit code each answer means. */
#include "ctl_args.h"
#include "ctl_format.h"
#include "ctl_report.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000000LL

/* Parses "botpulse-ctl LINE" (words split at spaces) with $BOTPULSE_TOKEN and $BOTPULSE_URL
 * as given (NULL: unset). */
static int parse_env(struct ctl_cmd *c, char *err, const char *token, const char *url,
                     const char *line)
{
    char buf[512], *argv[32];
    int argc = 0;
    snprintf(buf, sizeof(buf), "botpulse-ctl %s", line);
    char *save = NULL;
    for (char *w = strtok_r(buf, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    struct ctl_env env = {.token = token, .url = url};
    return ctl_args_parse(argc, argv, &env, NOW, c, err, 256);
}

static int parse(struct ctl_cmd *c, char *err, const char *line)
{
    return parse_env(c, err, NULL, NULL, line);
}

static void expect_request(const char *line, const char *method, const char *path)
{
    struct ctl_cmd c;
    char err[256] = "", got[1024];
    const char *m;
    if (parse(&c, err, line) < 0)
        fail_msg("'%s': %s", line, err);
    assert_int_equal(ctl_request(&c, &m, got, sizeof(got)), 0);
    assert_string_equal(m, method);
    assert_string_equal(got, path);
}

static void test_requests(void **state)
{
    expect_request("status", "GET", "/fleet/summary");
    expect_request("status --account fund-a", "GET", "/fleet/summary?account=fund-a");
    expect_request("--json bots", "GET", "/bots?sort=status&order=desc&limit=1000");
    expect_request("bots --status down --host vps-1 --limit 5", "GET",
                   "/bots?status=down&sort=status&order=desc&host=vps-1&limit=5");
    expect_request("bot eth-grid-1", "GET", "/bots/eth-grid-1");
    expect_request("history b1 --since 1h", "GET", "/bots/b1/history?from=1699996400000");
    expect_request("history b1 --since 1699990000000 --limit 10", "GET",
                   "/bots/b1/history?from=1699990000000&limit=10");
    expect_request("alerts", "GET", "/alerts");
    expect_request("recheck b1 --token t", "POST", "/bots/b1/health/check");
    expect_request("restart b1 --yes", "POST", "/bots/b1/restart");
    expect_request("restart b1", "POST", "/bots/b1/restart");
    expect_request("intend b1 stopped", "POST", "/bots/b1/intended");
    expect_request("move b1 agent-2", "POST", "/bots/b1/agent");
    struct ctl_cmd c;
    char err[256];
    assert_int_equal(parse(&c, err, "restart b1 --yes"), 0);
    assert_true(c.yes);
    assert_true(ctl_needs_token(c.verb));
    assert_int_equal(parse(&c, err, "intend b1 running"), 0);
    assert_true(ctl_needs_token(c.verb));
    bool berr;
    char *body = ctl_request_body(&c, &berr);
    assert_false(berr);
    assert_string_equal(body, "{\"state\":\"running\"}");
    free(body);
    assert_int_equal(parse(&c, err, "move b1 agent-2"), 0);
    assert_true(ctl_needs_token(c.verb));
    body = ctl_request_body(&c, &berr);
    assert_false(berr);
    assert_string_equal(body, "{\"agent\":\"agent-2\"}");
    free(body);
}

static void test_percent_encoding(void **state)
{
    struct ctl_cmd c;
    char err[256], path[256];
    const char *m;
    assert_int_equal(parse(&c, err, "bots"), 0);
    snprintf(c.host, sizeof(c.host), "vps eu/1&x=y");
    assert_int_equal(ctl_request(&c, &m, path, sizeof(path)), 0);
    assert_string_equal(path, "/bots?sort=status&order=desc&host=vps%20eu%2F1%26x%3Dy&limit=1000");
    assert_int_equal(ctl_request(&c, &m, path, 20), -ENOSPC);
}

static void expect_usage_error(const char *line, const char *why)
{
    struct ctl_cmd c;
    char err[256] = "";
    if (parse(&c, err, line) != -EINVAL)
        fail_msg("'%s' was accepted", line);
    if (!strstr(err, why))
        fail_msg("'%s': '%s' lacks '%s'", line, err, why);
}

static void test_usage_errors(void **state)
{
    expect_usage_error("", "no command");
    expect_usage_error("frobnicate", "unknown command");
    expect_usage_error("bot", "needs one bot ID");
    expect_usage_error("bot a b", "needs one bot ID");
    expect_usage_error("status x", "takes no ID");
    expect_usage_error("bot bad/id", "bot ID");
    expect_usage_error("bots --status sleepy", "--status");
    expect_usage_error("bots --status", "--status");
    expect_usage_error("status --since 1h", "--since is for history");
    expect_usage_error("history b --since 1y", "--since");
    expect_usage_error("history b --since -5", "--since");
    expect_usage_error("history b --limit 0", "--limit");
    expect_usage_error("history b --limit 1001", "--limit");
    expect_usage_error("bot b --status down", "--status is for bots");
    expect_usage_error("alerts --account a", "--account and --host");
    expect_usage_error("status --url ftp://x", "--url");
    expect_usage_error("status --url", "--url needs a value");
    expect_usage_error("status --verbose", "unknown option");
    expect_usage_error("recheck b --token a --token-file /f", "give one");
    expect_usage_error("recheck b --token-file", "--token-file needs a value");
}

static void test_options_and_defaults(void **state)
{
    struct ctl_cmd c;
    char err[256];
    char *argv[] = {"botpulse-ctl", "bot", "b1", "--url", "http://h:9/", NULL};
    struct ctl_env env = {.token = "env-token"};
    assert_int_equal(ctl_args_parse(5, argv, &env, NOW, &c, err, sizeof(err)), 0);
    assert_string_equal(c.url, "http://h:9");
    assert_string_equal(c.token, "env-token");
    assert_false(c.json);
    assert_int_equal(parse(&c, err, "--json alerts --token cli"), 0);
    assert_true(c.json);
    assert_string_equal(c.token, "cli");
    assert_string_equal(c.url, "http://127.0.0.1:8080");
    assert_int_equal(parse(&c, err, "status --help"), 0);
    assert_int_equal(c.verb, CTL_HELP);
    assert_int_equal(parse(&c, err, "--version"), 0);
    assert_int_equal(c.verb, CTL_VERSION);
    /* $BOTPULSE_URL and $BOTPULSE_TOKEN; --url, --token and --token-file win over them */
    assert_int_equal(parse_env(&c, err, "env-token", "http://central:8080/", "status"), 0);
    assert_string_equal(c.url, "http://central:8080");
    assert_string_equal(c.token, "env-token");
    assert_false(c.token_on_argv);
    assert_int_equal(parse_env(&c, err, NULL, "http://central:8080", "--url http://o:1 status"), 0);
    assert_string_equal(c.url, "http://o:1");
    assert_int_equal(parse_env(&c, err, "env-token", NULL, "recheck b1 --token-file /etc/t"), 0);
    assert_string_equal(c.token_file, "/etc/t");
    assert_string_equal(c.token, ""); /* main reads the file */
    assert_int_equal(parse_env(&c, err, "env-token", NULL, "recheck b1 --token cli"), 0);
    assert_string_equal(c.token, "cli");
    assert_true(c.token_on_argv);
    assert_int_equal(parse_env(&c, err, NULL, "ftp://x", "status"), -EINVAL);
    assert_non_null(strstr(err, "--url"));
    int64_t t;
    assert_int_equal(ctl_parse_since("90s", NOW, &t), 0);
    assert_int_equal(t, NOW - 90000);
    assert_int_equal(ctl_parse_since("7d", NOW, &t), 0);
    assert_int_equal(t, NOW - 7 * 86400000LL);
    assert_int_equal(ctl_parse_since("0", NOW, &t), -EINVAL);
    assert_int_equal(ctl_parse_since("h", NOW, &t), -EINVAL);
    assert_int_equal(ctl_parse_since("99999999999999999d", NOW, &t), -EINVAL);
}

/* Runs ctl_print for the verb of line over json; returns the malloc'd output. */
static char *render(const char *line, const char *json, int *rc)
{
    struct ctl_cmd c;
    char err[256], *out = NULL;
    size_t n = 0;
    assert_int_equal(parse(&c, err, line), 0);
    cJSON *body = cJSON_Parse(json);
    assert_non_null(body);
    FILE *f = open_memstream(&out, &n);
    *rc = ctl_print(f, &c, body, NOW);
    fclose(f);
    cJSON_Delete(body);
    return out;
}

static void test_tables(void **state)
{
    int rc;
    char *out = render("bots",
                       "{\"total\":2,\"bots\":[{\"id\":\"b-long-name\",\"status\":\"stopped\","
                       "\"reason\":\"process not running\",\"account\":\"acct\",\"host\":\"h1\","
                       "\"since\":1699999880000,\"last_heartbeat\":1699999999000,"
                       "\"alert\":{\"severity\":\"critical\"}},{\"id\":\"b2\",\"status\":"
                       "\"healthy\",\"reason\":\"ok\",\"account\":\"\",\"host\":\"h1\","
                       "\"since\":1690000000000,\"last_heartbeat\":0,\"alert\":null}]}",
                       &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out,
                        "BOT          STATUS   ACCOUNT  HOST  SINCE        HEARTBEAT  ALERT     "
                        "REASON\n"
                        "b-long-name  stopped  acct     h1    2m00s ago    1s ago     critical  "
                        "process not running\n"
                        "b2           healthy  -        h1    115d17h ago  never      -         "
                        "ok\n");
    free(out);
    out = render("status",
                 "{\"total\":3,\"by_status\":{\"unknown\":0,\"healthy\":2,"
                 "\"stopped\":1},\"by_account\":{\"a\":{\"total\":3,\"by_status\":"
                 "{\"healthy\":2,\"stopped\":1}}},\"by_host\":{}}",
                 &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "3 bots: healthy 2, stopped 1\n\nACCOUNT  BOTS  BY STATUS\n"
                             "a        3     healthy 2, stopped 1\n");
    free(out);
    out = render("alerts", "{\"alerts\":[]}", &rc);
    assert_string_equal(out, "no open alerts\n");
    free(out);
    /* a bot with two failing checks: both alerts, one line each */
    out = render("bot b",
                 "{\"id\":\"b\",\"status\":\"stale\",\"check\":\"trading\",\"reason\":\"r\","
                 "\"since\":1699999880000,\"alerts\":[{\"alert_id\":\"x-a1\",\"severity\":"
                 "\"warning\",\"check\":\"trading\",\"reason\":\"last trade 40m ago\","
                 "\"opened_at\":1699999880000},{\"alert_id\":\"x-a2\",\"severity\":"
                 "\"critical\",\"check\":\"resources\",\"reason\":\"disk 97%\","
                 "\"opened_at\":1699999940000}]}",
                 &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "alerts:         warning x-a1 (check trading, opened 2m00s ago): "
                                "last trade 40m ago\n"));
    assert_non_null(strstr(out, "\n                critical x-a2 (check resources, opened "
                                "1m00s ago): disk 97%\n"));
    free(out);
    out = render("history b",
                 "{\"transitions\":[{\"ts\":1700000000000,\"from\":\"healthy\","
                 "\"to\":\"down\",\"check\":\"liveness\",\"reason\":\"r\"}]}",
                 &rc);
    assert_string_equal(out, "TIME                  FROM     TO    CHECK     REASON\n"
                             "2023-11-14 22:13:20Z  healthy  down  liveness  r\n");
    free(out);
    out = render("bot b", "{\"nope\":1}", &rc);
    assert_int_equal(rc, -EINVAL);
    free(out);
    out = render("bots", "{\"bots\":7}", &rc);
    assert_int_equal(rc, -EINVAL);
    free(out);
}

static void test_exit_codes(void **state)
{
    struct ctl_cmd c;
    char err[256];
    cJSON *ok = cJSON_Parse("{\"by_status\":{\"healthy\":2,\"idle\":1,\"down\":0}}");
    cJSON *bad = cJSON_Parse("{\"by_status\":{\"healthy\":2,\"stale\":1}}");
    assert_int_equal(parse(&c, err, "status"), 0);
    assert_int_equal(ctl_exit_for(&c, 200, ok), CTL_EXIT_OK);
    assert_int_equal(ctl_exit_for(&c, 200, bad), CTL_EXIT_UNHEALTHY);
    assert_int_equal(ctl_exit_for(&c, 503, NULL), CTL_EXIT_REFUSED);
    assert_int_equal(parse(&c, err, "bot x"), 0);
    assert_int_equal(ctl_exit_for(&c, 404, NULL), CTL_EXIT_NOT_FOUND);
    assert_int_equal(ctl_exit_for(&c, 200, bad), CTL_EXIT_OK);
    assert_int_equal(parse(&c, err, "recheck x"), 0);
    assert_int_equal(ctl_exit_for(&c, 401, NULL), CTL_EXIT_REFUSED);
    cJSON_Delete(ok);
    cJSON_Delete(bad);
    char buf[32];
    ctl_format_age(3723000, buf, sizeof(buf));
    assert_string_equal(buf, "1h02m");
    ctl_format_age(-1, buf, sizeof(buf));
    assert_string_equal(buf, "-");
    ctl_format_time(0, buf, sizeof(buf));
    assert_string_equal(buf, "never");
}

static void test_silence_and_report_commands(void **state)
{
    expect_request("silence list", "GET", "/silences");
    expect_request("silence rm 0123abcd-7", "DELETE", "/silences/0123abcd-7");
    expect_request("silence add --bot b1 --for 30m --reason deploy", "POST", "/silences");
    expect_request("report", "GET", "/report");
    expect_request("report --from 2h --to 1h --bot b1", "GET",
                   "/report?from=1699992800000&to=1699996400000&bot=b1");
    struct ctl_cmd c;
    char err[256] = "";
    bool e;
    assert_int_equal(parse(&c, err,
                           "silence add --bot b1 --check liveness --for 30m --reason "
                           "deploy --by alice"),
                     0);
    assert_true(ctl_needs_token(c.verb));
    char *body = ctl_request_body(&c, &e);
    assert_false(e);
    assert_string_equal(body, "{\"bot\":\"b1\",\"check\":\"liveness\",\"duration\":\"30m\","
                              "\"reason\":\"deploy\",\"by\":\"alice\"}");
    free(body);
    assert_int_equal(parse(&c, err, "report --format json"), 0);
    assert_true(c.json);
    assert_false(ctl_needs_token(c.verb));
    static const char *const bad[] = {
        "silence",
        "silence add --for 30m --reason r", /* no matcher */
        "silence add --bot b1 --reason r",  /* no end */
        "silence add --bot b1 --for 1h --until 1800000000000 --reason r",
        "silence add --bot b1 --for 1h", /* no reason */
        "silence rm",
        "silence rm a/b",
        "silence frob",
        "bots --reason r",          /* not for bots */
        "report --from 1h --to 2h", /* from after to */
        "report --format xml",
        "report --since 1h",
        "status --bot b1",
        "restart", /* no bot */
        "restart a/b",
        "restart b1 b2",
        "bot b1 --yes", /* --yes is for restart */
        "intend b1",
        "intend b1 paused",
        "intend a/b stopped",
        "intend b1 stopped --yes",
        "move b1",
        "move b1 a/b",
        "move b1 agent-2 --yes",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(&c, err, bad[i]) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
}

static void test_report_markdown(void **state)
{
    const char *json =
        "{\"from\":1699996400000,\"to\":1700000000000,\"truncated\":false,"
        "\"fleet\":{\"bots\":1,\"uptime_pct\":75,\"time_in_status_ms\":{\"healthy\":2700000,"
        "\"down\":900000},\"heartbeat_gaps\":{\"count\":1,\"total_ms\":900000,"
        "\"longest_ms\":900000},\"alerts\":{\"warning\":0,\"critical\":1},\"trades\":10,"
        "\"trades_per_hour\":10,\"worst_incidents\":[{\"bot\":\"b1\",\"start\":1699997000000,"
        "\"end\":1699997900000,\"duration_ms\":900000,\"worst_status\":\"down\"}]},"
        "\"bots\":[{\"bot\":\"b1\",\"uptime_pct\":75,\"time_in_status_ms\":{\"healthy\":2700000,"
        "\"down\":900000},\"heartbeat_gaps\":{\"count\":1,\"total_ms\":900000,"
        "\"longest_ms\":900000},\"alerts\":{\"warning\":0,\"critical\":1,\"resolved\":1},"
        "\"restarts\":{\"sent\":2,\"ok\":1},\"trades\":10,"
        "\"trades_per_hour\":10,\"worst_incidents\":[]}]}";
    cJSON *body = cJSON_Parse(json);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(ctl_print_report(f, body), 0);
    fclose(f);
    assert_non_null(strstr(text, "| b1 | 75.00 % | 1 (15m00s, longest 15m00s) | 1 | 0 | 1 | "
                                 "2 (1 ok) | 10 | 10.00 |"));
    assert_non_null(strstr(text, "| critical alerts | warning alerts | resolved alerts |"));
    assert_non_null(strstr(text, "| b1 | 2023-11-14 21:23:20Z | 2023-11-14 21:38:20Z | 15m00s | "
                                 "down |"));
    free(text);
    cJSON_Delete(body);
    assert_int_equal(ctl_print_report(stdout, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_percent_encoding),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_options_and_defaults),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_silence_and_report_commands),
        cmocka_unit_test(test_report_markdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
