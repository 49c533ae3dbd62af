/* SPDX-License-Identifier: MIT */
/* End to end, SIGHUP: the agent re-reads agent.ini without restarting or dropping its MQTT
 * session. A bot added to the file is reported and turns healthy on the collector; a broken
 * file, or one changing a key that needs a restart, is refused (file, line and key logged)
 * and the agent keeps watching its bots. */
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

BPT_ENV_FIXTURE("reload")

/* Waits until the agent's log (stdout+stderr in <dir>/agent.log) contains needle. */
static bool agent_log_has(struct bpt_env *env, const char *needle, int timeout_ms)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/agent.log", bpt_env_dir(env));
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        FILE *f = fopen(path, "r");
        char line[1024];
        bool hit = false;
        while (f && !hit && fgets(line, sizeof(line), f))
            hit = strstr(line, needle) != NULL;
        if (f)
            fclose(f);
        if (hit)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

/* A heartbeat for bot arrives from now on, alive with its stand-in's pid. */
static void expect_heartbeat(struct bpt_env *env, struct bpt_rec *rec, const char *bot)
{
    char topic[128], pid[64];
    snprintf(topic, sizeof(topic), BPT_ROOT "/agents/agent-1/bots/%s/heartbeat", bot);
    char name[64];
    snprintf(name, sizeof(name), "bot-%s", bot);
    snprintf(pid, sizeof(pid), "\"pid\":%d", (int)bpt_pid(env, name));
    const char *needles[] = {"\"alive\":true", pid, NULL};
    bpt_rec_clear(rec);
    char *m = bpt_rec_wait(rec, topic, needles, 5000);
    bpt_assert(env, m, "no fresh heartbeat for %s (with %s) after the reload", bot, pid);
    free(m);
}

static void test_reload(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_stack_opts o = {.mqtt_extra = BPT_UNBATCHED, .bots = {"bot-1"}};
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 not healthy");
    pid_t agent = bpt_pid(env, "agent");

    /* bot-2 added to the file: SIGHUP, and the collector sees it. */
    bpt_assert(env, bpt_stack_start_bot(&s, "bot-2") == 0, "cannot start bot-2");
    s.opts.bots[1] = "bot-2";
    bpt_assert(env, bpt_stack_write_agent_ini(&s) == 0, "cannot rewrite agent.ini");
    bpt_assert(env, bpt_signal(env, "agent", SIGHUP) == 0, "cannot signal the agent");
    const char *listed[] = {"\"online\":true", "\"bot-1\"", "\"bot-2\"", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/agents/agent-1/state", listed, 10000);
    bpt_assert(env, m, "the agent state was not republished with bot-2");
    free(m);
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-2", "healthy", 15000) == 0,
               "bot-2 not healthy after the reload");
    bpt_assert(env, agent_log_has(env, "1 added, 0 removed, 0 changed, 1 unchanged", 1000),
               "the reload was not logged");
    bpt_assert(env, bpt_pid(env, "agent") == agent, "the agent restarted");

    /* A broken file: refused with file, line and key; both bots still watched. */
    bpt_assert(env, bpt_write_file(env, "agent.ini", "[agent]\nid = agent-1\nbogus = 1\n") != NULL,
               "cannot write agent.ini");
    bpt_assert(env, bpt_signal(env, "agent", SIGHUP) == 0, "cannot signal the agent");
    bpt_assert(env, agent_log_has(env, "agent.ini:3: [agent] bogus: unknown key", 5000),
               "the broken config was not reported with its file, line and key");
    bpt_assert(env, agent_log_has(env, "keeping the running config", 1000),
               "the agent did not say it keeps its config");
    expect_heartbeat(env, rec, "bot-1");
    expect_heartbeat(env, rec, "bot-2");

    /* A key that needs a new MQTT session: refused, a restart is needed. The agent id is also
     * its broker login, so [mqtt] username, checked first, changes with it. */
    s.opts.agent_id = "agent-9";
    bpt_assert(env, bpt_stack_write_agent_ini(&s) == 0, "cannot rewrite agent.ini");
    bpt_assert(env, bpt_signal(env, "agent", SIGHUP) == 0, "cannot signal the agent");
    bpt_assert(env, agent_log_has(env, "[mqtt] username changed: a restart is needed", 5000),
               "a change of agent id (and login) was not refused");
    expect_heartbeat(env, rec, "bot-2");
    bpt_assert(env, bpt_pid(env, "agent") == agent, "the agent restarted");

    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
