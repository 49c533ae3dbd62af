/* SPDX-License-Identifier: MIT */
/* hoststats: /proc/stat, /proc/meminfo and /proc/loadavg parsers on captured and hand-made
 * files, host CPU % deltas, statvfs, and the line reader on over-long lines. */
#include "agent_hoststats.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent_procfs.h"

#define PROC_DIR BP_FIXTURE_DIR "/proc"

static void test_stat_captured(void **state)
{
    struct agent_cpu_times t;
    /* Captured on a 2-core VM: "cpu  4438 0 4587 1937192 390 0 69 9 0 0", an 880-byte intr. */
    assert_int_equal(agent_hoststats_read_stat(PROC_DIR "/stat", &t), 0);
    assert_int_equal(t.total, 4438 + 0 + 4587 + 1937192 + 390 + 0 + 69 + 9);
    assert_int_equal(t.idle, 1937192 + 390);
    assert_int_equal(t.btime, 1795433982);

    char buf[4096];
    size_t len;
    struct agent_cpu_times b;
    assert_int_equal(agent_procfs_read(PROC_DIR "/stat", buf, sizeof(buf), &len), 0);
    assert_int_equal(agent_hoststats_parse_stat(buf, len, &b), 0);
    assert_memory_equal(&t, &b, sizeof(t));
}

static void test_stat_long_intr_line(void **state)
{
    struct agent_cpu_times t;
    assert_int_equal(agent_hoststats_read_stat(PROC_DIR "/stat_long_intr", &t), 0);
    assert_int_equal(t.total, 2000 + 10 + 1000 + 50000 + 200 + 0 + 30 + 5);
    assert_int_equal(t.btime, 1700000000);
}

static void test_stat_old_kernel_and_bad(void **state)
{
    struct agent_cpu_times t;
    assert_int_equal(agent_hoststats_read_stat(PROC_DIR "/stat_old_kernel", &t), 0);
    assert_int_equal(t.total, 1155);
    assert_int_equal(t.idle, 1000);
    assert_int_equal(t.btime, 0);
    const char *bad[] = {"", "cpu0 1 2 3 4\n", "cpu  1 2 3\n", "cpu  x\n"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(agent_hoststats_parse_stat(bad[i], strlen(bad[i]), &t), -EINVAL);
    assert_int_equal(agent_hoststats_read_stat(PROC_DIR "/no-such-file", &t), -ENOENT);
}

static void test_cpu_pct_deltas(void **state)
{
    struct agent_cpu_times a = {.total = 1000, .idle = 800};
    struct agent_cpu_times b = {.total = 1200, .idle = 850}; /* 200 ticks, 50 idle */
    assert_float_equal(agent_hoststats_cpu_pct(&a, &b), 75.0, 1e-9);
    struct agent_cpu_times idle = {.total = 1200, .idle = 1000};
    assert_float_equal(agent_hoststats_cpu_pct(&a, &idle), 0.0, 1e-9);
    assert_float_equal(agent_hoststats_cpu_pct(&a, &a), 0.0, 1e-9); /* no tick */
    assert_float_equal(agent_hoststats_cpu_pct(&b, &a), 0.0, 1e-9); /* went backwards */
}

static void test_meminfo(void **state)
{
    double pct = -1;
    /* Captured: MemTotal 24684092 kB, MemAvailable 24301228 kB. */
    assert_int_equal(agent_hoststats_read_meminfo(PROC_DIR "/meminfo", &pct), 0);
    assert_float_equal(pct, 100.0 * (24684092 - 24301228) / 24684092.0, 1e-9);

    const char *m = "MemTotal:  1000 kB\nMemFree: 100 kB\nMemAvailable:   250 kB\n";
    assert_int_equal(agent_hoststats_parse_meminfo(m, strlen(m), &pct), 0);
    assert_float_equal(pct, 75.0, 1e-9);
    /* No MemAvailable (kernels before 3.14): MemFree + Buffers + Cached. */
    assert_int_equal(agent_hoststats_read_meminfo(PROC_DIR "/meminfo_no_available", &pct), 0);
    assert_float_equal(pct, 100.0 * (2048000 - 512000 - 102400 - 409600) / 2048000.0, 1e-9);
    const char *bad = "MemFree: 100 kB\n";
    assert_int_equal(agent_hoststats_parse_meminfo(bad, strlen(bad), &pct), -EINVAL);
}

static void test_swap(void **state)
{
    double pct = -1;
    const char *m = "MemTotal: 1000 kB\nSwapTotal:  2000 kB\nSwapFree:   1500 kB\n";
    assert_int_equal(agent_hoststats_parse_swap(m, strlen(m), &pct), 0);
    assert_float_equal(pct, 25.0, 1e-9);
    /* Captured from a host without swap: 0 %, not unknown. */
    char buf[4096];
    FILE *f = fopen(PROC_DIR "/meminfo", "r");
    assert_non_null(f);
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    pct = -1;
    assert_int_equal(agent_hoststats_parse_swap(buf, len, &pct), 0);
    assert_float_equal(pct, 0.0, 0);
    /* No swap lines at all: unknown. */
    const char *none = "MemTotal: 1000 kB\nSwapTotal: 10 kB\n";
    assert_int_equal(agent_hoststats_parse_swap(none, strlen(none), &pct), -ENOENT);
}

static void test_loadavg(void **state)
{
    double l = -1;
    assert_int_equal(agent_hoststats_read_loadavg(PROC_DIR "/loadavg", &l), 0);
    assert_float_equal(l, 0.77, 1e-9);
    assert_int_equal(agent_hoststats_parse_loadavg("12.50 1 1 1/1 1\n", 16, &l), 0);
    assert_float_equal(l, 12.5, 1e-9);
    const char *bad[] = {"", "x 1 1", "-1.0 1 1", "nan 1", "1.5x 1"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(agent_hoststats_parse_loadavg(bad[i], strlen(bad[i]), &l), -EINVAL);
}

static void test_disk_and_sampler(void **state)
{
    double pct = -1;
    assert_int_equal(agent_hoststats_disk_pct("/", &pct), 0);
    assert_true(pct >= 0.0 && pct <= 100.0);
    assert_int_equal(agent_hoststats_disk_pct("/no/such/mount", &pct), -ENOENT);

    /* The sampler on the fixture dir: first CPU sample has no delta. */
    static const char mounts[2][256] = {"/no/such/mount", "/"};
    struct agent_hoststats h;
    struct agent_host_sample s;
    agent_hoststats_init(&h, PROC_DIR);
    agent_hoststats_sample(&h, mounts, 2, &s);
    assert_float_equal(s.cpu_pct, -1.0, 0);
    assert_int_equal(s.btime_ms, 1795433982000LL);
    assert_float_equal(s.load1, 0.77, 1e-9);
    assert_float_equal(s.swap_pct, 0.0, 0);
    assert_true(s.disk_pct >= 0.0);
    agent_hoststats_sample(&h, mounts, 2, &s);
    assert_float_equal(s.cpu_pct, 0.0, 0); /* same file twice: no tick passed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_captured),
        cmocka_unit_test(test_stat_long_intr_line),
        cmocka_unit_test(test_stat_old_kernel_and_bad),
        cmocka_unit_test(test_cpu_pct_deltas),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_loadavg),
        cmocka_unit_test(test_disk_and_sampler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
