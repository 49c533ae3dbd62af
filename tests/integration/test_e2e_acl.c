/* SPDX-License-Identifier: MIT */
/* The shipped broker ACL (deploy/mosquitto/botpulse.acl) on a real mosquitto: each agent
 * writes only its own topics and reads only its own commands, only the collector sends
 * commands, and the alert subscribers' account only reads. Each account is a recorder logged
 * in as that user. */
#include "stack.h"

#include "clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD "secret-pw"

BPT_ENV_FIXTURE("acl")

/* The accounts the ACL names, in a password file the broker reads. */
static void secure_broker(struct bpt_env *env)
{
    const char *pw = bpt_write_file(env, "passwd", "%s", "");
    bpt_assert(env, pw, "cannot write passwd");
    const char *users[] = {"agent-a", "agent-b", "collector@botpulse", "alerts@botpulse"};
    for (int i = 0; i < 4; i++) {
        char *argv[] = {
            "/usr/bin/mosquitto_passwd", "-b", (char *)pw, (char *)users[i], PASSWORD, NULL};
        bpt_assert(env, bpt_run(env, argv, 10000, NULL) == 0, "mosquitto_passwd %s", users[i]);
    }
    bpt_assert(env, bpt_broker_secure(env, pw, BP_SOURCE_DIR "/deploy/mosquitto/botpulse.acl") == 0,
               "secure");
    bpt_assert(env, bpt_broker_start(env) == 0, "broker did not start with the ACL");
}

/* A recorder logged in as user, reading filters (NULL-terminated). */
static struct bpt_rec *as(struct bpt_env *env, const char *user, const char *const *filters)
{
    struct bpt_rec *rec = bpt_rec_new_as(env, user, PASSWORD, filters);
    bpt_assert(env, rec, "%s could not connect and subscribe", user);
    return rec;
}

static void pub(struct bpt_env *env, struct bpt_rec *rec, const char *topic, const char *body)
{
    bpt_assert(env, bpt_rec_publish(rec, topic, body) == 0, "publish %s", topic);
}

/* Whether rec got a message whose payload is body, waiting up to ms. */
static bool got(struct bpt_rec *rec, const char *body, int64_t ms)
{
    const char *needles[] = {body, NULL};
    char *m = bpt_rec_wait(rec, "#", needles, ms);
    bool ok = m != NULL;
    free(m);
    return ok;
}

static void test_acl_confines_each_agent(void **state)
{
    struct bpt_env *env = *state;
    secure_broker(env);
    const char *col_reads[] = {BPT_ROOT "/agents/#", NULL};
    const char *b_reads[] = {BPT_ROOT "/agents/agent-b/commands", NULL};
    const char *a_reads[] = {BPT_ROOT "/agents/agent-b/commands",
                             BPT_ROOT "/agents/agent-a/commands", NULL};
    const char *ro_reads[] = {BPT_ROOT "/alerts/#", NULL};
    struct bpt_rec *col = as(env, "collector@botpulse", col_reads);
    struct bpt_rec *b = as(env, "agent-b", b_reads);
    struct bpt_rec *a = as(env, "agent-a", a_reads);
    struct bpt_rec *ro = as(env, "alerts@botpulse", ro_reads);

    pub(env, a, BPT_ROOT "/agents/agent-b/bots/x/heartbeat", "forged-by-a");
    pub(env, a, BPT_ROOT "/agents/agent-b/state", "forged-state-by-a");
    pub(env, a, BPT_ROOT "/agents/agent-a/commands", "self-command-by-a");
    pub(env, ro, BPT_ROOT "/alerts/critical/x", "alert-by-readonly");
    pub(env, a, BPT_ROOT "/agents/agent-a/bots/x/heartbeat", "legit-a");
    pub(env, col, BPT_ROOT "/agents/agent-b/commands", "cmd-for-b");
    pub(env, col, BPT_ROOT "/agents/agent-a/commands", "cmd-for-a");
    pub(env, col, BPT_ROOT "/alerts/critical/x", "alert-by-collector");

    bpt_assert(env, got(col, "legit-a", 5000), "collector did not get agent-a's own message");
    bpt_assert(env, got(b, "cmd-for-b", 5000), "agent-b did not get its command");
    bpt_assert(env, got(a, "cmd-for-a", 5000), "agent-a did not get its command");
    bpt_assert(env, got(ro, "alert-by-collector", 5000), "read-only account got no alert");
    bp_sleep_ms(500); /* what the ACL refused would have come before these */
    bpt_assert(env, !got(col, "forged-by-a", 0), "agent-a wrote into agent-b's bot topics");
    bpt_assert(env, !got(col, "forged-state-by-a", 0), "agent-a wrote agent-b's state");
    bpt_assert(env, !got(col, "self-command-by-a", 0) && !got(a, "self-command-by-a", 0),
               "agent-a wrote its own commands topic");
    bpt_assert(env, !got(a, "cmd-for-b", 0), "agent-a read agent-b's commands");
    bpt_assert(env, !got(ro, "alert-by-readonly", 0), "the read-only account published an alert");
    bpt_rec_free(a);
    bpt_rec_free(b);
    bpt_rec_free(col);
    bpt_rec_free(ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acl_confines_each_agent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
