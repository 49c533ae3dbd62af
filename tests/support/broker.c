/* SPDX-License-Identifier: MIT */
/* A private mosquitto 2.x per test, run the way deploy/mosquitto/botpulse.conf runs it: logins
 * from a password file, the shipped ACL, use_username_as_clientid on the daemons' listener; a
 * second loopback listener for the test's own clients; persistence in the temp dir (sessions
 * and queued QoS 1 messages survive a restart). */
#include "fixture.h"
#include "fixture_internal.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BPT_MOSQUITTO_BIN
#define BPT_MOSQUITTO_BIN "/usr/sbin/mosquitto"
#endif
#ifndef BPT_MOSQUITTO_PASSWD_BIN
#define BPT_MOSQUITTO_PASSWD_BIN "/usr/bin/mosquitto_passwd"
#endif
#define SHIPPED_ACL BP_SOURCE_DIR "/deploy/mosquitto/botpulse.acl"
#define READY_MS 10000
#define STOP_MS 10000
#define RELOAD_MS 10000
#define START_TRIES 3 /* a port picked as free may be taken before mosquitto binds it */
#define ROOT_AGENTS "botpulse/v1/agents/"

/* Both listeners: the daemons' (as shipped: the shipped ACL, the login as client id) and the
 * test clients' (the same logins and ACL plus test-only topics; client ids kept, so a test
 * client may log in as a daemon's user without kicking the daemon off). */
static const char *const secure_fmt = "per_listener_settings true\n"
                                      "listener %d %s\n"
                                      "allow_anonymous false\n"
                                      "password_file %s\n"
                                      "acl_file %s\n"
                                      "use_username_as_clientid true\n"
                                      "listener %d 127.0.0.1\n"
                                      "allow_anonymous false\n"
                                      "password_file %s\n"
                                      "acl_file %s\n";
static const char *const open_fmt = "listener %d %s\n"
                                    "listener %d 127.0.0.1\n"
                                    "allow_anonymous true\n";
/* Appended to the shipped ACL for the test clients' listener: the recorders' subscription
 * probes and test_fixture's own topics. */
static const char *const tools_acl_extra = "\n# ---- test-only (tests/support/broker.c) ----\n"
                                           "pattern readwrite bpt-probe/#\n"
                                           "pattern readwrite bpt/#\n";

static const char *const conf_fmt =
    "# written by the botpulse test fixture\n"
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

bool bpt_port_accepts(int port)
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

/* Reads the whole file at path into a malloc'd string (caller frees); NULL on error. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;

    if (!f)
        return NULL;
    if (getdelim(&text, &len, '\0', f) < 0) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

/* Writes the password file from env->logins: plain "user:password" lines (mode 0600), hashed
 * in place by mosquitto_passwd -U, so no password is ever on a command line. */
static int write_passwd(struct bpt_env *env)
{
    snprintf(env->broker_passwd, sizeof(env->broker_passwd), "%s/mosquitto.passwd", env->dir);
    /* 0600 from its creation: the plain passwords are never readable by anyone else */
    int fd = open(env->broker_passwd, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (!f) {
        if (fd >= 0)
            close(fd);
        return -EIO;
    }
    for (int i = 0; i < env->nlogins; i++)
        fprintf(f, "%s:%s\n", env->logins[i].user, env->logins[i].password);
    if (fclose(f) != 0)
        return -EIO;
    char *argv[] = {BPT_MOSQUITTO_PASSWD_BIN, "-U", env->broker_passwd, NULL};
    char *out = NULL;
    int rc = bpt_run(env, argv, 10000, &out);
    if (rc != 0)
        bpt_note(env, "mosquitto_passwd -U: exit %d: %s", rc, out ? out : "");
    free(out);
    return rc == 0 ? 0 : -EIO;
}

/* Where the daemons' listener binds: loopback, or in the test's own network namespace every
 * address of it (its veth links to the daemons' namespaces; netns.h). */
static const char *daemons_addr(const struct bpt_env *env)
{
    return env->private_net ? "0.0.0.0" : "127.0.0.1";
}

/* The listener lines: as shipped (password file, ACL, logins as client ids) or open. */
static int listener_lines(struct bpt_env *env, char **out)
{
    if (env->broker_open)
        return asprintf(out, open_fmt, env->broker_port, daemons_addr(env), env->tools_port) < 0
                   ? -ENOMEM
                   : 0;
    char *acl = read_text(SHIPPED_ACL);
    if (!acl) {
        bpt_note(env, "cannot read %s", SHIPPED_ACL);
        return -EIO;
    }
    const char *tools_acl =
        bpt_write_file(env, "tools.acl", "%s%s%s", acl, env->acl_extra, tools_acl_extra);
    /* the shipped ACL itself, unless collectors were added (then a copy with their blocks) */
    const char *daemons_acl = env->acl_extra[0]
                                  ? bpt_write_file(env, "daemons.acl", "%s%s", acl, env->acl_extra)
                                  : SHIPPED_ACL;
    free(acl);
    int rc = tools_acl && daemons_acl ? write_passwd(env) : -EIO;
    if (rc == 0 &&
        asprintf(out, secure_fmt, env->broker_port, daemons_addr(env), env->broker_passwd,
                 daemons_acl, env->tools_port, env->broker_passwd, tools_acl) < 0)
        rc = -ENOMEM;
    return rc;
}

static int write_conf(struct bpt_env *env)
{
    char mosq_dir[600];
    char *listeners = NULL;
    int rc;

    snprintf(mosq_dir, sizeof(mosq_dir), "%s/mosq", env->dir);
    if (mkdir(mosq_dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    if ((rc = listener_lines(env, &listeners)) < 0)
        return rc;
    const char *path = bpt_write_file(env, "mosquitto.conf", conf_fmt, listeners, env->dir,
                                      env->dir, geteuid() == 0 ? "user root\n" : "");
    free(listeners);
    if (!path)
        return -EIO;
    snprintf(env->broker_conf, sizeof(env->broker_conf), "%s", path);
    snprintf(env->broker_url, sizeof(env->broker_url), "tcp://127.0.0.1:%d", env->broker_port);
    snprintf(env->tools_url, sizeof(env->tools_url), "tcp://127.0.0.1:%d", env->tools_port);
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
        if (bpt_port_accepts(env->broker_port) && bpt_port_accepts(env->tools_port)) {
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

/* The service logins every broker has (the ACL's users). */
static int add_service_logins(struct bpt_env *env)
{
    static const char *const users[] = {BPT_COLLECTOR_LOGIN, BPT_OBSERVER_LOGIN, "alerts@botpulse"};
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
        if (!bpt_broker_login(env, users[i]))
            return -ENOMEM;
    return 0;
}

int bpt_broker_start(struct bpt_env *env)
{
    bool fixed = env->broker_port > 0; /* a restart keeps its ports */
    int rc = -EINVAL;

    if (env->broker_running)
        return -EALREADY;
    if (!env->broker_open && (rc = add_service_logins(env)) < 0)
        return rc;
    if (env->broker_rabbit)
        return bpt_rabbit_start(env);
    for (int i = 0; i < (fixed ? 1 : START_TRIES); i++) {
        if (!fixed) {
            env->broker_port = bpt_free_port();
            env->tools_port = bpt_free_port();
            if (env->broker_port < 0 || env->tools_port < 0)
                return env->broker_port < 0 ? env->broker_port : env->tools_port;
            if (env->broker_port == env->tools_port)
                continue;
        }
        rc = write_conf(env);
        if (rc == 0)
            rc = start_once(env);
        if (rc != -ECHILD)
            break;
    }
    if (rc != 0 && !fixed)
        env->broker_port = env->tools_port = 0;
    return rc;
}

int bpt_broker_stop(struct bpt_env *env)
{
    if (!env->broker_running)
        return -ESRCH;
    bpt_publisher_drop(env);
    env->broker_running = false;
    if (env->broker_rabbit)
        return bpt_rabbit_stop(env);
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

const char *bpt_broker_tools_url(struct bpt_env *env)
{
    return env->tools_url;
}

const char *bpt_broker_add_collector(struct bpt_env *env, const char *user)
{
    char *acl = read_text(SHIPPED_ACL);
    const char *start = acl ? strstr(acl, "\nuser " BPT_COLLECTOR_LOGIN "\n") : NULL;
    const char *end = start ? strstr(start + 1, "\n\n") : NULL;
    size_t len = strlen(env->acl_extra);
    if (!end || env->broker_running) {
        bpt_note(env, "cannot add collector %s: no collector block in %s, or the broker runs", user,
                 SHIPPED_ACL);
        free(acl);
        return NULL;
    }
    const char *body = start + strlen("\nuser " BPT_COLLECTOR_LOGIN "\n");
    snprintf(env->acl_extra + len, sizeof(env->acl_extra) - len,
             "\n# %s: as collector@botpulse\nuser %s\n%.*s\n", user, user, (int)(end - body), body);
    free(acl);
    return bpt_broker_login(env, user);
}

void bpt_broker_open(struct bpt_env *env)
{
    env->broker_open = true;
}

/* Number of "Reloading config" lines in mosquitto.log so far. */
static int reloads_logged(struct bpt_env *env)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/mosquitto.log", env->dir);
    char *log = read_text(path);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, "Reloading config")) != NULL; p++)
        n++;
    free(log);
    return n;
}

/* Makes the running broker re-read the password file (SIGHUP) and waits until it has: mosquitto
 * logs the reload before doing it, on the thread that also handles every CONNECT. */
static int reload(struct bpt_env *env)
{
    int before = reloads_logged(env);
    int64_t deadline = bp_mono_ms() + RELOAD_MS;
    int rc = bpt_signal(env, BPT_BROKER_NAME, SIGHUP);

    if (rc < 0)
        return rc;
    while (reloads_logged(env) == before) {
        if (bp_mono_ms() >= deadline) {
            bpt_note(env, "mosquitto did not log a reload within %d ms", RELOAD_MS);
            return -ETIMEDOUT;
        }
        bp_sleep_ms(20);
    }
    return 0;
}

int bpt_random_hex(char *out, size_t size)
{
    unsigned char raw[16];
    if (size < 2 * sizeof(raw) + 1 || getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

const char *bpt_broker_login(struct bpt_env *env, const char *user)
{
    for (int i = 0; i < env->nlogins; i++)
        if (strcmp(env->logins[i].user, user) == 0)
            return env->logins[i].password;
    if (env->nlogins == BPT_MAX_LOGINS || strlen(user) >= sizeof(env->logins[0].user) ||
        strchr(user, ':')) {
        bpt_note(env, "cannot add a login for '%s'", user);
        return NULL;
    }
    struct bpt_login *l = &env->logins[env->nlogins];
    if (bpt_random_hex(l->password, sizeof(l->password)) < 0)
        return NULL;
    snprintf(l->user, sizeof(l->user), "%s", user);
    env->nlogins++;
    if (env->broker_running && env->broker_rabbit) {
        bpt_note(env, "RabbitMQ users are defined at its start: cannot add '%s' now", user);
        env->nlogins--;
        return NULL;
    }
    if (env->broker_running && !env->broker_open && (write_passwd(env) < 0 || reload(env) < 0)) {
        env->nlogins--;
        return NULL;
    }
    return l->password;
}

void bpt_broker_login_for_topic(const char *topic, char *user, size_t size)
{
    snprintf(user, size, "%s", BPT_OBSERVER_LOGIN);
    if (strncmp(topic, "botpulse/v1/", 12) != 0)
        return;
    snprintf(user, size, "%s", BPT_COLLECTOR_LOGIN);
    if (strncmp(topic, ROOT_AGENTS, strlen(ROOT_AGENTS)) != 0)
        return;
    const char *agent = topic + strlen(ROOT_AGENTS);
    size_t n = strcspn(agent, "/");
    if (n > 0 && n < size && strcmp(agent + n, "/commands") != 0)
        snprintf(user, size, "%.*s", (int)n, agent);
}
