/* SPDX-License-Identifier: MIT */
/* End to end, silences and the audit report against the real stack: a silenced bot that is
 * killed raises an alert that is written to PostgreSQL but not published; when the silence
 * ends the alert is announced; silences survive a collector restart; the report over the run
 * shows the bot's downtime and its alert; every bad input to the new routes gets its 4xx. */
#include "stack.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define TOKEN "silence-token"

struct t {
    struct bpt_env *env;
    struct bpt_stack s;
    char url[64];
    char *out; /* the last botpulse-ctl run's output, or the last HTTP body */
    long status;
};

/* Runs botpulse-ctl --url <collector> --token T with more words; its exit status. */
static int ctl(struct t *t, const char *const *words)
{
    return bpt_ctl_argv(t->env, &t->out, t->url, TOKEN, words);
}

#define expect_ctl(t, want, needle, ...)                                                           \
    do {                                                                                           \
        const char *w_[] = {__VA_ARGS__, NULL};                                                    \
        int rc_ = ctl((t), w_);                                                                    \
        bpt_assert((t)->env, rc_ == (want) && strstr((t)->out, (needle)),                          \
                   "%s:%d: exit %d (want %d), output lacks '%s':\n%s", __FILE__, __LINE__, rc_,    \
                   (want), (needle), (t)->out);                                                    \
    } while (0)

/* One raw request (the CLI cannot send bad input); the status, the body in t->out. */
static long req(struct t *t, const char *method, const char *path, const char *token,
                const char *ctype, const char *body)
{
    struct bpt_http r = {0};
    struct bpt_http_req rq = {.method = method,
                              .base = t->url,
                              .path = path,
                              .token = token,
                              .ctype = ctype,
                              .body = body};
    t->status = bpt_http(t->env, &rq, &r);
    free(t->out);
    t->out = r.body; /* kept as the test's last output */
    return t->status;
}

#define expect_http(t, want, needle, ...)                                                          \
    do {                                                                                           \
        long st_ = req((t), __VA_ARGS__);                                                          \
        bpt_assert((t)->env, st_ == (want) && strstr((t)->out, (needle)),                          \
                   "%s:%d: HTTP %ld (want %d), body lacks '%s': %s", __FILE__, __LINE__, st_,      \
                   (want), (needle), (t)->out);                                                    \
    } while (0)

static void start(struct t *t)
{
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"}, .http_extra = "token = " TOKEN "\n"};
    bpt_assert(t->env, bpt_stack_start(t->env, &o, &t->s) == 0, "stack did not start");
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d", t->s.http_port);
}

static void test_silenced_alert_is_stored_not_published_then_announced(void **state)
{
    struct t t = {.env = *state};
    start(&t);
    struct bpt_rec *st = bpt_rec_new(t.env, BPT_ROOT "/status/#");
    struct bpt_rec *al = bpt_rec_new(t.env, BPT_ROOT "/alerts/#");
    bpt_assert(t.env, st && al, "recorders did not connect");
    bpt_assert(t.env,
               bpt_stack_wait_status(&t.s, st, "bot-1", "healthy", 15000) == 0 &&
                   bpt_stack_wait_status(&t.s, st, "bot-2", "healthy", 15000) == 0,
               "bots never became healthy");

    expect_ctl(&t, 0, "made silence", "silence", "add", "--bot", "bot-1", "--for", "6s", "--reason",
               "maintenance", "--by", "tester");
    expect_ctl(&t, 0, "bot=bot-1", "silence", "list");
    expect_ctl(&t, 0, "\"by\":\"tester\"", "--json", "silence", "list");

    bpt_assert(t.env, bpt_signal(t.env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(t.env, bpt_stack_wait_status(&t.s, st, "bot-1", "stopped", 10000) == 0,
               "bot-1 not stopped");
    const char *p[] = {"bot-1"};
    bpt_assert(t.env,
               bpt_pg_wait_int(t.env, 1, 10000,
                               "SELECT count(*) FROM alert_events WHERE bot_id = $1 AND "
                               "event = 'opened'",
                               1, p) == 1,
               "the silenced alert was not written to PostgreSQL");
    bpt_assert(t.env, bpt_rec_count(al, BPT_ROOT "/alerts/+/bot-1", (const char *[]){NULL}) == 0,
               "a silenced bot's alert was published");

    /* the silence ends (6 s after it was made): the alert, still open, goes out now */
    const char *repeated[] = {"\"repeated\"", "bot-1", NULL};
    char *m = bpt_rec_wait(al, BPT_ROOT "/alerts/critical/bot-1", repeated, 15000);
    bpt_assert(t.env, m, "the alert was not announced when the silence ended");
    free(m);
    expect_ctl(&t, 0, "no silences", "silence", "list");

    /* back to healthy: the resolution goes out too, since the alert was announced */
    bpt_assert(t.env, bpt_stack_start_bot(&t.s, "bot-1") == 0, "could not restart bot-1");
    const char *resolved[] = {"\"resolved\"", NULL};
    m = bpt_rec_wait(al, BPT_ROOT "/alerts/+/bot-1", resolved, 15000);
    bpt_assert(t.env, m, "the resolution was not published");
    free(m);
    bpt_assert(t.env,
               bpt_pg_wait_int(t.env, 2, 10000,
                               "SELECT count(*) FROM status_transitions WHERE bot_id = $1 AND "
                               "to_status = 'healthy'",
                               1, p) == 2,
               "transitions not written");

    /* the report over the run: bot-1's time stopped, its critical alert, its incident */
    expect_ctl(&t, 0, "## Worst incidents", "report", "--from", "10m", "--bot", "bot-1");
    bpt_assert(t.env, strstr(t.out, "| bot-1 |") && strstr(t.out, "| stopped |"),
               "report lacks bot-1's stopped incident:\n%s", t.out);
    expect_ctl(&t, 0, "\"bots\"", "report", "--from", "10m", "--format", "json");
    cJSON *r = cJSON_Parse(t.out);
    const cJSON *bots = cJSON_GetObjectItem(r, "bots"), *b1 = NULL, *it;
    cJSON_ArrayForEach(it, bots)
        if (strcmp(cJSON_GetObjectItem(it, "bot")->valuestring, "bot-1") == 0)
            b1 = it;
    bpt_assert(t.env, cJSON_GetArraySize(bots) == 2 && b1, "report lacks bot-1: %s", t.out);
    double stopped =
        cJSON_GetObjectItem(cJSON_GetObjectItem(b1, "time_in_status_ms"), "stopped")->valuedouble;
    double crit = cJSON_GetObjectItem(cJSON_GetObjectItem(b1, "alerts"), "critical")->valuedouble;
    double up = cJSON_GetObjectItem(b1, "uptime_pct")->valuedouble;
    bpt_assert(t.env, stopped >= 5000 && crit == 1 && up < 100 && up > 0,
               "bot-1: stopped %.0f ms, %.0f critical alerts, uptime %.2f%%: %s", stopped, crit, up,
               t.out);
    bpt_assert(t.env, cJSON_GetArraySize(cJSON_GetObjectItem(b1, "worst_incidents")) == 1,
               "bot-1 should have one incident: %s", t.out);
    cJSON_Delete(r);

    bpt_rec_free(st);
    bpt_rec_free(al);
    bpt_assert(t.env, bpt_stack_stop(&t.s) == 0, "a daemon did not shut down cleanly");
    free(t.out);
}

static void test_silences_survive_a_restart_and_bad_input_is_4xx(void **state)
{
    struct t t = {.env = *state};
    start(&t);
    expect_http(&t, 201, "\"account\":\"acct-0\"", "POST", "/silences", TOKEN, "application/json",
                "{\"account\":\"acct-0\",\"duration\":\"1h\",\"reason\":\"migration\"}");
    cJSON *made = cJSON_Parse(t.out);
    char id[64], path[128];
    snprintf(id, sizeof(id), "%s", cJSON_GetObjectItem(made, "id")->valuestring);
    cJSON_Delete(made);
    const char *p[] = {id};
    bpt_assert(t.env,
               bpt_pg_wait_int(t.env, 1, 10000,
                               "SELECT count(*) FROM silences WHERE silence_id = $1", 1, p) == 1,
               "silence not stored");

    /* a restart reloads it */
    bpt_assert(t.env, bpt_signal(t.env, "collector", SIGTERM) == 0, "no collector");
    int ws = bpt_wait_exit(t.env, "collector", 10000);
    bpt_assert(t.env, ws >= 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "collector did not exit 0");
    bpt_assert(t.env, bpt_stack_start_collector(&t.s) == 0, "collector did not restart");
    expect_http(&t, 200, id, "GET", "/silences", NULL, NULL, NULL);

    /* bad input, each with its status */
    const char *ok = "{\"bot\":\"b\",\"duration\":\"1h\",\"reason\":\"r\"}";
    expect_http(&t, 401, "bearer", "POST", "/silences", NULL, "application/json", ok);
    expect_http(&t, 401, "wrong bearer token", "POST", "/silences", "nope", "application/json", ok);
    expect_http(&t, 415, "Content-Type", "POST", "/silences", TOKEN, "text/plain", ok);
    expect_http(&t, 400, "empty body", "POST", "/silences", TOKEN, "application/json", "");
    expect_http(&t, 400, "JSON object", "POST", "/silences", TOKEN, "application/json", "[1]");
    expect_http(&t, 400, "at least one of", "POST", "/silences", TOKEN, "application/json",
                "{\"duration\":\"1h\",\"reason\":\"r\"}");
    expect_http(&t, 400, "exactly one of", "POST", "/silences", TOKEN, "application/json",
                "{\"bot\":\"b\",\"reason\":\"r\"}");
    expect_http(&t, 400, "'duration'", "POST", "/silences", TOKEN, "application/json",
                "{\"bot\":\"b\",\"duration\":\"soon\",\"reason\":\"r\"}");
    expect_http(&t, 400, "'until'", "POST", "/silences", TOKEN, "application/json",
                "{\"bot\":\"b\",\"until\":1000,\"reason\":\"r\"}");
    expect_http(&t, 400, "'reason' is required", "POST", "/silences", TOKEN, "application/json",
                "{\"bot\":\"b\",\"duration\":\"1h\"}");
    expect_http(&t, 400, "unknown member 'bots'", "POST", "/silences", TOKEN, "application/json",
                "{\"bots\":\"b\",\"duration\":\"1h\",\"reason\":\"r\"}");
    expect_http(&t, 400, "'bot'", "POST", "/silences", TOKEN, "application/json",
                "{\"bot\":\"a b\",\"duration\":\"1h\",\"reason\":\"r\"}");
    expect_http(&t, 400, "not a check name", "POST", "/silences", TOKEN, "application/json",
                "{\"check\":\"vibes\",\"duration\":\"1h\",\"reason\":\"r\"}");
    expect_http(&t, 400, "unknown parameter", "GET", "/silences?bot=x", NULL, NULL, NULL);
    expect_http(&t, 405, "use GET, HEAD, POST", "PUT", "/silences", TOKEN, NULL, NULL);
    expect_http(&t, 405, "use DELETE", "GET", "/silences/abc", NULL, NULL, NULL);
    expect_http(&t, 401, "bearer", "DELETE", "/silences/abc", NULL, NULL, NULL);
    expect_http(&t, 400, "invalid silence id", "DELETE", "/silences/a%20b", TOKEN, NULL, NULL);
    expect_http(&t, 404, "no silence 'abc'", "DELETE", "/silences/abc", TOKEN, NULL, NULL);
    expect_http(&t, 400, "parameter 'from'", "GET", "/report?from=yesterday", NULL, NULL, NULL);
    expect_http(&t, 400, "parameter 'to'", "GET", "/report?to=-5", NULL, NULL, NULL);
    expect_http(&t, 400, "before 'to'", "GET", "/report?from=2000&to=1000", NULL, NULL, NULL);
    expect_http(&t, 400, "366 days", "GET", "/report?from=0", NULL, NULL, NULL);
    expect_http(&t, 400, "parameter 'bot'", "GET", "/report?bot=a%20b", NULL, NULL, NULL);
    expect_http(&t, 400, "unknown parameter", "GET", "/report?format=md", NULL, NULL, NULL);
    expect_http(&t, 405, "use GET", "POST", "/report", TOKEN, "application/json", "{}");
    expect_http(&t, 200, "\"fleet\"", "GET", "/report", NULL, NULL, NULL);

    /* removing it by hand: 200, then it is gone (and marked removed in the table) */
    snprintf(path, sizeof(path), "/silences/%s", id);
    expect_http(&t, 200, "\"removed\"", "DELETE", path, TOKEN, NULL, NULL);
    expect_http(&t, 404, "no silence", "DELETE", path, TOKEN, NULL, NULL);
    expect_ctl(&t, 4, "no silence", "silence", "rm", id);
    bpt_assert(t.env,
               bpt_pg_wait_int(t.env, 1, 10000,
                               "SELECT count(*) FROM silences WHERE silence_id = $1 AND "
                               "removed_at IS NOT NULL",
                               1, p) == 1,
               "removal not stored");
    bpt_assert(t.env, bpt_stack_stop(&t.s) == 0, "a daemon did not shut down cleanly");
    free(t.out);
}

BPT_ENV_FIXTURE("silences")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_silenced_alert_is_stored_not_published_then_announced,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_silences_survive_a_restart_and_bad_input_is_4xx, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
