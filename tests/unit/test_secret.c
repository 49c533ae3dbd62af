/* SPDX-License-Identifier: MIT */
/* Secret files: read when private (whitespace trimmed), refused with the file, its mode and the
 * fix named when its group or others may read it, refused when empty, too long or not a file;
 * systemd's credentials directory trusted; config files holding a secret inline checked. */
#include "secret.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/bp-secret-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes dir/name with text and mode; returns its path (static buffer, one at a time). */
static const char *file(const char *name, const char *text, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void test_private_file_is_read_and_trimmed(void **state)
{
    char out[64], err[256];
    const char *p = file("pw", "hunter2 \n\n", 0600);
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "hunter2");
    p = file("ro", "t0ken", 0400);
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "t0ken");
}

static void test_group_or_world_readable_is_refused(void **state)
{
    char out[64], err[256];
    const char *p = file("grp", "hunter2\n", 0640);
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, "mode 0640 gives its group access"));
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(strstr(err, "hunter2"));
    assert_string_equal(out, ""); /* nothing read */
    p = file("world", "hunter2\n", 0604);
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "mode 0604 gives everyone access"));
    p = file("both", "hunter2\n", 0644);
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "its group and everyone"));
    p = file("gw", "hunter2\n", 0620); /* writable by its group: it could be swapped */
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), -EPERM);
}

static void test_bad_content_or_kind(void **state)
{
    char out[8], err[256];
    const char *p = file("empty", " \n", 0600);
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "empty"));
    p = file("long", "12345678", 0600); /* 8 bytes do not fit in 8 with the NUL */
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "longer than 7 bytes"));
    p = file("fits", "1234567\n", 0600);
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "1234567");
    assert_int_equal(bp_secret_read_file(dir, out, sizeof(out), err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not a regular file"));
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/missing", dir);
    assert_int_equal(bp_secret_read_file(missing, out, sizeof(out), err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, missing));
}

static void test_systemd_credentials_directory(void **state)
{
    char out[64], err[256], creds[128], path[192];
    snprintf(creds, sizeof(creds), "%s/creds", dir);
    assert_int_equal(mkdir(creds, 0700), 0);
    snprintf(path, sizeof(path), "%s/password", creds);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("from-systemd\n", f);
    fclose(f);
    chmod(path, 0440); /* an ACL for the unit's user shows in the group bits */
    setenv("CREDENTIALS_DIRECTORY", creds, 1);
    assert_int_equal(bp_secret_read_file(path, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "from-systemd");
    /* a path that only starts like it is not in it */
    const char *p = file("grp2", "x\n", 0640);
    char sneaky[256];
    snprintf(sneaky, sizeof(sneaky), "%s/../grp2", creds);
    assert_int_equal(bp_secret_read_file(sneaky, out, sizeof(out), err, sizeof(err)), -EPERM);
    assert_int_equal(bp_secret_read_file(p, out, sizeof(out), err, sizeof(err)), -EPERM);
    unsetenv("CREDENTIALS_DIRECTORY");
    assert_int_equal(bp_secret_read_file(path, out, sizeof(out), err, sizeof(err)), -EPERM);
}

static void test_config_holding_a_secret(void **state)
{
    char err[256];
    const char *p = file("agent.ini", "[mqtt]\npassword = x\n", 0600);
    assert_int_equal(bp_secret_check_private(p, "[mqtt] password", err, sizeof(err)), 0);
    p = file("agent2.ini", "[mqtt]\npassword = x\n", 0644);
    assert_int_equal(bp_secret_check_private(p, "[mqtt] password", err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "holds [mqtt] password inline, but its mode 0644"));
    assert_non_null(strstr(err, p));
}

/* A webhook URL's secret sits in its path (Telegram, Slack) or its user info: logs get the host. */
static void test_url_host_is_all_a_log_shows(void **state)
{
    static const char *const cases[][2] = {
        {"https://api.telegram.org/bot123456:ABC-secret/sendMessage", "api.telegram.org"},
        {"https://hooks.slack.com/services/T0/B0/XXXXSECRET", "hooks.slack.com"},
        {"http://user:secret@127.0.0.1:8081/alerts?key=SECRET", "127.0.0.1"},
        {"http://[::1]:9000/x", "[::1]"},
        {"https://example.org", "example.org"},
        {"https:///path-only", "?"},
        {"", "?"},
    };
    char host[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bp_secret_url_host(cases[i][0], host, sizeof(host));
        assert_string_equal(host, cases[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_file_is_read_and_trimmed),
        cmocka_unit_test(test_group_or_world_readable_is_refused),
        cmocka_unit_test(test_bad_content_or_kind),
        cmocka_unit_test(test_systemd_credentials_directory),
        cmocka_unit_test(test_config_holding_a_secret),
        cmocka_unit_test(test_url_host_is_all_a_log_shows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
