/* SPDX-License-Identifier: MIT */
/* The bot recipes of deploy/recipes/ against the real thing: each file loads as an agent.ini,
 * and the agent's log matcher (agent_logtail, with each bot section's patterns) counts real
 * freqtrade and Hummingbot log lines as the trades, errors, warnings, reconnects, rate limits
 * and timeouts they are, and nothing else. The lines are those the bots print: the format
 * strings and messages are cited from their sources (docs/bots.md). */
#include "agent_config.h"
#include "agent_logtail.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    T = 1 << AGENT_LOG_TRADE,
    E = 1 << AGENT_LOG_ERROR,
    W = 1 << AGENT_LOG_WARNING,
    R = 1 << AGENT_LOG_RECONNECT,
    L = 1 << AGENT_LOG_RATE_LIMIT,
    O = 1 << AGENT_LOG_TIMEOUT
};

struct line {
    const char *text;
    int expect; /* the patterns it must match (bits above); every other must not */
};

/* freqtrade: "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
 * (freqtrade/loggers/__init__.py, LOGFORMAT); Trade.__repr__ from
 * freqtrade/persistence/trade_model.py. */
static const struct line freqtrade[] = {
    {"2024-10-24 09:29:03,123 - freqtrade.persistence.trade_model - INFO - LIMIT_BUY has been "
     "fulfilled for Trade(id=7, pair=BTC/USDT, amount=0.00150000, is_short=False, leverage=1.0, "
     "open_rate=67012.50000000, open_since=2024-10-24 09:28:58).",
     T}, /* trade_model.py, update_trade: entry filled */
    {"2024-10-24 11:02:41,880 - freqtrade.persistence.trade_model - INFO - MARKET_SELL has been "
     "fulfilled for Trade(id=7, pair=BTC/USDT, amount=0.00150000, is_short=False, leverage=1.0, "
     "open_rate=67012.50000000, open_since=2024-10-24 09:28:58).",
     T}, /* exit filled */
    {"2024-10-24 12:40:00,004 - freqtrade.persistence.trade_model - INFO - STOP_LOSS_LIMIT is "
     "hit for Trade(id=9, pair=ETH/USDT, amount=0.04000000, is_short=False, leverage=1.0, "
     "open_rate=2610.00000000, open_since=2024-10-24 12:01:13).",
     T}, /* stoploss on exchange filled */
    {"2024-10-24 09:28:58,410 - freqtrade.freqtradebot - INFO - Order 1827364510 was created for "
     "BTC/USDT and status is open.",
     0}, /* freqtradebot.py: created is not filled */
    {"2024-10-24 09:29:03,120 - freqtrade.persistence.trade_model - INFO - Updating trade (id=7) "
     "...",
     0},
    {"2024-10-24 09:35:12,551 - freqtrade.exchange.common - WARNING - fetch_ticker() returned "
     "exception: \"Could not load ticker due to RequestTimeout. Message: binance GET "
     "https://api.binance.com/api/v3/ticker/bookTicker request timed out (10000 ms)\". Retrying "
     "still for 3 times.",
     W | O}, /* exchange/common.py, retrier */
    {"2024-10-24 09:35:13,002 - freqtrade.exchange.common - INFO - Applying DDosProtection "
     "backoff delay: 1",
     L}, /* exchange/common.py, retrier */
    {"2024-10-24 09:40:00,317 - freqtrade.exchange.exchange_ws - INFO - Resetting WS "
     "connections.",
     R}, /* exchange/exchange_ws.py, reset_connections */
    {"2024-10-24 09:41:09,740 - freqtrade.freqtradebot - ERROR - Unable to place a stoploss order "
     "on exchange. InsufficientFundsError",
     E}, /* freqtradebot.py, create_stoploss_order */
    {"2024-10-24 09:41:09,741 - freqtrade.freqtradebot - WARNING - Exiting the trade forcefully",
     W},
    {"2024-10-24 09:45:00,000 - freqtrade.worker - INFO - Bot heartbeat. PID=4242, "
     "version='2024.9', "
     "state='RUNNING'",
     0}, /* worker.py: alive, not a trade */
};

/* Hummingbot: "%(asctime)s - %(process)d - %(name)s - %(levelname)s - %(message)s"
 * (hummingbot/templates/hummingbot_logs_TEMPLATE.yml); NETWORK is its own level. */
static const struct line hummingbot[] = {
    {"2026-07-30 14:20:02,123 - 31337 - hummingbot.connector.client_order_tracker - INFO - The "
     "BUY order buy-ETH-USDT-1722350402000123 amounting to 0.05000000/0.05000000 ETH has been "
     "filled at 3200.10 USDT.",
     T}, /* connector/client_order_tracker.py, _trigger_order_fills */
    {"2026-07-30 14:21:40,900 - 31337 - hummingbot.connector.client_order_tracker - INFO - The "
     "SELL order sell-ETH-USDT-1722350500000456 amounting to 0.02000000/0.05000000 ETH has been "
     "filled at 3204.55 USDT.",
     T}, /* a partial fill is a trade too */
    {"2026-07-30 14:20:01,002 - 31337 - hummingbot.connector.client_order_tracker - INFO - "
     "Created LIMIT BUY order buy-ETH-USDT-1722350402000123 for 0.05000000 ETH-USDT at 3200.10.",
     0}, /* created, not filled */
    {"2026-07-30 14:25:00,118 - 31337 - "
     "hummingbot.connector.exchange.binance.binance_api_order_book_data_source - WARNING - The "
     "websocket connection was closed (Connection closed by the server)",
     W | R}, /* core/data_type/order_book_tracker_data_source.py */
    {"2026-07-30 14:25:00,120 - 31337 - "
     "hummingbot.connector.exchange.binance.binance_api_user_stream_data_source - ERROR - "
     "Unexpected error while listening to user stream. Retrying after 5 seconds...",
     E | R}, /* core/data_type/user_stream_tracker_data_source.py */
    {"2026-07-30 14:26:30,500 - 31337 - "
     "hummingbot.core.data_type.remote_api_order_book_data_source "
     "- WARNING - WebSocket ping timed out. Going to reconnect...",
     W | R | O}, /* core/data_type/remote_api_order_book_data_source.py */
    {"2026-07-30 14:27:10,004 - 31337 - hummingbot.connector.exchange.binance.binance_exchange - "
     "NETWORK - Unexpected error while fetching account updates.",
     W}, /* connector/exchange_py_base.py, _status_polling_loop_fetch_updates */
    {"OSError: Error executing request GET https://api.binance.com/api/v3/account. HTTP status is "
     "429. Error: {\"code\":-1003,\"msg\":\"Too many requests.\"}",
     L}, /* core/web_assistant/rest_assistant.py: the traceback's last line */
    {"asyncio.exceptions.TimeoutError", O},
    {"2026-07-30 14:30:00,000 - 31337 - hummingbot.strategy.script_strategy_base - INFO - "
     "Balance ETH: 1.25",
     0},
};

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/bp-recipes-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void append(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
}

/* Feeds lines, one poll each, to a tail with bot's patterns; checks each pattern's count. */
static void check_bot(const struct agent_bot_config *bot, const struct line *lines, size_t n)
{
    const char *pats[AGENT_LOG_NPAT] = {bot->log_trade,     bot->log_error,      bot->log_warning,
                                        bot->log_reconnect, bot->log_rate_limit, bot->log_timeout};
    for (int p = 0; p < AGENT_LOG_NPAT; p++)
        assert_true(pats[p][0] != '\0'); /* a recipe sets every pattern */
    char path[128], err[256];
    snprintf(path, sizeof(path), "%s/%s.log", dir, bot->name);
    struct agent_logtail t;
    assert_int_equal(agent_logtail_init(&t, path, pats, err, sizeof(err)), 0);
    append(path, "(history before the agent started is not replayed)");
    assert_int_equal(agent_logtail_poll(&t, 1000), 0);
    for (size_t i = 0; i < n; i++) {
        int64_t before[AGENT_LOG_NPAT];
        memcpy(before, t.c.matched, sizeof(before));
        append(path, lines[i].text);
        assert_int_equal(agent_logtail_poll(&t, 2000 + (int64_t)i), 1);
        for (int p = 0; p < AGENT_LOG_NPAT; p++) {
            int64_t want = (lines[i].expect >> p) & 1;
            if (t.c.matched[p] - before[p] != want)
                fail_msg("[bot %s] pattern %d (%s) %s line %zu: %s", bot->name, p, pats[p],
                         want ? "misses" : "wrongly matches", i, lines[i].text);
        }
    }
    agent_logtail_cleanup(&t);
}

static void check_recipe(const char *file, const struct line *lines, size_t n)
{
    static struct agent_config cfg;
    char path[512], err[512];
    snprintf(path, sizeof(path), "%s/deploy/recipes/%s", BP_SOURCE_DIR, file);
    if (agent_config_load(path, &cfg, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_true(cfg.nbots >= 2);
    for (int b = 0; b < cfg.nbots; b++)
        check_bot(&cfg.bots[b], lines, n);
}

static void test_freqtrade_recipe_matches_freqtrade_lines(void **state)
{
    check_recipe("freqtrade.ini", freqtrade, sizeof(freqtrade) / sizeof(freqtrade[0]));
}

static void test_hummingbot_recipe_matches_hummingbot_lines(void **state)
{
    check_recipe("hummingbot.ini", hummingbot, sizeof(hummingbot) / sizeof(hummingbot[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_freqtrade_recipe_matches_freqtrade_lines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hummingbot_recipe_matches_hummingbot_lines, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
