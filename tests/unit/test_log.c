/* SPDX-License-Identifier: MIT */
/* Logging: lines carry their syslog priority ("<4>" for warn, ...) exactly when stderr is the
 * systemd journal ($JOURNAL_STREAM names stderr's device and inode), so journalctl -p works. */
#include "log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Logs one line at level with stderr redirected to a temp file, and JOURNAL_STREAM set to that
 * file's "dev:ino" plus ino_delta (0: it is the journal; else another stream), or unset when
 * ino_delta < 0. Returns what was written (static). */
static const char *log_line(enum bp_log_level level, long ino_delta)
{
    static char out[512];
    char path[] = "/tmp/bp-log-XXXXXX", js[64];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    if (ino_delta >= 0) {
        snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
        setenv("JOURNAL_STREAM", js, 1);
    } else {
        unsetenv("JOURNAL_STREAM");
    }
    bp_log_setup();
    bp_log_threshold = BP_LOG_DEBUG;
    bp_log_write(level, "test", "hello %d", 42);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    unsetenv("JOURNAL_STREAM");
    bp_log_setup();
    return out;
}

static void test_priority_prefix_on_the_journal(void **state)
{
    const char *l = log_line(BP_LOG_WARN, 0);
    assert_memory_equal(l, "<4>", 3);
    assert_non_null(strstr(l, "Z warn  test: hello 42\n"));
    assert_memory_equal(log_line(BP_LOG_ERROR, 0), "<3>", 3);
    assert_memory_equal(log_line(BP_LOG_INFO, 0), "<6>", 3);
    assert_memory_equal(log_line(BP_LOG_DEBUG, 0), "<7>", 3);
}

static void test_no_prefix_elsewhere(void **state)
{
    const char *l = log_line(BP_LOG_WARN, 1); /* JOURNAL_STREAM names another stream */
    assert_true(l[0] >= '0' && l[0] <= '9');  /* the time comes first */
    assert_non_null(strstr(l, "warn  test: hello 42\n"));
    l = log_line(BP_LOG_ERROR, -1); /* not under systemd */
    assert_true(l[0] >= '0' && l[0] <= '9');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority_prefix_on_the_journal),
        cmocka_unit_test(test_no_prefix_elsewhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
