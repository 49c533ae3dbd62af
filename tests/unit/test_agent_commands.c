/* SPDX-License-Identifier: MIT */
/* The agent's command checks: signature, expiry and skew, nonces (also across a restart),
 * bot and action from its own config, rate limit. Nothing here runs a command line. */
#include "agent_commands.h"

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

#include "agent_config.h"
#include "sign.h"

#define NOW 1767225601234LL
#define MONO 5000000LL

struct fx {
    struct agent_config cfg;
    uint8_t sk[BP_SIGN_SK_BYTES];
    char dir[64];
    struct agent_commands *c;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    snprintf(x->dir, sizeof(x->dir), "/tmp/bp-test-cmds-XXXXXX");
    if (!x || !mkdtemp(x->dir))
        return -1;
    struct agent_config *cfg = &x->cfg;
    snprintf(cfg->id, sizeof(cfg->id), "agent-1");
    snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", x->dir);
    cfg->command_timeout_ms = 10000;
    cfg->command_max_per_hour = 2;
    cfg->command_skew_ms = 30000;
    cfg->command_max_ttl_ms = 3600000;
    cfg->has_command_key = true;
    if (bp_sign_keypair(cfg->command_pk, x->sk) != 0)
        return -1;
    cfg->nbots = 1;
    snprintf(cfg->bots[0].name, sizeof(cfg->bots[0].name), "bot-1");
    snprintf(cfg->bots[0].actions[AGENT_ACT_RESTART], AGENT_PATH_MAX, "/bin/true");
    *state = x;
    return agent_commands_new(cfg, NOW, &x->c);
}

static int teardown(void **state)
{
    struct fx *x = *state;
    char path[128];
    agent_commands_free(x->c);
    snprintf(path, sizeof(path), "%s/command-nonces", x->dir);
    unlink(path);
    rmdir(x->dir);
    free(x);
    return 0;
}

static char *craft(const uint8_t *sk, const char *agent, const char *bot, const char *action,
                   const char *nonce, int64_t ts, int64_t ttl)
{
    struct bp_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr.type = BP_MSG_COMMAND;
    snprintf(m.hdr.agent, sizeof(m.hdr.agent), "%s", agent);
    snprintf(m.hdr.bot, sizeof(m.hdr.bot), "%s", bot);
    m.hdr.ts = ts;
    snprintf(m.u.command.action, sizeof(m.u.command.action), "%s", action);
    snprintf(m.u.command.nonce, sizeof(m.u.command.nonce), "%s", nonce);
    m.u.command.expires = ts + ttl;
    assert_int_equal(bp_sign_command(&m, sk), 0);
    char *json = bp_msg_encode(&m);
    assert_non_null(json);
    return json;
}

/* Checks json at NOW; returns 0 or -EPERM and the reason. */
static int check(struct fx *x, const char *json, int64_t mono, char *reason)
{
    struct bp_command_result res;
    char bot[BP_ID_MAX + 1];
    int b;
    enum agent_action a;
    int rc = agent_commands_check(x->c, json, strlen(json), mono, NOW, &b, &a, &res, bot);
    snprintf(reason, 160, "%s", res.reason);
    if (rc == 0) {
        assert_int_equal(b, 0);
        assert_string_equal(res.outcome, "ok");
    } else {
        assert_string_equal(res.outcome, "refused");
        assert_int_equal(res.exit_code, -1);
    }
    return rc;
}

static void expect(struct fx *x, char *json, int want_rc, const char *want_reason)
{
    char reason[160];
    int rc = check(x, json, MONO, reason);
    if (rc != want_rc || (want_reason && !strstr(reason, want_reason)))
        fail_msg("want %d '%s', got %d '%s' for %s", want_rc, want_reason ? want_reason : "", rc,
                 reason, json);
    free(json);
}

static void test_valid_then_replayed(void **state)
{
    struct fx *x = *state;
    char *json = craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000001", NOW, 60000);
    char reason[160];
    assert_int_equal(check(x, json, MONO, reason), 0);
    assert_int_equal(check(x, json, MONO, reason), -EPERM);
    assert_string_equal(reason, "replayed nonce");
    /* a restarted agent remembers it */
    agent_commands_free(x->c);
    assert_int_equal(agent_commands_new(&x->cfg, NOW, &x->c), 0);
    assert_int_equal(check(x, json, MONO, reason), -EPERM);
    assert_string_equal(reason, "replayed nonce");
    free(json);
}

static void test_refusals(void **state)
{
    struct fx *x = *state;
    uint8_t pk[BP_SIGN_PK_BYTES], other[BP_SIGN_SK_BYTES];
    assert_int_equal(bp_sign_keypair(pk, other), 0);
    expect(x, craft(other, "agent-1", "bot-1", "restart", "nonce-000000000002", NOW, 60000), -EPERM,
           "bad signature");
    expect(x,
           craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000003", NOW - 200000, 60000),
           -EPERM, "expired");
    /* within the skew: still fine */
    expect(x, craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000004", NOW - 80000, 60000),
           0, NULL);
    expect(x,
           craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000005", NOW + 120000, 60000),
           -EPERM, "future");
    expect(x, craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000006", NOW, 7200000),
           -EPERM, "validity");
    expect(x, craft(x->sk, "agent-2", "bot-1", "restart", "nonce-000000000007", NOW, 60000), -EPERM,
           "addressed to agent agent-2");
    expect(x, craft(x->sk, "agent-1", "bot-9", "restart", "nonce-000000000008", NOW, 60000), -EPERM,
           "unknown bot");
    expect(x, craft(x->sk, "agent-1", "bot-1", "hard_restart", "nonce-000000000009", NOW, 60000),
           -EPERM, "not configured");
    expect(x, craft(x->sk, "agent-1", "bot-1", "format_disk", "nonce-000000000010", NOW, 60000),
           -EPERM, "not configured");
    char reason[160];
    assert_int_equal(check(x, "{\"v\":1,\"type\":\"command\"}", MONO, reason), -EPERM);
    assert_non_null(strstr(reason, "malformed"));
}

static void test_rate_limit(void **state)
{
    struct fx *x = *state;
    /* 2 per hour; the one from test_refusals' skew case does not exist in this fixture */
    expect(x, craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000011", NOW, 60000), 0,
           NULL);
    expect(x, craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000012", NOW, 60000), 0,
           NULL);
    expect(x, craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000013", NOW, 60000), -EPERM,
           "rate limited");
    /* an hour later there is room again */
    char *json = craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000014", NOW, 60000);
    char reason[160];
    assert_int_equal(check(x, json, MONO + 3600001, reason), 0);
    free(json);
}

static const char *nonce_path(const struct fx *x)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/command-nonces", x->dir);
    return path;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* The nonce file says which commands ran: 0600 whatever the umask, also once rewritten, and
 * one that was left 0644 by an older agent is made 0600 at start. */
static void test_nonce_file_is_private(void **state)
{
    struct fx *x = *state;
    mode_t old = umask(022);
    char reason[160];
    for (int i = 0; i < 80; i++) { /* past 64 appends the file is rewritten */
        char nonce[32];
        snprintf(nonce, sizeof(nonce), "nonce-%012d", 100 + i);
        char *json = craft(x->sk, "agent-1", "bot-1", "restart", nonce, NOW, 60000);
        check(x, json, MONO + i * 3600001LL, reason);
        free(json);
        assert_int_equal(mode_of(nonce_path(x)), 0600);
    }
    agent_commands_free(x->c);
    x->c = NULL;
    assert_int_equal(chmod(nonce_path(x), 0644), 0);
    assert_int_equal(agent_commands_new(&x->cfg, NOW, &x->c), 0);
    assert_int_equal(mode_of(nonce_path(x)), 0600);
    umask(old);
}

/* A line that does not read back refuses the start: skipped, it would let its command run
 * again. */
static void test_corrupted_nonce_file_refuses_start(void **state)
{
    struct fx *x = *state;
    char *json = craft(x->sk, "agent-1", "bot-1", "restart", "nonce-000000000021", NOW, 60000);
    char reason[160];
    assert_int_equal(check(x, json, MONO, reason), 0);
    agent_commands_free(x->c);
    x->c = NULL;
    static const char *const bad[] = {
        "nonce-000000000021 1767225661234\ngarbage\n",
        "nonce-000000000021 17672256612\xff"
        "4\n",
        "nonce-000000000021 1767225661234\nnonce-0000000000", /* torn, no newline */
        "short 1767225661234\n",
        "nonce-000000000021  1767225661234\n",
        "nonce-000000000021 1767225661234 extra\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FILE *f = fopen(nonce_path(x), "w");
        assert_non_null(f);
        fputs(bad[i], f);
        fclose(f);
        struct agent_commands *c = NULL;
        if (agent_commands_new(&x->cfg, NOW, &c) != -EBADMSG)
            fail_msg("the agent started on a corrupted nonce file: '%s'", bad[i]);
        assert_null(c);
    }
    /* the intact file: the agent starts and still refuses the replay */
    FILE *f = fopen(nonce_path(x), "w");
    assert_non_null(f);
    fputs("nonce-000000000021 1767225691234\n", f);
    fclose(f);
    assert_int_equal(agent_commands_new(&x->cfg, NOW, &x->c), 0);
    assert_int_equal(check(x, json, MONO, reason), -EPERM);
    assert_string_equal(reason, "replayed nonce");
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_then_replayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_file_is_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_nonce_file_refuses_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
