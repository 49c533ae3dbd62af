/* SPDX-License-Identifier: MIT */
/* The collector's configuration: one table of keys per section (see settings.c), loaded with
 * bp_config_load, and per-bot overrides from [bot NAME] sections. */
#ifndef COL_SETTINGS_H
#define COL_SETTINGS_H

#include "flapping.h"
#include "incidents.h"
#include "msg.h"
#include "recovery.h"
#include "rules.h"
#include "settings_sinks.h"

#include <stddef.h>
#include <stdint.h>

#define COL_MAX_BOT_OVERRIDES 4096

struct col_bot_override {
    char name[BP_ID_MAX + 1];
    char agent[BP_ID_MAX + 1];   /* the only agent that speaks for it; "" = the first to */
    char account[BP_ID_MAX + 1]; /* "" = as the agent reports it */
    char exchange[BP_ID_MAX + 1];
    int64_t heartbeat_timeout_ms; /* 0 = inherit from [rules] */
    int64_t trade_stale_ms;
    int64_t trade_stopped_ms;
    char intended[16];                 /* "running" or "stopped" */
    char recovery[8];                  /* "on", "off", or "" = as [recovery] enabled */
    char recovery_ladder[128];         /* "" = as [recovery] ladder */
    char pre_restart[8];               /* "on", "off", or "" = as [recovery] pre_restart */
    struct col_recovery_policy policy; /* resolved by col_settings_load */
    int64_t tick_timeout_ms;           /* 0 = inherit; set: ticks are expected from this bot */
    int64_t market_stale_ms;           /* 0 = inherit */
    int64_t log_silence_ms;            /* 0 = inherit */
    int64_t check_confirm;             /* 0 = inherit */
    char cadence[16];                  /* "fixed", "learned" or "" = as [rules] */
    char metric_rule[1024];            /* its own rules, added to [rules] metric_rule */
    int nrules;                        /* [rules] ones first, then its own (parsed at load) */
    struct col_metric_rule rules[COL_METRIC_RULES_MAX];
};

struct col_settings {
    /* [collector] */
    char id[BP_ID_MAX + 1];
    char log_level[16];
    int64_t stats_interval_ms;
    int64_t queue_max;
    /* [agents]: what one agent login may send */
    int64_t agent_rate;     /* messages per second, sustained (a batch counts each item) */
    int64_t agent_burst;    /* messages at once, above the rate */
    int64_t agent_bots_max; /* bots one agent may speak for */
    /* [mqtt] */
    char mqtt_url[256];
    char mqtt_client_id[128];
    char mqtt_username[128];
    char mqtt_password[256];
    char mqtt_password_file[256];
    char mqtt_ca_file[256];
    char topic_root[128];
    int64_t mqtt_echo_interval_ms; /* our own echo through the broker; 0 = off (echo.h) */
    int64_t mqtt_echo_timeout_ms;  /* no echo this long: blind */
    /* [database] */
    char db_conninfo[1024]; /* with password_file: the password is in here too */
    char db_password_file[256];
    int64_t db_spool_max;
    int64_t db_batch_max;
    int64_t db_retry_ms;
    int64_t db_migrate_timeout_ms;
    int64_t db_partition_days;          /* days per partition of the history tables */
    int64_t db_partition_ahead_days;    /* partitions made this far ahead */
    int64_t db_maintenance_interval_ms; /* partitions, retention: how often */
    int64_t db_retention_samples_ms;    /* 0 keeps forever, as for the four below */
    int64_t db_retention_trades_ms;
    int64_t db_retention_transitions_ms;
    int64_t db_retention_alerts_ms;
    int64_t db_retention_commands_ms;
    /* [rules] */
    struct col_rule_limits limits;
    int64_t heartbeat_misses;
    int64_t summary_interval_ms;
    int64_t sample_interval_ms;
    int64_t reconnect_grace_ms;
    int64_t alert_repeat_ms;
    struct col_flap_limits flap;
    struct col_incident_limits incidents;
    int64_t incident_bots;
    int64_t flap_changes;
    int64_t resource_confirm;
    int64_t check_confirm;
    char cadence[16];      /* [rules] cadence: "fixed" or "learned" */
    double cadence_factor; /* applied as limits.cadence_factor for learned bots */
    int64_t api_min_calls;
    char metric_rule[1024]; /* "NAME OP NUMBER SEVERITY[, ...]" */
    int nrules;
    struct col_metric_rule rules[COL_METRIC_RULES_MAX];
    /* [webhook]: one more sink, called "webhook" (in sinks below) */
    char webhook_url[512]; /* it holds the receiver's secret: logs show its host only */
    char webhook_url_file[256];
    char webhook_format[16];
    char webhook_chat_id[64];
    int64_t webhook_timeout_ms;
    int64_t webhook_retries;
    int64_t webhook_backoff_ms;
    int64_t webhook_queue_max;
    /* [sink NAME], as written (settings_sinks.h) */
    struct col_sink_section *sink_sections[COL_SINKS_MAX];
    size_t nsink_sections;
    /* every sink, resolved at load: [webhook] first, then each [sink NAME]; secrets read from
     * their files, filters parsed */
    struct col_sink_config *sinks;
    size_t nsinks;
    /* [http] */
    char http_listen[64]; /* "127.0.0.1:8080"; "" or "off": no HTTP server */
    char http_token[256]; /* bearer token for mutating routes; "" = they answer 403 */
    char http_token_file[256];
    char http_allowed_hosts[512]; /* "" = the listen address and the loopback names */
    int64_t http_timeout_ms;      /* wait for the rules thread or the database per request */
    /* [recovery] */
    bool rec_enabled;
    char rec_signing_key_file[256]; /* Ed25519 secret key; "" = no recovery at all */
    char rec_triggers[128];
    char rec_ladder[128];
    bool rec_pre_restart;
    int64_t rec_max_attempts;
    int64_t rec_window_ms;
    int64_t rec_min_interval_ms;
    int64_t rec_deadline_ms;
    int64_t rec_flap_window_ms;
    int64_t rec_command_ttl_ms;
    int64_t rec_fleet_max_per_minute;
    int64_t rec_exchange_max_failing;
    struct col_recovery_policy recovery; /* resolved [recovery], for bots without a section */
    /* [cluster]: several collectors sharing the fleet (off: this one owns every shard) */
    bool cluster_enabled;
    int64_t cluster_shards;
    int64_t cluster_lease_ms;
    int64_t cluster_round_ms;
    int64_t cluster_rebalance_max;
    int64_t cluster_warmup_ms;
    int64_t cluster_evict_ms;
    char cluster_conninfo[1024]; /* "" = [database] conninfo */
    /* [bot NAME] */
    struct col_bot_override **bots; /* each allocated on its own: the loader keeps pointers */
    size_t nbots;
    size_t bots_cap;
    /* [account NAME]: thresholds for every bot of an account (a bot's own win) */
    struct col_bot_override **accounts;
    size_t naccounts;
    size_t accounts_cap;
};

/* Loads path into s (defaults first). 0, or -errno with the file, line and key in err. */
int col_settings_load(const char *path, struct col_settings *s, char *err, size_t errlen);
void col_settings_cleanup(struct col_settings *s);
/* Splits an [http] listen value "a.b.c.d:port" into host and port. 0 or -EINVAL. */
int col_settings_parse_listen(const char *listen, char *host, size_t hostlen, int *port);
/* The override for a bot, or NULL. */
const struct col_bot_override *col_settings_find_bot(const struct col_settings *s, const char *bot);
/* The limits for a bot of an account ("" = none known): [rules], then [account NAME], then
 * [bot NAME] (whose own account setting wins over the one passed). */
void col_settings_limits_for(const struct col_settings *s, const char *bot, const char *account,
                             struct col_rule_limits *out);

/* The recovery policy of a bot of an account ("" = none known): [recovery], then
 * [account NAME], then [bot NAME] (whose own account setting wins over the one passed). */
void col_settings_recovery_for(const struct col_settings *s, const char *bot, const char *account,
                               struct col_recovery_policy *out);

#endif
