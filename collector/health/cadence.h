/* SPDX-License-Identifier: MIT */
/* A bot's learned trading cadence: its normal gap between trades, per hour of the week (UTC)
 * in which the gap began, and overall. A bot that trades every couple of hours by day and
 * rests at the weekend is judged against that, not against one fixed "no trade for 30 min".
 * Exponentially weighted, so it follows a strategy that changes pace. Pure; ~1.5 KiB per bot
 * that asks for it (`cadence = learned`). */
#ifndef COL_CADENCE_H
#define COL_CADENCE_H

#include <stdint.h>

#define COL_HOURS_PER_WEEK 168

struct col_cadence {
    double gap_ms[COL_HOURS_PER_WEEK]; /* EWMA of gaps that began in that hour */
    uint16_t n[COL_HOURS_PER_WEEK];
    double all_gap_ms; /* EWMA of every gap */
    uint32_t all_n;
    int64_t last_trade_ts; /* Unix ms of the newest trade seen; 0 = none */
};

/* Hour of the week (0 = Monday 00:00-01:00 UTC) of a Unix ms time. */
int col_hour_of_week(int64_t unix_ms);
/* Learns from a trade at trade_ts (Unix ms). Older or equal trades (a late one) are ignored. */
void col_cadence_note_trade(struct col_cadence *c, int64_t trade_ts);
/* The normal gap after a trade at last_trade_ts: its hour's once that hour has min_samples
 * gaps, else the overall one once that has, else 0 (not learned yet). */
int64_t col_cadence_expected(const struct col_cadence *c, int64_t last_trade_ts, int min_samples);

#endif
