/* SPDX-License-Identifier: MIT */
/* The bodies alert sinks receive (sink_format.h): the MQTT alert as it is, chat messages, the
 * generic JSON that PagerDuty's Events API v2 and Alertmanager-style receivers take (trigger and
 * resolve share one dedup key), and the e-mail (headers, CRLF lines, nothing injected). */
#include "sink_format.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_OPEN 1767225600000 /* 2026-01-01T00:00:00Z */
#define T_NOW 1767225605250  /* five and a quarter seconds later */

static const char *const alert_json =
    "{\"v\":1,\"type\":\"alert\",\"alert_id\":\"b1:process:1\",\"event\":\"opened\","
    "\"severity\":\"critical\",\"bot\":\"b1\"}";

static struct col_sink_event event(bool resolved)
{
    return (struct col_sink_event){.id = "b1:process:1",
                                   .event = resolved ? "resolved" : "opened",
                                   .resolved = resolved,
                                   .severity = COL_SEV_CRITICAL,
                                   .check = "process",
                                   .status = resolved ? "healthy" : "stopped",
                                   .reason = resolved ? "alive and trading" : "process not running",
                                   .text = "[CRITICAL] bot b1 is \"stopped\"",
                                   .json = alert_json,
                                   .bot = "b1",
                                   .agent = "vps-1",
                                   .account = "fund-a",
                                   .exchange = "binance",
                                   .host = "host-a",
                                   .kind = "",
                                   .group = "",
                                   .opened_at = T_OPEN,
                                   .now_wall = T_NOW};
}

static const struct col_sink_format fmt = {.name = "pager",
                                           .chat_id = "-100123",
                                           .routing_key = "R0UT1NGKEY",
                                           .from = "botpulse <bp@example.net>",
                                           .to = "ops@example.net, oncall@example.net"};

static void test_kinds_and_chat_bodies(void **state)
{
    (void)state;
    enum col_sink_kind k;
    assert_int_equal(col_sink_kind_parse("email", &k), 0);
    assert_int_equal(k, COL_SINK_EMAIL);
    assert_int_equal(col_sink_kind_parse("pagerduty", &k), -EINVAL);
    assert_string_equal(col_sink_kind_name(COL_SINK_JSON), "json");
    assert_true(col_sink_kind_url_is_secret(COL_SINK_SLACK));
    assert_false(col_sink_kind_url_is_secret(COL_SINK_JSON));
    struct col_sink_event e = event(false);
    char *b = col_sink_body(COL_SINK_ALERT, &fmt, &e);
    assert_string_equal(b, alert_json);
    free(b);
    b = col_sink_body(COL_SINK_SLACK, &fmt, &e);
    assert_string_equal(b, "{\"text\":\"[CRITICAL] bot b1 is \\\"stopped\\\"\"}");
    free(b);
    b = col_sink_body(COL_SINK_DISCORD, &fmt, &e);
    assert_string_equal(b, "{\"content\":\"[CRITICAL] bot b1 is \\\"stopped\\\"\"}");
    free(b);
    b = col_sink_body(COL_SINK_TELEGRAM, &fmt, &e);
    assert_string_equal(b, "{\"chat_id\":\"-100123\",\"text\":\"[CRITICAL] bot b1 is "
                           "\\\"stopped\\\"\"}");
    free(b);
}

static const char *str(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    const cJSON *at = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && at; k = strtok_r(NULL, ".", &save))
        at = cJSON_IsArray(at) ? cJSON_GetArrayItem(at, atoi(k))
                               : cJSON_GetObjectItemCaseSensitive(at, k);
    assert_true(cJSON_IsString(at));
    return at->valuestring;
}

/* PagerDuty Events API v2: routing_key, event_action, dedup_key and payload{summary, source,
 * severity} are required; Alertmanager's webhook: version, status, alerts[]{status, labels,
 * annotations, startsAt, endsAt}. */
static void test_json_for_pagerduty_and_alertmanager(void **state)
{
    (void)state;
    struct col_sink_event e = event(false);
    char *b = col_sink_body(COL_SINK_JSON, &fmt, &e);
    cJSON *o = cJSON_Parse(b);
    assert_non_null(o);
    assert_string_equal(str(o, "routing_key"), "R0UT1NGKEY");
    assert_string_equal(str(o, "event_action"), "trigger");
    assert_string_equal(str(o, "dedup_key"), "b1:process:1");
    assert_string_equal(str(o, "payload.summary"), "[CRITICAL] bot b1 is \"stopped\"");
    assert_string_equal(str(o, "payload.source"), "b1@host-a");
    assert_string_equal(str(o, "payload.severity"), "critical");
    assert_string_equal(str(o, "payload.timestamp"), "2026-01-01T00:00:05.250Z");
    assert_string_equal(str(o, "payload.component"), "process");
    assert_string_equal(str(o, "payload.group"), "fund-a");
    assert_string_equal(str(o, "payload.custom_details.alert_id"), "b1:process:1");
    assert_string_equal(str(o, "version"), "4");
    assert_string_equal(str(o, "status"), "firing");
    assert_string_equal(str(o, "receiver"), "pager");
    assert_string_equal(str(o, "alerts.0.status"), "firing");
    assert_string_equal(str(o, "alerts.0.labels.alertname"), "botpulse_process");
    assert_string_equal(str(o, "alerts.0.labels.bot"), "b1");
    assert_string_equal(str(o, "alerts.0.labels.severity"), "critical");
    assert_string_equal(str(o, "alerts.0.annotations.description"), "process not running");
    assert_string_equal(str(o, "alerts.0.startsAt"), "2026-01-01T00:00:00.000Z");
    assert_string_equal(str(o, "alerts.0.endsAt"), "0001-01-01T00:00:00Z");
    assert_string_equal(str(o, "alerts.0.fingerprint"), "b1:process:1");
    cJSON_Delete(o);
    free(b);
    /* resolved: the same dedup key, event_action resolve, an end time */
    e = event(true);
    struct col_sink_format nokey = fmt;
    nokey.routing_key = "";
    b = col_sink_body(COL_SINK_JSON, &nokey, &e);
    o = cJSON_Parse(b);
    assert_null(cJSON_GetObjectItem(o, "routing_key")); /* an Alertmanager receiver needs none */
    assert_string_equal(str(o, "event_action"), "resolve");
    assert_string_equal(str(o, "dedup_key"), "b1:process:1");
    assert_string_equal(str(o, "status"), "resolved");
    assert_string_equal(str(o, "alerts.0.endsAt"), "2026-01-01T00:00:05.250Z");
    cJSON_Delete(o);
    free(b);
    /* an incident: no bot; its source is the shared cause */
    e = (struct col_sink_event){.id = "inc-1",
                                .event = "opened",
                                .severity = COL_SEV_WARNING,
                                .check = "incident",
                                .status = "",
                                .reason = "3 bots down",
                                .text = "[WARNING] incident",
                                .json = "{}",
                                .bot = "",
                                .agent = "",
                                .account = "",
                                .exchange = "binance",
                                .host = "",
                                .kind = "exchange",
                                .group = "binance",
                                .now_wall = T_NOW};
    b = col_sink_body(COL_SINK_JSON, &fmt, &e);
    o = cJSON_Parse(b);
    assert_string_equal(str(o, "payload.source"), "exchange:binance");
    assert_string_equal(str(o, "payload.severity"), "warning");
    assert_string_equal(str(o, "alerts.0.labels.alertname"), "botpulse_incident");
    assert_string_equal(str(o, "alerts.0.labels.group"), "binance");
    cJSON_Delete(o);
    free(b);
}

static void test_email(void **state)
{
    (void)state;
    struct col_sink_event e = event(false);
    e.text = "[CRITICAL] bot b1\r\nBcc: victim@example.net"; /* nothing in it starts a header */
    char *b = col_sink_body(COL_SINK_EMAIL, &fmt, &e);
    assert_non_null(b);
    assert_non_null(strstr(b, "From: botpulse <bp@example.net>\r\n"));
    assert_non_null(strstr(b, "To: ops@example.net, oncall@example.net\r\n"));
    assert_non_null(
        strstr(b, "Subject: [botpulse] [CRITICAL] bot b1??Bcc: victim@example.net\r\n"));
    assert_non_null(strstr(b, "Date: Thu, 01 Jan 2026 00:00:05 +0000\r\n"));
    assert_non_null(strstr(b, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(b, "X-Botpulse-Id: b1:process:1\r\n"));
    assert_null(strstr(b, "\r\nBcc:"));
    const char *body = strstr(b, "\r\n\r\n");
    assert_non_null(body);
    assert_non_null(strstr(body, "reason:    process not running\r\n"));
    assert_non_null(strstr(body, "account:   fund-a\r\n"));
    for (const char *p = b; *p; p++) /* every line ends CRLF */
        if (*p == '\n')
            assert_true(p > b && p[-1] == '\r');
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_chat_bodies),
        cmocka_unit_test(test_json_for_pagerduty_and_alertmanager),
        cmocka_unit_test(test_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
