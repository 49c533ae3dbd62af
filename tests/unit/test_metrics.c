/* SPDX-License-Identifier: MIT */
/* /metrics rendering: the exact series a scraper sees, escaping, and HELP/TYPE for each family. */
#include "cluster.h"
#include "metrics.h"
#include "query.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000100000LL

static void view(struct col_bot_view *v, const char *id, enum col_status st)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->snap.id, sizeof(v->snap.id), "%s", id);
    snprintf(v->snap.agent, sizeof(v->snap.agent), "agent-1");
    snprintf(v->snap.account, sizeof(v->snap.account), "acct");
    snprintf(v->snap.exchange, sizeof(v->snap.exchange), "bitmart");
    snprintf(v->snap.host, sizeof(v->snap.host), "vps-1");
    v->snap.status = st;
}

/* bot-2's open alerts: one per failing check, each counted */
static const struct col_alert_view open_alerts[] = {
    {.bot = "bot-2", .alert_id = "x-a1", .severity = COL_SEV_CRITICAL, .check = "liveness"},
    {.bot = "bot-2", .alert_id = "x-a2", .severity = COL_SEV_WARNING, .check = "resources"},
    {.bot = "bot-2", .alert_id = "x-a3", .severity = COL_SEV_WARNING, .check = "metric:lag"},
};

static char *render_with(struct col_bot_view *v, size_t n, const struct col_cluster_view *cv)
{
    struct col_metrics_input in = {.cluster = cv,
                                   .bots = v,
                                   .nbots = n,
                                   .alerts = open_alerts,
                                   .nalerts = sizeof(open_alerts) / sizeof(open_alerts[0]),
                                   .now_wall = NOW,
                                   .have_store = true};
    in.ingest.received = 10;
    in.ingest.accepted = 7;
    in.ingest.rejected[BP_MSG_ERR_JSON] = 2;
    in.ingest.rejected[BP_MSG_ERR_TOPIC] = 1;
    in.ingest.queue_dropped = 4;
    in.claims_refused[COL_CLAIM_FOREIGN] = 8;
    in.queue_depth = 3;
    in.mqtt_connected = true;
    in.blind = true;
    in.echo_silent_ms = 2500;
    in.store.spooled = 5;
    in.store.written = 99;
    in.store.dropped = 6;
    in.store.db_up = false;
    in.have_commands = true;
    in.commands.sent[COL_REC_RESTART] = 3;
    in.commands.results[COL_REC_RESTART][COL_OUT_OK] = 2;
    in.commands.results[COL_REC_RESTART][COL_OUT_REFUSED] = 1;
    in.version = "1.2.3";
    in.restarts_seen = 12;
    in.last_stats_wall = NOW - 2000;
    in.store.last_commit_wall = NOW - 500;
    in.have_process = true;
    in.process = (struct col_process_stats){.cpu_seconds = 1.25,
                                            .rss_bytes = 4096000,
                                            .vsize_bytes = 8192000,
                                            .open_fds = 17,
                                            .max_fds = 1024,
                                            .start_time_s = 1700000000.5};
    static struct col_sink_stats sinks[2] = {
        {.name = "pager",
         .kind = COL_SINK_JSON,
         .counts = {.delivered = 4, .failed = 1, .last_delivered_wall = NOW}},
        {.name = "ops\"mail",
         .kind = COL_SINK_EMAIL,
         .counts = {.dropped = 2, .retries = 3, .queued = 1}},
    };
    in.sinks = sinks;
    in.nsinks = 2;
    char *s = col_metrics_render(&in);
    assert_non_null(s);
    return s;
}

static char *render(struct col_bot_view *v, size_t n)
{
    return render_with(v, n, NULL);
}

static void has(const char *text, const char *line)
{
    if (!strstr(text, line))
        fail_msg("missing from /metrics: %s\n--- got ---\n%s", line, text);
}

static void test_per_bot_series(void **state)
{
    struct col_bot_view v[2];
    view(&v[0], "bot-1", COL_ST_HEALTHY);
    v[0].snap.last_heartbeat = NOW - 1500;
    v[0].snap.last_trade = NOW - 60000;
    view(&v[1], "bot-2", COL_ST_DOWN);
    char *s = render(v, 2);
    has(s, "botpulse_bot_status{bot=\"bot-1\",agent=\"agent-1\",account=\"acct\","
           "exchange=\"bitmart\",host=\"vps-1\",status=\"healthy\"} 1\n");
    has(s, "botpulse_bot_status{bot=\"bot-2\",agent=\"agent-1\",account=\"acct\","
           "exchange=\"bitmart\",host=\"vps-1\",status=\"down\"} 1\n");
    has(s, "botpulse_bot_last_heartbeat_age_seconds{bot=\"bot-1\",agent=\"agent-1\","
           "account=\"acct\",exchange=\"bitmart\",host=\"vps-1\"} 1.500\n");
    has(s, "botpulse_bot_last_trade_age_seconds{bot=\"bot-1\",agent=\"agent-1\","
           "account=\"acct\",exchange=\"bitmart\",host=\"vps-1\"} 60.000\n");
    has(s, "botpulse_bot_last_heartbeat_timestamp_seconds{bot=\"bot-1\",agent=\"agent-1\","
           "account=\"acct\",exchange=\"bitmart\",host=\"vps-1\"} 1700000098.500\n");
    has(s, "botpulse_bot_last_trade_timestamp_seconds{bot=\"bot-1\",agent=\"agent-1\","
           "account=\"acct\",exchange=\"bitmart\",host=\"vps-1\"} 1700000040.000\n");
    assert_null(strstr(s, "botpulse_bot_last_heartbeat_timestamp_seconds{bot=\"bot-2\""));
    /* a bot that never sent a heartbeat has no age series (not a fake 0) */
    assert_null(strstr(s, "botpulse_bot_last_heartbeat_age_seconds{bot=\"bot-2\""));
    has(s, "botpulse_fleet_bots{status=\"healthy\"} 1\n");
    has(s, "botpulse_fleet_bots{status=\"down\"} 1\n");
    has(s, "botpulse_fleet_bots{status=\"stale\"} 0\n");
    has(s, "botpulse_alerts_open{severity=\"critical\"} 1\n");
    has(s, "botpulse_alerts_open{severity=\"warning\"} 2\n"); /* per check, not per bot */
    free(s);
}

static void test_collector_counters(void **state)
{
    char *s = render(NULL, 0);
    has(s, "botpulse_ingest_received_total 10\n");
    has(s, "botpulse_ingest_accepted_total 7\n");
    has(s, "botpulse_ingest_rejected_total{reason=\"json\"} 2\n");
    has(s, "botpulse_ingest_rejected_total{reason=\"topic\"} 1\n");
    has(s, "botpulse_ingest_rejected_total{reason=\"too_large\"} 0\n");
    has(s, "botpulse_ingest_queue_dropped_total 4\n");
    has(s, "botpulse_bot_claims_refused_total{reason=\"foreign\"} 8\n");
    has(s, "botpulse_queue_depth 3\n");
    has(s, "botpulse_mqtt_connected 1\n");
    has(s, "botpulse_blind 1\n"); /* connected, but nothing comes back: a silent cut */
    has(s, "botpulse_mqtt_echo_age_seconds 2.500\n");
    has(s, "botpulse_store_spooled 5\n");
    has(s, "botpulse_store_written_total 99\n");
    has(s, "botpulse_store_dropped_total 6\n");
    has(s, "botpulse_db_connected 0\n");
    has(s, "botpulse_commands_sent_total{action=\"restart\"} 3\n");
    has(s, "botpulse_commands_sent_total{action=\"reconnect\"} 0\n");
    has(s, "botpulse_command_results_total{action=\"restart\",outcome=\"ok\"} 2\n");
    has(s, "botpulse_command_results_total{action=\"restart\",outcome=\"refused\"} 1\n");
    has(s, "botpulse_build_info{version=\"1.2.3\",component=\"collector\"} 1\n");
    has(s, "botpulse_bot_restarts_total 12\n");
    has(s, "botpulse_last_stats_timestamp_seconds 1700000098\n");
    has(s, "botpulse_store_last_commit_timestamp_seconds 1700000099.5\n");
    free(s);
}

/* The standard process_* families, and each alert sink's counters by name and kind. */
static void test_process_and_sinks(void **state)
{
    char *s = render(NULL, 0);
    has(s, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.25\n");
    has(s, "process_resident_memory_bytes 4096000\n");
    has(s, "process_virtual_memory_bytes 8192000\n");
    has(s, "process_open_fds 17\n");
    has(s, "process_max_fds 1024\n");
    has(s, "process_start_time_seconds 1700000000.5\n");
    has(s, "botpulse_webhook_delivered_total{sink=\"pager\",kind=\"json\"} 4\n");
    has(s, "botpulse_webhook_failed_total{sink=\"pager\",kind=\"json\"} 1\n");
    has(s, "botpulse_webhook_dropped_total{sink=\"ops\\\"mail\",kind=\"email\"} 2\n");
    has(s, "botpulse_webhook_retries_total{sink=\"ops\\\"mail\",kind=\"email\"} 3\n");
    has(s, "botpulse_webhook_queued{sink=\"ops\\\"mail\",kind=\"email\"} 1\n");
    has(s, "botpulse_webhook_last_delivered_timestamp_seconds{sink=\"pager\",kind=\"json\"} "
           "1700000100.000\n");
    /* no delivery yet: no timestamp series (not a fake 1970) */
    assert_null(strstr(s, "botpulse_webhook_last_delivered_timestamp_seconds{sink=\"ops"));
    free(s);
}

/* The collector's own process, read from /proc. */
static void test_process_stats_read(void **state)
{
    struct col_process_stats p;
    assert_int_equal(col_process_stats_read(&p), 0);
    assert_true(p.rss_bytes > 0);
    assert_true(p.open_fds >= 3); /* stdin, stdout, stderr at least */
    assert_true(p.start_time_s > 1600000000.0);
}

/* Every sample line's family has exactly one HELP and one TYPE line, before its samples. */
static void test_help_and_type_for_every_family(void **state)
{
    struct col_bot_view v[1];
    view(&v[0], "bot-1", COL_ST_STALE);
    v[0].snap.last_heartbeat = NOW;
    char *s = render(v, 1);
    char *lines = strdup(s);
    int samples = 0;
    for (char *line = strtok(lines, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char help[160], type[160], sample[1600];
        int n = (int)strcspn(line, "{ ");
        snprintf(help, sizeof(help), "# HELP %.*s ", n, line);
        snprintf(type, sizeof(type), "# TYPE %.*s ", n, line);
        snprintf(sample, sizeof(sample), "\n%s\n", line);
        char *h = strstr(s, help), *t = strstr(s, type), *at = strstr(s, sample);
        if (!h || !t || strstr(h + 1, help) || strstr(t + 1, type) || !at || t < h || at < t)
            fail_msg("family %.*s lacks one HELP and one TYPE line before its samples", n, line);
        samples++;
    }
    assert_true(samples > 20);
    free(lines);
    free(s);
}

static void test_label_values_are_escaped(void **state)
{
    char buf[64];
    assert_int_equal(col_metrics_escape(buf, sizeof(buf), "a\"b\\c\nd"), 10);
    assert_string_equal(buf, "a\\\"b\\\\c\\nd");
    struct col_bot_view v[1];
    view(&v[0], "bot-1", COL_ST_HEALTHY);
    snprintf(v[0].snap.host, sizeof(v[0].snap.host), "evil\"host\\\n");
    char *s = render(v, 1);
    has(s, "host=\"evil\\\"host\\\\\\n\",status=\"healthy\"} 1\n");
    free(s);
    /* truncation still terminates */
    assert_int_equal(col_metrics_escape(buf, 4, "\"\"\""), 6);
    assert_int_equal(strlen(buf), 3);
}

/* With [cluster]: this collector's lease and shards, and each live collector's shards. */
static void test_cluster_gauges(void **state)
{
    char *s = render(NULL, 0);
    assert_null(strstr(s, "botpulse_cluster_")); /* one collector: nothing of the kind */
    free(s);
    struct col_cluster_view *v = calloc(1, sizeof(*v));
    assert_non_null(v);
    v->shards = 8;
    v->held = 3;
    v->leader = true;
    v->lease_ok = false;
    v->fenced = 12;
    v->takeovers = 4;
    v->last_rebalance = 1700000000500LL;
    v->nmembers = 2;
    snprintf(v->members[0].id, sizeof(v->members[0].id), "c-1");
    v->members[0].nshards = 3;
    v->members[0].live = true;
    v->members[0].last_seen = 1700000001000LL;
    snprintf(v->members[1].id, sizeof(v->members[1].id), "c-\"2");
    v->members[1].nshards = 5; /* dead: its row still says what it held */
    v->members[1].last_seen = 1700000000000LL;
    s = render_with(NULL, 0, v);
    has(s, "botpulse_cluster_lease_ok 0\n");
    has(s, "botpulse_cluster_shards_held 3\n");
    has(s, "botpulse_cluster_leader 1\n");
    has(s, "botpulse_cluster_fenced_total 12\n");
    has(s, "botpulse_cluster_takeovers_total 4\n");
    has(s, "botpulse_cluster_last_rebalance_timestamp_seconds 1700000000.5\n");
    has(s, "botpulse_cluster_collector_shards{collector=\"c-1\"} 3\n");
    assert_null(strstr(s, "botpulse_cluster_collector_shards{collector=\"c-\\\"2\"}"));
    has(s, "botpulse_cluster_collector_last_seen_timestamp_seconds{collector=\"c-\\\"2\"} "
           "1700000000.000\n");
    free(s);
    free(v);
}

/* The history block: COPY batches, partitions per table, strays, retention, maintenance runs. */
static void test_history_counters(void **state)
{
    struct col_metrics_input in = {.now_wall = NOW, .have_store = true};
    in.store.copy_batches = 12;
    in.store.copy_staged = 2;
    struct col_hist_stats *h = &in.store.hist;
    h->t[COL_HIST_TRADES] = (struct col_hist_table_stats){
        .partitions = 34, .default_rows = 1, .created = 4, .dropped = 3, .strays = 7};
    h->t[COL_HIST_SAMPLES].partitions = 31;
    h->passes = 5;
    h->failures = 1;
    h->skipped = 2;
    h->last_pass = 1700000000500;
    char *s = col_metrics_render(&in);
    assert_non_null(s);
    has(s, "botpulse_store_copy_batches_total 12\n");
    has(s, "botpulse_store_copy_staged_total 2\n");
    has(s, "botpulse_store_partitions{table=\"trades\"} 34\n");
    has(s, "botpulse_store_partitions{table=\"bot_samples\"} 31\n");
    has(s, "botpulse_store_partitions{table=\"status_daily\"} 0\n");
    has(s, "botpulse_store_default_partition_rows{table=\"trades\"} 1\n");
    has(s, "botpulse_store_stray_rows_total{table=\"trades\"} 7\n");
    has(s, "botpulse_store_partitions_created_total{table=\"trades\"} 4\n");
    has(s, "botpulse_store_retention_dropped_partitions_total{table=\"trades\"} 3\n");
    has(s, "botpulse_store_retention_dropped_partitions_total{table=\"command_results\"} 0\n");
    has(s, "botpulse_store_maintenance_runs_total{result=\"ok\"} 5\n");
    has(s, "botpulse_store_maintenance_runs_total{result=\"failed\"} 1\n");
    has(s, "botpulse_store_maintenance_runs_total{result=\"skipped\"} 2\n");
    has(s, "botpulse_store_maintenance_last_success_timestamp_seconds 1700000000.5\n");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_bot_series),
        cmocka_unit_test(test_collector_counters),
        cmocka_unit_test(test_help_and_type_for_every_family),
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_process_and_sinks),
        cmocka_unit_test(test_process_stats_read),
        cmocka_unit_test(test_cluster_gauges),
        cmocka_unit_test(test_history_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
