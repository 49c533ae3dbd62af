/* SPDX-License-Identifier: MIT */
/* The partition arithmetic: which parts of a wanted range no partition covers yet, partition
 * names, timestamptz literals, and the COPY text format of a row. */
#include "store_copy.h"
#include "store_db.h"
#include "store_parts.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D COL_DAY_MS
#define JAN1 INT64_C(1704067200000) /* 2024-01-01 00:00:00 UTC */

static void test_gaps_around_existing_partitions(void **state)
{
    struct col_range out[8];
    /* nothing yet: the whole range */
    assert_int_equal(col_parts_gaps((struct col_range){0, 4 * D}, NULL, 0, out, 8), 1);
    assert_true(out[0].lo == 0 && out[0].hi == 4 * D);
    /* day 1 and a month-long one from day 3 (a migrated month): days 0, 2 are missing */
    const struct col_range have[] = {{1 * D, 2 * D}, {3 * D, 33 * D}};
    assert_int_equal(col_parts_gaps((struct col_range){0, 40 * D}, have, 2, out, 8), 3);
    assert_true(out[0].lo == 0 && out[0].hi == 1 * D);
    assert_true(out[1].lo == 2 * D && out[1].hi == 3 * D);
    assert_true(out[2].lo == 33 * D && out[2].hi == 40 * D);
    /* wholly covered: nothing */
    assert_int_equal(col_parts_gaps((struct col_range){4 * D, 5 * D}, have, 2, out, 8), 0);
    /* starts inside a partition: the rest after it */
    assert_int_equal(col_parts_gaps((struct col_range){20 * D, 35 * D}, have, 2, out, 8), 1);
    assert_true(out[0].lo == 33 * D && out[0].hi == 35 * D);
    /* more gaps than room: counted, not written past max */
    assert_int_equal(col_parts_gaps((struct col_range){0, 40 * D}, have, 2, out, 1), 3);
}

static void test_partition_names(void **state)
{
    char name[64];
    assert_int_equal(col_parts_name("trades", JAN1 + 45 * D, name, sizeof(name)), 0);
    assert_string_equal(name, "trades_p20240215");
    assert_int_equal(
        col_parts_name("bot_samples", JAN1 + 3600000 * 13 + 60000 * 30, name, sizeof(name)), 0);
    assert_string_equal(name, "bot_samples_p20240101_133000");
    assert_int_equal(col_parts_name("command_results", 0, name, sizeof(name)), 0);
    assert_string_equal(name, "command_results_p19700101");
    assert_int_equal(col_parts_name("trades", JAN1, name, 10), -ENAMETOOLONG);
}

static void test_timestamp_literals(void **state)
{
    char ts[COL_STORE_TS_LEN];
    col_store_db_ts(JAN1, ts, sizeof(ts));
    assert_string_equal(ts, "2024-01-01 00:00:00+00");
    col_store_db_ts(JAN1 + 42007, ts, sizeof(ts));
    assert_string_equal(ts, "2024-01-01 00:00:42.007+00");
    col_store_db_ts(-1, ts, sizeof(ts)); /* before 1970: floors, not truncates */
    assert_string_equal(ts, "1969-12-31 23:59:59.999+00");
    col_store_db_ts(INT64_MAX / 2, ts, sizeof(ts)); /* the server refuses what it cannot hold */
    assert_true(strcmp(ts, "invalid") == 0 || strlen(ts) > 24);
    assert_true(col_store_floor_div(-1, D) == -1 && col_store_floor_div(D, D) == 1);
}

static void test_copy_row_escapes(void **state)
{
    struct col_store_copybuf b = {0};
    const char *v[] = {"a\tb", NULL, "back\\slash", "line\nbreak\r", ""};
    assert_true(col_store_copy_row(&b, v, 5));
    assert_string_equal(b.s, "a\\tb\t\\N\tback\\\\slash\tline\\nbreak\\r\t\n");
    free(b.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gaps_around_existing_partitions),
        cmocka_unit_test(test_partition_names),
        cmocka_unit_test(test_timestamp_literals),
        cmocka_unit_test(test_copy_row_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
