/* SPDX-License-Identifier: MIT */
/* The HTTP API's grammar: every route, every way a path, method, id or parameter is wrong,
 * and the /bots list options (filters, sort, order, paging). */
#include "http_bots.h"
#include "http_commands.h"
#include "http_health.h"
#include "http_history.h"
#include "http_parse.h"
#include "http_samples.h"
#include "ui.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* method and path reach the route that handler answers, with id from the path. */
static void expect_route(const char *method, const char *path, col_http_handler handler,
                         const char *id)
{
    struct col_route_match m;
    assert_int_equal(col_route_match(method, path, &m), 0);
    assert_ptr_equal(m.route->handler, handler);
    assert_string_equal(m.id, id);
}

static void test_every_route_matches(void **state)
{
    expect_route("GET", "/health", col_http_health, "");
    expect_route("HEAD", "/health", col_http_health, "");
    expect_route("GET", "/health/broker", col_http_health_component, "broker");
    expect_route("GET", "/health/database", col_http_health_component, "database");
    expect_route("GET", "/health/rules", col_http_health_component, "rules");
    expect_route("GET", "/fleet/summary", col_http_fleet_summary, "");
    expect_route("GET", "/bots/health/summary", col_http_bots_summary, "");
    expect_route("GET", "/bots", col_http_bots_list, "");
    expect_route("POST", "/bots/heartbeat", col_http_heartbeat, "");
    expect_route("GET", "/bots/bot-1", col_http_bot_get, "bot-1");
    expect_route("GET", "/bots/bot-1/health", col_http_bot_get, "bot-1");
    expect_route("GET", "/bots/a.B_9-z/history", col_http_bot_history, "a.B_9-z");
    expect_route("GET", "/bots/bot-1/health/history", col_http_bot_history, "bot-1");
    expect_route("POST", "/bots/bot-1/health/check", col_http_bot_check, "bot-1");
    expect_route("POST", "/bots/bot-1/restart", col_http_restart_handle, "bot-1");
    expect_route("POST", "/bots/bot-1/intended", col_http_intended_handle, "bot-1");
    expect_route("GET", "/bots/bot-1/samples", col_http_samples_handle, "bot-1");
    expect_route("GET", "/alerts", col_http_alerts, "");
    expect_route("GET", "/metrics", col_http_metrics, "");
    expect_route("GET", "/", col_http_ui, "");
    expect_route("HEAD", "/", col_http_ui, "");
    expect_route("GET", "/ui/app.js", col_http_ui, "app.js");
    expect_route("GET", "/ui/no-such-file.css", col_http_ui, "no-such-file.css"); /* 404 later */
}

static void test_unknown_paths_are_404(void **state)
{
    static const char *const paths[] = {"/ui",       "/healthz",        "/health/",
                                        "/health/x", "/bots/",          "/bots//health",
                                        "/metrics/", "/bots/b/unknown", "/bots/b/health/checks",
                                        "/Bots",     "/fleet",          "/ui/",
                                        "/ui/a/b",   "/ui/../x",        "//"};
    struct col_route_match m;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        assert_int_equal(col_route_match("GET", paths[i], &m), -ENOENT);
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    struct col_route_match m;
    assert_int_equal(col_route_match("POST", "/metrics", &m), -EPERM);
    assert_string_equal(m.allow, "GET, HEAD");
    assert_int_equal(col_route_match("GET", "/bots/heartbeat", &m), -EPERM);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(col_route_match("GET", "/bots/b1/health/check", &m), -EPERM);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(col_route_match("DELETE", "/bots/b1", &m), -EPERM);
    assert_int_equal(col_route_match("PUT", "/health", &m), -EPERM);
    assert_int_equal(col_route_match("POST", "/", &m), -EPERM);
    assert_string_equal(m.allow, "GET, HEAD");
    assert_int_equal(col_route_match("DELETE", "/ui/app.js", &m), -EPERM);
}

static void test_bad_bot_ids_are_400(void **state)
{
    struct col_route_match m;
    char path[200];
    char long_id[66];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    snprintf(path, sizeof(path), "/bots/%s", long_id);
    assert_int_equal(col_route_match("GET", path, &m), -EINVAL);
    long_id[64] = '\0'; /* 64 is the longest valid id */
    snprintf(path, sizeof(path), "/bots/%s/history", long_id);
    assert_int_equal(col_route_match("GET", path, &m), 0);
    assert_int_equal(col_route_match("GET", "/bots/b%20c", &m), -EINVAL);
    assert_int_equal(col_route_match("GET", "/bots/b c", &m), -EINVAL);
    assert_int_equal(col_route_match("GET", "/bots/b;drop/health", &m), -EINVAL);
    assert_int_equal(col_route_match("POST", "/bots/b$/health/check", &m), -EINVAL);
    assert_ptr_equal(m.route->handler, col_http_bot_check);
    assert_true(m.mutating);
    assert_int_equal(col_route_match("POST", "/bots/b$/restart", &m), -EINVAL);
    assert_ptr_equal(m.route->handler, col_http_restart_handle);
    assert_true(m.mutating);
    assert_int_equal(col_route_match("GET", "/bots/b1/restart", &m), -EPERM);
    assert_int_equal(col_route_match("PUT", "/bots/b1/intended", &m), -EPERM);
    assert_int_equal(col_route_match("POST", "/bots/b%/intended", &m), -EINVAL);
    assert_ptr_equal(m.route->handler, col_http_intended_handle);
    assert_string_equal(m.allow, "POST");
}

static void test_route_parameters(void **state)
{
    struct col_route_match m;
    assert_int_equal(col_route_match("GET", "/bots", &m), 0);
    assert_true(col_route_takes(m.params, "status"));
    assert_true(col_route_takes(m.params, "offset"));
    assert_false(col_route_takes(m.params, "stat"));
    assert_false(col_route_takes(m.params, "from"));
    assert_false(col_route_takes(m.params, ""));
    assert_int_equal(col_route_match("GET", "/bots/b/history", &m), 0);
    assert_true(col_route_takes(m.params, "before"));
    assert_false(col_route_takes(m.params, "status"));
    assert_int_equal(col_route_match("GET", "/metrics", &m), 0);
    assert_false(col_route_takes(m.params, "x"));
}

static void test_parse_int(void **state)
{
    int64_t v = 0;
    assert_int_equal(col_parse_int("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(col_parse_int("-3", -5, 5, &v), 0);
    assert_int_equal(v, -3);
    assert_int_equal(col_parse_int("0", 1, 100, &v), -ERANGE);
    assert_int_equal(col_parse_int("101", 1, 100, &v), -ERANGE);
    assert_int_equal(col_parse_int("99999999999999999999999", 0, INT64_MAX, &v), -ERANGE);
    static const char *const bad[] = {"", "-", "+1", "1.5", "1e3", " 1", "1 ", "0x10", "abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(col_parse_int(bad[i], INT64_MIN, INT64_MAX, &v), -EINVAL);
}

static void test_parse_status(void **state)
{
    assert_int_equal(col_parse_status("healthy"), COL_ST_HEALTHY);
    assert_int_equal(col_parse_status("down"), COL_ST_DOWN);
    assert_int_equal(col_parse_status("unknown"), COL_ST_UNKNOWN);
    assert_int_equal(col_parse_status("Healthy"), -1);
    assert_int_equal(col_parse_status(""), -1);
}

/* Query parameters for col_list_opts_parse: NULL-terminated name, value pairs. */
static const char *lookup(void *cls, const char *name)
{
    const char *const *kv = cls;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

static int parse(const char *const *kv, struct col_list_opts *o)
{
    char err[200] = "";
    int rc = col_list_opts_parse(lookup, (void *)kv, o, err, sizeof(err));
    assert_true(rc == 0 ? err[0] == '\0' : err[0] != '\0'); /* an error always says why */
    return rc;
}

static void test_samples_range(void **state)
{
    const int64_t now = 1700000000000LL;
    int64_t from, to;
    char err[300];
    const char *none[] = {NULL};
    assert_int_equal(col_samples_range_parse(lookup, (void *)none, now, &from, &to, err, 300), 0);
    assert_int_equal(to, now);
    assert_int_equal(from, now - 6 * 3600 * 1000LL);
    const char *both[] = {"from", "1699990000000", "to", "1699999000000", NULL};
    assert_int_equal(col_samples_range_parse(lookup, (void *)both, now, &from, &to, err, 300), 0);
    assert_int_equal(from, 1699990000000LL);
    assert_int_equal(to, 1699999000000LL);
    static const char *const bad[][5] = {
        {"from", "x", NULL},
        {"to", "-5", NULL},
        {"from", "1699999000000", "to", "1699990000000", NULL}, /* from after to */
        {"from", "1700000000000", "to", "1700000000000", NULL}, /* empty */
        {"from", "1600000000000", NULL},                        /* more than 7 days */
        {"to", "99999999999999999999", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(col_samples_range_parse(lookup, (void *)bad[i], now, &from, &to, err, 300),
                         -EINVAL);
        assert_true(err[0] != '\0');
    }
}

static void test_list_options(void **state)
{
    struct col_list_opts o;
    const char *none[] = {NULL};
    assert_int_equal(parse(none, &o), 0);
    assert_int_equal(o.limit, 100);
    assert_int_equal(o.offset, 0);
    assert_int_equal(o.filter.status, -1);
    assert_int_equal(o.sort, COL_SORT_ID);
    assert_false(o.desc);
    const char *all[] = {"status",   "down", "account", "acct-1", "host",  "h 1",
                         "exchange", "ex",   "sort",    "since",  "order", "desc",
                         "limit",    "5",    "offset",  "10",     NULL};
    assert_int_equal(parse(all, &o), 0);
    assert_int_equal(o.filter.status, COL_ST_DOWN);
    assert_string_equal(o.filter.account, "acct-1");
    assert_string_equal(o.filter.host, "h 1");
    assert_string_equal(o.filter.exchange, "ex");
    assert_int_equal(o.sort, COL_SORT_SINCE);
    assert_true(o.desc);
    assert_int_equal(o.limit, 5);
    assert_int_equal(o.offset, 10);
    const char *bad[][3] = {{"status", "fine", NULL},  {"sort", "name", NULL},
                            {"order", "up", NULL},     {"limit", "0", NULL},
                            {"limit", "1001", NULL},   {"limit", "ten", NULL},
                            {"offset", "-1", NULL},    {"account", "a b", NULL},
                            {"exchange", "x/y", NULL}, {"limit", "", NULL}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i], &o), -EINVAL);
}

static void view(struct col_bot_view *v, const char *id, enum col_status st, int64_t since,
                 int64_t hb)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->snap.id, sizeof(v->snap.id), "%s", id);
    v->snap.status = st;
    v->snap.since = since;
    v->snap.last_heartbeat = hb;
}

static void test_sort(void **state)
{
    struct col_bot_view v[4];
    view(&v[0], "c", COL_ST_DOWN, 30, 1);
    view(&v[1], "a", COL_ST_HEALTHY, 10, 3);
    view(&v[2], "d", COL_ST_DOWN, 20, 2);
    view(&v[3], "b", COL_ST_HEALTHY, 40, 4);
    struct col_list_opts o = {.sort = COL_SORT_ID};
    col_bots_sort(v, 4, &o);
    assert_string_equal(v[0].snap.id, "a");
    assert_string_equal(v[3].snap.id, "d");
    o.desc = true;
    col_bots_sort(v, 4, &o);
    assert_string_equal(v[0].snap.id, "d");
    o.sort = COL_SORT_STATUS; /* worst first, ties by id ascending */
    col_bots_sort(v, 4, &o);
    assert_string_equal(v[0].snap.id, "c");
    assert_string_equal(v[1].snap.id, "d");
    assert_string_equal(v[2].snap.id, "a");
    o = (struct col_list_opts){.sort = COL_SORT_SINCE};
    col_bots_sort(v, 4, &o);
    assert_string_equal(v[0].snap.id, "a");
    assert_string_equal(v[1].snap.id, "d");
    o = (struct col_list_opts){.sort = COL_SORT_LAST_HEARTBEAT, .desc = true};
    col_bots_sort(v, 4, &o);
    assert_string_equal(v[0].snap.id, "b");
    assert_string_equal(v[3].snap.id, "c");
}

static void test_summary_counts(void **state)
{
    (void)state;
    struct col_agent h1 = {.id = "agent-1", .host = "h1"};
    struct col_bot b[3] = {
        {.id = "a", .status = COL_ST_HEALTHY, .account = "acct", .exchange = ""},
        {.id = "b", .status = COL_ST_DOWN, .account = "", .exchange = "", .agent = &h1},
        {.id = "c", .status = COL_ST_HEALTHY, .account = "", .exchange = ""}};
    struct col_query *qr = col_query_new(COL_Q_COUNTS);
    assert_non_null(qr);
    for (int i = 0; i < 3; i++)
        assert_int_equal(col_query_count_bot(qr, &b[i]), 0);
    cJSON *o = col_summary_json(qr, false);
    char *s = cJSON_PrintUnformatted(o);
    assert_non_null(strstr(s, "\"total\":3,\"by_status\":{\"unknown\":0,\"healthy\":2"));
    assert_non_null(strstr(s, "\"acct\":{\"total\":1"));
    assert_non_null(strstr(s, "\"-\":{\"total\":2"));
    assert_non_null(strstr(s, "\"h1\":{\"total\":1,\"by_status\":{\"unknown\":0,\"healthy\":0,"));
    cJSON_free(s);
    cJSON_Delete(o);
    o = col_summary_json(qr, true); /* seed 000: counts at the top level */
    assert_int_equal(cJSON_GetObjectItem(o, "healthy")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(o, "down")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(o, "stale")->valueint, 0);
    assert_null(cJSON_GetObjectItem(o, "by_account"));
    cJSON_Delete(o);
    col_query_release(qr);
}

/* docs/openapi.yaml and the route table agree: every documented path is a route, and every
 * route is documented. */
static void test_openapi_lists_every_route(void **state)
{
    FILE *f = fopen(BP_SOURCE_DIR "/docs/openapi.yaml", "r");
    assert_non_null(f);
    char line[512];
    bool in_paths = false, seen[64] = {false};
    assert_true(col_routes_count <= 64);
    int npaths = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strcmp(line, "paths:\n") == 0) {
            in_paths = true;
            continue;
        }
        if (!in_paths || strncmp(line, "  /", 3) != 0)
            continue;
        char path[256] = "";
        size_t n = 0;
        for (const char *p = line + 2; *p && *p != ':' && n < 200; p++) {
            if (strncmp(p, "{id}", 4) == 0 || strncmp(p, "{component}", 11) == 0 ||
                strncmp(p, "{asset}", 7) == 0) {
                n += (size_t)snprintf(path + n, sizeof(path) - n, "%s",
                                      p[1] == 'i'   ? "bot-1"
                                      : p[1] == 'a' ? "app.js"
                                                    : "rules");
                p = strchr(p, '}');
                continue;
            }
            path[n++] = *p;
            path[n] = '\0';
        }
        struct col_route_match m;
        int rc = col_route_match("GET", path, &m);
        if (rc == -EPERM)
            rc = col_route_match("POST", path, &m);
        if (rc == -EPERM)
            rc = col_route_match("DELETE", path, &m);
        if (rc != 0)
            fail_msg("openapi.yaml documents %s, which is not a route", path);
        for (size_t r = 0; r < col_routes_count; r++) /* each method of the path */
            if (strcmp(col_routes[r].pattern, m.route->pattern) == 0)
                seen[r] = true;
        npaths++;
    }
    fclose(f);
    assert_int_equal(npaths, 22);
    for (size_t r = 0; r < col_routes_count; r++)
        if (!seen[r])
            fail_msg("route %s %s is not in docs/openapi.yaml", col_routes[r].method,
                     col_routes[r].pattern);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_matches),
        cmocka_unit_test(test_unknown_paths_are_404),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_bad_bot_ids_are_400),
        cmocka_unit_test(test_route_parameters),
        cmocka_unit_test(test_parse_int),
        cmocka_unit_test(test_parse_status),
        cmocka_unit_test(test_list_options),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_summary_counts),
        cmocka_unit_test(test_openapi_lists_every_route),
        cmocka_unit_test(test_samples_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
