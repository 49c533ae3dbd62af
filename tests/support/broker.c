/* SPDX-License-Identifier: MIT */
/* A private mosquitto 2.x per test: loopback listener on a free port, anonymous access,
 * persistence in the temp dir (sessions and queued QoS 1 messages survive a restart). */
#include "fixture.h"
#include "fixture_internal.h"

#include "clock.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BPT_MOSQUITTO_BIN
#define BPT_MOSQUITTO_BIN "/usr/sbin/mosquitto"
#endif
#define READY_MS 10000
#define STOP_MS 10000
#define START_TRIES 3 /* a port picked as free may be taken before mosquitto binds it */

static const char *const conf_fmt =
    "# written by the botpulse test fixture\n"
    "listener %d 127.0.0.1\n"
    "%s"
    "persistence true\n"
    "persistence_location %s/mosq/\n"
    "log_dest file %s/mosquitto.log\n"
    "log_type error\n"
    "log_type warning\n"
    "log_type notice\n"
    "log_type information\n"
    "log_timestamp_format %%Y-%%m-%%dT%%H:%%M:%%S\n"
    "connection_messages true\n"
    "max_queued_messages 100000\n"
    "set_tcp_nodelay true\n"
    /* As root, mosquitto would switch to user "mosquitto", which cannot write our dir. */
    "%s";

/* True once something accepts a TCP connection on 127.0.0.1:port. */
static bool port_accepts(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0)
        return false;
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static int write_conf(struct bpt_env *env)
{
    char mosq_dir[600];

    snprintf(mosq_dir, sizeof(mosq_dir), "%s/mosq", env->dir);
    if (mkdir(mosq_dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    const char *path =
        bpt_write_file(env, "mosquitto.conf", conf_fmt, env->broker_port,
                       env->broker_extra[0] ? env->broker_extra : "allow_anonymous true\n",
                       env->dir, env->dir, geteuid() == 0 ? "user root\n" : "");
    if (!path)
        return -EIO;
    snprintf(env->broker_conf, sizeof(env->broker_conf), "%s", path);
    snprintf(env->broker_url, sizeof(env->broker_url), "tcp://127.0.0.1:%d", env->broker_port);
    return 0;
}

/* Spawns mosquitto and waits until the port accepts, or it exits, or READY_MS pass. */
static int start_once(struct bpt_env *env)
{
    char *argv[] = {BPT_MOSQUITTO_BIN, "-c", env->broker_conf, NULL};
    int64_t deadline = bp_mono_ms() + READY_MS;
    pid_t pid = bpt_spawn(env, BPT_BROKER_NAME, argv);

    if (pid < 0)
        return (int)pid;
    while (bp_mono_ms() < deadline) {
        if (port_accepts(env->broker_port)) {
            env->broker_running = true;
            return 0;
        }
        if (!bpt_proc_alive(env, BPT_BROKER_NAME)) {
            bpt_note(env, "mosquitto exited during start (see mosquitto.log)");
            return -ECHILD;
        }
        bp_sleep_ms(20);
    }
    bpt_note(env, "mosquitto did not accept on port %d within %d ms", env->broker_port, READY_MS);
    bpt_proc_stop(env, BPT_BROKER_NAME, STOP_MS);
    return -ETIMEDOUT;
}

int bpt_broker_start(struct bpt_env *env)
{
    bool fixed = env->broker_port > 0; /* a restart keeps its port */
    int rc = -EINVAL;

    if (env->broker_running)
        return -EALREADY;
    for (int i = 0; i < (fixed ? 1 : START_TRIES); i++) {
        if (!fixed) {
            env->broker_port = bpt_free_port();
            if (env->broker_port < 0)
                return env->broker_port;
        }
        rc = write_conf(env);
        if (rc == 0)
            rc = start_once(env);
        if (rc != -ECHILD)
            break;
    }
    if (rc != 0 && !fixed)
        env->broker_port = 0;
    return rc;
}

int bpt_broker_stop(struct bpt_env *env)
{
    if (!env->broker_running)
        return -ESRCH;
    bpt_publisher_drop(env);
    env->broker_running = false;
    int status = bpt_proc_stop(env, BPT_BROKER_NAME, STOP_MS);
    if (status < 0)
        return status;
    return WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) ? 0 : -EIO;
}

int bpt_broker_restart(struct bpt_env *env)
{
    if (env->broker_running) {
        int rc = bpt_broker_stop(env);
        if (rc < 0)
            return rc;
    }
    return bpt_broker_start(env);
}

int bpt_broker_port(struct bpt_env *env)
{
    return env->broker_port;
}

const char *bpt_broker_url(struct bpt_env *env)
{
    return env->broker_url;
}

int bpt_broker_secure(struct bpt_env *env, const char *password_file, const char *acl_file)
{
    int n =
        snprintf(env->broker_extra, sizeof(env->broker_extra),
                 "allow_anonymous false\npassword_file %s\nacl_file %s\n", password_file, acl_file);
    return n < 0 || (size_t)n >= sizeof(env->broker_extra) ? -ENAMETOOLONG : 0;
}
