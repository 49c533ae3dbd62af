/* SPDX-License-Identifier: MIT */
/* agent_check: one round over a config with a live child process, a dead pid, fresh and stale
 * heartbeat files and a missing log, and the exit code each combination gives. */
#include "agent_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static struct agent_config cfg;
static char out[4096];

static void put(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void age(const char *name, int seconds)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= seconds;
    t[1] = t[0];
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* Loads "[agent]...[mqtt]..." + bots (with %1$s for the dir) and runs one check round. */
static int check(const char *bots)
{
    char ini[2048], body[1536], path[128], err[512];
    snprintf(body, sizeof(body), bots, dir, dir, dir, dir);
    snprintf(ini, sizeof(ini),
             "[agent]\nid = a1\nheartbeat = 1s\nstate_dir = %s\n[mqtt]\nurl = tcp://x:1\n%s", dir,
             body);
    put("agent.ini", ini);
    snprintf(path, sizeof(path), "%s/agent.ini", dir);
    if (agent_config_load(path, &cfg, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
    FILE *f = fmemopen(out, sizeof(out), "w");
    assert_non_null(f);
    int rc = agent_check_run(&cfg, "/proc", f);
    fclose(f);
    return rc;
}

static void test_check_round(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/bp-check-XXXXXX");
    assert_non_null(mkdtemp(dir));
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    char pid[32];
    snprintf(pid, sizeof(pid), "%d\n", (int)child);
    put("live.pid", pid);
    put("hb", "");
    put("log", "");

    /* Alive, fresh heartbeat file, readable log: OK. */
    assert_int_equal(check("[bot b1]\npid_file = %s/live.pid\nheartbeat_file = %s/hb\n"
                           "log_file = %s/log\n"),
                     AGENT_CHECK_OK);
    assert_non_null(strstr(out, "b1: OK - pid "));
    assert_non_null(strstr(out, "host "));

    /* Alive but the heartbeat file is stale: a warning. */
    age("hb", 60);
    assert_int_equal(check("[bot b1]\npid_file = %s/live.pid\nheartbeat_file = %s/hb\n"),
                     AGENT_CHECK_WARN);
    assert_non_null(strstr(out, "b1: WARNING - "));
    assert_non_null(strstr(out, "heartbeat file 60s old (max 3s)"));

    /* A missing log file is a warning too. */
    assert_int_equal(check("[bot b1]\npid_file = %s/live.pid\nlog_file = %s/nolog\n"),
                     AGENT_CHECK_WARN);

    /* Only a heartbeat file: it is the liveness, so stale is critical, fresh is OK. */
    assert_int_equal(check("[bot b2]\nheartbeat_file = %s/hb\n"), AGENT_CHECK_CRIT);
    assert_non_null(strstr(out, "b2: CRITICAL - no process to find; heartbeat file 60s old"));
    age("hb", 0);
    assert_int_equal(check("[bot b2]\nheartbeat_file = %s/hb\n"), AGENT_CHECK_OK);

    /* A bot whose process is gone: critical, whatever the others say. */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(check("[bot b2]\nheartbeat_file = %s/hb\n[bot b1]\npid_file = %s/live.pid\n"),
                     AGENT_CHECK_CRIT);
    assert_non_null(strstr(out, "b2: OK"));
    assert_non_null(strstr(out, "b1: CRITICAL - process not running"));

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
