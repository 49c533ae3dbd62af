/* SPDX-License-Identifier: MIT */
/* Prometheus text rendering of the fleet and the collector's own counters. */
#include "metrics.h"

#include "cluster.h"
#include "query.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string; on ENOMEM it stays failed and the result is NULL. */
struct out {
    char *s;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->s ? o->s + o->len : NULL, o->s ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if (o->s && o->len + (size_t)n < o->cap) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap ? o->cap : 4096;
        while (cap <= o->len + (size_t)n)
            cap *= 2;
        char *s = realloc(o->s, cap);
        if (!s) {
            o->failed = true;
            return;
        }
        o->s = s;
        o->cap = cap;
    }
}

size_t col_metrics_escape(char *buf, size_t size, const char *v)
{
    size_t n = 0;
    for (; *v; v++) {
        const char *rep = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        char one[2] = {*v, '\0'};
        for (const char *r = rep ? rep : one; *r; r++, n++)
            if (n + 1 < size)
                buf[n] = *r;
    }
    if (size)
        buf[n < size ? n : size - 1] = '\0';
    return n;
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The label set of one bot: {bot="…",agent="…",account="…",exchange="…",host="…"}. */
static void bot_labels(const struct col_bot_snapshot *b, char *buf, size_t size)
{
    char e[5][2 * BP_TEXT_MAX + 2];
    col_metrics_escape(e[0], sizeof(e[0]), b->id);
    col_metrics_escape(e[1], sizeof(e[1]), b->agent);
    col_metrics_escape(e[2], sizeof(e[2]), b->account);
    col_metrics_escape(e[3], sizeof(e[3]), b->exchange);
    col_metrics_escape(e[4], sizeof(e[4]), b->host);
    snprintf(buf, size, "bot=\"%s\",agent=\"%s\",account=\"%s\",exchange=\"%s\",host=\"%s\"", e[0],
             e[1], e[2], e[3], e[4]);
}

/* Seconds between then (Unix ms) and now, never negative. */
static double age_s(int64_t now, int64_t then)
{
    return then >= now ? 0.0 : (double)(now - then) / 1000.0;
}

static void render_bots(struct out *o, const struct col_metrics_input *in)
{
    char labels[1400];
    family(o, "botpulse_bot_status", "gauge",
           "The bot's current status: 1 for the status it is in (one series per bot).");
    for (size_t i = 0; i < in->nbots; i++) {
        bot_labels(&in->bots[i].snap, labels, sizeof(labels));
        put(o, "botpulse_bot_status{%s,status=\"%s\"} 1\n", labels,
            col_status_name(in->bots[i].snap.status));
    }
    family(o, "botpulse_bot_last_heartbeat_age_seconds", "gauge",
           "Seconds since the bot's last heartbeat arrived (bots that sent one).");
    for (size_t i = 0; i < in->nbots; i++) {
        if (in->bots[i].snap.last_heartbeat <= 0)
            continue;
        bot_labels(&in->bots[i].snap, labels, sizeof(labels));
        put(o, "botpulse_bot_last_heartbeat_age_seconds{%s} %.3f\n", labels,
            age_s(in->now_wall, in->bots[i].snap.last_heartbeat));
    }
    family(o, "botpulse_bot_last_trade_age_seconds", "gauge",
           "Seconds since the bot's newest known trade (bots that traded).");
    for (size_t i = 0; i < in->nbots; i++) {
        if (in->bots[i].snap.last_trade <= 0)
            continue;
        bot_labels(&in->bots[i].snap, labels, sizeof(labels));
        put(o, "botpulse_bot_last_trade_age_seconds{%s} %.3f\n", labels,
            age_s(in->now_wall, in->bots[i].snap.last_trade));
    }
}

static void render_fleet(struct out *o, const struct col_metrics_input *in)
{
    int64_t by_status[COL_ST_COUNT] = {0};
    int64_t alerts[3] = {0};
    for (size_t i = 0; i < in->nbots; i++)
        by_status[in->bots[i].snap.status]++;
    for (size_t i = 0; i < in->nalerts; i++)
        alerts[in->alerts[i].severity]++;
    family(o, "botpulse_fleet_bots", "gauge", "Bots known to the collector, by status.");
    for (int s = 0; s < COL_ST_COUNT; s++)
        put(o, "botpulse_fleet_bots{status=\"%s\"} %" PRId64 "\n",
            col_status_name((enum col_status)s), by_status[s]);
    family(o, "botpulse_alerts_open", "gauge", "Open alerts, by severity.");
    for (int s = COL_SEV_WARNING; s <= COL_SEV_CRITICAL; s++)
        put(o, "botpulse_alerts_open{severity=\"%s\"} %" PRId64 "\n",
            col_severity_name((enum col_severity)s), alerts[s]);
}

static void counter(struct out *o, const char *name, const char *help, uint64_t v)
{
    family(o, name, "counter", help);
    put(o, "%s %" PRIu64 "\n", name, v);
}

static void gauge(struct out *o, const char *name, const char *help, double v)
{
    family(o, name, "gauge", help);
    put(o, "%s %.17g\n", name, v);
}

static void render_collector(struct out *o, const struct col_metrics_input *in)
{
    const struct col_ingest_stats *s = &in->ingest;
    counter(o, "botpulse_ingest_received_total", "Messages received from the fleet.", s->received);
    counter(o, "botpulse_ingest_accepted_total", "Messages that passed validation.", s->accepted);
    family(o, "botpulse_ingest_rejected_total", "counter", "Messages rejected, by reason.");
    for (int i = 1; i < BP_MSG_ERR_COUNT; i++)
        put(o, "botpulse_ingest_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
            bp_msg_err_name((enum bp_msg_err)i), s->rejected[i]);
    family(o, "botpulse_bot_claims_refused_total", "counter",
           "Messages naming a bot refused because another agent owns it, or the agent has its "
           "most bots, by reason.");
    for (int i = 1; i < COL_CLAIM_COUNT; i++)
        put(o, "botpulse_bot_claims_refused_total{reason=\"%s\"} %" PRIu64 "\n",
            col_claim_name((enum col_claim)i), in->claims_refused[i]);
    counter(o, "botpulse_ingest_queue_dropped_total",
            "Accepted messages dropped because the rules queue was full.", s->queue_dropped);
    counter(o, "botpulse_ingest_rate_dropped_total",
            "Messages dropped because their agent sent faster than [agents] rate.",
            s->rate_dropped);
    gauge(o, "botpulse_queue_depth", "Messages waiting for the rules thread.",
          (double)in->queue_depth);
    gauge(o, "botpulse_mqtt_connected", "1 while the collector is connected to the broker.",
          in->mqtt_connected ? 1 : 0);
    gauge(o, "botpulse_blind",
          "1 while the collector judges no liveness: no broker connection, messages dropped, or "
          "its echo through the broker stopped coming back (a silent network cut).",
          in->blind ? 1 : 0);
    if (in->echo_silent_ms >= 0) { /* whole ms, not 0.075999999999999998 */
        family(o, "botpulse_mqtt_echo_age_seconds", "gauge",
               "Seconds since the collector's own echo last came back through the broker.");
        put(o, "botpulse_mqtt_echo_age_seconds %" PRId64 ".%03d\n", in->echo_silent_ms / 1000,
            (int)(in->echo_silent_ms % 1000));
    }
    gauge(o, "botpulse_uptime_seconds", "Seconds since the collector started.",
          (double)in->uptime_s);
    if (!in->have_store)
        return;
    const struct col_store_stats *st = &in->store;
    gauge(o, "botpulse_store_spooled", "Writes waiting for the database.", (double)st->spooled);
    counter(o, "botpulse_store_written_total", "Writes committed to the database.", st->written);
    counter(o, "botpulse_store_dropped_total",
            "Writes dropped (spool full, or refused by the database).", st->dropped);
    counter(o, "botpulse_store_failed_batches_total", "Database transactions that failed.",
            st->failures);
    gauge(o, "botpulse_db_connected", "1 if the last attempt to write to the database worked.",
          st->db_up ? 1 : 0);
}

/* ---- history: COPY batches, partitions, strays, retention (store_parts.h) ------------------ */

/* One series per history table: v(t) of each. */
static void per_table(struct out *o, const char *name, const char *type, const char *help,
                      const struct col_hist_stats *h,
                      int64_t (*v)(const struct col_hist_table_stats *))
{
    family(o, name, type, help);
    for (int t = 0; t < COL_HIST_NTABLES; t++)
        put(o, "%s{table=\"%s\"} %" PRId64 "\n", name, col_hist_table_name((enum col_hist_table)t),
            v(&h->t[t]));
}

static int64_t hist_partitions(const struct col_hist_table_stats *t)
{
    return t->partitions;
}
static int64_t hist_default_rows(const struct col_hist_table_stats *t)
{
    return t->default_rows;
}
static int64_t hist_strays(const struct col_hist_table_stats *t)
{
    return (int64_t)t->strays;
}
static int64_t hist_created(const struct col_hist_table_stats *t)
{
    return (int64_t)t->created;
}
static int64_t hist_dropped(const struct col_hist_table_stats *t)
{
    return (int64_t)t->dropped;
}

static void render_history(struct out *o, const struct col_metrics_input *in)
{
    if (!in->have_store)
        return;
    const struct col_store_stats *st = &in->store;
    const struct col_hist_stats *h = &st->hist;
    counter(o, "botpulse_store_copy_batches_total",
            "COPY statements committed (one per history table per transaction).", st->copy_batches);
    counter(o, "botpulse_store_copy_staged_total",
            "COPY batches that met a row stored already and went through the staging table.",
            st->copy_staged);
    per_table(o, "botpulse_store_partitions", "gauge",
              "Partitions of each history table (the default one not counted), at the last pass.",
              h, hist_partitions);
    per_table(o, "botpulse_store_default_partition_rows", "gauge",
              "Rows in each history table's default partition after the last pass (should be 0).",
              h, hist_default_rows);
    per_table(o, "botpulse_store_stray_rows_total", "counter",
              "Rows found in a default partition (no partition covered their time), moved out "
              "or dropped past the retention.",
              h, hist_strays);
    per_table(o, "botpulse_store_partitions_created_total", "counter",
              "Partitions made by this collector.", h, hist_created);
    per_table(o, "botpulse_store_retention_dropped_partitions_total", "counter",
              "Partitions dropped by this collector past the table's retention.", h, hist_dropped);
    family(o, "botpulse_store_maintenance_runs_total", "counter",
           "History maintenance passes: ok, failed, or skipped (another collector held the lock).");
    put(o, "botpulse_store_maintenance_runs_total{result=\"ok\"} %" PRIu64 "\n", h->passes);
    put(o, "botpulse_store_maintenance_runs_total{result=\"failed\"} %" PRIu64 "\n", h->failures);
    put(o, "botpulse_store_maintenance_runs_total{result=\"skipped\"} %" PRIu64 "\n", h->skipped);
    gauge(o, "botpulse_store_maintenance_last_success_timestamp_seconds",
          "Unix time of this collector's last completed maintenance pass (0: none yet).",
          (double)h->last_pass / 1000.0);
}

static void render_commands(struct out *o, const struct col_metrics_input *in)
{
    if (!in->have_commands)
        return;
    const struct col_command_counts *c = &in->commands;
    family(o, "botpulse_commands_sent_total", "counter",
           "Signed recovery commands sent (automatic and by operators), by action.");
    for (int a = 0; a < COL_REC_NACTIONS; a++)
        put(o, "botpulse_commands_sent_total{action=\"%s\"} %" PRIu64 "\n",
            col_rec_action_name((enum col_rec_action)a), c->sent[a]);
    family(o, "botpulse_command_results_total", "counter",
           "Results the agents reported for commands, by action and outcome.");
    for (int a = 0; a < COL_REC_NACTIONS; a++)
        for (int r = 0; r < COL_OUT_COUNT; r++)
            put(o, "botpulse_command_results_total{action=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
                col_rec_action_name((enum col_rec_action)a),
                col_rec_outcome_name((enum col_rec_outcome)r), c->results[a][r]);
}

/* Unix ms as Prometheus' *_timestamp_seconds (an age is what a query computes: time() - it). */
static double ts_s(int64_t ms)
{
    return (double)ms / 1000.0;
}

/* Per bot, the times its ages above are measured from (the families follow the bot series). */
static void render_bot_timestamps(struct out *o, const struct col_metrics_input *in)
{
    char labels[1400];
    family(o, "botpulse_bot_last_heartbeat_timestamp_seconds", "gauge",
           "Unix time of the bot's newest heartbeat, our clock (no series before the first).");
    for (size_t i = 0; i < in->nbots; i++) {
        const struct col_bot_snapshot *b = &in->bots[i].snap;
        if (b->last_heartbeat <= 0)
            continue;
        bot_labels(b, labels, sizeof(labels));
        put(o, "botpulse_bot_last_heartbeat_timestamp_seconds{%s} %.3f\n", labels,
            ts_s(b->last_heartbeat));
    }
    family(o, "botpulse_bot_last_trade_timestamp_seconds", "gauge",
           "Unix time of the bot's newest trade, its own clock (no series before the first).");
    for (size_t i = 0; i < in->nbots; i++) {
        const struct col_bot_snapshot *b = &in->bots[i].snap;
        if (b->last_trade <= 0)
            continue;
        bot_labels(b, labels, sizeof(labels));
        put(o, "botpulse_bot_last_trade_timestamp_seconds{%s} %.3f\n", labels, ts_s(b->last_trade));
    }
}

/* botpulse_build_info, and the collector's own times. */
static void render_build(struct out *o, const struct col_metrics_input *in)
{
    if (in->version) {
        char v[160];
        col_metrics_escape(v, sizeof(v), in->version);
        family(o, "botpulse_build_info", "gauge", "Always 1; the collector's version as a label.");
        put(o, "botpulse_build_info{version=\"%s\",component=\"collector\"} 1\n", v);
    }
    counter(o, "botpulse_bot_restarts_total",
            "Bot process restarts counted from the agents' proc.restarts, all bots.",
            (uint64_t)in->restarts_seen);
    if (in->last_stats_wall > 0)
        gauge(o, "botpulse_last_stats_timestamp_seconds",
              "Unix time the collector last published its collector/stats.",
              ts_s(in->last_stats_wall));
    if (in->have_store && in->store.last_commit_wall > 0)
        gauge(o, "botpulse_store_last_commit_timestamp_seconds",
              "Unix time of the last transaction committed to the database.",
              ts_s(in->store.last_commit_wall));
}

/* The standard process_* families (what Prometheus' client libraries export). */
static void render_process(struct out *o, const struct col_metrics_input *in)
{
    if (!in->have_process)
        return;
    const struct col_process_stats *p = &in->process;
    family(o, "process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds.");
    put(o, "process_cpu_seconds_total %.2f\n", p->cpu_seconds);
    gauge(o, "process_resident_memory_bytes", "Resident memory size, bytes.", (double)p->rss_bytes);
    gauge(o, "process_virtual_memory_bytes", "Virtual memory size, bytes.", (double)p->vsize_bytes);
    gauge(o, "process_start_time_seconds",
          "Start time of the process since the Unix epoch, seconds.", p->start_time_s);
    if (p->open_fds >= 0)
        gauge(o, "process_open_fds", "Open file descriptors.", (double)p->open_fds);
    if (p->max_fds >= 0)
        gauge(o, "process_max_fds", "Maximum number of open file descriptors.", (double)p->max_fds);
}

/* Each alert sink's delivery, labelled by its name and kind (never its URL). */
static void render_sinks(struct out *o, const struct col_metrics_input *in)
{
    if (in->nsinks == 0)
        return;
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"botpulse_webhook_delivered_total", "counter", "Alert messages a sink's receiver took."},
        {"botpulse_webhook_failed_total", "counter",
         "Alert messages a sink gave up on (retries spent, or refused)."},
        {"botpulse_webhook_dropped_total", "counter",
         "Alert messages a sink dropped (its queue full, or queued at shutdown)."},
        {"botpulse_webhook_retries_total", "counter", "A sink's attempts after a failed one."},
        {"botpulse_webhook_queued", "gauge", "Alert messages waiting in a sink's queue."},
        {"botpulse_webhook_last_delivered_timestamp_seconds", "gauge",
         "Unix time of a sink's last delivery (no series before the first)."},
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        family(o, fam[f].name, fam[f].type, fam[f].help);
        for (size_t i = 0; i < in->nsinks; i++) {
            const struct col_webhook_stats *c = &in->sinks[i].counts;
            const int64_t v[] = {c->delivered, c->failed, c->dropped,
                                 c->retries,   c->queued, c->last_delivered_wall};
            if (f == 5 && v[f] <= 0)
                continue;
            char name[2 * BP_ID_MAX + 8];
            col_metrics_escape(name, sizeof(name), in->sinks[i].name);
            if (f == 5)
                put(o, "%s{sink=\"%s\",kind=\"%s\"} %.3f\n", fam[f].name, name,
                    col_sink_kind_name(in->sinks[i].kind), ts_s(v[f]));
            else
                put(o, "%s{sink=\"%s\",kind=\"%s\"} %" PRId64 "\n", fam[f].name, name,
                    col_sink_kind_name(in->sinks[i].kind), v[f]);
        }
    }
}

static void render_cluster(struct out *o, const struct col_metrics_input *in)
{
    const struct col_cluster_view *v = in->cluster;
    if (!v)
        return;
    gauge(o, "botpulse_cluster_lease_ok",
          "1 while this collector may act for its shards (lock session confirmed within the "
          "lease).",
          v->lease_ok ? 1 : 0);
    gauge(o, "botpulse_cluster_shards_held", "Shards this collector holds.", v->held);
    gauge(o, "botpulse_cluster_leader", "1 while this collector leads (fleet summary).",
          v->leader ? 1 : 0);
    gauge(o, "botpulse_cluster_last_rebalance_timestamp_seconds",
          "When a live collector's shards last changed (Unix seconds).",
          (double)v->last_rebalance / 1000.0);
    counter(o, "botpulse_cluster_fenced_total",
            "Items not said or written: no lease for their shard.", v->fenced);
    counter(o, "botpulse_cluster_takeovers_total", "Shards adopted by the rules thread.",
            v->takeovers);
    family(o, "botpulse_cluster_collector_shards", "gauge",
           "Shards each live collector holds, as the collectors table shows it.");
    for (int i = 0; i < v->nmembers; i++) {
        char id[2 * sizeof(v->members[i].id)];
        col_metrics_escape(id, sizeof(id), v->members[i].id);
        if (v->members[i].live)
            put(o, "botpulse_cluster_collector_shards{collector=\"%s\"} %d\n", id,
                v->members[i].nshards);
    }
    family(o, "botpulse_cluster_collector_last_seen_timestamp_seconds", "gauge",
           "When each collector last confirmed its round (Unix seconds).");
    for (int i = 0; i < v->nmembers; i++) {
        char id[2 * sizeof(v->members[i].id)];
        col_metrics_escape(id, sizeof(id), v->members[i].id);
        put(o, "botpulse_cluster_collector_last_seen_timestamp_seconds{collector=\"%s\"} %.3f\n",
            id, (double)v->members[i].last_seen / 1000.0);
    }
}

char *col_metrics_render(const struct col_metrics_input *in)
{
    struct out o = {0};
    render_bots(&o, in);
    render_fleet(&o, in);
    render_collector(&o, in);
    render_history(&o, in);
    render_commands(&o, in);
    render_bot_timestamps(&o, in);
    render_build(&o, in);
    render_process(&o, in);
    render_sinks(&o, in);
    render_cluster(&o, in);
    if (o.failed) {
        free(o.s);
        return NULL;
    }
    return o.s;
}
