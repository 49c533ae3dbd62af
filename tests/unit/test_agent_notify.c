/* SPDX-License-Identifier: MIT */
/* notify: the request parser (every good form and each bad input with its error text), and a
 * round trip through the real SOCK_SEQPACKET server and client. */
#include "agent_notify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_config.h"

/* The C header for bots, pointed at the test's socket. */
static char sdk_path[128];
#define BOTPULSE_SOCKET sdk_path
#include "../../deploy/sdk/botpulse_notify.h"

static struct agent_config cfg;

static int setup(void **state)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.nbots = 2;
    strcpy(cfg.bots[0].name, "demo-1");
    strcpy(cfg.bots[1].name, "demo-2");
    return 0;
}

static int parse(const char *s, struct agent_notify_req *r, char *err)
{
    return agent_notify_parse(s, strlen(s), &cfg, r, err, 200);
}

static void test_good(void **state)
{
    struct agent_notify_req r;
    char err[200] = "";
    assert_int_equal(
        parse("trade bot=demo-1 id=T1 symbol=BTC-USDT side=buy ts=1732000000000", &r, err), 0);
    assert_int_equal(r.verb, AGENT_NOTIFY_TRADE);
    assert_int_equal(r.bot, 0);
    assert_string_equal(r.trade.id, "T1");
    assert_string_equal(r.trade.symbol, "BTC-USDT");
    assert_string_equal(r.trade.side, "buy");
    assert_int_equal(r.trade.trade_ts, 1732000000000LL);

    /* Only bot= is needed; ts 0 means "now"; order is free; one newline is allowed. */
    assert_int_equal(parse("trade bot=demo-2\n", &r, err), 0);
    assert_int_equal(r.bot, 1);
    assert_int_equal(r.trade.trade_ts, 0);
    assert_string_equal(r.trade.id, "");
    assert_string_equal(r.trade.side, "");
    assert_int_equal(
        parse("trade  side=sell   bot=demo-1 symbol=eth/usdt id=ord:42#7\r\n", &r, err), 0);
    assert_string_equal(r.trade.side, "sell");
    assert_string_equal(r.trade.symbol, "eth/usdt");
    assert_string_equal(r.trade.id, "ord:42#7");
}

#define VERBS "trade, tick, market, exposure, metric, api, maintenance, event"
#define TRADE_USAGE "trade bot=ID [id=X] [symbol=S] [side=buy|sell] [ts=MS]"

static void expect_error(const char *req, const char *want)
{
    struct agent_notify_req r;
    char err[200] = "";
    int rc = parse(req, &r, err);
    if (rc != -EINVAL || strcmp(err, want) != 0)
        fail_msg("request '%s': got %d '%s', want '%s'", req, rc, err, want);
}

static void test_bad(void **state)
{
    expect_error("", "empty request (expected a verb: " VERBS ")");
    expect_error("   \n", "empty request (expected a verb: " VERBS ")");
    expect_error("trades bot=demo-1", "unknown verb 'trades' (expected " VERBS ")");
    expect_error("TRADE bot=demo-1", "unknown verb 'TRADE' (expected " VERBS ")");
    expect_error("trade", "missing bot= (usage: " TRADE_USAGE ")");
    expect_error("trade id=T1", "missing bot= (usage: " TRADE_USAGE ")");
    expect_error("trade bot=nobody", "unknown bot 'nobody'");
    expect_error("trade bot=demo-1/x", "bot: 'demo-1/x' is not a valid bot id");
    expect_error("trade bot=demo-1 bot=demo-2", "duplicate key 'bot'");
    expect_error("trade bot=demo-1 price=3", "unknown key 'price' (trade takes bot, id, symbol, "
                                             "side, ts)");
    expect_error("trade bot=demo-1 =x", "unknown key '' (trade takes bot, id, symbol, side, ts)");
    expect_error("trade bot=demo-1 id", "bad token 'id': expected key=value");
    expect_error("trade bot=demo-1 id=", "id: empty value");
    expect_error("trade bot=", "bot: empty value");
    expect_error("trade bot=demo-1 id=a\"b", "id: 'a\"b' is not 1..128 of [A-Za-z0-9_.:/#@+-]");
    expect_error("trade bot=demo-1 symbol=BTC,USDT",
                 "symbol: 'BTC,USDT' is not 1..32 of [A-Za-z0-9_./:-]");
    expect_error("trade bot=demo-1 symbol=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
                 "symbol: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456' is not 1..32 of [A-Za-z0-9_./:-]");
    expect_error("trade bot=demo-1 side=long", "side: 'long' is not buy or sell");
    expect_error("trade bot=demo-1 side=BUY", "side: 'BUY' is not buy or sell");
    expect_error("trade bot=demo-1 ts=1732000000",
                 "ts: '1732000000' is not Unix milliseconds (years 2000..2099)");
    expect_error("trade bot=demo-1 ts=-1732000000000",
                 "ts: '-1732000000000' is not Unix milliseconds (years 2000..2099)");
    expect_error("trade bot=demo-1 ts=17320000000001",
                 "ts: '17320000000001' is not Unix milliseconds (years 2000..2099)");
    expect_error("trade bot=demo-1 ts=1.7e12",
                 "ts: '1.7e12' is not Unix milliseconds (years 2000..2099)");
    expect_error("trade bot=demo-1\tid=x",
                 "request holds a control or non-ASCII byte at offset 16");
    expect_error("trade bot=demo-1 id=\xc3\xa9", "request holds a control or non-ASCII byte at "
                                                 "offset 20");
    expect_error("trade bot=demo-1\n\n", "request holds a control or non-ASCII byte at offset 16");

    /* An embedded NUL is a control byte too. */
    struct agent_notify_req r;
    char err[200];
    assert_int_equal(agent_notify_parse("trade bot=demo-1\0x", 18, &cfg, &r, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "request holds a control or non-ASCII byte at offset 16");
}

/* The signal verbs: every good form. */
static void test_good_signals(void **state)
{
    struct agent_notify_req r;
    char err[200] = "";
    assert_int_equal(parse("tick bot=demo-1", &r, err), 0);
    assert_int_equal(r.verb, AGENT_NOTIFY_TICK);
    assert_int_equal(r.ts, 0);
    assert_int_equal(parse("tick bot=demo-2 ts=1732000000000", &r, err), 0);
    assert_int_equal(r.bot, 1);
    assert_int_equal(r.ts, 1732000000000LL);
    assert_int_equal(parse("market bot=demo-1 ts=1732000000123", &r, err), 0);
    assert_int_equal(r.verb, AGENT_NOTIFY_MARKET);
    assert_int_equal(r.ts, 1732000000123LL);
    assert_int_equal(parse("exposure orders=12 bot=demo-1 positions=0", &r, err), 0);
    assert_int_equal(r.verb, AGENT_NOTIFY_EXPOSURE);
    assert_int_equal(r.positions, 0);
    assert_int_equal(r.orders, 12);
    assert_int_equal(
        parse("metric bot=demo-1 unprotected_positions=2 pnl_usd=-12.5 x=1e3", &r, err), 0);
    assert_int_equal(r.verb, AGENT_NOTIFY_METRIC);
    assert_int_equal(r.nmetrics, 3);
    assert_string_equal(r.metrics[0].name, "unprotected_positions");
    assert_true(r.metrics[0].value == 2.0);
    assert_true(r.metrics[1].value == -12.5);
    assert_true(r.metrics[2].value == 1000.0);
    assert_int_equal(parse("api bot=demo-1 result=ok latency_ms=250", &r, err), 0);
    assert_int_equal(r.verb, AGENT_NOTIFY_API);
    assert_true(r.api_ok);
    assert_int_equal(r.latency_ms, 250);
    assert_int_equal(parse("api bot=demo-1 result=error", &r, err), 0);
    assert_false(r.api_ok);
    assert_int_equal(r.latency_ms, -1);
    assert_int_equal(
        parse("maintenance bot=demo-1 for=10m reason=deploying v2, back soon", &r, err), 0);
    assert_int_equal(r.verb, AGENT_NOTIFY_MAINTENANCE);
    assert_int_equal(r.duration_ms, 600000);
    assert_string_equal(r.text, "deploying v2, back soon");
    assert_int_equal(parse("maintenance bot=demo-1 for=0", &r, err), 0);
    assert_int_equal(r.duration_ms, 0);
    assert_int_equal(parse("event bot=demo-1 text=rebalanced  0.5 BTC = done\n", &r, err), 0);
    assert_int_equal(r.verb, AGENT_NOTIFY_EVENT);
    assert_string_equal(r.text, "rebalanced  0.5 BTC = done");
}

/* The signal verbs: each bad input with its error text. */
static void test_bad_signals(void **state)
{
    expect_error("tick bot=demo-1 ts=12", "ts: '12' is not Unix milliseconds (years 2000..2099)");
    expect_error("tick bot=demo-1 id=x", "unknown key 'id' (tick takes bot, ts)");
    expect_error("market bot=demo-1", "missing ts= (usage: market bot=ID ts=MS)");
    expect_error("exposure bot=demo-1 positions=1",
                 "missing orders= (usage: exposure bot=ID positions=N orders=N)");
    expect_error("exposure bot=demo-1 positions=-1 orders=0",
                 "positions: '-1' is not a whole number 0..1000000000");
    expect_error("exposure bot=demo-1 positions=1.5 orders=0",
                 "positions: '1.5' is not a whole number 0..1000000000");
    expect_error("metric bot=demo-1", "no metric given (usage: metric bot=ID NAME=NUMBER ...)");
    expect_error("metric bot=demo-1 PnL=3", "metric name 'PnL' is not 1..32 of [a-z0-9_]");
    expect_error("metric bot=demo-1 abcdefghijklmnopqrstuvwxyz0123456=1",
                 "metric name 'abcdefghijklmnopqrstuvwxyz0123456' is not 1..32 of [a-z0-9_]");
    expect_error("metric bot=demo-1 a=1 a=2", "duplicate metric 'a'");
    expect_error("metric bot=demo-1 a=abc", "metric a: 'abc' is not a number");
    expect_error("metric bot=demo-1 a=nan", "metric a: 'nan' is not a number");
    expect_error("metric bot=demo-1 a=inf", "metric a: 'inf' is not a number");
    expect_error("metric bot=demo-1 a=0x10", "metric a: '0x10' is not a number");
    expect_error("metric bot=demo-1 a=1e999", "metric a: '1e999' is not a number");
    expect_error("metric bot=demo-1 a=", "metric a: '' is not a number");
    expect_error("metric bot=demo-1 a", "bad token 'a': expected key=value");
    expect_error("metric a=1", "missing bot= (usage: metric bot=ID NAME=NUMBER ...)");
    expect_error("metric bot=demo-1 a0=0 a1=1 a2=2 a3=3 a4=4 a5=5 a6=6 a7=7 a8=8 a9=9 b0=0 b1=1 "
                 "b2=2 b3=3 b4=4 b5=5 b6=6",
                 "more than 16 metrics in one request");
    expect_error("api bot=demo-1", "missing result= (usage: api bot=ID result=ok|error "
                                   "[latency_ms=N])");
    expect_error("api bot=demo-1 result=fail", "result: 'fail' is not ok or error");
    expect_error("api bot=demo-1 result=ok latency_ms=1s",
                 "latency_ms: '1s' is not a whole number 0..86400000");
    expect_error("maintenance bot=demo-1", "missing for= (usage: maintenance bot=ID "
                                           "for=DURATION [reason=TEXT])");
    expect_error("maintenance bot=demo-1 for=8d", "for: '8d' is not a duration up to 7d (e.g. "
                                                  "90s, 10m, 2h; 0 ends maintenance)");
    expect_error("maintenance bot=demo-1 for=soon", "for: 'soon' is not a duration up to 7d "
                                                    "(e.g. 90s, 10m, 2h; 0 ends maintenance)");
    expect_error("maintenance bot=demo-1 reason=x for=1m", "missing for= (usage: maintenance "
                                                           "bot=ID for=DURATION [reason=TEXT])");
    expect_error("event bot=demo-1", "missing text= (usage: event bot=ID text=TEXT)");
    expect_error("event bot=demo-1 text=", "text: empty value");
    expect_error("event text=hello bot=demo-1", "missing bot= (usage: event bot=ID text=TEXT)");
}

static void test_oversize(void **state)
{
    char big[AGENT_NOTIFY_MAX_BYTES + 2];
    memset(big, 'a', sizeof(big));
    struct agent_notify_req r;
    char err[200];
    assert_int_equal(agent_notify_parse(big, sizeof(big), &cfg, &r, err, sizeof(err)), -EMSGSIZE);
    assert_string_equal(err, "request too large (max 1024 bytes)");
}

/* ---- server and client ------------------------------------------------------------------- */

struct client_job {
    const char *path;
    const char *req;
    int rc;
    char reply[256];
    char why[256];
    atomic_bool done;
};

static void *client_thread(void *arg)
{
    struct client_job *j = arg;
    j->rc = agent_notify_send(j->path, j->req, j->reply, sizeof(j->reply), 3000, j->why,
                              sizeof(j->why));
    atomic_store(&j->done, true);
    return NULL;
}

static void echo_handler(void *ctx, const struct agent_notify_peer *peer, const char *req,
                         size_t len, char *out, size_t outlen)
{
    struct agent_notify_req r;
    char err[200];
    int *count = ctx;
    (*count)++;
    if (agent_notify_parse(req, len, &cfg, &r, err, sizeof(err)) != 0)
        snprintf(out, outlen, "error: %s", err);
    else
        snprintf(out, outlen, "ok");
}

/* Serves until the client thread is done. */
static void serve_one(struct agent_notify_server *s, struct client_job *j, int *count)
{
    pthread_t th;
    j->reply[0] = j->why[0] = '\0';
    atomic_store(&j->done, false);
    assert_int_equal(pthread_create(&th, NULL, client_thread, j), 0);
    for (int i = 0; i < 100; i++) {
        struct pollfd pfds[1 + AGENT_NOTIFY_MAX_CONNS];
        size_t n = agent_notify_server_pollfds(s, pfds, 1 + AGENT_NOTIFY_MAX_CONNS);
        if (poll(pfds, n, 50) > 0)
            agent_notify_server_process(s, pfds, n, 0, echo_handler, count);
        if (atomic_load(&j->done))
            break;
    }
    pthread_join(th, NULL);
}

static void test_round_trip(void **state)
{
    char dir[] = "/tmp/bp-notify-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/notify.sock", dir);

    struct client_job j = {.path = path, .req = "trade bot=demo-1 id=T1"};
    /* No agent yet: the client says why. */
    assert_int_equal(
        agent_notify_send(path, j.req, j.reply, sizeof(j.reply), 500, j.why, sizeof(j.why)),
        -ENOENT);
    assert_non_null(strstr(j.why, "No such file"));

    struct agent_notify_server s;
    assert_int_equal(agent_notify_server_start(&s, path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    /* A second agent on the same socket is refused; a non-socket is not replaced. */
    struct agent_notify_server s2;
    assert_int_equal(agent_notify_server_start(&s2, path), -EADDRINUSE);

    int count = 0;
    serve_one(&s, &j, &count);
    if (j.rc != 0)
        fail_msg("client: %s", j.why);
    assert_string_equal(j.reply, "ok");

    struct client_job bad = {.path = path, .req = "trade bot=ghost"};
    serve_one(&s, &bad, &count);
    assert_int_equal(bad.rc, 0);
    assert_string_equal(bad.reply, "error: unknown bot 'ghost'");

    static char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    struct client_job huge = {.path = path, .req = big};
    serve_one(&s, &huge, &count);
    assert_int_equal(huge.rc, 0);
    assert_string_equal(huge.reply, "error: request too large (max 1024 bytes)");
    assert_int_equal(count, 2); /* the oversize one never reached the handler */

    agent_notify_server_stop(&s);
    assert_int_equal(access(path, F_OK), -1);

    /* A stale socket file (its agent died) is replaced; a regular file is not. */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_int_equal(agent_notify_server_start(&s, path), 0);
    agent_notify_server_stop(&s);
    FILE *f = fopen(path, "w");
    fclose(f);
    assert_int_equal(agent_notify_server_start(&s, path), -EEXIST);
    unlink(path);
    rmdir(dir);
}

struct sdk_job {
    int rc[8];
    char reply[256];
    atomic_bool done;
};

static void *sdk_thread(void *arg)
{
    struct sdk_job *j = arg;
    j->rc[0] = bpn_tick("demo-1");
    j->rc[1] = bpn_market("demo-1", 1732000000000LL);
    j->rc[2] = bpn_exposure("demo-1", 2, 0);
    j->rc[3] = bpn_metric("demo-1", "unprotected_positions", 1.5);
    j->rc[4] = bpn_api("demo-1", 0, 1200);
    j->rc[5] = bpn_trade("demo-1", "T-9");
    j->rc[6] = bpn_send("maintenance bot=demo-1 for=10m reason=deploying v2", NULL, 0);
    j->rc[7] = bpn_send("tick bot=ghost", j->reply, sizeof(j->reply));
    atomic_store(&j->done, true);
    return NULL;
}

/* deploy/sdk/botpulse_notify.h speaks the protocol the agent parses. */
static void test_c_header_for_bots(void **state)
{
    char dir[] = "/tmp/bp-notify-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(sdk_path, sizeof(sdk_path), "%s/notify.sock", dir);
    assert_int_equal(bpn_tick("demo-1"), -1); /* no agent: -1, and no hang */
    struct agent_notify_server s;
    assert_int_equal(agent_notify_server_start(&s, sdk_path), 0);
    struct sdk_job j = {.reply = ""};
    pthread_t th;
    int count = 0;
    assert_int_equal(pthread_create(&th, NULL, sdk_thread, &j), 0);
    for (int i = 0; i < 400 && !atomic_load(&j.done); i++) {
        struct pollfd pfds[1 + AGENT_NOTIFY_MAX_CONNS];
        size_t n = agent_notify_server_pollfds(&s, pfds, 1 + AGENT_NOTIFY_MAX_CONNS);
        if (poll(pfds, n, 50) > 0)
            agent_notify_server_process(&s, pfds, n, 0, echo_handler, &count);
    }
    pthread_join(th, NULL);
    for (int i = 0; i < 7; i++)
        if (j.rc[i] != 0)
            fail_msg("request %d refused", i);
    assert_int_equal(j.rc[7], 1);
    assert_string_equal(j.reply, "error: unknown bot 'ghost'");
    assert_int_equal(count, 8);
    agent_notify_server_stop(&s);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_good_signals),
        cmocka_unit_test(test_bad_signals),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_c_header_for_bots),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
