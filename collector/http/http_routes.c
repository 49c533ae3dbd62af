/* SPDX-License-Identifier: MIT */
/* The HTTP API's route table: every method and path, the query parameters it takes, the body a
 * POST must carry, and its handler. http_parse.c matches requests against it; docs/openapi.yaml
 * documents the same list (test_http_parse checks they agree). */
#include "http_routes.h"

#include "http_bots.h"
#include "http_commands.h"
#include "http_health.h"
#include "http_history.h"
#include "http_parse.h"
#include "http_report.h"
#include "http_samples.h"
#include "http_silences.h"
#include "ui.h"

#define LIST "status account host exchange q sort order limit offset"
#define SUMMARY "account host exchange"
#define HISTORY "from to limit before"
#define INTENT_BODY "{\"state\":\"running\"|\"stopped\"}"
#define MOVE_BODY "{\"agent\":\"<agent id>\"}"

/* Literal paths first: "/bots/heartbeat" is not the bot called "heartbeat". */
const struct col_route col_routes[] = {
    {"GET", "/health", "", NULL, false, col_http_health},
    {"GET", "/health/{component}", "", NULL, false, col_http_health_component},
    {"GET", "/fleet/summary", SUMMARY, NULL, false, col_http_fleet_summary},
    {"GET", "/bots/health/summary", SUMMARY, NULL, false, col_http_bots_summary},
    {"GET", "/bots", LIST, NULL, false, col_http_bots_list},
    {"POST", "/bots/heartbeat", "", "a heartbeat message", true, col_http_heartbeat},
    {"GET", "/bots/{bot}", "", NULL, false, col_http_bot_get},
    {"GET", "/bots/{bot}/health", "", NULL, false, col_http_bot_get},
    {"GET", "/bots/{bot}/history", HISTORY, NULL, false, col_http_bot_history},
    {"GET", "/bots/{bot}/health/history", HISTORY, NULL, false, col_http_bot_history},
    {"POST", "/bots/{bot}/health/check", "", NULL, false, col_http_bot_check},
    {"POST", "/bots/{bot}/restart", "", NULL, false, col_http_restart_handle},
    {"POST", "/bots/{bot}/intended", "", INTENT_BODY, false, col_http_intended_handle},
    {"POST", "/bots/{bot}/agent", "", MOVE_BODY, false, col_http_move_handle},
    {"GET", "/bots/{bot}/samples", "from to", NULL, false, col_http_samples_handle},
    {"GET", "/alerts", "state bot " HISTORY, NULL, false, col_http_alerts},
    {"GET", "/metrics", "", NULL, false, col_http_metrics},
    {"GET", "/silences", "", NULL, false, col_http_silences_list},
    {"POST", "/silences", "", "a silence", false, col_http_silence_add},
    {"DELETE", "/silences/{silence}", "", NULL, false, col_http_silence_remove},
    {"GET", "/report", "from to bot", NULL, false, col_http_report_handle},
    {"GET", "/", "", NULL, false, col_http_ui},
    {"GET", "/ui/{file}", "", NULL, false, col_http_ui},
};
const size_t col_routes_count = sizeof(col_routes) / sizeof(col_routes[0]);
