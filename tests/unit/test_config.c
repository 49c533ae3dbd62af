/* SPDX-License-Identifier: MIT */
/* Unit tests of the table-driven INI loader: defaults, types, ranges, errors, repeated sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BOTS 3

struct bot_cfg {
    char name[80];
    char token[16];
    int64_t max_restarts;
    int priority; /* an int-sized BP_CFG_INT */
    bool enabled;
    int64_t timeout_ms;
};

struct test_cfg {
    char host[32];
    int64_t port;
    bool tls;
    int64_t keepalive_ms;
    double ratio;
    int64_t anything; /* no range: min == max == 0 */
    char name[16];
    int nbots;
    struct bot_cfg bots[MAX_BOTS];
};

#define K(n, t, lo, hi, d, s, f)                                                                   \
    {                                                                                              \
        n, t, lo, hi, d, offsetof(s, f), sizeof(((s *)0)->f), n " help"                            \
    }

static const struct bp_cfg_key mqtt_keys[] = {
    K("host", BP_CFG_STR, 0, 0, "localhost", struct test_cfg, host),
    K("port", BP_CFG_INT, 1, 65535, "1883", struct test_cfg, port),
    K("tls", BP_CFG_BOOL, 0, 0, "off", struct test_cfg, tls),
    K("keepalive", BP_CFG_MS, 1000, 3600000, "30s", struct test_cfg, keepalive_ms),
    K("ratio", BP_CFG_DOUBLE, 0, 1, "0.5", struct test_cfg, ratio),
    K("anything", BP_CFG_INT, 0, 0, "-5", struct test_cfg, anything),
    {NULL},
};

static const struct bp_cfg_key app_keys[] = {
    K("name", BP_CFG_STR, 0, 0, NULL, struct test_cfg, name),
    {NULL},
};

static const struct bp_cfg_key bot_keys[] = {
    K("token", BP_CFG_STR, 0, 0, NULL, struct bot_cfg, token),
    K("max_restarts", BP_CFG_INT, 0, 10, "3", struct bot_cfg, max_restarts),
    K("priority", BP_CFG_INT, -5, 5, "0", struct bot_cfg, priority),
    K("enabled", BP_CFG_BOOL, 0, 0, "yes", struct bot_cfg, enabled),
    K("timeout", BP_CFG_MS, 100, 86400000, "10s", struct bot_cfg, timeout_ms),
    {NULL},
};

static void *add_bot(void *cfg, const char *name, char *err, size_t errlen)
{
    struct test_cfg *c = cfg;
    if (c->nbots == MAX_BOTS) {
        snprintf(err, errlen, "too many bots (at most %d)", MAX_BOTS);
        return NULL;
    }
    struct bot_cfg *b = &c->bots[c->nbots++];
    snprintf(b->name, sizeof(b->name), "%s", name);
    return b;
}

static const struct bp_cfg_schema schema = {
    .sections = {{"mqtt", mqtt_keys}, {"app", app_keys}},
    .repeated = {{"bot", bot_keys, add_bot}},
};

/* ---- helpers ------------------------------------------------------------------------------ */

struct fixture {
    char path[64];
    struct test_cfg cfg;
    char err[256];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->path, sizeof(f->path), "/tmp/bp_test_config_XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0)
        return -1;
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->path);
    free(f);
    return 0;
}

/* Writes text to the fixture's file and loads it into a zeroed config. */
static int load(struct fixture *f, const char *text)
{
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    memset(&f->cfg, 0, sizeof(f->cfg));
    f->err[0] = '\0';
    return bp_config_load(f->path, &schema, &f->cfg, f->err, sizeof(f->err));
}

/* Asserts the load failed with rc and an error that reads "<path><suffix>". */
static void load_fails(struct fixture *f, const char *text, int rc, const char *suffix)
{
    char want[512];
    int got = load(f, text);
    snprintf(want, sizeof(want), "%s%s", f->path, suffix);
    if (got != rc || strncmp(f->err, want, strlen(want)) != 0)
        fail_msg("rc %d (want %d), error\n  '%s'\nwant prefix\n  '%s'", got, rc, f->err, want);
}

#define APP "[app]\nname = demo\n"

/* ---- tests -------------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, APP), 0);
    assert_string_equal(f->err, "");
    assert_string_equal(f->cfg.host, "localhost");
    assert_int_equal(f->cfg.port, 1883);
    assert_false(f->cfg.tls);
    assert_int_equal(f->cfg.keepalive_ms, 30000);
    assert_true(f->cfg.ratio == 0.5);
    assert_int_equal(f->cfg.anything, -5);
    assert_string_equal(f->cfg.name, "demo");
    assert_int_equal(f->cfg.nbots, 0);
}

static void test_each_type(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "; comment\n# another\n\n[mqtt]\nhost = broker.example.net ; inline\n"
                             "port=8883\ntls = YES\nkeepalive: 1.5m\nratio = 0.25\n"
                             "anything = -9000000000\n" APP),
                     0);
    assert_string_equal(f->cfg.host, "broker.example.net");
    assert_int_equal(f->cfg.port, 8883);
    assert_true(f->cfg.tls);
    assert_int_equal(f->cfg.keepalive_ms, 90000);
    assert_true(f->cfg.ratio == 0.25);
    assert_int_equal(f->cfg.anything, -9000000000LL);
}

static void test_bools(void **state)
{
    struct fixture *f = *state;
    static const char *const yes[] = {"true", "yes", "on", "1", "True", "ON"};
    static const char *const no[] = {"false", "no", "off", "0", "FALSE"};
    char text[128];
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        snprintf(text, sizeof(text), "[mqtt]\ntls = %s\n" APP, yes[i]);
        assert_int_equal(load(f, text), 0);
        assert_true(f->cfg.tls);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        snprintf(text, sizeof(text), "[mqtt]\ntls = %s\n" APP, no[i]);
        assert_int_equal(load(f, text), 0);
        assert_false(f->cfg.tls);
    }
    load_fails(f, "[mqtt]\ntls = maybe\n" APP, -EINVAL, ":2: [mqtt] tls: 'maybe' is not a boolean");
}

static void test_ranges(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "[mqtt]\n\nport = 0\n" APP, -ERANGE,
               ":3: [mqtt] port: out of range: want an integer in [1, 65535]");
    load_fails(f, "[mqtt]\nport = 65536\n" APP, -ERANGE, ":2: [mqtt] port: out of range");
    assert_int_equal(load(f, "[mqtt]\nport = 65535\n" APP), 0);
    load_fails(f, "[mqtt]\nratio = 1.5\n" APP, -ERANGE,
               ":2: [mqtt] ratio: out of range: want a number in [0, 1]");
    load_fails(f, "[mqtt]\nkeepalive = 500ms\n" APP, -ERANGE,
               ":2: [mqtt] keepalive: out of range: want a duration in [1s, 1h]");
    load_fails(f, "[mqtt]\nport = 12x\n" APP, -EINVAL, ":2: [mqtt] port: '12x' is not an integer");
    load_fails(f, "[mqtt]\nport =\n" APP, -EINVAL, ":2: [mqtt] port: '' is not an integer");
    load_fails(f, "[mqtt]\nanything = 99999999999999999999\n" APP, -ERANGE,
               ":2: [mqtt] anything: '99999999999999999999' is not an integer in range");
    load_fails(f, "[mqtt]\nratio = nan\n" APP, -EINVAL, ":2: [mqtt] ratio: 'nan' is not a number");
    load_fails(f, "[mqtt]\nkeepalive = 10 parsecs\n" APP, -EINVAL,
               ":2: [mqtt] keepalive: '10 parsecs' is not a duration");
    load_fails(f, "[mqtt]\nkeepalive = -10s\n" APP, -EINVAL, ":2: [mqtt] keepalive:");
    load_fails(f,
               "[mqtt]\nhost = "
               "0123456789012345678901234567890123\n" APP,
               -ERANGE, ":2: [mqtt] host: too long: at most 31 characters");
    load_fails(f, "[bot a]\ntoken = t\npriority = 6\n" APP, -ERANGE,
               ":3: [bot a] priority: out of range: want an integer in [-5, 5]");
}

static void test_unknown_key_and_section(void **state)
{
    struct fixture *f = *state;
    load_fails(f, APP "[mqtt]\nhost = h\nbogus = 1\n", -EINVAL, ":5: [mqtt] bogus: unknown key");
    load_fails(f, APP "\n[mqtt]\n[nope]\nx = 1\n", -EINVAL, ":5: [nope]: unknown section");
    load_fails(f, "top = 1\n" APP, -EINVAL, ":1: top: key outside any section");
    load_fails(f, APP "[bot]\ntoken = t\n", -EINVAL, ":3: [bot]: unknown section");
    load_fails(f, APP "[bot ]\ntoken = t\n", -EINVAL, ":3: [bot ]: unknown section");
    load_fails(f, APP "[bots x]\n", -EINVAL, ":3: [bots x]: unknown section");
}

static void test_syntax_errors(void **state)
{
    struct fixture *f = *state;
    load_fails(f, APP "[mqtt\nport = 1\n", -EINVAL, ":3: syntax error: no ']'");
    load_fails(f, APP "[mqtt]\njust words\n", -EINVAL, ":4: syntax error: want 'key = value'");
    load_fails(f, APP "[mqtt]\nhost = a\n  port = 2\n", -EINVAL, ":5: syntax error: indented line");
    load_fails(f, APP "[mqtt]\nport = 1\nport = 2\n", -EINVAL,
               ":5: [mqtt] port: set twice (first on line 4)");
    char line[400];
    memset(line, 'x', sizeof(line));
    memcpy(line, "host = ", 7);
    line[sizeof(line) - 1] = '\0';
    char text[512];
    snprintf(text, sizeof(text), APP "[mqtt]\n%s\n", line);
    load_fails(f, text, -EINVAL, ":4: line longer than");
    /* Indented keys right after a header, a BOM, CRLF and ':' separators are fine. */
    assert_int_equal(load(f, "\xEF\xBB\xBF[app]\r\n  name: x\r\n[mqtt]\r\n   port = 2\r\n"), 0);
    assert_string_equal(f->cfg.name, "x");
    assert_int_equal(f->cfg.port, 2);
}

static void test_required(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "[mqtt]\nport = 1\n", -EINVAL, ": [app] name: required");
    load_fails(f, "[app]\n[mqtt]\n", -EINVAL, ": [app] name: required");
    load_fails(f, APP "[bot a]\ntoken = t\n[bot b]\nenabled = no\n", -EINVAL,
               ": [bot b] token: required");
    load_fails(f, APP "[bot a]\n", -EINVAL, ": [bot a] token: required");
}

static void test_repeated_sections(void **state)
{
    struct fixture *f = *state;
    const char *text = "[bot grid-btc-1]\ntoken = s3cret\nmax_restarts = 5\npriority = -2\n" APP
                       "[bot dca.eth_2]\ntoken = t2\nenabled = off\ntimeout = 250ms\n";
    assert_int_equal(load(f, text), 0);
    assert_int_equal(f->cfg.nbots, 2);
    struct bot_cfg *a = &f->cfg.bots[0], *b = &f->cfg.bots[1];
    assert_string_equal(a->name, "grid-btc-1");
    assert_string_equal(a->token, "s3cret");
    assert_int_equal(a->max_restarts, 5);
    assert_int_equal(a->priority, -2);
    assert_true(a->enabled);                /* default */
    assert_int_equal(a->timeout_ms, 10000); /* default */
    assert_string_equal(b->name, "dca.eth_2");
    assert_int_equal(b->max_restarts, 3); /* default */
    assert_false(b->enabled);
    assert_int_equal(b->timeout_ms, 250);
    /* A name longer than inih's 50-byte section buffer still works. */
    char long_text[256];
    snprintf(long_text, sizeof(long_text), APP "[bot %s]\ntoken = t\n",
             "bot-with-a-rather-long-name-0123456789012345678901234567890123");
    assert_int_equal(load(f, long_text), 0);
    assert_string_equal(f->cfg.bots[0].name,
                        "bot-with-a-rather-long-name-0123456789012345678901234567890123");
    assert_string_equal(f->cfg.bots[0].token, "t");
}

static void test_duplicate_sections(void **state)
{
    struct fixture *f = *state;
    load_fails(f, APP "[bot a]\ntoken = 1\n[bot b]\ntoken = 2\n[bot a]\ntoken = 3\n", -EINVAL,
               ":7: [bot a]: duplicate section");
    load_fails(f, APP "[mqtt]\n[app]\n", -EINVAL, ":4: [app]: duplicate section");
    load_fails(f, APP "[bot a]\ntoken=1\n[bot b]\ntoken=2\n[bot c]\ntoken=3\n[bot d]\n", -EINVAL,
               ":9: [bot d]: too many bots (at most 3)");
}

static void test_missing_file(void **state)
{
    struct test_cfg cfg;
    char err[128];
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(bp_config_load("/nonexistent/bp.ini", &schema, &cfg, err, sizeof(err)),
                     -ENOENT);
    assert_string_equal(err, "/nonexistent/bp.ini: No such file or directory");
    assert_int_equal(cfg.port, 1883); /* defaults were applied first */
}

static void test_parse_ms(void **state)
{
    static const struct {
        const char *text;
        int rc;
        int64_t ms;
    } cases[] = {
        {"250ms", 0, 250},
        {"10s", 0, 10000},
        {"30m", 0, 1800000},
        {"2h", 0, 7200000},
        {"1d", 0, 86400000},
        {"5", 0, 5000},
        {"1.5s", 0, 1500},
        {"0.25", 0, 250},
        {"0", 0, 0},
        {"1.0ms", 0, 1},
        {"0.001s", 0, 1},
        {"1.5d", 0, 129600000},
        {"", -EINVAL, 0},
        {"s", -EINVAL, 0},
        {"-1s", -EINVAL, 0},
        {"+1s", -EINVAL, 0},
        {"1.5ms", -EINVAL, 0},
        {"0.0001s", -EINVAL, 0},
        {"10x", -EINVAL, 0},
        {"1.", -EINVAL, 0},
        {".5s", -EINVAL, 0},
        {"10 s", -EINVAL, 0},
        {"1e3", -EINVAL, 0},
        {"1sec", -EINVAL, 0},
        {"1.1234567891s", -EINVAL, 0},
        {"99999999999999999999", -ERANGE, 0},
        {"9223372036854775d", -ERANGE, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -1;
        int rc = bp_config_parse_ms(cases[i].text, &ms);
        if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms))
            fail_msg("'%s': rc %d ms %lld", cases[i].text, rc, (long long)ms);
    }
}

static void test_bad_defaults(void **state)
{
    static const struct bp_cfg_key bad[] = {
        K("port", BP_CFG_INT, 1, 10, "11", struct test_cfg, port),
        {NULL},
    };
    static const struct bp_cfg_key wrong_size[] = {
        {"tls", BP_CFG_BOOL, 0, 0, "yes", offsetof(struct test_cfg, port), sizeof(int64_t), ""},
        {NULL},
    };
    struct test_cfg cfg;
    char err[160];
    assert_int_equal(bp_config_defaults(bad, &cfg, err, sizeof(err)), -ERANGE);
    assert_non_null(strstr(err, "port: bad default '11'"));
    assert_int_equal(bp_config_defaults(wrong_size, &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "key table"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_each_type),
        T(test_bools),
        T(test_ranges),
        T(test_unknown_key_and_section),
        T(test_syntax_errors),
        T(test_required),
        T(test_repeated_sections),
        T(test_duplicate_sections),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_parse_ms),
        cmocka_unit_test(test_bad_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
