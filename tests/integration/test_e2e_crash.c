/* SPDX-License-Identifier: MIT */
/* End to end, a bot's death seen at once whatever the heartbeat interval: at a 10 s heartbeat
 * (and stats every 60 s, so no periodic look comes to the rescue) a bot killed with SIGKILL
 * right after its heartbeat is reported stopped long before the next one is due (within 2 s;
 * the figure itself is a benchmark's, tests/bench/bench_crash.c). Its next process is found and
 * announced out of turn with proc.restarts 1, and a bot that dies and comes back several times
 * between two heartbeats still shows every restart in the count, which the collector turns
 * into a "restarts" alert and shows in GET /bots/{id}. */
#include "stack.h"

#include <setjmp.h>
#include <stdbool.h>
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
#include "http_client.h"

#define HB_TOPIC BPT_ROOT "/agents/agent-1/bots/bot-1/heartbeat"
#define STOPPED_WITHIN_MS 2000 /* the next heartbeat is 10 s away */

BPT_ENV_FIXTURE("crash")

/* Rewrites agent.ini with stats every 60 s and reloads the agent (SIGHUP), so that only its
 * heartbeat (10 s) and the pidfds look at the bots. */
static void slow_stats(struct bpt_env *env, struct bpt_stack *s)
{
    char text[8192], log[700];
    FILE *f = fopen(s->agent_ini, "r");
    bpt_assert(env, f, "cannot read %s", s->agent_ini);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, "stats = 1s\n");
    bpt_assert(env, at, "agent.ini has no 'stats = 1s'");
    memcpy(at, "stats = 60s", 11); /* one byte longer: shift the rest */
    memmove(at + 11, at + 10, strlen(at + 10) + 1);
    at[11] = '\n';
    f = fopen(s->agent_ini, "w");
    bpt_assert(env, f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write agent.ini");
    bpt_assert(env, bpt_signal(env, "agent", SIGHUP) == 0, "cannot signal the agent");
    snprintf(log, sizeof(log), "%s/agent.log", bpt_env_dir(env));
    static char buf[1 << 20];
    bool reloaded = false;
    for (int i = 0; i < 100 && !reloaded; i++) {
        bp_sleep_ms(100);
        FILE *lf = fopen(log, "r");
        size_t got = lf ? fread(buf, 1, sizeof(buf) - 1, lf) : 0;
        if (lf)
            fclose(lf);
        buf[got] = '\0';
        reloaded = strstr(buf, "reload: ") != NULL;
    }
    bpt_assert(env, reloaded, "the agent did not reload its config");
    bp_sleep_ms(1500); /* the stats tick already due passes; the next is 60 s away */
}

/* Kills bot-1's stand-in and starts the next one (a new pid in its pid file). */
static void restart_bot(struct bpt_env *env, struct bpt_stack *s)
{
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(env, bpt_wait_exit(env, "bot-bot-1", 5000) >= 0, "bot-1 did not die");
    bpt_assert(env, bpt_stack_start_bot(s, "bot-1") == 0, "could not start bot-1 again");
}

static void test_death_seen_at_once_and_restarts_counted(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack_opts o = {
        .mqtt_extra = BPT_UNBATCHED, .bots = {"bot-1", "bot-2"}, .heartbeat = "10s"};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
    slow_stats(env, &s);

    /* Right after a heartbeat, so the next one is 10 s away. */
    bpt_rec_clear(rec);
    const char *any[] = {"\"alive\":true", NULL};
    char *hb = bpt_rec_wait(rec, HB_TOPIC, any, 15000);
    bpt_assert(env, hb, "no heartbeat from bot-1");
    bpt_assert(env, strstr(hb, "\"restarts\":0"), "no restarts count: %s", hb);
    free(hb);
    int64_t t0 = bp_mono_ms();
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    int rc = bpt_stack_wait_status(&s, rec, "bot-1", "stopped", STOPPED_WITHIN_MS);
    int64_t took = bp_mono_ms() - t0;
    bpt_assert(env, rc == 0, "bot-1 not reported stopped within %d ms of SIGKILL (heartbeat 10 s)",
               STOPPED_WITHIN_MS);
    fprintf(stderr, "stopped on MQTT %lld ms after SIGKILL (heartbeat interval 10 s)\n",
            (long long)took);
    const char *stopped2[] = {"\"status\":\"stopped\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/status/bot-2", stopped2) == 0,
               "bot-2 was reported stopped too");

    /* The next process is found and announced out of turn, counted as a restart. */
    bpt_assert(env, bpt_wait_exit(env, "bot-bot-1", 5000) >= 0, "bot-1 did not die");
    bpt_rec_clear(rec);
    bpt_assert(env, bpt_stack_start_bot(&s, "bot-1") == 0, "could not start bot-1 again");
    const char *back[] = {"\"alive\":true", "\"restarts\":1", NULL};
    hb = bpt_rec_wait(rec, HB_TOPIC, back, 5000);
    bpt_assert(env, hb, "the new bot-1 was not announced before the next heartbeat");
    free(hb);
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 5000) == 0,
               "bot-1 not healthy again");

    /* Three more deaths and rebirths within one heartbeat interval: all counted. */
    for (int i = 0; i < 3; i++) {
        restart_bot(env, &s);
        bp_sleep_ms(300);
    }
    const char *four[] = {"\"alive\":true", "\"restarts\":4", NULL};
    hb = bpt_rec_wait(rec, HB_TOPIC, four, 15000);
    bpt_assert(env, hb, "the restarts in between were not all counted");
    free(hb);

    /* The collector counts them too: 4 restarts within 10 min (restarts_warn 3) are a crash
     * loop, an alert of its own, and the bot's page says how many. */
    const char *loop[] = {"\"event\":\"opened\"", "\"check\":\"restarts\"", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/alerts/+/bot-1", loop, 10000);
    bpt_assert(env, m, "no 'restarts' alert for a bot restarted 4 times");
    free(m);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", s.http_port);
    struct bpt_http r = {0};
    struct bpt_http_req rq = {.base = base, .path = "/bots/bot-1"};
    bpt_assert(env, bpt_http(env, &rq, &r) == 200, "GET /bots/bot-1: %ld", r.status);
    bpt_assert(env, strstr(r.body, "\"restarts\":4") && strstr(r.body, "\"restarts_seen\":4"),
               "GET /bots/bot-1 does not count 4 restarts: %s", r.body);
    bpt_http_cleanup(&r);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_death_seen_at_once_and_restarts_counted, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
