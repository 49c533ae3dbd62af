/* SPDX-License-Identifier: MIT */
/* The fixture's shared state (struct bpt_env) and the helpers its .c files call on each other;
 * tests include only fixture.h. */
#ifndef BPT_FIXTURE_INTERNAL_H
#define BPT_FIXTURE_INTERNAL_H

#include "fixture.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BPT_MAX_PROCS 32
#define BPT_MAX_FILES 64
#define BPT_MAX_LOGINS 32
#define BPT_MAX_PUBS 8

/* One child started by bpt_spawn, remembered by name. A slot whose process has exited keeps
 * its status until the name is spawned again. */
struct bp_mqtt;

struct bpt_proc {
    char name[64];
    pid_t pid;   /* also its process group id; 0: slot unused */
    bool exited; /* reaped by us */
    int status;  /* wait status once exited */
};

/* A broker login (broker.c): each user has its own random password. */
struct bpt_login {
    char user[80];
    char password[40];
};

/* bpt_publish's client for one login, kept while the broker instance runs (recorder.c). */
struct bpt_pub {
    char user[80];
    struct bp_mqtt *mqtt;
};

struct bpt_env {
    char dir[512]; /* the temp dir, 0755 */
    char name[64]; /* the test's name, for messages */
    bool failed;   /* set by bpt_fail: keep the dir */

    /* mosquitto (broker.c); runs as the child named "mosquitto" */
    int broker_port; /* the daemons' listener; 0 until the first start; kept across restarts */
    int tools_port;  /* the test clients' listener, likewise */
    bool broker_running;
    bool broker_open;     /* bpt_broker_open: anonymous, no ACL */
    bool broker_rabbit;   /* bpt_broker_use_rabbitmq: a private RabbitMQ node (rabbit.c) instead */
    char rabbit_node[64]; /* bpt-<random>@localhost */
    int rabbit_epmd_port; /* its private epmd's */
    int rabbit_dist_port; /* its Erlang distribution's */
    char broker_url[64];
    char tools_url[64];
    char broker_conf[600];
    char broker_passwd[600]; /* the password file (hashed by mosquitto_passwd -U) */
    struct bpt_login logins[BPT_MAX_LOGINS];
    int nlogins;
    char acl_extra[4096]; /* bpt_broker_add_collector: a copy of the collector's block each */
    struct bpt_pub pubs[BPT_MAX_PUBS]; /* bpt_publish's clients, one per login */
    int client_seq;                    /* numbers the MQTT client ids of recorders, publishers */

    /* PostgreSQL (pg.c) */
    char pg_conninfo[1024];
    char pg_data[600];
    char pg_sockdir[600];
    int pg_port;
    bool pg_running;
    /* bpt_netns_enter_private: the test runs in a network namespace of its own, so the broker's
     * daemons' listener and PostgreSQL also listen on its other addresses (the veth links to
     * the namespaces its daemons run in), which nothing outside it can reach. */
    bool private_net;

    /* children (proc.c) */
    struct bpt_proc procs[BPT_MAX_PROCS];

    /* paths returned by bpt_write_file (env.c), freed with the env */
    char *files[BPT_MAX_FILES];
    int nfiles;
};

/* The name under which broker.c spawns mosquitto; its output goes to dir/mosquitto.log. */
#define BPT_BROKER_NAME "mosquitto"

/* The names under which rabbit.c spawns the RabbitMQ node and its private epmd. */
#define BPT_RABBIT_NAME "rabbitmq"
#define BPT_RABBIT_EPMD_NAME "rabbitmq-epmd"

/* broker.c: true once something accepts a TCP connection on 127.0.0.1:port. */
bool bpt_port_accepts(int port);
/* broker.c: 32 hex digits from getrandom into out (size at least 33). 0 or -EIO. */
int bpt_random_hex(char *out, size_t size);
/* rabbit.c: starts the private RabbitMQ node for bpt_broker_start (env->logins are its users),
 * its MQTT listener on broker_port (= tools_port). 0 or -errno. */
int bpt_rabbit_start(struct bpt_env *env);
/* rabbit.c: rabbitmqctl stop, then whatever is left of the node and its epmd. 0 or -errno. */
int bpt_rabbit_stop(struct bpt_env *env);

/* proc.c: the slot for name, or NULL. Reaps it if it has exited (without blocking). */
struct bpt_proc *bpt_proc_find(struct bpt_env *env, const char *name);
/* proc.c: true while the named child runs (reaps it if it has exited). */
bool bpt_proc_alive(struct bpt_env *env, const char *name);
/* proc.c: SIGTERM to the named child's process group, up to timeout_ms, then SIGKILL; waits.
 * Returns its wait status, or -ESRCH if it was not running. */
int bpt_proc_stop(struct bpt_env *env, const char *name, int64_t timeout_ms);
/* proc.c: stops every child (but the broker's processes, mosquitto or RabbitMQ and its epmd,
 * when keep_broker): SIGTERM to each process group, 5 s for all of them, then SIGKILL; waits
 * for each. */
void bpt_procs_stop_all(struct bpt_env *env, bool keep_broker);

/* recorder.c: disconnects and frees bpt_publish's cached clients (before the broker stops, so
 * the next publish starts a fresh session on the next broker instance). */
void bpt_publisher_drop(struct bpt_env *env);

/* broker.c: the login a test client publishing to topic uses under the shipped ACL: the
 * agent's own for botpulse/v1/agents/<agent>/..., the collector's for an agent's commands and
 * the collector's topics, the observer's for anything else (the test-only topics). */
void bpt_broker_login_for_topic(const char *topic, char *user, size_t size);

/* env.c: a line on stderr prefixed with "[fixture <test>]". */
void bpt_note(struct bpt_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
