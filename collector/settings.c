/* SPDX-License-Identifier: MIT */
/* The collector's configuration tables: every key, its type, range and default, in one place. */
#include "settings.h"

#include "config.h"
#include "secret.h"
#include "settings_sinks.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(field) offsetof(struct col_settings, field), sizeof(((struct col_settings *)0)->field)
#define B(field)                                                                                   \
    offsetof(struct col_bot_override, field), sizeof(((struct col_bot_override *)0)->field)
#define DAY_MS (86400.0 * 1000)
#define RETENTION_MAX (100 * 366 * DAY_MS)

static const struct bp_cfg_key collector_keys[] = {
    {"id", BP_CFG_STR, 0, 0, "collector-1", S(id), "collector id (topics, client id, logs)"},
    {"log_level", BP_CFG_STR, 0, 0, "info", S(log_level), "error, warn, info or debug"},
    {"stats_interval", BP_CFG_MS, 100, DAY_MS, "5s", S(stats_interval_ms),
     "how often collector/stats is published"},
    {"queue_max", BP_CFG_INT, 1000, 10000000, "200000", S(queue_max),
     "messages waiting between MQTT and the rules thread; beyond it they are dropped, counted"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const struct bp_cfg_key agents_keys[] = {
    {"rate", BP_CFG_INT, 1, 1000000, "500", S(agent_rate),
     "messages per second one agent may send (batch items count one each; trades are never "
     "dropped); beyond it they are dropped, counted and logged"},
    {"burst", BP_CFG_INT, 1, 10000000, "5000", S(agent_burst),
     "messages one agent may send at once above its rate (a reconnect, a replayed backlog)"},
    {"bots_max", BP_CFG_INT, 1, 1000000, "1000", S(agent_bots_max),
     "bots one agent may speak for; more are refused, counted and logged"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const struct bp_cfg_key mqtt_keys[] = {
    {"url", BP_CFG_STR, 0, 0, NULL, S(mqtt_url), "broker URL, tcp://host:1883 or ssl://host:8883"},
    {"client_id", BP_CFG_STR, 0, 0, "", S(mqtt_client_id), "default botpulse-collector-<id>"},
    {"username", BP_CFG_STR, 0, 0, "", S(mqtt_username), "broker user"},
    {"password", BP_CFG_STR, 0, 0, "", S(mqtt_password), "broker password"},
    {"password_file", BP_CFG_STR, 0, 0, "", S(mqtt_password_file),
     "file holding the broker password (mode 0600)"},
    {"ca_file", BP_CFG_STR, 0, 0, "", S(mqtt_ca_file), "CA bundle for ssl:// URLs"},
    {"topic_root", BP_CFG_STR, 0, 0, "botpulse/v1", S(topic_root), "root of every topic"},
    {"echo_interval", BP_CFG_MS, 0, 60000, "100ms", S(mqtt_echo_interval_ms),
     "how often the collector sends itself a message through the broker (0 = never)"},
    {"echo_timeout", BP_CFG_MS, 100, 600000, "2s", S(mqtt_echo_timeout_ms),
     "no echo back for this long: the collector is blind (a silent network cut)"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const struct bp_cfg_key database_keys[] = {
    {"conninfo", BP_CFG_STR, 0, 0, NULL, S(db_conninfo), "libpq connection string"},
    {"password_file", BP_CFG_STR, 0, 0, "", S(db_password_file),
     "file holding the database password (mode 0600), when conninfo needs one"},
    {"spool_max", BP_CFG_INT, 100, 100000000, "1000000", S(db_spool_max),
     "writes held while the database is away; beyond it they are dropped, counted"},
    {"batch_max", BP_CFG_INT, 1, 5000, "1000", S(db_batch_max), "writes per transaction"},
    {"retry", BP_CFG_MS, 100, 60000, "1s", S(db_retry_ms), "wait between reconnect attempts"},
    {"migrate_timeout", BP_CFG_MS, 0, DAY_MS, "60s", S(db_migrate_timeout_ms),
     "how long start-up waits for the database before giving up"},
    /* History partitions and retention (collector/store/store_parts.h) */
    {"partition_days", BP_CFG_INT, 1, 31, "1", S(db_partition_days),
     "days of history per partition of each history table"},
    {"partition_ahead_days", BP_CFG_INT, 1, 90, "3", S(db_partition_ahead_days),
     "partitions are made this many days ahead"},
    {"maintenance_interval", BP_CFG_MS, 1000, DAY_MS, "15m", S(db_maintenance_interval_ms),
     "how often partitions are made ahead, strays moved and old partitions dropped"},
    {"retention_samples", BP_CFG_MS, 0, RETENTION_MAX, "30d", S(db_retention_samples_ms),
     "bot_samples kept at least this long, then dropped by whole partitions (0: forever)"},
    {"retention_trades", BP_CFG_MS, 0, RETENTION_MAX, "400d", S(db_retention_trades_ms),
     "trades kept at least this long (0: forever)"},
    {"retention_transitions", BP_CFG_MS, 0, RETENTION_MAX, "730d", S(db_retention_transitions_ms),
     "status_transitions and status_daily kept at least this long (0: forever)"},
    {"retention_alerts", BP_CFG_MS, 0, RETENTION_MAX, "730d", S(db_retention_alerts_ms),
     "alert_events kept at least this long (0: forever)"},
    {"retention_commands", BP_CFG_MS, 0, RETENTION_MAX, "730d", S(db_retention_commands_ms),
     "commands and command_results kept at least this long (0: forever)"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const struct bp_cfg_key rules_keys[] = {
    {"heartbeat_misses", BP_CFG_INT, 1, 100, "3", S(heartbeat_misses),
     "missed heartbeats before a bot is down"},
    {"heartbeat_timeout", BP_CFG_MS, 0, DAY_MS, "0", S(limits.heartbeat_timeout_ms),
     "fixed heartbeat timeout; 0 = heartbeat_misses x the agent's interval"},
    {"trade_stale", BP_CFG_MS, 100, 30 * DAY_MS, "30m", S(limits.trade_stale_ms),
     "no trade for this long: stale"},
    {"trade_stopped", BP_CFG_MS, 100, 30 * DAY_MS, "2h", S(limits.trade_stopped_ms),
     "no trade for this long: stopped"},
    {"summary_interval", BP_CFG_MS, 0, 60000, "1s", S(summary_interval_ms),
     "least time between two fleet summaries"},
    {"reconnect_grace", BP_CFG_MS, 0, 3600000, "10s", S(reconnect_grace_ms),
     "after our (re)connect, how long an agent's 'offline' waits for its 'online'"},
    {"cpu_warn", BP_CFG_DOUBLE, 1, 10000, "80", S(limits.cpu.warn),
     "process or host cpu %: warning (a process may use several cores: 200 = two)"},
    {"cpu_crit", BP_CFG_DOUBLE, 1, 10000, "95", S(limits.cpu.crit), "cpu %: critical"},
    {"mem_warn", BP_CFG_DOUBLE, 1, 101, "80", S(limits.mem.warn), "host memory %: warning"},
    {"mem_crit", BP_CFG_DOUBLE, 1, 101, "90", S(limits.mem.crit), "host memory %: critical"},
    {"disk_warn", BP_CFG_DOUBLE, 1, 101, "85", S(limits.disk.warn), "fullest disk %: warning"},
    {"disk_crit", BP_CFG_DOUBLE, 1, 101, "95", S(limits.disk.crit), "fullest disk %: critical"},
    {"resource_confirm", BP_CFG_INT, 1, 100, "3", S(resource_confirm),
     "failing stats samples in a row before a resource alert (degraded from the first)"},
    {"check_confirm", BP_CFG_INT, 1, 100, "3", S(check_confirm),
     "heartbeats in a row on which a metric rule, the API or log errors fail before their "
     "alert (degraded from the first); 1 = at once"},
    {"clock_skew", BP_CFG_MS, 0, DAY_MS, "5s", S(limits.clock_skew_ms),
     "an agent clock further off than this is a warning (0 = never)"},
    {"flap_changes", BP_CFG_INT, 0, 16, "6", S(flap_changes),
     "this many status changes within flap_window: flapping, reported once (0 = never)"},
    {"flap_window", BP_CFG_MS, 1000, DAY_MS, "10m", S(flap.window_ms),
     "the window for flap_changes; a whole one without a change ends flapping"},
    {"incident_bots", BP_CFG_INT, 0, 100000, "3", S(incident_bots),
     "bots on one exchange or host failing within incident_window: one incident (0 = never)"},
    {"incident_window", BP_CFG_MS, 1000, DAY_MS, "2m", S(incidents.window_ms),
     "how close together their failures must be"},
    {"alert_repeat", BP_CFG_MS, 0, 7 * DAY_MS, "15m", S(alert_repeat_ms),
     "an alert still open after this long is announced again ('repeated'); 0 = never"},
    {"sample_interval", BP_CFG_MS, 1000, DAY_MS, "60s", S(sample_interval_ms),
     "least time between two stored stats samples of one bot"},
    {"tick_timeout", BP_CFG_MS, 1000, DAY_MS, "60s", S(limits.tick_timeout_ms),
     "a bot that sends loop ticks and sends none for this long is hung"},
    {"cadence", BP_CFG_STR, 0, 0, "fixed", S(cadence),
     "fixed (trade_stale and trade_stopped as given) or learned (stretched to the bot's own "
     "normal gap after a trade at that hour of the week)"},
    {"cadence_factor", BP_CFG_DOUBLE, 1, 100, "3", S(cadence_factor),
     "learned: stale after this many normal gaps"},
    {"cadence_min_samples", BP_CFG_INT, 1, 10000, "5", S(limits.cadence_min_samples),
     "learned: gaps seen before the cadence is trusted"},
    {"log_silence", BP_CFG_MS, 0, DAY_MS, "15m", S(limits.log_silence_ms),
     "a bot's tailed log without a new line this long: hung (0 = never)"},
    {"log_errors_warn", BP_CFG_DOUBLE, 0, 1000000, "10", S(limits.log_err_warn),
     "error lines per minute in a bot's tailed log: warning (0 = never)"},
    {"log_errors_crit", BP_CFG_DOUBLE, 0, 1000000, "60", S(limits.log_err_crit),
     "error lines per minute: critical"},
    {"market_stale", BP_CFG_MS, 1000, DAY_MS, "30s", S(limits.market_stale_ms),
     "market data older than this (of a bot that reports it): exchange disconnected"},
    {"api_error_warn", BP_CFG_DOUBLE, 0.1, 100, "10", S(limits.api_err_warn),
     "exchange API error % over the agent's window of calls: warning"},
    {"api_error_crit", BP_CFG_DOUBLE, 0.1, 100, "20", S(limits.api_err_crit),
     "exchange API error %: critical"},
    {"api_min_calls", BP_CFG_INT, 1, 20, "5", S(api_min_calls),
     "fewer calls in the window: no error-rate verdict"},
    {"api_latency_warn", BP_CFG_MS, 1, DAY_MS, "10s", S(limits.api_latency_warn_ms),
     "slowest exchange API call in the window: warning"},
    {"api_latency_crit", BP_CFG_MS, 1, DAY_MS, "30s", S(limits.api_latency_crit_ms),
     "slowest exchange API call: critical"},
    {"restarts_warn", BP_CFG_INT, 0, 1000, "3", S(limits.restarts_warn),
     "process restarts (the agent's count) within restarts_window that make a warning; 0 = never"},
    {"restarts_crit", BP_CFG_INT, 0, 1000, "10", S(limits.restarts_crit),
     "... that make it critical; 0 = never"},
    {"restarts_window", BP_CFG_MS, 1000, DAY_MS, "10m", S(limits.restarts_window_ms),
     "the window restarts are counted in"},
    {"metric_rule", BP_CFG_STR, 0, 0, "", S(metric_rule),
     "custom-metric rules for every bot: 'NAME OP NUMBER SEVERITY', comma-separated"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const struct bp_cfg_key webhook_keys[] = {
    {"url", BP_CFG_STR, 0, 0, "", S(webhook_url),
     "POST every alert event here (http:// or https://); empty = no webhook"},
    {"url_file", BP_CFG_STR, 0, 0, "", S(webhook_url_file),
     "a file (mode 0600) holding the URL instead (a chat webhook's URL is its password)"},
    {"format", BP_CFG_STR, 0, 0, "alert", S(webhook_format),
     "alert (the MQTT alert JSON), json (PagerDuty and Alertmanager-style), slack, discord or "
     "telegram"},
    {"chat_id", BP_CFG_STR, 0, 0, "", S(webhook_chat_id), "Telegram chat id (format telegram)"},
    {"timeout", BP_CFG_MS, 100, 300000, "5s", S(webhook_timeout_ms), "per attempt"},
    {"retries", BP_CFG_INT, 0, 100, "5", S(webhook_retries), "attempts after a failed one"},
    {"backoff", BP_CFG_MS, 10, 60000, "1s", S(webhook_backoff_ms),
     "wait before the first retry; doubles each time, at most 60 s"},
    {"queue_max", BP_CFG_INT, 1, 1000000, "10000", S(webhook_queue_max),
     "alerts waiting for delivery; beyond it they are dropped, counted"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const struct bp_cfg_key http_keys[] = {
    {"listen", BP_CFG_STR, 0, 0, "127.0.0.1:8080", S(http_listen),
     "address:port of the HTTP API and /metrics; \"off\" or empty disables it"},
    {"token", BP_CFG_STR, 0, 0, "", S(http_token), "bearer token for the mutating routes"},
    {"token_file", BP_CFG_STR, 0, 0, "", S(http_token_file),
     "file holding the bearer token (mode 0600)"},
    {"allowed_hosts", BP_CFG_STR, 0, 0, "", S(http_allowed_hosts),
     "Host header names served, comma-separated; default: the listen address, localhost, "
     "127.0.0.1, ::1 (others get 421: DNS rebinding)"},
    {"timeout", BP_CFG_MS, 100, 60000, "2s", S(http_timeout_ms),
     "how long a request waits for the rules thread or the database before 503"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const struct bp_cfg_key recovery_keys[] = {
    {"enabled", BP_CFG_BOOL, 0, 0, "on", S(rec_enabled),
     "restart failing bots through signed commands (needs signing_key_file)"},
    {"signing_key_file", BP_CFG_STR, 0, 0, "", S(rec_signing_key_file),
     "Ed25519 secret key (hex or base64); empty: no recovery"},
    {"on", BP_CFG_STR, 0, 0, "stopped,down", S(rec_triggers),
     "statuses that start recovery (down only while the agent is online)"},
    {"ladder", BP_CFG_STR, 0, 0, "reconnect,restart,hard_restart", S(rec_ladder),
     "actions tried in turn; after the last one: manual intervention"},
    {"pre_restart", BP_CFG_BOOL, 0, 0, "off", S(rec_pre_restart),
     "run pre_restart before each restart; its failure stops the ladder"},
    {"max_restarts", BP_CFG_INT, 1, 1000, "3", S(rec_max_attempts),
     "attempts per bot within restart_window"},
    {"restart_window", BP_CFG_MS, 1000, 7 * DAY_MS, "1h", S(rec_window_ms), "see max_restarts"},
    {"min_interval", BP_CFG_MS, 0, DAY_MS, "5m", S(rec_min_interval_ms),
     "least time between two attempts for one bot"},
    {"recovery_deadline", BP_CFG_MS, 100, DAY_MS, "2m", S(rec_deadline_ms),
     "an attempt must show the bot back (new pid, heartbeats) within this"},
    {"flap_window", BP_CFG_MS, 0, 7 * DAY_MS, "15m", S(rec_flap_window_ms),
     "a bot failing again this soon after coming back is flapping: escalate"},
    {"command_ttl", BP_CFG_MS, 1000, 3600000, "60s", S(rec_command_ttl_ms),
     "commands expire this long after they are signed"},
    {"fleet_max_per_minute", BP_CFG_INT, 0, 1000000, "10", S(rec_fleet_max_per_minute),
     "attempts across the fleet per minute; 0 = no limit"},
    {"exchange_max_failing", BP_CFG_INT, 0, 1000000, "5", S(rec_exchange_max_failing),
     "more failing bots than this on one exchange: no automatic restarts; 0 = no limit"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const struct bp_cfg_key cluster_keys[] = {
    {"enabled", BP_CFG_BOOL, 0, 0, "off", S(cluster_enabled),
     "share the fleet with other collectors through PostgreSQL (off: own every shard)"},
    {"shards", BP_CFG_INT, 1, 4096, "64", S(cluster_shards),
     "parts the fleet is split into, by agent; the same on every collector"},
    {"lease", BP_CFG_MS, 200, 60000, "2s", S(cluster_lease_ms),
     "a collector acts for a shard only while its lock session answered within this long, "
     "and only this long after it took the shard"},
    {"round", BP_CFG_MS, 50, 10000, "500ms", S(cluster_round_ms),
     "how often the lock session is confirmed and shards are taken or given back"},
    {"rebalance_max", BP_CFG_INT, 1, 4096, "4", S(cluster_rebalance_max),
     "shards given back per round by a collector holding more than its fair share"},
    {"warmup", BP_CFG_MS, 0, 3600000, "15s", S(cluster_warmup_ms),
     "after start, how long a collector watches the fleet before it takes shards (keep it "
     "above the agents' heartbeat interval)"},
    {"evict_after", BP_CFG_MS, 0, 3600000, "6s", S(cluster_evict_ms),
     "a collector silent this long loses its lock session to the others (0 = never)"},
    {"conninfo", BP_CFG_STR, 0, 0, "", S(cluster_conninfo),
     "libpq connection string of the lock session; empty = [database] conninfo"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const struct bp_cfg_key bot_keys[] = {
    {"agent", BP_CFG_STR, 0, 0, "", B(agent),
     "the agent that speaks for this bot; others' claims are refused (empty: the first to)"},
    {"account", BP_CFG_STR, 0, 0, "", B(account), "account the bot trades for"},
    {"exchange", BP_CFG_STR, 0, 0, "", B(exchange), "exchange the bot trades on"},
    {"heartbeat_timeout", BP_CFG_MS, 0, DAY_MS, "0", B(heartbeat_timeout_ms), "0 = inherit"},
    {"trade_stale", BP_CFG_MS, 0, 30 * DAY_MS, "0", B(trade_stale_ms), "0 = inherit"},
    {"trade_stopped", BP_CFG_MS, 0, 30 * DAY_MS, "0", B(trade_stopped_ms), "0 = inherit"},
    {"intended", BP_CFG_STR, 0, 0, "running", B(intended),
     "running, or stopped: stopped on purpose, so its absence raises nothing"},
    {"recovery", BP_CFG_STR, 0, 0, "", B(recovery), "on or off; empty = [recovery] enabled"},
    {"recovery_ladder", BP_CFG_STR, 0, 0, "", B(recovery_ladder), "empty = [recovery] ladder"},
    {"pre_restart", BP_CFG_STR, 0, 0, "", B(pre_restart),
     "on or off; empty = [recovery] pre_restart"},
    {"tick_timeout", BP_CFG_MS, 0, DAY_MS, "0", B(tick_timeout_ms),
     "0 = inherit; set, the bot must tick (hung even before its first tick)"},
    {"market_stale", BP_CFG_MS, 0, DAY_MS, "0", B(market_stale_ms), "0 = inherit"},
    {"cadence", BP_CFG_STR, 0, 0, "", B(cadence), "fixed or learned; empty = as [rules]"},
    {"log_silence", BP_CFG_MS, 0, DAY_MS, "0", B(log_silence_ms),
     "0 = inherit; a quiet log is normal for some bots: give them longer"},
    {"check_confirm", BP_CFG_INT, 0, 100, "0", B(check_confirm),
     "0 = inherit; 1: this bot's metric rules, API and log errors alert at once"},
    {"metric_rule", BP_CFG_STR, 0, 0, "", B(metric_rule),
     "this bot's custom-metric rules, in addition to [rules] metric_rule"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

/* Appends a named override ([bot NAME] or [account NAME]) to a list; NULL with err on a bad
 * name, too many sections or ENOMEM. */
static struct col_bot_override *add_override(struct col_bot_override ***list, size_t *n,
                                             size_t *cap, const char *kind, const char *name,
                                             char *err, size_t errlen)
{
    if (!bp_id_is_valid(name)) {
        snprintf(err, errlen, "[%s %s]: not a valid %s id ([A-Za-z0-9_.-], 1..64)", kind, name,
                 kind);
        return NULL;
    }
    if (*n == COL_MAX_BOT_OVERRIDES) {
        snprintf(err, errlen, "[%s %s]: more than %d %s sections", kind, name,
                 COL_MAX_BOT_OVERRIDES, kind);
        return NULL;
    }
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct col_bot_override **l = realloc(*list, c * sizeof(*l));
        if (!l) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        *list = l;
        *cap = c;
    }
    struct col_bot_override *o = calloc(1, sizeof(*o));
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    (*list)[(*n)++] = o;
    snprintf(o->name, sizeof(o->name), "%s", name);
    return o;
}

static const struct bp_cfg_key account_keys[] = {
    {"heartbeat_timeout", BP_CFG_MS, 0, DAY_MS, "0", B(heartbeat_timeout_ms), "0 = inherit"},
    {"trade_stale", BP_CFG_MS, 0, 30 * DAY_MS, "0", B(trade_stale_ms), "0 = inherit"},
    {"trade_stopped", BP_CFG_MS, 0, 30 * DAY_MS, "0", B(trade_stopped_ms), "0 = inherit"},
    {"check_confirm", BP_CFG_INT, 0, 100, "0", B(check_confirm), "0 = inherit"},
    {"recovery", BP_CFG_STR, 0, 0, "", B(recovery), "on or off; empty = [recovery] enabled"},
    {"recovery_ladder", BP_CFG_STR, 0, 0, "", B(recovery_ladder), "empty = [recovery] ladder"},
    {"pre_restart", BP_CFG_STR, 0, 0, "", B(pre_restart),
     "on or off; empty = [recovery] pre_restart"},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static void *add_bot(void *cfg, const char *name, char *err, size_t errlen)
{
    struct col_settings *s = cfg;
    return add_override(&s->bots, &s->nbots, &s->bots_cap, "bot", name, err, errlen);
}

static void *add_sink(void *cfg, const char *name, char *err, size_t errlen)
{
    struct col_settings *s = cfg;
    if (s->nsink_sections == COL_SINKS_MAX) {
        snprintf(err, errlen, "[sink %s]: more than %d sinks", name, COL_SINKS_MAX);
        return NULL;
    }
    struct col_sink_section *k = col_sink_section_new(name, err, errlen);
    if (k)
        s->sink_sections[s->nsink_sections++] = k;
    return k;
}

static void *add_account(void *cfg, const char *name, char *err, size_t errlen)
{
    struct col_settings *s = cfg;
    return add_override(&s->accounts, &s->naccounts, &s->accounts_cap, "account", name, err,
                        errlen);
}

static const struct bp_cfg_schema schema = {
    .sections = {{"collector", collector_keys},
                 {"agents", agents_keys},
                 {"mqtt", mqtt_keys},
                 {"database", database_keys},
                 {"rules", rules_keys},
                 {"webhook", webhook_keys},
                 {"http", http_keys},
                 {"recovery", recovery_keys},
                 {"cluster", cluster_keys}},
    .repeated = {{"bot", bot_keys, add_bot},
                 {"account", account_keys, add_account},
                 {"sink", col_sink_keys, add_sink}},
};

static int cmp_override(const void *a, const void *b)
{
    const struct col_bot_override *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

int col_settings_parse_listen(const char *listen, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= hostlen)
        return -EINVAL;
    struct in_addr a;
    snprintf(host, hostlen, "%.*s", (int)(colon - listen), listen);
    if (inet_pton(AF_INET, host, &a) != 1)
        return -EINVAL;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (!isdigit((unsigned char)colon[1]) || *end || errno || p < 1 || p > 65535)
        return -EINVAL;
    *port = (int)p;
    return 0;
}

/* One secret given inline or in a file (read with bp_secret_read_file: 0600, or refused). */
struct secret_key {
    const char *section, *key;
    char *value;
    size_t size;
    const char *file;
};

static int load_secret(const struct secret_key *k, const char *path, char *err, size_t errlen)
{
    char why[512];
    if (!k->file[0])
        return 0;
    if (k->value[0]) {
        snprintf(err, errlen, "%s: [%s] %s and %s_file: set one, not both", path, k->section,
                 k->key, k->key);
        return -EINVAL;
    }
    if (bp_secret_read_file(k->file, k->value, k->size, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: [%s] %s_file: %s", path, k->section, k->key, why);
        return -EINVAL;
    }
    return 0;
}

static void put_char(char *buf, size_t size, size_t *n, char c)
{
    if (*n < size)
        buf[*n] = c;
    (*n)++;
}

/* Appends " keyword='value'" (libpq's quoting: a backslash before ' and \\) to buf at *n; *n
 * may pass size (then it did not fit). */
static void append_quoted(char *buf, size_t size, size_t *n, const char *keyword, const char *v)
{
    *n += (size_t)snprintf(buf + (*n < size ? *n : size), *n < size ? size - *n : 0, "%s%s='",
                           *n ? " " : "", keyword);
    for (; *v; v++) {
        if (*v == '\'' || *v == '\\')
            put_char(buf, size, n, '\\');
        put_char(buf, size, n, *v);
    }
    *n += (size_t)snprintf(buf + (*n < size ? *n : size), *n < size ? size - *n : 0, "'");
}

/* Puts password into conninfo, rewritten as keyword='value' pairs (a postgresql:// URI takes
 * no suffix). A conninfo with a password of its own is refused: one place for it. */
static int add_db_password(struct col_settings *s, const char *password, const char *path,
                           char *err, size_t errlen)
{
    char *pqerr = NULL;
    PQconninfoOption *opts = PQconninfoParse(s->db_conninfo, &pqerr);
    if (!opts) {
        snprintf(err, errlen, "%s: [database] conninfo: %s", path, pqerr ? pqerr : "no memory");
        PQfreemem(pqerr);
        return -EINVAL;
    }
    char out[sizeof(s->db_conninfo)];
    size_t n = 0;
    int rc = 0;
    for (const PQconninfoOption *o = opts; o->keyword && rc == 0; o++) {
        bool is_password = strcmp(o->keyword, "password") == 0;
        if (is_password && o->val && o->val[0])
            rc = -EEXIST;
        else if (is_password || o->val)
            append_quoted(out, sizeof(out), &n, o->keyword, is_password ? password : o->val);
    }
    PQconninfoFree(opts);
    if (rc == -EEXIST)
        snprintf(err, errlen, "%s: [database] password_file: conninfo has a password too", path);
    else if (n >= sizeof(out))
        snprintf(err, errlen, "%s: [database] conninfo: too long with the password", path);
    else
        memcpy(s->db_conninfo, out, n + 1);
    explicit_bzero(out, sizeof(out));
    return rc == 0 && n < sizeof(out) ? 0 : -EINVAL;
}

/* Every collector secret may come from a file instead (mode 0600, or refused). The [sink NAME]
 * sections' files are read with the same helper by settings_sinks.c. */
static int load_secrets(struct col_settings *s, const char *path, char *err, size_t errlen)
{
    char dbpw[256] = "";
    const struct secret_key keys[] = {
        {"mqtt", "password", s->mqtt_password, sizeof(s->mqtt_password), s->mqtt_password_file},
        {"http", "token", s->http_token, sizeof(s->http_token), s->http_token_file},
        {"webhook", "url", s->webhook_url, sizeof(s->webhook_url), s->webhook_url_file},
        {"database", "password", dbpw, sizeof(dbpw), s->db_password_file},
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
        rc = load_secret(&keys[i], path, err, errlen);
    if (rc == 0 && strpbrk(s->http_token, " \t\r\n")) {
        snprintf(err, errlen, "%s: [http] token: no blanks allowed", path);
        rc = -EINVAL;
    }
    if (rc == 0 && dbpw[0])
        rc = add_db_password(s, dbpw, path, err, errlen);
    explicit_bzero(dbpw, sizeof(dbpw));
    return rc;
}

static int validate_http(struct col_settings *s, const char *path, char *err, size_t errlen)
{
    char host[64];
    int port;
    if (strcmp(s->http_listen, "off") == 0)
        s->http_listen[0] = '\0';
    if (s->http_listen[0] &&
        col_settings_parse_listen(s->http_listen, host, sizeof(host), &port) < 0) {
        snprintf(err, errlen, "%s: [http] listen: '%s' is not IPv4-address:port (or off)", path,
                 s->http_listen);
        return -EINVAL;
    }
    return 0;
}

/* Applies an override's recovery keys (empty: inherit) on top of p. -EINVAL on a bad ladder. */
static int apply_recovery(const struct col_settings *s, const struct col_bot_override *o,
                          struct col_recovery_policy *p)
{
    if (!o)
        return 0;
    if (o->recovery[0])
        p->enabled = strcmp(o->recovery, "on") == 0 && s->rec_signing_key_file[0];
    if (o->pre_restart[0])
        p->pre_restart = strcmp(o->pre_restart, "on") == 0;
    if (o->recovery_ladder[0] && col_recovery_parse_ladder(o->recovery_ladder, p) < 0)
        return -EINVAL;
    return 0;
}

static int validate_recovery(struct col_settings *s, const char *path, char *err, size_t errlen)
{
    struct col_recovery_policy *p = &s->recovery;
    p->enabled = s->rec_enabled && s->rec_signing_key_file[0];
    p->pre_restart = s->rec_pre_restart;
    p->max_attempts = (int)s->rec_max_attempts;
    p->window_ms = s->rec_window_ms;
    p->min_interval_ms = s->rec_min_interval_ms;
    p->deadline_ms = s->rec_deadline_ms;
    p->flap_window_ms = s->rec_flap_window_ms;
    if (col_recovery_parse_triggers(s->rec_triggers, &p->trigger_mask) < 0) {
        snprintf(err, errlen, "%s: [recovery] on: '%s' is not a list of statuses", path,
                 s->rec_triggers);
        return -EINVAL;
    }
    if (col_recovery_parse_ladder(s->rec_ladder, p) < 0) {
        snprintf(err, errlen,
                 "%s: [recovery] ladder: '%s' is not a list of reconnect, restart, hard_restart",
                 path, s->rec_ladder);
        return -EINVAL;
    }
    struct {
        const char *kind;
        struct col_bot_override **list;
        size_t n;
    } lists[] = {{"bot", s->bots, s->nbots}, {"account", s->accounts, s->naccounts}};
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < lists[l].n; i++) {
            struct col_bot_override *o = lists[l].list[i];
            const char *onoff[] = {o->recovery, o->pre_restart};
            for (int k = 0; k < 2; k++) {
                if (onoff[k][0] && strcmp(onoff[k], "on") != 0 && strcmp(onoff[k], "off") != 0) {
                    snprintf(err, errlen, "%s: [%s %s] %s: '%s' is not on or off", path,
                             lists[l].kind, o->name, k ? "pre_restart" : "recovery", onoff[k]);
                    return -EINVAL;
                }
            }
            o->policy = *p;
            if (apply_recovery(s, o, &o->policy) < 0) {
                snprintf(err, errlen,
                         "%s: [%s %s] recovery_ladder: '%s' is not a list of reconnect, "
                         "restart, hard_restart",
                         path, lists[l].kind, o->name, o->recovery_ladder);
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* The signal thresholds, and every metric rule parsed: [rules] ones, then each bot's. */
static int validate_signals(struct col_settings *s, const char *path, char *err, size_t errlen)
{
    char why[160];
    if (s->limits.api_err_warn > s->limits.api_err_crit ||
        s->limits.api_latency_warn_ms > s->limits.api_latency_crit_ms) {
        snprintf(err, errlen,
                 "%s: [rules] api_error_warn/api_latency_warn must not be above their "
                 "_crit",
                 path);
        return -EINVAL;
    }
    s->limits.api_min_calls = (int)s->api_min_calls;
    if (s->limits.restarts_crit > 0 && s->limits.restarts_crit < s->limits.restarts_warn) {
        snprintf(err, errlen, "%s: [rules] restarts_crit must not be below restarts_warn", path);
        return -EINVAL;
    }
    if (col_metric_rules_parse(s->metric_rule, s->rules, &s->nrules, COL_METRIC_RULES_MAX, why,
                               sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: [rules] metric_rule: %s", path, why);
        return -EINVAL;
    }
    s->limits.metric_rules = s->rules;
    s->limits.nmetric_rules = s->nrules;
    for (size_t i = 0; i < s->nbots; i++) {
        struct col_bot_override *o = s->bots[i];
        memcpy(o->rules, s->rules, sizeof(s->rules[0]) * (size_t)s->nrules);
        o->nrules = s->nrules;
        if (col_metric_rules_parse(o->metric_rule, o->rules, &o->nrules, COL_METRIC_RULES_MAX, why,
                                   sizeof(why)) < 0) {
            snprintf(err, errlen, "%s: [bot %s] metric_rule: %s", path, o->name, why);
            return -EINVAL;
        }
    }
    return 0;
}

/* A lease no longer than a round would lapse between two healthy rounds; an eviction within
 * the lease would cut sessions that are merely slow. */
static int validate_cluster(struct col_settings *s, const char *path, char *err, size_t errlen)
{
    if (!s->cluster_enabled)
        return 0;
    if (s->cluster_round_ms * 2 > s->cluster_lease_ms) {
        snprintf(err, errlen, "%s: [cluster] round must be at most half the lease", path);
        return -EINVAL;
    }
    if (s->cluster_evict_ms > 0 && s->cluster_evict_ms <= s->cluster_lease_ms) {
        snprintf(err, errlen, "%s: [cluster] evict_after must be longer than the lease (or 0)",
                 path);
        return -EINVAL;
    }
    if (!s->cluster_conninfo[0])
        snprintf(s->cluster_conninfo, sizeof(s->cluster_conninfo), "%s", s->db_conninfo);
    return 0;
}

/* Applies an override's thresholds (0 = inherit) to out. */
static void apply_override(const struct col_bot_override *o, struct col_rule_limits *out)
{
    if (!o)
        return;
    if (o->heartbeat_timeout_ms > 0)
        out->heartbeat_timeout_ms = o->heartbeat_timeout_ms;
    if (o->trade_stale_ms > 0)
        out->trade_stale_ms = o->trade_stale_ms;
    if (o->trade_stopped_ms > 0)
        out->trade_stopped_ms = o->trade_stopped_ms;
    if (o->check_confirm > 0)
        out->check_confirm = (int)o->check_confirm;
}

/* A retention under a day would drop the partition being written (a bare number is seconds). */
static int validate_retention(const struct col_settings *s, const char *path, char *err,
                              size_t errlen)
{
    const int64_t v[] = {s->db_retention_samples_ms, s->db_retention_trades_ms,
                         s->db_retention_transitions_ms, s->db_retention_alerts_ms,
                         s->db_retention_commands_ms};
    const char *const names[] = {"samples", "trades", "transitions", "alerts", "commands"};
    for (int i = 0; i < 5; i++) {
        if (v[i] != 0 && v[i] < (int64_t)DAY_MS) {
            snprintf(err, errlen, "%s: [database] retention_%s: 0 (keep forever) or at least 1d",
                     path, names[i]);
            return -EINVAL;
        }
    }
    return 0;
}

static int validate(struct col_settings *s, const char *path, char *err, size_t errlen)
{
    if (load_secrets(s, path, err, errlen) < 0 || validate_http(s, path, err, errlen) < 0 ||
        validate_retention(s, path, err, errlen) < 0)
        return -EINVAL;
    if (!bp_id_is_valid(s->id)) {
        snprintf(err, errlen, "%s: [collector] id: '%s' is not a valid id", path, s->id);
        return -EINVAL;
    }
    const struct col_webhook_section wh = {.url = s->webhook_url,
                                           .url_file = "", /* read into url already */
                                           .format = s->webhook_format,
                                           .chat_id = s->webhook_chat_id,
                                           .timeout_ms = s->webhook_timeout_ms,
                                           .retries = s->webhook_retries,
                                           .backoff_ms = s->webhook_backoff_ms,
                                           .queue_max = s->webhook_queue_max};
    if (col_settings_sinks_resolve(path, &wh, s->sink_sections, s->nsink_sections, &s->sinks,
                                   &s->nsinks, err, errlen) < 0)
        return -EINVAL;
    if (s->limits.trade_stale_ms >= s->limits.trade_stopped_ms) {
        snprintf(err, errlen, "%s: [rules] trade_stale must be shorter than trade_stopped", path);
        return -EINVAL;
    }
    if (s->nbots > 0) /* sorted for bsearch by name */
        qsort(s->bots, s->nbots, sizeof(*s->bots), cmp_override);
    if (s->naccounts > 0)
        qsort(s->accounts, s->naccounts, sizeof(*s->accounts), cmp_override);
    for (size_t i = 0; i < s->naccounts; i++) {
        struct col_rule_limits l = s->limits;
        apply_override(s->accounts[i], &l);
        if (l.trade_stale_ms >= l.trade_stopped_ms) {
            snprintf(err, errlen, "%s: [account %s] trade_stale must be shorter than trade_stopped",
                     path, s->accounts[i]->name);
            return -EINVAL;
        }
    }
    const struct col_threshold *t[] = {&s->limits.cpu, &s->limits.mem, &s->limits.disk};
    const char *tn[] = {"cpu", "mem", "disk"};
    for (int i = 0; i < 3; i++) {
        if (t[i]->warn > t[i]->crit) {
            snprintf(err, errlen, "%s: [rules] %s_warn must not be above %s_crit", path, tn[i],
                     tn[i]);
            return -EINVAL;
        }
    }
    if (strcmp(s->cadence, "fixed") != 0 && strcmp(s->cadence, "learned") != 0) {
        snprintf(err, errlen, "%s: [rules] cadence: '%s' is not fixed or learned", path,
                 s->cadence);
        return -EINVAL;
    }
    for (size_t i = 0; i < s->nbots; i++) {
        const char *c = s->bots[i]->cadence;
        if (c[0] && strcmp(c, "fixed") != 0 && strcmp(c, "learned") != 0) {
            snprintf(err, errlen, "%s: [bot %s] cadence: '%s' is not fixed or learned", path,
                     s->bots[i]->name, c);
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < s->nbots; i++) {
        const char *ag = s->bots[i]->agent;
        if (ag[0] && !bp_id_is_valid(ag)) {
            snprintf(err, errlen, "%s: [bot %s] agent: '%s' is not a valid agent id", path,
                     s->bots[i]->name, ag);
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < s->nbots; i++) {
        const char *in = s->bots[i]->intended;
        if (strcmp(in, "running") != 0 && strcmp(in, "stopped") != 0) {
            snprintf(err, errlen, "%s: [bot %s] intended: '%s' is not running or stopped", path,
                     s->bots[i]->name, in);
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < s->nbots; i++) {
        struct col_rule_limits l;
        col_settings_limits_for(s, s->bots[i]->name, "", &l);
        if (l.trade_stale_ms >= l.trade_stopped_ms) {
            snprintf(err, errlen, "%s: [bot %s] trade_stale must be shorter than trade_stopped",
                     path, s->bots[i]->name);
            return -EINVAL;
        }
    }
    if (validate_recovery(s, path, err, errlen) < 0)
        return -EINVAL;
    if (validate_cluster(s, path, err, errlen) < 0)
        return -EINVAL;
    if (validate_signals(s, path, err, errlen) < 0)
        return -EINVAL;
    if (!s->mqtt_client_id[0])
        snprintf(s->mqtt_client_id, sizeof(s->mqtt_client_id), "botpulse-collector-%s", s->id);
    s->limits.heartbeat_misses = (int)s->heartbeat_misses;
    s->limits.confirm = (int)s->resource_confirm;
    s->limits.check_confirm = (int)s->check_confirm;
    s->limits.cadence_factor = strcmp(s->cadence, "learned") == 0 ? s->cadence_factor : 0;
    s->flap.changes = (int)s->flap_changes;
    s->incidents.min_bots = (int)s->incident_bots;
    return 0;
}

int col_settings_load(const char *path, struct col_settings *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    int rc = bp_config_load(path, &schema, s, err, errlen);
    if (rc < 0)
        return rc;
    return validate(s, path, err, errlen);
}

void col_settings_cleanup(struct col_settings *s)
{
    for (size_t i = 0; i < s->nsink_sections; i++)
        col_sink_section_free(s->sink_sections[i]);
    s->nsink_sections = 0;
    col_settings_sinks_free(s->sinks, s->nsinks);
    s->sinks = NULL;
    s->nsinks = 0;
    for (size_t i = 0; i < s->nbots; i++)
        free(s->bots[i]);
    free(s->bots);
    s->bots = NULL;
    s->nbots = s->bots_cap = 0;
    for (size_t i = 0; i < s->naccounts; i++)
        free(s->accounts[i]);
    free(s->accounts);
    s->accounts = NULL;
    s->naccounts = s->accounts_cap = 0;
}

static const struct col_bot_override *find(struct col_bot_override *const *list, size_t n,
                                           const char *name)
{
    if (n == 0 || !name || !name[0])
        return NULL;
    struct col_bot_override key, *kp = &key;
    snprintf(key.name, sizeof(key.name), "%s", name);
    struct col_bot_override *const *hit = bsearch(&kp, list, n, sizeof(*list), cmp_override);
    return hit ? *hit : NULL;
}

const struct col_bot_override *col_settings_find_bot(const struct col_settings *s, const char *bot)
{
    return find(s->bots, s->nbots, bot);
}

void col_settings_limits_for(const struct col_settings *s, const char *bot, const char *account,
                             struct col_rule_limits *out)
{
    *out = s->limits;
    out->heartbeat_misses = (int)s->heartbeat_misses;
    const struct col_bot_override *o = col_settings_find_bot(s, bot);
    /* the bot's configured account wins over the one its agent reports */
    const char *acct = o && o->account[0] ? o->account : account;
    apply_override(find(s->accounts, s->naccounts, acct), out);
    apply_override(o, out);
    out->intended_stopped = o && strcmp(o->intended, "stopped") == 0;
    if (!o)
        return;
    if (o->tick_timeout_ms > 0) {
        out->tick_timeout_ms = o->tick_timeout_ms;
        out->tick_expected = true;
    }
    if (o->market_stale_ms > 0)
        out->market_stale_ms = o->market_stale_ms;
    if (o->log_silence_ms > 0)
        out->log_silence_ms = o->log_silence_ms;
    if (o->cadence[0])
        out->cadence_factor = strcmp(o->cadence, "learned") == 0 ? s->cadence_factor : 0;
    out->metric_rules = o->rules;
    out->nmetric_rules = o->nrules;
}

void col_settings_recovery_for(const struct col_settings *s, const char *bot, const char *account,
                               struct col_recovery_policy *out)
{
    const struct col_bot_override *o = col_settings_find_bot(s, bot);
    const char *acct = o && o->account[0] ? o->account : account;
    *out = s->recovery; /* then [account NAME], then [bot NAME]: validated at load */
    apply_recovery(s, find(s->accounts, s->naccounts, acct), out);
    apply_recovery(s, o, out);
}
