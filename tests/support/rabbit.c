/* SPDX-License-Identifier: MIT */
/* A private RabbitMQ node with its MQTT plugin as the test's broker (bpt_broker_use_rabbitmq):
 * everything under dir/rabbitmq, its own epmd, loopback only, never the system service. */
#include "fixture.h"
#include "fixture_internal.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The package's own scripts, not /usr/sbin's wrappers (those switch to user rabbitmq and to
 * /var/lib/rabbitmq, the system node's). */
#define RABBIT_SERVER_BIN "/usr/lib/rabbitmq/bin/rabbitmq-server"
#define RABBIT_CTL_BIN "/usr/lib/rabbitmq/bin/rabbitmqctl"
#define EPMD_BIN "/usr/lib/erlang/bin/epmd"
#define ENV_BIN "/usr/bin/env"
#define READY_MS 120000 /* a cold boot takes 10-30 s on a loaded 2-core machine */
#define EPMD_READY_MS 10000
#define CTL_STOP_MS 60000
#define STOP_MS 15000
#define NVARS 14

static const char *const conf_fmt =
    "# written by the botpulse test fixture (tests/support/rabbit.c)\n"
    "listeners.tcp.default = 127.0.0.1:%d\n"
    "mqtt.listeners.tcp.default = 127.0.0.1:%d\n"
    "mqtt.allow_anonymous = false\n"
    "mqtt.vhost = /\n"
    "mqtt.exchange = amq.topic\n"
    "load_definitions = %s/rabbitmq/definitions.json\n"
    "log.file.level = info\n"
    "log.console = true\n"
    "log.console.level = warning\n";

/* The environment of every RabbitMQ command (server and rabbitmqctl) and the argv that runs
 * one through env(1): paths and ports only, no secret. */
struct rabbit_cmd {
    char vars[NVARS][700];
    char *argv[NVARS + 8];
};

static void rabbit_cmd_init(struct bpt_env *env, struct rabbit_cmd *c, char *const tail[])
{
    const char *d = env->dir;
    int n = 0;
    snprintf(c->vars[n++], sizeof(c->vars[0]), "HOME=%s/rabbitmq/home", d); /* the cookie */
    snprintf(c->vars[n++], sizeof(c->vars[0]), "RABBITMQ_NODENAME=%s", env->rabbit_node);
    snprintf(c->vars[n++], sizeof(c->vars[0]), "RABBITMQ_MNESIA_BASE=%s/rabbitmq/mnesia", d);
    snprintf(c->vars[n++], sizeof(c->vars[0]), "RABBITMQ_LOG_BASE=%s/rabbitmq/log", d);
    snprintf(c->vars[n++], sizeof(c->vars[0]), "RABBITMQ_CONFIG_FILE=%s/rabbitmq/rabbitmq.conf", d);
    snprintf(c->vars[n++], sizeof(c->vars[0]),
             "RABBITMQ_CONF_ENV_FILE=%s/rabbitmq/rabbitmq-env.conf", d);
    snprintf(c->vars[n++], sizeof(c->vars[0]),
             "RABBITMQ_ENABLED_PLUGINS_FILE=%s/rabbitmq/enabled_plugins", d);
    snprintf(c->vars[n++], sizeof(c->vars[0]), "RABBITMQ_PID_FILE=%s/rabbitmq/node.pid", d);
    snprintf(c->vars[n++], sizeof(c->vars[0]), "RABBITMQ_DIST_PORT=%d", env->rabbit_dist_port);
    snprintf(c->vars[n++], sizeof(c->vars[0]), "ERL_EPMD_PORT=%d", env->rabbit_epmd_port);
    snprintf(c->vars[n++], sizeof(c->vars[0]), "ERL_EPMD_ADDRESS=127.0.0.1");
    snprintf(c->vars[n++], sizeof(c->vars[0]),
             "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}");
    int a = 0;
    c->argv[a++] = ENV_BIN;
    for (int i = 0; i < n; i++)
        c->argv[a++] = c->vars[i];
    for (int i = 0; tail[i] && a < NVARS + 7; i++)
        c->argv[a++] = tail[i];
    c->argv[a] = NULL;
}

bool bpt_rabbitmq_installed(void)
{
    return access(RABBIT_SERVER_BIN, X_OK) == 0 && access(RABBIT_CTL_BIN, X_OK) == 0 &&
           access(EPMD_BIN, X_OK) == 0;
}

void bpt_broker_use_rabbitmq(struct bpt_env *env)
{
    env->broker_rabbit = true;
}

/* RabbitMQ's rabbit_password_hashing_sha256 form: base64(salt || sha256(salt || password)),
 * with a 4-byte random salt. */
static int password_hash(const char *password, char *out, size_t size)
{
    unsigned char buf[4 + crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;

    if (sodium_init() < 0 ||
        size < sodium_base64_ENCODED_LEN(sizeof(buf), sodium_base64_VARIANT_ORIGINAL))
        return -EINVAL;
    randombytes_buf(buf, 4);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, buf, 4);
    crypto_hash_sha256_update(&st, (const unsigned char *)password, strlen(password));
    crypto_hash_sha256_final(&st, buf + 4);
    sodium_bin2base64(out, size, buf, sizeof(buf), sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

/* Appends fmt to buf[*len..size); -E2BIG when it does not fit. */
static int append(char *buf, size_t size, size_t *len, const char *fmt, const char *a,
                  const char *b)
{
    int n = snprintf(buf + *len, size - *len, fmt, a, b);
    if (n < 0 || (size_t)n >= size - *len)
        return -E2BIG;
    *len += (size_t)n;
    return 0;
}

/* dir/rabbitmq/definitions.json: vhost "/", each login a user (hashed password) with full
 * rights on it. Written 0600, like the mosquitto password file. */
static int write_definitions(struct bpt_env *env)
{
    char users[8192], perms[8192], hash[128];
    size_t ul = 0, pl = 0;
    int rc = 0;

    for (int i = 0; i < env->nlogins && rc == 0; i++) {
        const char *u = env->logins[i].user;
        if (strpbrk(u, "\"\\") || password_hash(env->logins[i].password, hash, sizeof(hash)) < 0)
            return -EINVAL;
        rc = append(users, sizeof(users), &ul, "%s{\"name\":\"%s\",\"password_hash\":\"",
                    i ? "," : "", u);
        if (rc == 0)
            rc = append(users, sizeof(users), &ul,
                        "%s\",\"hashing_algorithm\":\"rabbit_password_hashing_sha256\","
                        "\"tags\":\"\"%s}",
                        hash, "");
        if (rc == 0)
            rc = append(perms, sizeof(perms), &pl,
                        "%s{\"user\":\"%s\",\"vhost\":\"/\",\"configure\":\".*\","
                        "\"write\":\".*\",\"read\":\".*\"}",
                        i ? "," : "", u);
    }
    sodium_memzero(hash, sizeof(hash));
    if (rc < 0)
        return rc;
    const char *path = bpt_write_file(env, "rabbitmq/definitions.json",
                                      "{\"users\":[%.*s],\"vhosts\":[{\"name\":\"/\"}],"
                                      "\"permissions\":[%.*s]}\n",
                                      (int)ul, users, (int)pl, perms);
    return path && chmod(path, 0600) == 0 ? 0 : -EIO;
}

/* The Erlang cookie, random, readable by us only (Erlang refuses it otherwise). */
static int write_cookie(struct bpt_env *env)
{
    char path[700], cookie[33];
    snprintf(path, sizeof(path), "%s/rabbitmq/home/.erlang.cookie", env->dir);
    if (access(path, F_OK) == 0) /* a restart keeps it */
        return 0;
    if (bpt_random_hex(cookie, sizeof(cookie)) < 0)
        return -EIO;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, cookie, strlen(cookie));
    close(fd);
    return n == (ssize_t)strlen(cookie) ? 0 : -EIO;
}

static int make_dirs(struct bpt_env *env)
{
    static const char *const sub[] = {"", "/home", "/mnesia", "/log"};
    char path[700];
    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
        snprintf(path, sizeof(path), "%s/rabbitmq%s", env->dir, sub[i]);
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

/* Ports and node name, once: a restart keeps them (and its data: sessions, retained). */
static int pick_ports(struct bpt_env *env)
{
    char rnd[33];
    if (env->broker_port > 0)
        return 0;
    if (bpt_random_hex(rnd, sizeof(rnd)) < 0)
        return -EIO;
    snprintf(env->rabbit_node, sizeof(env->rabbit_node), "bpt-%.12s@localhost", rnd);
    env->broker_port = bpt_free_port();
    env->rabbit_epmd_port = bpt_free_port();
    env->rabbit_dist_port = bpt_free_port();
    if (env->broker_port < 0 || env->rabbit_epmd_port < 0 || env->rabbit_dist_port < 0)
        return -EADDRNOTAVAIL;
    env->tools_port = env->broker_port; /* one listener: client ids are the clients' own */
    snprintf(env->broker_url, sizeof(env->broker_url), "tcp://127.0.0.1:%d", env->broker_port);
    snprintf(env->tools_url, sizeof(env->tools_url), "%s", env->broker_url);
    return 0;
}

static int write_files(struct bpt_env *env)
{
    int rc;
    if ((rc = make_dirs(env)) < 0 || (rc = write_cookie(env)) < 0 ||
        (rc = write_definitions(env)) < 0)
        return rc;
    int amqp_port = bpt_free_port(); /* not used by botpulse; loopback, off the default 5672 */
    if (amqp_port < 0)
        return amqp_port;
    if (!bpt_write_file(env, "rabbitmq/rabbitmq.conf", conf_fmt, amqp_port, env->broker_port,
                        env->dir) ||
        !bpt_write_file(env, "rabbitmq/enabled_plugins", "[rabbitmq_mqtt].\n") ||
        !bpt_write_file(env, "rabbitmq/rabbitmq-env.conf", "# none: all in the environment\n"))
        return -EIO;
    return 0;
}

/* True once the node's log says its boot is complete: the MQTT listener accepts before the
 * users of the definitions file exist. */
static bool boot_complete(struct bpt_env *env)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/rabbitmq/log/%s.log", env->dir, env->rabbit_node);
    FILE *f = fopen(path, "r");
    char line[1024];
    bool done = false;
    while (f && !done && fgets(line, sizeof(line), f))
        done = strstr(line, "Server startup complete") != NULL;
    if (f)
        fclose(f);
    return done;
}

/* Waits until port accepts (and, for the node, its boot is complete), or the named child
 * exits, or ms pass. */
static int wait_ready(struct bpt_env *env, const char *name, int port, int64_t ms)
{
    int64_t deadline = bp_mono_ms() + ms;
    bool node = strcmp(name, BPT_RABBIT_NAME) == 0;
    while (bp_mono_ms() < deadline) {
        if (bpt_port_accepts(port) && (!node || boot_complete(env)))
            return 0;
        if (!bpt_proc_alive(env, name)) {
            bpt_note(env, "%s exited during start (see %s.log, rabbitmq/log)", name, name);
            return -ECHILD;
        }
        bp_sleep_ms(100);
    }
    bpt_note(env, "%s not ready on port %d within %lld ms", name, port, (long long)ms);
    return -ETIMEDOUT;
}

int bpt_rabbit_start(struct bpt_env *env)
{
    char epmd_port[16];
    struct rabbit_cmd cmd;
    int rc;

    if ((rc = pick_ports(env)) < 0 || (rc = write_files(env)) < 0)
        return rc;
    snprintf(epmd_port, sizeof(epmd_port), "%d", env->rabbit_epmd_port);
    char *epmd[] = {EPMD_BIN, "-port", epmd_port, "-address", "127.0.0.1", NULL};
    if ((rc = (int)bpt_spawn(env, BPT_RABBIT_EPMD_NAME, epmd)) < 0 ||
        (rc = wait_ready(env, BPT_RABBIT_EPMD_NAME, env->rabbit_epmd_port, EPMD_READY_MS)) < 0)
        return rc;
    char *server[] = {RABBIT_SERVER_BIN, NULL};
    rabbit_cmd_init(env, &cmd, server);
    if ((rc = (int)bpt_spawn(env, BPT_RABBIT_NAME, cmd.argv)) < 0)
        return rc;
    if ((rc = wait_ready(env, BPT_RABBIT_NAME, env->broker_port, READY_MS)) < 0) {
        bpt_rabbit_stop(env);
        return rc;
    }
    env->broker_running = true;
    return 0;
}

/* Stops the named child if it still runs; 0 if it had exited or exits now. */
static int stop_child(struct bpt_env *env, const char *name, int64_t ms)
{
    int status = bpt_proc_stop(env, name, ms);
    return status >= 0 || status == -ESRCH ? 0 : status;
}

int bpt_rabbit_stop(struct bpt_env *env)
{
    struct rabbit_cmd cmd;
    char *out = NULL;
    char *stop[] = {RABBIT_CTL_BIN, "stop", NULL};
    int rc = 0;

    env->broker_running = false;
    if (bpt_proc_alive(env, BPT_RABBIT_NAME)) {
        rabbit_cmd_init(env, &cmd, stop);
        int status = bpt_run(env, cmd.argv, CTL_STOP_MS, &out);
        if (status != 0) {
            bpt_note(env, "rabbitmqctl stop: exit %d: %s", status, out ? out : "");
            rc = -EIO;
        }
        free(out);
    }
    /* whatever is left of the node's process group (erl_child_setup, inet_gethost) */
    int rc2 = stop_child(env, BPT_RABBIT_NAME, STOP_MS);
    int rc3 = stop_child(env, BPT_RABBIT_EPMD_NAME, STOP_MS);
    return rc < 0 ? rc : rc2 < 0 ? rc2 : rc3;
}
