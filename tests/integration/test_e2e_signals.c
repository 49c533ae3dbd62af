/* SPDX-License-Identifier: MIT */
/* End to end, the bot's own signals through `botpulse-agent notify`: a loop that stops ticking
 * while its process lives is hung with a critical alert; a custom-metric rule raises a critical
 * alert and the API error rate a degraded verdict (both at once: two alerts, one per check); an
 * event reaches MQTT; a declared maintenance
 * holds the alert of a bot killed during it, and the alert comes once it ends. */
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

BPT_ENV_FIXTURE("signals")

/* Runs `botpulse-agent notify --socket S --bot BOT args...` (NULL-terminated); its exit code. */
static int notify(struct bpt_stack *s, const char *bot, ...)
{
    char *argv[24] = {BPT_AGENT_BIN, "notify", "--socket", s->notify_socket, "--bot", (char *)bot};
    int n = 6;
    va_list ap;
    va_start(ap, bot);
    for (char *a; n < 23 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char *out = NULL;
    int rc = bpt_run(s->env, argv, 10000, &out);
    if (rc != 0)
        fprintf(stderr, "notify %s for %s: exit %d: %s\n", argv[6], bot, rc, out ? out : "");
    free(out);
    return rc;
}

/* bot-1 reports 5 exchange API calls (120 ms each), the last one failed: 20 %, critical. */
static void api_one_in_five_fails(struct bpt_env *env, struct bpt_stack *s)
{
    for (int i = 0; i < 4; i++)
        bpt_assert(env, notify(s, "bot-1", "api", "--ok", "--latency-ms", "120", NULL) == 0,
                   "notify api failed");
    bpt_assert(env, notify(s, "bot-1", "api", "--error", NULL) == 0, "notify api failed");
}

static void start(struct bpt_env *env, struct bpt_stack *s, struct bpt_rec **rec,
                  const char *collector_extra)
{
    struct bpt_stack_opts o = {.bots = {"bot-1"}, .collector_extra = collector_extra};
    bpt_assert(env, bpt_stack_start(env, &o, s) == 0, "stack did not start");
    *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, *rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(s, *rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
}

static void test_silent_loop_is_hung_with_alert(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_rec *rec;
    /* the stack's collector.ini ends in its [rules] section: this line lands there */
    start(env, &s, &rec, "tick_timeout = 3s\n");
    bpt_assert(env, notify(&s, "bot-1", "tick", NULL) == 0, "notify tick failed");
    bpt_assert(env, notify(&s, "bot-1", "exposure", "--positions", "1", "--orders", "2", NULL) == 0,
               "notify exposure failed");
    /* the ticks stop; the process lives on */
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "hung", 10000) == 0,
               "bot-1 not hung 3 s after its last tick");
    const char *opened[] = {"\"event\":\"opened\"", "\"check\":\"loop\"",
                            "exposed: 1 positions, 2 orders", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/alerts/critical/bot-1", opened, 5000);
    bpt_assert(env, m, "no critical loop alert when bot-1 went hung");
    free(m);
    bpt_assert(env, notify(&s, "bot-1", "tick", NULL) == 0, "notify tick failed");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 not healthy after it ticked again");
    const char *p[] = {"bot-1"};
    int64_t n = bpt_pg_wait_int(env, 2, 10000,
                                "SELECT count(*) FROM alert_events WHERE bot_id = $1 AND "
                                "check_name = 'loop' AND event IN ('opened', 'resolved')",
                                1, p);
    bpt_assert(env, n == 2, "expected the loop alert opened and resolved in PostgreSQL, got %lld",
               (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

static void test_metric_rule_api_and_event(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_rec *rec;
    start(env, &s, &rec, "[bot bot-1]\nmetric_rule = unprotected_positions > 0 critical\n");
    bpt_assert(env, notify(&s, "bot-1", "metric", "unprotected_positions=0", "pnl=-3.5", NULL) == 0,
               "notify metric failed");
    bpt_assert(env, notify(&s, "bot-1", "metric", "Bad=1", NULL) == 1,
               "a bad metric name should be refused (exit 1)");
    bpt_assert(env, notify(&s, "bot-1", "metric", "unprotected_positions=2", NULL) == 0,
               "notify metric failed");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "degraded", 10000) == 0,
               "bot-1 not degraded by its metric rule");
    const char *opened[] = {"\"event\":\"opened\"", "\"check\":\"metric:unprotected_positions\"",
                            "unprotected_positions = 2", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/alerts/critical/bot-1", opened, 5000);
    bpt_assert(env, m, "no critical alert for the metric rule");
    free(m);
    const char *p[] = {"bot-1"};
    int64_t n = bpt_pg_wait_int(env, 1, 10000,
                                "SELECT count(*) FROM alert_events WHERE bot_id = $1 AND "
                                "check_name = 'metric:unprotected_positions' AND "
                                "severity = 'critical'",
                                1, p);
    bpt_assert(env, n == 1, "the metric alert is not in alert_events (%lld)", (long long)n);
    bpt_assert(env, notify(&s, "bot-1", "metric", "unprotected_positions=0", NULL) == 0,
               "notify metric failed");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 not healthy once its positions are protected");

    api_one_in_five_fails(env, &s); /* 20 % of the window, critical */
    const char *api[] = {"\"status\":\"degraded\"", "\"check\":\"api\"", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/status/bot-1", api, 10000);
    bpt_assert(env, m, "bot-1 not degraded by its API error rate");
    free(m);

    bpt_assert(env, notify(&s, "bot-1", "event", "--text", "rebalanced 0.5 BTC", NULL) == 0,
               "notify event failed");
    bpt_expect_msg(rec, BPT_ROOT "/agents/+/bots/bot-1/events", 5000, "type=event",
                   "event.text=rebalanced 0.5 BTC");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

/* A metric rule and the API error rate failing together: two alerts, one per check, each with
 * its own id on MQTT and in alert_events; the metric's resolves while the API's stays open. */
static void test_two_failing_checks_are_two_alerts(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_rec *rec;
    start(env, &s, &rec, "[bot bot-1]\nmetric_rule = unprotected_positions > 0 critical\n");
    bpt_assert(env, notify(&s, "bot-1", "metric", "unprotected_positions=2", NULL) == 0,
               "notify metric failed");
    const char *metric[] = {"\"event\":\"opened\"", "\"check\":\"metric:unprotected_positions\"",
                            NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/alerts/critical/bot-1", metric, 10000);
    bpt_assert(env, m, "no alert for the metric rule");
    free(m);
    /* 5 API calls, 1 failed: 20 %, critical: a second alert, the first one untouched */
    api_one_in_five_fails(env, &s);
    const char *api[] = {"\"event\":\"opened\"", "\"check\":\"api\"", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/critical/bot-1", api, 10000);
    bpt_assert(env, m, "no second alert for the API error rate while the metric one is open");
    free(m);
    const char *p[] = {"bot-1"};
    int64_t n = bpt_pg_wait_int(env, 2, 10000,
                                "SELECT count(DISTINCT alert_id) FROM alert_events WHERE "
                                "bot_id = $1 AND event = 'opened' AND check_name IN "
                                "('metric:unprotected_positions', 'api')",
                                1, p);
    bpt_assert(env, n == 2, "expected two alerts opened in alert_events, got %lld", (long long)n);
    /* positions protected: the metric's alert resolves; the API's stays, and decides */
    bpt_assert(env, notify(&s, "bot-1", "metric", "unprotected_positions=0", NULL) == 0,
               "notify metric failed");
    const char *resolved[] = {"\"event\":\"resolved\"",
                              "\"check\":\"metric:unprotected_positions\"", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/+/bot-1", resolved, 10000);
    bpt_assert(env, m, "the metric alert did not resolve");
    free(m);
    bpt_expect_msg(rec, BPT_ROOT "/status/bot-1", 10000, "status=degraded", "check=api");
    const char *api_resolved[] = {"\"event\":\"resolved\"", "\"check\":\"api\"", NULL};
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/alerts/#", api_resolved) == 0,
               "the API alert resolved with the metric's");
    n = bpt_pg_wait_int(env, 1, 10000,
                        "SELECT count(*) FROM alert_events WHERE bot_id = $1 AND "
                        "event = 'resolved' AND check_name = 'metric:unprotected_positions'",
                        1, p);
    bpt_assert(env, n == 1, "the metric's resolution is not in alert_events (%lld)", (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

static void test_maintenance_holds_alert_until_it_ends(void **state)
{
    struct bpt_env *env = *state;
    struct bpt_stack s;
    struct bpt_rec *rec;
    start(env, &s, &rec, NULL);
    bpt_assert(env,
               notify(&s, "bot-1", "maintenance", "--for", "6s", "--reason",
                      "deploying v2, back soon", NULL) == 0,
               "notify maintenance failed");
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 10000) == 0,
               "bot-1 not reported stopped during maintenance");
    bpt_assert(env, bpt_rec_count(rec, BPT_ROOT "/alerts/#", NULL) == 0,
               "an alert went out during the maintenance");
    bpt_expect_msg(rec, BPT_ROOT "/alerts/critical/bot-1", 15000, "event=opened", "check=process",
                   NULL);
    const char *p[] = {"bot-1"};
    int64_t n =
        bpt_pg_wait_int(env, 1, 10000, "SELECT count(*) FROM alert_events WHERE bot_id = $1", 1, p);
    bpt_assert(env, n == 1, "expected exactly the one alert after maintenance, got %lld",
               (long long)n);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_silent_loop_is_hung_with_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_rule_api_and_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_failing_checks_are_two_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maintenance_holds_alert_until_it_ends, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
