/* SPDX-License-Identifier: MIT */
/* The collector's configuration: one table of keys per section (see settings.c), loaded with
 * bp_config_load, and per-bot overrides from [bot NAME] sections. */
#ifndef COL_SETTINGS_H
#define COL_SETTINGS_H

#include "msg.h"
#include "rules.h"

#include <stddef.h>
#include <stdint.h>

#define COL_MAX_BOT_OVERRIDES 4096

struct col_bot_override {
    char name[BP_ID_MAX + 1];
    char account[BP_ID_MAX + 1]; /* "" = as the agent reports it */
    char exchange[BP_ID_MAX + 1];
    int64_t heartbeat_timeout_ms; /* 0 = inherit from [rules] */
    int64_t trade_stale_ms;
    int64_t trade_stopped_ms;
    char intended[16]; /* "running" or "stopped" */
    int64_t tick_timeout_ms; /* 0 = inherit; set: ticks are expected from this bot */
    int64_t market_stale_ms; /* 0 = inherit */
    char metric_rule[1024];  /* its own rules, added to [rules] metric_rule */
    int nrules;              /* [rules] ones first, then its own (parsed at load) */
    struct col_metric_rule rules[COL_METRIC_RULES_MAX];
};

struct col_settings {
    /* [collector] */
    char id[BP_ID_MAX + 1];
    char log_level[16];
    int64_t stats_interval_ms;
    int64_t queue_max;
    /* [mqtt] */
    char mqtt_url[256];
    char mqtt_client_id[128];
    char mqtt_username[128];
    char mqtt_password[256];
    char mqtt_ca_file[256];
    char topic_root[128];
    /* [database] */
    char db_conninfo[1024];
    int64_t db_spool_max;
    int64_t db_batch_max;
    int64_t db_retry_ms;
    int64_t db_migrate_timeout_ms;
    /* [rules] */
    struct col_rule_limits limits;
    int64_t heartbeat_misses;
    int64_t summary_interval_ms;
    int64_t sample_interval_ms;
    int64_t reconnect_grace_ms;
    int64_t alert_repeat_ms;
    int64_t resource_confirm;
    int64_t api_min_calls;
    char metric_rule[1024]; /* "NAME OP NUMBER SEVERITY[, ...]" */
    int nrules;
    struct col_metric_rule rules[COL_METRIC_RULES_MAX];
    /* [webhook] */
    char webhook_url[512];
    char webhook_format[16];
    char webhook_chat_id[64];
    int64_t webhook_timeout_ms;
    int64_t webhook_retries;
    int64_t webhook_backoff_ms;
    int64_t webhook_queue_max;
    /* [http] */
    char http_listen[64]; /* "127.0.0.1:8080"; "" or "off": no HTTP server */
    char http_token[256]; /* bearer token for mutating routes; "" = they answer 403 */
    char http_token_file[256];
    int64_t http_timeout_ms; /* wait for the rules thread or the database per request */
    /* [bot NAME] */
    struct col_bot_override **bots; /* each allocated on its own: the loader keeps pointers */
    size_t nbots;
    size_t bots_cap;
};

/* Loads path into s (defaults first). 0, or -errno with the file, line and key in err. */
int col_settings_load(const char *path, struct col_settings *s, char *err, size_t errlen);
void col_settings_cleanup(struct col_settings *s);
/* Splits an [http] listen value "a.b.c.d:port" into host and port. 0 or -EINVAL. */
int col_settings_parse_listen(const char *listen, char *host, size_t hostlen, int *port);
/* The override for a bot, or NULL. */
const struct col_bot_override *col_settings_find_bot(const struct col_settings *s, const char *bot);
/* The limits for a bot: [rules] with its override applied. */
void col_settings_limits_for(const struct col_settings *s, const char *bot,
                             struct col_rule_limits *out);

#endif
