/* SPDX-License-Identifier: MIT */
/* The audit report's arithmetic: from each bot's status at the start of a range and its status
 * transitions inside it, the time in each status, uptime (healthy or idle), heartbeat gaps
 * (periods down) and the worst incidents (longest periods neither healthy, idle nor unknown);
 * plus alerts by severity and trades, summed per bot and for the fleet. Pure: the database
 * code (http_db.c) feeds it rows, the unit tests feed it by hand. */
#ifndef COL_REPORT_H
#define COL_REPORT_H

#include "msg.h"
#include "rules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COL_REPORT_WORST 5 /* incidents kept per bot and for the fleet */

struct col_report_span {
    char bot[BP_ID_MAX + 1];
    int64_t start, end;    /* Unix ms; end is the range's end if it was still going on */
    enum col_status worst; /* the worst status in it (later in the enum is worse) */
};

struct col_report_bot {
    char bot[BP_ID_MAX + 1];
    int64_t ms_in[COL_ST_COUNT]; /* time in each status within the range */
    int64_t observed_ms;         /* the range minus the time before the bot's first status */
    int64_t up_ms;               /* healthy or idle */
    int64_t gaps, gap_ms, longest_gap_ms;    /* periods down */
    int64_t alerts_warning, alerts_critical; /* opened (or escalated) in the range */
    int64_t alerts_resolved;                 /* resolved in the range */
    int64_t trades;
    int64_t restarts, restarts_ok; /* recovery commands (reconnect/restart/hard_restart), ok */
    struct col_report_span worst[COL_REPORT_WORST]; /* longest first */
    size_t nworst;
    /* private: the walk */
    bool known;
    enum col_status cur;
    int64_t cur_since, gap_since, inc_since;
    enum col_status inc_worst;
};

struct col_report {
    int64_t from, to; /* Unix ms, from < to */
    struct col_report_bot *bots;
    size_t nbots, cap;
    bool truncated; /* more transitions than the database reader fetches */
};

void col_report_init(struct col_report *r, int64_t from, int64_t to);
void col_report_cleanup(struct col_report *r);

/* The bot's entry, created if new (before its first transition it has no status: that time counts
 * nowhere); entries are kept sorted by id (byte order), fastest when fed in that order. A pointer
 * stays valid until the next new bot. Each bot's transitions must come in time order. NULL on
 * ENOMEM. */
struct col_report_bot *col_report_bot(struct col_report *r, const char *bot);
/* The status the bot had at r->from (its last transition before the range). */
void col_report_initial(struct col_report *r, struct col_report_bot *b, enum col_status st);
/* A transition to st at ts (Unix ms; clamped into the range; in time order). */
void col_report_step(struct col_report *r, struct col_report_bot *b, int64_t ts,
                     enum col_status st);
/* Closes every bot's open periods at r->to. Call once, after the last step. */
void col_report_finish(struct col_report *r);

/* Uptime in percent of the observed time (-1: nothing observed). */
double col_report_uptime(int64_t up_ms, int64_t observed_ms);
/* The whole report as JSON: range, fleet totals and worst incidents, and each bot. */
cJSON *col_report_json(const struct col_report *r);

#endif
