/* SPDX-License-Identifier: MIT */
/* End to end, botpulse-ctl against a real collector (mosquitto, PostgreSQL, agent, bots):
 * each command's table and --json, and the exit codes scripts rely on: 0 all healthy, 1 a bot
 * is not, 2 usage (and a token file others may read), 3 collector unreachable, 4 no such bot,
 * 5 refused (no token or a wrong one); --token-file, BOTPULSE_TOKEN, BOTPULSE_URL, --version. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TOKEN "ctl-token"

struct t {
    struct bpt_env *env;
    char url[64];
    char *out; /* the last run's stdout and stderr */
};

/* Runs botpulse-ctl --url <collector> with up to 5 more words; returns its exit status. */
static int ctl(struct t *t, const char *a1, const char *a2, const char *a3, const char *a4,
               const char *a5)
{
    const char *words[] = {a1, a2, a3, a4, a5, NULL};
    return bpt_ctl_argv(t->env, &t->out, t->url, NULL, words);
}

#define expect_ctl(t, want, needle, ...)                                                           \
    do {                                                                                           \
        int rc_ = ctl((t), __VA_ARGS__);                                                           \
        bpt_assert((t)->env, rc_ == (want) && strstr((t)->out, (needle)),                          \
                   "%s:%d: exit %d (want %d), output lacks '%s':\n%s", __FILE__, __LINE__, rc_,    \
                   (want), (needle), (t)->out);                                                    \
    } while (0)

static void test_ctl_commands_and_exit_codes(void **state)
{
    struct t t = {.env = *state};
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"}, .http_extra = "token = " TOKEN "\n"};
    bpt_assert(t.env, bpt_stack_start(t.env, &o, &s) == 0, "stack did not start");
    snprintf(t.url, sizeof(t.url), "http://127.0.0.1:%d", s.http_port);
    struct bpt_rec *rec = bpt_rec_new(t.env, BPT_ROOT "/status/#");
    bpt_assert(t.env, rec, "recorder did not connect");
    bpt_assert(t.env,
               bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0 &&
                   bpt_stack_wait_status(&s, rec, "bot-2", "healthy", 15000) == 0,
               "bots never became healthy");

    expect_ctl(&t, 0, "2 bots: healthy 2", "status", NULL, NULL, NULL, NULL);
    expect_ctl(&t, 0, "acct-0   1     healthy 1", "status", NULL, NULL, NULL, NULL);
    expect_ctl(&t, 0, "\"total\":1", "--json", "status", "--account", "acct-1", NULL);
    expect_ctl(&t, 0, "BOT    STATUS   ACCOUNT", "bots", NULL, NULL, NULL, NULL);
    expect_ctl(&t, 0, "bot-1  healthy  acct-0   test-host", "bots", NULL, NULL, NULL, NULL);
    expect_ctl(&t, 0, "no bots", "bots", "--status", "down", NULL, NULL);
    expect_ctl(&t, 0, "status:         healthy", "bot", "bot-1", NULL, NULL, NULL);
    expect_ctl(&t, 0, "\"id\":\"bot-1\"", "bot", "bot-1", "--json", NULL, NULL);
    expect_ctl(&t, 4, "no bot 'nobody'", "bot", "nobody", NULL, NULL, NULL);
    expect_ctl(&t, 0, "no transitions", "history", "nobody-else", NULL, NULL, NULL);
    expect_ctl(&t, 2, "unknown command", "restart-everything", NULL, NULL, NULL, NULL);
    /* The README's exit code for a missing token is the collector's: 5 (refused). */
    unsetenv("BOTPULSE_TOKEN");
    expect_ctl(&t, 5, "needs the bearer token", "recheck", "bot-1", NULL, NULL, NULL);
    expect_ctl(&t, 5, "wrong bearer token", "recheck", "bot-1", "--token", "nope", NULL);
    expect_ctl(&t, 0, "status:         healthy", "recheck", "bot-1", "--token", TOKEN, NULL);
    bpt_assert(t.env, strstr(t.out, "warning: --token shows the token"), "no warning: %s", t.out);
    /* The token from a private file; a file others may read is refused, naming it. */
    const char *tf = bpt_write_file(t.env, "token", TOKEN "\n");
    bpt_assert(t.env, tf && chmod(tf, 0600) == 0, "cannot write the token file");
    expect_ctl(&t, 0, "status:         healthy", "recheck", "bot-1", "--token-file", tf, NULL);
    bpt_assert(t.env, !strstr(t.out, "warning"), "a warning for --token-file: %s", t.out);
    bpt_assert(t.env, chmod(tf, 0644) == 0, "chmod");
    expect_ctl(&t, 2, "mode 0644 gives its group and everyone access", "recheck", "bot-1",
               "--token-file", tf, NULL);
    bpt_assert(t.env, !strstr(t.out, TOKEN), "the token was printed: %s", t.out);
    setenv("BOTPULSE_TOKEN", TOKEN, 1);
    expect_ctl(&t, 0, "status:         healthy", "recheck", "bot-1", NULL, NULL, NULL);
    unsetenv("BOTPULSE_TOKEN");
    /* $BOTPULSE_URL instead of --url; --version */
    char *argv[] = {BPT_CTL_BIN, "status", NULL}, *vargv[] = {BPT_CTL_BIN, "--version", NULL};
    setenv("BOTPULSE_URL", t.url, 1);
    free(t.out);
    t.out = NULL;
    int rc = bpt_run(t.env, argv, 20000, &t.out);
    unsetenv("BOTPULSE_URL");
    bpt_assert(t.env, rc == 0 && t.out && strstr(t.out, "2 bots: healthy 2"),
               "BOTPULSE_URL: exit %d: %s", rc, t.out ? t.out : "");
    free(t.out);
    t.out = NULL;
    rc = bpt_run(t.env, vargv, 20000, &t.out);
    bpt_assert(t.env, rc == 0 && t.out && strstr(t.out, "botpulse-ctl " BP_VERSION),
               "--version: exit %d: %s", rc, t.out ? t.out : "");
    expect_ctl(&t, 0, "no open alerts", "alerts", NULL, NULL, NULL, NULL);

    bpt_assert(t.env, bpt_signal(t.env, "bot-bot-2", SIGKILL) == 0, "could not kill bot-2");
    bpt_assert(t.env, bpt_stack_wait_status(&s, rec, "bot-2", "stopped", 10000) == 0,
               "bot-2 not stopped");
    expect_ctl(&t, 1, "2 bots: healthy 1, stopped 1", "status", NULL, NULL, NULL, NULL);
    expect_ctl(&t, 0, "bot-2  critical  process  stopped", "alerts", NULL, NULL, NULL, NULL);
    /* worst first */
    expect_ctl(&t, 0, "bot-2  stopped  acct-1", "bots", NULL, NULL, NULL, NULL);
    bpt_assert(t.env, strstr(t.out, "bot-2") < strstr(t.out, "bot-1"), "not worst first");
    const char *p[] = {"bot-2"};
    bpt_assert(t.env,
               bpt_pg_wait_int(t.env, 1, 10000,
                               "SELECT count(*) FROM status_transitions WHERE bot_id = $1 AND "
                               "to_status = 'stopped'",
                               1, p) == 1,
               "no transition row");
    expect_ctl(&t, 0, "healthy  stopped  process  process not running", "history", "bot-2",
               "--since", "1h", NULL);
    expect_ctl(&t, 0, "\"to\":\"stopped\"", "--json", "history", "bot-2", NULL, NULL);

    bpt_rec_free(rec);
    bpt_assert(t.env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
    expect_ctl(&t, 3, "cannot reach the collector", "status", NULL, NULL, NULL, NULL);
    free(t.out);
}

BPT_ENV_FIXTURE("ctl")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ctl_commands_and_exit_codes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
