/* SPDX-License-Identifier: MIT */
/* agent_probe: the output parser, and the runner driven like the agent's loop drives it (poll
 * on its fd until its deadline) against real /bin/sh probes: a good one, a slow one that must
 * be killed at the timeout, one that prints garbage, one that fails, one that cannot start. */
#include "agent_probe.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

#define WALL 1767225600000LL /* 2026-01-01T00:00:00Z */

static void test_parse_output(void **state)
{
    (void)state;
    int64_t ts;
    char why[160];
    const char ok[] = "1767225500\nsome chatter\n";
    assert_int_equal(agent_probe_parse_output(ok, strlen(ok), WALL, &ts, why, sizeof(why)), 0);
    assert_int_equal(ts, 1767225500000LL);
    assert_int_equal(
        agent_probe_parse_output("2025-12-31T23:59:00Z", 20, WALL, &ts, why, sizeof(why)), 0);
    assert_int_equal(ts, WALL - 60000);
    assert_int_equal(agent_probe_parse_output("0\n", 2, WALL, &ts, why, sizeof(why)), 0);
    assert_int_equal(ts, 0);
    assert_int_equal(agent_probe_parse_output("", 0, WALL, &ts, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "no output"));
    assert_int_equal(
        agent_probe_parse_output("error: \x01 rate limited\n", 23, WALL, &ts, why, sizeof(why)),
        -EINVAL);
    assert_non_null(strstr(why, "unparsable output 'error: ? rate limited'"));
    assert_int_equal(agent_probe_parse_output("1767229200", 10, WALL, &ts, why, sizeof(why)),
                     -EINVAL); /* an hour ahead */
    assert_non_null(strstr(why, "future"));
}

static void test_split(void **state)
{
    (void)state;
    struct agent_probe p;
    assert_int_equal(agent_probe_init(&p, "  /usr/bin/last-trade  --bot\tb1 ", 1000, 100, 0), 0);
    assert_string_equal(p.argv[0], "/usr/bin/last-trade");
    assert_string_equal(p.argv[1], "--bot");
    assert_string_equal(p.argv[2], "b1");
    assert_null(p.argv[3]);
    assert_int_equal(agent_probe_init(&p, "   ", 1000, 100, 0), -EINVAL);
    char many[200] = "";
    for (int i = 0; i <= AGENT_PROBE_MAX_ARGS; i++)
        strcat(many, "a ");
    assert_int_equal(agent_probe_init(&p, many, 1000, 100, 0), -EINVAL);
}

/* Writes a /bin/sh script to a temp file; path gets its name (unlink it after). */
static void script(char *path, size_t size, const char *body)
{
    snprintf(path, size, "/tmp/bp-probe-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    dprintf(fd, "#!/bin/sh\n%s\n", body);
    fchmod(fd, 0700);
    close(fd);
}

/* Runs the loop for one probe run: step, poll the fd until the deadline, read, step again,
 * until a run has been judged (runs done and not running). Returns the elapsed ms. */
static int64_t run_once(struct agent_probe *p)
{
    int64_t t0 = bp_mono_ms(), runs = p->runs;
    int turns = 0;
    agent_probe_step(p, bp_mono_ms(), WALL);
    assert_int_equal(p->runs, runs + 1);
    while (p->pid > 0) {
        int64_t wait = agent_probe_deadline(p) - bp_mono_ms();
        struct pollfd pfd = {.fd = agent_probe_fd(p), .events = POLLIN};
        int rc = poll(&pfd, 1, wait < 0 ? 0 : (int)wait);
        if (rc > 0)
            agent_probe_read(p, bp_mono_ms());
        agent_probe_step(p, bp_mono_ms(), WALL);
        assert_true(++turns < 1000); /* no busy loop */
    }
    assert_int_equal(agent_probe_fd(p), -1);
    return bp_mono_ms() - t0;
}

static void test_good_probe(void **state)
{
    (void)state;
    struct agent_probe p;
    assert_int_equal(agent_probe_init(&p, "/bin/echo 1767225500123", 60000, 5000, bp_mono_ms()), 0);
    run_once(&p);
    assert_int_equal(p.failures, 0);
    assert_int_equal(p.last_trade_ts, 1767225500123LL);
    assert_int_equal(p.ok_ts, WALL);
    assert_string_equal(p.error, "");
    /* Not due again before the interval. */
    assert_true(agent_probe_deadline(&p) >= p.started_mono + 60000);
    agent_probe_step(&p, bp_mono_ms(), WALL);
    assert_int_equal(p.pid, 0);
    agent_probe_cleanup(&p);
}

static void test_slow_probe_is_killed_at_timeout(void **state)
{
    (void)state;
    struct agent_probe p;
    char path[64];
    /* The shell's child sleep holds the pipe open: only killing the group ends the run. */
    script(path, sizeof(path), "sleep 30\necho 1767225500");
    assert_int_equal(agent_probe_init(&p, path, 60000, 300, bp_mono_ms()), 0);
    int64_t took = run_once(&p);
    unlink(path);
    assert_true(took >= 300);
    assert_true(took < 3000);
    assert_int_equal(p.failures, 1);
    assert_non_null(strstr(p.error, "timed out after 300 ms"));
    assert_int_equal(p.last_trade_ts, 0);
    agent_probe_cleanup(&p);
}

static void test_garbage_and_failures_are_errors(void **state)
{
    (void)state;
    struct agent_probe p;
    assert_int_equal(agent_probe_init(&p, "/bin/echo traded recently", 60000, 5000, bp_mono_ms()),
                     0);
    run_once(&p);
    assert_int_equal(p.failures, 1);
    assert_non_null(strstr(p.error, "unparsable output 'traded recently'"));
    agent_probe_cleanup(&p);

    char path[64];
    script(path, sizeof(path), "echo 1767225500; exit 3");
    assert_int_equal(agent_probe_init(&p, path, 60000, 5000, bp_mono_ms()), 0);
    run_once(&p);
    unlink(path);
    assert_string_equal(p.error, "exit status 3");
    agent_probe_cleanup(&p);

    assert_int_equal(agent_probe_init(&p, "/nonexistent/probe", 60000, 5000, bp_mono_ms()), 0);
    agent_probe_step(&p, bp_mono_ms(), WALL);
    assert_int_equal(p.pid, 0);
    assert_int_equal(p.failures, 1);
    assert_non_null(strstr(p.error, "cannot run"));
    agent_probe_cleanup(&p);
}

static void test_a_success_clears_the_error_and_keeps_the_newest_trade(void **state)
{
    (void)state;
    struct agent_probe p;
    assert_int_equal(agent_probe_init(&p, "/bin/echo 1767225500", 60000, 5000, bp_mono_ms()), 0);
    snprintf(p.error, sizeof(p.error), "old failure");
    p.last_trade_ts = 1767225550000LL; /* newer than what the probe prints */
    run_once(&p);
    assert_string_equal(p.error, "");
    assert_int_equal(p.last_trade_ts, 1767225550000LL);
    agent_probe_cleanup(&p);
}

static void test_cleanup_kills_a_running_probe(void **state)
{
    (void)state;
    struct agent_probe p;
    assert_int_equal(agent_probe_init(&p, "/bin/sleep 30", 60000, 50000, bp_mono_ms()), 0);
    agent_probe_step(&p, bp_mono_ms(), WALL);
    pid_t pid = p.pid;
    assert_true(pid > 0);
    int64_t t0 = bp_mono_ms();
    agent_probe_cleanup(&p);
    assert_true(bp_mono_ms() - t0 < 2000);
    assert_int_equal(kill(pid, 0), -1); /* reaped: gone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_output),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_good_probe),
        cmocka_unit_test(test_slow_probe_is_killed_at_timeout),
        cmocka_unit_test(test_garbage_and_failures_are_errors),
        cmocka_unit_test(test_a_success_clears_the_error_and_keeps_the_newest_trade),
        cmocka_unit_test(test_cleanup_kills_a_running_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
