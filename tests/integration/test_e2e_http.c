/* SPDX-License-Identifier: MIT */
/* End to end, the HTTP API and /metrics: a real collector (with [http] on a free loopback
 * port), mosquitto, PostgreSQL, agent and bots, driven with libcurl. Every route, each 4xx a
 * client can provoke, the bearer token, /health turning 503 when PostgreSQL stops (and 200
 * when it is back), history paging from the database, and /metrics through promtool. Every
 * answer is checked against docs/openapi.yaml (its status declared, its JSON as described). */
#include "stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#define TOKEN "s3cret-token"

struct t {
    struct bpt_env *env;
    struct bpt_stack s;
    struct bpt_rec *rec;
    char url[64];
    struct bpt_http r; /* the last response */
};

/* One request; the response lands in t->r. token NULL: no Authorization header. */
static long req(struct t *t, const char *method, const char *path, const char *token,
                const char *ctype, const char *body, size_t body_len)
{
    struct bpt_http_req rq = {.method = method,
                              .base = t->url,
                              .path = path,
                              .token = token,
                              .ctype = ctype,
                              .body = body,
                              .body_len = body_len};
    bpt_http(t->env, &rq, &t->r);
    bpt_http_record(t->env, &rq, &t->r); /* checked against docs/openapi.yaml at the end */
    return t->r.status;
}

static long get(struct t *t, const char *path)
{
    return req(t, "GET", path, NULL, NULL, NULL, 0);
}

static long post_json(struct t *t, const char *path, const char *token, const char *body)
{
    return req(t, "POST", path, token, "application/json", body, body ? strlen(body) : 0);
}

/* Asserts the last response: its status, JSON content type, and that the body has needle. */
#define expect(t, want, needle)                                                                    \
    do {                                                                                           \
        bpt_assert((t)->env, (t)->r.status == (want), "%s:%d: HTTP %ld, want %d: %s", __FILE__,    \
                   __LINE__, (t)->r.status, (want), (t)->r.body);                                  \
        bpt_assert((t)->env, strstr((t)->r.body, (needle)) != NULL, "%s:%d: body lacks %s: %s",    \
                   __FILE__, __LINE__, (needle), (t)->r.body);                                     \
    } while (0)

#define expect_json_error(t, want)                                                                 \
    do {                                                                                           \
        expect(t, want, "{\"error\":\"");                                                          \
        bpt_assert((t)->env, strcmp((t)->r.ctype, "application/json") == 0,                        \
                   "error without JSON content type: %s", (t)->r.ctype);                           \
    } while (0)

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    t->env = bpt_env_new("http");
    *state = t;
    return t->env ? 0 : -1;
}

static int teardown(void **state)
{
    struct t *t = *state;
    bpt_rec_free(t->rec);
    bpt_env_free(t->env);
    bpt_http_cleanup(&t->r);
    free(t);
    return 0;
}

static void start(struct t *t, const char *http_extra)
{
    struct bpt_stack_opts o = {.bots = {"bot-1", "bot-2"}, .http_extra = http_extra};
    bpt_assert(t->env, bpt_stack_start(t->env, &o, &t->s) == 0, "stack did not start");
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d", t->s.http_port);
    t->rec = bpt_rec_new(t->env, BPT_ROOT "/#");
    bpt_assert(t->env, t->rec, "recorder did not connect");
    bpt_assert(t->env, bpt_stack_wait_status(&t->s, t->rec, "bot-1", "healthy", 15000) == 0,
               "bot-1 never became healthy");
    bpt_assert(t->env, bpt_stack_wait_status(&t->s, t->rec, "bot-2", "healthy", 15000) == 0,
               "bot-2 never became healthy");
}

/* Polls GET path until it answers want (10 s); returns the last status. */
static long wait_status(struct t *t, const char *path, long want, const char *needle)
{
    for (int i = 0; i < 100; i++) {
        if (get(t, path) == want && (!needle || strstr(t->r.body, needle)))
            return want;
        usleep(100 * 1000);
    }
    return t->r.status;
}

static void check_health_and_bots(struct t *t)
{
    get(t, "/health");
    expect(t, 200, "\"status\":\"healthy\"");
    expect(t, 200, "\"name\":\"database\"");
    expect(t, 200, "\"name\":\"rules\"");
    for (const char *const *c = (const char *const[]){"broker", "database", "rules", NULL}; *c;
         c++) {
        char path[64];
        snprintf(path, sizeof(path), "/health/%s", *c);
        get(t, path);
        expect(t, 200, "\"status\":\"healthy\"");
    }
    get(t, "/bots");
    expect(t, 200, "\"total\":2");
    bpt_assert(t->env, strstr(t->r.body, "bot-1") < strstr(t->r.body, "bot-2"), "not by id");
    get(t, "/bots?sort=id&order=desc&limit=1");
    expect(t, 200, "\"id\":\"bot-2\"");
    bpt_assert(t->env, !strstr(t->r.body, "bot-1"), "limit=1 gave more: %s", t->r.body);
    get(t, "/bots?limit=1&offset=1");
    expect(t, 200, "\"id\":\"bot-2\"");
    get(t, "/bots?account=acct-0&status=healthy&host=test-host&exchange=test-exchange");
    expect(t, 200, "\"total\":1,");
    expect(t, 200, "\"id\":\"bot-1\"");
    get(t, "/bots?status=down");
    expect(t, 200, "\"total\":0,");
    get(t, "/bots/bot-1");
    expect(t, 200, "\"id\":\"bot-1\",\"status\":\"healthy\"");
    expect(t, 200,
           "\"agent\":\"agent-1\",\"agent_online\":true,\"account\":\"acct-0\","
           "\"exchange\":\"test-exchange\",\"host\":\"test-host\"");
    get(t, "/bots/bot-2/health");
    expect(t, 200, "\"id\":\"bot-2\",\"status\":\"healthy\"");
    get(t, "/bots/nobody");
    expect_json_error(t, 404);
    get(t, "/fleet/summary");
    expect(t, 200, "\"total\":2,\"by_status\":{\"unknown\":0,\"healthy\":2");
    expect(t, 200, "\"by_account\":{");
    get(t, "/fleet/summary?account=acct-1");
    expect(t, 200, "\"total\":1,");
    get(t, "/bots/health/summary?account=acct-0");
    expect(t, 200, "\"healthy\":1,");
    expect(t, 200, "\"account\":\"acct-0\"");
}

static void check_metrics(struct t *t)
{
    get(t, "/metrics");
    expect(t, 200,
           "botpulse_bot_status{bot=\"bot-1\",agent=\"agent-1\",account=\"acct-0\","
           "exchange=\"test-exchange\",host=\"test-host\",status=\"healthy\"} 1\n");
    expect(t, 200, "botpulse_fleet_bots{status=\"healthy\"} 2\n");
    expect(t, 200, "botpulse_bot_last_heartbeat_age_seconds{bot=\"bot-2\"");
    expect(t, 200, "botpulse_ingest_received_total ");
    expect(t, 200, "botpulse_db_connected 1\n");
    /* the collector's own process, its version, and the times Prometheus wants as timestamps */
    expect(t, 200, "botpulse_build_info{version=\"" BP_VERSION "\",component=\"collector\"} 1\n");
    expect(t, 200, "\nprocess_cpu_seconds_total ");
    expect(t, 200, "\nprocess_resident_memory_bytes ");
    expect(t, 200, "\nprocess_open_fds ");
    expect(t, 200, "\nprocess_start_time_seconds ");
    expect(t, 200, "\nbotpulse_store_last_commit_timestamp_seconds ");
    expect(t, 200, "botpulse_bot_last_heartbeat_timestamp_seconds{bot=\"bot-2\"");
    expect(t, 200, "\nbotpulse_bot_restarts_total 0\n");
    bpt_assert(t->env, strcmp(t->r.ctype, "text/plain; version=0.0.4; charset=utf-8") == 0,
               "metrics content type %s", t->r.ctype);
    const char *path = bpt_write_file(t->env, "metrics.txt", "%s", t->r.body);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *out = NULL;
    int rc = bpt_run(t->env, argv, 30000, &out);
    bpt_assert(t->env, rc == 0, "promtool check metrics failed (%d): %s", rc, out ? out : "");
    free(out);
}

static void check_bad_input(struct t *t)
{
    get(t, "/nope");
    expect_json_error(t, 404);
    get(t, "/health/cpu");
    expect_json_error(t, 404);
    req(t, "POST", "/metrics", TOKEN, NULL, NULL, 0);
    expect_json_error(t, 405);
    bpt_assert(t->env, strcmp(t->r.allow, "GET, HEAD") == 0, "Allow: %s", t->r.allow);
    get(t, "/bots/heartbeat");
    expect_json_error(t, 405);
    bpt_assert(t->env, strcmp(t->r.allow, "POST") == 0, "Allow: %s", t->r.allow);
    get(t, "/bots/bad$id");
    expect_json_error(t, 400);
    get(t, "/bots/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    expect_json_error(t, 400);
    get(t, "/bots?limit=0");
    expect(t, 400, "limit");
    get(t, "/bots?limit=abc");
    expect(t, 400, "not an integer");
    get(t, "/bots?status=sleepy");
    expect(t, 400, "status");
    get(t, "/bots?colour=red");
    expect(t, 400, "unknown parameter 'colour'");
    get(t, "/bots?limit=1&limit=2");
    expect(t, 400, "given twice");
    get(t, "/bots/bot-1/history?before=-5");
    expect_json_error(t, 400);
    get(t, "/bots/bot-1/history?from=20&to=10");
    expect_json_error(t, 400);
    get(t, "/alerts?state=closed");
    expect_json_error(t, 400);
    /* mutating routes: the token first */
    post_json(t, "/bots/bot-1/health/check", NULL, NULL);
    expect_json_error(t, 401);
    bpt_assert(t->env, strncmp(t->r.www_auth, "Bearer", 6) == 0, "WWW-Authenticate: %s",
               t->r.www_auth);
    post_json(t, "/bots/bot-1/health/check", "wrong", NULL);
    expect_json_error(t, 401);
    /* then the body */
    char *big = malloc(9001);
    memset(big, ' ', 9000);
    big[9000] = '\0';
    post_json(t, "/bots/heartbeat", TOKEN, big);
    free(big);
    expect_json_error(t, 413);
    req(t, "POST", "/bots/heartbeat", TOKEN, "text/plain", "{}", 2);
    expect_json_error(t, 415);
    post_json(t, "/bots/heartbeat", TOKEN, "{\"v\":1,");
    expect(t, 400, "json");
    post_json(t, "/bots/heartbeat", TOKEN, "");
    expect_json_error(t, 400);
    post_json(t, "/bots/heartbeat", TOKEN,
              "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"http\",\"bot\":\"b\",\"boot\":\"x\","
              "\"seq\":1,\"ts\":1,\"interval_ms\":10000,\"proc\":{\"alive\":true},\"pwn\":1}");
    expect(t, 400, "unknown_field");
    post_json(t, "/bots/heartbeat", TOKEN,
              "{\"v\":1,\"type\":\"trade\",\"agent\":\"http\",\"bot\":\"b\",\"boot\":\"x\","
              "\"seq\":1,\"ts\":1,\"trade\":{\"ts\":1}}");
    expect(t, 400, "want 'heartbeat'");
    post_json(t, "/bots/bot-1/health/check", TOKEN, "[1]");
    expect_json_error(t, 400);
    post_json(t, "/bots/nobody/health/check", TOKEN, NULL);
    expect_json_error(t, 404);
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void check_mutations(struct t *t)
{
    post_json(t, "/bots/bot-2/health/check", TOKEN, NULL);
    expect(t, 200, "\"id\":\"bot-2\",\"status\":\"healthy\"");
    post_json(t, "/bots/bot-2/health/check", TOKEN, "{}");
    expect(t, 200, "\"id\":\"bot-2\"");
    char hb[512];
    int64_t now = now_ms();
    snprintf(hb, sizeof(hb),
             "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"http\",\"bot\":\"http-bot\","
             "\"boot\":\"h1\",\"seq\":1,\"ts\":%lld,\"interval_ms\":10000,"
             "\"proc\":{\"alive\":true},\"last_trade_ts\":%lld}",
             (long long)now, (long long)now);
    post_json(t, "/bots/heartbeat", TOKEN, hb);
    expect(t, 202, "\"accepted\":true");
    bpt_assert(t->env, wait_status(t, "/bots/http-bot", 200, "\"status\":\"healthy\"") == 200,
               "the HTTP heartbeat did not make http-bot healthy: %s", t->r.body);
    expect(t, 200, "\"agent\":\"http\"");
    /* it is on MQTT like any other bot's status */
    bpt_assert(t->env, bpt_stack_wait_status(&t->s, t->rec, "http-bot", "healthy", 5000) == 0,
               "no retained status for http-bot");
}

static void check_alerts_and_history(struct t *t)
{
    bpt_assert(t->env, bpt_signal(t->env, "bot-bot-1", SIGKILL) == 0, "could not kill bot-1");
    bpt_assert(t->env, bpt_stack_wait_status(&t->s, t->rec, "bot-1", "stopped", 10000) == 0,
               "bot-1 not stopped");
    get(t, "/alerts");
    expect(t, 200, "\"bot\":\"bot-1\",\"severity\":\"critical\",\"check\":\"process\"");
    get(t, "/alerts?state=open&bot=bot-2");
    expect(t, 200, "{\"alerts\":[]}");
    bpt_assert(t->env, wait_status(t, "/alerts?state=all", 200, "\"event\":\"opened\"") == 200,
               "no opened alert in the history: %s", t->r.body);
    expect(t, 200, "\"bot\":\"bot-1\"");
    /* history, newest first, paged by before */
    bpt_assert(t->env,
               wait_status(t, "/bots/bot-1/history?limit=1", 200, "\"to\":\"stopped\"") == 200,
               "no healthy->stopped transition: %s", t->r.body);
    expect(t, 200, "\"from\":\"healthy\"");
    cJSON *j = cJSON_Parse(t->r.body);
    cJSON *next = cJSON_GetObjectItem(j, "next_before");
    bpt_assert(t->env, cJSON_IsNumber(next), "no next_before: %s", t->r.body);
    char path[128];
    snprintf(path, sizeof(path), "/bots/bot-1/health/history?limit=1&before=%.0f",
             next->valuedouble);
    cJSON_Delete(j);
    get(t, path);
    expect(t, 200, "\"from\":\"unknown\",\"to\":\"healthy\"");
    snprintf(path, sizeof(path), "/bots/bot-1/history?to=%lld", (long long)now_ms() - 3600000);
    get(t, path);
    expect(t, 200, "\"transitions\":[]");
}

static void check_database_outage(struct t *t)
{
    bpt_assert(t->env, bpt_pg_stop(t->env) == 0, "could not stop PostgreSQL");
    get(t, "/health/database");
    expect(t, 503, "\"status\":\"unhealthy\"");
    get(t, "/health");
    expect(t, 503, "\"status\":\"unhealthy\"");
    get(t, "/bots/bot-1/history");
    expect(t, 503, "database unavailable");
    get(t, "/bots/bot-2"); /* the rules thread does not need the database */
    expect(t, 200, "\"status\":\"healthy\"");
    get(t, "/health/rules");
    expect(t, 200, "\"status\":\"healthy\"");
    bpt_assert(t->env, bpt_pg_restart(t->env) == 0, "could not restart PostgreSQL");
    bpt_assert(t->env, wait_status(t, "/health/database", 200, NULL) == 200,
               "database health not back: %s", t->r.body);
    get(t, "/bots/bot-1/history");
    expect(t, 200, "\"to\":\"stopped\"");
}

/* The dashboard's files, compiled in: typed, guarded by a CSP, and 404/405/400 for bad asks. */
static void check_dashboard_files(struct t *t)
{
    get(t, "/");
    expect(t, 200, "<script src=\"/ui/app.js\"></script>");
    bpt_assert(t->env, strcmp(t->r.ctype, "text/html; charset=utf-8") == 0, "/ is %s", t->r.ctype);
    get(t, "/ui/index.html");
    expect(t, 200, "<title>botpulse</title>");
    get(t, "/ui/app.js");
    expect(t, 200, "const POLL_MS");
    bpt_assert(t->env, strncmp(t->r.ctype, "text/javascript", 15) == 0, "app.js is %s", t->r.ctype);
    get(t, "/ui/style.css");
    expect(t, 200, ".badge");
    bpt_assert(t->env, strncmp(t->r.ctype, "text/css", 8) == 0, "style.css is %s", t->r.ctype);
    get(t, "/ui/nothing.js");
    expect_json_error(t, 404);
    get(t, "/ui/../collector.ini");
    expect_json_error(t, 404);
    get(t, "/ui/");
    expect_json_error(t, 404);
    get(t, "/?x=1");
    expect_json_error(t, 400);
    post_json(t, "/", TOKEN, NULL);
    expect_json_error(t, 405);
    bpt_assert(t->env, strcmp(t->r.allow, "GET, HEAD") == 0, "Allow: %s", t->r.allow);
}

static void test_every_route(void **state)
{
    struct t *t = *state;
    start(t, "timeout = 2s\ntoken = " TOKEN "\n");
    check_health_and_bots(t);
    check_metrics(t);
    check_dashboard_files(t);
    check_bad_input(t);
    check_mutations(t);
    check_alerts_and_history(t);
    check_database_outage(t);
    bpt_assert(t->env, bpt_stack_stop(&t->s) == 0, "a daemon did not shut down cleanly");
    bpt_openapi_check(t->env); /* every answer above, its status and fields as documented */
}

static void test_no_token_forbids_mutations(void **state)
{
    struct t *t = *state;
    start(t, "");
    post_json(t, "/bots/bot-1/health/check", TOKEN, NULL);
    expect(t, 403, "no [http] token is configured");
    get(t, "/bots/bot-1"); /* reading needs no token */
    expect(t, 200, "\"status\":\"healthy\"");
    bpt_assert(t->env, bpt_stack_stop(&t->s) == 0, "a daemon did not shut down cleanly");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_token_forbids_mutations, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
