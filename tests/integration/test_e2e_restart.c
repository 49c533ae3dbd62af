/* SPDX-License-Identifier: MIT */
/* End to end, an operator's actions on a bot against the real stack. Restart (POST
 * /bots/{id}/restart, botpulse-ctl restart) with automatic recovery switched off: a killed bot
 * is restarted on request, the signed command reaches the agent, a new process runs and the bot
 * is healthy again, with the command and its result in PostgreSQL; a second request within
 * 30 s is 429; bad input, no token, unknown bot; a collector without a signing key answers 409.
 * Intended state (POST /bots/{id}/intended, botpulse-ctl intend): a bot intended stopped that
 * dies raises no alert, also after a collector restart (bot_intents); intended running again,
 * its alert opens; bad input gets its 4xx. Chart data (GET /bots/{id}/samples): a trade counted
 * in its 10-minute bucket, and bad ranges answered 400. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "sign.h"

#define TOKEN "restart-token"
#define RESULT_TOPIC BPT_ROOT "/agents/agent-1/results"

struct t {
    struct bpt_env *env;
    struct bpt_stack s;
    char url[64];
    char *out; /* the last HTTP body or botpulse-ctl output */
};

BPT_ENV_FIXTURE("restart")

/* One request; the status, the body in t->out, the Retry-After header in retry (may be NULL). */
static long req(struct t *t, const char *method, const char *path, const char *token,
                const char *body, long *retry)
{
    struct bpt_http r = {0};
    struct bpt_http_req rq = {.method = method,
                              .base = t->url,
                              .path = path,
                              .token = token,
                              .ctype =
                                  body || strcmp(method, "POST") == 0 ? "application/json" : NULL,
                              .body = body};
    long status = bpt_http(t->env, &rq, &r);
    if (retry)
        *retry = r.retry_after;
    free(t->out);
    t->out = r.body; /* kept as the test's last output */
    return status;
}

static long post(struct t *t, const char *path, const char *token, const char *body, long *retry)
{
    return req(t, "POST", path, token, body, retry);
}

static long get(struct t *t, const char *path)
{
    return req(t, "GET", path, NULL, NULL, NULL);
}

#define expect_get(t, want, needle, path)                                                          \
    do {                                                                                           \
        long st_ = get((t), (path));                                                               \
        bpt_assert((t)->env, st_ == (want) && strstr((t)->out, (needle)),                          \
                   "%s:%d: GET %s: HTTP %ld (want %d), body lacks '%s': %s", __FILE__, __LINE__,   \
                   (path), st_, (want), (needle), (t)->out);                                       \
    } while (0)

#define expect_post(t, want, needle, path, token, body)                                            \
    do {                                                                                           \
        long st_ = post((t), (path), (token), (body), NULL);                                       \
        bpt_assert((t)->env, st_ == (want) && strstr((t)->out, (needle)),                          \
                   "%s:%d: HTTP %ld (want %d), body lacks '%s': %s", __FILE__, __LINE__, st_,      \
                   (want), (needle), (t)->out);                                                    \
    } while (0)

/* A restart command line for the agent: starts a new stand-in bot and writes its pid file where
 * the agent watches bot-1's pid (run without a shell: /bin/sh is the program). */
static const char *restart_line(struct t *t)
{
    const char *script = bpt_write_file(t->env, "restart-bot-1.sh",
                                        "#!/bin/sh\nsleep 100000 </dev/null >/dev/null 2>&1 &\n"
                                        "echo $! > \"$1\"\necho \"started $!\"\n");
    bpt_assert(t->env, script, "cannot write the restart script");
    static char line[600];
    snprintf(line, sizeof(line), "/bin/sh %s %s/bot-1.pid", script, bpt_env_dir(t->env));
    return line;
}

static int read_pid(struct t *t)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/bot-1.pid", bpt_env_dir(t->env));
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

/* Runs botpulse-ctl --url U --token T w1 w2 w3; its exit status, output in t->out. */
static int ctl(struct t *t, const char *w1, const char *w2, const char *w3)
{
    return bpt_ctl(t->env, &t->out, t->url, TOKEN, w1, w2, w3, NULL);
}

static int ctl_restart(struct t *t, const char *bot)
{
    return ctl(t, "restart", bot, "--yes");
}

static void test_operator_restart_reaches_the_agent(void **state)
{
    struct t t = {.env = *state};
    uint8_t pk[BP_SIGN_PK_BYTES], sk[BP_SIGN_SK_BYTES];
    char pkhex[2 * BP_SIGN_PK_BYTES + 1], skhex[2 * BP_SIGN_SK_BYTES + 1];
    bpt_assert(t.env, bp_sign_keypair(pk, sk) == 0, "keypair");
    bp_hex_encode(pk, sizeof(pk), pkhex);
    bp_hex_encode(sk, sizeof(sk), skhex);
    const char *sk_file = bpt_write_secret(t.env, "signing.key", "%s\n", skhex);
    bpt_assert(t.env, sk_file, "cannot write the key");
    char agent_extra[256], bot_extra[800], collector_extra[800];
    snprintf(agent_extra, sizeof(agent_extra), "command_public_key = %s\ncommand_timeout = 10s\n",
             pkhex);
    snprintf(bot_extra, sizeof(bot_extra), "restart = %s\n", restart_line(&t));
    /* automatic recovery off: only the operator restarts */
    snprintf(collector_extra, sizeof(collector_extra),
             "[recovery]\nsigning_key_file = %s\nenabled = off\n", sk_file);
    struct bpt_stack_opts o = {.bots = {"bot-1"},
                               .bot_extra = {bot_extra},
                               .agent_extra = agent_extra,
                               .collector_extra = collector_extra,
                               .http_extra = "token = " TOKEN "\n"};
    bpt_assert(t.env, bpt_stack_start(t.env, &o, &t.s) == 0, "stack did not start");
    snprintf(t.url, sizeof(t.url), "http://127.0.0.1:%d", t.s.http_port);
    struct bpt_rec *rec = bpt_rec_new(t.env, BPT_ROOT "/#");
    bpt_assert(t.env, rec, "recorder did not connect");
    bpt_assert(t.env, bpt_stack_wait_status(&t.s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
    int old_pid = read_pid(&t);
    bpt_assert(t.env, bpt_signal(t.env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(t.env, bpt_stack_wait_status(&t.s, rec, "bot-1", "stopped", 10000) == 0,
               "bot-1 not reported stopped");
    bpt_rec_clear(rec);

    /* bad input first: none of it may send anything */
    expect_post(&t, 401, "bearer", "/bots/bot-1/restart", NULL, NULL);
    expect_post(&t, 401, "wrong bearer token", "/bots/bot-1/restart", "nope", NULL);
    expect_post(&t, 400, "'action'", "/bots/bot-1/restart", TOKEN, "{\"action\":\"reconnect\"}");
    expect_post(&t, 400, "unknown member 'cmd'", "/bots/bot-1/restart", TOKEN,
                "{\"cmd\":\"/bin/rm -rf /\"}");
    expect_post(&t, 400, "JSON object", "/bots/bot-1/restart", TOKEN, "[1]");
    expect_post(&t, 400, "invalid bot id", "/bots/b%24/restart", TOKEN, NULL);
    expect_post(&t, 404, "no bot 'ghost'", "/bots/ghost/restart", TOKEN, NULL);

    /* the operator's restart, through the CLI */
    int rc = ctl_restart(&t, "bot-1");
    bpt_assert(t.env, rc == 0 && strstr(t.out, "restart of bot bot-1 sent to agent agent-1"),
               "botpulse-ctl restart: exit %d: %s", rc, t.out);
    const char *n0 = strstr(t.out, "(nonce ");
    char nonce[BP_NONCE_MAX + 1] = "";
    bpt_assert(t.env, n0 && sscanf(n0, "(nonce %64[0-9a-f])", nonce) == 1, "no nonce in: %s",
               t.out);
    char needle[128];
    snprintf(needle, sizeof(needle), "\"nonce\":\"%s\"", nonce);
    const char *want[] = {"\"type\":\"command_result\"", "\"outcome\":\"ok\"", needle, NULL};
    char *res = bpt_rec_wait(rec, RESULT_TOPIC, want, 15000);
    bpt_assert(t.env, res, "no ok result for nonce %s on %s", nonce, RESULT_TOPIC);
    free(res);
    bpt_assert(t.env, bpt_stack_wait_status(&t.s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 not healthy after the operator's restart");
    int new_pid = read_pid(&t);
    bpt_assert(t.env, new_pid > 1 && new_pid != old_pid && kill(new_pid, 0) == 0,
               "no new bot process (pid %d, was %d)", new_pid, old_pid);
    const char *p[] = {nonce};
    int64_t rows = bpt_pg_wait_int(
        t.env, 1, 10000,
        "SELECT count(*) FROM commands c JOIN command_results r ON r.nonce = c.nonce "
        "WHERE c.nonce = $1 AND c.bot_id = 'bot-1' AND c.action = 'restart' AND "
        "c.reason LIKE 'operator:%' AND r.outcome = 'ok' AND r.exit_code = 0",
        1, p);
    bpt_assert(t.env, rows == 1, "commands/command_results rows for %s: %lld", nonce,
               (long long)rows);
    /* and /metrics counts it: one restart sent, its result ok */
    bpt_assert(t.env, get(&t, "/metrics") == 200, "GET /metrics failed");
    bpt_assert(t.env,
               strstr(t.out, "botpulse_commands_sent_total{action=\"restart\"} 1\n") &&
                   strstr(t.out, "botpulse_command_results_total{action=\"restart\","
                                 "outcome=\"ok\"} 1\n"),
               "/metrics does not count the restart and its result");
    /* and the audit report: one restart for bot-1, ok */
    bpt_assert(t.env, get(&t, "/report?bot=bot-1") == 200, "GET /report failed: %s", t.out);
    bpt_assert(t.env, strstr(t.out, "\"restarts\":{\"sent\":1,\"ok\":1}"),
               "the report does not count the restart: %s", t.out);

    /* within 30 s of the last: 429 with Retry-After, and nothing sent */
    long retry = -1;
    long st = post(&t, "/bots/bot-1/restart", TOKEN, "{\"action\":\"restart\"}", &retry);
    bpt_assert(t.env, st == 429 && strstr(t.out, "retry in") && retry >= 1 && retry <= 30,
               "second restart: HTTP %ld, Retry-After %ld: %s", st, retry, t.out);
    rc = ctl_restart(&t, "bot-1");
    bpt_assert(t.env, rc == 5, "botpulse-ctl restart within 30 s: exit %d (want 5)", rc);
    rows = bpt_pg_wait_int(t.env, 1, 2000, "SELECT count(*) FROM commands WHERE bot_id = $1", 1,
                           (const char *[]){"bot-1"});
    bpt_assert(t.env, rows == 1, "%lld commands for bot-1, want 1", (long long)rows);

    bpt_rec_free(rec);
    free(t.out);
    bpt_assert(t.env, bpt_stack_stop(&t.s) == 0, "a daemon did not shut down cleanly");
    kill(new_pid, SIGKILL);
}

static void test_without_signing_key_is_409(void **state)
{
    struct t t = {.env = *state};
    struct bpt_stack_opts o = {.bots = {"bot-1"}, .http_extra = "token = " TOKEN "\n"};
    bpt_assert(t.env, bpt_stack_start(t.env, &o, &t.s) == 0, "stack did not start");
    snprintf(t.url, sizeof(t.url), "http://127.0.0.1:%d", t.s.http_port);
    expect_post(&t, 409, "recovery is not configured", "/bots/bot-1/restart", TOKEN, NULL);
    expect_post(&t, 401, "bearer", "/bots/bot-1/restart", NULL, NULL);
    int rc = ctl_restart(&t, "bot-1");
    bpt_assert(t.env, rc == 5, "botpulse-ctl restart without a key: exit %d (want 5)", rc);
    free(t.out);
    bpt_assert(t.env, bpt_stack_stop(&t.s) == 0, "a daemon did not shut down cleanly");
}

static void test_intended_stopped_raises_nothing(void **state)
{
    struct t t = {.env = *state};
    struct bpt_stack_opts o = {.bots = {"bot-1"}, .http_extra = "token = " TOKEN "\n"};
    bpt_assert(t.env, bpt_stack_start(t.env, &o, &t.s) == 0, "stack did not start");
    snprintf(t.url, sizeof(t.url), "http://127.0.0.1:%d", t.s.http_port);
    struct bpt_rec *rec = bpt_rec_new(t.env, BPT_ROOT "/#");
    bpt_assert(t.env, rec, "recorder did not connect");
    bpt_assert(t.env, bpt_stack_wait_status(&t.s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
    int rc = ctl(&t, "bot", "bot-1", "--json");
    bpt_assert(t.env,
               rc == 0 && strstr(t.out, "\"intended\":\"running\"") &&
                   strstr(t.out, "\"intended_by\":\"config\""),
               "GET /bots/bot-1 before: exit %d: %s", rc, t.out);

    expect_post(&t, 401, "bearer", "/bots/bot-1/intended", NULL, "{\"state\":\"stopped\"}");
    expect_post(&t, 400, "empty body", "/bots/bot-1/intended", TOKEN, NULL);
    expect_post(&t, 400, "'state'", "/bots/bot-1/intended", TOKEN, "{\"state\":\"paused\"}");
    expect_post(&t, 400, "'state'", "/bots/bot-1/intended", TOKEN, "{}");
    expect_post(&t, 400, "unknown member 'bot'", "/bots/bot-1/intended", TOKEN,
                "{\"state\":\"stopped\",\"bot\":\"bot-2\"}");
    expect_post(&t, 400, "JSON object", "/bots/bot-1/intended", TOKEN, "\"stopped\"");
    expect_post(&t, 400, "invalid bot id", "/bots/b%24/intended", TOKEN, "{\"state\":\"stopped\"}");
    expect_post(&t, 404, "no bot 'ghost'", "/bots/ghost/intended", TOKEN,
                "{\"state\":\"stopped\"}");

    rc = ctl(&t, "intend", "bot-1", "stopped");
    bpt_assert(t.env, rc == 0 && strstr(t.out, "intended:       stopped (by operator)"),
               "botpulse-ctl intend: exit %d: %s", rc, t.out);
    bpt_rec_clear(rec);
    bpt_assert(t.env, bpt_signal(t.env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(t.env, bpt_stack_wait_status(&t.s, rec, "bot-1", "stopped", 10000) == 0,
               "bot-1 not reported stopped");
    rc = ctl(&t, "bot", "bot-1", "--json");
    bpt_assert(t.env,
               rc == 0 && strstr(t.out, "stopped, as intended") &&
                   strstr(t.out, "\"intended_by\":\"operator\"") && strstr(t.out, "\"alert\":null"),
               "a dead bot intended stopped: exit %d: %s", rc, t.out);
    const char *opened[] = {"\"event\":\"opened\"", NULL};
    bpt_assert(t.env, bpt_rec_count(rec, BPT_ROOT "/alerts/+/bot-1", opened) == 0,
               "an alert for a bot intended stopped");
    const char *p[] = {"bot-1"};
    int64_t rows = bpt_pg_wait_int(t.env, 1, 10000,
                                   "SELECT count(*) FROM bot_intents WHERE bot_id = $1 AND "
                                   "intended = 'stopped'",
                                   1, p);
    bpt_assert(t.env, rows == 1, "no bot_intents row for bot-1 (%lld)", (long long)rows);

    /* a restarted collector takes the intent back from PostgreSQL */
    bpt_assert(t.env, bpt_signal(t.env, "collector", SIGTERM) == 0, "no collector");
    int ws = bpt_wait_exit(t.env, "collector", 10000);
    bpt_assert(t.env, ws >= 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "collector did not exit 0");
    bpt_assert(t.env, bpt_stack_start_collector(&t.s) == 0, "collector did not restart");
    bool judged = false;
    for (int i = 0; i < 40 && !judged; i++) {
        rc = ctl(&t, "bot", "bot-1", "--json");
        judged = rc == 0 && strstr(t.out, "stopped, as intended") &&
                 strstr(t.out, "\"intended_by\":\"operator\"");
        if (!judged)
            usleep(250000);
    }
    bpt_assert(t.env, judged, "after a collector restart bot-1 is not intended stopped: %s", t.out);
    bpt_assert(t.env, bpt_rec_count(rec, BPT_ROOT "/alerts/+/bot-1", opened) == 0,
               "an alert for a bot intended stopped after the collector's restart");

    expect_post(&t, 200, "\"intended\":\"running\"", "/bots/bot-1/intended", TOKEN,
                "{\"state\":\"running\"}");
    char *m = bpt_rec_wait(rec, BPT_ROOT "/alerts/+/bot-1", opened, 10000);
    bpt_assert(t.env, m, "no alert once the dead bot is intended running again");
    free(m);

    /* the chart data (after the intent: a trade would make a bot intended stopped degraded):
     * a trade shows in its 10-minute bucket; bad ranges are 400 */
    bpt_assert(t.env, bpt_stack_trade(&t.s, "bot-1", "chart-trade-1") == 0, "trade not sent");
    bool counted = false;
    for (int i = 0; i < 40 && !counted; i++) {
        counted = get(&t, "/bots/bot-1/samples") == 200 && strstr(t.out, "\"count\":1");
        if (!counted)
            usleep(250000);
    }
    bpt_assert(t.env,
               counted && strstr(t.out, "\"bucket_ms\":600000") && strstr(t.out, "\"samples\":["),
               "GET /bots/bot-1/samples lacks the trade: %s", t.out);
    expect_get(&t, 200, "\"trades\":[]", "/bots/ghost/samples");
    expect_get(&t, 400, "'from' must be before 'to'", "/bots/bot-1/samples?from=20&to=10");
    expect_get(&t, 400, "at most 7 days", "/bots/bot-1/samples?from=1&to=1700000000000");
    expect_get(&t, 400, "parameter 'to'", "/bots/bot-1/samples?to=soon");
    expect_get(&t, 400, "unknown parameter", "/bots/bot-1/samples?bucket=5");
    expect_get(&t, 400, "invalid bot id", "/bots/b%24/samples");

    bpt_rec_free(rec);
    free(t.out);
    bpt_assert(t.env, bpt_stack_stop(&t.s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_operator_restart_reaches_the_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_signing_key_is_409, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intended_stopped_raises_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
