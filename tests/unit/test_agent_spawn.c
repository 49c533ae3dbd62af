/* SPDX-License-Identifier: MIT */
/* What a command the agent runs inherits: no descriptor above 2 (a socket the agent holds
 * without close-on-exec, like Paho's, stays behind) and exactly the documented environment
 * (nothing else of the agent's), as the child itself sees them in /proc; pass_env checks. */
#include "agent_spawn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp_int(const void *x, const void *y)
{
    return *(const int *)x - *(const int *)y;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Waits until the child wrote its first line: it has finished starting (posix_spawn returns
 * while the kernel may still be setting up its exec, and the dynamic loader then holds the
 * libraries it maps open for a moment). */
static void wait_ready(int fd)
{
    char buf[16];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 10000), 1);
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0)
            return;
        assert_true(n < 0 && errno == EAGAIN);
    }
}

/* Starts a shell through agent_spawn and, once it runs, reads what it inherited from /proc:
 * its descriptors (" 0 1 2 ...") and its environment, one per line, sorted. */
static void inspect(const struct agent_spawn_for *who, char *fds, size_t fdlen, char *env,
                    size_t envlen)
{
    char *const argv[] = {"sh", "-c", "echo ready; sleep 30", NULL};
    char path[64], raw[8192];
    pid_t pid;
    int fd;
    assert_int_equal(agent_spawn(argv, who, true, &pid, &fd), 0);
    wait_ready(fd);
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int seen[64], n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        if (de->d_name[0] != '.' && n < 64)
            seen[n++] = atoi(de->d_name);
    closedir(d);
    qsort(seen, (size_t)n, sizeof(int), cmp_int);
    size_t len = 0;
    fds[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(fds + len, fdlen - len, " %d", seen[i]);
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(raw, 1, sizeof(raw) - 1, f);
    fclose(f);
    char *vars[64];
    int nv = 0;
    for (size_t i = 0; i < got && nv < 64; i += strlen(raw + i) + 1)
        vars[nv++] = raw + i;
    raw[got] = '\0';
    qsort(vars, (size_t)nv, sizeof(char *), cmp_str);
    len = 0;
    env[0] = '\0';
    for (int i = 0; i < nv; i++)
        len += (size_t)snprintf(env + len, envlen - len, "%s\n", vars[i]);
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(fd);
}

static void test_no_descriptor_above_2(void **state)
{
    /* A socket without close-on-exec, as Paho opens its broker connection. */
    int sv[2];
    char fds[256], env[8192];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct agent_spawn_for who = {.bot = "bot-1", .action = "restart"};
    inspect(&who, fds, sizeof(fds), env, sizeof(env));
    assert_string_equal(fds, " 0 1 2");
    close(sv[0]);
    close(sv[1]);
}

static void test_environment_is_explicit(void **state)
{
    char fds[256], env[8192];
    setenv("BOTPULSE_TEST_SECRET", "s3cret", 1);
    setenv("HOME", "/home/agent", 1);
    setenv("LANG", "C.UTF-8", 1);
    unsetenv("TZ");
    setenv("VIRTUAL_ENV", "/opt/venv", 1);
    unsetenv("NOT_SET_ANYWHERE");
    struct agent_spawn_for who = {.bot = "bot-1",
                                  .action = "restart",
                                  .notify_socket = "/run/botpulse/notify.sock",
                                  .pass_env = "VIRTUAL_ENV, NOT_SET_ANYWHERE PATH"};
    inspect(&who, fds, sizeof(fds), env, sizeof(env));
    char want[8192];
    snprintf(want, sizeof(want),
             "BOTPULSE_ACTION=restart\n"
             "BOTPULSE_BOT=bot-1\n"
             "BOTPULSE_NOTIFY_SOCKET=/run/botpulse/notify.sock\n"
             "HOME=/home/agent\n"
             "LANG=C.UTF-8\n"
             "PATH=%s\n"
             "VIRTUAL_ENV=/opt/venv\n",
             getenv("PATH"));
    assert_string_equal(env, want);
    unsetenv("BOTPULSE_TEST_SECRET");
    unsetenv("VIRTUAL_ENV");
}

static void test_default_path(void **state)
{
    char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    unsetenv("PATH");
    struct agent_spawn_env e;
    struct agent_spawn_for who = {.bot = "b"};
    assert_int_equal(agent_spawn_env_build(&who, &e), 0);
    assert_string_equal(e.vars[0], "PATH=" AGENT_SPAWN_DEFAULT_PATH);
    if (saved)
        setenv("PATH", saved, 1);
    free(saved);
}

static void test_too_big_runs_nothing(void **state)
{
    char *big = malloc(AGENT_SPAWN_ENV_BYTES + 1);
    memset(big, 'x', AGENT_SPAWN_ENV_BYTES);
    big[AGENT_SPAWN_ENV_BYTES] = '\0';
    setenv("BOTPULSE_TEST_BIG", big, 1);
    struct agent_spawn_for who = {.bot = "b", .pass_env = "BOTPULSE_TEST_BIG"};
    pid_t pid = 0;
    int fd = -1;
    char *const argv[] = {"true", NULL};
    assert_int_equal(agent_spawn(argv, &who, true, &pid, &fd), -E2BIG);
    assert_int_equal(pid, 0);
    unsetenv("BOTPULSE_TEST_BIG");
    free(big);
}

static void test_pass_env_check(void **state)
{
    char why[128];
    assert_int_equal(agent_spawn_check_pass_env("", why, sizeof(why)), 0);
    assert_int_equal(agent_spawn_check_pass_env("VIRTUAL_ENV, DOCKER_HOST  _X1", why, sizeof(why)),
                     0);
    assert_int_equal(agent_spawn_check_pass_env("1ABC", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "'1ABC' is not a variable name"));
    assert_int_equal(agent_spawn_check_pass_env("A=B", why, sizeof(why)), -EINVAL);
    assert_int_equal(
        agent_spawn_check_pass_env("A B C D E F G H I J K L M N O P Q", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "more than 16"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_descriptor_above_2),
        cmocka_unit_test(test_environment_is_explicit),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_too_big_runs_nothing),
        cmocka_unit_test(test_pass_env_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
