/* SPDX-License-Identifier: MIT */
/* End to end, what a bot restarted by the agent inherits: a killed bot is restarted through a
 * signed command whose script leaves a new bot running; that bot holds no descriptor above 2
 * (in particular not the agent's broker connection) and sees only the documented environment
 * (a variable of the agent's own is not in it). The consequence a user notices: kill -9 of the
 * agent makes the broker publish its Will at once, not at the keepalive (20 s, so 30 s). */
#include "stack.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "msg.h"
#include "sign.h"

#define WILL_WITHIN_MS 10000 /* the keepalive would fire it at 30 s */

BPT_ENV_FIXTURE("spawn")

static int read_pidfile(struct bpt_env *env, const char *bot)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s.pid", bpt_env_dir(env), bot);
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

/* " 0 1 2": the descriptors of pid, sorted. */
static void list_fds(int pid, char *out, size_t size)
{
    char path[64];
    int fds[256], n = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    for (struct dirent *de; d && (de = readdir(d)) != NULL;)
        if (de->d_name[0] != '.' && n < 256)
            fds[n++] = atoi(de->d_name);
    if (d)
        closedir(d);
    for (int i = 1; i < n; i++) /* insertion sort: a handful */
        for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
            int t = fds[j];
            fds[j] = fds[j - 1];
            fds[j - 1] = t;
        }
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, " %d", fds[i]);
}

/* The environment of pid, NULs turned into newlines. */
static void read_environ(int pid, char *out, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/environ", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, size - 1, f) : 0;
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++)
        if (out[i] == '\0')
            out[i] = '\n';
    out[n] = '\0';
}

static void test_restarted_bot_inherits_nothing_and_will_fires_at_once(void **state)
{
    struct bpt_env *env = *state;
    uint8_t pk[BP_SIGN_PK_BYTES], sk[BP_SIGN_SK_BYTES];
    char pkhex[2 * BP_SIGN_PK_BYTES + 1], skhex[2 * BP_SIGN_SK_BYTES + 1];
    bpt_assert(env, bp_sign_keypair(pk, sk) == 0, "keypair");
    bp_hex_encode(pk, sizeof(pk), pkhex);
    bp_hex_encode(sk, sizeof(sk), skhex);
    const char *sk_file = bpt_write_secret(env, "signing.key", "%s\n", skhex);
    /* The restart script leaves its bot running, as a real one does: that bot is a grandchild
     * of the agent, alive after the agent dies. */
    const char *script = bpt_write_file(env, "restart-bot-1.sh",
                                        "#!/bin/sh\nsleep 600 </dev/null >/dev/null 2>&1 &\n"
                                        "echo $! > \"$1\"\necho \"started $!\"\n");
    bpt_assert(env, sk_file && script, "cannot write the key or the script");
    char agent_extra[256], bot_extra[800], collector_extra[800];
    snprintf(agent_extra, sizeof(agent_extra), "command_public_key = %s\ncommand_timeout = 10s\n",
             pkhex);
    snprintf(bot_extra, sizeof(bot_extra), "restart = /bin/sh %s %s/bot-1.pid\n", script,
             bpt_env_dir(env));
    snprintf(collector_extra, sizeof(collector_extra),
             "[recovery]\nsigning_key_file = %s\nladder = restart\nmin_interval = 1s\n"
             "recovery_deadline = 10s\n",
             sk_file);
    /* Something of the agent's own that a command must not see. */
    setenv("BOTPULSE_TEST_SECRET", "do-not-inherit", 1);
    struct bpt_stack_opts o = {.bots = {"bot-1"},
                               .bot_extra = {bot_extra},
                               .agent_extra = agent_extra,
                               .collector_extra = collector_extra};
    struct bpt_stack s;
    int rc = bpt_stack_start(env, &o, &s);
    unsetenv("BOTPULSE_TEST_SECRET");
    bpt_assert(env, rc == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
    int first = (int)bpt_pid(env, "bot-bot-1");
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    const char *ok[] = {"\"type\":\"command_result\"", "\"outcome\":\"ok\"", NULL};
    char *res = bpt_rec_wait(rec, BPT_ROOT "/agents/agent-1/results", ok, 20000);
    bpt_assert(env, res, "bot-1 was not restarted by a command");
    free(res);
    bpt_rec_clear(rec);
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 not healthy after its restart");
    int bot = read_pidfile(env, "bot-1");
    bpt_assert(env, bot > 0 && bot != first, "no new bot in the pid file (%d)", bot);

    char fds[512], environ_text[8192];
    list_fds(bot, fds, sizeof(fds));
    read_environ(bot, environ_text, sizeof(environ_text));
    fprintf(stderr, "restarted bot %d: fds%s\nenvironment:\n%s", bot, fds, environ_text);
    if (strcmp(fds, " 0 1 2") != 0 || strstr(environ_text, "BOTPULSE_TEST_SECRET") ||
        !strstr(environ_text, "BOTPULSE_BOT=bot-1\n") ||
        !strstr(environ_text, "BOTPULSE_ACTION=restart\n")) {
        kill(bot, SIGKILL);
        bpt_fail(env, __FILE__, __LINE__,
                 "the restarted bot inherited descriptors (%s) or the agent's environment", fds);
    }

    /* kill -9 the agent: its connection closes with it, so the Will comes now. */
    bpt_rec_clear(rec);
    int64_t t0 = bp_mono_ms();
    bpt_assert(env, bpt_signal(env, "agent", SIGKILL) == 0, "could not kill the agent");
    const char *offline[] = {"\"online\":false", NULL};
    char *will = bpt_rec_wait(rec, BPT_ROOT "/agents/agent-1/state", offline, WILL_WITHIN_MS);
    int64_t took = bp_mono_ms() - t0;
    kill(bot, SIGKILL);
    bpt_assert(env, will, "no Will within %d ms of kill -9 of the agent", WILL_WITHIN_MS);
    fprintf(stderr, "the agent's Will arrived %lld ms after kill -9\n", (long long)took);
    free(will);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_signal(env, "collector", SIGTERM) == 0, "collector gone");
    int status = bpt_wait_exit(env, "collector", 10000);
    bpt_assert(env, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "the collector did not stop cleanly (%d)", status);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restarted_bot_inherits_nothing_and_will_fires_at_once,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
