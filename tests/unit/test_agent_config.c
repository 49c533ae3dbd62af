/* SPDX-License-Identifier: MIT */
/* agent_config: a full file, defaults, the shipped example, and each validation error. */
#include "agent_config.h"

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

static char path[64];
static struct agent_config cfg;
static char err[512];

static int write_ini(const char *text)
{
    strcpy(path, "/tmp/bp-agent-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    err[0] = '\0';
    int rc = agent_config_load(path, &cfg, err, sizeof(err));
    unlink(path);
    return rc;
}

static void expect_error(const char *text, const char *needle)
{
    int rc = write_ini(text);
    if (rc == 0 || strstr(err, needle) == NULL)
        fail_msg("want an error containing '%s', got %d '%s'", needle, rc, err);
}

static void test_full(void **state)
{
    assert_int_equal(write_ini("[agent]\nid = host-7\nhost = vps7\nheartbeat = 5s\nstats = 1m\n"
                               "state_dir = /tmp/bp-state\nlog_level = debug\n"
                               "mounts = /, /var/lib , /tmp\n"
                               "[mqtt]\nurl = tcp://127.0.0.1:1883\nusername = u\npassword = p\n"
                               "topic_root = fleet/v1\nmax_buffered = 50\n"
                               "[bot demo-1]\npid_file = /run/demo-1.pid\naccount = main\n"
                               "exchange = binance\n"
                               "[bot demo-2]\nprocess_name = demo-bot\n"),
                     0);
    assert_string_equal(cfg.id, "host-7");
    assert_string_equal(cfg.host, "vps7");
    assert_int_equal(cfg.heartbeat_ms, 5000);
    assert_int_equal(cfg.stats_ms, 60000);
    assert_string_equal(cfg.notify_socket, "/tmp/bp-state/notify.sock");
    assert_int_equal(cfg.nmounts, 3);
    assert_string_equal(cfg.mounts[1], "/var/lib");
    assert_string_equal(cfg.mounts[2], "/tmp");
    assert_string_equal(cfg.mqtt.topic_root, "fleet/v1");
    assert_int_equal(cfg.mqtt.max_buffered, 50);
    assert_int_equal(cfg.nbots, 2);
    assert_string_equal(cfg.bots[0].name, "demo-1");
    assert_string_equal(cfg.bots[0].exchange, "binance");
    assert_string_equal(cfg.bots[1].process_name, "demo-bot");
    assert_int_equal(agent_config_find_bot(&cfg, "demo-2"), 1);
    assert_int_equal(agent_config_find_bot(&cfg, "demo-3"), -1);
}

static void test_defaults(void **state)
{
    assert_int_equal(write_ini("[agent]\nid = a1\n[mqtt]\nurl = tcp://b:1883\n"
                               "[bot b1]\nprocess_name = x\n"),
                     0);
    char host[256];
    gethostname(host, sizeof(host));
    host[128] = '\0';
    assert_string_equal(cfg.host, host);
    assert_int_equal(cfg.heartbeat_ms, 10000);
    assert_int_equal(cfg.stats_ms, 10000);
    assert_string_equal(cfg.state_dir, "/var/lib/botpulse-agent");
    assert_string_equal(cfg.notify_socket, "/var/lib/botpulse-agent/notify.sock");
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.nmounts, 1);
    assert_string_equal(cfg.mounts[0], "/");
    assert_string_equal(cfg.mqtt.topic_root, "botpulse/v1");
    assert_int_equal(cfg.mqtt.max_buffered, 10000);
    assert_string_equal(cfg.mqtt.username, "");
}

static void test_example_file_loads(void **state)
{
    assert_int_equal(
        agent_config_load(BP_SOURCE_DIR "/deploy/agent.example.ini", &cfg, err, sizeof(err)), 0);
    assert_true(cfg.nbots >= 1);
}

static void test_errors(void **state)
{
    const char *mq = "[mqtt]\nurl = tcp://b:1883\n";
    char buf[1024];
    expect_error("[mqtt]\nurl = tcp://b:1883\n[bot b1]\nprocess_name = x\n", "id");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\n%s[bot b1]\naccount = main\n", mq);
    expect_error(buf,
                 "[bot b1]: set pid_file, process_name, cmdline, systemd_unit or heartbeat_file");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\n%s", mq);
    expect_error(buf, "no [bot NAME] section");
    expect_error("[agent]\nid = a1\n[bot b1]\nprocess_name = x\n", "url");
    snprintf(buf, sizeof(buf), "[agent]\nid = bad id!\n%s[bot b1]\nprocess_name = x\n", mq);
    expect_error(buf, "id");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\nheartbeat = 50ms\n%s[bot b1]\nprocess_name = x\n",
             mq);
    expect_error(buf, "heartbeat");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\nheartbeat = 2h\n%s[bot b1]\nprocess_name = x\n",
             mq);
    expect_error(buf, "heartbeat");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\nlog_level = loud\n%s[bot b1]\nprocess_name=x\n",
             mq);
    expect_error(buf, "log_level");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\nmounts = /, var\n%s[bot b1]\nprocess_name=x\n",
             mq);
    expect_error(buf, "mounts");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\ncolour = red\n%s[bot b1]\nprocess_name=x\n", mq);
    expect_error(buf, "colour");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\n%s[bot b1]\npid_file = run/b1.pid\n", mq);
    expect_error(buf, "pid_file: must be an absolute path");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\n%s[bot b1]\nprocess_name = /usr/bin/x\n", mq);
    expect_error(buf, "process_name");
    snprintf(buf, sizeof(buf),
             "[agent]\nid = a1\n%s[bot b1]\nprocess_name = x\n"
             "[bot b1]\nprocess_name = y\n",
             mq);
    expect_error(buf, "b1");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\n%s[bot b/1]\nprocess_name = x\n", mq);
    expect_error(buf, "b/1");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\n%s[bot b1]\nprocess_name = x\nnice = 5\n", mq);
    expect_error(buf, "nice");
    snprintf(buf, sizeof(buf), "[agent]\nid = a1\n%smax_buffered = -1\n[bot b1]\nprocess_name=x\n",
             mq);
    expect_error(buf, "max_buffered");
}

static void test_evidence_sources(void **state)
{
    const char *head = "[agent]\nid = a1\nheartbeat = 2s\n[mqtt]\nurl = tcp://b:1883\n";
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "%s[bot b1]\npid_file = /run/b1.pid\nlog_file = /var/log/b1.log\n"
             "log_trade = (BUY|SELL) filled\nlog_error = ^ERROR\nlog_warning = WARN(ING)?\n"
             "probe = /usr/local/bin/last-trade --bot b1\nprobe_interval = 30s\n"
             "probe_timeout = 5s\n"
             "[bot b2]\nheartbeat_file = /run/b2.hb\n"
             "[bot b3]\ncmdline = python3 .*bot\\.py --name b3( |$)\n",
             head);
    assert_int_equal(write_ini(buf), 0);
    assert_string_equal(cfg.bots[0].log_trade, "(BUY|SELL) filled");
    assert_string_equal(cfg.bots[0].probe, "/usr/local/bin/last-trade --bot b1");
    assert_int_equal(cfg.bots[0].probe_interval_ms, 30000);
    assert_int_equal(cfg.bots[0].probe_timeout_ms, 5000);
    assert_string_equal(cfg.bots[1].heartbeat_file, "/run/b2.hb");
    assert_int_equal(cfg.bots[1].heartbeat_file_max_age_ms, 6000); /* 3 x heartbeat */
    assert_int_equal(cfg.bots[1].probe_interval_ms, 60000);
    assert_string_equal(cfg.bots[2].cmdline, "python3 .*bot\\.py --name b3( |$)");
    snprintf(buf, sizeof(buf), "%s[bot b1]\ncmdline = [unclosed\n", head);
    expect_error(buf, "[bot b1] cmdline: bad regular expression");

    /* A bad pattern names the file, the line and the key. */
    snprintf(buf, sizeof(buf),
             "%s[bot b1]\npid_file = /run/b1.pid\nlog_file = /l\nlog_error = (unclosed\n", head);
    expect_error(buf, ":9: [bot b1] log_error: bad regular expression");
    assert_non_null(strstr(err, path));
    snprintf(buf, sizeof(buf), "%s[bot b1]\npid_file = /run/b1.pid\nlog_trade = x\n", head);
    expect_error(buf, "set log_file too");
    snprintf(buf, sizeof(buf), "%s[bot b1]\npid_file = /p\nlog_timeout = x\n", head);
    expect_error(buf, "log_* patterns: set log_file too");
    snprintf(buf, sizeof(buf),
             "%s[bot b1]\npid_file = /p\nlog_file = /l\nlog_reconnect = reconnect\n"
             "log_rate_limit = 429\nlog_timeout = timed out\n",
             head);
    assert_int_equal(write_ini(buf), 0);
    assert_string_equal(cfg.bots[0].log_reconnect, "reconnect");
    assert_string_equal(cfg.bots[0].log_rate_limit, "429");
    assert_string_equal(cfg.bots[0].log_timeout, "timed out");
    snprintf(buf, sizeof(buf), "%s[bot b1]\npid_file = /p\nlog_file = /l\nlog_timeout = (\n", head);
    expect_error(buf, "[bot b1] log_timeout: bad regular expression");

    /* glibc's regcomp expands repetitions: x{1,32767}, or 20 stacked '+', took gigabytes (found
     * by tests/fuzz/fuzz_agent_config); past 1000 expanded elements a pattern is refused. */
    static const char *const costly[] = {
        "x{1,2000}", "a++++++++++++", "((a+)+)(((b+)+)+)+{1,99}", "(ab){50}(cd){1,451}",
        "x{1,32767}", "x+++++++++++++[", /* regcomp fails late */
        "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))+",
        /* repetitions of what may be empty, after an anchor: exponential in regcomp (the long
         * run of fuzz_agent_config: 12 s for the first one) */
        "^/***********a************************************************tartname", "^b**********",
        "^(b?|c?)*(b?|c?)*(b?|c?)*(b?|c?)*(b?|c?)*(b?|c?)*(b?|c?)*(b?|c?)*(b?|c?)*",
        "^((b*|c*)*x){9}", "\\<(b|$)+(b|^)+(b|\\>)+(|b)+(b*)+(b*){1,}(b*){2,}(b{0,5}c?)*(b|c?)*"};
    for (size_t i = 0; i < sizeof(costly) / sizeof(costly[0]); i++) {
        snprintf(buf, sizeof(buf), "%s[bot b1]\ncmdline = %s\n", head, costly[i]);
        expect_error(buf, "[bot b1] cmdline: too complex");
    }
    static const char *const fine[] = {"([0-9]{1,3}\\.){3}[0-9]{1,3}",
                                       ".{0,990}ERROR",
                                       "(a|b)*c+d?[]{}+]{2,}",
                                       "\\{1,5000\\}",
                                       "[{]1,5000}",
                                       "x{1,1000}",
                                       "[[:alpha:]]+{1,3}",
                                       "^(a|b?)*(c|d*)*x(e?|f)*(g*h?)*(i|j*)*(k|l)*(mn?)*",
                                       "^ *\\[?[0-9]{4}-[0-9]{2}\\]? *(ERROR|WARN)+ .*$"};
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        snprintf(buf, sizeof(buf), "%s[bot b1]\ncmdline = %s\n", head, fine[i]);
        if (write_ini(buf) != 0)
            fail_msg("'%s' refused: %s", fine[i], err);
    }

    /* A systemd unit: a name, or a path under the cgroup root; never with a pid file. */
    snprintf(buf, sizeof(buf), "%s[bot b1]\nsystemd_unit = grid-1@eu.service\n", head);
    assert_int_equal(write_ini(buf), 0);
    assert_string_equal(cfg.bots[0].systemd_unit, "grid-1@eu.service");
    snprintf(buf, sizeof(buf), "%s[bot b1]\nsystemd_unit = user.slice/app.slice/b.service\n", head);
    assert_int_equal(write_ini(buf), 0);
    snprintf(buf, sizeof(buf), "%s[bot b1]\nsystemd_unit = ../../etc\n", head);
    expect_error(buf, "[bot b1] systemd_unit: '../../etc' is not a unit name");
    snprintf(buf, sizeof(buf), "%s[bot b1]\nsystemd_unit = a b.service\n", head);
    expect_error(buf, "is not a unit name");
    snprintf(buf, sizeof(buf), "%s[bot b1]\nsystemd_unit = b.service\npid_file = /p\n", head);
    expect_error(buf, "systemd_unit: set either it or pid_file");
    snprintf(buf, sizeof(buf), "%s[bot b1]\npid_file = /p\nlog_file = b1.log\n", head);
    expect_error(buf, "log_file: must be an absolute path");
    snprintf(buf, sizeof(buf), "%s[bot b1]\nheartbeat_file = b1.hb\n", head);
    expect_error(buf, "heartbeat_file: must be an absolute path");
    snprintf(buf, sizeof(buf),
             "%s[bot b1]\npid_file = /p\nprobe = /bin/true\nprobe_interval = 5s\n"
             "probe_timeout = 10s\n",
             head);
    expect_error(buf, "probe_timeout: longer than probe_interval");
    /* pass_env: names of the agent's variables its commands also get (agent_spawn.h). */
    snprintf(buf, sizeof(buf), "%s[bot b1]\npid_file = /p\npass_env = VIRTUAL_ENV, DOCKER_HOST\n",
             head);
    assert_int_equal(write_ini(buf), 0);
    assert_string_equal(cfg.bots[0].pass_env, "VIRTUAL_ENV, DOCKER_HOST");
    snprintf(buf, sizeof(buf), "%s[bot b1]\npid_file = /p\npass_env = A=B\n", head);
    expect_error(buf, "[bot b1] pass_env: 'A=B' is not a variable name");
    /* notify_user: a user name (looked up now) or a uid; unset, anyone may notify. */
    snprintf(buf, sizeof(buf),
             "%s[bot b1]\npid_file = /p\n[bot b2]\npid_file = /p\n"
             "notify_user = root\n[bot b3]\npid_file = /p\nnotify_user = 1234\n",
             head);
    assert_int_equal(write_ini(buf), 0);
    assert_false(cfg.bots[0].has_notify_uid);
    assert_true(cfg.bots[1].has_notify_uid);
    assert_int_equal(cfg.bots[1].notify_uid, 0);
    assert_true(cfg.bots[2].has_notify_uid);
    assert_int_equal(cfg.bots[2].notify_uid, 1234);
    snprintf(buf, sizeof(buf), "%s[bot b1]\npid_file = /p\nnotify_user = no-such-user-here\n",
             head);
    expect_error(buf, "[bot b1] notify_user: no user 'no-such-user-here'");
}

/* Writes text to a file of that mode; returns its path (static). */
static const char *file_with_mode(const char *name, const char *text, mode_t mode)
{
    static char p[2][64];
    static int k;
    char *out = p[k++ % 2];
    snprintf(out, 64, "/tmp/bp-agent-%s-%d", name, (int)getpid());
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(out, mode), 0);
    return out;
}

/* The broker password: from a private file, or inline in a private ini; never readable by
 * the group or others (only the running agent checks: notify and check do not need it). */
static void test_mqtt_password_secrecy(void **state)
{
    char buf[1024];
    const char *bot = "[bot b1]\nprocess_name = x\n";
    const char *pw = file_with_mode("pw", "s3cret\n", 0600);
    snprintf(buf, sizeof(buf),
             "[agent]\nid = a1\n[mqtt]\nurl = tcp://b:1883\npassword_file = %s\n%s", pw, bot);
    const char *ini = file_with_mode("ini", buf, 0644);
    assert_int_equal(agent_config_load(ini, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.mqtt.password, "");
    assert_int_equal(agent_config_load_secrets(&cfg, ini, err, sizeof(err)), 0);
    assert_string_equal(cfg.mqtt.password, "s3cret");
    chmod(pw, 0640);
    assert_int_equal(agent_config_load(ini, &cfg, err, sizeof(err)), 0);
    assert_int_equal(agent_config_load_secrets(&cfg, ini, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "[mqtt] password_file: "));
    assert_non_null(strstr(err, "mode 0640 gives its group access"));
    assert_null(strstr(err, "s3cret"));
    unlink(pw);
    unlink(ini);

    snprintf(buf, sizeof(buf),
             "[agent]\nid = a1\n[mqtt]\nurl = tcp://b:1883\npassword = s3cret\n%s", bot);
    ini = file_with_mode("ini", buf, 0644);
    assert_int_equal(agent_config_load(ini, &cfg, err, sizeof(err)), 0);
    assert_int_equal(agent_config_load_secrets(&cfg, ini, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "holds [mqtt] password inline, but its mode 0644"));
    chmod(ini, 0600);
    assert_int_equal(agent_config_load_secrets(&cfg, ini, err, sizeof(err)), 0);
    unlink(ini);

    snprintf(buf, sizeof(buf),
             "[agent]\nid = a1\n[mqtt]\nurl = tcp://b:1883\npassword = x\npassword_file = /p\n%s",
             bot);
    expect_error(buf, "[mqtt] password_file: set either it or password");
    snprintf(buf, sizeof(buf),
             "[agent]\nid = a1\n[mqtt]\nurl = tcp://b:1883\npassword_file = p\n%s", bot);
    expect_error(buf, "[mqtt] password_file: must be an absolute path");
}

static void test_too_many_bots(void **state)
{
    static char buf[16384];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "[agent]\nid = a1\n[mqtt]\nurl = tcp://b:1\n");
    for (int i = 0; i <= BP_AGENT_MAX_BOTS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[bot b%d]\nprocess_name = x\n", i);
    expect_error(buf, "too many bots");
}

/* ---- reload: agent_config_diff and agent_config_apply_live ---- */

#define HEAD "[agent]\nid = a1\nhost = h1\nheartbeat = 2s\nstate_dir = /tmp/s\n"
#define MQTT "[mqtt]\nurl = tcp://b:1883\n"
#define BOTS "[bot b1]\npid_file = /run/b1.pid\naccount = x\n[bot b2]\nprocess_name = two\n"

static struct agent_config old_cfg;

static void diff_against(const char *old_text, const char *new_text, struct agent_config_diff *d)
{
    assert_int_equal(write_ini(old_text), 0);
    old_cfg = cfg;
    if (write_ini(new_text) != 0)
        fail_msg("new config: %s", err);
    agent_config_diff(&old_cfg, &cfg, d);
}

static void test_diff_same(void **state)
{
    struct agent_config_diff d;
    /* Key order and comments do not matter; values do. */
    diff_against(HEAD MQTT BOTS,
                 "; reordered\n" MQTT HEAD "[bot b1]\naccount = x\npid_file = /run/b1.pid\n"
                 "[bot b2]\nprocess_name = two\n",
                 &d);
    assert_string_equal(d.restart_key, "");
    assert_false(d.state_changed);
    assert_false(d.agent_changed);
    assert_int_equal(d.unchanged, 2);
    assert_int_equal(d.added + d.removed + d.changed, 0);
    assert_true(d.same[0] && d.same[1]);
    assert_int_equal(d.old_index[1], 1);
}

static void test_diff_bots(void **state)
{
    struct agent_config_diff d;
    /* b1 removed, b2 changed (a log file), b3 added, in front. */
    diff_against(HEAD MQTT BOTS,
                 HEAD MQTT "[bot b3]\ncmdline = ^bot3\n"
                           "[bot b2]\nprocess_name = two\nlog_file = /var/log/b2.log\n",
                 &d);
    assert_string_equal(d.restart_key, "");
    assert_true(d.state_changed);
    assert_false(d.agent_changed);
    assert_int_equal(d.added, 1);
    assert_int_equal(d.removed, 1);
    assert_int_equal(d.changed, 1);
    assert_int_equal(d.unchanged, 0);
    assert_int_equal(d.old_index[0], -1);
    assert_int_equal(d.old_index[1], 1);
    assert_false(d.same[1]);

    /* Only a label changed: the same bot, but the agent state lists labels. */
    diff_against(HEAD MQTT BOTS,
                 HEAD MQTT "[bot b1]\npid_file = /run/b1.pid\naccount = y\n"
                           "[bot b2]\nprocess_name = two\n",
                 &d);
    assert_true(d.state_changed);
    assert_int_equal(d.changed, 1);
    assert_false(d.same[0]);
    assert_true(d.same[1]);
}

static void test_diff_live_agent_keys(void **state)
{
    struct agent_config_diff d;
    diff_against(HEAD MQTT BOTS,
                 "[agent]\nid = a1\nhost = h1\nheartbeat = 1s\nstate_dir = /tmp/s\n"
                 "log_level = debug\nmounts = /, /tmp\n" MQTT BOTS,
                 &d);
    assert_string_equal(d.restart_key, "");
    assert_true(d.agent_changed);
    assert_true(d.state_changed); /* the heartbeat interval is in the agent state */
    /* A bot with a heartbeat_file whose max age defaults to 3 x heartbeat would change (its
     * max age does); these have none, so they keep their state. */
    assert_int_equal(d.unchanged, 2);

    struct agent_config cur = old_cfg;
    agent_config_apply_live(&cur, &cfg);
    assert_int_equal(cur.heartbeat_ms, 1000);
    assert_string_equal(cur.log_level, "debug");
    assert_int_equal(cur.nmounts, 2);
    assert_string_equal(cur.mounts[1], "/tmp");
    assert_int_equal(cur.nbots, 2);
}

static void test_diff_needs_restart(void **state)
{
    static const struct {
        const char *text, *key;
    } cases[] = {
        {HEAD "[mqtt]\nurl = tcp://other:1883\n" BOTS, "[mqtt] url"},
        {HEAD MQTT "username = u\npassword = p\n" BOTS, "[mqtt] username"},
        {HEAD MQTT "topic_root = x/v1\n" BOTS, "[mqtt] topic_root"},
        {"[agent]\nid = a2\nhost = h1\nheartbeat = 2s\nstate_dir = /tmp/s\n" MQTT BOTS,
         "[agent] id"},
        {"[agent]\nid = a1\nhost = h1\nheartbeat = 2s\nstate_dir = /tmp/t\n" MQTT BOTS,
         "[agent] state_dir"},
        {HEAD "notify_socket = /tmp/n.sock\n" MQTT BOTS, "[agent] notify_socket"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct agent_config_diff d;
        diff_against(HEAD MQTT BOTS, cases[i].text, &d);
        assert_string_equal(d.restart_key, cases[i].key);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_example_file_loads),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_evidence_sources),
        cmocka_unit_test(test_too_many_bots),
        cmocka_unit_test(test_mqtt_password_secrecy),
        cmocka_unit_test(test_diff_same),
        cmocka_unit_test(test_diff_bots),
        cmocka_unit_test(test_diff_live_agent_keys),
        cmocka_unit_test(test_diff_needs_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
