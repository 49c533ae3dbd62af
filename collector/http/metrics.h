/* SPDX-License-Identifier: MIT */
/* /metrics: the fleet and the collector in the Prometheus text exposition format 0.0.4.
 * A pure function of a snapshot (bot views from the rules thread, counters from ingest, queue
 * and store), so the unit tests check the exact text and `promtool check metrics` lints it. */
#ifndef COL_METRICS_H
#define COL_METRICS_H

#include "ingest.h"
#include "claims.h"
#include "recovery.h"
#include "sinks.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct col_alert_view;
struct col_bot_view;
struct col_cluster_view;

#define COL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The collector process itself, for the process_* families. */
struct col_process_stats {
    double cpu_seconds; /* user and system */
    int64_t rss_bytes, vsize_bytes;
    int64_t open_fds, max_fds; /* -1: unknown (then left out) */
    double start_time_s;       /* Unix seconds */
};

/* Reads /proc/self: 0 or -errno (the caller then leaves the process_* families out). */
int col_process_stats_read(struct col_process_stats *out);

struct col_metrics_input {
    const struct col_bot_view *bots;
    size_t nbots;
    const struct col_alert_view *alerts; /* every open alert */
    size_t nalerts;
    int64_t now_wall; /* Unix ms: ages are measured from it */
    struct col_ingest_stats ingest;
    uint64_t claims_refused[COL_CLAIM_COUNT]; /* by reason (claims.h), from the rules thread */
    struct col_store_stats store;
    bool have_store;
    size_t queue_depth;
    bool mqtt_connected;
    bool blind;             /* the rules thread judges no liveness (no broker, drops, no echo) */
    int64_t echo_silent_ms; /* since our echo last came back through the broker; -1: no echo */
    int64_t uptime_s;
    bool have_commands; /* recovery configured: the counts below mean something */
    struct col_command_counts commands;
    const char *version; /* botpulse_build_info; NULL: left out */
    bool have_process;
    struct col_process_stats process;
    const struct col_sink_stats *sinks; /* each alert sink's counts */
    size_t nsinks;
    int64_t restarts_seen;   /* bot process restarts counted from the agents' proc.restarts */
    int64_t last_stats_wall; /* Unix ms the collector last published collector/stats; 0: never */
    const struct col_cluster_view *cluster; /* [cluster]'s view; NULL: one collector */
};

/* The exposition text, malloc'd (caller frees); NULL on ENOMEM. */
char *col_metrics_render(const struct col_metrics_input *in);

/* Appends v to buf (size bytes) escaped as a label value (\\, \", \n); always NUL-terminated.
 * Returns the length the escaped value needs (like snprintf). */
size_t col_metrics_escape(char *buf, size_t size, const char *v);

#endif
