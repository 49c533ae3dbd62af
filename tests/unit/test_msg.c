/* SPDX-License-Identifier: MIT */
/* Unit tests of the wire codec: the golden vectors in proto/examples, sizes, topics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "msg.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLES BP_SOURCE_DIR "/proto/examples"
#define ROOT "botpulse/v1"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Reads a whole file (malloc'd, NUL-terminated; *len excludes the NUL). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the *.json files in dir; *count gets their number. Free with free_names. */
static char **list_json(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        assert_non_null(names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    *count = n;
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The error a file name promises: the longest bp_msg_err_name followed by '_'. */
static enum bp_msg_err expected_error(const char *file)
{
    enum bp_msg_err best = BP_MSG_OK;
    size_t best_len = 0;
    for (int e = 1; e < BP_MSG_ERR_COUNT; e++) {
        const char *name = bp_msg_err_name((enum bp_msg_err)e);
        size_t len = strlen(name);
        if (len > best_len && strncmp(file, name, len) == 0 && file[len] == '_') {
            best = (enum bp_msg_err)e;
            best_len = len;
        }
    }
    return best;
}

/* Decodes s (whole string) and asserts success. */
static void decode_ok(const char *s, struct bp_msg *m)
{
    struct bp_msg_error err;
    int rc = bp_msg_decode(s, strlen(s), m, &err);
    if (rc != 0)
        fail_msg("decode failed: %s: %s\n  in %s", bp_msg_err_name(err.code), err.detail, s);
}

static enum bp_msg_err decode_err(const char *s)
{
    struct bp_msg m;
    struct bp_msg_error err;
    int rc = bp_msg_decode(s, strlen(s), &m, &err);
    assert_int_not_equal(rc, 0);
    assert_true(err.detail[0] != '\0');
    return err.code;
}

static const char HB[] =
    "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"a1\",\"bot\":\"b1\",\"boot\":\"x\","
    "\"seq\":7,\"ts\":1767225601234,\"interval_ms\":10000,"
    "\"proc\":{\"alive\":true,\"pid\":48211,\"uptime_s\":86400,"
    "\"start_ts\":1767139201234},\"last_trade_ts\":1767225510000}";

/* ---- golden vectors ----------------------------------------------------------------------- */

static void test_valid_vectors_round_trip(void **state)
{
    size_t n;
    char **names = list_json(EXAMPLES "/valid", &n);
    assert_true(n >= 7);
    for (size_t i = 0; i < n; i++) {
        char path[512], *text;
        size_t len;
        snprintf(path, sizeof(path), "%s/valid/%s", EXAMPLES, names[i]);
        text = read_file(path, &len);
        struct bp_msg m1, m2;
        struct bp_msg_error err;
        if (bp_msg_decode(text, len, &m1, &err) != 0)
            fail_msg("%s: %s: %s", names[i], bp_msg_err_name(err.code), err.detail);
        char *enc1 = bp_msg_encode(&m1);
        assert_non_null(enc1);
        decode_ok(enc1, &m2);
        if (memcmp(&m1, &m2, sizeof(m1)) != 0)
            fail_msg("%s: decode(encode(m)) != m; encoded %s", names[i], enc1);
        char *enc2 = bp_msg_encode(&m2);
        assert_string_equal(enc1, enc2);
        /* The type in the file name matches the decoded type. */
        assert_int_equal(
            strncmp(names[i], bp_msg_type_name(m1.hdr.type), strlen(bp_msg_type_name(m1.hdr.type))),
            0);
        free(enc1);
        free(enc2);
        free(text);
    }
    free_names(names, n);
}

static void test_invalid_vectors_fail_with_named_code(void **state)
{
    size_t n;
    char **names = list_json(EXAMPLES "/invalid", &n);
    bool covered[BP_MSG_ERR_COUNT] = {false};
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++) {
        char path[512], *text;
        size_t len;
        snprintf(path, sizeof(path), "%s/invalid/%s", EXAMPLES, names[i]);
        text = read_file(path, &len);
        enum bp_msg_err want = expected_error(names[i]);
        if (want == BP_MSG_OK)
            fail_msg("%s: file name does not start with an error name", names[i]);
        struct bp_msg m;
        struct bp_msg_error err;
        int rc = bp_msg_decode(text, len, &m, &err);
        if (rc != -EINVAL || err.code != want)
            fail_msg("%s: want %s, got rc %d %s (%s)", names[i], bp_msg_err_name(want), rc,
                     bp_msg_err_name(err.code), err.detail);
        covered[want] = true;
        free(text);
    }
    /* Every code a payload alone can produce has a vector (too_large and topic are made here). */
    for (int e = BP_MSG_ERR_JSON; e <= BP_MSG_ERR_RANGE; e++)
        if (!covered[e])
            fail_msg("no invalid vector for %s", bp_msg_err_name((enum bp_msg_err)e));
    free_names(names, n);
}

/* ---- sizes and buffers -------------------------------------------------------------------- */

static void test_too_large_rejected_unparsed(void **state)
{
    char *buf = malloc(BP_MSG_MAX_BYTES + 1);
    assert_non_null(buf);
    memset(buf, ' ', BP_MSG_MAX_BYTES + 1);
    memcpy(buf, HB, strlen(HB));
    struct bp_msg m;
    struct bp_msg_error err;
    /* Exactly at the cap: a valid message padded with whitespace is accepted. */
    assert_int_equal(bp_msg_decode(buf, BP_MSG_MAX_BYTES, &m, &err), 0);
    assert_int_equal(bp_msg_decode(buf, BP_MSG_MAX_BYTES + 1, &m, &err), -E2BIG);
    assert_int_equal(err.code, BP_MSG_ERR_TOO_LARGE);
    /* Not parsed: garbage of that size is still too_large, not json. */
    memset(buf, '{', BP_MSG_MAX_BYTES + 1);
    assert_int_equal(bp_msg_decode(buf, BP_MSG_MAX_BYTES + 1, &m, &err), -E2BIG);
    assert_int_equal(err.code, BP_MSG_ERR_TOO_LARGE);
    free(buf);
}

static void test_not_nul_terminated(void **state)
{
    size_t len = strlen(HB);
    char *exact = malloc(len); /* no room for a NUL: ASan catches any read past the end */
    assert_non_null(exact);
    memcpy(exact, HB, len);
    struct bp_msg m;
    struct bp_msg_error err;
    assert_int_equal(bp_msg_decode(exact, len, &m, &err), 0);
    assert_int_equal(m.hdr.seq, 7);
    /* Every proper prefix is malformed JSON. */
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(bp_msg_decode(exact, cut, &m, &err), -EINVAL);
        assert_int_equal(err.code, BP_MSG_ERR_JSON);
    }
    free(exact);
}

static void test_trailing_bytes(void **state)
{
    char buf[sizeof(HB) + 4];
    struct bp_msg m;
    struct bp_msg_error err;
    memcpy(buf, HB, sizeof(HB));                                         /* includes the NUL */
    assert_int_equal(bp_msg_decode(buf, sizeof(HB), &m, &err), -EINVAL); /* NUL counted */
    assert_int_equal(err.code, BP_MSG_ERR_JSON);
    memcpy(buf + strlen(HB), "\r\n\t ", 4);
    assert_int_equal(bp_msg_decode(buf, strlen(HB) + 4, &m, &err), 0);
    assert_int_equal(bp_msg_decode(NULL, 0, &m, &err), -EINVAL);
    assert_int_equal(err.code, BP_MSG_ERR_JSON);
    assert_int_equal(bp_msg_decode("", 0, &m, NULL), -EINVAL);
}

/* ---- decoding details --------------------------------------------------------------------- */

static void test_decode_fields(void **state)
{
    struct bp_msg m;
    decode_ok(HB, &m);
    assert_int_equal(m.hdr.v, 1);
    assert_int_equal(m.hdr.type, BP_MSG_HEARTBEAT);
    assert_string_equal(m.hdr.agent, "a1");
    assert_string_equal(m.hdr.bot, "b1");
    assert_string_equal(m.hdr.boot, "x");
    assert_int_equal(m.hdr.ts, 1767225601234LL);
    assert_int_equal(m.u.heartbeat.interval_ms, 10000);
    assert_true(m.u.heartbeat.proc.alive);
    assert_int_equal(m.u.heartbeat.proc.pid, 48211);
    assert_int_equal(m.u.heartbeat.proc.start_ts, 1767139201234LL);
    assert_int_equal(m.u.heartbeat.last_trade_ts, 1767225510000LL);
}

static void test_decode_error_details(void **state)
{
    struct bp_msg m;
    struct bp_msg_error err;
    const char *s = "{\"v\":1,\"type\":\"trade\",\"agent\":\"a\",\"bot\":\"b\",\"boot\":\"x\","
                    "\"seq\":1,\"ts\":5,\"trade\":{\"ts\":5,\"colour\":\"red\"}}";
    assert_int_equal(bp_msg_decode(s, strlen(s), &m, &err), -EINVAL);
    assert_int_equal(err.code, BP_MSG_ERR_UNKNOWN_FIELD);
    assert_non_null(strstr(err.detail, "trade.colour"));
    s = "{\"v\":1,\"type\":\"stats\",\"agent\":\"a\",\"bot\":\"b\",\"boot\":\"x\",\"seq\":\"1\"}";
    assert_int_equal(bp_msg_decode(s, strlen(s), &m, &err), -EINVAL);
    assert_int_equal(err.code, BP_MSG_ERR_WRONG_TYPE);
    assert_non_null(strstr(err.detail, "'seq'"));
    /* Failed decodes leave nothing half-filled. */
    assert_string_equal(m.hdr.agent, "");
}

static void test_integers(void **state)
{
    char buf[512];
    const char *fmt = "{\"v\":1,\"type\":\"trade\",\"agent\":\"a\",\"bot\":\"b\",\"boot\":\"x\","
                      "\"seq\":%s,\"ts\":1,\"trade\":{\"ts\":1}}";
    snprintf(buf, sizeof(buf), fmt, "9007199254740992");
    struct bp_msg m;
    decode_ok(buf, &m);
    assert_int_equal(m.hdr.seq, 9007199254740992LL);
    char *enc = bp_msg_encode(&m);
    assert_non_null(strstr(enc, "\"seq\":9007199254740992,")); /* digits, not 9.007e+15 */
    free(enc);
    snprintf(buf, sizeof(buf), fmt, "1e3");
    decode_ok(buf, &m); /* an integral number is an integer, however it is spelled */
    assert_int_equal(m.hdr.seq, 1000);
    snprintf(buf, sizeof(buf), fmt, "1.5");
    assert_int_equal(decode_err(buf), BP_MSG_ERR_WRONG_TYPE);
    snprintf(buf, sizeof(buf), fmt, "1e400");
    assert_int_equal(decode_err(buf), BP_MSG_ERR_WRONG_TYPE);
    snprintf(buf, sizeof(buf), fmt, "9007199254740994");
    assert_int_equal(decode_err(buf), BP_MSG_ERR_RANGE);
    snprintf(buf, sizeof(buf), fmt, "true");
    assert_int_equal(decode_err(buf), BP_MSG_ERR_WRONG_TYPE);
}

/* ---- encoding ----------------------------------------------------------------------------- */

static void test_encode_exact_wire(void **state)
{
    struct bp_msg m;
    memset(&m, 0, sizeof(m));
    m.hdr.type = BP_MSG_TRADE;
    strcpy(m.hdr.agent, "a1");
    strcpy(m.hdr.bot, "b1");
    strcpy(m.hdr.boot, "x");
    m.hdr.seq = 3;
    m.hdr.ts = 1767225601234LL;
    m.u.trade.trade_ts = 1767225600000LL;
    char *s = bp_msg_encode(&m);
    assert_string_equal(
        s, "{\"v\":1,\"type\":\"trade\",\"agent\":\"a1\",\"bot\":\"b1\",\"boot\":\"x\","
           "\"seq\":3,\"ts\":1767225601234,\"trade\":{\"ts\":1767225600000}}");
    free(s);
    strcpy(m.u.trade.side, "sell");
    strcpy(m.u.trade.symbol, "ETH/USDT");
    s = bp_msg_encode(&m);
    assert_non_null(strstr(s, "\"trade\":{\"ts\":1767225600000,\"symbol\":\"ETH/USDT\","
                              "\"side\":\"sell\"}}"));
    free(s);
}

/* A number goes out in the fewest digits that read back as the same double: cJSON's own check
 * took 15 digits when they came within an epsilon, so 72.111...1 lost its last bit on the way
 * (found by tests/fuzz/fuzz_msg: decode(encode(m)) != m). */
static void test_numbers_round_trip_exactly(void **state)
{
    struct bp_msg m, back;
    memset(&m, 0, sizeof(m));
    m.hdr.v = BP_PROTO_VERSION;
    m.hdr.type = BP_MSG_STATS;
    strcpy(m.hdr.agent, "a1");
    strcpy(m.hdr.bot, "b1");
    strcpy(m.hdr.boot, "x");
    m.hdr.seq = m.hdr.ts = 1;
    m.u.stats.proc_cpu_pct = 0.1 + 0.2; /* 0.30000000000000004 */
    m.u.stats.proc_rss_kb = -1;
    m.u.stats.host_cpu_pct = 37.25;
    m.u.stats.host_disk_pct = strtod("72.111111111111111111111114", NULL);
    m.u.stats.host_mem_pct = 0.1;
    m.u.stats.host_load1 = 1e-300;
    char *s = bp_msg_encode(&m);
    assert_non_null(s);
    decode_ok(s, &back);
    if (memcmp(&m, &back, sizeof(m)) != 0)
        fail_msg("decode(encode(m)) != m: %s", s);
    assert_non_null(strstr(s, "\"cpu_pct\":0.30000000000000004,"));
    assert_non_null(strstr(s, "\"host\":{\"cpu_pct\":37.25,\"mem_pct\":0.1,"));
    free(s);
    m.hdr.type = BP_MSG_HEARTBEAT;
    memset(&m.u, 0, sizeof(m.u));
    m.u.heartbeat.interval_ms = 10000;
    m.u.heartbeat.has_metrics = true;
    m.u.heartbeat.nmetrics = 1;
    strcpy(m.u.heartbeat.metrics[0].name, "pnl");
    m.u.heartbeat.metrics[0].value = strtod("-123456.78901234567", NULL);
    s = bp_msg_encode(&m);
    decode_ok(s, &back);
    if (memcmp(&m, &back, sizeof(m)) != 0)
        fail_msg("decode(encode(m)) != m: %s", s);
    free(s);
}

/* The optional stats numbers are on the wire only when set, and decode sets their flags. */
static void test_stats_optional_fields(void **state)
{
    struct bp_msg m, back;
    memset(&m, 0, sizeof(m));
    m.hdr.type = BP_MSG_STATS;
    strcpy(m.hdr.agent, "a1");
    strcpy(m.hdr.bot, "b1");
    strcpy(m.hdr.boot, "x");
    m.hdr.seq = 1;
    m.hdr.ts = 1767225601234LL;
    m.u.stats.proc_rss_kb = 100;
    m.u.stats.proc_threads = 4; /* not flagged: not sent */
    char *s = bp_msg_encode(&m);
    assert_non_null(strstr(s, "\"proc\":{\"cpu_pct\":0,\"rss_kb\":100}"));
    assert_null(strstr(s, "swap_pct"));
    free(s);
    m.u.stats.has_proc_threads = m.u.stats.has_proc_fds = m.u.stats.has_host_swap = true;
    m.u.stats.proc_fds = 0;
    m.u.stats.host_swap_pct = 12.5;
    s = bp_msg_encode(&m);
    assert_non_null(strstr(s, "\"proc\":{\"cpu_pct\":0,\"rss_kb\":100,\"threads\":4,\"fds\":0}"));
    assert_non_null(strstr(s, "\"load1\":0,\"swap_pct\":12.5}"));
    decode_ok(s, &back);
    assert_true(back.u.stats.has_proc_threads && back.u.stats.has_proc_fds);
    assert_true(back.u.stats.has_host_swap);
    assert_int_equal(back.u.stats.proc_threads, 4);
    assert_float_equal(back.u.stats.host_swap_pct, 12.5, 0);
    free(s);
}

static void test_encode_heartbeat_writes_defaults(void **state)
{
    struct bp_msg m;
    decode_ok("{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"a\",\"bot\":\"b\",\"boot\":\"x\","
              "\"seq\":1,\"ts\":9,\"interval_ms\":100,\"proc\":{\"alive\":false}}",
              &m);
    char *s = bp_msg_encode(&m);
    assert_string_equal(s, "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"a\",\"bot\":\"b\","
                           "\"boot\":\"x\",\"seq\":1,\"ts\":9,\"interval_ms\":100,"
                           "\"proc\":{\"alive\":false,\"pid\":0,\"uptime_s\":0,\"start_ts\":0},"
                           "\"last_trade_ts\":0}");
    free(s);
}

/* proc.restarts (added compatibly to v1): written only when flagged, flagged only when there;
 * a heartbeat without it (an older agent) still decodes. */
static void test_heartbeat_restarts(void **state)
{
    struct bp_msg m;
    decode_ok("{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"a\",\"bot\":\"b\",\"boot\":\"x\","
              "\"seq\":1,\"ts\":9,\"interval_ms\":100,\"proc\":{\"alive\":false}}",
              &m);
    assert_false(m.u.heartbeat.proc.has_restarts);
    m.u.heartbeat.proc.has_restarts = true;
    m.u.heartbeat.proc.restarts = 7;
    char *s = bp_msg_encode(&m);
    assert_non_null(strstr(s, "\"proc\":{\"alive\":false,\"pid\":0,\"uptime_s\":0,"
                              "\"start_ts\":0,\"restarts\":7}"));
    struct bp_msg back;
    decode_ok(s, &back);
    assert_true(back.u.heartbeat.proc.has_restarts);
    assert_int_equal(back.u.heartbeat.proc.restarts, 7);
    free(s);
    assert_int_equal(decode_err("{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"a\",\"bot\":\"b\","
                                "\"boot\":\"x\",\"seq\":1,\"ts\":9,\"interval_ms\":100,"
                                "\"proc\":{\"alive\":true,\"restarts\":-1}}"),
                     BP_MSG_ERR_RANGE);
}

/* The optional evidence objects: written only when flagged, flagged only when present. */
static void test_heartbeat_optional_objects(void **state)
{
    struct bp_msg m;
    decode_ok("{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"a\",\"bot\":\"b\",\"boot\":\"x\","
              "\"seq\":1,\"ts\":9,\"interval_ms\":100,\"proc\":{\"alive\":false},"
              "\"probe\":{\"last_trade_ts\":5,\"ok_ts\":6,\"failures\":0}}",
              &m);
    const struct bp_heartbeat *hb = &m.u.heartbeat;
    assert_true(hb->has_probe);
    assert_false(hb->has_log);
    assert_false(hb->has_hb_file);
    assert_int_equal(hb->probe.last_trade_ts, 5);
    assert_int_equal(hb->probe.ok_ts, 6);
    m.u.heartbeat.has_log = true;
    m.u.heartbeat.log.lines = 3;
    char *s = bp_msg_encode(&m);
    assert_string_equal(s, "{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"a\",\"bot\":\"b\","
                           "\"boot\":\"x\",\"seq\":1,\"ts\":9,\"interval_ms\":100,"
                           "\"proc\":{\"alive\":false,\"pid\":0,\"uptime_s\":0,\"start_ts\":0},"
                           "\"last_trade_ts\":0,\"log\":{\"last_line_ts\":0,\"lines\":3,"
                           "\"trades\":0,\"errors\":0,\"warnings\":0},"
                           "\"probe\":{\"last_trade_ts\":5,\"ok_ts\":6,\"failures\":0}}");
    free(s);
    /* An evidence object on another message type is still an unknown field. */
    assert_int_equal(decode_err("{\"v\":1,\"type\":\"trade\",\"agent\":\"a\",\"bot\":\"b\","
                                "\"boot\":\"x\",\"seq\":1,\"ts\":9,\"trade\":{\"ts\":1},"
                                "\"log\":{}}"),
                     BP_MSG_ERR_UNKNOWN_FIELD);
}

/* Signals and metrics: the decoded values, the exact wire, and the count bound. */
static void test_heartbeat_signals_and_metrics(void **state)
{
    struct bp_msg m;
    decode_ok("{\"v\":1,\"type\":\"heartbeat\",\"agent\":\"a\",\"bot\":\"b\",\"boot\":\"x\","
              "\"seq\":1,\"ts\":9,\"interval_ms\":100,\"proc\":{\"alive\":true},"
              "\"signals\":{\"tick_ts\":8,\"market_ts\":7,\"positions\":-1,\"orders\":3,"
              "\"api_calls\":20,\"api_errors\":4,\"api_latency_ms_max\":12000,"
              "\"maintenance_until\":0},\"metrics\":{\"unprotected_positions\":2,\"x_1\":-0.5}}",
              &m);
    const struct bp_heartbeat *hb = &m.u.heartbeat;
    assert_true(hb->has_signals);
    assert_true(hb->has_metrics);
    assert_int_equal(hb->signals.tick_ts, 8);
    assert_int_equal(hb->signals.positions, -1);
    assert_int_equal(hb->signals.orders, 3);
    assert_int_equal(hb->signals.api_errors, 4);
    assert_int_equal(hb->nmetrics, 2);
    assert_string_equal(hb->metrics[0].name, "unprotected_positions");
    assert_true(hb->metrics[0].value == 2.0);
    assert_string_equal(hb->metrics[1].name, "x_1");
    assert_true(hb->metrics[1].value == -0.5);
    char *s = bp_msg_encode(&m);
    assert_non_null(strstr(s, "\"signals\":{\"tick_ts\":8,\"market_ts\":7,\"positions\":-1,"
                              "\"orders\":3,\"api_calls\":20,\"api_errors\":4,"
                              "\"api_latency_ms_max\":12000,\"maintenance_until\":0},"
                              "\"metrics\":{\"unprotected_positions\":2,\"x_1\":-0.5}}"));
    free(s);
    /* Without them, neither is written. */
    m.u.heartbeat.has_signals = m.u.heartbeat.has_metrics = false;
    s = bp_msg_encode(&m);
    assert_null(strstr(s, "signals"));
    assert_null(strstr(s, "metrics"));
    free(s);
    /* The most metrics a heartbeat holds, with the longest names and every evidence object,
     * stays under the cap. */
    memset(&m, 0, sizeof(m));
    m.hdr = (struct bp_msg_header){.v = 1, .type = BP_MSG_HEARTBEAT, .seq = 1, .ts = 1};
    memset(m.hdr.agent, 'a', BP_ID_MAX);
    memset(m.hdr.bot, 'b', BP_ID_MAX);
    memset(m.hdr.boot, 'c', BP_BOOT_MAX);
    hb = &m.u.heartbeat;
    m.u.heartbeat.interval_ms = 100;
    m.u.heartbeat.has_log = m.u.heartbeat.has_hb_file = m.u.heartbeat.has_probe = true;
    m.u.heartbeat.has_signals = m.u.heartbeat.has_metrics = true;
    memset(m.u.heartbeat.probe.error, 'e', BP_TEXT_MAX);
    memset(m.u.heartbeat.signals.maintenance_reason, 'r', BP_TEXT_MAX);
    m.u.heartbeat.nmetrics = BP_METRICS_MAX;
    for (int i = 0; i < BP_METRICS_MAX; i++) {
        memset(m.u.heartbeat.metrics[i].name, 'm', BP_METRIC_NAME_MAX);
        m.u.heartbeat.metrics[i].name[0] = (char)('a' + i);
        m.u.heartbeat.metrics[i].value = -1.2345678901234567e-300;
    }
    s = bp_msg_encode(&m);
    assert_non_null(s);
    assert_true(strlen(s) < BP_MSG_MAX_BYTES / 2);
    struct bp_msg back;
    decode_ok(s, &back);
    assert_int_equal(back.u.heartbeat.nmetrics, BP_METRICS_MAX);
    free(s);
}

static void test_event_message(void **state)
{
    struct bp_msg m;
    decode_ok("{\"v\":1,\"type\":\"event\",\"agent\":\"a\",\"bot\":\"b\",\"boot\":\"x\","
              "\"seq\":3,\"ts\":9,\"event\":{\"ts\":5,\"text\":\"r\u00e9\u00e9quilibrage done\"}}",
              &m);
    assert_int_equal(m.hdr.type, BP_MSG_EVENT);
    assert_int_equal(m.u.event.event_ts, 5);
    assert_string_equal(m.u.event.text, "r\xc3\xa9\xc3\xa9quilibrage done");
    assert_string_equal(bp_msg_type_name(BP_MSG_EVENT), "event");
    char buf[256];
    assert_int_equal(bp_topic_format(buf, sizeof(buf), ROOT, BP_MSG_EVENT, "a", "b"), 0);
    assert_string_equal(buf, ROOT "/agents/a/bots/b/events");
    /* A control character in the text is refused. */
    assert_int_equal(decode_err("{\"v\":1,\"type\":\"event\",\"agent\":\"a\",\"bot\":\"b\","
                                "\"boot\":\"x\",\"seq\":3,\"ts\":9,"
                                "\"event\":{\"ts\":5,\"text\":\"a\\nb\"}}"),
                     BP_MSG_ERR_RANGE);
}

static void test_encode_over_cap_refused(void **state)
{
    struct bp_msg *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->hdr.type = BP_MSG_AGENT_STATE;
    strcpy(m->hdr.agent, "a");
    strcpy(m->hdr.boot, "x");
    m->hdr.seq = m->hdr.ts = 1;
    strcpy(m->u.agent_state.version, "1");
    strcpy(m->u.agent_state.host, "h");
    m->u.agent_state.heartbeat_ms = 1000;
    m->u.agent_state.nbots = BP_AGENT_MAX_BOTS;
    for (int i = 0; i < BP_AGENT_MAX_BOTS; i++) {
        struct bp_bot_info *b = &m->u.agent_state.bots[i];
        snprintf(b->id, sizeof(b->id), "%02d%062d", i, 0);
        memset(b->account, 'c', BP_ID_MAX);
        memset(b->exchange, 'e', BP_ID_MAX);
    }
    errno = 0;
    assert_null(bp_msg_encode(m));
    assert_int_equal(errno, EMSGSIZE);
    m->hdr.type = BP_MSG_TYPE_COUNT;
    assert_null(bp_msg_encode(m));
    assert_int_equal(errno, EINVAL);
    free(m);
}

/* ---- topics and ids ----------------------------------------------------------------------- */

static void test_topic_parse_valid(void **state)
{
    struct bp_topic t;
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/vps-1/state", &t), 0);
    assert_int_equal(t.type, BP_MSG_AGENT_STATE);
    assert_string_equal(t.agent, "vps-1");
    assert_string_equal(t.bot, "");
    static const struct {
        const char *leaf;
        enum bp_msg_type type;
    } cases[] = {{"heartbeat", BP_MSG_HEARTBEAT},
                 {"stats", BP_MSG_STATS},
                 {"trades", BP_MSG_TRADE},
                 {"events", BP_MSG_EVENT}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char topic[256];
        snprintf(topic, sizeof(topic), ROOT "/agents/vps-1/bots/grid.btc_1/%s", cases[i].leaf);
        assert_int_equal(bp_topic_parse(ROOT, topic, &t), 0);
        assert_int_equal(t.type, cases[i].type);
        assert_string_equal(t.agent, "vps-1");
        assert_string_equal(t.bot, "grid.btc_1");
    }
    assert_int_equal(bp_topic_parse("acme/bp/v1", "acme/bp/v1/agents/a/state", &t), 0);
}

static void test_topic_parse_rejects(void **state)
{
    static const char *const bad[] = {
        ROOT "/agents/a/state/",
        ROOT "/agents/a/state/x",
        ROOT "/agents//state",
        ROOT "/agents/a",
        ROOT "/agents/a/",
        ROOT "/agents/a/bots/b",
        ROOT "/agents/a/bots/b/trade",
        ROOT "/agents/a/bots//heartbeat",
        ROOT "/agents/a/bots/b/heartbeat/x",
        ROOT "/agents/+/state",
        ROOT "/agents/#",
        ROOT "/agents/a b/state",
        ROOT "/status/b",
        ROOT "agents/a/state",
        "botpulse/v2/agents/a/state",
        "botpulse/v1x/agents/a/state",
        "/agents/a/state",
        ROOT "/agents/a/bots/b/state",
        ROOT "/agents/a/bots/b/b2/heartbeat",
        ROOT,
        "",
        ROOT "/agents/"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/state",
    };
    struct bp_topic t, zero;
    memset(&zero, 0, sizeof(zero));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&t, 0xa5, sizeof(t));
        if (bp_topic_parse(ROOT, bad[i], &t) != -EINVAL)
            fail_msg("accepted bad topic '%s'", bad[i]);
        if (memcmp(&t, &zero, sizeof(t)) != 0) /* found by tests/fuzz/fuzz_topic */
            fail_msg("refused '%s' but left agent '%.64s' in the result", bad[i], t.agent);
    }
    assert_int_equal(bp_topic_parse("", "/agents/a/state", &t), -EINVAL);
}

static void test_topic_format(void **state)
{
    char buf[128];
    struct bp_topic t;
    assert_int_equal(bp_topic_format(buf, sizeof(buf), ROOT, BP_MSG_STATS, "a", "b"), 0);
    assert_string_equal(buf, ROOT "/agents/a/bots/b/stats");
    assert_int_equal(bp_topic_format(buf, sizeof(buf), ROOT, BP_MSG_TRADE, "a", "b"), 0);
    assert_string_equal(buf, ROOT "/agents/a/bots/b/trades");
    assert_int_equal(bp_topic_parse(ROOT, buf, &t), 0);
    assert_int_equal(t.type, BP_MSG_TRADE);
    assert_int_equal(bp_topic_format(buf, sizeof(buf), ROOT, BP_MSG_AGENT_STATE, "a", NULL), 0);
    assert_string_equal(buf, ROOT "/agents/a/state");
    size_t need = strlen(ROOT "/agents/a/state") + 1;
    assert_int_equal(bp_topic_format(buf, need, ROOT, BP_MSG_AGENT_STATE, "a", ""), 0);
    assert_int_equal(bp_topic_format(buf, need - 1, ROOT, BP_MSG_AGENT_STATE, "a", ""),
                     -ENAMETOOLONG);
    assert_int_equal(bp_topic_format(buf, sizeof(buf), ROOT, BP_MSG_HEARTBEAT, "a", ""), -EINVAL);
    assert_int_equal(bp_topic_format(buf, sizeof(buf), ROOT, BP_MSG_HEARTBEAT, "a/b", "c"),
                     -EINVAL);
}

static void test_command_topics(void **state)
{
    char buf[128];
    struct bp_topic t;
    assert_int_equal(bp_topic_format(buf, sizeof(buf), ROOT, BP_MSG_COMMAND, "a", "ignored"), 0);
    assert_string_equal(buf, ROOT "/agents/a/commands");
    assert_int_equal(bp_topic_parse(ROOT, buf, &t), 0);
    assert_int_equal(t.type, BP_MSG_COMMAND);
    assert_int_equal(bp_topic_format(buf, sizeof(buf), ROOT, BP_MSG_COMMAND_RESULT, "a", NULL), 0);
    assert_string_equal(buf, ROOT "/agents/a/results");
    assert_int_equal(bp_topic_parse(ROOT, buf, &t), 0);
    assert_int_equal(t.type, BP_MSG_COMMAND_RESULT);
    assert_string_equal(t.bot, "");
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a/results/x", &t), -EINVAL);
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a/bots/b/results", &t), -EINVAL);
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a/bots/b/commands", &t), -EINVAL);
    assert_false(bp_msg_type_is_bot_level(BP_MSG_COMMAND_RESULT));
    assert_true(bp_msg_type_is_bot_level(BP_MSG_TRADE));
    /* a result names its bot in the body only; agent must still agree with the topic */
    static const char res[] = "{\"v\":1,\"type\":\"command_result\",\"agent\":\"a\","
                              "\"boot\":\"x\",\"seq\":1,\"ts\":5,\"bot\":\"b\","
                              "\"outcome\":\"ok\",\"exit_code\":0,\"duration_ms\":3}";
    struct bp_msg m;
    struct bp_msg_error err;
    assert_int_equal(bp_msg_decode(res, strlen(res), &m, &err), 0);
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a/results", &t), 0);
    assert_int_equal(bp_msg_check_topic(&m, &t, &err), 0);
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/z/results", &t), 0);
    assert_int_equal(bp_msg_check_topic(&m, &t, &err), -EINVAL);
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a/commands", &t), 0);
    assert_int_equal(bp_msg_check_topic(&m, &t, &err), -EINVAL);
}

static void test_check_topic(void **state)
{
    struct bp_msg m;
    struct bp_topic t;
    struct bp_msg_error err;
    decode_ok(HB, &m); /* agent a1, bot b1 */
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a1/bots/b1/heartbeat", &t), 0);
    assert_int_equal(bp_msg_check_topic(&m, &t, &err), 0);
    /* Agent A's topic carrying agent B's payload. */
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a2/bots/b1/heartbeat", &t), 0);
    assert_int_equal(bp_msg_check_topic(&m, &t, &err), -EINVAL);
    assert_int_equal(err.code, BP_MSG_ERR_TOPIC);
    assert_non_null(strstr(err.detail, "a2"));
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a1/bots/b2/heartbeat", &t), 0);
    assert_int_equal(bp_msg_check_topic(&m, &t, &err), -EINVAL);
    assert_int_equal(err.code, BP_MSG_ERR_TOPIC);
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a1/bots/b1/stats", &t), 0);
    assert_int_equal(bp_msg_check_topic(&m, &t, &err), -EINVAL);
    assert_int_equal(err.code, BP_MSG_ERR_TOPIC);
    decode_ok("{\"v\":1,\"type\":\"agent_state\",\"agent\":\"a1\",\"boot\":\"x\",\"seq\":1,"
              "\"ts\":1,\"online\":false,\"version\":\"1\",\"host\":\"h\",\"heartbeat_ms\":100,"
              "\"bots\":[]}",
              &m);
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a1/state", &t), 0);
    assert_int_equal(bp_msg_check_topic(&m, &t, &err), 0);
    assert_int_equal(bp_topic_parse(ROOT, ROOT "/agents/a2/state", &t), 0);
    assert_int_equal(bp_msg_check_topic(&m, &t, &err), -EINVAL);
}

static void test_ids_and_names(void **state)
{
    char id65[66];
    memset(id65, 'a', 65);
    id65[65] = '\0';
    assert_true(bp_id_is_valid("a"));
    assert_true(bp_id_is_valid("A-z_0.9"));
    assert_true(bp_id_is_valid(id65 + 1));
    assert_false(bp_id_is_valid(id65));
    assert_false(bp_id_is_valid(""));
    assert_false(bp_id_is_valid(NULL));
    assert_false(bp_id_is_valid("a b"));
    assert_false(bp_id_is_valid("a/b"));
    assert_false(bp_id_is_valid("a+"));
    assert_false(bp_id_is_valid("bé"));
    assert_string_equal(bp_msg_err_name(BP_MSG_ERR_TOO_LARGE), "too_large");
    assert_string_equal(bp_msg_err_name(BP_MSG_ERR_UNKNOWN_FIELD), "unknown_field");
    assert_string_equal(bp_msg_err_name(BP_MSG_ERR_TOPIC), "topic");
    assert_string_equal(bp_msg_err_name(BP_MSG_ERR_COUNT), "unknown");
    assert_string_equal(bp_msg_type_name(BP_MSG_TRADE), "trade");
    assert_string_equal(bp_msg_type_name(BP_MSG_AGENT_STATE), "agent_state");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_vectors_round_trip),
        cmocka_unit_test(test_stats_optional_fields),
        cmocka_unit_test(test_invalid_vectors_fail_with_named_code),
        cmocka_unit_test(test_too_large_rejected_unparsed),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_decode_fields),
        cmocka_unit_test(test_decode_error_details),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_encode_exact_wire),
        cmocka_unit_test(test_numbers_round_trip_exactly),
        cmocka_unit_test(test_encode_heartbeat_writes_defaults),
        cmocka_unit_test(test_heartbeat_optional_objects),
        cmocka_unit_test(test_heartbeat_restarts),
        cmocka_unit_test(test_heartbeat_signals_and_metrics),
        cmocka_unit_test(test_event_message),
        cmocka_unit_test(test_encode_over_cap_refused),
        cmocka_unit_test(test_topic_parse_valid),
        cmocka_unit_test(test_topic_parse_rejects),
        cmocka_unit_test(test_topic_format),
        cmocka_unit_test(test_check_topic),
        cmocka_unit_test(test_command_topics),
        cmocka_unit_test(test_ids_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
