/* SPDX-License-Identifier: MIT */
/* Integration-test fixture: a temp dir per test, a real mosquitto on a free loopback port,
 * a throwaway PostgreSQL cluster (initdb + pg_ctl, Unix socket in the temp dir; run as an
 * unprivileged user when we are root), our daemons as child processes with their logs in
 * the temp dir, an MQTT recorder (Paho, via bp_mqtt) and SQL helpers (libpq).
 * On failure, bpt_fail() prints every server's and daemon's log before failing the test. */
#ifndef BPT_FIXTURE_H
#define BPT_FIXTURE_H

#include "ctl_run.h"
#include "http_client.h"
#include "testkit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bpt_env;
struct bpt_rec;

/* Paths of the built binaries, set by CMake. */
#define BPT_COLLECTOR_BIN BP_BIN_DIR "/collector/botpulse-collector"
#define BPT_AGENT_BIN BP_BIN_DIR "/agent/botpulse-agent"

/* ---- environment (env.c) --------------------------------------------------------------- */

/* A fresh temp dir "botpulse-<name>-XXXXXX" under $TMPDIR (or /tmp), world-traversable so an
 * unprivileged PostgreSQL can use its subdirectory. NULL on failure (reason on stderr). */
struct bpt_env *bpt_env_new(const char *name);
/* Stops every process the env started (SIGTERM, then SIGKILL after 5 s), PostgreSQL and
 * mosquitto; removes the temp dir unless BPT_KEEP=1 or a failure was recorded. */
void bpt_env_free(struct bpt_env *env);
const char *bpt_env_dir(struct bpt_env *env);
/* Writes dir/name with printf-style content; returns the path (owned by env) or NULL. */
const char *bpt_write_file(struct bpt_env *env, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for a secret (a key, a token, a password, a webhook URL): mode 0600 from the start,
 * as the daemons want. */
const char *bpt_write_secret(struct bpt_env *env, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A free TCP port on 127.0.0.1 (bind to port 0, read it back, close). */
int bpt_free_port(void);
/* Waits up to timeout_ms (0: looks once) until dir/<name>.log (a child's stdout and stderr,
 * bpt_spawn) has a line containing needle. */
bool bpt_log_has(struct bpt_env *env, const char *name, const char *needle, int64_t timeout_ms);
/* Prints every log file in the env dir (servers and daemons) to stderr. */
void bpt_dump_logs(struct bpt_env *env);
/* Records a failure (keeps the temp dir), dumps the logs, then fails the cmocka test. */
void bpt_fail(struct bpt_env *env, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
/* Defines cmocka's setup and teardown for tests that each get a fresh env called name (state
 * is the struct bpt_env *). Teardown frees it, with its servers and daemons, even after a
 * failed test. */
#define BPT_ENV_FIXTURE(name)                                                                      \
    static int setup(void **state)                                                                 \
    {                                                                                              \
        struct bpt_env *env_ = bpt_env_new(name);                                                  \
        *state = env_;                                                                             \
        return env_ ? 0 : -1;                                                                      \
    }                                                                                              \
    static int teardown(void **state)                                                              \
    {                                                                                              \
        bpt_env_free(*state);                                                                      \
        return 0;                                                                                  \
    }
#define bpt_assert(env, cond, ...)                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            bpt_fail((env), __FILE__, __LINE__, __VA_ARGS__);                                      \
    } while (0)

/* ---- mosquitto (broker.c) -------------------------------------------------------------- */

/* The shipped ACL's service logins (deploy/mosquitto/botpulse.acl). */
#define BPT_COLLECTOR_LOGIN "collector@botpulse"
#define BPT_OBSERVER_LOGIN "observer@botpulse"

/* Starts mosquitto the way deploy/mosquitto/botpulse.conf runs it: no anonymous access, one
 * login per user in a password file (each with its own random password: bpt_broker_login),
 * deploy/mosquitto/botpulse.acl as it is, and use_username_as_clientid, on a free 127.0.0.1
 * port (bpt_broker_url: for the daemons). A second port (bpt_broker_tools_url) serves the
 * test's own recorders and publishers: the same logins and ACL (plus the test-only topics
 * bpt/# and bpt-probe/#), but client ids are kept, so a test client can log in as a daemon's
 * user without kicking the daemon off. Persistence in the env dir (sessions and queued QoS 1
 * messages survive a restart), log in dir/mosquitto.log. Waits until both ports accept
 * connections (10 s deadline). 0 or -errno. */
int bpt_broker_start(struct bpt_env *env);
/* Before bpt_broker_start: anonymous access and no ACL instead (the benchmarks, which measure
 * the broker as before). */
void bpt_broker_open(struct bpt_env *env);
/* The password of user's login, adding the login if it has none (with a running broker: the
 * password file is rewritten and mosquitto re-reads it, SIGHUP, before this returns). The
 * service logins exist from bpt_broker_start on. Returns the password (owned by env) or NULL. */
const char *bpt_broker_login(struct bpt_env *env, const char *user);
/* Before bpt_broker_start: a login for one more collector (several share the fleet), with the
 * shipped ACL's block for collector@botpulse copied under it, as docs/deployment.md says to do
 * for each collector. Returns its password (owned by env) or NULL. */
const char *bpt_broker_add_collector(struct bpt_env *env, const char *user);
/* Stops it (SIGTERM, waits; persistence is written on exit). 0 or -errno. */
int bpt_broker_stop(struct bpt_env *env);
/* Starts it again on the same ports. 0 or -errno. */
int bpt_broker_restart(struct bpt_env *env);
int bpt_broker_port(struct bpt_env *env);
/* "tcp://127.0.0.1:<port>" of the daemons' listener (owned by env). */
const char *bpt_broker_url(struct bpt_env *env);
/* "tcp://127.0.0.1:<port>" of the test clients' listener (owned by env). */
const char *bpt_broker_tools_url(struct bpt_env *env);

/* ---- RabbitMQ instead of mosquitto (rabbit.c) ------------------------------------------ */

/* True when RabbitMQ's server (Debian package rabbitmq-server, which has the rabbitmq_mqtt
 * plugin) is installed. */
bool bpt_rabbitmq_installed(void);
/* Before bpt_broker_start: the broker is a private RabbitMQ node instead (never the system
 * service): node bpt-<random>@localhost, its data, logs, config, Erlang cookie and its own epmd
 * all under dir/rabbitmq, the rabbitmq_mqtt plugin listening on one free 127.0.0.1 port (both
 * bpt_broker_url and bpt_broker_tools_url), Erlang distribution on loopback. Every login known
 * at the start is a RabbitMQ user (password hashed in its definitions file) with full rights on
 * vhost "/": the mosquitto ACL is not applied, and no login can be added while it runs. */
void bpt_broker_use_rabbitmq(struct bpt_env *env);

/* ---- PostgreSQL (pg.c) ----------------------------------------------------------------- */

/* initdb into dir/pg (as user "nobody" via runuser when root), then pg_ctl start listening
 * only on a Unix socket in dir/pgsock with a free port number; creates database "botpulse".
 * Waits until it accepts connections (30 s). 0 or -errno. */
int bpt_pg_start(struct bpt_env *env);
/* pg_ctl stop -m fast. 0 or -errno. */
int bpt_pg_stop(struct bpt_env *env);
/* pg_ctl start again (same socket and port); waits until ready. 0 or -errno. */
int bpt_pg_restart(struct bpt_env *env);
/* libpq conninfo for the "botpulse" database (owned by env). */
const char *bpt_pg_conninfo(struct bpt_env *env);
/* The same over TCP to addr, for a daemon in another network namespace (netns.h: PostgreSQL
 * listens on the test's own namespace's addresses then). */
void bpt_pg_conninfo_tcp(struct bpt_env *env, const char *addr, char *out, size_t size);
/* Its port (the Unix socket's number, and TCP's in the test's own network namespace). */
int bpt_pg_port(struct bpt_env *env);
/* Runs sql, one or more statements without parameters (DDL, ALTER ROLE ...). 0, or -1 on an
 * error (printed). */
int bpt_pg_exec(struct bpt_env *env, const char *sql);
/* Runs sql (with $1.. params, all text) and returns the first column of the first row as an
 * integer; -1 on any error (printed) or when there is no row / it is NULL. */
int64_t bpt_pg_int(struct bpt_env *env, const char *sql, int nparams, const char *const *params);
/* Same, returns the first column as a malloc'd string (caller frees); NULL on error/no row. */
char *bpt_pg_text(struct bpt_env *env, const char *sql, int nparams, const char *const *params);
/* Polls bpt_pg_int every 100 ms until it returns expected or timeout_ms passes.
 * Returns the last value seen. */
int64_t bpt_pg_wait_int(struct bpt_env *env, int64_t expected, int64_t timeout_ms, const char *sql,
                        int nparams, const char *const *params);

/* ---- processes (proc.c) ---------------------------------------------------------------- */

/* Starts argv (argv[0] a path) with stdout and stderr to dir/<name>.log, in its own process
 * group; remembered under name. Returns the pid or -errno. */
pid_t bpt_spawn(struct bpt_env *env, const char *name, char *const argv[]);
/* Sends sig to the named process. 0 or -errno (-ESRCH if not running). */
int bpt_signal(struct bpt_env *env, const char *name, int sig);
/* Waits up to timeout_ms for the named process to exit; returns its wait status or -ETIMEDOUT. */
int bpt_wait_exit(struct bpt_env *env, const char *name, int64_t timeout_ms);
/* Pid of the named process, or -1. */
pid_t bpt_pid(struct bpt_env *env, const char *name);
/* Runs argv to completion (timeout_ms), capturing stdout+stderr into *output (malloc'd, may be
 * NULL). Returns the exit status (0..255), or -errno / -ETIMEDOUT. */
int bpt_run(struct bpt_env *env, char *const argv[], int64_t timeout_ms, char **output);

/* ---- MQTT recorder (recorder.c) -------------------------------------------------------- */

/* Connects a Paho client (bp_mqtt) to the env's broker (its test clients' listener, as
 * BPT_OBSERVER_LOGIN, which the ACL lets read everything under botpulse/v1) and records every
 * message matching filter (MQTT wildcards allowed). Waits for the subscription (10 s). NULL on
 * failure. */
struct bpt_rec *bpt_rec_new(struct bpt_env *env, const char *filter);
/* The same, logged in as a broker user (bpt_broker_secure), recording every message matching
 * any of the NULL-terminated filters (at most 4) that the broker lets this user read. */
struct bpt_rec *bpt_rec_new_as(struct bpt_env *env, const char *user, const char *password,
                               const char *const *filters);
/* Publishes payload to topic with QoS 1 as the recorder's user, and waits until the broker has
 * it (a publish the ACL refuses is acknowledged and dropped). 0 or -errno. */
int bpt_rec_publish(struct bpt_rec *rec, const char *topic, const char *payload);
void bpt_rec_free(struct bpt_rec *rec);
/* Waits until a message whose topic matches topic_filter (MQTT wildcards) and whose payload
 * contains every one of the NULL-terminated substrings in needles has been recorded (at any
 * time since the recorder started, or since the last bpt_rec_clear). Returns a malloc'd copy
 * of the newest such payload (caller frees), or NULL on timeout. */
char *bpt_rec_wait(struct bpt_rec *rec, const char *topic_filter, const char *const *needles,
                   int64_t timeout_ms);
/* Waits like bpt_rec_wait for a message whose JSON has every "key=value" field of the
 * NULL-terminated array (testkit.h); a malloc'd copy of the newest one, or NULL on timeout. */
char *bpt_rec_wait_fields(struct bpt_rec *rec, const char *topic_filter, int64_t timeout_ms,
                          const char *const *fields);
/* Expects a message on topic_filter whose JSON has every "key=value" field listed after the
 * timeout (testkit.h), recorded since the start or the last clear, within timeout_ms; fails the
 * test (every log dumped, the newest message on the topic shown) when none comes. */
#define bpt_expect_msg(rec, topic_filter, timeout_ms, ...)                                         \
    bpt_expect_msg_at((rec), __FILE__, __LINE__, (topic_filter), (timeout_ms),                     \
                      (const char *const[]){__VA_ARGS__, NULL})
void bpt_expect_msg_at(struct bpt_rec *rec, const char *file, int line, const char *topic_filter,
                       int64_t timeout_ms, const char *const *fields);
/* Number of recorded messages matching topic_filter and needles. */
int bpt_rec_count(struct bpt_rec *rec, const char *topic_filter, const char *const *needles);
/* Forgets everything recorded so far. */
void bpt_rec_clear(struct bpt_rec *rec);
/* Publishes raw bytes to the env's broker (a client kept per login while the broker runs) under
 * the login the shipped ACL lets write there: an agent's own for its topics
 * (botpulse/v1/agents/<agent>/...), the collector's for an agent's commands and the
 * collector's topics, the observer's for the test-only topics bpt/#. A publish the ACL
 * refuses is dropped by the broker silently, as MQTT 3.1.1 wants. 0 or -errno. */
int bpt_publish(struct bpt_env *env, const char *topic, const void *payload, size_t len, int qos,
                bool retain);

#endif
