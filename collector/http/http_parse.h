/* SPDX-License-Identifier: MIT */
/* The HTTP API's grammar, as pure functions: which route a method and path name (with the bot
 * id or component in it), which query parameters each route takes, and strict parsers for
 * numbers and status words. No I/O, so the unit tests cover every path and every bad input. */
#ifndef COL_HTTP_PARSE_H
#define COL_HTTP_PARSE_H

#include "msg.h"

#include <stdbool.h>
#include <stdint.h>

enum col_route {
    COL_R_NONE = 0,
    COL_R_HEALTH,           /* GET /health */
    COL_R_HEALTH_COMPONENT, /* GET /health/{broker|database|rules} */
    COL_R_FLEET_SUMMARY,    /* GET /fleet/summary */
    COL_R_BOTS_SUMMARY,     /* GET /bots/health/summary (seed 000 shape) */
    COL_R_BOTS,             /* GET /bots */
    COL_R_HEARTBEAT,        /* POST /bots/heartbeat */
    COL_R_BOT,              /* GET /bots/{id}, GET /bots/{id}/health */
    COL_R_BOT_HISTORY,      /* GET /bots/{id}/history, GET /bots/{id}/health/history */
    COL_R_BOT_CHECK,        /* POST /bots/{id}/health/check */
    COL_R_ALERTS,           /* GET /alerts */
    COL_R_METRICS,          /* GET /metrics */
    COL_R_UI,               /* GET / (the dashboard), GET /ui/{asset} (its files) */
    COL_R_SILENCES,         /* GET /silences, POST /silences */
    COL_R_SILENCE,          /* DELETE /silences/{id} */
    COL_R_REPORT,           /* GET /report (the audit report, from PostgreSQL) */
    COL_R_BOT_RESTART,      /* POST /bots/{id}/restart (an operator's signed restart) */
    COL_R_BOT_INTENDED,     /* POST /bots/{id}/intended (its intended state at run time) */
    COL_R_BOT_SAMPLES,      /* GET /bots/{id}/samples (stats and trade rate, for charts) */
    COL_R_COUNT
};

struct col_route_match {
    enum col_route route;
    char id[BP_ID_MAX + 1]; /* the bot id, silence id, health component, or dashboard file */
    const char *allow;      /* the methods the path takes, for 405's Allow header */
    const char *params;     /* the query parameters it takes, space-separated ("" = none) */
    bool mutating;          /* POST, DELETE: needs the bearer token */
};

/* Matches method and path (the part before '?'). 0 with m filled; -ENOENT: no such path (404);
 * -EINVAL: the path has a bot or silence id that is not 1..64 of [A-Za-z0-9_.-] (400; m->route
 * set);
 * -EPERM: the path exists but not for this method (405; m->allow set). HEAD counts as GET. */
int col_route_match(const char *method, const char *path, struct col_route_match *m);

/* True if name is one of the space-separated words of params. */
bool col_route_takes(const char *params, const char *name);

/* Parses a decimal integer (digits only, optionally one leading '-') within [min, max].
 * 0, -EINVAL (not a number) or -ERANGE. */
int col_parse_int(const char *text, int64_t min, int64_t max, int64_t *out);

/* The status word's enum value (col_status), or -1. */
int col_parse_status(const char *text);

#endif
