/* SPDX-License-Identifier: MIT */
/* Self-test of the integration fixture: temp dir, mosquitto start/restart on the same port,
 * the recorder and publisher, child processes, and MQTT topic matching. */
#include "fixture.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h> /* cmocka.h needs these three first */
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static int setup(void **state)
{
    struct bpt_env *env = bpt_env_new("fixture");

    if (!env)
        return -1;
    *state = env;
    return 0;
}

static int teardown(void **state)
{
    bpt_env_free(*state);
    return 0;
}

static void test_env_dir_and_files(void **state)
{
    struct bpt_env *env = *state;
    struct stat st;

    assert_int_equal(stat(bpt_env_dir(env), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    const char *path = bpt_write_file(env, "sub/hello.txt", "hello %d\n", 42);
    assert_non_null(path);
    assert_string_equal(bpt_write_file(env, "sub/hello.txt", "again\n"), path);
    char *argv[] = {"/bin/cat", (char *)path, NULL};
    char *out = NULL;
    assert_int_equal(bpt_run(env, argv, 5000, &out), 0);
    assert_string_equal(out, "again\n");
    free(out);
    int port = bpt_free_port();
    assert_true(port > 0 && port < 65536);
}

static void test_publish_reaches_recorder(void **state)
{
    struct bpt_env *env = *state;

    bpt_assert(env, bpt_broker_start(env) == 0, "broker did not start");
    assert_true(bpt_broker_port(env) > 0);
    struct bpt_rec *rec = bpt_rec_new(env, "bpt/test/#");
    bpt_assert(env, rec != NULL, "recorder did not subscribe");

    const char *payload = "{\"v\":1,\"type\":\"ping\"}";
    bpt_assert(env, bpt_publish(env, "bpt/test/a", payload, strlen(payload), 1, false) == 0,
               "publish failed");
    bpt_assert(env, bpt_publish(env, "other/topic", "x", 1, 1, false) == 0, "publish failed");
    const char *needles[] = {"\"type\":\"ping\"", NULL};
    char *got = bpt_rec_wait(rec, "bpt/+/a", needles, 5000);
    bpt_assert(env, got != NULL, "recorder did not see the message");
    assert_string_equal(got, payload);
    free(got);
    assert_int_equal(bpt_rec_count(rec, "#", NULL), 1); /* other/topic was not subscribed */
    const char *absent[] = {"nope", NULL};
    assert_null(bpt_rec_wait(rec, "bpt/#", absent, 100));
    bpt_rec_clear(rec);
    assert_int_equal(bpt_rec_count(rec, "#", NULL), 0);
    bpt_rec_free(rec);
}

static void test_broker_restart_same_port(void **state)
{
    struct bpt_env *env = *state;

    bpt_assert(env, bpt_broker_start(env) == 0, "broker did not start");
    int port = bpt_broker_port(env);
    struct bpt_rec *rec = bpt_rec_new(env, "bpt/restart/#");
    bpt_assert(env, rec != NULL, "recorder did not subscribe");
    /* A retained message survives the restart through mosquitto's persistence. */
    bpt_assert(env, bpt_publish(env, "bpt/kept", "kept", 4, 1, true) == 0, "publish failed");

    bpt_assert(env, bpt_broker_restart(env) == 0, "broker did not restart");
    assert_int_equal(bpt_broker_port(env), port);

    /* The recorder's client reconnects on its own and its subscription is restored. */
    bpt_assert(env, bpt_publish(env, "bpt/restart/x", "after", 5, 1, false) == 0,
               "publish after restart failed");
    char *got = bpt_rec_wait(rec, "bpt/restart/x", NULL, 15000);
    bpt_assert(env, got != NULL, "recorder saw nothing after the restart");
    free(got);
    struct bpt_rec *late = bpt_rec_new(env, "bpt/kept");
    bpt_assert(env, late != NULL, "second recorder did not subscribe");
    got = bpt_rec_wait(late, "bpt/kept", NULL, 5000);
    bpt_assert(env, got != NULL && strcmp(got, "kept") == 0, "retained message was lost");
    free(got);
    bpt_rec_free(late);
    bpt_rec_free(rec);
    assert_int_equal(bpt_broker_stop(env), 0);
    assert_int_equal(bpt_broker_stop(env), -ESRCH);
}

static void test_spawn_signal_wait(void **state)
{
    struct bpt_env *env = *state;
    char *sleep_argv[] = {"/bin/sleep", "30", NULL};
    char *sh_argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};

    pid_t pid = bpt_spawn(env, "sleeper", sleep_argv);
    assert_true(pid > 0);
    assert_int_equal(bpt_pid(env, "sleeper"), pid);
    assert_int_equal(bpt_spawn(env, "sleeper", sleep_argv), -EEXIST);
    assert_int_equal(getpgid(pid), pid);
    assert_int_equal(bpt_wait_exit(env, "sleeper", 100), -ETIMEDOUT);
    assert_int_equal(bpt_signal(env, "sleeper", SIGTERM), 0);
    int status = bpt_wait_exit(env, "sleeper", 5000);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    assert_int_equal(bpt_pid(env, "sleeper"), -1);
    assert_int_equal(bpt_signal(env, "sleeper", SIGTERM), -ESRCH);
    assert_int_equal(bpt_signal(env, "nobody-here", SIGTERM), -ESRCH);

    /* The name can be used again once its process has exited; the log is appended. */
    assert_true(bpt_spawn(env, "sleeper", sleep_argv) > 0);

    assert_true(bpt_spawn(env, "shell", sh_argv) > 0);
    status = bpt_wait_exit(env, "shell", 5000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    char *out = NULL;
    char path[700];
    snprintf(path, sizeof(path), "%s/shell.log", bpt_env_dir(env));
    char *cat_argv[] = {"/bin/cat", path, NULL};
    assert_int_equal(bpt_run(env, cat_argv, 5000, &out), 0);
    assert_non_null(strstr(out, "out\nerr\n"));
    free(out);

    char *slow_argv[] = {"/bin/sleep", "10", NULL};
    assert_int_equal(bpt_run(env, slow_argv, 200, NULL), -ETIMEDOUT);
    assert_int_equal(bpt_run(env, sh_argv, 5000, &out), 3);
    assert_non_null(strstr(out, "out\n"));
    assert_non_null(strstr(out, "err\n"));
    free(out);
    /* The second sleeper is left running: bpt_env_free must stop it. */
}

static void test_topic_matches(void **state)
{
    static const struct {
        const char *filter, *topic;
        bool match;
    } cases[] = {
        {"a/b", "a/b", true},
        {"a/b", "a/c", false},
        {"a/b", "a/b/c", false},
        {"a/b/c", "a/b", false},
        {"a/+", "a/b", true},
        {"a/+", "a/b/c", false},
        {"a/+/c", "a/x/c", true},
        {"a/+/c", "a/x/d", false},
        {"+/+", "a/b", true},
        {"+", "a", true},
        {"+", "a/b", false},
        {"a/+", "a/", true},
        {"#", "a/b/c", true},
        {"#", "a", true},
        {"a/#", "a", true},
        {"a/#", "a/b/c", true},
        {"a/#", "b/a", false},
        {"a/+/#", "a/b", true},
        {"ab", "a", false},
        {"a", "ab", false},
        {"#", "$SYS/x", false},
        {"+/x", "$SYS/x", false},
        {"$SYS/#", "$SYS/x", true},
        {"botpulse/v1/alerts/#", "botpulse/v1/alerts/critical/bot-1", true},
        {"botpulse/v1/agents/+/bots/+/heartbeat", "botpulse/v1/agents/h1/bots/b1/heartbeat", true},
        {"botpulse/v1/agents/+/bots/+/heartbeat", "botpulse/v1/agents/h1/bots/b1/stats", false},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = bpt_topic_matches(cases[i].filter, cases[i].topic);
        if (got != cases[i].match)
            fail_msg("filter %s topic %s: got %d", cases[i].filter, cases[i].topic, got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_env_dir_and_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_reaches_recorder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_restart_same_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_signal_wait, setup, teardown),
        cmocka_unit_test(test_topic_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
