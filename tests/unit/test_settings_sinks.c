/* SPDX-License-Identifier: MIT */
/* The alert sinks' settings: [webhook] as the sink "webhook", [sink NAME] sections with their
 * filters, secrets read from private files (and refused from files others may read, or inline
 * where the URL is the secret), and which events each sink takes. */
#include "settings.h"

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

#define BASE "[mqtt]\nurl = tcp://127.0.0.1:1883\n[database]\nconninfo = dbname=x\n"

static char dir[] = "/tmp/bp-sinks-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

/* Writes dir/name with content and mode; returns its path (static buffer per call site). */
static const char *secret(const char *name, const char *content, mode_t mode, char *path,
                          size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static int load(const char *text, struct col_settings *s, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof(path), "%s/collector.ini", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    memset(s, 0, sizeof(*s));
    return col_settings_load(path, s, err, errlen);
}

static void expect_error(const char *text, const char *needle)
{
    struct col_settings s;
    char err[512] = "";
    int rc = load(text, &s, err, sizeof(err));
    if (rc == 0 || !strstr(err, needle))
        fail_msg("want an error with '%s', got %d: %s", needle, rc, err);
    col_settings_cleanup(&s);
}

static void test_webhook_and_sinks(void **state)
{
    (void)state;
    char slack[128], key[128], pw[128], text[2048];
    secret("slack.url", "https://hooks.slack.com/services/T/B/X\n", 0600, slack, sizeof(slack));
    secret("pd.key", "R0UT1NG\n", 0400, key, sizeof(key));
    secret("smtp.pw", "hunter2", 0600, pw, sizeof(pw));
    snprintf(text, sizeof(text),
             BASE "[webhook]\nurl = https://chat.example/hook\nformat = discord\n"
                  "[sink pager]\nkind = json\nurl = https://events.pagerduty.com/v2/enqueue\n"
                  "routing_key_file = %s\nseverity = critical\n"
                  "[sink team-a]\nkind = slack\nurl_file = %s\naccounts = fund-a, fund-b\n"
                  "[sink mail]\nkind = email\nurl = smtp://smtp.example.net:587\n"
                  "from = botpulse <bp@example.net>\nto = ops@example.net\n"
                  "username = bp\npassword_file = %s\n",
             key, slack, pw);
    struct col_settings s;
    char err[512] = "";
    assert_int_equal(load(text, &s, err, sizeof(err)), 0);
    assert_int_equal(s.nsinks, 4);
    const struct col_sink_config *k = s.sinks;
    assert_string_equal(k[0].name, "webhook"); /* [webhook] first: every alert */
    assert_int_equal(k[0].kind, COL_SINK_DISCORD);
    assert_int_equal(k[0].min_severity, COL_SEV_WARNING);
    assert_int_equal(k[0].naccounts, 0);
    assert_string_equal(k[1].name, "pager");
    assert_int_equal(k[1].kind, COL_SINK_JSON);
    assert_string_equal(k[1].routing_key, "R0UT1NG");
    assert_int_equal(k[1].min_severity, COL_SEV_CRITICAL);
    assert_string_equal(k[2].url, "https://hooks.slack.com/services/T/B/X");
    assert_int_equal(k[2].naccounts, 2);
    assert_string_equal(k[2].accounts[1], "fund-b");
    assert_int_equal(k[3].kind, COL_SINK_EMAIL);
    assert_string_equal(k[3].password, "hunter2");
    assert_true(k[3].starttls); /* on unless turned off */
    assert_int_equal(k[3].retries, 5);
    /* the filters */
    assert_true(col_sink_takes(&k[0], COL_SEV_WARNING, "fund-z"));
    assert_false(col_sink_takes(&k[1], COL_SEV_WARNING, "fund-a"));
    assert_true(col_sink_takes(&k[1], COL_SEV_CRITICAL, "fund-a"));
    assert_true(col_sink_takes(&k[2], COL_SEV_WARNING, "fund-b"));
    assert_false(col_sink_takes(&k[2], COL_SEV_CRITICAL, "fund-c"));
    assert_false(col_sink_takes(&k[2], COL_SEV_CRITICAL, ""));
    col_settings_cleanup(&s);
    assert_null(s.sinks);
    /* no sink at all */
    assert_int_equal(load(BASE, &s, err, sizeof(err)), 0);
    assert_int_equal(s.nsinks, 0);
    col_settings_cleanup(&s);
}

static void test_secrets_come_from_private_files(void **state)
{
    (void)state;
    char open_url[128], ok_url[128], text[1024];
    secret("open.url", "https://hooks.slack.com/services/T/B/X", 0644, open_url, sizeof(open_url));
    secret("ok.url", "https://hooks.slack.com/services/T/B/X", 0600, ok_url, sizeof(ok_url));
    /* a chat webhook's URL is its password: not inline */
    expect_error(BASE "[sink chat]\nkind = slack\nurl = https://hooks.slack.com/services/T/B/X\n",
                 "[sink chat] url: a slack webhook's URL is its password");
    /* a file others may read is refused, and the message says why without the secret */
    snprintf(text, sizeof(text), BASE "[sink chat]\nkind = slack\nurl_file = %s\n", open_url);
    struct col_settings s;
    char err[512] = "";
    assert_int_not_equal(load(text, &s, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "[sink chat] url_file"));
    assert_non_null(strstr(err, "chmod"));
    assert_null(strstr(err, "hooks.slack.com"));
    col_settings_cleanup(&s);
    snprintf(text, sizeof(text), BASE "[webhook]\nurl_file = %s\nformat = slack\n", ok_url);
    assert_int_equal(load(text, &s, err, sizeof(err)), 0);
    assert_string_equal(s.sinks[0].url, "https://hooks.slack.com/services/T/B/X");
    col_settings_cleanup(&s);
    snprintf(text, sizeof(text),
             BASE "[sink mail]\nkind = email\nurl = smtp://m:25\nfrom = a@b\n"
                  "to = c@d\nusername = u\npassword_file = %s\n",
             open_url);
    expect_error(text, "[sink mail] password_file");
}

static void test_sink_errors(void **state)
{
    (void)state;
    expect_error(BASE "[sink x]\nurl = https://a/\n", "[sink x] kind: required");
    expect_error(BASE "[sink x]\nkind = pagerduty\nurl = https://a/\n", "[sink x] kind");
    expect_error(BASE "[sink x]\nkind = json\n", "[sink x] url: required");
    expect_error(BASE "[sink x]\nkind = json\nurl = smtp://a/\n", "not an http:// or https://");
    expect_error(BASE "[sink x]\nkind = email\nurl = https://a/\nfrom = a@b\nto = c@d\n",
                 "not an smtp:// or smtps://");
    expect_error(BASE "[sink x]\nkind = email\nurl = smtp://a:25\nto = c@d\n",
                 "[sink x] from: required");
    expect_error(BASE "[sink x]\nkind = json\nurl = https://a/\nseverity = info\n",
                 "[sink x] severity");
    expect_error(BASE "[sink x]\nkind = json\nurl = https://a/\naccounts = ok, bad$one\n",
                 "[sink x] accounts: 'bad$one'");
    expect_error(BASE "[sink x]\nkind = alert\nurl = https://a/\nrouting_key_file = /k\n",
                 "only for kind json");
    expect_error(BASE "[sink b@d]\nkind = json\nurl = https://a/\n", "not a valid name");
    expect_error(BASE
                 "[webhook]\nurl = https://a/\n[sink webhook]\nkind = json\nurl = https://b/\n",
                 "the sink called webhook already");
    expect_error(BASE "[webhook]\nurl = https://a/\nformat = telegram\n",
                 "[webhook] chat_id: required");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_and_sinks),
        cmocka_unit_test(test_secrets_come_from_private_files),
        cmocka_unit_test(test_sink_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
