/* SPDX-License-Identifier: MIT */
/* The collector's [http] section: defaults (loopback), off, bad addresses, the token file. */
#include "settings.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE "[mqtt]\nurl = tcp://127.0.0.1:1883\n[database]\nconninfo = dbname=x\n"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/bp-settings-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *put_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads BASE + extra; returns the rc and leaves the error in err. */
static int load(const char *extra, struct col_settings *s, char *err, size_t errlen)
{
    char text[1024];
    snprintf(text, sizeof(text), "%s%s", BASE, extra);
    int rc = col_settings_load(put_file("c.ini", text), s, err, errlen);
    return rc;
}

static void test_default_is_loopback_8080_without_token(void **state)
{
    struct col_settings s;
    char err[256] = "";
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_string_equal(s.http_listen, "127.0.0.1:8080");
    assert_string_equal(s.http_token, "");
    assert_int_equal(s.http_timeout_ms, 2000);
    col_settings_cleanup(&s);
}

static void test_off_disables(void **state)
{
    struct col_settings s;
    char err[256] = "";
    assert_int_equal(load("[http]\nlisten = off\n", &s, err, sizeof(err)), 0);
    assert_string_equal(s.http_listen, "");
    col_settings_cleanup(&s);
    assert_int_equal(load("[http]\nlisten =\n", &s, err, sizeof(err)), 0);
    assert_string_equal(s.http_listen, "");
    col_settings_cleanup(&s);
}

static void test_bad_listen_is_an_error_naming_the_key(void **state)
{
    static const char *const bad[] = {
        "8080",       "localhost:8080", "127.0.0.1:0", "127.0.0.1:70000",
        "127.0.0.1:", "127.0.0.1:80x",  ":8080",       "1.2.3:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct col_settings s;
        char err[256] = "", extra[128];
        snprintf(extra, sizeof(extra), "[http]\nlisten = %s\n", bad[i]);
        assert_int_not_equal(load(extra, &s, err, sizeof(err)), 0);
        assert_non_null(strstr(err, "[http] listen"));
        col_settings_cleanup(&s);
    }
    char host[64];
    int port = 0;
    assert_int_equal(col_settings_parse_listen("0.0.0.0:9100", host, sizeof(host), &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 9100);
}

static void test_token_file(void **state)
{
    struct col_settings s;
    char err[256] = "", extra[256];
    const char *tok = put_file("token", "  abc123-token \n");
    snprintf(extra, sizeof(extra), "[http]\ntoken_file = %s\n", tok);
    assert_int_equal(load(extra, &s, err, sizeof(err)), 0);
    assert_string_equal(s.http_token, "abc123-token");
    col_settings_cleanup(&s);
    /* both at once is ambiguous */
    snprintf(extra, sizeof(extra), "[http]\ntoken = x\ntoken_file = %s\n", tok);
    assert_int_not_equal(load(extra, &s, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "token_file"));
    col_settings_cleanup(&s);
    /* an empty or missing file is an error, not "no token" */
    const char *empty = put_file("empty", "\n");
    snprintf(extra, sizeof(extra), "[http]\ntoken_file = %s\n", empty);
    assert_int_not_equal(load(extra, &s, err, sizeof(err)), 0);
    col_settings_cleanup(&s);
    assert_int_not_equal(load("[http]\ntoken_file = /nonexistent/t\n", &s, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "cannot open"));
    col_settings_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_loopback_8080_without_token),
        cmocka_unit_test(test_off_disables),
        cmocka_unit_test(test_bad_listen_is_an_error_naming_the_key),
        cmocka_unit_test(test_token_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
