/* SPDX-License-Identifier: MIT */
/* Starting a configured command line from the agent's single-threaded loop: no shell, stdin
 * from /dev/null, stdout (and optionally stderr) into a non-blocking pipe the loop polls, in
 * a process group of its own (a timeout kills its children too), signals unblocked and at
 * their defaults (the agent blocks its own outside ppoll and ignores SIGPIPE). posix_spawnp,
 * not fork: the agent has Paho's threads. Used by probes and recovery commands.
 *
 * The child gets no descriptor above 2 (Paho opens its broker socket without close-on-exec:
 * a bot started by a restart line would otherwise hold the agent's MQTT connection, write
 * packets as the agent, and keep the broker from firing the agent's Will when it dies) and an
 * explicit environment, never the agent's own (agent_spawn_env). */
#ifndef AGENT_SPAWN_H
#define AGENT_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define AGENT_SPAWN_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define AGENT_SPAWN_ENV_MAX 32      /* variables a command gets at most */
#define AGENT_SPAWN_ENV_BYTES 16384 /* their text at most */
#define AGENT_PASS_ENV_MAX 16       /* names in a bot's pass_env */

/* Whom a command runs for: what its environment tells it. Strings are borrowed; NULL or ""
 * leaves the variable out. */
struct agent_spawn_for {
    const char *bot;           /* BOTPULSE_BOT */
    const char *action;        /* BOTPULSE_ACTION: "probe", "restart", "hard_restart", ... */
    const char *notify_socket; /* BOTPULSE_NOTIFY_SOCKET */
    const char *pass_env;      /* names of the agent's own variables to pass on, blank- or
                                  comma-separated (a bot's pass_env key) */
};

/* A built environment: vars is NULL-terminated and points into text. */
struct agent_spawn_env {
    int n;
    char *vars[AGENT_SPAWN_ENV_MAX + 1];
    char text[AGENT_SPAWN_ENV_BYTES];
    size_t used;
};

/* Builds the whole environment of a command, in this order: PATH (the agent's own, or
 * AGENT_SPAWN_DEFAULT_PATH when it has none), HOME, LANG and TZ when the agent has them,
 * BOTPULSE_BOT, BOTPULSE_ACTION, BOTPULSE_NOTIFY_SOCKET, then each variable named in pass_env
 * that the agent has (a name given twice, or one of the above, is taken once). Nothing else
 * of the agent's environment is passed on. 0, or -E2BIG when it does not fit (nothing runs). */
int agent_spawn_env_build(const struct agent_spawn_for *who, struct agent_spawn_env *e);

/* Checks a pass_env value: at most AGENT_PASS_ENV_MAX names of [A-Za-z_][A-Za-z0-9_]*,
 * separated by blanks or commas. 0, or -EINVAL with the reason in why. */
int agent_spawn_check_pass_env(const char *pass_env, char *why, size_t whylen);

/* Starts argv (argv[0] looked up on the agent's PATH) with the environment built for who.
 * On success sets *pid and *fd (the read end, O_NONBLOCK and O_CLOEXEC) and returns 0;
 * otherwise -errno and nothing to clean up. */
int agent_spawn(char *const argv[], const struct agent_spawn_for *who, bool with_stderr, pid_t *pid,
                int *fd);

#endif
