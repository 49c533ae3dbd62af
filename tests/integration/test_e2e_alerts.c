/* SPDX-License-Identifier: MIT */
/* End to end, the alert lifecycle across time and restarts: an open alert is repeated on
 * schedule, survives a collector restart without being announced again, and is resolved by
 * the same alert_id, as seen on MQTT and in PostgreSQL. */
#include "stack.h"

#include "clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

BPT_ENV_FIXTURE("alerts")

/* The alert_id in an alert message, copied into out. */
static void alert_id_of(struct bpt_env *env, const char *json, char *out, size_t size)
{
    cJSON *j = cJSON_Parse(json);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "alert_id");
    bpt_assert(env, cJSON_IsString(id), "alert without alert_id: %s", json);
    snprintf(out, size, "%s", id->valuestring);
    cJSON_Delete(j);
}

static void test_open_alert_repeats_survives_restart_and_resolves_by_id(void **state)
{
    struct bpt_env *env = *state;
    /* collector_extra lands in [rules] */
    struct bpt_stack_opts o = {.bots = {"bot-1"}, .collector_extra = "alert_repeat = 2s\n"};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");

    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    const char *opened[] = {"\"event\":\"opened\"", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/alerts/critical/bot-1", opened, 10000);
    bpt_assert(env, m, "no alert opened for the killed bot");
    char id[64], id_needle[96];
    alert_id_of(env, m, id, sizeof(id));
    free(m);
    snprintf(id_needle, sizeof(id_needle), "\"alert_id\":\"%s\"", id);

    const char *repeated[] = {"\"event\":\"repeated\"", id_needle, NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/critical/bot-1", repeated, 10000);
    bpt_assert(env, m, "the open alert was not repeated after alert_repeat (2 s)");
    free(m);

    /* restart the collector while the alert is open */
    bpt_assert(env, bpt_signal(env, "collector", SIGTERM) == 0, "could not stop the collector");
    int st = bpt_wait_exit(env, "collector", 15000);
    bpt_assert(env, st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
               "collector did not exit cleanly (%d)", st);
    bpt_rec_clear(rec);
    bpt_assert(env, bpt_stack_start_collector(&s) == 0, "collector did not restart");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 15000) == 0,
               "bot-1 not judged stopped again after the restart");
    bp_sleep_ms(1000);
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/alerts/#", opened) == 0,
               "the restarted collector announced the open alert again");

    /* the bot comes back: resolved, by the alert_id of the first run */
    bpt_assert(env, bpt_stack_start_bot(&s, "bot-1") == 0, "could not restart bot-1");
    const char *resolved[] = {"\"event\":\"resolved\"", id_needle, NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/+/bot-1", resolved, 15000);
    bpt_assert(env, m, "the restored alert %s was not resolved by its id", id);
    free(m);

    const char *p[] = {id};
    int64_t n = bpt_pg_wait_int(env, 1, 10000,
                                "SELECT count(*) FROM alert_events WHERE alert_id = $1 "
                                "AND event = 'resolved'",
                                1, p);
    bpt_assert(env, n == 1, "expected 1 resolved row for %s, got %lld", id, (long long)n);
    n = bpt_pg_int(
        env, "SELECT count(*) FROM alert_events WHERE alert_id = $1 AND event = 'opened'", 1, p);
    bpt_assert(env, n == 1, "expected 1 opened row for %s, got %lld", id, (long long)n);
    n = bpt_pg_int(
        env, "SELECT count(*) FROM alert_events WHERE alert_id = $1 AND event = 'repeated'", 1, p);
    bpt_assert(env, n >= 1, "no repeated row for %s", id);
    n = bpt_pg_int(env, "SELECT count(DISTINCT alert_id) FROM alert_events WHERE bot_id = 'bot-1'",
                   0, NULL);
    bpt_assert(env, n == 1, "bot-1 has %lld alerts, expected the one", (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
}

static void test_bots_dying_together_make_one_incident(void **state)
{
    struct bpt_env *env = *state;
    /* all on one exchange (test-exchange); incident_bots = 3 is the default */
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2", "bot-3", "bot-4"}};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    for (int i = 0; i < 4; i++) {
        char bot[16];
        snprintf(bot, sizeof(bot), "bot-%d", i + 1);
        bpt_assert(env, bpt_stack_wait_status(&s, rec, bot, "healthy", 15000) == 0,
                   "%s never became healthy", bot);
    }
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "bot-bot-%d", i + 1);
        bpt_assert(env, bpt_signal(env, name, SIGKILL) == 0, "could not kill %s", name);
    }
    const char *opened[] = {"\"type\":\"incident\"", "\"event\":\"opened\"",
                            "\"kind\":\"exchange\"", "\"group\":\"test-exchange\"", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/incidents/exchange/test-exchange", opened, 15000);
    bpt_assert(env, m, "no incident for four bots dying together");
    free(m);
    bpt_expect_msg(rec, BPT_ROOT "/incidents/exchange/test-exchange", 10000, "count=4",
                   "failing=4");
    const char *alert_opened[] = {"\"event\":\"opened\"", NULL};
    int alerts = bpt_rec_count(rec, BPT_ROOT "/alerts/#", alert_opened);
    bpt_assert(env, alerts <= 2, "%d per-bot alerts: the incident should speak for the rest",
               alerts);
    for (int i = 0; i < 4; i++) {
        char bot[16];
        snprintf(bot, sizeof(bot), "bot-%d", i + 1);
        bpt_assert(env, bpt_stack_start_bot(&s, bot) == 0, "could not restart %s", bot);
    }
    const char *resolved[] = {"\"event\":\"resolved\"", "\"failing\":0", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/incidents/exchange/test-exchange", resolved, 15000);
    bpt_assert(env, m, "the incident was not resolved when every bot came back");
    free(m);
    /* every per-bot alert that went out was resolved too */
    const char *alert_resolved[] = {"\"event\":\"resolved\"", NULL};
    int64_t deadline = bp_mono_ms() + 10000;
    while (bpt_rec_count(rec, BPT_ROOT "/alerts/#", alert_resolved) < alerts &&
           bp_mono_ms() < deadline)
        bp_sleep_ms(100);
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/alerts/#", alert_resolved) == alerts,
               "announced alerts %d, resolutions %d", alerts,
               bpt_rec_count(rec, BPT_ROOT "/alerts/#", alert_resolved));
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_alert_repeats_survives_restart_and_resolves_by_id,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_bots_dying_together_make_one_incident, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
