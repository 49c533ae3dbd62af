/* SPDX-License-Identifier: MIT */
/* The audit report's interval arithmetic (report.h), fed by hand: time per status, uptime,
 * heartbeat gaps, the worst incidents, per bot and for the fleet. */
#include "report.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

static void test_report_intervals(void **state)
{
    struct col_report r;
    col_report_init(&r, 1000, 11000); /* 10 s */
    struct col_report_bot *b = col_report_bot(&r, "bot-1");
    col_report_initial(&r, b, COL_ST_HEALTHY);
    col_report_step(&r, b, 3000, COL_ST_DOWN);
    col_report_step(&r, b, 5000, COL_ST_HEALTHY);
    col_report_step(&r, b, 6000, COL_ST_DEGRADED);
    col_report_step(&r, b, 7000, COL_ST_DOWN);
    col_report_step(&r, b, 9000, COL_ST_IDLE);
    /* a bot first seen inside the range: observed from then on, and still down at the end */
    struct col_report_bot *c = col_report_bot(&r, "bot-0");
    col_report_step(&r, c, 4000, COL_ST_HEALTHY);
    col_report_step(&r, c, 8000, COL_ST_DOWN);
    col_report_finish(&r);
    assert_int_equal(r.nbots, 2);
    assert_string_equal(r.bots[0].bot, "bot-0"); /* kept sorted */
    b = &r.bots[1];
    assert_int_equal(b->ms_in[COL_ST_HEALTHY], 3000);
    assert_int_equal(b->ms_in[COL_ST_DOWN], 4000);
    assert_int_equal(b->ms_in[COL_ST_DEGRADED], 1000);
    assert_int_equal(b->ms_in[COL_ST_IDLE], 2000);
    assert_int_equal(b->observed_ms, 10000);
    assert_int_equal(b->up_ms, 5000);
    assert_true(col_report_uptime(b->up_ms, b->observed_ms) == 50.0);
    assert_int_equal(b->gaps, 2);
    assert_int_equal(b->gap_ms, 4000);
    assert_int_equal(b->longest_gap_ms, 2000);
    /* degraded then down is one incident of 3 s, the worst status down */
    assert_int_equal(b->nworst, 2);
    assert_int_equal(b->worst[0].start, 6000);
    assert_int_equal(b->worst[0].end, 9000);
    assert_int_equal(b->worst[0].worst, COL_ST_DOWN);
    assert_int_equal(b->worst[1].end - b->worst[1].start, 2000);
    c = &r.bots[0];
    /* the 3 s before it first existed are in no status: not "unknown" (issue 16) */
    assert_int_equal(c->ms_in[COL_ST_UNKNOWN], 0);
    assert_int_equal(c->ms_in[COL_ST_HEALTHY] + c->ms_in[COL_ST_DOWN], c->observed_ms);
    assert_int_equal(c->observed_ms, 7000);
    assert_int_equal(c->up_ms, 4000);
    assert_int_equal(c->gaps, 1);
    assert_int_equal(c->gap_ms, 3000); /* still down: closed at the range's end */
    cJSON *j = col_report_json(&r);
    cJSON *fleet = cJSON_GetObjectItem(j, "fleet");
    assert_int_equal(cJSON_GetObjectItem(fleet, "bots")->valueint, 2);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(fleet, "heartbeat_gaps"), "count")->valueint, 3);
    cJSON *worst = cJSON_GetObjectItem(fleet, "worst_incidents");
    assert_int_equal(cJSON_GetArraySize(worst), 3);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(worst, 0), "duration_ms")->valueint,
                     3000);
    cJSON_Delete(j);
    col_report_cleanup(&r);
}

static void test_report_keeps_the_five_longest(void **state)
{
    struct col_report r;
    col_report_init(&r, 0, 100000);
    struct col_report_bot *b = col_report_bot(&r, "b");
    col_report_initial(&r, b, COL_ST_HEALTHY);
    int64_t t = 0;
    for (int len = 1; len <= 8; len++) { /* incidents of 1..8 s */
        col_report_step(&r, b, t += 1000, COL_ST_HUNG);
        col_report_step(&r, b, t += len * 1000, COL_ST_HEALTHY);
    }
    col_report_step(&r, b, 500, COL_ST_HEALTHY); /* out of order: no negative time */
    col_report_finish(&r);
    assert_int_equal(b->nworst, COL_REPORT_WORST);
    assert_int_equal(b->ms_in[COL_ST_HUNG], 36000);
    assert_int_equal(b->ms_in[COL_ST_HEALTHY] + b->ms_in[COL_ST_HUNG], 100000);
    for (size_t i = 0; i < COL_REPORT_WORST; i++)
        assert_int_equal(b->worst[i].end - b->worst[i].start, (int64_t)(8 - i) * 1000);
    col_report_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_intervals),
        cmocka_unit_test(test_report_keeps_the_five_longest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
