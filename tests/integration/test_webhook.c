/* SPDX-License-Identifier: MIT */
/* The webhook alert sink against a real HTTP receiver on loopback: retries with backoff,
 * permanent errors, a receiver that is down, a full queue, a stop with work left; then end to
 * end, a killed bot's alert opened and resolved through the webhook (its URL read from a
 * private file, its secret never logged) while the receiver first fails. (The bodies are
 * test_sink_format's; routing to several sinks is test_sinks'.) */
#include "http_sink.h"
#include "stack.h"
#include "webhook.h"

#include "clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct col_webhook *webhook_to(int port, int retries, int64_t backoff_ms, size_t queue_max)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
    struct col_webhook_opts o = {.url = url,
                                 .timeout_ms = 2000,
                                 .retries = retries,
                                 .backoff_ms = backoff_ms,
                                 .queue_max = queue_max};
    struct col_webhook *w = NULL;
    assert_int_equal(col_webhook_new(&o, &w), 0);
    return w;
}

static struct col_webhook_stats stats_of(struct col_webhook *w)
{
    struct col_webhook_stats st;
    col_webhook_get_stats(w, &st);
    return st;
}

/* Polls until delivered + failed reaches n (or 10 s pass). */
static struct col_webhook_stats wait_settled(struct col_webhook *w, int64_t n)
{
    int64_t deadline = bp_mono_ms() + 10000;
    struct col_webhook_stats st = stats_of(w);
    while (st.delivered + st.failed < n && bp_mono_ms() < deadline) {
        bp_sleep_ms(20);
        st = stats_of(w);
    }
    return st;
}

static void test_server_errors_are_retried_until_delivered(void **state)
{
    (void)state;
    const int script[] = {503, 500, 200};
    struct bpt_http_sink *sink = bpt_http_sink_start(script, 3);
    assert_non_null(sink);
    struct col_webhook *w = webhook_to(bpt_http_sink_port(sink), 5, 50, 16);
    assert_int_equal(col_webhook_start(w), 0);
    assert_int_equal(col_webhook_submit(w, strdup("{\"n\":1}")), 0);
    struct col_webhook_stats st = wait_settled(w, 1);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.retries, 2);
    assert_int_equal(bpt_http_sink_count(sink), 3);
    char *body = bpt_http_sink_body(sink, 2);
    assert_string_equal(body, "{\"n\":1}");
    free(body);
    col_webhook_free(w);
    bpt_http_sink_stop(sink);
}

static void test_client_error_is_not_retried(void **state)
{
    (void)state;
    const int script[] = {400, 200};
    struct bpt_http_sink *sink = bpt_http_sink_start(script, 2);
    assert_non_null(sink);
    struct col_webhook *w = webhook_to(bpt_http_sink_port(sink), 5, 50, 16);
    assert_int_equal(col_webhook_start(w), 0);
    assert_int_equal(col_webhook_submit(w, strdup("{\"n\":1}")), 0);
    struct col_webhook_stats st = wait_settled(w, 1);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.delivered, 0);
    bp_sleep_ms(300); /* a retry would come after 50 ms */
    assert_int_equal(bpt_http_sink_count(sink), 1);
    assert_int_equal(stats_of(w).retries, 0);
    col_webhook_free(w);
    bpt_http_sink_stop(sink);
}

static void test_receiver_down_gives_up_after_retries(void **state)
{
    (void)state;
    struct col_webhook *w = webhook_to(bpt_free_port(), 2, 20, 16);
    assert_int_equal(col_webhook_start(w), 0);
    assert_int_equal(col_webhook_submit(w, strdup("{}")), 0);
    struct col_webhook_stats st = wait_settled(w, 1);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.delivered, 0);
    col_webhook_free(w);
}

static void test_full_queue_drops_and_counts(void **state)
{
    (void)state;
    const int script[] = {200};
    struct bpt_http_sink *sink = bpt_http_sink_start(script, 1);
    assert_non_null(sink);
    struct col_webhook *w = webhook_to(bpt_http_sink_port(sink), 0, 50, 2);
    assert_int_equal(col_webhook_submit(w, strdup("{\"n\":1}")), 0); /* not started yet */
    assert_int_equal(col_webhook_submit(w, strdup("{\"n\":2}")), 0);
    assert_int_equal(col_webhook_submit(w, strdup("{\"n\":3}")), -ENOSPC);
    struct col_webhook_stats st = stats_of(w);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.queued, 2);
    assert_int_equal(col_webhook_start(w), 0);
    st = wait_settled(w, 2);
    assert_int_equal(st.delivered, 2);
    char *first = bpt_http_sink_body(sink, 0);
    assert_string_equal(first, "{\"n\":1}"); /* in order */
    free(first);
    col_webhook_free(w);
    bpt_http_sink_stop(sink);
}

static void test_stop_ends_retries_and_counts_what_is_left(void **state)
{
    (void)state;
    const int script[] = {503};
    struct bpt_http_sink *sink = bpt_http_sink_start(script, 1);
    assert_non_null(sink);
    struct col_webhook *w = webhook_to(bpt_http_sink_port(sink), 100, 10000, 16);
    assert_int_equal(col_webhook_start(w), 0);
    assert_int_equal(col_webhook_submit(w, strdup("{\"n\":1}")), 0);
    assert_int_equal(col_webhook_submit(w, strdup("{\"n\":2}")), 0);
    while (bpt_http_sink_count(sink) < 1)
        bp_sleep_ms(10);
    int64_t t0 = bp_mono_ms();
    col_webhook_stop(w, 200); /* the first waits 10 s to retry: the stop must cut that short */
    assert_true(bp_mono_ms() - t0 < 5000);
    struct col_webhook_stats st = stats_of(w);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.delivered, 0);
    assert_int_equal(col_webhook_submit(w, strdup("{}")), -ENOSPC); /* stopped: counted */
    col_webhook_free(w);
    bpt_http_sink_stop(sink);
}

BPT_ENV_FIXTURE("webhook")

static void test_killed_bot_alert_reaches_webhook_after_a_failure(void **state)
{
    struct bpt_env *env = *state;
    const int script[] = {503, 200};
    struct bpt_http_sink *sink = bpt_http_sink_start(script, 2);
    bpt_assert(env, sink, "no http sink");
    /* the URL, from a 0600 file, carries a secret as Telegram's and Slack's do */
    const char *url_file = bpt_write_secret(
        env, "webhook.url", "http://127.0.0.1:%d/botSECRET-42/x\n", bpt_http_sink_port(sink));
    char extra[512];
    snprintf(extra, sizeof(extra), "[webhook]\nurl_file = %s\nformat = alert\nbackoff = 100ms\n",
             url_file);
    struct bpt_stack_opts o = {.bots = {"bot-1"}, .collector_extra = extra};
    struct bpt_stack s;
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
    bpt_assert(env, bpt_signal(env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    const char *opened[] = {"\"type\":\"alert\"", "\"event\":\"opened\"", "\"bot\":\"bot-1\"",
                            "\"severity\":\"critical\"", NULL};
    char *b = bpt_http_sink_wait(sink, opened, 1, 15000);
    bpt_assert(env, b, "the opened alert never reached the webhook (%d requests)",
               bpt_http_sink_count(sink));
    free(b);
    char *first = bpt_http_sink_body(sink, 0); /* the one answered 503: the same alert */
    bpt_assert(env, first && strstr(first, "\"event\":\"opened\""),
               "first request was not the opened alert: %s", first ? first : "(none)");
    free(first);
    bpt_assert(env, bpt_stack_start_bot(&s, "bot-1") == 0, "could not restart bot-1");
    const char *resolved[] = {"\"event\":\"resolved\"", "\"bot\":\"bot-1\"", NULL};
    b = bpt_http_sink_wait(sink, resolved, 1, 15000);
    bpt_assert(env, b, "the resolution never reached the webhook");
    free(b);
    const char *counted[] = {"\"webhook\":{\"delivered\":2,\"failed\":0,\"dropped\":0,"
                             "\"retries\":1",
                             NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/collector/stats", counted, 10000);
    bpt_assert(env, m, "collector/stats does not count 2 delivered, 1 retry");
    free(m);
    /* the log names the receiver's host, at start and on the failure, never its secret */
    bpt_assert(env, bpt_log_has(env, "collector", "sink webhook (alert on 127.0.0.1", 0),
               "the collector does not say where alerts go");
    bpt_assert(env, bpt_log_has(env, "collector", "sink webhook (127.0.0.1): delivery failed", 0),
               "the collector did not log the failed delivery");
    bpt_assert(env, !bpt_log_has(env, "collector", "SECRET-42", 0),
               "the collector logged the webhook URL's secret");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "daemons did not stop cleanly");
    bpt_http_sink_stop(sink);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_errors_are_retried_until_delivered),
        cmocka_unit_test(test_client_error_is_not_retried),
        cmocka_unit_test(test_receiver_down_gives_up_after_retries),
        cmocka_unit_test(test_full_queue_drops_and_counts),
        cmocka_unit_test(test_stop_ends_retries_and_counts_what_is_left),
        cmocka_unit_test_setup_teardown(test_killed_bot_alert_reaches_webhook_after_a_failure,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
