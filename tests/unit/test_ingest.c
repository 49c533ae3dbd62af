/* SPDX-License-Identifier: MIT */
/* Ingest's time check: a message stamped far ahead of the collector's clock, or by a clock that
 * was never set, is rejected as range before it reaches the rules thread. */
#include "ingest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#define NOW 1796000000000LL /* 2026-11-30 */
#define HOUR 3600000LL

static struct bp_msg msg(enum bp_msg_type type, int64_t ts)
{
    struct bp_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr.type = type;
    m.hdr.ts = ts;
    return m;
}

static void expect(const struct bp_msg *m, int rc, const char *detail)
{
    struct bp_msg_error err = {0};
    assert_int_equal(col_ingest_check_times(m, NOW, &err), rc);
    if (rc == 0)
        return;
    assert_int_equal(err.code, BP_MSG_ERR_RANGE);
    if (!strstr(err.detail, detail))
        fail_msg("'%s' does not say '%s'", err.detail, detail);
}

static void test_implausible_times_are_range(void **state)
{
    (void)state;
    struct bp_msg m = msg(BP_MSG_HEARTBEAT, NOW + 100 * 365 * 24 * HOUR); /* issue 14's century */
    expect(&m, -ERANGE, "field 'ts': 876000 h ahead");
    m = msg(BP_MSG_HEARTBEAT, NOW + 24 * HOUR + 1);
    expect(&m, -ERANGE, "field 'ts'");
    m = msg(BP_MSG_HEARTBEAT, NOW + 24 * HOUR); /* a day ahead: a bad clock, still judged */
    expect(&m, 0, NULL);
    m = msg(BP_MSG_STATS, 1000); /* a board without a real-time clock, at boot */
    expect(&m, -ERANGE, "not set");
    m = msg(BP_MSG_TRADE, NOW - 300 * 24 * HOUR); /* buffered for months: late, not wrong */
    m.u.trade.trade_ts = NOW - 300 * 24 * HOUR;
    expect(&m, 0, NULL);
    m = msg(BP_MSG_TRADE, NOW);
    m.u.trade.trade_ts = NOW + 48 * HOUR;
    expect(&m, -ERANGE, "field 'trade.ts'");
    m = msg(BP_MSG_HEARTBEAT, NOW);
    m.u.heartbeat.last_trade_ts = NOW + 48 * HOUR;
    expect(&m, -ERANGE, "field 'last_trade_ts'");
    m.u.heartbeat.last_trade_ts = 0; /* none yet */
    expect(&m, 0, NULL);
    m = msg(BP_MSG_EVENT, NOW);
    m.u.event.event_ts = NOW + 48 * HOUR;
    expect(&m, -ERANGE, "field 'event.ts'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_implausible_times_are_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
