/* SPDX-License-Identifier: MIT */
/* Golden tests of what the collector publishes: for each example in proto/examples/outbound/,
 * publish.c given the same facts says the same message (every field, whatever the key order),
 * on the topic, QoS and retain flag proto/README.md gives it; and every example, and every one
 * of ours, is valid under its proto/schemas/ schema. */
#include "fleet.h"
#include "incidents.h"
#include "publish.h"
#include "schema.h"
#include "snapshot.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT "botpulse/v1"
#define OUTBOUND BP_SOURCE_DIR "/proto/examples/outbound/"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

/* The example called name (without .json), parsed; version fields follow this build's. */
static cJSON *example(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), OUTBOUND "%s.json", name);
    char *text = read_file(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    if (cJSON_GetObjectItemCaseSensitive(j, "version"))
        cJSON_ReplaceItemInObjectCaseSensitive(j, "version", cJSON_CreateString(BP_VERSION));
    return j;
}

/* Asserts json (ours) says what the example says, and is valid under its schema. */
static void expect_golden(const char *name, const char *json)
{
    assert_non_null(json);
    cJSON *want = example(name), *got = cJSON_Parse(json);
    assert_non_null(got);
    if (!cJSON_Compare(want, got, true)) {
        char *w = cJSON_PrintUnformatted(want);
        fail_msg("%s: we say %s\nthe example says %s", name, json, w);
    }
    char why[300];
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(got, "type");
    if (!schema_check(type->valuestring, json, why, sizeof(why)))
        fail_msg("%s: not valid under %s.schema.json: %s", name, type->valuestring, why);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

static void expect_pub(const struct col_pub *p, const char *topic, int qos, bool retain)
{
    assert_string_equal(p->topic, topic);
    assert_int_equal(p->qos, qos);
    assert_int_equal(p->retain, retain);
}

static void test_status(void **state)
{
    const struct col_bot_snapshot s = {
        .id = "grid-btc-1",
        .agent = "vps-fra-01",
        .account = "acct-main",
        .exchange = "binance",
        .host = "vps-fra-01.example.net",
        .status = COL_ST_HUNG,
        .check = "trading",
        .reason = "process alive but no trade for 2h 04m (stopped after 2h)",
        .since = 1767233040000,
        .last_heartbeat = 1767233031234,
        .last_trade = 1767225510000,
    };
    struct col_pub p;
    assert_int_equal(col_pub_status(&p, ROOT, &s, 1767233041000), 0);
    expect_pub(&p, ROOT "/status/grid-btc-1", 1, true);
    expect_golden("status", p.payload);
    col_pub_cleanup(&p);
    const struct col_bot_snapshot never = {
        .id = "new-bot", .status = COL_ST_UNKNOWN, .reason = "never seen", .since = 1767225600000};
    char *json = col_encode_status(&never, 1767225600000);
    expect_golden("status_unknown", json);
    free(json);
}

static void test_alerts(void **state)
{
    struct col_bot_snapshot bot = {.id = "grid-btc-1", .agent = "vps-fra-01"};
    struct col_alert a = {.id = "grid-btc-1:liveness:1767229200000",
                          .severity = COL_SEV_CRITICAL,
                          .check = "liveness",
                          .opened_at = 1767229200000};
    static const struct {
        const char *example;
        enum col_alert_event ev;
        enum col_status status;
        const char *reason;
        int64_t ts;
    } cases[] = {
        {"alert_opened", COL_ALERT_OPENED, COL_ST_DOWN, "no heartbeat for 31s (3 missed at 10s)",
         1767229200000},
        {"alert_escalated", COL_ALERT_ESCALATED, COL_ST_DOWN, "still no heartbeat after 15m",
         1767230100000},
        {"alert_repeated", COL_ALERT_REPEATED, COL_ST_DOWN,
         "no heartbeat for 15m (3 missed at 10s)", 1767230100000},
        {"alert_resolved", COL_ALERT_RESOLVED, COL_ST_HEALTHY, "heartbeat received", 1767230400000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bot.status = cases[i].status;
        char *json = col_encode_alert(&bot, &a, cases[i].reason, cases[i].ev, cases[i].ts);
        struct col_pub p;
        assert_int_equal(col_pub_alert(&p, ROOT, bot.id, a.severity, json), 0);
        expect_pub(&p, ROOT "/alerts/critical/grid-btc-1", 1, false);
        assert_ptr_equal(p.payload, json); /* encoded once: the message carries that JSON */
        expect_golden(cases[i].example, p.payload);
        col_pub_cleanup(&p);
        free(json);
    }
}

static void test_incidents(void **state)
{
    static struct col_bot bots[4] = {
        {.id = "grid-btc-1"}, {.id = "grid-eth-1"}, {.id = "mm-sol-2"}, {.id = "grid-btc-2"}};
    struct col_bot *members[4] = {&bots[0], &bots[1], &bots[2], &bots[3]};
    struct col_incident inc = {.id = "5f3a9c2e71d04b88-i12",
                               .kind = "exchange",
                               .group = "binance",
                               .severity = COL_SEV_CRITICAL,
                               .opened_at = 1767229200000,
                               .bots = members,
                               .nbots = 3,
                               .nbad = 3};
    char *json = col_encode_incident(
        &inc, COL_INCIDENT_OPENED,
        "3 bots on exchange binance failed within 40s (3 still failing; now stopped)",
        1767229200000);
    struct col_pub p;
    assert_int_equal(col_pub_incident(&p, ROOT, &inc, json), 0);
    expect_pub(&p, ROOT "/incidents/exchange/binance", 1, false);
    expect_golden("incident_opened", p.payload);
    free(json);
    inc.nbots = 4;
    inc.nbad = 0;
    json = col_encode_incident(
        &inc, COL_INCIDENT_RESOLVED,
        "4 bots on exchange binance failed within 40s (0 still failing; now healthy)",
        1767229800000);
    expect_golden("incident_resolved", json);
    free(json);
    snprintf(inc.group, sizeof(inc.group), "vps 1/fra");
    inc.kind = "host";
    assert_int_equal(col_pub_incident(&p, ROOT, &inc, "{}"), 0);
    assert_string_equal(p.topic, ROOT "/incidents/host/vps_1_fra"); /* one topic level */
}

/* A bot with these labels and status in f. */
static void add_bot(struct col_fleet *f, const char *id, const char *host, const char *account,
                    enum col_status st)
{
    struct col_bot *b = col_fleet_bot_add(f, id, 0);
    assert_non_null(b);
    if (host) {
        struct col_agent *a = col_fleet_agent(f, host);
        if (!a)
            a = col_fleet_agent_add(f, host);
        assert_int_equal(col_fleet_attach(f, a, b), 0);
        col_fleet_set_host(f, a, host);
    }
    col_fleet_set_account(f, b, account);
    col_fleet_count_status(f, b, st);
    b->status = st;
}

static void test_fleet_summary(void **state)
{
    struct col_fleet f;
    assert_int_equal(col_fleet_init(&f), 0);
    const char *h = "vps-fra-01.example.net";
    add_bot(&f, "b1", h, "acct-main", COL_ST_HEALTHY);
    add_bot(&f, "b2", h, "acct-main", COL_ST_HEALTHY);
    add_bot(&f, "b3", h, "acct-main", COL_ST_HUNG);
    add_bot(&f, "b4", h, "", COL_ST_HEALTHY);
    add_bot(&f, "b5", NULL, "", COL_ST_UNKNOWN);
    struct col_pub p;
    assert_int_equal(col_pub_summary(&p, ROOT, &f, 1767225660000), 0);
    expect_pub(&p, ROOT "/fleet/summary", 1, true);
    expect_golden("fleet_summary", p.payload);
    col_pub_cleanup(&p);
    col_fleet_cleanup(&f);
}

static void test_collector_state_and_stats(void **state)
{
    struct col_pub p;
    assert_int_equal(col_pub_collector_state(&p, ROOT, "col-1", false, true, 1767225600000), 0);
    expect_pub(&p, ROOT "/collector/state", 1, true);
    expect_golden("collector_state_online", p.payload);
    col_pub_cleanup(&p);
    char *json = col_encode_collector_state("col-1", false, 1767225600000); /* the Will */
    expect_golden("collector_state_offline", json);
    free(json);
    struct col_collector_stats s = {
        .uptime_s = 5,
        .ingest = {.received = 1043, .accepted = 1040},
        .bots = 312,
        .mqtt_connected = true,
        .store = {.written = 1040, .db_up = true},
    };
    s.ingest.rejected[BP_MSG_ERR_JSON] = 1;
    s.ingest.rejected[BP_MSG_ERR_WRONG_TYPE] = 1;
    s.ingest.rejected[BP_MSG_ERR_UNKNOWN_FIELD] = 1;
    s.claims_refused[COL_CLAIM_FOREIGN] = 2;
    assert_int_equal(col_pub_collector_stats(&p, ROOT, "col-1", false, &s, 1767225605000), 0);
    expect_pub(&p, ROOT "/collector/stats", 0, true);
    expect_golden("collector_stats", p.payload);
    col_pub_cleanup(&p);
    s.nsinks = 2; /* "webhook" adds them up; "sinks" has each */
    s.sinks[0] = (struct col_sink_stats){
        .name = "webhook", .kind = COL_SINK_SLACK, .counts = {.delivered = 5, .dropped = 1}};
    s.sinks[1] = (struct col_sink_stats){
        .name = "pager", .kind = COL_SINK_JSON, .counts = {.delivered = 2, .retries = 2}};
    json = col_encode_collector_stats("col-1", &s, 1767225605000);
    expect_golden("collector_stats_webhook", json);
    free(json);
}

/* A signed command goes out as the codec encodes it, on its agent's commands topic. */
static void test_command(void **state)
{
    char *text = read_file(BP_SOURCE_DIR "/proto/examples/valid/command_restart.json");
    struct bp_msg m;
    struct bp_msg_error err = {0};
    assert_int_equal(bp_msg_decode(text, strlen(text), &m, &err), 0);
    struct col_pub p;
    assert_int_equal(col_pub_command(&p, ROOT, &m), 0);
    char topic[256];
    snprintf(topic, sizeof(topic), ROOT "/agents/%s/commands", m.hdr.agent);
    expect_pub(&p, topic, 1, false);
    cJSON *want = cJSON_Parse(text), *got = cJSON_Parse(p.payload);
    assert_true(cJSON_Compare(want, got, true));
    char why[300];
    if (!schema_check("command", p.payload, why, sizeof(why)))
        fail_msg("command: %s", why);
    cJSON_Delete(want);
    cJSON_Delete(got);
    col_pub_cleanup(&p);
    free(text);
}

/* The agents' examples (proto/examples/valid/) are valid under their schemas too: the schemas
 * and the codec's table describe one protocol. */
static void test_agent_examples_meet_their_schemas(void **state)
{
    DIR *d = opendir(BP_SOURCE_DIR "/proto/examples/valid");
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (!strstr(e->d_name, ".json"))
            continue;
        char path[512], why[300];
        snprintf(path, sizeof(path), BP_SOURCE_DIR "/proto/examples/valid/%s", e->d_name);
        char *text = read_file(path);
        cJSON *j = cJSON_Parse(text);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
        assert_true(cJSON_IsString(type));
        if (!schema_check(type->valuestring, text, why, sizeof(why)))
            fail_msg("examples/valid/%s: not valid under its schema: %s", e->d_name, why);
        cJSON_Delete(j);
        free(text);
        n++;
    }
    closedir(d);
    assert_true(n >= 19);
}

/* Every outbound example is one of the cases above: a new one needs a golden case. */
static void test_every_example_is_checked(void **state)
{
    static const char *const checked[] = {"status",
                                          "status_unknown",
                                          "alert_opened",
                                          "alert_escalated",
                                          "alert_repeated",
                                          "alert_resolved",
                                          "incident_opened",
                                          "incident_resolved",
                                          "fleet_summary",
                                          "collector_stats",
                                          "collector_stats_webhook",
                                          "collector_state_online",
                                          "collector_state_offline"};
    DIR *d = opendir(OUTBOUND);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        size_t i = 0;
        while (i < sizeof(checked) / sizeof(checked[0]) &&
               (strlen(checked[i]) != len - 5 || strncmp(checked[i], e->d_name, len - 5) != 0))
            i++;
        if (i == sizeof(checked) / sizeof(checked[0]))
            fail_msg("proto/examples/outbound/%s has no golden case in test_publish.c", e->d_name);
        n++;
    }
    closedir(d);
    assert_int_equal(n, (int)(sizeof(checked) / sizeof(checked[0])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_alerts),
        cmocka_unit_test(test_incidents),
        cmocka_unit_test(test_fleet_summary),
        cmocka_unit_test(test_collector_state_and_stats),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_every_example_is_checked),
        cmocka_unit_test(test_agent_examples_meet_their_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
