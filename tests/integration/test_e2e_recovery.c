/* SPDX-License-Identifier: MIT */
/* End to end, recovery: a killed bot restarted through a signed command and healthy again
 * (command and result rows in PostgreSQL); a bot that dies after every start, given up on with
 * exactly one manual-intervention alert; crafted commands (forged, expired, replayed, action not
 * configured) refused, reported and nothing run. Real mosquitto, PostgreSQL, collector and
 * agent. (The shipped broker ACL has its own test: test_e2e_broker.c.) */
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
#include <unistd.h>

#include "clock.h"
#include "msg.h"
#include "sign.h"

#define CMD_TOPIC BPT_ROOT "/agents/agent-1/commands"
#define RESULT_TOPIC BPT_ROOT "/agents/agent-1/results"

BPT_ENV_FIXTURE("recovery")

struct keys {
    uint8_t pk[BP_SIGN_PK_BYTES], sk[BP_SIGN_SK_BYTES];
    char pkhex[2 * BP_SIGN_PK_BYTES + 1];
    const char *sk_file;
    char agent_extra[256];
};

static void make_keys(struct bpt_env *env, struct keys *k)
{
    char skhex[2 * BP_SIGN_SK_BYTES + 1];
    bpt_assert(env, bp_sign_keypair(k->pk, k->sk) == 0, "keypair");
    bp_hex_encode(k->pk, sizeof(k->pk), k->pkhex);
    bp_hex_encode(k->sk, sizeof(k->sk), skhex);
    k->sk_file = bpt_write_secret(env, "signing.key", "%s\n", skhex);
    bpt_assert(env, k->sk_file, "cannot write the key");
    snprintf(k->agent_extra, sizeof(k->agent_extra),
             "command_public_key = %s\ncommand_timeout = 10s\n", k->pkhex);
}

/* A restart command line for the agent: starts a new stand-in bot that lives `life` seconds
 * and writes its pid file. Run without a shell by the agent: /bin/sh is the program. */
static const char *restart_line(struct bpt_env *env, const char *bot, const char *life)
{
    char name[64];
    snprintf(name, sizeof(name), "restart-%s.sh", bot);
    const char *script = bpt_write_file(env, name,
                                        "#!/bin/sh\nsleep %s </dev/null >/dev/null 2>&1 &\n"
                                        "echo $! > \"$1\"\necho \"started $!\"\n",
                                        life);
    bpt_assert(env, script, "cannot write %s", name);
    static char line[4][600];
    static int next;
    char *l = line[next++ % 4];
    snprintf(l, 600, "/bin/sh %s %s/%s.pid", script, bpt_env_dir(env), bot);
    return l;
}

/* Kills the stand-in bot a restart script started (the fixture only knows its own children). */
static void kill_pidfile(struct bpt_env *env, const char *bot)
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
    if (pid > 1 && pid != (int)bpt_pid(env, "bot-bot-1") && pid != (int)bpt_pid(env, "bot-bot-2"))
        kill(pid, SIGKILL);
}

static char *wait_msg(struct bpt_rec *rec, const char *topic, const char *a, const char *b,
                      const char *c, int64_t ms)
{
    const char *needles[] = {a, b, c, NULL};
    return bpt_rec_wait(rec, topic, needles, ms);
}

static void test_killed_bot_is_restarted_by_command(void **state)
{
    struct bpt_env *env = *state;
    struct keys k;
    make_keys(env, &k);
    char bot_extra[800], collector_extra[800];
    snprintf(bot_extra, sizeof(bot_extra), "restart = %s\n", restart_line(env, "bot-1", "100000"));
    snprintf(collector_extra, sizeof(collector_extra),
             "[recovery]\nsigning_key_file = %s\nladder = restart\nmin_interval = 1s\n"
             "recovery_deadline = 10s\n",
             k.sk_file);
    struct bpt_stack_opts o = {.bots = {"bot-1"},
                               .bot_extra = {bot_extra},
                               .agent_extra = k.agent_extra,
                               .collector_extra = collector_extra};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 10000) == 0,
               "bot-1 not reported stopped");
    char *cmd = wait_msg(rec, CMD_TOPIC, "\"type\":\"command\"", "\"bot\":\"bot-1\"",
                         "\"action\":\"restart\"", 15000);
    bpt_assert(env, cmd, "no restart command on %s", CMD_TOPIC);
    char *res = wait_msg(rec, RESULT_TOPIC, "\"type\":\"command_result\"", "\"outcome\":\"ok\"",
                         "\"action\":\"restart\"", 15000);
    bpt_assert(env, res, "no ok result on %s", RESULT_TOPIC);
    bpt_rec_clear(rec);
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 not healthy after the restart");
    fprintf(stderr, "command: %s\nresult: %s\n", cmd, res);
    free(cmd);
    free(res);
    const char *p[] = {"bot-1"};
    int64_t n = bpt_pg_wait_int(env, 1, 10000,
                                "SELECT count(*) FROM commands c JOIN command_results r "
                                "ON r.nonce = c.nonce WHERE c.bot_id = $1 AND c.action = 'restart' "
                                "AND r.outcome = 'ok' AND r.exit_code = 0",
                                1, p);
    bpt_assert(env, n == 1, "expected 1 restart command with an ok result in PostgreSQL, got %lld",
               (long long)n);
    n = bpt_pg_wait_int(env, 1, 10000,
                        "SELECT count(*) FROM status_transitions WHERE bot_id = $1 AND "
                        "from_status = 'stopped' AND to_status = 'healthy'",
                        1, p);
    bpt_assert(env, n == 1, "no stopped -> healthy transition (%lld)", (long long)n);
    /* the incident, death to recovered, as PostgreSQL saw it (for the closing note) */
    char *timeline = bpt_pg_text(
        env,
        "SELECT string_agg(e, E'\\n' ORDER BY t) FROM ("
        " SELECT ts t, to_char(ts, 'HH24:MI:SS.MS') || ' transition ' || from_status || ' -> ' "
        "   || to_status e FROM status_transitions WHERE bot_id = $1 AND ts > now() - interval "
        "'5 min' UNION ALL"
        " SELECT ts, to_char(ts, 'HH24:MI:SS.MS') || ' command ' || action || ' ' || nonce "
        "   FROM commands WHERE bot_id = $1 UNION ALL"
        " SELECT received_at, to_char(received_at, 'HH24:MI:SS.MS') || ' result ' || outcome || "
        "   ' exit ' || exit_code || ' in ' || duration_ms || ' ms' FROM command_results "
        "   WHERE bot_id = $1) x",
        1, p);
    fprintf(stderr, "incident timeline (PostgreSQL):\n%s\n", timeline ? timeline : "?");
    free(timeline);
    const char *manual[] = {"\"check\":\"recovery\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/alerts/+/bot-1", manual) == 0,
               "a manual-intervention alert for a recovered bot");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
    kill_pidfile(env, "bot-1");
}

static void test_crash_looping_bot_is_given_up_once(void **state)
{
    struct bpt_env *env = *state;
    struct keys k;
    make_keys(env, &k);
    char bot_extra[1400], collector_extra[800];
    const char *line = restart_line(env, "bot-1", "1");
    snprintf(bot_extra, sizeof(bot_extra), "restart = %s\nhard_restart = %s\n", line, line);
    snprintf(collector_extra, sizeof(collector_extra),
             "[recovery]\nsigning_key_file = %s\nladder = restart,hard_restart\n"
             "min_interval = 1s\nrecovery_deadline = 5s\nmax_restarts = 3\n",
             k.sk_file);
    struct bpt_stack_opts o = {.bots = {"bot-1"},
                               .bot_extra = {bot_extra},
                               .agent_extra = k.agent_extra,
                               .collector_extra = collector_extra};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    /* restart, then hard_restart as it flaps, then hard_restart again (the top rung once more,
     * docs/recovery.md) until max_restarts: the budget gives up, once */
    char *m = wait_msg(rec, BPT_ROOT "/alerts/critical/bot-1", "\"check\":\"recovery\"",
                       "\"event\":\"opened\"", "restart budget spent", 45000);
    bpt_assert(env, m, "no manual-intervention alert for the crash-looping bot");
    free(m);
    bp_sleep_ms(4000); /* well past min_interval and the deadline: nothing more may be sent */
    const char *cmds[] = {"\"type\":\"command\"", NULL};
    int sent = bpt_rec_count(rec, CMD_TOPIC, cmds);
    bpt_assert(env, sent == 3, "expected 3 commands (restart, hard_restart x2), saw %d", sent);
    const char *manual[] = {"\"check\":\"recovery\"", "\"event\":\"opened\"", NULL};
    int alerts = bpt_rec_count(rec, BPT_ROOT "/alerts/+/bot-1", manual);
    bpt_assert(env, alerts == 1, "expected exactly 1 manual-intervention alert, saw %d", alerts);
    const char *p[] = {"bot-1"};
    int64_t n =
        bpt_pg_wait_int(env, 3, 10000, "SELECT count(*) FROM commands WHERE bot_id = $1", 1, p);
    bpt_assert(env, n == 3, "expected 3 command rows, got %lld", (long long)n);
    n = bpt_pg_wait_int(env, 1, 10000,
                        "SELECT count(*) FROM alert_events WHERE bot_id = $1 AND "
                        "check_name = 'recovery' AND event = 'opened' AND severity = 'critical'",
                        1, p);
    bpt_assert(env, n == 1, "expected 1 recovery alert row, got %lld", (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
    kill_pidfile(env, "bot-1");
}

/* A command for agent-1's bot-1 signed with sk, valid from ts for ttl ms. */
static char *craft(const uint8_t *sk, const char *action, const char *nonce, int64_t ts,
                   int64_t ttl)
{
    struct bp_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr.v = BP_PROTO_VERSION;
    m.hdr.type = BP_MSG_COMMAND;
    snprintf(m.hdr.agent, sizeof(m.hdr.agent), "agent-1");
    snprintf(m.hdr.bot, sizeof(m.hdr.bot), "bot-1");
    m.hdr.ts = ts;
    snprintf(m.u.command.action, sizeof(m.u.command.action), "%s", action);
    snprintf(m.u.command.nonce, sizeof(m.u.command.nonce), "%s", nonce);
    m.u.command.expires = ts + ttl;
    if (bp_sign_command(&m, sk) != 0)
        return NULL;
    return bp_msg_encode(&m);
}

static void publish_cmd(struct bpt_env *env, const char *json)
{
    bpt_assert(env, json, "could not craft a command");
    bpt_assert(env, bpt_publish(env, CMD_TOPIC, json, strlen(json), 1, false) == 0,
               "could not publish the command");
}

static void expect_refused(struct bpt_env *env, struct bpt_rec *rec, const char *nonce,
                           const char *reason)
{
    char n[96];
    snprintf(n, sizeof(n), "\"nonce\":\"%s\"", nonce);
    char *m = wait_msg(rec, RESULT_TOPIC, n, "\"outcome\":\"refused\"", reason, 10000);
    bpt_assert(env, m, "no refused result with '%s' for nonce %s", reason, nonce);
    free(m);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, ch;
    if (!f)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void test_crafted_commands_are_refused_and_run_nothing(void **state)
{
    struct bpt_env *env = *state;
    struct keys k, other;
    make_keys(env, &k);
    bpt_assert(env, bp_sign_keypair(other.pk, other.sk) == 0, "keypair");
    const char *mark = bpt_write_file(env, "mark.sh", "#!/bin/sh\necho run >> \"$1\"\n");
    bpt_assert(env, mark, "cannot write mark.sh");
    char marks[700], bot_extra[1600];
    snprintf(marks, sizeof(marks), "%s/marks", bpt_env_dir(env));
    snprintf(bot_extra, sizeof(bot_extra), "reconnect = /bin/sh %s %s\n", mark, marks);
    struct bpt_stack_opts o = {
        .bots = {"bot-1"}, .bot_extra = {bot_extra}, .agent_extra = k.agent_extra};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, RESULT_TOPIC);
    bpt_assert(env, rec, "recorder did not connect");
    int64_t now = bp_wall_ms();

    /* a valid one runs, once */
    char *good = craft(k.sk, "reconnect", "0123456789abcdef0001", now, 60000);
    publish_cmd(env, good);
    char *m = wait_msg(rec, RESULT_TOPIC, "\"nonce\":\"0123456789abcdef0001\"",
                       "\"outcome\":\"ok\"", "\"bot\":\"bot-1\"", 10000);
    bpt_assert(env, m, "the valid command did not run");
    free(m);
    bpt_assert(env, count_lines(marks) == 1, "the valid command ran %d times", count_lines(marks));
    /* the same bytes again: a replay */
    publish_cmd(env, good);
    expect_refused(env, rec, "0123456789abcdef0001", "replayed nonce");
    free(good);
    /* signed with a key the agent does not trust */
    char *forged = craft(other.sk, "reconnect", "0123456789abcdef0002", now, 60000);
    publish_cmd(env, forged);
    free(forged);
    expect_refused(env, rec, "0123456789abcdef0002", "bad signature");
    /* validly signed, but expired a minute ago */
    char *expired = craft(k.sk, "reconnect", "0123456789abcdef0003", now - 120000, 60000);
    publish_cmd(env, expired);
    free(expired);
    expect_refused(env, rec, "0123456789abcdef0003", "expired");
    /* validly signed, but the agent's config gives hard_restart no command line */
    char *unknown = craft(k.sk, "hard_restart", "0123456789abcdef0004", now, 60000);
    publish_cmd(env, unknown);
    free(unknown);
    expect_refused(env, rec, "0123456789abcdef0004", "not configured");

    bpt_assert(env, count_lines(marks) == 1, "a refused command ran (%d runs)", count_lines(marks));
    int64_t n = bpt_pg_wait_int(env, 4, 10000,
                                "SELECT count(*) FROM command_results WHERE outcome = 'refused' "
                                "AND exit_code = -1",
                                0, NULL);
    bpt_assert(env, n == 4, "expected 4 refused results in PostgreSQL, got %lld", (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
    char log[700], *text = NULL;
    snprintf(log, sizeof(log), "%s/agent.log", bpt_env_dir(env));
    char *argv[] = {"/bin/grep", "-c", "refused", log, NULL};
    bpt_assert(env, bpt_run(env, argv, 5000, &text) == 0 && text && atoi(text) >= 4,
               "refusals not logged by the agent (%s)", text ? text : "?");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_bot_is_restarted_by_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_looping_bot_is_given_up_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crafted_commands_are_refused_and_run_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
