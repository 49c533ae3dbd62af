/* SPDX-License-Identifier: MIT */
/* deploy/grafana/botpulse.json stays true to /metrics: it is valid JSON, every panel has a
 * query, and every botpulse_* family a query names is one the collector exports (checked
 * against col_metrics_render's own # TYPE lines, with a store so its families are there). */
#include "metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Fails unless every botpulse_* name in expr has "# TYPE <name> " in exported. */
static int check_expr(const char *expr, const char *exported)
{
    int found = 0;
    for (const char *p = strstr(expr, "botpulse_"); p; p = strstr(p, "botpulse_")) {
        char name[128], want[160];
        size_t n = 0;
        while ((isalnum((unsigned char)p[n]) || p[n] == '_') && n < sizeof(name) - 1) {
            name[n] = p[n];
            n++;
        }
        name[n] = '\0';
        snprintf(want, sizeof(want), "# TYPE %s ", name);
        if (!strstr(exported, want))
            fail_msg("the dashboard queries %s, which /metrics does not export", name);
        found++;
        p += n;
    }
    return found;
}

static void test_dashboard_queries_exported_families(void **state)
{
    struct col_metrics_input in = {.now_wall = 1, .have_store = true, .mqtt_connected = true};
    char *exported = col_metrics_render(&in);
    assert_non_null(exported);
    char *text = slurp(BP_SOURCE_DIR "/deploy/grafana/botpulse.json");
    cJSON *d = cJSON_Parse(text);
    assert_non_null(d);
    assert_string_equal(cJSON_GetObjectItem(d, "uid")->valuestring, "botpulse");
    const cJSON *panel;
    int npanels = 0, nnames = 0;
    cJSON_ArrayForEach(panel, cJSON_GetObjectItem(d, "panels")) {
        const cJSON *targets = cJSON_GetObjectItem(panel, "targets"), *t;
        assert_true(cJSON_GetArraySize(targets) > 0);
        cJSON_ArrayForEach(t, targets) {
            const cJSON *e = cJSON_GetObjectItem(t, "expr");
            assert_true(cJSON_IsString(e));
            nnames += check_expr(e->valuestring, exported);
        }
        npanels++;
    }
    assert_true(npanels >= 10);
    assert_true(nnames >= 15);
    cJSON_Delete(d);
    free(text);
    free(exported);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dashboard_queries_exported_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
