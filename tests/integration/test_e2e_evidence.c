/* SPDX-License-Identifier: MIT */
/* End to end, evidence sources other than notify: a bot whose only trade evidence is its log
 * file, and one whose only trade evidence is a probe command, each go stale without trades
 * and healthy again once the log shows a trade line / the probe prints a fresh trade time;
 * a bot known only by its heartbeat file is stopped when the file goes stale and healthy
 * when it is touched again. */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

BPT_ENV_FIXTURE("evidence")

static void append(struct bpt_env *env, const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    bpt_assert(env, fd >= 0, "cannot open %s", path);
    bpt_assert(env, write(fd, text, strlen(text)) == (ssize_t)strlen(text), "short write");
    close(fd);
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_log_file_trades(void **state)
{
    struct bpt_env *env = *state;
    char log[600], extra[800];
    snprintf(log, sizeof(log), "%s/bot-1.log", bpt_env_dir(env));
    append(env, log, "2026-01-01 old history: FILLED buy 1 BTC\n"); /* not replayed */
    snprintf(extra, sizeof(extra),
             "log_file = %s\nlog_trade = FILLED (buy|sell)\nlog_error = ^ERROR\n"
             "log_reconnect = reconnect(ing|ed)\nlog_timeout = timed out\n",
             log);
    struct bpt_stack s;
    struct bpt_stack_opts o = {
        .mqtt_extra = BPT_UNBATCHED,
        .bots = {"bot-1"},
        .bot_extra = {extra},
        .collector_extra = "[bot bot-1]\ntrade_stale = 3s\ntrade_stopped = 60s\n",
    };
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stale", 15000) == 0,
               "bot-1 not stale without trades (the old log line must not count)");

    append(env, log, "ERROR: order rejected\nws reconnecting\n2026-01-01 FILLED sell 0.1 BTC\n");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 not healthy after a trade line in its log");
    /* reconnects and timeouts are configured (sent, even at 0); rate_limits is not. */
    const char *hb[] = {
        "\"log\":{",       "\"lines\":3", "\"trades\":1", "\"errors\":1", "\"reconnects\":1",
        "\"timeouts\":0}", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/agents/+/bots/bot-1/heartbeat", hb, 5000);
    bpt_assert(env, m, "no heartbeat with the log counts");
    bpt_assert(env, strstr(m, "rate_limits") == NULL, "rate_limits sent unconfigured: %s", m);
    free(m);
    /* The optional stats fields: the stand-in bot is `sleep` (one thread, its fds listable:
     * same user), and the host's swap; stored in bot_samples with its agent's restart count
     * (0: the same process all along). */
    const char *st[] = {"\"threads\":1,\"fds\":", "\"swap_pct\":", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/agents/+/bots/bot-1/stats", st, 5000);
    bpt_assert(env, m, "no stats with threads, fds and swap_pct");
    free(m);
    const char *p[] = {"bot-1"};
    int64_t rows = bpt_pg_wait_int(env, 1, 10000,
                                   "SELECT count(*) FROM bot_samples WHERE bot_id = $1 AND "
                                   "proc_threads = 1 AND proc_fds >= 0 AND host_swap_pct >= 0 AND "
                                   "proc_restarts = 0",
                                   1, p);
    bpt_assert(env, rows >= 1, "no bot_samples row with the new columns (%lld)", (long long)rows);
    const char *resolved[] = {"\"event\":\"resolved\"", NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/alerts/warning/bot-1", resolved, 5000);
    bpt_assert(env, m, "the stale alert was not resolved");
    free(m);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

static void test_silent_log_is_hung(void **state)
{
    struct bpt_env *env = *state;
    char log[600], extra[800];
    snprintf(log, sizeof(log), "%s/bot-1.log", bpt_env_dir(env));
    append(env, log, "starting\n");
    snprintf(extra, sizeof(extra), "log_file = %s\nlog_error = ^ERROR\n", log);
    struct bpt_stack s;
    struct bpt_stack_opts o = {
        .mqtt_extra = BPT_UNBATCHED,
        .bots = {"bot-1"},
        .bot_extra = {extra},
        .collector_extra = "[bot bot-1]\nlog_silence = 3s\n",
    };
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    append(env, log, "working\n");
    const char *hung[] = {"\"status\":\"hung\"", "\"check\":\"log\"", "log silent", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/status/bot-1", hung, 15000);
    bpt_assert(env, m, "bot-1's log fell silent and it was not reported hung");
    free(m);
    bpt_expect_msg(rec, BPT_ROOT "/alerts/critical/bot-1", 5000, "event=opened", "check=log");
    append(env, log, "working again\n");
    bpt_expect_msg(rec, BPT_ROOT "/alerts/critical/bot-1", 10000, "event=resolved");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

static void test_probe_trades(void **state)
{
    struct bpt_env *env = *state;
    char file[600], extra[800], ts[32];
    snprintf(file, sizeof(file), "%s/last-trade", bpt_env_dir(env));
    /* The probe reads the time of the last trade from a file; until it exists, cat fails. */
    snprintf(extra, sizeof(extra), "probe = /bin/cat %s\nprobe_interval = 1s\nprobe_timeout = 1s\n",
             file);
    struct bpt_stack s;
    struct bpt_stack_opts o = {
        .mqtt_extra = BPT_UNBATCHED,
        .bots = {"bot-1"},
        .bot_extra = {extra},
        .collector_extra = "[bot bot-1]\ntrade_stale = 3s\ntrade_stopped = 60s\n",
    };
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    const char *failing[] = {"\"probe\":{", "\"error\":\"exit status 1\"", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/agents/+/bots/bot-1/heartbeat", failing, 10000);
    bpt_assert(env, m, "no heartbeat with the failing probe");
    free(m);
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stale", 15000) == 0,
               "bot-1 not stale without trades");

    long long now = wall_ms();
    snprintf(ts, sizeof(ts), "%lld\n", now);
    append(env, file, ts);
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 not healthy after the probe printed a fresh trade");
    char needle[64];
    snprintf(needle, sizeof(needle), "\"last_trade_ts\":%lld", now);
    const char *ok[] = {"\"probe\":{", needle, NULL};
    m = bpt_rec_wait(rec, BPT_ROOT "/agents/+/bots/bot-1/heartbeat", ok, 5000);
    bpt_assert(env, m, "no heartbeat with the probe's trade time");
    bpt_assert(env, strstr(m, "\"error\"") == NULL, "the error was not cleared: %s", m);
    free(m);
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

/* The seed 003 bot: a loop that touches its heartbeat file. */
static void start_toucher(struct bpt_env *env, const char *file)
{
    char script[700];
    snprintf(script, sizeof(script), "while :; do touch '%s'; sleep 0.2; done", file);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    bpt_assert(env, bpt_spawn(env, "toucher", argv) > 0, "cannot start the toucher");
}

static void test_heartbeat_file_liveness(void **state)
{
    struct bpt_env *env = *state;
    char file[600], extra[800];
    snprintf(file, sizeof(file), "%s/heartbeat_status.txt", bpt_env_dir(env));
    snprintf(extra, sizeof(extra), "heartbeat_file = %s\nheartbeat_file_max_age = 1500ms\n", file);
    start_toucher(env, file);
    struct bpt_stack s;
    struct bpt_stack_opts o = {
        .mqtt_extra = BPT_UNBATCHED,
        .bots = {"bot-1"},
        .bot_extra = {extra},
        .no_pid_file = {true},
        .collector_extra = "[bot bot-1]\ntrade_stale = 5m\ntrade_stopped = 10m\n",
    };
    bpt_assert(env, bpt_stack_start(env, &o, &s) == 0, "stack did not start");
    struct bpt_rec *rec = bpt_rec_new(env, BPT_ROOT "/#");
    bpt_assert(env, rec, "recorder did not connect");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 not healthy while its heartbeat file is fresh");
    const char *fresh[] = {"\"hb_file\":{\"found\":true", "\"alive\":true", NULL};
    char *m = bpt_rec_wait(rec, BPT_ROOT "/agents/+/bots/bot-1/heartbeat", fresh, 5000);
    bpt_assert(env, m, "no heartbeat with the heartbeat file");
    free(m);

    bpt_assert(env, bpt_signal(env, "toucher", SIGKILL) == 0, "cannot stop the toucher");
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "stopped", 10000) == 0,
               "bot-1 not stopped when its heartbeat file went stale");
    start_toucher(env, file);
    bpt_assert(env, bpt_stack_wait_status(&s, rec, "bot-1", "healthy", 10000) == 0,
               "bot-1 not healthy again once its heartbeat file is touched");
    bpt_rec_free(rec);
    bpt_assert(env, bpt_stack_stop(&s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_file_trades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_log_is_hung, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_trades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_file_liveness, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
