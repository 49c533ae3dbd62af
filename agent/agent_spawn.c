/* SPDX-License-Identifier: MIT */
/* posix_spawnp with a pipe, its own process group, default signals, no inherited descriptor
 * above 2 and an explicit environment. */
#include "agent_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Appends NAME=value; a name already there is not added again. 0 or -E2BIG. */
static int add(struct agent_spawn_env *e, const char *name, size_t nlen, const char *value)
{
    if (!value || !*value)
        return 0;
    for (int i = 0; i < e->n; i++)
        if (strncmp(e->vars[i], name, nlen) == 0 && e->vars[i][nlen] == '=')
            return 0;
    size_t need = nlen + 1 + strlen(value) + 1;
    if (e->n == AGENT_SPAWN_ENV_MAX || need > sizeof(e->text) - e->used)
        return -E2BIG;
    char *p = e->text + e->used;
    snprintf(p, need, "%.*s=%s", (int)nlen, name, value);
    e->vars[e->n++] = p;
    e->vars[e->n] = NULL;
    e->used += need;
    return 0;
}

static int add_own(struct agent_spawn_env *e, const char *name, size_t nlen)
{
    char buf[128];
    if (nlen >= sizeof(buf))
        return 0;
    memcpy(buf, name, nlen);
    buf[nlen] = '\0';
    return add(e, name, nlen, getenv(buf));
}

#define SEPARATORS " \t,"

int agent_spawn_env_build(const struct agent_spawn_for *who, struct agent_spawn_env *e)
{
    static const char *const own[] = {"HOME", "LANG", "TZ"};
    const char *path = getenv("PATH");
    int rc;
    e->n = 0;
    e->used = 0;
    e->vars[0] = NULL;
    rc = add(e, "PATH", 4, path && *path ? path : AGENT_SPAWN_DEFAULT_PATH);
    for (size_t i = 0; rc == 0 && i < sizeof(own) / sizeof(own[0]); i++)
        rc = add_own(e, own[i], strlen(own[i]));
    if (rc == 0)
        rc = add(e, "BOTPULSE_BOT", 12, who->bot);
    if (rc == 0)
        rc = add(e, "BOTPULSE_ACTION", 15, who->action);
    if (rc == 0)
        rc = add(e, "BOTPULSE_NOTIFY_SOCKET", 22, who->notify_socket);
    for (const char *p = who->pass_env ? who->pass_env : ""; rc == 0 && *p;) {
        p += strspn(p, SEPARATORS);
        size_t n = strcspn(p, SEPARATORS);
        if (n > 0)
            rc = add_own(e, p, n);
        p += n;
    }
    return rc;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

int agent_spawn_check_pass_env(const char *pass_env, char *why, size_t whylen)
{
    int count = 0;
    for (const char *p = pass_env; *p;) {
        p += strspn(p, SEPARATORS);
        size_t n = strcspn(p, SEPARATORS);
        if (n == 0)
            break;
        if (!name_ok(p, n) || n >= 128) {
            snprintf(why, whylen, "'%.*s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
                     (int)(n > 40 ? 40 : n), p);
            return -EINVAL;
        }
        if (++count > AGENT_PASS_ENV_MAX) {
            snprintf(why, whylen, "more than %d names", AGENT_PASS_ENV_MAX);
            return -EINVAL;
        }
        p += n;
    }
    return 0;
}

int agent_spawn(char *const argv[], const struct agent_spawn_for *who, bool with_stderr, pid_t *pid,
                int *fd)
{
    struct agent_spawn_env env;
    int pfd[2];
    int rc = agent_spawn_env_build(who, &env);
    if (rc != 0)
        return rc;
    if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) != 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, deflt;
    sigemptyset(&none);
    sigemptyset(&deflt);
    sigaddset(&deflt, SIGPIPE); /* the agent ignores it; the child should not */
    sigaddset(&deflt, SIGTERM);
    sigaddset(&deflt, SIGINT);
    sigaddset(&deflt, SIGHUP);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
    if (with_stderr)
        posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
    /* Last: whatever the agent holds without close-on-exec (Paho's socket) stays with it. */
    posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setsigmask(&at, &none); /* the agent blocks its signals outside ppoll */
    posix_spawnattr_setsigdefault(&at, &deflt);
    posix_spawnattr_setpgroup(&at, 0); /* its own group: a timeout kills its children too */
    rc = posix_spawnp(pid, argv[0], &fa, &at, argv, env.vars);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        *pid = 0;
        return -rc;
    }
    *fd = pfd[0];
    return 0;
}
