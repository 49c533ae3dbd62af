/* SPDX-License-Identifier: MIT */
/* agent_logtail on real temp files: first open at the end, appends, partial and huge lines,
 * rotation by rename, truncation, a file that appears later, the patterns. */
#include "agent_logtail.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    char dir[64];
    char path[128];
    struct agent_logtail t;
};

static const char *const PATS[AGENT_LOG_NPAT] = {"TRADE (buy|sell)", "^ERROR", "WARN"};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/bp-logtail-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/bot.log", f->dir);
    char err[160];
    if (agent_logtail_init(&f->t, f->path, PATS, err, sizeof(err)) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    agent_logtail_cleanup(&f->t);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Appends text to path (creating it). */
static void append(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_first_open_starts_at_end(void **state)
{
    struct fx *f = *state;
    append(f->path, "TRADE buy old\nERROR old\n");
    assert_int_equal(agent_logtail_poll(&f->t, 1000), 0);
    assert_int_equal(f->t.c.lines, 0);
    append(f->path, "TRADE sell 1\n");
    assert_int_equal(agent_logtail_poll(&f->t, 2000), 1);
    assert_int_equal(f->t.c.lines, 1);
    assert_int_equal(f->t.c.matched[AGENT_LOG_TRADE], 1);
    assert_int_equal(f->t.c.last_trade_ts, 2000);
    assert_int_equal(f->t.c.last_line_ts, 2000);
    assert_int_equal(agent_logtail_poll(&f->t, 3000), 0); /* nothing new */
    assert_int_equal(f->t.c.last_line_ts, 2000);
}

static void test_first_open_mid_line_skips_the_rest_of_it(void **state)
{
    struct fx *f = *state;
    append(f->path, "old\nTRADE buy half");
    assert_int_equal(agent_logtail_poll(&f->t, 1000), 0);
    append(f->path, " written\nnext\n");
    assert_int_equal(agent_logtail_poll(&f->t, 2000), 1);
    assert_int_equal(f->t.c.matched[AGENT_LOG_TRADE], 0);
}

static void test_partial_line_waits_for_newline(void **state)
{
    struct fx *f = *state;
    assert_int_equal(agent_logtail_poll(&f->t, 1000), 0); /* missing: fine */
    append(f->path, "ERR");
    assert_int_equal(agent_logtail_poll(&f->t, 2000), 0);
    assert_int_equal(f->t.c.lines, 0);
    append(f->path, "OR: the exchange said no\r\nWARN slow\nTRA");
    assert_int_equal(agent_logtail_poll(&f->t, 3000), 2);
    assert_int_equal(f->t.c.matched[AGENT_LOG_ERROR], 1);
    assert_int_equal(f->t.c.matched[AGENT_LOG_WARNING], 1);
    append(f->path, "DE buy 0.1 BTC\n");
    assert_int_equal(agent_logtail_poll(&f->t, 4000), 1);
    assert_int_equal(f->t.c.matched[AGENT_LOG_TRADE], 1);
    assert_int_equal(f->t.c.last_trade_ts, 4000);
}

static void test_file_that_appears_later_is_read_from_start(void **state)
{
    struct fx *f = *state;
    assert_int_equal(agent_logtail_poll(&f->t, 1000), 0);
    append(f->path, "one\nTRADE buy\n");
    assert_int_equal(agent_logtail_poll(&f->t, 2000), 2);
    assert_int_equal(f->t.c.matched[AGENT_LOG_TRADE], 1);
}

static void test_huge_line_is_cut_and_counted(void **state)
{
    struct fx *f = *state;
    assert_int_equal(agent_logtail_poll(&f->t, 1000), 0);
    size_t big = AGENT_LOGTAIL_LINE_MAX + 5000;
    char *line = malloc(big + 1);
    memset(line, 'x', big);
    line[big] = '\0';
    append(f->path, "ERROR at the start ");
    append(f->path, line);
    assert_int_equal(agent_logtail_poll(&f->t, 2000), 1); /* cut at the cap, counted once */
    append(f->path, line);                                /* still the same line */
    append(f->path, " TRADE buy beyond the cap\nTRADE sell after\n");
    assert_int_equal(agent_logtail_poll(&f->t, 3000), 1);
    assert_int_equal(f->t.c.lines, 2);
    assert_int_equal(f->t.c.long_lines, 1);
    assert_int_equal(f->t.c.matched[AGENT_LOG_ERROR], 1);
    assert_int_equal(f->t.c.matched[AGENT_LOG_TRADE], 1); /* only the line after */
    /* Exactly at the cap is not cut. */
    line[AGENT_LOGTAIL_LINE_MAX] = '\0';
    append(f->path, line);
    append(f->path, "\n");
    assert_int_equal(agent_logtail_poll(&f->t, 4000), 1);
    assert_int_equal(f->t.c.long_lines, 1);
    free(line);
}

static void test_rotation_by_rename(void **state)
{
    struct fx *f = *state;
    char old[160];
    snprintf(old, sizeof(old), "%s.1", f->path);
    append(f->path, "history\n");
    assert_int_equal(agent_logtail_poll(&f->t, 1000), 0);
    append(f->path, "a\n");
    assert_int_equal(rename(f->path, old), 0);
    append(old, "TRADE buy late write to the old file");  /* no newline: still whole */
    assert_int_equal(agent_logtail_poll(&f->t, 2000), 1); /* no new file yet: keep old */
    append(f->path, "TRADE sell in the new file\nERROR x\n");
    assert_int_equal(agent_logtail_poll(&f->t, 3000), 3);
    assert_int_equal(f->t.c.rotations, 1);
    assert_int_equal(f->t.c.matched[AGENT_LOG_TRADE], 2);
    assert_int_equal(f->t.c.matched[AGENT_LOG_ERROR], 1);
    append(f->path, "more\n");
    assert_int_equal(agent_logtail_poll(&f->t, 4000), 1);
    assert_int_equal(f->t.c.lines, 5);
}

static void test_truncation_starts_again(void **state)
{
    struct fx *f = *state;
    assert_int_equal(agent_logtail_poll(&f->t, 1000), 0);
    append(f->path, "first line that is long enough\nsecond line\n");
    assert_int_equal(agent_logtail_poll(&f->t, 2000), 2);
    assert_int_equal(truncate(f->path, 0), 0); /* copytruncate */
    append(f->path, "TRADE buy\n");
    assert_int_equal(agent_logtail_poll(&f->t, 3000), 1);
    assert_int_equal(f->t.c.truncations, 1);
    assert_int_equal(f->t.c.matched[AGENT_LOG_TRADE], 1);
    assert_int_equal(f->t.c.rotations, 0);
}

static void test_no_patterns_counts_lines(void **state)
{
    (void)state;
    struct agent_logtail t;
    const char *none[AGENT_LOG_NPAT] = {NULL, "", NULL};
    char err[160], path[] = "/tmp/bp-logtail-plain-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(agent_logtail_init(&t, path, none, err, sizeof(err)), 0);
    assert_int_equal(agent_logtail_poll(&t, 1), 0);
    append(path, "TRADE buy\n\n");
    assert_int_equal(agent_logtail_poll(&t, 2), 2);
    assert_int_equal(t.c.matched[AGENT_LOG_TRADE], 0);
    assert_int_equal(t.c.last_trade_ts, 0);
    agent_logtail_cleanup(&t);
    unlink(path);
}

/* The exchange-trouble patterns: each counted on its own; one line may match several. */
static void test_reconnect_rate_limit_timeout(void **state)
{
    (void)state;
    struct agent_logtail t;
    const char *pats[AGENT_LOG_NPAT] = {
        NULL, "^ERROR", NULL, "reconnect(ing|ed)", "HTTP 429|rate limit", "[Tt]imed? ?out"};
    char err[160], path[] = "/tmp/bp-logtail-trouble-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(agent_logtail_init(&t, path, pats, err, sizeof(err)), 0);
    assert_int_equal(agent_logtail_poll(&t, 1), 0);
    append(path, "ws closed, reconnecting\n"
                 "ERROR order rejected: HTTP 429 Too Many Requests\n"
                 "ERROR fetch_balance timed out after 10s\n"
                 "ws reconnected\n"
                 "all fine\n");
    assert_int_equal(agent_logtail_poll(&t, 2), 5);
    assert_int_equal(t.c.matched[AGENT_LOG_RECONNECT], 2);
    assert_int_equal(t.c.matched[AGENT_LOG_RATE_LIMIT], 1);
    assert_int_equal(t.c.matched[AGENT_LOG_TIMEOUT], 1);
    assert_int_equal(t.c.matched[AGENT_LOG_ERROR], 2);
    assert_false(t.has_re[AGENT_LOG_WARNING]);
    agent_logtail_cleanup(&t);
    unlink(path);

    const char *bad[AGENT_LOG_NPAT] = {NULL, NULL, NULL, NULL, "(", NULL};
    assert_int_equal(agent_logtail_init(&t, "/tmp/x", bad, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "log_rate_limit"));
}

static void test_bad_pattern(void **state)
{
    (void)state;
    struct agent_logtail t;
    const char *bad[AGENT_LOG_NPAT] = {"ok", "(unclosed", NULL};
    char err[160] = "";
    assert_int_equal(agent_logtail_init(&t, "/tmp/x", bad, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "log_error"));
    agent_logtail_cleanup(&t); /* safe after a failed init */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_open_starts_at_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_open_mid_line_skips_the_rest_of_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_partial_line_waits_for_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_that_appears_later_is_read_from_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_huge_line_is_cut_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_by_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_starts_again, setup, teardown),
        cmocka_unit_test(test_no_patterns_counts_lines),
        cmocka_unit_test(test_reconnect_rate_limit_timeout),
        cmocka_unit_test(test_bad_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
