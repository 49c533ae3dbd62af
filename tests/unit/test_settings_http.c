/* SPDX-License-Identifier: MIT */
/* The collector's [http] section: defaults (loopback), off, bad addresses; and every collector
 * secret from a file (token, broker and database passwords, webhook URL): read when private,
 * refused when its group or others may read it. */
#include "settings.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    assert_int_equal(chmod(path, 0600), 0);
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
    const char *tok = put_file("token", "abc123-token \n");
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
    assert_non_null(strstr(err, "No such file"));
    col_settings_cleanup(&s);
}

/* What libpq reads for keyword in conninfo ("" when unset). */
static const char *conninfo_value(const char *conninfo, const char *keyword)
{
    static char value[256];
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    assert_non_null(opts);
    value[0] = '\0';
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0 && o->val)
            snprintf(value, sizeof(value), "%s", o->val);
    PQconninfoFree(opts);
    return value;
}

/* Loads BASE + extra and expects an error mentioning needle. */
static void expect_error(const char *extra, const char *needle)
{
    struct col_settings s;
    char err[512] = "";
    assert_int_not_equal(load(extra, &s, err, sizeof(err)), 0);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not say '%s'", err, needle);
    col_settings_cleanup(&s);
}

static void test_every_secret_from_a_private_file(void **state)
{
    struct col_settings s;
    char err[512] = "", extra[512], url_file[128], pw_file[128], db_file[128];
    snprintf(url_file, sizeof(url_file), "%s",
             put_file("url", "https://api.telegram.org/bot123:SECRET/sendMessage\n"));
    snprintf(pw_file, sizeof(pw_file), "%s", put_file("mqtt.pw", "broker-secret\n"));
    snprintf(db_file, sizeof(db_file), "%s", put_file("db.pw", "it's a \\secret\n"));
    char text[1024];
    snprintf(text, sizeof(text),
             "[mqtt]\nurl = tcp://h:1883\npassword_file = %s\n[webhook]\nurl_file = %s\n"
             "format = telegram\nchat_id = 42\n[database]\nconninfo = dbname=x\n"
             "password_file = %s\n",
             pw_file, url_file, db_file);
    assert_int_equal(col_settings_load(put_file("all.ini", text), &s, err, sizeof(err)), 0);
    assert_string_equal(s.mqtt_password, "broker-secret");
    assert_string_equal(s.webhook_url, "https://api.telegram.org/bot123:SECRET/sendMessage");
    assert_string_equal(conninfo_value(s.db_conninfo, "password"), "it's a \\secret");
    assert_string_equal(conninfo_value(s.db_conninfo, "dbname"), "x");
    col_settings_cleanup(&s);
    /* a URI conninfo is rewritten as keywords, which libpq reads back the same */
    snprintf(text, sizeof(text),
             "[mqtt]\nurl = tcp://h:1883\n[database]\nconninfo = postgresql://bp@db:5433/fleet\n"
             "password_file = %s\n",
             db_file);
    assert_int_equal(col_settings_load(put_file("uri.ini", text), &s, err, sizeof(err)), 0);
    assert_string_equal(conninfo_value(s.db_conninfo, "user"), "bp");
    assert_string_equal(conninfo_value(s.db_conninfo, "host"), "db");
    assert_string_equal(conninfo_value(s.db_conninfo, "port"), "5433");
    assert_string_equal(conninfo_value(s.db_conninfo, "dbname"), "fleet");
    assert_string_equal(conninfo_value(s.db_conninfo, "password"), "it's a \\secret");
    col_settings_cleanup(&s);
    /* refused: readable by others, given twice, a password in conninfo too */
    assert_int_equal(chmod(pw_file, 0640), 0);
    snprintf(text, sizeof(text),
             "[mqtt]\nurl = tcp://h:1883\npassword_file = %s\n[database]\nconninfo = x\n", pw_file);
    assert_int_not_equal(col_settings_load(put_file("pw.ini", text), &s, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "[mqtt] password_file"));
    assert_non_null(strstr(err, "chmod 600"));
    col_settings_cleanup(&s);
    assert_int_equal(chmod(url_file, 0604), 0);
    snprintf(extra, sizeof(extra), "[webhook]\nurl_file = %s\n", url_file);
    expect_error(extra, "[webhook] url_file");
    assert_int_equal(chmod(url_file, 0600), 0);
    snprintf(extra, sizeof(extra), "[webhook]\nurl = https://x/\nurl_file = %s\n", url_file);
    expect_error(extra, "set one, not both");
    snprintf(text, sizeof(text),
             "[mqtt]\nurl = tcp://h:1883\n[database]\nconninfo = dbname=x password=y\n"
             "password_file = %s\n",
             db_file);
    assert_int_not_equal(col_settings_load(put_file("two.ini", text), &s, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "conninfo has a password too"));
    col_settings_cleanup(&s);
    /* a bad inline URL is refused without being echoed: it may hold the secret */
    expect_error("[webhook]\nurl = ftp://bot:SECRET@x/\n", "[webhook] url");
    assert_int_not_equal(load("[webhook]\nurl = ftp://bot:SECRET@x/\n", &s, err, sizeof(err)), 0);
    assert_null(strstr(err, "SECRET"));
    col_settings_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_loopback_8080_without_token),
        cmocka_unit_test(test_off_disables),
        cmocka_unit_test(test_bad_listen_is_an_error_naming_the_key),
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_every_secret_from_a_private_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
