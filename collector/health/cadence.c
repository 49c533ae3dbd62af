/* SPDX-License-Identifier: MIT */
/* Learned trading cadence: EWMA of gaps between trades, per hour of the week and overall. */
#include "cadence.h"

#define ALPHA 0.2 /* weight of the newest gap */
#define HOUR_MS 3600000LL

int col_hour_of_week(int64_t unix_ms)
{
    /* 1970-01-01 was a Thursday: Monday-based day = (days + 3) % 7 */
    int64_t hours = unix_ms >= 0 ? unix_ms / HOUR_MS : (unix_ms - HOUR_MS + 1) / HOUR_MS;
    int64_t days = hours >= 0 ? hours / 24 : (hours - 23) / 24;
    int dow = (int)(((days + 3) % 7 + 7) % 7);
    int hod = (int)(((hours % 24) + 24) % 24);
    return dow * 24 + hod;
}

static void learn(double *avg, int64_t gap)
{
    *avg = *avg <= 0 ? (double)gap : (1 - ALPHA) * *avg + ALPHA * (double)gap;
}

void col_cadence_note_trade(struct col_cadence *c, int64_t trade_ts)
{
    if (trade_ts <= c->last_trade_ts)
        return;
    if (c->last_trade_ts > 0) {
        int64_t gap = trade_ts - c->last_trade_ts;
        int h = col_hour_of_week(c->last_trade_ts); /* the hour the quiet began */
        learn(&c->gap_ms[h], gap);
        if (c->n[h] < UINT16_MAX)
            c->n[h]++;
        learn(&c->all_gap_ms, gap);
        if (c->all_n < UINT32_MAX)
            c->all_n++;
    }
    c->last_trade_ts = trade_ts;
}

int64_t col_cadence_expected(const struct col_cadence *c, int64_t last_trade_ts, int min_samples)
{
    if (last_trade_ts <= 0)
        return 0;
    int h = col_hour_of_week(last_trade_ts);
    if (c->n[h] >= min_samples)
        return (int64_t)c->gap_ms[h];
    if (c->all_n >= (uint32_t)min_samples)
        return (int64_t)c->all_gap_ms;
    return 0;
}
