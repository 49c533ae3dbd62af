/* SPDX-License-Identifier: MIT */
/* The agent's configuration (agent.ini): one key table per section, loaded by bp_config_load,
 * then cross-checked (every bot findable, log level, mounts, socket path length). */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define AGENT_PATH_MAX 256
#define AGENT_SOCK_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */
#define AGENT_MAX_MOUNTS 16
#define AGENT_REGEX_MAX 192 /* an INI line holds at most 198 characters */

struct agent_bot_config {
    char name[BP_ID_MAX + 1];
    char pid_file[AGENT_PATH_MAX];
    char process_name[BP_ID_MAX + 1];  /* matched against comm and argv[0]'s basename */
    char cmdline[AGENT_REGEX_MAX];     /* regex on /proc/<pid>/cmdline, NULs as spaces */
    char systemd_unit[AGENT_PATH_MAX]; /* found through its cgroup (agent_procwatch.h) */
    char account[BP_ID_MAX + 1];
    char exchange[BP_ID_MAX + 1];
    /* Log tailing: the file and three optional POSIX extended patterns. */
    char log_file[AGENT_PATH_MAX];
    char log_trade[AGENT_REGEX_MAX];
    char log_error[AGENT_REGEX_MAX];
    char log_warning[AGENT_REGEX_MAX];
    char log_reconnect[AGENT_REGEX_MAX];  /* reconnects to the exchange */
    char log_rate_limit[AGENT_REGEX_MAX]; /* the exchange's rate limits hit */
    char log_timeout[AGENT_REGEX_MAX];    /* requests that timed out */
    /* A file the bot touches or writes a time into; its max age when it is the only
     * liveness evidence (0 = 3 x the agent's heartbeat, filled in by agent_config_finish). */
    char heartbeat_file[AGENT_PATH_MAX];
    int64_t heartbeat_file_max_age_ms;
    /* A command printing the time of the last trade, run every probe_interval. */
    char probe[AGENT_PATH_MAX];
    int64_t probe_interval_ms;
    int64_t probe_timeout_ms;
    /* What each command action runs for this bot (no shell: split on blanks); "" = the
     * action is refused. Indexed by enum agent_action (agent_commands.h). */
    char actions[4][AGENT_PATH_MAX];
    /* Names of the agent's own environment variables its probe and command lines also get
     * (agent_spawn.h); "" = none. */
    char pass_env[AGENT_REGEX_MAX];
    /* Who may speak for it on the notify socket (agent_notify_check_peer): a user name or a
     * uid; "" = anyone who can connect to the socket. Derived: has_notify_uid, notify_uid. */
    char notify_user[BP_ID_MAX + 1];
    bool has_notify_uid;
    uint32_t notify_uid;
};

struct agent_mqtt_config {
    char url[AGENT_PATH_MAX];
    char username[BP_TEXT_MAX + 1];
    char password[AGENT_PATH_MAX]; /* inline, or read from password_file */
    char password_file[AGENT_PATH_MAX];
    char ca_file[AGENT_PATH_MAX];
    char topic_root[BP_TEXT_MAX + 1];
    int64_t max_buffered;
    int64_t keepalive_ms; /* MQTT keepalive: a silent link is noticed within about 2x this */
    /* Heartbeats and stats of all bots in one batch message per interval (common/batch.h):
     * "auto" when the collector says it reads them, "on", "off". */
    char batch[8];
    enum agent_batch_mode { AGENT_BATCH_AUTO = 0, AGENT_BATCH_ON, AGENT_BATCH_OFF } batch_mode;
};

struct agent_config {
    char id[BP_ID_MAX + 1];
    char host[BP_TEXT_MAX + 1];
    int64_t heartbeat_ms;
    int64_t stats_ms;
    char state_dir[AGENT_PATH_MAX];
    char notify_socket[AGENT_SOCK_PATH_MAX];
    char log_level[16];
    char mounts_text[1024];
    struct agent_mqtt_config mqtt;
    /* Signed commands (agent_commands.h): the collector's Ed25519 public key, hex or base64;
     * "" = the agent does not subscribe to commands at all. */
    char command_public_key[128];
    int64_t command_timeout_ms;   /* a command line is killed after this long */
    int64_t command_max_per_hour; /* runs per bot per hour; more are refused */
    int64_t command_skew_ms;      /* clock difference allowed on ts and expires */
    int64_t command_max_ttl_ms;   /* a command valid for longer than this is refused */
    bool has_command_key;
    uint8_t command_pk[32]; /* parsed from command_public_key */

    /* Derived by agent_config_load from mounts_text. */
    int nmounts;
    char mounts[AGENT_MAX_MOUNTS][AGENT_PATH_MAX];

    int nbots;
    struct agent_bot_config bots[BP_AGENT_MAX_BOTS];
};

/* Loads and validates path into cfg (which it zeroes first). 0, or -errno with a message
 * naming the file (and line and key where the parser knows them) in err. */
int agent_config_load(const char *path, struct agent_config *cfg, char *err, size_t errlen);

/* Reads the secrets the running agent needs, which notify and check do not: [mqtt]
 * password_file into mqtt.password (secret.h: the file must be private), or, when the password
 * is inline, checks that path itself is private. Call after agent_config_load, before the
 * config is used to connect (and again on a reload). 0, or -errno with the reason in err. */
int agent_config_load_secrets(struct agent_config *cfg, const char *path, char *err, size_t errlen);

/* The cross-key checks and derived values, run by agent_config_load after parsing; exposed so
 * tests can check a struct built by hand. path is only used in messages. */
int agent_config_finish(struct agent_config *cfg, const char *path, char *err, size_t errlen);

/* Index of the bot named name, or -1. */
int agent_config_find_bot(const struct agent_config *cfg, const char *name);

/* What a reload from old to new changes (agent_config_diff). */
struct agent_config_diff {
    /* "" when the new config can be applied live; else the first key whose change needs a
     * new MQTT session or a new socket ("[mqtt] url", "[agent] id", ...): restart to apply. */
    char restart_key[32];
    bool state_changed; /* what the retained agent state lists changed: republish it */
    bool agent_changed; /* some live [agent] key changed (intervals, log level, mounts, ...) */
    int added, removed, changed, unchanged; /* bots, by name */
    /* Per bot of new: index of the bot of the same name in old, or -1 (added). */
    int old_index[BP_AGENT_MAX_BOTS];
    /* Per bot of new: its section is the same as in old (every key, after defaults). */
    bool same[BP_AGENT_MAX_BOTS];
};

/* Compares two validated configs key by key through the key tables (so bytes past a string's
 * end never count). Pure. */
void agent_config_diff(const struct agent_config *old, const struct agent_config *neu,
                       struct agent_config_diff *d);

/* Copies into cur what a reload applies live: every [agent] key but those needing a restart
 * (with the mounts derived from them) and the bots. Call only when agent_config_diff found no
 * restart_key; [mqtt] and the restart keys of cur are not written. */
void agent_config_apply_live(struct agent_config *cur, const struct agent_config *neu);

#endif
