/* SPDX-License-Identifier: MIT */
/* The README's "Deploy a fleet" guide, walked on loopback with the shipped files: a private CA
 * and the broker's certificate from deploy/mosquitto/make-certs.sh, mosquitto configured the
 * Debian way (its mosquitto.conf including conf.d/) with deploy/mosquitto/botpulse.conf and
 * botpulse.acl, the collector's login made with mosquitto_passwd (password on stdin), an agent
 * added with deploy/add-agent.sh, then the TLS agent reaching the broker over ssl:// on the
 * 8883 listener (certificate and host checked against the CA) and the collector over the
 * loopback one: the agent's bot healthy, as PostgreSQL records it. A wrong CA is refused. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

#define AGENT_TLS_BIN BP_BIN_DIR "/agent/botpulse-agent-tls"
#define DEPLOY BP_SOURCE_DIR "/deploy"

BPT_ENV_FIXTURE("fleet")

/* A malloc'd copy of text with every from replaced by to. */
static char *replace(const char *text, const char *from, const char *to)
{
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    for (const char *p = text; (p = strstr(p, from)) != NULL; p += fl)
        n++;
    char *out = malloc(strlen(text) + n * tl + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = text, *q; *p; p = q + fl) {
        q = strstr(p, from);
        if (!q) {
            strcpy(o, p);
            return out;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
    }
    *o = '\0';
    return out;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    if (f && getdelim(&text, &len, '\0', f) < 0) {
        free(text);
        text = NULL;
    }
    if (f)
        fclose(f);
    return text;
}

/* Runs argv; asserts exit 0; returns its output (caller frees). */
static char *run_ok(struct bpt_env *env, char *const argv[])
{
    char *out = NULL;
    int rc = bpt_run(env, argv, 120000, &out);
    bpt_assert(env, rc == 0, "%s failed (%d): %s", argv[0], rc, out ? out : "");
    return out;
}

/* Starts mosquitto the Debian way: a main config like Debian's (persistence, a log, include_dir)
 * and the shipped botpulse.conf in conf.d/, with its ports, paths and 8883's address moved to
 * this test's (loopback only). */
static void start_broker(struct bpt_env *env, int plain_port, int tls_port)
{
    char *shipped = read_all(DEPLOY "/mosquitto/botpulse.conf");
    bpt_assert(env, shipped, "cannot read botpulse.conf");
    char plain[64], tls[64], certs[600], passwd[600];
    snprintf(plain, sizeof(plain), "listener %d 127.0.0.1", plain_port);
    snprintf(tls, sizeof(tls), "listener %d 127.0.0.1\n", tls_port);
    snprintf(certs, sizeof(certs), "%s/certs/", bpt_env_dir(env));
    snprintf(passwd, sizeof(passwd), "%s/botpulse.passwd", bpt_env_dir(env));
    char *a = replace(shipped, "listener 1883 127.0.0.1", plain);
    char *b = replace(a, "listener 8883\n", tls);
    char *c = replace(b, "/etc/mosquitto/certs/", certs);
    char *d = replace(c, "/etc/mosquitto/botpulse.passwd", passwd);
    char *conf = replace(d, "/etc/mosquitto/botpulse.acl", DEPLOY "/mosquitto/botpulse.acl");
    bpt_assert(env, conf && strstr(conf, tls) && strstr(conf, plain),
               "botpulse.conf no longer has the listeners this test moves");
    bpt_assert(env, bpt_write_file(env, "conf.d/botpulse.conf", "%s", conf), "conf.d");
    free(shipped), free(a), free(b), free(c), free(d), free(conf);
    const char *main_conf = bpt_write_file(
        env, "mosquitto.conf",
        "# like Debian's /etc/mosquitto/mosquitto.conf\npersistence true\n"
        "persistence_location %s/\nlog_dest file %s/mosquitto.log\n%sinclude_dir %s/conf.d\n",
        bpt_env_dir(env), bpt_env_dir(env), geteuid() == 0 ? "user root\n" : "", bpt_env_dir(env));
    bpt_assert(env, main_conf, "mosquitto.conf");
    char *argv[] = {"/usr/sbin/mosquitto", "-c", (char *)main_conf, NULL};
    bpt_assert(env, bpt_spawn(env, "mosquitto-fleet", argv) > 0, "mosquitto did not start");
}

/* The collector's login, made as the guide says (mosquitto_passwd reads it from stdin). */
static void add_collector_login(struct bpt_env *env, const char *password)
{
    char script[700];
    snprintf(script, sizeof(script), "%s/collector-login.sh", bpt_env_dir(env));
    bpt_assert(
        env,
        bpt_write_file(env, "collector-login.sh",
                       "printf '%%s\\n%%s\\n' '%s' '%s' | mosquitto_passwd %s/botpulse.passwd "
                       "collector@botpulse >/dev/null\n",
                       password, password, bpt_env_dir(env)),
        "script");
    char *argv[] = {"/bin/sh", script, NULL};
    free(run_ok(env, argv));
}

/* The agent's config from add-agent.sh, completed as the guide says (a bot section) plus this
 * test's paths; returns its path. */
static const char *agent_ini(struct bpt_env *env, const char *added, pid_t bot)
{
    char *text = read_all(added);
    bpt_assert(env, text, "cannot read %s", added);
    char paths[800];
    snprintf(paths, sizeof(paths), "state_dir = %s/agent\nnotify_socket = %s/agent/n.sock\n",
             bpt_env_dir(env), bpt_env_dir(env));
    char *moved = replace(text, "state_dir = /var/lib/botpulse-agent\n", paths);
    const char *path =
        bpt_write_file(env, "host-a-complete.ini", "%s\n[bot bot-1]\npid_file = %s/bot-1.pid\n",
                       moved, bpt_env_dir(env));
    /* as add-agent.sh wrote it: 0600, since it holds the password (the agent refuses it else) */
    bpt_assert(env, path && chmod(path, 0600) == 0, "chmod agent.ini");
    bpt_assert(env, bpt_write_file(env, "bot-1.pid", "%d\n", (int)bot), "bot-1.pid");
    free(text);
    free(moved);
    return path;
}

static void test_fleet_guide_on_loopback(void **state)
{
    struct bpt_env *env = *state;
    char dir[600], ca[700], passwd[700], added[700], url[64], key[700];
    snprintf(dir, sizeof(dir), "%s", bpt_env_dir(env));
    snprintf(ca, sizeof(ca), "%s/certs/ca.crt", dir);
    snprintf(passwd, sizeof(passwd), "%s/botpulse.passwd", dir);
    snprintf(added, sizeof(added), "%s/host-a.ini", dir);
    snprintf(key, sizeof(key), "%s/signing.key", dir);
    int plain_port = bpt_free_port(), tls_port = bpt_free_port();
    bpt_assert(env, plain_port > 0 && tls_port > 0 && plain_port != tls_port, "ports");
    snprintf(url, sizeof(url), "ssl://127.0.0.1:%d", tls_port);

    /* central host: certificates, the collector's key, an agent's login and config */
    char certs[700];
    snprintf(certs, sizeof(certs), "%s/certs", dir);
    char *mk[] = {DEPLOY "/mosquitto/make-certs.sh", certs, "localhost", "127.0.0.1", NULL};
    free(run_ok(env, mk));
    char *kg[] = {BPT_COLLECTOR_BIN, "keygen", key, NULL};
    char *pub = run_ok(env, kg);
    pub[strcspn(pub, " \n")] = '\0';
    char *aa[] = {DEPLOY "/add-agent.sh", "--ca-file", ca, "host-a", url, pub, passwd, added, NULL};
    free(run_ok(env, aa));
    free(pub);
    add_collector_login(env, "collector-secret");
    bpt_assert(env, bpt_pg_start(env) == 0, "PostgreSQL did not start");
    start_broker(env, plain_port, tls_port);

    const char *col = bpt_write_file(env, "collector.ini",
                                     "[collector]\nid = central\n[mqtt]\nurl = tcp://127.0.0.1:%d\n"
                                     "username = collector@botpulse\npassword = collector-secret\n"
                                     "[database]\nconninfo = %s\nretry = 200ms\n"
                                     "[http]\nlisten = 127.0.0.1:%d\n"
                                     /* a busy test machine must not make the bot degraded */
                                     "[rules]\ncpu_warn = 10000\ncpu_crit = 10000\n"
                                     "mem_warn = 101\nmem_crit = 101\ndisk_warn = 101\n"
                                     "disk_crit = 101\n",
                                     plain_port, bpt_pg_conninfo(env), bpt_free_port());
    bpt_assert(env, col, "collector.ini");
    char *cargv[] = {BPT_COLLECTOR_BIN, "-c", (char *)col, NULL};
    bpt_assert(env, bpt_spawn(env, "collector", cargv) > 0, "collector");

    /* agent host: the bot, and the TLS agent with add-agent.sh's config */
    char *sleeper[] = {"/bin/sleep", "100000", NULL};
    pid_t bot = bpt_spawn(env, "bot-1", sleeper);
    const char *ini = agent_ini(env, added, bot);
    char *agv[] = {AGENT_TLS_BIN, "-c", (char *)ini, NULL};
    bpt_assert(env, bpt_spawn(env, "agent", agv) > 0, "agent");
    const char *p[] = {"bot-1"}; /* (the collector makes the tables when it starts) */
    int64_t n = bpt_pg_wait_int(env, 1, 60000,
                                "SELECT count(*) FROM status_transitions WHERE bot_id = $1 AND "
                                "to_status = 'healthy'",
                                1, p);
    bpt_assert(env, n == 1, "bot-1 of host-a never became healthy over TLS");
    const char *h[] = {"host-a"};
    bpt_assert(env,
               bpt_pg_int(env, "SELECT online::int FROM agents WHERE agent_id = $1", 1, h) == 1,
               "host-a is not online");

    /* an agent that does not trust the broker's CA is refused at the TLS handshake */
    bpt_assert(env,
               bpt_signal(env, "agent", SIGTERM) == 0 && bpt_wait_exit(env, "agent", 10000) >= 0,
               "the agent did not stop");
    char *text = read_all(ini);
    char *wrong = replace(text, ca, "/etc/ssl/certs/ca-certificates.crt");
    const char *bad = bpt_write_file(env, "host-a-wrong-ca.ini", "%s", wrong);
    bpt_assert(env, bad && chmod(bad, 0600) == 0, "host-a-wrong-ca.ini");
    free(text);
    free(wrong);
    char *bargv[] = {AGENT_TLS_BIN, "-c", (char *)bad, NULL};
    bpt_assert(env, bpt_spawn(env, "agent-wrong-ca", bargv) > 0, "agent");
    /* the broker sees the agent abort the handshake: it does not trust the certificate */
    char log[700];
    snprintf(log, sizeof(log), "%s/mosquitto.log", dir);
    int64_t deadline = bp_mono_ms() + 15000;
    char *l = NULL;
    while (bp_mono_ms() < deadline && !((l = read_all(log)) && strstr(l, "alert unknown ca")))
        free(l), l = NULL, bp_sleep_ms(100);
    bpt_assert(env, l, "an agent with the wrong CA did not refuse the broker's certificate");
    free(l);
    snprintf(log, sizeof(log), "%s/agent-wrong-ca.log", dir);
    l = read_all(log);
    bpt_assert(env, l && !strstr(l, "connected to"), "an agent with the wrong CA connected");
    free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fleet_guide_on_loopback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
