/* SPDX-License-Identifier: MIT */
/* The agent's configuration: the key tables for [agent], [mqtt] and [bot NAME], and the checks
 * no single key can make on its own. */
#include "agent_config.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_spawn.h"
#include "config.h"
#include "log.h"
#include "secret.h"
#include "sign.h"

#define KEY_STR(sect, field, nm, def, help)                                                        \
    {                                                                                              \
        nm, BP_CFG_STR, 0, 0, def, offsetof(sect, field), sizeof(((sect *)0)->field), help         \
    }
#define KEY_REGEX(sect, field, nm, help)                                                           \
    {                                                                                              \
        nm, BP_CFG_REGEX, 0, 0, "", offsetof(sect, field), sizeof(((sect *)0)->field), help        \
    }
#define KEY_MS(sect, field, nm, lo, hi, def, help)                                                 \
    {                                                                                              \
        nm, BP_CFG_MS, lo, hi, def, offsetof(sect, field), sizeof(int64_t), help                   \
    }
#define KEY_INT(sect, field, nm, lo, hi, def, help)                                                \
    {                                                                                              \
        nm, BP_CFG_INT, lo, hi, def, offsetof(sect, field), sizeof(int64_t), help                  \
    }

static const struct bp_cfg_key agent_keys[] = {
    KEY_STR(struct agent_config, id, "id", NULL, "this agent's id: 1..64 of [A-Za-z0-9_.-]"),
    KEY_STR(struct agent_config, host, "host", "", "host name to report (default: gethostname)"),
    KEY_MS(struct agent_config, heartbeat_ms, "heartbeat", 100, 3600000, "10s",
           "heartbeat interval per bot"),
    KEY_MS(struct agent_config, stats_ms, "stats", 1000, 3600000, "10s",
           "resource stats interval per bot"),
    KEY_STR(struct agent_config, state_dir, "state_dir", "/var/lib/botpulse-agent",
            "where the MQTT offline buffer and the notify socket live"),
    KEY_STR(struct agent_config, notify_socket, "notify_socket", "",
            "Unix socket for notify (default: <state_dir>/notify.sock)"),
    KEY_STR(struct agent_config, log_level, "log_level", "info", "error, warn, info or debug"),
    KEY_STR(struct agent_config, mounts_text, "mounts", "/",
            "comma-separated mount points for disk usage"),
    KEY_STR(struct agent_config, command_public_key, "command_public_key", "",
            "the collector's Ed25519 public key (hex or base64); empty: no commands"),
    KEY_MS(struct agent_config, command_timeout_ms, "command_timeout", 100, 3600000, "60s",
           "a command line still running after this is killed"),
    KEY_INT(struct agent_config, command_max_per_hour, "command_max_per_hour", 1, 1000, "6",
            "command runs per bot per hour; more are refused"),
    KEY_MS(struct agent_config, command_skew_ms, "command_skew", 0, 600000, "30s",
           "clock difference allowed when checking a command's ts and expiry"),
    KEY_MS(struct agent_config, command_max_ttl_ms, "command_max_ttl", 1000, 3600000, "1h",
           "a command valid for longer than this is refused"),
    {0},
};

static const struct bp_cfg_key mqtt_keys[] = {
    KEY_STR(struct agent_config, mqtt.url, "url", NULL, "broker URL: tcp://host:1883, ssl://..."),
    KEY_STR(struct agent_config, mqtt.username, "username", "", "broker user name"),
    KEY_STR(struct agent_config, mqtt.password, "password", "",
            "broker password (then this file must be 0600; better: password_file)"),
    KEY_STR(struct agent_config, mqtt.password_file, "password_file", "",
            "file holding the broker password (mode 0600 or 0400)"),
    KEY_STR(struct agent_config, mqtt.ca_file, "ca_file", "", "CA bundle for ssl:// URLs"),
    KEY_STR(struct agent_config, mqtt.topic_root, "topic_root", "botpulse/v1", "topic prefix"),
    KEY_INT(struct agent_config, mqtt.max_buffered, "max_buffered", 0, 1000000, "10000",
            "QoS 1 messages kept while the broker is away"),
    KEY_MS(struct agent_config, mqtt.keepalive_ms, "keepalive", 2000, 600000, "20s",
           "MQTT keepalive: a link that silently drops everything is noticed within about twice "
           "this, and the broker fires the agent's Will after 1.5 times this"),
    KEY_STR(struct agent_config, mqtt.batch, "batch", "auto",
            "all bots' heartbeats (and stats) in one message: auto (when the collector reads "
            "them), on, off"),
    {0},
};

static const struct bp_cfg_key bot_keys[] = {
    KEY_STR(struct agent_bot_config, pid_file, "pid_file", "", "file holding the bot's pid"),
    KEY_STR(struct agent_bot_config, process_name, "process_name", "",
            "process name (comm or argv[0] basename)"),
    KEY_REGEX(struct agent_bot_config, cmdline, "cmdline",
              "regex on the process's command line (arguments joined by spaces)"),
    KEY_STR(struct agent_bot_config, systemd_unit, "systemd_unit", "",
            "systemd unit running the bot (its cgroup v2 cgroup.procs), e.g. grid-1.service"),
    KEY_STR(struct agent_bot_config, account, "account", "", "account label"),
    KEY_STR(struct agent_bot_config, exchange, "exchange", "", "exchange label"),
    KEY_STR(struct agent_bot_config, log_file, "log_file", "", "the bot's log file, tailed"),
    KEY_REGEX(struct agent_bot_config, log_trade, "log_trade", "log lines that are trades"),
    KEY_REGEX(struct agent_bot_config, log_error, "log_error", "log lines that are errors"),
    KEY_REGEX(struct agent_bot_config, log_warning, "log_warning", "log lines that are warnings"),
    KEY_REGEX(struct agent_bot_config, log_reconnect, "log_reconnect",
              "log lines that are reconnects (to the exchange)"),
    KEY_REGEX(struct agent_bot_config, log_rate_limit, "log_rate_limit",
              "log lines that are rate limits hit"),
    KEY_REGEX(struct agent_bot_config, log_timeout, "log_timeout", "log lines that are timeouts"),
    KEY_STR(struct agent_bot_config, heartbeat_file, "heartbeat_file", "",
            "a file the bot touches (or writes a time into)"),
    KEY_MS(struct agent_bot_config, heartbeat_file_max_age_ms, "heartbeat_file_max_age", 0,
           86400000LL * 7, "0", "oldest live heartbeat file (0 = 3 x heartbeat)"),
    KEY_STR(struct agent_bot_config, probe, "probe", "",
            "command printing the last trade time (no shell: split on blanks)"),
    KEY_MS(struct agent_bot_config, probe_interval_ms, "probe_interval", 1000, 86400000, "60s",
           "how often the probe runs"),
    KEY_MS(struct agent_bot_config, probe_timeout_ms, "probe_timeout", 100, 3600000, "10s",
           "the probe is killed after this long"),
    KEY_STR(struct agent_bot_config, actions[0], "reconnect", "",
            "command line for the reconnect action (no shell)"),
    KEY_STR(struct agent_bot_config, actions[1], "restart", "",
            "command line for the restart action (no shell)"),
    KEY_STR(struct agent_bot_config, actions[2], "hard_restart", "",
            "command line for the hard_restart action (no shell)"),
    KEY_STR(struct agent_bot_config, actions[3], "pre_restart", "",
            "command line run before a restart, e.g. to cancel orders (no shell)"),
    KEY_STR(struct agent_bot_config, pass_env, "pass_env", "",
            "names of the agent's environment variables its probe and commands also get"),
    KEY_STR(struct agent_bot_config, notify_user, "notify_user", "",
            "the user (name or uid) allowed to notify for this bot; empty: anyone who can "
            "connect to the socket"),
    {0},
};

static void *add_bot(void *cfgp, const char *name, char *err, size_t errlen)
{
    struct agent_config *cfg = cfgp;
    if (!bp_id_is_valid(name)) {
        snprintf(err, errlen, "bot name '%s': expected 1..%d of [A-Za-z0-9_.-]", name, BP_ID_MAX);
        return NULL;
    }
    if (agent_config_find_bot(cfg, name) >= 0) {
        snprintf(err, errlen, "bot '%s' defined twice", name);
        return NULL;
    }
    if (cfg->nbots >= BP_AGENT_MAX_BOTS) {
        snprintf(err, errlen, "too many bots (at most %d)", BP_AGENT_MAX_BOTS);
        return NULL;
    }
    struct agent_bot_config *b = &cfg->bots[cfg->nbots++];
    memset(b, 0, sizeof(*b));
    snprintf(b->name, sizeof(b->name), "%s", name);
    return b;
}

static const struct bp_cfg_schema schema = {
    .sections = {{"agent", agent_keys}, {"mqtt", mqtt_keys}},
    .repeated = {{"bot", bot_keys, add_bot}},
};

int agent_config_find_bot(const struct agent_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->nbots; i++) {
        if (strcmp(cfg->bots[i].name, name) == 0)
            return i;
    }
    return -1;
}

/* Splits mounts_text at commas into cfg->mounts, trimming blanks; each must be absolute. */
static int split_mounts(struct agent_config *cfg, const char *path, char *err, size_t errlen)
{
    const char *p = cfg->mounts_text;
    cfg->nmounts = 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (n > 0 && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0 || s[0] != '/' || n >= AGENT_PATH_MAX) {
            snprintf(err, errlen, "%s: [agent] mounts: '%.*s' is not an absolute path", path,
                     (int)(end ? (size_t)(end - p) : strlen(p)), p);
            return -EINVAL;
        }
        if (cfg->nmounts >= AGENT_MAX_MOUNTS) {
            snprintf(err, errlen, "%s: [agent] mounts: at most %d", path, AGENT_MAX_MOUNTS);
            return -EINVAL;
        }
        memcpy(cfg->mounts[cfg->nmounts], s, n);
        cfg->mounts[cfg->nmounts++][n] = '\0';
        if (!end)
            break;
        p = end + 1;
    }
    if (cfg->nmounts == 0) {
        snprintf(err, errlen, "%s: [agent] mounts: empty (use \"/\")", path);
        return -EINVAL;
    }
    return 0;
}

static int must_be_absolute(const char *value, const char *bot, const char *key, const char *path,
                            char *err, size_t errlen)
{
    if (value[0] == '\0' || value[0] == '/')
        return 0;
    snprintf(err, errlen, "%s: [bot %s] %s: must be an absolute path", path, bot, key);
    return -EINVAL;
}

/* The optional evidence sources of one bot: paths, patterns without a file, probe timing. */
static int check_sources(const struct agent_config *cfg, struct agent_bot_config *b,
                         const char *path, char *err, size_t errlen)
{
    int rc;
    if ((rc = must_be_absolute(b->log_file, b->name, "log_file", path, err, errlen)) ||
        (rc = must_be_absolute(b->heartbeat_file, b->name, "heartbeat_file", path, err, errlen)))
        return rc;
    if (b->log_file[0] == '\0' && (b->log_trade[0] != '\0' || b->log_error[0] != '\0' ||
                                   b->log_warning[0] != '\0' || b->log_reconnect[0] != '\0' ||
                                   b->log_rate_limit[0] != '\0' || b->log_timeout[0] != '\0')) {
        snprintf(err, errlen, "%s: [bot %s] log_* patterns: set log_file too", path, b->name);
        return -EINVAL;
    }
    if (b->probe[0] != '\0' && b->probe_timeout_ms > b->probe_interval_ms) {
        snprintf(err, errlen, "%s: [bot %s] probe_timeout: longer than probe_interval", path,
                 b->name);
        return -EINVAL;
    }
    if (b->probe[0] != '\0' && strspn(b->probe, " \t") == strlen(b->probe)) {
        snprintf(err, errlen, "%s: [bot %s] probe: empty command", path, b->name);
        return -EINVAL;
    }
    if (b->heartbeat_file[0] != '\0' && b->heartbeat_file_max_age_ms == 0)
        b->heartbeat_file_max_age_ms = 3 * cfg->heartbeat_ms;
    return 0;
}

/* A unit name, or a path under the cgroup root for units outside system.slice. */
static int check_unit(const struct agent_bot_config *b, const char *path, char *err, size_t errlen)
{
    const char *u = b->systemd_unit;
    if (u[0] == '\0')
        return 0;
    if (b->pid_file[0] != '\0') {
        snprintf(err, errlen, "%s: [bot %s] systemd_unit: set either it or pid_file", path,
                 b->name);
        return -EINVAL;
    }
    if (u[0] == '/' || u[0] == '.' || strstr(u, "..") != NULL ||
        strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.@\\-/") !=
            strlen(u)) {
        snprintf(err, errlen,
                 "%s: [bot %s] systemd_unit: '%s' is not a unit name (e.g. grid-1.service) "
                 "or a path relative to /sys/fs/cgroup",
                 path, b->name, u);
        return -EINVAL;
    }
    return 0;
}

/* notify_user: a uid, or a user name looked up now (a later rename is not followed). */
static int resolve_notify_user(struct agent_bot_config *b, const char *path, char *err,
                               size_t errlen)
{
    const char *u = b->notify_user;
    b->has_notify_uid = false;
    if (u[0] == '\0')
        return 0;
    if (strspn(u, "0123456789") == strlen(u) && strlen(u) <= 10) {
        long long uid = strtoll(u, NULL, 10);
        if (uid < 0 || uid >= (long long)UINT32_MAX) {
            snprintf(err, errlen, "%s: [bot %s] notify_user: uid %s out of range", path, b->name,
                     u);
            return -EINVAL;
        }
        b->notify_uid = (uint32_t)uid;
        b->has_notify_uid = true;
        return 0;
    }
    char buf[4096];
    struct passwd pw, *found = NULL;
    int rc = getpwnam_r(u, &pw, buf, sizeof(buf), &found);
    if (rc != 0 || !found) {
        snprintf(err, errlen, "%s: [bot %s] notify_user: no user '%s'%s%s", path, b->name, u,
                 rc ? ": " : "", rc ? strerror(rc) : "");
        return -EINVAL;
    }
    b->notify_uid = (uint32_t)found->pw_uid;
    b->has_notify_uid = true;
    return 0;
}

static int check_bots(struct agent_config *cfg, const char *path, char *err, size_t errlen)
{
    if (cfg->nbots == 0) {
        snprintf(err, errlen, "%s: no [bot NAME] section: nothing to watch", path);
        return -EINVAL;
    }
    for (int i = 0; i < cfg->nbots; i++) {
        struct agent_bot_config *b = &cfg->bots[i];
        if (b->pid_file[0] == '\0' && b->process_name[0] == '\0' && b->cmdline[0] == '\0' &&
            b->systemd_unit[0] == '\0' && b->heartbeat_file[0] == '\0') {
            snprintf(err, errlen,
                     "%s: [bot %s]: set pid_file, process_name, cmdline, systemd_unit or "
                     "heartbeat_file: how else would we know it is alive?",
                     path, b->name);
            return -EINVAL;
        }
        int rc = check_unit(b, path, err, errlen);
        if (rc == 0)
            rc = check_sources(cfg, b, path, err, errlen);
        if (rc != 0)
            return rc;
        if (b->pid_file[0] != '\0' && b->pid_file[0] != '/') {
            snprintf(err, errlen, "%s: [bot %s] pid_file: must be an absolute path", path, b->name);
            return -EINVAL;
        }
        if (strchr(b->process_name, '/') != NULL) {
            snprintf(err, errlen, "%s: [bot %s] process_name: a name, not a path", path, b->name);
            return -EINVAL;
        }
        char why[128];
        if (agent_spawn_check_pass_env(b->pass_env, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: [bot %s] pass_env: %s", path, b->name, why);
            return -EINVAL;
        }
        if ((rc = resolve_notify_user(b, path, err, errlen)) != 0)
            return rc;
    }
    return 0;
}

static int fill_host(struct agent_config *cfg, const char *path, char *err, size_t errlen)
{
    if (cfg->host[0] != '\0')
        return 0;
    char name[256];
    if (gethostname(name, sizeof(name)) != 0) {
        snprintf(err, errlen, "%s: [agent] host: not set and gethostname failed: %s", path,
                 strerror(errno));
        return -errno;
    }
    size_t n = strnlen(name, sizeof(cfg->host) - 1); /* a longer name is cut, not refused */
    memcpy(cfg->host, name, n);
    cfg->host[n] = '\0';
    return 0;
}

int agent_config_finish(struct agent_config *cfg, const char *path, char *err, size_t errlen)
{
    enum bp_log_level level;
    int rc;
    if (!bp_id_is_valid(cfg->id)) {
        snprintf(err, errlen, "%s: [agent] id: '%s' is missing or not 1..%d of [A-Za-z0-9_.-]",
                 path, cfg->id, BP_ID_MAX);
        return -EINVAL;
    }
    if (cfg->mqtt.url[0] == '\0') {
        snprintf(err, errlen, "%s: [mqtt] url: required", path);
        return -EINVAL;
    }
    if (cfg->mqtt.password[0] != '\0' && cfg->mqtt.password_file[0] != '\0') {
        snprintf(err, errlen, "%s: [mqtt] password_file: set either it or password", path);
        return -EINVAL;
    }
    if (cfg->mqtt.password_file[0] != '\0' && cfg->mqtt.password_file[0] != '/') {
        snprintf(err, errlen, "%s: [mqtt] password_file: must be an absolute path", path);
        return -EINVAL;
    }
    if (cfg->mqtt.topic_root[0] == '\0' || strpbrk(cfg->mqtt.topic_root, "+#") != NULL) {
        snprintf(err, errlen, "%s: [mqtt] topic_root: empty or contains a wildcard", path);
        return -EINVAL;
    }
    static const char *const batch_modes[] = {"auto", "on", "off"};
    int mode = 0;
    while (mode < 3 && strcmp(cfg->mqtt.batch, batch_modes[mode]) != 0)
        mode++;
    if (mode == 3) {
        snprintf(err, errlen, "%s: [mqtt] batch: '%s': use auto, on or off", path, cfg->mqtt.batch);
        return -EINVAL;
    }
    cfg->mqtt.batch_mode = (enum agent_batch_mode)mode;
    if (bp_log_level_parse(cfg->log_level, &level) != 0) {
        snprintf(err, errlen, "%s: [agent] log_level: '%s': use error, warn, info or debug", path,
                 cfg->log_level);
        return -EINVAL;
    }
    if (cfg->state_dir[0] != '/') {
        snprintf(err, errlen, "%s: [agent] state_dir: must be an absolute path", path);
        return -EINVAL;
    }
    if (cfg->notify_socket[0] == '\0') {
        int n = snprintf(cfg->notify_socket, sizeof(cfg->notify_socket), "%s/notify.sock",
                         cfg->state_dir);
        if (n < 0 || (size_t)n >= sizeof(cfg->notify_socket)) {
            snprintf(err, errlen,
                     "%s: [agent] state_dir: too long for a socket path "
                     "(set notify_socket)",
                     path);
            return -ENAMETOOLONG;
        }
    }
    if ((rc = split_mounts(cfg, path, err, errlen)) != 0)
        return rc;
    cfg->has_command_key = cfg->command_public_key[0] != '\0';
    if (cfg->has_command_key &&
        bp_sign_parse_key(cfg->command_public_key, cfg->command_pk, sizeof(cfg->command_pk)) != 0) {
        snprintf(err, errlen,
                 "%s: [agent] command_public_key: not a 32-byte Ed25519 key in hex or base64",
                 path);
        return -EINVAL;
    }
    if ((rc = check_bots(cfg, path, err, errlen)) != 0)
        return rc;
    return fill_host(cfg, path, err, errlen);
}

/* ---- reload ---------------------------------------------------------------------------------- */

/* Keys a running agent cannot change: they name its MQTT session, its topics, its state files
 * or its socket. Everything else applies live. */
static const char *const restart_keys[] = {"id", "state_dir", "notify_socket", "command_public_key",
                                           NULL};

static bool key_equal(const struct bp_cfg_key *k, const void *a, const void *b)
{
    const char *x = (const char *)a + k->offset, *y = (const char *)b + k->offset;
    switch (k->type) {
    case BP_CFG_STR:
    case BP_CFG_REGEX:
        return strncmp(x, y, k->size) == 0;
    default:
        return memcmp(x, y, k->size) == 0;
    }
}

static bool is_restart_key(const char *name)
{
    for (size_t i = 0; restart_keys[i]; i++)
        if (strcmp(restart_keys[i], name) == 0)
            return true;
    return false;
}

/* [agent] and [mqtt]: every [mqtt] key and the restart_keys need a restart. */
static void diff_agent(const struct agent_config *old, const struct agent_config *neu,
                       struct agent_config_diff *d)
{
    for (const struct bp_cfg_key *k = mqtt_keys; k->name && !d->restart_key[0]; k++)
        if (!key_equal(k, old, neu))
            snprintf(d->restart_key, sizeof(d->restart_key), "[mqtt] %s", k->name);
    for (const struct bp_cfg_key *k = agent_keys; k->name; k++) {
        if (key_equal(k, old, neu))
            continue;
        if (is_restart_key(k->name) && !d->restart_key[0])
            snprintf(d->restart_key, sizeof(d->restart_key), "[agent] %s", k->name);
        d->agent_changed = true;
    }
    /* host may come from gethostname(); heartbeat is in the state message too. */
    if (strcmp(old->host, neu->host) != 0 || old->heartbeat_ms != neu->heartbeat_ms)
        d->state_changed = true;
}

static bool bot_equal(const struct agent_bot_config *a, const struct agent_bot_config *b)
{
    for (const struct bp_cfg_key *k = bot_keys; k->name; k++)
        if (!key_equal(k, a, b))
            return false;
    return true;
}

void agent_config_diff(const struct agent_config *old, const struct agent_config *neu,
                       struct agent_config_diff *d)
{
    memset(d, 0, sizeof(*d));
    diff_agent(old, neu, d);
    if (old->nbots != neu->nbots)
        d->state_changed = true;
    for (int i = 0; i < neu->nbots; i++) {
        const struct agent_bot_config *b = &neu->bots[i];
        int o = d->old_index[i] = agent_config_find_bot(old, b->name);
        if (o < 0) {
            d->added++;
            d->state_changed = true;
            continue;
        }
        d->same[i] = bot_equal(&old->bots[o], b);
        if (d->same[i])
            d->unchanged++;
        else
            d->changed++;
        if (o != i || strcmp(old->bots[o].account, b->account) != 0 ||
            strcmp(old->bots[o].exchange, b->exchange) != 0)
            d->state_changed = true;
    }
    d->removed = old->nbots - (neu->nbots - d->added);
}

void agent_config_apply_live(struct agent_config *cur, const struct agent_config *neu)
{
    for (const struct bp_cfg_key *k = agent_keys; k->name; k++)
        if (!is_restart_key(k->name))
            memcpy((char *)cur + k->offset, (const char *)neu + k->offset, k->size);
    cur->nmounts = neu->nmounts;
    memcpy(cur->mounts, neu->mounts, sizeof(cur->mounts));
    cur->nbots = neu->nbots;
    memcpy(cur->bots, neu->bots, sizeof(cur->bots));
}

int agent_config_load_secrets(struct agent_config *cfg, const char *path, char *err, size_t errlen)
{
    char why[512];
    int rc = 0;
    if (cfg->mqtt.password_file[0] != '\0')
        rc = bp_secret_read_file(cfg->mqtt.password_file, cfg->mqtt.password,
                                 sizeof(cfg->mqtt.password), why, sizeof(why));
    else if (cfg->mqtt.password[0] != '\0')
        rc = bp_secret_check_private(path, "[mqtt] password", why, sizeof(why));
    if (rc != 0)
        snprintf(err, errlen, "%s: [mqtt] %s: %s", path,
                 cfg->mqtt.password_file[0] ? "password_file" : "password", why);
    return rc;
}

int agent_config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    int rc = bp_config_load(path, &schema, cfg, err, errlen);
    if (rc != 0)
        return rc;
    return agent_config_finish(cfg, path, err, errlen);
}
