/* SPDX-License-Identifier: MIT */
/* Batches of heartbeats and stats: the golden example reads back as whole messages, a bad item
 * is rejected alone, a bad envelope rejects the batch, and the writer's output reads back. */
#include "batch.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>

#define EXAMPLES BP_SOURCE_DIR "/proto/examples/batch"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[BP_BATCH_MAX_BYTES + 1];
    *len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void test_golden_batch_reads_as_messages(void **state)
{
    size_t len;
    const char *json = read_file(EXAMPLES "/batch.json", &len);
    struct bp_batch *b;
    struct bp_msg_error err;
    assert_int_equal(bp_batch_open(json, len, &b, &err), 0);
    const struct bp_msg_header *h = bp_batch_header(b);
    assert_string_equal(h->agent, "vps-fra-01");
    assert_int_equal(h->seq, 57);
    assert_int_equal(bp_batch_count(b), 3);
    struct bp_msg m;
    assert_int_equal(bp_batch_next(b, &m, &err), 1);
    assert_int_equal(m.hdr.type, BP_MSG_HEARTBEAT);
    assert_string_equal(m.hdr.agent, "vps-fra-01");
    assert_string_equal(m.hdr.bot, "grid-btc-1");
    assert_string_equal(m.hdr.boot, "b7f3c2a9");
    assert_int_equal(m.hdr.ts, 1767225601234);
    assert_true(m.u.heartbeat.proc.alive);
    assert_int_equal(m.u.heartbeat.last_trade_ts, 1767225510000);
    assert_int_equal(bp_batch_next(b, &m, &err), 1);
    assert_string_equal(m.hdr.bot, "dca-eth-2");
    assert_true(m.u.heartbeat.has_signals);
    assert_int_equal(m.u.heartbeat.signals.orders, 2);
    assert_int_equal(m.u.heartbeat.nmetrics, 1);
    assert_int_equal(bp_batch_next(b, &m, &err), 1);
    assert_int_equal(m.hdr.type, BP_MSG_STATS);
    assert_true(m.u.stats.has_proc_threads);
    assert_true(m.u.stats.host_disk_pct > 72.3 && m.u.stats.host_disk_pct < 72.5);
    assert_int_equal(bp_batch_next(b, &m, &err), 0);
    bp_batch_free(b);
}

/* proto/examples/batch/invalid/<reason>_*.json: the whole batch is refused for that reason. */
static void test_invalid_envelopes(void **state)
{
    DIR *d = opendir(EXAMPLES "/invalid");
    assert_non_null(d);
    int seen = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strstr(e->d_name, ".json"))
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/invalid/%s", EXAMPLES, e->d_name);
        size_t len;
        const char *json = read_file(path, &len);
        struct bp_batch *b = NULL;
        struct bp_msg_error err;
        int rc = bp_batch_open(json, len, &b, &err);
        if (rc == 0 ||
            strncmp(e->d_name, bp_msg_err_name(err.code), strlen(bp_msg_err_name(err.code))) != 0)
            fail_msg("%s: rc %d, reason %s (%s)", e->d_name, rc, bp_msg_err_name(err.code),
                     err.detail);
        assert_null(b);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 8);
}

/* One bad item is rejected with its index and reason; the items around it still count. */
static void test_bad_item_rejected_alone(void **state)
{
    const char *json =
        "{\"v\":1,\"type\":\"batch\",\"agent\":\"a\",\"boot\":\"b\",\"seq\":1,\"ts\":5,\"items\":["
        "{\"type\":\"heartbeat\",\"bot\":\"x\",\"interval_ms\":1000,\"proc\":{\"alive\":true}},"
        "{\"type\":\"heartbeat\",\"bot\":\"y\",\"interval_ms\":1000,\"proc\":{\"alive\":true},"
        "\"color\":1},"
        "{\"type\":\"trade\",\"bot\":\"z\",\"trade\":{\"ts\":1}},"
        "{\"type\":\"stats\",\"bot\":\"w\",\"proc\":{\"cpu_pct\":1,\"rss_kb\":2},"
        "\"host\":{\"cpu_pct\":1,\"mem_pct\":2,\"disk_pct\":3,\"load1\":0}},"
        "[1]]}";
    struct bp_batch *b;
    struct bp_msg_error err;
    assert_int_equal(bp_batch_open(json, strlen(json), &b, &err), 0);
    struct bp_msg m;
    assert_int_equal(bp_batch_next(b, &m, &err), 1);
    assert_string_equal(m.hdr.bot, "x");
    assert_int_equal(bp_batch_next(b, &m, &err), -EINVAL);
    assert_int_equal(err.code, BP_MSG_ERR_UNKNOWN_FIELD);
    assert_non_null(strstr(err.detail, "items[1]"));
    assert_int_equal(bp_batch_next(b, &m, &err), -EINVAL); /* trades keep their own messages */
    assert_int_equal(err.code, BP_MSG_ERR_TYPE);
    assert_int_equal(bp_batch_next(b, &m, &err), 1);
    assert_int_equal(m.hdr.type, BP_MSG_STATS);
    assert_string_equal(m.hdr.bot, "w");
    assert_int_equal(bp_batch_next(b, &m, &err), -EINVAL);
    assert_int_equal(err.code, BP_MSG_ERR_WRONG_TYPE);
    assert_int_equal(bp_batch_next(b, &m, &err), 0);
    bp_batch_free(b);
}

static void test_too_large_and_not_a_message(void **state)
{
    static char big[BP_BATCH_MAX_BYTES + 2];
    memset(big, ' ', sizeof(big) - 1);
    struct bp_batch *b = NULL;
    struct bp_msg_error err;
    assert_int_equal(bp_batch_open(big, sizeof(big) - 1, &b, &err), -E2BIG);
    assert_int_equal(err.code, BP_MSG_ERR_TOO_LARGE);
    size_t len;
    const char *json = read_file(EXAMPLES "/batch.json", &len);
    struct bp_msg m;
    assert_int_equal(bp_msg_decode(json, len, &m, &err), -EINVAL); /* read with bp_batch_open */
    assert_int_equal(err.code, BP_MSG_ERR_TYPE);
    struct bp_topic t;
    assert_int_equal(bp_topic_parse("botpulse/v1", "botpulse/v1/agents/a/batch", &t), 0);
    assert_int_equal(t.type, BP_MSG_BATCH);
    assert_string_equal(bp_msg_type_name(BP_MSG_BATCH), "batch");
}

static struct bp_msg heartbeat(const char *bot, int64_t last_trade)
{
    struct bp_msg m = {0};
    m.hdr.type = BP_MSG_HEARTBEAT;
    snprintf(m.hdr.bot, sizeof(m.hdr.bot), "%s", bot);
    m.u.heartbeat.interval_ms = 10000;
    m.u.heartbeat.proc =
        (struct bp_proc_info){.alive = true, .pid = 42, .uptime_s = 60, .start_ts = 1000};
    m.u.heartbeat.last_trade_ts = last_trade;
    return m;
}

/* What the writer makes reads back item for item, and it refuses the item that would not fit. */
static void test_writer_round_trip_and_limit(void **state)
{
    struct bp_batch_writer *w = bp_batch_writer_new("agent-1", "boot-1");
    assert_non_null(w);
    assert_null(bp_batch_writer_take(w, 1, 2)); /* nothing to send */
    char bot[16];
    for (int i = 0; i < BP_BATCH_MAX_ITEMS; i++) {
        snprintf(bot, sizeof(bot), "bot-%d", i);
        struct bp_msg m = heartbeat(bot, 1000 + i);
        assert_int_equal(bp_batch_writer_add(w, &m), 0);
    }
    struct bp_msg extra = heartbeat("one-too-many", 1);
    assert_int_equal(bp_batch_writer_add(w, &extra), -EMSGSIZE);
    extra.hdr.type = BP_MSG_TRADE;
    assert_int_equal(bp_batch_writer_add(w, &extra), -EINVAL);
    char *json = bp_batch_writer_take(w, 7, 123456);
    assert_non_null(json);
    assert_int_equal(bp_batch_writer_count(w), 0);
    struct bp_batch *b;
    struct bp_msg_error err;
    assert_int_equal(bp_batch_open(json, strlen(json), &b, &err), 0);
    assert_int_equal(bp_batch_count(b), BP_BATCH_MAX_ITEMS);
    struct bp_msg m;
    for (int i = 0; i < BP_BATCH_MAX_ITEMS; i++) {
        assert_int_equal(bp_batch_next(b, &m, &err), 1);
        snprintf(bot, sizeof(bot), "bot-%d", i);
        assert_string_equal(m.hdr.bot, bot);
        assert_string_equal(m.hdr.agent, "agent-1");
        assert_int_equal(m.hdr.seq, 7);
        assert_int_equal(m.u.heartbeat.last_trade_ts, 1000 + i);
    }
    bp_batch_free(b);
    free(json);
    bp_batch_writer_free(w);
    assert_null(bp_batch_writer_new("bad id", "b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_batch_reads_as_messages),
        cmocka_unit_test(test_invalid_envelopes),
        cmocka_unit_test(test_bad_item_rejected_alone),
        cmocka_unit_test(test_too_large_and_not_a_message),
        cmocka_unit_test(test_writer_round_trip_and_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
