/* SPDX-License-Identifier: MIT */
/* agent_ts (times bots write) and agent_hbfile (heartbeat files on temp files). */
#include "agent_hbfile.h"
#include "agent_ts.h"

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
#include <sys/stat.h>
#include <unistd.h>

static int64_t ts_ok(const char *s)
{
    int64_t ms = -1;
    int rc = agent_ts_parse(s, strlen(s), &ms);
    if (rc != 0)
        fail_msg("'%s' did not parse", s);
    return ms;
}

static void ts_bad(const char *s)
{
    int64_t ms = -1;
    if (agent_ts_parse(s, strlen(s), &ms) != -EINVAL)
        fail_msg("'%s' parsed as %lld", s, (long long)ms);
}

static void test_numbers(void **state)
{
    (void)state;
    assert_int_equal(ts_ok("1767225600"), 1767225600000LL);
    assert_int_equal(ts_ok("1767225600123"), 1767225600123LL);
    assert_int_equal(ts_ok("  1767225600\n"), 1767225600000LL);
    assert_int_equal(ts_ok("1767225600.25"), 1767225600250LL);
    assert_int_equal(ts_ok("1767225600.123456"), 1767225600123LL);
    assert_int_equal(ts_ok("0"), 0);
    assert_int_equal(ts_ok("99999999999"), 99999999999000LL); /* the last seconds value */
    assert_int_equal(ts_ok("100000000000"), 100000000000LL);  /* the first ms value */
    ts_bad("");
    ts_bad("   \n");
    ts_bad("-5");
    ts_bad("12abc");
    ts_bad("1767225600.");
    ts_bad("1767225600123.5"); /* ms with a fraction */
    ts_bad("99999999999999999999999");
    ts_bad("OK trading");
}

static void test_iso(void **state)
{
    (void)state;
    assert_int_equal(ts_ok("2026-01-01T00:00:00Z"), 1767225600000LL);
    assert_int_equal(ts_ok("2026-01-01T00:00:00.5Z"), 1767225600500LL);
    assert_int_equal(ts_ok("2026-01-01 00:00:00"), 1767225600000LL);
    assert_int_equal(ts_ok("2026-01-01T00:00:00.123456"), 1767225600123LL); /* python isoformat */
    assert_int_equal(ts_ok("2026-01-01T01:00:00+01:00"), 1767225600000LL);
    assert_int_equal(ts_ok("2025-12-31T19:00:00-0500"), 1767225600000LL);
    assert_int_equal(ts_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ts_ok("2024-02-29T12:00:00Z"), 1709208000000LL);
    ts_bad("2026-01-01");
    ts_bad("2026-13-01T00:00:00Z");
    ts_bad("2026-01-01T25:00:00Z");
    ts_bad("2026-01-01T00:00:00 UTC");
    ts_bad("1969-12-31T23:59:59Z");
    ts_bad("2026-01-01T00:00:00+1");
    /* days that do not exist were read as days of the next month (found by fuzz_time) */
    assert_int_equal(ts_ok("2000-02-29T00:00:00Z"), 951782400000LL); /* 2000: leap */
    assert_int_equal(ts_ok("2026-04-30T00:00:00Z"), 1777507200000LL);
    ts_bad("2022-02-29T12:00:00+05:45");
    ts_bad("2100-02-29T00:00:00Z"); /* 2100: not leap */
    ts_bad("2026-02-30T00:00:00Z");
    ts_bad("2026-04-31T00:00:00Z");
    /* a zone west of UTC carried the last minutes of 9999 past the year (found by fuzz_time) */
    assert_int_equal(ts_ok("9999-12-31T23:59:59Z"), 253402300799000LL);
    ts_bad("9999-12-31T23:59:59.9991970-00:02");
    ts_bad("2026-11-31T00:00:00Z");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_hbfile(void **state)
{
    (void)state;
    char path[] = "/tmp/bp-hbfile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct agent_hbfile_sample s;
    struct timespec times[2] = {{.tv_sec = 1767225600}, {.tv_sec = 1767225600}};

    /* Empty (touched): the mtime counts. */
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(agent_hbfile_read(path, 1767225605000LL, &s), 0);
    assert_true(s.found);
    assert_int_equal(s.mtime_ms, 1767225600000LL);
    assert_int_equal(s.content_ts, 0);
    assert_int_equal(s.age_ms, 5000);
    assert_true(agent_hbfile_is_fresh(&s, 5000));
    assert_false(agent_hbfile_is_fresh(&s, 4999));

    /* A timestamp inside wins over the mtime. */
    write_file(path, "1767225603500\n");
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(agent_hbfile_read(path, 1767225605000LL, &s), 0);
    assert_int_equal(s.content_ts, 1767225603500LL);
    assert_int_equal(s.age_ms, 1500);

    /* Free text (the seed's status line): only the mtime. A clock ahead of ours: age 0. */
    write_file(path, "OK Heartbeat active - Signal validation in progress\n");
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    assert_int_equal(agent_hbfile_read(path, 1767225599000LL, &s), 0);
    assert_int_equal(s.content_ts, 0);
    assert_int_equal(s.age_ms, 0);

    /* Missing. */
    unlink(path);
    assert_int_equal(agent_hbfile_read(path, 1767225605000LL, &s), -ENOENT);
    assert_false(s.found);
    assert_int_equal(s.age_ms, 0);
    assert_false(agent_hbfile_is_fresh(&s, 1000000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_iso),
        cmocka_unit_test(test_hbfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
