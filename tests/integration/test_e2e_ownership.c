/* SPDX-License-Identifier: MIT */
/* End to end, a bot belongs to its agent: under the shipped ACL and per-agent logins, agent-2
 * publishing heartbeats for agent-1's bot under its own topics neither moves the bot nor keeps
 * it alive once agent-1 dies (refused, counted in collector/stats and /metrics, logged), also
 * after a collector restart (the owner comes back from the bots table); an operator moves the
 * bot on purpose with botpulse-ctl, and that survives a restart too. */
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

#include "clock.h"

BPT_ENV_FIXTURE("ownership")

#define TOKEN "owner-token"

/* agent-2's heartbeat naming bot-1, under agent-2's own topic: the ACL lets it through. */
static void forge(struct bpt_env *env, int64_t seq)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"agent-2\",\"bot\":\"bot-1\","
             "\"boot\":\"forger\",\"seq\":%lld,\"ts\":%lld,\"interval_ms\":500,"
             "\"proc\":{\"alive\":true,\"pid\":4242}}",
             (long long)seq, (long long)bp_wall_ms());
    bpt_assert(env,
               bpt_publish(env, BPT_ROOT "/agents/agent-2/bots/bot-1/heartbeat", body, strlen(body),
                           1, false) == 0,
               "agent-2 could not publish");
}

/* Publishes agent-2's heartbeats every 200 ms until bot-1's status has every field (or the
 * timeout passes); true when it came. */
static bool forge_until(struct bpt_env *env, struct bpt_rec *rec, int64_t *seq,
                        const char *const *fields, int64_t timeout_ms)
{
    int64_t end = bp_mono_ms() + timeout_ms;
    while (bp_mono_ms() < end) {
        forge(env, ++*seq);
        char *m = bpt_rec_wait_fields(rec, BPT_ROOT "/status/bot-1", 200, fields);
        if (m) {
            free(m);
            return true;
        }
    }
    return false;
}

/* The collector's latest stats once they count at least one refused foreign claim. */
static bool stats_count_refusal(struct bpt_rec *rec)
{
    const char *needles[] = {"\"claims_refused\":{\"foreign\":", NULL};
    int64_t end = bp_mono_ms() + 10000;
    while (bp_mono_ms() < end) {
        char *m = bpt_rec_wait(rec, BPT_ROOT "/collector/stats", needles, 1000);
        bool counted = m && !strstr(m, "\"foreign\":0");
        free(m);
        if (counted)
            return true;
        bpt_rec_clear(rec);
    }
    return false;
}

static void restart_collector(struct bpt_env *env, struct bpt_stack *s)
{
    bpt_assert(env, bpt_signal(env, "collector", SIGTERM) == 0, "could not stop the collector");
    bpt_assert(env, bpt_wait_exit(env, "collector", 15000) >= 0, "the collector did not stop");
    bpt_assert(env, bpt_stack_start_collector(s) == 0, "the collector did not come back");
}

static void test_another_agent_cannot_take_a_bot(void **state)
{
    struct bpt_env *env = *state;
    bpt_assert(env, bpt_broker_login(env, "agent-2"), "agent-2's login");
    struct bpt_stack s;
    struct bpt_stack_opts o = {.bots = {"bot-1"}, .http_extra = "token = " TOKEN "\n"};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
    int64_t seq = 0;

    /* agent-1 dies (its Will fires) while agent-2 keeps speaking for bot-1: bot-1 is down, and
     * still agent-1's. Before the fix agent-2 took it over and it stayed healthy. */
    bpt_rec_clear(rec);
    bpt_assert(env, bpt_signal(env, "agent", SIGKILL) == 0, "could not kill the agent");
    bpt_assert(env,
               forge_until(env, rec, &seq,
                           (const char *const[]){"status=down", "agent=agent-1", NULL}, 15000),
               "agent-2 kept agent-1's bot alive (or took it over)");
    bpt_assert(env, stats_count_refusal(rec), "collector/stats do not count the refused claims");
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.http_port);
    struct bpt_http r = {0};
    bpt_http(env, &(struct bpt_http_req){.base = url, .path = "/metrics"}, &r);
    bpt_assert(env,
               r.status == 200 &&
                   strstr(r.body, "botpulse_bot_claims_refused_total{reason=\"foreign\"} ") &&
                   !strstr(r.body, "botpulse_bot_claims_refused_total{reason=\"foreign\"} 0\n"),
               "/metrics does not count the refused claims:\n%s", r.body);
    bpt_http_cleanup(&r);
    bpt_assert(env, bpt_log_has(env, "collector", "refused agent agent-2's claim on bot bot-1", 0),
               "the collector did not log the refused claim");

    /* a restart forgets nothing: the owner comes back from the bots table before any claim */
    restart_collector(env, &s);
    bpt_rec_clear(rec);
    bpt_assert(env,
               !forge_until(env, rec, &seq, (const char *const[]){"status=healthy", NULL}, 4000),
               "after a restart agent-2 took agent-1's bot");
    bpt_assert(env, stats_count_refusal(rec), "the restarted collector lets agent-2 claim bot-1");

    /* the operator moves bot-1 to agent-2 on purpose: then agent-2 speaks for it */
    char *out = NULL;
    int rc = bpt_ctl(env, &out, url, TOKEN, "move", "bot-1", "agent-2", NULL);
    bpt_assert(env, rc == 0 && strstr(out, "agent-2"), "ctl move: exit %d: %s", rc, out);
    free(out);
    bpt_rec_clear(rec);
    bpt_assert(env,
               forge_until(env, rec, &seq,
                           (const char *const[]){"status=healthy", "agent=agent-2", NULL}, 15000),
               "bot-1 moved by the operator does not take agent-2's heartbeats");
    /* and the move survives a restart (the spool writes the bots row first) */
    bpt_assert(env,
               bpt_pg_wait_int(env, 1, 10000,
                               "SELECT count(*) FROM bots WHERE bot_id = 'bot-1' AND "
                               "agent_id = 'agent-2'",
                               0, NULL) == 1,
               "the move never reached the bots table");
    restart_collector(env, &s);
    bpt_rec_clear(rec);
    bpt_assert(env,
               forge_until(env, rec, &seq,
                           (const char *const[]){"status=healthy", "agent=agent-2", NULL}, 15000),
               "after a restart the operator's move is forgotten");
    bpt_rec_free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_another_agent_cannot_take_a_bot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
