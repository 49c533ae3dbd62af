/* SPDX-License-Identifier: MIT */
/* The Debian packages, for real: built with CPack from this build, installed with dpkg -i,
 * checked (files, Depends, the botpulse user), the installed daemons and CLI run against the
 * fixture's broker and PostgreSQL (a bot healthy, killed, stopped; a trade stored), the
 * installed polkit rule asked by a real polkitd whether user botpulse may restart a bot's unit,
 * then purged, leaving the machine as it was. Needs root (dpkg): skipped otherwise, and when a
 * botpulse package or file is already on the machine (never clobbered). */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

#define DPKG_MS 300000
#define POLKIT_RULE "/etc/polkit-1/rules.d/50-botpulse-agent.rules"

static const char *const packages[] = {"botpulse-agent", "botpulse-collector", "botpulse-ctl"};
#define NPKG (sizeof(packages) / sizeof(packages[0]))

/* Every path the packages own or make: none may exist before (we would remove it after). */
static const char *const owned[] = {"/usr/bin/botpulse-agent",
                                    "/usr/bin/botpulse-agent-tls",
                                    "/usr/bin/botpulse-collector",
                                    "/usr/bin/botpulse-ctl",
                                    "/etc/botpulse",
                                    "/lib/systemd/system/botpulse-agent.service",
                                    "/lib/systemd/system/botpulse-collector.service",
                                    "/usr/lib/sysusers.d/botpulse-agent.conf",
                                    "/usr/lib/sysusers.d/botpulse-collector.conf",
                                    POLKIT_RULE,
                                    "/usr/share/botpulse",
                                    "/var/lib/botpulse-agent"};

struct pkg_test {
    struct bpt_env *env;
    bool installed; /* dpkg -i ran: teardown purges */
    bool user_existed;
};

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Runs dpkg (or dpkg-query) with args; waits for another dpkg or apt holding the lock. Returns
 * the exit status; *out (may be NULL) gets its output. */
static int dpkg(struct bpt_env *env, char *const argv[], char **out)
{
    int64_t deadline = bp_mono_ms() + DPKG_MS;
    for (;;) {
        char *text = NULL;
        int rc = bpt_run(env, argv, DPKG_MS, &text);
        bool locked = rc != 0 && text && strstr(text, "lock");
        if (!locked || bp_mono_ms() >= deadline) {
            if (out)
                *out = text;
            else
                free(text);
            return rc;
        }
        free(text);
        bp_sleep_ms(1000);
    }
}

/* Why this machine cannot take the test (a message for skip), or NULL. */
static const char *unsuitable(struct bpt_env *env)
{
    static char why[256];
    if (geteuid() != 0)
        return "not root: dpkg -i needs root (CI runs as root)";
    for (size_t i = 0; i < NPKG; i++) {
        char *argv[] = {"/usr/bin/dpkg-query", "-W", "-f", "${db:Status-Status}",
                        (char *)packages[i],   NULL};
        char *out = NULL;
        bpt_run(env, argv, 30000, &out);
        bool present = out && strcmp(out, "not-installed") != 0 && out[0] != '\0' &&
                       !strstr(out, "no packages found");
        free(out);
        if (present) {
            snprintf(why, sizeof(why), "%s is installed here: not touching it", packages[i]);
            return why;
        }
    }
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
        if (exists(owned[i])) {
            snprintf(why, sizeof(why), "%s exists here: not touching it", owned[i]);
            return why;
        }
    }
    return NULL;
}

static int setup(void **state)
{
    struct pkg_test *t = calloc(1, sizeof(*t));
    if (!t || !(t->env = bpt_env_new("package"))) {
        free(t);
        return -1;
    }
    t->user_existed = getpwnam("botpulse") != NULL;
    *state = t;
    return 0;
}

/* dpkg --purge of our packages, and the botpulse user if we made it. */
static int purge(struct pkg_test *t)
{
    char *argv[] = {"/usr/bin/dpkg",     "--purge",           (char *)packages[0],
                    (char *)packages[1], (char *)packages[2], NULL};
    char *out = NULL;
    int rc = dpkg(t->env, argv, &out);
    if (rc != 0)
        fprintf(stderr, "test_package: dpkg --purge: exit %d: %s\n", rc, out ? out : "");
    free(out);
    if (!t->user_existed && getpwnam("botpulse")) {
        char *del[] = {"/usr/sbin/userdel", "botpulse", NULL};
        char *gdel[] = {"/usr/sbin/groupdel", "botpulse", NULL};
        bpt_run(t->env, del, 30000, NULL);
        bpt_run(t->env, gdel, 30000, NULL); /* gone with the user already: fine */
    }
    t->installed = false;
    return rc;
}

static int teardown(void **state)
{
    struct pkg_test *t = *state;
    /* userdel refuses a user with processes: the one the polkit check runs as botpulse */
    if (bpt_signal(t->env, "as-botpulse", SIGKILL) == 0)
        bpt_wait_exit(t->env, "as-botpulse", 10000);
    if (t->installed)
        purge(t);
    bpt_env_free(t->env);
    free(t);
    return 0;
}

/* cpack from this build into dir/debs; the three .deb paths into debs[]. */
static void build_packages(struct bpt_env *env, char debs[NPKG][1024])
{
    char out_dir[600], prefix[800], *out = NULL;
    snprintf(out_dir, sizeof(out_dir), "%s/debs", bpt_env_dir(env));
    char *argv[] = {"/usr/bin/cpack", "--config", BP_BIN_DIR "/CPackConfig.cmake", "-B",
                    out_dir,          NULL};
    int rc = bpt_run(env, argv, 600000, &out);
    bpt_assert(env, rc == 0, "cpack failed (%d): %s", rc, out ? out : "");
    free(out);
    for (size_t i = 0; i < NPKG; i++) {
        snprintf(prefix, sizeof(prefix), "%s/%s_%s_", out_dir, packages[i], BP_VERSION);
        char *ls[] = {"/bin/sh", "-c", "ls \"$0\"*.deb", prefix, NULL};
        char *path = NULL;
        bpt_assert(env, bpt_run(env, ls, 10000, &path) == 0 && path, "no %s package", packages[i]);
        path[strcspn(path, "\n")] = '\0';
        snprintf(debs[i], sizeof(debs[i]), "%s", path);
        free(path);
    }
}

/* The package's Depends field (malloc'd). */
static char *depends(struct bpt_env *env, const char *pkg)
{
    char *argv[] = {"/usr/bin/dpkg-query", "-W", "-f", "${Depends}", (char *)pkg, NULL};
    char *out = NULL;
    bpt_assert(env, bpt_run(env, argv, 30000, &out) == 0 && out, "dpkg-query %s", pkg);
    return out;
}

static void check_installed(struct bpt_env *env)
{
    static const char *const files[] = {
        "/usr/bin/botpulse-agent",
        "/usr/bin/botpulse-agent-tls",
        "/usr/bin/botpulse-collector",
        "/usr/bin/botpulse-ctl",
        "/lib/systemd/system/botpulse-agent.service",
        "/lib/systemd/system/botpulse-collector.service",
        "/usr/lib/sysusers.d/botpulse-agent.conf",
        "/etc/botpulse/agent.example.ini",
        "/etc/botpulse/collector.example.ini",
        POLKIT_RULE,
        "/usr/share/botpulse/add-agent.sh",
        "/usr/share/botpulse/mosquitto/botpulse.acl",
        "/usr/share/botpulse/prometheus/botpulse-rules.yml",
        "/usr/share/doc/botpulse-agent/copyright",
        "/usr/share/doc/botpulse-collector/copyright",
        "/usr/share/doc/botpulse-ctl/copyright",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        bpt_assert(env, exists(files[i]), "%s not installed", files[i]);
    struct passwd *pw = getpwnam("botpulse");
    bpt_assert(env, pw, "the packages made no botpulse user");
    struct stat st;
    bpt_assert(env,
               stat("/etc/botpulse", &st) == 0 && (st.st_mode & 07777) == 0750 &&
                   st.st_gid == pw->pw_gid,
               "/etc/botpulse is not root:botpulse 0750");
    /* the installed units parse, and their binaries exist where they say */
    if (access("/usr/bin/systemd-analyze", X_OK) == 0) {
        char *verify[] = {"/usr/bin/systemd-analyze", "verify",
                          "/lib/systemd/system/botpulse-agent.service",
                          "/lib/systemd/system/botpulse-collector.service", NULL};
        char *out = NULL;
        int rc = bpt_run(env, verify, 60000, &out);
        bpt_assert(env, rc == 0 && (!out || !out[0]), "systemd-analyze verify (%d): %s", rc,
                   out ? out : "");
        free(out);
    }
    static const char *const need[][5] = {
        {"botpulse-agent", "libsodium", "libpaho-mqtt", "libcjson", "libinih"},
        {"botpulse-collector", "libsodium", "libmicrohttpd", "libcurl", "libpq5"},
        {"botpulse-ctl", "libcurl", "libcjson", "libc6", "libc6"},
    };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        char *dep = depends(env, need[i][0]);
        for (int j = 1; j < 5; j++)
            bpt_assert(env, strstr(dep, need[i][j]), "%s does not depend on %s: %s", need[i][0],
                       need[i][j], dep);
        free(dep);
    }
}

/* The installed binaries against the fixture's servers: a bot healthy, killed, stopped; a
 * trade stored; the installed CLI reads the collector. */
static void run_installed(struct bpt_env *env)
{
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"},
                               .collector_bin = "/usr/bin/botpulse-collector",
                               .agent_bin = "/usr/bin/botpulse-agent"};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "the installed daemons did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/status/#");
    bpt_assert(env, rec, "recorder");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never healthy under the installed daemons");
    bpt_assert(env, bpt_stack_trade(&s, "bot-1", "T-pkg") == 0, "installed notify failed");
    bpt_assert(env,
               bpt_pg_wait_int(env, 1, 10000,
                               "SELECT count(*) FROM trades WHERE trade_id = 'T-pkg'", 0,
                               NULL) == 1,
               "the trade did not reach PostgreSQL");
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "kill bot-1");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 10000) == 0,
               "bot-1 not stopped after kill -9");
    char url[64], *out = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.http_port);
    char *ctl[] = {"/usr/bin/botpulse-ctl", "--url", url, "bots", NULL};
    bpt_run(env, ctl, 10000, &out);
    bpt_assert(env, out && strstr(out, "bot-1") && strstr(out, "stopped"),
               "the installed botpulse-ctl did not list bot-1 stopped: %s", out ? out : "");
    free(out);
    char *tls[] = {"/usr/bin/botpulse-agent-tls", "--version", NULL};
    bpt_assert(env, bpt_run(env, tls, 10000, NULL) == 0, "botpulse-agent-tls --version failed");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "an installed daemon did not shut down cleanly");
}

/* pkcheck's exit status for uid's process asking to `verb` unit (0: allowed). */
static int ask_polkit(struct bpt_env *env, pid_t subject, const char *verb, const char *unit)
{
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)subject);
    char *argv[] = {"/usr/bin/pkcheck",
                    "--action-id",
                    "org.freedesktop.systemd1.manage-units",
                    "--process",
                    pid,
                    "--detail",
                    "unit",
                    (char *)unit,
                    "--detail",
                    "verb",
                    (char *)verb,
                    NULL};
    return bpt_run(env, argv, 30000, NULL);
}

/* A private system bus with a real polkitd on it (which reads the installed rule from
 * /etc/polkit-1/rules.d); NULL when either is not installed (the reason on stderr). */
static bool start_polkit(struct bpt_env *env)
{
    static const char *const polkitds[] = {"/usr/lib/polkit-1/polkitd", "/usr/libexec/polkitd"};
    const char *polkitd = NULL;
    for (size_t i = 0; i < 2 && !polkitd; i++)
        if (access(polkitds[i], X_OK) == 0)
            polkitd = polkitds[i];
    if (!polkitd || access("/usr/bin/dbus-daemon", X_OK) != 0 ||
        access("/usr/bin/pkcheck", X_OK) != 0) {
        fprintf(stderr, "test_package: polkitd, dbus-daemon or pkcheck missing: the polkit rule "
                        "is not checked\n");
        return false;
    }
    char sock[600], addr[700];
    snprintf(sock, sizeof(sock), "%s/system_bus_socket", bpt_env_dir(env));
    snprintf(addr, sizeof(addr), "unix:path=%s", sock);
    const char *conf = bpt_write_file(
        env, "bus.conf",
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<busconfig><type>system</type><listen>%s</listen><auth>EXTERNAL</auth>\n"
        "<policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>"
        "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy></busconfig>\n",
        addr);
    bpt_assert(env, conf, "bus.conf");
    char *bus[] = {"/usr/bin/dbus-daemon", "--nofork", "--config-file", (char *)conf, NULL};
    bpt_assert(env, bpt_spawn(env, "dbus-daemon", bus) > 0, "dbus-daemon did not start");
    setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1); /* for polkitd and pkcheck */
    char *pk[] = {(char *)polkitd, "--no-debug", NULL};
    bpt_assert(env, bpt_spawn(env, "polkitd", pk) > 0, "polkitd did not start");
    return true;
}

static void stop_polkit(struct bpt_env *env)
{
    static const char *const names[] = {"polkitd", "dbus-daemon"};
    for (int i = 0; i < 2; i++)
        if (bpt_signal(env, names[i], SIGTERM) == 0)
            bpt_wait_exit(env, names[i], 10000);
    unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

/* The installed rule, asked through a real polkitd: user botpulse may restart and kill a bot's
 * unit (bot-*.service) without a password, and nothing else; another user may not. */
static void check_polkit_rule(struct bpt_env *env)
{
    if (!start_polkit(env))
        return;
    char *as_botpulse[] = {"/usr/bin/setpriv",
                           "--reuid=botpulse",
                           "--regid=botpulse",
                           "--clear-groups",
                           "/bin/sleep",
                           "600",
                           NULL};
    char *as_nobody[] = {"/usr/bin/setpriv",
                         "--reuid=nobody",
                         "--regid=nogroup",
                         "--clear-groups",
                         "/bin/sleep",
                         "600",
                         NULL};
    pid_t agent = bpt_spawn(env, "as-botpulse", as_botpulse);
    pid_t other = bpt_spawn(env, "as-nobody", as_nobody);
    bpt_assert(env, agent > 0 && other > 0, "could not start the subjects");
    bp_sleep_ms(200); /* setpriv has exec'ed sleep under the new uid */
    int64_t deadline = bp_mono_ms() + 20000;
    int rc;
    /* until polkitd owns its name on the bus: pkcheck answers 0, 1 or 2 */
    while ((rc = ask_polkit(env, agent, "restart", "bot-grid-1.service")) > 2 &&
           bp_mono_ms() < deadline)
        bp_sleep_ms(200);
    bpt_assert(env, rc == 0, "polkit refused user botpulse restarting bot-grid-1.service (%d)", rc);
    bpt_assert(env, ask_polkit(env, agent, "kill", "bot-grid-1.service") == 0,
               "polkit refused user botpulse killing bot-grid-1.service");
    bpt_assert(env, ask_polkit(env, agent, "restart", "ssh.service") != 0,
               "polkit let user botpulse restart ssh.service");
    bpt_assert(env, ask_polkit(env, agent, "restart", "bot-x.socket") != 0,
               "polkit let user botpulse restart a socket unit");
    bpt_assert(env, ask_polkit(env, other, "restart", "bot-grid-1.service") != 0,
               "polkit let user nobody restart a bot's unit");
    static const char *const names[] = {"as-botpulse", "as-nobody"};
    for (int i = 0; i < 2; i++) {
        bpt_signal(env, names[i], SIGKILL);
        bpt_wait_exit(env, names[i], 10000);
    }
    stop_polkit(env);
}

static void check_purged(struct bpt_env *env, bool user_existed)
{
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        bpt_assert(env, !exists(owned[i]), "%s is still there after dpkg --purge", owned[i]);
    bpt_assert(env, user_existed || !getpwnam("botpulse"), "the botpulse user is still there");
}

static void test_packages_install_run_and_purge(void **state)
{
    struct pkg_test *t = *state;
    struct bpt_env *env = t->env;
    const char *why = unsuitable(env);
    if (why) {
        fprintf(stderr, "test_package: skipped: %s\n", why);
        skip();
    }
    char debs[NPKG][1024];
    build_packages(env, debs);
    char *install[] = {"/usr/bin/dpkg", "-i", debs[0], debs[1], debs[2], NULL};
    char *out = NULL;
    t->installed = true;
    int rc = dpkg(env, install, &out);
    bpt_assert(env, rc == 0, "dpkg -i failed (%d): %s", rc, out ? out : "");
    free(out);
    check_installed(env);
    run_installed(env);
    check_polkit_rule(env);
    bpt_assert(env, purge(t) == 0, "dpkg --purge failed");
    check_purged(env, t->user_existed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_packages_install_run_and_purge, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
